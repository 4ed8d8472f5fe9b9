#!/usr/bin/env bash
# The demo report renders: loads the demo's HTML report in headless Chromium
# with no network and checks that the KPI tiles and every chart were really
# laid out and drawn, not only that their tags are in the file.
#   bash test/report/check_report.sh               runs the demo at small scale (300 leads, about 15 s) for a report
#   bash test/report/check_report.sh report.html   checks a report already made
# Prints one TAP line per check ("ok N - ..." / "not ok N - ...") and exits
# non-zero if any fails.  The scratch directory (the report, a screenshot
# report.png, the browser's output) is kept when a check fails, or always
# with CADENCE_KEEP=1.
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/cluster.sh"
set +e   # count failures rather than stop at the first

HERE="$REPO_ROOT/test/report"
WIDTH=1000

n=0
failures=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# not_ok NAME [DETAIL]: the detail goes out as TAP comments
not_ok() {
    n=$((n + 1)); failures=$((failures + 1))
    echo "not ok $n - $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/#   /'
}

WORK=$(make_workdir report)
cleanup() {
    if [ "$failures" -eq 0 ] && [ -z "${CADENCE_KEEP:-}" ]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

# The browser is only needed here, not by the demo.  Without recommends:
# they would bring systemd, avahi and a printing stack.  Chromium's own
# dependencies include a font; DejaVu is named since the checks measure text.
if ! ensure_debian_packages --no-install-recommends chromium fonts-dejavu-core; then
    not_ok "chromium installed"
    echo "1..$n"; exit 1
fi

# --- the report -------------------------------------------------------------
if [ $# -ge 1 ]; then
    source_desc="given: $1"
    cp "$1" "$WORK/report.html" 2>"$WORK/copy.log"
else
    started=$(date +%s)
    (cd "$REPO_ROOT" && CADENCE_DEMO_LEADS=300 CADENCE_PGPORT=54341 CADENCE_DEMO_REPORT="$WORK/report.html" \
        bash demo/run.sh) >"$WORK/demo.log" 2>&1
    source_desc="demo, 300 leads, $(( $(date +%s) - started )) s"
fi
# the browser runs as the cluster user (no sandbox trouble as root), so it gets the scratch directory
cp "$HERE/inspector.html" "$WORK/inspector.html"
mkdir -p "$WORK/home"
chown -R "$(cluster_user)" "$WORK" 2>/dev/null || true

R="$WORK/report.html"
if [ -s "$R" ] && head -c 15 "$R" | grep -qi '^<!DOCTYPE html>' && tail -c 20 "$R" | grep -q '</html>'; then
    ok "report is a complete HTML document ($source_desc)"
else
    not_ok "report is a complete HTML document ($source_desc)" \
        "$( [ -f "$WORK/demo.log" ] && tail -20 "$WORK/demo.log"; [ -f "$WORK/copy.log" ] && cat "$WORK/copy.log"; [ -f "$R" ] && { echo "--- $(wc -c <"$R") bytes, ends with:"; tail -c 200 "$R"; } )"
    echo "1..$n"; exit 1
fi

# Self-contained: nothing it could fetch.  Every reference must be a fragment
# or a data: URL; no @import; and no http(s) address inside any tag (xmlns
# names a namespace, it is not fetched).
tags=$(tr '\n' ' ' <"$R" | grep -oE '<[^>]*>')
refs=$( { printf '%s\n' "$tags" | grep -oiE "[[:space:]](src|href|xlink:href|srcset|poster|action|data|background)[[:space:]]*=[[:space:]]*(\"[^\"]*\"|'[^']*'|[^[:space:]>]+)" \
             | grep -viE "=[[:space:]]*[\"']?[[:space:]]*(#|data:)"
          grep -oiE "url\([[:space:]]*[\"']?[^)]*\)" "$R" | grep -viE "url\([[:space:]]*[\"']?[[:space:]]*(#|data:)"
          grep -oiE "@import[^;]*" "$R"
          printf '%s\n' "$tags" | grep -oiE "[a-z:-]+[[:space:]]*=[[:space:]]*[\"']?[[:space:]]*(https?:)?//[^\"' >]*" | grep -viE '^xmlns(:[a-z]+)?[[:space:]]*=' ; } \
        | sed -e 's/^[[:space:]]*//' -e "s/[\"']//g" | sort -u)
if [ -z "$refs" ]; then
    ok "report references no external resources"
else
    not_ok "report references no external resources" "$refs"
fi

# --- in the browser -----------------------------------------------------------
browser() {
    local args=(--headless --disable-gpu --no-first-run --user-data-dir="$WORK/profile"
                --host-resolver-rules='MAP * ~NOTFOUND' --allow-file-access-from-files "$@")
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        timeout 90 chromium --no-sandbox "${args[@]}"
    else
        as_cluster_user env HOME="$WORK/home" timeout 90 chromium "${args[@]}"
    fi
}

# The inspector frames the report and writes its findings into its own DOM;
# the virtual time budget lets the page finish whatever it has queued first.
browser --virtual-time-budget=10000 --window-size=$WIDTH,1000 --dump-dom "file://$WORK/inspector.html" \
    >"$WORK/dom.html" 2>"$WORK/browser.log"
browser_rc=$?
findings=$(sed -n '/<pre id="findings">/,/<\/pre>/p' "$WORK/dom.html" | sed -e 's/<[^>]*>//g' -e 's/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g')
if [ "$browser_rc" -eq 0 ] && printf '%s\n' "$findings" | grep -qx 'end'; then
    ok "chromium loaded the report with no network, and the inspector ran"
else
    not_ok "chromium loaded the report with no network, and the inspector ran" \
        "chromium exited $browser_rc; $(grep -c . <<<"$findings") lines of findings; browser log:
$(grep -v 'dbus' "$WORK/browser.log" | tail -15)"
fi
page_height=1000
while IFS= read -r line; do
    case "$line" in
        "ok - "*)     ok "${line#ok - }" ;;
        "not ok - "*) not_ok "${line#not ok - }" ;;
        "# "*)        echo "$line" ;;
        page-height\ *) page_height=${line#page-height } ;;
    esac
done <<<"$findings"

# A screenshot of the whole page, for a person to look at.  A page of
# charts is tens of kilobytes as PNG; a blank or unstyled one compresses to a few.
[ "$page_height" -ge 200 ] 2>/dev/null && [ "$page_height" -le 8000 ] || page_height=2400
browser --window-size=$WIDTH,$page_height --hide-scrollbars --screenshot="$WORK/report.png" "file://$WORK/report.html" \
    >>"$WORK/browser.log" 2>&1
png="$WORK/report.png"
magic="" w=0 h=0 size=0
if [ -s "$png" ]; then
    magic=$(od -An -tx1 -N8 "$png" | tr -d ' \n')
    # width and height: the first two big-endian words of the IHDR chunk
    read -r w h < <(od -An -tu1 -j16 -N8 "$png" | awk 'NF == 8 {print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
    w=${w:-0} h=${h:-0}
    size=$(wc -c <"$png")
fi
if [ -s "$png" ] && [ "$magic" = 89504e470d0a1a0a ] && [ "$w" -eq "$WIDTH" ] && [ "$h" -eq "$page_height" ] && [ "$size" -ge 40000 ]; then
    ok "screenshot taken (${w}x${h}, $((size / 1024)) KB)"
else
    not_ok "screenshot taken" "file: $png: $( [ -s "$png" ] && echo "signature $magic, ${w}x${h} (want ${WIDTH}x$page_height), $size bytes (want 40000 or more)" || echo missing)"
fi

echo "1..$n"
[ "$failures" -eq 0 ]
