#!/usr/bin/env bash
# billing_clock.sh — the server's clock takes the draws of balance and invoiced reservations
# (docs/billing.md, "Balance", "Invoiced", "Where it meets HTTP"), over loopback against a real
# `allot server` on a temp SQLite database whose clock the suite drives (--clock-file, ticks
# every 100 ms): a balance reservation starting now has draw 0 in its confirmation (its
# period began by the last pass's mark) or on the tick that reaches its start, then one draw
# per period as the clock moves (hourly and daily contracts), each equal to the quote
# document's figures and to C(t) to the micro-unit (worked example 2: two 3g.40gb for
# 2 h 30 min 10 s per second at 5.123457 per slice-hour → 30.740742, 30.740742, 15.455761);
# each draw exactly once across a clean restart between ticks and across kill -9 (no draw
# skipped or doubled, `GET /v1/ledger/verify` ok); balance.low events when the funds run low; a
# draw the funds do not cover ends access (end, state, access_ended_at, the GPUs free again);
# invoiced terms accrue to org_accrued and the month's invoice equals the draws to the
# micro-unit (issued, paid, verify ok); a renewal (extend) of a balance reservation refused by
# the balance and by a limit. Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_clock.XXXXXX)
pid=
trap_stop_server -KILL

HOUR=3600
DAY=86400
M=1000000
# The 20th of the current month at midnight UTC: the daily reservation (5 days) ends within the
# month, whose invoice is built once the clock has moved into the next one.
MONTH=$(date -u +%Y-%m)
T0=$(date -u -d "${MONTH}-20T00:00:00Z" +%s)
NEXT_MONTH_T=$(date -u -d "${MONTH}-01T00:00:00Z +1 month" +%s)
NOW=$T0
set_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
start() { start_clocked_server 100 --heartbeat-timeout $((30 * DAY)); }
must "server starts" start

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 2
node l1 L40S 2
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":5123457}"
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$M}"

VT=$(ts $((T0 + 400 * DAY)))
VF=$(ts "$T0")
# draws ORG → "k amount" per draw transfer of the org, oldest first (the key's period)
draws() {
    local b=$body c=$code
    call "$OP" GET "/v1/ledger/transfers?org=$1&kind=reservation_charge&limit=500"
    j '.items[] | select(.key | test(":draw:")) | "\(.key | sub(".*:draw:"; "")) \(.amount_micros)"'
    body=$b code=$c
}
rsv() { call "$OP" GET "/v1/reservations/$1"; }

# ---------------------------------------------------------------- 1. hourly balance: worked example 2
org hb
HB=$ORG_ID
contract hb balance "\"credit_limit_micros\":0,\"draw_period\":\"hour\",\"granularity\":\"second\""
topup hb $((100 * M)) hb-1
S1=$NOW E1=$((NOW + 2 * HOUR + 30 * 60 + 10))
wait_until 15 as_of_is "$NOW" || nok "the first pass ran"
request hb "$ADMIN" "$(mig 3g.40gb 2 "$S1" "$E1")"
QID=$(jq -r .quote.id <<<"$Q")
check "the quote: two 3g.40gb for 2 h 30 min 10 s per second = 76.937245 (C(9010 s))" \
    [ "$(jq -r '"\(.quote.granularity) \(.quote.total_micros)"' <<<"$Q")" = "second 76937245" ]
call "$ADMIN" GET "/v1/quotes/$QID/document"
check "the quote document says 76.937245 at 5.123457 per slice-hour" \
    grep -q "76\.937245" <<<"$body"
check "… and names the rate 5.123457" grep -q "5\.123457" <<<"$body"
confirm "$REQ" '{"payment_terms":"balance"}'
RID1=$(j .id)
check "confirmed starting now, at the last pass's mark → 201, draw 0 (30.740742) taken with it" \
    [ "$code" = 201 -a "$(j .billing.periods_drawn)" = 1 -a "$(j .billing.charged_micros)" = 30740742 ]
tick_to $((NOW + 1))
check "the next tick takes no second draw 0" [ "$(draws hb)" = "0 30740742" ]
rsv "$RID1"
check "… the reservation is active, 1 period drawn" \
    [ "$(j .state)" = active -a "$(j .billing.periods_drawn)" = 1 -a "$(j .billing.charged_micros)" = 30740742 ]
tick_to $((S1 + HOUR - 1))
check "no draw before the next period begins" [ "$(draws hb | wc -l)" = 1 ]
tick_to $((S1 + HOUR))
check "period 1 begins: draw 1 = 30.740742" [ "$(draws hb | tail -1)" = "1 30740742" ]
verify "after two hourly draws"
# a clean restart between ticks: the clock moves while the server is down
stop_server
set_clock $((S1 + 2 * HOUR + 5))
must "the server restarts" start
wait_until 15 as_of_is "$NOW" || nok "the pass ran after the restart"
check "after a restart the last period (10 min 10 s) is drawn once: 15.455761" \
    [ "$(draws hb | tr '\n' ' ')" = "0 30740742 1 30740742 2 15455761 " ]
tick_to $((E1 + HOUR))
check "the draws add up to the quote's total, 76.937245, and no more come" \
    [ "$(draws hb | awk '{s += $2} END {print NR, s}')" = "3 76937245" ]
check "… the cash is 100.00 - 76.937245" [ "$(balance hb cash_micros)" = $((100 * M - 76937245)) ]
rsv "$RID1"
check "… the reservation ended, its billing net = the quote's total" \
    [ "$(j .state)" = ended -a "$(j .billing.net_micros)" = 76937245 -a "$(j .total_micros)" = 76937245 ]
check "funds that covered every period left gave no balance.low" [ -z "$(events balance.low "$HB")" ]
verify "after the hourly reservation ended"

# ---------------------------------------------------------------- 2. daily balance: low, kill -9, access ends
org dy
DY=$ORG_ID
contract dy balance "\"credit_limit_micros\":0,\"draw_period\":\"day\",\"granularity\":\"second\""
topup dy $((2000 * M)) dy-1
S2=$((NOW + HOUR)) E2=$((NOW + HOUR + 5 * DAY))
request dy "$ADMIN" "$(gpus H100-80GB 1 "$S2" "$E2")"
check "the daily reservation's quote: 1 GPU for 5 days at 40.00 = 4,800.00" \
    [ "$(jq -r .quote.total_micros <<<"$Q")" = $((4800 * M)) ]
confirm "$REQ" '{"payment_terms":"balance"}'
RID2=$(j .id)
check "confirmed with 2,000.00 (the first day, 960.00, is covered) → 201" [ "$code" = 201 ]
tick_to $((S2 - 1))
check "nothing is drawn before the start" [ -z "$(draws dy)" ]
tick_to "$S2"
check "the start: draw 0 = 960.00 (a day at 40.00)" [ "$(draws dy)" = "0 960000000" ]
LOW=$(events balance.low "$DY")
check "balance.low after draw 0: 1,040.00 covers 1 of the 4 days left" \
    [ "$(jq -rs '.[-1] | "\(.reservation) \(.covered_periods) \(.periods_left) \(.available_micros)"' <<<"$LOW")" = "$RID2 1 4 1040000000" ]
call "$OP" GET "/v1/availability?model=H100-80GB&start=$(ts $((S2 + DAY)))&end=$(ts $((S2 + DAY + HOUR)))"
check "the reservation holds one of the two H100s" [ "$(j .whole_gpus_free)" = 1 ]
# kill -9 around the next pass: the clock moves a day, the server dies at once
set_clock $((S2 + DAY))
sleep 0.$((RANDOM % 3))
reap -KILL "$pid"
pid=
must "the server restarts after kill -9" start
wait_until 15 as_of_is "$NOW" || nok "the pass ran after kill -9"
check "after kill -9: draws 0 and 1, once each (960.00 each)" \
    [ "$(draws dy | tr '\n' ' ')" = "0 960000000 1 960000000 " ]
verify "after kill -9 during the daily draws"
check "a second balance.low (80.00 covers none of the 3 days left)" \
    [ "$(events balance.low "$DY" | jq -rs 'length, (.[-1] | "\(.covered_periods) \(.periods_left) \(.available_micros)")' | tr '\n' ' ')" = "2 0 3 80000000 " ]
tick_to $((S2 + 2 * DAY))
check "draw 2 (960.00) is not covered by 80.00: not taken" [ "$(draws dy | wc -l)" = 2 ]
rsv "$RID2"
check "access ends at the start of the unpaid day: end, state ended, access_ended_at" \
    [ "$(j '"\(.state) \(.end) \(.access_ended_at)"')" = "ended $(ts $((S2 + 2 * DAY))) $(ts $((S2 + 2 * DAY)))" ]
check "… the reason says insufficient balance" grep -q "insufficient balance" <<<"$(j .reason)"
check "… billing: 2 periods drawn, 1,920.00 net" \
    [ "$(j '"\(.billing.periods_drawn) \(.billing.net_micros)"')" = "2 1920000000" ]
AE=$(events reservation.access_ended "$RID2")
check "reservation.access_ended: period 2, booked end kept in the event, 960.00 asked, 80.00 there" \
    [ "$(jq -r '"\(.period) \(.booked_end) \(.draw_micros) \(.balance_micros)"' <<<"$AE")" = "2 $(ts "$E2") 960000000 80000000" ]
check "the cash never went below 0 (the credit limit): 80.00" [ "$(balance dy cash_micros)" = $((80 * M)) ]
node h1 H100-80GB 2
call "$OP" GET "/v1/availability?model=H100-80GB&start=$(ts "$NOW")&end=$(ts $((NOW + HOUR)))"
check "the GPU is free again: availability shows both H100s" [ "$(j .whole_gpus_free)" = 2 ]
call "$ADMIN" POST /v1/requests "{\"org\":\"dy\",$(gpus H100-80GB 2 $((NOW + HOUR)) $((NOW + 2 * HOUR)))}"
call "$OP" POST "/v1/requests/$(j .id)/quote"
check "… and a new quote for both H100s after the end is given" [ "$code" = 200 ]
call "$OP" POST "/v1/requests/$(jq -r .id <<<"$body")/cancel"
verify "after the access ended"

# ---------------------------------------------------------------- 3. renewal refused by balance and by a limit
org rn
RN_ADMIN=$ADMIN
contract rn balance "\"credit_limit_micros\":0,\"draw_period\":\"hour\",\"granularity\":\"second\",\"max_reservation_s\":$((3 * HOUR))"
topup rn $((M / 4)) rn-1
S3=$((NOW + DAY))
request rn "$RN_ADMIN" "$(gpus L40S 1 "$S3" $((S3 + 15 * 60)))"
confirm "$REQ" '{"payment_terms":"balance"}'
RID3=$(j .id)
check "a 15-minute balance reservation with 0.25 (its first period) → 201" [ "$code" = 201 ]
call "$RN_ADMIN" POST "/v1/reservations/$RID3/extend" "{\"end\":\"$(ts $((S3 + 2 * HOUR)))\"}"
expect "renewal to 2 h: its part of the first hour (0.75) with 0.25 there → 402 insufficient_balance" 402 insufficient_balance
check "… details: balance 0.25, credit limit 0, asked 0.75" \
    [ "$(j '.error.details | "\(.balance_micros) \(.credit_limit_micros) \(.asked)"')" = "250000 0 750000" ]
topup rn $((10 * M)) rn-2
call "$RN_ADMIN" POST "/v1/reservations/$RID3/extend" "{\"end\":\"$(ts $((S3 + 4 * HOUR)))\"}"
expect "renewal to 4 h under max_reservation_s 3 h → 409 limit_exceeded" 409 limit_exceeded
check "… max_reservation_length 10800, asked 14400" \
    [ "$(j '.error.details | "\(.limit) \(.value) \(.asked)"')" = "max_reservation_length 10800 14400" ]
rsv "$RID3"
check "… the reservation keeps its end" [ "$(j .end)" = "$(ts $((S3 + 15 * 60)))" ]
call "$RN_ADMIN" POST "/v1/reservations/$RID3/extend" "{\"end\":\"$(ts $((S3 + 3 * HOUR)))\"}"
check "renewal to 3 h with the funds → 200" [ "$code" = 200 -a "$(j .end)" = "$(ts $((S3 + 3 * HOUR)))" ]
verify "after the renewals"

# ---------------------------------------------------------------- 4. invoiced: accrued, the month's invoice
org iv
IV=$ORG_ID
contract iv invoiced "\"draw_period\":\"hour\",\"granularity\":\"second\""
S4=$((NOW + HOUR)) E4=$((NOW + HOUR + 2 * HOUR + 30 * 60 + 10))
request iv "$ADMIN" "$(mig 3g.40gb 2 "$S4" "$E4")"
check "the invoiced quote: 76.937245" [ "$(jq -r .quote.total_micros <<<"$Q")" = 76937245 ]
confirm "$REQ" '{"payment_terms":"invoiced"}'
RID4=$(j .id)
check "confirmed under invoiced terms → 201" [ "$code" = 201 ]
tick_to "$S4"
check "draw 0 accrues: org_accrued -30.740742, the cash untouched" \
    [ "$(balance iv accrued_micros) $(balance iv cash_micros)" = "-30740742 0" ]
tick_to $((S4 + HOUR))
tick_to $((S4 + 2 * HOUR))
check "three draws accrued: 30.740742, 30.740742, 15.455761" \
    [ "$(draws iv | tr '\n' ' ')" = "0 30740742 1 30740742 2 15455761 " ]
check "… org_accrued = -76.937245, the quote's total" [ "$(balance iv accrued_micros)" = -76937245 ]
rsv "$RID4"
check "… the reservation (in its last period) has 3 periods drawn, net 76.937245" \
    [ "$(j '"\(.state) \(.billing.periods_drawn) \(.billing.net_micros)"')" = "active 3 76937245" ]
verify "after the invoiced draws"
call "$OP" POST "/v1/orgs/$IV/invoices" "{\"month\":\"$MONTH\"}"
expect "an invoice of the month in progress → 409 invalid_state" 409 invalid_state
tick_to $((NEXT_MONTH_T + HOUR))
call "$OP" POST "/v1/orgs/$IV/invoices" "{\"month\":\"$MONTH\"}"
INV=$(j .id)
check "after the month: the invoice is built on org_accrued" [ "$code" = 201 -a "$(j .payer)" = org_accrued ]
check "… its exact total = the draws, 76.937245; rounded 76.94" \
    [ "$(j '"\(.exact_micros) \(.total_micros)"')" = "76937245 76940000" ]
check "… one line for the reservation's draws, 76.937245 exact" \
    [ "$(j '[.lines[] | select(.exact_micros == 76937245)] | length')" = 1 ]
call "$OP" POST "/v1/invoices/$INV/issue"
check "issued → 200" [ "$code" = 200 ]
check "… org_accrued back to 0, org_receivable -76.94" \
    [ "$(balance iv accrued_micros) $(balance iv receivable_micros)" = "0 -76940000" ]
call "$OP" POST "/v1/invoices/$INV/pay"
check "paid → 200, nothing owed" [ "$code" = 200 -a "$(balance iv receivable_micros)" = 0 ]
verify "after the invoice was issued and paid"

# ---------------------------------------------------------------- 5. confirmed after the pass's mark
# A reservation confirmed with its first period begun by the mark of the last pass (verify's
# now) has that draw in the confirmation's own transaction, so that verify, at the mark, finds
# every draw its terms imply between two ticks too. A server whose ticks are 3 s apart leaves
# the time to look.
stop_server
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db2")
if start_server "$U" "$tmp/server2.log" --db "$tmp/db2" --listen "127.0.0.1:$port" \
    --clock-file "$tmp/clock" --tick-ms 3000 --heartbeat-timeout $((30 * DAY)); then
    ok "a second server (ticks 3 s apart) starts"
else
    nok "a second server (ticks 3 s apart) starts"
    exit 1
fi
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node l1 L40S 2
call "$OP" PUT /v1/prices/L40S "{\"gpu_hour_micros\":$M}"
VT=$(ts $((NOW + 400 * DAY)))
T0=$NOW
org mk
contract mk balance "\"credit_limit_micros\":0,\"draw_period\":\"hour\",\"granularity\":\"second\""
topup mk $((5 * M)) mk-1
wait_until 15 as_of_is "$NOW" || nok "the first pass ran"
request mk "$ADMIN" "$(gpus L40S 1 "$NOW" $((NOW + 2 * HOUR)))"
confirm "$REQ" '{"payment_terms":"balance"}'
RID5=$(j .id)
check "a reservation starting at the pass's mark: draw 0 (1.00) in the confirmation" \
    [ "$code" = 201 -a "$(j .billing.periods_drawn)" = 1 -a "$(draws mk)" = "0 1000000" ]
verify "right after that confirmation, before the next tick"
request mk "$ADMIN" "$(gpus L40S 1 $((NOW + 2)) $((NOW + HOUR)))"
confirm "$REQ" '{"payment_terms":"balance"}'
check "one starting after the mark: nothing drawn at confirmation" \
    [ "$code" = 201 -a "$(j .billing.periods_drawn)" = 0 ]
verify "after a confirmation starting after the mark"
tick_to $((NOW + 2))
check "… the tick that reaches its start takes its draw 0, and none twice" \
    [ "$(draws mk | sort | uniq -c | awk '{print $1}' | sort -u)" = 1 -a "$(draws mk | wc -l)" = 2 ]
rsv "$RID5"
check "… the first one keeps its one draw" [ "$(j .billing.periods_drawn)" = 1 ]
verify "after the tick"
