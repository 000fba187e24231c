#!/usr/bin/env bash
# node_observed.sh — a GPU's MIG state in the node report (PUT /v1/nodes/{name}): the members
# the agent's driver observes (agent/driver.h, al_driver_observed_json: mig mode, NVML profiles,
# instances, processes) are checked against the catalog and shown by GET /v1/nodes/{name} and
# GET /v1/nodes as the GPU's `observed` (with observed_at, and `desired`); each refusal names
# its field; NVML profiles that differ from the catalog are listed as sentences and appended as
# one gpu.catalog_mismatch event when they change; an instance outside the catalog is taken
# apart (unmatched_instances, a catalog difference), the node online; and the report built from
# `allot agent --driver sim --observe` is taken as it is (the agent's and the server's shapes
# agree), as is the report of `allot agent --driver sim --once`.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_node_observed.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
trap_stop_server -KILL

port=$(free_port)
U=http://127.0.0.1:$port

cat >"$tmp/state.json" <<'JSON'
{"gpus":[
 {"index":0,"model":"H100-80GB","uuid":"GPU-obs-h100-0000","mig":{"current":true},
  "instances":[{"gi":1,"profile":"3g.40gb","start":0,"uuid":"MIG-obs-3g-0001"},
               {"gi":2,"profile":"1g.10gb","start":6,"uuid":"MIG-obs-1g-0002"}],
  "processes":[{"pid":4242,"used_mib":2048,"gi":1}]},
 {"index":1,"model":"A100-80GB","uuid":"GPU-obs-a100-0001"}]}
JSON

# observe: what the sim driver sees of $tmp/state.json, in $tmp/obs.json
observe() { "$ALLOT" agent --driver sim --state "$tmp/state.json" --node n1 --observe >"$tmp/obs.json"; }
# report_of FILE: the body of PUT /v1/nodes/{name} built from the driver's observation FILE as
# the agent will send it: its GPUs with a pool, the model when the driver knew none
report_of() { jq -c '{zone: "z1", gpus: [.gpus[] | .pool = "dedicated" | .model //= "H100-80GB"]}' "$1"; }
put() { call "$OP" PUT "/v1/nodes/$1" "$2"; }
# refused DESC FIELD JQ_EDIT: the observed report of n1 edited by JQ_EDIT is refused (400),
# naming FIELD
refused() {
    put n1 "$(report_of "$tmp/obs.json" | jq -c "$3")"
    expect "refused: $1" 400 invalid_argument "$2"
}
mismatches() { # mismatches GPU: how many gpu.catalog_mismatch events name GPU
    call "$OP" GET "/v1/events?limit=500"
    j "[.items[] | select(.kind == \"gpu.catalog_mismatch\" and .object == \"$1\")] | length"
}

OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
must "server starts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"
must "the sim driver observes the state file" observe

# ---------------------------------------------------------------- the agent's shape, as it is
report_of "$tmp/obs.json" >"$tmp/report.json"
put n1 "$(cat "$tmp/report.json")"
expect "a report built from allot agent --observe is taken as it is" 200
call "$OP" GET /v1/nodes/n1
g0=$(j '.gpus[] | select(.index == 0)')
g1=$(j '.gpus[] | select(.index == 1)')
check "observed: MIG mode as the driver saw it" \
    [ "$(jq -c .observed.mig <<<"$g0")" = "$(jq -c '.gpus[0].mig' "$tmp/obs.json")" ]
check "observed: the instances as the driver listed them (profile, id, placement, gi, ci, uuid)" \
    [ "$(jq -c '[.observed.instances[] | [.profile, .profile_id, .start, .size, .gi, .ci, .uuid]]' <<<"$g0")" = \
    "$(jq -c '[.gpus[0].instances[] | [.profile, .profile_id, .start, .size, .gi, .ci, .uuid]]' "$tmp/obs.json")" ]
check "observed: the process on gi 1, and the total" \
    [ "$(jq -c '[.observed.processes[] | [.pid, .used_memory_mib, .gi, .ci]], .observed.processes_total' <<<"$g0" | tr -d '\n')" = '[[4242,2048,1,0]]1' ]
check "observed_at is an RFC 3339 time, desired is null" \
    [ "$(jq -r '(.observed_at | test("^[0-9-]+T[0-9:]+Z$")) and .desired == null' <<<"$g0")" = true ]
check "the simulated GPUs follow the catalog: no catalog difference" \
    [ "$(jq -c '[.observed.catalog_differences, .observed.mig.current]' <<<"$g1")" = '[[],false]' -a \
    "$(jq -c .observed.catalog_differences <<<"$g0")" = '[]' ]
check "the GPU's status is unchanged by its MIG state" [ "$(jq -r .status <<<"$g0")" = available ]
call "$OP" GET /v1/nodes
check "GET /v1/nodes shows the observed state too" \
    [ "$(j '.items[0].gpus[0].observed.instances | length')" = 2 -a \
    "$(j '.items[0].gpus[0].observed_at | test("Z$")')" = true ]
check "no catalog mismatch was reported" [ "$(mismatches gpu_n1-0)" = 0 ]

# ---------------------------------------------------------------- refusals name the field
refused "an unknown member of mig" 'gpus[0].mig.on' '.gpus[0].mig.on = true'
refused "mig.current not a boolean" 'gpus[0].mig.current' '.gpus[0].mig.current = 1'
refused "a profile_id out of range" 'gpus[0].instances[0].profile_id' \
    '.gpus[0].instances[0].profile_id = 1024'
refused "a profile name that is not a string" 'gpus[0].instances[0].profile' \
    '.gpus[0].instances[0].profile = 3'
refused "a start out of range" 'gpus[0].instances[0].start' '.gpus[0].instances[0].start = 64'
refused "an instance ending beyond 64 units" 'gpus[0].instances[0].start' \
    '.gpus[0].instances[0].start = 60 | .gpus[0].instances[0].size = 8'
refused "overlapping instances" 'gpus[0].instances[1].start' \
    '.gpus[0].instances[1].start = 3'
refused "an instance outside the catalog overlapping another" 'gpus[0].instances[1].start' \
    '.gpus[0].instances[1] |= (.profile_id = 77 | .start = 2 | .size = 2 | del(.profile))'
refused "a gi used twice" 'gpus[0].instances[1].gi' '.gpus[0].instances[1].gi = 1'
refused "a MIG device uuid with a space" 'gpus[0].instances[0].uuid' \
    '.gpus[0].instances[0].uuid = "MIG x"'
refused "17 instances" 'gpus[0].instances' \
    '.gpus[0].instances[0] as $i | .gpus[0].instances = [range(17) | $i]'
refused "a process on no instance" 'gpus[0].processes[0].gi' '.gpus[0].processes[0].gi = 9'
refused "a process's ci out of range" 'gpus[0].processes[0].ci' '.gpus[0].processes[0].ci = 1024'
refused "a process with a gi while MIG is off" 'gpus[1].processes[0].gi' \
    '.gpus[1].processes = [{pid: 1, used_memory_mib: 1, gi: 1, ci: 0}]'
refused "processes_total below the processes listed" 'gpus[0].processes_total' \
    '.gpus[0].processes_total = 0'
refused "25 profiles" 'gpus[0].profiles' \
    '.gpus[0].profiles[0] as $p | .gpus[0].profiles = [range(25) | $p]'
refused "a placement with a negative start" 'gpus[0].profiles[0].placements[0].start' \
    '.gpus[0].profiles[0].placements[0].start = -1'
refused "instances while MIG mode is off" 'gpus[1].instances' \
    '.gpus[1].instances = .gpus[0].instances'
refused "a product name with a control byte" 'gpus[0].name' '.gpus[0].name = "H100\u0001"'
call "$OP" GET /v1/nodes/n1
check "… and refused reports changed nothing" \
    [ "$(j '.gpus[0].observed.instances | length')" = 2 ]

# ---------------------------------------------------------------- catalog differences
# NVML lists profile 19 with 4 GiB more, at even starts only, omits another the catalog has,
# and lists a profile the catalog lacks
gone=$(jq -r '.gpus[0].profiles[1].id' "$tmp/obs.json")
jq -c --argjson gone "$gone" '.gpus[0].profiles |= (map(select(.id != $gone)
      | if .id == 19 then .memory_mib += 4096 | .placements |= map(select(.start % 2 == 0)) else . end)
      + [{id: 99, name: "MIG 9g.99gb", slices: 9, memory_mib: 1, placements: []}])' \
    "$tmp/obs.json" >"$tmp/diff.json"
put n1 "$(report_of "$tmp/diff.json")"
expect "a report whose NVML profiles differ from the catalog is taken" 200
call "$OP" GET /v1/nodes/n1
diffs=$(j '.gpus[] | select(.index == 0) | .observed.catalog_differences')
has_diff() { jq -e --arg s "$1" 'any(.[]; contains($s))' <<<"$diffs" >/dev/null; }
check "differences: profile 19's placements, as ranges" \
    has_diff "profile 19 (1g.10gb): NVML lists placements 0,2,4,6 and the catalog 0-6"
mib=$(jq '.gpus[0].profiles[] | select(.id == 19) | .memory_mib' "$tmp/obs.json")
check "differences: profile 19's memory, beyond the tolerance" \
    has_diff "profile 19 (1g.10gb): NVML lists $((mib + 4096)) MiB and the catalog $mib MiB"
check "differences: a profile NVML lists that the catalog lacks" \
    has_diff "profile 99 (MIG 9g.99gb): NVML lists it and the catalog does not"
check "differences: a profile the catalog lists that NVML does not" \
    has_diff "profile $gone ("
check "… four sentences" [ "$(jq length <<<"$diffs")" = 4 ]
check "one gpu.catalog_mismatch event naming the GPU" [ "$(mismatches gpu_n1-0)" = 1 ]
call "$OP" GET "/v1/events?limit=500"
check "… with node, uuid and the differences" \
    [ "$(j '[.items[] | select(.kind == "gpu.catalog_mismatch")][0].data | [.node, .uuid, (.differences | length)] | @csv')" = '"n1","GPU-obs-h100-0000",4' ]
put n1 "$(report_of "$tmp/diff.json")"
check "the same differences again: no second event" [ "$(mismatches gpu_n1-0)" = 1 ]
jq -c '.gpus[0].profiles |= map(select(.id != 99))' "$tmp/diff.json" >"$tmp/diff2.json"
put n1 "$(report_of "$tmp/diff2.json")"
check "other differences: a second event" [ "$(mismatches gpu_n1-0)" = 2 ]
put n1 "$(cat "$tmp/report.json")"
call "$OP" GET /v1/nodes/n1
check "back to the catalog's profiles: no difference left" \
    [ "$(j '.gpus[0].observed.catalog_differences | length')" = 0 -a "$(mismatches gpu_n1-0)" = 2 ]

# ---------------------------------------------------------------- instances outside the catalog
# An instance whose profile, name or placement the catalog lacks (the placements of GPUs newer
# than H100 are unverified) is taken apart, not refused: the node keeps reporting.
call "$OP" GET "/v1/events?limit=500"
before=$(j '[.items[] | select(.kind == "node.offline")] | length')
unmatched() { # unmatched DESC JQ_EDIT SENTENCE: the report edited is taken, the instance apart
    put n1 "$(report_of "$tmp/obs.json" | jq -c "$2")"
    expect "an instance $1: taken (200), not refused" 200
    call "$OP" GET /v1/nodes/n1
    check "… listed in unmatched_instances, not in instances, and named in catalog_differences" \
        [ "$(j '.gpus[0].observed | [(.instances | length), (.unmatched_instances | length)] | @csv')" = 1,1 -a \
        "$(jq -r --arg s "$3" '.gpus[0].observed.catalog_differences | any(.[]; contains($s))' <<<"$body")" = true ]
}
unmatched "of a profile_id the model does not have" \
    '.gpus[0].instances[1] |= (.profile_id = 77 | del(.profile, .size))' \
    "instance of profile 77 at start 6: the catalog has no profile of that NVML id for H100-80GB"
check "… with its members as reported (profile null, size unknown)" \
    [ "$(j '.gpus[0].observed.unmatched_instances[0] | [.profile, .profile_id, .start, .size, .gi, .ci, .uuid] | @json')" = \
    '[null,77,6,null,2,0,"MIG-obs-1g-0002"]' ]
check "… and the node stays online" [ "$(j .status)" = online ]
unmatched "at a start the catalog does not allow" '.gpus[0].instances[1].start = 7' \
    "the catalog does not allow 1g.10gb at start 7 with 1 units"
unmatched "whose name is not its profile_id's" '.gpus[0].instances[1].profile = "MIG 2g.20gb"' \
    "the catalog's profile 19 is 1g.10gb"
check "a gpu.catalog_mismatch event for each new set of differences" [ "$(mismatches gpu_n1-0)" = 5 ]
put n1 "$(report_of "$tmp/obs.json" | jq -c '.gpus[0].processes[0].ci = 3')"
expect "a process on another compute instance of its GPU instance is taken" 200
call "$OP" GET /v1/nodes/n1
check "… on its GPU instance, with the ci reported" \
    [ "$(j '.gpus[0].observed.processes[0] | [.gi, .ci] | @csv')" = 1,3 ]
put n1 "$(cat "$tmp/report.json")"
call "$OP" GET /v1/nodes/n1
check "the instance back in the catalog: none unmatched, no difference" \
    [ "$(j '.gpus[0].observed | [(.unmatched_instances | length), (.catalog_differences | length)] | @csv')" = 0,0 ]
call "$OP" GET "/v1/events?limit=500"
check "no node went offline" [ "$(j '[.items[] | select(.kind == "node.offline")] | length')" = "$before" ]

# ---------------------------------------------------------------- MIG state follows the node
jq -c 'del(.gpus[0].mig, .gpus[0].instances, .gpus[0].processes)' "$tmp/report.json" >"$tmp/nomig.json"
put n1 "$(cat "$tmp/nomig.json")"
call "$OP" GET /v1/nodes/n1
check "a report without mig clears the GPU's observed state (null, observed_at null)" \
    [ "$(j '.gpus[0] | [.observed, .observed_at] | @json')" = '[null,null]' ]
# a process planted on the 1g instance, observed again
jq '.gpus[0].processes += [{"pid": 777, "used_mib": 100, "gi": 2}]' "$tmp/state.json" >"$tmp/s2" &&
    mv "$tmp/s2" "$tmp/state.json"
observe
put n1 "$(report_of "$tmp/obs.json")"
call "$OP" GET /v1/nodes/n1
check "a process planted in the sim state is observed on its instance" \
    [ "$(j '[.gpus[0].observed.processes[] | select(.pid == 777) | .gi] | @json')" = '[2]' ]

# ---------------------------------------------------------------- the real agent's report
sed 's/GPU-obs-/GPU-agent-/; s/MIG-obs-/MIG-agent-/' "$tmp/state.json" >"$tmp/agent.json"
"$ALLOT" agent --driver sim --state "$tmp/agent.json" --node n2 --observe >"$tmp/agent_obs.json"
"$ALLOT" agent --driver sim --state "$tmp/agent.json" --node n2 --once --server "$U" \
    --token "$OP" >"$tmp/agent.out" 2>&1
rc=$?
check "allot agent --driver sim --once reports n2" \
    bash -c "[ $rc = 0 ] && grep -q 'reported node n2' '$tmp/agent.out'"
call "$OP" GET /v1/nodes/n2
check "… its two GPUs stored" [ "$(j '[.gpus[].uuid] | @json')" = \
    "$(jq -c '[.gpus[].uuid]' "$tmp/agent_obs.json")" ]
# the agent sends the whole observation once its loop does; until then, no MIG state
check "… any MIG state it sent is the driver's" \
    [ "$(j '[.gpus[].observed | if . == null then null else [.instances[].uuid] end] | @json')" = \
    "$(jq -c '[.gpus[] | [.instances[].uuid]]' "$tmp/agent_obs.json")" -o \
    "$(j '[.gpus[].observed] | unique | @json')" = '[null]' ]
