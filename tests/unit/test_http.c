/* test_http.c — unit tests of the server's shared helpers: RFC 3339 times, names, ids,
 * tokens and their hashes, and the mapping of error codes to HTTP statuses and API codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <string.h>

#include "server/auth.h"
#include "server/http.h"

static void test_time_round_trip(void **state)
{
    (void)state;
    int64_t t = -1;
    char buf[32];
    assert_int_equal(al_time_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(al_time_parse("2026-12-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 1796083200);
    assert_string_equal(al_time_fmt(t, buf, sizeof buf), "2026-12-01T00:00:00Z");
    assert_int_equal(al_time_parse("2024-02-29T23:59:59Z", &t), 0);
    assert_string_equal(al_time_fmt(t, buf, sizeof buf), "2024-02-29T23:59:59Z");
    for (int64_t x = 0; x < 4102444800; x += 86400 * 37 + 3671) {
        assert_int_equal(al_time_parse(al_time_fmt(x, buf, sizeof buf), &t), 0);
        assert_int_equal(t, x);
    }
}

static void test_time_refusals(void **state)
{
    (void)state;
    int64_t t = 42;
    const char *bad[] = {"",
                         "2026-12-01",
                         "2026-12-01T00:00:00",
                         "2026-12-01T00:00:00+00:00",
                         "2026-12-01 00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-02-29T00:00:00Z",
                         "2026-04-31T00:00:00Z",
                         "2026-12-01T24:00:00Z",
                         "2026-12-01T00:60:00Z",
                         "1969-12-31T23:59:59Z",
                         "2026-12-01T00:00:00ZZ",
                         "+026-12-01T00:00:00Z",
                         "2026-1-01T00:00:00Z ",
                         NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(al_time_parse(bad[i], &t), AL_E_INVAL);
    assert_int_equal(al_time_parse(NULL, &t), AL_E_INVAL);
    assert_int_equal(t, 42);
}

static void test_names(void **state)
{
    (void)state;
    char long_name[80];
    memset(long_name, 'a', sizeof long_name);
    long_name[64] = '\0';
    assert_true(al_name_ok("acme"));
    assert_true(al_name_ok("H100-80GB_a.b"));
    assert_true(al_name_ok(long_name));
    long_name[64] = 'a';
    long_name[65] = '\0';
    assert_false(al_name_ok(long_name));
    assert_false(al_name_ok(""));
    assert_false(al_name_ok(NULL));
    assert_false(al_name_ok("a b"));
    assert_false(al_name_ok("a/b"));
    assert_false(al_name_ok("é"));
}

static void test_ids_and_tokens(void **state)
{
    (void)state;
    char a[AL_HTTP_ID_LEN], b[AL_HTTP_ID_LEN], tok[64], tok2[64];
    uint8_t h[AL_STORE_HASH_LEN], h2[AL_STORE_HASH_LEN];
    assert_true(sodium_init() >= 0);
    al_id_new("req", 0x6b017510, a, sizeof a);
    al_id_new("req", 0x6b017510, b, sizeof b);
    assert_int_equal(strlen(a), 4 + 16);
    assert_memory_equal(a, "req_6b017510", 12);
    assert_string_not_equal(a, b);
    al_token_new(tok, sizeof tok, h);
    al_token_new(tok2, sizeof tok2, h2);
    assert_int_equal(strlen(tok), 46);
    assert_memory_equal(tok, "al_", 3);
    for (size_t i = 3; i < strlen(tok); i++)
        assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                           tok[i]) != NULL);
    assert_string_not_equal(tok, tok2);
    /* the stored hash is the hash of exactly the token */
    al_token_hash(tok, h2);
    assert_memory_equal(h, h2, AL_STORE_HASH_LEN);
    tok[10] ^= 1;
    al_token_hash(tok, h2);
    assert_memory_not_equal(h, h2, AL_STORE_HASH_LEN);
}

static void test_status_mapping(void **state)
{
    (void)state;
    assert_int_equal(al_http_status(AL_E_INVAL), 400);
    assert_int_equal(al_http_status(AL_E_RANGE), 400);
    assert_int_equal(al_http_status(AL_E_AUTH), 401);
    assert_int_equal(al_http_status(AL_E_FORBIDDEN), 403);
    assert_int_equal(al_http_status(AL_E_NOTFOUND), 404);
    assert_int_equal(al_http_status(AL_E_NOFIT), 409);
    assert_int_equal(al_http_status(AL_E_EXPIRED), 409);
    assert_int_equal(al_http_status(AL_E_STATE), 409);
    assert_int_equal(al_http_status(AL_E_DB), 500);
    assert_int_equal(al_http_status(AL_E_FULL), 507);
    assert_int_equal(al_http_status(-5), 500);
    assert_string_equal(al_http_code_name(AL_E_RANGE), "invalid_argument");
    assert_string_equal(al_http_code_name(AL_E_NOFIT), "no_capacity");
    assert_string_equal(al_http_code_name(AL_E_EXPIRED), "expired");
    assert_string_equal(al_http_code_name(AL_E_STATE), "invalid_state");
    assert_string_equal(al_http_code_name(AL_E_DB), "internal");
    assert_string_equal(al_http_code_name(AL_E_FULL), "storage_full");
    assert_string_equal(al_http_code_name(-12), "internal");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_round_trip), cmocka_unit_test(test_time_refusals),
        cmocka_unit_test(test_names),           cmocka_unit_test(test_ids_and_tokens),
        cmocka_unit_test(test_status_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
