/* test_sbuf.c — unit tests of core/sbuf: appends, truncation that still counts, counting only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/sbuf.h"

static void test_appends(void **state)
{
    (void)state;
    char buf[32];
    struct al_sbuf b;
    memset(buf, 'x', sizeof buf);
    al_sbuf_init(&b, buf, sizeof buf);
    assert_string_equal(buf, "");
    al_sbuf_printf(&b, "%s@%u", "3g.40gb", 4u);
    al_sbuf_printf(&b, ",%s", "1g.10gb");
    assert_string_equal(buf, "3g.40gb@4,1g.10gb");
    assert_int_equal(b.len, strlen("3g.40gb@4,1g.10gb"));
}

static void test_truncates_and_counts(void **state)
{
    (void)state;
    char buf[8];
    struct al_sbuf b;
    al_sbuf_init(&b, buf, sizeof buf);
    al_sbuf_printf(&b, "%s", "abcde");
    al_sbuf_printf(&b, "%s", "fghij"); /* only "fg" fits */
    assert_string_equal(buf, "abcdefg");
    al_sbuf_printf(&b, "%s", "klm"); /* nothing fits any more; still counted */
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(b.len, 13);
    al_sbuf_printf(&b, "%s", ""); /* empty text changes nothing */
    assert_int_equal(b.len, 13);
}

static void test_counts_without_buffer(void **state)
{
    (void)state;
    struct al_sbuf b;
    al_sbuf_init(&b, NULL, 100); /* no buffer: cap is taken as 0 */
    al_sbuf_printf(&b, "%u-%u", 10u, 200u);
    assert_int_equal(b.len, 6);
    char one[1] = {'x'};
    al_sbuf_init(&b, one, sizeof one);
    al_sbuf_printf(&b, "abc");
    assert_int_equal(one[0], '\0');
    assert_int_equal(b.len, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appends),
        cmocka_unit_test(test_truncates_and_counts),
        cmocka_unit_test(test_counts_without_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
