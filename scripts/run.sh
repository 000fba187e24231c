#!/usr/bin/env bash
# run.sh ALLOT_BINARY — what `make run` starts (after make has built the binary): `allot server`
# on SQLite in a data directory kept from one run to the next (.run/: allot.db, the operator's
# token, the logs), a simulated fleet reported by `allot agent --driver sim` (once, then a
# heartbeat in the background), a simulated MIG node whose own agent applies MIG changes
# (`allot agent --driver sim --state`, the node's token) and a simulated general-pool node,
# both running the node's containers through a container runtime (a private Podman service in
# .run/podman speaking the Docker Engine API; where no container can run, as inside an
# unprivileged container, the `process` runtime, said so), demo prices, a demo org with a prepaid contract and money (a new
# database only), and a printed walk-through. The server stays in the foreground until Ctrl-C
# (or SIGTERM).
#
# It never deletes data. The first run creates the database with `allot server init` and keeps
# the operator's token in .run/operator.token; later runs reuse both. While an instance started
# from the directory is alive (it holds .run/lock, an flock inherited by the server and the
# agent, so it stays held even if this script is killed), a second run says where that one is
# and exits 1 without touching anything. To start from scratch: stop allot, move .run/ away.
#
#   ALLOT_PORT     the port (default: 8080, or the next free one)
#   ALLOT_RUN_DIR  the data directory (default: .run/ in the source tree)
#   ALLOT_RUNTIME  process: the nodes' containers as local commands even where Podman works
set -euo pipefail
# The demo runs what this script says, whatever a machine's /etc/allot/allot.conf holds.
export ALLOT_CONFIG_FILE=none
allot=$(realpath "${1:?usage: run.sh ALLOT_BINARY}")
srv=${ALLOT_SERVER_BIN:-$allot} # the binary serving (the same one, normally)
root=$(cd "$(dirname "$0")/.." && pwd)
data=${ALLOT_RUN_DIR:-$root/.run}
fleet=$root/tests/data/demo-fleet.json
token_re='al_[A-Za-z0-9_-]\{43\}'

mkdir -p "$data"
chmod 700 "$data"
data=$(cd "$data" && pwd)
exec 9>>"$data/lock"
if ! flock -n 9; then
    url=$(cat "$data/url" 2>/dev/null || echo "(URL unknown: see $data/server.log)")
    pid=$(cat "$data/server.pid" 2>/dev/null || echo "?")
    cat >&2 <<TXT
run.sh: allot is already running from $data at $url (server pid $pid).
Nothing was started and nothing was changed. Use the running one:
  export ALLOT_SERVER=$url ALLOT_TOKEN=\$(cat $data/operator.token)
or stop it first (Ctrl-C where it runs, or kill $pid), then run again.
TXT
    exit 1
fi

# From here on this script owns the directory (fd 9, inherited by everything it starts).
if [ -e "$data/allot.db" ]; then
    if [ ! -s "$data/operator.token" ]; then
        cat >&2 <<TXT
run.sh: $data/allot.db exists but its operator token ($data/operator.token) does not;
the database keeps only a hash of it, so it cannot be recovered. Nothing was changed.
To start from scratch, move the directory away (mv $data $data.old) and run again.
TXT
        exit 1
    fi
    token=$(cat "$data/operator.token")
    fresh=0
else
    init=$("$srv" server init --db "$data/allot.db" --name demo-operator 2>&1) || {
        printf '%s\n' "$init" >&2
        exit 1
    }
    token=$(grep -o "$token_re" <<<"$init" | head -1)
    [ -n "$token" ] || { echo "run.sh: no operator token in the output of 'allot server init'" >&2; exit 1; }
    (umask 077 && printf '%s\n' "$token" >"$data/operator.token")
    fresh=1
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${ALLOT_PORT:-8080}
if [ -z "${ALLOT_PORT:-}" ]; then
    while port_busy "$port"; do port=$((port + 1)); done
fi
url=http://127.0.0.1:$port

echo "--- run.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): $url" >>"$data/server.log"
"$srv" server --db "$data/allot.db" --listen "127.0.0.1:$port" >>"$data/server.log" 2>&1 &
server=$!
agent=
mig_agent=
pool_agent=
podman=
echo "$server" >"$data/server.pid"
echo "$url" >"$data/url"
cleanup() {
    [ -n "$agent" ] && kill "$agent" 2>/dev/null
    [ -n "$mig_agent" ] && kill "$mig_agent" 2>/dev/null
    [ -n "$pool_agent" ] && kill "$pool_agent" 2>/dev/null
    kill "$server" 2>/dev/null
    wait 2>/dev/null
    # the containers keep running, as under Docker: the agents find them again next time
    [ -n "$podman" ] && "$root/scripts/podman.sh" stop "$data/podman" >/dev/null 2>&1
    rm -f "$data/server.pid" "$data/agent.pid" "$data/mig-agent.pid" "$data/pool-agent.pid" \
        "$data/url"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Up to 60 s: a loaded machine (a build beside it) can be slow to open the database.
for ((i = 0; ; i++)); do
    curl -fsS --max-time 2 "$url/healthz" >/dev/null 2>&1 && break
    if ! kill -0 "$server" 2>/dev/null || [ "$i" -ge 600 ]; then
        tail -20 "$data/server.log" >&2
        echo "run.sh: the server did not start on $url (its log: $data/server.log)" >&2
        exit 1
    fi
    sleep 0.1
done
export ALLOT_SERVER=$url ALLOT_TOKEN=$token
"$allot" user me >/dev/null || {
    echo "run.sh: the database in $data does not accept the token in $data/operator.token" >&2
    exit 1
}
"$allot" agent --driver sim --fleet "$fleet" --once
# demo prices (USD per hour: a dedicated GPU, a MIG compute slice, a general-pool GPU);
# setting them again changes nothing
while read -r model gpu slice pool; do
    "$allot" price set "$model" --gpu-hour "$gpu" --mig-slice-hour "$slice" \
        --pool-gpu-hour "$pool" >/dev/null
done <<'PRICES'
H100-80GB 2.50 0.40 3.00
A100-80GB 1.80 0.30 2.20
A30-24GB 0.90 0.25 1.10
L40S-48GB 1.10 0 1.40
H200-141GB 3.20 0.50 3.80
PRICES
# The demo org acme (README's quickstart reserves for it) with a demo contract, prepaid with a
# credit limit of 1,000.00 for a year, self-service allowed (its admin reserves in one call),
# and a top-up of 50,000.00: on a new database only (a
# later run keeps what the previous one left, balance included).
if [ "$fresh" = 1 ]; then
    "$allot" org create acme --customer-code ACME --display-name "Acme Research" >/dev/null
    "$allot" contract create --org acme --terms prepaid --valid-to +365d --credit-limit 1000 \
        --self-service >/dev/null
    "$allot" org topup acme 50000 --reference "demo top-up" --idempotency-key demo-topup >/dev/null
fi
# The heartbeat runs with its own agent-role token, not the operator's, kept for later runs
# (a new one when the kept one is missing or belongs to a database that is gone).
if ! ALLOT_TOKEN=$(cat "$data/agent.token" 2>/dev/null) "$allot" user me >/dev/null 2>&1; then
    name=sim-agent
    [ "$fresh" = 1 ] || name=sim-agent-$(date +%s)
    agent_token=$("$allot" user create "$name" --role agent | grep -o "$token_re" | head -1)
    (umask 077 && printf '%s\n' "$agent_token" >"$data/agent.token")
fi
# 9>&-: the lock stays with the server; an agent orphaned by a kill -9 of this script would
# otherwise keep the directory locked after the server is gone.
ALLOT_TOKEN=$(cat "$data/agent.token") "$allot" agent --driver sim --fleet "$fleet" --interval 15 \
    >>"$data/agent.log" 2>&1 9>&- &
agent=$!
echo "$agent" >"$data/agent.pid"
# The nodes' container runtime: a private Podman service in .run/podman (the Docker Engine API
# over .run/podman/podman.sock, the busybox image localhost/bb:latest built there), shared by
# the two nodes' agents; where no container can run here (inside an unprivileged container runc
# cannot mount /proc), the `process` runtime: each container a local command.
# 9>&-: the service outlives this script; it must not hold the directory's lock
why=
if [ "${ALLOT_RUNTIME:-}" = process ]; then
    why="ALLOT_RUNTIME=process"
elif why=$("$root/scripts/podman.sh" probe "$data/podman" 2>&1 9>&-) &&
    "$root/scripts/podman.sh" start "$data/podman" >>"$data/podman-start.log" 2>&1 9>&-; then
    podman=1
fi
if [ -n "$podman" ]; then
    runtime="docker-api:$data/podman/podman.sock"
    runtime_what="Podman ($data/podman/podman.sock), image localhost/bb:latest"
else
    runtime="process:$data/containers"
    runtime_what="process (${why:-Podman did not start: $data/podman-start.log}; each container is a local command)"
fi
# node_agent NAME SEED LOG [ARGS…]: simulated node NAME's agent in the background, its GPUs
# in .run/NAME.json (SEED's copy the first time, kept from one run to the next, as a GPU keeps
# its layout), running with the node's own token (.run/NAME.token; a new one when the kept one
# no longer works) and the container runtime; its pid in $last_agent.
node_agent() {
    local name=$1 seed=$2 log=$3 tok
    shift 3
    [ -e "$data/$name.json" ] || cp "$seed" "$data/$name.json"
    if ! ALLOT_TOKEN=$(cat "$data/$name.token" 2>/dev/null) "$allot" node show "$name" \
        >/dev/null 2>&1; then
        tok=$("$allot" node token "$name" | grep -o "$token_re" | head -1)
        (umask 077 && printf '%s\n' "$tok" >"$data/$name.token")
    fi
    ALLOT_TOKEN=$(cat "$data/$name.token") "$allot" agent --driver sim --state "$data/$name.json" \
        --node "$name" --interval 2 --runtime "$runtime" "$@" >>"$data/$log" 2>&1 9>&- &
    last_agent=$!
}
# The demo MIG node mig-h200: one H200-141GB split into seven 1g.18gb. Its agent reports the
# GPU's MIG state and applies the MIG changes an operator approves (README's quickstart); its
# results wait in .run/mig-h200.journal while the server is away.
node_agent mig-h200 "$root/tests/data/demo-mig-node.json" mig-agent.log \
    --journal "$data/mig-h200.journal"
mig_agent=$last_agent
echo "$mig_agent" >"$data/mig-agent.pid"
# The demo general-pool node pool-h100: two whole H100-80GB for pay-as-you-go containers
# (`allot pool`).
node_agent pool-h100 "$root/tests/data/demo-pool-node.json" pool-agent.log --pool general
pool_agent=$last_agent
echo "$pool_agent" >"$data/pool-agent.pid"
# their first reports, so that the walk-through below finds the nodes and their runtime (up
# to 30 s)
runtime_up() {
    "$allot" node show "$1" -o json 2>/dev/null | jq -e '.container_runtime.ok' >/dev/null
}
for ((i = 0; i < 300; i++)); do
    runtime_up mig-h200 && runtime_up pool-h100 && break
    sleep 0.1
done

if [ "$fresh" = 1 ]; then
    what="a new database; the operator's token is kept in $data/operator.token"
else
    what="the data of the previous run (to start from scratch: stop allot, move $data away)"
fi
# The walk-through is README.md's quickstart (one text to keep true; tests/integration/
# make_run.sh runs it), with its first two lines, which find the URL, the token and the binary
# from the source tree, written out.
walk=$(awk '/^## Quickstart/ { q = 1; next } q && /^    / { print; b = 1; next } b { exit }' \
    "$root/README.md" | tail -n +3 | sed 's/^    /  /')
cat <<TXT

allot is running on $url, Ctrl-C stops it.
  data:           $data: $what
  dashboard:      $url/  (opens logged out: paste the operator token below to log in)
  API:            $url/v1/  (health: $url/healthz)
  server log:     $data/server.log (tail -f it to watch the calls)
  agents' logs:   $data/agent.log (the fleet), $data/mig-agent.log (the MIG node mig-h200),
                  $data/pool-agent.log (the general-pool node pool-h100)
  containers:     $runtime_what
  operator token: $token

Try this, in another shell (README.md, "Quickstart", explains each step):
  export ALLOT_SERVER=$url ALLOT_TOKEN=$token
  A=$allot
$walk

MIG works the same way (--kind mig --model A100-80GB --profile 3g.40gb --count 2);
every command takes -o json, and --help.
TXT
wait "$server"
