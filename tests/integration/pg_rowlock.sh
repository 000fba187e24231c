#!/usr/bin/env bash
# pg_rowlock.sh — no lost update across replicas (docs/postgres.md "Several replicas", row
# locks): two servers on one throw-away PostgreSQL (bench/pg.sh). First test_store_rowlock's
# PostgreSQL cases (each locking getter makes a second connection wait). Then races that a read
# without its row lock loses: an extend on replica A against a shorten on replica B of the same
# reservation, 30 pairs fired at once; then the clock's start of 30 reservations against their
# extends on the other replica. Afterwards every reservation's document, billing state and
# ledger agree: its end is its billed end, each revision moved money once, each change of its
# end started from the end the change before left, the started ones are active at the end the
# extend answered, and `GET /v1/ledger/verify` passes. Prints "ok - …" / "not ok - …" per
# check. Needs PostgreSQL's server (scripts/deps.sh test), $ALLOT, curl, jq.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -z "${AL_PG_ROWLOCK_INNER:-}" ]; then
    AL_PG_ROWLOCK_INNER=1 exec "$root/bench/pg.sh" bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
AL_TEST_DB='' . "$root/tests/integration/lib.sh"
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot-pgrowlock.XXXXXX)
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

# ---- the locking getters (tests/unit/test_store_rowlock.c): skipped without a database
pg_unit test_store_rowlock allot_unit "test_store_rowlock passes every case on PostgreSQL (none skipped)"

# ---- two servers on one database ----
# shellcheck source=tests/integration/money_lib.sh
. "$root/tests/integration/money_lib.sh"
db="host=$AL_PG_HOST dbname=allot_two user=allot"
key=$tmp/webhooks.key
T0=$(($(date +%s) / 3600 * 3600 + 3600))
HOUR=3600
M=1000000
NPAIR=30
NSTART=30
set_clock "$T0"
OP=$("$ALLOT" server init --db "$db" --name root --secret-key-file "$key" 2>"$tmp/init.err")
must "init on PostgreSQL prints the operator's token" [ "${OP:0:3}" = al_ ]
declare -a urls=()
# start I MS: replica I, its clock ticking every MS ms. A's every 100 ms; B's never: the
# clock's work then runs on A alone, against the calls on B
start() {
    local port
    port=$(free_port)
    urls[$1]=http://127.0.0.1:$port
    start_server "${urls[$1]}" "$tmp/server$1.log" --db "$db" --secret-key-file "$key" \
        --listen "127.0.0.1:$port" --clock-file "$tmp/clock" --tick-ms "$2" || return 1
    pids[$1]=$server_pid
}
must "replica A starts" start 0 100
U=${urls[0]}
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB $((NPAIR + NSTART))
must "node h1 registered on A" [ "$code" = 200 ]
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M))}"
VF=$(ts "$((T0 - HOUR))")
VT=$(ts $((T0 + 400 * 86400)))
org pre
contract pre prepaid '"self_service":true,"credit_limit_micros":0' || exit 1
topup pre $((100000 * M)) seed-pre
must "replica B starts" start 1 3600000

# reserve_n N FROM TO PREFIX: N self-service reservations of one GPU each on A, their ids in
# the array `rids`
declare -a rids=()
reserve_n() {
    local i
    rids=()
    U=${urls[0]}
    for ((i = 0; i < $1; i++)); do
        call "$ADMIN" POST /v1/reservations "{$(gpus H100-80GB 1 "$2" "$3")}" \
            -H "Idempotency-Key: $4-$i"
        [ "$code" = 201 ] || {
            nok "reservation $4-$i → 201 (got $code $(head -c 300 <<<"$body"))"
            return 1
        }
        rids+=("$(j .id)")
    done
}
# fire URL PATH END OUT: POST PATH {"end": END} to URL in the background (its pid added to
# `fired`), the status code and the body into OUT
declare -a fired=()
fire() {
    curl -s -o "$4.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
        -H 'Content-Type: application/json' -d "{\"end\":\"$(ts "$3")\"}" "$1$2" >"$4" &
    fired+=($!)
}
# wait_fired: wait for the calls fire started (not for the servers, also children)
wait_fired() {
    wait "${fired[@]}"
    fired=()
}

# ---- race 1: extend on A against shorten on B, the same reservation, 30 pairs at once
must "$NPAIR reservations of one GPU on A" reserve_n $NPAIR $((T0 + HOUR)) $((T0 + 3 * HOUR)) r1
pair=("${rids[@]}")
EXT=$((T0 + 4 * HOUR))
SHORT=$((T0 + 2 * HOUR))
for i in "${!pair[@]}"; do
    fire "${urls[0]}" "/v1/reservations/${pair[$i]}/extend" $EXT "$tmp/ext$i"
    fire "${urls[1]}" "/v1/reservations/${pair[$i]}/shorten" $SHORT "$tmp/short$i"
done
wait_fired
# answered: each call's answer is 200, 409, or 500 after the database broke a deadlock
# between the two replicas' batches or a lock wait timed out (each batch holds the locks of all
# its units until it commits, the org's balance rows among them, so two batches can wait for
# each other: the unit fails whole, changing nothing, and runs again once the unit retry on
# AL_DB_F_RETRY is in); the checks after it hold either way
answered() { # answered FILE: the answer is one of those
    case $(cat "$1") in
    200 | 409) return 0 ;;
    500) jq -r .error.message "$1.body" 2>/dev/null | grep -qE 'deadlock detected|lock timeout' ;;
    *) return 1 ;;
    esac
}
both=0 bad="" failed=0
for i in "${!pair[@]}"; do
    e=$(cat "$tmp/ext$i") s=$(cat "$tmp/short$i")
    [ "$e" = 200 ] && [ "$s" = 200 ] && both=$((both + 1))
    [ "$e" = 500 ] && failed=$((failed + 1))
    [ "$s" = 500 ] && failed=$((failed + 1))
    answered "$tmp/ext$i" || bad="$bad ext$i:$e:$(head -c 200 "$tmp/ext$i.body")"
    answered "$tmp/short$i" || bad="$bad short$i:$s:$(head -c 200 "$tmp/short$i.body")"
done
check "every extend and shorten is answered ($both pairs both 200, $failed broken deadlocks)" \
    [ -z "$bad" ]
[ -z "$bad" ] || echo "#$bad"
# the end each reservation must have: the shortening's old end says which came first
order_ok=0 order_bad=""
for i in "${!pair[@]}"; do
    r=${pair[$i]} e=$(cat "$tmp/ext$i") s=$(cat "$tmp/short$i")
    end=$(psql -d allot_two -c "SELECT end_at FROM reservations WHERE id = '$r'")
    old=$(psql -d allot_two -c "SELECT data::json->>'old_end' FROM events
        WHERE object = '$r' AND kind = 'reservation.shortened'")
    want=$((T0 + 3 * HOUR))
    if [ "$e" = 200 ] && [ "$s" = 200 ]; then
        # shortened after the extend: from its end; before it: from 3 h, then extended
        if [ "$old" = "$(ts $EXT)" ]; then want=$SHORT; else want=$EXT; fi
        [ "$old" = "$(ts $EXT)" ] || [ "$old" = "$(ts $((T0 + 3 * HOUR)))" ] || want=bad
    elif [ "$e" = 200 ]; then
        want=$EXT
    elif [ "$s" = 200 ]; then
        want=$SHORT
    fi
    if [ "$end" = "$want" ]; then order_ok=$((order_ok + 1)); else order_bad="$order_bad $r"; fi
done
check "each reservation ends where its last change put it ($order_ok of $NPAIR)" [ -z "$order_bad" ]
[ -z "$order_bad" ] || echo "# wrong end:$order_bad"

# ---- race 2: the clock's start (at T0 + 6 h) against extends on the other replica
must "$NSTART reservations from T0 + 6 h on A" \
    reserve_n $NSTART $((T0 + 6 * HOUR)) $((T0 + 8 * HOUR)) r2
starts=("${rids[@]}")
set_clock $((T0 + 6 * HOUR))
# spread over about 0.6 s, so that some read the reservation while A's tick is starting it
for i in "${!starts[@]}"; do
    fire "${urls[1]}" "/v1/reservations/${starts[$i]}/extend" $((T0 + 9 * HOUR)) "$tmp/st$i"
    sleep 0.02
done
wait_fired
tick_to $((T0 + 6 * HOUR))
sbad=""
for i in "${!starts[@]}"; do
    r=${starts[$i]} code=$(cat "$tmp/st$i")
    row=$(psql -d allot_two -c "SELECT state || ' ' || end_at FROM reservations WHERE id = '$r'")
    want="active $((T0 + 8 * HOUR))"
    [ "$code" = 200 ] && want="active $((T0 + 9 * HOUR))"
    answered "$tmp/st$i" || want="answered $code"
    [ "$row" = "$want" ] || sbad="$sbad $r:$code:$row"
done
check "each started reservation is active at the end its extend answered" [ -z "$sbad" ]
[ -z "$sbad" ] || echo "# wrong:$sbad"
check "no reservation went back to scheduled after it became active" [ "$(psql -d allot_two -c \
    "SELECT count(*) FROM events a JOIN events b ON a.object = b.object
      WHERE a.kind = 'reservation.active' AND b.pos > a.pos
        AND b.data::json->>'to' = 'scheduled'")" = 0 ]

# ---- document, billing and ledger agree
check "every reservation's end is its billed end" [ "$(psql -d allot_two -c \
    "SELECT count(*) FROM reservations r JOIN reservation_billing b ON b.reservation_id = r.id
      WHERE r.end_at <> b.end_at")" = 0 ]
check "each revision of a reservation moved money once (no extend and refund of one revision)" \
    [ "$(psql -d allot_two -c "SELECT count(*) FROM (SELECT substring(key FROM '^res:[0-9]+:r[0-9]+:')
      AS rev FROM transfers WHERE key ~ '^res:[0-9]+:r[1-9][0-9]*:(extend|refund)$'
      GROUP BY 1 HAVING count(*) > 1) x")" = 0 ]
U=${urls[1]}
verify "after the races, on B"
