-- The scheduler's tick runs every tenant; one tenant whose data the tick
-- cannot run (here a step edited by hand into something malformed) is
-- skipped with a WARNING, and every other tenant's touches still go out
-- on time; the tenant is remembered and ticked apart while it stays
-- broken.  Once the data is mended, the next tick catches the tenant up.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026).
BEGIN;
SELECT plan(19);

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
    VALUES ('W-1', 'Quinn', 'quinn@example.com', 'America/New_York');
    PERFORM cadence.enroll(l.lead_id, 'tick-email', '2026-04-14 13:00Z') FROM cadence.lead l WHERE l.tenant_id = v_tenant;
    RETURN v_tenant;
END
$fn$;

SELECT pg_temp.set_up_tenant('Broken Motors') AS broken \gset
SELECT pg_temp.set_up_tenant('Fine Motors') AS fine \gset
SELECT pg_temp.set_up_tenant('Other Motors') AS other \gset

-- Broken Motors' step is edited by hand: its variants are not a list.
UPDATE cadence.step SET variants = '"not a list"' WHERE tenant_id = :broken;

-- The ticks run as the workers run them: as cadence_worker, under
-- row-level security; the checks look at every tenant.
SET LOCAL client_min_messages = error;   -- the WARNING naming the tenant
SET LOCAL ROLE cadence_worker;
SELECT queued AS first_queued, failed_tenants AS first_failed FROM cadence.run_worker_tick('2026-04-14 13:05Z') \gset
SELECT current_setting('cadence.tenant_id') AS tenant_after \gset
RESET ROLE;
RESET client_min_messages;
SELECT is(:first_queued::bigint, 2::bigint, 'the tick queues the two sound tenants'' emails');
SELECT is(:'first_failed'::text, format('tenant %s: cannot get array length of a scalar (SQLSTATE 22023)', :broken),
          'and reports the tenant it skipped, and why');
SELECT results_eq(
    format($$SELECT t.tenant_id, t.status, t.due_at FROM cadence.touch t WHERE t.tenant_id IN (%s, %s, %s) ORDER BY t.tenant_id$$,
           :broken, :fine, :other),
    format($$VALUES (%s::bigint, 'queued', '2026-04-14 13:00Z'::timestamptz), (%s, 'queued', '2026-04-14 13:00Z')$$,
           :fine, :other),
    'Fine and Other Motors have their email queued, Broken Motors nothing');
SELECT results_eq(
    format($$SELECT e.status, e.next_step_no, e.next_due_at FROM cadence.enrolment e WHERE e.tenant_id = %s$$, :broken),
    $$VALUES ('active', 1, '2026-04-14 13:00Z'::timestamptz)$$,
    'Broken Motors'' enrolment is left as it was, still due');
SELECT is(:'tenant_after'::text, ''::text, 'the tick leaves no tenant set behind');

-- Mended, the tenant catches up at the next tick.
UPDATE cadence.step SET variants = '[]' WHERE tenant_id = :broken;
SET LOCAL ROLE cadence_worker;
SELECT queued AS second_queued, failed_tenants IS NULL AS none_failed FROM cadence.run_worker_tick('2026-04-14 13:06Z') \gset
RESET ROLE;
SELECT is(:second_queued::bigint, 1::bigint, 'the next tick queues Broken Motors'' email');
SELECT ok(:'none_failed'::boolean, 'and reports no failure');
SELECT results_eq(
    format($$SELECT t.status, t.due_at FROM cadence.touch t WHERE t.tenant_id = %s$$, :broken),
    $$VALUES ('queued', '2026-04-14 13:00Z'::timestamptz)$$,
    'due when it was planned');

-- pg_cron runs the tick as a superuser, who sees every tenant: the same
-- holds there.  Broken Motors breaks again, and both it and Fine Motors
-- have a new lead due.
UPDATE cadence.step SET variants = '"not a list"' WHERE tenant_id = :broken;
INSERT INTO cadence.lead (tenant_id, external_id, first_name, email, time_zone)
VALUES (:fine, 'W-2', 'Rae', 'rae@example.com', 'America/New_York'),
       (:broken, 'W-2', 'Sol', 'sol@example.com', 'America/New_York');
SELECT cadence.set_tenant(:fine) AS acting \gset
SELECT cadence.enroll(l.lead_id, 'tick-email', '2026-04-14 13:10Z') AS w2 FROM cadence.lead l
 WHERE l.tenant_id = :fine AND l.external_id = 'W-2' \gset
SELECT cadence.set_tenant(:broken) AS acting \gset
SELECT cadence.enroll(l.lead_id, 'tick-email', '2026-04-14 13:10Z') AS w2b FROM cadence.lead l
 WHERE l.tenant_id = :broken AND l.external_id = 'W-2' \gset
SET LOCAL client_min_messages = error;
SELECT queued AS su_queued, failed_tenants AS su_failed FROM cadence.run_worker_tick('2026-04-14 13:11Z') \gset
RESET client_min_messages;
SELECT is(:su_queued::bigint, 1::bigint, 'as a superuser too, the sound tenant''s new email is queued');
SELECT is(:'su_failed'::text, format('tenant %s: cannot get array length of a scalar (SQLSTATE 22023)', :broken),
          'and the broken tenant alone is reported');

-- A failing tenant is remembered (cadence.tick_failure) and ticked apart
-- until a tick of its own succeeds, so that while it stays broken every
-- other tenant is ticked once a tick: before, each tick ran them all, met
-- the broken tenant, undid that and ran them again one by one.
SELECT results_eq(
    $$SELECT tenant_id, failed_since, failed_at, failures, sqlstate, message FROM cadence.tick_failure$$,
    format($$VALUES (%s::bigint, '2026-04-14 13:11Z'::timestamptz, '2026-04-14 13:11Z'::timestamptz, 1::bigint,
                     '22023'::text, 'cannot get array length of a scalar'::text)$$, :broken),
    'Broken Motors is remembered: failing since 13:11, once, and why (the mended failure of 13:05 was forgotten)');
SET LOCAL track_functions = 'all';
CREATE FUNCTION pg_temp.tenant_ticks() RETURNS bigint LANGUAGE sql AS $$
    SELECT coalesce(sum(f.calls), 0) FROM pg_catalog.pg_stat_xact_user_functions f
     WHERE f.schemaname = 'cadence' AND f.funcname = 'tick_tenant'
$$;
SELECT pg_temp.tenant_ticks() AS ticks_before \gset
SET LOCAL client_min_messages = error;
SET LOCAL ROLE cadence_worker;
SELECT failed_tenants AS still_failed FROM cadence.run_worker_tick('2026-04-14 13:12Z') \gset
RESET ROLE;
RESET client_min_messages;
SELECT is(pg_temp.tenant_ticks() - :ticks_before, 3::bigint,
          'the next tick completes three tenant ticks, one for each sound tenant (the default tenant 1 among them), not four');
SELECT is(:'still_failed'::text, format('tenant %s: cannot get array length of a scalar (SQLSTATE 22023)', :broken),
          'Broken Motors is still reported');
SELECT row_eq($$SELECT failed_since, failed_at, failures FROM cadence.tick_failure$$,
              ROW('2026-04-14 13:11Z'::timestamptz, '2026-04-14 13:12Z'::timestamptz, 2::bigint),
              'its row counts two failed ticks in a row, since 13:11, the latest at 13:12');
SET LOCAL ROLE cadence_app;
SELECT cadence.set_tenant(:fine) AS acting \gset
SELECT is((SELECT count(*) FROM cadence.tick_failure), 0::bigint, 'a sound tenant sees no failure');
SELECT cadence.set_tenant(:broken) AS acting \gset
SELECT is((SELECT count(*) FROM cadence.tick_failure), 1::bigint, 'the broken tenant sees its own');
RESET ROLE;
UPDATE cadence.step SET variants = '[]' WHERE tenant_id = :broken;
SET LOCAL ROLE cadence_worker;
SELECT queued AS mended_queued, failed_tenants IS NULL AS none_failed_now FROM cadence.run_worker_tick('2026-04-14 13:13Z') \gset
RESET ROLE;
SELECT is(:mended_queued::bigint, 1::bigint, 'mended, Broken Motors'' new email is queued at the next tick');
SELECT ok(:'none_failed_now'::boolean AND NOT EXISTS (SELECT FROM cadence.tick_failure), 'and it is forgotten');

-- The per-tenant entry point refuses a time it cannot plan from.
SELECT throws_ok(format($$SELECT cadence.tick_for_tenant(%s, 'infinity')$$, :fine), '22023',
                 'as_of must be a finite time, not "infinity"', 'tick_for_tenant: an infinite as_of is refused');

SELECT * FROM finish();
ROLLBACK;
