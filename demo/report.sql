-- The demo's HTML report: self-contained (inline CSS and SVG, no network),
-- one text value written by psql -At -o.  Charts: KPI tiles against the
-- seed's goals, touches per day by channel, the funnel per cadence, and the
-- speed-to-lead distribution.
\set QUIET on
SET client_min_messages = warning;

CREATE FUNCTION pg_temp.esc(s text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN replace(replace(replace(coalesce(s, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;');

CREATE FUNCTION pg_temp.channel_colour(c text) RETURNS text LANGUAGE sql IMMUTABLE
RETURN CASE c WHEN 'call' THEN '#1f77b4' WHEN 'sms' THEN '#2ca02c' WHEN 'email' THEN '#ff7f0e'
              WHEN 'video' THEN '#9467bd' WHEN 'voicemail' THEN '#8c564b' WHEN 'linkedin' THEN '#17becf'
              ELSE '#7f7f7f' END;

WITH
kpi AS (
    SELECT k.metric, k.value_text, k.goal_text, k.met
      FROM pg_temp.demo_kpis k
),
tiles AS (
    SELECT string_agg(format('<div class="tile %s"><div class="metric">%s</div><div class="value">%s</div><div class="goal">%s</div></div>',
                             CASE WHEN k.met THEN 'met' WHEN k.met IS NULL THEN 'na' ELSE 'missed' END,
                             pg_temp.esc(k.metric), pg_temp.esc(k.value_text),
                             CASE WHEN coalesce(k.goal_text, '') = '' THEN 'for context: the seed sets no goal'
                                  ELSE 'goal: ' || pg_temp.esc(k.goal_text) END), '' ORDER BY k.ord) AS html
      FROM pg_temp.demo_kpis k
),
daily AS (
    SELECT (t.completed_at AT TIME ZONE 'UTC')::date AS day, t.channel, count(*) AS n
      FROM cadence.touch t WHERE t.status IN ('done', 'failed') GROUP BY 1, 2
),
stacked AS (
    SELECT d.day, d.channel, d.n,
           sum(d.n) OVER (PARTITION BY d.day ORDER BY d.channel) - d.n AS below
      FROM daily d
),
peak AS (SELECT greatest(max(s.total), 1) AS peak FROM (SELECT day, sum(n) AS total FROM daily GROUP BY day) s),
bars AS (
    SELECT string_agg(format('<rect x="%s" y="%s" width="8" height="%s" fill="%s"><title>%s %s: %s</title></rect>',
                             50 + 9 * (s.day - date '2026-03-01'),
                             230 - round(200.0 * (s.below + s.n) / p.peak),
                             round(200.0 * s.n / p.peak), pg_temp.channel_colour(s.channel), s.day, s.channel, s.n), '') AS svg,
           max(p.peak) AS peak
      FROM stacked s CROSS JOIN peak p
),
legend AS (
    SELECT string_agg(format('<rect x="%s" y="250" width="10" height="10" fill="%s"/><text x="%s" y="259" class="small">%s</text>',
                             50 + 90 * (c.n - 1), pg_temp.channel_colour(c.channel), 64 + 90 * (c.n - 1), c.channel), '') AS svg
      FROM (SELECT channel, row_number() OVER (ORDER BY channel) AS n FROM (SELECT DISTINCT channel FROM daily) x) c
),
funnel_rows AS (
    SELECT v.cadence_key,
           count(DISTINCT e.enrolment_id) AS enrolled,
           count(DISTINCT e.enrolment_id) FILTER (WHERE EXISTS (
               SELECT FROM cadence.touch t WHERE t.tenant_id = e.tenant_id AND t.enrolment_id = e.enrolment_id
                                             AND t.status = 'done')) AS touched,
           -- engaged among the touched, so that each bar sits inside the one before
           count(DISTINCT e.enrolment_id) FILTER (WHERE EXISTS (
               SELECT FROM cadence.touch t WHERE t.tenant_id = e.tenant_id AND t.enrolment_id = e.enrolment_id
                                             AND t.status = 'done') AND (EXISTS (
               SELECT FROM cadence.event x WHERE x.tenant_id = e.tenant_id AND x.lead_id = e.lead_id
                 AND x.kind IN ('email_open', 'email_click', 'sms_reply', 'email_reply', 'call_answered')
                 AND x.occurred_at >= e.enrolled_at AND x.occurred_at <= coalesce(e.ended_at, 'infinity'))
               OR EXISTS (SELECT FROM cadence.touch t WHERE t.tenant_id = e.tenant_id AND t.enrolment_id = e.enrolment_id
                                                         AND t.outcome IN ('answered', 'replied')))) AS engaged,
           count(DISTINCT e.enrolment_id) FILTER (WHERE e.exit_reason IN ('appointment_set', 'appointment_show', 'sold')) AS appointment
      FROM cadence.enrolment e
      JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
     GROUP BY v.cadence_key
),
funnel AS (
    SELECT string_agg(format(
             '<g transform="translate(0,%s)"><text x="0" y="14" class="label">%s</text>%s</g>',
             28 * (f.n - 1) + 10, pg_temp.esc(f.cadence_key),
             format('<rect x="200" y="2" width="%s" height="16" fill="#c6dbef"><title>enrolled %s</title></rect>'
                    '<rect x="200" y="2" width="%s" height="16" fill="#6baed6"><title>touched %s</title></rect>'
                    '<rect x="200" y="2" width="%s" height="16" fill="#2171b5"><title>engaged %s</title></rect>'
                    '<rect x="200" y="2" width="%s" height="16" fill="#08306b"><title>appointment %s</title></rect>'
                    '<text x="%s" y="14" class="small">%s enrolled, %s touched, %s engaged, %s booked</text>',
                    -- bars up to 360 px, so that the counts after the longest fit in the 900 px chart
                    round(360.0 * f.enrolled / m.most), f.enrolled, round(360.0 * f.touched / m.most), f.touched,
                    round(360.0 * f.engaged / m.most), f.engaged, round(360.0 * f.appointment / m.most), f.appointment,
                    210 + round(360.0 * f.enrolled / m.most), f.enrolled, f.touched, f.engaged, f.appointment)), '') AS svg,
           count(*) AS cadences
      FROM (SELECT r.*, row_number() OVER (ORDER BY r.enrolled DESC, r.cadence_key) AS n FROM funnel_rows r) f
     CROSS JOIN (SELECT greatest(max(enrolled), 1) AS most FROM funnel_rows) m
),
speed AS (
    SELECT l.lead_id,
           extract(epoch FROM min(t.completed_at) - l.created_at) / 60 AS minutes
      FROM cadence.lead l
      JOIN cadence.touch t ON t.tenant_id = l.tenant_id AND t.lead_id = l.lead_id AND t.status = 'done'
     GROUP BY l.lead_id, l.created_at
),
buckets AS (
    SELECT b.ord, b.label, count(s.lead_id) AS n
      FROM (VALUES (1, 'under 1 min', 0, 1), (2, '1-5 min', 1, 5), (3, '5-15 min', 5, 15), (4, '15-60 min', 15, 60),
                   (5, '1-4 h', 60, 240), (6, '4-12 h', 240, 720), (7, 'over 12 h', 720, 1e9)) AS b(ord, label, lo, hi)
      LEFT JOIN speed s ON s.minutes >= b.lo AND s.minutes < b.hi
     GROUP BY b.ord, b.label
),
histogram AS (
    SELECT string_agg(format('<rect x="%s" y="%s" width="90" height="%s" fill="#31a354"><title>%s: %s leads</title></rect>'
                             '<text x="%s" y="225" class="small">%s</text><text x="%s" y="%s" class="small">%s</text>',
                             50 + 110 * (b.ord - 1), 200 - round(180.0 * b.n / m.most), round(180.0 * b.n / m.most),
                             b.label, b.n, 50 + 110 * (b.ord - 1), b.label, 60 + 110 * (b.ord - 1),
                             195 - round(180.0 * b.n / m.most), b.n), '' ORDER BY b.ord) AS svg
      FROM buckets b CROSS JOIN (SELECT greatest(max(n), 1) AS most FROM buckets) m
)
SELECT format($html$<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>cadence demo report</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.tile { border-radius: 6px; padding: 12px; border: 1px solid #ddd; }
.tile.met { background: #e5f5e0; } .tile.missed { background: #fee0d2; } .tile.na { background: #f0f0f0; }
.metric { font-size: 13px; color: #444; } .value { font-size: 26px; font-weight: 600; } .goal { font-size: 12px; color: #666; }
svg { background: #fafafa; border: 1px solid #eee; margin: 8px 0 24px; }
.small { font-size: 11px; fill: #333; } .label { font-size: 12px; fill: #222; }
</style></head><body>
<h1>cadence demo: %s</h1>
<p class="sub">%s leads over 90 simulated days (seed %s); the dealership playbook; generated from the database after the run.</p>
<h2>KPIs against the seed's goals</h2>
<div class="tiles" id="kpis">%s</div>
<h2>Touches per day, by channel</h2>
<svg id="touches-per-day" width="900" height="270" viewBox="0 0 900 270" role="img" aria-label="touches per day by channel">
<text x="5" y="35" class="small">%s</text><text x="5" y="230" class="small">0</text>%s%s</svg>
<h2>Funnel per cadence</h2>
<svg id="funnel" width="900" height="%s" viewBox="0 0 900 %s" role="img" aria-label="funnel per cadence">%s</svg>
<h2>Speed to lead (lead created to first touch done)</h2>
<svg id="speed-to-lead" width="900" height="240" viewBox="0 0 900 240" role="img" aria-label="speed to lead">%s</svg>
</body></html>$html$,
    pg_temp.esc((SELECT name FROM cadence.tenant WHERE tenant_id = 1)),
    (SELECT count(*) FROM cadence.lead), current_setting('demo.seed'),
    (SELECT html FROM tiles), (SELECT peak FROM bars), (SELECT svg FROM bars), (SELECT svg FROM legend),
    20 + 28 * (SELECT cadences FROM funnel), 20 + 28 * (SELECT cadences FROM funnel), (SELECT svg FROM funnel),
    (SELECT svg FROM histogram));
