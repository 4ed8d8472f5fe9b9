-- The demo: the dealership playbook run for :leads leads (10,000 by default)
-- over 90 simulated days.  The clock is simulated: every call passes the time it acts at.
--
-- Leads arrive over the first 60 days (70% while the showroom is open, the
-- rest in the evening or at night, in their local time), across four segments,
-- six US time zones and every tier; the tenant auto-enrols them by routing
-- (segment x tier, from their score).  80% gave SMS consent on the form.
-- Customers behave as demo/model.sql describes (seeded: the same seed
-- gives the same numbers).  A simulated sender claims what is due every
-- 20 minutes, and when a lead arrives, and reports outcomes in batches; customers' replies, opens,
-- clicks, appointments, shows, sales and opt-outs come back as events.
\pset footer off
\set QUIET on
SET client_min_messages = warning;
SELECT set_config('demo.seed', :'seed', false) AS seed \gset
CREATE EXTENSION cadence;
\ir model.sql

UPDATE cadence.tenant SET name = 'Lakeside Motors', auto_enroll = true WHERE tenant_id = 1;
SELECT count(*) AS installed FROM cadence.install_playbook('dealership', '2026-03-01 00:00Z') \gset

INSERT INTO cadence.rep (name, phone, email, role, on_duty) VALUES
    ('Dana Ortiz', '+13125550100', 'dana@lakeside.example', 'rep', true),
    ('Marcus Lee', '+13125550101', 'marcus@lakeside.example', 'rep', true),
    ('Priya Nair', '+13125550102', 'priya@lakeside.example', 'rep', true),
    ('Tom Becker', '+13125550103', 'tom@lakeside.example', 'rep', true),
    ('Ana Silva', '+13125550104', 'ana@lakeside.example', 'rep', false),
    ('Grace Kim', '+13125550105', 'grace@lakeside.example', 'manager', true);

-- Consent first (the form's checkbox), then the leads: inserting a lead
-- scores it and, with auto_enroll, enrols it by routing at its created_at.
CREATE TEMP TABLE demo_lead AS
SELECT n,
       -- a day in the first 60, then a moment of the lead's local day: 70% while
       -- the showroom is open (9:00-20:00), the rest in the evening or at night
       ((date '2026-03-01' + floor(60 * pg_temp.roll('arrive' || n))::integer)
        + CASE WHEN pg_temp.roll('open' || n) < 0.7 THEN interval '9 hours' + interval '11 hours' * pg_temp.roll('clock' || n)
               ELSE interval '20 hours' + interval '13 hours' * pg_temp.roll('clock' || n) END)
       AT TIME ZONE (ARRAY['America/New_York', 'America/New_York', 'America/Chicago', 'America/Chicago', 'America/Denver',
                           'America/Phoenix', 'America/Los_Angeles', 'America/Los_Angeles'])[1 + (n % 8)] AS created_at,
       (ARRAY['new_inbound', 'new_inbound', 'new_inbound', 'new_inbound', 'unsold_showroom', 'unsold_showroom',
              'aged_internet', 'aged_internet', 'aged_internet', 'service_defection'])[1 + (n % 10)] AS segment,
       (ARRAY['America/New_York', 'America/New_York', 'America/Chicago', 'America/Chicago', 'America/Denver',
              'America/Phoenix', 'America/Los_Angeles', 'America/Los_Angeles'])[1 + (n % 8)] AS time_zone,
       CASE WHEN pg_temp.roll('inq' || n) < 0.22 THEN (ARRAY['trade_in', 'test_drive', 'financing_preapproved'])[1 + n % 3]
            ELSE 'general' END AS inquiry_type,
       (ARRAY['this_week', 'this_month', 'this_month', '1_3_months', '1_3_months', 'researching', '3_months_plus'])
           [1 + floor(7 * pg_temp.roll('time' || n))::integer] AS timeline
  FROM generate_series(1, :leads) AS n;

INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, segment, source, attributes, created_at)
SELECT 'crm-' || d.n,
       (ARRAY['Sam', 'Alex', 'Jordan', 'Taylor', 'Chris', 'Morgan', 'Riley', 'Casey', 'Jamie', 'Avery'])[1 + d.n % 10],
       (ARRAY['Lopez', 'Nguyen', 'Smith', 'Patel', 'Kim', 'Okafor', 'Garcia', 'Brown'])[1 + d.n % 8],
       'lead' || d.n || '@example.com',
       CASE WHEN d.n % 41 = 0 THEN NULL ELSE '+1312' || lpad((5550000 + d.n)::text, 7, '0') END,
       d.time_zone, d.segment, (ARRAY['website', 'third_party', 'phone', 'walk_in'])[1 + d.n % 4],
       jsonb_build_object('inquiry_type', d.inquiry_type, 'timeline', d.timeline,
                          'vehicle', (ARRAY['2024 Honda CR-V', '2023 Toyota RAV4', '2025 Ford F-150', '2024 Mazda CX-5',
                                            '2022 Subaru Outback', '2025 Kia Telluride'])[1 + d.n % 6]),
       d.created_at
  FROM demo_lead d
 ORDER BY d.created_at;

INSERT INTO cadence.consent (lead_id, channel, action, method, recorded_at, recorded_by)
SELECT l.lead_id, 'sms', 'grant', 'web_form', l.created_at - interval '1 second', 'web form'
  FROM cadence.lead l WHERE pg_temp.roll('consent' || l.lead_id) < 0.8;

-- What customers will do, waiting for its moment; what the sender claims.
-- 3% of leads buy elsewhere during their second month.
CREATE TEMP TABLE pending_event (lead_id bigint, kind text, at timestamptz, touch_id bigint, payload jsonb);
CREATE INDEX ON pending_event (at);
INSERT INTO pending_event
SELECT l.lead_id, 'lost', l.created_at + interval '45 days', NULL, '{}'
  FROM cadence.lead l WHERE pg_temp.roll('lost' || l.lead_id) < 0.03;
-- One step's claimed touches; emptied at every step's commit.
CREATE TEMP TABLE batch (touch_id bigint, lead_id bigint, channel text, tier text, local_hour integer, outcome text)
    ON COMMIT DELETE ROWS;

DO $simulate$
DECLARE
    t       timestamptz := '2026-03-01 00:00Z';
    t_end   timestamptz := '2026-05-30 00:00Z';
    o       record;
    -- when leads arrive, in order, and the next one to come
    arrivals timestamptz[] := ARRAY(SELECT l.created_at FROM cadence.lead l ORDER BY l.created_at);
    next_arrival integer := 1;
BEGIN
    WHILE t < t_end LOOP
        -- customers act when their moment comes (one statement: the trigger applies the set)
        INSERT INTO cadence.event (lead_id, kind, occurred_at, touch_id, payload, source)
        SELECT p.lead_id, p.kind, p.at, p.touch_id, coalesce(p.payload, '{}'), 'demo'
          FROM pending_event p WHERE p.at <= t ORDER BY p.at, p.lead_id, p.kind;
        DELETE FROM pending_event p WHERE p.at <= t;

        PERFORM cadence.tick(t);
        IF extract(hour FROM t) = 8 AND extract(minute FROM t) = 0 THEN
            PERFORM cadence.rescore(t);      -- the nightly decay job
            -- what autovacuum would have done in a real day: fresh statistics,
            -- so that the engine's cached plans are made again for the tables' size
            ANALYZE cadence.lead, cadence.enrolment, cadence.touch, cadence.event, cadence.alert, cadence.consent;
        END IF;

        -- the sender and the reps work what is due
        INSERT INTO batch (touch_id, lead_id, channel, tier, local_hour)
        SELECT c.touch_id, c.lead_id, c.channel, coalesce(l.tier, 'cold'),
               extract(hour FROM t AT TIME ZONE l.time_zone)::integer
          FROM cadence.claim_touches(ARRAY['call', 'sms', 'email', 'video'], 'demo-sender', 5000, '20 minutes', t) c
          JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = c.lead_id;
        UPDATE batch b SET outcome = CASE
            WHEN b.channel = 'call' AND pg_temp.roll('ans' || b.touch_id)
                 < (CASE WHEN b.local_hour BETWEEN 9 AND 10 OR b.local_hour BETWEEN 16 AND 17 THEN 0.35 ELSE 0.20 END)
                   * pg_temp.tier_factor(b.tier, 1.3, 1.0, 0.8, 0.6) THEN 'answered'
            WHEN b.channel = 'call' THEN 'no_answer'
            WHEN b.channel IN ('video', 'linkedin', 'task') THEN 'completed'
            WHEN b.channel = 'voicemail' THEN 'voicemail'
            ELSE 'sent' END;
        FOR o IN SELECT b.outcome, array_agg(b.touch_id) AS ids FROM batch b GROUP BY b.outcome LOOP
            PERFORM count(*) FROM cadence.complete_touches(o.ids, o.outcome, '{}', t);
        END LOOP;

        INSERT INTO pending_event
        SELECT b.lead_id, x.kind, t + x.after, NULL::bigint, '{}'::jsonb
          FROM batch b
         CROSS JOIN LATERAL (VALUES ('appointment_set', interval '3 minutes', true),
                                    -- 70% come to the appointment two days later; 35% of them buy the next day
                                    ('appointment_show', interval '2 days', pg_temp.roll('show' || b.touch_id) < 0.70),
                                    ('sold', interval '3 days', pg_temp.roll('show' || b.touch_id) < 0.70
                                                                AND pg_temp.roll('sold' || b.touch_id) < 0.35)) AS x(kind, after, happens)
         WHERE b.outcome = 'answered' AND x.happens
           AND pg_temp.roll('appt' || b.touch_id) < pg_temp.tier_factor(b.tier, 0.30, 0.18, 0.10, 0.05)
        UNION ALL
        SELECT b.lead_id, 'sms_reply', t + interval '25 minutes', b.touch_id,
               jsonb_build_object('body', 'Yes, still interested. Could I come Saturday?') FROM batch b
         WHERE b.channel = 'sms' AND pg_temp.roll('reply' || b.touch_id) < pg_temp.tier_factor(b.tier, 0.25, 0.15, 0.12, 0.08)
        UNION ALL
        SELECT b.lead_id, 'sms_reply', t + interval '7 minutes', b.touch_id, '{"body": "STOP"}'::jsonb FROM batch b
         WHERE b.channel = 'sms' AND pg_temp.roll('stop' || b.touch_id) < 0.025
        UNION ALL
        SELECT b.lead_id, 'email_open', t + interval '1 hour', b.touch_id, '{}'::jsonb FROM batch b
         WHERE b.channel = 'email' AND pg_temp.roll('open' || b.touch_id) < pg_temp.tier_factor(b.tier, 0.55, 0.45, 0.40, 0.30)
        UNION ALL
        SELECT b.lead_id, 'email_click', t + interval '65 minutes', b.touch_id, '{}'::jsonb FROM batch b
         WHERE b.channel = 'email' AND pg_temp.roll('click' || b.touch_id) < 0.08;
        -- a rep answers a reply within minutes most of the time
        INSERT INTO pending_event
        SELECT p.lead_id, 'rep_contact', p.at + interval '3 minutes', NULL::bigint, '{}'::jsonb FROM pending_event p
         WHERE p.kind = 'sms_reply' AND p.payload ->> 'body' <> 'STOP' AND p.at > t
           AND pg_temp.roll('contact' || p.lead_id || p.at) < 0.85;

        -- the next moment: 20 minutes on, or sooner when a lead arrives (a real
        -- worker ticks every second; this keeps speed-to-lead true to that)
        WHILE next_arrival <= cardinality(arrivals) AND arrivals[next_arrival] <= t LOOP
            next_arrival := next_arrival + 1;
        END LOOP;
        t := least(t + interval '20 minutes', arrivals[next_arrival]);
        -- one transaction per tick, as the scheduler does: dead rows can be cleaned up
        COMMIT;
    END LOOP;
END
$simulate$;
\set QUIET off
