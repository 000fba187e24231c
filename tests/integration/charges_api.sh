#!/usr/bin/env bash
# charges_api.sh — confirmations, extensions, cancellations and shortenings move money per the
# org's contract (docs/billing.md), over loopback against a real `allot server` on a temp
# SQLite database with a test clock: every payment terms at confirm (prepaid charges the quote
# document's total to the micro-unit), 402 insufficient_balance and each limit refused with its
# numbers (at quote and at confirm), terms and contract-version mismatches, idempotent retries,
# extension at the contract's rates after a price change (3,840.00 + 960.00 = 4,800.00, not
# 8,640.00), extensions refused by balance and by a limit, cancellation refunds and who may
# cancel, shortening; `GET /v1/ledger/verify` ok after each; 20 concurrent confirmations on one
# org (the cash never below -credit limit, as many 201s as the money allows); kill -9 during a
# stream of confirmations and top-ups (every 201 is there after a restart, verify passes).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_charges.XXXXXX)
server_pid=
pid=
cleanup() {
    reap -KILL "${loop_pid-}"
    reap "$server_pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(( $(date +%s) / 3600 * 3600 ))
HOUR=3600
DAY=86400
write_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
start() { start_clocked_server 3600000; }
must "server starts" start

M=1000000 # micro-units per USD
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 4
node h2 H100-80GB 2
node l1 L40S 4
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":5123457}"
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$M}"

VT=$(ts $((T0 + 400 * DAY)))
# the refusal's numbers: "limit value in_use asked"
refusal() { j '.error.details | "\(.limit) \(.value) \(.in_use) \(.asked)"'; }

# ---------------------------------------------------------------- no contract, wrong terms
org nok
request nok "$ADMIN" "$(gpus L40S 1 $((T0 + DAY)) $((T0 + DAY + HOUR)))"
check "a quote without a contract says so (contract null, list price, whole hours)" \
    [ "$(jq -r '.quote.contract' <<<"$Q")" = null -a "$(jq -r '.quote.granularity' <<<"$Q")" = hour ]
confirm "$REQ"
expect "confirm for an org with no contract in force → 409 invalid_state" 409 invalid_state contract
check "… the message says there is none" grep -q "has no contract in force" <<<"$(j .error.message)"
contract nok prepaid "\"credit_limit_micros\":0"
confirm "$REQ"
expect "a quote priced before the contract existed → 409 invalid_state" 409 invalid_state quote
check "… 'the quote … was priced at the list price …: quote again'" \
    grep -q "priced at the list price.*quote again" <<<"$(j .error.message)"

# ---------------------------------------------------------------- 1. prepaid: the worked example
# docs/billing.md: contract of org acme, H100 at the list's 40.00, fee 50.00 + 10 %, credit
# limit 100.00; 4 GPUs for 24 h = 3,840.00.
org acme
ACME=$ORG_ID
ACME_ADMIN=$ADMIN
contract acme prepaid "\"credit_limit_micros\":$((100 * M)),\"cancel_fee_micros\":$((50 * M)),\"cancel_fee_bp\":1000"
KA=$K
S=$((T0 + DAY)) E=$((T0 + 2 * DAY))
request acme "$ACME_ADMIN" "$(gpus H100-80GB 4 $S $E)"
R_A=$REQ
QID=$(jq -r .quote.id <<<"$Q")
check "the quote is priced under contract $KA v1: 3,840.00 in whole hours" \
    [ "$(jq -r '"\(.quote.contract.id) \(.quote.contract.version) \(.quote.total_micros) \(.quote.billing_rule)"' <<<"$Q")" = "$KA 1 3840000000 whole hours, a started hour in full, minimum 1 h" ]
topup acme 3739999999 acme-1
confirm "$R_A" '{"payment_terms":"prepaid"}'
expect "confirm with 3,739.999999 + 100.00 of credit for 3,840.00 → 402 insufficient_balance" 402 insufficient_balance
check "… details: balance 3739999999, credit limit 100000000, asked 3840000000" \
    [ "$(j '.error.details | "\(.balance_micros) \(.credit_limit_micros) \(.asked)"')" = "3739999999 100000000 3840000000" ]
check "… and nothing was charged, the quote still holds the GPUs" \
    [ "$(cash acme)" = 3739999999 -a -z "$(transfers acme reservation_charge)" ]
verify "after a refused confirmation"
confirm "$R_A" '{"payment_terms":"invoiced"}'
expect "payment_terms other than the contract's → 409 invalid_state" 409 invalid_state payment_terms
check "… naming both" grep -q "invoiced: contract $KA v1 says prepaid" <<<"$(j .error.message)"
confirm "$R_A" '{"payment_terms":"weekly"}'
expect "payment_terms not a terms name → 400" 400 invalid_argument payment_terms
topup acme 1 acme-2
confirm "$R_A" '{"payment_terms":"prepaid"}' -H "Idempotency-Key: conf-a"
expect "one more micro-unit: confirm → 201" 201
RSV_A=$(j .id)
check "the reservation records contract $KA v1, prepaid, whole hours" \
    [ "$(j '"\(.contract.id) \(.contract.version) \(.payment_terms) \(.granularity) \(.min_hours)"')" = "$KA 1 prepaid hour 1" ]
check "… and its billing: charged 3,840.00, nothing refunded" \
    [ "$(j '.billing | "\(.charged_micros) \(.refunded_micros) \(.fees_micros)"')" = "3840000000 0 0" ]
confirm "$R_A" '{"payment_terms":"prepaid"}' -H "Idempotency-Key: conf-a"
check "the same Idempotency-Key again replays the 201 (same reservation)" [ "$code" = 201 -a "$(j .id)" = "$RSV_A" ]
check "… and charged once: one reservation_charge of 3,840.00, cash -100.00" \
    bash -c '[[ $1 =~ ^3840000000\ res:[0-9]+:charge$ ]] && [ "$2" = -100000000 ]' _ \
    "$(transfers acme reservation_charge)" "$(cash acme)"
call "$OP" GET "/v1/quotes/$QID/document"
doc=$(sed 's/<[^>]*>/ /g' <<<"$body")
check "the quote's document prints the total that was charged (3840.00)" grep -q -w "3840.00" <<<"$doc"
check "… and the line's rate (40.00) and quantity (4 GPUs × 24 h)" \
    bash -c 'grep -q "40.00" <<<"$1" && grep -q -E "\b96\b|\b24\b" <<<"$1"' _ "$doc"
check "the ledger's charge equals the quote JSON's total to the micro-unit" \
    [ "$(jq -r .quote.total_micros <<<"$Q")" = "$(transfers acme reservation_charge | cut -d' ' -f1)" ]
verify "after a prepaid charge"

# ---------------------------------------------------------------- 2. extension at the contract's rates
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((72 * M)),\"mig_slice_hour_micros\":5123457}"
topup acme $((1000 * M)) acme-3
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_A/extend" "{\"end\":\"$(ts $((E + 6 * HOUR)))\"}"
expect "extend by 6 h after the list price became 72.00 → 200" 200
check "… charges 960.00 (4 × 6 h × 40.00, the frozen rate)" [ "$(j .extension_micros)" = 960000000 ]
check "… the reservation now costs 4,800.00 as the contract says, not 8,640.00" \
    [ "$(j .total_micros)" = 4800000000 -a "$(j '.lines[0].rate_micros')" = 40000000 -a "$(j '.lines[0].hours')" = 30 ]
check "… billing charged 4,800.00 in all" [ "$(j .billing.charged_micros)" = 4800000000 ]
check "… cash 900.00 - 960.00 = -60.00" [ "$(cash acme)" = -60000000 ]
verify "after an extension"
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_A/extend" "{\"end\":\"$(ts $((E + 7 * HOUR)))\"}"
expect "extension the funds do not cover (160.00 asked, 40.00 left) → 402" 402 insufficient_balance
check "… details: balance -60.00, credit limit 100.00, asked 160.00" \
    [ "$(j '.error.details | "\(.balance_micros) \(.credit_limit_micros) \(.asked)"')" = "-60000000 100000000 160000000" ]
call "$OP" GET "/v1/reservations/$RSV_A"
check "… the reservation keeps its end and its charges" \
    [ "$(j .end)" = "$(ts $((E + 6 * HOUR)))" -a "$(j .billing.charged_micros)" = 4800000000 ]
verify "after a refused extension"

# ---------------------------------------------------------------- 3. cancellation refunds, who may cancel
# 10 h 20 min in: the reservation (30 h now) ends at 11 h; unused 4 × 19 h × 40.00 = 3,040.00;
# fee 50.00 + 304.00: refund 2,686.00, net 2,114.00 = C(11 h) 1,760.00 + the fee.
write_clock $((S + 10 * HOUR + 20 * 60))
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_A/cancel" '{"reason":"done early"}'
expect "an org admin cancelling an active prepaid reservation (contract says no) → 403" 403 forbidden
check "… the message names the contract rule" grep -q "only an operator" <<<"$(j .error.message)"
call "$OP" POST "/v1/reservations/$RSV_A/cancel" '{"reason":"done early"}'
expect "the operator cancels it → 200" 200
check "… refund 2,686.00 and fee 354.00, billed to 11 h (docs/billing.md's worked example)" \
    [ "$(j '"\(.refund_micros) \(.fee_micros) \(.billed_end)"')" = "2686000000 354000000 $(ts $((S + 11 * HOUR)))" ]
check "… billing: charged 4,800.00, refunded 2,686.00, fees 354.00, net 2,114.00" \
    [ "$(j '.billing | "\(.charged_micros) \(.refunded_micros) \(.fees_micros) \(.net_micros)"')" = "4800000000 2686000000 354000000 2114000000" ]
check "… its lines now bill 11 h: 1,760.00" [ "$(j .total_micros)" = 1760000000 ]
check "… one refund transfer of 2,686.00 to the cash (-60.00 + 2,686.00)" \
    bash -c '[[ $1 =~ ^2686000000\ res:[0-9]+:r2:refund$ ]] && [ "$2" = 2626000000 ]' _ \
    "$(transfers acme refund)" "$(cash acme)"
verify "after a cancellation with a fee"
call "$OP" GET "/v1/availability?model=H100-80GB&start=$(ts $((S + 12 * HOUR)))&end=$(ts $((S + 13 * HOUR)))"
check "… its GPUs are back on sale" [ "$(j .whole_gpus_free)" = 6 ]
write_clock "$T0"

# ---------------------------------------------------------------- cancel before the start, shorten
request acme "$ACME_ADMIN" "$(gpus L40S 2 $((T0 + 3 * DAY)) $((T0 + 3 * DAY + 10 * HOUR)))"
confirm "$REQ"
expect "payment_terms left out: the contract's terms apply → 201" 201
RSV_B=$(j .id)
check "… prepaid, 2 × 10 h × 1.00 = 20.00 charged" \
    [ "$(j '"\(.payment_terms) \(.billing.charged_micros)"')" = "prepaid 20000000" ]
c0=$(cash acme)
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_B/shorten" "{\"end\":\"$(ts $((T0 + 3 * DAY + 4 * HOUR)))\"}"
expect "the org admin shortens it to 4 h before it starts → 200" 200
check "… 6 h given up: 12.00 less the fee (50.00 + 1.20, at most 12.00): refund 0, fee 12.00" \
    [ "$(j '"\(.refund_micros) \(.fee_micros) \(.end) \(.total_micros)"')" = "0 12000000 $(ts $((T0 + 3 * DAY + 4 * HOUR))) 8000000" ]
check "… no refund transfer, the cash unchanged" [ "$(cash acme)" = "$c0" ]
verify "after a shortening whose fee takes the refund"
call "$OP" GET "/v1/availability?model=L40S&start=$(ts $((T0 + 3 * DAY + 5 * HOUR)))&end=$(ts $((T0 + 3 * DAY + 6 * HOUR)))"
check "… the time given up is back on sale (4 L40S free after the new end)" [ "$(j .whole_gpus_free)" = 4 ]
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_B/shorten" "{\"end\":\"$(ts $((T0 + 3 * DAY + 9 * HOUR)))\"}"
expect "shortening to a later end than it has → 400 end" 400 invalid_argument end
call "$ACME_ADMIN" POST "/v1/reservations/$RSV_B/cancel"
expect "the org admin cancels it before its start → 200" 200
check "… the rest (8.00) given up: fee min(8.00, 50.80) = 8.00, refund 0" \
    [ "$(j '"\(.refund_micros) \(.fee_micros) \(.billing.fees_micros) \(.billing.net_micros)"')" = "0 8000000 20000000 20000000" ]
verify "after a cancellation before the start"

# a contract without a fee: a cancellation before the start refunds all of it
org free
contract free prepaid "\"credit_limit_micros\":0,\"admin_may_cancel_active\":true"
topup free $((100 * M)) free-1
request free "$ADMIN" "$(gpus L40S 1 $((T0 + 4 * DAY)) $((T0 + 4 * DAY + 5 * HOUR)))"
confirm "$REQ"
RSV_F=$(j .id)
check "confirmed: 5.00 charged, cash 95.00" [ "$code" = 201 -a "$(cash free)" = 95000000 ]
call "$ADMIN" POST "/v1/reservations/$RSV_F/cancel"
check "cancelled before the start without a fee: refund 5.00, cash 100.00" \
    [ "$code" = 200 -a "$(j .refund_micros)" = 5000000 -a "$(cash free)" = 100000000 ]
request free "$ADMIN" "$(gpus L40S 1 $((T0 + HOUR)) $((T0 + 6 * HOUR)))"
confirm "$REQ"
RSV_F2=$(j .id)
write_clock $((T0 + 2 * HOUR + 60))
call "$ADMIN" POST "/v1/reservations/$RSV_F2/cancel"
check "an org admin may cancel an active one when the contract says so: refund 3.00 (hours 3-5)" \
    [ "$code" = 200 -a "$(j .refund_micros)" = 3000000 -a "$(j .billed_end)" = "$(ts $((T0 + 3 * HOUR)))" ]
verify "after cancellations without a fee"
write_clock "$T0"

# ---------------------------------------------------------------- balance and invoiced terms
org bal
BAL_ADMIN=$ADMIN
contract bal balance "\"credit_limit_micros\":0,\"draw_period\":\"hour\",\"granularity\":\"second\""
KB=$K
request bal "$ADMIN" "$(gpus L40S 1 $((T0 + 5 * DAY)) $((T0 + 5 * DAY + 90 * 60)))"
check "a balance contract's quote bills per second: 1.50 for 90 min" \
    [ "$(jq -r '"\(.quote.granularity) \(.quote.total_micros)"' <<<"$Q")" = "second 1500000" ]
confirm "$REQ"
expect "balance terms with an empty cash: the first period (1.00) is not covered → 402" 402 insufficient_balance
check "… asked 1.00, the first hour's draw" [ "$(j .error.details.asked)" = 1000000 ]
topup bal $M bal-1
confirm "$REQ" '{"payment_terms":"balance"}'
expect "with 1.00: confirm → 201" 201
check "… nothing charged at confirmation (the draws come as it runs)" \
    [ "$(j .billing.charged_micros)" = 0 -a "$(cash bal)" = 1000000 -a -z "$(transfers bal reservation_charge)" ]
verify "after a balance confirmation"
org inv
contract inv invoiced "\"credit_limit_micros\":$((50 * M))"
request inv "$ADMIN" "$(gpus H100-80GB 1 $((T0 + 5 * DAY)) $((T0 + 5 * DAY + 2 * HOUR)))"
confirm "$REQ"
expect "invoiced, 144.00 (the list is 72.00 now) against a credit limit of 50.00 → 409 limit_exceeded" 409 limit_exceeded
check "… credit_limit 50.00, nothing owed, 144.00 asked" [ "$(refusal)" = "credit_limit 50000000 0 144000000" ]
request inv "$ADMIN" "$(gpus L40S 1 $((T0 + 5 * DAY)) $((T0 + 5 * DAY + 2 * HOUR)))"
confirm "$REQ" '{"payment_terms":"invoiced"}'
check "invoiced within the credit limit → 201, nothing charged at confirmation" \
    [ "$code" = 201 -a "$(j .billing.charged_micros)" = 0 -a "$(j .payment_terms)" = invoiced ]
verify "after an invoiced confirmation"

# ---------------------------------------------------------------- the quote must be the contract's version
request bal "$BAL_ADMIN" "$(gpus L40S 1 $((T0 + 6 * DAY)) $((T0 + 6 * DAY + HOUR)))"
call "$OP" POST "/v1/contracts/$KB/amend" '{"granularity":"minute"}'
check "the contract is amended to version 2" [ "$code" = 200 -a "$(j .version)" = 2 ]
confirm "$REQ"
expect "a quote priced under v1, confirmed under v2 → 409 invalid_state" 409 invalid_state quote
check "… 'priced under contract $KB v1; … in force is $KB v2: quote again'" \
    grep -q "priced under contract $KB v1; the org's contract in force is $KB v2: quote again" <<<"$(j .error.message)"
call "$BAL_ADMIN" POST "/v1/requests/$REQ/cancel"
request bal "$BAL_ADMIN" "$(gpus L40S 1 $((T0 + 6 * DAY)) $((T0 + 6 * DAY + HOUR)))"
confirm "$REQ"
check "submitted and quoted again under v2 → 201, recording v2" [ "$code" = 201 -a "$(j .contract.version)" = 2 ]
verify "after confirmations under an amended contract"

# ---------------------------------------------------------------- limits, at quote and at confirm
D=$((T0 + 7 * DAY))
org lim
LIM_ADMIN=$ADMIN
contract lim prepaid "\"credit_limit_micros\":0,\"max_concurrent_gpus\":1,\"max_reservation_s\":$((2 * DAY)),\"max_reservations_ahead\":2"
topup lim $((1000 * M)) lim-1
call "$LIM_ADMIN" POST /v1/requests "{\"org\":\"lim\",$(gpus L40S 1 $D $((D + 3 * DAY)))}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "a quote of 3 days under a 2-day max_reservation_length → 409 limit_exceeded" 409 limit_exceeded
check "… limit max_reservation_length, value 172800, in use 0, asked 259200" \
    [ "$(refusal)" = "max_reservation_length 172800 0 259200" ]
call "$OP" GET "/v1/availability?model=L40S&start=$(ts "$D")&end=$(ts $((D + HOUR)))"
check "… and it leaves no hold behind" [ "$(j .whole_gpus_free)" = 4 ]
request lim "$LIM_ADMIN" "$(mig 3g.40gb 2 $D $((D + 2 * HOUR)))"
confirm "$REQ"
check "two 3g.40gb instances (6/7 of a GPU) under max_concurrent_gpus 1 → 201" [ "$code" = 201 ]
check "… charged 6 slices × 2 h × 5.123457 = 61.481484" [ "$(j .billing.charged_micros)" = 61481484 ]
RSV_MIG=$(j .id)
call "$LIM_ADMIN" POST /v1/requests "{\"org\":\"lim\",$(mig 1g.10gb 2 $((D + HOUR)) $((D + 3 * HOUR)))}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "two 1g.10gb more at the same time (2/7 of a GPU) → 409 limit_exceeded" 409 limit_exceeded
check "… max_concurrent_gpus in share units: value 27720, in use 23760, asked 7920" \
    [ "$(refusal)" = "max_concurrent_gpus 27720 23760 7920" ]
request lim "$LIM_ADMIN" "$(mig 1g.10gb 1 $((D + HOUR)) $((D + 3 * HOUR)))"
confirm "$REQ"
check "one 1g.10gb (1/7) fits exactly: 23760 + 3960 = 27720 → 201" [ "$code" = 201 ]
call "$LIM_ADMIN" POST /v1/requests "{\"org\":\"lim\",$(gpus L40S 1 $((D + DAY)) $((D + DAY + HOUR)))}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "a third reservation ahead is refused already at quote → 409" 409 limit_exceeded
check "… max_reservations_ahead 2, 2 in use, 1 asked" [ "$(refusal)" = "max_reservations_ahead 2 2 1" ]
call "$OP" POST "/v1/reservations/$RSV_MIG/cancel"
check "the operator cancels one of them (before its start): one ahead" [ "$code" = 200 ]
request lim "$LIM_ADMIN" "$(gpus L40S 1 $((D + DAY)) $((D + DAY + HOUR)))"
R_AHEAD=$REQ
request lim "$LIM_ADMIN" "$(gpus L40S 1 $((D + 2 * DAY)) $((D + 2 * DAY + HOUR)))"
check "two quotes pass while one reservation is ahead" [ "$code" = 200 ]
confirm "$R_AHEAD"
check "the first confirms (2 ahead)" [ "$code" = 201 ]
RSV_L=$(j .id)
confirm "$REQ"
expect "the second, quoted while there was room, is refused at confirm → 409" 409 limit_exceeded
check "… max_reservations_ahead 2, 2 in use, 1 asked" [ "$(refusal)" = "max_reservations_ahead 2 2 1" ]
call "$LIM_ADMIN" POST "/v1/requests/$REQ/cancel" # its quote's holds go
call "$LIM_ADMIN" POST "/v1/reservations/$RSV_L/extend" "{\"end\":\"$(ts $((D + 3 * DAY + HOUR)))\"}"
expect "a renewal beyond max_reservation_length → 409 limit_exceeded" 409 limit_exceeded
check "… value 172800, asked the whole new window: 172800 + 3600" \
    [ "$(refusal)" = "max_reservation_length 172800 0 176400" ]
verify "after limit refusals"

org capped
CAP_ADMIN=$ADMIN
contract capped prepaid "\"credit_limit_micros\":0,\"monthly_spend_cap_micros\":$((50 * M))"
topup capped $((1000 * M)) cap-1
call "$CAP_ADMIN" POST /v1/requests "{\"org\":\"capped\",$(gpus L40S 1 $((D + 4 * DAY)) $((D + 4 * DAY + 60 * HOUR)))}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
expect "60.00 under a monthly_spend_cap of 50.00 → 409 at quote" 409 limit_exceeded
check "… monthly_spend_cap 50000000, 0 in use, 60000000 asked" [ "$(refusal)" = "monthly_spend_cap 50000000 0 60000000" ]
request capped "$CAP_ADMIN" "$(gpus L40S 1 $((D + 4 * DAY)) $((D + 4 * DAY + 30 * HOUR)))"
R_C1=$REQ
request capped "$CAP_ADMIN" "$(gpus L40S 1 $((D + 6 * DAY)) $((D + 6 * DAY + 30 * HOUR)))"
confirm "$R_C1"
check "30.00 confirms" [ "$code" = 201 ]
confirm "$REQ"
expect "30.00 more this month, quoted before → 409 at confirm" 409 limit_exceeded
check "… monthly_spend_cap 50000000, 30000000 in use, 30000000 asked" [ "$(refusal)" = "monthly_spend_cap 50000000 30000000 30000000" ]
verify "after the monthly cap"

# ---------------------------------------------------------------- concurrent confirmations on one org
# 20 prepaid reservations of 1.00 each (one L40S-hour), confirmed at once from 20 clients; the
# org has 5.00 and a credit limit of 2.00: exactly 7 are paid for.
org par
PAR_ADMIN=$ADMIN
contract par prepaid "\"credit_limit_micros\":$((2 * M))"
topup par $((5 * M)) par-1
P0=$((T0 + 20 * DAY))
reqs=() cpids=()
for i in $(seq 0 19); do
    request par "$PAR_ADMIN" "$(gpus L40S 1 $((P0 + i * HOUR)) $((P0 + (i + 1) * HOUR)))"
    reqs+=("$REQ")
done
for id in "${reqs[@]}"; do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H "Authorization: Bearer $OP" \
        -d '{"payment_terms":"prepaid"}' "$U/v1/requests/$id/confirm" >>"$tmp/par.codes" &
    cpids+=($!)
done
wait "${cpids[@]}"
won=$(grep -c '^201$' "$tmp/par.codes")
broke=$(grep -c '^402$' "$tmp/par.codes")
check "20 concurrent confirmations with money for 7: 7 × 201, 13 × 402 ($won, $broke)" [ "$won" = 7 -a "$broke" = 13 ]
check "… the cash is -2.00, never below -credit limit" [ "$(cash par)" = -2000000 ]
check "… 7 charges in the ledger" [ "$(transfers par reservation_charge | wc -l)" = 7 ]
verify "after concurrent confirmations"

# ---------------------------------------------------------------- kill -9 during a stream of charges
org k9
K9_ADMIN=$ADMIN
contract k9 prepaid "\"credit_limit_micros\":0"
topup k9 $((100 * M)) k9-0
P0=$((T0 + 25 * DAY))
reqs=()
for i in $(seq 0 29); do
    request k9 "$K9_ADMIN" "$(gpus L40S 1 $((P0 + i * HOUR)) $((P0 + (i + 1) * HOUR)))"
    reqs+=("$REQ")
done
(
    i=0
    for id in "${reqs[@]}"; do
        i=$((i + 1))
        out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $OP" \
            -d '{"payment_terms":"prepaid"}' "$U/v1/requests/$id/confirm")
        [ "${out##* }" = 201 ] && echo "confirm $(jq -r .id <<<"${out% *}")" >>"$tmp/k9.done"
        c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
            -H "Idempotency-Key: k9-$i" -d "{\"amount_micros\":$M}" "$U/v1/orgs/k9/topups")
        [ "$c" = 201 ] && echo "topup k9-$i" >>"$tmp/k9.done"
    done
) &
loop_pid=$!
wait_until 60 bash -c "[ \$(cat '$tmp/k9.done' 2>/dev/null | wc -l) -ge 12 ]"
kill -9 "$pid"
wait "$pid" 2>/dev/null
server_pid= pid=
wait "$loop_pid" 2>/dev/null
loop_pid=
answered=$(wc -l <"$tmp/k9.done")
check "kill -9 came in the middle of the stream ($answered of 60 answered)" [ "$answered" -ge 12 -a "$answered" -lt 60 ]
if start; then ok "the server restarts on the same database"; else nok "the server restarts"; show_log "$tmp/server.log"; fi
server_pid=$pid
lost=0
while read -r what id; do
    if [ "$what" = confirm ]; then
        call "$OP" GET "/v1/reservations/$id"
        [ "$code" = 200 ] && [ "$(j .billing.charged_micros)" = 1000000 ] || lost=$((lost + 1))
    else
        transfers k9 topup | grep -q " topup:$id\$" || lost=$((lost + 1))
    fi
done <"$tmp/k9.done"
check "every answered 201 is there after the restart, charged ($lost missing)" [ "$lost" = 0 ]
nc=$(transfers k9 reservation_charge | wc -l) nt=$(($(transfers k9 topup | wc -l) - 1))
ac=$(grep -c '^confirm' "$tmp/k9.done") at=$(grep -c '^topup' "$tmp/k9.done")
check "… the ledger holds the answered charges and top-ups, and at most the one cut off ($nc/$ac, $nt/$at)" \
    [ "$nc" -ge "$ac" -a "$nc" -le $((ac + 1)) -a "$nt" -ge "$at" -a "$nt" -le $((at + 1)) ]
check "… the cash is 100.00 + its top-ups - its charges" [ "$(cash k9)" = $((100 * M + nt * M - nc * M)) ]
verify "after kill -9 and a restart"
