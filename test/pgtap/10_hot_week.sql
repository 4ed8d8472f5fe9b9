-- The seed's hot 7-day cadence run end to end on a simulated clock.
-- A lead in America/Chicago with SMS consent is enrolled on Monday
-- 2026-03-02 at 09:00 CST (15:00Z); a 5-minute tick, a sender that claims
-- every due touch, calls that go unanswered and messages that are sent carry
-- it through the week, across the US change to daylight time on Sunday
-- 2026-03-08 (CST = UTC-6 before, CDT = UTC-5 after).  Checked: each touch's
-- channel, planned and due time, the rep it is assigned to, its rendered
-- text (opt-out line on the first SMS only, footer on emails), and that the
-- enrolment completes.  Then the two conditions of the first hour: an
-- answered first call skips the text after a missed call, and a reply skips
-- the email sent only when there was no response.
BEGIN;
SELECT plan(26);

-- A dealership of its own, so that {{dealership}} and the footer are known.
INSERT INTO cadence.tenant (name, unsubscribe_url)
VALUES ('Lakeside Motors', 'https://lakeside.example/unsubscribe')
RETURNING tenant_id AS tenant_id \gset
SELECT cadence.set_tenant(:tenant_id) AS tenant_set \gset

-- The owner is not on duty; the on-duty rep must not take the owner's tasks.
INSERT INTO cadence.rep (name, email, phone, on_duty)
VALUES ('Dana Whitfield', 'dana@lakeside.example', '+13125550100', false)
RETURNING rep_id AS dana \gset
INSERT INTO cadence.rep (name, email, phone, on_duty)
VALUES ('Omar Haddad', 'omar@lakeside.example', '+13125550101', true)
RETURNING rep_id AS omar \gset

INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, segment, source,
                          owner_rep_id, attributes)
VALUES ('crm-1001', 'Maria', 'Lopez', 'maria.lopez@example.com', '+13125550147', 'America/Chicago',
        'new_inbound', 'web_form', :dana, '{"vehicle": "2024 Toyota RAV4 XLE"}')
RETURNING lead_id AS maria \gset
SELECT cadence.record_consent(:maria, 'sms', 'grant', 'web_form', '2026-03-02 14:55Z') AS consent_id \gset

-- The seed's hot cadence, as in demo/hot_7day.json.
SELECT cadence.define_cadence($json$
{
  "key": "hot-7day",
  "name": "Hot lead: 7-day intensive",
  "segment": "new_inbound",
  "tier": "hot",
  "steps": [
    {"name": "first call", "channel": "call", "timing": "immediate",
     "message": {"body": "Call {{first_name|the customer}} about the {{attr.vehicle|vehicle they asked about}}: it is here, offer a time to see it today."},
     "goal": "conversation"},
    {"name": "text after a missed call", "channel": "sms", "timing": "+5 minutes", "condition": "previous_call_unanswered",
     "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your sales rep}} at {{dealership}}. I just called about the {{attr.vehicle|vehicle you asked about}} and I'm holding it for you. When could you stop by?"},
     "goal": "reply"},
    {"name": "details by email", "channel": "email", "timing": "+30 minutes", "condition": "no_response",
     "message": {"subject": "Your {{attr.vehicle|vehicle}} is ready for a test drive",
                 "body": "Hi {{first_name|there}},\n\nPhotos, specs and pricing for the {{attr.vehicle|vehicle you asked about}} are below, with a payment calculator. Reply with a time that suits you and I will have it ready.\n\n{{rep_name|Your sales team}}"},
     "goal": "appointment"},
    {"name": "morning call", "channel": "call", "timing": "day 2", "window": "morning",
     "message": {"body": "Follow up on the {{attr.vehicle|vehicle}}: still available; offer two appointment times today."}},
    {"name": "evening text", "channel": "sms", "timing": "day 3", "window": "evening",
     "message": {"body": "Hi {{first_name|there}}, the {{attr.vehicle|vehicle}} is still here. Would Thursday at 5 or Saturday at 11 work for a test drive?"}},
    {"name": "video walk-around", "channel": "video", "timing": "day 4", "window": "afternoon",
     "message": {"body": "Record a 60-second walk-around of the {{attr.vehicle|vehicle}} for {{first_name|the customer}} and send it."}},
    {"name": "trade-in email", "channel": "email", "timing": "day 5", "window": "morning",
     "message": {"subject": "Your trade-in estimate",
                 "body": "Hi {{first_name|there}},\n\nHere is what your trade could be worth toward the {{attr.vehicle|vehicle}}, with monthly payment options. Want me to firm it up at a 20-minute appraisal?\n\n{{rep_name|Your sales team}}"}},
    {"name": "midday call", "channel": "call", "timing": "day 6", "window": "midday",
     "message": {"body": "Call {{first_name|the customer}}: offer a slot this afternoon to see the {{attr.vehicle|vehicle}}."}},
    {"name": "closing text", "channel": "sms", "timing": "day 7", "window": "anytime",
     "message": {"body": "Hi {{first_name|there}}, if the {{attr.vehicle|vehicle}} is still on your list, pick a time this week and I'll have it ready. If not, no problem."}}
  ],
  "rules": {
    "exit_on": ["appointment_set", "sold", "lost", "opt_out"],
    "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
    "on_silence": {"after": "7 days", "move_to": "warm-30day"}
  }
}
$json$::jsonb) AS hot_version \gset

SELECT cadence.enroll(:maria, 'hot-7day', '2026-03-02 15:00Z') AS maria_enrolment \gset

-- What each tick queued, to check that nothing was queued twice or early.
CREATE TEMP TABLE tick_log (as_of timestamptz PRIMARY KEY, queued integer NOT NULL) ON COMMIT DROP;

-- The simulated week, first part: every 5 minutes a tick, then a sender
-- claims what is due and reports calls unanswered and messages sent, up to
-- the last tick before the Saturday-to-Sunday night.
CREATE FUNCTION pg_temp.run_week(from_at timestamptz, until_at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := from_at;
    n integer;
    claimed cadence.touch;
BEGIN
    WHILE t <= until_at LOOP
        n := cadence.tick(t);
        IF n > 0 THEN
            INSERT INTO tick_log VALUES (t, n);
        END IF;
        FOR claimed IN SELECT * FROM cadence.claim_touches(ARRAY['call', 'sms', 'email', 'video'], 'sender', 100,
                                                           '5 minutes', t) LOOP
            PERFORM cadence.complete_touch(claimed.touch_id,
                                           CASE WHEN claimed.channel = 'call' THEN 'no_answer' ELSE 'sent' END,
                                           '{}', t);
        END LOOP;
        t := t + interval '5 minutes';
    END LOOP;
END
$$;
SELECT pg_temp.run_week('2026-03-02 15:00Z', '2026-03-08 05:55Z') AS week_run \gset

-- Before the DST night: eight touches out, the last one planned for day 7 at
-- the enrolment's local time of day, 09:00, which is now 09:00 CDT = 14:00Z.
SELECT is(
    (SELECT count(*)::integer FROM cadence.touch WHERE enrolment_id = :maria_enrolment),
    8,
    'by Saturday night eight of the nine steps have a touch');
SELECT results_eq(
    $$SELECT status, next_step_no, next_due_at FROM cadence.enrolment WHERE enrolment_id = $$ || :maria_enrolment,
    $$VALUES ('active'::text, 9, '2026-03-08 14:00Z'::timestamptz)$$,
    'step 9 (day 7, anytime) is planned for Sunday 09:00 CDT = 14:00Z, the enrolment time of day after the DST change');

SELECT pg_temp.run_week('2026-03-08 06:00Z', '2026-03-09 15:00Z') AS week_run \gset

-- Every touch of the week, exactly.
SELECT results_eq(
    $$SELECT step_no, channel, planned_at, due_at, defer_reasons, status, outcome
        FROM cadence.touch WHERE enrolment_id = $$ || :maria_enrolment || $$ ORDER BY step_no$$,
    $$VALUES
        (1, 'call'::text,  '2026-03-02 15:00Z'::timestamptz, '2026-03-02 15:00Z'::timestamptz, '{}'::text[], 'done'::text, 'no_answer'::text),
        (2, 'sms',         '2026-03-02 15:05Z', '2026-03-02 15:05Z', '{}', 'done', 'sent'),
        (3, 'email',       '2026-03-02 15:30Z', '2026-03-02 15:30Z', '{}', 'done', 'sent'),
        (4, 'call',        '2026-03-03 15:00Z', '2026-03-03 15:00Z', '{}', 'done', 'no_answer'),
        (5, 'sms',         '2026-03-04 23:00Z', '2026-03-04 23:00Z', '{}', 'done', 'sent'),
        (6, 'video',       '2026-03-05 20:00Z', '2026-03-05 20:00Z', '{}', 'done', 'sent'),
        (7, 'email',       '2026-03-06 15:00Z', '2026-03-06 15:00Z', '{}', 'done', 'sent'),
        (8, 'call',        '2026-03-07 17:00Z', '2026-03-07 17:00Z', '{}', 'done', 'no_answer'),
        (9, 'sms',         '2026-03-08 14:00Z', '2026-03-08 14:00Z', '{}', 'done', 'sent')$$,
    'hot week: call 09:00 CST, text +5 min, email +30 min, day 2 09:00, day 3 17:00, day 4 14:00, day 5 09:00, day 6 11:00 CST, day 7 09:00 CDT');

SELECT is(
    (SELECT due_at FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 9),
    '2026-03-08 09:00:00-05'::timestamptz,
    'the closing text on Sunday 2026-03-08 is due at 09:00 CDT, not 09:00 CST (08:00 CDT)');

SELECT results_eq(
    $$SELECT created_at, claimed_at, completed_at, claimed_by, attempts
        FROM cadence.touch WHERE enrolment_id = $$ || :maria_enrolment || $$ ORDER BY step_no$$,
    $$SELECT due_at, due_at, due_at, 'sender'::text, 1
        FROM cadence.touch WHERE enrolment_id = $$ || :maria_enrolment || $$ ORDER BY step_no$$,
    'each touch is queued, claimed and completed by the 5-minute tick at its due instant, once');

SELECT results_eq(
    $$SELECT as_of, queued FROM tick_log ORDER BY as_of$$,
    $$VALUES ('2026-03-02 15:00Z'::timestamptz, 1), ('2026-03-02 15:05Z', 1), ('2026-03-02 15:30Z', 1),
             ('2026-03-03 15:00Z', 1), ('2026-03-04 23:00Z', 1), ('2026-03-05 20:00Z', 1),
             ('2026-03-06 15:00Z', 1), ('2026-03-07 17:00Z', 1), ('2026-03-08 14:00Z', 1)$$,
    'only the ticks at the nine due instants queue anything, one touch each');

SELECT results_eq(
    $$SELECT step_no, assignee_rep_id FROM cadence.touch WHERE enrolment_id = $$ || :maria_enrolment || $$ ORDER BY step_no$$,
    format($$VALUES (1, %1$s::bigint), (2, NULL), (3, NULL), (4, %1$s), (5, NULL), (6, %1$s), (7, NULL), (8, %1$s), (9, NULL)$$,
           :dana),
    'calls and the video are tasks for the owner Dana (not the on-duty rep); texts and emails have no assignee');

-- Rendered messages.
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 1),
    'Call Maria about the 2024 Toyota RAV4 XLE: it is here, offer a time to see it today.',
    'first call task: lead name and vehicle filled in');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 2),
    'Hi Maria, it''s Dana at Lakeside Motors. I just called about the 2024 Toyota RAV4 XLE and I''m holding it for you. When could you stop by? Reply STOP to opt out.',
    'first SMS: name, rep first name, dealership, vehicle, and the opt-out line');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 5),
    'Hi Maria, the 2024 Toyota RAV4 XLE is still here. Would Thursday at 5 or Saturday at 11 work for a test drive?',
    'second SMS has no opt-out line');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 9),
    'Hi Maria, if the 2024 Toyota RAV4 XLE is still on your list, pick a time this week and I''ll have it ready. If not, no problem.',
    'third SMS has no opt-out line');
SELECT is(
    (SELECT subject FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 3),
    'Your 2024 Toyota RAV4 XLE is ready for a test drive',
    'email subject rendered');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 3),
    E'Hi Maria,\n\nPhotos, specs and pricing for the 2024 Toyota RAV4 XLE are below, with a payment calculator. '
    'Reply with a time that suits you and I will have it ready.\n\nDana Whitfield\n\n'
    'You are receiving this because you contacted Lakeside Motors. To stop these emails, https://lakeside.example/unsubscribe.',
    'first email: rep full name, then the tenant footer with dealership and unsubscribe link');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 7),
    E'Hi Maria,\n\nHere is what your trade could be worth toward the 2024 Toyota RAV4 XLE, with monthly payment options. '
    'Want me to firm it up at a 20-minute appraisal?\n\nDana Whitfield\n\n'
    'You are receiving this because you contacted Lakeside Motors. To stop these emails, https://lakeside.example/unsubscribe.',
    'trade-in email also carries the footer');
SELECT is(
    (SELECT body FROM cadence.touch WHERE enrolment_id = :maria_enrolment AND step_no = 6),
    'Record a 60-second walk-around of the 2024 Toyota RAV4 XLE for Maria and send it.',
    'video task rendered');

-- The cadence's rules move a silent lead on after 7 days (on_silence), so
-- after its last step the enrolment waits for that clock, which runs from
-- the enrolment since Maria never engaged: 7 days after 15:00Z on 2 March it
-- ends with reason silence (there is no warm-30day cadence to move her to in
-- this tenant, so she is not enrolled anywhere else).
SELECT results_eq(
    $$SELECT status, exit_reason, ended_at, next_due_at, move_due_at, move_to FROM cadence.enrolment WHERE lead_id = $$ || :maria,
    $$VALUES ('exited'::text, 'silence'::text, '2026-03-09 15:00Z'::timestamptz, NULL::timestamptz, NULL::timestamptz, 'warm-30day'::text)$$,
    'after the closing text the enrolment waits for the silence clock, then ends');
SELECT is(
    (SELECT count(*)::integer FROM cadence.touch WHERE enrolment_id = :maria_enrolment),
    9,
    'one touch per step, however many ticks ran');

-- The first hour, when the lead responds.  Two leads enrolled on Monday
-- 2026-03-16 at 09:00 CDT (14:00Z): Jamal answers the first call, Ana misses
-- it and then replies to the text.
INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, owner_rep_id, attributes)
VALUES ('crm-1002', 'Jamal', 'Reed', 'jamal.reed@example.com', '+13125550148', 'America/Chicago', :dana,
        '{"vehicle": "2023 Honda CR-V"}')
RETURNING lead_id AS jamal \gset
INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, owner_rep_id, attributes)
VALUES ('crm-1003', 'Ana', 'Kowalski', 'ana.kowalski@example.com', '+13125550149', 'America/Chicago', :dana,
        '{"vehicle": "2022 Ford Escape"}')
RETURNING lead_id AS ana \gset
SELECT cadence.record_consent(:jamal, 'sms', 'grant', 'web_form', '2026-03-16 13:55Z') AS consent_id \gset
SELECT cadence.record_consent(:ana, 'sms', 'grant', 'web_form', '2026-03-16 13:55Z') AS consent_id \gset
SELECT cadence.enroll(:jamal, 'hot-7day', '2026-03-16 14:00Z') AS jamal_enrolment \gset
SELECT cadence.enroll(:ana, 'hot-7day', '2026-03-16 14:00Z') AS ana_enrolment \gset

SELECT is(cadence.tick('2026-03-16 14:00Z'), 2, 'tick at 14:00Z queues both first calls');
SELECT is(
    (SELECT array_agg(lead_id ORDER BY lead_id)
       FROM cadence.claim_touches(ARRAY['call'], 'dialer', 10, '5 minutes', '2026-03-16 14:00Z')),
    ARRAY[:jamal, :ana]::bigint[],
    'the dialer claims both calls');
SELECT cadence.complete_touch(touch_id, 'answered', '{}', '2026-03-16 14:03Z') AS done
  FROM cadence.touch WHERE enrolment_id = :jamal_enrolment AND step_no = 1 \gset
SELECT cadence.complete_touch(touch_id, 'no_answer', '{}', '2026-03-16 14:01Z') AS done
  FROM cadence.touch WHERE enrolment_id = :ana_enrolment AND step_no = 1 \gset

SELECT is(cadence.tick('2026-03-16 14:05Z'), 1, 'tick at 14:05Z queues one text: Ana''s call went unanswered');
SELECT results_eq(
    $$SELECT channel, planned_at, due_at, status, status_reason FROM cadence.touch
       WHERE enrolment_id = $$ || :jamal_enrolment || $$ AND step_no = 2$$,
    $$VALUES ('sms'::text, '2026-03-16 14:05Z'::timestamptz, '2026-03-16 14:05Z'::timestamptz, 'skipped'::text,
              'condition_not_met:previous_call_unanswered'::text)$$,
    'answered call: the text after a missed call is skipped');
SELECT results_eq(
    $$SELECT channel, due_at, status, body FROM cadence.touch WHERE enrolment_id = $$ || :ana_enrolment || $$ AND step_no = 2$$,
    $$VALUES ('sms'::text, '2026-03-16 14:05Z'::timestamptz, 'queued'::text,
              'Hi Ana, it''s Dana at Lakeside Motors. I just called about the 2022 Ford Escape and I''m holding it for you. When could you stop by? Reply STOP to opt out.'::text)$$,
    'unanswered call: the text is queued for 14:05Z, Ana''s first SMS with the opt-out line');

-- Ana replies to the text at 14:20Z, before the email step.
SELECT is(
    (SELECT count(*)::integer FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-16 14:05Z')),
    1,
    'the texter claims Ana''s text');
SELECT cadence.complete_touch(touch_id, 'replied', '{}', '2026-03-16 14:20Z') AS done
  FROM cadence.touch WHERE enrolment_id = :ana_enrolment AND step_no = 2 \gset

SELECT is(cadence.tick('2026-03-16 14:30Z'), 0, 'tick at 14:30Z queues no email: both leads responded');
SELECT results_eq(
    $$SELECT lead_id, channel, planned_at, status, status_reason FROM cadence.touch
       WHERE enrolment_id IN ($$ || :jamal_enrolment || ',' || :ana_enrolment || $$) AND step_no = 3 ORDER BY lead_id$$,
    format($$VALUES (%s::bigint, 'email'::text, '2026-03-16 14:30Z'::timestamptz, 'skipped'::text, 'condition_not_met:no_response'::text),
                    (%s, 'email', '2026-03-16 14:30Z', 'skipped', 'condition_not_met:no_response')$$, :jamal, :ana),
    'a reply (Ana) or an answered call (Jamal) skips the no_response email');
SELECT results_eq(
    $$SELECT status, next_step_no, next_due_at FROM cadence.enrolment
       WHERE enrolment_id IN ($$ || :jamal_enrolment || ',' || :ana_enrolment || $$) ORDER BY enrolment_id$$,
    $$VALUES ('active'::text, 4, '2026-03-17 14:00Z'::timestamptz), ('active', 4, '2026-03-17 14:00Z')$$,
    'skipped steps do not end the cadence: both wait for the day 2 morning call, 09:00 CDT');

SELECT * FROM finish();
ROLLBACK;
