-- define_export: defining a cadence key again makes a new version that new
-- enrolments start on, while an enrolment made earlier keeps its version and
-- keeps getting that version's steps; export_cadence returns exactly the
-- document each version was defined from; and the compiled step rows of a
-- representative document (timing kind, offset, day number, window,
-- weekday bits, condition).

SET client_min_messages = warning;
DROP EXTENSION IF EXISTS cadence CASCADE;
RESET client_min_messages;
CREATE EXTENSION cadence;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';

-- The documents, kept to compare the exports with.
CREATE TEMP TABLE doc (doc_name text PRIMARY KEY, spec jsonb NOT NULL);
INSERT INTO doc VALUES
('warm v1', $${"key": "warm-30day", "name": "Warm lead: 30 days", "tier": "warm",
  "steps": [
    {"name": "intro call", "channel": "task", "timing": "immediate",
     "message": {"body": "V1: call {{first_name|the customer}} about their visit"}},
    {"name": "follow-up", "channel": "task", "timing": "+2 days",
     "message": {"body": "V1: follow up with {{first_name|the customer}}"}}]}$$),
('warm v2', $${"key": "warm-30day", "name": "Warm lead: 30 days (revised)", "segment": "web_inquiry", "tier": "warm",
  "description": "Second version: a video first, then a call on day 5.",
  "steps": [
    {"name": "video intro", "channel": "task", "timing": "immediate",
     "message": {"body": "V2: record a video for {{first_name|the customer}}"}},
    {"name": "check-in", "channel": "task", "timing": "+1 day",
     "message": {"body": "V2: check in with {{first_name|the customer}}"}},
    {"name": "day 5 call", "channel": "task", "timing": "day 5", "window": "morning",
     "message": {"body": "V2: call {{first_name|the customer}}"}}],
  "rules": {"exit_on": ["sold", "lost"], "on_complete": {"move_to": "cold-nurture"}}}$$);

-- Version 1, and a lead enrolled on it.
SELECT cadence.define_cadence(spec) AS cadence_version_id FROM doc WHERE doc_name = 'warm v1';
INSERT INTO cadence.lead (lead_id, external_id, first_name, time_zone)
VALUES (1, 'crm-101', 'Maria', 'America/Chicago'),
       (2, 'crm-102', 'Tom', 'America/Chicago');
SELECT cadence.enroll(1, 'warm-30day', '2026-03-02 15:00+00') AS enrolment_id;

-- Version 2 of the same key; the second lead enrols after it.
SELECT cadence.define_cadence(spec) AS cadence_version_id FROM doc WHERE doc_name = 'warm v2';
SELECT cadence.enroll(2, 'warm-30day', '2026-03-02 16:00+00') AS enrolment_id;

SELECT cadence_key, name, segment, tier, current_version FROM cadence.cadence ORDER BY cadence_key;
SELECT cadence_version_id, cadence_key, version, rules FROM cadence.cadence_version ORDER BY cadence_version_id;

-- Export returns the documents as given: the current version by default,
-- any earlier version by number.
SELECT cadence.export_cadence('warm-30day') = (SELECT spec FROM doc WHERE doc_name = 'warm v2') AS current_is_v2,
       cadence.export_cadence('warm-30day', 2) = (SELECT spec FROM doc WHERE doc_name = 'warm v2') AS v2_as_given,
       cadence.export_cadence('warm-30day', 1) = (SELECT spec FROM doc WHERE doc_name = 'warm v1') AS v1_as_given,
       cadence.export_cadence('warm-30day', 1) = cadence.export_cadence('warm-30day', 2) AS versions_equal;
SELECT cadence.export_cadence('warm-30day', 1);

-- Versions and keys that do not exist.
DO $$
BEGIN
    PERFORM cadence.export_cadence('warm-30day', 3);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END
$$;
DO $$
BEGIN
    PERFORM cadence.export_cadence('cold-nurture');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END
$$;

-- Each enrolment is pinned to the version current when it started.
SELECT e.enrolment_id, l.external_id, e.cadence_version_id, v.version, e.status, e.next_step_no, e.next_due_at
  FROM cadence.enrolment e
  JOIN cadence.lead l USING (tenant_id, lead_id)
  JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 ORDER BY e.enrolment_id;

-- Three days on, the first lead has had both steps of version 1 (and is
-- done), the second the first two steps of version 2.
SELECT cadence.tick('2026-03-05 15:00+00') AS queued;
SELECT l.external_id, t.step_no, t.channel, t.status, t.planned_at, t.due_at, t.body
  FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
 ORDER BY l.external_id, t.step_no;
SELECT e.enrolment_id, l.external_id, e.cadence_version_id, v.version, e.status, e.next_step_no, e.next_due_at, e.ended_at, e.exit_reason
  FROM cadence.enrolment e
  JOIN cadence.lead l USING (tenant_id, lead_id)
  JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 ORDER BY e.enrolment_id;

-- A representative document: every timing kind, named and explicit
-- windows, weekdays, conditions, a choice of channels, variants and rules.
INSERT INTO doc VALUES
('hot', $${"key": "hot-7day", "name": "Hot lead: 7-day intensive", "segment": "new_inbound", "tier": "hot",
  "steps": [
    {"name": "first call", "channel": "call", "timing": "immediate",
     "message": {"body": "Call {{first_name|the customer}} about the {{attr.vehicle|vehicle they asked about}}."},
     "goal": "conversation"},
    {"name": "text after a missed call", "channel": "sms", "timing": "+5 minutes", "condition": "previous_call_unanswered",
     "message": {"body": "Hi {{first_name|there}}, it's {{rep_first_name|your sales rep}} at {{dealership}}. When could you stop by?"},
     "goal": "reply"},
    {"name": "details by email", "channel": "email", "timing": "+30 minutes", "condition": "no_response",
     "message": {"subject": "Your {{attr.vehicle|vehicle}} is ready for a test drive",
                 "body": "Hi {{first_name|there}},\n\nPhotos and pricing are below.\n\n{{rep_name|Your sales team}}",
                 "variants": [{"subject": "Still thinking about the {{attr.vehicle|vehicle}}?",
                               "body": "Hi {{first_name|there}}, here are the photos you asked for."}]},
     "goal": "appointment"},
    {"name": "morning call", "channel": "call", "timing": "day 2", "window": "morning",
     "days": ["mon", "tue", "wed", "thu", "fri"],
     "message": {"body": "Offer two appointment times today."}},
    {"name": "reply by preference", "channel": ["sms", "email"], "timing": "after previous +2 hours", "window": "17:30-19:00",
     "message": {"subject": "Two times that work", "body": "Would Thursday at 5 or Saturday at 11 work?"}},
    {"name": "video walk-around", "channel": "video", "timing": "week 2", "window": "afternoon", "days": ["saturday", "Sun"],
     "message": {"body": "Record a 60-second walk-around of the {{attr.vehicle|vehicle}}."}},
    {"name": "closing text", "channel": "sms", "timing": "day 10", "window": "anytime",
     "message": {"body": "If the {{attr.vehicle|vehicle}} is still on your list, pick a time this week."}},
    {"name": "manager review", "channel": "task", "timing": "+12 days", "window": "09:00-17:00", "condition": "no_response",
     "message": {"body": "Review {{full_name|this lead}} with the sales manager."}}],
  "rules": {"exit_on": ["appointment_set", "sold", "lost", "opt_out"],
            "hand_off_on": ["email_reply", "sms_reply", "trade_value_request"],
            "escalate": [{"when": {"event": "email_open", "count": 3, "within": "2 days"}, "move_to": "hot-7day", "score": 10}],
            "on_complete": {"move_to": "warm-30day"},
            "on_silence": {"after": "7 days", "move_to": "warm-30day"},
            "break_up": {"channel": "email", "message": {"subject": "Should I close your file?", "body": "Hi {{first_name|there}}, shall I stop writing?"}}}}$$);

SELECT cadence.define_cadence(spec) AS cadence_version_id FROM doc WHERE doc_name = 'hot';
SELECT cadence.export_cadence('hot-7day') = (SELECT spec FROM doc WHERE doc_name = 'hot') AS exported_as_given,
       (SELECT rules FROM cadence.cadence_version WHERE cadence_key = 'hot-7day') = (SELECT spec -> 'rules' FROM doc WHERE doc_name = 'hot') AS rules_stored;
SELECT cadence_key, name, segment, tier, current_version FROM cadence.cadence ORDER BY cadence_key;

-- The compiled steps.  Weekday bits: Sunday 1, Monday 2, ..., Saturday 64.
-- The break-up message of the rules is compiled as a last step flagged
-- is_break_up, reached only by a move on silence.
SELECT s.step_no, s.channel_options, s.timing, s.timing_kind, s.step_offset, s.day_number,
       s.time_window, s.window_from, s.window_until, s.weekdays, s.condition, s.is_break_up
  FROM cadence.step s JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 WHERE v.cadence_key = 'hot-7day'
 ORDER BY s.step_no;
SELECT s.step_no, s.subject, jsonb_array_length(s.variants) AS variants, s.goal
  FROM cadence.step s JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
 WHERE v.cadence_key = 'hot-7day'
 ORDER BY s.step_no;

DROP EXTENSION cadence;
