-- Ready-made playbooks (cadence.playbooks, cadence.playbook,
-- cadence.install_playbook).  Checked: the list and who may use it; the
-- dealership playbook installs as cadence_admin with every cadence valid and
-- exported back as defined, its 20 routes and its scoring rules; a second
-- install makes version 2 of each cadence, replaces the routes and keeps
-- running enrolments on version 1; the segment scoring and routes send new
-- leads to the intended cadences; the b2b playbook's sequences, break-up and
-- nurture; message quality over every text of both playbooks (one SMS with
-- the opt-out line for long names, subjects under 50, no pressure phrases,
-- ASCII texts, a fallback for every merge field); an unknown name (22023) or
-- a failure half-way installs nothing; and the seed's hot-lead timing for the
-- first three touches on a simulated clock.
BEGIN;
SELECT plan(41);

-- Every message of both playbooks: where it is, its channels, subject, body.
CREATE TEMP TABLE message ON COMMIT DROP AS
WITH c AS (
    SELECT p.name AS playbook, x.spec
      FROM cadence.playbooks() p, jsonb_array_elements(cadence.playbook(p.name) -> 'cadences') x(spec)
), m AS (
    SELECT c.playbook, c.spec ->> 'key' AS cadence_key, format('$.steps[%s]', s.n - 1) AS place,
           s.step -> 'channel' AS channel, s.step -> 'message' AS message
      FROM c, jsonb_array_elements(c.spec -> 'steps') WITH ORDINALITY s(step, n)
    UNION ALL
    SELECT c.playbook, c.spec ->> 'key', '$.rules.break_up', c.spec #> '{rules,break_up,channel}',
           c.spec #> '{rules,break_up,message}'
      FROM c WHERE c.spec -> 'rules' ? 'break_up'
)
SELECT m.playbook, m.cadence_key, m.place || '.message' AS place,
       ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(m.channel) WHEN 'array' THEN m.channel
                                                   ELSE jsonb_build_array(m.channel) END)) AS channels,
       m.message ->> 'subject' AS subject, m.message ->> 'body' AS body
  FROM m
UNION ALL
SELECT m.playbook, m.cadence_key, format('%s.message.variants[%s]', m.place, v.n - 1),
       ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(m.channel) WHEN 'array' THEN m.channel
                                                   ELSE jsonb_build_array(m.channel) END)),
       coalesce(v.x ->> 'subject', m.message ->> 'subject'), v.x ->> 'body'
  FROM m, jsonb_array_elements(m.message -> 'variants') WITH ORDINALITY v(x, n);

-- The list.
SELECT results_eq(
    $$SELECT name, cadences FROM cadence.playbooks()$$,
    $$VALUES ('dealership'::text, ARRAY['hot-7day', 'warm-30day', 'moderate-60day', 'cold-90day', 'long-term-nurture',
                                         'new-inbound', 'unsold-showroom-visitor', 'aged-internet-lead',
                                         'service-defection-risk']),
             ('b2b', ARRAY['b2b-inbound', 'b2b-outbound', 'b2b-nurture'])$$,
    'cadence.playbooks() lists the dealership and b2b playbooks with the cadences each installs');
SELECT is(
    (SELECT count(*)::integer FROM cadence.playbooks() WHERE description LIKE '%cadence%' OR description LIKE '%sequence%'),
    2,
    'each playbook has a description');
SELECT results_eq(
    $$SELECT r.role, has_function_privilege(r.role, 'cadence.playbooks()', 'EXECUTE'),
             has_function_privilege(r.role, 'cadence.playbook(text)', 'EXECUTE'),
             has_function_privilege(r.role, 'cadence.install_playbook(text, timestamptz)', 'EXECUTE')
        FROM unnest(ARRAY['public', 'cadence_reader', 'cadence_app', 'cadence_admin']) WITH ORDINALITY AS r(role, n)
       ORDER BY r.n$$,
    $$VALUES ('public'::text, false, false, false), ('cadence_reader', true, true, false),
             ('cadence_app', true, true, false), ('cadence_admin', true, true, true)$$,
    'readers may list and read playbooks; only cadence_admin may install one');

-- A dealership of its own; the playbook is installed by the admin role.
INSERT INTO cadence.tenant (name) VALUES ('Riverside Chevrolet Buick') RETURNING tenant_id AS riverside \gset
SELECT cadence.set_tenant(:riverside) AS tenant_set \gset
SET ROLE cadence_admin;
CREATE TEMP TABLE first_install ON COMMIT DROP AS
SELECT * FROM cadence.install_playbook('dealership', '2026-03-01 12:00Z') WITH ORDINALITY AS i(kind, key, version, n);
RESET ROLE;

SELECT results_eq(
    $$SELECT kind, key, version FROM first_install WHERE kind <> 'route' ORDER BY n$$,
    $$VALUES ('cadence'::text, 'hot-7day'::text, 1), ('cadence', 'warm-30day', 1), ('cadence', 'moderate-60day', 1),
             ('cadence', 'cold-90day', 1), ('cadence', 'long-term-nurture', 1), ('cadence', 'new-inbound', 1),
             ('cadence', 'unsold-showroom-visitor', 1), ('cadence', 'aged-internet-lead', 1),
             ('cadence', 'service-defection-risk', 1), ('scoring', 'scoring_model', 1)$$,
    'the dealership playbook installs nine cadences (version 1) and scoring rules (version 1), as cadence_admin');
SELECT results_eq(
    $$SELECT c.cadence_key, c.tier, count(s.*)::integer
        FROM cadence.cadence c
        JOIN cadence.cadence_version v ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key
        JOIN cadence.step s ON s.tenant_id = v.tenant_id AND s.cadence_version_id = v.cadence_version_id
       WHERE c.tenant_id = cadence.current_tenant()
       GROUP BY c.cadence_key, c.tier ORDER BY c.cadence_key$$,
    $$VALUES ('aged-internet-lead'::text, NULL::text, 6), ('cold-90day', 'cold', 7), ('hot-7day', 'hot', 9),
             ('long-term-nurture', 'cold', 6), ('moderate-60day', 'moderate', 9), ('new-inbound', NULL, 8),
             ('service-defection-risk', NULL, 6), ('unsold-showroom-visitor', NULL, 6), ('warm-30day', 'warm', 11)$$,
    'every cadence was validated and compiled, step by step (the seed: 9 hot, 11 warm, 7 cold touches)');
SELECT is_empty(
    $$SELECT x.spec ->> 'key' FROM jsonb_array_elements(cadence.playbook('dealership') -> 'cadences') x(spec)
       WHERE cadence.export_cadence(x.spec ->> 'key') IS DISTINCT FROM x.spec$$,
    'each cadence exports back exactly as the playbook defined it');

-- The seed's hot week, as steps.
SELECT results_eq(
    $$SELECT s.step_no, s.channel_options, s.timing, s.time_window, s.condition
        FROM cadence.step s JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
       WHERE v.tenant_id = cadence.current_tenant() AND v.cadence_key = 'hot-7day' ORDER BY s.step_no$$,
    $$VALUES (1, '{call}'::text[], 'immediate'::text, NULL::text, 'always'::text),
             (2, '{sms}', '+5 minutes', NULL, 'previous_call_unanswered'),
             (3, '{email}', '+30 minutes', NULL, 'no_response'),
             (4, '{call}', 'day 2', 'morning', 'always'),
             (5, '{sms}', 'day 3', 'evening', 'always'),
             (6, '{video}', 'day 4', 'afternoon', 'always'),
             (7, '{email}', 'day 5', 'morning', 'always'),
             (8, '{call}', 'day 6', 'midday', 'always'),
             (9, '{sms}', 'day 7', 'anytime', 'always')$$,
    'hot-7day is the seed''s table: call now, text +5 min, email +30 min, then one touch a day to day 7');
SELECT results_eq(
    $$SELECT cadence_key, rules FROM cadence.cadence_version
       WHERE tenant_id = cadence.current_tenant() AND cadence_key IN ('hot-7day', 'warm-30day', 'cold-90day')
       ORDER BY cadence_key$$,
    $$VALUES ('cold-90day'::text, '{"exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
                                   "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
                                   "escalate": [{"when": {"event": "email_open"}, "move_to": "warm-30day", "score": 20},
                                                {"when": {"event": "email_click"}, "move_to": "warm-30day", "score": 20},
                                                {"when": {"event": "email_reply"}, "move_to": "warm-30day", "score": 20},
                                                {"when": {"event": "sms_reply"}, "move_to": "warm-30day", "score": 20}],
                                   "on_silence": {"after": "90 days", "move_to": "long-term-nurture"}}'::jsonb),
             ('hot-7day', '{"exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
                            "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
                            "on_silence": {"after": "7 days", "move_to": "warm-30day"}}'),
             ('warm-30day', '{"exit_on": ["appointment_set", "appointment_show", "sold", "lost", "opt_out"],
                              "hand_off_on": ["email_reply", "sms_reply", "trade_value_request", "credit_question", "urgent_timeline"],
                              "escalate": [{"when": {"event": "email_open", "count": 3, "within": "30 days"}, "move_to": "hot-7day", "score": 20},
                                           {"when": {"event": "email_click"}, "move_to": "hot-7day", "score": 20}],
                              "on_silence": {"after": "30 days", "move_to": "long-term-nurture"}}')$$,
    'the seed''s exit, hand-off, escalation and silence rules: hot -> warm after 7 days, warm -> hot on 3 opens or a click, cold -> warm on any open, click or reply');
SELECT is_empty(
    $$SELECT p.name, x.spec ->> 'key', t.target
        FROM cadence.playbooks() p, jsonb_array_elements(cadence.playbook(p.name) -> 'cadences') x(spec),
             LATERAL (SELECT x.spec #>> '{rules,on_silence,move_to}' UNION ALL SELECT x.spec #>> '{rules,on_complete,move_to}'
                      UNION ALL SELECT e ->> 'move_to' FROM jsonb_array_elements(x.spec #> '{rules,escalate}') e) t(target)
       WHERE t.target IS NOT NULL
         AND t.target <> ALL (p.cadences)$$,
    'every escalation and silence move of a playbook goes to a cadence the same playbook installs');

SELECT results_eq(
    $$SELECT segment, tier, cadence_key FROM cadence.route WHERE tenant_id = cadence.current_tenant()
       ORDER BY segment, array_position(ARRAY['hot', 'warm', 'moderate', 'cold'], tier)$$,
    $$VALUES ('*'::text, 'hot'::text, 'hot-7day'::text), ('*', 'warm', 'warm-30day'), ('*', 'moderate', 'moderate-60day'),
             ('*', 'cold', 'cold-90day'),
             ('aged_internet', 'hot', 'hot-7day'), ('aged_internet', 'warm', 'aged-internet-lead'),
             ('aged_internet', 'moderate', 'aged-internet-lead'), ('aged_internet', 'cold', 'aged-internet-lead'),
             ('new_inbound', 'hot', 'hot-7day'), ('new_inbound', 'warm', 'warm-30day'),
             ('new_inbound', 'moderate', 'new-inbound'), ('new_inbound', 'cold', 'new-inbound'),
             ('service_defection', 'hot', 'hot-7day'), ('service_defection', 'warm', 'service-defection-risk'),
             ('service_defection', 'moderate', 'service-defection-risk'), ('service_defection', 'cold', 'service-defection-risk'),
             ('unsold_showroom', 'hot', 'hot-7day'), ('unsold_showroom', 'warm', 'unsold-showroom-visitor'),
             ('unsold_showroom', 'moderate', 'unsold-showroom-visitor'), ('unsold_showroom', 'cold', 'unsold-showroom-visitor')$$,
    'routes: hot leads of every segment to hot-7day, the others to their segment''s cadence; * by temperature');
SELECT results_eq(
    $$SELECT version, spec, source FROM cadence.scoring_model WHERE tenant_id = cadence.current_tenant()$$,
    $$SELECT 1, cadence.playbook('dealership') -> 'scoring', 'manual'::text$$,
    'the playbook''s scoring rules are the tenant''s version 1');
SELECT is(
    (SELECT array_agg(r.label ORDER BY r.points) FROM jsonb_to_recordset(cadence.playbook('dealership') #> '{scoring,fit}')
                                                     AS r(label text, field text, points numeric)
      WHERE r.field = 'segment'),
    ARRAY['new inbound inquiry: fresh intent', 'visited the showroom'],
    'the scoring rules add points for a fresh inbound inquiry (+10) and a showroom visit (+20)');
SELECT results_eq(
    $$SELECT as_of, leads_scored FROM cadence.scoring_run WHERE tenant_id = cadence.current_tenant()$$,
    $$VALUES ('2026-03-01 12:00Z'::timestamptz, 0::bigint)$$,
    'installing rescored the tenant''s leads at as_of (none yet)');

-- Installing again: version 2 of every cadence, the same routes (replaced,
-- not duplicated) and version 2 of the scoring rules; a lead already on
-- hot-7day keeps version 1, a new enrolment starts on version 2.  (Omar's
-- enrolment starts in April, so that it stays out of the ticks below.)
INSERT INTO cadence.rep (name, email, phone, on_duty)
VALUES ('Dana Whitfield', 'dana@riverside.example', '+13125550100', true)
RETURNING rep_id AS dana \gset
INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, segment, owner_rep_id,
                          attributes, created_at)
VALUES ('crm-2001', 'Maria', 'Lopez', 'maria.lopez@example.com', '+13125550147', 'America/Chicago', 'new_inbound', :dana,
        '{"vehicle": "2024 Toyota RAV4 XLE", "inquiry_type": "test_drive"}', '2026-03-02 14:50Z')
RETURNING lead_id AS maria \gset
INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, segment, owner_rep_id, created_at)
VALUES ('crm-2002', 'Omar', 'Haddad', 'omar.haddad@example.com', '+13125550148', 'America/Chicago', 'new_inbound', :dana,
        '2026-03-02 14:50Z')
RETURNING lead_id AS omar \gset
SELECT cadence.enroll(:omar, 'hot-7day', '2026-04-01 15:00Z') AS omar_enrolment \gset

SET ROLE cadence_admin;
CREATE TEMP TABLE second_install ON COMMIT DROP AS
SELECT * FROM cadence.install_playbook('dealership', '2026-03-03 12:00Z') WITH ORDINALITY AS i(kind, key, version, n);
RESET ROLE;
SELECT results_eq(
    $$SELECT kind, key, version FROM second_install WHERE kind <> 'route' ORDER BY n$$,
    $$SELECT kind, key, version + 1 FROM first_install WHERE kind <> 'route' ORDER BY n$$,
    'installing again makes version 2 of every cadence and of the scoring rules');
SELECT results_eq(
    $$SELECT kind, key FROM second_install WHERE kind = 'route' ORDER BY n$$,
    $$SELECT kind, key FROM first_install WHERE kind = 'route' ORDER BY n$$,
    'and reports the same 20 routes');
SELECT is(
    (SELECT count(*)::integer FROM cadence.route WHERE tenant_id = :riverside),
    20,
    'the routes were replaced, not added');
SELECT results_eq(
    $$SELECT c.cadence_key, c.current_version, count(v.*)::integer FROM cadence.cadence c
        JOIN cadence.cadence_version v USING (tenant_id, cadence_key)
       WHERE c.tenant_id = cadence.current_tenant() GROUP BY 1, 2 ORDER BY 1$$,
    $$SELECT x.spec ->> 'key', 2, 2 FROM jsonb_array_elements(cadence.playbook('dealership') -> 'cadences') x(spec) ORDER BY 1$$,
    'each cadence now has versions 1 and 2, and 2 is current');
SELECT is(
    (SELECT v.version FROM cadence.enrolment e JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
      WHERE e.enrolment_id = :omar_enrolment AND e.status = 'active'),
    1,
    'a lead enrolled before the second install stays on version 1 of hot-7day');

-- The seed's first hour of a hot lead on a simulated clock.  Maria (Chicago,
-- SMS consent) is enrolled on Tuesday 2026-03-03 at 09:00 CST (15:00Z); the
-- first call goes unanswered.
SELECT cadence.record_consent(:maria, 'sms', 'grant', 'web_form', '2026-03-02 14:50Z') AS consent_id \gset
SELECT cadence.enroll(:maria, 'hot-7day', '2026-03-03 15:00Z') AS maria_enrolment \gset
SELECT is(
    (SELECT v.version FROM cadence.enrolment e JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
      WHERE e.enrolment_id = :maria_enrolment),
    2,
    'a new enrolment starts on version 2');
SELECT is(cadence.tick('2026-03-03 15:00Z'), 1, 'tick at 15:00Z queues the first call');
SELECT cadence.complete_touch(touch_id, 'no_answer', '{}', '2026-03-03 15:02Z') AS done
  FROM cadence.claim_touches(ARRAY['call'], 'dialer', 10, '5 minutes', '2026-03-03 15:00Z') \gset
SELECT is(cadence.tick('2026-03-03 15:05Z'), 1, 'tick at 15:05Z queues the text after the missed call');
SELECT cadence.complete_touch(touch_id, 'sent', '{}', '2026-03-03 15:05Z') AS done
  FROM cadence.claim_touches(ARRAY['sms'], 'texter', 10, '5 minutes', '2026-03-03 15:05Z') \gset
SELECT is(cadence.tick('2026-03-03 15:25Z'), 0, 'nothing more before 15:30Z');
SELECT is(cadence.tick('2026-03-03 15:30Z'), 1, 'tick at 15:30Z queues the email');
SELECT results_eq(
    $$SELECT step_no, channel, planned_at, due_at, assignee_rep_id IS NOT NULL FROM cadence.touch
       WHERE enrolment_id = $$ || :maria_enrolment || $$ ORDER BY step_no$$,
    $$VALUES (1, 'call'::text, '2026-03-03 15:00Z'::timestamptz, '2026-03-03 15:00Z'::timestamptz, true),
             (2, 'sms', '2026-03-03 15:05Z', '2026-03-03 15:05Z', false),
             (3, 'email', '2026-03-03 15:30Z', '2026-03-03 15:30Z', false)$$,
    'the seed''s timing: call at once (a rep task), text 5 minutes later, email 30 minutes later');
SELECT results_eq(
    $$SELECT step_no, subject, body FROM cadence.touch WHERE enrolment_id = $$ || :maria_enrolment || $$ AND step_no < 3$$,
    $$VALUES (1, NULL::text, 'Call Maria within 5 minutes about the 2024 Toyota RAV4 XLE. Confirm it still fits, then offer two times to see it today. No answer: leave a voicemail under 20 seconds with your direct number.'::text),
             (2, NULL, 'Hi Maria, it''s Dana at Riverside Chevrolet Buick. I just called. When could you see the 2024 Toyota RAV4 XLE? Reply STOP to opt out.')$$,
    'the call task and the first text, rendered (the text with the opt-out line)');
SELECT is(
    (SELECT next_due_at FROM cadence.enrolment WHERE enrolment_id = :maria_enrolment),
    '2026-03-04 15:00Z'::timestamptz,
    'then the day 2 morning call, 09:00 CST on Wednesday');

-- Routing and scoring with the playbook: a dealership that enrols new leads
-- as they arrive sends each segment and tier to its cadence.
INSERT INTO cadence.tenant (name, auto_enroll) VALUES ('Harbor Point Motors', true) RETURNING tenant_id AS harbor \gset
SELECT cadence.set_tenant(:harbor) AS tenant_set \gset
SELECT count(*) AS installed FROM cadence.install_playbook('dealership', '2026-03-01 12:00Z') \gset
INSERT INTO cadence.rep (name, on_duty) VALUES ('Lee Carter', true);
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, segment, attributes, created_at) VALUES
    ('hp-1', 'Ana', 'ana@example.com', '+15035550101', 'America/Los_Angeles', 'new_inbound', '{"inquiry_type": "trade_in"}', '2026-03-02 17:00Z'),
    ('hp-2', 'Ben', 'ben@example.com', '+15035550102', 'America/Los_Angeles', 'new_inbound', '{"timeline": "this_month"}', '2026-03-02 17:00Z'),
    ('hp-3', 'Cai', 'cai@example.com', '+15035550103', 'America/Los_Angeles', 'new_inbound', '{}', '2026-03-02 17:00Z'),
    ('hp-4', 'Dee', 'dee@example.com', '+15035550104', 'America/Los_Angeles', 'unsold_showroom', '{}', '2026-03-02 17:00Z'),
    ('hp-5', 'Eli', 'eli@example.com', '+15035550105', 'America/Los_Angeles', 'unsold_showroom', '{"timeline": "this_month"}', '2026-03-02 17:00Z'),
    ('hp-6', 'Fay', 'fay@example.com', '+15035550106', 'America/Los_Angeles', 'aged_internet', '{}', '2026-03-02 17:00Z'),
    ('hp-7', 'Gil', 'gil@example.com', '+15035550107', 'America/Los_Angeles', 'service_defection', '{}', '2026-03-02 17:00Z'),
    ('hp-8', 'Hal', 'hal@example.com', '+15035550108', 'America/Los_Angeles', NULL, '{"timeline": "1_3_months"}', '2026-03-02 17:00Z'),
    ('hp-9', 'Ivy', 'ivy@example.com', '+15035550109', 'America/Los_Angeles', NULL, '{"timeline": "researching"}', '2026-03-02 17:00Z');
SELECT results_eq(
    $$SELECT l.external_id, l.score, l.tier, v.cadence_key, e.enrolled_at
        FROM cadence.lead l
        JOIN cadence.enrolment e USING (tenant_id, lead_id)
        JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
       WHERE l.tenant_id = cadence.current_tenant()
       ORDER BY l.external_id$$,
    $$VALUES ('hp-1'::text, 90, 'hot'::text, 'hot-7day'::text, '2026-03-02 17:00Z'::timestamptz),
             ('hp-2', 75, 'warm', 'warm-30day', '2026-03-02 17:00Z'),
             ('hp-3', 40, 'moderate', 'new-inbound', '2026-03-02 17:00Z'),
             ('hp-4', 50, 'moderate', 'unsold-showroom-visitor', '2026-03-02 17:00Z'),
             ('hp-5', 85, 'hot', 'hot-7day', '2026-03-02 17:00Z'),
             ('hp-6', 30, 'cold', 'aged-internet-lead', '2026-03-02 17:00Z'),
             ('hp-7', 30, 'cold', 'service-defection-risk', '2026-03-02 17:00Z'),
             ('hp-8', 45, 'moderate', 'moderate-60day', '2026-03-02 17:00Z'),
             ('hp-9', 20, 'cold', 'cold-90day', '2026-03-02 17:00Z')$$,
    'new leads are scored by the playbook''s rules and enrolled on the routed cadence of their segment and tier');

-- The b2b playbook.
INSERT INTO cadence.tenant (name) VALUES ('Northwind Software') RETURNING tenant_id AS northwind \gset
SELECT cadence.set_tenant(:northwind) AS tenant_set \gset
SELECT results_eq(
    $$SELECT kind, key, version FROM cadence.install_playbook('b2b', '2026-03-01 12:00Z')$$,
    $$VALUES ('cadence'::text, 'b2b-inbound'::text, 1), ('cadence', 'b2b-outbound', 1), ('cadence', 'b2b-nurture', 1),
             ('route', 'inbound/hot -> b2b-inbound', NULL), ('route', 'inbound/warm -> b2b-inbound', NULL),
             ('route', 'inbound/moderate -> b2b-inbound', NULL), ('route', 'inbound/cold -> b2b-inbound', NULL),
             ('route', 'outbound/hot -> b2b-outbound', NULL), ('route', 'outbound/warm -> b2b-outbound', NULL),
             ('route', 'outbound/moderate -> b2b-outbound', NULL), ('route', 'outbound/cold -> b2b-outbound', NULL),
             ('scoring', 'scoring_model', 1)$$,
    'the b2b playbook installs three cadences, routes for the inbound and outbound segments, and scoring rules');
SELECT is_empty(
    $$SELECT x.spec ->> 'key' FROM jsonb_array_elements(cadence.playbook('b2b') -> 'cadences') x(spec)
       WHERE cadence.export_cadence(x.spec ->> 'key') IS DISTINCT FROM x.spec$$,
    'each b2b cadence exports back exactly as defined');
SELECT results_eq(
    $$SELECT v.cadence_key, count(*)::integer AS touches, count(*) FILTER (WHERE s.is_break_up)::integer AS break_up,
             array_agg(DISTINCT c ORDER BY c) AS channels, v.rules -> 'on_silence'
        FROM cadence.cadence_version v
        JOIN cadence.step s USING (tenant_id, cadence_version_id)
        CROSS JOIN LATERAL unnest(s.channel_options) c
       WHERE v.tenant_id = cadence.current_tenant() AND v.cadence_key IN ('b2b-inbound', 'b2b-outbound')
       GROUP BY v.cadence_key, v.rules ORDER BY 1$$,
    $$VALUES ('b2b-inbound'::text, 9, 1, '{call,email,linkedin}'::text[], '{"after": "24 days", "move_to": "b2b-nurture"}'::jsonb),
             ('b2b-outbound', 8, 1, '{call,email,linkedin}', '{"after": "24 days", "move_to": "b2b-nurture"}')$$,
    'b2b sequences: 9 and 8 touches of email, calls and LinkedIn, the last a break-up email, then b2b-nurture');

-- Message quality over every text of both playbooks.  A lead with long
-- names and no attributes, a rep with a long first name; the worst case of
-- the opt-out line (the first text to a lead).
SELECT cadence.set_tenant(:riverside) AS tenant_set \gset
INSERT INTO cadence.rep (name, email, phone) VALUES ('Christabelle Whitmore', 'cw@example.com', '+13125550199')
RETURNING rep_id AS christabelle \gset
INSERT INTO cadence.lead (external_id, first_name, last_name, email, phone, time_zone, created_at)
VALUES ('crm-long', 'Alexandria-Josephine', 'Montgomery-Fitzgerald', 'alexandria@example.com', '+13125550150',
        'America/Chicago', '2026-03-05 12:00Z')
RETURNING lead_id AS long_lead \gset
CREATE TEMP TABLE merge_context ON COMMIT DROP AS
SELECT 'with rep'::text AS who, cadence.render_context(l, r, t) AS context, t.sms_opt_out_line, t.email_footer
  FROM cadence.lead l, cadence.rep r, cadence.tenant t
 WHERE l.lead_id = :long_lead AND r.rep_id = :christabelle AND t.tenant_id = :riverside
UNION ALL
SELECT 'no rep', cadence.render_context(l, NULL::cadence.rep, t), t.sms_opt_out_line, t.email_footer
  FROM cadence.lead l, cadence.tenant t
 WHERE l.lead_id = :long_lead AND t.tenant_id = :riverside;

SELECT is(
    (SELECT count(*)::integer FROM message m, merge_context x WHERE 'sms' = ANY (m.channels)),
    38,
    'the 19 texts of the playbooks are checked with and without a rep');
SELECT is_empty(
    $$SELECT m.cadence_key, m.place, x.who, length(cadence.with_compliance_text((cadence.render(m.body, x.context)).rendered,
                                                                               'sms', x.email_footer, x.sms_opt_out_line, true))
        FROM message m, merge_context x
       WHERE 'sms' = ANY (m.channels)
         AND coalesce(length(cadence.with_compliance_text((cadence.render(m.body, x.context)).rendered,
                                                          'sms', x.email_footer, x.sms_opt_out_line, true)), 999) > 160$$,
    'every text, rendered for long names and no attributes, fits one SMS (160 characters) with " Reply STOP to opt out."');
SELECT is_empty(
    $$SELECT m.cadence_key, m.place, m.body FROM message m
       WHERE 'sms' = ANY (m.channels) AND m.body !~ '^[ -~]*$'$$,
    'texts use plain ASCII (no character that would force a 70-character SMS encoding)');
SELECT is(
    (SELECT count(*)::integer FROM message WHERE subject IS NOT NULL),
    49,
    'the 49 email subjects are checked');
SELECT is_empty(
    $$SELECT m.cadence_key, m.place, (cadence.render(m.subject, x.context)).rendered
        FROM message m, merge_context x
       WHERE m.subject IS NOT NULL AND coalesce(length((cadence.render(m.subject, x.context)).rendered), 999) >= 50$$,
    'every email subject, rendered for long names and no attributes, is under 50 characters');
SELECT is_empty(
    $$SELECT m.cadence_key, m.place, part
        FROM message m, unnest(ARRAY[m.subject, m.body]) part
       WHERE part ~* '(last chance|another buyer|other buyers|next buyer|act now|\mfree\M|limited[- ]time|hurry|before it''?s gone|don''?t miss|today only|only [0-9]+ left|lock (it|this) in|expires?|!!|just checking in|i know you''re busy)'$$,
    'no pressure phrases (last chance, another buyer, act now, FREE, limited time, hurry, ...) in any of the 92 texts');
SELECT is_empty(
    $$SELECT m.cadence_key, m.place, (cadence.render_touch(m.subject, m.body, '{"dealership": "Riverside Chevrolet Buick"}')).missing
        FROM message m
       WHERE cardinality((cadence.render_touch(m.subject, m.body, '{"dealership": "Riverside Chevrolet Buick"}')).missing) > 0$$,
    'every merge field has a fallback: nothing is held for a lead with no names, attributes or rep');

-- Errors install nothing.
INSERT INTO cadence.tenant (name) VALUES ('Empty Lot Motors') RETURNING tenant_id AS empty_lot \gset
SELECT cadence.set_tenant(:empty_lot) AS tenant_set \gset
SELECT throws_ok(
    $$SELECT * FROM cadence.install_playbook('fleet', '2026-03-01 12:00Z')$$,
    '22023', 'unknown playbook "fleet" in field "name"',
    'an unknown playbook name is an error naming the field');
-- A failure after the cadences are defined (a route refused half-way)
-- leaves nothing behind either.
CREATE FUNCTION pg_temp.refuse_route() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'route for % refused', NEW.segment USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER refuse_route BEFORE INSERT ON cadence.route
    FOR EACH ROW WHEN (NEW.segment = 'service_defection') EXECUTE FUNCTION pg_temp.refuse_route();
SELECT throws_ok(
    $$SELECT * FROM cadence.install_playbook('dealership', '2026-03-01 12:00Z')$$,
    '23514', 'route for service_defection refused',
    'a failure half-way through an install is raised');
DROP TRIGGER refuse_route ON cadence.route;
SELECT results_eq(
    $$SELECT (SELECT count(*) FROM cadence.cadence WHERE tenant_id = cadence.current_tenant()),
             (SELECT count(*) FROM cadence.cadence_version WHERE tenant_id = cadence.current_tenant()),
             (SELECT count(*) FROM cadence.route WHERE tenant_id = cadence.current_tenant()),
             (SELECT count(*) FROM cadence.scoring_model WHERE tenant_id = cadence.current_tenant()),
             (SELECT count(*) FROM cadence.scoring_run WHERE tenant_id = cadence.current_tenant())$$,
    $$VALUES (0::bigint, 0::bigint, 0::bigint, 0::bigint, 0::bigint)$$,
    'after either error the tenant has no cadence, route, scoring rule or scoring run: all or nothing');
SELECT throws_ok(
    $$SELECT * FROM cadence.install_playbook('b2b', NULL)$$,
    '22023', 'as_of must be a finite time (field "as_of")',
    'as_of is required');

SELECT * FROM finish();
ROLLBACK;
