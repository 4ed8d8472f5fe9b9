-- cadence: install script, part 0.5: the roles, made early so that each
-- later part can grant what it adds.
-- Roles are cluster-wide, so a second database reuses them.  None of them
-- bypasses row-level security: every role works within the current tenant.
--   cadence_reader  read-only, for reporting tools
--   cadence_app     the CRM application: leads, consent, enrolment, the queue
--   cadence_admin   defines cadences and channel policies, creates tenants
--   cadence_worker  the role the background workers act as
-- A role of these names that already exists is reused only if it looks like
-- one of ours (no login, no special powers): a role prepared by someone
-- else, say with LOGIN and a password they know, would otherwise receive
-- every grant below.
DO $install$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['cadence_reader', 'cadence_app', 'cadence_admin', 'cadence_worker'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles x
                       WHERE x.rolname OPERATOR(pg_catalog.=) r
                         AND (x.rolcanlogin OR x.rolsuper OR x.rolcreaterole OR x.rolcreatedb
                              OR x.rolreplication OR x.rolbypassrls)) THEN
            RAISE EXCEPTION 'role "%" exists and can log in or holds special powers', r
                USING ERRCODE = 'duplicate_object',
                      HINT = 'cadence''s roles are group roles: grant them to login roles. Drop or ALTER ROLE ... NOLOGIN the existing one, then CREATE EXTENSION again.';
        END IF;
    END LOOP;
END
$install$;
GRANT cadence_reader TO cadence_app;
GRANT cadence_app TO cadence_admin;
-- the background workers run the engine as cadence_worker: what the
-- application may do, plus listing the tenants it ticks one at a time
GRANT cadence_app TO cadence_worker;
