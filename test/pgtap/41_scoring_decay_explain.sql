-- Engagement decay and explanations under the seeds' model: each event kind
-- decays with its own half-life (an email click is 8 points with a 14-day
-- half-life: 8 at once, 4 after 14 days, 2 after 28; an SMS reply 15 points
-- halving every 7 days), the sum per kind is capped (clicks at 16), events
-- after as_of are ignored, and the score is rounded to a whole number
-- (halves up, as round() does) and clamped to 0-100; an old event recorded
-- late does not rewind the stored score.  score_explain() lists base, fit
-- rules, each kind (events, decayed sum, cap), bonus and an adjustment for
-- rounding and clamping, and its points add up to score() exactly.
-- rescore(as_of) over a few hundred leads stores exactly what score() says
-- lead by lead, touches only the leads whose score or tier changed (the
-- others keep their scored_at), logs a scoring_run row and returns the
-- number changed.
-- Simulated clock: every call passes its time.  Leads are in New York.
BEGIN;
SELECT plan(32);

INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, score_bonus, created_at) VALUES
    ('D-ONE',     'Ada',  'America/New_York', '{}',                          0,   '2026-03-01 12:00+00'),
    ('D-CAP',     'Ben',  'America/New_York', '{}',                          0,   '2026-03-01 12:00+00'),
    ('D-WEEK',    'Cleo', 'America/New_York', '{}',                          0,   '2026-03-01 12:00+00'),
    ('D-QUARTER', 'Dov',  'America/New_York', '{}',                          0,   '2026-03-01 12:00+00'),
    ('D-MIX',     'Eve',  'America/New_York', '{}',                          0,   '2026-03-01 12:00+00'),
    ('D-EXPLAIN', 'Finn', 'America/New_York', '{"timeline": "1_3_months"}',  5,   '2026-03-01 12:00+00'),
    ('D-CLAMP',   'Gia',  'America/New_York', '{"timeline": "this_week"}',   20,  '2026-03-01 12:00+00'),
    ('D-NEG',     'Hal',  'America/New_York', '{"timeline": "researching"}', -50, '2026-03-01 12:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'D-ONE')     AS one,
       max(lead_id) FILTER (WHERE external_id = 'D-CAP')     AS cap,
       max(lead_id) FILTER (WHERE external_id = 'D-WEEK')    AS week,
       max(lead_id) FILTER (WHERE external_id = 'D-QUARTER') AS quarter,
       max(lead_id) FILTER (WHERE external_id = 'D-MIX')     AS mix,
       max(lead_id) FILTER (WHERE external_id = 'D-EXPLAIN') AS explain,
       max(lead_id) FILTER (WHERE external_id = 'D-CLAMP')   AS clamp,
       max(lead_id) FILTER (WHERE external_id = 'D-NEG')     AS neg
  FROM cadence.lead \gset

-- ---------------------------------------------------------------------------
-- One click (8 points, half-life 14 days), base 30.
SELECT cadence.record_event(:one, 'email_click', '2026-03-02 15:00+00') AS ev \gset
SELECT row_eq($$SELECT score, tier, scored_at FROM cadence.lead WHERE external_id = 'D-ONE'$$,
              ROW(38, 'cold'::text, '2026-03-02 15:00+00'::timestamptz),
              'the click rescores the lead as of the click: 30 + 8 = 38');
SELECT results_eq(
    format($$SELECT cadence.score(%s, t) FROM unnest(ARRAY[
              '2026-03-02 14:59+00', '2026-03-02 15:00+00', '2026-03-09 15:00+00', '2026-03-16 15:00+00',
              '2026-03-30 15:00+00', '2026-04-13 15:00+00', '2026-06-10 15:00+00']::timestamptz[]) WITH ORDINALITY u(t, n)
            ORDER BY n$$, :one),
    $$VALUES (30), (38), (36), (34), (32), (31), (30)$$,
    'a click decays 8 -> 5.66 (7 days) -> 4 (14) -> 2 (28) -> 1 (42) -> 0.07 (100): 30, 38, 36, 34, 32, 31, 30; '
    'a minute before the click it does not count');
SELECT cadence.record_event(:one, 'email_click', '2026-04-01 15:00+00') AS ev \gset
SELECT results_eq(
    format($$SELECT cadence.score(%s, t) FROM unnest(ARRAY['2026-03-30 15:00+00', '2026-04-01 15:00+00']::timestamptz[])
                    WITH ORDINALITY u(t, n) ORDER BY n$$, :one),
    $$VALUES (32), (40)$$,
    'a later click is ignored before it happens (32 on March 30) and adds its 8 points from then on (1.81 + 8 + 30 = 39.81 -> 40)');

-- Three clicks at once: 24 points, capped at 16 while the decayed sum is above the cap.
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT :cap, 'email_click', '2026-03-02 15:00+00' FROM generate_series(1, 3);
SELECT results_eq(
    format($$SELECT cadence.score(%s, t) FROM unnest(ARRAY[
              '2026-03-02 15:00+00', '2026-03-09 15:00+00', '2026-03-16 15:00+00', '2026-03-30 15:00+00']::timestamptz[])
              WITH ORDINALITY u(t, n) ORDER BY n$$, :cap),
    $$VALUES (46), (46), (42), (36)$$,
    'three clicks: 24 capped at 16 (46), 16.97 still capped after 7 days (46), 12 after 14 days (42), 6 after 28 (36)');

-- Half-lives differ per kind; a click last week counts more than one last quarter.
SELECT cadence.record_event(:week, 'email_click', '2026-05-25 15:00+00') AS ev \gset
SELECT cadence.record_event(:quarter, 'email_click', '2026-03-02 15:00+00') AS ev \gset
SELECT results_eq(
    format($$SELECT cadence.score(%s, '2026-06-01 15:00+00'), cadence.score(%s, '2026-06-01 15:00+00')$$, :week, :quarter),
    $$VALUES (36, 30)$$,
    'on June 1 a click of last week is worth 5.66 points (36), one of 91 days ago 0.09 (30)');
-- An old open that reaches us late (a delayed webhook, a CRM import) must not rewind the score.
SELECT cadence.record_event(:week, 'email_open', '2026-03-05 15:00+00') AS ev \gset
SELECT row_eq($$SELECT score, tier, scored_at FROM cadence.lead WHERE external_id = 'D-WEEK'$$,
              ROW(38, 'cold'::text, '2026-05-25 15:00+00'::timestamptz),
              'an open of March 5 recorded after the click of May 25: the stored score still counts the click '
              '(30 + 8 + 0.05 = 38, scored as of May 25), it is not rescored back to March 5 (33)');
SELECT cadence.record_event(:mix, 'sms_reply', '2026-03-02 15:00+00', payload => '{"body": "Is it still there?"}') AS ev \gset
SELECT cadence.record_event(:mix, 'email_click', '2026-03-02 15:00+00') AS ev \gset
SELECT results_eq(
    format($$SELECT cadence.score(%s, t) FROM unnest(ARRAY[
              '2026-03-02 15:00+00', '2026-03-09 15:00+00', '2026-03-16 15:00+00', '2026-03-30 15:00+00']::timestamptz[])
              WITH ORDINALITY u(t, n) ORDER BY n$$, :mix),
    $$VALUES (53), (43), (38), (33)$$,
    'an SMS reply (15, half-life 7 days) and a click (8, 14 days): 53, then 30 + 5.66 + 7.5 = 43, 30 + 4 + 3.75 = 38, '
    '30 + 2 + 0.94 = 33');
SELECT results_eq(
    format($$SELECT component, detail, points FROM cadence.score_explain(%s, '2026-03-16 15:00+00')$$, :mix),
    $$VALUES ('base', 'every lead starts here', 30.00),
             ('engagement', 'email_click: 1 event, 4.00 points after decay (half-life 14.0 days)', 4.00),
             ('engagement', 'sms_reply: 1 event, 3.75 points after decay (half-life 7.0 days)', 3.75),
             ('adjustment', 'rounded to a whole score', 0.25)$$,
    'after 14 days the click has lost half, the reply three quarters; 37.75 rounds to 38');

-- ---------------------------------------------------------------------------
-- A lead with a fit rule, several kinds and a bonus.
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES
    (:explain, 'email_open',  '2026-03-02 15:00+00', '{}'),
    (:explain, 'email_open',  '2026-03-03 15:00+00', '{}'),
    (:explain, 'email_click', '2026-03-02 15:00+00', '{}'),
    (:explain, 'email_click', '2026-03-02 15:00+00', '{}'),
    (:explain, 'email_click', '2026-03-02 15:00+00', '{}'),
    (:explain, 'sms_reply',   '2026-03-04 15:00+00', '{"body": "What colours?"}'),
    (:clamp,   'email_open',  '2026-03-02 15:00+00', '{}'),
    (:clamp,   'email_open',  '2026-03-03 15:00+00', '{}'),
    (:clamp,   'email_click', '2026-03-02 15:00+00', '{}'),
    (:clamp,   'email_click', '2026-03-02 15:00+00', '{}'),
    (:clamp,   'email_click', '2026-03-02 15:00+00', '{}'),
    (:clamp,   'sms_reply',   '2026-03-04 15:00+00', '{"body": "What colours?"}'),
    -- after the as_of below: not counted
    (:explain, 'appointment_set', '2026-03-12 15:00+00', '{}');
SELECT results_eq(
    format($$SELECT component, detail, points FROM cadence.score_explain(%s, '2026-03-09 15:00+00')$$, :explain),
    $$VALUES ('base', 'every lead starts here', 30.00),
             ('fit', 'buying in 1-3 months', 15.00),
             ('engagement', 'email_click: 3 events, 16.97 points after decay (half-life 14.0 days), capped at 16', 16.00),
             ('engagement', 'email_open: 2 events, 4.35 points after decay (half-life 14.0 days)', 4.35),
             ('engagement', 'sms_reply: 1 event, 9.14 points after decay (half-life 7.0 days)', 9.14),
             ('bonus', 'escalations (score added by cadence rules)', 5.00),
             ('adjustment', 'rounded to a whole score', -0.49)$$,
    'why this lead is 79: base 30, 1-3 months 15, clicks capped at 16, opens 4.35, SMS reply 9.14, bonus 5, rounding -0.49');
SELECT row_eq(
    format($$SELECT cadence.score(%s, '2026-03-09 15:00+00'),
                    (SELECT sum(points) FROM cadence.score_explain(%s, '2026-03-09 15:00+00'))$$, :explain, :explain),
    ROW(79, 79.00::numeric),
    'the explanation adds up to the score exactly');
SELECT results_eq(
    format($$SELECT component, detail, points FROM cadence.score_explain(%s, '2026-03-09 15:00+00')$$, :clamp),
    $$VALUES ('base', 'every lead starts here', 30.00),
             ('fit', 'buying this week', 40.00),
             ('engagement', 'email_click: 3 events, 16.97 points after decay (half-life 14.0 days), capped at 16', 16.00),
             ('engagement', 'email_open: 2 events, 4.35 points after decay (half-life 14.0 days)', 4.35),
             ('engagement', 'sms_reply: 1 event, 9.14 points after decay (half-life 7.0 days)', 9.14),
             ('bonus', 'escalations (score added by cadence rules)', 20.00),
             ('adjustment', 'capped at 100', -19.49)$$,
    'a lead at 119.49 is capped at 100 and the explanation says by how much');
SELECT results_eq(
    format($$SELECT component, detail, points FROM cadence.score_explain(%s, '2026-03-09 15:00+00')$$, :neg),
    $$VALUES ('base', 'every lead starts here', 30.00),
             ('fit', 'researching, 3+ months', -10.00),
             ('bonus', 'escalations (score added by cadence rules)', -50.00),
             ('adjustment', 'raised to 0', 30.00)$$,
    'a lead at -30 is raised to 0');
SELECT results_eq(
    format($$SELECT (SELECT sum(points) FROM cadence.score_explain(%s, '2026-03-12 15:00+00')),
                    cadence.score(%s, '2026-03-12 15:00+00')$$, :explain, :explain),
    $$VALUES (100.00::numeric, 100)$$,
    'the appointment on March 12 counts from that moment (30 more points): capped at 100, explanation still adds up');
SELECT row_eq(
    $$SELECT score, tier, scored_at FROM cadence.lead WHERE external_id = 'D-EXPLAIN'$$,
    ROW(100, 'hot'::text, '2026-03-12 15:00+00'::timestamptz),
    'a multi-row INSERT of events rescores its leads as of the newest event of the statement (the appointment)');

-- ---------------------------------------------------------------------------
-- A few hundred leads with assorted fit, bonuses and events.
INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, score_bonus, created_at)
SELECT format('R-%s', lpad(i::text, 3, '0')), 'Lead ' || i, 'America/New_York',
       jsonb_strip_nulls(jsonb_build_object(
           'timeline', (ARRAY['this_week', 'this_month', '1_3_months', 'researching', NULL])[1 + i % 5],
           'inquiry_type', CASE WHEN i % 7 = 0 THEN 'trade_in' WHEN i % 11 = 0 THEN 'Test_Drive' END)),
       (i % 5) * 10 - 10, '2026-03-01 12:00+00'
  FROM generate_series(1, 300) i;
-- Every sixth lead has no events; the others one to five, of assorted kinds and ages.
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT l.lead_id,
       (ARRAY['email_open', 'email_click', 'email_reply', 'sms_reply', 'call_answered', 'trade_value_request',
              'credit_question', 'urgent_timeline', 'appointment_set', 'call_no_answer'])[1 + (n * 7 + k * 3) % 10],
       '2026-03-01 12:00+00'::timestamptz + ((n * 37 + k * 11) % 80) * interval '1 day' + ((n * k) % 24) * interval '1 hour'
  FROM cadence.lead l
 CROSS JOIN LATERAL (SELECT substr(l.external_id, 3)::integer AS n) x
 CROSS JOIN LATERAL generate_series(1, n % 6) k
 WHERE l.external_id LIKE 'R-%';

CREATE TEMP TABLE before_rescore AS SELECT lead_id, score, tier, scored_at FROM cadence.lead;
SELECT cadence.rescore('2026-04-15 12:00+00') AS changed_april \gset
SELECT is_empty(
    $$SELECT external_id, score, cadence.score(lead_id, '2026-04-15 12:00+00') FROM cadence.lead
       WHERE score IS DISTINCT FROM cadence.score(lead_id, '2026-04-15 12:00+00')$$,
    'after rescore(April 15) every lead''s stored score equals score() as of April 15');
SELECT is(
    (SELECT count(*) FROM cadence.lead l JOIN before_rescore b USING (lead_id)
      WHERE (l.score, l.tier) IS DISTINCT FROM (b.score, b.tier) AND l.scored_at = '2026-04-15 12:00+00'),
    :changed_april::bigint,
    'rescore returns the number of leads whose score or tier changed, and those carry scored_at = April 15');
SELECT is_empty(
    $$SELECT l.external_id FROM cadence.lead l JOIN before_rescore b USING (lead_id)
       WHERE (l.score, l.tier) IS NOT DISTINCT FROM (b.score, b.tier) AND l.scored_at IS DISTINCT FROM b.scored_at$$,
    'leads whose score and tier did not change are not updated (scored_at kept)');
SELECT results_eq(
    $$SELECT count(*) FILTER (WHERE scored_at = '2026-03-01 12:00+00'), count(*) FILTER (WHERE scored_at = '2026-04-15 12:00+00')
        FROM cadence.lead WHERE external_id LIKE 'R-%' AND substr(external_id, 3)::integer % 6 = 0$$,
    $$VALUES (50::bigint, 0::bigint)$$,
    'the 50 leads without events keep the scored_at of their arrival');
SELECT row_eq(
    $$SELECT as_of, leads_scored, leads_changed FROM cadence.scoring_run ORDER BY run_id DESC LIMIT 1$$,
    ROW('2026-04-15 12:00+00'::timestamptz, 308::bigint, :changed_april::bigint),
    'the rescore is logged: as of April 15, 308 leads scored, the number changed');
SELECT is(cadence.rescore('2026-04-15 12:00+00'), 0::bigint, 'a second rescore at the same time changes nothing');
SELECT results_eq(
    $$SELECT leads_scored, leads_changed FROM cadence.scoring_run ORDER BY run_id$$,
    format($$VALUES (308::bigint, %s::bigint), (308::bigint, 0::bigint)$$, :changed_april),
    'each rescore writes its own scoring_run row');

-- Decay over simulated time: rescore at later dates and at an earlier one.
DELETE FROM before_rescore;
INSERT INTO before_rescore SELECT lead_id, score, tier, scored_at FROM cadence.lead;
SELECT cadence.rescore('2026-07-01 12:00+00') AS changed_july \gset
SELECT is_empty(
    $$SELECT external_id FROM cadence.lead WHERE score IS DISTINCT FROM cadence.score(lead_id, '2026-07-01 12:00+00')$$,
    'after rescore(July 1) every stored score equals score() as of July 1');
SELECT is(
    (SELECT count(*) FROM cadence.lead l JOIN before_rescore b USING (lead_id)
      WHERE (l.score, l.tier) IS DISTINCT FROM (b.score, b.tier) AND l.scored_at = '2026-07-01 12:00+00'),
    :changed_july::bigint,
    'the July rescore returns the number of leads it changed');
SELECT cadence.rescore('2026-03-10 00:00+00') AS changed_march \gset
SELECT is_empty(
    $$SELECT external_id FROM cadence.lead WHERE score IS DISTINCT FROM cadence.score(lead_id, '2026-03-10 00:00+00')$$,
    'rescore(March 10) leaves out the events after March 10, exactly as score() does');

-- The explanations add up to score() for every lead at several times (rounded, capped and raised cases).
SELECT is_empty(
    $$SELECT l.external_id, t, cadence.score(l.lead_id, t), (SELECT sum(x.points) FROM cadence.score_explain(l.lead_id, t) x)
        FROM cadence.lead l
       CROSS JOIN unnest(ARRAY['2026-03-05 08:00+00', '2026-04-01 12:00+00', '2026-05-20 18:30+00']::timestamptz[]) t
       WHERE (SELECT sum(x.points) FROM cadence.score_explain(l.lead_id, t) x) <> cadence.score(l.lead_id, t)$$,
    'for 308 leads at three times the points of score_explain() add up to score() exactly');
SELECT results_eq(
    $$SELECT x.detail, count(DISTINCT l.lead_id) > 0
        FROM cadence.lead l
       CROSS JOIN unnest(ARRAY['2026-03-05 08:00+00', '2026-04-01 12:00+00', '2026-05-20 18:30+00']::timestamptz[]) t
       CROSS JOIN cadence.score_explain(l.lead_id, t) x
       WHERE x.component = 'adjustment' GROUP BY x.detail ORDER BY x.detail$$,
    $$VALUES ('capped at 100', true), ('raised to 0', true), ('rounded to a whole score', true)$$,
    'those explanations include capped, raised and rounded scores');

-- Rounding: round() as in the spec (and SQL), halves away from zero: 30 + 2.5 = 32.5 is 33.
SELECT results_eq(
    $$SELECT cadence.compute_score(cadence.compile_scoring('{"base": 30, "engagement": {"email_click": {"points": 5, "half_life": "1 day"}}}'),
                                   l, ARRAY['email_click'], ARRAY['2026-03-01 12:00+00'::timestamptz], t)
        FROM cadence.lead l,
             unnest(ARRAY['2026-03-01 12:00+00', '2026-03-02 12:00+00']::timestamptz[]) WITH ORDINALITY u(t, n)
       WHERE l.external_id = 'D-ONE' ORDER BY n$$,
    $$VALUES (35), (33)$$,
    'a click of 5 points halving daily: 35 at once, 32.5 a day later rounds to 33');

-- Every stored score, whichever path stored it (the event trigger lead by
-- lead, or a full rescore), is what score() gives as of its scored_at.
SELECT is_empty(
    $$SELECT l.external_id, l.score, cadence.score(l.lead_id, l.scored_at)
        FROM cadence.lead l
       WHERE l.scored_at IS NOT NULL AND l.score IS DISTINCT FROM cadence.score(l.lead_id, l.scored_at)$$,
    'each stored score equals score() as of the time it was stored');

-- The two-step form a full rescore uses: engagement_points() sums one
-- lead's events as rows (decayed per kind, then capped), compute_score_from()
-- adds the lead's own parts.  Opens of 10 points halving daily, capped at 15:
-- 10 + 5 + 2.5 = 17.5 is capped to 15; one open a day old is 5; an open
-- after as_of does not count.
SELECT results_eq(
    $$SELECT cadence.engagement_points(m, e.kind, e.at, '2026-03-10 12:00+00')
        FROM (SELECT cadence.compile_scoring('{"engagement": {"email_open": {"points": 10, "half_life": "1 day", "cap": 15}}}') AS m) x,
             (VALUES (1, 'email_open', '2026-03-10 12:00+00'::timestamptz), (1, 'email_open', '2026-03-09 12:00+00'),
                     (1, 'email_open', '2026-03-08 12:00+00'), (1, 'email_click', '2026-03-10 12:00+00'),
                     (2, 'email_open', '2026-03-09 12:00+00'), (2, 'email_open', '2026-03-11 12:00+00')) e(g, kind, at)
       GROUP BY e.g ORDER BY e.g$$,
    $$VALUES (15::double precision), (5::double precision)$$,
    'engagement_points: decay per event, the cap per kind, kinds without a rule and later events ignored');
SELECT is(
    cadence.compute_score_from(cadence.compile_scoring('{"base": 30}'), l, 2.5), 33,
    'compute_score_from adds the engagement to base and fit and rounds as compute_score does (32.5 -> 33)')
  FROM cadence.lead l WHERE l.external_id = 'D-ONE';
SELECT is_empty(
    $$WITH m AS (SELECT cadence.scoring_model_for(cadence.current_tenant()) AS m),
           t AS (SELECT unnest(ARRAY['2026-03-01 12:00+00', '2026-04-15 12:00+00', '2026-09-01 12:00+00']::timestamptz[]) AS t)
      SELECT l.external_id, t.t
        FROM cadence.lead l CROSS JOIN m CROSS JOIN t
        LEFT JOIN LATERAL (SELECT cadence.engagement_points(m.m, e.kind, e.occurred_at, t.t) AS points,
                                  array_agg(e.kind) AS kinds, array_agg(e.occurred_at) AS times
                             FROM cadence.event e WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id) ev ON true
       WHERE cadence.compute_score_from(m.m, l, ev.points)
             IS DISTINCT FROM cadence.compute_score(m.m, l, ev.kinds, ev.times, t.t)$$,
    'for every lead at three times, the two-step score equals compute_score()');
SELECT throws_ok(
    $$SELECT cadence.engagement_points(NULL, 'email_open', '2026-03-01 12:00+00', '2026-03-02 12:00+00')$$,
    '22004', 'a scoring model is needed to count engagement (field "model")',
    'engagement_points() without a model names the field');

SELECT * FROM finish();
ROLLBACK;
