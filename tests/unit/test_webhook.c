/* test_webhook.c — unit tests of core/webhook: which patterns a hook's filter may hold and
 * which kinds they take, the retry waits (their caps and the full jitter's range), and when a
 * failing hook is disabled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/webhook.h"

static void test_pattern_ok(void **state)
{
    (void)state;
    assert_true(al_webhook_pattern_ok("*"));
    assert_true(al_webhook_pattern_ok("balance.low"));
    assert_true(al_webhook_pattern_ok("reservation.*"));
    assert_true(al_webhook_pattern_ok("webhook.disabled"));
    assert_false(al_webhook_pattern_ok(NULL));
    assert_false(al_webhook_pattern_ok(""));
    assert_false(al_webhook_pattern_ok("no.such"));
    assert_false(al_webhook_pattern_ok("nosuch.*"));     /* no kind begins with it */
    assert_false(al_webhook_pattern_ok("reservation*")); /* the prefix ends with '.' */
    assert_false(al_webhook_pattern_ok("res*.*"));
    assert_false(al_webhook_pattern_ok(".*"));
    assert_false(al_webhook_pattern_ok("**"));
    assert_false(al_webhook_pattern_ok("reservation."));
    char long_one[AL_WEBHOOK_PATTERN_MAX + 2];
    for (size_t i = 0; i < sizeof long_one - 1; i++)
        long_one[i] = 'a';
    long_one[sizeof long_one - 1] = '\0';
    assert_false(al_webhook_pattern_ok(long_one));
}

static void test_pattern_matches(void **state)
{
    (void)state;
    assert_true(al_webhook_pattern_matches("*", "org.created"));
    assert_true(al_webhook_pattern_matches("reservation.*", "reservation.active"));
    assert_true(al_webhook_pattern_matches("reservation.*", "reservation.starting"));
    assert_false(al_webhook_pattern_matches("reservation.*", "request.quoted"));
    assert_false(al_webhook_pattern_matches("reservation.*", "reservationx.y"));
    assert_true(al_webhook_pattern_matches("balance.low", "balance.low"));
    assert_false(al_webhook_pattern_matches("balance.low", "balance.lower"));
    assert_false(al_webhook_pattern_matches("balance.low", "balance"));
}

static void test_backoff_caps(void **state)
{
    (void)state;
    const int64_t want[] = {10, 30, 120, 600, 3600, 21600, 21600, 21600};
    for (int a = 1; a <= 8; a++)
        assert_int_equal(al_webhook_backoff_cap(a, AL_WEBHOOK_BASE_S), want[a - 1]);
    assert_int_equal(al_webhook_backoff_cap(0, 10), 10); /* before the first: the first */
    assert_int_equal(al_webhook_backoff_cap(2, 1), 3);
    assert_int_equal(al_webhook_backoff_cap(1, 0), 1);                           /* at least 1 s */
    assert_int_equal(al_webhook_backoff_cap(1, 1000000), AL_WEBHOOK_BASE_MAX_S); /* clamped */
    assert_int_equal(al_webhook_backoff_cap(1000, 10), 21600);
}

/* Full jitter: every draw lands in [1, cap], both ends reachable, and draws spread. */
static void test_backoff_jitter(void **state)
{
    (void)state;
    assert_int_equal(al_webhook_backoff(1, 10, 0), 1);
    assert_int_equal(al_webhook_backoff(1, 10, 9), 10);
    assert_int_equal(al_webhook_backoff(1, 10, 10), 1);
    assert_int_equal(al_webhook_backoff(3, 10, UINT32_MAX), 1 + (int64_t)(UINT32_MAX % 120u));
    int seen[31] = {0};
    for (uint32_t r = 0; r < 3000; r++) {
        int64_t d = al_webhook_backoff(2, 10, r * 2654435761u);
        assert_true(d >= 1 && d <= 30);
        seen[d] = 1;
    }
    int distinct = 0;
    for (int i = 1; i <= 30; i++)
        distinct += seen[i];
    assert_int_equal(distinct, 30);
}

static void test_should_disable(void **state)
{
    (void)state;
    assert_false(al_webhook_should_disable(1, 3, 100, 100));
    assert_false(al_webhook_should_disable(2, 3, 100, 200));
    assert_true(al_webhook_should_disable(3, 3, 100, 200));
    assert_true(al_webhook_should_disable(4, 3, 100, 200));
    /* failing for a day disables, however few the attempts */
    assert_false(al_webhook_should_disable(2, 50, 1000, 1000 + AL_WEBHOOK_FAIL_SPAN_S - 1));
    assert_true(al_webhook_should_disable(2, 50, 1000, 1000 + AL_WEBHOOK_FAIL_SPAN_S));
    assert_false(al_webhook_should_disable(2, 50, 0, 1000000)); /* not failing */
    assert_false(al_webhook_should_disable(1000, 0, 0, 0));     /* no limit */
}

static bool v4(unsigned char a, unsigned char b, unsigned char c, unsigned char d)
{
    const unsigned char ip[4] = {a, b, c, d};
    return al_webhook_addr_public(ip, 4);
}

static void test_addr_public(void **state)
{
    (void)state;
    assert_true(v4(8, 8, 8, 8));
    assert_true(v4(1, 1, 1, 1));
    assert_true(v4(100, 128, 0, 1)); /* just past 100.64/10 */
    assert_true(v4(172, 32, 0, 1));  /* just past 172.16/12 */
    assert_true(v4(192, 0, 2, 1));   /* TEST-NET-1 is routable enough: not refused */
    assert_true(v4(223, 255, 255, 255));
    assert_false(v4(0, 1, 2, 3));
    assert_false(v4(10, 1, 2, 3));
    assert_false(v4(100, 64, 0, 1));
    assert_false(v4(100, 127, 255, 255));
    assert_false(v4(127, 0, 0, 1));
    assert_false(v4(169, 254, 169, 254)); /* cloud metadata */
    assert_false(v4(172, 16, 0, 1));
    assert_false(v4(172, 31, 255, 255));
    assert_false(v4(192, 0, 0, 8));
    assert_false(v4(192, 168, 1, 1));
    assert_false(v4(224, 0, 0, 1));
    assert_false(v4(255, 255, 255, 255));
    unsigned char v6[16] = {0};
    assert_false(al_webhook_addr_public(v6, 16)); /* :: */
    v6[15] = 1;
    assert_false(al_webhook_addr_public(v6, 16)); /* ::1 */
    v6[10] = v6[11] = 0xff;
    v6[12] = 127;
    assert_false(al_webhook_addr_public(v6, 16)); /* ::ffff:127.0.0.1 */
    v6[12] = 8;
    v6[13] = 8;
    v6[14] = 8;
    v6[15] = 8;
    assert_true(al_webhook_addr_public(v6, 16)); /* ::ffff:8.8.8.8 */
    const unsigned char g[16] = {0x20, 0x01, 0x48, 0x60, [15] = 0x88};
    assert_true(al_webhook_addr_public(g, 16));
    const unsigned char ula[16] = {0xfd, 0x12, [15] = 1};
    assert_false(al_webhook_addr_public(ula, 16));
    const unsigned char ll[16] = {0xfe, 0x80, [15] = 1};
    assert_false(al_webhook_addr_public(ll, 16));
    const unsigned char mc[16] = {0xff, 0x02, [15] = 1};
    assert_false(al_webhook_addr_public(mc, 16));
    assert_false(al_webhook_addr_public(g, 5));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_ok),     cmocka_unit_test(test_pattern_matches),
        cmocka_unit_test(test_backoff_caps),   cmocka_unit_test(test_backoff_jitter),
        cmocka_unit_test(test_should_disable), cmocka_unit_test(test_addr_public),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
