/* contract.c — contract terms: validation, amendments, rates, the granularity rule, GPU share
 * units and the limit checks. The rules are stated in contract.h. */
#include "core/contract.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BPS_ONE 10000

static const char *const terms_names[] = {"prepaid", "balance", "invoiced"};
static const char *const gran_names[] = {"second", "minute", "hour"};

const char *al_contract_terms_name(enum al_terms t)
{
    return (unsigned)t < 3 ? terms_names[t] : "?";
}

const char *al_contract_gran_name(enum al_gran_unit g)
{
    return (unsigned)g < 3 ? gran_names[g] : "?";
}

int al_contract_terms_parse(const char *s, enum al_terms *ret)
{
    for (unsigned i = 0; s && i < 3; i++) {
        if (strcmp(s, terms_names[i]) == 0) {
            *ret = (enum al_terms)i;
            return 0;
        }
    }
    return AL_E_INVAL;
}

int al_contract_gran_parse(const char *s, enum al_gran_unit *ret)
{
    for (unsigned i = 0; s && i < 3; i++) {
        if (strcmp(s, gran_names[i]) == 0) {
            *ret = (enum al_gran_unit)i;
            return 0;
        }
    }
    return AL_E_INVAL;
}

static int check_gran(const struct al_granularity *g, struct al_err *reterr)
{
    if ((unsigned)g->unit > AL_GRAN_HOUR)
        return al_err_set(reterr, AL_E_INVAL, "granularity: unknown unit %d", (int)g->unit);
    if (g->unit == AL_GRAN_HOUR && (g->min_hours < 1 || g->min_hours > AL_MIN_HOURS_MAX))
        return al_err_set(reterr, AL_E_INVAL, "min_hours: %" PRId64 " is not in 1..%" PRId64,
                          g->min_hours, AL_MIN_HOURS_MAX);
    if (g->unit != AL_GRAN_HOUR && g->min_hours != 0)
        return al_err_set(reterr, AL_E_INVAL, "min_hours: only whole-hour billing has one");
    return 0;
}

static bool name_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    return n > 0 && n < max;
}

static int check_rates(const struct al_contract *c, struct al_err *reterr)
{
    if (c->nrates > AL_CONTRACT_MAX_RATES)
        return al_err_set(reterr, AL_E_INVAL, "rates: %u, at most %d", c->nrates,
                          AL_CONTRACT_MAX_RATES);
    for (unsigned i = 0; i < c->nrates; i++) {
        const struct al_contract_rate *r = &c->rates[i];
        if (!name_ok(r->model, sizeof r->model))
            return al_err_set(reterr, AL_E_INVAL, "rates[%u].model: empty or too long", i);
        if (r->rates.gpu_hour < 0 || r->rates.mig_slice_hour < 0 || r->rates.pool_gpu_hour < 0)
            return al_err_set(reterr, AL_E_INVAL, "rates[%u]: a negative price for %s", i,
                              r->model);
        for (unsigned j = 0; j < i; j++)
            if (strcmp(c->rates[j].model, r->model) == 0)
                return al_err_set(reterr, AL_E_INVAL, "rates[%u].model: %s is listed twice", i,
                                  r->model);
    }
    return 0;
}

static int check_limit(int64_t v, const char *name, struct al_err *reterr)
{
    if (v < 0 && v != AL_LIMIT_NONE)
        return al_err_set(reterr, AL_E_INVAL, "%s: %" PRId64 " is negative", name, v);
    return 0;
}

static int check_limits(const struct al_contract *c, struct al_err *reterr)
{
    const struct al_contract_limits *l = &c->limits;
    int rc = 0;
    if (l->credit_limit == AL_LIMIT_NONE && c->terms != AL_TERMS_INVOICED)
        return al_err_set(reterr, AL_E_INVAL,
                          "credit_limit: must be set (0 or more) under %s terms",
                          terms_names[c->terms]);
    if ((rc = check_limit(l->credit_limit, "credit_limit", reterr)) ||
        (rc = check_limit(l->max_gpus, "max_concurrent_gpus", reterr)) ||
        (rc = check_limit(l->max_length_s, "max_reservation_length", reterr)) ||
        (rc = check_limit(l->max_ahead, "max_reservations_ahead", reterr)) ||
        (rc = check_limit(l->month_cap, "monthly_spend_cap", reterr)))
        return rc;
    return 0;
}

int al_contract_validate(const struct al_contract *c, struct al_err *reterr)
{
    int rc = 0;
    if (c->id == 0 || c->org == 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: must be > 0", c->id == 0 ? "id" : "org");
    if (c->version < 1)
        return al_err_set(reterr, AL_E_INVAL, "version: must be >= 1");
    if ((unsigned)c->terms > AL_TERMS_INVOICED)
        return al_err_set(reterr, AL_E_INVAL, "terms: unknown %d", (int)c->terms);
    if (c->valid_to <= c->valid_from)
        return al_err_set(reterr, AL_E_INVAL, "valid_to: not after valid_from");
    if ((rc = check_gran(&c->gran, reterr)))
        return rc;
    if (c->draw_period_s != AL_MONEY_HOUR && c->draw_period_s != AL_MONEY_DAY)
        return al_err_set(reterr, AL_E_INVAL, "draw_period: %" PRId64 " s, not an hour or a day",
                          c->draw_period_s);
    if (c->discount_bps < 0 || c->discount_bps > BPS_ONE)
        return al_err_set(reterr, AL_E_INVAL, "discount_bps: %d is not in 0..10000",
                          (int)c->discount_bps);
    if (c->cancel_fee < 0)
        return al_err_set(reterr, AL_E_INVAL, "cancel_fee: negative");
    if (c->cancel_fee_bps < 0 || c->cancel_fee_bps > BPS_ONE)
        return al_err_set(reterr, AL_E_INVAL, "cancel_fee_bps: %d is not in 0..10000",
                          (int)c->cancel_fee_bps);
    if ((rc = check_rates(c, reterr)) || (rc = check_limits(c, reterr)))
        return rc;
    return 0;
}

int al_contract_amend_check(const struct al_contract *prev, const struct al_contract *next,
                            struct al_err *reterr)
{
    if (next->id != prev->id)
        return al_err_set(reterr, AL_E_INVAL, "id: an amendment keeps the contract's id");
    if (next->org != prev->org)
        return al_err_set(reterr, AL_E_INVAL, "org: an amendment keeps the contract's org");
    if (prev->version == UINT32_MAX || next->version != prev->version + 1)
        return al_err_set(reterr, AL_E_INVAL, "version: %" PRIu32 " does not follow %" PRIu32,
                          next->version, prev->version);
    return al_contract_validate(next, reterr);
}

int al_contract_active(const struct al_contract *c, int64_t now, struct al_err *reterr)
{
    if (now < c->valid_from || now >= c->valid_to)
        return al_err_set(reterr, AL_E_STATE,
                          "contract %" PRIu64 " v%" PRIu32 " is valid from %" PRId64 " to %" PRId64
                          ", not at %" PRId64,
                          c->id, c->version, c->valid_from, c->valid_to, now);
    return 0;
}

static int discounted(int64_t list, int32_t bps, int64_t *ret)
{
    if (list < 0)
        return AL_E_INVAL;
    return al_money_muldiv(list, BPS_ONE - bps, BPS_ONE, ret);
}

int al_contract_rates_for(const struct al_contract *c, const char *model,
                          const struct al_rates *list, struct al_rates *ret, struct al_err *reterr)
{
    struct al_rates r = {0};
    for (unsigned i = 0; model && i < c->nrates && i < AL_CONTRACT_MAX_RATES; i++) {
        if (strncmp(c->rates[i].model, model, sizeof c->rates[i].model) == 0) {
            *ret = c->rates[i].rates;
            return 0;
        }
    }
    if (discounted(list->gpu_hour, c->discount_bps, &r.gpu_hour) ||
        discounted(list->mig_slice_hour, c->discount_bps, &r.mig_slice_hour) ||
        discounted(list->pool_gpu_hour, c->discount_bps, &r.pool_gpu_hour))
        return al_err_set(reterr, AL_E_INVAL, "price: a negative list price for %s",
                          model ? model : "?");
    *ret = r;
    return 0;
}

/* ceil(a / b) for a >= 0, b > 0, without the a + b - 1 that could overflow. */
static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

int al_contract_billed_seconds(const struct al_granularity *g, int64_t secs, int64_t *ret)
{
    int64_t hours = 0;
    if (secs < 0 || check_gran(g, NULL))
        return AL_E_INVAL;
    if (secs == 0) {
        *ret = 0;
        return 0;
    }
    switch (g->unit) {
    case AL_GRAN_SECOND:
        *ret = secs;
        return 0;
    case AL_GRAN_MINUTE:
        return al_money_mul(ceil_div(secs, 60), 60, ret);
    case AL_GRAN_HOUR:
        hours = ceil_div(secs, AL_MONEY_HOUR);
        return al_money_mul(hours < g->min_hours ? g->min_hours : hours, AL_MONEY_HOUR, ret);
    }
    return AL_E_INVAL;
}

char *al_contract_gran_text(const struct al_granularity *g, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    switch (g->unit) {
    case AL_GRAN_SECOND:
        (void)snprintf(buf, size, "per second");
        break;
    case AL_GRAN_MINUTE:
        (void)snprintf(buf, size, "per minute, a started minute in full");
        break;
    case AL_GRAN_HOUR:
        (void)snprintf(buf, size, "whole hours, a started hour in full, minimum %" PRId64 " h",
                       g->min_hours);
        break;
    default:
        (void)snprintf(buf, size, "?");
    }
    return buf;
}

int al_contract_line_charge(const struct al_granularity *g, const struct al_price_line *l,
                            int64_t secs, int64_t *ret, struct al_err *reterr)
{
    int64_t billed = 0, q = 0, amount = 0;
    int rc = 0;
    if ((unsigned)l->unit > AL_PRICE_SLICE_HOUR || l->units < 1 || l->unit_price < 0)
        return al_err_set(reterr, AL_E_INVAL,
                          "lines: unit unknown, units < 1 or unit_price < 0 (%s)", l->what);
    if (secs < 0 || check_gran(g, reterr))
        return al_err_set(reterr, AL_E_INVAL, "window: %" PRId64 " s cannot be billed", secs);
    rc = al_contract_billed_seconds(g, secs, &billed);
    if (rc == 0 && g->unit == AL_GRAN_SECOND) /* units × secs, then × rate / 3600, floored */
        rc = al_money_mul(l->units, billed, &q) ||
             al_money_muldiv(q, l->unit_price, AL_MONEY_HOUR, &amount);
    else if (rc == 0 && g->unit == AL_GRAN_MINUTE) /* units × minutes, × rate / 60, floored */
        rc = al_money_mul(l->units, billed / 60, &q) ||
             al_money_muldiv(q, l->unit_price, 60, &amount);
    else if (rc == 0) /* units × hours, then × rate: quote.h's order, exact */
        rc = al_money_mul(l->units, billed / AL_MONEY_HOUR, &q) ||
             al_money_mul(q, l->unit_price, &amount);
    if (rc)
        return al_err_set(reterr, AL_E_RANGE,
                          "count: %" PRId64 " units for %" PRId64 " s at %" PRId64
                          " overflows int64 micro-units",
                          l->units, secs, l->unit_price);
    *ret = amount;
    return 0;
}

int al_contract_window_charge(const struct al_granularity *g, const struct al_price_line *lines,
                              size_t n, int64_t start, int64_t end, int64_t *ret,
                              struct al_err *reterr)
{
    int64_t secs = 0, sum = 0;
    if (end < start || al_money_sub(end, start, &secs))
        return al_err_set(reterr, AL_E_INVAL, "end: before start, or the window overflows");
    for (size_t i = 0; i < n; i++) {
        int64_t a = 0;
        int rc = al_contract_line_charge(g, &lines[i], secs, &a, reterr);
        if (rc)
            return rc;
        if (al_money_add(sum, a, &sum))
            return al_err_set(reterr, AL_E_RANGE, "lines: the total overflows");
    }
    *ret = sum;
    return 0;
}

int al_contract_gpu_share(unsigned slices, unsigned total_slices, int64_t count, int64_t *ret,
                          struct al_err *reterr)
{
    if (total_slices < 1 || total_slices > 12)
        return al_err_set(reterr, AL_E_INVAL, "total_slices: %u is not in 1..12", total_slices);
    if (slices < 1 || slices > total_slices)
        return al_err_set(reterr, AL_E_INVAL, "slices: %u is not in 1..%u", slices, total_slices);
    if (count < 0)
        return al_err_set(reterr, AL_E_INVAL, "count: negative");
    /* 27720 is divisible by every total in 1..12, so each instance is a whole number */
    if (al_money_mul(count, (int64_t)slices * (AL_SHARE_PER_GPU / total_slices), ret))
        return al_err_set(reterr, AL_E_RANGE, "count: %" PRId64 " overflows", count);
    return 0;
}

struct edge {
    int64_t t;
    int64_t delta; /* +share at a start, -share at an end */
};

static int edge_cmp(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    /* ends before starts at one instant: spans are half-open */
    return (x->delta > y->delta) - (x->delta < y->delta);
}

int al_contract_peak_share(const struct al_share_span *spans, size_t n, int64_t from, int64_t to,
                           int64_t *ret, struct al_err *reterr)
{
    struct edge *e = NULL;
    size_t ne = 0;
    int64_t cur = 0, peak = 0;
    int rc = 0;
    if (n > SIZE_MAX / (2 * sizeof *e))
        return al_err_set(reterr, AL_E_RANGE, "spans: too many");
    e = malloc((n ? 2 * n : 1) * sizeof *e);
    if (!e)
        return al_err_set(reterr, AL_E_NOMEM, "spans: out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct al_share_span *s = &spans[i];
        if (s->end < s->start || s->share < 0) {
            rc = al_err_set(reterr, AL_E_INVAL, "spans[%zu]: end before start or share < 0", i);
            goto out;
        }
        int64_t a = s->start > from ? s->start : from, b = s->end < to ? s->end : to;
        if (a >= b || s->share == 0)
            continue; /* not alive inside [from, to) */
        e[ne++] = (struct edge){a, s->share};
        e[ne++] = (struct edge){b, -s->share};
    }
    qsort(e, ne, sizeof *e, edge_cmp);
    for (size_t i = 0; i < ne; i++) {
        if (al_money_add(cur, e[i].delta, &cur)) {
            rc = al_err_set(reterr, AL_E_RANGE, "spans: the share sum overflows");
            goto out;
        }
        if (cur > peak)
            peak = cur;
    }
    *ret = peak;
out:
    free(e);
    return rc;
}

/* One limit: refuse when in_use + asked > value (a NONE limit passes). */
static int over(const char *name, const char *unit, int64_t value, int64_t in_use, int64_t asked,
                struct al_refusal *r, struct al_err *reterr)
{
    int64_t sum = 0;
    if (value == AL_LIMIT_NONE)
        return 0;
    if (al_money_add(in_use, asked, &sum) || sum > value)
        return al_refusal_limit(r, name, unit, value, in_use, asked, reterr);
    return 0;
}

int al_contract_check_limits(const struct al_contract *c, const struct al_limit_ask *a,
                             const struct al_org_usage *o, struct al_refusal *ret_refusal,
                             struct al_err *reterr)
{
    const struct al_contract_limits *l = &c->limits;
    struct al_refusal dummy = {0};
    struct al_refusal *r = ret_refusal ? ret_refusal : &dummy;
    int64_t len = 0;
    int rc = 0;
    *r = (struct al_refusal){0};
    if ((rc = al_contract_active(c, a->now, reterr)))
        return rc;
    if (a->at == AL_CHECK_SELF_RESERVE && !c->self_service)
        return al_err_set(reterr, AL_E_FORBIDDEN,
                          "contract %" PRIu64 " v%" PRIu32 " does not allow self-service "
                          "reservations",
                          c->id, c->version);
    if (a->share < 0 || a->month_spend < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: negative",
                          a->share < 0 ? "share" : "month_spend");
    if (a->at != AL_CHECK_POOL_START && (a->end < a->start || al_money_sub(a->end, a->start, &len)))
        return al_err_set(reterr, AL_E_INVAL, "end: before start");
    if ((a->at != AL_CHECK_POOL_START &&
         (rc = over("max_reservation_length", "seconds", l->max_length_s, 0, len, r, reterr))) ||
        (rc = over("max_concurrent_gpus", "gpu_share", l->max_gpus, o->peak_share, a->share, r,
                   reterr)) ||
        (a->counts_ahead && (rc = over("max_reservations_ahead", "reservations", l->max_ahead,
                                       o->ahead, 1, r, reterr))) ||
        (rc = over("monthly_spend_cap", "micros", l->month_cap, o->month_spend, a->month_spend, r,
                   reterr)))
        return rc;
    return 0;
}

int al_contract_check_funds(const struct al_contract *c, const struct al_org_usage *o,
                            int64_t amount, struct al_refusal *ret_refusal, struct al_err *reterr)
{
    struct al_refusal dummy = {0};
    struct al_refusal *r = ret_refusal ? ret_refusal : &dummy;
    int64_t avail = 0, credit = c->limits.credit_limit;
    *r = (struct al_refusal){0};
    if (amount < 0)
        return al_err_set(reterr, AL_E_INVAL, "amount: negative");
    if (c->terms == AL_TERMS_INVOICED) {
        int rc = over("credit_limit", "micros", credit, o->owed, amount, r, reterr);
        if (rc) {
            r->balance = o->cash;
            r->credit_limit = credit;
        }
        return rc;
    }
    if (credit < 0 || al_money_add(o->cash, credit, &avail))
        return al_err_set(reterr, AL_E_RANGE, "credit_limit: %" PRId64 " unusable", credit);
    if (amount > avail)
        return al_refusal_balance(r, o->cash, credit, amount, reterr);
    return 0;
}
