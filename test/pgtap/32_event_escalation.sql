-- Escalation between cadences (the seed's engagement-based escalation):
-- warm moves to hot on the 3rd email open within 30 days or on any click,
-- cold moves to warm on any open, click or SMS reply.  At the event that
-- completes the count the old enrolment exits ('escalated', ended at that
-- event), its unsent touches are cancelled, a new enrolment starts on the
-- target's current version at that instant, linked to the old one, and the
-- rule's points are added to the lead's score bonus (the score itself is
-- recomputed from the scoring model and clamped at 100).  Opens before the
-- enrolment or outside the window do not count, a redelivered webhook is
-- one event, a bulk INSERT escalates once, and a rule never moves a lead to
-- a missing cadence or to the one it is on; the first rule that matches wins.
-- Simulated clock: every call passes its time.  Leads are in New York.
BEGIN;
SELECT plan(29);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;
-- Enrolments with the lead's CRM key and the cadence they are on.
CREATE TEMP VIEW lead_enrolment AS
SELECT l.external_id, v.cadence_key, v.version, e.*
  FROM cadence.enrolment e
  JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
  JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id;

INSERT INTO cadence.rep (external_id, name, on_duty) VALUES ('R-IRIS', 'Iris Vale', true);

INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, score_bonus) VALUES
    ('E-THIRD',  'Abel',  'abel@example.com',  '+15555550401', 'America/New_York', 50),
    ('E-NULL',   'Bea',   'bea@example.com',   '+15555550402', 'America/New_York', 0),
    ('E-CLAMP',  'Cai',   'cai@example.com',   '+15555550403', 'America/New_York', 95),
    ('E-BEFORE', 'Dina',  'dina@example.com',  '+15555550404', 'America/New_York', 50),
    ('E-WINDOW', 'Emil',  'emil@example.com',  '+15555550405', 'America/New_York', 50),
    ('E-DUP',    'Fay',   'fay@example.com',   '+15555550406', 'America/New_York', 50),
    ('E-BULK',   'Gus',   'gus@example.com',   '+15555550407', 'America/New_York', 40),
    ('E-COLD',   'Hana',  'hana@example.com',  '+15555550408', 'America/New_York', 10),
    ('E-REPLY',  'Ivo',   'ivo@example.com',   '+15555550409', 'America/New_York', 10),
    ('E-SELF',   'Jude',  'jude@example.com',  '+15555550410', 'America/New_York', 50),
    ('E-GHOST',  'Kai',   'kai@example.com',   '+15555550411', 'America/New_York', 50),
    ('E-ORDER',  'Lena',  'lena@example.com',  '+15555550412', 'America/New_York', 50);
SELECT max(lead_id) FILTER (WHERE external_id = 'E-THIRD')  AS third,
       max(lead_id) FILTER (WHERE external_id = 'E-NULL')   AS nullscore,
       max(lead_id) FILTER (WHERE external_id = 'E-CLAMP')  AS clamp,
       max(lead_id) FILTER (WHERE external_id = 'E-BEFORE') AS before,
       max(lead_id) FILTER (WHERE external_id = 'E-WINDOW') AS win,
       max(lead_id) FILTER (WHERE external_id = 'E-DUP')    AS dup,
       max(lead_id) FILTER (WHERE external_id = 'E-BULK')   AS bulk,
       max(lead_id) FILTER (WHERE external_id = 'E-COLD')   AS cold,
       max(lead_id) FILTER (WHERE external_id = 'E-REPLY')  AS reply,
       max(lead_id) FILTER (WHERE external_id = 'E-SELF')   AS self,
       max(lead_id) FILTER (WHERE external_id = 'E-GHOST')  AS ghost,
       max(lead_id) FILTER (WHERE external_id = 'E-ORDER')  AS ordered
  FROM cadence.lead \gset

-- The seed's hot cadence (call now), defined twice: escalation uses version 2.
SELECT cadence.define_cadence($${
  "key": "esc-hot", "name": "Hot 7-day (first draft)", "tier": "hot",
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Draft", "body": "Draft."}}]}$$) AS v_hot1 \gset
SELECT cadence.define_cadence($${
  "key": "esc-hot", "name": "Hot 7-day", "tier": "hot",
  "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}},
    {"channel": "email", "timing": "+30 minutes", "message": {"subject": "Ready for a test drive", "body": "Photos inside."}}
  ]}$$) AS v_hot2 \gset
-- Warm: 30 days of email; 3 opens within 30 days or any click moves to hot.
SELECT cadence.define_cadence($${
  "key": "esc-warm", "name": "Warm 30-day", "tier": "warm",
  "rules": {"escalate": [
    {"when": {"event": "email_open", "count": 3, "within": "30 days"}, "move_to": "esc-hot", "score": 20},
    {"when": {"event": "email_click"}, "move_to": "esc-hot", "score": 20}]},
  "steps": [
    {"channel": "email", "timing": "immediate", "message": {"subject": "Thanks", "body": "Vehicle details inside."}},
    {"channel": "email", "timing": "+1 day", "message": {"subject": "Financing", "body": "Options inside."}},
    {"channel": "email", "timing": "day 10", "message": {"subject": "New arrivals", "body": "This week."}},
    {"channel": "email", "timing": "day 30", "message": {"subject": "End of month", "body": "Special pricing."}}
  ]}$$) AS v_warm \gset
-- Cold: any open, click or SMS reply moves to warm.
SELECT cadence.define_cadence($${
  "key": "esc-cold", "name": "Cold 90-day", "tier": "cold",
  "rules": {"escalate": [
    {"when": {"event": "email_open"}, "move_to": "esc-warm", "score": 20},
    {"when": {"event": "email_click"}, "move_to": "esc-warm", "score": 20},
    {"when": {"event": "sms_reply"}, "move_to": "esc-warm", "score": 20}]},
  "steps": [
    {"channel": "email", "timing": "week 1", "message": {"subject": "Welcome", "body": "Buying guide inside."}},
    {"channel": "email", "timing": "week 2", "message": {"subject": "New arrivals", "body": "Five picks."}}
  ]}$$) AS v_cold \gset
-- Rules that must not move anyone: to itself, to a cadence that does not exist.
SELECT cadence.define_cadence($${
  "key": "esc-self", "name": "Loops to itself",
  "rules": {"escalate": [{"when": {"event": "email_click"}, "move_to": "esc-self", "score": 20}]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hello."}},
            {"channel": "email", "timing": "+20 days", "message": {"subject": "Hi", "body": "Hello again."}}]}$$) AS v_self \gset
SELECT cadence.define_cadence($${
  "key": "esc-ghost", "name": "Points nowhere",
  "rules": {"escalate": [{"when": {"event": "email_click"}, "move_to": "esc-nowhere", "score": 20}]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hello."}},
            {"channel": "email", "timing": "+20 days", "message": {"subject": "Hi", "body": "Hello again."}}]}$$) AS v_ghost \gset
-- Two rules on the same event: the first one listed wins.
SELECT cadence.define_cadence($${
  "key": "esc-order", "name": "Two rules",
  "rules": {"escalate": [{"when": {"event": "email_click"}, "move_to": "esc-hot", "score": 25},
                         {"when": {"event": "email_click"}, "move_to": "esc-cold", "score": -30}]},
  "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hello."}},
            {"channel": "email", "timing": "+20 days", "message": {"subject": "Hi", "body": "Hello again."}}]}$$) AS v_order \gset

-- Opens recorded before the enrolment began (the CRM imported them).
SELECT cadence.record_event(:before, 'email_open', '2026-04-04 15:00+00') AS ev_pre1 \gset
SELECT cadence.record_event(:before, 'email_open', '2026-04-05 15:00+00') AS ev_pre2 \gset

SELECT count(cadence.enroll(lead_id, 'esc-warm', '2026-04-06 14:00+00')) AS enrolled
  FROM cadence.lead WHERE external_id IN ('E-THIRD', 'E-NULL', 'E-CLAMP', 'E-BEFORE', 'E-WINDOW', 'E-DUP', 'E-BULK') \gset
SELECT cadence.enroll(:cold,    'esc-cold',  '2026-04-06 14:00+00') AS e_cold \gset
SELECT cadence.enroll(:reply,   'esc-cold',  '2026-04-06 14:00+00') AS e_reply \gset
SELECT cadence.enroll(:self,    'esc-self',  '2026-04-06 14:00+00') AS e_self \gset
SELECT cadence.enroll(:ghost,   'esc-ghost', '2026-04-06 14:00+00') AS e_ghost \gset
SELECT cadence.enroll(:ordered, 'esc-order', '2026-04-06 14:00+00') AS e_order \gset
SELECT enrolment_id AS e_third FROM lead_enrolment WHERE external_id = 'E-THIRD' \gset
SELECT lives_ok($$SELECT cadence.tick('2026-04-07 14:00+00')$$, 'tick on April 7 queues the first two warm emails');
-- The first warm email went out.
SELECT outcome AS ignored FROM cadence.complete_touch(
    (SELECT touch_id FROM lead_touch WHERE external_id = 'E-THIRD' AND step_no = 1), 'delivered', '{}', '2026-04-07 14:01+00') \gset

-- ---------------------------------------------------------------------------
-- warm -> hot exactly at the third open.
SELECT cadence.record_event(:third, 'email_open', '2026-04-07 15:00+00') AS ev_o1 \gset
SELECT cadence.record_event(:third, 'email_open', '2026-04-09 16:00+00') AS ev_o2 \gset
SELECT row_eq(
    $$SELECT cadence_key, status, exit_reason, (SELECT score_bonus FROM cadence.lead WHERE external_id = 'E-THIRD')
        FROM lead_enrolment WHERE external_id = 'E-THIRD'$$,
    ROW('esc-warm'::text, 'active'::text, NULL::text, 50),
    'after two opens the lead is still on warm and its score bonus is unchanged');
SELECT cadence.record_event(:third, 'email_open', '2026-04-12 17:30+00') AS ev_o3 \gset
SELECT results_eq(
    $$SELECT cadence_key, cadence_version_id, status, exit_reason, enrolled_at, ended_at, previous_enrolment_id,
             next_step_no, next_due_at
        FROM lead_enrolment WHERE external_id = 'E-THIRD' ORDER BY enrolment_id$$,
    format($$VALUES ('esc-warm', %s::bigint, 'exited', 'escalated', '2026-04-06 14:00+00'::timestamptz,
                     '2026-04-12 17:30+00'::timestamptz, NULL::bigint, 3, NULL::timestamptz),
                    ('esc-hot', %s::bigint, 'active', NULL, '2026-04-12 17:30+00'::timestamptz,
                     NULL::timestamptz, %s::bigint, 1, '2026-04-12 17:30+00'::timestamptz)$$,
           :v_warm, :v_hot2, :e_third),
    'the third open ends warm (escalated, at that open) and starts hot version 2 at that open, linked back, first step due then');
SELECT results_eq(
    $$SELECT step_no, status, status_reason FROM lead_touch WHERE external_id = 'E-THIRD' ORDER BY touch_id$$,
    $$VALUES (1, 'done', NULL::text), (2, 'cancelled', 'escalated')$$,
    'the warm email not yet sent is cancelled (escalated); the delivered one stays done');
SELECT is((SELECT score_bonus FROM cadence.lead WHERE lead_id = :third), 70,
          'the escalation adds its 20 points to the score bonus (50 to 70)');
SELECT row_eq(
    $$SELECT a.reason, a.status, a.created_at, a.escalate_at FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.external_id = 'E-THIRD'$$,
    ROW('new_hot_lead'::text, 'open'::text, '2026-04-12 17:30+00'::timestamptz, '2026-04-12 17:35+00'::timestamptz),
    'starting on the hot cadence raises new_hot_lead at the open''s time');
SELECT lives_ok($$SELECT cadence.tick('2026-04-12 17:30+00')$$, 'tick at the third open');
SELECT row_eq(
    $$SELECT t.channel, t.status, t.planned_at, t.due_at FROM lead_touch t
        JOIN lead_enrolment e ON e.enrolment_id = t.enrolment_id
       WHERE t.external_id = 'E-THIRD' AND e.cadence_key = 'esc-hot' AND t.step_no = 1$$,
    ROW('call'::text, 'queued'::text, '2026-04-12 17:30+00'::timestamptz, '2026-04-12 17:30+00'::timestamptz),
    'the first hot step (the call) is queued for that very moment');
SELECT cadence.record_event(:third, 'email_open', '2026-04-12 18:00+00') AS ev_o4 \gset
SELECT is((SELECT count(*) FROM lead_enrolment WHERE external_id = 'E-THIRD'), 2::bigint,
          'a fourth open on the hot cadence (no rules) moves nothing');

-- A click escalates at once; NULL score counts as 0; the score stops at 100.
SELECT cadence.record_event(:nullscore, 'email_click', '2026-04-08 15:00+00', payload => '{"url": "https://example.com/x"}') AS ev_c1 \gset
SELECT cadence.record_event(:clamp,     'email_click', '2026-04-08 15:00+00') AS ev_c2 \gset
SELECT results_eq(
    $$SELECT external_id, cadence_key, status, enrolled_at FROM lead_enrolment
       WHERE external_id IN ('E-NULL', 'E-CLAMP') ORDER BY external_id, enrolment_id$$,
    $$VALUES ('E-CLAMP', 'esc-warm', 'exited', '2026-04-06 14:00+00'::timestamptz),
             ('E-CLAMP', 'esc-hot',  'active', '2026-04-08 15:00+00'::timestamptz),
             ('E-NULL',  'esc-warm', 'exited', '2026-04-06 14:00+00'::timestamptz),
             ('E-NULL',  'esc-hot',  'active', '2026-04-08 15:00+00'::timestamptz)$$,
    'a single click moves a warm lead to hot');
SELECT results_eq(
    $$SELECT external_id, score_bonus, score FROM cadence.lead WHERE external_id IN ('E-NULL', 'E-CLAMP') ORDER BY external_id$$,
    $$VALUES ('E-CLAMP', 115, 100), ('E-NULL', 20, 58)$$,
    'a click adds 20 to the bonus; the score (base 30 + click 8 + bonus) is clamped at 100');

-- Opens before the enrolment began do not count.
SELECT cadence.record_event(:before, 'email_open', '2026-04-07 15:00+00') AS ev_b1 \gset
SELECT cadence.record_event(:before, 'email_open', '2026-04-08 15:00+00') AS ev_b2 \gset
SELECT row_eq(
    $$SELECT count(*), (SELECT status FROM lead_enrolment WHERE external_id = 'E-BEFORE')
        FROM cadence.event e JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.external_id = 'E-BEFORE' AND e.kind = 'email_open'$$,
    ROW(4::bigint, 'active'::text),
    'four opens, but two before the enrolment: still on warm');
SELECT cadence.record_event(:before, 'email_open', '2026-04-09 15:00+00') AS ev_b3 \gset
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, ended_at FROM lead_enrolment WHERE external_id = 'E-BEFORE' ORDER BY enrolment_id$$,
    $$VALUES ('esc-warm', 'exited', 'escalated', '2026-04-09 15:00+00'::timestamptz),
             ('esc-hot', 'active', NULL, NULL::timestamptz)$$,
    'the third open since the enrolment moves the lead');

-- Opens outside the 30-day window do not count.
SELECT cadence.record_event(:win, 'email_open', '2026-04-06 15:00+00') AS ev_w1 \gset
SELECT cadence.record_event(:win, 'email_open', '2026-04-20 15:00+00') AS ev_w2 \gset
SELECT cadence.record_event(:win, 'email_open', '2026-05-07 15:00+00') AS ev_w3 \gset
SELECT is((SELECT status FROM lead_enrolment WHERE external_id = 'E-WINDOW'), 'active',
          'three opens over 31 days: the first is outside the 30 days before the third, no move');
SELECT cadence.record_event(:win, 'email_open', '2026-05-08 15:00+00') AS ev_w4 \gset
SELECT results_eq(
    $$SELECT cadence_key, status, enrolled_at FROM lead_enrolment WHERE external_id = 'E-WINDOW' ORDER BY enrolment_id$$,
    $$VALUES ('esc-warm', 'exited', '2026-04-06 14:00+00'::timestamptz),
             ('esc-hot', 'active', '2026-05-08 15:00+00'::timestamptz)$$,
    'a fourth open makes three within 30 days (April 20, May 7, May 8): the lead moves');

-- A webhook delivered twice is one open.
SELECT cadence.record_event(:dup, 'email_open', '2026-04-07 15:00+00', source => 'sendgrid', provider_id => 'sg-1') AS ev_d1 \gset
SELECT cadence.record_event(:dup, 'email_open', '2026-04-07 15:00+00', source => 'sendgrid', provider_id => 'sg-1') AS ev_d1b \gset
SELECT cadence.record_event(:dup, 'email_open', '2026-04-08 15:00+00', source => 'sendgrid', provider_id => 'sg-2') AS ev_d2 \gset
SELECT is(:ev_d1b::bigint, :ev_d1::bigint, 'the redelivered open returns the first delivery''s event id');
SELECT row_eq(
    $$SELECT count(*), (SELECT status FROM lead_enrolment WHERE external_id = 'E-DUP')
        FROM cadence.event e JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'E-DUP'$$,
    ROW(2::bigint, 'active'::text),
    'three deliveries, two opens: no escalation yet');
SELECT cadence.record_event(:dup, 'email_open', '2026-04-09 15:00+00', source => 'sendgrid', provider_id => 'sg-3') AS ev_d3 \gset
SELECT results_eq(
    $$SELECT cadence_key, status, enrolled_at FROM lead_enrolment WHERE external_id = 'E-DUP' ORDER BY enrolment_id$$,
    $$VALUES ('esc-warm', 'exited', '2026-04-06 14:00+00'::timestamptz),
             ('esc-hot', 'active', '2026-04-09 15:00+00'::timestamptz)$$,
    'the third distinct open moves the lead');
SELECT is((SELECT score_bonus FROM cadence.lead WHERE lead_id = :dup), 70, 'its score bonus grew once');

-- Three opens in one INSERT escalate once.
INSERT INTO cadence.event (lead_id, kind, occurred_at, source, provider_id) VALUES
    (:bulk, 'email_open', '2026-04-08 15:00+00', 'sendgrid', 'bulk-1'),
    (:bulk, 'email_open', '2026-04-08 15:10+00', 'sendgrid', 'bulk-2'),
    (:bulk, 'email_open', '2026-04-08 15:20+00', 'sendgrid', 'bulk-3');
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at FROM lead_enrolment
       WHERE external_id = 'E-BULK' ORDER BY enrolment_id$$,
    $$VALUES ('esc-warm', 'exited', 'escalated', '2026-04-06 14:00+00'::timestamptz, '2026-04-08 15:20+00'::timestamptz),
             ('esc-hot', 'active', NULL, '2026-04-08 15:20+00'::timestamptz, NULL::timestamptz)$$,
    'a bulk INSERT of three opens moves the lead once, at the newest open');
SELECT row_eq(
    $$SELECT score_bonus, (SELECT count(*) FROM cadence.alert a WHERE a.lead_id = l.lead_id) FROM cadence.lead l
       WHERE external_id = 'E-BULK'$$,
    ROW(60, 1::bigint),
    'the score bonus grew by 20 once and one new_hot_lead alert was raised');

-- cold -> warm on one open, and on an SMS reply.
SELECT cadence.record_event(:cold, 'email_open', '2026-04-13 15:00+00') AS ev_cold \gset
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at, ended_at, next_due_at FROM lead_enrolment
       WHERE external_id = 'E-COLD' ORDER BY enrolment_id$$,
    $$VALUES ('esc-cold', 'exited', 'escalated', '2026-04-06 14:00+00'::timestamptz, '2026-04-13 15:00+00'::timestamptz,
              NULL::timestamptz),
             ('esc-warm', 'active', NULL, '2026-04-13 15:00+00'::timestamptz, NULL::timestamptz,
              '2026-04-13 15:00+00'::timestamptz)$$,
    'one open moves a cold lead to warm at once');
SELECT row_eq(
    $$SELECT score_bonus, (SELECT count(*) FROM cadence.alert a WHERE a.lead_id = l.lead_id) FROM cadence.lead l
       WHERE external_id = 'E-COLD'$$,
    ROW(30, 0::bigint),
    'its score bonus goes from 10 to 30; warm raises no alert');
SELECT cadence.record_event(:reply, 'sms_reply', '2026-04-13 16:00+00', NULL, '{"body": "Yes, still looking"}') AS ev_reply \gset
SELECT results_eq(
    $$SELECT cadence_key, status, exit_reason, enrolled_at FROM lead_enrolment WHERE external_id = 'E-REPLY' ORDER BY enrolment_id$$,
    $$VALUES ('esc-cold', 'exited', 'escalated', '2026-04-06 14:00+00'::timestamptz),
             ('esc-warm', 'active', NULL, '2026-04-13 16:00+00'::timestamptz)$$,
    'an SMS reply moves a cold lead to warm');
SELECT row_eq(
    $$SELECT a.reason, a.created_at FROM cadence.alert a JOIN cadence.lead l USING (tenant_id, lead_id) WHERE l.external_id = 'E-REPLY'$$,
    ROW('sms_reply'::text, '2026-04-13 16:00+00'::timestamptz),
    'and a rep is alerted to the reply');

-- No move to itself or to a cadence that does not exist; the first rule wins.
SELECT cadence.record_event(:self,    'email_click', '2026-04-08 15:00+00') AS ev_self \gset
SELECT cadence.record_event(:ghost,   'email_click', '2026-04-08 15:00+00') AS ev_ghost \gset
SELECT cadence.record_event(:ordered, 'email_click', '2026-04-08 15:00+00') AS ev_order \gset
SELECT results_eq(
    $$SELECT external_id, cadence_key, status, exit_reason FROM lead_enrolment
       WHERE external_id IN ('E-SELF', 'E-GHOST') ORDER BY external_id$$,
    $$VALUES ('E-GHOST', 'esc-ghost', 'active', NULL::text), ('E-SELF', 'esc-self', 'active', NULL)$$,
    'a rule moving to itself or to a missing cadence leaves the lead where it is');
SELECT results_eq(
    $$SELECT external_id, score_bonus FROM cadence.lead WHERE external_id IN ('E-SELF', 'E-GHOST') ORDER BY external_id$$,
    $$VALUES ('E-GHOST', 50), ('E-SELF', 50)$$,
    'and does not change the score bonus');
SELECT results_eq(
    $$SELECT cadence_key, status FROM lead_enrolment WHERE external_id = 'E-ORDER' ORDER BY enrolment_id$$,
    $$VALUES ('esc-order', 'exited'), ('esc-hot', 'active')$$,
    'of two rules on the same click the first one listed moves the lead');
SELECT is((SELECT score_bonus FROM cadence.lead WHERE lead_id = :ordered), 75, 'with that rule''s score only');
SELECT * FROM finish();
ROLLBACK;
