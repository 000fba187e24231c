#!/usr/bin/env bash
# pool_api.sh — the general pool for containers (docs/api.md "Pool", docs/containers.md, docs/
# planner.md "Dedicated GPUs first") over loopback against a real `allot server` whose clock the
# suite drives (--clock-file, a tick every 100 ms, --pool-notice 600), with curl standing in for
# the node agents (no container runtime needed):
#   - GET /v1/pool: the general pool's free GPUs by model (free_until null, then a reservation's
#     start), an A100 in MIG mode's free observed instances by profile; ?model; 400 for an
#     unknown model; 401 without a token; `allot pool` as a table and -o json;
#   - a reservation takes the dedicated GPUs first, a general one only when they cannot serve it;
#   - a pool container's rolling hold: a reservation inside the notice period that would need its
#     GPU is refused, one starting after it is placed;
#   - the container is warned (container.warning, its document's warning) once that start is
#     within the notice, then stopped at it (reason preempted), its hold gone;
#   - a pool container whose org's funds run out is stopped (reason funds_exhausted).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_pool.XXXXXX)
pid=
trap_stop_server -KILL

HOUR=3600
DAY=86400
M=1000000
NOTICE=600
T0=$(($(date +%s) / HOUR * HOUR))
VT=$(ts $((T0 + 400 * DAY)))
VF=$(ts $((T0 - DAY)))
set_clock "$T0"
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts" start_clocked_server 100 --heartbeat-timeout $((30 * DAY)) \
    --pool-notice "$NOTICE"

# ---------------------------------------------------------------- setup
for n in n1 n2 n3; do
    call "$OP" POST "/v1/nodes/$n/token" '' -H "Idempotency-Key: tok-$n"
    declare "TOK_$n=$(j .token)"
done
# n1: gpu_n1-0 general, gpu_n1-1 and gpu_n1-2 dedicated (H100-80GB)
call "$TOK_n1" PUT /v1/nodes/n1 '{"zone":"z1","gpus":[
  {"index":0,"uuid":"GPU-n1-0","model":"H100-80GB","pool":"general"},
  {"index":1,"uuid":"GPU-n1-1","model":"H100-80GB","pool":"dedicated"},
  {"index":2,"uuid":"GPU-n1-2","model":"H100-80GB","pool":"dedicated"}]}'
must "n1 reports its GPUs" [ "$code" = 200 ]
# n3: one general L40S, for the funds test
call "$TOK_n3" PUT /v1/nodes/n3 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n3-0","model":"L40S","pool":"general"}]}'
must "n3 reports its GPU" [ "$code" = 200 ]
# n2: a general-pool A100-80GB in MIG mode, seven 1g.10gb (NVML profile 19), as its agent
# reports them
call "$TOK_n2" PUT /v1/nodes/n2 "$(jq -nc '{zone: "z1", gpus: [{index: 0, model: "A100-80GB",
    uuid: "GPU-n2-0", pool: "general", mig: {capable: true, current: true, pending: true},
    instances: [range(7) | {gi: (. + 1), ci: 0, profile_id: 19, profile: "1g.10gb", start: .,
    size: 1, uuid: "MIG-p-\(.)"}]}]}')"
must "n2 reports its MIG instances" [ "$code" = 200 ]
RT_OK='{"runtime":{"kind":"docker-api","ok":true,"error":null}}'
for n in n1 n3; do
    tok=TOK_$n
    call "${!tok}" POST "/v1/nodes/$n/containers" "$RT_OK"
    must "$n's agent reports its runtime" [ "$code" = 200 ]
done
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M)),\"pool_gpu_hour_micros\":$((2 * M))}"
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$((4 * M)),\"pool_gpu_hour_micros\":$((36 * M / 10))}"
org acme
ADM_A=$ADMIN
contract acme prepaid '"credit_limit_micros":0' || exit 1
topup acme $((5000 * M)) acme-1
call "$OP" POST /v1/users '{"name":"m1","role":"member","org":"acme"}'
M1=$(j .token)

ev_count() { # ev_count KIND OBJECT → how many events of KIND about OBJECT
    local b=$body c=$code
    call "$OP" GET "/v1/events?limit=500"
    j "[.items[] | select(.kind == \"$1\" and .object == \"$2\")] | length"
    body=$b code=$c
}
field_is() { # field_is ID JQ VALUE: the container's document
    call "$OP" GET "/v1/containers/$1"
    [ "$(j "$2")" = "$3" ]
}
pool_is() { # pool_is JQ VALUE: GET /v1/pool as m1 reads it
    call "$M1" GET /v1/pool
    [ "$(j "$1")" = "$2" ]
}
H100='.models[] | select(.model == "H100-80GB")'

# ---------------------------------------------------------------- GET /v1/pool
call "$M1" GET /v1/pool
expect "GET /v1/pool as a member → 200" 200
check "the general H100 is free, nothing coming" \
    [ "$(j "$H100 | \"\(.gpus_free) \(.gpus[0].id) \(.gpus[0].node) \(.gpus[0].free_until)\"")" = "1 gpu_n1-0 n1 null" ]
check "… the notice period and the time" [ "$(j '"\(.notice_s) \(.at)"')" = "$NOTICE $(ts "$T0")" ]
check "the A100 in MIG mode: no whole GPU, its 7 observed 1g.10gb instances" \
    [ "$(j '.models[] | select(.model == "A100-80GB") | "\(.gpus_free) \(.profiles[0].profile) \(.profiles[0].instances_free) \(.profiles[0].instances | map(.start) | join(","))"')" = "0 1g.10gb 7 0,1,2,3,4,5,6" ]
check "dedicated GPUs are never listed" \
    [ "$(j '[.models[].gpus[].id] | map(select(. == "gpu_n1-1" or . == "gpu_n1-2")) | length')" = 0 ]
call "$M1" GET "/v1/pool?model=L40S"
check "?model keeps one model" [ "$(j '[.models[].model] | join(",")')" = L40S-48GB ]
call "$M1" GET "/v1/pool?model=nope"
expect "an unknown model → 400 model" 400 invalid_argument model
call "" GET /v1/pool
expect "no token → 401" 401
out=$("$ALLOT" pool --server "$U" --token "$M1" 2>&1)
check "allot pool: a table with the free GPU and the instances" \
    grep -q 'H100-80GB  *whole GPU  *gpu_n1-0  *n1  *-' <<<"$out"
check "… 1g.10gb@3 of gpu_n2-0" grep -q '1g.10gb@3  *gpu_n2-0' <<<"$out"
out=$("$ALLOT" pool --server "$U" --token "$M1" --model L40S -o json 2>&1)
check "allot pool --model L40S -o json: the server's answer" \
    [ "$(jq -r '.models[0].gpus[0].id' <<<"$out")" = gpu_n3-0 ]

# ---------------------------------------------------------------- dedicated first
reserve acme "$ADM_A" "$(gpus H100-80GB 2 $((T0 + 2 * HOUR)) $((T0 + 3 * HOUR)))" || exit 1
R1=$RID
check "a reservation of 2 takes the 2 dedicated GPUs" \
    [ "$(j '[.allocations[].gpu] | sort | join(",")')" = "gpu_n1-1,gpu_n1-2" ]
reserve acme "$ADM_A" "$(gpus H100-80GB 1 $((T0 + 2 * HOUR)) $((T0 + 3 * HOUR)))" || exit 1
check "one more in the same window: the dedicated ones are taken, the general one serves it" \
    [ "$(j '.allocations[0].gpu')" = gpu_n1-0 ]
call "$M1" GET /v1/pool
check "GET /v1/pool: the general GPU is free until that reservation starts" \
    [ "$(j "$H100 | .gpus[0].free_until")" = "$(ts $((T0 + 2 * HOUR)))" ]
call "$ADM_A" POST "/v1/reservations/$RID/cancel"
check "(that reservation cancelled)" [ "$code" = 200 ]

# ---------------------------------------------------------------- the rolling hold
call "$M1" POST /v1/containers "{\"image\":\"localhost/bb:latest\",\"command\":[\"sleep\",\"1000\"],\"target\":{\"pool\":{\"model\":\"H100-80GB\"}}}"
expect "a pool container on an H100 → 201" 201
C1=$(j .id)
check "… on the general GPU, with a pool session" \
    [ "$(j '"\(.gpu) \(.device) \(.pool_session != null)"')" = "gpu_n1-0 GPU-n1-0 true" ]
call "$TOK_n1" POST /v1/nodes/n1/containers "{\"runtime\":{\"kind\":\"docker-api\",\"ok\":true},\"containers\":[{\"id\":\"$C1\",\"state\":\"running\",\"started_at\":\"$(ts "$T0")\"}]}"
check "its agent reports it running" field_is "$C1" .state running
check "GET /v1/pool: no H100 free while it runs" pool_is "$H100 | .gpus_free" 0
call "$M1" POST /v1/containers "{\"image\":\"localhost/bb:latest\",\"command\":[\"true\"],\"target\":{\"pool\":{\"gpu\":\"gpu_n1-0\"}}}"
expect "a second pool container on its GPU → 409 target.pool.gpu" 409 conflict target.pool.gpu
# 3 GPUs from T0 + 300 s for an hour: the 2 dedicated and the general one, inside the notice
request acme "$ADM_A" "$(gpus H100-80GB 3 $((T0 + 300)) $((T0 + 300 + HOUR)))"
check "a reservation inside the notice period that needs the pool container's GPU is refused" \
    [ "$(jq -r '.error.code' <<<"$Q")" = no_capacity ]
reserve acme "$ADM_A" "$(gpus H100-80GB 3 $((T0 + 1200)) $((T0 + 2 * HOUR)))" || exit 1
R2=$RID
check "… one starting after the notice period takes the GPU" \
    [ "$(j '[.allocations[].gpu] | sort | join(",")')" = "gpu_n1-0,gpu_n1-1,gpu_n1-2" ]

# ---------------------------------------------------------------- warning, then the stop
tick_to $((T0 + 100)) || exit 1
check "no warning while the reservation is more than the notice away" field_is "$C1" .warning null
tick_to $((T0 + 1200 - NOTICE + 1)) || exit 1
check "within the notice: the container's warning names the stop" \
    field_is "$C1" '"\(.warning.reason) \(.warning.stop_at)"' "preemption $(ts $((T0 + 1200)))"
check "… container.warning once, naming the reservation" [ "$(ev_count container.warning "$C1")" = 1 ]
call "$OP" GET "/v1/events?limit=500"
check "… its data" [ "$(j ".items[] | select(.kind == \"container.warning\" and .object == \"$C1\") | .data | \"\(.reason) \(.reservation) \(.stop_at)\"")" = "preemption $R2 $(ts $((T0 + 1200)))" ]
tick_to $((T0 + 1100)) || exit 1
check "… and not again" [ "$(ev_count container.warning "$C1")" = 1 ]
check "still running before the reservation starts" field_is "$C1" .desired run
tick_to $((T0 + 1200)) || exit 1
check "at the reservation's start it is stopped: preempted" \
    field_is "$C1" '"\(.desired) \(.stop_reason) \(.state)"' "stop preempted stopping"
check "… container.stopping with the reason" [ "$(ev_count container.stopping "$C1")" = 1 ]
call "$OP" GET "/v1/reservations/$R2"
check "the reservation is active" [ "$(j .state)" = active ]

# ---------------------------------------------------------------- funds run out
org poor
ADM_P=$ADMIN
contract poor prepaid '"credit_limit_micros":0' || exit 1
topup poor $((36 * M / 10)) poor-1 # one hour of the L40S's pool rate, 3.60
call "$ADM_P" POST /v1/containers "{\"image\":\"localhost/bb:latest\",\"command\":[\"true\"],\"target\":{\"pool\":{\"model\":\"L40S\"}}}"
expect "a pool container with one hour of runway → 201" 201
C2=$(j .id)
tick_to $((T0 + 1200 + HOUR / 2)) || exit 1
check "half an hour on, it runs" field_is "$C2" .desired run
tick_to $((T0 + 1200 + HOUR + 60)) || exit 1
check "its funds exhausted, it is stopped: funds_exhausted" \
    field_is "$C2" '"\(.desired) \(.stop_reason)"' "stop funds_exhausted"
check "… the L40S free again" pool_is '.models[] | select(.model == "L40S-48GB") | .gpus_free' 1

must "server stops cleanly" stop_server
rm_tmp
