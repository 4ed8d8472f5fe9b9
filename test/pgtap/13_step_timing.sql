-- Step timing: the parsers (parse_timing, parse_window), the planned instant
-- of a step (step_due), the gates (plan_touch, is_allowed_at), and the
-- engine's use of them: "after previous" steps wait for complete_touch (and
-- are not stranded when the previous touch is cancelled), allowed weekdays,
-- and order kept after a deferred touch.
-- Leads are in America/Chicago: CST (UTC-6) until Sunday 2026-03-08 02:00,
-- CDT (UTC-5) after.
BEGIN;
SELECT plan(51);

-- parse_timing ---------------------------------------------------------------
SELECT results_eq(
    $$SELECT kind, step_offset::text, day_number FROM cadence.parse_timing('immediate')$$,
    $$VALUES ('offset'::text, '00:00:00'::text, NULL::integer)$$,
    'parse_timing: immediate is an offset of zero');
SELECT results_eq(
    $$SELECT kind, step_offset::text, day_number FROM cadence.parse_timing('+5 minutes')$$,
    $$VALUES ('offset'::text, '00:05:00'::text, NULL::integer)$$,
    'parse_timing: +5 minutes');
SELECT results_eq(
    $$SELECT kind, step_offset::text, day_number FROM cadence.parse_timing('+3 days')$$,
    $$VALUES ('offset'::text, '3 days'::text, NULL::integer)$$,
    'parse_timing: +3 days stays calendar days, not 72 hours');
SELECT results_eq(
    $$SELECT kind, step_offset::text, day_number FROM cadence.parse_timing('+2 weeks')$$,
    $$VALUES ('offset'::text, '14 days'::text, NULL::integer)$$,
    'parse_timing: +2 weeks is 14 calendar days');
SELECT results_eq(
    $$SELECT kind, step_offset, day_number FROM cadence.parse_timing('day 2')$$,
    $$VALUES ('day'::text, NULL::interval, 2)$$,
    'parse_timing: day 2');
SELECT results_eq(
    $$SELECT kind, step_offset, day_number FROM cadence.parse_timing('week 6')$$,
    $$VALUES ('day'::text, NULL::interval, 36)$$,
    'parse_timing: week 6 is day 36');
SELECT results_eq(
    $$SELECT kind, step_offset, day_number FROM cadence.parse_timing('week 1')$$,
    $$VALUES ('day'::text, NULL::interval, 1)$$,
    'parse_timing: week 1 is day 1');
SELECT results_eq(
    $$SELECT kind, step_offset::text, day_number FROM cadence.parse_timing('after previous +2 hours')$$,
    $$VALUES ('after_previous'::text, '02:00:00'::text, NULL::integer)$$,
    'parse_timing: after previous +2 hours');
SELECT throws_ok(
    $$SELECT * FROM cadence.parse_timing('day 0', '$.steps[3].timing')$$,
    '22023', 'invalid timing "day 0" at $.steps[3].timing',
    'parse_timing: day 0 is refused, naming the JSON path');
SELECT throws_ok(
    $$SELECT * FROM cadence.parse_timing('-2 hours', '$.steps[1].timing')$$,
    '22023', 'invalid timing "-2 hours" at $.steps[1].timing',
    'parse_timing: negative offsets are refused');
SELECT throws_ok(
    $$SELECT * FROM cadence.parse_timing('+2 fortnights', '$.steps[1].timing')$$,
    '22023', 'invalid timing "+2 fortnights" at $.steps[1].timing',
    'parse_timing: unknown units are refused');

-- parse_window ---------------------------------------------------------------
SELECT results_eq(
    $$SELECT n, w.window_from, w.window_until
        FROM unnest(ARRAY['morning', 'midday', 'afternoon', 'evening', 'anytime']) WITH ORDINALITY AS x(n, i),
             cadence.parse_window(n) w ORDER BY i$$,
    $$VALUES ('morning'::text, '09:00'::time, '11:00'::time), ('midday', '11:00', '14:00'),
             ('afternoon', '14:00', '17:00'), ('evening', '17:00', '19:00'), ('anytime', '00:00', '24:00')$$,
    'parse_window: the named windows of the seed');
SELECT results_eq(
    $$SELECT window_from, window_until FROM cadence.parse_window('08:30-10:15')$$,
    $$VALUES ('08:30'::time, '10:15'::time)$$,
    'parse_window: HH:MM-HH:MM');
SELECT throws_ok(
    $$SELECT * FROM cadence.parse_window('18:00-09:00', '$.steps[0].window')$$,
    '22023', 'invalid window "18:00-09:00" at $.steps[0].window',
    'parse_window: a window across midnight is refused');
SELECT throws_ok(
    $$SELECT * FROM cadence.parse_window('noonish', '$.steps[0].window')$$,
    '22023', 'invalid window "noonish" at $.steps[0].window',
    'parse_window: unknown names are refused');

-- step_due -------------------------------------------------------------------
-- Enrolment on Monday 2026-03-02 at 16:30 CST (22:30Z) unless said otherwise.
SELECT is(
    cadence.step_due('day', NULL, 2, NULL, NULL, 127, '2026-03-02 22:30Z', NULL, 'America/Chicago'),
    '2026-03-03 22:30Z'::timestamptz,
    'step_due: day 2 without a window keeps the enrolment time of day (16:30 CST)');
SELECT is(
    cadence.step_due('day', NULL, 2, '09:00', '11:00', 127, '2026-03-02 22:30Z', NULL, 'America/Chicago'),
    '2026-03-03 15:00Z'::timestamptz,
    'step_due: day 2 morning is 09:00 CST on Tuesday');
SELECT is(
    cadence.step_due('day', NULL, 36, NULL, NULL, 127, '2026-03-02 22:30Z', NULL, 'America/Chicago'),
    '2026-04-06 21:30Z'::timestamptz,
    'step_due: week 6 (day 36) is Monday 2026-04-06 at 16:30 CDT, local time kept across DST');
SELECT is(
    cadence.step_due('day', NULL, 36, '09:00', '11:00', 127, '2026-03-02 22:30Z', NULL, 'America/Chicago'),
    '2026-04-06 14:00Z'::timestamptz,
    'step_due: week 6 morning is 09:00 CDT');
SELECT is(
    cadence.step_due('offset', '3 days', NULL, NULL, NULL, 127, '2026-03-06 16:00Z', NULL, 'America/Chicago'),
    '2026-03-09 15:00Z'::timestamptz,
    'step_due: +3 days from Friday 10:00 CST is Monday 10:00 CDT (71 elapsed hours)');
SELECT is(
    cadence.step_due('offset', '72 hours', NULL, NULL, NULL, 127, '2026-03-06 16:00Z', NULL, 'America/Chicago'),
    '2026-03-09 16:00Z'::timestamptz,
    'step_due: +72 hours is elapsed time, Monday 11:00 CDT');
SELECT is(
    cadence.step_due('offset', '1 day', NULL, NULL, NULL, 127, '2026-03-07 08:30Z', NULL, 'America/Chicago'),
    '2026-03-08 02:30'::timestamp AT TIME ZONE 'America/Chicago',
    'step_due: +1 day into the DST gap (02:30 does not exist on 2026-03-08) resolves as PostgreSQL does');
SELECT is(
    cadence.step_due('offset', '30 minutes', NULL, '14:00', '17:00', 127, '2026-03-02 16:15Z', NULL, 'America/Chicago'),
    '2026-03-02 20:00Z'::timestamptz,
    'step_due: +30 minutes in an afternoon window: 10:45 CST moves to 14:00 CST');
SELECT is(
    cadence.step_due('after_previous', '2 hours', NULL, NULL, NULL, 127, '2026-03-02 15:00Z', NULL, 'America/Chicago'),
    NULL::timestamptz,
    'step_due: after previous, previous not completed: no time yet');
SELECT is(
    cadence.step_due('after_previous', '2 hours', NULL, NULL, NULL, 127, '2026-03-02 15:00Z', '2026-03-04 17:07Z', 'America/Chicago'),
    '2026-03-04 19:07Z'::timestamptz,
    'step_due: after previous +2 hours counts from the completion');
-- Allowed weekdays tue, wed, thu = 4 + 8 + 16 = 28 (Sunday = 1).
SELECT is(
    cadence.step_due('day', NULL, 6, '09:00', '11:00', 28, '2026-03-02 15:00Z', NULL, 'America/Chicago'),
    '2026-03-10 14:00Z'::timestamptz,
    'step_due: day 6 is Saturday; with days tue-thu it moves to Tuesday 2026-03-10 at 09:00 CDT');
SELECT is(
    cadence.step_due('day', NULL, 3, '09:00', '11:00', 28, '2026-03-02 15:00Z', NULL, 'America/Chicago'),
    '2026-03-04 15:00Z'::timestamptz,
    'step_due: day 3 is Wednesday, an allowed day, so it stays');
-- Day 1 with a morning window, by the time of enrolment.
SELECT is(
    cadence.step_due('day', NULL, 1, '09:00', '11:00', 127, '2026-03-02 13:00Z', NULL, 'America/Chicago'),
    '2026-03-02 15:00Z'::timestamptz,
    'step_due: day 1 morning, enrolled at 07:00 CST: due at 09:00 the same day');
SELECT is(
    cadence.step_due('day', NULL, 1, '09:00', '11:00', 127, '2026-03-02 16:15Z', NULL, 'America/Chicago'),
    '2026-03-02 16:15Z'::timestamptz,
    'step_due: day 1 morning, enrolled at 10:15 CST inside the window: due at the enrolment');
SELECT is(
    cadence.step_due('day', NULL, 1, '09:00', '11:00', 127, '2026-03-02 17:30Z', NULL, 'America/Chicago'),
    '2026-03-03 15:00Z'::timestamptz,
    'step_due: day 1 morning, enrolled at 11:30 CST after the window: 09:00 CST the next day');
SELECT is(
    cadence.step_due('day', NULL, 1, '09:00', '11:00', 127, '2026-03-02 17:00Z', NULL, 'America/Chicago'),
    '2026-03-03 15:00Z'::timestamptz,
    'step_due: the window end is exclusive: enrolled at 11:00 CST, due 09:00 CST the next day');

-- plan_touch and is_allowed_at -------------------------------------------------
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-08 02:30Z', 'America/Chicago', '09:00', '20:00', NULL, NULL, NULL)$$,
    $$VALUES ('2026-03-08 14:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'plan_touch: SMS planned at 20:30 CST Saturday waits for 09:00 CDT Sunday');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.plan_touch('2026-03-08 08:30Z', 'America/Chicago', '00:00', '24:00', NULL, NULL, NULL)$$,
    $$VALUES ('2026-03-08 08:30Z'::timestamptz, '{}'::text[])$$,
    'plan_touch: email (no hours, no limits) goes as planned, even at night');
SELECT is(
    ARRAY[cadence.is_allowed_at('2026-03-09 13:59Z', 'America/Chicago', '09:00', '20:00'),
          cadence.is_allowed_at('2026-03-09 14:00Z', 'America/Chicago', '09:00', '20:00'),
          cadence.is_allowed_at('2026-03-10 00:59Z', 'America/Chicago', '09:00', '20:00'),
          cadence.is_allowed_at('2026-03-10 01:00Z', 'America/Chicago', '09:00', '20:00')],
    ARRAY[false, true, true, false],
    'is_allowed_at: 08:59 no, 09:00 yes, 19:59 yes, 20:00 CDT no');

-- The engine ----------------------------------------------------------------
INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS tenant_id \gset
SELECT cadence.set_tenant(:tenant_id) AS tenant_set \gset

CREATE FUNCTION pg_temp.new_lead(external_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_lead bigint;
BEGIN
    INSERT INTO cadence.lead (external_id, first_name, phone, email, time_zone)
    VALUES (external_id, 'Rosa', '+13125550177', 'rosa@example.com', 'America/Chicago')
    RETURNING lead_id INTO v_lead;
    PERFORM cadence.record_consent(v_lead, 'sms', 'grant', 'web_form', '2026-03-01 12:00Z');
    RETURN v_lead;
END
$$;

-- "after previous": a text two hours after the email is reported sent.
SELECT cadence.define_cadence('{"key": "email-then-text", "name": "Email, then a text", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Your inquiry", "body": "Hi {{first_name|there}}."}},
    {"channel": "sms", "timing": "after previous +2 hours", "message": {"body": "Did you get my email, {{first_name|there}}?"}}]}') AS v \gset
SELECT pg_temp.new_lead('after-previous') AS ap_lead \gset
-- enrolled on Wednesday 2026-03-11 at 09:00 CDT
SELECT cadence.enroll(:ap_lead, 'email-then-text', '2026-03-11 14:00Z') AS ap_enrolment \gset
SELECT is(cadence.tick('2026-03-11 14:00Z'), 1, 'after previous: the tick queues the email');
SELECT results_eq(
    $$SELECT next_step_no, next_due_at FROM cadence.enrolment WHERE enrolment_id = $$ || :ap_enrolment,
    $$VALUES (2, NULL::timestamptz)$$,
    'after previous: the enrolment waits on step 2 with no due time');
SELECT is(cadence.tick('2026-03-11 23:00Z'), 0, 'after previous: a later tick does nothing while the email is not completed');
SELECT cadence.complete_touch(touch_id, 'sent', '{}', '2026-03-11 14:07Z') AS done
  FROM cadence.touch WHERE enrolment_id = :ap_enrolment AND step_no = 1 \gset
SELECT is(
    (SELECT next_due_at FROM cadence.enrolment WHERE enrolment_id = :ap_enrolment),
    '2026-03-11 16:07Z'::timestamptz,
    'after previous: completing the email at 14:07Z plans the text for 16:07Z');
SELECT is(cadence.tick('2026-03-11 16:06Z'), 0, 'after previous: not due a minute early');
SELECT is(cadence.tick('2026-03-11 16:07Z'), 1, 'after previous: queued at 16:07Z');
SELECT results_eq(
    $$SELECT channel, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ap_enrolment || $$ AND step_no = 2$$,
    $$VALUES ('sms'::text, '2026-03-11 16:07Z'::timestamptz, '2026-03-11 16:07Z'::timestamptz, '{}'::text[])$$,
    'after previous: the text is planned and due exactly two hours after the completion');

-- "after previous" when the previous touch never goes out: the lead revokes
-- SMS consent while the text is queued, which cancels it.  The email that
-- was to follow must still come (SMS consent does not govern email); the
-- enrolment must not wait for a completion that can never happen.
SELECT cadence.define_cadence('{"key": "text-then-email", "name": "Text, then an email a day later", "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, thanks for asking."}},
    {"channel": "email", "timing": "after previous +1 day", "message": {"subject": "Details", "body": "Hi {{first_name|there}}."}}]}') AS v \gset
SELECT pg_temp.new_lead('after-cancelled') AS ac_lead \gset
SELECT cadence.enroll(:ac_lead, 'text-then-email', '2026-03-11 14:00Z') AS ac_enrolment \gset
SELECT cadence.tick('2026-03-11 14:00Z') AS queued \gset
SELECT cadence.record_consent(:ac_lead, 'sms', 'revoke', 'sms_keyword', '2026-03-11 14:01Z') AS consent_id \gset
SELECT results_eq(
    $$SELECT status, status_reason FROM cadence.touch WHERE enrolment_id = $$ || :ac_enrolment || $$ AND step_no = 1$$,
    $$VALUES ('cancelled'::text, 'opted_out'::text)$$,
    'after previous: the revoke cancels the queued text');
SELECT cadence.tick('2026-04-10 14:00Z') AS queued \gset
SELECT ok(
    EXISTS (SELECT FROM cadence.touch WHERE enrolment_id = :ac_enrolment AND step_no = 2 AND channel = 'email'),
    'after previous: a month later the email step has been reached, not left waiting on the cancelled text');

-- Allowed weekdays through define_cadence and the tick: a day 6 morning email
-- on tue/wed/thu only, enrolled on Monday 2026-03-02 at 09:00 CST.
SELECT cadence.define_cadence('{"key": "midweek", "name": "Midweek email", "steps": [
    {"channel": "email", "timing": "day 6", "window": "morning", "days": ["tue", "wed", "thu"],
     "message": {"subject": "Still looking?", "body": "Hi {{first_name|there}}."}}]}') AS v \gset
SELECT is(
    (SELECT weekdays FROM cadence.step WHERE cadence_version_id = :v AND step_no = 1),
    28,
    'define_cadence: days tue, wed, thu compile to the weekday bits 28');
SELECT pg_temp.new_lead('midweek') AS mw_lead \gset
SELECT cadence.enroll(:mw_lead, 'midweek', '2026-03-02 15:00Z') AS mw_enrolment \gset
SELECT cadence.tick('2026-03-10 14:00Z') AS queued \gset
SELECT results_eq(
    $$SELECT planned_at, due_at FROM cadence.touch WHERE enrolment_id = $$ || :mw_enrolment,
    $$VALUES ('2026-03-10 14:00Z'::timestamptz, '2026-03-10 14:00Z'::timestamptz)$$,
    'weekdays: the Saturday step is planned and due on Tuesday at 09:00 CDT (window start)');

-- Order kept: an SMS at 21:30 CDT is deferred to 09:00 CDT the next day; the
-- day 2 email with a 07:00-12:00 window, planned for 07:00, must not go first.
SELECT cadence.define_cadence('{"key": "text-then-day2-email", "name": "Text, then email on day 2", "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, thanks for asking."}},
    {"channel": "email", "timing": "day 2", "window": "07:00-12:00", "message": {"subject": "Details", "body": "Hi {{first_name|there}}."}}]}') AS v \gset
SELECT pg_temp.new_lead('order-kept') AS ok_lead \gset
SELECT cadence.enroll(:ok_lead, 'text-then-day2-email', '2026-03-11 02:30Z') AS ok_enrolment \gset
SELECT is(cadence.tick('2026-03-11 02:30Z'), 1, 'order: the night text is queued');
SELECT results_eq(
    $$SELECT due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ok_enrolment || $$ AND step_no = 1$$,
    $$VALUES ('2026-03-11 14:00Z'::timestamptz, '{quiet_hours}'::text[])$$,
    'order: the text is deferred to 09:00 CDT');
SELECT is(
    (SELECT next_due_at FROM cadence.enrolment WHERE enrolment_id = :ok_enrolment),
    '2026-03-11 14:00Z'::timestamptz,
    'order: the day 2 email (07:00 CDT = 12:00Z on its own) is planned for the text''s 09:00 CDT');
SELECT is(cadence.tick('2026-03-11 12:00Z'), 0, 'order: nothing is queued at 07:00 CDT');
SELECT is(cadence.tick('2026-03-11 14:00Z'), 1, 'order: the email is queued at 09:00 CDT');
SELECT results_eq(
    $$SELECT channel, planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = $$ || :ok_enrolment || $$ AND step_no = 2$$,
    $$VALUES ('email'::text, '2026-03-11 14:00Z'::timestamptz, '2026-03-11 14:00Z'::timestamptz, '{}'::text[])$$,
    'order: the email is due with the text at 09:00 CDT, not before it');

SELECT * FROM finish();
ROLLBACK;
