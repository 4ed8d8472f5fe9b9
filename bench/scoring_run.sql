-- One run of figure 6, the nightly rescore of tenant :t_scoring: the bare
-- GROUP BY over the events (the floor), cadence.rescore() and the same
-- rescore in plain SQL (bench.sql_rescore), each timed in its own
-- transaction, the rescores as bench_app.  Both rescores are rolled back,
-- so every run starts from the same scores (VACUUM between them clears
-- what a rolled-back run left).  The first run also checks that the plain SQL gives
-- every lead the score cadence.rescore() stored.
-- psql variables: :run, :t_scoring, :score_as_of, :n_sc_leads (leads of
-- the tenant), :n_sc_events (its events).

-- The floor: the statement as the issue gives it, bare: as the table's
-- owner (no row-level security), over the tenant's events only (the table
-- also holds the event figures' tenants).  count() and sum() over its rows
-- consume every group and every count without sending a million rows to
-- psql.
BEGIN;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS groups, sum(n) AS counted
  FROM (SELECT lead_id, count(*) AS n FROM cadence.event WHERE tenant_id = :t_scoring GROUP BY lead_id) AS g \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
COMMIT;
SELECT bench.check(:counted = :n_sc_events, format('the GROUP BY counted %s events, expected %s', :counted, :n_sc_events))
\g /dev/null
INSERT INTO bench.result VALUES ('rescore', 'floor', :run, :seconds, :groups);

SET ROLE bench_app;
SELECT cadence.set_tenant(:t_scoring, false) \g /dev/null

-- The engine.
BEGIN;
SELECT clock_timestamp() AS t0 \gset
SELECT cadence.rescore(:'score_as_of') AS engine_changed \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
SELECT :run = 1 AS first_run \gset
\if :first_run
SELECT count(*) AS differing FROM bench.sql_scores(:'score_as_of') s
  JOIN cadence.lead l ON l.tenant_id = :t_scoring AND l.lead_id = s.lead_id
 WHERE l.score IS DISTINCT FROM s.score \gset
SELECT bench.check(:differing = 0, format('%s leads differ between cadence.rescore() and the plain SQL', :differing))
\g /dev/null
\endif
ROLLBACK;
INSERT INTO bench.result VALUES ('rescore', 'engine', :run, :seconds, :n_sc_leads);
INSERT INTO bench.result VALUES ('rescore_changed', 'engine', :run, 1, :engine_changed);
RESET ROLE;
VACUUM cadence.lead;
VACUUM cadence.scoring_run;

-- The plain SQL.
SET ROLE bench_app;
SELECT cadence.set_tenant(:t_scoring, false) \g /dev/null
BEGIN;
SELECT clock_timestamp() AS t0 \gset
SELECT bench.sql_rescore(:'score_as_of') AS sql_changed \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
ROLLBACK;
SELECT bench.check(:sql_changed = :engine_changed,
                   format('the plain SQL changed %s leads, cadence.rescore() %s', :sql_changed, :engine_changed))
\g /dev/null
INSERT INTO bench.result VALUES ('rescore', 'plain_sql', :run, :seconds, :n_sc_leads);
RESET ROLE;
VACUUM cadence.lead;
