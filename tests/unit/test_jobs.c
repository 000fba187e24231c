/* test_jobs.c — unit tests of the clock's tick (server/jobs.h) as the server runs it: one unit
 * of work through the group commit (its committer thread), at the time of a test clock file.
 * The money passes ride on it: a balance reservation that begins is started and its first
 * period drawn in the same tick, later periods by later ticks, each once; a pool session is
 * metered at the whole hour; ledger verify at the draw pass's mark passes after each tick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "money_fixture.h"
#include "server/draws.h"
#include "server/flow.h"
#include "server/jobs.h"
#include "server/pool.h"

#define START (T0 + HOUR)

struct clock {
    struct money_fixture *x;
    char path[128];
};

/* Set the test clock to `t`. */
static void clock_set(struct clock *k, int64_t t)
{
    FILE *f = fopen(k->path, "w");
    assert_non_null(f);
    fprintf(f, "%lld\n", (long long)t);
    assert_int_equal(fclose(f), 0);
}

/* The server's locks and committer around the fixture's store, on the test clock. */
static void server_up(struct clock *k)
{
    struct al_srv *srv = &k->x->srv;
    snprintf(k->path, sizeof k->path, "%s/clock", k->x->sf->dir);
    srv->clock_file = k->path;
    srv->heartbeat_timeout_s = 365 * 24 * HOUR; /* node n1 stays online */
    pthread_mutex_init(&srv->lock, NULL);
    pthread_rwlock_init(&srv->cal_rw, NULL);
    al_txn_init(srv);
    assert_int_equal(al_txn_start(srv, NULL), 0);
}

static void server_down(struct clock *k)
{
    struct al_srv *srv = &k->x->srv;
    al_txn_stop(srv);
    al_txn_destroy(srv);
    pthread_rwlock_destroy(&srv->cal_rw);
    pthread_mutex_destroy(&srv->lock);
}

/* A scheduled balance reservation over [START, START + 2 h 30 min 10 s) on gpu_n1-0 (the
 * worked example's lines: 6 compute slices at 5.123457). */
static void scheduled(struct money_fixture *x)
{
    char a[32], b[32];
    int64_t end = START + 9010;
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", "rsv_12", "org", "org_a", "state", "scheduled",
                  "start", al_time_fmt(START, a, sizeof a), "end", al_time_fmt(end, b, sizeof b));
    struct al_store_doc_meta m = {"rsv_12", "org_a", "scheduled", START, end};
    struct al_store_hold h = {.gpu = "gpu_n1-0",
                              .owner = "rsv_12",
                              .kind = "gpu",
                              .start_unit = -1,
                              .mask = UINT64_MAX,
                              .t0 = START,
                              .t1 = end};
    struct al_res_billing r = {.org = x->org,
                               .contract_id = x->k.id,
                               .contract_version = x->k.version,
                               .start = START,
                               .end = end,
                               .share = 23760,
                               .nlines = 1,
                               .lines = {{"3g.40gb slice-hour", AL_PRICE_SLICE_HOUR, 6, 5123457}}};
    assert_int_equal(al_store_reservation_put(x->sf->s, &m, doc, true, NULL), 0);
    json_decref(doc);
    assert_int_equal(al_store_hold_add(x->sf->s, &h, NULL), 0);
    assert_int_equal(al_store_billing_insert(x->sf->s, "rsv_12", &r, NULL), 0);
    money_srv(x, T0);
}

static const char *state_of(struct money_fixture *x)
{
    static char st[16];
    json_t *r = NULL;
    assert_int_equal(al_store_reservation_get(x->sf->s, "rsv_12", &r, NULL), 0);
    snprintf(st, sizeof st, "%s", jstr(r, "state"));
    json_decref(r);
    return st;
}

static int64_t verify_at_mark(struct money_fixture *x)
{
    int64_t at = 0;
    assert_int_equal(al_store_mark_get(x->sf->s, AL_DRAWS_MARK, &at, NULL), 0);
    return (int64_t)money_verify(x, at);
}

static int setup(void **state)
{
    money_make(state, AL_TERMS_BALANCE, 0);
    return 0;
}

static void test_tick_draws(void **state)
{
    struct money_fixture *x = *state;
    struct clock k = {x, ""};
    money_topup(x, M(1000), "t1");
    scheduled(x);
    server_up(&k);
    clock_set(&k, START - 1);
    assert_int_equal(al_jobs_tick(&x->srv), 0);
    assert_string_equal(state_of(x), "scheduled");
    /* the start and draw 0 in one tick */
    clock_set(&k, START);
    assert_int_equal(al_jobs_tick(&x->srv), 2);
    assert_string_equal(state_of(x), "active");
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) - 30740742);
    assert_int_equal(al_jobs_tick(&x->srv), 0); /* the same time again: nothing */
    assert_int_equal(verify_at_mark(x), 0);
    clock_set(&k, START + 2 * HOUR);
    assert_int_equal(al_jobs_tick(&x->srv), 2); /* draws 1 and 2 */
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) - 76937245);
    clock_set(&k, START + 3 * HOUR);
    assert_int_equal(al_jobs_tick(&x->srv), 1); /* the end */
    assert_string_equal(state_of(x), "ended");
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(1000) - 76937245);
    assert_int_equal(verify_at_mark(x), 0);
    server_down(&k);
}

/* A pool session started at START is metered by the tick at the whole hour: 2.50. */
static void test_tick_pool(void **state)
{
    struct money_fixture *x = *state;
    struct clock k = {x, ""};
    struct al_store_pool p;
    money_topup(x, M(10), "t1");
    struct al_ctx c = {.srv = &x->srv, .user_id = "clock", .now = START};
    struct al_pool_ask a = {"org_a", NULL, "gpu_n1-3", AL_SHARE_PER_GPU};
    assert_int_equal(al_store_begin(x->sf->s, NULL), 0);
    assert_int_equal(al_pool_start(&c, &a, &p), 0);
    assert_int_equal(al_store_commit(x->sf->s, NULL), 0);
    server_up(&k);
    clock_set(&k, START + HOUR - 1);
    assert_int_equal(al_jobs_tick(&x->srv), 0);
    clock_set(&k, START + HOUR + 1);
    assert_int_equal(al_jobs_tick(&x->srv), 1);
    assert_int_equal(al_jobs_tick(&x->srv), 0);
    assert_true(money_balance(x, AL_ACCT_ORG_CASH) == M(10) - 2500000);
    assert_int_equal(verify_at_mark(x), 0);
    server_down(&k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tick_draws, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_tick_pool, setup, money_teardown),
    };
    return cmocka_run_group_tests_name("jobs", tests, NULL, NULL);
}
