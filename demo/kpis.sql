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
