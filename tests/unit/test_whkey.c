/* test_whkey.c — unit tests of server/whkey: the signature of a delivery against a value
 * computed independently (Python's hmac), a secret's shape, the seal that opens only with its
 * key and for its hook, and the key file: created 0600, read back the same, refused when others
 * may read it or when it is not 64 hex digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/whkey.h"
#include "tmpdir.h"

static void test_sign_known(void **state)
{
    (void)state;
    char hex[AL_WHKEY_SIG_HEX];
    const char *body = "{\"id\":\"evt_1\"}";
    /* python3: hmac.new(b"whsec_test", b'1700000000.{"id":"evt_1"}', hashlib.sha256) */
    al_whkey_sign("whsec_test", "1700000000", body, strlen(body), hex);
    assert_string_equal(hex, "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925");
    al_whkey_sign("whsec_tesT", "1700000000", body, strlen(body), hex);
    assert_string_not_equal(hex,
                            "c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925");
}

static void test_secret_shape(void **state)
{
    (void)state;
    char a[AL_WHKEY_SECRET_CAP], b[AL_WHKEY_SECRET_CAP];
    al_whkey_secret_new(a, sizeof a);
    al_whkey_secret_new(b, sizeof b);
    assert_int_equal(strncmp(a, "whsec_", 6), 0);
    assert_int_equal(strlen(a), 6 + 43);
    assert_string_not_equal(a, b);
    for (const char *p = a + 6; *p; p++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
}

static void test_seal_open(void **state)
{
    (void)state;
    struct al_whkey k1, k2;
    char secret[AL_WHKEY_SECRET_CAP], back[AL_WHKEY_SECRET_CAP];
    crypto_aead_xchacha20poly1305_ietf_keygen(k1.k);
    crypto_aead_xchacha20poly1305_ietf_keygen(k2.k);
    al_whkey_secret_new(secret, sizeof secret);
    char *box = al_whkey_seal(&k1, "whk_1", secret);
    assert_non_null(box);
    assert_null(strstr(box, secret + 6));
    assert_int_equal(al_whkey_open(&k1, "whk_1", box, back, sizeof back), 0);
    assert_string_equal(back, secret);
    assert_int_equal(al_whkey_open(&k2, "whk_1", box, back, sizeof back), -1); /* another key */
    assert_int_equal(al_whkey_open(&k1, "whk_2", box, back, sizeof back), -1); /* another hook */
    assert_int_equal(al_whkey_open(&k1, "whk_1", "AAAA", back, sizeof back), -1);
    assert_int_equal(al_whkey_open(&k1, "whk_1", NULL, back, sizeof back), -1);
    box[5] = box[5] == 'A' ? 'B' : 'A'; /* damaged */
    assert_int_equal(al_whkey_open(&k1, "whk_1", box, back, sizeof back), -1);
    free(box);
}

static void test_key_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_whkey.XXXXXX", path[256];
    struct al_whkey a, b;
    struct al_err e = {0};
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k", dir);
    assert_int_equal(al_whkey_load(path, false, &a, &e), AL_E_NOTFOUND);
    assert_int_equal(al_whkey_load(path, true, &a, &e), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(al_whkey_load(path, true, &b, &e), 0); /* read back, not made again */
    assert_memory_equal(a.k, b.k, sizeof a.k);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(al_whkey_load(path, true, &b, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "chmod 600"));
    assert_int_equal(tmpdir_write(path, "abcd\n"), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(al_whkey_load(path, true, &b, &e), AL_E_INVAL);
    assert_int_equal(
        tmpdir_write(path, "zz23456789012345678901234567890123456789012345678901234567890123\n"),
        0);
    assert_int_equal(al_whkey_load(path, true, &b, &e), AL_E_INVAL);
    al_whkey_wipe(&a);
    al_whkey_wipe(&b);
    assert_int_equal(tmpdir_remove(dir), 0);
}

static int setup(void **state)
{
    (void)state;
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known),
        cmocka_unit_test(test_secret_shape),
        cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
