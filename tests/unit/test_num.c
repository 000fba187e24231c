/* test_num.c — unit tests of common/num: whole-string decimal and hexadecimal parsing with
 * bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "common/num.h"

static void test_u64_accepts_digits_only(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(al_num_parse_u64("0", 0, UINT64_MAX, &v), 0);
    assert_true(v == 0);
    assert_int_equal(al_num_parse_u64("12345", 0, UINT64_MAX, &v), 0);
    assert_true(v == 12345);
    assert_int_equal(al_num_parse_u64("007", 0, UINT64_MAX, &v), 0);
    assert_true(v == 7);
    assert_int_equal(al_num_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
}

static void test_u64_rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {"",   " 1",  "1 ", "+1",  "-1", "1x", "0x10",
                                      "1.", "1e3", "１", "\t2", "--", "-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 42;
        assert_int_equal(al_num_parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
        assert_true(v == 42); /* untouched on failure */
    }
    uint64_t v = 42;
    assert_int_equal(al_num_parse_u64(NULL, 0, UINT64_MAX, &v), -EINVAL);
}

static void test_u64_bounds_and_overflow(void **state)
{
    (void)state;
    uint64_t v = 42;
    assert_int_equal(al_num_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(al_num_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(al_num_parse_u64("0", 1, 10, &v), -ERANGE);
    assert_int_equal(al_num_parse_u64("11", 1, 10, &v), -ERANGE);
    assert_true(v == 42);
    assert_int_equal(al_num_parse_u64("10", 1, 10, &v), 0);
    assert_true(v == 10);
    assert_int_equal(al_num_parse_u64("1", 1, 10, &v), 0);
    assert_true(v == 1);
    /* a bound below 2^64 still sees a long overflowing string as out of range */
    assert_int_equal(al_num_parse_u64("000000000000000000000000000000001", 0, 1, &v), 0);
    assert_true(v == 1);
}

static void test_i64_signs(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(al_num_parse_i64("-15", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == -15);
    assert_int_equal(al_num_parse_i64("15", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == 15);
    assert_int_equal(al_num_parse_i64("-0", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == 0);
    v = 7;
    assert_int_equal(al_num_parse_i64("+15", INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_int_equal(al_num_parse_i64("--1", INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_int_equal(al_num_parse_i64("-", INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_int_equal(al_num_parse_i64("- 1", INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_int_equal(al_num_parse_i64("", INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_int_equal(al_num_parse_i64(NULL, INT64_MIN, INT64_MAX, &v), -EINVAL);
    assert_true(v == 7);
}

static void test_i64_limits(void **state)
{
    (void)state;
    int64_t v = 7;
    assert_int_equal(al_num_parse_i64("9223372036854775807", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MAX);
    assert_int_equal(al_num_parse_i64("-9223372036854775808", INT64_MIN, INT64_MAX, &v), 0);
    assert_true(v == INT64_MIN);
    v = 7;
    assert_int_equal(al_num_parse_i64("9223372036854775808", INT64_MIN, INT64_MAX, &v), -ERANGE);
    assert_int_equal(al_num_parse_i64("-9223372036854775809", INT64_MIN, INT64_MAX, &v), -ERANGE);
    assert_int_equal(al_num_parse_i64("-5", 0, 10, &v), -ERANGE);
    assert_int_equal(al_num_parse_i64("11", -10, 10, &v), -ERANGE);
    assert_int_equal(al_num_parse_i64("-11", -10, 10, &v), -ERANGE);
    assert_true(v == 7);
    assert_int_equal(al_num_parse_i64("-10", -10, 10, &v), 0);
    assert_true(v == -10);
}

/* Every way strtoll would have read a number that is not the whole string: a '+', leading or
 * trailing spaces of any kind, a sign after a sign or after a space, junk after the digits. */
static void test_i64_no_sign_or_space_games(void **state)
{
    (void)state;
    static const char *const bad[] = {"+5",  "+0",  "+-5", "-+5", " 5",  "5 ",  "\t5",
                                      "\n5", "5\n", "\v5", "\f5", "\r5", " -5", "- 5",
                                      "-5 ", "5x",  "0x5", "5.0", "1e3", "--5", "++5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        assert_int_equal(al_num_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v), -EINVAL);
        assert_true(v == 42);
    }
}

static void test_hex_u64(void **state)
{
    (void)state;
    static const char *const bad[] = {"",   "0x10", "+1",  "-1", " a", "a ", "g",
                                      "1g", "0X1",  "\t1", "1.", "x",  "--"};
    uint64_t v = 7;
    assert_int_equal(al_num_parse_hex_u64("0", 0, UINT64_MAX, &v), 0);
    assert_true(v == 0);
    assert_int_equal(al_num_parse_hex_u64("6b15c77225c9848d", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_C(0x6b15c77225c9848d));
    assert_int_equal(al_num_parse_hex_u64("ABCdef09", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_C(0xabcdef09));
    assert_int_equal(al_num_parse_hex_u64("ffffffffffffffff", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    v = 7;
    assert_int_equal(al_num_parse_hex_u64("10000000000000000", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(al_num_parse_hex_u64("100", 0, 0xff, &v), -ERANGE);
    assert_int_equal(al_num_parse_hex_u64(NULL, 0, UINT64_MAX, &v), -EINVAL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(al_num_parse_hex_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
    assert_true(v == 7);
    /* decimal parsing takes no hex digit */
    assert_int_equal(al_num_parse_u64("1a", 0, UINT64_MAX, &v), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_accepts_digits_only),
        cmocka_unit_test(test_u64_rejects_malformed),
        cmocka_unit_test(test_u64_bounds_and_overflow),
        cmocka_unit_test(test_i64_signs),
        cmocka_unit_test(test_i64_limits),
        cmocka_unit_test(test_i64_no_sign_or_space_games),
        cmocka_unit_test(test_hex_u64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
