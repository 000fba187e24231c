#!/usr/bin/env bash
# rsv_life.sh — a reservation's units and containers through its window (docs/containers.md,
# "Members and instances", "Reservation end", "GPU failure"; docs/billing.md), over loopback
# against a real `allot server` whose clock the suite drives (--clock-file): the assignments
# API (an org admin assigns a unit to a member; a member may read but not assign, 403; another
# org's member 404; an unknown unit 404, a malformed one 400, a user of another org 400; GET
# /v1/reservations/{id} shows assigned_to; unassigning 204); a container on a reservation
# warned ahead of the end and stopped at it; where the contract says payg_after_window, the
# container goes on as a pool session metered at the pool rate; a GPU reported unhealthy under
# a reservation moved to a spare (reservation.gpu_replaced, the container on it stopped with
# gpu_failed), and, with no spare, the reservation degraded and the affected time credited once.
# Containers are created through POST /v1/containers with curl standing in for the node's
# agent (its runtime report). Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_life.XXXXXX)
pid=
trap_stop_server -KILL

HOUR=3600
DAY=86400
M=1000000
T0=$(($(date -u +%s) / DAY * DAY + DAY))
NOW=$T0
set_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server starts" start_clocked_server 100 --heartbeat-timeout $((30 * DAY)) \
    --end-warning 600
VF=$(ts "$T0")
VT=$(ts $((T0 + 400 * DAY)))

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node n1 H100-80GB 2
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$((5 * M)),\"pool_gpu_hour_micros\":$((36 * M))}"

# ---------------------------------------------------------------- 1. assignments
org acme
ACME=$ORG_ID ACME_ADMIN=$ADMIN
call "$OP" POST /v1/users '{"name":"ann","role":"member","org":"acme"}'
ANN=$(j .token) ANN_ID=$(j .user.id)
call "$OP" POST /v1/users '{"name":"bob","role":"member","org":"acme"}'
BOB=$(j .token)
org other
OTHER_ADMIN=$ADMIN
call "$OP" POST /v1/users '{"name":"olga","role":"member","org":"other"}'
OLGA=$(j .token) OLGA_ID=$(j .user.id)
contract acme prepaid '"granularity":"second","credit_limit_micros":0'
topup acme $((10000 * M)) acme-1
contract other prepaid '"granularity":"second","credit_limit_micros":0'
topup other $((10000 * M)) other-1

wait_until 15 as_of_is "$NOW" || nok "the first pass ran"
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((T0 + HOUR)) $((T0 + 3 * HOUR)))"
R1=$RID

call "$ACME_ADMIN" PUT "/v1/reservations/$R1/assignments/0" "{\"user\":\"$ANN_ID\"}"
check "an org admin assigns unit 0 to a member → 200 {reservation, unit, user, at, by}" \
    [ "$code" = 200 -a "$(j '"\(.reservation) \(.unit) \(.user)"')" = "$R1 0 $ANN_ID" ]
check "… and the assignment is stamped" [ "$(j .at)" = "$(ts "$NOW")" -a "$(j .by)" != null ]
check "… reservation.assigned says so" \
    [ "$(events reservation.assigned "$R1" | jq -r '"\(.unit) \(.user)"' | tail -1)" = "0 $ANN_ID" ]
call "$ANN" GET "/v1/reservations/$R1"
check "GET /v1/reservations/{id} shows the allocation's assigned_to" \
    [ "$code" = 200 -a "$(j '.allocations[0].assigned_to')" = "$ANN_ID" ]
call "$BOB" GET "/v1/reservations/$R1/assignments"
check "a member reads the assignments → 200 [{unit, user, at, by}]" \
    [ "$code" = 200 -a "$(j '.assignments | map("\(.unit) \(.user)") | join(",")')" = "0 $ANN_ID" ]
call "$BOB" PUT "/v1/reservations/$R1/assignments/0" "{\"user\":\"$ANN_ID\"}"
expect "a member cannot assign → 403" 403 forbidden
call "$OLGA" GET "/v1/reservations/$R1/assignments"
expect "another org's member cannot see the assignments → 404" 404 not_found
call "$OTHER_ADMIN" PUT "/v1/reservations/$R1/assignments/0" "{\"user\":\"$OLGA_ID\"}"
expect "another org's admin cannot assign → 404" 404 not_found
call "$ACME_ADMIN" PUT "/v1/reservations/$R1/assignments/7" "{\"user\":\"$ANN_ID\"}"
expect "an unknown unit → 404 naming unit" 404 not_found unit
call "$ACME_ADMIN" PUT "/v1/reservations/$R1/assignments/x1" "{\"user\":\"$ANN_ID\"}"
expect "a malformed unit → 400 naming unit" 400 invalid_argument unit
call "$ACME_ADMIN" PUT "/v1/reservations/$R1/assignments/0" "{\"user\":\"$OLGA_ID\"}"
expect "a user of another org → 400 naming user" 400 invalid_argument user
call "$ACME_ADMIN" PUT "/v1/reservations/$R1/assignments/0" '{"user":"usr_x","extra":1}'
expect "an unknown body field → 400" 400 invalid_argument extra
call "$ACME_ADMIN" DELETE "/v1/reservations/$R1/assignments/0"
check "unassigning → 204" [ "$code" = 204 ]
call "$ACME_ADMIN" GET "/v1/reservations/$R1"
check "… the allocation's assigned_to is null again" [ "$(j '.allocations[0].assigned_to')" = null ]
check "… reservation.assigned says user null" \
    [ "$(events reservation.assigned "$R1" | jq -r '.user' | tail -1)" = null ]
out=$("$ALLOT" reservation assign "$R1" 0 "$ANN_ID" --server "$U" --token "$ACME_ADMIN" 2>&1)
check "allot reservation assign RSV UNIT USER" grep -q "$ANN_ID" <<<"$out"
"$ALLOT" reservation unassign "$R1" 0 --server "$U" --token "$ACME_ADMIN" >/dev/null 2>&1
check "allot reservation unassign RSV UNIT exits 0" [ $? = 0 ]
call "$ACME_ADMIN" GET "/v1/reservations/$R1/assignments"
check "… and the unit is unassigned" [ "$(j '.assignments | length')" = 0 ]
