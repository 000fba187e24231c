#!/usr/bin/env bash
# replicas.sh — allot under kill -9 while it sells: several clients (replicas_load.mjs) fire
# confirmations of the five-call flow, self-service reservations, cancellations and top-ups
# at the server's replicas for SECONDS, while this script kills a replica with kill -9 every
# few seconds and starts it again, and moves the test clock forward, so that reservations
# start, run, are drawn from and end during the load. Every call is keyed and retried on
# another replica when its answer is lost. Afterwards, with every replica up again:
#   - every answer 201 (reservation, top-up) is there, with its window and org; every
#     cancellation answered 200 left its reservation cancelled;
#   - no more reservations exist than were answered or left unknown by a lost answer;
#   - no two live reservations hold one GPU over overlapping windows;
#   - `GET /v1/ledger/verify` passes and each top-up key was paid once;
#   - each background action happened once: per reservation at most one
#     reservation.active, reservation.ended and reservation.starting/ending notice, and its
#     draws numbered 0, 1, 2, … without a gap or a repeat.
# On SQLite (the default) there is one replica: a second server cannot open the database; on
# PostgreSQL (AL_TEST_DB=postgres, make test-pg) three replicas share one database.
# Knobs: SECONDS_LOAD (default 25), CLIENTS (16), REPLICAS (1 on SQLite, 3 on PostgreSQL).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, node.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_replicas.XXXXXX)
killer_pid=
clock_pid=
declare -a rpids=() rports=()
# On PostgreSQL (AL_TEST_DB=postgres: lib.sh runs the suite under bench/pg.sh, and every
# replica's --db "$DB" names the same database of that cluster) three replicas share it.
if [ "${AL_TEST_DB-}" = postgres ]; then
    REPLICAS=${REPLICAS:-3}
else
    REPLICAS=${REPLICAS:-1}
fi
SECONDS_LOAD=${SECONDS_LOAD:-25}
CLIENTS=${CLIENTS:-16}
cleanup() {
    local p
    reap -KILL "${killer_pid-}"
    reap -KILL "${clock_pid-}"
    # the killer restarts replicas in its subshell: their pids are in $tmp/pids, not rpids
    for p in "${rpids[@]}" $(cat "$tmp/pids" 2>/dev/null); do reap -9 "$p"; done
    rm_tmp
}
trap cleanup EXIT

T0=$(($(date +%s) / 3600 * 3600))
HOUR=3600
DAY=86400
M=1000000
set_clock "$T0"
DB="$tmp/db"
OP=$(operator_token "$DB")

# start_replica I: replica I on its port (a new one the first time), its own log.
start_replica() {
    local i=$1
    [ -n "${rports[$i]-}" ] || rports[i]=$(free_port)
    start_server "http://127.0.0.1:${rports[$i]}" "$tmp/server$i.log" --db "$DB" \
        --listen "127.0.0.1:${rports[$i]}" --clock-file "$tmp/clock" --tick-ms 200 \
        --heartbeat-timeout $((365 * DAY)) || return 1
    rpids[i]=$server_pid
    echo "$server_pid" >>"$tmp/pids"
}
for ((i = 0; i < REPLICAS; i++)); do
    must "replica $i starts" start_replica "$i"
done
U=http://127.0.0.1:${rports[0]}
urls=$(for p in "${rports[@]}"; do printf 'http://127.0.0.1:%s,' "$p"; done)

# ---------------------------------------------------------------- the world
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
for n in 1 2 3 4 5 6; do node "h$n" H100-80GB 8; done
for n in 1 2 3 4; do node "a$n" A100-80GB 8; done
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M))}"
call "$OP" PUT /v1/prices/A100-80GB "{\"gpu_hour_micros\":$((2 * M))}"
VF=$(ts "$T0")
VT=$(ts $((T0 + 400 * DAY)))
echo '[' >"$tmp/orgs.json"
sep=
for spec in "pre prepaid" "bal balance" "inv invoiced"; do
    read -r name terms <<<"$spec"
    org "$name"
    extra="\"self_service\":true,\"admin_may_cancel_active\":true"
    case $terms in
    prepaid) extra+=",\"credit_limit_micros\":0" ;;
    balance) extra+=",\"credit_limit_micros\":0,\"draw_period\":\"hour\",\"granularity\":\"second\"" ;;
    invoiced) extra+=",\"draw_period\":\"hour\",\"granularity\":\"second\"" ;;
    esac
    contract "$name" "$terms" "$extra" || exit 1
    topup "$name" $((1000000 * M)) "seed-$name"
    printf '%s{"name":"%s","admin":"%s","terms":"%s"}\n' "$sep" "$name" "$ADMIN" "$terms" >>"$tmp/orgs.json"
    sep=,
done
echo ']' >>"$tmp/orgs.json"
check "the world: 80 GPUs, three orgs under prepaid, balance and invoiced contracts" \
    [ "$(call "$OP" GET /v1/orgs && j '.items | length')" -ge 3 ]

# ---------------------------------------------------------------- the load, the kills, the clock
kills=0
killer() {
    local i n=0
    while :; do
        sleep "$(shuf -i 2-4 -n 1)"
        i=$((RANDOM % REPLICAS))
        kill -9 "${rpids[$i]}" 2>/dev/null
        wait "${rpids[$i]}" 2>/dev/null
        n=$((n + 1))
        echo "$n" >"$tmp/kills"
        sleep 0.$((RANDOM % 9 + 1))
        start_replica "$i" >>"$tmp/restarts.log" 2>&1 || echo "restart $i failed" >>"$tmp/restarts.log"
    done
}
# Twenty minutes of the clock per second: in 25 s the clock passes about 8 hours, so the
# reservations of the first hours start, are drawn from each hour and end under the load.
clock() {
    local t=$T0
    while :; do
        sleep 1
        t=$((t + 1200))
        write_clock "$t"
    done
}
killer &
killer_pid=$!
clock &
clock_pid=$!
: >"$tmp/answers.jsonl"
URLS=${urls%,} OP=$OP ORGS="$tmp/orgs.json" OUT="$tmp/answers.jsonl" LOAD_SECONDS="$SECONDS_LOAD" \
    CLIENTS=$CLIENTS NOW_FILE="$tmp/clock" MODELS=H100-80GB,A100-80GB \
    command node "$AL_ROOT/tests/integration/replicas_load.mjs" >"$tmp/load.out" 2>&1
load_rc=$?
reap -KILL "$killer_pid"
killer_pid=
reap -KILL "$clock_pid"
clock_pid=
kills=$(cat "$tmp/kills" 2>/dev/null || echo 0)
echo "# $(cat "$tmp/load.out")"
check "the load ran to its end (exit $load_rc)" [ "$load_rc" = 0 ]
check "replicas were killed with kill -9 during the load ($kills times)" [ "$kills" -ge 3 ]
# Every replica up again (the killer may have been stopped between a kill and a restart).
for ((i = 0; i < REPLICAS; i++)); do
    if ! curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${rports[$i]}/healthz"; then
        reap -9 "${rpids[$i]}"
        must "replica $i starts again after the load" start_replica "$i"
    fi
done

A=$tmp/answers.jsonl
count() { jq -s "[.[] | $1] | length" "$A"; }
confirmed=$(count 'select((.op == "confirm" or .op == "reserve") and .status == 201)')
cancelled=$(count 'select(.op == "cancel" and .status == 200)')
topups=$(count 'select(.op == "topup" and .status == 201)')
unknown=$(count 'select(.status == 0)')
echo "# answered: $confirmed reservations, $cancelled cancellations, $topups top-ups; $unknown lost"
check "thousands of calls: at least 300 reservations answered 201 ($confirmed)" [ "$confirmed" -ge 300 ]
check "cancellations and top-ups were answered too ($cancelled, $topups)" [ "$cancelled" -ge 20 -a "$topups" -ge 20 ]
check "no call was given up on: each got an answer from some replica ($unknown lost)" [ "$unknown" = 0 ]
check "no answer was a 5xx that a retry did not mend" \
    [ "$(count 'select(.status >= 500)')" = 0 ]

# ---------------------------------------------------------------- the clock's passes settle
# One more hour of the clock, then wait until the draw pass has reached it: each replica's
# clock runs its passes from the database's state, so what a killed one left undone is done.
END_T=$(($(cat "$tmp/clock") + HOUR))
tick_to "$END_T" && ok "the clock's passes caught up with the clock after the load"

# all PATH: every item of every page (operator), into one JSON array.
all() {
    local path=$1 cur="" sep='?'
    [[ $path == *\?* ]] && sep='&'
    : >"$tmp/pages"
    while :; do
        call "$OP" GET "$path${sep}limit=500${cur:+&cursor=$cur}"
        [ "$code" = 200 ] || { echo "# $path: $code $(head -c 300 <<<"$body")" >&2; break; }
        j '.items' >>"$tmp/pages"
        cur=$(j '.next_cursor // empty')
        [ -n "$cur" ] || break
    done
    jq -cs 'add // []' "$tmp/pages"
}
all /v1/reservations >"$tmp/rsv.json"
all "/v1/ledger/transfers?kind=topup" >"$tmp/topups.json"
all "/v1/ledger/transfers?kind=reservation_charge" >"$tmp/charges.json"
all "/v1/events?kind=reservation.*" >"$tmp/events.json"
listed=$(jq length "$tmp/rsv.json")
echo "# listed: $listed reservations, $(jq length "$tmp/events.json") reservation events, $(jq length "$tmp/charges.json") charges"

# Every reservation answered 201 exists with the window and org it was answered with.
missing=$(jq -rn --slurpfile a "$A" --slurpfile r "$tmp/rsv.json" '
    ($r[0] | map({key: .id, value: .}) | from_entries) as $by
    | [$a[] | select((.op == "confirm" or .op == "reserve") and .status == 201)
      | select(($by[.id] == null) or ($by[.id].org_name != .org and $by[.id].org != .org)
               or ($by[.id].start != .start)) | .id] | join(" ")')
check "every reservation answered 201 is there, for its org and window ($confirmed)" [ -z "$missing" ]
[ -z "$missing" ] || echo "# missing or changed: $(head -c 600 <<<"$missing")"
check "no reservation exists that no answer created: $listed listed, $confirmed answered" \
    [ "$listed" = "$confirmed" ]
notcancelled=$(jq -rn --slurpfile a "$A" --slurpfile r "$tmp/rsv.json" '
    ($r[0] | map({key: .id, value: .state}) | from_entries) as $st
    | [$a[] | select(.op == "cancel" and .status == 200) | select($st[.reservation] != "cancelled")
      | .reservation] | join(" ")')
check "every cancellation answered 200 left its reservation cancelled ($cancelled)" [ -z "$notcancelled" ]

# No two live reservations hold one GPU over overlapping windows.
overlaps=$(jq -r '
    [.[] | select(.state != "cancelled") | . as $r | .allocations[]
     | {gpu: .gpu_uuid, s: $r.start, e: $r.end, id: $r.id}]
    | group_by(.gpu) | map(sort_by(.s) | . as $g
      | [range(1; length) | select($g[. - 1].e > $g[.].s) | "\($g[. - 1].id)/\($g[.].id) on \($g[.].gpu)"])
    | add // [] | join(" ")' "$tmp/rsv.json")
check "no two live reservations overlap on a GPU" [ -z "$overlaps" ]
[ -z "$overlaps" ] || echo "# overlapping: $(head -c 600 <<<"$overlaps")"

verify "after $kills kills under load"
paid_twice=$(jq -rn --slurpfile a "$A" --slurpfile t "$tmp/topups.json" '
    ($t[0] | group_by(.key) | map({key: .[0].key, value: length}) | from_entries) as $n
    | [$a[] | select(.op == "topup" and .status == 201) | "topup:\(.key)"
       | select($n[.] != 1)] | join(" ")')
check "each top-up answered 201 was paid exactly once ($topups)" [ -z "$paid_twice" ]

# Background actions once: the clock's events at most once per reservation, and the draws of
# each reservation numbered 0, 1, 2, … with no gap and no repeat.
twice=$(jq -r '[.[] | select(.kind == "reservation.active" or .kind == "reservation.ended"
        or .kind == "reservation.starting" or .kind == "reservation.ending")
        | "\(.kind) \(.object)"] | group_by(.) | map(select(length > 1) | .[0]) | join(", ")' \
    "$tmp/events.json")
check "no reservation started, ended or was noticed twice" [ -z "$twice" ]
ended=$(jq --argjson t "$END_T" '[.[] | select(.state == "ended")] | length' "$tmp/rsv.json")
ended_ev=$(jq '[.[] | select(.kind == "reservation.ended")] | length' "$tmp/events.json")
check "each ended reservation has its one reservation.ended event ($ended ended, $ended_ev events)" \
    [ "$ended" = "$ended_ev" -a "$ended" -ge 1 ]
gaps=$(jq -r '[.[] | select(.key | test(":draw:")) | {r: (.key | sub(":draw:.*"; "")), k: (.key | sub(".*:draw:"; "") | tonumber)}]
    | group_by(.r) | map(select((map(.k) | sort) != [range(0; length)]) | .[0].r) | join(" ")' "$tmp/charges.json")
draws=$(jq '[.[] | select(.key | test(":draw:"))] | length' "$tmp/charges.json")
check "draws numbered 0..n-1 per reservation, none twice, none skipped ($draws draws)" \
    [ -z "$gaps" -a "$draws" -ge 10 ]
