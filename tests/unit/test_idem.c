/* test_idem.c — unit tests of the Idempotency-Key record's sealing (server/idem.h): a secret
 * never appears in the stored text, the same run's key opens it for the same record only, and
 * another key (after a restart) answers with the secret withheld. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "server/idem.h"

#define TOKEN "al_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"

static const uint8_t hash_a[AL_STORE_HASH_LEN] = {1, 2, 3};
static const uint8_t hash_b[AL_STORE_HASH_LEN] = {3, 2, 1};

static json_t *answer(void)
{
    return json_pack("{s:{s:s,s:s},s:s}", "user", "id", "usr_1", "name", "alice", "token", TOKEN);
}

static void test_seal_hides_and_opens(void **state)
{
    (void)state;
    struct al_idem_key key;
    struct al_idem_bind b = {"k1", "usr_op", hash_a};
    json_t *resp = answer();
    assert_true(sodium_init() >= 0);
    al_idem_key_new(&key);
    char *text = al_idem_seal(&key, &b, resp);
    assert_non_null(text);
    assert_null(strstr(text, TOKEN));
    assert_null(strstr(text, "0123456789abcdef"));
    assert_non_null(strstr(text, "\"token\":null"));
    assert_string_equal(json_string_value(json_object_get(resp, "token")), TOKEN); /* untouched */
    json_t *back = al_idem_open(&key, &b, text);
    assert_true(json_equal(back, resp));
    json_decref(back);
    free(text);
    json_decref(resp);
    al_idem_key_wipe(&key);
}

/* Another key (a restarted server), another caller, key or call, a damaged seal: the answer
 * comes back with the token null and withheld. */
static void test_seal_withheld(void **state)
{
    (void)state;
    struct al_idem_key key, other;
    struct al_idem_bind b = {"k1", "usr_op", hash_a};
    const struct al_idem_bind wrong[] = {
        {"k2", "usr_op", hash_a}, {"k1", "usr_x", hash_a}, {"k1", "usr_op", hash_b}};
    json_t *resp = answer();
    assert_true(sodium_init() >= 0);
    al_idem_key_new(&key);
    al_idem_key_new(&other);
    char *text = al_idem_seal(&key, &b, resp);
    assert_non_null(text);
    for (int i = -1; i < 4; i++) {
        char *t = strdup(text);
        const struct al_idem_bind *bb = i >= 0 && i < 3 ? &wrong[i] : &b;
        if (i == 3) { /* one character of the box changed */
            char *box = strstr(t, "\"box\":\"") + 7;
            *box = *box == 'A' ? 'B' : 'A';
        }
        json_t *back = al_idem_open(i == -1 ? &other : &key, bb, t);
        assert_non_null(back);
        assert_true(json_is_null(json_object_get(back, "token")));
        assert_string_equal(json_string_value(json_array_get(json_object_get(back, "withheld"), 0)),
                            "token");
        assert_string_equal(json_string_value(json_object_get(json_object_get(back, "user"), "id")),
                            "usr_1");
        assert_null(json_object_get(back, "_sealed"));
        json_decref(back);
        free(t);
    }
    free(text);
    json_decref(resp);
}

static void test_no_secret_no_seal(void **state)
{
    (void)state;
    struct al_idem_key key;
    struct al_idem_bind b = {"k1", "usr_op", hash_a};
    json_t *resp = json_pack("{s:s,s:i}", "id", "org_1", "n", 3);
    assert_true(sodium_init() >= 0);
    al_idem_key_new(&key);
    char *text = al_idem_seal(&key, &b, resp);
    assert_non_null(text);
    assert_null(strstr(text, "_sealed"));
    json_t *back = al_idem_open(&key, &b, text);
    assert_true(json_equal(back, resp));
    json_decref(back);
    assert_null(al_idem_open(&key, &b, "[1]"));
    assert_null(al_idem_open(&key, &b, "not json"));
    free(text);
    json_decref(resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seal_hides_and_opens),
        cmocka_unit_test(test_seal_withheld),
        cmocka_unit_test(test_no_secret_no_seal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
