/* quote.h — the price of capacity: the lines and the total of a quote, from a model's prices,
 * what is held and for how long. Pure: the caller passes the prices and the window; no store,
 * no clock, no allocation.
 *
 * Money is int64 micro-units of the currency (1 USD = 1,000,000); no floating point.
 *
 * The billing rule (the one the API has charged since the first quote):
 *   - Time is billed in whole hours, a started hour in full: hours = ceil((end - start) / 3600).
 *     A window of 1 s bills 1 hour, 3600 s bill 1, 3601 s bill 2. The window is the whole
 *     reservation: a renewal prices [start, new end) again at the current prices.
 *   - Whole GPUs: one line in GPU-hours: units = GPUs, rate = the model's GPU-hour price.
 *   - MIG instances: one line in compute-slice-hours: units = instances × the profile's compute
 *     slices, rate = the model's MIG compute-slice-hour price.
 *   - amount = units × hours × rate, exactly. Nothing is divided, so nothing is rounded: every
 *     amount is a whole number of micro-units. A product beyond int64 is refused, never wrapped
 *     or clamped; the check is made in that order (units × hours, then × rate), so a window and
 *     count whose unit-hours alone overflow are refused even at a rate of 0.
 *   - total = the sum of the line amounts (also checked).
 */
#ifndef AL_CORE_QUOTE_H
#define AL_CORE_QUOTE_H

#include <stdint.h>

#include "core/catalog.h"
#include "core/contract.h"
#include "core/err.h"

#define AL_QUOTE_MAX_LINES 4   /* lines of one quote (one today: a quote is one model, one kind) */
#define AL_QUOTE_WHAT_MAX  128 /* a line's description, with its NUL */
#define AL_QUOTE_HOUR_S    3600

/* What one unit of a line is. */
enum al_quote_unit {
    AL_QUOTE_GPU_HOUR = 0,   /* one whole GPU for one hour */
    AL_QUOTE_SLICE_HOUR = 1, /* one MIG compute slice for one hour */
};

/* A model's prices, micro-units per hour, as the price list holds them (>= 0). */
struct al_price {
    int64_t gpu_hour;       /* a whole GPU */
    int64_t mig_slice_hour; /* a compute slice of a MIG instance */
};

/* What is priced: `count` whole GPUs of `model` (profile -1) or `count` MIG instances of its
 * profile `profile`, during [start, end) (seconds; only the length matters). */
struct al_quote_ask {
    const struct al_gpu_model *model;
    int profile;    /* -1: whole GPUs; else an index into model->profiles */
    unsigned count; /* >= 1 */
    int64_t start, end;
};

struct al_quote_line {
    char what[AL_QUOTE_WHAT_MAX]; /* "H100-80GB GPU-hour", "H100-80GB 3g.40gb compute-slice-hour" */
    enum al_quote_unit unit;
    int64_t units;      /* GPUs, or instances × compute slices */
    int64_t hours;      /* billed hours (see the rule above); under a contract's granularity
                         * (al_quote_price_terms): the billed seconds / 3600, rounded up */
    int64_t billed_s;   /* al_quote_price_terms: billed seconds under the granularity (0 from
                         * al_quote_price, whose rule is `hours`) */
    int64_t quantity;   /* units × hours: how many `unit`s are sold */
    int64_t unit_price; /* micro-units per `unit` (the rate) */
    int64_t amount;     /* quantity × unit_price, micro-units */
};

struct al_quote {
    unsigned n; /* lines used */
    struct al_quote_line lines[AL_QUOTE_MAX_LINES];
    int64_t total; /* sum of the amounts, micro-units */
};

/* Price `a` at `price` into *ret (cleared first). Returns 0, or AL_E_INVAL naming the field:
 * "model" (NULL), "profile" (not a MIG profile of the model), "count" (0, or the price
 * overflows int64 micro-units), "end" (not after start, or the length overflows), "price"
 * (negative). */
int al_quote_price(const struct al_quote_ask *a, const struct al_price *price, struct al_quote *ret,
                   struct al_err *reterr);

/* Price `a` at `price` under granularity `g` (contract.h: per second, per minute, or whole
 * hours with a minimum) into *ret: the lines of al_quote_price, each amount
 * al_contract_line_charge of the window's length, so that a quote states exactly what a
 * reservation under that contract is charged (billing.h's C(end)). With g = {AL_GRAN_HOUR, 1}
 * the result is al_quote_price's. Returns 0, or AL_E_INVAL as al_quote_price (an overflow
 * names "count"). */
int al_quote_price_terms(const struct al_quote_ask *a, const struct al_price *price,
                         const struct al_granularity *g, struct al_quote *ret,
                         struct al_err *reterr);

/* Billed hours of [start, end): ceil((end - start) / 3600), or AL_E_INVAL when end <= start or
 * the length overflows int64. */
int64_t al_quote_hours(int64_t start, int64_t end);

/* "gpu-hour", "compute-slice-hour"; "?" for an unknown value. Static. */
const char *al_quote_unit_name(enum al_quote_unit u);

#endif
