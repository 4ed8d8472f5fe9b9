# Figure 4, counted (sourced by bench/run.sh after the timed figures): the
# work of one event in CPU instructions, cadence.record_event beside the
# bare INSERT of figure 4, each counted by callgrind (valgrind) in one
# backend.  Events per second move with whatever else a shared machine is
# running (the same build has measured 15 % apart from one run to the
# next); an instruction count does not (0.1 % on the same data, up to 1 %
# between runs, as figure 4 leaves the leads in slightly different states),
# so a change worth a few per cent shows here when figure 4 cannot tell it
# from noise.  The ratio is the bare INSERT's count over record_event's:
# what figure 4's ratio would be if the CPU were all that limited both.  It
# leaves out what a count cannot see, such as waiting for locks or for the
# other clients.
#
# The same CADENCE_BENCH_COUNTED_EVENTS events of figure 4's mix (the first
# of bench.day_of_events over tenant T_RECORD's leads), each in its own
# transaction and rolled back, so that every event meets the state that
# figure 4 left.  Each script prepares its statement once and executes it
# for every event, as pgbench -M prepared does in figure 4: a statement
# parsed and planned for every event would add the same two hundred
# thousand instructions to both sides and lift the ratio (by half, on
# 2026-12-08: 0.305 against 0.196 prepared).  The backend runs in single-user mode (postgres --single),
# so the cluster is stopped meanwhile.  Instructions an event: the count of
# a script less the count of one that only sets up the session, divided by
# the number of events.
#
# Uses from bench/run.sh: WORK, BENCH_DIR, T_RECORD, N_EV_LEADS, EV_DAY,
# PG_BIN, run_sql, log, as_cluster_user, ensure_debian_packages.

N_EV_COUNTED=${CADENCE_BENCH_COUNTED_EVENTS:-400}
if ! [[ "$N_EV_COUNTED" =~ ^[1-9][0-9]*$ ]]; then
    echo "CADENCE_BENCH_COUNTED_EVENTS must be a positive integer, not \"$N_EV_COUNTED\"" >&2
    exit 2
fi
ensure_debian_packages valgrind

# Each script is read by postgres --single -j: statements end with a
# semicolon and an empty line.
COUNTED_DIR=$WORK/counted
mkdir -p "$COUNTED_DIR"
printf 'SET cadence.tenant_id = %s;\n\nSET ROLE bench_app;\n\n' "$T_RECORD" >"$COUNTED_DIR/setup.sql"
# counted_script NAME STATEMENT: NAME.sql prepares STATEMENT (of the
# event's six values) as ev, then executes it for each event.
counted_script() {
    cp "$COUNTED_DIR/setup.sql" "$COUNTED_DIR/$1.sql"
    printf 'PREPARE ev(bigint, text, timestamptz, jsonb, text, text) AS %s;\n\n' "$2" >>"$COUNTED_DIR/$1.sql"
    run_sql -c "SELECT format(E'BEGIN;\n\nEXECUTE ev(%s, %L, %L, %L, %L, %L);\n\nROLLBACK;\n', e.lead_id, e.kind,
                              e.occurred_at, e.payload, e.source, e.provider_id)
                  FROM bench.day_of_events($N_EV_COUNTED, $N_EV_LEADS, '$EV_DAY') e" >>"$COUNTED_DIR/$1.sql"
}
counted_script engine 'SELECT cadence.record_event($1, $2, $3, NULL, $4, $5, $6)'
counted_script baseline 'INSERT INTO bench.event_bare (lead_id, kind, occurred_at, payload, source, provider_id)
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, source, provider_id) DO NOTHING'

# count SCRIPT: the instructions of one single-user backend running it.  A
# statement's error does not stop the backend or change its exit status: it
# is a line of its log, "... [pid] ERROR:  ...", looked for here.
count_instructions() {
    local script=$1 out
    out=$(as_cluster_user valgrind --tool=callgrind --callgrind-out-file="$WORK/cluster/callgrind.out" \
              "$PG_BIN/postgres" --single -j -D "$WORK/cluster/data" cadence <"$COUNTED_DIR/$script.sql" 2>&1) \
        || { echo "$out" >&2; return 1; }
    if grep -qE '(^|[]>] )(ERROR|FATAL|PANIC):' <<<"$out"; then
        grep -E '(^|[]>] )(ERROR|FATAL|PANIC):' <<<"$out" | head -5 >&2
        echo "the counted run of $script failed" >&2
        return 1
    fi
    sed -nE 's/^==[0-9]+== Collected : ([0-9]+)$/\1/p' <<<"$out"
}

# The cluster is started again whatever happens, so that a failed count
# still leaves the report of the other figures.
log "figure 4, counted: $N_EV_COUNTED events under callgrind, one backend"
stop_cluster "$WORK/cluster"
COUNTED_OK=true
COUNT_SETUP=$(count_instructions setup) || COUNTED_OK=false
COUNT_BASELINE=$(count_instructions baseline) || COUNTED_OK=false
COUNT_ENGINE=$(count_instructions engine) || COUNTED_OK=false
as_cluster_user "$PG_BIN/pg_ctl" -D "$WORK/cluster/data" -l "$WORK/cluster/server.log" -w -t 60 start >/dev/null \
    || { cat "$WORK/cluster/server.log" >&2; exit 1; }
for v in COUNT_SETUP COUNT_BASELINE COUNT_ENGINE; do
    if ! [[ "${!v}" =~ ^[0-9]+$ ]]; then
        echo "figure 4, counted: no instruction count for $v" >&2
        COUNTED_OK=false
    fi
done
if $COUNTED_OK && { [ "$COUNT_BASELINE" -le "$COUNT_SETUP" ] || [ "$COUNT_ENGINE" -le "$COUNT_SETUP" ]; }; then
    echo "figure 4, counted: a script counted no more than the session set-up ($COUNT_SETUP)" >&2
    COUNTED_OK=false
fi
if $COUNTED_OK; then
    # bench.result.seconds holds the instructions an event for this figure
    run_sql -c "INSERT INTO bench.result VALUES
        ('event_counted', 'baseline', 1, ($COUNT_BASELINE - $COUNT_SETUP)::double precision / $N_EV_COUNTED, $N_EV_COUNTED),
        ('event_counted', 'engine', 1, ($COUNT_ENGINE - $COUNT_SETUP)::double precision / $N_EV_COUNTED, $N_EV_COUNTED)"
else
    BENCH_FAILED=1
fi
