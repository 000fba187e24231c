/* quote.c — a quote's price lines and total. The rule (hours rounded up, one line per quote,
 * exact int64 products refused on overflow) is stated in quote.h. */
#include "core/quote.h"

#include <stdio.h>
#include <string.h>

int64_t al_quote_hours(int64_t start, int64_t end)
{
    int64_t len = 0;
    if (end <= start || __builtin_sub_overflow(end, start, &len))
        return AL_E_INVAL;
    /* ceil without adding 3599 first, which could overflow for a long enough window */
    return len / AL_QUOTE_HOUR_S + (len % AL_QUOTE_HOUR_S != 0);
}

const char *al_quote_unit_name(enum al_quote_unit u)
{
    switch (u) {
    case AL_QUOTE_GPU_HOUR:
        return "gpu-hour";
    case AL_QUOTE_SLICE_HOUR:
        return "compute-slice-hour";
    }
    return "?";
}

static int check_ask(const struct al_quote_ask *a, const struct al_price *price,
                     struct al_err *reterr)
{
    const struct al_gpu_model *m = a->model;
    if (!m)
        return al_err_set(reterr, AL_E_INVAL, "model: none given");
    if (a->profile < -1 || (a->profile >= 0 && (!m->mig || (unsigned)a->profile >= m->nprofiles)))
        return al_err_set(reterr, AL_E_INVAL, "profile: %d is not a MIG profile of %s", a->profile,
                          m->name);
    if (a->count == 0)
        return al_err_set(reterr, AL_E_INVAL, "count: must be at least 1");
    if (price->gpu_hour < 0 || price->mig_slice_hour < 0)
        return al_err_set(reterr, AL_E_INVAL, "price: negative");
    return 0;
}

/* The one line of a quote: what it sells, in which unit, at which rate. */
static void line_of(const struct al_quote_ask *a, const struct al_price *price,
                    struct al_quote_line *l)
{
    const struct al_gpu_model *m = a->model;
    if (a->profile >= 0) {
        const struct al_mig_profile *pr = &m->profiles[a->profile];
        l->unit = AL_QUOTE_SLICE_HOUR;
        l->units = (int64_t)a->count * pr->compute_slices;
        l->unit_price = price->mig_slice_hour;
        (void)snprintf(l->what, sizeof l->what, "%s %s compute-slice-hour", m->name, pr->name);
    } else {
        l->unit = AL_QUOTE_GPU_HOUR;
        l->units = a->count;
        l->unit_price = price->gpu_hour;
        (void)snprintf(l->what, sizeof l->what, "%s GPU-hour", m->name);
    }
}

/* ret->total: the sum of the line amounts, or AL_E_INVAL when it overflows. */
static int sum_lines(struct al_quote *ret, struct al_err *reterr)
{
    ret->total = 0;
    for (unsigned i = 0; i < ret->n; i++)
        if (__builtin_add_overflow(ret->total, ret->lines[i].amount, &ret->total))
            return al_err_set(reterr, AL_E_INVAL, "count: the total overflows int64 micro-units");
    return 0;
}

int al_quote_price(const struct al_quote_ask *a, const struct al_price *price, struct al_quote *ret,
                   struct al_err *reterr)
{
    memset(ret, 0, sizeof *ret);
    int rc = check_ask(a, price, reterr);
    if (rc < 0)
        return rc;
    int64_t hours = al_quote_hours(a->start, a->end);
    if (hours < 0)
        return al_err_set(reterr, AL_E_INVAL, "end: must be after start, within int64 seconds");
    struct al_quote_line *l = &ret->lines[0];
    line_of(a, price, l);
    l->hours = hours;
    /* units × hours first, then × rate: the order the API has always checked in */
    if (__builtin_mul_overflow(l->units, l->hours, &l->quantity) ||
        __builtin_mul_overflow(l->quantity, l->unit_price, &l->amount)) {
        rc = al_err_set(reterr, AL_E_INVAL,
                        "count: the price of %lld units for %lld hours overflows int64 "
                        "micro-units",
                        (long long)l->units, (long long)hours);
        goto out;
    }
    ret->n = 1;
    rc = sum_lines(ret, reterr);
out:
    if (rc < 0)
        memset(ret, 0, sizeof *ret);
    return rc;
}

int al_quote_price_terms(const struct al_quote_ask *a, const struct al_price *price,
                         const struct al_granularity *g, struct al_quote *ret,
                         struct al_err *reterr)
{
    struct al_price_line pl = {0};
    memset(ret, 0, sizeof *ret);
    int rc = check_ask(a, price, reterr);
    if (rc < 0)
        return rc;
    int64_t len = 0;
    if (a->end <= a->start || __builtin_sub_overflow(a->end, a->start, &len))
        return al_err_set(reterr, AL_E_INVAL, "end: must be after start, within int64 seconds");
    struct al_quote_line *l = &ret->lines[0];
    line_of(a, price, l);
    pl.unit = l->unit == AL_QUOTE_GPU_HOUR ? AL_PRICE_GPU_HOUR : AL_PRICE_SLICE_HOUR;
    pl.units = l->units;
    pl.unit_price = l->unit_price;
    /* the amount is the contract's rule, the one billing.h charges: C(end) of this line */
    if (al_contract_billed_seconds(g, len, &l->billed_s) != 0 ||
        al_contract_line_charge(g, &pl, len, &l->amount, NULL) != 0 ||
        __builtin_mul_overflow(l->units,
                               l->billed_s / AL_QUOTE_HOUR_S + (l->billed_s % AL_QUOTE_HOUR_S != 0),
                               &l->quantity)) {
        rc = al_err_set(reterr, AL_E_INVAL,
                        "count: the price of %lld units for %lld s overflows int64 micro-units",
                        (long long)l->units, (long long)len);
        goto out;
    }
    l->hours = l->billed_s / AL_QUOTE_HOUR_S + (l->billed_s % AL_QUOTE_HOUR_S != 0);
    ret->n = 1;
    rc = sum_lines(ret, reterr);
out:
    if (rc < 0)
        memset(ret, 0, sizeof *ret);
    return rc;
}
