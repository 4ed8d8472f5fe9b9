-- The scoring benchmark's table (figures 6 and 7): cadence.rescore() beside
-- the bare GROUP BY over the same events (the target) and beside the same
-- rescore in plain SQL; cadence.score() for one lead (the target) and beside
-- the same score as one plain SQL query.  Times, so lower is better; the
-- ratio is cadence / baseline.  Then the runs and the load.
-- psql variables: :n_sc_leads, :n_sc_events, :calls.

\pset tuples_only off
\pset format aligned
\pset border 2
\pset footer off
\pset null '-'

WITH t AS (
    SELECT figure, variant,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS seconds,
           count(*) AS runs
      FROM bench.result
     WHERE figure IN ('rescore', 'score_one')
     GROUP BY figure, variant
), fig AS (
    SELECT 1 AS n,
           format('rescore, s (%s leads, %s events, median of %s) vs bare GROUP BY lead_id',
                  to_char(:n_sc_leads, 'FM9,999,999,999'), to_char(:n_sc_events, 'FM9,999,999,999'), e.runs) AS figure,
           to_char(e.seconds, 'FM999,990.000') AS cadence, to_char(f.seconds, 'FM999,990.000') AS baseline,
           e.seconds / f.seconds AS ratio, '<= 2' AS target,
           CASE WHEN e.seconds / f.seconds <= 2 THEN 'yes' ELSE 'no' END AS met
      FROM t e, t f
     WHERE e.figure = 'rescore' AND e.variant = 'engine' AND f.figure = 'rescore' AND f.variant = 'floor'
    UNION ALL
    SELECT 2, 'rescore vs the same rescore in plain SQL, s (bench.sql_rescore)',
           to_char(e.seconds, 'FM999,990.000'), to_char(p.seconds, 'FM999,990.000'),
           e.seconds / p.seconds, '-', '-'
      FROM t e, t p
     WHERE e.figure = 'rescore' AND e.variant = 'engine' AND p.figure = 'rescore' AND p.variant = 'plain_sql'
    UNION ALL
    SELECT 3, format('score() of one lead with 200 events, us (median of %s calls)', e.runs),
           to_char(1e6 * e.seconds, 'FM999,990.0'), '-', NULL, '< 100',
           CASE WHEN 1e6 * e.seconds < 100 THEN 'yes' ELSE 'no' END
      FROM t e
     WHERE e.figure = 'score_one' AND e.variant = 'engine'
    UNION ALL
    SELECT 4, 'score() vs the same score as one plain SQL query, us',
           to_char(1e6 * e.seconds, 'FM999,990.0'), to_char(1e6 * p.seconds, 'FM999,990.0'),
           e.seconds / p.seconds, '-', '-'
      FROM t e, t p
     WHERE e.figure = 'score_one' AND e.variant = 'engine' AND p.figure = 'score_one' AND p.variant = 'plain_sql'
)
SELECT figure, cadence, baseline, to_char(ratio, 'FM990.000') AS ratio, target, met
  FROM fig
 ORDER BY n;

\pset format unaligned
\pset tuples_only on
SELECT format('rescore runs (s): cadence.rescore %s; bare GROUP BY %s; plain SQL %s; leads changed by each rescore: %s',
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'rescore' AND variant = 'engine'),
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'rescore' AND variant = 'floor'),
              (SELECT string_agg(to_char(seconds, 'FM990.000'), ' ' ORDER BY run) FROM bench.result
                WHERE figure = 'rescore' AND variant = 'plain_sql'),
              (SELECT string_agg(DISTINCT items::text, ' ') FROM bench.result WHERE figure = 'rescore_changed'))
 WHERE EXISTS (SELECT FROM bench.result WHERE figure = 'rescore');
SELECT format('one lead, us: score() p10 %s, median %s, p90 %s; plain SQL p10 %s, median %s, p90 %s',
              to_char(1e6 * percentile_cont(0.1) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'engine'), 'FM990'),
              to_char(1e6 * percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'engine'), 'FM990'),
              to_char(1e6 * percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'engine'), 'FM990'),
              to_char(1e6 * percentile_cont(0.1) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'plain_sql'), 'FM990'),
              to_char(1e6 * percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'plain_sql'), 'FM990'),
              to_char(1e6 * percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) FILTER (WHERE variant = 'plain_sql'), 'FM990'))
  FROM bench.result
 WHERE figure = 'score_one'
HAVING count(*) > 0;
SELECT format('load: %s leads in %s s, %s events in %s s (%s events/s), in %s INSERTs each, with the triggers',
              to_char(sum(items) FILTER (WHERE variant = 'leads'), 'FM9,999,999,999'),
              to_char(sum(seconds) FILTER (WHERE variant = 'leads'), 'FM999,990.0'),
              to_char(sum(items) FILTER (WHERE variant = 'events'), 'FM9,999,999,999'),
              to_char(sum(seconds) FILTER (WHERE variant = 'events'), 'FM999,990.0'),
              to_char(sum(items) FILTER (WHERE variant = 'events') / sum(seconds) FILTER (WHERE variant = 'events'),
                      'FM999,999,990'),
              count(*) FILTER (WHERE variant = 'events'))
  FROM bench.result
 WHERE figure = 'scoring_load'
HAVING count(*) > 0;
