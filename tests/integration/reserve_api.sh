#!/usr/bin/env bash
# reserve_api.sh — self-service reservations in one call (POST /v1/reservations), over
# loopback against a real `allot server` on a temp SQLite database with a test clock:
#   - an offering reserved → 201, charged per the terms to the micro-unit (prepaid: one
#     reservation_charge equal to the offering's total and to its quote document's; balance:
#     nothing before the first period), a request and a quote recorded as confirmed;
#   - a full ask reserved (the earliest fit in its range);
#   - every refusal: no self-service consent (403), no contract (409), insufficient balance
#     (402 with its numbers), limits (409 limit_exceeded), an expired offering (409 expired),
#     a tampered or another org's offering (404), capacity taken meanwhile (409 no_capacity),
#     a price changed since the offering (409 invalid_state offering), no Idempotency-Key
#     (400), an offering and an ask at once (400), a member (403);
#   - a retry with the same key: the same reservation, one charge;
#   - 10 concurrent reserves of one offering with different keys: one 201, nine 409;
#   - kill -9 right after a burst of 201s: each is there after a restart, verify passes;
#   - the CLI: `allot reserve --offering`, `allot reserve --model … -o json`.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_reserve.XXXXXX)
server_pid=
pid=
loop_pid=
cleanup() {
    reap -KILL "${loop_pid-}"
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(($(date +%s) / 3600 * 3600))
HOUR=3600
DAY=86400
M=1000000
write_clock "$T0"
OP=$(operator_token "$tmp/db")
start_api() {
    port=$(free_port)
    U=http://127.0.0.1:$port
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms 3600000
}
if ! start_api && ! { grep -q "Address already in use" "$tmp/server.log" && start_api; }; then
    nok "server starts"
    show_log "$tmp/server.log"
    exit 1
fi
ok "server starts"

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 2
node l1 L40S 1
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":5123457}"
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$M}"

VT=$(ts $((T0 + 400 * DAY)))
# offering TOKEN QUERY → the first offering's id in $OFF, its total in $OFF_TOTAL
offering() {
    call "$1" GET "/v1/offerings?limit=1&$2"
    OFF=$(j '.items[0].id // empty')
    OFF_TOTAL=$(j '.items[0].total_micros // empty')
}
# self_reserve TOKEN KEY BODY [CURL_ARGS…]: POST /v1/reservations with Idempotency-Key KEY
self_reserve() { call "$1" POST /v1/reservations "$3" -H "Idempotency-Key: $2" "${@:4}"; }
refusal() { j '.error.details | "\(.limit) \(.value) \(.in_use) \(.asked)"'; }
win() { # win START_OFFSET_S HOURS → offering query of a window starting exactly there
    echo "earliest=$(ts $((T0 + $1)))&latest=$(ts $((T0 + $1)))&duration=$2h"
}

# ---------------------------------------------------------------- 1. prepaid: an offering
org acme
ACME_ADMIN=$ADMIN
contract acme prepaid "\"credit_limit_micros\":0,\"self_service\":true"
topup acme $((5000 * M)) acme-1
offering "$ACME_ADMIN" "model=H100-80GB&count=2&$(win $DAY 24)"
check "acme sees an offering of 2 H100 for 24 h priced 1,920.00" [ "$OFF_TOTAL" = $((1920 * M)) ]
self_reserve "$ACME_ADMIN" acme-r1 "{\"offering\":\"$OFF\"}"
expect "reserving the offering → 201" 201
RSV=$(j .id) REQ=$(j .request) QTE=$(j .quote)
check "… a scheduled reservation of origin self_service, 2 allocations, the offering's window" \
    [ "$(j '"\(.state) \(.origin) \(.allocations | length) \(.start) \(.end)"')" = "scheduled self_service 2 $(ts $((T0 + DAY))) $(ts $((T0 + 2 * DAY)))" ]
check "… its total is the offering's, charged in full (prepaid)" \
    [ "$(j .total_micros)" = "$OFF_TOTAL" -a "$(j .billing.charged_micros)" = "$OFF_TOTAL" ]
check "… with its contract, lines, granularity and billing rule" \
    [ "$(j '.contract.version != null and (.lines | length) > 0 and .granularity != null and .billing_rule != null')" = true ]
check "… one reservation_charge of exactly that amount" \
    [ "$(transfers acme reservation_charge | awk '{print $1}')" = "$OFF_TOTAL" ]
check "… the cash is 5,000.00 - 1,920.00" [ "$(cash acme)" = $((3080 * M)) ]
call "$ACME_ADMIN" GET "/v1/requests/$REQ"
check "… its request is confirmed, self_service, naming the reservation and the quote" \
    [ "$(j '"\(.state) \(.origin) \(.reservation) \(.quote.id)"')" = "confirmed self_service $RSV $QTE" ]
check "… the quote's total is what was charged" [ "$(j .quote.total_micros)" = "$OFF_TOTAL" ]
call "$ACME_ADMIN" GET "/v1/quotes/$QTE/document"
check "… the quote document answers (200 HTML) with the total 1920.00" \
    [ "$code" = 200 -a "$(grep -c "1920.00" <<<"$body")" -ge 1 ]
call "$ACME_ADMIN" GET "/v1/reservations/$RSV"
check "… GET /v1/reservations/{id} shows it with its billing" [ "$code" = 200 -a "$(j .billing.charged_micros)" = "$OFF_TOTAL" ]
call "$OP" GET "/v1/events?object=$RSV"
check "… a reservation.scheduled event, as a confirmation emits" \
    grep -q '"reservation.scheduled"' <<<"$body"

self_reserve "$ACME_ADMIN" acme-r1 "{\"offering\":\"$OFF\"}"
check "a retry with the same key → 201, the same reservation" [ "$code" = 201 -a "$(j .id)" = "$RSV" ]
check "… still one charge, the cash unchanged" \
    [ "$(transfers acme reservation_charge | wc -l)" = 1 -a "$(cash acme)" = $((3080 * M)) ]
self_reserve "$ACME_ADMIN" acme-r2 "{\"offering\":\"$OFF\"}"
expect "the same offering with another key: its window is taken → 409 no_capacity" 409 no_capacity
verify "after a self-service reservation and its retry"

# ---------------------------------------------------------------- 2. a full ask
self_reserve "$ACME_ADMIN" acme-a1 "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":1,\"duration_hours\":2,\"earliest_start\":\"$(ts $((T0 + DAY)))\",\"latest_start\":\"$(ts $((T0 + 3 * DAY)))\",\"notes\":\"eval run\"}"
expect "a full ask (1 H100, 2 h, start in a range) → 201" 201
check "… at the earliest start that fits (after the 24 h taken), 80.00" \
    [ "$(j .start) $(j .total_micros) $(j .billing.charged_micros)" = "$(ts $((T0 + 2 * DAY))) $((80 * M)) $((80 * M))" ]
call "$ACME_ADMIN" GET "/v1/requests/$(j .request)"
check "… its request records the ask and the notes" [ "$(j '"\(.model) \(.count) \(.notes)"')" = "H100-80GB 1 eval run" ]
self_reserve "$OP" op-a1 "{\"org\":\"acme\",$(gpus L40S 1 $((T0 + 3 * DAY)) $((T0 + 3 * DAY + HOUR)))}"
expect "an operator naming the org → 201" 201
self_reserve "$OP" op-a2 "{$(gpus L40S 1 $((T0 + 4 * DAY)) $((T0 + 4 * DAY + HOUR)))}"
expect "an operator naming no org → 400 org" 400 "" org

# ---------------------------------------------------------------- 3. refusals
call "$ACME_ADMIN" POST /v1/reservations "{\"offering\":\"$OFF\"}"
expect "no Idempotency-Key → 400 naming the header" 400 invalid_argument Idempotency-Key
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((5 * DAY)) 1)"
self_reserve "$ACME_ADMIN" both-1 "{\"offering\":\"$OFF\",\"count\":1}"
expect "an offering and an ask at once → 400 offering" 400 invalid_argument offering
self_reserve "$ACME_ADMIN" none-1 '{}'
expect "neither an offering nor an ask → 400 offering" 400 invalid_argument offering
self_reserve "$ACME_ADMIN" bad-1 '{"offering":7}'
expect "an offering that is not a string → 400 offering" 400 invalid_argument offering
call "$ACME_ADMIN" POST /v1/users '{"name":"mem-acme","role":"member"}'
MEMBER=$(j .token)
self_reserve "$MEMBER" mem-1 "{\"offering\":\"$OFF\"}"
expect "a member → 403" 403
T=${OFF: -5:1}
[ "$T" = A ] && R=B || R=A
self_reserve "$ACME_ADMIN" tamper-1 "{\"offering\":\"${OFF:0:${#OFF}-5}$R${OFF: -4}\"}"
expect "a tampered offering → 404 offering" 404 not_found offering
org beta
BETA_ADMIN=$ADMIN
contract beta prepaid "\"self_service\":true"
topup beta $((1000 * M)) beta-1
self_reserve "$BETA_ADMIN" beta-1 "{\"offering\":\"$OFF\"}"
expect "another org's offering → 404 offering" 404 not_found offering
self_reserve "$OP" op-beta "{\"offering\":\"$OFF\",\"org\":\"beta\"}"
expect "an operator naming another org than the offering's → 400 org" 400 invalid_argument org

org noss
NOSS_ADMIN=$ADMIN
contract noss prepaid
topup noss $((1000 * M)) noss-1
self_reserve "$NOSS_ADMIN" noss-1 "{$(gpus L40S 1 $((T0 + 6 * DAY)) $((T0 + 6 * DAY + HOUR)))}"
expect "a contract without self-service → 403" 403
check "… the message says so" grep -q "does not allow self-service" <<<"$(j .error.message)"
org nok
NOK_ADMIN=$ADMIN
self_reserve "$NOK_ADMIN" nok-1 "{$(gpus L40S 1 $((T0 + 6 * DAY)) $((T0 + 6 * DAY + HOUR)))}"
expect "no contract in force → 409 invalid_state contract" 409 invalid_state contract
org poor
POOR_ADMIN=$ADMIN
contract poor prepaid "\"credit_limit_micros\":$((2 * M)),\"self_service\":true"
topup poor $M poor-1
self_reserve "$POOR_ADMIN" poor-1 "{$(gpus H100-80GB 1 $((T0 + 6 * DAY)) $((T0 + 7 * DAY)))}"
expect "960.00 asked of a balance of 1.00 with a credit limit of 2.00 → 402" 402 insufficient_balance
check "… details: balance 1.00, credit limit 2.00, asked 960.00" \
    [ "$(j '.error.details | "\(.balance_micros) \(.credit_limit_micros) \(.asked)"')" = "$M $((2 * M)) $((960 * M))" ]
call "$OP" GET "/v1/availability?model=H100-80GB&start=$(ts $((T0 + 6 * DAY)))&end=$(ts $((T0 + 7 * DAY)))"
check "… nothing held or recorded: both H100 still free" [ "$(j .whole_gpus_free)" = 2 ]
call "$OP" GET "/v1/requests?org=poor"
check "… and no request left behind" [ "$(j '.items | length')" = 0 ]
org lim
LIM_ADMIN=$ADMIN
contract lim prepaid "\"self_service\":true,\"max_reservation_s\":$((2 * DAY)),\"max_concurrent_gpus\":1"
topup lim $((1000 * M)) lim-1
self_reserve "$LIM_ADMIN" lim-1 "{$(gpus L40S 1 $((T0 + 8 * DAY)) $((T0 + 11 * DAY)))}"
expect "3 days under a 2-day max_reservation_length → 409 limit_exceeded" 409 limit_exceeded
check "… max_reservation_length 172800, 0 in use, 259200 asked" [ "$(refusal)" = "max_reservation_length 172800 0 259200" ]
self_reserve "$LIM_ADMIN" lim-2 "{$(gpus H100-80GB 2 $((T0 + 8 * DAY)) $((T0 + 8 * DAY + HOUR)))}"
expect "2 GPUs under max_concurrent_gpus 1 → 409 limit_exceeded" 409 limit_exceeded
check "… the limit named is max_concurrent_gpus" [ "$(j .error.details.limit)" = max_concurrent_gpus ]

# capacity taken meanwhile: an offering listed, then its window taken by another reservation
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((9 * DAY)) 2)"
OFF_TAKEN=$OFF
self_reserve "$BETA_ADMIN" beta-2 "{$(gpus L40S 1 $((T0 + 9 * DAY + HOUR)) $((T0 + 9 * DAY + 2 * HOUR)))}"
expect "beta reserves an hour inside acme's offering → 201" 201
self_reserve "$ACME_ADMIN" taken-1 "{\"offering\":\"$OFF_TAKEN\"}"
expect "the offering's window taken meanwhile → 409 no_capacity" 409 no_capacity
check "… with its alternatives" [ "$(j '.error.details.alternatives | length')" -ge 1 ]

# price changed since the offering
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((10 * DAY)) 2)"
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$((2 * M))}"
self_reserve "$ACME_ADMIN" price-1 "{\"offering\":\"$OFF\"}"
expect "the price changed since the offering → 409 invalid_state offering" 409 invalid_state offering
check "… 'the price changed from 2.00 to 4.00; list offerings again'" \
    grep -q "changed from 2.00 to 4.00.*list offerings again" <<<"$(j .error.message)"
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((10 * DAY)) 2)"
self_reserve "$ACME_ADMIN" price-2 "{\"offering\":\"$OFF\"}"
check "… listed again at 4.00, it is reserved and charged 4.00" [ "$code" = 201 -a "$(j .billing.charged_micros)" = $((4 * M)) ]

# expired
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((11 * DAY)) 1)"
write_clock $((T0 + 301))
self_reserve "$ACME_ADMIN" exp-1 "{\"offering\":\"$OFF\"}"
expect "an offering past its 5 minutes → 409 expired" 409 expired offering
verify "after the refusals"

# ---------------------------------------------------------------- 4. the CLI
export ALLOT_SERVER=$U ALLOT_TOKEN=$ACME_ADMIN
offering "$ACME_ADMIN" "model=L40S&count=1&$(win $((12 * DAY)) 1)"
out=$("$ALLOT" reserve --offering "$OFF" -o json 2>"$tmp/cli.err")
check "allot reserve --offering -o json → the reservation, charged" \
    [ "$(jq -r '"\(.origin) \(.billing.charged_micros)"' <<<"$out")" = "self_service $((2 * M))" ]
out=$("$ALLOT" reserve --model L40S --count 1 --duration 2h --earliest "$(ts $((T0 + 12 * DAY)))" \
    --latest "$(ts $((T0 + 13 * DAY)))" --idempotency-key cli-1 -o json 2>"$tmp/cli.err")
check "allot reserve --model --count --duration --earliest --latest → the earliest fit after it" \
    [ "$(jq -r .start <<<"$out")" = "$(ts $((T0 + 12 * DAY + HOUR)))" ]
id1=$(jq -r .id <<<"$out")
out=$("$ALLOT" reserve --model L40S --count 1 --duration 2h --earliest "$(ts $((T0 + 12 * DAY)))" \
    --latest "$(ts $((T0 + 13 * DAY)))" --idempotency-key cli-1 -o json 2>"$tmp/cli.err")
check "… again with the same --idempotency-key → the same reservation" [ "$(jq -r .id <<<"$out")" = "$id1" ]
out=$("$ALLOT" reserve --offering "$OFF" 2>&1)
rc=$?
check "… a refusal exits non-zero with the server's message" \
    [ "$rc" -ne 0 -a "$(grep -ci "held\|taken\|capacity" <<<"$out")" -ge 1 ]
"$ALLOT" reserve --model L40S >/dev/null 2>&1
rc=$?
check "… --model without --count/--duration is a usage error" [ "$rc" -ne 0 ]
unset ALLOT_SERVER ALLOT_TOKEN

# ---------------------------------------------------------------- 5. balance terms
org bal
BAL_ADMIN=$ADMIN
contract bal balance "\"credit_limit_micros\":0,\"self_service\":true"
self_reserve "$BAL_ADMIN" bal-1 "{$(gpus H100-80GB 1 $((T0 + 14 * DAY)) $((T0 + 14 * DAY + 2 * HOUR)))}"
expect "balance terms with an empty balance: the first period is not covered → 402" 402 insufficient_balance
topup bal $((100 * M)) bal-t1
self_reserve "$BAL_ADMIN" bal-2 "{$(gpus H100-80GB 1 $((T0 + 14 * DAY)) $((T0 + 14 * DAY + 2 * HOUR)))}"
check "… topped up: 201, nothing charged before it starts (drawn as it runs)" \
    [ "$code" = 201 -a "$(j .billing.charged_micros)" = 0 -a "$(transfers bal reservation_charge | wc -l)" = 0 ]
check "… billed per the contract: payment_terms balance, total 80.00" [ "$(j .payment_terms) $(j .total_micros)" = "balance $((80 * M))" ]

# ---------------------------------------------------------------- 6. one offering, ten callers
org race
RACE_ADMIN=$ADMIN
contract race prepaid "\"self_service\":true"
topup race $((1000 * M)) race-1
offering "$RACE_ADMIN" "model=L40S&count=1&$(win $((15 * DAY)) 3)"
race_pids=()
for i in $(seq 1 10); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $RACE_ADMIN" \
        -H "Idempotency-Key: race-$i" -H 'Content-Type: application/json' \
        --data-binary "{\"offering\":\"$OFF\"}" "$U/v1/reservations" >"$tmp/race.$i" &
    race_pids+=($!)
done
wait "${race_pids[@]}"
n201=$(cat "$tmp"/race.* | grep -c '^201$') n409=$(cat "$tmp"/race.* | grep -c '^409$')
check "10 concurrent reserves of one offering → exactly one 201, nine 409 ($n201/$n409)" [ "$n201" = 1 -a "$n409" = 9 ]
check "… one charge of 3 h at the new 2.00 = 6.00" [ "$(transfers race reservation_charge | awk '{s += $1} END {print s, NR}')" = "$((6 * M)) 1" ]
verify "after the race"

# ---------------------------------------------------------------- 7. kill -9 after a burst
org k9
K9_ADMIN=$ADMIN
contract k9 prepaid "\"self_service\":true"
topup k9 $((1000 * M)) k9-0
P0=$((T0 + 20 * DAY))
(
    for i in $(seq 0 39); do
        s=$(ts $((P0 + i * HOUR))) e=$(ts $((P0 + (i + 1) * HOUR)))
        out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $K9_ADMIN" \
            -H "Idempotency-Key: k9-$i" -H 'Content-Type: application/json' \
            --data-binary "{\"kind\":\"gpu\",\"model\":\"L40S\",\"count\":1,\"start\":\"$s\",\"end\":\"$e\"}" \
            "$U/v1/reservations")
        [ "${out##* }" = 201 ] && jq -r .id <<<"${out% *}" >>"$tmp/k9.done"
    done
) &
loop_pid=$!
wait_until 60 bash -c "[ \$(cat '$tmp/k9.done' 2>/dev/null | wc -l) -ge 8 ]"
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
wait "$loop_pid" 2>/dev/null
loop_pid=
answered=$(wc -l <"$tmp/k9.done")
check "kill -9 right after a burst of 201s ($answered of 40 answered)" [ "$answered" -ge 8 ]
if start_api; then ok "the server restarts on the same database"; else nok "the server restarts"; show_log "$tmp/server.log"; fi
lost=0
while read -r id; do
    call "$OP" GET "/v1/reservations/$id"
    [ "$code" = 200 ] && [ "$(j .billing.charged_micros)" = $((2 * M)) ] || lost=$((lost + 1))
done <"$tmp/k9.done"
check "every answered reservation is there after the restart, charged ($lost missing)" [ "$lost" = 0 ]
nc=$(transfers k9 reservation_charge | wc -l)
check "… the ledger holds the answered charges and at most the one cut off ($nc/$answered)" \
    [ "$nc" -ge "$answered" -a "$nc" -le $((answered + 1)) ]
check "… the cash is 1,000.00 less its charges of 2.00" [ "$(cash k9)" = $((1000 * M - nc * 2 * M)) ]
verify "after kill -9 and a restart"
