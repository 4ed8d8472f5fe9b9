-- A list of consent entries in one statement (an opt-out list imported with
-- INSERT ... SELECT or COPY) ends in the same state as the same entries
-- recorded one by one.  Three tenants get the same cadence, leads and
-- queued texts: Lakeside records the entries one INSERT at a time; Harbor
-- and Bayview get theirs in a single INSERT that holds both tenants' rows
-- (as an owner's import would).  Where entries of one lead differ, the
-- first to cover a touch or an enrolment is the one that ends it.
-- Simulated clock: every call passes its time.  Leads are in New York (EDT,
-- UTC-4 in April 2026), so SMS may go out 13:00-24:00 UTC.
BEGIN;
SELECT plan(13);

CREATE FUNCTION pg_temp.set_up_tenant() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM cadence.define_cadence($${
      "key": "bulk-text", "name": "Text, then email an hour after it",
      "steps": [{"channel": "sms", "timing": "immediate", "message": {"body": "Hi {{first_name|there}}, your quote is ready."}},
                {"channel": "email", "timing": "after previous +1 hour",
                 "message": {"subject": "Your quote", "body": "The numbers we talked about."}},
                {"channel": "sms", "timing": "+1 day", "message": {"body": "Any questions?"}}]}$$);
    INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
    SELECT 'L-' || k, initcap(k), k || '@example.com', '+1555555080' || n, 'America/New_York'
      FROM unnest(ARRAY['sms', 'regrant', 'email_all', 'grant', 'call', 'quiet']) WITH ORDINALITY AS x(k, n);
    PERFORM cadence.record_consent(l.lead_id, 'sms', 'grant', 'web_form', '2026-04-14 12:00Z')
       FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant();
    PERFORM cadence.enroll(l.lead_id, 'bulk-text', '2026-04-14 13:30Z')
       FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant();
    PERFORM cadence.tick('2026-04-14 13:40Z');
END
$fn$;

-- The list, in ledger order.
CREATE TEMP TABLE opt_list (ord integer, lead text, channel text, action text, at timestamptz);
INSERT INTO opt_list VALUES
    (1, 'L-sms',       'sms',   'revoke', '2026-04-14 14:00Z'),
    (2, 'L-regrant',   'all',   'revoke', '2026-04-14 14:00Z'),
    (3, 'L-email_all', 'email', 'revoke', '2026-04-14 14:00Z'),
    (4, 'L-grant',     'email', 'grant',  '2026-04-14 14:00Z'),
    (5, 'L-call',      'call',  'revoke', '2026-04-14 14:01Z'),
    (6, 'L-email_all', 'all',   'revoke', '2026-04-14 14:02Z'),
    (7, 'L-regrant',   'sms',   'grant',  '2026-04-14 14:05Z'),
    (8, 'L-sms',       'sms',   'revoke', '2026-04-14 14:03Z');

-- What consent can change, keyed by CRM ids.
CREATE FUNCTION pg_temp.state(tenant bigint) RETURNS SETOF text
LANGUAGE sql AS $$
    SELECT format('lead %s: opted out %s blocked %s consented %s',
                  l.external_id, l.opted_out, l.blocked_channels, l.consented_channels)
      FROM cadence.lead l WHERE l.tenant_id = tenant
    UNION ALL
    SELECT format('enrolment %s: %s %s ended %s next %s step %s',
                  l.external_id, e.status, e.exit_reason, e.ended_at, e.next_due_at, e.next_step_no)
      FROM cadence.enrolment e JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
     WHERE e.tenant_id = tenant
    UNION ALL
    SELECT format('touch %s step %s %s: %s %s due %s', l.external_id, t.step_no, t.channel, t.status, t.status_reason, t.due_at)
      FROM cadence.touch t JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
     WHERE t.tenant_id = tenant
    UNION ALL
    SELECT format('consent %s %s %s at %s', l.external_id, c.channel, c.action, c.recorded_at)
      FROM cadence.consent c JOIN cadence.lead l ON l.tenant_id = c.tenant_id AND l.lead_id = c.lead_id
     WHERE c.tenant_id = tenant
$$;

INSERT INTO cadence.tenant (name) VALUES ('Lakeside Motors') RETURNING tenant_id AS lakeside \gset
INSERT INTO cadence.tenant (name) VALUES ('Harbor Motors') RETURNING tenant_id AS harbor \gset
INSERT INTO cadence.tenant (name) VALUES ('Bayview Motors') RETURNING tenant_id AS bayview \gset

SELECT cadence.set_tenant(:harbor) AS tenant_set \gset
SELECT pg_temp.set_up_tenant() AS set_up \gset
SELECT cadence.set_tenant(:bayview) AS tenant_set \gset
SELECT pg_temp.set_up_tenant() AS set_up \gset
SELECT cadence.set_tenant(:lakeside) AS tenant_set \gset
SELECT pg_temp.set_up_tenant() AS set_up \gset

SELECT is((SELECT count(*) FROM cadence.touch WHERE tenant_id = :lakeside AND status = 'queued'), 6::bigint,
          'before the list, each lead has its first text queued');

-- Lakeside: one INSERT per entry, in order.
DO $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT * FROM opt_list ORDER BY ord LOOP
        INSERT INTO cadence.consent (lead_id, channel, action, method, recorded_at, recorded_by)
        SELECT l.lead_id, o.channel, o.action, 'import', o.at, 'crm-sync'
          FROM cadence.lead l WHERE l.tenant_id = cadence.current_tenant() AND l.external_id = o.lead;
    END LOOP;
END
$$;

-- Harbor and Bayview: one INSERT for both tenants (the test runs as a
-- superuser, as an owner's import would, so the rows name their tenants).
INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method, recorded_at, recorded_by)
SELECT t.tenant_id, l.lead_id, o.channel, o.action, 'import', o.at, 'crm-sync'
  FROM unnest(ARRAY[:harbor, :bayview]::bigint[]) AS t(tenant_id)
 CROSS JOIN opt_list o
  JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.external_id = o.lead
 ORDER BY o.ord, t.tenant_id;

-- The exact outcome, on the single statement's side.
SELECT results_eq(
    format($$SELECT l.external_id, t.status, t.status_reason FROM cadence.touch t
               JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
              WHERE t.tenant_id = %s ORDER BY l.external_id$$, :harbor),
    $$VALUES ('L-call', 'queued', NULL::text), ('L-email_all', 'cancelled', 'opted_out'), ('L-grant', 'queued', NULL),
             ('L-quiet', 'queued', NULL), ('L-regrant', 'cancelled', 'opted_out'), ('L-sms', 'cancelled', 'opted_out')$$,
    'texts are cancelled for an SMS revoke and for a revoke of all, even one followed by a new grant; a call revoke or an email revoke leaves them');
SELECT results_eq(
    format($$SELECT l.external_id, e.status, e.exit_reason, e.ended_at, e.next_due_at FROM cadence.enrolment e
               JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
              WHERE e.tenant_id = %s ORDER BY l.external_id$$, :harbor),
    $$VALUES ('L-call', 'active', NULL::text, NULL::timestamptz, NULL::timestamptz),
             ('L-email_all', 'exited', 'opt_out', '2026-04-14 14:02Z', NULL),
             ('L-grant', 'active', NULL, NULL, NULL),
             ('L-quiet', 'active', NULL, NULL, NULL),
             ('L-regrant', 'exited', 'opt_out', '2026-04-14 14:00Z', NULL),
             ('L-sms', 'active', NULL, NULL, '2026-04-14 15:00Z')$$,
    'a revoke of all ends the enrolment at its own time; the email after a cancelled text is due an hour after the first revoke that covered it');
SELECT results_eq(
    format($$SELECT external_id, opted_out, blocked_channels, consented_channels FROM cadence.lead
              WHERE tenant_id = %s ORDER BY external_id$$, :harbor),
    $$VALUES ('L-call', false, '{call,voicemail}'::text[], '{sms}'::text[]),
             ('L-email_all', true, '{call,email,linkedin,sms,task,video,voicemail}', '{}'),
             ('L-grant', false, '{}', '{email,sms}'),
             ('L-quiet', false, '{}', '{sms}'),
             ('L-regrant', false, '{call,email,linkedin,task,video,voicemail}', '{sms}'),
             ('L-sms', false, '{sms}', '{}')$$,
    'each lead''s consent state follows its latest entry per channel; a grant after a revoke of all reopens that channel only');
SELECT is((SELECT count(*) FROM cadence.consent WHERE tenant_id = :bayview), 14::bigint,
          'Bayview''s ledger holds its 6 grants and the 8 entries of the list');

SELECT bag_eq(format('SELECT * FROM pg_temp.state(%s)', :lakeside),
              format('SELECT * FROM pg_temp.state(%s)', :harbor),
              'Harbor (one statement) ends where Lakeside (one entry at a time) does');
SELECT bag_eq(format('SELECT * FROM pg_temp.state(%s)', :lakeside),
              format('SELECT * FROM pg_temp.state(%s)', :bayview),
              'and so does Bayview, whose rows came in the same statement as Harbor''s');

-- The next tick (run as a superuser, as here, it acts for every tenant):
-- the email after the cancelled text goes out at 15:00, and only there.
SELECT cadence.tick('2026-04-14 15:05Z') AS ticked \gset
SELECT results_eq(
    $$SELECT t.tenant_id, l.external_id, t.step_no, t.channel, t.due_at FROM cadence.touch t
       JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
      WHERE t.status = 'queued' AND t.step_no > 1 ORDER BY t.tenant_id$$,
    format($$VALUES (%s::bigint, 'L-sms', 2, 'email', '2026-04-14 15:00Z'::timestamptz),
                    (%s, 'L-sms', 2, 'email', '2026-04-14 15:00Z'), (%s, 'L-sms', 2, 'email', '2026-04-14 15:00Z')$$,
           :lakeside, :harbor, :bayview),
    'the 15:05 tick queues L-sms''s email, due at 15:00, in each tenant, and nothing else');
SELECT bag_eq(format('SELECT * FROM pg_temp.state(%s)', :lakeside),
              format('SELECT * FROM pg_temp.state(%s)', :harbor),
              'Lakeside and Harbor still match after it');

-- A statement of one entry still goes through the same trigger: Lakeside's
-- quiet lead opts out of everything now.
SELECT cadence.record_consent(l.lead_id, 'all', 'revoke', 'verbal', '2026-04-14 15:10Z') AS quiet_out
  FROM cadence.lead l WHERE l.tenant_id = :lakeside AND l.external_id = 'L-quiet' \gset
SELECT results_eq(
    format($$SELECT t.status, t.status_reason, e.status, e.exit_reason, e.ended_at, l.opted_out
               FROM cadence.lead l
               JOIN cadence.touch t ON t.tenant_id = l.tenant_id AND t.lead_id = l.lead_id
               JOIN cadence.enrolment e ON e.tenant_id = l.tenant_id AND e.lead_id = l.lead_id
              WHERE l.tenant_id = %s AND l.external_id = 'L-quiet'$$, :lakeside),
    $$VALUES ('cancelled', 'opted_out'::text, 'exited', 'opt_out'::text, '2026-04-14 15:10Z'::timestamptz, true)$$,
    'record_consent: a revoke of all cancels the queued text, ends the enrolment and marks the lead');

-- A paused enrolment is a running one: a revoke of all ends it too, and
-- closes the rep's alert.
SELECT cadence.record_event(l.lead_id, 'sms_reply', '2026-04-14 15:20Z', NULL, '{"body": "Can we talk next week?"}') AS reply
  FROM cadence.lead l WHERE l.tenant_id = :lakeside AND l.external_id = 'L-grant' \gset
SELECT is((SELECT e.status FROM cadence.enrolment e JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
            WHERE l.tenant_id = :lakeside AND l.external_id = 'L-grant'), 'paused', 'a reply pauses L-grant''s enrolment');
SELECT cadence.record_consent(l.lead_id, 'all', 'revoke', 'verbal', '2026-04-14 15:25Z') AS grant_out
  FROM cadence.lead l WHERE l.tenant_id = :lakeside AND l.external_id = 'L-grant' \gset
SELECT results_eq(
    format($$SELECT e.status, e.exit_reason, e.ended_at FROM cadence.enrolment e
               JOIN cadence.lead l ON l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id
              WHERE l.tenant_id = %s AND l.external_id = 'L-grant'$$, :lakeside),
    $$VALUES ('exited', 'opt_out'::text, '2026-04-14 15:25Z'::timestamptz)$$,
    'a revoke of all ends the paused enrolment at its time');
SELECT results_eq(
    format($$SELECT a.reason, a.status, a.closed_at, a.closed_by FROM cadence.alert a
               JOIN cadence.lead l ON l.tenant_id = a.tenant_id AND l.lead_id = a.lead_id
              WHERE l.tenant_id = %s AND l.external_id = 'L-grant'$$, :lakeside),
    $$VALUES ('sms_reply', 'closed', '2026-04-14 15:25Z'::timestamptz, 'consent:verbal'::text)$$,
    'and closes the alert the reply raised: no rep is to call a lead who withdrew from all contact');

SELECT * FROM finish();
ROLLBACK;
