-- The SMS opt-out line goes on the first text that reaches the lead and
-- every 5th, counting only texts that were sent (done): a text that
-- failed, or was still on its way when the next one was written and failed
-- later, told nobody how to opt out.  The tick and release_touch() count
-- alike.  Simulated clock; leads in America/Chicago, Tuesday 2026-03-10 on
-- CDT (UTC-5): texts may go out 14:00-01:00 UTC.
BEGIN;
SELECT plan(8);

INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
SELECT cadence.set_tenant(:lakeside) AS acting \gset
SELECT cadence.define_cadence('{"key": "three-texts", "name": "Three texts an hour apart", "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Text 1."}},
    {"channel": "sms", "timing": "+1 hour",   "message": {"body": "Text 2."}},
    {"channel": "sms", "timing": "+2 hours",  "message": {"body": "Text 3."}}]}') AS defined \gset
SELECT cadence.define_cadence('{"key": "two-texts-close", "name": "Two texts five minutes apart", "steps": [
    {"channel": "sms", "timing": "immediate",  "message": {"body": "Text 1."}},
    {"channel": "sms", "timing": "+5 minutes", "message": {"body": "Text 2."}}]}') AS defined \gset
SELECT cadence.define_cadence('{"key": "text-then-review", "name": "A text, then one needing a vehicle", "steps": [
    {"channel": "sms", "timing": "immediate", "message": {"body": "Text 1."}},
    {"channel": "sms", "timing": "+1 hour",   "message": {"body": "About the {{attr.vehicle}}."}}]}') AS defined \gset

CREATE FUNCTION pg_temp.new_lead(external_id text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_lead bigint;
BEGIN
    INSERT INTO cadence.lead (external_id, first_name, phone, time_zone)
    VALUES (external_id, 'Lee', '+13125550123', 'America/Chicago')
    RETURNING lead_id INTO v_lead;
    PERFORM cadence.record_consent(v_lead, 'sms', 'grant', 'web_form', '2026-03-10 14:00Z');
    RETURN v_lead;
END
$$;
-- What the lead's texts say, in step order.
CREATE FUNCTION pg_temp.texts(lead bigint) RETURNS TABLE (step_no integer, status text, body text)
LANGUAGE sql AS $$
    SELECT t.step_no, t.status, t.body FROM cadence.touch t WHERE t.lead_id = lead ORDER BY t.step_no
$$;
CREATE FUNCTION pg_temp.report(lead bigint, step integer, outcome text, at timestamptz) RETURNS text
LANGUAGE sql AS $$
    SELECT (cadence.complete_touch(t.touch_id, report.outcome, '{}', report.at)).status
      FROM cadence.touch t WHERE t.lead_id = lead AND t.step_no = step
$$;

SELECT pg_temp.new_lead('SMS-FAILED') AS failed_lead \gset
SELECT pg_temp.new_lead('SMS-IN-FLIGHT') AS flight_lead \gset
SELECT pg_temp.new_lead('SMS-REVIEW') AS review_lead \gset
SELECT cadence.enroll(:failed_lead, 'three-texts', '2026-03-10 15:00Z') AS e1 \gset
SELECT cadence.enroll(:flight_lead, 'two-texts-close', '2026-03-10 15:00Z') AS e2 \gset
SELECT cadence.enroll(:review_lead, 'text-then-review', '2026-03-10 15:00Z') AS e3 \gset

-- 10:00 CDT: the first texts, each with the line.
SELECT is(cadence.tick('2026-03-10 15:00Z'), 3, 'the three first texts are queued at 10:00 CDT');
SELECT is(pg_temp.report(:failed_lead, 1, 'failed', '2026-03-10 15:01Z'), 'failed', 'one lead''s first text fails at 10:01 CDT');
SELECT is(pg_temp.report(:review_lead, 1, 'failed', '2026-03-10 15:01Z'), 'failed', 'and another''s');
-- 10:05: the second text of the third lead is written while its first is
-- still queued; at 10:06 the first fails.
SELECT is(cadence.tick('2026-03-10 15:05Z'), 1, 'at 10:05 CDT a second text is queued behind a first one not yet sent');
SELECT is(pg_temp.report(:flight_lead, 1, 'failed', '2026-03-10 15:06Z'), 'failed', 'then that first text fails');
-- 11:00: the failed lead's second text (sent at once) and the reviewed
-- lead's text, held for a missing vehicle; 12:00: the failed lead's third.
SELECT cadence.tick('2026-03-10 16:00Z') AS queued \gset
SELECT pg_temp.report(:failed_lead, 2, 'sent', '2026-03-10 16:00:05Z') AS sent \gset
SELECT cadence.tick('2026-03-10 17:00Z') AS queued \gset

-- After a failed first text the next one is the first to reach the lead
-- and carries the line; the one after it (2nd sent) does not.
SELECT results_eq(
    format('SELECT * FROM pg_temp.texts(%s)', :failed_lead),
    $$VALUES (1, 'failed'::text, 'Text 1. Reply STOP to opt out.'::text),
             (2, 'done', 'Text 2. Reply STOP to opt out.'),
             (3, 'queued', 'Text 3.')$$,
    'after a failed first text the next text carries the opt-out line; the one after the first sent does not');

-- A text written while the first was still on its way, which then failed:
-- the second is the first to reach the lead, so it carries the line too.
SELECT results_eq(
    format('SELECT * FROM pg_temp.texts(%s)', :flight_lead),
    $$VALUES (1, 'failed'::text, 'Text 1. Reply STOP to opt out.'::text),
             (2, 'queued', 'Text 2. Reply STOP to opt out.')$$,
    'a text written while the first was still on its way carries the line as well');

-- A text held for review and released at 11:10 after a failed first text:
-- the reviewer's text gets the line, as the tick would have given it.
SELECT results_eq(
    format($$SELECT status, body FROM cadence.release_touch(
                (SELECT touch_id FROM cadence.touch WHERE lead_id = %s AND step_no = 2 AND status = 'held'),
                'About the car you asked about.', NULL, '2026-03-10 16:10Z')$$, :review_lead),
    $$VALUES ('queued'::text, 'About the car you asked about. Reply STOP to opt out.'::text)$$,
    'release_touch adds the line to the first text that can reach the lead after a failed one');

SELECT * FROM finish();
ROLLBACK;
