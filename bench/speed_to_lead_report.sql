-- Speed-to-lead, the table: per mode and load, the leads measured, the
-- median, 99th percentile and worst time from the commit of INSERT lead +
-- enroll to the first call being claimable, the target and whether it is
-- met; the event rate actually sustained during the run under load; and
-- the pg_cron mode beside them, measured and as worked out.
-- psql variables: :rate (the event rate asked of pgbench).

\pset tuples_only off
\pset format aligned
\pset border 2
\pset footer off
\pset null '-'

WITH ms AS (
    SELECT s.mode, s.load, 1000 * extract(epoch FROM s.claimable_at - s.committed_at) AS ms, s.polls
      FROM speed.sample s
), stats AS (
    SELECT mode, load, count(*) AS leads,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
           percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
           max(ms) AS worst
      FROM ms
     GROUP BY mode, load
), events AS (
    -- events recorded (tenant 2) while each run measured, per second
    SELECT r.mode, r.load,
           (SELECT count(*) FROM cadence.event e
             WHERE e.tenant_id = 2 AND e.occurred_at >= r.started_at AND e.occurred_at < r.ended_at)
           / extract(epoch FROM r.ended_at - r.started_at) AS per_second
      FROM speed.run r
), line AS (
    SELECT CASE s.mode WHEN 'worker' THEN 1 ELSE 3 END + CASE s.load WHEN 'idle' THEN 0 ELSE 1 END AS ord,
           CASE s.mode WHEN 'worker' THEN 'background worker' ELSE 'pg_cron, a tick a minute (measured)' END AS mode,
           CASE s.load WHEN 'idle' THEN 'idle'
                ELSE format('%s events/s asked, %s recorded', :rate, round(e.per_second)) END AS load,
           s.leads,
           CASE WHEN s.mode = 'worker' THEN round(s.p50::numeric, 1) || ' ms' ELSE round(s.p50::numeric / 1000, 1) || ' s' END AS p50,
           CASE WHEN s.mode = 'worker' THEN round(s.p99::numeric, 1) || ' ms' ELSE round(s.p99::numeric / 1000, 1) || ' s' END AS p99,
           CASE WHEN s.mode = 'worker' THEN round(s.worst::numeric, 1) || ' ms' ELSE round(s.worst::numeric / 1000, 1) || ' s' END AS worst,
           CASE WHEN s.mode <> 'worker' THEN '-' WHEN s.load = 'idle' THEN 'p99 < 50 ms' ELSE 'p99 < 250 ms' END AS target,
           CASE WHEN s.mode <> 'worker' THEN '-'
                WHEN s.p99 < CASE s.load WHEN 'idle' THEN 50 ELSE 250 END THEN 'yes' ELSE 'no' END AS met
      FROM stats s
      LEFT JOIN events e ON e.mode = s.mode AND e.load = s.load
    UNION ALL
    -- A lead arriving at a uniformly random moment waits for the next minute
    -- boundary, then for the tick itself: p50 30 s, p99 59.4 s, at worst 60 s.
    SELECT 5, 'pg_cron, a tick a minute (worked out)', 'any', NULL, '30 s + tick', '59.4 s + tick', '60 s + tick', '-', '-'
)
SELECT mode, load, leads, p50, p99, worst AS max, target, met FROM line ORDER BY ord;

-- Where the time went (medians, ms): from the enrolment's commit to the
-- start of the tick that queued the first call (the wake-up), that tick
-- until its commit, and from that commit to the claim that returned the call
-- (the 1 ms polling).
SELECT CASE s.mode WHEN 'worker' THEN 'background worker' ELSE 'pg_cron' END AS mode, s.load,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM s.tick_started_at - s.committed_at))::numeric, 1) AS to_tick_start,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM s.tick_committed_at - s.tick_started_at))::numeric, 1) AS tick,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY 1000 * extract(epoch FROM s.claimable_at - s.tick_committed_at))::numeric, 1) AS to_claim,
       count(s.tick_committed_at) AS leads_seen
  FROM speed.sample s
 GROUP BY s.mode, s.load
 ORDER BY s.mode DESC, s.load DESC;

-- Each run: how long it took, how often the worker ticked (woken by the
-- enrolments and the events) and how many events were recorded meanwhile.
SELECT CASE r.mode WHEN 'worker' THEN 'background worker' ELSE 'pg_cron' END AS mode, r.load,
       round(extract(epoch FROM r.ended_at - r.started_at)::numeric, 1) AS seconds,
       round(((r.ticks_end - r.ticks_start) / extract(epoch FROM r.ended_at - r.started_at))::numeric) AS worker_ticks_per_s,
       round(((SELECT count(*) FROM cadence.event e
                WHERE e.tenant_id = 2 AND e.occurred_at >= r.started_at AND e.occurred_at < r.ended_at)
              / extract(epoch FROM r.ended_at - r.started_at))::numeric) AS events_per_s
  FROM speed.run r
 ORDER BY r.mode DESC, r.load DESC;
