#!/usr/bin/env bash
# cli_usage.sh — the server-facing CLI without a server: every command has --help, usage errors
# exit 2, an unreachable server exits 3, the sim agent refuses bad fleet files before sending.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
expect() { # expect STATUS WHAT CMD… : the command exits with STATUS (replaces lib.sh's expect)
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$what"; else nok "$what (exit $rc, want $want: $(head -c 300 "$tmp/err"))"; fi
}
export ALLOT_CONFIG_DIR=$tmp/config ALLOT_SERVER=http://127.0.0.1:9
unset ALLOT_TOKEN

for c in "login" "org create" "org list" "org show" "user create" "user list" "user me" \
    "request create" "request list" "request show" "request quote" "request approve" \
    "request reject" "request accept" "request confirm" "request cancel" "reservation list" \
    "reservation show" "reservation cancel" "reservation extend" "availability" "events" "agent" \
    "price list" "price set" "node list" "node show" "container run" "container list" \
    "container show" "container logs" "container stop"; do
    # shellcheck disable=SC2086
    expect 0 "allot $c --help" "$ALLOT" $c --help
    grep -q '^usage: allot' "$tmp/out" || nok "allot $c --help prints a usage line"
done
expect 2 "unknown option → 2" "$ALLOT" org list --frobnicate
expect 2 "missing positional argument → 2" "$ALLOT" request show
expect 2 "extra positional argument → 2" "$ALLOT" request show a b
expect 2 "-o yaml → 2" "$ALLOT" org list -o yaml
expect 2 "--count lots → 2" "$ALLOT" request create --org a --count lots
expect 2 "--start garbage → 2" "$ALLOT" request create --org a --start +3x
expect 2 "--count ' 5' (a space) → 2" "$ALLOT" request create --org a --count " 5"
expect 2 "--count +5 → 2" "$ALLOT" request create --org a --count +5
expect 2 "--count of 19 digits → 2" "$ALLOT" request create --org a --count 1234567890123456789
expect 2 "--start +-3d → 2" "$ALLOT" request create --org a --start +-3d
expect 2 "--gpu-hour 1.2345678 (finer than a micro) → 2" "$ALLOT" price set H100-80GB --gpu-hour 1.2345678
expect 2 "--gpu-hour -1 → 2" "$ALLOT" price set H100-80GB --gpu-hour -1
expect 2 "price set without --gpu-hour → 2" "$ALLOT" price set H100-80GB
expect 2 "availability without --model → 2" "$ALLOT" availability
expect 2 "availability with only --start → 2" "$ALLOT" availability --model H100-80GB --start now
expect 2 "user create without --role → 2" "$ALLOT" user create bob
expect 2 "reservation show with a bad server URL → 2" "$ALLOT" reservation show r --server ftp://x
expect 2 "login without a token → 2" "$ALLOT" login
expect 2 "unknown request subcommand → 2" "$ALLOT" request frobnicate
expect 3 "server unreachable → 3" "$ALLOT" org list
grep -q "127.0.0.1:9" "$tmp/err" && ok "unreachable: the message names the server" ||
    nok "unreachable: the message names the server"
what="unreachable: a hint to start one (make run) or set ALLOT_SERVER"
if grep -q 'hint: nothing answered at http://127.0.0.1:9 (from ALLOT_SERVER)' "$tmp/err" &&
    grep -q 'make run' "$tmp/err" && grep -q 'export ALLOT_SERVER=URL' "$tmp/err"; then
    ok "$what"
else
    nok "$what: $(cat "$tmp/err")"
fi
"$ALLOT" org list --server http://127.0.0.1:8 >/dev/null 2>"$tmp/err"
what="unreachable: the hint says where the URL came from (--server)"
if grep -q 'nothing answered at http://127.0.0.1:8 (given with --server)' "$tmp/err"; then
    ok "$what"
else
    nok "$what: $(cat "$tmp/err")"
fi
expect 3 "login to an unreachable server → 3" "$ALLOT" login --token al_x
[ ! -e "$tmp/config/token" ] && ok "a failed login writes no token file" ||
    nok "a failed login writes no token file"
expect 3 "--server flag beats ALLOT_SERVER" "$ALLOT" org list --server http://127.0.0.1:7
grep -q "127.0.0.1:7" "$tmp/err" && ok "the flag's server is the one called" ||
    nok "the flag's server is the one called"

# the sim agent validates its fleet file before sending anything
expect 2 "agent: missing fleet file → 2" "$ALLOT" agent --driver sim --fleet "$tmp/none.json" --once
echo '{"nodes":[{"name":"n1","gpus":[{"model":"H100-80GB","count":99}]}]}' >"$tmp/f.json"
expect 2 "agent: 99 GPUs on a node → 2" "$ALLOT" agent --driver sim --fleet "$tmp/f.json" --once
grep -q count "$tmp/err" && ok "agent: the message names the field" ||
    nok "agent: the message names the field"
expect 2 "agent: --driver nvml with a fleet file → 2" "$ALLOT" agent --driver nvml --fleet x --once
expect 2 "agent: --interval 0 → 2" "$ALLOT" agent --fleet x --interval 0
expect 2 "agent: --interval 5s → 2" "$ALLOT" agent --fleet x --interval 5s
expect 3 "agent: unreachable server → 3" \
    "$ALLOT" agent --driver sim --fleet "$AL_ROOT/tests/data/demo-fleet.json" --once
