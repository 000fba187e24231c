/* test_invoice.c — unit tests of core/invoice: calendar-month boundaries (leap years, December,
 * before 1970, out of range), which transfers go on an invoice and how they group, the one
 * half-even rounding per line, the rounding and issue transfers that make an invoice reconcile
 * with the ledger to the micro-unit, statements, credit notes, and al_invoice_check. The first
 * invoice is docs/billing.md's worked example. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/invoice.h"
#include "core/ledger.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define FEB1 INT64_C(1769904000) /* 2026-02-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define ORG  3

static int64_t epoch(int y, int m, int d)
{
    int64_t t = 0;
    assert_int_equal(al_invoice_epoch(y, m, d, &t, NULL), 0);
    return t;
}

static void month(int64_t t, int64_t want_from, int64_t want_to)
{
    int64_t from = 0, to = 0;
    assert_int_equal(al_invoice_month(t, &from, &to, NULL), 0);
    assert_true(from == want_from);
    assert_true(to == want_to);
}

static void test_months(void **state)
{
    (void)state;
    int y = 0, m = 0, d = 0;
    assert_true(epoch(2026, 1, 1) == T0);
    assert_true(epoch(2026, 2, 1) == FEB1);
    assert_true(epoch(1970, 1, 1) == 0);
    month(T0, T0, FEB1);
    month(FEB1 - 1, T0, FEB1);
    month(FEB1, FEB1, epoch(2026, 3, 1));
    month(epoch(2026, 12, 31) + 86399, epoch(2026, 12, 1), epoch(2027, 1, 1));
    /* 2028 and 2000 are leap years, 1900 and 2100 are not */
    assert_true(epoch(2028, 3, 1) - epoch(2028, 2, 1) == 29 * 86400);
    assert_true(epoch(2000, 3, 1) - epoch(2000, 2, 1) == 29 * 86400);
    assert_true(epoch(1900, 3, 1) - epoch(1900, 2, 1) == 28 * 86400);
    assert_true(epoch(2100, 3, 1) - epoch(2100, 2, 1) == 28 * 86400);
    month(epoch(2028, 2, 29) + 43200, epoch(2028, 2, 1), epoch(2028, 3, 1));
    /* before 1970: floor division of negative seconds */
    month(-1, epoch(1969, 12, 1), 0);
    assert_int_equal(al_invoice_civil(-1, &y, &m, &d, NULL), 0);
    assert_true(y == 1969 && m == 12 && d == 31);
    assert_int_equal(al_invoice_civil(T0 + 45 * 86400, &y, &m, &d, NULL), 0);
    assert_true(y == 2026 && m == 2 && d == 15);
    /* the last month of year 9999 ends at year 10000; beyond is refused */
    month(epoch(9999, 12, 31), epoch(9999, 12, 1), INT64_C(253402300800));
    int64_t from = 0, to = 0;
    struct al_err e = {0};
    assert_int_equal(al_invoice_month(INT64_C(253402300800), &from, &to, &e), AL_E_RANGE);
    assert_int_equal(al_invoice_month(INT64_MIN, &from, &to, &e), AL_E_RANGE);
    assert_int_equal(al_invoice_epoch(2026, 2, 29, &from, &e), AL_E_INVAL);
    assert_int_equal(al_invoice_epoch(2026, 13, 1, &from, &e), AL_E_INVAL);
    assert_int_equal(al_invoice_epoch(0, 1, 1, &from, &e), AL_E_INVAL);
}

static const struct al_account accrued = {AL_ACCT_ORG_ACCRUED, ORG};
static const struct al_account cash = {AL_ACCT_ORG_CASH, ORG};
static const struct al_account revenue = {AL_ACCT_REVENUE, 0};
static const struct al_account refunds = {AL_ACCT_REFUNDS, 0};
static const struct al_account external = {AL_ACCT_EXTERNAL, 0};

static struct al_transfer xfer(enum al_transfer_kind kind, struct al_account debit,
                               struct al_account credit, int64_t amount, int64_t at,
                               enum al_ref_kind rk, uint64_t rid, int64_t sub)
{
    static unsigned n;
    struct al_transfer t = {.id = ++n,
                            .kind = kind,
                            .debit = debit,
                            .credit = credit,
                            .amount = amount,
                            .at = at,
                            .ref = {rk, rid, sub}};
    (void)snprintf(t.key, sizeof t.key, "test:%u", n);
    return t;
}

/* docs/billing.md: reservation 12's three hourly draws (invoiced terms) and 1,000 s of pool
 * session 5 in January 2026. */
static size_t worked_example(struct al_transfer *t)
{
    size_t n = 0;
    int64_t s = T0 + HOUR;
    t[n++] =
        xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 30740742, s, AL_REF_RESERVATION, 12, 0);
    t[n++] = xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 30740742, s + HOUR,
                  AL_REF_RESERVATION, 12, 1);
    t[n++] = xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 15455761, s + 2 * HOUR,
                  AL_REF_RESERVATION, 12, 2);
    t[n++] = xfer(AL_XFER_USAGE, accrued, revenue, 694444, T0 + 1000, AL_REF_POOL, 5, T0);
    return n;
}

static void test_worked_invoice(void **state)
{
    (void)state;
    struct al_transfer t[16];
    size_t n = worked_example(t), ni = 0;
    struct al_invoice_spec spec = {
        .id = 21, .payer = accrued, .from = T0, .to = FEB1, .minor = AL_MONEY_CENT};
    struct al_invoice inv;
    struct al_transfer out[2], paid;
    assert_int_equal(al_invoice_build(&spec, t, n, &inv, NULL), 0);
    assert_int_equal(inv.nlines, 2);
    assert_int_equal(inv.lines[0].kind, AL_LINE_DRAW);
    assert_true(inv.lines[0].ref.id == 12 && inv.lines[0].ntransfers == 3);
    assert_true(inv.lines[0].exact == 76937245 && inv.lines[0].amount == 76940000);
    assert_int_equal(inv.lines[1].kind, AL_LINE_POOL);
    assert_true(inv.lines[1].exact == 694444 && inv.lines[1].amount == 690000);
    /* 76.94 + 0.69 = 77.63 printed; 77.631689 charged; rounding -0.001689 */
    assert_true(inv.exact == 77631689 && inv.total == 77630000 && inv.rounding == -1689);
    assert_int_equal(al_invoice_check(&inv, NULL), 0);
    assert_int_equal(al_invoice_issue(&inv, FEB1 + 10, out, &ni, NULL), 0);
    assert_int_equal(ni, 2);
    assert_int_equal(out[0].kind, AL_XFER_ADJUSTMENT);
    assert_true(out[0].debit.kind == AL_ACCT_REVENUE && out[0].credit.kind == AL_ACCT_ORG_ACCRUED);
    assert_true(out[0].amount == 1689 && out[0].ref.kind == AL_REF_INVOICE);
    assert_string_equal(out[0].key, "inv:21:rounding");
    assert_int_equal(out[1].kind, AL_XFER_INVOICE_ISSUED);
    assert_true(out[1].debit.kind == AL_ACCT_ORG_RECEIVABLE && out[1].amount == 77630000);
    assert_string_equal(out[1].key, "inv:21:issue");
    /* apply everything: org_accrued nets to zero, the org owes exactly the printed total */
    int64_t bal[AL_ACCT_KINDS] = {0};
    for (size_t i = 0; i < n; i++)
        t[n + i] = t[i];
    t[2 * n] = out[0];
    t[2 * n + 1] = out[1];
    assert_int_equal(al_invoice_pay(&inv, FEB1 + 99, &paid, NULL), 0);
    assert_string_equal(paid.key, "inv:21:paid");
    assert_true(paid.debit.kind == AL_ACCT_EXTERNAL && paid.amount == 77630000);
    for (size_t i = n; i < 2 * n + 2; i++) {
        assert_int_equal(
            al_ledger_apply(&t[i], 0, &bal[t[i].debit.kind], &bal[t[i].credit.kind], NULL, NULL),
            0);
        if (i == 2 * n + 1)
            assert_true(bal[AL_ACCT_ORG_ACCRUED] == 0 && bal[AL_ACCT_ORG_RECEIVABLE] == -77630000);
    }
    assert_int_equal(
        al_ledger_apply(&paid, 0, &bal[AL_ACCT_EXTERNAL], &bal[AL_ACCT_ORG_RECEIVABLE], NULL, NULL),
        0);
    assert_true(bal[AL_ACCT_ORG_RECEIVABLE] == 0 && bal[AL_ACCT_REVENUE] == 77630000);
    al_invoice_done(&inv);
    al_invoice_done(&inv); /* twice is harmless */
    al_invoice_done(NULL);
}

static void test_what_goes_on(void **state)
{
    (void)state;
    struct al_transfer t[32];
    size_t n = worked_example(t), ni = 0;
    struct al_invoice_spec spec = {
        .id = 22, .payer = accrued, .from = T0, .to = FEB1, .minor = AL_MONEY_CENT};
    struct al_invoice inv;
    struct al_transfer out[2];
    struct al_account other = {AL_ACCT_ORG_ACCRUED, ORG + 1};
    /* left off: February, another org, a top-up, an invoice's own transfers */
    t[n++] =
        xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 999, FEB1, AL_REF_RESERVATION, 12, 3);
    t[n++] = xfer(AL_XFER_RESERVATION_CHARGE, other, revenue, 999, T0, AL_REF_RESERVATION, 40, -1);
    t[n++] = xfer(AL_XFER_TOPUP, external, cash, 999, T0, AL_REF_NONE, 0, 0);
    t[n++] = xfer(AL_XFER_ADJUSTMENT, accrued, revenue, 4, T0 + 5, AL_REF_INVOICE, 20, 0);
    /* on it: a prepaid-style charge and an extension of reservation 11, its refund of 1.005
     * (half-even: -1.00), and an operator adjustment of 0.015 (half-even: 0.02) */
    t[n++] = xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 3840000000, T0, AL_REF_RESERVATION,
                  11, -1);
    t[n++] = xfer(AL_XFER_RESERVATION_CHARGE, accrued, revenue, 960000000, T0 + 9,
                  AL_REF_RESERVATION, 11, -1);
    t[n++] = xfer(AL_XFER_REFUND, refunds, accrued, 1005000, T0 + 99, AL_REF_RESERVATION, 11, -1);
    t[n++] = xfer(AL_XFER_ADJUSTMENT, accrued, revenue, 15000, T0 + 7, AL_REF_OPERATOR, 9, 0);
    assert_int_equal(al_invoice_build(&spec, t, n, &inv, NULL), 0);
    assert_int_equal(inv.nlines, 5);
    assert_int_equal(inv.lines[0].kind, AL_LINE_RESERVATION);
    assert_true(inv.lines[0].exact == 4800000000 && inv.lines[0].ntransfers == 2);
    assert_int_equal(inv.lines[1].kind, AL_LINE_DRAW);
    assert_int_equal(inv.lines[2].kind, AL_LINE_POOL);
    assert_int_equal(inv.lines[3].kind, AL_LINE_REFUND);
    assert_true(inv.lines[3].exact == -1005000 && inv.lines[3].amount == -1000000);
    assert_int_equal(inv.lines[4].kind, AL_LINE_ADJUSTMENT);
    assert_true(inv.lines[4].exact == 15000 && inv.lines[4].amount == 20000);
    assert_true(inv.exact == 4800000000 + 77631689 - 1005000 + 15000);
    assert_true(inv.total == 4800000000 + 77630000 - 1000000 + 20000);
    assert_true(inv.rounding == 8311); /* -0.001689 + 0.005 + 0.005: the org pays 0.008311 more */
    assert_int_equal(al_invoice_issue(&inv, FEB1, out, &ni, NULL), 0);
    assert_true(ni == 2 && out[0].debit.kind == AL_ACCT_ORG_ACCRUED && out[0].amount == 8311);
    /* al_invoice_check catches each field */
    struct al_err e = {0};
    inv.lines[2].amount += AL_MONEY_CENT;
    assert_int_equal(al_invoice_check(&inv, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "lines[2].amount"));
    inv.lines[2].amount -= AL_MONEY_CENT;
    inv.total += 1;
    assert_int_equal(al_invoice_check(&inv, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "total"));
    inv.total -= 1;
    inv.rounding = 0;
    assert_int_equal(al_invoice_check(&inv, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "rounding"));
    assert_int_equal(al_invoice_issue(&inv, FEB1, out, &ni, &e), AL_E_INVAL);
    inv.exact -= 1;
    assert_int_equal(al_invoice_check(&inv, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "exact"));
    al_invoice_done(&inv);
}

static void test_statement_and_credit_note(void **state)
{
    (void)state;
    struct al_transfer t[4], out[2], paid;
    size_t ni = 9;
    struct al_invoice inv;
    struct al_invoice_spec spec = {
        .id = 23, .payer = cash, .from = T0, .to = FEB1, .minor = AL_MONEY_CENT};
    struct al_err e = {0};
    t[0] =
        xfer(AL_XFER_RESERVATION_CHARGE, cash, revenue, 3840000000, T0, AL_REF_RESERVATION, 11, -1);
    t[1] = xfer(AL_XFER_REFUND, refunds, cash, 2686000000, T0 + 5, AL_REF_RESERVATION, 11, -1);
    assert_int_equal(al_invoice_build(&spec, t, 2, &inv, NULL), 0);
    assert_true(inv.total == 3840000000 - 2686000000);
    /* a statement: the money moved already, issuing writes nothing, nothing to pay */
    assert_int_equal(al_invoice_issue(&inv, FEB1, out, &ni, NULL), 0);
    assert_int_equal(ni, 0);
    assert_int_equal(al_invoice_pay(&inv, FEB1, &paid, &e), AL_E_STATE);
    al_invoice_done(&inv);
    /* an invoiced org whose month holds only a refund: a credit note, the issue reversed */
    t[2] = xfer(AL_XFER_REFUND, refunds, accrued, 125000, T0 + 5, AL_REF_RESERVATION, 11, -1);
    spec.payer = accrued;
    assert_int_equal(al_invoice_build(&spec, &t[2], 1, &inv, NULL), 0);
    assert_true(inv.total == -120000 && inv.rounding == 5000);
    assert_int_equal(al_invoice_issue(&inv, FEB1, out, &ni, NULL), 0);
    assert_int_equal(ni, 2);
    assert_true(out[0].debit.kind == AL_ACCT_ORG_ACCRUED && out[0].amount == 5000);
    assert_true(out[1].debit.kind == AL_ACCT_ORG_ACCRUED &&
                out[1].credit.kind == AL_ACCT_ORG_RECEIVABLE && out[1].amount == 120000);
    assert_int_equal(al_invoice_pay(&inv, FEB1, &paid, NULL), 0);
    assert_true(paid.debit.kind == AL_ACCT_ORG_RECEIVABLE && paid.amount == 120000);
    assert_int_equal(al_ledger_validate(&paid, NULL), 0);
    al_invoice_done(&inv);
    /* bad specs */
    spec.payer = revenue;
    assert_int_equal(al_invoice_build(&spec, t, 2, &inv, &e), AL_E_INVAL);
    al_invoice_done(&inv);
    spec.payer = cash;
    spec.to = spec.from;
    assert_int_equal(al_invoice_build(&spec, t, 2, &inv, &e), AL_E_INVAL);
    al_invoice_done(&inv);
    /* an empty month: no lines, total 0 */
    spec.to = FEB1;
    assert_int_equal(al_invoice_build(&spec, t, 0, &inv, NULL), 0);
    assert_true(inv.nlines == 0 && inv.total == 0);
    al_invoice_done(&inv);
    assert_string_equal(al_invoice_line_name(AL_LINE_POOL), "pool");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_months),
        cmocka_unit_test(test_worked_invoice),
        cmocka_unit_test(test_what_goes_on),
        cmocka_unit_test(test_statement_and_credit_note),
    };
    return cmocka_run_group_tests_name("invoice", tests, NULL, NULL);
}
