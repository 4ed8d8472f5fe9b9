-- The nightly rescore's pass in C (cadence.rescore_tenant_leads, which
-- cadence.rescore() runs): it stores exactly what the SQL statement of
-- rescore_leads() stores, lead by lead, and what score() says; it lists for
-- routing exactly the changed leads with a new tier or a score under the
-- exit line; hysteresis holds across nights on a simulated clock; it leaves
-- the SQL statement to a lead table with a trigger or a policy of its own
-- (and that statement applies them); it reads only the leads row-level
-- security lets the caller see, needs UPDATE on the score columns, keeps the
-- constraints on the columns it writes, copes with a dropped column, and
-- refuses bad input with an error naming the field.
-- Simulated clock: every call passes its time.  Leads are in Chicago,
-- tenant 1, under the default scoring model (base 30; timeline this_week
-- +40, this_month +35, 1_3_months +15, researching -10; an email click 8
-- points halving every 14 days, an email reply 15 halving every 7; hot from
-- 80, left under 75).
BEGIN;
SELECT plan(45);

-- 240 leads of every kind of fit, bonus and engagement.
INSERT INTO cadence.lead (external_id, first_name, time_zone, segment, attributes, score_bonus, created_at)
SELECT 'N-' || i, 'Lead ' || i, 'America/Chicago',
       (ARRAY['new_inbound', 'unsold_showroom', 'aged_internet', NULL])[1 + i % 4],
       jsonb_build_object('timeline', (ARRAY['this_week', 'this_month', '1_3_months', 'researching', 'unknown'])[1 + i % 5])
         || CASE WHEN i % 7 = 0 THEN '{"inquiry_type": "trade_in"}' ELSE '{}' END::jsonb,
       (i % 4) * 5 - 5, '2026-02-01 15:00+00'
  FROM generate_series(1, 240) i;
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload)
SELECT l.lead_id, (ARRAY['email_open', 'email_click', 'email_reply', 'call_answered', 'email_open', 'trade_value_request'])[1 + (l.lead_id + k) % 6],
       '2026-02-02 15:00+00'::timestamptz + make_interval(hours => ((l.lead_id * 37 + k * 101) % 1200)::integer), '{}'
  FROM cadence.lead l CROSS JOIN generate_series(1, 5) k
 WHERE l.external_id LIKE 'N-%' AND k <= l.lead_id % 6;
-- two leads never scored (a table filled before scoring was turned on)
UPDATE cadence.lead SET score = NULL, tier = NULL, scored_at = NULL WHERE external_id IN ('N-5', 'N-6');

-- The two leads followed on the clock.
INSERT INTO cadence.lead (external_id, first_name, time_zone, attributes, created_at) VALUES
    ('N-WARM', 'Wes', 'America/Chicago', '{"timeline": "this_month"}', '2026-03-01 15:00+00'),
    ('N-HOT',  'Hana', 'America/Chicago', '{"timeline": "this_week"}', '2026-03-01 15:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'N-WARM') AS warm,
       max(lead_id) FILTER (WHERE external_id = 'N-HOT') AS hot
  FROM cadence.lead \gset
SELECT cadence.record_event(:warm, 'email_click', '2026-03-18 15:00+00') AS ev \gset
SELECT cadence.record_event(:hot, 'email_reply', '2026-03-18 15:00+00', payload => '{"body": "Sounds good"}') AS ev \gset
SELECT row_eq(format($$SELECT score, tier FROM cadence.lead WHERE lead_id = %s$$, :hot), ROW(85, 'hot'::text),
              'a lead buying this week who replied: 30 + 40 + 15 = 85, hot');

-- The leads as they stand before the night, to compare with.
CREATE TEMP TABLE before_night AS SELECT lead_id, score, tier, scored_at FROM cadence.lead;
-- A digest of every lead's stored score, tier and time.
CREATE FUNCTION pg_temp.scores_digest() RETURNS text LANGUAGE sql AS $$
    SELECT md5(string_agg(format('%s:%s:%s:%s', lead_id, score, tier, scored_at), ',' ORDER BY lead_id)) FROM cadence.lead
$$;

-- A trigger of the table's own, which sends the work to the SQL statement.
CREATE TEMP TABLE trigger_calls (lead_id bigint);
CREATE FUNCTION pg_temp.note_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trigger_calls VALUES (NEW.lead_id);
    RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------
-- The pass, called as rescore() calls it, on March 25 (a week after the reply).
SAVEPOINT night;
SELECT p.scored, p.changed, p.rescored IS NULL AS none_rescored
  FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p \gset
SELECT is(:scored::bigint, (SELECT count(*) FROM cadence.lead), 'the pass scores every lead of the tenant');
SELECT is(:changed::bigint, (SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
                      WHERE (b.score, b.tier) IS DISTINCT FROM (l.score, l.tier)),
          'changed counts the leads whose score or tier it changed');
SELECT ok(:changed > 100, format('a week of decay changes most leads (%s of %s)', :changed, :scored));
SELECT is((SELECT count(*) FROM cadence.lead l WHERE l.score IS DISTINCT FROM cadence.score(l.lead_id, '2026-03-25 15:00+00')),
          0::bigint, 'every stored score equals score() as of March 25');
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE (b.score, b.tier) IS NOT DISTINCT FROM (l.score, l.tier) AND l.scored_at IS DISTINCT FROM b.scored_at),
          0::bigint, 'a lead whose score and tier stay keeps its scored_at');
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE (b.score, b.tier) IS DISTINCT FROM (l.score, l.tier) AND l.scored_at <> '2026-03-25 15:00+00'),
          0::bigint, 'a changed lead is scored as of the night');
SELECT row_eq(format($$SELECT score, tier FROM cadence.lead WHERE lead_id = %s$$, :hot), ROW(78, 'hot'::text),
              'a week after the reply 7.5 points are left: 77.5 rounds to 78, under 80 but not under 75, so still hot');
SELECT row_eq(format($$SELECT score, tier FROM cadence.lead WHERE lead_id = %s$$, :warm), ROW(71, 'warm'::text),
              'a click a week old is worth 5.66: 30 + 35 + 5.66 = 70.66, 71, warm');
SELECT row_eq($$SELECT score IS NOT NULL, tier IS NOT NULL, scored_at FROM cadence.lead WHERE external_id = 'N-5'$$,
              ROW(true, true, '2026-03-25 15:00+00'::timestamptz), 'a lead never scored gets a score and a tier');
SELECT results_eq(
    $$SELECT r.lead_id, r.old_tier, r.tier, r.score, r.segment, r.at
        FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p, unnest(p.rescored) r
       ORDER BY r.lead_id$$,
    $$SELECT 0::bigint, NULL::text, NULL::text, 0, NULL::text, NULL::timestamptz WHERE false$$,
    'run again at the same time, the pass changes nothing and lists nothing');
SELECT digest AS c_digest FROM pg_temp.scores_digest() digest \gset
ROLLBACK TO SAVEPOINT night;

-- What it lists for routing: the changed leads with a new tier or under the exit line (20).
SAVEPOINT night;
CREATE TEMP TABLE listed AS
SELECT r.* FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p, unnest(p.rescored) r;
SELECT set_eq(
    $$SELECT lead_id, old_tier, tier, score, segment, at FROM listed$$,
    $$SELECT l.lead_id, b.tier AS old_tier, l.tier, l.score, l.segment, '2026-03-25 15:00+00'::timestamptz
        FROM before_night b JOIN cadence.lead l USING (lead_id)
       WHERE (b.score, b.tier) IS DISTINCT FROM (l.score, l.tier)
         AND (b.tier IS DISTINCT FROM l.tier OR l.score < 20)$$,
    'rescored lists each changed lead with a new tier or a score under 20, with its old tier and segment');
SELECT ok((SELECT count(*) FROM listed WHERE old_tier IS NULL) = 2 AND (SELECT count(*) FROM listed) > 2,
          'the list holds the two leads never tiered and others whose tier changed');
ROLLBACK TO SAVEPOINT night;

-- ---------------------------------------------------------------------------
-- rescore() through the pass, then through the SQL statement (a trigger of
-- the table's own sends it there): the same scores, tiers and times.
SAVEPOINT night;
SELECT cadence.rescore('2026-03-25 15:00+00') AS c_changed \gset
SELECT is(pg_temp.scores_digest(), :'c_digest', 'rescore() stores what the pass stores');
SELECT row_eq($$SELECT leads_scored, leads_changed FROM cadence.scoring_run ORDER BY run_id DESC LIMIT 1$$,
              ROW(:scored::bigint, :changed::bigint), 'the scoring run logs the leads scored and changed');
ROLLBACK TO SAVEPOINT night;

SAVEPOINT night;
CREATE TRIGGER note_update BEFORE UPDATE ON cadence.lead FOR EACH ROW EXECUTE FUNCTION pg_temp.note_update();
SELECT ok((SELECT p.changed IS NULL AND p.scored IS NULL
             FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p),
          'with a trigger of its own on the lead table, the pass leaves the work to the SQL statement');
SELECT is(cadence.rescore('2026-03-25 15:00+00'), :c_changed::bigint, 'the SQL statement changes as many leads');
SELECT is(pg_temp.scores_digest(), :'c_digest', 'and stores the same scores, tiers and times, lead by lead');
SELECT is((SELECT count(*) FROM trigger_calls), :c_changed::bigint, 'the table''s trigger ran for each lead written');
ROLLBACK TO SAVEPOINT night;

-- A column added and dropped leaves a gap in the table's row; the pass copies around it.
SAVEPOINT night;
ALTER TABLE cadence.lead ADD COLUMN scratch integer;
ALTER TABLE cadence.lead DROP COLUMN scratch;
SELECT cadence.rescore('2026-03-25 15:00+00') AS ignored \gset
SELECT is(pg_temp.scores_digest(), :'c_digest', 'with a dropped column the pass stores the same');
SELECT is((SELECT count(*) FROM cadence.lead WHERE first_name IS NULL OR time_zone <> 'America/Chicago'), 0::bigint,
          'and every other column is kept');
ROLLBACK TO SAVEPOINT night;

-- ---------------------------------------------------------------------------
-- Given leads (as an event batch rescores its leads): each scored as of its
-- own time, or its newest event when that is later; the pass and the SQL
-- statement store the same.
CREATE TEMP TABLE given AS
SELECT l.lead_id, CASE WHEN l.lead_id % 3 = 0 THEN NULL
                       ELSE '2026-03-20 15:00+00'::timestamptz + make_interval(hours => (l.lead_id % 50)::integer) END AS at
  FROM cadence.lead l WHERE l.lead_id % 4 = 0 OR l.lead_id IN (:hot, :warm);
SELECT array_agg(lead_id ORDER BY lead_id DESC) AS given_ids, array_agg(at ORDER BY lead_id DESC) AS given_times FROM given \gset
SAVEPOINT night;
SELECT cadence.rescore_leads(1, :'given_ids', '2026-03-25 15:00+00', true, :'given_times') AS given_changed \gset
SELECT pg_temp.scores_digest() AS given_digest \gset
SELECT is((SELECT count(*) FROM given g JOIN cadence.lead l USING (lead_id)
            WHERE l.score IS DISTINCT FROM cadence.score(l.lead_id, greatest(coalesce(g.at, '2026-03-25 15:00+00'),
                                          (SELECT max(e.occurred_at) FROM cadence.event e WHERE e.lead_id = l.lead_id)))),
          0::bigint, 'each given lead stores score() as of its time, or its newest event when later');
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE l.lead_id NOT IN (SELECT lead_id FROM given) AND (b.score, b.tier, b.scored_at) IS DISTINCT FROM (l.score, l.tier, l.scored_at)),
          0::bigint, 'the other leads are left alone');
ROLLBACK TO SAVEPOINT night;
SAVEPOINT night;
CREATE TRIGGER note_update BEFORE UPDATE ON cadence.lead FOR EACH ROW EXECUTE FUNCTION pg_temp.note_update();
SELECT is(cadence.rescore_leads(1, :'given_ids', '2026-03-25 15:00+00', true, :'given_times'), :given_changed::bigint,
          'the SQL statement changes as many given leads');
DROP TRIGGER note_update ON cadence.lead;
SELECT is(pg_temp.scores_digest(), :'given_digest', 'and stores the same scores, tiers and times');
ROLLBACK TO SAVEPOINT night;
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1),
                                                             '{1,2}', '{2026-03-25 15:00+00}')$$,
                 '2202E', 'lead_times has 1 elements and lead_ids 2 (field "lead_times")', 'lead_times not aligned: refused');
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1),
                                                             NULL, '{2026-03-25 15:00+00}')$$,
                 '22023', 'lead_times needs the lead_ids it is for (field "lead_times")', 'lead_times alone: refused');
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1), '{1,NULL}')$$,
                 '22004', 'lead_ids holds a NULL (field "lead_ids")', 'a NULL lead: refused');
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1),
                                                             '{1}', '{infinity}')$$,
                 '22023', 'lead_times must hold finite times (field "lead_times")', 'an infinite lead time: refused');

-- ---------------------------------------------------------------------------
-- Hysteresis over nights: a week more and the reply is worth 3.75 (73.75,
-- 74): under 75, the lead leaves hot for warm, and the pass lists it.
SAVEPOINT night;
SELECT cadence.rescore('2026-03-25 15:00+00') AS ignored \gset
SELECT results_eq(
    format($$SELECT r.old_tier, r.tier, r.score
               FROM cadence.rescore_tenant_leads(1, '2026-04-01 15:00+00', cadence.scoring_model_for(1)) p,
                    unnest(p.rescored) r WHERE r.lead_id = %s$$, :hot),
    $$VALUES ('hot'::text, 'warm'::text, 74)$$,
    'a second week: 73.75 rounds to 74, under 75, hot to warm, listed for routing');
SELECT row_eq(format($$SELECT score, tier, scored_at FROM cadence.lead WHERE lead_id = %s$$, :warm),
              ROW(69, 'warm'::text, '2026-04-01 15:00+00'::timestamptz),
              'the click, two weeks old, is worth 4: 30 + 35 + 4 = 69');
ROLLBACK TO SAVEPOINT night;

-- ---------------------------------------------------------------------------
-- Rights.  A session of another tenant reads none of tenant 1's leads, so
-- writes none, whatever tenant it names.
SELECT cadence.create_tenant('Harbor Motors') AS t2 \gset
SAVEPOINT night;
SET LOCAL ROLE cadence_app;
SELECT cadence.set_tenant(:t2) AS ignored \gset
SELECT row_eq($$SELECT scored, changed FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1))$$,
              ROW(0::bigint, 0::bigint), 'tenant 2''s session naming tenant 1 scores and writes nothing');
RESET ROLE;
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE (b.score, b.tier, b.scored_at) IS DISTINCT FROM (l.score, l.tier, l.scored_at)),
          0::bigint, 'tenant 1''s leads are as they were');
ROLLBACK TO SAVEPOINT night;

-- A role that may read leads but not write their scores is refused.
CREATE ROLE cadence_test_nightly_reader NOLOGIN IN ROLE cadence_reader;
GRANT EXECUTE ON FUNCTION cadence.rescore_tenant_leads(bigint, timestamptz, jsonb, bigint[], timestamptz[]) TO cadence_test_nightly_reader;
SAVEPOINT night;
SET LOCAL ROLE cadence_test_nightly_reader;
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1))$$,
                 '42501', NULL, 'without UPDATE on the score columns the pass is refused');
ROLLBACK TO SAVEPOINT night;

-- A policy of the DBA's own: the SQL statement applies it.
SAVEPOINT night;
CREATE POLICY frozen_scores ON cadence.lead AS RESTRICTIVE FOR UPDATE TO cadence_app
    USING (segment IS DISTINCT FROM 'aged_internet');
SET LOCAL ROLE cadence_app;
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT ok((SELECT p.changed IS NULL FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p),
          'with a policy of its own on the lead table, the pass leaves the work to the SQL statement');
SELECT cadence.rescore('2026-03-25 15:00+00') AS ignored \gset
RESET ROLE;
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE l.segment = 'aged_internet' AND (b.score, b.tier) IS DISTINCT FROM (l.score, l.tier)),
          0::bigint, 'and the leads the policy protects keep their scores');
ROLLBACK TO SAVEPOINT night;

-- A constraint on a written column holds; the failed pass leaves nothing behind.
SAVEPOINT night;
ALTER TABLE cadence.lead ADD CONSTRAINT score_at_most_70 CHECK (score <= 70) NOT VALID;
SELECT throws_ok($$SELECT cadence.rescore('2026-03-25 15:00+00')$$, '23514',
                 'new row for relation "lead" violates check constraint "score_at_most_70"',
                 'a score over a CHECK constraint on the score column fails the pass, naming the constraint');
SELECT is((SELECT count(*) FROM before_night b JOIN cadence.lead l USING (lead_id)
            WHERE (b.score, b.tier, b.scored_at) IS DISTINCT FROM (l.score, l.tier, l.scored_at)),
          0::bigint, 'no lead is left half-rescored');
ROLLBACK TO SAVEPOINT night;

-- A constraint reading the whole row reads the score too.
SAVEPOINT night;
ALTER TABLE cadence.lead ADD CONSTRAINT warm_not_71
    CHECK ((pg_catalog.to_jsonb(lead) ->> 'external_id') <> 'N-WARM' OR (pg_catalog.to_jsonb(lead) ->> 'score')::integer <> 71);
SELECT throws_ok($$SELECT cadence.rescore('2026-03-25 15:00+00')$$, '23514',
                 'new row for relation "lead" violates check constraint "warm_not_71"',
                 'a CHECK constraint on the whole row is kept');
ROLLBACK TO SAVEPOINT night;

-- A table that inherits the leads, or a rule on them: the SQL statement, which applies them.
SAVEPOINT night;
CREATE TABLE pg_temp.imported_lead () INHERITS (cadence.lead);
SELECT ok((SELECT p.changed IS NULL FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p),
          'with a table inheriting from cadence.lead, the pass leaves the work to the SQL statement');
ROLLBACK TO SAVEPOINT night;
SAVEPOINT night;
CREATE RULE lead_scores_seen AS ON UPDATE TO cadence.lead DO ALSO NOTIFY lead_scores;
SELECT ok((SELECT p.changed IS NULL FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1)) p),
          'with a rule on cadence.lead, the pass leaves the work to the SQL statement');
ROLLBACK TO SAVEPOINT night;

-- A read-only transaction writes nothing.
SAVEPOINT night;
SET LOCAL transaction_read_only = on;
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', cadence.scoring_model_for(1))$$,
                 '25006', 'cannot execute UPDATE in a read-only transaction', 'in a read-only transaction the pass is refused');
ROLLBACK TO SAVEPOINT night;

-- ---------------------------------------------------------------------------
-- Bad input.
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(NULL, '2026-03-25 15:00+00', cadence.scoring_model_for(1))$$,
                 '22004', 'a tenant is needed to rescore its leads (field "tenant_id")', 'no tenant: refused, naming the field');
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, 'infinity', cadence.scoring_model_for(1))$$,
                 '22023', 'as_of must be a finite time (field "as_of")', 'an infinite as_of: refused, naming the field');
SELECT throws_ok($$SELECT * FROM cadence.rescore_tenant_leads(1, '2026-03-25 15:00+00', NULL)$$,
                 '22004', 'a scoring model is needed to rescore leads (field "model")', 'no model: refused, naming the field');

SELECT * FROM finish();
ROLLBACK;
