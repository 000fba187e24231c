/* store_schema.c — opening a store: the driver opens the database (db_sqlite.c or db_pg.c),
 * then the numbered migrations bring its schema to this build's version, each in its own
 * transaction; and, in debug builds, the faults of AL_STORE_FAULT are armed (store.h). The
 * migrations are SQLite's dialect; PostgreSQL starts from pg_schema.sql (compiled in) at
 * version 11, applied to an empty database, and takes the PostgreSQL text of each migration
 * after it (docs/postgres.md). The
 * tables' own calls are in store_accounts.c, store_fleet.c, store_flow.c, store_money.c,
 * store_billing.c, store_ledger.c, store_migchange.c, store_container.c, store_metrics.c and
 * store_webhook.c. */
#include "store/store_internal.h"
#include "store/store_replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* p(drawn) of the reservation_billing row NEW while that period begins before its end under
 * periodic terms (core/billing.h), else NULL: migration 5's next_draw_at. */
#define NEXT_DRAW_SQL                                                                              \
    "SELECT CASE WHEN v.terms IN ('balance','invoiced')"                                           \
    " AND NEW.start_at + NEW.drawn * v.draw_period < NEW.end_at"                                   \
    " THEN NEW.start_at + NEW.drawn * v.draw_period END FROM contract_versions v"                  \
    " WHERE v.contract_id = NEW.contract_id AND v.version = NEW.contract_version"

/* Numbered migrations: migrations[i] brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " customer_code TEXT UNIQUE, display_name TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE users(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL"
    " CHECK(role IN ('operator','org_admin','member','agent')),"
    " org_id TEXT REFERENCES orgs(id), token_hash BLOB NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX users_org ON users(org_id, id);"
    "CREATE TABLE nodes(name TEXT PRIMARY KEY, zone TEXT, labels TEXT NOT NULL DEFAULT '{}',"
    " last_seen INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE gpus(id TEXT PRIMARY KEY, node TEXT NOT NULL REFERENCES nodes(name),"
    " idx INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, model TEXT NOT NULL,"
    " pool TEXT NOT NULL CHECK(pool IN ('general','dedicated')), healthy INTEGER NOT NULL,"
    " drained INTEGER NOT NULL DEFAULT 0, UNIQUE(node, idx));"
    "CREATE TABLE prices(model TEXT PRIMARY KEY, gpu_hour INTEGER NOT NULL,"
    " mig_slice_hour INTEGER NOT NULL, pool_gpu_hour INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE requests(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX requests_org ON requests(org_id, id);"
    "CREATE INDEX requests_state ON requests(state);"
    "CREATE TABLE quotes(id TEXT PRIMARY KEY,"
    " request_id TEXT NOT NULL REFERENCES requests(id), valid_until INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX quotes_request ON quotes(request_id);"
    "CREATE TABLE reservations(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " state TEXT NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,"
    " doc TEXT NOT NULL, CHECK(start_at < end_at));"
    "CREATE INDEX reservations_org ON reservations(org_id, id);"
    "CREATE INDEX reservations_due ON reservations(state, start_at, end_at);"
    "CREATE TABLE holds(id INTEGER PRIMARY KEY, gpu_id TEXT NOT NULL REFERENCES gpus(id),"
    " owner TEXT NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('gpu','mig')),"
    " profile TEXT NOT NULL DEFAULT '', start_unit INTEGER NOT NULL DEFAULT -1,"
    " mask INTEGER NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0, CHECK(t0 < t1));"
    "CREATE INDEX holds_gpu ON holds(gpu_id, t1);"
    "CREATE INDEX holds_time ON holds(t1, t0);"
    "CREATE INDEX holds_owner ON holds(owner);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL, data TEXT NOT NULL);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE idempotency(key TEXT NOT NULL, caller TEXT NOT NULL,"
    " body_hash BLOB NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(key, caller));",
    /* 2: builds before it stored a new user's bearer token in clear in the idempotency record
     * of POST /v1/users; the token goes (the replay withholds it, as after a restart now), and
     * secure_delete zeroes the bytes the rewritten rows leave behind */
    "PRAGMA secure_delete=ON;"
    "UPDATE idempotency SET response = json_set(response, '$.token', NULL,"
    " '$.withheld', json('[\"token\"]'))"
    " WHERE json_valid(response) AND json_type(response, '$.token') = 'text';"
    "PRAGMA secure_delete=OFF;",
    /* 3: GPUs are their uuids (the index is an attribute: no UNIQUE(node, idx), which needs
     * the table rebuilt; holds reference it, so their foreign keys are checked at commit),
     * the model a GPU is sold as beside the one its node reports, whether its node still
     * reports it, and whether a node is online (the clock marks silent nodes offline). */
    "PRAGMA defer_foreign_keys = ON;"
    "CREATE TEMP TABLE gpus_v1 AS SELECT * FROM gpus;"
    "DROP TABLE gpus;"
    "CREATE TABLE gpus(id TEXT PRIMARY KEY, node TEXT NOT NULL REFERENCES nodes(name),"
    " idx INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, model TEXT NOT NULL,"
    " reported_model TEXT NOT NULL,"
    " pool TEXT NOT NULL CHECK(pool IN ('general','dedicated')), healthy INTEGER NOT NULL,"
    " drained INTEGER NOT NULL DEFAULT 0, present INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO gpus SELECT id, node, idx, uuid, model, model, pool, healthy, drained, 1"
    " FROM gpus_v1;"
    "DROP TABLE gpus_v1;"
    "CREATE INDEX gpus_node ON gpus(node, idx);"
    "ALTER TABLE nodes ADD COLUMN online INTEGER NOT NULL DEFAULT 1;"
    "CREATE INDEX nodes_online ON nodes(online, last_seen);",
    /* 4: money (docs/billing.md; the rules are core's, the tables record what core decided).
     * Every amount is an INTEGER of micro-units. Core names orgs, reservations, contracts,
     * invoices and pool sessions by integers, so every org gets a ledger number (a trigger on
     * orgs, the existing ones here) and a reservation one when its billing state is written.
     * Contract versions are columns, not a JSON document: each term is a value the database
     * checks (money >= 0, basis points, the known names) and that PostgreSQL can hold as is;
     * the frozen rates and a reservation's frozen price lines are child rows. What is agreed
     * or has happened (price versions, contract versions and rates, frozen lines, transfers,
     * invoice lines) is append-only: triggers refuse UPDATE and DELETE, as for events. The
     * cached balances are kept by a trigger on transfers, which also refuses a debit that
     * takes an org's cash below minus the credit limit the transfer was made under. The old
     * price list becomes version 1 of each model. */
    "CREATE TABLE ledger_orgs(num INTEGER PRIMARY KEY AUTOINCREMENT,"
    " org_id TEXT NOT NULL UNIQUE REFERENCES orgs(id));"
    "INSERT INTO ledger_orgs(org_id) SELECT id FROM orgs ORDER BY created_at, id;"
    "CREATE TRIGGER orgs_ledger_num AFTER INSERT ON orgs"
    " BEGIN INSERT INTO ledger_orgs(org_id) VALUES(NEW.id); END;"
    "CREATE TRIGGER ledger_orgs_no_update BEFORE UPDATE ON ledger_orgs"
    " BEGIN SELECT RAISE(ABORT, 'ledger numbers are fixed'); END;"
    "CREATE TRIGGER ledger_orgs_no_delete BEFORE DELETE ON ledger_orgs"
    " BEGIN SELECT RAISE(ABORT, 'ledger numbers are fixed'); END;"
    /* price versions */
    "CREATE TABLE price_versions(model TEXT NOT NULL, version INTEGER NOT NULL CHECK(version >= 1),"
    " valid_from INTEGER NOT NULL,"
    " gpu_hour INTEGER NOT NULL CHECK(typeof(gpu_hour) = 'integer' AND gpu_hour >= 0),"
    " mig_slice_hour INTEGER NOT NULL"
    " CHECK(typeof(mig_slice_hour) = 'integer' AND mig_slice_hour >= 0),"
    " pool_gpu_hour INTEGER NOT NULL"
    " CHECK(typeof(pool_gpu_hour) = 'integer' AND pool_gpu_hour >= 0),"
    " created_at INTEGER NOT NULL, created_by TEXT, PRIMARY KEY(model, version));"
    "INSERT INTO price_versions SELECT model, 1, updated_at, gpu_hour, mig_slice_hour,"
    " pool_gpu_hour, updated_at, NULL FROM prices;"
    "DROP TABLE prices;"
    "CREATE TRIGGER price_versions_no_update BEFORE UPDATE ON price_versions"
    " BEGIN SELECT RAISE(ABORT, 'price versions are append-only'); END;"
    "CREATE TRIGGER price_versions_no_delete BEFORE DELETE ON price_versions"
    " BEGIN SELECT RAISE(ABORT, 'price versions are append-only'); END;"
    /* contracts: the head (org, end) and its versions */
    "CREATE TABLE contracts(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " org INTEGER NOT NULL REFERENCES ledger_orgs(num), created_at INTEGER NOT NULL,"
    " created_by TEXT, ended_at INTEGER, ended_by TEXT);"
    "CREATE INDEX contracts_org ON contracts(org, id);"
    "CREATE TRIGGER contracts_fixed BEFORE UPDATE OF id, org, created_at, created_by ON contracts"
    " BEGIN SELECT RAISE(ABORT, 'a contract keeps its org'); END;"
    "CREATE TRIGGER contracts_end_once BEFORE UPDATE OF ended_at, ended_by ON contracts"
    " WHEN OLD.ended_at IS NOT NULL BEGIN SELECT RAISE(ABORT, 'contract ended already'); END;"
    "CREATE TRIGGER contracts_no_delete BEFORE DELETE ON contracts"
    " BEGIN SELECT RAISE(ABORT, 'contracts are kept'); END;"
    "CREATE TABLE contract_versions(contract_id INTEGER NOT NULL REFERENCES contracts(id),"
    " version INTEGER NOT NULL CHECK(version >= 1),"
    " terms TEXT NOT NULL CHECK(terms IN ('prepaid','balance','invoiced')),"
    " valid_from INTEGER NOT NULL, valid_to INTEGER NOT NULL,"
    " granularity TEXT NOT NULL CHECK(granularity IN ('second','minute','hour')),"
    " min_hours INTEGER NOT NULL CHECK(CASE granularity WHEN 'hour'"
    " THEN min_hours BETWEEN 1 AND 8784 ELSE min_hours = 0 END),"
    " draw_period INTEGER NOT NULL CHECK(draw_period IN (3600, 86400)),"
    " discount_bps INTEGER NOT NULL CHECK(discount_bps BETWEEN 0 AND 10000),"
    " cancel_fee INTEGER NOT NULL CHECK(typeof(cancel_fee) = 'integer' AND cancel_fee >= 0),"
    " cancel_fee_bps INTEGER NOT NULL CHECK(cancel_fee_bps BETWEEN 0 AND 10000),"
    " admin_may_cancel_active INTEGER NOT NULL CHECK(admin_may_cancel_active IN (0,1)),"
    " self_service INTEGER NOT NULL CHECK(self_service IN (0,1)),"
    " payg_after_window INTEGER NOT NULL CHECK(payg_after_window IN (0,1)),"
    /* limits: NULL = not set (AL_LIMIT_NONE); the credit limit only under invoiced terms */
    " credit_limit INTEGER CHECK(CASE WHEN credit_limit IS NULL THEN terms = 'invoiced'"
    " ELSE credit_limit >= 0 END),"
    " max_gpus INTEGER CHECK(max_gpus >= 0), max_length_s INTEGER CHECK(max_length_s >= 0),"
    " max_ahead INTEGER CHECK(max_ahead >= 0), month_cap INTEGER CHECK(month_cap >= 0),"
    " created_at INTEGER NOT NULL, created_by TEXT,"
    " PRIMARY KEY(contract_id, version), CHECK(valid_from < valid_to));"
    "CREATE TABLE contract_rates(contract_id INTEGER NOT NULL, version INTEGER NOT NULL,"
    " idx INTEGER NOT NULL CHECK(idx BETWEEN 0 AND 15), model TEXT NOT NULL,"
    " gpu_hour INTEGER NOT NULL CHECK(typeof(gpu_hour) = 'integer' AND gpu_hour >= 0),"
    " mig_slice_hour INTEGER NOT NULL"
    " CHECK(typeof(mig_slice_hour) = 'integer' AND mig_slice_hour >= 0),"
    " pool_gpu_hour INTEGER NOT NULL"
    " CHECK(typeof(pool_gpu_hour) = 'integer' AND pool_gpu_hour >= 0),"
    " PRIMARY KEY(contract_id, version, idx), UNIQUE(contract_id, version, model),"
    " FOREIGN KEY(contract_id, version) REFERENCES contract_versions(contract_id, version));"
    "CREATE TRIGGER contract_versions_no_update BEFORE UPDATE ON contract_versions"
    " BEGIN SELECT RAISE(ABORT, 'contract versions are append-only'); END;"
    "CREATE TRIGGER contract_versions_no_delete BEFORE DELETE ON contract_versions"
    " BEGIN SELECT RAISE(ABORT, 'contract versions are append-only'); END;"
    "CREATE TRIGGER contract_rates_no_update BEFORE UPDATE ON contract_rates"
    " BEGIN SELECT RAISE(ABORT, 'contract versions are append-only'); END;"
    "CREATE TRIGGER contract_rates_no_delete BEFORE DELETE ON contract_rates"
    " BEGIN SELECT RAISE(ABORT, 'contract versions are append-only'); END;"
    /* a confirmed reservation's billing state (core's al_res_billing) */
    "CREATE TABLE reservation_billing(num INTEGER PRIMARY KEY AUTOINCREMENT,"
    " reservation_id TEXT NOT NULL UNIQUE REFERENCES reservations(id),"
    " org INTEGER NOT NULL REFERENCES ledger_orgs(num),"
    " contract_id INTEGER NOT NULL, contract_version INTEGER NOT NULL,"
    " start_at INTEGER NOT NULL, end_at INTEGER NOT NULL, rev INTEGER NOT NULL CHECK(rev >= 0),"
    " drawn INTEGER NOT NULL CHECK(drawn >= 0),"
    " fees INTEGER NOT NULL CHECK(typeof(fees) = 'integer' AND fees >= 0),"
    " cancelled INTEGER NOT NULL CHECK(cancelled IN (0,1)), share INTEGER NOT NULL CHECK(share >= "
    "0),"
    " CHECK(start_at <= end_at),"
    " FOREIGN KEY(contract_id, contract_version) REFERENCES contract_versions(contract_id, "
    "version));"
    "CREATE INDEX reservation_billing_org ON reservation_billing(org, num);"
    "CREATE TABLE reservation_lines(num INTEGER NOT NULL REFERENCES reservation_billing(num),"
    " idx INTEGER NOT NULL CHECK(idx BETWEEN 0 AND 3), what TEXT NOT NULL,"
    " unit TEXT NOT NULL CHECK(unit IN ('gpu_hour','slice_hour')),"
    " units INTEGER NOT NULL CHECK(units >= 1),"
    " unit_price INTEGER NOT NULL CHECK(typeof(unit_price) = 'integer' AND unit_price >= 0),"
    " PRIMARY KEY(num, idx));"
    "CREATE TRIGGER reservation_billing_org BEFORE INSERT ON reservation_billing"
    " WHEN NEW.org IS NOT (SELECT org FROM contracts WHERE id = NEW.contract_id)"
    " BEGIN SELECT RAISE(ABORT, 'the contract is another org''s'); END;"
    "CREATE TRIGGER reservation_billing_frozen BEFORE UPDATE OF num, reservation_id, org,"
    " contract_id, contract_version, start_at, share ON reservation_billing"
    " BEGIN SELECT RAISE(ABORT, 'a reservation''s contract, start and share are frozen'); END;"
    "CREATE TRIGGER reservation_billing_forward BEFORE UPDATE ON reservation_billing"
    " WHEN NEW.rev < OLD.rev OR NEW.drawn < OLD.drawn OR NEW.fees < OLD.fees"
    " OR NEW.cancelled < OLD.cancelled"
    " BEGIN SELECT RAISE(ABORT, 'rev, drawn, fees and cancelled never go back'); END;"
    "CREATE TRIGGER reservation_billing_no_delete BEFORE DELETE ON reservation_billing"
    " BEGIN SELECT RAISE(ABORT, 'billing states are kept'); END;"
    "CREATE TRIGGER reservation_lines_no_update BEFORE UPDATE ON reservation_lines"
    " BEGIN SELECT RAISE(ABORT, 'price lines are frozen'); END;"
    "CREATE TRIGGER reservation_lines_no_delete BEFORE DELETE ON reservation_lines"
    " BEGIN SELECT RAISE(ABORT, 'price lines are frozen'); END;"
    /* the ledger: transfers (ledger.h's pairs as a CHECK) and the cached balances */
    "CREATE TABLE transfers(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
    " debit TEXT NOT NULL, credit TEXT NOT NULL, org INTEGER NOT NULL REFERENCES ledger_orgs(num),"
    " amount INTEGER NOT NULL CHECK(typeof(amount) = 'integer' AND amount > 0),"
    " at INTEGER NOT NULL,"
    " ref_kind TEXT NOT NULL CHECK(ref_kind IN ('none','reservation','pool','invoice','operator')),"
    " ref_id INTEGER NOT NULL CHECK(ref_id >= 0), ref_sub INTEGER NOT NULL,"
    " key TEXT NOT NULL UNIQUE CHECK(length(key) BETWEEN 1 AND 95),"
    " credit_limit INTEGER CHECK(CASE WHEN debit = 'org_cash'"
    " THEN credit_limit IS NOT NULL AND credit_limit >= 0 ELSE credit_limit IS NULL END),"
    " created_at INTEGER NOT NULL,"
    " CHECK(kind = 'topup' AND debit = 'external' AND credit = 'org_cash'"
    " OR kind IN ('reservation_charge','usage') AND debit IN ('org_cash','org_accrued')"
    " AND credit = 'revenue'"
    " OR kind = 'refund' AND debit = 'refunds' AND credit IN ('org_cash','org_accrued')"
    " OR kind = 'adjustment' AND (debit IN ('org_cash','org_accrued') AND credit = 'revenue'"
    " OR debit = 'revenue' AND credit IN ('org_cash','org_accrued'))"
    " OR kind = 'invoice_issued' AND (debit = 'org_receivable' AND credit = 'org_accrued'"
    " OR debit = 'org_accrued' AND credit = 'org_receivable')"
    " OR kind = 'invoice_paid' AND (debit = 'external' AND credit = 'org_receivable'"
    " OR debit = 'org_receivable' AND credit = 'external')));"
    "CREATE INDEX transfers_org ON transfers(org, id);"
    "CREATE INDEX transfers_ref ON transfers(ref_kind, ref_id);"
    "CREATE TABLE balances(account TEXT NOT NULL, org INTEGER NOT NULL,"
    " balance INTEGER NOT NULL CHECK(typeof(balance) = 'integer'), updated_at INTEGER NOT NULL,"
    " CHECK(CASE WHEN account IN ('org_cash','org_accrued','org_receivable') THEN org > 0"
    " ELSE account IN ('revenue','refunds','external') AND org = 0 END),"
    " PRIMARY KEY(account, org));"
    "CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers"
    " BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;"
    "CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers"
    " BEGIN SELECT RAISE(ABORT, 'transfers are append-only'); END;"
    "CREATE TRIGGER transfers_post AFTER INSERT ON transfers BEGIN"
    " INSERT INTO balances VALUES(NEW.debit,"
    " CASE WHEN NEW.debit IN ('org_cash','org_accrued','org_receivable') THEN NEW.org"
    " ELSE 0 END,"
    " -NEW.amount, NEW.created_at)"
    " ON CONFLICT(account, org) DO UPDATE SET balance = balance - NEW.amount,"
    " updated_at = NEW.created_at;"
    " INSERT INTO balances VALUES(NEW.credit,"
    " CASE WHEN NEW.credit IN ('org_cash','org_accrued','org_receivable') THEN NEW.org"
    " ELSE 0 END,"
    " NEW.amount, NEW.created_at)"
    " ON CONFLICT(account, org) DO UPDATE SET balance = balance + NEW.amount,"
    " updated_at = NEW.created_at;"
    " SELECT RAISE(ABORT, 'org cash below minus its credit limit') WHERE NEW.debit = 'org_cash'"
    " AND (SELECT balance FROM balances WHERE account = 'org_cash' AND org = NEW.org)"
    " < -NEW.credit_limit;"
    " END;"
    "CREATE TRIGGER balances_no_delete BEFORE DELETE ON balances"
    " BEGIN SELECT RAISE(ABORT, 'balances are kept'); END;"
    /* invoices: frozen when written; issued and paid once each */
    "CREATE TABLE invoices(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " org INTEGER NOT NULL REFERENCES ledger_orgs(num),"
    " payer TEXT NOT NULL CHECK(payer IN ('org_cash','org_accrued')),"
    " period_from INTEGER NOT NULL, period_to INTEGER NOT NULL, minor INTEGER NOT NULL CHECK(minor "
    "> 0),"
    " exact INTEGER NOT NULL, total INTEGER NOT NULL, rounding INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, issued_at INTEGER, paid_at INTEGER,"
    " CHECK(period_from < period_to), CHECK(rounding = total - exact),"
    " CHECK(paid_at IS NULL OR issued_at IS NOT NULL AND payer = 'org_accrued'),"
    " UNIQUE(org, payer, period_from));"
    "CREATE TABLE invoice_lines(invoice_id INTEGER NOT NULL REFERENCES invoices(id),"
    " idx INTEGER NOT NULL CHECK(idx >= 0),"
    " kind TEXT NOT NULL CHECK(kind IN ('reservation','draw','pool','refund','adjustment')),"
    " ref_kind TEXT NOT NULL CHECK(ref_kind IN ('none','reservation','pool','invoice','operator')),"
    " ref_id INTEGER NOT NULL CHECK(ref_id >= 0), ref_sub INTEGER NOT NULL,"
    " ntransfers INTEGER NOT NULL CHECK(ntransfers >= 0), exact INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, PRIMARY KEY(invoice_id, idx));"
    "CREATE TRIGGER invoices_frozen BEFORE UPDATE OF id, org, payer, period_from, period_to, minor,"
    " exact, total, rounding, created_at ON invoices"
    " BEGIN SELECT RAISE(ABORT, 'an invoice is frozen once written'); END;"
    "CREATE TRIGGER invoices_once BEFORE UPDATE OF issued_at, paid_at ON invoices"
    " WHEN OLD.issued_at IS NOT NEW.issued_at AND OLD.issued_at IS NOT NULL"
    " OR OLD.paid_at IS NOT NEW.paid_at AND OLD.paid_at IS NOT NULL"
    " BEGIN SELECT RAISE(ABORT, 'an invoice is issued and paid once'); END;"
    "CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices"
    " BEGIN SELECT RAISE(ABORT, 'invoices are kept'); END;"
    "CREATE TRIGGER invoice_lines_open BEFORE INSERT ON invoice_lines"
    " WHEN (SELECT issued_at FROM invoices WHERE id = NEW.invoice_id) IS NOT NULL"
    " BEGIN SELECT RAISE(ABORT, 'the invoice is issued'); END;"
    "CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines"
    " BEGIN SELECT RAISE(ABORT, 'invoice lines are append-only'); END;"
    "CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines"
    " BEGIN SELECT RAISE(ABORT, 'invoice lines are append-only'); END;"
    /* pay-as-you-go pool sessions, metered from started_at up to charged_through */
    "CREATE TABLE pool_usage(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " org INTEGER NOT NULL REFERENCES ledger_orgs(num), user_id TEXT REFERENCES users(id),"
    " gpu TEXT NOT NULL, share INTEGER NOT NULL CHECK(share > 0),"
    " rate INTEGER NOT NULL CHECK(typeof(rate) = 'integer' AND rate >= 0),"
    " contract_id INTEGER NOT NULL, contract_version INTEGER NOT NULL,"
    " started_at INTEGER NOT NULL, stopped_at INTEGER, charged_through INTEGER NOT NULL,"
    " CHECK(charged_through >= started_at),"
    " CHECK(stopped_at IS NULL OR stopped_at >= started_at AND charged_through <= stopped_at),"
    " FOREIGN KEY(contract_id, contract_version) REFERENCES contract_versions(contract_id, "
    "version));"
    "CREATE INDEX pool_usage_open ON pool_usage(org, id) WHERE stopped_at IS NULL;"
    "CREATE TRIGGER pool_usage_org BEFORE INSERT ON pool_usage"
    " WHEN NEW.org IS NOT (SELECT org FROM contracts WHERE id = NEW.contract_id)"
    " BEGIN SELECT RAISE(ABORT, 'the contract is another org''s'); END;"
    "CREATE TRIGGER pool_usage_fixed BEFORE UPDATE OF id, org, user_id, gpu, share, rate,"
    " contract_id, contract_version, started_at ON pool_usage"
    " BEGIN SELECT RAISE(ABORT, 'a pool session''s terms are fixed'); END;"
    "CREATE TRIGGER pool_usage_forward BEFORE UPDATE ON pool_usage"
    " WHEN NEW.charged_through < OLD.charged_through"
    " OR OLD.stopped_at IS NOT NULL AND OLD.stopped_at IS NOT NEW.stopped_at"
    " BEGIN SELECT RAISE(ABORT, 'metering only goes forward; a session stops once'); END;"
    "CREATE TRIGGER pool_usage_no_delete BEFORE DELETE ON pool_usage"
    " BEGIN SELECT RAISE(ABORT, 'pool sessions are kept'); END;",
    /* 5: the clock's draw pass (server/draws.c) finds the reservations with a draw due by an
     * index, not a scan: next_draw_at = p(drawn), the start of the next period to draw, while
     * that period begins before the end under balance or invoiced terms, else NULL; triggers
     * keep it in step with whatever writes end_at or drawn. clock_marks records how far a pass
     * of the clock has got, for ledger verify's `now`. */
    "ALTER TABLE reservation_billing ADD COLUMN next_draw_at INTEGER;"
    "CREATE INDEX reservation_billing_draw ON reservation_billing(next_draw_at, num)"
    " WHERE next_draw_at IS NOT NULL;"
    "CREATE TRIGGER reservation_billing_draw_ins AFTER INSERT ON reservation_billing BEGIN"
    " UPDATE reservation_billing SET next_draw_at = (" NEXT_DRAW_SQL ") WHERE num = NEW.num;"
    " END;"
    "CREATE TRIGGER reservation_billing_draw_upd AFTER UPDATE OF end_at, drawn"
    " ON reservation_billing BEGIN"
    " UPDATE reservation_billing SET next_draw_at = (" NEXT_DRAW_SQL ") WHERE num = NEW.num;"
    " END;"
    "UPDATE reservation_billing SET next_draw_at = (SELECT CASE WHEN v.terms IN"
    " ('balance','invoiced') AND start_at + drawn * v.draw_period < end_at"
    " THEN start_at + drawn * v.draw_period END FROM contract_versions v"
    " WHERE v.contract_id = reservation_billing.contract_id"
    " AND v.version = reservation_billing.contract_version);"
    "CREATE TABLE clock_marks(name TEXT PRIMARY KEY, at INTEGER NOT NULL);",
    /* 6: node-bound agent tokens (POST /v1/nodes/{name}/token): at most one per node, which
     * need not have reported yet (no reference to nodes); the token only as its hash. */
    "CREATE TABLE node_tokens(node TEXT PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, token_hash BLOB NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL);",
    /* 7: MIG changes (docs/migchange.md). gpus.observed is what the node's agent last reported
     * of a GPU's MIG state (mode, instances with UUIDs, processes: JSON; NULL when its agent
     * reports none, as the simulated fleet file does), gpus.desired the layout allot last put
     * there (JSON {mig, instances}; the agent recreates it after a reboot). A change is a
     * document with its state, GPU and window in columns; at most one is open (planned,
     * approved, applying) per GPU. GPU ids are not references: a GPU row may go while its
     * changes stay in the record. mig_change_links names the reservations a change serves or
     * whose instances it touches, and their orgs, for the list's filters and the acks. */
    "ALTER TABLE gpus ADD COLUMN observed TEXT;"
    "ALTER TABLE gpus ADD COLUMN observed_at INTEGER;"
    "ALTER TABLE gpus ADD COLUMN desired TEXT;"
    "CREATE TABLE change_windows(scope TEXT PRIMARY KEY"
    " CHECK(scope = 'default' OR scope GLOB 'zone:?*' OR scope GLOB 'node:?*'),"
    " windows TEXT NOT NULL, auto_apply INTEGER NOT NULL CHECK(auto_apply IN (0,1)),"
    " updated_at INTEGER NOT NULL, updated_by TEXT NOT NULL);"
    "CREATE TABLE mig_changes(id TEXT PRIMARY KEY, gpu_id TEXT NOT NULL, node TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN"
    " ('planned','approved','applying','applied','failed','superseded')),"
    " run_after INTEGER NOT NULL, run_before INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, doc TEXT NOT NULL);"
    "CREATE UNIQUE INDEX mig_changes_open ON mig_changes(gpu_id)"
    " WHERE state IN ('planned','approved','applying');"
    "CREATE INDEX mig_changes_node ON mig_changes(node, state);"
    "CREATE INDEX mig_changes_state ON mig_changes(state, run_after);"
    "CREATE TRIGGER mig_changes_no_delete BEFORE DELETE ON mig_changes"
    " BEGIN SELECT RAISE(ABORT, 'MIG changes are kept'); END;"
    "CREATE TRIGGER mig_changes_final BEFORE UPDATE ON mig_changes"
    " WHEN OLD.state IN ('applied','failed','superseded')"
    " BEGIN SELECT RAISE(ABORT, 'a MIG change that ended is kept as it ended'); END;"
    "CREATE TABLE mig_change_links(change_id TEXT NOT NULL REFERENCES mig_changes(id),"
    " reservation_id TEXT NOT NULL, org_id TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK(role IN ('serves','holds')),"
    " PRIMARY KEY(change_id, reservation_id));"
    "CREATE INDEX mig_change_links_rsv ON mig_change_links(reservation_id);"
    "CREATE INDEX mig_change_links_org ON mig_change_links(org_id, change_id);"
    "CREATE TABLE mig_change_acks(change_id TEXT NOT NULL REFERENCES mig_changes(id),"
    " org_id TEXT NOT NULL REFERENCES orgs(id), by_user TEXT NOT NULL, at INTEGER NOT NULL,"
    " job_shutdown INTEGER NOT NULL CHECK(job_shutdown IN (0,1)),"
    " data_backup INTEGER NOT NULL CHECK(data_backup IN (0,1)),"
    " PRIMARY KEY(change_id, org_id));",
    /* 8: the GPUs whose agent reports MIG state, which the clock's MIG passes read each tick
     * (al_store_gpu_managed): a partial index, so that a fleet without them costs nothing. */
    "CREATE INDEX gpus_managed ON gpus(node, idx) WHERE observed IS NOT NULL;",
    /* 9: containers (docs/containers.md). A container is a document (the API's shape, logs
     * aside) with its org, creator, target and state in columns; `live` is 1 until it ended
     * (exited, stopped, failed) and indexes the clock's and the agents' reads. Its logs' tail,
     * as its agent last sent it, sits beside the document. Containers are kept once ended.
     * node_runtimes: what each node's agent last said of its container runtime.
     * unit_assignments: which member an org admin gave a reservation's GPU or MIG instance
     * (the allocation's index) to; none: any member of the org may use it. */
    "CREATE TABLE containers(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " user_id TEXT NOT NULL, reservation_id TEXT, unit INTEGER NOT NULL DEFAULT -1,"
    " node TEXT NOT NULL, gpu_id TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN"
    " ('pending','running','stopping','exited','stopped','failed')),"
    " live INTEGER NOT NULL CHECK(live IN (0,1)),"
    " pool_session INTEGER,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, doc TEXT NOT NULL,"
    " logs BLOB, logs_at INTEGER);"
    "CREATE INDEX containers_org ON containers(org_id, created_at, id);"
    "CREATE INDEX containers_rsv ON containers(reservation_id) WHERE reservation_id IS NOT NULL;"
    "CREATE INDEX containers_live ON containers(node, gpu_id) WHERE live = 1;"
    "CREATE TRIGGER containers_no_delete BEFORE DELETE ON containers"
    " BEGIN SELECT RAISE(ABORT, 'containers are kept'); END;"
    "CREATE TRIGGER containers_final BEFORE UPDATE OF state, live, doc ON containers"
    " WHEN OLD.live = 0"
    " BEGIN SELECT RAISE(ABORT, 'a container that ended is kept as it ended'); END;"
    "CREATE TABLE node_runtimes(node TEXT PRIMARY KEY, kind TEXT NOT NULL,"
    " ok INTEGER NOT NULL CHECK(ok IN (0,1)), error TEXT, at INTEGER NOT NULL);"
    "CREATE TABLE unit_assignments(reservation_id TEXT NOT NULL, unit INTEGER NOT NULL"
    " CHECK(unit >= 0), user_id TEXT NOT NULL REFERENCES users(id),"
    " at INTEGER NOT NULL, by_user TEXT NOT NULL, PRIMARY KEY(reservation_id, unit));",
    /* 10: whose each event is (GET /v1/events for an org's users, webhooks by org): one row per
     * org an event concerns, append-only as the events are; none for the fleet's and the
     * operators' own. The events before it are given the org their data names (most kinds
     * carry one) and org.created its object. notices: the reservation.starting/ending notices
     * given, so that each is appended once per reservation across restarts. */
    "CREATE TABLE event_orgs(org TEXT NOT NULL, seq INTEGER NOT NULL REFERENCES events(seq),"
    " PRIMARY KEY(org, seq)) WITHOUT ROWID;"
    "CREATE INDEX event_orgs_seq ON event_orgs(seq);"
    "CREATE TRIGGER event_orgs_no_update BEFORE UPDATE ON event_orgs"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER event_orgs_no_delete BEFORE DELETE ON event_orgs"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "INSERT OR IGNORE INTO event_orgs(org, seq)"
    " SELECT json_extract(data, '$.org'), seq FROM events"
    " WHERE json_valid(data) AND json_type(data, '$.org') = 'text';"
    "INSERT OR IGNORE INTO event_orgs(org, seq)"
    " SELECT object, seq FROM events WHERE kind = 'org.created';"
    "CREATE TABLE notices(object TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY(object, kind)) WITHOUT ROWID;",
    /* 11: webhooks (docs/webhooks.md). A hook's signing secret is only sealed (server/whkey.h): the
     * database alone cannot sign. A removed hook is kept (deleted_at) for its delivery log.
     * failures counts consecutive failed attempts since failing_since; a success clears both.
     * A delivery is one event (event_seq; NULL for a test ping) to one hook, its body fixed at
     * creation so that every attempt sends the same bytes; webhook_attempts logs each attempt.
     * webhook_cursor: the last event the dispatcher has fanned out (durable, so that a restart
     * neither skips nor repeats events). */
    "CREATE TABLE webhooks(id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " org_id TEXT REFERENCES orgs(id), url TEXT NOT NULL, events TEXT NOT NULL,"
    " description TEXT, secret_box TEXT NOT NULL,"
    " active INTEGER NOT NULL CHECK(active IN (0,1)), created_at INTEGER NOT NULL,"
    " failures INTEGER NOT NULL DEFAULT 0, failing_since INTEGER, disabled_at INTEGER,"
    " deleted_at INTEGER);"
    "CREATE INDEX webhooks_org ON webhooks(org_id, id);"
    "CREATE TABLE webhook_deliveries(num INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    " webhook_id TEXT NOT NULL REFERENCES webhooks(id), event_seq INTEGER,"
    " kind TEXT NOT NULL, payload TEXT NOT NULL, attempt INTEGER NOT NULL DEFAULT 0,"
    " status TEXT NOT NULL CHECK(status IN ('pending','delivered','failed','retrying')),"
    " http_status INTEGER, error TEXT, next_at INTEGER, created_at INTEGER NOT NULL,"
    " delivered_at INTEGER);"
    "CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, num);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at)"
    " WHERE status IN ('pending','retrying');"
    "CREATE TABLE webhook_attempts(delivery_num INTEGER NOT NULL"
    " REFERENCES webhook_deliveries(num), attempt INTEGER NOT NULL, at INTEGER NOT NULL,"
    " http_status INTEGER, error TEXT, PRIMARY KEY(delivery_num, attempt)) WITHOUT ROWID;"
    "CREATE TABLE webhook_cursor(one INTEGER PRIMARY KEY CHECK(one = 1),"
    " seq INTEGER NOT NULL);"
    "INSERT INTO webhook_cursor SELECT 1, coalesce(max(seq), 0) FROM events;",
    /* 12: nothing on SQLite, where one server is the only writer: the change feed and the
     * event positions are PostgreSQL's (pg_migrations[0]) */
    "-- 12: PostgreSQL only",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == AL_STORE_SCHEMA_VER,
               "AL_STORE_SCHEMA_VER must count the migrations");

/* The version pg_schema.sql creates: no PostgreSQL database ever held an older schema. */
#define PG_BASE_VER 11

/* 12 on PostgreSQL: what several replicas on one database need (docs/postgres.md, "Several
 * replicas"; store_replica.c). The change feed: `changes`, a row per GPU or node changed,
 * written by triggers on holds (every write), gpus and nodes (the columns the in-memory fleet
 * keeps: not a heartbeat's last_seen), each with its writer's transaction id, read by each
 * replica below the snapshot horizon. Event positions: events.pos, given at commit in commit
 * order (al_store_events_seal), set once from NULL (the append-only trigger allows only
 * that), the existing events' positions their seqs. */
static const char pg_migration_12[] =
    "CREATE TABLE changes(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "    xid bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,\n"
    "    at bigint NOT NULL DEFAULT extract(epoch FROM clock_timestamp())::bigint,\n"
    "    gpu_id text, node text);\n"
    "CREATE INDEX changes_xid ON changes(xid);\n"
    "CREATE INDEX changes_at ON changes(at);\n"
    "CREATE FUNCTION al_changed() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "BEGIN\n"
    "    IF TG_TABLE_NAME = 'holds' THEN\n"
    "        IF TG_OP <> 'INSERT' THEN\n"
    "            INSERT INTO changes(gpu_id) VALUES (OLD.gpu_id);\n"
    "        END IF;\n"
    "        IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' AND NEW.gpu_id <> OLD.gpu_id THEN\n"
    "            INSERT INTO changes(gpu_id) VALUES (NEW.gpu_id);\n"
    "        END IF;\n"
    "    ELSIF TG_TABLE_NAME = 'gpus' THEN\n"
    "        IF TG_OP = 'DELETE' THEN\n"
    "            INSERT INTO changes(gpu_id, node) VALUES (OLD.id, OLD.node);\n"
    "        ELSE\n"
    "            INSERT INTO changes(gpu_id, node) VALUES (NEW.id, NEW.node);\n"
    "        END IF;\n"
    "    ELSIF TG_OP = 'DELETE' THEN\n"
    "        INSERT INTO changes(node) VALUES (OLD.name);\n"
    "    ELSE\n"
    "        INSERT INTO changes(node) VALUES (NEW.name);\n"
    "    END IF;\n"
    "    RETURN NULL;\n"
    "END $$;\n"
    "CREATE TRIGGER holds_changes AFTER INSERT OR UPDATE OR DELETE ON holds\n"
    "    FOR EACH ROW EXECUTE FUNCTION al_changed();\n"
    "CREATE TRIGGER gpus_changes AFTER INSERT OR DELETE ON gpus\n"
    "    FOR EACH ROW EXECUTE FUNCTION al_changed();\n"
    "CREATE TRIGGER gpus_changes_upd AFTER UPDATE ON gpus FOR EACH ROW\n"
    "    WHEN ((OLD.node, OLD.idx, OLD.uuid, OLD.model, OLD.reported_model, OLD.pool, "
    "OLD.healthy,\n"
    "           OLD.drained, OLD.present)\n"
    "          IS DISTINCT FROM (NEW.node, NEW.idx, NEW.uuid, NEW.model, NEW.reported_model,\n"
    "           NEW.pool, NEW.healthy, NEW.drained, NEW.present))\n"
    "    EXECUTE FUNCTION al_changed();\n"
    "CREATE TRIGGER nodes_changes AFTER INSERT OR DELETE ON nodes\n"
    "    FOR EACH ROW EXECUTE FUNCTION al_changed();\n"
    "CREATE TRIGGER nodes_changes_upd AFTER UPDATE ON nodes FOR EACH ROW\n"
    "    WHEN ((OLD.zone, OLD.labels, OLD.online) IS DISTINCT FROM (NEW.zone, NEW.labels, "
    "NEW.online))\n"
    "    EXECUTE FUNCTION al_changed();\n"
    "DROP TRIGGER events_no_update ON events;\n"
    "ALTER TABLE events ADD COLUMN pos bigint;\n"
    "UPDATE events SET pos = seq;\n"
    "CREATE UNIQUE INDEX events_pos ON events(pos);\n"
    "CREATE INDEX events_unplaced ON events(seq) WHERE pos IS NULL;\n"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW\n"
    "    WHEN (OLD.pos IS NOT NULL OR NEW.pos IS NULL\n"
    "          OR (NEW.seq, NEW.at, NEW.actor, NEW.kind, NEW.object, NEW.data)\n"
    "          IS DISTINCT FROM (OLD.seq, OLD.at, OLD.actor, OLD.kind, OLD.object, OLD.data))\n"
    "    EXECUTE FUNCTION al_refuse('events are append-only');";

/* The PostgreSQL text of the migrations after PG_BASE_VER, in order (pg_migrations[i] brings
 * version PG_BASE_VER + i to the next), each beside its SQLite text in migrations[]; NULL
 * ends the list. */
static const char *const pg_migrations[] = {pg_migration_12, NULL};

_Static_assert(sizeof pg_migrations / sizeof pg_migrations[0] ==
                   AL_STORE_SCHEMA_VER - PG_BASE_VER + 1,
               "every migration after 11 needs its PostgreSQL text");

#ifdef AL_DEBUG
static int fault_from_env(struct al_store *s, struct al_err *e);
#endif

int al_store_schema_version(struct al_store *s)
{
    struct al_db_stmt *st = NULL;
    int v = 0;
    if (al_db_prep(s, &st, NULL, "SELECT max(version) FROM schema_version", "") == 0 &&
        al_db_step(s, st) == AL_DB_ROW)
        v = al_db_int(st, 0);
    al_db_done(s, st);
    return v;
}

/* On PostgreSQL: apply pg_schema.sql to an empty database (one transaction); a database
 * with allot's schema is left as it is, and one with other tables is refused. */
static int pg_base(struct al_store *s, struct al_err *e)
{
    struct al_db_stmt *st = NULL;
    int rc = al_db_prep(s, &st, e,
                        "SELECT to_regclass('schema_version') IS NOT NULL, (SELECT count(*)"
                        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = current_schema())",
                        "");
    if (rc == 0)
        rc = al_db_row(s, st, e, "schema");
    if (rc)
        return rc;
    bool have = al_db_int64(st, 0) != 0;
    int64_t relations = al_db_int64(st, 1);
    al_db_done(s, st);
    if (have)
        return 0;
    if (relations > 0)
        return al_err_set(e, AL_E_CONFLICT,
                          "the database holds %lld tables or other relations but not allot's"
                          " schema: give allot an empty database",
                          (long long)relations);
    if ((rc = al_store_begin(s, e)) != 0)
        return rc;
    if ((rc = al_db_script(s, al_db_pg_schema, e)) != 0) {
        al_store_rollback(s);
        return rc;
    }
    return al_store_commit(s, e);
}

/* Apply the migrations after the database's version, up to `upto`. */
static int migrate(struct al_store *s, int upto, struct al_err *e)
{
    bool is_pg = al_db_kind(s) == AL_DB_PG;
    int rc = is_pg
                 ? pg_base(s, e)
                 : al_db_script(
                       s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", e);
    if (rc)
        return rc;
    int have = al_store_schema_version(s);
    if (have > AL_STORE_SCHEMA_VER)
        return al_err_set(e, AL_E_DB, "database schema %d is newer than this build (%d)", have,
                          AL_STORE_SCHEMA_VER);
    if (is_pg && (have < PG_BASE_VER || upto < PG_BASE_VER))
        return al_err_set(e, AL_E_INVAL, "PostgreSQL holds allot's schema from version %d on",
                          PG_BASE_VER);
    for (int v = have; v < upto; v++) {
        char bump[96];
        const char *sql = is_pg ? pg_migrations[v - PG_BASE_VER] : migrations[v];
        snprintf(bump, sizeof bump, "INSERT INTO schema_version VALUES(%d)", v + 1);
        if ((rc = al_store_begin(s, e)) != 0)
            return rc;
        if ((rc = al_db_script(s, sql, e)) != 0 || (rc = al_db_script(s, bump, e)) != 0) {
            al_store_rollback(s);
            return rc;
        }
        if ((rc = al_store_commit(s, e)) != 0)
            return rc;
    }
    return 0;
}

int al_store_open(const char *path, struct al_store **ret, struct al_err *reterr)
{
    return al_store_open_at(path, AL_STORE_SCHEMA_VER, ret, reterr);
}

int al_store_open_at(const char *path, int version, struct al_store **ret, struct al_err *reterr)
{
    struct al_store *s = NULL;
    *ret = NULL;
    int rc = al_db_open(path, &s, reterr);
    if (rc)
        return rc;
    rc = version < 1 || version > AL_STORE_SCHEMA_VER
             ? al_err_set(reterr, AL_E_INVAL, "no schema version %d", version)
             : migrate(s, version, reterr);
#ifdef AL_DEBUG
    if (rc == 0) /* armed after the migrations, so that their commits do not count */
        rc = fault_from_env(s, reterr);
#endif
    if (rc)
        al_store_close(s);
    else
        *ret = s;
    return rc;
}

/* ---- fault injection (debug builds) ---- */

#ifdef AL_DEBUG

/* AL_STORE_FAULT=commit:N | sync:N | alloc:N[:SQL] | retry:N (store.h), when set. */
static int fault_from_env(struct al_store *s, struct al_err *e)
{
    static const char *const kinds[] = {"commit", "sync", "alloc", "retry"};
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read at open, before the server starts threads */
    const char *v = getenv("AL_STORE_FAULT");
    if (!v || !*v)
        return 0;
    const char *colon = strchr(v, ':');
    for (unsigned k = 0; colon && k < AL_STORE_FAULT_KINDS; k++) {
        if (strlen(kinds[k]) != (size_t)(colon - v) || strncmp(v, kinds[k], strlen(kinds[k])) != 0)
            continue;
        unsigned nth = 0;
        const char *p = colon + 1;
        for (; *p >= '0' && *p <= '9' && nth < 1000000; p++)
            nth = nth * 10 + (unsigned)(*p - '0');
        bool tail_ok = !*p || (*p == ':' && k == AL_STORE_FAULT_ALLOC);
        if (p > colon + 1 && nth > 0 && tail_ok &&
            al_store_fault_set(s, (enum al_store_fault)k, nth, *p ? p + 1 : NULL) == 0)
            return 0;
        break;
    }
    return al_err_set(
        e, AL_E_INVAL,
        "AL_STORE_FAULT: want commit:N, sync:N, alloc:N[:SQL] or retry:N (N >= 1), not '%s'", v);
}

#endif
