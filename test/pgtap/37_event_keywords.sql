-- A reply that is an opt-out keyword acts as that keyword everywhere, not
-- as a reply: an SMS "STOP" revokes texts and neither raises the lead's
-- score nor counts towards an escalation on replies; an email reply whose
-- first line (or subject) is UNSUBSCRIBE revokes email, as the emails'
-- footer promises, without pausing the cadence or alerting a rep.  What
-- was delivered stays in event.kind; what it acted as is event.applied_kind.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026).
BEGIN;
SELECT plan(18);

-- The keyword rules on their own.
SELECT results_eq(
    $$SELECT b, cadence.sms_keyword_kind(b)
        FROM unnest(ARRAY['STOP', ' stop ', 'Stop.', '"STOP"', 'STOP,', 'Stop?', 'STOPALL', 'stop all', 'OPT OUT',
                          'opt-out', 'optout', 'Opt  Out!', 'Unsubscribe', 'cancel', 'END', 'quit', 'revoke',
                          'START', 'unstop!', 'Stop by Saturday?', 'Cancel my Tuesday appointment',
                          'stopping by later', 'Please stop', 'the end']) WITH ORDINALITY AS x(b, n)
       ORDER BY n$$,
    $$VALUES ('STOP', 'sms_stop'), (' stop ', 'sms_stop'), ('Stop.', 'sms_stop'), ('"STOP"', 'sms_stop'),
             ('STOP,', 'sms_stop'), ('Stop?', 'sms_stop'), ('STOPALL', 'sms_stop'), ('stop all', 'sms_stop'),
             ('OPT OUT', 'sms_stop'), ('opt-out', 'sms_stop'), ('optout', 'sms_stop'), ('Opt  Out!', 'sms_stop'),
             ('Unsubscribe', 'sms_stop'), ('cancel', 'sms_stop'), ('END', 'sms_stop'), ('quit', 'sms_stop'),
             ('revoke', 'sms_stop'), ('START', 'sms_start'), ('unstop!', 'sms_start'),
             ('Stop by Saturday?', NULL), ('Cancel my Tuesday appointment', NULL), ('stopping by later', NULL),
             ('Please stop', NULL), ('the end', NULL)$$,
    'SMS: the whole message is the keyword, with any case, spaces, quotes or punctuation around it');
SELECT results_eq(
    $$SELECT cadence.email_keyword_kind(b, s)
        FROM (VALUES (1, E'UNSUBSCRIBE\n\nOn Tue, Lakeside Motors wrote:\n> Photos and pricing inside.', 'Re: Your quote'),
                     (2, E'\n  Remove me.\n-- \nSent from my phone', 'Re: Your quote'),
                     (3, '', 'unsubscribe'),
                     (4, E'Please send the price.\nUNSUBSCRIBE', 'Re: Your quote'),
                     (5, E'Can I unsubscribe my wife from the newsletter?', 'Re: Your quote'),
                     (6, NULL, NULL)) AS x(n, b, s)
       ORDER BY n$$,
    $$VALUES ('unsubscribe'), ('unsubscribe'), ('unsubscribe'), (NULL::text), (NULL), (NULL)$$,
    'email: the first line typed above the quote, or the subject, is the keyword; a keyword further down is not');

SELECT results_eq(
    $$SELECT cadence.applied_event_kind(k, p)
        FROM (VALUES (1, 'sms_reply', '{"body": "STOP"}'::jsonb), (2, 'sms_reply', '{"body": "Start!"}'),
                     (3, 'sms_reply', '{"body": "Stop by Saturday?"}'), (4, 'sms_reply', '{}'),
                     (5, 'sms_reply', NULL), (6, 'email_reply', '{"subject": "Unsubscribe"}'),
                     (7, 'email_reply', '{"body": "remove me\n> On Monday you wrote"}'),
                     (8, 'email_reply', '{"body": "Send the price", "subject": "Re: RAV4"}'),
                     (9, 'email_open', '{"body": "STOP"}'), (10, 'unsubscribe', '{}'),
                     (11, NULL, '{"body": "STOP"}')) AS x(n, k, p)
       ORDER BY n$$,
    $$VALUES ('sms_stop'::text), ('sms_start'), ('sms_reply'), ('sms_reply'), ('sms_reply'), ('unsubscribe'),
             ('unsubscribe'), ('email_reply'), ('email_open'), ('unsubscribe'), (NULL)$$,
    'applied kind: only a reply''s body (or an email''s subject) can make it act as a keyword; other kinds stay');

-- The keywords are matched in the database's collation whatever the
-- caller's: under COLLATE "C" only ASCII would count as punctuation.
SELECT results_eq(
    $$SELECT cadence.sms_keyword_kind(b COLLATE "C") COLLATE "default",
             cadence.email_keyword_kind(b COLLATE "C", NULL) COLLATE "default",
             cadence.applied_event_kind('sms_reply' COLLATE "C", jsonb_build_object('body', b)) COLLATE "default"
        FROM (VALUES (E'\u201cSTOP\u201d')) AS x(b)$$,
    $$SELECT cadence.sms_keyword_kind(b), cadence.email_keyword_kind(b, NULL),
             cadence.applied_event_kind('sms_reply', jsonb_build_object('body', b))
        FROM (VALUES (E'\u201cSTOP\u201d')) AS x(b)$$,
    'a caller''s collation does not change what a keyword is');

INSERT INTO cadence.rep (external_id, name, phone, email, on_duty)
VALUES ('R-KIM', 'Kim Osei', '+15555550300', 'kim@lakeside.example', true);
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone, attributes) VALUES
    ('K-STOP',  'Mara', 'mara@example.com',  '+15555550301', 'America/New_York', '{"timeline": "this_month"}'),
    ('K-TALK',  'Nico', 'nico@example.com',  '+15555550302', 'America/New_York', '{"timeline": "this_month"}'),
    ('K-UNSUB', 'Owen', 'owen@example.com',  '+15555550303', 'America/New_York', '{}'),
    ('K-ESC',   'Pia',  'pia@example.com',   '+15555550304', 'America/New_York', '{}');
SELECT max(lead_id) FILTER (WHERE external_id = 'K-STOP')  AS stop,
       max(lead_id) FILTER (WHERE external_id = 'K-TALK')  AS talk,
       max(lead_id) FILTER (WHERE external_id = 'K-UNSUB') AS unsub,
       max(lead_id) FILTER (WHERE external_id = 'K-ESC')   AS esc
  FROM cadence.lead \gset
SELECT count(cadence.record_consent(l.lead_id, 'sms', 'grant', 'web_form', '2026-04-14 12:00Z')) AS granted FROM cadence.lead l \gset

SELECT cadence.define_cadence($${
  "key": "kw-hot", "name": "Hot: call now", "tier": "hot",
  "steps": [{"channel": "call", "timing": "immediate", "message": {"body": "Call {{first_name|the lead}} now."}}]}$$) AS v1 \gset
SELECT cadence.define_cadence($${
  "key": "kw-warm", "name": "Warm: text, then email",
  "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, any questions?"}},
            {"channel": "email", "timing": "+1 day", "message": {"subject": "Your enquiry", "body": "Three cars you might like."}},
            {"channel": "email", "timing": "+3 days", "message": {"subject": "Still looking?", "body": "New arrivals."}}],
  "rules": {"pause_on": [],
            "escalate": [{"when": {"event": "sms_reply", "count": 2, "within": "7 days"}, "move_to": "kw-hot", "score": 20}]}}$$)
  AS v2 \gset
SELECT count(cadence.enroll(l.lead_id, 'kw-warm', '2026-04-14 13:00Z')) AS enrolled FROM cadence.lead l \gset
SELECT is(cadence.tick('2026-04-14 13:05Z'), 4, 'each lead''s first text is queued');
SELECT score AS talk_before FROM cadence.lead WHERE lead_id = :talk \gset
SELECT score AS stop_before FROM cadence.lead WHERE lead_id = :stop \gset

-- Nico replies in words, Mara texts STOP: the same kind delivered.
SELECT cadence.record_event(:talk, 'sms_reply', '2026-04-14 14:00Z', NULL, '{"body": "Is the red one still there?"}') AS e1 \gset
SELECT cadence.record_event(:stop, 'sms_reply', '2026-04-14 14:00Z', NULL, '{"body": "Stop."}') AS e2 \gset
SELECT results_eq(
    $$SELECT l.external_id, e.kind, e.applied_kind FROM cadence.event e
        JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id ORDER BY l.external_id$$,
    $$VALUES ('K-STOP', 'sms_reply', 'sms_stop'), ('K-TALK', 'sms_reply', 'sms_reply')$$,
    'the STOP keeps its delivered kind and acts as sms_stop');
SELECT ok((SELECT score FROM cadence.lead WHERE lead_id = :talk) = :talk_before + 15,
          'a reply in words adds the reply''s 15 points');
SELECT is((SELECT score FROM cadence.lead WHERE lead_id = :stop), :stop_before,
          'a STOP adds nothing to the score');
SELECT is((SELECT score FROM cadence.score(:stop, '2026-04-14 14:00Z')), :stop_before,
          'and score() agrees');
SELECT ok((SELECT 'sms' = ANY (blocked_channels) AND last_response_at IS NULL FROM cadence.lead WHERE lead_id = :stop),
          'the STOP blocks texts and is no response');

-- Mara writes again in words (the second reply of the rule's two): it is her
-- first reply that counts, so no escalation; Pia's two real replies escalate.
SELECT cadence.record_event(:stop, 'sms_reply', '2026-04-14 15:00Z', NULL, '{"body": "Sorry, wrong button. Call me."}') AS e3 \gset
SELECT cadence.record_event(:esc, 'sms_reply', '2026-04-14 14:10Z', NULL, '{"body": "Maybe."}') AS e4 \gset
SELECT cadence.record_event(:esc, 'sms_reply', '2026-04-14 15:00Z', NULL, '{"body": "Call me."}') AS e5 \gset
SELECT results_eq(
    $$SELECT l.external_id, v.cadence_key, e.status, e.exit_reason FROM cadence.enrolment e
        JOIN cadence.cadence_version v ON v.tenant_id = e.tenant_id AND v.cadence_version_id = e.cadence_version_id
        JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
       WHERE l.external_id IN ('K-STOP', 'K-ESC') ORDER BY l.external_id, e.enrolment_id$$,
    $$VALUES ('K-ESC', 'kw-warm', 'exited', 'escalated'::text), ('K-ESC', 'kw-hot', 'active', NULL),
             ('K-STOP', 'kw-warm', 'active', NULL)$$,
    'two replies escalate; a STOP and one reply do not');

-- Owen replies UNSUBSCRIBE to an email.
SELECT cadence.record_event(:unsub, 'email_reply', '2026-04-14 16:00Z', NULL,
                            jsonb_build_object('subject', 'Re: Your enquiry',
                                               'body', E'UNSUBSCRIBE\n\nOn Tue, Kim Osei wrote:\n> Three cars you might like.')) AS e6 \gset
SELECT results_eq(
    format($$SELECT c.channel, c.action, c.method FROM cadence.consent c WHERE c.lead_id = %s ORDER BY c.consent_id$$, :unsub),
    $$VALUES ('sms', 'grant', 'web_form'), ('email', 'revoke', 'event:unsubscribe')$$,
    'an email reply UNSUBSCRIBE revokes email in the ledger');
SELECT results_eq(
    format($$SELECT l.blocked_channels, l.last_response_at, l.preferred_channel, e.status,
                    (SELECT count(*) FROM cadence.alert a WHERE a.lead_id = l.lead_id)
               FROM cadence.lead l JOIN cadence.enrolment e ON e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id
              WHERE l.lead_id = %s$$, :unsub),
    $$VALUES ('{email}'::text[], NULL::timestamptz, NULL::text, 'active', 0::bigint)$$,
    'it is no response: the cadence keeps going on other channels and no rep is alerted');
SELECT is(cadence.tick('2026-04-15 13:30Z'), 3, 'the next day''s tick decides the three leads'' email steps');
SELECT results_eq(
    $$SELECT l.external_id, t.status, t.status_reason FROM cadence.touch t
        JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
       WHERE t.step_no = 2 ORDER BY l.external_id$$,
    $$VALUES ('K-STOP', 'queued', NULL::text), ('K-TALK', 'queued', NULL), ('K-UNSUB', 'skipped', 'opted_out')$$,
    'the email step is skipped for Owen alone');

-- Delivered by the application role, through the table: the kind is worked
-- out as the row is stored, with the role's own rights.
SET LOCAL ROLE cadence_app;
INSERT INTO cadence.event (lead_id, kind, occurred_at, payload)
VALUES (:talk, 'sms_reply', '2026-04-15 14:00Z', '{"body": "OPT OUT"}');
RESET ROLE;
SELECT is((SELECT applied_kind FROM cadence.event WHERE lead_id = :talk AND occurred_at = '2026-04-15 14:00Z'),
          'sms_stop', 'an INSERT by the application acts as sms_stop');
SELECT ok((SELECT 'sms' = ANY (blocked_channels) FROM cadence.lead WHERE lead_id = :talk), 'and blocks texts');

-- Nico then opts out of all contact on the phone: the alert his reply
-- raised closes, named after the event as the trigger's exits name theirs
-- (the ledger's own closing of alerts is in 24_consent_bulk).
SELECT cadence.record_event(:talk, 'opt_out', '2026-04-15 15:00Z') AS e7 \gset
SELECT results_eq(
    format($$SELECT reason, status, closed_at, closed_by FROM cadence.alert WHERE lead_id = %s$$, :talk),
    $$VALUES ('sms_reply', 'closed', '2026-04-15 15:00Z'::timestamptz, 'event:opt_out'::text)$$,
    'an opt_out event closes the lead''s open alert');

SELECT * FROM finish();
ROLLBACK;
