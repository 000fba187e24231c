/* test_promtext.c — unit tests of server/promtext: the exposition format's families, samples,
 * label escaping, number spelling, cumulative histograms, refused names, growth past the
 * first buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/promtext.h"

/* The text of `p`, taken (the test frees it). */
static char *take(struct al_prom *p)
{
    char *t = al_prom_take(p, NULL);
    assert_non_null(t);
    return t;
}

static void test_family_and_samples(void **state)
{
    (void)state;
    struct al_prom p;
    const char *labels[] = {"route", "/v1/x/*", "method", "GET", NULL};
    size_t len = 0;
    al_prom_init(&p);
    al_prom_family(&p, "allot_calls_total", "counter", "Calls.");
    al_prom_sample_u64(&p, "allot_calls_total", labels, 18446744073709551615u);
    al_prom_sample_i64(&p, "allot_balance", NULL, -42);
    char *t = al_prom_take(&p, &len);
    assert_string_equal(t, "# HELP allot_calls_total Calls.\n"
                           "# TYPE allot_calls_total counter\n"
                           "allot_calls_total{route=\"/v1/x/*\",method=\"GET\"} "
                           "18446744073709551615\n"
                           "allot_balance -42\n");
    assert_int_equal(len, strlen(t));
    free(t);
}

static void test_escapes(void **state)
{
    (void)state;
    struct al_prom p;
    const char *labels[] = {"node", "a\"b\\c\nd", NULL};
    al_prom_init(&p);
    al_prom_family(&p, "x", "gauge", "back\\slash and\nnewline, \"quotes\" kept");
    al_prom_sample_u64(&p, "x", labels, 1);
    char *t = take(&p);
    assert_string_equal(t, "# HELP x back\\\\slash and\\nnewline, \"quotes\" kept\n"
                           "# TYPE x gauge\n"
                           "x{node=\"a\\\"b\\\\c\\nd\"} 1\n");
    free(t);
}

static void test_numbers(void **state)
{
    (void)state;
    struct al_prom p;
    al_prom_init(&p);
    al_prom_sample(&p, "a", NULL, 0.1);
    al_prom_sample(&p, "b", NULL, 1.0 / 3.0);
    al_prom_sample(&p, "c", NULL, INFINITY);
    al_prom_sample(&p, "d", NULL, -INFINITY);
    al_prom_sample(&p, "e", NULL, NAN);
    al_prom_sample(&p, "f", NULL, 1796629639.5);
    char *t = take(&p);
    /* the shortest spelling that reads back as the same double */
    assert_string_equal(t, "a 0.1\nb 0.33333333333333331\nc +Inf\nd -Inf\ne NaN\n"
                           "f 1796629639.5\n");
    free(t);
}

static void test_histogram(void **state)
{
    (void)state;
    struct al_prom p;
    const uint64_t bounds[] = {1000, 25000};
    const uint64_t counts[] = {2, 0, 3}; /* per bucket; 3 above the last bound */
    const char *labels[] = {"route", "/healthz", NULL};
    al_prom_init(&p);
    struct al_prom_hist lat = {bounds, 2, counts, 1500000, 1e6}, units = {bounds, 2, counts, 7, 1};
    al_prom_histogram(&p, "lat_seconds", labels, &lat);
    al_prom_histogram(&p, "units", NULL, &units);
    char *t = take(&p);
    assert_string_equal(t, "lat_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 2\n"
                           "lat_seconds_bucket{route=\"/healthz\",le=\"0.025\"} 2\n"
                           "lat_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 5\n"
                           "lat_seconds_sum{route=\"/healthz\"} 1.5\n"
                           "lat_seconds_count{route=\"/healthz\"} 5\n"
                           "units_bucket{le=\"1000\"} 2\n"
                           "units_bucket{le=\"25000\"} 2\n"
                           "units_bucket{le=\"+Inf\"} 5\n"
                           "units_sum 7\n"
                           "units_count 5\n");
    free(t);
}

static void test_bad_names_fail(void **state)
{
    (void)state;
    struct al_prom p;
    const char *bad_label[] = {"0abc", "v", NULL};
    const char *reserved[] = {"__name__", "v", NULL};
    const char *no_value[] = {"k", NULL, NULL};
    assert_true(al_prom_metric_name_ok("allot:rate_5m"));
    assert_false(al_prom_metric_name_ok("9lives"));
    assert_false(al_prom_metric_name_ok("a-b"));
    assert_false(al_prom_metric_name_ok(""));
    assert_true(al_prom_label_name_ok("_x1"));
    assert_false(al_prom_label_name_ok("a:b"));
    assert_false(al_prom_label_name_ok("__x"));
    const char *const *cases[] = {bad_label, reserved, no_value};
    for (size_t i = 0; i < 3; i++) {
        al_prom_init(&p);
        al_prom_sample_u64(&p, "ok_name", cases[i], 1);
        al_prom_sample_u64(&p, "ok_name", NULL, 2); /* sticky: nothing after a failure */
        assert_true(p.failed);
        assert_null(al_prom_take(&p, NULL));
        assert_null(p.buf);
    }
    al_prom_init(&p);
    al_prom_family(&p, "bad name", "gauge", "h");
    assert_null(al_prom_take(&p, NULL));
}

static void test_grows(void **state)
{
    (void)state;
    struct al_prom p;
    char name[32], want[64];
    al_prom_init(&p);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "m_%d", i);
        al_prom_sample_u64(&p, name, NULL, (uint64_t)i);
    }
    size_t len = 0;
    char *t = al_prom_take(&p, &len);
    assert_non_null(t);
    assert_true(len > 4096);
    assert_int_equal(len, strlen(t));
    snprintf(want, sizeof want, "\nm_1999 1999\n");
    assert_non_null(strstr(t, want));
    assert_true(strncmp(t, "m_0 0\nm_1 1\n", 12) == 0);
    free(t);
    al_prom_free(&p); /* harmless after a take */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_and_samples),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_bad_names_fail),
        cmocka_unit_test(test_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
