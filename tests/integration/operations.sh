#!/usr/bin/env bash
# operations.sh — issue 13 end to end, as an operator runs allot and a customer hears from it:
# one `allot server` started from a config file alone (no flag but --config), serving a
# self-service reservation through its window on the test clock, while
#   - an org admin's webhook (a real local receiver, tests/integration/webhook_receiver.py)
#     gets reservation.starting, reservation.active, reservation.ending and reservation.ended,
#     each signed (HMAC-SHA256 recomputed with openssl), and the delivery log says delivered;
#   - the org admin's event stream (`allot events --follow`, libcurl) and another org's
#     (`curl -N …/v1/events?follow=1`) run live: the first sees the same events, the second
#     none of them;
#   - GET /metrics, read with the config file's metrics token, passes `promtool check metrics`
#     and counts the reservation call, the reservation by state, the heartbeats and the commits;
#   - the access log file holds one JSON line per call, and never a token.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, python3, openssl, promtool.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_ops.XXXXXX)
server_pid=
pid=
rx_pid=
f1_pid=
f2_pid=
cleanup() {
    reap -KILL "${f1_pid-}"
    reap -KILL "${f2_pid-}"
    reap -KILL "${rx_pid-}"
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

HOUR=3600
M=1000000
T0=$(($(date +%s) / HOUR * HOUR))
write_clock "$T0"
NOW=$T0
OP=$(operator_token "$tmp/db")
head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$tmp/metrics.token"
MTOK=$(cat "$tmp/metrics.token")

port=$(free_port)
U=http://127.0.0.1:$port
cat >"$tmp/allot.conf" <<CONF
# what an operator writes in /etc/allot/allot.conf (docs/operations.md)
[server]
$(al_conf_db "$tmp/db")
listen = 127.0.0.1:$port
tick-ms = 200
heartbeat-timeout = 31622400
start-notice = 600
end-warning = 600
access-log = $tmp/access.log
metrics-token-file = $tmp/metrics.token
webhook-targets = any
webhook-retry-base = 1
clock-file = $tmp/clock
CONF
must "the server starts from its config file alone" \
    start_server "$U" "$tmp/server.log" --config "$tmp/allot.conf"

# ---- the fleet, two orgs, acme's contract ----
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 2
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((4 * M))}"
VT=$(ts $((T0 + 400 * 86400)))
org acme
ACME=$ADMIN
ACME_ID=$ORG_ID
contract acme prepaid "\"credit_limit_micros\":0,\"self_service\":true"
topup acme $((1000 * M)) acme-1
org globex
GLOBEX=$ADMIN

# ---- acme's webhook, at a real receiver ----
rport=$(free_port)
mkdir -p "$tmp/rx"
python3 "$AL_ROOT/tests/integration/webhook_receiver.py" "$tmp/rx" "$rport" &
rx_pid=$!
must "the webhook receiver listens" wait_until 10 test -s "$tmp/rx/port"
call "$ACME" POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$rport/allot\",\"events\":[\"reservation.*\"]}"
expect "acme's admin registers a webhook for reservation.*" 201
HOOK=$(j .id)
SECRET=$(j .secret)

# ---- two live streams: acme's (the CLI) and globex's (curl -N) ----
"$ALLOT" events --follow --server "$U" --token "$ACME" -o json >"$tmp/acme.stream" 2>"$tmp/acme.err" &
f1_pid=$!
curl -sN -H "Authorization: Bearer $GLOBEX" "$U/v1/events?follow=1" >"$tmp/globex.stream" &
f2_pid=$!
sleep 1

# ---- a self-service reservation, 20 minutes from now, for an hour ----
START=$((T0 + 1200))
END=$((START + HOUR))
call "$ACME" POST /v1/reservations "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":1,\"duration_hours\":1,\"earliest_start\":\"$(ts $START)\",\"latest_start\":\"$(ts $START)\"}" \
    -H "Idempotency-Key: ops-1"
expect "acme reserves an H100 for an hour, self-service" 201
RSV=$(j .id)

# the clock walks through the window: the notice 600 s ahead, the start, the ending notice, the end
for at in $((START - 600)) "$START" $((END - 600)) "$END"; do
    tick_to "$at" || break
done

received() { jq -r '(.body | fromjson) | .type' "$tmp/rx/requests.jsonl" 2>/dev/null; }
got_all() {
    local k
    for k in reservation.starting reservation.active reservation.ending reservation.ended; do
        received | grep -qx "$k" || return 1
    done
}
check "the webhook received reservation.starting, .active, .ending and .ended" wait_until 20 got_all
check "… each once (no duplicate delivery)" \
    test "$(received | sort | uniq -d | wc -l)" -eq 0
check "… and only acme's reservation events (every body names $RSV or acme)" \
    test "$(jq -r '(.body | fromjson) | .data | select((.object != "'"$RSV"'") and ((.orgs | index("'"$ACME_ID"'")) == null)) | .id' \
        "$tmp/rx/requests.jsonl" | wc -l)" -eq 0
bad_sigs=0
while IFS= read -r rec; do
    tsh=$(jq -r '.headers["Allot-Timestamp"]' <<<"$rec")
    bdy=$(jq -r '.body' <<<"$rec")
    want=$(printf '%s.%s' "$tsh" "$bdy" | openssl dgst -sha256 -hmac "$SECRET" -r | cut -d' ' -f1)
    [ "v1=$want" = "$(jq -r '.headers["Allot-Signature"]' <<<"$rec")" ] || bad_sigs=$((bad_sigs + 1))
done <"$tmp/rx/requests.jsonl"
check "every delivery's signature verifies with openssl (HMAC-SHA256 of timestamp.body)" \
    test "$bad_sigs" -eq 0
all_delivered() {
    call "$ACME" GET "/v1/webhooks/$HOOK/deliveries?limit=500"
    [ "$(j '[.items[] | select(.status != "delivered")] | length')" = 0 ] &&
        [ "$(j '.items | length')" -ge 4 ]
}
check "the delivery log shows every delivery delivered" wait_until 10 all_delivered

# ---- the streams ----
stream_kinds() { jq -r '.kind' "$tmp/acme.stream" 2>/dev/null; }
stream_all() {
    local k
    for k in reservation.starting reservation.active reservation.ending reservation.ended; do
        stream_kinds | grep -qx "$k" || return 1
    done
}
check "acme's live stream (allot events --follow) saw the same four events" wait_until 10 stream_all
check "… in order: starting, active, ending, ended" test \
    "$(stream_kinds | grep -E '^reservation\.(starting|active|ending|ended)$' | paste -sd,)" = \
    "reservation.starting,reservation.active,reservation.ending,reservation.ended"
check "globex's live stream (curl -N) got none of acme's events" \
    test "$(grep -c "$RSV\|$ACME_ID" "$tmp/globex.stream")" -eq 0
check "… while it was open all along (keepalives or its own events only)" kill -0 "$f2_pid"

# ---- metrics, with the config file's token ----
curl -s -H "Authorization: Bearer $MTOK" -o "$tmp/metrics.txt" -w '%{http_code}' "$U/metrics" >"$tmp/metrics.code"
check "GET /metrics with the metrics token → 200" test "$(cat "$tmp/metrics.code")" = 200
check "promtool check metrics passes on it" promtool check metrics <"$tmp/metrics.txt"
metric() { grep -E "^$1" "$tmp/metrics.txt" | awk '{s += $NF} END {print s + 0}'; }
check "the reservation call is counted (POST /v1/reservations 201)" test \
    "$(metric 'allot_http_requests_total\{[^}]*route="/v1/reservations"[^}]*method="POST"[^}]*status="201"')" -ge 1
check "the reservation is counted ended" test \
    "$(metric 'allot_reservations\{state="ended"')" -ge 1
check "the agent's heartbeat is counted" test "$(metric allot_agent_heartbeats_total)" -ge 1
check "commits are counted (fsync histogram)" test "$(metric allot_commit_fsync_seconds_count)" -ge 1
curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ACME" "$U/metrics" >"$tmp/m2.code"
check "an org admin may not read /metrics (403)" test "$(cat "$tmp/m2.code")" = 403

# ---- the access log ----
sleep 1.5 # written within a second
check "the access log holds JSON lines, one per call" \
    test "$(jq -c 'select(.method and .status and .route)' "$tmp/access.log" | wc -l)" -ge 10
check "… the reservation call among them" \
    test "$(jq -c 'select(.method == "POST" and .path == "/v1/reservations" and .status == 201)' "$tmp/access.log" | wc -l)" -ge 1
leaked=0
for t in "$OP" "$ACME" "$GLOBEX" "$AGENT" "$MTOK" "$SECRET"; do
    grep -qF "$t" "$tmp/access.log" "$tmp/server.log" && leaked=$((leaked + 1))
done
check "no token or webhook secret in the access log or the server's log" test "$leaked" -eq 0
check "the webhook secret is nowhere in the database files in clear" \
    test "$(al_db_files "$tmp/db" | xargs -r -d '\n' cat | grep -a -c -F "$SECRET")" -eq 0

verify "after the reservation's window"
must "a clean stop (SIGTERM)" stop_server
