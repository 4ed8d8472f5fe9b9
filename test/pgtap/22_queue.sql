-- The touch queue and enrolment: claim_touches (channels, max_touches,
-- due_at, leases and re-claims after expiry, the lead's local hours),
-- complete_touch (outcome to status, idempotent retries, conflicting
-- outcomes, last_response_at), their input errors; a tick repeated at the
-- same as_of adds nothing; leads without phone or email; enroll twice,
-- replace => true, unknown lead or cadence; who a rep task is assigned to.
-- Simulated clock.  Leads are in Chicago (CDT, UTC-5 in April 2026): calls
-- may go out 13:00-02:00 UTC, texts 14:00-01:00 UTC.
BEGIN;
SELECT plan(64);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;

INSERT INTO cadence.rep (external_id, name, phone, email, role, on_duty, active) VALUES
    ('R-OWNER', 'Dana Whitfield', '+13125550100', 'dana@lakeside.example',   'rep',     false, true),
    ('R-DUTY',  'Marcus Lee',     '+13125550101', 'marcus@lakeside.example', 'rep',     true,  true),
    ('R-OFF',   'Kim Ortiz',      '+13125550102', 'kim@lakeside.example',    'rep',     false, true),
    ('R-MGR',   'Sofia Brandt',   '+13125550103', 'sofia@lakeside.example',  'manager', true,  true),
    ('R-GONE',  'Pat Quinn',      '+13125550104', 'pat@lakeside.example',    'rep',     true,  false);
SELECT max(rep_id) FILTER (WHERE external_id = 'R-OWNER') AS dana,
       max(rep_id) FILTER (WHERE external_id = 'R-DUTY')  AS marcus,
       max(rep_id) FILTER (WHERE external_id = 'R-GONE')  AS pat
  FROM cadence.rep \gset

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, owner_rep_id) VALUES
    ('Q-E1',        'Ana',   'ana@example.com',   '+13125550201', 'America/Chicago', NULL),
    ('Q-E2',        'Ben',   'ben@example.com',   '+13125550202', 'America/Chicago', NULL),
    ('Q-E3',        'Cleo',  'cleo@example.com',  '+13125550203', 'America/Chicago', NULL),
    ('Q-CALL-OWN',  'Dev',   'dev@example.com',   '+13125550204', 'America/Chicago', :dana),
    ('Q-CALL-DUTY', 'Eve',   'eve@example.com',   '+13125550205', 'America/Chicago', NULL),
    ('Q-CALL-GONE', 'Finn',  'finn@example.com',  '+13125550206', 'America/Chicago', :pat),
    ('Q-NOPHONE',   'Gus',   'gus@example.com',   NULL,           'America/Chicago', NULL),
    ('Q-BLANK',     'Hana',  'hana@example.com',  '   ',          'America/Chicago', NULL),
    ('Q-NOEMAIL',   'Ines',  NULL,                '+13125550209', 'America/Chicago', NULL),
    ('Q-REPLACE',   'Jay',   'jay@example.com',   '+13125550210', 'America/Chicago', :dana);
SELECT max(lead_id) FILTER (WHERE external_id = 'Q-E3')        AS e3,
       max(lead_id) FILTER (WHERE external_id = 'Q-CALL-OWN')  AS callown,
       max(lead_id) FILTER (WHERE external_id = 'Q-CALL-DUTY') AS callduty,
       max(lead_id) FILTER (WHERE external_id = 'Q-REPLACE')   AS repl
  FROM cadence.lead \gset
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-14 12:00+00')) AS n_granted
  FROM cadence.lead WHERE external_id IN ('Q-NOPHONE', 'Q-BLANK', 'Q-NOEMAIL') \gset

SELECT cadence.define_cadence($${
  "key": "queue-email", "name": "Two emails",
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "First email."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Again", "body": "Second email."}}
  ]}$$) AS v_email \gset
SELECT cadence.define_cadence($${
  "key": "queue-call", "name": "Call then email",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the customer}}."}},
    {"channel": "email", "timing": "+2 hours", "message": {"subject": "Missed you", "body": "Sorry I missed you."}}
  ]}$$) AS v_call \gset
SELECT cadence.define_cadence($${
  "key": "queue-phone", "name": "Text, call, email",
  "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}!"}},
    {"channel": "call", "timing": "+5 minutes", "message": {"body": "Call."}},
    {"channel": "email", "timing": "+10 minutes", "message": {"subject": "Hi", "body": "Email."}}
  ]}$$) AS v_phone \gset

SELECT cadence.define_cadence($${
  "key": "queue-replace", "name": "Call, email, task",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the customer}}."}},
    {"channel": "email", "timing": "+2 hours", "message": {"subject": "Missed you", "body": "Sorry I missed you."}},
    {"channel": "task", "timing": "+1 day", "message": {"body": "Check on {{first_name|the lead}}."}}
  ]}$$) AS v_replace \gset

-- ---------------------------------------------------------------------------
-- Enrolment errors.
SELECT cadence.enroll(lead_id, 'queue-email', '2026-04-14 15:00+00') AS e_e1 FROM cadence.lead WHERE external_id = 'Q-E1' \gset
SELECT cadence.enroll(lead_id, 'queue-email', '2026-04-14 15:00+00') AS e_e2 FROM cadence.lead WHERE external_id = 'Q-E2' \gset
SELECT cadence.enroll(lead_id, 'queue-email', '2026-04-14 15:00+00') AS e_e3 FROM cadence.lead WHERE external_id = 'Q-E3' \gset
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'queue-call', '2026-04-14 15:01+00')$$, :e3),
    '23505', format('lead %s is already enrolled (enrolment %s)', :e3, :e_e3), 'enrolling an enrolled lead again fails');
SELECT throws_ok($$SELECT cadence.enroll(999999999, 'queue-email', '2026-04-14 15:00+00')$$,
    'P0002', 'lead 999999999 does not exist (field "lead_id")', 'enrolling an unknown lead fails');
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'no-such-cadence', '2026-04-14 15:00+00')$$, :callown),
    'P0002', 'cadence "no-such-cadence" does not exist (field "cadence_key")', 'enrolling in an unknown cadence fails');
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'queue-call', NULL)$$, :callown),
    '22004', 'as_of must not be NULL', 'enroll needs as_of');
SELECT row_eq(
    format('SELECT status, enrolled_at, next_step_no, next_due_at, previous_enrolment_id FROM cadence.enrolment WHERE enrolment_id = %s', :e_e1),
    ROW('active'::text, '2026-04-14 15:00+00'::timestamptz, 1, '2026-04-14 15:00+00'::timestamptz, NULL::bigint),
    'a new enrolment is active with its first step due');

SELECT count(cadence.enroll(lead_id, 'queue-call', '2026-04-14 15:00+00')) AS n_call FROM cadence.lead
 WHERE external_id IN ('Q-CALL-OWN', 'Q-CALL-DUTY', 'Q-CALL-GONE') \gset

-- ---------------------------------------------------------------------------
-- The same tick twice.
SELECT is(cadence.tick('2026-04-14 15:00+00'), 6, 'tick at 15:00 queues three emails and three calls');
SELECT is(cadence.tick('2026-04-14 15:00+00'), 0, 'the same tick again queues nothing');
SELECT is((SELECT count(*) FROM cadence.touch WHERE enrolment_id IN (:e_e1, :e_e2, :e_e3)), 3::bigint,
          'and creates no second touch');
-- A tick working from a stale view of Ana's enrolment (back at step 1).
UPDATE cadence.enrolment SET next_step_no = 1, next_due_at = '2026-04-14 15:00+00' WHERE enrolment_id = :e_e1;
SELECT is(cadence.tick('2026-04-14 15:00+00'), 0, 'a step ticked a second time queues nothing');
SELECT is((SELECT count(*) FROM cadence.touch WHERE enrolment_id = :e_e1 AND step_no = 1), 1::bigint,
          'a step yields one touch per enrolment however often it is ticked');
SELECT row_eq(
    format('SELECT next_step_no, next_due_at FROM cadence.enrolment WHERE enrolment_id = %s', :e_e1),
    ROW(2, '2026-04-15 15:00+00'::timestamptz),
    'the enrolment moves on to its next step');

-- Rep tasks go to the owner, else an on-duty rep; other channels to no one.
SELECT results_eq(
    $$SELECT external_id, channel, status, due_at, assignee_rep_id FROM lead_touch
       WHERE external_id LIKE 'Q-CALL-%' ORDER BY external_id$$,
    format($$VALUES ('Q-CALL-DUTY'::text, 'call'::text, 'queued'::text, '2026-04-14 15:00+00'::timestamptz, %1$s::bigint),
                    ('Q-CALL-GONE', 'call', 'queued', '2026-04-14 15:00+00', %1$s),
                    ('Q-CALL-OWN', 'call', 'queued', '2026-04-14 15:00+00', %2$s)$$, :marcus, :dana),
    'a call goes to the lead''s owner; without an active owner to the on-duty rep (not a manager, not an inactive rep)');
SELECT is((SELECT count(*) FROM lead_touch WHERE external_id LIKE 'Q-E_' AND assignee_rep_id IS NULL), 3::bigint,
          'emails have no assignee');

-- ---------------------------------------------------------------------------
-- Claiming.
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms,video}', 'w', 10, '5 minutes', '2026-04-14 15:00+00')),
          0::bigint, 'a claim only takes the channels asked for');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{email}', 'mailer-1', 10, '5 minutes', '2026-04-14 14:59:59+00')),
          0::bigint, 'a claim takes nothing before it is due');
CREATE TEMP TABLE claim1 AS
SELECT * FROM cadence.claim_touches('{email}', 'mailer-1', 2, '5 minutes', '2026-04-14 15:00+00');
SELECT results_eq(
    $$SELECT touch_id, status, claimed_by, claimed_at, lease_until, attempts FROM claim1 ORDER BY touch_id$$,
    $$SELECT touch_id, 'claimed'::text, 'mailer-1'::text, '2026-04-14 15:00+00'::timestamptz,
             '2026-04-14 15:05+00'::timestamptz, 1
        FROM lead_touch WHERE external_id LIKE 'Q-E_' ORDER BY touch_id LIMIT 2$$,
    'max_touches 2 claims the two first due emails, leased for 5 minutes, attempt 1');
CREATE TEMP TABLE claim2 AS
SELECT * FROM cadence.claim_touches('{email}', 'mailer-2', 10, '5 minutes', '2026-04-14 15:03+00');
SELECT results_eq(
    $$SELECT touch_id, lease_until, attempts FROM claim2$$,
    $$SELECT touch_id, '2026-04-14 15:08+00'::timestamptz, 1
        FROM lead_touch WHERE external_id LIKE 'Q-E_' AND touch_id NOT IN (SELECT touch_id FROM claim1)$$,
    'a second claim takes only the email not leased already');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{email}', 'mailer-2', 10, '5 minutes', '2026-04-14 15:04:59+00')),
          0::bigint, 'nothing is claimable while the leases run');
SELECT results_eq(
    $$SELECT touch_id, claimed_by, claimed_at, lease_until, attempts
        FROM cadence.claim_touches('{email}', 'mailer-2', 10, '5 minutes', '2026-04-14 15:05+00') ORDER BY touch_id$$,
    $$SELECT touch_id, 'mailer-2'::text, '2026-04-14 15:05+00'::timestamptz, '2026-04-14 15:10+00'::timestamptz, 2
        FROM claim1 ORDER BY touch_id$$,
    'when the lease runs out the touches are claimed again, attempt 2');

-- ---------------------------------------------------------------------------
-- Completing.
SELECT min(touch_id) AS t_a, max(touch_id) AS t_b FROM claim1 \gset
SELECT touch_id AS t_c FROM claim2 \gset
SELECT row_eq(
    format($$SELECT status, outcome, outcome_detail, completed_at, lease_until
               FROM cadence.complete_touch(%s, 'delivered', '{"message_id": "m-1"}', '2026-04-14 15:06+00')$$, :t_a),
    ROW('done'::text, 'delivered'::text, '{"message_id": "m-1"}'::jsonb, '2026-04-14 15:06+00'::timestamptz, NULL::timestamptz),
    'delivered: the touch is done, with the detail and time');
SELECT row_eq(
    format($$SELECT status, outcome, outcome_detail, completed_at
               FROM cadence.complete_touch(%s, 'delivered', '{"message_id": "m-1-retry"}', '2026-04-14 15:30+00')$$, :t_a),
    ROW('done'::text, 'delivered'::text, '{"message_id": "m-1"}'::jsonb, '2026-04-14 15:06+00'::timestamptz),
    'the same outcome again is a no-op');
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'bounced', '{}', '2026-04-14 15:31+00')$$, :t_a),
    '55000', format('touch %s is already completed with outcome "delivered"', :t_a),
    'a different outcome for a completed touch fails');
SELECT row_eq(
    format($$SELECT status, outcome FROM cadence.complete_touch(%s, 'bounced', '{"code": "5.1.1"}', '2026-04-14 15:07+00')$$, :t_b),
    ROW('failed'::text, 'bounced'::text), 'bounced: the touch failed');
SELECT row_eq(
    format($$SELECT status, outcome FROM cadence.complete_touch(%s, 'failed', '{}', '2026-04-14 15:08+00')$$, :t_c),
    ROW('failed'::text, 'failed'::text), 'failed: the touch failed');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{email}', 'mailer-3', 10, '5 minutes', '2026-04-14 15:20+00')),
          0::bigint, 'completed touches are not claimed again');

-- Input errors of complete_touch.
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'opened', '{}', '2026-04-14 15:40+00')$$, :t_a),
    '22023', 'invalid outcome "opened" in field "outcome"', 'an unknown outcome is refused');
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, NULL, '{}', '2026-04-14 15:40+00')$$, :t_a),
    '22023', 'invalid outcome "NULL" in field "outcome"', 'a missing outcome is refused');
SELECT throws_ok($$SELECT cadence.complete_touch(999999999, 'sent', '{}', '2026-04-14 15:40+00')$$,
    'P0002', 'touch 999999999 does not exist (field "touch_id")', 'an unknown touch is refused');
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'delivered', '["m-1"]', '2026-04-14 15:40+00')$$, :t_a),
    '22023', 'detail must be a JSON object in field "detail"', 'a detail that is not an object is refused');
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'delivered', '{}', NULL)$$, :t_a),
    '22004', 'as_of must not be NULL', 'complete_touch needs as_of');

-- Input errors of claim_touches.
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{}', 'w', 10, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'no channels given in field "channels"', 'an empty channel list is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches(NULL, 'w', 10, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'no channels given in field "channels"', 'a missing channel list is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email,fax}', 'w', 10, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'unknown channel "fax" in field "channels"', 'an unknown channel is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', ' ', 10, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'empty worker name in field "worker"', 'a blank worker name is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', 'w', 0, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'max_touches must be between 1 and 10000, not 0', 'max_touches 0 is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', 'w', 10001, '5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'max_touches must be between 1 and 10000, not 10001', 'max_touches above 10000 is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', 'w', 10, '0 seconds', '2026-04-14 15:40+00')$$,
    '22023', 'lease must be a positive interval, not 00:00:00', 'a zero lease is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', 'w', 10, '-5 minutes', '2026-04-14 15:40+00')$$,
    '22023', 'lease must be a positive interval, not -00:05:00', 'a negative lease is refused');
SELECT throws_ok($$SELECT * FROM cadence.claim_touches('{email}', 'w', 10, '5 minutes', NULL)$$,
    '22004', 'as_of must not be NULL', 'claim_touches needs as_of');

-- ---------------------------------------------------------------------------
-- Leads without a phone or an email.
SELECT count(cadence.enroll(lead_id, 'queue-phone', '2026-04-14 16:00+00')) AS n_phone FROM cadence.lead
 WHERE external_id IN ('Q-NOPHONE', 'Q-BLANK', 'Q-NOEMAIL') \gset
SELECT is(cadence.tick('2026-04-14 16:10+00'), 4, 'tick at 16:10 queues two emails, a text and a call');
SELECT results_eq(
    $$SELECT external_id, step_no, channel, status, status_reason FROM lead_touch
       WHERE external_id IN ('Q-NOPHONE', 'Q-BLANK', 'Q-NOEMAIL') ORDER BY external_id, step_no$$,
    $$VALUES ('Q-BLANK'::text, 1, 'sms'::text, 'skipped'::text, 'no_phone'::text),
             ('Q-BLANK', 2, 'call', 'skipped', 'no_phone'),
             ('Q-BLANK', 3, 'email', 'queued', NULL),
             ('Q-NOEMAIL', 1, 'sms', 'queued', NULL),
             ('Q-NOEMAIL', 2, 'call', 'queued', NULL),
             ('Q-NOEMAIL', 3, 'email', 'skipped', 'no_email'),
             ('Q-NOPHONE', 1, 'sms', 'skipped', 'no_phone'),
             ('Q-NOPHONE', 2, 'call', 'skipped', 'no_phone'),
             ('Q-NOPHONE', 3, 'email', 'queued', NULL)$$,
    'no (or a blank) phone skips text and call steps with no_phone; no email skips email with no_email');
SELECT touch_id AS t_skipped FROM lead_touch WHERE external_id = 'Q-NOPHONE' AND step_no = 1 \gset
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'sent', '{}', '2026-04-14 16:20+00')$$, :t_skipped),
    '55000', format('touch %s is skipped and cannot be completed', :t_skipped), 'a skipped touch cannot be completed');

-- ---------------------------------------------------------------------------
-- Replacing an enrolment.
SELECT cadence.enroll(:repl, 'queue-replace', '2026-04-14 17:00+00') AS e_old \gset
SELECT is(cadence.tick('2026-04-14 17:00+00'), 4, 'tick at 17:00 queues Jay''s call and the three follow-up emails');
SELECT is((SELECT count(*) FROM lead_touch WHERE external_id LIKE 'Q-CALL-%' AND step_no = 2
            AND channel = 'email' AND status = 'queued' AND assignee_rep_id IS NULL), 3::bigint,
          'the follow-up emails are queued without an assignee, even for a lead with an owner');
SELECT touch_id AS t_old_call FROM lead_touch WHERE enrolment_id = :e_old AND step_no = 1 \gset
SELECT is((SELECT assignee_rep_id FROM cadence.touch WHERE touch_id = :t_old_call), :dana::bigint, 'Jay''s call goes to his owner');
SELECT is((cadence.complete_touch(:t_old_call, 'no_answer', '{}', '2026-04-14 17:05+00')).status, 'done',
          'no_answer: the call is done');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE lead_id = :repl), NULL, 'no_answer does not count as a response');
SELECT is(cadence.tick('2026-04-14 19:00+00'), 1, 'tick at 19:00 queues Jay''s email');
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'queue-email', '2026-04-14 19:30+00')$$, :repl),
    '23505', format('lead %s is already enrolled (enrolment %s)', :repl, :e_old), 'without replace a second enrolment fails');
SELECT cadence.enroll(:repl, 'queue-replace', '2026-04-14 19:30+00', replace => true) AS e_new \gset
SELECT row_eq(
    format('SELECT status, exit_reason, ended_at, next_due_at FROM cadence.enrolment WHERE enrolment_id = %s', :e_old),
    ROW('replaced'::text, 'replaced'::text, '2026-04-14 19:30+00'::timestamptz, NULL::timestamptz),
    'replace => true ends the old enrolment as replaced');
SELECT results_eq(
    format('SELECT step_no, status, status_reason FROM cadence.touch WHERE enrolment_id = %s ORDER BY step_no', :e_old),
    $$VALUES (1, 'done'::text, NULL::text), (2, 'cancelled', 'enrolment_replaced')$$,
    'the old enrolment''s unsent email is cancelled; its done call stays done');
SELECT row_eq(
    format('SELECT status, enrolled_at, next_step_no, next_due_at, previous_enrolment_id FROM cadence.enrolment WHERE enrolment_id = %s', :e_new),
    ROW('active'::text, '2026-04-14 19:30+00'::timestamptz, 1, '2026-04-14 19:30+00'::timestamptz, :e_old::bigint),
    'the new enrolment is active and links back to the old one');
SELECT is(cadence.tick('2026-04-14 19:30+00'), 1, 'tick at 19:30 queues the new enrolment''s call');
SELECT row_eq(
    format('SELECT planned_at, due_at, defer_reasons FROM cadence.touch WHERE enrolment_id = %s AND step_no = 1', :e_new),
    ROW('2026-04-14 19:30+00'::timestamptz, '2026-04-14 21:00+00'::timestamptz, '{call_spacing}'::text[]),
    'the new call keeps four hours from the old one (17:00)');

-- ---------------------------------------------------------------------------
-- Claims respect the lead's local hours; answered and replied are responses.
SELECT is((SELECT count(*) FROM cadence.claim_touches('{call}', 'dialer', 10, '10 minutes', '2026-04-15 02:30+00')),
          0::bigint, 'no call is claimed at 21:30 in Chicago, though five are due');
SELECT results_eq(
    $$SELECT l.external_id, c.attempts, c.lease_until
        FROM cadence.claim_touches('{call}', 'dialer', 10, '10 minutes', '2026-04-15 13:00+00') c
        JOIN cadence.lead l USING (tenant_id, lead_id) ORDER BY l.external_id$$,
    $$VALUES ('Q-CALL-DUTY'::text, 1, '2026-04-15 13:10+00'::timestamptz), ('Q-CALL-GONE', 1, '2026-04-15 13:10+00'),
             ('Q-CALL-OWN', 1, '2026-04-15 13:10+00'), ('Q-NOEMAIL', 1, '2026-04-15 13:10+00'),
             ('Q-REPLACE', 1, '2026-04-15 13:10+00')$$,
    'at 08:00 in Chicago the five due calls are claimed');
SELECT row_eq(
    format($$SELECT c.status, c.outcome FROM lead_touch t, cadence.complete_touch(t.touch_id, 'answered', '{}', '2026-04-15 13:04+00') c
              WHERE t.lead_id = %s AND t.channel = 'call'$$, :callown),
    ROW('done'::text, 'answered'::text), 'answered: the call is done');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE lead_id = :callown), '2026-04-15 13:04+00'::timestamptz,
          'an answered call sets last_response_at');
SELECT row_eq(
    format($$SELECT c.status, c.outcome FROM lead_touch t, cadence.complete_touch(t.touch_id, 'busy', '{}', '2026-04-15 13:05+00') c
              WHERE t.lead_id = %s AND t.channel = 'call'$$, :callduty),
    ROW('done'::text, 'busy'::text), 'busy: the call is done');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE lead_id = :callduty), NULL, 'busy does not count as a response');
SELECT is(cadence.tick('2026-04-15 15:00+00'), 4, 'tick on day 2 queues the three second emails and Jay''s email');
SELECT row_eq(
    format($$SELECT c.status, c.outcome, c.completed_at FROM lead_touch t,
                    cadence.complete_touch(t.touch_id, 'replied', '{"snippet": "Saturday works"}', '2026-04-15 16:00+00') c
              WHERE t.lead_id = %s AND t.step_no = 2$$, :e3),
    ROW('done'::text, 'replied'::text, '2026-04-15 16:00+00'::timestamptz),
    'replied: a queued email can be completed directly');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE lead_id = :e3), '2026-04-15 16:00+00'::timestamptz,
          'a reply sets last_response_at');
SELECT is((SELECT status FROM cadence.enrolment WHERE enrolment_id = :e_e3), 'completed',
          'the two-email enrolment is completed');

SELECT * FROM finish();
ROLLBACK;
