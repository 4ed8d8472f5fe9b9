-- Comparing cadence versions, message variants and cadences on an outcome:
-- the two-proportion z-test against known cases (30/100 vs 45/100: z =
-- -0.15 / sqrt(0.375 * 0.625 * 0.02) = -2.1908902300206645, two-sided p =
-- erfc(|z| / sqrt 2) = 0.0284597369163106; 95% interval of the difference
-- -0.15 -+ 1.959964 * sqrt(0.3 * 0.7 / 100 + 0.45 * 0.55 / 100)), the normal
-- distribution function at known points, cadence.compare() end to end on
-- 200 enrolments (two versions of one cadence), the attribution of an
-- outcome to the enrolment the lead was last in when it happened, the
-- "within" window and as_of, variants (an enrolment's arm is the variant of
-- the first touch it got from a step with variants), row-level security,
-- and bad input (22023 naming the field).
BEGIN;
SELECT plan(41);

SET LOCAL timezone = 'UTC';

-- The statistic.
SELECT ok(abs(z - (-2.1908902300206645)) < 1e-12, 'z for 30/100 vs 45/100 is -2.19089023002066')
  FROM cadence.two_proportion_test(30, 100, 45, 100);
SELECT ok(abs(p_value - 0.0284597369163106) < 1e-12, 'two-sided p for 30/100 vs 45/100 is 0.0284597369163106')
  FROM cadence.two_proportion_test(30, 100, 45, 100);
SELECT ok(a_rate = 0.3 AND b_rate = 0.45 AND abs(difference + 0.15) < 1e-15
          AND abs(ci_low - (-0.2825695066924352)) < 1e-12 AND abs(ci_high - (-0.0174304933075648)) < 1e-12,
          'rates, difference and its 95% interval (-0.28257, -0.01743)')
  FROM cadence.two_proportion_test(30, 100, 45, 100);
SELECT ok(abs(z - 2.1908902300206645) < 1e-12 AND abs(p_value - 0.0284597369163106) < 1e-12,
          'swapping the arms flips z and keeps p')
  FROM cadence.two_proportion_test(45, 100, 30, 100);
SELECT ok(abs(z - (-1.1547005383792515)) < 1e-12 AND abs(p_value - 0.24821307898992367) < 1e-12,
          '1/2 vs 2/2: z = -2 / sqrt 3, p 0.248213')
  FROM cadence.two_proportion_test(1, 2, 2, 2);
SELECT results_eq($$SELECT z, p_value FROM cadence.two_proportion_test(50, 100, 50, 100)$$,
                  $$VALUES (0::float8, 1::float8)$$, 'equal rates: z 0, p 1');
SELECT results_eq($$SELECT a_rate, b_rate, difference, z, p_value FROM cadence.two_proportion_test(0, 40, 0, 60)$$,
                  $$VALUES (0::float8, 0::float8, 0::float8, NULL::float8, NULL::float8)$$,
                  'no successes at all: no z, no p');
SELECT results_eq($$SELECT a_rate, b_rate, difference, z, p_value FROM cadence.two_proportion_test(0, 0, 3, 10)$$,
                  $$VALUES (NULL::float8, 0.3::float8, NULL::float8, NULL::float8, NULL::float8)$$,
                  'an empty arm: no rate, no test');
SELECT throws_ok($$SELECT * FROM cadence.two_proportion_test(11, 10, 1, 10)$$, '22023',
                 'a_successes must be between 0 and a_trials (10), not 11 (field "a_successes")', 'more successes than trials');
SELECT throws_ok($$SELECT * FROM cadence.two_proportion_test(1, 10, 1, -1)$$, '22023',
                 'b_trials must be 0 or more, not -1 (field "b_trials")', 'negative trials');

-- The normal distribution function.
SELECT ok(abs(cadence.normal_cdf(1.959963984540054) - 0.975) < 1e-13, 'P(Z <= 1.959964) = 0.975');
SELECT ok(abs(cadence.normal_cdf(-1) - 0.15865525393145707) < 1e-13, 'P(Z <= -1) = 0.158655');
SELECT ok(abs(cadence.normal_cdf(-6) / 9.865876450377012e-10 - 1) < 1e-11, 'P(Z <= -6) = 9.8659e-10 to 11 digits');
SELECT ok(abs(cadence.normal_cdf(-0.1) - 0.460172162722971) < 1e-13 AND abs(cadence.normal_cdf(2.5) - 0.9937903346742238) < 1e-13,
          'P(Z <= -0.1) and P(Z <= 2.5) (both sides of the series/continued-fraction switch)');
SELECT is(cadence.normal_cdf(0), 0.5::float8, 'P(Z <= 0) = 0.5');
SELECT results_eq($$SELECT cadence.normal_cdf(-40), cadence.normal_cdf(40), cadence.normal_cdf('-Infinity'), cadence.normal_cdf('Infinity')$$,
                  $$VALUES (0::float8, 1::float8, 0::float8, 1::float8)$$, 'far tails are 0 and 1');

-- Two versions of one cadence, 100 enrolments each; 30 of the first
-- version's leads and 45 of the second's booked an appointment.
SELECT cadence.define_cadence('{"key": "cmp-hot", "name": "Hot", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Version one."}}]}') AS v1 \gset
SELECT cadence.define_cadence('{"key": "cmp-hot", "name": "Hot", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Version two."}}]}') AS v2 \gset
INSERT INTO cadence.lead (external_id, email, time_zone, segment, created_at)
SELECT format('C-%s', i), format('c%s@example.com', i), 'America/New_York', 'new',
       timestamptz '2026-03-02 15:00+00' + i * interval '1 minute'
  FROM generate_series(1, 200) i;
INSERT INTO cadence.enrolment (lead_id, cadence_version_id, status, enrolled_at, next_due_at)
SELECT l.lead_id, CASE WHEN split_part(l.external_id, '-', 2)::integer <= 100 THEN :v1 ELSE :v2 END,
       'active', l.created_at, NULL
  FROM cadence.lead l WHERE l.external_id LIKE 'C-%';
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT l.lead_id, 'appointment_set', l.created_at + interval '2 days'
  FROM cadence.lead l
 WHERE l.external_id LIKE 'C-%'
   AND (split_part(l.external_id, '-', 2)::integer BETWEEN 1 AND 30
        OR split_part(l.external_id, '-', 2)::integer BETWEEN 101 AND 145);

SELECT results_eq(
    $$SELECT a_arm, a_enrolments, a_outcomes, a_rate, b_arm, b_enrolments, b_outcomes, b_rate,
             difference, difference_ci_low, difference_ci_high, significant
        FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', as_of => '2026-04-01')$$,
    $$VALUES ('cmp-hot@1', 100::bigint, 30::bigint, 0.3000, 'cmp-hot@2', 100::bigint, 45::bigint, 0.4500,
              -0.1500, -0.2826, -0.0174, true)$$,
    'compare(): "which version books more appointments" in one query: 30% vs 45%');
SELECT ok(abs(z - (-2.1908902300206645)) < 1e-12 AND abs(p_value - 0.0284597369163106) < 1e-12,
          'compare(): z -2.19089, p 0.02846 (the difference is real at 5%)')
  FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', 'appointment_set', 'version', NULL, '2026-04-01');
SELECT results_eq(
    $$SELECT a_outcomes, b_outcomes, z, p_value, significant FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', 'sold', as_of => '2026-04-01')$$,
    $$VALUES (0::bigint, 0::bigint, NULL::float8, NULL::float8, NULL::boolean)$$,
    'another outcome (nobody bought): no test, nothing significant');
SELECT results_eq(
    $$SELECT a_enrolments, a_outcomes, b_enrolments, b_outcomes
        FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', as_of => '2026-03-04 15:20+00')$$,
    $$VALUES (100::bigint, 20::bigint, 100::bigint, 0::bigint)$$,
    'as_of: only the appointments by then (leads 1-20), and enrolments up to then');
SELECT results_eq(
    $$SELECT a_enrolments, a_outcomes, b_enrolments, b_outcomes
        FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', within => '1 day', as_of => '2026-04-01')$$,
    $$VALUES (100::bigint, 0::bigint, 100::bigint, 0::bigint)$$,
    'within 1 day of enrolment: none (they booked after 2 days)');
SELECT results_eq(
    $$SELECT a_enrolments, b_enrolments
        FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', within => '2 days', as_of => '2026-03-04 16:00+00')$$,
    $$VALUES (60::bigint, 0::bigint)$$,
    'within 2 days: only enrolments at least 2 days old at as_of are trials (leads 1-60)');

-- Attribution: an outcome counts for the enrolment the lead was last in.
SELECT cadence.define_cadence('{"key": "cmp-a", "name": "A", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "A", "body": "A."}}]}') AS va \gset
SELECT cadence.define_cadence('{"key": "cmp-b", "name": "B", "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "B", "body": "B."}}]}') AS vb \gset
INSERT INTO cadence.lead (external_id, email, time_zone, created_at) VALUES
    ('M-1', 'm1@example.com', 'America/New_York', '2026-03-02 10:00+00'),
    ('M-2', 'm2@example.com', 'America/New_York', '2026-03-02 10:00+00'),
    ('M-3', 'm3@example.com', 'America/New_York', '2026-03-01 10:00+00'),
    ('M-4', 'm4@example.com', 'America/New_York', '2026-03-09 10:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'M-1') AS m1, max(lead_id) FILTER (WHERE external_id = 'M-2') AS m2,
       max(lead_id) FILTER (WHERE external_id = 'M-3') AS m3, max(lead_id) FILTER (WHERE external_id = 'M-4') AS m4
  FROM cadence.lead \gset
-- M-1 went from A to B on 03-05 and booked on 03-06 (B's); M-2 booked on A;
-- M-3 had booked before it was enrolled on A; M-4 booked 11 days into B.
INSERT INTO cadence.enrolment (lead_id, cadence_version_id, status, enrolled_at, ended_at, exit_reason) VALUES
    (:m1, :va, 'exited', '2026-03-02 10:00+00', '2026-03-05 10:00+00', 'escalated'),
    (:m1, :vb, 'active', '2026-03-05 10:00+00', NULL, NULL),
    (:m2, :va, 'active', '2026-03-02 10:00+00', NULL, NULL),
    (:m3, :va, 'active', '2026-03-02 10:00+00', NULL, NULL),
    (:m4, :vb, 'active', '2026-03-09 10:00+00', NULL, NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (:m3, 'appointment_set', '2026-03-01 12:00+00');
INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (:m2, 'appointment_set', '2026-03-03 10:00+00');
INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (:m1, 'appointment_set', '2026-03-06 10:00+00');
INSERT INTO cadence.event (lead_id, kind, occurred_at) VALUES (:m4, 'appointment_set', '2026-03-20 10:00+00');
SELECT results_eq(
    $$SELECT a_enrolments, a_outcomes, b_enrolments, b_outcomes
        FROM cadence.compare('cmp-a', 'cmp-b', by => 'cadence', as_of => '2026-03-31')$$,
    $$VALUES (3::bigint, 1::bigint, 2::bigint, 2::bigint)$$,
    'by cadence: A 1 of 3 (M-1''s booking is B''s, M-3''s came before), B 2 of 2');
SELECT ok(abs(z - (-1.4907119849998598)) < 1e-12 AND abs(p_value - 0.13603712811414367) < 1e-12 AND NOT significant,
          '1/3 vs 2/2: z -1.49071, p 0.13604, not significant')
  FROM cadence.compare('cmp-a', 'cmp-b', by => 'cadence', as_of => '2026-03-31');
SELECT results_eq(
    $$SELECT a_enrolments, a_outcomes, b_enrolments, b_outcomes
        FROM cadence.compare('cmp-a@1', 'cmp-b@1', within => '7 days', as_of => '2026-03-31')$$,
    $$VALUES (3::bigint, 1::bigint, 2::bigint, 1::bigint)$$,
    'within 7 days: M-4''s booking on day 11 does not count');
SELECT results_eq(
    $$SELECT a_enrolments, b_enrolments, b_outcomes
        FROM cadence.compare('cmp-a@1', 'cmp-b@1', within => '7 days', as_of => '2026-03-12 10:00+00')$$,
    $$VALUES (3::bigint, 1::bigint, 1::bigint)$$,
    'as of 03-12, M-4''s enrolment is not 7 days old yet');
SELECT results_eq(
    $$SELECT a_enrolments, a_outcomes, a_rate, b_enrolments, b_outcomes, b_rate, difference, z, p_value, significant
        FROM cadence.compare('cmp-a@1', 'cmp-b@1', as_of => '2026-03-04')$$,
    $$VALUES (3::bigint, 1::bigint, 0.3333, 0::bigint, 0::bigint, NULL::numeric, NULL::numeric, NULL::float8, NULL::float8, NULL::boolean)$$,
    'as of 03-04 B has no enrolments: no rate, no test');

-- Variants: the arm of an enrolment is the variant of its first touch from
-- a step that has variants; an enrolment never sent one is in neither arm.
SELECT cadence.define_cadence($${"key": "cmp-var", "name": "Variants", "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Your car", "body": "Photos.", "variants": [{"subject": "Still looking?", "body": "Video."}]}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Next", "body": "Prices."}}]}$$) AS vv \gset
INSERT INTO cadence.lead (external_id, email, time_zone, created_at)
SELECT format('V-%s', i), format('v%s@example.com', i), 'America/New_York', '2026-03-02 10:00+00'
  FROM generate_series(1, 5) i;
INSERT INTO cadence.enrolment (lead_id, cadence_version_id, status, enrolled_at)
SELECT lead_id, :vv, 'active', '2026-03-02 10:00+00' FROM cadence.lead WHERE external_id LIKE 'V-%';
-- V-1, V-2 got variant 0; V-3, V-4 variant 1; V-5's first step was held,
-- only its second (no variants) went out.
INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at, status, variant,
                           outcome, created_at, completed_at)
SELECT 1, e.lead_id, e.enrolment_id, s.step_no, 'email', '2026-03-02 10:00+00', '2026-03-02 10:00+00', s.status, s.variant,
       CASE WHEN s.status = 'done' THEN 'sent' END, '2026-03-02 10:00+00',
       CASE WHEN s.status = 'done' THEN timestamptz '2026-03-02 10:01+00' + s.step_no * interval '1 day' END
  FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
  JOIN (VALUES ('V-1', 1, 'done', 0), ('V-2', 1, 'done', 0), ('V-3', 1, 'done', 1), ('V-4', 1, 'done', 1),
               ('V-5', 1, 'held', 0), ('V-5', 2, 'done', 0)) AS s(lead, step_no, status, variant)
    ON s.lead = l.external_id;
INSERT INTO cadence.event (lead_id, kind, occurred_at)
SELECT lead_id, 'appointment_set', '2026-03-05 10:00+00' FROM cadence.lead WHERE external_id IN ('V-1', 'V-3', 'V-4', 'V-5');
SELECT results_eq(
    $$SELECT a_arm, a_enrolments, a_outcomes, a_rate, b_arm, b_enrolments, b_outcomes, b_rate, difference,
             difference_ci_low, difference_ci_high, significant
        FROM cadence.compare('cmp-var@1#0', 'cmp-var@1#1', by => 'variant', as_of => '2026-03-31')$$,
    $$VALUES ('cmp-var@1#0', 2::bigint, 1::bigint, 0.5000, 'cmp-var@1#1', 2::bigint, 2::bigint, 1.0000, -0.5000,
              -1.1930, 0.1930, false)$$,
    'by variant: 1 of 2 vs 2 of 2 (V-5 was never sent a variant)');
SELECT ok(abs(z - (-1.1547005383792515)) < 1e-12 AND abs(p_value - 0.24821307898992367) < 1e-12,
          'by variant: z -1.1547, p 0.2482')
  FROM cadence.compare('cmp-var@1#0', 'cmp-var@1#1', by => 'variant', as_of => '2026-03-31');

-- Bad input: 22023 naming the field.
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', by => 'colour')$$, '22023',
                 'unknown comparison "colour" in field "by"', 'unknown "by"');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', 'booked')$$, '22023',
                 'unknown event kind "booked" in field "outcome"', 'unknown outcome');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot', 'cmp-hot@2')$$, '22023',
                 'invalid version "cmp-hot" in field "a"', 'a version without its number');
SELECT throws_ok($$SELECT * FROM cadence.compare(NULL, 'cmp-hot@2')$$, '22023',
                 'invalid version "NULL" in field "a"', 'no a');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1', 'cmp-hot@9')$$, '22023',
                 'cadence version "cmp-hot@9" does not exist in field "b"', 'a version that does not exist');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1', 'cmp-hot@1')$$, '22023',
                 'a and b are the same version "cmp-hot@1" (field "b")', 'a version against itself');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-var@1#0', 'cmp-var@1#2', by => 'variant')$$, '22023',
                 'cadence version "cmp-var@1" has no message variant 2 in field "b"', 'a variant that does not exist');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1#0', 'cmp-hot@1#1', by => 'variant')$$, '22023',
                 'cadence version "cmp-hot@1" has no message variant 0 in field "a"', 'variants of a version without any');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-a', 'cmp-b', by => 'cadence', within => '-1 day')$$, '22023',
                 'within must be a positive interval, not -1 days (field "within")', 'a negative window');
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-a', 'cmp-b', by => 'cadence', as_of => NULL)$$, '22023',
                 'as_of must not be NULL (field "as_of")', 'no as_of');

-- A reporting role of another tenant does not see these cadences.
SELECT cadence.create_tenant('Eastside Motors') AS t2 \gset
SET LOCAL ROLE cadence_reader;
SELECT results_eq($$SELECT a_enrolments, a_outcomes FROM cadence.compare('cmp-hot@1', 'cmp-hot@2', as_of => '2026-04-01')$$,
                  $$VALUES (100::bigint, 30::bigint)$$, 'cadence_reader of the default tenant may compare');
SET LOCAL cadence.tenant_id = :'t2';
SELECT throws_ok($$SELECT * FROM cadence.compare('cmp-hot@1', 'cmp-hot@2')$$, '22023',
                 'cadence version "cmp-hot@1" does not exist in field "a"', 'another tenant cannot see them');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
