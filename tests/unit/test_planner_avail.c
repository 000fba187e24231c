/* test_planner_avail.c — unit tests of the planner's availability (planner_avail.c): on random
 * fleets and holds, every count equals brute force (an instance count is the largest set of
 * instances over the window that the calendar itself accepts), and the loop GET
 * /v1/availability ran before (routes_flow.c's avail_count and fit_count, copied below) gives
 * the same answers except where it ignored the media-extension rules; hand-worked cases show
 * those. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/calendar.h"
#include "core/catalog.h"
#include "core/fleet.h"
#include "core/layout.h"
#include "core/planner.h"

#define T0      1000000 /* calendar origin */
#define HORIZON 2000
#define PROBE   UINT64_C(0xfffffffffff) /* owner of brute force's trial holds */

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

struct env {
    struct al_fleet *f;
    struct al_calendar *c;
    struct al_planner *p;
};

static void env_close(struct env *e)
{
    al_planner_free(e->p);
    al_calendar_free(e->c);
    al_fleet_free(e->f);
}

static void env_ready(struct env *e, int64_t bucket)
{
    e->c = al_calendar_new(e->f, T0, bucket);
    e->p = al_planner_new(e->f, e->c);
    assert_non_null(e->c);
    assert_non_null(e->p);
}

/* ---- the route's loop, as routes_flow.c had it (al_cal_mask inlined) ---- */

static uint32_t route_mask(const struct al_gpu_model *m, int profile, int start)
{
    return (uint32_t)(((UINT64_C(1) << m->profiles[profile].size) - 1) << start);
}

static unsigned fit_count(const struct al_gpu_model *m, unsigned p, uint32_t taken)
{
    const struct al_mig_profile *pr = &m->profiles[p];
    unsigned n = 0, slices = 0;
    for (unsigned k = 0; k < pr->nstarts && n < pr->max_count; k++) {
        uint32_t mk = route_mask(m, (int)p, pr->starts[k]);
        if ((taken & mk) || slices + pr->compute_slices > m->compute_slices)
            continue;
        taken |= mk;
        slices += pr->compute_slices;
        n++;
    }
    return n;
}

static void avail_count(const struct env *env, const struct al_gpu_model *m, int64_t s, int64_t e,
                        unsigned *total, unsigned *whole, unsigned *inst)
{
    int slot = al_fleet_model_slot(env->f, m);
    const uint64_t *mb = slot >= 0 ? al_fleet_model_bits(env->f, (unsigned)slot) : NULL;
    const uint64_t *ub = al_fleet_usable_bits(env->f);
    unsigned empty[AL_MIG_MAX_PROFILES] = {0};
    struct al_cal_span sp;
    bool indexed = al_calendar_prepare(env->c, s, e, &sp) == 0;
    *total = *whole = 0;
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        empty[p] = fit_count(m, p, 0);
    for (size_t w = 0; mb && ub && w < al_fleet_words(env->f); w++) {
        uint64_t cand = mb[w] & ub[w], idx[4] = {0};
        if (!cand)
            continue;
        if (indexed)
            al_calendar_index_word(env->c, &sp, w, idx);
        unsigned nfree = (unsigned)__builtin_popcountll(cand & idx[0]);
        *total += (unsigned)__builtin_popcountll(cand);
        *whole += nfree;
        for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
            inst[p] += nfree * empty[p];
        for (uint64_t bits = cand & ~idx[0]; bits; bits &= bits - 1) {
            uint32_t g = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
            uint32_t taken = al_calendar_mask(env->c, g, s, e);
            *whole += taken == 0;
            for (unsigned p = 0; m->mig && p < m->nprofiles && taken != AL_CAL_WHOLE_MASK; p++)
                inst[p] += fit_count(m, p, taken);
        }
    }
}

/* ---- hand-worked cases ---- */

static int prof(const struct al_gpu_model *m, const char *name)
{
    int i = al_catalog_profile_index(m, name);
    assert_true(i >= 0);
    return i;
}

static struct al_hold hold(uint32_t gpu, const struct al_gpu_model *m, const char *pname,
                           unsigned start, int64_t t0, int64_t t1, uint64_t owner)
{
    struct al_hold h = {.gpu = gpu,
                        .whole = pname == NULL,
                        .profile = pname ? (uint8_t)prof(m, pname) : 0,
                        .start = (uint8_t)start,
                        .t0 = T0 + t0,
                        .t1 = T0 + t1,
                        .owner = {owner, AL_OWNER_RESERVATION}};
    return h;
}

/* One H100 and one RTX PRO 6000 with media-extension instances held: the route counted room
 * for a second media instance, and for instances next to a +me.all one, that the calendar
 * refuses. */
static void test_media_rules(void **state)
{
    (void)state;
    struct env e = {al_fleet_new(), NULL, NULL};
    const struct al_gpu_model *h = model("H100-80GB"), *rtx = model("RTX-PRO-6000");
    assert_int_equal(al_fleet_add_node(e.f, "n0", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(e.f, 0, h, 0, NULL, AL_POOL_GENERAL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(e.f, 0, rtx, 1, NULL, AL_POOL_GENERAL, NULL), 1);
    env_ready(&e, 3600);
    struct al_hold me = hold(0, h, "1g.10gb+me", 0, 0, 7200, 1);
    struct al_hold meall = hold(1, rtx, "1g.24gb+me.all", 0, 0, 7200, 2);
    assert_true(al_calendar_add(e.c, &me, NULL) >= 0);
    assert_true(al_calendar_add(e.c, &meall, NULL) >= 0);
    struct al_avail av;
    unsigned total, whole, inst[AL_MIG_MAX_PROFILES] = {0};
    /* H100: a second +me instance does not fit anywhere */
    assert_int_equal(al_planner_avail(e.p, h, T0, T0 + 3600, NULL, &av), 0);
    avail_count(&e, h, T0, T0 + 3600, &total, &whole, inst);
    assert_int_equal(av.gpus, 1);
    assert_int_equal(total, 1);
    assert_int_equal(av.whole_free, 0);
    assert_int_equal(av.inst_free[prof(h, "1g.10gb+me")], 0);
    assert_int_equal(inst[prof(h, "1g.10gb+me")], 1); /* the route's answer was wrong */
    struct al_err err = {0};
    struct al_hold second = hold(0, h, "1g.10gb+me", 3, 0, 3600, 9);
    assert_int_equal(al_calendar_check(e.c, &second, &err), AL_E_CONFLICT);
    assert_non_null(strstr(err.msg, "media-extension"));
    /* the plain profiles agree */
    assert_int_equal(av.inst_free[prof(h, "1g.10gb")], 6);
    assert_int_equal(inst[prof(h, "1g.10gb")], 6);
    assert_int_equal(av.inst_free[prof(h, "3g.40gb")], 1);
    assert_int_equal(inst[prof(h, "3g.40gb")], 1);
    /* RTX PRO: next to a +me.all instance only -me instances may run */
    memset(inst, 0, sizeof inst);
    assert_int_equal(al_planner_avail(e.p, rtx, T0, T0 + 3600, NULL, &av), 0);
    avail_count(&e, rtx, T0, T0 + 3600, &total, &whole, inst);
    assert_int_equal(av.inst_free[prof(rtx, "1g.24gb-me")], 3);
    assert_int_equal(inst[prof(rtx, "1g.24gb-me")], 3);
    assert_int_equal(av.inst_free[prof(rtx, "1g.24gb")], 0);
    assert_int_equal(inst[prof(rtx, "1g.24gb")], 3);
    assert_int_equal(av.inst_free[prof(rtx, "1g.24gb+gfx")], 0);
    assert_int_equal(av.inst_free[prof(rtx, "2g.48gb-me")], 1);
    struct al_hold plain = hold(1, rtx, "1g.24gb", 3, 0, 3600, 9);
    assert_int_equal(al_calendar_check(e.c, &plain, NULL), AL_E_CONFLICT);
    env_close(&e);
}

/* Holds that start and end inside the window: an instance held throughout it must clear the
 * units of each of them, so the route's units-at-any-time count was exact there, not a lower
 * bound; both count 5 1g.10gb. */
static void test_holds_inside_the_window(void **state)
{
    (void)state;
    struct env e = {al_fleet_new(), NULL, NULL};
    const struct al_gpu_model *h = model("H100-80GB");
    assert_int_equal(al_fleet_add_node(e.f, "n0", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(e.f, 0, h, 0, NULL, AL_POOL_GENERAL, NULL), 0);
    env_ready(&e, 600);
    struct al_hold a = hold(0, h, "1g.10gb", 0, 0, 3000, 1),
                   b = hold(0, h, "1g.10gb", 1, 3000, 6000, 2);
    assert_true(al_calendar_add(e.c, &a, NULL) >= 0);
    assert_true(al_calendar_add(e.c, &b, NULL) >= 0);
    struct al_avail av;
    unsigned total, whole, inst[AL_MIG_MAX_PROFILES] = {0};
    assert_int_equal(al_planner_avail(e.p, h, T0, T0 + 6000, NULL, &av), 0);
    avail_count(&e, h, T0, T0 + 6000, &total, &whole, inst);
    assert_int_equal(av.inst_free[prof(h, "1g.10gb")], 5);
    assert_int_equal(inst[prof(h, "1g.10gb")], 5);
    /* only the second half: unit 0 is free again */
    assert_int_equal(al_planner_avail(e.p, h, T0 + 3000, T0 + 6000, NULL, &av), 0);
    assert_int_equal(av.inst_free[prof(h, "1g.10gb")], 6);
    assert_int_equal(av.whole_free, 0);
    /* a window before the calendar's origin counts from the origin on */
    assert_int_equal(al_planner_avail(e.p, h, T0 - 5000, T0 + 10, NULL, &av), 0);
    assert_int_equal(av.inst_free[prof(h, "1g.10gb")], 6);
    assert_int_equal(al_planner_avail(e.p, h, T0 - 5000, T0 - 10, NULL, &av), 0);
    assert_int_equal(av.whole_free, 1);
    assert_int_equal(av.inst_free[prof(h, "1g.10gb")], 7);
    /* bad window; a model the fleet lacks */
    assert_int_equal(al_planner_avail(e.p, h, T0 + 5, T0 + 5, NULL, &av), AL_E_INVAL);
    assert_int_equal(al_planner_avail(e.p, model("A30"), T0, T0 + 10, NULL, &av), 0);
    assert_int_equal(av.gpus, 0);
    assert_int_equal(av.nprofiles, model("A30")->nprofiles);
    assert_int_equal(av.inst_free[0], 0);
    env_close(&e);
}

/* ---- random fleets and holds against brute force ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

#define MAXH 600

struct world {
    struct env e;
    struct al_hold h[MAXH]; /* the holds the calendar accepted */
    unsigned n;
};

static const char *const zones[] = {"z1", "z2"};
static const char *const labelsets[] = {"ib,rack=1", "rack=2", ""};

static void random_fleet(struct world *w)
{
    const char *models[] = {"H100-80GB", "A100-40GB", "A30-24GB", "RTX-PRO-6000", "L40S"};
    w->e.f = al_fleet_new();
    unsigned nn = 1 + rnd(3);
    for (unsigned n = 0; n < nn; n++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", n);
        int node = al_fleet_add_node(w->e.f, name, zones[rnd(2)], labelsets[rnd(3)], NULL, NULL);
        assert_true(node >= 0);
        unsigned ng = 1 + rnd(4);
        for (unsigned g = 0; g < ng; g++) {
            int id = al_fleet_add_gpu(w->e.f, (uint32_t)node, model(models[rnd(5)]), g, NULL,
                                      rnd(4) ? AL_POOL_GENERAL : AL_POOL_DEDICATED, NULL);
            assert_true(id >= 0);
            if (rnd(10) == 0)
                al_fleet_set_drained(w->e.f, (uint32_t)id, true);
            if (rnd(10) == 0)
                al_fleet_set_healthy(w->e.f, (uint32_t)id, false);
            if (rnd(20) == 0) /* its node no longer reports it */
                al_fleet_set_present(w->e.f, (uint32_t)id, false);
        }
        if (rnd(12) == 0) /* silent past the heartbeat timeout */
            al_fleet_set_online(w->e.f, (uint32_t)node, false);
    }
    env_ready(&w->e, 60 * (int64_t)(1 + rnd(3)));
}

static void random_holds(struct world *w, unsigned tries)
{
    uint32_t ng = al_fleet_ngpus(w->e.f);
    for (unsigned i = 0; i < tries && w->n < MAXH; i++) {
        uint32_t g = rnd(ng);
        const struct al_gpu_model *m = al_fleet_gpu(w->e.f, g)->model;
        int64_t t0 = T0 + rnd(HORIZON), len = 1 + rnd(rnd(4) ? 300 : 1500);
        struct al_hold h = {.gpu = g,
                            .whole = !m->mig || rnd(6) == 0,
                            .t0 = t0,
                            .t1 = t0 + len,
                            .owner = {1 + i, AL_OWNER_RESERVATION}};
        if (!h.whole) {
            const struct al_mig_profile *pr = &m->profiles[rnd(m->nprofiles)];
            h.profile = (uint8_t)(pr - m->profiles);
            h.start = pr->starts[rnd(pr->nstarts)];
        }
        if (al_calendar_add(w->e.c, &h, NULL) >= 0)
            w->h[w->n++] = h;
    }
}

static bool passes(const struct world *w, uint32_t g, const struct al_where *wh)
{
    const struct al_gpu *gp = al_fleet_gpu(w->e.f, g);
    const struct al_node *nd = al_fleet_node(w->e.f, gp->node);
    if (!gp->healthy || gp->drained || !gp->present || nd->offline)
        return false;
    if (wh->pool >= 0 && gp->pool != wh->pool)
        return false;
    if (wh->zone && strcmp(wh->zone, nd->zone) != 0)
        return false;
    return al_fleet_labels_match(nd->labels, wh->labels);
}

/* Units held on g during [s, e), and whether a whole-GPU hold overlaps (the shadow's view). */
static uint32_t shadow_units(const struct world *w, uint32_t g, int64_t s, int64_t e, bool *whole,
                             bool *any)
{
    uint32_t u = 0;
    *whole = *any = false;
    for (unsigned i = 0; i < w->n; i++) {
        const struct al_hold *h = &w->h[i];
        if (h->gpu != g || h->t0 >= e || h->t1 <= s)
            continue;
        *any = true;
        *whole |= h->whole;
        if (!h->whole)
            u |= al_placement_mask(al_fleet_gpu(w->e.f, g)->model,
                                   (struct al_placement){h->profile, h->start});
    }
    return u;
}

/* Do the instances of `set` (bits over starts[]) all go in as holds over [s, e)? Tried on the
 * calendar itself, then taken out again. */
static bool calendar_takes(struct world *w, uint32_t g, unsigned q, const uint8_t *starts,
                           uint32_t set, int64_t s, int64_t e)
{
    struct al_owner probe = {PROBE, AL_OWNER_RESERVATION};
    bool ok = true;
    for (unsigned j = 0; ok && set >> j; j++) {
        if (!((set >> j) & 1))
            continue;
        struct al_hold h = {
            .gpu = g, .profile = (uint8_t)q, .start = starts[j], .t0 = s, .t1 = e, .owner = probe};
        ok = al_calendar_add(w->e.c, &h, NULL) >= 0;
    }
    al_calendar_cancel_owner(w->e.c, probe);
    return ok;
}

/* Most instances of profile q that the calendar accepts on g over [s, e) together: every
 * subset of the starts clear of the held units, largest first. */
static unsigned bf_room(struct world *w, uint32_t g, unsigned q, uint32_t held, int64_t s,
                        int64_t e)
{
    const struct al_gpu_model *m = al_fleet_gpu(w->e.f, g)->model;
    const struct al_mig_profile *pr = &m->profiles[q];
    uint8_t starts[AL_MIG_MAX_STARTS];
    unsigned n = 0, best = 0;
    for (unsigned k = 0; k < pr->nstarts; k++)
        if (!(al_placement_mask(m, (struct al_placement){(uint8_t)q, pr->starts[k]}) & held))
            starts[n++] = pr->starts[k];
    for (uint32_t set = 1; set < (UINT32_C(1) << n); set++) {
        unsigned c = (unsigned)__builtin_popcount(set);
        if (c > best && calendar_takes(w, g, q, starts, set, s, e))
            best = c;
    }
    return best;
}

static unsigned stat_checks, stat_inst, stat_route_over;

static void check_model(struct world *w, const struct al_gpu_model *m, int64_t s, int64_t e,
                        const struct al_where *wh)
{
    struct al_avail av;
    unsigned gpus = 0, whole = 0, inst[AL_MIG_MAX_PROFILES] = {0};
    int64_t from = s < T0 ? T0 : s; /* nothing is held before the origin */
    assert_int_equal(al_planner_avail(w->e.p, m, s, e, wh, &av), 0);
    for (uint32_t g = 0; g < al_fleet_ngpus(w->e.f); g++) {
        bool wh_hold, any;
        if (al_fleet_gpu(w->e.f, g)->model != m || !passes(w, g, wh))
            continue;
        uint32_t held = shadow_units(w, g, s, e, &wh_hold, &any);
        gpus++;
        whole += !any;
        for (unsigned q = 0; m->mig && q < m->nprofiles && !wh_hold; q++)
            inst[q] += bf_room(w, g, q, held, from, e);
    }
    assert_ptr_equal(av.model, m);
    assert_int_equal(av.gpus, gpus);
    assert_int_equal(av.whole_free, whole);
    assert_int_equal(av.nprofiles, m->mig ? m->nprofiles : 0);
    for (unsigned q = 0; q < av.nprofiles; q++) {
        assert_int_equal(av.inst_free[q], inst[q]);
        stat_inst += inst[q];
    }
    stat_checks++;
}

static bool has_me_all(const struct al_gpu_model *m)
{
    for (unsigned q = 0; m->mig && q < m->nprofiles; q++)
        if (m->profiles[q].attrs & AL_MIG_ATTR_ME_ALL)
            return true;
    return false;
}

/* Without a filter, the route's loop: the same GPU counts; the same instance counts for every
 * profile without a media attribute on models without +me.all; never fewer. */
static void check_route(const struct world *w, const struct al_gpu_model *m, int64_t s, int64_t e)
{
    struct al_avail av;
    unsigned total, whole, inst[AL_MIG_MAX_PROFILES] = {0};
    assert_int_equal(al_planner_avail(w->e.p, m, s, e, NULL, &av), 0);
    avail_count(&w->e, m, s, e, &total, &whole, inst);
    assert_int_equal(av.gpus, total);
    assert_int_equal(av.whole_free, whole);
    for (unsigned q = 0; q < av.nprofiles; q++) {
        assert_true(inst[q] >= av.inst_free[q]);
        if (m->profiles[q].attrs == 0 && !has_me_all(m))
            assert_int_equal(inst[q], av.inst_free[q]);
        stat_route_over += inst[q] > av.inst_free[q];
    }
}

static void run_world(uint64_t seed)
{
    static struct world w;
    static const char *const want_zone[] = {NULL, "z1", "z2"};
    static const char *const want_labels[] = {NULL, "ib", "rack=2", "rack"};
    memset(&w, 0, sizeof w);
    rng_state = seed;
    random_fleet(&w);
    for (int round = 0; round < 6; round++) {
        random_holds(&w, 40 + rnd(80));
        for (int k = 0; k < 4; k++) {
            int64_t s = T0 - 300 + rnd(HORIZON + 300), e = s + 1 + rnd(rnd(3) ? 400 : 2000);
            if (e <= T0)
                e = T0 + 1;
            struct al_where wh = {.pool = -1};
            if (rnd(3) == 0) {
                wh.zone = want_zone[rnd(3)];
                wh.labels = want_labels[rnd(4)];
                wh.pool = (int)rnd(3) - 1;
            }
            for (unsigned slot = 0; slot < al_fleet_nmodels(w.e.f); slot++) {
                const struct al_gpu_model *m = al_fleet_model(w.e.f, slot);
                check_model(&w, m, s, e, &wh);
                check_route(&w, m, s, e);
            }
        }
    }
    env_close(&w.e);
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_world(seed);
    printf("availability: %u model checks, %u instances counted, route over by media rules in "
           "%u\n",
           stat_checks, stat_inst, stat_route_over);
    assert_true(stat_checks > 1000 && stat_inst > 10000 && stat_route_over > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_rules),
        cmocka_unit_test(test_holds_inside_the_window),
        cmocka_unit_test(test_random_against_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
