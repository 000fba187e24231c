/* test_cal.c — unit tests of server/cal: the in-memory fleet and calendar built from a store
 * (GPU id mapping, holds loaded with their owners and expiry, nodes synced), owner ids, and a
 * GPU's holds and a node reloaded from the store (what another replica wrote); on SQLite or
 * PostgreSQL (store_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/cal.h"
#include "store_fixture.h"

#define NOW 1800000000LL

/* A node with n GPUs of `model`, as the server stores it (the store's read adds ids). */
static json_t *node_json(const char *name, const char *model, int n, int unhealthy)
{
    json_t *gpus = json_array();
    for (int i = 0; i < n; i++) {
        char id[64], uuid[64];
        snprintf(id, sizeof id, "gpu_%s-%d", name, i);
        snprintf(uuid, sizeof uuid, "GPU-%s-%d", name, i);
        json_array_append_new(
            gpus, json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "id", id, "index", i, "uuid",
                            uuid, "model", model, "reported_model", model, "pool", "dedicated",
                            "healthy", i != unhealthy, "drained", 0, "present", 1));
    }
    return json_pack("{s:s,s:s,s:{},s:b,s:o}", "name", name, "zone", "z1", "labels", "online", 1,
                     "gpus", gpus);
}

static void put_node(struct al_store *s, const char *name, const char *model, int n)
{
    json_t *node = node_json(name, model, n, -1);
    assert_int_equal(al_store_node_upsert(s, node, NOW, NULL), 0);
    json_decref(node);
}

/* Store hold `h` over every unit of its GPU (mask), as the server writes them. */
static void hold(struct al_store *s, struct al_store_hold h)
{
    if (strcmp(h.kind, "gpu") == 0)
        h.mask = UINT64_MAX;
    assert_int_equal(al_store_hold_add(s, &h, NULL), 0);
}

static void test_owner_ids(void **state)
{
    (void)state;
    struct al_owner q = al_cal_owner("qte_6b0175120000000a");
    struct al_owner r = al_cal_owner("rsv_6b0175120000000a");
    assert_int_equal(q.kind, AL_OWNER_TENTATIVE);
    assert_int_equal(r.kind, AL_OWNER_RESERVATION);
    assert_true(q.id == r.id && q.id <= AL_OWNER_ID_MAX && q.id != 0);
    assert_true(al_cal_owner("rsv_6b0175120000000b").id != r.id);
}

static void test_build_maps_gpus_and_holds(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    put_node(f->s, "n1", "H100-80GB", 2);
    put_node(f->s, "n2", "A100-80GB", 3);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-1",
                                      .owner = "rsv_0000000100000001",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 100,
                                      .t1 = NOW + 200});
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n2-0",
                                      .owner = "qte_0000000100000002",
                                      .kind = "mig",
                                      .profile = "3g.40gb",
                                      .start_unit = 4,
                                      .mask = 0xf0,
                                      .t0 = NOW + 100,
                                      .t1 = NOW + 200,
                                      .expires_at = NOW + 50});
    /* a hold that ended before the calendar's origin is left out */
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n2-2",
                                      .owner = "rsv_0000000100000003",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW - 5LL * 86400,
                                      .t1 = NOW - 4LL * 86400});
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    assert_int_equal(al_fleet_ngpus(c->fleet), 5);
    int g = al_cal_gpu(c, "gpu_n1-1");
    assert_true(g >= 0);
    assert_string_equal(al_cal_gpu_id(c, (uint32_t)g), "gpu_n1-1");
    assert_string_equal(al_cal_gpu_uuid(c, (uint32_t)g), "GPU-n1-1");
    assert_int_equal(al_cal_gpu(c, "gpu_nope"), -1);
    assert_false(al_calendar_free_during(c->cal, (uint32_t)g, NOW + 150, NOW + 160));
    assert_true(al_calendar_free_during(c->cal, (uint32_t)g, NOW + 200, NOW + 300));
    int m = al_cal_gpu(c, "gpu_n2-0");
    /* the MIG hold takes units 4..7 only */
    assert_int_equal(al_calendar_mask(c->cal, (uint32_t)m, NOW + 100, NOW + 200), 0xf0);
    assert_int_equal(al_calendar_count(c->cal, UINT32_MAX, 0, 0), 2);
    /* the tentative hold goes when it expires */
    assert_int_equal(al_calendar_expire(c->cal, NOW + 50), 1);
    assert_int_equal(al_calendar_mask(c->cal, (uint32_t)m, NOW + 100, NOW + 200), 0);
    al_cal_free(c);
}

/* The calendar's own refusals, as an API user reads them: GPUs by store id, owners by id. */
static void test_messages_name_ids(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    struct al_err e = {0};
    char out[AL_ERR_MSG_MAX];
    const char *rsv = "rsv_0000000100000001", *other = "rsv_0000000100000002";
    const char *ids[] = {other, rsv, NULL};
    put_node(f->s, "n1", "H100-80GB", 2);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-1",
                                      .owner = "rsv_0000000100000001",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 3600,
                                      .t1 = NOW + 7200});
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    int g = al_cal_gpu(c, "gpu_n1-1");
    struct al_hold h = {.gpu = (uint32_t)g,
                        .whole = true,
                        .t0 = NOW + 3000,
                        .t1 = NOW + 4000,
                        .owner = al_cal_owner(other)};
    assert_int_equal(al_calendar_add(c->cal, &h, &e), AL_E_CONFLICT);
    assert_int_equal(al_cal_message(c, e.msg, ids, out, sizeof out), 0);
    assert_string_equal(out, "GPU gpu_n1-1: whole GPU overlaps a hold of reservation "
                             "rsv_0000000100000001 during [2027-01-15T09:00:00Z, "
                             "2027-01-15T10:00:00Z)");
    /* an owner not among ids, a GPU the fleet does not have: left as core wrote them */
    assert_int_equal(al_cal_message(c, e.msg, NULL, out, sizeof out), AL_E_NOTFOUND);
    assert_non_null(strstr(out, "reservation 00000100000001 during"));
    assert_int_equal(
        al_cal_message(c, "GPU 7: busy; gpu 12x, whole GPU, GPU", NULL, out, sizeof out),
        AL_E_NOTFOUND);
    assert_string_equal(out, "GPU 7: busy; gpu 12x, whole GPU, GPU");
    /* an owner with no holds names its full id */
    assert_int_equal(al_calendar_extend_owner(c->cal, al_cal_owner(other), NOW + 9000, &e),
                     AL_E_NOTFOUND);
    assert_int_equal(al_cal_message(c, e.msg, ids, out, sizeof out), 0);
    assert_string_equal(out, "reservation rsv_0000000100000002 has no holds");
    /* a quote's tentative hold is "quote qte_…"; the same hex as a reservation is not it */
    const char *qids[] = {"qte_0000000100000002", NULL};
    assert_int_equal(al_calendar_extend_owner(c->cal, al_cal_owner(qids[0]), NOW + 9000, &e),
                     AL_E_NOTFOUND);
    assert_int_equal(al_cal_message(c, e.msg, ids, out, sizeof out), AL_E_NOTFOUND);
    assert_int_equal(al_cal_message(c, e.msg, qids, out, sizeof out), 0);
    assert_string_equal(out, "quote qte_0000000100000002 has no holds");
    /* truncated to the room given, always terminated */
    assert_int_equal(al_cal_message(c, e.msg, qids, out, 8), 0);
    assert_string_equal(out, "quote q");
    al_cal_free(c);
}

static void test_sync_node(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    put_node(f->s, "n1", "H100-80GB", 2);
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    /* a new node and GPU appear; a GPU reported unhealthy is not usable */
    json_t *n = node_json("n3", "L40S", 2, 1);
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    json_decref(n);
    assert_int_equal(al_fleet_ngpus(c->fleet), 4);
    int g = al_cal_gpu(c, "gpu_n3-1");
    assert_true(g >= 0);
    assert_false(al_fleet_gpu(c->fleet, (uint32_t)g)->healthy);
    /* a GPU no longer listed is absent, never forgotten */
    n = node_json("n3", "L40S", 1, -1);
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    json_decref(n);
    assert_int_equal(al_fleet_ngpus(c->fleet), 4);
    assert_false(al_fleet_gpu(c->fleet, (uint32_t)g)->present);
    assert_false(al_fleet_gpu(c->fleet, (uint32_t)g)->usable);
    assert_true(al_fleet_gpu(c->fleet, (uint32_t)al_cal_gpu(c, "gpu_n3-0"))->usable);
    /* an unknown model is refused */
    n = node_json("n4", "Z9000", 1, -1);
    assert_int_equal(al_cal_sync_node(c, n, NULL), AL_E_INVAL);
    json_decref(n);
    al_cal_free(c);
}

/* Plan `count` whole GPUs of `model` (on one node when same_node) in zone `zone` (NULL: any)
 * over [NOW + 1000, NOW + 2000); returns the planner's code. */
static int plan(struct al_cal *c, const char *model, unsigned count, bool same_node,
                const char *zone)
{
    struct al_request r = {.kind = AL_REQ_WHOLE,
                           .model = al_catalog_find(model),
                           .profile = -1,
                           .count = count,
                           .start = NOW + 1000,
                           .end = NOW + 2000,
                           .where = {.zone = zone, .pool = -1},
                           .same_node = same_node};
    struct al_plan p = {0};
    int rc = al_planner_plan(c->planner, &r, &p, NULL);
    al_plan_clear(&p);
    return rc;
}

/* Set field `k` of GPU i of node JSON `n` to `v` (stolen). */
static void gpu_set(json_t *n, size_t i, const char *k, json_t *v)
{
    json_object_set_new(json_array_get(json_object_get(n, "gpus"), i), k, v);
}

/* What the nodes report reaches the planner at once: zone, liveness, indexes, models. */
static void test_sync_reaches_planner(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    char why[128];
    put_node(f->s, "n1", "A100-80GB", 2);
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    assert_int_equal(plan(c, "A100-80GB", 2, true, "z1"), 0);
    /* zone, and a third GPU, an H100 that served a reservation which ended */
    json_t *n = node_json("n1", "A100-80GB", 3, -1);
    json_object_set_new(n, "zone", json_string("z2"));
    gpu_set(n, 2, "model", json_string("H100-80GB"));
    gpu_set(n, 2, "reported_model", json_string("H100-80GB"));
    assert_int_equal(al_store_node_upsert(f->s, n, NOW, NULL), 0);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-2",
                                      .owner = "rsv_0000000100000009",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW - 100,
                                      .t1 = NOW - 50});
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    assert_int_equal(plan(c, "A100-80GB", 1, false, "z1"), AL_E_NOFIT);
    assert_int_equal(plan(c, "A100-80GB", 2, true, "z2"), 0);
    assert_int_equal(plan(c, "A100-80GB", 3, true, NULL), AL_E_NOFIT);
    al_cal_free(c);
    c = NULL;
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    int g2 = al_cal_gpu(c, "gpu_n1-2");
    assert_true(g2 >= 0);
    assert_int_equal(plan(c, "H100-80GB", 1, false, NULL), 0);
    assert_int_equal(al_calendar_count(c->cal, (uint32_t)g2, INT64_MIN, INT64_MAX), 1);
    /* the H100 is reported as an A100 (its hold ended): its past hold leaves the calendar,
     * and the planner places 3 A100s on the node */
    gpu_set(n, 2, "model", json_string("A100-80GB"));
    gpu_set(n, 2, "reported_model", json_string("A100-80GB"));
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    assert_int_equal(al_calendar_count(c->cal, (uint32_t)g2, INT64_MIN, INT64_MAX), 0);
    assert_int_equal(plan(c, "A100-80GB", 3, true, NULL), 0);
    assert_int_equal(plan(c, "H100-80GB", 1, false, NULL), AL_E_NOFIT);
    assert_int_equal(al_cal_check_gpu(c, "gpu_n1-2", al_catalog_find("H100-80GB"), why, sizeof why),
                     AL_E_NOFIT);
    assert_non_null(strstr(why, "is a A100-80GB now"));
    /* reported as another model while sold: not present, out of planning */
    gpu_set(n, 2, "reported_model", json_string("H100-80GB"));
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    assert_false(al_fleet_gpu(c->fleet, (uint32_t)g2)->usable);
    assert_int_equal(plan(c, "A100-80GB", 3, true, NULL), AL_E_NOFIT);
    assert_int_equal(al_cal_check_gpu(c, "gpu_n1-2", NULL, why, sizeof why), AL_E_NOFIT);
    assert_non_null(strstr(why, "no longer reported"));
    /* indexes swapped: the same GPUs */
    gpu_set(n, 2, "reported_model", json_string("A100-80GB"));
    gpu_set(n, 0, "index", json_integer(1));
    gpu_set(n, 1, "index", json_integer(0));
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    assert_int_equal(al_fleet_gpu(c->fleet, (uint32_t)al_cal_gpu(c, "gpu_n1-0"))->index, 1);
    assert_int_equal(al_fleet_gpu(c->fleet, (uint32_t)al_cal_gpu(c, "gpu_n1-1"))->index, 0);
    assert_int_equal(plan(c, "A100-80GB", 3, true, NULL), 0);
    /* offline: nothing of the node is planned; online again: all of it */
    assert_int_equal(al_cal_node_online(c, "n1", false), 0);
    assert_int_equal(plan(c, "A100-80GB", 1, false, NULL), AL_E_NOFIT);
    assert_int_equal(al_cal_check_gpu(c, "gpu_n1-0", NULL, why, sizeof why), AL_E_NOFIT);
    assert_non_null(strstr(why, "offline"));
    assert_int_equal(al_cal_node_online(c, "n1", true), 0);
    assert_int_equal(al_cal_node_online(c, "n9", true), AL_E_NOTFOUND);
    assert_int_equal(al_cal_check_gpu(c, "gpu_n1-0", al_catalog_find("A100-80GB"), why, sizeof why),
                     0);
    assert_int_equal(al_cal_check_gpu(c, "gpu_nope", NULL, why, sizeof why), AL_E_NOFIT);
    /* the node reports offline from the store too (a rebuild) */
    json_object_set_new(n, "online", json_false());
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    assert_int_equal(plan(c, "A100-80GB", 1, false, NULL), AL_E_NOFIT);
    json_decref(n);
    al_cal_free(c);
}

static void test_many_gpus_map(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    char name[32], id[64];
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "node%03d", i);
        put_node(f->s, name, "A30", 8);
    }
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    assert_int_equal(al_fleet_ngpus(c->fleet), 2400);
    for (int i = 0; i < 300; i += 7)
        for (int k = 0; k < 8; k++) {
            snprintf(id, sizeof id, "gpu_node%03d-%d", i, k);
            int g = al_cal_gpu(c, id);
            assert_true(g >= 0);
            assert_string_equal(al_cal_gpu_id(c, (uint32_t)g), id);
        }
    al_cal_free(c);
}

/* What another replica wrote, brought in: one GPU's holds become the store's live ones (added,
 * gone, expired left out), and a node with its GPUs (a new one with its holds, health). */
static void test_reload(void **state)
{
    struct store_fixture *f = *state;
    struct al_cal *c = NULL;
    put_node(f->s, "n1", "H100-80GB", 2);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-0",
                                      .owner = "rsv_0000000100000001",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 100,
                                      .t1 = NOW + 200});
    assert_int_equal(al_cal_build(f->s, NOW, &c, NULL), 0);
    uint32_t g0 = (uint32_t)al_cal_gpu(c, "gpu_n1-0"), g1 = (uint32_t)al_cal_gpu(c, "gpu_n1-1");
    /* "another replica": the first hold released, two others added, one of them expired */
    assert_true(al_store_hold_release(f->s, "rsv_0000000100000001", NULL) == 1);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-0",
                                      .owner = "rsv_0000000100000002",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 300,
                                      .t1 = NOW + 400});
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-0",
                                      .owner = "qte_0000000100000003",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 500,
                                      .t1 = NOW + 600,
                                      .expires_at = NOW + 5});
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-1",
                                      .owner = "rsv_0000000100000004",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 100,
                                      .t1 = NOW + 200});
    assert_false(al_calendar_free_during(c->cal, g0, NOW + 150, NOW + 160)); /* stale */
    assert_int_equal(al_cal_reload_gpu(c, f->s, "gpu_n1-0", NOW + 10, NULL), 0);
    assert_true(al_calendar_free_during(c->cal, g0, NOW + 150, NOW + 160));
    assert_false(al_calendar_free_during(c->cal, g0, NOW + 350, NOW + 360));
    assert_true(al_calendar_free_during(c->cal, g0, NOW + 550, NOW + 560)); /* expired */
    assert_true(al_calendar_free_during(c->cal, g1, NOW + 150, NOW + 160)); /* not reloaded */
    assert_int_equal(al_cal_reload_gpu(c, f->s, "gpu_nope", NOW + 10, NULL), 0);
    /* the node: a third GPU (with a hold of its own), the second unhealthy now */
    json_t *node = node_json("n1", "H100-80GB", 3, 1);
    assert_int_equal(al_store_node_upsert(f->s, node, NOW, NULL), 0);
    json_decref(node);
    hold(f->s, (struct al_store_hold){.gpu = "gpu_n1-2",
                                      .owner = "rsv_0000000100000005",
                                      .kind = "gpu",
                                      .start_unit = -1,
                                      .t0 = NOW + 100,
                                      .t1 = NOW + 200});
    assert_int_equal(al_cal_reload_node(c, f->s, "n1", NOW + 10, NULL), 0);
    assert_int_equal(al_fleet_ngpus(c->fleet), 3);
    int g2 = al_cal_gpu(c, "gpu_n1-2");
    assert_true(g2 >= 0);
    assert_false(al_calendar_free_during(c->cal, (uint32_t)g2, NOW + 150, NOW + 160));
    assert_false(al_calendar_free_during(c->cal, g1, NOW + 150, NOW + 160));
    assert_false(al_fleet_gpu(c->fleet, g1)->healthy);
    assert_true(al_fleet_gpu(c->fleet, g0)->healthy);
    assert_int_equal(al_cal_reload_node(c, f->s, "n9", NOW + 10, NULL), 0); /* unknown */
    al_cal_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_ids),
        cmocka_unit_test_setup_teardown(test_build_maps_gpus_and_holds, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_messages_name_ids, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_sync_node, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_sync_reaches_planner, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_many_gpus_map, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_reload, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
