-- Figure 5, bulk load: a day of events (:n_copy rows, written to
-- :events_file by run.sh from bench.day_of_events) loaded with one COPY
-- each way, every load in its own transaction and timed with its commit:
--   baseline  COPY into bench.event_bulk (no trigger), as bench_app;
--   engine    COPY into cadence.event, tenant :t_copy.  COPY FROM refuses a
--             table under row-level security, so only the table owner (or
--             a BYPASSRLS role) can COPY into cadence.event; this runs as
--             the owner.
-- Then what the application role can do, on a tenth of the day
-- (:n_copy_small events over a tenth of the leads, :events_small_file),
-- beside a bare COPY of that file:
--   staged    COPY into a temporary table and one INSERT ... SELECT into
--             cadence.event (the trigger still runs once for the whole
--             file), as bench_app, tenant :t_staged.  (A tenth, because
--             under row-level security this path grows with the square of
--             the batch; docs/benchmarks.md says why.)
-- A load that has not finished after :timeout_s seconds is cancelled and
-- recorded as 'timed_out' (the report then gives a bound, not a rate).
-- psql variables: :events_file, :n_copy, :events_small_file, :n_copy_small,
-- :t_copy, :t_staged, :timeout_s.

-- The baseline.
SET ROLE bench_app;
SELECT cadence.set_tenant(:t_copy, false) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
BEGIN;
COPY bench.event_bulk (lead_id, kind, occurred_at, payload, source, provider_id) FROM :'events_file' WITH (FORMAT csv);
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT count(*) AS loaded FROM bench.event_bulk \gset
SELECT bench.check(:loaded = :n_copy, format('bare COPY loaded %s events, expected %s', :loaded, :n_copy)) \g /dev/null
INSERT INTO bench.result VALUES ('event_copy', 'baseline', 1, :seconds, :loaded);
RESET ROLE;

-- The engine: COPY into cadence.event, as the owner.
SELECT cadence.set_tenant(:t_copy, false) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
BEGIN;
SELECT set_config('statement_timeout', :'timeout_s' || 's', true) \g /dev/null
\set ON_ERROR_STOP 0
\set VERBOSITY terse
COPY cadence.event (lead_id, kind, occurred_at, payload, source, provider_id) FROM :'events_file' WITH (FORMAT csv);
\set copy_failed :ERROR
\set copy_sqlstate :SQLSTATE
\set ON_ERROR_STOP 1
\set VERBOSITY default
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
\if :copy_failed
SELECT bench.check(:'copy_sqlstate' = '57014', format('COPY into cadence.event failed with SQLSTATE %s', :'copy_sqlstate')) \g /dev/null
INSERT INTO bench.result VALUES ('event_copy', 'timed_out', 1, :seconds, :n_copy);
\else
SELECT count(*) AS loaded FROM cadence.event WHERE tenant_id = :t_copy AND provider_id LIKE 'bulk-%' \gset
SELECT bench.check(:loaded = :n_copy, format('COPY into cadence.event loaded %s events, expected %s', :loaded, :n_copy)) \g /dev/null
INSERT INTO bench.result VALUES ('event_copy', 'engine', 1, :seconds, :loaded);
\endif

-- The baseline for the application's path: the smaller file.
TRUNCATE bench.event_bulk;
SET ROLE bench_app;
SELECT clock_timestamp() AS t0 \gset
BEGIN;
COPY bench.event_bulk (lead_id, kind, occurred_at, payload, source, provider_id) FROM :'events_small_file' WITH (FORMAT csv);
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT count(*) AS loaded FROM bench.event_bulk \gset
SELECT bench.check(:loaded = :n_copy_small, format('bare COPY loaded %s events, expected %s', :loaded, :n_copy_small)) \g /dev/null
INSERT INTO bench.result VALUES ('event_copy_small', 'baseline', 1, :seconds, :loaded);

-- The engine as the application: a temporary table, then one INSERT.
SELECT cadence.set_tenant(:t_staged, false) \g /dev/null
SELECT clock_timestamp() AS t0 \gset
BEGIN;
CREATE TEMPORARY TABLE day_events (lead_id bigint, kind text, occurred_at timestamptz, payload jsonb, source text,
                                   provider_id text) ON COMMIT DROP;
COPY day_events FROM :'events_small_file' WITH (FORMAT csv);
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload, source, provider_id)
SELECT lead_id, kind, occurred_at, payload, source, provider_id FROM day_events;
COMMIT;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT count(*) AS loaded FROM cadence.event WHERE provider_id LIKE 'bulk-%' \gset
SELECT bench.check(:loaded = :n_copy_small, format('the staged load recorded %s events, expected %s', :loaded, :n_copy_small)) \g /dev/null
INSERT INTO bench.result VALUES ('event_copy_small', 'staged', 1, :seconds, :loaded);
RESET ROLE;
