/* test_planner.c — unit and property tests of core/planner: hand-worked placement cases, random
 * admit/extend/cancel/expire streams whose every refusal is confirmed by brute force, the
 * earliest window against an exhaustive scan, and MIG packing against the exact optimum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/calendar.h"
#include "core/catalog.h"
#include "core/fleet.h"
#include "core/layout.h"
#include "core/planner.h"

#define T0 1000000

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

static int prof(const struct al_gpu_model *m, const char *name)
{
    int i = al_catalog_profile_index(m, name);
    assert_true(i >= 0);
    return i;
}

struct env {
    struct al_fleet *f;
    struct al_calendar *c;
    struct al_planner *p;
};

static void env_open(struct env *e)
{
    e->f = al_fleet_new();
    assert_non_null(e->f);
    e->c = NULL;
    e->p = NULL;
}

/* After the fleet is built. */
static void env_ready(struct env *e, int64_t bucket)
{
    e->c = al_calendar_new(e->f, T0, bucket);
    e->p = al_planner_new(e->f, e->c);
    assert_non_null(e->c);
    assert_non_null(e->p);
}

static void env_close(struct env *e)
{
    al_planner_free(e->p);
    al_calendar_free(e->c);
    al_fleet_free(e->f);
}

static void add_node(struct env *e, const char *name, const char *zone, const char *labels,
                     const char *mname, unsigned n)
{
    int node = al_fleet_add_node(e->f, name, zone, labels, NULL, NULL);
    assert_true(node >= 0);
    for (unsigned i = 0; i < n; i++)
        assert_true(al_fleet_add_gpu(e->f, (uint32_t)node, model(mname), i, NULL, AL_POOL_GENERAL,
                                     NULL) >= 0);
}

static struct al_request whole_req(const char *mname, unsigned n, int64_t s, int64_t t)
{
    struct al_request r = {.kind = AL_REQ_WHOLE,
                           .model = model(mname),
                           .profile = -1,
                           .count = n,
                           .start = T0 + s,
                           .end = T0 + t,
                           .where = {.pool = -1}};
    return r;
}

static struct al_request mig_req(const char *mname, const char *pname, unsigned n, int64_t s,
                                 int64_t t)
{
    const struct al_gpu_model *m = model(mname);
    struct al_request r = {.kind = AL_REQ_MIG,
                           .model = m,
                           .profile = prof(m, pname),
                           .count = n,
                           .start = T0 + s,
                           .end = T0 + t,
                           .where = {.pool = -1}};
    return r;
}

static struct al_owner res(uint64_t id)
{
    struct al_owner o = {id, AL_OWNER_RESERVATION};
    return o;
}

static unsigned node_of(const struct env *e, const struct al_plan *pl, unsigned i)
{
    return al_fleet_gpu(e->f, pl->allocs[i].gpu)->node;
}

/* ---- hand-worked cases ---- */

static void test_one_node_preference(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "n0", "z", "", "H100-80GB", 2);
    add_node(&e, "n1", "z", "", "H100-80GB", 4);
    add_node(&e, "n2", "z", "", "H100-80GB", 8);
    env_ready(&e, 0);
    struct al_request r = whole_req("H100-80GB", 4, 0, 3600);
    assert_int_equal(al_planner_admit(e.p, &r, res(1), 0, &pl, &err), 0);
    assert_int_equal(pl.nodes, 1); /* best fit: the 4-GPU node, not the 8-GPU one */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(node_of(&e, &pl, i), 1);
    r.count = 6;
    assert_int_equal(al_planner_admit(e.p, &r, res(2), 0, &pl, &err), 0);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(node_of(&e, &pl, i), 2);
    r.count = 4; /* 2 left on n0, 2 on n2: two nodes */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(pl.nodes, 2);
    r.same_node = true;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.why, AL_WHY_SAME_NODE);
    assert_int_equal(pl.free_total, 4);
    assert_int_equal(pl.free_best_node, 2);
    assert_string_equal(err.msg, "only 2 of 4 H100-80GB GPUs free on one node during "
                                 "[1970-01-12T13:46:40Z, 1970-01-12T14:46:40Z); 4 free "
                                 "fleet-wide");
    r.same_node = false;
    r.count = 5;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.why, AL_WHY_CAPACITY);
    assert_string_equal(err.msg, "only 4 of 5 H100-80GB GPUs free during [1970-01-12T13:46:40Z, "
                                 "1970-01-12T14:46:40Z) (14 eligible GPUs; at most 2 on one "
                                 "node)");
    /* a window the calendar cannot hold names its times and where the calendar starts */
    struct al_request early = r;
    early.start = T0 - 60;
    assert_int_equal(al_planner_plan(e.p, &early, &pl, &err), AL_E_RANGE);
    assert_string_equal(err.msg, "start/end: [1970-01-12T13:45:40Z, 1970-01-12T14:46:40Z) is "
                                 "outside the calendar's range (it starts at "
                                 "1970-01-12T13:46:40Z)");
    /* later the GPUs are free again */
    r.start = T0 + 3600;
    r.end = T0 + 7200;
    r.count = 14;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(pl.nodes, 3);
    al_plan_clear(&pl);
    env_close(&e);
}

static void test_refusal_bounds(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "", "", "H100-80GB", 4);
    env_ready(&e, 0);
    struct al_request r = whole_req("H100-80GB", 2, 0, 100);
    assert_int_equal(al_planner_admit(e.p, &r, res(1), 0, &pl, &err), 0);
    /* GPUs 0 and 1 are busy earlier the same day: the index leaves them in doubt */
    r = whole_req("H100-80GB", 4, 200, 300);
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    r.start = T0 + 50;
    r.count = 3; /* both doubtful GPUs had to be checked to refuse: exact count */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_false(pl.bounds);
    assert_int_equal(pl.free_total, 2);
    assert_non_null(strstr(err.msg, "only 2 of 3"));
    r.count = 5; /* one busy GPU settles it: the other stays unchecked, the count is a bound */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_true(pl.bounds);
    assert_int_equal(pl.free_total, 3);
    assert_non_null(strstr(err.msg, "only up to 3 of 5"));
    al_plan_clear(&pl);
    env_close(&e);
}

static void test_filters(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "eu", "ib,rack=1", "H100-80GB", 2);
    add_node(&e, "b", "us", "rack=2", "H100-80GB", 2);
    add_node(&e, "c", "eu", "rack=3", "H100-80GB", 2);
    env_ready(&e, 0);
    assert_int_equal(al_fleet_set_drained((struct al_fleet *)e.f, 4, true), 0);
    assert_int_equal(al_fleet_set_healthy((struct al_fleet *)e.f, 5, false), 0);
    assert_int_equal(al_fleet_set_pool((struct al_fleet *)e.f, 0, AL_POOL_DEDICATED), 0);
    struct al_request r = whole_req("H100-80GB", 2, 0, 100);
    r.where.zone = "eu"; /* node c's GPUs are drained / unhealthy: only node a */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(node_of(&e, &pl, i), 0);
    r.count = 3;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.eligible, 2);
    assert_non_null(strstr(err.msg, "in zone eu"));
    r.count = 1;
    r.where.zone = NULL;
    r.where.labels = "rack=2";
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(node_of(&e, &pl, 0), 1);
    r.where.labels = "ib";
    r.where.pool = AL_POOL_GENERAL; /* GPU 0 is dedicated-only */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(pl.allocs[0].gpu, 1);
    r.count = 2;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    r.where.labels = "gpu=none";
    r.where.pool = -1;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.why, AL_WHY_NO_ELIGIBLE);
    /* a model not in the fleet; any model with >= 40 GB */
    struct al_request q = whole_req("L40S", 1, 0, 100);
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.why, AL_WHY_NO_MODEL);
    q.model = NULL;
    q.mem_bytes = 40000000000ull;
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), 0);
    assert_ptr_equal(pl.model, model("H100-80GB"));
    q.mem_bytes = 100000000000ull;
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), AL_E_NOFIT);
    q.count = 0;
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), AL_E_INVAL);
    assert_non_null(strstr(err.msg, "count"));
    q.count = 1;
    q.mem_bytes = 40000000000ull;
    q.start = T0 - 100; /* before the calendar's origin */
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), AL_E_RANGE);
    assert_non_null(strstr(err.msg, "start/end"));
    q.start = T0 + 100;
    assert_int_equal(al_planner_plan(e.p, &q, &pl, &err), AL_E_INVAL);
    al_plan_clear(&pl);
    env_close(&e);
}

/* Labels set after the node was added (what a node report does) are what selectors match. */
static void test_labels_set_later(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "", "", "H100-80GB", 1);
    add_node(&e, "b", "", "", "H100-80GB", 1);
    env_ready(&e, 0);
    struct al_request r = whole_req("H100-80GB", 1, 0, 100);
    r.where.labels = "nvlink=true";
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(pl.why, AL_WHY_NO_ELIGIBLE);
    assert_int_equal(al_fleet_set_labels((struct al_fleet *)e.f, 1, "nvlink=true,rack=2", &err), 0);
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(node_of(&e, &pl, 0), 1);
    r.where.labels = "nvlink=true,rack=1"; /* every selector must match */
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), AL_E_NOFIT);
    assert_int_equal(al_fleet_set_labels((struct al_fleet *)e.f, 1, "a b", &err), AL_E_INVAL);
    assert_int_equal(al_fleet_set_labels((struct al_fleet *)e.f, 9, "", &err), AL_E_NOTFOUND);
    al_plan_clear(&pl);
    env_close(&e);
}

/* One GPU held over [0, 100): earliest lists only the start at 100 (the only hold end), while
 * windows gives the three disjoint windows that are free: 100, 150, 200 for 50 s. */
static void test_windows_disjoint(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "", "", "H100-80GB", 1);
    env_ready(&e, 0);
    struct al_request r = whole_req("H100-80GB", 1, 0, 100);
    assert_int_equal(al_planner_admit(e.p, &r, res(1), 0, &pl, &err), 0);
    int64_t st[3] = {0};
    r.start = T0;
    assert_int_equal(al_planner_earliest(e.p, &r, 50, T0 + 1000, st, 3, &err), 1);
    assert_int_equal(st[0], T0 + 100);
    assert_int_equal(al_planner_windows(e.p, &r, 50, T0 + 1000, st, 3, &err), 3);
    assert_int_equal(st[0], T0 + 100);
    assert_int_equal(st[1], T0 + 150);
    assert_int_equal(st[2], T0 + 200);
    /* the range bounds the starts: only two fit before latest 160 */
    assert_int_equal(al_planner_windows(e.p, &r, 50, T0 + 160, st, 3, &err), 2);
    /* nothing in range */
    assert_int_equal(al_planner_windows(e.p, &r, 50, T0 + 10, st, 3, &err), AL_E_NOFIT);
    assert_int_equal(al_planner_windows(e.p, &r, 50, T0 + 10, st, 0, &err), AL_E_INVAL);
    al_plan_clear(&pl);
    env_close(&e);
}

static void test_expiry_and_mode_exclusion(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "", "", "H100-80GB", 1);
    env_ready(&e, 0);
    struct al_request w = whole_req("H100-80GB", 1, 0, 100);
    struct al_owner quote = {5, AL_OWNER_TENTATIVE};
    assert_int_equal(al_planner_admit(e.p, &w, quote, T0 + 10, &pl, &err), 0);
    /* a MIG instance on the same GPU during the window: the GPU is in non-MIG mode then */
    struct al_request m = mig_req("H100-80GB", "1g.10gb", 1, 50, 150);
    assert_int_equal(al_planner_plan(e.p, &m, &pl, &err), AL_E_NOFIT);
    m.start = T0 + 100;
    assert_int_equal(al_planner_plan(e.p, &m, &pl, &err), 0);
    m.start = T0 + 50;
    assert_int_equal(al_calendar_expire(e.c, T0 + 10), 1); /* the quote lapsed */
    assert_int_equal(al_planner_admit(e.p, &m, res(6), 0, &pl, &err), 0);
    assert_int_equal(al_planner_plan(e.p, &w, &pl, &err), AL_E_NOFIT);
    /* earliest: bad arguments are refused, not overflowed */
    int64_t st[2];
    assert_int_equal(al_planner_earliest(e.p, &w, 0, T0 + 10, st, 2, &err), AL_E_INVAL);
    assert_int_equal(al_planner_earliest(e.p, &w, INT64_MAX, T0 + 10, st, 2, &err), AL_E_RANGE);
    assert_int_equal(al_planner_earliest(e.p, &w, 10, T0 - 10, st, 2, &err), AL_E_INVAL);
    /* extend refused when the next hold blocks */
    struct al_request m2 = mig_req("H100-80GB", "7g.80gb", 1, 150, 200);
    assert_int_equal(al_planner_plan(e.p, &m2, &pl, &err), 0);
    assert_int_equal(al_planner_admit(e.p, &m2, res(7), 0, &pl, &err), 0);
    assert_int_equal(al_calendar_extend_owner(e.c, res(6), T0 + 151, &err), AL_E_CONFLICT);
    assert_int_equal(al_calendar_extend_owner(e.c, res(7), T0 + 300, &err), 1);
    al_plan_clear(&pl);
    env_close(&e);
}

static void test_mig_preferences(void **state)
{
    (void)state;
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    env_open(&e);
    add_node(&e, "a", "", "", "H100-80GB", 4);
    env_ready(&e, 0);
    const struct al_gpu_model *h = model("H100-80GB");
    struct al_fleet *f = (struct al_fleet *)e.f;
    /* GPU 2 already runs 3g.40gb@0,3g.40gb@4; GPU 0 has pool work */
    struct al_layout l;
    assert_int_equal(al_layout_parse(h, "3g.40gb@0,3g.40gb@4", &l, NULL), 0);
    assert_int_equal(al_fleet_set_mig(f, 2, true, &l), 0);
    assert_int_equal(al_fleet_set_pool_busy(f, 0, true), 0);
    struct al_request r = mig_req("H100-80GB", "3g.40gb", 1, 0, 100);
    assert_int_equal(al_planner_admit(e.p, &r, res(1), 0, &pl, &err), 0);
    assert_int_equal(pl.allocs[0].gpu, 2);
    assert_false(pl.allocs[0].reconfig);
    assert_int_equal(pl.reconfigs, 0);
    /* of the two instances the layout has, @4: 4g.40gb@0 stays placeable (first fit takes @0) */
    assert_int_equal(pl.allocs[0].start, 4);
    /* the next 1g.10gb packs onto the partly used GPU 2 */
    r = mig_req("H100-80GB", "1g.10gb", 1, 0, 100);
    assert_int_equal(al_planner_admit(e.p, &r, res(2), 0, &pl, &err), 0);
    assert_int_equal(pl.allocs[0].gpu, 2);
    assert_true(pl.allocs[0].reconfig);
    struct al_hold hold;
    assert_int_equal(al_calendar_get(e.c, pl.allocs[0].hold, &hold), 0);
    assert_true(hold.start < 4);
    /* memory ask: at least 15 GB -> the smallest profile with that: 1g.20gb */
    r.profile = -1;
    r.mem_bytes = 15000000000ull;
    assert_int_equal(al_planner_plan(e.p, &r, &pl, &err), 0);
    assert_int_equal(pl.profile, prof(h, "1g.20gb"));
    /* many instances: partly used GPU 2 first, then fresh GPUs without pool work (1, 3) */
    r = mig_req("H100-80GB", "2g.20gb", 4, 0, 100);
    assert_int_equal(al_planner_admit(e.p, &r, res(3), 0, &pl, &err), 0);
    unsigned on[4] = {0};
    for (unsigned i = 0; i < pl.n; i++)
        on[pl.allocs[i].gpu]++;
    assert_int_equal(on[0], 0);
    assert_int_equal(on[2], 1);
    /* availability */
    struct al_avail av[4];
    assert_int_equal(al_planner_availability(e.p, T0, T0 + 100, NULL, av, 4), 1);
    assert_int_equal(av[0].gpus, 4);
    assert_int_equal(av[0].whole_free, on[1] && on[3] ? 1 : 2);
    assert_int_equal(av[0].inst_free[prof(h, "7g.80gb")], av[0].whole_free);
    al_plan_clear(&pl);
    env_close(&e);
}

/* ---- brute force ---- */

static uint64_t rng_state;
/* Time unit of a random stream: every time in it is a multiple, so brute force steps by it.
 * With 30 s units, windows span several index buckets (60-120 s): the index paths run. */
static int64_t unit = 1;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

#define BF_MAXH 256

struct bf_holds {
    size_t n;
    struct al_hold h[BF_MAXH];
};

static int bf_collect(uint32_t id, const struct al_hold *h, void *ctx)
{
    (void)id;
    struct bf_holds *b = ctx;
    assert_true(b->n < BF_MAXH);
    b->h[b->n++] = *h;
    return 0;
}

static void bf_gpu_holds(const struct env *e, uint32_t gpu, struct bf_holds *b)
{
    b->n = 0;
    al_calendar_each(e->c, gpu, T0, INT64_MAX / 2, bf_collect, b);
}

/* Layout of the MIG holds alive at t; false when a whole hold is alive. */
static bool bf_alive(const struct bf_holds *b, const struct al_gpu_model *m, int64_t t,
                     struct al_layout *l, unsigned *n)
{
    l->model = m;
    l->n = 0;
    *n = 0;
    bool ok = true;
    for (size_t i = 0; i < b->n; i++) {
        if (b->h[i].t0 > t || b->h[i].t1 <= t)
            continue;
        (*n)++;
        if (b->h[i].whole)
            ok = false;
        else if (l->n < AL_LAYOUT_MAX)
            l->p[l->n++] = (struct al_placement){b->h[i].profile, b->h[i].start};
    }
    return ok;
}

static void bf_check_valid(const struct env *e, int64_t horizon)
{
    static struct bf_holds b;
    for (uint32_t g = 0; g < al_fleet_ngpus(e->f); g++) {
        bf_gpu_holds(e, g, &b);
        for (int64_t t = T0; t < T0 + horizon * unit; t += unit) {
            struct al_layout l;
            unsigned n;
            if (!bf_alive(&b, al_fleet_gpu(e->f, g)->model, t, &l, &n))
                assert_int_equal(n, 1);
            else
                assert_int_equal(al_layout_validate(&l, NULL), 0);
        }
    }
}

static bool bf_eligible(const struct env *e, uint32_t gpu, const struct al_request *r,
                        const struct al_gpu_model *m)
{
    const struct al_gpu *g = al_fleet_gpu(e->f, gpu);
    const struct al_node *n = al_fleet_node(e->f, g->node);
    if (g->model != m || !g->healthy || g->drained)
        return false;
    if (r->where.pool >= 0 && g->pool != r->where.pool)
        return false;
    if (r->where.zone && *r->where.zone && strcmp(r->where.zone, n->zone) != 0)
        return false;
    return al_fleet_labels_match(n->labels, r->where.labels);
}

/* The exhaustive search of bf_dfs: instances of profile q on one GPU during [s, t). */
struct bf_search {
    const struct bf_holds *b;
    const struct al_gpu_model *m;
    unsigned q;
    int64_t s, t;
    struct al_placement chosen[AL_LAYOUT_MAX];
};

/* Do chosen[0..n] join the GPU's layout validly at every instant of [s, t)? */
static bool bf_chosen_fit(const struct bf_search *bs, unsigned n)
{
    for (int64_t x = bs->s; x < bs->t; x += unit) {
        struct al_layout l;
        unsigned cnt;
        if (!bf_alive(bs->b, bs->m, x, &l, &cnt) || l.n + n + 1 > AL_LAYOUT_MAX)
            return false;
        for (unsigned i = 0; i <= n; i++)
            l.p[l.n++] = bs->chosen[i];
        if (al_layout_validate(&l, NULL) != 0)
            return false;
    }
    return true;
}

/* Most instances addable, n already chosen: exhaustive over start subsets from `from` on,
 * checking every instant. */
/* NOLINTNEXTLINE(misc-no-recursion): depth <= nstarts of one profile, each level a later start */
static unsigned bf_dfs(struct bf_search *bs, unsigned n, unsigned from)
{
    unsigned best = n;
    const struct al_mig_profile *pr = &bs->m->profiles[bs->q];
    for (unsigned k = from; k < pr->nstarts && n < AL_LAYOUT_MAX; k++) {
        bs->chosen[n] = (struct al_placement){(uint8_t)bs->q, pr->starts[k]};
        if (bf_chosen_fit(bs, n)) {
            unsigned got = bf_dfs(bs, n + 1, k + 1);
            if (got > best)
                best = got;
        }
    }
    return best;
}

static unsigned bf_capacity(const struct env *e, uint32_t gpu, const struct al_request *r,
                            const struct al_gpu_model *m, int q, int64_t s, int64_t t)
{
    static struct bf_holds b;
    bf_gpu_holds(e, gpu, &b);
    if (r->kind == AL_REQ_WHOLE) {
        for (size_t i = 0; i < b.n; i++)
            if (b.h[i].t0 < t && b.h[i].t1 > s)
                return 0;
        return 1;
    }
    struct bf_search bs = {.b = &b, .m = m, .q = (unsigned)q, .s = s, .t = t};
    return bf_dfs(&bs, 0, 0);
}

/* May request r use model m, and which profile (*q, -1 for whole GPUs)? */
static bool bf_model_allowed(const struct al_request *r, const struct al_gpu_model *m, int *q)
{
    *q = -1;
    if (r->model && r->model != m)
        return false;
    if (r->kind == AL_REQ_WHOLE)
        return r->model || (uint64_t)m->mem_gb * 1000000000ull >= r->mem_bytes;
    if (r->kind != AL_REQ_MIG)
        return true;
    if (!m->mig)
        return false;
    *q = r->model && r->profile >= 0 ? r->profile : al_catalog_pick(m, r->mem_bytes, true);
    return *q >= 0;
}

/* Does request r fit during [s, t) by brute force (any allowed model)? */
static bool bf_fits(const struct env *e, const struct al_request *r, int64_t s, int64_t t)
{
    for (unsigned slot = 0; slot < al_fleet_nmodels(e->f); slot++) {
        const struct al_gpu_model *m = al_fleet_model(e->f, slot);
        int q = -1;
        if (!bf_model_allowed(r, m, &q))
            continue;
        unsigned total = 0, per_node[16] = {0};
        for (uint32_t g = 0; g < al_fleet_ngpus(e->f); g++) {
            if (!bf_eligible(e, g, r, m))
                continue;
            unsigned c = bf_capacity(e, g, r, m, q, s, t);
            total += c;
            per_node[al_fleet_gpu(e->f, g)->node] += c;
        }
        for (unsigned n = 0; n < 16; n++)
            if (per_node[n] >= r->count)
                return true;
        if (!r->same_node && total >= r->count)
            return true;
    }
    return false;
}

/* ---- property test: random streams on random small fleets ---- */

#define HORIZON 80

static const char *const zones[] = {"z1", "z2"};
static const char *const labelsets[] = {"ib,rack=1", "rack=2", ""};
static const char *const want_zone[] = {NULL, "z1", "z2"};
static const char *const want_labels[] = {NULL, "ib", "rack=2", "rack"};

static void random_fleet(struct env *e)
{
    const char *models[] = {"H100-80GB", "A30-24GB", "L40S"};
    env_open(e);
    unsigned nn = 2 + rnd(2);
    for (unsigned n = 0; n < nn; n++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", n);
        int node = al_fleet_add_node(e->f, name, zones[rnd(2)], labelsets[rnd(3)], NULL, NULL);
        assert_true(node >= 0);
        unsigned ng = 1 + rnd(3);
        for (unsigned g = 0; g < ng; g++) {
            const struct al_gpu_model *m = model(models[rnd(3)]);
            int id = al_fleet_add_gpu(e->f, (uint32_t)node, m, g, NULL,
                                      rnd(4) ? AL_POOL_GENERAL : AL_POOL_DEDICATED, NULL);
            assert_true(id >= 0);
            if (rnd(10) == 0)
                al_fleet_set_drained(e->f, (uint32_t)id, true);
            if (rnd(10) == 0)
                al_fleet_set_healthy(e->f, (uint32_t)id, false);
            if (rnd(5) == 0)
                al_fleet_set_pool_busy(e->f, (uint32_t)id, true);
        }
    }
    env_ready(e, 60 * (int64_t)(1 + rnd(2)));
}

static struct al_request random_request(const struct env *e)
{
    struct al_request r = {.kind = rnd(5) < 2 ? AL_REQ_WHOLE : AL_REQ_MIG, .profile = -1};
    const struct al_gpu_model *m = al_fleet_model(e->f, rnd(al_fleet_nmodels(e->f)));
    if (rnd(5) == 0) {
        r.mem_bytes = (uint64_t)(5 + rnd(60)) * 1000000000ull;
    } else {
        r.model = m;
        if (r.kind == AL_REQ_MIG && m->mig && rnd(4))
            r.profile = (int)rnd(m->nprofiles);
        else
            r.mem_bytes = (uint64_t)(5 + rnd(40)) * 1000000000ull;
    }
    r.count = 1 + rnd(r.kind == AL_REQ_WHOLE ? 3 : 5);
    r.start = T0 + unit * rnd(HORIZON - 10);
    r.end = r.start + unit * (1 + rnd(20));
    r.where.zone = want_zone[rnd(5) < 3 ? 0 : rnd(3)];
    r.where.labels = want_labels[rnd(5) < 3 ? 0 : rnd(4)];
    r.where.pool = rnd(3) ? -1 : (int)rnd(2);
    r.same_node = rnd(3) == 0;
    return r;
}

static unsigned stat_ok, stat_refused, stat_earliest;

static void check_plan(const struct env *e, const struct al_request *r, const struct al_plan *pl)
{
    assert_int_equal(pl->n, r->count);
    for (unsigned i = 0; i < pl->n; i++) {
        const struct al_alloc *a = &pl->allocs[i];
        assert_true(bf_eligible(e, a->gpu, r, pl->model));
        assert_int_equal(a->whole, r->kind == AL_REQ_WHOLE);
        if (!a->whole)
            assert_int_equal(a->profile, pl->profile);
        if (r->same_node)
            assert_int_equal(node_of(e, pl, i), node_of(e, pl, 0));
        struct al_hold h;
        assert_int_equal(al_calendar_get(e->c, a->hold, &h), 0);
        assert_int_equal(h.gpu, a->gpu);
    }
}

static void check_earliest(struct env *e)
{
    struct al_request r = random_request(e);
    int64_t dur = unit * (1 + rnd(20)), latest = r.start + unit * rnd(40);
    int64_t starts[3];
    struct al_err err;
    int n = al_planner_earliest(e->p, &r, dur, latest, starts, 3, &err);
    int64_t bf = -1;
    for (int64_t t = r.start; t <= latest && bf < 0; t += unit)
        if (bf_fits(e, &r, t, t + dur))
            bf = t;
    if (bf < 0) {
        assert_int_equal(n, AL_E_NOFIT);
        return;
    }
    assert_true(n >= 1);
    assert_int_equal(starts[0], bf);
    for (int i = 0; i < n; i++) {
        assert_true(bf_fits(e, &r, starts[i], starts[i] + dur));
        assert_true(i == 0 || starts[i] > starts[i - 1]);
    }
    stat_earliest++;
}

/* Availability equals brute force: per model, eligible GPUs, wholly free ones, and per profile
 * the sum over GPUs of the most instances of it alone (exhaustive over start subsets). */
static void check_availability(struct env *e)
{
    struct al_avail av[8];
    int64_t s = T0 + unit * rnd(HORIZON - 10), t = s + unit * (1 + rnd(20));
    int n = al_planner_availability(e->p, s, t, NULL, av, 8);
    assert_int_equal(n, (int)al_fleet_nmodels(e->f));
    for (int i = 0; i < n; i++) {
        const struct al_gpu_model *m = av[i].model;
        struct al_request w = {.kind = AL_REQ_WHOLE, .model = m, .where = {.pool = -1}};
        struct al_request q = {.kind = AL_REQ_MIG, .model = m, .where = {.pool = -1}};
        unsigned gpus = 0, whole = 0, inst[AL_MIG_MAX_PROFILES] = {0};
        for (uint32_t g = 0; g < al_fleet_ngpus(e->f); g++) {
            if (!bf_eligible(e, g, &w, m))
                continue;
            gpus++;
            whole += bf_capacity(e, g, &w, m, -1, s, t);
            for (unsigned k = 0; m->mig && k < m->nprofiles; k++)
                inst[k] += bf_capacity(e, g, &q, m, (int)k, s, t);
        }
        assert_int_equal(av[i].gpus, gpus);
        assert_int_equal(av[i].whole_free, whole);
        for (unsigned k = 0; m->mig && k < m->nprofiles; k++)
            assert_int_equal(av[i].inst_free[k], inst[k]);
    }
}

static void run_stream(uint64_t seed, int ops)
{
    struct env e;
    struct al_plan pl = {0};
    struct al_err err;
    rng_state = seed;
    random_fleet(&e);
    uint64_t next_owner = 1;
    for (int k = 0; k < ops; k++) {
        unsigned op = rnd(20);
        if (op < 13) {
            struct al_request r = random_request(&e);
            struct al_owner o = {next_owner++, rnd(3) ? AL_OWNER_RESERVATION : AL_OWNER_TENTATIVE};
            int rc = al_planner_admit(e.p, &r, o, T0 + unit * rnd(HORIZON), &pl, &err);
            if (rc == 0) {
                check_plan(&e, &r, &pl);
                stat_ok++;
            } else {
                assert_int_equal(rc, AL_E_NOFIT);
                assert_false(bf_fits(&e, &r, r.start, r.end)); /* the refusal is true */
                assert_true(strlen(err.msg) > 10);
                stat_refused++;
            }
        } else if (op < 15 && next_owner > 1) {
            struct al_owner o = {1 + rnd((uint32_t)next_owner - 1), AL_OWNER_RESERVATION};
            al_calendar_cancel_owner(e.c, o);
        } else if (op < 17 && next_owner > 1) {
            struct al_owner o = {1 + rnd((uint32_t)next_owner - 1), AL_OWNER_RESERVATION};
            int rc = al_calendar_extend_owner(e.c, o, T0 + unit * (rnd(HORIZON) + 1), &err);
            assert_true(rc >= 0 || rc == AL_E_CONFLICT || rc == AL_E_NOTFOUND || rc == AL_E_INVAL);
        } else if (op < 18) {
            al_calendar_expire(e.c, T0 + unit * rnd(HORIZON));
        } else if (op < 19) {
            check_earliest(&e);
        } else {
            check_availability(&e);
        }
    }
    bf_check_valid(&e, 2 * (int64_t)HORIZON);
    al_plan_clear(&pl);
    env_close(&e);
}

static void test_random_streams(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 80; seed++) {
        unit = seed % 2 ? 1 : 30;
        run_stream(seed, 200);
    }
    unit = 1;
    printf("planner property: %u admitted, %u refused (each confirmed by brute force), %u "
           "earliest windows equal to brute force\n",
           stat_ok, stat_refused, stat_earliest);
    assert_true(stat_ok > 200 && stat_refused > 200 && stat_earliest > 20);
}

/* ---- packing quality against the exact optimum ---- */

#define NPACK 6 /* profiles used: 1g.10gb 1g.20gb 2g.20gb 3g.40gb 4g.40gb 7g.80gb */

struct maxsets {
    const struct al_gpu_model *m;
    int idx[NPACK];
    unsigned n;
    uint8_t v[64][NPACK]; /* distinct multisets of the maximal layouts */
};

static int collect_max(const struct al_layout *l, void *ctx)
{
    struct maxsets *ms = ctx;
    uint8_t v[NPACK] = {0};
    for (unsigned i = 0; i < l->n; i++)
        for (unsigned k = 0; k < NPACK; k++)
            v[k] += l->p[i].profile == ms->idx[k];
    for (unsigned j = 0; j < ms->n; j++)
        if (memcmp(ms->v[j], v, NPACK) == 0)
            return 0;
    assert_true(ms->n < 64);
    memcpy(ms->v[ms->n++], v, NPACK);
    return 0;
}

/* Can `bins` GPUs (multisets from index `from` on, nondecreasing) cover demand d? */
/* NOLINTNEXTLINE(misc-no-recursion): depth <= bins, one GPU per level */
static bool cover(const struct maxsets *ms, const int d[NPACK], unsigned bins, unsigned from)
{
    bool done = true;
    for (unsigned k = 0; k < NPACK; k++)
        done &= d[k] <= 0;
    if (done)
        return true;
    if (bins == 0)
        return false;
    for (unsigned j = from; j < ms->n; j++) {
        int nd[NPACK];
        bool helps = false;
        for (unsigned k = 0; k < NPACK; k++) {
            helps |= d[k] > 0 && ms->v[j][k] > 0;
            nd[k] = d[k] - ms->v[j][k];
        }
        if (helps && cover(ms, nd, bins - 1, j))
            return true;
    }
    return false;
}

static void test_packing_vs_optimum(void **state)
{
    (void)state;
    const char *names[NPACK] = {"1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"};
    struct maxsets ms = {.m = model("H100-80GB")};
    uint32_t set = 0;
    for (unsigned k = 0; k < NPACK; k++) {
        ms.idx[k] = prof(ms.m, names[k]);
        set |= 1u << ms.idx[k];
    }
    assert_true(al_layout_enumerate(ms.m, set, true, collect_max, &ms) > 0);
    unsigned runs = 0, worse = 0, gap_sum = 0, gap_max = 0, opt_sum = 0;
    rng_state = 77;
    for (int run = 0; run < 150; run++) {
        struct env e;
        struct al_plan pl = {0};
        struct al_err err;
        env_open(&e);
        add_node(&e, "a", "", "", "H100-80GB", 4);
        add_node(&e, "b", "", "", "H100-80GB", 4);
        env_ready(&e, 0);
        int d[NPACK] = {0};
        unsigned slices = 0, target = 8 + rnd(22);
        bool used[8] = {false};
        while (slices < target) {
            unsigned k = rnd(NPACK), n = 1 + rnd(k < 3 ? 3 : 2);
            struct al_request r = mig_req("H100-80GB", names[k], n, 0, 100);
            assert_int_equal(
                al_planner_admit(e.p, &r, res((uint64_t)run * 100 + slices), 0, &pl, &err), 0);
            for (unsigned i = 0; i < pl.n; i++)
                used[pl.allocs[i].gpu] = true;
            d[k] += (int)n;
            slices += n * ms.m->profiles[ms.idx[k]].compute_slices;
        }
        unsigned got = 0, opt = 1;
        for (unsigned g = 0; g < 8; g++)
            got += used[g];
        while (!cover(&ms, d, opt, 0))
            opt++;
        assert_true(got >= opt);
        unsigned gap = got - opt;
        gap_sum += gap;
        opt_sum += opt;
        worse += gap > 0;
        gap_max = gap > gap_max ? gap : gap_max;
        assert_true(gap <= 1); /* the documented bound: at most one GPU over the optimum */
        runs++;
        al_plan_clear(&pl);
        env_close(&e);
    }
    printf("packing: %u runs (requests online, in random order), optimum %u GPUs in all, "
           "planner %u over it (%.1f%%); %u runs worse than optimal, worst by %u GPU\n",
           runs, opt_sum, gap_sum, 100.0 * gap_sum / opt_sum, worse, gap_max);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_node_preference),
        cmocka_unit_test(test_refusal_bounds),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_labels_set_later),
        cmocka_unit_test(test_windows_disjoint),
        cmocka_unit_test(test_expiry_and_mode_exclusion),
        cmocka_unit_test(test_mig_preferences),
        cmocka_unit_test(test_random_streams),
        cmocka_unit_test(test_packing_vs_optimum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
