-- fit_scoring_model on synthetic history with a known true model.  20,000
-- leads whose outcome (appointment set or sold, in February) is drawn from
-- logit = -2 + 1.5*[inquiry trade-in] + 0.8*[buying this month]
--         - 1.0*[source aggregator]
-- with uniforms from hashtext of the lead's external id (the same data in
-- every run; only the held-out split follows the lead ids).  Aggregator is
-- the most common source (60%), so the fit reports source = website at
-- +1.0 against it and an intercept of -3.0 (general inquiry, researching,
-- aggregator); 1-3 months has a true weight of 0; "fleet" (15 leads) is
-- below min_count and left out.  The fit recovers each weight within 0.2
-- log-odds, converges, has a held-out AUC near the true model's 0.741 and
-- calibration deciles within sampling error, ignores outcomes after as_of
-- and other event kinds, and its spec is base 50 + 10 x intercept with one
-- equals rule per used weight at 10 x weight points; save => true stores
-- it as a 'fitted' version with its metrics.  Bad input fails with
-- SQLSTATE and the field named, and stores nothing.
-- Simulated clock: every call passes its time.
BEGIN;
SELECT plan(33);

-- 'SQLSTATE: message' of a statement, whose effects are always undone.
CREATE FUNCTION pg_temp.failure(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RAISE EXCEPTION 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- ---------------------------------------------------------------------------
-- Bad input (a NULL parameter may be refused with 22023 or 22004; both name the field).
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'colour'], as_of => '2026-03-01')$$),
          '22023: unknown field "colour" in field "features"', 'an unknown field is refused, named');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['attr.trade.make'], as_of => '2026-03-01')$$),
          '22023: unknown field "attr.trade.make" in field "features"', 'a nested attribute path is refused');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['score'], as_of => '2026-03-01')$$),
          '22023: unknown field "score" in field "features"', 'a lead column that is not one of the text fields is refused');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model('{}', as_of => '2026-03-01')$$),
          '22023: no fields given in field "features"', 'no fields at all is refused');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], ARRAY['sold', 'purchase'], as_of => '2026-03-01')$$),
          '22023: unknown event kind "purchase" in field "outcome_kinds"', 'an unknown outcome kind is refused, named');
SELECT results_eq(
    $$SELECT pg_temp.failure(format('SELECT cadence.fit_scoring_model(ARRAY[''source''], holdout => %s, as_of => ''2026-03-01'')', h))
        FROM unnest(ARRAY['0', '1', '-0.2', '1.5']) WITH ORDINALITY u(h, n) ORDER BY n$$,
    $$VALUES ('22023: holdout must be between 0 and 1, not 0 (field "holdout")'),
             ('22023: holdout must be between 0 and 1, not 1 (field "holdout")'),
             ('22023: holdout must be between 0 and 1, not -0.2 (field "holdout")'),
             ('22023: holdout must be between 0 and 1, not 1.5 (field "holdout")')$$,
    'a holdout outside (0, 1) is refused, named');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], min_count => 0, as_of => '2026-03-01')$$),
          '22023: min_count must be at least 1 (field "min_count")', 'min_count under 1 is refused');
SELECT is(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], points_per_logit => 0, as_of => '2026-03-01')$$),
          '22023: points_per_logit must be positive (field "points_per_logit")', 'points_per_logit 0 is refused');
SELECT alike(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], holdout => NULL, save => true, as_of => '2026-03-01')$$),
             '22%: %holdout%',
             'a NULL holdout is refused, named (not a fit of nothing saved as a model without base or rules)');
SELECT alike(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], as_of => NULL)$$),
             '22%: %as_of%', 'a NULL as_of is refused, named (not a silent NULL)');

-- Too few leads: a tenant with a dozen.
SELECT cadence.create_tenant('Lakeside Auto') AS lakeside \gset
SELECT cadence.set_tenant(:lakeside) AS ignored \gset
INSERT INTO cadence.lead (external_id, time_zone, source, created_at)
SELECT 'L-' || i, 'America/Chicago', CASE WHEN i % 2 = 0 THEN 'website' ELSE 'aggregator' END, '2026-01-05 12:00+00'
  FROM generate_series(1, 12) i;
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT lead_id, 'sold', '2026-02-01 12:00+00' FROM cadence.lead WHERE external_id IN ('L-1', 'L-2', 'L-3');
SELECT alike(pg_temp.failure($$SELECT cadence.fit_scoring_model(ARRAY['source'], as_of => '2026-03-01')$$),
             '55000: not enough leads to fit a model (% to train on, % held out)',
             'twelve leads are too few to fit (at least 10 in each part)');
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT is((SELECT count(*) FROM cadence.scoring_model), 0::bigint, 'no refused call stored a model');

-- ---------------------------------------------------------------------------
-- The synthetic history.
INSERT INTO cadence.lead (external_id, time_zone, source, attributes, created_at)
SELECT 'F-' || i, 'America/Chicago',
       CASE WHEN abs(hashtext('s' || i)) % 100 < 60 THEN 'aggregator' ELSE 'website' END,
       jsonb_build_object(
         'inquiry_type', CASE WHEN i <= 15 THEN 'fleet' WHEN abs(hashtext('q' || i)) % 100 < 30 THEN 'trade_in' ELSE 'general' END,
         'timeline', CASE WHEN abs(hashtext('t' || i)) % 100 < 25 THEN 'this_month'
                          WHEN abs(hashtext('t' || i)) % 100 < 45 THEN '1_3_months' ELSE 'researching' END),
       '2026-01-05 12:00+00'
  FROM generate_series(1, 20000) i;
-- Outcomes in February: half appointments, half sales.
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT l.lead_id, CASE WHEN abs(hashtext('k' || l.external_id)) % 2 = 0 THEN 'appointment_set' ELSE 'sold' END,
       '2026-02-01 12:00+00'
  FROM cadence.lead l
 WHERE l.external_id LIKE 'F-%'
   AND (abs(hashtext('u' || l.external_id)) % 100000) / 100000.0
       < 1 / (1 + exp(-(-2 + 1.5 * (l.attributes ->> 'inquiry_type' = 'trade_in')::int
                          + 0.8 * (l.attributes ->> 'timeline' = 'this_month')::int
                          - 1.0 * (l.source = 'aggregator')::int)));
-- Noise the fit must ignore: opens (not an outcome kind), and sales in June (after as_of).
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT l.lead_id, CASE WHEN abs(hashtext('n' || l.external_id)) % 2 = 0 THEN 'email_open' ELSE 'sold' END,
       CASE WHEN abs(hashtext('n' || l.external_id)) % 2 = 0 THEN '2026-01-20 12:00+00'::timestamptz ELSE '2026-06-01 12:00+00' END
  FROM cadence.lead l
 WHERE l.external_id LIKE 'F-%' AND abs(hashtext('m' || l.external_id)) % 100 < 30;

CREATE TEMP TABLE fit AS
SELECT cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'attr.timeline', 'source'], as_of => '2026-03-01') AS r;
CREATE TEMP TABLE true_weight (field text, value text, weight numeric);
INSERT INTO true_weight VALUES
    ('attr.inquiry_type', 'trade_in', 1.5), ('attr.timeline', 'this_month', 0.8),
    ('attr.timeline', '1_3_months', 0.0), ('source', 'website', 1.0);
CREATE TEMP VIEW fitted_weight AS
SELECT w ->> 'field' AS field, w ->> 'value' AS value, (w ->> 'leads')::integer AS leads, (w ->> 'weight')::numeric AS weight,
       (w ->> 'used')::boolean AS used, (w ->> 'reference')::boolean AS reference
  FROM fit, jsonb_array_elements(r -> 'weights') w;

SELECT row_eq(
    $$SELECT (r ->> 'converged')::boolean, (r ->> 'iterations')::integer < 50, r -> 'saved_version' FROM fit$$,
    ROW(true, true, 'null'::jsonb),
    'Newton''s method converged; nothing saved without save => true');
SELECT is((SELECT count(*) FROM cadence.scoring_model), 0::bigint, 'a fit without save stores no model');
SELECT row_eq(
    $$SELECT (r ->> 'training_leads')::integer + (r ->> 'held_out_leads')::integer,
             (r ->> 'held_out_leads')::integer BETWEEN 5700 AND 6300 FROM fit$$,
    ROW(20000, true),
    'every lead is in one part; about 30% are held out');
SELECT results_eq(
    $$SELECT f.field, f.value, f.used, f.reference,
             CASE WHEN t.weight IS NOT NULL THEN abs(f.weight - t.weight) <= 0.2 ELSE f.weight = 0 END
        FROM fitted_weight f LEFT JOIN true_weight t USING (field, value) ORDER BY f.field, f.value$$,
    $$VALUES ('attr.inquiry_type', 'fleet',       false, false, true),
             ('attr.inquiry_type', 'general',     false, true,  true),
             ('attr.inquiry_type', 'trade_in',    true,  false, true),
             ('attr.timeline',     '1_3_months',  true,  false, true),
             ('attr.timeline',     'researching', false, true,  true),
             ('attr.timeline',     'this_month',  true,  false, true),
             ('source',            'aggregator',  false, true,  true),
             ('source',            'website',     true,  false, true)$$,
    'each true weight is recovered within 0.2 log-odds against the field''s most common value (trade-in 1.5, this month 0.8, '
    '1-3 months 0, website +1.0 against aggregator); rare fleet is left out; references weigh 0');
SELECT results_eq(
    $$SELECT field, sum(leads)::integer, max(leads) FILTER (WHERE value = 'fleet') FROM fitted_weight GROUP BY field ORDER BY field$$,
    $$VALUES ('attr.inquiry_type', 20000, 15), ('attr.timeline', 20000, NULL), ('source', 20000, NULL)$$,
    'the lead counts per value add up to all leads; fleet has its 15');
SELECT ok((SELECT abs((r ->> 'intercept')::numeric - (-3.0)) <= 0.2 FROM fit),
          'the intercept is within 0.2 of -3.0 (-2 for the true model at general, researching, aggregator, minus 1.0)');
SELECT ok((SELECT (r ->> 'auc')::numeric BETWEEN 0.70 AND 0.78 FROM fit),
          'the held-out AUC is above 0.65 and near the true model''s 0.741');
SELECT row_eq(
    $$SELECT count(*), sum((c ->> 'leads')::integer),
             bool_and(abs((c ->> 'predicted')::numeric - (c ->> 'observed')::numeric)
                      <= 0.01 + 4 * sqrt((c ->> 'predicted')::numeric * (1 - (c ->> 'predicted')::numeric) / (c ->> 'leads')::numeric)),
             bool_and((c ->> 'predicted')::numeric BETWEEN 0 AND 1),
             array_agg((c ->> 'decile')::integer ORDER BY (c ->> 'decile')::integer)
        FROM fit, jsonb_array_elements(r -> 'calibration') c$$,
    ROW(10::bigint, (SELECT (r ->> 'held_out_leads')::bigint FROM fit), true, true, ARRAY[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    'ten calibration deciles cover the held-out leads; in each the observed rate is within sampling error of the predicted '
    '(1 point + 4 standard errors: 4.4 points at 5%, 9 points at 45%)');
SELECT ok((SELECT bool_and((a ->> 'predicted')::numeric <= (b ->> 'predicted')::numeric)
             FROM fit, jsonb_array_elements(r -> 'calibration') WITH ORDINALITY x(a, i)
             JOIN jsonb_array_elements(r -> 'calibration') WITH ORDINALITY y(b, j) ON j = i + 1),
          'the deciles rise in predicted rate');

-- The scoring document: base 50 + 10 x intercept, 10 points per unit of log-odds.
SELECT is((SELECT (r -> 'spec' ->> 'base')::numeric FROM fit),
          (SELECT round(50 + 10 * (r ->> 'intercept')::numeric, 1) FROM fit),
          'the spec''s base is 50 + 10 x intercept');
SELECT results_eq(
    $$SELECT x ->> 'field', x ->> 'equals', (x ->> 'points')::numeric FROM fit, jsonb_array_elements(r -> 'spec' -> 'fit') x
       ORDER BY 1, 2$$,
    $$SELECT field, value, round(10 * weight, 1) FROM fitted_weight WHERE used ORDER BY 1, 2$$,
    'one equals rule per used weight, at 10 x weight points');
SELECT ok((SELECT abs((x ->> 'points')::numeric - 15) <= 2 FROM fit, jsonb_array_elements(r -> 'spec' -> 'fit') x
            WHERE x ->> 'equals' = 'trade_in'),
          'a trade-in inquiry is worth about 15 points (true weight 1.5)');
SELECT row_eq(
    $$SELECT r -> 'spec' -> 'engagement', r -> 'spec' -> 'tiers', r -> 'spec' -> 'exit_below', r -> 'spec' -> 'hysteresis' FROM fit$$,
    ROW(cadence.default_scoring_spec() -> 'engagement', cadence.default_scoring_spec() -> 'tiers',
        cadence.default_scoring_spec() -> 'exit_below', cadence.default_scoring_spec() -> 'hysteresis'),
    'engagement, tiers and thresholds come from the model in force (the seeds'')');
SELECT lives_ok($$SELECT cadence.compile_scoring(r -> 'spec') FROM fit$$, 'the spec is a valid scoring document');

-- Outcomes after as_of count only when as_of is later; the seed picks the split.
SELECT ok((SELECT (cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'attr.timeline', 'source'],
                                             as_of => '2026-07-01') ->> 'intercept')::numeric
           - (r ->> 'intercept')::numeric > 0.3 FROM fit),
          'as of July 1 the June sales count as outcomes and raise the intercept');
SELECT is((SELECT cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'attr.timeline', 'source'], as_of => '2026-03-01')),
          (SELECT r FROM fit), 'the same call gives the same fit');
SELECT row_eq(
    $$SELECT (f ->> 'intercept') <> (r ->> 'intercept'),
             (SELECT bool_and(abs((w ->> 'weight')::numeric - t.weight) <= 0.2)
                FROM jsonb_array_elements(f -> 'weights') w JOIN true_weight t ON t.field = w ->> 'field' AND t.value = w ->> 'value')
        FROM fit, cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'attr.timeline', 'source'], seed => 2,
                                            as_of => '2026-03-01') f$$,
    ROW(true, true),
    'another seed splits the leads differently and still recovers the weights');

-- save => true.
CREATE TEMP TABLE saved AS
SELECT cadence.fit_scoring_model(ARRAY['attr.inquiry_type', 'attr.timeline', 'source'], save => true,
                                 as_of => '2026-03-01') AS r;
SELECT is((SELECT (r ->> 'saved_version')::integer FROM saved), 1, 'save => true stores the fit as version 1');
SELECT row_eq(
    $$SELECT m.version, m.source, m.spec = s.r -> 'spec', (m.metrics ->> 'auc')::numeric = (s.r ->> 'auc')::numeric,
             m.metrics -> 'calibration' = s.r -> 'calibration', m.metrics ? 'weights',
             m.metrics -> 'features', m.metrics -> 'outcome_kinds'
        FROM cadence.scoring_model m, saved s$$,
    ROW(1, 'fitted'::text, true, true, true, false,
        '["attr.inquiry_type", "attr.timeline", "source"]'::jsonb, '["appointment_set", "sold"]'::jsonb),
    'the stored version is source fitted, holds the spec, and its metrics (AUC, calibration, features, outcome kinds)');
INSERT INTO cadence.lead (external_id, time_zone, source, attributes, created_at) VALUES
    ('F-NEW', 'America/Chicago', 'website', '{"inquiry_type": "trade_in", "timeline": "this_month"}', '2026-03-02 12:00+00');
SELECT is((SELECT score FROM cadence.lead WHERE external_id = 'F-NEW'),
          (SELECT round((r -> 'spec' ->> 'base')::numeric
                        + (SELECT sum((x ->> 'points')::numeric) FROM jsonb_array_elements(r -> 'spec' -> 'fit') x
                            WHERE x ->> 'equals' IN ('website', 'trade_in', 'this_month')))::integer FROM saved),
          'a new lead is scored by the fitted rules: base + trade-in + this month + website');
SELECT is((SELECT (cadence.fit_scoring_model(ARRAY['source'], save => true, as_of => '2026-03-01') ->> 'saved_version')::integer),
          2, 'a second saved fit is version 2');

SELECT * FROM finish();
ROLLBACK;
