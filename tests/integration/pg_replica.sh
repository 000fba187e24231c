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
# test_txn's retry cases on PostgreSQL (a unit that met a deadlock, the store's RETRY fault,
# runs again after its batch). A real deadlock between replica A's sale and another
# transaction: PostgreSQL aborts A's statement, A's unit is undone and runs again, the call
# answers 201, never 500, and A's log says it retried. A lost connection: the servers'
# backends terminated between calls, then during a burst of calls; no call answers 2xx
# unless its work is in the database, the servers reconnect by themselves, rebuild their
# copies, name the loss in their logs without the conninfo, and the next calls succeed.
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
psql -d postgres -c 'CREATE DATABASE allot_unit' -c 'CREATE DATABASE allot_two' \
    -c 'CREATE DATABASE allot_txn' >/dev/null

# ---- the store's calls (tests/unit/test_store_replica.c): their PostgreSQL cases are skipped
# without a database
pg_unit test_store_replica allot_unit "test_store_replica passes every case on PostgreSQL (none skipped)"
# test_txn's retry cases: skipped without a database, each run on it here
pg_unit test_txn allot_txn "test_txn's retries pass on PostgreSQL (a deadlock's unit runs again; none skipped)"
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

# ---- a real deadlock: replica A's sale and another transaction lock two GPUs in opposite
# order. The other session (psql, fed through a FIFO) locks the second GPU; A's sale of both
# locks the first and waits for the second; then psql asks for the first. A's backend waited
# first and psql's deadlock_timeout is long, so PostgreSQL's detector (deadlock_timeout, 1 s)
# aborts A's statement (40P01): A's unit is undone (its lock on the first GPU goes), psql gets
# it and commits, and A runs the unit again after its batch.
mapfile -t gids < <(psql -d allot_two -c "SELECT id FROM gpus ORDER BY id")
ask2="{$(gpus H100-80GB 2 $((T0 + 10 * HOUR)) $((T0 + 12 * HOUR)))}"
mkfifo "$tmp/locker"
psql -d allot_two <"$tmp/locker" >"$tmp/locker.out" 2>&1 &
locker=$!
exec 7>"$tmp/locker"
echo "SET deadlock_timeout = '30s'; BEGIN; SELECT 1 FROM gpus WHERE id = '${gids[1]}' FOR UPDATE;" >&7
wait_for() { # wait_for SQL WANT: poll allot_two until SQL prints WANT (10 s at most)
    local i
    for i in $(seq 200); do
        [ "$(psql -d allot_two -c "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    return 1
}
check "psql holds the second GPU's row lock" wait_for \
    "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'" 1
curl -s -o "$tmp/dl.resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
    -H 'Content-Type: application/json' -H 'Idempotency-Key: dl1' --data-binary "$ask2" \
    "${urls[0]}/v1/reservations" >"$tmp/dl.code" &
sale=$!
check "A's sale waits for that lock" wait_for \
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'" 1
echo "SELECT 1 FROM gpus WHERE id = '${gids[0]}' FOR UPDATE; SELECT pg_sleep(0.3); COMMIT;" >&7
exec 7>&-
wait "$sale"
wait "$locker"
locker_rc=$?
body=$(cat "$tmp/dl.resp")
check "the call that met the deadlock answers 201 (retried), never 500 ($(cat "$tmp/dl.code"))" \
    [ "$(cat "$tmp/dl.code")" = 201 -a "$(j '.allocations | length')" = 2 ]
check "psql's transaction was not the deadlock's victim: it committed" \
    [ "$locker_rc" = 0 -a -z "$(grep ERROR "$tmp/locker.out")" ]
check "A's log says the unit met the deadlock and was retried" \
    grep -q "met a concurrent transaction (.*deadlock detected.*retried" "$tmp/server0.log"
check "the reservation is in the database once, its two holds with it" \
    [ "$(psql -d allot_two -c "SELECT count(*) FROM holds WHERE owner = '$(j .id)'")" = 2 ]

# ---- a lost connection: every backend of the servers terminated (their main and sync
# connections), between calls and then during a burst of calls ----
terminate() {
    psql -d allot_two -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
        WHERE datname = 'allot_two' AND pid <> pg_backend_pid()"
}
n=$(terminate)
check "the servers' four connections are terminated ($n)" [ "$n" -ge 4 ]
reserve_at() { # reserve_at I KEY HOUR: one GPU for an hour from T0 + HOUR hours, on replica I
    U=${urls[$1]}
    call "$ADMIN" POST /v1/reservations \
        "{$(gpus H100-80GB 1 $((T0 + $3 * HOUR)) $((T0 + $3 * HOUR + HOUR)))}" \
        -H "Idempotency-Key: $2"
}
# the first write after the loss may find its sync connection gone: its outcome is unknown to
# the server, so it answers 500, never 2xx; its keyed retry answers what was kept
reserve_at 0 lost1 20
first=$code
[ "$code" = 201 ] || reserve_at 0 lost1 20
check "a reservation on A after the loss: $first, then 201 on its key" [ "$code" = 201 ]
rid=$(j .id)
reserve_at 0 lost1 20
check "its key answers the same reservation again" [ "$code" = 201 -a "$(j .id)" = "$rid" ]
check "the database holds it once" \
    [ "$(psql -d allot_two -c "SELECT count(*) FROM reservations WHERE id = '$rid'")" = 1 ]
U=${urls[1]}
call "$OP" GET "/v1/reservations/$rid"
check "B, whose connections were lost too, reads it (reconnected by itself)" \
    [ "$code" = 200 -a "$(j .id)" = "$rid" ]
reserve_at 1 lost2 20
first=$code
[ "$code" = 201 ] || reserve_at 1 lost2 20
check "B's sale of the same hour: $first, then 201 on its key (the other GPU)" \
    [ "$code" = 201 -a "$(j '.allocations[0].gpu')" != null ]
check "A's log names the loss and the rebuild" \
    grep -q "the connection to the database was lost and opened again" "$tmp/server0.log"
grep -h "lost\|opened again\|sync of batch" "$tmp"/server*.log | sort | uniq -c | sed 's/^/# /'
check "no log names the conninfo (it may hold a password)" \
    [ -z "$(grep -l "dbname=allot_two" "$tmp"/server*.log)" ]
for i in 0 1; do
    check "replica $i is still running" kill -0 "${pids[$i]}"
done

# a burst of self-service reservations on both replicas, the backends terminated in the
# middle: whatever answered 201 is in the database, and no server stops
burst() { # burst I N: N reservations of one GPU-hour each on replica I, codes and ids to a file
    local k t0
    for k in $(seq "$2"); do
        t0=$((T0 + (100 + $1 * 50 + k) * HOUR))
        curl -s -o "$tmp/b$1.$k" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $ADMIN" \
            -H 'Content-Type: application/json' -H "Idempotency-Key: burst$1-$k" \
            --data-binary "{$(gpus H100-80GB 1 "$t0" $((t0 + HOUR)))}" \
            "${urls[$1]}/v1/reservations" >>"$tmp/b$1.codes"
    done
}
burst 0 30 &
b0=$!
burst 1 30 &
b1=$!
sleep 0.5
n=$(terminate)
wait "$b0" "$b1"
ok201=$(cat "$tmp"/b0.codes "$tmp"/b1.codes | grep -c '^201$')
bad=$(cat "$tmp"/b0.codes "$tmp"/b1.codes | grep -vc '^201$\|^500$')
missing=0
for f in "$tmp"/b[01].[0-9]*; do
    id=$(jq -r '.id // empty' "$f" 2>/dev/null)
    [ -n "$id" ] || continue
    [ "$(psql -d allot_two -c "SELECT count(*) FROM reservations r JOIN holds h ON h.owner = r.id
        WHERE r.id = '$id'")" = 1 ] || missing=$((missing + 1))
done
check "a burst with the backends terminated ($n) midway: $ok201 of 60 answered 201, the rest 500 ($bad other)" \
    [ "$ok201" -gt 0 -a "$bad" = 0 ]
check "every reservation answered 201 is in the database with its hold ($missing missing)" \
    [ "$missing" = 0 ]
for i in 0 1; do
    check "replica $i is still running after the burst" kill -0 "${pids[$i]}"
done
reserve_at 0 after1 30
check "A sells again after the burst ($code)" [ "$code" = 201 ]
reserve_at 1 after2 30
check "B sells again after the burst, the hour's other GPU ($code)" [ "$code" = 201 ]
reserve_at 0 after3 30
check "A's copy knows B's sale: the hour is full, 409 ($code)" [ "$code" = 409 ]
check "every reservation in the database has its hold (none half kept)" \
    [ "$(psql -d allot_two -c "SELECT count(*) FROM reservations r WHERE NOT EXISTS
        (SELECT 1 FROM holds h WHERE h.owner = r.id)")" = 0 ]
