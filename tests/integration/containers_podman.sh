#!/usr/bin/env bash
# containers_podman.sh — containers end to end (docs/containers.md): a real `allot server` whose
# clock the suite drives, three real node agents (`allot agent --driver sim --state …` with
# their nodes' tokens) running REAL containers through a Podman service (scripts/podman.sh, the
# docker-api runtime), and the users' CLI and API. Fleet: mig1 (an A100-80GB split into seven
# 1g.10gb, dedicated), ded1 (two whole H100-80GB, dedicated), pool1 (two whole H100-80GB,
# general pool: `allot agent --pool general`).
#   - a member's container on a reserved 1g.10gb runs in Podman and sees only its MIG-<uuid>;
#     before the window it is refused (409); another org's users cannot start, see or stop it
#     (404), nor another member of the same org one on a unit assigned to someone else (404);
#   - the window ends: the container is warned ahead of it, then stopped (and gone from Podman);
#   - a pool container runs on a general-pool GPU; a reservation inside the pool notice that
#     would need its GPU is refused; one after the notice is placed; dedicated GPUs are taken
#     before general ones; the pool container is warned the notice ahead and stopped when the
#     reservation takes its GPU; it is metered per second (1,800 s at 36.00/h = 18.00);
#   - a GPU failing under a running reservation: the node's agent reports it unhealthy, the
#     reservation moves to a spare (reservation.gpu_replaced), the container on the failed GPU
#     is stopped, and a new one runs on the spare;
#   - the container runtime's socket vanishing (the Podman service stopped): the agent says so,
#     a new container is refused with 503 naming the socket; the service back: the same call
#     starts a container that runs.
# Where `scripts/podman.sh probe` says no container can run here (an unprivileged container
# cannot mount /proc for runc), every check prints "skip - CHECK: REASON" (never counted as
# passed). Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, podman, runc,
# busybox-static.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_ctr_e2e.XXXXXX)
pm=$tmp/pm
sock=$pm/podman.sock
pid=
agents=()
cleanup() {
    local a
    for a in "${agents[@]}"; do reap "$a"; done
    reap -KILL "$pid"
    # containers a half-run left behind, then the service
    if [ -S "$sock" ]; then
        pmc ps -aq --filter label=allot.container 2>/dev/null | xargs -r podman --root "$pm/root" \
            --runroot "$pm/run" --storage-driver vfs rm -f -t 0 >/dev/null 2>&1
    fi
    "$AL_ROOT/scripts/podman.sh" stop "$pm" >/dev/null 2>&1
    rm_tmp
}
trap cleanup EXIT
# podman on the suite's own storage (what scripts/podman.sh starts the service on)
pmc() { CONTAINERS_CONF=$pm/containers.conf podman --root "$pm/root" --runroot "$pm/run" \
    --storage-driver vfs "$@"; }

checks=(
    "a member's container on a reserved MIG instance runs in Podman and sees only its MIG-<uuid>"
    "outside the window a container is refused"
    "another org cannot start, see or stop it (404), nor a member another member's"
    "the window ends: the container is warned, then stopped"
    "a pool container is metered per second and preempted, with notice, before a reservation"
    "dedicated GPUs are taken before general-pool ones"
    "a GPU failing under a reservation is replaced by a spare"
    "the runtime's socket vanishing: a clear error; back: recovery"
)
if ! why=$("$AL_ROOT/scripts/podman.sh" probe "$pm" 2>&1); then
    why=$(tr '\n' ' ' <<<"${why#no: }" | head -c 300)
    for c in "${checks[@]}"; do echo "skip - $c: no container can run here: $why"; done
    exit 0
fi
must "the Podman service starts" "$AL_ROOT/scripts/podman.sh" start "$pm"

HOUR=3600
DAY=86400
M=1000000
T0=$(($(date -u +%s) / DAY * DAY + DAY))
set_clock "$T0"
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts" start_clocked_server 200 --heartbeat-timeout $((30 * DAY)) \
    --pool-notice 600 --end-warning 300
VF=$(ts "$T0")
VT=$(ts $((T0 + 400 * DAY)))

# ---------------------------------------------------------------- the fleet and its agents
jq -n '{gpus: [{index: 0, model: "A100-80GB", uuid: "GPU-e2e-mig1", mig: {current: true},
        instances: [range(7) | {gi: (. + 1), profile: "1g.10gb", start: .,
                                uuid: "MIG-e2e-\(.)"}]}]}' >"$tmp/mig1.json"
jq -n '{gpus: [range(2) | {index: ., model: "H100-80GB", uuid: "GPU-e2e-ded1-\(.)",
        mig: {current: false}}]}' >"$tmp/ded1.json"
jq -n '{gpus: [range(2) | {index: ., model: "H100-80GB", uuid: "GPU-e2e-pool1-\(.)",
        mig: {current: false}}]}' >"$tmp/pool1.json"
# agent NODE [ARGS…]: its agent with the node's own token and the Podman runtime
agent() {
    local n=$1 tok
    shift
    call "$OP" POST "/v1/nodes/$n/token" '' -H "Idempotency-Key: tok-$n"
    tok=$(j .token)
    "$ALLOT" agent --driver sim --state "$tmp/$n.json" --node "$n" --server "$U" \
        --token "$tok" --interval 1 --runtime "docker-api:$sock" "$@" >>"$tmp/agent-$n.log" 2>&1 &
    agents+=($!)
}
agent mig1
agent ded1
agent pool1 --pool general
# node_has_runtime NODE: its agent's report says its container runtime answers
node_has_runtime() {
    [ "$(curl -s -H "Authorization: Bearer $OP" "$U/v1/nodes/$1" |
        jq -r '.container_runtime.ok')" = true ]
}
nodes_up() {
    call "$OP" GET /v1/nodes
    [ "$(j '[.items[] | select(.name == "mig1" or .name == "ded1" or .name == "pool1")] |
        length')" = 3 ]
}
must "the three nodes report" wait_until 30 nodes_up
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$((5 * M)),\"pool_gpu_hour_micros\":$((36 * M))}"
call "$OP" PUT /v1/prices/A100-80GB "{\"gpu_hour_micros\":$((20 * M)),\"mig_slice_hour_micros\":$((3 * M)),\"pool_gpu_hour_micros\":$((18 * M))}"

# ---------------------------------------------------------------- orgs and users
org acme
ACME_ADMIN=$ADMIN
call "$OP" POST /v1/users '{"name":"mia","role":"member","org":"acme"}'
MIA=$(j .token) MIA_ID=$(j .user.id)
call "$OP" POST /v1/users '{"name":"max","role":"member","org":"acme"}'
MAX=$(j .token)
org beta
BETA_ADMIN=$ADMIN
contract acme prepaid '"granularity":"second","credit_limit_micros":0'
topup acme $((10000 * M)) acme-1
contract beta prepaid '"granularity":"second","credit_limit_micros":0'
topup beta $((1000 * M)) beta-1
wait_until 15 as_of_is "$T0" || nok "the first pass ran"

# run TOKEN TARGET_JSON [SCRIPT]: a busybox container; its answer in $body, its id in $CTR.
# The script traps SIGTERM, so that a stop ends it at once (busybox sh as PID 1 ignores it).
run() {
    local script=${3:-'echo NV=$NVIDIA_VISIBLE_DEVICES; env | grep -c -e MIG- -e GPU-; trap "exit 0" TERM; while :; do sleep 1; done'}
    call "$1" POST /v1/containers "$(jq -nc --arg s "$script" --argjson t "$2" \
        '{image: "localhost/bb:latest", command: ["/bin/sh", "-c", $s], target: $t}')"
    CTR=$(j .id)
}
ctr_field() { curl -s -H "Authorization: Bearer $OP" "$U/v1/containers/$1" | jq -r "$2"; }
ctr_state_is() { [ "$(ctr_field "$1" .state)" = "$2" ]; }
logs_have() { curl -s -H "Authorization: Bearer $OP" "$U/v1/containers/$1/logs" | grep -q -- "$2"; }
# podman_state CTR: the state Podman gives the container labelled CTR ("" when none)
podman_state() {
    local id
    id=$(pmc ps -aq --filter "label=allot.container=$1" 2>/dev/null | head -1)
    [ -n "$id" ] && pmc inspect --format '{{.State.Status}}' "$id" 2>/dev/null
}

# ---------------------------------------------------------------- 1. a MIG instance
reserve acme "$ACME_ADMIN" "\"kind\":\"mig\",\"model\":\"A100-80GB\",\"profile\":\"1g.10gb\",\"count\":1,\"start\":\"$(ts $((T0 + 60)))\",\"end\":\"$(ts $((T0 + HOUR)))\""
RM=$RID
call "$ACME_ADMIN" GET "/v1/reservations/$RM"
check "the 1g.10gb is placed on mig1's existing instances" [ "$(j '.allocations[0].node')" = mig1 ]
run "$MIA" "{\"reservation\":\"$RM\"}"
expect "a container before the window opens → 409 naming the reservation" 409 invalid_state \
    target.reservation
check "… and saying when its window starts" grep -q "window starts at $(ts $((T0 + 60)))" <<<"$body"
tick_to $((T0 + 60))
rsv_active() { call "$OP" GET "/v1/reservations/$1"; [ "$(j .state)" = active ]; }
must "the reservation is active at its start" wait_until 15 rsv_active "$RM"
DEV=$(j '.allocations[0].mig_uuid')
check "its allocation names the instance's MIG UUID" grep -q '^MIG-e2e-[0-6]$' <<<"$DEV"
must "mig1's agent reported its container runtime" wait_until 20 node_has_runtime mig1
call "$ACME_ADMIN" PUT "/v1/reservations/$RM/assignments/0" "{\"user\":\"$MIA_ID\"}"
check "acme's admin assigns the instance to mia" [ "$code" = 200 ]
run "$MIA" "{\"reservation\":\"$RM\"}"
C1=$CTR
check "mia's container on the instance → 201, pending, device = the MIG UUID" \
    [ "$code" = 201 -a "$(j .state)" = pending -a "$(j .device)" = "$DEV" ]
check "… it runs (the agent started it in Podman)" wait_until 30 ctr_state_is "$C1" running
check "… Podman runs it, labelled with its container id" [ "$(podman_state "$C1")" = running ]
check "… its logs say NVIDIA_VISIBLE_DEVICES is its MIG UUID" wait_until 20 logs_have "$C1" "NV=$DEV"
check "… and it sees no other GPU or MIG identifier (one line of env mentions one)" \
    logs_have "$C1" '^1$'
env_of() { pmc inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \
    "$(pmc ps -q --filter "label=allot.container=$1")"; }
check "… Podman gave it exactly NVIDIA_VISIBLE_DEVICES=$DEV" \
    [ "$(env_of "$C1" | grep -c -e MIG- -e GPU-)" = 1 -a \
    "$(env_of "$C1" | grep '^NVIDIA_VISIBLE_DEVICES=')" = "NVIDIA_VISIBLE_DEVICES=$DEV" ]
check "… its labels name the org and the reservation" \
    [ "$(pmc inspect --format '{{index .Config.Labels "allot.reservation"}}' \
        "$(pmc ps -q --filter "label=allot.container=$C1")")" = "$RM" ]
out=$("$ALLOT" container show "$C1" --server "$U" --token "$MIA" -o json 2>&1)
check "allot container show: mia sees it running" [ "$(jq -r .state <<<"$out")" = running ]

# ---------------------------------------------------------------- 2. who may see and stop it
run "$BETA_ADMIN" "{\"reservation\":\"$RM\"}"
expect "beta's admin cannot start on acme's reservation → 404" 404 not_found
call "$BETA_ADMIN" GET "/v1/containers/$C1"
expect "beta's admin cannot see acme's container → 404" 404 not_found
call "$BETA_ADMIN" POST "/v1/containers/$C1/stop"
expect "beta's admin cannot stop it → 404" 404 not_found
call "$BETA_ADMIN" GET /v1/containers
check "beta's list does not show it" [ "$code" = 200 -a "$(j "[.items[] | select(.id == \"$C1\")] | length")" = 0 ]
call "$MAX" GET "/v1/containers/$C1"
expect "max (acme) cannot see mia's container on the unit assigned to her → 404" 404 not_found
call "$MAX" POST "/v1/containers/$C1/stop"
expect "max cannot stop it → 404" 404 not_found
run "$MAX" "{\"reservation\":\"$RM\",\"unit\":0}"
expect "max cannot start on mia's unit → 403" 403 forbidden
check "… and mia's container still runs" [ "$(podman_state "$C1")" = running ]

# ---------------------------------------------------------------- 3. the window ends
warned() { [ "$(events container.warning "$1" | jq -r .reason | tail -1)" = "$2" ]; }
tick_to $((T0 + HOUR - 300))
check "300 s before the end: container.warning (window_end)" wait_until 15 warned "$C1" window_end
check "… the container shows the warning and still runs" \
    [ "$(ctr_field "$C1" '.warning.reason + " " + .state')" = "window_end running" ]
tick_to $((T0 + HOUR))
check "at the end it is stopped (stop_reason window_end)" wait_until 40 ctr_state_is "$C1" stopped
check "… its stop_reason is window_end" [ "$(ctr_field "$C1" .stop_reason)" = window_end ]
gone() { [ "$(podman_state "$1")" != running ]; }
check "… and Podman no longer runs it" wait_until 20 gone "$C1"

# ---------------------------------------------------------------- 4. the pool, preempted with notice
TP=$((T0 + HOUR + 100))
tick_to "$TP"
must "pool1's agent reported its container runtime" wait_until 20 node_has_runtime pool1
out=$("$ALLOT" pool --server "$U" --token "$MIA" -o json 2>&1)
check "allot pool: pool1's two H100-80GB are free now" \
    [ "$(jq -r '[.. | objects | select(.node? == "pool1")] | length' <<<"$out")" -ge 2 ]
out=$("$ALLOT" container run --image localhost/bb:latest --pool H100-80GB --server "$U" \
    --token "$MIA" -o json -- /bin/sh -c \
    'echo NV=$NVIDIA_VISIBLE_DEVICES; trap "exit 0" TERM; while :; do sleep 1; done' 2>&1)
C2=$(jq -r .id <<<"$out")
PG=$(jq -r .gpu <<<"$out")
check "allot container run --pool H100-80GB: on a pool1 GPU, with a pool session" \
    [ "$(jq -r '.node + " " + (.pool_session != null | tostring)' <<<"$out")" = "pool1 true" ]
check "… it runs in Podman" wait_until 30 ctr_state_is "$C2" running
check "… seeing its GPU's UUID" wait_until 20 logs_have "$C2" "NV=GPU-e2e-pool1-"
# four H100s inside the notice would need the pool container's GPU: refused
request acme "$ACME_ADMIN" "$(gpus H100-80GB 4 $((TP + 300)) $((TP + 900)))"
check "4 GPUs from 300 s ahead (inside the 600 s notice) → no quote" \
    [ "$(jq -r .state <<<"$Q" 2>/dev/null)" != quoted ]
# one GPU: a dedicated one, though a general one is idle
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((TP + 100)) $((TP + 1000)))"
RD=$RID
call "$OP" GET "/v1/reservations/$RD"
check "1 GPU → on ded1 (dedicated first), not pool1's idle general GPU" \
    [ "$(j '.allocations[0].node')" = ded1 ]
# four GPUs after the notice: placed, the pool container's GPU among them
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 4 $((TP + 1800)) $((TP + 2400)))"
RP=$RID
call "$OP" GET "/v1/reservations/$RP"
check "4 GPUs from 1,800 s ahead → placed, taking the pool container's GPU" \
    [ "$(j "[.allocations[] | select(.gpu == \"$PG\")] | length")" = 1 ]
tick_to $((TP + 1800 - 600))
check "the notice ahead: the pool container is warned (preemption)" \
    wait_until 15 warned "$C2" preemption
check "… it still runs" [ "$(podman_state "$C2")" = running ]
tick_to $((TP + 1800))
check "when the reservation takes the GPU, the pool container is stopped (preempted)" \
    wait_until 40 ctr_state_is "$C2" stopped
check "… stop_reason preempted" [ "$(ctr_field "$C2" .stop_reason)" = preempted ]
check "… and Podman no longer runs it" wait_until 20 gone "$C2"
usage=$(transfers "$(curl -s -H "Authorization: Bearer $OP" "$U/v1/orgs/acme" | jq -r .id)" usage |
    awk '{s += $1} END {print s + 0}')
check "… metered per second: 1,800 s at 36.00/h = 18.00 (got $usage)" [ "$usage" = $((18 * M)) ]

# ---------------------------------------------------------------- 5. a GPU fails
TF=$((TP + 2400 + 60))
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((TF + 60)) $((TF + HOUR)))"
RF=$RID
call "$OP" GET "/v1/reservations/$RF"
FG=$(j '.allocations[0].gpu_uuid')
check "a reservation on a dedicated GPU" [ "$(j '.allocations[0].node')" = ded1 ]
tick_to $((TF + 60))
must "it is active" wait_until 15 rsv_active "$RF"
run "$ACME_ADMIN" "{\"reservation\":\"$RF\"}"
C3=$CTR
check "a container on it runs" wait_until 30 ctr_state_is "$C3" running
jq --arg u "$FG" '(.gpus[] | select(.uuid == $u) | .healthy) = false' "$tmp/ded1.json" \
    >"$tmp/ded1.new" && mv "$tmp/ded1.new" "$tmp/ded1.json"
replaced() { [ -n "$(events reservation.gpu_replaced "$RF")" ]; }
set_clock $((TF + 120))
check "its GPU reported unhealthy: reservation.gpu_replaced" wait_until 30 replaced
call "$OP" GET "/v1/reservations/$RF"
check "… the allocation is on a spare now" \
    [ "$(j '.allocations[0].gpu_uuid')" != "$FG" -a "$(j '.allocations[0].gpu_uuid')" != null ]
check "… the container on the failed GPU is stopped (gpu_failed)" \
    wait_until 40 ctr_state_is "$C3" stopped
check "… stop_reason gpu_failed" [ "$(ctr_field "$C3" .stop_reason)" = gpu_failed ]
run "$ACME_ADMIN" "{\"reservation\":\"$RF\"}"
C4=$CTR
SPARE=$(j .device)
check "a new container runs on the spare" wait_until 30 ctr_state_is "$C4" running
check "… seeing the spare's UUID" wait_until 20 logs_have "$C4" "NV=$SPARE"

# ---------------------------------------------------------------- 6. the runtime's socket vanishes
"$AL_ROOT/scripts/podman.sh" stop "$pm" >/dev/null 2>&1
down() { [ "$(events node.runtime_down pool1 | wc -l)" -ge 1 ]; }
check "the Podman service stopped: node.runtime_down for pool1" wait_until 30 down
run "$MIA" '{"pool":{"model":"H100-80GB"}}'
expect "a pool container now → 503 unavailable" 503 unavailable target
check "… naming the node and the socket that vanished" \
    grep -q "node pool1's container runtime is unreachable: docker-api $sock: connect" <<<"$body"
"$AL_ROOT/scripts/podman.sh" start "$pm" >/dev/null 2>&1
up() { [ "$(events node.runtime_up pool1 | wc -l)" -ge 1 ]; }
check "the service back: node.runtime_up" wait_until 30 up
run "$MIA" '{"pool":{"model":"H100-80GB"}}'
C5=$CTR
check "the same call → 201" [ "$code" = 201 ]
check "… and the container runs" wait_until 30 ctr_state_is "$C5" running
call "$MIA" POST "/v1/containers/$C5/stop"
check "mia stops it → stopping or stopped" [ "$code" = 200 ]
check "… stopped" wait_until 30 ctr_state_is "$C5" stopped
verify "after the story"
