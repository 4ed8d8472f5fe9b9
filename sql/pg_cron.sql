-- pg_cron mode: cadence.run_worker_tick(), the call a pg_cron job (or the
-- background worker) makes, advances every tenant's enrolments on a
-- simulated clock, as the superuser that owns a cron job and as
-- cadence_worker, says when the next step falls due and repeats nothing;
-- cadence.setup_pg_cron() refuses a database without pg_cron (55000), and
-- where pg_cron is installed schedules the tick, the nightly rescore and the
-- retention job, with the given schedules, without the tick for the worker
-- mode, and updates the same jobs when called again.
--
-- The test cluster preloads pg_cron with cron.database_name = 'cadence', so
-- pg_cron can only be created in database cadence: that part connects there
-- and runs in a transaction that it rolls back, so no job is ever left for
-- pg_cron's scheduler to run.

SET client_min_messages = warning;
DROP EXTENSION IF EXISTS cadence CASCADE;
RESET client_min_messages;
CREATE EXTENSION cadence;
\set SHOW_CONTEXT never
SET timezone = 'UTC';

-- Two tenants, each with a lead enrolled at 09:00 Chicago time (15:00 UTC)
-- in a cadence of its own: an email at once, then a task an hour later.
SELECT cadence.create_tenant('Northside Motors') AS north \gset
SELECT cadence.define_cadence($${"key": "new-lead", "name": "New lead", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Thanks, {{first_name|there}}", "body": "We got your request."}},
    {"channel": "task", "timing": "+1 hours", "message": {"body": "Call {{first_name|the lead}} back."}}]}$$) IS NOT NULL AS defined;
INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
VALUES ('LS-1', 'Rosa', 'rosa@example.com', 'America/Chicago');
SELECT cadence.enroll(lead_id, 'new-lead', '2026-03-02 15:00+00') IS NOT NULL AS enrolled
  FROM cadence.lead WHERE external_id = 'LS-1';
BEGIN;
SELECT cadence.set_tenant(:north);
SELECT cadence.define_cadence($${"key": "new-lead", "name": "New lead", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello {{first_name|there}}", "body": "Thanks for asking."}},
    {"channel": "task", "timing": "+2 hours", "message": {"body": "Call back."}}]}$$) IS NOT NULL AS defined;
INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
VALUES ('NS-1', 'Omar', 'omar@example.com', 'America/Chicago');
SELECT cadence.enroll(lead_id, 'new-lead', '2026-03-02 15:00+00') IS NOT NULL AS enrolled
  FROM cadence.lead WHERE external_id = 'NS-1';
COMMIT;

-- The job's call, as its owner (a superuser) would make it: both tenants'
-- first steps are queued, the next thing due is tenant 1's task at 16:00.
SELECT * FROM cadence.run_worker_tick('2026-03-02 15:00+00');
SELECT t.tenant_id, l.external_id, t.step_no, t.channel, t.status, t.planned_at, t.due_at, t.created_at
  FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
 ORDER BY t.tenant_id, t.step_no;
-- the tenant setting is left as it was (unset)
SELECT current_setting('cadence.tenant_id') AS tenant_after_tick;

-- Again at the same instant: nothing new.
SELECT * FROM cadence.run_worker_tick('2026-03-02 15:00+00');

-- As cadence_worker (the worker's role, which the worker mode uses) at
-- 16:30: tenant 1's task is queued; tenant 2's is next, at 17:00.
SET ROLE cadence_worker;
SELECT * FROM cadence.run_worker_tick('2026-03-02 16:30+00');
RESET ROLE;
-- At 17:00 the last step is queued; nothing else is planned.
SELECT * FROM cadence.run_worker_tick('2026-03-02 17:00+00');
SELECT t.tenant_id, l.external_id, t.step_no, t.channel, t.status, t.planned_at, t.created_at
  FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
 ORDER BY t.tenant_id, t.step_no;

-- pg_cron is not installed here.
SELECT * FROM cadence.setup_pg_cron();
\echo :LAST_ERROR_SQLSTATE

DROP EXTENSION cadence;

-- Where pg_cron is installed (database cadence).
\c cadence
\set SHOW_CONTEXT never
SET timezone = 'UTC';
BEGIN;
CREATE EXTENSION pg_cron;
CREATE EXTENSION cadence;
SAVEPOINT before_setup;
-- the defaults: a tick every minute, rescore at 03:15, retention at 03:45 (UTC)
SELECT * FROM cadence.setup_pg_cron();
SELECT jobid, jobname, schedule, command, database, username, active FROM cron.job ORDER BY jobid;
-- called again with other schedules: the same jobs, updated
SELECT * FROM cadence.setup_pg_cron('*/2 * * * *', '0 4 * * *', '30 4 * * 0');
SELECT jobid, jobname, schedule, command FROM cron.job ORDER BY jobid;
ROLLBACK TO SAVEPOINT before_setup;
-- the worker mode: only the maintenance jobs
SELECT job_name, schedule, command FROM cadence.setup_pg_cron(with_tick => false);
SELECT jobname, schedule, command, database FROM cron.job ORDER BY jobname;
ROLLBACK;
SELECT count(*) AS cadence_left FROM pg_extension WHERE extname IN ('cadence', 'pg_cron');
