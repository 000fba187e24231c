#!/usr/bin/env bash
# pg_store.sh — `allot server --db` on PostgreSQL (docs/postgres.md, step 3), in the normal
# `make test`, so that the driver (src/store/db_pg.c) is covered without `make test-pg`: on a
# throw-away PostgreSQL 15 (bench/pg.sh: a unix socket in a temp dir; as root, the `postgres`
# user):
#   - the seam's unit tests (test_db, built beside $ALLOT) with every PostgreSQL case run;
#   - the store's unit tests (test_store*, test_cal, test_migcheck, built beside $ALLOT) with
#     AL_TEST_DB=postgres: the same cases as on SQLite, each on a fresh database, but for the
#     few about SQLite itself (counted, and no more than the table below allows);
#   - `allot server init --db <conninfo>` applies the compiled-in schema to an empty database
#     and prints the operator's token; a second init is refused (users already), and so is a
#     database that holds other tables (not allot's schema), and a --db naming PostgreSQL
#     without --secret-key-file;
#   - the server starts on a postgres:// URI (no <db>.lock, no conninfo in its log), and a
#     request goes through the flow: org, contract, agent, node, request, quote, approve,
#     accept, confirm → a 201 reservation; a retry with its Idempotency-Key replays it;
#   - after a restart the org, the reservation and the events are there.
# Prints "ok - …" / "not ok - …" per check. Needs PostgreSQL's server (scripts/deps.sh test),
# $ALLOT, curl, jq.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -z "${AL_PG_STORE_INNER:-}" ]; then
    AL_PG_STORE_INNER=1 exec "$root/bench/pg.sh" bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
AL_TEST_DB='' . "$root/tests/integration/lib.sh"
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot-pgstore.XXXXXX)
pid=
trap_stop_server -KILL

if [ -n "${AL_PG_SKIP:-}" ] || [ -z "${AL_PG_HOST:-}" ]; then
    nok "PostgreSQL starts: ${AL_PG_SKIP:-bench/pg.sh exported no AL_PG_HOST}"
    exit 1
fi
psql() { "$AL_PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$AL_PG_HOST" -U allot "$@"; }
psql -d postgres -c 'CREATE DATABASE allot_store' -c 'CREATE DATABASE other' >/dev/null
db="host=$AL_PG_HOST dbname=allot_store user=allot"
uri="postgresql://allot@/allot_store?host=$AL_PG_HOST"
key=$tmp/webhooks.key

# ---- the seam's unit tests (tests/unit/test_db.c) on this PostgreSQL: their PostgreSQL cases
# are skipped without one
prog=$(dirname "$ALLOT")/test_db
if [ -x "$prog" ]; then
    "$prog" >"$tmp/test_db.out" 2>&1
    check "test_db passes every case on PostgreSQL too (none skipped)" \
        [ $? = 0 -a -z "$(grep SKIPPED "$tmp/test_db.out")" -a -n "$(grep PASSED "$tmp/test_db.out")" ]
else
    nok "test_db is built beside $ALLOT"
fi

# ---- the store's unit tests (tests/unit/store_fixture.h) on this PostgreSQL: with
# AL_TEST_DB=postgres each case gets a fresh database, copied from a template database that
# holds the schema (one per program). Measured on a loaded 2-core machine, test_store's 16
# cases: 6.8 s from the template, 12.6 s with each database made empty and given its schema by
# al_store_open, 2.1 s on SQLite; one database per program reset between cases (TRUNCATE of
# every table with the refusal triggers off, the seed rows written again) cost more than a copy
# (0.74 s against 0.48 s a case). Every case runs on both stores but those about SQLite itself,
# which skip with their reason ("# SQLite only, …"): at most the count below per program.
declare -A sqlite_only=([test_store]=1 [test_store_container]=0 [test_store_domain]=1
    [test_store_faults]=3 [test_store_ledger]=0 [test_store_migchange]=0 [test_store_money]=1
    [test_store_webhook]=0 [test_cal]=0 [test_migcheck]=0)
for t in test_store test_store_container test_store_domain test_store_faults test_store_ledger \
    test_store_migchange test_store_money test_store_webhook test_cal test_migcheck; do
    prog=$(dirname "$ALLOT")/$t
    if [ ! -x "$prog" ]; then
        nok "$t is built beside $ALLOT"
        continue
    fi
    AL_TEST_DB=postgres "$prog" >"$tmp/$t.out" 2>&1
    rc=$?
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/$t.out")
    skipped=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$tmp/$t.out")
    reasons=$(grep -c '^# SQLite only, skipped on PostgreSQL: ' "$tmp/$t.out")
    echo "# $t on PostgreSQL: ${passed:-0} passed, ${skipped:-0} skipped (SQLite only)"
    check "$t passes on PostgreSQL, skipping only its ${sqlite_only[$t]} SQLite-only cases" \
        [ $rc = 0 -a "${passed:-0}" -gt 0 -a "${skipped:-0}" = "$reasons" \
        -a "${skipped:-0}" -le "${sqlite_only[$t]}" ]
    [ $rc = 0 ] || grep -E '^\[  (ERROR|FAILED|  LINE)' "$tmp/$t.out" | sed 's/^/# /' | head -20
done
check "… and leaves no database behind" \
    [ "$(psql -d postgres -c "SELECT count(*) FROM pg_database WHERE datname LIKE 'al\_%'")" = 0 ]

# ---- init
"$ALLOT" server init --db "$db" --name root 2>"$tmp/err" >/dev/null
check "init without --secret-key-file is refused (usage)" \
    grep -q -- "--secret-key-file is needed" "$tmp/err"
OP=$("$ALLOT" server init --db "$db" --name root --secret-key-file "$key" 2>"$tmp/err")
check "init applies the schema and prints the operator's token" [ "${OP:0:3}" = al_ ]
check "… its message names no conninfo" [ -z "$(grep -F "host=" "$tmp/err")" ]
check "… the schema is version 12 (11 from pg_schema.sql, then migration 12), holds_no_overlap included" \
    [ "$(psql -d allot_store -c 'SELECT max(version) FROM schema_version')" = 12 -a \
    "$(psql -d allot_store -c "SELECT count(*) FROM pg_constraint WHERE conname = 'holds_no_overlap'")" = 1 ]
"$ALLOT" server init --db "$db" --name root2 --secret-key-file "$key" 2>"$tmp/err" >/dev/null
check "a second init is refused: users already" grep -q "has users already" "$tmp/err"
psql -d other -c 'CREATE TABLE t(x int)'
"$ALLOT" server init --db "host=$AL_PG_HOST dbname=other user=allot" --secret-key-file "$key" \
    2>"$tmp/err" >/dev/null
check "a database with other tables is refused" grep -q "not allot's schema" "$tmp/err"
check "… and is left as it was" [ "$(psql -d other -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" = 1 ]

# ---- serve
port=$(free_port)
U=http://127.0.0.1:$port
T0=$(($(date +%s) / 3600 * 3600 + 3600))
write_clock "$T0"
serve() {
    start_server "$U" "$tmp/server.log" --db "$uri" --secret-key-file "$key" \
        --listen "127.0.0.1:$port" --clock-file "$tmp/clock" --tick-ms 200
}
must "the server starts on a postgres:// URI" serve
check "… takes no lock file and logs no conninfo" [ -z "$(find "$tmp" "$PWD" -maxdepth 1 -name '*.lock' -newer "$key")" -a \
    -z "$(grep -F "$AL_PG_HOST" "$tmp/server.log")" ]

call "$OP" POST /v1/orgs '{"name":"acme"}'
expect "an org" 201
ACME=$(j .id)
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"invoiced\",\"valid_to\":\"$(ts $((T0 + 100 * 86400)))\"}"
expect "an invoiced contract" 201
call "$OP" POST /v1/users '{"name":"adm","role":"org_admin","org":"acme"}'
expect "an org admin" 201
ADM=$(j .token)
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
call "$AGENT" PUT /v1/nodes/n1 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n1-0","model":"H100-80GB"},{"index":1,"uuid":"GPU-n1-1","model":"H100-80GB"}]}'
expect "a node with 2 GPUs reports" 200
call "$OP" PUT /v1/prices/H100-80GB '{"gpu_hour_micros":2000000}'
expect "a price" 200
S=$(ts $((T0 + 86400))) E=$(ts $((T0 + 2 * 86400)))
call "$ADM" POST /v1/requests "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"start\":\"$S\",\"end\":\"$E\"}"
expect "a request" 201
R=$(j .id)
call "$OP" POST "/v1/requests/$R/quote" '{"valid_for_minutes":60}'
expect "quoted" 200
check "… 2 GPUs for 24 h at 2.00" [ "$(j .quote.total_micros)" = 96000000 ]
call "$OP" POST "/v1/requests/$R/approve"
expect "approved" 200
call "$ADM" POST "/v1/requests/$R/accept"
expect "accepted" 200
call "$OP" POST "/v1/requests/$R/confirm" '{"payment_terms":"invoiced"}' -H "Idempotency-Key: pg-1"
expect "confirmed → 201 reservation" 201
V=$(j .id)
call "$OP" POST "/v1/requests/$R/confirm" '{"payment_terms":"invoiced"}' -H "Idempotency-Key: pg-1"
check "a retry with its key replays the 201" [ "$code" = 201 -a "$(j .id)" = "$V" ]
check "the holds are in PostgreSQL" [ "$(psql -d allot_store -c "SELECT count(*) FROM holds WHERE owner = '$V'")" = 2 ]

# ---- restart
check "the server stops cleanly" stop_server
must "it starts again" serve
call "$ADM" GET "/v1/reservations/$V"
check "the reservation is there after the restart" [ "$code" = 200 -a "$(j .state)" = scheduled -a "$(j '.allocations | length')" = 2 ]
call "$OP" GET "/v1/orgs/$ACME"
expect "the org is there" 200
call "$OP" GET "/v1/events?limit=500"
check "the events are there (reservation.scheduled among them)" \
    [ "$(j '[.items[]? | select(.kind == "reservation.scheduled")] | length')" = 1 ]
call "$ADM" POST /v1/requests "{\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S\",\"end\":\"$E\"}"
R2=$(j .id)
call "$OP" POST "/v1/requests/$R2/quote" '{"valid_for_minutes":60}'
expect "the restarted server knows the GPUs are taken" 409 no_capacity
