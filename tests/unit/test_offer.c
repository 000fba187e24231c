/* test_offer.c — unit tests of offering ids (server/offer.h): a sealed id opens to the same
 * fields; any changed byte, another server run's key, a malformed id and a field holding the
 * separator are refused; an id past valid_until opens as expired. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "server/offer.h"

#define NOW 1800000000LL

static struct al_offer sample(void)
{
    struct al_offer o = {.mig = true,
                         .count = 3,
                         .start = NOW + 3600,
                         .end = NOW + 7200,
                         .same_node = true,
                         .price_version = 4,
                         .total_micros = 2700000,
                         .valid_until = NOW + 300};
    snprintf(o.org, sizeof o.org, "org_0123456789abcdef");
    snprintf(o.model, sizeof o.model, "A100-40GB");
    snprintf(o.profile, sizeof o.profile, "3g.20gb");
    snprintf(o.zone, sizeof o.zone, "z1");
    snprintf(o.labels, sizeof o.labels, "nvlink=true,rack=a");
    return o;
}

static void test_round_trip(void **state)
{
    (void)state;
    static struct al_srv srv;
    struct al_offer o = sample(), back;
    char id[AL_OFFER_ID_MAX];
    assert_true(sodium_init() >= 0);
    al_idem_key_new(&srv.idem_key);
    assert_int_equal(al_offer_seal(&srv, &o, id, sizeof id), 0);
    assert_int_equal(strncmp(id, "off_", 4), 0);
    assert_true(strlen(id) + strlen("/v1/offerings/") < 512);
    assert_int_equal(al_offer_open(&srv, id, NOW, &back), 0);
    assert_memory_equal(&o, &back, sizeof o);
    /* expired: the fields are there, the answer says so */
    assert_int_equal(al_offer_open(&srv, id, NOW + 300, &back), AL_E_EXPIRED);
    assert_string_equal(back.model, "A100-40GB");
}

static void test_tamper(void **state)
{
    (void)state;
    static struct al_srv srv, other;
    struct al_offer o = sample(), back;
    char id[AL_OFFER_ID_MAX], bad[AL_OFFER_ID_MAX];
    al_idem_key_new(&srv.idem_key);
    al_idem_key_new(&other.idem_key);
    assert_int_equal(al_offer_seal(&srv, &o, id, sizeof id), 0);
    /* every single-character change of the id is refused */
    for (size_t i = 4; i < strlen(id); i++) {
        memcpy(bad, id, sizeof bad);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        assert_int_equal(al_offer_open(&srv, bad, NOW, &back), AL_E_INVAL);
    }
    /* another run's key (the server restarted) */
    assert_int_equal(al_offer_open(&other, id, NOW, &back), AL_E_INVAL);
    /* malformed */
    assert_int_equal(al_offer_open(&srv, "off_", NOW, &back), AL_E_INVAL);
    assert_int_equal(al_offer_open(&srv, "off_abc", NOW, &back), AL_E_INVAL);
    assert_int_equal(al_offer_open(&srv, "qte_abc.def", NOW, &back), AL_E_INVAL);
    assert_int_equal(al_offer_open(&srv, NULL, NOW, &back), AL_E_INVAL);
    /* a field holding the separator cannot be sealed */
    snprintf(o.zone, sizeof o.zone, "a|b");
    assert_int_equal(al_offer_seal(&srv, &o, id, sizeof id), AL_E_INVAL);
    /* nor one that does not fit */
    o = sample();
    assert_int_equal(al_offer_seal(&srv, &o, id, 40), AL_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
