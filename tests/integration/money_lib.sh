# shellcheck shell=bash
# money_lib.sh — what the money suites share (billing_clock, charges_api, invoice_api,
# money_property, org_limits, reserve_api, ledger_api; money_api needs only lib.sh): source it after lib.sh, before the suite's own
# helpers. It is not a suite: sourcing it prints nothing and counts no check. One definition
# of each money helper those suites used to repeat: the clock moved and its draw pass waited
# for, nodes, orgs with an admin, contracts, top-ups, the request → quote → approve → accept →
# confirm sequence, balances, transfers, events and `GET /v1/ledger/verify` as a check.
#
#   set_clock SECS              move the test clock to SECS and set $NOW
#   as_of_is SECS               the draw pass has completed up to SECS (verify's as_of)
#   tick_to SECS                set_clock SECS and wait (15 s at most) for the pass at SECS
#   node NAME MODEL N           the agent ($AGENT) reports node NAME with N GPUs of MODEL
#   org NAME                    create org NAME: its id in $ORG_ID, an org admin's token in $ADMIN
#   contract ORG TERMS [EXTRA]  a contract (valid from $VF when set, to $VT): its id in $K
#   topup ORG MICROS KEY        a top-up of MICROS with Idempotency-Key KEY
#   gpus MODEL N START END      an ask of N whole GPUs (JSON fields, no braces)
#   mig PROFILE N START END     an ask of N MIG instances of an H100-80GB (JSON fields)
#   request ORG ADMIN ASK       request, quote, approve, accept: $REQ, the quote in $Q
#   confirm REQ [BODY [CURL_ARGS…]]  confirm the request (BODY defaults to {})
#   reserve ORG ADMIN ASK       request and confirm: the reservation in $RID (and $body)
#   balance ORG FIELD           print one of the org's balances (cash_micros, accrued_micros, …)
#   cash ORG                    print the org's cash balance in micro-units
#   transfers ORG KIND          print "amount key" per transfer of that kind, oldest first
#   events KIND OBJECT          print the data of each event of KIND about OBJECT, one JSON a line
#   verify DESC                 the check "ledger verify ok: DESC"
#
# They use the suite's $OP (the operator's token), $U, $tmp (through call) and, where named,
# $AGENT, $VT and $VF. The helpers that print (balance, cash, transfers, events, as_of_is) and
# verify keep the last call's $code and $body, so that a check may follow them. contract and
# reserve are setup steps: when the server refuses one, they print a "not ok" line saying so.

# The results ($NOW, $ORG_ID, $ADMIN, $K, $REQ, $Q, $RID) are the suites' to read:
# shellcheck disable=SC2034

set_clock() {
    NOW=$1
    write_clock "$1"
}

# as_of_is SECS: true when the last completed draw pass is at SECS.
as_of_is() {
    local b=$body c=$code a
    call "$OP" GET /v1/ledger/verify
    a=$(j .as_of)
    body=$b code=$c
    [ "$a" = "$(ts "$1")" ]
}

# tick_to SECS: returns 1, after a "not ok" line, when the pass has not reached SECS in 15 s.
tick_to() {
    set_clock "$1"
    wait_until 15 as_of_is "$1" && return 0
    nok "the clock's pass reached $(ts "$1") within 15 s"
    return 1
}

# node NAME MODEL N: GPUs GPU-NAME-0 … in zone z1.
node() {
    local g="" i
    for ((i = 0; i < $3; i++)); do
        g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-$1-$i\",\"model\":\"$2\"}"
    done
    call "$AGENT" PUT "/v1/nodes/$1" "{\"zone\":\"z1\",\"gpus\":[$g]}"
}

# org NAME: the admin is named adm-NAME.
org() {
    call "$OP" POST /v1/orgs "{\"name\":\"$1\"}"
    ORG_ID=$(j .id)
    call "$OP" POST /v1/users "{\"name\":\"adm-$1\",\"role\":\"org_admin\",\"org\":\"$1\"}"
    ADMIN=$(j .token)
}

# contract ORG TERMS [EXTRA_JSON_FIELDS]: EXTRA is added to the body as is ("a":1,"b":2).
# A setup step: anything but 201 prints a "not ok" line and returns 1.
contract() {
    call "$OP" POST /v1/contracts "{\"org\":\"$1\",\"terms\":\"$2\"${VF:+,\"valid_from\":\"$VF\"},\"valid_to\":\"$VT\"${3:+,$3}}"
    K=$(j .id)
    [ "$code" = 201 ] && return 0
    nok "contract for $1 → 201 (got $code $(head -c 300 <<<"$body"))"
    return 1
}

topup() {
    call "$OP" POST "/v1/orgs/$1/topups" "{\"amount_micros\":$2}" -H "Idempotency-Key: $3"
}

gpus() {
    echo "\"kind\":\"gpu\",\"model\":\"$1\",\"count\":$2,\"start\":\"$(ts "$3")\",\"end\":\"$(ts "$4")\""
}
mig() {
    echo "\"kind\":\"mig\",\"model\":\"H100-80GB\",\"profile\":\"$1\",\"count\":$2,\"start\":\"$(ts "$3")\",\"end\":\"$(ts "$4")\""
}

# request ORG ADMIN_TOKEN ASK: returns 1 (not approved) when the quote is not 200.
request() {
    call "$2" POST /v1/requests "{\"org\":\"$1\",$3}"
    REQ=$(j .id)
    call "$OP" POST "/v1/requests/$REQ/quote"
    Q=$body
    [ "$code" = 200 ] || return 1
    call "$OP" POST "/v1/requests/$REQ/approve"
    call "$2" POST "/v1/requests/$REQ/accept"
}

confirm() { call "$OP" POST "/v1/requests/$1/confirm" "${2:-{\}}" "${@:3}"; }

# reserve ORG ADMIN_TOKEN ASK: a setup step: anything but 201 prints a "not ok" line and
# returns 1.
reserve() {
    request "$@"
    confirm "$REQ"
    RID=$(j .id)
    [ "$code" = 201 ] && return 0
    nok "confirm $REQ → 201 (got $code $(head -c 300 <<<"$body"))"
    return 1
}

balance() {
    local b=$body c=$code
    call "$OP" GET "/v1/orgs/$1/balance"
    j ".$2"
    body=$b code=$c
}
cash() { balance "$1" cash_micros; }

transfers() {
    local b=$body c=$code
    call "$OP" GET "/v1/ledger/transfers?org=$1&kind=$2&limit=500"
    j '.items[] | "\(.amount_micros) \(.key)"'
    body=$b code=$c
}

events() {
    local b=$body c=$code
    call "$OP" GET "/v1/events?limit=500"
    j ".items[] | select(.kind == \"$1\" and .object == \"$2\") | .data | tojson"
    body=$b code=$c
}

verify() {
    local b=$body c=$code
    call "$OP" GET /v1/ledger/verify
    if [ "$code" = 200 ] && [ "$(j .ok)" = true ]; then
        ok "ledger verify ok: $1"
    else
        nok "ledger verify ok: $1 ($code $(head -c 600 <<<"$body"))"
    fi
    body=$b code=$c
}
