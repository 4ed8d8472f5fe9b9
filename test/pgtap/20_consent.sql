-- Consent gates and the consent ledger: SMS needs a grant; a channel revoke
-- cancels that lead's unsent touches on the channel at once (a call revoke
-- covers voicemail too) and later ticks skip those steps; a global revoke
-- cancels everything unsent, exits the enrolment and blocks enrolment; a
-- direct INSERT into the ledger acts like record_consent; the ledger cannot
-- be rewritten; a later grant re-allows SMS; an opt-out after a claim turns
-- the sender's report into 'suppressed'; bad input leaves no ledger row.
-- Simulated clock: every call passes its time.  Leads are in New York
-- (EDT, UTC-4 in April 2026), so SMS may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(48);

-- Touches with the lead's CRM key, so expectations read by lead.
CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;

INSERT INTO cadence.rep (external_id, name, phone, email, on_duty)
VALUES ('R-DANA', 'Dana Whitfield', '+15555550100', 'dana@lakeside.example', true);

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, attributes) VALUES
    ('C-NOSMS',  'Maya',   'maya@example.com',   '+15555550101', 'America/New_York', '{"vehicle": "2024 Tacoma"}'),
    ('C-GRANT',  'Jordan', 'jordan@example.com', '+15555550102', 'America/New_York', '{"vehicle": "2024 Tacoma"}'),
    ('C-STOP',   'Priya',  'priya@example.com',  '+15555550103', 'America/New_York', '{"vehicle": "2023 RAV4"}'),
    ('C-CALL',   'Luis',   'luis@example.com',   '+15555550104', 'America/New_York', '{}'),
    ('C-ALL',    'Grace',  'grace@example.com',  '+15555550105', 'America/New_York', '{}'),
    ('C-INSERT', 'Omar',   'omar@example.com',   '+15555550106', 'America/New_York', '{}');
SELECT max(lead_id) FILTER (WHERE external_id = 'C-NOSMS')  AS nosms,
       max(lead_id) FILTER (WHERE external_id = 'C-GRANT')  AS granted,
       max(lead_id) FILTER (WHERE external_id = 'C-STOP')   AS stop,
       max(lead_id) FILTER (WHERE external_id = 'C-CALL')   AS callrev,
       max(lead_id) FILTER (WHERE external_id = 'C-ALL')    AS alllead,
       max(lead_id) FILTER (WHERE external_id = 'C-INSERT') AS inslead
  FROM cadence.lead \gset

SELECT cadence.define_cadence($${
  "key": "consent-text", "name": "Text-first follow-up", "tier": "hot",
  "steps": [
    {"channel": "sms", "timing": "immediate",
     "message": {"body": "Hi {{first_name|there}}, the {{attr.vehicle|vehicle}} you asked about is here."}},
    {"channel": "sms", "timing": "+5 minutes", "message": {"body": "Can you stop by today?"}},
    {"channel": "email", "timing": "+5 minutes",
     "message": {"subject": "Your {{attr.vehicle|vehicle}}", "body": "Photos and pricing inside."}},
    {"channel": "sms", "timing": "+1 day", "message": {"body": "Still interested?"}},
    {"channel": "sms", "timing": "+2 days", "message": {"body": "Last check-in."}}
  ]}$$) AS v_text \gset
SELECT cadence.define_cadence($${
  "key": "consent-voice", "name": "Voicemail follow-up",
  "steps": [
    {"channel": "voicemail", "timing": "immediate",
     "message": {"body": "Leave a short voicemail for {{first_name|the customer}}."}},
    {"channel": "email", "timing": "+10 minutes",
     "message": {"subject": "Sorry I missed you", "body": "I left you a voicemail about the {{attr.vehicle}}."}},
    {"channel": "voicemail", "timing": "+1 day", "message": {"body": "Second voicemail."}}
  ]}$$) AS v_voice \gset

-- SMS opt-ins, recorded before anyone is enrolled.
SELECT cadence.record_consent(:granted, 'sms', 'grant', 'web_form', '2026-04-14 12:00+00') AS c1 \gset
SELECT cadence.record_consent(:stop,    'sms', 'grant', 'web_form', '2026-04-14 12:00+00') AS c2 \gset
SELECT cadence.record_consent(:alllead, 'sms', 'grant', 'verbal',   '2026-04-14 12:00+00') AS c3 \gset

-- ---------------------------------------------------------------------------
-- A channel revoke cancels queued and claimed SMS at once, not email.
-- Priya is enrolled half an hour before the others so that only her touches
-- are due when the SMS sender claims.
SELECT cadence.enroll(:stop, 'consent-text', '2026-04-14 13:30+00') AS e_stop \gset
SELECT is(cadence.tick('2026-04-14 13:40+00'), 3, 'tick at 13:40 queues Priya''s two texts and her email');
SELECT results_eq(
    $$SELECT step_no, channel, status, due_at, body FROM lead_touch WHERE external_id = 'C-STOP' ORDER BY step_no$$,
    $$VALUES (1, 'sms', 'queued', '2026-04-14 13:30+00'::timestamptz,
              'Hi Priya, the 2023 RAV4 you asked about is here. Reply STOP to opt out.'),
             (2, 'sms', 'queued', '2026-04-14 13:35+00'::timestamptz, 'Can you stop by today? Reply STOP to opt out.'),
             (3, 'email', 'queued', '2026-04-14 13:35+00'::timestamptz,
              E'Photos and pricing inside.\n\nYou are receiving this because you contacted default. To stop these emails, reply UNSUBSCRIBE.')$$,
    'with an SMS grant both texts are queued (each with the opt-out line: none has been sent yet) and the email too');

SELECT touch_id AS t_stop1 FROM cadence.claim_touches('{sms}', 'sms-gateway', 1, '5 minutes', '2026-04-14 13:40+00') \gset
SELECT is((SELECT step_no FROM cadence.touch WHERE touch_id = :t_stop1), 1, 'the SMS sender claims Priya''s first text');

SELECT cadence.record_consent(:stop, 'sms', 'revoke', 'sms_keyword', '2026-04-14 13:42+00', 'sms-gateway',
                              '{"keyword": "STOP"}') AS c_stop \gset
SELECT row_eq(
    format('SELECT lead_id, channel, action, method, recorded_at, recorded_by, evidence FROM cadence.consent WHERE consent_id = %s', :c_stop),
    ROW(:stop::bigint, 'sms'::text, 'revoke'::text, 'sms_keyword'::text, '2026-04-14 13:42+00'::timestamptz,
        'sms-gateway'::text, '{"keyword": "STOP"}'::jsonb),
    'record_consent appends the revoke to the ledger as given');
SELECT results_eq(
    $$SELECT step_no, status, status_reason, lease_until FROM lead_touch WHERE external_id = 'C-STOP' ORDER BY step_no$$,
    $$VALUES (1, 'cancelled', 'opted_out', NULL::timestamptz),
             (2, 'cancelled', 'opted_out', NULL::timestamptz),
             (3, 'queued', NULL, NULL::timestamptz)$$,
    'an SMS revoke cancels the claimed and the queued text (reason opted_out) and leaves the email queued');
SELECT is((SELECT status FROM cadence.enrolment WHERE enrolment_id = :e_stop), 'active',
          'a channel revoke does not end the enrolment');

-- The sender reports the text it had claimed before the STOP.
SELECT row_eq(
    format($$SELECT status, outcome, outcome_detail, completed_at
               FROM cadence.complete_touch(%s, 'delivered', '{"provider_id": "SM42"}', '2026-04-14 13:43+00')$$, :t_stop1),
    ROW('cancelled'::text, 'suppressed'::text, '{"provider_id": "SM42", "reported_outcome": "delivered"}'::jsonb,
        '2026-04-14 13:43+00'::timestamptz),
    'completing a claimed text cancelled by the opt-out keeps it cancelled with outcome suppressed');
SELECT row_eq(
    format($$SELECT status, outcome, outcome_detail, completed_at
               FROM cadence.complete_touch(%s, 'delivered', '{"provider_id": "SM42"}', '2026-04-14 13:50+00')$$, :t_stop1),
    ROW('cancelled'::text, 'suppressed'::text, '{"provider_id": "SM42", "reported_outcome": "delivered"}'::jsonb,
        '2026-04-14 13:43+00'::timestamptz),
    'the same report again (a webhook retry) is a no-op: completed_at stays 13:43');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '5 minutes', '2026-04-14 13:50+00')),
          0::bigint, 'the cancelled texts are not handed to a sender again');

-- ---------------------------------------------------------------------------
-- Without a grant SMS steps are skipped; with one they are queued.
SELECT cadence.enroll(:nosms,   'consent-text',  '2026-04-14 14:00+00') AS e_nosms \gset
SELECT cadence.enroll(:granted, 'consent-text',  '2026-04-14 14:00+00') AS e_granted \gset
SELECT cadence.enroll(:callrev, 'consent-voice', '2026-04-14 14:00+00') AS e_call \gset
-- Grace a minute earlier, so that her first text is the first one due.
SELECT cadence.enroll(:alllead, 'consent-text',  '2026-04-14 13:59+00') AS e_all \gset
SELECT cadence.enroll(:inslead, 'consent-voice', '2026-04-14 14:00+00') AS e_ins \gset
-- Maya: email only (2 texts skipped); Jordan and Grace: 3 each; Luis and Omar:
-- the voicemail (their email needs {{attr.vehicle}}, which they lack: held).
SELECT is(cadence.tick('2026-04-14 14:10+00'), 9, 'tick at 14:10 queues 9 touches for five leads');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason, due_at, body IS NULL FROM lead_touch
       WHERE external_id = 'C-NOSMS' ORDER BY step_no$$,
    $$VALUES (1, 'sms', 'skipped', 'no_sms_consent', '2026-04-14 14:00+00'::timestamptz, false),
             (2, 'sms', 'skipped', 'no_sms_consent', '2026-04-14 14:05+00'::timestamptz, false),
             (3, 'email', 'queued', NULL, '2026-04-14 14:05+00'::timestamptz, false)$$,
    'without an SMS grant both texts are skipped with no_sms_consent; the email is queued');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason, body FROM lead_touch
       WHERE external_id = 'C-GRANT' AND channel = 'sms' ORDER BY step_no$$,
    $$VALUES (1, 'sms', 'queued', NULL, 'Hi Jordan, the 2024 Tacoma you asked about is here. Reply STOP to opt out.'),
             (2, 'sms', 'queued', NULL, 'Can you stop by today? Reply STOP to opt out.')$$,
    'with an SMS grant both texts are queued, each with the opt-out line while none has been sent');
SELECT is((SELECT count(*) FROM cadence.consent WHERE lead_id = :nosms), 0::bigint,
          'Maya has no consent row at all');

-- ---------------------------------------------------------------------------
-- Revoking call also stops voicemail (voicemail is governed by call consent).
SELECT results_eq(
    $$SELECT step_no, channel, status FROM lead_touch WHERE external_id = 'C-CALL' ORDER BY step_no$$,
    $$VALUES (1, 'voicemail', 'queued'), (2, 'email', 'held')$$,
    'Luis has a queued voicemail and an email held for review');
SELECT lives_ok(format($$SELECT cadence.record_consent(%s, 'call', 'revoke', 'verbal', '2026-04-14 14:20+00')$$, :callrev),
                'record a call revoke for Luis');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason FROM lead_touch WHERE external_id = 'C-CALL' ORDER BY step_no$$,
    $$VALUES (1, 'voicemail', 'cancelled', 'opted_out'), (2, 'email', 'held', 'missing_merge_field:attr.vehicle')$$,
    'a call revoke cancels the queued voicemail and leaves the held email alone');

-- ---------------------------------------------------------------------------
-- A global revoke cancels everything unsent and exits the enrolment.
SELECT is((SELECT count(*) FROM lead_touch WHERE external_id = 'C-ALL' AND status = 'queued'), 3::bigint,
          'Grace has three queued touches before her global opt-out');
SELECT touch_id AS t_grace1 FROM cadence.claim_touches('{sms}', 'sms-gateway', 1, '5 minutes', '2026-04-14 14:10+00') \gset
SELECT row_eq(
    format('SELECT external_id, step_no, status FROM lead_touch WHERE touch_id = %s', :t_grace1),
    ROW('C-ALL'::text, 1, 'claimed'::text),
    'the SMS sender claims Grace''s first text (due 13:59, the earliest)');
SELECT lives_ok(format($$SELECT cadence.record_consent(%s, 'all', 'revoke', 'email_link', '2026-04-14 14:30+00')$$, :alllead),
                'record a global revoke for Grace');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason FROM lead_touch WHERE external_id = 'C-ALL' ORDER BY step_no$$,
    $$VALUES (1, 'sms', 'cancelled', 'opted_out'), (2, 'sms', 'cancelled', 'opted_out'),
             (3, 'email', 'cancelled', 'opted_out')$$,
    'a global revoke cancels every unsent touch of the lead, the claimed text included');
SELECT is((SELECT lease_until FROM cadence.touch WHERE touch_id = :t_grace1), NULL,
          'the cancelled claimed text has no lease left');
SELECT row_eq(
    format('SELECT status, exit_reason, ended_at, next_due_at FROM cadence.enrolment WHERE enrolment_id = %s', :e_all),
    ROW('exited'::text, 'opt_out'::text, '2026-04-14 14:30+00'::timestamptz, NULL::timestamptz),
    'a global revoke exits the enrolment with opt_out at the time it was recorded');
SELECT throws_ok(
    format($$SELECT cadence.enroll(%s, 'consent-voice', '2026-04-14 15:00+00')$$, :alllead),
    '55000', format('lead %s has opted out of all contact', :alllead),
    'enrolling a lead who opted out of all contact fails');
SELECT is((SELECT count(*) FROM cadence.enrolment WHERE lead_id = :alllead), 1::bigint,
          'the refused enrolment left no row');

-- ---------------------------------------------------------------------------
-- A direct INSERT into the ledger has the same effect.
INSERT INTO cadence.consent (lead_id, channel, action, method, recorded_at, recorded_by)
VALUES (:inslead, 'all', 'revoke', 'crm', '2026-04-14 14:35+00', 'crm-sync');
SELECT results_eq(
    $$SELECT step_no, channel, status, status_reason FROM lead_touch WHERE external_id = 'C-INSERT' ORDER BY step_no$$,
    $$VALUES (1, 'voicemail', 'cancelled', 'opted_out'), (2, 'email', 'cancelled', 'opted_out')$$,
    'a revoke inserted directly cancels the lead''s queued and held touches');
SELECT row_eq(
    format('SELECT status, exit_reason, ended_at FROM cadence.enrolment WHERE enrolment_id = %s', :e_ins),
    ROW('exited'::text, 'opt_out'::text, '2026-04-14 14:35+00'::timestamptz),
    'a revoke inserted directly exits the enrolment');
SELECT throws_ok(
    format($$SELECT cadence.enroll(%s, 'consent-text', '2026-04-14 15:00+00')$$, :inslead),
    '55000', NULL, 'a lead opted out by direct INSERT cannot be enrolled');

-- The ledger is append-only.
SELECT throws_ok(
    format($$UPDATE cadence.consent SET action = 'grant' WHERE consent_id = %s$$, :c_stop),
    '42501', 'the consent ledger is append-only', 'UPDATE on the consent ledger fails');
SELECT throws_ok(
    format($$DELETE FROM cadence.consent WHERE lead_id = %s$$, :alllead),
    '42501', 'the consent ledger is append-only', 'DELETE on the consent ledger fails');
SELECT is((SELECT array_agg(action || ':' || channel ORDER BY consent_id) FROM cadence.consent WHERE lead_id = :alllead),
          '{grant:sms,revoke:all}'::text[], 'Grace''s ledger rows are unchanged');

-- ---------------------------------------------------------------------------
-- The next day: SMS steps of Priya are skipped, voicemail of Luis too.
SELECT is(cadence.tick('2026-04-15 14:00+00'), 1, 'tick on day 2 queues only Jordan''s text');
SELECT row_eq(
    $$SELECT status, status_reason, due_at FROM lead_touch WHERE external_id = 'C-STOP' AND step_no = 4$$,
    ROW('skipped'::text, 'opted_out'::text, '2026-04-15 13:30+00'::timestamptz),
    'after an SMS revoke a later SMS step is skipped with opted_out');
SELECT row_eq(
    $$SELECT channel, status, status_reason FROM lead_touch WHERE external_id = 'C-CALL' AND step_no = 3$$,
    ROW('voicemail'::text, 'skipped'::text, 'opted_out'::text),
    'after a call revoke a later voicemail step is skipped with opted_out');
SELECT row_eq(
    $$SELECT status, status_reason FROM lead_touch WHERE external_id = 'C-NOSMS' AND step_no = 4$$,
    ROW('skipped'::text, 'no_sms_consent'::text),
    'without any grant a later SMS step is still skipped with no_sms_consent');
SELECT row_eq(
    $$SELECT status, body FROM lead_touch WHERE external_id = 'C-GRANT' AND step_no = 4$$,
    ROW('queued'::text, 'Still interested? Reply STOP to opt out.'::text),
    'Jordan''s third text is queued with the opt-out line: neither earlier text has been sent');
SELECT is((SELECT count(*) FROM lead_touch WHERE external_id IN ('C-ALL', 'C-INSERT') AND step_no > 3), 0::bigint,
          'opted-out leads get no new touches');
SELECT is((SELECT status FROM cadence.enrolment WHERE enrolment_id = :e_call), 'completed',
          'Luis''s enrolment completes after its last (skipped) step');

-- A new SMS grant after the revoke allows texts again.
SELECT lives_ok(format($$SELECT cadence.record_consent(%s, 'sms', 'grant', 'web_form', '2026-04-15 18:00+00')$$, :stop),
                'Priya opts in to texts again');
SELECT is(cadence.tick('2026-04-16 14:00+00'), 2, 'tick on day 3 queues Priya''s and Jordan''s last texts');
SELECT row_eq(
    $$SELECT status, status_reason, due_at, body FROM lead_touch WHERE external_id = 'C-STOP' AND step_no = 5$$,
    ROW('queued'::text, NULL::text, '2026-04-16 13:30+00'::timestamptz, 'Last check-in. Reply STOP to opt out.'::text),
    'after a later grant the SMS step is queued (as her first text that goes out, with the opt-out line)');
SELECT row_eq(
    format('SELECT status, exit_reason FROM cadence.enrolment WHERE enrolment_id = %s', :e_stop),
    ROW('completed'::text, 'cadence_completed'::text),
    'Priya''s enrolment completes after its last step');

-- ---------------------------------------------------------------------------
-- Bad input names the field and leaves no ledger row.
SELECT throws_ok(
    format($$SELECT cadence.record_consent(%s, 'fax', 'grant', 'web_form', '2026-04-14 15:00+00')$$, :nosms),
    '22023', 'invalid channel "fax" in field "channel"', 'an unknown channel is refused');
SELECT throws_ok(
    format($$SELECT cadence.record_consent(%s, 'task', 'grant', 'web_form', '2026-04-14 15:00+00')$$, :nosms),
    '22023', 'invalid channel "task" in field "channel"', 'task is not a consent channel');
SELECT throws_ok(
    format($$SELECT cadence.record_consent(%s, 'sms', 'pause', 'web_form', '2026-04-14 15:00+00')$$, :nosms),
    '22023', 'invalid action "pause" in field "action"', 'an action other than grant or revoke is refused');
SELECT throws_ok(
    format($$SELECT cadence.record_consent(%s, 'sms', 'grant', '', '2026-04-14 15:00+00')$$, :nosms),
    '22023', 'missing consent method in field "method"', 'an empty method is refused');
SELECT throws_ok(
    format($$SELECT cadence.record_consent(%s, 'sms', 'grant', '   ', '2026-04-14 15:00+00')$$, :nosms),
    '22023', 'missing consent method in field "method"', 'a blank method is refused');
SELECT throws_ok(
    $$SELECT cadence.record_consent(999999999, 'sms', 'grant', 'web_form', '2026-04-14 15:00+00')$$,
    'P0002', 'lead 999999999 does not exist (field "lead_id")', 'an unknown lead is refused');
SELECT is((SELECT count(*) FROM cadence.consent WHERE lead_id IN (:nosms, 999999999)), 0::bigint,
          'refused consent calls leave no ledger row');

SELECT * FROM finish();
ROLLBACK;
