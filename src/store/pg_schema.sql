-- pg_schema.sql — allot's schema in PostgreSQL 15's dialect: what the SQLite migrations of
-- store/sqlite.c build up to schema version 11 (every table, column, index, constraint and
-- trigger, with the same names), as one baseline, plus what PostgreSQL enforces for several
-- server replicas sharing one database (docs/postgres.md):
--   - no two holds on one GPU overlap in placement units and time (EXCLUDE USING gist over
--     the GPU, the units as an int4range and the window as a tstzrange), the rule the store's
--     SQL re-check and the in-memory calendar hold today under one server's lock;
--   - the ledger's rules: amounts are bigint micro-units with their CHECKs, transfers and
--     the other money records append-only (UPDATE, DELETE and TRUNCATE refused by triggers),
--     a debit of an org's cash below minus its credit limit refused in the statement that
--     moves the balance, under its row lock (so two replicas cannot both pass it).
-- No PostgreSQL database ever held an older allot schema, so SQLite's history (migrations
-- 1-10 rebuilding tables, scrubbing tokens) is not replayed: this file is version 11, and a
-- later migration is written in both dialects beside the SQLite one (docs/postgres.md).
--
-- Run it once, in one transaction, on an empty database (psql --single-transaction
-- -v ON_ERROR_STOP=1 -f pg_schema.sql): a second run is refused with a clear message and
-- changes nothing. btree_gist is a trusted extension: the database's owner may create it.
--
-- Types: SQLite's INTEGER is bigint (unix seconds, micro-units, counters, ids) or integer
-- (small enumerations and indexes, flags kept as 0/1 with their CHECKs so that the store's
-- statements bind the same values); TEXT is text (JSON documents stay text: stored as given
-- and returned as stored, key order included); BLOB is bytea. AUTOINCREMENT is an identity
-- column (never reused, like AUTOINCREMENT). A trigger's refusal is SQLSTATE 23000 naming the
-- trigger as its constraint, as SQLite reports SQLITE_CONSTRAINT_TRIGGER: the store maps
-- both to the same codes.

DO $guard$
BEGIN
    IF to_regclass('schema_version') IS NOT NULL THEN
        RAISE EXCEPTION 'allot''s schema is here already (schema_version %): pg_schema.sql only '
            'creates it in an empty database; later migrations are the store''s to run',
            (SELECT max(version) FROM schema_version)
            USING ERRCODE = 'duplicate_table';
    END IF;
END
$guard$;

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The refusal of an append-only or frozen record: raised by BEFORE triggers (row or
-- statement level, TRUNCATE included), the message in the trigger's first argument.
CREATE FUNCTION al_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0]
        USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = TG_NAME,
              TABLE = TG_TABLE_NAME;
END
$$;

CREATE TABLE schema_version(version integer NOT NULL);

-- ---- accounts (migration 1) ----
CREATE TABLE orgs(id text PRIMARY KEY, name text NOT NULL UNIQUE,
    customer_code text UNIQUE, display_name text, created_at bigint NOT NULL);
CREATE TABLE users(id text PRIMARY KEY, name text NOT NULL UNIQUE, role text NOT NULL
    CHECK(role IN ('operator','org_admin','member','agent')),
    org_id text REFERENCES orgs(id), token_hash bytea NOT NULL UNIQUE,
    created_at bigint NOT NULL);
CREATE INDEX users_org ON users(org_id, id);

-- ---- the fleet (migrations 1, 3, 7, 8) ----
CREATE TABLE nodes(name text PRIMARY KEY, zone text, labels text NOT NULL DEFAULT '{}',
    last_seen bigint NOT NULL, created_at bigint NOT NULL,
    online integer NOT NULL DEFAULT 1);
CREATE INDEX nodes_online ON nodes(online, last_seen);
CREATE TABLE gpus(id text PRIMARY KEY, node text NOT NULL REFERENCES nodes(name),
    idx bigint NOT NULL, uuid text NOT NULL UNIQUE, model text NOT NULL,
    reported_model text NOT NULL,
    pool text NOT NULL CHECK(pool IN ('general','dedicated')), healthy integer NOT NULL,
    drained integer NOT NULL DEFAULT 0, present integer NOT NULL DEFAULT 1,
    observed text, observed_at bigint, desired text);
CREATE INDEX gpus_node ON gpus(node, idx);
CREATE INDEX gpus_managed ON gpus(node, idx) WHERE observed IS NOT NULL;

-- ---- the flow (migration 1) ----
CREATE TABLE requests(id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id),
    state text NOT NULL, created_at bigint NOT NULL, updated_at bigint NOT NULL,
    doc text NOT NULL);
CREATE INDEX requests_org ON requests(org_id, id);
CREATE INDEX requests_state ON requests(state);
CREATE TABLE quotes(id text PRIMARY KEY,
    request_id text NOT NULL REFERENCES requests(id), valid_until bigint NOT NULL,
    doc text NOT NULL);
CREATE INDEX quotes_request ON quotes(request_id);
CREATE TABLE reservations(id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id),
    state text NOT NULL, start_at bigint NOT NULL, end_at bigint NOT NULL,
    doc text NOT NULL, CHECK(start_at < end_at));
CREATE INDEX reservations_org ON reservations(org_id, id);
CREATE INDEX reservations_due ON reservations(state, start_at, end_at);

-- Capacity taken on a GPU over [t0, t1) (unix seconds), as store.h's struct al_store_hold:
-- a whole GPU (kind 'gpu', start_unit -1) takes every placement unit, its mask all 64 bits
-- (-1 as a bigint); a MIG instance (kind 'mig') the contiguous units from start_unit, its
-- mask ((1 << size) - 1) << start_unit (server/cal.c, al_cal_mask). expires_at > 0 marks a
-- quote's tentative hold. The store's statements read and write these columns as they do on
-- SQLite; `units` and `during` are derived from them, for the exclusion constraint:
--   holds_no_overlap: two holds of different owners on one GPU never share a unit at the same
--   instant: what al_store_hold_conflicts asks (same GPU, a shared mask bit, overlapping
--   [t0, t1), another owner), now enforced by the database across replicas. It covers
--   tentative holds too, expired or not: the database has no `now`, so the store deletes the
--   expired tentative holds in a new hold's way before inserting it (docs/postgres.md). The MIG
--   rules beyond units (a layout valid at every instant) stay core's calendar's.
CREATE TABLE holds(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    gpu_id text NOT NULL REFERENCES gpus(id),
    owner text NOT NULL, kind text NOT NULL CHECK(kind IN ('gpu','mig')),
    profile text NOT NULL DEFAULT '', start_unit integer NOT NULL DEFAULT -1,
    mask bigint NOT NULL, t0 bigint NOT NULL, t1 bigint NOT NULL,
    expires_at bigint NOT NULL DEFAULT 0, CHECK(t0 < t1),
    CONSTRAINT holds_units CHECK(kind = 'gpu' AND start_unit = -1 AND mask = -1
        OR kind = 'mig' AND start_unit BETWEEN 0 AND 62 AND mask > 0
        AND mask & ((1::bigint << start_unit) - 1) = 0
        AND ((mask >> start_unit) & ((mask >> start_unit) + 1)) = 0),
    units int4range GENERATED ALWAYS AS (CASE WHEN kind = 'gpu' THEN int4range(0, 64)
        ELSE int4range(start_unit, start_unit + bit_count(mask::bit(64))::integer) END) STORED,
    during tstzrange GENERATED ALWAYS AS
        (tstzrange(to_timestamp(t0::double precision), to_timestamp(t1::double precision)))
        STORED,
    CONSTRAINT holds_no_overlap EXCLUDE USING gist
        (gpu_id WITH =, units WITH &&, during WITH &&, owner WITH <>));
CREATE INDEX holds_gpu ON holds(gpu_id, t1);
CREATE INDEX holds_time ON holds(t1, t0);
CREATE INDEX holds_owner ON holds(owner);

-- ---- events: append-only (migrations 1, 10) ----
CREATE TABLE events(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at bigint NOT NULL, actor text NOT NULL, kind text NOT NULL, object text NOT NULL,
    data text NOT NULL);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TABLE event_orgs(org text NOT NULL, seq bigint NOT NULL REFERENCES events(seq),
    PRIMARY KEY(org, seq));
CREATE INDEX event_orgs_seq ON event_orgs(seq);
CREATE TRIGGER event_orgs_no_update BEFORE UPDATE ON event_orgs
    FOR EACH ROW EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TRIGGER event_orgs_no_delete BEFORE DELETE ON event_orgs
    FOR EACH ROW EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TRIGGER event_orgs_no_truncate BEFORE TRUNCATE ON event_orgs
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('events are append-only');
CREATE TABLE notices(object text NOT NULL, kind text NOT NULL, at bigint NOT NULL,
    PRIMARY KEY(object, kind));

CREATE TABLE idempotency(key text NOT NULL, caller text NOT NULL,
    body_hash bytea NOT NULL, status integer NOT NULL, response text NOT NULL,
    created_at bigint NOT NULL, PRIMARY KEY(key, caller));

-- ---- money (migrations 4, 5): every amount a bigint of micro-units ----
CREATE TABLE ledger_orgs(num bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id text NOT NULL UNIQUE REFERENCES orgs(id));
CREATE FUNCTION al_orgs_ledger_num() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_orgs(org_id) VALUES(NEW.id);
    RETURN NULL;
END
$$;
CREATE TRIGGER orgs_ledger_num AFTER INSERT ON orgs
    FOR EACH ROW EXECUTE FUNCTION al_orgs_ledger_num();
CREATE TRIGGER ledger_orgs_no_update BEFORE UPDATE ON ledger_orgs
    FOR EACH ROW EXECUTE FUNCTION al_refuse('ledger numbers are fixed');
CREATE TRIGGER ledger_orgs_no_delete BEFORE DELETE ON ledger_orgs
    FOR EACH ROW EXECUTE FUNCTION al_refuse('ledger numbers are fixed');
CREATE TRIGGER ledger_orgs_no_truncate BEFORE TRUNCATE ON ledger_orgs
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('ledger numbers are fixed');

CREATE TABLE price_versions(model text NOT NULL, version integer NOT NULL CHECK(version >= 1),
    valid_from bigint NOT NULL,
    gpu_hour bigint NOT NULL CHECK(gpu_hour >= 0),
    mig_slice_hour bigint NOT NULL CHECK(mig_slice_hour >= 0),
    pool_gpu_hour bigint NOT NULL CHECK(pool_gpu_hour >= 0),
    created_at bigint NOT NULL, created_by text, PRIMARY KEY(model, version));
CREATE TRIGGER price_versions_no_update BEFORE UPDATE ON price_versions
    FOR EACH ROW EXECUTE FUNCTION al_refuse('price versions are append-only');
CREATE TRIGGER price_versions_no_delete BEFORE DELETE ON price_versions
    FOR EACH ROW EXECUTE FUNCTION al_refuse('price versions are append-only');
CREATE TRIGGER price_versions_no_truncate BEFORE TRUNCATE ON price_versions
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('price versions are append-only');

-- contracts: the head (org, end) and its versions
CREATE TABLE contracts(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org bigint NOT NULL REFERENCES ledger_orgs(num), created_at bigint NOT NULL,
    created_by text, ended_at bigint, ended_by text);
CREATE INDEX contracts_org ON contracts(org, id);
CREATE TRIGGER contracts_fixed BEFORE UPDATE OF id, org, created_at, created_by ON contracts
    FOR EACH ROW EXECUTE FUNCTION al_refuse('a contract keeps its org');
CREATE TRIGGER contracts_end_once BEFORE UPDATE OF ended_at, ended_by ON contracts
    FOR EACH ROW WHEN (OLD.ended_at IS NOT NULL)
    EXECUTE FUNCTION al_refuse('contract ended already');
CREATE TRIGGER contracts_no_delete BEFORE DELETE ON contracts
    FOR EACH ROW EXECUTE FUNCTION al_refuse('contracts are kept');
CREATE TRIGGER contracts_no_truncate BEFORE TRUNCATE ON contracts
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('contracts are kept');
CREATE TABLE contract_versions(contract_id bigint NOT NULL REFERENCES contracts(id),
    version integer NOT NULL CHECK(version >= 1),
    terms text NOT NULL CHECK(terms IN ('prepaid','balance','invoiced')),
    valid_from bigint NOT NULL, valid_to bigint NOT NULL,
    granularity text NOT NULL CHECK(granularity IN ('second','minute','hour')),
    min_hours integer NOT NULL CHECK(CASE granularity WHEN 'hour'
        THEN min_hours BETWEEN 1 AND 8784 ELSE min_hours = 0 END),
    draw_period integer NOT NULL CHECK(draw_period IN (3600, 86400)),
    discount_bps integer NOT NULL CHECK(discount_bps BETWEEN 0 AND 10000),
    cancel_fee bigint NOT NULL CHECK(cancel_fee >= 0),
    cancel_fee_bps integer NOT NULL CHECK(cancel_fee_bps BETWEEN 0 AND 10000),
    admin_may_cancel_active integer NOT NULL CHECK(admin_may_cancel_active IN (0,1)),
    self_service integer NOT NULL CHECK(self_service IN (0,1)),
    payg_after_window integer NOT NULL CHECK(payg_after_window IN (0,1)),
    -- limits: NULL = not set (AL_LIMIT_NONE); the credit limit only under invoiced terms
    credit_limit bigint CHECK(CASE WHEN credit_limit IS NULL THEN terms = 'invoiced'
        ELSE credit_limit >= 0 END),
    max_gpus bigint CHECK(max_gpus >= 0), max_length_s bigint CHECK(max_length_s >= 0),
    max_ahead bigint CHECK(max_ahead >= 0), month_cap bigint CHECK(month_cap >= 0),
    created_at bigint NOT NULL, created_by text,
    PRIMARY KEY(contract_id, version), CHECK(valid_from < valid_to));
CREATE TABLE contract_rates(contract_id bigint NOT NULL, version integer NOT NULL,
    idx integer NOT NULL CHECK(idx BETWEEN 0 AND 15), model text NOT NULL,
    gpu_hour bigint NOT NULL CHECK(gpu_hour >= 0),
    mig_slice_hour bigint NOT NULL CHECK(mig_slice_hour >= 0),
    pool_gpu_hour bigint NOT NULL CHECK(pool_gpu_hour >= 0),
    PRIMARY KEY(contract_id, version, idx), UNIQUE(contract_id, version, model),
    FOREIGN KEY(contract_id, version) REFERENCES contract_versions(contract_id, version));
CREATE TRIGGER contract_versions_no_update BEFORE UPDATE ON contract_versions
    FOR EACH ROW EXECUTE FUNCTION al_refuse('contract versions are append-only');
CREATE TRIGGER contract_versions_no_delete BEFORE DELETE ON contract_versions
    FOR EACH ROW EXECUTE FUNCTION al_refuse('contract versions are append-only');
CREATE TRIGGER contract_versions_no_truncate BEFORE TRUNCATE ON contract_versions
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('contract versions are append-only');
CREATE TRIGGER contract_rates_no_update BEFORE UPDATE ON contract_rates
    FOR EACH ROW EXECUTE FUNCTION al_refuse('contract versions are append-only');
CREATE TRIGGER contract_rates_no_delete BEFORE DELETE ON contract_rates
    FOR EACH ROW EXECUTE FUNCTION al_refuse('contract versions are append-only');
CREATE TRIGGER contract_rates_no_truncate BEFORE TRUNCATE ON contract_rates
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('contract versions are append-only');

-- A new row's contract must be its org's (reservation_billing, pool_usage): SQLite's WHEN
-- with a subquery, which a PostgreSQL trigger's WHEN may not hold.
CREATE FUNCTION al_contract_of_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.org IS DISTINCT FROM (SELECT org FROM contracts WHERE id = NEW.contract_id) THEN
        RAISE EXCEPTION 'the contract is another org''s'
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;

-- a confirmed reservation's billing state (core's al_res_billing); next_draw_at (migration
-- 5) = p(drawn), the start of the next period to draw, while that period begins before the
-- end under balance or invoiced terms, else NULL: set before the row is written (SQLite's
-- triggers update the row after it)
CREATE TABLE reservation_billing(num bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reservation_id text NOT NULL UNIQUE REFERENCES reservations(id),
    org bigint NOT NULL REFERENCES ledger_orgs(num),
    contract_id bigint NOT NULL, contract_version integer NOT NULL,
    start_at bigint NOT NULL, end_at bigint NOT NULL, rev bigint NOT NULL CHECK(rev >= 0),
    drawn bigint NOT NULL CHECK(drawn >= 0),
    fees bigint NOT NULL CHECK(fees >= 0),
    cancelled integer NOT NULL CHECK(cancelled IN (0,1)), share bigint NOT NULL CHECK(share >= 0),
    next_draw_at bigint,
    CHECK(start_at <= end_at),
    FOREIGN KEY(contract_id, contract_version)
        REFERENCES contract_versions(contract_id, version));
CREATE INDEX reservation_billing_org ON reservation_billing(org, num);
CREATE INDEX reservation_billing_draw ON reservation_billing(next_draw_at, num)
    WHERE next_draw_at IS NOT NULL;
CREATE TABLE reservation_lines(num bigint NOT NULL REFERENCES reservation_billing(num),
    idx integer NOT NULL CHECK(idx BETWEEN 0 AND 3), what text NOT NULL,
    unit text NOT NULL CHECK(unit IN ('gpu_hour','slice_hour')),
    units bigint NOT NULL CHECK(units >= 1),
    unit_price bigint NOT NULL CHECK(unit_price >= 0),
    PRIMARY KEY(num, idx));
CREATE TRIGGER reservation_billing_org BEFORE INSERT ON reservation_billing
    FOR EACH ROW EXECUTE FUNCTION al_contract_of_org();
CREATE TRIGGER reservation_billing_frozen BEFORE UPDATE OF num, reservation_id, org,
    contract_id, contract_version, start_at, share ON reservation_billing
    FOR EACH ROW EXECUTE FUNCTION al_refuse('a reservation''s contract, start and share are frozen');
CREATE TRIGGER reservation_billing_forward BEFORE UPDATE ON reservation_billing
    FOR EACH ROW WHEN (NEW.rev < OLD.rev OR NEW.drawn < OLD.drawn OR NEW.fees < OLD.fees
        OR NEW.cancelled < OLD.cancelled)
    EXECUTE FUNCTION al_refuse('rev, drawn, fees and cancelled never go back');
CREATE TRIGGER reservation_billing_no_delete BEFORE DELETE ON reservation_billing
    FOR EACH ROW EXECUTE FUNCTION al_refuse('billing states are kept');
CREATE TRIGGER reservation_billing_no_truncate BEFORE TRUNCATE ON reservation_billing
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('billing states are kept');
CREATE FUNCTION al_next_draw_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.next_draw_at := (SELECT CASE WHEN v.terms IN ('balance','invoiced')
            AND NEW.start_at + NEW.drawn * v.draw_period < NEW.end_at
            THEN NEW.start_at + NEW.drawn * v.draw_period END
        FROM contract_versions v
        WHERE v.contract_id = NEW.contract_id AND v.version = NEW.contract_version);
    RETURN NEW;
END
$$;
CREATE TRIGGER reservation_billing_draw_ins BEFORE INSERT ON reservation_billing
    FOR EACH ROW EXECUTE FUNCTION al_next_draw_at();
CREATE TRIGGER reservation_billing_draw_upd BEFORE UPDATE OF end_at, drawn ON reservation_billing
    FOR EACH ROW EXECUTE FUNCTION al_next_draw_at();
CREATE TRIGGER reservation_lines_no_update BEFORE UPDATE ON reservation_lines
    FOR EACH ROW EXECUTE FUNCTION al_refuse('price lines are frozen');
CREATE TRIGGER reservation_lines_no_delete BEFORE DELETE ON reservation_lines
    FOR EACH ROW EXECUTE FUNCTION al_refuse('price lines are frozen');
CREATE TRIGGER reservation_lines_no_truncate BEFORE TRUNCATE ON reservation_lines
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('price lines are frozen');

-- the ledger: transfers (ledger.h's debit -> credit pairs per kind as a CHECK) and the cached
-- balances
CREATE TABLE transfers(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, kind text NOT NULL,
    debit text NOT NULL, credit text NOT NULL, org bigint NOT NULL REFERENCES ledger_orgs(num),
    amount bigint NOT NULL CHECK(amount > 0),
    at bigint NOT NULL,
    ref_kind text NOT NULL CHECK(ref_kind IN ('none','reservation','pool','invoice','operator')),
    ref_id bigint NOT NULL CHECK(ref_id >= 0), ref_sub bigint NOT NULL,
    key text NOT NULL UNIQUE CHECK(length(key) BETWEEN 1 AND 95),
    credit_limit bigint CHECK(CASE WHEN debit = 'org_cash'
        THEN credit_limit IS NOT NULL AND credit_limit >= 0 ELSE credit_limit IS NULL END),
    created_at bigint NOT NULL,
    CONSTRAINT transfers_pairs CHECK(kind = 'topup' AND debit = 'external' AND credit = 'org_cash'
        OR kind IN ('reservation_charge','usage') AND debit IN ('org_cash','org_accrued')
        AND credit = 'revenue'
        OR kind = 'refund' AND debit = 'refunds' AND credit IN ('org_cash','org_accrued')
        OR kind = 'adjustment' AND (debit IN ('org_cash','org_accrued') AND credit = 'revenue'
        OR debit = 'revenue' AND credit IN ('org_cash','org_accrued'))
        OR kind = 'invoice_issued' AND (debit = 'org_receivable' AND credit = 'org_accrued'
        OR debit = 'org_accrued' AND credit = 'org_receivable')
        OR kind = 'invoice_paid' AND (debit = 'external' AND credit = 'org_receivable'
        OR debit = 'org_receivable' AND credit = 'external')));
CREATE INDEX transfers_org ON transfers(org, id);
CREATE INDEX transfers_ref ON transfers(ref_kind, ref_id);
CREATE TABLE balances(account text NOT NULL, org bigint NOT NULL,
    balance bigint NOT NULL, updated_at bigint NOT NULL,
    CHECK(CASE WHEN account IN ('org_cash','org_accrued','org_receivable') THEN org > 0
        ELSE account IN ('revenue','refunds','external') AND org = 0 END),
    PRIMARY KEY(account, org));
CREATE TRIGGER transfers_no_update BEFORE UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION al_refuse('transfers are append-only');
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION al_refuse('transfers are append-only');
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('transfers are append-only');
-- A transfer moves both cached balances in its own statement. The debit's new balance comes
-- back from the upsert that wrote it, under the balance row's lock: a concurrent debit of the
-- same account (another replica's) waits for this transaction and then sees its result, so
-- the credit limit holds under READ COMMITTED without a serializable retry. A bigint overflow
-- of a balance fails the statement (SQLSTATE 22003).
CREATE FUNCTION al_transfers_post() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    debit_balance bigint;
BEGIN
    INSERT INTO balances VALUES(NEW.debit,
        CASE WHEN NEW.debit IN ('org_cash','org_accrued','org_receivable') THEN NEW.org ELSE 0 END,
        -NEW.amount, NEW.created_at)
    ON CONFLICT(account, org) DO UPDATE SET balance = balances.balance - NEW.amount,
        updated_at = NEW.created_at
    RETURNING balance INTO debit_balance;
    INSERT INTO balances VALUES(NEW.credit,
        CASE WHEN NEW.credit IN ('org_cash','org_accrued','org_receivable') THEN NEW.org ELSE 0 END,
        NEW.amount, NEW.created_at)
    ON CONFLICT(account, org) DO UPDATE SET balance = balances.balance + NEW.amount,
        updated_at = NEW.created_at;
    IF NEW.debit = 'org_cash' AND debit_balance < -NEW.credit_limit THEN
        RAISE EXCEPTION 'org cash below minus its credit limit'
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER transfers_post AFTER INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION al_transfers_post();
CREATE TRIGGER balances_no_delete BEFORE DELETE ON balances
    FOR EACH ROW EXECUTE FUNCTION al_refuse('balances are kept');
CREATE TRIGGER balances_no_truncate BEFORE TRUNCATE ON balances
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('balances are kept');

-- invoices: frozen when written; issued and paid once each
CREATE TABLE invoices(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org bigint NOT NULL REFERENCES ledger_orgs(num),
    payer text NOT NULL CHECK(payer IN ('org_cash','org_accrued')),
    period_from bigint NOT NULL, period_to bigint NOT NULL, minor bigint NOT NULL CHECK(minor > 0),
    exact bigint NOT NULL, total bigint NOT NULL, rounding bigint NOT NULL,
    created_at bigint NOT NULL, issued_at bigint, paid_at bigint,
    CHECK(period_from < period_to), CHECK(rounding = total - exact),
    CHECK(paid_at IS NULL OR issued_at IS NOT NULL AND payer = 'org_accrued'),
    UNIQUE(org, payer, period_from));
CREATE TABLE invoice_lines(invoice_id bigint NOT NULL REFERENCES invoices(id),
    idx integer NOT NULL CHECK(idx >= 0),
    kind text NOT NULL CHECK(kind IN ('reservation','draw','pool','refund','adjustment')),
    ref_kind text NOT NULL CHECK(ref_kind IN ('none','reservation','pool','invoice','operator')),
    ref_id bigint NOT NULL CHECK(ref_id >= 0), ref_sub bigint NOT NULL,
    ntransfers bigint NOT NULL CHECK(ntransfers >= 0), exact bigint NOT NULL,
    amount bigint NOT NULL, PRIMARY KEY(invoice_id, idx));
CREATE TRIGGER invoices_frozen BEFORE UPDATE OF id, org, payer, period_from, period_to, minor,
    exact, total, rounding, created_at ON invoices
    FOR EACH ROW EXECUTE FUNCTION al_refuse('an invoice is frozen once written');
CREATE TRIGGER invoices_once BEFORE UPDATE OF issued_at, paid_at ON invoices
    FOR EACH ROW WHEN (OLD.issued_at IS DISTINCT FROM NEW.issued_at AND OLD.issued_at IS NOT NULL
        OR OLD.paid_at IS DISTINCT FROM NEW.paid_at AND OLD.paid_at IS NOT NULL)
    EXECUTE FUNCTION al_refuse('an invoice is issued and paid once');
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION al_refuse('invoices are kept');
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('invoices are kept');
CREATE FUNCTION al_invoice_lines_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT issued_at FROM invoices WHERE id = NEW.invoice_id) IS NOT NULL THEN
        RAISE EXCEPTION 'the invoice is issued'
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = TG_NAME,
                  TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoice_lines_open BEFORE INSERT ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION al_invoice_lines_open();
CREATE TRIGGER invoice_lines_no_update BEFORE UPDATE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION al_refuse('invoice lines are append-only');
CREATE TRIGGER invoice_lines_no_delete BEFORE DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION al_refuse('invoice lines are append-only');
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('invoice lines are append-only');

-- pay-as-you-go pool sessions, metered from started_at up to charged_through
CREATE TABLE pool_usage(id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org bigint NOT NULL REFERENCES ledger_orgs(num), user_id text REFERENCES users(id),
    gpu text NOT NULL, share bigint NOT NULL CHECK(share > 0),
    rate bigint NOT NULL CHECK(rate >= 0),
    contract_id bigint NOT NULL, contract_version integer NOT NULL,
    started_at bigint NOT NULL, stopped_at bigint, charged_through bigint NOT NULL,
    CHECK(charged_through >= started_at),
    CHECK(stopped_at IS NULL OR stopped_at >= started_at AND charged_through <= stopped_at),
    FOREIGN KEY(contract_id, contract_version)
        REFERENCES contract_versions(contract_id, version));
CREATE INDEX pool_usage_open ON pool_usage(org, id) WHERE stopped_at IS NULL;
CREATE TRIGGER pool_usage_org BEFORE INSERT ON pool_usage
    FOR EACH ROW EXECUTE FUNCTION al_contract_of_org();
CREATE TRIGGER pool_usage_fixed BEFORE UPDATE OF id, org, user_id, gpu, share, rate,
    contract_id, contract_version, started_at ON pool_usage
    FOR EACH ROW EXECUTE FUNCTION al_refuse('a pool session''s terms are fixed');
CREATE TRIGGER pool_usage_forward BEFORE UPDATE ON pool_usage
    FOR EACH ROW WHEN (NEW.charged_through < OLD.charged_through
        OR OLD.stopped_at IS NOT NULL AND OLD.stopped_at IS DISTINCT FROM NEW.stopped_at)
    EXECUTE FUNCTION al_refuse('metering only goes forward; a session stops once');
CREATE TRIGGER pool_usage_no_delete BEFORE DELETE ON pool_usage
    FOR EACH ROW EXECUTE FUNCTION al_refuse('pool sessions are kept');
CREATE TRIGGER pool_usage_no_truncate BEFORE TRUNCATE ON pool_usage
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('pool sessions are kept');

CREATE TABLE clock_marks(name text PRIMARY KEY, at bigint NOT NULL);

-- ---- node-bound agent tokens (migration 6) ----
CREATE TABLE node_tokens(node text PRIMARY KEY,
    id text NOT NULL UNIQUE, token_hash bytea NOT NULL UNIQUE,
    created_at bigint NOT NULL);

-- ---- MIG changes (migration 7) ----
CREATE TABLE change_windows(scope text PRIMARY KEY
    CHECK(scope = 'default' OR scope LIKE 'zone:_%' OR scope LIKE 'node:_%'),
    windows text NOT NULL, auto_apply integer NOT NULL CHECK(auto_apply IN (0,1)),
    updated_at bigint NOT NULL, updated_by text NOT NULL);
CREATE TABLE mig_changes(id text PRIMARY KEY, gpu_id text NOT NULL, node text NOT NULL,
    state text NOT NULL CHECK(state IN
        ('planned','approved','applying','applied','failed','superseded')),
    run_after bigint NOT NULL, run_before bigint NOT NULL,
    created_at bigint NOT NULL, updated_at bigint NOT NULL, doc text NOT NULL);
CREATE UNIQUE INDEX mig_changes_open ON mig_changes(gpu_id)
    WHERE state IN ('planned','approved','applying');
CREATE INDEX mig_changes_node ON mig_changes(node, state);
CREATE INDEX mig_changes_state ON mig_changes(state, run_after);
CREATE TRIGGER mig_changes_no_delete BEFORE DELETE ON mig_changes
    FOR EACH ROW EXECUTE FUNCTION al_refuse('MIG changes are kept');
CREATE TRIGGER mig_changes_no_truncate BEFORE TRUNCATE ON mig_changes
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('MIG changes are kept');
CREATE TRIGGER mig_changes_final BEFORE UPDATE ON mig_changes
    FOR EACH ROW WHEN (OLD.state IN ('applied','failed','superseded'))
    EXECUTE FUNCTION al_refuse('a MIG change that ended is kept as it ended');
CREATE TABLE mig_change_links(change_id text NOT NULL REFERENCES mig_changes(id),
    reservation_id text NOT NULL, org_id text NOT NULL,
    role text NOT NULL CHECK(role IN ('serves','holds')),
    PRIMARY KEY(change_id, reservation_id));
CREATE INDEX mig_change_links_rsv ON mig_change_links(reservation_id);
CREATE INDEX mig_change_links_org ON mig_change_links(org_id, change_id);
CREATE TABLE mig_change_acks(change_id text NOT NULL REFERENCES mig_changes(id),
    org_id text NOT NULL REFERENCES orgs(id), by_user text NOT NULL, at bigint NOT NULL,
    job_shutdown integer NOT NULL CHECK(job_shutdown IN (0,1)),
    data_backup integer NOT NULL CHECK(data_backup IN (0,1)),
    PRIMARY KEY(change_id, org_id));

-- ---- containers (migration 9) ----
CREATE TABLE containers(id text PRIMARY KEY, org_id text NOT NULL REFERENCES orgs(id),
    user_id text NOT NULL, reservation_id text, unit integer NOT NULL DEFAULT -1,
    node text NOT NULL, gpu_id text NOT NULL,
    state text NOT NULL CHECK(state IN
        ('pending','running','stopping','exited','stopped','failed')),
    live integer NOT NULL CHECK(live IN (0,1)),
    pool_session bigint,
    created_at bigint NOT NULL, updated_at bigint NOT NULL, doc text NOT NULL,
    logs bytea, logs_at bigint);
CREATE INDEX containers_org ON containers(org_id, created_at, id);
CREATE INDEX containers_rsv ON containers(reservation_id) WHERE reservation_id IS NOT NULL;
CREATE INDEX containers_live ON containers(node, gpu_id) WHERE live = 1;
CREATE TRIGGER containers_no_delete BEFORE DELETE ON containers
    FOR EACH ROW EXECUTE FUNCTION al_refuse('containers are kept');
CREATE TRIGGER containers_no_truncate BEFORE TRUNCATE ON containers
    FOR EACH STATEMENT EXECUTE FUNCTION al_refuse('containers are kept');
CREATE TRIGGER containers_final BEFORE UPDATE OF state, live, doc ON containers
    FOR EACH ROW WHEN (OLD.live = 0)
    EXECUTE FUNCTION al_refuse('a container that ended is kept as it ended');
CREATE TABLE node_runtimes(node text PRIMARY KEY, kind text NOT NULL,
    ok integer NOT NULL CHECK(ok IN (0,1)), error text, at bigint NOT NULL);
CREATE TABLE unit_assignments(reservation_id text NOT NULL, unit integer NOT NULL
    CHECK(unit >= 0), user_id text NOT NULL REFERENCES users(id),
    at bigint NOT NULL, by_user text NOT NULL, PRIMARY KEY(reservation_id, unit));

-- ---- webhooks (migration 11) ----
CREATE TABLE webhooks(id text PRIMARY KEY, owner text NOT NULL,
    org_id text REFERENCES orgs(id), url text NOT NULL, events text NOT NULL,
    description text, secret_box text NOT NULL,
    active integer NOT NULL CHECK(active IN (0,1)), created_at bigint NOT NULL,
    failures bigint NOT NULL DEFAULT 0, failing_since bigint, disabled_at bigint,
    deleted_at bigint);
CREATE INDEX webhooks_org ON webhooks(org_id, id);
CREATE TABLE webhook_deliveries(num bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    webhook_id text NOT NULL REFERENCES webhooks(id), event_seq bigint,
    kind text NOT NULL, payload text NOT NULL, attempt integer NOT NULL DEFAULT 0,
    status text NOT NULL CHECK(status IN ('pending','delivered','failed','retrying')),
    http_status integer, error text, next_at bigint, created_at bigint NOT NULL,
    delivered_at bigint);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries(webhook_id, num);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at)
    WHERE status IN ('pending','retrying');
CREATE TABLE webhook_attempts(delivery_num bigint NOT NULL
    REFERENCES webhook_deliveries(num), attempt integer NOT NULL, at bigint NOT NULL,
    http_status integer, error text, PRIMARY KEY(delivery_num, attempt));
CREATE TABLE webhook_cursor(one integer PRIMARY KEY CHECK(one = 1),
    seq bigint NOT NULL);
INSERT INTO webhook_cursor VALUES(1, 0);

INSERT INTO schema_version VALUES(11);
