/* num.c — checked decimal number parsing (see num.h). */
#include "common/num.h"

#include <errno.h>

/* The digits of `s` as a magnitude; -ERANGE once it would pass `limit`. */
static int parse_digits(const char *s, uint64_t limit, uint64_t *ret)
{
    uint64_t v = 0;
    if (!*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

int al_num_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;
    if (!s)
        return -EINVAL;
    int rc = parse_digits(s, UINT64_MAX, &v);
    if (rc < 0)
        return rc;
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int al_num_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    uint64_t mag = 0;
    int64_t v = 0;
    if (!s)
        return -EINVAL;
    int neg = *s == '-';
    /* INT64_MIN's magnitude is INT64_MAX + 1, one more than a positive value may have. */
    int rc = parse_digits(s + neg, neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag);
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
