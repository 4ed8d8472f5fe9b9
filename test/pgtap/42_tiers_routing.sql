-- Tiers with hysteresis and routing by segment and tier.  score_tier()
-- moves a lead up as soon as it reaches a threshold and down only below the
-- current tier's threshold minus the hysteresis (hot at 76 stays hot, at 74
-- becomes warm; warm at 80 is hot at once).  Over simulated time (events,
-- then nightly rescores) a lead whose tier changes leaves its active
-- enrolment (exit 'tier_changed', unsent touches cancelled) for the
-- cadence routed for its segment (or '*') and new tier, starting at the
-- scoring time; no move when the routed cadence is the one it is on, none
-- for a paused enrolment; a score under exit_below ends the enrolment
-- ('low_score').  An escalation rule's points go to score_bonus and show in
-- the stored score.  With tenant.auto_enroll a new lead is enrolled by its
-- route as it is INSERTed, at its own arrival (not when its score is under
-- exit_below), but a lead whose cadence ended on an appointment is not
-- enrolled again when it turns hot; without auto_enroll nobody is.
-- set_route refuses a second route for the same segment and tier.
-- Simulated clock: every call passes its time.  Leads are in New York.
BEGIN;
SELECT plan(38);

CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, v.cadence_key, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
  JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id;
CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;

-- ---------------------------------------------------------------------------
-- score_tier() under the seeds' model (hot 80, warm 60, moderate 40, hysteresis 5).
SELECT cadence.compile_scoring(cadence.default_scoring_spec()) AS seed_model \gset
SELECT results_eq(
    format($$SELECT cadence.score_tier(s, t, %L) FROM (VALUES
              (1, 76, 'hot'), (2, 75, 'hot'), (3, 74, 'hot'), (4, 80, 'warm'), (5, 79, 'warm'),
              (6, 55, 'warm'), (7, 54, 'warm'), (8, 50, 'hot'), (9, 35, 'moderate'), (10, 34, 'moderate'),
              (11, 100, 'cold'), (12, 45, NULL), (13, NULL, 'hot'), (14, 41, 'cold')) v(n, s, t) ORDER BY n$$,
           :'seed_model'),
    $$VALUES ('hot'), ('hot'), ('warm'), ('hot'), ('warm'),
             ('warm'), ('moderate'), ('moderate'), ('moderate'), ('cold'),
             ('hot'), ('moderate'), ('hot'), ('moderate')$$,
    'hot stays hot at 76 and 75, is warm at 74; warm is hot at 80; warm holds at 55, is moderate at 54; a fall past two '
    'tiers lands on the naive tier; moderate holds at 35, is cold at 34; up at once; no tier yet = naive; no score keeps the tier');
SELECT results_eq(
    $$SELECT cadence.score_tier(79, 'hot', cadence.compile_scoring('{"hysteresis": 0}')),
             cadence.score_tier(71, 'hot', cadence.compile_scoring('{"hysteresis": 10}')),
             cadence.score_tier(69, 'hot', cadence.compile_scoring('{"hysteresis": 10}'))$$,
    $$VALUES ('warm', 'hot', 'warm')$$,
    'the hysteresis is the model''s: 0 drops hot at 79, 10 holds hot at 71 and drops it at 69');
-- Thresholds and the hysteresis may be fractions; scores are whole, and the
-- lines are compared exactly (hot at 79.5 is reached at 80, not 79; warm
-- 60.1 less 0.1 is left under 60, so 60 holds; 57.5 is left at 57).
SELECT results_eq(
    $$SELECT cadence.score_tier(80, 'warm', m1), cadence.score_tier(79, 'warm', m1),
             cadence.score_tier(60, 'warm', m2), cadence.score_tier(59, 'warm', m2),
             cadence.score_tier(58, 'warm', m3), cadence.score_tier(57, 'warm', m3)
        FROM (SELECT cadence.compile_scoring('{"tiers": {"hot": 79.5}}') AS m1,
                     cadence.compile_scoring('{"tiers": {"warm": 60.1}, "hysteresis": 0.1}') AS m2,
                     cadence.compile_scoring('{"hysteresis": 2.5}') AS m3) x$$,
    $$VALUES ('hot', 'warm', 'warm', 'moderate', 'warm', 'moderate')$$,
    'fractional thresholds and hysteresis: lines compared exactly against whole scores');
SELECT throws_ok(
    $$SELECT cadence.score_tier(50, 'warm', NULL)$$,
    '22004', 'a scoring model is needed to tier a score (field "model")',
    'score_tier() without a model names the field');

-- ---------------------------------------------------------------------------
-- The tenant's model: base 60 (warm), a trade-in inquiry +25, researching -45;
-- a click 32 points halving weekly, an open 20 points halving weekly.
SELECT is(cadence.define_scoring($${
  "base": 60,
  "fit": [{"label": "trade-in inquiry", "field": "attr.inquiry_type", "equals": "trade_in", "points": 25},
          {"label": "researching", "field": "attr.timeline", "equals": "researching", "points": -45}],
  "engagement": {"email_click": {"points": 32, "half_life": "7 days"},
                 "email_open": {"points": 20, "half_life": "7 days"}},
  "exit_below": 20
}$$), 1, 'the tenant''s model is version 1');

INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-OTTO', 'Otto Ruiz', true);
SELECT cadence.define_cadence($${"key": "r-hot", "name": "Hot 7-day", "tier": "hot",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Ready today", "body": "Come by."}},
            {"channel": "email", "timing": "+1 day", "message": {"subject": "Still here", "body": "Held for you."}}]}$$) AS ignored \gset
SELECT cadence.define_cadence($${"key": "r-warm", "name": "Warm 30-day", "tier": "warm",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Thanks", "body": "Details inside."}},
            {"channel": "email", "timing": "+1 day", "message": {"subject": "Financing", "body": "Options inside."}}]}$$) AS ignored \gset
SELECT cadence.define_cadence($${"key": "r-cold", "name": "Cold 90-day", "tier": "cold",
  "rules": {"escalate": [{"when": {"event": "email_open"}, "move_to": "r-warm", "score": 20}]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Welcome", "body": "Buying guide."}},
            {"channel": "email", "timing": "week 2", "message": {"subject": "New arrivals", "body": "Five picks."}}]}$$) AS ignored \gset
SELECT cadence.define_cadence($${"key": "r-service-hot", "name": "Service defection, hot", "tier": "hot",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Your service visit", "body": "Call us."}}]}$$) AS ignored \gset
SELECT cadence.define_cadence($${"key": "r-aged", "name": "Aged internet lead",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Still looking?", "body": "New stock."}},
            {"channel": "email", "timing": "+3 days", "message": {"subject": "Still looking?", "body": "More stock."}}]}$$) AS ignored \gset

-- Routes: '*' for hot, warm and cold (no moderate route); service defection has its own hot route;
-- aged internet leads stay on one cadence whether warm or hot.
SELECT lives_ok($$SELECT cadence.set_route('*', 'hot', 'r-hot'), cadence.set_route('*', 'warm', 'r-warm'),
                         cadence.set_route('*', 'cold', 'r-cold'),
                         cadence.set_route('service defection risk', 'hot', 'r-service-hot'),
                         cadence.set_route('aged internet lead', 'hot', 'r-aged'),
                         cadence.set_route('aged internet lead', 'warm', 'r-aged')$$,
                'routes for *, for service defection risk and for aged internet leads');
SELECT throws_ok($$SELECT cadence.set_route('*', 'warm', 'r-hot')$$, '23505',
                 'a route for segment "*" and tier "warm" exists already', 'a second * warm route is refused (23505)');
SELECT throws_ok($$SELECT cadence.set_route('aged internet lead', 'hot', 'r-hot')$$, '23505',
                 'a route for segment "aged internet lead" and tier "hot" exists already',
                 'a second route for a segment and tier is refused (23505)');
SELECT results_eq(
    $$SELECT segment, tier, cadence_key FROM cadence.route ORDER BY segment, tier$$,
    $$VALUES ('*', 'cold', 'r-cold'), ('*', 'hot', 'r-hot'), ('*', 'warm', 'r-warm'),
             ('aged internet lead', 'hot', 'r-aged'), ('aged internet lead', 'warm', 'r-aged'),
             ('service defection risk', 'hot', 'r-service-hot')$$,
    'the routes are as set; the refused ones changed nothing');
SELECT cadence.drop_route('*', 'cold') AS dropped_once \gset
SELECT cadence.drop_route('*', 'cold') AS dropped_twice \gset
SELECT cadence.set_route('*', 'cold', 'r-cold') AS ignored \gset
SELECT is(ARRAY[:'dropped_once'::boolean, :'dropped_twice'::boolean,
                EXISTS (SELECT FROM cadence.route WHERE segment = '*' AND tier = 'cold' AND cadence_key = 'r-cold')],
          ARRAY[true, false, true],
          'drop_route says whether there was a route; the route can then be set again');

INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('H-FLAP',    'Ada',  'ada@example.com',  'America/New_York', 'new inbound inquiry',    '{}',                          '2026-04-05 13:00+00'),
    ('H-AGED',    'Ben',  'ben@example.com',  'America/New_York', 'aged internet lead',     '{}',                          '2026-04-05 13:00+00'),
    ('H-SERVICE', 'Cleo', 'cleo@example.com', 'America/New_York', 'service defection risk', '{}',                          '2026-04-05 13:00+00'),
    ('H-PAUSED',  'Dov',  'dov@example.com',  'America/New_York', 'new inbound inquiry',    '{}',                          '2026-04-05 13:00+00'),
    ('H-LOW',     'Eve',  'eve@example.com',  'America/New_York', 'unsold showroom visitor', '{"timeline": "researching"}', '2026-04-05 13:00+00'),
    ('H-ESC',     'Finn', 'finn@example.com', 'America/New_York', 'unsold showroom visitor', '{"timeline": "researching"}', '2026-04-05 13:00+00'),
    ('H-EDGE',    'Gia',  'gia@example.com',  'America/New_York', 'new inbound inquiry',    '{}',                          '2026-04-05 13:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'H-FLAP')    AS flap,
       max(lead_id) FILTER (WHERE external_id = 'H-AGED')    AS aged,
       max(lead_id) FILTER (WHERE external_id = 'H-SERVICE') AS service,
       max(lead_id) FILTER (WHERE external_id = 'H-PAUSED')  AS paused,
       max(lead_id) FILTER (WHERE external_id = 'H-LOW')     AS low,
       max(lead_id) FILTER (WHERE external_id = 'H-ESC')     AS esc,
       max(lead_id) FILTER (WHERE external_id = 'H-EDGE')    AS edge
  FROM cadence.lead \gset
SELECT results_eq(
    $$SELECT external_id, score, tier FROM cadence.lead WHERE external_id LIKE 'H-%' ORDER BY external_id$$,
    $$VALUES ('H-AGED', 60, 'warm'), ('H-EDGE', 60, 'warm'), ('H-ESC', 15, 'cold'), ('H-FLAP', 60, 'warm'),
             ('H-LOW', 15, 'cold'), ('H-PAUSED', 60, 'warm'), ('H-SERVICE', 60, 'warm')$$,
    'new leads: 60 warm, researching 15 cold; auto_enroll is off, so nobody is enrolled');
SELECT is((SELECT count(*) FROM cadence.enrolment), 0::bigint, 'without auto_enroll no lead is enrolled on INSERT');

SELECT cadence.enroll(:flap,    'r-warm', '2026-04-05 14:00+00') AS e_flap \gset
SELECT cadence.enroll(:aged,    'r-aged', '2026-04-05 14:00+00') AS e_aged \gset
SELECT cadence.enroll(:service, 'r-warm', '2026-04-05 14:00+00') AS e_service \gset
SELECT cadence.enroll(:paused,  'r-warm', '2026-04-05 14:00+00') AS e_paused \gset
SELECT cadence.enroll(:low,     'r-cold', '2026-04-05 14:00+00') AS e_low \gset
SELECT cadence.enroll(:esc,     'r-cold', '2026-04-05 14:00+00') AS e_esc \gset
SELECT is(cadence.tick('2026-04-05 14:00+00'), 6, 'the first email of each of the six enrolments is queued');

-- ---------------------------------------------------------------------------
-- April 6, 14:00: a click makes four leads hot (60 + 32 = 92); an SMS reply paused one of them first.
SELECT cadence.record_event(:paused, 'sms_reply', '2026-04-06 13:00+00', payload => '{"body": "Call me tomorrow"}') AS ev \gset
SELECT count(cadence.record_event(id, 'email_click', '2026-04-06 14:00+00')) AS ignored
  FROM unnest(ARRAY[:flap, :aged, :service, :paused, :low]::bigint[]) id \gset
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead
       WHERE external_id IN ('H-FLAP', 'H-AGED', 'H-SERVICE', 'H-PAUSED', 'H-LOW') ORDER BY external_id$$,
    $$VALUES ('H-AGED',    92, 'hot',      '2026-04-06 14:00+00'::timestamptz),
             ('H-FLAP',    92, 'hot',      '2026-04-06 14:00+00'::timestamptz),
             ('H-LOW',     47, 'moderate', '2026-04-06 14:00+00'::timestamptz),
             ('H-PAUSED',  92, 'hot',      '2026-04-06 14:00+00'::timestamptz),
             ('H-SERVICE', 92, 'hot',      '2026-04-06 14:00+00'::timestamptz)$$,
    'the click is scored as it arrives: 92 hot (15 + 32 = 47 moderate for the researching lead)');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at, previous_enrolment_id, next_step_no, next_due_at
        FROM lead_enrolment WHERE external_id = 'H-FLAP' ORDER BY enrolment_id$$,
    format($$VALUES ('r-warm', 'exited', 'tier_changed', '2026-04-05 14:00+00'::timestamptz, '2026-04-06 14:00+00'::timestamptz,
                     NULL::bigint, 2, NULL::timestamptz),
                    ('r-hot', 'active', NULL, '2026-04-06 14:00+00'::timestamptz, NULL::timestamptz,
                     %s::bigint, 1, '2026-04-06 14:00+00'::timestamptz)$$, :e_flap),
    'warm -> hot: the warm enrolment exits (tier_changed) and the hot cadence starts at the click, linked back, first step due then');
SELECT results_eq(
    $$SELECT t.step_no, t.status, t.status_reason FROM lead_touch t WHERE t.external_id = 'H-FLAP' ORDER BY t.touch_id$$,
    $$VALUES (1, 'cancelled', 'tier_changed')$$,
    'the warm email still queued is cancelled (tier_changed)');
SELECT row_eq(
    $$SELECT a.reason, a.status, a.created_at FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.external_id = 'H-FLAP'$$,
    ROW('new_hot_lead'::text, 'open'::text, '2026-04-06 14:00+00'::timestamptz),
    'starting the hot cadence alerts a rep (new_hot_lead)');
SELECT results_eq(
    $$SELECT cadence_key, status, previous_enrolment_id IS NOT NULL FROM lead_enrolment WHERE external_id = 'H-SERVICE' ORDER BY enrolment_id$$,
    $$VALUES ('r-warm', 'exited', false), ('r-service-hot', 'active', true)$$,
    'a service defection lead goes to its segment''s hot route, not to the * route');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason FROM lead_enrolment WHERE external_id = 'H-AGED' ORDER BY enrolment_id$$,
    $$VALUES ('r-aged', 'active', NULL::text)$$,
    'an aged internet lead routed to the cadence it is on is not moved');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason FROM lead_enrolment WHERE external_id = 'H-PAUSED' ORDER BY enrolment_id$$,
    $$VALUES ('r-warm', 'paused', 'handed_off:sms_reply')$$,
    'a paused enrolment is not moved when the lead turns hot');
SELECT results_eq(
    $$SELECT cadence_key, status FROM lead_enrolment WHERE external_id = 'H-LOW' ORDER BY enrolment_id$$,
    $$VALUES ('r-cold', 'active')$$,
    'cold -> moderate with no moderate route: the lead stays where it is');

-- A warm lead that reaches exactly 80 is hot at once.
SELECT cadence.record_event(:edge, 'email_open', '2026-04-06 15:00+00') AS ev \gset
SELECT row_eq($$SELECT score, tier, scored_at FROM cadence.lead WHERE external_id = 'H-EDGE'$$,
              ROW(80, 'hot'::text, '2026-04-06 15:00+00'::timestamptz),
              'an open (20) takes a warm lead to 80: hot at once');

-- An escalation rule of the cold cadence: the open moves the lead and adds 20 to its bonus.
SELECT cadence.record_event(:esc, 'email_open', '2026-04-08 14:00+00') AS ev \gset
SELECT row_eq(
    $$SELECT score_bonus, score, tier, scored_at FROM cadence.lead WHERE external_id = 'H-ESC'$$,
    ROW(20, 55, 'moderate'::text, '2026-04-08 14:00+00'::timestamptz),
    'the escalation adds 20 to score_bonus; the stored score is 15 + open 20 + bonus 20 = 55 as of the open');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason FROM lead_enrolment WHERE external_id = 'H-ESC' ORDER BY enrolment_id$$,
    $$VALUES ('r-cold', 'exited', 'escalated'), ('r-warm', 'active', NULL)$$,
    'the escalation moved the lead from cold to warm');

-- ---------------------------------------------------------------------------
-- Nightly rescores: the click fades (32 halving weekly).
SELECT cadence.rescore('2026-04-13 14:00+00') AS ignored \gset
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead
       WHERE external_id IN ('H-FLAP', 'H-EDGE', 'H-LOW') ORDER BY external_id$$,
    $$VALUES ('H-EDGE', 70, 'warm',  '2026-04-13 14:00+00'::timestamptz),
             ('H-FLAP', 76, 'hot',   '2026-04-13 14:00+00'::timestamptz),
             ('H-LOW',  31, 'cold',  '2026-04-13 14:00+00'::timestamptz)$$,
    'a week later: 60 + 16 = 76 stays hot (above 80 - 5); 60 + 10 = 70 is warm; 15 + 16 = 31 is cold');
SELECT results_eq(
    $$SELECT cadence_key, status FROM lead_enrolment WHERE external_id IN ('H-FLAP', 'H-LOW') ORDER BY external_id, enrolment_id$$,
    $$VALUES ('r-warm', 'exited'), ('r-hot', 'active'), ('r-cold', 'active')$$,
    'still hot: no move; the lead that fell to cold is routed to the cold cadence it is on: no move');

SELECT cadence.rescore('2026-04-15 02:00+00') AS ignored \gset
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead
       WHERE external_id IN ('H-FLAP', 'H-AGED', 'H-SERVICE', 'H-PAUSED') ORDER BY external_id$$,
    $$VALUES ('H-AGED',    74, 'warm', '2026-04-15 02:00+00'::timestamptz),
             ('H-FLAP',    74, 'warm', '2026-04-15 02:00+00'::timestamptz),
             ('H-PAUSED',  74, 'warm', '2026-04-15 02:00+00'::timestamptz),
             ('H-SERVICE', 74, 'warm', '2026-04-15 02:00+00'::timestamptz)$$,
    '8.5 days after the click: 60 + 13.8 = 74, below 75: warm');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at, next_step_no, next_due_at
        FROM lead_enrolment WHERE external_id = 'H-FLAP' ORDER BY enrolment_id$$,
    $$VALUES ('r-warm', 'exited', 'tier_changed', '2026-04-05 14:00+00'::timestamptz, '2026-04-06 14:00+00'::timestamptz,
              2, NULL::timestamptz),
             ('r-hot', 'exited', 'tier_changed', '2026-04-06 14:00+00'::timestamptz, '2026-04-15 02:00+00'::timestamptz,
              1, NULL::timestamptz),
             ('r-warm', 'active', NULL, '2026-04-15 02:00+00'::timestamptz, NULL::timestamptz,
              1, '2026-04-15 02:00+00'::timestamptz)$$,
    'hot -> warm: the hot enrolment exits at the rescore and warm starts again then, first step due at the rescore time');
SELECT is(
    (SELECT e.previous_enrolment_id FROM lead_enrolment e WHERE e.external_id = 'H-FLAP' AND e.status = 'active'),
    (SELECT e.enrolment_id FROM lead_enrolment e WHERE e.external_id = 'H-FLAP' AND e.cadence_key = 'r-hot'),
    'the new warm enrolment links back to the hot one');
SELECT results_eq(
    $$SELECT external_id, cadence_key, status FROM lead_enrolment
       WHERE external_id IN ('H-SERVICE', 'H-AGED', 'H-PAUSED') ORDER BY external_id, enrolment_id$$,
    $$VALUES ('H-AGED', 'r-aged', 'active'),
             ('H-PAUSED', 'r-warm', 'paused'),
             ('H-SERVICE', 'r-warm', 'exited'), ('H-SERVICE', 'r-service-hot', 'exited'), ('H-SERVICE', 'r-warm', 'active')$$,
    'demotion: service goes back to the * warm route; aged stays on its cadence; the paused enrolment stays paused');

-- The researching lead: 15 + 8 = 23 after two weeks, 15 + 4 = 19 after three: under exit_below 20.
SELECT cadence.rescore('2026-04-20 14:00+00') AS ignored \gset
SELECT row_eq(
    $$SELECT l.score, e.status FROM cadence.lead l JOIN lead_enrolment e USING (lead_id) WHERE l.external_id = 'H-LOW'$$,
    ROW(23, 'active'::text), 'at 23 the enrolment goes on');
SELECT cadence.rescore('2026-04-27 14:00+00') AS ignored \gset
SELECT results_eq(
    $$SELECT l.score, l.tier, e.cadence_key, e.status, e.exit_reason, e.ended_at, e.next_due_at
        FROM cadence.lead l JOIN lead_enrolment e USING (lead_id) WHERE l.external_id = 'H-LOW'$$,
    $$VALUES (19, 'cold', 'r-cold', 'exited', 'low_score', '2026-04-27 14:00+00'::timestamptz, NULL::timestamptz)$$,
    'at 19 (under exit_below 20) the enrolment ends: low_score, at the rescore');
SELECT results_eq(
    $$SELECT step_no, status, status_reason FROM lead_touch WHERE external_id = 'H-LOW' ORDER BY touch_id$$,
    $$VALUES (1, 'cancelled', 'low_score')$$,
    'its unsent touch is cancelled (low_score)');

-- ---------------------------------------------------------------------------
-- auto_enroll: new leads are enrolled by their route as they arrive.
UPDATE cadence.tenant SET auto_enroll = true WHERE tenant_id = 1;
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('A-SERVICE', 'Hal', 'hal@example.com', 'America/New_York', 'service defection risk', '{"inquiry_type": "trade_in"}', '2026-05-04 15:10+00');
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('A-SHOWROOM', 'Ivy', 'ivy@example.com', 'America/New_York', 'unsold showroom visitor', '{}', '2026-05-04 16:20+00');
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('A-AGED', 'Jo', 'jo@example.com', 'America/New_York', 'aged internet lead', '{"inquiry_type": "trade_in"}', '2026-05-04 16:30+00');
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('A-LOW', 'Kit', 'kit@example.com', 'America/New_York', 'new inbound inquiry', '{"timeline": "researching"}', '2026-05-04 16:40+00');
SELECT results_eq(
    $$SELECT l.external_id, l.score, l.tier, e.cadence_key, e.status, e.enrolled_at, e.next_due_at
        FROM cadence.lead l LEFT JOIN lead_enrolment e USING (lead_id)
       WHERE l.external_id LIKE 'A-%' ORDER BY l.external_id$$,
    $$VALUES ('A-AGED',     85, 'hot',  'r-aged',        'active', '2026-05-04 16:30+00'::timestamptz, '2026-05-04 16:30+00'::timestamptz),
             ('A-LOW',      15, 'cold', NULL,            NULL,     NULL, NULL),
             ('A-SERVICE',  85, 'hot',  'r-service-hot', 'active', '2026-05-04 15:10+00'::timestamptz, '2026-05-04 15:10+00'::timestamptz),
             ('A-SHOWROOM', 60, 'warm', 'r-warm',        'active', '2026-05-04 16:20+00'::timestamptz, '2026-05-04 16:20+00'::timestamptz)$$,
    'with auto_enroll each new lead is enrolled at its arrival by segment and tier; a lead under exit_below is not enrolled');
SELECT row_eq(
    $$SELECT a.reason, a.created_at FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'A-SERVICE'$$,
    ROW('new_hot_lead'::text, '2026-05-04 15:10+00'::timestamptz),
    'a new lead routed to a hot cadence alerts a rep at its arrival');
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('B-MORNING', 'Lou', 'lou@example.com', 'America/New_York', 'unsold showroom visitor', '{}', '2026-05-05 13:00+00'),
    ('B-EVENING', 'Max', 'max@example.com', 'America/New_York', 'unsold showroom visitor', '{}', '2026-05-05 22:00+00');
SELECT results_eq(
    $$SELECT external_id, cadence_key, enrolled_at, next_due_at FROM lead_enrolment
       WHERE external_id LIKE 'B-%' ORDER BY external_id$$,
    $$VALUES ('B-EVENING', 'r-warm', '2026-05-05 22:00+00'::timestamptz, '2026-05-05 22:00+00'::timestamptz),
             ('B-MORNING', 'r-warm', '2026-05-05 13:00+00'::timestamptz, '2026-05-05 13:00+00'::timestamptz)$$,
    'two leads arriving in one INSERT are each enrolled at their own arrival');

-- A lead whose cadence ended because it booked an appointment is not enrolled again when a later click makes it hot.
SELECT cadence.record_event(lead_id, 'appointment_set', '2026-05-05 10:00+00') AS ev FROM cadence.lead WHERE external_id = 'A-SHOWROOM' \gset
SELECT cadence.record_event(lead_id, 'email_click', '2026-05-05 12:00+00') AS ev FROM cadence.lead WHERE external_id = 'A-SHOWROOM' \gset
SELECT results_eq(
    $$SELECT l.score, l.tier, e.cadence_key, e.status, e.exit_reason
        FROM cadence.lead l JOIN lead_enrolment e USING (lead_id) WHERE l.external_id = 'A-SHOWROOM' ORDER BY e.enrolment_id$$,
    $$VALUES (92, 'hot', 'r-warm', 'exited', 'appointment_set')$$,
    'auto_enroll is for new leads: a lead that left its cadence on an appointment is not put on the hot cadence by a later click');

UPDATE cadence.tenant SET auto_enroll = false WHERE tenant_id = 1;
INSERT INTO cadence.lead (external_id, first_name, email, time_zone, segment, attributes, created_at) VALUES
    ('A-OFF', 'Nia', 'nia@example.com', 'America/New_York', 'service defection risk', '{"inquiry_type": "trade_in"}', '2026-05-06 15:00+00');
SELECT row_eq(
    $$SELECT l.score, l.tier, (SELECT count(*) FROM cadence.enrolment e WHERE e.lead_id = l.lead_id)
        FROM cadence.lead l WHERE l.external_id = 'A-OFF'$$,
    ROW(85, 'hot'::text, 0::bigint),
    'with auto_enroll off again a new hot lead is scored but not enrolled');

SELECT * FROM finish();
ROLLBACK;
