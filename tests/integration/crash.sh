#!/usr/bin/env bash
# crash.sh — kill -9 the server in the middle of a stream of confirmations (four concurrent CLI
# streams), restart it on the same database, and check: every reservation that was answered
# 201 exists, no GPU holds two overlapping live reservations, and no request is half-written
# (confirmed ⇔ has an existing reservation that points back at it).
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
SRV=${ALLOT_SERVER_BIN:-$ALLOT} # the server's binary (the same one, once both are merged)
if ! "$SRV" server --help >/dev/null 2>&1; then
    echo "# SKIP: this allot has no 'server' command yet (nothing counted)"
    exit 0
fi
tmp=$(mktemp -d)
server=
streams=()
cleanup() {
    for p in "${streams[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$server" ] && kill -9 "$server" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=$((20000 + RANDOM % 20000))
while port_busy "$port"; do port=$((port + 1)); done
export ALLOT_SERVER=http://127.0.0.1:$port ALLOT_CONFIG_DIR=$tmp/config
start_server() {
    "$SRV" server --db "$tmp/allot.db" --listen "127.0.0.1:$port" >>"$tmp/server.log" 2>&1 &
    server=$!
    for _ in $(seq 100); do
        curl -fsS "$ALLOT_SERVER/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

"$SRV" server init --db "$tmp/allot.db" --name ops >"$tmp/init.out" 2>&1
OP=$(grep -o 'al_[A-Za-z0-9_-]\{43\}' "$tmp/init.out" | head -1)
start_server && ok "server started" || nok "server started"
export ALLOT_TOKEN=$OP
"$ALLOT" agent --driver sim --fleet "$AL_ROOT/tests/data/demo-fleet.json" --once >/dev/null
"$ALLOT" price set H100-80GB --gpu-hour 2.50 >/dev/null
"$ALLOT" price set A100-80GB --gpu-hour 1.80 >/dev/null
"$ALLOT" org create crashco >/dev/null
ADM=$("$ALLOT" user create adm --role org_admin --org crashco -o json | jq -r .token)
[ "${ADM#al_}" != "$ADM" ] && ok "setup: org, admin, fleet" || nok "setup: org, admin, fleet"

# One stream: flows on H100/A100 windows within three days (so they contend); each
# reservation answered 201 is recorded with its id.
stream() {
    local n=$1 i=0 rid
    while :; do
        i=$((i + 1))
        local d=$(((n + i) % 3)) h=$(((n * 7 + i * 5) % 20)) m
        m=$([ $((i % 2)) -eq 0 ] && echo H100-80GB || echo A100-80GB)
        local s e
        s=$(date -u -d "@$((base + d * 86400 + h * 3600))" +%Y-%m-%dT%H:%M:%SZ)
        e=$(date -u -d "@$((base + d * 86400 + (h + 4) * 3600))" +%Y-%m-%dT%H:%M:%SZ)
        rid=$("$ALLOT" request create --org crashco --kind gpu --model "$m" --count $((1 + i % 3)) \
            --start "$s" --end "$e" -o json 2>/dev/null | jq -r .id 2>/dev/null) || continue
        [ -n "$rid" ] && [ "$rid" != null ] || continue
        "$ALLOT" request quote "$rid" >/dev/null 2>&1 || continue
        "$ALLOT" request approve "$rid" >/dev/null 2>&1 || continue
        ALLOT_TOKEN=$ADM "$ALLOT" request accept "$rid" >/dev/null 2>&1 || continue
        out=$("$ALLOT" request confirm "$rid" --payment-terms invoiced -o json 2>/dev/null) &&
            jq -r .id <<<"$out" >>"$tmp/confirmed.$n"
    done
}
base=$((($(date +%s) / 86400 + 2) * 86400)) # midnight UTC, the day after tomorrow
for n in 1 2 3 4; do
    stream "$n" &
    streams+=($!)
done
sleep 6
kill -9 "$server"
wait "$server" 2>/dev/null
server=
sleep 0.5
for p in "${streams[@]}"; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
streams=()
cat "$tmp"/confirmed.* 2>/dev/null | grep '^rsv_' | sort -u >"$tmp/confirmed"
nconf=$(wc -l <"$tmp/confirmed")
[ "$nconf" -gt 0 ] && ok "confirmations were answered before the kill ($nconf)" ||
    nok "confirmations were answered before the kill"

start_server && ok "server restarts on the same database after kill -9" ||
    nok "server restarts on the same database after kill -9"

# every reservation answered 201 exists
missing=0
while read -r id; do
    "$ALLOT" reservation show "$id" >/dev/null 2>&1 || missing=$((missing + 1))
done <"$tmp/confirmed"
[ "$missing" -eq 0 ] && ok "every reservation answered 201 exists after restart" ||
    nok "$missing reservations answered 201 are missing after restart"

# all reservations and requests (every page)
fetch_all() { # fetch_all WHAT → one JSON array of every item
    local cursor="" page
    : >"$tmp/$1.jsonl"
    while :; do
        page=$("$ALLOT" "$1" list --limit 500 ${cursor:+--cursor "$cursor"} -o json) || return 1
        jq -c '.items[]' <<<"$page" >>"$tmp/$1.jsonl"
        cursor=$(jq -r '.next_cursor // empty' <<<"$page")
        [ -n "$cursor" ] || break
    done
    jq -s . "$tmp/$1.jsonl"
}
fetch_all reservation >"$tmp/rsv.json" && fetch_all request >"$tmp/req.json"
over=$(jq '[.[] | select(.state != "cancelled" and .state != "ended") | . as $r |
            .allocations[] | {gpu: (.gpu // .gpu_uuid), s: $r.start, e: $r.end}]
           | group_by(.gpu) | map(sort_by(.s) | . as $a
           | [range(1; length) | select($a[.].s < ([$a[0:.][].e] | max))] | length) | add // 0' \
    "$tmp/rsv.json")
[ "$over" = 0 ] && ok "no GPU holds two overlapping reservations" ||
    nok "overlapping reservations after the crash: $over"

half=$(jq -n --slurpfile rs "$tmp/rsv.json" --slurpfile rq "$tmp/req.json" '
    ($rs[0] | map({key: .id, value: .request}) | from_entries) as $byid |
    ($rq[0] | map(select(.state == "confirmed")) ) as $conf |
    ([$conf[] | select(.reservation == null or $byid[.reservation] != .id)] | length) +
    ([$rs[0][] | .request as $q | select([$rq[0][] | select(.id == $q and .state == "confirmed")]
      | length == 0)] | length)')
[ "$half" = 0 ] && ok "no half-written request: confirmed ⇔ reservation, both ways" ||
    nok "half-written requests/reservations after the crash: $half"
nrsv=$(jq length "$tmp/rsv.json")
[ "$nrsv" -ge "$nconf" ] && ok "reservations after restart ($nrsv) ≥ answered 201 ($nconf)" ||
    nok "reservations after restart ($nrsv) < answered 201 ($nconf)"
