/* test_quote.c — unit tests of core/quote: hand-worked quotes to the micro-unit, how a partial
 * hour is billed, the overflow refusals at their exact edges, bad asks, and random asks against
 * a 128-bit model of the rule the API has always charged (routes_flow.c's price_lines). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/catalog.h"
#include "core/quote.h"

#define H 3600
#define T 1767225600 /* 2026-01-01T00:00:00Z */

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

static int prof(const struct al_gpu_model *m, const char *name)
{
    int i = al_catalog_profile_index(m, name);
    assert_true(i >= 0);
    return i;
}

static const struct al_price list = {.gpu_hour = 2490000, .mig_slice_hour = 410000};

static void test_whole_gpus(void **state)
{
    (void)state;
    struct al_quote q;
    struct al_err err;
    struct al_quote_ask a = {model("H100-80GB"), -1, 8, T, T + 24 * H};
    assert_int_equal(al_quote_price(&a, &list, &q, &err), 0);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.lines[0].what, "H100-80GB GPU-hour");
    assert_int_equal(q.lines[0].unit, AL_QUOTE_GPU_HOUR);
    assert_string_equal(al_quote_unit_name(q.lines[0].unit), "gpu-hour");
    assert_int_equal(q.lines[0].units, 8);
    assert_int_equal(q.lines[0].hours, 24);
    assert_int_equal(q.lines[0].quantity, 192);
    assert_int_equal(q.lines[0].unit_price, 2490000);
    assert_int_equal(q.lines[0].amount, 478080000); /* 192 GPU-hours × $2.49 = $478.08 */
    assert_int_equal(q.total, 478080000);
}

static void test_mig_instances(void **state)
{
    (void)state;
    struct al_quote q;
    const struct al_gpu_model *m = model("H100-80GB");
    /* 3 × 3g.40gb (3 compute slices each) for 90 minutes: 9 slices × 2 hours */
    struct al_quote_ask a = {m, prof(m, "3g.40gb"), 3, T, T + 90 * 60};
    assert_int_equal(al_quote_price(&a, &list, &q, NULL), 0);
    assert_int_equal(q.n, 1);
    assert_string_equal(q.lines[0].what, "H100-80GB 3g.40gb compute-slice-hour");
    assert_int_equal(q.lines[0].unit, AL_QUOTE_SLICE_HOUR);
    assert_string_equal(al_quote_unit_name(q.lines[0].unit), "compute-slice-hour");
    assert_int_equal(q.lines[0].units, 9);
    assert_int_equal(q.lines[0].hours, 2);
    assert_int_equal(q.lines[0].quantity, 18);
    assert_int_equal(q.lines[0].unit_price, 410000);
    assert_int_equal(q.lines[0].amount, 7380000);
    assert_int_equal(q.total, 7380000);
    /* the media-extension variant costs its compute slices like any other */
    a = (struct al_quote_ask){m, prof(m, "1g.10gb+me"), 1, T, T + H};
    assert_int_equal(al_quote_price(&a, &list, &q, NULL), 0);
    assert_int_equal(q.lines[0].units, 1);
    assert_int_equal(q.total, 410000);
    assert_string_equal(q.lines[0].what, "H100-80GB 1g.10gb+me compute-slice-hour");
}

/* A started hour is billed in full; only the window's length matters. */
static void test_partial_hours(void **state)
{
    (void)state;
    static const struct {
        int64_t len, hours;
    } cases[] = {{1, 1},
                 {59, 1},
                 {H - 1, 1},
                 {H, 1},
                 {H + 1, 2},
                 {2 * H - 1, 2},
                 {2 * H, 2},
                 {2 * H + 1, 3},
                 {366 * 86400, 366 * 24},
                 {366 * 86400 + 1, 366 * 24 + 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct al_quote q;
        struct al_quote_ask a = {model("L40S"), -1, 2, T + 17, T + 17 + cases[i].len};
        assert_int_equal(al_quote_hours(a.start, a.end), cases[i].hours);
        assert_int_equal(al_quote_price(&a, &list, &q, NULL), 0);
        assert_int_equal(q.lines[0].hours, cases[i].hours);
        assert_int_equal(q.total, 2 * cases[i].hours * list.gpu_hour);
    }
    /* negative start times are only numbers */
    assert_int_equal(al_quote_hours(-7200, -3599), 2);
    assert_int_equal(al_quote_hours(INT64_MIN, INT64_MIN + 1), 1);
    assert_int_equal(al_quote_hours(0, INT64_MAX), INT64_MAX / H + 1);
}

static void test_free_and_zero_rates(void **state)
{
    (void)state;
    struct al_quote q;
    struct al_price zero = {0, 0};
    struct al_quote_ask a = {model("A100-80GB"), -1, 4, T, T + 10 * H};
    assert_int_equal(al_quote_price(&a, &zero, &q, NULL), 0);
    assert_int_equal(q.lines[0].quantity, 40);
    assert_int_equal(q.lines[0].amount, 0);
    assert_int_equal(q.total, 0);
}

/* The largest price that fits is accepted to the micro-unit; one micro-unit more per hour is
 * refused, and so are unit-hours beyond int64 even at a rate of 0 (today's check order). */
static void test_overflow_edges(void **state)
{
    (void)state;
    struct al_quote q;
    struct al_err err = {0};
    const struct al_gpu_model *m = model("H100-80GB");
    struct al_quote_ask a = {m, -1, 1024, T, T + 100 * H};
    int64_t qty = 1024 * 100;
    struct al_price p = {INT64_MAX / qty, 0};
    assert_int_equal(al_quote_price(&a, &p, &q, NULL), 0);
    assert_int_equal(q.total, qty * (INT64_MAX / qty));
    assert_true(q.total > INT64_MAX - qty);
    p.gpu_hour++;
    assert_int_equal(al_quote_price(&a, &p, &q, &err), AL_E_INVAL);
    assert_true(strncmp(err.msg, "count: ", 7) == 0);
    assert_non_null(strstr(err.msg, "overflows"));
    assert_int_equal(q.n, 0); /* nothing half-written */
    assert_int_equal(q.total, 0);
    /* unit-hours alone beyond int64: 3600 GPUs for INT64_MAX seconds (2562047788015216 hours) */
    struct al_price zero = {0, 0};
    a = (struct al_quote_ask){m, -1, 3600, 0, INT64_MAX};
    assert_int_equal(al_quote_price(&a, &zero, &q, &err), AL_E_INVAL);
    assert_true(strncmp(err.msg, "count: ", 7) == 0);
    a.count = 3599; /* 9220809989066762384 unit-hours fit: accepted at rate 0 */
    assert_int_equal(al_quote_price(&a, &zero, &q, NULL), 0);
    assert_int_equal(q.lines[0].quantity, INT64_C(9220809989066762384));
    assert_int_equal(q.total, 0);
    /* MIG: the compute slices multiply the count before the hours */
    a = (struct al_quote_ask){m, prof(m, "7g.80gb"), 1024, T, T + H};
    p = (struct al_price){0, INT64_MAX / (1024 * 7)};
    assert_int_equal(al_quote_price(&a, &p, &q, NULL), 0);
    p.mig_slice_hour++;
    assert_int_equal(al_quote_price(&a, &p, &q, NULL), AL_E_INVAL);
}

static void expect_field(const struct al_quote_ask *a, const struct al_price *p, const char *field)
{
    struct al_quote q;
    struct al_err err = {0};
    assert_int_equal(al_quote_price(a, p, &q, &err), AL_E_INVAL);
    assert_int_equal(err.code, AL_E_INVAL);
    assert_true(strncmp(err.msg, field, strlen(field)) == 0);
    assert_int_equal(q.n, 0);
}

static void test_bad_asks(void **state)
{
    (void)state;
    const struct al_gpu_model *h = model("H100-80GB"), *l40 = model("L40S");
    struct al_price neg = {-1, 0}, neg_mig = {0, -1};
    expect_field(&(struct al_quote_ask){NULL, -1, 1, T, T + H}, &list, "model:");
    expect_field(&(struct al_quote_ask){h, (int)h->nprofiles, 1, T, T + H}, &list, "profile:");
    expect_field(&(struct al_quote_ask){h, -2, 1, T, T + H}, &list, "profile:");
    expect_field(&(struct al_quote_ask){l40, 0, 1, T, T + H}, &list, "profile:");
    expect_field(&(struct al_quote_ask){h, -1, 0, T, T + H}, &list, "count:");
    expect_field(&(struct al_quote_ask){h, -1, 1, T, T}, &list, "end:");
    expect_field(&(struct al_quote_ask){h, -1, 1, T, T - 1}, &list, "end:");
    expect_field(&(struct al_quote_ask){h, -1, 1, INT64_MIN, INT64_MAX}, &list, "end:");
    expect_field(&(struct al_quote_ask){h, -1, 1, T, T + H}, &neg, "price:");
    expect_field(&(struct al_quote_ask){h, 0, 1, T, T + H}, &neg_mig, "price:");
    assert_int_equal(al_quote_hours(5, 5), AL_E_INVAL);
    assert_string_equal(al_quote_unit_name((enum al_quote_unit)9), "?");
}

/* ---- against a model of today's rule ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* routes_flow.c's price_lines, in 128 bits: hours = (e - s + 3599) / 3600; units = count (×
 * compute slices for MIG); refused when units × hours or that × rate leaves int64. */
static bool model_price(const struct al_quote_ask *a, const struct al_price *p, int64_t *amount)
{
    __int128 hours = ((__int128)a->end - a->start + 3599) / 3600;
    __int128 units = a->count, rate = p->gpu_hour;
    if (a->profile >= 0) {
        units = (__int128)a->count * a->model->profiles[a->profile].compute_slices;
        rate = p->mig_slice_hour;
    }
    __int128 uh = units * hours, amt = uh * rate;
    if (uh > INT64_MAX || amt > INT64_MAX)
        return false;
    *amount = (int64_t)amt;
    return true;
}

/* A value spread over every magnitude, so that both sides of each overflow edge are hit. */
static int64_t spread(int64_t max)
{
    int64_t v = (int64_t)(rnd64() >> (1 + rnd64() % 63));
    return v % max;
}

static const struct al_granularity hour1 = {AL_GRAN_HOUR, 1};

/* docs/billing.md's granularity table: 90 min 1 s of one GPU at 40.00 */
static void test_terms_granularity(void **state)
{
    (void)state;
    const struct al_price p = {.gpu_hour = 40000000, .mig_slice_hour = 5123457};
    const struct al_granularity sec = {AL_GRAN_SECOND, 0}, min = {AL_GRAN_MINUTE, 0},
                                hour4 = {AL_GRAN_HOUR, 4};
    struct al_quote_ask a = {model("H100-80GB"), -1, 1, T, T + 90 * 60 + 1};
    struct al_quote q;
    assert_int_equal(al_quote_price_terms(&a, &p, &sec, &q, NULL), 0);
    assert_int_equal(q.total, 60011111);
    assert_int_equal(q.lines[0].billed_s, 5401);
    assert_int_equal(q.lines[0].hours, 2);
    assert_int_equal(al_quote_price_terms(&a, &p, &min, &q, NULL), 0);
    assert_int_equal(q.total, 60666666);
    assert_int_equal(q.lines[0].billed_s, 91 * 60);
    assert_int_equal(al_quote_price_terms(&a, &p, &hour1, &q, NULL), 0);
    assert_int_equal(q.total, 80000000);
    assert_int_equal(al_quote_price_terms(&a, &p, &hour4, &q, NULL), 0);
    assert_int_equal(q.total, 160000000);
    assert_int_equal(q.lines[0].billed_s, 4 * H);
    /* a 1-second window under a 4-hour minimum is billed as 4 hours, and says so */
    a.end = T + 1;
    assert_int_equal(al_quote_price_terms(&a, &p, &hour4, &q, NULL), 0);
    assert_int_equal(q.lines[0].billed_s, 4 * H);
    assert_int_equal(q.total, 160000000);
    /* MIG: two 3g.40gb (6 slices) for 2 h 30 min 10 s per second = docs' worked example 2 */
    const struct al_gpu_model *m = model("H100-80GB");
    struct al_quote_ask b = {m, prof(m, "3g.40gb"), 2, T, T + 9010};
    assert_int_equal(al_quote_price_terms(&b, &p, &sec, &q, NULL), 0);
    assert_int_equal(q.total, 76937245);
    assert_int_equal(q.lines[0].units, 6);
    /* bad asks and overflow are refused as al_quote_price refuses them */
    struct al_quote_ask bad = {m, -1, 1, T, T};
    assert_int_equal(al_quote_price_terms(&bad, &p, &sec, &q, NULL), AL_E_INVAL);
    const struct al_price huge = {INT64_MAX, INT64_MAX};
    struct al_quote_ask big = {m, -1, 2048, T, T + 400 * 24 * H};
    assert_int_equal(al_quote_price_terms(&big, &huge, &sec, &q, NULL), AL_E_INVAL);
    assert_int_equal(q.total, 0);
}

static void test_random_against_model(void **state)
{
    (void)state;
    unsigned ok = 0, refused = 0;
    for (int i = 0; i < 200000; i++) {
        const struct al_gpu_model *m = al_catalog_at(rnd64() % al_catalog_count());
        int pr = m->mig && rnd64() % 2 ? (int)(rnd64() % m->nprofiles) : -1;
        int64_t s = (int64_t)(rnd64() % 4000000000u) - 1000000000;
        int64_t len = 1 + spread(INT64_MAX - 4000000000);
        struct al_quote_ask a = {m, pr, 1 + (unsigned)(rnd64() % 2048), s, s + len};
        struct al_price p = {spread(INT64_MAX), spread(INT64_MAX)};
        struct al_quote q;
        int64_t want = 0;
        bool fits = model_price(&a, &p, &want);
        int rc = al_quote_price(&a, &p, &q, NULL);
        if (!fits) {
            assert_int_equal(rc, AL_E_INVAL);
            refused++;
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(q.n, 1);
        assert_int_equal(q.lines[0].amount, want);
        assert_int_equal(q.total, want);
        assert_int_equal(q.lines[0].quantity, q.lines[0].units * q.lines[0].hours);
        /* whole hours with a minimum of 1 under a contract is the list rule, to the micro-unit */
        struct al_quote qt;
        assert_int_equal(al_quote_price_terms(&a, &p, &hour1, &qt, NULL), 0);
        assert_int_equal(qt.total, q.total);
        assert_int_equal(qt.lines[0].billed_s / H, q.lines[0].hours);
        ok++;
    }
    assert_true(ok > 1000 && refused > 1000); /* both sides of the edge were exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_gpus),           cmocka_unit_test(test_mig_instances),
        cmocka_unit_test(test_partial_hours),        cmocka_unit_test(test_free_and_zero_rates),
        cmocka_unit_test(test_overflow_edges),       cmocka_unit_test(test_bad_asks),
        cmocka_unit_test(test_random_against_model), cmocka_unit_test(test_terms_granularity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
