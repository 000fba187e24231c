#!/usr/bin/env bash
# mig_plan.sh — the server's machine side of MIG changes (docs/migchange.md, "The planner",
# "Provisioning", "The agent's protocol"), over loopback against a real `allot server` whose
# clock the suite drives: a node whose agent reports MIG state (a report built by hand, as the
# contract's Report section writes it) with one H100 as 7g.80gb; a reservation of a 3g.40gb
# there → the clock plans one change (from, to, steps, serves) and plans nothing more on later
# ticks; the agent's GET /v1/nodes/{name}/desired shows no change until an operator approves
# it, then the change with its operations; start (approved → applying, again: resumed); a
# failed result → mig_change.failed naming the reservation, its document told, a second
# result refused (409), a new change planned; that one applied → the GPU's desired layout, the
# reservation's mig_uuid; a second reservation starting before its layout is there →
# provisioning, its instance created beside the one that stays (never destroyed), a result
# whose layout differs from the change's → failed, then applied → active with its UUID. A token
# of another node sees none of it (404). After a reboot, the instances made again with new
# UUIDs: the reservations' mig_uuid follows (one write, no event). An instance at a placement
# the catalog lacks: the report taken, the node online, the difference listed, no change
# planned for the GPU until it is gone, and a change's current_matches_observed failing while
# it is there. Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_mig_plan.XXXXXX)
pid=
trap_stop_server -KILL

HOUR=3600
DAY=86400
M=1000000
T0=$(date -u -d "$(date -u +%Y-%m-%d) 05:00:00Z" +%s)
set_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
must "server starts" start_clocked_server 100 --heartbeat-timeout $((30 * DAY))

call "$OP" POST /v1/nodes/n1/token
NT=$(j .token)
call "$OP" POST /v1/nodes/n2/token
NT2=$(j .token)
must "node tokens for n1 and n2" [ "${NT:0:3}" = al_ -a "${NT2:0:3}" = al_ ]
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$((5 * M))}"

# report INSTANCES_JSON: node n1's agent reports its one GPU (an H100) in MIG mode with these
# instances ([{gi, ci, profile, profile_id, start, size, uuid}])
report() {
    local r
    r=$(jq -nc --argjson insts "$1" '{zone: "z1", gpus: [
        {index: 0, uuid: "GPU-n1-0", model: "H100-80GB", pool: "dedicated", healthy: true,
         mig: {capable: true, current: true, pending: true}, instances: $insts}]}')
    call "$NT" PUT /v1/nodes/n1 "$r"
}
# inst PROFILE PROFILE_ID START SIZE GI UUID
inst() { jq -nc --arg p "$1" --arg u "$6" "{gi: $5, ci: 0, profile: \$p, profile_id: $2, start: $3, size: $4, uuid: \$u}"; }
# planned_other_than ID: GPU 0 has a planned change other than ID: it in $CH (the test clock
# stands still, so that changes made in one second are not ordered by their ids)
planned_other_than() {
    call "$OP" GET "/v1/mig-changes?gpu=gpu_n1-0&state=planned" &&
        CH=$(j '.items[0] // empty') && [ -n "$CH" ] && [ "$(jq -r .id <<<"$CH")" != "$1" ]
}
change_is() { call "$OP" GET "/v1/mig-changes/$1" && CH=$body; }
layout() { jq -r "[.$1.instances[] | \"\\(.profile)@\\(.start)\"] | join(\",\")" <<<"$CH"; }
count_events() {
    local b=$body c=$code
    call "$OP" GET "/v1/events?limit=500"
    j "[.items[] | select(.kind == \"$1\")] | length"
    body=$b code=$c
}
rsv() { call "$OP" GET "/v1/reservations/$1"; }
state_is() { rsv "$1" && [ "$(j .state)" = "$2" ]; }
late() { change_is "$1" && [ "$(jq -r .window.late <<<"$CH")" = true ]; }

report "[$(inst 7g.80gb 0 0 8 1 MIG-n1-7g)]"
expect "n1's agent reports GPU 0 in MIG mode as one 7g.80gb" 200
call "$OP" GET /v1/nodes/n1
check "… and the server keeps it as GPU 0's observed layout" \
    [ "$(j '[.gpus[0].observed.instances[].profile] | join(",")')" = 7g.80gb ]

# ---------------------------------------------------------------- a reservation needs a layout
VT=$(ts $((T0 + 400 * DAY)))
VF=$(ts "$T0")
org acme
contract acme prepaid
topup acme $((100000 * M)) acme-1
S1=$((T0 + 2 * DAY))
reserve acme "$ADMIN" "$(mig 3g.40gb 1 "$S1" $((S1 + DAY)))" || true
RID1=$RID
U1=$(j '.allocations[0].start_unit')
check "the 3g.40gb is reserved on GPU 0" [ "$(j '.allocations[0].gpu')" = gpu_n1-0 ]
must "the clock plans a change for GPU 0" wait_until 15 planned_other_than none
C1=$(jq -r .id <<<"$CH")
check "the change: from 7g.80gb@0 to 3g.40gb@$U1, MIG stays on" \
    [ "$(layout from)" = 7g.80gb@0 -a "$(layout to)" = "3g.40gb@$U1" -a \
    "$(jq -r .mode_switch <<<"$CH")" = false ]
check "its steps destroy 7g.80gb@0, then create 3g.40gb@$U1" \
    [ "$(jq -r '[.steps[] | "\(.op) \(.profile)@\(.start)"] | join(", ")' <<<"$CH")" = \
    "destroy 7g.80gb@0, create 3g.40gb@$U1" ]
check "it serves the reservation, with its org, and names no holder" \
    [ "$(jq -r '[.serves[] | .reservation, .org] | join(" ")' <<<"$CH")" = "$RID1 $ORG_ID" -a \
    "$(jq -r '.holders | length' <<<"$CH")" = 0 ]
check "no change window: it may run from now until the start, not late" \
    [ "$(jq -r '[.window.run_after, .window.run_before, .window.late] | join(" ")' <<<"$CH")" = \
    "$(ts "$T0") $(ts "$S1") false" ]
tick_to $((T0 + 10)) || true
sleep 0.3
check "later ticks plan nothing more (one mig_change.planned)" \
    [ "$(count_events mig_change.planned)" = 1 ]
report "[$(inst 7g.80gb 0 0 8 1 MIG-n1-7g)]" # a heartbeat: the agent is online for the checks

# ---------------------------------------------------------------- the agent's protocol
call "$NT" GET /v1/nodes/n1/desired
check "desired: GPU 0 has no layout set and no change to apply while it is only planned" \
    [ "$code" = 200 -a "$(j '[.node, .gpus[0].gpu, .gpus[0].uuid, .gpus[0].desired, .gpus[0].change] | tojson')" = \
    '["n1","gpu_n1-0","GPU-n1-0",null,null]' ]
call "$NT2" GET /v1/nodes/n1/desired
expect "another node's token: n1's desired state is not found" 404 not_found
call "$NT2" POST "/v1/mig-changes/$C1/start" '{}'
expect "another node's token: n1's change is not found" 404 not_found
call "$NT" POST "/v1/mig-changes/$C1/start" '{}'
expect "start before an operator approved it → 409" 409 invalid_state state
call "$OP" POST "/v1/mig-changes/$C1/apply" '{"force":true,"reason":"planned by the suite"}'
expect "the operator approves it" 200
call "$NT" GET /v1/nodes/n1/desired
check "desired: now the approved change, with its operations" \
    [ "$(j '.gpus[0].change | [.id, .state, (.operations | map(.op) | join(" "))] | join(" ")')" = \
    "$C1 approved destroy_ci destroy_gi create_gi create_ci" ]
call "$NT" POST "/v1/mig-changes/$C1/start" '{"x":1}'
expect "start takes an empty body" 400 invalid_argument x
call "$NT" POST "/v1/mig-changes/$C1/start" '{}'
check "start: approved → applying" [ "$code" = 200 -a "$(j '[.state, .resumed] | join(" ")')" = "applying false" ]
call "$NT" POST "/v1/mig-changes/$C1/start" '{}'
check "start again (the agent restarted): applying, resumed" \
    [ "$code" = 200 -a "$(j '[.state, .resumed] | join(" ")')" = "applying true" ]
call "$NT" POST "/v1/mig-changes/$C1/result" '{"ok":false}'
expect "a failed result names its error" 400 invalid_argument error
call "$NT" POST "/v1/mig-changes/$C1/result" \
    "{\"ok\":true,\"mig\":true,\"instances\":[{\"gi\":1,\"ci\":0,\"profile_id\":9,\"start\":$U1,\"uuid\":\"MIG bad\"}]}"
expect "a MIG device uuid with a space is refused, naming it" 400 invalid_argument 'instances[0].uuid'

# ---------------------------------------------------------------- a failure, and a new plan
call "$NT" POST "/v1/mig-changes/$C1/result" \
    "{\"ok\":false,\"operation\":2,\"error\":\"create_gi 3g.40gb@$U1: insufficient resources\",\"rolled_back\":true,\"mig\":true,\"instances\":[$(inst 7g.80gb 0 0 8 1 MIG-n1-7g)]}"
check "result ok:false: the change failed, rolled back, at operation 2" \
    [ "$code" = 200 -a "$(j '[.state, .failure.operation, .failure.rolled_back] | join(" ")')" = "failed 2 true" ]
events mig_change.failed "$C1" >"$tmp/failed"
check "mig_change.failed names the reservation and the error" \
    [ "$(jq -r '[.reservations[0], .error, .rolled_back] | join(" ")' "$tmp/failed")" = \
    "$RID1 create_gi 3g.40gb@$U1: insufficient resources true" ]
rsv "$RID1"
check "the reservation's document says so: provisioning {change, failed, error}" \
    [ "$(j '.provisioning | [.change, .state] | join(" ")')" = "$C1 failed" -a \
    "$(j .state)" = scheduled ]
call "$NT" POST "/v1/mig-changes/$C1/result" \
    "{\"ok\":true,\"mig\":true,\"instances\":[$(inst 3g.40gb 9 "$U1" 4 2 MIG-n1-3g-a | jq -c 'del(.profile, .size)')]}"
expect "a second result is refused: a change is never applied twice" 409 invalid_state state
call "$NT" POST "/v1/mig-changes/$C1/start" '{}'
expect "a failed change cannot be started again" 409 invalid_state state
must "the clock plans the change anew, with a new id" wait_until 15 planned_other_than "$C1"
C2=$(jq -r .id <<<"$CH")
check "… the same layouts" [ "$(layout from)" = 7g.80gb@0 -a "$(layout to)" = "3g.40gb@$U1" ]

# ---------------------------------------------------------------- applied
call "$OP" POST "/v1/mig-changes/$C2/apply" '{"force":true,"reason":"retry"}'
call "$NT" POST "/v1/mig-changes/$C2/start" '{}'
A3=$(inst 3g.40gb 9 "$U1" 4 2 MIG-n1-3g-a | jq -c 'del(.profile, .size)')
call "$NT" POST "/v1/mig-changes/$C2/result" "{\"ok\":true,\"mig\":true,\"instances\":[$A3]}"
check "result ok with the change's layout: applied, with the new instance's UUID" \
    [ "$code" = 200 -a "$(j '[.state, .result.instances[0].profile, .result.instances[0].uuid] | join(" ")')" = \
    "applied 3g.40gb MIG-n1-3g-a" ]
call "$OP" GET /v1/nodes/n1
check "GPU 0's desired layout is the change's to" \
    [ "$(j '.gpus[0].desired | [.mig, (.instances | map("\(.profile)@\(.start)") | join(","))] | join(" ")')" = \
    "true 3g.40gb@$U1" ]
rsv "$RID1"
check "the reservation's allocation has the instance's mig_uuid" \
    [ "$(j '.allocations[0].mig_uuid')" = MIG-n1-3g-a ]
check "mig_change.applied names the reservation" \
    [ "$(events mig_change.applied "$C2" | jq -r '.reservations | join(",")')" = "$RID1" ]
call "$NT" POST "/v1/mig-changes/$C2/result" "{\"ok\":true,\"mig\":true,\"instances\":[$A3]}"
expect "an applied change takes no second result" 409 invalid_state state
report "[$(inst 3g.40gb 9 "$U1" 4 2 MIG-n1-3g-a)]"

# ---------------------------------------------------------------- provisioning
S2=$((T0 + HOUR))
reserve acme "$ADMIN" "$(mig 3g.40gb 1 "$S2" $((S1 + HOUR)))" || true # beside the first
RID2=$RID
U2=$(j '.allocations[0].start_unit')
must "a change is planned for the second reservation" wait_until 15 planned_other_than "$C2"
C3=$(jq -r .id <<<"$CH")
check "it creates 3g.40gb@$U2 and keeps 3g.40gb@$U1 untouched" \
    [ "$(jq -r '[.steps[] | "\(.op) \(.profile)@\(.start)"] | join(", ")' <<<"$CH")" = "create 3g.40gb@$U2" -a \
    "$(jq -r '[.holders[].reservation] | join(",")' <<<"$CH")" = "" ]
tick_to "$S2" || true
wait_until 15 state_is "$RID2" provisioning
check "at its start without its instance the reservation is provisioning, naming the change" \
    [ "$(j '[.state, .provisioning.change] | join(" ")')" = "provisioning $C3" ]
check "reservation.provisioning was appended" \
    [ "$(events reservation.provisioning "$RID2" | jq -r .to)" = provisioning ]
report "[$(inst 3g.40gb 9 "$U1" 4 2 MIG-n1-3g-a)]"
wait_until 15 late "$C3"
check "its window passed unapplied: the same change moves on, late, from now" \
    [ "$(jq -r '[.id, .window.late, .window.run_after] | join(" ")' <<<"$CH")" = "$C3 true $(ts "$S2")" ]
call "$OP" POST "/v1/mig-changes/$C3/apply" '{"force":true,"reason":"now"}'
call "$NT" POST "/v1/mig-changes/$C3/start" '{}'
B3=$(inst 3g.40gb 9 "$U2" 4 3 MIG-n1-3g-b | jq -c 'del(.profile, .size)')
call "$NT" POST "/v1/mig-changes/$C3/result" "{\"ok\":true,\"mig\":true,\"instances\":[$B3]}"
check "a result whose layout differs from the change's: failed, saying so" \
    [ "$(j '[.state, .failure.error] | join(": ")')" = "failed: the layout reported differs from the change's" ]
check "… mig_change.failed names the reservation, which stays provisioning" \
    [ "$(events mig_change.failed "$C3" | jq -r '.reservations | join(",")')" = "$RID2" -a \
    "$(rsv "$RID2"; j .state)" = provisioning ]
must "a new change is planned" wait_until 15 planned_other_than "$C3"
C4=$(jq -r .id <<<"$CH")
call "$OP" POST "/v1/mig-changes/$C4/apply" '{"force":true,"reason":"again"}'
call "$NT" POST "/v1/mig-changes/$C4/start" '{}'
call "$NT" POST "/v1/mig-changes/$C4/result" "{\"ok\":true,\"mig\":true,\"instances\":[$A3,$B3]}"
check "applied with both instances" [ "$code" = 200 -a "$(j .state)" = applied ]
rsv "$RID2"
check "the reservation is active, with its instance's mig_uuid" \
    [ "$(j '[.state, .allocations[0].mig_uuid, .provisioning.state] | join(" ")')" = "active MIG-n1-3g-b ready" ]
check "reservation.active follows provisioning" \
    [ "$(events reservation.active "$RID2" | jq -r .from)" = provisioning ]
rsv "$RID1"
check "the first reservation's instance was never destroyed: its UUID is unchanged" \
    [ "$(j '.allocations[0].mig_uuid')" = MIG-n1-3g-a ]
call "$OP" GET /v1/reservations?state=provisioning
expect "?state=provisioning is a known filter" 200

# ---------------------------------------------------------------- MIG UUIDs after a reboot
# A reset loses every instance; the agent makes the desired layout again, with new MIG device
# UUIDs. The reservations' allocations follow them: RID1 (scheduled) and RID2 (active).
count_rsv_events() {
    local b=$body c=$code
    call "$OP" GET "/v1/events?limit=500"
    j '[.items[] | select(.kind | startswith("reservation."))] | length'
    body=$b code=$c
}
rsv_events=$(count_rsv_events)
rsv "$RID2"
at2=$(j .updated_at)
report "[]"
expect "after a reboot the agent reports no instance" 200
A4=$(inst 3g.40gb 9 "$U1" 4 1 MIG-n1-3g-a2)
B4=$(inst 3g.40gb 9 "$U2" 4 2 MIG-n1-3g-b2)
report "[$A4,$B4]"
expect "… then the desired layout made again, with new UUIDs" 200
rsv "$RID1"
check "the scheduled reservation's allocation has the new mig_uuid" \
    [ "$(j '[.state, .allocations[0].mig_uuid] | join(" ")')" = "scheduled MIG-n1-3g-a2" ]
rsv "$RID2"
check "the active reservation's allocation has the new mig_uuid" \
    [ "$(j '[.state, .allocations[0].mig_uuid] | join(" ")')" = "active MIG-n1-3g-b2" ]
at2b=$(j .updated_at)
tick_to $((S2 + 5)) || true # a write now would move updated_at
report "[$A4,$B4]"
rsv "$RID2"
check "the same UUIDs again: the reservation is not written again, no reservation event" \
    [ "$(j .updated_at)" = "$at2b" -a "$(count_rsv_events)" = "$rsv_events" -a -n "$at2" ]

# ---------------------------------------------------------------- an instance outside the catalog
# An instance at a placement the catalog lacks (the placements of GPUs newer than H100 are
# unverified) is taken, not refused: the node stays online, the GPU's catalog_differences name
# it, and no change is planned for the GPU while it is there.
X=$(jq -nc '{gi: 9, ci: 0, profile_id: 77, start: 7, uuid: "MIG-n1-odd"}')
report "[$A4,$B4,$X]"
expect "a report with an instance the catalog lacks is taken (200)" 200
call "$OP" GET /v1/nodes/n1
check "… the node stays online, the instance apart in unmatched_instances" \
    [ "$(j '[.status, (.gpus[0].observed.instances | length), .gpus[0].observed.unmatched_instances[0].profile_id] | join(" ")')" = "online 2 77" ]
check "… and named in catalog_differences" \
    [ "$(j '.gpus[0].observed.catalog_differences | any(.[]; startswith("instance of profile 77 at start 7"))')" = true ]
planned_before=$(count_events mig_change.planned)
S3=$((T0 + 5 * DAY))
reserve acme "$ADMIN" "$(mig 7g.80gb 1 "$S3" $((S3 + DAY)))" || true
RID3=$RID
check "a 7g.80gb is reserved on GPU 0, which needs a new layout" [ "$(j '.allocations[0].gpu')" = gpu_n1-0 ]
tick_to $((S2 + 10)) || true
tick_to $((S2 + 20)) || true
check "no change is planned for the GPU while the instance is there" \
    [ "$(count_events mig_change.planned)" = "$planned_before" ]
report "[$A4,$B4]"
must "the instance gone, the clock plans the change" wait_until 15 planned_other_than "$C4"
C5=$(jq -r .id <<<"$CH")
check "… for the 7g.80gb" [ "$(layout to)" = 7g.80gb@0 -a "$(jq -r '.serves[0].reservation' <<<"$CH")" = "$RID3" ]
report "[$A4,$B4,$X]"
change_is "$C5"
check "the instance back: the change's current_matches_observed fails, naming it" \
    [ "$(jq -r '.checks.items[] | select(.name == "current_matches_observed") | [.pass, (.found | contains("profile 77 at start 7 (gi 9, MIG-n1-odd)"))] | join(" ")' <<<"$CH")" = "false true" ]
call "$OP" POST "/v1/mig-changes/$C5/apply" '{"force":true,"reason":"try"}'
expect "… and it cannot be forced" 403 forbidden
