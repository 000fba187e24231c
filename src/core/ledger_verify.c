/* ledger_verify.c — `ledger verify`: every rule of ledger.h checked over a snapshot of the
 * books, each broken one reported by name with what was expected and what was found. */
#include "core/ledger.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/billing.h"
#include "core/contract.h"
#include "core/invoice.h"

struct vctx {
    const struct al_ledger_view *v;
    struct al_mismatch *out;
    size_t cap, n;
    size_t *by_key;    /* transfer indices sorted by key */
    size_t *by_acct;   /* account indices sorted by (kind, org) */
    int64_t *computed; /* per account (same index as v->accounts): the sum of its transfers */
};

static const char *const rule_names[] = {
    "transfer_invalid", "duplicate_key",       "unknown_account",   "sum_not_zero",
    "cached_balance",   "reservation_charges", "orphan_charge",     "unknown_contract",
    "invoice_total",    "invoice_lines",       "invoice_transfers",
};

const char *al_ledger_rule_name(enum al_verify_rule r)
{
    return (unsigned)r < sizeof rule_names / sizeof rule_names[0] ? rule_names[r] : "?";
}

static void report(struct vctx *x, enum al_verify_rule rule, uint64_t id, int64_t expected,
                   int64_t actual, const char *fmt, ...) AL_PRINTF(6, 7);

static void report(struct vctx *x, enum al_verify_rule rule, uint64_t id, int64_t expected,
                   int64_t actual, const char *fmt, ...)
{
    if (x->n < x->cap) {
        struct al_mismatch *m = &x->out[x->n];
        va_list ap;
        *m = (struct al_mismatch){.rule = rule, .id = id, .expected = expected, .actual = actual};
        va_start(ap, fmt);
        (void)vsnprintf(m->what, sizeof m->what, fmt, ap); /* a message: truncation is fine */
        va_end(ap);
    }
    x->n++;
}

static void report_acct(struct vctx *x, enum al_verify_rule rule, const struct al_account *a,
                        int64_t expected, int64_t actual, const char *what)
{
    size_t at = x->n;
    report(x, rule, a->org, expected, actual, "%s of org %" PRIu64 ": %s",
           al_ledger_acct_name(a->kind), a->org, what);
    if (at < x->cap)
        x->out[at].acct = *a;
}

/* ---- sorted indices (qsort has no context argument: the arrays ride in a wrapper) ---- */

struct key_ref {
    const char *key;
    size_t i;
};

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    return strncmp(x->key, y->key, AL_LEDGER_KEY_MAX);
}

static int acct_cmp(const struct al_account *a, const struct al_account *b)
{
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return (a->org > b->org) - (a->org < b->org);
}

struct acct_ref {
    struct al_account a;
    size_t i;
};

static int acct_ref_cmp(const void *a, const void *b)
{
    const struct acct_ref *x = a, *y = b;
    return acct_cmp(&x->a, &y->a);
}

static int sort_keys(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    struct key_ref *k = malloc((v->ntransfers ? v->ntransfers : 1) * sizeof *k);
    if (!k)
        return AL_E_NOMEM;
    for (size_t i = 0; i < v->ntransfers; i++)
        k[i] = (struct key_ref){v->transfers[i].key, i};
    qsort(k, v->ntransfers, sizeof *k, key_ref_cmp);
    for (size_t i = 0; i < v->ntransfers; i++)
        x->by_key[i] = k[i].i;
    free(k);
    return 0;
}

static int sort_accounts(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    struct acct_ref *a = malloc((v->naccounts ? v->naccounts : 1) * sizeof *a);
    if (!a)
        return AL_E_NOMEM;
    for (size_t i = 0; i < v->naccounts; i++)
        a[i] = (struct acct_ref){v->accounts[i].acct, i};
    qsort(a, v->naccounts, sizeof *a, acct_ref_cmp);
    for (size_t i = 0; i < v->naccounts; i++)
        x->by_acct[i] = a[i].i;
    free(a);
    return 0;
}

/* Index into v->accounts of account `a`, or -1. */
static ptrdiff_t find_acct(const struct vctx *x, const struct al_account *a)
{
    size_t lo = 0, hi = x->v->naccounts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = acct_cmp(&x->v->accounts[x->by_acct[mid]].acct, a);
        if (c == 0)
            return (ptrdiff_t)x->by_acct[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The transfer with idempotency key `key`, or NULL. */
static const struct al_transfer *find_key(const struct vctx *x, const char *key)
{
    size_t lo = 0, hi = x->v->ntransfers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct al_transfer *t = &x->v->transfers[x->by_key[mid]];
        int c = strncmp(t->key, key, AL_LEDGER_KEY_MAX);
        if (c == 0)
            return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- transfers and balances ---- */

static void check_transfers(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    for (size_t i = 0; i < v->ntransfers; i++) {
        struct al_err e = {0};
        if (al_ledger_validate(&v->transfers[i], &e))
            report(x, AL_VERIFY_TRANSFER, v->transfers[i].id, 0, 0, "transfer %" PRIu64 " (%s): %s",
                   v->transfers[i].id, v->transfers[i].key, e.msg);
    }
    for (size_t i = 1; i < v->ntransfers; i++) {
        const struct al_transfer *a = &v->transfers[x->by_key[i - 1]];
        const struct al_transfer *b = &v->transfers[x->by_key[i]];
        if (strncmp(a->key, b->key, AL_LEDGER_KEY_MAX) == 0)
            report(x, AL_VERIFY_DUP_KEY, b->id, 1, 2,
                   "transfers %" PRIu64 " and %" PRIu64 " share the key %s", a->id, b->id, b->key);
    }
}

/* Add `delta` to the computed sum of account `a`; an unlisted account is reported. */
static void post(struct vctx *x, const struct al_transfer *t, const struct al_account *a,
                 int64_t delta, bool *overflow)
{
    ptrdiff_t i = find_acct(x, a);
    if (i < 0) {
        char what[160];
        (void)snprintf(what, sizeof what, "named by transfer %" PRIu64 " (%.*s), not listed", t->id,
                       AL_LEDGER_KEY_MAX - 1, t->key);
        report_acct(x, AL_VERIFY_UNKNOWN_ACCT, a, 0, 0, what);
        return;
    }
    if (al_money_add(x->computed[i], delta, &x->computed[i]))
        *overflow = true;
}

static void check_balances(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    bool overflow = false;
    int64_t sum = 0;
    for (size_t i = 0; i < v->ntransfers; i++) {
        const struct al_transfer *t = &v->transfers[i];
        post(x, t, &t->debit, -t->amount, &overflow);
        post(x, t, &t->credit, t->amount, &overflow);
    }
    for (size_t i = 0; i < v->naccounts; i++) {
        const struct al_ledger_account *a = &v->accounts[i];
        if (a->balance != x->computed[i])
            report_acct(x, AL_VERIFY_BALANCE, &a->acct, x->computed[i], a->balance,
                        overflow ? "cached balance differs (a sum overflowed)"
                                 : "cached balance differs from the sum of its transfers");
        if (al_money_add(sum, a->balance, &sum))
            overflow = true;
    }
    if (sum != 0 || overflow)
        report(x, AL_VERIFY_SUM, 0, 0, sum, "the %zu cached balances sum to %" PRId64 "%s",
               v->naccounts, sum, overflow ? " (overflowed)" : ", not 0");
}

/* ---- reservations ---- */

struct res_rec {
    uint64_t id;
    int64_t amount; /* + charge, - refund */
    uint64_t transfer;
};

static int res_rec_cmp(const void *a, const void *b)
{
    const struct res_rec *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static const struct al_contract *find_contract(const struct al_ledger_view *v, uint64_t id,
                                               uint32_t version)
{
    for (size_t i = 0; i < v->ncontracts; i++)
        if (v->contracts[i].id == id && v->contracts[i].version == version)
            return &v->contracts[i];
    return NULL;
}

/* Net charges of reservation `id` from the sorted records; *pos walks forward. */
static int64_t net_of(const struct res_rec *r, size_t n, uint64_t id, bool *overflow)
{
    size_t lo = 0, hi = n;
    int64_t sum = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n && r[i].id == id; i++)
        if (al_money_add(sum, r[i].amount, &sum))
            *overflow = true;
    return sum;
}

static void check_one_reservation(struct vctx *x, const struct al_res_billing *r,
                                  const struct res_rec *rec, size_t nrec)
{
    const struct al_contract *c = find_contract(x->v, r->contract_id, r->contract_version);
    struct al_err e = {0};
    int64_t implied = 0;
    bool overflow = false;
    if (!c) {
        report(x, AL_VERIFY_CONTRACT, r->id, 0, 0,
               "reservation %" PRIu64 " names contract %" PRIu64 " v%" PRIu32 ", not listed", r->id,
               r->contract_id, r->contract_version);
        return;
    }
    int64_t net = net_of(rec, nrec, r->id, &overflow);
    if (al_billing_implied(c, r, x->v->now, &implied, &e)) {
        report(x, AL_VERIFY_RESERVATION, r->id, 0, net, "reservation %" PRIu64 ": %s", r->id,
               e.msg);
        return;
    }
    if (overflow || net != implied)
        report(x, AL_VERIFY_RESERVATION, r->id, implied, net,
               "reservation %" PRIu64 " (%s): net charges %" PRId64 ", its terms imply %" PRId64,
               r->id, al_contract_terms_name(c->terms), net, implied);
}

static bool listed_res(const struct al_ledger_view *v, const uint64_t *ids, uint64_t id)
{
    size_t lo = 0, hi = v->nreservations;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] == id)
            return true;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static size_t collect_res(const struct al_ledger_view *v, struct res_rec *rec)
{
    size_t n = 0;
    for (size_t i = 0; i < v->ntransfers; i++) {
        const struct al_transfer *t = &v->transfers[i];
        if (t->ref.kind != AL_REF_RESERVATION)
            continue;
        if (t->kind == AL_XFER_RESERVATION_CHARGE)
            rec[n++] = (struct res_rec){t->ref.id, t->amount, t->id};
        else if (t->kind == AL_XFER_REFUND)
            rec[n++] = (struct res_rec){t->ref.id, -t->amount, t->id};
    }
    return n;
}

static int check_reservations(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    struct res_rec *rec = malloc((v->ntransfers ? v->ntransfers : 1) * sizeof *rec);
    uint64_t *ids = malloc((v->nreservations ? v->nreservations : 1) * sizeof *ids);
    int rc = 0;
    if (!rec || !ids) {
        rc = AL_E_NOMEM;
        goto out;
    }
    size_t nrec = collect_res(v, rec);
    qsort(rec, nrec, sizeof *rec, res_rec_cmp);
    for (size_t i = 0; i < v->nreservations; i++) {
        ids[i] = v->reservations[i].id;
        check_one_reservation(x, &v->reservations[i], rec, nrec);
    }
    qsort(ids, v->nreservations, sizeof *ids, u64_cmp);
    for (size_t i = 0; i < nrec; i++)
        if ((i == 0 || rec[i].id != rec[i - 1].id) && !listed_res(v, ids, rec[i].id))
            report(x, AL_VERIFY_ORPHAN, rec[i].id, 0, rec[i].amount,
                   "transfer %" PRIu64 " charges reservation %" PRIu64 ", which is not listed",
                   rec[i].transfer, rec[i].id);
out:
    free(rec);
    free(ids);
    return rc;
}

/* ---- invoices ---- */

static bool line_eq(const struct al_invoice_line *a, const struct al_invoice_line *b)
{
    return a->kind == b->kind && a->ref.kind == b->ref.kind && a->ref.id == b->ref.id &&
           a->exact == b->exact && a->amount == b->amount && a->ntransfers == b->ntransfers;
}

static void compare_lines(struct vctx *x, const struct al_invoice *inv,
                          const struct al_invoice *built)
{
    uint64_t id = inv->spec.id;
    if (inv->nlines != built->nlines) {
        report(x, AL_VERIFY_INVOICE_LINES, id, (int64_t)built->nlines, (int64_t)inv->nlines,
               "invoice %" PRIu64 ": %zu lines, its period's transfers make %zu", id, inv->nlines,
               built->nlines);
        return;
    }
    for (size_t i = 0; i < inv->nlines; i++) {
        const struct al_invoice_line *a = &inv->lines[i], *b = &built->lines[i];
        if (!line_eq(a, b)) {
            report(x, AL_VERIFY_INVOICE_LINES, id, b->exact, a->exact,
                   "invoice %" PRIu64 " line %zu (%s %s %" PRIu64 "): %" PRId64
                   " exact in %u transfers, the transfers make %" PRId64 " in %u",
                   id, i, al_invoice_line_name(a->kind), al_ledger_ref_name(a->ref.kind), a->ref.id,
                   a->exact, (unsigned)a->ntransfers, b->exact, (unsigned)b->ntransfers);
            return;
        }
    }
}

/* An issued org_accrued invoice has its issue and rounding transfers, with the right amounts. */
static void check_issue_xfer(struct vctx *x, const struct al_invoice *inv, const char *what,
                             enum al_transfer_kind kind, int64_t amount)
{
    char key[AL_LEDGER_KEY_MAX];
    int64_t want = amount < 0 ? -amount : amount;
    (void)al_ledger_key_invoice(key, inv->spec.id, what);
    const struct al_transfer *t = find_key(x, key);
    int64_t got = t && t->kind == kind ? t->amount : 0;
    if (got != want)
        report(x, AL_VERIFY_INVOICE_XFER, inv->spec.id, want, got,
               "invoice %" PRIu64 ": %s transfer %s is %" PRId64 ", expected %" PRId64,
               inv->spec.id, what, key, got, want);
}

static int check_invoices(struct vctx *x)
{
    const struct al_ledger_view *v = x->v;
    for (size_t i = 0; i < v->ninvoices; i++) {
        const struct al_invoice *inv = &v->invoices[i];
        struct al_invoice built = {0};
        struct al_err e = {0};
        if (al_invoice_check(inv, &e))
            report(x, AL_VERIFY_INVOICE_TOTAL, inv->spec.id, 0, inv->total,
                   "invoice %" PRIu64 ": %s", inv->spec.id, e.msg);
        int rc = al_invoice_build(&inv->spec, v->transfers, v->ntransfers, &built, &e);
        if (rc == AL_E_NOMEM) {
            al_invoice_done(&built);
            return rc;
        }
        if (rc)
            report(x, AL_VERIFY_INVOICE_LINES, inv->spec.id, 0, 0, "invoice %" PRIu64 ": %s",
                   inv->spec.id, e.msg);
        else
            compare_lines(x, inv, &built);
        al_invoice_done(&built);
        if (inv->issued && inv->spec.payer.kind == AL_ACCT_ORG_ACCRUED) {
            check_issue_xfer(x, inv, "issue", AL_XFER_INVOICE_ISSUED, inv->total);
            check_issue_xfer(x, inv, "rounding", AL_XFER_ADJUSTMENT, inv->rounding);
        }
    }
    return 0;
}

int al_ledger_verify(const struct al_ledger_view *v, struct al_mismatch *out, size_t cap,
                     size_t *ret_n, struct al_err *reterr)
{
    struct vctx x = {.v = v, .out = out, .cap = out ? cap : 0};
    int rc = 0;
    *ret_n = 0;
    if (!v)
        return al_err_set(reterr, AL_E_INVAL, "view: NULL");
    x.by_key = malloc((v->ntransfers ? v->ntransfers : 1) * sizeof *x.by_key);
    x.by_acct = malloc((v->naccounts ? v->naccounts : 1) * sizeof *x.by_acct);
    x.computed = calloc(v->naccounts ? v->naccounts : 1, sizeof *x.computed);
    if (!x.by_key || !x.by_acct || !x.computed || sort_keys(&x) || sort_accounts(&x)) {
        rc = al_err_set(reterr, AL_E_NOMEM, "verify: out of memory");
        goto out;
    }
    check_transfers(&x);
    check_balances(&x);
    if (check_reservations(&x) || check_invoices(&x)) {
        rc = al_err_set(reterr, AL_E_NOMEM, "verify: out of memory");
        goto out;
    }
    *ret_n = x.n;
out:
    free(x.by_key);
    free(x.by_acct);
    free(x.computed);
    return rc;
}
