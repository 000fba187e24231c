/* test_draws.c — unit tests of the clock's draw pass (server/draws.h) on a real store: the
 * worked example's three hourly draws (docs/billing.md, example 2: 30.740742 + 30.740742 +
 * 15.455761 = 76.937245) taken each once, in order, across a repeated pass, a crash before the
 * commit and a restart; a pass long after the end catching up; a refused draw ending access at
 * the start of the unpaid period (billing state, document, holds, calendar, events), or, with
 * nothing paid, cancelling the reservation; balance.low once per period drawn; invoiced terms
 * accruing; and ledger verify at the instant the pass reached (its `now`), which passes after
 * each pass where the call's own time would not; a confirmation between two passes taking the
 * draws begun by the mark (al_draws_catch_up). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "money_fixture.h"
#include "server/draws.h"
#include "server/flow.h"

#define START   (T0 + HOUR)
#define LEN     INT64_C(9010) /* 2 h 30 min 10 s */
#define DRAW01  INT64_C(30740742)
#define DRAW2   INT64_C(15455761)
#define EXAMPLE INT64_C(76937245)

/* Reservation `rid` of org_a in `state` on GPU `gpu` over [start, end): its document, its hold
 * (and the calendar's) and the worked example's billing state (two 3g.40gb instances: 6
 * compute slices at 5.123457, 6/7 of a GPU). Returns its billing number. */
static uint64_t reservation(struct money_fixture *x, const char *rid, const char *gpu,
                            int64_t start, int64_t end, const char *state)
{
    char a[32], b[32];
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", rid, "org", "org_a", "state", state, "start",
                  al_time_fmt(start, a, sizeof a), "end", al_time_fmt(end, b, sizeof b));
    struct al_store_doc_meta m = {rid, "org_a", state, start, end};
    struct al_store_hold h = {
        .kind = "gpu", .start_unit = -1, .mask = UINT64_MAX, .t0 = start, .t1 = end};
    struct al_res_billing r = {.org = x->org,
                               .contract_id = x->k.id,
                               .contract_version = x->k.version,
                               .start = start,
                               .end = end,
                               .share = 23760,
                               .nlines = 1,
                               .lines = {{"3g.40gb slice-hour", AL_PRICE_SLICE_HOUR, 6, 5123457}}};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", rid);
    assert_int_equal(al_store_reservation_put(x->sf->s, &m, doc, true, NULL), 0);
    json_decref(doc);
    assert_int_equal(al_store_hold_add(x->sf->s, &h, NULL), 0);
    assert_int_equal(al_store_billing_insert(x->sf->s, rid, &r, NULL), 0);
    money_srv(x, start);
    return r.id;
}

static int pass(struct money_fixture *x, int64_t now)
{
    return money_run(x, al_draws_pass, now, false);
}

static struct al_res_billing billing(struct money_fixture *x, const char *rid)
{
    struct al_res_billing b;
    assert_int_equal(al_store_billing_get(x->sf->s, rid, &b, NULL), 0);
    return b;
}

static int64_t draw_amount(struct money_fixture *x, uint64_t num, int64_t k)
{
    char key[AL_LEDGER_KEY_MAX];
    struct al_transfer t;
    assert_int_equal(al_ledger_key_draw(key, num, k), 0);
    if (al_store_transfer_get(x->sf->s, key, &t, NULL) != 0)
        return -1;
    assert_true(t.at == START + k * HOUR && t.kind == AL_XFER_RESERVATION_CHARGE);
    return t.amount;
}

static int64_t mark(struct money_fixture *x)
{
    int64_t at = -1;
    assert_int_equal(al_store_mark_get(x->sf->s, AL_DRAWS_MARK, &at, NULL), 0);
    return at;
}

/* Live holds on `gpu` over [t0, t1) (any owner). */
static int held(struct money_fixture *x, const char *gpu, int64_t t0, int64_t t1)
{
    struct al_store_hold h = {.mask = UINT64_MAX, .t0 = t0, .t1 = t1};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    return al_store_hold_conflicts(x->sf->s, &h, t0, NULL);
}

static int setup_balance(void **state)
{
    money_make(state, AL_TERMS_BALANCE, 0);
    return 0;
}

static int setup_invoiced(void **state)
{
    money_make(state, AL_TERMS_INVOICED, AL_LIMIT_NONE);
    return 0;
}

/* Example 2 to the micro-unit, each draw once: a pass again at the same time, a pass undone
 * by a crash before its commit, and a restart take nothing twice and skip nothing. */
static void test_worked_example(void **state)
{
    struct money_fixture *x = *state;
    money_topup(x, M(1000), "t1");
    uint64_t num = reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "active");
    assert_int_equal(pass(x, START - 1), 0); /* nothing begun */
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) && mark(x) == START - 1);
    assert_int_equal(pass(x, START), 1);
    assert_true(draw_amount(x, num, 0) == DRAW01);
    assert_int_equal(pass(x, START), 0); /* again at the same time: nothing more */
    assert_int_equal(pass(x, START + HOUR - 1), 0);
    assert_int_equal(money_verify(x, mark(x)), 0);
    /* the server dies before the unit that took draw 1 commits: nothing of it stays */
    assert_int_equal(money_run(x, al_draws_pass, START + HOUR, true), 1);
    assert_true(draw_amount(x, num, 1) == -1 && billing(x, "rsv_12").drawn == 1);
    assert_int_equal(pass(x, START + HOUR), 1);
    assert_true(draw_amount(x, num, 1) == DRAW01);
    /* a restart: the third draw once, the cash down by exactly C(end) */
    money_reopen(x, START + 2 * HOUR);
    assert_int_equal(pass(x, START + 2 * HOUR + 5), 1);
    assert_int_equal(pass(x, START + 2 * HOUR + 5), 0);
    assert_int_equal(pass(x, START + 9 * HOUR), 0); /* no fourth period */
    assert_true(draw_amount(x, num, 2) == DRAW2 && draw_amount(x, num, 3) == -1);
    assert_true(DRAW01 * 2 + DRAW2 == EXAMPLE);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) - EXAMPLE);
    assert_true(money_balance(x, AL_ACCT_ORG_ACCRUED) == 0);
    assert_int_equal(billing(x, "rsv_12").drawn, 3);
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(money_count(x, "balance.low"), 0); /* well funded */
    assert_int_equal(money_count(x, "reservation.access_ended"), 0);
}

/* A pass long after the end (the server was down) takes the three draws at once, each dated
 * at its period's start; the store's index finds a reservation only while a draw is due. */
static void test_catch_up(void **state)
{
    struct money_fixture *x = *state;
    uint64_t *due = NULL;
    size_t n = 0;
    money_topup(x, M(1000), "t1");
    uint64_t num = reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "ended");
    reservation(x, "rsv_later", "gpu_n1-1", START + 10 * HOUR, START + 11 * HOUR, "scheduled");
    assert_int_equal(al_store_billing_draw_due(x->sf->s, START + 5 * HOUR, &due, &n, NULL), 0);
    assert_true(n == 1 && due[0] == num);
    free(due);
    assert_int_equal(pass(x, START + 5 * HOUR), 3);
    assert_true(draw_amount(x, num, 0) == DRAW01 && draw_amount(x, num, 1) == DRAW01 &&
                draw_amount(x, num, 2) == DRAW2);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) - EXAMPLE);
    assert_int_equal(al_store_billing_draw_due(x->sf->s, START + 5 * HOUR, &due, &n, NULL), 0);
    assert_true(n == 0 && due == NULL);
    assert_int_equal(money_verify(x, mark(x)), 0);
}

/* The cash covers draw 0 and not draw 1: balance.low after draw 0 (once, whatever the passes
 * in that period), then access ends at the start of period 1: the billing state, the
 * document, the holds and the calendar end there, the active reservation ends, and
 * reservation.access_ended gives the numbers. */
static void test_refused_draw(void **state)
{
    struct money_fixture *x = *state;
    json_t *doc = NULL, *ev;
    uint32_t ids[4];
    struct al_hold h;
    money_topup(x, M(40), "t1");
    reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "active");
    assert_int_equal(pass(x, START), 1);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(40) - DRAW01);
    ev = money_events(x, "balance.low");
    assert_int_equal(json_array_size(ev), 1);
    json_t *d = json_object_get(json_array_get(ev, 0), "data");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "object")),
                        "org_a");
    assert_string_equal(json_string_value(json_object_get(d, "reservation")), "rsv_12");
    assert_true(json_integer_value(json_object_get(d, "covered_periods")) == 0 &&
                json_integer_value(json_object_get(d, "periods_left")) == 2 &&
                json_integer_value(json_object_get(d, "available_micros")) == M(40) - DRAW01);
    json_decref(ev);
    assert_int_equal(pass(x, START + 10), 0);
    assert_int_equal(money_count(x, "balance.low"), 1); /* not every tick */
    assert_int_equal(pass(x, START + HOUR), 1);         /* refused: access ends */
    struct al_res_billing b = billing(x, "rsv_12");
    assert_true(b.end == START + HOUR && b.rev == 1 && b.drawn == 1 && !b.cancelled);
    assert_int_equal(al_store_reservation_get(x->sf->s, "rsv_12", &doc, NULL), 0);
    assert_string_equal(jstr(doc, "state"), "ended");
    assert_true(jtime(doc, "end") == START + HOUR && jtime(doc, "access_ended_at") == START + HOUR);
    json_decref(doc);
    assert_int_equal(held(x, "gpu_n1-0", START, START + HOUR), 1);
    assert_int_equal(held(x, "gpu_n1-0", START + HOUR, START + LEN), 0);
    assert_int_equal(al_calendar_owner_holds(x->srv.cal->cal, al_cal_owner("rsv_12"), ids, 4), 1);
    assert_int_equal(al_calendar_get(x->srv.cal->cal, ids[0], &h), 0);
    assert_true(h.t1 == START + HOUR);
    ev = money_events(x, "reservation.access_ended");
    assert_int_equal(json_array_size(ev), 1);
    d = json_object_get(json_array_get(ev, 0), "data");
    assert_true(json_integer_value(json_object_get(d, "period")) == 1 &&
                json_integer_value(json_object_get(d, "draw_micros")) == DRAW01 &&
                json_integer_value(json_object_get(d, "balance_micros")) == M(40) - DRAW01);
    json_decref(ev);
    assert_int_equal(money_count(x, "reservation.ended"), 1);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(40) - DRAW01); /* never below the floor */
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(pass(x, START + 2 * HOUR), 0); /* nothing more to draw */
    assert_int_equal(money_verify(x, mark(x)), 0);
}

/* Not even draw 0 is covered: nothing was paid, the reservation is cancelled, its holds go. */
static void test_refused_first_draw(void **state)
{
    struct money_fixture *x = *state;
    json_t *doc = NULL;
    reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "active");
    assert_int_equal(pass(x, START + 30), 1);
    struct al_res_billing b = billing(x, "rsv_12");
    assert_true(b.end == START && b.drawn == 0 && b.rev == 1);
    assert_int_equal(al_store_reservation_get(x->sf->s, "rsv_12", &doc, NULL), 0);
    assert_string_equal(jstr(doc, "state"), "cancelled");
    assert_string_equal(jstr(doc, "cancelled_by"), "clock");
    assert_true(jtime(doc, "end") == START + LEN && jtime(doc, "access_ended_at") == START);
    json_decref(doc);
    assert_int_equal(held(x, "gpu_n1-0", START, START + LEN), 0);
    assert_int_equal(al_calendar_owner_holds(x->srv.cal->cal, al_cal_owner("rsv_12"), NULL, 0), 0);
    assert_int_equal(money_count(x, "reservation.access_ended"), 1);
    assert_int_equal(money_count(x, "reservation.cancelled"), 1);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == 0);
    assert_int_equal(money_verify(x, mark(x)), 0);
}

/* Invoiced terms: the draws accrue whatever the cash, and never warn of a low balance. */
static void test_invoiced(void **state)
{
    struct money_fixture *x = *state;
    uint64_t num = reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "active");
    assert_int_equal(pass(x, START + 2 * HOUR), 3);
    assert_true(draw_amount(x, num, 2) == DRAW2);
    assert_true(money_balance(x, AL_ACCT_ORG_ACCRUED) == -EXAMPLE);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == 0);
    assert_int_equal(money_count(x, "balance.low"), 0);
    assert_int_equal(money_verify(x, mark(x)), 0);
}

/* Verify's `now` is where the pass got: at the call's own time, a draw due since the last pass
 * would be reported missing. The mark never goes back. */
static void test_verify_now(void **state)
{
    struct money_fixture *x = *state;
    money_topup(x, M(1000), "t1");
    reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "active");
    assert_int_equal(mark(x), 0); /* no pass yet */
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(pass(x, START + 60), 1);
    assert_int_equal(mark(x), START + 60);
    assert_int_equal(money_verify(x, mark(x)), 0);
    /* an hour later, before the next pass: draw 1 is due but not the pass's yet */
    assert_int_equal(money_verify(x, START + HOUR + 1), 1);
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(al_store_mark_set(x->sf->s, AL_DRAWS_MARK, START, NULL), 0);
    assert_int_equal(mark(x), START + 60);
    assert_int_equal(pass(x, START + HOUR + 1), 1);
    assert_int_equal(money_verify(x, START + HOUR + 1), 0);
}

/* The reservation al_draws_catch_up is run for (money_run takes no argument). */
static uint64_t catch_up_num;

static int catch_up(struct al_ctx *c)
{
    return al_draws_catch_up(c, catch_up_num);
}

/* A reservation confirmed between two passes: the periods begun by the mark are drawn with
 * the confirmation (verify at the mark finds them), those after it are the next pass's. */
static void test_confirm_catch_up(void **state)
{
    struct money_fixture *x = *state;
    money_topup(x, M(1000), "t1");
    assert_int_equal(pass(x, START + 60), 0);
    catch_up_num = reservation(x, "rsv_12", "gpu_n1-0", START, START + LEN, "scheduled");
    assert_int_equal(money_verify(x, mark(x)), 1); /* what verify saw before the fix */
    assert_int_equal(money_run(x, catch_up, START + 90, false), 1);
    assert_int_equal(draw_amount(x, catch_up_num, 0), DRAW01);
    assert_int_equal(billing(x, "rsv_12").drawn, 1);
    assert_int_equal(mark(x), START + 60); /* the pass's mark, not the confirmation's */
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(money_run(x, catch_up, START + 90, false), 0); /* nothing twice */
    /* one starting after the mark: nothing at the confirmation, draw 0 on the pass */
    catch_up_num =
        reservation(x, "rsv_13", "gpu_n1-1", START + 120, START + 120 + LEN, "scheduled");
    assert_int_equal(money_run(x, catch_up, START + 90, false), 0);
    assert_int_equal(billing(x, "rsv_13").drawn, 0);
    assert_int_equal(money_verify(x, mark(x)), 0);
    assert_int_equal(pass(x, START + 120), 1);
    assert_int_equal(billing(x, "rsv_13").drawn, 1);
    assert_int_equal(billing(x, "rsv_12").drawn, 1);
    assert_int_equal(money_verify(x, mark(x)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_worked_example, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_catch_up, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_refused_draw, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_refused_first_draw, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_invoiced, setup_invoiced, money_teardown),
        cmocka_unit_test_setup_teardown(test_verify_now, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_confirm_catch_up, setup_balance, money_teardown),
    };
    return cmocka_run_group_tests_name("draws", tests, NULL, NULL);
}
