-- The call cap and call spacing, on a simulated clock.
-- Default call rules: at most 3 attempts per lead in any 24 hours, at least
-- 4 hours apart, 08:00-21:00 lead-local.  A cadence with calls close
-- together is spread out, and each touch names the rules that moved it
-- (call_spacing, call_cap); a tenant's channel_policy changes the cap and
-- the gap; calls of an earlier enrolment of the same lead count after a
-- replace, but calls that a replace cancelled do not.
-- All leads are in America/Chicago; Tuesday 2026-03-10 is on CDT (UTC-5).
BEGIN;
SELECT plan(23);

CREATE FUNCTION pg_temp.define_call_cadences() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- five calls in five hours
    PERFORM cadence.define_cadence('{"key": "call-burst", "name": "Calls close together", "steps": [
        {"channel": "call", "timing": "immediate",   "message": {"body": "Call {{first_name|the lead}} (1)."}},
        {"channel": "call", "timing": "+1 hour",     "message": {"body": "Call {{first_name|the lead}} (2)."}},
        {"channel": "call", "timing": "+2 hours",    "message": {"body": "Call {{first_name|the lead}} (3)."}},
        {"channel": "call", "timing": "+3 hours",    "message": {"body": "Call {{first_name|the lead}} (4)."}},
        {"channel": "call", "timing": "+5 hours",    "message": {"body": "Call {{first_name|the lead}} (5)."}}]}');
    -- four calls exactly four hours apart
    PERFORM cadence.define_cadence('{"key": "call-spaced", "name": "Calls four hours apart", "steps": [
        {"channel": "call", "timing": "immediate",   "message": {"body": "Call {{first_name|the lead}} (1)."}},
        {"channel": "call", "timing": "+4 hours",    "message": {"body": "Call {{first_name|the lead}} (2)."}},
        {"channel": "call", "timing": "+8 hours",    "message": {"body": "Call {{first_name|the lead}} (3)."}},
        {"channel": "call", "timing": "+12 hours",   "message": {"body": "Call {{first_name|the lead}} (4)."}}]}');
    PERFORM cadence.define_cadence('{"key": "call-now", "name": "One call", "steps": [
        {"channel": "call", "timing": "immediate",   "message": {"body": "Call {{first_name|the lead}} again."}}]}');
END
$$;

CREATE FUNCTION pg_temp.new_lead(external_id text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO cadence.lead (external_id, first_name, phone, time_zone)
    VALUES (external_id, 'Lee', '+13125550123', 'America/Chicago')
    RETURNING lead_id
$$;

-- Every 5 minutes: a tick, then each dialing tenant's dialer claims the due
-- calls and reports them unanswered.
CREATE FUNCTION pg_temp.run(from_at timestamptz, until_at timestamptz, dialing_tenants bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := from_at;
    tenant bigint;
    claimed cadence.touch;
    acting text := current_setting('cadence.tenant_id', true);
BEGIN
    WHILE t <= until_at LOOP
        PERFORM cadence.tick(t);
        FOREACH tenant IN ARRAY dialing_tenants LOOP
            PERFORM cadence.set_tenant(tenant);
            FOR claimed IN SELECT * FROM cadence.claim_touches(ARRAY['call'], 'dialer', 100, '5 minutes', t) LOOP
                PERFORM cadence.complete_touch(claimed.touch_id, 'no_answer', '{}', t);
            END LOOP;
        END LOOP;
        t := t + interval '5 minutes';
    END LOOP;
    PERFORM set_config('cadence.tenant_id', acting, true);
END
$$;

-- Lakeside Motors: default call rules.
INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset
SELECT pg_temp.define_call_cadences() AS defined \gset
SELECT pg_temp.new_lead('burst') AS burst \gset
SELECT pg_temp.new_lead('spaced') AS spaced \gset
SELECT pg_temp.new_lead('replaced-after-calls') AS redo \gset
SELECT pg_temp.new_lead('replaced-while-queued') AS cut \gset
-- the burst starts at 09:00 CDT, the spaced calls at 08:00 CDT
SELECT cadence.enroll(:burst, 'call-burst', '2026-03-10 14:00Z') AS burst_enrolment \gset
SELECT cadence.enroll(:spaced, 'call-spaced', '2026-03-10 13:00Z') AS spaced_enrolment \gset
SELECT cadence.enroll(:redo, 'call-spaced', '2026-03-10 13:00Z') AS redo_enrolment \gset
SELECT cadence.enroll(:cut, 'call-spaced', '2026-03-10 13:00Z') AS cut_enrolment \gset

-- Northgate Auto: at most 2 calls per 24 hours, 2 hours apart.
INSERT INTO cadence.tenant (name) VALUES ('Northgate Auto') RETURNING tenant_id AS northgate \gset
SELECT cadence.set_tenant(:northgate) AS tenant_set \gset
SELECT pg_temp.define_call_cadences() AS defined \gset
INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until, max_per_day, min_gap)
VALUES ('call', '08:00', '21:00', 2, '2 hours');
SELECT pg_temp.new_lead('ng-burst') AS ng_burst \gset
SELECT pg_temp.new_lead('ng-spaced') AS ng_spaced \gset
SELECT cadence.enroll(:ng_burst, 'call-burst', '2026-03-10 14:00Z') AS ng_burst_enrolment \gset
SELECT cadence.enroll(:ng_spaced, 'call-spaced', '2026-03-10 13:00Z') AS ng_spaced_enrolment \gset

SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset

-- Up to 20:55Z; at 21:00Z the tick queues the third calls, and before any
-- dialer claims it the lead "cut" is moved to another cadence.
SELECT pg_temp.run('2026-03-10 13:00Z', '2026-03-10 20:55Z', ARRAY[:lakeside, :northgate]) AS ran \gset
SELECT cadence.tick('2026-03-10 21:00Z') AS queued \gset
SELECT cadence.enroll(:cut, 'call-now', '2026-03-10 21:00Z', replace => true) AS cut_new_enrolment \gset
-- Up to 21:55Z; at 22:00Z (17:00 CDT) the lead "redo", called at 08:00,
-- 12:00 and 16:00 CDT, is moved to another cadence with a call at once.
SELECT pg_temp.run('2026-03-10 21:00Z', '2026-03-10 21:55Z', ARRAY[:lakeside, :northgate]) AS ran \gset
SELECT cadence.enroll(:redo, 'call-now', '2026-03-10 22:00Z', replace => true) AS redo_new_enrolment \gset
SELECT pg_temp.run('2026-03-10 22:00Z', '2026-03-12 23:55Z', ARRAY[:lakeside, :northgate]) AS ran \gset

-- Default rules, five calls in five hours.  A step timed from the enrolment
-- is planned no earlier than the previous call goes out plus the gap between
-- the two steps' offsets.
SELECT results_eq(
    $$SELECT step_no, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :burst_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 14:00Z'::timestamptz, '2026-03-10 14:00Z'::timestamptz, '{}'::text[]),
             (2, '2026-03-10 15:00Z', '2026-03-10 18:00Z', '{call_spacing}'),
             (3, '2026-03-10 19:00Z', '2026-03-10 22:00Z', '{call_spacing}'),
             (4, '2026-03-10 23:00Z', '2026-03-11 14:00Z', '{call_spacing,call_cap}'),
             (5, '2026-03-11 16:00Z', '2026-03-11 18:00Z', '{call_spacing}')$$,
    'call burst under the default rules: 09:00, 13:00, 17:00 CDT, then the cap holds the 4th to 09:00 CDT the next day, the 5th four hours later');
SELECT is(
    (SELECT count(*)::integer FROM cadence.touch WHERE enrolment_id = :burst_enrolment AND claimed_at = due_at),
    5,
    'the 5-minute dialer got each call of the burst at its due time, not before');
SELECT is(
    (SELECT min(d2.due_at - d1.due_at) FROM cadence.touch d1 JOIN cadence.touch d2
        ON d2.enrolment_id = d1.enrolment_id AND d2.step_no = d1.step_no + 1
      WHERE d1.enrolment_id = :burst_enrolment),
    interval '4 hours',
    'no two calls of the burst are less than 4 hours apart');
SELECT is(
    (SELECT max((SELECT count(*)::integer FROM cadence.touch o
                  WHERE o.lead_id = t.lead_id AND o.channel = 'call'
                    AND o.due_at > t.due_at - interval '24 hours' AND o.due_at <= t.due_at))
       FROM cadence.touch t WHERE t.lead_id = :burst),
    3,
    'no 24-hour window holds more than 3 calls of the burst');
SELECT is(
    (SELECT array_agg(outcome ORDER BY step_no) FROM cadence.touch WHERE enrolment_id = :burst_enrolment),
    ARRAY['no_answer', 'no_answer', 'no_answer', 'no_answer', 'no_answer'],
    'the dialer reached every call of the burst');
SELECT results_eq(
    $$SELECT status, exit_reason FROM cadence.enrolment WHERE enrolment_id = $$ || :burst_enrolment,
    $$VALUES ('completed'::text, 'cadence_completed'::text)$$,
    'the burst cadence completes');

-- Default rules, four calls four hours apart: only the cap moves the 4th.
SELECT results_eq(
    $$SELECT step_no, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :spaced_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 13:00Z'::timestamptz, '2026-03-10 13:00Z'::timestamptz, '{}'::text[]),
             (2, '2026-03-10 17:00Z', '2026-03-10 17:00Z', '{}'),
             (3, '2026-03-10 21:00Z', '2026-03-10 21:00Z', '{}'),
             (4, '2026-03-11 01:00Z', '2026-03-11 13:00Z', '{call_cap}')$$,
    'calls at 08:00, 12:00, 16:00 CDT go as planned (4 hours is enough); the one at 20:00 CDT is capped to 08:00 CDT the next day');

-- Northgate Auto's policy: 2 per 24 hours, 2 hours apart.
SELECT results_eq(
    $$SELECT step_no, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ng_burst_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 14:00Z'::timestamptz, '{}'::text[]),
             (2, '2026-03-10 16:00Z', '{call_spacing}'),
             (3, '2026-03-11 14:00Z', '{call_spacing,call_cap}'),
             (4, '2026-03-11 16:00Z', '{call_spacing}'),
             (5, '2026-03-12 14:00Z', '{call_cap}')$$,
    'tenant policy (2 per day, 2 hours apart): the burst becomes 09:00 and 11:00 CDT on each of two days, then 09:00 on the third');
SELECT results_eq(
    $$SELECT step_no, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ng_spaced_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 13:00Z'::timestamptz, '{}'::text[]),
             (2, '2026-03-10 17:00Z', '{}'),
             (3, '2026-03-11 13:00Z', '{call_cap}'),
             (4, '2026-03-11 17:00Z', '{}')$$,
    'tenant policy: the third of the spaced calls is capped to 08:00 CDT the next day, the fourth follows 4 hours later');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE enrolment_id = :ng_burst_enrolment AND step_no = 2),
    '2026-03-10 16:00Z'::timestamptz,
    'the policy gap (2 hours) replaces the default (4 hours): second call at 11:00 CDT, not 13:00');

-- A replace after three calls: the new enrolment's call still counts them.
SELECT results_eq(
    $$SELECT status, exit_reason, ended_at FROM cadence.enrolment WHERE enrolment_id = $$ || :redo_enrolment,
    $$VALUES ('replaced'::text, 'replaced'::text, '2026-03-10 22:00Z'::timestamptz)$$,
    'the first enrolment of "redo" is replaced at 17:00 CDT');
SELECT results_eq(
    $$SELECT step_no, due_at, status, outcome FROM cadence.touch WHERE enrolment_id = $$ || :redo_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 13:00Z'::timestamptz, 'done'::text, 'no_answer'::text),
             (2, '2026-03-10 17:00Z', 'done', 'no_answer'),
             (3, '2026-03-10 21:00Z', 'done', 'no_answer')$$,
    'it had made three calls, and its fourth step never became a touch');
SELECT is(
    (SELECT previous_enrolment_id FROM cadence.enrolment WHERE enrolment_id = :redo_new_enrolment),
    :redo_enrolment::bigint,
    'the new enrolment points to the replaced one');
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :redo_new_enrolment,
    $$VALUES ('2026-03-10 22:00Z'::timestamptz, '2026-03-11 13:00Z'::timestamptz, '{call_spacing,call_cap}'::text[])$$,
    'the new enrolment''s call at 17:00 CDT is spaced from the 16:00 call and capped by all three: 08:00 CDT the next day');

-- A replace while a call is queued: that call is cancelled and does not count.
SELECT results_eq(
    $$SELECT step_no, status, status_reason FROM cadence.touch WHERE enrolment_id = $$ || :cut_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, 'done'::text, NULL::text), (2, 'done', NULL), (3, 'cancelled', 'enrolment_replaced')$$,
    'the queued third call of "cut" is cancelled by the replace');
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :cut_new_enrolment,
    $$VALUES ('2026-03-10 21:00Z'::timestamptz, '2026-03-10 21:00Z'::timestamptz, '{}'::text[])$$,
    'the new call at 16:00 CDT goes as planned: two earlier calls, the last 4 hours before, the cancelled one ignored');

-- A gap longer than a day holds too: the tick looks back as far as the gap.
INSERT INTO cadence.tenant (name) VALUES ('Long Gap Motors') RETURNING tenant_id AS longgap \gset
SELECT cadence.set_tenant(:longgap) AS acting \gset
SELECT cadence.define_cadence('{"key": "call-daily", "name": "Two calls a day apart", "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} (1)."}},
    {"channel": "call", "timing": "+25 hours", "message": {"body": "Call {{first_name|the lead}} (2)."}}]}') AS daily \gset
INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until, min_gap) VALUES ('call', '08:00', '21:00', '26 hours');
SELECT pg_temp.new_lead('GAP-1') AS gap_lead \gset
SELECT cadence.enroll(:gap_lead, 'call-daily', '2026-03-10 14:00Z') AS gap_enrolment \gset
SELECT cadence.tick('2026-03-10 14:00Z') AS ticked \gset
SELECT cadence.tick('2026-03-11 15:00Z') AS ticked \gset
SELECT results_eq(
    $$SELECT step_no, planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :gap_lead || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 14:00Z'::timestamptz, '2026-03-10 14:00Z'::timestamptz, '{}'::text[]),
             (2, '2026-03-11 15:00Z', '2026-03-11 16:00Z', '{call_spacing}')$$,
    'a tenant''s 26-hour gap moves the call planned 25 hours after the first to 26 hours after it');

-- A dialer that was down all afternoon: the limits hold for the calls it
-- makes, not only for the plan.  Three spaced calls are queued and none is
-- claimed until 17:05 CDT; then the dialer gets one call per claim, and the
-- next only four hours after the last it made (no calls after 21:00).
INSERT INTO cadence.tenant (name) VALUES ('Outage Motors') RETURNING tenant_id AS outage \gset
SELECT cadence.set_tenant(:outage) AS acting \gset
SELECT pg_temp.define_call_cadences() AS defined \gset
SELECT pg_temp.new_lead('OUT-1') AS out_lead \gset
SELECT cadence.enroll(:out_lead, 'call-spaced', '2026-03-10 14:00Z') AS out_enrolment \gset
SELECT cadence.tick('2026-03-10 14:00Z') + cadence.tick('2026-03-10 18:00Z') + cadence.tick('2026-03-10 22:00Z') AS ticked \gset
CREATE FUNCTION pg_temp.dial(at timestamptz) RETURNS integer[]
LANGUAGE plpgsql AS $$
DECLARE
    claimed cadence.touch;
    steps integer[] := '{}';
BEGIN
    FOR claimed IN SELECT * FROM cadence.claim_touches(ARRAY['call'], 'dialer', 100, '5 minutes', at) LOOP
        PERFORM cadence.complete_touch(claimed.touch_id, 'no_answer', '{}', at);
        steps := steps || claimed.step_no;
    END LOOP;
    RETURN steps;
END
$$;
SELECT results_eq(
    $$SELECT at, pg_temp.dial(at)
        FROM unnest(ARRAY['2026-03-10 22:05Z', '2026-03-10 22:06Z', '2026-03-11 02:05Z', '2026-03-11 13:00Z',
                          '2026-03-11 13:05Z', '2026-03-11 17:00Z']::timestamptz[]) AS at
       ORDER BY at$$,
    $$VALUES ('2026-03-10 22:05Z'::timestamptz, '{1}'::integer[]), ('2026-03-10 22:06Z', '{}'), ('2026-03-11 02:05Z', '{}'),
             ('2026-03-11 13:00Z', '{2}'), ('2026-03-11 13:05Z', '{}'), ('2026-03-11 17:00Z', '{3}')$$,
    'the dialer back at 17:05 CDT gets the oldest call; the next at 08:00 (not at 21:05), the third at 12:00');
SELECT results_eq(
    format($$SELECT step_no, claimed_at FROM cadence.touch WHERE lead_id = %s AND claimed_at IS NOT NULL ORDER BY step_no$$, :out_lead),
    $$VALUES (1, '2026-03-10 22:05Z'::timestamptz), (2, '2026-03-11 13:00Z'), (3, '2026-03-11 17:00Z')$$,
    'one call at a time, oldest first, four hours or more apart');

-- The gate itself, on the numbers above.
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-10 15:00Z', 'America/Chicago', '08:00', '21:00', 3, '4 hours',
                                                           ARRAY['2026-03-10 14:00Z']::timestamptz[])$$,
    $$VALUES ('2026-03-10 18:00Z'::timestamptz, '{call_spacing}'::text[])$$,
    'plan_touch: one hour after a call -> four hours after it');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-11 01:00Z', 'America/Chicago', '08:00', '21:00', 3, '4 hours',
                                                           ARRAY['2026-03-10 21:00Z', '2026-03-10 13:00Z', '2026-03-10 17:00Z']::timestamptz[])$$,
    $$VALUES ('2026-03-11 13:00Z'::timestamptz, '{call_cap}'::text[])$$,
    'plan_touch: three calls in the last 24 hours (in any order) -> 24 hours after the oldest');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-11 01:00Z', 'America/Chicago', '08:00', '21:00', 4, '4 hours',
                                                           ARRAY['2026-03-10 21:00Z', '2026-03-10 13:00Z', '2026-03-10 17:00Z']::timestamptz[])$$,
    $$VALUES ('2026-03-11 01:00Z'::timestamptz, '{}'::text[])$$,
    'plan_touch: the same calls under a cap of 4 -> as planned (20:00 CDT)');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-11 12:00Z', 'America/Chicago', '08:00', '21:00', 3, '4 hours',
                                                           ARRAY['2026-03-11 13:30Z']::timestamptz[])$$,
    $$VALUES ('2026-03-11 17:30Z'::timestamptz, '{quiet_hours,call_spacing}'::text[])$$,
    'plan_touch: 07:00 CDT moves to 08:00 for quiet hours, then past a call already booked for 08:30 (spacing counts both ways)');

SELECT * FROM finish();
ROLLBACK;
