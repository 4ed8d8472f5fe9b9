-- One event at a time and a batch of events end in the same state.  The
-- trigger reads a statement of one event (what record_event and most
-- webhooks send) by key, and a lead's own columns are then written
-- together with its new score; a statement of several events is read from
-- the transition table and its effects applied set-based.  Both are folded
-- into decisions by the same code (src/event_decide.c).  The day covers the defaults,
-- a cadence's own exit_on, pause_on and hand_off_on lists, the tenant's own
-- kinds, escalation, and a lead with no enrolment.  Two tenants get the same cadences, reps and leads,
-- and the same day of events: Lakeside through record_event, one call per
-- event; Harbor in one INSERT per minute, each minute holding events of
-- different leads.  Leads, enrolments, touches, alerts and consent must
-- then match column for column (ids aside).
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026).
BEGIN;
SELECT plan(8);

CREATE FUNCTION pg_temp.set_up_tenant() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM cadence.define_cadence($${
      "key": "one-hot", "name": "Hot: call now", "tier": "hot",
      "steps": [{"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}},
                {"channel": "sms", "timing": "+1 hour", "message": {"body": "Hi {{first_name|there}}, a good time to talk?"}}]}$$);
    PERFORM cadence.define_cadence($${
      "key": "one-warm", "name": "Warm: email, then text", "tier": "warm",
      "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Your enquiry", "body": "Hi {{first_name|there}}."}},
                {"channel": "sms", "timing": "day 2", "message": {"body": "Hi {{first_name|there}}, any questions?"}},
                {"channel": "email", "timing": "day 5", "message": {"subject": "Still looking?", "body": "Three cars you might like."}}],
      "rules": {"escalate": [{"when": {"event": "email_open", "count": 2, "within": "7 days"}, "move_to": "one-hot", "score": 20},
                             {"when": {"event": "email_click"}, "move_to": "one-hot", "score": 20}],
                "on_silence": {"after": "30 days", "move_to": "one-warm"}}}$$);
    INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-ADA', 'Ada Park', true), ('R-BEN', 'Ben Ruiz', true);
    INSERT INTO cadence.rep (external_id, name, role, on_duty) VALUES ('R-MGR', 'Mo Grant', 'manager', true);
    INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, source, attributes)
    SELECT 'L-' || n, 'Lead' || n, 'lead' || n || '@example.com', '+1555555070' || n, 'America/New_York', 'web',
           jsonb_build_object('inquiry_type', CASE WHEN n % 2 = 0 THEN 'trade_in' ELSE 'general' END)
      FROM generate_series(1, 8) AS n;
    PERFORM cadence.record_consent(l.lead_id, 'sms', 'grant', 'web_form', '2026-04-01 12:00Z')
       FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant();
    PERFORM cadence.enroll(l.lead_id, 'one-warm', '2026-04-01 13:00Z')
       FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant();
    PERFORM cadence.tick('2026-04-01 13:05Z');
    -- A cadence that lists its own exit, pause and hand-off kinds, two
    -- kinds of the tenant's own, and four more leads: two on that cadence,
    -- one never enrolled, one on warm.
    PERFORM cadence.register_event_kind('test_drive_booked', response => true, default_exit => true);
    PERFORM cadence.register_event_kind('brochure_view', preferred_channel => 'email');
    PERFORM cadence.define_cadence($${
      "key": "one-rules", "name": "Own rules", "tier": "warm",
      "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hello", "body": "Hi {{first_name|there}}."}},
                {"channel": "email", "timing": "day 3", "message": {"subject": "Brochure", "body": "Here it is."}}],
      "rules": {"exit_on": ["test_drive_booked", "sold"], "pause_on": ["email_reply"],
                "hand_off_on": ["email_reply", "credit_question"],
                "escalate": [{"when": {"event": "brochure_view", "count": 2}, "move_to": "one-hot", "score": 10}]}}$$);
    INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, source)
    SELECT 'L-' || n, 'Lead' || n, 'lead' || n || '@example.com', '+155555507' || n, 'America/New_York', 'web'
      FROM generate_series(9, 12) AS n;
    PERFORM cadence.enroll(l.lead_id, CASE WHEN l.external_id = 'L-12' THEN 'one-warm' ELSE 'one-rules' END,
                           '2026-04-01 13:10Z')
       FROM cadence.lead l
      WHERE l.tenant_id = cadence.current_tenant() AND l.external_id IN ('L-9', 'L-10', 'L-12');
    PERFORM cadence.tick('2026-04-01 13:15Z');
END
$fn$;

-- The day's events: at each minute, at most one event per lead.  (Within
-- one statement the reps' turns go to the alerts of the batch's moves
-- before those of its hand-offs, and one at a time they go in event order,
-- so no minute here holds a move that alerts and a hand-off of another
-- lead.)
CREATE TEMP TABLE day_events (at timestamptz, lead text, kind text, body text);
INSERT INTO day_events VALUES
    ('2026-04-01 14:00Z', 'L-1', 'email_open', NULL),
    ('2026-04-01 14:00Z', 'L-3', 'sms_reply', 'Saturday works'),
    ('2026-04-01 14:00Z', 'L-4', 'trade_value_request', NULL),
    ('2026-04-01 14:01Z', 'L-1', 'email_open', NULL),
    ('2026-04-01 14:01Z', 'L-5', 'sms_reply', 'STOP'),
    ('2026-04-01 14:01Z', 'L-6', 'unsubscribe', NULL),
    ('2026-04-01 14:01Z', 'L-3', 'call_answered', NULL),
    ('2026-04-01 14:02Z', 'L-2', 'email_click', NULL),
    ('2026-04-01 14:02Z', 'L-7', 'appointment_set', NULL),
    ('2026-04-01 14:02Z', 'L-8', 'email_open', NULL),
    ('2026-04-01 14:02Z', 'L-4', 'call_answered', NULL),
    ('2026-04-01 14:03Z', 'L-8', 'email_open', NULL),
    ('2026-04-01 14:03Z', 'L-5', 'email_open', NULL),
    ('2026-04-01 14:03Z', 'L-6', 'email_open', NULL),
    ('2026-04-01 14:04Z', 'L-1', 'email_click', NULL),
    ('2026-04-01 14:04Z', 'L-3', 'email_open', NULL),
    ('2026-04-01 14:05Z', 'L-2', 'sms_reply', 'Call me after 5'),
    ('2026-04-01 14:05Z', 'L-4', 'email_open', NULL),
    ('2026-04-01 14:05Z', 'L-7', 'email_open', NULL),
    -- the cadence's own rules, the tenant's kinds, a lead with no enrolment
    ('2026-04-01 15:00Z', 'L-9', 'sms_reply', 'Sounds good'),
    ('2026-04-01 15:00Z', 'L-10', 'credit_question', NULL),
    ('2026-04-01 15:00Z', 'L-11', 'trade_value_request', NULL),
    ('2026-04-01 15:00Z', 'L-12', 'brochure_view', NULL),
    ('2026-04-01 15:01Z', 'L-9', 'brochure_view', NULL),
    ('2026-04-01 15:01Z', 'L-10', 'email_reply', 'Call me'),
    ('2026-04-01 15:01Z', 'L-11', 'test_drive_booked', NULL),
    ('2026-04-01 15:02Z', 'L-9', 'brochure_view', NULL),
    ('2026-04-01 15:02Z', 'L-12', 'email_open', NULL),
    ('2026-04-01 15:03Z', 'L-10', 'test_drive_booked', NULL),
    ('2026-04-01 15:03Z', 'L-12', 'lost', NULL),
    ('2026-04-01 15:04Z', 'L-10', 'email_reply', 'Thanks'),
    ('2026-04-01 15:04Z', 'L-11', 'email_open', NULL),
    ('2026-04-02 10:00Z', 'L-8', 'email_open', NULL),
    ('2026-04-02 10:00Z', 'L-1', 'email_open', NULL);

-- Everything the events can change, keyed by CRM ids and names.
CREATE FUNCTION pg_temp.state(tenant bigint) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT format('lead %s: score %s tier %s at %s bonus %s response %s engagement %s channel %s opted out %s blocked %s',
                  l.external_id, l.score, l.tier, l.scored_at, l.score_bonus, l.last_response_at,
                  l.last_engagement_at, l.preferred_channel, l.opted_out, l.blocked_channels)
      FROM cadence.lead l WHERE l.tenant_id = tenant
    UNION ALL
    SELECT format('enrolment %s %s: %s %s from %s ended %s paused %s next %s move %s to %s after %s',
                  l.external_id, v.cadence_key, e.status, e.exit_reason, e.enrolled_at, e.ended_at, e.paused_at,
                  e.next_due_at, e.move_due_at, e.move_to, e.previous_enrolment_id IS NOT NULL)
      FROM cadence.enrolment e
      JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
      JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
     WHERE e.tenant_id = tenant
    UNION ALL
    SELECT format('touch %s step %s %s: %s %s due %s', l.external_id, t.step_no, t.channel, t.status, t.status_reason, t.due_at)
      FROM cadence.touch t JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
     WHERE t.tenant_id = tenant
    UNION ALL
    SELECT format('alert %s %s to %s: %s at %s, closed %s by %s', l.external_id, a.reason, r.name, a.status,
                  a.created_at, a.closed_at, a.closed_by)
      FROM cadence.alert a
      JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id
      LEFT JOIN cadence.rep r ON r.tenant_id = a.tenant_id AND r.rep_id = a.rep_id
     WHERE a.tenant_id = tenant
    UNION ALL
    SELECT format('consent %s %s %s by %s at %s', l.external_id, c.channel, c.action, c.method, c.recorded_at)
      FROM cadence.consent c JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = c.lead_id
     WHERE c.tenant_id = tenant
$$;

INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
INSERT INTO cadence.tenant (name) VALUES ('Harbor Motors') RETURNING tenant_id AS harbor \gset

-- Lakeside: one record_event call per event, in order.
SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset
SELECT pg_temp.set_up_tenant() AS set_up \gset
DO $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM day_events ORDER BY at, lead LOOP
        PERFORM cadence.record_event(l.lead_id, d.kind, d.at, NULL,
                                     CASE WHEN d.body IS NULL THEN '{}' ELSE jsonb_build_object('body', d.body) END)
           FROM cadence.lead l
          WHERE l.tenant_id = cadence.current_tenant() AND l.external_id = d.lead;
    END LOOP;
END
$$;
SELECT count(*) AS recorded FROM cadence.event WHERE tenant_id = :lakeside \gset

-- Harbor: one INSERT per minute.
SELECT cadence.set_tenant(:harbor) AS tenant_set \gset
SELECT pg_temp.set_up_tenant() AS set_up \gset
DO $$
DECLARE
    v_at timestamptz;
BEGIN
    FOR v_at IN SELECT DISTINCT at FROM day_events ORDER BY at LOOP
        INSERT INTO cadence.event (lead_id, kind, occurred_at, payload)
        SELECT l.lead_id, d.kind, d.at, CASE WHEN d.body IS NULL THEN '{}' ELSE jsonb_build_object('body', d.body) END
          FROM day_events d
          JOIN cadence.lead l ON l.tenant_id = cadence.current_tenant() AND l.external_id = d.lead
         WHERE d.at = v_at;
    END LOOP;
END
$$;

SELECT is(:recorded::bigint, 34::bigint, 'Lakeside recorded the 34 events one by one');
SELECT is((SELECT count(*) FROM cadence.event WHERE tenant_id = :harbor), 34::bigint,
          'Harbor loaded the same 34 events in 12 statements of 2 to 4 events');

-- The day did real work on both paths.
SELECT ok((SELECT count(*) FILTER (WHERE e.exit_reason = 'escalated') >= 3
                  AND count(*) FILTER (WHERE e.status = 'paused') >= 1
                  AND count(*) FILTER (WHERE e.exit_reason = 'appointment_set') = 1
             FROM cadence.enrolment e WHERE e.tenant_id = :lakeside),
          'Lakeside: leads escalated, paused for a rep and exited on an appointment');
SELECT ok((SELECT count(*) >= 3 FROM cadence.alert WHERE tenant_id = :lakeside)
          AND (SELECT count(*) FILTER (WHERE status = 'closed') >= 1 FROM cadence.alert WHERE tenant_id = :lakeside)
          AND (SELECT count(*) = 2 FROM cadence.consent WHERE tenant_id = :lakeside AND action = 'revoke')
          AND (SELECT count(*) >= 1 FROM cadence.lead WHERE tenant_id = :lakeside AND preferred_channel = 'sms'),
          'Lakeside: alerts raised and closed, two opt-outs, a preferred channel');

SELECT results_eq(
    format($$SELECT l.external_id, v.cadence_key, e.status, e.exit_reason, e.paused_at, e.ended_at
               FROM cadence.enrolment e
               JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
               JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
              WHERE e.tenant_id = %s AND l.external_id IN ('L-9', 'L-10', 'L-12') ORDER BY 1, e.enrolment_id$$, :lakeside),
    $$VALUES ('L-10', 'one-rules', 'exited', 'test_drive_booked', '2026-04-01 15:01Z'::timestamptz, '2026-04-01 15:03Z'::timestamptz),
             ('L-12', 'one-warm', 'exited', 'lost', NULL, '2026-04-01 15:03Z'),
             ('L-9', 'one-rules', 'exited', 'escalated', NULL, '2026-04-01 15:02Z'),
             ('L-9', 'one-hot', 'active', NULL, NULL, NULL)$$,
    'Lakeside: the cadence''s own lists pause on an email reply (not a text) and exit on the tenant''s kind; '
    'two brochure views escalate');
SELECT results_eq(
    format($$SELECT l.external_id, a.reason, a.status, a.created_at, a.closed_by
               FROM cadence.alert a JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id
              WHERE a.tenant_id = %s AND l.external_id IN ('L-9', 'L-10', 'L-11', 'L-12') ORDER BY 1, a.alert_id$$, :lakeside),
    $$VALUES ('L-10', 'credit_question', 'closed', '2026-04-01 15:00Z'::timestamptz, 'event:test_drive_booked'),
             ('L-10', 'email_reply', 'closed', '2026-04-01 15:01Z', 'event:test_drive_booked'),
             ('L-10', 'email_reply', 'open', '2026-04-01 15:04Z', NULL),
             ('L-11', 'trade_value_request', 'closed', '2026-04-01 15:00Z', 'event:test_drive_booked'),
             ('L-9', 'new_hot_lead', 'open', '2026-04-01 15:02Z', NULL)$$,
    'Lakeside: hand-offs by the cadence''s list, by default without an enrolment, closed by an exit');

SELECT bag_eq(format('SELECT * FROM pg_temp.state(%s)', :lakeside),
              format('SELECT * FROM pg_temp.state(%s)', :harbor),
              'leads, enrolments, touches, alerts and consent match between the two paths');

-- And the same holds after the next tick acts on them.
SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset
SELECT cadence.tick('2026-04-01 14:30Z') AS ticked \gset
SELECT cadence.set_tenant(:harbor) AS tenant_set \gset
SELECT cadence.tick('2026-04-01 14:30Z') AS ticked \gset
SELECT bag_eq(format('SELECT * FROM pg_temp.state(%s)', :lakeside),
              format('SELECT * FROM pg_temp.state(%s)', :harbor),
              'and still match after a tick');

SELECT * FROM finish();
ROLLBACK;
