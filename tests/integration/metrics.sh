#!/usr/bin/env bash
# metrics.sh — GET /metrics on a real server that has served real calls: who may read it (an
# operator, the --metrics-token-file token; not an org admin, a wrong token or nobody), the
# text passes `promtool check metrics` (Debian's prometheus package), and its values move with
# the calls: the request counter of a route (and of unmatched paths), the heartbeat counter and
# each node's heartbeat age, GPUs and MIG instances by state (free, then held once a
# reservation's window over them begins), a GPU held likewise, reservations by state, the
# ledger's balances, the group commit's batch and fsync histograms. And the access log (--access-log FILE): one JSON line per call, written
# within a second, without the query string or a token.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, promtool.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$AL_ROOT/tests/integration/lib.sh"
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_metrics.XXXXXX)
pid=
trap_stop_server -KILL

if ! command -v promtool >/dev/null; then
    nok "promtool is installed (scripts/deps.sh test: Debian's prometheus package)"
    exit 1
fi

T0=$(($(date +%s) / 3600 * 3600))
DAY=86400
M=1000000
write_clock "$T0"
OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
MT=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
printf '%s\n' "$MT" >"$tmp/metrics.token"
chmod 600 "$tmp/metrics.token"
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts with --metrics-token-file and --access-log" \
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
    --clock-file "$tmp/clock" --tick-ms 3600000 --metrics-token-file "$tmp/metrics.token" \
    --access-log "$tmp/access.log"

# scrape [TOKEN]: GET /metrics with the metrics token (or TOKEN) into $tmp/metrics.txt; $code
scrape() {
    code=$(curl -s -D "$tmp/mhdr" -o "$tmp/metrics.txt" -w '%{http_code}' \
        -H "Authorization: Bearer ${1:-$MT}" "$U/metrics")
}
# value SERIES: the value of the exact series (name{labels} as written) in the last scrape,
# or "none"
value() {
    awk -v s="$1" 'index($0, s " ") == 1 { v = substr($0, length(s) + 2) } END { print (v == "" ? "none" : v) }' \
        "$tmp/metrics.txt"
}

# ---------------------------------------------------------------- who may read it
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' "$U/metrics")
body=$(cat "$tmp/resp")
expect "no token → 401" 401 unauthenticated
scrape "not-the-metrics-token"
check "a wrong token → 401" [ "$code" = 401 ]
org acme
scrape "$ADMIN"
check "an org admin → 403" [ "$code" = 403 ]
scrape "$OP"
check "an operator → 200" [ "$code" = 200 ]
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: bEaReR   $MT " "$U/metrics")
check "the metrics token → 200 (the scheme in any case, blanks around the token)" [ "$code" = 200 ]
scrape
check "the metrics token → 200" [ "$code" = 200 ]
check "… text/plain; version=0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/mhdr"
check "… promtool check metrics passes on a fresh server's text" \
    promtool check metrics <"$tmp/metrics.txt"
check "… build info and start time" \
    grep -qE '^allot_build_info\{version="[0-9.]+",debug="(true|false)"\} 1$' "$tmp/metrics.txt"
check "… and start time" [ "$(value allot_process_start_time_seconds | cut -d. -f1)" -ge "$T0" ]
heartbeats0=$(value allot_agent_heartbeats_total)
fsync0=$(value allot_commit_fsync_seconds_count)
batch0=$(value allot_commit_batch_units_count)
check "… no reservation yet, every state listed" \
    [ "$(value 'allot_reservations{state="scheduled"}')" = 0 -a \
    "$(value 'allot_reservations{state="active"}')" = 0 ]

# ---------------------------------------------------------------- calls move the values
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
cat >"$tmp/state.json" <<'JSON'
{"gpus":[
 {"index":0,"model":"H100-80GB","uuid":"GPU-met-h100-0000","mig":{"current":true},
  "instances":[{"gi":1,"profile":"3g.40gb","start":0,"uuid":"MIG-met-3g-0001"},
               {"gi":2,"profile":"1g.10gb","start":6,"uuid":"MIG-met-1g-0002"}]}]}
JSON
"$ALLOT" agent --driver sim --state "$tmp/state.json" --node n1 --observe >"$tmp/obs.json"
call "$AGENT" PUT /v1/nodes/n1 \
    "$(jq -c '{zone: "z1", gpus: [.gpus[] | .pool = "dedicated"]}' "$tmp/obs.json")"
expect "node n1 reports one H100 in MIG mode, two instances" 200
node l1 L40S 2
expect "node l1 reports two L40S" 200
call "" GET /no/such/path
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$M}"
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$M,\"mig_slice_hour_micros\":$M}"
VT=$(ts $((T0 + 400 * DAY)))
contract acme prepaid "\"credit_limit_micros\":0"
topup acme $((500 * M)) acme-1
expect "a top-up of 500 units" 201
reserve acme "$ADMIN" "$(gpus L40S 1 $((T0 + 30)) $((T0 + 3600 + 30)))"
check "a reservation of one L40S from T0+30 s" [ "${RID:0:4}" = rsv_ ]
write_clock $((T0 + 60)) # its window began; the nodes' heartbeats are 60 s old

scrape
cp "$tmp/metrics.txt" "$tmp/metrics-after-calls.txt"
check "promtool check metrics passes after real calls" promtool check metrics <"$tmp/metrics.txt"
check "the heartbeat counter moved by the two reports" \
    [ "$(value allot_agent_heartbeats_total)" = $((heartbeats0 + 2)) ]
check "PUT /v1/nodes/* 200 counted twice" \
    [ "$(value 'allot_http_requests_total{route="/v1/nodes/*",method="PUT",status="200"}')" = 2 ]
check "an unknown path counted as route unmatched, 404" \
    [ "$(value 'allot_http_requests_total{route="unmatched",method="GET",status="404"}')" = 1 ]
check "the 401s of the first scrapes counted on /metrics" \
    [ "$(value 'allot_http_requests_total{route="/metrics",method="GET",status="401"}')" = 2 ]
check "a latency histogram for POST /v1/requests, its count the calls" \
    [ "$(value 'allot_http_request_duration_seconds_count{route="/v1/requests",method="POST"}')" = 1 \
    -a "$(value 'allot_http_request_duration_seconds_bucket{route="/v1/requests",method="POST",le="+Inf"}')" = 1 ]
check "reservations: one scheduled" [ "$(value 'allot_reservations{state="scheduled"}')" = 1 ]
check "GPUs by state: one H100 and two L40S usable" \
    [ "$(value 'allot_gpus{model="H100-80GB",state="usable"}')" = 1 -a \
    "$(value 'allot_gpus{model="L40S-48GB",state="usable"}')" = 2 -a \
    "$(value 'allot_gpus{model="L40S-48GB",state="node_offline"}')" = 0 ]
check "one L40S held now (the reservation's window began)" \
    [ "$(value 'allot_gpus_held{model="L40S-48GB"}')" = 1 -a \
    "$(value 'allot_gpus_held{model="H100-80GB"}')" = 0 ]
check "MIG instances by profile: a 3g.40gb and a 1g.10gb, free" \
    [ "$(value 'allot_mig_instances{model="H100-80GB",profile="3g.40gb",state="free"}')" = 1 -a \
    "$(value 'allot_mig_instances{model="H100-80GB",profile="1g.10gb",state="free"}')" = 1 ]
check "heartbeat age by node, from the clock: 60 s" \
    [ "$(value 'allot_node_heartbeat_age_seconds{node="n1"}')" = 60 -a \
    "$(value 'allot_nodes_online{node="l1"}')" = 1 ]
cash=$(cash acme)
check "ledger: org cash summed is the org's cash balance ($cash), the top-up's external side" \
    [ "$(value 'allot_ledger_balance_micros{account="org_cash"}')" = "$cash" -a \
    "$(value 'allot_ledger_balance_micros{account="external"}')" = $((-500 * M)) ]
check "the fsync histogram counted the writes' batches" \
    [ "$(value allot_commit_fsync_seconds_count)" -gt "$fsync0" -a \
    "$(value allot_commit_batch_units_count)" -gt "$batch0" -a \
    "$(value 'allot_commit_fsync_seconds_bucket{le="+Inf"}')" = "$(value allot_commit_fsync_seconds_count)" ]
check "histogram bounds are written exactly (le=\"0.025\")" \
    grep -q 'allot_commit_fsync_seconds_bucket{le="0.025"}' "$tmp/metrics.txt"

# a whole H100 reserved over its two MIG instances: they become held once its window begins
reserve acme "$ADMIN" "$(gpus H100-80GB 1 $((T0 + 120)) $((T0 + 3600 + 120)))"
check "a reservation of the H100 from T0+2 min" [ "${RID:0:4}" = rsv_ ]
write_clock $((T0 + 150))
scrape
check "… its MIG instances are now held, none free" \
    [ "$(value 'allot_mig_instances{model="H100-80GB",profile="3g.40gb",state="held"}')" = 1 -a \
    "$(value 'allot_mig_instances{model="H100-80GB",profile="1g.10gb",state="held"}')" = 1 -a \
    "$(value 'allot_mig_instances{model="H100-80GB",profile="1g.10gb",state="free"}')" = none ]
check "… the H100 is held, and two reservations are scheduled" \
    [ "$(value 'allot_gpus_held{model="H100-80GB"}')" = 1 -a \
    "$(value 'allot_reservations{state="scheduled"}')" = 2 ]

# ---------------------------------------------------------------- the access log
call "$OP" GET "/v1/orgs?limit=2&secret=abc"
logged() { grep -q '"path":"/v1/orgs","route":"/v1/orgs","status":200' "$tmp/access.log"; }
check "the access log has the call within about a second" wait_until 3 logged
line=$(grep '"path":"/v1/orgs","route":"/v1/orgs"' "$tmp/access.log" | tail -1)
check "… one JSON object with every field" \
    jq -e 'has("time") and .method == "GET" and .status == 200 and (.ms | type) == "number"
        and (.user | startswith("usr_")) and .client == "127.0.0.1" and .bytes > 0' \
    <<<"$line" >/dev/null
check "… every line is JSON" jq -e . "$tmp/access.log" >/dev/null
check "… no query string, no token, anywhere in it" \
    bash -c "! grep -q -e 'secret=abc' -e 'limit=2' -e '$OP' -e '$MT' '$tmp/access.log'"
check "… and the server log holds no per-call line" \
    bash -c "! grep -q '\"method\"' '$tmp/server.log'"

# --access-log off / - and a bad token file
stop_server
port=$(free_port)
U=http://127.0.0.1:$port
printf '%s\n' "bad token" >"$tmp/bad.token"
"$ALLOT" server --db "$tmp/db" --listen "127.0.0.1:$port" --metrics-token-file "$tmp/bad.token" \
    2>"$tmp/bad.log"
rc=$?
check "a token file holding a space is refused at start, naming the file" \
    [ "$rc" != 0 -a "$(grep -c "$tmp/bad.token" "$tmp/bad.log")" -ge 1 ]
: >"$tmp/server.log"
must "server restarts with --access-log -" \
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
    --clock-file "$tmp/clock" --tick-ms 3600000 --access-log -
call "$OP" GET /v1/me
on_stderr() { grep -q '"path":"/v1/me","route":"/v1/me","status":200' "$tmp/server.log"; }
check "--access-log -: the line goes to stderr" wait_until 3 on_stderr
scrape "$OP"
check "after a restart the counters start again (a Prometheus counter reset)" \
    [ "$code" = 200 -a "$(value 'allot_http_requests_total{route="/v1/me",method="GET",status="200"}')" = 1 ]
check "… and the reservation gauge reads the database: still two scheduled" \
    [ "$(value 'allot_reservations{state="scheduled"}')" = 2 ]
stop_server
check "the server stops cleanly" [ $? = 0 ]
