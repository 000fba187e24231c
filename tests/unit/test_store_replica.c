/* test_store_replica.c — the store's calls for several replicas (store.h, "replicas") on
 * SQLite, where one server is the only writer: not replicated, the clock always taken, the GPU
 * lock and the change feed without effect, a hold written in its unit exactly as without one,
 * one GPU's live holds (firm, tentative not expired, ending after the start asked), and the
 * deliveries claimed as al_store_delivery_due lists them, nothing leased. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"

static void put_node(struct al_store *s)
{
    json_t *gpus = json_array();
    for (int i = 0; i < 2; i++) {
        char id[32], uuid[32];
        snprintf(id, sizeof id, "gpu_n1-%d", i);
        snprintf(uuid, sizeof uuid, "GPU-%d", i);
        json_array_append_new(gpus, json_pack("{s:s,s:i,s:s,s:s,s:s,s:b}", "id", id, "index", i,
                                              "uuid", uuid, "model", "H100-80GB", "pool",
                                              "dedicated", "healthy", 1));
    }
    json_t *n = json_pack("{s:s,s:s,s:{},s:o}", "name", "n1", "zone", "z1", "labels", "gpus", gpus);
    assert_int_equal(al_store_node_upsert(s, n, 100, NULL), 0);
    json_decref(n);
}

static struct al_store_hold hold(const char *gpu, const char *owner, int64_t t0, int64_t t1,
                                 int64_t expires)
{
    struct al_store_hold h = {.kind = "gpu", .start_unit = -1, .mask = UINT64_MAX, .t0 = t0};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", owner);
    h.t1 = t1;
    h.expires_at = expires;
    return h;
}

static void test_one_writer(void **state)
{
    struct store_fixture *f = *state;
    const char *ids[] = {"gpu_n1-1", "gpu_n1-0", "gpu_n1-1"};
    int64_t h = -1;
    json_t *ch = NULL;
    put_node(f->s);
    assert_false(al_store_replicated(f->s));
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1); /* outside a transaction too */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1);
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1);
    assert_int_equal(al_store_gpu_lock(f->s, ids, 3, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->s, ids, 0, NULL), 0);
    assert_int_equal(al_store_changes_horizon(f->s, &h, NULL), 0);
    assert_int_equal(h, 0);
    struct al_store_hold a = hold("gpu_n1-0", "rsv_a", 10, 20, 0);
    assert_int_equal(al_store_hold_add(f->s, &a, NULL), 0);
    h = 7;
    assert_int_equal(al_store_changes_since(f->s, &h, &ch, NULL), 0);
    assert_int_equal(json_array_size(ch), 0); /* one writer: no feed */
    assert_int_equal(h, 7);
    json_decref(ch);
    assert_int_equal(al_store_changes_prune(f->s, 0, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
}

static void test_gpu_live(void **state)
{
    struct store_fixture *f = *state;
    struct al_store_hold *got = NULL;
    size_t n = 9;
    put_node(f->s);
    struct al_store_hold hs[] = {
        hold("gpu_n1-0", "rsv_late", 300, 400, 0),  hold("gpu_n1-0", "rsv_early", 100, 200, 0),
        hold("gpu_n1-0", "qte_gone", 500, 600, 50), hold("gpu_n1-0", "qte_live", 700, 800, 90),
        hold("gpu_n1-0", "rsv_past", 10, 40, 0),    hold("gpu_n1-1", "rsv_other", 100, 200, 0)};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        assert_int_equal(al_store_hold_add_unit(f->s, &hs[i], NULL), 0);
    /* live at 60 (qte_gone expired at 50), ending after 50 (rsv_past ended at 40), by start */
    assert_int_equal(al_store_hold_gpu_live(f->s, "gpu_n1-0", 50, 60, &got, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].owner, "rsv_early");
    assert_string_equal(got[1].owner, "rsv_late");
    assert_string_equal(got[2].owner, "qte_live");
    assert_int_equal(got[2].expires_at, 90);
    assert_int_equal(got[1].t0, 300);
    assert_int_equal(got[1].t1, 400);
    assert_int_equal(got[1].start_unit, -1);
    assert_true(got[1].mask == UINT64_MAX);
    assert_string_equal(got[1].kind, "gpu");
    free(got);
    assert_int_equal(al_store_hold_gpu_live(f->s, "gpu_nope", 0, 0, &got, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(got);
}

static void test_claim_is_due(void **state)
{
    struct store_fixture *f = *state;
    json_t *claimed = NULL, *due = NULL;
    struct al_store_webhook_new w = {"whk_1",   "usr_op", NULL,  "http://127.0.0.1:9/h",
                                     "[\"*\"]", NULL,     "BOX", 100};
    assert_int_equal(al_store_webhook_insert(f->s, &w, NULL), 0);
    struct al_store_delivery_new d1 = {"whd_a", "whk_1", "org.created", 1, "{}", 10};
    struct al_store_delivery_new d2 = {"whd_b", "whk_1", "org.created", 2, "{}", 20};
    assert_int_equal(al_store_delivery_insert(f->s, &d1, NULL), 0);
    assert_int_equal(al_store_delivery_insert(f->s, &d2, NULL), 0);
    assert_int_equal(al_store_delivery_claim(f->s, 30, 600, 10, &claimed, NULL), 0);
    assert_int_equal(al_store_delivery_due(f->s, 30, 10, &due, NULL), 0);
    assert_true(json_equal(claimed, due));
    assert_int_equal(json_array_size(claimed), 2);
    json_decref(claimed);
    json_decref(due);
    /* nothing leased on SQLite: claimed again, the same */
    assert_int_equal(al_store_delivery_claim(f->s, 30, 600, 1, &claimed, NULL), 0);
    assert_int_equal(json_array_size(claimed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(claimed, 0), "id")),
                        "whd_a");
    json_decref(claimed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_writer, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_gpu_live, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_claim_is_due, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
