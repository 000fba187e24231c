/* timefmt.c — RFC 3339 UTC text of a Unix time, by civil-date arithmetic (the days-to-date
 * conversion of Howard Hinnant's "chrono-Compatible Low-Level Date Algorithms": 400-year
 * eras of 146,097 days, years starting in March so that the leap day comes last). */
#include "core/timefmt.h"

#include <stdio.h>

#define DAY_S   INT64_C(86400)
#define FIRST_S INT64_C(-62167219200) /* 0000-01-01T00:00:00Z */
#define LAST_S  INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

char *al_timefmt(int64_t t, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    if (t < FIRST_S || t > LAST_S) {
        (void)snprintf(buf, len, "unix time %lld", (long long)t);
        return buf;
    }
    int64_t days = t / DAY_S, sec = t % DAY_S;
    if (sec < 0) { /* floor, not truncation toward zero */
        sec += DAY_S;
        days--;
    }
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* March = 0 */
    int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    (void)snprintf(buf, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", (long long)year,
                   (long long)month, (long long)day, (long long)(sec / 3600),
                   (long long)(sec / 60 % 60), (long long)(sec % 60));
    return buf;
}
