#!/usr/bin/env bash
# The benchmark (make bench): builds and installs the extension, starts a
# throwaway cluster tuned for bulk work, loads leads and enrolments
# set-based, and measures, on that one cluster, each figure beside its
# baseline (docs/benchmarks.md says what each means):
#   1. tick throughput, touches/s, with 1,000,000 active enrolments of which
#      100,000 are due, against a bare INSERT ... SELECT + UPDATE;
#   2. the tick with nothing due at 1,000,000 enrolments against 1,000;
#   3. claim+complete throughput, 4 concurrent workers in batches of 100,
#      against a bare FOR UPDATE SKIP LOCKED claim and UPDATE.
# Prints a table (figure, baseline, ratio, target, met).  Exits 0 when a
# target is missed (it reports), non-zero when something fails.
#
# Settings (environment):
#   CADENCE_BENCH_SCALE   fraction of the full data set (default 1; 0.1 for a quick check)
#   CADENCE_BENCH_RUNS    timed runs of figure 1 (default 3; the median is reported)
#   CADENCE_BENCH_EXPLAIN 1 = also print the plans of the tick and claim statements (auto_explain,
#                         one rolled-back tick and one rolled-back claim)
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

log "scale $SCALE: $N_ENROL enrolments, $N_DUE due; work dir $WORK"
run_sql -f "$BENCH_DIR/setup.sql" >/dev/null

# Figure 2, first half: the tick with nothing due at 1,000 enrolments.
idle_ticks() {
    run_sql -c "SET ROLE bench_app" -c "INSERT INTO bench.result
        SELECT 'idle_tick', '$1', call_no, seconds, 0 FROM bench.idle_ticks('$AS_OF_IDLE', $IDLE_CALLS)"
}
run_sql -v first=1 -v last="$N_SMALL" -f "$BENCH_DIR/load.sql"
run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
log "figure 2: tick with nothing due, $N_SMALL enrolments"
idle_ticks small

log "loading up to $N_ENROL leads and enrolments"
T0=$(date +%s.%N)
run_sql -v first=$((N_SMALL + 1)) -v last="$N_ENROL" -f "$BENCH_DIR/load.sql"
run_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
log "loaded in $(since "$T0") s"

# Figure 2, second half.
log "figure 2: tick with nothing due, $N_ENROL enrolments"
idle_ticks large

# Figure 1: baseline and tick, alternating, each rolled back.
for run in $(seq 1 "$RUNS"); do
    log "figure 1: tick throughput, run $run of $RUNS"
    run_sql -v run="$run" -f "$BENCH_DIR/tick_run.sql"
done

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
if [ "${CADENCE_BENCH_EXPLAIN:-}" = 1 ]; then
    log "plans of the tick's statements (one rolled-back tick)"
    explain "SELECT cadence.tick('$AS_OF')" "WITH due AS"
fi

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

echo
echo "cadence benchmark, scale $SCALE ($(nproc) cores, PostgreSQL $($PG_BIN/postgres --version | awk '{print $3}'), $(date -u +%Y-%m-%d))"
run_sql -v n_claimed=$((WORKERS * TX_PER_WORKER * BATCH)) -f "$BENCH_DIR/report.sql"
echo "total time $(since "$T_START") s"
