#!/usr/bin/env bash
# run.sh ALLOT_BINARY — what `make run` starts (after make has built the binary): a fresh data
# directory (.run/), `allot server init` (the demo operator), `allot server` on SQLite, a
# simulated fleet reported by `allot agent --driver sim` (once, then a heartbeat in the
# background), and a printed walk-through. The server stays in the foreground until Ctrl-C.
# ALLOT_PORT picks the port (default: 8080, or the next free one).
set -euo pipefail
allot=$(realpath "${1:?usage: run.sh ALLOT_BINARY}")
srv=${ALLOT_SERVER_BIN:-$allot} # the binary serving (the same one, normally)
root=$(cd "$(dirname "$0")/.." && pwd)
data=$root/.run
fleet=$root/tests/data/demo-fleet.json

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${ALLOT_PORT:-8080}
if [ -z "${ALLOT_PORT:-}" ]; then
    while port_busy "$port"; do port=$((port + 1)); done
fi
url=http://127.0.0.1:$port

rm -rf "$data"
mkdir -p "$data"
chmod 700 "$data"
"$srv" server init --db "$data/allot.db" --name demo-operator >"$data/init.out"
token=$(grep -o 'al_[A-Za-z0-9_-]\{43\}' "$data/init.out" | head -1)
[ -n "$token" ] || { echo "run.sh: no operator token in the output of 'allot server init'" >&2; exit 1; }
printf '%s\n' "$token" >"$data/operator.token"
chmod 600 "$data/operator.token" "$data/init.out"

"$srv" server --db "$data/allot.db" --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
server=$!
agent=
cleanup() {
    [ -n "$agent" ] && kill "$agent" 2>/dev/null
    kill "$server" 2>/dev/null
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 0' INT TERM

for _ in $(seq 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$data/server.log" >&2; echo "run.sh: the server exited" >&2; exit 1; }
    sleep 0.1
done
export ALLOT_SERVER=$url ALLOT_TOKEN=$token
"$allot" agent --driver sim --fleet "$fleet" --once
# demo prices (USD per hour; MIG per compute slice-hour)
while read -r model gpu slice; do
    "$allot" price set "$model" --gpu-hour "$gpu" --mig-slice-hour "$slice" >/dev/null
done <<'PRICES'
H100-80GB 2.50 0.40
A100-80GB 1.80 0.30
A30-24GB 0.90 0.25
L40S-48GB 1.10 0
PRICES
# the heartbeat runs with its own agent-role token, not the operator's
agent_token=$("$allot" user create sim-agent --role agent | grep -o 'al_[A-Za-z0-9_-]\{43\}' | head -1)
ALLOT_TOKEN=$agent_token "$allot" agent --driver sim --fleet "$fleet" --interval 15 \
    >"$data/agent.log" 2>&1 &
agent=$!

start=$(date -u -d '+1 day' +%Y-%m-%dT00:00:00Z)
end=$(date -u -d '+8 days' +%Y-%m-%dT00:00:00Z)
cat <<TXT

allot is running (data in $data, Ctrl-C stops it).
  API:            $url/v1/  (health: $url/healthz; the browser dashboard is not built yet)
  server log:     $data/server.log (tail -f it to watch the calls)
  operator token: $token   (also in .run/operator.token)

Try this, in another shell:
  export ALLOT_SERVER=$url ALLOT_TOKEN=$token
  A=$allot
  \$A availability --model H100-80GB --start $start --end $end
  \$A org create acme --customer-code ACME --display-name "Acme Research"
  \$A user create alice --role org_admin --org acme     # prints alice's token
  \$A request create --org acme --kind gpu --model H100-80GB --count 8 --same-node \\
      --start $start --end $end --image nvcr.io/nvidia/pytorch:24.05-py3 --workload "LLM fine-tune"
  \$A request quote REQ_ID                              # placement, cost, a hold until valid_until
  \$A request approve REQ_ID
  ALLOT_TOKEN=ALICE_TOKEN \$A request accept REQ_ID     # the org admin accepts
  \$A request confirm REQ_ID --payment-terms invoiced   # creates the reservation
  \$A reservation list ; \$A events ; \$A price list
  (MIG: --kind mig --model A100-80GB --profile 3g.40gb --count 2; every command takes -o json.)
TXT
wait "$server"
