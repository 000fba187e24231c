#!/usr/bin/env bash
# money_property.sh — a property test of the money over HTTP: a seeded random sequence of
# top-ups, quotes and confirmations under random contracts (prepaid, balance, invoiced; per
# second, per minute, whole hours with a minimum; hourly or daily draws; random credit limits,
# cancellation fees and limits; amendments), extensions, shortenings, cancellations and moves
# of the server's clock (the draws) against a real `allot server` on a temp database. After
# every step: `GET /v1/ledger/verify` is ok and no prepaid or balance org's cash is below
# minus its credit limit. At the end (the clock past every window, so that every draw is
# taken), for every reservation, the ledger's net charges for it (charges - refunds) equal what
# its documents say, computed here from the quote's price lines (units, rate, granularity):
# C(final end) plus the cancellation fees the contract implies, to the micro-unit; a refund
# answered is checked against the same computation when it is made.
# The seed is printed; SEED=N replays a run, STEPS=N sets its length (default 80).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_prop.XXXXXX)
pid=
trap_stop_server -TERM

SEED=${SEED:-$(($(date +%s%N) % 1000000))}
STEPS=${STEPS:-80}
echo "# money_property.sh: SEED=$SEED STEPS=$STEPS (replay with SEED=$SEED)"
RANDOM=$SEED
# every draw of the sequence is $((RANDOM % N)) in this shell (a subshell would not advance it)
HOUR=3600
DAY=86400
M=1000000
T0=$(date -u -d "$(date -u +%Y-%m)-02T00:00:00Z" +%s)
NOW=$T0
set_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server starts" start_clocked_server 50 --heartbeat-timeout $((30 * DAY))
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
for n in 1 2; do
    g=""
    for i in 0 1 2 3; do g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-h$n-$i\",\"model\":\"H100-80GB\"}"; done
    call "$AGENT" PUT "/v1/nodes/h$n" "{\"zone\":\"z1\",\"gpus\":[$g]}"
done
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M + 123457)),\"mig_slice_hour_micros\":5123457}"

fails=0
bad() { nok "$*"; fails=$((fails + 1)); }

# ---------------------------------------------------------------- orgs under random contracts
ORGS=(p1 p2 b1 b2 i1)
declare -A TERMS CREDIT FEE FEE_BP KID ADM
gran_json() { # a random granularity → $GJ
    case $((RANDOM % 3)) in
    0) GJ='"granularity":"second"' ;;
    1) GJ='"granularity":"minute"' ;;
    *) GJ="\"granularity\":\"hour\",\"min_hours\":$((1 + RANDOM % 3))" ;;
    esac
}
limits_json() { # random limits, each set one time in three → $LJ
    LJ=""
    ((RANDOM % 3 == 0)) && LJ+=",\"max_concurrent_gpus\":$((2 + RANDOM % 4))"
    ((RANDOM % 3 == 0)) && LJ+=",\"max_reservation_s\":$(((4 + RANDOM % 12) * HOUR))"
    ((RANDOM % 3 == 0)) && LJ+=",\"max_reservations_ahead\":$((1 + RANDOM % 4))"
    ((RANDOM % 3 == 0)) && LJ+=",\"monthly_spend_cap_micros\":$(((200 + RANDOM % 2000) * M))"
}
for o in "${ORGS[@]}"; do
    call "$OP" POST /v1/orgs "{\"name\":\"$o\"}"
    call "$OP" POST /v1/users "{\"name\":\"adm-$o\",\"role\":\"org_admin\",\"org\":\"$o\"}"
    ADM[$o]=$(j .token)
    case $o in p*) TERMS[$o]=prepaid ;; b*) TERMS[$o]=balance ;; *) TERMS[$o]=invoiced ;; esac
    CREDIT[$o]=$(((RANDOM % 5) * 10 * M))
    # invoiced: a credit limit on what is owed, one time in two
    [ "${TERMS[$o]}" = invoiced ] && CREDIT[$o]=$(((RANDOM % 2) * 5000 * M - (RANDOM % 2)))
    ((CREDIT[$o] < 0)) && CREDIT[$o]=-1
    FEE[$o]=0 FEE_BP[$o]=0
    gran_json
    limits_json
    dp=hour
    ((RANDOM % 2)) && dp=day
    extra=",$GJ$LJ,\"draw_period\":\"$dp\""
    if [ "${TERMS[$o]}" = prepaid ]; then
        # fees only under prepaid terms, where the refund computed here is the whole rule
        FEE[$o]=$(((RANDOM % 3) * 1500000)) FEE_BP[$o]=$(((RANDOM % 3) * 750))
        extra+=",\"cancel_fee_micros\":${FEE[$o]},\"cancel_fee_bp\":${FEE_BP[$o]}"
    fi
    call "$OP" POST /v1/contracts "{\"org\":\"$o\",\"terms\":\"${TERMS[$o]}\",\"valid_from\":\"$(ts "$T0")\",\"valid_to\":\"$(ts $((T0 + 300 * DAY)))\",\"credit_limit_micros\":${CREDIT[$o]}$extra}"
    [ "$code" = 201 ] || bad "contract for $o → 201 (got $code $(head -c 300 <<<"$body"))"
    KID[$o]=$(j .id)
    echo "# $o: $(j '"\(.terms) \(.granularity) min \(.min_hours) draws \(.draw_period) credit \(.credit_limit_micros) fee \(.cancel_fee_micros)+\(.cancel_fee_bp)bp gpus \(.max_concurrent_gpus) len \(.max_reservation_s) ahead \(.max_reservations_ahead) cap \(.monthly_spend_cap_micros)"')"
done

# ---------------------------------------------------------------- what the test keeps per reservation
RIDS=()
declare -A R_ORG R_LINES R_GRAN R_MINH R_START R_FEES
# charge_to RID T → C(T) of the reservation, from its quote's price lines (docs/billing.md)
charge_to() {
    local rid=$1 t=$2 s sum=0 units rate billed
    s=$((t - R_START[$rid]))
    ((s <= 0)) && { echo 0; return; }
    while read -r units rate; do
        case ${R_GRAN[$rid]} in
        second) sum=$((sum + units * s * rate / 3600)) ;;
        minute) sum=$((sum + units * ((s + 59) / 60) * rate / 60)) ;;
        hour)
            billed=$(((s + 3599) / 3600))
            ((billed < R_MINH[$rid])) && billed=${R_MINH[$rid]}
            sum=$((sum + units * billed * rate))
            ;;
        esac
    done <<<"${R_LINES[$rid]}"
    echo "$sum"
}
# a rsv's end, start as the server shows them now (epoch seconds) → $R_END_NOW
rsv_get() { call "$OP" GET "/v1/reservations/$1"; }
epoch() { date -u -d "$1" +%s; }

# ---------------------------------------------------------------- the steps
step_topup() {
    local o=${ORGS[(RANDOM % ${#ORGS[@]})]} amt=$(((1 + (RANDOM % 2000)) * M + (RANDOM % 1000000)))
    call "$OP" POST "/v1/orgs/$o/topups" "{\"amount_micros\":$amt}" -H "Idempotency-Key: t$SEED-$1"
    [ "$code" = 201 ] || bad "step $1: top-up $o → 201 (got $code)"
    local cash
    cash=$(j .balance.cash_micros)
    # the same key again: answered again, never a second payment
    call "$OP" POST "/v1/orgs/$o/topups" "{\"amount_micros\":$amt}" -H "Idempotency-Key: t$SEED-$1"
    [ "$code" = 201 ] || bad "step $1: a retried top-up → 201 (got $code)"
    call "$OP" GET "/v1/orgs/$o/balance"
    [ "$(j .cash_micros)" = "$cash" ] || bad "step $1: a retried top-up paid once ($cash, got $(j .cash_micros))"
}
step_reserve() {
    local o=${ORGS[(RANDOM % ${#ORGS[@]})]} ask s e req rid
    s=$((NOW + (RANDOM % 4) * (RANDOM % 7) * 1800 + (RANDOM % 2) * (RANDOM % 3600)))
    e=$((s + 60 + (RANDOM % 3) * (RANDOM % 9) * HOUR + (RANDOM % 3600)))
    if ((RANDOM % 2)); then
        ask="\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":$((1 + (RANDOM % 3)))"
    else
        local prof=(1g.10gb 2g.20gb 3g.40gb)
        ask="\"kind\":\"mig\",\"model\":\"H100-80GB\",\"profile\":\"${prof[(RANDOM % 3)]}\",\"count\":$((1 + (RANDOM % 2)))"
    fi
    call "$OP" POST /v1/requests "{\"org\":\"$o\",$ask,\"start\":\"$(ts "$s")\",\"end\":\"$(ts "$e")\"}"
    req=$(j .id)
    [ "$code" = 201 ] || { echo "#   step $1: request refused ($code $(j .error.code))"; return; }
    call "$OP" POST "/v1/requests/$req/quote"
    if [ "$code" != 200 ]; then
        echo "#   step $1: quote refused ($code $(j .error.code) $(j .error.details.limit))"
        return
    fi
    local q=$body
    call "$OP" POST "/v1/requests/$req/approve"
    call "${ADM[$o]}" POST "/v1/requests/$req/accept"
    call "$OP" POST "/v1/requests/$req/confirm" '{}'
    if [ "$code" != 201 ]; then
        echo "#   step $1: confirm refused ($code $(j .error.code) $(j .error.details.limit) $(j .error.message))"
        case $code in 402 | 409) ;; *) bad "step $1: a confirmation is 201, 402 or 409 (got $code $(head -c 300 <<<"$body"))" ;; esac
        call "$OP" POST "/v1/requests/$req/cancel"
        return
    fi
    rid=$(j .id)
    RIDS+=("$rid")
    R_ORG[$rid]=$o R_START[$rid]=$s R_FEES[$rid]=0
    R_LINES[$rid]=$(jq -r '.quote.lines[] | "\(.units) \(.rate_micros)"' <<<"$q")
    R_GRAN[$rid]=$(jq -r .quote.granularity <<<"$q")
    R_MINH[$rid]=$(jq -r '.quote.min_hours // 1' <<<"$q")
    local c
    c=$(charge_to "$rid" "$e")
    [ "$c" = "$(jq -r .quote.total_micros <<<"$q")" ] ||
        bad "step $1: the quote's total ($(jq -r .quote.total_micros <<<"$q")) is C(end) of its lines ($c)"
    if [ "${TERMS[$o]}" = prepaid ] && [ "$(j .billing.charged_micros)" != "$c" ]; then
        bad "step $1: prepaid $rid charged the quote's total $c (got $(j .billing.charged_micros))"
    fi
    echo "#   step $1: $rid ($o ${TERMS[$o]}) $(ts "$s")..$(ts "$e") = $c"
}
pick() { # pick → $PICK: a reservation, scheduled or active, as $body; or empty
    local n=${#RIDS[@]} i
    PICK=
    ((n == 0)) && return
    for ((i = 0; i < 4; i++)); do
        PICK=${RIDS[(RANDOM % n)]}
        rsv_get "$PICK"
        case $(j .state) in scheduled | active) return ;; esac
    done
    PICK=
}
step_extend() {
    local rid old e new
    pick
    rid=$PICK
    [ -n "$rid" ] || return
    old=$(epoch "$(j .end)")
    new=$((old + 60 + (RANDOM % 5) * HOUR + (RANDOM % 1800)))
    call "$OP" POST "/v1/reservations/$rid/extend" "{\"end\":\"$(ts "$new")\"}"
    case $code in
    200)
        e=$(($(charge_to "$rid" "$new") - $(charge_to "$rid" "$old")))
        [ "$(j .extension_micros)" = "$e" ] ||
            bad "step $1: extending $rid prices only the added time: C(new) - C(old) = $e (got $(j .extension_micros))"
        echo "#   step $1: extended $rid to $(ts "$new") (+$e)"
        ;;
    402 | 409) echo "#   step $1: extension of $rid refused ($code $(j .error.code) $(j .error.details.limit))" ;;
    *) bad "step $1: an extension is 200, 402 or 409 (got $code $(head -c 300 <<<"$body"))" ;;
    esac
}
# after a cancel or a shorten answered 200 for prepaid rid: the refund = unused - fee
refund_check() {
    local rid=$1 old=$2 step=$3 o=${R_ORG[$1]} newe unused fee
    newe=$(epoch "$(j .billed_end)")
    unused=$(($(charge_to "$rid" "$old") - $(charge_to "$rid" "$newe")))
    fee=$((FEE[$o] + FEE_BP[$o] * unused / 10000))
    ((fee > unused)) && fee=$unused
    if [ "${TERMS[$o]}" = prepaid ]; then
        R_FEES[$rid]=$((R_FEES[$rid] + fee))
        [ "$(j .refund_micros) $(j .fee_micros)" = "$((unused - fee)) $fee" ] ||
            bad "step $step: $rid refunded unused $unused less fee $fee (got $(j .refund_micros) fee $(j .fee_micros))"
    fi
}
step_shorten() {
    local rid old new s
    pick
    rid=$PICK
    [ -n "$rid" ] || return
    old=$(epoch "$(j .end)")
    s=$(epoch "$(j .start)")
    new=$((old - 60 - (RANDOM % 4) * HOUR))
    ((new <= s || new < NOW)) && return
    call "$OP" POST "/v1/reservations/$rid/shorten" "{\"end\":\"$(ts "$new")\"}"
    case $code in
    200)
        refund_check "$rid" "$old" "$1"
        echo "#   step $1: shortened $rid to $(j .billed_end) (refund $(j .refund_micros))"
        ;;
    400 | 409) echo "#   step $1: shortening $rid refused ($code $(j .error.code))" ;;
    *) bad "step $1: a shortening is 200, 400 or 409 (got $code $(head -c 300 <<<"$body"))" ;;
    esac
}
step_cancel() {
    local rid old
    pick
    rid=$PICK
    [ -n "$rid" ] || return
    old=$(epoch "$(j .end)")
    call "$OP" POST "/v1/reservations/$rid/cancel" '{"reason":"property"}'
    if [ "$code" = 200 ]; then
        refund_check "$rid" "$old" "$1"
        echo "#   step $1: cancelled $rid, billed to $(j .billed_end) (refund $(j .refund_micros))"
    else
        bad "step $1: the operator's cancel is 200 (got $code $(head -c 300 <<<"$body"))"
    fi
}
step_amend() { # a new contract version: reservations keep the one they were confirmed under
    local o=${ORGS[(RANDOM % ${#ORGS[@]})]}
    [ "${TERMS[$o]}" = prepaid ] && return # its fee is what refund_check computes with
    gran_json
    call "$OP" POST "/v1/contracts/${KID[$o]}/amend" "{$GJ}"
    [ "$code" = 200 ] || bad "step $1: amend ${KID[$o]} → 200 (got $code)"
}
step_clock() { # the clock moves; the pass takes the draws due
    local d=$(((1 + (RANDOM % 4)) * (RANDOM % 3) * 1800 + (RANDOM % 900) + 1))
    set_clock $((NOW + d))
    wait_until 15 as_of_is "$NOW" || bad "step $1: the clock's pass reached $(ts "$NOW")"
}
# invariants after every step, between two ticks as they come: verify ok (at the last pass's
# mark), every prepaid or balance org's cash >= -its credit limit
invariants() {
    local o cash
    call "$OP" GET /v1/ledger/verify
    if [ "$code" != 200 ] || [ "$(j .ok)" != true ]; then
        bad "step $1: ledger verify ok ($(head -c 800 <<<"$body"))"
    fi
    for o in "${ORGS[@]}"; do
        [ "${TERMS[$o]}" = invoiced ] && continue
        call "$OP" GET "/v1/orgs/$o/balance"
        cash=$(j .cash_micros)
        ((cash >= -CREDIT[$o])) || bad "step $1: $o's cash $cash is below -${CREDIT[$o]}"
    done
}

for ((st = 1; st <= STEPS; st++)); do
    case $((RANDOM % 16)) in
    0 | 1 | 2) step_topup "$st" ;;
    3 | 4 | 5 | 6 | 7) step_reserve "$st" ;;
    8 | 9) step_extend "$st" ;;
    10) step_shorten "$st" ;;
    11) step_cancel "$st" ;;
    12) step_amend "$st" ;;
    *) step_clock "$st" ;;
    esac
    invariants "$st"
done
((fails == 0)) && ok "$STEPS random steps: verify ok and every cash above -its credit limit after each (SEED=$SEED)"

# ---------------------------------------------------------------- the end: documents = charges
last=$NOW
for rid in "${RIDS[@]}"; do
    rsv_get "$rid"
    e=$(epoch "$(j .end)")
    ((e > last)) && last=$e
done
set_clock $((last + 2 * DAY))
wait_until 30 as_of_is "$NOW" || bad "the last pass reached $(ts "$NOW")"
call "$OP" GET /v1/ledger/verify
check "verify ok with every window over (SEED=$SEED)" [ "$(j .ok)" = true ]
# the ledger's net per reservation: charges - refunds, every page
declare -A NET
cursor=
while :; do
    call "$OP" GET "/v1/ledger/transfers?limit=500${cursor:+&cursor=$cursor}"
    while read -r r k a; do
        case $k in
        reservation_charge) NET[$r]=$((${NET[$r]:-0} + a)) ;;
        refund) NET[$r]=$((${NET[$r]:-0} - a)) ;;
        esac
    done < <(j '.items[] | select(.reservation != null) | "\(.reservation) \(.kind) \(.amount_micros)"')
    cursor=$(j '.next_cursor // empty')
    [ -n "$cursor" ] || break
done
wrong=0
for rid in "${RIDS[@]}"; do
    rsv_get "$rid"
    if [ "$(j '.access_ended_at // empty')" ]; then
        fe=$(epoch "$(j .access_ended_at)")
    elif [ "$(j .state)" = cancelled ]; then
        fe=$(epoch "$(j .billed_end)")
    else
        fe=$(epoch "$(j .end)")
    fi
    want=$(($(charge_to "$rid" "$fe") + R_FEES[$rid]))
    if [ "${NET[$rid]:-0}" != "$want" ]; then
        nok "$rid (${R_ORG[$rid]} ${TERMS[${R_ORG[$rid]}]}): ledger net ${NET[$rid]:-0} = C($(ts "$fe")) + fees = $want"
        wrong=$((wrong + 1))
    fi
done
check "for each of ${#RIDS[@]} reservations the ledger's net charges = its documents (C(final end) + fees) (SEED=$SEED)" \
    [ "$wrong" = 0 -a "${#RIDS[@]}" -gt 0 ]
