/* test_fleet.c — unit tests of core/fleet: ids, lookups, validation, bitsets, labels, MIG state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/fleet.h"
#include "core/layout.h"

static bool bit(const uint64_t *bits, uint32_t g)
{
    return bits && (bits[g / 64] >> (g % 64)) & 1u;
}

static void test_dense_ids_and_lookups(void **state)
{
    (void)state;
    struct al_fleet *f = al_fleet_new();
    const struct al_gpu_model *h100 = al_catalog_find("H100-80GB");
    const struct al_gpu_model *l40s = al_catalog_find("L40S-48GB");
    assert_non_null(f);
    assert_int_equal(al_fleet_add_node(f, "n0", "z1", "rack=a,ib", NULL, NULL), 0);
    assert_int_equal(al_fleet_add_node(f, "n1", NULL, NULL, NULL, NULL), 1);
    for (unsigned i = 0; i < 8; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-n0-%u", i);
        assert_int_equal(al_fleet_add_gpu(f, 0, h100, i, uuid, AL_POOL_GENERAL, NULL), (int)i);
    }
    assert_int_equal(al_fleet_add_gpu(f, 1, l40s, 0, "GPU-n1-0", AL_POOL_DEDICATED, NULL), 8);
    assert_int_equal(al_fleet_ngpus(f), 9);
    assert_int_equal(al_fleet_nnodes(f), 2);
    assert_int_equal(al_fleet_find_node(f, "n1"), 1);
    assert_int_equal(al_fleet_find_node(f, "nope"), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_find_gpu(f, "GPU-n0-5"), 5);
    assert_int_equal(al_fleet_find_gpu(f, "GPU-x"), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_node(f, 0)->ngpus, 8);
    assert_int_equal(al_fleet_gpu(f, 8)->node, 1);
    assert_ptr_equal(al_fleet_gpu(f, 3)->model, h100);
    assert_null(al_fleet_gpu(f, 9));
    assert_null(al_fleet_node(f, 2));
    al_fleet_free(f);
}

static void test_rejects_bad_input(void **state)
{
    (void)state;
    struct al_fleet *f = al_fleet_new();
    const struct al_gpu_model *h100 = al_catalog_find("H100-80GB");
    char big[AL_FLEET_NAME_MAX + 8];
    struct al_change_window bad = {.days = 1, .start_min = 1440, .len_min = 60};
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(al_fleet_add_node(f, "", NULL, NULL, NULL, NULL), AL_E_INVAL);
    assert_int_equal(al_fleet_add_node(f, big, NULL, NULL, NULL, NULL), AL_E_INVAL);
    assert_int_equal(al_fleet_add_node(f, "n0", NULL, NULL, &bad, NULL), AL_E_INVAL);
    assert_int_equal(al_fleet_add_node(f, "n0", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(al_fleet_add_node(f, "n0", NULL, NULL, NULL, NULL), AL_E_CONFLICT);
    assert_int_equal(al_fleet_add_gpu(f, 7, h100, 0, NULL, AL_POOL_GENERAL, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_add_gpu(f, 0, h100, 0, "GPU-a", AL_POOL_GENERAL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(f, 0, h100, 0, "GPU-b", AL_POOL_GENERAL, NULL),
                     AL_E_CONFLICT); /* same index on the node */
    assert_int_equal(al_fleet_add_gpu(f, 0, h100, 1, "GPU-a", AL_POOL_GENERAL, NULL),
                     AL_E_CONFLICT); /* same uuid */
    assert_int_equal(al_fleet_ngpus(f), 1);
    al_fleet_free(f);
}

static void test_bitsets_follow_state(void **state)
{
    (void)state;
    struct al_fleet *f = al_fleet_new();
    const struct al_gpu_model *h100 = al_catalog_find("H100-80GB");
    const struct al_gpu_model *a30 = al_catalog_find("A30-24GB");
    assert_int_equal(al_fleet_add_node(f, "n", NULL, NULL, NULL, NULL), 0);
    for (unsigned i = 0; i < 70; i++) /* crosses a 64-bit word */
        assert_true(al_fleet_add_gpu(f, 0, i % 2 ? a30 : h100, i, NULL,
                                     i < 35 ? AL_POOL_GENERAL : AL_POOL_DEDICATED, NULL) >= 0);
    assert_int_equal(al_fleet_nmodels(f), 2);
    int sh = al_fleet_model_slot(f, h100), sa = al_fleet_model_slot(f, a30);
    assert_true(sh >= 0 && sa >= 0 && sh != sa);
    assert_int_equal(al_fleet_model_slot(f, al_catalog_find("L4-24GB")), -1);
    assert_int_equal(al_fleet_words(f), 2);
    for (uint32_t g = 0; g < 70; g++) {
        assert_int_equal(bit(al_fleet_model_bits(f, (unsigned)sh), g), g % 2 == 0);
        assert_int_equal(bit(al_fleet_model_bits(f, (unsigned)sa), g), g % 2 == 1);
        assert_int_equal(bit(al_fleet_pool_bits(f, AL_POOL_DEDICATED), g), g >= 35);
        assert_true(bit(al_fleet_usable_bits(f), g));
    }
    assert_int_equal(al_fleet_set_drained(f, 66, true), 0);
    assert_int_equal(al_fleet_set_healthy(f, 3, false), 0);
    assert_int_equal(al_fleet_set_pool(f, 66, AL_POOL_GENERAL), 0);
    assert_false(bit(al_fleet_usable_bits(f), 66));
    assert_false(bit(al_fleet_usable_bits(f), 3));
    assert_true(bit(al_fleet_pool_bits(f, AL_POOL_GENERAL), 66));
    assert_false(bit(al_fleet_pool_bits(f, AL_POOL_DEDICATED), 66));
    assert_int_equal(al_fleet_set_drained(f, 66, false), 0);
    assert_true(bit(al_fleet_usable_bits(f), 66));
    assert_int_equal(al_fleet_set_drained(f, 70, true), AL_E_NOTFOUND);
    al_fleet_free(f);
}

static void test_mig_state_checks_model(void **state)
{
    (void)state;
    struct al_fleet *f = al_fleet_new();
    const struct al_gpu_model *h100 = al_catalog_find("H100-80GB");
    const struct al_gpu_model *a30 = al_catalog_find("A30-24GB");
    const struct al_gpu_model *l4 = al_catalog_find("L4-24GB");
    struct al_layout lay, other;
    assert_int_equal(al_fleet_add_node(f, "n", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(f, 0, h100, 0, NULL, AL_POOL_GENERAL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(f, 0, l4, 1, NULL, AL_POOL_GENERAL, NULL), 1);
    assert_int_equal(al_layout_parse(h100, "3g.40gb@0,3g.40gb@4", &lay, NULL), 0);
    assert_int_equal(al_layout_parse(a30, "4g.24gb@0", &other, NULL), 0);
    assert_int_equal(al_fleet_set_mig(f, 0, true, &lay), 0);
    assert_true(al_fleet_gpu(f, 0)->mig_mode);
    assert_int_equal(al_fleet_gpu(f, 0)->layout.n, 2);
    assert_int_equal(al_fleet_set_mig(f, 0, true, &other), AL_E_INVAL); /* wrong model */
    assert_int_equal(al_fleet_set_mig(f, 1, true, NULL), AL_E_INVAL);   /* L4 has no MIG */
    assert_int_equal(al_fleet_set_mig(f, 0, false, NULL), 0);
    assert_int_equal(al_fleet_gpu(f, 0)->layout.n, 0);
    al_fleet_free(f);
}

/* What the agents' heartbeats change: a GPU no longer reported, a node gone silent, a GPU
 * reported under another index or as another model, a node in another zone. */
static void test_inventory_changes(void **state)
{
    (void)state;
    struct al_fleet *f = al_fleet_new();
    const struct al_gpu_model *h100 = al_catalog_find("H100-80GB");
    const struct al_gpu_model *a100 = al_catalog_find("A100-80GB");
    struct al_layout lay;
    struct al_err e = {0};
    assert_int_equal(al_fleet_add_node(f, "n0", "z1", NULL, NULL, NULL), 0);
    assert_int_equal(al_fleet_add_node(f, "n1", "z1", NULL, NULL, NULL), 1);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(al_fleet_add_gpu(f, i / 2, a100, i % 2, NULL, AL_POOL_GENERAL, NULL),
                         (int)i);
    uint64_t shape = al_fleet_shape(f);
    /* absent: out of the usable set, its index free for another GPU, back when reported */
    assert_int_equal(al_fleet_set_present(f, 1, false), 0);
    assert_false(bit(al_fleet_usable_bits(f), 1));
    assert_false(al_fleet_gpu(f, 1)->usable);
    assert_int_equal(al_fleet_add_gpu(f, 0, a100, 1, NULL, AL_POOL_GENERAL, NULL), 4);
    assert_int_equal(al_fleet_set_present(f, 1, true), AL_E_CONFLICT); /* 4 has its index */
    assert_int_equal(al_fleet_set_index(f, 1, 2), 0);
    assert_int_equal(al_fleet_set_present(f, 1, true), 0);
    assert_true(al_fleet_gpu(f, 1)->usable);
    assert_true(bit(al_fleet_usable_bits(f), 1));
    assert_int_equal(al_fleet_set_present(f, 9, true), AL_E_NOTFOUND);
    /* indexes: unique among the node's present GPUs; a swap goes through absent */
    assert_int_equal(al_fleet_set_index(f, 4, 0), AL_E_CONFLICT);
    assert_int_equal(al_fleet_set_index(f, 4, 70000), AL_E_INVAL);
    assert_int_equal(al_fleet_set_index(f, 9, 0), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_set_present(f, 0, false), 0);
    assert_int_equal(al_fleet_set_present(f, 4, false), 0);
    assert_int_equal(al_fleet_set_index(f, 4, 0), 0);
    assert_int_equal(al_fleet_set_index(f, 0, 1), 0);
    assert_int_equal(al_fleet_set_present(f, 4, true), 0);
    assert_int_equal(al_fleet_set_present(f, 0, true), 0);
    assert_int_equal(al_fleet_gpu(f, 0)->index, 1);
    assert_int_equal(al_fleet_gpu(f, 4)->index, 0);
    assert_true(al_fleet_shape(f) != shape); /* GPU 4 was added */
    /* offline node: all its GPUs leave the usable set, and come back with it */
    assert_int_equal(al_fleet_set_online(f, 1, false), 0);
    assert_true(al_fleet_node(f, 1)->offline);
    assert_false(bit(al_fleet_usable_bits(f), 2));
    assert_false(bit(al_fleet_usable_bits(f), 3));
    assert_int_equal(al_fleet_set_healthy(f, 3, true), 0); /* health alone does not bring it */
    assert_false(bit(al_fleet_usable_bits(f), 3));
    assert_int_equal(al_fleet_add_gpu(f, 1, a100, 2, NULL, AL_POOL_GENERAL, NULL), 5);
    assert_false(al_fleet_gpu(f, 5)->usable); /* added to an offline node */
    assert_int_equal(al_fleet_set_online(f, 1, true), 0);
    assert_true(bit(al_fleet_usable_bits(f), 2) && bit(al_fleet_usable_bits(f), 3));
    assert_true(bit(al_fleet_usable_bits(f), 5));
    assert_int_equal(al_fleet_set_online(f, 7, true), AL_E_NOTFOUND);
    /* model: moves between the model bitsets, leaves MIG mode; the shape changes */
    assert_int_equal(al_layout_parse(a100, "3g.40gb@0", &lay, NULL), 0);
    assert_int_equal(al_fleet_set_mig(f, 2, true, &lay), 0);
    shape = al_fleet_shape(f);
    assert_int_equal(al_fleet_set_model(f, 2, h100), 0);
    assert_true(al_fleet_shape(f) != shape);
    int sa = al_fleet_model_slot(f, a100), sh = al_fleet_model_slot(f, h100);
    assert_true(sa >= 0 && sh >= 0);
    assert_false(bit(al_fleet_model_bits(f, (unsigned)sa), 2));
    assert_true(bit(al_fleet_model_bits(f, (unsigned)sh), 2));
    assert_ptr_equal(al_fleet_gpu(f, 2)->model, h100);
    assert_int_equal(al_fleet_gpu(f, 2)->model_slot, sh);
    assert_false(al_fleet_gpu(f, 2)->mig_mode);
    assert_int_equal(al_fleet_gpu(f, 2)->layout.n, 0);
    assert_ptr_equal(al_fleet_gpu(f, 2)->layout.model, h100);
    shape = al_fleet_shape(f);
    assert_int_equal(al_fleet_set_model(f, 2, h100), 0); /* the same: nothing changes */
    assert_true(al_fleet_shape(f) == shape);
    assert_int_equal(al_fleet_set_model(f, 2, NULL), AL_E_INVAL);
    assert_int_equal(al_fleet_set_model(f, 99, h100), AL_E_NOTFOUND);
    /* zone */
    assert_int_equal(al_fleet_set_zone(f, 1, "z2", &e), 0);
    assert_string_equal(al_fleet_node(f, 1)->zone, "z2");
    assert_int_equal(al_fleet_set_zone(f, 1, NULL, &e), 0);
    assert_string_equal(al_fleet_node(f, 1)->zone, "");
    assert_int_equal(al_fleet_set_zone(f, 1, "a b", &e), AL_E_INVAL);
    assert_int_equal(al_fleet_set_zone(f, 1, "0123456789012345678901234567890123", &e), AL_E_INVAL);
    assert_string_equal(al_fleet_node(f, 1)->zone, "");
    assert_int_equal(al_fleet_set_zone(f, 5, "z", &e), AL_E_NOTFOUND);
    al_fleet_free(f);
}

static void test_labels_match(void **state)
{
    (void)state;
    assert_true(al_fleet_labels_match("rack=a,ib,gen=h100", NULL));
    assert_true(al_fleet_labels_match("rack=a,ib,gen=h100", ""));
    assert_true(al_fleet_labels_match("rack=a,ib,gen=h100", "ib"));
    assert_true(al_fleet_labels_match("rack=a,ib,gen=h100", "rack=a,gen=h100"));
    assert_true(al_fleet_labels_match("rack=a,ib", "rack")); /* bare key: any value */
    assert_false(al_fleet_labels_match("rack=a,ib", "rack=b"));
    assert_false(al_fleet_labels_match("rack=a,ib", "ib,nvlink"));
    assert_false(al_fleet_labels_match("rack=ab", "rack=a")); /* no prefix match */
    assert_false(al_fleet_labels_match("", "ib"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_ids_and_lookups), cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_bitsets_follow_state),  cmocka_unit_test(test_mig_state_checks_model),
        cmocka_unit_test(test_inventory_changes),     cmocka_unit_test(test_labels_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
