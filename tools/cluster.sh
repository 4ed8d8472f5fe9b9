# Shared set-up for the demo, the tests and the benchmark: install what is
# missing, build and install the extension, and run a throwaway cluster.
# Sourced by demo/run.sh, test/run.sh and bench/run.sh.
#
# The cluster runs as an unprivileged OS user (initdb and postgres refuse
# root): the caller itself when not root, else the "postgres" user that the
# postgresql-15 package creates.  It listens on a Unix socket only.

set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
PG_PACKAGES=(postgresql-$PG_VERSION postgresql-server-dev-$PG_VERSION postgresql-$PG_VERSION-cron
             postgresql-$PG_VERSION-pgtap libipc-run-perl)

log() { printf '==> %s\n' "$*" >&2; }

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_debian_packages [--no-install-recommends] PKG...
# Installs those of the packages that are missing, with no questions asked.
# --no-install-recommends keeps heavy optional extras out (chromium would
# otherwise bring systemd, avahi and a printing stack with it).
ensure_debian_packages() {
    local opts=() missing=() p
    if [ "${1:-}" = --no-install-recommends ]; then opts+=("$1"); shift; fi
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${opts[@]}" "${missing[@]}" </dev/null >/dev/null
    fi
}

ensure_packages() {
    ensure_debian_packages "${PG_PACKAGES[@]}"
    # Debian starts a cluster of its own on install; ours never uses it.
}

build_and_install() {
    log "building and installing the extension"
    make -C "$REPO_ROOT" -s PG_CONFIG=$PG_BIN/pg_config >/dev/null
    as_root make -C "$REPO_ROOT" -s PG_CONFIG=$PG_BIN/pg_config install >/dev/null
}

# The OS user that owns the throwaway cluster.
cluster_user() {
    if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi
}

as_cluster_user() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# start_cluster DIR [extra postgresql.conf lines...]
# Leaves PGHOST, PGPORT, PGUSER and PGDATABASE exported for the caller.
start_cluster() {
    local dir=$1; shift
    mkdir -p "$dir"
    chown "$(cluster_user)" "$dir" 2>/dev/null || true
    chmod 700 "$dir"
    as_cluster_user "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "port = ${CADENCE_PGPORT:-54329}"
        echo "shared_preload_libraries = 'cadence, pg_cron'"
        echo "cron.database_name = 'cadence'"
        echo "max_connections = 60"
        echo "max_worker_processes = 16"
        # the demo and the suites drive the engine on a simulated clock; the
        # background workers would tick at the real time, so they are off here
        # (the scheduler's own tests start clusters of their own)
        echo "cadence.worker_enabled = off"
        echo "fsync = off"
        echo "synchronous_commit = off"
        echo "full_page_writes = off"
        echo "timezone = 'UTC'"
        echo "log_min_messages = warning"
        for line in "$@"; do echo "$line"; done
    } >>"$dir/data/postgresql.conf"
    as_cluster_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    export PGHOST=$dir PGPORT=${CADENCE_PGPORT:-54329} PGUSER=postgres PGDATABASE=cadence
    "$PG_BIN/createdb" cadence
}

stop_cluster() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_cluster_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

# A scratch directory the cluster user can write to, removed on exit unless
# CADENCE_KEEP is set.
make_workdir() {
    local dir
    dir=$(mktemp -d "${TMPDIR:-/tmp}/cadence-$1.XXXXXX")
    chmod 755 "$dir"
    echo "$dir"
}
