/* test_cal.c — unit tests of server/cal: the in-memory fleet and calendar built from a store
 * (GPU id mapping, holds loaded with their owners and expiry, nodes synced), and owner ids. */
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
#include "tmpdir.h"

#define NOW 1800000000LL

struct fixture {
    char dir[64];
    struct al_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[96];
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/al_cal_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    assert_int_equal(al_store_open(path, &f->s, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    al_store_close(f->s);
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* A node with n GPUs of `model`, as the server stores it. */
static json_t *node_json(const char *name, const char *model, int n, int unhealthy)
{
    json_t *gpus = json_array();
    for (int i = 0; i < n; i++) {
        char id[64], uuid[64];
        snprintf(id, sizeof id, "gpu_%s-%d", name, i);
        snprintf(uuid, sizeof uuid, "GPU-%s-%d", name, i);
        json_array_append_new(gpus, json_pack("{s:s,s:i,s:s,s:s,s:s,s:b,s:b}", "id", id, "index", i,
                                              "uuid", uuid, "model", model, "pool", "dedicated",
                                              "healthy", i != unhealthy, "drained", 0));
    }
    return json_pack("{s:s,s:s,s:{},s:o}", "name", name, "zone", "z1", "labels", "gpus", gpus);
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
    struct fixture *f = *state;
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

static void test_sync_node(void **state)
{
    struct fixture *f = *state;
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
    /* a GPU no longer reported is drained, never forgotten */
    n = node_json("n3", "L40S", 1, -1);
    assert_int_equal(al_cal_sync_node(c, n, NULL), 0);
    json_decref(n);
    assert_int_equal(al_fleet_ngpus(c->fleet), 4);
    assert_true(al_fleet_gpu(c->fleet, (uint32_t)g)->drained);
    assert_false(al_fleet_gpu(c->fleet, (uint32_t)al_cal_gpu(c, "gpu_n3-0"))->drained);
    /* an unknown model is refused */
    n = node_json("n4", "Z9000", 1, -1);
    assert_int_equal(al_cal_sync_node(c, n, NULL), AL_E_INVAL);
    json_decref(n);
    al_cal_free(c);
}

static void test_many_gpus_map(void **state)
{
    struct fixture *f = *state;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owner_ids),
        cmocka_unit_test_setup_teardown(test_build_maps_gpus_and_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_gpus_map, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
