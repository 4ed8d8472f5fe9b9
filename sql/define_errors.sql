-- define_errors: every kind of bad cadence document is refused with SQLSTATE
-- 22023 and a message naming the JSON path of the offending value, and a
-- refused document leaves nothing behind (no cadence, version or step rows,
-- and an existing cadence keeps its current version).  Also the errors of
-- bad lead rows, enrolling an unknown lead or cadence, and ticking at an
-- infinite time.

SET client_min_messages = warning;
DROP EXTENSION IF EXISTS cadence CASCADE;
RESET client_min_messages;
CREATE EXTENSION cadence;
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';

-- Run define_cadence and report its error as "SQLSTATE: message", with the
-- detail when there is one; a document that is accepted says so.
CREATE FUNCTION pg_temp.define_error(doc jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    PERFORM cadence.define_cadence(doc);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT, v_detail = PG_EXCEPTION_DETAIL;
    RETURN v_state || ': ' || v_message || coalesce(nullif(' DETAIL: ' || v_detail, ' DETAIL: '), '');
END
$$;

-- Only "SQLSTATE: message", for errors whose detail is beside the point.
CREATE FUNCTION pg_temp.define_message(doc jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cadence.define_cadence(doc);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- The same for any statement.
CREATE FUNCTION pg_temp.error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_state text;
    v_message text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT;
    RETURN v_state || ': ' || v_message;
END
$$;

-- Row counts of the definition tables and the state of the existing cadence.
CREATE FUNCTION pg_temp.definitions() RETURNS TABLE (cadences bigint, versions bigint, steps bigint, current_version integer, name text)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM cadence.cadence), (SELECT count(*) FROM cadence.cadence_version),
           (SELECT count(*) FROM cadence.step),
           (SELECT c.current_version FROM cadence.cadence c WHERE c.cadence_key = 'new-lead'),
           (SELECT c.name FROM cadence.cadence c WHERE c.cadence_key = 'new-lead')
$$;

-- A valid cadence, so that errors in a new version of it can be checked too.
SELECT cadence.define_cadence('{"key": "new-lead", "name": "New lead", "steps": [
    {"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the customer}}"}},
    {"channel": "sms", "timing": "+5 minutes", "message": {"body": "Hi {{first_name|there}}"}}]}') AS cadence_version_id;
SELECT * FROM pg_temp.definitions();

-- The document itself
SELECT pg_temp.define_error('["new-lead"]');
SELECT pg_temp.define_error('"new-lead"');
SELECT pg_temp.define_error('null');
SELECT pg_temp.define_error(NULL);

-- key
SELECT pg_temp.define_error('{"name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": 7, "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "New Lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "-new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');

-- name
SELECT pg_temp.define_error('{"key": "new-lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "  ", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');

-- unknown top-level field (a typo must not be ignored)
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "step": [], "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');

-- tier
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "tier": "lukewarm", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}]}');

-- steps
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead"}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": {"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": []}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": ["call"]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "delay": "5 minutes", "message": {"body": "Hi"}}]}');

-- channel: missing, unknown, unknown inside a list of options, empty list, not text
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}, {"channel": "fax", "timing": "+1 hour", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": ["email", "fax"], "timing": "immediate", "message": {"subject": "Hi", "body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": [], "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": ["sms", 5], "timing": "immediate", "message": {"body": "Hi"}}]}');

-- timing: missing, unparseable, negative, day/week 0, unknown unit
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "soon", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "+5 fortnights", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "-5 minutes", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "+-5 minutes", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 0", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "week 0", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}, {"channel": "sms", "timing": "after previous -1 hour", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": 5, "message": {"body": "Hi"}}]}');

-- steps must be listed in the order they happen
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 3", "message": {"body": "Hi"}}, {"channel": "sms", "timing": "day 2", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "+2 hours", "message": {"body": "Hi"}}, {"channel": "sms", "timing": "+1 hour", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "window": "evening", "message": {"body": "Hi"}}, {"channel": "call", "timing": "day 2", "window": "morning", "message": {"body": "Hi"}}]}');

-- the first step has no previous step to follow
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "after previous +1 hour", "message": {"body": "Hi"}}]}');

-- window: unknown name, ends before it starts, past midnight
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "window": "breakfast", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "window": "11:00-09:00", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "window": "09:00-25:00", "message": {"body": "Hi"}}]}');

-- days
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "days": ["mon", "funday"], "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "days": [], "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "day 2", "days": "mon", "message": {"body": "Hi"}}]}');

-- condition
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "condition": "maybe", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}, {"channel": "sms", "timing": "+5 minutes", "condition": "previous_call_unanswered", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "call", "timing": "immediate", "condition": "previous_call_unanswered", "message": {"body": "Hi"}}]}');

-- message: missing, not an object, missing body, unknown field
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate"}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": "Hi"}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"subject": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi", "footer": "Bye"}}]}');

-- an email step needs a subject, also when email is one of the options
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "email", "timing": "immediate", "message": {"body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": ["sms", "email"], "timing": "immediate", "message": {"body": "Hi"}}]}');

-- merge fields: unknown, unclosed, empty, bad characters, attr without a key
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{nickname}}"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "About your {{vehicle}}", "body": "Hi"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{ }}"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first name}}"}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Your {{attr.}}"}}]}');

-- variants: not an array, not an object, no body, unknown field, unknown merge field
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi", "variants": {"body": "Hello"}}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi", "variants": ["Hello"]}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi", "variants": [{"subject": "Hello", "body": "Hello"}, {"subject": "Hey"}]}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi", "variants": [{"body": "Hello", "channel": "email"}]}}]}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Hi", "body": "Hi", "variants": [{"subject": "Hi {{nickname}}", "body": "Hello"}]}}]}');

-- rules
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": []}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_reply": {"move_to": "warm-30day"}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"exit_on": ["sold", "meeting"]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"hand_off_on": "sms_reply"}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "count": 3}}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "count": 3}, "move_to": "Hot 7 Day"}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "fax_received"}, "move_to": "hot-7day"}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "count": 0}, "move_to": "hot-7day"}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "count": 3000000000}, "move_to": "hot-7day"}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open"}, "move_to": "hot-7day", "score": 2.5}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "count": 2.0}, "move_to": "hot-7day", "score": 20.0}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open"}, "move_to": "hot-7day", "score": 5000000000}]}}');
-- durations in rules are written without a sign ("7 days"); an error quotes them as written
SELECT pg_temp.define_message('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"escalate": [{"when": {"event": "email_open", "within": "a while"}, "move_to": "hot-7day"}]}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_complete": {"move_to": "Cold Nurture"}}}');
SELECT pg_temp.define_message('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_silence": {"after": "a week", "move_to": "warm-30day"}}}');
SELECT pg_temp.define_message('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_silence": {"after": "-7 days", "move_to": "warm-30day"}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_silence": {"move_to": "warm-30day"}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_silence": {"after": "7 days", "move_to": "nurture"}, "break_up": {"channel": "fax", "message": {"body": "Bye"}}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"on_silence": {"after": "7 days", "move_to": "nurture"}, "break_up": {"channel": "email", "message": {"body": "Should I close your file?"}}}}');
SELECT pg_temp.define_error('{"key": "new-lead", "name": "New lead", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi"}}], "rules": {"break_up": {"channel": "sms", "message": {"body": "Should I close your file?"}}}}');

-- Nothing of the refused documents was stored: the same counts as before,
-- and new-lead is still at version 1 under its first name.
SELECT * FROM pg_temp.definitions();

-- Leads: an unknown time zone names the field; attributes must be an object.
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', 'Mars/Olympus')$$);
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', '')$$);
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', 'UTC-5')$$);
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', 'EST5EDT')$$);
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', 'GMT+3')$$);
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('crm-1', 'Etc/UTC-5')$$);
-- a zone name in any case, and the fixed offsets of Etc/, are zones
SELECT cadence.check_time_zone('america/new_york'), cadence.check_time_zone('Etc/GMT+5'), cadence.check_time_zone('UTC');
SELECT pg_temp.error_of($$INSERT INTO cadence.lead (external_id, time_zone, attributes) VALUES ('crm-1', 'America/Denver', '["2019 Civic"]')$$);
SELECT count(*) AS leads FROM cadence.lead;

-- Enrolling an unknown lead or into an unknown cadence.
INSERT INTO cadence.lead (lead_id, external_id, first_name, phone, time_zone)
VALUES (1, 'crm-1', 'Dana', '+13035550100', 'America/Denver');
SELECT pg_temp.error_of($$SELECT cadence.enroll(42, 'new-lead', '2026-03-02 16:00+00')$$);
SELECT pg_temp.error_of($$SELECT cadence.enroll(1, 'no-such-cadence', '2026-03-02 16:00+00')$$);
SELECT count(*) AS enrolments FROM cadence.enrolment;

-- A tick needs a finite time.
SELECT pg_temp.error_of($$SELECT cadence.tick('infinity')$$);
SELECT pg_temp.error_of($$SELECT cadence.tick('-infinity')$$);

-- Valid documents at the edges are accepted: a variant may leave out its
-- subject (an email variant falls back to the step's subject) and a null
-- subject on an SMS step is no subject.  (These once crashed the server:
-- a NULL subject reached a C function unchecked.)
BEGIN;
SELECT cadence.define_cadence($j${"key": "variants", "name": "Variants", "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}", "variants": [{"body": "Hello {{first_name|there}}"}]}}]}$j$) > 0 AS sms_variant_without_subject;
SELECT cadence.define_cadence($j${"key": "variants-email", "name": "Variants", "steps": [{"channel": "email", "timing": "immediate", "message": {"subject": "Your visit", "body": "Hi", "variants": [{"body": "Hello"}]}}]}$j$) > 0 AS email_variant_without_subject;
SELECT cadence.define_cadence($j${"key": "null-subject", "name": "Variants", "steps": [{"channel": "sms", "timing": "immediate", "message": {"subject": null, "body": "Hi"}}]}$j$) > 0 AS sms_null_subject;
-- NULL arguments to the C functions give NULL, never a crash.
SELECT cadence.check_template(NULL) IS NULL AS check_template, cadence.parse_timing(NULL) IS NULL AS parse_timing,
       cadence.parse_window(NULL) IS NULL AS parse_window, cadence.parse_duration(NULL) IS NULL AS parse_duration,
       cadence.is_allowed_at(NULL, 'UTC', NULL, NULL) IS NULL AS is_allowed_at,
       cadence.plan_touch(NULL, 'UTC', NULL, NULL, NULL, NULL, NULL) IS NULL AS plan_touch,
       cadence.plan_touch(now(), NULL, NULL, NULL, NULL, NULL, NULL) IS NULL AS plan_touch_no_zone;
ROLLBACK;

DROP EXTENSION cadence;
