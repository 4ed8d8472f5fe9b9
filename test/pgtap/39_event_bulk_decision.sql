-- A bulk statement is decided from its events read in lead and time order,
-- 10,000 rows at a time (src/event_decide.c); a lead's events that fall on
-- both sides of such a read still make one decision.  One INSERT of 10,004
-- events: 9,999 email opens of one lead, then a reply and an appointment of
-- a second lead (the 10,000th and 10,001st rows), then three opens of a
-- third.  The first lead escalates once, at its last open; the second
-- exits on the appointment, which also suppresses the hand-off its reply
-- would have made; the third escalates at its third open.
-- Simulated clock: every event has its time.  Leads are in UTC.
BEGIN;
SELECT plan(7);

CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, v.cadence_key, e.status, e.exit_reason, e.enrolled_at, e.ended_at, e.paused_at
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
  JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id;

INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-NOA', 'Noa Bell', true);
-- inserted in this order, so that the leads' ids (and the rows' order) follow it
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES ('K-MANY', 'Ada', 'ada@example.com', '+15555550501', 'UTC');
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES ('K-SPLIT', 'Ben', 'ben@example.com', '+15555550502', 'UTC');
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone) VALUES ('K-ESC', 'Cleo', 'cleo@example.com', '+15555550503', 'UTC');
SELECT max(lead_id) FILTER (WHERE external_id = 'K-MANY')  AS many,
       max(lead_id) FILTER (WHERE external_id = 'K-SPLIT') AS split,
       max(lead_id) FILTER (WHERE external_id = 'K-ESC')   AS esc
  FROM cadence.lead \gset

SELECT cadence.define_cadence($${
  "key": "bulk-hot", "name": "Hot: call now", "tier": "hot",
  "steps": [{"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}}]}$$) AS v_hot \gset
SELECT cadence.define_cadence($${
  "key": "bulk-warm", "name": "Warm: email",
  "rules": {"escalate": [{"when": {"event": "email_open", "count": 3, "within": "30 days"}, "move_to": "bulk-hot", "score": 20}]},
  "steps": [{"channel": "email", "timing": "+1 day", "message": {"subject": "Your enquiry", "body": "Three cars you might like."}}]}$$) AS v_warm \gset
SELECT count(cadence.enroll(l.lead_id, 'bulk-warm', '2026-03-01 09:00Z')) AS enrolled FROM cadence.lead l \gset

SELECT current_setting('jit') AS jit_before \gset
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload)
SELECT :many, 'email_open', '2026-03-02 09:00Z'::timestamptz + i * interval '1 second', '{}'
  FROM generate_series(1, 9999) AS i
UNION ALL
VALUES (:split, 'sms_reply', '2026-03-02 10:00Z'::timestamptz, '{"body": "Saturday works"}'::jsonb),
       (:split, 'appointment_set', '2026-03-02 10:05Z', '{}'),
       (:esc, 'email_open', '2026-03-02 11:00Z', '{}'),
       (:esc, 'email_open', '2026-03-02 11:10Z', '{}'),
       (:esc, 'email_open', '2026-03-02 11:20Z', '{}');

SELECT is((SELECT count(*) FROM cadence.event)::integer, 10004, 'the statement stored its 10,004 events');
SELECT results_eq(
    $$SELECT external_id, cadence_key, status, exit_reason, enrolled_at, ended_at
        FROM lead_enrolment WHERE external_id IN ('K-MANY', 'K-ESC') ORDER BY external_id, enrolled_at$$,
    $$VALUES ('K-ESC'::text, 'bulk-warm'::text, 'exited'::text, 'escalated'::text,
              '2026-03-01 09:00Z'::timestamptz, '2026-03-02 11:20Z'::timestamptz),
             ('K-ESC', 'bulk-hot', 'active', NULL, '2026-03-02 11:20Z', NULL),
             ('K-MANY', 'bulk-warm', 'exited', 'escalated', '2026-03-01 09:00Z', '2026-03-02 11:46:39Z'),
             ('K-MANY', 'bulk-hot', 'active', NULL, '2026-03-02 11:46:39Z', NULL)$$,
    'a lead with 9,999 opens escalates once, at its newest; the lead after the split at its third open');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at, paused_at FROM lead_enrolment WHERE external_id = 'K-SPLIT'$$,
    $$VALUES ('bulk-warm'::text, 'exited'::text, 'appointment_set'::text, '2026-03-02 10:05Z'::timestamptz, NULL::timestamptz)$$,
    'a reply read in one chunk and an appointment in the next: one decision, the appointment ends the enrolment');
SELECT results_eq(
    $$SELECT l.external_id, a.reason, a.created_at FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id)
       ORDER BY a.alert_id$$,
    $$VALUES ('K-MANY'::text, 'new_hot_lead'::text, '2026-03-02 11:46:39Z'::timestamptz),
             ('K-ESC', 'new_hot_lead', '2026-03-02 11:20Z')$$,
    'only the two escalations alert a rep: the appointment suppresses the reply''s hand-off');
SELECT results_eq(
    $$SELECT external_id, last_response_at, last_engagement_at, score_bonus FROM cadence.lead ORDER BY lead_id$$,
    $$VALUES ('K-MANY'::text, NULL::timestamptz, '2026-03-02 11:46:39Z'::timestamptz, 20),
             ('K-SPLIT', '2026-03-02 10:05Z', '2026-03-02 10:05Z', 0),
             ('K-ESC', NULL, '2026-03-02 11:20Z', 20)$$,
    'each lead''s newest response and engagement, and the escalation''s bonus');
SELECT is((SELECT count(*) FROM cadence.touch WHERE lead_id = :split AND status IN ('queued', 'claimed', 'held'))::integer, 0,
          'the exited lead has no unsent touch');

-- the escalations of several leads ran with jit off, and left it as it was
SELECT is(current_setting('jit'), :'jit_before', 'the bulk decision leaves the jit setting as it found it');

SELECT * FROM finish();
ROLLBACK;
