#!/usr/bin/env bash
# agent_loop.sh — the node agent's reconcile loop (`allot agent --driver sim --state FILE`,
# docs/agent.md) against a real server, with the node's own token: a reservation of a MIG
# instance gets a change planned, an operator applies it and the agent makes it (the sim
# state file shows the instance, the change is applied with its MIG UUID, the GPU's desired
# layout is `to`); the agent started while the server is away backs off (a line per failed
# round, not a flood) and, when the server is back, applies the change approved meanwhile;
# never twice (start and result answer 409 once applied); a simulated reboot (every instance
# lost) and an agent restart converge to the desired layout, destroying nothing; an agent
# token cannot report another node; a result kept in the journal while the server was away is
# delivered first when it returns.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_agent_loop.XXXXXX)
pid=
agent_pid=
cleanup() {
    reap "$agent_pid"
    reap -KILL "$pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(($(date +%s) / 3600 * 3600))
DAY=86400
M=1000000
VT=$(ts $((T0 + 400 * DAY)))
write_clock "$T0"
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts" start_clocked_server 200

S=$tmp/state.json
cat >"$S" <<'JSON'
{"gpus":[{"index":0,"model":"H100-80GB","uuid":"GPU-loop-h100-0","mig":{"current":true}}]}
JSON
call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
N1=$(j .token)
must "n1's agent token" [ "${N1:0:3}" = al_ ]

# agent_start: the loop in the background, every second, its lines in $tmp/agent.log
agent_start() {
    "$ALLOT" agent --driver sim --state "$S" --node n1 --server "$U" --token "$N1" \
        --interval 1 --journal "$tmp/journal.json" >>"$tmp/agent.log" 2>&1 &
    agent_pid=$!
}
agent_stop() {
    reap "$agent_pid"
    agent_pid=
}
sim_layout() { jq -r '[.gpus[0].instances[]? | "\(.profile)@\(.start)"] | join(",")' "$S"; }
change_state() { # change_state ID → its state
    local b=$body c=$code
    call "$OP" GET "/v1/mig-changes/$1"
    j .state
    body=$b code=$c
}
is_state() { [ "$(change_state "$1")" = "$2" ]; }
reported() { # the server shows n1's GPU as managed (observed set)
    call "$OP" GET /v1/nodes/n1
    [ "$(j '.gpus[0].observed != null')" = true ]
}
first_change() { # first_change STATE PROFILE → in $CH: n1's first change in STATE creating PROFILE
    call "$OP" GET "/v1/mig-changes?node=n1&state=$1"
    CH=$(jq -r --arg p "$2" '[.items[] | select([.to.instances[].profile] | index($p))][0].id // empty' <<<"$body")
    [ -n "$CH" ]
}

# ---------------------------------------------------------------- another node
"$ALLOT" agent --driver sim --state "$S" --node n2 --server "$U" --token "$N1" --once \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
check "an agent token cannot report another node (exit 1, the server's 404)" \
    [ "$rc" = 1 -a "$(grep -c 'not_found' "$tmp/err")" -ge 1 ]

# ---------------------------------------------------------------- a change applied
agent_start
must "the agent reports n1 with its MIG state" wait_until 20 reported
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$M}"
org acme
contract acme prepaid '"credit_limit_micros":0' || exit 1
topup acme $((5000 * M)) acme-1
reserve acme "$ADMIN" "$(mig 3g.40gb 1 $((T0 + DAY)) $((T0 + 2 * DAY)))" || exit 1
must "the planner plans a change for n1's GPU" wait_until 20 first_change planned 3g.40gb
C1=$CH
call "$OP" GET "/v1/mig-changes/$C1"
check "… from the empty layout to one 3g.40gb" \
    [ "$(j '"\(.from.instances | length) \(.to.instances[0].profile)"')" = "0 3g.40gb" ]
call "$OP" POST "/v1/mig-changes/$C1/apply" '{"force":true,"reason":"agent loop test"}'
expect "an operator applies it" 200
check "the agent applies it: the change is applied" wait_until 20 is_state "$C1" applied
check "… the sim GPU has the instance" [ "$(sim_layout)" = 3g.40gb@0 -o "$(sim_layout)" = 3g.40gb@4 ]
UUID1=$(jq -r '.gpus[0].instances[0].uuid' "$S")
call "$OP" GET "/v1/mig-changes/$C1"
check "… its result names the instance's MIG UUID" [ "$(j '.result.instances[0].uuid')" = "$UUID1" ]
call "$OP" GET /v1/nodes/n1
DESIRED=$(j '.gpus[0].desired.instances[0] | "\(.profile)@\(.start)"')
check "… the GPU's desired layout is the change's to" [ "$DESIRED" = "$(sim_layout)" ]
check "… the agent said what it did" grep -q "change $C1 on GPU 0: applied" "$tmp/agent.log"

# ---------------------------------------------------------------- never twice
call "$N1" POST "/v1/mig-changes/$C1/start" '{}'
expect "start of an applied change → 409" 409
call "$N1" POST "/v1/mig-changes/$C1/result" "{\"ok\":true,\"mig\":true,\"instances\":[]}"
expect "a second result → 409" 409
sleep 2
check "the agent did not apply it again (the same MIG UUID)" \
    [ "$(jq -r '.gpus[0].instances[0].uuid' "$S")" = "$UUID1" ]

# ---------------------------------------------------------------- a reboot, an agent restart
agent_stop
jq '.gpus[0].instances = [] | .gpus[0].processes = []' "$S" >"$S.new" && mv "$S.new" "$S"
: >"$tmp/agent.log"
agent_start
has_layout() { [ -n "$(sim_layout)" ]; }
check "after a reboot the restarted agent recreates the desired layout" wait_until 20 has_layout
check "… the same instance, a new MIG UUID" \
    [ "$(sim_layout)" = "$DESIRED" -a \
    "$(jq -r '.gpus[0].instances[0].uuid' "$S")" != "$UUID1" ]
check "… and says so" grep -q "recreated 3g.40gb" "$tmp/agent.log"
observed_n() { # observed_n N: the server shows n1's GPU with N instances observed
    call "$OP" GET /v1/nodes/n1
    [ "$(j '.gpus[0].observed.instances | length')" = "$1" ]
}
check "… and reports it" wait_until 20 observed_n 1

# ---------------------------------------------------------------- the server away
agent_stop
port2=$port
stop_server
: >"$tmp/agent.log"
agent_start
sleep 12
lines=$(grep -c "the server is away" "$tmp/agent.log")
# every second without backoff: 12 lines; with waits drawn from 1, 1-2, 1-4, 1-8, 1-16 s… more
# than 8 rounds in 12 s is all but impossible
check "the server away: the agent backs off, one line per failed round ($lines in 12 s)" \
    [ "$lines" -ge 2 -a "$lines" -le 8 ]
check "… jittered waits within the cap" \
    grep -qE "the server is away \(try [0-9]+\), next in [0-9]+ s" "$tmp/agent.log"
port=$port2
mark=$(wc -l <"$tmp/server.log")
must "the server is back" start_clocked_server 200
reported_since() { # the access log's line of a heartbeat (JSON, on stderr: --access-log -)
    tail -n +"$((mark + 1))" "$tmp/server.log" |
        grep -q '"method":"PUT","path":"/v1/nodes/n1","route":"/v1/nodes/\*","status":200'
}
check "the agent reports again when the server is back (within the 60 s cap)" \
    wait_until 70 reported_since
agent_stop

# ---------------------------------------------------------------- a result held in the journal
# An agent stopped after applying a change, before the server took the result (the journal
# holds it): restarted, it delivers it first, and does not apply the change again.
reserve acme "$ADMIN" "$(mig 1g.10gb 1 $((T0 + DAY)) $((T0 + 2 * DAY)))" || exit 1
must "a second change planned" wait_until 20 first_change planned 1g.10gb
C2=$CH
call "$OP" POST "/v1/mig-changes/$C2/apply" '{"force":true,"reason":"agent loop test"}'
expect "an operator applies the second change" 200
call "$N1" POST "/v1/mig-changes/$C2/start" '{}'
expect "… taken as an agent would (applying)" 200
call "$OP" GET "/v1/mig-changes/$C2"
to=$(jq -c .to <<<"$body")
# the sim made the to layout; the journal holds the result an agent would have sent
jq --argjson to "$to" '.gpus[0].instances = [$to.instances | to_entries[] |
    {gi: (.key + 1), profile: .value.profile, start: .value.start}]' "$S" >"$S.new" &&
    mv "$S.new" "$S"
"$ALLOT" agent --driver sim --state "$S" --observe >"$tmp/obs.json"
jq -c --arg id "$C2" '{results: [{change: $id, body: {ok: true, mig: true,
    instances: [.gpus[0].instances[] | {gi, ci, profile_id, start, uuid}]}}]}' \
    "$tmp/obs.json" >"$tmp/journal.json"
check "… the journal holds its result" [ "$(jq '.results | length' "$tmp/journal.json")" = 1 ]
before=$(jq -c '[.gpus[0].instances[].uuid]' "$S")
: >"$tmp/agent.log"
agent_start
check "the held result is delivered: the change is applied" wait_until 20 is_state "$C2" applied
check "… the journal is empty" wait_until 5 test "$(jq '.results | length' "$tmp/journal.json")" = 0
check "… nothing was applied again (the same MIG UUIDs)" \
    [ "$(jq -c '[.gpus[0].instances[].uuid]' "$S")" = "$before" ]
agent_stop
