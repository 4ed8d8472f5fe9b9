#!/usr/bin/env bash
# The main job (make demo): installs what is missing, builds, starts a
# throwaway cluster, loads the seed's hot 7-day and warm 30-day cadences and
# a few hundred sample leads, runs the engine over thirty simulated days with
# a simulated sender and simulated customers, and prints what it did, day by
# day.
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

log "loading the cadences and sample leads, then simulating thirty days"
psql -X -q -v ON_ERROR_STOP=1 -v hot_doc="$(cat "$REPO_ROOT/demo/hot_7day.json")" \
     -v warm_doc="$(cat "$REPO_ROOT/demo/warm_30day.json")" -f "$REPO_ROOT/demo/simulate.sql"
