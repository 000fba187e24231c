/* test_billing.c — unit tests of core/billing with worked numbers to the micro-unit: the
 * issue's extension bug (3,840.00 must become 4,800.00 at the contract's rate, not 8,640.00 at
 * the new list price), refunds with the contract's fee, who may cancel, balance draws per
 * period (exactly once, in order, refused when the cash runs out), extensions under balance
 * terms, every refusal at confirm and extend, pool metering and its runway, the credit of a
 * unit out of service. docs/billing.md
 * quotes the same numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/billing.h"
#include "core/contract.h"
#include "core/ledger.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)

/* The worked example's contract: org 3, H100-80GB frozen at 40.00 per GPU-hour, whole hours
 * (minimum 1), cancellation fee 50.00 + 10 % of the amount given up. */
static struct al_contract contract(enum al_terms terms)
{
    struct al_contract c = {
        .id = 7,
        .version = 1,
        .org = 3,
        .terms = terms,
        .valid_from = T0,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_HOUR, 1},
        .draw_period_s = HOUR,
        .nrates = 1,
        .rates = {{"H100-80GB", {M(40), 5123457, 2500000}}},
        .cancel_fee = M(50),
        .cancel_fee_bps = 1000,
        .self_service = true,
        .limits = {M(100), 8 * AL_SHARE_PER_GPU, 96 * HOUR, 5, AL_LIMIT_NONE},
    };
    return c;
}

/* Reservation 11: 4 × H100-80GB for 24 h from T0 + 1 h, confirmed under contract 7 v1. */
static struct al_res_billing reservation(void)
{
    struct al_res_billing r = {
        .id = 11,
        .org = 3,
        .contract_id = 7,
        .contract_version = 1,
        .start = T0 + HOUR,
        .end = T0 + 25 * HOUR,
        .share = 4 * AL_SHARE_PER_GPU,
        .nlines = 1,
        .lines = {{"H100-80GB GPU-hour", AL_PRICE_GPU_HOUR, 4, M(40)}},
    };
    return r;
}

static void test_prepaid_confirm(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_org_usage o = {.cash = M(3740)};
    struct al_decision d;
    struct al_err e = {0};
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), 0);
    assert_true(d.amount == M(3840)); /* 4 × 24 × 40.00 */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.t[0].kind, AL_XFER_RESERVATION_CHARGE);
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_ORG_CASH);
    assert_true(d.t[0].debit.org == 3);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_REVENUE);
    assert_true(d.t[0].amount == M(3840) && d.t[0].at == T0);
    assert_string_equal(d.t[0].key, "res:11:charge");
    assert_true(d.t[0].ref.kind == AL_REF_RESERVATION && d.t[0].ref.id == 11);
    /* one micro-unit short: 402 with balance, credit limit and the amount */
    o.cash = M(3740) - 1;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_PAYMENT);
    assert_int_equal(d.refusal.code, AL_REFUSAL_BALANCE);
    assert_true(d.refusal.balance == M(3740) - 1 && d.refusal.credit_limit == M(100) &&
                d.refusal.asked == M(3840));
    assert_int_equal(d.n, 0);
    /* a quote checks the limits only, and charges nothing */
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_QUOTE, T0, &d, &e), 0);
    assert_true(d.amount == M(3840) && d.n == 0);
    /* the reservation must belong to the contract version it names */
    r.contract_version = 2;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "contract"));
}

static void test_confirm_limits(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_org_usage o = {.cash = M(100000), .peak_share = 4 * AL_SHARE_PER_GPU + 1};
    struct al_decision d;
    struct al_err e = {0};
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "max_concurrent_gpus");
    assert_true(d.refusal.value == 8 * AL_SHARE_PER_GPU &&
                d.refusal.in_use == 4 * AL_SHARE_PER_GPU + 1 &&
                d.refusal.asked == 4 * AL_SHARE_PER_GPU);
    o.peak_share = 0;
    o.ahead = 5;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_SELF_RESERVE, T0, &d, &e),
                     AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "max_reservations_ahead");
    o.ahead = 0;
    r.end = r.start + 96 * HOUR + 1;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "max_reservation_length");
    r = reservation();
    c.limits.month_cap = M(5000);
    o.month_spend = M(1160) + 1; /* 1,160.00 + 3,840.00 = the cap; one micro-unit more */
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "monthly_spend_cap");
    assert_true(d.refusal.asked == M(3840) && d.refusal.in_use == M(1160) + 1);
    o.month_spend = M(1160);
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), 0);
    c.self_service = false;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_SELF_RESERVE, T0, &d, &e),
                     AL_E_FORBIDDEN);
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, c.valid_to, &d, &e),
                     AL_E_STATE);
}

/* The bug: an extension repriced the whole reservation at the current list price. */
static void test_extension_at_contract_rates(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_org_usage o = {.cash = M(960) - M(100)}; /* exactly enough with the credit */
    struct al_decision d;
    struct al_err e = {0};
    /* the list price went from 40.00 to 72.00; the old code's whole-window repricing: */
    struct al_price_line list72 = {"H100-80GB GPU-hour", AL_PRICE_GPU_HOUR, 4, M(72)};
    int64_t repriced = 0, total = 0;
    assert_int_equal(
        al_contract_window_charge(&c.gran, &list72, 1, r.start, r.start + 30 * HOUR, &repriced, &e),
        0);
    assert_true(repriced == M(8640));
    /* allot now: only the 6 added hours, at the reservation's frozen 40.00 */
    assert_int_equal(al_billing_extend(&c, &r, r.start + 30 * HOUR, &o, T0, &d, &e), 0);
    assert_true(d.amount == M(960));
    assert_int_equal(d.n, 1);
    assert_string_equal(d.t[0].key, "res:11:r1:extend");
    assert_true(d.t[0].amount == M(960) && d.end == r.start + 30 * HOUR);
    r.end = d.end;
    r.rev = 1;
    assert_int_equal(al_billing_charge_to(&c, &r, r.end, &total, &e), 0);
    assert_true(total == M(4800)); /* 3,840.00 + 960.00: what the contract says */
    assert_int_equal(al_billing_implied(&c, &r, T0, &total, &e), 0);
    assert_true(total == M(4800));
    /* refused exactly like a new reservation: balance, then limits */
    o.cash = -M(100) + M(40) * 4 - 1;
    assert_int_equal(al_billing_extend(&c, &r, r.end + HOUR, &o, T0, &d, &e), AL_E_PAYMENT);
    assert_int_equal(d.refusal.code, AL_REFUSAL_BALANCE);
    assert_true(d.refusal.asked == M(160));
    o.cash = M(100000);
    assert_int_equal(al_billing_extend(&c, &r, r.start + 96 * HOUR + 1, &o, T0, &d, &e),
                     AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "max_reservation_length");
    /* not shorter, not after the end, not once cancelled */
    assert_int_equal(al_billing_extend(&c, &r, r.end, &o, T0, &d, &e), AL_E_INVAL);
    assert_int_equal(al_billing_extend(&c, &r, r.end + HOUR, &o, r.end, &d, &e), AL_E_STATE);
    r.cancelled = true;
    assert_int_equal(al_billing_extend(&c, &r, r.end + HOUR, &o, T0, &d, &e), AL_E_STATE);
}

static void cancel(const struct al_contract *c, const struct al_res_billing *r,
                   enum al_canceller who, int64_t now, int64_t new_end, struct al_decision *d,
                   int want)
{
    struct al_cancel q = {who, now, new_end};
    struct al_err e = {0};
    int rc = al_billing_cancel(c, r, &q, d, &e);
    if (rc != want)
        fail_msg("cancel: %d (%s), want %d", rc, e.msg, want);
}

static void test_prepaid_refunds(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_decision d;
    int64_t implied = 0;
    r.end = r.start + 30 * HOUR; /* after the extension: 4,800.00 charged */
    r.rev = 1;
    /* cancelled 10 h 20 min in: the hour in progress is kept, so e' = 11 h; unused 19 h =
     * 3,040.00; fee 50.00 + 10 % × 3,040.00 = 354.00; refund 2,686.00 */
    cancel(&c, &r, AL_BY_OPERATOR, r.start + 10 * HOUR + 20 * 60, r.start + 10 * HOUR + 20 * 60, &d,
           0);
    assert_true(d.end == r.start + 11 * HOUR);
    assert_true(d.fee == M(354) && d.amount == M(2686));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.t[0].kind, AL_XFER_REFUND);
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_REFUNDS);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_ORG_CASH);
    assert_string_equal(d.t[0].key, "res:11:r2:refund");
    /* net 4,800.00 - 2,686.00 = 2,114.00 = C(11 h) 1,760.00 + fee 354.00 */
    struct al_res_billing after = r;
    after.end = d.end;
    after.fees = d.fee;
    after.rev = 2;
    after.cancelled = true;
    assert_int_equal(al_billing_implied(&c, &after, after.end, &implied, NULL), 0);
    assert_true(implied == M(2114));
    /* before start: nothing used; unused 4,800.00, fee 530.00, refund 4,270.00 */
    cancel(&c, &r, AL_BY_ORG_ADMIN, T0, T0, &d, 0);
    assert_true(d.end == r.start && d.fee == M(530) && d.amount == M(4270));
    /* shortened at 5 h to end at 20 h: 10 h given up = 1,600.00, fee 210.00, refund 1,390.00 */
    cancel(&c, &r, AL_BY_OPERATOR, r.start + 5 * HOUR, r.start + 20 * HOUR, &d, 0);
    assert_true(d.end == r.start + 20 * HOUR && d.fee == M(210) && d.amount == M(1390));
    /* in the last hour: nothing to give back, no fee, no transfer */
    cancel(&c, &r, AL_BY_OPERATOR, r.start + 29 * HOUR + 1, r.start + 29 * HOUR + 1, &d, 0);
    assert_true(d.end == r.end && d.fee == 0 && d.amount == 0 && d.n == 0);
    /* an org admin may not cancel an active prepaid reservation unless the contract says so */
    cancel(&c, &r, AL_BY_ORG_ADMIN, r.start + HOUR, r.start + HOUR, &d, AL_E_FORBIDDEN);
    c.admin_may_cancel_active = true;
    cancel(&c, &r, AL_BY_ORG_ADMIN, r.start + HOUR, r.start + HOUR, &d, 0);
    assert_true(d.end == r.start + HOUR && d.amount == M(4640) - M(50) - M(464));
    /* not after the end, not twice, not a longer end */
    cancel(&c, &r, AL_BY_OPERATOR, r.end, r.end, &d, AL_E_STATE);
    cancel(&c, &r, AL_BY_OPERATOR, T0, r.end, &d, AL_E_INVAL);
    cancel(&c, &r, AL_BY_OPERATOR, T0 + 10, T0, &d, AL_E_INVAL);
    r.cancelled = true;
    cancel(&c, &r, AL_BY_OPERATOR, T0, T0, &d, AL_E_STATE);
}

/* Reservation 12, balance terms, per second, hourly draws: 2 × H100 3g.40gb (6 compute slices)
 * at 5.123457 per slice-hour for 2 h 30 min 10 s. */
static struct al_res_billing mig_reservation(void)
{
    struct al_res_billing r = {
        .id = 12,
        .org = 3,
        .contract_id = 7,
        .contract_version = 1,
        .start = T0 + HOUR,
        .end = T0 + HOUR + 9010,
        .share = 23760,
        .nlines = 1,
        .lines = {{"H100-80GB 3g.40gb compute-slice-hour", AL_PRICE_SLICE_HOUR, 6, 5123457}},
    };
    return r;
}

static int64_t draw(const struct al_contract *c, struct al_res_billing *r, int64_t cash,
                    int want_rc)
{
    struct al_org_usage o = {.cash = cash};
    struct al_decision d;
    struct al_err e = {0};
    int rc = al_billing_draw(c, r, r->drawn, &o, &d, &e);
    if (rc != want_rc)
        fail_msg("draw %lld: %d (%s)", (long long)r->drawn, rc, e.msg);
    if (rc == 0) {
        char key[AL_LEDGER_KEY_MAX];
        (void)snprintf(key, sizeof key, "res:%llu:draw:%lld", (unsigned long long)r->id,
                       (long long)r->drawn);
        assert_int_equal(d.n, d.amount > 0 ? 1 : 0);
        if (d.n) {
            assert_string_equal(d.t[0].key, key);
            assert_true(d.t[0].at == r->start + r->drawn * c->draw_period_s);
            assert_true(d.t[0].ref.sub == r->drawn);
        }
        r->drawn++;
    }
    return rc == 0 ? d.amount : d.end;
}

static void test_balance_draws(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_BALANCE);
    struct al_res_billing r = mig_reservation();
    struct al_org_usage o = {.cash = 30740742 - M(100)};
    struct al_decision d;
    struct al_err e = {0};
    int64_t due = 0, covered = 0;
    c.gran = (struct al_granularity){AL_GRAN_SECOND, 0};
    /* confirmation needs the first hour covered: 30.740742 with the credit limit, no charge */
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), 0);
    assert_true(d.amount == 76937245 && d.n == 0);
    o.cash -= 1;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_PAYMENT);
    assert_true(d.refusal.asked == 30740742);
    /* periods begin at start, +1 h, +2 h */
    assert_int_equal(al_billing_draws_due(&c, &r, r.start - 1, &due, NULL), 0);
    assert_true(due == 0);
    assert_int_equal(al_billing_draws_due(&c, &r, r.start, &due, NULL), 0);
    assert_true(due == 1);
    assert_int_equal(al_billing_draws_due(&c, &r, r.start + 7200, &due, NULL), 0);
    assert_true(due == 3);
    assert_int_equal(al_billing_draws_due(&c, &r, r.start + 99999, &due, NULL), 0);
    assert_true(due == 3);
    assert_int_equal(al_billing_periods_covered(&c, &r, 61481484, &covered, NULL), 0);
    assert_true(covered == 2);
    assert_int_equal(al_billing_periods_covered(&c, &r, M(1000), &covered, NULL), 0);
    assert_true(covered == 3);
    /* 30.740742 + 30.740742 + 15.455761 = 76.937245, the whole charge to the micro-unit */
    assert_true(draw(&c, &r, M(1000), 0) == 30740742);
    assert_true(draw(&c, &r, M(1000), 0) == 30740742);
    assert_true(draw(&c, &r, M(1000), 0) == 15455761);
    /* no fourth period; out of order or twice is refused */
    assert_int_equal(al_billing_draw(&c, &r, 3, &o, &d, &e), AL_E_STATE);
    assert_int_equal(al_billing_draw(&c, &r, 1, &o, &d, &e), AL_E_STATE);
    /* extended by 1 h at 2:30:10 in: the drawn third period (to 3 h) grows by 15.284981 now,
     * a fourth period will draw 15.370371 */
    o.cash = M(1000);
    assert_int_equal(al_billing_extend(&c, &r, r.start + 12600, &o, r.start + 9000, &d, &e), 0);
    assert_true(d.amount == 107592597 - 76937245);
    assert_int_equal(d.n, 1);
    assert_true(d.t[0].amount == 15284981);
    r.end = d.end;
    r.rev = 1;
    assert_true(draw(&c, &r, M(1000), 0) == 15370371);
}

static void test_balance_runs_out(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_BALANCE);
    struct al_res_billing r = mig_reservation();
    struct al_decision d;
    struct al_org_usage o = {.cash = 0};
    struct al_err e = {0};
    c.gran = (struct al_granularity){AL_GRAN_SECOND, 0};
    c.limits.credit_limit = 0;
    assert_true(draw(&c, &r, 30740742, 0) == 30740742);
    /* the second hour is not covered: access ends where the paid time does */
    assert_true(draw(&c, &r, 30740741, AL_E_PAYMENT) == r.start + HOUR);
    assert_int_equal(al_billing_draw(&c, &r, 1, &o, &d, &e), AL_E_PAYMENT);
    assert_true(d.stop && d.end == r.start + HOUR && d.refusal.code == AL_REFUSAL_BALANCE);
    assert_true(d.refusal.asked == 30740742 && d.refusal.balance == 0);
    /* the server shortens it: nothing more is due, and verify's implied charge is the hour */
    int64_t implied = 0;
    r.end = d.end;
    r.rev++;
    assert_int_equal(al_billing_implied(&c, &r, r.start + 99999, &implied, NULL), 0);
    assert_true(implied == 30740742);
}

/* Balance terms, daily draws: 1 GPU at 24.00/h for 2 days, cancelled at 5 h 10 min with day 0
 * drawn (576.00): e' = 6 h (144.00); unused 432.00; fee 10 % of the 1,008.00 given up =
 * 100.80; refund 331.20. */
static void test_balance_cancel_daily(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_BALANCE);
    struct al_res_billing r = reservation();
    struct al_decision d;
    int64_t implied = 0;
    c.gran = (struct al_granularity){AL_GRAN_SECOND, 0};
    c.draw_period_s = 24 * HOUR;
    c.cancel_fee = 0;
    r.end = r.start + 48 * HOUR;
    r.lines[0] = (struct al_price_line){"H100-80GB GPU-hour", AL_PRICE_GPU_HOUR, 1, M(24)};
    assert_true(draw(&c, &r, M(1000), 0) == M(576));
    cancel(&c, &r, AL_BY_ORG_ADMIN, r.start + 5 * HOUR + 600, r.start + 5 * HOUR + 600, &d, 0);
    assert_true(d.end == r.start + 6 * HOUR);
    assert_true(d.fee == 100800000 && d.amount == 331200000);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_ORG_CASH);
    r.end = d.end;
    r.fees = d.fee;
    r.cancelled = true;
    assert_int_equal(al_billing_implied(&c, &r, r.start + 6 * HOUR, &implied, NULL), 0);
    assert_true(implied == M(576) - 331200000); /* 144.00 + 100.80 */
}

/* Balance draws count toward the month they are drawn in, not the whole price. */
static void test_month_share(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_BALANCE);
    struct al_res_billing r = reservation();
    int64_t jan31_22h = T0 + 30 * 24 * HOUR + 22 * HOUR;
    struct al_org_usage o = {.cash = M(1000), .month_spend = M(100)};
    struct al_decision d;
    c.limits.month_cap = M(120) - 1;
    r.start = jan31_22h;
    r.end = jan31_22h + 4 * HOUR;
    r.lines[0].units = 1;
    r.lines[0].unit_price = M(10);
    /* 2 of the 4 hourly draws fall in January: 20.00 asked, not 40.00 */
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, jan31_22h - HOUR, &d, NULL),
                     AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "monthly_spend_cap");
    assert_true(d.refusal.asked == M(20) && d.refusal.in_use == M(100));
    c.limits.month_cap = M(120);
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, jan31_22h - HOUR, &d, NULL),
                     0);
}

/* Invoiced terms: draws accrue to org_accrued; the credit limit bounds what is owed. */
static void test_invoiced(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_INVOICED);
    struct al_res_billing r = reservation();
    struct al_org_usage o = {.owed = M(1000), .cash = -M(5000)};
    struct al_decision d;
    c.limits.credit_limit = M(4840);
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, NULL), 0);
    assert_int_equal(d.n, 0);
    o.owed += 1;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, NULL), AL_E_PAYMENT);
    assert_int_equal(d.refusal.code, AL_REFUSAL_LIMIT);
    assert_string_equal(d.refusal.limit, "credit_limit");
    assert_true(d.refusal.value == M(4840) && d.refusal.asked == M(3840));
    /* a draw never fails for money under invoiced terms: it accrues */
    assert_true(draw(&c, &r, -M(1000000), 0) == M(160));
    struct al_org_usage none = {0};
    r.drawn = 0;
    assert_int_equal(al_billing_draw(&c, &r, 0, &none, &d, NULL), 0);
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_ORG_ACCRUED);
    /* prepaid reservations have no draws */
    c.terms = AL_TERMS_PREPAID;
    assert_int_equal(al_billing_draw(&c, &r, 0, &none, &d, NULL), AL_E_STATE);
}

static void test_pool(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_BALANCE);
    struct al_pool_session s = {.id = 5,
                                .org = 3,
                                .start = T0,
                                .metered_to = T0,
                                .share = AL_SHARE_PER_GPU,
                                .rate = 2500000};
    struct al_org_usage o = {.cash = 2500000 - M(100)};
    struct al_decision d;
    struct al_err e = {0};
    int64_t u = 0, hour = 0, until = 0;
    c.limits.month_cap = M(1000);
    /* one hour of runway: 2.50 with the credit limit */
    assert_int_equal(al_billing_pool_start(&c, &s, &o, T0, &d, &e), 0);
    o.cash -= 1;
    assert_int_equal(al_billing_pool_start(&c, &s, &o, T0, &d, &e), AL_E_PAYMENT);
    assert_true(d.refusal.code == AL_REFUSAL_BALANCE && d.refusal.asked == 2500000);
    /* running sessions count toward the hour */
    o.cash = M(10) - M(100);
    o.pool_hour_cost = 7500001;
    assert_int_equal(al_billing_pool_start(&c, &s, &o, T0, &d, &e), AL_E_PAYMENT);
    assert_true(d.refusal.asked == 10000001);
    o.pool_hour_cost = 0;
    o.peak_share = 7 * AL_SHARE_PER_GPU + 1;
    assert_int_equal(al_billing_pool_start(&c, &s, &o, T0, &d, &e), AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "max_concurrent_gpus");
    o.peak_share = 0;
    o.month_spend = M(1000) - 2499999;
    assert_int_equal(al_billing_pool_start(&c, &s, &o, T0, &d, &e), AL_E_PAYMENT);
    assert_string_equal(d.refusal.limit, "monthly_spend_cap");
    o.month_spend = 0;
    /* per second: 1,000 s at 2.50/h = 0.694444; the rest of the hour 1.805556; sum 2.50 */
    assert_int_equal(al_billing_pool_usage(&s, T0, T0 + 1000, &u, NULL), 0);
    assert_true(u == 694444);
    assert_int_equal(al_billing_pool_usage(&s, T0 + 1000, T0 + HOUR, &u, NULL), 0);
    assert_true(u == 1805556);
    o.cash = M(10);
    assert_int_equal(al_billing_pool_meter(&c, &s, T0 + 1000, &o, &d, &e), 0);
    assert_true(d.amount == 694444 && d.n == 1 && !d.stop);
    assert_int_equal(d.t[0].kind, AL_XFER_USAGE);
    assert_string_equal(d.t[0].key, "pool:5:1767225600");
    assert_true(d.t[0].at == T0 + 1000 && d.t[0].ref.sub == T0);
    /* a MIG 3g share of the pool: 3/7 of 2.50 per hour, floored */
    struct al_pool_session m = s;
    m.share = 11880;
    assert_int_equal(al_billing_pool_hour_cost(&m, &hour, NULL), 0);
    assert_true(hour == 1071428);
    /* the funds run out: the charge stops at the floor, the rest is forgiven, stop */
    s.metered_to = T0 + 1000;
    o.cash = -M(100) + 1000000;
    assert_int_equal(al_billing_pool_meter(&c, &s, T0 + HOUR, &o, &d, &e), 0);
    assert_true(d.stop && d.amount == 1000000 && d.forgiven == 805556);
    assert_true(d.t[0].amount == 1000000 && d.refusal.code == AL_REFUSAL_BALANCE);
    /* runway: 10.00 at 2.50/h lasts 4 h */
    o.cash = M(10) - M(100);
    o.pool_hour_cost = 2500000;
    assert_int_equal(al_billing_pool_runway(&c, &o, T0, &until, NULL), 0);
    assert_true(until == T0 + 4 * HOUR);
    o.pool_hour_cost = 0;
    assert_int_equal(al_billing_pool_runway(&c, &o, T0, &until, NULL), 0);
    assert_true(until == INT64_MAX);
    assert_int_equal(al_billing_pool_usage(&s, T0 - 1, T0, &u, NULL), AL_E_INVAL);
}

/* Products beyond int64 are refused, never wrapped: at confirmation, extension and metering. */
/* A unit out of service with no spare: the rest of its window credited once, as an adjustment
 * (not a refund: the reservation's own charges stay what its terms imply). */
static void test_degraded_credit(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_decision d;
    struct al_err e = {0};
    /* unit 2 of 4 fails 10 h 20 min in: whole hours, so C(10 h 20 min) = 11 h = 1,760.00 of
     * C(end) 3,840.00; the rest 2,080.00 / 4 units = 520.00 */
    assert_int_equal(
        al_billing_degraded_credit(&c, &r, 2, 4, r.start + 10 * HOUR + 20 * 60, &d, &e), 0);
    assert_true(d.amount == M(520));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.t[0].kind, AL_XFER_ADJUSTMENT);
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_REVENUE);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_ORG_CASH);
    assert_true(d.t[0].credit.org == 3 && d.t[0].at == r.start + 10 * HOUR + 20 * 60);
    assert_int_equal(d.t[0].ref.kind, AL_REF_RESERVATION);
    assert_true(d.t[0].ref.id == 11);
    assert_string_equal(d.t[0].key, "res:11:degraded:2");
    /* before the start: the whole window of one unit, 3,840.00 / 4 */
    assert_int_equal(al_billing_degraded_credit(&c, &r, 0, 4, T0, &d, &e), 0);
    assert_true(d.amount == M(960));
    assert_string_equal(d.t[0].key, "res:11:degraded:0");
    /* at or after the end: nothing, no transfer */
    assert_int_equal(al_billing_degraded_credit(&c, &r, 1, 4, r.end, &d, &e), 0);
    assert_true(d.amount == 0 && d.n == 0);
    /* per second, invoiced: 4 GPUs at 40.00 for the last 90 s = 4.00, one unit 1.00, to accrued */
    c = contract(AL_TERMS_INVOICED);
    c.gran = (struct al_granularity){AL_GRAN_SECOND, 0};
    c.limits.credit_limit = AL_LIMIT_NONE;
    assert_int_equal(al_billing_degraded_credit(&c, &r, 3, 4, r.end - 90, &d, &e), 0);
    assert_true(d.amount == M(1));
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_ORG_ACCRUED);
    /* not a unit of it, no units, cancelled */
    assert_int_equal(al_billing_degraded_credit(&c, &r, 4, 4, T0, &d, &e), AL_E_INVAL);
    assert_int_equal(al_billing_degraded_credit(&c, &r, 0, 0, T0, &d, &e), AL_E_INVAL);
    r.cancelled = true;
    assert_int_equal(al_billing_degraded_credit(&c, &r, 0, 4, T0, &d, &e), AL_E_STATE);
}

/* The credit of a unit out of service follows the window: a cancellation takes back what is no
 * longer charged, an extension credits the added time. */
static void test_degraded_follow(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_degraded_unit u = {2, 4, r.start + 10 * HOUR + 20 * 60};
    struct al_decision d;
    struct al_err e = {0};
    /* credited 520.00 for [11 h, 24 h); cancelled at 15 h: (24 - 15) h × 160.00 / 4 = 360.00
     * back, from the org's cash to revenue */
    assert_int_equal(al_billing_degraded_follow(&c, &r, &u, r.start + 15 * HOUR, T0 + 7, &d, &e),
                     0);
    assert_true(d.amount == -M(360));
    assert_int_equal(d.n, 1);
    assert_int_equal(d.t[0].kind, AL_XFER_ADJUSTMENT);
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_ORG_CASH);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_REVENUE);
    assert_true(d.t[0].amount == M(360) && d.t[0].at == T0 + 7);
    assert_string_equal(d.t[0].key, "res:11:r1:degraded:2");
    /* cancelled before the failure: the whole credit back (C(24 h) - C(11 h)) / 4 = 520.00 */
    assert_int_equal(al_billing_degraded_follow(&c, &r, &u, r.start + 2 * HOUR, T0, &d, &e), 0);
    assert_true(d.amount == -M(520));
    /* extended by 6 h: the added time credited, 6 × 160.00 / 4 = 240.00, revenue to the org */
    r.rev = 3;
    assert_int_equal(al_billing_degraded_follow(&c, &r, &u, r.end + 6 * HOUR, T0, &d, &e), 0);
    assert_true(d.amount == M(240));
    assert_int_equal(d.t[0].debit.kind, AL_ACCT_REVENUE);
    assert_int_equal(d.t[0].credit.kind, AL_ACCT_ORG_CASH);
    assert_string_equal(d.t[0].key, "res:11:r4:degraded:2");
    /* the end unchanged: nothing */
    assert_int_equal(al_billing_degraded_follow(&c, &r, &u, r.end, T0, &d, &e), 0);
    assert_true(d.amount == 0 && d.n == 0);
    u.unit = 4;
    assert_int_equal(al_billing_degraded_follow(&c, &r, &u, r.end, T0, &d, &e), AL_E_INVAL);
}

static void test_overflow(void **state)
{
    (void)state;
    struct al_contract c = contract(AL_TERMS_PREPAID);
    struct al_res_billing r = reservation();
    struct al_org_usage o = {.cash = INT64_MAX / 2};
    struct al_decision d;
    struct al_err e = {0};
    int64_t u = 0;
    c.limits.max_length_s = AL_LIMIT_NONE;
    c.limits.max_gpus = AL_LIMIT_NONE;
    r.lines[0].units = INT64_C(1) << 40;
    r.end = r.start + 1000 * HOUR;
    assert_int_equal(al_billing_confirm(&c, &r, &o, AL_CHECK_CONFIRM, T0, &d, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "overflows"));
    assert_int_equal(d.n, 0);
    r = reservation();
    r.lines[0].unit_price = INT64_MAX / 100;
    assert_int_equal(al_billing_extend(&c, &r, r.end + 100 * HOUR, &o, T0, &d, &e), AL_E_RANGE);
    struct al_pool_session s = {.id = 5,
                                .org = 3,
                                .start = T0,
                                .metered_to = T0,
                                .share = INT64_MAX / 1000,
                                .rate = M(1000)};
    assert_int_equal(al_billing_pool_usage(&s, T0, T0 + 1000000, &u, &e), AL_E_RANGE);
    assert_int_equal(al_billing_pool_meter(&c, &s, T0 + 1000000, &o, &d, &e), AL_E_RANGE);
    assert_int_equal(d.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prepaid_confirm),
        cmocka_unit_test(test_confirm_limits),
        cmocka_unit_test(test_extension_at_contract_rates),
        cmocka_unit_test(test_prepaid_refunds),
        cmocka_unit_test(test_balance_draws),
        cmocka_unit_test(test_balance_runs_out),
        cmocka_unit_test(test_balance_cancel_daily),
        cmocka_unit_test(test_month_share),
        cmocka_unit_test(test_invoiced),
        cmocka_unit_test(test_degraded_credit),
        cmocka_unit_test(test_degraded_follow),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_overflow),
    };
    return cmocka_run_group_tests_name("billing", tests, NULL, NULL);
}
