#!/usr/bin/env bash
# money_api.sh — the money routes over loopback against a real `allot server` on a temp SQLite
# database with a test clock: price list versions (PUT makes a version valid from a time, GET
# shows the one in force, history lists them a page at a time), a quote names the version it
# priced at and a later price change leaves it as it was; contracts (create, amend as a new
# version with the old kept, end, list and read, each org seeing only its own, the events);
# wrong role → 403, another org → 404, bad input → 400 naming the field; the CLI's
# `price list|set|history -o json`.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh" # ok, nok, free_port, ts, call, j, expect, start_server
tmp=$(mktemp -d /tmp/allot_money.XXXXXX)
server_pid=
cleanup() {
    reap "$server_pid"
    rm_tmp
}
trap cleanup EXIT

both() { [ "$1" = "$2" ] && grep -q -F -- "$3" "$4"; } # both A B NEEDLE FILE: A = B, FILE has NEEDLE
check() { # check DESC COMMAND… : ok when the command succeeds
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d ($code $(head -c 300 <<<"$body"))"; fi
}

T0=$(date +%s)
echo "$T0" >"$tmp/clock"
DAY=86400

port=$(free_port)
U=http://127.0.0.1:$port

# cli TOKEN ARGS… : the CLI against the server; stdout in $body, status in $code
cli() {
    local tok=$1
    shift
    body=$(ALLOT_TOKEN=$tok ALLOT_SERVER=$U ALLOT_CONFIG_DIR=$tmp/config "$ALLOT" "$@" 2>"$tmp/err")
    code=$?
}

OP=$(operator_token "$tmp/db" "$tmp/init.log")
must "server starts" start_clocked_server 3600000

call "$OP" POST /v1/orgs '{"name":"acme","customer_code":"ACME-1"}'
call "$OP" POST /v1/users '{"name":"alice","role":"org_admin","org":"acme"}'
ALICE=$(j .token)
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
call "$AGENT" PUT /v1/nodes/n1 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n1-0","model":"L40S"}]}'

# ---------------------------------------------------------------- price versions
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":1000000}'
expect "PUT /v1/prices/L40S → 200" 200
check "… answers version 1, valid from now" [ "$(j .version)" = 1 -a "$(j .valid_from)" = "$(ts "$T0")" ]
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":3000000,\"valid_from\":\"$(ts $((T0 + DAY)))\"}"
expect "a version valid from tomorrow → 200" 200
check "… is version 2" [ "$(j .version)" = 2 ]
call "$ALICE" GET /v1/prices
expect "GET /v1/prices (org admin) → 200" 200
check "the price in force is still version 1 (1.00)" \
    [ "$(j '.items[] | select(.model == "L40S-48GB") | "\(.version) \(.gpu_hour_micros) \(.valid_from)"')" = "1 1000000 $(ts "$T0")" ]
call "$ALICE" GET /v1/prices/L40S/history
expect "GET /v1/prices/L40S/history → 200" 200
check "… lists both versions, oldest first" [ "$(j '[.items[].version] | join(",")')" = 1,2 ]
call "$ALICE" GET "/v1/prices/L40S/history?limit=1"
check "… a page at a time (limit=1: version 1 and a cursor)" \
    [ "$(j '.items | length')" = 1 -a "$(j .next_cursor)" != null ]
call "$ALICE" GET "/v1/prices/L40S/history?limit=1&cursor=$(j .next_cursor)"
check "… the next page holds version 2" [ "$(j '.items[0].version')" = 2 ]
call "$ALICE" GET /v1/prices/NOPE-GPU/history
expect "history of an unknown model → 404 model" 404 not_found model
call "$ALICE" GET "/v1/prices/L40S/history?limit=0"
expect "history limit=0 → 400 limit" 400 invalid_argument limit

call "$ALICE" PUT /v1/prices/L40S '{"gpu_hour_micros":1}'
expect "an org admin may not set a price → 403" 403
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":1,\"valid_from\":\"$(ts $((T0 - 60)))\"}"
expect "valid_from in the past → 400 valid_from" 400 invalid_argument valid_from
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":1,"valid_from":"tomorrow"}'
expect "valid_from not a time → 400 valid_from" 400 invalid_argument valid_from
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":-1}'
expect "a negative price → 400 gpu_hour_micros" 400 invalid_argument gpu_hour_micros
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":1,"colour":"red"}'
expect "an unknown field → 400 colour" 400 invalid_argument colour
call "$OP" PUT /v1/prices/A30 "{\"gpu_hour_micros\":1,\"valid_from\":\"$(ts $((T0 + DAY)))\"}"
call "$OP" GET /v1/prices
check "a model whose only version starts later has no price in force (left out)" \
    [ "$(j '[.items[] | select(.model == "A30-24GB")] | length')" = 0 ]

# ---------------------------------------------------------------- quotes name their version
S1=$(ts $((T0 + 2 * DAY))) E1=$(ts $((T0 + 2 * DAY + 3600)))
call "$OP" POST /v1/requests "{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$S1\",\"end\":\"$E1\"}"
RQ=$(j .id)
call "$OP" POST "/v1/requests/$RQ/quote"
expect "a quote today → 200" 200
QUOTE=$body
check "… priced at version 1 (price_version 1, 1 GPU-hour at 1.00)" \
    [ "$(j .quote.price_version)" = 1 -a "$(j .quote.total_micros)" = 1000000 ]
echo $((T0 + DAY + 60)) >"$tmp/clock"
call "$OP" GET /v1/prices
check "tomorrow, version 2 (3.00) is in force" \
    [ "$(j '.items[] | select(.model == "L40S-48GB") | "\(.version) \(.gpu_hour_micros)"')" = "2 3000000" ]
call "$OP" GET "/v1/requests/$RQ"
check "the price change leaves the quote as it was (version 1, same lines)" \
    [ "$(j .quote.price_version)" = 1 -a "$(jq -c .quote.lines <<<"$body")" = "$(jq -c .quote.lines <<<"$QUOTE")" ]
call "$OP" POST "/v1/requests/$RQ/quote"
check "a new quote now is priced at version 2 (3.00)" \
    [ "$(j .quote.price_version)" = 2 -a "$(j .quote.total_micros)" = 3000000 ]

# ---------------------------------------------------------------- CLI
cli "$OP" price set H100-80GB --gpu-hour 2.50 --valid-from "$(ts $((T0 + 2 * DAY)))" -o json
check "allot price set --valid-from -o json → version 1 of H100-80GB" \
    [ "$code" = 0 -a "$(j .version)" = 1 -a "$(j .valid_from)" = "$(ts $((T0 + 2 * DAY)))" ]
cli "$OP" price history L40S -o json
check "allot price history L40S -o json → 2 versions" [ "$code" = 0 -a "$(j '.items | length')" = 2 ]
cli "$OP" price history L40S
check "allot price history (table) shows the VERSION column" \
    both "$code" 0 VERSION <(echo "$body")
cli "$OP" price list -o json
check "allot price list -o json shows each price's version" \
    [ "$code" = 0 -a "$(j '.items[] | select(.model == "L40S-48GB") | .version')" = 2 ]
cli "$ALICE" price set L40S --gpu-hour 1 -o json
check "allot price set as an org admin → exit 1 (permission denied)" [ "$code" = 1 ]
cli "$OP" price list
check "allot price list (table) shows the L40S at 3.00, version 2" \
    grep -q 'L40S-48GB *3.00 .* USD *2 ' <<<"$body"

# ---------------------------------------------------------------- contracts
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$(ts $((T0 + 90 * DAY)))\",\"granularity\":\"minute\",\"min_hours\":4}"
expect "a minimum under per-minute billing → 400 min_hours (core's rule)" 400 invalid_argument min_hours
call "$OP" POST /v1/orgs '{"name":"beta"}'
call "$OP" POST /v1/users '{"name":"bob","role":"org_admin","org":"beta"}'
BOB=$(j .token)
call "$OP" POST /v1/users '{"name":"mel","role":"member","org":"acme"}'
MEL=$(j .token)
NOW=$(cat "$tmp/clock")
VF=$(ts "$NOW") VT=$(ts $((NOW + 30 * DAY)))
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"balance\",\"valid_from\":\"$VF\",\"valid_to\":\"$VT\",\"granularity\":\"minute\",\"draw_period\":\"day\",\"discount_bp\":1000,\"rates\":[{\"model\":\"L40S\",\"gpu_hour_micros\":900000}],\"cancel_fee_micros\":5000000,\"cancel_fee_bp\":250,\"self_service\":true,\"after_window\":\"payg\",\"credit_limit_micros\":100000000,\"max_concurrent_gpus\":4,\"max_reservation_s\":604800,\"max_reservations_ahead\":3,\"monthly_spend_cap_micros\":500000000}"
expect "POST /v1/contracts (operator) → 201" 201
K=$(j .id)
check "… version 1 of acme's contract, with its terms, rates and limits" \
    [ "$(j '"\(.version) \(.terms) \(.granularity) \(.draw_period) \(.discount_bp) \(.rates[0].model) \(.rates[0].gpu_hour_micros) \(.after_window) \(.self_service)"')" = "1 balance minute day 1000 L40S-48GB 900000 payg true" ]
check "… limits as given (GPUs, seconds, micros)" \
    [ "$(j '"\(.credit_limit_micros) \(.max_concurrent_gpus) \(.max_reservation_s) \(.max_reservations_ahead) \(.monthly_spend_cap_micros) \(.valid_from) \(.valid_to)"')" = "100000000 4 604800 3 500000000 $VF $VT" ]
call "$OP" POST /v1/contracts "{\"org\":\"beta\",\"terms\":\"invoiced\",\"valid_to\":\"$VT\"}"
expect "an invoiced contract for beta with the defaults → 201" 201
KB=$(j .id)
check "… hourly granularity (minimum 1 h), no credit limit, no other limits" \
    [ "$(j '"\(.granularity) \(.min_hours) \(.credit_limit_micros) \(.max_concurrent_gpus)"')" = "hour 1 null null" ]

call "$ALICE" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\"}"
expect "an org admin may not create a contract → 403" 403
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"barter\",\"valid_to\":\"$VT\"}"
expect "terms barter → 400 terms" 400 invalid_argument terms
call "$OP" POST /v1/contracts "{\"org\":\"nobody\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\"}"
expect "an unknown org → 404 org" 404 not_found org
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\"}"
expect "no valid_to → 400 valid_to" 400 invalid_argument valid_to
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_from\":\"$VT\",\"valid_to\":\"$VF\"}"
expect "valid_to before valid_from → 400 valid_to (core's refusal names the field)" 400 invalid_argument valid_to
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\",\"discount_bp\":10001}"
expect "discount_bp 10001 → 400 discount_bp" 400 invalid_argument discount_bp
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\",\"draw_period\":\"week\"}"
expect "draw_period week → 400 draw_period" 400 invalid_argument draw_period
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\",\"rates\":[{\"model\":\"NOPE\",\"gpu_hour_micros\":1}]}"
expect "a rate for an unknown model → 400 rates" 400 invalid_argument rates
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\",\"credit_limit_micros\":null}"
expect "prepaid terms without a credit limit → 400 credit_limit_micros (core's rule)" 400 invalid_argument credit_limit_micros
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"prepaid\",\"valid_to\":\"$VT\",\"colour\":1}"
expect "an unknown field → 400 colour" 400 invalid_argument colour

call "$OP" POST "/v1/contracts/$K/amend" '{"discount_bp":2000,"max_concurrent_gpus":8}'
expect "amend → 200" 200
check "… version 2, the change made, the rest kept" \
    [ "$(j '"\(.version) \(.discount_bp) \(.max_concurrent_gpus) \(.terms) \(.rates[0].gpu_hour_micros)"')" = "2 2000 8 balance 900000" ]
call "$OP" POST "/v1/contracts/$K/amend" '{"org":"beta"}'
expect "an amendment may not move the contract to another org → 400 org" 400 invalid_argument org
call "$ALICE" POST "/v1/contracts/$K/amend" '{"discount_bp":1}'
expect "an org admin may not amend → 403" 403
call "$ALICE" GET "/v1/contracts/$K?version=1"
expect "GET ?version=1 (acme's admin) → 200" 200
check "… the old version is kept (discount 1000)" [ "$(j '"\(.version) \(.discount_bp) \(.newest_version)"')" = "1 1000 2" ]
call "$MEL" GET "/v1/contracts/$K"
check "a member of acme reads the newest version" [ "$code" = 200 -a "$(j .version)" = 2 ]
call "$BOB" GET "/v1/contracts/$K"
expect "another org's admin → 404" 404 not_found
call "$ALICE" GET "/v1/contracts/$K?version=9"
expect "a version that does not exist → 404 version" 404 not_found version
call "$ALICE" GET "/v1/contracts/$K?version=x"
expect "version=x → 400 version" 400 invalid_argument version
call "$ALICE" GET /v1/contracts/abc
expect "a contract id that is not a number → 404" 404 not_found
call "$OP" GET /v1/contracts
check "the operator lists every contract" [ "$code" = 200 -a "$(j '[.items[].id] | join(",")')" = "$K,$KB" ]
call "$BOB" GET /v1/contracts
check "beta's admin lists only beta's" [ "$code" = 200 -a "$(j '[.items[].id] | join(",")')" = "$KB" ]
call "$AGENT" GET /v1/contracts
expect "an agent may not list contracts → 403" 403

call "$ALICE" POST "/v1/contracts/$K/end"
expect "an org admin may not end a contract → 403" 403
call "$OP" POST "/v1/contracts/$K/end"
expect "end → 200" 200
check "… ended_at is now" [ "$(j .ended_at)" = "$(ts "$NOW")" ]
call "$OP" POST "/v1/contracts/$K/end"
expect "ending it again → 409" 409
call "$OP" POST "/v1/contracts/$K/amend" '{"discount_bp":1}'
expect "amending an ended contract → 409" 409
call "$OP" GET "/v1/events?limit=500"
check "events contract.created, .amended, .ended were appended" \
    [ "$(j '[.items[] | select(.kind | startswith("contract.")) | .kind] | join(",")')" = \
        "contract.created,contract.created,contract.amended,contract.ended" ]

# ---------------------------------------------------------------- contracts: the CLI
cli "$OP" contract create --org beta --terms prepaid --valid-to "$(ts $((NOW + 60 * DAY)))" \
    --credit-limit 10.50 --max-concurrent-gpus 2 --granularity second -o json
check "allot contract create -o json → a prepaid contract for beta (credit 10.50 → micros)" \
    [ "$code" = 0 -a "$(j '"\(.terms) \(.credit_limit_micros) \(.max_concurrent_gpus) \(.granularity) \(.min_hours)"')" = "prepaid 10500000 2 second 0" ]
KC=$(j .id)
cli "$OP" contract amend "$KC" --discount-bp 500 --self-service -o json
check "allot contract amend -o json → version 2" \
    [ "$code" = 0 -a "$(j '"\(.version) \(.discount_bp) \(.self_service)"')" = "2 500 true" ]
cli "$BOB" contract show "$KC" --version 1 -o json
check "allot contract show --version 1 (beta's admin) → version 1" \
    [ "$code" = 0 -a "$(j '"\(.version) \(.discount_bp)"')" = "1 0" ]
cli "$ALICE" contract show "$KC" -o json
check "allot contract show as another org's admin → exit 1 (not found)" [ "$code" = 1 ]
cli "$BOB" contract list -o json
check "allot contract list -o json (beta) → beta's two contracts" \
    [ "$code" = 0 -a "$(j '[.items[].id] | join(",")')" = "$KB,$KC" ]
cli "$BOB" contract list
check "allot contract list (table) shows the terms" both "$code" 0 prepaid <(echo "$body")
cli "$BOB" contract end "$KC"
check "allot contract end as an org admin → exit 1 (permission denied)" [ "$code" = 1 ]
cli "$OP" contract end "$KC" -o json
check "allot contract end -o json → ended" [ "$code" = 0 -a "$(j .ended_at)" != null ]
cli "$OP" contract create --org beta --terms weekly --valid-to "$(ts $((NOW + DAY)))"
check "allot contract create --terms weekly → exit 1 naming terms" \
    both "$code" 1 terms "$tmp/err"
for c in "price history" "contract create" "contract amend" "contract show" "contract list" \
    "contract end"; do
    # shellcheck disable=SC2086
    out=$("$ALLOT" $c --help 2>&1)
    check "allot $c --help prints a usage line" grep -q '^usage: allot' <<<"$out"
done
# shellcheck disable=SC2086
"$ALLOT" contract show >/dev/null 2>&1
code=$?
check "allot contract show without an ID → exit 2" [ "$code" = 2 ]

# ---------------------------------------------------------------- documents
# money as the document writes it (core/money.h al_money_fmt): whole cents "1.50", else 6 decimals
fmt_money() {
    local m=$1 s=""
    ((m < 0)) && s=- m=$((-m))
    if ((m % 10000 == 0)); then printf '%s%d.%02d' "$s" $((m / 1000000)) $((m % 1000000 / 10000))
    else printf '%s%d.%06d' "$s" $((m / 1000000)) $((m % 1000000)); fi
}
call "$OP" POST /v1/orgs '{"name":"gamma","customer_code":"GAM-7","display_name":"Gamma <b>&</b> \"Co\"<script>x</script>"}'
call "$OP" POST /v1/users '{"name":"gil","role":"member","org":"gamma"}'
GIL=$(j .token)
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":1234567}'
S2=$(ts $((NOW + 3 * DAY))) E2=$(ts $((NOW + 3 * DAY + 3 * 3600 + 60)))
call "$OP" POST /v1/requests "{\"org\":\"gamma\",\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$S2\",\"end\":\"$E2\"}"
RG=$(j .id)
call "$OP" POST "/v1/requests/$RG/quote"
QG=$(j .quote.id)
QLINES=$(jq -c .quote.lines <<<"$body") QTOTAL=$(j .quote.total_micros)
check "a quote with sub-cent amounts (4 started hours at 1.234567)" [ "$QTOTAL" = 4938268 ]
curl -s -D "$tmp/h" -o "$tmp/doc.html" -H "Authorization: Bearer $GIL" "$U/v1/quotes/$QG/document"
check "GET /v1/quotes/{id}/document (gamma's member) → 200 text/html; charset=utf-8" \
    grep -q -i '^content-type: text/html; charset=utf-8' "$tmp/h"
check "… with the org, its customer code, the window and the validity" \
    bash -c "grep -q '<td>gamma</td>' '$tmp/doc.html' && grep -q '<td>GAM-7</td>' '$tmp/doc.html' &&
        grep -q '<td>$S2</td>' '$tmp/doc.html' && grep -q '<td>$E2</td>' '$tmp/doc.html' &&
        grep -q '<th>valid until</th>' '$tmp/doc.html'"
all=1
for i in $(seq 0 $(($(jq length <<<"$QLINES") - 1))); do
    a=$(jq -r ".[$i].amount_micros" <<<"$QLINES") r=$(jq -r ".[$i].rate_micros" <<<"$QLINES")
    w=$(jq -r ".[$i].what" <<<"$QLINES")
    grep -q -F "<td>$w</td>" "$tmp/doc.html" && grep -q -F "<td>$(fmt_money "$r")</td>" "$tmp/doc.html" &&
        grep -q -F "<td>$(fmt_money "$a")</td>" "$tmp/doc.html" || all=0
done
check "… every price line's rate and amount, to the micro-unit (4.938268)" \
    both "$all$(fmt_money "$QTOTAL")" 14.938268 "<td>4.938268</td>" "$tmp/doc.html"
check "… every value escaped, no script" \
    bash -c "grep -q -F 'Gamma &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;&lt;script&gt;' '$tmp/doc.html' &&
        ! grep -q -i '<script' '$tmp/doc.html'"
call "$ALICE" GET "/v1/quotes/$QG/document"
expect "another org's quote document → 404" 404 not_found
call "$AGENT" GET "/v1/quotes/$QG/document"
expect "an agent → 403" 403
call "$GIL" GET "/v1/quotes/qte_nope/document"
expect "an unknown quote → 404 id" 404 not_found id

curl -s -D "$tmp/h" -o "$tmp/cdoc.html" -H "Authorization: Bearer $BOB" "$U/v1/contracts/$KC/document?version=1"
check "GET /v1/contracts/{id}/document?version=1 (beta's admin) → text/html" \
    grep -q -i '^content-type: text/html; charset=utf-8' "$tmp/h"
check "… with the org, terms, validity, credit limit 10.50 and version 1" \
    bash -c "grep -q '<td>beta</td>' '$tmp/cdoc.html' && grep -q '<td>prepaid</td>' '$tmp/cdoc.html' &&
        grep -q '<td>10.50</td>' '$tmp/cdoc.html' && grep -q 'Contract $KC, version 1' '$tmp/cdoc.html' &&
        grep -q '<td>$(ts $((NOW + 60 * DAY)))</td>' '$tmp/cdoc.html'"
curl -s -o "$tmp/kdoc.html" -H "Authorization: Bearer $OP" "$U/v1/contracts/$K/document"
check "… a contract's frozen rates as a table (L40S-48GB at 0.90)" \
    bash -c "grep -q '<td>L40S-48GB</td><td>0.90</td>' '$tmp/kdoc.html'"
call "$ALICE" GET "/v1/contracts/$KC/document"
expect "another org's contract document → 404" 404 not_found
