-- The sender's claim asks the lead's consent again.  A touch queued from a
-- consent state that has changed since (the tick read the lead before a
-- STOP committed; here the lead's state is set by hand to stand for that)
-- or written into the queue by hand is cancelled, not handed out, and a step
-- timed "after previous" starts its clock from the claim.  Touches the lead
-- still allows go out in the same call.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026), so SMS may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(7);

SELECT cadence.define_cadence($${
  "key": "claim-gate", "name": "Text, then email an hour after it",
  "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, your quote is ready."}},
            {"channel": "email", "timing": "after previous +1 hour",
             "message": {"subject": "Your quote", "body": "The numbers we talked about."}}]}$$) AS v \gset
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
VALUES ('G-STALE', 'Rosa', 'rosa@example.com', '+15555550901', 'America/New_York'),
       ('G-OK',    'Sam',  'sam@example.com',  '+15555550902', 'America/New_York'),
       ('G-HAND',  'Tia',  'tia@example.com',  '+15555550903', 'America/New_York');
SELECT max(lead_id) FILTER (WHERE external_id = 'G-STALE') AS stale,
       max(lead_id) FILTER (WHERE external_id = 'G-OK')    AS ok_lead,
       max(lead_id) FILTER (WHERE external_id = 'G-HAND')  AS hand
  FROM cadence.lead \gset
SELECT cadence.record_consent(:stale,   'sms', 'grant', 'web_form', '2026-04-14 12:00Z') AS c1 \gset
SELECT cadence.record_consent(:ok_lead, 'sms', 'grant', 'web_form', '2026-04-14 12:00Z') AS c2 \gset
SELECT cadence.enroll(:stale,   'claim-gate', '2026-04-14 13:30Z') AS e_stale \gset
SELECT cadence.enroll(:ok_lead, 'claim-gate', '2026-04-14 13:30Z') AS e_ok \gset
SELECT is(cadence.tick('2026-04-14 13:40Z'), 2, 'the tick queues both leads'' first texts');

-- Rosa's state now says no texts, but her queued text was not cancelled.
UPDATE cadence.lead SET blocked_channels = '{sms}' WHERE lead_id = :stale;
-- Tia has no SMS consent; a text for her is written into the queue by hand.
SELECT cadence.enroll(:hand, 'claim-gate', '2026-04-14 13:30Z') AS e_hand \gset
INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at, status, body, created_at)
VALUES (cadence.current_tenant(), :hand, :e_hand, 1, 'sms', '2026-04-14 13:30Z', '2026-04-14 13:30Z', 'queued',
        'Hi Tia', '2026-04-14 13:41Z');
UPDATE cadence.enrolment SET next_step_no = 2, next_due_at = NULL WHERE enrolment_id = :e_hand;

SELECT results_eq(
    $$SELECT l.external_id, c.step_no, c.channel
        FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '5 minutes', '2026-04-14 13:45Z') c
        JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = c.lead_id$$,
    $$VALUES ('G-OK', 1, 'sms')$$,
    'the claim hands out only the text the lead still allows');
SELECT results_eq(
    $$SELECT l.external_id, t.status, t.status_reason, t.claimed_by, t.attempts FROM cadence.touch t
        JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
       WHERE t.step_no = 1 ORDER BY l.external_id$$,
    $$VALUES ('G-HAND', 'cancelled', 'no_sms_consent', NULL::text, 0),
             ('G-OK', 'claimed', NULL, 'sms-gateway', 1),
             ('G-STALE', 'cancelled', 'opted_out', NULL, 0)$$,
    'the refused texts are cancelled with the reason the tick would have given, and not counted as attempts');
SELECT results_eq(
    $$SELECT l.external_id, e.status, e.next_step_no, e.next_due_at FROM cadence.enrolment e
        JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id ORDER BY l.external_id$$,
    $$VALUES ('G-HAND', 'active', 2, '2026-04-14 14:45Z'::timestamptz),
             ('G-OK', 'active', 2, NULL::timestamptz),
             ('G-STALE', 'active', 2, '2026-04-14 14:45Z')$$,
    'the email after a refused text is due an hour after the claim; after a claimed one it still waits for the outcome');

-- A claim before Sam's lease runs out finds nothing left to refuse or send.
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '5 minutes', '2026-04-14 13:48Z')),
          0::bigint, 'a second claim takes nothing');

-- A lease that ran out is asked again too: Sam opts out of texts while the
-- gateway that claimed his text has gone quiet (his state set by hand, as
-- above); the next claim after the lease cancels the text.
UPDATE cadence.lead SET blocked_channels = '{sms}' WHERE lead_id = :ok_lead;
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms}', 'sms-gateway-2', 10, '5 minutes', '2026-04-14 13:55Z')),
          0::bigint, 'after the lease, the text is not handed to another gateway');
SELECT results_eq(
    format($$SELECT t.status, t.status_reason, t.lease_until, e.next_due_at FROM cadence.touch t
               JOIN cadence.enrolment e ON e.tenant_id = t.tenant_id AND e.enrolment_id = t.enrolment_id
              WHERE t.lead_id = %s AND t.step_no = 1$$, :ok_lead),
    $$VALUES ('cancelled', 'opted_out'::text, NULL::timestamptz, '2026-04-14 14:55Z'::timestamptz)$$,
    'it is cancelled as opted out, and the email is due an hour later');

SELECT * FROM finish();
ROLLBACK;
