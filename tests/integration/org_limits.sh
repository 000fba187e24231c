#!/usr/bin/env bash
# org_limits.sh — an org's limits beside what it uses of them (GET /v1/orgs/{id}/limits and
# `allot org limits`), and shortening from the CLI (`allot reservation shorten`, with its
# reservation.shortened event), over loopback against a real `allot server` with a test clock:
# the contract in force's five limits, the cash and what is available, the share held now (two
# 3g.40gb of an H100: 23760 units, 0.857 GPU), the reservations ahead, this month's spend; who
# may read them; an org without a contract. Prints "ok - …" / "not ok - …" per check. Needs
# $ALLOT, curl, jq.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh"
tmp=$(mktemp -d /tmp/allot_limits.XXXXXX)
pid=
trap_stop_server -TERM

HOUR=3600
DAY=86400
M=1000000
# the 10th of the current month: every charge below is dated in it
T0=$(date -u -d "$(date -u +%Y-%m)-10T00:00:00Z" +%s)
write_clock "$T0"
port=$(free_port)
U=http://127.0.0.1:$port
export ALLOT_SERVER=$U ALLOT_CONFIG_DIR=$tmp/config
unset ALLOT_TOKEN
OP=$(operator_token "$tmp/db")
must "server starts" start_clocked_server 3600000

call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
node h1 H100-80GB 2
call "$OP" PUT /v1/prices/H100-80GB "{\"gpu_hour_micros\":$((40 * M)),\"mig_slice_hour_micros\":5123457}"
both() { grep -qE "$1" <<<"$3" && grep -qE "$2" <<<"$3"; } # both RE1 RE2 TEXT
cli() { # cli TOKEN ARGS… : the CLI's stdout in $out, its exit status in $rc
    out=$(ALLOT_TOKEN=$1 "$ALLOT" "${@:2}" 2>"$tmp/err")
    rc=$?
}

org acme
ACME=$ORG_ID
ACME_ADMIN=$ADMIN
VF=$(ts "$T0") VT=$(ts $((T0 + 400 * DAY)))
contract acme prepaid "\"credit_limit_micros\":$((100 * M)),\"max_concurrent_gpus\":2,\"max_reservation_s\":$DAY,\"max_reservations_ahead\":3,\"monthly_spend_cap_micros\":$((10000 * M))"
check "a prepaid contract with every limit → 201" [ "$code" = 201 ]
call "$OP" GET "/v1/orgs/$ACME/limits"
check "before any reservation: the five limits, nothing in use" \
    [ "$(j '"\(.contract.id) \(.contract.version) \(.contract.terms) \(.credit_limit.value_micros) \(.credit_limit.cash_micros) \(.credit_limit.available_micros) \(.max_concurrent_gpus.value_share) \(.max_concurrent_gpus.in_use_share) \(.max_reservation_length.value_s) \(.max_reservations_ahead.value) \(.max_reservations_ahead.in_use) \(.monthly_spend_cap.value_micros) \(.monthly_spend_cap.in_use_micros)"')" = \
    "$K 1 prepaid 100000000 0 100000000 55440 0 86400 3 0 10000000000 0" ]
topup acme $((1000 * M)) acme-1
reserve acme "$ACME_ADMIN" "$(mig 3g.40gb 2 "$T0" $((T0 + 2 * HOUR)))"
S=$((T0 + DAY))
reserve acme "$ACME_ADMIN" "$(gpus H100-80GB 1 "$S" $((S + 2 * HOUR)))"
RID_B=$RID
# two 3g.40gb for 2 h: 6 × 2 × 5.123457 = 61.481484; one GPU for 2 h: 80.00
call "$ACME_ADMIN" GET "/v1/orgs/acme/limits"
check "its org admin reads them: cash 1,000.00 - 141.481484, available + 100.00" \
    [ "$code" = 200 -a "$(j '"\(.credit_limit.cash_micros) \(.credit_limit.available_micros)"')" = "858518516 958518516" ]
check "… 23760 share units held now (two 3g.40gb), one reservation ahead" \
    [ "$(j '"\(.max_concurrent_gpus.in_use_share) \(.max_reservations_ahead.in_use)"')" = "23760 1" ]
check "… this month's spend: 141.481484" [ "$(j .monthly_spend_cap.in_use_micros)" = 141481484 ]
cli "$ACME_ADMIN" org limits acme
check "allot org limits: the contract line" grep -q "^org $ACME, contract $K v1 (prepaid)$" <<<"$out"
check "… max_concurrent_gpus 2.000, 0.857 GPUs in use" \
    grep -qE "^max_concurrent_gpus +2\.000 +0\.857 GPUs \(23760 share units\)$" <<<"$out"
check "… credit_limit 100.00, cash 858.518516, available 958.518516" \
    grep -qE "^credit_limit +100\.00 +cash 858\.518516, available 958\.518516$" <<<"$out"
check "… max_reservation_length 86400 s, max_reservations_ahead 3 with 1 ahead" \
    both "^max_reservation_length +86400 s" "^max_reservations_ahead +3 +1 ahead$" "$out"
check "… monthly_spend_cap 10000.00 with 141.481484 this month" \
    grep -qE "^monthly_spend_cap +10000\.00 +141\.481484 this month$" <<<"$out"
cli "$ACME_ADMIN" org limits acme -o json
check "allot org limits -o json: the route's answer" [ "$rc" = 0 -a "$(jq -r .max_concurrent_gpus.in_use_share <<<"$out")" = 23760 ]

org other
call "$ADMIN" GET "/v1/orgs/acme/limits"
expect "another org's admin → 404" 404
call "$OP" GET "/v1/orgs/other/limits"
check "an org without a contract: contract null, every value null, its cash available" \
    [ "$code" = 200 -a "$(j '"\(.contract) \(.credit_limit.value_micros) \(.max_concurrent_gpus.value_share) \(.monthly_spend_cap.value_micros) \(.monthly_spend_cap.in_use_micros) \(.credit_limit.available_micros)"')" = "null null null null null 0" ]
call "$OP" POST /v1/users '{"name":"mem-acme","role":"member","org":"acme"}'
call "$(j .token)" GET "/v1/orgs/acme/limits"
expect "a member → 403" 403
call "$OP" GET "/v1/orgs/nosuch/limits"
expect "an unknown org → 404" 404

# ---------------------------------------------------------------- allot reservation shorten
cli "$ACME_ADMIN" reservation shorten "$RID_B" --end "$(ts $((S + HOUR)))"
check "allot reservation shorten (before the start) → exit 0, the new end" \
    both "^id: $RID_B" "^end: $(ts $((S + HOUR)))" "$out"
check "… it prints the refund of the hour given up (40.00) and the fee" \
    both "^refund: 40\.00" "^fee: " "$out"
EV=$(events reservation.shortened "$RID_B")
check "reservation.shortened: org, old end, new end, refund 40.00, fee 0" \
    [ "$(jq -r '"\(.org) \(.old_end) \(.new_end) \(.refund_micros) \(.fee_micros)"' <<<"$EV")" = "$ACME $(ts $((S + 2 * HOUR))) $(ts $((S + HOUR))) 40000000 0" ]
cli "$ACME_ADMIN" reservation shorten "$RID_B" --end "$(ts $((S + 3 * HOUR)))"
check "shortening to a later end → exit 1 (400 end), nothing changes" [ "$rc" = 1 ]
cli "$ACME_ADMIN" reservation shorten "$RID_B"
check "allot reservation shorten without --end → exit 1, the server's 400 names end" \
    both "end" "." "$rc $(cat "$tmp/err")"
[ "$rc" = 1 ] || nok "… exit 1, not $rc"
call "$OP" GET "/v1/orgs/acme/limits"
check "after the refund: this month's spend 101.481484" [ "$(j .monthly_spend_cap.in_use_micros)" = 101481484 ]
call "$OP" GET /v1/ledger/verify
check "ledger verify ok" [ "$code" = 200 -a "$(j .ok)" = true ]
