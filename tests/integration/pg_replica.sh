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

# ---- two servers on one database: a sale on one is seen by the other's sale ----
# money_lib's helpers (node, org, contract, topup, gpus) call $U: the replica in use.
# shellcheck source=tests/integration/money_lib.sh
. "$root/tests/integration/money_lib.sh"
db="host=$AL_PG_HOST dbname=allot_two user=allot"
key=$tmp/webhooks.key
T0=$(($(date +%s) / 3600 * 3600 + 3600))
HOUR=3600
M=1000000
set_clock "$T0"
OP=$("$ALLOT" server init --db "$db" --name root --secret-key-file "$key" 2>"$tmp/init.err")
must "init on PostgreSQL prints the operator's token" [ "${OP:0:3}" = al_ ]
declare -a urls=()
# start I: replica I, its clock never ticking during the test (its copy is refreshed only by
# its sales' GPU locks: what this part proves)
start() {
    local port
    port=$(free_port)
    urls[$1]=http://127.0.0.1:$port
    start_server "${urls[$1]}" "$tmp/server$1.log" --db "$db" --secret-key-file "$key" \
        --listen "127.0.0.1:$port" --clock-file "$tmp/clock" --tick-ms 3600000 || return 1
    pids[$1]=$server_pid
}
must "replica A starts" start 0
U=${urls[0]}
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 2
must "node h1 with 2 GPUs registered on A" [ "$code" = 200 ]
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M))}"
VF=$(ts "$((T0 - HOUR))")
VT=$(ts $((T0 + 400 * 86400)))
org pre
contract pre prepaid '"self_service":true,"credit_limit_micros":0' || exit 1
topup pre $((100000 * M)) seed-pre
must "replica B starts (its copy: the node, no reservation yet)" start 1
ask="{$(gpus H100-80GB 1 $((T0 + HOUR)) $((T0 + 3 * HOUR)))}"
reserve_on() { # reserve_on I KEY: a self-service reservation of one GPU on replica I
    U=${urls[$1]}
    call "$ADMIN" POST /v1/reservations "$ask" -H "Idempotency-Key: $2"
}
reserve_on 0 r1
g1=$(j '.allocations[0].gpu')
check "A reserves a GPU → 201" [ "$code" = 201 ] || echo "# $code $(head -c 300 <<<"$body")"
# B's copy has not seen A's reservation: if its planner picks A's GPU, the sale's lock re-reads
# it, the plan no longer fits, and the request is planned once more
reserve_on 1 r2
g2=$(j '.allocations[0].gpu')
check "B reserves the same window → 201 on the other GPU ($g1, $g2)" \
    [ "$code" = 201 -a -n "$g2" -a "$g2" != "$g1" -a "$g2" != null ]
reserve_on 1 r3
check "B again: both GPUs are taken → 409 no_capacity" \
    [ "$code" = 409 -a "$(j .error.code)" = no_capacity ]
reserve_on 0 r4
check "A again (its copy had not seen B's sale): 409 no_capacity" \
    [ "$code" = 409 -a "$(j .error.code)" = no_capacity ]
check "the database holds two live reservation holds on two GPUs" \
    [ "$(psql -d allot_two -c "SELECT count(DISTINCT gpu_id) || '/' || count(*) FROM holds")" = 2/2 ]
# events in positions: either replica lists both reservations' events
U=${urls[1]}
call "$OP" GET '/v1/events?kind=reservation.scheduled'
check "B lists both replicas' reservation.scheduled events, numbered apart" \
    [ "$(j '[.items[].id] | unique | length')" = 2 ]
