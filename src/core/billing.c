/* billing.c — reservation and pool-session decisions: confirm, extend, cancel or shorten,
 * balance draws, implied charges, pool metering and runway. The rules are stated in billing.h;
 * every amount is a difference of the cumulative charge C(t) (or U(t) for pools). */
#include "core/billing.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/invoice.h"

#define POOL_DIV (AL_SHARE_PER_GPU * AL_MONEY_HOUR) /* share-seconds in a GPU-hour */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static bool periodic(const struct al_contract *c)
{
    return c->terms == AL_TERMS_BALANCE || c->terms == AL_TERMS_INVOICED;
}

struct al_account al_billing_payer(const struct al_contract *c, uint64_t org)
{
    struct al_account a = {
        .kind = c->terms == AL_TERMS_INVOICED ? AL_ACCT_ORG_ACCRUED : AL_ACCT_ORG_CASH, .org = org};
    return a;
}

static int check_lines(const struct al_res_billing *r, struct al_err *reterr)
{
    if (r->nlines < 1 || r->nlines > AL_BILLING_MAX_LINES)
        return al_err_set(reterr, AL_E_INVAL, "lines: %u, not 1..%d", r->nlines,
                          AL_BILLING_MAX_LINES);
    for (unsigned i = 0; i < r->nlines; i++) {
        const struct al_price_line *l = &r->lines[i];
        if ((unsigned)l->unit > AL_PRICE_SLICE_HOUR || l->units < 1 || l->unit_price < 0 ||
            strnlen(l->what, sizeof l->what) == sizeof l->what)
            return al_err_set(reterr, AL_E_INVAL, "lines[%u]: bad unit, units or unit_price", i);
    }
    return 0;
}

int al_billing_check(const struct al_contract *c, const struct al_res_billing *r,
                     struct al_err *reterr)
{
    int rc = al_contract_validate(c, reterr);
    if (rc)
        return rc;
    if (r->id == 0)
        return al_err_set(reterr, AL_E_INVAL, "reservation: id 0");
    if (r->contract_id != c->id || r->contract_version != c->version || r->org != c->org)
        return al_err_set(reterr, AL_E_INVAL,
                          "contract: reservation %" PRIu64 " was confirmed under contract %" PRIu64
                          " v%" PRIu32 " of org %" PRIu64 ", not %" PRIu64 " v%" PRIu32,
                          r->id, r->contract_id, r->contract_version, r->org, c->id, c->version);
    if (r->end < r->start)
        return al_err_set(reterr, AL_E_INVAL, "end: before start");
    if (r->drawn < 0 || r->fees < 0 || r->share < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: negative",
                          r->drawn < 0  ? "drawn"
                          : r->fees < 0 ? "fees"
                                        : "share");
    return check_lines(r, reterr);
}

int al_billing_charge_to(const struct al_contract *c, const struct al_res_billing *r, int64_t t,
                         int64_t *ret, struct al_err *reterr)
{
    return al_contract_window_charge(&c->gran, r->lines, r->nlines, r->start, t, ret, reterr);
}

/* p(k) = start + k × P, checked. */
static int period_at(const struct al_contract *c, const struct al_res_billing *r, int64_t k,
                     int64_t *ret, struct al_err *reterr)
{
    int64_t off = 0;
    if (k < 0 || al_money_mul(k, c->draw_period_s, &off) || al_money_add(r->start, off, ret))
        return al_err_set(reterr, AL_E_RANGE, "period: %" PRId64 " is out of range", k);
    return 0;
}

/* C(b) - C(a) for start <= a <= b. */
static int charge_between(const struct al_contract *c, const struct al_res_billing *r, int64_t a,
                          int64_t b, int64_t *ret, struct al_err *reterr)
{
    int64_t ca = 0, cb = 0;
    int rc = 0;
    if ((rc = al_billing_charge_to(c, r, a, &ca, reterr)) ||
        (rc = al_billing_charge_to(c, r, b, &cb, reterr)))
        return rc;
    return al_money_sub(cb, ca, ret) ? al_err_set(reterr, AL_E_RANGE, "charge: overflow") : 0;
}

/* The sum of the draws of r (with end `end`) whose period begins in [from, to). */
static int periodic_spend(const struct al_contract *c, const struct al_res_billing *r, int64_t end,
                          int64_t from, int64_t to, int64_t *ret, struct al_err *reterr)
{
    int64_t lo = max64(from, r->start), hi = min64(to, end), p = c->draw_period_s;
    int64_t a = 0, b = 0;
    int rc = 0;
    *ret = 0;
    if (lo >= hi)
        return 0;
    /* the periods k with lo <= p(k) < hi: k in [ceil((lo-start)/P), ceil((hi-start)/P)) */
    int64_t klo = (lo - r->start) / p + ((lo - r->start) % p != 0);
    int64_t khi = (hi - r->start) / p + ((hi - r->start) % p != 0);
    if ((rc = period_at(c, r, klo, &a, reterr)) || (rc = period_at(c, r, khi, &b, reterr)))
        return rc;
    return charge_between(c, r, min64(end, a), min64(end, b), ret, reterr);
}

/* Append `t` (key included) to the decision, checked against the ledger's rules. */
static int push(struct al_decision *d, const struct al_transfer *t)
{
    if (d->n >= AL_DECISION_MAX)
        return AL_E_INTERNAL;
    d->t[d->n] = *t;
    return al_ledger_validate(&d->t[d->n++], NULL);
}

static struct al_account revenue(void)
{
    struct al_account a = {.kind = AL_ACCT_REVENUE, .org = 0};
    return a;
}

static int charge_transfer(const struct al_contract *c, const struct al_res_billing *r,
                           struct al_decision *d, int64_t amount, int64_t at, int64_t sub,
                           const char *key)
{
    struct al_transfer t = {.kind = AL_XFER_RESERVATION_CHARGE,
                            .debit = al_billing_payer(c, r->org),
                            .credit = revenue(),
                            .amount = amount,
                            .at = at,
                            .ref = {AL_REF_RESERVATION, r->id, sub}};
    if (amount == 0)
        return 0;
    (void)snprintf(t.key, sizeof t.key, "%s", key);
    return push(d, &t);
}

/* The month's spend an action adds under balance or invoiced terms: the change in the draws
 * beginning in now's month when the end moves from old_end to new_end. (Under prepaid terms it
 * is the amount charged now.) */
static int month_spend(const struct al_contract *c, const struct al_res_billing *r, int64_t old_end,
                       int64_t new_end, int64_t now, int64_t *ret, struct al_err *reterr)
{
    int64_t from = 0, to = 0, a = 0, b = 0;
    int rc = 0;
    if ((rc = al_invoice_month(now, &from, &to, reterr)) ||
        (rc = periodic_spend(c, r, old_end, from, to, &a, reterr)) ||
        (rc = periodic_spend(c, r, new_end, from, to, &b, reterr)))
        return rc;
    *ret = b - a; /* both within [0, C(new_end)]: no overflow */
    return 0;
}

int al_billing_confirm(const struct al_contract *c, const struct al_res_billing *r,
                       const struct al_org_usage *o, enum al_check_at at, int64_t now,
                       struct al_decision *dec, struct al_err *reterr)
{
    int64_t price = 0, spend = 0, need = 0, p1 = 0;
    char key[AL_LEDGER_KEY_MAX];
    int rc = 0;
    *dec = (struct al_decision){.end = r->end};
    if ((rc = al_billing_check(c, r, reterr)))
        return rc;
    if (at != AL_CHECK_QUOTE && at != AL_CHECK_CONFIRM && at != AL_CHECK_SELF_RESERVE)
        return al_err_set(reterr, AL_E_INVAL, "at: not a quote, confirmation or reservation");
    if (r->rev != 0 || r->drawn != 0 || r->fees != 0 || r->cancelled)
        return al_err_set(reterr, AL_E_STATE, "reservation %" PRIu64 ": changed already", r->id);
    if (r->end == r->start)
        return al_err_set(reterr, AL_E_INVAL, "end: not after start");
    if ((rc = al_billing_charge_to(c, r, r->end, &price, reterr)) ||
        (periodic(c) && (rc = month_spend(c, r, r->start, r->end, now, &spend, reterr))))
        return rc;
    if (!periodic(c))
        spend = price;
    struct al_limit_ask ask = {.at = at,
                               .now = now,
                               .start = r->start,
                               .end = r->end,
                               .share = r->share,
                               .month_spend = spend,
                               .counts_ahead = r->start > now};
    if ((rc = al_contract_check_limits(c, &ask, o, &dec->refusal, reterr)))
        return rc;
    dec->amount = price;
    if (at == AL_CHECK_QUOTE)
        return 0;
    need = price;
    if (c->terms == AL_TERMS_BALANCE) { /* the first period must be covered */
        if ((rc = period_at(c, r, 1, &p1, reterr)) ||
            (rc = al_billing_charge_to(c, r, min64(r->end, p1), &need, reterr)))
            return rc;
    }
    if ((rc = al_contract_check_funds(c, o, need, &dec->refusal, reterr)))
        return rc;
    if (c->terms != AL_TERMS_PREPAID)
        return 0;
    if ((rc = al_ledger_key_res(key, r->id, 0, "charge")) ||
        (rc = charge_transfer(c, r, dec, price, now, -1, key)))
        return al_err_set(reterr, rc, "charge: cannot build the transfer");
    return 0;
}

/* The extension's money: the price, what is charged now, and what the funds must cover. */
static int extend_amounts(const struct al_contract *c, const struct al_res_billing *r,
                          int64_t new_end, int64_t *price, int64_t *now_amount, int64_t *need,
                          struct al_err *reterr)
{
    int64_t pd = 0, pd1 = 0;
    int rc = charge_between(c, r, r->end, new_end, price, reterr);
    if (rc)
        return rc;
    *now_amount = *price;
    *need = *price;
    if (!periodic(c))
        return 0;
    if ((rc = period_at(c, r, r->drawn, &pd, reterr)) ||
        (rc = period_at(c, r, r->drawn + 1, &pd1, reterr)) ||
        (rc = charge_between(c, r, min64(r->end, pd), min64(new_end, pd), now_amount, reterr)))
        return rc;
    if (c->terms == AL_TERMS_BALANCE)
        return charge_between(c, r, min64(r->end, pd1), min64(new_end, pd1), need, reterr);
    return 0;
}

int al_billing_extend(const struct al_contract *c, const struct al_res_billing *r, int64_t new_end,
                      const struct al_org_usage *o, int64_t now, struct al_decision *dec,
                      struct al_err *reterr)
{
    int64_t price = 0, now_amount = 0, need = 0, spend = 0;
    char key[AL_LEDGER_KEY_MAX];
    int rc = 0;
    *dec = (struct al_decision){.end = r->end};
    if ((rc = al_billing_check(c, r, reterr)))
        return rc;
    if (r->cancelled || now >= r->end || r->end == r->start)
        return al_err_set(reterr, AL_E_STATE,
                          "reservation %" PRIu64 " is %s: a renewal is a new reservation", r->id,
                          r->cancelled ? "cancelled" : "over");
    if (new_end <= r->end)
        return al_err_set(reterr, AL_E_INVAL, "end: %" PRId64 " does not extend %" PRId64, new_end,
                          r->end);
    if ((rc = extend_amounts(c, r, new_end, &price, &now_amount, &need, reterr)) ||
        (periodic(c) && (rc = month_spend(c, r, r->end, new_end, now, &spend, reterr))))
        return rc;
    if (!periodic(c))
        spend = price;
    struct al_limit_ask ask = {.at = AL_CHECK_EXTEND,
                               .now = now,
                               .start = r->start,
                               .end = new_end,
                               .share = r->share,
                               .month_spend = spend};
    if ((rc = al_contract_check_limits(c, &ask, o, &dec->refusal, reterr)) ||
        (rc = al_contract_check_funds(c, o, need, &dec->refusal, reterr)))
        return rc;
    dec->amount = price;
    dec->end = new_end;
    if (r->rev == UINT32_MAX || (rc = al_ledger_key_res(key, r->id, r->rev + 1, "extend")) ||
        (rc = charge_transfer(c, r, dec, now_amount, now, -1, key)))
        return al_err_set(reterr, rc ? rc : AL_E_RANGE, "extend: cannot build the transfer");
    return 0;
}

/* e' of a cancellation or shortening (billing.h): never before the end of the hour in
 * progress counted from start, never after the current end. */
static int cancel_end(const struct al_res_billing *r, const struct al_cancel *q, int64_t *ret)
{
    int64_t used = r->start;
    if (q->now > r->start) {
        int64_t len = q->now - r->start; /* > 0; now < end, so it fits */
        int64_t hours = len / AL_MONEY_HOUR + (len % AL_MONEY_HOUR != 0);
        if (al_money_mul(hours, AL_MONEY_HOUR, &used) || al_money_add(r->start, used, &used))
            return AL_E_RANGE;
    }
    *ret = min64(max64(q->new_end, used), r->end);
    return 0;
}

static int cancel_checks(const struct al_contract *c, const struct al_res_billing *r,
                         const struct al_cancel *q, struct al_err *reterr)
{
    int rc = al_billing_check(c, r, reterr);
    if (rc)
        return rc;
    if (r->cancelled || q->now >= r->end || r->end == r->start)
        return al_err_set(reterr, AL_E_STATE, "reservation %" PRIu64 " is %s", r->id,
                          r->cancelled ? "cancelled already" : "over");
    if (q->new_end >= r->end || q->new_end < q->now)
        return al_err_set(reterr, AL_E_INVAL,
                          "end: %" PRId64 " is not between now (%" PRId64 ") and the end (%" PRId64
                          ")",
                          q->new_end, q->now, r->end);
    if (q->who == AL_BY_ORG_ADMIN && c->terms == AL_TERMS_PREPAID && r->start <= q->now &&
        !c->admin_may_cancel_active)
        return al_err_set(reterr, AL_E_FORBIDDEN,
                          "contract %" PRIu64 " v%" PRIu32 " lets only an operator cancel or "
                          "shorten an active prepaid reservation",
                          c->id, c->version);
    if (q->who != AL_BY_ORG_ADMIN && q->who != AL_BY_OPERATOR)
        return al_err_set(reterr, AL_E_INVAL, "who: unknown canceller");
    return 0;
}

/* fee = min(unused, cancel_fee + floor(given_up × bps / 10000)), 0 when nothing is given up. */
static int cancel_fee(const struct al_contract *c, int64_t unused, int64_t given_up, int64_t *ret)
{
    int64_t f = 0;
    if (given_up == 0) {
        *ret = 0;
        return 0;
    }
    if (al_money_muldiv(given_up, c->cancel_fee_bps, 10000, &f) ||
        al_money_add(f, c->cancel_fee, &f))
        return AL_E_RANGE;
    *ret = min64(f, unused);
    return 0;
}

int al_billing_cancel(const struct al_contract *c, const struct al_res_billing *r,
                      const struct al_cancel *q, struct al_decision *dec, struct al_err *reterr)
{
    int64_t e2 = 0, horizon = INT64_MAX, unused = 0, given_up = 0, fee = 0;
    int rc = 0;
    *dec = (struct al_decision){.end = r->end};
    if ((rc = cancel_checks(c, r, q, reterr)))
        return rc;
    if (cancel_end(r, q, &e2) || r->rev == UINT32_MAX)
        return al_err_set(reterr, AL_E_RANGE, "end: out of range");
    /* paid for so far: up to the end (prepaid) or the end of the drawn periods */
    if (periodic(c) && (rc = period_at(c, r, r->drawn, &horizon, reterr)))
        return rc;
    if ((rc = charge_between(c, r, min64(e2, horizon), min64(r->end, horizon), &unused, reterr)) ||
        (rc = charge_between(c, r, e2, r->end, &given_up, reterr)))
        return rc;
    if (cancel_fee(c, unused, given_up, &fee))
        return al_err_set(reterr, AL_E_RANGE, "cancel_fee: overflows");
    dec->end = e2;
    dec->fee = fee;
    dec->amount = unused - fee;
    if (dec->amount == 0)
        return 0;
    struct al_transfer t = {.kind = AL_XFER_REFUND,
                            .debit = {AL_ACCT_REFUNDS, 0},
                            .credit = al_billing_payer(c, r->org),
                            .amount = dec->amount,
                            .at = q->now,
                            .ref = {AL_REF_RESERVATION, r->id, -1}};
    if ((rc = al_ledger_key_res(t.key, r->id, r->rev + 1, "refund")) || (rc = push(dec, &t)))
        return al_err_set(reterr, rc, "refund: cannot build the transfer");
    return 0;
}

int al_billing_degraded_credit(const struct al_contract *c, const struct al_res_billing *r,
                               int64_t unit, int64_t nunits, int64_t since, struct al_decision *dec,
                               struct al_err *reterr)
{
    int64_t from = 0, rest = 0;
    int rc = 0;
    *dec = (struct al_decision){.end = r->end};
    if ((rc = al_billing_check(c, r, reterr)))
        return rc;
    if (nunits < 1 || unit < 0 || unit >= nunits)
        return al_err_set(reterr, AL_E_INVAL, "unit: %" PRId64 " is not one of %" PRId64, unit,
                          nunits);
    if (r->cancelled)
        return al_err_set(reterr, AL_E_STATE,
                          "reservation %" PRIu64 " was cancelled: nothing left to credit", r->id);
    from = min64(max64(since, r->start), r->end);
    if ((rc = charge_between(c, r, from, r->end, &rest, reterr)))
        return rc;
    dec->amount = rest / nunits;
    if (dec->amount == 0)
        return 0;
    struct al_transfer t = {.kind = AL_XFER_ADJUSTMENT,
                            .debit = revenue(),
                            .credit = al_billing_payer(c, r->org),
                            .amount = dec->amount,
                            .at = since,
                            .ref = {AL_REF_RESERVATION, r->id, -1}};
    if (snprintf(t.key, sizeof t.key, "res:%" PRIu64 ":degraded:%" PRId64, r->id, unit) >=
            (int)sizeof t.key ||
        push(dec, &t) != 0)
        return al_err_set(reterr, AL_E_INTERNAL, "credit: cannot build the transfer");
    return 0;
}

int al_billing_degraded_follow(const struct al_contract *c, const struct al_res_billing *r,
                               const struct al_degraded_unit *u, int64_t new_end, int64_t at,
                               struct al_decision *dec, struct al_err *reterr)
{
    int64_t amount = 0;
    bool longer = new_end > r->end;
    int rc = 0;
    *dec = (struct al_decision){.end = new_end};
    if ((rc = al_billing_check(c, r, reterr)))
        return rc;
    if (u->nunits < 1 || u->unit < 0 || u->unit >= u->nunits || new_end < r->start ||
        r->rev == UINT32_MAX)
        return al_err_set(reterr, AL_E_INVAL, "unit %" PRId64 " of %" PRId64 ", or the new end",
                          u->unit, u->nunits);
    int64_t a = longer ? max64(r->end, u->since) : max64(new_end, u->since);
    int64_t b = longer ? new_end : r->end;
    if (a < b && (rc = charge_between(c, r, max64(a, r->start), b, &amount, reterr)))
        return rc;
    amount /= u->nunits;
    if (amount == 0)
        return 0;
    dec->amount = longer ? amount : -amount;
    struct al_transfer t = {.kind = AL_XFER_ADJUSTMENT,
                            .debit = longer ? revenue() : al_billing_payer(c, r->org),
                            .credit = longer ? al_billing_payer(c, r->org) : revenue(),
                            .amount = amount,
                            .at = at,
                            .ref = {AL_REF_RESERVATION, r->id, -1}};
    if (snprintf(t.key, sizeof t.key, "res:%" PRIu64 ":r%" PRIu32 ":degraded:%" PRId64, r->id,
                 r->rev + 1, u->unit) >= (int)sizeof t.key ||
        push(dec, &t) != 0)
        return al_err_set(reterr, AL_E_INTERNAL, "credit: cannot build the transfer");
    return 0;
}

/* Periods of r's window: ceil((end - start) / P). */
static int64_t periods_of(const struct al_contract *c, const struct al_res_billing *r)
{
    int64_t len = r->end - r->start, p = c->draw_period_s;
    return len / p + (len % p != 0);
}

int al_billing_draws_due(const struct al_contract *c, const struct al_res_billing *r, int64_t now,
                         int64_t *ret, struct al_err *reterr)
{
    int rc = al_billing_check(c, r, reterr);
    if (rc)
        return rc;
    *ret = 0;
    if (!periodic(c) || now < r->start || r->end == r->start)
        return 0;
    *ret = min64(periods_of(c, r), (now - r->start) / c->draw_period_s + 1);
    return 0;
}

int al_billing_draw(const struct al_contract *c, const struct al_res_billing *r, int64_t k,
                    const struct al_org_usage *o, struct al_decision *dec, struct al_err *reterr)
{
    int64_t pk = 0, pk1 = 0;
    char key[AL_LEDGER_KEY_MAX];
    int rc = 0;
    *dec = (struct al_decision){.end = r->end};
    if ((rc = al_billing_check(c, r, reterr)))
        return rc;
    if (!periodic(c))
        return al_err_set(reterr, AL_E_STATE, "draw: prepaid reservations have no draws");
    if (k != r->drawn)
        return al_err_set(reterr, AL_E_STATE,
                          "draw: period %" PRId64 " of reservation %" PRIu64 " is not the next "
                          "one (%" PRId64 ")",
                          k, r->id, r->drawn);
    if ((rc = period_at(c, r, k, &pk, reterr)) || (rc = period_at(c, r, k + 1, &pk1, reterr)))
        return rc;
    if (pk >= r->end)
        return al_err_set(reterr, AL_E_STATE, "draw: period %" PRId64 " begins after the end", k);
    if ((rc = charge_between(c, r, pk, min64(r->end, pk1), &dec->amount, reterr)))
        return rc;
    if (c->terms == AL_TERMS_BALANCE &&
        (rc = al_contract_check_funds(c, o, dec->amount, &dec->refusal, reterr))) {
        dec->stop = rc == AL_E_PAYMENT;
        dec->end = dec->stop ? pk : r->end;
        return rc;
    }
    if ((rc = al_ledger_key_draw(key, r->id, k)) ||
        (rc = charge_transfer(c, r, dec, dec->amount, pk, k, key)))
        return al_err_set(reterr, rc, "draw: cannot build the transfer");
    return 0;
}

int al_billing_periods_covered(const struct al_contract *c, const struct al_res_billing *r,
                               int64_t available, int64_t *ret, struct al_err *reterr)
{
    int64_t pd = 0, base = 0, lo = 0, hi = 0;
    int rc = al_billing_check(c, r, reterr);
    if (rc)
        return rc;
    *ret = 0;
    if (!periodic(c) || r->end == r->start || available < 0)
        return 0;
    hi = max64(periods_of(c, r) - r->drawn, 0);
    if ((rc = period_at(c, r, r->drawn, &pd, reterr)) ||
        (rc = al_billing_charge_to(c, r, min64(r->end, pd), &base, reterr)))
        return rc;
    /* the largest j in [0, hi] whose draws cost at most `available`: cost grows with j */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2, pj = 0, cj = 0;
        if ((rc = period_at(c, r, r->drawn + mid, &pj, reterr)) ||
            (rc = al_billing_charge_to(c, r, min64(r->end, pj), &cj, reterr)))
            return rc;
        if (cj - base <= available)
            lo = mid;
        else
            hi = mid - 1;
    }
    *ret = lo;
    return 0;
}

int al_billing_implied(const struct al_contract *c, const struct al_res_billing *r, int64_t now,
                       int64_t *ret, struct al_err *reterr)
{
    int64_t billed_end = r->end, due = 0, pdue = 0, charge = 0;
    int rc = al_billing_draws_due(c, r, now, &due, reterr);
    if (rc)
        return rc;
    if (periodic(c)) {
        if ((rc = period_at(c, r, due, &pdue, reterr)))
            return rc;
        billed_end = min64(r->end, pdue);
    }
    if ((rc = al_billing_charge_to(c, r, billed_end, &charge, reterr)))
        return rc;
    if (al_money_add(charge, r->fees, ret))
        return al_err_set(reterr, AL_E_RANGE, "fees: overflow");
    return 0;
}

/* ---- pay-as-you-go pool sessions ---- */

/* U(t) - U(start) for a session: floor(share × secs × rate / (27720 × 3600)). */
static int pool_cum(const struct al_pool_session *s, int64_t secs, int64_t *ret)
{
    int64_t q = 0;
    if (al_money_mul(s->share, secs, &q) || al_money_muldiv(q, s->rate, POOL_DIV, ret))
        return AL_E_RANGE;
    return 0;
}

int al_billing_pool_usage(const struct al_pool_session *s, int64_t from, int64_t to, int64_t *ret,
                          struct al_err *reterr)
{
    int64_t a = 0, b = 0;
    if (s->share < 0 || s->rate < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: negative", s->share < 0 ? "share" : "rate");
    if (from < s->start || to < from)
        return al_err_set(reterr, AL_E_INVAL,
                          "to: [%" PRId64 ", %" PRId64 ") is not within the session from %" PRId64,
                          from, to, s->start);
    /* from - start and to - start: both in [0, to - start], which fits when to - start does */
    if (to - s->start < 0 || pool_cum(s, from - s->start, &a) || pool_cum(s, to - s->start, &b))
        return al_err_set(reterr, AL_E_RANGE, "usage: overflows int64 micro-units");
    *ret = b - a;
    return 0;
}

int al_billing_pool_hour_cost(const struct al_pool_session *s, int64_t *ret, struct al_err *reterr)
{
    if (s->share < 0 || s->rate < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: negative", s->share < 0 ? "share" : "rate");
    if (pool_cum(s, AL_MONEY_HOUR, ret))
        return al_err_set(reterr, AL_E_RANGE, "usage: overflows int64 micro-units");
    return 0;
}

int al_billing_pool_start(const struct al_contract *c, const struct al_pool_session *s,
                          const struct al_org_usage *o, int64_t now, struct al_decision *dec,
                          struct al_err *reterr)
{
    int64_t hour = 0, need = 0;
    int rc = 0;
    *dec = (struct al_decision){.end = now};
    if ((rc = al_contract_validate(c, reterr)))
        return rc;
    if (s->org != c->org || s->metered_to != s->start)
        return al_err_set(reterr, AL_E_INVAL, "session: %s",
                          s->org != c->org ? "another org's contract" : "metered already");
    if ((rc = al_billing_pool_hour_cost(s, &hour, reterr)))
        return rc;
    struct al_limit_ask ask = {.at = AL_CHECK_POOL_START,
                               .now = now,
                               .start = now,
                               .end = now,
                               .share = s->share,
                               .month_spend = hour};
    if ((rc = al_contract_check_limits(c, &ask, o, &dec->refusal, reterr)))
        return rc;
    /* one hour of runway for everything running, this session included */
    if (al_money_add(o->pool_hour_cost, hour, &need))
        return al_err_set(reterr, AL_E_RANGE, "pool_hour_cost: overflows");
    dec->amount = hour;
    return al_contract_check_funds(c, o, need, &dec->refusal, reterr);
}

int al_billing_pool_meter(const struct al_contract *c, const struct al_pool_session *s, int64_t to,
                          const struct al_org_usage *o, struct al_decision *dec,
                          struct al_err *reterr)
{
    int64_t amount = 0, avail = 0;
    int rc = 0;
    *dec = (struct al_decision){.end = to};
    if ((rc = al_contract_validate(c, reterr)))
        return rc;
    if (s->org != c->org)
        return al_err_set(reterr, AL_E_INVAL, "session: another org's contract");
    if ((rc = al_billing_pool_usage(s, s->metered_to, to, &amount, reterr)))
        return rc;
    dec->amount = amount;
    if (c->terms != AL_TERMS_INVOICED) {
        if (al_money_add(o->cash, c->limits.credit_limit, &avail))
            return al_err_set(reterr, AL_E_RANGE, "credit_limit: overflows");
        if (amount > avail) { /* the floor holds: charge what is left, forgive the rest */
            dec->amount = max64(avail, 0);
            dec->forgiven = amount - dec->amount;
            dec->stop = true;
            (void)al_refusal_balance(&dec->refusal, o->cash, c->limits.credit_limit, amount,
                                     reterr);
        }
    }
    if (dec->amount == 0)
        return 0;
    struct al_transfer t = {.kind = AL_XFER_USAGE,
                            .debit = al_billing_payer(c, s->org),
                            .credit = revenue(),
                            .amount = dec->amount,
                            .at = to,
                            .ref = {AL_REF_POOL, s->id, s->metered_to}};
    if ((rc = al_ledger_key_pool(t.key, s->id, s->metered_to)) || (rc = push(dec, &t)))
        return al_err_set(reterr, rc, "usage: cannot build the transfer");
    return 0;
}

int al_billing_pool_runway(const struct al_contract *c, const struct al_org_usage *o, int64_t now,
                           int64_t *ret_until, struct al_err *reterr)
{
    int64_t avail = 0, x = 0, credit = c->limits.credit_limit;
    *ret_until = INT64_MAX;
    if (o->pool_hour_cost <= 0 || (c->terms == AL_TERMS_INVOICED && credit == AL_LIMIT_NONE))
        return 0;
    if (c->terms == AL_TERMS_INVOICED ? al_money_sub(credit, o->owed, &avail)
                                      : al_money_add(o->cash, credit, &avail))
        return al_err_set(reterr, AL_E_RANGE, "credit_limit: overflows");
    if (avail <= 0) {
        *ret_until = now;
        return 0;
    }
    /* floor(avail × 3600 / cost); a product beyond int64 is a runway beyond any date */
    if (al_money_mul(avail, AL_MONEY_HOUR, &x) || al_money_add(now, x / o->pool_hour_cost, &x))
        return 0;
    *ret_until = x;
    return 0;
}
