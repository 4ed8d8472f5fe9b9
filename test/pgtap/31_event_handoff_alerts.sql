-- Hand-offs to a human: an SMS reply pauses the enrolment, cancels its
-- unsent touches, makes SMS the lead's channel and alerts the owner, or
-- without an owner the on-duty reps in turn (longest since their last alert
-- first; managers and off-duty reps never); a high-intent event alerts
-- without pausing; a hot-tier enrolment raises new_hot_lead; the tick passes
-- an alert nobody acted on to a manager exactly at escalate_at (the tenant's
-- hand_off_timeout after it was raised); rep_contact, call_answered and an
-- answered call close alerts; one open alert per lead and signal; resume_enrolment
-- puts a paused lead back on its cadence.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026): texts may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(48);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;
CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id;
-- Alerts with the lead's and the reps' CRM keys.
CREATE TEMP VIEW lead_alert AS
SELECT l.external_id, r.external_id AS rep, m.external_id AS manager, a.*
  FROM cadence.alert a
  JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id
  LEFT JOIN cadence.rep r ON r.tenant_id = a.tenant_id AND r.rep_id = a.rep_id
  LEFT JOIN cadence.rep m ON m.tenant_id = a.tenant_id AND m.rep_id = a.escalated_to_rep_id;

-- Inserted in this order on purpose: the off-duty manager, the off-duty rep
-- and an on-duty rep who has left (inactive) have the lowest ids, so a
-- rotation or an escalation that ignored duty, role or activity would pick
-- them first.
INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES
    ('M-PAUL', 'Paul Meyer',    'manager', false),
    ('R-OFF',  'Rosa Quint',    'rep',     false),
    ('R-GONE', 'Gil Farr',      'rep',     true),
    ('M-OLGA', 'Olga Sand',     'manager', true),
    ('R-ANNA', 'Anna Lind',     'rep',     true),
    ('R-BEN',  'Ben Okafor',    'rep',     true),
    ('R-OWEN', 'Owen Marsh',    'rep',     false);
SELECT max(rep_id) FILTER (WHERE external_id = 'M-PAUL') AS paul,
       max(rep_id) FILTER (WHERE external_id = 'M-OLGA') AS olga,
       max(rep_id) FILTER (WHERE external_id = 'R-ANNA') AS anna,
       max(rep_id) FILTER (WHERE external_id = 'R-BEN')  AS ben,
       max(rep_id) FILTER (WHERE external_id = 'R-OWEN') AS owen
  FROM cadence.rep \gset
UPDATE cadence.rep SET active = false WHERE external_id = 'R-GONE';

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, owner_rep_id) VALUES
    ('H-OWNED',  'Nadia', 'nadia@example.com', '+15555550301', 'America/New_York', :owen),
    ('H-RR1',    'Omid',  'omid@example.com',  '+15555550302', 'America/New_York', NULL),
    ('H-RR2',    'Pia',   'pia@example.com',   '+15555550303', 'America/New_York', NULL),
    ('H-RR3',    'Quinn', 'quinn@example.com', '+15555550304', 'America/New_York', NULL),
    ('H-TRADE',  'Rahul', 'rahul@example.com', '+15555550305', 'America/New_York', NULL),
    ('H-HOT',    'Sofia', 'sofia@example.com', '+15555550306', 'America/New_York', NULL),
    ('H-FAST',   'Tariq', 'tariq@example.com', '+15555550307', 'America/New_York', :owen),
    ('H-ANSWER', 'Uma',   'uma@example.com',   '+15555550308', 'America/New_York', :owen);
SELECT max(lead_id) FILTER (WHERE external_id = 'H-OWNED')  AS owned,
       max(lead_id) FILTER (WHERE external_id = 'H-RR1')    AS rr1,
       max(lead_id) FILTER (WHERE external_id = 'H-RR2')    AS rr2,
       max(lead_id) FILTER (WHERE external_id = 'H-RR3')    AS rr3,
       max(lead_id) FILTER (WHERE external_id = 'H-TRADE')  AS trade,
       max(lead_id) FILTER (WHERE external_id = 'H-HOT')    AS hot,
       max(lead_id) FILTER (WHERE external_id = 'H-FAST')   AS fast,
       max(lead_id) FILTER (WHERE external_id = 'H-ANSWER') AS answer
  FROM cadence.lead \gset
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-06 12:00+00')) AS granted
  FROM cadence.lead WHERE external_id LIKE 'H-%' \gset

-- A warm cadence (no alert on enrolment); the last step offers email or SMS.
SELECT cadence.define_cadence($${
  "key": "reply-warm", "name": "Warm follow-up", "tier": "warm",
  "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, thanks for asking about us."}},
    {"channel": "email", "timing": "+3 hours", "message": {"subject": "Your visit", "body": "When suits you?"}},
    {"channel": "sms", "timing": "+1 day", "message": {"body": "Any questions I can answer?"}},
    {"channel": ["email", "sms"], "timing": "+2 days", "message": {"subject": "Still looking?", "body": "New arrivals this week."}}
  ]}$$) AS v_warm \gset
-- A hot cadence: enrolling raises new_hot_lead.
SELECT cadence.define_cadence($${
  "key": "reply-hot", "name": "Hot lead", "tier": "hot",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}},
    {"channel": "sms", "timing": "+5 minutes", "message": {"body": "Just called, {{first_name|there}}."}}
  ]}$$) AS v_hot \gset

SELECT count(cadence.enroll(lead_id, 'reply-warm', '2026-04-06 14:00+00')) AS enrolled
  FROM cadence.lead WHERE external_id IN ('H-OWNED', 'H-RR1', 'H-RR2', 'H-RR3', 'H-TRADE') \gset
SELECT is(cadence.tick('2026-04-06 14:00+00'), 5, 'tick at 14:00 queues the first text of five leads');
SELECT is((SELECT count(*) FROM cadence.claim_touches('{sms}', 'sms-gateway', 10, '1 hour', '2026-04-06 14:00+00')),
          5::bigint, 'the SMS sender claims them with a one-hour lease');
SELECT is(cadence.tick('2026-04-06 17:00+00'), 5, 'tick at 17:00 queues the email of five leads');
SELECT is((SELECT count(*) FROM cadence.alert), 0::bigint, 'enrolling in a warm cadence raises no alert');
SELECT touch_id AS t_owned1 FROM lead_touch WHERE external_id = 'H-OWNED' AND step_no = 1 \gset

-- ---------------------------------------------------------------------------
-- An SMS reply hands the lead to its owner.
SELECT cadence.record_event(:owned, 'sms_reply', '2026-04-06 17:30+00', :t_owned1,
                            '{"body": "Yes! Can I come Thursday?"}', 'twilio', 'SM-owned-1') AS ev_owned \gset
SELECT row_eq(
    $$SELECT status, exit_reason, paused_at, next_due_at, next_step_no, ended_at FROM lead_enrolment WHERE external_id = 'H-OWNED'$$,
    ROW('paused'::text, 'handed_off:sms_reply'::text, '2026-04-06 17:30+00'::timestamptz, NULL::timestamptz, 3, NULL::timestamptz),
    'an SMS reply pauses the enrolment at the reply time (handed_off:sms_reply), no next step planned');
SELECT results_eq(
    $$SELECT step_no, status, status_reason, lease_until FROM lead_touch WHERE external_id = 'H-OWNED' ORDER BY step_no$$,
    $$VALUES (1, 'cancelled', 'handed_off:sms_reply', NULL::timestamptz),
             (2, 'cancelled', 'handed_off:sms_reply', NULL::timestamptz)$$,
    'the claimed text and the queued email are cancelled');
SELECT row_eq(
    $$SELECT preferred_channel, last_response_at, last_engagement_at FROM cadence.lead WHERE external_id = 'H-OWNED'$$,
    ROW('sms'::text, '2026-04-06 17:30+00'::timestamptz, '2026-04-06 17:30+00'::timestamptz),
    'the reply makes SMS the preferred channel and sets last_response_at');
SELECT results_eq(
    $$SELECT reason, rep, status, created_at, escalate_at, event_id, enrolment_id, manager
        FROM lead_alert WHERE external_id = 'H-OWNED'$$,
    format($$VALUES ('sms_reply', 'R-OWEN', 'open', '2026-04-06 17:30+00'::timestamptz, '2026-04-06 17:35+00'::timestamptz,
                     %s::bigint, (SELECT enrolment_id FROM lead_enrolment WHERE external_id = 'H-OWNED'), NULL::text)$$,
           :ev_owned),
    'the owner (even off duty) is alerted, escalation due 5 minutes later');

-- Without an owner the on-duty reps take turns.
SELECT cadence.record_event(:rr1, 'sms_reply', '2026-04-06 17:31+00', NULL, '{"body": "Is it still there?"}') AS ev_rr1 \gset
SELECT cadence.record_event(:rr2, 'sms_reply', '2026-04-06 17:32+00', NULL, '{"body": "What colours?"}') AS ev_rr2 \gset
SELECT cadence.record_event(:rr3, 'sms_reply', '2026-04-06 17:33+00', NULL, '{"body": "Call me"}') AS ev_rr3 \gset
SELECT results_eq(
    $$SELECT external_id, rep, created_at FROM lead_alert WHERE external_id LIKE 'H-RR%' ORDER BY external_id$$,
    $$VALUES ('H-RR1', 'R-ANNA', '2026-04-06 17:31+00'::timestamptz),
             ('H-RR2', 'R-BEN',  '2026-04-06 17:32+00'::timestamptz),
             ('H-RR3', 'R-ANNA', '2026-04-06 17:33+00'::timestamptz)$$,
    'three unowned leads: Anna, Ben, then Anna again; never a manager, an off-duty or an inactive rep');
SELECT results_eq(
    $$SELECT external_id, last_alerted_at FROM cadence.rep ORDER BY rep_id$$,
    $$VALUES ('M-PAUL', NULL::timestamptz), ('R-OFF', NULL), ('R-GONE', NULL), ('M-OLGA', NULL),
             ('R-ANNA', '2026-04-06 17:33+00'::timestamptz), ('R-BEN', '2026-04-06 17:32+00'::timestamptz),
             ('R-OWEN', '2026-04-06 17:30+00'::timestamptz)$$,
    'each alerted rep remembers when; managers, the off-duty rep and the inactive rep were never alerted');

-- A high-intent signal alerts without pausing.
SELECT cadence.record_event(:trade, 'trade_value_request', '2026-04-06 17:40+00', NULL,
                            '{"vehicle": "2017 Civic", "miles": 80000}') AS ev_trade \gset
SELECT row_eq(
    $$SELECT status, exit_reason, paused_at, next_due_at FROM lead_enrolment WHERE external_id = 'H-TRADE'$$,
    ROW('active'::text, NULL::text, NULL::timestamptz, '2026-04-07 14:00+00'::timestamptz),
    'a trade value request leaves the enrolment running');
SELECT results_eq(
    $$SELECT step_no, status FROM lead_touch WHERE external_id = 'H-TRADE' ORDER BY step_no$$,
    $$VALUES (1, 'claimed'), (2, 'queued')$$,
    'and its touches untouched');
SELECT results_eq(
    $$SELECT reason, rep, status, created_at, escalate_at, event_id FROM lead_alert WHERE external_id = 'H-TRADE'$$,
    format($$VALUES ('trade_value_request', 'R-BEN', 'open', '2026-04-06 17:40+00'::timestamptz,
                     '2026-04-06 17:45+00'::timestamptz, %s::bigint)$$, :ev_trade),
    'it alerts the on-duty rep alerted longest ago (Ben)');
SELECT row_eq(
    $$SELECT preferred_channel, last_response_at FROM cadence.lead WHERE external_id = 'H-TRADE'$$,
    ROW(NULL::text, '2026-04-06 17:40+00'::timestamptz),
    'it counts as a response but sets no preferred channel');

-- The same signal again while the alert is open does not raise another.
SELECT cadence.record_event(:trade, 'trade_value_request', '2026-04-06 17:42+00', NULL,
                            '{"vehicle": "2017 Civic", "miles": 79000}', 'web', 'trade-form-2') AS ev_trade2 \gset
SELECT results_eq(
    $$SELECT reason, rep, created_at, event_id FROM lead_alert WHERE external_id = 'H-TRADE'$$,
    format($$VALUES ('trade_value_request', 'R-BEN', '2026-04-06 17:40+00'::timestamptz, %s::bigint)$$, :ev_trade),
    'a second trade value request while the alert is open adds no alert');
SELECT is((SELECT last_alerted_at FROM cadence.rep WHERE rep_id = :ben), '2026-04-06 17:40+00'::timestamptz,
          'and does not count as a new alert for the rep');

-- ---------------------------------------------------------------------------
-- Nobody acted: the tick passes alerts to the on-duty manager at escalate_at.
SELECT is(cadence.tick('2026-04-06 17:34:59+00'), 0, 'tick one second before escalate_at');
SELECT is((SELECT array_agg(DISTINCT status) FROM cadence.alert), '{open}'::text[],
          'one second before escalate_at every alert is still open');
SELECT is(cadence.tick('2026-04-06 17:35+00'), 0, 'tick at escalate_at of the first alert');
SELECT results_eq(
    $$SELECT external_id, status, manager, escalated_at FROM lead_alert ORDER BY created_at$$,
    $$VALUES ('H-OWNED', 'escalated', 'M-OLGA', '2026-04-06 17:35+00'::timestamptz),
             ('H-RR1',   'open',      NULL,     NULL::timestamptz),
             ('H-RR2',   'open',      NULL,     NULL::timestamptz),
             ('H-RR3',   'open',      NULL,     NULL::timestamptz),
             ('H-TRADE', 'open',      NULL,     NULL::timestamptz)$$,
    'at escalate_at the alert goes to the on-duty manager (not the off-duty one with the lower id)');
SELECT cadence.record_event(:owned, 'sms_reply', '2026-04-06 17:50+00', NULL, '{"body": "Hello?"}') AS ev_owned2 \gset
SELECT results_eq(
    $$SELECT reason, status, created_at FROM lead_alert WHERE external_id = 'H-OWNED'$$,
    $$VALUES ('sms_reply', 'escalated', '2026-04-06 17:30+00'::timestamptz)$$,
    'a second reply while the alert is escalated adds no alert');
SELECT row_eq(
    $$SELECT status, paused_at FROM lead_enrolment WHERE external_id = 'H-OWNED'$$,
    ROW('paused'::text, '2026-04-06 17:30+00'::timestamptz),
    'and the enrolment stays paused since the first reply');

-- ---------------------------------------------------------------------------
-- A hot-tier enrolment raises new_hot_lead; its escalation; a rep's contact
-- closes it.
SELECT cadence.enroll(:hot, 'reply-hot', '2026-04-06 18:00+00') AS e_hot \gset
SELECT results_eq(
    $$SELECT reason, rep, status, created_at, escalate_at, event_id, enrolment_id FROM lead_alert WHERE external_id = 'H-HOT'$$,
    format($$VALUES ('new_hot_lead', 'R-ANNA', 'open', '2026-04-06 18:00+00'::timestamptz,
                     '2026-04-06 18:05+00'::timestamptz, NULL::bigint, %s::bigint)$$, :e_hot),
    'enrolling into a hot cadence alerts the next on-duty rep (Anna, alerted at 17:33, before Ben at 17:40)');
SELECT is(cadence.tick('2026-04-06 18:04:59+00'), 1, 'tick at 18:04:59 queues the hot lead''s call');
SELECT is((SELECT status FROM lead_alert WHERE external_id = 'H-HOT'), 'open', 'the alert is open at escalate_at - 1 second');
SELECT is(cadence.tick('2026-04-06 18:05+00'), 1, 'tick at 18:05 queues the hot lead''s text');
SELECT row_eq(
    $$SELECT status, manager, escalated_at FROM lead_alert WHERE external_id = 'H-HOT'$$,
    ROW('escalated'::text, 'M-OLGA'::text, '2026-04-06 18:05+00'::timestamptz),
    'at escalate_at it is escalated to the on-duty manager at the tick time');
SELECT cadence.record_event(:hot, 'rep_contact', '2026-04-06 18:10+00', payload => '{"rep": "R-ANNA"}') AS ev_contact \gset
SELECT row_eq(
    $$SELECT status, closed_at, closed_by FROM lead_alert WHERE external_id = 'H-HOT'$$,
    ROW('closed'::text, '2026-04-06 18:10+00'::timestamptz, 'event:rep_contact'::text),
    'rep_contact closes the escalated alert');
SELECT is((SELECT last_response_at FROM cadence.lead WHERE external_id = 'H-HOT'), NULL,
          'a rep''s note of a conversation is not a response from the lead');

-- A shorter hand-off timeout, and no manager on duty.
UPDATE cadence.tenant SET hand_off_timeout = '2 minutes' WHERE tenant_id = 1;
UPDATE cadence.rep SET on_duty = false WHERE rep_id = :olga;
SELECT cadence.enroll(:fast, 'reply-hot', '2026-04-06 19:00+00') AS e_fast \gset
SELECT row_eq(
    $$SELECT reason, rep, escalate_at FROM lead_alert WHERE external_id = 'H-FAST'$$,
    ROW('new_hot_lead'::text, 'R-OWEN'::text, '2026-04-06 19:02+00'::timestamptz),
    'with hand_off_timeout 2 minutes the owner''s alert is due for escalation at 19:02');
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 19:01:59+00')$$, 'tick at 19:01:59');
SELECT is((SELECT status FROM lead_alert WHERE external_id = 'H-FAST'), 'open', 'the alert is open one second before');
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 19:02+00')$$, 'tick at 19:02');
SELECT row_eq(
    $$SELECT status, manager, escalated_at FROM lead_alert WHERE external_id = 'H-FAST'$$,
    ROW('escalated'::text, 'M-PAUL'::text, '2026-04-06 19:02+00'::timestamptz),
    'with no manager on duty it goes to an active manager');
SELECT cadence.record_event(:fast, 'call_answered', '2026-04-06 19:05+00') AS ev_answered \gset
SELECT row_eq(
    $$SELECT status, closed_at, closed_by FROM lead_alert WHERE external_id = 'H-FAST'$$,
    ROW('closed'::text, '2026-04-06 19:05+00'::timestamptz, 'event:call_answered'::text),
    'call_answered closes the alert');

-- An answered call task closes the alert.
SELECT cadence.enroll(:answer, 'reply-hot', '2026-04-06 20:00+00') AS e_answer \gset
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 20:00+00')$$, 'tick at 20:00');
SELECT touch_id AS t_answer FROM lead_touch WHERE external_id = 'H-ANSWER' AND step_no = 1 \gset
SELECT is((SELECT status FROM cadence.complete_touch(:t_answer, 'answered', '{}', '2026-04-06 20:01+00')), 'done',
          'the owner reports the call answered');
SELECT row_eq(
    $$SELECT status, closed_at, closed_by FROM lead_alert WHERE external_id = 'H-ANSWER'$$,
    ROW('closed'::text, '2026-04-06 20:01+00'::timestamptz, 'touch:' || :t_answer),
    'complete_touch answered closes the alert, naming the touch');

-- ---------------------------------------------------------------------------
-- Resuming a paused enrolment.
SELECT enrolment_id AS e_owned FROM lead_enrolment WHERE external_id = 'H-OWNED' \gset
SELECT enrolment_id AS e_rr1 FROM lead_enrolment WHERE external_id = 'H-RR1' \gset
SELECT row_eq(
    format($$SELECT status, paused_at, exit_reason, next_step_no, next_due_at
               FROM cadence.resume_enrolment(%s, '2026-04-06 21:00+00')$$, :e_owned),
    ROW('active'::text, NULL::timestamptz, NULL::text, 3, '2026-04-07 14:00+00'::timestamptz),
    'resumed before its next step''s time, the enrolment goes on at that step''s planned time');
SELECT row_eq(
    format($$SELECT status, next_step_no, next_due_at FROM cadence.resume_enrolment(%s, '2026-04-07 15:30+00')$$, :e_rr1),
    ROW('active'::text, 3, '2026-04-07 15:30+00'::timestamptz),
    'resumed after that time, the next step is due at once');
SELECT throws_ok(
    format($$SELECT cadence.resume_enrolment(%s, '2026-04-07 15:30+00')$$, :e_rr1),
    'P0002', format('enrolment %s does not exist or is not paused (field "enrolment_id")', :e_rr1),
    'resuming an enrolment that is not paused fails');
SELECT lives_ok($$SELECT cadence.tick('2026-04-07 15:30+00')$$, 'tick at 15:30 on April 7');
SELECT results_eq(
    $$SELECT external_id, step_no, channel, status, planned_at, due_at FROM lead_touch
       WHERE external_id IN ('H-OWNED', 'H-RR1') AND step_no = 3 ORDER BY external_id$$,
    $$VALUES ('H-OWNED', 3, 'sms', 'queued', '2026-04-07 14:00+00'::timestamptz, '2026-04-07 14:00+00'::timestamptz),
             ('H-RR1',   3, 'sms', 'queued', '2026-04-07 15:30+00'::timestamptz, '2026-04-07 15:30+00'::timestamptz)$$,
    'the third step is queued at the resumed times');
SELECT lives_ok($$SELECT cadence.tick('2026-04-08 15:30+00')$$, 'tick at 15:30 on April 8');
SELECT results_eq(
    $$SELECT external_id, channel, status, due_at FROM lead_touch
       WHERE external_id IN ('H-OWNED', 'H-TRADE') AND step_no = 4 ORDER BY external_id$$,
    $$VALUES ('H-OWNED', 'sms',   'queued', '2026-04-08 14:00+00'::timestamptz),
             ('H-TRADE', 'email', 'queued', '2026-04-08 14:00+00'::timestamptz)$$,
    'the email-or-text step goes by text to the lead who replied by text, by email to the other');

-- A batch of more than 100 alerts (raise_alerts plans it for its size): 150
-- leads without an owner ask for a trade-in value in one statement; the two
-- on-duty reps take them in turn, in lead order, one alert each.
INSERT INTO cadence.lead (external_id, phone, time_zone)
SELECT 'H-BULK-' || lpad(i::text, 3, '0'), '+1555556' || lpad(i::text, 4, '0'), 'America/New_York'
  FROM generate_series(1, 150) AS i;
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT l.lead_id, 'trade_value_request', '2026-04-09 15:00+00'
  FROM cadence.lead l WHERE l.external_id LIKE 'H-BULK-%' ORDER BY l.lead_id;
SELECT results_eq(
    $$SELECT rep, count(*), min(created_at), max(escalate_at) FROM lead_alert
       WHERE external_id LIKE 'H-BULK-%' AND reason = 'trade_value_request' AND status = 'open'
       GROUP BY rep ORDER BY rep$$,
    $$VALUES ('R-ANNA', 75::bigint, '2026-04-09 15:00+00'::timestamptz, '2026-04-09 15:02+00'::timestamptz),
             ('R-BEN',  75::bigint, '2026-04-09 15:00+00'::timestamptz, '2026-04-09 15:02+00'::timestamptz)$$,
    '150 alerts in one batch: 75 to each on-duty rep, raised at the event, due to escalate after the tenant''s 2 minutes');
SELECT is_empty(
    $$SELECT 1 FROM (SELECT rep, lag(rep) OVER (ORDER BY lead_id) AS previous,
                            alert_id < lag(alert_id) OVER (ORDER BY lead_id) AS out_of_order
                       FROM lead_alert WHERE external_id LIKE 'H-BULK-%') x
       WHERE x.rep = x.previous OR x.out_of_order$$,
    'the reps take turns in lead order, and alert ids follow the leads'' order');
SELECT results_eq(
    $$SELECT external_id, last_alerted_at FROM cadence.rep WHERE external_id IN ('R-ANNA', 'R-BEN') ORDER BY external_id$$,
    $$VALUES ('R-ANNA', '2026-04-09 15:00+00'::timestamptz), ('R-BEN', '2026-04-09 15:00+00'::timestamptz)$$,
    'each rep''s last alert is the batch''s time');
SELECT * FROM finish();
ROLLBACK;
