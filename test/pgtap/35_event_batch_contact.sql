-- A reply and the rep's logged contact arriving in one batch (a webhook
-- receiver inserting a minute's events at once): the alert the reply
-- raises is closed by the contact that followed it in the same statement,
-- and is not passed to a manager.  A contact BEFORE the reply does not
-- close the alert the reply raises.  With several contacts, the batch's
-- own alert is closed by the latest; an alert open before the batch is
-- closed by the first contact after it was raised, and a reply after the
-- last contact raises a new alert that stays open.
BEGIN;
SELECT plan(7);

INSERT INTO cadence.rep (name, on_duty) VALUES ('Dana Ortiz', true);
INSERT INTO cadence.rep (name, role, on_duty) VALUES ('Grace Kim', 'manager', true);
INSERT INTO cadence.lead (external_id, phone, time_zone) VALUES ('B-1', '+15555550101', 'UTC'), ('B-2', '+15555550102', 'UTC');
SELECT lead_id AS b1 FROM cadence.lead WHERE external_id = 'B-1' \gset
SELECT lead_id AS b2 FROM cadence.lead WHERE external_id = 'B-2' \gset

INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES
    (:b1, 'sms_reply', '2026-03-02 10:00Z', '{"body": "Saturday works"}'),
    (:b1, 'rep_contact', '2026-03-02 10:03Z', '{}'),
    (:b2, 'rep_contact', '2026-03-02 09:58Z', '{}'),
    (:b2, 'sms_reply', '2026-03-02 10:00Z', '{"body": "Saturday works"}');

SELECT results_eq(
    format($$SELECT status, closed_at, closed_by FROM cadence.alert WHERE lead_id = %s$$, :b1),
    $$VALUES ('closed'::text, '2026-03-02 10:03Z'::timestamptz, 'event:rep_contact'::text)$$,
    'the contact in the same batch closes the alert the reply raised');
SELECT results_eq(
    format($$SELECT status FROM cadence.alert WHERE lead_id = %s$$, :b2),
    $$VALUES ('open'::text)$$,
    'a contact before the reply leaves the reply''s alert open');
SELECT is(cadence.tick('2026-03-02 10:06Z'), 0, 'a tick after the deadline');
SELECT results_eq(
    $$SELECT l.external_id, a.status FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id) ORDER BY 1$$,
    $$VALUES ('B-1'::text, 'closed'::text), ('B-2', 'escalated')$$,
    'only the alert without contact goes to the manager');

-- several contacts in one batch
INSERT INTO cadence.lead (external_id, phone, time_zone) VALUES ('B-3', '+15555550103', 'UTC'), ('B-4', '+15555550104', 'UTC');
SELECT lead_id AS b3 FROM cadence.lead WHERE external_id = 'B-3' \gset
SELECT lead_id AS b4 FROM cadence.lead WHERE external_id = 'B-4' \gset
SELECT cadence.record_event(:b4, 'sms_reply', '2026-03-02 11:00Z', NULL, '{"body": "Is it still for sale?"}');
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES
    (:b3, 'email_reply', '2026-03-02 12:00Z', '{}'),
    (:b3, 'call_answered', '2026-03-02 12:05Z', '{}'),
    (:b3, 'rep_contact', '2026-03-02 12:30Z', '{}'),
    (:b4, 'call_answered', '2026-03-02 12:05Z', '{}'),
    (:b4, 'rep_contact', '2026-03-02 12:10Z', '{}'),
    (:b4, 'sms_reply', '2026-03-02 12:20Z', '{"body": "One more question"}');

SELECT results_eq(
    format($$SELECT status, closed_at, closed_by FROM cadence.alert WHERE lead_id = %s$$, :b3),
    $$VALUES ('closed'::text, '2026-03-02 12:30Z'::timestamptz, 'event:rep_contact'::text)$$,
    'the batch''s own alert is closed by its latest contact');
SELECT results_eq(
    format($$SELECT created_at, status, closed_at, closed_by FROM cadence.alert WHERE lead_id = %s ORDER BY alert_id$$, :b4),
    $$VALUES ('2026-03-02 11:00Z'::timestamptz, 'closed'::text, '2026-03-02 12:05Z'::timestamptz, 'event:call_answered'::text),
             ('2026-03-02 12:20Z', 'open', NULL, NULL)$$,
    'an alert open before the batch is closed by its first contact; a reply after the last contact raises a new one');
SELECT is((SELECT count(*) FROM cadence.alert WHERE status = 'open')::integer, 1,
          'only the reply after the last contact waits for a rep');

SELECT * FROM finish();
ROLLBACK;
