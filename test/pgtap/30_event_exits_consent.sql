-- Engagement events that end an enrolment or change consent: appointment_set,
-- sold, lost and opt_out exit the enrolment at the event's time and cancel
-- its queued and claimed touches in the same transaction; a cadence whose
-- exit_on leaves out appointment_set keeps going; unsubscribe revokes email
-- only; STOP-like SMS replies revoke SMS (ledger method 'event:sms_stop'),
-- a reply that merely starts with "Stop" does not; START grants SMS again
-- and later texts are queued; a global opt_out blocks enrolment; a text
-- claimed before a STOP is reported as suppressed.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026): texts and calls may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(39);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;
CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id;
CREATE TEMP VIEW lead_consent AS
SELECT l.external_id, c.*
  FROM cadence.consent c
  JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = c.lead_id;

INSERT INTO cadence.rep (external_id, name, phone, email, on_duty)
VALUES ('R-NOAH', 'Noah Brandt', '+15555550200', 'noah@lakeside.example', true);

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, attributes) VALUES
    ('X-APPT',    'Ava',    'ava@example.com',    '+15555550201', 'America/New_York', '{"vehicle": "2025 Camry"}'),
    ('X-SOLD',    'Ben',    'ben@example.com',    '+15555550202', 'America/New_York', '{"vehicle": "2025 Camry"}'),
    ('X-LOST',    'Cleo',   'cleo@example.com',   '+15555550203', 'America/New_York', '{"vehicle": "2025 Camry"}'),
    ('X-OPT',     'Dev',    'dev@example.com',    '+15555550204', 'America/New_York', '{"vehicle": "2025 Camry"}'),
    ('X-KEEP',    'Elena',  'elena@example.com',  '+15555550205', 'America/New_York', '{"vehicle": "2025 Camry"}'),
    ('X-UNSUB',   'Farid',  'farid@example.com',  '+15555550206', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-STOP',    'Gwen',   'gwen@example.com',   '+15555550207', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-STOPBANG','Hiro',   'hiro@example.com',   '+15555550208', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-OPTOUT',  'Ines',   'ines@example.com',   '+15555550209', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-STOPALL', 'Jamal',  'jamal@example.com',  '+15555550210', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-SATURDAY','Kira',   'kira@example.com',   '+15555550211', 'America/New_York', '{"vehicle": "2024 Sienna"}'),
    ('X-START',   'Liam',   'liam@example.com',   '+15555550212', 'America/New_York', '{"vehicle": "2024 Sienna"}');
SELECT max(lead_id) FILTER (WHERE external_id = 'X-APPT')     AS appt,
       max(lead_id) FILTER (WHERE external_id = 'X-SOLD')     AS sold,
       max(lead_id) FILTER (WHERE external_id = 'X-LOST')     AS lost,
       max(lead_id) FILTER (WHERE external_id = 'X-OPT')      AS opt,
       max(lead_id) FILTER (WHERE external_id = 'X-KEEP')     AS keep,
       max(lead_id) FILTER (WHERE external_id = 'X-UNSUB')    AS unsub,
       max(lead_id) FILTER (WHERE external_id = 'X-STOP')     AS stop,
       max(lead_id) FILTER (WHERE external_id = 'X-STOPBANG') AS stopbang,
       max(lead_id) FILTER (WHERE external_id = 'X-OPTOUT')   AS optout,
       max(lead_id) FILTER (WHERE external_id = 'X-STOPALL')  AS stopall,
       max(lead_id) FILTER (WHERE external_id = 'X-SATURDAY') AS saturday,
       max(lead_id) FILTER (WHERE external_id = 'X-START')    AS start
  FROM cadence.lead \gset

-- Email, then a call task, then email the next day.  No rules: the kinds'
-- defaults decide (appointment_set, appointment_show, sold, lost, opt_out exit).
SELECT cadence.define_cadence($${
  "key": "exit-showroom", "name": "Showroom follow-up",
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Your {{attr.vehicle|vehicle}}", "body": "Photos and pricing inside."}},
    {"channel": "call", "timing": "+5 minutes", "message": {"body": "Call {{first_name|the customer}}."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Still looking?", "body": "Any questions?"}}
  ]}$$) AS v_showroom \gset
-- The same steps, but a booked appointment does not end it.
SELECT cadence.define_cadence($${
  "key": "exit-narrow", "name": "Follow-up until sold",
  "rules": {"exit_on": ["sold", "lost", "opt_out"]},
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Your {{attr.vehicle|vehicle}}", "body": "Photos and pricing inside."}},
    {"channel": "call", "timing": "+5 minutes", "message": {"body": "Call {{first_name|the customer}}."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Still looking?", "body": "Any questions?"}}
  ]}$$) AS v_narrow \gset
-- Text first, email, then two more texts.
SELECT cadence.define_cadence($${
  "key": "exit-text", "name": "Text-first follow-up",
  "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, the {{attr.vehicle}} is ready."}},
    {"channel": "email", "timing": "+5 minutes", "message": {"subject": "Your {{attr.vehicle}}", "body": "Details inside."}},
    {"channel": "sms", "timing": "+1 day", "message": {"body": "Still interested?"}},
    {"channel": "sms", "timing": "+2 days", "message": {"body": "Last check-in."}}
  ]}$$) AS v_text \gset

-- ---------------------------------------------------------------------------
-- Exit events.  Four leads start at 14:00 UTC (10:00 in New York); at 14:10
-- each has its email and call queued, and the email sender claims the emails.
SELECT cadence.enroll(:appt, 'exit-showroom', '2026-04-06 14:00+00') AS e_appt \gset
SELECT cadence.enroll(:sold, 'exit-showroom', '2026-04-06 14:00+00') AS e_sold \gset
SELECT cadence.enroll(:lost, 'exit-showroom', '2026-04-06 14:00+00') AS e_lost \gset
SELECT cadence.enroll(:opt,  'exit-showroom', '2026-04-06 14:00+00') AS e_opt \gset
SELECT cadence.enroll(:keep, 'exit-narrow',   '2026-04-06 14:00+00') AS e_keep \gset
SELECT is(cadence.tick('2026-04-06 14:10+00'), 10, 'tick at 14:10 queues an email and a call for each of five leads');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{email}', 'mailer', 10, '5 minutes', '2026-04-06 14:10+00')),
          5::bigint, 'the email sender claims the five emails');

SELECT cadence.record_event(:appt, 'appointment_set', '2026-04-06 14:12+00') AS ev_appt \gset
SELECT cadence.record_event(:sold, 'sold',            '2026-04-06 14:13+00') AS ev_sold \gset
SELECT cadence.record_event(:lost, 'lost',            '2026-04-06 14:14+00') AS ev_lost \gset
SELECT cadence.record_event(:opt,  'opt_out',         '2026-04-06 14:15+00', payload => '{"note": "asked on the phone"}') AS ev_opt \gset
SELECT cadence.record_event(:keep, 'appointment_set', '2026-04-06 14:16+00') AS ev_keep \gset

SELECT results_eq(
    $$SELECT external_id, status, exit_reason, ended_at, next_due_at FROM lead_enrolment
       WHERE external_id IN ('X-APPT', 'X-SOLD', 'X-LOST', 'X-OPT') ORDER BY external_id$$,
    $$VALUES ('X-APPT', 'exited', 'appointment_set', '2026-04-06 14:12+00'::timestamptz, NULL::timestamptz),
             ('X-LOST', 'exited', 'lost',            '2026-04-06 14:14+00'::timestamptz, NULL::timestamptz),
             ('X-OPT',  'exited', 'opt_out',         '2026-04-06 14:15+00'::timestamptz, NULL::timestamptz),
             ('X-SOLD', 'exited', 'sold',            '2026-04-06 14:13+00'::timestamptz, NULL::timestamptz)$$,
    'appointment_set, sold, lost and opt_out exit the enrolment with the kind as reason, ended at the event time');
SELECT results_eq(
    $$SELECT external_id, step_no, channel, status, status_reason, lease_until FROM lead_touch
       WHERE external_id IN ('X-APPT', 'X-SOLD', 'X-LOST', 'X-OPT') ORDER BY external_id, step_no$$,
    $$VALUES ('X-APPT', 1, 'email', 'cancelled', 'appointment_set', NULL::timestamptz),
             ('X-APPT', 2, 'call',  'cancelled', 'appointment_set', NULL::timestamptz),
             ('X-LOST', 1, 'email', 'cancelled', 'lost',            NULL::timestamptz),
             ('X-LOST', 2, 'call',  'cancelled', 'lost',            NULL::timestamptz),
             ('X-OPT',  1, 'email', 'cancelled', 'opt_out',         NULL::timestamptz),
             ('X-OPT',  2, 'call',  'cancelled', 'opt_out',         NULL::timestamptz),
             ('X-SOLD', 1, 'email', 'cancelled', 'sold',            NULL::timestamptz),
             ('X-SOLD', 2, 'call',  'cancelled', 'sold',            NULL::timestamptz)$$,
    'the claimed email and the queued call are cancelled with the kind as reason, leases dropped');
-- opt_out is also a global revoke in the consent ledger.
SELECT results_eq(
    $$SELECT channel, action, method, recorded_at, recorded_by, evidence FROM lead_consent
       WHERE external_id = 'X-OPT'$$,
    format($$VALUES ('all', 'revoke', 'event:opt_out', '2026-04-06 14:15+00'::timestamptz, 'cadence.event',
                     '{"event_id": %s, "source": "crm"}'::jsonb)$$, :ev_opt),
    'opt_out writes a global revoke to the ledger, with the event as evidence');
SELECT is((SELECT count(*) FROM lead_consent WHERE external_id IN ('X-APPT', 'X-SOLD', 'X-LOST')), 0::bigint,
          'appointment_set, sold and lost write no consent');
SELECT throws_ok(
    format($$SELECT cadence.enroll(%s, 'exit-text', '2026-04-06 16:00+00')$$, :opt),
    '55000', format('lead %s has opted out of all contact', :opt),
    'a lead who sent opt_out cannot be enrolled again');
SELECT lives_ok(
    format($$SELECT cadence.enroll(%s, 'exit-text', '2026-04-06 16:00+00')$$, :sold),
    'a lead who bought can be enrolled in another cadence');

-- exit_on without appointment_set: the booked appointment does not end it.
SELECT row_eq(
    $$SELECT status, exit_reason, ended_at, next_due_at FROM lead_enrolment WHERE external_id = 'X-KEEP'$$,
    ROW('active'::text, NULL::text, NULL::timestamptz, '2026-04-07 14:00+00'::timestamptz),
    'on a cadence whose exit_on omits appointment_set the enrolment stays active, next step still planned');
SELECT results_eq(
    $$SELECT step_no, status FROM lead_touch WHERE external_id = 'X-KEEP' ORDER BY step_no$$,
    $$VALUES (1, 'claimed'), (2, 'queued')$$,
    'and its claimed email and queued call are left alone');

-- Half an hour later the leases have run out: only that lead's touches are
-- handed out again, none of the cancelled ones.
SELECT results_eq(
    $$SELECT l.external_id, c.step_no, c.attempts
        FROM cadence.claim_touches('{email,call}', 'mailer', 20, '5 minutes', '2026-04-06 14:30+00') c
        JOIN cadence.lead l ON l.lead_id = c.lead_id
       WHERE l.external_id LIKE 'X-%' ORDER BY c.step_no$$,
    $$VALUES ('X-KEEP', 1, 2), ('X-KEEP', 2, 1)$$,
    'no cancelled touch of an exited lead is handed to a sender again, even after its lease ran out');

-- The next day only the lead who kept going gets the third step (the lead
-- who bought gets the email of exit-text; its first text, without SMS
-- consent, is skipped).
SELECT is(cadence.tick('2026-04-07 14:00+00'), 2, 'tick the next day queues two touches');
SELECT results_eq(
    $$SELECT external_id, step_no, status FROM lead_touch WHERE step_no = 3 AND external_id LIKE 'X-%' ORDER BY 1$$,
    $$VALUES ('X-KEEP', 3, 'queued')$$,
    'exited enrolments get no further touches');

-- ---------------------------------------------------------------------------
-- Consent by event.  Seven leads opted in to texts; they start at 14:00 on
-- April 8 and at 14:10 the SMS sender claims their first texts.
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-08 12:00+00')) AS granted
  FROM cadence.lead WHERE external_id IN ('X-UNSUB', 'X-STOP', 'X-STOPBANG', 'X-OPTOUT', 'X-STOPALL', 'X-SATURDAY', 'X-START') \gset
SELECT count(cadence.enroll(lead_id, 'exit-text', '2026-04-08 14:00+00')) AS enrolled
  FROM cadence.lead WHERE external_id IN ('X-UNSUB', 'X-STOP', 'X-STOPBANG', 'X-OPTOUT', 'X-STOPALL', 'X-SATURDAY', 'X-START') \gset
SELECT is(cadence.tick('2026-04-08 14:10+00'), 14, 'tick at 14:10 queues a text and an email for each of seven leads');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '5 minutes', '2026-04-08 14:10+00')),
          7::bigint, 'the SMS sender claims the seven first texts');
SELECT touch_id AS t_stop1 FROM lead_touch WHERE external_id = 'X-STOP' AND step_no = 1 \gset
SELECT touch_id AS t_unsub1 FROM lead_touch WHERE external_id = 'X-UNSUB' AND step_no = 1 \gset

-- unsubscribe: email revoked, texts go on.
SELECT cadence.record_event(:unsub, 'unsubscribe', '2026-04-08 14:20+00', source => 'mailer', provider_id => 'unsub-1') AS ev_unsub \gset
SELECT results_eq(
    $$SELECT channel, action, method, recorded_at, recorded_by = 'cadence.event' FROM lead_consent
       WHERE external_id = 'X-UNSUB' ORDER BY consent_id$$,
    $$VALUES ('sms', 'grant', 'web_form', '2026-04-08 12:00+00'::timestamptz, false),
             ('email', 'revoke', 'event:unsubscribe', '2026-04-08 14:20+00'::timestamptz, true)$$,
    'unsubscribe appends an email revoke to the ledger');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason FROM lead_touch WHERE external_id = 'X-UNSUB' ORDER BY step_no$$,
    $$VALUES (1, 'sms', 'claimed', NULL), (2, 'email', 'cancelled', 'opted_out')$$,
    'unsubscribe cancels the queued email and leaves the claimed text alone');
SELECT is((SELECT status FROM lead_enrolment WHERE external_id = 'X-UNSUB'), 'active',
          'unsubscribe does not end the enrolment');
SELECT is((SELECT status FROM cadence.complete_touch(:t_unsub1, 'delivered', '{}', '2026-04-08 14:21+00')), 'done',
          'the text claimed before the unsubscribe is delivered normally');

-- STOP-like replies.
SELECT cadence.record_event(:stop,     'sms_reply', '2026-04-08 14:20+00', :t_stop1, '{"body": "STOP"}') AS ev_stop \gset
SELECT cadence.record_event(:stopbang, 'sms_reply', '2026-04-08 14:21+00', NULL, '{"body": "stop!"}') AS ev_stopbang \gset
SELECT cadence.record_event(:optout,   'sms_reply', '2026-04-08 14:22+00', NULL, '{"body": " Opt out "}') AS ev_optout \gset
SELECT cadence.record_event(:stopall,  'sms_reply', '2026-04-08 14:23+00', NULL, '{"body": "STOPALL"}', 'twilio', 'SM-stopall') AS ev_stopall \gset
SELECT cadence.record_event(:saturday, 'sms_reply', '2026-04-08 14:24+00', NULL, '{"body": "Stop by Saturday?"}') AS ev_saturday \gset
SELECT results_eq(
    $$SELECT external_id, channel, action, method, recorded_at, recorded_by FROM lead_consent
       WHERE external_id IN ('X-STOP', 'X-STOPBANG', 'X-OPTOUT', 'X-STOPALL', 'X-SATURDAY') AND action = 'revoke'
       ORDER BY external_id$$,
    $$VALUES ('X-OPTOUT',   'sms', 'revoke', 'event:sms_stop', '2026-04-08 14:22+00'::timestamptz, 'cadence.event'),
             ('X-STOP',     'sms', 'revoke', 'event:sms_stop', '2026-04-08 14:20+00'::timestamptz, 'cadence.event'),
             ('X-STOPALL',  'sms', 'revoke', 'event:sms_stop', '2026-04-08 14:23+00'::timestamptz, 'cadence.event'),
             ('X-STOPBANG', 'sms', 'revoke', 'event:sms_stop', '2026-04-08 14:21+00'::timestamptz, 'cadence.event')$$,
    '"STOP", "stop!", " Opt out " and "STOPALL" each revoke SMS in the ledger; "Stop by Saturday?" does not');
SELECT is((SELECT evidence FROM lead_consent WHERE external_id = 'X-STOPALL' AND action = 'revoke'),
          jsonb_build_object('event_id', :ev_stopall, 'source', 'twilio'),
          'the ledger row names the event and its source');
SELECT results_eq(
    $$SELECT external_id, step_no, status, status_reason, lease_until FROM lead_touch
       WHERE external_id IN ('X-STOP', 'X-STOPBANG', 'X-OPTOUT', 'X-STOPALL') ORDER BY external_id, step_no$$,
    $$VALUES ('X-OPTOUT',   1, 'cancelled', 'opted_out', NULL::timestamptz), ('X-OPTOUT',   2, 'queued', NULL, NULL),
             ('X-STOP',     1, 'cancelled', 'opted_out', NULL::timestamptz), ('X-STOP',     2, 'queued', NULL, NULL),
             ('X-STOPALL',  1, 'cancelled', 'opted_out', NULL::timestamptz), ('X-STOPALL',  2, 'queued', NULL, NULL),
             ('X-STOPBANG', 1, 'cancelled', 'opted_out', NULL::timestamptz), ('X-STOPBANG', 2, 'queued', NULL, NULL)$$,
    'a STOP cancels the claimed text and leaves the email queued');
SELECT results_eq(
    $$SELECT external_id, status, exit_reason FROM lead_enrolment
       WHERE external_id IN ('X-STOP', 'X-STOPBANG', 'X-OPTOUT', 'X-STOPALL') ORDER BY external_id$$,
    $$VALUES ('X-OPTOUT', 'active', NULL::text), ('X-STOP', 'active', NULL),
             ('X-STOPALL', 'active', NULL), ('X-STOPBANG', 'active', NULL)$$,
    'a STOP is an SMS opt-out, not a conversation: the enrolments stay active');
SELECT is((SELECT count(*) FROM cadence.alert WHERE lead_id IN (:stop, :stopbang, :optout, :stopall)), 0::bigint,
          'a STOP raises no hand-off alert');
SELECT is((SELECT count(*) FROM cadence.lead
            WHERE lead_id IN (:stop, :stopbang, :optout, :stopall)
              AND (preferred_channel IS NOT NULL OR last_response_at IS NOT NULL)), 0::bigint,
          'a STOP neither makes SMS the preferred channel nor counts as a response');
SELECT results_eq(
    $$SELECT count(*) FILTER (WHERE action = 'revoke'), (SELECT status FROM lead_enrolment WHERE external_id = 'X-SATURDAY'),
             (SELECT status_reason FROM lead_touch WHERE external_id = 'X-SATURDAY' AND step_no = 1)
        FROM lead_consent WHERE external_id = 'X-SATURDAY'$$,
    $$VALUES (0::bigint, 'paused', 'handed_off:sms_reply')$$,
    '"Stop by Saturday?" is an ordinary reply: no revoke, the lead is handed to a rep');

-- The sender reports the text it had claimed before the STOP.
SELECT row_eq(
    format($$SELECT status, outcome, outcome_detail, completed_at
               FROM cadence.complete_touch(%s, 'delivered', '{"sid": "SM9"}', '2026-04-08 14:25+00')$$, :t_stop1),
    ROW('cancelled'::text, 'suppressed'::text, '{"sid": "SM9", "reported_outcome": "delivered"}'::jsonb,
        '2026-04-08 14:25+00'::timestamptz),
    'completing a text claimed before the STOP records outcome suppressed and the touch stays cancelled');
SELECT is((SELECT touch_id FROM cadence.event WHERE event_id = :ev_stop), :t_stop1::bigint,
          'the STOP event keeps the touch it answered');

-- START opts back in.
SELECT cadence.record_event(:start, 'sms_reply', '2026-04-08 14:30+00', NULL, '{"body": "Stop."}') AS ev_start_stop \gset
SELECT cadence.record_event(:start, 'sms_reply', '2026-04-08 20:00+00', NULL, '{"body": "START"}') AS ev_start \gset
SELECT results_eq(
    $$SELECT channel, action, method, recorded_at FROM lead_consent WHERE external_id = 'X-START' ORDER BY consent_id$$,
    $$VALUES ('sms', 'grant',  'web_form',        '2026-04-08 12:00+00'::timestamptz),
             ('sms', 'revoke', 'event:sms_stop',  '2026-04-08 14:30+00'::timestamptz),
             ('sms', 'grant',  'event:sms_start', '2026-04-08 20:00+00'::timestamptz)$$,
    '"Stop." revokes SMS and a later "START" grants it again');
SELECT is((SELECT status FROM lead_enrolment WHERE external_id = 'X-START'), 'active',
          'START does not pause the enrolment');

-- The next day: texts after START are queued (again the first text that goes
-- out, so with the opt-out line); after STOP they are skipped; after an
-- unsubscribe texts continue.
SELECT is(cadence.tick('2026-04-09 14:00+00'), 2, 'tick on April 9 queues two texts');
SELECT results_eq(
    $$SELECT external_id, status, status_reason, due_at, CASE WHEN status = 'queued' THEN body END FROM lead_touch
       WHERE step_no = 3 AND external_id IN ('X-START', 'X-STOP', 'X-STOPALL', 'X-UNSUB') ORDER BY external_id$$,
    $$VALUES ('X-START',   'queued',  NULL,        '2026-04-09 14:00+00'::timestamptz, 'Still interested? Reply STOP to opt out.'),
             ('X-STOP',    'skipped', 'opted_out', '2026-04-09 14:00+00'::timestamptz, NULL),
             ('X-STOPALL', 'skipped', 'opted_out', '2026-04-09 14:00+00'::timestamptz, NULL),
             ('X-UNSUB',   'queued',  NULL,        '2026-04-09 14:00+00'::timestamptz, 'Still interested?')$$,
    'after START the next text is queued; after STOP it is skipped; after unsubscribe texts continue');
SELECT is(cadence.tick('2026-04-10 14:00+00'), 2, 'tick on April 10 queues the last texts of the two');
SELECT results_eq(
    $$SELECT external_id, status FROM lead_touch WHERE step_no = 4 AND external_id IN ('X-START', 'X-STOP', 'X-UNSUB')
       ORDER BY external_id$$,
    $$VALUES ('X-START', 'queued'), ('X-STOP', 'skipped'), ('X-UNSUB', 'queued')$$,
    'the fourth step follows the same consent');
SELECT is((SELECT count(*) FROM lead_touch WHERE external_id = 'X-UNSUB' AND channel = 'email' AND status <> 'cancelled'),
          0::bigint, 'the lead who unsubscribed got no email');

-- ---------------------------------------------------------------------------
-- opt_out after the last step was queued: the enrolment has completed and
-- stays so, the global revoke still cancels the queued text, and enroll
-- refuses the lead.
SELECT cadence.record_event(:unsub, 'opt_out', '2026-04-10 15:00+00') AS ev_unsub_opt \gset
SELECT row_eq(
    $$SELECT status, exit_reason, ended_at FROM lead_enrolment WHERE external_id = 'X-UNSUB'$$,
    ROW('completed'::text, 'cadence_completed'::text, '2026-04-10 14:00+00'::timestamptz),
    'opt_out does not rewrite an enrolment that already completed');
SELECT row_eq(
    $$SELECT status, status_reason FROM lead_touch WHERE external_id = 'X-UNSUB' AND step_no = 4$$,
    ROW('cancelled'::text, 'opt_out'::text),
    'but its last text, still queued, is cancelled by the global revoke');
SELECT throws_ok(
    format($$SELECT cadence.enroll(%s, 'exit-showroom', '2026-04-10 16:00+00')$$, :unsub),
    '55000', format('lead %s has opted out of all contact', :unsub),
    'after opt_out enroll fails with 55000');
SELECT is((SELECT count(*) FROM lead_enrolment WHERE external_id = 'X-UNSUB'), 1::bigint,
          'the refused enrolment left no row');
SELECT * FROM finish();
ROLLBACK;
