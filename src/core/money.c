/* money.c — checked int64 micro-unit arithmetic, half-even rounding, money text and
 * refusals. The rules are stated in money.h. */
#include "core/money.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MULDIV_MAX_D INT64_C(3000000000) /* d² must fit in int64 (see al_money_muldiv) */

int al_money_add(int64_t a, int64_t b, int64_t *ret)
{
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r))
        return AL_E_RANGE;
    *ret = r;
    return 0;
}

int al_money_sub(int64_t a, int64_t b, int64_t *ret)
{
    int64_t r = 0;
    if (__builtin_sub_overflow(a, b, &r))
        return AL_E_RANGE;
    *ret = r;
    return 0;
}

int al_money_mul(int64_t a, int64_t b, int64_t *ret)
{
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r))
        return AL_E_RANGE;
    *ret = r;
    return 0;
}

int al_money_muldiv(int64_t a, int64_t b, int64_t d, int64_t *ret)
{
    if (a < 0 || b < 0 || d <= 0 || d > MULDIV_MAX_D)
        return AL_E_INVAL;
    int64_t qa = a / d, ra = a % d, qb = b / d, rb = b % d;
    int64_t t1 = 0, t2 = 0, r = 0;
    /* ra, rb < d <= 3e9, so ra * rb < 9e18 < INT64_MAX: the one product that needs no check */
    int64_t t3 = ra * rb / d;
    if (al_money_mul(qa, b, &t1) || al_money_mul(ra, qb, &t2) || al_money_add(t1, t2, &r) ||
        al_money_add(r, t3, &r))
        return AL_E_RANGE;
    *ret = r;
    return 0;
}

int al_money_round_half_even(int64_t x, int64_t minor, int64_t *ret)
{
    if (minor <= 0 || minor > INT64_MAX / 2)
        return AL_E_INVAL;
    /* C division truncates toward zero: q is x's quotient rounded toward zero, r has x's sign */
    int64_t q = x / minor, r = x % minor;
    int64_t twice = 2 * (r < 0 ? -r : r); /* |r| < minor <= INT64_MAX / 2: fits */
    if (twice > minor || (twice == minor && q % 2 != 0))
        q += x < 0 ? -1 : 1; /* cannot overflow: |q| <= |x| / minor, and minor >= 2 here */
    return al_money_mul(q, minor, ret);
}

char *al_money_fmt(int64_t x, char *buf, size_t size)
{
    /* the magnitude as unsigned, so that INT64_MIN has one too */
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    uint64_t whole = u / (uint64_t)AL_MONEY_UNIT, frac = u % (uint64_t)AL_MONEY_UNIT;
    const char *sign = x < 0 ? "-" : "";
    if (size == 0)
        return buf;
    if (frac % (uint64_t)AL_MONEY_CENT == 0)
        (void)snprintf(buf, size, "%s%" PRIu64 ".%02" PRIu64, sign, whole,
                       frac / (uint64_t)AL_MONEY_CENT);
    else
        (void)snprintf(buf, size, "%s%" PRIu64 ".%06" PRIu64, sign, whole, frac);
    return buf;
}

/* Accumulate the digits of s[0..n) onto *acc (acc = acc·10 + d), checked. */
static int parse_digits(const char *s, size_t n, int64_t *acc)
{
    for (size_t i = 0; i < n; i++)
        if (al_money_mul(*acc, 10, acc) || al_money_add(*acc, s[i] - '0', acc))
            return AL_E_RANGE;
    return 0;
}

int al_money_parse(const char *s, int64_t *ret, struct al_err *reterr)
{
    int64_t v = 0;
    if (!s)
        return al_err_set(reterr, AL_E_INVAL, "no amount");
    const char *p = s + (s[0] == '-');
    size_t whole = strspn(p, "0123456789"), frac = 0;
    if (whole == 0)
        return al_err_set(reterr, AL_E_INVAL, "amount %.32s is not a decimal number", s);
    if (p[whole] == '.') {
        frac = strspn(p + whole + 1, "0123456789");
        if (frac == 0 || p[whole + 1 + frac] != '\0')
            return al_err_set(reterr, AL_E_INVAL, "amount %.32s is not a decimal number", s);
        if (frac > 6)
            return al_err_set(reterr, AL_E_INVAL,
                              "amount %.32s has more than 6 decimals (a micro-unit is the "
                              "smallest amount)",
                              s);
    } else if (p[whole] != '\0') {
        return al_err_set(reterr, AL_E_INVAL, "amount %.32s is not a decimal number", s);
    }
    /* the fraction padded to 6 digits: "100.5" is 100·10^6 + 500000 micro-units */
    int64_t f = 0;
    if (parse_digits(p + whole + 1, frac, &f) != 0) /* frac <= 6 digits: cannot overflow */
        return al_err_set(reterr, AL_E_INVAL, "amount %.32s is not a decimal number", s);
    for (size_t i = frac; i < 6; i++)
        f *= 10;
    if (parse_digits(p, whole, &v) || al_money_mul(v, AL_MONEY_UNIT, &v) || al_money_add(v, f, &v))
        return al_err_set(reterr, AL_E_RANGE, "amount %.32s is too large", s);
    *ret = s[0] == '-' ? -v : v;
    return 0;
}

const char *al_refusal_code_name(enum al_refusal_code c)
{
    switch (c) {
    case AL_REFUSAL_NONE:
        return "none";
    case AL_REFUSAL_LIMIT:
        return "limit_exceeded";
    case AL_REFUSAL_BALANCE:
        return "insufficient_balance";
    }
    return "none";
}

int al_refusal_http_status(enum al_refusal_code c)
{
    switch (c) {
    case AL_REFUSAL_NONE:
        return 200;
    case AL_REFUSAL_LIMIT:
        return 409;
    case AL_REFUSAL_BALANCE:
        return 402;
    }
    return 200;
}

int al_refusal_limit(struct al_refusal *r, const char *limit, const char *unit, int64_t value,
                     int64_t in_use, int64_t asked, struct al_err *reterr)
{
    *r = (struct al_refusal){.code = AL_REFUSAL_LIMIT,
                             .limit = limit,
                             .unit = unit,
                             .value = value,
                             .in_use = in_use,
                             .asked = asked};
    return al_err_set(reterr, AL_E_PAYMENT,
                      "limit_exceeded: %s is %" PRId64 " %s, %" PRId64 " in use, %" PRId64 " asked",
                      limit, value, unit, in_use, asked);
}

int al_refusal_balance(struct al_refusal *r, int64_t balance, int64_t credit_limit, int64_t asked,
                       struct al_err *reterr)
{
    char b[AL_MONEY_FMT_MAX], c[AL_MONEY_FMT_MAX], a[AL_MONEY_FMT_MAX];
    *r = (struct al_refusal){.code = AL_REFUSAL_BALANCE,
                             .limit = "balance",
                             .unit = "micros",
                             .value = credit_limit,
                             .in_use = balance,
                             .asked = asked,
                             .balance = balance,
                             .credit_limit = credit_limit};
    return al_err_set(reterr, AL_E_PAYMENT,
                      "insufficient_balance: balance %s, credit limit %s, amount asked %s",
                      al_money_fmt(balance, b, sizeof b), al_money_fmt(credit_limit, c, sizeof c),
                      al_money_fmt(asked, a, sizeof a));
}
