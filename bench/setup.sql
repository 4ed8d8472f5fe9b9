-- Benchmark set-up: the extension, an email cadence, the role the
-- measurements run as, the baseline tables and the helpers that time things.
-- psql variables: :as_of (the tick instant, mid-day UTC).
-- Runs as the superuser that owns the scratch cluster.

CREATE EXTENSION cadence;

-- Measurements run as an application login, as in production: row-level
-- security applies to the engine, and the baseline gets the same privileges.
CREATE ROLE bench_app LOGIN IN ROLE cadence_app;

CREATE SCHEMA bench;
GRANT USAGE ON SCHEMA bench TO bench_app;

-- A four-step email nurture.  Email may go out all day, so no touch is
-- deferred by quiet hours and every due enrolment yields a queued touch.
SELECT cadence.define_cadence($spec${
  "key": "bench-email-nurture",
  "name": "Benchmark: email nurture",
  "tier": "warm",
  "steps": [
    {"name": "welcome", "channel": "email", "timing": "immediate",
     "message": {"subject": "Thanks for your enquiry, {{first_name|there}}",
                 "body": "Hi {{first_name|there}}, thanks for asking about the {{attr.vehicle|vehicle}}. Reply with a time that suits you."}},
    {"name": "reminder", "channel": "email", "timing": "+1 day",
     "message": {"subject": "Still interested, {{first_name|there}}?",
                 "body": "Hi {{first_name|there}}, the {{attr.vehicle|vehicle}} is still here. Shall I hold it for a test drive?"}},
    {"name": "offer", "channel": "email", "timing": "+3 days",
     "message": {"subject": "A trade-in estimate for you",
                 "body": "Hi {{first_name|there}}, here is what your trade could be worth. Reply and I will firm it up."}},
    {"name": "last note", "channel": "email", "timing": "+7 days",
     "message": {"subject": "Closing your enquiry",
                 "body": "Hi {{first_name|there}}, I will close your enquiry for now. Reply any time to pick it up again."}}
  ]
}$spec$::jsonb) AS cadence_version_id;

-- One row per timed run; report.sql and the other reports turn them into
-- the tables.
CREATE TABLE bench.result (
    figure  text NOT NULL,      -- tick | idle_tick | claim | event_single | event_copy | ... | event_counted
    variant text NOT NULL,      -- engine | baseline (idle_tick: large | small)
    run     integer NOT NULL,
    seconds double precision NOT NULL CHECK (seconds > 0),  -- event_counted: CPU instructions an event
    items   bigint NOT NULL     -- touches written or completed (idle_tick: 0), events
);

-- The baseline of the tick writes to a plain copy of the touch table: same
-- columns, defaults, checks and indexes, but no foreign keys and no
-- row-level security.
CREATE TABLE bench.touch_copy (LIKE cadence.touch INCLUDING ALL);
-- The baseline of claim+complete works on a plain copy of the queue, built the same way.
CREATE TABLE bench.queue (LIKE cadence.touch INCLUDING ALL);
GRANT SELECT, INSERT, UPDATE ON bench.touch_copy, bench.queue TO bench_app;
GRANT INSERT ON bench.result TO bench_app;

-- Stop the run with an error (psql exits non-zero) when a check fails.
CREATE FUNCTION bench.check(ok boolean, what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'benchmark check failed: %', what;
    END IF;
END
$$;
GRANT EXECUTE ON FUNCTION bench.check(boolean, text) TO bench_app;

-- Time cadence.tick(as_of) when nothing is due: a few warm-up calls (the
-- session prepares the tick statement once), then one row per timed call.
CREATE FUNCTION bench.idle_ticks(as_of timestamptz, calls integer, warmup integer DEFAULT 5)
RETURNS TABLE (call_no integer, seconds double precision)
LANGUAGE plpgsql AS $$
DECLARE
    t0     timestamptz;
    queued integer;
BEGIN
    FOR i IN 1..warmup LOOP
        PERFORM cadence.tick(as_of);
    END LOOP;
    FOR i IN 1..calls LOOP
        t0 := clock_timestamp();
        queued := cadence.tick(as_of);
        seconds := extract(epoch FROM clock_timestamp() - t0);
        call_no := i;
        IF queued <> 0 THEN
            RAISE EXCEPTION 'idle tick at % queued % touches; expected nothing due', as_of, queued;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION bench.idle_ticks(timestamptz, integer, integer) TO bench_app;
