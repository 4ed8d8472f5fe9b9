-- Moves between cadences on silence and on completion (the seed's "zero
-- engagement after 7 days: move to the warm cadence"): a hot cadence with
-- on_silence 7 days moves a silent lead to warm exactly 7 days after it
-- started (exit_reason 'silence', the new enrolment starting at the tick);
-- an open on day 3, or a reply reported on a touch, restarts the 7 days from
-- then; with break_up the break-up text is queued first, through quiet
-- hours, and the move comes one day after it goes out; on_complete moves
-- the lead when the last step's touch goes out (old enrolment completed);
-- a cadence with neither rule completes as before; a lead paused for a
-- rep and resumed still moves on silence.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026): texts may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(51);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;
CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, v.cadence_key, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
  JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id;

INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-JO', 'Jo Castell', true);
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES
    ('S-QUIET',   'Mara',  'mara@example.com',  '+15555550501', 'America/New_York'),
    ('S-OPEN',    'Nils',  'nils@example.com',  '+15555550502', 'America/New_York'),
    ('S-REPLIED', 'Oona',  'oona@example.com',  '+15555550503', 'America/New_York'),
    ('S-BREAKUP', 'Hana',  'hana@example.com',  '+15555550504', 'America/New_York'),
    ('S-CHAIN',   'Piet',  'piet@example.com',  '+15555550505', 'America/New_York'),
    ('S-PLAIN',   'Rhea',  'rhea@example.com',  '+15555550506', 'America/New_York');
SELECT max(lead_id) FILTER (WHERE external_id = 'S-QUIET')   AS quiet,
       max(lead_id) FILTER (WHERE external_id = 'S-OPEN')    AS opened,
       max(lead_id) FILTER (WHERE external_id = 'S-REPLIED') AS replied,
       max(lead_id) FILTER (WHERE external_id = 'S-BREAKUP') AS breakup,
       max(lead_id) FILTER (WHERE external_id = 'S-CHAIN')   AS chain,
       max(lead_id) FILTER (WHERE external_id = 'S-PLAIN')   AS plain
  FROM cadence.lead \gset
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-05 12:00+00')) AS granted
  FROM cadence.lead WHERE external_id IN ('S-BREAKUP', 'S-CHAIN') \gset

SELECT cadence.define_cadence($${
  "key": "sil-warm", "name": "Warm 30-day", "tier": "warm",
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Still looking?", "body": "Here is what is new."}},
    {"channel": "email", "timing": "+2 days", "message": {"subject": "Financing", "body": "Options inside."}}
  ]}$$) AS v_warm \gset
SELECT cadence.define_cadence($${
  "key": "sil-hot", "name": "Hot 7-day", "tier": "hot",
  "rules": {"on_silence": {"after": "7 days", "move_to": "sil-warm"}},
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Your car", "body": "It is here."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Test drive?", "body": "When suits you?"}},
    {"channel": "email", "timing": "+2 days", "message": {"subject": "Trade-in", "body": "Your offer."}}
  ]}$$) AS v_hot \gset
SELECT cadence.define_cadence($${
  "key": "sil-breakup", "name": "Nurture with a break-up text",
  "rules": {"on_silence": {"after": "7 days", "move_to": "sil-warm"},
            "break_up": {"channel": "sms",
                         "message": {"body": "{{first_name|Hi}}, should I keep you posted or pause for now?"}}},
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Thanks for stopping by."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Next steps", "body": "Here are some options."}}
  ]}$$) AS v_breakup \gset
SELECT cadence.define_cadence($${
  "key": "sil-chain", "name": "Short intro, then warm",
  "rules": {"on_complete": {"move_to": "sil-warm"}},
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Thanks for your enquiry."}},
    {"channel": "sms", "timing": "+1 day", "message": {"body": "Did you get my email?"}}
  ]}$$) AS v_chain \gset
SELECT cadence.define_cadence($${
  "key": "sil-plain", "name": "Two emails",
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Thanks."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Hello again", "body": "Any questions?"}}
  ]}$$) AS v_plain \gset

SELECT cadence.enroll(:quiet,   'sil-hot',     '2026-04-06 14:00+00') AS e_quiet \gset
SELECT cadence.enroll(:opened,  'sil-hot',     '2026-04-06 14:00+00') AS e_open \gset
SELECT cadence.enroll(:replied, 'sil-hot',     '2026-04-06 14:00+00') AS e_replied \gset
SELECT cadence.enroll(:plain,   'sil-plain',   '2026-04-06 14:00+00') AS e_plain \gset
-- at midnight in New York
SELECT cadence.enroll(:breakup, 'sil-breakup', '2026-04-06 04:00+00') AS e_breakup \gset
SELECT cadence.enroll(:chain,   'sil-chain',   '2026-04-06 04:00+00') AS e_chain \gset

SELECT results_eq(
    $$SELECT external_id, move_due_at, move_to, move_reason FROM lead_enrolment ORDER BY enrolment_id$$,
    $$VALUES ('S-QUIET',   '2026-04-13 14:00+00'::timestamptz, 'sil-warm', 'silence'),
             ('S-OPEN',    '2026-04-13 14:00+00'::timestamptz, 'sil-warm', 'silence'),
             ('S-REPLIED', '2026-04-13 14:00+00'::timestamptz, 'sil-warm', 'silence'),
             ('S-PLAIN',   NULL::timestamptz, NULL, NULL),
             ('S-BREAKUP', '2026-04-13 04:00+00'::timestamptz, 'sil-warm', 'silence'),
             ('S-CHAIN',   NULL::timestamptz, NULL, NULL)$$,
    'on_silence sets the move 7 days after enrolment; other cadences have none yet');

SELECT is(cadence.tick('2026-04-06 14:00+00'), 6, 'tick on April 6 queues six first emails');
-- ---------------------------------------------------------------------------
-- on_complete: the move waits until the last touch goes out.
SELECT is(cadence.tick('2026-04-07 04:00+00'), 2, 'tick at midnight in New York queues two second steps');
SELECT row_eq(
    $$SELECT channel, status, planned_at, due_at, defer_reasons FROM lead_touch WHERE external_id = 'S-CHAIN' AND step_no = 2$$,
    ROW('sms'::text, 'queued'::text, '2026-04-07 04:00+00'::timestamptz, '2026-04-07 13:00+00'::timestamptz, '{quiet_hours}'::text[]),
    'the last text of the short cadence waits for 09:00 in New York');
SELECT row_eq(
    $$SELECT status, next_due_at, move_due_at, move_to, move_reason FROM lead_enrolment WHERE external_id = 'S-CHAIN'$$,
    ROW('active'::text, NULL::timestamptz, '2026-04-07 13:00+00'::timestamptz, 'sil-warm'::text, 'cadence_completed'::text),
    'the enrolment stays active until that text goes out, then moves');
SELECT is(cadence.tick('2026-04-07 12:59:59+00'), 0, 'tick one second before the text goes out');
SELECT is((SELECT count(*) FROM lead_enrolment WHERE external_id = 'S-CHAIN'), 1::bigint, 'no move yet');
SELECT is(cadence.tick('2026-04-07 13:00+00'), 1, 'tick when the text goes out queues the first warm email');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at, previous_enrolment_id, move_due_at FROM lead_enrolment
       WHERE external_id = 'S-CHAIN' ORDER BY enrolment_id$$,
    format($$VALUES ('sil-chain', 'completed', 'cadence_completed', '2026-04-06 04:00+00'::timestamptz,
                     '2026-04-07 13:00+00'::timestamptz, NULL::bigint, NULL::timestamptz),
                    ('sil-warm', 'active', NULL, '2026-04-07 13:00+00'::timestamptz, NULL::timestamptz, %s::bigint,
                     NULL::timestamptz)$$, :e_chain),
    'on_complete: the old enrolment completes and the lead starts on warm at that moment, linked back');
SELECT results_eq(
    $$SELECT t.step_no, t.status, t.due_at FROM lead_touch t JOIN lead_enrolment e USING (enrolment_id)
       WHERE t.external_id = 'S-CHAIN' ORDER BY t.touch_id$$,
    $$VALUES (1, 'queued', '2026-04-06 04:00+00'::timestamptz), (2, 'queued', '2026-04-07 13:00+00'::timestamptz),
             (1, 'queued', '2026-04-07 13:00+00'::timestamptz)$$,
    'the last text is still there to be sent, and the first warm email is queued at the move');

-- Without on_silence or on_complete the cadence simply completes.
SELECT is(cadence.tick('2026-04-07 14:00+00'), 4, 'tick at 14:00 on April 7 queues four second emails');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at, move_due_at FROM lead_enrolment WHERE external_id = 'S-PLAIN'$$,
    $$VALUES ('sil-plain', 'completed', 'cadence_completed', '2026-04-07 14:00+00'::timestamptz, NULL::timestamptz)$$,
    'a cadence without on_silence or on_complete completes after its last step, no move');

-- Engagement restarts the silence clock.
SELECT cadence.record_event(:opened, 'email_open', '2026-04-08 16:30+00') AS ev_open \gset
SELECT outcome AS ignored FROM cadence.complete_touch(
    (SELECT touch_id FROM lead_touch WHERE external_id = 'S-REPLIED' AND step_no = 2), 'replied', '{}', '2026-04-08 18:00+00') \gset
SELECT results_eq(
    $$SELECT e.external_id, l.last_engagement_at, e.move_due_at
        FROM lead_enrolment e JOIN cadence.lead l USING (lead_id)
       WHERE e.external_id IN ('S-QUIET', 'S-OPEN', 'S-REPLIED') ORDER BY 1$$,
    $$VALUES ('S-OPEN',    '2026-04-08 16:30+00'::timestamptz, '2026-04-13 14:00+00'::timestamptz),
             ('S-QUIET',   NULL,                               '2026-04-13 14:00+00'::timestamptz),
             ('S-REPLIED', '2026-04-08 18:00+00'::timestamptz, '2026-04-13 14:00+00'::timestamptz)$$,
    'an open and a reply on day 3 are the leads'' last engagement; the enrolments keep the earliest move time');
SELECT is(cadence.tick('2026-04-08 14:00+00'), 3, 'tick on April 8 queues the third hot emails');
SELECT results_eq(
    $$SELECT external_id, status, next_step_no, next_due_at FROM lead_enrolment
       WHERE external_id IN ('S-QUIET', 'S-OPEN', 'S-REPLIED') ORDER BY 1$$,
    $$VALUES ('S-OPEN', 'active', 4, NULL::timestamptz), ('S-QUIET', 'active', 4, NULL::timestamptz),
             ('S-REPLIED', 'active', 4, NULL::timestamptz)$$,
    'after their last step hot enrolments stay active, waiting for the silence move');
-- Mara's first two emails went out; the third is still queued.
SELECT count(cadence.complete_touch(touch_id, 'delivered', '{}', '2026-04-08 14:05+00')) AS delivered
  FROM lead_touch WHERE external_id = 'S-QUIET' AND step_no IN (1, 2) \gset

-- ---------------------------------------------------------------------------
-- Break-up first: at the silence time (midnight in New York) the break-up
-- text is queued for 09:00; the move comes a day after it goes out.
SELECT is(cadence.tick('2026-04-13 04:00+00'), 2, 'tick at the silence time queues the break-up text and a warm email');
SELECT row_eq(
    $$SELECT step_no, channel, status, planned_at, due_at, defer_reasons, body FROM lead_touch
       WHERE external_id = 'S-BREAKUP' AND step_no = 3$$,
    ROW(3, 'sms'::text, 'queued'::text, '2026-04-13 04:00+00'::timestamptz, '2026-04-13 13:00+00'::timestamptz,
        '{quiet_hours}'::text[], 'Hana, should I keep you posted or pause for now? Reply STOP to opt out.'::text),
    'the break-up text is queued at the silence time, deferred to 09:00 by quiet hours, with the opt-out line');
SELECT row_eq(
    $$SELECT status, next_step_no, next_due_at, move_due_at FROM lead_enrolment WHERE external_id = 'S-BREAKUP'$$,
    ROW('active'::text, 4, NULL::timestamptz, '2026-04-14 13:00+00'::timestamptz),
    'the move is set for one day after the break-up text goes out');
SELECT touch_id AS t_breakup FROM lead_touch WHERE external_id = 'S-BREAKUP' AND step_no = 3 \gset
SELECT is((SELECT status FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '5 minutes', '2026-04-13 13:00+00')
            WHERE touch_id = :t_breakup), 'claimed', 'the SMS sender takes it at 09:00');
SELECT is((SELECT status FROM cadence.complete_touch(:t_breakup, 'delivered', '{}', '2026-04-13 13:00+00')), 'done',
          'and reports it delivered');

-- ---------------------------------------------------------------------------
-- The silent hot lead moves exactly 7 days after it started.
SELECT is(cadence.tick('2026-04-13 13:59:59+00'), 0, 'tick one second before the silence time of the hot leads');
SELECT is((SELECT status FROM lead_enrolment WHERE external_id = 'S-QUIET'), 'active', 'no move one second early');
SELECT is(cadence.tick('2026-04-13 14:00+00'), 1, 'tick at the silence time queues the first warm email');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at, previous_enrolment_id, next_due_at FROM lead_enrolment
       WHERE external_id = 'S-QUIET' ORDER BY enrolment_id$$,
    format($$VALUES ('sil-hot', 'exited', 'silence', '2026-04-06 14:00+00'::timestamptz, '2026-04-13 14:00+00'::timestamptz,
                     NULL::bigint, NULL::timestamptz),
                    ('sil-warm', 'active', NULL, '2026-04-13 14:00+00'::timestamptz, NULL::timestamptz, %s::bigint,
                     '2026-04-15 14:00+00'::timestamptz)$$, :e_quiet),
    'silence: the hot enrolment exits at the tick and a warm one starts then, linked back');
SELECT results_eq(
    $$SELECT t.step_no, t.status, t.status_reason FROM lead_touch t WHERE t.external_id = 'S-QUIET' AND t.enrolment_id = $$ || :e_quiet || $$
       ORDER BY t.step_no$$,
    $$VALUES (1, 'done', NULL::text), (2, 'done', NULL), (3, 'cancelled', 'moved_on_silence')$$,
    'the unsent hot email is cancelled (moved_on_silence), the sent ones stay done');
SELECT results_eq(
    $$SELECT external_id, status FROM lead_enrolment WHERE external_id IN ('S-OPEN', 'S-REPLIED') ORDER BY 1$$,
    $$VALUES ('S-OPEN', 'active'), ('S-REPLIED', 'active')$$,
    'the leads who engaged on day 3 stay on hot');
SELECT results_eq(
    $$SELECT external_id, move_due_at FROM lead_enrolment WHERE external_id IN ('S-OPEN', 'S-REPLIED') ORDER BY 1$$,
    $$VALUES ('S-OPEN',    '2026-04-15 16:30+00'::timestamptz),
             ('S-REPLIED', '2026-04-15 18:00+00'::timestamptz)$$,
    'the tick that found them too early set their moves to 7 days after the open and the reply');

-- The break-up lead moves a day after its text went out.
SELECT is(cadence.tick('2026-04-14 12:59:59+00'), 0, 'tick one second before a day after the break-up text');
SELECT is(cadence.tick('2026-04-14 13:00+00'), 1, 'tick a day after the break-up text');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at, enrolled_at, previous_enrolment_id FROM lead_enrolment
       WHERE external_id = 'S-BREAKUP' ORDER BY enrolment_id$$,
    format($$VALUES ('sil-breakup', 'exited', 'silence', '2026-04-14 13:00+00'::timestamptz,
                     '2026-04-06 04:00+00'::timestamptz, NULL::bigint),
                    ('sil-warm', 'active', NULL, NULL::timestamptz, '2026-04-14 13:00+00'::timestamptz, %s::bigint)$$, :e_breakup),
    'after the break-up text the lead moves to warm');

-- Engaged on day 3: moves at day 3 + 7 days, to the second.
SELECT is(cadence.tick('2026-04-15 16:29:59+00'), 1, 'tick one second before: only a warm second email is queued');
SELECT is((SELECT status FROM lead_enrolment WHERE external_id = 'S-OPEN' AND cadence_key = 'sil-hot'), 'active',
          'the lead who opened on day 3 is still on hot');
SELECT lives_ok($$SELECT cadence.tick('2026-04-15 16:30+00')$$, 'tick at 16:30 on April 15');
SELECT results_eq(
    $$SELECT external_id, cadence_key, status, exit_reason, enrolled_at, ended_at FROM lead_enrolment
       WHERE external_id IN ('S-OPEN', 'S-REPLIED') ORDER BY 1, enrolment_id$$,
    $$VALUES ('S-OPEN',    'sil-hot',  'exited', 'silence', '2026-04-06 14:00+00'::timestamptz, '2026-04-15 16:30+00'::timestamptz),
             ('S-OPEN',    'sil-warm', 'active', NULL,      '2026-04-15 16:30+00'::timestamptz, NULL::timestamptz),
             ('S-REPLIED', 'sil-hot',  'active', NULL,      '2026-04-06 14:00+00'::timestamptz, NULL::timestamptz)$$,
    'the lead who opened on day 3 moves 7 days after the open; the one who replied later not yet');
-- ---------------------------------------------------------------------------
-- A lead handed to a rep and put back keeps its silence rule: whether it was
-- paused before or after the last step, the tick eventually moves it to warm.
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES
    ('S-RESUME-MID', 'Sami', 'sami@example.com', '+15555550507', 'America/New_York'),
    ('S-RESUME-END', 'Tove', 'tove@example.com', '+15555550508', 'America/New_York');
SELECT cadence.enroll(lead_id, 'sil-hot', '2026-05-04 14:00+00') AS e_resume_mid FROM cadence.lead WHERE external_id = 'S-RESUME-MID' \gset
SELECT cadence.enroll(lead_id, 'sil-hot', '2026-05-04 14:00+00') AS e_resume_end FROM cadence.lead WHERE external_id = 'S-RESUME-END' \gset
SELECT lives_ok($$SELECT cadence.tick('2026-05-04 14:00+00')$$, 'tick on May 4');
SELECT cadence.record_event(lead_id, 'email_reply', '2026-05-04 15:00+00', NULL, '{"body": "Call me next week"}') AS ev_mid
  FROM cadence.lead WHERE external_id = 'S-RESUME-MID' \gset
SELECT row_eq(
    format($$SELECT status, next_step_no, next_due_at FROM cadence.resume_enrolment(%s, '2026-05-04 16:00+00')$$, :e_resume_mid),
    ROW('active'::text, 2, '2026-05-05 14:00+00'::timestamptz),
    'a lead paused on day 1 is put back before its second step');
SELECT lives_ok($$SELECT cadence.tick('2026-05-06 14:00+00')$$, 'tick on May 6 runs the remaining steps of both');
SELECT cadence.record_event(lead_id, 'email_reply', '2026-05-06 15:00+00', NULL, '{"body": "Thanks, will call"}') AS ev_end
  FROM cadence.lead WHERE external_id = 'S-RESUME-END' \gset
SELECT row_eq(
    format($$SELECT status, paused_at FROM cadence.enrolment WHERE enrolment_id = %s$$, :e_resume_end),
    ROW('paused'::text, '2026-05-06 15:00+00'::timestamptz),
    'the other lead replies after the last step and is paused');
SELECT is((SELECT status FROM cadence.resume_enrolment(:e_resume_end, '2026-05-06 16:00+00')), 'active',
          'put back after its last step, it waits for the silence move (on_silence, no on_complete)');
SELECT lives_ok($$SELECT cadence.tick('2026-06-01 14:00+00')$$, 'tick on June 1, weeks after any silence time');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at FROM lead_enrolment
       WHERE external_id = 'S-RESUME-MID' ORDER BY enrolment_id$$,
    $$VALUES ('sil-hot',  'exited', 'silence', '2026-06-01 14:00+00'::timestamptz),
             ('sil-warm', 'active', NULL,      NULL::timestamptz)$$,
    'the lead resumed before its last step has moved to warm on silence');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at FROM lead_enrolment
       WHERE external_id = 'S-RESUME-END' ORDER BY enrolment_id$$,
    $$VALUES ('sil-hot',  'exited', 'silence', '2026-06-01 14:00+00'::timestamptz),
             ('sil-warm', 'active', NULL,      NULL::timestamptz)$$,
    'the lead resumed after its last step has moved to warm on silence');

-- ---------------------------------------------------------------------------
-- An open after the break-up text was queued, before the move a day after
-- it: the move comes 7 days after the open instead, to the second.
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
VALUES ('S-LATE', 'Lea', 'lea@example.com', '+15555550509', 'America/New_York');
SELECT cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-07-06 12:00+00') AS late_consent
  FROM cadence.lead WHERE external_id = 'S-LATE' \gset
SELECT cadence.enroll(lead_id, 'sil-breakup', '2026-07-06 14:00+00') AS e_late FROM cadence.lead WHERE external_id = 'S-LATE' \gset
SELECT lives_ok($$SELECT cadence.tick('2026-07-07 14:00+00')$$, 'ticks queue the two emails');
SELECT lives_ok($$SELECT cadence.tick('2026-07-13 14:00+00')$$, 'tick at the silence time queues the break-up text');
SELECT row_eq(
    format($$SELECT status, next_step_no, move_due_at FROM cadence.enrolment WHERE enrolment_id = %s$$, :e_late),
    ROW('active'::text, 4, '2026-07-14 14:00+00'::timestamptz),
    'the move is set for a day after the break-up text');
SELECT cadence.record_event(lead_id, 'email_open', '2026-07-13 20:00+00') AS ev_late
  FROM cadence.lead WHERE external_id = 'S-LATE' \gset
SELECT lives_ok($$SELECT cadence.tick('2026-07-14 14:00+00')$$, 'tick a day after the break-up text');
SELECT row_eq(
    format($$SELECT status, move_due_at FROM cadence.enrolment WHERE enrolment_id = %s$$, :e_late),
    ROW('active'::text, '2026-07-20 20:00+00'::timestamptz),
    'the lead opened since: no move, set for 7 days after the open');
SELECT lives_ok($$SELECT cadence.tick('2026-07-20 19:59:59+00')$$, 'tick one second before');
SELECT is((SELECT status FROM cadence.enrolment WHERE enrolment_id = :e_late), 'active', 'still on its cadence');
SELECT lives_ok($$SELECT cadence.tick('2026-07-20 20:00+00')$$, 'tick 7 days after the open');
SELECT row_eq(
    format($$SELECT status, exit_reason, ended_at FROM cadence.enrolment WHERE enrolment_id = %s$$, :e_late),
    ROW('exited'::text, 'silence'::text, '2026-07-20 20:00+00'::timestamptz),
    'moves on silence 7 days after the open');
SELECT * FROM finish();
ROLLBACK;
