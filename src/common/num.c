/* num.c — checked number parsing (see num.h). */
#include "common/num.h"

#include <errno.h>

/* The value of digit `c` in `base` (10 or 16), or -1. */
static int digit_value(char c, unsigned base)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The digits of `s` in `base` as a magnitude; -EINVAL for an empty string or a character that
 * is not a digit (a sign or a space included), -ERANGE once it would pass `limit`. */
static int parse_digits(const char *s, unsigned base, uint64_t limit, uint64_t *ret)
{
    uint64_t v = 0;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        int d = digit_value(*s, base);
        if (d < 0)
            return -EINVAL;
        if (v > (limit - (unsigned)d) / base)
            return -ERANGE;
        v = v * base + (unsigned)d;
    }
    *ret = v;
    return 0;
}

static int parse_unsigned(const char *s, unsigned base, uint64_t min, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    if (!s)
        return -EINVAL;
    int rc = parse_digits(s, base, UINT64_MAX, &v);
    if (rc < 0)
        return rc;
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int al_num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    return parse_unsigned(s, 10, min, max, ret);
}

int al_num_parse_hex_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    return parse_unsigned(s, 16, min, max, ret);
}

int al_num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    uint64_t mag = 0;
    int64_t v = 0;
    if (!s)
        return -EINVAL;
    int neg = *s == '-'; /* '-' only: a '+' or a space is not a digit, so it is refused below */
    /* INT64_MIN's magnitude is INT64_MAX + 1, one more than a positive value may have. */
    int rc = parse_digits(s + neg, 10, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
    if (rc < 0)
        return rc;
    if (!neg)
        v = (int64_t)mag;
    else if (mag == (uint64_t)INT64_MAX + 1)
        v = INT64_MIN;
    else
        v = -(int64_t)mag;
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}
