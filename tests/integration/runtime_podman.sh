#!/usr/bin/env bash
# runtime_podman.sh — the agent's container runtimes (src/agent/runtime.h) and its containers
# round (src/agent/agentctr.h) against the real thing, driven by runtime_tool (built beside
# allot from tests/integration/runtime_tool.c; each call a fresh process, as a restarted agent):
#   - process: a local command sees exactly CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES =
#     its device and none of the agent's environment; its log, exit code and stop; what an agent
#     restarted reads back, and what it cannot know (its supervisor killed too);
#   - docker-api, against a real Podman service (scripts/podman.sh start in a temp dir, the
#     busybox image built there): a busybox container sees exactly NVIDIA_VISIBLE_DEVICES=
#     MIG-<uuid>, carries its labels and no network; its logs (stdout and stderr demultiplexed,
#     invalid UTF-8 and NUL made '?'), exit code, stop; found again by label after a restart;
#     the agent's round (create and start, stop, missing, failed naming the field, the
#     containers allot no longer wants removed); the socket vanishing (the service stopped:
#     a clear error naming the socket, the round reports ok false and touches nothing) and
#     coming back (the same containers found, the round reconciles as usual).
# Where `scripts/podman.sh probe` says no container can run here (inside an unprivileged
# container runc cannot mount /proc), each docker-api check prints "skip - CHECK: REASON":
# neither passed nor failed (scripts/run-tests.sh counts and shows them as skipped).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, jq, curl, podman, runc, busybox.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tool=${RUNTIME_TOOL:-$(dirname "$ALLOT")/runtime_tool}
tmp=$(mktemp -d /tmp/allot_rtpod.XXXXXX)
pmdir=$tmp/pm
sock=$pmdir/podman.sock
bg=

# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"

pid=
cleanup() {
    reap "$bg"
    reap "$pid"
    # a suite ended half-way leaves no container running behind the service it stops
    if [ -S "$sock" ]; then
        rt list 2>/dev/null | jq -r '.[].id' 2>/dev/null | while read -r c; do rt remove "$c"; done
    fi
    "$root/scripts/podman.sh" stop "$pmdir" >/dev/null 2>&1
    rm_tmp
}
trap cleanup EXIT

must "runtime_tool is built ($tool)" test -x "$tool"

pr() { "$tool" "process:$tmp/proc" "$@"; }
rt() { "$tool" "docker-api:$sock" "$@"; }
# state_is FN ID STATE: the runtime FN (pr or rt) says ID is in STATE
state_is() { [ "$("$1" inspect "$2" 2>/dev/null | jq -r .state)" = "$3" ]; }
# has DESC FILE TEXT / lacks DESC FILE TEXT
has() { if grep -qF -- "$3" "$2"; then ok "$1"; else nok "$1 ($(head -c 300 "$2"))"; fi; }
lacks() { if grep -qF -- "$3" "$2"; then nok "$1 ($(head -c 300 "$2"))"; else ok "$1"; fi; }
jqe() { jq -e "$@" >/dev/null; }
# eq DESC GOT WANT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1 (got '$2', want '$3')"; fi; }

# ---------------------------------------------------------------- process
dev=MIG-4f2c8a1e-0b7d-5e3a-9c61-2d8e7f1a3b5c
pr create ctr_00000000000000p1 unused "$dev" FOO=bar -- \
    sh -c 'env | sort; echo to-stderr >&2; printf "\377\000x\n"; exit 3' >"$tmp/out" 2>&1
check "process: create" test "$(cat "$tmp/out")" = ctr_00000000000000p1
ALLOT_TOKEN=agent-secret pr start ctr_00000000000000p1
check "process: started, it ends by itself" wait_until 30 state_is pr ctr_00000000000000p1 exited
pr logs ctr_00000000000000p1 >"$tmp/plog"
eq "process: it sees CUDA_VISIBLE_DEVICES = its device" \
    "$(grep '^CUDA_VISIBLE_DEVICES=' "$tmp/plog")" "CUDA_VISIBLE_DEVICES=$dev"
eq "process: it sees NVIDIA_VISIBLE_DEVICES = its device" \
    "$(grep '^NVIDIA_VISIBLE_DEVICES=' "$tmp/plog")" "NVIDIA_VISIBLE_DEVICES=$dev"
eq "process: its env, PATH, the devices and nothing of the agent's (no ALLOT_TOKEN)" \
    "$(grep -v -e to-stderr -e 'x$' "$tmp/plog" | cut -d= -f1 | grep -v '^PWD$' | grep -v '^SHLVL$' | tr '\n' ' ')" \
    "CUDA_VISIBLE_DEVICES FOO NVIDIA_VISIBLE_DEVICES PATH "
has "process: stderr in the log" "$tmp/plog" to-stderr
has "process: invalid UTF-8 and NUL as '?'" "$tmp/plog" "??x"
pr inspect ctr_00000000000000p1 >"$tmp/pi"
eq "process: its exit code" "$(jq -r .exit_code "$tmp/pi")" 3
check "process: its start and end times" \
    jqe '(.started_at | test("^[0-9-]{10}T[0-9:]{8}Z$")) and (.finished_at | test("Z$"))' "$tmp/pi"

pr create ctr_00000000000000p2 unused GPU-1 -- sh -c 'echo up; exec sleep 300' >/dev/null
pr start ctr_00000000000000p2
check "process: a long one runs" wait_until 30 state_is pr ctr_00000000000000p2 running
eq "process: an agent restarted lists both, by their ids" \
    "$(pr list | jq -r 'map(.ctr + "=" + .state) | sort | join(" ")')" \
    "ctr_00000000000000p1=exited ctr_00000000000000p2=running"
pr stop ctr_00000000000000p2
pr inspect ctr_00000000000000p2 >"$tmp/pi"
eq "process: stop ends it with SIGTERM (143)" "$(jq -r '.state + " " + (.exit_code|tostring)' "$tmp/pi")" "exited 143"
pr create ctr_00000000000000p3 unused GPU-1 -- /no/such/program >/dev/null
pr start ctr_00000000000000p3 2>"$tmp/err"
has "process: a program that cannot run is refused at start, with exec's reason" "$tmp/err" \
    "exec /no/such/program: No such file or directory"

# The supervisor killed with its command (kill -9 of both, as a reboot would): the state is
# known (ended), the exit code cannot be.
pr create ctr_00000000000000p4 unused GPU-1 -- sleep 300 >/dev/null
pr start ctr_00000000000000p4
p4=$(cut -d' ' -f1 "$tmp/proc/ctr_00000000000000p4/pid")
sup=$(awk '{print $4}' "/proc/$p4/stat")
kill -KILL "$sup" "$p4"
check "process: its supervisor killed too: ended" wait_until 30 state_is pr ctr_00000000000000p4 exited
pr inspect ctr_00000000000000p4 >"$tmp/pi"
check "process: … with no exit code, and an error saying why" \
    jqe '.exit_code == null and (.error | test("without an exit status"))' "$tmp/pi"
for c in p1 p2 p3 p4; do pr remove ctr_00000000000000$c; done
check "process: removed, nothing left" test -z "$(ls -A "$tmp/proc")"

# ---------------------------------------------------------------- allot agent --runtime
# The flags, and the round of a sim node with a runtime against a real server: it reports the
# runtime (the server's side of the report is another change: its answer is not checked here).
run_agent() { # run_agent EXPECTED_EXIT DESC ARGS… : stdout in $tmp/aout, stderr in $tmp/aerr
    local want=$1 d=$2 rc
    shift 2
    ALLOT_SERVER=${U-} ALLOT_TOKEN=${AG-} "$ALLOT" agent "$@" >"$tmp/aout" 2>"$tmp/aerr"
    rc=$?
    if [ "$rc" = "$want" ]; then ok "$d"; else nok "$d (exit $rc, want $want: $(head -c 300 "$tmp/aerr"))"; fi
}
echo '{"gpus":[{"index":0,"model":"H100-80GB","uuid":"GPU-sim-h100-0000"}]}' >"$tmp/state.json"
run_agent 2 "agent: --runtime docker (no socket) → 2" --state "$tmp/state.json" --runtime docker --observe
run_agent 2 "agent: --runtime docker-api:relative → 2" --state "$tmp/state.json" \
    --runtime docker-api:x.sock --observe
run_agent 2 "agent: --gpu-requests without docker-api → 2" --state "$tmp/state.json" \
    --runtime process --gpu-requests --observe
run_agent 2 "agent: --runtime with --fleet → 2" --fleet "$tmp/state.json" --runtime process --once
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server starts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AG=$(j .token)
run_agent 0 "agent --once --runtime process: the round goes on with the runtime" \
    --state "$tmp/state.json" --node n1 --once --runtime "process:$tmp/agentproc"
has "agent: says what the runtime is and that it answers" "$tmp/aout" \
    "container runtime process: ok, 0 containers reported"

# ---------------------------------------------------------------- docker-api (Podman)
checks_podman=(
    "podman: the service starts and answers on its socket"
    "podman: a container sees exactly NVIDIA_VISIBLE_DEVICES=MIG-<uuid>, its labels, no network"
    "podman: logs, exit code, stop, list by label after a restart"
    "podman: the agent's round: create, start, stop, failed, missing, removal"
    "podman: the socket vanishing: a clear error naming it; coming back: recovery"
)
if ! why=$("$root/scripts/podman.sh" probe "$pmdir" 2>&1); then
    why=$(tr '\n' ' ' <<<"${why#no: }" | head -c 300)
    for c in "${checks_podman[@]}"; do echo "skip - $c: no container can run here: $why"; done
    exit 0
fi
ok "podman: probe: a container can run here"

"$root/scripts/podman.sh" start "$pmdir" >"$tmp/out" 2>&1
must "podman: the service starts and prints its socket" test "$(tail -1 "$tmp/out")" = "$sock"
check "podman: ping" rt ping
run_agent 0 "agent --once --runtime docker-api:SOCKET: reaches the service" \
    --state "$tmp/state.json" --node n1 --once --runtime "docker-api:$sock"
has "agent: says the runtime answers" "$tmp/aout" \
    "container runtime docker-api: ok, 0 containers reported"

uuid=MIG-7e1d2c3b-4a59-5f68-8a7b-6c5d4e3f2a1b
rt create ctr_00000000000000d1 localhost/bb:latest "$uuid" FOO=bar -- \
    /bin/sh -c 'env; echo to-stderr >&2; printf "\377\000x\n"; exit 3' >"$tmp/id1" 2>"$tmp/err"
id1=$(cat "$tmp/id1")
check "podman: create gives the runtime's id" grep -qE '^[0-9a-f]{64}$' "$tmp/id1"
curl -s --unix-socket "$sock" "http://d/v1.41/containers/$id1/json" >"$tmp/raw"
eq "podman: its labels are allot's" "$(jq -c '.Config.Labels' "$tmp/raw")" \
    '{"allot.container":"ctr_00000000000000d1","allot.test":"1"}'
eq "podman: no network" "$(jq -r '.HostConfig.NetworkMode' "$tmp/raw")" none
rt start "$id1"
check "podman: started, it ends by itself" wait_until 60 state_is rt "$id1" exited
rt logs "$id1" >"$tmp/log1"
eq "podman: it sees exactly NVIDIA_VISIBLE_DEVICES=$uuid" \
    "$(grep NVIDIA_VISIBLE_DEVICES "$tmp/log1")" "NVIDIA_VISIBLE_DEVICES=$uuid"
has "podman: its env" "$tmp/log1" "FOO=bar"
lacks "podman: no CUDA_VISIBLE_DEVICES (the toolkit's business)" "$tmp/log1" CUDA_VISIBLE_DEVICES
has "podman: logs: stderr demultiplexed with stdout" "$tmp/log1" to-stderr
has "podman: logs: invalid UTF-8 and NUL as '?'" "$tmp/log1" "??x"
rt inspect "$id1" >"$tmp/i1"
eq "podman: its exit code" "$(jq -r .exit_code "$tmp/i1")" 3
check "podman: its start and end times" \
    jqe '(.started_at | test("^[0-9-]{10}T[0-9:]{8}Z$")) and (.finished_at | test("Z$"))' "$tmp/i1"

# A long one. busybox sh as PID 1 ignores SIGTERM: the stop kills it after 10 s.
rt create ctr_00000000000000d2 localhost/bb:latest GPU-1 -- /bin/sh -c 'echo up; sleep 300' >"$tmp/id2"
id2=$(cat "$tmp/id2")
rt start "$id2"
check "podman: a long one runs" wait_until 60 state_is rt "$id2" running
eq "podman: an agent restarted finds both by the label allot.container" \
    "$(rt list | jq -r 'map(.ctr + "=" + .state) | sort | join(" ")')" \
    "ctr_00000000000000d1=exited ctr_00000000000000d2=running"
rt stop "$id2"
rt inspect "$id2" >"$tmp/i2"
check "podman: stopped (killed after the 10 s grace: 137, or 143)" \
    jqe '.state == "exited" and (.exit_code == 137 or .exit_code == 143)' "$tmp/i2"
rt logs "$id2" >"$tmp/log2"
has "podman: the stopped one's logs" "$tmp/log2" up
rt remove "$id1"
rt inspect "$id1" >/dev/null 2>"$tmp/err"
has "podman: removed: the runtime no longer knows it" "$tmp/err" "no such container"

# ---- the agent's round (agent/agentctr.h)
desired() { # desired FILE ENTRY…
    local f=$1
    shift
    printf '%s\n' "$@" | jq -s '{containers: .}' >"$f"
}
ctr() { # ctr ID DESIRED DEVICE CMD [ENV_JSON]
    jq -nc --arg id "$1" --arg d "$2" --arg dev "$3" --arg cmd "$4" --argjson env "${5:-{\}}" \
        '{id: $id, image: "localhost/bb:latest", command: ["/bin/sh", "-c", $cmd], env: $env,
          device: $dev, desired: $d, labels: {"allot.container": $id, "allot.org": "org_a",
          "allot.user": "usr_a", "allot.reservation": "rsv_a"}}'
}
# shellcheck disable=SC2016 # the container's shell expands it
e1=$(ctr ctr_00000000000000e1 run "$uuid" 'echo "dev=$NVIDIA_VISIBLE_DEVICES"; exec sleep 300')
e2=$(ctr ctr_00000000000000e2 run GPU-2 'echo two; exit 4')
bad=$(ctr ctr_00000000000000e3 run GPU-3 'true' '{"NVIDIA_VISIBLE_DEVICES": "all"}')
desired "$tmp/r1.json" "$e1" "$e2" "$bad"
rt round "$tmp/r1.json" >"$tmp/rep1" 2>"$tmp/err1"
r() { jq -r "$1" "$tmp/rep1"; }
eq "round: the runtime is reported ok" "$(r '.runtime | "\(.kind) \(.ok) \(.error)"')" "docker-api true null"
eq "round: a new container created, started and reported running" \
    "$(r '.containers[] | select(.id == "ctr_00000000000000e1") | .state')" running
check "round: … with its runtime id and start time" \
    jqe '.containers[] | select(.id == "ctr_00000000000000e1") |
           (.runtime_id | test("^[0-9a-f]{64}$")) and (.started_at | test("Z$"))' "$tmp/rep1"
eq "round: a container the env would give another device: failed, naming the field" \
    "$(r '.containers[] | select(.id == "ctr_00000000000000e3") | .state + ": " + .error')" \
    "failed: env.NVIDIA_VISIBLE_DEVICES: allot's to set"
check "round: the container that was not desired (ctr_…d2) is removed" \
    test -z "$(rt list | jq -r '.[] | select(.ctr == "ctr_00000000000000d2") | .id')"
check "round: a line for it" grep -q "ctr_00000000000000d2: no longer wanted; removed" "$tmp/err1"
wait_until 60 state_is rt ctr_00000000000000e2 exited
# A second round in another process: an agent restarted finds e1 running, e2 exited with its
# code and logs; e1 then asked to stop.
rt round "$tmp/r1.json" >"$tmp/rep2" 2>/dev/null
eq "round after a restart: e2 exited with its code, and its logs" \
    "$(jq -r '.containers[] | select(.id == "ctr_00000000000000e2") | "\(.state) \(.exit_code) \(.logs)"' "$tmp/rep2")" \
    "exited 4 two"
eq "round: e1's logs show it saw its device" \
    "$(jq -r '.containers[] | select(.id == "ctr_00000000000000e1") | .logs' "$tmp/rep2")" "dev=$uuid"
desired "$tmp/r3.json" "$(jq -c '.desired = "stop"' <<<"$e1")" "$e2"
rt round "$tmp/r3.json" >"$tmp/rep3"
check "round: desired stop: stopped, reported stopped with its logs" \
    jqe '.containers[] | select(.id == "ctr_00000000000000e1") |
           .state == "stopped" and .logs == "dev='"$uuid"'\n" and .finished_at != null' "$tmp/rep3"

# Missing: a container this agent started, removed behind its back between two rounds.
e4=$(ctr ctr_00000000000000e4 run GPU-4 'exec sleep 300')
desired "$tmp/r4.json" "$e4"
rt round "$tmp/r4.json" "wait:$tmp/go4" "$tmp/r4.json" >"$tmp/rep4" 2>"$tmp/err4" &
bg=$!
wait_until 60 test -s "$tmp/rep4"
curl -s -X DELETE --unix-socket "$sock" "http://d/v1.41/containers/ctr_00000000000000e4?force=1" >/dev/null
touch "$tmp/go4"
wait "$bg"
bg=
eq "round: started, then lost by the runtime: reported missing (not started again)" \
    "$(jq -r '.containers[0].state + " " + (.containers[0].error // "")' "$tmp/rep4" | tr '\n' '|')" \
    "running |missing lost by the runtime|"

# ---- the socket vanishing, and coming back, under one agent process
desired "$tmp/r5.json" "$e2"
rt round "$tmp/r5.json" "wait:$tmp/go5a" "$tmp/r5.json" "wait:$tmp/go5b" "$tmp/r5.json" \
    >"$tmp/rep5" 2>"$tmp/err5" &
bg=$!
wait_until 60 test -s "$tmp/rep5"
"$root/scripts/podman.sh" stop "$pmdir"
rt ping 2>"$tmp/err"
has "vanished: a clear error naming the socket" "$tmp/err" \
    "docker-api $sock: connect: No such file or directory"
run_agent 0 "vanished: allot agent --once still reports its node (exit 0)" \
    --state "$tmp/state.json" --node n1 --once --runtime "docker-api:$sock"
has "vanished: allot agent says the runtime is unreachable" "$tmp/aout" \
    "container runtime docker-api: unreachable, 0 containers reported"
has "vanished: … with the error naming the socket" "$tmp/aerr" \
    "docker-api $sock: connect: No such file or directory"
touch "$tmp/go5a"
wait_until 60 test "$(wc -l <"$tmp/rep5")" -ge 2
eq "vanished: the round reports ok false with the error, and no containers" \
    "$(sed -n 2p "$tmp/rep5" | jq -r '"\(.runtime.ok) \(.runtime.error) \(.containers | length)"')" \
    "false docker-api $sock: connect: No such file or directory 0"
"$root/scripts/podman.sh" start "$pmdir" >/dev/null
touch "$tmp/go5b"
wait "$bg"
bg=
eq "back: the next round reaches it and reports its container again" \
    "$(sed -n 3p "$tmp/rep5" | jq -r '"\(.runtime.ok) " + (.containers | map(.id + "=" + .state) | join(","))')" \
    "true ctr_00000000000000e2=exited"
has "back: the agent said it went away" "$tmp/err5" "container runtime docker-api: docker-api $sock: connect"
has "back: … and that it came back" "$tmp/err5" "container runtime docker-api: reachable again"
# An empty desired list: every allot container is removed; the service holds none after.
desired "$tmp/r6.json"
rt round "$tmp/r6.json" >/dev/null 2>&1
eq "round: nothing desired: the runtime holds no allot container" "$(rt list | jq length)" 0
