-- Bad scoring input.  Every malformed scoring document (unknown fields and
-- attribute paths, unknown members, zero or two conditions, bad ranges,
-- non-number points, unknown event kinds, negative / zero / unparsable
-- half-lives, negative caps, tiers out of order or out of 0-100,
-- exit_below above moderate, hysteresis out of 0-20) is refused by
-- define_scoring with 22023 and the JSON path in the message, and nothing
-- is stored: the version count and the model in force are unchanged.
-- set_route refuses a second route for a segment and tier (23505), an
-- unknown cadence (P0002), a bad tier or an empty segment (22023);
-- rescore refuses an infinite or missing as_of (22023) and logs nothing.
-- Simulated clock: every call passes its time.
BEGIN;
SELECT plan(52);

-- 'SQLSTATE: message' of a statement, or 'no error' (its effects are then kept).
CREATE FUNCTION pg_temp.failure(statement text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

SELECT is(cadence.define_scoring('{"base": 30, "fit": [{"field": "segment", "equals": "new inbound inquiry", "points": 20}]}'),
          1, 'a good document is version 1');
SELECT compiled AS v1_compiled FROM cadence.scoring_model WHERE version = 1 \gset

CREATE TEMP TABLE bad_document (n integer, spec jsonb, expected text, what text);
INSERT INTO bad_document VALUES
 (1,  '[]', 'expected an object at $, found array', 'a document that is not an object'),
 (2,  '{"bases": 30}', 'unknown field "bases" at $', 'an unknown top-level member'),
 (3,  '{"base": "30"}', 'expected a number at $.base', 'a base that is not a number'),
 (4,  '{"fit": {"field": "segment"}}', 'expected an array at $.fit', 'fit that is not an array'),
 (5,  '{"fit": [{"field": "colour", "equals": "red", "points": 5}]}',
      'unknown field "colour" at $.fit[0].field', 'an unknown lead field'),
 (6,  '{"fit": [{"field": "segment", "equals": "x", "points": 1}, {"field": "attr.trade.make", "equals": "VW", "points": 5}]}',
      'unknown field "attr.trade.make" at $.fit[1].field', 'an attribute path with two levels'),
 (7,  '{"fit": [{"field": "score", "range": [50, null], "points": 5}]}',
      'unknown field "score" at $.fit[0].field', 'a lead column that is not one of the text fields'),
 (8,  '{"fit": [{"field": "attr.delivery", "type": "date", "equals": "2026-05-01", "points": 5}]}',
      'unknown field "type" at $.fit[0]', 'an attribute type (no such member)'),
 (9,  '{"fit": [{"field": "attr.timeline", "equals": "this_month", "points": 5}, {"field": "segment", "equals": "a", "in": ["b"], "points": 1}]}',
      'a fit rule needs exactly one of equals, in, range, exists at $.fit[1]', 'two conditions in one rule'),
 (10, '{"fit": [{"field": "segment", "points": 1}]}',
      'a fit rule needs exactly one of equals, in, range, exists at $.fit[0]', 'a rule without a condition'),
 (11, '{"fit": [{"field": "attr.budget", "range": [30000, 20000], "points": 10}]}',
      'range minimum 30000 is above its maximum 20000 at $.fit[0].range', 'a range whose minimum is above its maximum'),
 (12, '{"fit": [{"field": "attr.budget", "range": [null, null], "points": 10}]}',
      'expected [min, max] with numbers (either may be null) at $.fit[0].range', 'a range with no bound'),
 (13, '{"fit": [{"field": "attr.budget", "range": ["10k", 20000], "points": 10}]}',
      'expected [min, max] with numbers (either may be null) at $.fit[0].range', 'a range bound that is not a number'),
 (14, '{"fit": [{"field": "attr.budget", "range": [10000], "points": 10}]}',
      'expected [min, max] with numbers (either may be null) at $.fit[0].range', 'a range with one element'),
 (15, '{"fit": [{"field": "source", "in": [], "points": 10}]}',
      'expected a non-empty array of strings, numbers or booleans at $.fit[0].in', 'an empty in list'),
 (16, '{"fit": [{"field": "attr.trade", "exists": false, "points": 10}]}',
      'expected true at $.fit[0].exists', 'exists false'),
 (17, '{"fit": [{"field": "attr.trade", "equals": {"make": "VW"}, "points": 10}]}',
      'expected a string, number or boolean at $.fit[0].equals', 'equals an object'),
 (18, '{"fit": [{"field": "source", "equals": "website", "points": "ten"}]}',
      'expected a number at $.fit[0].points', 'fit points that are not a number'),
 (19, '{"fit": [{"field": "source", "equals": "website"}]}',
      'expected a number at $.fit[0].points', 'fit points missing'),
 (20, '{"engagement": {"fax_open": {"points": 3, "half_life": "14 days"}}}',
      'unknown event kind "fax_open" at $.engagement.fax_open', 'an unknown event kind'),
 (21, '{"engagement": {"email_click": {"points": "8", "half_life": "14 days"}}}',
      'expected a number at $.engagement.email_click.points', 'engagement points that are not a number'),
 (22, '{"engagement": {"email_click": {"points": 8, "half_life": "-14 days"}}}',
      'negative half-life "-14 days" at $.engagement.email_click.half_life', 'a negative half-life'),
 (23, '{"engagement": {"email_click": {"points": 8, "half_life": "0 days"}}}',
      'invalid duration "0 days" at $.engagement.email_click.half_life', 'a zero half-life'),
 (24, '{"engagement": {"email_click": {"points": 8, "half_life": "a fortnight"}}}',
      'invalid duration "a fortnight" at $.engagement.email_click.half_life', 'a half-life that is not a duration'),
 (25, '{"engagement": {"email_click": {"points": 8}}}',
      'missing required field at $.engagement.email_click.half_life', 'no half-life'),
 (26, '{"engagement": {"email_click": {"points": 8, "half_life": 14}}}',
      'expected a string at $.engagement.email_click.half_life, found number', 'a half-life given as a bare number'),
 (27, '{"engagement": {"email_click": {"points": 8, "half_life": "14 days", "cap": -1}}}',
      'expected a number of at least 0 at $.engagement.email_click.cap', 'a negative cap'),
 (28, '{"engagement": {"email_click": {"points": 8, "half_life": "14 days", "decay": "exponential"}}}',
      'unknown field "decay" at $.engagement.email_click', 'an unknown member of an engagement rule'),
 (29, '{"engagement": ["email_click"]}',
      'expected an object of event kinds at $.engagement', 'engagement that is not an object'),
 (30, '{"tiers": {"hot": 60, "warm": 70, "moderate": 40}}',
      'tier thresholds out of order at $.tiers (hot 60, warm 70, moderate 40)', 'hot below warm'),
 (31, '{"tiers": {"warm": 85}}',
      'tier thresholds out of order at $.tiers (hot 80, warm 85, moderate 40)', 'warm above the default hot'),
 (32, '{"tiers": {"hot": 70, "warm": 70, "moderate": 40}}',
      'tier thresholds out of order at $.tiers (hot 70, warm 70, moderate 40)', 'hot equal to warm'),
 (33, '{"tiers": {"hot": 120}}',
      'tier thresholds at $.tiers must be numbers from 0 to 100', 'a threshold above 100'),
 (34, '{"tiers": {"hot": "80"}}',
      'tier thresholds at $.tiers must be numbers from 0 to 100', 'a threshold that is not a number'),
 (35, '{"tiers": {"lukewarm": 50}}',
      'unknown field "lukewarm" at $.tiers', 'an unknown tier'),
 (36, '{"exit_below": 45}',
      'exit_below 45 is above the moderate threshold 40 at $.exit_below', 'exit_below above moderate'),
 (37, '{"tiers": {"moderate": 15}, "exit_below": 20}',
      'exit_below 20 is above the moderate threshold 15 at $.exit_below', 'exit_below above a lowered moderate'),
 (38, '{"exit_below": "20"}',
      'expected a number from 0 to 100 at $.exit_below', 'exit_below that is not a number'),
 (39, '{"hysteresis": 25}',
      'expected a number from 0 to 20 at $.hysteresis', 'hysteresis above 20'),
 (40, '{"hysteresis": -1}',
      'expected a number from 0 to 20 at $.hysteresis', 'negative hysteresis');

SELECT is(pg_temp.failure(format('SELECT cadence.define_scoring(%L)', spec)), '22023: ' || expected,
          format('%s is refused: %s', what, expected))
  FROM bad_document ORDER BY n;
SELECT results_eq(
    $$SELECT pg_temp.failure(format('SELECT cadence.compile_scoring(%L)', spec)) FROM bad_document ORDER BY n$$,
    $$SELECT '22023: ' || expected FROM bad_document ORDER BY n$$,
    'compile_scoring refuses the same documents with the same messages');
SELECT row_eq(
    $$SELECT count(*), max(version), (SELECT compiled FROM cadence.scoring_model ORDER BY version DESC LIMIT 1)
        FROM cadence.scoring_model$$,
    ROW(1::bigint, 1, :'v1_compiled'::jsonb),
    'nothing was stored: one version, and version 1 is still in force');
SELECT is(pg_temp.failure($$SELECT cadence.define_scoring('{"base": 30}', 'imported')$$),
          '22023: invalid source "imported" in field "source"', 'an unknown source is refused');
SELECT is(pg_temp.failure($$SELECT cadence.define_scoring(NULL)$$),
          '22023: expected an object at $, found nothing', 'no document is refused');

-- ---------------------------------------------------------------------------
-- Routes.
SELECT cadence.define_cadence($${"key": "in-hot", "name": "Hot", "tier": "hot",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hello."}}]}$$) AS ignored \gset
SELECT cadence.define_cadence($${"key": "in-warm", "name": "Warm", "tier": "warm",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hello."}}]}$$) AS ignored \gset
SELECT lives_ok($$SELECT cadence.set_route('new inbound inquiry', 'hot', 'in-hot'), cadence.set_route('*', 'hot', 'in-hot')$$,
                'a route for a segment and one for * with the same tier do not overlap');
SELECT results_eq(
    $$SELECT pg_temp.failure(s) FROM unnest(ARRAY[
        $s$SELECT cadence.set_route('new inbound inquiry', 'hot', 'in-warm')$s$,
        $s$SELECT cadence.set_route('*', 'hot', 'in-hot')$s$,
        $s$SELECT cadence.set_route('new inbound inquiry', 'warm', 'in-nowhere')$s$,
        $s$SELECT cadence.set_route('new inbound inquiry', 'lukewarm', 'in-warm')$s$,
        $s$SELECT cadence.set_route('new inbound inquiry', NULL, 'in-warm')$s$,
        $s$SELECT cadence.set_route('new inbound inquiry', 'Hot', 'in-warm')$s$,
        $s$SELECT cadence.set_route(' ', 'warm', 'in-warm')$s$]) WITH ORDINALITY u(s, n) ORDER BY n$$,
    $$VALUES ('23505: a route for segment "new inbound inquiry" and tier "hot" exists already'),
             ('23505: a route for segment "*" and tier "hot" exists already'),
             ('P0002: cadence "in-nowhere" does not exist (field "cadence_key")'),
             ('22023: invalid tier "lukewarm" in field "tier"'),
             ('22023: invalid tier "NULL" in field "tier"'),
             ('22023: invalid tier "Hot" in field "tier"'),
             ('22023: empty segment in field "segment"')$$,
    'overlapping routes (23505), an unknown cadence (P0002), bad tiers and an empty segment (22023) are refused');
SELECT cadence.create_tenant('Riverside Motors') AS riverside \gset
SELECT cadence.set_tenant(:riverside) AS ignored \gset
SELECT is(pg_temp.failure($$SELECT cadence.set_route('*', 'hot', 'in-hot')$$),
          'P0002: cadence "in-hot" does not exist (field "cadence_key")',
          'a cadence of another tenant is unknown to set_route');
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT results_eq(
    $$SELECT tenant_id, segment, tier, cadence_key FROM cadence.route ORDER BY segment$$,
    $$VALUES (1::bigint, '*', 'hot', 'in-hot'), (1::bigint, 'new inbound inquiry', 'hot', 'in-hot')$$,
    'only the two good routes are stored');

-- ---------------------------------------------------------------------------
-- rescore needs a finite time.
INSERT INTO cadence.lead (external_id, time_zone, created_at) VALUES ('IN-ONE', 'America/New_York', '2026-03-02 15:00+00');
SELECT results_eq(
    $$SELECT pg_temp.failure(s) FROM unnest(ARRAY[
        $s$SELECT cadence.rescore('infinity')$s$,
        $s$SELECT cadence.rescore('-infinity')$s$,
        $s$SELECT cadence.rescore(NULL)$s$]) WITH ORDINALITY u(s, n) ORDER BY n$$,
    $$VALUES ('22023: as_of must be a finite time (field "as_of")'),
             ('22023: as_of must be a finite time (field "as_of")'),
             ('22023: as_of must be a finite time (field "as_of")')$$,
    'rescore refuses infinity, -infinity and NULL');
SELECT row_eq(
    $$SELECT (SELECT count(*) FROM cadence.scoring_run), score, scored_at FROM cadence.lead WHERE external_id = 'IN-ONE'$$,
    ROW(0::bigint, 30, '2026-03-02 15:00+00'::timestamptz),
    'a refused rescore logs no run and changes no lead');

-- ---------------------------------------------------------------------------
-- The C scoring pieces refuse a document that is not a compiled model.
SELECT results_eq(
    $$SELECT pg_temp.failure(s) FROM unnest(ARRAY[
        $s$SELECT cadence.score_tier(50, 'warm', '[]')$s$,
        $s$SELECT cadence.engagement_points('"hot"', 'email_open', '2026-03-02 15:00+00', '2026-03-03 15:00+00')$s$,
        $s$SELECT cadence.compute_score_from('{"fit": 3}', l, 0) FROM cadence.lead l WHERE l.external_id = 'IN-ONE'$s$,
        $s$SELECT cadence.compute_score_from('{"engagement": [{"kind": "email_open", "points": 5}]}', l, 0)
             FROM cadence.lead l WHERE l.external_id = 'IN-ONE'$s$]) WITH ORDINALITY u(s, n) ORDER BY n$$,
    $$VALUES ('22023: invalid compiled scoring model: not an object'),
             ('22023: invalid compiled scoring model: not an object'),
             ('22023: invalid compiled scoring model: fit is not an array'),
             ('22023: invalid compiled scoring model: an engagement rule needs a positive half_life_s')$$,
    'score_tier, engagement_points and compute_score_from refuse a document that is not a compiled model');

SELECT * FROM finish();
ROLLBACK;
