-- Event benchmark data for one tenant, set-based: three cadences, reps,
-- :n_leads leads (numbered 1..:n_leads) each in an active warm enrolment
-- with a queued touch, and the email opens they had before the day the
-- benchmark's events happen on.
-- psql variables: :tenant, :n_leads, :day (midnight UTC starting that day),
-- :event_table (where the earlier opens go: cadence.event, or
-- bench.event_plpgsql for the PL/pgSQL comparison).  Runs as the superuser.
--
-- bench-warm is the seed's warm cadence in short: three opens within 30 days
-- or any click move the lead to bench-hot (score +20), 30 days of silence to
-- bench-nurture; replies pause it and hand the lead to a rep, appointments
-- and opt-outs end it (the defaults).  So the events do real work: every
-- engagement restarts the lead's silence, and some escalate, pause or exit.
--
-- Leads: four US time zones, half owned by one of ten on-duty reps (the
-- others' alerts go round robin), scored as they arrive.  Enrolled 2 to 9
-- days before :day; the email of step 5 is queued for the evening of :day,
-- step 6 is next.
-- Earlier opens: one on the day before for six leads in ten, a second one two
-- days before for one lead in ten, whose next open escalates it (three opens
-- within 30 days).  Earlier alerts: see below.
-- (The earlier opens are loaded with triggers and foreign-key checks off:
-- they stand for history, not for work being measured.)

SELECT cadence.set_tenant(:tenant, false) \g /dev/null

SELECT cadence.define_cadence($spec${
  "key": "bench-nurture", "name": "Benchmark: long-term nurture", "tier": "cold",
  "steps": [
    {"channel": "email", "timing": "week 1",
     "message": {"subject": "Here is what to expect", "body": "Hi {{first_name|there}}, here is our buying guide."}},
    {"channel": "email", "timing": "week 4",
     "message": {"subject": "Financing 101", "body": "Hi {{first_name|there}}, how to get the best rate."}}
  ],
  "rules": {"escalate": [{"when": {"event": "email_click"}, "move_to": "bench-warm", "score": 20}]}
}$spec$::jsonb) \g /dev/null

SELECT cadence.define_cadence($spec${
  "key": "bench-hot", "name": "Benchmark: hot lead", "tier": "hot",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the customer}} now."}},
    {"channel": "email", "timing": "+30 minutes",
     "message": {"subject": "Your {{attr.vehicle|vehicle}} is ready", "body": "Hi {{first_name|there}}, pick a time for a test drive."}},
    {"channel": "call", "timing": "day 2", "window": "morning", "message": {"body": "Offer two appointment times."}}
  ],
  "rules": {"on_silence": {"after": "7 days", "move_to": "bench-warm"}}
}$spec$::jsonb) \g /dev/null

SELECT cadence.define_cadence($spec${
  "key": "bench-warm", "name": "Benchmark: warm lead, 30 days", "tier": "warm",
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Thanks for your enquiry", "body": "Hi {{first_name|there}}, the details are below."}},
    {"channel": "email", "timing": "day 2",
     "message": {"subject": "Financing options", "body": "Hi {{first_name|there}}, here are your options."}},
    {"channel": "call", "timing": "day 4", "window": "morning", "message": {"body": "Any questions about the vehicle?"}},
    {"channel": "email", "timing": "day 7",
     "message": {"subject": "Similar vehicles", "body": "Hi {{first_name|there}}, three you might like."}},
    {"channel": "email", "timing": "day 10",
     "message": {"subject": "New arrivals", "body": "Hi {{first_name|there}}, new arrivals this week."}},
    {"channel": "email", "timing": "day 18",
     "message": {"subject": "Pre-approval", "body": "Hi {{first_name|there}}, get pre-approved with no credit impact."}},
    {"channel": "email", "timing": "day 30",
     "message": {"subject": "End of month pricing", "body": "Hi {{first_name|there}}, our end of month offer."}}
  ],
  "rules": {
    "escalate": [{"when": {"event": "email_open", "count": 3, "within": "30 days"}, "move_to": "bench-hot", "score": 20},
                 {"when": {"event": "email_click"}, "move_to": "bench-hot", "score": 20}],
    "on_silence": {"after": "30 days", "move_to": "bench-nurture"}
  }
}$spec$::jsonb) \g /dev/null

INSERT INTO cadence.rep (tenant_id, name, email, phone, role, on_duty)
SELECT :tenant, 'Rep ' || n, 'rep' || n || '@example.com', '+1555010' || lpad(n::text, 4, '0'), 'rep', true
  FROM generate_series(1, 10) AS n;
INSERT INTO cadence.rep (tenant_id, name, email, role, on_duty) VALUES (:tenant, 'Sales Manager', 'manager@example.com', 'manager', true);

-- The leads go in ten thousand at a time: each statement scores its new
-- leads (the lead_arrived trigger), which is slower per lead in larger ones.
SELECT set_config('bench.tenant', :'tenant', false), set_config('bench.n_leads', :'n_leads', false),
       set_config('bench.day', :'day', false) \g /dev/null
DO $load$
DECLARE
    v_tenant  bigint := current_setting('bench.tenant')::bigint;
    v_n       integer := current_setting('bench.n_leads')::integer;
    v_day     timestamptz := current_setting('bench.day')::timestamptz;
    v_reps    bigint[];
BEGIN
    SELECT array_agg(r.rep_id ORDER BY r.rep_id) INTO v_reps FROM cadence.rep r
     WHERE r.tenant_id = v_tenant AND r.role = 'rep';
    FOR v_first IN 1..v_n BY 10000 LOOP
        INSERT INTO cadence.lead (tenant_id, lead_id, external_id, first_name, last_name, email, phone, time_zone,
                                  segment, source, owner_rep_id, score, last_engagement_at, created_at)
        SELECT v_tenant, i, 'E' || i, 'Pat' || i, 'Lee' || i, 'lead' || i || '@example.com',
               '+1555' || lpad((i % 10000000)::text, 7, '0'),
               (ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles'])[1 + i % 4],
               'website', 'web',
               CASE WHEN i % 2 = 0 THEN v_reps[1 + (i / 2) % 10] END,
               60 + i % 20,
               CASE WHEN i % 10 BETWEEN 4 AND 9 THEN v_day - interval '1 day' + (i % 1440) * interval '1 minute' END,
               v_day - interval '10 days'
          FROM generate_series(v_first, least(v_first + 9999, v_n)) AS i;
    END LOOP;
END
$load$;

INSERT INTO cadence.enrolment (tenant_id, lead_id, cadence_version_id, status, enrolled_at, next_step_no, next_due_at,
                               move_due_at, move_to, move_reason)
SELECT :tenant, i, v.cadence_version_id, 'active', x.enrolled_at, 6, x.enrolled_at + interval '17 days',
       greatest(x.enrolled_at, :'day'::timestamptz - interval '1 day') + interval '30 days', 'bench-nurture', 'silence'
  FROM generate_series(1, :n_leads) AS i
 CROSS JOIN (SELECT v.cadence_version_id FROM cadence.cadence c
               JOIN cadence.cadence_version v
                 ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key AND v.version = c.current_version
              WHERE c.tenant_id = :tenant AND c.cadence_key = 'bench-warm') AS v
 CROSS JOIN LATERAL (SELECT :'day'::timestamptz - (2 + i % 8) * interval '1 day' - (i % 600) * interval '1 minute'
                     AS enrolled_at) AS x;

INSERT INTO cadence.touch (tenant_id, lead_id, enrolment_id, step_no, channel, planned_at, due_at, status,
                           subject, body, created_at)
SELECT e.tenant_id, e.lead_id, e.enrolment_id, 5, 'email', :'day'::timestamptz + interval '23 hours',
       :'day'::timestamptz + interval '23 hours', 'queued', 'New arrivals',
       'Hi Pat' || e.lead_id || ', new arrivals this week.', :'day'::timestamptz - interval '1 day'
  FROM cadence.enrolment e
 WHERE e.tenant_id = :tenant;

-- The alerts of the days before (a reply, or a trade-in request): one lead
-- in three had one, and a rep reached the lead within the quarter of an
-- hour; one lead in twenty has one that nobody answered, which went to the
-- manager, where it still is.  (A tenant with leads this far into a
-- cadence has alerts, and the statistics should say so: planned against an
-- empty alert table, the statements that look up a lead's open alerts
-- would read all of the tenant's instead, until autovacuum analyzes the
-- table again.)
INSERT INTO cadence.alert (tenant_id, lead_id, enrolment_id, reason, rep_id, status, created_at, escalate_at,
                           escalated_to_rep_id, escalated_at, closed_at, closed_by)
SELECT e.tenant_id, e.lead_id, e.enrolment_id, x.reason, r.reps[1 + e.lead_id % 10],
       CASE WHEN x.escalated THEN 'escalated' ELSE 'closed' END,
       x.at, x.at + interval '5 minutes',
       CASE WHEN x.escalated THEN r.manager END, CASE WHEN x.escalated THEN x.at + interval '5 minutes' END,
       CASE WHEN NOT x.escalated THEN x.at + interval '15 minutes' END,
       CASE WHEN NOT x.escalated THEN 'event:call_answered' END
  FROM cadence.enrolment e
 CROSS JOIN (SELECT array_agg(p.rep_id ORDER BY p.rep_id) FILTER (WHERE p.role = 'rep') AS reps,
                    min(p.rep_id) FILTER (WHERE p.role = 'manager') AS manager
               FROM cadence.rep p WHERE p.tenant_id = :tenant) AS r
 CROSS JOIN LATERAL (SELECT e.lead_id % 20 = 3 AS escalated,
                            CASE WHEN e.lead_id % 2 = 0 THEN 'trade_value_request' ELSE 'sms_reply' END AS reason,
                            :'day'::timestamptz - interval '2 days' + (e.lead_id % 600) * interval '1 minute' AS at) AS x
 WHERE e.tenant_id = :tenant AND (e.lead_id % 3 = 1 OR e.lead_id % 20 = 3);

SET session_replication_role = replica;
INSERT INTO :event_table (tenant_id, lead_id, kind, occurred_at, payload, source, provider_id, recorded_at)
SELECT :tenant, i, 'email_open', o.at, '{"campaign": "march-offers"}', 'esp', 'before-' || o.n || '-' || i, o.at
  FROM generate_series(1, :n_leads) AS i
 CROSS JOIN LATERAL (VALUES (1, :'day'::timestamptz - interval '1 day' + (i % 1440) * interval '1 minute'),
                            (2, :'day'::timestamptz - interval '2 days' + (i % 1440) * interval '1 minute')) AS o(n, at)
 WHERE (o.n = 1 AND i % 10 BETWEEN 4 AND 9) OR (o.n = 2 AND i % 10 = 9);
RESET session_replication_role;

SELECT cadence.set_tenant(1, false) \g /dev/null
