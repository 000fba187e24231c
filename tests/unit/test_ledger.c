/* test_ledger.c — unit tests of core/ledger: every transfer kind and its allowed accounts, the
 * credit-limit floor, idempotency (a retried top-up credits once) and the keys core builds.
 * The property test of the money rules, with verify's rules broken on purpose, is
 * test_ledger_property.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/ledger.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)

static struct al_account acct(enum al_acct_kind k, uint64_t org)
{
    struct al_account a = {k, al_ledger_acct_is_org(k) ? org : 0};
    return a;
}

static struct al_transfer xfer(enum al_transfer_kind kind, enum al_acct_kind d, enum al_acct_kind c,
                               int64_t amount, const char *key)
{
    struct al_transfer t = {
        .kind = kind, .debit = acct(d, 3), .credit = acct(c, 3), .amount = amount, .at = T0};
    (void)snprintf(t.key, sizeof t.key, "%s", key);
    return t;
}

static void test_names(void **state)
{
    (void)state;
    for (unsigned k = 0; k < AL_XFER_KINDS; k++) {
        enum al_transfer_kind back;
        assert_int_equal(al_ledger_kind_parse(al_ledger_kind_name(k), &back), 0);
        assert_int_equal(back, k);
    }
    for (unsigned k = 0; k < AL_ACCT_KINDS; k++) {
        enum al_acct_kind back;
        assert_int_equal(al_ledger_acct_parse(al_ledger_acct_name(k), &back), 0);
        assert_int_equal(back, k);
    }
    enum al_transfer_kind k;
    assert_int_equal(al_ledger_kind_parse("charge", &k), AL_E_INVAL);
    assert_string_equal(al_ledger_kind_name((enum al_transfer_kind)99), "?");
    assert_string_equal(al_ledger_rule_name(AL_VERIFY_RESERVATION), "reservation_charges");
    assert_string_equal(al_ledger_ref_name(AL_REF_POOL), "pool");
}

/* Every kind with each of its allowed account pairs, and what each may not do. */
static void test_kinds(void **state)
{
    (void)state;
    static const struct {
        enum al_transfer_kind k;
        enum al_acct_kind d, c;
        int ok;
    } cases[] = {
        {AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, 1},
        {AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_ACCRUED, 0},
        {AL_XFER_TOPUP, AL_ACCT_ORG_CASH, AL_ACCT_EXTERNAL, 0},
        {AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, 1},
        {AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE, 1},
        {AL_XFER_RESERVATION_CHARGE, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, 0},
        {AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_REVENUE, 0},
        {AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, 1},
        {AL_XFER_USAGE, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE, 1},
        {AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REFUNDS, 0},
        {AL_XFER_REFUND, AL_ACCT_REFUNDS, AL_ACCT_ORG_CASH, 1},
        {AL_XFER_REFUND, AL_ACCT_REFUNDS, AL_ACCT_ORG_ACCRUED, 1},
        {AL_XFER_REFUND, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, 0},
        {AL_XFER_ADJUSTMENT, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, 1},
        {AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, 1},
        {AL_XFER_ADJUSTMENT, AL_ACCT_ORG_ACCRUED, AL_ACCT_REVENUE, 1},
        {AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_ACCRUED, 1},
        {AL_XFER_ADJUSTMENT, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, 0},
        {AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_ORG_ACCRUED, 1},
        {AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_ACCRUED, AL_ACCT_ORG_RECEIVABLE, 1},
        {AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_ORG_CASH, 0},
        {AL_XFER_INVOICE_PAID, AL_ACCT_EXTERNAL, AL_ACCT_ORG_RECEIVABLE, 1},
        {AL_XFER_INVOICE_PAID, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_EXTERNAL, 1},
        {AL_XFER_INVOICE_PAID, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct al_transfer t = xfer(cases[i].k, cases[i].d, cases[i].c, 1, "k:1");
        struct al_err e = {0};
        int rc = al_ledger_validate(&t, &e);
        if ((rc == 0) != cases[i].ok)
            fail_msg("case %zu: %s %s -> %s: %d (%s)", i, al_ledger_kind_name(cases[i].k),
                     al_ledger_acct_name(cases[i].d), al_ledger_acct_name(cases[i].c), rc, e.msg);
    }
    struct al_err e = {0};
    struct al_transfer t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, 0, "k:1");
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "amount"));
    t.amount = 1;
    t.credit.org = 0;
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "needs an org"));
    t.credit.org = 3;
    t.debit.org = 3;
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "provider"));
    t = xfer(AL_XFER_INVOICE_ISSUED, AL_ACCT_ORG_RECEIVABLE, AL_ACCT_ORG_ACCRUED, 5, "k:1");
    t.credit.org = 4;
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "differs"));
    t.credit.org = 3;
    static const char *bad_keys[] = {"", "a b", "tab\tkey", "\x7f"};
    for (size_t i = 0; i < 4; i++) {
        (void)snprintf(t.key, sizeof t.key, "%s", bad_keys[i]);
        assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    }
    memset(t.key, 'x', sizeof t.key); /* not terminated */
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
    t.kind = (enum al_transfer_kind)7;
    assert_int_equal(al_ledger_validate(&t, &e), AL_E_INVAL);
}

static void test_apply_floor(void **state)
{
    (void)state;
    int64_t cash = M(100), rev = 0, ext = 0;
    struct al_refusal r;
    struct al_err e = {0};
    struct al_transfer charge =
        xfer(AL_XFER_RESERVATION_CHARGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, M(150), "c:1");
    /* 100.00 with a credit limit of 50.00: 150.00 goes, to exactly -50.00 */
    assert_int_equal(al_ledger_apply(&charge, M(50), &cash, &rev, &r, &e), 0);
    assert_true(cash == -M(50) && rev == M(150));
    charge.amount = 1;
    assert_int_equal(al_ledger_apply(&charge, M(50), &cash, &rev, &r, &e), AL_E_PAYMENT);
    assert_true(cash == -M(50) && rev == M(150)); /* untouched */
    assert_int_equal(r.code, AL_REFUSAL_BALANCE);
    assert_true(r.balance == -M(50) && r.credit_limit == M(50) && r.asked == 1);
    assert_non_null(strstr(e.msg, "insufficient_balance"));
    /* money into cash, or out of another account, has no floor */
    struct al_transfer topup = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, M(7), "t");
    assert_int_equal(al_ledger_apply(&topup, 0, &ext, &cash, &r, &e), 0);
    assert_true(ext == -M(7) && cash == -M(43));
    int64_t accrued = -M(1000000);
    charge.debit = acct(AL_ACCT_ORG_ACCRUED, 3);
    assert_int_equal(al_ledger_apply(&charge, 0, &accrued, &rev, NULL, &e), 0);
    /* overflow and bad input */
    int64_t big = INT64_MAX;
    assert_int_equal(al_ledger_apply(&topup, 0, &ext, &big, &r, &e), AL_E_RANGE);
    assert_int_equal(al_ledger_apply(&topup, -1, &ext, &cash, &r, &e), AL_E_INVAL);
    topup.amount = -1;
    assert_int_equal(al_ledger_apply(&topup, 0, &ext, &cash, &r, &e), AL_E_INVAL);
}

static void test_idem_and_keys(void **state)
{
    (void)state;
    char key[AL_LEDGER_KEY_MAX], client[100];
    struct al_err e = {0};
    struct al_transfer a = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, M(5), "x");
    assert_int_equal(al_ledger_key_topup(a.key, "req-42", &e), 0);
    assert_string_equal(a.key, "topup:req-42");
    struct al_transfer b = a;
    b.at += 60; /* the retry comes later: still the same transfer */
    assert_int_equal(al_ledger_idem(NULL, &a, &e), AL_LEDGER_NEW);
    assert_int_equal(al_ledger_idem(&a, &b, &e), AL_LEDGER_REPLAY);
    b.amount += 1;
    assert_int_equal(al_ledger_idem(&a, &b, &e), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "topup:req-42"));
    b = a;
    b.ref.sub = 4;
    assert_int_equal(al_ledger_idem(&a, &b, &e), AL_E_CONFLICT);
    b = a;
    b.key[0] = 'T';
    assert_int_equal(al_ledger_idem(&a, &b, &e), AL_E_INVAL);
    /* a retried top-up, written the way the server writes: one transfer, one credit */
    int64_t ext = 0, cash = 0;
    for (int attempt = 0; attempt < 3; attempt++) {
        const struct al_transfer *existing = attempt ? &a : NULL;
        if (al_ledger_idem(existing, &a, NULL) == AL_LEDGER_NEW)
            assert_int_equal(al_ledger_apply(&a, 0, &ext, &cash, NULL, NULL), 0);
    }
    assert_true(cash == M(5));
    /* the keys core builds */
    assert_int_equal(al_ledger_key_res(key, 11, 0, "charge"), 0);
    assert_string_equal(key, "res:11:charge");
    assert_int_equal(al_ledger_key_res(key, 11, 2, "refund"), 0);
    assert_string_equal(key, "res:11:r2:refund");
    assert_int_equal(al_ledger_key_draw(key, UINT64_MAX, INT64_MAX), 0);
    assert_string_equal(key, "res:18446744073709551615:draw:9223372036854775807");
    assert_int_equal(al_ledger_key_pool(key, 5, T0), 0);
    assert_string_equal(key, "pool:5:1767225600");
    assert_int_equal(al_ledger_key_invoice(key, 21, "rounding"), 0);
    assert_string_equal(key, "inv:21:rounding");
    assert_int_equal(al_ledger_key_topup(key, "", &e), AL_E_INVAL);
    assert_int_equal(al_ledger_key_topup(key, "a b", &e), AL_E_INVAL);
    assert_int_equal(al_ledger_key_topup(key, NULL, &e), AL_E_INVAL);
    memset(client, 'k', sizeof client);
    client[89] = '\0'; /* 89 bytes fit beside "topup:" */
    assert_int_equal(al_ledger_key_topup(key, client, &e), 0);
    client[89] = 'k';
    client[90] = '\0';
    assert_int_equal(al_ledger_key_topup(key, client, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "idempotency_key"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_apply_floor),
        cmocka_unit_test(test_idem_and_keys),
    };
    return cmocka_run_group_tests_name("ledger", tests, NULL, NULL);
}
