-- cadence: install script, part 3: tenants, enrolment, consent, the tick and
-- the delivery API.  Every function takes the time it acts at as an argument.

CREATE FUNCTION cadence.set_tenant(tenant_id bigint, is_local boolean DEFAULT true)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF set_tenant.tenant_id IS NULL OR set_tenant.tenant_id < 1 THEN
        RAISE EXCEPTION 'invalid tenant_id %', coalesce(set_tenant.tenant_id::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM set_config('cadence.tenant_id', set_tenant.tenant_id::text, is_local);
    RETURN set_tenant.tenant_id;
END
$$;
COMMENT ON FUNCTION cadence.set_tenant(bigint, boolean) IS
  'Act for this tenant for the rest of the transaction (or the session when is_local is false)';

-- Creating a tenant writes a row no current tenant can see, so it runs as
-- the extension owner; only cadence_admin may call it.
CREATE FUNCTION cadence.create_tenant(name text)
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cadence, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF create_tenant.name IS NULL OR btrim(create_tenant.name) = '' THEN
        RAISE EXCEPTION 'empty tenant name in field "name"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO cadence.tenant (name) VALUES (create_tenant.name) RETURNING tenant_id INTO v_id;
    RETURN v_id;
END
$$;
REVOKE EXECUTE ON FUNCTION cadence.create_tenant(text) FROM PUBLIC;
COMMENT ON FUNCTION cadence.create_tenant(text) IS 'Create a tenant and return its id (cadence_admin only)';

-- The values merge fields are filled from, for one lead and its rep.
-- STABLE, like jsonb_build_object, so that the planner inlines it.
CREATE FUNCTION cadence.render_context(l cadence.lead, r cadence.rep, t cadence.tenant)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.jsonb_build_object(
    'first_name', (l).first_name,
    'last_name', (l).last_name,
    'full_name', NULLIF(pg_catalog.concat_ws(' ', (l).first_name, (l).last_name), ''),
    'email', (l).email,
    'phone', (l).phone,
    'segment', (l).segment,
    'source', (l).source,
    'external_id', (l).external_id,
    'rep_name', (r).name,
    'rep_first_name', pg_catalog.split_part((r).name, ' ', 1),
    'rep_phone', (r).phone,
    'rep_email', (r).email,
    'dealership', (t).name,
    'unsubscribe_url', (t).unsubscribe_url,
    'attr', (l).attributes);
COMMENT ON FUNCTION cadence.render_context(cadence.lead, cadence.rep, cadence.tenant) IS
  'The merge-field values for a lead, its rep and its business';

-- A step timed "after previous" waits (next_due_at NULL) until the touch
-- before it ends: completed, or cancelled by an opt-out.  This starts the
-- clock of every such step that waited on one of the given touches.
-- PL/pgSQL with a generic plan (as the hot paths below): a SQL function
-- with a SET clause is planned at every call, which an opt-out pays for
-- each consent entry.
CREATE FUNCTION cadence.resume_after_touches(tenant_id bigint, touch_ids bigint[], ended_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF cardinality(touch_ids) > 0 THEN
        -- The enrolments are looked up by key from the touches first, so that
        -- the plan starts from the few touches whatever the statistics say.
        UPDATE cadence.enrolment e
           SET next_due_at = cadence.step_due(n.timing_kind, n.step_offset, n.day_number, n.window_from, n.window_until,
                                              n.weekdays, e.enrolled_at, resume_after_touches.ended_at, l.time_zone)
          FROM cadence.touch t, cadence.step n, cadence.lead l
         WHERE e.tenant_id = resume_after_touches.tenant_id
           AND e.enrolment_id = ANY (ARRAY(SELECT x.enrolment_id FROM cadence.touch x
                                            WHERE x.tenant_id = resume_after_touches.tenant_id
                                              AND x.touch_id = ANY (resume_after_touches.touch_ids)))
           AND t.tenant_id = e.tenant_id AND t.touch_id = ANY (resume_after_touches.touch_ids)
           AND t.enrolment_id = e.enrolment_id
           AND e.status = 'active' AND e.next_due_at IS NULL AND e.next_step_no = t.step_no + 1
           AND n.tenant_id = e.tenant_id AND n.cadence_version_id = e.cadence_version_id
           AND n.step_no = e.next_step_no AND n.timing_kind = 'after_previous'
           AND l.tenant_id = e.tenant_id AND l.lead_id = e.lead_id;
    END IF;
END
$$;
COMMENT ON FUNCTION cadence.resume_after_touches(bigint, bigint[], timestamptz) IS
  'Internal: start the clock of next steps timed "after previous" once the touches before them have ended';

-- What the law and the seeds require on top of a message: the unsubscribe
-- footer on every email, the opt-out line on the texts
-- cadence.opt_out_line_due() picks.  Written so that the planner inlines
-- it into the tick.
CREATE FUNCTION cadence.with_compliance_text(body text, channel text, email_footer text, sms_opt_out_line text,
                                             opt_out_line boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN body || CASE channel
                    WHEN 'email' THEN E'\n\n' || email_footer
                    WHEN 'sms' THEN CASE WHEN opt_out_line THEN ' ' || sms_opt_out_line ELSE '' END
                    ELSE '' END;
COMMENT ON FUNCTION cadence.with_compliance_text(text, text, text, text, boolean) IS
  'A message template with the tenant''s email footer, or the SMS opt-out line when opt_out_line says so';

-- Whether a new text to the lead carries the opt-out line (the seed: the
-- first SMS and every 5th).  Decided from the lines the lead's texts were
-- written with (touch.opt_out_line), not from a count fixed when each was
-- written, so texts written while earlier ones are still on their way
-- (one tick catching up several steps) do not share a place in the count:
--   - until a text with the line has been accepted by the SMS gateway
--     (done: outcome sent or delivered), every text carries it, since one
--     still queued or claimed may yet fail;
--   - after that, a text carries it once the last text with the line and
--     those written after it number 4 (counting texts done or still queued
--     or claimed, not failed or cancelled ones, which nobody read): it is
--     the 5th counting from that one, so a lead never gets more than 3
--     texts in a row without the line (the 1st, 5th, 9th, ... text).
-- Texts are taken in the order they were written (touch_id); a text held
-- for review takes its place when it was written, not when released.
-- False for other channels.  A SQL table function, so that the tick and
-- release_touch() share it and the tick inlines it.
CREATE FUNCTION cadence.opt_out_line_due(tenant_id bigint, lead_id bigint, channel text)
RETURNS TABLE (opt_out_line boolean)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT opt_out_line_due.channel = 'sms'
       AND (NOT EXISTS (SELECT FROM cadence.touch t
                         WHERE t.tenant_id = opt_out_line_due.tenant_id AND t.lead_id = opt_out_line_due.lead_id
                           AND t.channel = 'sms' AND t.status = 'done' AND t.opt_out_line)
            OR (SELECT count(*) FROM cadence.touch t
                 WHERE t.tenant_id = opt_out_line_due.tenant_id AND t.lead_id = opt_out_line_due.lead_id
                   AND t.channel = 'sms' AND t.status IN ('queued', 'claimed', 'done')
                   AND t.touch_id >= (SELECT max(x.touch_id) FROM cadence.touch x
                                       WHERE x.tenant_id = opt_out_line_due.tenant_id
                                         AND x.lead_id = opt_out_line_due.lead_id
                                         AND x.channel = 'sms' AND x.status IN ('queued', 'claimed', 'done')
                                         AND x.opt_out_line)) >= 4);
END;
COMMENT ON FUNCTION cadence.opt_out_line_due(bigint, bigint, text) IS
  'Internal: whether a new text to the lead carries the opt-out line: until one with it was accepted by the gateway (done), and then on the 5th text counting from the last one with it';

-- Whether a lead has withdrawn from all contact: its latest revocation of
-- "all" is not followed by any grant.  A later revoke of one channel does not
-- lift it; a later grant (a START by text, say) reopens that channel only.
CREATE FUNCTION cadence.opted_out_everywhere(tenant_id bigint, lead_id bigint)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE((SELECT c.channel OPERATOR(pg_catalog.=) 'all' AND c.action OPERATOR(pg_catalog.=) 'revoke'
                   FROM cadence.consent c
                  WHERE c.tenant_id OPERATOR(pg_catalog.=) opted_out_everywhere.tenant_id
                    AND c.lead_id OPERATOR(pg_catalog.=) opted_out_everywhere.lead_id
                    AND (c.channel OPERATOR(pg_catalog.=) 'all' OR c.action OPERATOR(pg_catalog.=) 'grant')
                  ORDER BY c.recorded_at DESC, c.consent_id DESC
                  LIMIT 1), false);
COMMENT ON FUNCTION cadence.opted_out_everywhere(bigint, bigint) IS
  'True when the lead''s latest revocation of all contact has not been followed by any grant';

-- The functions on the hot paths (enrol, claim, complete, record an event,
-- score) run with plan_cache_mode = force_generic_plan: their statements are
-- planned once per session instead of at every call, which was most of
-- their cost, and their plans read through indexes whatever the arguments.
CREATE FUNCTION cadence.enroll(lead_id bigint, cadence_key text, as_of timestamptz DEFAULT pg_catalog.now(),
                               replace boolean DEFAULT false)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_tenant  bigint := cadence.current_tenant();
    v_lead    cadence.lead;
    v_version bigint;
    v_old     cadence.enrolment;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Locking the lead serialises enrolments and consent changes of one lead.
    SELECT * INTO v_lead FROM cadence.lead l
     WHERE l.tenant_id = v_tenant AND l.lead_id = enroll.lead_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'lead % does not exist (field "lead_id")', coalesce(enroll.lead_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;

    SELECT v.cadence_version_id INTO v_version
      FROM cadence.cadence c
      JOIN cadence.cadence_version v
        ON v.tenant_id = c.tenant_id AND v.cadence_key = c.cadence_key AND v.version = c.current_version
     WHERE c.tenant_id = v_tenant AND c.cadence_key = enroll.cadence_key;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cadence "%" does not exist (field "cadence_key")', coalesce(enroll.cadence_key, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;

    IF v_lead.opted_out THEN
        RAISE EXCEPTION 'lead % has opted out of all contact', enroll.lead_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    SELECT * INTO v_old FROM cadence.enrolment e
     WHERE e.tenant_id = v_tenant AND e.lead_id = enroll.lead_id AND e.status IN ('active', 'paused')
       FOR NO KEY UPDATE;
    IF FOUND THEN
        IF NOT enroll.replace THEN
            RAISE EXCEPTION 'lead % is already enrolled (enrolment %)', enroll.lead_id, v_old.enrolment_id
                USING ERRCODE = 'unique_violation',
                      HINT = 'Pass replace => true to end that enrolment and start this one.';
        END IF;
        UPDATE cadence.enrolment e
           SET status = 'replaced', ended_at = as_of, exit_reason = 'replaced', next_due_at = NULL
         WHERE e.tenant_id = v_tenant AND e.enrolment_id = v_old.enrolment_id;
        UPDATE cadence.touch t
           SET status = 'cancelled', status_reason = 'enrolment_replaced', lease_until = NULL
         WHERE t.tenant_id = v_tenant AND t.enrolment_id = v_old.enrolment_id
           AND t.status IN ('queued', 'claimed', 'held');
    END IF;

    RETURN cadence.start_enrolment(v_tenant, enroll.lead_id, enroll.cadence_key, as_of, v_old.enrolment_id);
END
$$;
COMMENT ON FUNCTION cadence.enroll(bigint, text, timestamptz, boolean) IS
  'Start a lead on the current version of a cadence; replace => true ends an active enrolment first';

CREATE FUNCTION cadence.record_consent(lead_id bigint, channel text, action text, method text,
                                       recorded_at timestamptz DEFAULT pg_catalog.now(),
                                       recorded_by text DEFAULT CURRENT_USER,
                                       evidence jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id bigint;
BEGIN
    IF record_consent.channel IS NULL OR (record_consent.channel <> 'all'
            AND NOT EXISTS (SELECT FROM cadence.channel c WHERE c.channel = record_consent.channel AND c.channel <> 'task')) THEN
        RAISE EXCEPTION 'invalid channel "%" in field "channel"', coalesce(record_consent.channel, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use all, call, voicemail, sms, email, video or linkedin.';
    END IF;
    IF record_consent.action IS NULL OR record_consent.action NOT IN ('grant', 'revoke') THEN
        RAISE EXCEPTION 'invalid action "%" in field "action"', coalesce(record_consent.action, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Use grant or revoke.';
    END IF;
    IF record_consent.method IS NULL OR btrim(record_consent.method) = '' THEN
        RAISE EXCEPTION 'missing consent method in field "method"'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Say how consent was given or taken back, e.g. web_form, verbal, sms_keyword.';
    END IF;
    IF NOT EXISTS (SELECT FROM cadence.lead l
                    WHERE l.tenant_id = cadence.current_tenant() AND l.lead_id = record_consent.lead_id) THEN
        RAISE EXCEPTION 'lead % does not exist (field "lead_id")', coalesce(record_consent.lead_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO cadence.consent (tenant_id, lead_id, channel, action, method, recorded_at, recorded_by, evidence)
    VALUES (cadence.current_tenant(), record_consent.lead_id, record_consent.channel, record_consent.action,
            record_consent.method, record_consent.recorded_at, record_consent.recorded_by,
            coalesce(record_consent.evidence, '{}'))
    RETURNING consent_id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION cadence.record_consent(bigint, text, text, text, timestamptz, text, jsonb) IS
  'Append a consent grant or revocation to the ledger; a revocation cancels unsent touches at once';

-- Every ledger entry takes effect in the statement that records it,
-- whether it came through record_consent(), a direct INSERT or a COPY of a
-- whole opt-out list: the leads' consent state (what the tick reads) is
-- recomputed, and a revocation cancels unsent touches.  Locking the leads'
-- touches and enrolments first makes a concurrent tick either finish before
-- us (and we cancel what it queued) or skip the leads until we commit.  It
-- runs as the extension owner so that applications, which may not write the
-- consent state of a lead, can still record consent; it touches only the
-- new entries' own leads.
--
-- One pass per tenant of the statement, set-based, so that importing a list
-- costs a few statements rather than a few per entry.  The statements take
-- the leads as arrays and reach each table by key, in plans kept for the
-- session: one plan then serves a single record_consent() and a list of
-- thousands (a plan over the transition table would be costed for the size
-- of the first statement that fired it).
-- Where entries of one statement differ in effect, the first entry (in
-- ledger order) that covers a touch or an enrolment is the one that ends it,
-- as if the entries had been recorded one by one.
CREATE FUNCTION cadence.consent_applied()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cadence, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_tenant    bigint;
    v_leads     bigint[];
    v_revokes   bigint[];         -- per revocation, in ledger order: its lead,
    v_channels  text[];           -- its channel
    v_times     timestamptz[];    -- when it was recorded
    v_methods   text[];           -- and how
    v_ended     record;
BEGIN
    FOR v_tenant, v_leads, v_revokes, v_channels, v_times, v_methods IN
        SELECT n.tenant_id, array_agg(DISTINCT n.lead_id),
               array_agg(n.lead_id ORDER BY n.consent_id) FILTER (WHERE n.action = 'revoke'),
               array_agg(n.channel ORDER BY n.consent_id) FILTER (WHERE n.action = 'revoke'),
               array_agg(n.recorded_at ORDER BY n.consent_id) FILTER (WHERE n.action = 'revoke'),
               array_agg(n.method ORDER BY n.consent_id) FILTER (WHERE n.action = 'revoke')
          FROM new_consent n
         GROUP BY n.tenant_id
         ORDER BY n.tenant_id
    LOOP
        -- touches first, then the enrolments: the order every path takes
        PERFORM 1 FROM cadence.touch t
          WHERE t.tenant_id = v_tenant AND t.lead_id = ANY (v_leads) AND t.status IN ('queued', 'claimed', 'held')
          ORDER BY t.touch_id
            FOR NO KEY UPDATE;
        PERFORM 1 FROM cadence.enrolment e
          WHERE e.tenant_id = v_tenant AND e.lead_id = ANY (v_leads) AND e.status IN ('active', 'paused')
          ORDER BY e.enrolment_id
            FOR NO KEY UPDATE;
        -- and the leads, in order, as the event trigger does: two imports
        -- sharing leads then wait for each other instead of deadlocking
        PERFORM 1 FROM cadence.lead l
          WHERE l.tenant_id = v_tenant AND l.lead_id = ANY (v_leads)
          ORDER BY l.lead_id
            FOR NO KEY UPDATE;

        -- per channel, the latest entry for it (or for all) decides
        UPDATE cadence.lead l
           SET blocked_channels = s.blocked, consented_channels = s.consented,
               opted_out = cadence.opted_out_everywhere(v_tenant, s.lead_id)
          FROM (SELECT x.lead_id,
                       coalesce(array_agg(ch.channel ORDER BY ch.channel) FILTER (WHERE y.action = 'revoke'), '{}') AS blocked,
                       coalesce(array_agg(ch.channel ORDER BY ch.channel) FILTER (WHERE y.action = 'grant'), '{}') AS consented
                  FROM unnest(v_leads) AS x(lead_id)
                 CROSS JOIN cadence.channel ch
                  LEFT JOIN LATERAL (SELECT c.action FROM cadence.consent c
                                      WHERE c.tenant_id = v_tenant AND c.lead_id = x.lead_id
                                        AND (c.channel = 'all' OR c.channel = ANY (ch.consent_channels))
                                      ORDER BY c.recorded_at DESC, c.consent_id DESC
                                      LIMIT 1) y ON true
                 GROUP BY x.lead_id) s
         WHERE l.tenant_id = v_tenant AND l.lead_id = s.lead_id;

        CONTINUE WHEN v_revokes IS NULL;
        -- each unsent touch a revocation covers is cancelled, and a step
        -- waiting on it starts its clock from that revocation (the first
        -- one to cover it): one call per time such a revocation was
        -- recorded, as few as the leads with unsent touches
        FOR v_ended IN
            WITH cancelled AS (
                UPDATE cadence.touch t
                   SET status = 'cancelled', status_reason = 'opted_out', lease_until = NULL
                  FROM (SELECT DISTINCT ON (x.touch_id) x.touch_id, r.recorded_at
                          FROM unnest(v_revokes, v_channels, v_times) WITH ORDINALITY AS r(lead_id, channel, recorded_at, ord)
                          JOIN cadence.touch x ON x.tenant_id = v_tenant AND x.lead_id = r.lead_id
                          JOIN cadence.channel ch ON ch.channel = x.channel
                         WHERE x.status IN ('queued', 'claimed', 'held')
                           AND (r.channel = 'all' OR r.channel = ANY (ch.consent_channels))
                         ORDER BY x.touch_id, r.ord) c
                 WHERE t.tenant_id = v_tenant AND t.touch_id = c.touch_id
                RETURNING t.touch_id, c.recorded_at
            )
            SELECT c.recorded_at, array_agg(c.touch_id ORDER BY c.touch_id) AS touch_ids
              FROM cancelled c GROUP BY c.recorded_at ORDER BY c.recorded_at
        LOOP
            PERFORM cadence.resume_after_touches(v_tenant, v_ended.touch_ids, v_ended.recorded_at);
        END LOOP;
        CONTINUE WHEN NOT 'all' = ANY (v_channels);
        -- a revocation of all contact ends the running enrolment, paused or
        -- not, and closes the lead's open alerts: no rep is to call now
        WITH opted_out AS (
            SELECT DISTINCT ON (r.lead_id) r.lead_id, r.recorded_at, r.method
              FROM unnest(v_revokes, v_channels, v_times, v_methods) WITH ORDINALITY
                   AS r(lead_id, channel, recorded_at, method, ord)
             WHERE r.channel = 'all'
             ORDER BY r.lead_id, r.ord
        ), ended AS (
            UPDATE cadence.enrolment e
               SET status = 'exited', exit_reason = 'opt_out', ended_at = o.recorded_at, next_due_at = NULL
              FROM opted_out o
             WHERE e.tenant_id = v_tenant AND e.lead_id = o.lead_id AND e.status IN ('active', 'paused')
        )
        -- (closed_by names the entry's method; an event's entry, whose method
        -- is already event:<kind>, is named as the event closes alerts)
        -- (only for a lead the ledger now says is opted out: a revoke dated
        -- before a later grant closes nothing)
        UPDATE cadence.alert a
           SET status = 'closed', closed_at = greatest(o.recorded_at, a.created_at),
               closed_by = CASE WHEN o.method LIKE 'event:%' THEN o.method ELSE 'consent:' || o.method END
          FROM opted_out o
         WHERE a.tenant_id = v_tenant AND a.lead_id = o.lead_id AND a.status IN ('open', 'escalated')
           AND EXISTS (SELECT FROM cadence.lead l WHERE l.tenant_id = v_tenant AND l.lead_id = o.lead_id AND l.opted_out);
    END LOOP;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION cadence.consent_applied() FROM PUBLIC;
COMMENT ON FUNCTION cadence.consent_applied() IS
  'Trigger: keep the leads'' consent state; a revocation cancels unsent touches on that channel (all channels, the enrolment and open alerts, for "all")';
CREATE TRIGGER consent_applied AFTER INSERT ON cadence.consent
    REFERENCING NEW TABLE AS new_consent
    FOR EACH STATEMENT EXECUTE FUNCTION cadence.consent_applied();

CREATE FUNCTION cadence.consent_append_only()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'the consent ledger is append-only'
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Record a new grant or revoke with cadence.record_consent() instead of changing history.';
END
$$;
COMMENT ON FUNCTION cadence.consent_append_only() IS 'Trigger: refuse UPDATE and DELETE on the consent ledger';
CREATE TRIGGER consent_append_only BEFORE UPDATE OR DELETE ON cadence.consent
    FOR EACH ROW EXECUTE FUNCTION cadence.consent_append_only();

CREATE FUNCTION cadence.tick(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS integer
LANGUAGE c VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cadence_tick';
COMMENT ON FUNCTION cadence.tick(timestamptz) IS
  'Advance every enrolment whose next step is due at as_of, one tenant at a time; returns the touches queued';

CREATE FUNCTION cadence.tick_for_tenant(tenant_id bigint, as_of timestamptz)
RETURNS integer
LANGUAGE c VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cadence_tick_for_tenant';
COMMENT ON FUNCTION cadence.tick_for_tenant(bigint, timestamptz) IS
  'Internal: advance the due enrolments of this one tenant (the scheduler''s per-tenant pass); returns the touches queued';

-- Whether the lead's consent lets a touch on this channel go out now: NULL
-- if so, else why not.  The tick decides by it when it queues (and picks a
-- step's channel by it); claim_touches() asks again at the last moment, so that a touch queued from
-- a state that changed since (a STOP committing while the tick ran, a touch
-- written by hand) is cancelled rather than sent.
CREATE FUNCTION cadence.consent_refusal(opted_out boolean, blocked_channels text[], consented_channels text[],
                                        channel text, requires_consent boolean)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN opted_out THEN 'opted_out'
            WHEN channel OPERATOR(pg_catalog.=) ANY (blocked_channels) THEN 'opted_out'
            WHEN requires_consent AND NOT channel OPERATOR(pg_catalog.=) ANY (consented_channels)
            THEN 'no_' OPERATOR(pg_catalog.||) channel OPERATOR(pg_catalog.||) '_consent'
       END;
COMMENT ON FUNCTION cadence.consent_refusal(boolean, text[], text[], text, boolean) IS
  'Internal: why the lead''s consent state forbids a touch on the channel (opted_out, no_sms_consent), or NULL';

-- The attempt limits a touch on each channel is held to under a tenant's
-- policy, and the channels whose attempts count against them: the one
-- place that says so for the tick (which plans by them) and for
-- claim_touches() (which asks them again).  A channel that counts as
-- another (voicemail as call) shares that channel's limits and attempts;
-- the policy's limit, else the channel's default; NULL when there is none
-- (a policy's 0).  A plain SQL table function, so that both inline it.
CREATE FUNCTION cadence.attempt_limits(tenant_id bigint)
RETURNS TABLE (channel text, counted_channels text[], max_per_day integer, min_gap interval)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT ch.channel, g.counted_channels,
           nullif(coalesce(p.max_per_day, lim.max_per_day), 0),
           nullif(coalesce(p.min_gap, lim.min_gap), '0')
      FROM cadence.channel ch
      JOIN cadence.channel lim ON lim.channel = coalesce(ch.counts_as, ch.channel)
      JOIN (SELECT coalesce(o.counts_as, o.channel) AS limit_channel, array_agg(o.channel ORDER BY o.channel) AS counted_channels
              FROM cadence.channel o
             GROUP BY coalesce(o.counts_as, o.channel)) g ON g.limit_channel = lim.channel
      LEFT JOIN cadence.channel_policy p ON p.tenant_id = attempt_limits.tenant_id AND p.channel = lim.channel;
END;
COMMENT ON FUNCTION cadence.attempt_limits(bigint) IS
  'Internal: per channel, the daily cap and gap its attempts are held to under the tenant''s policy (NULL: none), and the channels counted against them (call and voicemail together)';

-- A channel counts as one that counts as no other: attempt_limits()
-- follows counts_as one step, so a chain (a as b, b as c) would hold a's
-- attempts to b's limits while c counted none of them.
CREATE FUNCTION cadence.channel_counts_as_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_other text;
BEGIN
    IF NEW.counts_as IS NOT NULL THEN
        SELECT c.counts_as INTO v_other FROM cadence.channel c
         WHERE c.channel = NEW.counts_as AND c.channel <> NEW.channel;
        IF v_other IS NOT NULL THEN
            RAISE EXCEPTION '% counts as %, which counts as % itself: no chains in field "counts_as"',
                    NEW.channel, NEW.counts_as, v_other
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Set counts_as to %s.', v_other);
        END IF;
        SELECT min(c.channel) INTO v_other FROM cadence.channel c
         WHERE c.counts_as = NEW.channel AND c.channel <> NEW.channel;
        IF v_other IS NOT NULL THEN
            RAISE EXCEPTION '% counts as %, so % cannot count as another channel in field "counts_as"',
                    v_other, NEW.channel, NEW.channel
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION cadence.channel_counts_as_check() IS
  'Trigger: refuse a counts_as chain (a channel counting as one that counts as another)';
CREATE TRIGGER channel_counts_as_check BEFORE INSERT OR UPDATE OF counts_as ON cadence.channel
    FOR EACH ROW EXECUTE FUNCTION cadence.channel_counts_as_check();

-- A policy cannot give a channel that counts as another limits of its own:
-- they would be silently ignored, and a voicemail would seem capped apart
-- from calls.
CREATE FUNCTION cadence.channel_policy_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_counts_as text;
BEGIN
    SELECT c.counts_as INTO v_counts_as FROM cadence.channel c WHERE c.channel = NEW.channel;
    IF v_counts_as IS NOT NULL AND (NEW.max_per_day IS NOT NULL OR NEW.min_gap IS NOT NULL) THEN
        RAISE EXCEPTION '% attempts count as % attempts: no limit of its own in field "%"',
                NEW.channel, v_counts_as, CASE WHEN NEW.max_per_day IS NOT NULL THEN 'max_per_day' ELSE 'min_gap' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Set max_per_day and min_gap on the %s policy; they hold for both.', v_counts_as);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION cadence.channel_policy_check() IS
  'Trigger: refuse attempt limits on a channel whose attempts count as another''s (voicemail: set them on call)';
CREATE TRIGGER channel_policy_check BEFORE INSERT OR UPDATE ON cadence.channel_policy
    FOR EACH ROW EXECUTE FUNCTION cadence.channel_policy_check();

-- Whether one more attempt on a channel with limits (calls, voicemails)
-- may be made on the lead now, counting the attempts actually made
-- (claimed) on the channels counted together, not those planned: none
-- within min_gap, fewer than max_per_day in the last 24 hours.  The tick
-- plans touches by the same rules; claim_touches() asks again when it
-- hands one out, since a sender that fell behind would otherwise make its
-- overdue attempts back to back.
CREATE FUNCTION cadence.attempt_allowed(tenant_id bigint, lead_id bigint, counted_channels text[], touch_id bigint,
                                        as_of timestamptz, min_gap interval, max_per_day integer)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (attempt_allowed.min_gap IS NULL
            OR NOT EXISTS (SELECT FROM cadence.touch o
                            WHERE o.tenant_id = attempt_allowed.tenant_id AND o.lead_id = attempt_allowed.lead_id
                              AND o.channel = ANY (attempt_allowed.counted_channels)
                              AND o.touch_id <> attempt_allowed.touch_id
                              AND o.claimed_at > attempt_allowed.as_of - attempt_allowed.min_gap))
       AND (attempt_allowed.max_per_day IS NULL
            OR (SELECT count(*) FROM cadence.touch o
                 WHERE o.tenant_id = attempt_allowed.tenant_id AND o.lead_id = attempt_allowed.lead_id
                   AND o.channel = ANY (attempt_allowed.counted_channels)
                   AND o.touch_id <> attempt_allowed.touch_id
                   AND o.claimed_at > attempt_allowed.as_of - interval '24 hours') < attempt_allowed.max_per_day);
END;
COMMENT ON FUNCTION cadence.attempt_allowed(bigint, bigint, text[], bigint, timestamptz, interval, integer) IS
  'Internal: whether the gap and daily cap allow one more attempt on the lead now, counting claimed attempts on the channels counted together';

CREATE FUNCTION cadence.claim_touches(channels text[], worker text, max_touches integer DEFAULT 100,
                                      lease interval DEFAULT '5 minutes', as_of timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF cadence.touch
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
ROWS 100
AS $$
DECLARE
    v_tenant   bigint := cadence.current_tenant();
    v_bad      text;
    v_channels text[];
    v_from     time[];
    v_until    time[];
    v_needs_consent boolean[];
    v_claimed  bigint := 0;
    v_round    integer;
    v_held     bigint;       -- touches of a round held back: a lead's later ones
    v_busy     bigint[] := '{}';  -- touches of leads another claim is taking an attempt on
    v_dropped  bigint;       -- touches of a round given up after the lead's lock
    v_locked_out bigint[];   -- of a round, those whose lead's lock another claim holds
    v_take_limited boolean;  -- whether a round takes a touch on a channel with attempt limits
    v_take     bigint[];     -- the touches of a pass handed out,
    v_refused  bigint[];     -- those the lead's consent now refuses,
    v_reasons  text[];       -- and why
BEGIN
    IF channels IS NULL OR cardinality(channels) = 0 THEN
        RAISE EXCEPTION 'no channels given in field "channels"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT min(coalesce(c, 'NULL')) INTO v_bad FROM unnest(channels) c
     WHERE NOT EXISTS (SELECT FROM cadence.channel ch WHERE ch.channel = c);
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'unknown channel "%" in field "channels"', v_bad USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF worker IS NULL OR btrim(worker) = '' THEN
        RAISE EXCEPTION 'empty worker name in field "worker"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF max_touches IS NULL OR max_touches < 1 OR max_touches > 10000 THEN
        RAISE EXCEPTION 'max_touches must be between 1 and 10000, not %', coalesce(max_touches::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF lease IS NULL OR lease <= '0' THEN
        RAISE EXCEPTION 'lease must be a positive interval, not %', coalesce(lease::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;

    -- The channels' allowed hours for this tenant, looked up once (their
    -- attempt limits are joined in from cadence.attempt_limits()).
    SELECT array_agg(ch.channel), array_agg(coalesce(p.allowed_from, ch.allowed_from)),
           array_agg(coalesce(p.allowed_until, ch.allowed_until)), array_agg(ch.requires_consent)
      INTO v_channels, v_from, v_until, v_needs_consent
      FROM cadence.channel ch
      LEFT JOIN cadence.channel_policy p ON p.tenant_id = v_tenant AND p.channel = ch.channel
     WHERE ch.channel = ANY (channels);

    -- Claimed touches whose lease ran out come first (their sender is gone),
    -- then due ones.  Each channel is read in index order and only as far as
    -- the batch needs, so a claim costs what it returns, not the backlog; a
    -- touch is taken only while its channel may reach the lead now, in the
    -- lead's local time.  On a channel with attempt limits (calls and
    -- voicemails, counted together), the limits are asked again against the
    -- attempts actually made (claimed), at most one touch of those channels
    -- per lead per call: a dialer that was down all afternoon gets one of
    -- the lead's three overdue calls, not all three at once, and the next
    -- once the gap has passed.  The lead's consent is
    -- asked again too: a touch it no longer allows is cancelled, not handed
    -- out.
    -- Round 1 takes the expired leases, the next rounds the due touches; a
    -- round that refused touches or held some back (a lead's second call)
    -- used part of the batch on them, so the next round fills it up.  The
    -- two reads are written out apart so that each walks its own partial
    -- index (touch_leased, touch_queued) in order under the kept plan.
    FOR v_round IN 1..6 LOOP
        EXIT WHEN v_claimed >= max_touches;
        IF v_round = 1 THEN
            SELECT array_agg(x.touch_id) FILTER (WHERE x.refusal IS NULL AND x.first_of_lead),
                   array_agg(x.touch_id ORDER BY x.touch_id) FILTER (WHERE x.refusal IS NOT NULL),
                   array_agg(x.refusal ORDER BY x.touch_id) FILTER (WHERE x.refusal IS NOT NULL),
                   count(*) FILTER (WHERE x.refusal IS NULL AND NOT x.first_of_lead),
                   coalesce(bool_or(x.limited) FILTER (WHERE x.refusal IS NULL AND x.first_of_lead), false)
              INTO v_take, v_refused, v_reasons, v_held, v_take_limited
              FROM (SELECT y.touch_id, y.refusal, y.limited,
                           y.limited IS NOT TRUE
                           OR row_number() OVER (PARTITION BY y.counted_channels, y.lead_id ORDER BY y.since, y.touch_id) = 1
                           AS first_of_lead
                      FROM unnest(v_channels, v_from, v_until, v_needs_consent)
                           AS c(channel, allowed_from, allowed_until, requires_consent)
                      JOIN cadence.attempt_limits(v_tenant) lim ON lim.channel = c.channel
                     CROSS JOIN LATERAL (
                            SELECT t.touch_id, t.lead_id, lim.counted_channels, t.lease_until AS since,
                                   lim.min_gap IS NOT NULL OR lim.max_per_day IS NOT NULL AS limited,
                                   cadence.consent_refusal(l.opted_out, l.blocked_channels, l.consented_channels,
                                                           c.channel, c.requires_consent) AS refusal
                              FROM cadence.touch t
                              JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
                             WHERE t.tenant_id = v_tenant AND t.status = 'claimed' AND t.channel = c.channel
                               AND t.lease_until <= as_of AND t.touch_id <> ALL (v_busy)
                               AND cadence.is_allowed_at(as_of, l.time_zone, c.allowed_from, c.allowed_until)
                               AND (lim.min_gap IS NULL AND lim.max_per_day IS NULL
                                    OR cadence.attempt_allowed(t.tenant_id, t.lead_id, lim.counted_channels, t.touch_id,
                                                               as_of, lim.min_gap, lim.max_per_day))
                             ORDER BY t.lease_until
                             LIMIT max_touches - v_claimed
                               FOR NO KEY UPDATE OF t SKIP LOCKED) y
                     ORDER BY y.since
                     LIMIT max_touches - v_claimed) x;
        ELSE
            SELECT array_agg(x.touch_id) FILTER (WHERE x.refusal IS NULL AND x.first_of_lead),
                   array_agg(x.touch_id ORDER BY x.touch_id) FILTER (WHERE x.refusal IS NOT NULL),
                   array_agg(x.refusal ORDER BY x.touch_id) FILTER (WHERE x.refusal IS NOT NULL),
                   count(*) FILTER (WHERE x.refusal IS NULL AND NOT x.first_of_lead),
                   coalesce(bool_or(x.limited) FILTER (WHERE x.refusal IS NULL AND x.first_of_lead), false)
              INTO v_take, v_refused, v_reasons, v_held, v_take_limited
              FROM (SELECT y.touch_id, y.refusal, y.limited,
                           y.limited IS NOT TRUE
                           OR row_number() OVER (PARTITION BY y.counted_channels, y.lead_id ORDER BY y.since, y.touch_id) = 1
                           AS first_of_lead
                      FROM unnest(v_channels, v_from, v_until, v_needs_consent)
                           AS c(channel, allowed_from, allowed_until, requires_consent)
                      JOIN cadence.attempt_limits(v_tenant) lim ON lim.channel = c.channel
                     CROSS JOIN LATERAL (
                            SELECT t.touch_id, t.lead_id, lim.counted_channels, t.due_at AS since,
                                   lim.min_gap IS NOT NULL OR lim.max_per_day IS NOT NULL AS limited,
                                   cadence.consent_refusal(l.opted_out, l.blocked_channels, l.consented_channels,
                                                           c.channel, c.requires_consent) AS refusal
                              FROM cadence.touch t
                              JOIN cadence.lead l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id
                             WHERE t.tenant_id = v_tenant AND t.status = 'queued' AND t.channel = c.channel
                               AND t.due_at <= as_of AND t.touch_id <> ALL (v_busy)
                               AND cadence.is_allowed_at(as_of, l.time_zone, c.allowed_from, c.allowed_until)
                               AND (lim.min_gap IS NULL AND lim.max_per_day IS NULL
                                    OR cadence.attempt_allowed(t.tenant_id, t.lead_id, lim.counted_channels, t.touch_id,
                                                               as_of, lim.min_gap, lim.max_per_day))
                             ORDER BY t.due_at
                             LIMIT max_touches - v_claimed
                               FOR NO KEY UPDATE OF t SKIP LOCKED) y
                     ORDER BY y.since
                     LIMIT max_touches - v_claimed) x;
        END IF;

        -- The limits were asked from committed claims only: a dialer and a
        -- voicemail service claiming one lead's call and voicemail at once
        -- would each miss the other's.  So an attempt on a channel with
        -- limits locks the lead's row for the rest of the transaction
        -- (SKIP LOCKED: never waited for; a lead another claim holds is
        -- left to a later claim, as its touches are), and the limits are
        -- asked again once it is held, in a statement of its own, whose
        -- snapshot sees any claim committed before the lock was had (in
        -- READ COMMITTED, the default; a REPEATABLE READ claim keeps its
        -- first snapshot).  A row lock, not an advisory lock: a claim of
        -- thousands of calls would fill the shared lock table.
        IF v_take_limited THEN
            WITH limited AS (
                SELECT t.touch_id, t.lead_id
                  FROM cadence.touch t
                  JOIN cadence.attempt_limits(v_tenant) lim ON lim.channel = t.channel
                 WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (v_take)
                   AND (lim.min_gap IS NOT NULL OR lim.max_per_day IS NOT NULL)
            ), locked AS MATERIALIZED (
                SELECT l.lead_id
                  FROM cadence.lead l
                 WHERE l.tenant_id = v_tenant AND l.lead_id IN (SELECT x.lead_id FROM limited x)
                 ORDER BY l.lead_id
                   FOR NO KEY UPDATE OF l SKIP LOCKED
            )
            SELECT coalesce(array_agg(x.touch_id), '{}') INTO v_locked_out
              FROM limited x
             WHERE x.lead_id NOT IN (SELECT k.lead_id FROM locked k);
            v_busy := v_busy || v_locked_out;
            SELECT array_agg(t.touch_id), cardinality(v_take) - count(*)
              INTO v_take, v_dropped
              FROM cadence.touch t
              JOIN cadence.attempt_limits(v_tenant) lim ON lim.channel = t.channel
             WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (v_take) AND t.touch_id <> ALL (v_locked_out)
               AND (lim.min_gap IS NULL AND lim.max_per_day IS NULL
                    OR cadence.attempt_allowed(t.tenant_id, t.lead_id, lim.counted_channels, t.touch_id,
                                               as_of, lim.min_gap, lim.max_per_day));
            v_held := v_held + v_dropped;
        END IF;
        IF v_take IS NOT NULL THEN
            RETURN QUERY
            UPDATE cadence.touch t
               SET status = 'claimed', claimed_by = worker, claimed_at = as_of,
                   lease_until = as_of + lease, attempts = t.attempts + 1
             WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (v_take)
            RETURNING t.*;
            v_claimed := v_claimed + cardinality(v_take);
        END IF;
        IF v_refused IS NOT NULL THEN
            UPDATE cadence.touch t
               SET status = 'cancelled', status_reason = r.reason, lease_until = NULL
              FROM unnest(v_refused, v_reasons) AS r(touch_id, reason)
             WHERE t.tenant_id = v_tenant AND t.touch_id = r.touch_id;
            -- a step waiting on a cancelled touch is not left waiting forever
            PERFORM cadence.resume_after_touches(v_tenant, v_refused, as_of);
        END IF;
        EXIT WHEN v_round > 1 AND v_refused IS NULL AND v_held = 0;
    END LOOP;
END
$$;
COMMENT ON FUNCTION cadence.claim_touches(text[], text, integer, interval, timestamptz) IS
  'Lease up to max_touches due touches on the given channels to a sender; an expired lease makes a touch claimable again';

-- Record what happened to touches.  One statement per effect, whatever the
-- batch size: a sender that claimed 100 touches completes them in one call.
CREATE FUNCTION cadence.complete_touches(touch_ids bigint[], outcome text, detail jsonb DEFAULT '{}',
                                         as_of timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF cadence.touch
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
ROWS 100
AS $$
DECLARE
    outcomes constant text[] := ARRAY['sent', 'delivered', 'failed', 'bounced', 'answered', 'no_answer',
                                      'voicemail', 'busy', 'replied', 'completed'];
    -- outcomes that mean a rep reached out (the seed's 5-minute rule)
    attempts constant text[] := ARRAY['answered', 'no_answer', 'voicemail', 'busy', 'completed', 'sent', 'delivered'];
    v_tenant bigint := cadence.current_tenant();
    v_bad    record;
    v_done   bigint[];       -- the touches this call completed
    v_leads  bigint[];       -- their leads
    v_worked_leads   bigint[];   -- leads of the completed touches a rep worked
    v_worked_touches bigint[];   -- and those touches, in the same order
BEGIN
    IF outcome IS NULL OR outcome <> ALL (outcomes) THEN
        RAISE EXCEPTION 'invalid outcome "%" in field "outcome"', coalesce(outcome, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Outcomes: ' || array_to_string(outcomes, ', ') || '.';
    END IF;
    IF detail IS NOT NULL AND jsonb_typeof(detail) <> 'object' THEN
        RAISE EXCEPTION 'detail must be a JSON object in field "detail"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF touch_ids IS NULL OR cardinality(touch_ids) = 0 OR cardinality(touch_ids) > 10000 THEN
        RAISE EXCEPTION 'touch_ids must list 1 to 10000 touches (field "touch_ids")'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    PERFORM 1 FROM cadence.touch t
      WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (touch_ids)
      ORDER BY t.touch_id
        FOR NO KEY UPDATE;

    -- Refuse the whole batch if one touch cannot take this outcome.
    SELECT i.id AS touch_id, t.status, t.outcome, t.outcome_detail ->> 'reported_outcome' AS reported INTO v_bad
      FROM unnest(touch_ids) AS i(id)
      LEFT JOIN cadence.touch t ON t.tenant_id = v_tenant AND t.touch_id = i.id
     WHERE i.id IS NULL OR t.touch_id IS NULL
        OR t.status IN ('skipped', 'held')
        OR (t.status IN ('done', 'failed') AND t.outcome <> complete_touches.outcome)
        OR (t.status = 'cancelled' AND t.outcome = 'suppressed'
            AND t.outcome_detail ->> 'reported_outcome' <> complete_touches.outcome)
     LIMIT 1;
    IF FOUND THEN
        IF v_bad.status IS NULL THEN
            RAISE EXCEPTION 'touch % does not exist (field "touch_id")', coalesce(v_bad.touch_id::text, 'NULL')
                USING ERRCODE = 'no_data_found';
        ELSIF v_bad.status IN ('done', 'failed') THEN
            RAISE EXCEPTION 'touch % is already completed with outcome "%"', v_bad.touch_id, v_bad.outcome
                USING ERRCODE = 'object_not_in_prerequisite_state';
        ELSIF v_bad.status = 'cancelled' THEN
            RAISE EXCEPTION 'touch % was already reported as "%" after it was cancelled', v_bad.touch_id, v_bad.reported
                USING ERRCODE = 'object_not_in_prerequisite_state';
        ELSE
            RAISE EXCEPTION 'touch % is % and cannot be completed', v_bad.touch_id, v_bad.status
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;

    -- An opt-out committed after the claim: the attempt is recorded as
    -- suppressed, once; the touch stays cancelled.
    UPDATE cadence.touch t
       SET outcome = 'suppressed',
           outcome_detail = coalesce(detail, '{}') || jsonb_build_object('reported_outcome', complete_touches.outcome),
           completed_at = as_of
     WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (touch_ids)
       AND t.status = 'cancelled' AND t.outcome IS DISTINCT FROM 'suppressed';

    -- Touches already completed with this outcome (a retried webhook) are left as they are.
    WITH done AS (
        UPDATE cadence.touch t
           SET status = CASE WHEN complete_touches.outcome IN ('failed', 'bounced') THEN 'failed' ELSE 'done' END,
               outcome = complete_touches.outcome, outcome_detail = coalesce(detail, '{}'),
               completed_at = as_of, lease_until = NULL
         WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (touch_ids) AND t.status IN ('queued', 'claimed')
        RETURNING t.touch_id, t.lead_id, t.assignee_rep_id
    )
    SELECT array_agg(d.touch_id), array_agg(d.lead_id),
           array_agg(d.lead_id) FILTER (WHERE d.assignee_rep_id IS NOT NULL),
           array_agg(d.touch_id) FILTER (WHERE d.assignee_rep_id IS NOT NULL)
      INTO v_done, v_leads, v_worked_leads, v_worked_touches
      FROM done d;

    -- The statements below find their rows by key from these arrays, never
    -- by a join from the touches: a generic plan on stale statistics could
    -- otherwise scan every enrolment or alert of the tenant.

    IF v_done IS NOT NULL AND complete_touches.outcome IN ('answered', 'replied') THEN
        -- the last engagement also holds back a move on silence (the tick reads it)
        UPDATE cadence.lead l
           SET last_response_at = greatest(l.last_response_at, as_of),
               last_engagement_at = greatest(l.last_engagement_at, as_of)
         WHERE l.tenant_id = v_tenant AND l.lead_id = ANY (v_leads);
    END IF;

    -- A rep who worked a call or task for the lead has acted on its alerts.
    IF v_worked_leads IS NOT NULL AND complete_touches.outcome = ANY (attempts) THEN
        UPDATE cadence.alert a
           SET status = 'closed', closed_at = as_of,
               closed_by = 'touch:' || v_worked_touches[array_position(v_worked_leads, a.lead_id)]
         WHERE a.tenant_id = v_tenant AND a.lead_id = ANY (v_worked_leads) AND a.status IN ('open', 'escalated');
    END IF;

    -- A next step timed "after previous" starts counting now.
    IF v_done IS NOT NULL THEN
        PERFORM cadence.resume_after_touches(v_tenant, v_done, as_of);
    END IF;

    RETURN QUERY
    SELECT t.* FROM cadence.touch t
     WHERE t.tenant_id = v_tenant AND t.touch_id = ANY (touch_ids)
     ORDER BY array_position(touch_ids, t.touch_id);
END
$$;
COMMENT ON FUNCTION cadence.complete_touches(bigint[], text, jsonb, timestamptz) IS
  'Record one outcome for a batch of touches (all or none); returns them as they now stand';

CREATE FUNCTION cadence.complete_touch(touch_id bigint, outcome text, detail jsonb DEFAULT '{}',
                                       as_of timestamptz DEFAULT pg_catalog.now())
RETURNS cadence.touch
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT * FROM cadence.complete_touches(ARRAY[complete_touch.touch_id], complete_touch.outcome,
                                           complete_touch.detail, complete_touch.as_of);
END;
COMMENT ON FUNCTION cadence.complete_touch(bigint, text, jsonb, timestamptz) IS
  'Record the outcome of a touch (sent, delivered, failed, bounced, answered, no_answer, voicemail, busy, replied, completed)';

CREATE FUNCTION cadence.release_touch(touch_id bigint, body text, subject text DEFAULT NULL,
                                      as_of timestamptz DEFAULT pg_catalog.now())
RETURNS cadence.touch
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_touch    cadence.touch;
    v_line     boolean;
    v_rendered record;
BEGIN
    IF body IS NULL OR btrim(body) = '' THEN
        RAISE EXCEPTION 'empty message in field "body"' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF body ~ '\{\{' OR subject ~ '\{\{' THEN
        RAISE EXCEPTION 'the reviewed message still has a merge field in field "%"',
                CASE WHEN body ~ '\{\{' THEN 'body' ELSE 'subject' END
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Write the final text the customer will read.';
    END IF;
    -- The lead's running enrolment is locked first, as a tick locks it
    -- before it writes the lead's texts: the opt-out line is then decided
    -- from every text written so far, not beside a tick writing another.
    PERFORM FROM cadence.enrolment e
      WHERE e.tenant_id = cadence.current_tenant() AND e.status IN ('active', 'paused')
        AND e.lead_id = (SELECT t.lead_id FROM cadence.touch t
                          WHERE t.tenant_id = cadence.current_tenant() AND t.touch_id = release_touch.touch_id)
        FOR NO KEY UPDATE;
    SELECT * INTO v_touch FROM cadence.touch t
     WHERE t.tenant_id = cadence.current_tenant() AND t.touch_id = release_touch.touch_id AND t.status = 'held'
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'touch % does not exist or is not held for review (field "touch_id")',
                coalesce(release_touch.touch_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    IF v_touch.channel = 'email' AND coalesce(release_touch.subject, v_touch.subject) IS NULL THEN
        RAISE EXCEPTION 'an email needs a subject (field "subject")' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The reviewer writes the message; the footer or opt-out line is added
    -- exactly as the tick would have added it.
    SELECT o.opt_out_line INTO v_line FROM cadence.opt_out_line_due(v_touch.tenant_id, v_touch.lead_id, v_touch.channel) o;
    SELECT r.* INTO v_rendered
      FROM cadence.lead l
      JOIN cadence.tenant tn ON tn.tenant_id = l.tenant_id
      LEFT JOIN cadence.rep rep ON rep.tenant_id = l.tenant_id AND rep.rep_id = coalesce(v_touch.assignee_rep_id, l.owner_rep_id)
     CROSS JOIN LATERAL cadence.render(
            cadence.with_compliance_text(release_touch.body, v_touch.channel, tn.email_footer, tn.sms_opt_out_line, v_line),
            cadence.render_context(l, rep, tn)) r
     WHERE l.tenant_id = v_touch.tenant_id AND l.lead_id = v_touch.lead_id;
    IF v_rendered.rendered IS NULL THEN
        RAISE EXCEPTION 'the tenant''s footer needs % for this lead', array_to_string(v_rendered.missing, ', ')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Give the footer fields fallbacks, e.g. {{unsubscribe_url|reply UNSUBSCRIBE}}.';
    END IF;

    UPDATE cadence.touch t
       SET status = 'queued', status_reason = 'released_after_review', body = v_rendered.rendered,
           opt_out_line = v_line,
           subject = CASE WHEN t.channel = 'email' THEN coalesce(release_touch.subject, t.subject) END,
           due_at = greatest(t.due_at, as_of)
     WHERE t.tenant_id = v_touch.tenant_id AND t.touch_id = v_touch.touch_id
    RETURNING * INTO v_touch;
    RETURN v_touch;
END
$$;
COMMENT ON FUNCTION cadence.release_touch(bigint, text, text, timestamptz) IS
  'Queue a touch that was held for a missing merge field, with the final text a reviewer wrote';
