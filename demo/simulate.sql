-- The demo: the seed's hot 7-day and warm 30-day cadences run for 400
-- sample leads over thirty simulated days.  The clock is simulated: every
-- call passes as_of, every event its occurred_at.
--
-- Sample leads: four US time zones, arriving over the first two days at all
-- hours (so some arrive at night and meet quiet hours), 80% with SMS
-- consent, a few without a phone or a vehicle on file.  All start hot; a
-- hot lead silent for 7 days moves to warm, and a warm lead who opens three
-- emails or clicks one moves back to hot (the seeds' rules).
-- Simulated customers (deterministic, from a hash of lead and step):
--   calls are answered 25% of the time, and 30% of answered calls book an
--   appointment (the cadence ends); texts get a reply 12% of the time (the
--   cadence pauses and a rep is alerted; reps log contact within 3 minutes
--   70% of the time, else the alert goes to the manager after 5); 4% of
--   leads text STOP on their third day; emails are opened 45% of the time
--   (an hour later) and clicked 8% of the time.
-- The sender claims every 5 minutes what is due and reports an outcome.
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION cadence;

SELECT cadence.define_cadence(:'hot_doc'::jsonb) AS hot_version_id,
       cadence.define_cadence(:'warm_doc'::jsonb) AS warm_version_id \gset

INSERT INTO cadence.rep (name, phone, email, on_duty, role) VALUES
    ('Dana Ortiz', '+13125550100', 'dana@example.com', true, 'rep'),
    ('Marcus Lee', '+13125550101', 'marcus@example.com', true, 'rep'),
    ('Priya Nair', '+13125550102', 'priya@example.com', true, 'rep'),
    ('Grace Kim', '+13125550103', 'grace@example.com', true, 'manager');
UPDATE cadence.tenant SET name = 'Lakeside Motors' WHERE tenant_id = 1;

INSERT INTO cadence.lead (external_id, first_name, phone, email, time_zone, segment, source, attributes, created_at)
SELECT 'demo-' || n,
       (ARRAY['Sam', 'Alex', 'Jordan', 'Taylor', 'Chris', 'Morgan', 'Riley', 'Casey'])[1 + n % 8],
       CASE WHEN n % 37 = 0 THEN NULL ELSE '+1312555' || lpad(n::text, 4, '0') END,
       'lead' || n || '@example.com',
       (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + n % 4],
       'new_inbound', (ARRAY['website', 'third_party', 'phone'])[1 + n % 3],
       CASE WHEN n % 23 = 0 THEN '{}'::jsonb
            ELSE jsonb_build_object('vehicle', (ARRAY['2024 Honda CR-V', '2023 Toyota RAV4', '2025 Ford F-150', '2024 Mazda CX-5'])[1 + n % 4])
       END,
       timestamptz '2026-03-02 00:00Z' + (n * interval '7 minutes')
  FROM generate_series(1, 400) AS n;

SELECT count(cadence.record_consent(l.lead_id, 'sms', 'grant', 'web_form', l.created_at)) AS sms_consents_recorded
  FROM cadence.lead l WHERE l.lead_id % 5 <> 0;

-- What customers will do, as events waiting for their moment.
CREATE TEMP TABLE pending_event (lead_id bigint, kind text, occurred_at timestamptz, touch_id bigint, payload jsonb);

DO $simulate$
DECLARE
    t       timestamptz := '2026-03-02 00:00Z';
    t_end   timestamptz := '2026-04-01 00:00Z';
    r       record;
    roll    integer;
    outcome text;
BEGIN
    WHILE t < t_end LOOP
        PERFORM cadence.enroll(l.lead_id, 'hot-7day', l.created_at)
           FROM cadence.lead l
          WHERE l.created_at > t - interval '5 minutes' AND l.created_at <= t;

        -- 4% of leads text STOP during their third day
        INSERT INTO pending_event
        SELECT l.lead_id, 'sms_reply', t, NULL, '{"body": "STOP"}'
          FROM cadence.lead l
         WHERE l.lead_id % 25 = 7
           AND l.created_at + interval '2 days' > t - interval '5 minutes'
           AND l.created_at + interval '2 days' <= t;

        -- customers act when their moment comes
        PERFORM cadence.record_event(p.lead_id, p.kind, p.occurred_at, p.touch_id, p.payload, 'demo')
           FROM pending_event p WHERE p.occurred_at <= t ORDER BY p.occurred_at;
        DELETE FROM pending_event p WHERE p.occurred_at <= t;

        PERFORM cadence.tick(t);

        FOR r IN SELECT * FROM cadence.claim_touches(ARRAY['call', 'sms', 'email', 'video'], 'demo-sender', 1000,
                                                     '10 minutes', t)
        LOOP
            roll := abs(hashtext(r.lead_id || ':' || r.step_no || ':' || r.enrolment_id)) % 100;
            outcome := CASE
                WHEN r.channel = 'call' AND roll < 25 THEN 'answered'
                WHEN r.channel = 'call' THEN 'no_answer'
                WHEN r.channel = 'video' THEN 'completed'
                ELSE 'sent'
            END;
            PERFORM cadence.complete_touch(r.touch_id, outcome, '{}', t);
            IF r.channel = 'call' AND roll < 8 THEN
                INSERT INTO pending_event VALUES (r.lead_id, 'appointment_set', t + interval '2 minutes', NULL, '{}');
            ELSIF r.channel = 'sms' AND roll >= 88 THEN
                INSERT INTO pending_event VALUES (r.lead_id, 'sms_reply', t + interval '20 minutes', r.touch_id,
                                                  '{"body": "Could I come by Saturday morning?"}');
                -- a rep answers within 3 minutes, most of the time
                IF roll < 97 THEN
                    INSERT INTO pending_event VALUES (r.lead_id, 'rep_contact', t + interval '23 minutes', NULL, '{}');
                END IF;
            ELSIF r.channel = 'email' AND roll < 45 THEN
                INSERT INTO pending_event VALUES (r.lead_id, 'email_open', t + interval '1 hour', r.touch_id, '{}');
                IF roll < 8 THEN
                    INSERT INTO pending_event VALUES (r.lead_id, 'email_click', t + interval '65 minutes', r.touch_id, '{}');
                END IF;
            END IF;
        END LOOP;
        t := t + interval '5 minutes';
    END LOOP;
END
$simulate$;

\echo
\echo '== Touches per day (UTC) and channel =='
SELECT to_char(date_trunc('day', t.due_at AT TIME ZONE 'UTC'), 'Dy DD Mon') AS day,
       count(*) FILTER (WHERE t.channel = 'call')  AS call,
       count(*) FILTER (WHERE t.channel = 'sms')   AS sms,
       count(*) FILTER (WHERE t.channel = 'email') AS email,
       count(*) FILTER (WHERE t.channel = 'video') AS video,
       count(*) AS total,
       count(*) FILTER (WHERE cardinality(t.defer_reasons) > 0) AS deferred
  FROM cadence.touch t
 WHERE t.status IN ('done', 'failed', 'claimed', 'queued')
 GROUP BY 1, date_trunc('day', t.due_at AT TIME ZONE 'UTC')
 ORDER BY date_trunc('day', t.due_at AT TIME ZONE 'UTC');

\echo '== Deferred touches and why (moved later, never dropped) =='
SELECT t.channel, array_to_string(t.defer_reasons, ' + ') AS reason, count(*) AS touches,
       to_char(avg(t.due_at - t.planned_at), 'HH24"h"MI"m"') AS average_delay
  FROM cadence.touch t
 WHERE cardinality(t.defer_reasons) > 0
 GROUP BY 1, 2 ORDER BY 3 DESC;

\echo '== Steps not sent, and why =='
SELECT t.status, t.status_reason, t.channel, count(*) AS touches
  FROM cadence.touch t
 WHERE t.status IN ('skipped', 'cancelled', 'held')
 GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3;

\echo '== Outcomes of what was sent =='
SELECT t.channel, t.outcome, count(*) AS touches
  FROM cadence.touch t
 WHERE t.status IN ('done', 'failed')
 GROUP BY 1, 2 ORDER BY 1, 3 DESC;

\echo '== Enrolments by cadence, and how they ended (escalated and silence are moves between cadences) =='
SELECT v.cadence_key, e.status, coalesce(e.exit_reason, '-') AS exit_reason, count(*) AS enrolments
  FROM cadence.enrolment e JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC;

\echo '== Events recorded, and what they did =='
SELECT e.kind, count(*) AS events FROM cadence.event e GROUP BY 1 ORDER BY 2 DESC, 1;

\echo '== Leads handed to a human (alerts): to whom, and whether a manager had to step in =='
SELECT a.reason, count(*) AS alerts,
       count(*) FILTER (WHERE a.escalated_at IS NOT NULL) AS went_to_manager,
       count(*) FILTER (WHERE a.status = 'closed') AS contact_made,
       round(avg(extract(epoch FROM a.closed_at - a.created_at) / 60)::numeric, 1) AS avg_minutes_to_contact
  FROM cadence.alert a GROUP BY 1 ORDER BY 2 DESC;

\echo '== Quiet hours held: no SMS outside 09:00-20:00 and no call outside 08:00-21:00, lead local time =='
SELECT t.channel, count(*) AS touches_sent,
       count(*) FILTER (WHERE NOT cadence.is_allowed_at(t.completed_at, l.time_zone, c.allowed_from, c.allowed_until))
           AS outside_allowed_hours
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
  JOIN cadence.channel c ON c.channel = t.channel
 WHERE t.status IN ('done', 'failed') AND t.channel IN ('sms', 'call')
 GROUP BY 1 ORDER BY 1;

\echo '== One lead''s month, in its local time (America/Chicago) =='
SELECT t.step_no, t.channel,
       to_char(t.planned_at AT TIME ZONE l.time_zone, 'Dy HH24:MI') AS planned,
       to_char(t.due_at AT TIME ZONE l.time_zone, 'Dy HH24:MI') AS due,
       t.status, coalesce(t.outcome, t.status_reason, '') AS result,
       left(coalesce(t.subject || ' | ', '') || replace(t.body, E'\n', ' '), 70) AS message
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
 WHERE l.external_id = 'demo-81'
 ORDER BY t.touch_id;
