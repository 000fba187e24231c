#!/usr/bin/env bash
# server_api.sh — drives `allot server` over loopback with curl: auth and roles, another org's
# objects (404), bad input (400 naming the field), the request → quote → approve → accept →
# confirm flow, no capacity with alternatives, quote expiry and reservation start/end on an
# injected clock, extend/cancel, idempotency, pagination, concurrent confirmations at scarce
# GPUs (exactly the capacity is sold), and a kill -9 in the middle of a stream of
# confirmations (every 201 survives, nothing overlaps, nothing is half-written).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, sqlite3.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_api.XXXXXX)
pid=
bg_pids=()

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(date +%s)
write_clock "$T0"

port=$(free_port)
U=http://127.0.0.1:$port

# start_api [TICK_MS]: the server of this suite, on its database and injected clock. The clock
# jumps hours ahead below without the nodes reporting again: a day of heartbeat timeout keeps
# them online (node liveness is tested in fleet_changes.sh).
start_api() {
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms "${1:-100}" --heartbeat-timeout 86400
}

# ---------------------------------------------------------------- start, init
OP=$(operator_token "$tmp/db")
check "server init prints an al_ token once" [ "${#OP}" -eq 46 ]
"$ALLOT" server init --db "$tmp/db" >/dev/null 2>&1
check "server init refuses a database with users" [ $? -ne 0 ]
check "no token in the database file" bash -c "! grep -q -a '$OP' '$tmp/db'"
if ! start_api; then
    nok "server starts"
    exit 1
fi
ok "server starts"
if [ "${AL_TEST_DB-}" = postgres ]; then
    # several servers on one PostgreSQL database is the design (replicas, docs/operations.md)
    echo "skip - a second server on the same database refuses to start: PostgreSQL takes replicas"
else
    timeout 10 "$ALLOT" server --db "$tmp/db" --listen "127.0.0.1:$(free_port)" 2>"$tmp/second.log"
    second_rc=$?
    check "a second server on the same database refuses to start" grep -q "another allot server" "$tmp/second.log"
    check "… with exit code 3" [ "$second_rc" = 3 ]
fi

call "" GET /healthz
expect "healthz without auth" 200
call "" GET /v1/me
expect "no token → 401" 401 unauthenticated
call "al_nope" GET /v1/me
expect "bad token → 401" 401 unauthenticated
call "$OP" GET /v1/me
check "me is the operator" [ "$(j .user.role)" = operator ]
call "$OP" GET /v1/models
check "models from the catalog" [ "$(j '[.items[] | select(.name=="H100-80GB")][0].profiles | length')" -gt 3 ]
check "a profile's aliases: GB200 3g.93gb was 3g.95gb, H100 3g.40gb has none" [ "$(j '[.items[] | select(.name == "H100-80GB" or .name == "GB200-186GB") | .profiles[] | select(.name == "3g.93gb" or .name == "3g.40gb") | "\(.name)=\(.aliases | join(","))"] | join(" ")')" = "3g.40gb= 3g.93gb=3g.95gb" ]
check "… and the confidence of each fact (GB200 3g.93gb)" [ "$(j '.items[] | select(.name == "GB200-186GB") | .profiles[] | select(.name == "3g.93gb") | .confidence | "\(.id) \(.memory) \(.sms) \(.placements)"')" = "confirmed inferred not found not found" ]

# ---------------------------------------------------------------- orgs and users
call "$OP" POST /v1/orgs '{"name":"acme","customer_code":"ACME-1","display_name":"Acme Inc"}'
expect "operator creates org" 201
ACME=$(j .id)
call "$OP" POST /v1/orgs '{"name":"beta"}'
BETA=$(j .id)
# confirmations need a contract in force: invoiced without a credit limit, so that this suite's
# confirmations charge nothing and no limit applies (charges_api.sh tests the money)
for o in acme beta; do
    call "$OP" POST /v1/contracts "{\"org\":\"$o\",\"terms\":\"invoiced\",\"valid_to\":\"$(ts $((T0 + 1000 * 86400)))\"}"
    expect "an invoiced contract for $o" 201
done
call "$OP" POST /v1/orgs '{"name":"acme"}'
expect "duplicate org → 409" 409 conflict
mkuser() { # mkuser TOKEN NAME ROLE [ORG] → prints the new token
    local o=${4:+,\"org\":\"$4\"}
    call "$1" POST /v1/users "{\"name\":\"$2\",\"role\":\"$3\"$o}"
    j .token
}
ALICE=$(mkuser "$OP" alice org_admin ACME-1)
BOB=$(mkuser "$OP" bob org_admin beta)
MIKE=$(mkuser "$ALICE" mike member)
AGENT=$(mkuser "$OP" agent1 agent)
check "four users got tokens" [ "${ALICE:0:3}${BOB:0:3}${MIKE:0:3}${AGENT:0:3}" = al_al_al_al_ ]
call "$MIKE" GET /v1/me
check "org admin's member lands in her org" [ "$(j .user.org)" = "$ACME" ]
call "$ALICE" POST /v1/users '{"name":"eve","role":"operator"}'
expect "org admin cannot create an operator" 403 forbidden
call "$ALICE" POST /v1/users "{\"name\":\"eve\",\"role\":\"member\",\"org\":\"beta\"}"
expect "org admin cannot add to another org (404)" 404 not_found
call "$OP" POST /v1/users '{"name":"x1","role":"member"}'
expect "member without org → 400 org" 400 invalid_argument org
call "$BOB" GET /v1/orgs/acme
expect "other org by name → 404" 404 not_found
call "$BOB" GET /v1/orgs
check "an org admin lists only their org" [ "$(j '.items | length')" = 1 -a "$(j '.items[0].name')" = beta ]
call "$ALICE" GET /v1/users
check "org admin lists own org's users" [ "$(j '[.items[].name] | sort | join(",")')" = alice,mike ]

# ---------------------------------------------------------------- nodes, prices
node() { # node TOKEN NAME MODEL N [ZONE]
    local g="" i
    for ((i = 0; i < $4; i++)); do
        g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-$2-$i\",\"model\":\"$3\"}"
    done
    call "$1" PUT "/v1/nodes/$2" "{\"zone\":\"${5:-z1}\",\"labels\":{\"rack\":\"r1\"},\"gpus\":[$g]}"
}
node "$AGENT" n1 H100-80GB 2
expect "agent registers a node" 200
check "node lists its GPUs" [ "$(j '.gpus | length')" = 2 -a "$(j .online)" = true ]
node "$OP" n2 H100-80GB 2
node "$OP" scarce L40S 1
node "$OP" trio A100-40GB 3
node "$OP" crash A30 4
node "$ALICE" n9 H100-80GB 1
expect "org admin cannot register nodes" 403 forbidden
call "$AGENT" PUT /v1/nodes/n3 '{"gpus":[{"index":0,"uuid":"u","model":"Z9000"}]}'
expect "unknown GPU model → 400 gpus.model" 400 invalid_argument gpus.model
call "$AGENT" PUT /v1/nodes/n3 '{"gpus":[{"index":0,"uuid":"u","model":"H100-80GB","pool":"x"}]}'
expect "bad pool → 400 gpus.pool" 400 invalid_argument gpus.pool
call "$ALICE" GET /v1/nodes
expect "org admin cannot list nodes" 403 forbidden
call "$OP" GET "/v1/nodes?limit=2"
check "nodes paginate" [ "$(j '.items | length')" = 2 -a "$(j .next_cursor)" != null ]
call "$OP" GET "/v1/nodes?limit=2&cursor=$(j .next_cursor)"
check "next page continues" [ "$(j '.items | length')" = 2 ]
call "$OP" GET "/v1/nodes?limit=0"
expect "limit 0 → 400 limit" 400 invalid_argument limit
for m in H100-80GB L40S A100-40GB A30; do
    call "$OP" PUT "/v1/prices/$m" '{"gpu_hour_micros":2000000,"mig_slice_hour_micros":300000}'
done
expect "operator sets prices" 200
call "$ALICE" PUT /v1/prices/H100-80GB '{"gpu_hour_micros":1}'
expect "org admin cannot set prices" 403 forbidden
call "$OP" PUT /v1/prices/H100-80GB '{"gpu_hour_micros":-5}'
expect "negative price → 400" 400 invalid_argument gpu_hour_micros
call "$MIKE" GET /v1/prices
check "anyone reads prices" [ "$(j '.items | length')" = 4 ]

# ---------------------------------------------------------------- bad requests
S1=$(ts $((T0 + 86400))) E1=$(ts $((T0 + 2 * 86400)))
bad() { # bad FIELD BODY
    call "$OP" POST /v1/requests "$2"
    expect "bad request → 400 naming $1" 400 invalid_argument "$1"
}
bad kind "{\"org\":\"acme\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad kind "{\"org\":\"acme\",\"kind\":\"tpu\",\"count\":1}"
bad org "{\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad count "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":0,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad model "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"start\":\"$S1\",\"end\":\"$E1\"}"
bad model "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"Z9\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad end "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$E1\",\"end\":\"$S1\"}"
bad start "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"tomorrow\",\"end\":\"$E1\"}"
bad duration_hours "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\",\"duration_hours\":3}"
bad earliest_start "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"duration_hours\":3}"
bad profile "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"profile\":\"3g.40gb\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad profile "{\"org\":\"acme\",\"kind\":\"mig\",\"count\":1,\"model\":\"H100-80GB\",\"profile\":\"9g.1tb\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad model "{\"org\":\"acme\",\"kind\":\"mig\",\"count\":1,\"model\":\"L40S\",\"profile\":\"1g.10gb\",\"start\":\"$S1\",\"end\":\"$E1\"}"
bad min_memory_gb "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"A30\",\"min_memory_gb\":80,\"start\":\"$S1\",\"end\":\"$E1\"}"
bad colour "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\",\"colour\":\"red\"}"
bad body '{"org":"acme",'
bad body '[1,2]'
call "$OP" POST /v1/requests "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\",\"notes\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}"
expect "notes over 4096 bytes → 400 notes" 400 invalid_argument notes
head -c 1100000 /dev/zero | tr '\0' ' ' >"$tmp/big"
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" --data-binary @"$tmp/big" "$U/v1/orgs")
body=$(cat "$tmp/resp")
expect "body over 1 MiB → 413" 413 payload_too_large
call "$BOB" POST /v1/requests "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
expect "request for another org → 404 org" 404 not_found org
call "$MIKE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
expect "member cannot submit requests" 403 forbidden
call "$AGENT" GET /v1/requests
expect "agent cannot list requests" 403 forbidden

# ---------------------------------------------------------------- mutated bodies
# Valid bodies with one field removed, retyped or oversized: the answer is always a clean
# 201/400/404/409 with an error code, never a 5xx or a dead server.
base_req="{\"org\":\"acme\",\"kind\":\"mig\",\"count\":2,\"model\":\"H100-80GB\",\"profile\":\"3g.40gb\",\"start\":\"$S1\",\"end\":\"$E1\",\"same_node\":true,\"zone\":\"z1\",\"notes\":\"n\"}"
base_node='{"zone":"z9","labels":{"a":"b"},"gpus":[{"index":0,"uuid":"GPU-fz-0","model":"A10","pool":"general","healthy":true}]}'
values=('null' '0' '-1' '1e308' '9223372036854775807' '""' '"x"' '[]' '{}' 'true'
        '"2026-13-40T99:99:99Z"' '"\u0000"' '"é"'
        "$(printf '[%.0s' {1..20})1$(printf ']%.0s' {1..20})")
mutate() { # mutate JSON PATHS… → a variant on stdout
    local body=$1 path v
    shift
    local paths=("$@")
    path=${paths[RANDOM % ${#paths[@]}]}
    v=${values[RANDOM % ${#values[@]}]}
    case $((RANDOM % 3)) in
    0) jq -c "del($path)" <<<"$body" ;;
    1) jq -c "$path = $v" <<<"$body" ;;
    2) jq -c ". + {\"zz$RANDOM\": $v}" <<<"$body" ;;
    esac
}
fuzz_bad=0
for ((i = 0; i < 60; i++)); do
    call "$OP" POST /v1/requests "$(mutate "$base_req" .org .kind .count .model .profile .start .end .same_node .zone .notes)"
    case $code in 201 | 400 | 404 | 409) [ "$code" = 201 ] || [ -n "$(j .error.code)" ] || fuzz_bad=$((fuzz_bad + 1)) ;; *) fuzz_bad=$((fuzz_bad + 1)) ;; esac
    call "$AGENT" PUT /v1/nodes/fz "$(mutate "$base_node" .zone .labels .labels.a .gpus '.gpus[0]' '.gpus[0].index' '.gpus[0].uuid' '.gpus[0].model' '.gpus[0].pool' '.gpus[0].healthy')"
    case $code in 200 | 400 | 409) ;; *) fuzz_bad=$((fuzz_bad + 1)) ;; esac
done
check "120 mutated bodies: only clean 2xx/4xx answers" [ "$fuzz_bad" = 0 ]
call "" GET /healthz
check "the server survives them" [ "$code" = 200 ]
call "$OP" GET /v1/requests?state=submitted
call "$OP" GET /v1/nodes/fz
call "$AGENT" PUT /v1/nodes/fz '{"gpus":[]}'

# ---------------------------------------------------------------- the flow
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":3,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\",\"image\":\"pytorch:24.05\",\"workload\":\"training\"}"
expect "org admin submits a request for her org" 201
R1=$(j .id)
check "request starts submitted" [ "$(j .state)" = submitted -a "$(j .org)" = "$ACME" ]
call "$ALICE" POST "/v1/requests/$R1/quote" '{}'
expect "org admin cannot quote" 403 forbidden
call "$OP" POST "/v1/requests/$R1/quote" '{"valid_for_minutes":60}'
expect "operator quotes" 200
check "quote: 3 GPUs, 24 h × 2 USD each" [ "$(j '.quote.allocations | length')" = 3 -a "$(j .quote.total_micros)" = 144000000 ]
check "quote prefers one node, then the fewest" [ "$(j '[.quote.allocations[].node] | unique | length')" = 2 ]
call "$MIKE" GET "/v1/availability?model=H100-80GB&start=$S1&end=$E1"
check "availability counts the tentative hold" [ "$(j .whole_gpus_free)" = 1 -a "$(j .total_gpus)" = 4 ]
call "$OP" GET "/v1/availability?start=$S1"
expect "availability needs model" 400 invalid_argument model
call "$OP" POST "/v1/requests/$R1/confirm" '{"payment_terms":"invoiced"}'
expect "confirm before accept → 409 invalid_state" 409 invalid_state
call "$OP" POST "/v1/requests/$R1/approve"
expect "operator approves" 200
call "$OP" POST "/v1/requests/$R1/accept"
expect "operator cannot accept for the org" 403 forbidden
call "$BOB" POST "/v1/requests/$R1/accept"
expect "another org's admin → 404" 404 not_found
call "$BOB" GET "/v1/requests/$R1"
expect "another org cannot see the request" 404 not_found
call "$ALICE" POST "/v1/requests/$R1/accept"
expect "org admin accepts" 200
call "$OP" POST "/v1/requests/$R1/confirm" '{"payment_terms":"later"}'
expect "bad payment terms → 400" 400 invalid_argument payment_terms
call "$OP" POST "/v1/requests/$R1/confirm" '{"payment_terms":"invoiced"}' -H "Idempotency-Key: conf-r1"
expect "operator confirms → 201 reservation" 201
V1=$(j .id)
check "reservation scheduled with the quote's window and rates" [ "$(j .state)" = scheduled -a "$(j .start)" = "$S1" -a "$(j .total_micros)" = 144000000 -a "$(j .payment_terms)" = invoiced ]
call "$OP" POST "/v1/requests/$R1/confirm" '{"payment_terms":"invoiced"}' -H "Idempotency-Key: conf-r1"
check "confirm retried with its key replays the 201" [ "$code" = 201 -a "$(j .id)" = "$V1" ]
call "$OP" POST "/v1/requests/$R1/confirm" '{"payment_terms":"prepaid"}' -H "Idempotency-Key: conf-r1"
expect "same key, other body → 422" 422 idempotency_mismatch
call "$OP" GET "/v1/requests/$R1"
check "request confirmed, pointing at its reservation" [ "$(j .state)" = confirmed -a "$(j .reservation)" = "$V1" ]
call "$MIKE" GET "/v1/reservations/$V1"
check "member sees the org's reservation" [ "$code" = 200 -a "$(j '.allocations | length')" = 3 ]
call "$BOB" GET "/v1/reservations/$V1"
expect "another org's reservation → 404" 404 not_found
call "$BOB" GET /v1/reservations
check "another org lists none" [ "$(j '.items | length')" = 0 ]
call "$BOB" POST "/v1/reservations/$V1/cancel"
expect "another org cannot cancel (404)" 404 not_found
call "$MIKE" POST "/v1/reservations/$V1/cancel"
expect "member cannot cancel" 403 forbidden

# every endpoint: a role it does not admit → 403, another org's object → 404
deny() { # deny TOKEN METHOD PATH STATUS WHAT
    call "$1" "$2" "$3" '{}'
    expect "$5: $2 $3 → $4" "$4" "$([ "$4" = 403 ] && echo forbidden || echo not_found)"
}
deny "$ALICE" POST /v1/orgs 403 "org admin"
deny "$AGENT" GET "/v1/orgs/$ACME" 403 agent
deny "$MIKE" POST /v1/users 403 member
deny "$MIKE" GET /v1/users 403 member
deny "$BOB" GET "/v1/users?org=acme" 404 "other org"
deny "$MIKE" GET /v1/nodes/n1 403 member
deny "$MIKE" PUT /v1/prices/A30 403 member
deny "$AGENT" GET /v1/reservations 403 agent
deny "$BOB" GET "/v1/requests?org=acme" 404 "other org"
deny "$BOB" GET "/v1/reservations?org=$ACME" 404 "other org"
for act in quote approve reject confirm; do
    deny "$ALICE" POST "/v1/requests/$R1/$act" 403 "org admin"
done
deny "$MIKE" POST "/v1/requests/$R1/cancel" 403 member
deny "$BOB" POST "/v1/requests/$R1/cancel" 404 "other org"
deny "$MIKE" POST "/v1/reservations/$V1/extend" 403 member
deny "$BOB" POST "/v1/reservations/$V1/extend" 404 "other org"
call "$BOB" GET /v1/requests
check "another org lists none of acme's requests" [ "$(j '.items | length')" = 0 ]

# order=desc: newest first, paged backwards (the dashboard's queue); asc is the default
req_ids() { # req_ids QUERY: every request's id, page after page of QUERY
    local cur='' out=''
    while :; do
        call "$OP" GET "/v1/requests?$1${cur:+&cursor=$cur}"
        [ "$code" = 200 ] || return 1
        out+=$(j '.items[].id')$'\n'
        cur=$(j '.next_cursor // empty')
        [ -n "$cur" ] || break
    done
    sed '/^$/d' <<<"$out"
}
asc=$(req_ids 'limit=500') desc=$(req_ids 'order=desc&limit=7')
check "GET /v1/requests?order=desc: every request, newest first, 7 a page ($(wc -l <<<"$desc") of them)" \
    [ -n "$desc" ] && [ "$desc" = "$(tac <<<"$asc")" ]
call "$ALICE" GET "/v1/requests?order=desc&state=confirmed&limit=1"
check "… with the filters, as an org admin: acme's newest confirmed request ($R1)" \
    [ "$code" = 200 ] && [ "$(j '.items[0].id')" = "$R1" ]
call "$OP" GET "/v1/requests?order=newest"
expect "order=newest → 400 naming order" 400 invalid_argument order

# no capacity: alternatives after the reservation, other models
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$E1\"}"
R2=$(j .id)
call "$OP" POST "/v1/requests/$R2/quote"
expect "no capacity → 409 no_capacity" 409 no_capacity
check "it says why and when it would fit" [ -n "$(j .error.details.reason)" -a "$(j '.error.details.alternatives[0].start')" = "$E1" ]
call "$OP" GET "/v1/requests/$R2"
check "the refused request stays submitted" [ "$(j .state)" = submitted ]
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"min_memory_gb\":40,\"start\":\"$S1\",\"end\":\"$E1\"}"
R3=$(j .id)
call "$OP" POST "/v1/requests/$R3/quote"
check "a model is picked by memory" [ "$code" = 200 -a "$(j .quote.model)" = A100-40GB ]
call "$ALICE" POST "/v1/requests/$R3/cancel"
check "org admin cancels her request, the hold goes" [ "$(j .state)" = cancelled ]
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"duration_hours\":24,\"earliest_start\":\"$S1\",\"latest_start\":\"$(ts $((T0 + 5 * 86400)))\"}"
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"duration_hours\":24,\"earliest_start\":\"$S1\",\"latest_start\":\"$(ts $((T0 + 5 * 86400)))\"}"
R4=$(j .id)
call "$OP" POST "/v1/requests/$R4/quote"
check "duration with a start range: earliest window after the reservation" [ "$code" = 200 -a "$(j .quote.start)" = "$E1" ]
call "$OP" POST "/v1/requests/$R4/reject" '{"reason":"not today"}'
check "operator rejects with a reason" [ "$(j .state)" = rejected -a "$(j .reason)" = "not today" ]
call "$OP" POST "/v1/requests/$R4/approve"
expect "nothing leaves rejected → 409 invalid_state" 409 invalid_state

# a failed re-quote changes nothing: its own hold is released, the new plan fails (the GPU
# went unhealthy), the transaction rolls back and the in-memory calendar is rebuilt with the
# old hold still in it
node "$AGENT" solo T4 1
S45=$(ts $((T0 + 45 * 86400))) E45=$(ts $((T0 + 46 * 86400)))
call "$OP" PUT /v1/prices/T4 '{"gpu_hour_micros":100000}'
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"T4\",\"start\":\"$S45\",\"end\":\"$E45\"}"
RQ=$(j .id)
call "$OP" POST "/v1/requests/$RQ/quote"
Q1=$(j .quote.id)
call "$AGENT" PUT /v1/nodes/solo '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-solo-0","model":"T4","healthy":false}]}'
call "$OP" POST "/v1/requests/$RQ/quote"
expect "re-quote on an unhealthy GPU → 409 no_capacity" 409 no_capacity
call "$AGENT" PUT /v1/nodes/solo '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-solo-0","model":"T4"}]}'
call "$OP" GET "/v1/requests/$RQ"
check "the failed re-quote kept the old quote" [ "$(j .state)" = quoted -a "$(j .quote.id)" = "$Q1" ]
call "$OP" GET "/v1/availability?model=T4&start=$S45&end=$E45"
check "and its hold, in the rebuilt calendar" [ "$(j .whole_gpus_free)" = 0 -a "$(j .total_gpus)" = 1 ]
call "$OP" POST "/v1/requests/$RQ/cancel"
call "$OP" GET "/v1/availability?model=T4&start=$S45&end=$E45"
check "cancel frees it" [ "$(j .whole_gpus_free)" = 1 ]

# same node
S40=$(ts $((T0 + 40 * 86400))) E40=$(ts $((T0 + 41 * 86400)))
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":3,\"model\":\"H100-80GB\",\"same_node\":true,\"start\":\"$S40\",\"end\":\"$E40\"}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "3 GPUs on one node when nodes have 2 → 409 no_capacity" 409 no_capacity
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"same_node\":true,\"zone\":\"z1\",\"start\":\"$S40\",\"end\":\"$E40\"}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
check "2 GPUs on one node" [ "$code" = 200 -a "$(j '[.quote.allocations[].node] | unique | length')" = 1 ]
call "$OP" POST "/v1/requests/$(j .id)/cancel"

# MIG
call "$ALICE" POST /v1/requests "{\"kind\":\"mig\",\"count\":2,\"model\":\"H100-80GB\",\"instance_memory_gb\":30,\"start\":\"$S1\",\"end\":\"$E1\"}"
R5=$(j .id)
call "$OP" POST "/v1/requests/$R5/quote"
check "MIG: smallest profile that holds 30 GB, packed on one GPU" [ "$(j .quote.profile)" = 3g.40gb -a "$(j '[.quote.allocations[].gpu] | unique | length')" = 1 -a "$(j '[.quote.allocations[].start_unit] | sort | join(",")')" = 0,4 ]
check "MIG priced per compute slice-hour" [ "$(j '.quote.lines[0].units')" = 6 -a "$(j .quote.total_micros)" = $((6 * 24 * 300000)) ]
call "$OP" GET "/v1/availability?model=H100-80GB&start=$S1&end=$E1&profile=1g.10gb"
check "availability: no MIG room left" [ "$(j '.profiles[0].instances_free')" = 0 -a "$(j .whole_gpus_free)" = 0 ]
# availability counts what the calendar would accept: a GPU holding a +me instance (its one
# set of media engines) has no room for another, however many units are free
node "$OP" media A100-80GB 1
call "$OP" PUT /v1/prices/A100-80GB '{"gpu_hour_micros":2000000,"mig_slice_hour_micros":300000}'
call "$ALICE" POST /v1/requests "{\"kind\":\"mig\",\"count\":1,\"model\":\"A100-80GB\",\"profile\":\"1g.10gb+me\",\"start\":\"$S1\",\"end\":\"$E1\"}"
RME=$(j .id)
call "$OP" POST "/v1/requests/$RME/quote"
check "a 1g.10gb+me instance quoted on the one A100-80GB" [ "$code" = 200 -a "$(j .quote.profile)" = 1g.10gb+me ]
call "$OP" GET "/v1/availability?model=A100-80GB&start=$S1&end=$E1&profile=1g.10gb%2Bme"
check "availability: no second +me instance beside it" [ "$code" = 200 -a "$(j '.profiles[0].instances_free')" = 0 -a "$(j .total_gpus)" = 1 ]
call "$OP" GET "/v1/availability?model=A100-80GB&start=$S1&end=$E1&profile=1g.10gb"
check "… while 6 plain 1g.10gb still fit in the units and slices left" [ "$(j '.profiles[0].instances_free')" = 6 ]
call "$OP" POST "/v1/requests/$RME/cancel"

# a MIG rule beyond the units (one +me instance a GPU) refuses an extension that the store's
# unit check allows: the refusal names the hold in the way and its GPU by their ids, and no
# number of the calendar's (GPU index, hold, owner in hex)
mig_req() { # mig_req PROFILE START END → $body of the request created
    call "$ALICE" POST /v1/requests "{\"kind\":\"mig\",\"count\":1,\"model\":\"A100-80GB\",\"profile\":\"$1\",\"start\":\"$2\",\"end\":\"$3\"}"
}
E2=$(ts $((T0 + 3 * 86400)))
mig_req 1g.10gb+me "$S1" "$E1"
RA=$(j .id)
call "$OP" POST "/v1/requests/$RA/quote"
UA=$(j '.quote.allocations[0].start_unit')
call "$OP" POST "/v1/requests/$RA/approve"
call "$ALICE" POST "/v1/requests/$RA/accept"
call "$OP" POST "/v1/requests/$RA/confirm" '{"payment_terms":"invoiced"}'
VA=$(j .id)
mig_req 1g.10gb "$E1" "$E2" # takes A's units in [E1, E2), so that B goes elsewhere
RC=$(j .id)
call "$OP" POST "/v1/requests/$RC/quote"
mig_req 1g.10gb+me "$E1" "$E2"
RB=$(j .id)
call "$OP" POST "/v1/requests/$RB/quote"
QB=$(j .quote.id) UB=$(j '.quote.allocations[0].start_unit')
call "$OP" POST "/v1/requests/$RC/cancel"
check "setup: +me instances right after each other on one GPU, on other units ($UA, $UB)" [ -n "$VA" -a "$UB" != "$UA" -a "$UB" != null ]
call "$ALICE" POST "/v1/reservations/$VA/extend" "{\"end\":\"$(ts $((T0 + 2 * 86400 + 3600)))\"}"
expect "extend into a second +me instance → 409 no_capacity" 409 no_capacity
msg=$(j .error.message)
check "… naming the +me hold in the way by its quote id ($msg)" \
    [ "$msg" = "cannot extend $VA to $(ts $((T0 + 2 * 86400 + 3600))): GPU gpu_media-0 is held by quote $QB during [$E1, $E2)" -a "$(j .error.details.held_by)" = "$QB" -a "$(j .error.details.gpu)" = gpu_media-0 ]
check "… and no number of the calendar's" \
    bash -c '! grep -qE "GPU [0-9]+\b|hold [0-9]|(reservation|quote) [0-9a-f]{14}\b" <<<"$1"' _ "$body"
call "$OP" POST "/v1/requests/$RB/cancel"
call "$OP" POST "/v1/reservations/$VA/cancel"

# extend and cancel
call "$OP" POST "/v1/reservations/$V1/extend" "{\"end\":\"$(ts $((T0 + 3 * 86400)))\"}"
check "extend when free: same reservation, later end, the added day at its frozen rate" [ "$code" = 200 -a "$(j .id)" = "$V1" -a "$(j .total_micros)" = 288000000 ]
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":4,\"model\":\"H100-80GB\",\"start\":\"$(ts $((T0 + 3 * 86400)))\",\"end\":\"$(ts $((T0 + 4 * 86400)))\"}"
R6=$(j .id)
call "$OP" POST "/v1/requests/$R6/quote"
expect "4 GPUs right after the extended end" 200
call "$ALICE" POST "/v1/reservations/$V1/extend" "{\"end\":\"$(ts $((T0 + 4 * 86400)))\"}"
expect "extend into held capacity → 409 no_capacity" 409 no_capacity
call "$ALICE" POST "/v1/reservations/$V1/extend" "{\"end\":\"$(ts $((T0 + 2 * 86400)))\"}"
expect "extend to an earlier end → 400 end" 400 invalid_argument end

# clock: quote expiry, reservation start and end
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"A100-40GB\",\"start\":\"$(ts $((T0 + 600)))\",\"end\":\"$(ts $((T0 + 4200)))\"}"
R7=$(j .id)
call "$OP" POST "/v1/requests/$R7/quote" '{"valid_for_minutes":1}'
call "$OP" POST "/v1/requests/$R7/approve"
call "$ALICE" POST "/v1/requests/$R7/accept"
call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"A100-40GB\",\"start\":\"$(ts $((T0 + 300)))\",\"end\":\"$(ts $((T0 + 3900)))\"}"
R8=$(j .id)
call "$OP" POST "/v1/requests/$R8/quote" '{"valid_for_minutes":60}'
call "$OP" POST "/v1/requests/$R8/approve"
call "$ALICE" POST "/v1/requests/$R8/accept"
call "$OP" POST "/v1/requests/$R8/confirm" '{"payment_terms":"invoiced"}'
V8=$(j .id)
# wait_state TOKEN PATH STATE: poll (up to 10 s) until the object is in STATE
wait_state() {
    for _ in $(seq 100); do
        call "$1" GET "$2"
        [ "$(j .state)" = "$3" ] && return 0
        sleep 0.1
    done
    return 1
}
write_clock $((T0 + 120))
call "$OP" POST "/v1/requests/$R7/confirm" '{"payment_terms":"invoiced"}'
check "confirm after valid_until → 409 (expired or already expired by the clock)" [ "$code" = 409 ]
check "the clock expires the quote" wait_state "$OP" "/v1/requests/$R7" expired
write_clock $((T0 + 400))
check "the clock starts a reservation at its start" wait_state "$MIKE" "/v1/reservations/$V8" active
call "$ALICE" POST "/v1/reservations/$V8/extend" "{\"end\":\"$(ts $((T0 + 7200)))\"}"
check "an active reservation can be renewed" [ "$code" = 200 -a "$(j .state)" = active ]
write_clock $((T0 + 7300))
check "the clock ends it at its end" wait_state "$MIKE" "/v1/reservations/$V8" ended
call "$ALICE" POST "/v1/reservations/$V8/cancel"
expect "an ended reservation cannot be cancelled" 409 invalid_state
call "$OP" POST "/v1/reservations/$V1/cancel" '{"reason":"customer asked"}'
check "cancel a scheduled reservation" [ "$(j .state)" = cancelled ]
call "$OP" GET "/v1/availability?model=H100-80GB&start=$(ts $((T0 + 2 * 86400 + 3600)))&end=$(ts $((T0 + 2 * 86400 + 7200)))"
check "its capacity is free again" [ "$(j .whole_gpus_free)" = 4 ]
call "$OP" GET "/v1/events?limit=500"
check "events record who did what" [ "$(j '[.items[] | select(.kind=="reservation.active" and .actor=="clock")] | length')" -ge 1 -a "$(j '[.items[] | select(.kind=="request.accepted")][0].actor')" != null ]
call "$OP" GET /v1/orgs/ACME-1
ACME_ORG=$(j .id)
call "$ALICE" GET "/v1/events?limit=500"
check "an org admin reads her org's events only" \
    [ "$code" = 200 -a "$(j "(.items | length > 0) and all(.items[]; .orgs | index(\"$ACME_ORG\"))")" = true ]
call "$OP" GET "/v1/events?limit=2"
call "$OP" GET "/v1/events?limit=2&after=$(j .next_cursor)"
check "events page with after=" [ "$(j '.items[0].id')" = evt_000000000003 ]

# idempotent creation
call "$OP" POST /v1/orgs '{"name":"gamma"}' -H "Idempotency-Key: org-gamma"
G1=$(j .id)
call "$OP" POST /v1/orgs '{"name":"gamma"}' -H "Idempotency-Key: org-gamma"
check "POST /v1/orgs retried with its key → the same org" [ "$code" = 201 -a "$(j .id)" = "$G1" ]

# ---------------------------------------------------------------- concurrency
# N requests for scarce capacity, each driven quote → approve → accept → confirm in parallel.
race() { # race MODEL COUNT_AVAILABLE N TAG
    local model=$1 avail=$2 n=$3 tag=$4 i ids=() racers=()
    local s e
    s=$(ts $((T0 + 20 * 86400))) e=$(ts $((T0 + 21 * 86400)))
    for ((i = 0; i < n; i++)); do
        call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"$model\",\"start\":\"$s\",\"end\":\"$e\"}"
        ids+=("$(j .id)")
    done
    for id in "${ids[@]}"; do
        (
            q=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" "$U/v1/requests/$id/quote")
            curl -s -o /dev/null -X POST -H "Authorization: Bearer $OP" "$U/v1/requests/$id/approve"
            curl -s -o /dev/null -X POST -H "Authorization: Bearer $ALICE" "$U/v1/requests/$id/accept"
            c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" -d '{"payment_terms":"invoiced"}' "$U/v1/requests/$id/confirm")
            echo "$q $c" >"$tmp/race.$tag.$id"
        ) &
        racers+=($!)
    done
    wait "${racers[@]}"
    local won
    won=$(cat "$tmp"/race."$tag".* | grep -c ' 201$')
    call "$OP" GET "/v1/reservations?state=scheduled&limit=500"
    local held
    held=$(j "[.items[] | select(.model==\"$model\" and .start==\"$s\")] | length")
    [ -n "${DEBUG-}" ] && jq -c ".items[] | [.model, .start, .state]" <<<"$body" >&2 && cat "$tmp"/race."$tag".* >&2
    check "$n concurrent confirmations for $avail $model GPU(s): exactly $avail sold ($won won, $held exist)" [ "$won" = "$avail" -a "$held" = "$avail" ]
}
race L40S-48GB 1 30 one
race A100-40GB 3 30 three
overlaps() {
    sqlite3 "$tmp/db" "SELECT count(*) FROM holds a JOIN holds b ON a.gpu_id = b.gpu_id AND a.id < b.id
        AND a.t0 < b.t1 AND b.t0 < a.t1 AND (a.mask & b.mask) != 0
        AND a.expires_at = 0 AND b.expires_at = 0"
}
check "no two firm holds overlap in the database" [ "$(overlaps)" = 0 ]

# ---------------------------------------------------------------- crash
# Four concurrent streams of confirmations (so commits are shared by several calls) on the
# 4 A30s, windows overlapping in a staircase; the server is killed with -9 in the middle.
: >"$tmp/crash.log"
crash_ids=()
for ((i = 0; i < 40; i++)); do
    s=$(ts $((T0 + 30 * 86400 + i * 3600))) e=$(ts $((T0 + 30 * 86400 + i * 3600 + 4 * 3600)))
    call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"A30\",\"start\":\"$s\",\"end\":\"$e\"}"
    crash_ids+=("$(j .id)")
done
stream() {
    for id in "$@"; do
        curl -s -o /dev/null -X POST -H "Authorization: Bearer $OP" "$U/v1/requests/$id/quote"
        curl -s -o /dev/null -X POST -H "Authorization: Bearer $OP" "$U/v1/requests/$id/approve"
        curl -s -o /dev/null -X POST -H "Authorization: Bearer $ALICE" "$U/v1/requests/$id/accept"
        out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $OP" -d '{"payment_terms":"invoiced"}' "$U/v1/requests/$id/confirm")
        [ "${out##* }" = 201 ] && echo "$(jq -r .id <<<"${out% *}")" >>"$tmp/crash.log"
    done
}
streamers=()
for k in 0 1 2 3; do
    stream "${crash_ids[@]:$((k * 10)):10}" &
    streamers+=($!)
    bg_pids+=($!)
done
for _ in $(seq 200); do
    [ "$(wc -l <"$tmp/crash.log")" -ge 6 ] && break
    sleep 0.02
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
wait "${streamers[@]}" 2>/dev/null
answered=$(wc -l <"$tmp/crash.log")
check "kill -9 came in the middle of the stream ($answered of 40 confirmed)" [ "$answered" -ge 1 -a "$answered" -lt 40 ]
if start_api; then ok "server restarts after kill -9"; else nok "server restarts after kill -9"; fi
missing=0
while read -r id; do
    call "$OP" GET "/v1/reservations/$id"
    [ "$code" = 200 ] || missing=$((missing + 1))
done <"$tmp/crash.log"
check "every reservation answered 201 exists after restart" [ "$missing" = 0 ]
check "no overlapping holds after the crash" [ "$(overlaps)" = 0 ]
# the documents' fields: json_extract in SQLite, ->> in PostgreSQL (sqlite3 is psql there)
if [ "${AL_TEST_DB-}" = postgres ]; then
    rres="(r.doc::json ->> 'reservation')" vreq="(v.doc::json ->> 'request')"
else
    rres="json_extract(r.doc, '\$.reservation')" vreq="json_extract(v.doc, '\$.request')"
fi
half=$(sqlite3 "$tmp/db" "SELECT
    (SELECT count(*) FROM requests r WHERE r.state = 'confirmed' AND NOT EXISTS
        (SELECT 1 FROM reservations v WHERE v.id = $rres AND $vreq = r.id))
  + (SELECT count(*) FROM reservations v WHERE NOT EXISTS
        (SELECT 1 FROM requests r WHERE r.id = $vreq AND r.state = 'confirmed'))
  + (SELECT count(*) FROM reservations v WHERE v.state IN ('scheduled','active') AND NOT EXISTS
        (SELECT 1 FROM holds h WHERE h.owner = v.id))")
check "no half-written request or reservation" [ "$half" = 0 ]
call "$OP" GET "/v1/requests?state=quoted&limit=500"
check "the server serves on after the crash" [ "$code" = 200 ]
stop_server
rc=$?
check "SIGTERM stops the server cleanly (exit 0, no leaks)" [ "$rc" = 0 ]

# The expired code itself, with the clock thread slowed down so that it cannot expire the
# quote first: confirm and accept after valid_until answer 409 expired.
if start_api 3600000; then
    NOW=$(cat "$tmp/clock")
    call "$ALICE" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$(ts $((NOW + 50 * 86400)))\",\"end\":\"$(ts $((NOW + 51 * 86400)))\"}"
    RX=$(j .id)
    call "$OP" POST "/v1/requests/$RX/quote" '{"valid_for_minutes":1}'
    call "$OP" POST "/v1/requests/$RX/approve"
    write_clock $((NOW + 61))
    call "$ALICE" POST "/v1/requests/$RX/accept"
    expect "accept after valid_until → 409 expired" 409 expired valid_until
    write_clock $((NOW + 30))
    call "$ALICE" POST "/v1/requests/$RX/accept"
    write_clock $((NOW + 61))
    call "$OP" POST "/v1/requests/$RX/confirm" '{"payment_terms":"invoiced"}'
    expect "confirm after valid_until → 409 expired" 409 expired valid_until
    stop_server
else
    nok "server restarts with a slow clock"
fi
