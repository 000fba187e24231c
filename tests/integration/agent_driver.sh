#!/usr/bin/env bash
# agent_driver.sh — `allot agent` through a GPU driver (agent/driver.h): the flags and their
# refusals; `--driver sim --state FILE` observes a simulated node (MIG mode, instances with their
# MIG UUIDs, processes) and heartbeats it to a real server under --node; a bad state file is
# refused before anything is sent, naming the field; `--driver nvml` on a host without the
# NVIDIA driver says "libnvidia-ml.so.1 not found" (on a GPU host: observes it, read-only), and
# `ldd allot` never shows libnvidia-ml (it is loaded with dlopen).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_agent_driver.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    reap "$pid"
    rm_tmp
}
trap cleanup EXIT

# run_agent EXPECTED_EXIT DESC ARGS… : the agent's exit status, its stdout in $tmp/out and
# stderr in $tmp/err
run_agent() {
    local want=$1 d=$2 rc
    shift 2
    "$ALLOT" agent "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$d"; else nok "$d (exit $rc, want $want: $(head -c 300 "$tmp/err"))"; fi
}
has() { # has DESC FILE TEXT
    if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1 ($(head -c 300 "$2"))"; fi
}

cat >"$tmp/state.json" <<'JSON'
{"gpus":[
 {"index":0,"model":"H100-80GB","uuid":"GPU-sim-h100-0000","mig":{"current":true},
  "instances":[{"gi":1,"profile":"3g.40gb","start":0,"uuid":"MIG-sim-3g-0001"},
               {"gi":2,"profile":"1g.10gb","start":6}],
  "processes":[{"pid":4242,"used_mib":2048,"gi":1}]},
 {"index":1,"model":"A100-80GB","uuid":"GPU-sim-a100-0001"}]}
JSON

# ---------------------------------------------------------------- flags
run_agent 2 "agent: --driver cuda → 2" --driver cuda --state "$tmp/state.json" --observe
run_agent 2 "agent: --fleet and --state together → 2" --fleet x --state "$tmp/state.json" --once
run_agent 2 "agent: --driver nvml with --state → 2" --driver nvml --state "$tmp/state.json"
run_agent 2 "agent: --driver sim needs --fleet or --state → 2" --driver sim --once
run_agent 2 "agent: --observe of a fleet file → 2" --fleet "$tmp/state.json" --observe
run_agent 2 "agent: a node name the server would refuse → 2" \
    --state "$tmp/state.json" --node 'bad name' --observe

# ---------------------------------------------------------------- the sim driver observed
run_agent 0 "agent: --driver sim --state --observe → 0" --driver sim --state "$tmp/state.json" --observe
obs=$tmp/out
check "observed: the driver and 2 GPUs" \
    test "$(jq -r '.driver + " " + (.gpus | length | tostring)' "$obs")" = "sim 2"
check "observed: GPU 0's MIG mode is on" test "$(jq -r '.gpus[0].mig.current' "$obs")" = true
check "observed: its instances with their MIG UUIDs and placements" \
    test "$(jq -r '[.gpus[0].instances[] | "\(.profile)@\(.start):\(.uuid[0:4])"] | join(",")' "$obs")" = \
    "3g.40gb@0:MIG-,1g.10gb@6:MIG-"
check "observed: the planted MIG UUID as planted" \
    test "$(jq -r '.gpus[0].instances[0].uuid' "$obs")" = MIG-sim-3g-0001
check "observed: the process on GPU instance 1" \
    test "$(jq -r '.gpus[0].processes[0] | "\(.pid) \(.gi) \(.used_memory_mib)"' "$obs")" = "4242 1 2048"
check "observed: profiles with NVML ids and placements (3g.40gb is id 9 at 0 and 4)" \
    test "$(jq -r '.gpus[0].profiles[] | select(.name == "3g.40gb") | "\(.id) \([.placements[].start] | join(","))"' "$obs")" = "9 0,4"

# ---------------------------------------------------------------- refused before sending
echo '{"gpus":[{"model":"H100-80GB","mig":{"current":true},"instances":[{"gi":1,"profile":"3g.40gb","start":2}]}]}' >"$tmp/bad.json"
run_agent 2 "agent: a state file with an instance at a start NVML refuses → 2" \
    --state "$tmp/bad.json" --node n1 --once --server http://127.0.0.1:8
has "agent: the message names the field" "$tmp/err" "gpus[0].instances: 3g.40gb@2"

# ---------------------------------------------------------------- nvml: absent here, or read-only
if ldd "$ALLOT" | grep -q libnvidia-ml; then
    nok "ldd allot does not show libnvidia-ml ($(ldd "$ALLOT" | grep libnvidia-ml))"
else
    ok "ldd allot does not show libnvidia-ml (dlopen at run time)"
fi
"$ALLOT" agent --driver nvml --node n1 --observe >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ]; then # a GPU host: read-only observation
    check "nvml: a GPU host observed (read-only)" test "$(jq -r .driver "$tmp/out")" = nvml
    sed 's/^/# /' "$tmp/out" | head -60
else
    check "nvml: no NVIDIA driver here → exit 2" test "$rc" = 2
    has "nvml: the message says libnvidia-ml.so.1 not found" "$tmp/err" \
        "libnvidia-ml.so.1 not found"
fi

# ---------------------------------------------------------------- the heartbeat of a sim node
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
if ! start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"; then
    nok "server starts"
    exit 1
fi
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AG=$(j .token)
ALLOT_SERVER=$U ALLOT_TOKEN=$AG run_agent 0 "agent: --state --node n1 --once reports the node" \
    --state "$tmp/state.json" --node n1 --once
has "agent: says what it reported" "$tmp/out" "reported node n1, 2 GPUs (sim driver)"
call "$OP" GET /v1/nodes/n1
check "server: node n1 has the 2 simulated GPUs with their uuids" \
    test "$code $(j '[.gpus[].uuid] | sort | join(",")')" = "200 GPU-sim-a100-0001,GPU-sim-h100-0000"
# the GPU turns unhealthy in the state file: the next heartbeat says so
jq '.gpus[1].healthy = false' "$tmp/state.json" >"$tmp/s2" && mv "$tmp/s2" "$tmp/state.json"
ALLOT_SERVER=$U ALLOT_TOKEN=$AG run_agent 0 "agent: a second heartbeat" \
    --state "$tmp/state.json" --node n1 --once
call "$OP" GET /v1/nodes/n1
check "server: the GPU the state file marks unhealthy is reported so" \
    test "$(j '.gpus[] | select(.uuid == "GPU-sim-a100-0001") | .healthy')" = false
ALLOT_SERVER=http://127.0.0.1:8 ALLOT_TOKEN=$AG run_agent 3 "agent: unreachable server → 3" \
    --state "$tmp/state.json" --node n1 --once
