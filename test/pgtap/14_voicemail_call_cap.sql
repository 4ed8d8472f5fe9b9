-- Voicemail drops count as calls, on a simulated clock.  A voicemail rings
-- the customer's phone, and regulators count it as a call: call and
-- voicemail attempts share the call cap (3 in any 24 hours) and the call
-- gap (4 hours by default), both when the tick plans a touch and when a
-- dialer claims it; a tenant's call policy holds for voicemails too, and a
-- voicemail policy cannot carry limits of its own; counts_as makes no
-- chains.
-- All leads are in America/Chicago; Tuesday 2026-03-10 is on CDT (UTC-5).
BEGIN;
SELECT plan(19);

-- The default gap and cap, as configured: every expected time below is
-- taken from them.
SELECT min_gap AS call_gap, max_per_day AS call_cap FROM cadence.channel WHERE channel = 'call' \gset
SELECT results_eq(
    $$SELECT channel, counts_as, max_per_day, min_gap FROM cadence.channel WHERE channel IN ('call', 'voicemail') ORDER BY channel$$,
    $$VALUES ('call'::text, NULL::text, 3, '4 hours'::interval), ('voicemail', 'call', NULL, NULL)$$,
    'calls: 3 attempts in 24 hours, 4 hours apart (the seed); a voicemail counts as a call');

CREATE FUNCTION pg_temp.define_cadences() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- three calls four hours apart, then a voicemail two hours after the third
    PERFORM cadence.define_cadence('{"key": "calls-then-voicemail", "name": "Three calls and a voicemail", "steps": [
        {"channel": "call",      "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} (1)."}},
        {"channel": "call",      "timing": "+4 hours",  "message": {"body": "Call {{first_name|the lead}} (2)."}},
        {"channel": "call",      "timing": "+8 hours",  "message": {"body": "Call {{first_name|the lead}} (3)."}},
        {"channel": "voicemail", "timing": "+10 hours", "message": {"body": "Leave {{first_name|the lead}} a voicemail."}}]}');
    PERFORM cadence.define_cadence('{"key": "call-then-voicemail", "name": "A call, a voicemail an hour later", "steps": [
        {"channel": "call",      "timing": "immediate", "message": {"body": "Call {{first_name|the lead}}."}},
        {"channel": "voicemail", "timing": "+1 hour",   "message": {"body": "Leave {{first_name|the lead}} a voicemail."}}]}');
    PERFORM cadence.define_cadence('{"key": "voicemail-then-call", "name": "A voicemail, a call an hour later", "steps": [
        {"channel": "voicemail", "timing": "immediate", "message": {"body": "Leave {{first_name|the lead}} a voicemail."}},
        {"channel": "call",      "timing": "+1 hour",   "message": {"body": "Call {{first_name|the lead}}."}}]}');
    PERFORM cadence.define_cadence('{"key": "call-voicemail-spaced", "name": "A call, a voicemail four hours later", "steps": [
        {"channel": "call",      "timing": "immediate", "message": {"body": "Call {{first_name|the lead}}."}},
        {"channel": "voicemail", "timing": "+4 hours",  "message": {"body": "Leave {{first_name|the lead}} a voicemail."}}]}');
END
$$;

CREATE FUNCTION pg_temp.new_lead(external_id text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO cadence.lead (external_id, first_name, phone, time_zone)
    VALUES (external_id, 'Lee', '+13125550123', 'America/Chicago')
    RETURNING lead_id
$$;

-- One claim of the tenant's dialer, for calls and voicemails alike; each
-- attempt is reported unanswered.  Returns the steps it got.
CREATE FUNCTION pg_temp.dial(at timestamptz) RETURNS integer[]
LANGUAGE plpgsql AS $$
DECLARE
    claimed cadence.touch;
    steps integer[] := '{}';
BEGIN
    FOR claimed IN SELECT * FROM cadence.claim_touches(ARRAY['call', 'voicemail'], 'dialer', 100, '5 minutes', at)
                    ORDER BY step_no LOOP
        PERFORM cadence.complete_touch(claimed.touch_id, 'no_answer', '{}', at);
        steps := steps || claimed.step_no;
    END LOOP;
    RETURN steps;
END
$$;

-- Every 5 minutes: a tick, then the dialer.
CREATE FUNCTION pg_temp.run(from_at timestamptz, until_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := from_at;
BEGIN
    WHILE t <= until_at LOOP
        PERFORM cadence.tick(t);
        PERFORM pg_temp.dial(t);
        t := t + interval '5 minutes';
    END LOOP;
END
$$;

-- Lakeside Motors: default call rules.
INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
SELECT cadence.set_tenant(:lakeside) AS acting \gset
SELECT pg_temp.define_cadences() AS defined \gset
SELECT pg_temp.new_lead('VM-CAP') AS cap_lead \gset
SELECT pg_temp.new_lead('VM-GAP') AS gap_lead \gset
SELECT pg_temp.new_lead('VM-FIRST') AS first_lead \gset
-- the calls start at 08:00 CDT, the others at 09:00 CDT
SELECT cadence.enroll(:cap_lead, 'calls-then-voicemail', '2026-03-10 13:00Z') AS cap_enrolment \gset
SELECT cadence.enroll(:gap_lead, 'call-then-voicemail', '2026-03-10 14:00Z') AS gap_enrolment \gset
SELECT cadence.enroll(:first_lead, 'voicemail-then-call', '2026-03-10 14:00Z') AS first_enrolment \gset
SELECT pg_temp.run('2026-03-10 13:00Z', '2026-03-11 23:55Z') AS ran \gset

-- Three calls at 08:00, 12:00 and 16:00 CDT, then the voicemail planned at
-- 18:00 CDT is the 4th attempt in 24 hours: the gap moves it to 20:00 CDT,
-- the cap to 24 hours after the first call, 08:00 CDT the next day.
SELECT results_eq(
    $$SELECT step_no, channel, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :cap_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, 'call'::text, '2026-03-10 13:00Z'::timestamptz, '2026-03-10 13:00Z'::timestamptz, '{}'::text[]),
             (2, 'call', '2026-03-10 17:00Z', '2026-03-10 17:00Z', '{}'),
             (3, 'call', '2026-03-10 21:00Z', '2026-03-10 21:00Z', '{}'),
             (4, 'voicemail', '2026-03-10 23:00Z', '2026-03-11 13:00Z', '{call_spacing,call_cap}')$$,
    'after three calls on a day the voicemail is the 4th attempt: held to 08:00 CDT the next day, by spacing and the cap');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE enrolment_id = :cap_enrolment AND step_no = 4),
    (SELECT due_at + interval '24 hours' FROM cadence.touch WHERE enrolment_id = :cap_enrolment AND step_no = 1),
    'the voicemail is due exactly 24 hours after the first of the three calls');
SELECT results_eq(
    $$SELECT step_no, claimed_at, status FROM cadence.touch WHERE enrolment_id = $$ || :cap_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-10 13:00Z'::timestamptz, 'done'::text), (2, '2026-03-10 17:00Z', 'done'),
             (3, '2026-03-10 21:00Z', 'done'), (4, '2026-03-11 13:00Z', 'done')$$,
    'the dialer made each attempt at its due time, the voicemail at 08:00 CDT the next day');
SELECT is(
    (SELECT max((SELECT count(*)::integer FROM cadence.touch o
                  WHERE o.lead_id = t.lead_id AND o.channel IN ('call', 'voicemail')
                    AND o.claimed_at > t.claimed_at - interval '24 hours' AND o.claimed_at <= t.claimed_at))
       FROM cadence.touch t WHERE t.lead_id = :cap_lead),
    :call_cap,
    'no 24-hour window holds more than 3 calls and voicemails together');

-- A voicemail planned an hour after a call waits for the gap to end.
SELECT results_eq(
    $$SELECT step_no, channel, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :gap_enrolment || $$ ORDER BY step_no$$,
    format($$VALUES (1, 'call'::text, '2026-03-10 14:00Z'::timestamptz, '2026-03-10 14:00Z'::timestamptz, '{}'::text[]),
                    (2, 'voicemail', '2026-03-10 15:00Z', '2026-03-10 14:00Z'::timestamptz + %L::interval, '{call_spacing}')$$,
           :'call_gap'),
    'a voicemail 1 hour after a call is deferred until the configured gap after the call (4 hours: 13:00 CDT)');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE enrolment_id = :gap_enrolment AND step_no = 2),
    '2026-03-10 18:00Z'::timestamptz,
    'that is 18:00 UTC, 13:00 CDT');
-- And the other way round: a call an hour after a voicemail.
SELECT results_eq(
    $$SELECT step_no, channel, due_at, defer_reasons, claimed_at FROM cadence.touch WHERE enrolment_id = $$ || :first_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, 'voicemail'::text, '2026-03-10 14:00Z'::timestamptz, '{}'::text[], '2026-03-10 14:00Z'::timestamptz),
             (2, 'call', '2026-03-10 18:00Z', '{call_spacing}', '2026-03-10 18:00Z')$$,
    'a call 1 hour after a voicemail is deferred to 4 hours after it as well');

-- The dialer was down all afternoon: a call and a voicemail four hours
-- later are both overdue when it comes back at 14:05 CDT.  It gets the
-- call, and the voicemail only once the gap after that call has passed.
SELECT pg_temp.new_lead('VM-OUTAGE') AS out_lead \gset
SELECT cadence.enroll(:out_lead, 'call-voicemail-spaced', '2026-03-12 14:00Z') AS out_enrolment \gset
SELECT cadence.tick('2026-03-12 14:00Z') + cadence.tick('2026-03-12 18:00Z') AS out_queued \gset
SELECT is(:out_queued, 2, 'the call (09:00 CDT) and the voicemail (13:00 CDT) are queued as planned');
SELECT results_eq(
    $$SELECT at, pg_temp.dial(at)
        FROM unnest(ARRAY['2026-03-12 19:05Z', '2026-03-12 19:10Z', '2026-03-12 23:04Z', '2026-03-12 23:05Z']::timestamptz[]) AS at
       ORDER BY at$$,
    $$VALUES ('2026-03-12 19:05Z'::timestamptz, '{1}'::integer[]), ('2026-03-12 19:10Z', '{}'),
             ('2026-03-12 23:04Z', '{}'), ('2026-03-12 23:05Z', '{2}')$$,
    'a dialer claiming calls and voicemails gets the overdue call at 14:05 CDT and the voicemail 4 hours later, not both at once');
SELECT results_eq(
    $$SELECT step_no, claimed_at FROM cadence.touch WHERE enrolment_id = $$ || :out_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, '2026-03-12 19:05Z'::timestamptz), (2, '2026-03-12 23:05Z')$$,
    'the voicemail went out exactly the gap after the call was made');

-- Northgate Auto: calls at most 2 per 24 hours, 2 hours apart.  The call
-- policy holds for voicemails too.
INSERT INTO cadence.tenant (name) VALUES ('Northgate Auto') RETURNING tenant_id AS northgate \gset
SELECT cadence.set_tenant(:northgate) AS acting \gset
SELECT pg_temp.define_cadences() AS defined \gset
INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until, max_per_day, min_gap)
VALUES ('call', '08:00', '21:00', 2, '2 hours');
SELECT results_eq(
    $$SELECT channel, counted_channels, max_per_day, min_gap FROM cadence.attempt_limits($$ || :northgate || $$)
       WHERE channel IN ('call', 'voicemail', 'sms') ORDER BY channel$$,
    $$VALUES ('call'::text, '{call,voicemail}'::text[], 2, '2 hours'::interval),
             ('sms', '{sms}', NULL, NULL),
             ('voicemail', '{call,voicemail}', 2, '2 hours')$$,
    'attempt_limits: the tenant''s call policy, for calls and voicemails counted together; none for texts');
SELECT pg_temp.new_lead('NG-VM') AS ng_lead \gset
SELECT cadence.enroll(:ng_lead, 'calls-then-voicemail', '2026-03-10 13:00Z') AS ng_enrolment \gset
SELECT pg_temp.run('2026-03-10 13:00Z', '2026-03-11 23:55Z') AS ran \gset
SELECT results_eq(
    $$SELECT step_no, channel, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ng_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, 'call'::text, '2026-03-10 13:00Z'::timestamptz, '{}'::text[]),
             (2, 'call', '2026-03-10 17:00Z', '{}'),
             (3, 'call', '2026-03-11 13:00Z', '{call_cap}'),
             (4, 'voicemail', '2026-03-11 17:00Z', '{call_cap}')$$,
    'under a cap of 2 the third call moves to the next morning, and the voicemail is held by the cap to 24 hours after the second call');

-- A voicemail policy may set its hours, not limits of its own.
SELECT lives_ok(
    $$INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until) VALUES ('voicemail', '09:00', '19:00')$$,
    'a voicemail policy with hours only is accepted');
SELECT throws_ok(
    $$UPDATE cadence.channel_policy SET max_per_day = 5 WHERE channel = 'voicemail'$$,
    '22023', 'voicemail attempts count as call attempts: no limit of its own in field "max_per_day"',
    'a voicemail cap of its own is refused, naming the field');
SELECT throws_ok(
    $$INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until, min_gap) VALUES ('voicemail', '08:00', '21:00', '1 hour')
      ON CONFLICT (tenant_id, channel) DO UPDATE SET min_gap = EXCLUDED.min_gap$$,
    '22023', 'voicemail attempts count as call attempts: no limit of its own in field "min_gap"',
    'a voicemail gap of its own is refused, naming the field');

-- counts_as is followed one step: a channel cannot count as one that
-- counts as another, nor be counted as if it counts as another itself.
SELECT throws_ok(
    $$UPDATE cadence.channel SET counts_as = 'voicemail' WHERE channel = 'video'$$,
    '22023', 'video counts as voicemail, which counts as call itself: no chains in field "counts_as"',
    'a channel counting as voicemail (which counts as call) is refused, naming the field');
SELECT throws_ok(
    $$UPDATE cadence.channel SET counts_as = 'linkedin' WHERE channel = 'call'$$,
    '22023', 'voicemail counts as call, so call cannot count as another channel in field "counts_as"',
    'call, counted by voicemail, cannot count as another channel');
SELECT lives_ok(
    $$UPDATE cadence.channel SET counts_as = 'call' WHERE channel = 'video'$$,
    'a channel may count as call, which counts as no other');

SELECT * FROM finish();
ROLLBACK;
