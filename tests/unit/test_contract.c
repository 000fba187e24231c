/* test_contract.c — unit tests of core/contract: validation field by field, amendments, the
 * contract's rates (frozen or discounted, floored), the granularity rule to the micro-unit,
 * overflow refusals, exact GPU share units, the peak-share sweep, and every limit refusal with
 * its name, value, use and ask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/contract.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT) /* whole currency units in micro-units */

static struct al_contract base(enum al_terms terms)
{
    struct al_contract c = {
        .id = 7,
        .version = 1,
        .org = 3,
        .terms = terms,
        .valid_from = T0,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_HOUR, 1},
        .draw_period_s = HOUR,
        .discount_bps = 1000,
        .nrates = 1,
        .rates = {{"H100-80GB", {M(40), M(5), M(3)}}},
        .cancel_fee = M(50),
        .cancel_fee_bps = 1000,
        .self_service = true,
        .limits = {M(100), 4 * AL_SHARE_PER_GPU, 96 * HOUR, 5, M(100000)},
    };
    return c;
}

static void expect_invalid(struct al_contract c, const char *field)
{
    struct al_err e = {0};
    assert_int_equal(al_contract_validate(&c, &e), AL_E_INVAL);
    if (!strstr(e.msg, field))
        fail_msg("expected '%s' in '%s'", field, e.msg);
}

static void test_validate(void **state)
{
    (void)state;
    struct al_contract c = base(AL_TERMS_PREPAID);
    assert_int_equal(al_contract_validate(&c, NULL), 0);
    c.id = 0;
    expect_invalid(c, "id");
    c = base(AL_TERMS_PREPAID);
    c.version = 0;
    expect_invalid(c, "version");
    c = base(AL_TERMS_PREPAID);
    c.terms = (enum al_terms)9;
    expect_invalid(c, "terms");
    c = base(AL_TERMS_PREPAID);
    c.valid_to = c.valid_from;
    expect_invalid(c, "valid_to");
    c = base(AL_TERMS_PREPAID);
    c.gran.min_hours = 0;
    expect_invalid(c, "min_hours");
    c.gran = (struct al_granularity){AL_GRAN_MINUTE, 2};
    expect_invalid(c, "min_hours");
    c = base(AL_TERMS_PREPAID);
    c.draw_period_s = 1800;
    expect_invalid(c, "draw_period");
    c = base(AL_TERMS_PREPAID);
    c.discount_bps = 10001;
    expect_invalid(c, "discount_bps");
    c = base(AL_TERMS_PREPAID);
    c.cancel_fee_bps = -1;
    expect_invalid(c, "cancel_fee_bps");
    c = base(AL_TERMS_PREPAID);
    c.cancel_fee = -1;
    expect_invalid(c, "cancel_fee");
    c = base(AL_TERMS_PREPAID);
    c.rates[1] = c.rates[0];
    c.nrates = 2;
    expect_invalid(c, "listed twice");
    c.rates[1].rates.gpu_hour = -1;
    (void)snprintf(c.rates[1].model, sizeof c.rates[1].model, "A30-24GB");
    expect_invalid(c, "negative price");
    c = base(AL_TERMS_PREPAID);
    c.limits.credit_limit = AL_LIMIT_NONE;
    expect_invalid(c, "credit_limit");
    c.terms = AL_TERMS_INVOICED; /* an invoiced contract may leave it unlimited */
    assert_int_equal(al_contract_validate(&c, NULL), 0);
    c.limits.max_gpus = -2;
    expect_invalid(c, "max_concurrent_gpus");
}

static void test_amend_and_period(void **state)
{
    (void)state;
    struct al_contract v1 = base(AL_TERMS_PREPAID), v2 = v1;
    struct al_err e = {0};
    v2.version = 2;
    v2.terms = AL_TERMS_BALANCE;
    assert_int_equal(al_contract_amend_check(&v1, &v2, NULL), 0);
    v2.version = 3;
    assert_int_equal(al_contract_amend_check(&v1, &v2, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "version"));
    v2.version = 2;
    v2.org = 4;
    assert_int_equal(al_contract_amend_check(&v1, &v2, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "org"));
    assert_int_equal(al_contract_active(&v1, T0, NULL), 0);
    assert_int_equal(al_contract_active(&v1, T0 - 1, NULL), AL_E_STATE);
    assert_int_equal(al_contract_active(&v1, v1.valid_to, NULL), AL_E_STATE);
    enum al_terms t;
    enum al_gran_unit g;
    assert_int_equal(al_contract_terms_parse("invoiced", &t), 0);
    assert_int_equal(t, AL_TERMS_INVOICED);
    assert_int_equal(al_contract_terms_parse("credit", &t), AL_E_INVAL);
    assert_int_equal(al_contract_gran_parse("minute", &g), 0);
    assert_string_equal(al_contract_gran_name(g), "minute");
    assert_string_equal(al_contract_terms_name(AL_TERMS_BALANCE), "balance");
}

static void test_rates(void **state)
{
    (void)state;
    struct al_contract c = base(AL_TERMS_PREPAID);
    struct al_rates list = {M(72), 10000001, 2999999}, r;
    /* frozen: the list price is ignored */
    assert_int_equal(al_contract_rates_for(&c, "H100-80GB", &list, &r, NULL), 0);
    assert_true(r.gpu_hour == M(40) && r.mig_slice_hour == M(5) && r.pool_gpu_hour == M(3));
    /* another model: the list less 10 %, floored: 72.00 -> 64.80; 10.000001 -> 9.0000009 ->
     * 9.000000; 2.999999 -> 2.6999991 -> 2.699999 */
    assert_int_equal(al_contract_rates_for(&c, "A100-80GB", &list, &r, NULL), 0);
    assert_true(r.gpu_hour == 64800000);
    assert_true(r.mig_slice_hour == 9000000);
    assert_true(r.pool_gpu_hour == 2699999);
    list.gpu_hour = -1;
    assert_int_equal(al_contract_rates_for(&c, "A100-80GB", &list, &r, NULL), AL_E_INVAL);
}

static int64_t line(const struct al_granularity *g, int64_t units, int64_t price, int64_t secs)
{
    struct al_price_line l = {"x", AL_PRICE_GPU_HOUR, units, price};
    int64_t r = -1;
    assert_int_equal(al_contract_line_charge(g, &l, secs, &r, NULL), 0);
    return r;
}

static void test_granularity(void **state)
{
    (void)state;
    struct al_granularity sec = {AL_GRAN_SECOND, 0}, min = {AL_GRAN_MINUTE, 0};
    struct al_granularity hr1 = {AL_GRAN_HOUR, 1}, hr4 = {AL_GRAN_HOUR, 4};
    int64_t b = 0;
    char text[96];
    /* a 1-second window: billed 1 s, 60 s, 1 h, 4 h, and the quote says so */
    assert_int_equal(al_contract_billed_seconds(&sec, 1, &b), 0);
    assert_true(b == 1);
    assert_int_equal(al_contract_billed_seconds(&min, 1, &b), 0);
    assert_true(b == 60);
    assert_int_equal(al_contract_billed_seconds(&hr1, 1, &b), 0);
    assert_true(b == 3600);
    assert_int_equal(al_contract_billed_seconds(&hr4, 1, &b), 0);
    assert_true(b == 14400);
    assert_int_equal(al_contract_billed_seconds(&hr4, 0, &b), 0);
    assert_true(b == 0);
    assert_int_equal(al_contract_billed_seconds(&hr4, -1, &b), AL_E_INVAL);
    assert_string_equal(al_contract_gran_text(&hr4, text, sizeof text),
                        "whole hours, a started hour in full, minimum 4 h");
    assert_string_equal(al_contract_gran_text(&sec, text, sizeof text), "per second");
    /* 4 GPUs for 24 h at 40.00: 3,840.00 under every granularity */
    assert_true(line(&hr1, 4, M(40), 24 * HOUR) == M(3840));
    assert_true(line(&sec, 4, M(40), 24 * HOUR) == M(3840));
    assert_true(line(&min, 4, M(40), 24 * HOUR) == M(3840));
    /* 90 min + 1 s of 1 GPU at 40.00: 60.011111 (per s, floored), 60.666666 (91 min),
     * 80.00 (2 h), 160.00 (4 h minimum) */
    assert_true(line(&sec, 1, M(40), 5401) == 60011111);
    assert_true(line(&min, 1, M(40), 5401) == 60666666);
    assert_true(line(&hr1, 1, M(40), 5401) == M(80));
    assert_true(line(&hr4, 1, M(40), 5401) == M(160));
    /* 6 compute slices at 5.123457 per slice-hour for 9010 s, per second: 76.937245 */
    assert_true(line(&sec, 6, 5123457, 9010) == 76937245);
}

static void test_overflow(void **state)
{
    (void)state;
    struct al_granularity sec = {AL_GRAN_SECOND, 0}, hr = {AL_GRAN_HOUR, 1};
    struct al_price_line l = {"x", AL_PRICE_GPU_HOUR, INT64_C(1) << 40, M(1000)};
    struct al_err e = {0};
    int64_t r = 0;
    assert_int_equal(al_contract_line_charge(&hr, &l, 1000 * HOUR, &r, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "overflows"));
    assert_int_equal(al_contract_line_charge(&sec, &l, 1000 * HOUR, &r, &e), AL_E_RANGE);
    /* units × hours alone overflow even at a rate of 0 (quote.h's order) */
    l.unit_price = 0;
    l.units = INT64_MAX / 2;
    assert_int_equal(al_contract_line_charge(&hr, &l, 3 * HOUR, &r, &e), AL_E_RANGE);
    struct al_price_line two[2] = {{"a", AL_PRICE_GPU_HOUR, 1, INT64_MAX / 2},
                                   {"b", AL_PRICE_GPU_HOUR, 1, INT64_MAX / 2 + 2}};
    assert_int_equal(al_contract_window_charge(&hr, two, 2, T0, T0 + 1, &r, &e), AL_E_RANGE);
    assert_int_equal(al_contract_window_charge(&hr, two, 2, T0, T0 - 1, &r, &e), AL_E_INVAL);
    two[0].units = 0;
    assert_int_equal(al_contract_window_charge(&hr, two, 1, T0, T0 + 1, &r, &e), AL_E_INVAL);
}

static void test_share(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(al_contract_gpu_share(1, 1, 2, &s, NULL), 0); /* 2 whole GPUs */
    assert_true(s == 2 * AL_SHARE_PER_GPU);
    assert_int_equal(al_contract_gpu_share(3, 7, 2, &s, NULL), 0); /* 2 × H100 3g: 6/7 GPU */
    assert_true(s == 23760 && s * 7 == 6 * AL_SHARE_PER_GPU);
    assert_int_equal(al_contract_gpu_share(1, 4, 3, &s, NULL), 0); /* 3 × A30 1g: 3/4 GPU */
    assert_true(s * 4 == 3 * AL_SHARE_PER_GPU);
    /* seven 1g instances of an H100 are exactly one GPU: no float drift */
    assert_int_equal(al_contract_gpu_share(1, 7, 7, &s, NULL), 0);
    assert_true(s == AL_SHARE_PER_GPU);
    assert_int_equal(al_contract_gpu_share(8, 7, 1, &s, NULL), AL_E_INVAL);
    assert_int_equal(al_contract_gpu_share(1, 13, 1, &s, NULL), AL_E_INVAL);
    assert_int_equal(al_contract_gpu_share(1, 7, -1, &s, NULL), AL_E_INVAL);
    assert_int_equal(al_contract_gpu_share(1, 1, INT64_MAX / 1000, &s, NULL), AL_E_RANGE);

    struct al_share_span spans[] = {
        {T0, T0 + 10, 100},
        {T0 + 5, T0 + 15, 50},
        {T0 + 10, T0 + 20, 30},
        {T0 + 15, T0 + 30, 7},
    };
    assert_int_equal(al_contract_peak_share(spans, 4, T0, T0 + 30, &s, NULL), 0);
    assert_true(s == 150); /* [5, 10): 100 + 50; at 10 the first ends as the third starts */
    assert_int_equal(al_contract_peak_share(spans, 4, T0 + 10, T0 + 30, &s, NULL), 0);
    assert_true(s == 80);
    assert_int_equal(al_contract_peak_share(spans, 4, T0 + 20, T0 + 30, &s, NULL), 0);
    assert_true(s == 7);
    assert_int_equal(al_contract_peak_share(spans, 0, T0, T0 + 30, &s, NULL), 0);
    assert_true(s == 0);
    spans[1].share = -1;
    assert_int_equal(al_contract_peak_share(spans, 4, T0, T0 + 30, &s, NULL), AL_E_INVAL);
}

static void expect_limit(const struct al_contract *c, const struct al_limit_ask *a,
                         const struct al_org_usage *o, const char *limit, int64_t value,
                         int64_t in_use, int64_t asked)
{
    struct al_refusal r;
    struct al_err e = {0};
    assert_int_equal(al_contract_check_limits(c, a, o, &r, &e), AL_E_PAYMENT);
    assert_int_equal(r.code, AL_REFUSAL_LIMIT);
    assert_string_equal(r.limit, limit);
    assert_true(r.value == value && r.in_use == in_use && r.asked == asked);
    assert_non_null(strstr(e.msg, limit));
}

static void test_limits(void **state)
{
    (void)state;
    struct al_contract c = base(AL_TERMS_PREPAID);
    struct al_org_usage o = {
        .cash = M(10000), .peak_share = AL_SHARE_PER_GPU, .ahead = 4, .month_spend = M(99000)};
    struct al_limit_ask a = {.at = AL_CHECK_CONFIRM,
                             .now = T0,
                             .start = T0 + HOUR,
                             .end = T0 + 25 * HOUR,
                             .share = 3 * AL_SHARE_PER_GPU,
                             .month_spend = M(1000),
                             .counts_ahead = true};
    struct al_refusal r;
    struct al_err e = {0};
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, NULL), 0);
    assert_int_equal(r.code, AL_REFUSAL_NONE);
    a.end = a.start + 96 * HOUR + 1;
    expect_limit(&c, &a, &o, "max_reservation_length", 96 * HOUR, 0, 96 * HOUR + 1);
    a.end = T0 + 25 * HOUR;
    a.share += 1; /* 4 GPUs and 1/27720 of one */
    expect_limit(&c, &a, &o, "max_concurrent_gpus", 4 * AL_SHARE_PER_GPU, AL_SHARE_PER_GPU,
                 3 * AL_SHARE_PER_GPU + 1);
    a.share -= 1;
    o.ahead = 5;
    expect_limit(&c, &a, &o, "max_reservations_ahead", 5, 5, 1);
    a.counts_ahead = false; /* an extension or a reservation starting now does not count */
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, NULL), 0);
    a.month_spend = M(1000) + 1;
    expect_limit(&c, &a, &o, "monthly_spend_cap", M(100000), M(99000), M(1000) + 1);
    a.month_spend = M(1000);
    /* NONE limits pass anything */
    c.limits.max_gpus = c.limits.month_cap = c.limits.max_length_s = AL_LIMIT_NONE;
    a.share = INT64_MAX / 2;
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, NULL), 0);
    /* outside the validity period; self-service not allowed */
    a.now = c.valid_to;
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, &e), AL_E_STATE);
    a.now = T0;
    a.at = AL_CHECK_SELF_RESERVE;
    c.self_service = false;
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, &e), AL_E_FORBIDDEN);
    assert_non_null(strstr(e.msg, "self-service"));
    /* at pool start the window is not checked */
    a.at = AL_CHECK_POOL_START;
    a.end = a.start - 1;
    assert_int_equal(al_contract_check_limits(&c, &a, &o, &r, NULL), 0);
}

static void test_funds(void **state)
{
    (void)state;
    struct al_contract c = base(AL_TERMS_PREPAID);
    struct al_org_usage o = {.cash = M(3740)};
    struct al_refusal r;
    struct al_err e = {0};
    /* 3,740.00 + 100.00 of credit covers 3,840.00 exactly, not a micro-unit more */
    assert_int_equal(al_contract_check_funds(&c, &o, M(3840), &r, NULL), 0);
    assert_int_equal(al_contract_check_funds(&c, &o, M(3840) + 1, &r, &e), AL_E_PAYMENT);
    assert_int_equal(r.code, AL_REFUSAL_BALANCE);
    assert_true(r.balance == M(3740) && r.credit_limit == M(100) && r.asked == M(3840) + 1);
    assert_non_null(
        strstr(e.msg, "balance 3740.00, credit limit 100.00, amount asked 3840.000001"));
    c.terms = AL_TERMS_BALANCE;
    o.cash = -M(100);
    assert_int_equal(al_contract_check_funds(&c, &o, 0, &r, NULL), 0);
    assert_int_equal(al_contract_check_funds(&c, &o, 1, &r, NULL), AL_E_PAYMENT);
    /* invoiced: what is owed against the credit limit, a limit_exceeded */
    c.terms = AL_TERMS_INVOICED;
    o.owed = M(60);
    assert_int_equal(al_contract_check_funds(&c, &o, M(40), &r, NULL), 0);
    assert_int_equal(al_contract_check_funds(&c, &o, M(40) + 1, &r, NULL), AL_E_PAYMENT);
    assert_int_equal(r.code, AL_REFUSAL_LIMIT);
    assert_string_equal(r.limit, "credit_limit");
    assert_true(r.value == M(100) && r.in_use == M(60) && r.asked == M(40) + 1);
    c.limits.credit_limit = AL_LIMIT_NONE;
    assert_int_equal(al_contract_check_funds(&c, &o, M(1000000), &r, NULL), 0);
    assert_int_equal(al_contract_check_funds(&c, &o, -1, &r, NULL), AL_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate), cmocka_unit_test(test_amend_and_period),
        cmocka_unit_test(test_rates),    cmocka_unit_test(test_granularity),
        cmocka_unit_test(test_overflow), cmocka_unit_test(test_share),
        cmocka_unit_test(test_limits),   cmocka_unit_test(test_funds),
    };
    return cmocka_run_group_tests_name("contract", tests, NULL, NULL);
}
