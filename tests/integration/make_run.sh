#!/usr/bin/env bash
# make_run.sh — what `make run` (scripts/run.sh) does for a new user, on a throwaway data
# directory and port: it prints the operator's token and the real URL; README.md's quickstart,
# exactly as written, works against it from the source tree; the printed walk-through is that
# quickstart with the URL, the token and the binary written out; a second run while the first
# serves refuses and changes nothing (token, database, log); a run.sh killed with -9 leaves a
# server that still guards its data; a later run reuses the data (same token, the reservation
# still there); a database whose token file is gone is refused, not replaced.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, flock.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
tmp=$(mktemp -d /tmp/allot_make_run.XXXXXX)
src=$tmp/src # stands in for the source tree: .run/ and build/release/allot, as README says
data=$src/.run
runs=()

stop_pidfile() { # the server or agent a killed run.sh left behind
    local p
    p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && kill "$p" 2>/dev/null
}
cleanup() {
    local p
    for p in "${runs[@]}"; do kill "$p" 2>/dev/null; done
    stop_pidfile "$data/server.pid"
    stop_pidfile "$data/agent.pid"
    stop_pidfile "$data/mig-agent.pid"
    stop_pidfile "$data/pool-agent.pid"
    wait 2>/dev/null
    # the quickstart's containers (they outlive make run, as under Docker), then the Podman
    # service a killed run.sh left (none: nothing to do)
    if [ -d "$data/podman/root" ]; then
        CONTAINERS_CONF=$data/podman/containers.conf podman --root "$data/podman/root" \
            --runroot "$data/podman/run" --storage-driver vfs rm -f -a -t 0 >/dev/null 2>&1
        "$AL_ROOT/scripts/podman.sh" stop "$data/podman" >/dev/null 2>&1
    fi
    # the process runtime's (where Podman could not run): each command by its pid file, then
    # the supervisors, which outlive their agent on purpose
    for p in "$data"/containers/*/ctr_*/pid; do
        [ -f "$p" ] && read -r p _ <"$p" && kill -KILL "$p" 2>/dev/null
    done
    pkill -KILL -f "$data/containers" 2>/dev/null
    if [ -n "${KEEP-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768..)
while port_busy "$port"; do port=$((port + 1)); done
url=http://127.0.0.1:$port
mkdir -p "$src/build/release"
ln -s "$ALLOT" "$src/build/release/allot"
deadline=$(al_deadline)

# start_run N: scripts/run.sh in the background, output in $tmp/runN.out; waits for the end
# of its banner (0), or its exit / the deadline (1, after showing its output).
start_run() {
    ALLOT_RUN_DIR=$data ALLOT_PORT=$port "$AL_ROOT/scripts/run.sh" "$ALLOT" >"$tmp/run$1.out" 2>&1 &
    run_pid=$!
    runs+=("$run_pid")
    if wait_until "$deadline" grep -qs 'every command takes -o json' "$tmp/run$1.out"; then
        return 0
    fi
    echo "# run.sh ($1) did not finish starting; its output:"
    sed 's/^/#   /' "$tmp/run$1.out" | tail -30
    show_log "$data/server.log"
    return 1
}
# second_run N: a run.sh while another one serves; its status in $rc.
second_run() {
    ALLOT_RUN_DIR=$data ALLOT_PORT=$((port + 1)) timeout 60 "$AL_ROOT/scripts/run.sh" "$ALLOT" \
        >"$tmp/run$1.out" 2>&1
    rc=$?
}
op() { ALLOT_SERVER=$url ALLOT_TOKEN=$(cat "$data/operator.token") "$ALLOT" "$@"; }
healthy() { curl -fsS --max-time 5 -o /dev/null "$url/healthz"; }
rsv_count() { op reservation list -o json | jq '.items | length'; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# --- the first run: a new database ------------------------------------------------------------
if ! start_run 1; then
    nok "make run starts (scripts/run.sh)"
    exit 1
fi
ok "make run starts (scripts/run.sh)"
token=$(cat "$data/operator.token" 2>/dev/null)
check "the operator token is printed (and kept in .run/operator.token, mode 600)" \
    grep -q "operator token: $token" "$tmp/run1.out"
check "… the token file is mode 600 and is a token" \
    test "$(stat -c %a "$data/operator.token")" = 600 -a "${#token}" = 46
check "the printed URL is the real one (port $port), also in .run/url" \
    test "$(grep -c "export ALLOT_SERVER=$url ALLOT_TOKEN=$token" "$tmp/run1.out")" = 1 \
    -a "$(cat "$data/url")" = "$url"
check "no 'shown once' line without its token" bash -c "! grep -q 'shown once' '$tmp/run1.out'"
check "the dashboard's URL is printed, saying to paste the operator token" \
    grep -q "dashboard: *$url/ *(opens logged out: paste the operator token" "$tmp/run1.out"
check "… and it answers the dashboard's page (HTML that loads /app.js)" \
    bash -c "curl -fsS --max-time 5 '$url/' | grep -q 'src=\"/app.js\"'"

# README's quickstart block, exactly as written, from the stand-in source tree.
awk '/^## Quickstart/ { q = 1; next } q && /^    / { print; b = 1; next } b { exit }' \
    "$AL_ROOT/README.md" | sed 's/^    //' >"$tmp/quickstart.sh"
check "README has a quickstart block that starts from .run/" \
    grep -q 'cat .run/url' "$tmp/quickstart.sh"
(cd "$src" && env -u ALLOT_SERVER -u ALLOT_TOKEN timeout 300 bash -eo pipefail "$tmp/quickstart.sh") \
    >"$tmp/quickstart.out" 2>&1
qrc=$?
check "the README quickstart runs end to end against make run (exit 0)" test "$qrc" = 0
[ "$qrc" = 0 ] || sed 's/^/#   /' "$tmp/quickstart.out" | tail -20
check "… its flow ends in a scheduled reservation, its self-service ones in two others and an active one" \
    test "$(op reservation list -o json | jq -r '[.items[].state] | sort | join(",")')" = active,scheduled,scheduled,scheduled
pool_usage=$(op ledger list --org acme -o json | jq '[.items[] | select(.kind == "usage") | .amount_micros] | add // 0')
check "… the self-service ones charged 2 × 24 h × 1.80 = 86.40, 3 × 24 h × 0.50 = 36.00 and 2 h × 0.50 = 1.00, the pool container its seconds at 3.00/h, and the balance says so" \
    test "$(op reservation list -o json | jq -r '[.items[] | select(.origin == "self_service") | .total_micros] | sort | join(",")')" = 1000000,36000000,86400000 \
    -a "$pool_usage" -gt 0 -a "$pool_usage" -lt 3000000 \
    -a "$(op org balance acme -o json | jq -r .cash_micros)" = $((50000000000 - 3360000000 - 86400000 - 36000000 - 1000000 - pool_usage))
check "… its container on the MIG instance ran and printed the instance's MIG UUID" \
    grep -q '^my GPU: MIG-' "$tmp/quickstart.out"
check "… and the pool container its pool GPU's UUID" grep -q '^my GPU: GPU-demo-pool-h100-' "$tmp/quickstart.out"
check "… its MIG change was applied by the MIG node's agent (the sim GPU has the 3g.71gb)" \
    test "$(jq -r '[.gpus[0].instances[].profile] | index("3g.71gb") != null' "$data/mig-h200.json")" = true \
    -a "$(op mig changes --node mig-h200 --state applied -o json | jq '.items | length')" = 1
check "… each step prints a short summary (quote: id, state, total, valid_until)" \
    grep -q '^total: [0-9]*\.[0-9][0-9] USD$' "$tmp/quickstart.out"
# the walk-through run.sh prints = README's block, its first two lines written out
sed -n '/^Try this, in another shell/,/^$/p' "$tmp/run1.out" | sed '1d;$d;s/^  //' >"$tmp/printed.sh"
check "the printed walk-through is README's quickstart with the URL, token and binary filled in" \
    test "$(tail -n +3 "$tmp/printed.sh")" = "$(tail -n +3 "$tmp/quickstart.sh")" \
    -a "$(sed -n 2p "$tmp/printed.sh")" = "A=$(realpath "$ALLOT")"

# --- a second run while the first serves ------------------------------------------------------
sum_before=$(md5sum "$data/operator.token" | cut -d' ' -f1)
log_before=$(stat -c %s "$data/server.log")
second_run 2
check "a second make run refuses (exit 1)" test "$rc" = 1
check "… says allot is running and where" grep -q "already running .* at $url" "$tmp/run2.out"
check "… and starts no server on another port" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$((port + 1))) 2>/dev/null"
check "… leaves the operator token as it was" \
    test "$(md5sum "$data/operator.token" | cut -d' ' -f1)" = "$sum_before"
check "… leaves the server log (not truncated)" test "$(stat -c %s "$data/server.log")" -ge "$log_before"
check "… and the first server serves on, with its data" test "$(healthy && rsv_count)" = 4

# --- run.sh killed with -9: its server still guards the directory -----------------------------
kill -9 "$run_pid"
wait "$run_pid" 2>/dev/null
check "after kill -9 of run.sh its server still serves" healthy
second_run 3
check "… and a new make run still refuses (exit 1), naming it" \
    test "$rc" = 1 -a "$(grep -c "already running .* at $url" "$tmp/run3.out")" = 1
spid=$(cat "$data/server.pid")
stop_pidfile "$data/agent.pid"
stop_pidfile "$data/mig-agent.pid"
stop_pidfile "$data/pool-agent.pid"
kill "$spid"
check "the orphaned server stops on SIGTERM" wait_until "$deadline" gone "$spid"

# --- a later run reuses the data --------------------------------------------------------------
if start_run 4; then
    ok "make run starts again on the same directory"
    check "… reusing the database and the operator token" \
        test "$(cat "$data/operator.token")" = "$token" \
        -a "$(grep -c 'the data of the previous run' "$tmp/run4.out")" = 1
    check "… with the first run's reservations" test "$(rsv_count)" = 4
    check "… and the MIG node's token file reused (the node reports with it)" \
        test "$(ALLOT_SERVER=$url ALLOT_TOKEN=$(cat "$data/mig-h200.token") "$ALLOT" node show mig-h200 -o json | jq -r .name)" = mig-h200
    check "… and one sim-agent user (its token file reused)" \
        test "$(op user list -o json | jq '[.items[] | select(.role == "agent")] | length')" = 1
    spid=$(cat "$data/server.pid")
    kill "$run_pid"
    wait "$run_pid"
    check "Ctrl-C (SIGTERM) stops run.sh with status 0" test "$?" = 0
    check "… and its server" gone "$spid"
    check "… and removes the pid and URL files (not the data)" \
        test ! -e "$data/server.pid" -a ! -e "$data/mig-agent.pid" \
        -a ! -e "$data/pool-agent.pid" -a ! -e "$data/url" \
        -a -s "$data/allot.db" -a -s "$data/mig-h200.json"
else
    nok "make run starts again on the same directory"
fi

# --- a database without its token is refused, not replaced ------------------------------------
mv "$data/operator.token" "$tmp/operator.token"
db_sum=$(md5sum "$data/allot.db" | cut -d' ' -f1)
second_run 5
check "a database without its token file: make run refuses (exit 1) and says why" \
    test "$rc" = 1 -a "$(grep -c 'cannot be recovered' "$tmp/run5.out")" = 1
check "… and leaves the database as it was" \
    test "$(md5sum "$data/allot.db" | cut -d' ' -f1)" = "$db_sum" -a ! -e "$data/operator.token"
mv "$tmp/operator.token" "$data/operator.token"
