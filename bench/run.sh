#!/usr/bin/env bash
# The benchmark (make bench): builds and installs the extension, starts a
# throwaway cluster tuned for bulk work, loads leads and enrolments
# set-based, and measures, on that one cluster, each figure beside its
# baseline (docs/benchmarks.md says what each means):
#   1. tick throughput, touches/s, with 1,000,000 active enrolments of which
#      100,000 are due, against a bare INSERT ... SELECT + UPDATE;
#   2. the tick with nothing due at 1,000,000 enrolments against 1,000;
#   3. claim+complete throughput, 4 concurrent workers in batches of 100,
#      against a bare FOR UPDATE SKIP LOCKED claim and UPDATE;
#   4. events/s through cadence.record_event, 4 clients, single rows for
#      random leads of 100,000, against a bare INSERT of the same rows and
#      against a PL/pgSQL row trigger doing the same work (bench/events*.sql);
#      and the same comparison with the bare INSERT counted in CPU
#      instructions an event, one backend under callgrind, which the
#      machine's other load does not move (bench/events_counted.sh);
#   5. events/s through a bulk COPY of 1,000,000 events over 100,000 leads
#      into cadence.event, against a bare COPY of the same rows;
#   6. cadence.rescore() of 1,000,000 leads holding 10,000,000 events,
#      against the bare GROUP BY lead_id over the same events and against
#      the same rescore in plain SQL (bench/scoring*.sql);
#   7. cadence.score() of one lead with 200 events, against the same score
#      as one plain SQL query;
#   8. speed-to-lead: commit of INSERT lead + enroll to the first touch being
#      claimable, p50 and p99 over 1,000 leads, idle and under 5,000 events/s,
#      on a cluster of its own with the background worker, beside the pg_cron
#      mode (bench/speed_to_lead.sh).
# Prints a table (figure, baseline, ratio, target, met).  Exits 0 when a
# target is missed (it reports), non-zero when something fails.
#
# Settings (environment):
#   CADENCE_BENCH_SCALE   fraction of the full data set (default 1; 0.1 for a quick check)
#   CADENCE_BENCH_RUNS    timed runs of figures 1 and 6 (default 3; the median is reported)
#   CADENCE_BENCH_EXPLAIN 1 = also print the plans of the tick and claim statements (auto_explain,
#                         one rolled-back tick and one rolled-back claim), and of the event trigger's
#                         statement for one event and for the bulk load, and of the rescore's statement
#   CADENCE_BENCH_ONLY    tick (figures 1, 2), claim (3), events (4, 5), scoring (6, 7), speed (8) or all (default)
#   CADENCE_BENCH_COUNTED_EVENTS  events counted under callgrind for figure 4, counted (default 400)
#   CADENCE_BENCH_EVENT_TIMEOUT  seconds after which the bulk COPY into cadence.event (figure 5) is
#                         cancelled and reported as a bound (default 1800)
#   CADENCE_PGPORT        port of the scratch cluster; CADENCE_KEEP=1 keeps its directory
source "$(dirname "${BASH_SOURCE[0]}")/../tools/cluster.sh"

BENCH_DIR=$REPO_ROOT/bench
SCALE=${CADENCE_BENCH_SCALE:-1}
RUNS=${CADENCE_BENCH_RUNS:-3}
IDLE_CALLS=100
WORKERS=4
BATCH=100
# A Wednesday at 17:00 UTC, mid-day in the four US zones of the leads.  The
# tick with nothing due runs three hours earlier (load.sql explains why).
AS_OF='2025-03-12 17:00:00+00'
AS_OF_IDLE='2025-03-12 14:00:00+00'
AS_OF_EPOCH=$(date -u -d "$AS_OF" +%s)

if ! awk -v s="$SCALE" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+$/ && s > 0 && s <= 10) }'; then
    echo "CADENCE_BENCH_SCALE must be a number in (0, 10], not \"$SCALE\"" >&2
    exit 2
fi
if ! [[ "$RUNS" =~ ^[1-9][0-9]*$ ]]; then
    echo "CADENCE_BENCH_RUNS must be a positive integer, not \"$RUNS\"" >&2
    exit 2
fi
ONLY=${CADENCE_BENCH_ONLY:-all}
case "$ONLY" in
    all|tick|claim|events|scoring|speed) ;;
    *) echo "CADENCE_BENCH_ONLY must be events, tick, claim, scoring, speed or all, not \"$ONLY\"" >&2; exit 2 ;;
esac
# want PART: whether this run measures PART (tick, claim, events or scoring).
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }
# Enrolments in thousands (so that exactly one in ten is due), at least 10,000.
N_ENROL=$(awk -v s="$SCALE" 'BEGIN { n = int(1000 * s + 0.5); if (n < 10) n = 10; print n * 1000 }')
N_SMALL=1000
N_DUE=$((N_ENROL / 10))
N_QUEUE=$((2 * N_DUE))
# Transactions per worker, the same for the baseline and the engine: a tenth
# of the queue (50 at full scale, at least 10), and never more than nine
# tenths of it, so every batch is full and the queue stays deep.
TX_PER_WORKER=$((N_QUEUE / 10 / BATCH / WORKERS))
[ "$TX_PER_WORKER" -lt 10 ] && TX_PER_WORKER=10
[ "$TX_PER_WORKER" -gt $((N_QUEUE * 9 / 10 / BATCH / WORKERS)) ] && TX_PER_WORKER=$((N_QUEUE * 9 / 10 / BATCH / WORKERS))

ensure_packages
build_and_install

WORK=$(make_workdir bench)
cleanup() {
    stop_cluster "$WORK/cluster"
    if [ -z "${CADENCE_KEEP:-}" ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
# No autovacuum: the script vacuums between the timed phases itself, so no
# background work competes with a measurement on a small machine.
start_cluster "$WORK/cluster" \
    "shared_buffers = '2GB'" "max_wal_size = '8GB'" "min_wal_size = '1GB'" "checkpoint_timeout = '30min'" \
    "work_mem = '64MB'" "maintenance_work_mem = '512MB'" "autovacuum = off" "max_parallel_workers_per_gather = 0"

run_sql() { psql -X -q -At -v ON_ERROR_STOP=1 -v as_of="$AS_OF" -v as_of_idle="$AS_OF_IDLE" \
                 -v n_due="$N_DUE" -v n_enrol="$N_ENROL" -v n_small="$N_SMALL" "$@"; }
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }
T_START=$(date +%s.%N)
BENCH_FAILED=                   # set by a part that fails but lets the others report

log "scale $SCALE, measuring $ONLY; work dir $WORK"
run_sql -f "$BENCH_DIR/setup.sql" >/dev/null

# Figures 1-3 share the 1,000,000 enrolments; figures 4 and 5 use tenants of
# their own (bench/events.sql), loaded further down.
if want tick || want claim; then
    log "$N_ENROL enrolments, $N_DUE due"

    # Figure 2, first half: the tick with nothing due at 1,000 enrolments.
    idle_ticks() {
        run_sql -c "SET ROLE bench_app" -c "INSERT INTO bench.result
            SELECT 'idle_tick', '$1', call_no, seconds, 0 FROM bench.idle_ticks('$AS_OF_IDLE', $IDLE_CALLS)"
    }
    run_sql -v first=1 -v last="$N_SMALL" -f "$BENCH_DIR/load.sql"
    run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    if want tick; then
        log "figure 2: tick with nothing due, $N_SMALL enrolments"
        idle_ticks small
    fi

    log "loading up to $N_ENROL leads and enrolments"
    T0=$(date +%s.%N)
    run_sql -v first=$((N_SMALL + 1)) -v last="$N_ENROL" -f "$BENCH_DIR/load.sql"
    run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    log "loaded in $(since "$T0") s"

    if want tick; then
        # Figure 2, second half.
        log "figure 2: tick with nothing due, $N_ENROL enrolments"
        idle_ticks large

        # Figure 1: baseline and tick, alternating, each rolled back.
        for run in $(seq 1 "$RUNS"); do
            log "figure 1: tick throughput, run $run of $RUNS"
            run_sql -v run="$run" -f "$BENCH_DIR/tick_run.sql"
        done
    fi
fi

# Optional (CADENCE_BENCH_EXPLAIN=1): the plans of the engine's statements,
# through auto_explain, for a call that is rolled back.  explain CALL PATTERN
# lists the duration of every nested statement whose text starts with
# PATTERN, then prints the plan of the slowest of them in full.
explain() {
    local call=$1 pattern=$2
    run_sql -c "LOAD 'auto_explain'" \
        -c "SET auto_explain.log_min_duration = 0" -c "SET auto_explain.log_analyze = on" \
        -c "SET auto_explain.log_buffers = on" -c "SET auto_explain.log_nested_statements = on" \
        -c "SET auto_explain.log_level = notice" -c "SET client_min_messages = notice" \
        -c "SET ROLE bench_app" -c "BEGIN" -c "$call" -c "ROLLBACK" >/dev/null 2>"$WORK/explain.txt"
    awk -v pattern="$pattern" '
        function close_block() { if (hit && ms > best) { best = ms; slowest = plan } hit = 0; plan = "" }
        /^NOTICE:  duration:/ { close_block(); text = 0; keep = 0; ms = $3 + 0; next }
        /^Query Text: / { text = 1; hit = index($0, "Query Text: " pattern) == 1
                          if (hit) { n++; printf "    statement %d: %.3f ms\n", n, ms }
                          next }
        text && /\(cost=/ { text = 0; keep = hit }
        keep { plan = plan "    " $0 "\n" }
        END { close_block(); printf "    the slowest (%.3f ms):\n%s", best, slowest }' "$WORK/explain.txt"
    run_sql -c "VACUUM cadence.enrolment" -c "VACUUM cadence.touch"
}
if want tick && [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
    log "plans of the tick's statements (one rolled-back tick)"
    explain "SELECT cadence.tick('$AS_OF')" "WITH due AS"
fi

if want claim; then
    # Figure 3: the queue, then the baseline and the engine under pgbench.
    log "figure 3: queueing $N_QUEUE touches"
    run_sql -f "$BENCH_DIR/queue.sql"

    claim_run() {
        local variant=$1 script=$2 table=$3 out tps done_rows seconds
        log "figure 3: $variant, $WORKERS workers x $TX_PER_WORKER batches of $BATCH"
        out=$(pgbench -n -c "$WORKERS" -j 2 -t "$TX_PER_WORKER" -U bench_app -D as_of_epoch="$AS_OF_EPOCH" \
                      -f "$BENCH_DIR/$script" 2>&1) || { echo "$out" >&2; return 1; }
        tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out")
        if [ -z "$tps" ] || ! grep -qE "^number of transactions actually processed: $((WORKERS * TX_PER_WORKER))/" <<<"$out" \
           || grep -qE '^number of failed transactions: [1-9]' <<<"$out"; then
            echo "$out" >&2
            echo "pgbench did not complete every transaction" >&2
            return 1
        fi
        done_rows=$(run_sql -c "SELECT count(*) FROM $table WHERE status = 'done'")
        seconds=$(awk -v tx=$((WORKERS * TX_PER_WORKER)) -v tps="$tps" 'BEGIN { printf "%.6f", tx / tps }')
        run_sql -c "SELECT bench.check($done_rows = $((WORKERS * TX_PER_WORKER * BATCH)),
                        format('%s touches completed, expected %s', $done_rows, $((WORKERS * TX_PER_WORKER * BATCH))))" \
                -c "INSERT INTO bench.result VALUES ('claim', '$variant', 1, $seconds, $done_rows)" >/dev/null
    }
    claim_run baseline skip_locked.pgbench bench.queue
    claim_run engine claim_complete.pgbench cadence.touch
    if [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
        log "plan of the claim statement (one claim of $BATCH)"
        explain "SELECT count(*) FROM cadence.claim_touches(ARRAY['email'], 'explain', $BATCH, '5 minutes', '$AS_OF')" \
                "WITH picked AS"
    fi
fi

# --- Figures 4 and 5: engagement events ---------------------------------------
# Four tenants with the same data (bench/events_load.sql): leads 1..N_EV_LEADS
# in an active warm enrolment with an escalate rule, each with a queued touch
# and earlier opens.  Figure 4 runs N_EV_SINGLE single-row events (pgbench)
# through the bare INSERT (three runs, the table emptied between them),
# cadence.record_event (tenant T_RECORD) and the PL/pgSQL row trigger
# (tenant T_PLPGSQL), each figure the median of its three runs.  The engine
# and the PL/pgSQL trigger take turns, run k of each with the same random
# seed (the same events, each side on the state its earlier runs left), so
# that a slow spell of a shared machine does not fall on one side only.
# Figure 5 loads one file of N_EV_COPY events with COPY, bare and into
# cadence.event (tenant T_COPY); then a tenth of that (N_EV_COPY_SMALL events
# over the first tenth of the leads) bare and, as the application role must,
# through a temporary table (tenant T_STAGED).
T_RECORD=2
T_PLPGSQL=3
T_COPY=4
T_STAGED=5
EV_CLIENTS=4
EV_SEED=20250312
EV_DAY='2025-03-12 00:00:00+00'
EV_DAY_EPOCH=$(date -u -d "$EV_DAY" +%s)
N_EV_LEADS=$(awk -v s="$SCALE" 'BEGIN { n = int(100 * s + 0.5); if (n < 10) n = 10; print n * 1000 }')
N_EV_SINGLE=$(awk -v s="$SCALE" 'BEGIN { n = int(5 * s + 0.5); if (n < 1) n = 1; print n * 1000 * 4 }')
N_EV_COPY=$((N_EV_LEADS * 10))
N_EV_COPY_SMALL=$((N_EV_COPY / 10))
EV_TIMEOUT=${CADENCE_BENCH_EVENT_TIMEOUT:-1800}
if ! [[ "$EV_TIMEOUT" =~ ^[1-9][0-9]*$ ]]; then
    echo "CADENCE_BENCH_EVENT_TIMEOUT must be a positive number of seconds, not \"$EV_TIMEOUT\"" >&2
    exit 2
fi

event_run() {
    local variant=$1 script=$2 tenant=$3 run=${4:-1} out tps seconds
    out=$(PGOPTIONS="-c cadence.tenant_id=$tenant" pgbench -n -M prepared -c "$EV_CLIENTS" -j 2 \
              -t $((N_EV_SINGLE / EV_CLIENTS)) --random-seed="$((EV_SEED + run))" -U bench_app \
              -D n_leads="$N_EV_LEADS" -D day_epoch="$EV_DAY_EPOCH" -f "$BENCH_DIR/$script" 2>&1) \
        || { echo "$out" >&2; return 1; }
    tps=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' <<<"$out")
    if [ -z "$tps" ] || ! grep -qE "^number of transactions actually processed: $N_EV_SINGLE/" <<<"$out" \
       || grep -qE '^number of failed transactions: [1-9]' <<<"$out"; then
        echo "$out" >&2
        echo "pgbench did not complete every event" >&2
        return 1
    fi
    seconds=$(awk -v n="$N_EV_SINGLE" -v tps="$tps" 'BEGIN { printf "%.6f", n / tps }')
    run_sql -c "INSERT INTO bench.result VALUES ('event_single', '$variant', $run, $seconds, $N_EV_SINGLE)"
}

if want events; then
    log "figures 4 and 5: $N_EV_LEADS leads per tenant, $N_EV_SINGLE single events, $N_EV_COPY in bulk"
    run_sql -v t_record=$T_RECORD -v t_plpgsql=$T_PLPGSQL -v t_copy=$T_COPY -v t_staged=$T_STAGED \
            -f "$BENCH_DIR/events.sql" >/dev/null
    T0=$(date +%s.%N)
    for t in $T_RECORD $T_PLPGSQL $T_COPY $T_STAGED; do
        table=cadence.event
        [ "$t" = "$T_PLPGSQL" ] && table=bench.event_plpgsql
        run_sql -v tenant="$t" -v n_leads="$N_EV_LEADS" -v day="$EV_DAY" -v event_table="$table" \
                -f "$BENCH_DIR/events_load.sql" >/dev/null
    done
    run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    log "loaded in $(since "$T0") s"

    for run in 1 2 3; do
        log "figure 4: bare INSERT, run $run of 3"
        event_run baseline events_bare.pgbench "$T_RECORD" "$run"
        run_sql -c "TRUNCATE bench.event_bare" -c "VACUUM ANALYZE bench.event_bare"
    done
    for run in 1 2 3; do
        log "figure 4: cadence.record_event, run $run of 3"
        event_run engine events_record.pgbench "$T_RECORD" "$run"
        log "figure 4: the PL/pgSQL row trigger, run $run of 3"
        event_run plpgsql events_plpgsql.pgbench "$T_PLPGSQL" "$run"
    done
    run_sql -c "SELECT bench.check(count(*) = 3 * $N_EV_SINGLE, format('record_event stored %s events, expected 3 * $N_EV_SINGLE', count(*)))
                  FROM cadence.event WHERE tenant_id = $T_RECORD AND provider_id NOT LIKE 'before-%'" >/dev/null
    if [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
        log "plan of the event trigger's statement for one event (rolled back)"
        PGOPTIONS="-c cadence.tenant_id=$T_RECORD" explain \
            "SELECT cadence.record_event(17, 'email_open', '$EV_DAY'::timestamptz + interval '12 hours', NULL, '{}', 'esp', 'explain-1')" \
            "WITH ev AS"
    fi

    log "figure 5: writing $N_EV_COPY events to a file"
    run_sql -c "\\copy (SELECT * FROM bench.day_of_events($N_EV_COPY, $N_EV_LEADS, '$EV_DAY')) TO '$WORK/events.csv' WITH (FORMAT csv)"
    run_sql -c "\\copy (SELECT * FROM bench.day_of_events($N_EV_COPY_SMALL, $((N_EV_LEADS / 10)), '$EV_DAY')) TO '$WORK/events-small.csv' WITH (FORMAT csv)"
    run_sql -c "CHECKPOINT"
    log "figure 5: bulk loads"
    run_sql -v events_file="$WORK/events.csv" -v n_copy="$N_EV_COPY" -v t_copy=$T_COPY -v t_staged=$T_STAGED \
            -v events_small_file="$WORK/events-small.csv" -v n_copy_small="$N_EV_COPY_SMALL" -v timeout_s="$EV_TIMEOUT" \
            -f "$BENCH_DIR/events_copy.sql"
    if [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
        log "plan of the event trigger's statement for the application's bulk load (rolled back, a fresh tenant)"
        run_sql -v tenant=6 -v n_leads=$((N_EV_LEADS / 10)) -v day="$EV_DAY" -v event_table=cadence.event \
                -c "INSERT INTO cadence.tenant (tenant_id, name) VALUES (6, 'bench events: explain')" \
                -f "$BENCH_DIR/events_load.sql" >/dev/null
        run_sql -c "VACUUM ANALYZE"
        PGOPTIONS="-c cadence.tenant_id=6" explain \
            "INSERT INTO cadence.event (lead_id, kind, occurred_at, payload, source, provider_id) SELECT * FROM bench.day_of_events($N_EV_COPY_SMALL, $((N_EV_LEADS / 10)), '$EV_DAY')" \
            "WITH ev AS"
    fi
fi

# --- Figures 6 and 7: lead scoring --------------------------------------------
# Tenant T_SCORING (bench/scoring.sql): N_SC_LEADS leads holding 10 events
# each on average (0 to 20, kinds the default model scores) over the 90 days
# before SC_EVENTS_END, loaded with every trigger running, in slices of
# 10,000 leads and their 100,000 events, one INSERT each
# (bench/scoring_load.sql), then one more lead with 200 events.  (Larger
# slices load slower, not faster: every hand-off alert a statement raises
# updates one of the tenant's ten reps, so each alert is slower than the one
# before it in the same transaction; docs/benchmarks.md has the figures.)
# Figure 6 (bench/scoring_run.sql, RUNS runs, each rescore rolled back): the
# bare GROUP BY lead_id over the tenant's events, then
# cadence.rescore(SC_AS_OF), the next night, then the same rescore in plain
# SQL.  Figure 7 (bench/scoring_one.sql): cadence.score() of the 200-event
# lead and the same score as one plain SQL query, SC_CALLS calls each.
T_SCORING=7
SC_EVENTS_END='2025-03-12 00:00:00+00'
SC_AS_OF='2025-03-13 03:15:00+00'
SC_CALLS=1000
N_SC_LEADS=$(awk -v s="$SCALE" 'BEGIN { n = int(100 * s + 0.5); if (n < 1) n = 1; print n * 10000 }')
SC_ONE_LEAD=$((N_SC_LEADS + 1))

if want scoring; then
    # The scheduler's worker, where the extension has one, ticks every tenant
    # at now(): it would escalate the alerts the load raises (due in 2025)
    # while the rescore is timed.  The benchmark passes its own instants.
    if [ -n "$(run_sql -c "SELECT 1 FROM pg_settings WHERE name = 'cadence.worker_enabled'")" ]; then
        run_sql -c "ALTER SYSTEM SET cadence.worker_enabled = off" -c "SELECT pg_reload_conf()" >/dev/null
    fi
    log "figures 6 and 7: $N_SC_LEADS leads with $((N_SC_LEADS * 10)) events, and one lead with 200"
    run_sql -v t_scoring=$T_SCORING -f "$BENCH_DIR/scoring.sql" >/dev/null
    T0=$(date +%s.%N)
    sc_slice=10000
    for s in $(seq 0 $((N_SC_LEADS / sc_slice - 1))); do
        run_sql -v t_scoring=$T_SCORING -v first=$((s * sc_slice + 1)) -v last=$(((s + 1) * sc_slice)) \
                -v one_lead=$SC_ONE_LEAD -v events_end="$SC_EVENTS_END" -f "$BENCH_DIR/scoring_load.sql" >/dev/null
    done
    run_sql -v t_scoring=$T_SCORING -v first=$SC_ONE_LEAD -v last=$SC_ONE_LEAD \
            -v one_lead=$SC_ONE_LEAD -v events_end="$SC_EVENTS_END" -f "$BENCH_DIR/scoring_load.sql" >/dev/null
    run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
    log "loaded in $(since "$T0") s"

    for run in $(seq 1 "$RUNS"); do
        log "figure 6: rescore, run $run of $RUNS"
        run_sql -v run="$run" -v t_scoring=$T_SCORING -v score_as_of="$SC_AS_OF" -v n_sc_leads=$((N_SC_LEADS + 1)) \
                -v n_sc_events=$((N_SC_LEADS * 10 + 200)) -f "$BENCH_DIR/scoring_run.sql"
    done
    log "figure 7: score() of one lead with 200 events, $SC_CALLS calls"
    run_sql -v t_scoring=$T_SCORING -v one_lead=$SC_ONE_LEAD -v score_as_of="$SC_AS_OF" -v calls=$SC_CALLS \
            -f "$BENCH_DIR/scoring_one.sql"
    if [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
        # Only statements over 10 ms: the rescore calls route_lead once per
        # changed lead, whose statements would fill the log.
        log "plan of the rescore's statement (rolled back)"
        PGOPTIONS="-c cadence.tenant_id=$T_SCORING" run_sql -c "LOAD 'auto_explain'" \
            -c "SET auto_explain.log_min_duration = 10" -c "SET auto_explain.log_analyze = on" \
            -c "SET auto_explain.log_buffers = on" -c "SET auto_explain.log_nested_statements = on" \
            -c "SET auto_explain.log_level = notice" -c "SET client_min_messages = notice" \
            -c "SET ROLE bench_app" -c "BEGIN" -c "SELECT cadence.rescore('$SC_AS_OF')" -c "ROLLBACK" \
            2>&1 >/dev/null | sed 's/^/    /'
        run_sql -c "VACUUM cadence.lead"
    fi
fi

# Figure 4 again, in instructions rather than seconds.  Last before the
# report: it stops the cluster meanwhile, and the timed figures should not
# start on the cold cache it leaves.
if want events; then
    source "$BENCH_DIR/events_counted.sh"
fi

echo
echo "cadence benchmark, scale $SCALE ($(nproc) cores, PostgreSQL $($PG_BIN/postgres --version | awk '{print $3}'), $(date -u +%Y-%m-%d))"
if want tick || want claim; then
    # (a part that was not run leaves its line of run times empty: drop it)
    run_sql -v n_claimed=$((WORKERS * TX_PER_WORKER * BATCH)) -f "$BENCH_DIR/report.sql" >"$WORK/report.txt"
    grep -vE '^tick runs \(s\): engine ; baseline ;' "$WORK/report.txt" || true
fi
if want events; then
    run_sql -v n_single="$N_EV_SINGLE" -v n_copy="$N_EV_COPY" -v n_copy_small="$N_EV_COPY_SMALL" \
            -v n_ev_leads="$N_EV_LEADS" -v clients="$EV_CLIENTS" -v n_counted="$N_EV_COUNTED" \
            -v t_record=$T_RECORD -v t_plpgsql=$T_PLPGSQL -v t_copy=$T_COPY -v t_staged=$T_STAGED \
            -f "$BENCH_DIR/events_report.sql"
fi
if want scoring; then
    run_sql -v n_sc_leads=$((N_SC_LEADS + 1)) -v n_sc_events=$((N_SC_LEADS * 10 + 200)) -v calls=$SC_CALLS \
            -f "$BENCH_DIR/scoring_report.sql"
fi

# --- Figure 8: speed-to-lead (bench/speed_to_lead.sh) -------------------------
# Last, because it replaces this cluster with one running the background worker.
if want speed; then
    source "$BENCH_DIR/speed_to_lead.sh"
fi
echo "total time $(since "$T_START") s"
# a part that failed after the others ran (the counted figure) fails the run
if [ -n "${BENCH_FAILED:-}" ]; then
    echo "the benchmark did not complete every figure (see the errors above)" >&2
    exit 1
fi
