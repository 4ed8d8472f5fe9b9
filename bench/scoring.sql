-- Scoring benchmark set-up (figures 6 to 8 of bench/run.sh): the tenant the
-- scoring figures run in, its reps, the scoring rules a user would keep in
-- plain tables without the extension (the same rules as the default model),
-- and the plain-SQL scoring that the figures compare cadence.rescore() and
-- cadence.score() with.  Runs after setup.sql (the extension, bench_app,
-- schema bench, bench.result), as the superuser that owns the cluster.
-- psql variables: :t_scoring (the tenant id).

INSERT INTO cadence.tenant (tenant_id, name) VALUES (:t_scoring, 'bench scoring');

-- Alerts raised by replies and high-intent events while the events load go
-- round robin to these reps (the leads have no owner).
INSERT INTO cadence.rep (tenant_id, name, email, role, on_duty)
SELECT :t_scoring, 'Scoring rep ' || n, 'scoring-rep' || n || '@example.com', 'rep', true
  FROM generate_series(1, 10) AS n;

-- The mix of event kinds, per thousand events: only kinds the default model
-- scores, mostly opens and clicks, then answered calls, replies, high-intent
-- signals and appointments.
--   1-550 email_open (55 %)       551-750 email_click (20 %)
--   751-800 email_reply (5 %)     801-850 sms_reply (5 %)
--   851-920 call_answered (7 %)   921-940 trade_value_request (2 %)
--   941-955 credit_question (1.5 %)   956-970 urgent_timeline (1.5 %)
--   971-1000 appointment_set (3 %)
CREATE FUNCTION bench.scoring_kind(r integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN r <= 550 THEN 'email_open'
            WHEN r <= 750 THEN 'email_click'
            WHEN r <= 800 THEN 'email_reply'
            WHEN r <= 850 THEN 'sms_reply'
            WHEN r <= 920 THEN 'call_answered'
            WHEN r <= 940 THEN 'trade_value_request'
            WHEN r <= 955 THEN 'credit_question'
            WHEN r <= 970 THEN 'urgent_timeline'
            ELSE 'appointment_set' END;

-- Events per lead: 0 to 20, exactly 10 on average (of leads 2m - 1 and 2m
-- one gets 10 + x, the other 10 - x), so that leads 1 to n (n even) hold
-- 10 x n events.
CREATE FUNCTION bench.scoring_events_of(i bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN i % 2 = 1 THEN 10 + (hashint8((i + 1) / 2) & 2147483647) % 11
            ELSE 10 - (hashint8((i + 1) / 2) & 2147483647) % 11 END;

-- The scoring rules as a user without the extension would keep them: one
-- row per fit rule on a lead attribute (values lower-cased, compared
-- case-insensitively) and one row per event kind, filled from the default
-- model so that both sides score alike.
CREATE TABLE bench.fit_rule (
    attr_key text NOT NULL,
    vals     text[] NOT NULL,
    points   double precision NOT NULL
);
CREATE TABLE bench.engagement_rule (
    kind        text PRIMARY KEY,
    points      double precision NOT NULL,
    half_life_s double precision NOT NULL,
    cap         double precision
);
INSERT INTO bench.fit_rule (attr_key, vals, points)
SELECT substr(r ->> 'field', 6),
       ARRAY(SELECT lower(v) FROM jsonb_array_elements_text(coalesce(r -> 'in', jsonb_build_array(r -> 'equals'))) v),
       (r ->> 'points')::double precision
  FROM jsonb_array_elements(cadence.default_scoring_spec() -> 'fit') r;
INSERT INTO bench.engagement_rule (kind, points, half_life_s, cap)
SELECT k.key, (k.value ->> 'points')::double precision,
       extract(epoch FROM (k.value ->> 'half_life')::interval), (k.value ->> 'cap')::double precision
  FROM jsonb_each(cadence.default_scoring_spec() -> 'engagement') k;
GRANT SELECT ON bench.fit_rule, bench.engagement_rule TO bench_app;

-- Plain SQL, all leads: every lead of the current tenant scored at as_of
-- as base 30 + the fit rules it matches + per event kind min(cap, sum of
-- points * 0.5^(age / half-life)) + score_bonus, rounded and clamped to
-- 0-100.  Events after as_of are ignored.  (A set-returning SQL function of
-- one SELECT: the planner inlines it into the statement that calls it.)
CREATE FUNCTION bench.sql_scores(as_of timestamptz)
RETURNS TABLE (lead_id bigint, old_score integer, old_tier text, score integer)
LANGUAGE sql STABLE
AS $$
    WITH engagement AS (
        SELECT k.lead_id, sum(least(coalesce(r.cap, 'infinity'), k.decayed)) AS points
          FROM (SELECT e.lead_id, e.applied_kind AS kind,
                       sum(r.points * power(0.5, extract(epoch FROM as_of - e.occurred_at)::double precision / r.half_life_s))
                         AS decayed
                  FROM cadence.event e
                  JOIN bench.engagement_rule r ON r.kind = e.applied_kind
                 WHERE e.tenant_id = cadence.current_tenant() AND e.occurred_at <= as_of
                 GROUP BY e.lead_id, e.applied_kind) k
          JOIN bench.engagement_rule r ON r.kind = k.kind
         GROUP BY k.lead_id
    )
    SELECT l.lead_id, l.score, l.tier,
           least(100, greatest(0, round(30 + coalesce(f.points, 0) + coalesce(g.points, 0) + l.score_bonus)))::integer
      FROM cadence.lead l
      LEFT JOIN engagement g ON g.lead_id = l.lead_id
      LEFT JOIN LATERAL (SELECT sum(r.points) AS points FROM bench.fit_rule r
                          WHERE lower(l.attributes ->> r.attr_key) = ANY (r.vals)) f ON true
     WHERE l.tenant_id = cadence.current_tenant()
$$;
GRANT EXECUTE ON FUNCTION bench.sql_scores(timestamptz) TO bench_app;

-- Plain SQL, the nightly rescore a user would write without the extension:
-- the scores above, the tier with the same hysteresis (thresholds 80/60/40,
-- 5 points), and one UPDATE of the leads whose score or tier changed, as
-- cadence.rescore() does (without routing).  Returns the leads changed.
CREATE FUNCTION bench.sql_rescore(as_of timestamptz) RETURNS bigint
LANGUAGE sql
AS $$
    WITH tiered AS (
        SELECT s.lead_id, s.score,
               CASE WHEN s.old_tier IS NULL OR x.naive_rank >= x.old_rank
                      OR s.score < (ARRAY[0, 40, 60, 80])[x.old_rank] - 5 THEN x.naive
                    ELSE s.old_tier END AS tier,
               s.old_score, s.old_tier
          FROM bench.sql_scores(as_of) s
         CROSS JOIN LATERAL (
                SELECT n.naive, array_position(ARRAY['cold', 'moderate', 'warm', 'hot'], n.naive) AS naive_rank,
                       array_position(ARRAY['cold', 'moderate', 'warm', 'hot'], s.old_tier) AS old_rank
                  FROM (SELECT CASE WHEN s.score >= 80 THEN 'hot' WHEN s.score >= 60 THEN 'warm'
                                    WHEN s.score >= 40 THEN 'moderate' ELSE 'cold' END AS naive) n) x
    ), changed AS (
        UPDATE cadence.lead l
           SET score = t.score, tier = t.tier, scored_at = as_of
          FROM tiered t
         WHERE l.tenant_id = cadence.current_tenant() AND l.lead_id = t.lead_id
           AND (t.old_score IS DISTINCT FROM t.score OR t.old_tier IS DISTINCT FROM t.tier)
        RETURNING 1
    )
    SELECT count(*) FROM changed
$$;
GRANT EXECUTE ON FUNCTION bench.sql_rescore(timestamptz) TO bench_app;
