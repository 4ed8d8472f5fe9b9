-- Quiet hours in the lead's local time, on a simulated clock.
-- Default channel hours: SMS 09:00-20:00, calls 08:00-21:00 (the end is
-- exclusive).  A touch planned outside them is due at the next allowed
-- moment, keeps its planned_at and names quiet_hours in defer_reasons; a
-- tenant's channel_policy replaces the default hours; the same local rule
-- gives different UTC times in different zones; and claim_touches hands out
-- nothing in quiet hours, even a touch that is overdue.
BEGIN;
SELECT plan(21);

-- Enrol a new lead of the current tenant (with SMS consent) in a cadence and
-- run the tick at the enrolment instant; returns the lead.
CREATE FUNCTION pg_temp.enrol_and_tick(external_id text, time_zone text, cadence_key text, at timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_lead bigint;
BEGIN
    INSERT INTO cadence.lead (external_id, first_name, phone, email, time_zone)
    VALUES (external_id, 'Sam', '+15555550100', 'sam@example.com', time_zone)
    RETURNING lead_id INTO v_lead;
    PERFORM cadence.record_consent(v_lead, 'sms', 'grant', 'web_form', at - interval '1 hour');
    PERFORM cadence.enroll(v_lead, cadence_key, at);
    PERFORM cadence.tick(at);
    RETURN v_lead;
END
$$;

CREATE FUNCTION pg_temp.define_one_step_cadences() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cadence.define_cadence('{"key": "sms-now", "name": "Text right away",
        "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, thanks for your inquiry."}}]}');
    PERFORM cadence.define_cadence('{"key": "call-now", "name": "Call right away",
        "steps": [{"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}}."}}]}');
END
$$;

-- Lakeside Motors runs on the default channel hours.
INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset
SELECT pg_temp.define_one_step_cadences() AS defined \gset

-- SMS at 22:00 CDT on Tuesday 2026-03-10 (03:00Z on the 11th).
SELECT pg_temp.enrol_and_tick('late-text', 'America/Chicago', 'sms-now', '2026-03-11 03:00Z') AS late_text \gset
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons, status FROM cadence.touch WHERE lead_id = $$ || :late_text,
    $$VALUES ('2026-03-11 03:00Z'::timestamptz, '2026-03-11 14:00Z'::timestamptz, '{quiet_hours}'::text[], 'queued'::text)$$,
    'SMS planned at 22:00 CDT is due at 09:00 CDT the next day, planned_at kept, reason quiet_hours');

-- A call at 07:30 CDT waits for 08:00 CDT.
SELECT pg_temp.enrol_and_tick('early-call', 'America/Chicago', 'call-now', '2026-03-11 12:30Z') AS early_call \gset
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :early_call,
    $$VALUES ('2026-03-11 12:30Z'::timestamptz, '2026-03-11 13:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'call planned at 07:30 CDT is due at 08:00 CDT');

-- A call at exactly 21:00 CDT is already outside the hours.
SELECT pg_temp.enrol_and_tick('nine-pm-call', 'America/Chicago', 'call-now', '2026-03-12 02:00Z') AS nine_pm_call \gset
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :nine_pm_call,
    $$VALUES ('2026-03-12 13:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'call planned at 21:00 CDT (the end of the hours) is due at 08:00 CDT the next day');

-- Inside the hours nothing moves: 09:30 CDT and 18:30 CDT.
SELECT pg_temp.enrol_and_tick('morning-text', 'America/Chicago', 'sms-now', '2026-03-11 14:30Z') AS morning_text \gset
SELECT pg_temp.enrol_and_tick('evening-text', 'America/Chicago', 'sms-now', '2026-03-11 23:30Z') AS evening_text \gset
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch
       WHERE lead_id IN ($$ || :morning_text || ',' || :evening_text || $$) ORDER BY planned_at$$,
    $$VALUES ('2026-03-11 14:30Z'::timestamptz, '2026-03-11 14:30Z'::timestamptz, '{}'::text[]),
             ('2026-03-11 23:30Z', '2026-03-11 23:30Z', '{}')$$,
    'SMS at 09:30 and 18:30 CDT go out as planned under the default hours');

-- The night the clocks change: 22:00 CST on Saturday 2026-03-07 waits for
-- 09:00 CDT on Sunday, which is 14:00Z, not 15:00Z.
SELECT pg_temp.enrol_and_tick('dst-night', 'America/Chicago', 'sms-now', '2026-03-08 04:00Z') AS dst_night \gset
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :dst_night,
    $$VALUES ('2026-03-08 04:00Z'::timestamptz, '2026-03-08 14:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'SMS at 22:00 CST before the DST change is due at 09:00 CDT (14:00Z)');

-- One UTC instant, 2026-03-20 03:00Z, is a quiet hour in four zones; each
-- lead gets 09:00 of its own next morning.  On that date Chicago and Los
-- Angeles are on daylight time, Berlin is not yet, Kolkata is UTC+05:30.
SELECT pg_temp.enrol_and_tick('zone-chicago', 'America/Chicago', 'sms-now', '2026-03-20 03:00Z') AS zone_chicago \gset
SELECT pg_temp.enrol_and_tick('zone-la', 'America/Los_Angeles', 'sms-now', '2026-03-20 03:00Z') AS zone_la \gset
SELECT pg_temp.enrol_and_tick('zone-berlin', 'Europe/Berlin', 'sms-now', '2026-03-20 03:00Z') AS zone_berlin \gset
SELECT pg_temp.enrol_and_tick('zone-kolkata', 'Asia/Kolkata', 'sms-now', '2026-03-20 03:00Z') AS zone_kolkata \gset
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE lead_id = :zone_chicago),
    '2026-03-20 14:00Z'::timestamptz,
    'America/Chicago: 22:00 CDT -> 09:00 CDT = 14:00Z');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE lead_id = :zone_la),
    '2026-03-20 16:00Z'::timestamptz,
    'America/Los_Angeles: 20:00 PDT (the end of the hours) -> 09:00 PDT = 16:00Z');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE lead_id = :zone_berlin),
    '2026-03-20 08:00Z'::timestamptz,
    'Europe/Berlin: 04:00 CET -> 09:00 CET = 08:00Z the same day');
SELECT is(
    (SELECT due_at FROM cadence.touch WHERE lead_id = :zone_kolkata),
    '2026-03-20 03:30Z'::timestamptz,
    'Asia/Kolkata: 08:30 IST -> 09:00 IST = 03:30Z');
SELECT is(
    (SELECT array_agg(DISTINCT r) FROM cadence.touch t, unnest(t.defer_reasons) r
      WHERE t.lead_id IN (:zone_chicago, :zone_la, :zone_berlin, :zone_kolkata)),
    '{quiet_hours}'::text[],
    'all four were moved for quiet hours only');

-- Northgate Auto allows texts only 10:00-18:00.
INSERT INTO cadence.tenant (name) VALUES ('Northgate Auto') RETURNING tenant_id AS northgate \gset
SELECT cadence.set_tenant(:northgate) AS tenant_set \gset
SELECT pg_temp.define_one_step_cadences() AS defined \gset
INSERT INTO cadence.channel_policy (channel, allowed_from, allowed_until) VALUES ('sms', '10:00', '18:00');

SELECT pg_temp.enrol_and_tick('ng-late-text', 'America/Chicago', 'sms-now', '2026-03-11 03:00Z') AS ng_late_text \gset
SELECT pg_temp.enrol_and_tick('ng-morning-text', 'America/Chicago', 'sms-now', '2026-03-11 14:30Z') AS ng_morning_text \gset
SELECT pg_temp.enrol_and_tick('ng-evening-text', 'America/Chicago', 'sms-now', '2026-03-11 23:30Z') AS ng_evening_text \gset
SELECT pg_temp.enrol_and_tick('ng-early-call', 'America/Chicago', 'call-now', '2026-03-11 12:30Z') AS ng_early_call \gset
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :ng_late_text,
    $$VALUES ('2026-03-11 03:00Z'::timestamptz, '2026-03-11 15:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'tenant policy: SMS at 22:00 CDT is due at 10:00 CDT, not 09:00');
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :ng_morning_text,
    $$VALUES ('2026-03-11 14:30Z'::timestamptz, '2026-03-11 15:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'tenant policy: SMS at 09:30 CDT, allowed by default, waits for 10:00 CDT');
SELECT results_eq(
    $$SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :ng_evening_text,
    $$VALUES ('2026-03-11 23:30Z'::timestamptz, '2026-03-12 15:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'tenant policy: SMS at 18:30 CDT waits for 10:00 CDT the next day');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.touch WHERE lead_id = $$ || :ng_early_call,
    $$VALUES ('2026-03-11 13:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'the SMS policy leaves calls on their default hours (07:30 -> 08:00 CDT)');
SELECT is(
    (SELECT count(*)::integer FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-11 23:10Z')),
    0,
    'tenant policy: at 18:10 CDT no text is handed out, though two are overdue');

-- Claiming.  Prairie Auto has a Chicago lead and a Los Angeles lead, each
-- with a text planned and due at 19:55 local time.
INSERT INTO cadence.tenant (name) VALUES ('Prairie Auto') RETURNING tenant_id AS prairie \gset
SELECT cadence.set_tenant(:prairie) AS tenant_set \gset
SELECT pg_temp.define_one_step_cadences() AS defined \gset
SELECT pg_temp.enrol_and_tick('pr-chicago', 'America/Chicago', 'sms-now', '2026-03-12 00:55Z') AS pr_chicago \gset
SELECT pg_temp.enrol_and_tick('pr-la', 'America/Los_Angeles', 'sms-now', '2026-03-12 02:55Z') AS pr_la \gset
SELECT results_eq(
    $$SELECT lead_id, due_at, defer_reasons FROM cadence.touch WHERE lead_id IN ($$ || :pr_chicago || ',' || :pr_la || $$)
       ORDER BY lead_id$$,
    format($$VALUES (%s::bigint, '2026-03-12 00:55Z'::timestamptz, '{}'::text[]), (%s, '2026-03-12 02:55Z', '{}')$$,
           :pr_chicago, :pr_la),
    'both texts are due at 19:55 local, inside the hours');

SELECT is(
    (SELECT count(*)::integer FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-12 01:10Z')),
    0,
    '20:10 CDT: the Chicago text is overdue but in quiet hours, nothing is handed out');
SELECT is(
    (SELECT array_agg(lead_id) FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-12 02:59Z')),
    ARRAY[:pr_la]::bigint[],
    '02:59Z (21:59 CDT, 19:59 PDT): only the Los Angeles text is handed out');
-- The Los Angeles sender never reports back; its lease runs out at 03:04Z.
SELECT is(
    (SELECT count(*)::integer FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-12 13:59Z')),
    0,
    '08:59 CDT: still nothing, not even the Los Angeles text with an expired lease');
SELECT is(
    (SELECT array_agg(lead_id) FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-12 14:00Z')),
    ARRAY[:pr_chicago]::bigint[],
    '09:00 CDT: the Chicago text is handed out; Los Angeles (07:00 PDT) still waits');
SELECT cadence.complete_touch(touch_id, 'sent', '{}', '2026-03-12 14:01Z') AS done
  FROM cadence.touch WHERE lead_id = :pr_chicago \gset
SELECT results_eq(
    $$SELECT lead_id, claimed_at, attempts FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-12 16:00Z')$$,
    format($$VALUES (%s::bigint, '2026-03-12 16:00Z'::timestamptz, 2)$$, :pr_la),
    '09:00 PDT: the Los Angeles text is handed out again, second attempt');

SELECT * FROM finish();
ROLLBACK;
