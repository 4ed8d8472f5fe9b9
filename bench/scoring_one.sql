-- Figure 7, one lead's score: cadence.score() for lead :one_lead of tenant
-- :t_scoring (200 events over 90 days) beside the same scoring written as
-- one plain SQL query, :calls calls of each, alternating, in one DO block
-- as bench_app, each call timed with clock_timestamp().  The plain query is
-- a statement of the block, so PL/pgSQL prepares it once, as an application
-- would.  Five calls of each warm the caches first; every call must give
-- the same score both ways.  One row per timed call goes to bench.result
-- (figure score_one, variant engine or plain_sql).
-- psql variables: :t_scoring, :one_lead, :score_as_of, :calls.

SET ROLE bench_app;
SELECT cadence.set_tenant(:t_scoring, false) \g /dev/null
-- (psql does not substitute variables inside the block's body)
SELECT set_config('bench.one_lead', :'one_lead', false), set_config('bench.as_of', :'score_as_of', false),
       set_config('bench.calls', :'calls', false) \g /dev/null

DO $$
DECLARE
    p_lead   constant bigint := current_setting('bench.one_lead')::bigint;
    as_of    constant timestamptz := current_setting('bench.as_of')::timestamptz;
    calls    constant integer := current_setting('bench.calls')::integer;
    t0       timestamptz;
    v_engine integer;
    v_sql    integer;
    engine_s double precision[] := '{}';
    sql_s    double precision[] := '{}';
BEGIN
    FOR i IN 1..calls + 5 LOOP
        t0 := clock_timestamp();
        v_engine := cadence.score(p_lead, as_of);
        IF i > 5 THEN
            engine_s := engine_s || extract(epoch FROM clock_timestamp() - t0)::double precision;
        END IF;

        t0 := clock_timestamp();
        SELECT least(100, greatest(0, round(30 + coalesce(f.points, 0) + coalesce(g.points, 0) + l.score_bonus)))::integer
          INTO v_sql
          FROM cadence.lead l
          LEFT JOIN LATERAL (
                SELECT sum(least(coalesce(r.cap, 'infinity'), k.decayed)) AS points
                  FROM (SELECT e.applied_kind AS kind,
                               sum(r.points * power(0.5, extract(epoch FROM as_of - e.occurred_at)::double precision
                                                         / r.half_life_s)) AS decayed
                          FROM cadence.event e
                          JOIN bench.engagement_rule r ON r.kind = e.applied_kind
                         WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id AND e.occurred_at <= as_of
                         GROUP BY e.applied_kind) k
                  JOIN bench.engagement_rule r ON r.kind = k.kind) g ON true
          LEFT JOIN LATERAL (SELECT sum(r.points) AS points FROM bench.fit_rule r
                              WHERE lower(l.attributes ->> r.attr_key) = ANY (r.vals)) f ON true
         WHERE l.tenant_id = cadence.current_tenant() AND l.lead_id = p_lead;
        IF i > 5 THEN
            sql_s := sql_s || extract(epoch FROM clock_timestamp() - t0)::double precision;
        END IF;

        IF v_sql IS DISTINCT FROM v_engine THEN
            RAISE EXCEPTION 'lead %: cadence.score() gives %, the plain SQL %', p_lead, v_engine, v_sql;
        END IF;
    END LOOP;
    INSERT INTO bench.result (figure, variant, run, seconds, items)
    SELECT 'score_one', 'engine', n, s, 1 FROM unnest(engine_s) WITH ORDINALITY AS x(s, n)
    UNION ALL
    SELECT 'score_one', 'plain_sql', n, s, 1 FROM unnest(sql_s) WITH ORDINALITY AS x(s, n);
END
$$;

RESET ROLE;
SELECT bench.check(count(*) = 2 * :calls, format('%s timed calls of one lead''s score, expected %s', count(*), 2 * :calls))
  FROM bench.result WHERE figure = 'score_one' \g /dev/null
