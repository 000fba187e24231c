/* invoice.c — calendar months, invoice lines built from transfers with their one rounding, and
 * the transfers that issue and settle an invoice. The rules are stated in invoice.h. */
#include "core/invoice.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S          INT64_C(86400)
#define EPOCH_YEAR_MIN 1
#define EPOCH_YEAR_MAX 9999
#define T_MIN          INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define T_END          INT64_C(253402300800) /* 10000-01-01T00:00:00Z */

const char *al_invoice_line_name(enum al_line_kind k)
{
    switch (k) {
    case AL_LINE_RESERVATION:
        return "reservation";
    case AL_LINE_DRAW:
        return "draw";
    case AL_LINE_POOL:
        return "pool";
    case AL_LINE_REFUND:
        return "refund";
    case AL_LINE_ADJUSTMENT:
        return "adjustment";
    }
    return "?";
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The date of a day count (Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

int al_invoice_civil(int64_t t, int *ret_year, int *ret_month, int *ret_day, struct al_err *reterr)
{
    int64_t y = 0, m = 0, d = 0;
    if (t < T_MIN || t >= T_END)
        return al_err_set(reterr, AL_E_RANGE, "time: %" PRId64 " is outside years 1..9999", t);
    /* floor division: t may be before 1970 */
    int64_t days = t / DAY_S - (t % DAY_S < 0);
    civil_from_days(days, &y, &m, &d);
    *ret_year = (int)y;
    *ret_month = (int)m;
    *ret_day = (int)d;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int al_invoice_epoch(int year, int month, int day, int64_t *ret, struct al_err *reterr)
{
    if (year < EPOCH_YEAR_MIN || year > EPOCH_YEAR_MAX || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month))
        return al_err_set(reterr, AL_E_INVAL, "date: %04d-%02d-%02d does not exist", year, month,
                          day);
    *ret = days_from_civil(year, month, day) * DAY_S;
    return 0;
}

int al_invoice_month(int64_t t, int64_t *ret_from, int64_t *ret_to, struct al_err *reterr)
{
    int y = 0, m = 0, d = 0;
    int rc = al_invoice_civil(t, &y, &m, &d, reterr);
    if (rc)
        return rc;
    *ret_from = days_from_civil(y, m, 1) * DAY_S;
    *ret_to = m == 12 ? days_from_civil((int64_t)y + 1, 1, 1) * DAY_S
                      : days_from_civil(y, (int64_t)m + 1, 1) * DAY_S;
    return 0;
}

/* One transfer's part of a line. */
struct rec {
    enum al_line_kind kind;
    enum al_ref_kind rk;
    uint64_t rid;
    int64_t amount; /* signed: + a charge to the payer, - money back to it */
};

static int rec_cmp(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->rk != y->rk)
        return x->rk < y->rk ? -1 : 1;
    return (x->rid > y->rid) - (x->rid < y->rid);
}

static bool same_account(const struct al_account *a, const struct al_account *b)
{
    return a->kind == b->kind && a->org == b->org;
}

/* The line a transfer goes on, or false when it is not on the invoice. */
static bool rec_of(const struct al_invoice_spec *s, const struct al_transfer *t, struct rec *r)
{
    bool debit = same_account(&t->debit, &s->payer), credit = same_account(&t->credit, &s->payer);
    if (t->at < s->from || t->at >= s->to || t->ref.kind == AL_REF_INVOICE || debit == credit ||
        t->amount <= 0)
        return false;
    switch (t->kind) {
    case AL_XFER_RESERVATION_CHARGE:
        r->kind = t->ref.kind == AL_REF_RESERVATION && t->ref.sub >= 0 ? AL_LINE_DRAW
                                                                       : AL_LINE_RESERVATION;
        break;
    case AL_XFER_USAGE:
        r->kind = AL_LINE_POOL;
        break;
    case AL_XFER_REFUND:
        r->kind = AL_LINE_REFUND;
        break;
    case AL_XFER_ADJUSTMENT:
        r->kind = AL_LINE_ADJUSTMENT;
        break;
    default:
        return false;
    }
    r->rk = t->ref.kind;
    r->rid = t->ref.id;
    r->amount = debit ? t->amount : -t->amount;
    return true;
}

static int check_spec(const struct al_invoice_spec *s, struct al_err *reterr)
{
    if ((s->payer.kind != AL_ACCT_ORG_ACCRUED && s->payer.kind != AL_ACCT_ORG_CASH) ||
        s->payer.org == 0)
        return al_err_set(reterr, AL_E_INVAL, "payer: not an org's org_cash or org_accrued");
    if (s->to <= s->from)
        return al_err_set(reterr, AL_E_INVAL, "to: not after from");
    if (s->minor <= 0 || s->minor > AL_MONEY_UNIT)
        return al_err_set(reterr, AL_E_INVAL, "minor: %" PRId64 " is not in 1..1000000", s->minor);
    return 0;
}

/* Group sorted records into lines, round each, and sum. */
static int fold(struct al_invoice *inv, const struct rec *r, size_t nr, struct al_err *reterr)
{
    for (size_t i = 0; i < nr; i++) {
        struct al_invoice_line *l = inv->nlines ? &inv->lines[inv->nlines - 1] : NULL;
        if (!l || rec_cmp(&r[i], &(struct rec){l->kind, l->ref.kind, l->ref.id, 0}) != 0) {
            l = &inv->lines[inv->nlines++];
            *l = (struct al_invoice_line){.kind = r[i].kind, .ref = {r[i].rk, r[i].rid, 0}};
        }
        l->ntransfers++;
        if (al_money_add(l->exact, r[i].amount, &l->exact))
            return al_err_set(reterr, AL_E_RANGE, "lines: a sum overflows");
    }
    for (size_t i = 0; i < inv->nlines; i++) {
        struct al_invoice_line *l = &inv->lines[i];
        if (al_money_round_half_even(l->exact, inv->spec.minor, &l->amount) ||
            al_money_add(inv->exact, l->exact, &inv->exact) ||
            al_money_add(inv->total, l->amount, &inv->total))
            return al_err_set(reterr, AL_E_RANGE, "lines: the total overflows");
    }
    inv->rounding = inv->total - inv->exact; /* |rounding| <= nlines × minor / 2: fits */
    return 0;
}

int al_invoice_build(const struct al_invoice_spec *s, const struct al_transfer *t, size_t n,
                     struct al_invoice *ret, struct al_err *reterr)
{
    struct rec *r = NULL;
    size_t nr = 0;
    int rc = 0;
    *ret = (struct al_invoice){.spec = *s};
    if ((rc = check_spec(s, reterr)))
        return rc;
    if (n > SIZE_MAX / sizeof *r || n > SIZE_MAX / sizeof *ret->lines)
        return al_err_set(reterr, AL_E_RANGE, "transfers: too many");
    r = calloc(n ? n : 1, sizeof *r);
    ret->lines = calloc(n ? n : 1, sizeof *ret->lines);
    if (!r || !ret->lines) {
        rc = al_err_set(reterr, AL_E_NOMEM, "invoice: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (rec_of(s, &t[i], &r[nr]))
            nr++;
    qsort(r, nr, sizeof *r, rec_cmp);
    rc = fold(ret, r, nr, reterr);
out:
    free(r);
    return rc;
}

void al_invoice_done(struct al_invoice *inv)
{
    if (!inv)
        return;
    free(inv->lines);
    inv->lines = NULL;
    inv->nlines = 0;
}

int al_invoice_check(const struct al_invoice *inv, struct al_err *reterr)
{
    int64_t exact = 0, total = 0, rounded = 0;
    if (inv->spec.minor <= 0)
        return al_err_set(reterr, AL_E_INVAL, "minor: not > 0");
    for (size_t i = 0; i < inv->nlines; i++) {
        const struct al_invoice_line *l = &inv->lines[i];
        if (al_money_round_half_even(l->exact, inv->spec.minor, &rounded) || rounded != l->amount)
            return al_err_set(reterr, AL_E_INVAL,
                              "lines[%zu].amount: %" PRId64 " is not %" PRId64 " rounded half-even",
                              i, l->amount, l->exact);
        if (al_money_add(exact, l->exact, &exact) || al_money_add(total, l->amount, &total))
            return al_err_set(reterr, AL_E_INVAL, "lines: the sums overflow");
    }
    if (exact != inv->exact)
        return al_err_set(reterr, AL_E_INVAL, "exact: %" PRId64 ", but the lines sum to %" PRId64,
                          inv->exact, exact);
    if (total != inv->total)
        return al_err_set(reterr, AL_E_INVAL, "total: %" PRId64 ", but the lines sum to %" PRId64,
                          inv->total, total);
    if (inv->rounding != total - exact)
        return al_err_set(reterr, AL_E_INVAL,
                          "rounding: %" PRId64 " is not total - exact (%" PRId64 ")", inv->rounding,
                          total - exact);
    return 0;
}

/* An invoice's own transfer (issue, rounding, payment: named after its kind), at `now`. */
static void fill(struct al_transfer *t, enum al_transfer_kind kind, struct al_account debit,
                 struct al_account credit, int64_t amount, const struct al_invoice *inv,
                 int64_t now)
{
    const char *what = kind == AL_XFER_ADJUSTMENT       ? "rounding"
                       : kind == AL_XFER_INVOICE_ISSUED ? "issue"
                                                        : "paid";
    *t = (struct al_transfer){.kind = kind,
                              .debit = debit,
                              .credit = credit,
                              .amount = amount,
                              .at = now,
                              .ref = {AL_REF_INVOICE, inv->spec.id, 0}};
    (void)al_ledger_key_invoice(t->key, inv->spec.id, what);
}

int al_invoice_issue(const struct al_invoice *inv, int64_t now, struct al_transfer ret[2],
                     size_t *ret_n, struct al_err *reterr)
{
    const struct al_account payer = inv->spec.payer, revenue = {AL_ACCT_REVENUE, 0};
    const struct al_account recv = {AL_ACCT_ORG_RECEIVABLE, payer.org};
    int rc = check_spec(&inv->spec, reterr);
    *ret_n = 0;
    if (rc || (rc = al_invoice_check(inv, reterr)))
        return rc;
    if (payer.kind == AL_ACCT_ORG_CASH)
        return 0; /* a statement: the money moved already */
    if (inv->total == INT64_MIN)
        return al_err_set(reterr, AL_E_RANGE, "total: out of range");
    if (inv->rounding > 0)
        fill(&ret[(*ret_n)++], AL_XFER_ADJUSTMENT, payer, revenue, inv->rounding, inv, now);
    else if (inv->rounding < 0)
        fill(&ret[(*ret_n)++], AL_XFER_ADJUSTMENT, revenue, payer, -inv->rounding, inv, now);
    if (inv->total > 0)
        fill(&ret[(*ret_n)++], AL_XFER_INVOICE_ISSUED, recv, payer, inv->total, inv, now);
    else if (inv->total < 0)
        fill(&ret[(*ret_n)++], AL_XFER_INVOICE_ISSUED, payer, recv, -inv->total, inv, now);
    return 0;
}

int al_invoice_pay(const struct al_invoice *inv, int64_t now, struct al_transfer *ret,
                   struct al_err *reterr)
{
    const struct al_account ext = {AL_ACCT_EXTERNAL, 0};
    const struct al_account recv = {AL_ACCT_ORG_RECEIVABLE, inv->spec.payer.org};
    int rc = check_spec(&inv->spec, reterr);
    if (rc)
        return rc;
    if (inv->spec.payer.kind != AL_ACCT_ORG_ACCRUED || inv->total == 0 || inv->total == INT64_MIN)
        return al_err_set(reterr, AL_E_STATE, "invoice %" PRIu64 ": nothing to pay (%s)",
                          inv->spec.id,
                          inv->spec.payer.kind == AL_ACCT_ORG_CASH ? "a statement" : "total 0");
    if (inv->total > 0)
        fill(ret, AL_XFER_INVOICE_PAID, ext, recv, inv->total, inv, now);
    else
        fill(ret, AL_XFER_INVOICE_PAID, recv, ext, -inv->total, inv, now);
    return 0;
}
