-- A tenant whose tick keeps failing is remembered (cadence.tick_failure:
-- since when, how many ticks, the error) and ticked apart from the others
-- until a tick of its own succeeds.  While it stays broken, each tick runs
-- every other tenant once: before, each tick ran them all, failed on the
-- broken tenant, undid that and ran them again one by one.  Once mended,
-- the tenant is ticked, caught up and forgotten.  Each tenant sees only its
-- own row.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026).
BEGIN;
SELECT plan(12);

CREATE FUNCTION pg_temp.set_up_tenant(name text) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    v_tenant bigint;
BEGIN
    INSERT INTO cadence.tenant (name) VALUES (name) RETURNING tenant_id INTO v_tenant;
    PERFORM cadence.set_tenant(v_tenant);
    PERFORM cadence.define_cadence($${
      "key": "tick-email", "name": "One email",
      "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Hi {{first_name|there}}."}}]}$$);
    INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
    VALUES ('F-1', 'Quinn', 'quinn@example.com', 'America/New_York');
    PERFORM cadence.enroll(l.lead_id, 'tick-email', '2026-04-14 13:00Z') FROM cadence.lead l WHERE l.tenant_id = v_tenant;
    RETURN v_tenant;
END
$fn$;

-- The broken tenant comes last in tenant order, after two sound ones.
SELECT pg_temp.set_up_tenant('Fine Motors') AS fine \gset
SELECT pg_temp.set_up_tenant('Other Motors') AS other \gset
SELECT pg_temp.set_up_tenant('Broken Motors') AS broken \gset
UPDATE cadence.step SET variants = '"not a list"' WHERE tenant_id = :broken;
SELECT cadence.set_tenant(1) AS ignored \gset

-- How many ticks of a tenant completed in this transaction so far.
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.tenant_ticks() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(f.calls), 0) FROM pg_catalog.pg_stat_xact_user_functions f
     WHERE f.schemaname = 'cadence' AND f.funcname = 'tick_tenant'
$$;

-- First tick: the broken tenant fails in the shared pass, which is undone
-- and run again one tenant at a time.
SET LOCAL client_min_messages = error;   -- the WARNING naming the tenant
SET LOCAL ROLE cadence_worker;
SELECT queued AS first_queued FROM cadence.run_worker_tick('2026-04-14 13:05Z') \gset
RESET ROLE;
SELECT is(:first_queued::bigint, 2::bigint, 'the first tick queues the two sound tenants'' emails');
SELECT results_eq(
    $$SELECT tenant_id, failed_since, failed_at, failures, sqlstate, message FROM cadence.tick_failure$$,
    format($$VALUES (%s::bigint, '2026-04-14 13:05Z'::timestamptz, '2026-04-14 13:05Z'::timestamptz, 1::bigint,
                     '22023'::text, 'cannot get array length of a scalar'::text)$$, :broken),
    'the broken tenant is remembered: since 13:05, one failure, and the error');

-- Second tick, still broken: the sound tenants are ticked once each.
SELECT pg_temp.tenant_ticks() AS ticks_before \gset
SET LOCAL ROLE cadence_worker;
SELECT queued AS second_queued, failed_tenants AS second_failed FROM cadence.run_worker_tick('2026-04-14 13:06Z') \gset
RESET ROLE;
SELECT is(pg_temp.tenant_ticks() - :ticks_before, 3::bigint,
          'the second tick completes three tenant ticks, one for each sound tenant (the default tenant 1 among them), not six');
SELECT is(:second_queued::bigint, 0::bigint, 'nothing more was due for them');
SELECT is(:'second_failed', format('tenant %s: cannot get array length of a scalar (SQLSTATE 22023)', :broken),
          'the broken tenant is still reported');
SELECT row_eq($$SELECT failed_since, failed_at, failures FROM cadence.tick_failure$$,
              ROW('2026-04-14 13:05Z'::timestamptz, '2026-04-14 13:06Z'::timestamptz, 2::bigint),
              'its row counts two failures in a row, since 13:05, the latest at 13:06');

-- Each tenant sees its own row only.
SET LOCAL ROLE cadence_app;
SELECT cadence.set_tenant(:fine) AS ignored \gset
SELECT is((SELECT count(*) FROM cadence.tick_failure), 0::bigint, 'a sound tenant sees no failure');
SELECT cadence.set_tenant(:broken) AS ignored \gset
SELECT is((SELECT count(*) FROM cadence.tick_failure), 1::bigint, 'the broken tenant sees its own');
RESET ROLE;
SELECT cadence.set_tenant(1) AS ignored \gset

-- Mended: the next tick catches it up and forgets it.
UPDATE cadence.step SET variants = '[]' WHERE tenant_id = :broken;
SET LOCAL ROLE cadence_worker;
SELECT queued AS third_queued, failed_tenants IS NULL AS none_failed FROM cadence.run_worker_tick('2026-04-14 13:07Z') \gset
RESET ROLE;
SELECT is(:third_queued::bigint, 1::bigint, 'the mended tenant''s email is queued');
SELECT ok(:'none_failed'::boolean, 'no tenant fails');
SELECT is((SELECT count(*) FROM cadence.tick_failure), 0::bigint, 'and the failure is forgotten');
SELECT results_eq(
    format($$SELECT t.status, t.due_at FROM cadence.touch t WHERE t.tenant_id = %s$$, :broken),
    $$VALUES ('queued'::text, '2026-04-14 13:00Z'::timestamptz)$$,
    'due at 13:00 as planned');

SELECT * FROM finish();
ROLLBACK;
