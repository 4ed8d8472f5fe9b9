-- The score that an event writes counts what the same event changes on the
-- lead: the channel an SMS reply makes preferred, under a model with a fit
-- rule on preferred_channel, is in the score at once, through
-- record_event (one event) and through an INSERT of two events (a batch);
-- the stored score is the one score() computes afresh.  An event that
-- arrives late (older than the lead's last engagement) moves neither
-- last_engagement_at nor last_response_at back.
-- Simulated clock: every call passes its time.
BEGIN;
SELECT plan(7);

SELECT is(cadence.define_scoring($${
  "base": 20,
  "fit": [{"label": "answers by text", "field": "preferred_channel", "equals": "sms", "points": 15}],
  "tiers": {"hot": 90, "warm": 60, "moderate": 30},
  "exit_below": 0,
  "hysteresis": 0
}$$), 1, 'the tenant''s model: base 20, 15 more for a lead whose preferred channel is SMS');

INSERT INTO cadence.lead (external_id, first_name, time_zone, created_at) VALUES
    ('C-ONE',   'Ada', 'America/New_York', '2026-05-04 14:00+00'),
    ('C-BATCH', 'Ben', 'America/New_York', '2026-05-04 14:00+00');
SELECT results_eq(
    $$SELECT external_id, preferred_channel, score, tier FROM cadence.lead WHERE external_id LIKE 'C-%' ORDER BY external_id$$,
    $$VALUES ('C-BATCH', NULL::text, 20, 'cold'), ('C-ONE', NULL::text, 20, 'cold')$$,
    'without a preferred channel both leads score the base, 20 (cold)');

SELECT cadence.record_event(lead_id, 'sms_reply', '2026-05-04 15:00+00', NULL, '{"body": "Yes, tomorrow works"}',
                            'twilio', 'SM-score-1')
  FROM cadence.lead WHERE external_id = 'C-ONE' \gset
SELECT row_eq(
    $$SELECT preferred_channel, score, tier, scored_at FROM cadence.lead WHERE external_id = 'C-ONE'$$,
    ROW('sms'::text, 35, 'moderate'::text, '2026-05-04 15:00+00'::timestamptz),
    'record_event: the reply makes SMS the channel, and the score it writes counts it: 20 + 15 = 35 (moderate)');
SELECT is((SELECT cadence.score(lead_id, '2026-05-04 15:00+00') FROM cadence.lead WHERE external_id = 'C-ONE'), 35,
          'the stored score is the one score() computes afresh');

INSERT INTO cadence.event (lead_id, kind, occurred_at, payload, source, provider_id)
SELECT l.lead_id, x.kind, x.at, x.payload, x.source, x.provider_id
  FROM cadence.lead l,
       (VALUES ('email_open', '2026-05-04 15:10+00'::timestamptz, '{}'::jsonb, 'esp', 'open-score-2'),
               ('sms_reply', '2026-05-04 15:20+00', '{"body": "Can I bring my trade?"}', 'twilio', 'SM-score-2'))
       AS x(kind, at, payload, source, provider_id)
 WHERE l.external_id = 'C-BATCH';
SELECT row_eq(
    $$SELECT preferred_channel, score, tier, scored_at FROM cadence.lead WHERE external_id = 'C-BATCH'$$,
    ROW('sms'::text, 35, 'moderate'::text, '2026-05-04 15:20+00'::timestamptz),
    'a batch of an open and a reply: the same, scored as of the reply');

SELECT cadence.record_event(lead_id, 'email_click', '2026-05-04 14:30+00', NULL, '{}', 'esp', 'click-late')
  FROM cadence.lead WHERE external_id = 'C-ONE' \gset
SELECT row_eq(
    $$SELECT last_response_at, last_engagement_at, preferred_channel FROM cadence.lead WHERE external_id = 'C-ONE'$$,
    ROW('2026-05-04 15:00+00'::timestamptz, '2026-05-04 15:00+00'::timestamptz, 'sms'::text),
    'a click delivered late (14:30, before the 15:00 reply) moves neither time back and keeps the channel');
SELECT is((SELECT score FROM cadence.lead WHERE external_id = 'C-ONE'), 35,
          'and the late click leaves the score as it was (the model has no engagement rules)');

SELECT * FROM finish();
ROLLBACK;
