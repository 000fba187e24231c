#!/usr/bin/env bash
# ledger_api.sh — an org's money over HTTP and the CLI: balances, top-ups, the ledger's
# transfers and verify. Every endpoint
# with the roles that may and may not call it (another org's money is a 404), bad input named
# by field, a retried top-up (the same Idempotency-Key, in sequence and as a concurrent burst)
# charging once, concurrent top-ups from several clients summing exactly, and every top-up
# answered 201 still there after `kill -9` and a restart.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, sqlite3.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_ledger.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh" # ok, nok, check, free_port, start_server, call, j, expect
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh" # cash
trap_stop_server -9

port=$(free_port)
U=http://127.0.0.1:$port
date +%s >"$tmp/clock"

start_api() { start_clocked_server 3600000; }

# ---------------------------------------------------------------- setup
OP=$(operator_token "$tmp/db")
must "server starts" start_api
call "$OP" POST /v1/orgs '{"name":"acme"}' -H 'Idempotency-Key: o1'
A=$(j .id)
call "$OP" POST /v1/orgs '{"name":"globex"}' -H 'Idempotency-Key: o2'
B=$(j .id)
call "$OP" POST /v1/users '{"name":"ann","role":"org_admin","org":"acme"}'
ADM=$(j .token)
call "$OP" POST /v1/users '{"name":"bob","role":"member","org":"acme"}'
MEM=$(j .token)
call "$OP" POST /v1/users '{"name":"gil","role":"org_admin","org":"globex"}'
ADM_B=$(j .token)
check "setup: two orgs, an admin and a member" [ -n "$A" -a -n "$B" -a -n "$MEM" -a -n "$ADM_B" ]

# ---------------------------------------------------------------- balance
call "$OP" GET "/v1/orgs/$A/balance"
expect "balance of a new org (operator)" 200
check "… all zero, no contract: credit limit 0" \
    [ "$(j '[.cash_micros,.credit_limit_micros,.available_micros,.accrued_micros,.receivable_micros]|map(tostring)|join(",")')" = "0,0,0,0,0" ]
check "… names the org by id" [ "$(j .org)" = "$A" ]
call "$ADM" GET /v1/orgs/acme/balance
expect "an org admin reads its own org's balance (by name)" 200
call "$ADM" GET "/v1/orgs/$B/balance"
expect "an org admin asking another org's balance → 404" 404 not_found
call "$MEM" GET "/v1/orgs/$A/balance"
expect "a member may not read balances → 403" 403 forbidden
call "" GET "/v1/orgs/$A/balance"
expect "no token → 401" 401 unauthenticated
call "$OP" GET /v1/orgs/nope/balance
expect "an unknown org → 404" 404 not_found

# ---------------------------------------------------------------- top-ups: refusals
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":1000000}'
expect "a top-up without Idempotency-Key → 400" 400 invalid_argument Idempotency-Key
for bad in '{"amount_micros":0}' '{"amount_micros":-5}' '{"amount_micros":"5"}' '{"amount_micros":1.5}' '{}' \
    '{"amount_micros":1000000000000000001}'; do
    call "$OP" POST "/v1/orgs/$A/topups" "$bad" -H "Idempotency-Key: bad-$RANDOM"
    expect "top-up $bad → 400 naming amount_micros" 400 invalid_argument amount_micros
done
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":5,"currency":"EUR"}' -H 'Idempotency-Key: bad-x'
expect "an unknown field → 400 naming it" 400 invalid_argument currency
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":5,"reference":7}' -H 'Idempotency-Key: bad-r'
expect "a reference that is not text → 400" 400 invalid_argument reference
call "$ADM" POST "/v1/orgs/$A/topups" '{"amount_micros":5}' -H 'Idempotency-Key: adm-1'
expect "an org admin may not top up → 403" 403 forbidden
call "$OP" POST /v1/orgs/nope/topups '{"amount_micros":5}' -H 'Idempotency-Key: nope-1'
expect "a top-up of an unknown org → 404" 404 not_found
check "no refused top-up moved money" [ "$(cash "$A")" = 0 ]

# ---------------------------------------------------------------- top-ups and retries
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":100500000,"reference":"wire 42"}' \
    -H 'Idempotency-Key: t-1'
expect "a top-up → 201" 201
T1=$(j .transfer.id)
check "… a topup transfer external → org_cash" \
    [ "$(j '[.transfer.kind,.transfer.debit,.transfer.credit,.transfer.org]|join(",")')" = "topup,external,org_cash,$A" ]
check "… keyed by the Idempotency-Key" [ "$(j .transfer.key)" = "topup:t-1" ]
check "… not a replay" [ "$(j .replayed)" = false ]
check "… answers the new balance" [ "$(j .balance.cash_micros)" = 100500000 ]
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":100500000,"reference":"wire 42"}' \
    -H 'Idempotency-Key: t-1'
check "the same top-up retried answers the same transfer" [ "$code" = 201 -a "$(j .transfer.id)" = "$T1" ]
check "… and charges once" [ "$(cash "$A")" = 100500000 ]
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":999}' -H 'Idempotency-Key: t-1'
expect "the key reused for another amount → 422" 422 idempotency_mismatch
check "… and moves nothing" [ "$(cash "$A")" = 100500000 ]
call "$OP" POST "/v1/orgs/$B/topups" '{"amount_micros":100500000,"reference":"wire 42"}' \
    -H 'Idempotency-Key: t-1'
expect "the key reused for another org → 422" 422 idempotency_mismatch
check "… and moves nothing" [ "$(cash "$B")" = 0 ]
# Replay records are per caller: another operator's retry is caught by the ledger's own key.
call "$OP" POST /v1/users '{"name":"op2","role":"operator"}'
OP2=$(j .token)
call "$OP2" POST "/v1/orgs/$A/topups" '{"amount_micros":1}' -H 'Idempotency-Key: t-1'
expect "another operator's use of the key for another amount → 409 naming Idempotency-Key" 409 conflict Idempotency-Key
check "… and moves nothing" [ "$(cash "$A")" = 100500000 ]
call "$OP2" POST "/v1/orgs/$A/topups" '{"amount_micros":100500000,"reference":"wire 42"}' \
    -H 'Idempotency-Key: t-1'
check "… its retry of the top-up itself: the ledger replays the first transfer" \
    [ "$code" = 201 -a "$(j .transfer.id)" = "$T1" -a "$(j .replayed)" = true ]
check "… and charges once" [ "$(cash "$A")" = 100500000 ]

# a concurrent burst of one key: one charge, one transfer for all (waiting on the clients by
# pid: a bare `wait` would wait for the server too)
pids=()
for i in $(seq 8); do
    curl -s -o "$tmp/burst.$i" -w '%{http_code}\n' -X POST -H "Authorization: Bearer $OP" \
        -H 'Idempotency-Key: burst-1' -H 'Content-Type: application/json' \
        --data-binary '{"amount_micros":7000000}' "$U/v1/orgs/$B/topups" >"$tmp/burst.code.$i" &
    pids+=($!)
done
wait "${pids[@]}"
check "a burst of 8 with one key: every answer 201" \
    [ "$(cat "$tmp"/burst.code.* | sort -u | tr -d '\n')" = 201 ]
check "… all naming one transfer" [ "$(jq -r .transfer.id "$tmp"/burst.[0-9]* | sort -u | wc -l)" = 1 ]
check "… charged once" [ "$(cash "$B")" = 7000000 ]

# many concurrent top-ups from several clients sum exactly
expected=$(($(cash "$A")))
pids=()
for c in 1 2 3 4; do
    (
        for i in $(seq 10); do
            amt=$((c * 1000003 + i * 17))
            code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
                -H "Idempotency-Key: many-$c-$i" -H 'Content-Type: application/json' \
                --data-binary "{\"amount_micros\":$amt}" "$U/v1/orgs/$A/topups")
            [ "$code" = 201 ] && echo "$amt many-$c-$i"
        done >"$tmp/many.$c"
    ) &
    pids+=($!)
done
wait "${pids[@]}"
n=$(cat "$tmp"/many.* | wc -l)
sum=$(awk '{s += $1} END {print s + 0}' "$tmp"/many.*)
check "40 concurrent top-ups from 4 clients: all 201" [ "$n" = 40 ]
check "… the cash is their exact sum" [ "$(cash "$A")" = $((expected + sum)) ]

call "$OP" GET "/v1/events?limit=500"
check "each top-up is a ledger.topup event about its org" \
    [ "$(j "[.items[]|select(.kind==\"ledger.topup\" and .object==\"$A\")]|length")" = 41 ]
check "… with its reference" [ "$(j '[.items[]|select(.kind=="ledger.topup")][0].data.reference')" = "wire 42" ]

# ---------------------------------------------------------------- the CLI
export ALLOT_SERVER=$U ALLOT_TOKEN=$OP
before=$(cash "$B")
out=$("$ALLOT" org topup globex 100.50 --reference cheque --idempotency-key cli-1 2>&1)
check "allot org topup globex 100.50" [ $? = 0 ]
check "… adds exactly 100500000 micro-units" [ "$(cash "$B")" = $((before + 100500000)) ]
check "… and says so" grep -q "+100.50" <<<"$out"
"$ALLOT" org topup globex 100.50 --reference cheque --idempotency-key cli-1 >/dev/null 2>&1
check "… retried with its key: charged once" [ "$(cash "$B")" = $((before + 100500000)) ]
"$ALLOT" org topup globex 0.0000001 >"$tmp/cli.out" 2>&1
check "allot org topup refuses more than 6 decimals (exit 2)" [ $? = 2 ]
check "… saying why" grep -q "more than 6 decimals" "$tmp/cli.out"
for bad in 0 -1 1e3 abc 1.; do
    "$ALLOT" org topup globex "$bad" >/dev/null 2>&1
    check "allot org topup refuses AMOUNT $bad (exit 2)" [ $? = 2 ]
done
check "… none of them moved money" [ "$(cash "$B")" = $((before + 100500000)) ]
"$ALLOT" org topup globex 0.000001 -o json >"$tmp/cli.json" 2>&1
check "allot org topup -o json answers the transfer" [ "$(jq -r .transfer.amount_micros "$tmp/cli.json")" = 1 ]
"$ALLOT" org balance globex -o json >"$tmp/bal.json" 2>&1
check "allot org balance -o json" [ "$(jq -r .cash_micros "$tmp/bal.json")" = $((before + 100500001)) ]
"$ALLOT" org balance globex >"$tmp/bal.txt" 2>&1
x=$((before + 100500001))
check "allot org balance (table) shows the cash in currency units" \
    grep -Eq "^cash[: ]+$((x / 1000000))\.$(printf %06d $((x % 1000000)))$" "$tmp/bal.txt"
ALLOT_TOKEN=$ADM_B "$ALLOT" org balance acme >/dev/null 2>&1
check "allot org balance of another org as its admin fails (exit 1)" [ $? = 1 ]
unset ALLOT_SERVER ALLOT_TOKEN

# ---------------------------------------------------------------- the ledger: list, verify
call "$OP" GET "/v1/ledger/transfers?limit=500"
expect "GET /v1/ledger/transfers (operator)" 200
ntotal=$(j '.items|length')
check "… every top-up made, each once ($ntotal)" [ "$ntotal" = "$(j '[.items[].key]|unique|length')" ]
check "… 41 of acme's, 3 of globex's" \
    [ "$(j "[.items[]|select(.org==\"$A\")]|length")" = 41 -a "$(j "[.items[]|select(.org==\"$B\")]|length")" = 3 ]
check "… times as RFC 3339" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' <<<"$(j '.items[0].at')"
check "… their amounts sum to the cash of both orgs" \
    [ "$(j '[.items[].amount_micros]|add')" = $(($(cash "$A") + $(cash "$B"))) ]
call "$OP" GET "/v1/ledger/transfers?org=globex&kind=topup&account=org_cash&limit=2"
expect "filtered by org, kind and account, a page of 2" 200
check "… globex's only, and a next page" [ "$(j '[.items[].org]|unique|join(",")')" = "$B" -a "$(j .next_cursor)" != null ]
call "$OP" GET "/v1/ledger/transfers?org=globex&limit=2&cursor=$(j .next_cursor)"
check "… the next page holds the third" [ "$(j '.items|length')" = 1 ]
call "$OP" GET "/v1/ledger/transfers?kind=refund"
check "kind=refund: none yet" [ "$code" = 200 -a "$(j '.items|length')" = 0 ]
call "$OP" GET "/v1/ledger/transfers?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z"
check "a window in 2000: none" [ "$code" = 200 -a "$(j '.items|length')" = 0 ]
call "$OP" GET "/v1/ledger/transfers?from=2000-01-01T00:00:00Z"
check "from 2000 on: all" [ "$(j '.items|length')" = "$(( ntotal < 100 ? ntotal : 100 ))" ]
call "$ADM" GET "/v1/ledger/transfers?limit=500"
check "an org admin sees its org's transfers only" \
    [ "$code" = 200 -a "$(j '[.items[].org]|unique|join(",")')" = "$A" -a "$(j '.items|length')" = 41 ]
call "$ADM" GET "/v1/ledger/transfers?org=globex"
expect "an org admin asking another org's transfers → 404" 404 not_found
call "$MEM" GET /v1/ledger/transfers
expect "a member → 403" 403 forbidden
for q in kind=gift account=wallet from=yesterday to=2026-13-01T00:00:00Z limit=0; do
    call "$OP" GET "/v1/ledger/transfers?$q"
    expect "transfers?$q → 400 naming ${q%%=*}" 400 invalid_argument "${q%%=*}"
done
call "$OP" GET "/v1/ledger/transfers?from=2001-01-01T00:00:00Z&to=2000-01-01T00:00:00Z"
expect "to before from → 400 naming to" 400 invalid_argument to
call "$OP" GET /v1/ledger/verify
expect "GET /v1/ledger/verify (operator)" 200
check "… the books add up" [ "$(j .ok)" = true -a "$(j .count)" = 0 -a "$(j '.mismatches|length')" = 0 ]
check "… over every transfer" [ "$(j .transfers)" = "$ntotal" ]
call "$ADM" GET /v1/ledger/verify
expect "verify as an org admin → 403" 403 forbidden
ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" ledger verify >"$tmp/verify.txt" 2>&1
check "allot ledger verify exits 0 on sound books" [ $? = 0 ]
check "… and says ok" grep -q "^ledger ok: $ntotal transfers" "$tmp/verify.txt"
ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" ledger list --org acme --kind topup --limit 3 >"$tmp/list.txt" 2>&1
check "allot ledger list --org acme --limit 3: a table of 3" [ $? = 0 -a "$(grep -c topup "$tmp/list.txt")" = 3 ]
ALLOT_SERVER=$U ALLOT_TOKEN=$ADM "$ALLOT" ledger list -o json >"$tmp/list.json" 2>&1
check "allot ledger list -o json as the org admin" [ "$(jq -r '[.items[].org]|unique|join(",")' "$tmp/list.json")" = "$A" ]
ALLOT_SERVER=$U ALLOT_TOKEN=$ADM "$ALLOT" ledger verify >/dev/null 2>&1
check "allot ledger verify as an org admin exits 1" [ $? = 1 ]

# ---------------------------------------------------------------- kill -9 and restart
A_cash=$(cash "$A")
B_cash=$(cash "$B")
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
must "the server restarts after kill -9" start_api
check "every 201'd top-up of acme is still there" [ "$(cash "$A")" = "$A_cash" ]
check "… and of globex" [ "$(cash "$B")" = "$B_cash" ]
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":100500000,"reference":"wire 42"}' \
    -H 'Idempotency-Key: t-1'
check "a retry after the restart answers the first transfer" [ "$code" = 201 -a "$(j .transfer.id)" = "$T1" ]
check "… and charges nothing" [ "$(cash "$A")" = "$A_cash" ]
call "$OP" GET /v1/ledger/verify
check "verify passes after the restart" [ "$code" = 200 -a "$(j .ok)" = true -a "$(j .transfers)" = "$ntotal" ]

# ---------------------------------------------------------------- verify finds a broken book
# A cached balance changed behind the server's back (the database edited by hand): verify must
# name it, and `allot ledger verify` must fail.
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
sqlite3 "$tmp/db" "UPDATE balances SET balance = balance + 1 WHERE account = 'org_cash' AND
    org = (SELECT num FROM ledger_orgs WHERE org_id = '$A')" 2>"$tmp/sqlite.err"
check "(the test edits acme's cached cash in the database)" [ ! -s "$tmp/sqlite.err" ]
if ! start_api; then
    nok "the server restarts on the edited database"
    exit 1
fi
call "$OP" GET /v1/ledger/verify
check "verify answers not ok" [ "$code" = 200 -a "$(j .ok)" = false -a "$(j .count)" -ge 2 ]
check "… naming acme's org_cash as a cached_balance mismatch, off by one" \
    [ "$(j "[.mismatches[]|select(.rule==\"cached_balance\" and .account.kind==\"org_cash\" and .account.org==\"$A\" and .actual - .expected == 1)]|length")" = 1 ]
check "… and the balances no longer summing to zero" [ "$(j '[.mismatches[]|select(.rule=="sum_not_zero")]|length')" = 1 ]
ALLOT_SERVER=$U ALLOT_TOKEN=$OP "$ALLOT" ledger verify >"$tmp/verify.txt" 2>&1
check "allot ledger verify exits 1" [ $? = 1 ]
check "… printing each mismatch by rule" grep -q "^mismatch cached_balance: " "$tmp/verify.txt"
check "… and saying NOT OK" grep -q "^ledger NOT OK" "$tmp/verify.txt"
