/* billing.h — what a reservation or a pool session is charged, refunded or refused, decided
 * from plain structs: the contract version it runs under, the reservation's window and frozen
 * price lines, the org's balances and usage, and `now`. The server records the decision (the
 * transfers it returns, the new end, the fee) in one transaction; nothing here reads a clock,
 * a store or a global.
 *
 * The rule everything follows: C(t) = the charge of the reservation's lines for [start, t)
 * under its contract's granularity (contract.h). It is the reservation's cumulative charge:
 *   - prepaid: confirmation charges C(end); an extension to e' charges C(e') - C(end), at the
 *     reservation's frozen rates, never the current price list;
 *   - balance | invoiced: period k is [start + kP, start + (k+1)P) (P = the contract's draw
 *     period, an hour or a day); when it begins, draw k takes C(min(end, p(k+1))) - C(p(k))
 *     from the org's cash (balance) or accrues it to org_accrued (invoiced), exactly once
 *     (key res:<id>:draw:<k>);
 *   - a cancellation at `now`, or a shortening to a new end, ends the reservation at
 *     e' = max(new end, the end of the hour in progress counted from start) (at start if it
 *     has not started); what was paid for time after e' is refunded, less the contract's fee
 *     (cancel_fee + cancel_fee_bps of C(end) - C(e'), the booked amount given up), which is
 *     taken from the refund and never charged beyond it.
 * So a reservation's net charges (charges - refunds) are always C(billed end) + its fees,
 * where the billed end is `end` (prepaid) or the end of the last period due (balance,
 * invoiced): al_billing_implied, which `ledger verify` compares with the transfers.
 *
 * Pool usage: a session of `share` GPU share units at `rate` micro-units per GPU-hour costs
 * U(t) = floor(share × (t - start) × rate / (27720 × 3600)) from its start to t; each metering
 * charges U(to) - U(metered_to), keyed pool:<id>:<metered_to>, so a retried metering never
 * charges twice and the pieces add up to the whole.
 *
 * Refusals come back as AL_E_PAYMENT with a struct al_refusal in the decision.
 */
#ifndef AL_CORE_BILLING_H
#define AL_CORE_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/contract.h"
#include "core/err.h"
#include "core/ledger.h"
#include "core/money.h"

#define AL_BILLING_MAX_LINES   4 /* a reservation's price lines (quote.h's AL_QUOTE_MAX_LINES) */
#define AL_DECISION_MAX        2 /* transfers one decision writes */
#define AL_BILLING_LOW_PERIODS 3 /* balance.low when the cash covers fewer periods than this */

/* A confirmed reservation, as billing needs it (the store keeps these fields). */
struct al_res_billing {
    uint64_t id;
    uint64_t org;
    uint64_t contract_id; /* the contract version it was confirmed under */
    uint32_t contract_version;
    int64_t start, end; /* the window now; end == start once cancelled before it began, or
                         * stopped by a refused first draw: nothing billed, nothing to change */
    uint32_t rev;       /* window changes since confirmation (extend, shorten, cancel, stop) */
    int64_t drawn;      /* balance | invoiced: periods drawn so far (the next k) */
    int64_t fees;       /* cancellation and shortening fees retained so far */
    bool cancelled;
    int64_t share; /* GPU share units it holds (contract.h) */
    unsigned nlines;
    struct al_price_line lines[AL_BILLING_MAX_LINES]; /* frozen at confirmation */
};

/* What the server writes: up to AL_DECISION_MAX transfers (each with its key), and what
 * changes on the reservation or session. */
struct al_decision {
    unsigned n;
    struct al_transfer t[AL_DECISION_MAX];
    struct al_refusal refusal; /* code NONE unless refused (or, for pools, stopped) */
    int64_t amount;   /* confirm/extend: the price; cancel: the refund; draw/meter: the charge */
    int64_t fee;      /* cancel: the fee retained (add it to the reservation's fees) */
    int64_t end;      /* the reservation's end after the decision */
    int64_t forgiven; /* pool: usage not charged because the funds ran out */
    bool stop;        /* draw refused / pool funds exhausted: end access at `end` / now */
};

enum al_canceller {
    AL_BY_OPERATOR = 0,
    AL_BY_ORG_ADMIN = 1,
};

struct al_cancel {
    enum al_canceller who;
    int64_t now;
    int64_t new_end; /* a cancellation: now; a shortening: the new end (>= now) */
};

/* A pay-as-you-go pool session. */
struct al_pool_session {
    uint64_t id;
    uint64_t org;
    int64_t start;      /* when it started */
    int64_t metered_to; /* charged up to here (start at first) */
    int64_t share;      /* GPU share units (AL_SHARE_PER_GPU for one GPU) */
    int64_t rate;       /* micro-units per GPU-hour: al_contract_rates_for's pool_gpu_hour */
};

/* The account an org's charges come from under `c`: org_cash (prepaid, balance) or org_accrued
 * (invoiced). */
struct al_account al_billing_payer(const struct al_contract *c, uint64_t org);

/* Check that `r` belongs with `c` (same contract id, version and org), has a window
 * (end >= start), 1..AL_BILLING_MAX_LINES valid lines, and counters >= 0. Returns 0, or
 * AL_E_INVAL naming the field. */
int al_billing_check(const struct al_contract *c, const struct al_res_billing *r,
                     struct al_err *reterr);

/* C(t): the charge of r's lines for [r->start, t), t >= start. 0, AL_E_INVAL, AL_E_RANGE. */
int al_billing_charge_to(const struct al_contract *c, const struct al_res_billing *r, int64_t t,
                         int64_t *ret, struct al_err *reterr);

/* Confirm (or quote, or self-reserve: `at`) new reservation `r` (rev 0, nothing drawn) at
 * `now`. Checks the limits (al_contract_check_limits: window, share, reservations ahead, and
 * the month's spend: the whole price under prepaid, the draws falling in now's month
 * otherwise), then, except at AL_CHECK_QUOTE, the funds (al_contract_check_funds): prepaid the
 * whole price, balance the first period's draw, invoiced the whole price against the credit
 * limit. dec->amount = C(end). Prepaid: one reservation_charge transfer (res:<id>:charge);
 * balance and invoiced: none (the draws come when each period begins: for a reservation
 * that starts at or before now, period 0 is due at once, so the server runs its draw pass
 * for it in the same transaction). Returns 0,
 * AL_E_PAYMENT (dec->refusal), AL_E_STATE, AL_E_FORBIDDEN, AL_E_INVAL or AL_E_RANGE. */
int al_billing_confirm(const struct al_contract *c, const struct al_res_billing *r,
                       const struct al_org_usage *o, enum al_check_at at, int64_t now,
                       struct al_decision *dec, struct al_err *reterr);

/* Extend `r` to `new_end` (> end; r neither cancelled nor ended at now). The price is
 * C(new_end) - C(end) at r's frozen lines (dec->amount); limits as at confirm (the whole new
 * window's length; the share over it), then funds: prepaid the price; balance the extension's
 * part up to the end of the next period to draw; invoiced the price against the credit limit.
 * Transfers (key res:<id>:r<rev+1>:extend): prepaid the price; balance | invoiced the part of
 * periods already drawn, if any. dec->end = new_end. Returns as al_billing_confirm. */
int al_billing_extend(const struct al_contract *c, const struct al_res_billing *r, int64_t new_end,
                      const struct al_org_usage *o, int64_t now, struct al_decision *dec,
                      struct al_err *reterr);

/* Cancel or shorten `r` (q->new_end < end, >= q->now, and r not ended at q->now). An org admin
 * may not cancel an active prepaid reservation unless the contract allows it
 * (AL_E_FORBIDDEN). dec->end = e' (see above), dec->fee, dec->amount = the refund, and one
 * refund transfer (res:<id>:r<rev+1>:refund) when it is > 0. Returns 0, AL_E_FORBIDDEN,
 * AL_E_STATE, AL_E_INVAL or AL_E_RANGE. */
int al_billing_cancel(const struct al_contract *c, const struct al_res_billing *r,
                      const struct al_cancel *q, struct al_decision *dec, struct al_err *reterr);

/* How many periods of `r` have begun by `now` (all must be drawn by then): 0 before start,
 * at most the periods of the window. Prepaid: 0. */
int al_billing_draws_due(const struct al_contract *c, const struct al_res_billing *r, int64_t now,
                         int64_t *ret, struct al_err *reterr);

/* Draw period `k` of a balance or invoiced reservation: k must be r->drawn (draws are taken
 * in order, each once) and begin before r's end. dec->amount = C(min(end, p(k+1))) - C(p(k));
 * one reservation_charge transfer at p(k), key res:<id>:draw:<k> (none if the amount is 0).
 * Balance terms refuse when cash + credit limit does not cover it: AL_E_PAYMENT, dec->stop,
 * dec->end = p(k): the reservation's access ends where its paid time does (the server shortens
 * it, no fee, and emits an event). Returns 0, AL_E_PAYMENT, AL_E_STATE, AL_E_INVAL, AL_E_RANGE. */
int al_billing_draw(const struct al_contract *c, const struct al_res_billing *r, int64_t k,
                    const struct al_org_usage *o, struct al_decision *dec, struct al_err *reterr);

/* How many of r's next periods (from r->drawn) `available` covers, at most those left: the
 * server emits balance.low when this is below AL_BILLING_LOW_PERIODS and periods are left. */
int al_billing_periods_covered(const struct al_contract *c, const struct al_res_billing *r,
                               int64_t available, int64_t *ret, struct al_err *reterr);

/* The net charges (reservation charges - refunds) the ledger must hold for `r` at `now`:
 * C(billed end) + r->fees (see above). */
int al_billing_implied(const struct al_contract *c, const struct al_res_billing *r, int64_t now,
                       int64_t *ret, struct al_err *reterr);

/* The credit of a reservation's unit out of service: unit `unit` of r's `nunits` (its
 * allocations, all of one model and profile, so each is 1/nunits of every line) failed at
 * `since` and no spare took its place. What r's lines charge for the rest of the window,
 * C(end) - C(max(since, start)) under the contract's granularity, divided by nunits (floored
 * to the micro-unit), comes back to the org: dec->amount, and one adjustment transfer revenue
 * -> the payer (org_cash, or org_accrued under invoiced terms) at `since` (the server credits
 * when it learns of the failure), referring to the
 * reservation, keyed res:<id>:degraded:<unit> so that a unit is never credited twice; none
 * when the amount is 0 (since at or after the end, a free line). An adjustment, not a refund:
 * r's own charges stay C(billed end) + fees (al_billing_implied), the credit beside them. r
 * must not be cancelled (AL_E_STATE). Returns 0, AL_E_STATE, AL_E_INVAL (unit not in
 * 0..nunits-1, nunits < 1) or AL_E_RANGE. */
int al_billing_degraded_credit(const struct al_contract *c, const struct al_res_billing *r,
                               int64_t unit, int64_t nunits, int64_t since, struct al_decision *dec,
                               struct al_err *reterr);
/* A unit out of service, as al_billing_degraded_follow reads it. */
struct al_degraded_unit {
    int64_t unit, nunits; /* the unit (an allocation index) of the reservation's nunits */
    int64_t since;        /* when it failed: credited from there (al_billing_degraded_credit) */
};
/* r's window changes to `new_end` (revision r->rev + 1: a cancellation or shortening with the
 * end al_billing_cancel decided, or an extension) while unit u is out of service and credited
 * up to r->end: the credit follows the window. Shorter: the time after new_end is no longer
 * charged (refunded, or never drawn), so its credit comes back, (C(end) - C(max(new_end,
 * since))) / nunits, one adjustment payer -> revenue; longer: the added time is charged for a
 * unit out of service, so it is credited, (C(new_end) - C(max(end, since))) / nunits, revenue
 * -> payer. At `at`, keyed res:<id>:r<rev+1>:degraded:<unit>. dec->amount: what is credited
 * (> 0) or taken back (< 0); no transfer when 0. Returns 0, AL_E_INVAL or AL_E_RANGE. */
int al_billing_degraded_follow(const struct al_contract *c, const struct al_res_billing *r,
                               const struct al_degraded_unit *u, int64_t new_end, int64_t at,
                               struct al_decision *dec, struct al_err *reterr);
/* U(to) - U(from) for pool session `s` (s->start <= from <= to). */
int al_billing_pool_usage(const struct al_pool_session *s, int64_t from, int64_t to, int64_t *ret,
                          struct al_err *reterr);

/* What one hour of `s` costs: U(start + 1 h); summed over running sessions it is the org's
 * al_org_usage.pool_hour_cost. */
int al_billing_pool_hour_cost(const struct al_pool_session *s, int64_t *ret, struct al_err *reterr);

/* May session `s` start at `now`: the contract's period and limits (max_concurrent_gpus with
 * s->share; the month's spend with one hour of it), then at least one hour of runway: the
 * funds must cover one hour of every running session plus this one (al_contract_check_funds).
 * Returns 0, AL_E_PAYMENT (dec->refusal), AL_E_STATE, AL_E_INVAL, AL_E_RANGE. */
int al_billing_pool_start(const struct al_contract *c, const struct al_pool_session *s,
                          const struct al_org_usage *o, int64_t now, struct al_decision *dec,
                          struct al_err *reterr);

/* Meter `s` from s->metered_to to `to`: one usage transfer (pool:<id>:<metered_to>, at `to`)
 * of U(to) - U(metered_to), none if 0. Under prepaid or balance terms the charge never takes
 * the cash below -credit limit: if it would, the transfer takes what is left, dec->forgiven
 * is the rest, dec->stop is set and dec->refusal says why (insufficient_balance); the server
 * stops the session. Returns 0 (also when stopping), AL_E_INVAL, AL_E_RANGE. */
int al_billing_pool_meter(const struct al_contract *c, const struct al_pool_session *s, int64_t to,
                          const struct al_org_usage *o, struct al_decision *dec,
                          struct al_err *reterr);

/* When the org's funds run out at the running sessions' burn (o->pool_hour_cost per hour):
 * now + floor(available × 3600 / hour cost); INT64_MAX when nothing burns or no credit limit
 * applies. The server stops pool sessions there (balance.low events before). */
int al_billing_pool_runway(const struct al_contract *c, const struct al_org_usage *o, int64_t now,
                           int64_t *ret_until, struct al_err *reterr);

#endif
