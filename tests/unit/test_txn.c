/* test_txn.c — unit tests of the group commit's parked units (server/txn.h), the path of an
 * HTTP call whose connection is suspended while its batch is synced: a write parks (suspended
 * first, then resumed once, by the committer, only when its batch is durable) and keeps its
 * result; a write whose batch's COMMIT fails (the store's fault injection) is resumed with the
 * failure, and its change is gone; a snapshot and a read with nothing pending never park; once
 * the server drains, units wait as al_txn_run does. The read gate: while a writer is there,
 * snapshot reads run only on the credits that writers earn them, then park until one leaves;
 * the drain lets them go. Retries (debug builds: the store's RETRY fault stands for a
 * deadlock): a unit that opted in runs again after its batch and answers its second run's
 * answer, its first run's work undone; it gives up after AL_TXN_RETRIES more runs with an
 * error naming the contention; a unit that did not opt in, or that failed otherwise, runs
 * once; a parked one runs again without parking. Those run on PostgreSQL too when
 * AL_PG_CONNINFO names a database (tests/integration/pg_replica.sh). On a real server state
 * (al_srv_open: the store, the committer thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/call.h"
#include "server/txn.h"
#include "store/store.h"
#include "srv_fixture.h"

/* A parked unit as a listener sees it: what its callbacks saw, and a wait for the resume. */
struct parked {
    struct al_srv *srv;
    struct al_txn_park park;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int suspended;
    int resumed;
    bool suspended_first; /* the suspend came before the resume */
    uint64_t committed;   /* the batches finished when it was resumed */
    pthread_t resumer;    /* the thread that resumed it */
};

static void on_suspend(void *arg)
{
    struct parked *p = arg;
    pthread_mutex_lock(&p->mu);
    p->suspended++;
    pthread_mutex_unlock(&p->mu);
}

static void on_resume(void *arg)
{
    struct parked *p = arg;
    pthread_mutex_lock(&p->mu);
    p->suspended_first = p->suspended == 1 && p->resumed == 0;
    p->resumed++;
    p->committed = p->srv->txn.committed; /* the resumer finished the batch: no race */
    p->resumer = pthread_self();
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void parked_init(struct parked *p, struct al_srv *srv)
{
    memset(p, 0, sizeof *p);
    p->srv = srv;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->park = (struct al_txn_park){.suspend = on_suspend, .resume = on_resume, .arg = p};
}

static void parked_wait(struct parked *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->resumed == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

static void parked_destroy(struct parked *p)
{
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* A unit's work: an org.created event of org_a (a change to the store), then `result`. */
static int run_work(struct al_ctx *c, void *arg)
{
    const int *result = arg;
    if (al_event(c, AL_EVENT_ORG_CREATED, "org_a", "org_a", NULL) != 0)
        return -1;
    return *result;
}

static int run_nothing(struct al_ctx *c, void *arg)
{
    (void)c;
    (void)arg;
    return 0;
}

static int64_t events_of_org_a(struct al_srv *srv)
{
    json_t *list = NULL;
    pthread_mutex_lock(&srv->lock);
    assert_int_equal(al_store_event_list_org(srv->store, "org_a", 0, 100, &list, NULL), 0);
    pthread_mutex_unlock(&srv->lock);
    int64_t n = (int64_t)json_array_size(list);
    json_decref(list);
    return n;
}

/* Run `u` parked on `p`; returns whether it parked, its result in *rc when it did not. */
static bool run_parked(struct al_srv *srv, const struct al_txn_unit *u, struct parked *p, int *rc)
{
    struct al_ctx c = {.srv = srv, .user_id = "test", .now = 1};
    bool parked = al_txn_run_parked(&c, u, &p->park, rc, NULL);
    json_decref(c.err_details);
    json_decref(c.resp);
    return parked;
}

/* The units parked and not yet counted out: the resumer counts them out just after their
 * resume, so wait (up to 5 s) for it to reach `want`. */
static unsigned parked_count(struct al_srv *srv, unsigned want)
{
    unsigned n = 0;
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&srv->txn.done_lock);
        n = srv->txn.parked;
        pthread_mutex_unlock(&srv->txn.done_lock);
        if (n == want)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 1000000L}, NULL);
    }
    return n;
}

static void test_write_parks_until_durable(void **state)
{
    struct srv_fixture *f = *state;
    int result = 0, rc = -1;
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &result};
    struct parked p;
    parked_init(&p, &f->srv);
    /* the unit holds the lock from its savepoint to its park: the batch cannot be committed
     * before, so it always parks */
    assert_true(run_parked(&f->srv, &u, &p, &rc));
    parked_wait(&p);
    assert_int_equal(p.suspended, 1);
    assert_int_equal(p.resumed, 1);
    assert_true(p.suspended_first);
    assert_true(p.committed >= p.park.batch);               /* resumed once its batch is durable */
    assert_false(pthread_equal(p.resumer, pthread_self())); /* by the committer */
    assert_int_equal(al_txn_unpark(&p.park, NULL), 0);
    assert_int_equal(events_of_org_a(&f->srv), 1);
    assert_int_equal(parked_count(&f->srv, 0), 0);
    parked_destroy(&p);
}

#ifdef AL_DEBUG
/* The store's fault injection (debug builds) fails the batch's COMMIT. */
static void test_failed_commit_answers_its_error(void **state)
{
    struct srv_fixture *f = *state;
    int result = 0, rc = -1;
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &result};
    struct parked p;
    struct al_err e = {0};
    parked_init(&p, &f->srv);
    pthread_mutex_lock(&f->srv.lock);
    assert_int_equal(al_store_fault_set(f->srv.store, AL_STORE_FAULT_COMMIT, 1, NULL), 0);
    pthread_mutex_unlock(&f->srv.lock);
    assert_true(run_parked(&f->srv, &u, &p, &rc));
    parked_wait(&p);
    assert_int_equal(p.resumed, 1);
    assert_int_equal(p.park.rc, 0); /* the work itself succeeded ... */
    assert_int_equal(p.park.lost, AL_E_DB);
    assert_int_equal(al_txn_unpark(&p.park, &e), AL_E_DB); /* ... and its batch did not */
    assert_non_null(strstr(e.msg, "could not be committed"));
    assert_int_equal(events_of_org_a(&f->srv), 0);
    parked_destroy(&p);
}

#endif

static void test_undone_write_keeps_its_result(void **state)
{
    struct srv_fixture *f = *state;
    int result = AL_E_CONFLICT, rc = 0;
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &result};
    struct parked p;
    parked_init(&p, &f->srv);
    /* the savepoint is undone; the batch it joined is still waited for */
    assert_true(run_parked(&f->srv, &u, &p, &rc));
    parked_wait(&p);
    assert_int_equal(al_txn_unpark(&p.park, NULL), AL_E_CONFLICT);
    assert_int_equal(events_of_org_a(&f->srv), 0);
    parked_destroy(&p);
}

static void test_nothing_pending_never_parks(void **state)
{
    struct srv_fixture *f = *state;
    int rc = -1;
    const struct al_txn_unit snap = {.kind = AL_TXN_SNAPSHOT, .run = run_nothing};
    const struct al_txn_unit read = {.kind = AL_TXN_READ, .run = run_nothing};
    struct parked p;
    parked_init(&p, &f->srv);
    assert_false(run_parked(&f->srv, &snap, &p, &rc));
    assert_int_equal(rc, 0);
    /* no batch was ever opened: the last one (0) is finished */
    rc = -1;
    assert_false(run_parked(&f->srv, &read, &p, &rc));
    assert_int_equal(rc, 0);
    assert_int_equal(p.suspended, 0);
    assert_int_equal(p.resumed, 0);
    parked_destroy(&p);
}

static void test_drained_units_wait(void **state)
{
    struct srv_fixture *f = *state;
    int result = 0, rc = -1;
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &result};
    struct parked p;
    parked_init(&p, &f->srv);
    al_txn_drain(&f->srv); /* nothing parked: returns at once */
    assert_false(run_parked(&f->srv, &u, &p, &rc));
    assert_int_equal(rc, 0);
    assert_int_equal(p.suspended, 0);
    assert_int_equal(events_of_org_a(&f->srv), 1); /* on disk when it returned */
    parked_destroy(&p);
}

/* A unit that holds the server's lock until released: a writer that is there. */
struct blocker {
    struct al_srv *srv;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool inside;
    bool release;
};

static int run_blocked(struct al_ctx *c, void *arg)
{
    struct blocker *b = arg;
    (void)c;
    pthread_mutex_lock(&b->mu);
    b->inside = true;
    pthread_cond_broadcast(&b->cv);
    while (!b->release)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

static void *blocker_main(void *arg)
{
    struct blocker *b = arg;
    struct al_ctx c = {.srv = b->srv, .user_id = "test", .now = 1};
    /* a store read: it holds the lock, as a write does, but not cal_rw, which a snapshot needs */
    const struct al_txn_unit u = {.kind = AL_TXN_READ, .run = run_blocked, .arg = b};
    (void)al_txn_run(&c, &u, NULL);
    return NULL;
}

/* Start a writer and return once it holds the lock. */
static void blocker_start(struct blocker *b, struct al_srv *srv)
{
    memset(b, 0, sizeof *b);
    b->srv = srv;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    assert_int_equal(pthread_create(&b->th, NULL, blocker_main, b), 0);
    pthread_mutex_lock(&b->mu);
    while (!b->inside)
        pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

static void blocker_end(struct blocker *b)
{
    pthread_mutex_lock(&b->mu);
    b->release = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
}

/* While a writer is there, reads run only on the credits that units leaving the lock earned
 * (AL_TXN_READS_PER_WRITE each); the next one parks, and stays parked however long the writer
 * stays; the writer's leaving lets it go, and it then runs. */
static void test_reads_wait_for_writers(void **state)
{
    struct srv_fixture *f = *state;
    int result = 0, rc = -1;
    const struct al_txn_unit w = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &result};
    const struct al_txn_unit snap = {.kind = AL_TXN_SNAPSHOT, .run = run_nothing};
    struct al_ctx c = {.srv = &f->srv, .user_id = "test", .now = 1};
    struct blocker b;
    struct parked p;
    parked_init(&p, &f->srv);
    assert_int_equal(al_txn_run(&c, &w, NULL), 0); /* one unit left the lock: its credits */
    json_decref(c.resp);
    blocker_start(&b, &f->srv);
    for (unsigned i = 0; i < AL_TXN_READS_PER_WRITE; i++) {
        assert_false(run_parked(&f->srv, &snap, &p, &rc));
        assert_int_equal(rc, 0);
    }
    assert_true(run_parked(&f->srv, &snap, &p, &rc)); /* no credit left: parked */
    assert_int_equal(p.suspended, 1);
    assert_true(p.park.gated);
    /* the writer is still there, past the write window: no credit, no wake-up */
    nanosleep(&(struct timespec){.tv_nsec = 2L * AL_TXN_WRITE_WINDOW_US * 1000L}, NULL);
    pthread_mutex_lock(&p.mu);
    assert_int_equal(p.resumed, 0);
    pthread_mutex_unlock(&p.mu);
    blocker_end(&b);
    parked_wait(&p);
    assert_true(p.suspended_first);
    rc = -1;
    assert_false(run_parked(&f->srv, &snap, &p, &rc)); /* resumed: it runs, never parks twice */
    assert_int_equal(rc, 0);
    assert_false(p.park.gated);
    assert_int_equal(p.resumed, 1);
    parked_destroy(&p);
}

/* The stop lets the reads parked by the gate go (libmicrohttpd cannot stop with a suspended
 * connection), and no read parks after it. */
static void test_drain_lets_parked_reads_go(void **state)
{
    struct srv_fixture *f = *state;
    int rc = -1;
    const struct al_txn_unit snap = {.kind = AL_TXN_SNAPSHOT, .run = run_nothing};
    struct blocker b;
    struct parked p, q;
    parked_init(&p, &f->srv);
    parked_init(&q, &f->srv);
    blocker_start(&b, &f->srv);
    /* a fresh server has earned no credit: the first read parks behind the writer */
    assert_true(run_parked(&f->srv, &snap, &p, &rc));
    al_txn_drain(&f->srv);
    parked_wait(&p);
    assert_false(run_parked(&f->srv, &snap, &p, &rc));
    assert_int_equal(rc, 0);
    rc = -1;
    assert_false(run_parked(&f->srv, &snap, &q, &rc)); /* after the drain: runs at once */
    assert_int_equal(rc, 0);
    assert_int_equal(q.suspended, 0);
    blocker_end(&b);
    parked_destroy(&p);
    parked_destroy(&q);
}

/* ---- retries (txn.h: a unit's `again`) ---- */

#ifdef AL_DEBUG
/* A write unit that appends an event (work a failed run leaves undone), then, on its first
 * `fail` runs, meets a "deadlock" (the store's RETRY fault in its next statement) and fails
 * with the store's error; else fails with AL_E_CONFLICT when `conflict`, or answers
 * {"run": its run's number}. */
struct flaky {
    int fail;
    bool conflict;
    int runs, agains;
    uint64_t batch[8]; /* the batch each of the first runs joined */
};

static int run_flaky(struct al_ctx *c, void *arg)
{
    struct flaky *fl = arg;
    struct al_err e = {0};
    json_t *list = NULL;
    if (fl->runs < 8)
        fl->batch[fl->runs] = c->srv->txn.batch;
    fl->runs++;
    if (al_event(c, AL_EVENT_ORG_CREATED, "org_a", "org_a", NULL) != 0)
        return -1;
    if (fl->runs <= fl->fail) {
        int rc;
        if (al_store_fault_set(c->srv->store, AL_STORE_FAULT_RETRY, 1, NULL) != 0)
            return -1;
        rc = al_store_event_list_org(c->srv->store, "org_a", 0, 100, &list, &e);
        json_decref(list);
        if (rc != AL_E_DB || !al_store_retryable(c->srv->store))
            return al_http_fail(c, AL_E_INTERNAL, NULL, "the fault did not fire");
        return al_http_fail_err(c, rc, &e);
    }
    if (fl->conflict)
        return al_http_fail(c, AL_E_CONFLICT, NULL, "taken");
    return al_http_reply(c, 200, json_pack("{s:i}", "run", fl->runs));
}

static void flaky_again(struct al_ctx *c, void *arg)
{
    struct flaky *fl = arg;
    fl->agains++;
    al_http_reset_answer(c);
}

/* Run `u` with al_txn_run; its answer's "run" into *run (0: none), its error's message into
 * msg. Returns al_txn_run's result. */
static int run_answer(struct al_srv *srv, const struct al_txn_unit *u, int *run, char *msg,
                      size_t cap)
{
    struct al_ctx c = {.srv = srv, .user_id = "test", .now = 1};
    int rc = al_txn_run(&c, u, NULL);
    *run = (int)json_integer_value(json_object_get(c.resp, "run"));
    snprintf(msg, cap, "%s", c.err_msg);
    json_decref(c.err_details);
    json_decref(c.resp);
    return rc;
}

static void test_retry_runs_again_after_its_batch(void **state)
{
    struct srv_fixture *f = srv_fixture_of(state);
    struct flaky fl = {.fail = 1};
    const struct al_txn_unit u = {
        .kind = AL_TXN_WRITE, .run = run_flaky, .again = flaky_again, .arg = &fl};
    int64_t before = events_of_org_a(&f->srv);
    int run = 0;
    char msg[256];
    assert_int_equal(run_answer(&f->srv, &u, &run, msg, sizeof msg), 0);
    assert_int_equal(fl.runs, 2);
    assert_int_equal(fl.agains, 1);
    assert_int_equal(run, 2);               /* the answer is the second run's */
    assert_true(fl.batch[1] > fl.batch[0]); /* after the first run's batch had ended */
    assert_int_equal(events_of_org_a(&f->srv), before + 1); /* the first run's event is gone */
}

static void test_retry_gives_up(void **state)
{
    struct srv_fixture *f = srv_fixture_of(state);
    struct flaky fl = {.fail = 100};
    const struct al_txn_unit u = {
        .kind = AL_TXN_WRITE, .run = run_flaky, .again = flaky_again, .arg = &fl};
    int64_t before = events_of_org_a(&f->srv);
    int run = 0;
    char msg[256];
    assert_int_equal(run_answer(&f->srv, &u, &run, msg, sizeof msg), AL_E_DB);
    assert_int_equal(fl.runs, 1 + (int)AL_TXN_RETRIES);
    assert_int_equal(fl.agains, (int)AL_TXN_RETRIES);
    assert_int_equal(run, 0);
    assert_non_null(strstr(msg, "concurrent changes"));
    assert_non_null(strstr(msg, "deadlock")); /* the database's own reason */
    assert_int_equal(events_of_org_a(&f->srv), before);
}

static void test_retry_needs_opt_in(void **state)
{
    struct srv_fixture *f = srv_fixture_of(state);
    struct flaky fl = {.fail = 1};
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_flaky, .arg = &fl};
    int64_t before = events_of_org_a(&f->srv);
    int run = 0;
    char msg[256];
    assert_int_equal(run_answer(&f->srv, &u, &run, msg, sizeof msg), AL_E_DB);
    assert_int_equal(fl.runs, 1);
    assert_non_null(strstr(msg, "deadlock"));
    assert_null(strstr(msg, "concurrent changes"));
    assert_int_equal(events_of_org_a(&f->srv), before);
}

static void test_retry_not_on_other_failures(void **state)
{
    struct srv_fixture *f = srv_fixture_of(state);
    struct flaky first = {.fail = 1}, fl = {.conflict = true};
    const struct al_txn_unit u1 = {.kind = AL_TXN_WRITE, .run = run_flaky, .arg = &first};
    const struct al_txn_unit u = {
        .kind = AL_TXN_WRITE, .run = run_flaky, .again = flaky_again, .arg = &fl};
    int run = 0;
    char msg[256];
    /* a unit that met a deadlock, then one that fails on its own: the flag was the first's */
    assert_int_equal(run_answer(&f->srv, &u1, &run, msg, sizeof msg), AL_E_DB);
    assert_int_equal(run_answer(&f->srv, &u, &run, msg, sizeof msg), AL_E_CONFLICT);
    assert_int_equal(fl.runs, 1);
    assert_int_equal(fl.agains, 0);
}

/* A parked call that meets a deadlock does not park: it runs again and answers at once. */
static void test_retry_of_a_parked_unit(void **state)
{
    struct srv_fixture *f = srv_fixture_of(state);
    struct flaky fl = {.fail = 1};
    const struct al_txn_unit u = {
        .kind = AL_TXN_WRITE, .run = run_flaky, .again = flaky_again, .arg = &fl};
    struct al_ctx c = {.srv = &f->srv, .user_id = "test", .now = 1};
    int64_t before = events_of_org_a(&f->srv);
    struct parked p;
    int rc = -1;
    parked_init(&p, &f->srv);
    assert_false(al_txn_run_parked(&c, &u, &p.park, &rc, NULL));
    assert_int_equal(rc, 0);
    assert_int_equal(p.suspended, 0);
    assert_int_equal(fl.runs, 2);
    assert_int_equal(json_integer_value(json_object_get(c.resp, "run")), 2);
    assert_int_equal(events_of_org_a(&f->srv), before + 1);
    json_decref(c.err_details);
    json_decref(c.resp);
    parked_destroy(&p);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_parks_until_durable, srv_fixture_make,
                                        srv_fixture_free),
#ifdef AL_DEBUG
        cmocka_unit_test_setup_teardown(test_failed_commit_answers_its_error, srv_fixture_make,
                                        srv_fixture_free),
#endif
        cmocka_unit_test_setup_teardown(test_undone_write_keeps_its_result, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_nothing_pending_never_parks, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_drained_units_wait, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_reads_wait_for_writers, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_drain_lets_parked_reads_go, srv_fixture_make,
                                        srv_fixture_free),
#ifdef AL_DEBUG
        /* each on SQLite, then on PostgreSQL when AL_PG_CONNINFO names a database */
        cmocka_unit_test_setup_teardown(test_retry_runs_again_after_its_batch, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_runs_again_after_its_batch, srv_fixture_make_pg,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_gives_up, srv_fixture_make, srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_gives_up, srv_fixture_make_pg, srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_needs_opt_in, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_needs_opt_in, srv_fixture_make_pg,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_not_on_other_failures, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_not_on_other_failures, srv_fixture_make_pg,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_of_a_parked_unit, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_retry_of_a_parked_unit, srv_fixture_make_pg,
                                        srv_fixture_free),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
