#!/usr/bin/env bash
# webhooks.sh — webhooks end to end (docs/webhooks.md) against a real local HTTP receiver
# (tests/integration/webhook_receiver.py: records every POST's headers and body, can fail N
# times before it succeeds): registration and its checks (URL, events, roles), the signing
# secret shown once and never in the database in clear, deliveries of committed events with
# their headers and an HMAC-SHA256 signature recomputed here with Python's hmac and with
# openssl, retries with backoff on the server's test clock (--clock-file, --webhook-retry-base)
# until success, each attempt in the delivery log, a redirect not followed, a restart in the
# middle of the retries, org admins' hooks scoped to their org, a hook that keeps failing
# disabled (webhook.disabled), removal, the CLI, an org's hook kept from private addresses
# (--webhook-targets), and a clean stop. Prints "ok - …" /
# "not ok - …" per check. Needs $ALLOT, curl, jq, python3, openssl.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
tmp=$(mktemp -d /tmp/allot_webhooks.XXXXXX)
pid=
rpid=
# shellcheck disable=SC2064 # $tmp now
trap 'reap -KILL "$pid"; reap -KILL "$rpid"; rm_tmp' EXIT

T0=$(($(date -u +%s) / 86400 * 86400 + 86400))
NOW=$T0
write_clock "$NOW"
advance() { NOW=$((NOW + $1)) && write_clock "$NOW"; }
port=$(free_port)
rport=$(free_port)
while [ "$rport" = "$port" ]; do rport=$(free_port); done
U=http://127.0.0.1:$port
R=http://127.0.0.1:$rport
rdir=$tmp/recv
mkdir -p "$rdir"
: >"$rdir/requests.jsonl"

OP=$(operator_token "$tmp/db")
check "server init makes the secret key file, mode 0600" \
    test "$(stat -c %a "$tmp/db.key" 2>/dev/null)" = 600
python3 "$AL_ROOT/tests/integration/webhook_receiver.py" "$rdir" "$rport" 2>"$tmp/receiver.log" &
rpid=$!
must "the receiver listens" wait_until 20 test -s "$rdir/port"
serve() {
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms 200 --webhook-retry-base 10 --webhook-fail-limit 3 \
        "$@"
}
must "server starts" serve --webhook-targets any

# ---- registration ----
call "$OP" POST /v1/webhooks "{\"url\":\"$R/all\",\"events\":[\"*\"],\"description\":\"ops\"}"
expect "operator registers a hook for every event: 201" 201
ALL=$(j .id)
SECRET_ALL=$(j .secret)
check "the answer shows the secret once (whsec_…), org null, active" \
    test "$(j '[(.secret|startswith("whsec_")), .org, .active, .failures] | @csv')" = 'true,,true,0'
call "$OP" GET "/v1/webhooks/$ALL"
check "GET shows the hook without its secret" test "$(j '.secret // "none"'),$(j .url)" = "none,$R/all"

call "$OP" POST /v1/webhooks '{"events":["*"]}'
expect "no url: 400 naming url" 400 invalid_argument url
call "$OP" POST /v1/webhooks '{"url":"ftp://127.0.0.1/x","events":["*"]}'
expect "an ftp url: 400 naming url" 400 invalid_argument url
call "$OP" POST /v1/webhooks "{\"url\":\"http://user:pw@127.0.0.1:$rport/x\",\"events\":[\"*\"]}"
expect "credentials in the url: 400 naming url" 400 invalid_argument url
call "$OP" POST /v1/webhooks "{\"url\":\"$R/x\",\"events\":[\"no.such\"]}"
expect "an unknown event kind: 400 naming events" 400 invalid_argument events
call "$OP" POST /v1/webhooks "{\"url\":\"$R/x\",\"events\":[]}"
expect "no event kinds: 400 naming events" 400 invalid_argument events
call "$OP" POST /v1/webhooks "{\"url\":\"$R/x\",\"events\":[\"reservation.*\"],\"extra\":1}"
expect "an unknown field: 400" 400 invalid_argument extra

# ---- a delivery, its headers and signature ----
# req FILTER: the last recorded request that jq FILTER selects (compact JSON), or nothing
req() { jq -c "select($1)" "$rdir/requests.jsonl" 2>/dev/null | tail -1; }
has_req() { [ -n "$(req "$1")" ]; }
call "$OP" POST /v1/orgs '{"name":"acme"}'
ORG_A=$(j .id)
must "the org.created event reaches the receiver" \
    wait_until 20 has_req '.path == "/all" and (.body | fromjson | .type) == "org.created"'
rec=$(req '.path == "/all" and (.body | fromjson | .type) == "org.created"')
body=$(jq -r .body <<<"$rec")
ts_h=$(jq -r '.headers["Allot-Timestamp"]' <<<"$rec")
sig=$(jq -r '.headers["Allot-Signature"]' <<<"$rec")
did=$(jq -r '.headers["Allot-Delivery-Id"]' <<<"$rec")
check "headers: Allot-Webhook-Id, Allot-Delivery-Id, Allot-Timestamp (the server's clock)" \
    test "$(jq -r '.headers["Allot-Webhook-Id"]' <<<"$rec"),${did%%_*},$ts_h" = "$ALL,whd,$NOW"
check "body: {id evt_…, type, created_at, data: the event}" \
    test "$(jq -r '[(.id|startswith("evt_")), .type, (.data.object == "'"$ORG_A"'"), (.data.id == .id)] | @csv' <<<"$body")" \
    = 'true,"org.created",true,true'
verify_py() { # verify_py REC SECRET: Python's hmac recomputes the signature
    python3 - "$1" "$2" <<'EOF'
import hashlib, hmac, json, sys
rec = json.loads(sys.argv[1])
h = rec["headers"]
mac = hmac.new(sys.argv[2].encode(), (h["Allot-Timestamp"] + "." + rec["body"]).encode(),
               hashlib.sha256).hexdigest()
sys.exit(0 if hmac.compare_digest("v1=" + mac, h["Allot-Signature"]) else 1)
EOF
}
check "the signature verifies with Python's hmac" verify_py "$rec" "$SECRET_ALL"
osig=$(printf '%s.%s' "$ts_h" "$body" | openssl dgst -sha256 -hmac "$SECRET_ALL" -r | cut -d' ' -f1)
check "the signature verifies with openssl dgst -hmac" test "v1=$osig" = "$sig"
not() { ! "$@"; }
check "a wrong secret does not verify" not verify_py "$rec" whsec_wrong

delivered() { # delivered HOOK DELIVERY STATUS: the log shows DELIVERY in STATUS
    call "$OP" GET "/v1/webhooks/$1/deliveries?limit=500"
    [ "$(j ".items[] | select(.id == \"$2\") | .status")" = "$3" ]
}
must "the delivery log shows it delivered" wait_until 10 delivered "$ALL" "$did" delivered
check "log entry: event evt_…, attempt 1, http 200, no error, delivered_at" \
    test "$(j ".items[] | select(.id == \"$did\") | [(.event|startswith(\"evt_\")), .kind, .attempt, .http_status, .error, .delivered_at != null, (.attempts|length)] | @csv")" \
    = 'true,"org.created",1,200,,true,1'

# ---- retries with backoff on the test clock ----
# the receiver answers 500 twice, then 200; the ping's attempts wait the backoff each time
echo 2 >"$rdir/fail"
call "$OP" POST "/v1/webhooks/$ALL/test"
expect "POST /test queues a ping: 202 pending" 202
PING=$(j .id)
check "the ping: kind webhook.test, no event" test "$(j '[.kind, .event, .status] | @csv')" = '"webhook.test",,"pending"'
npings() { jq -c "select(.headers[\"Allot-Delivery-Id\"] == \"$PING\")" "$rdir/requests.jsonl" | wc -l; }
pinged() { [ "$(npings)" -ge "$1" ]; } # the receiver got at least $1 attempts of $PING
must "attempt 1 reaches the receiver (answered 500)" wait_until 10 pinged 1
must "the log shows it retrying" wait_until 10 delivered "$ALL" "$PING" retrying
entry() { j ".items[] | select(.id == \"$PING\") | $1"; }
next1=$(entry .next_at)
check "attempt 1: http 500, next_at within the first backoff (1..10 s)" \
    test "$(entry '[.attempt, .http_status] | @csv'),$(($(date -u -d "$next1" +%s) - NOW))" \
    -a "$(($(date -u -d "$next1" +%s) - NOW))" -ge 1 -a "$(($(date -u -d "$next1" +%s) - NOW))" -le 10
sleep 1.2
check "not retried before its time" test "$(npings)" = 1
advance 10
must "attempt 2 after the clock passed its wait" wait_until 10 pinged 2
at_attempt() { delivered "$ALL" "$PING" "$1" && [ "$(entry .attempt)" = "$2" ]; }
must "the log shows attempt 2 retrying" wait_until 10 at_attempt retrying 2
next2=$(entry .next_at)
check "attempt 2: next_at within the second backoff (1..30 s)" \
    test "$(($(date -u -d "$next2" +%s) - NOW))" -ge 1 -a "$(($(date -u -d "$next2" +%s) - NOW))" -le 30
advance 30
must "attempt 3 delivers" wait_until 10 delivered "$ALL" "$PING" delivered
check "the log: 3 attempts (500, 500, 200), each with its time" \
    test "$(entry '[.attempt, ([.attempts[].http_status] | map(tostring) | join("/")), ([.attempts[].at] | length)] | @csv')" = '3,"500/500/200",3'
check "every attempt sent the same body, each signed for its own timestamp" \
    test "$(jq -sc "[.[] | select(.headers[\"Allot-Delivery-Id\"] == \"$PING\")] | [(map(.body) | unique | length), (map(.headers[\"Allot-Timestamp\"]) | unique | length)]" "$rdir/requests.jsonl")" = '[1,3]'
lastping=$(jq -c "select(.headers[\"Allot-Delivery-Id\"] == \"$PING\")" "$rdir/requests.jsonl" | tail -1)
check "the last attempt's signature verifies" verify_py "$lastping" "$SECRET_ALL"
call "$OP" GET "/v1/webhooks/$ALL"
check "a success clears the hook's failures" test "$(j .failures)" = 0

# ---- a redirect is an answer, not followed ----
echo 302 >"$rdir/fail_status"
echo 1 >"$rdir/fail"
call "$OP" POST "/v1/webhooks/$ALL/test"
PING=$(j .id)
must "a 302 is logged as a failed attempt" wait_until 10 delivered "$ALL" "$PING" retrying
check "http_status 302, and nothing was posted to the Location" \
    test "$(entry .http_status),$(jq -c 'select(.path == "/elsewhere")' "$rdir/requests.jsonl" | wc -l)" = "302,0"
rm -f "$rdir/fail_status"

# ---- a restart in the middle of the retries ----
echo 1 >"$rdir/fail"
call "$OP" POST "/v1/webhooks/$ALL/test"
PING2=$(j .id)
must "the ping fails once before the restart" wait_until 10 delivered "$ALL" "$PING2" retrying
check "SIGTERM: the server stops cleanly (exit 0)" stop_server
must "server starts again" serve --webhook-targets any
advance 3600
both_delivered() { delivered "$ALL" "$PING" delivered && delivered "$ALL" "$PING2" delivered; }
must "after the restart, both pings are retried and delivered" \
    wait_until 20 both_delivered
PING=$PING2
check "the restarted ping: attempt 2, delivered" test "$(entry '[.attempt, .status] | @csv')" = '2,"delivered"'

# ---- org admins: their org's hooks and events only ----
call "$OP" POST /v1/orgs '{"name":"globex"}'
expect "a second org: 201" 201
call "$OP" POST /v1/users '{"name":"ada","role":"org_admin","org":"acme"}'
ADM=$(j .token)
call "$OP" POST /v1/users '{"name":"mo","role":"member","org":"acme"}'
MEM=$(j .token)
call "$MEM" POST /v1/webhooks "{\"url\":\"$R/mem\",\"events\":[\"*\"]}"
expect "a member may not register a hook: 403" 403
call "$ADM" POST /v1/webhooks "{\"url\":\"$R/globex\",\"events\":[\"*\"],\"org\":\"globex\"}"
expect "an org admin may not register for another org: 404 naming org" 404 not_found org
call "$ADM" POST /v1/webhooks "{\"url\":\"$R/acme\",\"events\":[\"user.*\",\"price.set\"]}"
expect "an org admin registers a hook: 201, for their org" 201
ADM_HOOK=$(j .id)
SECRET_ADM=$(j .secret)
check "the admin's hook serves their org" test "$(j .org)" = "$ORG_A"
call "$ADM" GET /v1/webhooks
check "the admin lists only their org's hooks" test "$(j '[.items[].id] | join(",")')" = "$ADM_HOOK"
call "$ADM" GET "/v1/webhooks/$ALL"
expect "the operator's hook is not the admin's to see: 404" 404 not_found
call "$ADM" GET "/v1/webhooks/$ALL/deliveries"
expect "nor its delivery log: 404" 404 not_found
call "$ADM" POST "/v1/webhooks/$ALL/test"
expect "nor its test: 404" 404 not_found
call "$OP" GET /v1/webhooks
check "the operator lists every hook" test "$(j '[.items[].id] | sort | join(",")')" = "$(printf '%s\n' "$ALL" "$ADM_HOOK" | sort | paste -sd,)"
# another org's event and a fleet event first, then one of the admin's org
call "$OP" POST /v1/users '{"name":"gus","role":"member","org":"globex"}'
GUS=$(j .user.id)
call "$OP" PUT /v1/prices/A100-SXM4-80GB '{"gpu_hour":2000000,"mig_slice_hour":300000,"pool_gpu_hour":2500000}'
call "$OP" POST /v1/users '{"name":"eve","role":"member","org":"acme"}'
EVE=$(j .user.id)
must "the admin's hook receives its org's user.created" \
    wait_until 20 has_req ".path == \"/acme\" and (.body | fromjson | .data.object) == \"$EVE\""
check "its signature verifies with the admin's secret" \
    verify_py "$(req ".path == \"/acme\" and (.body | fromjson | .data.object) == \"$EVE\"")" "$SECRET_ADM"
check "another org's event and the fleet's never reach it" \
    test "$(req ".path == \"/acme\" and ((.body | fromjson | .data.object) == \"$GUS\" or (.body | fromjson | .type) == \"price.set\")")" = ""
check "the operator's hook got those" has_req ".path == \"/all\" and (.body | fromjson | .data.object) == \"$GUS\""

# ---- a hook that keeps failing is disabled ----
dead=$(free_port)
call "$OP" POST /v1/webhooks "{\"url\":\"http://127.0.0.1:$dead/dead\",\"events\":[\"org.*\"]}"
DEAD=$(j .id)
SECRET_DEAD=$(j .secret)
call "$OP" POST "/v1/webhooks/$DEAD/test"
PING=$(j .id)
hook_failures() { call "$OP" GET "/v1/webhooks/$DEAD" && [ "$(j .failures)" -ge "$1" ]; }
must "attempt 1 fails (connection refused)" wait_until 10 hook_failures 1
call "$OP" GET "/v1/webhooks/$DEAD/deliveries"
check "the log names the error, no http status" \
    test "$(entry '[.status, .http_status, (.error | length > 0)] | @csv')" = '"retrying",,true'
advance 3600
must "attempt 2 fails" wait_until 10 hook_failures 2
advance 3600
dead_ended() { call "$OP" GET "/v1/webhooks/$DEAD" && [ "$(j .active)" = false ]; }
must "after 3 failed attempts (--webhook-fail-limit 3) the hook is disabled" wait_until 10 dead_ended
call "$OP" GET "/v1/webhooks/$DEAD/deliveries"
check "its delivery failed for good: webhook disabled, no next attempt" \
    test "$(entry '[.status, .error, .next_at, .attempt] | @csv')" = '"failed","webhook disabled",,3'
call "$OP" GET "/v1/events?limit=500"
check "a webhook.disabled event names it" \
    test "$(j "[.items[] | select(.kind == \"webhook.disabled\" and .object == \"$DEAD\")] | length")" = 1
must "the operator's hook is told (webhook.disabled)" \
    wait_until 10 has_req ".path == \"/all\" and (.body | fromjson | .type) == \"webhook.disabled\""
call "$OP" POST "/v1/webhooks/$DEAD/test"
expect "a disabled hook's test: 409" 409

# ---- removal ----
call "$ADM" DELETE "/v1/webhooks/$ADM_HOOK"
expect "the admin removes their hook: 200" 200
check "the answer: the hook, inactive" test "$(j '[.id, .active] | @csv')" = "\"$ADM_HOOK\",false"
call "$ADM" GET "/v1/webhooks/$ADM_HOOK"
expect "a removed hook is gone: 404" 404 not_found
call "$ADM" GET /v1/webhooks
check "and not listed" test "$(j '.items | length')" = 0

# ---- the CLI ----
cli() { "$ALLOT" "$@" --server "$U" --token "$OP"; }
out=$(cli webhook create --url "$R/cli" --events "reservation.*,balance.low" --description cli)
CLI_HOOK=$(sed -n 's/^created webhook \([^ ]*\) .*/\1/p' <<<"$out")
SECRET_CLI=$(sed -n 's/^signing secret (shown only now): //p' <<<"$out")
check "allot webhook create prints the hook and its secret once" \
    test -n "$CLI_HOOK" -a "${SECRET_CLI:0:6}" = whsec_
check "allot webhook list shows it" bash -c "'$ALLOT' webhook list --server '$U' --token '$OP' | grep -q '$CLI_HOOK'"
check "allot webhook show -o json: its events" \
    test "$(cli webhook show "$CLI_HOOK" -o json | jq -c .events)" = '["reservation.*","balance.low"]'
check "allot webhook test queues a ping" bash -c "'$ALLOT' webhook test '$CLI_HOOK' --server '$U' --token '$OP' | grep -q pending"
cli_log() { [ "$(cli webhook deliveries "$CLI_HOOK" -o json | jq -r '.items[0].status')" = delivered ]; }
must "allot webhook deliveries shows it delivered" wait_until 10 cli_log
check "allot webhook delete removes it" bash -c "'$ALLOT' webhook delete '$CLI_HOOK' --server '$U' --token '$OP' >/dev/null && ! '$ALLOT' webhook show '$CLI_HOOK' --server '$U' --token '$OP' 2>/dev/null"
check "allot webhook create without --events: usage error (2)" \
    bash -c "'$ALLOT' webhook create --url '$R/x' --server '$U' --token '$OP' 2>/dev/null; [ \$? = 2 ]"

# ---- SIGTERM during an attempt that gets no answer ----
echo 30 >"$rdir/hang"
call "$OP" POST "/v1/webhooks/$ALL/test"
HUNG=$(j .id)
PING=$HUNG
must "an attempt is under way (the receiver holds it)" wait_until 10 pinged 1
t0=$(date +%s)
check "SIGTERM during the attempt: the server stops cleanly (exit 0)" stop_server
check "… at once, without waiting for the receiver (under 8 s)" test $(($(date +%s) - t0)) -lt 8
rm -f "$rdir/hang"

# ---- an org's hook reaches public addresses only (the default --webhook-targets public) ----
must "server starts with --webhook-targets public (the default)" serve
call "$ADM" POST /v1/webhooks "{\"url\":\"$R/inside\",\"events\":[\"user.*\"]}"
INSIDE=$(j .id)
SECRET_INSIDE=$(j .secret)
call "$ADM" POST "/v1/webhooks/$INSIDE/test"
PING=$(j .id)
must "the admin's hook to 127.0.0.1 is refused before connecting" \
    wait_until 10 delivered "$INSIDE" "$PING" retrying
check "the log says why; the receiver got nothing" \
    test "$(entry '.error | startswith("refused: the address is not public")'),$(req '.path == "/inside"')" = true,
call "$OP" POST "/v1/webhooks/$ALL/test"
PING=$(j .id)
must "the operator's hook still reaches it" wait_until 10 delivered "$ALL" "$PING" delivered
PING=$HUNG
must "the attempt cut by the stop is made again after the start" \
    wait_until 10 delivered "$ALL" "$HUNG" delivered
check "… and the cut one was not counted: attempt 1" test "$(entry .attempt)" = 1

# ---- secrets never in the database in clear; a clean stop ----
check "SIGTERM: the server stops cleanly (exit 0)" stop_server
in_db() { al_db_files "$tmp/db" | xargs -r cat 2>/dev/null | grep -a -c -F "$1"; }
for s in "$SECRET_ALL" "$SECRET_ADM" "$SECRET_DEAD" "$SECRET_CLI" "$SECRET_INSIDE"; do
    check "secret ${s:0:10}… is not in the database files" test "$(in_db "$s")" = 0
done
check "the secrets are in the database sealed" test "$(sqlite3 "$tmp/db" "SELECT count(*) FROM webhooks WHERE secret_box NOT LIKE 'whsec_%'")" = 5
chmod 644 "$tmp/db.key"
check "a secret key file others may read is refused at start" \
    bash -c "! '$ALLOT' server --db '$tmp/db' --listen 127.0.0.1:$port --clock-file '$tmp/clock' 2>'$tmp/refused.log' && grep -q 'chmod 600' '$tmp/refused.log'"
