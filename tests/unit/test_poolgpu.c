/* test_poolgpu.c — unit tests of server/poolgpu.h on a real store (money_fixture.h: node n1,
 * gpu_n1-0 .. 2 dedicated, gpu_n1-3 general; org_a under a contract with a pool rate): the
 * pick (the general GPU; 409 for a dedicated or held one, 404 for none of a model; a hold
 * within the notice takes it, one after it leaves it with free_until); the rolling hold in the
 * store and the calendar alike, a rebuilt calendar finding it again, its release; the clock's
 * pass: the hold moved on, never past a reservation's hold, the warning once that hold is
 * within the notice (withdrawn when that hold goes), the stop at its start, a hold the calendar
 * lost held again, and the stop of a container whose session the metering ended. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "money_fixture.h"
#include "server/containers.h"
#include "server/flow.h"
#include "server/pool.h"
#include "server/poolgpu.h"

#define START   (T0 + HOUR)
#define POOLGPU "gpu_n1-3"
#define NOTICE  600
#define CTR     "ctr_00000000000000c1"

static int setup(void **state)
{
    struct money_fixture *x = money_make(state, AL_TERMS_BALANCE, 0);
    money_topup(x, M(1000), "t1");
    x->srv.pool_notice_s = NOTICE;
    /* n1's agent runs containers: a pool GPU of a node without a runtime is never picked */
    assert_int_equal(al_store_node_runtime_put(x->sf->s, "n1", "process", true, NULL, T0, NULL), 0);
    return 0;
}

/* A unit of work at `now` running fn (which returns 0 or a code), committed when it
 * succeeds; the message of a failure in msg. */
static char msg[AL_ERR_MSG_MAX];

static int unit(struct money_fixture *x, int64_t now, int (*fn)(struct al_ctx *c, void *arg),
                void *arg)
{
    struct al_ctx c = {.srv = &x->srv, .user_id = "usr_1", .now = now};
    assert_int_equal(al_store_begin(x->sf->s, NULL), 0);
    int rc = fn(&c, arg);
    if (rc >= 0)
        assert_int_equal(al_store_commit(x->sf->s, NULL), 0);
    else
        al_store_rollback(x->sf->s);
    snprintf(msg, sizeof msg, "%s", c.err_msg);
    json_decref(c.err_details);
    json_decref(c.resp);
    if (rc < 0 && c.cal_touched)
        money_srv(x, now);
    x->srv.pool_notice_s = NOTICE;
    return rc;
}

struct pick_arg {
    const char *model, *gpu;
    struct al_poolgpu_pick out;
};

static int do_pick(struct al_ctx *c, void *arg)
{
    struct pick_arg *p = arg;
    return al_poolgpu_pick(c, p->model, p->gpu, &p->out);
}

static void test_pick(void **state)
{
    struct money_fixture *x = *state;
    struct pick_arg p = {.model = "H100-80GB"};
    assert_int_equal(unit(x, START, do_pick, &p), 0);
    assert_string_equal(p.out.gpu, POOLGPU);
    assert_string_equal(p.out.node, "n1");
    assert_string_equal(p.out.model, "H100-80GB");
    assert_string_equal(p.out.device, "GPU-n1-3");
    assert_int_equal(p.out.free_until, 0);
    p = (struct pick_arg){.gpu = "gpu_n1-0"};
    assert_int_equal(unit(x, START, do_pick, &p), AL_E_CONFLICT);
    assert_non_null(strstr(msg, "dedicated pool"));
    p = (struct pick_arg){.gpu = "gpu_none"};
    assert_int_equal(unit(x, START, do_pick, &p), AL_E_NOTFOUND);
    p = (struct pick_arg){.model = "A100-80GB"};
    assert_int_equal(unit(x, START, do_pick, &p), AL_E_NOTFOUND);
    assert_non_null(strstr(msg, "A100-80GB"));
    /* a reservation starting inside the notice takes it; one after leaves it, until then */
    money_hold(x, "rsv_00000000000000a1", POOLGPU, START + NOTICE + 100, START + 2 * HOUR);
    p = (struct pick_arg){.model = "H100-80GB"};
    assert_int_equal(unit(x, START, do_pick, &p), 0);
    assert_int_equal(p.out.free_until, START + NOTICE + 100);
    assert_int_equal(unit(x, START + 200, do_pick, &p), AL_E_NOTFOUND);
    p = (struct pick_arg){.gpu = POOLGPU};
    assert_int_equal(unit(x, START + 200, do_pick, &p), AL_E_CONFLICT);
    assert_non_null(strstr(msg, "notice"));
}

static int do_hold(struct al_ctx *c, void *arg)
{
    (void)arg;
    return al_poolgpu_hold(c, CTR, POOLGPU, NULL, -1);
}

static int do_hold2(struct al_ctx *c, void *arg)
{
    (void)arg;
    return al_poolgpu_hold(c, "ctr_00000000000000c2", POOLGPU, NULL, -1);
}

static int do_release(struct al_ctx *c, void *arg)
{
    (void)arg;
    return al_poolgpu_release(c, CTR);
}

/* The pool container's hold in the calendar: its [t0, t1) (1), or 0 when none. */
static int cal_hold(struct money_fixture *x, struct al_hold *h)
{
    uint32_t id;
    if (al_calendar_owner_holds(x->srv.cal->cal, al_cal_owner(CTR), &id, 1) < 1)
        return 0;
    assert_int_equal(al_calendar_get(x->srv.cal->cal, id, h), 0);
    assert_int_equal(h->owner.kind, AL_OWNER_POOL);
    return 1;
}

static int64_t store_end(struct money_fixture *x)
{
    struct al_store_hold q = {.mask = UINT64_MAX, .t0 = 0, .t1 = INT64_MAX}, o;
    snprintf(q.gpu, sizeof q.gpu, POOLGPU);
    snprintf(q.owner, sizeof q.owner, "nobody");
    if (al_store_hold_first_conflict(x->sf->s, &q, START, &o, NULL) != 0)
        return 0;
    assert_string_equal(o.owner, CTR);
    return o.t1;
}

static void test_hold_release(void **state)
{
    struct money_fixture *x = *state;
    struct al_hold h;
    assert_int_equal(unit(x, START, do_hold, NULL), 0);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_true(h.whole && h.t0 == START && h.t1 == START + NOTICE);
    assert_int_equal(store_end(x), START + NOTICE);
    const struct al_gpu *g = al_fleet_gpu(x->srv.cal->fleet, h.gpu);
    assert_true(g->pool_busy);
    /* the GPU is taken: by the pick, by a second hold */
    struct pick_arg p = {.model = "H100-80GB"};
    assert_int_equal(unit(x, START, do_pick, &p), AL_E_NOTFOUND);
    assert_int_equal(unit(x, START, do_hold2, NULL), AL_E_NOFIT);
    assert_non_null(strstr(msg, "held by pool container " CTR));
    /* a restarted server finds it again, busy */
    money_srv(x, START + 10);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_true(al_fleet_gpu(x->srv.cal->fleet, h.gpu)->pool_busy);
    assert_int_equal(unit(x, START + 10, do_release, NULL), 0);
    assert_int_equal(cal_hold(x, &h), 0);
    assert_int_equal(store_end(x), 0);
    assert_false(al_fleet_gpu(x->srv.cal->fleet, h.gpu)->pool_busy);
    assert_int_equal(unit(x, START + 10, do_release, NULL), 0); /* none: fine */
    assert_int_equal(unit(x, START + 10, do_pick, &p), 0);
}

/* A running pool container CTR on POOLGPU with its session and hold, as POST /v1/containers
 * leaves it. */
static int do_start(struct al_ctx *c, void *arg)
{
    struct al_pool_ask a = {"org_a", NULL, POOLGPU, AL_SHARE_PER_GPU};
    struct al_store_pool p;
    (void)arg;
    int rc = al_pool_start(c, &a, &p);
    if (rc)
        return rc;
    json_t *d = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:n},s:s,s:s,s:s,s:s,s:s,s:n,s:I,s:n}", "id",
                          CTR, "org", "org_a", "user", "usr_1", "target", "kind", "pool", "model",
                          "H100-80GB", "profile", "node", "n1", "gpu", POOLGPU, "device",
                          "GPU-n1-3", "state", "running", "desired", "run", "stop_reason",
                          "pool_session", (json_int_t)p.sess.id, "warning");
    struct al_store_container m = {
        CTR, "org_a", "usr_1", NULL, -1, "n1", POOLGPU, "running", (int64_t)p.sess.id, c->now};
    rc = al_store_container_put(c->srv->store, &m, d, true, NULL);
    json_decref(d);
    return rc ? rc : al_poolgpu_hold(c, CTR, POOLGPU, NULL, -1);
}

static int do_pass(struct al_ctx *c, void *arg)
{
    (void)arg;
    return al_poolgpu_pass(c);
}

static int do_meter(struct al_ctx *c, void *arg)
{
    (void)arg;
    int rc = al_pool_meter_pass(c);
    return rc < 0 ? rc : al_poolgpu_pass(c);
}

static json_t *ctr_doc(struct money_fixture *x)
{
    json_t *d = NULL;
    assert_int_equal(al_store_container_get(x->sf->s, CTR, &d, NULL), 0);
    return d;
}

static void test_pass_preempts(void **state)
{
    struct money_fixture *x = *state;
    struct al_hold h;
    const int64_t R = START + 2 * HOUR; /* the reservation's start */
    assert_int_equal(unit(x, START, do_start, NULL), 0);
    /* nothing coming: the hold moves a minute past now + notice whenever it would end sooner
     * than now + notice, so once a minute */
    assert_int_equal(unit(x, START + 30, do_pass, NULL), 1);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_int_equal(h.t1, START + 30 + NOTICE + 60);
    assert_int_equal(unit(x, START + 80, do_pass, NULL), 0);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_int_equal(h.t1, START + 30 + NOTICE + 60);
    assert_int_equal(unit(x, START + 100, do_pass, NULL), 1);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_int_equal(h.t1, START + 100 + NOTICE + 60);
    assert_int_equal(store_end(x), h.t1);
    /* a reservation from R: the hold never passes R, no warning before R - notice */
    money_hold(x, "rsv_00000000000000b2", POOLGPU, R, R + HOUR);
    assert_int_equal(unit(x, R - NOTICE - 30, do_pass, NULL), 1);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_int_equal(h.t1, R);
    assert_int_equal(store_end(x), R);
    json_t *d = ctr_doc(x);
    assert_true(json_is_null(json_object_get(d, "warning")));
    json_decref(d);
    assert_int_equal(money_count(x, "container.warning"), 0);
    /* within the notice: warned once */
    assert_int_equal(unit(x, R - NOTICE + 5, do_pass, NULL), 1);
    assert_int_equal(unit(x, R - 100, do_pass, NULL), 0);
    assert_int_equal(money_count(x, "container.warning"), 1);
    d = ctr_doc(x);
    json_t *w = json_object_get(d, "warning");
    assert_string_equal(jstr(w, "reason"), "preemption");
    assert_int_equal(jtime(w, "stop_at"), R);
    assert_string_equal(jstr(d, "desired"), "run");
    json_decref(d);
    /* at R: stopped, preempted, its session and hold gone */
    assert_int_equal(unit(x, R, do_pass, NULL), 1);
    d = ctr_doc(x);
    assert_string_equal(jstr(d, "desired"), "stop");
    assert_string_equal(jstr(d, "stop_reason"), "preempted");
    assert_string_equal(jstr(d, "state"), "stopping");
    struct al_store_pool p;
    assert_int_equal(
        al_store_pool_get(
            x->sf->s, (uint64_t)json_integer_value(json_object_get(d, "pool_session")), &p, NULL),
        0);
    assert_int_equal(p.stopped_at, R);
    json_decref(d);
    assert_int_equal(cal_hold(x, &h), 0);
    assert_int_equal(money_count(x, "container.stopping"), 1);
    assert_int_equal(unit(x, R + 1, do_pass, NULL), 0); /* stopping: nothing more */
}

/* A warning whose reservation went is withdrawn. */
static void test_pass_unwarns(void **state)
{
    struct money_fixture *x = *state;
    const int64_t R = START + HOUR;
    assert_int_equal(unit(x, START, do_start, NULL), 0);
    money_hold(x, "rsv_00000000000000b3", POOLGPU, R, R + HOUR);
    assert_int_equal(unit(x, R - 100, do_pass, NULL), 2); /* moved to R, warned */
    al_calendar_cancel_owner(x->srv.cal->cal, al_cal_owner("rsv_00000000000000b3"));
    assert_true(al_store_hold_release(x->sf->s, "rsv_00000000000000b3", NULL) >= 0);
    assert_int_equal(unit(x, R - 50, do_pass, NULL), 2); /* moved on, unwarned */
    json_t *d = ctr_doc(x);
    assert_true(json_is_null(json_object_get(d, "warning")));
    assert_string_equal(jstr(d, "desired"), "run");
    json_decref(d);
    assert_int_equal(unit(x, R + 10, do_pass, NULL), 0);
}

/* A pool container whose hold the calendar lost (a server down for longer than the calendar
 * looks back) is held again, or stopped when a reservation is too close. */
static void test_pass_reholds(void **state)
{
    struct money_fixture *x = *state;
    struct al_hold h;
    assert_int_equal(unit(x, START, do_start, NULL), 0);
    al_calendar_cancel_owner(x->srv.cal->cal, al_cal_owner(CTR));
    assert_int_equal(unit(x, START + 10, do_pass, NULL), 1);
    assert_int_equal(cal_hold(x, &h), 1);
    assert_true(h.t0 == START + 10 && h.t1 == START + 10 + NOTICE);
    assert_int_equal(store_end(x), START + 10 + NOTICE);
    al_calendar_cancel_owner(x->srv.cal->cal, al_cal_owner(CTR));
    assert_true(al_store_hold_release(x->sf->s, CTR, NULL) >= 0);
    money_hold(x, "rsv_00000000000000b4", POOLGPU, START + 100, START + HOUR);
    assert_int_equal(unit(x, START + 20, do_pass, NULL), 1);
    json_t *d = ctr_doc(x);
    assert_string_equal(jstr(d, "stop_reason"), "preempted");
    json_decref(d);
    assert_int_equal(cal_hold(x, &h), 0);
}

/* The metering ends a session whose org ran out of funds: the pass stops its container. */
static void test_pass_funds_exhausted(void **state)
{
    struct money_fixture *x = money_make(state, AL_TERMS_BALANCE, 0);
    x->srv.pool_notice_s = NOTICE;
    money_topup(x, M(2) + 500000, "t1"); /* 2.50: one hour at the pool rate */
    assert_int_equal(unit(x, START, do_start, NULL), 0);
    assert_true(unit(x, START + HOUR / 2, do_meter, NULL) >= 0);
    json_t *d = ctr_doc(x);
    assert_string_equal(jstr(d, "desired"), "run");
    json_decref(d);
    assert_true(unit(x, START + HOUR + 60, do_meter, NULL) > 0);
    d = ctr_doc(x);
    assert_string_equal(jstr(d, "desired"), "stop");
    assert_string_equal(jstr(d, "stop_reason"), "funds_exhausted");
    json_decref(d);
    struct al_hold h;
    assert_int_equal(cal_hold(x, &h), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pick, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_hold_release, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_pass_preempts, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_pass_unwarns, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_pass_reholds, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_pass_funds_exhausted, NULL, money_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
