#!/usr/bin/env bash
# The main job (make demo): installs what is missing, builds, starts a
# throwaway cluster, installs the dealership playbook, runs sample leads
# (10,000 by default) through 90 simulated days with simulated customers and a simulated
# sender, prints what happened week by week and the KPI table against the
# seed's goals, and writes a self-contained HTML report.
#   CADENCE_DEMO_LEADS   how many leads (default 10000: under 2 minutes on 2 cores)
#   CADENCE_DEMO_SEED    seed of the customer model (default 42): same seed, same numbers
#   CADENCE_DEMO_REPORT  where the report goes (default ./cadence-demo-report.html)
source "$(dirname "${BASH_SOURCE[0]}")/../tools/cluster.sh"

SEED=${CADENCE_DEMO_SEED:-42}
LEADS=${CADENCE_DEMO_LEADS:-10000}
REPORT=${CADENCE_DEMO_REPORT:-$PWD/cadence-demo-report.html}

ensure_packages
build_and_install

WORK=$(make_workdir demo)
cleanup() {
    stop_cluster "$WORK/cluster"
    if [ -z "${CADENCE_KEEP:-}" ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
start_cluster "$WORK/cluster"

log "simulating 90 days for $LEADS leads (seed $SEED)"
started=$(date +%s)
psql -X -v ON_ERROR_STOP=1 -v seed="$SEED" -v leads="$LEADS" -v report="$WORK/report.html" \
     -f "$REPO_ROOT/demo/simulate.sql" -f "$REPO_ROOT/demo/account.sql"
cp "$WORK/report.html" "$REPORT"
log "done in $(( $(date +%s) - started )) s; report written to $REPORT"
