-- An alert nobody acted on when the tenant has no active manager, on a
-- simulated clock.  The seed wants a manager alerted after 5 minutes
-- without contact; with nobody to pass it to, the alert must not be marked
-- escalated (to nobody): it stays open, unescalated, marked no_manager_at
-- by the tick that found nobody, and cadence.escalation_latency counts it
-- as awaiting a manager.  A later tick passes it to the first manager the
-- tenant gets; a person reaching the lead meanwhile closes it as usual.
-- Times UTC; the leads are in New York (EDT in April 2026).
BEGIN;
SELECT plan(16);
-- The tick's plans, made at its first call in this session, read the
-- indexes as on tables of any size, whatever statistics earlier tests left.
SET LOCAL enable_seqscan = off;

INSERT INTO cadence.tenant (name) VALUES ('Solo Motors') RETURNING tenant_id AS solo \gset
SELECT cadence.set_tenant(:solo) AS acting \gset
-- one on-duty rep; the only manager has left (inactive)
INSERT INTO cadence.rep (external_id, name, role, on_duty, active) VALUES
    ('M-GONE', 'Gail Ross', 'manager', true, false),
    ('R-DANA', 'Dana Ortiz', 'rep', true, true);
SELECT cadence.define_cadence($${
  "key": "solo-hot", "name": "Hot lead", "tier": "hot",
  "steps": [{"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}}]
}$$) AS v_hot \gset
INSERT INTO cadence.lead (external_id, first_name, phone, time_zone) VALUES
    ('NM-WAIT', 'Nora', '+15555550401', 'America/New_York'),
    ('NM-CALLED', 'Omar', '+15555550402', 'America/New_York');
SELECT max(lead_id) FILTER (WHERE external_id = 'NM-WAIT') AS waiting,
       max(lead_id) FILTER (WHERE external_id = 'NM-CALLED') AS called
  FROM cadence.lead \gset

CREATE TEMP VIEW lead_alert AS
SELECT l.external_id, r.external_id AS rep, m.external_id AS manager, a.status, a.created_at, a.escalate_at,
       a.escalated_at, a.no_manager_at, a.closed_at, a.closed_by
  FROM cadence.alert a
  JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id
  LEFT JOIN cadence.rep r ON r.tenant_id = a.tenant_id AND r.rep_id = a.rep_id
  LEFT JOIN cadence.rep m ON m.tenant_id = a.tenant_id AND m.rep_id = a.escalated_to_rep_id;

-- Two new hot leads at 18:00 alert Dana; escalation is due at 18:05.
SELECT count(cadence.enroll(lead_id, 'solo-hot', '2026-04-06 18:00Z')) AS enrolled
  FROM cadence.lead WHERE external_id IN ('NM-WAIT', 'NM-CALLED') \gset
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 18:04:59Z')$$, 'tick one second before escalate_at');
SELECT results_eq(
    $$SELECT external_id, rep, status, escalate_at, no_manager_at FROM lead_alert ORDER BY external_id$$,
    $$VALUES ('NM-CALLED'::text, 'R-DANA'::text, 'open'::text, '2026-04-06 18:05Z'::timestamptz, NULL::timestamptz),
             ('NM-WAIT', 'R-DANA', 'open', '2026-04-06 18:05Z', NULL)$$,
    'both alerts are open with Dana, due for a manager at 18:05');

-- 18:05: nobody to escalate to.
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 18:05Z')$$, 'tick at escalate_at');
SELECT results_eq(
    $$SELECT external_id, status, manager, escalated_at, no_manager_at FROM lead_alert ORDER BY external_id$$,
    $$VALUES ('NM-CALLED'::text, 'open'::text, NULL::text, NULL::timestamptz, '2026-04-06 18:05Z'::timestamptz),
             ('NM-WAIT', 'open', NULL, NULL, '2026-04-06 18:05Z')$$,
    'after 5 minutes with no active manager the alerts stay open, unescalated, marked as awaiting a manager since 18:05');
SELECT results_eq(
    $$SELECT reason, alerts, escalated, still_open, awaiting_manager FROM cadence.escalation_latency$$,
    $$VALUES ('new_hot_lead'::text, 2::bigint, 0::bigint, 2::bigint, 2::bigint)$$,
    'escalation_latency shows both alerts awaiting a manager, none escalated');
-- The scheduler does not wake for them, nor does a tick take them up again.
-- A tick's due check finds nothing due: it looks once at the alerts still
-- to be escalated, reads neither waiting alert (nor their own index, with
-- no manager), and the tick runs none of its statements (the enrolments
-- are read once per due-time index, by the check).  Read from this
-- transaction's statistics of the tables and their indexes.
CREATE FUNCTION pg_temp.reads() RETURNS TABLE (relname name, scans bigint, fetched bigint)
LANGUAGE sql AS $$
    SELECT c.relname, pg_stat_get_xact_numscans(c.oid), pg_stat_get_xact_tuples_fetched(c.oid)
      FROM pg_class c
     WHERE c.oid IN ('cadence.alert'::regclass, 'cadence.enrolment'::regclass)
        OR c.oid IN (SELECT i.indexrelid FROM pg_index i
                      WHERE i.indrelid IN ('cadence.alert'::regclass, 'cadence.enrolment'::regclass))
$$;
CREATE TEMP TABLE reads_before AS SELECT * FROM pg_temp.reads();
SELECT is(cadence.tick_for_tenant(:solo, '2026-04-06 18:10Z'), 0, 'a tick at 18:10 queues nothing');
SELECT results_eq(
    $$SELECT a.relname::text COLLATE "default", a.scans - b.scans, a.fetched - b.fetched
        FROM pg_temp.reads() a JOIN reads_before b USING (relname)
       WHERE a.scans <> b.scans OR a.fetched <> b.fetched ORDER BY 1$$,
    $$VALUES ('alert_to_escalate'::text, 1::bigint, 0::bigint), ('enrolment_due', 1, 0), ('enrolment_move', 1, 0)$$,
    'the due check reads no waiting alert and finds nothing due: the tick stops there');
SELECT is((cadence.tick_tenant(:solo, '2026-04-06 18:10Z')).next_due_at, NULL::timestamptz,
          'nothing falls due for the tenant while it has no manager: the worker does not spin on them');
SELECT is((SELECT array_agg(DISTINCT no_manager_at) FROM cadence.alert), ARRAY['2026-04-06 18:05Z'::timestamptz],
          'a later tick leaves the mark as it was (18:05)');

-- 18:12: Dana reaches Omar; his alert closes as usual.
SELECT cadence.record_event(:called, 'call_answered', '2026-04-06 18:12Z') AS ev_answered \gset
SELECT results_eq(
    $$SELECT status, closed_at, closed_by FROM lead_alert WHERE external_id = 'NM-CALLED'$$,
    $$VALUES ('closed'::text, '2026-04-06 18:12Z'::timestamptz, 'event:call_answered'::text)$$,
    'an answered call closes an alert awaiting a manager');
SELECT is((SELECT awaiting_manager FROM cadence.escalation_latency), 1::bigint, 'one alert still awaits a manager');

-- 18:15: a manager is hired (off duty); the next tick, at 18:20, passes the
-- waiting alert to her.
INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES ('M-LEE', 'Lee Park', 'manager', false);
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 18:20Z')$$, 'tick at 18:20');
SELECT results_eq(
    $$SELECT external_id, status, manager, escalated_at, no_manager_at FROM lead_alert ORDER BY external_id$$,
    $$VALUES ('NM-CALLED'::text, 'closed'::text, NULL::text, NULL::timestamptz, '2026-04-06 18:05Z'::timestamptz),
             ('NM-WAIT', 'escalated', 'M-LEE', '2026-04-06 18:20Z', '2026-04-06 18:05Z')$$,
    'the next tick escalates the waiting alert to the new manager at 18:20, and keeps when it began waiting');
SELECT results_eq(
    $$SELECT alerts, escalated, still_open, awaiting_manager, escalation_p50_minutes FROM cadence.escalation_latency$$,
    $$VALUES (2::bigint, 1::bigint, 1::bigint, 0::bigint, 20.00)$$,
    'escalation_latency: one escalated, 20 minutes after the alert, none awaiting a manager');

-- With a manager, an alert escalates at escalate_at as before.
SELECT cadence.enroll(:called, 'solo-hot', '2026-04-06 19:00Z', replace => true) AS again \gset
SELECT lives_ok($$SELECT cadence.tick('2026-04-06 19:05Z')$$, 'tick at 19:05');
SELECT results_eq(
    $$SELECT status, manager, escalated_at, no_manager_at FROM lead_alert WHERE external_id = 'NM-CALLED' AND created_at = '2026-04-06 19:00Z'$$,
    $$VALUES ('escalated'::text, 'M-LEE'::text, '2026-04-06 19:05Z'::timestamptz, NULL::timestamptz)$$,
    'an alert raised once there is a manager goes to her at escalate_at, never marked');

SELECT * FROM finish();
ROLLBACK;
