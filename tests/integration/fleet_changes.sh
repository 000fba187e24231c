#!/usr/bin/env bash
# fleet_changes.sh — the fleet the planner sees is the fleet the agents report: a heartbeat
# that changes a node's zone or a GPU's model reaches the planner at once (a model change under
# sold capacity waits for that capacity to end), a node may re-report its GPUs under new
# indexes (GPUs are their uuids), a GPU that turns unhealthy or stops being reported between
# quote and confirm is not sold, a node silent for longer than the heartbeat timeout leaves
# planning and availability (node.offline, then node.online when it reports again), and each
# of these names the reservations and quotes on the hardware in its event. Time is the
# server's test clock (--clock-file), so the timeout passes without sleeping.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_fleet.XXXXXX)
pid=
agent=

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    reap "$agent"
    reap "$pid"
    rm_tmp
}
trap cleanup EXIT

# check DESC COMMAND… : lib.sh's check, with the last call's answer when it fails
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d ($code $(head -c 300 <<<"$body"))"; fi
}

T0=$(date +%s)
NOW=$T0
set_clock() { NOW=$1; write_clock "$1"; }
set_clock "$T0"
TIMEOUT=60
port=$(free_port)
U=http://127.0.0.1:$port

OP=$(operator_token "$tmp/db")
if ! start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
    --clock-file "$tmp/clock" --tick-ms 100 --heartbeat-timeout "$TIMEOUT"; then
    nok "server starts with --heartbeat-timeout"
    exit 1
fi
ok "server starts with --heartbeat-timeout"

call "$OP" POST /v1/orgs '{"name":"acme"}'
# confirmations need a contract in force: invoiced without a credit limit (charges_api.sh tests
# the money)
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"invoiced\",\"valid_to\":\"$(ts $((T0 + 1000 * 86400)))\"}"
call "$OP" POST /v1/users '{"name":"alice","role":"org_admin","org":"acme"}'
ALICE=$(j .token)
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AG=$(j .token)
for m in T4 A30 L40S A10 A100-40GB A100-80GB H100-80GB L4; do
    call "$OP" PUT "/v1/prices/$m" '{"gpu_hour_micros":1000000,"mig_slice_hour_micros":100000}'
done

# hb NAME ZONE GPU… : the agent's heartbeat; each GPU "INDEX:MODEL[:unhealthy]", uuid GPU-NAME-u<k>
# for the k-th GPU argument unless given as "INDEX:MODEL:healthy|unhealthy:UUID"
hb() {
    local name=$1 zone=$2 g="" k=0 idx model health uuid
    shift 2
    for spec in "$@"; do
        IFS=: read -r idx model health uuid <<<"$spec"
        uuid=${uuid:-GPU-$name-u$k}
        g+="${g:+,}{\"index\":$idx,\"uuid\":\"$uuid\",\"model\":\"$model\",\"healthy\":$([ "${health:-healthy}" = unhealthy ] && echo false || echo true)}"
        k=$((k + 1))
    done
    call "$AG" PUT "/v1/nodes/$name" "{\"zone\":\"$zone\",\"gpus\":[$g]}"
}
# flow BODY: create a request for acme and quote it (QUOTE); then approve, accept: REQ, QUOTE
flow_quote() {
    call "$ALICE" POST /v1/requests "$1"
    REQ=$(j .id)
    call "$OP" POST "/v1/requests/$REQ/quote"
    QUOTE=$(j .quote.id)
    QGPU=$(j '.quote.allocations[0].gpu')
    call "$OP" POST "/v1/requests/$REQ/approve"
    call "$ALICE" POST "/v1/requests/$REQ/accept"
}
confirm() { call "$OP" POST "/v1/requests/$1/confirm" '{"payment_terms":"invoiced"}'; }
avail() { # avail MODEL → $body of availability over day 1
    call "$OP" GET "/v1/availability?model=$1&start=$(ts $((T0 + 86400)))&end=$(ts $((T0 + 2 * 86400)))"
}
# event KIND OBJECT JQ_FILTER_ON_DATA: ok when such an event exists
event() {
    call "$OP" GET "/v1/events?limit=500"
    [ "$(jq -r --arg k "$1" --arg o "$2" "[.items[] | select(.kind==\$k and .object==\$o) | .data | $3] | any" <<<"$body")" = true ]
}
wait_event() { # wait_event KIND OBJECT FILTER: poll up to 10 s
    for _ in $(seq 100); do
        event "$@" && return 0
        sleep 0.1
    done
    return 1
}
gpu_of() { # gpu_of NODE UUID JQ → that GPU's field from GET /v1/nodes/NODE
    call "$OP" GET "/v1/nodes/$1"
    jq -r --arg u "$2" ".gpus[] | select(.uuid==\$u) | $3" <<<"$body"
}
D1=$(ts $((T0 + 86400))) D2=$(ts $((T0 + 2 * 86400)))
req() { # req KIND MODEL COUNT [EXTRA_JSON] → request body over day 1
    echo "{\"kind\":\"$1\",\"model\":\"$2\",\"count\":$3,\"start\":\"$D1\",\"end\":\"$D2\"${4:+,$4}}"
}

# ---------------------------------------------------------------- zone
hb zn eu-1 0:L40S
hb zn eu-2 0:L40S
expect "a node moves to another zone: 200" 200
call "$ALICE" POST /v1/requests "$(req gpu L40S 1 '"zone":"eu-2"')"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "the planner places in the node's new zone" 200
call "$ALICE" POST /v1/requests "$(req gpu L40S 1 '"zone":"eu-1"')"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "… and no longer in its old one" 409 no_capacity

# ---------------------------------------------------------------- model, nothing sold on it
hb mc z1 0:A100-40GB
hb mc z1 0:A10
expect "a GPU reported as another model: 200" 200
check "the node shows the new model" [ "$(gpu_of mc GPU-mc-u0 .model)" = A10-24GB ]
avail A10
check "availability counts it as the new model" [ "$(j .total_gpus)" = 1 -a "$(j .whole_gpus_free)" = 1 ]
avail A100-40GB
check "… and no longer as the old one" [ "$(j .total_gpus)" = 0 ]
call "$ALICE" POST /v1/requests "$(req gpu A10 1)"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "the planner sells it as the new model" 200
check "event gpu.model_changed (applied at once)" event gpu.model_changed "$(gpu_of mc GPU-mc-u0 .id)" '.from=="A100-40GB" and .to=="A10-24GB" and .applied==true'

# ---------------------------------------------------------------- model, a MIG reservation on it
hb mig z1 0:A100-80GB
flow_quote "$(req mig A100-80GB 1 '"profile":"3g.40gb"')"
confirm "$REQ"
RV_MIG=$(j .id)
MIGGPU=$(gpu_of mig GPU-mig-u0 .id)
hb mig z1 0:H100-80GB
expect "a GPU with a MIG reservation reported as another model: 200" 200
check "it keeps the model it was sold as, shows the reported one" \
    [ "$(gpu_of mig GPU-mig-u0 '.model + " " + .reported_model + " " + .status')" = "A100-80GB H100-80GB model_mismatch" ]
check "event gpu.model_changed names the reservation, not applied" \
    event gpu.model_changed "$MIGGPU" ".applied==false and (.reservations | index([\"$RV_MIG\"]) != null)"
avail H100-80GB
check "it is not sold as the new model while the reservation lasts" [ "$(j .total_gpus)" = 0 ]
avail A100-80GB
check "… nor as the old one" [ "$(j .total_gpus)" = 0 ]
call "$OP" GET "/v1/reservations/$RV_MIG"
check "the reservation stays" [ "$(j .state)" = scheduled ]
call "$OP" POST "/v1/reservations/$RV_MIG/cancel"
hb mig z1 0:H100-80GB
check "once nothing is sold on it, the next heartbeat applies the new model" \
    [ "$(gpu_of mig GPU-mig-u0 '.model + " " + .status')" = "H100-80GB available" ]
avail H100-80GB
check "… and it is sold as such" [ "$(j .total_gpus)" = 1 -a "$(j .profiles[0].instances_free)" -gt 0 ]

# ---------------------------------------------------------------- new indexes, same GPUs
hb ri z1 0:L4 1:L4
ID0=$(gpu_of ri GPU-ri-u0 .id) ID1=$(gpu_of ri GPU-ri-u1 .id)
flow_quote "$(req gpu L4 2)"
confirm "$REQ"
RV_RI=$(j .id)
hb ri z1 1:L4:healthy:GPU-ri-u0 0:L4:healthy:GPU-ri-u1
expect "a node re-reports its GPUs under swapped indexes: 200, not 409" 200
check "each GPU keeps its id (GPUs are their uuids), the index follows" \
    [ "$(gpu_of ri GPU-ri-u0 '.id + " " + (.index|tostring)')" = "$ID0 1" -a "$(gpu_of ri GPU-ri-u1 '.id + " " + (.index|tostring)')" = "$ID1 0" ]
avail L4
check "the reservation still holds both" [ "$(j .total_gpus)" = 2 -a "$(j .whole_gpus_free)" = 0 ]
hb ri z1 0:L4:healthy:GPU-ri-u2 1:L4:healthy:GPU-ri-u0
expect "a new GPU takes the index of one that left: 200" 200
check "the one that left is kept (sold), not reported" [ "$(gpu_of ri GPU-ri-u1 '.status + " " + (.present|tostring)')" = "missing false" ]
check "the new one has its own id" [ "$(gpu_of ri GPU-ri-u2 .id)" != "$ID1" -a -n "$(gpu_of ri GPU-ri-u2 .id)" ]
check "event gpu.removed names the reservation" event gpu.removed "$ID1" ".reservations | index([\"$RV_RI\"]) != null"

# ---------------------------------------------------------------- unhealthy between quote and confirm
hb uh z1 0:T4
flow_quote "$(req gpu T4 1)"
hb uh z1 0:T4:unhealthy
confirm "$REQ"
expect "confirm after the quoted GPU turned unhealthy → 409 no_capacity" 409 no_capacity
check "… naming the GPU and why" grep -q "unhealthy" <<<"$body"
check "… after the step refused: $(j .error.message)" [ "$(j .error.message)" = "cannot confirm quote $QUOTE: GPU $QGPU is unhealthy" ]
check "event gpu.unhealthy names the quote" event gpu.unhealthy "$QGPU" ".quotes | index([\"$QUOTE\"]) != null"
avail T4
check "an unhealthy GPU is not counted as available" [ "$(j .total_gpus)" = 0 ]
hb uh z1 0:T4
confirm "$REQ"
expect "healthy again: the same quote confirms" 201
check "event gpu.healthy" event gpu.healthy "$QGPU" 'true'

# ---------------------------------------------------------------- removed between quote and confirm
hb rm z1 0:A30 1:A30
flow_quote "$(req gpu A30 1)"
call "$OP" GET "/v1/nodes/rm"
QUUID=$(jq -r --arg g "$QGPU" '.gpus[] | select(.id==$g) | .uuid' <<<"$body")
OTHER=$(jq -r --arg g "$QGPU" '.gpus[] | select(.id!=$g) | .uuid' <<<"$body")
hb rm z1 0:A30:healthy:"$OTHER"
confirm "$REQ"
expect "confirm after the quoted GPU stopped being reported → 409 no_capacity" 409 no_capacity
check "… naming the GPU" grep -q "$QGPU" <<<"$body"
check "the GPU stays listed, not reported" [ "$(gpu_of rm "$QUUID" .status)" = missing ]
check "event gpu.removed names the quote" event gpu.removed "$QGPU" ".quotes | index([\"$QUOTE\"]) != null"
avail A30
check "a GPU no longer reported leaves availability" [ "$(j .total_gpus)" = 1 ]
hb rm z1 0:A30:healthy:"$OTHER" 1:A30:healthy:"$QUUID"
check "event gpu.returned when it is reported again" event gpu.returned "$QGPU" 'true'
confirm "$REQ"
expect "reported again: the same quote confirms" 201

# ---------------------------------------------------------------- unhealthy under an active reservation
hb act z1 0:A100-40GB
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"model\":\"A100-40GB\",\"count\":1,\"start\":\"$(ts $((T0 + 20)))\",\"end\":\"$(ts $((T0 + 3600)))\"}"
REQ=$(j .id)
call "$OP" POST "/v1/requests/$REQ/quote"
call "$OP" POST "/v1/requests/$REQ/approve"
call "$ALICE" POST "/v1/requests/$REQ/accept"
confirm "$REQ"
RV_ACT=$(j .id)
set_clock $((T0 + 30))
for _ in $(seq 100); do
    call "$OP" GET "/v1/reservations/$RV_ACT"
    [ "$(j .state)" = active ] && break
    sleep 0.1
done
check "the reservation is active" [ "$(j .state)" = active ]
hb act z1 0:A100-40GB:unhealthy
check "event gpu.unhealthy names the active reservation" \
    event gpu.unhealthy "$(gpu_of act GPU-act-u0 .id)" ".reservations | index([\"$RV_ACT\"]) != null"
call "$OP" GET "/v1/reservations/$RV_ACT"
check "the reservation stays active" [ "$(j .state)" = active ]

# ---------------------------------------------------------------- the sim agent reads its GPUs' health
echo '{"nodes":[{"name":"simn","zone":"z1","gpus":[{"model":"L40S","count":2}]}]}' >"$tmp/fleet.json"
ALLOT_SERVER=$U ALLOT_TOKEN=$AG "$ALLOT" agent --driver sim --fleet "$tmp/fleet.json" \
    --interval 1 >"$tmp/agent.log" 2>&1 &
agent=$!
for _ in $(seq 100); do
    call "$OP" GET /v1/nodes/simn
    [ "$code" = 200 ] && break
    sleep 0.1
done
check "the sim agent registers its node" [ "$code" = 200 -a "$(j .gpus_available)" = 2 ]
echo '{"nodes":[{"name":"simn","zone":"z1","gpus":[{"model":"L40S","count":1},{"model":"L40S","healthy":false}]}]}' >"$tmp/fleet.new"
mv "$tmp/fleet.new" "$tmp/fleet.json"
check "a GPU marked unhealthy in its fleet file: the agent reports it (gpu.unhealthy)" \
    wait_event gpu.unhealthy gpu_simn-1 'true'
echo '{"nodes":[' >"$tmp/fleet.new"
mv "$tmp/fleet.new" "$tmp/fleet.json"
sleep 1.5
check "a fleet file that no longer parses: the agent says so and goes on" \
    grep -q "reporting the fleet as last read" "$tmp/agent.log"
reap "$agent"
agent=
call "$OP" GET /v1/nodes/simn
check "… reporting the fleet as last read" [ "$(j '[.gpus[].status] | join(",")')" = "available,unhealthy" ]

# ---------------------------------------------------------------- offline
hb off z1 0:H100-94GB 1:H100-94GB 2:H100-94GB
call "$OP" PUT /v1/prices/H100-94GB '{"gpu_hour_micros":1000000}'
flow_quote "$(req gpu H100-94GB 1)"
confirm "$REQ"
RV_OFF=$(j .id)
flow_quote "$(req gpu H100-94GB 1)"
REQ_OFF=$REQ
avail H100-94GB
check "before the timeout: its three GPUs counted, one free" [ "$(j .total_gpus)" = 3 -a "$(j .whole_gpus_free)" = 1 ]
set_clock $((NOW + TIMEOUT - 5))
hb off z1 0:H100-94GB 1:H100-94GB 2:H100-94GB
set_clock $((NOW + TIMEOUT - 1))
sleep 0.5
call "$OP" GET /v1/nodes/off
check "silent for less than the timeout: online" [ "$(j .online)" = true ]
set_clock $((NOW + 2))
check "silent for longer than the timeout: event node.offline naming its reservation" \
    wait_event node.offline off ".reservations | index([\"$RV_OFF\"]) != null"
call "$OP" GET /v1/nodes/off
check "the node shows offline, its GPUs too" [ "$(j .online)" = false -a "$(j '[.gpus[].status] | unique | join(",")')" = offline ]
avail H100-94GB
check "an offline node's GPUs leave availability" [ "$(j .total_gpus)" = 0 -a "$(j .whole_gpus_free)" = 0 ]
call "$ALICE" POST /v1/requests "$(req gpu H100-94GB 1)"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "… and planning" 409 no_capacity
confirm "$REQ_OFF"
expect "confirm of a quote on an offline node → 409 no_capacity" 409 no_capacity
call "$OP" GET "/v1/reservations/$RV_OFF"
check "its reservation stays" [ "$(j .state)" = scheduled ]
OUT=$(ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" node list 2>&1)
check "allot node list shows it offline" grep -Eq '^off +z1 +offline' <<<"$OUT"
OUT=$(ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" node show off 2>&1)
check "allot node show lists its GPUs with their status" grep -q "GPU-off-u1.*offline" <<<"$OUT"
hb off z1 0:H100-94GB 1:H100-94GB 2:H100-94GB
check "a heartbeat brings it back: node.online" event node.online off 'true'
avail H100-94GB
check "… and its GPUs back into availability" [ "$(j .total_gpus)" = 3 -a "$(j .whole_gpus_free)" = 1 ]
confirm "$REQ_OFF"
expect "… and the quote confirms" 201
