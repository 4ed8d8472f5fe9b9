-- The KPI table against the seed's goals, from the product's own view.
\echo '== KPIs against the seed''s goals (cadence.kpi_scorecard) =='
CREATE TEMP VIEW demo_kpis AS
SELECT k.position AS ord, k.description AS metric,
       CASE k.unit WHEN 'share' THEN round(100 * k.value::numeric, 1) || '%'
                   WHEN 'minutes' THEN round(k.value::numeric, 1) || ' min'
                   ELSE round(k.value::numeric, 1)::text END AS value_text,
       k.goal AS goal_text, k.met
  FROM cadence.kpi_scorecard k
 WHERE k.tenant_id = 1;
SELECT k.metric AS kpi, coalesce(k.value_text, '-') AS value, k.goal_text AS goal,
       CASE WHEN k.met THEN 'met' WHEN k.met IS NULL THEN '-' ELSE 'MISSED' END AS status
  FROM demo_kpis k ORDER BY k.ord;

-- The same KPIs by segment: new inquiries are called at once while the
-- showroom is open; aged internet leads and service customers start their
-- cadences with a planned email, so their speed-to-lead is measured in hours.
\echo '== Speed-to-lead and contact rate by segment (cadence.kpis(''segment'')) =='
SELECT k.value AS segment, k.leads,
       round(k.speed_to_lead_p50_minutes, 1) AS speed_to_lead_p50_min,
       round(k.speed_to_contact_p50_minutes, 1) AS first_human_contact_p50_min,
       round(100 * k.contact_rate, 1) || '%' AS touched_within_1_hour,
       round(100 * k.appointment_set_rate, 1) || '%' AS engaged_who_booked
  FROM cadence.kpis('segment') k
 WHERE k.tenant_id = 1
 ORDER BY k.leads DESC;
