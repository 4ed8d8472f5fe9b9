-- The SMS opt-out line (the seed: the first SMS and every 5th).  Until a
-- text with the line has been accepted by the SMS gateway (done, outcome
-- sent), every text carries it: a text that failed told nobody how to opt
-- out, and one still queued or claimed may yet fail.  After that the line
-- comes back on the 5th text counting from the last one with it, counting
-- texts done or still on their way (not failed ones), so texts written
-- together by one tick each take their own place (1st, 5th, 9th, ...).
-- The tick and release_touch() decide alike, from touch.opt_out_line.
-- Simulated clock; leads in America/Chicago, Tuesday 2026-03-10 on CDT
-- (UTC-5): texts may go out 14:00-01:00 UTC.
BEGIN;
SELECT plan(16);

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

-- ---------------------------------------------------------------------------
-- Texts written together.  Wednesday 2026-03-11: three texts sent one by
-- one (10:00, 10:10, 10:20 CDT), then one tick at 11:10 writes the 4th and
-- the 5th, both overdue, while neither has gone out: the 5th carries the
-- line (a count of the texts sent would give both the 4th place).
SELECT cadence.define_cadence('{"key": "five-texts", "name": "Three texts, then two close together", "steps": [
    {"channel": "sms", "timing": "immediate",   "message": {"body": "Text 1."}},
    {"channel": "sms", "timing": "+10 minutes", "message": {"body": "Text 2."}},
    {"channel": "sms", "timing": "+20 minutes", "message": {"body": "Text 3."}},
    {"channel": "sms", "timing": "+60 minutes", "message": {"body": "Text 4."}},
    {"channel": "sms", "timing": "+65 minutes", "message": {"body": "Text 5."}}]}') AS defined \gset
SELECT cadence.define_cadence('{"key": "ten-texts", "name": "Ten texts ten minutes apart", "steps": [
    {"channel": "sms", "timing": "immediate",   "message": {"body": "Text 1."}},
    {"channel": "sms", "timing": "+10 minutes", "message": {"body": "Text 2."}},
    {"channel": "sms", "timing": "+20 minutes", "message": {"body": "Text 3."}},
    {"channel": "sms", "timing": "+30 minutes", "message": {"body": "Text 4."}},
    {"channel": "sms", "timing": "+40 minutes", "message": {"body": "Text 5."}},
    {"channel": "sms", "timing": "+50 minutes", "message": {"body": "Text 6."}},
    {"channel": "sms", "timing": "+60 minutes", "message": {"body": "Text 7."}},
    {"channel": "sms", "timing": "+70 minutes", "message": {"body": "Text 8."}},
    {"channel": "sms", "timing": "+80 minutes", "message": {"body": "Text 9."}},
    {"channel": "sms", "timing": "+90 minutes", "message": {"body": "Text 10."}}]}') AS defined \gset

-- Every 10 minutes from from_at to until_at a tick, and the sender reports
-- the lead's texts due by then: failed for the steps listed, else sent.
CREATE FUNCTION pg_temp.send_texts(lead bigint, from_at timestamptz, until_at timestamptz,
                                   failing integer[] DEFAULT '{}') RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz := from_at;
    queued integer := 0;
    x record;
BEGIN
    WHILE t <= until_at LOOP
        queued := queued + cadence.tick(t);
        FOR x IN SELECT touch_id, step_no FROM cadence.touch
                  WHERE lead_id = lead AND status = 'queued' AND due_at <= t ORDER BY step_no LOOP
            PERFORM cadence.complete_touch(x.touch_id, CASE WHEN x.step_no = ANY (failing) THEN 'failed' ELSE 'sent' END,
                                           '{}', t);
        END LOOP;
        t := t + interval '10 minutes';
    END LOOP;
    RETURN queued;
END
$$;

SELECT pg_temp.new_lead('SMS-TOGETHER') AS together_lead \gset
SELECT cadence.enroll(:together_lead, 'five-texts', '2026-03-11 15:00Z') AS e4 \gset
SELECT is(pg_temp.send_texts(:together_lead, '2026-03-11 15:00Z', '2026-03-11 15:20Z'), 3,
          'three texts are written and sent one by one, 10:00-10:20 CDT');
SELECT is(cadence.tick('2026-03-11 16:10Z'), 2, 'one tick at 11:10 CDT writes the 4th and 5th texts');
SELECT results_eq(
    format('SELECT * FROM pg_temp.texts(%s)', :together_lead),
    $$VALUES (1, 'done'::text, 'Text 1. Reply STOP to opt out.'::text),
             (2, 'done', 'Text 2.'),
             (3, 'done', 'Text 3.'),
             (4, 'queued', 'Text 4.'),
             (5, 'queued', 'Text 5. Reply STOP to opt out.')$$,
    'of two texts written together after three sent, the 5th carries the line');

-- The sequence, each text sent before the next is written: the 1st, 5th
-- and 9th carry the line (never more than 3 in a row without it).
SELECT pg_temp.new_lead('SMS-EVERY-5TH') AS every_lead \gset
SELECT cadence.enroll(:every_lead, 'ten-texts', '2026-03-11 15:00Z') AS e5 \gset
SELECT is(pg_temp.send_texts(:every_lead, '2026-03-11 15:00Z', '2026-03-11 16:30Z'), 10,
          'ten texts, written and sent one by one');
SELECT results_eq(
    format('SELECT step_no FROM cadence.touch WHERE lead_id = %s AND body LIKE ''%%Reply STOP to opt out.'' ORDER BY step_no',
           :every_lead),
    $$VALUES (1), (5), (9)$$,
    'sent one by one, the 1st, 5th and 9th texts carry the line');

-- A text with the line that fails does not count: the next one carries
-- the line again, and the count goes on from it.  Here the 5th fails.
SELECT pg_temp.new_lead('SMS-5TH-FAILS') AS fails_lead \gset
SELECT cadence.enroll(:fails_lead, 'ten-texts', '2026-03-11 15:00Z') AS e6 \gset
SELECT is(pg_temp.send_texts(:fails_lead, '2026-03-11 15:00Z', '2026-03-11 16:30Z', '{5}'), 10,
          'ten texts, the 5th fails');
SELECT results_eq(
    format('SELECT step_no, status FROM cadence.touch WHERE lead_id = %s AND body LIKE ''%%Reply STOP to opt out.'' ORDER BY step_no',
           :fails_lead),
    $$VALUES (1, 'done'::text), (5, 'failed'), (6, 'done'), (10, 'done')$$,
    'after the 5th text, with the line, failed, the 6th carries it, then the 10th');

-- The flags the lines were decided from, as written with each body.
SELECT results_eq(
    format('SELECT step_no, opt_out_line, body LIKE ''%%Reply STOP to opt out.'' FROM cadence.touch WHERE lead_id = %s ORDER BY step_no',
           :failed_lead),
    $$VALUES (1, true, true), (2, true, true), (3, false, false)$$,
    'touch.opt_out_line records which texts carry the line');

SELECT * FROM finish();
ROLLBACK;
