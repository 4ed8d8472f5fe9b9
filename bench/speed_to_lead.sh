# Speed-to-lead (sourced by bench/run.sh, after the other figures): the time
# from the COMMIT of one transaction that inserts a lead and enrols it in the
# seed's hot cadence to its first call being claimable by
# cadence.claim_touches, over 1,000 leads one after another, idle and while
# pgbench records 5,000 engagement events a second; then the pg_cron mode,
# where a cron job ticks once a minute, beside it (docs/benchmarks.md).
#
# It needs the background worker, so it stops the cluster of the other
# figures (all printed by now) and starts one of its own, on the same port:
# cadence preloaded with the worker on for database cadence, the default
# tick interval (1 s), and unlike the other figures fsync and synchronous
# commit on, since a latency includes the tick's WAL flush.  The event load
# commits asynchronously (synchronous_commit = off for its sessions), as a
# webhook receiver may: on this machine a flush takes about 2 ms, so four
# clients committing synchronously could not reach 5,000 a second.
#
# Settings (environment):
#   CADENCE_BENCH_SPEED_LEADS  leads per run (default 1000)
#   CADENCE_BENCH_SPEED_RATE   events per second of the background load (default 5000)
#   CADENCE_BENCH_CRON_LEADS   leads for the pg_cron mode, enrolled 2 s apart (default 30;
#                              0 = report only the worked-out figure)
# Uses from bench/run.sh: WORK, BENCH_DIR, REPO_ROOT, log, start_cluster, stop_cluster.

SPEED_LEADS=${CADENCE_BENCH_SPEED_LEADS:-1000}
SPEED_RATE=${CADENCE_BENCH_SPEED_RATE:-5000}
SPEED_CRON_LEADS=${CADENCE_BENCH_CRON_LEADS:-30}
SPEED_LOAD_LEADS=10000
SPEED_CLIENTS=4
SPEED_DIR=$WORK/speed
for v in SPEED_LEADS SPEED_RATE SPEED_CRON_LEADS; do
    if ! [[ "${!v}" =~ ^[0-9]+$ ]] || { [ "$v" != SPEED_CRON_LEADS ] && [ "${!v}" -eq 0 ]; }; then
        echo "speed-to-lead: $v must be a positive integer (CADENCE_BENCH_CRON_LEADS may be 0), not \"${!v}\"" >&2
        exit 2
    fi
done

speed_sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d cadence "$@"; }

# Poll (every 100 ms, up to 60 s) until the query returns t.
speed_wait() {
    local i
    for i in $(seq 1 600); do
        [ "$(speed_sql -c "$1" 2>/dev/null)" = t ] && return 0
        sleep 0.1
    done
    echo "speed-to-lead: timed out waiting for: $1" >&2
    return 1
}

log "speed-to-lead: a cluster of its own, with the background worker"
stop_cluster "$WORK/cluster"
trap 'stop_cluster "$SPEED_DIR"; cleanup' EXIT
start_cluster "$SPEED_DIR" \
    "cadence.worker_enabled = on" "cadence.databases = 'cadence'" \
    "fsync = on" "synchronous_commit = on" "full_page_writes = on" \
    "cron.host = '$SPEED_DIR'" "max_connections = 60" "track_commit_timestamp = on"
speed_sql -v hot_spec="$(cat "$REPO_ROOT/demo/hot_7day.json")" -v n_load_leads="$SPEED_LOAD_LEADS" \
          -f "$BENCH_DIR/speed_to_lead.sql" >/dev/null
# A restart, so that the launcher finds the database as it starts (it looks
# for new ones only every 10 s).  The worker then queues the load leads'
# first emails; after that nothing is due.
speed_restart() { as_cluster_user "$PG_BIN/pg_ctl" -D "$SPEED_DIR/data" -l "$SPEED_DIR/server.log" -w -t 60 restart >/dev/null; }
speed_restart
speed_wait "SELECT installed AND pid IS NOT NULL AND ticks > 0 AND NOT EXISTS (
                SELECT FROM cadence.enrolment WHERE next_due_at <= now())
              FROM cadence.worker_status WHERE database = 'cadence'"
speed_sql -c "VACUUM ANALYZE" -c "CHECKPOINT"
log "speed-to-lead: leads in $(speed_sql -c 'SELECT time_zone FROM speed.zone'), where calls may go out now"

log "speed-to-lead: $SPEED_LEADS leads, idle"
speed_sql -U bench_app -c "CALL speed.measure('worker', 'idle', $SPEED_LEADS, 0)"
speed_sql -c "VACUUM ANALYZE"

log "speed-to-lead: $SPEED_LEADS leads while pgbench records $SPEED_RATE events/s"
# (pgbench runs until it is stopped; the rate actually sustained is counted
# from the events recorded while the leads were measured)
PGOPTIONS="-c cadence.tenant_id=2 -c synchronous_commit=off" \
    pgbench -n -M prepared -c "$SPEED_CLIENTS" -j 2 -R "$SPEED_RATE" -T 3600 -U bench_app \
            -D n_leads="$SPEED_LOAD_LEADS" -f "$BENCH_DIR/speed_to_lead_events.pgbench" cadence \
            >"$SPEED_DIR/pgbench.log" 2>&1 &
SPEED_PGBENCH=$!
# let the load settle before measuring
speed_wait "SELECT count(*) > $SPEED_RATE FROM cadence.event"
sleep 2
speed_sql -U bench_app -c "CALL speed.measure('worker', 'events', $SPEED_LEADS, 0)"
kill -TERM "$SPEED_PGBENCH" 2>/dev/null || true
wait "$SPEED_PGBENCH" 2>/dev/null || true
if grep -q 'error' "$SPEED_DIR/pgbench.log"; then
    cat "$SPEED_DIR/pgbench.log" >&2
    echo "speed-to-lead: the event load failed" >&2
    exit 1
fi

if [ "$SPEED_CRON_LEADS" -gt 0 ]; then
    # The pg_cron mode: no worker (a restart, so that nothing of it is left
    # running), a tick every minute by pg_cron, one lead every 2 s.
    log "speed-to-lead: pg_cron mode, $SPEED_CRON_LEADS leads 2 s apart (about $((SPEED_CRON_LEADS * 2 + 60)) s)"
    speed_sql -c "ALTER SYSTEM SET cadence.worker_enabled = off"
    speed_restart
    speed_sql -c "CREATE EXTENSION pg_cron" -c "SELECT count(*) FROM cadence.setup_pg_cron()" >/dev/null
    speed_sql -U bench_app -c "CALL speed.measure('pg_cron', 'idle', $SPEED_CRON_LEADS, 2)"
    speed_sql -c "SELECT bool_and(status = 'succeeded') FROM cron.job_run_details" | grep -qx t \
        || { speed_sql -c "SELECT status, return_message FROM cron.job_run_details" >&2;
             echo "speed-to-lead: a pg_cron run failed" >&2; exit 1; }
fi

echo
echo "speed-to-lead ($(nproc) cores; fsync and synchronous commit on; the event load commits asynchronously)"
speed_sql -v rate="$SPEED_RATE" -f "$BENCH_DIR/speed_to_lead_report.sql"
stop_cluster "$SPEED_DIR"
trap cleanup EXIT
