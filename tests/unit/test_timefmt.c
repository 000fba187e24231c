/* test_timefmt.c — unit tests of core/timefmt: known dates (leap days, centuries, the epoch,
 * negative times, the edges of years 0000 and 9999), truncation like snprintf, and 300,000
 * random times against the C library's gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/timefmt.h"

static void is(int64_t t, const char *want)
{
    char buf[AL_TIME_TEXT_MAX];
    assert_ptr_equal(al_timefmt(t, buf, sizeof buf), buf);
    assert_string_equal(buf, want);
}

static void test_known_times(void **state)
{
    (void)state;
    is(0, "1970-01-01T00:00:00Z");
    is(-1, "1969-12-31T23:59:59Z");
    is(86399, "1970-01-01T23:59:59Z");
    is(951782400, "2000-02-29T00:00:00Z"); /* a century that is a leap year */
    is(4107456000, "2100-02-28T00:00:00Z");
    is(4107542400, "2100-03-01T00:00:00Z"); /* one that is not */
    is(1767225600, "2026-01-01T00:00:00Z");
    is(1798761599, "2026-12-31T23:59:59Z");
    is(-2208988800, "1900-01-01T00:00:00Z");
    is(-62167219200, "0000-01-01T00:00:00Z");
    is(-62162035201, "0000-02-29T23:59:59Z"); /* year 0 is a leap year */
    is(253402300799, "9999-12-31T23:59:59Z");
    is(253402300800, "unix time 253402300800"); /* RFC 3339 has four-digit years */
    is(-62167219201, "unix time -62167219201");
    is(INT64_MIN, "unix time -9223372036854775808");
    is(INT64_MAX, "unix time 9223372036854775807");
}

static void test_truncates(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, 'x', sizeof buf);
    al_timefmt(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01");
    al_timefmt(0, buf, 1);
    assert_string_equal(buf, "");
    assert_null(al_timefmt(0, NULL, 10));
    buf[0] = 'x';
    al_timefmt(0, buf, 0); /* nothing written */
    assert_int_equal(buf[0], 'x');
}

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_against_gmtime(void **state)
{
    (void)state;
    const int64_t first = INT64_C(-62167219200), span = INT64_C(253402300800) - first;
    for (int i = 0; i < 300000; i++) {
        /* uniform over the range, and near now (where every message falls) */
        int64_t t = i % 2 ? first + (int64_t)(rnd64() % (uint64_t)span)
                          : INT64_C(1700000000) + (int64_t)(rnd64() % 400000000u);
        time_t tt = (time_t)t;
        struct tm tm;
        char want[64], got[AL_TIME_TEXT_MAX];
        assert_non_null(gmtime_r(&tt, &tm));
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_string_equal(al_timefmt(t, got, sizeof got), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_times),
        cmocka_unit_test(test_truncates),
        cmocka_unit_test(test_against_gmtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
