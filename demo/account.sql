-- What the demo did: a week-by-week account, then the KPIs, then the report.
\pset footer off
\set QUIET on

\echo
\echo '== Week by week (UTC weeks): leads, touches by channel, what customers did =='
SELECT to_char(w.week, 'DD Mon') AS week_of,
       (SELECT count(*) FROM cadence.lead l WHERE l.created_at >= w.week AND l.created_at < w.week + 7) AS new_leads,
       count(*) FILTER (WHERE t.channel = 'call') AS calls,
       count(*) FILTER (WHERE t.channel = 'sms') AS texts,
       count(*) FILTER (WHERE t.channel = 'email') AS emails,
       count(*) FILTER (WHERE t.channel NOT IN ('call', 'sms', 'email')) AS other,
       count(*) FILTER (WHERE cardinality(t.defer_reasons) > 0) AS deferred,
       (SELECT count(*) FROM cadence.event e WHERE e.kind = 'sms_reply' AND e.occurred_at >= w.week AND e.occurred_at < w.week + 7) AS replies,
       (SELECT count(*) FROM cadence.event e WHERE e.kind = 'appointment_set' AND e.occurred_at >= w.week AND e.occurred_at < w.week + 7) AS appointments,
       (SELECT count(*) FROM cadence.event e WHERE e.kind = 'sold' AND e.occurred_at >= w.week AND e.occurred_at < w.week + 7) AS sold,
       (SELECT count(*) FROM cadence.consent c WHERE c.action = 'revoke' AND c.recorded_at >= w.week AND c.recorded_at < w.week + 7) AS opt_outs
  FROM (SELECT d::date AS week FROM generate_series(date '2026-03-01', date '2026-05-24', interval '7 days') AS d) AS w
  LEFT JOIN cadence.touch t ON t.status IN ('done', 'failed') AND t.completed_at >= w.week AND t.completed_at < w.week + 7
 GROUP BY w.week ORDER BY w.week;

\echo '== Deferred touches, and why (moved later, never dropped) =='
SELECT t.channel, array_to_string(t.defer_reasons, ' + ') AS reason, count(*) AS touches,
       to_char(avg(t.due_at - t.planned_at), 'HH24"h"MI"m"') AS average_delay
  FROM cadence.touch t WHERE cardinality(t.defer_reasons) > 0
 GROUP BY 1, 2 ORDER BY 3 DESC;

\echo '== Steps not sent, and why =='
SELECT t.status, split_part(t.status_reason, ':', 1) AS reason, count(*) AS touches
  FROM cadence.touch t WHERE t.status IN ('skipped', 'cancelled', 'held')
 GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 12;

\echo '== Enrolments by cadence, and how they ended (escalated, silence and tier_changed are moves) =='
SELECT v.cadence_key, count(*) AS enrolments,
       count(*) FILTER (WHERE e.status = 'active') AS active,
       count(*) FILTER (WHERE e.status = 'paused') AS with_a_rep,
       count(*) FILTER (WHERE e.exit_reason IN ('appointment_set', 'appointment_show', 'sold')) AS booked_or_sold,
       count(*) FILTER (WHERE e.exit_reason IN ('escalated', 'silence', 'tier_changed')) AS moved_on,
       count(*) FILTER (WHERE e.exit_reason IN ('opt_out', 'lost', 'low_score')) AS left,
       count(*) FILTER (WHERE e.status = 'completed') AS completed
  FROM cadence.enrolment e JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 GROUP BY 1 ORDER BY 2 DESC;

\echo '== Hand-offs to a human (alerts) =='
SELECT a.reason, count(*) AS alerts, count(*) FILTER (WHERE a.escalated_at IS NOT NULL) AS went_to_manager,
       round(avg(extract(epoch FROM a.closed_at - a.created_at) / 60)::numeric, 1) AS avg_minutes_to_contact
  FROM cadence.alert a GROUP BY 1 ORDER BY 2 DESC;

\echo '== Compliance: nothing sent outside allowed hours in the lead''s local time =='
SELECT t.channel, count(*) AS sent,
       count(*) FILTER (WHERE NOT cadence.is_allowed_at(t.claimed_at, l.time_zone, c.allowed_from, c.allowed_until)) AS outside_hours
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
  JOIN cadence.channel c ON c.channel = t.channel
 WHERE t.status = 'done' GROUP BY 1 ORDER BY 1;

\ir kpis.sql

\o :report
\pset format unaligned
\pset tuples_only on
\ir report.sql
\o
\pset format aligned
\pset tuples_only off
