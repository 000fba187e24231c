/* test_money.c — unit tests of core/money: checked arithmetic at the int64 edges, the exact
 * floor(a × b / d) against a 128-bit reference, half-even rounding (x.xx5 both ways, negatives),
 * money text, and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/money.h"

static void test_checked(void **state)
{
    (void)state;
    int64_t r = 7;
    assert_int_equal(al_money_add(INT64_MAX - 1, 1, &r), 0);
    assert_true(r == INT64_MAX);
    assert_int_equal(al_money_add(INT64_MAX, 1, &r), AL_E_RANGE);
    assert_true(r == INT64_MAX); /* untouched on overflow */
    assert_int_equal(al_money_sub(INT64_MIN, 1, &r), AL_E_RANGE);
    assert_int_equal(al_money_sub(-5, 7, &r), 0);
    assert_true(r == -12);
    assert_int_equal(al_money_mul(INT64_C(3037000500), INT64_C(3037000500), &r), AL_E_RANGE);
    assert_int_equal(al_money_mul(INT64_C(3037000499), INT64_C(3037000499), &r), 0);
    assert_true(r == INT64_C(9223372030926249001));
    assert_int_equal(al_money_mul(-1, INT64_MIN, &r), AL_E_RANGE);
}

/* floor(a*b/d) with unsigned __int128 as the reference (test code only). */
static int64_t ref_muldiv(int64_t a, int64_t b, int64_t d, int *overflow)
{
    __extension__ unsigned __int128 p = (unsigned __int128)(uint64_t)a * (uint64_t)b;
    p /= (uint64_t)d;
    *overflow = p > (unsigned __int128)INT64_MAX;
    return *overflow ? 0 : (int64_t)p;
}

static void test_muldiv(void **state)
{
    (void)state;
    int64_t r = 0;
    /* 6 slices × 9010 s at 5.123457 per slice-hour: 76.937245 (floored from ...245.95) */
    assert_int_equal(al_money_muldiv(6 * 9010, 5123457, 3600, &r), 0);
    assert_true(r == 76937245);
    assert_int_equal(al_money_muldiv(-1, 5, 3, &r), AL_E_INVAL);
    assert_int_equal(al_money_muldiv(1, 5, 0, &r), AL_E_INVAL);
    assert_int_equal(al_money_muldiv(1, 5, INT64_C(3000000001), &r), AL_E_INVAL);
    /* a product far beyond int64 whose quotient fits */
    assert_int_equal(al_money_muldiv(INT64_MAX, 3600, 3600, &r), 0);
    assert_true(r == INT64_MAX);
    assert_int_equal(al_money_muldiv(INT64_MAX, 3601, 3600, &r), AL_E_RANGE);
    unsigned seed = 12345;
    for (int i = 0; i < 200000; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t a = ((int64_t)rand_r(&seed) << 31 | rand_r(&seed)) >> (rand_r(&seed) % 62);
        int64_t b = ((int64_t)rand_r(&seed) << 31 | rand_r(&seed)) >> (rand_r(&seed) % 62);
        int64_t d = 1 + (int64_t)rand_r(&seed) % INT64_C(3000000000);
        int ovf = 0;
        int64_t want = ref_muldiv(a, b, d, &ovf);
        int rc = al_money_muldiv(a, b, d, &r);
        assert_int_equal(rc, ovf ? AL_E_RANGE : 0);
        if (!ovf)
            assert_true(r == want);
    }
}

static int64_t rnd(int64_t x)
{
    int64_t r = 0;
    assert_int_equal(al_money_round_half_even(x, AL_MONEY_CENT, &r), 0);
    return r;
}

static void test_half_even(void **state)
{
    (void)state;
    assert_true(rnd(125000) == 120000);   /* 0.125 -> 0.12: half, 12 is even: down */
    assert_true(rnd(135000) == 140000);   /* 0.135 -> 0.14: half, 14 is even: up */
    assert_true(rnd(125001) == 130000);   /* 0.125001 -> 0.13: above half */
    assert_true(rnd(124999) == 120000);   /* 0.124999 -> 0.12: below half */
    assert_true(rnd(-125000) == -120000); /* symmetric about zero */
    assert_true(rnd(-135000) == -140000);
    assert_true(rnd(-125001) == -130000);
    assert_true(rnd(5000) == 0);      /* 0.005 -> 0.00 */
    assert_true(rnd(15000) == 20000); /* 0.015 -> 0.02 */
    assert_true(rnd(-5000) == 0);
    assert_true(rnd(4800000000) == 4800000000);
    assert_true(rnd(76937245) == 76940000); /* the worked example: 76.937245 -> 76.94 */
    assert_true(rnd(694444) == 690000);     /* 0.694444 -> 0.69 */
    int64_t r = 0;
    assert_int_equal(al_money_round_half_even(INT64_MAX, AL_MONEY_CENT, &r), AL_E_RANGE);
    assert_int_equal(al_money_round_half_even(INT64_MIN, AL_MONEY_CENT, &r), AL_E_RANGE);
    assert_int_equal(al_money_round_half_even(1, 0, &r), AL_E_INVAL);
    /* a currency without minor units (minor = one unit): 2.5 -> 2, 3.5 -> 4 */
    assert_int_equal(al_money_round_half_even(2500000, AL_MONEY_UNIT, &r), 0);
    assert_true(r == 2000000);
    assert_int_equal(al_money_round_half_even(3500000, AL_MONEY_UNIT, &r), 0);
    assert_true(r == 4000000);
}

static void test_fmt(void **state)
{
    (void)state;
    char b[AL_MONEY_FMT_MAX];
    assert_string_equal(al_money_fmt(4800000000, b, sizeof b), "4800.00");
    assert_string_equal(al_money_fmt(-1689, b, sizeof b), "-0.001689");
    assert_string_equal(al_money_fmt(0, b, sizeof b), "0.00");
    assert_string_equal(al_money_fmt(INT64_MIN, b, sizeof b), "-9223372036854.775808");
    assert_string_equal(al_money_fmt(INT64_MAX, b, sizeof b), "9223372036854.775807");
    char small[5];
    assert_string_equal(al_money_fmt(4800000000, small, sizeof small), "4800");
}

/* Decimal text to micro-units, exactly: every accepted form, and each way text is refused. */
static void test_parse(void **state)
{
    (void)state;
    struct al_err e = {0};
    int64_t v = 7;
    assert_int_equal(al_money_parse("100.50", &v, &e), 0);
    assert_true(v == 100500000);
    assert_int_equal(al_money_parse("100", &v, &e), 0);
    assert_true(v == 100000000);
    assert_int_equal(al_money_parse("0.000001", &v, &e), 0);
    assert_true(v == 1);
    assert_int_equal(al_money_parse("-2.5", &v, &e), 0);
    assert_true(v == -2500000);
    assert_int_equal(al_money_parse("0.1", &v, &e), 0);
    assert_true(v == 100000); /* exact: 0.1 has no binary fraction to lose */
    assert_int_equal(al_money_parse("9223372036854.775807", &v, &e), 0);
    assert_true(v == INT64_MAX);
    v = 7;
    assert_int_equal(al_money_parse("9223372036854.775808", &v, &e), AL_E_RANGE);
    assert_int_equal(al_money_parse("99999999999999999999", &v, &e), AL_E_RANGE);
    assert_int_equal(al_money_parse("1.0000001", &v, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "more than 6 decimals"));
    static const char *const bad[] = {"",    "-",    ".5",  "1.",   "1.2.3", " 1",  "1 ",  "+1",
                                      "1e3", "1,00", "0x1", "1.-2", "--1",   "abc", "1.5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(al_money_parse(bad[i], &v, &e), AL_E_INVAL);
    assert_int_equal(al_money_parse(NULL, &v, &e), AL_E_INVAL);
    assert_true(v == 7); /* untouched by every refusal */
}

static void test_refusals(void **state)
{
    (void)state;
    struct al_refusal r;
    struct al_err e = {0};
    assert_int_equal(al_refusal_balance(&r, 1000000, 500000, 3840000000, &e), AL_E_PAYMENT);
    assert_int_equal(r.code, AL_REFUSAL_BALANCE);
    assert_string_equal(al_refusal_code_name(r.code), "insufficient_balance");
    assert_int_equal(al_refusal_http_status(r.code), 402);
    assert_true(r.balance == 1000000 && r.credit_limit == 500000 && r.asked == 3840000000);
    assert_non_null(strstr(e.msg, "balance 1.00, credit limit 0.50, amount asked 3840.00"));
    assert_int_equal(al_refusal_limit(&r, "max_reservations_ahead", "reservations", 5, 5, 1, &e),
                     AL_E_PAYMENT);
    assert_string_equal(al_refusal_code_name(r.code), "limit_exceeded");
    assert_int_equal(al_refusal_http_status(r.code), 409);
    assert_string_equal(r.limit, "max_reservations_ahead");
    assert_true(r.value == 5 && r.in_use == 5 && r.asked == 1);
    assert_int_equal(al_refusal_http_status(AL_REFUSAL_NONE), 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checked),   cmocka_unit_test(test_muldiv),
        cmocka_unit_test(test_half_even), cmocka_unit_test(test_fmt),
        cmocka_unit_test(test_refusals),  cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
