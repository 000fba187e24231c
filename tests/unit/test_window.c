/* test_window.c — unit tests of core/window, the operator change windows: the text form (good
 * texts and their canonical form, every refusal naming what is wrong), windows crossing
 * midnight, and the queries (inside, next, the latest before a deadline), the last two also
 * against a naive list of every occurrence over five weeks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/window.h"

#define H   INT64_C(3600)
#define D   INT64_C(86400)
#define MON INT64_C(1796601600) /* 2026-12-07T00:00:00Z, a Monday */

static struct al_windows parse_ok(const char *text)
{
    struct al_windows w;
    struct al_err e = {0};
    int rc = al_window_parse(text, &w, &e);
    if (rc != 0)
        fail_msg("'%s': %s", text, e.msg);
    return w;
}

static void test_parse_canonical(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"daily 02:00-04:00", "daily 02:00-04:00"},
        {"weekdays 22:00-02:00", "weekdays 22:00-02:00"},
        {"sat,sun 00:00-06:00", "weekends 00:00-06:00"},
        {"SUN,Sat 00:00-06:00", "weekends 00:00-06:00"},
        {"Weekends 00:00-06:00", "weekends 00:00-06:00"},
        {"mon-fri 01:00-02:00", "weekdays 01:00-02:00"},
        {"fri-mon 23:00-24:00", "mon,fri,sat,sun 23:00-24:00"},
        {"mon-sun 03:00-03:30", "daily 03:00-03:30"},
        {"  mon 00:00-24:00 ;\twed,thu 12:30-13:45 ", "mon 00:00-24:00; wed,thu 12:30-13:45"},
        {"tue 22:00-00:00", "tue 22:00-24:00"},
        {"wed,mon 23:59-00:01", "mon,wed 23:59-00:01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct al_windows w = parse_ok(cases[i][0]), again;
        char buf[AL_WINDOW_TEXT_MAX + 1];
        int n = al_window_format(&w, buf, sizeof buf);
        assert_int_equal(n, (int)strlen(cases[i][1]));
        assert_string_equal(buf, cases[i][1]);
        again = parse_ok(buf);
        assert_memory_equal(&w, &again, sizeof w);
    }
    /* The longest canonical text of eight windows parses back (the ranges written out). */
    struct al_windows longest = parse_ok("sun-fri 01:00-23:40; sat-thu 01:00-23:40; fri-wed "
                                         "01:00-23:40; thu-tue 01:00-23:40; wed-mon 01:00-23:40; "
                                         "tue-sun 01:00-23:40; sun-fri 01:00-23:40; sat-thu "
                                         "01:00-23:40");
    char buf[AL_WINDOW_TEXT_MAX + 1];
    assert_int_equal(al_window_format(&longest, buf, sizeof buf), 294);
    struct al_windows back = parse_ok(buf);
    assert_memory_equal(&longest, &back, sizeof back);

    struct al_windows w = parse_ok("weekdays 22:00-02:00");
    assert_int_equal(w.n, 1);
    assert_int_equal(w.w[0].days, 0x3e);
    assert_int_equal(w.w[0].start_min, 22 * 60);
    assert_int_equal(w.w[0].end_min, 2 * 60);
    char small[8];
    assert_int_equal(al_window_format(&w, small, sizeof small), 20); /* snprintf's contract */
    assert_string_equal(small, "weekday");
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", "no window given"},
        {"   ", "no window given"},
        {"daily", "expected '<days> HH:MM-HH:MM'"},
        {"daily 2:00-04:00", "start time is not HH:MM"},
        {"daily 0a:00-04:00", "start time is not HH:MM"},
        {"daily 24:00-02:00", "start time is not HH:MM"},
        {"daily 02:60-03:00", "start time is not HH:MM"},
        {"daily 02:00-4:00", "end time is not HH:MM"},
        {"daily 02:00-24:01", "end time is not HH:MM"},
        {"daily 02:00-25:00", "end time is not HH:MM"},
        {"daily 02:00", "times must be HH:MM-HH:MM"},
        {"daily 0200-0300", "start time is not HH:MM"},
        {"daily 02:00-02:00", "window is empty"},
        {"daily 00:00-00:00", "window is empty"},
        {"mon,mon 02:00-03:00", "day named twice"},
        {"mon-fri,wed 01:00-02:00", "day named twice"},
        {"monday 02:00-03:00", "days must be daily, weekdays, weekends"},
        {"mon-xyz 02:00-03:00", "days must be daily"},
        {"mon, tue 01:00-02:00", "trailing comma"},
        {",mon 01:00-02:00", "days must be"},
        {"daily 02:00-03:00 extra", "unexpected text after the times"},
        {"daily 02:00 - 03:00", "unexpected text after the times"},
        {"daily 02:00-03:00;", "window 2 is empty"},
        {";daily 02:00-03:00", "window 1 is empty"},
        {"daily 01:00-02:00; sat 6:00-07:00", "window 2 'sat 6:00-07:00': start time"},
        {"daily 02:00-03:00\n", "bad character 0x0a at 18"},
        {"daily 02:00-03:00\xc3\xa9", "bad character 0xc3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct al_windows w;
        struct al_err e = {0};
        memset(&w, 0x55, sizeof w);
        assert_int_equal(al_window_parse(cases[i][0], &w, &e), AL_E_INVAL);
        if (!strstr(e.msg, cases[i][1]))
            fail_msg("'%s': got '%s', want '%s'", cases[i][0], e.msg, cases[i][1]);
        assert_int_equal(w.n, 0); /* emptied on error */
    }
    char many[AL_WINDOW_TEXT_MAX + 2] = "";
    for (int i = 0, k = 0; i < 9; i++)
        k += snprintf(many + k, sizeof many - (size_t)k, "%smon 01:00-02:00", i ? ";" : "");
    struct al_windows w;
    struct al_err e = {0};
    assert_int_equal(al_window_parse(many, &w, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "more than 8 windows"));
    memset(many, 'a', sizeof many - 1);
    many[sizeof many - 1] = '\0';
    assert_int_equal(al_window_parse(many, &w, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "longer than 320"));
    assert_int_equal(al_window_parse(NULL, &w, &e), AL_E_INVAL);
    assert_int_equal(al_window_parse("daily 01:00-02:00", NULL, NULL), AL_E_INVAL);
}

static void test_contains(void **state)
{
    (void)state;
    struct al_windows daily = parse_ok("daily 02:00-04:00");
    assert_false(al_window_contains(&daily, MON + 2 * H - 1));
    assert_true(al_window_contains(&daily, MON + 2 * H));
    assert_true(al_window_contains(&daily, MON + 4 * H - 1));
    assert_false(al_window_contains(&daily, MON + 4 * H));
    assert_true(al_window_contains(&daily, MON + 5 * D + 3 * H));
    assert_false(al_window_contains(&daily, -1));
    assert_false(al_window_contains(&daily, AL_WINDOW_T_MAX + 1));

    /* Crossing midnight: opens Mon-Fri 22:00, so Tue 01:00 and Sat 01:00 are inside, Mon 01:00
     * (Sunday opened none) and Sat 23:00 are not. */
    struct al_windows night = parse_ok("weekdays 22:00-02:00");
    assert_true(al_window_contains(&night, MON + 23 * H));
    assert_true(al_window_contains(&night, MON + D + 1 * H));
    assert_true(al_window_contains(&night, MON + 5 * D + 1 * H));
    assert_false(al_window_contains(&night, MON + 5 * D + 2 * H));
    assert_false(al_window_contains(&night, MON + 1 * H));
    assert_false(al_window_contains(&night, MON + 5 * D + 23 * H));
    assert_false(al_window_contains(&night, MON - H));             /* Sunday 23:00 */
    assert_true(al_window_contains(&night, MON + 4 * D + 22 * H)); /* Friday 22:00 */

    struct al_windows wknd = parse_ok("sat,sun 00:00-06:00");
    assert_true(al_window_contains(&wknd, MON - 2 * D));         /* Sat 00:00 */
    assert_true(al_window_contains(&wknd, MON - D + 6 * H - 1)); /* Sun 05:59:59 */
    assert_false(al_window_contains(&wknd, MON));
    struct al_windows none = {0};
    assert_false(al_window_contains(&none, MON));
}

static void expect_next(const struct al_windows *w, int64_t t, int64_t s, int64_t e)
{
    int64_t gs = 0, ge = 0;
    assert_int_equal(al_window_next(w, t, &gs, &ge), 0);
    assert_int_equal(gs, s);
    assert_int_equal(ge, e);
}

static void test_next(void **state)
{
    (void)state;
    struct al_windows daily = parse_ok("daily 02:00-04:00");
    expect_next(&daily, MON + H, MON + 2 * H, MON + 4 * H);
    expect_next(&daily, MON + 3 * H, MON + 2 * H, MON + 4 * H); /* open: the one open now */
    expect_next(&daily, MON + 4 * H, MON + D + 2 * H, MON + D + 4 * H);
    struct al_windows night = parse_ok("weekdays 22:00-02:00");
    expect_next(&night, MON - 2 * D, MON - 2 * D - 2 * H, MON - 2 * D + 2 * H); /* Sat 00:00 */
    expect_next(&night, MON - 2 * D + 3 * H, MON + 22 * H, MON + D + 2 * H);
    struct al_windows sun = parse_ok("sun 10:00-11:00");
    expect_next(&sun, MON, MON + 6 * D + 10 * H, MON + 6 * D + 11 * H);
    expect_next(&sun, MON - D + 11 * H, MON + 6 * D + 10 * H, MON + 6 * D + 11 * H);
    int64_t s = 0, e = 0;
    struct al_windows none = {0};
    assert_int_equal(al_window_next(&none, MON, &s, &e), AL_E_NOTFOUND);
    assert_int_equal(al_window_next(&sun, -1, &s, &e), AL_E_RANGE);
    assert_int_equal(al_window_next(&sun, 0, &s, &e), 0); /* the epoch's day: a Thursday */
    assert_int_equal(s, 3 * D + 10 * H);
}

static void expect_before(const struct al_windows *w, int64_t now, int64_t deadline, int64_t s,
                          int64_t e)
{
    int64_t gs = 0, ge = 0;
    assert_int_equal(al_window_before(w, now, deadline, &gs, &ge), 0);
    assert_int_equal(gs, s);
    assert_int_equal(ge, e);
}

static void test_before(void **state)
{
    (void)state;
    int64_t s = 0, e = 0;
    struct al_windows daily = parse_ok("daily 02:00-04:00");
    /* A deadline of Thursday 03:00: Thursday's window closes too late, Wednesday's is the one. */
    expect_before(&daily, MON + 5 * H, MON + 3 * D + 3 * H, MON + 2 * D + 2 * H,
                  MON + 2 * D + 4 * H);
    expect_before(&daily, MON + 5 * H, MON + 3 * D + 4 * H, MON + 3 * D + 2 * H,
                  MON + 3 * D + 4 * H); /* closing at the deadline is in time */
    expect_before(&daily, MON + 3 * H, MON + 10 * H, MON + 3 * H, MON + 4 * H); /* open now */
    assert_int_equal(al_window_before(&daily, MON + 4 * H, MON + D + 3 * H, &s, &e), AL_E_NOTFOUND);
    assert_int_equal(al_window_before(&daily, MON + 4 * H, MON + 4 * H, &s, &e), AL_E_NOTFOUND);
    assert_int_equal(al_window_before(&daily, MON + 4 * H, MON, &s, &e), AL_E_NOTFOUND);
    assert_int_equal(al_window_before(&daily, -5, MON, &s, &e), AL_E_RANGE);
    assert_int_equal(al_window_before(&daily, MON, AL_WINDOW_T_MAX + 1, &s, &e), AL_E_RANGE);

    struct al_windows sun = parse_ok("sun 10:00-11:00");
    expect_before(&sun, MON, MON + 30 * D, MON + 27 * D + 10 * H, MON + 27 * D + 11 * H);
    struct al_windows night = parse_ok("weekdays 22:00-02:00");
    /* Deadline Monday 12:00: the last closing before it is Saturday 02:00 (opened Friday). */
    expect_before(&night, MON - 3 * D, MON + 12 * H, MON - 3 * D + 22 * H, MON - 2 * D + 2 * H);
    /* Two closing together: the longer one. */
    struct al_windows two = parse_ok("mon 03:00-04:00; mon 01:00-04:00");
    expect_before(&two, MON, MON + 5 * H, MON + 1 * H, MON + 4 * H);
}

/* ---- against every occurrence, listed naively ---------------------------------------------- */

struct occ {
    int64_t s, e;
};

/* Every occurrence opening on the days [first, first+ndays), from the fields alone. */
static unsigned all_occurrences(const struct al_windows *w, int64_t first, int ndays,
                                struct occ *ret)
{
    unsigned n = 0;
    for (int64_t day = first; day < first + ndays; day++) {
        int wd = (int)((day + 4) % 7);
        for (unsigned i = 0; i < w->n; i++) {
            const struct al_window *x = &w->w[i];
            if (!(x->days & (1 << wd)))
                continue;
            int64_t s = day * D + x->start_min * 60;
            int64_t len = x->end_min > x->start_min ? x->end_min - x->start_min
                                                    : x->end_min + 1440 - x->start_min;
            ret[n++] = (struct occ){s, s + len * 60};
        }
    }
    return n;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_queries_match_naive(void **state)
{
    (void)state;
    static struct occ occ[40 * 7 * AL_WINDOW_MAX];
    for (int round = 0; round < 300; round++) {
        struct al_windows w = {.n = 1 + rnd(3)};
        for (unsigned i = 0; i < w.n; i++) {
            w.w[i].days = (uint8_t)(1 + rnd(127));
            w.w[i].start_min = (uint16_t)(rnd(24 * 4) * 15);
            do
                w.w[i].end_min = (uint16_t)(15 + rnd(24 * 4) * 15);
            while (w.w[i].end_min == w.w[i].start_min);
        }
        char text[AL_WINDOW_TEXT_MAX + 1];
        (void)al_window_format(&w, text, sizeof text);
        struct al_windows back = parse_ok(text);
        assert_memory_equal(&w, &back, sizeof w);
        unsigned n = all_occurrences(&w, MON / D - 2, 42, occ);
        for (int k = 0; k < 40; k++) {
            int64_t now = MON + (int64_t)rnd(7 * 96) * 900,
                    deadline = now + (int64_t)rnd(30 * 96) * 900;
            bool in = false, found_next = false, found_before = false;
            struct occ nx = {0}, bf = {0};
            for (unsigned i = 0; i < n; i++) {
                in |= occ[i].s <= now && now < occ[i].e;
                if (occ[i].e > now &&
                    (!found_next || occ[i].s < nx.s || (occ[i].s == nx.s && occ[i].e > nx.e))) {
                    nx = occ[i];
                    found_next = true;
                }
                struct occ c = {occ[i].s < now ? now : occ[i].s, occ[i].e};
                if (occ[i].e <= deadline && occ[i].e > now &&
                    (!found_before || c.e > bf.e || (c.e == bf.e && c.s < bf.s))) {
                    bf = c;
                    found_before = true;
                }
            }
            assert_int_equal(al_window_contains(&w, now), in);
            assert_true(found_next);
            expect_next(&w, now, nx.s, nx.e);
            if (found_before) {
                expect_before(&w, now, deadline, bf.s, bf.e);
            } else {
                int64_t s = 0, e = 0;
                assert_int_equal(al_window_before(&w, now, deadline, &s, &e), AL_E_NOTFOUND);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_canonical), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_contains),        cmocka_unit_test(test_next),
        cmocka_unit_test(test_before),          cmocka_unit_test(test_queries_match_naive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
