/* money.h — money arithmetic shared by the ledger, contracts, billing and invoices: int64
 * micro-units with every sum and product overflow-checked, the one rounding rule (half-even to
 * the currency's minor unit, on invoice lines only), and the structured refusal that a limit or
 * an empty balance gives.
 *
 * Money is an int64 count of micro-units of the currency: 1 USD = 1,000,000; 1 cent = 10,000.
 * No floating point anywhere. Nothing here rounds silently: a result beyond int64 is refused
 * with AL_E_RANGE, never wrapped or clamped. The one division that cannot be exact (a rate per
 * hour applied to seconds) is al_money_muldiv, which floors: it is used only through a
 * cumulative function (billing.h, contract.h) so that the pieces of a charge always add up to
 * the whole, to the micro-unit.
 *
 * Pure: libc only, no allocation, no state.
 */
#ifndef AL_CORE_MONEY_H
#define AL_CORE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define AL_MONEY_UNIT    INT64_C(1000000) /* micro-units in one unit of the currency */
#define AL_MONEY_CENT    INT64_C(10000)   /* micro-units in one minor unit (2 decimals) */
#define AL_MONEY_HOUR    INT64_C(3600)
#define AL_MONEY_DAY     INT64_C(86400)
#define AL_MONEY_FMT_MAX 32 /* al_money_fmt's buffer: "-9223372036854.775808" and NUL */

/* Checked arithmetic: 0 with *ret set, or AL_E_RANGE (and *ret untouched) on overflow. */
int al_money_add(int64_t a, int64_t b, int64_t *ret) AL_WARN_UNUSED;
int al_money_sub(int64_t a, int64_t b, int64_t *ret) AL_WARN_UNUSED;
int al_money_mul(int64_t a, int64_t b, int64_t *ret) AL_WARN_UNUSED;

/* floor(a × b / d) for a, b >= 0 and 0 < d <= 3,000,000,000, computed exactly without a wider
 * type: with a = qa·d + ra and b = qb·d + rb, a·b/d = qa·b + ra·qb + ra·rb/d, where ra·rb < d²
 * fits. Returns 0, AL_E_INVAL for a negative operand or a d out of range, AL_E_RANGE when the
 * result does not fit in int64. */
int al_money_muldiv(int64_t a, int64_t b, int64_t d, int64_t *ret) AL_WARN_UNUSED;

/* Round `x` micro-units to a multiple of `minor` (AL_MONEY_CENT for a 2-decimal currency),
 * half to even: 0.125 -> 0.12, 0.135 -> 0.14, 0.125001 -> 0.13, -0.125 -> -0.12 (symmetric
 * about zero). Returns 0, AL_E_INVAL for minor <= 0, AL_E_RANGE if the result overflows. */
int al_money_round_half_even(int64_t x, int64_t minor, int64_t *ret) AL_WARN_UNUSED;

/* Write `x` micro-units as a decimal: "4800.00" when it is a whole number of cents, else all
 * six decimals ("0.000125"); a '-' for negatives. Returns `buf` (always NUL-terminated; the
 * text is cut if size < AL_MONEY_FMT_MAX). */
char *al_money_fmt(int64_t x, char *buf, size_t size);

/* Parse a decimal amount of the currency exactly into micro-units: an optional '-', one or
 * more digits, then optionally '.' and 1 to 6 digits ("100", "100.5", "0.000125"), nothing
 * else (no spaces, '+', exponent or grouping). Returns 0, or AL_E_INVAL (the text is not such
 * a number, or has more than 6 decimals: it would need a fraction of a micro-unit) or
 * AL_E_RANGE (beyond int64), with a message in `reterr` (may be NULL); *ret only on 0. */
int al_money_parse(const char *s, int64_t *ret, struct al_err *reterr) AL_WARN_UNUSED;

/* Why a charge or a new commitment was refused: the stable API code, and the numbers a person
 * needs to act on it. */
enum al_refusal_code {
    AL_REFUSAL_NONE = 0,
    AL_REFUSAL_LIMIT = 1,   /* "limit_exceeded", HTTP 409 */
    AL_REFUSAL_BALANCE = 2, /* "insufficient_balance", HTTP 402 */
};

struct al_refusal {
    enum al_refusal_code code;
    /* The limit by its stable name: "credit_limit", "max_concurrent_gpus",
     * "max_reservation_length", "max_reservations_ahead", "monthly_spend_cap"; "balance" for
     * insufficient_balance. Static; NULL when code is NONE. */
    const char *limit;
    const char *unit; /* of value/in_use/asked: "micros", "seconds", "gpu_share", "reservations" */
    int64_t value;    /* the limit's value (for "balance": the credit limit) */
    int64_t in_use;   /* what is used already (for "balance": the balance, which may be < 0) */
    int64_t asked;    /* what the refused action asked for */
    /* insufficient_balance details, also set for a "credit_limit" refusal: */
    int64_t balance;      /* the org's cash balance, micro-units */
    int64_t credit_limit; /* how far below zero it may go, micro-units */
};

/* "limit_exceeded", "insufficient_balance", "none". Static. */
const char *al_refusal_code_name(enum al_refusal_code c);

/* The HTTP status a refusal is answered with: 409, 402; 200 for NONE. */
int al_refusal_http_status(enum al_refusal_code c);

/* Fill *r as a limit_exceeded refusal and return AL_E_PAYMENT. `limit` and `unit` must be
 * static strings. Also writes a message into `reterr` (may be NULL). */
int al_refusal_limit(struct al_refusal *r, const char *limit, const char *unit, int64_t value,
                     int64_t in_use, int64_t asked, struct al_err *reterr);

/* Fill *r as an insufficient_balance refusal and return AL_E_PAYMENT (message in reterr). */
int al_refusal_balance(struct al_refusal *r, int64_t balance, int64_t credit_limit, int64_t asked,
                       struct al_err *reterr);

#endif
