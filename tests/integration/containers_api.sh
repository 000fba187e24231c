#!/usr/bin/env bash
# containers_api.sh — containers through the API (docs/api.md "Containers"), over loopback
# against a real `allot server` on a temp SQLite database with a test clock, with curl standing
# in for the node agents (their node tokens; no container runtime needed):
#   - POST /v1/containers refused with the field named: unknown fields, image, command (empty,
#     a NUL byte via \u0000, too many, too long), env (a bad key, allot's keys, too many
#     entries, a NUL in a value), target; outside the reservation's window (409 naming its
#     state and start); another org's reservation (404); a node without a runtime (409); a
#     runtime reported down (503 with its error, node.runtime_down), then up again
#     (node.runtime_up) → 201;
#   - a whole GPU (device GPU-…) and a MIG instance (device MIG-…, the allocation's mig_uuid);
#   - GET /v1/nodes/{name}/desired lists the node's live containers with image, command, env,
#     device, desired and labels; the agent's report moves them: running, exited (exit code),
#     failed (error), missing → failed "lost by the runtime", stopped after a stop; the logs'
#     tail as text/plain; events container.created|running|stopping|exited|stopped|failed;
#     a report for another node's token is 404, a bad report 400 naming the field;
#   - visibility: another org's admin gets 404 on show, logs, stop and sees nothing listed;
#     members with assignments (PUT /v1/reservations/{id}/assignments/{unit}): a member starts
#     on their unit by default, is refused another member's (403), sees their own and the
#     unassigned units' containers but not another member's (404); a member who sees a
#     container they did not start cannot stop it (403); the org admin stops any;
#   - a pending container stopped ends stopped at once; list filters and paging;
#   - the CLI: allot container run|list|show|logs|stop.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_containers.XXXXXX)
pid=
trap_stop_server -KILL

HOUR=3600
DAY=86400
M=1000000
T0=$(($(date +%s) / HOUR * HOUR))
VT=$(ts $((T0 + 400 * DAY)))
VF=$(ts $((T0 - DAY)))
set_clock "$T0"
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts" start_clocked_server 200 --heartbeat-timeout $((30 * DAY))

# ---------------------------------------------------------------- setup
call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
N1=$(j .token)
call "$OP" POST /v1/nodes/n2/token '' -H "Idempotency-Key: tok-n2"
N2=$(j .token)
must "node tokens for n1 and n2" [ "${N1:0:3}" = al_ -a "${N2:0:3}" = al_ ]
AGENT=$N1
node n1 A100-80GB 3
must "n1 reports 3 A100-80GB" [ "$code" = 200 ]
# n2: one H100-80GB split into seven 1g.10gb (MIG-ctr-0 … MIG-ctr-6), as its sim agent says
jq -n '{gpus: [{index: 0, model: "H100-80GB", uuid: "GPU-n2-0", mig: {current: true},
    instances: [range(7) | {gi: (. + 1), profile: "1g.10gb", start: ., uuid: "MIG-ctr-\(.)"}]}]}' \
    >"$tmp/n2.json"
"$ALLOT" agent --driver sim --state "$tmp/n2.json" --node n2 --once --server "$U" \
    --token "$N2" >"$tmp/agent.log" 2>&1
must "n2's sim agent reports its MIG instances" grep -q 'reported node n2' "$tmp/agent.log"
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M)),\"mig_slice_hour_micros\":$M}"
call "$OP" PUT /v1/prices/A100-80GB "{\"gpu_hour_micros\":$((2 * M))}"

org acme
ACME=$ORG_ID ADM_A=$ADMIN
contract acme prepaid '"credit_limit_micros":0' || exit 1
topup acme $((5000 * M)) acme-1
call "$OP" POST /v1/users '{"name":"m1","role":"member","org":"acme"}'
M1=$(j .token) M1_ID=$(j .user.id)
call "$OP" POST /v1/users '{"name":"m2","role":"member","org":"acme"}'
M2=$(j .token) M2_ID=$(j .user.id)
org beta
ADM_B=$ADMIN
contract beta prepaid '"credit_limit_micros":0' || exit 1
topup beta $((5000 * M)) beta-1

T1=$((T0 + HOUR))
T2=$((T0 + 3 * HOUR))
reserve acme "$ADM_A" "$(gpus A100-80GB 2 "$T1" "$T2")" || exit 1
RG=$RID
reserve acme "$ADM_A" "$(mig 1g.10gb 1 "$T1" "$T2")" || exit 1
RM=$RID
reserve beta "$ADM_B" "$(gpus A100-80GB 1 "$T1" "$T2")" || exit 1
RB=$RID

# run TOKEN BODY: POST /v1/containers
run() { call "$1" POST /v1/containers "$2"; }
# body TARGET [EXTRA]: a container body with image, command and TARGET (JSON)
body() { echo "{\"image\":\"localhost/bb:latest\",\"command\":[\"/bin/sh\",\"-c\",\"echo hi\"],\"target\":$1${2:+,$2}}"; }
rsv() { echo "{\"reservation\":\"$1\"${2:+,\"unit\":$2}}"; }
# report TOKEN NODE BODY: the agent's report
report() { call "$1" POST "/v1/nodes/$2/containers" "$3"; }
RT_OK='"runtime":{"kind":"docker-api","ok":true,"error":null}'
state_of() { # state_of ID STATE
    call "$OP" GET "/v1/containers/$1"
    [ "$(j .state)" = "$2" ]
}
ev_count() { # ev_count KIND OBJECT → how many events of KIND about OBJECT
    call "$OP" GET "/v1/events?limit=500"
    j "[.items[] | select(.kind == \"$1\" and .object == \"$2\")] | length"
}

# ---------------------------------------------------------------- validation
run "$ADM_A" "$(body "$(rsv "$RG")" '"extra":1')"
expect "an unknown field → 400 naming it" 400 invalid_argument extra
run "$ADM_A" '{"command":["x"],"target":{"reservation":"rsv_x"}}'
expect "no image → 400 image" 400 invalid_argument image
run "$ADM_A" "{\"image\":\"bad image!\",\"command\":[\"x\"],\"target\":$(rsv "$RG")}"
expect "an image with a space → 400 image" 400 invalid_argument image
run "$ADM_A" "{\"image\":\"$(head -c 256 /dev/zero | tr '\0' a)\",\"command\":[\"x\"],\"target\":$(rsv "$RG")}"
expect "an image of 256 bytes → 400 image" 400 invalid_argument image
run "$ADM_A" "{\"image\":\"bb\",\"command\":[],\"target\":$(rsv "$RG")}"
expect "an empty command → 400 command" 400 invalid_argument command
run "$ADM_A" "{\"image\":\"bb\",\"command\":[\"/bin/sh\",\"a\\u0000b\"],\"target\":$(rsv "$RG")}"
# the server's JSON parser refuses \u0000 in any string of any body (call.c), before a route
# sees it: the field named is the body, the message points at the string
expect "a NUL byte (\\u0000) in a command string → 400, refused at parse" 400 invalid_argument body
check "… the message quotes where" grep -qF 'a\u0000b' <<<"$(j .error.message)"
run "$ADM_A" "{\"image\":\"bb\",\"command\":$(jq -nc '[range(65) | "a"]'),\"target\":$(rsv "$RG")}"
expect "65 command strings → 400 command" 400 invalid_argument command
run "$ADM_A" "{\"image\":\"bb\",\"command\":[\"$(head -c 4097 /dev/zero | tr '\0' a)\"],\"target\":$(rsv "$RG")}"
expect "a command string of 4097 bytes → 400 command[0]" 400 invalid_argument "command[0]"
run "$ADM_A" "{\"image\":\"bb\",\"command\":$(jq -nc '[range(9) | "a" * 4000]'),\"target\":$(rsv "$RG")}"
expect "a command of 36000 bytes in all → 400 command" 400 invalid_argument command
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"NVIDIA_VISIBLE_DEVICES":"all"}')"
expect "env NVIDIA_VISIBLE_DEVICES → 400 naming the key" 400 invalid_argument env.NVIDIA_VISIBLE_DEVICES
check "… the message says it is allot's" grep -q "allot's" <<<"$(j .error.message)"
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"CUDA_VISIBLE_DEVICES":"0"}')"
expect "env CUDA_VISIBLE_DEVICES → 400 naming the key" 400 invalid_argument env.CUDA_VISIBLE_DEVICES
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"ALLOT_X":"1"}')"
expect "env ALLOT_X → 400 naming the key" 400 invalid_argument env.ALLOT_X
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"1BAD":"1"}')"
expect "an env key starting with a digit → 400 env" 400 invalid_argument env
run "$ADM_A" "$(body "$(rsv "$RG")" "\"env\":$(jq -nc '[range(65) | {key: "K\(.)", value: "v"}] | from_entries')")"
expect "65 env entries → 400 env" 400 invalid_argument env
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"K":"a\u0000b"}')"
expect "a NUL in an env value → 400, refused at parse" 400 invalid_argument body
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"K":1}')"
expect "an env value that is not a string → 400 env.K" 400 invalid_argument env.K
run "$ADM_A" '{"image":"bb","command":["x"]}'
expect "no target → 400 target" 400 invalid_argument target
run "$ADM_A" "$(body '{"what":1}')"
expect "a target of neither kind → 400 target" 400 invalid_argument target
run "$ADM_A" "$(body "{\"reservation\":\"$RG\",\"unit\":\"x\"}")"
expect "a unit that is not a number → 400 target.unit" 400 invalid_argument target.unit
run "$ADM_A" "$(body '{"pool":{"model":"H100-80GB","gpu":"gpu_x"}}')"
expect "a pool target naming a model and a GPU → 400 target.pool" 400 invalid_argument target.pool
run "$OP" "$(body "$(rsv "$RG")")"
expect "an operator does not start containers (403)" 403 forbidden

# ---------------------------------------------------------------- window, org, runtime
run "$ADM_A" "$(body "$(rsv "$RG")")"
expect "before the window → 409 invalid_state" 409 invalid_state target.reservation
check "… naming its state and its start" \
    [ "$(j .error.message)" = "$RG is scheduled: its window starts at $(ts "$T1")" ]
run "$ADM_B" "$(body "$(rsv "$RG")")"
expect "beta's admin on acme's reservation → 404" 404 not_found target.reservation
run "$ADM_A" "$(body "$(rsv rsv_0000000000000000)")"
expect "an unknown reservation → 404" 404 not_found target.reservation
tick_to "$T1"
check "at the window's start the reservations are active" \
    wait_until 15 bash -c "curl -s -H 'Authorization: Bearer $OP' $U/v1/reservations/$RM | jq -e '.state == \"active\"' >/dev/null"
run "$ADM_A" "$(body "$(rsv "$RG" 5)")"
expect "a unit the reservation does not have → 400 target.unit" 400 invalid_argument target.unit
run "$ADM_A" "$(body "$(rsv "$RG")")"
expect "no runtime reported on n1 → 409" 409 invalid_state
check "… saying so" [ "$(j .error.message)" = "node n1 runs no container runtime" ]
report "$N1" n1 '{"runtime":{"kind":"docker-api","ok":false,"error":"docker-api /x/podman.sock: connect: No such file or directory"}}'
expect "n1's agent reports its runtime unreachable → 200" 200
run "$ADM_A" "$(body "$(rsv "$RG")")"
expect "the runtime down → 503 unavailable" 503 unavailable
check "… with the runtime's error" \
    [ "$(j .error.message)" = "node n1's container runtime is unreachable: docker-api /x/podman.sock: connect: No such file or directory" ]
check "node.runtime_down once" [ "$(ev_count node.runtime_down n1)" = 1 ]
report "$N1" n1 "{$RT_OK}"
check "node.runtime_up when it is back" [ "$(ev_count node.runtime_up n1)" = 1 ]
report "$N1" n1 "{$RT_OK}"
check "… and not again while it stays up" [ "$(ev_count node.runtime_up n1)" = 1 ]
report "$N2" n2 "{$RT_OK}"

# ---------------------------------------------------------------- start: a whole GPU, a MIG instance
run "$ADM_A" "$(body "$(rsv "$RG")" '"env":{"EPOCHS":"3","LR":"a=b,c"}')"
expect "the runtime up → 201" 201
C1=$(j .id)
check "… pending, desired run, on unit 0 of $RG, n1, a GPU- device" \
    [ "$(j '"\(.state) \(.desired) \(.target.kind) \(.target.reservation) \(.target.unit) \(.node)"')" = "pending run reservation $RG 0 n1" \
    -a "$(j '.device | startswith("GPU-n1-")')" = true -a "${C1:0:4}" = ctr_ ]
check "… its document: org, user, image, command, env, nulls" \
    [ "$(j '"\(.org) \(.image) \(.command | join("|")) \(.env.LR) \(.stop_reason) \(.pool_session) \(.runtime_id) \(.started_at)"')" = "$ACME localhost/bb:latest /bin/sh|-c|echo hi a=b,c null null null null" ]
DEV1=$(j .device)
call "$OP" GET "/v1/reservations/$RG"
check "… the device is its allocation's gpu_uuid" [ "$(j '.allocations[0].gpu_uuid')" = "$DEV1" ]
run "$ADM_A" "$(body "$(rsv "$RM")")"
expect "a container on the MIG reservation → 201" 201
C2=$(j .id)
call "$OP" GET "/v1/reservations/$RM"
MIGU=$(j '.allocations[0].mig_uuid')
check "… its device is the instance's MIG uuid, on n2" \
    [ "$(j '.allocations[0].mig_uuid | startswith("MIG-ctr-")')" = true ] 
call "$OP" GET "/v1/containers/$C2"
check "… (the container's device: $MIGU)" [ "$(j .device) $(j .node)" = "$MIGU n2" ]
call "$ADM_A" POST /v1/containers "$(body "$(rsv "$RG")")" -H "Idempotency-Key: ctr-k1"
K1=$(j .id)
call "$ADM_A" POST /v1/containers "$(body "$(rsv "$RG")")" -H "Idempotency-Key: ctr-k1"
check "a retry with the same Idempotency-Key answers the same container" [ "$code" = 201 -a "$(j .id)" = "$K1" ]
call "$ADM_A" POST "/v1/containers/$K1/stop"
check "container.created events (one for the retried call)" [ "$(ev_count container.created "$K1")" = 1 ]
check "container.created events" [ "$(ev_count container.created "$C1")" = 1 -a "$(ev_count container.created "$C2")" = 1 ]

# ---------------------------------------------------------------- the agent's side
call "$N1" GET /v1/nodes/n1/desired
check "n1's desired document lists C1 (only: C2 is n2's)" \
    [ "$(j '[.containers[].id] | join(",")')" = "$C1" ]
check "… with image, command, env, device, desired" \
    [ "$(j '.containers[0] | "\(.image) \(.command | join("|")) \(.env.EPOCHS) \(.device) \(.desired)"')" = "localhost/bb:latest /bin/sh|-c|echo hi 3 $DEV1 run" ]
check "… and labels naming container, org, user and reservation" \
    [ "$(j '.containers[0].labels | "\(.["allot.container"]) \(.["allot.org"]) \(.["allot.reservation"])"')" = "$C1 $ACME $RG" \
    -a "$(j '.containers[0].labels["allot.user"] | startswith("usr_")')" = true ]
call "$N1" GET /v1/nodes/n2/desired
expect "n1's token reading n2's desired → 404" 404 not_found
report "$N1" n2 "{$RT_OK}"
expect "n1's token reporting for n2 → 404" 404 not_found
report "$N1" n1 '{"runtime":{"kind":"lxc","ok":true}}'
expect "a report with an unknown runtime kind → 400 runtime.kind" 400 invalid_argument runtime.kind
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C1\",\"state\":\"dancing\"}]}"
expect "a reported state it does not know → 400 containers[0].state" 400 invalid_argument "containers[0].state"
report "$N1" n1 "{$RT_OK,\"containers\":$(jq -nc '[range(257) | {id: "ctr_x", state: "running"}]')}"
expect "257 containers in a report → 400 containers" 400 invalid_argument containers
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C1\",\"state\":\"running\",\"runtime_id\":\"abc123\",\"started_at\":\"$(ts $((T1 + 5)))\",\"logs\":\"hi\\nthere!\\n\"},{\"id\":\"ctr_unknown\",\"state\":\"running\"},{\"id\":\"$C2\",\"state\":\"failed\",\"error\":\"x\"}]}"
expect "the report: C1 running (an unknown id and n2's C2 ignored) → 200" 200
check "… 1 updated" [ "$(j .updated)" = 1 ]
call "$ADM_A" GET "/v1/containers/$C1"
check "C1 is running, its runtime id and start as reported" \
    [ "$(j '"\(.state) \(.runtime_id) \(.started_at)"')" = "running abc123 $(ts $((T1 + 5)))" ]
check "C2 (n2's) was left pending" state_of "$C2" pending
check "container.running once" [ "$(ev_count container.running "$C1")" = 1 ]
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C1\",\"state\":\"running\",\"runtime_id\":\"def456\"}]}"
call "$ADM_A" GET "/v1/containers/$C1"
check "a new runtime id reported while running is kept (still running, no new event)" \
    [ "$(j .state) $(j .runtime_id)" = "running def456" -a "$(ev_count container.running "$C1")" = 1 ]
call "$ADM_A" GET "/v1/containers/$C1/logs"
check "GET …/logs → 200, the tail as sent" [ "$code" = 200 -a "$body" = "$(printf 'hi\nthere!')" ]
check "… Content-Type text/plain" grep -qi '^content-type: text/plain' "$tmp/hdr"
"$ALLOT" container logs "$C1" --server "$U" --token "$ADM_A" >"$tmp/logs.out" 2>&1
check "allot container logs prints them as they came" cmp -s "$tmp/logs.out" <(printf 'hi\nthere!\n')

report "$N2" n2 "{$RT_OK,\"containers\":[{\"id\":\"$C2\",\"state\":\"failed\",\"error\":\"image not known\"}]}"
check "a container the runtime could not start → failed" state_of "$C2" failed
check "… error and stopped_at" [ "$(j .error)" = "image not known" -a "$(j '.stopped_at != null')" = true ]
check "container.failed" [ "$(ev_count container.failed "$C2")" = 1 ]
call "$N2" GET /v1/nodes/n2/desired
check "an ended container leaves the desired document" [ "$(j '.containers | length')" = 0 ]

# exited by itself
run "$ADM_A" "$(body "$(rsv "$RG" 1)")"
C3=$(j .id)
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C3\",\"state\":\"exited\",\"exit_code\":3,\"finished_at\":\"$(ts $((T1 + 60)))\",\"logs\":\"bye\"}]}"
check "a container that ended by itself → exited" state_of "$C3" exited
check "… exit_code 3, stopped_at as reported" [ "$(j .exit_code) $(j .stopped_at)" = "3 $(ts $((T1 + 60)))" ]
check "container.exited with the exit code" [ "$(ev_count container.exited "$C3")" = 1 ]
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C3\",\"state\":\"running\"}]}"
check "an ended container is kept as it ended (a later report changes nothing)" state_of "$C3" exited

# missing: lost by the runtime
run "$ADM_A" "$(body "$(rsv "$RG" 1)")"
C4=$(j .id)
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C4\",\"state\":\"missing\"}]}"
check "a container the runtime lost → failed" state_of "$C4" failed
check "… \"lost by the runtime\"" [ "$(j .error)" = "lost by the runtime" ]

# ---------------------------------------------------------------- stop
run "$ADM_A" "$(body "$(rsv "$RG" 1)")"
C5=$(j .id)
call "$ADM_A" POST "/v1/containers/$C5/stop"
check "a pending container stopped → stopped at once" \
    [ "$code" = 200 -a "$(j '"\(.state) \(.desired) \(.stop_reason)"')" = "stopped stop user" -a "$(j '.stopped_at != null')" = true ]
check "… container.stopping and container.stopped" \
    [ "$(ev_count container.stopping "$C5")" = 1 -a "$(ev_count container.stopped "$C5")" = 1 ]
call "$ADM_A" POST "/v1/containers/$C5/stop"
check "stopping it again answers it as it is (200, no new event)" \
    [ "$code" = 200 -a "$(j .state)" = stopped -a "$(ev_count container.stopping "$C5")" = 1 ]
call "$ADM_A" POST "/v1/containers/$C1/stop" '{"force":true}'
expect "a stop with a body field → 400 naming it" 400 invalid_argument force
call "$ADM_A" POST "/v1/containers/$C1/stop"
check "a running container stopped → stopping, desired stop" \
    [ "$code" = 200 -a "$(j '"\(.state) \(.desired) \(.stop_reason)"')" = "stopping stop user" ]
call "$N1" GET /v1/nodes/n1/desired
check "… its agent is told: desired stop" \
    [ "$(j "[.containers[] | select(.id == \"$C1\") | .desired] | join(\",\")")" = stop ]
report "$N1" n1 "{$RT_OK,\"containers\":[{\"id\":\"$C1\",\"state\":\"exited\",\"exit_code\":137}]}"
check "… reported exited after the stop → stopped" state_of "$C1" stopped
check "… container.stopped" [ "$(ev_count container.stopped "$C1")" = 1 ]

# ---------------------------------------------------------------- another org
for p in "" /logs; do
    call "$ADM_B" GET "/v1/containers/$C1$p"
    expect "beta's admin: GET /v1/containers/{acme's}$p → 404" 404 not_found
done
call "$ADM_B" POST "/v1/containers/$C1/stop"
expect "beta's admin stopping acme's container → 404" 404 not_found
call "$ADM_B" GET /v1/containers
check "beta's admin lists none of acme's containers" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$ADM_B" GET "/v1/containers?reservation=$RG"
check "… nor by acme's reservation" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
report "$N1" n1 "{$RT_OK}"
run "$ADM_B" "$(body "$(rsv "$RB")")"
expect "beta's admin on its own reservation → 201" 201
CB=$(j .id)
call "$ADM_A" GET "/v1/containers/$CB"
expect "acme's admin: beta's container → 404" 404 not_found
call "$OP" GET /v1/containers
check "an operator lists every container (acme's and beta's)" [ "$(j '.items | length')" = 7 ]
call "$OP" GET "/v1/containers?node=n2"
check "… ?node=n2 → C2 only" [ "$(j '[.items[].id] | join(",")')" = "$C2" ]
call "$ADM_A" GET "/v1/containers?node=n1"
expect "?node= is the operators' (403)" 403 forbidden node
call "$OP" GET "/v1/containers?state=exited"
check "?state=exited → C3" [ "$(j '[.items[].id] | join(",")')" = "$C3" ]
call "$OP" GET "/v1/containers?state=sleeping"
expect "?state= unknown → 400 state" 400 invalid_argument state
call "$OP" GET "/v1/containers?limit=2"
NEXT=$(j .next_cursor)
call "$OP" GET "/v1/containers?limit=2&cursor=$NEXT"
check "paged: 2 a page, newest first, next_cursor goes on" \
    [ "$(j '.items | length')" = 2 -a "$NEXT" != null ]

# ---------------------------------------------------------------- members and assignments
call "$ADM_A" PUT "/v1/reservations/$RG/assignments/1" "{\"user\":\"$M2_ID\"}"
expect "acme's admin assigns unit 1 of $RG to m2" 200
run "$M1" "$(body "$(rsv "$RG" 1)")"
expect "m1 starting on unit 1 (m2's) → 403" 403 forbidden target.unit
check "… \"unit 1 of $RG is assigned to another member\"" \
    [ "$(j .error.message)" = "unit 1 of $RG is assigned to another member" ]
run "$M2" "$(body "$(rsv "$RG")")"
expect "m2 without a unit → 201" 201
CM2=$(j .id)
check "… on unit 1, the one assigned to m2" [ "$(j .target.unit)" = 1 ]
run "$M1" "$(body "$(rsv "$RG")")"
expect "m1 without a unit → 201" 201
CM1=$(j .id)
check "… on unit 0, unassigned" [ "$(j .target.unit)" = 0 ]
call "$M1" GET "/v1/containers/$CM2"
expect "m1 cannot see m2's container on m2's unit (404)" 404 not_found
call "$M1" POST "/v1/containers/$CM2/stop"
expect "… nor stop it (404)" 404 not_found
call "$M1" GET "/v1/containers/$C1"
check "m1 sees the admin's container on unit 0 (unassigned)" [ "$code" = 200 -a "$(j .id)" = "$C1" ]
run "$ADM_A" "$(body "$(rsv "$RG" 0)")"
CA0=$(j .id)
call "$M1" POST "/v1/containers/$CA0/stop"
expect "… but may not stop one they did not start (403)" 403 forbidden
call "$M1" GET "/v1/containers?reservation=$RG"
check "m1's list of $RG: unit 0's containers, none of unit 1's" \
    [ "$(j '[.items[] | .target.unit] | unique | join(",")')" = 0 -a "$(j "[.items[] | select(.id == \"$CM2\")] | length")" = 0 ]
call "$M2" GET "/v1/containers/$CM2"
check "m2 sees their own" [ "$code" = 200 ]
call "$ADM_A" GET "/v1/containers/$CM2"
check "acme's admin sees m2's container" [ "$code" = 200 ]
call "$M1" POST "/v1/containers/$CM1/stop"
check "m1 stops their own" [ "$code" = 200 -a "$(j .state)" = stopped ]
call "$ADM_A" POST "/v1/containers/$CM2/stop"
check "acme's admin stops m2's" [ "$code" = 200 -a "$(j .state)" = stopped ]

# ---------------------------------------------------------------- the general pool
call "$OP" POST /v1/nodes/n3/token '' -H "Idempotency-Key: tok-n3"
N3=$(j .token)
call "$N3" PUT /v1/nodes/n3 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n3-0","model":"H100-80GB","pool":"general"}]}'
must "n3 reports one general-pool H100-80GB" [ "$code" = 200 ]
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M)),\"mig_slice_hour_micros\":$M,\"pool_gpu_hour_micros\":$((3 * M))}"
pool() { echo "{\"pool\":{$1}}"; }
run "$M1" "$(body "$(pool '"model":"H100-80GB"')")"
expect "a pool container while no pool node runs a container runtime → 404 naming target.pool.model" \
    404 not_found target.pool.model
check "… saying that it needs a node with a container runtime" \
    grep -q "on a node with a container runtime" <<<"$body"
report "$N3" n3 "{$RT_OK}"
run "$M1" "$(body "$(pool '"model":"B200"')")"
expect "a pool model with no free GPU → 404 naming target.pool.model" 404 not_found target.pool.model
run "$M1" "$(body "$(pool '"model":"H100-80GB"')")"
expect "m1's pool container on an H100-80GB → 201" 201
CP=$(j .id) PS=$(j .pool_session)
check "… target pool H100-80GB, n3, device GPU-n3-0, a pool session" \
    [ "$(j '"\(.target.kind) \(.target.model) \(.node) \(.device) \(.pool_session | type)"')" = "pool H100-80GB n3 GPU-n3-0 number" ]
check "… pool.started for its session" [ "$(ev_count pool.started "$PS")" = 1 ]
run "$M2" "$(body "$(pool '"model":"H100-80GB"')")"
expect "a second pool container: the only pool GPU is taken → 404" 404 not_found target.pool.model
run "$M2" "$(body "$(pool "\"gpu\":\"$(jq -r .gpu <<<"$(curl -s -H "Authorization: Bearer $OP" "$U/v1/containers/$CP")")\"")")"
expect "… naming that GPU: 409" 409 conflict target.pool.gpu
call "$M2" GET "/v1/containers/$CP"
expect "m2 cannot see m1's pool container (404)" 404 not_found
call "$N3" GET /v1/nodes/n3/desired
check "n3's desired document: the pool container, no reservation label" \
    [ "$(j '[.containers[] | "\(.id) \(.device) \(.labels["allot.reservation"])"] | join(",")')" = "$CP GPU-n3-0 " ]
report "$N3" n3 "{$RT_OK,\"containers\":[{\"id\":\"$CP\",\"state\":\"running\"}]}"
call "$M1" POST "/v1/containers/$CP/stop"
check "m1 stops it: stopping" [ "$code" = 200 -a "$(j .state)" = stopping ]
check "… its pool session stopped (pool.stopped)" [ "$(ev_count pool.stopped "$PS")" = 1 ]
report "$N3" n3 "{$RT_OK,\"containers\":[{\"id\":\"$CP\",\"state\":\"stopped\"}]}"
check "… reported stopped → stopped" state_of "$CP" stopped
run "$M2" "$(body "$(pool '"gpu":"gpu_n3-0"')")"
expect "the GPU is free again: m2 picks it by id → 201" 201
CP2=$(j .id) PS2=$(j .pool_session)
report "$N3" n3 "{$RT_OK,\"containers\":[{\"id\":\"$CP2\",\"state\":\"exited\",\"exit_code\":0}]}"
check "a pool container that exits by itself → exited" state_of "$CP2" exited
check "… its pool session stopped with it" [ "$(ev_count pool.stopped "$PS2")" = 1 ]
run "$M2" "$(body "$(pool '"model":"H100-80GB"')")"
expect "… and its GPU free again → 201" 201
call "$M2" POST "/v1/containers/$(j .id)/stop"
check "a pending pool container stopped → stopped at once" [ "$(j .state)" = stopped ]
check "… its session stopped" [ "$(ev_count pool.stopped "$(j .pool_session)")" = 1 ]

# ---------------------------------------------------------------- after the window
tick_to "$T2"
check "at the window's end the reservation is ended" \
    wait_until 15 bash -c "curl -s -H 'Authorization: Bearer $OP' $U/v1/reservations/$RG | jq -e '.state == \"ended\"' >/dev/null"
run "$ADM_A" "$(body "$(rsv "$RG")")"
expect "after the window → 409 invalid_state" 409 invalid_state target.reservation
check "… naming its state and its end" [ "$(j .error.message)" = "$RG is ended: its window ended at $(ts "$T2")" ]

# ---------------------------------------------------------------- the CLI
A() { "$ALLOT" "$@" --server "$U"; }
A container list --token "$OP" >"$tmp/list.out" 2>&1
check "allot container list: a table with ID, STATE, NODE, DEVICE" \
    bash -c "head -1 '$tmp/list.out' | grep -q 'ID.*STATE.*NODE.*DEVICE' && grep -q '$C1' '$tmp/list.out'"
A container show "$C3" --token "$ADM_A" -o json >"$tmp/show.out" 2>&1
check "allot container show -o json" [ "$(jq -r .exit_code "$tmp/show.out")" = 3 ]
"$ALLOT" container run --image bb --reservation "$RG" --server "$U" --token "$ADM_A" -- /bin/true >"$tmp/run.out" 2>&1
check "allot container run outside the window: exit 1, the server's reason" \
    bash -c "[ $? = 1 ] && grep -q 'window ended' '$tmp/run.out'"
A container run --reservation "$RG" --token "$ADM_A" >"$tmp/run.out" 2>&1
check "allot container run without --image or a command: usage error (2)" [ $? = 2 ]
A container stop "$CB" --token "$ADM_B" >"$tmp/stop.out" 2>&1
check "allot container stop: a pending one is stopped at once" \
    bash -c "[ $? = 0 ] && grep -q '^state: stopped' '$tmp/stop.out'"
