#!/usr/bin/env bash
# mig_changes_api.sh — the people's side of MIG changes (docs/api.md, "MIG changes and change
# windows"): change windows set, read, replaced and removed by operators only (the text checked
# by core's parser and kept in its canonical form; scopes default, zone:NAME, node:NAME; events
# window.set and window.removed); the list of changes (empty before any is planned; filters,
# pages, an org's view); 404 for a change that does not exist or is another org's; the roles
# each route refuses; a change planted in the store on a GPU whose agent reports no MIG state
# (its checks fail, the unforceable one refuses force: 403); changes the planner planned on
# nodes reporting MIG state through the sim driver: one approved by the auto-apply policy (its
# zone's window open, its checks passing), one with processes on the instances it destroys,
# acknowledged by the served org, refused as checks_failed (409), a forced apply without a
# good reason refused (400), then forced with a reason (recorded, in the event); and the CLI
# (`allot window`, `allot mig changes|check|ack|apply`) over the same routes.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_migchanges.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
trap_stop_server -KILL

port=$(free_port)
U=http://127.0.0.1:$port

OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
must "server starts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"

mkuser() { # mkuser TOKEN NAME ROLE [ORG] → prints the new token
    local o=${4:+,\"org\":\"$4\"}
    call "$1" POST /v1/users "{\"name\":\"$2\",\"role\":\"$3\"$o}"
    j .token
}
call "$OP" POST /v1/orgs '{"name":"acme"}'
ALICE=$(mkuser "$OP" alice org_admin acme)
MIKE=$(mkuser "$ALICE" mike member)
AGENT=$(mkuser "$OP" agent1 agent)
must "users for the roles" [ "${ALICE:0:3}${MIKE:0:3}${AGENT:0:3}" = al_al_al_ ]

# ---------------------------------------------------------------- change windows
call "$OP" GET /v1/change-windows
check "no change windows at first" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$OP" PUT /v1/change-windows/default '{"windows":"sat,sun 00:00-06:00; WED 12:00-13:00"}'
expect "an operator sets the default window" 200
check "… kept in canonical text, auto_apply false by default" \
    [ "$(j .windows)" = "wed 12:00-13:00; weekends 00:00-06:00" -o \
    "$(j .windows)" = "weekends 00:00-06:00; wed 12:00-13:00" ]
check "… auto_apply false, by the operator, at an RFC 3339 time" \
    [ "$(j .auto_apply)" = false -a "$(j '.updated_at | test("^[0-9-]+T[0-9:]+Z$")')" = true \
    -a "$(j .scope)" = default ]
call "$OP" PUT /v1/change-windows/zone:eu-1 '{"windows":"daily 02:00-04:00","auto_apply":true}'
expect "a zone's window with auto_apply" 200
call "$OP" PUT /v1/change-windows/node:n1 '{"windows":"mon-thu 01:00-24:00"}'
expect "a node's window" 200
call "$OP" PUT /v1/change-windows/zone:eu-1 '{"windows":"weekdays 22:00-02:00","auto_apply":false}'
expect "a put replaces the scope's window" 200
call "$OP" GET /v1/change-windows
check "three windows by scope" [ "$(j '[.items[].scope] | join(",")')" = "default,node:n1,zone:eu-1" ]
check "… the replaced one as put" \
    [ "$(j '.items[2].windows')" = "weekdays 22:00-02:00" -a "$(j '.items[2].auto_apply')" = false ]

call "$OP" PUT /v1/change-windows/default '{"windows":"sat 6:00-07:00"}'
expect "a malformed window → 400 naming windows" 400 invalid_argument windows
check "… the message names the window and what is wrong" \
    [ "$(j '.error.message | test("window 1 .sat 6:00-07:00.")')" = true ]
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-02:00"}'
expect "an empty window → 400" 400 invalid_argument windows
call "$OP" PUT /v1/change-windows/default '{}'
expect "windows is required" 400 invalid_argument windows
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00","auto_apply":"yes"}'
expect "auto_apply must be a boolean" 400 invalid_argument auto_apply
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00","color":"red"}'
expect "an unknown member → 400" 400 invalid_argument
call "$OP" PUT /v1/change-windows/rack:r1 '{"windows":"daily 02:00-04:00"}'
expect "an unknown scope form → 400 scope" 400 invalid_argument scope
call "$OP" PUT /v1/change-windows/zone: '{"windows":"daily 02:00-04:00"}'
expect "zone: without a name → 400 scope" 400 invalid_argument scope
call "$OP" PUT "/v1/change-windows/node:$(printf 'n%.0s' $(seq 64))" '{"windows":"daily 02:00-04:00"}'
expect "a 64-byte node name → 400 scope" 400 invalid_argument scope
call "$OP" PUT '/v1/change-windows/node:a%20b' '{"windows":"daily 02:00-04:00"}'
expect "a node name with a space → 400 scope" 400 invalid_argument scope

call "$ALICE" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00"}'
expect "an org admin cannot set a window" 403 forbidden
call "$AGENT" GET /v1/change-windows
expect "an agent cannot read the windows" 403 forbidden
call "$MIKE" DELETE /v1/change-windows/default
expect "a member cannot remove a window" 403 forbidden

call "$OP" DELETE /v1/change-windows/node:n1
expect "an operator removes a window" 200
check "… answered removed" [ "$(j .removed)" = true -a "$(j .scope)" = node:n1 ]
call "$OP" DELETE /v1/change-windows/node:n1
expect "removing it again → 404" 404 not_found
call "$OP" GET /v1/events?limit=500
check "events window.set (4) and window.removed (1), about the scope" \
    [ "$(j '[.items[] | select(.kind=="window.set")] | length')" = 4 \
    -a "$(j '[.items[] | select(.kind=="window.removed")][0].object')" = node:n1 ]

# ---------------------------------------------------------------- changes
call "$OP" GET /v1/mig-changes
check "no MIG changes before any is planned" \
    [ "$code" = 200 -a "$(j '.items | length')" = 0 -a "$(j .next_cursor)" = null ]
call "$ALICE" GET "/v1/mig-changes?state=planned&node=n1"
check "an org admin lists (none of her org's)" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$MIKE" GET /v1/mig-changes
expect "a member lists" 200
call "$OP" GET "/v1/mig-changes?state=done"
expect "an unknown state → 400" 400 invalid_argument state
call "$OP" GET "/v1/mig-changes?node=a%20b"
expect "a bad node name → 400" 400 invalid_argument node
call "$OP" GET "/v1/mig-changes?limit=0"
expect "a bad limit → 400" 400 invalid_argument limit
call "$AGENT" GET /v1/mig-changes
expect "an agent cannot list changes" 403 forbidden
call "$OP" GET /v1/mig-changes/mch_nope
expect "an unknown change → 404" 404 not_found
call "$ALICE" GET /v1/mig-changes/mch_nope
expect "… to an org admin too" 404 not_found
call "$ALICE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "acknowledging an unknown change → 404" 404 not_found
call "$ALICE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":false}'
expect "an ack needs both flags true → 400" 400 invalid_argument data_backup
call "$OP" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "an operator does not acknowledge for an org" 403 forbidden
call "$MIKE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "a member does not acknowledge" 403 forbidden
call "$OP" POST /v1/mig-changes/mch_nope/apply '{}'
expect "applying an unknown change → 404" 404 not_found
call "$OP" POST /v1/mig-changes/mch_nope/apply '{"force":"yes"}'
expect "force must be a boolean" 400 invalid_argument force
call "$ALICE" POST /v1/mig-changes/mch_nope/apply '{}'
expect "an org admin cannot apply" 403 forbidden

# ---------------------------------------------------------------- a change planted in the store
# Until the planner plans them (server/migplan.c), a change is written into the database as the
# planner would, beside the running server: node n1's GPU, a reservation of beta served, one
# of acme holding an instance the change destroys. n1's agent reports no MIG state (the plain
# fleet report), so the checks that need it fail and cannot be forced.
call "$OP" POST /v1/orgs '{"name":"beta"}'
BETA=$(j .id)
call "$OP" POST /v1/orgs '{"name":"gamma"}'
BOB=$(mkuser "$OP" bob org_admin beta)
CAROL=$(mkuser "$OP" carol org_admin gamma)
call "$OP" GET /v1/orgs/acme
ACME=$(j .id)
call "$OP" PUT /v1/nodes/n1 '{"gpus":[{"index":0,"model":"H100-80GB","uuid":"GPU-n1-0"}]}'
expect "node n1 reports its GPU" 200
now=$(date +%s)
plant() { # plant ID GPU STATE CREATED: a change of n1's GPU from 3g@0,1g@4,1g@5 to 3g@0,3g@4
    local doc
    doc=$(jq -cn --arg id "$1" --arg gpu "$2" --arg st "$3" --arg a "$(ts $((now - 60)))" \
        --arg b "$(ts $((now + 3600)))" --arg s "$(ts $((now + 7200)))" --arg c "$(ts "$now")" \
        --arg acme "$ACME" --arg beta "$BETA" '{id: $id, state: $st, node: "n1", gpu: $gpu,
        gpu_uuid: "GPU-n1-0", model: "H100-80GB",
        from: {mig: true, instances: [{profile: "3g.40gb", profile_id: 9, start: 0},
            {profile: "1g.10gb", profile_id: 19, start: 4}, {profile: "1g.10gb", profile_id: 19, start: 5}]},
        to: {mig: true, instances: [{profile: "3g.40gb", profile_id: 9, start: 0},
            {profile: "3g.40gb", profile_id: 9, start: 4}]},
        mode_switch: false,
        steps: [{op: "destroy", profile: "1g.10gb", start: 4}, {op: "destroy", profile: "1g.10gb", start: 5},
            {op: "create", profile: "3g.40gb", start: 4}],
        serves: [{reservation: "rsv_a", org: $beta, start: $s, profile: "3g.40gb", start_unit: 4}],
        holders: [{reservation: "rsv_b", org: $acme, profile: "1g.10gb", start_unit: 4}],
        window: {run_after: $a, run_before: $b, late: false},
        approved: null, result: null, failure: null, created_at: $c, updated_at: $c}')
    sqlite3 "$tmp/db" "INSERT INTO mig_changes VALUES('$1', '$2', 'n1', '$3', $((now - 60)),
        $((now + 3600)), $4, $4, '$doc');
        INSERT INTO mig_change_links VALUES('$1', 'rsv_b', '$ACME', 'holds'),
        ('$1', 'rsv_a', '$BETA', 'serves');"
}
must "a planned change is planted" plant mch_t1 gpu_n1-0 planned "$now"
must "an applied one of another GPU too" plant mch_t0 gpu_old applied $((now - 10))
sqlite3 "$tmp/db" "UPDATE mig_changes SET state = 'planned' WHERE id = 'mch_t0'" 2>/dev/null
check "the schema keeps an ended change as it ended" \
    [ "$(sqlite3 "$tmp/db" "SELECT state FROM mig_changes WHERE id = 'mch_t0'")" = applied ]

call "$OP" GET /v1/mig-changes
check "the operator lists both, newest first" [ "$(j '[.items[].id] | join(",")')" = mch_t1,mch_t0 ]
call "$OP" GET "/v1/mig-changes?limit=1"
cur=$(j .next_cursor)
call "$OP" GET "/v1/mig-changes?limit=1&cursor=$cur"
check "… a page at a time" [ "$(j '[.items[].id] | join(",")')" = mch_t0 -a "$(j .next_cursor)" = null ]
call "$OP" GET "/v1/mig-changes?state=planned&node=n1&gpu=gpu_n1-0"
check "… filtered by state, node and GPU" [ "$(j '[.items[].id] | join(",")')" = mch_t1 ]
call "$ALICE" GET /v1/mig-changes
check "acme's admin sees the changes touching acme" [ "$(j '.items | length')" = 2 ]
call "$MIKE" GET /v1/mig-changes/mch_t1
expect "… so does its member" 200
call "$CAROL" GET /v1/mig-changes
check "gamma's admin sees none" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$CAROL" GET /v1/mig-changes/mch_t1
expect "… and another org's change is not found" 404 not_found

call "$OP" GET /v1/mig-changes/mch_t1
check "a change is shown with its 10 checks and acks" \
    [ "$code" = 200 -a "$(j '.checks.items | length')" = 10 -a "$(j '.acks | length')" = 0 ]
check "… that fail where the agent reports no MIG state" \
    [ "$(j .checks.pass)" = false -a \
    "$(j '[.checks.items[] | select(.name=="current_matches_observed")][0].found | test("reports no MIG state")')" = true ]
check "… and where acme (holding a destroyed instance) has not acknowledged" \
    [ "$(j '[.checks.items[] | select(.name=="acknowledged")][0].pass')" = false ]
call "$OP" GET /v1/mig-changes/mch_t0
check "an ended change has no checks" [ "$code" = 200 -a "$(j .checks)" = null ]

call "$ALICE" POST /v1/mig-changes/mch_t1/ack '{"job_shutdown":true}'
expect "an ack needs data_backup" 400 invalid_argument data_backup
call "$ALICE" POST /v1/mig-changes/mch_t1/ack '{"job_shutdown":true,"data_backup":true}' \
    -H "Idempotency-Key: ack-1"
expect "acme's admin acknowledges" 200
check "… recorded with the org, the user and a time" \
    [ "$(j '.acks[0].org')" = "$ACME" -a "$(j '.acks[0].job_shutdown')" = true \
    -a "$(j '.acks[0].at | test("Z$")')" = true ]
check "… and the acknowledged check passes now" \
    [ "$(j '[.checks.items[] | select(.name=="acknowledged")][0].pass')" = true ]
call "$CAROL" POST /v1/mig-changes/mch_t1/ack '{"job_shutdown":true,"data_backup":true}'
expect "an org the change does not touch cannot acknowledge (404)" 404 not_found
call "$BOB" POST /v1/mig-changes/mch_t1/ack '{"job_shutdown":true,"data_backup":true}'
expect "the served org's admin may acknowledge too" 200
call "$ALICE" POST /v1/mig-changes/mch_t0/ack '{"job_shutdown":true,"data_backup":true}'
expect "an ended change is not acknowledged" 409 invalid_state
call "$OP" GET /v1/events?limit=500
check "events mig_change.acknowledged (2) about the change" \
    [ "$(j '[.items[] | select(.kind=="mig_change.acknowledged" and .object=="mch_t1")] | length')" = 2 ]

call "$OP" POST /v1/mig-changes/mch_t1/apply '{}'
expect "applying while checks fail → 409 checks_failed" 409 checks_failed
check "… with the checks in the details" [ "$(j '.error.details.checks.items | length')" = 10 ]
call "$OP" POST /v1/mig-changes/mch_t1/apply '{"force":true,"reason":"drained by hand"}'
expect "current_matches_observed cannot be forced → 403" 403 forbidden
check "… the message names the check" [ "$(j '.error.message | test("current_matches_observed")')" = true ]
call "$OP" POST /v1/mig-changes/mch_t0/apply '{}'
expect "an ended change is not applied" 409 invalid_state
call "$OP" GET /v1/mig-changes/mch_t1
check "the refused change is still planned, not approved" \
    [ "$(j .state)" = planned -a "$(j .approved)" = null ]

# ---------------------------------------------------------------- the CLI
export ALLOT_SERVER=$U
cli() { ALLOT_TOKEN=$1 "$ALLOT" "${@:2}"; }
out=$(cli "$OP" window set node:n2 "daily 03:00-05:00" --auto-apply 2>&1)
check "allot window set" [ $? = 0 ]
out=$(cli "$OP" window list 2>&1)
check "allot window list shows the scopes" grep -q "node:n2.*daily 03:00-05:00.*true" <<<"$out"
out=$(cli "$OP" window list -o json 2>&1)
check "allot window list -o json" [ "$(jq -r ".items | length" <<<"$out")" = 3 ]
out=$(cli "$OP" window set node:n2 "daily 3:00-05:00" 2>&1)
rc=$?
check "allot window set with a malformed window fails (1), naming it" \
    [ $rc = 1 -a "$(grep -c "window 1" <<<"$out")" -ge 1 ]
out=$(cli "$OP" window remove node:n2 2>&1)
check "allot window remove" [ $? = 0 ]
out=$(cli "$OP" window remove node:n2 2>&1)
check "allot window remove again fails (404)" [ $? != 0 ]
out=$(cli "$OP" mig changes 2>&1)
check "allot mig changes (none)" [ $? = 0 ]
out=$(cli "$OP" mig changes --state planned -o json 2>&1)
check "allot mig changes --state planned -o json" [ "$(jq -r '.items[0].id' <<<"$out")" = mch_t1 ]
out=$(cli "$OP" mig check mch_nope 2>&1)
check "allot mig check of an unknown change fails" [ $? != 0 ]
out=$(cli "$OP" mig apply mch_nope --force 2>&1)
rc=$?
check "allot mig apply --force needs --reason (usage: 2)" \
    [ $rc = 2 -a "$(grep -c -- "--reason" <<<"$out")" -ge 1 ]
out=$(cli "$ALICE" mig ack mch_nope 2>&1)
check "allot mig ack of an unknown change fails" [ $? != 0 ]
out=$(cli "$OP" mig check mch_t1 2>&1)
check "allot mig check shows the checks as a table" \
    [ "$(grep -c "current_matches_observed *false" <<<"$out")" = 1 -a "$(grep -c "^id: *mch_t1" <<<"$out")" = 1 ]
out=$(cli "$ALICE" mig ack mch_t1 2>&1)
check "allot mig ack" [ $? = 0 ]
out=$(cli "$OP" mig apply mch_t1 2>&1)
rc=$?
check "allot mig apply while checks fail: exit 1, the server's reason" \
    [ $rc = 1 -a "$(grep -c "checks fail" <<<"$out")" -ge 1 ]
out=$(cli "$OP" mig changes --state planned 2>&1)
check "allot mig changes --state planned lists it" [ "$(grep -c "mch_t1.*planned.*n1" <<<"$out")" = 1 ]

# ---------------------------------------------------------------- changes the planner planned
# Nodes n2 and n3 report MIG state through the sim driver's observation: seven 1g.10gb
# instances each, on n2 a process on every one. beta reserves a 3g.40gb on each node (zones z2,
# z3) from two to three hours on, so the planner plans the change that makes room for it,
# destroying the 1g.10gb instances under the new one. n3's zone has a window open now with
# auto_apply: its change, whose checks all pass, is approved by the policy; n2's, with a
# process on an instance it destroys, waits for an operator, who forces it with a reason.
# shellcheck source=tests/integration/money_lib.sh
. "$ROOT/tests/integration/money_lib.sh"
sim_state() { # sim_state UUID PROCS: seven 1g.10gb instances, a process on each when PROCS is 1
    jq -n --arg u "$1" --argjson p "$2" '{gpus: [{index: 0, model: "H100-80GB", uuid: $u,
        mig: {current: true},
        instances: [range(7) | {gi: (. + 1), profile: "1g.10gb", start: ., uuid: "MIG-\($u)-\(.)"}],
        processes: (if $p == 1 then [range(7) | {pid: (1000 + .), used_mib: 256, gi: (. + 1)}]
                    else [] end)}]}'
}
report_mig() { # report_mig NODE PROCS ZONE: NODE's report from the sim driver's observation
    sim_state "GPU-$1-0" "$2" >"$tmp/$1.state"
    "$ALLOT" agent --driver sim --state "$tmp/$1.state" --node "$1" --observe >"$tmp/$1.obs" ||
        return 1
    call "$OP" PUT "/v1/nodes/$1" "$(jq -c --arg z "$3" \
        '{zone: $z, gpus: [.gpus[] | .pool = "dedicated" | .model //= "H100-80GB"]}' "$tmp/$1.obs")"
    [ "$code" = 200 ]
}
planned_on() { # planned_on NODE: the id of NODE's planned change, in $CH
    call "$OP" GET "/v1/mig-changes?node=$1&state=planned"
    CH=$(j '.items[0].id // empty')
    [ -n "$CH" ]
}
state_is() { call "$OP" GET "/v1/mig-changes/$1" && [ "$(j .state)" = "$2" ]; }

call "$OP" DELETE /v1/change-windows/default
expect "the default window goes: n2 may change any time before its reservation" 200
now=$(date +%s)
START=$(((now / 3600 + 3) * 3600))
hm() { date -u -d "@$1" +%H:%M; }
call "$OP" PUT /v1/change-windows/zone:z3 \
    "{\"windows\":\"daily $(hm $((now / 60 * 60 - 1800)))-$(hm $((now / 60 * 60 + 3600)))\",\"auto_apply\":true}"
expect "zone z3's window, open now, with auto_apply" 200
must "n2 reports MIG state, a process on each instance" report_mig n2 1 z2
must "n3 reports MIG state, no process" report_mig n3 0 z3
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":4000000,\"mig_slice_hour_micros\":500000}"
VT=$(ts $((now + 400 * 86400)))
must "an invoiced contract for beta" contract beta invoiced
for z in z2 z3; do
    must "beta reserves a 3g.40gb in $z" \
        reserve beta "$BOB" "$(mig 3g.40gb 1 "$START" $((START + 3600))),\"zone\":\"$z\""
done
must "the planner plans n2's change" wait_until 15 planned_on n2
N2=$CH
by_policy() { # by_policy NODE: NODE's change is approved by the policy
    call "$OP" GET "/v1/mig-changes?node=$1&state=approved" &&
        [ "$(j '.items[0].approved.by')" = policy ]
}
check "n3's change is approved by the policy (its window has auto_apply, its checks pass)" \
    wait_until 15 by_policy n3
N3=$(j '.items[0].id')
call "$OP" GET /v1/events?limit=500
check "… event mig_change.approved by policy" \
    [ "$(j "[.items[] | select(.kind==\"mig_change.approved\" and .object==\"$N3\")][0].data.by")" = policy ]

call "$OP" GET "/v1/mig-changes/$N2"
check "n2's change: every check but no_process_on_destroyed passes" \
    [ "$(j '[.checks.items[] | select(.pass | not) | .name] | join(",")')" = no_process_on_destroyed ]
check "… the check names the processes on the instances destroyed" \
    [ "$(j '[.checks.items[] | select(.name=="no_process_on_destroyed")][0].found | test("pid 10")')" = true ]
call "$BOB" GET "/v1/mig-changes/$N2"
expect "beta's admin sees the change serving its reservation" 200
call "$BOB" POST "/v1/mig-changes/$N2/ack" '{"job_shutdown":true,"data_backup":true}'
expect "… and may acknowledge it" 200
call "$ALICE" POST "/v1/mig-changes/$N2/ack" '{"job_shutdown":true,"data_backup":true}'
expect "acme, which it does not touch, may not (404)" 404 not_found
call "$OP" POST "/v1/mig-changes/$N2/apply" '{}'
expect "apply while a process is on a destroyed instance → 409 checks_failed" 409 checks_failed
call "$OP" POST "/v1/mig-changes/$N2/apply" '{"force":true}'
expect "force without a reason → 400 reason" 400 invalid_argument reason
call "$OP" POST "/v1/mig-changes/$N2/apply" '{"force":true,"reason":"   "}'
expect "force with a blank reason → 400 reason" 400 invalid_argument reason
check "… still planned" state_is "$N2" planned
call "$OP" POST "/v1/mig-changes/$N2/apply" '{"force":true,"reason":"jobs drained by hand"}' \
    -H "Idempotency-Key: apply-n2"
expect "force with a reason → 200" 200
check "… approved by the operator, forced, the reason recorded" \
    [ "$(j .state)" = approved -a "$(j .approved.forced)" = true \
    -a "$(j .approved.reason)" = "jobs drained by hand" -a "$(j '.approved.by | startswith("usr_")')" = true ]
call "$OP" POST "/v1/mig-changes/$N2/apply" '{"force":true,"reason":"jobs drained by hand"}' \
    -H "Idempotency-Key: apply-n2"
check "a retry with the same key answers the same" [ "$code" = 200 -a "$(j .state)" = approved ]
call "$OP" POST "/v1/mig-changes/$N2/apply" '{}'
expect "an approved change is not applied again" 409 invalid_state
call "$OP" GET /v1/events?limit=500
check "event mig_change.approved with the reason in its data" \
    [ "$(j "[.items[] | select(.kind==\"mig_change.approved\" and .object==\"$N2\")][0].data.reason")" = "jobs drained by hand" ]
