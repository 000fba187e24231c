#!/usr/bin/env bash
# invoice_api.sh — an org's invoices over HTTP and the CLI: building one for an ended calendar
# month from the ledger (a month in progress refused, a second one of the same org, payer and
# month refused naming the first), statements (payer org_cash) and invoices (org_accrued) with
# each line rounded once half-even and the rounding carried, the lists and who may read them
# (another org's admin gets 404, a member 403), CSV (RFC 4180 quoting) and the printable page
# (everything escaped), issue and pay with their state errors and an idempotent retry, the
# ledger's verify still ok after them, the events, and `allot invoice …`.
#
# Charges reach the ledger over HTTP only as top-ups today (the reservation routes write their
# charges in another change), and top-ups are not invoice lines: so the suite writes a few
# adjustment transfers into the database with sqlite3 while the server is stopped (the schema's
# own triggers move the cached balances, as al_store_transfer_append does), then restarts it.
# Its last part builds an invoice and a statement from real charges over HTTP: the clock's
# draws of an invoiced reservation, and a prepaid charge with the refund of its cancellation;
# each total equals the ledger's transfers to the micro-unit, issued (and paid), verify ok.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, sqlite3.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_invoice.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh" # ok, nok, check, free_port, start_server, call, j, expect
# shellcheck source=tests/integration/money_lib.sh
. "$AL_ROOT/tests/integration/money_lib.sh" # balance, contract, topup, node, reserve, tick_to

trap_stop_server -9

port=$(free_port)
U=http://127.0.0.1:$port
NOV10=$(date -u -d 2026-11-10T12:00:00Z +%s)
NOV15=$(date -u -d 2026-11-15T08:00:00Z +%s)
OCT20=$(date -u -d 2026-10-20T08:00:00Z +%s)
DEC1=$(date -u -d 2026-12-01T00:00:00Z +%s)
write_clock "$NOV10"

start_api() { start_clocked_server 3600000; }

# ---------------------------------------------------------------- setup
OP=$(operator_token "$tmp/db")
must "server starts" start_api
DISPLAY_NAME='Acme, \"Labs\" <b>&</b>'
call "$OP" POST /v1/orgs "{\"name\":\"acme\",\"customer_code\":\"ACME-1\",\"display_name\":\"$DISPLAY_NAME\"}"
A=$(j .id)
call "$OP" POST /v1/orgs '{"name":"globex"}'
B=$(j .id)
call "$OP" POST /v1/users '{"name":"ann","role":"org_admin","org":"acme"}'
ADM=$(j .token)
call "$OP" POST /v1/users '{"name":"bob","role":"member","org":"acme"}'
MEM=$(j .token)
call "$OP" POST /v1/users '{"name":"gil","role":"org_admin","org":"globex"}'
ADM_B=$(j .token)
VF=$(ts $((NOV10 - 40 * 86400))) VT=$(ts $((NOV10 + 90 * 86400)))
contract globex invoiced
GC=$code
topup "$A" 50000000 t1
T1=$code
check "setup: two orgs, their users, globex under invoiced terms, a top-up" \
    [ -n "$A" -a -n "$B" -a -n "$MEM" -a -n "$ADM_B" -a "$GC" = 201 -a "$T1" = 201 ]

# ---------------------------------------------------------------- refusals before any invoice
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-11"}'
expect "a month in progress → 409 invalid_state (its invoice would miss charges)" 409 invalid_state month
check "… saying when it ends" [ "$(j .error.details.ends)" = 2026-12-01T00:00:00Z ]
for bad in '{"month":"2026-13"}' '{"month":"2026-1"}' '{"month":"26-11"}' '{"month":"2026/11"}' \
    '{"month":"2026-11-01"}' '{"month":202611}' '{"month":"0000-01"}' '{}'; do
    call "$OP" POST "/v1/orgs/$A/invoices" "$bad"
    expect "bad month $bad → 400 naming month" 400 invalid_argument month
done
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-10","payer":"revenue"}'
expect "payer must be org_accrued or org_cash → 400" 400 invalid_argument payer
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-10","extra":1}'
expect "an unknown field → 400" 400 invalid_argument extra
call "$ADM" POST "/v1/orgs/$A/invoices" '{"month":"2026-10"}'
expect "an org admin may not build invoices → 403" 403 forbidden
call "$OP" POST /v1/orgs/nope/invoices '{"month":"2026-10"}'
expect "an unknown org → 404" 404 not_found

# ---------------------------------------------------------------- charges, written beside HTTP
stop_server
NUM=$(sqlite3 "$tmp/db" "SELECT num FROM ledger_orgs WHERE org_id = '$A'")
# adjustment KEY DEBIT CREDIT AMOUNT AT REF_ID: one adjustment transfer of acme
adjustment() {
    local limit=NULL
    [ "$2" = org_cash ] && limit=0
    echo "INSERT INTO transfers(kind, debit, credit, org, amount, at, ref_kind, ref_id, ref_sub,
 key, credit_limit, created_at) VALUES('adjustment', '$2', '$3', $NUM, $4, $5, 'operator', $6, -1,
 '$1', $limit, $5);"
}
{
    echo "BEGIN;"
    adjustment it:1 org_accrued revenue 1234567891 "$NOV15" 1 # 1234.567891 → 1234.57
    adjustment it:2 org_accrued revenue 2005000 "$NOV15" 2    # 2.005 → 2.00 (half to even)
    adjustment it:3 revenue org_accrued 1005000 "$NOV15" 3    # a credit: -1.005 → -1.00
    adjustment it:4 org_cash revenue 15000 "$NOV15" 4         # 0.015 → 0.02
    adjustment it:5 org_cash revenue 25000 "$OCT20" 5         # October: 0.025 → 0.02
    echo "COMMIT;"
} | sqlite3 "$tmp/db"
check "five adjustments written beside the server" \
    [ "$(sqlite3 "$tmp/db" "SELECT count(*) FROM transfers WHERE key LIKE 'it:%'")" = 5 ]
write_clock $((DEC1 + 3600))
must "server restarts in December" start_api

# ---------------------------------------------------------------- create
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-11"}'
expect "acme's November (no contract: a statement of org_cash) → 201" 201
S=$(j .id)
check "… a statement, payer org_cash, open, of month 2026-11" \
    [ "$(j '[.kind,.payer,.state,.month,.period_from,.period_to]|join(",")')" = "statement,org_cash,open,2026-11,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z" ]
check "… one line (the top-up is not a line, October's adjustment is not in November)" \
    [ "$(j '.lines|length')" = 1 ]
check "… exact 0.015, rounded 0.02, rounding 0.005" \
    [ "$(j '[.lines[0].exact_micros,.lines[0].amount_micros,.exact_micros,.total_micros,.rounding_micros]|map(tostring)|join(",")')" = "15000,20000,15000,20000,5000" ]
check "… names the org, its customer and code" \
    [ "$(j '[.org,.customer_code,.currency]|join(",")')" = "$A,ACME-1,USD" -a "$(j .customer)" = 'Acme, "Labs" <b>&</b>' ]
call "$OP" POST "/v1/orgs/acme/invoices" '{"month":"2026-11","payer":"org_accrued"}'
expect "acme's November for org_accrued (by name) → 201" 201
I=$(j .id)
check "… an invoice, payer org_accrued, three lines by reference" \
    [ "$(j '[.kind,.payer,(.lines|length|tostring),(.lines|map(.reference)|join(" "))]|join(",")')" = "invoice,org_accrued,3,operator:1 operator:2 operator:3" ]
check "… each line rounded once, half to even: 1234.57, 2.00, -1.00" \
    [ "$(j '.lines|map(.amount_micros|tostring)|join(",")')" = "1234570000,2000000,-1000000" ]
check "… total = the rounded lines' sum, exact = the ledger's, rounding = the difference" \
    [ "$(j '[.total_micros,.exact_micros,.rounding_micros]|map(tostring)|join(",")')" = "1235570000,1235567891,2109" ]
check "… each line's description and transfer count" \
    [ "$(j '.lines[0].description')" = "operator 1: adjustment" -a "$(j '.lines[0].transfers')" = 1 ]
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-11"}'
expect "the same org, payer and month again → 409 conflict" 409 conflict month
check "… naming the invoice there is" [ "$(j .error.details.invoice)" = "$S" ]
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-11","payer":"org_accrued"}'
expect "… also for org_accrued" 409 conflict month
check "… naming that one" [ "$(j .error.details.invoice)" = "$I" ]
call "$OP" POST "/v1/orgs/$A/invoices" '{"month":"2026-12"}'
expect "December, in progress → 409 invalid_state" 409 invalid_state month
call "$OP" POST "/v1/orgs/$B/invoices" '{"month":"2026-11"}'
expect "globex's November (invoiced terms in force) → 201" 201
G=$(j .id)
check "… the contract's terms chose org_accrued; no lines, total 0" \
    [ "$(j '[.payer,(.lines|length),.total_micros]|map(tostring)|join(",")')" = "org_accrued,0,0" ]

# ---------------------------------------------------------------- read: who may
call "$OP" GET "/v1/invoices/$I"
expect "GET /v1/invoices/{id} (operator) → 200" 200
check "… with its lines" [ "$(j '.lines|length')" = 3 ]
call "$ADM" GET "/v1/invoices/$I"
expect "acme's admin reads acme's invoice → 200" 200
call "$ADM_B" GET "/v1/invoices/$I"
expect "globex's admin, acme's invoice → 404" 404 not_found id
call "$MEM" GET "/v1/invoices/$I"
expect "a member → 403" 403 forbidden
call "" GET "/v1/invoices/$I"
expect "no token → 401" 401 unauthenticated
call "$OP" GET /v1/invoices/999
expect "an unknown invoice → 404" 404 not_found id
call "$OP" GET /v1/invoices/abc
expect "a malformed id → 404" 404 not_found id
call "$OP" GET "/v1/orgs/$A/invoices"
expect "GET /v1/orgs/{id}/invoices (operator) → 200" 200
check "… acme's two, with state and month" \
    [ "$(j '[.items[]|"\(.id):\(.payer):\(.state):\(.month):\(.total_micros):\(.lines)"]|join(" ")')" = "$S:org_cash:open:2026-11:20000:1 $I:org_accrued:open:2026-11:1235570000:3" ]
call "$ADM" GET /v1/orgs/acme/invoices
expect "… acme's admin, by name → 200" 200
call "$ADM_B" GET "/v1/orgs/$A/invoices"
expect "… globex's admin → 404" 404 not_found
call "$MEM" GET "/v1/orgs/$A/invoices"
expect "… a member → 403" 403 forbidden
call "$OP" GET "/v1/orgs/$A/invoices?limit=1"
check "paged: limit=1 gives one and a cursor" [ "$(j '.items|length')" = 1 -a "$(j .next_cursor)" = "$S" ]
call "$OP" GET "/v1/orgs/$A/invoices?limit=1&cursor=$S"
check "… the cursor gives the next" [ "$(j '.items[0].id')" = "$I" ]
call "$OP" GET /v1/invoices
check "GET /v1/invoices (operator): every org's" [ "$(j '.items|length')" = 3 ]
call "$OP" GET /v1/invoices?org=globex
check "… ?org=globex: globex's" [ "$(j '[.items[].id]|map(tostring)|join(",")')" = "$G" ]
call "$ADM_B" GET /v1/invoices
check "… an org admin: its own org's only" [ "$(j '[.items[].id]|map(tostring)|join(",")')" = "$G" ]

# ---------------------------------------------------------------- CSV and the page
curl -s -D "$tmp/csv.hdr" -o "$tmp/inv.csv" -H "Authorization: Bearer $ADM" "$U/v1/invoices/$I/csv"
check "CSV: 200 text/csv" grep -qi '^content-type: text/csv' "$tmp/csv.hdr"
printf '%s\r\n' \
    'invoice,org,customer,customer_code,period,line,kind,reference,description,transfers,amount,exact_micros' \
    "$I,$A,\"Acme, \"\"Labs\"\" <b>&</b>\",ACME-1,2026-11,1,adjustment,operator:1,operator 1: adjustment,1,1234.57,1234567891" \
    "$I,$A,\"Acme, \"\"Labs\"\" <b>&</b>\",ACME-1,2026-11,2,adjustment,operator:2,operator 2: adjustment,1,2.00,2005000" \
    "$I,$A,\"Acme, \"\"Labs\"\" <b>&</b>\",ACME-1,2026-11,3,adjustment,operator:3,operator 3: adjustment,1,-1.00,-1005000" \
    >"$tmp/want.csv"
check "… a header row, one row per line, CRLF, a field with , and \" quoted (RFC 4180)" \
    cmp -s "$tmp/inv.csv" "$tmp/want.csv"
call "$ADM_B" GET "/v1/invoices/$I/csv"
expect "… another org's admin → 404" 404 not_found
curl -s -D "$tmp/doc.hdr" -o "$tmp/doc.html" -H "Authorization: Bearer $OP" "$U/v1/invoices/$I/document"
check "page: 200 text/html" grep -qi '^content-type: text/html' "$tmp/doc.hdr"
check "… the org's display name escaped, never raw" \
    [ "$(grep -c 'Acme, &quot;Labs&quot; &lt;b&gt;&amp;&lt;/b&gt;' "$tmp/doc.html")" -ge 1 -a "$(grep -c '<b>&' "$tmp/doc.html")" = 0 ]
check "… title, customer code, period" \
    grep -q 'Invoice '"$I"', 2026-11' "$tmp/doc.html"
check "… every line exact and rounded, the total and the rounding" \
    [ "$(grep -o '1234.567891\|1234.57\|1235.57\|0.002109\|-1.005\|-1.00' "$tmp/doc.html" | sort -u | wc -l)" = 6 ]
check "… customer code shown" grep -q 'ACME-1' "$tmp/doc.html"
check "… no script" [ "$(grep -ci '<script' "$tmp/doc.html")" = 0 ]
call "$MEM" GET "/v1/invoices/$I/document"
expect "… a member → 403" 403 forbidden

# ---------------------------------------------------------------- issue and pay
call "$OP" POST "/v1/invoices/$I/pay"
expect "pay an unissued invoice → 409 invalid_state" 409 invalid_state
call "$ADM" POST "/v1/invoices/$I/issue"
expect "an org admin may not issue → 403" 403 forbidden
call "$OP" POST "/v1/invoices/$I/issue" '{"x":1}'
expect "issue takes no fields → 400" 400 invalid_argument x
call "$OP" POST "/v1/invoices/$I/issue"
expect "issue acme's November invoice → 200" 200
check "… issued, issued_at is now" [ "$(j .state)" = issued -a "$(j .issued_at)" = "$(ts $((DEC1 + 3600)))" ]
check "… accrued back to 0, receivable owes the total" \
    [ "$(balance "$A" accrued_micros),$(balance "$A" receivable_micros)" = "0,-1235570000" ]
call "$OP" GET "/v1/ledger/transfers?org=$A&kind=invoice_issued"
check "… one invoice_issued transfer keyed inv:$I:issue" [ "$(j '[.items[].key]|join(",")')" = "inv:$I:issue" ]
call "$OP" GET "/v1/ledger/transfers?org=$A&kind=adjustment&account=org_accrued"
check "… and its rounding adjustment of 0.002109" \
    [ "$(j "[.items[]|select(.key==\"inv:$I:rounding\")|.amount_micros]|join(\",\")")" = 2109 ]
call "$OP" POST "/v1/invoices/$I/issue"
expect "issue it again → 409 invalid_state" 409 invalid_state
check "… naming when it was issued" [ "$(j .error.details.issued_at)" = "$(ts $((DEC1 + 3600)))" ]
call "$OP" POST "/v1/invoices/$S/pay"
expect "pay a statement → 409 invalid_state" 409 invalid_state
call "$OP" POST "/v1/invoices/$S/issue" '' -H 'Idempotency-Key: is-1'
expect "issue the statement → 200" 200
check "… issued; the money moved already, no transfer" [ "$(j .state)" = issued ]
first=$body
call "$OP" POST "/v1/invoices/$S/issue" '' -H 'Idempotency-Key: is-1'
expect "… retried with the same Idempotency-Key → 200" 200
check "… the same answer" [ "$body" = "$first" ]
call "$OP" POST "/v1/invoices/$S/pay"
expect "pay the issued statement → 409 invalid_state" 409 invalid_state
write_clock $((DEC1 + 7200))
call "$OP" POST "/v1/invoices/$I/pay" '' -H 'Idempotency-Key: pay-1'
expect "pay acme's invoice → 200" 200
check "… paid, paid_at is now" [ "$(j .state)" = paid -a "$(j .paid_at)" = "$(ts $((DEC1 + 7200)))" ]
first=$body
call "$OP" POST "/v1/invoices/$I/pay" '' -H 'Idempotency-Key: pay-1'
expect "… retried with the same Idempotency-Key → 200" 200
check "… the same answer" [ "$body" = "$first" ]
call "$OP" POST "/v1/invoices/$I/pay"
expect "… paid again without the key → 409 invalid_state" 409 invalid_state
check "… naming when it was paid" [ "$(j .error.details.paid_at)" = "$(ts $((DEC1 + 7200)))" ]
call "$OP" GET "/v1/ledger/transfers?org=$A&kind=invoice_paid"
check "one invoice_paid transfer of the total" \
    [ "$(j '[.items[]|"\(.key):\(.amount_micros)"]|join(",")')" = "inv:$I:paid:1235570000" ]
check "… receivable settled" [ "$(balance "$A" receivable_micros)" = 0 ]
call "$OP" POST "/v1/invoices/$G/issue"
expect "issue globex's empty invoice → 200" 200
call "$OP" POST "/v1/invoices/$G/pay"
expect "… pay a total of 0 → 409 invalid_state" 409 invalid_state
call "$OP" GET /v1/ledger/verify
check "ledger verify ok after issue and pay" [ "$code" = 200 -a "$(j .ok)" = true ]
call "$OP" GET "/v1/events?limit=500"
check "events: invoice.created ×3, .issued ×3, .paid ×1, about the invoices" \
    [ "$(j '[.items[]|select(.kind|startswith("invoice."))|"\(.kind):\(.object)"]|join(" ")')" = "invoice.created:$S invoice.created:$I invoice.created:$G invoice.issued:$I invoice.issued:$S invoice.paid:$I invoice.issued:$G" ]

# ---------------------------------------------------------------- the CLI
export ALLOT_SERVER=$U ALLOT_TOKEN=$OP
out=$("$ALLOT" invoice create --org acme --month 2026-10 2>&1)
check "allot invoice create --org acme --month 2026-10 (October's statement)" \
    grep -q "^statement [0-9]*: org $A" <<<"$out"
check "… its line: 0.025 → 0.02 (half to even)" grep -q 'exact 0.025, rounding -0.005, total 0.02 USD' <<<"$out"
O=$("$ALLOT" invoice list --org acme -o json | jq -r '.items[-1].id')
"$ALLOT" invoice create --org acme --month 2026-10 >"$tmp/cli.out" 2>&1
check "… again: exit 1, the server's conflict" [ $? = 1 ] && grep -q conflict "$tmp/cli.out"
"$ALLOT" invoice create --org acme >"$tmp/cli.out" 2>&1
check "… without --month: a usage error (exit 2)" [ $? = 2 ]
out=$("$ALLOT" invoice list 2>&1)
check "allot invoice list: a table with money grouped by thousands" grep -q "1,235.57" <<<"$out"
check "… every org's four" [ "$(grep -c '^[0-9]' <<<"$out")" = 4 ]
check "allot invoice list -o json" [ "$("$ALLOT" invoice list --org acme -o json | jq '.items|length')" = 3 ]
out=$("$ALLOT" invoice show "$I" 2>&1)
check "allot invoice show: its lines, exact and rounded, grouped" \
    grep -q "1,234.567891 *1,234.57" <<<"$out"
check "… the totals and the dates" grep -q "exact 1,235.567891, rounding 0.002109, total 1,235.57 USD" <<<"$out"
check "allot invoice show -o json" [ "$("$ALLOT" invoice show "$I" -o json | jq -r .state)" = paid ]
"$ALLOT" invoice csv "$I" >"$tmp/cli.csv" 2>&1
check "allot invoice csv: the server's CSV, byte for byte" cmp -s "$tmp/cli.csv" "$tmp/inv.csv"
check "allot invoice csv -o json: the invoice" [ "$("$ALLOT" invoice csv "$I" -o json | jq '.lines|length')" = 3 ]
out=$("$ALLOT" invoice issue "$O" -o json 2>&1)
check "allot invoice issue -o json" [ "$(jq -r .state <<<"$out")" = issued ]
"$ALLOT" invoice issue "$O" >"$tmp/cli.out" 2>&1
check "… again: exit 1, invalid_state" [ $? = 1 ] && grep -q invalid_state "$tmp/cli.out"
"$ALLOT" invoice pay "$O" >"$tmp/cli.out" 2>&1
check "allot invoice pay of a statement: exit 1, invalid_state" [ $? = 1 ] && grep -q invalid_state "$tmp/cli.out"
"$ALLOT" invoice show 999 >"$tmp/cli.out" 2>&1
check "allot invoice show of an unknown id: exit 1" [ $? = 1 ]
ALLOT_TOKEN=$ADM_B "$ALLOT" invoice show "$I" >"$tmp/cli.out" 2>&1
check "… another org's admin: exit 1 (not found)" [ $? = 1 ] && grep -q not_found "$tmp/cli.out"
check "allot invoice --help lists the commands" \
    [ "$("$ALLOT" invoice --help 2>&1 | grep -c 'list\|show\|csv\|create\|issue\|pay')" -ge 6 ]
call "$OP" GET /v1/ledger/verify
check "ledger verify still ok at the end" [ "$(j .ok)" = true ]
stop_server
check "the server stops cleanly (exit 0; under the sanitizers: no leak, no error)" \
    [ $? = 0 -a "$(grep -c 'Sanitizer' "$tmp/server.log")" = 0 ]

# ---------------------------------------------------------------- from real reservation charges
# The same database, now with the charges the reservation routes and the clock write: an
# invoice of January 2027 built from the draws of an invoiced reservation (taken by the
# clock, ticking every 100 ms) and a statement built from a prepaid charge and the refund of
# its cancellation; each total equals the ledger's transfers to the micro-unit.
JAN5=$(date -u -d 2027-01-05T00:00:00Z +%s)
FEB1=$(date -u -d 2027-02-01T00:00:00Z +%s)
write_clock "$JAN5"
must "the server restarts with a ticking clock" \
    start_clocked_server 100 --heartbeat-timeout $((40 * 86400))
# ledger_net ORG ACCOUNT FROM TO: charges - refunds on ORG's ACCOUNT dated in [FROM, TO)
ledger_net() {
    curl -s -H "Authorization: Bearer $OP" \
        "$U/v1/ledger/transfers?org=$1&account=$2&from=$(ts "$3")&to=$(ts "$4")&limit=500" |
        jq '[.items[] | if .kind == "refund" then -.amount_micros elif (.kind == "reservation_charge" or .kind == "usage") then .amount_micros else 0 end] | add // 0'
}
# every line rounded half-even from its exact sum, the total their sum: "ok" or what is wrong
rounding_ok() {
    # shellcheck disable=SC2016 # jq's own variables
    j '[.lines[] | .exact_micros as $x | (($x | if . < 0 then -. else . end) as $a | ($a % 10000) as $r
        | ($a - $r + (if $r > 5000 or ($r == 5000 and (($a - $r) / 10000 | floor) % 2 == 1) then 10000 else 0 end))
        | if $x < 0 then -. else . end) == .amount_micros] | all'
}
call "$OP" POST /v1/users '{"name":"agent-inv","role":"agent"}'
AGENT=$(j .token)
node n1 L40S 3
call "$OP" PUT /v1/prices/L40S '{"gpu_hour_micros":1234567}'
VF=$(ts "$JAN5") VT=$(ts $((JAN5 + 300 * 86400)))
call "$OP" POST /v1/orgs '{"name":"initech"}'
call "$OP" POST /v1/users '{"name":"ian","role":"org_admin","org":"initech"}'
ADM_I=$(j .token)
contract initech invoiced '"granularity":"second","draw_period":"hour"'
call "$OP" POST /v1/orgs '{"name":"umbrella"}'
call "$OP" POST /v1/users '{"name":"uma","role":"org_admin","org":"umbrella"}'
ADM_U=$(j .token)
contract umbrella prepaid '"granularity":"minute","credit_limit_micros":0,"cancel_fee_micros":1000000,"cancel_fee_bp":500'
topup umbrella 500000000 u1

# initech: one L40S for 2 h 30 min 10 s at 1.234567, per second: C(9010 s) = 3.089846
S=$((JAN5 + 3600))
reserve initech "$ADM_I" "$(gpus L40S 1 "$S" $((S + 9010)))"
RI=$(j .id)
check "initech: an invoiced reservation confirmed, quoted at 3.089846" \
    [ "$code" = 201 -a "$(j .total_micros)" = 3089846 ]
# umbrella: two L40S for 5 h per minute: 12.34567, charged at once
U0=$((JAN5 + 86400))
reserve umbrella "$ADM_U" "$(gpus L40S 2 "$U0" $((U0 + 5 * 3600)))"
RU=$(j .id)
check "umbrella: a prepaid reservation charged its quote's 12.34567" \
    [ "$code" = 201 -a "$(j .billing.charged_micros)" = 12345670 ]
tick_to "$S"
tick_to $((S + 3600))
tick_to $((S + 7200))
call "$OP" GET "/v1/reservations/$RI"
check "the clock drew its three periods: net 3.089846 = the quote" \
    [ "$(j '"\(.billing.periods_drawn) \(.billing.net_micros)"')" = "3 3089846" ]
tick_to $((U0 + 5400))
call "$OP" POST "/v1/reservations/$RU/cancel" '{"reason":"done early"}'
# ends at 2 h; unused 2 × 180 min = 7.407402; fee 1.00 + 5 % = 1.37037; refund 6.037032
check "umbrella's reservation cancelled 1 h 30 min in: refund 6.037032, fee 1.37037" \
    [ "$code" = 200 -a "$(j '"\(.refund_micros) \(.fee_micros)"')" = "6037032 1370370" ]
tick_to $((FEB1 + 3600))

call "$OP" POST /v1/orgs/initech/invoices '{"month":"2027-01"}'
IV=$(j .id)
check "initech's January invoice: on org_accrued, from the clock's draws" \
    [ "$code" = 201 -a "$(j .payer)" = org_accrued -a "$(j .kind)" = invoice ]
NET_I=$(ledger_net initech org_accrued "$JAN5" "$FEB1")
check "… its exact total = the ledger's draws in January = C(9010 s) = 3.089846" \
    [ "$(j .exact_micros)" = "$NET_I" -a "$NET_I" = 3089846 ]
check "… its lines: the reservation's draws (3 transfers) rounded half-even to 3.09" \
    [ "$(j '[.lines[] | "\(.kind) \(.reservation) \(.transfers) \(.exact_micros) \(.amount_micros)"] | join(",")')" = "draw $RI 3 3089846 3090000" ]
check "… total = the sum of its rounded lines, rounding = total - exact" \
    [ "$(j '(.total_micros == ([.lines[].amount_micros] | add)) and (.rounding_micros == .total_micros - .exact_micros)')" = true ]
call "$OP" POST "/v1/invoices/$IV/issue"
check "issued: org_accrued back to 0, the org owes the printed 3.09" \
    [ "$code" = 200 -a "$(balance initech accrued_micros) $(balance initech receivable_micros)" = "0 -3090000" ]
call "$OP" POST "/v1/invoices/$IV/pay"
check "paid: nothing owed" [ "$code" = 200 -a "$(balance initech receivable_micros)" = 0 ]

call "$OP" POST /v1/orgs/umbrella/invoices '{"month":"2027-01"}'
SU=$(j .id)
check "umbrella's January statement: on org_cash" \
    [ "$code" = 201 -a "$(j .payer)" = org_cash -a "$(j .kind)" = statement ]
NET_U=$(ledger_net umbrella org_cash "$JAN5" "$FEB1")
check "… its exact total = the ledger's charge less the refund = 12.34567 - 6.037032" \
    [ "$(j .exact_micros)" = "$NET_U" -a "$NET_U" = $((12345670 - 6037032)) ]
check "… a reservation line (12.34567 → 12.35) and a refund line (-6.037032 → -6.04)" \
    [ "$(j '[.lines[] | "\(.kind) \(.reservation) \(.exact_micros) \(.amount_micros)"] | join(",")')" = "reservation $RU 12345670 12350000,refund $RU -6037032 -6040000" ]
check "… every line rounded half-even once, the total their sum (6.31)" \
    [ "$(rounding_ok)" = true -a "$(j .total_micros)" = 6310000 -a "$(j .rounding_micros)" = $((6310000 - 12345670 + 6037032)) ]
N_BEFORE=$(curl -s -H "Authorization: Bearer $OP" "$U/v1/ledger/verify" | jq .transfers)
call "$OP" POST "/v1/invoices/$SU/issue"
check "issuing a statement writes no transfer (the money moved already)" \
    [ "$code" = 200 -a "$(curl -s -H "Authorization: Bearer $OP" "$U/v1/ledger/verify" | jq .transfers)" = "$N_BEFORE" ]
call "$OP" GET /v1/ledger/verify
check "ledger verify ok after the invoice and the statement from real charges" [ "$(j .ok)" = true ]
stop_server
check "the server stops cleanly again" [ $? = 0 -a "$(grep -c 'Sanitizer' "$tmp/server.log")" = 0 ]
