/* store_ledger.c — the store's ledger: transfers appended once per idempotency key (the
 * cached balances move in the same statement, by the schema's trigger, which also refuses a
 * debit below an org's credit limit), balances, invoices with their frozen lines, and the
 * snapshot of all of it that `ledger verify` checks (store.h, "money"; core/ledger.h). */
#include "store/store_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- transfers ---- */

#define XFER_COLS "id, kind, debit, credit, org, amount, at, ref_kind, ref_id, ref_sub, key"

/* Parse a stored reference kind. 0 or AL_E_DB. */
static int ref_parse(const char *name, enum al_ref_kind *ret)
{
    for (int k = AL_REF_NONE; k <= AL_REF_OPERATOR; k++)
        if (name && strcmp(name, al_ledger_ref_name((enum al_ref_kind)k)) == 0) {
            *ret = (enum al_ref_kind)k;
            return 0;
        }
    return AL_E_DB;
}

/* An account of kind `k` as a transfer of org `org` names it. */
static struct al_account account_of(enum al_acct_kind k, uint64_t org)
{
    return (struct al_account){k, al_ledger_acct_is_org(k) ? org : 0};
}

/* The current row of an XFER_COLS query (from column `col`) into *t. 0 or AL_E_DB. */
static int xfer_row(struct al_db_stmt *st, int col, struct al_transfer *t, struct al_err *e)
{
    enum al_acct_kind d, c;
    uint64_t org = (uint64_t)al_db_int64(st, col + 4);
    memset(t, 0, sizeof *t);
    t->id = (uint64_t)al_db_int64(st, col);
    if (al_ledger_kind_parse(al_db_text(st, col + 1), &t->kind) ||
        al_ledger_acct_parse(al_db_text(st, col + 2), &d) ||
        al_ledger_acct_parse(al_db_text(st, col + 3), &c) ||
        ref_parse(al_db_text(st, col + 7), &t->ref.kind))
        return al_err_set(e, AL_E_DB, "transfer %" PRIu64 ": a stored name is unknown", t->id);
    t->debit = account_of(d, org);
    t->credit = account_of(c, org);
    t->amount = al_db_int64(st, col + 5);
    t->at = al_db_int64(st, col + 6);
    t->ref.id = (uint64_t)al_db_int64(st, col + 8);
    t->ref.sub = al_db_int64(st, col + 9);
    al_store_copy(t->key, sizeof t->key, al_db_text(st, col + 10));
    return 0;
}

int al_store_transfer_get(struct al_store *s, const char *key, struct al_transfer *ret,
                          struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr, "SELECT " XFER_COLS " FROM transfers WHERE key = ?", "t", key);
    if (rc || (rc = al_db_row(s, st, reterr, "transfer with that key")) != 0)
        return rc;
    rc = xfer_row(st, 0, ret, reterr);
    al_db_done(s, st);
    return rc;
}

int al_store_balance_get(struct al_store *s, struct al_account a, int64_t *ret,
                         struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr, "SELECT balance FROM balances WHERE account = ? AND org = ?",
                   "ti", al_ledger_acct_name(a.kind), (int64_t)a.org);
    if (rc)
        return rc;
    *ret = 0;
    rc = al_db_row(s, st, reterr, "balance");
    if (rc == AL_E_NOTFOUND)
        return 0; /* no transfer has touched it yet */
    if (rc == 0) {
        *ret = al_db_int64(st, 0);
        al_db_done(s, st);
    }
    return rc;
}

/* Write new transfer *t (valid, its key unseen) under `limit` for a debit of org cash; its
 * number into t->id. */
static int xfer_write(struct al_store *s, struct al_transfer *t, int64_t limit, int64_t now,
                      struct al_err *e)
{
    struct al_db_stmt *st;
    uint64_t org = al_ledger_acct_is_org(t->debit.kind) ? t->debit.org : t->credit.org;
    int rc = al_db_prep(
        s, &st, e,
        "INSERT INTO transfers(kind, debit, credit, org, amount, at, ref_kind, ref_id, ref_sub,"
        " key, credit_limit, created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        "tttiiitiitni", al_ledger_kind_name(t->kind), al_ledger_acct_name(t->debit.kind),
        al_ledger_acct_name(t->credit.kind), (int64_t)org, t->amount, t->at,
        al_ledger_ref_name(t->ref.kind), (int64_t)t->ref.id, t->ref.sub, t->key,
        t->debit.kind == AL_ACCT_ORG_CASH ? limit : INT64_C(-1), now);
    if (rc || (rc = al_db_row(s, st, e, "transfer written")) != 0)
        return rc;
    t->id = (uint64_t)al_db_int64(st, 0);
    al_db_done(s, st);
    return 0;
}

int al_store_transfer_append(struct al_store *s, const struct al_transfer *t, int64_t credit_limit,
                             int64_t now, struct al_transfer *ret, struct al_refusal *ret_refusal,
                             struct al_err *reterr)
{
    struct al_transfer w = *t;
    int64_t debit = 0, credit = 0;
    int64_t limit = t->debit.kind == AL_ACCT_ORG_CASH ? credit_limit : 0;
    int rc = al_ledger_validate(t, reterr);
    if (rc)
        return rc;
    if (t->ref.id > (uint64_t)INT64_MAX)
        return al_err_set(reterr, AL_E_INVAL, "ref: id %" PRIu64 " is out of range", t->ref.id);
    rc = al_store_transfer_get(s, t->key, ret, reterr);
    if (rc == 0) /* the key is known: the same transfer again, or another one */
        return al_ledger_idem(ret, t, reterr) == AL_LEDGER_REPLAY ? AL_STORE_REPLAY : AL_E_CONFLICT;
    if (rc != AL_E_NOTFOUND)
        return rc;
    rc = al_store_org_exists(s, al_ledger_acct_is_org(t->debit.kind) ? t->debit.org : t->credit.org,
                             reterr);
    if (rc || (rc = al_store_balance_get(s, t->debit, &debit, reterr)) != 0 ||
        (rc = al_store_balance_get(s, t->credit, &credit, reterr)) != 0)
        return rc;
    /* core's rule first, for its refusal; the trigger holds the same floor in the database */
    rc = al_ledger_apply(t, limit, &debit, &credit, ret_refusal, reterr);
    /* the write in its own unit: the triggers' refusals (the floor under a concurrent debit, a
     * key written meanwhile) reach callers that take a refusal and go on, which PostgreSQL
     * allows only after rolling back to a savepoint */
    if (rc || (rc = al_db_unit_begin(s, reterr)) != 0 ||
        (rc = al_db_unit_end(s, xfer_write(s, &w, limit, now, reterr), reterr)) != 0)
        return rc;
    *ret = w;
    return 0;
}

/* Bind f's filter as ?1..?5 of a transfer query and, with `cursor`, ?6 and `limit` as ?7. */
static int xfer_prep(struct al_store *s, struct al_db_stmt **st, const char *sql,
                     const struct al_store_xfer_filter *f, const char *cursor, int64_t limit,
                     struct al_err *e)
{
    *st = NULL;
    if (f->acct < -1 || f->acct >= AL_ACCT_KINDS)
        return al_err_set(e, AL_E_INVAL, "account: unknown kind %d", f->acct);
    if (f->kind < -1 || f->kind >= AL_XFER_KINDS)
        return al_err_set(e, AL_E_INVAL, "kind: unknown transfer kind %d", f->kind);
    int64_t after;
    int rc = al_store_cursor_num(cursor, &after, e);
    return rc ? rc
              : al_db_prep(s, st, e, sql, "ittiiii", (int64_t)f->org,
                           f->acct < 0 ? NULL : al_ledger_acct_name((enum al_acct_kind)f->acct),
                           f->kind < 0 ? NULL : al_ledger_kind_name((enum al_transfer_kind)f->kind),
                           f->from, f->to, after, limit);
}

#define XFER_WHERE                                                                                 \
    " WHERE (?1 = 0 OR t.org = ?1) AND (?2 IS NULL OR t.debit = ?2 OR t.credit = ?2)"              \
    " AND (?3 IS NULL OR t.kind = ?3) AND (?5 <= ?4 OR t.at >= ?4 AND t.at < ?5)"                  \
    " AND t.id > ?6"

static json_t *xfer_list_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:I,s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:{s:s?,s:I,s:I},s:o,s:s?,s:I}", "_key",
                     al_db_text(st, 0), "id", (json_int_t)al_db_int64(st, 1), "kind",
                     al_db_text(st, 2), "debit", al_db_text(st, 3), "credit", al_db_text(st, 4),
                     "org", al_db_text(st, 5), "amount_micros", (json_int_t)al_db_int64(st, 6),
                     "at", (json_int_t)al_db_int64(st, 7), "ref", "kind", al_db_text(st, 8), "id",
                     (json_int_t)al_db_int64(st, 9), "sub", (json_int_t)al_db_int64(st, 10),
                     "reservation", al_store_str_or_null(al_db_text(st, 11)), "key",
                     al_db_text(st, 12), "created_at", (json_int_t)al_db_int64(st, 13));
}

int al_store_transfer_list(struct al_store *s, const struct al_store_xfer_filter *f,
                           struct al_store_page pg, json_t **ret, char **next,
                           struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = xfer_prep(s, &st,
                       "SELECT CAST(t.id AS TEXT), t.id, t.kind, t.debit, t.credit, o.org_id,"
                       " t.amount, t.at, t.ref_kind, t.ref_id, t.ref_sub, rb.reservation_id,"
                       " t.key, t.created_at FROM transfers t"
                       " JOIN ledger_orgs o ON o.num = t.org LEFT JOIN reservation_billing rb"
                       " ON t.ref_kind = 'reservation' AND rb.num = t.ref_id" XFER_WHERE
                       " ORDER BY t.id LIMIT ?7",
                       f, pg.cursor, (int64_t)limit + 1, reterr);
    return rc ? rc : al_db_collect(s, st, limit, xfer_list_row, ret, next, reterr);
}

int al_store_transfer_load(struct al_store *s, const struct al_store_xfer_filter *f,
                           struct al_transfer **ret, size_t *ret_n, struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_transfer *arr = NULL;
    size_t n = 0, cap = 0;
    int r = AL_DB_DONE;
    int rc = xfer_prep(s, &st,
                       "SELECT t.id, t.kind, t.debit, t.credit, t.org, t.amount, t.at,"
                       " t.ref_kind, t.ref_id, t.ref_sub, t.key FROM transfers t" XFER_WHERE
                       " ORDER BY t.id LIMIT ?7",
                       f, NULL, INT64_MAX, reterr);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&arr, &cap, n, sizeof *arr, reterr)) == 0)
            rc = xfer_row(st, 0, &arr[n++], reterr);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "load transfers");
    al_db_done(s, st);
    if (rc) {
        free(arr);
        arr = NULL;
        n = 0;
    }
    *ret = arr;
    *ret_n = n;
    return rc;
}

/* ---- invoices ---- */

/* Parse a stored line kind. 0 or AL_E_DB. */
static int line_kind_parse(const char *name, enum al_line_kind *ret)
{
    for (int k = AL_LINE_RESERVATION; k <= AL_LINE_ADJUSTMENT; k++)
        if (name && strcmp(name, al_invoice_line_name((enum al_line_kind)k)) == 0) {
            *ret = (enum al_line_kind)k;
            return 0;
        }
    return AL_E_DB;
}

/* Write inv's row (its number into inv->spec.id) and its lines. */
static int invoice_write(struct al_store *s, struct al_invoice *inv, int64_t now, struct al_err *e)
{
    struct al_db_stmt *st;
    const struct al_invoice_spec *sp = &inv->spec;
    int rc = al_db_prep(s, &st, e,
                        "INSERT INTO invoices(org, payer, period_from, period_to, minor,"
                        " exact, total, rounding, created_at) VALUES(?,?,?,?,?,?,?,?,?)"
                        " RETURNING id",
                        "itiiiiiii", (int64_t)sp->payer.org, al_ledger_acct_name(sp->payer.kind),
                        sp->from, sp->to, sp->minor, inv->exact, inv->total, inv->rounding, now);
    if (rc || (rc = al_db_row(s, st, e, "invoice written")) != 0)
        return rc;
    inv->spec.id = (uint64_t)al_db_int64(st, 0);
    al_db_done(s, st);
    for (size_t i = 0; i < inv->nlines; i++) {
        const struct al_invoice_line *l = &inv->lines[i];
        rc =
            al_db_prep(s, &st, e, "INSERT INTO invoice_lines VALUES(?,?,?,?,?,?,?,?,?)",
                       "iittiiiii", (int64_t)inv->spec.id, (int64_t)i,
                       al_invoice_line_name(l->kind), al_ledger_ref_name(l->ref.kind),
                       (int64_t)l->ref.id, l->ref.sub, (int64_t)l->ntransfers, l->exact, l->amount);
        if (rc || (rc = al_db_run(s, st, e, "write invoice line")) < 0)
            return rc;
    }
    return 0;
}

int al_store_invoice_create(struct al_store *s, struct al_invoice *inv, int64_t now,
                            struct al_err *reterr)
{
    const struct al_account *p = &inv->spec.payer;
    uint64_t id = inv->spec.id;
    if (p->kind != AL_ACCT_ORG_CASH && p->kind != AL_ACCT_ORG_ACCRUED)
        return al_err_set(reterr, AL_E_INVAL, "payer: %s is not an org's paying account",
                          al_ledger_acct_name(p->kind));
    if (inv->spec.to <= inv->spec.from)
        return al_err_set(reterr, AL_E_INVAL, "period: ends before it starts");
    int rc = al_invoice_check(inv, reterr);
    if (rc || (rc = al_store_org_exists(s, p->org, reterr)) != 0 ||
        (rc = al_db_unit_begin(s, reterr)) != 0)
        return rc;
    rc = al_db_unit_end(s, invoice_write(s, inv, now, reterr), reterr);
    if (rc)
        inv->spec.id = id;
    else
        inv->issued = false;
    return rc;
}

/* Set column `what` of invoice `id` by `sql` (its WHERE says when it may); AL_E_STATE when
 * it may not, AL_E_NOTFOUND when there is no such invoice. */
static int invoice_mark(struct al_store *s, const char *sql, uint64_t id, int64_t at,
                        const char *what, struct al_err *e)
{
    struct al_db_stmt *st;
    struct al_invoice inv = {0};
    int rc = al_db_prep(s, &st, e, sql, "ii", (int64_t)id, at);
    if (rc || (rc = al_db_run(s, st, e, what)) < 0)
        return rc;
    if (rc == 1)
        return 0;
    rc = al_store_invoice_get(s, id, &inv, NULL, e);
    al_invoice_done(&inv);
    return rc ? rc : al_err_set(e, AL_E_STATE, "invoice %" PRIu64 ": cannot be %s now", id, what);
}

int al_store_invoice_issued(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr)
{
    return invoice_mark(s, "UPDATE invoices SET issued_at = ?2 WHERE id = ?1 AND issued_at IS NULL",
                        id, at, "issued", reterr);
}

int al_store_invoice_paid(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr)
{
    return invoice_mark(s,
                        "UPDATE invoices SET paid_at = ?2 WHERE id = ?1 AND paid_at IS NULL"
                        " AND issued_at IS NOT NULL AND payer = 'org_accrued'",
                        id, at, "paid", reterr);
}

/* Read the lines of invoice inv->spec.id into inv (allocated). */
static int invoice_lines_load(struct al_store *s, struct al_invoice *inv, struct al_err *e)
{
    struct al_db_stmt *st;
    size_t cap = 0;
    int r = AL_DB_DONE;
    int rc = al_db_prep(s, &st, e,
                        "SELECT kind, ref_kind, ref_id, ref_sub, ntransfers, exact, amount"
                        " FROM invoice_lines WHERE invoice_id = ? ORDER BY idx",
                        "i", (int64_t)inv->spec.id);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW) {
        if ((rc = al_db_grow((void **)&inv->lines, &cap, inv->nlines, sizeof *inv->lines, e)) != 0)
            break;
        struct al_invoice_line *l = &inv->lines[inv->nlines++];
        memset(l, 0, sizeof *l);
        if (line_kind_parse(al_db_text(st, 0), &l->kind) ||
            ref_parse(al_db_text(st, 1), &l->ref.kind))
            rc = al_err_set(e, AL_E_DB, "invoice %" PRIu64 ": a stored name is unknown",
                            inv->spec.id);
        l->ref.id = (uint64_t)al_db_int64(st, 2);
        l->ref.sub = al_db_int64(st, 3);
        l->ntransfers = (uint32_t)al_db_int64(st, 4);
        l->exact = al_db_int64(st, 5);
        l->amount = al_db_int64(st, 6);
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "read invoice lines");
    al_db_done(s, st);
    return rc;
}

#define INV_SELECT                                                                                 \
    "SELECT id, org, payer, period_from, period_to, minor, exact, total, rounding, created_at,"    \
    " issued_at, paid_at FROM invoices"

/* The current row of an INV_SELECT query into *inv (no lines) and *info (may be NULL). */
static int invoice_row(struct al_db_stmt *st, struct al_invoice *inv,
                       struct al_store_invoice_info *info, struct al_err *e)
{
    enum al_acct_kind payer;
    memset(inv, 0, sizeof *inv);
    inv->spec.id = (uint64_t)al_db_int64(st, 0);
    if (al_ledger_acct_parse(al_db_text(st, 2), &payer))
        return al_err_set(e, AL_E_DB, "invoice %" PRIu64 ": unknown payer", inv->spec.id);
    inv->spec.payer = account_of(payer, (uint64_t)al_db_int64(st, 1));
    inv->spec.from = al_db_int64(st, 3);
    inv->spec.to = al_db_int64(st, 4);
    inv->spec.minor = al_db_int64(st, 5);
    inv->exact = al_db_int64(st, 6);
    inv->total = al_db_int64(st, 7);
    inv->rounding = al_db_int64(st, 8);
    inv->issued = !al_db_null(st, 10);
    if (info)
        *info = (struct al_store_invoice_info){al_db_int64(st, 9), al_db_int64(st, 10),
                                               al_db_int64(st, 11)};
    return 0;
}

int al_store_invoice_get(struct al_store *s, uint64_t id, struct al_invoice *ret,
                         struct al_store_invoice_info *info, struct al_err *reterr)
{
    struct al_db_stmt *st;
    memset(ret, 0, sizeof *ret);
    int rc = al_db_prep(s, &st, reterr, INV_SELECT " WHERE id = ?", "i", (int64_t)id);
    if (rc || (rc = al_db_row(s, st, reterr, "such invoice")) != 0)
        return rc;
    rc = invoice_row(st, ret, info, reterr);
    al_db_done(s, st);
    return rc ? rc : invoice_lines_load(s, ret, reterr);
}

/* An integer column, or JSON null for NULL. */
static json_t *int_or_null(struct al_db_stmt *st, int i)
{
    return al_db_null(st, i) ? json_null() : json_integer(al_db_int64(st, i));
}

static json_t *invoice_list_row(struct al_db_stmt *st)
{
    return json_pack(
        "{s:s?,s:I,s:s?,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}", "_key", al_db_text(st, 0), "id",
        (json_int_t)al_db_int64(st, 1), "org", al_db_text(st, 2), "payer", al_db_text(st, 3),
        "period_from", (json_int_t)al_db_int64(st, 4), "period_to", (json_int_t)al_db_int64(st, 5),
        "exact_micros", (json_int_t)al_db_int64(st, 6), "total_micros",
        (json_int_t)al_db_int64(st, 7), "rounding_micros", (json_int_t)al_db_int64(st, 8), "lines",
        (json_int_t)al_db_int64(st, 9), "created_at", (json_int_t)al_db_int64(st, 10), "issued_at",
        int_or_null(st, 11), "paid_at", int_or_null(st, 12));
}

int al_store_invoice_list(struct al_store *s, uint64_t org, struct al_store_page pg, json_t **ret,
                          char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int64_t after;
    int rc = al_store_cursor_num(pg.cursor, &after, reterr);
    if (rc == 0)
        rc = al_db_prep(
            s, &st, reterr,
            "SELECT CAST(i.id AS TEXT), i.id, o.org_id, i.payer, i.period_from, i.period_to,"
            " i.exact, i.total, i.rounding,"
            " (SELECT count(*) FROM invoice_lines l WHERE l.invoice_id = i.id), i.created_at,"
            " i.issued_at, i.paid_at FROM invoices i JOIN ledger_orgs o ON o.num = i.org"
            " WHERE (?1 = 0 OR i.org = ?1) AND i.id > ?2 ORDER BY i.id LIMIT ?3",
            "iii", (int64_t)org, after, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, invoice_list_row, ret, next, reterr);
}

/* ---- the snapshot ledger verify reads ---- */

static int load_accounts(struct al_store *s, struct al_store_ledger *l, struct al_err *e)
{
    struct al_db_stmt *st;
    size_t cap = 0;
    int r = AL_DB_DONE;
    enum al_acct_kind k;
    int rc = al_db_prep(s, &st, e,
                        "SELECT account, org, balance FROM balances ORDER BY account, org", "");
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW) {
        if ((rc = al_db_grow((void **)&l->accounts, &cap, l->view.naccounts, sizeof *l->accounts,
                             e)) != 0)
            break;
        if (al_ledger_acct_parse(al_db_text(st, 0), &k)) {
            rc = al_err_set(e, AL_E_DB, "balances: unknown account");
            break;
        }
        l->accounts[l->view.naccounts++] =
            (struct al_ledger_account){{k, (uint64_t)al_db_int64(st, 1)}, al_db_int64(st, 2)};
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load balances");
    al_db_done(s, st);
    return rc;
}

/* Every billing state by number, then every price line by number, merged. */
static int load_reservations(struct al_store *s, struct al_store_ledger *l, struct al_err *e)
{
    struct al_db_stmt *st;
    size_t cap = 0, n = 0, i = 0;
    int r = AL_DB_DONE;
    int rc = al_db_prep(s, &st, e, AL_STORE_RB_SELECT " ORDER BY num", "");
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&l->reservations, &cap, n, sizeof *l->reservations, e)) == 0)
            al_store_billing_row(st, &l->reservations[n++]);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load billing states");
    al_db_done(s, st);
    l->view.nreservations = n;
    if (rc || (rc = al_db_prep(s, &st, e,
                               "SELECT num, what, unit, units, unit_price FROM"
                               " reservation_lines ORDER BY num, idx",
                               "")) != 0)
        return rc;
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW) {
        uint64_t num = (uint64_t)al_db_int64(st, 0);
        while (i < n && l->reservations[i].id < num)
            i++;
        rc = i < n && l->reservations[i].id == num
                 ? al_store_line_row(st, 1, &l->reservations[i], e)
                 : al_err_set(e, AL_E_DB, "price line of unknown reservation %" PRIu64, num);
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load price lines");
    al_db_done(s, st);
    return rc;
}

/* Every contract version by (id, version), then every rate in that order, merged. */
static int load_contracts(struct al_store *s, struct al_store_ledger *l, struct al_err *e)
{
    struct al_db_stmt *st;
    size_t cap = 0, n = 0, i = 0;
    int r = AL_DB_DONE;
    int rc = al_db_prep(s, &st, e, AL_STORE_CV_SELECT " ORDER BY v.contract_id, v.version", "");
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&l->contracts, &cap, n, sizeof *l->contracts, e)) == 0)
            rc = al_store_contract_row(st, &l->contracts[n++], NULL, e);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load contracts");
    al_db_done(s, st);
    l->view.ncontracts = n;
    if (rc || (rc = al_db_prep(s, &st, e,
                               "SELECT contract_id, version, model, gpu_hour, mig_slice_hour,"
                               " pool_gpu_hour FROM contract_rates"
                               " ORDER BY contract_id, version, idx",
                               "")) != 0)
        return rc;
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW) {
        uint64_t id = (uint64_t)al_db_int64(st, 0);
        uint32_t v = (uint32_t)al_db_int64(st, 1);
        while (i < n && (l->contracts[i].id < id ||
                         (l->contracts[i].id == id && l->contracts[i].version < v)))
            i++;
        rc = i < n && l->contracts[i].id == id && l->contracts[i].version == v
                 ? al_store_rate_row(st, 2, &l->contracts[i], e)
                 : al_err_set(e, AL_E_DB, "rate of unknown contract %" PRIu64, id);
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load contract rates");
    al_db_done(s, st);
    return rc;
}

static int load_invoices(struct al_store *s, struct al_store_ledger *l, struct al_err *e)
{
    struct al_db_stmt *st;
    size_t cap = 0;
    int r = AL_DB_DONE;
    int rc = al_db_prep(s, &st, e, INV_SELECT " WHERE issued_at IS NOT NULL ORDER BY id", "");
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&l->invoices, &cap, l->view.ninvoices, sizeof *l->invoices,
                             e)) == 0)
            rc = invoice_row(st, &l->invoices[l->view.ninvoices++], NULL, e);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "load invoices");
    al_db_done(s, st);
    for (size_t i = 0; rc == 0 && i < l->view.ninvoices; i++)
        rc = invoice_lines_load(s, &l->invoices[i], e);
    return rc;
}

int al_store_ledger_load(struct al_store *s, int64_t now, struct al_store_ledger *ret,
                         struct al_err *reterr)
{
    static const struct al_store_xfer_filter all = {0, -1, -1, 0, 0};
    size_t nt = 0;
    memset(ret, 0, sizeof *ret);
    /* one savepoint: every table read from the same snapshot */
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    if ((rc = load_accounts(s, ret, reterr)) == 0 &&
        (rc = al_store_transfer_load(s, &all, &ret->transfers, &nt, reterr)) == 0 &&
        (rc = load_reservations(s, ret, reterr)) == 0 && (rc = load_contracts(s, ret, reterr)) == 0)
        rc = load_invoices(s, ret, reterr);
    rc = al_db_unit_end(s, rc, reterr);
    ret->view.accounts = ret->accounts;
    ret->view.transfers = ret->transfers;
    ret->view.ntransfers = nt;
    ret->view.reservations = ret->reservations;
    ret->view.contracts = ret->contracts;
    ret->view.invoices = ret->invoices;
    ret->view.now = now;
    return rc;
}

void al_store_ledger_free(struct al_store_ledger *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->view.ninvoices; i++)
        al_invoice_done(&l->invoices[i]);
    free(l->accounts);
    free(l->transfers);
    free(l->reservations);
    free(l->contracts);
    free(l->invoices);
    memset(l, 0, sizeof *l);
}
