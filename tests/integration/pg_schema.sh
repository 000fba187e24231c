#!/usr/bin/env bash
# pg_schema.sh — src/store/pg_schema.sql, allot's schema in PostgreSQL's dialect, on a real
# PostgreSQL 15 (a throw-away cluster on a unix socket, started by bench/pg.sh; as root it runs
# as the `postgres` user): it applies in one transaction, a second run is refused and changes
# nothing; it holds what the SQLite migrations build (the tables, columns, NOT NULLs, indexes and
# triggers of a database `allot server init` creates); and PostgreSQL itself enforces what
# several replicas need (docs/postgres.md):
#   - holds_no_overlap (EXCLUDE USING gist): two holds of different owners on one GPU never share
#     a placement unit at the same instant, whole GPUs and MIG instances alike, tentative holds
#     too, on insert and on update, and across concurrent transactions;
#   - the ledger: transfers append-only (UPDATE, DELETE, TRUNCATE refused), the debit → credit
#     pairs and amounts checked, balances moved in the transfer's statement and a debit of org
#     cash below minus its credit limit refused, also when two transactions race for it;
#   - the other append-only and frozen records (events, billing states' counters, invoices),
#     and next_draw_at kept by its triggers.
# Needs PostgreSQL's server (scripts/deps.sh test), sqlite3 and $ALLOT (for the SQLite side).
# Prints "ok - …" / "not ok - …" per check.
set -u
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# Under bench/pg.sh (which exports AL_PG_*), once.
if [ -z "${AL_PG_SCHEMA_INNER:-}" ]; then
    AL_PG_SCHEMA_INNER=1 exec "$root/bench/pg.sh" bash "$0" "$@"
fi
# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
schema=$root/src/store/pg_schema.sql
tmp=$(mktemp -d /tmp/allot-pgschema.XXXXXX)
bg=()
cleanup() {
    local p
    for p in "${bg[@]}"; do reap -KILL "$p"; done
    rm_tmp
}
trap cleanup EXIT

if [ -n "${AL_PG_SKIP:-}" ] || [ -z "${AL_PG_HOST:-}" ]; then
    nok "PostgreSQL starts: ${AL_PG_SKIP:-bench/pg.sh exported no AL_PG_HOST}"
    exit 1
fi
ok "PostgreSQL starts ($("$AL_PG_BIN/postgres" --version))"
psql_bin=$AL_PG_BIN/psql
"$psql_bin" -X -q -d "$AL_PG_CONNINFO" -c 'CREATE DATABASE allot_schema' >/dev/null
db="host=$AL_PG_HOST dbname=allot_schema user=allot"

# show N: stdin's first N lines as "#   …" (what went wrong, not counted as checks).
show() { head -"$1" | while IFS= read -r l; do echo "#   $l"; done; }

# sql ARGS…: psql on the test database, unaligned, stopping at the first error, which is
# printed with its SQLSTATE ("ERROR:  23P01: …").
sql() { "$psql_bin" -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" "$@"; }

# accepts DESC SQL: SQL (one transaction) succeeds.
accepts() {
    local out
    if out=$(sql -c "$2" 2>&1); then
        ok "$1"
    else
        nok "$1"
        show 5 <<<"$out"
    fi
}
# refuses DESC SQLSTATE SQL: SQL (one transaction: nothing of it kept) fails with SQLSTATE.
refuses() {
    local out
    if out=$(sql -c "$3" 2>&1); then
        nok "$1 (accepted)"
    elif grep -q "ERROR:  $2" <<<"$out"; then
        ok "$1"
    else
        nok "$1 (not SQLSTATE $2)"
        show 5 <<<"$out"
    fi
}
# equals DESC WANT SQL: SQL prints exactly WANT.
equals() {
    local got
    got=$(sql -c "$3" 2>&1)
    if [ "$got" = "$2" ]; then
        ok "$1"
    else
        nok "$1"
        echo "#   want '$2', got '$got'"
    fi
}

# ---- applying it ----
if out=$(sql --single-transaction -f "$schema" 2>&1); then
    ok "pg_schema.sql applies to an empty database in one transaction"
else
    nok "pg_schema.sql applies to an empty database in one transaction"
    show 10 <<<"$out"
    exit 1
fi
tables_before=$(sql -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
if out=$(sql --single-transaction -f "$schema" 2>&1); then
    nok "a second run of pg_schema.sql is refused (it succeeded)"
elif grep -q "schema is here already (schema_version 11)" <<<"$out"; then
    ok "a second run of pg_schema.sql is refused, saying the schema is there (version 11)"
else
    nok "a second run of pg_schema.sql is refused, saying the schema is there"
    show 5 <<<"$out"
fi
equals "the refused second run changed nothing" "$tables_before|11" \
    "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public'),
            (SELECT string_agg(version::text, ',') FROM schema_version)"
equals "btree_gist is installed" "1" "SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'"

# ---- the same schema as SQLite's ----
# Columns as table|column|type class|not null (a PRIMARY KEY column counts as NOT NULL:
# SQLite lets a TEXT key be NULL, PostgreSQL does not, allot never writes one); the derived
# holds.units and holds.during are PostgreSQL's own, for the exclusion constraint.
sqlite_side() {
    if [ -z "${ALLOT:-}" ] || [ ! -x "$ALLOT" ]; then
        echo "no \$ALLOT binary"
        return 1
    fi
    command -v sqlite3 >/dev/null || { echo "no sqlite3 (scripts/deps.sh test)"; return 1; }
    "$ALLOT" server init --db "$tmp/sqlite.db" --name root >/dev/null 2>"$tmp/init.err" ||
        { cat "$tmp/init.err"; return 1; }
    sqlite3 "$tmp/sqlite.db" "SELECT m.name || '|' || p.name || '|' ||
        CASE upper(p.type) WHEN 'INTEGER' THEN 'int' WHEN 'TEXT' THEN 'text'
        WHEN 'BLOB' THEN 'bytes' ELSE p.type END || '|' || (p.[notnull] OR p.pk > 0)
        FROM sqlite_master m, pragma_table_info(m.name) p
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'" | sort >"$tmp/sqlite.cols" &&
        sqlite3 "$tmp/sqlite.db" "SELECT name FROM sqlite_master WHERE type = 'index'
            AND name NOT LIKE 'sqlite_autoindex_%'" | sort >"$tmp/sqlite.idx" &&
        sqlite3 "$tmp/sqlite.db" "SELECT name FROM sqlite_master WHERE type = 'trigger'" |
        sort >"$tmp/sqlite.trg"
}
if why=$(sqlite_side 2>&1); then
    sql -c "SELECT table_name || '|' || column_name || '|' ||
        CASE WHEN data_type IN ('bigint','integer') THEN 'int' WHEN data_type = 'text' THEN 'text'
        WHEN data_type = 'bytea' THEN 'bytes' ELSE data_type END || '|' ||
        (is_nullable = 'NO')::int
        FROM information_schema.columns WHERE table_schema = 'public'
        AND NOT (table_name = 'holds' AND column_name IN ('units','during'))" |
        sort >"$tmp/pg.cols"
    if diff "$tmp/sqlite.cols" "$tmp/pg.cols" >"$tmp/cols.diff"; then
        ok "every table and column of SQLite's schema ($(wc -l <"$tmp/sqlite.cols") columns), with its type and NOT NULL, and no other"
    else
        nok "every table and column of SQLite's schema, with its type and NOT NULL, and no other (< SQLite, > PostgreSQL)"
        show 20 <"$tmp/cols.diff"
    fi
    sql -c "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'
        AND indexname NOT LIKE '%\_pkey' AND indexname NOT LIKE '%\_key'
        AND indexname <> 'holds_no_overlap'" | sort >"$tmp/pg.idx"
    if diff "$tmp/sqlite.idx" "$tmp/pg.idx" >"$tmp/idx.diff"; then
        ok "the same named indexes as SQLite's ($(wc -l <"$tmp/sqlite.idx"))"
    else
        nok "the same named indexes as SQLite's (< SQLite, > PostgreSQL)"
        show 20 <"$tmp/idx.diff"
    fi
    sql -c "SELECT DISTINCT tgname FROM pg_trigger WHERE NOT tgisinternal" | sort >"$tmp/pg.trg"
    missing=$(comm -23 "$tmp/sqlite.trg" "$tmp/pg.trg")
    extra=$(comm -13 "$tmp/sqlite.trg" "$tmp/pg.trg" | grep -v '_no_truncate$')
    if [ -z "$missing$extra" ]; then
        ok "every trigger of SQLite's schema ($(wc -l <"$tmp/sqlite.trg")), plus the TRUNCATE refusals"
    else
        nok "every trigger of SQLite's schema, plus the TRUNCATE refusals"
        echo "#   missing: ${missing//$'\n'/ }; unexpected: ${extra//$'\n'/ }"
    fi
else
    nok "the SQLite schema to compare with: ${why//$'\n'/ }"
fi

# ---- holds: no overlap on a GPU's units and time ----
# whole GPU: start_unit -1, mask -1 (every bit); MIG: mask ((1 << size) - 1) << start_unit.
sql -c "INSERT INTO nodes(name, last_seen, created_at) VALUES('n1', 0, 0);
    INSERT INTO gpus(id, node, idx, uuid, model, reported_model, pool, healthy)
    SELECT 'g' || i, 'n1', i, 'GPU-' || i, 'A100-80GB', 'A100-80GB', 'dedicated', 1
    FROM generate_series(1, 4) i" >/dev/null
hold() { # hold GPU OWNER KIND START_UNIT MASK T0 T1 [EXPIRES_AT]: the INSERT of one hold
    echo "INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1, expires_at)
        VALUES('$1', '$2', '$3', '$([ "$3" = mig ] && echo 3g.40gb)', $4, $5, $6, $7, ${8:-0})"
}
accepts "a whole-GPU hold is accepted" "$(hold g1 rsv_a gpu -1 -1 1000 2000)"
refuses "an overlapping whole-GPU hold of another owner on the same GPU is refused (EXCLUDE)" \
    23P01 "$(hold g1 rsv_b gpu -1 -1 1500 2500)"
refuses "a hold inside another's window is refused" 23P01 "$(hold g1 rsv_b gpu -1 -1 1200 1300)"
accepts "an adjacent hold (starting at the other's end: [t0, t1) windows) is accepted" \
    "$(hold g1 rsv_b gpu -1 -1 2000 3000)"
accepts "a disjoint hold on the same GPU is accepted" "$(hold g1 rsv_c gpu -1 -1 5000 6000)"
accepts "the same window on another GPU is accepted" "$(hold g2 rsv_b gpu -1 -1 1000 2000)"
accepts "an owner's own holds may overlap (as al_store_hold_conflicts skips the owner's)" \
    "$(hold g1 rsv_a gpu -1 -1 1500 1800)"
accepts "a MIG hold on units 0-3 of a GPU" "$(hold g3 rsv_m1 mig 0 15 1000 2000)"
accepts "a MIG hold on the disjoint units 4-7 of that GPU at the same time is accepted" \
    "$(hold g3 rsv_m2 mig 4 240 1000 2000)"
refuses "a MIG hold on unit 3 at an overlapping time is refused" 23P01 \
    "$(hold g3 rsv_m3 mig 3 8 1500 2500)"
refuses "a whole-GPU hold over a GPU's MIG holds is refused" 23P01 \
    "$(hold g3 rsv_w gpu -1 -1 1999 2001)"
accepts "a MIG hold on units 0-3 once the first one ends is accepted" \
    "$(hold g3 rsv_m3 mig 0 15 2000 2500)"
refuses "a quote's tentative hold over a firm one is refused" 23P01 \
    "$(hold g1 qte_t gpu -1 -1 2500 2600 99999)"
accepts "a quote's tentative hold on free capacity is accepted" \
    "$(hold g4 qte_t gpu -1 -1 1000 2000 99999)"
refuses "a second tentative hold over it is refused" 23P01 \
    "$(hold g4 qte_u gpu -1 -1 1500 1600 99999)"
accepts "a quote's holds given to its reservation as firm holds (al_store_hold_transfer)" \
    "UPDATE holds SET owner = 'rsv_t', expires_at = 0 WHERE owner = 'qte_t'"
refuses "extending a hold into another's window is refused (al_store_hold_set_end)" 23P01 \
    "UPDATE holds SET t1 = 2100 WHERE owner = 'rsv_a'"
accepts "extending a hold into free time is accepted" \
    "UPDATE holds SET t1 = 7000 WHERE owner = 'rsv_c'"
equals "a hold's units and window as ranges: [0,64) for a whole GPU, [4,8) for units 4-7" \
    "[0,64)|[4,8)|t" \
    "SELECT a.units, b.units, b.during = tstzrange(to_timestamp(1000), to_timestamp(2000), '[)')
     FROM holds a, holds b WHERE a.owner = 'rsv_b' AND a.gpu_id = 'g2' AND b.owner = 'rsv_m2'"
refuses "a MIG hold whose mask is not its units from start_unit is refused" 23514 \
    "$(hold g2 rsv_x mig 1 15 8000 9000)"
refuses "a MIG hold with holes in its mask is refused" 23514 "$(hold g2 rsv_x mig 0 5 8000 9000)"
refuses "a whole-GPU hold that is not every unit is refused" 23514 \
    "$(hold g2 rsv_x gpu -1 255 8000 9000)"
refuses "an empty window is refused" 23514 "$(hold g2 rsv_x gpu -1 -1 9000 9000)"

# Two transactions (two replicas) racing for the same units: the second waits for the first
# and is refused when it commits; when it rolls back, the second goes in.
sleeping() { # a session other than this one is in pg_sleep
    [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid()
        AND state = 'active' AND query LIKE '%pg_sleep(1.5)%'")" -ge 1 ]
}
race() { # race FIRST_END SECOND_SQL FIRST_SQL: print the second's outcome
    sql -c "BEGIN; $3; SELECT pg_sleep(1.5); $1;" >/dev/null 2>&1 &
    bg+=($!)
    wait_until 20 sleeping # the first has written and holds its locks
    if sql -c "$2" >"$tmp/race.out" 2>&1; then echo accepted; else head -1 "$tmp/race.out"; fi
    wait "${bg[-1]}"
}
got=$(race COMMIT "$(hold g2 rsv_r2 gpu -1 -1 10000 11000)" "$(hold g2 rsv_r1 gpu -1 -1 10500 11500)")
if grep -q "ERROR:  23P01" <<<"$got"; then
    ok "of two concurrent overlapping holds, the second is refused once the first commits"
else
    nok "of two concurrent overlapping holds, the second is refused once the first commits"
    echo "#   $got"
fi
got=$(race ROLLBACK "$(hold g2 rsv_r4 gpu -1 -1 20000 21000)" "$(hold g2 rsv_r3 gpu -1 -1 20500 21500)")
check "of two concurrent overlapping holds, the second goes in when the first rolls back" \
    test "$got" = accepted
equals "no two holds of different owners overlap on a GPU's units (a self-join finds none)" "0" \
    "SELECT count(*) FROM holds a JOIN holds b ON a.gpu_id = b.gpu_id AND a.id < b.id
     AND a.owner <> b.owner AND a.units && b.units AND a.during && b.during"

# ---- the ledger ----
sql -c "INSERT INTO orgs VALUES('org_a', 'a', NULL, NULL, 0), ('org_b', 'b', NULL, NULL, 0)" \
    >/dev/null
equals "a new org gets its ledger number (the orgs_ledger_num trigger)" "org_a|org_b" \
    "SELECT string_agg(org_id, '|' ORDER BY num) FROM ledger_orgs"
xfer() { # xfer KEY KIND DEBIT CREDIT ORG AMOUNT CREDIT_LIMIT|NULL
    echo "INSERT INTO transfers(kind, debit, credit, org, amount, at, ref_kind, ref_id, ref_sub,
        key, credit_limit, created_at) VALUES('$2', '$3', '$4',
        (SELECT num FROM ledger_orgs WHERE org_id = '$5'), $6, 0, 'none', 0, 0, '$1', $7, 0)"
}
cash() { # the SQL of org $1's cash balance
    echo "SELECT balance FROM balances WHERE account = 'org_cash'
        AND org = (SELECT num FROM ledger_orgs WHERE org_id = '$1')"
}
accepts "a top-up of 100 units (in micro-units)" "$(xfer k1 topup external org_cash org_a 100000000 NULL)"
equals "the top-up moved both cached balances in its statement" "100000000|-100000000" \
    "SELECT ($(cash org_a)), (SELECT balance FROM balances WHERE account = 'external')"
accepts "a charge of 80 with no credit" \
    "$(xfer k2 reservation_charge org_cash revenue org_a 80000000 0)"
refuses "a charge taking org cash below minus its credit limit is refused" 23000 \
    "$(xfer k3 reservation_charge org_cash revenue org_a 30000000 0)"
equals "the refused charge left no transfer and no balance change" "20000000|2" \
    "SELECT ($(cash org_a)), (SELECT count(*) FROM transfers)"
accepts "the same charge under a credit limit of 50 is accepted" \
    "$(xfer k3 reservation_charge org_cash revenue org_a 30000000 50000000)"
equals "org cash is then -10 units" "-10000000" "$(cash org_a)"
refuses "a debit of org cash without its credit limit is refused" 23514 \
    "$(xfer k4 usage org_cash revenue org_a 1 NULL)"
refuses "a transfer of 0 is refused" 23514 "$(xfer k4 topup external org_cash org_a 0 NULL)"
refuses "a kind with accounts ledger.h does not pair is refused" 23514 \
    "$(xfer k4 topup org_cash external org_a 5 0)"
refuses "a transfer key used twice is refused" 23505 \
    "$(xfer k1 topup external org_cash org_a 100000000 NULL)"
refuses "a balance past bigint is refused" 22003 \
    "$(xfer k5 topup external org_cash org_a 9223372036854775807 NULL)"
refuses "UPDATE of a transfer is refused" 23000 "UPDATE transfers SET amount = 1 WHERE key = 'k2'"
refuses "DELETE of a transfer is refused" 23000 "DELETE FROM transfers WHERE key = 'k2'"
refuses "TRUNCATE of the transfers is refused" 23000 "TRUNCATE transfers"
refuses "DELETE of a balance is refused" 23000 "DELETE FROM balances"
equals "the books are as the three transfers left them" "3|-10000000|0" \
    "SELECT (SELECT count(*) FROM transfers), ($(cash org_a)),
            (SELECT sum(balance) FROM balances)"
# Two debits racing for org b's 20 units of cash (no credit): the second waits on the balance
# row, sees the first's result and is refused, under READ COMMITTED.
sql -c "$(xfer kb0 topup external org_cash org_b 20000000 NULL)" >/dev/null
got=$(race COMMIT "$(xfer kb2 usage org_cash revenue org_b 15000000 0)" \
    "$(xfer kb1 usage org_cash revenue org_b 15000000 0)")
if grep -q "ERROR:  23000" <<<"$got" && grep -q "credit limit" <<<"$got"; then
    ok "of two concurrent debits that together pass the credit limit, the second is refused"
else
    nok "of two concurrent debits that together pass the credit limit, the second is refused"
    echo "#   $got"
fi
equals "org b's cash is 20 - 15 units" "5000000" "$(cash org_b)"

# ---- other append-only and frozen records ----
sql -c "INSERT INTO events(at, actor, kind, object, data) VALUES(1, 'x', 'k', 'o', '{}')" >/dev/null
refuses "UPDATE of an event is refused" 23000 "UPDATE events SET kind = 'y'"
refuses "DELETE of an event is refused" 23000 "DELETE FROM events"
# a contract under balance terms, hourly draws, and a reservation's billing state on it
sql -c "INSERT INTO contracts(org, created_at) SELECT num, 0 FROM ledger_orgs WHERE org_id = 'org_a';
    INSERT INTO contract_versions(contract_id, version, terms, valid_from, valid_to, granularity,
        min_hours, draw_period, discount_bps, cancel_fee, cancel_fee_bps,
        admin_may_cancel_active, self_service, payg_after_window, credit_limit, created_at)
    SELECT id, 1, 'balance', 0, 100000, 'second', 0, 3600, 0, 0, 0, 0, 1, 0, 0, 0 FROM contracts;
    INSERT INTO reservations VALUES('rsv_1', 'org_a', 'scheduled', 0, 10000, '{}')" >/dev/null
accepts "a reservation's billing state on its org's contract" \
    "INSERT INTO reservation_billing(reservation_id, org, contract_id, contract_version, start_at,
        end_at, rev, drawn, fees, cancelled, share)
     SELECT 'rsv_1', c.org, c.id, 1, 0, 10000, 0, 0, 0, 0, 1000 FROM contracts c"
equals "next_draw_at is the first period's start" "0" "SELECT next_draw_at FROM reservation_billing"
equals "two draws later it is the third period's" "7200" \
    "UPDATE reservation_billing SET drawn = 2 RETURNING next_draw_at"
equals "once every period is drawn it is NULL" "" \
    "UPDATE reservation_billing SET drawn = 3 RETURNING next_draw_at"
refuses "drawn never goes back" 23000 "UPDATE reservation_billing SET drawn = 1"
refuses "a billing state on another org's contract is refused" 23000 \
    "INSERT INTO reservations VALUES('rsv_2', 'org_b', 'scheduled', 0, 10000, '{}');
     INSERT INTO reservation_billing(reservation_id, org, contract_id, contract_version, start_at,
        end_at, rev, drawn, fees, cancelled, share)
     SELECT 'rsv_2', (SELECT num FROM ledger_orgs WHERE org_id = 'org_b'), c.id, 1, 0, 10000,
        0, 0, 0, 0, 1000 FROM contracts c"
sql -c "INSERT INTO invoices(org, payer, period_from, period_to, minor, exact, total, rounding,
    created_at) SELECT num, 'org_accrued', 0, 10, 10000, 5, 10000, 9995, 0 FROM ledger_orgs
    WHERE org_id = 'org_a'; UPDATE invoices SET issued_at = 5" >/dev/null
refuses "an invoice is issued once" 23000 "UPDATE invoices SET issued_at = 6"
refuses "no line is added to an issued invoice" 23000 \
    "INSERT INTO invoice_lines SELECT id, 0, 'draw', 'none', 0, 0, 1, 5, 5 FROM invoices"
refuses "an invoice's amounts are frozen" 23000 "UPDATE invoices SET total = 1, rounding = -4"
