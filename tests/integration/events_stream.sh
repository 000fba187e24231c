#!/usr/bin/env bash
# events_stream.sh — the event log by org and live (docs/api.md, "Events"), over loopback
# against a real `allot server` whose clock the suite drives (--clock-file): GET /v1/events for
# operators (all) and an org's admins and members (their org's only), with kind= (exact or a
# prefix) and object=; GET /v1/events?follow=1 read by real streaming clients (curl -N) while
# other clients make events: delivered live, an org's stream never carries another org's
# event, a reconnect with Last-Event-ID (or after=) resumes without loss or duplicates, a quiet
# stream gets keepalive comments, at most 64 streams (503 beyond, a slot freed when one closes);
# `allot events --follow`; a GPU's failure seen by the org on it only; the reservation.starting and reservation.ending notices appended once
# each, across ticks and restarts; a clean stop with streams open; and (debug builds: the
# store's fault injection) the event of a write whose batch failed to commit is never streamed.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, python3.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_evstream.XXXXXX)
pid=
spids=() # the background streaming clients
cleanup() {
    local p
    for p in "${spids[@]}"; do reap -KILL "$p"; done
    reap -KILL "$pid"
    rm_tmp
}
trap cleanup EXIT

HOUR=3600
DAY=86400
M=1000000
T0=$(($(date -u +%s) / DAY * DAY + DAY))
set_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
SERVER_ARGS=(--heartbeat-timeout $((30 * DAY)) --start-notice 1800 --end-warning 600)
must "server starts" start_clocked_server 100 "${SERVER_ARGS[@]}"
VF=$(ts "$T0")
VT=$(ts $((T0 + 400 * DAY)))

# stream NAME TOKEN [QUERY [CURL_ARGS…]]: curl -N reading GET /v1/events?follow=1&QUERY into
# $tmp/NAME.sse in the background (its pid in $SPID, kept in spids); waits for the stream's
# opening comment. Returns 1 when it did not open.
declare -A SP
stream() {
    local n=$1 tok=$2 q=${3-}
    shift 2
    [ $# -gt 0 ] && shift
    : >"$tmp/$n.sse"
    curl -sN -H "Authorization: Bearer $tok" "$@" "$U/v1/events?follow=1${q:+&$q}" \
        >>"$tmp/$n.sse" 2>/dev/null &
    SP[$n]=$!
    spids+=($!)
    wait_until 10 grep -q '^: stream open' "$tmp/$n.sse"
}
# ids NAME: the ids the stream received, in order; sse NAME: its events' JSON, one a line
ids() { sed -n 's/^id: //p' "$tmp/$1.sse"; }
sse() { sed -n 's/^data: //p' "$tmp/$1.sse"; }
# has NAME KIND OBJECT: the stream received an event of KIND about OBJECT
has() {
    sse "$1" | jq -s -e --arg k "$2" --arg o "$3" 'any(.[]; .kind == $k and .object == $o)' \
        >/dev/null
}
# only_org NAME ORG: every event the stream received concerns ORG (and it received some)
only_org() {
    sse "$1" | jq -s -e --arg o "$2" 'length > 0 and all(.[]; .orgs | index($o) != null)' \
        >/dev/null
}
user() { # user NAME ROLE ORG: create a user; its id in $UID_, its token in $TOK
    call "$OP" POST /v1/users "{\"name\":\"$1\",\"role\":\"$2\",\"org\":\"$3\"}"
    UID_=$(j .user.id) TOK=$(j .token)
}
last_id() { # the newest event's id (operators' list)
    local b=$body c=$code
    call "$OP" GET "/v1/events?limit=500${1:+&after=$1}"
    j '.items[-1].id // empty'
    body=$b code=$c
}

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node n1 H100-80GB 2
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":$((5 * M)),\"pool_gpu_hour_micros\":$((36 * M))}"
org acme
ACME=$ORG_ID ACME_ADMIN=$ADMIN
org other
OTHER=$ORG_ID OTHER_ADMIN=$ADMIN
user ann member acme
ANN=$TOK
contract acme prepaid '"granularity":"second","credit_limit_micros":0'
topup acme $((10000 * M)) acme-1
contract other prepaid '"granularity":"second","credit_limit_micros":0'
topup other $((10000 * M)) other-1
wait_until 15 as_of_is "$NOW" || nok "the first pass ran"

# ---------------------------------------------------------------- the list, by org
call "$OP" GET "/v1/events?limit=500"
check "an operator lists every org's events (with their orgs)" \
    [ "$code" = 200 -a "$(j "[.items[] | select(.orgs | index(\"$ACME\"))] | length > 0")" = true \
    -a "$(j "[.items[] | select(.orgs | index(\"$OTHER\"))] | length > 0")" = true ]
check "… and the fleet's own events (no org)" \
    [ "$(j '[.items[] | select(.kind == "node.registered" and .orgs == [])] | length')" = 1 ]
call "$ACME_ADMIN" GET "/v1/events?limit=500"
check "an org admin lists their org's events only" \
    [ "$code" = 200 -a "$(j "(.items | length > 0) and all(.items[]; .orgs | index(\"$ACME\"))")" = true ]
check "… org.created, the admin's user.created and the top-up among them" \
    [ "$(j '[.items[].kind] | (index("org.created") != null) and (index("user.created") != null) and (index("ledger.topup") != null)')" = true ]
check "… and none of another org's, nor the fleet's" \
    [ "$(j "[.items[] | select((.orgs | index(\"$OTHER\")) or .orgs == [])] | length")" = 0 ]
call "$ANN" GET "/v1/events?limit=500"
check "a member lists their org's events only" \
    [ "$code" = 200 -a "$(j "(.items | length > 0) and all(.items[]; .orgs | index(\"$ACME\"))")" = true ]
call "$AGENT" GET /v1/events
expect "an agent may not read the event log → 403" 403 forbidden
call "$OP" GET "/v1/events?kind=user.created&limit=500"
check "kind= keeps that kind only" \
    [ "$code" = 200 -a "$(j '(.items | length >= 4) and all(.items[]; .kind == "user.created")')" = true ]
call "$OP" GET "/v1/events?kind=ledger.*&limit=500"
check "kind=ledger.* keeps the kinds of that prefix" \
    [ "$code" = 200 -a "$(j '(.items | length == 2) and all(.items[]; .kind == "ledger.topup")')" = true ]
call "$ACME_ADMIN" GET "/v1/events?kind=org.created&object=$OTHER"
check "object= keeps events about that object (another org's: none for acme's admin)" \
    [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$ACME_ADMIN" GET "/v1/events?object=$ACME"
check "… about its own org: org.created and the top-up, nothing about anything else" \
    [ "$code" = 200 -a "$(j "([.items[].kind] | sort) == [\"ledger.topup\", \"org.created\"] and all(.items[]; .object == \"$ACME\")")" = true ]
call "$OP" GET "/v1/events?limit=2"
check "a page of 2 has a next_cursor that continues it" \
    [ "$(j '.items | length')" = 2 -a "$(j .next_cursor)" = "$(j '.items[1].id')" ]
call "$OP" GET "/v1/events?limit=500"
asc=$(j '[.items[].id]')
call "$OP" GET "/v1/events?order=desc&limit=3"
d1=$body
check "order=desc lists newest first: the ascending list's last 3, reversed" \
    [ "$code" = 200 -a "$(jq -c '[.items[].id]' <<<"$d1")" = "$(jq -c '.[-3:] | reverse' <<<"$asc")" ]
call "$OP" GET "/v1/events?order=desc&limit=3&cursor=$(jq -r .next_cursor <<<"$d1")"
check "… its next_cursor continues backwards (the 3 before those)" \
    [ "$code" = 200 -a "$(jq -c '[.items[].id]' <<<"$body")" = "$(jq -c '.[-6:-3] | reverse' <<<"$asc")" ]
call "$OP" GET "/v1/events?order=desc&before=$(jq -r '.[1]' <<<"$asc")"
check "… before=the second event: the first alone, next_cursor null" \
    [ "$code" = 200 -a "$(jq -c '[.items[].id]' <<<"$body")" = "$(jq -c '.[0:1]' <<<"$asc")" -a "$(j .next_cursor)" = null ]
call "$ACME_ADMIN" GET "/v1/events?order=desc&kind=user.created&limit=500"
check "… under an org's scope and a filter: acme's user.created, newest first" \
    [ "$code" = 200 -a "$(j "(.items | length > 0) and all(.items[]; .kind == \"user.created\" and (.orgs | index(\"$ACME\")))")" = true \
    -a "$(j '[.items[].id] == ([.items[].id] | sort | reverse)')" = true ]
call "$OP" GET "/v1/events?order=newest"
expect "an order that is neither asc nor desc → 400 naming order" 400 invalid_argument order
call "$OP" GET "/v1/events?before=evt_000000000002"
expect "before without order=desc → 400 naming before" 400 invalid_argument before
call "$OP" GET "/v1/events?order=desc&after=evt_000000000002"
expect "after with order=desc → 400 naming after" 400 invalid_argument after
call "$OP" GET "/v1/events?kind=Org.Created"
expect "a kind that cannot be one → 400 naming kind" 400 invalid_argument kind
call "$OP" GET "/v1/events?after=x9"
expect "an after that is no event id → 400 naming after" 400 invalid_argument after
call "$OP" GET "/v1/events?follow=2"
expect "follow must be 1 or 0 → 400" 400 invalid_argument follow

# ---------------------------------------------------------------- live streams
START=$(last_id)
must "an operator's stream opens (text/event-stream)" stream op "$OP" "" -D "$tmp/op.hdr"
check "… answered 200 text/event-stream, no cache" \
    bash -c "grep -qi '^HTTP/1.1 200' '$tmp/op.hdr' && grep -qi '^content-type: text/event-stream' '$tmp/op.hdr' && grep -qi '^cache-control: no-cache' '$tmp/op.hdr'"
must "acme's admin's stream opens" stream acme "$ACME_ADMIN"
must "other's admin's stream opens" stream other "$OTHER_ADMIN"
must "a member's stream of reservation.* opens" stream ann "$ANN" "kind=reservation.*"
must "a stream of a kind that never comes opens (for its keepalives)" \
    stream quiet "$OP" "kind=webhook.disabled"
QUIET_AT=$SECONDS
"$ALLOT" events --follow --kind user.created -o json --server "$U" --token "$ACME_ADMIN" \
    >"$tmp/cli.out" 2>"$tmp/cli.err" &
CLI=$!
spids+=($CLI)
sleep 0.5 # the CLI's stream opens

user bob member acme
BOB=$UID_
t0=$(date +%s%N)
wait_until 5 has acme user.created "$BOB"
ms=$((($(date +%s%N) - t0) / 1000000))
check "acme's stream receives acme's new user.created live (seen $ms ms after the answer)" \
    has acme user.created "$BOB"
check "… within ~1 s" [ "$ms" -lt 1500 ]
user oscar member other
OSCAR=$UID_
wait_until 5 has other user.created "$OSCAR"
check "other's stream receives other's user.created" has other user.created "$OSCAR"
wait_until 5 has op user.created "$OSCAR"
check "the operator's stream receives both orgs' events" \
    bash -c "$(declare -f has sse); tmp=$tmp; has op user.created $BOB && has op user.created $OSCAR"
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 $((T0 + HOUR)) $((T0 + 3 * HOUR)))"
R_ACME=$RID
reserve other "$OTHER_ADMIN" "$(gpus H100-80GB 1 $((T0 + HOUR)) $((T0 + 3 * HOUR)))"
R_OTHER=$RID
wait_until 5 has ann reservation.scheduled "$R_ACME"
check "the member's reservation.* stream receives acme's reservation.scheduled" \
    has ann reservation.scheduled "$R_ACME"
check "… and only reservation.* kinds of acme" \
    bash -c "$(declare -f sse); tmp=$tmp; sse ann | jq -s -e 'all(.[]; (.kind | startswith(\"reservation.\")) and (.orgs | index(\"$ACME\")))' >/dev/null"
wait_until 5 has other reservation.scheduled "$R_OTHER"
check "acme's stream carries acme's events only (never other's user or reservation)" \
    bash -c "$(declare -f sse only_org has); tmp=$tmp; only_org acme $ACME && ! has acme user.created $OSCAR && ! has acme reservation.scheduled $R_OTHER"
check "other's stream carries other's events only" \
    bash -c "$(declare -f sse only_org has); tmp=$tmp; only_org other $OTHER && ! has other user.created $BOB"
check "each event is id: evt_…, event: its kind, data: the event as the list gives it" \
    bash -c "grep -A2 '^id: evt_' '$tmp/acme.sse' | grep -q '^event: user.created' && sed -n 's/^data: //p' '$tmp/acme.sse' | jq -s -e 'all(.[]; has(\"id\") and has(\"at\") and has(\"actor\") and has(\"kind\") and has(\"object\") and has(\"orgs\") and has(\"data\"))' >/dev/null"
call "$ACME_ADMIN" GET "/v1/events?after=$START&limit=500"
check "acme's stream received exactly acme's list after it opened, in order" \
    [ "$(ids acme | tr '\n' ' ')" = "$(j '.items[].id' | tr '\n' ' ')" ]
wait_until 5 grep -q "$BOB" "$tmp/cli.out"
check "allot events --follow prints acme's new user.created as it comes" \
    bash -c "jq -s -e --arg b '$BOB' 'length == 1 and .[0].kind == \"user.created\" and .[0].object == \$b' '$tmp/cli.out' >/dev/null"

# ---------------------------------------------------------------- reconnect
LAST=$(ids acme | tail -1)
reap -KILL "${SP[acme]}"
user carl member acme
CARL=$UID_
user dora member acme
DORA=$UID_
user olga member other
must "acme's admin reconnects with Last-Event-ID" stream acme2 "$ACME_ADMIN" "" \
    -H "Last-Event-ID: $LAST"
wait_until 5 has acme2 user.created "$DORA"
check "… the events made while away arrive (carl's, dora's)" \
    bash -c "$(declare -f has sse); tmp=$tmp; has acme2 user.created $CARL && has acme2 user.created $DORA"
call "$ACME_ADMIN" GET "/v1/events?after=$START&limit=500"
check "… the two streams together hold acme's events once each, in order: no loss, no duplicate" \
    [ "$( (ids acme; ids acme2) | tr '\n' ' ')" = "$(j '.items[].id' | tr '\n' ' ')" ]
check "… ids strictly increase across the reconnect" bash -c "(sed -n 's/^id: //p' '$tmp/acme.sse' '$tmp/acme2.sse') | sort -c -u"
must "a stream from after= replays from there" stream acme3 "$ACME_ADMIN" "after=$START"
wait_until 5 has acme3 user.created "$DORA"
check "… the same events as the list" \
    [ "$(ids acme3 | tr '\n' ' ')" = "$(j '.items[].id' | tr '\n' ' ')" ]

# ---------------------------------------------------------------- keepalive
wait_until $((20 - (SECONDS - QUIET_AT) > 1 ? 20 - (SECONDS - QUIET_AT) : 1)) \
    grep -q '^: keepalive' "$tmp/quiet.sse"
check "a quiet stream gets a ': keepalive' comment within ~15 s" grep -q '^: keepalive' "$tmp/quiet.sse"
check "… and none of the events its kind= leaves out" bash -c "! grep -q '^id:' '$tmp/quiet.sse'"

# ---------------------------------------------------------------- the bound on streams
# streams open now: op, other, ann, quiet, the CLI's, acme2, acme3 (acme's was closed, and its
# slot freed when the events since were written to it)
OPEN=7
python3 - "$port" "$OP" >"$tmp/limit.out" 2>&1 <<'PY' &
import socket, sys, time
port, tok = int(sys.argv[1]), sys.argv[2]
req = ("GET /v1/events?follow=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % tok).encode()
socks = []
for _ in range(80):  # until one is refused
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(req)
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    status = got.split(b"\r\n", 1)[0].decode()
    socks.append(s)
    print(status, flush=True)
    if " 200 " not in status:
        break
print("done", flush=True)
time.sleep(60)  # held until the suite kills it
PY
LIM=$!
spids+=($LIM)
wait_until 30 grep -q '^done' "$tmp/limit.out"
check "streams open up to 64 in all ($(grep -c ' 200 ' "$tmp/limit.out") more)" \
    [ "$(grep -c ' 200 ' "$tmp/limit.out")" = $((64 - OPEN)) ]
check "… the next is refused 503" [ "$(grep -v done "$tmp/limit.out" | tail -1)" = "HTTP/1.1 503 Service Unavailable" ]
call "$OP" GET "/v1/events?follow=1"
expect "… with the API's error body (unavailable, naming follow)" 503 unavailable follow
reap -KILL "$LIM"
# opens_now: a stream opens (200); curl ends it after 3 seconds
opens_now() {
    curl -s -m 3 -D "$tmp/again.hdr" -o /dev/null -H "Authorization: Bearer $OP" \
        "$U/v1/events?follow=1"
    grep -q '^HTTP/1.1 200' "$tmp/again.hdr"
}
# a closed stream is noticed when an event is written to it (the write fails): make events
# until a slot is free (on a loaded machine the 57 streams take a while to be woken)
freed=no
for i in $(seq 10); do
    user "late$i" member other
    sleep 1
    if opens_now; then
        freed=yes
        break
    fi
done
check "once streams close, their slots serve new streams" [ "$freed" = yes ]

# ---------------------------------------------------------------- the notices
wait_until 15 as_of_is "$NOW"
tick_to $((T0 + HOUR - 1800 - 1))
call "$OP" GET "/v1/events?kind=reservation.starting&limit=500"
check "no reservation.starting before --start-notice's lead" [ "$(j '.items | length')" = 0 ]
tick_to $((T0 + HOUR - 1800))
wait_until 5 has ann reservation.starting "$R_ACME"
check "reservation.starting comes --start-notice (1800 s) ahead, to the org's stream" \
    has ann reservation.starting "$R_ACME"
starting() { events reservation.starting "$1"; }
check "… data {org, start, in_s, nodes}" \
    [ "$(starting "$R_ACME" | jq -r '"\(.org) \(.start) \(.in_s) \(.nodes | join(","))"')" = "$ACME $(ts $((T0 + HOUR))) 1800 n1" ]
check "… and one for other's reservation, to other only" \
    bash -c "$(declare -f has sse); tmp=$tmp; has other reservation.starting $R_OTHER && ! has acme2 reservation.starting $R_OTHER"
tick_to $((T0 + HOUR - 1700))
check "a later tick does not repeat it" [ "$(starting "$R_ACME" | wc -l)" = 1 ]
check "clean stop with streams open (exit 0)" stop_server
check "… the streaming clients see their streams end" \
    wait_until 10 bash -c "! kill -0 ${SP[op]} 2>/dev/null && ! kill -0 $CLI 2>/dev/null"
must "the server restarts" start_clocked_server 100 "${SERVER_ARGS[@]}"
tick_to $((T0 + HOUR - 1600))
check "after a restart the notice is not given again" [ "$(starting "$R_ACME" | wc -l)" = 1 ]
tick_to $((T0 + HOUR))
# a GPU's failure concerns the org whose reservation runs on it, and no other
call "$AGENT" PUT /v1/nodes/n1 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n1-0","model":"H100-80GB","healthy":false},{"index":1,"uuid":"GPU-n1-1","model":"H100-80GB","healthy":true}]}'
call "$OP" GET "/v1/events?kind=gpu.unhealthy"
UNH=$(j '.items[-1]')
WANT=$(jq -c --arg ra "$R_ACME" --arg ro "$R_OTHER" --arg a "$ACME" --arg o "$OTHER" \
    '[.data.reservations[] | if . == $ra then $a elif . == $ro then $o else "?" end] | sort' <<<"$UNH")
check "gpu.unhealthy names the org of the reservation on that GPU ($WANT)" \
    [ "$(jq -c '.orgs | sort' <<<"$UNH")" = "$WANT" -a "$(jq 'length' <<<"$WANT")" = 1 ]
call "$ACME_ADMIN" GET "/v1/events?kind=gpu.unhealthy"
A_SEES=$(j '.items | length')
call "$OTHER_ADMIN" GET "/v1/events?kind=gpu.unhealthy"
check "… its admin lists it, the other org's does not" \
    [ "$((A_SEES + $(j '.items | length')))" = 1 ]
tick_to $((T0 + 3 * HOUR - 601))
call "$OP" GET "/v1/events?kind=reservation.ending&limit=500"
check "no reservation.ending before --end-warning's lead" [ "$(j '.items | length')" = 0 ]
tick_to $((T0 + 3 * HOUR - 600))
check "reservation.ending comes --end-warning (600 s) ahead of the end" \
    [ "$(events reservation.ending "$R_ACME" | jq -r '"\(.org) \(.end) \(.in_s)"')" = "$ACME $(ts $((T0 + 3 * HOUR))) 600" ]
stop_server
must "the server restarts again" start_clocked_server 100 "${SERVER_ARGS[@]}"
tick_to $((T0 + 3 * HOUR - 300))
check "… once, across the restart" [ "$(events reservation.ending "$R_ACME" | wc -l)" = 1 ]
stop_server

# ---------------------------------------------------------------- a failed commit
if AL_STORE_FAULT=probe "$ALLOT" server init --db "$tmp/probe.db" >/dev/null 2>&1; then
    echo "# events_stream: the failed-commit part skipped, $ALLOT has no fault injection (not a debug build)"
    exit 0
fi
# no clock ticks (an hour apart): the commits are the suite's calls'; the 2nd fails
if AL_STORE_FAULT=commit:2 start_server "$U" "$tmp/fault.log" --db "$tmp/db" \
    --listen "127.0.0.1:$port" --tick-ms 3600000; then ok "server starts with a commit fault armed"; else
    nok "server starts with a commit fault armed"
    exit 1
fi
must "an operator's stream opens" stream fault "$OP"
call "$OP" POST /v1/orgs '{"name":"fa-1"}'
check "a first org is created" [ "$code" = 201 ]
call "$OP" POST /v1/orgs '{"name":"fa-2"}'
check "the second's commit fails (5xx)" [ "${code:0:1}" = 5 ]
call "$OP" POST /v1/orgs '{"name":"fa-3"}'
FA3=$(j .id)
check "a third is created" [ "$code" = 201 ]
wait_until 5 has fault org.created "$FA3"
check "the stream carries the first and the third org.created" \
    [ "$(sse fault | jq -r 'select(.kind == "org.created") | .data.name' | tr '\n' ' ')" = "fa-1 fa-3 " ]
check "… never the failed write's event, and each event once" \
    bash -c "! grep -q 'fa-2' '$tmp/fault.sse' && sed -n 's/^id: //p' '$tmp/fault.sse' | sort -c -u"
check "the server logged the failed commit" grep -q "commit of batch .* failed" "$tmp/fault.log"
stop_server
