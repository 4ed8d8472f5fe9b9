#!/usr/bin/env bash
# The main job (make demo): installs what is missing, builds, starts a
# throwaway cluster, loads the seed's hot 7-day cadence and a few hundred
# sample leads, runs the engine over ten simulated days with a simulated
# sender and prints what it did, day by day.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/cluster.sh"

ensure_packages
build_and_install

WORK=$(make_workdir demo)
cleanup() {
    stop_cluster "$WORK/cluster"
    if [ -z "${CADENCE_KEEP:-}" ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
start_cluster "$WORK/cluster"

log "loading the cadence and sample leads, then simulating ten days"
psql -X -q -v ON_ERROR_STOP=1 -v cadence_doc="$(cat "$REPO_ROOT/demo/hot_7day.json")" \
     -f "$REPO_ROOT/demo/simulate.sql"
