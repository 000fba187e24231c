#!/usr/bin/env bash
# pg.sh CMD [ARGS…] — run CMD with a private, throw-away PostgreSQL server for the admission
# benchmark's peer: initdb into a temp dir, start it on a unix socket in that dir (no TCP), export
# AL_PG_CONNINFO, run CMD, then stop the server and delete the dir. Root cannot run postgres, so
# as root the server runs as the `postgres` user (created by Debian's postgresql package).
# When PostgreSQL cannot start, CMD still runs, with AL_PG_SKIP set to the reason.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: pg.sh CMD [ARGS...]" >&2; exit 2; }

bindir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
    sort -V | tail -1)
dir=''
as=()
stop() {
    [ -n "$dir" ] || return 0
    if [ -f "$dir/data/postmaster.pid" ]; then
        "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
}
trap stop EXIT

skip() {
    export AL_PG_SKIP="$1"
    echo "pg.sh: PostgreSQL peer skipped: $1" >&2
}

start() {
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        skip "no PostgreSQL server binaries under /usr/lib/postgresql (scripts/deps.sh bench)"
        return
    fi
    dir=$(mktemp -d /tmp/allot-pg.XXXXXX) || { skip "mktemp failed"; return; }
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || { skip "running as root and no 'postgres' user"; return; }
        chown postgres "$dir"
        as=(runuser -u postgres --)
    fi
    if ! "${as[@]}" "$bindir/initdb" -D "$dir/data" -U allot -A trust -E UTF8 --no-sync \
        >"$dir/initdb.log" 2>&1; then
        skip "initdb failed: $(tail -3 "$dir/initdb.log" | tr '\n' ' ')"; return
    fi
    # Durable writes are not what is measured: commits do not wait for fsync (the peer's
    # fastest honest setting; allot's planner is compared on deciding, not on durability).
    if ! "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses= -c synchronous_commit=off -c shared_buffers=256MB" \
        start >/dev/null 2>&1; then
        skip "server did not start: $(tail -3 "$dir/server.log" 2>/dev/null | tr '\n' ' ')"; return
    fi
    export AL_PG_CONNINFO="host=$dir dbname=postgres user=allot"
    echo "pg.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running in $dir" >&2
}

start
"$@"
