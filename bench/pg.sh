#!/usr/bin/env bash
# pg.sh CMD [ARGS…] — run CMD with a private, throw-away PostgreSQL server: initdb into a temp
# dir, start it on a unix socket in that dir (no TCP), export AL_PG_CONNINFO (a libpq conninfo:
# user `allot`, a superuser, trust authentication over the socket), AL_PG_HOST (the socket's
# dir) and AL_PG_BIN (the server's bin dir, where psql is too), run CMD, then stop the server
# and delete the dir. Root cannot run postgres, so as root the server runs as the `postgres`
# user (created by Debian's postgresql package). Used by the admission benchmark's peer, by
# bench/pg_ceiling.c and by tests/integration/pg_schema.sh.
# AL_PG_DURABLE=1: commits wait for their WAL flush (synchronous_commit=on, fsync on), as
# allot's own commits do; otherwise synchronous_commit=off (the admission peer: deciding, not
# durability, is what it compares).
# When PostgreSQL cannot start, CMD still runs, with AL_PG_SKIP set to the reason (a test
# reports that as a failure; the admission benchmark leaves its peer out).
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
    echo "pg.sh: PostgreSQL not started: $1" >&2
}

start() {
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        skip "no PostgreSQL server binaries under /usr/lib/postgresql (scripts/deps.sh test, or bench)"
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
    # Unless AL_PG_DURABLE=1, durable writes are not what is measured: commits do not wait for
    # fsync (the admission peer's fastest honest setting: it compares deciding, not durability).
    local sync=off
    [ "${AL_PG_DURABLE:-}" = 1 ] && sync=on
    if ! "${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-k $dir -c listen_addresses= -c synchronous_commit=$sync -c fsync=on -c shared_buffers=256MB" \
        start >/dev/null 2>&1; then
        skip "server did not start: $(tail -3 "$dir/server.log" 2>/dev/null | tr '\n' ' ')"; return
    fi
    export AL_PG_CONNINFO="host=$dir dbname=postgres user=allot" AL_PG_HOST="$dir" AL_PG_BIN="$bindir"
    echo "pg.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') running in $dir" \
        "(synchronous_commit=$sync)" >&2
}

start
"$@"
