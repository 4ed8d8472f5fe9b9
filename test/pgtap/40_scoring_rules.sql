-- Scoring rules: the seed's tiers under the built-in model (a trade-in
-- inquiry is hot at 80, buying this month warm at 65, 1-3 months moderate
-- at 45, no signal cold at 30, researching cold at 20), scored as leads are
-- INSERTed (as of each lead's created_at); a tenant's own model from
-- define_scoring with equals / in / range / exists rules on attributes and
-- on lead columns (segment, source), case-insensitive text matching, numeric
-- ranges with open ends (bounds included), and the clamp to 0 and 100;
-- versions (the latest is in force for score() at once, stored scores
-- follow at the next rescore); a tenant without a model of its own keeps
-- the built-in one; score() and score_explain() of an unknown lead (or a
-- lead of another tenant) fail with P0002.
-- Simulated clock: every call passes its time.  Leads are in New York.
BEGIN;
SELECT plan(23);

-- ---------------------------------------------------------------------------
-- The built-in model (the seeds): no tenant model defined yet.
INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, created_at) VALUES
    ('S-TRADE',    'Ada',  'America/New_York', '{"inquiry_type": "trade_in"}',                  '2026-03-02 15:00+00'),
    ('S-MONTH',    'Ben',  'America/New_York', '{"timeline": "this_month"}',                    '2026-03-02 15:00+00'),
    ('S-RESEARCH', 'Cleo', 'America/New_York', '{"timeline": "researching"}',                   '2026-03-02 15:00+00'),
    ('S-NOTHING',  'Dov',  'America/New_York', '{}',                                            '2026-03-02 15:00+00'),
    ('S-QUARTER',  'Eve',  'America/New_York', '{"timeline": "1_3_months"}',                    '2026-03-02 15:00+00'),
    ('S-WEEK',     'Finn', 'America/New_York', '{"timeline": "this_week"}',                     '2026-03-02 15:00+00'),
    ('S-BOTH',     'Gia',  'America/New_York', '{"inquiry_type": "test_drive", "timeline": "this_month"}', '2026-03-02 15:00+00');

SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead WHERE external_id LIKE 'S-%' ORDER BY external_id$$,
    $$VALUES ('S-BOTH',     100, 'hot',      '2026-03-02 15:00+00'::timestamptz),
             ('S-MONTH',     65, 'warm',     '2026-03-02 15:00+00'::timestamptz),
             ('S-NOTHING',   30, 'cold',     '2026-03-02 15:00+00'::timestamptz),
             ('S-QUARTER',   45, 'moderate', '2026-03-02 15:00+00'::timestamptz),
             ('S-RESEARCH',  20, 'cold',     '2026-03-02 15:00+00'::timestamptz),
             ('S-TRADE',     80, 'hot',      '2026-03-02 15:00+00'::timestamptz),
             ('S-WEEK',      70, 'warm',     '2026-03-02 15:00+00'::timestamptz)$$,
    'new leads are scored on INSERT under the seeds'' model: trade-in 80 hot, this month 65 warm, 1-3 months 45 moderate, '
    'nothing 30 cold, researching 20 cold, this week 70 warm, test drive + this month 115 clamped to 100');
SELECT results_eq(
    $$SELECT external_id, cadence.score(lead_id, '2026-03-20 12:00+00') FROM cadence.lead
       WHERE external_id LIKE 'S-%' ORDER BY external_id$$,
    $$VALUES ('S-BOTH', 100), ('S-MONTH', 65), ('S-NOTHING', 30), ('S-QUARTER', 45), ('S-RESEARCH', 20),
             ('S-TRADE', 80), ('S-WEEK', 70)$$,
    'score() gives the same values later (no events, no decay)');
SELECT results_eq(
    $$SELECT x.component, x.detail, x.points FROM cadence.lead l,
             cadence.score_explain(l.lead_id, '2026-03-20 12:00+00') x WHERE l.external_id = 'S-BOTH'$$,
    $$VALUES ('base', 'every lead starts here', 30.00),
             ('fit', 'trade-in, test-drive or pre-approved financing inquiry', 50.00),
             ('fit', 'buying this month', 35.00),
             ('adjustment', 'capped at 100', -15.00)$$,
    'why the test-drive lead buying this month is 100: base, two fit rules, and 15 points over the cap');

-- Two leads in one INSERT, arriving at different times: each is scored as of its own created_at.
INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, created_at) VALUES
    ('S-EARLY', 'Hal', 'America/New_York', '{"timeline": "this_month"}', '2026-03-02 09:00+00'),
    ('S-LATE',  'Ivy', 'America/New_York', '{"timeline": "this_month"}', '2026-03-02 17:45+00');
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead WHERE external_id IN ('S-EARLY', 'S-LATE') ORDER BY external_id$$,
    $$VALUES ('S-EARLY', 65, 'warm', '2026-03-02 09:00+00'::timestamptz),
             ('S-LATE',  65, 'warm', '2026-03-02 17:45+00'::timestamptz)$$,
    'a multi-row INSERT scores each lead as of its own created_at (scored_at = created_at)');

-- ---------------------------------------------------------------------------
-- The tenant's own model, version 1: rules on lead columns and attributes.
SELECT is(cadence.define_scoring($${
  "base": 20,
  "fit": [
    {"label": "new inbound inquiry", "field": "segment", "equals": "new inbound inquiry", "points": 10},
    {"label": "website or phone", "field": "source", "in": ["website", "Phone"], "points": 5},
    {"label": "budget 20k and up", "field": "attr.budget", "range": [20000, null], "points": 15},
    {"label": "budget under 10k", "field": "attr.budget", "range": [null, 9999.99], "points": -10},
    {"label": "model year 2018-2022", "field": "attr.model_year", "range": [2018, 2022], "points": 7},
    {"label": "has a trade", "field": "attr.trade", "exists": true, "points": 12},
    {"label": "trade-in inquiry", "field": "attr.inquiry_type", "equals": "Trade_In", "points": 50},
    {"label": "poor credit", "field": "attr.credit", "equals": "poor", "points": -40}
  ],
  "tiers": {"hot": 90, "warm": 60, "moderate": 30},
  "exit_below": 10,
  "hysteresis": 3
}$$), 1, 'define_scoring stores the tenant''s first model as version 1');
SELECT row_eq(
    $$SELECT version, source, metrics, compiled -> 'tiers', compiled -> 'exit_below', compiled -> 'hysteresis'
        FROM cadence.scoring_model$$,
    ROW(1, 'manual'::text, NULL::jsonb, '{"hot": 90, "warm": 60, "moderate": 30}'::jsonb, '10'::jsonb, '3'::jsonb),
    'version 1 is stored as written (source manual, no metrics) with its compiled tiers and thresholds');
SELECT row_eq(
    $$SELECT score, cadence.score(lead_id, '2026-03-20 12:00+00') FROM cadence.lead WHERE external_id = 'S-TRADE'$$,
    ROW(80, 70),
    'the stored score stays until the next rescore; score() uses the model in force (base 20 + trade-in inquiry 50, '
    'matched regardless of letter case)');

INSERT INTO cadence.lead (external_id, first_name, time_zone, segment, source, attributes, created_at) VALUES
    -- segment and source in other letter case; budget a JSON number; model year at the upper bound
    ('T-INBOUND', 'Jo',  'America/New_York', 'New Inbound Inquiry', 'PHONE',
     '{"budget": 25000, "model_year": 2022, "trade": "2019 Civic"}', '2026-03-03 14:00+00'),
    -- budget a string at the open-ended upper bound; model year one under the range
    ('T-AGED',    'Kit', 'America/New_York', 'aged internet lead', 'website',
     '{"budget": "9999.99", "model_year": 2017}', '2026-03-03 14:00+00'),
    -- a budget that is not a number and a blank trade match nothing; model year at the lower bound
    ('T-BLANK',   'Lou', 'America/New_York', 'unsold showroom visitor', 'walk-in',
     '{"budget": "ask me", "trade": " ", "model_year": "2018"}', '2026-03-03 14:00+00'),
    -- everything matches: 119 clamped to 100
    ('T-ALL',     'Max', 'America/New_York', 'NEW INBOUND INQUIRY', 'Website',
     '{"inquiry_type": "TRADE_IN", "budget": 20000, "model_year": 2020, "trade": "yes"}', '2026-03-03 14:00+00'),
    -- 20 - 40 - 10 = -30, raised to 0
    ('T-POOR',    'Nia', 'America/New_York', 'service defection risk', 'aggregator',
     '{"credit": "POOR", "budget": 500}', '2026-03-03 14:00+00'),
    -- between the two budget ranges; a trade given as text
    ('T-MIDDLE',  'Oz',  'America/New_York', NULL, NULL,
     '{"budget": 10000, "trade": "yes"}', '2026-03-03 14:00+00');
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead WHERE external_id LIKE 'T-%' ORDER BY external_id$$,
    $$VALUES ('T-AGED',     15, 'cold',     '2026-03-03 14:00+00'::timestamptz),
             ('T-ALL',     100, 'hot',      '2026-03-03 14:00+00'::timestamptz),
             ('T-BLANK',    27, 'cold',     '2026-03-03 14:00+00'::timestamptz),
             ('T-INBOUND',  69, 'warm',     '2026-03-03 14:00+00'::timestamptz),
             ('T-MIDDLE',   32, 'moderate', '2026-03-03 14:00+00'::timestamptz),
             ('T-POOR',      0, 'cold',     '2026-03-03 14:00+00'::timestamptz)$$,
    'new leads are scored under the tenant''s model and its own tiers (hot 90, warm 60, moderate 30)');
SELECT results_eq(
    $$SELECT external_id, cadence.score(lead_id, '2026-03-20 12:00+00') FROM cadence.lead
       WHERE external_id LIKE 'T-%' ORDER BY external_id$$,
    $$VALUES ('T-AGED', 15), ('T-ALL', 100), ('T-BLANK', 27), ('T-INBOUND', 69), ('T-MIDDLE', 32), ('T-POOR', 0)$$,
    'score() agrees with the stored scores');
SELECT results_eq(
    $$SELECT x.component, x.detail, x.points FROM cadence.lead l,
             cadence.score_explain(l.lead_id, '2026-03-20 12:00+00') x WHERE l.external_id = 'T-INBOUND'$$,
    $$VALUES ('base', 'every lead starts here', 20.00),
             ('fit', 'new inbound inquiry', 10.00),
             ('fit', 'website or phone', 5.00),
             ('fit', 'budget 20k and up', 15.00),
             ('fit', 'model year 2018-2022', 7.00),
             ('fit', 'has a trade', 12.00)$$,
    'segment and source match regardless of letter case; a numeric budget falls in the open-ended range; 2022 is inside [2018, 2022]');
SELECT results_eq(
    $$SELECT x.component, x.detail, x.points FROM cadence.lead l,
             cadence.score_explain(l.lead_id, '2026-03-20 12:00+00') x WHERE l.external_id = 'T-AGED'$$,
    $$VALUES ('base', 'every lead starts here', 20.00),
             ('fit', 'website or phone', 5.00),
             ('fit', 'budget under 10k', -10.00)$$,
    'a budget written as the string "9999.99" is compared as a number and the upper bound is included; 2017 is outside');
SELECT results_eq(
    $$SELECT x.component, x.detail, x.points FROM cadence.lead l,
             cadence.score_explain(l.lead_id, '2026-03-20 12:00+00') x WHERE l.external_id = 'T-POOR'$$,
    $$VALUES ('base', 'every lead starts here', 20.00),
             ('fit', 'budget under 10k', -10.00),
             ('fit', 'poor credit', -40.00),
             ('adjustment', 'raised to 0', 30.00)$$,
    'a score below 0 is raised to 0, and the explanation says so');
SELECT is(
    (SELECT cadence.compute_score(m.compiled, l, NULL, NULL, '2026-03-20 12:00+00')
       FROM cadence.lead l, cadence.scoring_model m WHERE l.external_id = 'T-BLANK' AND m.version = 1),
    27, 'compute_score (the pure C function) scores a lead row under a compiled model: 20 + model year 2018 only');

-- An attribute that holds a whole object (the trade vehicle) exists.
INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, created_at) VALUES
    ('T-OBJECT', 'Pia', 'America/New_York', '{"trade": {"make": "VW", "model": "Golf", "year": 2016}}', '2026-03-03 14:00+00');
SELECT is((SELECT cadence.score(lead_id, '2026-03-20 12:00+00') FROM cadence.lead WHERE external_id = 'T-OBJECT'), 32,
          'exists matches an attribute whose value is an object (20 + has a trade 12)');

-- ---------------------------------------------------------------------------
-- Version 2: in force for score() at once; stored scores follow at the next rescore.
SELECT is(cadence.define_scoring($${
  "base": 40,
  "fit": [{"label": "new inbound inquiry", "field": "segment", "equals": "NEW INBOUND INQUIRY", "points": 45}]
}$$), 2, 'a second define_scoring stores version 2');
SELECT results_eq(
    $$SELECT version, source FROM cadence.scoring_model ORDER BY version$$,
    $$VALUES (1, 'manual'), (2, 'manual')$$,
    'both versions are kept');
SELECT results_eq(
    $$SELECT external_id, score, tier, cadence.score(lead_id, '2026-03-21 06:00+00') FROM cadence.lead
       WHERE external_id IN ('T-INBOUND', 'T-MIDDLE', 'S-TRADE') ORDER BY external_id$$,
    $$VALUES ('S-TRADE', 80, 'hot', 40), ('T-INBOUND', 69, 'warm', 85), ('T-MIDDLE', 32, 'moderate', 40)$$,
    'score() follows version 2 at once; lead.score and lead.tier keep version 1''s values');
SELECT is(cadence.rescore('2026-03-21 06:00+00'), 16::bigint,
          'the next rescore changes all 16 leads (every score moves to 40 or 85)');
SELECT results_eq(
    $$SELECT external_id, score, tier, scored_at FROM cadence.lead
       WHERE external_id IN ('T-INBOUND', 'T-MIDDLE', 'S-TRADE', 'T-ALL') ORDER BY external_id$$,
    $$VALUES ('S-TRADE',   40, 'moderate', '2026-03-21 06:00+00'::timestamptz),
             ('T-ALL',     85, 'hot',      '2026-03-21 06:00+00'::timestamptz),
             ('T-INBOUND', 85, 'hot',      '2026-03-21 06:00+00'::timestamptz),
             ('T-MIDDLE',  40, 'moderate', '2026-03-21 06:00+00'::timestamptz)$$,
    'after the rescore the stored scores and tiers follow version 2 (default tiers: 85 hot, 40 moderate)');

-- ---------------------------------------------------------------------------
-- Unknown leads; another tenant keeps the built-in model and cannot score tenant 1's leads.
SELECT throws_ok($$SELECT cadence.score(-42, '2026-03-21 06:00+00')$$, 'P0002',
                 'lead -42 does not exist (field "lead_id")', 'score() of an unknown lead fails with P0002');
SELECT throws_ok($$SELECT * FROM cadence.score_explain(-42, '2026-03-21 06:00+00')$$, 'P0002',
                 'lead -42 does not exist (field "lead_id")', 'score_explain() of an unknown lead fails with P0002');

SELECT lead_id AS t1_lead FROM cadence.lead WHERE external_id = 'T-INBOUND' \gset
SELECT cadence.create_tenant('Northside Motors') AS northside \gset
SELECT cadence.set_tenant(:northside) AS ignored \gset
INSERT INTO cadence.lead (external_id, first_name, time_zone, segment, attributes, created_at) VALUES
    ('N-TRADE', 'Quinn', 'America/Chicago', 'new inbound inquiry', '{"inquiry_type": "trade_in"}', '2026-03-04 16:00+00');
SELECT row_eq(
    $$SELECT score, tier, cadence.score(lead_id, '2026-03-21 06:00+00') FROM cadence.lead WHERE external_id = 'N-TRADE'$$,
    ROW(80, 'hot'::text, 80),
    'a tenant without a model of its own scores by the seeds'' model (tenant 1''s versions do not apply)');
SELECT throws_ok(format($$SELECT cadence.score(%s, '2026-03-21 06:00+00')$$, :t1_lead), 'P0002',
                 format('lead %s does not exist (field "lead_id")', :t1_lead),
                 'a lead of another tenant is unknown to score()');
SELECT cadence.set_tenant(1) AS ignored \gset

SELECT * FROM finish();
ROLLBACK;
