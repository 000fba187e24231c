#!/usr/bin/env bash
# mig_flow.sh — a MIG change from the reservation that needs it to the instance it runs on, with
# the real node agent (`allot agent --driver sim`, its node's token) against a real server whose
# clock the suite drives (docs/migchange.md). Node n1: GPU 0 an H100-80GB split into seven
# 1g.10gb, all held by org beta until 02:00, a process of beta's on one; GPU 1 an A100-80GB split
# the same way, held by no one. Change window of n1: daily 02:00-04:00.
#   - acme reserves a 4g.40gb from 05:00 → the clock plans a change: 1g.10gb at 0-3 destroyed,
#     4g.40gb at 0 created, 1g.10gb at 4-6 kept; it may run from 02:00 (beta's end) to 04:00;
#   - at 01:00 its checks fail: a process on an instance to be destroyed (pid and org named),
#     outside the window, beta has not acknowledged; apply → 409 checks_failed;
#   - beta's admin acknowledges, the process ends, the clock reaches 02:30: every check passes;
#     an operator applies it; the agent makes it: applied, the sim GPU has the new layout, the
#     kept instances have their GPU-instance ids and MIG UUIDs unchanged; at 05:00 acme's
#     reservation is active, its allocation naming the new instance's MIG UUID;
#   - delta reserves a 3g.40gb on the A100; its change fails at the create step (a planted
#     failure): the agent rolls back to the old layout (seven 1g.10gb), the change is failed
#     (mig_change.failed naming the reservation), the reservation's document says so, and the
#     clock plans a new change.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_mig_flow.XXXXXX)
pid=
agent_pid=
cleanup() {
    reap "$agent_pid"
    reap -KILL "$pid"
    rm_tmp
}
trap cleanup EXIT

HOUR=3600
DAY=86400
M=1000000
# 00:55 UTC of the day after tomorrow: the suite moves the clock through one night
T0=$(($(date -u -d "$(date -u +%Y-%m-%d) 00:55:00Z" +%s) + 2 * DAY))
VT=$(ts $((T0 + 400 * DAY)))
VF=$(ts $((T0 - DAY)))
set_clock "$T0"
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts" start_clocked_server 200

S=$tmp/state.json
# seven 1g.10gb on each GPU (GPU-instance ids 1-7, one MIG UUID each)
jq -n '[range(7) | {gi: (. + 1), profile: "1g.10gb", start: ., uuid: "MIG-flow-\(.)"}] as $h
    | [range(7) | {gi: (. + 1), profile: "1g.10gb", start: ., uuid: "MIG-flow-a-\(.)"}] as $a
    | {gpus: [{index: 0, model: "H100-80GB", uuid: "GPU-flow-h100", mig: {current: true},
               instances: $h},
              {index: 1, model: "A100-80GB", uuid: "GPU-flow-a100", mig: {current: true},
               instances: $a}]}' >"$S"
call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
N1=$(j .token)
must "n1's agent token" [ "${N1:0:3}" = al_ ]

agent_start() {
    "$ALLOT" agent --driver sim --state "$S" --node n1 --server "$U" --token "$N1" \
        --interval 1 --journal "$tmp/journal.json" >>"$tmp/agent.log" 2>&1 &
    agent_pid=$!
}
agent_stop() {
    reap "$agent_pid"
    agent_pid=
}
# sim_layout GPU: its instances as "profile@start" in start order
sim_layout() {
    jq -r --argjson g "$1" '[.gpus[$g].instances // [] | sort_by(.start)[] |
        "\(.profile)@\(.start)"] | join(",")' "$S"
}
# sim_kept GPU FROM: "gi uuid" of its instances starting at FROM or later
sim_kept() { jq -r --argjson g "$1" --argjson f "$2" '[.gpus[$g].instances[] |
    select(.start >= $f)] | sort_by(.start)[] | "\(.gi) \(.uuid)"' "$S"; }
observed_procs() { # observed_procs N: the server shows N processes on n1's GPU 0
    call "$OP" GET /v1/nodes/n1
    [ "$(j '.gpus[]? | select(.index == 0) | .observed.processes | length')" = "$1" ]
}
change_of() { # change_of STATE GPU_UUID → $CH: its newest change in STATE
    call "$OP" GET "/v1/mig-changes?node=n1&state=$1"
    CH=$(jq -r --arg u "$2" '[.items[] | select(.gpu_uuid == $u)][0].id // empty' <<<"$body")
    [ -n "$CH" ]
}
is_state() {
    call "$OP" GET "/v1/mig-changes/$1"
    [ "$(j .state)" = "$2" ]
}
check_of() { jq -r --arg n "$1" '.checks.items[] | select(.name == $n) | .pass' <<<"$body"; }
found_of() { jq -r --arg n "$1" '.checks.items[] | select(.name == $n) | .found' <<<"$body"; }
node_online() {
    call "$OP" GET /v1/nodes/n1
    [ "$(j .online)" = true ]
}
# move_to SECS: the clock at SECS, its pass done, and n1 online again (the first tick after a
# jump of the clock finds the agent's last report old and takes the node offline; its next
# report, within a second, brings it back)
move_to() {
    tick_to "$1" && wait_until 15 node_online && return 0
    nok "n1 online again at $(ts "$1")"
    return 1
}
rsv_state() { # rsv_state ID STATE
    call "$OP" GET "/v1/reservations/$1"
    [ "$(j .state)" = "$2" ]
}

# ---------------------------------------------------------------- setup
call "$OP" PUT /v1/change-windows/node:n1 '{"windows":"daily 02:00-04:00"}'
expect "n1's change window: daily 02:00-04:00" 200
# a process of beta's (below) on 1g.10gb at 1 (GPU instance 2)
jq '.gpus[0].processes = [{pid: 4242, used_mib: 1024, gi: 2}]' "$S" >"$S.new" && mv "$S.new" "$S"
agent_start
must "the agent reports n1 with its MIG state and the process" wait_until 20 observed_procs 1
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$M}"
call "$OP" PUT /v1/prices/A100-80GB "{\"gpu_hour_micros\":$((20 * M)),\"mig_slice_hour_micros\":$M}"
# org NAME, its prepaid contract and a top-up; the admin's token in $ADMIN, the org in $ORG_ID
org_funded() {
    org "$1"
    contract "$1" prepaid '"credit_limit_micros":0' || exit 1
    topup "$1" $((5000 * M)) "$1-1"
}
org_funded beta
ADM_beta=$ADMIN ORG_beta=$ORG_ID
org_funded acme
ADM_acme=$ADMIN
org_funded delta
ADM_delta=$ADMIN
h100() { echo "\"kind\":\"mig\",\"model\":\"H100-80GB\",\"profile\":\"$1\",\"count\":$2,\"start\":\"$(ts "$3")\",\"end\":\"$(ts "$4")\""; }
a100() { echo "\"kind\":\"mig\",\"model\":\"A100-80GB\",\"profile\":\"$1\",\"count\":$2,\"start\":\"$(ts "$3")\",\"end\":\"$(ts "$4")\""; }
T1=$((T0 + 5 * 60)) # 01:00
reserve beta "$ADM_beta" "$(h100 1g.10gb 7 "$T1" $((T1 + HOUR)))" || exit 1
RB=$RID
move_to "$T1"
check "beta's seven 1g.10gb start at 01:00: its instances are there, it is active" \
    wait_until 15 rsv_state "$RB" active

# ---------------------------------------------------------------- planned
reserve acme "$ADM_acme" "$(h100 4g.40gb 1 $((T1 + 4 * HOUR)) $((T1 + 5 * HOUR)))" || { echo "# quote: $Q"; exit 1; }
RA=$RID
check "acme's 4g.40gb from 05:00 → a change is planned for GPU 0" \
    wait_until 20 change_of planned GPU-flow-h100
C1=$CH
# who holds each instance, as the dashboard's GPU page reads it (docs/api.md, GET /v1/nodes/{name})
call "$OP" GET /v1/nodes/n1
check "GET /v1/nodes/n1 (operator): GPU 0's holds: beta's seven 1g.10gb now, by unit, and acme's 4g.40gb at 05:00" \
    [ "$(jq -r --arg b "$RB" --arg o "$ORG_beta" '[.gpus[] | select(.index == 0) | .holds[] |
        select(.reservation == $b and .org == $o and .kind == "mig" and .profile == "1g.10gb") |
        .start_unit] | sort | map(tostring) | join(",")' <<<"$body")" = "0,1,2,3,4,5,6" -a \
    "$(jq -r --arg a "$RA" '[.gpus[] | select(.index == 0) | .holds[] | select(.reservation == $a) |
        "\(.profile)@\(.start_unit) \(.start)"] | join(",")' <<<"$body")" = "4g.40gb@0 $(ts $((T1 + 4 * HOUR)))" ]
check "… GPU 1 held by no one" [ "$(j '.gpus[] | select(.index == 1) | .holds | length')" = 0 ]
call "$N1" GET /v1/nodes/n1
check "… the node's own agent reads its node without the holds" [ "$(j '[.gpus[] | has("holds")] | any')" = false ]
call "$OP" GET "/v1/mig-changes/$C1"
check "… from seven 1g.10gb" [ "$(j '[.from.instances[] | "\(.profile)@\(.start)"] | join(",")')" = \
    "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,1g.10gb@4,1g.10gb@5,1g.10gb@6" ]
check "… to 4g.40gb at 0 beside the 1g.10gb at 4, 5, 6" \
    [ "$(j '[.to.instances[] | "\(.profile)@\(.start)"] | sort | join(",")')" = \
    "1g.10gb@4,1g.10gb@5,1g.10gb@6,4g.40gb@0" ]
check "… four destroy steps then one create, the kept instances in none" \
    [ "$(j '[.steps[] | "\(.op) \(.profile)@\(.start)"] | join(",")')" = \
    "destroy 1g.10gb@0,destroy 1g.10gb@1,destroy 1g.10gb@2,destroy 1g.10gb@3,create 4g.40gb@0" ]
check "… it serves acme's reservation; beta's holds what it destroys" \
    [ "$(j '[.serves[].reservation] | join(",")')" = "$RA" -a \
    "$(j '[.holders[].reservation] | unique | join(",")')" = "$RB" ]
check "… it may run from 02:00 (beta's end) to 04:00 (the window's close)" \
    [ "$(j .window.run_after)" = "$(ts $((T1 + HOUR)))" -a \
    "$(j .window.run_before)" = "$(ts $((T1 + 3 * HOUR)))" ]

# ---------------------------------------------------------------- checks fail
check "at 01:00 the checks fail" [ "$(j .checks.pass)" = false ]
check "… no_process_on_destroyed: fails, naming pid 4242 and beta" \
    [ "$(check_of no_process_on_destroyed)" = false ] &&
    found_of no_process_on_destroyed | grep -q 4242 &&
    found_of no_process_on_destroyed | grep -q "$ORG_beta"
check "… in_window: fails (01:00 is outside 02:00-04:00)" [ "$(check_of in_window)" = false ]
check "… acknowledged: fails (beta has not acknowledged)" [ "$(check_of acknowledged)" = false ]
check "… the agent is online and the GPU healthy" \
    [ "$(check_of agent_online) $(check_of gpu_healthy)" = "true true" ]
call "$OP" POST "/v1/mig-changes/$C1/apply" '{}'
expect "apply while checks fail → 409 checks_failed" 409 checks_failed
ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" mig check "$C1" >"$tmp/check.txt" 2>&1
check "allot mig check shows the failed checks" grep -q "in_window" "$tmp/check.txt"

# ---------------------------------------------------------------- acknowledged, idle, in window
call "$ADM_acme" POST "/v1/mig-changes/$C1/ack" '{"job_shutdown":true,"data_backup":true}'
ack_acme=$code
call "$ADM_beta" POST "/v1/mig-changes/$C1/ack" '{"job_shutdown":true,"data_backup":true}'
expect "beta's admin acknowledges job shutdown and data backup" 200
check "… (acme, whose reservation it serves, may too: $ack_acme)" [ "$ack_acme" = 200 ]
call "$OP" GET "/v1/mig-changes/$C1"
check "… acknowledged passes" [ "$(check_of acknowledged)" = true ]
# beta's job ends: the process leaves the GPU (the agent is stopped while the file is edited)
agent_stop
jq '.gpus[0].processes = []' "$S" >"$S.new" && mv "$S.new" "$S"
agent_start
check "the process ended: the agent reports no process" wait_until 20 observed_procs 0
call "$OP" GET "/v1/mig-changes/$C1"
check "… no_process_on_destroyed passes" [ "$(check_of no_process_on_destroyed)" = true ]
KEPT=$(sim_kept 0 4)
move_to $((T1 + HOUR + 30 * 60))
call "$OP" GET "/v1/mig-changes/$C1"
check "at 02:30 every check passes" [ "$(j .checks.pass)" = true ] ||
    j '.checks.items[] | select(.pass == false)' | head -5 | sed 's/^/#   /'

# ---------------------------------------------------------------- applied
ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" mig apply "$C1" >"$tmp/apply.txt" 2>&1
check "allot mig apply: approved" is_state "$C1" approved -o is_state "$C1" applying \
    -o is_state "$C1" applied
check "the agent applies it: the change is applied" wait_until 20 is_state "$C1" applied
check "… the sim GPU has 4g.40gb at 0 and the 1g.10gb at 4, 5, 6" \
    [ "$(sim_layout 0)" = "4g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6" ]
check "… the kept instances were never touched (the same GPU-instance ids and MIG UUIDs)" \
    [ "$(sim_kept 0 4)" = "$KEPT" ]
NEWUUID=$(jq -r '.gpus[0].instances[] | select(.profile == "4g.40gb") | .uuid' "$S")
call "$OP" GET "/v1/mig-changes/$C1"
check "… its result names the new instance's MIG UUID ($NEWUUID)" \
    [ -n "$NEWUUID" ] && [ "$(j '.result.instances[] | select(.profile_id == 5 or .profile == "4g.40gb") | .uuid')" = "$NEWUUID" ]
call "$OP" GET "/v1/events?limit=500"
check "… mig_change.approved and mig_change.applied, once each" \
    [ "$(j "[.items[] | select(.object == \"$C1\") | .kind] | map(select(. == \"mig_change.applied\" or . == \"mig_change.approved\")) | sort | join(\",\")")" = \
    "mig_change.applied,mig_change.approved" ]
move_to $((T1 + 4 * HOUR))
check "at 05:00 acme's reservation is active" wait_until 15 rsv_state "$RA" active
check "… its allocation names the new instance's MIG UUID" \
    [ "$(j '.allocations[0].mig_uuid')" = "$NEWUUID" ]

# ---------------------------------------------------------------- a failed create rolls back
OLD_A=$(sim_layout 1)
agent_stop
jq '.gpus[1].fail_next = {create: "insufficient_resources"}' "$S" >"$S.new" && mv "$S.new" "$S"
agent_start
reserve delta "$ADM_delta" "$(a100 3g.40gb 1 $((T1 + 2 * DAY)) $((T1 + 2 * DAY + HOUR)))" || exit 1
RD=$RID
check "delta's 3g.40gb on the A100 → a change is planned for GPU 1" \
    wait_until 20 change_of planned GPU-flow-a100
C2=$CH
call "$OP" POST "/v1/mig-changes/$C2/apply" '{"force":true,"reason":"the rollback test: outside the window"}'
expect "an operator applies it with force and a reason" 200
check "its create step fails: the change is failed" wait_until 20 is_state "$C2" failed
check "… the agent rolled back to the old layout (seven 1g.10gb)" [ "$(sim_layout 1)" = "$OLD_A" ]
call "$OP" GET "/v1/mig-changes/$C2"
check "… its failure says it was rolled back" [ "$(j .failure.rolled_back)" = true ]
check "… mig_change.failed names delta's reservation" \
    events mig_change.failed "$C2" | grep -q "$RD"
call "$OP" GET "/v1/reservations/$RD"
check "… the reservation is told (provisioning: failed)" [ "$(j .provisioning.state)" = failed ]
check "… and the clock plans a new change for it" \
    wait_until 20 change_of planned GPU-flow-a100
check "… a new one" [ "$CH" != "$C2" ]
agent_stop
stop_server
check "the server stops cleanly" [ $? = 0 ]
