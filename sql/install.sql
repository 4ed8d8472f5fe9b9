-- install: CREATE EXTENSION with an empty search_path, then the catalog
-- facts every install must have: the tables and functions, their volatility,
-- security and pinned search_path, a comment on every object, row-level
-- security on every tenant table, the tables pg_dump keeps, the three roles
-- and their privileges; finally DROP EXTENSION and a second CREATE.

-- Previous tests in this database may have left the extension installed.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS cadence CASCADE;
RESET client_min_messages;

-- The install script must not depend on the caller's search_path.
SET search_path = '';
CREATE EXTENSION cadence;
SELECT extname, extversion, extrelocatable, extnamespace::regnamespace AS schema
  FROM pg_extension WHERE extname = 'cadence';

-- Tables and whether row-level security is on (forced would lock out the owner).
SELECT c.relname, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
       EXISTS (SELECT FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant_id,
       (SELECT string_agg(p.polname || ':' || p.polcmd::text, ',' ORDER BY p.polname)
          FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- Every table with a tenant_id has RLS and a policy: none listed here.
SELECT c.relname AS tenant_table_without_rls
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'r'
   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
   AND (NOT c.relrowsecurity OR NOT EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid))
 ORDER BY 1;

-- Functions: language, SECURITY DEFINER, volatility, parallel safety,
-- strictness and the settings pinned to the function.
SELECT p.oid::regprocedure AS function, l.lanname AS lang, p.prosecdef AS secdef,
       p.provolatile AS vol, p.proparallel AS par, p.proisstrict AS strict,
       p.proconfig AS config
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'cadence'::regnamespace
 ORDER BY p.proname, p.oid::regprocedure::text;

-- Name resolution is pinned: every SQL or PL/pgSQL function sets search_path
-- or is a SQL-standard body (RETURN ..., bound when created); aggregates run
-- only their C support functions.  None listed.
SELECT p.oid::regprocedure AS function_with_unpinned_search_path
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'cadence'::regnamespace
   AND l.lanname <> 'c'
   AND p.prokind <> 'a'
   AND p.prosqlbody IS NULL
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
 ORDER BY 1;

-- A SECURITY DEFINER function must put pg_temp last.  None listed.
SELECT p.oid::regprocedure AS definer_with_unsafe_search_path
  FROM pg_proc p
 WHERE p.pronamespace = 'cadence'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%pg\_temp')
 ORDER BY 1;

-- A C function that runs SQL (the tick) also pins search_path.
SELECT p.oid::regprocedure AS function, p.proconfig
  FROM pg_proc p
 WHERE p.oid = 'cadence.tick(timestamptz)'::regprocedure;

-- Every table, function and the schema has a comment.  None listed.
SELECT 'table' AS kind, c.oid::regclass::text AS object
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'r'
   AND obj_description(c.oid, 'pg_class') IS NULL
UNION ALL
SELECT 'function', p.oid::regprocedure::text
  FROM pg_proc p
 WHERE p.pronamespace = 'cadence'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
UNION ALL
SELECT 'schema', n.nspname::text
  FROM pg_namespace n
 WHERE n.nspname = 'cadence' AND obj_description(n.oid, 'pg_namespace') IS NULL
 ORDER BY 1, 2;

-- What pg_dump keeps: every tenant table (the default tenant row is made by
-- the install script) and the identity sequences.
SELECT cfg.rel::regclass AS config_relation, cfg.cond AS condition
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS cfg(rel, cond)
 WHERE e.extname = 'cadence'
 ORDER BY cfg.rel::regclass::text;

-- Tables holding user data that pg_dump would lose: only the shared channel
-- reference table, which the install script fills.
SELECT c.oid::regclass AS table_not_dumped
  FROM pg_class c, pg_extension e
 WHERE e.extname = 'cadence' AND c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'r'
   AND c.oid <> ALL (e.extconfig)
 ORDER BY 1;

-- Reference data and the default tenant.
SELECT channel, consent_channels, requires_consent, address_field, rep_task,
       allowed_from, allowed_until, max_per_day, min_gap, counts_as
  FROM cadence.channel ORDER BY channel;
SELECT tenant_id, name FROM cadence.tenant ORDER BY tenant_id;

-- The three roles: no login, no RLS bypass, and each includes the one below.
SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls,
       ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
              WHERE m.member = r.oid ORDER BY g.rolname) AS member_of
  FROM pg_roles r
 WHERE r.rolname IN ('cadence_reader', 'cadence_app', 'cadence_admin')
 ORDER BY r.rolname;

-- No cadence function is executable by PUBLIC.  None listed.
SELECT p.oid::regprocedure AS function_executable_by_public
  FROM pg_proc p
 WHERE p.pronamespace = 'cadence'::regnamespace
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

-- Who may call the public API (membership is inherited: admin > app > reader).
SELECT f.fn AS function,
       has_function_privilege('public', f.fn, 'EXECUTE') AS public,
       has_function_privilege('cadence_reader', f.fn, 'EXECUTE') AS reader,
       has_function_privilege('cadence_app', f.fn, 'EXECUTE') AS app,
       has_function_privilege('cadence_admin', f.fn, 'EXECUTE') AS admin
  FROM (VALUES (1, 'cadence.create_tenant(text)'::regprocedure),
               (2, 'cadence.define_cadence(jsonb)'),
               (3, 'cadence.export_cadence(text, integer)'),
               (4, 'cadence.set_tenant(bigint, boolean)'),
               (5, 'cadence.enroll(bigint, text, timestamptz, boolean)'),
               (6, 'cadence.record_consent(bigint, text, text, text, timestamptz, text, jsonb)'),
               (7, 'cadence.tick(timestamptz)'),
               (8, 'cadence.claim_touches(text[], text, integer, interval, timestamptz)'),
               (9, 'cadence.complete_touch(bigint, text, jsonb, timestamptz)'),
               (10, 'cadence.release_touch(bigint, text, text, timestamptz)')) AS f(n, fn)
 ORDER BY f.n;

-- Table privileges of the roles: readers read, the app writes leads, consent
-- (insert only) and the queue, admins write cadences.
SELECT c.relname,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('cadence_reader', c.oid, 'SELECT') AS reader_select,
       has_table_privilege('cadence_reader', c.oid, 'INSERT') AS reader_insert,
       has_table_privilege('cadence_app', c.oid, 'INSERT') AS app_insert,
       has_table_privilege('cadence_app', c.oid, 'UPDATE') AS app_update,
       has_table_privilege('cadence_app', c.oid, 'DELETE') AS app_delete,
       has_table_privilege('cadence_admin', c.oid, 'INSERT') AS admin_insert
  FROM pg_class c
 WHERE c.relnamespace = 'cadence'::regnamespace AND c.relkind = 'r'
 ORDER BY c.relname;

-- The installed objects work with an empty search_path, as the roles
-- (which do not bypass row-level security) and on a simulated clock.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET ROLE cadence_admin;
SELECT cadence.define_cadence('{"key": "install-check", "name": "Install check", "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Hello {{first_name|there}}", "body": "Thanks for your enquiry."}}]}') AS cadence_version_id;
SET ROLE cadence_app;
INSERT INTO cadence.lead (external_id, first_name, email, time_zone)
VALUES ('crm-install-1', 'Ana', 'ana@example.com', 'America/Chicago')
RETURNING lead_id, tenant_id;
SELECT cadence.enroll(1, 'install-check', '2026-03-02 15:00+00') AS enrolment_id;
SELECT cadence.tick('2026-03-02 15:00+00') AS queued;
SELECT touch_id, claimed_by, subject, attempts
  FROM cadence.claim_touches(ARRAY['email'], 'install-sender', 10, '5 minutes', '2026-03-02 15:01+00');
-- Creating a tenant is for cadence_admin only.
DO $$
BEGIN
    PERFORM cadence.create_tenant('Westside Motors');
    RAISE NOTICE 'no error';
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END
$$;
SET ROLE cadence_admin;
SELECT cadence.create_tenant('Westside Motors') AS tenant_id;
SET ROLE cadence_reader;
SELECT t.step_no, t.channel, t.status, t.due_at, e.status AS enrolment_status
  FROM cadence.touch t JOIN cadence.enrolment e USING (tenant_id, enrolment_id)
 ORDER BY t.touch_id;
RESET ROLE;

-- DROP EXTENSION removes every object of the extension, but not the
-- cluster-wide roles; a second CREATE EXTENSION works and reuses them.
SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'cadence'::regnamespace) AS functions_before,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'cadence'::regnamespace) AS relations_before \gset
DROP EXTENSION cadence;
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'cadence') AS relations_left,
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'cadence') AS functions_left,
       (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = 'cadence') AS types_left;
SELECT count(*) AS cadence_roles FROM pg_roles
 WHERE rolname IN ('cadence_reader', 'cadence_app', 'cadence_admin');
CREATE EXTENSION cadence;
SELECT (SELECT count(*) FROM cadence.channel) AS channels,
       (SELECT count(*) FROM cadence.tenant) AS tenants,
       (SELECT count(*) FROM cadence.cadence) AS cadences,
       (SELECT count(*) FROM pg_proc WHERE pronamespace = 'cadence'::regnamespace) = :functions_before AS same_functions,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'cadence'::regnamespace) = :relations_before AS same_relations;
SELECT has_function_privilege('cadence_admin', 'cadence.create_tenant(text)', 'EXECUTE') AS admin_may_create_tenant,
       has_function_privilege('public', 'cadence.create_tenant(text)', 'EXECUTE') AS public_may_create_tenant;

-- Leave the database as we found it.
DROP EXTENSION cadence;
RESET search_path;
