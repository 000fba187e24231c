/* ledger.c — accounts, transfer rules, applying a transfer to cached balances, idempotency
 * and keys. The model is stated in ledger.h; verify is in ledger_verify.c. */
#include "core/ledger.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const acct_names[AL_ACCT_KINDS] = {
    "org_cash", "org_accrued", "org_receivable", "revenue", "refunds", "external",
};

static const char *const kind_names[AL_XFER_KINDS] = {
    "topup",      "reservation_charge", "usage",        "refund",
    "adjustment", "invoice_issued",     "invoice_paid",
};

/* The allowed (debit -> credit) pairs of each kind: ledger.h's table, as data. */
static const struct {
    enum al_transfer_kind kind;
    enum al_acct_kind debit, credit;
} pairs[] = {
    {AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH},
    {AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE},
    {AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE},
    {AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE},
    {AL_XFER_USAGE, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE},
    {AL_XFER_REFUND, AL_ACCT_REFUNDS, AL_ACCT_ORG_CASH},
    {AL_XFER_REFUND, AL_ACCT_REFUNDS, AL_ACCT_ORG_ACCRUED},
    {AL_XFER_ADJUSTMENT, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE},
    {AL_XFER_ADJUSTMENT, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE},
    {AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH},
    {AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_ACCRUED},
    {AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_ORG_ACCRUED},
    {AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_ACCRUED, AL_ACCT_ORG_RECEIVABLE},
    {AL_XFER_INVOICE_PAID, AL_ACCT_EXTERNAL, AL_ACCT_ORG_RECEIVABLE},
    {AL_XFER_INVOICE_PAID, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_EXTERNAL},
};

const char *al_ledger_acct_name(enum al_acct_kind k)
{
    return (unsigned)k < AL_ACCT_KINDS ? acct_names[k] : "?";
}

const char *al_ledger_kind_name(enum al_transfer_kind k)
{
    return (unsigned)k < AL_XFER_KINDS ? kind_names[k] : "?";
}

const char *al_ledger_ref_name(enum al_ref_kind k)
{
    switch (k) {
    case AL_REF_NONE:
        return "none";
    case AL_REF_RESERVATION:
        return "reservation";
    case AL_REF_POOL:
        return "pool";
    case AL_REF_INVOICE:
        return "invoice";
    case AL_REF_OPERATOR:
        return "operator";
    }
    return "?";
}

int al_ledger_kind_parse(const char *s, enum al_transfer_kind *ret)
{
    for (unsigned i = 0; s && i < AL_XFER_KINDS; i++) {
        if (strcmp(s, kind_names[i]) == 0) {
            *ret = (enum al_transfer_kind)i;
            return 0;
        }
    }
    return AL_E_INVAL;
}

int al_ledger_acct_parse(const char *s, enum al_acct_kind *ret)
{
    for (unsigned i = 0; s && i < AL_ACCT_KINDS; i++) {
        if (strcmp(s, acct_names[i]) == 0) {
            *ret = (enum al_acct_kind)i;
            return 0;
        }
    }
    return AL_E_INVAL;
}

bool al_ledger_acct_is_org(enum al_acct_kind k)
{
    return k == AL_ACCT_ORG_CASH || k == AL_ACCT_ORG_ACCRUED || k == AL_ACCT_ORG_RECEIVABLE;
}

static bool pair_allowed(enum al_transfer_kind kind, enum al_acct_kind d, enum al_acct_kind c)
{
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        if (pairs[i].kind == kind && pairs[i].debit == d && pairs[i].credit == c)
            return true;
    return false;
}

/* Printable ASCII without spaces, non-empty, NUL-terminated within `max`. */
static bool key_ok(const char *k, size_t max)
{
    size_t n = 0;
    while (n < max && k[n] != '\0') {
        if (k[n] <= ' ' || k[n] > '~')
            return false;
        n++;
    }
    return n > 0 && n < max;
}

static int check_org(const struct al_account *a, const char *side, struct al_err *reterr)
{
    if ((unsigned)a->kind >= AL_ACCT_KINDS)
        return al_err_set(reterr, AL_E_INVAL, "%s: unknown account kind %d", side, (int)a->kind);
    if (al_ledger_acct_is_org(a->kind) && a->org == 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: %s needs an org", side, acct_names[a->kind]);
    if (!al_ledger_acct_is_org(a->kind) && a->org != 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: %s is the provider's, not org %" PRIu64, side,
                          acct_names[a->kind], a->org);
    return 0;
}

int al_ledger_validate(const struct al_transfer *t, struct al_err *reterr)
{
    int rc = 0;
    if ((unsigned)t->kind >= AL_XFER_KINDS)
        return al_err_set(reterr, AL_E_INVAL, "kind: unknown transfer kind %d", (int)t->kind);
    if (t->amount <= 0)
        return al_err_set(reterr, AL_E_INVAL, "amount: %" PRId64 " is not > 0", t->amount);
    if ((rc = check_org(&t->debit, "debit", reterr)) ||
        (rc = check_org(&t->credit, "credit", reterr)))
        return rc;
    if (!pair_allowed(t->kind, t->debit.kind, t->credit.kind))
        return al_err_set(reterr, AL_E_INVAL, "kind: %s may not move %s -> %s", kind_names[t->kind],
                          acct_names[t->debit.kind], acct_names[t->credit.kind]);
    if (al_ledger_acct_is_org(t->debit.kind) && al_ledger_acct_is_org(t->credit.kind) &&
        t->debit.org != t->credit.org)
        return al_err_set(reterr, AL_E_INVAL,
                          "credit: org %" PRIu64 " differs from the debit's org %" PRIu64,
                          t->credit.org, t->debit.org);
    if (!key_ok(t->key, sizeof t->key))
        return al_err_set(reterr, AL_E_INVAL,
                          "key: empty, too long, or not printable ASCII without spaces");
    return 0;
}

int al_ledger_apply(const struct al_transfer *t, int64_t credit_limit, int64_t *debit_balance,
                    int64_t *credit_balance, struct al_refusal *ret_refusal, struct al_err *reterr)
{
    int64_t d = 0, c = 0, floor = 0;
    int rc = al_ledger_validate(t, reterr);
    if (rc)
        return rc;
    if (credit_limit < 0)
        return al_err_set(reterr, AL_E_INVAL, "credit_limit: %" PRId64 " is negative",
                          credit_limit);
    if (al_money_sub(*debit_balance, t->amount, &d) || al_money_add(*credit_balance, t->amount, &c))
        return al_err_set(reterr, AL_E_RANGE, "amount: the balance would overflow");
    floor = -credit_limit;
    if (t->debit.kind == AL_ACCT_ORG_CASH && d < floor) {
        struct al_refusal dummy;
        return al_refusal_balance(ret_refusal ? ret_refusal : &dummy, *debit_balance, credit_limit,
                                  t->amount, reterr);
    }
    *debit_balance = d;
    *credit_balance = c;
    return 0;
}

static bool same_account(const struct al_account *a, const struct al_account *b)
{
    return a->kind == b->kind && a->org == b->org;
}

int al_ledger_idem(const struct al_transfer *existing, const struct al_transfer *asked,
                   struct al_err *reterr)
{
    if (!existing)
        return AL_LEDGER_NEW;
    if (strncmp(existing->key, asked->key, sizeof asked->key) != 0)
        return al_err_set(reterr, AL_E_INVAL, "key: the stored transfer has another key");
    if (existing->kind != asked->kind || existing->amount != asked->amount ||
        !same_account(&existing->debit, &asked->debit) ||
        !same_account(&existing->credit, &asked->credit) || existing->ref.kind != asked->ref.kind ||
        existing->ref.id != asked->ref.id || existing->ref.sub != asked->ref.sub)
        return al_err_set(reterr, AL_E_CONFLICT,
                          "key: %s was used for a different transfer (%s of %" PRId64 ")",
                          existing->key, al_ledger_kind_name(existing->kind), existing->amount);
    return AL_LEDGER_REPLAY;
}

/* snprintf into a key buffer; the formats are bounded so that truncation means a bug. */
static int key_done(int n)
{
    return n < 0 || n >= AL_LEDGER_KEY_MAX ? AL_E_RANGE : 0;
}

int al_ledger_key_res(char ret[AL_LEDGER_KEY_MAX], uint64_t res, uint32_t rev, const char *what)
{
    if (strcmp(what, "charge") == 0)
        return key_done(snprintf(ret, AL_LEDGER_KEY_MAX, "res:%" PRIu64 ":charge", res));
    return key_done(
        snprintf(ret, AL_LEDGER_KEY_MAX, "res:%" PRIu64 ":r%" PRIu32 ":%.16s", res, rev, what));
}

int al_ledger_key_draw(char ret[AL_LEDGER_KEY_MAX], uint64_t res, int64_t k)
{
    return key_done(snprintf(ret, AL_LEDGER_KEY_MAX, "res:%" PRIu64 ":draw:%" PRId64, res, k));
}

int al_ledger_key_pool(char ret[AL_LEDGER_KEY_MAX], uint64_t session, int64_t from)
{
    return key_done(snprintf(ret, AL_LEDGER_KEY_MAX, "pool:%" PRIu64 ":%" PRId64, session, from));
}

int al_ledger_key_invoice(char ret[AL_LEDGER_KEY_MAX], uint64_t invoice, const char *what)
{
    return key_done(snprintf(ret, AL_LEDGER_KEY_MAX, "inv:%" PRIu64 ":%.16s", invoice, what));
}

int al_ledger_key_topup(char ret[AL_LEDGER_KEY_MAX], const char *client_key, struct al_err *reterr)
{
    static const char prefix[] = "topup:";
    if (!client_key || !key_ok(client_key, AL_LEDGER_KEY_MAX - (sizeof prefix - 1)))
        return al_err_set(reterr, AL_E_INVAL,
                          "idempotency_key: empty, longer than %zu bytes, or not printable "
                          "ASCII without spaces",
                          (size_t)AL_LEDGER_KEY_MAX - sizeof prefix);
    return key_done(snprintf(ret, AL_LEDGER_KEY_MAX, "%s%s", prefix, client_key));
}
