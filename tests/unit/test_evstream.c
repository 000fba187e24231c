/* test_evstream.c — unit tests of the wake-up on committed events (server/evstream.h), which
 * the event streams and the webhook dispatcher wait on: a committed batch holding an event
 * wakes a waiter with a generation past the one it had seen; a batch without events does not
 * (the wait times out with the generation it was given); a write undone after appending an
 * event leaves nothing in the log (a waiter may wake for it: spurious, it reads nothing new);
 * the stop ends every wait at once. On a real
 * server state (al_srv_open: the store, the group commit's committer thread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/call.h"
#include "server/evstream.h"
#include "server/txn.h"
#include "srv_fixture.h"

/* A unit's work: an org.created event of org_a when `event`; then `result` (0: keep, -1:
 * undo). */
struct work {
    bool event;
    int result;
};

static int run_work(struct al_ctx *c, void *arg)
{
    const struct work *w = arg;
    if (w->event && al_event(c, AL_EVENT_ORG_CREATED, "org_a", "org_a", NULL) != 0)
        return -1;
    return w->result;
}

/* One write unit of `w` on the server (back after its batch's commit). */
static int write_unit(struct al_srv *srv, struct work w)
{
    struct al_ctx c = {.srv = srv, .user_id = "test", .now = 1};
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = run_work, .arg = &w};
    int rc = al_txn_run(&c, &u, NULL);
    json_decref(c.err_details);
    json_decref(c.resp);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t events_of_org_a(struct al_srv *srv)
{
    json_t *list = NULL;
    assert_int_equal(al_store_event_list_org(srv->store, "org_a", 0, 100, &list, NULL), 0);
    int64_t n = (int64_t)json_array_size(list);
    json_decref(list);
    return n;
}

static void test_wait_wakes_on_committed_events(void **state)
{
    struct srv_fixture *f = *state;
    /* nothing appended yet: the wait times out with the generation it was given */
    assert_int_equal(al_evstream_wait(&f->srv, 0, 30), 0);
    assert_int_equal(write_unit(&f->srv, (struct work){true, 0}), 0);
    uint64_t g1 = al_evstream_wait(&f->srv, 0, 2000);
    assert_true(g1 > 0);
    assert_int_equal(events_of_org_a(&f->srv), 1);
    /* a batch without events: no wake-up past g1 */
    assert_int_equal(write_unit(&f->srv, (struct work){false, 0}), 0);
    assert_int_equal(al_evstream_wait(&f->srv, g1, 30), g1);
    /* a write undone after its event: nothing appended (the savepoint undid it) */
    assert_int_equal(write_unit(&f->srv, (struct work){true, -1}), -1);
    assert_int_equal(events_of_org_a(&f->srv), 1);
    /* the next event wakes past g1 */
    assert_int_equal(write_unit(&f->srv, (struct work){true, 0}), 0);
    uint64_t g2 = al_evstream_wait(&f->srv, g1, 2000);
    assert_true(g2 > g1);
    assert_int_equal(events_of_org_a(&f->srv), 2);
}

static void test_stop_ends_waits(void **state)
{
    struct srv_fixture *f = *state;
    al_evstream_stop(&f->srv);
    double t0 = now_s();
    assert_int_equal(al_evstream_wait(&f->srv, 7, 5000), 7);
    assert_true(now_s() - t0 < 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_wait_wakes_on_committed_events, srv_fixture_make,
                                        srv_fixture_free),
        cmocka_unit_test_setup_teardown(test_stop_ends_waits, srv_fixture_make, srv_fixture_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
