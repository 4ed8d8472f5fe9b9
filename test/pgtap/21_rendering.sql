-- Merge fields and message text: cadence.render and cadence.check_template
-- directly (fallbacks, attr.<key>, numbers, blank values, errors with their
-- path), then through the tick: a touch missing a merge value is held for
-- review and release_touch queues the reviewer's text; message variants
-- rotate by enrolment; the first, 5th and 9th text to a lead carry the
-- opt-out line; emails carry the tenant footer; lead.preferred_channel picks
-- among a step's channels.  Simulated clock, leads in New York (EDT, UTC-4).
BEGIN;
SELECT plan(53);

CREATE TEMP VIEW lead_touch AS
SELECT l.external_id, t.*
  FROM cadence.touch t
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id;

-- ---------------------------------------------------------------------------
-- cadence.render
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name}}, this is {{rep_name}} at {{dealership}}.',
        '{"first_name": "Maya", "rep_name": "Dana Whitfield", "dealership": "Lakeside Toyota"}')$$,
    ROW('Hi Maya, this is Dana Whitfield at Lakeside Toyota.'::text, '{}'::text[]),
    'render fills lead, rep and dealership fields');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name|there}}!', '{}')$$,
    ROW('Hi there!'::text, '{}'::text[]),
    'render uses the fallback when the value is absent');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name|there}}!', '{"first_name": "Maya"}')$$,
    ROW('Hi Maya!'::text, '{}'::text[]),
    'render prefers the value to the fallback');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{ first_name | there }}, the {{ attr.vehicle | car }} is in.', '{"attr": {}}')$$,
    ROW('Hi there, the car is in.'::text, '{}'::text[]),
    'render trims spaces around names and fallbacks');
SELECT row_eq(
    $$SELECT * FROM cadence.render('The {{attr.vehicle}} is here.', '{"attr": {"vehicle": "2024 Tacoma TRD"}}')$$,
    ROW('The 2024 Tacoma TRD is here.'::text, '{}'::text[]),
    'render reads attr.<key> from the lead attributes');
SELECT row_eq(
    $$SELECT * FROM cadence.render('{{attr.year}} {{attr.make}} at ${{attr.price}}, certified: {{attr.certified}}',
        '{"attr": {"year": 2024, "make": "Toyota", "price": 31999.50, "certified": true}}')$$,
    ROW('2024 Toyota at $31999.50, certified: yes'::text, '{}'::text[]),
    'render writes numbers in attributes as written and booleans as yes/no');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name}}', '{"first_name": "   "}')$$,
    ROW(NULL::text, '{first_name}'::text[]),
    'a blank value counts as missing');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name|there}}', '{"first_name": ""}')$$,
    ROW('Hi there'::text, '{}'::text[]),
    'an empty value takes the fallback');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name}}', '{"first_name": null}')$$,
    ROW(NULL::text, '{first_name}'::text[]),
    'a JSON null counts as missing');
SELECT row_eq(
    $$SELECT * FROM cadence.render('The {{attr.vehicle}}', '{"attr": {"vehicle": {"make": "Toyota"}}}')$$,
    ROW(NULL::text, '{attr.vehicle}'::text[]),
    'an object value counts as missing');
SELECT row_eq(
    $$SELECT * FROM cadence.render('Hi {{first_name}}, the {{attr.vehicle}} from {{dealership|us}}', '{"attr": {"trim": "SR5"}}')$$,
    ROW(NULL::text, '{first_name,attr.vehicle}'::text[]),
    'render lists every missing field without a fallback, in order');
SELECT row_eq(
    $$SELECT * FROM cadence.render('No merge fields here.', '{}')$$,
    ROW('No merge fields here.'::text, '{}'::text[]),
    'text without fields is returned as is');

-- ---------------------------------------------------------------------------
-- cadence.check_template
SELECT is(cadence.check_template('Hi {{first_name}}, the {{ attr.trim|base model }} - {{rep_name}}', '$.steps[0].message.body'),
          '{first_name,attr.trim,rep_name}'::text[], 'check_template returns the fields a template uses');
SELECT is(cadence.check_template('See you soon.'), '{}'::text[], 'check_template of plain text is empty');
SELECT throws_ok($$SELECT cadence.check_template('Hi {{nickname}}', '$.steps[0].message.body')$$,
    '22023', 'unknown merge field "nickname" at $.steps[0].message.body', 'an unknown field is refused with its path');
SELECT throws_ok($$SELECT cadence.check_template('Hi {{first_name}', '$.steps[2].message.subject')$$,
    '22023', 'unclosed merge field at $.steps[2].message.subject', 'an unclosed {{ is refused with its path');
SELECT throws_ok($$SELECT cadence.check_template('Hi {{nickname}}')$$,
    '22023', 'unknown merge field "nickname" at template', 'without a path the error says template');
SELECT throws_ok($$SELECT cadence.check_template('The {{attr.}} is here')$$,
    '22023', 'unknown merge field "attr." at template', 'attr. needs a key');
SELECT throws_ok($$SELECT cadence.check_template('The {{attr.vehicle.make}} is here')$$,
    '22023', 'unknown merge field "attr.vehicle.make" at template', 'attributes are one level deep');
SELECT throws_ok($$SELECT cadence.check_template('Hi {{}}')$$,
    '22023', 'empty merge field at template', 'an empty field is refused');
SELECT throws_ok($$SELECT cadence.check_template('Hi {{first name}}')$$,
    '22023', 'invalid merge field "first name" at template', 'a field name with a space is refused');
SELECT throws_ok($$SELECT cadence.define_cadence('{"key": "bad-field", "name": "Bad", "steps": [
      {"channel": "task", "timing": "immediate", "message": {"body": "ok"}},
      {"channel": "sms", "timing": "+1 day", "message": {"body": "Hi {{nick}}"}}]}')$$,
    '22023', 'unknown merge field "nick" at $.steps[1].message.body', 'define_cadence names the step of an unknown field');
SELECT throws_ok($$SELECT cadence.define_cadence('{"key": "bad-variant", "name": "Bad", "steps": [
      {"channel": "sms", "timing": "immediate",
       "message": {"body": "A", "variants": [{"subject": "b", "body": "B"}, {"subject": "c", "body": "C {{first_name"}]}}]}')$$,
    '22023', 'unclosed merge field at $.steps[0].message.variants[1].body', 'define_cadence names the variant of an unclosed field');

-- ---------------------------------------------------------------------------
-- Through the tick.  The dealership is the tenant's name.
UPDATE cadence.tenant SET name = 'Lakeside Toyota' WHERE tenant_id = 1;
INSERT INTO cadence.rep (external_id, name, phone, email) VALUES
    ('R-DANA', 'Dana Whitfield', '+15555550100', 'dana@lakeside.example');
SELECT rep_id AS dana FROM cadence.rep WHERE external_id = 'R-DANA' \gset
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, owner_rep_id, attributes, preferred_channel) VALUES
    ('R-SAM',  'Sam',  'sam@example.com',  '+15555550201', 'America/New_York', :dana, '{"trim": "SR5"}', NULL),
    ('R-MAYA', 'Maya', 'maya@example.com', '+15555550202', 'America/New_York', :dana, '{"vehicle": "2024 Tacoma"}', NULL),
    ('R-V1',   'Ana',  'ana@example.com',  '+15555550203', 'America/New_York', NULL, '{}', NULL),
    ('R-V2',   'Ben',  'ben@example.com',  '+15555550204', 'America/New_York', NULL, '{}', NULL),
    ('R-V3',   'Cleo', 'cleo@example.com', '+15555550205', 'America/New_York', NULL, '{}', NULL),
    ('R-TEXT', 'Ava',  'ava@example.com',  '+15555550206', 'America/New_York', NULL, '{}', NULL),
    ('R-PSMS', 'Ivy',  'ivy@example.com',  '+15555550207', 'America/New_York', NULL, '{}', 'sms'),
    ('R-PNONE','Noah', 'noah@example.com', '+15555550208', 'America/New_York', NULL, '{}', NULL),
    ('R-PCALL','Zoe',  'zoe@example.com',  '+15555550209', 'America/New_York', NULL, '{}', 'call'),
    ('R-PSMS2','Lia',  'lia@example.com',  '+15555550211', 'America/New_York', NULL, '{}', 'sms'),
    ('R-URL',  'Eli',  'eli@example.com',  '+15555550210', 'America/New_York', :dana, '{"vehicle": "2023 RAV4"}', NULL);
SELECT count(cadence.record_consent(lead_id, 'sms', 'grant', 'web_form', '2026-04-14 12:00+00')) AS n_granted
  FROM cadence.lead WHERE external_id IN ('R-TEXT', 'R-PSMS', 'R-PSMS2') \gset

SELECT cadence.define_cadence($${
  "key": "render-hold", "name": "Vehicle details",
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Your {{attr.vehicle|vehicle}} is ready",
                 "body": "Hi {{first_name|there}}, the {{attr.vehicle}} you asked about is on the lot. - {{rep_name|Your sales team}}"}},
    {"channel": "call", "timing": "+1 hours",
     "message": {"body": "Call {{first_name|the customer}} about the {{attr.vehicle|vehicle}}."}}
  ]}$$) AS v_hold \gset

-- Held for review, then released with the reviewer's text.
SELECT cadence.enroll(lead_id, 'render-hold', '2026-04-14 14:00+00') AS e_sam FROM cadence.lead WHERE external_id = 'R-SAM' \gset
SELECT cadence.enroll(lead_id, 'render-hold', '2026-04-14 14:00+00') AS e_maya FROM cadence.lead WHERE external_id = 'R-MAYA' \gset
SELECT is(cadence.tick('2026-04-14 14:00+00'), 1, 'tick queues Maya''s email; Sam''s is held');
SELECT row_eq(
    $$SELECT status, status_reason, subject, body, due_at, defer_reasons FROM lead_touch WHERE external_id = 'R-SAM' AND step_no = 1$$,
    ROW('held'::text, 'missing_merge_field:attr.vehicle'::text, 'Your vehicle is ready'::text, NULL::text,
        '2026-04-14 14:00+00'::timestamptz, '{}'::text[]),
    'a needed attr.vehicle without fallback holds the touch, with no body');
SELECT row_eq(
    $$SELECT status, subject, body FROM lead_touch WHERE external_id = 'R-MAYA' AND step_no = 1$$,
    ROW('queued'::text, 'Your 2024 Tacoma is ready'::text,
        E'Hi Maya, the 2024 Tacoma you asked about is on the lot. - Dana Whitfield\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, reply UNSUBSCRIBE.'::text),
    'with the attribute present the email is queued with the tenant footer (no unsubscribe_url: its fallback)');
SELECT touch_id AS t_sam FROM lead_touch WHERE external_id = 'R-SAM' AND step_no = 1 \gset
SELECT is((SELECT count(*) FROM cadence.claim_touches('{email}', 'mailer', 10, '1 day', '2026-04-14 14:01+00')
            WHERE lead_id = (SELECT lead_id FROM cadence.lead WHERE external_id = 'R-SAM')), 0::bigint,
          'a held touch is not handed to a sender');
SELECT throws_ok(
    format($$SELECT cadence.release_touch(%s, 'Hi Sam, the {{attr.vehicle}} is on the lot.', NULL, '2026-04-14 16:00+00')$$, :t_sam),
    '22023', 'the reviewed message still has a merge field in field "body"', 'release refuses a body still holding {{');
SELECT throws_ok(
    format($$SELECT cadence.release_touch(%s, 'Hi Sam, the Silverado is on the lot.', 'Your {{attr.vehicle}}', '2026-04-14 16:00+00')$$, :t_sam),
    '22023', 'the reviewed message still has a merge field in field "subject"', 'release refuses a subject still holding {{');
SELECT throws_ok(
    format($$SELECT cadence.release_touch(%s, '  ', NULL, '2026-04-14 16:00+00')$$, :t_sam),
    '22023', 'empty message in field "body"', 'release refuses an empty body');
SELECT is((SELECT status FROM cadence.touch WHERE touch_id = :t_sam), 'held', 'refused releases leave the touch held');
SELECT row_eq(
    format($$SELECT status, status_reason, subject, body, due_at
               FROM cadence.release_touch(%s, 'Hi Sam, the Silverado you asked about is on the lot. - Dana', NULL, '2026-04-14 16:00+00')$$, :t_sam),
    ROW('queued'::text, 'released_after_review'::text, 'Your vehicle is ready'::text,
        E'Hi Sam, the Silverado you asked about is on the lot. - Dana\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, reply UNSUBSCRIBE.'::text,
        '2026-04-14 16:00+00'::timestamptz),
    'release queues the held touch with the reviewer''s text and the email footer, due when released');
SELECT throws_ok(
    format($$SELECT cadence.release_touch(%s, 'Again', NULL, '2026-04-14 16:05+00')$$, :t_sam),
    'P0002', format('touch %s does not exist or is not held for review (field "touch_id")', :t_sam),
    'a touch that is no longer held cannot be released again');
SELECT results_eq(
    $$SELECT external_id, step_no FROM cadence.claim_touches('{email}', 'mailer', 10, '5 minutes', '2026-04-14 16:00+00') c
        JOIN cadence.lead l USING (tenant_id, lead_id)$$,
    $$VALUES ('R-SAM'::text, 1)$$,
    'the released email is claimable at its new due time (Maya''s was claimed before)');
-- Unsubscribe URL in the footer when the tenant has one.
UPDATE cadence.tenant SET unsubscribe_url = 'https://lakeside.example/unsubscribe' WHERE tenant_id = 1;
SELECT cadence.enroll(lead_id, 'render-hold', '2026-04-14 15:00+00') AS e_url FROM cadence.lead WHERE external_id = 'R-URL' \gset
SELECT is(cadence.tick('2026-04-14 15:00+00'), 3, 'tick queues Eli''s email and Sam''s and Maya''s calls');
SELECT row_eq(
    $$SELECT channel, status, body, assignee_rep_id FROM lead_touch WHERE external_id = 'R-SAM' AND step_no = 2$$,
    ROW('call'::text, 'queued'::text, 'Call Sam about the vehicle.'::text,
        (SELECT rep_id FROM cadence.rep WHERE external_id = 'R-DANA')),
    'the hold does not stop the next step: the call task is queued for the owner');
SELECT is((SELECT body FROM lead_touch WHERE external_id = 'R-URL' AND step_no = 1),
    E'Hi Eli, the 2023 RAV4 you asked about is on the lot. - Dana Whitfield\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, https://lakeside.example/unsubscribe.',
    'the email footer carries the tenant''s unsubscribe_url');

-- ---------------------------------------------------------------------------
-- Variants rotate by enrolment: index = enrolment_id % (1 + number of variants).
SELECT cadence.define_cadence($${
  "key": "render-variants", "name": "A/B/C first email",
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Still looking, {{first_name}}?", "body": "Body A for {{first_name}}.",
                 "variants": [{"subject": "New arrivals for {{first_name}}", "body": "Body B for {{first_name}}."},
                              {"subject": "Quick one, {{first_name}}", "body": "Body C for {{first_name}}."}]}},
    {"channel": "task", "timing": "+1 day", "message": {"body": "Check {{first_name}}'s replies."}}
  ]}$$) AS v_var \gset
SELECT count(cadence.enroll(lead_id, 'render-variants', '2026-04-14 17:00+00')) AS n_var FROM cadence.lead
 WHERE external_id IN ('R-V1', 'R-V2', 'R-V3') \gset
SELECT is(cadence.tick('2026-04-14 17:00+00'), 4, 'tick queues the three variant emails and Eli''s call (due 16:00)');
SELECT set_eq(
    $$SELECT variant FROM lead_touch WHERE external_id IN ('R-V1', 'R-V2', 'R-V3')$$,
    ARRAY[0, 1, 2],
    'three consecutive enrolments get the three variants');
SELECT results_eq(
    $$SELECT t.enrolment_id, t.variant, t.subject, t.body
        FROM lead_touch t WHERE t.external_id IN ('R-V1', 'R-V2', 'R-V3') ORDER BY t.enrolment_id$$,
    $$SELECT e.enrolment_id, (e.enrolment_id % 3)::integer,
             CASE e.enrolment_id % 3 WHEN 0 THEN 'Still looking, ' || l.first_name || '?'
                                     WHEN 1 THEN 'New arrivals for ' || l.first_name
                                     ELSE 'Quick one, ' || l.first_name END,
             CASE e.enrolment_id % 3 WHEN 0 THEN 'Body A for ' WHEN 1 THEN 'Body B for ' ELSE 'Body C for ' END
             || l.first_name || E'.\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, https://lakeside.example/unsubscribe.'
        FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
       WHERE l.external_id IN ('R-V1', 'R-V2', 'R-V3') ORDER BY e.enrolment_id$$,
    'each touch carries variant enrolment_id % 3 and that variant''s subject and body');
SELECT is(cadence.tick('2026-04-15 17:00+00'), 3, 'tick on day 2 queues the three tasks');
SELECT is((SELECT array_agg(DISTINCT variant) FROM lead_touch WHERE external_id IN ('R-V1', 'R-V2', 'R-V3') AND step_no = 2),
          '{0}'::integer[], 'a step without variants is variant 0 for everyone');

-- A variant may leave out its subject and keep the step's (this once crashed
-- the backend: check_template read a NULL subject).
SELECT lives_ok($$SELECT cadence.define_cadence('{
  "key": "render-variant-no-subject", "name": "A/B with one subject",
  "steps": [{"channel": "email", "timing": "immediate",
             "message": {"subject": "Checking in, {{first_name}}", "body": "Note A.",
                         "variants": [{"body": "Note B."}]}}]}')$$,
    'a message variant without a subject is accepted');
SELECT count(cadence.enroll(lead_id, 'render-variant-no-subject', '2026-04-16 17:00+00')) AS n_nosubj FROM cadence.lead
 WHERE external_id IN ('R-V1', 'R-V2') \gset
SELECT is(cadence.tick('2026-04-16 17:00+00'), 2, 'tick queues the two emails of the subject-less variant cadence');
SELECT results_eq(
    $$SELECT t.variant, t.subject, split_part(t.body, E'\n', 1) FROM lead_touch t
       WHERE t.external_id IN ('R-V1', 'R-V2') AND t.step_no = 1 AND t.created_at = '2026-04-16 17:00+00'
       ORDER BY t.enrolment_id$$,
    $$SELECT (e.enrolment_id % 2)::integer, 'Checking in, ' || l.first_name,
             CASE e.enrolment_id % 2 WHEN 0 THEN 'Note A.' ELSE 'Note B.' END
        FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
        JOIN cadence.cadence_version v USING (tenant_id, cadence_version_id)
       WHERE l.external_id IN ('R-V1', 'R-V2') AND v.cadence_key = 'render-variant-no-subject' ORDER BY e.enrolment_id$$,
    'a variant without a subject keeps the step''s subject');

-- ---------------------------------------------------------------------------
-- The opt-out line: the first text to a lead, then the 5th counting from
-- the last text with it.
SELECT cadence.define_cadence($${
  "key": "render-ten-texts", "name": "Ten texts",
  "steps": [
    {"channel": "sms", "timing": "immediate",   "message": {"body": "Text 1 for {{first_name}}."}},
    {"channel": "sms", "timing": "+10 minutes", "message": {"body": "Text 2."}},
    {"channel": "sms", "timing": "+20 minutes", "message": {"body": "Text 3."}},
    {"channel": "sms", "timing": "+30 minutes", "message": {"body": "Text 4."}},
    {"channel": "sms", "timing": "+40 minutes", "message": {"body": "Text 5."}},
    {"channel": "sms", "timing": "+50 minutes", "message": {"body": "Text 6."}},
    {"channel": "sms", "timing": "+60 minutes", "message": {"body": "Text 7."}},
    {"channel": "sms", "timing": "+70 minutes", "message": {"body": "Text 8."}},
    {"channel": "sms", "timing": "+80 minutes", "message": {"body": "Text 9."}},
    {"channel": "sms", "timing": "+90 minutes", "message": {"body": "Text 10."}}
  ]}$$) AS v_ten \gset
SELECT cadence.enroll(lead_id, 'render-ten-texts', '2026-04-14 14:00+00') AS e_text FROM cadence.lead WHERE external_id = 'R-TEXT' \gset
-- The first text goes out (accepted by the gateway: sent) at 14:00; a tick
-- at 15:30 then catches up the nine others at once, none sent yet: each
-- takes its own place in the count, so the 5th and 9th carry the line.
SELECT is(cadence.tick('2026-04-14 14:00+00'), 1, 'the first text is queued at 14:00');
SELECT (cadence.complete_touch(touch_id, 'sent', '{}', '2026-04-14 14:00:05+00')).status AS sent
  FROM lead_touch WHERE external_id = 'R-TEXT' AND step_no = 1 \gset
SELECT is(cadence.tick('2026-04-14 15:30+00'), 9, 'one tick catches up the nine other texts');
SELECT results_eq(
    $$SELECT step_no, status, due_at, body FROM lead_touch WHERE external_id = 'R-TEXT' ORDER BY step_no$$,
    $$VALUES (1, 'done', '2026-04-14 14:00+00'::timestamptz, 'Text 1 for Ava. Reply STOP to opt out.'),
             (2, 'queued', '2026-04-14 14:10+00'::timestamptz, 'Text 2.'),
             (3, 'queued', '2026-04-14 14:20+00'::timestamptz, 'Text 3.'),
             (4, 'queued', '2026-04-14 14:30+00'::timestamptz, 'Text 4.'),
             (5, 'queued', '2026-04-14 14:40+00'::timestamptz, 'Text 5. Reply STOP to opt out.'),
             (6, 'queued', '2026-04-14 14:50+00'::timestamptz, 'Text 6.'),
             (7, 'queued', '2026-04-14 15:00+00'::timestamptz, 'Text 7.'),
             (8, 'queued', '2026-04-14 15:10+00'::timestamptz, 'Text 8.'),
             (9, 'queued', '2026-04-14 15:20+00'::timestamptz, 'Text 9. Reply STOP to opt out.'),
             (10, 'queued', '2026-04-14 15:30+00'::timestamptz, 'Text 10.')$$,
    'texts written together by one tick: the 1st, 5th and 9th carry the opt-out line, the others do not');

-- ---------------------------------------------------------------------------
-- lead.preferred_channel picks among a step's channel options.
SELECT cadence.define_cadence($${
  "key": "render-choice", "name": "Email or text",
  "steps": [
    {"channel": ["email", "sms"], "timing": "immediate",
     "message": {"subject": "Quick question", "body": "Hi {{first_name|there}}, still looking?"}}
  ]}$$) AS v_choice \gset
SELECT count(cadence.enroll(lead_id, 'render-choice', '2026-04-14 18:00+00')) AS n_choice FROM cadence.lead
 WHERE external_id IN ('R-PSMS', 'R-PNONE', 'R-PCALL') \gset
SELECT is(cadence.tick('2026-04-14 18:00+00'), 3, 'tick queues the three first touches');
SELECT results_eq(
    $$SELECT external_id, channel, status, body FROM lead_touch
       WHERE external_id IN ('R-PSMS', 'R-PNONE', 'R-PCALL') ORDER BY external_id$$,
    $$VALUES ('R-PCALL'::text, 'email'::text, 'queued'::text,
              E'Hi Zoe, still looking?\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, https://lakeside.example/unsubscribe.'),
             ('R-PNONE', 'email', 'queued',
              E'Hi Noah, still looking?\n\nYou are receiving this because you contacted Lakeside Toyota. To stop these emails, https://lakeside.example/unsubscribe.'),
             ('R-PSMS', 'sms', 'queued', 'Hi Ivy, still looking? Reply STOP to opt out.')$$,
    'a preferred channel among the options is used; otherwise (none, or not offered) the first option');

-- The subject is part of the email only: a text chosen by preference must not
-- be held for a merge field that only the subject uses.
SELECT cadence.define_cadence($${
  "key": "render-choice-subject", "name": "Email or text, vehicle in the subject",
  "steps": [
    {"channel": ["email", "sms"], "timing": "immediate",
     "message": {"subject": "About your {{attr.vehicle}}", "body": "Hi {{first_name|there}}, any questions?"}}
  ]}$$) AS v_choice_subject \gset
SELECT cadence.enroll(lead_id, 'render-choice-subject', '2026-04-14 18:30+00') AS e_lia FROM cadence.lead WHERE external_id = 'R-PSMS2' \gset
SELECT cadence.tick('2026-04-14 18:30+00') AS n_tick_1830 \gset
SELECT row_eq(
    format('SELECT channel, status, status_reason, body FROM cadence.touch WHERE enrolment_id = %s', :e_lia),
    ROW('sms'::text, 'queued'::text, NULL::text, 'Hi Lia, any questions? Reply STOP to opt out.'::text),
    'a text is not held for a merge field only the email subject needs');

-- ---------------------------------------------------------------------------
-- A malformed tenant text must not stop the tick.  Tenant footers are not
-- validated like cadence templates; whether such a footer is refused when it
-- is stored or the touch is held, the queue of everyone must keep moving.
DO $$
BEGIN
    UPDATE cadence.tenant SET email_footer = 'To stop these emails: {{unsubscribe_url' WHERE tenant_id = 1;
EXCEPTION WHEN others THEN
    NULL;
END
$$;
SELECT cadence.enroll(lead_id, 'render-choice', '2026-04-14 19:00+00') AS e_pnone2 FROM cadence.lead
 WHERE external_id = 'R-PNONE' \gset
CREATE FUNCTION pg_temp.tick_error(as_of timestamptz) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cadence.tick(as_of);
    RETURN NULL;
EXCEPTION WHEN others THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
SELECT is(pg_temp.tick_error('2026-04-14 19:00+00'), NULL, 'a malformed email footer does not make the tick fail');
SELECT is((SELECT count(*) FROM cadence.touch WHERE enrolment_id = :e_pnone2 AND status IN ('queued', 'held')), 1::bigint,
          'the new enrolment''s email is queued or held for review');

SELECT * FROM finish();
ROLLBACK;
