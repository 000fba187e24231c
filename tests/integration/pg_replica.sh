#!/usr/bin/env bash
# pg_replica.sh — the store's calls for several replicas (src/store/store_replica.c) on a
# throw-away PostgreSQL 15 (bench/pg.sh), in the normal `make test`: test_store_replica (built
# beside $ALLOT) with its PostgreSQL cases run on a fresh database — the clock's advisory lock
# held by one transaction at a time, a GPU's row lock making another connection wait, an
# overlap refused by holds_no_overlap leaving the transaction usable, the change feed naming
# what another connection committed (once), deliveries claimed with SKIP LOCKED and leased,
# and event positions in commit order under two interleaved commits (a reader paging by
# position skips nothing). Then two servers on that database: a quote made on one takes its
# GPU on the other (the sale's lock re-reads it), so the second replica quotes another GPU.
# Prints "ok - …" / "not ok - …" per check. Needs PostgreSQL's server (scripts/deps.sh test),
# $ALLOT, curl, jq.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -z "${AL_PG_REPLICA_INNER:-}" ]; then
    AL_PG_REPLICA_INNER=1 exec "$root/bench/pg.sh" bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
AL_TEST_DB='' . "$root/tests/integration/lib.sh"
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot-pgreplica.XXXXXX)
declare -a pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do reap -KILL "$p"; done
    rm_tmp
}
trap cleanup EXIT

if [ -n "${AL_PG_SKIP:-}" ] || [ -z "${AL_PG_HOST:-}" ]; then
    nok "PostgreSQL starts: ${AL_PG_SKIP:-bench/pg.sh exported no AL_PG_HOST}"
    exit 1
fi
psql() { "$AL_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$AL_PG_HOST" -U allot "$@"; }
psql -d postgres -c 'CREATE DATABASE allot_unit' -c 'CREATE DATABASE allot_two' >/dev/null

# ---- the store's calls (tests/unit/test_store_replica.c): their PostgreSQL cases are skipped
# without a database
prog=$(dirname "$ALLOT")/test_store_replica
if [ -x "$prog" ]; then
    AL_PG_CONNINFO="host=$AL_PG_HOST dbname=allot_unit user=allot" "$prog" >"$tmp/unit.out" 2>&1
    rc=$?
    check "test_store_replica passes every case on PostgreSQL (none skipped)" \
        [ $rc = 0 -a -z "$(grep SKIPPED "$tmp/unit.out")" -a -n "$(grep PASSED "$tmp/unit.out")" ]
    [ $rc = 0 ] || sed 's/^/# /' "$tmp/unit.out" | tail -20
else
    nok "test_store_replica is built beside $ALLOT"
fi
check "the database is at schema 12: the change feed and event positions" \
    [ "$(psql -d allot_unit -c 'SELECT max(version) FROM schema_version')" = 12 -a \
    "$(psql -d allot_unit -c "SELECT count(*) FROM information_schema.columns
        WHERE table_name = 'events' AND column_name = 'pos'")" = 1 ]
