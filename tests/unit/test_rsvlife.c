/* test_rsvlife.c — unit tests of server/rsvlife.h's GPU failure pass on a real store
 * (money_fixture.h: node n1, gpu_n1-0 .. 2 dedicated, gpu_n1-3 general): a reservation's
 * whole GPU reported unhealthy moves to a free spare, a dedicated one before the general pool
 * (the general pool when no dedicated one is free), never to a GPU held during the rest of its
 * window, in the store's holds and the calendar alike
 * (a rebuilt calendar agrees); with no spare left the reservation is degraded once (a
 * reservation confirmed before charges: nothing to credit), and a later pass leaves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "money_fixture.h"
#include "server/flow.h"
#include "server/rsvlife.h"

#define RSV   "rsv_00000000000000b1"
#define OTHER "rsv_00000000000000b2"
#define START (T0 + HOUR)
#define END   (T0 + 5 * HOUR)

static int setup(void **state)
{
    money_make(state, AL_TERMS_PREPAID, 0);
    return 0;
}

/* Reservation RSV: one whole H100-80GB on gpu_n1-0 over [START, END), active, its hold. */
static void reservation(struct money_fixture *x)
{
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:[{s:s,s:s,s:s,s:s}]}", "id", RSV,
                          "org", "org_a", "state", "active", "start", "2026-01-01T01:00:00Z", "end",
                          "2026-01-01T05:00:00Z", "kind", "gpu", "model", "H100-80GB", "count", 1,
                          "allocations", "node", "n1", "gpu", "gpu_n1-0", "gpu_uuid", "GPU-n1-0",
                          "kind", "gpu");
    struct al_store_doc_meta m = {RSV, "org_a", "active", START, END};
    assert_int_equal(al_store_reservation_put(x->sf->s, &m, r, true, NULL), 0);
    json_decref(r);
    money_hold(x, RSV, "gpu_n1-0", START, END);
}

static void unhealthy(struct money_fixture *x, const char *gpu)
{
    assert_int_equal(
        al_fleet_set_healthy(x->srv.cal->fleet, (uint32_t)al_cal_gpu(x->srv.cal, gpu), false), 0);
}

static json_t *rsv_get(struct money_fixture *x)
{
    json_t *r = NULL;
    assert_int_equal(al_store_reservation_get(x->sf->s, RSV, &r, NULL), 0);
    return r;
}

/* The GPUs of the store's holds of RSV, joined by '+' into arg (200 bytes). */
static int hold_gpu(void *arg, const struct al_store_hold *h)
{
    char *out = arg;
    size_t n = strlen(out);
    if (strcmp(h->owner, RSV) == 0)
        snprintf(out + n, 200 - n, "%s%s", n ? "+" : "", h->gpu);
    return 0;
}

static void test_spare_dedicated_first(void **state)
{
    struct money_fixture *x = *state;
    char gpu[200] = "";
    reservation(x);
    money_hold(x, OTHER, "gpu_n1-1", START + 2 * HOUR,
               START + 3 * HOUR); /* n1-1 busy in the window */
    unhealthy(x, "gpu_n1-0");
    assert_int_equal(money_run(x, al_rsvlife_pass, START + HOUR, false), 1);
    json_t *r = rsv_get(x);
    json_t *a = json_array_get(json_object_get(r, "allocations"), 0);
    /* n1-1 is held later in the window, n1-3 is the general pool: n1-2 */
    assert_string_equal(json_string_value(json_object_get(a, "gpu")), "gpu_n1-2");
    assert_string_equal(json_string_value(json_object_get(a, "gpu_uuid")), "GPU-n1-2");
    assert_int_equal(json_array_size(json_object_get(r, "replacements")), 1);
    json_decref(r);
    assert_int_equal(money_count(x, "reservation.gpu_replaced"), 1);
    /* the store's hold moved, from now on; the calendar agrees, rebuilt or not */
    assert_int_equal(al_store_hold_each(x->sf->s, START, END, START + HOUR, hold_gpu, gpu, NULL),
                     0);
    assert_string_equal(gpu, "gpu_n1-2");
    uint32_t g2 = (uint32_t)al_cal_gpu(x->srv.cal, "gpu_n1-2");
    uint32_t g0 = (uint32_t)al_cal_gpu(x->srv.cal, "gpu_n1-0");
    assert_false(al_calendar_free_during(x->srv.cal->cal, g2, START + HOUR, END));
    assert_true(al_calendar_free_during(x->srv.cal->cal, g0, START + HOUR, END));
    money_srv(x, START + HOUR);
    assert_false(al_calendar_free_during(x->srv.cal->cal, g2, START + HOUR, END));
    /* the next pass finds nothing to do: n1-0 holds nothing of it any more */
    unhealthy(x, "gpu_n1-0");
    assert_int_equal(money_run(x, al_rsvlife_pass, START + HOUR + 1, false), 0);
}

static void test_spare_general(void **state)
{
    struct money_fixture *x = *state;
    reservation(x);
    money_hold(x, OTHER, "gpu_n1-1", START, END);
    money_hold(x, OTHER, "gpu_n1-2", END - 60,
               END); /* a minute of the window is enough to rule it out */
    unhealthy(x, "gpu_n1-0");
    assert_int_equal(money_run(x, al_rsvlife_pass, START + HOUR, false), 1);
    json_t *r = rsv_get(x);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "allocations"), 0), "gpu")),
                        "gpu_n1-3");
    json_decref(r);
}

static void test_no_spare_degraded(void **state)
{
    struct money_fixture *x = *state;
    reservation(x);
    money_hold(x, OTHER, "gpu_n1-1", START, END);
    money_hold(x, OTHER, "gpu_n1-2", START + 3 * HOUR, END);
    money_hold(x, OTHER, "gpu_n1-3", START, START + 2 * HOUR);
    unhealthy(x, "gpu_n1-0");
    assert_int_equal(money_run(x, al_rsvlife_pass, START + HOUR, false), 1);
    json_t *r = rsv_get(x);
    json_t *g = json_object_get(r, "degraded");
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "since")), "2026-01-01T02:00:00Z");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(g, "units"), 0)), 0);
    assert_int_equal(json_integer_value(json_object_get(g, "credited_micros")), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(r, "allocations"), 0), "gpu")),
                        "gpu_n1-0");
    json_decref(r);
    assert_int_equal(money_count(x, "reservation.degraded"), 1);
    /* once: a later pass leaves a degraded unit */
    assert_int_equal(money_run(x, al_rsvlife_pass, START + 2 * HOUR, false), 0);
    assert_int_equal(money_count(x, "reservation.degraded"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spare_dedicated_first, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_spare_general, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_no_spare_degraded, setup, money_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
