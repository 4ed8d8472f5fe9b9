-- The event benchmark's table (figures 4 and 5): events per second on each
-- path beside its comparison, the ratio, the target and whether it is met
-- (a bulk load cancelled at the time limit gives a bound, "< rate"); then
-- what each path did to the leads, so that one can see the paths did the
-- same work.
-- Figure 4, counted, gives instructions an event (lower is better), its
-- ratio the bare INSERT's over record_event's, as figure 4's.
-- psql variables: :n_single, :n_copy, :n_copy_small, :n_ev_leads, :clients, :n_counted,
-- :t_record, :t_plpgsql, :t_copy, :t_staged.

\pset tuples_only off
\pset format aligned
\pset border 2
\pset footer off
\pset null '-'

WITH rate AS (
    SELECT figure, variant,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY items / seconds) AS per_second,
           count(*) AS runs
      FROM bench.result
     WHERE figure IN ('event_single', 'event_copy', 'event_copy_small')
     GROUP BY figure, variant
), fig AS (
    -- ratio: the engine's rate over the baseline's (for a count, the
    -- baseline's instructions over the engine's: higher is better in both)
    SELECT 1 AS n,
           format('record_event vs bare INSERT, events/s (%s clients, %s events over %s leads)', :clients,
                  to_char(:n_single, 'FM9,999,999'), to_char(:n_ev_leads, 'FM9,999,999')) AS figure,
           e.per_second AS engine, b.per_second AS baseline, e.per_second / b.per_second AS ratio,
           '>= 0.35' AS target, e.per_second / b.per_second >= 0.35 AS met, false AS bound
      FROM rate e, rate b
     WHERE e.figure = 'event_single' AND e.variant = 'engine' AND b.figure = 'event_single' AND b.variant = 'baseline'
    UNION ALL
    SELECT 2,
           format('the same, in CPU instructions an event (callgrind, one backend, %s prepared events)',
                  to_char(:n_counted, 'FM9,999,999')),
           e.seconds, b.seconds, b.seconds / e.seconds, '>= 0.35', b.seconds / e.seconds >= 0.35, false
      FROM bench.result e, bench.result b
     WHERE e.figure = 'event_counted' AND e.variant = 'engine' AND b.figure = 'event_counted' AND b.variant = 'baseline'
    UNION ALL
    SELECT 3, 'record_event vs the PL/pgSQL row trigger, events/s (the same rows)',
           e.per_second, p.per_second, e.per_second / p.per_second, '> 1', e.per_second > p.per_second, false
      FROM rate e, rate p
     WHERE e.figure = 'event_single' AND e.variant = 'engine' AND p.figure = 'event_single' AND p.variant = 'plpgsql'
    UNION ALL
    SELECT 4,
           format('COPY into cadence.event vs bare COPY, events/s (%s events over %s leads)',
                  to_char(:n_copy, 'FM9,999,999'), to_char(:n_ev_leads, 'FM9,999,999')),
           coalesce(e.per_second, t.per_second), b.per_second, coalesce(e.per_second, t.per_second) / b.per_second,
           '>= 0.5', coalesce(e.per_second / b.per_second >= 0.5, false), e.per_second IS NULL
      FROM rate b
      LEFT JOIN rate e ON e.figure = 'event_copy' AND e.variant = 'engine'
      LEFT JOIN rate t ON t.figure = 'event_copy' AND t.variant = 'timed_out'
     WHERE b.figure = 'event_copy' AND b.variant = 'baseline' AND (e.figure IS NOT NULL OR t.figure IS NOT NULL)
    UNION ALL
    SELECT 5,
           format('as cadence_app: COPY to a temporary table + INSERT vs bare COPY, events/s (%s over %s leads)',
                  to_char(:n_copy_small, 'FM9,999,999'), to_char(:n_ev_leads / 10, 'FM9,999,999')),
           s.per_second, b.per_second, s.per_second / b.per_second, '>= 0.5', s.per_second / b.per_second >= 0.5, false
      FROM rate s, rate b
     WHERE s.figure = 'event_copy_small' AND s.variant = 'staged'
       AND b.figure = 'event_copy_small' AND b.variant = 'baseline'
)
SELECT figure,
       CASE WHEN bound THEN '< ' ELSE '' END || to_char(engine, 'FM999,999,990') AS cadence,
       to_char(baseline, 'FM999,999,990') AS baseline,
       CASE WHEN bound THEN '< ' ELSE '' END || to_char(ratio, 'FM990.000') AS ratio,
       target,
       CASE WHEN met THEN 'yes' ELSE 'no' END AS met
  FROM fig
 ORDER BY n;

\pset format unaligned
\pset tuples_only on
SELECT format('single rows, runs in s: bare INSERT %s; record_event %s; PL/pgSQL trigger %s (%s events each)',
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'event_single' AND variant = 'baseline'),
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'event_single' AND variant = 'engine'),
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'event_single' AND variant = 'plpgsql'),
              :n_single)
 WHERE EXISTS (SELECT FROM bench.result WHERE figure = 'event_single');
SELECT format('bulk: bare COPY %s s, COPY into cadence.event %s (%s events); bare COPY %s s, temporary table + INSERT %s s (%s events)',
              (SELECT to_char(seconds, 'FM99990.00') FROM bench.result WHERE figure = 'event_copy' AND variant = 'baseline'),
              coalesce((SELECT to_char(seconds, 'FM99990.00') || ' s' FROM bench.result
                         WHERE figure = 'event_copy' AND variant = 'engine'),
                       (SELECT 'over ' || to_char(seconds, 'FM99990') || ' s (cancelled at the time limit)' FROM bench.result
                         WHERE figure = 'event_copy' AND variant = 'timed_out')),
              :n_copy,
              (SELECT to_char(seconds, 'FM99990.00') FROM bench.result WHERE figure = 'event_copy_small' AND variant = 'baseline'),
              (SELECT to_char(seconds, 'FM99990.00') FROM bench.result WHERE figure = 'event_copy_small' AND variant = 'staged'),
              :n_copy_small)
 WHERE EXISTS (SELECT FROM bench.result WHERE figure = 'event_copy');

-- What each path did: enrolments escalated, paused (handed to a rep) or
-- ended by an appointment or opt-out, alerts raised, consent revoked,
-- touches cancelled, and the leads' mean score.
SELECT format('%-16s %s events: %s escalated, %s paused, %s exited, %s alerts, %s revokes, %s touches cancelled, mean score %s',
              p.path || ':', to_char(x.events, 'FM9,999,999'), x.escalated, x.paused, x.exited, x.alerts, x.revokes,
              x.cancelled, x.mean_score)
  FROM (VALUES (1, 'record_event', :t_record), (2, 'PL/pgSQL', :t_plpgsql), (3, 'COPY', :t_copy),
               (4, 'staged COPY', :t_staged)) AS p(n, path, tenant_id)
 CROSS JOIN LATERAL (
        SELECT (SELECT count(*) FROM cadence.event e WHERE e.tenant_id = p.tenant_id AND e.provider_id NOT LIKE 'before-%')
             + (SELECT count(*) FROM bench.event_plpgsql e WHERE e.tenant_id = p.tenant_id AND e.provider_id NOT LIKE 'before-%')
               AS events,
               count(*) FILTER (WHERE e.exit_reason = 'escalated') AS escalated,
               count(*) FILTER (WHERE e.status = 'paused') AS paused,
               count(*) FILTER (WHERE e.exit_reason IN ('appointment_set', 'opt_out', 'sold', 'lost')) AS exited,
               (SELECT count(*) FROM cadence.alert a WHERE a.tenant_id = p.tenant_id) AS alerts,
               (SELECT count(*) FROM cadence.consent c WHERE c.tenant_id = p.tenant_id AND c.action = 'revoke') AS revokes,
               (SELECT count(*) FROM cadence.touch t WHERE t.tenant_id = p.tenant_id AND t.status = 'cancelled') AS cancelled,
               (SELECT to_char(avg(l.score), 'FM990.00') FROM cadence.lead l WHERE l.tenant_id = p.tenant_id) AS mean_score
          FROM cadence.enrolment e
         WHERE e.tenant_id = p.tenant_id) AS x
 WHERE x.events > 0
 ORDER BY p.n;
