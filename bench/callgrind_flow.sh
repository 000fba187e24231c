#!/usr/bin/env bash
# callgrind_flow.sh — the server's work per durable write call of the reservation paths, as
# load-independent counts (docs/e2e-bench.md, "Per-call work of the write path"): a release
# `allot server` under `valgrind --tool=callgrind` on a fresh database (20 nodes x 8 H100, an
# org with an invoiced self-service contract), driven by curl one call at a time, so that each
# write call is its own batch and commit. After one warm-up of each path the counters are
# zeroed; then FLOWS five-call flows (create -> quote -> approve -> accept -> confirm, with
# Idempotency-Keys on create, quote and confirm) are dumped, then RESERVES self-service
# `POST /v1/reservations` are dumped. Counts are of the whole server process (HTTP threads,
# committer, jobs), divided by the number of reservations of each part.
#
#   bench/callgrind_flow.sh [ALLOT_BINARY]     (default build/release/allot)
#   FLOWS=30 RESERVES=30 KEEP=1 bench/callgrind_flow.sh
#
# Prints one table: per reservation, the instructions, the inclusive instructions of
# sqlite3_step and json_dumps (and their share), and the calls to those, sqlite3_exec, json_loads, malloc, pwrite and fdatasync. Needs
# valgrind, curl, jq. Not a test: it asserts nothing but that every call answered as expected
# (else it stops, saying which).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ALLOT=${1:-$ROOT/build/release/allot}
FLOWS=${FLOWS:-30}
RESERVES=${RESERVES:-30}
# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
tmp=$(mktemp -d /tmp/allot_cgflow.XXXXXX)
pid=
trap 'reap -KILL "$pid"; rm_tmp' EXIT
die() { echo "callgrind_flow: $*" >&2; exit 1; }
# want STATUS WHAT: the last call answered STATUS, else stop
# shellcheck disable=SC2154 # $code and $body: lib.sh's call sets them
want() { [ "$code" = "$1" ] || die "$2: got $code, want $1: $(head -c 300 <<<"$body")"; }

command -v valgrind >/dev/null || die "valgrind not found"
[ -x "$ALLOT" ] || die "no binary $ALLOT (cmake --build --preset release --target allot)"
T0=$(($(date +%s) / 3600 * 3600))
DAY=86400
write_clock "$T0"
OP=$("$ALLOT" server init --db "$tmp/db" --name root 2>/dev/null)
[ -n "$OP" ] || die "server init failed"
port=$(free_port)
U=http://127.0.0.1:$port
export AL_START_TIMEOUT=${AL_START_TIMEOUT:-180}
export ALLOT_SERVER_BIN="$tmp/vg" # start_server runs "$ALLOT_SERVER_BIN server ARGS…"
cat >"$tmp/vg" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$tmp/cg.out "$ALLOT" "\$@"
EOF
chmod +x "$tmp/vg"
start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
    --clock-file "$tmp/clock" --tick-ms 3600000 || die "the server did not start"
# start_server's $pid is the wrapper's, which exec'd valgrind: the same process.

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
for n in $(seq 1 20); do
    g=""
    for i in $(seq 0 7); do g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-n$n-$i\",\"model\":\"H100-80GB\"}"; done
    call "$AGENT" PUT "/v1/nodes/n$n" "{\"zone\":\"z1\",\"gpus\":[$g]}"
    want 200 "node n$n"
done
call "$OP" PUT /v1/prices/H100-80GB '{"gpu_hour_micros":40000000}'
call "$OP" POST /v1/orgs '{"name":"acme"}'
want 201 "org"
call "$OP" POST /v1/users '{"name":"adm-acme","role":"org_admin","org":"acme"}'
ADMIN=$(j .token)
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"invoiced\",\"self_service\":true,\"valid_to\":\"$(ts $((T0 + 400 * DAY)))\"}"
want 201 "contract"

# ask I: 8 H100 for one hour, each reservation its own hour (flows first, then reserves)
ask() { echo "\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":8,\"start\":\"$(ts $((T0 + DAY + $1 * 3600)))\",\"end\":\"$(ts $((T0 + DAY + $1 * 3600 + 3600)))\""; }
flow() {
    call "$ADMIN" POST /v1/requests "{\"org\":\"acme\",$(ask "$1")}" -H "Idempotency-Key: c$1"
    want 201 "create $1"
    local r
    r=$(j .id)
    call "$OP" POST "/v1/requests/$r/quote" "" -H "Idempotency-Key: q$1"
    want 200 "quote $1"
    call "$OP" POST "/v1/requests/$r/approve"
    want 200 "approve $1"
    call "$ADMIN" POST "/v1/requests/$r/accept"
    want 200 "accept $1"
    call "$OP" POST "/v1/requests/$r/confirm" '{"payment_terms":"invoiced"}' -H "Idempotency-Key: f$1"
    want 201 "confirm $1"
}
selfserve() {
    call "$ADMIN" POST /v1/reservations "{$(ask "$1")}" -H "Idempotency-Key: r$1"
    want 201 "reserve $1"
}

flow 0
selfserve 1
callgrind_control -z "$pid" >/dev/null 2>&1 || die "callgrind_control -z"
for i in $(seq 1 "$FLOWS"); do flow $((1 + i)); done
callgrind_control -d flows "$pid" >/dev/null 2>&1 || die "callgrind_control -d"
for i in $(seq 1 "$RESERVES"); do selfserve $((1 + FLOWS + i)); done
callgrind_control -d reserves "$pid" >/dev/null 2>&1 || die "callgrind_control -d"

# sums FILE: "total calls:inclusive …" of the functions counted, from callgrind's call lines
# ("cfn=(id) name", then "calls=N target", then the cost line whose 2nd field is inclusive Ir)
sums() {
    awk '
    function name(s,   id, rest) {
        if (match(s, /^\([0-9]+\)/)) {
            id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 2)
            if (rest != "") names[id] = rest
            return names[id]
        }
        return s
    }
    /^summary:/ || /^totals:/ { total = $2 }
    /^fn=/  { fn = name(substr($0, 4)); next }
    /^cfn=/ { cfn = name(substr($0, 5)); next }
    /^calls=/ { split(substr($0, 7), a, " "); n = a[1]; incall = 1; next }
    incall { incall = 0
        t = cfn; sub(/@.*/, "", t)
        if (t ~ /^(pwrite|pwrite64|__libc_pwrite|__libc_pwrite64)$/) t = "pwrite"
        if (t == fn) next  # recursion: already inside
        calls[t] += n; incl[t] += $2 }
    END {
        printf "total %d\n", total
        split("sqlite3_step sqlite3_exec json_dumps json_loads malloc pwrite fdatasync", k, " ")
        for (i = 1; i in k; i++) printf "%s %d %d\n", k[i], calls[k[i]], incl[k[i]]
    }' "$1"
}
f1=$tmp/cg.out.1 # callgrind's dumps, in order
f2=$tmp/cg.out.2
if [ ! -f "$f1" ] || [ ! -f "$f2" ]; then die "no callgrind dumps in $tmp"; fi
sums "$f1" >"$tmp/flows.txt"
sums "$f2" >"$tmp/reserves.txt"
paste "$tmp/flows.txt" "$tmp/reserves.txt" | awk -v nf="$FLOWS" -v nr="$RESERVES" '
    NR == 1 { tf = $2; tr = $4
        printf "| per reservation | flow (%d) | self-service (%d) |\n|---|---|---|\n", nf, nr
        printf "| instructions | %.0fk | %.0fk |\n", tf / nf / 1000, tr / nr / 1000; next }
    { printf "| `%s` calls | %.1f | %.1f |\n", $1, $2 / nf, $5 / nr
      if ($1 == "sqlite3_step" || $1 == "json_dumps")
          printf "| `%s` instructions | %.0fk (%.1f %%) | %.0fk (%.1f %%) |\n", $1,
              $3 / nf / 1000, 100 * $3 / tf, $6 / nr / 1000, 100 * $6 / tr }'
