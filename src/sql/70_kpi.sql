-- cadence: install script, part 8: the KPIs managers judge cadences by
-- (the seed's table: speed-to-lead, contact rate within an hour, first-touch
-- response, appointment set rate, touches to conversion, opt-out rate), by
-- tenant, segment, source, cadence, version, tier, rep and week; a funnel per
-- step and message variant; timing adherence and alert latency against the
-- 5-minute rule; a two-proportion comparison of versions or variants; and the
-- seed's weekly audit sample.
--
-- Every view is security_invoker: it reads the tables as the caller, so
-- row-level security gives each tenant its own numbers (a superuser sees
-- every tenant, one row each).  Nothing is materialised: a materialised view
-- cannot carry row-level security, and 90_grants.sql grants SELECT on every
-- relation of the schema to cadence_reader, so a summary of all tenants
-- would be readable by each of them.  Instead the figures are computed when
-- asked: a whole tenant in one pass over each table (hash aggregation), a
-- window of leads through the index on (tenant_id, created_at) and then
-- each lead's own rows through their indexes (docs/kpis.md has timings).

-- Indexes for windows of leads and for per-lead lookups.
CREATE INDEX lead_created ON cadence.lead (tenant_id, created_at);
COMMENT ON INDEX cadence.lead_created IS 'KPIs: the leads created in a window (cadence.kpis())';
CREATE INDEX enrolment_lead ON cadence.enrolment (tenant_id, lead_id, enrolled_at, enrolment_id);
COMMENT ON INDEX cadence.enrolment_lead IS 'KPIs: a lead''s enrolments in order (entry cadence, outcome attribution, audit)';
CREATE INDEX alert_lead ON cadence.alert (tenant_id, lead_id, created_at);
COMMENT ON INDEX cadence.alert_lead IS 'KPIs: a lead''s alerts (cadence.weekly_audit())';

-- Events as the engine applied them: an SMS reply that is a STOP keyword
-- counts as sms_stop, START as sms_start, an email reply UNSUBSCRIBE as
-- unsubscribe (event.applied_kind); the flags are the tenant's own event
-- kind if it registered one, else the built-in kind's.
CREATE VIEW cadence.applied_event WITH (security_invoker = true) AS
SELECT e.tenant_id, e.event_id, e.lead_id, e.touch_id, e.applied_kind AS kind, e.kind AS recorded_kind, e.occurred_at,
       COALESCE(c.response, b.response, false) AS response,
       COALESCE(c.engagement, b.engagement, false) AS engagement,
       COALESCE(c.human_contact, b.human_contact, false) AS human_contact
  FROM cadence.event e
  LEFT JOIN cadence.custom_event_kind c
    ON c.tenant_id OPERATOR(pg_catalog.=) e.tenant_id AND c.kind OPERATOR(pg_catalog.=) e.applied_kind
  LEFT JOIN cadence.event_kind b ON b.kind OPERATOR(pg_catalog.=) e.applied_kind;
COMMENT ON VIEW cadence.applied_event IS
  'Events with the kind the engine applied (STOP in an SMS reply is sms_stop) and that kind''s response, engagement and human_contact flags for the event''s tenant';

-- One row per lead: the moments the KPIs are measured between.  A SQL
-- function that the planner inlines with its arguments as constants: each
-- per-lead aggregate reads, through a UNION ALL of which one branch is
-- pruned, either the whole table (no window: one pass, hash aggregation)
-- or the rows of the window's leads (found through the index on
-- (tenant_id, created_at), then each lead's rows through its own index).
CREATE FUNCTION cadence.lead_milestones_between(created_from timestamptz DEFAULT NULL,
                                                created_to timestamptz DEFAULT NULL)
RETURNS TABLE (tenant_id bigint, lead_id bigint, external_id text, segment text, source text, tier text, score integer,
               rep_id bigint, created_at timestamptz, week date,
               entry_enrolment_id bigint, entry_cadence_key text, entry_version integer,
               first_touch_at timestamptz, first_touch_channel text, first_touch_outcome text,
               second_touch_at timestamptz, touches_done bigint,
               first_contact_at timestamptz, first_response_at timestamptz, first_touch_responded boolean,
               engaged_at timestamptz, appointment_set_at timestamptz, appointment_show_at timestamptz,
               sold_at timestamptz, converted_at timestamptz, touches_to_conversion bigint, opted_out_at timestamptz)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
SELECT l.tenant_id, l.lead_id, l.external_id, l.segment, l.source, l.tier, l.score,
       COALESCE(l.owner_rep_id, t.first_rep_id),
       l.created_at,
       pg_catalog.date_trunc('week', l.created_at AT TIME ZONE 'UTC')::date,
       n.enrolment_id, v.cadence_key, v.version,
       t.first_touch_at, t.first_touch_channel, t.first_touch_outcome, t.second_touch_at,
       COALESCE(t.touches_done, 0),
       LEAST(t.first_rep_touch_at, ev.first_human_contact_at),
       LEAST(t.first_answer_at, ev.first_response_at),
       CASE WHEN t.first_touch_at IS NOT NULL THEN
            COALESCE(t.first_touch_outcome OPERATOR(pg_catalog.=) ANY ('{answered,replied}'::text[]), false)
            OR EXISTS (SELECT FROM pg_catalog.unnest(ev.response_times) AS r(at)
                        WHERE r.at OPERATOR(pg_catalog.>=) t.first_touch_at
                          AND (t.second_touch_at IS NULL OR r.at OPERATOR(pg_catalog.<) t.second_touch_at))
       END,
       LEAST(t.first_answer_at, ev.first_engagement_at),
       ev.appointment_set_at, ev.appointment_show_at, ev.sold_at,
       LEAST(ev.appointment_set_at, ev.sold_at),
       CASE WHEN ev.appointment_set_at IS NOT NULL OR ev.sold_at IS NOT NULL THEN
            (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(t.done_times) AS d(at)
              WHERE d.at OPERATOR(pg_catalog.<=) LEAST(ev.appointment_set_at, ev.sold_at))
       END,
       -- an opt-out is a revocation (of any channel) once the cadence had reached the lead
       (SELECT pg_catalog.min(r.at) FROM pg_catalog.unnest(c.revoked_at) AS r(at)
         WHERE r.at OPERATOR(pg_catalog.>=) t.first_touch_at)
  FROM cadence.lead l
  LEFT JOIN (
        SELECT x.tenant_id, x.lead_id,
               pg_catalog.min(x.completed_at) AS first_touch_at,
               (pg_catalog.array_agg(x.channel ORDER BY x.completed_at, x.touch_id))[1] AS first_touch_channel,
               (pg_catalog.array_agg(x.outcome ORDER BY x.completed_at, x.touch_id))[1] AS first_touch_outcome,
               (pg_catalog.array_agg(x.completed_at ORDER BY x.completed_at, x.touch_id))[2] AS second_touch_at,
               pg_catalog.array_agg(x.completed_at) AS done_times,
               pg_catalog.count(*) AS touches_done,
               -- the channels that are tasks for a rep (cadence.channel.rep_task)
               pg_catalog.min(x.completed_at)
                    FILTER (WHERE x.channel OPERATOR(pg_catalog.=) ANY ('{call,voicemail,video,linkedin,task}'::text[]))
                    AS first_rep_touch_at,
               (pg_catalog.array_agg(x.assignee_rep_id ORDER BY x.completed_at, x.touch_id)
                    FILTER (WHERE x.assignee_rep_id IS NOT NULL))[1] AS first_rep_id,
               pg_catalog.min(x.completed_at)
                    FILTER (WHERE x.outcome OPERATOR(pg_catalog.=) ANY ('{answered,replied}'::text[])) AS first_answer_at
          FROM (SELECT x.* FROM cadence.touch x
                 WHERE lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL
                   AND x.status OPERATOR(pg_catalog.=) 'done'
                UNION ALL
                SELECT x.* FROM cadence.lead w
                  JOIN cadence.touch x
                    ON x.tenant_id OPERATOR(pg_catalog.=) w.tenant_id AND x.lead_id OPERATOR(pg_catalog.=) w.lead_id
                 WHERE NOT (lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL)
                   AND x.status OPERATOR(pg_catalog.=) 'done'
                   AND (lead_milestones_between.created_from IS NULL
                        OR w.created_at OPERATOR(pg_catalog.>=) lead_milestones_between.created_from)
                   AND (lead_milestones_between.created_to IS NULL
                        OR w.created_at OPERATOR(pg_catalog.<) lead_milestones_between.created_to)) x
         GROUP BY x.tenant_id, x.lead_id) t
    ON t.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND t.lead_id OPERATOR(pg_catalog.=) l.lead_id
  LEFT JOIN (
        SELECT a.tenant_id, a.lead_id,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.response) AS first_response_at,
               pg_catalog.array_agg(a.occurred_at) FILTER (WHERE a.response) AS response_times,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.engagement) AS first_engagement_at,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.human_contact) AS first_human_contact_at,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.kind OPERATOR(pg_catalog.=) 'appointment_set') AS appointment_set_at,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.kind OPERATOR(pg_catalog.=) 'appointment_show') AS appointment_show_at,
               pg_catalog.min(a.occurred_at) FILTER (WHERE a.kind OPERATOR(pg_catalog.=) 'sold') AS sold_at
          FROM (SELECT a.* FROM cadence.applied_event a
                 WHERE lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL
                UNION ALL
                SELECT a.* FROM cadence.lead w
                  JOIN cadence.applied_event a
                    ON a.tenant_id OPERATOR(pg_catalog.=) w.tenant_id AND a.lead_id OPERATOR(pg_catalog.=) w.lead_id
                 WHERE NOT (lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL)
                   AND (lead_milestones_between.created_from IS NULL
                        OR w.created_at OPERATOR(pg_catalog.>=) lead_milestones_between.created_from)
                   AND (lead_milestones_between.created_to IS NULL
                        OR w.created_at OPERATOR(pg_catalog.<) lead_milestones_between.created_to)) a
         GROUP BY a.tenant_id, a.lead_id) ev
    ON ev.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND ev.lead_id OPERATOR(pg_catalog.=) l.lead_id
  LEFT JOIN (
        SELECT s.tenant_id, s.lead_id, pg_catalog.array_agg(s.recorded_at) AS revoked_at
          FROM (SELECT s.* FROM cadence.consent s
                 WHERE lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL
                   AND s.action OPERATOR(pg_catalog.=) 'revoke'
                UNION ALL
                SELECT s.* FROM cadence.lead w
                  JOIN cadence.consent s
                    ON s.tenant_id OPERATOR(pg_catalog.=) w.tenant_id AND s.lead_id OPERATOR(pg_catalog.=) w.lead_id
                 WHERE NOT (lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL)
                   AND s.action OPERATOR(pg_catalog.=) 'revoke'
                   AND (lead_milestones_between.created_from IS NULL
                        OR w.created_at OPERATOR(pg_catalog.>=) lead_milestones_between.created_from)
                   AND (lead_milestones_between.created_to IS NULL
                        OR w.created_at OPERATOR(pg_catalog.<) lead_milestones_between.created_to)) s
         GROUP BY s.tenant_id, s.lead_id) c
    ON c.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND c.lead_id OPERATOR(pg_catalog.=) l.lead_id
  LEFT JOIN (
        -- the enrolment the lead entered on
        SELECT DISTINCT ON (e.tenant_id, e.lead_id) e.tenant_id, e.lead_id, e.enrolment_id, e.cadence_version_id
          FROM (SELECT e.* FROM cadence.enrolment e
                 WHERE lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL
                UNION ALL
                SELECT e.* FROM cadence.lead w
                  JOIN cadence.enrolment e
                    ON e.tenant_id OPERATOR(pg_catalog.=) w.tenant_id AND e.lead_id OPERATOR(pg_catalog.=) w.lead_id
                 WHERE NOT (lead_milestones_between.created_from IS NULL AND lead_milestones_between.created_to IS NULL)
                   AND (lead_milestones_between.created_from IS NULL
                        OR w.created_at OPERATOR(pg_catalog.>=) lead_milestones_between.created_from)
                   AND (lead_milestones_between.created_to IS NULL
                        OR w.created_at OPERATOR(pg_catalog.<) lead_milestones_between.created_to)) e
         ORDER BY e.tenant_id, e.lead_id, e.enrolled_at, e.enrolment_id) n
    ON n.tenant_id OPERATOR(pg_catalog.=) l.tenant_id AND n.lead_id OPERATOR(pg_catalog.=) l.lead_id
  LEFT JOIN cadence.cadence_version v
    ON v.tenant_id OPERATOR(pg_catalog.=) n.tenant_id AND v.cadence_version_id OPERATOR(pg_catalog.=) n.cadence_version_id
 WHERE (lead_milestones_between.created_from IS NULL OR l.created_at OPERATOR(pg_catalog.>=) lead_milestones_between.created_from)
   AND (lead_milestones_between.created_to IS NULL OR l.created_at OPERATOR(pg_catalog.<) lead_milestones_between.created_to);
END;
COMMENT ON FUNCTION cadence.lead_milestones_between(timestamptz, timestamptz) IS
  'cadence.lead_milestones for the leads created in [created_from, created_to) (NULL: unbounded), read through indexes when the window is narrow';

CREATE VIEW cadence.lead_milestones WITH (security_invoker = true) AS
SELECT m.* FROM cadence.lead_milestones_between() m;
COMMENT ON VIEW cadence.lead_milestones IS
  'One row per lead: created, first touch done, first human contact, first response, engagement, appointment, show, sale, opt-out, touches before conversion, and the cadence version it entered on';

-- The KPI table for any grouping of leads.
CREATE FUNCTION cadence.kpis(group_by text DEFAULT 'tenant', created_from timestamptz DEFAULT NULL,
                             created_to timestamptz DEFAULT NULL)
RETURNS TABLE (tenant_id bigint, dimension text, value text, label text, leads bigint,
               speed_to_lead_p50_minutes numeric, speed_to_lead_p90_minutes numeric,
               speed_to_lead_goal text, speed_to_lead_met boolean,
               speed_to_contact_p50_minutes numeric, speed_to_contact_p90_minutes numeric,
               speed_to_contact_goal text, speed_to_contact_met boolean, contacted_by_person bigint,
               contacted_within_1_hour bigint, contact_rate numeric, contact_rate_goal text, contact_rate_met boolean,
               first_touched bigint, first_touch_responses bigint, first_touch_response_rate numeric,
               first_touch_response_goal text, first_touch_response_met boolean,
               engaged bigint, appointments_set bigint, appointment_set_rate numeric,
               appointment_set_goal text, appointment_set_met boolean,
               appointments_shown bigint, show_rate numeric,
               sold bigint, sold_rate numeric,
               converted bigint, touches_to_conversion numeric, touches_to_conversion_goal text,
               touches_to_conversion_met boolean,
               opted_out bigint, opt_out_rate numeric, opt_out_goal text, opt_out_met boolean,
               responded bigint, time_to_first_response_p50_minutes numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    dimensions constant text[] := ARRAY['tenant', 'segment', 'source', 'cadence', 'version', 'tier', 'rep', 'week'];
BEGIN
    IF kpis.group_by IS NULL OR kpis.group_by <> ALL (dimensions) THEN
        RAISE EXCEPTION 'unknown dimension "%" in field "group_by"', coalesce(kpis.group_by, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Group by ' || array_to_string(dimensions, ', ') || '.';
    END IF;
    IF kpis.created_from > kpis.created_to THEN
        RAISE EXCEPTION 'created_to % is before created_from % (field "created_to")', kpis.created_to, kpis.created_from
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- planned for each call's window: a narrow one is read through indexes
    RETURN QUERY EXECUTE $query$
    WITH m AS (
        SELECT f.tenant_id,
               CASE $1
                    WHEN 'tenant' THEN f.tenant_id::text
                    WHEN 'segment' THEN f.segment
                    WHEN 'source' THEN f.source
                    WHEN 'cadence' THEN f.entry_cadence_key
                    WHEN 'version' THEN f.entry_cadence_key || '@' || f.entry_version
                    WHEN 'tier' THEN f.tier
                    WHEN 'rep' THEN f.rep_id::text
                    WHEN 'week' THEN to_char(f.week, 'YYYY-MM-DD')
               END AS grp,
               (extract(epoch FROM f.first_touch_at - f.created_at) / 60)::float8 AS to_first_touch,
               (extract(epoch FROM f.first_contact_at - f.created_at) / 60)::float8 AS to_first_contact,
               (extract(epoch FROM f.first_response_at - f.created_at) / 60)::float8 AS to_first_response,
               f.first_touch_at IS NOT NULL AS touched,
               f.first_contact_at IS NOT NULL AS contacted,
               f.first_response_at IS NOT NULL AS has_response,
               f.first_touch_at <= f.created_at + interval '1 hour' AS within_hour,
               f.first_touch_responded AS responded,
               f.engaged_at IS NOT NULL AS is_engaged,
               f.appointment_set_at IS NOT NULL AS is_set,
               f.appointment_show_at IS NOT NULL AS is_shown,
               f.sold_at IS NOT NULL AS is_sold,
               f.touches_to_conversion AS conversion_touches,
               f.opted_out_at IS NOT NULL AS is_opted_out
          FROM cadence.lead_milestones_between($2, $3) f
    ), g AS (
        SELECT m.tenant_id, m.grp,
               count(*) AS n_leads,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY m.to_first_touch) AS stl,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY m.to_first_contact) AS stc,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY m.to_first_response) AS ttr,
               count(*) FILTER (WHERE m.within_hour) AS n_within_hour,
               count(*) FILTER (WHERE m.touched) AS n_touched,
               count(*) FILTER (WHERE m.contacted) AS n_contacted,
               count(*) FILTER (WHERE m.has_response) AS n_has_response,
               count(*) FILTER (WHERE m.responded) AS n_responded,
               count(*) FILTER (WHERE m.is_engaged) AS n_engaged,
               count(*) FILTER (WHERE m.is_set) AS n_set,
               count(*) FILTER (WHERE m.is_engaged AND m.is_set) AS n_engaged_set,
               count(*) FILTER (WHERE m.is_set AND m.is_shown) AS n_shown,
               count(*) FILTER (WHERE m.is_sold) AS n_sold,
               count(m.conversion_touches) AS n_converted,
               avg(m.conversion_touches) AS avg_touches,
               count(*) FILTER (WHERE m.is_opted_out) AS n_opted_out
          FROM m
         GROUP BY m.tenant_id, m.grp
    ), r AS (
        SELECT g.*,
               g.n_within_hour::numeric / nullif(g.n_leads, 0) AS contact,
               g.n_responded::numeric / nullif(g.n_touched, 0) AS response,
               g.n_engaged_set::numeric / nullif(g.n_engaged, 0) AS setting,
               g.n_shown::numeric / nullif(g.n_set, 0) AS showing,
               g.n_sold::numeric / nullif(g.n_leads, 0) AS selling,
               g.n_opted_out::numeric / nullif(g.n_touched, 0) AS opting_out
          FROM g
    )
    SELECT r.tenant_id, $1, r.grp,
           CASE $1
                WHEN 'tenant' THEN (SELECT t.name FROM cadence.tenant t WHERE t.tenant_id = r.tenant_id)
                WHEN 'cadence' THEN (SELECT c.name FROM cadence.cadence c
                                      WHERE c.tenant_id = r.tenant_id AND c.cadence_key = r.grp)
                WHEN 'version' THEN (SELECT v.spec ->> 'name' FROM cadence.cadence_version v
                                      WHERE v.tenant_id = r.tenant_id
                                        AND v.cadence_key = split_part(r.grp, '@', 1)
                                        AND v.version::text = split_part(r.grp, '@', 2))
                WHEN 'rep' THEN (SELECT p.name FROM cadence.rep p WHERE p.tenant_id = r.tenant_id AND p.rep_id::text = r.grp)
                WHEN 'week' THEN to_char(r.grp::date, 'IYYY-"W"IW')
                ELSE r.grp
           END,
           r.n_leads,
           round(r.stl[1]::numeric, 2), round(r.stl[2]::numeric, 2), '< 5 minutes', r.stl[1] < 5,
           round(r.stc[1]::numeric, 2), round(r.stc[2]::numeric, 2), '< 5 minutes', r.stc[1] < 5, r.n_contacted,
           r.n_within_hour, round(r.contact, 4), '> 70% within 1 hour', r.contact > 0.70,
           r.n_touched, r.n_responded, round(r.response, 4), '30-40%', r.response >= 0.30,
           r.n_engaged, r.n_set, round(r.setting, 4), '20-30% of engaged leads', r.setting >= 0.20,
           r.n_shown, round(r.showing, 4),
           r.n_sold, round(r.selling, 4),
           r.n_converted, round(r.avg_touches, 2), '8-12 touches', r.avg_touches <= 12,
           r.n_opted_out, round(r.opting_out, 4), '< 5%', r.opting_out < 0.05,
           r.n_has_response, round(r.ttr::numeric, 2)
      FROM r
     ORDER BY r.tenant_id,
              CASE WHEN $1 IN ('tenant', 'rep') THEN lpad(r.grp, 20, '0') ELSE r.grp END NULLS LAST
    $query$ USING kpis.group_by, kpis.created_from, kpis.created_to;
END
$$;
COMMENT ON FUNCTION cadence.kpis(text, timestamptz, timestamptz) IS
  'The KPI table (speed-to-lead, contact rate, first-touch response, appointment set, show and sold rates, touches to conversion, opt-out rate, time to first response, each with the seed''s goal and whether it is met) for the leads created in [created_from, created_to), grouped by tenant, segment, source, cadence, version, tier, rep or week';

-- One row per tenant, even one without leads yet.
CREATE VIEW cadence.kpi_summary WITH (security_invoker = true) AS
SELECT t.tenant_id, t.name AS tenant,
       COALESCE(k.leads, 0) AS leads,
       k.speed_to_lead_p50_minutes, k.speed_to_lead_p90_minutes,
       COALESCE(k.speed_to_lead_goal, '< 5 minutes') AS speed_to_lead_goal, k.speed_to_lead_met,
       k.speed_to_contact_p50_minutes, k.speed_to_contact_p90_minutes,
       COALESCE(k.speed_to_contact_goal, '< 5 minutes') AS speed_to_contact_goal, k.speed_to_contact_met,
       COALESCE(k.contacted_by_person, 0) AS contacted_by_person,
       COALESCE(k.contacted_within_1_hour, 0) AS contacted_within_1_hour, k.contact_rate,
       COALESCE(k.contact_rate_goal, '> 70% within 1 hour') AS contact_rate_goal, k.contact_rate_met,
       COALESCE(k.first_touched, 0) AS first_touched, COALESCE(k.first_touch_responses, 0) AS first_touch_responses,
       k.first_touch_response_rate, COALESCE(k.first_touch_response_goal, '30-40%') AS first_touch_response_goal,
       k.first_touch_response_met,
       COALESCE(k.engaged, 0) AS engaged, COALESCE(k.appointments_set, 0) AS appointments_set, k.appointment_set_rate,
       COALESCE(k.appointment_set_goal, '20-30% of engaged leads') AS appointment_set_goal, k.appointment_set_met,
       COALESCE(k.appointments_shown, 0) AS appointments_shown, k.show_rate,
       COALESCE(k.sold, 0) AS sold, k.sold_rate,
       COALESCE(k.converted, 0) AS converted, k.touches_to_conversion,
       COALESCE(k.touches_to_conversion_goal, '8-12 touches') AS touches_to_conversion_goal, k.touches_to_conversion_met,
       COALESCE(k.opted_out, 0) AS opted_out, k.opt_out_rate, COALESCE(k.opt_out_goal, '< 5%') AS opt_out_goal,
       k.opt_out_met,
       COALESCE(k.responded, 0) AS responded, k.time_to_first_response_p50_minutes
  FROM cadence.tenant t
  LEFT JOIN cadence.kpis('tenant') k ON k.tenant_id OPERATOR(pg_catalog.=) t.tenant_id;
COMMENT ON VIEW cadence.kpi_summary IS
  'The seed''s KPI table, one row per tenant: each metric with its goal and whether it is met (cadence.kpis(''tenant'') over all leads)';

-- The same figures one metric per row, for tiles and printed tables.
CREATE VIEW cadence.kpi_scorecard WITH (security_invoker = true) AS
SELECT s.tenant_id, s.tenant, m.position, m.metric, m.description, m.value, m.unit, m.basis, m.goal, m.met
  FROM cadence.kpi_summary s
 CROSS JOIN LATERAL (VALUES
    (1, 'speed_to_lead', 'Speed-to-lead: lead created to first touch done, median', s.speed_to_lead_p50_minutes,
        'minutes', s.first_touched, s.speed_to_lead_goal, s.speed_to_lead_met),
    (2, 'speed_to_contact', 'Lead created to first human contact, median', s.speed_to_contact_p50_minutes,
        'minutes', s.contacted_by_person, s.speed_to_contact_goal, s.speed_to_contact_met),
    (3, 'contact_rate', 'Leads with a touch done within 1 hour', s.contact_rate,
        'share', s.leads, s.contact_rate_goal, s.contact_rate_met),
    (4, 'first_touch_response_rate', 'Leads who responded to the first touch, before the second', s.first_touch_response_rate,
        'share', s.first_touched, s.first_touch_response_goal, s.first_touch_response_met),
    (5, 'appointment_set_rate', 'Engaged leads who booked an appointment', s.appointment_set_rate,
        'share', s.engaged, s.appointment_set_goal, s.appointment_set_met),
    (6, 'show_rate', 'Booked leads who came', s.show_rate,
        'share', s.appointments_set, NULL::text, NULL::boolean),
    (7, 'sold_rate', 'Leads who bought', s.sold_rate,
        'share', s.leads, NULL, NULL),
    (8, 'touches_to_conversion', 'Touches done before the appointment or sale, average', s.touches_to_conversion,
        'touches', s.converted, s.touches_to_conversion_goal, s.touches_to_conversion_met),
    (9, 'opt_out_rate', 'Contacted leads who opted out of a channel or of all contact', s.opt_out_rate,
        'share', s.first_touched, s.opt_out_goal, s.opt_out_met),
    (10, 'time_to_first_response', 'Lead created to the lead''s first response, median', s.time_to_first_response_p50_minutes,
        'minutes', s.responded, NULL, NULL)
 ) AS m(position, metric, description, value, unit, basis, goal, met);
COMMENT ON VIEW cadence.kpi_scorecard IS
  'cadence.kpi_summary one metric per row (value, unit, the count it is a share of, goal, met), for KPI tiles and printed tables';

-- The funnel of each step and message variant of each cadence version.
CREATE VIEW cadence.step_funnel WITH (security_invoker = true) AS
WITH signals AS (
    -- what the lead did with a touch: the event names it, or else it answers
    -- the lead's latest touch on its channel that was done before it
    SELECT a.tenant_id, COALESCE(a.touch_id, p.touch_id) AS touch_id,
           pg_catalog.bool_or(a.kind OPERATOR(pg_catalog.=) 'email_open') AS opened,
           pg_catalog.bool_or(a.kind OPERATOR(pg_catalog.=) 'email_click') AS clicked,
           pg_catalog.bool_or(a.kind OPERATOR(pg_catalog.=) ANY ('{email_reply,sms_reply}'::text[])) AS replied,
           pg_catalog.bool_or(a.kind OPERATOR(pg_catalog.=) ANY ('{sms_stop,unsubscribe,opt_out}'::text[])) AS opted_out
      FROM cadence.applied_event a
      LEFT JOIN LATERAL (
            SELECT x.touch_id
              FROM cadence.touch x
             WHERE a.touch_id IS NULL
               AND x.tenant_id OPERATOR(pg_catalog.=) a.tenant_id AND x.lead_id OPERATOR(pg_catalog.=) a.lead_id
               AND x.status OPERATOR(pg_catalog.=) 'done' AND x.completed_at OPERATOR(pg_catalog.<=) a.occurred_at
               AND CASE WHEN a.kind OPERATOR(pg_catalog.=) ANY ('{sms_reply,sms_stop}'::text[])
                        THEN x.channel OPERATOR(pg_catalog.=) 'sms'
                        WHEN a.kind OPERATOR(pg_catalog.=) 'opt_out' THEN true
                        ELSE x.channel OPERATOR(pg_catalog.=) 'email' END
             ORDER BY x.completed_at DESC, x.touch_id DESC
             LIMIT 1) p ON true
     WHERE a.kind OPERATOR(pg_catalog.=) ANY ('{email_open,email_click,email_reply,sms_reply,sms_stop,unsubscribe,opt_out}'::text[])
     GROUP BY a.tenant_id, COALESCE(a.touch_id, p.touch_id)
), fine AS (
    -- one pass over the touches, by step, variant, status and the reason a
    -- touch was not sent
    SELECT t.tenant_id, e.cadence_version_id, t.step_no, t.variant, t.status,
           CASE WHEN t.status OPERATOR(pg_catalog.=) ANY ('{skipped,cancelled,held}'::text[])
                THEN COALESCE(t.status_reason, 'unspecified') END AS reason,
           pg_catalog.count(*) AS n,
           pg_catalog.count(*) FILTER (WHERE t.defer_reasons OPERATOR(pg_catalog.<>) '{}') AS deferred,
           pg_catalog.count(*) FILTER (WHERE 'quiet_hours' OPERATOR(pg_catalog.=) ANY (t.defer_reasons)) AS deferred_quiet_hours,
           pg_catalog.count(*) FILTER (WHERE 'call_spacing' OPERATOR(pg_catalog.=) ANY (t.defer_reasons)) AS deferred_call_spacing,
           pg_catalog.count(*) FILTER (WHERE 'call_cap' OPERATOR(pg_catalog.=) ANY (t.defer_reasons)) AS deferred_call_cap,
           pg_catalog.count(*) FILTER (WHERE t.status OPERATOR(pg_catalog.=) 'done'
                                         AND t.outcome OPERATOR(pg_catalog.=) 'answered') AS answered,
           pg_catalog.count(*) FILTER (WHERE s.opened) AS opened,
           pg_catalog.count(*) FILTER (WHERE s.clicked) AS clicked,
           pg_catalog.count(*) FILTER (WHERE s.replied OR (t.status OPERATOR(pg_catalog.=) 'done'
                                                          AND t.outcome OPERATOR(pg_catalog.=) 'replied')) AS replied,
           pg_catalog.count(*) FILTER (WHERE s.opted_out) AS opted_out
      FROM cadence.touch t
      JOIN cadence.enrolment e
        ON e.tenant_id OPERATOR(pg_catalog.=) t.tenant_id AND e.enrolment_id OPERATOR(pg_catalog.=) t.enrolment_id
      LEFT JOIN signals s
        ON s.tenant_id OPERATOR(pg_catalog.=) t.tenant_id AND s.touch_id OPERATOR(pg_catalog.=) t.touch_id
     GROUP BY t.tenant_id, e.cadence_version_id, t.step_no, t.variant, t.status, 6
)
SELECT f.tenant_id, v.cadence_key, v.version, f.cadence_version_id, f.step_no, f.variant,
       st.channel_options AS channels, st.timing, st.is_break_up,
       pg_catalog.sum(f.n)::bigint AS planned,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) ANY ('{queued,claimed}'::text[])), 0)::bigint AS pending,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'done'), 0)::bigint AS sent,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'failed'), 0)::bigint AS failed,
       pg_catalog.sum(f.deferred)::bigint AS deferred,
       pg_catalog.sum(f.deferred_quiet_hours)::bigint AS deferred_quiet_hours,
       pg_catalog.sum(f.deferred_call_spacing)::bigint AS deferred_call_spacing,
       pg_catalog.sum(f.deferred_call_cap)::bigint AS deferred_call_cap,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'skipped'), 0)::bigint AS skipped,
       COALESCE(pg_catalog.jsonb_object_agg(f.reason, f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'skipped'), '{}')
           AS skip_reasons,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'cancelled'), 0)::bigint AS cancelled,
       COALESCE(pg_catalog.jsonb_object_agg(f.reason, f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'cancelled'), '{}')
           AS cancel_reasons,
       COALESCE(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'held'), 0)::bigint AS held,
       COALESCE(pg_catalog.jsonb_object_agg(f.reason, f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'held'), '{}')
           AS hold_reasons,
       pg_catalog.sum(f.answered)::bigint AS answered,
       pg_catalog.sum(f.opened)::bigint AS opened,
       pg_catalog.sum(f.clicked)::bigint AS clicked,
       pg_catalog.sum(f.replied)::bigint AS replied,
       pg_catalog.sum(f.opted_out)::bigint AS opted_out,
       pg_catalog.round(pg_catalog.sum(f.opened) OPERATOR(pg_catalog./)
                        NULLIF(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'done'), 0), 4) AS open_rate,
       pg_catalog.round(pg_catalog.sum(f.clicked) OPERATOR(pg_catalog./)
                        NULLIF(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'done'), 0), 4) AS click_rate,
       pg_catalog.round(pg_catalog.sum(f.replied) OPERATOR(pg_catalog./)
                        NULLIF(pg_catalog.sum(f.n) FILTER (WHERE f.status OPERATOR(pg_catalog.=) 'done'), 0), 4) AS reply_rate
  FROM fine f
  JOIN cadence.cadence_version v
    ON v.tenant_id OPERATOR(pg_catalog.=) f.tenant_id AND v.cadence_version_id OPERATOR(pg_catalog.=) f.cadence_version_id
  LEFT JOIN cadence.step st
    ON st.tenant_id OPERATOR(pg_catalog.=) f.tenant_id AND st.cadence_version_id OPERATOR(pg_catalog.=) f.cadence_version_id
   AND st.step_no OPERATOR(pg_catalog.=) f.step_no
 GROUP BY f.tenant_id, v.cadence_key, v.version, f.cadence_version_id, f.step_no, f.variant,
          st.channel_options, st.timing, st.is_break_up;
COMMENT ON VIEW cadence.step_funnel IS
  'Per cadence version, step and message variant: touches planned, pending, sent, failed, deferred (by reason), skipped, cancelled and held (with reasons), answered, opened, clicked, replied, opted out, and the rates per touch sent';

-- Did touches go out when the cadence planned them?
CREATE VIEW cadence.adherence WITH (security_invoker = true) AS
SELECT x.tenant_id, x.cadence_key, x.version, x.cadence_version_id, x.channel,
       pg_catalog.count(*) AS attempts,
       pg_catalog.count(*) FILTER (WHERE x.deferred) AS deferred,
       pg_catalog.count(*) FILTER (WHERE x.after_due OPERATOR(pg_catalog.<=) 15) AS on_time,
       pg_catalog.round(pg_catalog.count(*) FILTER (WHERE x.after_due OPERATOR(pg_catalog.<=) 15)::numeric
                        OPERATOR(pg_catalog./) pg_catalog.count(*), 4) AS on_time_rate,
       pg_catalog.round((pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x.after_plan))::numeric, 2) AS late_p50_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY x.after_plan))::numeric, 2) AS late_p90_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY x.after_plan))::numeric, 2) AS late_p99_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x.after_due))::numeric, 2) AS send_delay_p50_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY x.after_due))::numeric, 2) AS send_delay_p90_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.99) WITHIN GROUP (ORDER BY x.after_due))::numeric, 2) AS send_delay_p99_minutes,
       pg_catalog.round(pg_catalog.max(x.after_plan)::numeric, 2) AS late_max_minutes
  FROM (SELECT t.tenant_id, v.cadence_key, v.version, e.cadence_version_id, t.channel,
               t.defer_reasons OPERATOR(pg_catalog.<>) '{}' AS deferred,
               (EXTRACT(epoch FROM t.completed_at OPERATOR(pg_catalog.-) t.planned_at) OPERATOR(pg_catalog./) 60)::float8 AS after_plan,
               (EXTRACT(epoch FROM t.completed_at OPERATOR(pg_catalog.-) t.due_at) OPERATOR(pg_catalog./) 60)::float8 AS after_due
          FROM cadence.touch t
          JOIN cadence.enrolment e
            ON e.tenant_id OPERATOR(pg_catalog.=) t.tenant_id AND e.enrolment_id OPERATOR(pg_catalog.=) t.enrolment_id
          JOIN cadence.cadence_version v
            ON v.tenant_id OPERATOR(pg_catalog.=) e.tenant_id AND v.cadence_version_id OPERATOR(pg_catalog.=) e.cadence_version_id
         WHERE t.status OPERATOR(pg_catalog.=) ANY ('{done,failed}'::text[]) AND t.completed_at IS NOT NULL) x
 GROUP BY x.tenant_id, x.cadence_key, x.version, x.cadence_version_id, x.channel;
COMMENT ON VIEW cadence.adherence IS
  'Per cadence version and channel: touches attempted, how late against the plan (completed_at - planned_at) and against the compliance-adjusted due time (completed_at - due_at), as p50/p90/p99 minutes, and the share sent within 15 minutes of due';

-- How fast a person took over when the engine asked for one.
CREATE VIEW cadence.escalation_latency WITH (security_invoker = true) AS
SELECT x.tenant_id, x.reason,
       pg_catalog.count(*) AS alerts,
       pg_catalog.count(*) FILTER (WHERE x.contacted) AS contacted,
       pg_catalog.count(*) FILTER (WHERE x.contacted AND x.to_contact OPERATOR(pg_catalog.<=) 5) AS contacted_within_5_minutes,
       pg_catalog.round(pg_catalog.count(*) FILTER (WHERE x.contacted AND x.to_contact OPERATOR(pg_catalog.<=) 5)::numeric
                        OPERATOR(pg_catalog./) pg_catalog.count(*), 4) AS within_5_minutes_rate,
       pg_catalog.count(*) FILTER (WHERE x.escalated_at IS NOT NULL) AS escalated,
       pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'closed' AND NOT x.contacted) AS closed_without_contact,
       pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.<>) 'closed') AS still_open,
       -- past the hand-off timeout with no active manager to take them
       pg_catalog.count(*) FILTER (WHERE x.status OPERATOR(pg_catalog.=) 'open' AND x.no_manager_at IS NOT NULL)
           AS awaiting_manager,
       pg_catalog.round((pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY x.to_alert))::numeric, 2) AS alert_p90_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x.to_escalation))::numeric, 2) AS escalation_p50_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x.to_contact))::numeric, 2) AS contact_p50_minutes,
       pg_catalog.round((pg_catalog.percentile_cont(0.9) WITHIN GROUP (ORDER BY x.to_contact))::numeric, 2) AS contact_p90_minutes,
       '< 5 minutes'::text AS goal,
       (pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY x.to_contact_or_never)) OPERATOR(pg_catalog.<) 5 AS met
  FROM (SELECT a.tenant_id, a.reason, a.status, a.escalated_at, a.no_manager_at,
               y.contacted,
               (EXTRACT(epoch FROM a.created_at OPERATOR(pg_catalog.-) y.signal_at) OPERATOR(pg_catalog./) 60)::float8 AS to_alert,
               (EXTRACT(epoch FROM a.escalated_at OPERATOR(pg_catalog.-) a.created_at) OPERATOR(pg_catalog./) 60)::float8 AS to_escalation,
               CASE WHEN y.contacted
                    THEN (EXTRACT(epoch FROM a.closed_at OPERATOR(pg_catalog.-) y.signal_at) OPERATOR(pg_catalog./) 60)::float8
               END AS to_contact,
               CASE WHEN y.contacted
                    THEN (EXTRACT(epoch FROM a.closed_at OPERATOR(pg_catalog.-) y.signal_at) OPERATOR(pg_catalog./) 60)::float8
                    ELSE 'Infinity'::float8
               END AS to_contact_or_never
          FROM cadence.alert a
          LEFT JOIN cadence.event ev
            ON ev.tenant_id OPERATOR(pg_catalog.=) a.tenant_id AND ev.event_id OPERATOR(pg_catalog.=) a.event_id
          LEFT JOIN cadence.custom_event_kind c
            ON c.tenant_id OPERATOR(pg_catalog.=) a.tenant_id
           AND 'event:' OPERATOR(pg_catalog.||) c.kind OPERATOR(pg_catalog.=) a.closed_by
          LEFT JOIN cadence.event_kind b ON 'event:' OPERATOR(pg_catalog.||) b.kind OPERATOR(pg_catalog.=) a.closed_by
         CROSS JOIN LATERAL (
                SELECT COALESCE(ev.occurred_at, a.created_at) AS signal_at,
                       a.status OPERATOR(pg_catalog.=) 'closed'
                       AND (pg_catalog.starts_with(a.closed_by, 'touch:') OR COALESCE(c.human_contact, b.human_contact, false))
                       AS contacted) y) x
 GROUP BY x.tenant_id, x.reason;
COMMENT ON VIEW cadence.escalation_latency IS
  'Per alert reason (new_hot_lead, replies, high-intent signals): signal to alert, alert to manager escalation, and signal to human contact in minutes, against the seed''s 5-minute rule; alerts awaiting a manager the tenant does not have';

-- The standard normal distribution function, accurate to about 1e-13
-- relative: a power series of erf below 1.5 (no cancellation: all terms are
-- positive), the continued fraction of erfc above.
CREATE FUNCTION cadence.normal_cdf(x double precision)
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t    double precision := abs(x) / sqrt(2.0::float8);
    term double precision;
    s    double precision;
    f    double precision;
    tail double precision;     -- erfc(|x| / sqrt 2) = twice the probability beyond |x|
    n    integer := 0;
BEGIN
    IF x = 'NaN'::float8 THEN
        RETURN 'NaN'::float8;
    ELSIF t = 0 THEN
        RETURN 0.5;
    ELSIF t < 1.5 THEN
        term := t;
        s := t;
        LOOP
            n := n + 1;
            term := term * 2 * t * t / (2 * n + 1);
            s := s + term;
            EXIT WHEN term < 1e-17 * s OR n >= 200;
        END LOOP;
        tail := 1 - 2 / sqrt(pi()) * exp(-t * t) * s;
    ELSIF t < 26 THEN
        f := t;
        FOR k IN REVERSE 200 .. 1 LOOP
            f := t + (k / 2.0::float8) / f;
        END LOOP;
        tail := exp(-t * t) / (sqrt(pi()) * f);
    ELSE
        tail := 0;             -- below 1e-290: exp() would underflow
    END IF;
    RETURN CASE WHEN x < 0 THEN tail / 2 ELSE 1 - tail / 2 END;
END
$$;
COMMENT ON FUNCTION cadence.normal_cdf(double precision) IS
  'The standard normal distribution function P(Z <= x), to about 13 significant digits';

-- The two-proportion z-test with the pooled proportion, and the 95%
-- confidence interval of the difference (unpooled, Wald).
CREATE FUNCTION cadence.two_proportion_test(a_successes bigint, a_trials bigint, b_successes bigint, b_trials bigint,
    OUT a_rate double precision, OUT b_rate double precision, OUT difference double precision,
    OUT ci_low double precision, OUT ci_high double precision, OUT z double precision, OUT p_value double precision)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pooled double precision;
    se     double precision;
BEGIN
    IF a_trials IS NULL OR a_trials < 0 THEN
        RAISE EXCEPTION 'a_trials must be 0 or more, not % (field "a_trials")', coalesce(a_trials::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF b_trials IS NULL OR b_trials < 0 THEN
        RAISE EXCEPTION 'b_trials must be 0 or more, not % (field "b_trials")', coalesce(b_trials::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF a_successes IS NULL OR a_successes < 0 OR a_successes > a_trials THEN
        RAISE EXCEPTION 'a_successes must be between 0 and a_trials (%), not % (field "a_successes")',
                a_trials, coalesce(a_successes::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF b_successes IS NULL OR b_successes < 0 OR b_successes > b_trials THEN
        RAISE EXCEPTION 'b_successes must be between 0 and b_trials (%), not % (field "b_successes")',
                b_trials, coalesce(b_successes::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF a_trials > 0 THEN
        a_rate := a_successes::float8 / a_trials;
    END IF;
    IF b_trials > 0 THEN
        b_rate := b_successes::float8 / b_trials;
    END IF;
    IF a_trials = 0 OR b_trials = 0 THEN
        RETURN;
    END IF;
    difference := a_rate - b_rate;
    se := sqrt(a_rate * (1 - a_rate) / a_trials + b_rate * (1 - b_rate) / b_trials);
    ci_low := difference - 1.959963984540054 * se;
    ci_high := difference + 1.959963984540054 * se;
    pooled := (a_successes + b_successes)::float8 / (a_trials + b_trials);
    se := sqrt(pooled * (1 - pooled) * (1.0::float8 / a_trials + 1.0::float8 / b_trials));
    IF se > 0 THEN
        z := difference / se;
        p_value := 2 * cadence.normal_cdf(-abs(z));
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.two_proportion_test(bigint, bigint, bigint, bigint) IS
  'Two-proportion z-test (pooled): both rates, their difference with a 95% confidence interval, z and the two-sided p-value (NULL when undefined)';

-- Which of two cadence versions (or two message variants, or two cadences)
-- gets more of an outcome, and is the difference real?
CREATE FUNCTION cadence.compare(a text, b text, outcome text DEFAULT 'appointment_set', by text DEFAULT 'version',
                                within interval DEFAULT NULL, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (a_arm text, a_enrolments bigint, a_outcomes bigint, a_rate numeric,
               b_arm text, b_enrolments bigint, b_outcomes bigint, b_rate numeric,
               difference numeric, difference_ci_low numeric, difference_ci_high numeric,
               z double precision, p_value double precision, significant boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_tenant   bigint := cadence.current_tenant();
    v_arms     text[] := ARRAY[compare.a, compare.b];
    v_fields   constant text[] := ARRAY['a', 'b'];
    v_forms    constant jsonb := '{"version": "key@version, e.g. hot-7day@2",
                                   "variant": "key@version#variant, e.g. hot-7day@2#1",
                                   "cadence": "a cadence key, e.g. hot-7day"}';
    v_pattern  text;
    v_match    text[];
    v_ids      bigint[];
    v_variant  integer;
    v_a_ids    bigint[];
    v_b_ids    bigint[];
    v_a_var    integer;
    v_b_var    integer;
    v_counts   record;
    v_test     record;
BEGIN
    IF compare.by IS NULL OR NOT v_forms ? compare.by THEN
        RAISE EXCEPTION 'unknown comparison "%" in field "by"', coalesce(compare.by, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Compare by version, variant or cadence.';
    END IF;
    IF compare.outcome IS NULL OR NOT EXISTS (SELECT FROM cadence.event_kinds k WHERE k.kind = compare.outcome) THEN
        RAISE EXCEPTION 'unknown event kind "%" in field "outcome"', coalesce(compare.outcome, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The outcome is an event kind of cadence.event_kinds, e.g. appointment_set, appointment_show, sold.';
    END IF;
    IF compare.within IS NOT NULL AND compare.within <= interval '0' THEN
        RAISE EXCEPTION 'within must be a positive interval, not % (field "within")', compare.within
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF compare.as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL (field "as_of")' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_pattern := CASE compare.by
                      WHEN 'version' THEN '^([a-z0-9][a-z0-9_.-]{0,62})@([0-9]{1,9})$'
                      WHEN 'variant' THEN '^([a-z0-9][a-z0-9_.-]{0,62})@([0-9]{1,9})#([0-9]{1,4})$'
                      ELSE '^([a-z0-9][a-z0-9_.-]{0,62})$' END;

    FOR i IN 1 .. 2 LOOP
        v_match := regexp_match(v_arms[i], v_pattern);
        IF v_match IS NULL THEN
            RAISE EXCEPTION 'invalid % "%" in field "%"', compare.by, coalesce(v_arms[i], 'NULL'), v_fields[i]
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Write ' || (v_forms ->> compare.by) || '.';
        END IF;
        SELECT array_agg(v.cadence_version_id ORDER BY v.cadence_version_id) INTO v_ids
          FROM cadence.cadence_version v
         WHERE v.tenant_id = v_tenant AND v.cadence_key = v_match[1]
           AND (v_match[2] IS NULL OR v.version = v_match[2]::integer);
        IF v_ids IS NULL THEN
            RAISE EXCEPTION 'cadence % "%" does not exist in field "%"', compare.by, v_arms[i], v_fields[i]
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_variant := v_match[3]::integer;
        IF v_variant IS NOT NULL AND NOT EXISTS (
                SELECT FROM cadence.step s
                 WHERE s.tenant_id = v_tenant AND s.cadence_version_id = v_ids[1]
                   AND jsonb_array_length(s.variants) > 0 AND jsonb_array_length(s.variants) >= v_variant) THEN
            RAISE EXCEPTION 'cadence version "%" has no message variant % in field "%"',
                    split_part(v_arms[i], '#', 1), v_variant, v_fields[i]
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Variant 0 is a step''s own message, 1 its first entry of message.variants; only steps with variants count.';
        END IF;
        IF i = 1 THEN
            v_a_ids := v_ids;
            v_a_var := v_variant;
        ELSE
            v_b_ids := v_ids;
            v_b_var := v_variant;
        END IF;
    END LOOP;
    IF v_a_ids = v_b_ids AND v_a_var IS NOT DISTINCT FROM v_b_var THEN
        RAISE EXCEPTION 'a and b are the same % "%" (field "b")', compare.by, compare.b
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Each enrolment is one trial.  With a variant, its arm is the variant of
    -- the first touch it was sent from a step that has variants.  An outcome
    -- counts for the enrolment the lead was last enrolled in when it happened
    -- (so an escalation or a move hands later outcomes to the next cadence),
    -- within "within" of the enrolment when given, in which case only
    -- enrolments at least that old at as_of are counted.
    WITH trial AS (
        SELECT e.tenant_id, e.enrolment_id, e.lead_id, e.enrolled_at,
               e.cadence_version_id = ANY (v_a_ids) AND (v_a_var IS NULL OR x.variant = v_a_var) AS in_a,
               e.cadence_version_id = ANY (v_b_ids) AND (v_b_var IS NULL OR x.variant = v_b_var) AS in_b
          FROM cadence.enrolment e
          LEFT JOIN LATERAL (
                SELECT t.variant
                  FROM cadence.touch t
                  JOIN cadence.step s
                    ON s.tenant_id = t.tenant_id AND s.cadence_version_id = e.cadence_version_id AND s.step_no = t.step_no
                 WHERE compare.by = 'variant'
                   AND t.tenant_id = e.tenant_id AND t.enrolment_id = e.enrolment_id
                   AND t.status = 'done' AND t.completed_at <= compare.as_of
                   AND jsonb_array_length(s.variants) > 0
                 ORDER BY t.completed_at, t.touch_id
                 LIMIT 1) x ON true
         WHERE e.tenant_id = v_tenant
           AND e.cadence_version_id = ANY (v_a_ids || v_b_ids)
           AND e.enrolled_at <= compare.as_of
           AND (compare.within IS NULL OR e.enrolled_at + compare.within <= compare.as_of)
    ), credit AS (
        -- each outcome event, and the enrolment the lead was last in then
        SELECT c.enrolment_id, o.occurred_at
          FROM cadence.applied_event o
         CROSS JOIN LATERAL (
                SELECT e.enrolment_id
                  FROM cadence.enrolment e
                 WHERE e.tenant_id = o.tenant_id AND e.lead_id = o.lead_id AND e.enrolled_at <= o.occurred_at
                 ORDER BY e.enrolled_at DESC, e.enrolment_id DESC
                 LIMIT 1) c
         WHERE o.tenant_id = v_tenant AND o.kind = compare.outcome AND o.occurred_at <= compare.as_of
    ), success AS (
        SELECT DISTINCT t.enrolment_id
          FROM trial t
          JOIN credit c ON c.enrolment_id = t.enrolment_id
         WHERE compare.within IS NULL OR c.occurred_at <= t.enrolled_at + compare.within
    )
    SELECT count(*) FILTER (WHERE t.in_a) AS na,
           count(*) FILTER (WHERE t.in_a AND s.enrolment_id IS NOT NULL) AS xa,
           count(*) FILTER (WHERE t.in_b) AS nb,
           count(*) FILTER (WHERE t.in_b AND s.enrolment_id IS NOT NULL) AS xb
      INTO v_counts
      FROM trial t
      LEFT JOIN success s ON s.enrolment_id = t.enrolment_id
     WHERE t.in_a OR t.in_b;

    SELECT * INTO v_test FROM cadence.two_proportion_test(v_counts.xa, v_counts.na, v_counts.xb, v_counts.nb);
    a_arm := compare.a;
    a_enrolments := v_counts.na;
    a_outcomes := v_counts.xa;
    a_rate := round(v_test.a_rate::numeric, 4);
    b_arm := compare.b;
    b_enrolments := v_counts.nb;
    b_outcomes := v_counts.xb;
    b_rate := round(v_test.b_rate::numeric, 4);
    difference := round(v_test.difference::numeric, 4);
    difference_ci_low := round(v_test.ci_low::numeric, 4);
    difference_ci_high := round(v_test.ci_high::numeric, 4);
    z := v_test.z;
    p_value := v_test.p_value;
    significant := v_test.p_value < 0.05;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION cadence.compare(text, text, text, text, interval, timestamptz) IS
  'Compare two cadence versions (''key@1'' vs ''key@2''), message variants (''key@1#0'' vs ''key@1#1'') or cadences on an outcome event: enrolments, outcomes, rates, difference with 95% interval, two-proportion z and p-value';

-- The seed's weekly quality audit: a reproducible sample of leads per
-- segment from the leads on a cadence in the week up to as_of, with how
-- their touches kept to time and how fast a person answered their alerts.
CREATE FUNCTION cadence.weekly_audit(per_segment integer DEFAULT 25, seed integer DEFAULT 1,
                                     as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (segment text, sample_rank bigint, lead_id bigint, external_id text, created_at timestamptz,
               cadence text, enrolled_at timestamptz, score integer, tier text,
               touches_due bigint, sent_on_time bigint, sent_late bigint, overdue bigint, not_sent bigint, deferred bigint,
               max_minutes_after_due numeric, timing_score numeric,
               speed_to_lead_minutes numeric, first_contact_minutes numeric,
               alerts bigint, alerts_contacted_within_5_minutes bigint, alerts_escalated bigint,
               worst_alert_minutes numeric, escalation_score numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    v_tenant bigint := cadence.current_tenant();
    v_week   timestamptz;
BEGIN
    IF weekly_audit.per_segment IS NULL OR weekly_audit.per_segment < 1 OR weekly_audit.per_segment > 1000 THEN
        RAISE EXCEPTION 'per_segment must be between 1 and 1000, not % (field "per_segment")',
                coalesce(weekly_audit.per_segment::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF weekly_audit.seed IS NULL THEN
        RAISE EXCEPTION 'seed must not be NULL (field "seed")' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF weekly_audit.as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL (field "as_of")' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_week := weekly_audit.as_of - interval '7 days';

    RETURN QUERY
    WITH worked AS (
        SELECT l.tenant_id, l.lead_id, l.segment, l.external_id, l.created_at, l.tier,
               row_number() OVER (PARTITION BY l.segment
                                  ORDER BY hashint8extended(l.lead_id, weekly_audit.seed), l.lead_id) AS rank
          FROM cadence.lead l
         WHERE l.tenant_id = v_tenant AND l.created_at <= weekly_audit.as_of
           AND EXISTS (SELECT FROM cadence.enrolment e
                        WHERE e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id
                          AND e.enrolled_at <= weekly_audit.as_of
                          AND (e.ended_at IS NULL OR e.ended_at > v_week))
    )
    SELECT w.segment, w.rank, w.lead_id, w.external_id, w.created_at,
           n.cadence_key || '@' || n.version, n.enrolled_at,
           cadence.score(w.lead_id, weekly_audit.as_of), w.tier,
           tt.due, tt.on_time, tt.late, tt.overdue, tt.not_sent, tt.deferred,
           round(tt.max_after_due, 2),
           round(tt.on_time::numeric / nullif(tt.on_time + tt.late + tt.overdue, 0), 4),
           round(extract(epoch FROM f.first_touch_at - w.created_at) / 60, 2),
           round(extract(epoch FROM least(f.first_rep_touch_at, h.first_contact_at) - w.created_at) / 60, 2),
           al.n, al.within_5, al.escalated, round(al.worst, 2),
           round(al.within_5::numeric / nullif(al.n, 0), 4)
      FROM worked w
      LEFT JOIN LATERAL (
            SELECT e.enrolled_at, v.cadence_key, v.version
              FROM cadence.enrolment e
              JOIN cadence.cadence_version v
                ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
             WHERE e.tenant_id = w.tenant_id AND e.lead_id = w.lead_id AND e.enrolled_at <= weekly_audit.as_of
             ORDER BY e.enrolled_at DESC, e.enrolment_id DESC
             LIMIT 1) n ON true
     CROSS JOIN LATERAL (
            -- touches due in the week, as they stood at as_of: sent (done or
            -- failed by then), waiting (queued, claimed, or sent only later),
            -- or not sent at all (skipped, cancelled, held)
            SELECT count(*) AS due,
                   count(*) FILTER (WHERE y.sent AND y.after_due <= 15) AS on_time,
                   count(*) FILTER (WHERE y.sent AND y.after_due > 15) AS late,
                   count(*) FILTER (WHERE y.waiting AND y.after_due > 15) AS overdue,
                   count(*) FILTER (WHERE y.status IN ('skipped', 'cancelled', 'held')) AS not_sent,
                   count(*) FILTER (WHERE y.defer_reasons <> '{}') AS deferred,
                   max(y.after_due) FILTER (WHERE y.sent OR y.waiting) AS max_after_due
              FROM (SELECT t.status, t.defer_reasons,
                           t.status IN ('done', 'failed') AND t.completed_at <= weekly_audit.as_of AS sent,
                           t.status IN ('queued', 'claimed')
                           OR (t.status IN ('done', 'failed') AND t.completed_at > weekly_audit.as_of) AS waiting,
                           extract(epoch FROM CASE WHEN t.status IN ('done', 'failed') AND t.completed_at <= weekly_audit.as_of
                                                   THEN t.completed_at ELSE weekly_audit.as_of END - t.due_at) / 60 AS after_due
                      FROM cadence.touch t
                     WHERE t.tenant_id = w.tenant_id AND t.lead_id = w.lead_id
                       AND t.created_at <= weekly_audit.as_of
                       AND t.due_at > v_week AND t.due_at <= weekly_audit.as_of) y) tt
     CROSS JOIN LATERAL (
            SELECT min(t.completed_at) AS first_touch_at,
                   min(t.completed_at) FILTER (WHERE ch.rep_task) AS first_rep_touch_at
              FROM cadence.touch t
              JOIN cadence.channel ch ON ch.channel = t.channel
             WHERE t.tenant_id = w.tenant_id AND t.lead_id = w.lead_id
               AND t.status = 'done' AND t.completed_at <= weekly_audit.as_of) f
     CROSS JOIN LATERAL (
            SELECT min(a.occurred_at) AS first_contact_at
              FROM cadence.applied_event a
             WHERE a.tenant_id = w.tenant_id AND a.lead_id = w.lead_id AND a.human_contact
               AND a.occurred_at <= weekly_audit.as_of) h
     CROSS JOIN LATERAL (
            -- alerts raised in the week; one answered by a person within 5
            -- minutes of its signal passes; one still waiting at as_of counts
            -- its wait so far
            SELECT count(*) AS n,
                   count(*) FILTER (WHERE z.contacted AND z.waited <= 5) AS within_5,
                   count(*) FILTER (WHERE z.escalated_at <= weekly_audit.as_of) AS escalated,
                   max(z.waited) AS worst
              FROM (SELECT a.escalated_at,
                           a.status = 'closed' AND a.closed_at <= weekly_audit.as_of
                           AND (starts_with(a.closed_by, 'touch:')
                                OR EXISTS (SELECT FROM cadence.event_kinds k
                                            WHERE 'event:' || k.kind = a.closed_by AND k.human_contact)) AS contacted,
                           extract(epoch FROM CASE WHEN a.status = 'closed' AND a.closed_at <= weekly_audit.as_of
                                                   THEN a.closed_at ELSE weekly_audit.as_of END
                                              - coalesce(ev.occurred_at, a.created_at)) / 60 AS waited
                      FROM cadence.alert a
                      LEFT JOIN cadence.event ev ON ev.tenant_id = a.tenant_id AND ev.event_id = a.event_id
                     WHERE a.tenant_id = w.tenant_id AND a.lead_id = w.lead_id
                       AND a.created_at > v_week AND a.created_at <= weekly_audit.as_of) z) al
     WHERE w.rank <= weekly_audit.per_segment
     ORDER BY w.segment NULLS LAST, w.rank;
END
$$;
COMMENT ON FUNCTION cadence.weekly_audit(integer, integer, timestamptz) IS
  'The seed''s weekly audit: per segment, a sample of per_segment leads on a cadence in the 7 days up to as_of (the same seed gives the same sample), with touch timing against due times, speed-to-lead, alert latency against the 5-minute rule, score and tier';

-- Reporting tools read all of this as cadence_reader.
GRANT SELECT ON cadence.applied_event, cadence.lead_milestones, cadence.kpi_summary, cadence.kpi_scorecard,
                cadence.step_funnel, cadence.adherence, cadence.escalation_latency
   TO cadence_reader;
GRANT EXECUTE ON FUNCTION
    cadence.lead_milestones_between(timestamptz, timestamptz),
    cadence.kpis(text, timestamptz, timestamptz),
    cadence.normal_cdf(double precision),
    cadence.two_proportion_test(bigint, bigint, bigint, bigint),
    cadence.compare(text, text, text, text, interval, timestamptz),
    cadence.weekly_audit(integer, integer, timestamptz)
   TO cadence_reader;
