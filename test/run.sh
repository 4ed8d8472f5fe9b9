#!/usr/bin/env bash
# The test command (make test): installs what is missing, builds, starts a
# throwaway cluster with cadence and pg_cron preloaded, then runs every
# suite and ends with one line "N passed, N failed".
#   - pg_regress:            sql/*.sql against expected/*.out (one test per file)
#   - isolation specs:       test/isolation/specs/*.spec (one test per spec)
#   - pgTAP:                 test/pgtap/*.sql (one test per assertion)
#   - TAP:                   test/t/*.pl, PostgreSQL::Test::Cluster (one test per assertion)
#   - demo report:           test/report/check_report.sh, the demo's HTML in headless Chromium (one test per check)
# Set CADENCE_KEEP=1 to keep the scratch directory for a look afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/cluster.sh"
set +e

ensure_packages || exit 1
build_and_install || exit 1

WORK=$(make_workdir test)
cleanup() {
    stop_cluster "$WORK/cluster"
    if [ -z "${CADENCE_KEEP:-}" ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT
start_cluster "$WORK/cluster" || exit 1

PGXS_DIR=$(dirname "$($PG_BIN/pg_config --pgxs)")/..
passed=0
failed=0

# --- pg_regress -------------------------------------------------------------
regress_tests=$(cd "$REPO_ROOT/sql" && ls *.sql 2>/dev/null | sed 's/\.sql$//' | sort)
if [ -n "$regress_tests" ]; then
    log "pg_regress: $(echo $regress_tests | wc -w) tests"
    mkdir -p "$WORK/regress"
    "$PGXS_DIR/test/regress/pg_regress" --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --dbname=cadence_regress --inputdir="$REPO_ROOT" --outputdir="$WORK/regress" \
        $regress_tests >"$WORK/regress/run.log" 2>&1
    grep -E '\.\.\. ' "$WORK/regress/run.log" | sed 's/^/    /'
    p=$(grep -cE '\.\.\. +ok' "$WORK/regress/run.log")
    f=$(grep -cE '\.\.\. +FAILED|\.\.\. +failed' "$WORK/regress/run.log")
    # a test that did not run (no expected output, a crash) counts as failed
    n=$(echo $regress_tests | wc -w)
    if [ "$((p + f))" -lt "$n" ]; then f=$((n - p)); cat "$WORK/regress/run.log"; fi
    [ -f "$WORK/regress/regression.diffs" ] && [ "$f" -gt 0 ] && cat "$WORK/regress/regression.diffs"
    passed=$((passed + p)); failed=$((failed + f))
fi

# --- isolation specs ----------------------------------------------------------
iso_tests=$(cd "$REPO_ROOT/test/isolation/specs" 2>/dev/null && ls *.spec 2>/dev/null | sed 's/\.spec$//' | sort)
if [ -n "$iso_tests" ]; then
    log "isolation: $(echo $iso_tests | wc -w) specs"
    mkdir -p "$WORK/isolation"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE cadence_isolation" \
        -c "\\c cadence_isolation" -c "CREATE EXTENSION cadence" >/dev/null
    "$PGXS_DIR/test/isolation/pg_isolation_regress" --use-existing --host="$PGHOST" --port="$PGPORT" --user=postgres \
        --dbname=cadence_isolation --inputdir="$REPO_ROOT/test/isolation" --outputdir="$WORK/isolation" \
        $iso_tests >"$WORK/isolation/run.log" 2>&1
    grep -E '\.\.\. ' "$WORK/isolation/run.log" | sed 's/^/    /'
    p=$(grep -cE '\.\.\. +ok' "$WORK/isolation/run.log")
    f=$(grep -cE '\.\.\. +FAILED|\.\.\. +failed' "$WORK/isolation/run.log")
    n=$(echo $iso_tests | wc -w)
    if [ "$((p + f))" -lt "$n" ]; then f=$((n - p)); cat "$WORK/isolation/run.log"; fi
    [ -f "$WORK/isolation/output_iso/regression.diffs" ] && [ "$f" -gt 0 ] && cat "$WORK/isolation/output_iso/regression.diffs"
    [ -f "$WORK/isolation/regression.diffs" ] && [ "$f" -gt 0 ] && cat "$WORK/isolation/regression.diffs"
    passed=$((passed + p)); failed=$((failed + f))
fi

# --- pgTAP ------------------------------------------------------------------
tap_files=$(ls "$REPO_ROOT"/test/pgtap/*.sql 2>/dev/null | sort)
if [ -n "$tap_files" ]; then
    log "pgTAP: $(echo $tap_files | wc -w) files"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE cadence_tap" \
        -c "\\c cadence_tap" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION cadence" >/dev/null
    for file in $tap_files; do
        name=$(basename "$file" .sql)
        out="$WORK/tap-$name.out"
        psql -X -q -At -v ON_ERROR_STOP=1 -d cadence_tap -f "$file" >"$out" 2>&1
        rc=$?
        p=$(grep -cE '^ok [0-9]+' "$out")
        f=$(grep -cE '^not ok [0-9]+' "$out")
        planned=$(sed -nE 's/^1\.\.([0-9]+)$/\1/p' "$out" | head -1)
        problem=""
        [ "$rc" -ne 0 ] && problem="psql exited $rc"
        [ -n "$planned" ] && [ "$planned" -ne "$((p + f))" ] && problem="$problem planned $planned, ran $((p + f))"
        [ -z "$planned" ] && problem="$problem no plan"
        if [ -n "$problem" ]; then f=$((f + 1)); fi
        printf '    %-40s %3d passed, %d failed %s\n' "$name" "$p" "$f" "$problem"
        if [ "$f" -gt 0 ]; then
            grep -vE '^ok [0-9]+' "$out" | sed 's/^/        /' | head -60
        fi
        passed=$((passed + p)); failed=$((failed + f))
    done
fi

# --- TAP (PostgreSQL::Test::Cluster): the scheduler, crashes, restarts ---------
tap_tests=$(ls "$REPO_ROOT"/test/t/*.pl 2>/dev/null | sort)
if [ -n "$tap_tests" ]; then
    log "TAP: $(echo $tap_tests | wc -w) files"
    # the test clusters are made by the cluster user, so it gets its own copy
    mkdir -p "$WORK/tap"
    cp -r "$REPO_ROOT/test/t" "$WORK/tap/t"
    chown -R "$(cluster_user)" "$WORK/tap" 2>/dev/null || true
    (cd "$WORK/tap" && as_cluster_user env PATH="$PG_BIN:$PATH" PG_REGRESS="$PGXS_DIR/test/regress/pg_regress" \
        TESTDIR="$WORK/tap" PERL5LIB="$PGXS_DIR/test/perl" PG_TEST_TIMEOUT_DEFAULT=120 \
        prove -v --ext .pl t/ >"$WORK/tap/run.log" 2>&1)
    p=$(grep -cE '^ok [0-9]+' "$WORK/tap/run.log")
    f=$(grep -cE '^not ok [0-9]+' "$WORK/tap/run.log")
    if ! grep -q '^Result: PASS' "$WORK/tap/run.log"; then
        f=$((f + 1))
        grep -vE '^ok [0-9]+' "$WORK/tap/run.log" | tail -40 | sed 's/^/        /'
        for l in "$WORK"/tap/tmp_check/log/*.log; do
            [ -f "$l" ] && { echo "        --- $l"; tail -20 "$l" | sed 's/^/        /'; }
        done
    fi
    grep -E '^t/.*\.\.' "$WORK/tap/run.log" | sed 's/^/    /'
    printf '    %-40s %3d passed, %d failed\n' "TAP" "$p" "$f"
    passed=$((passed + p)); failed=$((failed + f))
fi

# --- demo report (headless Chromium) -------------------------------------------
# runs the demo at small scale on a cluster of its own, then checks the HTML
# report in the browser (test/report/check_report.sh; one test per check)
if [ -f "$REPO_ROOT/test/report/check_report.sh" ]; then
    log "demo report (headless Chromium)"
    mkdir -p "$WORK/report"
    bash "$REPO_ROOT/test/report/check_report.sh" >"$WORK/report/run.log" 2>&1
    rc=$?
    p=$(grep -cE '^ok [0-9]+' "$WORK/report/run.log")
    f=$(grep -cE '^not ok [0-9]+' "$WORK/report/run.log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -gt 0 ]; then
        grep -vE '^ok [0-9]+' "$WORK/report/run.log" | tail -60 | sed 's/^/        /'
    else
        grep -E '^# ' "$WORK/report/run.log" | sed 's/^/    /'   # notes, e.g. clipped labels
    fi
    printf '    %-40s %3d passed, %d failed\n' "demo report" "$p" "$f"
    passed=$((passed + p)); failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
