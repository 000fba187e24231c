/* contract.h — what a contract says, pure: payment terms, the rates it grants, its validity,
 * how time is billed (granularity), the balance draw period, the cancellation policy, whether
 * the org may reserve self-service or keep containers running pay-as-you-go after a window,
 * and its limits, with the checks that refuse a new commitment. The decisions that use a
 * contract on a reservation or a pool session are in billing.h; docs/billing.md explains both.
 *
 * Versions: a contract is (id, version); an amendment is a new version (al_contract_amend_check)
 * and the old one is kept. A reservation records the (id, version) it was confirmed under and
 * its frozen price lines: later price-list or contract changes never alter it.
 *
 * Granularity, how a window of `secs` seconds is billed, per price line of `units` at
 * `unit_price` micro-units per unit-hour:
 *   second  floor(units × secs × unit_price / 3600)
 *   minute  floor(units × ceil(secs / 60) × unit_price / 60)
 *   hour    units × max(min_hours, ceil(secs / 3600)) × unit_price  (a started hour in full)
 * and nothing for secs = 0. The floor (second, minute) is the only sub-micro-unit truncation in
 * allot, in the customer's favour; every piece of a reservation's charge (an extension, a draw,
 * a refund) is a difference of this cumulative function from the reservation's start, so the
 * pieces always add up to the whole to the micro-unit.
 *
 * GPU counts for limits are exact: a GPU is AL_SHARE_PER_GPU share units (27,720, the least
 * common multiple of 1..12), so a MIG instance of g compute slices on a model of S slices is
 * g × 27720 / S units, an integer for every S in 1..12 (H100: 7, A30: 4).
 *
 * Pure: libc only; al_contract_peak_share allocates scratch memory and frees it.
 */
#ifndef AL_CORE_CONTRACT_H
#define AL_CORE_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/money.h"

#define AL_CONTRACT_MAX_RATES 16
#define AL_CONTRACT_MODEL_MAX 32  /* a model name, with its NUL ("H100-80GB") */
#define AL_PRICE_WHAT_MAX     128 /* a price line's description, with its NUL */
#define AL_SHARE_PER_GPU      INT64_C(27720)
#define AL_LIMIT_NONE         INT64_C(-1)   /* a limit that is not set */
#define AL_MIN_HOURS_MAX      INT64_C(8784) /* a minimum of at most a leap year of hours */

enum al_terms {
    AL_TERMS_PREPAID = 0,  /* the whole reservation is charged at confirmation */
    AL_TERMS_BALANCE = 1,  /* drawn from the org's cash per period as it runs */
    AL_TERMS_INVOICED = 2, /* accrues per period to the org's invoice */
};

enum al_gran_unit {
    AL_GRAN_SECOND = 0,
    AL_GRAN_MINUTE = 1,
    AL_GRAN_HOUR = 2, /* whole hours, with a minimum */
};

struct al_granularity {
    enum al_gran_unit unit;
    int64_t min_hours; /* AL_GRAN_HOUR: 1..AL_MIN_HOURS_MAX; 0 for the others */
};

/* What one unit of a price line is (the values of quote.h's al_quote_unit). */
enum al_price_unit {
    AL_PRICE_GPU_HOUR = 0,   /* one whole GPU for one hour */
    AL_PRICE_SLICE_HOUR = 1, /* one MIG compute slice for one hour */
};

/* A frozen price line, as a quote's line has it (quote.h's al_quote_line: what, unit, units,
 * unit_price; its hours and amount follow from the window and the granularity). */
struct al_price_line {
    char what[AL_PRICE_WHAT_MAX]; /* "H100-80GB GPU-hour" */
    enum al_price_unit unit;
    int64_t units;      /* GPUs, or MIG instances × compute slices; >= 1 */
    int64_t unit_price; /* micro-units per unit-hour; >= 0 */
};

/* A model's prices, micro-units per hour (the price list's shape, quote.h's al_price, with the
 * pool rate beside it). */
struct al_rates {
    int64_t gpu_hour;       /* a whole GPU */
    int64_t mig_slice_hour; /* a compute slice of a MIG instance */
    int64_t pool_gpu_hour;  /* a pay-as-you-go pool GPU */
};

/* A rate the contract freezes for one model. */
struct al_contract_rate {
    char model[AL_CONTRACT_MODEL_MAX]; /* canonical catalog name */
    struct al_rates rates;
};

/* Per org, per contract. AL_LIMIT_NONE: not limited. */
struct al_contract_limits {
    /* micro-units. prepaid | balance: how far below zero the org's cash may go (>= 0, always
     * set). invoiced: the most the org may owe at once (unbilled + unpaid), or NONE. */
    int64_t credit_limit;
    int64_t max_gpus;     /* concurrent GPU share units (AL_SHARE_PER_GPU per GPU) */
    int64_t max_length_s; /* longest reservation, seconds */
    int64_t max_ahead;    /* reservations booked that have not started yet */
    int64_t month_cap;    /* net spend per calendar month (UTC), micro-units */
};

struct al_contract {
    uint64_t id;
    uint32_t version; /* 1, then +1 per amendment */
    uint64_t org;
    enum al_terms terms;
    int64_t valid_from, valid_to; /* [from, to), seconds */
    struct al_granularity gran;
    int64_t draw_period_s; /* balance | invoiced: 3600 (hourly) or 86400 (daily) */
    int32_t discount_bps;  /* on the list price of models without a frozen rate: 0..10000 */
    unsigned nrates;
    struct al_contract_rate rates[AL_CONTRACT_MAX_RATES];
    /* cancellation and shortening: the unused full hours are refunded minus a fee of
     * cancel_fee + cancel_fee_bps of the unused booked amount (billing.h) */
    int64_t cancel_fee;           /* micro-units, >= 0 */
    int32_t cancel_fee_bps;       /* 0..10000 */
    bool admin_may_cancel_active; /* may an org admin cancel an active prepaid reservation */
    bool self_service;            /* may the org reserve in one call (POST /v1/reservations) */
    bool payg_after_window;       /* containers continue at the pool rate after a window ends */
    struct al_contract_limits limits;
};

/* "prepaid", "balance", "invoiced"; "second", "minute", "hour". Static; "?" if unknown. */
const char *al_contract_terms_name(enum al_terms t);
const char *al_contract_gran_name(enum al_gran_unit g);
/* Parse those names back: 0, or AL_E_INVAL. */
int al_contract_terms_parse(const char *s, enum al_terms *ret);
int al_contract_gran_parse(const char *s, enum al_gran_unit *ret);

/* Check every field of `c` against the rules above (ids, version >= 1, a valid period, a
 * known granularity with its minimum, a draw period of an hour or a day, basis points within
 * 0..10000, frozen rates >= 0 with distinct model names, limits >= 0 or NONE, credit limit
 * NONE only under invoiced terms). Returns 0, or AL_E_INVAL naming the field. */
int al_contract_validate(const struct al_contract *c, struct al_err *reterr);

/* An amendment `next` of `prev`: the same id and org, version prev+1, and itself valid.
 * Returns 0, or AL_E_INVAL naming the field. */
int al_contract_amend_check(const struct al_contract *prev, const struct al_contract *next,
                            struct al_err *reterr);

/* 0 when `now` is within [valid_from, valid_to); AL_E_STATE naming the period otherwise. */
int al_contract_active(const struct al_contract *c, int64_t now, struct al_err *reterr);

/* The rates `c` grants for `model`: its frozen rate for that model if it has one, else `list`
 * less discount_bps, each price floored to the micro-unit (list × (10000 - bps) / 10000).
 * Returns 0, or AL_E_INVAL (a negative list price). */
int al_contract_rates_for(const struct al_contract *c, const char *model,
                          const struct al_rates *list, struct al_rates *ret, struct al_err *reterr);

/* The seconds a window of `secs` is billed as: secs; ceil to a minute; whole hours with the
 * minimum (0 for 0). For the quote ("a 1-second window is billed as 4 hours"). AL_E_INVAL for
 * secs < 0, AL_E_RANGE on overflow. */
int al_contract_billed_seconds(const struct al_granularity *g, int64_t secs, int64_t *ret);

/* "per second", "per minute", "whole hours, minimum 4 h": how the quote states the rule.
 * Returns buf (always NUL-terminated). */
char *al_contract_gran_text(const struct al_granularity *g, char *buf, size_t size);

/* The charge of one line for `secs` seconds under `g` (the rule above). Returns 0, AL_E_INVAL
 * (a bad line or secs < 0), or AL_E_RANGE (the product overflows int64). */
int al_contract_line_charge(const struct al_granularity *g, const struct al_price_line *l,
                            int64_t secs, int64_t *ret, struct al_err *reterr);

/* The charge of `n` lines for the window [start, end) (end >= start): the sum of the lines.
 * Returns 0, AL_E_INVAL, or AL_E_RANGE. */
int al_contract_window_charge(const struct al_granularity *g, const struct al_price_line *lines,
                              size_t n, int64_t start, int64_t end, int64_t *ret,
                              struct al_err *reterr);

/* `count` MIG instances of `slices` compute slices on a model of `total_slices`, in share
 * units; whole GPUs: slices = total_slices = 1. Returns 0, or AL_E_INVAL (total_slices not in
 * 1..12, slices not in 1..total_slices, count < 0) or AL_E_RANGE. */
int al_contract_gpu_share(unsigned slices, unsigned total_slices, int64_t count, int64_t *ret,
                          struct al_err *reterr);

/* Something an org holds over time, for the concurrency limit. */
struct al_share_span {
    int64_t start, end; /* [start, end) */
    int64_t share;      /* >= 0 */
};

/* The most share the spans hold at one instant within [from, to): what is "in use" for the
 * max_concurrent_gpus limit. Returns 0, AL_E_INVAL (a span with end < start or share < 0),
 * AL_E_RANGE, or AL_E_NOMEM. */
int al_contract_peak_share(const struct al_share_span *spans, size_t n, int64_t from, int64_t to,
                           int64_t *ret, struct al_err *reterr);

/* Where a limit is checked. */
enum al_check_at {
    AL_CHECK_QUOTE = 0,
    AL_CHECK_CONFIRM = 1,
    AL_CHECK_EXTEND = 2,
    AL_CHECK_SELF_RESERVE = 3,
    AL_CHECK_POOL_START = 4,
};

/* The org's current state, as the server reads it from the store. */
struct al_org_usage {
    int64_t cash;           /* org_cash balance (may be < 0, down to -credit limit) */
    int64_t owed;           /* invoiced terms: -(org_accrued + org_receivable) balances */
    int64_t peak_share;     /* al_contract_peak_share over the asked window, the reservation
                             * being extended left out, running pool sessions included */
    int64_t ahead;          /* the org's reservations that have not started, this one left out */
    int64_t month_spend;    /* the org's net charges dated in the current calendar month:
                             * the `exact` of its invoice for the month so far (charges,
                             * usage and adjustments to its paying account, less refunds) */
    int64_t pool_hour_cost; /* one hour of the org's running pool sessions (billing.h) */
};

/* What an action asks of the limits. */
struct al_limit_ask {
    enum al_check_at at;
    int64_t now;
    int64_t start, end;  /* the reservation's whole window after the action (not for pools) */
    int64_t share;       /* share units held by it */
    int64_t month_spend; /* what it adds to the current calendar month's spend */
    bool counts_ahead;   /* a new reservation that starts after now */
};

/* Check the contract's period and limits for `a`, in this order: the contract is active at
 * a->now (AL_E_STATE); self-service allowed at AL_CHECK_SELF_RESERVE (AL_E_FORBIDDEN);
 * max_reservation_length (length asked; not at pool start); max_concurrent_gpus (peak_share in
 * use + share asked); max_reservations_ahead (ahead + 1, when counts_ahead);
 * monthly_spend_cap (month_spend + the ask's). A limit refusal returns AL_E_PAYMENT with
 * *ret_refusal filled (limit_exceeded: limit, value, in use, asked). Returns 0 when all pass. */
int al_contract_check_limits(const struct al_contract *c, const struct al_limit_ask *a,
                             const struct al_org_usage *o, struct al_refusal *ret_refusal,
                             struct al_err *reterr);

/* Whether the org can commit `amount` now. prepaid | balance: cash + credit_limit must cover it,
 * else insufficient_balance (balance, credit limit, amount). invoiced: owed + amount may not
 * exceed the credit limit when it is set, else limit_exceeded "credit_limit". Returns 0, or
 * AL_E_PAYMENT with *ret_refusal filled, AL_E_INVAL (amount < 0), AL_E_RANGE. */
int al_contract_check_funds(const struct al_contract *c, const struct al_org_usage *o,
                            int64_t amount, struct al_refusal *ret_refusal, struct al_err *reterr);

#endif
