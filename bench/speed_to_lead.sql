-- Speed-to-lead set-up (bench/speed_to_lead.sh): the extension, the role the
-- measurements run as, the seed's hot cadence in tenant 1 with a rep on
-- duty, a second tenant whose enrolled leads receive the background load of
-- engagement events, and the procedures that measure.  Runs as the
-- superuser of the speed-to-lead cluster, in the database the background
-- worker serves.
-- psql variables: :hot_spec (demo/hot_7day.json), :n_load_leads.

CREATE EXTENSION cadence;
CREATE ROLE bench_app LOGIN IN ROLE cadence_app;
CREATE SCHEMA speed;
GRANT USAGE ON SCHEMA speed TO bench_app;

-- One row per lead measured.  committed_at: clock_timestamp() just after
-- the COMMIT of INSERT lead + enroll returned; claimable_at: just after the
-- claim_touches call that returned the lead's first touch.
CREATE TABLE speed.sample (
    mode         text NOT NULL,          -- worker | pg_cron
    load         text NOT NULL,          -- idle | events
    n            integer NOT NULL,
    lead_id      bigint NOT NULL,
    committed_at timestamptz NOT NULL,
    claimable_at timestamptz NOT NULL,
    polls        integer NOT NULL,       -- 1 ms rounds before the claim that returned it
    -- where the time went, from the first touch as it was queued (NULL when
    -- the tick committed between the look and the claim): the tick's start
    -- (touch.created_at, the tick's as_of) and its commit (track_commit_timestamp)
    tick_started_at   timestamptz,
    tick_committed_at timestamptz,
    PRIMARY KEY (mode, load, n)
);
-- The window each run measured in, for the event rate actually recorded,
-- and the worker's tick count at both ends (how busy it was).
CREATE TABLE speed.run (
    mode        text NOT NULL,
    load        text NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    ticks_start bigint,
    ticks_end   bigint,
    PRIMARY KEY (mode, load)
);
GRANT SELECT, INSERT, UPDATE ON speed.sample, speed.run TO bench_app;

-- Tenant 1: the seed's hot 7-day cadence (first step: a call at once; the
-- enrolment also raises the new-hot-lead alert), one rep on duty.
SELECT cadence.define_cadence(:'hot_spec'::jsonb) IS NOT NULL AS hot_cadence_defined;
INSERT INTO cadence.rep (name, phone, email, role, on_duty)
VALUES ('Dana Ortiz', '+13125550100', 'dana@lakeside.example', 'rep', true);

-- Calls may go out 08:00-21:00 in the lead's time zone.  The measured leads
-- live in whichever of these zones is nearest mid-afternoon now, so that the
-- first call is due at once whenever the benchmark runs.
CREATE TABLE speed.zone AS
SELECT z AS time_zone
  FROM unnest(ARRAY['America/New_York', 'America/Chicago', 'America/Denver', 'America/Los_Angeles',
                    'Pacific/Honolulu', 'Pacific/Auckland', 'Australia/Sydney', 'Asia/Tokyo',
                    'Asia/Kolkata', 'Asia/Dubai', 'Europe/Berlin', 'Europe/London',
                    'America/Sao_Paulo']) AS z
 ORDER BY abs(extract(epoch FROM (now() AT TIME ZONE z)::time - time '14:00'))
 LIMIT 1;
GRANT SELECT ON speed.zone TO bench_app;

-- Tenant 2: leads enrolled in an email nurture; the load generator records
-- opens and clicks for them (bench/speed_to_lead_events.pgbench).  Their
-- first emails are queued by the worker as soon as they are enrolled.
INSERT INTO cadence.tenant (tenant_id, name) VALUES (2, 'speed-to-lead: event load');
SELECT set_config('cadence.tenant_id', '2', false);
SELECT cadence.define_cadence($spec${
  "key": "nurture", "name": "Email nurture", "tier": "warm",
  "steps": [
    {"channel": "email", "timing": "immediate",
     "message": {"subject": "Thanks, {{first_name|there}}", "body": "Photos of the {{attr.vehicle|vehicle}} are below."}},
    {"channel": "email", "timing": "+3 days", "message": {"subject": "Still looking?", "body": "Reply any time."}},
    {"channel": "email", "timing": "+7 days", "message": {"subject": "Closing your enquiry", "body": "Reply to pick it up again."}}
  ]}$spec$::jsonb) IS NOT NULL AS nurture_defined;
INSERT INTO cadence.lead (lead_id, external_id, first_name, email, time_zone, attributes)
SELECT i, 'load-' || i, 'Lead', 'load-' || i || '@example.com', 'America/Chicago', '{"vehicle": "2024 Honda CR-V"}'
  FROM generate_series(1, :n_load_leads) AS i;
SELECT count(cadence.enroll(lead_id, 'nurture')) AS load_leads_enrolled FROM cadence.lead;
SELECT set_config('cadence.tenant_id', '', false);

-- The measurement, run with CALL by the application role (a procedure, so
-- that it can commit as it goes).  Each lead is one transaction that
-- inserts it in tenant 1 and enrols it in the hot cadence; committed_at is
-- taken as soon as that COMMIT returns.  Then, every millisecond, a cheap
-- look at cadence.touch for the lead's first call, and once it is there
-- cadence.claim_touches(ARRAY['call'], ...) at clock_timestamp(); a lead's
-- claimable_at is taken as soon as a claim returns its first call, which is
-- then completed (no answer), so the queue holds nothing else.  (Polling
-- claim_touches itself costs about a millisecond a call on a busy 2-core
-- machine, which would blur the figure; the claim still decides.)
-- gap_s = 0 (the worker mode): one lead at a time, the next enrolled once
-- the previous one's call is claimed.  gap_s > 0 (the pg_cron mode): a lead
-- every gap_s seconds whatever happened, so that enrolments fall all over
-- the minute the cron job ticks on, while polling goes on.
CREATE PROCEDURE speed.measure(mode text, load text, n_leads integer, gap_s double precision)
LANGUAGE plpgsql
AS $$
DECLARE
    v_zone     text := (SELECT time_zone FROM speed.zone);
    v_leads    bigint[] := '{}';
    v_t0       timestamptz[] := '{}';
    v_started  timestamptz[] := '{}';
    v_ticked   timestamptz[] := '{}';
    v_open     bigint[] := '{}';
    v_poll_at  integer[] := '{}';
    v_polls    integer := 0;
    v_claimed  integer := 0;
    v_next_at  timestamptz := clock_timestamp();
    v_lead     bigint;
    v_n        integer;
    v_t1       timestamptz;
    v_deadline timestamptz;
    v_seen     integer;
    r          record;
BEGIN
    INSERT INTO speed.run (mode, load, started_at, ticks_start)
    VALUES (mode, load, clock_timestamp(), (SELECT w.ticks FROM cadence.worker_status w WHERE w.database = current_database()));
    COMMIT;
    WHILE v_claimed < n_leads LOOP
        IF cardinality(v_leads) < n_leads AND clock_timestamp() >= v_next_at
           AND (gap_s > 0 OR v_claimed = cardinality(v_leads)) THEN
            v_n := cardinality(v_leads) + 1;
            INSERT INTO cadence.lead (external_id, first_name, last_name, phone, email, time_zone, source, attributes)
            VALUES (format('%s-%s-%s', mode, load, v_n), 'Jordan', 'Reyes', '+1312555' || lpad(v_n::text, 4, '0'),
                    format('%s-%s-%s@example.com', mode, load, v_n), v_zone, 'web_form',
                    '{"vehicle": "2025 Toyota RAV4"}')
            RETURNING lead_id INTO v_lead;
            PERFORM cadence.enroll(v_lead, 'hot-7day');
            COMMIT;
            v_leads := v_leads || v_lead;
            v_t0 := v_t0 || clock_timestamp();
            v_poll_at := v_poll_at || v_polls;
            v_started := v_started || NULL::timestamptz;
            v_ticked := v_ticked || NULL::timestamptz;
            v_open := v_open || v_lead;
            v_next_at := v_t0[v_n] + gap_s * interval '1 second';
            -- a minute and a half is more than any mode should take
            v_deadline := v_t0[v_n] + interval '90 seconds';
        END IF;
        -- a cheap look first: the first calls queued and not claimed yet, and
        -- when the ticks that queued them started and committed
        v_seen := 0;
        FOR r IN SELECT t.lead_id, t.created_at, pg_xact_commit_timestamp(t.xmin) AS committed_at
                   FROM cadence.touch t
                  WHERE t.lead_id = ANY (v_open) AND t.step_no = 1 AND t.status = 'queued'
        LOOP
            v_n := array_position(v_leads, r.lead_id);
            v_started[v_n] := coalesce(v_started[v_n], r.created_at);
            v_ticked[v_n] := coalesce(v_ticked[v_n], r.committed_at);
            v_seen := v_seen + 1;
        END LOOP;
        -- then the claim, which is what counts
        IF v_seen > 0 THEN
            FOR r IN SELECT c.touch_id, c.lead_id
                       FROM cadence.claim_touches(ARRAY['call'], 'speed-bench', 100, '5 minutes', clock_timestamp()) c
            LOOP
                v_t1 := coalesce(v_t1, clock_timestamp());
                v_n := array_position(v_leads, r.lead_id);
                IF v_n IS NULL THEN
                    RAISE EXCEPTION 'claimed a call for lead %, which this run did not enrol', r.lead_id;
                END IF;
                INSERT INTO speed.sample
                VALUES (mode, load, v_n, r.lead_id, v_t0[v_n], v_t1, v_polls - v_poll_at[v_n], v_started[v_n], v_ticked[v_n]);
                v_open := array_remove(v_open, r.lead_id);
                PERFORM cadence.complete_touch(r.touch_id, 'no_answer', '{}', clock_timestamp());
                v_claimed := v_claimed + 1;
            END LOOP;
        END IF;
        IF v_t1 IS NOT NULL THEN
            COMMIT;
            v_t1 := NULL;
        ELSE
            v_polls := v_polls + 1;
            IF clock_timestamp() > v_deadline THEN
                RAISE EXCEPTION '% of % leads enrolled had no claimable call 90 s after the last enrolment',
                    cardinality(v_leads) - v_claimed, cardinality(v_leads);
            END IF;
            PERFORM pg_sleep(0.001);
        END IF;
    END LOOP;
    UPDATE speed.run AS sr
       SET ended_at = clock_timestamp(),
           ticks_end = (SELECT w.ticks FROM cadence.worker_status w WHERE w.database = current_database())
     WHERE sr.mode = measure.mode AND sr.load = measure.load;
    COMMIT;
END
$$;
