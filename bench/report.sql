-- The benchmark's table: each figure beside its baseline, the ratio, the
-- target and whether it is met.  Medians over the timed runs.
-- psql variables: :n_enrol, :n_small, :n_due, :n_claimed.

\pset tuples_only off
\pset format aligned
\pset border 2
\pset footer off
\pset null '-'

WITH rate AS (
    SELECT figure, variant,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY items / seconds) AS per_second,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS seconds,
           count(*) AS runs
      FROM bench.result
     GROUP BY figure, variant
), fig AS (
    SELECT 1 AS n,
           format('tick, touches/s (%s due of %s enrolments, median of %s)',
                  to_char(:n_due, 'FM9,999,999'), to_char(:n_enrol, 'FM9,999,999'), e.runs) AS figure,
           e.per_second AS engine, b.per_second AS baseline, e.per_second / b.per_second AS ratio,
           '>= 0.5' AS target, e.per_second / b.per_second >= 0.5 AS met
      FROM rate e, rate b
     WHERE e.figure = 'tick' AND e.variant = 'engine' AND b.figure = 'tick' AND b.variant = 'baseline'
    UNION ALL
    SELECT 2,
           format('tick with nothing due, ms (%s vs %s enrolments, median of %s)',
                  to_char(:n_enrol, 'FM9,999,999'), to_char(:n_small, 'FM9,999,999'), l.runs),
           1000 * l.seconds, 1000 * s.seconds, l.seconds / s.seconds,
           '<= 1.5', l.seconds / s.seconds <= 1.5
      FROM rate l, rate s
     WHERE l.figure = 'idle_tick' AND l.variant = 'large' AND s.figure = 'idle_tick' AND s.variant = 'small'
    UNION ALL
    SELECT 3,
           format('claim+complete, touches/s (4 workers, batches of 100, %s touches)', to_char(:n_claimed, 'FM9,999,999')),
           e.per_second, b.per_second, e.per_second / b.per_second,
           '>= 0.7', e.per_second / b.per_second >= 0.7
      FROM rate e, rate b
     WHERE e.figure = 'claim' AND e.variant = 'engine' AND b.figure = 'claim' AND b.variant = 'baseline'
)
SELECT figure,
       CASE WHEN n = 2 THEN to_char(engine, 'FM999,990.000') ELSE to_char(engine, 'FM999,999,990') END AS cadence,
       CASE WHEN n = 2 THEN to_char(baseline, 'FM999,990.000') ELSE to_char(baseline, 'FM999,999,990') END AS baseline,
       to_char(ratio, 'FM990.000') AS ratio,
       target,
       CASE WHEN met THEN 'yes' ELSE 'no' END AS met
  FROM fig
 ORDER BY n;

\pset format unaligned
\pset tuples_only on
-- the committed tick is timed when the claim figure builds its queue
SELECT format('tick runs (s): engine %s; baseline %s%s',
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'tick' AND variant = 'engine'),
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'tick' AND variant = 'baseline'),
              (SELECT '; one committed tick (commit included): ' || to_char(seconds, 'FM990.000') || ' s'
                 FROM bench.result WHERE figure = 'tick' AND variant = 'engine_committed'));
SELECT format('claim+complete runs: engine %s touches in %s s; baseline %s touches in %s s',
              e.items, to_char(e.seconds, 'FM990.00'), b.items, to_char(b.seconds, 'FM990.00'))
  FROM bench.result e, bench.result b
 WHERE e.figure = 'claim' AND e.variant = 'engine' AND b.figure = 'claim' AND b.variant = 'baseline';
