-- A reply and the rep's logged contact arriving in one batch (a webhook
-- receiver inserting a minute's events at once): the alert the reply
-- raises is closed by the contact that followed it in the same statement,
-- and is not passed to a manager.  A contact BEFORE the reply does not
-- close the alert the reply raises.
BEGIN;
SELECT plan(4);

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

SELECT * FROM finish();
ROLLBACK;
