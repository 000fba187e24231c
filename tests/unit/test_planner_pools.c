/* test_planner_pools.c — core/planner's rule "dedicated GPUs first" (docs/planner.md): a
 * reservation open to both pools takes dedicated GPUs while they can serve the whole ask, even
 * over more nodes or against MIG packing; a general-pool GPU only when they cannot, and then
 * the dedicated ones still first on a node and in MIG order, general GPUs with pool work last;
 * a refusal counts both pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "core/calendar.h"
#include "core/catalog.h"
#include "core/fleet.h"
#include "core/planner.h"

#define T0 1000000
#define G  AL_POOL_GENERAL
#define D  AL_POOL_DEDICATED

struct env {
    struct al_fleet *f;
    struct al_calendar *c;
    struct al_planner *p;
    struct al_plan pl;
    struct al_err err;
};

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

/* A node of H100-80GB GPUs whose pools are `pools` (one letter a GPU: 'g' general, 'd'
 * dedicated), in that order of index. */
static void add_node(struct env *e, const char *name, const char *pools)
{
    int node = al_fleet_add_node(e->f, name, "z", NULL, NULL, NULL);
    assert_true(node >= 0);
    for (unsigned i = 0; pools[i]; i++)
        assert_true(al_fleet_add_gpu(e->f, (uint32_t)node, model("H100-80GB"), i, NULL,
                                     pools[i] == 'g' ? G : D, NULL) >= 0);
}

static void env_ready(struct env *e)
{
    assert_non_null(e->c = al_calendar_new(e->f, T0, 0));
    assert_non_null(e->p = al_planner_new(e->f, e->c));
}

static void env_close(struct env *e)
{
    al_plan_clear(&e->pl);
    al_planner_free(e->p);
    al_calendar_free(e->c);
    al_fleet_free(e->f);
}

static struct al_request whole(unsigned n)
{
    return (struct al_request){.kind = AL_REQ_WHOLE,
                               .model = model("H100-80GB"),
                               .profile = -1,
                               .count = n,
                               .start = T0 + 3600,
                               .end = T0 + 7200,
                               .where = {.pool = -1}};
}

static struct al_request mig(const char *profile, unsigned n)
{
    struct al_request r = whole(n);
    r.kind = AL_REQ_MIG;
    r.profile = al_catalog_profile_index(r.model, profile);
    assert_true(r.profile >= 0);
    return r;
}

/* How many allocations of the last plan are on GPUs of pool `pool`. */
static unsigned in_pool(const struct env *e, enum al_pool pool)
{
    unsigned n = 0;
    for (unsigned i = 0; i < e->pl.n; i++)
        n += al_fleet_gpu(e->f, e->pl.allocs[i].gpu)->pool == pool;
    return n;
}

static int plan(struct env *e, const struct al_request *r)
{
    return al_planner_plan(e->p, r, &e->pl, &e->err);
}

static int admit(struct env *e, const struct al_request *r, uint64_t owner)
{
    return al_planner_admit(e->p, r, (struct al_owner){owner, AL_OWNER_RESERVATION}, 0, &e->pl,
                            &e->err);
}

/* Whole GPUs: the dedicated node, though the general one comes first; general GPUs only once
 * the dedicated ones are taken. */
static void test_whole_dedicated_first(void **state)
{
    struct env e = {.f = al_fleet_new()};
    (void)state;
    add_node(&e, "gen", "gggg");
    add_node(&e, "ded", "dddd");
    env_ready(&e);
    for (unsigned n = 1; n <= 4; n++) { /* each start of the rotating scan */
        struct al_request r = whole(n);
        assert_int_equal(plan(&e, &r), 0);
        assert_int_equal(in_pool(&e, D), n);
    }
    struct al_request r = whole(3);
    assert_int_equal(admit(&e, &r, 1), 0);
    assert_int_equal(in_pool(&e, D), 3);
    r = whole(1); /* the last dedicated one */
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 1);
    r = whole(2); /* the dedicated pool cannot serve it: the general pool does */
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(e.pl.n, 2);
    /* on one node: the dedicated GPU's node cannot hold 2, so both are general */
    assert_int_equal(in_pool(&e, G), 2);
    /* outside the window the dedicated pool is free again */
    r = whole(4);
    r.start = T0 + 7200;
    r.end = T0 + 9000;
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 4);
    env_close(&e);
}

/* Dedicated GPUs on two nodes beat general ones on one, unless the ask wants one node. */
static void test_whole_more_nodes(void **state)
{
    struct env e = {.f = al_fleet_new()};
    (void)state;
    add_node(&e, "gen", "gggg");
    add_node(&e, "d1", "dd");
    add_node(&e, "d2", "dd");
    env_ready(&e);
    struct al_request r = whole(4);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 4);
    assert_int_equal(e.pl.nodes, 2);
    r.same_node = true; /* no node has 4 dedicated GPUs */
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, G), 4);
    assert_int_equal(e.pl.nodes, 1);
    r.same_node = false;
    assert_int_equal(admit(&e, &r, 1), 0); /* every dedicated GPU */
    r = whole(1);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, G), 1);
    env_close(&e);
}

/* On one mixed node, a count larger than its dedicated GPUs takes them all and the rest from
 * the general ones; general GPUs with pool work come last. */
static void test_mixed_node_order(void **state)
{
    struct env e = {.f = al_fleet_new()};
    (void)state;
    add_node(&e, "m", "ggdgd");
    env_ready(&e);
    assert_int_equal(al_fleet_set_pool_busy(e.f, 0, true), 0);
    struct al_request r = whole(2);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 2);
    r = whole(4);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 2);
    bool busy = false;
    for (unsigned i = 0; i < e.pl.n; i++)
        busy |= e.pl.allocs[i].gpu == 0;
    assert_false(busy); /* GPUs 1, 3 (general, idle) before GPU 0 (pool work) */
    r = whole(5);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(e.pl.n, 5);
    env_close(&e);
}

/* MIG: instances go to a fresh dedicated GPU rather than onto a partly used general one;
 * once the dedicated GPU is full, they spill over to the general pool. */
static void test_mig_dedicated_first(void **state)
{
    struct env e = {.f = al_fleet_new()};
    (void)state;
    add_node(&e, "m", "gd");
    env_ready(&e);
    const struct al_gpu_model *m = model("H100-80GB");
    int p3 = al_catalog_profile_index(m, "3g.40gb");
    assert_true(p3 >= 0);
    /* GPU 0 (general) is partly used in the window: packing alone would go there */
    struct al_hold h = {.gpu = 0,
                        .profile = (uint8_t)p3,
                        .start = 4,
                        .t0 = T0,
                        .t1 = T0 + 9000,
                        .owner = {9, AL_OWNER_RESERVATION}};
    assert_true(al_calendar_add(e.c, &h, NULL) >= 0);
    struct al_request r = mig("1g.10gb", 2);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 2);
    assert_int_equal(e.pl.allocs[0].gpu, 1);
    /* 7 fit on the dedicated GPU: 9 take all 7 of them, and 2 on the general one */
    r = mig("1g.10gb", 9);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, D), 7);
    assert_int_equal(in_pool(&e, G), 2);
    env_close(&e);
}

/* A request for one pool stays in it; a refusal counts the GPUs of both pools. */
static void test_pool_asked_and_refusal(void **state)
{
    struct env e = {.f = al_fleet_new()};
    (void)state;
    add_node(&e, "gen", "gg");
    add_node(&e, "ded", "dd");
    env_ready(&e);
    struct al_request r = whole(2);
    r.where.pool = G;
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, G), 2);
    r = whole(5);
    assert_int_equal(plan(&e, &r), AL_E_NOFIT);
    assert_int_equal(e.pl.why, AL_WHY_CAPACITY);
    assert_int_equal(e.pl.eligible, 4);
    assert_int_equal(e.pl.free_total, 4);
    assert_false(e.pl.bounds);
    r = whole(3);
    r.same_node = true;
    assert_int_equal(plan(&e, &r), AL_E_NOFIT);
    assert_int_equal(e.pl.why, AL_WHY_SAME_NODE);
    assert_int_equal(e.pl.free_best_node, 2);
    /* the earliest window: where the dedicated pool (or both) serves it */
    struct al_request busy = whole(2);
    busy.where.pool = D;
    assert_int_equal(admit(&e, &busy, 1), 0);
    r = whole(2);
    int64_t s[2];
    assert_int_equal(al_planner_earliest(e.p, &r, 3600, T0 + 3600, s, 2, &e.err), 1);
    assert_int_equal(plan(&e, &r), 0);
    assert_int_equal(in_pool(&e, G), 2);
    env_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_dedicated_first),  cmocka_unit_test(test_whole_more_nodes),
        cmocka_unit_test(test_mixed_node_order),       cmocka_unit_test(test_mig_dedicated_first),
        cmocka_unit_test(test_pool_asked_and_refusal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
