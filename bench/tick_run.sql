-- One run of figure 1, tick throughput: the bare set-based baseline, then
-- cadence.tick, each timed inside its own transaction and rolled back so
-- that every run starts from the same data (VACUUM between them clears what
-- the rolled-back run left).  The timed parts run as bench_app, the VACUUMs
-- as the superuser that owns the tables.
-- psql variables: :run, :as_of, :n_due (enrolments due at :as_of).

-- Baseline: copy the due enrolments' step into a plain touch table (the
-- template text, unrendered, no gates) and move the enrolments on.
SET ROLE bench_app;
BEGIN;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO bench.touch_copy (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at,
                              status, subject, body, created_at)
SELECT e.tenant_id, e.lead_id, e.enrolment_id, e.next_step_no, s.channel_options[1], e.next_due_at, e.next_due_at,
       'queued', s.subject, s.body, :'as_of'
  FROM cadence.enrolment e
  JOIN cadence.step s
    ON s.tenant_id = e.tenant_id AND s.cadence_version_id = e.cadence_version_id AND s.step_no = e.next_step_no
 WHERE e.tenant_id = 1 AND e.status = 'active' AND e.next_due_at <= :'as_of';
\set inserted :ROW_COUNT
UPDATE cadence.enrolment e
   SET next_step_no = e.next_step_no + 1, next_due_at = e.enrolled_at + interval '1 day'
 WHERE e.tenant_id = 1 AND e.status = 'active' AND e.next_due_at <= :'as_of';
\set updated :ROW_COUNT
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
ROLLBACK;
SELECT bench.check(:inserted = :n_due AND :updated = :n_due,
                   format('baseline wrote %s touches and moved %s enrolments, expected %s', :inserted, :updated, :n_due))
\g /dev/null
INSERT INTO bench.result VALUES ('tick', 'baseline', :run, :seconds, :inserted);
RESET ROLE;

VACUUM cadence.enrolment;
VACUUM bench.touch_copy;

-- The engine: one call of cadence.tick at the same instant.
SET ROLE bench_app;
BEGIN;
SELECT clock_timestamp() AS t0 \gset
SELECT cadence.tick(:'as_of') AS queued \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT count(*) AS touches FROM cadence.touch WHERE tenant_id = 1 AND status = 'queued' \gset
ROLLBACK;
SELECT bench.check(:queued = :n_due AND :touches = :n_due,
                   format('tick queued %s touches (%s in the table), expected %s', :queued, :touches, :n_due))
\g /dev/null
INSERT INTO bench.result VALUES ('tick', 'engine', :run, :seconds, :queued);
RESET ROLE;

VACUUM cadence.enrolment;
VACUUM cadence.touch;
