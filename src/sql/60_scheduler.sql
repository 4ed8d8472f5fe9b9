-- cadence: install script, part 7: what the scheduler runs.  The same
-- functions serve the background workers (worker.c) and, where custom
-- workers cannot be loaded, pg_cron (cadence.setup_pg_cron()).

CREATE FUNCTION cadence.wake_worker()
RETURNS boolean
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cadence_wake_worker';
COMMENT ON FUNCTION cadence.wake_worker() IS
  'Wake this database''s worker when the transaction commits (never on rollback); false without the preload';

CREATE FUNCTION cadence.worker_stats(OUT database_oid oid, OUT pid integer, OUT installed boolean,
                                     OUT last_tick_at timestamptz, OUT last_enqueued bigint, OUT total_enqueued bigint,
                                     OUT ticks bigint, OUT errors bigint, OUT last_error text, OUT last_error_at timestamptz,
                                     OUT lag_seconds double precision)
RETURNS SETOF record
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cadence_worker_stats';
COMMENT ON FUNCTION cadence.worker_stats() IS 'Figures the background workers keep in shared memory, one row per database';

CREATE VIEW cadence.worker_status AS
SELECT d.datname AS database, s.pid, s.installed, s.last_tick_at, s.last_enqueued, s.total_enqueued, s.ticks,
       s.errors, s.last_error, s.last_error_at, s.lag_seconds
  FROM cadence.worker_stats() s
  LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.database_oid;
COMMENT ON VIEW cadence.worker_status IS
  'Per database: the worker''s pid, last tick, touches queued in the last tick and in all, errors and the last one, and how late the oldest due step was after the last tick (seconds)';

-- Every tenant, for the scheduler and maintenance jobs, which act for each
-- tenant in turn under row-level security.
CREATE FUNCTION cadence.tenant_ids()
RETURNS SETOF bigint
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, cadence, pg_temp
BEGIN ATOMIC
    SELECT t.tenant_id FROM cadence.tenant t ORDER BY t.tenant_id;
END;
REVOKE EXECUTE ON FUNCTION cadence.tenant_ids() FROM PUBLIC;
COMMENT ON FUNCTION cadence.tenant_ids() IS 'Every tenant id (for the scheduler and maintenance; not for applications)';

-- Tenants whose tick failed, until one of their ticks succeeds: the
-- scheduler ticks them apart, one subtransaction each, so that the other
-- tenants are ticked once, in one subtransaction, on every tick while one
-- tenant stays broken.  Operators read here which tenant fails, since
-- when, and why.  Written by run_worker_tick() alone.
CREATE TABLE cadence.tick_failure (
    tenant_id     bigint PRIMARY KEY REFERENCES cadence.tenant ON DELETE CASCADE,
    failed_since  timestamptz NOT NULL,   -- the first tick of this run of failures
    failed_at     timestamptz NOT NULL,   -- the latest
    failures      bigint NOT NULL CHECK (failures > 0),
    sqlstate      text NOT NULL,
    message       text NOT NULL
);
COMMENT ON TABLE cadence.tick_failure IS
  'Tenants whose last tick failed: since when, how many ticks in a row, the latest error; ticked apart until one succeeds';
ALTER TABLE cadence.tick_failure ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON cadence.tick_failure USING (tenant_id OPERATOR(pg_catalog.=)
    COALESCE(pg_catalog.int8(NULLIF(pg_catalog.current_setting('cadence.tenant_id', true), '')), 1));
SELECT pg_catalog.pg_extension_config_dump('cadence.tick_failure', '');

-- The tenants of cadence.tick_failure, for the scheduler, which reads them
-- before it acts for any tenant.
CREATE FUNCTION cadence.failing_tenant_ids()
RETURNS bigint[]
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, cadence, pg_temp
BEGIN ATOMIC
    SELECT coalesce(array_agg(f.tenant_id ORDER BY f.tenant_id), '{}') FROM cadence.tick_failure f;
END;
REVOKE EXECUTE ON FUNCTION cadence.failing_tenant_ids() FROM PUBLIC;
COMMENT ON FUNCTION cadence.failing_tenant_ids() IS 'The tenants whose last tick failed (for the scheduler; not for applications)';

-- Remember that a tenant's tick failed (as_of, the SQLSTATE and message),
-- or, with sqlstate NULL, that it succeeded.  Internal (run_worker_tick).
CREATE FUNCTION cadence.note_tick_outcome(tenant_id bigint, as_of timestamptz, sqlstate text, message text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('cadence.tenant_id', note_tick_outcome.tenant_id::text, true);
    IF note_tick_outcome.sqlstate IS NULL THEN
        DELETE FROM cadence.tick_failure f WHERE f.tenant_id = note_tick_outcome.tenant_id;
    ELSE
        INSERT INTO cadence.tick_failure AS f (tenant_id, failed_since, failed_at, failures, sqlstate, message)
        VALUES (note_tick_outcome.tenant_id, as_of, as_of, 1, note_tick_outcome.sqlstate, note_tick_outcome.message)
        ON CONFLICT ON CONSTRAINT tick_failure_pkey DO UPDATE
           SET failed_at = excluded.failed_at, failures = f.failures + 1,
               sqlstate = excluded.sqlstate, message = excluded.message;
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.note_tick_outcome(bigint, timestamptz, text, text) IS
  'Internal: record in cadence.tick_failure that a tenant''s tick failed, or forget it once one succeeds';

-- One tenant's part of a scheduler tick: its tick, the channels it has
-- touches ready on, how late its backlog runs and when its next thing
-- falls due.  Internal (run_worker_tick).
CREATE FUNCTION cadence.tick_tenant(tenant_id bigint, as_of timestamptz,
                                    OUT queued bigint, OUT ready text[], OUT oldest timestamptz, OUT next_due_at timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant bigint := tick_tenant.tenant_id;
BEGIN
    PERFORM set_config('cadence.tenant_id', v_tenant::text, true);
    -- this tenant alone, even for a caller who sees every tenant (pg_cron's)
    queued := cadence.tick_for_tenant(v_tenant, as_of);

    SELECT coalesce(array_agg(c.channel), '{}') INTO ready
      FROM cadence.channel c
     WHERE EXISTS (SELECT FROM cadence.touch t
                    WHERE t.tenant_id = v_tenant AND t.status = 'queued' AND t.channel = c.channel
                      AND t.due_at <= as_of);

    -- still due after the tick (a backlog larger than a tick): since when
    SELECT e.next_due_at INTO oldest FROM cadence.enrolment e
     WHERE e.tenant_id = v_tenant AND e.status = 'active' AND e.next_due_at IS NOT NULL
     ORDER BY e.next_due_at LIMIT 1;
    -- the next moment anything falls due for this tenant
    SELECT least((SELECT e.next_due_at FROM cadence.enrolment e
                   WHERE e.tenant_id = v_tenant AND e.status = 'active' AND e.next_due_at > as_of
                   ORDER BY e.next_due_at LIMIT 1),
                 (SELECT e.move_due_at FROM cadence.enrolment e
                   WHERE e.tenant_id = v_tenant AND e.status = 'active' AND e.move_due_at > as_of
                   ORDER BY e.move_due_at LIMIT 1),
                 (SELECT a.escalate_at FROM cadence.alert a
                   WHERE a.tenant_id = v_tenant AND a.status = 'open' AND a.no_manager_at IS NULL
                     AND a.escalate_at > as_of
                   ORDER BY a.escalate_at LIMIT 1),
                 (SELECT min(x.due_at) FROM cadence.channel c
                   CROSS JOIN LATERAL (SELECT t.due_at FROM cadence.touch t
                                        WHERE t.tenant_id = v_tenant AND t.status = 'queued'
                                          AND t.channel = c.channel AND t.due_at > as_of
                                        ORDER BY t.due_at LIMIT 1) x),
                 (SELECT min(x.lease_until) FROM cadence.channel c
                   CROSS JOIN LATERAL (SELECT t.lease_until FROM cadence.touch t
                                        WHERE t.tenant_id = v_tenant AND t.status = 'claimed'
                                          AND t.channel = c.channel AND t.lease_until > as_of
                                        ORDER BY t.lease_until LIMIT 1) x))
      INTO next_due_at;
END
$$;
COMMENT ON FUNCTION cadence.tick_tenant(bigint, timestamptz) IS
  'Internal: one tenant''s part of run_worker_tick: queued touches, channels ready, oldest backlog, next due time';

-- One tick of the scheduler for every tenant: advance what is due, tell
-- senders which channels have touches ready (one NOTIFY per channel and
-- tick on channel cadence_touches, payload the channel name, sent at
-- commit), and say when the next thing falls due so the worker can sleep
-- until then.
--
-- One tenant's bad data (a definition edited by hand into something the
-- tick cannot run) must not stop every other tenant's cadences.  The
-- tenants are ticked in one subtransaction, but for those whose last tick
-- failed (cadence.tick_failure), which are ticked after it one
-- subtransaction each.  If that pass fails, it is undone and its tenants
-- join the one-by-one part.  A tenant that fails there is skipped with a
-- WARNING naming it, reported in failed_tenants (the worker counts it in
-- worker_status.errors) and remembered in cadence.tick_failure; one that
-- succeeds is forgotten.  So while a tenant stays broken, each tick runs
-- the others once, not twice.  (A subtransaction per tenant on every tick
-- would, past 64 tenants writing, slow every other session's snapshots.)
-- When no tenant can be ticked at all, the first error is raised as it
-- came: something is wrong with the installation, not with a tenant's
-- data.
CREATE FUNCTION cadence.run_worker_tick(as_of timestamptz DEFAULT pg_catalog.now(),
                                        OUT queued bigint, OUT lag_seconds double precision, OUT next_due_at timestamptz,
                                        OUT failed_tenants text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant   bigint;
    v_part     record;
    v_ready    text[] := '{}';
    v_oldest   timestamptz;
    v_next     timestamptz;
    v_channel  text;
    v_message  text;
    v_state    text;
    v_failing  bigint[] := cadence.failing_tenant_ids();
    v_sound    bigint[];
    v_ticked   integer := 0;     -- tenants ticked one by one, and those that failed
    v_failed   integer := 0;
    v_first_message text;
    v_first_state   text;
BEGIN
    v_sound := ARRAY(SELECT t FROM cadence.tenant_ids() t WHERE t <> ALL (v_failing));
    queued := 0;
    BEGIN
        FOREACH v_tenant IN ARRAY v_sound LOOP
            v_part := cadence.tick_tenant(v_tenant, as_of);
            queued := queued + v_part.queued;
            v_ready := v_ready || v_part.ready;
            v_oldest := least(v_oldest, v_part.oldest);
            v_next := least(v_next, v_part.next_due_at);
        END LOOP;
        v_ticked := cardinality(v_sound);
    EXCEPTION WHEN OTHERS THEN
        -- a tenant that was sound fails now: those ticks are undone, and
        -- every sound tenant joins the failing ones, ticked one by one
        queued := 0;
        v_ready := '{}';
        v_oldest := NULL;
        v_next := NULL;
        v_failing := v_sound || v_failing;
    END;
    FOREACH v_tenant IN ARRAY v_failing LOOP
        BEGIN
            v_part := cadence.tick_tenant(v_tenant, as_of);
            queued := queued + v_part.queued;
            v_ready := v_ready || v_part.ready;
            v_oldest := least(v_oldest, v_part.oldest);
            v_next := least(v_next, v_part.next_due_at);
            v_ticked := v_ticked + 1;
            PERFORM cadence.note_tick_outcome(v_tenant, as_of, NULL, NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
            RAISE WARNING 'cadence: the tick of tenant % failed and was skipped: % (SQLSTATE %)',
                          v_tenant, v_message, v_state;
            v_failed := v_failed + 1;
            IF v_failed = 1 THEN
                v_first_message := v_message;
                v_first_state := v_state;
                failed_tenants := format('tenant %s: %s (SQLSTATE %s)', v_tenant, v_message, v_state);
            END IF;
            PERFORM cadence.note_tick_outcome(v_tenant, as_of, v_state, v_message);
        END;
    END LOOP;
    IF v_failed > 0 AND v_ticked = 0 THEN
        RAISE EXCEPTION USING MESSAGE = v_first_message, ERRCODE = v_first_state;
    END IF;
    IF v_failed > 1 THEN
        failed_tenants := failed_tenants || format(', and %s more', v_failed - 1);
    END IF;
    PERFORM set_config('cadence.tenant_id', '', true);

    FOREACH v_channel IN ARRAY ARRAY(SELECT DISTINCT c FROM unnest(v_ready) c ORDER BY c) LOOP
        PERFORM pg_notify('cadence_touches', v_channel);
    END LOOP;
    lag_seconds := CASE WHEN v_oldest IS NOT NULL AND v_oldest <= as_of
                        THEN extract(epoch FROM as_of - v_oldest) ELSE 0 END;
    next_due_at := v_next;
END
$$;
COMMENT ON FUNCTION cadence.run_worker_tick(timestamptz) IS
  'One scheduler tick over every tenant: tick, NOTIFY cadence_touches once per channel with touches ready, the next due time, and the tenants whose tick failed';

-- Maintenance, for pg_cron in both modes.
CREATE FUNCTION cadence.rescore_all(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant  bigint;
    v_changed bigint := 0;
BEGIN
    FOR v_tenant IN SELECT * FROM cadence.tenant_ids() LOOP
        PERFORM set_config('cadence.tenant_id', v_tenant::text, true);
        v_changed := v_changed + cadence.rescore(as_of);
    END LOOP;
    PERFORM set_config('cadence.tenant_id', '', true);
    RETURN v_changed;
END
$$;
COMMENT ON FUNCTION cadence.rescore_all(timestamptz) IS 'Rescore every tenant (the nightly decay job); returns the leads changed';

-- Retention: finished touches, events and closed alerts older than each
-- tenant's retention go; the consent ledger and enrolments stay.
CREATE FUNCTION cadence.purge_old(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (tenant_id bigint, touches bigint, events bigint, alerts bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tenant bigint;
    v_cutoff timestamptz;
BEGIN
    FOR v_tenant IN SELECT * FROM cadence.tenant_ids() LOOP
        PERFORM set_config('cadence.tenant_id', v_tenant::text, true);
        SELECT as_of - t.retention INTO v_cutoff FROM cadence.tenant t WHERE t.tenant_id = v_tenant;
        tenant_id := v_tenant;
        WITH gone AS (
            DELETE FROM cadence.alert a
             WHERE a.tenant_id = v_tenant AND a.status = 'closed' AND a.closed_at < v_cutoff
            RETURNING 1)
        SELECT count(*) INTO alerts FROM gone;
        WITH gone AS (
            DELETE FROM cadence.event e
             WHERE e.tenant_id = v_tenant AND e.occurred_at < v_cutoff
               AND NOT EXISTS (SELECT FROM cadence.alert a WHERE a.tenant_id = e.tenant_id AND a.event_id = e.event_id)
            RETURNING 1)
        SELECT count(*) INTO events FROM gone;
        WITH gone AS (
            DELETE FROM cadence.touch t
             WHERE t.tenant_id = v_tenant AND t.status IN ('done', 'failed', 'skipped', 'cancelled')
               AND coalesce(t.completed_at, t.created_at) < v_cutoff
               AND NOT EXISTS (SELECT FROM cadence.event e WHERE e.tenant_id = t.tenant_id AND e.touch_id = t.touch_id)
            RETURNING 1)
        SELECT count(*) INTO touches FROM gone;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('cadence.tenant_id', '', true);
END
$$;
COMMENT ON FUNCTION cadence.purge_old(timestamptz) IS
  'Delete finished touches, events and closed alerts older than each tenant''s retention; returns what went, per tenant';

-- Without the preload (managed PostgreSQL), pg_cron drives the engine.
-- pg_cron 1.4 schedules by the minute, so touches are due to the minute.
CREATE FUNCTION cadence.setup_pg_cron(tick_schedule text DEFAULT '* * * * *',
                                      rescore_schedule text DEFAULT '15 3 * * *',
                                      purge_schedule text DEFAULT '45 3 * * *',
                                      with_tick boolean DEFAULT true)
RETURNS TABLE (job_name text, schedule text, command text, jobid bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_jobs text[][] := ARRAY[
        ARRAY['cadence-rescore', rescore_schedule, 'SELECT cadence.rescore_all()'],
        ARRAY['cadence-purge', purge_schedule, 'SELECT count(*) FROM cadence.purge_old()']];
    i integer;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in database "%"', current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Run CREATE EXTENSION pg_cron in the database named by cron.database_name, and call this there.';
    END IF;
    IF with_tick THEN
        v_jobs := ARRAY[ARRAY['cadence-tick', tick_schedule, 'SELECT queued FROM cadence.run_worker_tick()']] || v_jobs;
    END IF;
    FOR i IN 1 .. array_length(v_jobs, 1) LOOP
        job_name := v_jobs[i][1];
        schedule := v_jobs[i][2];
        command := v_jobs[i][3];
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO jobid USING job_name, schedule, command;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION cadence.setup_pg_cron(text, text, text, boolean) IS
  'Schedule the engine''s tick (unless with_tick is false, for the worker mode) and the nightly rescore and purge with pg_cron';
