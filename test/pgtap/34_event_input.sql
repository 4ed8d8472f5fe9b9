-- Bad event input and event kinds per tenant.  Every bad event (an unknown
-- kind, a payload that is not an object or whose body is not a string, a
-- touch of another lead, an unknown lead, no kind or no time) is refused
-- with its SQLSTATE and the field named, through record_event() and through
-- a direct INSERT, and leaves no trace: the counts of events, consent rows,
-- enrolments, alerts and touches, and the leads' engagement columns, are
-- the same before and after; one bad row in a multi-row INSERT refuses the
-- good rows too.  register_event_kind() refuses malformed kinds.  A kind a
-- tenant registers works for that tenant only, and a tenant's override of a
-- built-in kind changes its effect for that tenant only; cadence rules may
-- name the kinds in force for their tenant, and no others.  The set
-- functions the trigger moves leads and raises alerts with refuse arrays of
-- different lengths, missing times and reasons, unknown leads and cadences.
-- Simulated clock: every call passes its time.  Leads are in New York.
BEGIN;
SELECT plan(57);

-- Everything an event could change, to compare before and after a refusal.
CREATE FUNCTION pg_temp.event_state() RETURNS jsonb
LANGUAGE sql AS $$
SELECT jsonb_build_object(
    'events',     (SELECT count(*) FROM cadence.event),
    'consent',    (SELECT count(*) FROM cadence.consent),
    'enrolments', (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM cadence.enrolment GROUP BY status) s),
    'alerts',     (SELECT count(*) FROM cadence.alert),
    'touches',    (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM cadence.touch GROUP BY status) s),
    'kinds',      (SELECT count(*) FROM cadence.custom_event_kind),
    'leads',      (SELECT jsonb_agg(jsonb_build_array(lead_id, preferred_channel, last_response_at, last_engagement_at, score)
                                    ORDER BY lead_id) FROM cadence.lead))
$$;

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;
CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id;

INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-LEA', 'Lea Brandt', true);
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES
    ('I-ONE', 'Mila', 'mila@example.com', '+15555550601', 'America/New_York'),
    ('I-TWO', 'Nico', 'nico@example.com', '+15555550602', 'America/New_York');
SELECT max(lead_id) FILTER (WHERE external_id = 'I-ONE') AS one,
       max(lead_id) FILTER (WHERE external_id = 'I-TWO') AS two
  FROM cadence.lead \gset
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-06 12:00+00')) AS granted
  FROM cadence.lead WHERE external_id LIKE 'I-%' \gset
SELECT cadence.define_cadence($${
  "key": "input-text", "name": "Text then email",
  "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Hello", "body": "Details inside."}}
  ]}$$) AS v_text \gset
SELECT cadence.enroll(:one, 'input-text', '2026-04-06 14:00+00') AS e_one \gset
SELECT cadence.enroll(:two, 'input-text', '2026-04-06 14:00+00') AS e_two \gset
SELECT is(cadence.tick('2026-04-06 14:00+00'), 2, 'each lead has a queued text');
SELECT touch_id AS t_one FROM lead_touch WHERE external_id = 'I-ONE' \gset

SELECT pg_temp.event_state() AS before \gset

-- ---------------------------------------------------------------------------
-- Unknown kind.
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'test_drive', '2026-04-06 15:00+00')$$, :one),
    '22023', format('unknown event kind "test_drive" in field "kind" (lead %s)', :one),
    'record_event refuses an unknown kind');
SELECT is(pg_temp.event_state(), :'before'::jsonb, 'the refused event left nothing behind');
SELECT throws_ok(
    format($$INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES
               (%1$s, 'sms_reply', '2026-04-06 15:00+00', '{"body": "STOP"}'),
               (%2$s, 'opt_out', '2026-04-06 15:01+00', '{}'),
               (%2$s, 'carrier_pigeon', '2026-04-06 15:02+00', '{}'),
               (%1$s, 'appointment_set', '2026-04-06 15:03+00', '{}')$$, :one, :two),
    '22023', format('unknown event kind "carrier_pigeon" in field "kind" (lead %s)', :two),
    'a multi-row INSERT with one unknown kind is refused');
SELECT is(pg_temp.event_state(), :'before'::jsonb,
          'none of its good rows was kept or applied: no STOP, no opt-out, no exit');
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, NULL, '2026-04-06 15:00+00')$$, :one),
    '23502', 'null value in column "kind" of relation "event" violates not-null constraint',
    'an event without a kind is refused');

-- Payload not an object.
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'sms_reply', '2026-04-06 15:00+00', NULL, '["STOP"]')$$, :one),
    '22023', 'payload must be a JSON object (field "payload")',
    'record_event refuses a payload that is not an object');
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'sms_reply', '2026-04-06 15:00+00', NULL, NULL)$$, :one),
    '22023', 'payload must be a JSON object (field "payload")',
    'record_event refuses a NULL payload');
SELECT throws_ok(
    format($$INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES (%s, 'sms_reply', '2026-04-06 15:00+00', '"STOP"')$$, :one),
    '23514', 'new row for relation "event" violates check constraint "event_payload_object"',
    'a direct INSERT of a payload that is not an object fails its CHECK');

-- Payload body not a string.
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'sms_reply', '2026-04-06 15:00+00', NULL, '{"body": ["STOP"]}')$$, :one),
    '22023', format('malformed payload of a "sms_reply" event for lead %s: field "body" must be a string', :one),
    'record_event refuses a body that is not a string');
SELECT throws_ok(
    format($$INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES
               (%1$s, 'email_open', '2026-04-06 15:00+00', '{}'),
               (%1$s, 'email_reply', '2026-04-06 15:01+00', '{"body": 42}')$$, :one),
    '22023', format('malformed payload of a "email_reply" event for lead %s: field "body" must be a string', :one),
    'a direct INSERT with a numeric body is refused');
SELECT is(pg_temp.event_state(), :'before'::jsonb, 'the refused payloads left nothing behind');

-- A touch of another lead.
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'sms_reply', '2026-04-06 15:00+00', %s, '{"body": "Yes"}')$$, :two, :t_one),
    '22023', format('touch %s in field "touch_id" is not a touch of lead %s', :t_one, :two),
    'record_event refuses a touch of another lead');
SELECT throws_ok(
    format($$INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (%s, 'email_open', '2026-04-06 15:00+00', %s)$$, :two, :t_one),
    '22023', format('touch %s in field "touch_id" is not a touch of lead %s', :t_one, :two),
    'a direct INSERT naming a touch of another lead is refused');
SELECT is(pg_temp.event_state(), :'before'::jsonb, 'the refused touch references left nothing behind');

-- Unknown lead; no time.
SELECT throws_ok(
    $$SELECT cadence.record_event(999999999, 'email_open', '2026-04-06 15:00+00')$$,
    'P0002', 'lead 999999999 does not exist (field "lead_id")',
    'record_event refuses an unknown lead');
SELECT throws_ok(
    $$INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (999999999, 'email_open', '2026-04-06 15:00+00')$$,
    '23503', 'insert or update on table "event" violates foreign key constraint "event_tenant_id_lead_id_fkey"',
    'a direct INSERT for an unknown lead fails its foreign key');
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'opt_out', NULL)$$, :one),
    '22004', 'occurred_at must not be NULL',
    'record_event refuses a NULL occurred_at');
SELECT throws_ok(
    format($$INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (%s, 'opt_out', NULL)$$, :one),
    '23502', 'null value in column "occurred_at" of relation "event" violates not-null constraint',
    'a direct INSERT without occurred_at is refused');
SELECT is(pg_temp.event_state(), :'before'::jsonb, 'nothing was written by any refused event');
SELECT row_eq(
    $$SELECT (SELECT status FROM lead_enrolment WHERE external_id = 'I-ONE'),
             (SELECT status FROM lead_touch WHERE external_id = 'I-ONE'),
             (SELECT count(*) FROM cadence.consent c JOIN cadence.lead l USING (tenant_id, lead_id)
               WHERE l.external_id = 'I-ONE' AND c.action = 'revoke')$$,
    ROW('active'::text, 'queued'::text, 0::bigint),
    'the first lead is still active with its text queued and no revoke');

-- ---------------------------------------------------------------------------
-- register_event_kind refuses malformed kinds.
SELECT throws_ok($$SELECT cadence.register_event_kind('Test Drive')$$,
    '22023', 'invalid event kind "Test Drive" in field "kind"', 'a kind with capitals and a space is refused');
SELECT throws_ok($$SELECT cadence.register_event_kind('1st_visit')$$,
    '22023', 'invalid event kind "1st_visit" in field "kind"', 'a kind starting with a digit is refused');
SELECT throws_ok($$SELECT cadence.register_event_kind(NULL)$$,
    '22023', 'invalid event kind "NULL" in field "kind"', 'a NULL kind is refused');
SELECT throws_ok($$SELECT cadence.register_event_kind('whatsapp_stop', consent_channel => 'sms')$$,
    '22023', 'consent_channel and consent_action go together (field "consent_action")',
    'a consent channel without an action is refused, naming the missing field');
SELECT throws_ok($$SELECT cadence.register_event_kind('whatsapp_stop', consent_action => 'revoke')$$,
    '22023', 'consent_channel and consent_action go together (field "consent_channel")',
    'an action without a consent channel is refused, naming the missing field');
SELECT throws_ok($$SELECT cadence.register_event_kind('fax_stop', consent_channel => 'fax', consent_action => 'revoke')$$,
    '22023', 'invalid channel "fax" in field "consent_channel"', 'an unknown consent channel is refused');
SELECT throws_ok($$SELECT cadence.register_event_kind('sms_maybe', consent_channel => 'sms', consent_action => 'pause')$$,
    '22023', 'invalid action "pause" in field "consent_action"', 'an unknown consent action is refused');
SELECT throws_ok($$SELECT cadence.register_event_kind('pigeon_reply', preferred_channel => 'pigeon')$$,
    '22023', 'invalid channel "pigeon" in field "preferred_channel"', 'an unknown preferred channel is refused');
SELECT is(pg_temp.event_state(), :'before'::jsonb, 'no kind was registered by the refused calls');

-- ---------------------------------------------------------------------------
-- A kind registered by tenant 2 exits its enrolments; tenant 1 does not know it.
SELECT cadence.create_tenant('Harbor Motors') AS t2 \gset
SELECT cadence.set_tenant(:t2) AS tenant_set \gset
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES
    ('I-HARBOR', 'Otto', 'otto@example.com', '+15555550603', 'America/New_York'),
    ('I-REPLY',  'Pam',  'pam@example.com',  '+15555550604', 'America/New_York');
SELECT max(lead_id) FILTER (WHERE external_id = 'I-HARBOR') AS harbor,
       max(lead_id) FILTER (WHERE external_id = 'I-REPLY')  AS harbor_reply
  FROM cadence.lead WHERE tenant_id = :t2 \gset
SELECT cadence.define_cadence($${
  "key": "harbor-email", "name": "Harbor emails",
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Thanks for visiting."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Again", "body": "Any questions?"}}
  ]}$$) AS v_harbor \gset
SELECT lives_ok($$SELECT cadence.register_event_kind('test_drive_booked', response => true, human_contact => true,
                                                    default_exit => true, description => 'A test drive was booked online')$$,
                'tenant 2 registers test_drive_booked, which ends enrolments');
SELECT row_eq(
    $$SELECT tenant_id, response, engagement, human_contact, default_exit, default_pause, description, custom
        FROM cadence.event_kinds WHERE kind = 'test_drive_booked'$$,
    ROW(:t2::bigint, true, true, true, true, false, 'A test drive was booked online'::text, true),
    'tenant 2 sees it among its kinds (engagement defaults to true)');
SELECT lives_ok($$SELECT cadence.define_cadence('{
  "key": "harbor-showroom", "name": "Until the test drive",
  "rules": {"exit_on": ["sold", "test_drive_booked"]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Come and drive it."}}]}')$$,
    'a cadence of tenant 2 may name the tenant''s own kind in exit_on');
SELECT cadence.enroll(:harbor,       'harbor-email', '2026-04-06 14:00+00') AS e_harbor \gset
SELECT cadence.enroll(:harbor_reply, 'harbor-email', '2026-04-06 14:00+00') AS e_harbor_reply \gset
SELECT is(cadence.tick('2026-04-06 14:00+00'), 2, 'tick queues the first email of both Harbor leads');
SELECT lives_ok(format($$SELECT cadence.record_event(%s, 'test_drive_booked', '2026-04-06 16:00+00')$$, :harbor),
                'tenant 2 records a test_drive_booked event');
SELECT row_eq(
    format($$SELECT e.status, e.exit_reason, e.ended_at, t.status, t.status_reason
               FROM cadence.enrolment e JOIN cadence.touch t USING (tenant_id, enrolment_id)
              WHERE e.enrolment_id = %s$$, :e_harbor),
    ROW('exited'::text, 'test_drive_booked'::text, '2026-04-06 16:00+00'::timestamptz, 'cancelled'::text, 'test_drive_booked'::text),
    'the tenant''s own kind exits the enrolment at the event time and cancels its queued email');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE tenant_id = :t2 AND lead_id = :harbor),
          '2026-04-06 16:00+00'::timestamptz, 'and counts as a response, as registered');

-- A built-in kind overridden by tenant 2: email_reply alerts but does not pause.
SELECT lives_ok($$SELECT cadence.register_event_kind('email_reply', response => true, engagement => true,
                                                    preferred_channel => 'email', default_pause => false,
                                                    default_hand_off => true)$$,
                'tenant 2 overrides email_reply: alert a rep, keep the cadence going');
SELECT cadence.record_event(:harbor_reply, 'email_reply', '2026-04-06 16:30+00', NULL, '{"body": "Is Saturday OK?"}') AS ev_harbor_reply \gset
SELECT row_eq(
    format($$SELECT e.status, e.exit_reason, e.paused_at, e.next_due_at,
                    (SELECT count(*) FROM cadence.alert a WHERE a.tenant_id = e.tenant_id AND a.lead_id = e.lead_id AND a.reason = 'email_reply')
               FROM cadence.enrolment e WHERE e.enrolment_id = %s$$, :e_harbor_reply),
    ROW('active'::text, NULL::text, NULL::timestamptz, '2026-04-07 14:00+00'::timestamptz, 1::bigint),
    'in tenant 2 an email reply raises an alert and the enrolment goes on');

-- Back in tenant 1: the custom kind is unknown and email_reply still pauses.
SELECT cadence.set_tenant(1) AS tenant_set \gset
SELECT is((SELECT count(*) FROM cadence.event_kinds WHERE kind = 'test_drive_booked'), 0::bigint,
          'tenant 1 does not see tenant 2''s kind');
SELECT throws_ok($$SELECT cadence.define_cadence('{
  "key": "lakeside-showroom", "name": "Until the test drive",
  "rules": {"exit_on": ["test_drive_booked"]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Come and drive it."}}]}')$$,
    '22023', 'unknown event kind "test_drive_booked" at $.rules.exit_on[0]',
    'a cadence of tenant 1 may not name tenant 2''s kind');
SELECT throws_ok($$SELECT cadence.define_cadence('{
  "key": "lakeside-reply", "name": "Until any reply",
  "rules": {"exit_on": ["reply"]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Hi."}}]}')$$,
    '22023', 'unknown event kind "reply" at $.rules.exit_on[0]',
    'rules may only name kinds that exist: there is no event kind "reply"');
SELECT pg_temp.event_state() AS before_t1 \gset
SELECT throws_ok(
    format($$SELECT cadence.record_event(%s, 'test_drive_booked', '2026-04-06 16:00+00')$$, :one),
    '22023', format('unknown event kind "test_drive_booked" in field "kind" (lead %s)', :one),
    'in tenant 1 test_drive_booked is an unknown kind');
SELECT is(pg_temp.event_state(), :'before_t1'::jsonb, 'and nothing was applied');
SELECT row_eq(
    $$SELECT default_pause, custom FROM cadence.event_kinds WHERE kind = 'email_reply'$$,
    ROW(true, false), 'tenant 1 sees the built-in email_reply');
SELECT cadence.record_event(:one, 'email_reply', '2026-04-06 16:30+00', NULL, '{"body": "Is Saturday OK?"}') AS ev_one_reply \gset
SELECT row_eq(
    format($$SELECT status, exit_reason, paused_at FROM cadence.enrolment WHERE enrolment_id = %s$$, :e_one),
    ROW('paused'::text, 'handed_off:email_reply'::text, '2026-04-06 16:30+00'::timestamptz),
    'in tenant 1 an email reply still pauses the enrolment');

-- The set functions behind moves and alerts refuse bad input, changing nothing.
SELECT pg_temp.event_state() AS before_sets \gset
SELECT throws_ok(
    format($$SELECT cadence.start_enrolments(ARRAY[cadence.current_tenant()], ARRAY[%s, %s]::bigint[], ARRAY['warm-30'],
                                              ARRAY['2026-04-07 15:00+00'::timestamptz], ARRAY[NULL::bigint])$$, :one, :one),
    '22023', 'fields tenant_ids, lead_ids, cadence_keys, started_ats, previous_enrolment_ids must hold arrays of the same length, not {1,2,1,1,1}',
    'start_enrolments refuses arrays of different lengths');
SELECT throws_ok(
    format($$SELECT cadence.start_enrolments(ARRAY[cadence.current_tenant()], ARRAY[%s]::bigint[], ARRAY['warm-30'],
                                              ARRAY[NULL::timestamptz], ARRAY[NULL::bigint])$$, :one),
    '22004', 'an enrolment needs a start time (field "started_ats")',
    'start_enrolments refuses a missing start time');
SELECT throws_ok(
    $$SELECT cadence.start_enrolments(ARRAY[cadence.current_tenant()], ARRAY[987654]::bigint[], ARRAY['warm-30'],
                                      ARRAY['2026-04-07 15:00+00'::timestamptz], ARRAY[NULL::bigint])$$,
    'P0002', 'lead 987654 does not exist (field "lead_id")',
    'start_enrolments refuses an unknown lead');
SELECT throws_ok(
    format($$SELECT cadence.start_enrolments(ARRAY[cadence.current_tenant()], ARRAY[%s]::bigint[], ARRAY['no-such-cadence'],
                                              ARRAY['2026-04-07 15:00+00'::timestamptz], ARRAY[NULL::bigint])$$, :one),
    'P0002', 'cadence "no-such-cadence" does not exist (field "cadence_key")',
    'start_enrolments refuses an unknown cadence');
SELECT throws_ok(
    format($$SELECT cadence.raise_alerts(ARRAY[cadence.current_tenant()], ARRAY[%s]::bigint[], ARRAY[NULL::bigint],
                                          ARRAY[NULL::bigint], ARRAY['email_reply', 'sms_reply'],
                                          ARRAY['2026-04-07 15:00+00'::timestamptz])$$, :one),
    '22023', 'fields tenant_ids, lead_ids, enrolment_ids, event_ids, reasons, raised_ats must hold arrays of the same length, not {1,1,1,1,2,1}',
    'raise_alerts refuses arrays of different lengths');
-- The lengths check itself: the fields are named even when NULL; no lengths, nothing to compare.
SELECT throws_ok($$SELECT cadence.require_aligned(NULL, 1, 2)$$,
    '22023', 'fields <NULL> must hold arrays of the same length, not {1,2}',
    'require_aligned names its fields even when they are NULL');
SELECT lives_ok($$SELECT cadence.require_aligned('a, b', VARIADIC NULL::integer[])$$,
    'require_aligned with no lengths has nothing to refuse');
SELECT throws_ok(
    format($$SELECT cadence.raise_alerts(ARRAY[cadence.current_tenant()], ARRAY[%s]::bigint[], ARRAY[NULL::bigint],
                                          ARRAY[NULL::bigint], ARRAY[NULL::text], ARRAY['2026-04-07 15:00+00'::timestamptz])$$, :one),
    '22004', 'an alert needs a reason (field "reasons")',
    'raise_alerts refuses a missing reason');
SELECT is(pg_temp.event_state(), :'before_sets'::jsonb, 'and none of them changed anything');
-- A batch with one unknown lead starts none of its leads.
INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
VALUES ('E-PARTIAL', 'Pat', 'pat@example.com', 'America/New_York') RETURNING lead_id AS partial \gset
SELECT throws_ok(
    format($$SELECT cadence.start_enrolments(ARRAY[cadence.current_tenant(), cadence.current_tenant()],
                                              ARRAY[%s, 987654]::bigint[], ARRAY['warm-30', 'warm-30'],
                                              ARRAY['2026-04-07 15:00+00', '2026-04-07 15:00+00']::timestamptz[],
                                              ARRAY[NULL, NULL]::bigint[])$$, :partial),
    'P0002', 'lead 987654 does not exist (field "lead_id")',
    'start_enrolments refuses a batch with one unknown lead');
SELECT is((SELECT count(*) FROM cadence.enrolment WHERE lead_id = :partial), 0::bigint,
          'and enrols none of the batch, the known lead included');
SELECT * FROM finish();
ROLLBACK;
