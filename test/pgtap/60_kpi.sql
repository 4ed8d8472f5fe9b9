-- KPI views against hand-computed values on a small fixed data set: six
-- leads, their enrolments and touches inserted directly with chosen times,
-- and their events recorded one statement at a time in time order (so the
-- engine pauses, exits, alerts and records consent as it would live).
-- Checked: cadence.lead_milestones (per lead; lead_milestones_between() for
-- a window of creation times gives the same rows), cadence.kpi_summary and
-- cadence.kpi_scorecard (the seed's goals and whether they are met),
-- cadence.kpis() by segment, version, rep, week, tier and a created window,
-- cadence.step_funnel (per step and variant, with defer, skip, cancel and
-- hold reasons, opens, clicks, replies and opt-outs credited to touches),
-- cadence.adherence (lateness percentiles), cadence.escalation_latency (the
-- 5-minute rule), cadence.weekly_audit() (a reproducible sample and its
-- figures as of a time), row-level security for cadence_reader, and bad
-- input to kpis() and weekly_audit() (22023 naming the field).
--
-- The leads (times UTC, week of Monday 2026-03-02):
--   K-A new/hot, owner Amy, created Mon 15:00 on kpi-hot@1: call answered
--       15:02, SMS 15:06, email (variant 1) 15:31; appointment set 15:40,
--       shown Wed 18:00.
--   K-B new/hot, no owner, created Mon 15:00 on kpi-hot@1: call by Bo
--       (no answer) 15:20, SMS 15:21, email (variant 0) 15:30; opened 15:45
--       (no touch named), clicked 15:46, texted STOP 16:00.
--   K-C aged/warm, created Tue 10:00 on kpi-warm@1: email 10:01; replied
--       10:30 (paused, its queued SMS cancelled, alert), rep contact 10:33,
--       appointment Wed 12:00, sold Fri 16:00.
--   K-D aged/warm, created Tue 10:00 on kpi-warm@1: email 10:02; asked for
--       a trade value 11:00 (alert, escalated by the tick at 11:05); its
--       SMS due Wed 10:00 is still queued.
--   K-E new/cold, created Mon 03-09 09:00 on kpi-warm@1: email held for a
--       missing first name, SMS skipped (no consent).
--   K-F service/moderate, created Mon 20:00 on kpi-warm@1: email 21:30
--       (90 minutes late), SMS planned Wed 01:00 deferred by quiet hours to
--       14:00 and sent then; opted out of everything Wed 15:00.
BEGIN;
SELECT plan(55);

SET LOCAL timezone = 'UTC';

INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES
    ('R-AMY', 'Amy Lund', 'rep', true),
    ('R-BO',  'Bo Reyes', 'rep', true),
    ('M-MAY', 'May Chen', 'manager', true);
SELECT max(rep_id) FILTER (WHERE external_id = 'R-AMY') AS amy,
       max(rep_id) FILTER (WHERE external_id = 'R-BO') AS bo
  FROM cadence.rep \gset

SELECT cadence.define_cadence($${
  "key": "kpi-hot", "name": "Hot week", "tier": "hot",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call about the car."}},
    {"channel": "sms", "timing": "+5 minutes", "message": {"body": "Just called, when suits you?"}},
    {"channel": "email", "timing": "+30 minutes",
     "message": {"subject": "Your test drive", "body": "Photos inside.",
                 "variants": [{"subject": "Ready when you are", "body": "Pick a time."}]}}
  ]}$$) AS hot1 \gset
SELECT cadence.define_cadence($${
  "key": "kpi-warm", "name": "Warm month",
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Thanks {{first_name}}", "body": "Details inside."}},
    {"channel": "sms", "timing": "+1 day", "message": {"body": "Any questions?"}}
  ]}$$) AS warm1 \gset

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, segment, source, owner_rep_id, created_at) VALUES
    ('K-A', 'Ada',  'ada@example.com',  '+15555550901', 'America/New_York', 'new',     'web',   :amy, '2026-03-02 15:00+00'),
    ('K-B', 'Ben',  'ben@example.com',  '+15555550902', 'America/New_York', 'new',     'web',   NULL, '2026-03-02 15:00+00'),
    ('K-C', 'Cy',   'cy@example.com',   '+15555550903', 'America/New_York', 'aged',    'phone', NULL, '2026-03-03 10:00+00'),
    ('K-D', 'Dee',  'dee@example.com',  '+15555550904', 'America/New_York', 'aged',    'web',   NULL, '2026-03-03 10:00+00'),
    ('K-E', NULL,   'eve@example.com',  '+15555550905', 'America/New_York', 'new',     'web',   NULL, '2026-03-09 09:00+00'),
    ('K-F', 'Fay',  'fay@example.com',  '+15555550906', 'America/New_York', 'service', 'web',   NULL, '2026-03-02 20:00+00');
SELECT max(lead_id) FILTER (WHERE external_id = 'K-A') AS la,
       max(lead_id) FILTER (WHERE external_id = 'K-B') AS lb,
       max(lead_id) FILTER (WHERE external_id = 'K-C') AS lc,
       max(lead_id) FILTER (WHERE external_id = 'K-D') AS ld,
       max(lead_id) FILTER (WHERE external_id = 'K-E') AS le,
       max(lead_id) FILTER (WHERE external_id = 'K-F') AS lf
  FROM cadence.lead \gset

INSERT INTO cadence.enrolment (lead_id, cadence_version_id, status, enrolled_at, next_step_no, next_due_at) VALUES
    (:la, :hot1,  'active', '2026-03-02 15:00+00', 4, NULL),
    (:lb, :hot1,  'active', '2026-03-02 15:00+00', 4, NULL),
    (:lc, :warm1, 'active', '2026-03-03 10:00+00', 3, NULL),
    (:ld, :warm1, 'active', '2026-03-03 10:00+00', 3, NULL),
    (:le, :warm1, 'active', '2026-03-09 09:00+00', 3, NULL),
    (:lf, :warm1, 'active', '2026-03-02 20:00+00', 3, NULL);
SELECT max(enrolment_id) FILTER (WHERE lead_id = :la) AS ea,
       max(enrolment_id) FILTER (WHERE lead_id = :lb) AS eb,
       max(enrolment_id) FILTER (WHERE lead_id = :lc) AS ec,
       max(enrolment_id) FILTER (WHERE lead_id = :ld) AS ed,
       max(enrolment_id) FILTER (WHERE lead_id = :le) AS ee,
       max(enrolment_id) FILTER (WHERE lead_id = :lf) AS ef
  FROM cadence.enrolment \gset

INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at, defer_reasons,
                           status, status_reason, variant, assignee_rep_id, outcome, created_at, completed_at) VALUES
    (1, :la, :ea, 1, 'call',  '2026-03-02 15:00+00', '2026-03-02 15:00+00', '{}', 'done', NULL, 0, :amy, 'answered',  '2026-03-02 15:00+00', '2026-03-02 15:02+00'),
    (1, :la, :ea, 2, 'sms',   '2026-03-02 15:05+00', '2026-03-02 15:05+00', '{}', 'done', NULL, 0, NULL, 'delivered', '2026-03-02 15:05+00', '2026-03-02 15:06+00'),
    (1, :la, :ea, 3, 'email', '2026-03-02 15:30+00', '2026-03-02 15:30+00', '{}', 'done', NULL, 1, NULL, 'sent',      '2026-03-02 15:30+00', '2026-03-02 15:31+00'),
    (1, :lb, :eb, 1, 'call',  '2026-03-02 15:00+00', '2026-03-02 15:00+00', '{}', 'done', NULL, 0, :bo,  'no_answer', '2026-03-02 15:00+00', '2026-03-02 15:20+00'),
    (1, :lb, :eb, 2, 'sms',   '2026-03-02 15:05+00', '2026-03-02 15:05+00', '{}', 'done', NULL, 0, NULL, 'delivered', '2026-03-02 15:05+00', '2026-03-02 15:21+00'),
    (1, :lb, :eb, 3, 'email', '2026-03-02 15:30+00', '2026-03-02 15:30+00', '{}', 'done', NULL, 0, NULL, 'sent',      '2026-03-02 15:30+00', '2026-03-02 15:30+00'),
    (1, :lc, :ec, 1, 'email', '2026-03-03 10:00+00', '2026-03-03 10:00+00', '{}', 'done', NULL, 0, NULL, 'sent',      '2026-03-03 10:00+00', '2026-03-03 10:01+00'),
    (1, :lc, :ec, 2, 'sms',   '2026-03-04 10:00+00', '2026-03-04 10:00+00', '{}', 'queued', NULL, 0, NULL, NULL,      '2026-03-03 10:00+00', NULL),
    (1, :ld, :ed, 1, 'email', '2026-03-03 10:00+00', '2026-03-03 10:00+00', '{}', 'done', NULL, 0, NULL, 'sent',      '2026-03-03 10:00+00', '2026-03-03 10:02+00'),
    (1, :ld, :ed, 2, 'sms',   '2026-03-04 10:00+00', '2026-03-04 10:00+00', '{}', 'queued', NULL, 0, NULL, NULL,      '2026-03-04 10:00+00', NULL),
    (1, :le, :ee, 1, 'email', '2026-03-09 09:00+00', '2026-03-09 09:00+00', '{}', 'held', 'missing_merge_field:first_name', 0, NULL, NULL, '2026-03-09 09:00+00', NULL),
    (1, :le, :ee, 2, 'sms',   '2026-03-10 09:00+00', '2026-03-10 09:00+00', '{}', 'skipped', 'no_sms_consent', 0, NULL, NULL, '2026-03-10 09:00+00', NULL),
    (1, :lf, :ef, 1, 'email', '2026-03-02 20:00+00', '2026-03-02 20:00+00', '{}', 'done', NULL, 0, NULL, 'sent',      '2026-03-02 20:00+00', '2026-03-02 21:30+00'),
    (1, :lf, :ef, 2, 'sms',   '2026-03-04 01:00+00', '2026-03-04 14:00+00', '{quiet_hours}', 'done', NULL, 0, NULL, 'delivered', '2026-03-04 01:00+00', '2026-03-04 14:00+00');
CREATE TEMP TABLE tid AS
SELECT l.external_id || ':' || t.step_no AS k, t.touch_id
  FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id);
SELECT max(touch_id) FILTER (WHERE k = 'K-A:1') AS a1, max(touch_id) FILTER (WHERE k = 'K-B:1') AS b1,
       max(touch_id) FILTER (WHERE k = 'K-B:3') AS b3, max(touch_id) FILTER (WHERE k = 'K-C:1') AS c1
  FROM tid \gset

-- The hot cadence's new-lead alerts, as the engine would have left them:
-- Amy called within 2 minutes; Bo's alert went to the manager at 15:05 and
-- Bo called at 15:20.
INSERT INTO cadence.alert (lead_id, enrolment_id, reason, rep_id, status, created_at, escalate_at,
                           escalated_at, closed_at, closed_by) VALUES
    (:la, :ea, 'new_hot_lead', :amy, 'closed', '2026-03-02 15:00+00', '2026-03-02 15:05+00', NULL,
     '2026-03-02 15:02+00', 'touch:' || :a1),
    (:lb, :eb, 'new_hot_lead', :bo, 'closed', '2026-03-02 15:00+00', '2026-03-02 15:05+00', '2026-03-02 15:05+00',
     '2026-03-02 15:20+00', 'touch:' || :b1);

-- Events, one statement each, in time order.
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:la, 'appointment_set', '2026-03-02 15:40+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lb, 'email_open', '2026-03-02 15:45+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lb, 'email_click', '2026-03-02 15:46+00', :b3);
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload) VALUES (:lb, 'sms_reply', '2026-03-02 16:00+00', '{"body": "Stop"}');
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lc, 'email_reply', '2026-03-03 10:30+00', :c1);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lc, 'rep_contact', '2026-03-03 10:33+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:ld, 'trade_value_request', '2026-03-03 11:00+00', NULL);
SELECT is(cadence.tick('2026-03-03 11:05+00'), 0, 'the tick at 11:05 queues nothing (it escalates the trade-value alert)');
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lc, 'appointment_set', '2026-03-04 12:00+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lf, 'opt_out', '2026-03-04 15:00+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:la, 'appointment_show', '2026-03-04 18:00+00', NULL);
INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id) VALUES (:lc, 'sold', '2026-03-06 16:00+00', NULL);

-- Tiers as the seed would route them (events rescored the leads; the
-- report groups by the tier a lead has now).
UPDATE cadence.lead SET tier = CASE external_id WHEN 'K-A' THEN 'hot' WHEN 'K-B' THEN 'hot' WHEN 'K-C' THEN 'warm'
                                                WHEN 'K-D' THEN 'warm' WHEN 'K-E' THEN 'cold' ELSE 'moderate' END
 WHERE external_id LIKE 'K-%';

-- The engine did what these figures rely on.
SELECT results_eq(
    $$SELECT l.external_id, t.step_no, t.status, t.status_reason FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.external_id IN ('K-C', 'K-D') AND t.step_no = 2 ORDER BY 1$$,
    $$VALUES ('K-C', 2, 'cancelled', 'handed_off:email_reply'), ('K-D', 2, 'queued', NULL::text)$$,
    'the reply cancelled K-C''s queued text; K-D''s is still queued');
SELECT results_eq(
    $$SELECT a.reason, a.status, a.created_at, a.escalated_at, a.closed_at, a.closed_by
        FROM cadence.alert a WHERE a.reason <> 'new_hot_lead' ORDER BY a.created_at$$,
    $$VALUES ('email_reply', 'closed', '2026-03-03 10:30+00'::timestamptz, NULL::timestamptz,
              '2026-03-03 10:33+00'::timestamptz, 'event:rep_contact'),
             ('trade_value_request', 'escalated', '2026-03-03 11:00+00', '2026-03-03 11:05+00', NULL, NULL)$$,
    'the reply''s alert was closed by the rep''s contact; the trade-value alert went to the manager at 11:05');
SELECT results_eq(
    $$SELECT l.external_id, c.channel, c.recorded_at FROM cadence.consent c JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE c.action = 'revoke' ORDER BY 1$$,
    $$VALUES ('K-B', 'sms', '2026-03-02 16:00+00'::timestamptz), ('K-F', 'all', '2026-03-04 15:00+00')$$,
    'STOP revoked K-B''s texts, opt_out all of K-F''s contact');

-- cadence.lead_milestones: the moments each lead reached.
SELECT results_eq(
    $$SELECT m.external_id, m.entry_cadence_key || '@' || m.entry_version, r.external_id AS rep,
             first_touch_at, first_touch_channel, second_touch_at, touches_done,
             first_contact_at, first_response_at, first_touch_responded, engaged_at IS NOT NULL
        FROM cadence.lead_milestones m LEFT JOIN cadence.rep r USING (tenant_id, rep_id) ORDER BY m.external_id$$,
    $$VALUES ('K-A', 'kpi-hot@1', 'R-AMY', '2026-03-02 15:02+00'::timestamptz, 'call', '2026-03-02 15:06+00'::timestamptz, 3::bigint,
              '2026-03-02 15:02+00'::timestamptz, '2026-03-02 15:02+00'::timestamptz, true, true),
             ('K-B', 'kpi-hot@1', 'R-BO', '2026-03-02 15:20+00', 'call', '2026-03-02 15:21+00', 3,
              '2026-03-02 15:20+00', NULL, false, true),
             ('K-C', 'kpi-warm@1', NULL, '2026-03-03 10:01+00', 'email', NULL, 1,
              '2026-03-03 10:33+00', '2026-03-03 10:30+00', true, true),
             ('K-D', 'kpi-warm@1', NULL, '2026-03-03 10:02+00', 'email', NULL, 1,
              NULL, '2026-03-03 11:00+00', true, true),
             ('K-E', 'kpi-warm@1', NULL, NULL, NULL, NULL, 0,
              NULL, NULL, NULL, false),
             ('K-F', 'kpi-warm@1', NULL, '2026-03-02 21:30+00', 'email', '2026-03-04 14:00+00', 2,
              NULL, NULL, false, false)$$,
    'lead_milestones: entry cadence, rep, first and second touch, first human contact, first response, first-touch response, engagement');
SELECT results_eq(
    $$SELECT external_id, appointment_set_at, appointment_show_at, sold_at, converted_at, touches_to_conversion, opted_out_at
        FROM cadence.lead_milestones ORDER BY external_id$$,
    $$VALUES ('K-A', '2026-03-02 15:40+00'::timestamptz, '2026-03-04 18:00+00'::timestamptz, NULL::timestamptz,
              '2026-03-02 15:40+00'::timestamptz, 3::bigint, NULL::timestamptz),
             ('K-B', NULL, NULL, NULL, NULL, NULL, '2026-03-02 16:00+00'),
             ('K-C', '2026-03-04 12:00+00', NULL, '2026-03-06 16:00+00', '2026-03-04 12:00+00', 1, NULL),
             ('K-D', NULL, NULL, NULL, NULL, NULL, NULL),
             ('K-E', NULL, NULL, NULL, NULL, NULL, NULL),
             ('K-F', NULL, NULL, NULL, NULL, NULL, '2026-03-04 15:00+00')$$,
    'lead_milestones: appointment, show, sale, conversion, touches before it, opt-out');

SELECT results_eq(
    $$SELECT * FROM cadence.lead_milestones_between('2026-03-03', '2026-03-04') ORDER BY lead_id$$,
    $$SELECT * FROM cadence.lead_milestones WHERE created_at >= '2026-03-03' AND created_at < '2026-03-04' ORDER BY lead_id$$,
    'lead_milestones_between(): the leads created in the window (K-C, K-D), with the same figures as the view');
SELECT is((SELECT count(*) FROM cadence.lead_milestones_between('2026-03-03', '2026-03-04')), 2::bigint,
          'two leads in that window');

-- cadence.kpi_summary for the default tenant.
--   speed-to-lead (minutes to first touch): 1, 2, 2, 20, 90 -> p50 2, p90 20 + 0.6 * 70 = 62
--   to first human contact: 2, 20, 33 -> p50 20, p90 20 + 0.8 * 13 = 30.4
--   touched within an hour: A, B, C, D of 6 leads
--   first touch answered before the second: A (answered), C, D of 5 touched
--   engaged A, B, C, D; booked A, C; shown A; sold C
--   touches to conversion: A 3, C 1; opted out after being touched: B, F of 5
--   time to first response: A 2, C 30, D 60 -> p50 30
SELECT results_eq(
    $$SELECT tenant, leads, speed_to_lead_p50_minutes, speed_to_lead_p90_minutes, speed_to_lead_goal, speed_to_lead_met,
             speed_to_contact_p50_minutes, speed_to_contact_p90_minutes, speed_to_contact_met, contacted_by_person
        FROM cadence.kpi_summary WHERE tenant_id = 1$$,
    $$VALUES ('default', 6::bigint, 2.00, 62.00, '< 5 minutes', true, 20.00, 30.40, false, 3::bigint)$$,
    'kpi_summary: speed-to-lead and speed to human contact, median and p90, against 5 minutes');
SELECT results_eq(
    $$SELECT contacted_within_1_hour, contact_rate, contact_rate_goal, contact_rate_met,
             first_touched, first_touch_responses, first_touch_response_rate, first_touch_response_goal, first_touch_response_met
        FROM cadence.kpi_summary WHERE tenant_id = 1$$,
    $$VALUES (4::bigint, 0.6667, '> 70% within 1 hour', false, 5::bigint, 3::bigint, 0.6000, '30-40%', true)$$,
    'kpi_summary: contact rate within 1 hour (4 of 6: missed) and first-touch response (3 of 5: met)');
SELECT results_eq(
    $$SELECT engaged, appointments_set, appointment_set_rate, appointment_set_goal, appointment_set_met,
             appointments_shown, show_rate, sold, sold_rate
        FROM cadence.kpi_summary WHERE tenant_id = 1$$,
    $$VALUES (4::bigint, 2::bigint, 0.5000, '20-30% of engaged leads', true, 1::bigint, 0.5000, 1::bigint, 0.1667)$$,
    'kpi_summary: appointment set rate among engaged leads, show rate, sold rate');
SELECT results_eq(
    $$SELECT converted, touches_to_conversion, touches_to_conversion_goal, touches_to_conversion_met,
             opted_out, opt_out_rate, opt_out_goal, opt_out_met, responded, time_to_first_response_p50_minutes
        FROM cadence.kpi_summary WHERE tenant_id = 1$$,
    $$VALUES (2::bigint, 2.00, '8-12 touches', true, 2::bigint, 0.4000, '< 5%', false, 3::bigint, 30.00)$$,
    'kpi_summary: touches to conversion, opt-out rate (2 of 5 touched: missed), time to first response');
SELECT results_eq(
    $$SELECT position, metric, value, unit, basis, goal, met FROM cadence.kpi_scorecard WHERE tenant_id = 1 ORDER BY position$$,
    $$VALUES (1, 'speed_to_lead', 2.00, 'minutes', 5::bigint, '< 5 minutes', true),
             (2, 'speed_to_contact', 20.00, 'minutes', 3, '< 5 minutes', false),
             (3, 'contact_rate', 0.6667, 'share', 6, '> 70% within 1 hour', false),
             (4, 'first_touch_response_rate', 0.6000, 'share', 5, '30-40%', true),
             (5, 'appointment_set_rate', 0.5000, 'share', 4, '20-30% of engaged leads', true),
             (6, 'show_rate', 0.5000, 'share', 2, NULL, NULL),
             (7, 'sold_rate', 0.1667, 'share', 6, NULL, NULL),
             (8, 'touches_to_conversion', 2.00, 'touches', 2, '8-12 touches', true),
             (9, 'opt_out_rate', 0.4000, 'share', 5, '< 5%', false),
             (10, 'time_to_first_response', 30.00, 'minutes', 3, NULL, NULL)$$,
    'kpi_scorecard: one row per metric with its value, basis, goal and verdict');

-- cadence.kpis() by dimension.
SELECT results_eq(
    $$SELECT value, label, leads, speed_to_lead_p50_minutes, contact_rate, first_touch_response_rate, opt_out_rate
        FROM cadence.kpis('segment')$$,
    $$VALUES ('aged', 'aged', 2::bigint, 1.50, 1.0000, 1.0000, 0.0000),
             ('new', 'new', 3, 11.00, 0.6667, 0.5000, 0.5000),
             ('service', 'service', 1, 90.00, 0.0000, 0.0000, 1.0000)$$,
    'kpis by segment');
SELECT results_eq(
    $$SELECT value, label, leads, appointments_set, appointment_set_rate, converted, touches_to_conversion
        FROM cadence.kpis('version')$$,
    $$VALUES ('kpi-hot@1', 'Hot week', 2::bigint, 1::bigint, 0.5000, 1::bigint, 3.00),
             ('kpi-warm@1', 'Warm month', 4, 1, 0.5000, 1, 1.00)$$,
    'kpis by the cadence version the leads entered on');
SELECT results_eq(
    $$SELECT value, label, leads, speed_to_contact_p50_minutes FROM cadence.kpis('rep')$$,
    format($$VALUES (%s::text, 'Amy Lund', 1::bigint, 2.00), (%s::text, 'Bo Reyes', 1, 20.00), (NULL, NULL, 4, 33.00)$$,
           :amy, :bo),
    'kpis by rep: the owner, else the rep who worked the lead first');
SELECT results_eq(
    $$SELECT value, label, leads, first_touched FROM cadence.kpis('week')$$,
    $$VALUES ('2026-03-02', '2026-W10', 5::bigint, 5::bigint), ('2026-03-09', '2026-W11', 1, 0)$$,
    'kpis by week of creation (UTC, weeks from Monday)');
SELECT results_eq(
    $$SELECT value, leads, speed_to_lead_p50_minutes, speed_to_lead_met FROM cadence.kpis('tier')$$,
    $$VALUES ('cold', 1::bigint, NULL::numeric, NULL::boolean), ('hot', 2, 11.00, false),
             ('moderate', 1, 90.00, false), ('warm', 2, 1.50, true)$$,
    'kpis by tier: the 5-minute goal judged for hot leads alone');
SELECT results_eq(
    $$SELECT value, leads, sold, sold_rate FROM cadence.kpis('source')$$,
    $$VALUES ('phone', 1::bigint, 1::bigint, 1.0000), ('web', 5, 0, 0.0000)$$,
    'kpis by lead source');
SELECT results_eq(
    $$SELECT dimension, value, leads, first_touched, contacted_within_1_hour FROM cadence.kpis('tenant', '2026-03-03', '2026-03-04')$$,
    $$VALUES ('tenant', '1', 2::bigint, 2::bigint, 2::bigint)$$,
    'kpis for the leads created in a window [created_from, created_to)');
SELECT is((SELECT count(*) FROM cadence.kpis('cadence', '2026-03-10', NULL)), 0::bigint,
          'no leads created after the window start: no rows');

-- cadence.step_funnel per version, step and variant.
SELECT results_eq(
    $$SELECT cadence_key, version, step_no, variant, channels, planned, pending, sent, failed, answered,
             opened, clicked, replied, opted_out
        FROM cadence.step_funnel ORDER BY cadence_key, step_no, variant$$,
    $$VALUES ('kpi-hot', 1, 1, 0, '{call}'::text[], 2::bigint, 0::bigint, 2::bigint, 0::bigint, 1::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint),
             ('kpi-hot', 1, 2, 0, '{sms}', 2, 0, 2, 0, 0, 0, 0, 0, 1),
             ('kpi-hot', 1, 3, 0, '{email}', 1, 0, 1, 0, 0, 1, 1, 0, 0),
             ('kpi-hot', 1, 3, 1, '{email}', 1, 0, 1, 0, 0, 0, 0, 0, 0),
             ('kpi-warm', 1, 1, 0, '{email}', 4, 0, 3, 0, 0, 0, 0, 1, 0),
             ('kpi-warm', 1, 2, 0, '{sms}', 4, 1, 1, 0, 0, 0, 0, 0, 1)$$,
    'step_funnel: planned, pending, sent, answered, and opens, clicks, replies, opt-outs credited to touches');
SELECT results_eq(
    $$SELECT cadence_key, step_no, variant, deferred, deferred_quiet_hours, deferred_call_spacing, deferred_call_cap,
             skipped, skip_reasons, cancelled, cancel_reasons, held, hold_reasons
        FROM cadence.step_funnel WHERE cadence_key = 'kpi-warm' ORDER BY step_no$$,
    $$VALUES ('kpi-warm', 1, 0, 0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint, '{}'::jsonb, 0::bigint, '{}'::jsonb,
              1::bigint, '{"missing_merge_field:first_name": 1}'::jsonb),
             ('kpi-warm', 2, 0, 1, 1, 0, 0, 1, '{"no_sms_consent": 1}', 1, '{"handed_off:email_reply": 1}', 0, '{}')$$,
    'step_funnel: deferred by reason, skipped, cancelled and held with their reasons counted');
SELECT results_eq(
    $$SELECT step_no, variant, open_rate, click_rate, reply_rate FROM cadence.step_funnel
       WHERE cadence_key = 'kpi-hot' AND step_no = 3 OR cadence_key = 'kpi-warm' AND step_no = 1 ORDER BY cadence_key, step_no, variant$$,
    $$VALUES (3, 0, 1.0000, 1.0000, 0.0000), (3, 1, 0.0000, 0.0000, 0.0000), (1, 0, 0.0000, 0.0000, 0.3333)$$,
    'step_funnel: rates per touch sent');

-- cadence.adherence: minutes after the plan (and after the due time).
--   call 2, 20: p50 11, p90 18.2, p99 19.82; warm email 1, 2, 90: p50 2,
--   p90 2 + 0.8 * 88 = 72.4, p99 2 + 0.98 * 88 = 88.24; K-F's text 780
--   minutes after its plan, 0 after its deferred due time.
SELECT results_eq(
    $$SELECT cadence_key, version, channel, attempts, deferred, on_time, on_time_rate,
             late_p50_minutes, late_p90_minutes, late_p99_minutes, send_delay_p50_minutes, late_max_minutes
        FROM cadence.adherence ORDER BY cadence_key, channel$$,
    $$VALUES ('kpi-hot', 1, 'call', 2::bigint, 0::bigint, 1::bigint, 0.5000, 11.00, 18.20, 19.82, 11.00, 20.00),
             ('kpi-hot', 1, 'email', 2, 0, 2, 1.0000, 0.50, 0.90, 0.99, 0.50, 1.00),
             ('kpi-hot', 1, 'sms', 2, 0, 1, 0.5000, 8.50, 14.50, 15.85, 8.50, 16.00),
             ('kpi-warm', 1, 'email', 3, 0, 2, 0.6667, 2.00, 72.40, 88.24, 2.00, 90.00),
             ('kpi-warm', 1, 'sms', 1, 1, 1, 1.0000, 780.00, 780.00, 780.00, 0.00, 780.00)$$,
    'adherence: lateness percentiles against the plan and the due time, per version and channel');

-- cadence.escalation_latency against the 5-minute rule.
SELECT results_eq(
    $$SELECT reason, alerts, contacted, contacted_within_5_minutes, within_5_minutes_rate, escalated,
             closed_without_contact, still_open, escalation_p50_minutes, contact_p50_minutes, contact_p90_minutes, goal, met
        FROM cadence.escalation_latency ORDER BY reason$$,
    $$VALUES ('email_reply', 1::bigint, 1::bigint, 1::bigint, 1.0000, 0::bigint, 0::bigint, 0::bigint, NULL::numeric, 3.00, 3.00, '< 5 minutes', true),
             ('new_hot_lead', 2, 2, 1, 0.5000, 1, 0, 0, 5.00, 11.00, 18.20, '< 5 minutes', false),
             ('trade_value_request', 1, 0, 0, 0.0000, 1, 0, 1, 5.00, NULL, NULL, '< 5 minutes', false)$$,
    'escalation_latency: signal to human contact per reason, escalations, and the 5-minute verdict');
SELECT is((SELECT alert_p90_minutes FROM cadence.escalation_latency WHERE reason = 'email_reply'), 0.00,
          'the reply''s alert was raised at the reply''s own time');

-- cadence.weekly_audit(): the sample is the first per_segment leads of
-- each segment in the order of hashint8extended(lead_id, seed), among the
-- leads on a cadence in the 7 days up to as_of; the same seed gives the
-- same sample.
CREATE TEMP TABLE audit_all AS SELECT * FROM cadence.weekly_audit(25, 1, '2026-03-06 00:00+00');
SELECT results_eq(
    $$SELECT segment, count(*) FROM audit_all GROUP BY segment ORDER BY segment$$,
    $$VALUES ('aged', 2::bigint), ('new', 2), ('service', 1)$$,
    'the audit population: leads on a cadence that week (K-E starts later)');
SELECT results_eq(
    $$SELECT segment, lead_id FROM cadence.weekly_audit(1, 7, '2026-03-06 00:00+00') ORDER BY segment$$,
    $$SELECT DISTINCT ON (segment) segment, lead_id FROM cadence.lead
       WHERE external_id IN ('K-A', 'K-B', 'K-C', 'K-D', 'K-F')
       ORDER BY segment, hashint8extended(lead_id, 7), lead_id$$,
    'one lead per segment: the first by the seeded hash');
SELECT results_eq(
    $$SELECT segment, sample_rank, lead_id FROM cadence.weekly_audit(1, 7, '2026-03-06 00:00+00')$$,
    $$SELECT segment, sample_rank, lead_id FROM cadence.weekly_audit(1, 7, '2026-03-06 00:00+00')$$,
    'the same seed gives the same sample');
SELECT results_eq(
    $$SELECT segment, lead_id FROM cadence.weekly_audit(2, 3, '2026-03-06 00:00+00') ORDER BY segment, sample_rank$$,
    $$SELECT segment, lead_id FROM cadence.lead
       WHERE external_id IN ('K-A', 'K-B', 'K-C', 'K-D', 'K-F')
       ORDER BY segment, hashint8extended(lead_id, 3), lead_id$$,
    'per_segment 2 with another seed: every lead, in that seed''s order');
SELECT results_eq(
    $$SELECT external_id, cadence, enrolled_at, score, tier, touches_due, sent_on_time, sent_late, overdue, not_sent, deferred,
             max_minutes_after_due, timing_score, speed_to_lead_minutes, first_contact_minutes,
             alerts, alerts_contacted_within_5_minutes, alerts_escalated, worst_alert_minutes, escalation_score
        FROM audit_all WHERE external_id = 'K-F'$$,
    $$VALUES ('K-F', 'kpi-warm@1', '2026-03-02 20:00+00'::timestamptz, 30, 'moderate', 2::bigint, 1::bigint, 1::bigint, 0::bigint,
              0::bigint, 1::bigint, 90.00, 0.5000, 90.00, NULL::numeric, 0::bigint, 0::bigint, 0::bigint, NULL::numeric, NULL::numeric)$$,
    'audit of K-F: one touch sent on time, one 90 minutes late; no alerts; score 30 (no fit, no engagement)');
SELECT results_eq(
    $$SELECT external_id, touches_due, sent_on_time, overdue, max_minutes_after_due, timing_score,
             alerts, alerts_contacted_within_5_minutes, alerts_escalated, worst_alert_minutes, escalation_score
        FROM cadence.weekly_audit(25, 1, '2026-03-04 10:30+00') WHERE external_id IN ('K-B', 'K-D') ORDER BY 1$$,
    $$VALUES ('K-B', 3::bigint, 1::bigint, 0::bigint, 20.00, 0.3333, 1::bigint, 0::bigint, 1::bigint, 20.00, 0.0000),
             ('K-D', 2, 1, 1, 30.00, 0.5000, 1, 0, 1, 1410.00, 0.0000)$$,
    'audit as of Wed 10:30: K-B''s call and text went out 20 and 16 minutes after due, its call 20 minutes after its alert; K-D''s text is 30 minutes overdue and its trade-value alert still waits (23.5 hours)');
SELECT results_eq(
    $$SELECT external_id, alerts, alerts_contacted_within_5_minutes, worst_alert_minutes, escalation_score, first_contact_minutes
        FROM cadence.weekly_audit(25, 1, '2026-03-03 10:31+00') WHERE external_id = 'K-C'$$,
    $$VALUES ('K-C', 1::bigint, 0::bigint, 1.00, 0.0000, NULL::numeric)$$,
    'as of 10:31 the reply''s alert had waited a minute and nobody had called yet');
SELECT results_eq(
    $$SELECT external_id, alerts_contacted_within_5_minutes, worst_alert_minutes, escalation_score, first_contact_minutes
        FROM cadence.weekly_audit(25, 1, '2026-03-03 10:40+00') WHERE external_id = 'K-C'$$,
    $$VALUES ('K-C', 1::bigint, 3.00, 1.0000, 33.00)$$,
    'as of 10:40 the rep had answered it within 3 minutes');

-- Row-level security: a reporting role sees its own tenant only.
SELECT cadence.create_tenant('Eastside Motors') AS t2 \gset
SET LOCAL cadence.tenant_id = :'t2';
INSERT INTO cadence.lead (external_id, email, time_zone, segment, created_at)
VALUES ('K-EAST', 'x@example.com', 'America/New_York', 'new', '2026-03-02 12:00+00');
SET LOCAL cadence.tenant_id = '';
SELECT results_eq($$SELECT tenant_id, leads FROM cadence.kpi_summary ORDER BY tenant_id$$,
                  format($$VALUES (1::bigint, 6::bigint), (%s, 1)$$, :t2),
                  'the extension owner sees every tenant, one row each');
SET LOCAL ROLE cadence_reader;
SELECT results_eq($$SELECT tenant_id, leads FROM cadence.kpi_summary$$, $$VALUES (1::bigint, 6::bigint)$$,
                  'cadence_reader sees the default tenant''s figures only');
SELECT is((SELECT count(*) FROM cadence.kpis('segment') WHERE value = 'new'), 1::bigint,
          'kpis() reads as the caller: one row for segment new');
SELECT is((SELECT sum(planned) FROM cadence.step_funnel), 14::numeric, 'step_funnel counts the tenant''s touches');
SET LOCAL cadence.tenant_id = :'t2';
SELECT results_eq($$SELECT tenant_id, tenant, leads, contact_rate FROM cadence.kpi_summary$$,
                  format($$VALUES (%s::bigint, 'Eastside Motors', 1::bigint, 0.0000)$$, :t2),
                  'with cadence.tenant_id set, the other tenant''s figures only');
SELECT is((SELECT count(*) FROM cadence.step_funnel), 0::bigint, 'and none of the first tenant''s steps');
SELECT is((SELECT count(*) FROM cadence.weekly_audit(25, 1, '2026-03-06 00:00+00')), 0::bigint,
          'the audit of a tenant without enrolments is empty');
SET LOCAL cadence.tenant_id = '';
RESET ROLE;

-- A tenant with no leads yet still has its row.
SELECT cadence.create_tenant('Northside Motors') AS t3 \gset
SELECT results_eq(format($$SELECT leads, first_touched, speed_to_lead_p50_minutes, contact_rate, contact_rate_goal, contact_rate_met
                             FROM cadence.kpi_summary WHERE tenant_id = %s$$, :t3),
                  $$VALUES (0::bigint, 0::bigint, NULL::numeric, NULL::numeric, '> 70% within 1 hour', NULL::boolean)$$,
                  'a tenant without leads: zero counts, no rates, goals shown, nothing judged');

-- Bad input: SQLSTATE 22023 naming the field.
SELECT throws_ok($$SELECT * FROM cadence.kpis('colour')$$, '22023',
                 'unknown dimension "colour" in field "group_by"', 'kpis: unknown dimension');
SELECT throws_ok($$SELECT * FROM cadence.kpis(NULL)$$, '22023',
                 'unknown dimension "NULL" in field "group_by"', 'kpis: no dimension');
SELECT throws_like($$SELECT * FROM cadence.kpis('week', '2026-03-09', '2026-03-02')$$,
                   '%(field "created_to")', 'kpis: a window that ends before it starts');
SELECT throws_ok($$SELECT * FROM cadence.kpis('week', '2026-03-09', '2026-03-02')$$, '22023', NULL,
                 'kpis: ... with SQLSTATE 22023');
SELECT throws_ok($$SELECT * FROM cadence.weekly_audit(0)$$, '22023',
                 'per_segment must be between 1 and 1000, not 0 (field "per_segment")', 'weekly_audit: per_segment 0');
SELECT throws_ok($$SELECT * FROM cadence.weekly_audit(1001)$$, '22023',
                 'per_segment must be between 1 and 1000, not 1001 (field "per_segment")', 'weekly_audit: per_segment 1001');
SELECT throws_ok($$SELECT * FROM cadence.weekly_audit(NULL)$$, '22023',
                 'per_segment must be between 1 and 1000, not NULL (field "per_segment")', 'weekly_audit: no per_segment');
SELECT throws_ok($$SELECT * FROM cadence.weekly_audit(25, NULL)$$, '22023',
                 'seed must not be NULL (field "seed")', 'weekly_audit: no seed');
SELECT throws_ok($$SELECT * FROM cadence.weekly_audit(25, 1, NULL)$$, '22023',
                 'as_of must not be NULL (field "as_of")', 'weekly_audit: no as_of');

-- Catalog facts: the views read as the caller, the reporting role may
-- read and call everything here.
SELECT is(array_agg(c.relname::text ORDER BY c.relname)
             FILTER (WHERE 'security_invoker=true' = ANY (coalesce(c.reloptions, '{}'))),
          '{adherence,applied_event,escalation_latency,kpi_scorecard,kpi_summary,lead_milestones,step_funnel}'::text[],
          'every KPI view is security_invoker')
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'v';
SELECT ok(bool_and(has_table_privilege('cadence_reader', c.oid, 'SELECT') AND obj_description(c.oid, 'pg_class') IS NOT NULL),
          'cadence_reader may read every view, and each has a comment')
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'v';
SELECT ok(bool_and(has_function_privilege('cadence_reader', f, 'EXECUTE') AND NOT has_function_privilege('public', f, 'EXECUTE')),
          'cadence_reader may call the KPI functions; PUBLIC may not')
  FROM unnest(ARRAY['cadence.kpis(text, timestamptz, timestamptz)'::regprocedure,
                    'cadence.lead_milestones_between(timestamptz, timestamptz)',
                    'cadence.compare(text, text, text, text, interval, timestamptz)',
                    'cadence.weekly_audit(integer, integer, timestamptz)',
                    'cadence.two_proportion_test(bigint, bigint, bigint, bigint)',
                    'cadence.normal_cdf(double precision)']) AS f;

SELECT * FROM finish();
ROLLBACK;
