-- Event benchmark set-up (figures 4 and 5 of bench/run.sh): the tenants the
-- event figures run in, the baseline tables, the mix of event kinds, and the
-- PL/pgSQL trigger a user would write without the extension.  Runs after
-- setup.sql (the extension, bench_app, schema bench, bench.result), as the
-- superuser that owns the scratch cluster.
-- psql variables: :t_record, :t_plpgsql, :t_copy, :t_staged (tenant ids).
--
-- Each figure has its own tenant, loaded with the same leads, enrolments and
-- earlier events (events_load.sql), so that every path starts from the same
-- state and no run changes what another one measures:
--   :t_record   cadence.record_event(), single rows (figure 4)
--   :t_plpgsql  INSERT into bench.event_plpgsql, whose row trigger does the
--               same work in PL/pgSQL (figure 4, the second comparison)
--   :t_copy     COPY into cadence.event (figure 5)
--   :t_staged   COPY into a temporary table, then INSERT into cadence.event
--               (figure 5, the way the application role can load in bulk)
-- The bare baselines write to plain tables and need no tenant data.

INSERT INTO cadence.tenant (tenant_id, name) VALUES
    (:t_record, 'bench events: record_event'),
    (:t_plpgsql, 'bench events: PL/pgSQL trigger'),
    (:t_copy, 'bench events: COPY'),
    (:t_staged, 'bench events: COPY through a temporary table');

-- The baselines: plain copies of the event table, with the same columns,
-- defaults (the tenant from cadence.tenant_id, an identity event_id), checks
-- and indexes, including the provider-id key, but no trigger, no foreign
-- keys and no row-level security.  bench.event_bare takes the single rows,
-- bench.event_bulk the bulk COPY.
CREATE TABLE bench.event_bare (LIKE cadence.event INCLUDING ALL);
CREATE TABLE bench.event_bulk (LIKE cadence.event INCLUDING ALL);
GRANT SELECT, INSERT ON bench.event_bare, bench.event_bulk TO bench_app;

-- The mix of event kinds, per thousand events, as an email/SMS provider's
-- webhooks and a CRM deliver them: mostly opens, some clicks, a few bounces,
-- replies, high-intent signals, appointments and opt-outs.
--   1-850 email_open (85 %)        851-900 email_click (5 %)
--   901-915 bounce (1.5 %)         916-920 unsubscribe (0.5 %)
--   921-950 email_reply (3 %)      951-975 sms_reply, an answer (2.5 %)
--   976-980 sms_reply "STOP" (0.5 %, an SMS opt-out)
--   981-990 trade_value_request (1 %)   991-1000 appointment_set (1 %)
-- The functions are plain SQL, inlined into the statements that call them.
CREATE FUNCTION bench.mix_kind(r integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN r <= 850 THEN 'email_open'
            WHEN r <= 900 THEN 'email_click'
            WHEN r <= 915 THEN 'bounce'
            WHEN r <= 920 THEN 'unsubscribe'
            WHEN r <= 950 THEN 'email_reply'
            WHEN r <= 980 THEN 'sms_reply'
            WHEN r <= 990 THEN 'trade_value_request'
            ELSE 'appointment_set' END;

CREATE FUNCTION bench.mix_payload(r integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN r BETWEEN 951 AND 975 THEN '{"body": "Yes, Saturday at 11 works for me"}'::jsonb
            WHEN r BETWEEN 976 AND 980 THEN '{"body": "STOP"}'::jsonb
            WHEN r <= 950 THEN '{"campaign": "march-offers"}'::jsonb
            ELSE '{}'::jsonb END;

CREATE FUNCTION bench.mix_source(r integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN r <= 950 THEN 'esp' WHEN r <= 980 THEN 'sms-gateway' ELSE 'crm' END;

GRANT EXECUTE ON FUNCTION bench.mix_kind(integer), bench.mix_payload(integer), bench.mix_source(integer) TO bench_app;

-- A day of events for the bulk figure, in time order: n_events events over
-- leads 1..n_leads, the kinds drawn from the same mix.  Pseudo-random but
-- fixed (hashes of the row number), so every run loads the same rows.
CREATE FUNCTION bench.day_of_events(n_events integer, n_leads integer, day timestamptz)
RETURNS TABLE (lead_id bigint, kind text, occurred_at timestamptz, payload jsonb, source text, provider_id text)
LANGUAGE sql STABLE
AS $$
    SELECT 1 + (hashint4(i) & 2147483647) % n_leads,
           bench.mix_kind(x.r), day + ((hashint4(i # 54321) & 2147483647) % 86400) * interval '1 second',
           bench.mix_payload(x.r), bench.mix_source(x.r), 'bulk-' || i
      FROM generate_series(1, n_events) AS i
     CROSS JOIN LATERAL (SELECT 1 + (hashint4(i # 12345) & 2147483647) % 1000 AS r) AS x
     ORDER BY 3, i
$$;

-- COPY FROM a file on the server needs this role; an application would
-- send COPY FROM STDIN instead, which costs the engine and the baseline the same.
GRANT pg_read_server_files TO bench_app;

\ir events_plpgsql.sql
