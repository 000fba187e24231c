/* test_pool.c — unit tests of the pay-as-you-go pool's metering interface (server/pool.h) on a
 * real store: a start refused without a contract, on a dedicated or unknown GPU, and without
 * one hour of runway (402, the numbers), then allowed with exactly that hour; metering at the
 * contract's pool rate (2.50 per GPU-hour: an hour 2.50, 1,000 s 0.694444, docs/billing.md)
 * up to the whole hour, then to the stop, never twice across a repeated pass, a crash before
 * the commit and a restart; and funds running out: what is left is charged, the rest forgiven,
 * the session stopped (pool.stopped), the cash never below the floor; ledger verify after
 * each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "money_fixture.h"
#include "server/pool.h"

#define START   (T0 + HOUR) /* on a whole hour */
#define POOLGPU "gpu_n1-3"

/* org_a under balance terms without credit, and its member usr_1, who starts the sessions. */
static int setup_balance(void **state)
{
    struct money_fixture *x = money_make(state, AL_TERMS_BALANCE, 0);
    static const uint8_t hash[AL_STORE_HASH_LEN] = {7};
    json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:i}", "id", "usr_1", "name", "alice", "role", "member",
                          "org", "org_a", "created_at", 1000);
    assert_int_equal(al_store_user_insert(x->sf->s, u, hash, NULL), 0);
    json_decref(u);
    return 0;
}

/* Start a whole-GPU session on `gpu` for `org` at `now` in a unit of work of its own, as a
 * route would: its result, and the answer's refusal and message. */
struct start_out {
    int rc;
    int refusal;
    char msg[AL_ERR_MSG_MAX];
    struct al_store_pool p;
};

static struct start_out start(struct money_fixture *x, const char *org, const char *gpu,
                              int64_t share, int64_t now)
{
    struct start_out o = {0};
    struct al_ctx c = {.srv = &x->srv, .user_id = "usr_1", .now = now};
    struct al_pool_ask a = {org, "usr_1", gpu, share};
    assert_int_equal(al_store_begin(x->sf->s, NULL), 0);
    o.rc = al_pool_start(&c, &a, &o.p);
    if (o.rc == 0)
        assert_int_equal(al_store_commit(x->sf->s, NULL), 0);
    else
        al_store_rollback(x->sf->s);
    o.refusal = c.err_refusal;
    if (o.rc)
        fprintf(stderr, "start refused: %s\n", c.err_msg);
    snprintf(o.msg, sizeof o.msg, "%s", c.err_msg);
    json_decref(c.err_details);
    json_decref(c.resp);
    return o;
}

static uint64_t stop_id; /* the session al_pool_stop stops in stop_pass */

static int stop_pass(struct al_ctx *c)
{
    return al_pool_stop(c, stop_id, NULL);
}

static int64_t usage(struct money_fixture *x, uint64_t id, int64_t from)
{
    char key[AL_LEDGER_KEY_MAX];
    struct al_transfer t;
    assert_int_equal(al_ledger_key_pool(key, id, from), 0);
    if (al_store_transfer_get(x->sf->s, key, &t, NULL) != 0)
        return -1;
    assert_true(t.kind == AL_XFER_USAGE && t.debit.kind == AL_ACCT_ORG_CASH);
    return t.amount;
}

static struct al_store_pool session(struct money_fixture *x, uint64_t id)
{
    struct al_store_pool p;
    assert_int_equal(al_store_pool_get(x->sf->s, id, &p, NULL), 0);
    return p;
}

/* Each refusal with its reason; one hour of runway is exactly enough. */
static void test_start_refused(void **state)
{
    struct money_fixture *x = *state;
    json_t *o = json_pack("{s:s,s:s,s:n,s:n,s:i}", "id", "org_b", "name", "org_b", "customer_code",
                          "display_name", "created_at", 1000);
    assert_int_equal(al_store_org_insert(x->sf->s, o, NULL), 0);
    json_decref(o);
    money_topup(x, M(2) + 499999, "t1"); /* 2.499999: a micro-unit short of an hour */
    struct start_out r = start(x, "org_b", POOLGPU, AL_SHARE_PER_GPU, START);
    assert_true(r.rc == AL_E_STATE && strstr(r.msg, "no contract in force"));
    r = start(x, "org_a", "gpu_n1-0", AL_SHARE_PER_GPU, START);
    assert_true(r.rc == AL_E_CONFLICT && strstr(r.msg, "dedicated pool"));
    r = start(x, "org_a", "gpu_none", AL_SHARE_PER_GPU, START);
    assert_int_equal(r.rc, AL_E_NOTFOUND);
    r = start(x, "org_a", POOLGPU, 0, START);
    assert_int_equal(r.rc, AL_E_INVAL);
    r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU + 1, START);
    assert_int_equal(r.rc, AL_E_INVAL);
    r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU, START);
    assert_true(r.rc == AL_E_PAYMENT && r.refusal == AL_REFUSAL_BALANCE);
    assert_non_null(strstr(r.msg, "one hour of runway"));
    assert_non_null(strstr(r.msg, "2.50")); /* asked */
    assert_int_equal(money_count(x, "pool.started"), 0);
    money_topup(x, 1, "t2"); /* 2.50: the hour is covered */
    r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU, START);
    assert_int_equal(r.rc, 0);
    assert_true(r.p.sess.id > 0 && r.p.sess.rate == 2500000 && r.p.sess.start == START &&
                r.p.contract_id == x->k.id && r.p.stopped_at == 0);
    assert_string_equal(r.p.user, "usr_1");
    /* a second one needs two hours of runway */
    r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU / 2, START);
    assert_true(r.rc == AL_E_PAYMENT && r.refusal == AL_REFUSAL_BALANCE);
    assert_int_equal(money_count(x, "pool.started"), 1);
    assert_int_equal(money_verify(x, START), 0);
}

/* Metered to the whole hour by the clock, to the stop by al_pool_stop: 2.50 + 0.694444 =
 * 3.194444 = U(4,600 s), each piece once. */
static void test_metering(void **state)
{
    struct money_fixture *x = *state;
    money_topup(x, M(100), "t1");
    struct start_out r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU, START);
    assert_int_equal(r.rc, 0);
    uint64_t id = r.p.sess.id;
    assert_int_equal(money_run(x, al_pool_meter_pass, START + 1000, false), 0); /* no hour yet */
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(100));
    /* a crash before the commit: nothing stays, and the next pass charges the hour once */
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 5, true), 1);
    assert_true(usage(x, id, START) == -1 && session(x, id).sess.metered_to == START);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 5, false), 1);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 5, false), 0);
    assert_true(usage(x, id, START) == 2500000 && session(x, id).sess.metered_to == START + HOUR);
    money_reopen(x, START + HOUR + 10);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 10, false), 0);
    stop_id = id;
    assert_int_equal(money_run(x, stop_pass, START + HOUR + 1000, false), 0);
    assert_true(usage(x, id, START + HOUR) == 694444);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(100) - 3194444);
    struct al_store_pool p = session(x, id);
    assert_true(p.stopped_at == START + HOUR + 1000 && p.sess.metered_to == START + HOUR + 1000);
    json_t *ev = money_events(x, "pool.stopped");
    assert_int_equal(json_array_size(ev), 1);
    json_t *d = json_object_get(json_array_get(ev, 0), "data");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "stopped");
    assert_true(json_integer_value(json_object_get(d, "charged_micros")) == 694444 &&
                json_integer_value(json_object_get(d, "forgiven_micros")) == 0);
    json_decref(ev);
    /* stopped once; the clock meters it no more */
    assert_int_equal(money_run(x, stop_pass, START + 2 * HOUR, false), AL_E_STATE);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + 3 * HOUR, false), 0);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(100) - 3194444);
    assert_int_equal(money_verify(x, START + 3 * HOUR), 0);
}

/* 3.00 of cash, no credit: the first hour (2.50) is charged; 1,000 s later the use since
 * (0.694444) is more than the 0.50 left, so 0.50 is charged, 0.194444 forgiven, and the
 * session stops there; the cash ends at exactly 0. */
static void test_funds_exhausted(void **state)
{
    struct money_fixture *x = *state;
    money_topup(x, M(3), "t1");
    struct start_out r = start(x, "org_a", POOLGPU, AL_SHARE_PER_GPU, START);
    assert_int_equal(r.rc, 0);
    uint64_t id = r.p.sess.id;
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR, false), 1);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(3) - 2500000);
    /* 0.50 left lasts 720 s: not out at +500 s (nothing metered before the next hour) */
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 500, false), 0);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + HOUR + 1000, false), 2);
    assert_true(usage(x, id, START + HOUR) == 500000);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == 0);
    struct al_store_pool p = session(x, id);
    assert_true(p.stopped_at == START + HOUR + 1000);
    json_t *ev = money_events(x, "pool.stopped");
    assert_int_equal(json_array_size(ev), 1);
    json_t *d = json_object_get(json_array_get(ev, 0), "data");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "funds_exhausted");
    assert_true(json_integer_value(json_object_get(d, "charged_micros")) == 500000 &&
                json_integer_value(json_object_get(d, "forgiven_micros")) == 194444);
    json_decref(ev);
    assert_int_equal(money_run(x, al_pool_meter_pass, START + 2 * HOUR, false), 0);
    assert_int_equal(money_verify(x, START + 2 * HOUR), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_refused, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_metering, setup_balance, money_teardown),
        cmocka_unit_test_setup_teardown(test_funds_exhausted, setup_balance, money_teardown),
    };
    return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}
