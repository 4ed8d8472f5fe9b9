-- Scoring benchmark data for leads :first to :last of tenant :t_scoring,
-- set-based, in two statements: the leads (the lead_arrived trigger scores
-- them as they arrive), then their events, 0 to 20 a lead, 10 on average
-- (bench.scoring_events_of), in time order, with the event trigger running
-- as it does for any bulk load (validation, effects, alerts for replies and
-- high-intent signals, and a rescore of the leads the events concern).
-- run.sh calls this once per slice of 10,000 leads (see there why no
-- larger).  Each INSERT is timed (with its commit) into bench.result
-- (figure scoring_load, run = :first).  Runs as the superuser.
-- psql variables: :t_scoring, :first, :last, :events_end (the events fall in
-- the 90 days before it), :one_lead (the lead that gets 200 events, for the
-- one-lead figure; run.sh loads it alone, after the others).
--
-- Leads: six segments (the seeds' four dealership segments and B2B inbound
-- and outbound), four US time zones; the attributes the default model
-- scores, spread as a dealership sees them: inquiry_type trade_in 12 %,
-- test_drive 8 %, financing_preapproved 5 %, general 35 %, none 40 %;
-- timeline this_week 5 %, this_month 15 %, 1_3_months 25 %, researching
-- 20 %, 3_months_plus 10 %, none 25 %.

SELECT cadence.set_tenant(:t_scoring, false) \g /dev/null

SELECT clock_timestamp() AS t0 \gset
INSERT INTO cadence.lead (tenant_id, lead_id, external_id, first_name, last_name, email, time_zone, segment, source,
                          attributes, created_at)
SELECT :t_scoring, i, 'S' || i, 'Pat' || i, 'Lee' || i, 'lead' || i || '@example.com',
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + i % 4],
       (ARRAY['new_inbound', 'unsold_showroom', 'aged_internet', 'service_defection', 'b2b_inbound',
              'b2b_outbound'])[1 + i % 6],
       (ARRAY['web', 'phone', 'walk_in', 'third_party'])[1 + i % 4],
       jsonb_strip_nulls(jsonb_build_object(
           'inquiry_type', CASE WHEN a.r1 < 12 THEN 'trade_in' WHEN a.r1 < 20 THEN 'test_drive'
                                WHEN a.r1 < 25 THEN 'financing_preapproved' WHEN a.r1 < 60 THEN 'general' END,
           'timeline', CASE WHEN a.r2 < 5 THEN 'this_week' WHEN a.r2 < 20 THEN 'this_month'
                            WHEN a.r2 < 45 THEN '1_3_months' WHEN a.r2 < 65 THEN 'researching'
                            WHEN a.r2 < 75 THEN '3_months_plus' END)),
       :'events_end'::timestamptz - interval '100 days'
  FROM generate_series(:first::bigint, :last::bigint) AS i
 CROSS JOIN LATERAL (SELECT (hashint8(i # 101) & 2147483647) % 100 AS r1,
                            (hashint8(i # 202) & 2147483647) % 100 AS r2) AS a;
\set leads :ROW_COUNT
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
INSERT INTO bench.result VALUES ('scoring_load', 'leads', :first, :seconds, :leads);

SELECT clock_timestamp() AS t0 \gset

INSERT INTO cadence.event (tenant_id, lead_id, kind, occurred_at)
SELECT :t_scoring, i, bench.scoring_kind(1 + ((hashint8(i * 32 + j) & 2147483647) % 1000)::integer),
       :'events_end'::timestamptz - (1 + (hashint8(i * 32 + j # 303) & 2147483647) % 7776000) * interval '1 second'
  FROM generate_series(:first::bigint, :last::bigint) AS i
 CROSS JOIN LATERAL generate_series(1, CASE WHEN i = :one_lead THEN 200 ELSE bench.scoring_events_of(i) END) AS j
 ORDER BY 4;
\set events :ROW_COUNT
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS seconds \gset
INSERT INTO bench.result VALUES ('scoring_load', 'events', :first, :seconds, :events);

SELECT cadence.set_tenant(1, false) \g /dev/null

-- Every alert updates its rep's last_alerted_at (round robin), so the ten
-- rep rows leave thousands of dead versions per slice; autovacuum is off in
-- the benchmark's cluster, and without this each alert of the next slices
-- would read all of them.
VACUUM cadence.rep;
