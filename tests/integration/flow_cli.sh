#!/usr/bin/env bash
# flow_cli.sh — the request → quote → approve → accept → confirm → reservation flow, driven over
# loopback through the CLI ($ALLOT) against a real `allot server` on a temp SQLite database,
# with the refusals: no capacity, quote expired, wrong role, other org, bad input, unreachable.
# Prints "ok - …" / "not ok - …" per check.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
SRV=${ALLOT_SERVER_BIN:-$ALLOT} # the server's binary (the same one, once both are merged)
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
if ! "$SRV" server --help >/dev/null 2>&1; then
    echo "# SKIP: this allot has no 'server' command yet (nothing counted)"
    exit 0
fi
tmp=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

check() { # check WHAT CONDITION... : lib.sh's check, with the last command's rc and stderr
    local what=$1
    shift
    if "$@"; then ok "$what"; else nok "$what (rc=${rc:-}; ${err:-})"; fi
}
refused() { # refused WHAT CODE: the last command exited 1 with the server's CODE on stderr
    if [ "$rc" -eq 1 ] && grep -q "$2" <<<"$err"; then ok "$1"; else nok "$1 (rc=$rc; $err)"; fi
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# run ROLE_TOKEN ARGS… : runs the CLI, keeps stdout in $out, stderr in $err, status in $rc.
run() {
    local tok=$1
    shift
    out=$(ALLOT_TOKEN=$tok "$ALLOT" "$@" 2>"$tmp/err")
    rc=$?
    err=$(cat "$tmp/err")
}
jf() { jq -r "$1" <<<"$out"; } # a field of the last JSON answer

port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768..)
while port_busy "$port"; do port=$((port + 1)); done
export ALLOT_SERVER=http://127.0.0.1:$port ALLOT_CONFIG_DIR=$tmp/config
unset ALLOT_TOKEN

"$SRV" server init --db "$tmp/allot.db" --name ops >"$tmp/init.out" 2>&1
OP=$(grep -o 'al_[A-Za-z0-9_-]\{43\}' "$tmp/init.out" | head -1)
check "server init prints an operator token" test -n "$OP"
# --clock-file: the server's test clock (the file holds a unix time; absent → the real clock)
if start_server "$ALLOT_SERVER" "$tmp/server.log" --db "$tmp/allot.db" \
    --listen "127.0.0.1:$port" --clock-file "$tmp/clock"; then
    server=$server_pid
    ok "server answers /healthz"
else
    server=$server_pid
    nok "server answers /healthz"
    exit 1
fi

# --- login: the token file, mode 0600, used when no token is given --------------------------
run "" login --token "$OP"
check "login as operator" test "$rc" -eq 0
check "login writes the token file with mode 0600" \
    test "$(stat -c %a "$tmp/config/token" 2>/dev/null)" = 600
run "" user me -o json
check "the saved token is used (user me → operator)" test "$(jf .user.role)" = operator
run "al_bogus" user me
refused "a bad token → exit 1, unauthenticated" unauthenticated
check "… with a hint naming where the refused token came from (ALLOT_TOKEN)" \
    grep -q 'hint: the token from ALLOT_TOKEN' <<<"$err"
out=$(ALLOT_CONFIG_DIR=$tmp/no-login ALLOT_TOKEN='' "$ALLOT" user me 2>"$tmp/err")
rc=$? err=$(cat "$tmp/err")
refused "no token at all → exit 1, unauthenticated" unauthenticated
check "… with a hint naming ALLOT_TOKEN and allot login" \
    test "$(grep -c 'no token was given' <<<"$err")" = 1 -a "$(grep -c 'ALLOT_TOKEN' <<<"$err")" -ge 1 \
    -a "$(grep -c 'allot login' <<<"$err")" -ge 1

# --- the fleet, reported by the sim agent ------------------------------------------------------
run "$OP" agent --driver sim --fleet "$AL_ROOT/tests/data/demo-fleet.json" --once
check "agent --once registers the demo fleet" test "$rc" -eq 0
run "$OP" node list -o json
check "node list: 6 nodes, 44 GPUs, online" \
    test "$(jf '.items|length')" = 6 -a "$(jf '[.items[].gpus[]]|length')" = 44 \
    -a "$(jf '[.items[]|select(.online)]|length')" = 6
run "$OP" node show h100-a
check "node show (table) lists the GPUs with their UUIDs" grep -q 'GPU-' <<<"$out"
run "$OP" user create node-agent --role agent -o json
AGT=$(jf .token)
run "$AGT" agent --driver sim --fleet "$AL_ROOT/tests/data/demo-fleet.json" --once
check "an agent-role token can heartbeat the fleet" test "$rc" -eq 0
run "$AGT" org list
check "wrong role: an agent cannot list orgs (forbidden or empty)" \
    test "$rc" -eq 1 -o "$(grep -c org_ <<<"$out")" -eq 0
printf '{"nodes":[{"name":"bad node","gpus":[{"model":"H100-80GB"}]}]}' >"$tmp/bad.json"
run "$OP" agent --driver sim --fleet "$tmp/bad.json" --once
check "agent refuses a bad fleet file (exit 2, names the field)" \
    test "$rc" -eq 2 -a "$(grep -c name <<<"$err")" -gt 0

run "$OP" price set H100-80GB --gpu-hour 2.50 --mig-slice-hour 0.40 -o json
check "operator sets the H100 price (2.50 → 2500000 micros)" test "$(jf .gpu_hour_micros)" = 2500000
run "$OP" price set A100-80GB --gpu-hour 1.80 --mig-slice-hour 0.30
run "$OP" price list
check "price list (table) shows the A100 at 1.80" grep -q 'A100-80GB *1.80' <<<"$out"
run "$OP" price set L40S-48GB --gpu-hour 1.0125 -o json
check "a sub-cent price is kept exactly (1.0125 → 1012500 micros)" test "$(jf .gpu_hour_micros)" = 1012500
run "$OP" price list
check "price list (table) shows 1.0125 exactly, not rounded" grep -q 'L40S-48GB *1.0125' <<<"$out"
run "$OP" price set H100-80GB --gpu-hour 2.5555555
check "price with more than 6 decimals is a usage error" test "$rc" -eq 2

S=$(date -u -d '+2 days' +%Y-%m-%dT00:00:00Z)
E=$(date -u -d '+4 days' +%Y-%m-%dT00:00:00Z)
run "$OP" availability --model H100-80GB --start "$S" --end "$E" -o json
check "availability: 16 H100 free before any reservation" \
    test "$(jf .whole_gpus_free)" = 16 -a "$(jf .total_gpus)" = 16

# --- orgs and users ----------------------------------------------------------------------------
run "$OP" org create acme --customer-code ACME --display-name "Acme Research" -o json
check "operator creates org acme" test "$rc" -eq 0 -a "$(jf .name)" = acme
run "$OP" org create other -o json
# confirmations need a contract in force: acme's is invoiced, without a credit limit
run "$OP" contract create --org acme --terms invoiced --valid-to +1000d -o json
check "operator gives acme an invoiced contract" test "$rc" -eq 0 -a "$(jf .terms)" = invoiced
run "$OP" user create alice --role org_admin --org acme -o json
ALICE=$(jf .token)
check "user create prints alice's token" test "${ALICE#al_}" != "$ALICE"
run "$OP" user create bob --role org_admin --org other -o json
BOB=$(jf .token)
run "$OP" user create mallory --role member --org acme -o json
MEM=$(jf .token)
run "$OP" user create carol --role member --org acme
check "user create (table) shows the token once" grep -q 'token.*al_' <<<"$out"
run "$ALICE" org create evil
refused "wrong role: an org admin cannot create orgs (exit 1, forbidden)" forbidden
run "$BOB" org show acme
refused "other org: bob cannot see acme (not_found)" not_found

# --- bad input ---------------------------------------------------------------------------------
run "$ALICE" request create --org acme --kind gpu --count 2 --start "$S" --end "$E"
refused "bad input: gpu request without model or memory → 400 naming the field" invalid_argument
run "$ALICE" request create --org acme --kind gpu --model H100-80GB --count 2 --start "$E" --end "$S"
refused "bad input: end before start → invalid_argument" invalid_argument
run "$ALICE" request create --org acme --kind gpu --model H100-80GB --count lots
check "bad input: --count lots is a usage error (exit 2)" test "$rc" -eq 2
run "$ALICE" request frobnicate
check "unknown subcommand → exit 2" test "$rc" -eq 2

run "$ALICE" request create --org acme --kind gpu --model A30-24GB --count 1 --start +1d \
    --end +2d -o json
check "relative times (+1d, +2d) become RFC 3339 UTC one day apart" \
    test "$(jf '(.end|fromdate) - (.start|fromdate)')" = 86400
run "$ALICE" request cancel "$(jf .id)"

# --- the flow ----------------------------------------------------------------------------------
run "$ALICE" request create --org acme --kind gpu --model H100-80GB --count 8 --same-node \
    --start "$S" --end "$E" --image nvcr.io/nvidia/pytorch:24.05-py3 --framework pytorch \
    --workload "fine-tune" --usage-window "24/7" --notes "first" --idempotency-key k-r1 -o json
R1=$(jf .id)
check "org admin submits a request (submitted)" test "$rc" -eq 0 -a "$(jf .state)" = submitted
run "$ALICE" request create --org acme --kind gpu --model H100-80GB --count 8 --same-node \
    --start "$S" --end "$E" --image nvcr.io/nvidia/pytorch:24.05-py3 --framework pytorch \
    --workload "fine-tune" --usage-window "24/7" --notes "first" --idempotency-key k-r1 -o json
check "same Idempotency-Key replays the first answer (same id)" test "$(jf .id)" = "$R1"
run "$MEM" request create --org acme --kind gpu --model H100-80GB --count 1 --start "$S" --end "$E"
refused "wrong role: a member cannot submit requests (forbidden)" forbidden
run "$BOB" request show "$R1"
refused "other org: bob cannot see acme's request (not_found)" not_found
run "$ALICE" request quote "$R1"
refused "wrong role: an org admin cannot quote (forbidden)" forbidden
run "$OP" request quote "$R1" -o json
check "operator quotes: fits, 8 allocations, a price" \
    test "$(jf .state)" = quoted -a "$(jf '.quote.allocations|length')" = 8 \
    -a "$(jf '.quote.total_micros > 0')" = true
check "same-node: all 8 GPUs on one node" test "$(jf '[.quote.allocations[].node]|unique|length')" = 1
run "$OP" availability --model H100-80GB --start "$S" --end "$E" -o json
check "the quote's tentative hold shows in availability (8 free)" test "$(jf .whole_gpus_free)" = 8
run "$OP" request show "$R1"
check "request show (table) lists the allocations" grep -q 'allocations' <<<"$out"
check "request show (table) prints money in currency units, labelled without _micros" \
    test "$(grep -c '^quote.total: [0-9]*\.[0-9][0-9]' <<<"$out")" = 1 -a "$(grep -c '_micros' <<<"$out")" = 0
run "$ALICE" request accept "$R1"
refused "accept before approval → invalid_state" invalid_state
run "$OP" request approve "$R1" -o json
check "operator approves" test "$rc" -eq 0 -a "$(jf .state)" = approved
run "$BOB" request accept "$R1"
refused "other org: bob cannot accept acme's quote (not_found)" not_found
run "$ALICE" request accept "$R1" -o json
check "org admin accepts" test "$rc" -eq 0 -a "$(jf .state)" = accepted
run "$ALICE" request confirm "$R1"
refused "wrong role: an org admin cannot confirm (forbidden)" forbidden
run "$OP" request confirm "$R1" --payment-terms invoiced -o json
RSV=$(jf .id)
check "operator confirms → a scheduled reservation with 8 GPUs" \
    test "$rc" -eq 0 -a "$(jf .state)" = scheduled -a "$(jf '.allocations|length')" = 8
run "$ALICE" reservation list -o json
check "alice lists acme's reservation" test "$(jf "[.items[].id]|index(\"$RSV\") != null")" = true
run "$ALICE" reservation list
check "reservation list (table) shows it" grep -q "$RSV" <<<"$out"
run "$BOB" reservation show "$RSV"
refused "other org: bob cannot see acme's reservation (not_found)" not_found
run "$BOB" reservation list -o json
check "other org: bob's reservation list is empty" test "$(jf '.items|length')" = 0
run "$OP" availability --model H100-80GB --start "$S" --end "$E" -o json
check "after confirmation 8 H100 are left in the window" test "$(jf .whole_gpus_free)" = 8

# --- no capacity -------------------------------------------------------------------------------
run "$ALICE" request create --org acme --kind gpu --model H100-80GB --count 9 --start "$S" \
    --end "$E" -o json
R2=$(jf .id)
run "$OP" request quote "$R2"
refused "no capacity: 9 H100 when 8 are left → exit 1, no_capacity" no_capacity
run "$OP" request show "$R2" -o json
check "a refused quote leaves the request submitted" test "$(jf .state)" = submitted
run "$ALICE" request cancel "$R2" -o json
check "org admin cancels a request" test "$(jf .state)" = cancelled

# --- MIG ---------------------------------------------------------------------------------------
run "$ALICE" request create --org acme --kind mig --model A100-80GB --profile 3g.40gb --count 2 \
    --start "$S" --end "$E" -o json
RM=$(jf .id)
run "$OP" request quote "$RM" -o json
check "MIG: 2 × 3g.40gb on A100 quoted as MIG allocations" \
    test "$(jf '[.quote.allocations[]|select(.kind=="mig")]|length')" = 2
run "$OP" request reject "$RM" --reason "testing" -o json
check "operator rejects with a reason" test "$(jf .state)" = rejected

# --- quote expired -----------------------------------------------------------------------------
# (table output here: each step prints a short summary, the id first)
run "$ALICE" request create --org acme --kind gpu --model A100-80GB --count 1 --start "$S" \
    --end "$E"
R3=$(sed -n 's/^id: //p' <<<"$out")
check "request create (table): a short summary, id first, then the state" \
    test "$(sed -n 2p <<<"$out")" = "state: submitted" -a "${R3#req_}" != "$R3" \
    -a "$(wc -l <<<"$out")" -le 6
run "$OP" request quote "$R3" --valid-for-minutes 1
check "short quote (1 minute)" test "$rc" -eq 0
check "request quote (table): id, state, the total with its currency, valid_until" \
    test "$(sed -n 1,2p <<<"$out" | tr '\n' ' ')" = "id: $R3 state: quoted " \
    -a "$(grep -c '^total: [0-9]*\.[0-9][0-9] USD$' <<<"$out")" = 1 \
    -a "$(grep -c '^valid_until: 20[0-9-]*T[0-9:]*Z$' <<<"$out")" = 1 -a "$(wc -l <<<"$out")" -le 6
run "$OP" request approve "$R3"
check "request approve (table): just the id and the state" \
    test "$out" = "$(printf 'id: %s\nstate: approved' "$R3")"
run "$ALICE" request accept "$R3"
check "request accept (table): just the id and the state" \
    test "$out" = "$(printf 'id: %s\nstate: accepted' "$R3")"
echo $(($(date +%s) + 7200)) >"$tmp/clock" # two hours later: the quote is past valid_until
run "$OP" request confirm "$R3" --payment-terms invoiced
refused "quote expired: confirm after valid_until → exit 1, expired" expired
sleep 2.5 # a clock tick or two
run "$OP" request show "$R3" -o json
check "the clock moved the request to expired" test "$(jf .state)" = expired
run "$OP" node list -o json
check "two silent hours: the clock marked the nodes offline" \
    test "$(jf '[.items[].status] | unique | join(",")')" = offline
rm -f "$tmp/clock"
run "$OP" agent --driver sim --fleet "$AL_ROOT/tests/data/demo-fleet.json" --once
run "$OP" node list -o json
check "the agent's next heartbeat brings them back online" \
    test "$(jf '[.items[].status] | unique | join(",")')" = online

# --- reservation extend / cancel, events -------------------------------------------------------
E2=$(date -u -d '+5 days' +%Y-%m-%dT00:00:00Z)
run "$ALICE" reservation extend "$RSV" --end "$E2" -o json
check "reservation extend: a later end" test "$rc" -eq 0 -a "$(jf .end)" = "$E2"
run "$ALICE" reservation cancel "$RSV" --reason "plans changed"
check "reservation cancel (table): just the id and the state" \
    test "$rc" -eq 0 -a "$out" = "$(printf 'id: %s\nstate: cancelled' "$RSV")"
run "$OP" reservation show "$RSV" -o json
check "reservation cancel: cancelled" test "$(jf .state)" = cancelled
run "$OP" availability --model H100-80GB --start "$S" --end "$E" -o json
check "a cancelled reservation frees its GPUs (16 free)" test "$(jf .whole_gpus_free)" = 16
run "$OP" events -o json --limit 500
check "events: the flow is in the log" \
    test "$(jf '[.items[]|select(.object=="'"$R1"'")]|length > 3')" = true
run "$OP" org show acme -o json
ACME_ID=$(jf .id)
run "$ALICE" events -o json --limit 500
check "an org admin reads her org's events only (allot events)" \
    test "$rc" -eq 0 -a "$(jf "(.items | length > 0) and all(.items[]; .orgs | index(\"$ACME_ID\"))")" = true

# --- unreachable -------------------------------------------------------------------------------
kill "$server" && wait "$server" 2>/dev/null
server=
run "$OP" org list
check "server unreachable → exit 3" test "$rc" -eq 3
check "… naming the URL it tried and suggesting make run / ALLOT_SERVER" \
    test "$(grep -c "nothing answered at $ALLOT_SERVER (from ALLOT_SERVER)" <<<"$err")" = 1 \
    -a "$(grep -c 'make run' <<<"$err")" = 1 -a "$(grep -c 'export ALLOT_SERVER=URL' <<<"$err")" = 1
