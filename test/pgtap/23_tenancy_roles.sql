-- Tenancy and roles: a second tenant made by cadence_admin; login-less test
-- roles in cadence_app, cadence_reader and cadence_admin, used through
-- SET ROLE.  Each tenant sees only its own leads and touches (row-level
-- security); a tick run as cadence_app for tenant 2 advances only tenant 2;
-- an empty or reset cadence.tenant_id means tenant 1; what each role may and
-- may not do; the same external_id in two tenants; the API with an empty
-- search_path.  Simulated clock; leads in New York and Lisbon.
BEGIN;
SELECT plan(51);

CREATE ROLE tap23_app NOLOGIN IN ROLE cadence_app;
CREATE ROLE tap23_reader NOLOGIN IN ROLE cadence_reader;
CREATE ROLE tap23_admin NOLOGIN IN ROLE cadence_admin;

-- Runs one statement with an empty search_path and returns its single value,
-- or the error, so that a failure is reported rather than ending the file.
CREATE FUNCTION pg_temp.with_empty_search_path(statement text) RETURNS text
LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
    result text;
BEGIN
    EXECUTE statement INTO result;
    RETURN result;
EXCEPTION WHEN others THEN
    RETURN 'error ' || SQLSTATE || ': ' || SQLERRM;
END
$$;

-- ---------------------------------------------------------------------------
-- cadence_admin creates tenant 2 and defines cadences in both tenants.
SET ROLE tap23_admin;
SELECT cadence.create_tenant('Harbor Motors') AS t2 \gset
SELECT cadence.set_tenant(:t2) AS ignored \gset
SELECT lives_ok($$SELECT cadence.define_cadence('{
  "key": "tenant-followup", "name": "Harbor follow-up",
  "steps": [{"channel": "email", "timing": "immediate",
             "message": {"subject": "Thanks from {{dealership}}", "body": "Hi {{first_name|there}}."}},
            {"channel": "task", "timing": "+1 day", "message": {"body": "Call {{first_name|the lead}}."}}]}')$$,
    'cadence_admin defines a cadence in tenant 2');
SELECT lives_ok($$SELECT cadence.define_cadence('{
  "key": "harbor-only", "name": "Only at Harbor",
  "steps": [{"channel": "task", "timing": "immediate", "message": {"body": "Say hello."}}]}')$$,
    'cadence_admin defines a second cadence in tenant 2');
SELECT cadence.set_tenant(1) AS ignored \gset
SELECT lives_ok($$SELECT cadence.define_cadence('{
  "key": "tenant-followup", "name": "Lakeside follow-up",
  "steps": [{"channel": "email", "timing": "immediate",
             "message": {"subject": "Thanks from {{dealership}}", "body": "Hello {{first_name|there}}."}},
            {"channel": "task", "timing": "+1 day", "message": {"body": "Call {{first_name|the lead}}."}}]}')$$,
    'cadence_admin defines the same key in tenant 1');
RESET ROLE;
SELECT row_eq(
    format('SELECT name, unsubscribe_url FROM cadence.tenant WHERE tenant_id = %s', :t2),
    ROW('Harbor Motors'::text, NULL::text), 'create_tenant made tenant 2');
SELECT is((SELECT array_agg(tenant_id || ':' || name ORDER BY tenant_id) FROM cadence.cadence WHERE cadence_key = 'tenant-followup'),
          ARRAY['1:Lakeside follow-up', :t2 || ':Harbor follow-up'], 'each tenant has its own tenant-followup');
UPDATE cadence.tenant SET name = 'Lakeside Toyota' WHERE tenant_id = 1;

-- ---------------------------------------------------------------------------
-- cadence_app works in each tenant; the same external_id in both.
SET ROLE tap23_app;
SELECT cadence.set_tenant(1) AS ignored \gset
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
VALUES ('CRM-100', 'Maya', 'maya@example.com', '+15555550301', 'America/New_York') RETURNING lead_id AS maya \gset
SELECT cadence.enroll(:maya, 'tenant-followup', '2026-04-14 15:00+00') AS e_maya \gset
SELECT cadence.set_tenant(:t2) AS ignored \gset
INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
VALUES ('CRM-100', 'Noor', 'noor@example.com', '+351210000100', 'Europe/Lisbon') RETURNING lead_id AS noor \gset
SELECT cadence.enroll(:noor, 'tenant-followup', '2026-04-14 15:00+00') AS e_noor \gset
SELECT is((SELECT array_agg(first_name) FROM cadence.lead WHERE external_id = 'CRM-100'), '{Noor}'::text[],
          'tenant 2 sees only its own CRM-100');
SELECT is((SELECT array_agg(tenant_id) FROM cadence.tenant), ARRAY[:t2::bigint], 'tenant 2 sees only its own tenant row');
SELECT is(cadence.tick('2026-04-14 15:00+00'), 1, 'tick as cadence_app for tenant 2 queues one touch');
SELECT results_eq(
    $$SELECT lead_id, subject, body FROM cadence.touch$$,
    format($$VALUES (%s::bigint, 'Thanks from Harbor Motors'::text,
                     E'Hi Noor.\n\nYou are receiving this because you contacted Harbor Motors. To stop these emails, reply UNSUBSCRIBE.'::text)$$, :noor),
    'it is Noor''s email, written with tenant 2''s cadence and name');
SELECT touch_id AS t_noor FROM cadence.touch WHERE lead_id = :noor \gset
SELECT throws_ok(
    $$INSERT INTO cadence.lead (tenant_id, external_id, time_zone) VALUES (1, 'CRM-999', 'UTC')$$,
    '42501', 'new row violates row-level security policy for table "lead"',
    'cadence_app acting for tenant 2 cannot write a lead into tenant 1');
WITH changed AS (UPDATE cadence.lead SET first_name = 'Changed' WHERE lead_id = :maya RETURNING 1)
SELECT count(*) AS n_changed FROM changed \gset
SELECT is(:n_changed::bigint, 0::bigint, 'nor change tenant 1''s lead');
SELECT throws_ok(
    $$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('CRM-100', 'UTC')$$,
    '23505', NULL, 'an external_id is unique within a tenant');

SELECT cadence.set_tenant(1) AS ignored \gset
SELECT is((SELECT array_agg(first_name) FROM cadence.lead WHERE external_id = 'CRM-100'), '{Maya}'::text[],
          'tenant 1 sees only its own CRM-100');
SELECT is((SELECT count(*) FROM cadence.touch), 0::bigint, 'tenant 1 sees none of tenant 2''s touches');
SELECT is((SELECT count(*) FROM cadence.cadence WHERE cadence_key = 'harbor-only'), 0::bigint,
          'tenant 1 does not see tenant 2''s cadences');
SELECT throws_ok($$SELECT cadence.export_cadence('harbor-only')$$, 'P0002', 'cadence "harbor-only" does not exist',
    'nor can it export them');
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'tenant-followup', '2026-04-14 15:00+00')$$, :noor),
    'P0002', format('lead %s does not exist (field "lead_id")', :noor), 'nor enrol tenant 2''s lead');
SELECT throws_ok(format($$SELECT cadence.record_consent(%s, 'all', 'revoke', 'crm', '2026-04-14 15:00+00')$$, :noor),
    'P0002', format('lead %s does not exist (field "lead_id")', :noor), 'nor record consent for it');
SELECT throws_ok(
    format($$INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method) VALUES (%s, %s, 'all', 'revoke', 'crm')$$, :t2, :noor),
    '42501', 'new row violates row-level security policy for table "consent"',
    'nor write into tenant 2''s consent ledger');
SELECT throws_ok(format($$SELECT cadence.complete_touch(%s, 'sent', '{}', '2026-04-14 15:05+00')$$, :t_noor),
    'P0002', format('touch %s does not exist (field "touch_id")', :t_noor), 'nor complete tenant 2''s touch');
SELECT row_eq(
    format('SELECT next_step_no, next_due_at FROM cadence.enrolment WHERE enrolment_id = %s', :e_maya),
    ROW(1, '2026-04-14 15:00+00'::timestamptz), 'the tenant 2 tick left tenant 1''s enrolment alone');
SELECT is(cadence.tick('2026-04-14 15:00+00'), 1, 'tick as cadence_app for tenant 1 queues Maya''s email');
SELECT results_eq(
    $$SELECT l.external_id, l.first_name, c.tenant_id FROM cadence.claim_touches('{email}', 'mailer', 10, '5 minutes', '2026-04-14 15:01+00') c
        JOIN cadence.lead l USING (tenant_id, lead_id)$$,
    $$VALUES ('CRM-100'::text, 'Maya'::text, 1::bigint)$$,
    'a claim for tenant 1 takes only tenant 1''s due email');

-- An empty or reset cadence.tenant_id means tenant 1.
SET LOCAL cadence.tenant_id = '';
SELECT is(cadence.current_tenant(), 1::bigint, 'an empty cadence.tenant_id is tenant 1');
SELECT is((SELECT array_agg(first_name) FROM cadence.lead), '{Maya}'::text[], 'and row-level security shows tenant 1');
RESET cadence.tenant_id;
SELECT is(current_setting('cadence.tenant_id', true), '', 'reset, cadence.tenant_id is back to its empty default');
SELECT is(cadence.current_tenant(), 1::bigint, 'a reset cadence.tenant_id is tenant 1');
SELECT is((SELECT array_agg(first_name) FROM cadence.lead), '{Maya}'::text[], 'and shows tenant 1''s leads');

-- Back in tenant 2 the sender gets Noor's email.
SELECT cadence.set_tenant(:t2) AS ignored \gset
SELECT results_eq(
    $$SELECT l.first_name, c.tenant_id FROM cadence.claim_touches('{email}', 'mailer', 10, '5 minutes', '2026-04-14 15:02+00') c
        JOIN cadence.lead l USING (tenant_id, lead_id)$$,
    format($$VALUES ('Noor'::text, %s::bigint)$$, :t2),
    'a claim for tenant 2 takes only tenant 2''s email');
SELECT is((SELECT (cadence.complete_touch(touch_id, 'delivered', '{}', '2026-04-14 15:03+00')).status FROM cadence.touch WHERE lead_id = :noor),
          'done', 'cadence_app completes it');

-- What cadence_app may not do.
SELECT throws_ok($$SELECT cadence.define_cadence('{"key": "x", "name": "X", "steps": [{"channel": "task", "timing": "immediate", "message": {"body": "x"}}]}')$$,
    '42501', 'permission denied for function define_cadence', 'cadence_app cannot define cadences');
SELECT throws_ok($$SELECT cadence.create_tenant('Rogue Motors')$$,
    '42501', 'permission denied for function create_tenant', 'cadence_app cannot create tenants');
SELECT throws_ok(format('UPDATE cadence.consent SET method = %L WHERE lead_id = %s', 'verbal', :noor),
    '42501', 'permission denied for table consent', 'cadence_app cannot update the consent ledger');
SELECT throws_ok(format('DELETE FROM cadence.touch WHERE lead_id = %s', :noor),
    '42501', 'permission denied for table touch', 'cadence_app cannot delete touches');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- cadence_reader reads, nothing more.
SET ROLE tap23_reader;
SELECT cadence.set_tenant(:t2) AS ignored \gset
SELECT is((SELECT array_agg(first_name) FROM cadence.lead), '{Noor}'::text[], 'cadence_reader reads tenant 2''s leads');
SELECT is((SELECT array_agg(status) FROM cadence.touch), '{done}'::text[], 'and its touches');
SELECT throws_ok($$INSERT INTO cadence.lead (external_id, time_zone) VALUES ('CRM-300', 'UTC')$$,
    '42501', 'permission denied for table lead', 'cadence_reader cannot insert a lead');
SELECT throws_ok(format($$SELECT cadence.enroll(%s, 'harbor-only', '2026-04-14 16:00+00', true)$$, :noor),
    '42501', 'permission denied for function enroll', 'cadence_reader cannot enrol');
SELECT throws_ok($$SELECT cadence.tick('2026-04-14 16:00+00')$$,
    '42501', 'permission denied for function tick', 'cadence_reader cannot tick');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Seen from the owner (no row-level security): both CRM-100s, apart.
SELECT is((SELECT array_agg(tenant_id || ':' || first_name ORDER BY tenant_id) FROM cadence.lead WHERE external_id = 'CRM-100'),
          ARRAY['1:Maya', :t2 || ':Noor'], 'the same external_id exists once in each tenant');

-- ---------------------------------------------------------------------------
-- The API with an empty search_path, as cadence_app in tenant 2.
SET ROLE tap23_app;
SELECT cadence.set_tenant(:t2) AS ignored \gset
SELECT is(pg_temp.with_empty_search_path($$SELECT pg_catalog.current_setting('search_path')$$), '""',
          'the helper really runs with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT cadence.current_tenant()::text$$), :t2::text,
          'current_tenant works with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$INSERT INTO cadence.lead (external_id, first_name, email, phone, time_zone)
              VALUES ('CRM-200', 'Rui', 'rui@example.com', '+351210000200', 'Europe/Lisbon') RETURNING tenant_id::text$$),
          :t2::text, 'a lead insert takes the current tenant as default with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT (cadence.enroll(l.lead_id, 'tenant-followup', '2026-04-14 16:00+00') > 0)::text
                                            FROM cadence.lead l WHERE l.external_id = 'CRM-200'$$),
          'true', 'enroll works with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT cadence.tick('2026-04-14 16:00+00')::text$$), '1',
          'tick works with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT pg_catalog.string_agg(c.channel || ':' || c.claimed_by, ',')
                                            FROM cadence.claim_touches('{email}', 'mailer', 10, '5 minutes', '2026-04-14 16:00+00') c$$),
          'email:mailer', 'claim_touches works with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT (cadence.complete_touch(t.touch_id, 'delivered', '{}', '2026-04-14 16:01+00')).status
                                            FROM cadence.touch t JOIN cadence.lead l USING (tenant_id, lead_id)
                                           WHERE l.external_id = 'CRM-200' AND t.step_no = 1$$),
          'done', 'complete_touch works with an empty search_path');
SELECT is(pg_temp.with_empty_search_path($$SELECT (cadence.record_consent(l.lead_id, 'all', 'revoke', 'email_link', '2026-04-14 16:02+00') > 0)::text
                                            FROM cadence.lead l WHERE l.external_id = 'CRM-200'$$),
          'true', 'record_consent works with an empty search_path');
SELECT is((SELECT e.status || ':' || e.exit_reason FROM cadence.enrolment e JOIN cadence.lead l USING (tenant_id, lead_id)
            WHERE l.external_id = 'CRM-200'), 'exited:opt_out', 'and its trigger did its work');
SELECT is(pg_temp.with_empty_search_path($$SELECT (cadence.render('Hi {{first_name|there}}', '{}')).rendered$$), 'Hi there',
          'render works with an empty search_path');
RESET ROLE;
SET ROLE tap23_admin;
SELECT is(pg_temp.with_empty_search_path($$SELECT (cadence.define_cadence('{"key": "empty-path", "name": "Empty path",
              "steps": [{"channel": "sms", "timing": "day 2", "window": "morning", "days": ["tue", "wed"],
                         "message": {"body": "Hi {{first_name|there}}"}}]}') > 0)::text$$),
          'true', 'define_cadence works with an empty search_path');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
