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

# ---------------------------------------------------------------- 2. the end: warned, then stopped
# org pay's contract continues containers pay-as-you-go after a window (pool rate 36.00/h)
org pay
PAY=$ORG_ID PAY_ADMIN=$ADMIN
contract pay prepaid '"granularity":"second","credit_limit_micros":0,"after_window":"payg"'
topup pay $((10000 * M)) pay-1
reserve pay "$PAY_ADMIN" "$(gpus H100-80GB 1 $((T0 + HOUR)) $((T0 + 3 * HOUR)))"
R2=$RID
E1=$((T0 + 3 * HOUR))

# the node's agent says its container runtime works
runtime_ok() {
    call "$AGENT" POST /v1/nodes/"$1"/containers \
        '{"runtime":{"kind":"process","ok":true,"error":null},"containers":[]}'
}
# reported CTR STATE NODE: the agent reports container CTR in STATE
reported() {
    call "$AGENT" POST /v1/nodes/"$3"/containers "{\"runtime\":{\"kind\":\"process\",\"ok\":true,\"error\":null},\"containers\":[{\"id\":\"$1\",\"state\":\"$2\",\"runtime_id\":\"rt-$1\",\"exit_code\":null,\"error\":null,\"started_at\":\"$(ts "$NOW")\",\"finished_at\":null,\"logs\":\"\"}]}"
}
# run TOKEN RSV UNIT: a container on the reservation's unit; its id in $CTR
run() {
    call "$1" POST /v1/containers "{\"image\":\"localhost/bb:latest\",\"command\":[\"/bin/sh\",\"-c\",\"sleep 100000\"],\"target\":{\"reservation\":\"$2\",\"unit\":$3}}"
    CTR=$(j .id)
    [ "$code" = 201 ] && return 0
    nok "container on $2 unit $3 → 201 (got $code $(head -c 300 <<<"$body"))"
    return 1
}
ctr() { call "$OP" GET "/v1/containers/$1"; }

runtime_ok n1
check "the agent's runtime report → 200" [ "$code" = 200 ]
tick_to $((T0 + HOUR))
run "$ANN" "$R1" 0
C1=$CTR
reported "$C1" running n1
run "$PAY_ADMIN" "$R2" 0
C2=$CTR
reported "$C2" running n1
ctr "$C1"
check "a container runs on the reservation's GPU" [ "$(j .state)" = running -a "$(j .warning)" = null ]

tick_to $((E1 - 700))
ctr "$C1"
check "… not warned 700 s before the end (--end-warning 600)" [ "$(j .warning)" = null ]
tick_to $((E1 - 600))
ctr "$C1"
check "warned 600 s before the end: warning {reason window_end, stop_at = the end}" \
    [ "$(j '"\(.warning.reason) \(.warning.stop_at)"')" = "window_end $(ts "$E1")" ]
check "… container.warning {reason window_end, stop_at}" \
    [ "$(events container.warning "$C1" | jq -r '"\(.reason) \(.stop_at)"')" = "window_end $(ts "$E1")" ]
tick_to $((E1 - 300))
check "… once" [ "$(events container.warning "$C1" | wc -l)" = 1 ]
ctr "$C2"
check "the pay-as-you-go container is warned too" [ "$(j .warning.reason)" = window_end ]
tick_to "$E1"
ctr "$C1"
check "at the end: asked to stop (stopping, desired stop, stop_reason window_end)" \
    [ "$(j '"\(.state) \(.desired) \(.stop_reason)"')" = "stopping stop window_end" ]
reported "$C1" stopped n1
ctr "$C1"
check "… stopped once the agent says so" [ "$(j .state)" = stopped ]

# ---------------------------------------------------------------- 3. pay-as-you-go after the window
ctr "$C2"
S2=$(j .pool_session)
check "where the contract says payg: it goes on, with a pool session" \
    [ "$(j '"\(.state) \(.desired) \(.target.kind)"')" = "running run reservation" -a "$S2" -gt 0 ]
check "… its warning cleared" [ "$(j .warning)" = null ]
check "… container.payg names the reservation and the session" \
    [ "$(events container.payg "$C2" | jq -r '"\(.reservation) \(.pool_session) \(.rate_micros)"')" = "$R2 $S2 $((36 * M))" ]
check "… pool.started names the reservation" \
    [ "$(events pool.started "$S2" | jq -r .reservation)" = "$R2" ]
tick_to $((E1 + HOUR))
check "an hour on: metered at the pool rate (36.00 for the hour)" \
    [ "$(transfers "$PAY" usage)" = "$((36 * M)) pool:$S2:$E1" ]
call "$PAY_ADMIN" POST "/v1/containers/$C2/stop"
check "stopped by its org admin → 200" [ "$code" = 200 ]
reported "$C2" stopped n1
verify "after the window's end and the continuation"

# ---------------------------------------------------------------- 4. a GPU fails: a spare takes its place
# node_report NAME N [BAD…]: the agent reports node NAME with N H100-80GB, those indexes in BAD
# unhealthy
node_report() {
    local name=$1 n=$2 g="" i h
    shift 2
    for ((i = 0; i < n; i++)); do
        h=true
        for b in "$@"; do [ "$b" = "$i" ] && h=false; done
        g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-$name-$i\",\"model\":\"H100-80GB\",\"healthy\":$h}"
    done
    call "$AGENT" PUT "/v1/nodes/$name" "{\"zone\":\"z1\",\"gpus\":[$g]}"
}
node_report n2 1
runtime_ok n2
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((T0 + 5 * HOUR)) $((T0 + 8 * HOUR)))"
R3=$RID
tick_to $((T0 + 5 * HOUR))
call "$OP" GET "/v1/reservations/$R3"
G3=$(j '.allocations[0].gpu')
U3=$(j '.allocations[0].gpu_uuid') # GPU-<node>-<index>
N3=$(j '.allocations[0].node')
run "$ANN" "$R3" 0
C3=$CTR
reported "$C3" running "$N3"
if [ "$N3" = n1 ]; then node_report n1 2 "${U3##*-}"; else node_report n2 1 0; fi
check "the agent reports $G3 unhealthy → 200" [ "$code" = 200 ]
tick_to $((NOW + 1))
call "$OP" GET "/v1/reservations/$R3"
G3B=$(j '.allocations[0].gpu')
check "the reservation's unit moved to a spare: another H100-80GB" \
    [ "$G3B" != "$G3" -a "$G3B" != null -a "$(j '.allocations[0].gpu_uuid')" != "$U3" ]
check "… the change recorded (replacements [{unit, from, to, at}])" \
    [ "$(j '.replacements | map("\(.unit) \(.from) \(.to)") | join(",")')" = "0 $G3 $G3B" ]
check "… reservation.gpu_replaced {unit, from, to} to the org" \
    [ "$(events reservation.gpu_replaced "$R3" | jq -r '"\(.org) \(.unit) \(.from) \(.to)"')" = "$ACME 0 $G3 $G3B" ]
ctr "$C3"
check "… the container on the failed GPU asked to stop (gpu_failed)" \
    [ "$(j '"\(.desired) \(.stop_reason)"')" = "stop gpu_failed" ]
check "… and the spare is the reservation's in the calendar (no second move)" \
    [ "$(events reservation.gpu_replaced "$R3" | wc -l)" = 1 ]
run "$ANN" "$R3" 0
check "a new container on the unit runs on the spare" [ "$(j .gpu)" = "$G3B" ]
reported "$C3" stopped "$N3"

# ---------------------------------------------------------------- 5. no spare: degraded, credited once
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((T0 + 10 * HOUR)) $((T0 + 12 * HOUR)))"
R4=$RID
tick_to $((T0 + 9 * HOUR)) # the ticks from here on find the failures
CASH0=$(cash acme)
call "$OP" GET "/v1/reservations/$R4"
N4=$(j '.allocations[0].node')
I4=$(j '.allocations[0].gpu_uuid')
I4=${I4##*-}
# every other GPU first (no spare left), then the reservation's own
if [ "$N4" = n1 ]; then
    node_report n2 1 0
    node_report n1 2 $((1 - I4))
else
    node_report n1 2 0 1
fi
node_report n1 2 0 1
node_report n2 1 0
tick_to $((NOW + 1))
call "$OP" GET "/v1/reservations/$R4"
# since: the tick that found it, at T0 + 9 h or at the next second (the clock moves on at once)
SINCE=$(j .degraded.since)
check "no spare fits: the reservation is degraded {since, units, credited_micros}" \
    [ "$(j '"\(.degraded.units | join(",")) \(.degraded.credited_micros)"')" = "0 $((80 * M))" ]
check "… since the tick that found the failure" \
    [ "$SINCE" = "$(ts $((T0 + 9 * HOUR)))" -o "$SINCE" = "$(ts "$NOW")" ]
check "… its state unchanged (scheduled)" [ "$(j .state)" = scheduled ]
check "… reservation.degraded says the credit" \
    [ "$(events reservation.degraded "$R4" | jq -r '"\(.org) \(.unit) \(.credited_micros)"')" = "$ACME 0 $((80 * M))" ]
check "… the affected time (2 h at 40.00, per second) credited back as one adjustment" \
    [ "$(transfers acme adjustment | grep -c ':degraded:0$')" = 1 -a "$(transfers acme adjustment | cut -d' ' -f1)" = $((80 * M)) ]
check "… the org's cash up by 80.00" [ "$(cash acme)" = $((CASH0 + 80 * M)) ]
tick_to $((NOW + 60))
check "… never twice (the next ticks)" \
    [ "$(events reservation.degraded "$R4" | wc -l)" = 1 -a "$(cash acme)" = $((CASH0 + 80 * M)) ]
verify "after the replacement and the credit"
CASH1=$(cash acme)
call "$OP" POST "/v1/reservations/$R4/cancel" '{"reason":"its GPU failed"}'
check "cancelling the degraded reservation → 200, its credit taken back (credited_micros 0)" \
    [ "$code" = 200 -a "$(j .degraded.credited_micros)" = 0 ]
REFUND4=$(j .refund_micros)
check "… the refund paid, the credit for the same time taken back (80.00): never paid twice" \
    [ "$(cash acme)" = $((CASH1 + REFUND4 - 80 * M)) -a "$(transfers acme adjustment | grep -c ':r1:degraded:0$')" = 1 ]
verify "after cancelling a degraded reservation"

# ---------------------------------------------------------------- 6. pay-as-you-go refused: stopped
node_report n3 2
runtime_ok n3
org poor
POOR_ADMIN=$ADMIN
contract poor prepaid '"granularity":"second","credit_limit_micros":0,"after_window":"payg"'
topup poor $((50 * M)) poor-1 # the hour reserved (40.00), not an hour of the pool (36.00) more
reserve poor "$POOR_ADMIN" "$(gpus H100-80GB 1 $((T0 + 10 * HOUR)) $((T0 + 11 * HOUR)))"
R5=$RID
tick_to $((T0 + 10 * HOUR))
run "$POOR_ADMIN" "$R5" 0
C5=$CTR
reported "$C5" running n3
tick_to $((T0 + 11 * HOUR))
ctr "$C5"
check "payg refused (not an hour of funds): stopped at the end (window_end), no session" \
    [ "$(j '"\(.desired) \(.stop_reason) \(.pool_session)"')" = "stop window_end null" ]
check "… container.stopping says why (payg_refused)" \
    grep -q "insufficient\|balance" <<<"$(events container.stopping "$C5" | jq -r .payg_refused)"
reported "$C5" stopped n3
verify "after a refused continuation"

# ---------------------------------------------------------------- 7. a MIG instance's GPU fails
reserve acme "$ACME_ADMIN" "$(mig 3g.40gb 1 $((T0 + 13 * HOUR)) $((T0 + 15 * HOUR)))"
R6=$RID
call "$OP" GET "/v1/reservations/$R6"
G6=$(j '.allocations[0].gpu')
I6=$(j '.allocations[0].gpu_uuid')
I6=${I6##*-}
node_report n3 2 "$I6"
tick_to $((NOW + 1))
call "$OP" GET "/v1/reservations/$R6"
check "a MIG instance on a failed GPU moves to a placement of the same profile on a spare" \
    [ "$(j '"\(.allocations[0].gpu) \(.allocations[0].profile)"')" = "gpu_n3-$((1 - I6)) 3g.40gb" -a \
    "$(j '.allocations[0].start_unit | type')" = number ]
check "… reservation.gpu_replaced" \
    [ "$(events reservation.gpu_replaced "$R6" | jq -r '"\(.from) \(.to)"')" = "$G6 gpu_n3-$((1 - I6))" ]
node_report n3 2 0 1
tick_to $((NOW + 1))
call "$OP" GET "/v1/reservations/$R6"
check "… and when that one fails too, no spare: degraded, the instance's window credited (2 h × 3 slices × 5.00 = 30.00)" \
    [ "$(j '"\(.degraded.units | join(",")) \(.degraded.credited_micros)"')" = "0 $((30 * M))" ]
verify "after a MIG instance's replacement and credit"
tick_to $((T0 + 13 * HOUR))
call "$ACME_ADMIN" POST /v1/containers "{\"image\":\"localhost/bb:latest\",\"command\":[\"true\"],\"target\":{\"reservation\":\"$R6\",\"unit\":0}}"
expect "in its window, a container on the degraded unit → 409 naming target.unit" 409 \
    invalid_state target.unit
check "… saying it is out of service" grep -q "out of service" <<<"$body"
