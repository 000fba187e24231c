/* invoice.h — an org's invoice for a period (a calendar month, UTC, or a contract period),
 * built from the ledger's transfers, pure.
 *
 * What goes on it: every reservation_charge, usage, refund and adjustment transfer whose `at`
 * is in [from, to) and that debits or credits the invoice's payer account (org_accrued for an
 * invoiced-terms org; org_cash for prepaid and balance orgs, whose invoice is a statement of
 * what was already taken), except the transfers of invoices themselves (ref kind invoice:
 * issue, payment, rounding). Lines group them: one per reservation's charges (confirmation,
 * extensions), one per reservation's balance draws, one per pool session, one per
 * reservation's refunds, one per adjustment; a charge is positive, a refund negative. Lines are
 * sorted by kind, then reference.
 *
 * Rounding happens once, here, on each line: its exact micro-unit sum is rounded half to even
 * to the currency's minor unit (cents: AL_MONEY_CENT). The total is the sum of the rounded
 * lines, so the printed lines always add up to the printed total. The difference
 * rounding = total - exact is carried explicitly, so that the invoice reconciles with the
 * ledger to the micro-unit:
 *   - payer org_accrued: issuing writes one adjustment transfer of |rounding| (key
 *     inv:<id>:rounding; org_accrued -> revenue when the total rounds up, revenue ->
 *     org_accrued when it rounds down) and one invoice_issued transfer of |total| (key
 *     inv:<id>:issue; org_receivable -> org_accrued). The period's accrued charges, the rounding
 *     and the issue then net org_accrued's movements of the period to zero exactly, and the org
 *     owes `total` on org_receivable until invoice_paid (inv:<id>:paid) settles it.
 *   - payer org_cash: the money moved already, to the micro-unit; the statement shows `exact`
 *     and `rounding` beside the total, and issuing writes nothing (no rounding transfer can
 *     push the cash below its floor).
 *
 * Calendar months are computed from epoch seconds by pure arithmetic (UTC, proleptic
 * Gregorian; Howard Hinnant's days-from-civil algorithm).
 */
#ifndef AL_CORE_INVOICE_H
#define AL_CORE_INVOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/ledger.h"
#include "core/money.h"

enum al_line_kind {
    AL_LINE_RESERVATION = 0, /* a reservation's prepaid charges (confirmation, extensions) */
    AL_LINE_DRAW = 1,        /* a reservation's balance or invoiced draws in the period */
    AL_LINE_POOL = 2,        /* a pool session's usage */
    AL_LINE_REFUND = 3,      /* a reservation's refunds (negative) */
    AL_LINE_ADJUSTMENT = 4,  /* an adjustment, either sign */
};

struct al_invoice_line {
    enum al_line_kind kind;
    struct al_ref ref; /* the reservation, pool session or adjustment (sub 0) */
    uint32_t ntransfers;
    int64_t exact;  /* signed sum of its transfers, micro-units */
    int64_t amount; /* exact rounded half-even to the minor unit */
};

/* Which invoice to build. */
struct al_invoice_spec {
    uint64_t id;
    struct al_account payer; /* org_accrued or org_cash of the org */
    int64_t from, to;        /* [from, to): al_invoice_month, or a contract period */
    int64_t minor;           /* the currency's minor unit in micro-units: AL_MONEY_CENT */
};

struct al_invoice {
    struct al_invoice_spec spec;
    size_t nlines;
    struct al_invoice_line *lines; /* al_invoice_build's: owned, freed by al_invoice_done;
                                    * one read from the store for verify: borrowed */
    int64_t exact;                 /* sum of the lines' exact sums */
    int64_t total;                 /* sum of the lines' amounts: what is printed and owed */
    int64_t rounding;              /* total - exact */
    bool issued;                   /* its issue transfers are written (payer org_accrued) */
};

/* "reservation", "draw", "pool", "refund", "adjustment"; "?" if unknown. Static. */
const char *al_invoice_line_name(enum al_line_kind k);

/* The calendar month (UTC) holding `t`: [*ret_from, *ret_to). Returns 0, or AL_E_RANGE for a t
 * outside years 1..9999. */
int al_invoice_month(int64_t t, int64_t *ret_from, int64_t *ret_to, struct al_err *reterr);

/* Year (1..9999), month (1..12) and day (1..31) of `t` (UTC). 0 or AL_E_RANGE. */
int al_invoice_civil(int64_t t, int *ret_year, int *ret_month, int *ret_day, struct al_err *reterr);

/* Seconds at 00:00:00 UTC of year-month-day. 0, AL_E_INVAL (a date that does not exist, a
 * year outside 1..9999). */
int al_invoice_epoch(int year, int month, int day, int64_t *ret, struct al_err *reterr);

/* Build the invoice `s` describes from `n` transfers into *ret (its lines allocated; release
 * with al_invoice_done, also after a failure). Returns 0, AL_E_INVAL (a bad spec: payer not an
 * org_cash/org_accrued account, to <= from, minor <= 0), AL_E_RANGE, AL_E_NOMEM. */
int al_invoice_build(const struct al_invoice_spec *s, const struct al_transfer *t, size_t n,
                     struct al_invoice *ret, struct al_err *reterr);

/* Free what al_invoice_build allocated; inv may be NULL; leaves it empty. */
void al_invoice_done(struct al_invoice *inv);

/* Check an invoice's own arithmetic: each line's amount is its exact sum rounded half-even to
 * spec.minor, exact and total are the sums of the lines, rounding = total - exact. Returns 0,
 * or AL_E_INVAL naming the first wrong field. */
int al_invoice_check(const struct al_invoice *inv, struct al_err *reterr);

/* The transfers issuing `inv` writes, at `now` (see above): 0..2 into ret[2], their count in
 * *ret_n: none for an org_cash statement. Returns 0, AL_E_INVAL, AL_E_RANGE. */
int al_invoice_issue(const struct al_invoice *inv, int64_t now, struct al_transfer ret[2],
                     size_t *ret_n, struct al_err *reterr);

/* The invoice_paid transfer settling issued invoice `inv` in full at `now` (external ->
 * org_receivable; the other way for a negative total), into *ret. AL_E_STATE for a statement
 * (payer org_cash) or a zero total. */
int al_invoice_pay(const struct al_invoice *inv, int64_t now, struct al_transfer *ret,
                   struct al_err *reterr);

#endif
