/* test_calendar.c — unit and property tests of core/fleet and core/calendar: hand-worked hold
 * rules, then long random operation sequences checked against an independent brute-force model
 * (a plain list of holds, checked instant by instant with al_layout_validate). */
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

#define T0 1000000 /* calendar origin used by the tests */

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

static unsigned prof(const struct al_gpu_model *m, const char *name)
{
    int i = al_catalog_profile_index(m, name);
    assert_true(i >= 0);
    return (unsigned)i;
}

static struct al_hold mig(uint32_t gpu, unsigned p, unsigned start, int64_t t0, int64_t t1,
                          uint64_t owner)
{
    struct al_hold h = {.gpu = gpu,
                        .profile = (uint8_t)p,
                        .start = (uint8_t)start,
                        .t0 = T0 + t0,
                        .t1 = T0 + t1,
                        .owner = {owner, AL_OWNER_RESERVATION}};
    return h;
}

static struct al_hold whole(uint32_t gpu, int64_t t0, int64_t t1, uint64_t owner)
{
    struct al_hold h = {.gpu = gpu,
                        .whole = true,
                        .t0 = T0 + t0,
                        .t1 = T0 + t1,
                        .owner = {owner, AL_OWNER_RESERVATION}};
    return h;
}

/* A fleet of one node with an H100-80GB (gpu 0), an A30-24GB (gpu 1) and an L40S (gpu 2). */
static struct al_fleet *small_fleet(void)
{
    struct al_fleet *f = al_fleet_new();
    assert_non_null(f);
    assert_int_equal(al_fleet_add_node(f, "n1", "z1", "rack=a,ib", NULL, NULL), 0);
    assert_int_equal(al_fleet_add_gpu(f, 0, model("H100-80GB"), 0, "GPU-a", AL_POOL_GENERAL, NULL),
                     0);
    assert_int_equal(al_fleet_add_gpu(f, 0, model("A30-24GB"), 1, "GPU-b", AL_POOL_GENERAL, NULL),
                     1);
    assert_int_equal(al_fleet_add_gpu(f, 0, model("L40S"), 2, "GPU-c", AL_POOL_DEDICATED, NULL), 2);
    return f;
}

static void test_fleet_basics(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_err e = {0};
    assert_int_equal(al_fleet_add_node(f, "n1", NULL, NULL, NULL, &e), AL_E_CONFLICT);
    assert_int_equal(al_fleet_add_node(f, "", NULL, NULL, NULL, &e), AL_E_INVAL);
    assert_int_equal(al_fleet_add_gpu(f, 0, model("L40S"), 2, NULL, AL_POOL_GENERAL, &e),
                     AL_E_CONFLICT);
    assert_int_equal(al_fleet_add_gpu(f, 0, model("L40S"), 3, "GPU-a", AL_POOL_GENERAL, &e),
                     AL_E_CONFLICT);
    assert_int_equal(al_fleet_add_gpu(f, 7, model("L40S"), 3, NULL, AL_POOL_GENERAL, &e),
                     AL_E_NOTFOUND);
    assert_int_equal(al_fleet_ngpus(f), 3);
    assert_int_equal(al_fleet_nmodels(f), 3);
    assert_int_equal(al_fleet_find_gpu(f, "GPU-b"), 1);
    assert_int_equal(al_fleet_find_node(f, "n1"), 0);
    assert_int_equal(al_fleet_model_bits(f, 1)[0], 2);
    assert_int_equal(al_fleet_gpu(f, 1)->model_slot, 1);
    assert_true(al_fleet_labels_match("rack=a,ib", "ib"));
    assert_true(al_fleet_labels_match("rack=a,ib", "rack=a"));
    assert_true(al_fleet_labels_match("rack=a,ib", "rack"));
    assert_true(al_fleet_labels_match("rack=a,ib", "rack=a,ib"));
    assert_false(al_fleet_labels_match("rack=a,ib", "rack=b"));
    assert_false(al_fleet_labels_match("rack=a,ib", "i"));
    assert_false(al_fleet_labels_match("", "ib"));
    assert_int_equal(al_fleet_set_mig(f, 2, true, NULL), AL_E_INVAL); /* L40S has no MIG */
    /* lookups stay right as the hash tables grow */
    for (unsigned i = 0; i < 300; i++) {
        char name[32], uuid[32];
        snprintf(name, sizeof name, "node-%u", i);
        snprintf(uuid, sizeof uuid, "GPU-%u", i);
        int n = al_fleet_add_node(f, name, NULL, NULL, NULL, NULL);
        assert_int_equal(n, (int)i + 1);
        assert_int_equal(
            al_fleet_add_gpu(f, (uint32_t)n, model("L40S"), 0, uuid, AL_POOL_GENERAL, NULL),
            3 + 2 * (int)i);
        assert_int_equal(
            al_fleet_add_gpu(f, (uint32_t)n, model("L40S"), 1, NULL, AL_POOL_GENERAL, NULL),
            4 + 2 * (int)i);
    }
    for (unsigned i = 0; i < 300; i++) {
        char name[32], uuid[32];
        snprintf(name, sizeof name, "node-%u", i);
        snprintf(uuid, sizeof uuid, "GPU-%u", i);
        assert_int_equal(al_fleet_find_node(f, name), (int)i + 1);
        assert_int_equal(al_fleet_find_gpu(f, uuid), 3 + 2 * (int)i);
    }
    assert_int_equal(al_fleet_find_gpu(f, "GPU-a"), 0);
    assert_int_equal(al_fleet_find_gpu(f, "GPU-300"), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_find_gpu(f, ""), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_find_node(f, "node-300"), AL_E_NOTFOUND);
    assert_int_equal(al_fleet_add_gpu(f, 5, model("L40S"), 7, "GPU-17", AL_POOL_GENERAL, &e),
                     AL_E_CONFLICT);
    assert_int_equal(al_fleet_add_node(f, "node-17", NULL, NULL, NULL, &e), AL_E_CONFLICT);
    al_fleet_free(f);
    al_fleet_free(NULL);
}

static void test_whole_vs_mig_exclusion(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_calendar *c = al_calendar_new(f, T0, 60);
    const struct al_gpu_model *h = model("H100-80GB");
    struct al_err e = {0};
    struct al_hold w = whole(0, 100, 200, 1);
    assert_int_equal(al_calendar_add(c, &w, &e), 0);
    /* MIG hold at overlapping times: refused (a GPU changes mode only when wholly free) */
    struct al_hold m = mig(0, prof(h, "1g.10gb"), 0, 150, 250, 2);
    assert_int_equal(al_calendar_add(c, &m, &e), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "hold 0"));
    /* touching intervals are fine: [100,200) then [200,300) */
    m = mig(0, prof(h, "1g.10gb"), 0, 200, 300, 2);
    assert_int_equal(al_calendar_add(c, &m, &e), 1);
    w = whole(0, 250, 260, 3);
    assert_int_equal(al_calendar_add(c, &w, &e), AL_E_CONFLICT);
    w = whole(0, 300, 400, 3);
    assert_int_equal(al_calendar_add(c, &w, &e), 2);
    assert_int_equal(al_calendar_mask(c, 0, T0 + 150, T0 + 250), AL_CAL_WHOLE_MASK);
    assert_int_equal(al_calendar_mask(c, 0, T0 + 200, T0 + 300), 1);
    assert_true(al_calendar_free_during(c, 0, T0 + 0, T0 + 100));
    assert_false(al_calendar_free_during(c, 0, T0 + 0, T0 + 101));
    /* a non-MIG model takes whole holds only */
    m = mig(2, 0, 0, 0, 10, 4);
    assert_int_equal(al_calendar_add(c, &m, &e), AL_E_INVAL);
    al_calendar_free(c);
    al_fleet_free(f);
}

static void test_mig_rules(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_calendar *c = al_calendar_new(f, T0, 0);
    const struct al_gpu_model *h = model("H100-80GB");
    struct al_err e = {0};
    struct al_hold a = mig(0, prof(h, "3g.40gb"), 4, 0, 100, 1);
    assert_true(al_calendar_add(c, &a, &e) >= 0);
    struct al_hold b = mig(0, prof(h, "4g.40gb"), 0, 50, 150, 2);
    assert_true(al_calendar_add(c, &b, &e) >= 0); /* 4g@0 + 3g@4 is a valid layout */
    struct al_hold x = mig(0, prof(h, "1g.10gb"), 5, 60, 70, 3);
    assert_int_equal(al_calendar_add(c, &x, &e), AL_E_CONFLICT);
    x = mig(0, prof(h, "1g.10gb"), 5, 100, 110, 3); /* after 3g@4 ends */
    assert_true(al_calendar_add(c, &x, &e) >= 0);
    assert_int_equal(al_calendar_mask(c, 0, T0 + 0, T0 + 200), 0xff);
    /* a start the profile does not allow */
    x = mig(0, prof(h, "3g.40gb"), 2, 500, 600, 3);
    assert_int_equal(al_calendar_add(c, &x, &e), AL_E_INVAL);
    /* two +me instances at one time: units are disjoint but the layout rule refuses it */
    x = mig(0, prof(h, "1g.10gb+me"), 0, 1000, 1100, 4);
    assert_true(al_calendar_add(c, &x, &e) >= 0);
    x = mig(0, prof(h, "1g.10gb+me"), 1, 1050, 1200, 5);
    assert_int_equal(al_calendar_add(c, &x, &e), AL_E_CONFLICT);
    x = mig(0, prof(h, "1g.10gb+me"), 1, 1100, 1200, 5);
    assert_true(al_calendar_add(c, &x, &e) >= 0);
    al_calendar_free(c);
    al_fleet_free(f);
}

static void test_extend_shorten_release(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_calendar *c = al_calendar_new(f, T0, 60);
    struct al_err e = {0};
    struct al_hold a = whole(2, 0, 100, 1), b = whole(2, 200, 300, 2), got;
    int ia = al_calendar_add(c, &a, &e), ib = al_calendar_add(c, &b, &e);
    assert_true(ia >= 0 && ib >= 0);
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 200, &e), 0);
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 201, &e), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "reservation 00000000000002"));
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 150, &e), AL_E_INVAL);
    assert_int_equal(al_calendar_get(c, (uint32_t)ia, &got), 0);
    assert_int_equal(got.t1, T0 + 200);
    assert_int_equal(al_calendar_shorten(c, (uint32_t)ib, T0 + 250, &e), 0);
    assert_int_equal(al_calendar_shorten(c, (uint32_t)ib, T0 + 260, &e), AL_E_INVAL);
    assert_true(al_calendar_free_during(c, 2, T0 + 250, T0 + 400));
    assert_int_equal(al_calendar_release(c, (uint32_t)ib), 0);
    assert_int_equal(al_calendar_release(c, (uint32_t)ib), AL_E_NOTFOUND);
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 1000, &e), 0);
    assert_int_equal(al_calendar_count(c, UINT32_MAX, 0, 0), 1);
    al_calendar_free(c);
    al_fleet_free(f);
}

static void test_owner_ops_and_expiry(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_calendar *c = al_calendar_new(f, T0, 60);
    const struct al_gpu_model *h = model("H100-80GB");
    struct al_err e = {0};
    struct al_owner q = {7, AL_OWNER_TENTATIVE}, res = {7, AL_OWNER_RESERVATION};
    struct al_hold a = mig(0, prof(h, "3g.40gb"), 0, 0, 100, 0);
    a.owner = q;
    a.expires = T0 + 50;
    struct al_hold b = a;
    b.start = 4;
    assert_true(al_calendar_add(c, &a, &e) >= 0 && al_calendar_add(c, &b, &e) >= 0);
    struct al_hold other = mig(0, prof(h, "3g.40gb"), 0, 0, 100, 9);
    assert_int_equal(al_calendar_add(c, &other, &e), AL_E_CONFLICT);
    assert_int_equal(al_calendar_expire(c, T0 + 49), 0);
    assert_int_equal(al_calendar_owner_holds(c, q, NULL, 0), 2);
    assert_int_equal(al_calendar_expire(c, T0 + 50), 2); /* the quote lapsed: capacity is back */
    assert_int_equal(al_calendar_owner_holds(c, q, NULL, 0), 0);
    assert_true(al_calendar_add(c, &other, &e) >= 0);
    /* a confirmed quote does not expire */
    b.owner = q;
    assert_true(al_calendar_add(c, &b, &e) >= 0);
    assert_int_equal(al_calendar_reown(c, q, res), 1);
    assert_int_equal(al_calendar_expire(c, T0 + 10000), 0);
    assert_int_equal(al_calendar_owner_holds(c, res, NULL, 0), 1);
    /* renewal of the whole reservation; refused as a whole when one hold is blocked */
    struct al_hold blocker = mig(0, prof(h, "3g.40gb"), 4, 300, 400, 10);
    assert_true(al_calendar_add(c, &blocker, &e) >= 0);
    struct al_hold c2 = mig(0, prof(h, "1g.10gb"), 0, 50, 100, 7);
    c2.start = 0;
    c2.t0 = T0 + 100; /* same owner, unit 0, after `other` ends */
    c2.t1 = T0 + 150;
    assert_true(al_calendar_add(c, &c2, &e) >= 0);
    assert_int_equal(al_calendar_extend_owner(c, res, T0 + 350, &e), AL_E_CONFLICT);
    uint32_t ids[4];
    assert_int_equal(al_calendar_owner_holds(c, res, ids, 4), 2);
    struct al_hold got;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(al_calendar_get(c, ids[i], &got), 0);
        assert_true(got.t1 == T0 + 100 || got.t1 == T0 + 150); /* rolled back */
    }
    assert_int_equal(al_calendar_extend_owner(c, res, T0 + 300, &e), 2);
    assert_int_equal(al_calendar_cancel_owner(c, res), 2);
    assert_int_equal(al_calendar_cancel_owner(c, res), 0);
    al_calendar_free(c);
    al_fleet_free(f);
}

/* Refusals name times as RFC 3339 UTC times and owners by kind and hex id (T0 is
 * 1970-01-12T13:46:40Z). */
static void test_messages_name_times(void **state)
{
    (void)state;
    struct al_fleet *f = small_fleet();
    struct al_calendar *c = al_calendar_new(f, T0, 60);
    struct al_err e = {0};
    const struct al_gpu_model *h = model("H100-80GB");
    struct al_hold a = whole(2, 0, 100, 1), b = whole(2, 200, 300, UINT64_C(0x69a1b2c3d4e5f6));
    int ia = al_calendar_add(c, &a, &e), ib = al_calendar_add(c, &b, &e);
    assert_true(ia >= 0 && ib >= 0);
    /* an extension refused by another hold: the other hold's window, as times */
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 201, &e), AL_E_CONFLICT);
    assert_string_equal(e.msg, "GPU 2: whole GPU overlaps hold 1 of reservation 69a1b2c3d4e5f6 "
                               "during [1970-01-12T13:50:00Z, 1970-01-12T13:51:40Z)");
    struct al_owner one = {1, AL_OWNER_RESERVATION};
    assert_int_equal(al_calendar_extend_owner(c, one, T0 + 250, &e), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "during [1970-01-12T13:50:00Z, 1970-01-12T13:51:40Z)"));
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + 50, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "extend: new end 1970-01-12T13:47:30Z is not after the current "
                               "end 1970-01-12T13:48:20Z");
    assert_int_equal(al_calendar_extend(c, (uint32_t)ia, T0 + ((int64_t)1 << 33), &e), AL_E_RANGE);
    assert_string_equal(e.msg, "extend: new end 2242-03-28T02:43:12Z is outside the calendar's "
                               "range (1970-01-12T13:46:40Z to 2106-02-18T20:14:54Z)");
    assert_int_equal(al_calendar_shorten(c, (uint32_t)ib, T0 + 310, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "shorten: new end 1970-01-12T13:51:50Z is not after the hold's "
                               "start 1970-01-12T13:50:00Z or is after its end "
                               "1970-01-12T13:51:40Z");
    /* bad holds */
    struct al_hold bad = whole(2, 500, 400, 3);
    assert_int_equal(al_calendar_add(c, &bad, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "hold: start 1970-01-12T13:55:00Z is not before its end "
                               "1970-01-12T13:53:20Z");
    bad = whole(2, -10, 5, 3);
    assert_int_equal(al_calendar_add(c, &bad, &e), AL_E_RANGE);
    assert_string_equal(e.msg, "hold: start 1970-01-12T13:46:30Z is outside the calendar's range "
                               "(1970-01-12T13:46:40Z to 2106-02-18T20:14:54Z)");
    bad = whole(2, 1000, 2000, 3);
    bad.owner.kind = AL_OWNER_TENTATIVE;
    bad.expires = T0 + ((int64_t)1 << 32);
    assert_int_equal(al_calendar_add(c, &bad, &e), AL_E_RANGE);
    assert_true(strncmp(e.msg, "hold: expiry 2106-02-18T20:14:56Z is outside", 44) == 0);
    /* a MIG rule at an instant: the instant, as a time */
    struct al_hold me = mig(0, prof(h, "1g.10gb+me"), 0, 0, 100, 5);
    struct al_hold me2 = mig(0, prof(h, "1g.10gb+me"), 3, 50, 150, 6);
    assert_true(al_calendar_add(c, &me, &e) >= 0);
    assert_int_equal(al_calendar_add(c, &me2, &e), AL_E_CONFLICT);
    assert_string_equal(e.msg, "GPU 0: 1g.10gb+me@3 does not fit at 1970-01-12T13:47:30Z: "
                               "1g.10gb+me@3: second media-extension instance (1g.10gb+me@0 has "
                               "one; at most one +me/+me.all per GPU)");
    /* an owner without holds, by its id */
    struct al_owner q = {0xabc, AL_OWNER_TENTATIVE};
    assert_int_equal(al_calendar_extend_owner(c, q, T0 + 500, &e), AL_E_NOTFOUND);
    assert_string_equal(e.msg, "quote 00000000000abc has no holds");
    al_calendar_free(c);
    al_fleet_free(f);
}

/* ---- property test against a brute-force model ---- */

#define HORIZON 400
#define MAXH    400

struct shadow {
    bool live;
    struct al_hold h;
};

struct world {
    struct al_fleet *f;
    struct al_calendar *c;
    struct shadow s[MAXH * 8];
    size_t n;
    int64_t bucket_s;
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)((rng_state >> 33) % n);
}

/* The holds alive on gpu at instant t (shadow model), as a layout; *whole when a whole hold
 * is alive; returns how many are alive. */
static unsigned alive(const struct world *w, uint32_t gpu, int64_t t, struct al_layout *l,
                      unsigned *whole_n)
{
    unsigned n = 0;
    l->model = al_fleet_gpu(w->f, gpu)->model;
    l->n = 0;
    *whole_n = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct al_hold *h = &w->s[i].h;
        if (!w->s[i].live || h->gpu != gpu || h->t0 > t || h->t1 <= t)
            continue;
        n++;
        if (h->whole)
            (*whole_n)++;
        else if (l->n < AL_LAYOUT_MAX)
            l->p[l->n++] = (struct al_placement){h->profile, h->start};
    }
    return n;
}

/* Brute force: would hold h fit next to the live shadow holds (ignoring index `self`)? */
static bool bf_fits(struct world *w, const struct al_hold *h, size_t self)
{
    bool was = self < w->n && w->s[self].live;
    if (self < w->n)
        w->s[self].live = false;
    bool ok = true;
    for (int64_t t = h->t0; t < h->t1 && ok; t++) {
        struct al_layout l;
        unsigned wn, n = alive(w, h->gpu, t, &l, &wn);
        if (h->whole)
            ok = n == 0;
        else if (wn > 0 || l.n >= AL_LAYOUT_MAX)
            ok = false;
        else {
            l.p[l.n++] = (struct al_placement){h->profile, h->start};
            ok = al_layout_validate(&l, NULL) == 0;
        }
    }
    if (self < w->n)
        w->s[self].live = was;
    return ok;
}

/* Every instant of every GPU: a whole hold alone, or a valid layout. */
static void bf_check_all(const struct world *w)
{
    for (uint32_t g = 0; g < al_fleet_ngpus(w->f); g++) {
        for (int64_t t = T0; t < T0 + 2 * HORIZON; t++) {
            struct al_layout l;
            unsigned wn, n = alive(w, g, t, &l, &wn);
            if (wn > 0)
                assert_int_equal(n, 1);
            else if (l.n > 0)
                assert_int_equal(al_layout_validate(&l, NULL), 0);
        }
    }
}

/* Is every MIG placement of gpu's model blocked at some instant of [s, e) (so that no instance
 * can be held throughout the window)? */
static bool bf_no_instance_throughout(const struct world *w, uint32_t gpu, int64_t s, int64_t e)
{
    const struct al_gpu_model *m = al_fleet_gpu(w->f, gpu)->model;
    bool blocked[AL_MIG_MAX_PROFILES][AL_MIG_MAX_STARTS] = {{false}};
    for (int64_t t = s; t < e; t++) {
        struct al_layout l;
        unsigned wn;
        alive(w, gpu, t, &l, &wn);
        for (unsigned q = 0; m->mig && q < m->nprofiles; q++)
            for (unsigned k = 0; k < m->profiles[q].nstarts; k++)
                blocked[q][k] |=
                    wn > 0 || !al_layout_can_add(
                                  &l, (struct al_placement){(uint8_t)q, m->profiles[q].starts[k]});
    }
    for (unsigned q = 0; m->mig && q < m->nprofiles; q++)
        for (unsigned k = 0; k < m->profiles[q].nstarts; k++)
            if (!blocked[q][k])
                return false;
    return true;
}

static unsigned stat_sum_fit;   /* instances window_sum let in: the check below must have teeth */
static unsigned stat_free_many; /* GPUs al_calendar_free_many found busy: the same */

/* al_calendar_window_sum agrees with the calendar's own check: an instance held throughout
 * [s, e) passes al_calendar_check exactly when the window's summary accepts it. */
static void check_window_sum(const struct world *w, uint32_t g, int64_t s, int64_t e, bool whole,
                             uint32_t mask)
{
    const struct al_gpu_model *m = al_fleet_gpu(w->f, g)->model;
    struct al_layout_sum sum;
    int rc = al_calendar_window_sum(w->c, g, s, e, &sum);
    bool room = rc >= 0;
    assert_int_equal(room, !whole);
    assert_true(rc < 0 || (size_t)rc == al_calendar_count(w->c, g, s, e));
    assert_int_equal(sum.mask, room ? mask : 0);
    for (unsigned q = 0; m->mig && q < m->nprofiles; q++) {
        for (unsigned k = 0; k < m->profiles[q].nstarts; k++) {
            struct al_hold h = mig(g, q, m->profiles[q].starts[k], s - T0, e - T0, 999999);
            bool fits = al_calendar_check(w->c, &h, NULL) == 0;
            assert_int_equal(
                room && al_layout_sum_can_add(m, &sum, (struct al_placement){(uint8_t)q, h.start}),
                fits);
            stat_sum_fit += fits;
        }
    }
}

/* Calendar answers equal brute force: holds per GPU, masks, free, index bits. */
static void bf_check_queries(struct world *w)
{
    uint32_t ng = al_fleet_ngpus(w->f);
    int64_t s = T0 + rnd(HORIZON), e = s + 1 + rnd(HORIZON / 2);
    uint64_t sure[1], maybe[1], nowhole[1], used[1];
    assert_int_equal(al_calendar_index(w->c, s, e, sure, maybe, nowhole, used), 0);
    size_t live = 0;
    for (size_t i = 0; i < w->n; i++)
        live += w->s[i].live;
    assert_int_equal(al_calendar_count(w->c, UINT32_MAX, 0, 0), live);
    uint32_t bfmask[64] = {0}; /* the fleets here have at most 64 GPUs */
    bool bffree[64] = {false};
    assert_true(ng <= 64);
    for (uint32_t g = 0; g < ng; g++) {
        uint32_t mask = 0;
        bool any_whole = false;
        size_t cnt = 0;
        for (size_t i = 0; i < w->n; i++) {
            const struct al_hold *h = &w->s[i].h;
            if (!w->s[i].live || h->gpu != g || h->t0 >= e || h->t1 <= s)
                continue;
            cnt++;
            any_whole |= h->whole;
            mask |= h->whole ? AL_CAL_WHOLE_MASK
                             : al_placement_mask(al_fleet_gpu(w->f, g)->model,
                                                 (struct al_placement){h->profile, h->start});
        }
        assert_int_equal(al_calendar_mask(w->c, g, s, e), mask);
        check_window_sum(w, g, s, e, any_whole, mask);
        bfmask[g] = mask;
        assert_int_equal(al_calendar_count(w->c, g, s, e), cnt);
        assert_int_equal(al_calendar_free_during(w->c, g, s, e), cnt == 0);
        bffree[g] = cnt == 0;
        bool sf = (sure[0] >> g) & 1, mb = (maybe[0] >> g) & 1;
        if (sf)
            assert_int_equal(cnt, 0); /* "surely free" is never wrong */
        if (!sf && !mb)
            assert_true(cnt > 0);     /* nor is "surely busy" */
        if (!((nowhole[0] >> g) & 1)) /* "no MIG room": no instance fits throughout the window */
            assert_true(any_whole || bf_no_instance_throughout(w, g, s, e));
        assert_int_equal((used[0] >> g) & 1, !sf);
    }
    /* the batched masks: GPUs in random order, repeats, an unknown GPU, more than one batch */
    uint32_t gpus[AL_CAL_BATCH + 40], got[AL_CAL_BATCH + 40];
    size_t n = rnd(AL_CAL_BATCH + 40);
    for (size_t i = 0; i < n; i++)
        gpus[i] = rnd(ng + 1);
    al_calendar_masks(w->c, gpus, n, s, e, got);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], gpus[i] < ng ? bfmask[gpus[i]] : 0);
    /* the batched free checks (same list): an unknown GPU is free, as al_calendar_free_during
     * says */
    bool fr[AL_CAL_BATCH + 40];
    al_calendar_free_many(w->c, gpus, n, s, e, fr);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fr[i], gpus[i] < ng ? bffree[gpus[i]] : true);
        stat_free_many += gpus[i] < ng && !fr[i];
    }
    /* the batched window sums: the same as one at a time */
    struct al_layout_sum sums[AL_CAL_BATCH + 40], one;
    int rcs[AL_CAL_BATCH + 40];
    al_calendar_window_sums(w->c, gpus, n, s, e, rcs, sums);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rcs[i], al_calendar_window_sum(w->c, gpus[i], s, e, &one));
        assert_memory_equal(&sums[i], &one, sizeof one);
    }
}

static unsigned stat_units; /* UNITS bytes seen set: the check below must have teeth */

/* UNITS (al_calendar_units_word) equals brute force: per GPU, the OR of the low 8 units of the
 * holds overlapping the 4-bucket blocks wholly inside a window (all for a whole-GPU hold). */
static void bf_check_units(const struct world *w)
{
    uint32_t ng = al_fleet_ngpus(w->f);
    int64_t s = T0 + rnd(HORIZON), e = s + 1 + rnd(HORIZON * 2), blk = 4 * w->bucket_s;
    struct al_cal_span sp;
    assert_int_equal(al_calendar_prepare(w->c, s, e, &sp), 0);
    uint8_t got[64];
    memset(got, 0xaa, sizeof got);
    uint64_t all = ng == 64 ? UINT64_MAX : (UINT64_C(1) << ng) - 1;
    al_calendar_units_word(w->c, &sp, 0, all, got);
    int64_t k0 = (s - T0 + blk - 1) / blk, k1 = (e - T0) / blk; /* blocks [k0, k1) inside */
    for (uint32_t g = 0; g < ng; g++) {
        uint32_t want = 0;
        for (size_t i = 0; i < w->n && k0 < k1; i++) {
            const struct al_hold *h = &w->s[i].h;
            if (!w->s[i].live || h->gpu != g || h->t0 >= T0 + k1 * blk || h->t1 <= T0 + k0 * blk)
                continue;
            want |= h->whole
                        ? 0xffu
                        : 0xffu & al_placement_mask(al_fleet_gpu(w->f, g)->model,
                                                    (struct al_placement){h->profile, h->start});
        }
        assert_int_equal(got[g], want);
        stat_units += want != 0;
    }
}

static size_t pick_live(struct world *w)
{
    if (w->n == 0)
        return SIZE_MAX;
    for (int tries = 0; tries < 20; tries++) {
        size_t i = rnd((uint32_t)w->n);
        if (w->s[i].live)
            return i;
    }
    return SIZE_MAX;
}

static struct al_hold random_hold(struct world *w)
{
    struct al_hold h = {0};
    h.gpu = rnd(al_fleet_ngpus(w->f));
    const struct al_gpu_model *m = al_fleet_gpu(w->f, h.gpu)->model;
    h.whole = !m->mig || rnd(5) == 0;
    if (!h.whole) {
        h.profile = (uint8_t)rnd(m->nprofiles);
        const struct al_mig_profile *pr = &m->profiles[h.profile];
        h.start = pr->starts[rnd(pr->nstarts)];
    }
    h.t0 = T0 + rnd(HORIZON);
    h.t1 = h.t0 + 1 + rnd(rnd(4) == 0 ? HORIZON : 40);
    h.owner.kind = (enum al_owner_kind)rnd(3);
    h.owner.id = rnd(30);
    if (h.owner.kind == AL_OWNER_TENTATIVE)
        h.expires = T0 + rnd(HORIZON);
    return h;
}

/* id of each shadow entry = its index (the calendar recycles ids, so the map is explicit) */
static uint32_t ids_of[MAXH * 8];
static unsigned stat_add[2], stat_ext[2]; /* [refused, accepted]: both must happen */

/* Add a random hold; the calendar must accept it exactly when the shadow model says it fits. */
static void op_add(struct world *w)
{
    struct al_err e;
    struct al_hold h = random_hold(w);
    bool fit = bf_fits(w, &h, SIZE_MAX);
    int rc = al_calendar_add(w->c, &h, &e);
    assert_int_equal(rc >= 0, fit);
    stat_add[rc >= 0]++;
    if (rc < 0) {
        assert_int_equal(rc, AL_E_CONFLICT);
        return;
    }
    w->s[w->n].live = true;
    w->s[w->n].h = h;
    if (h.owner.kind != AL_OWNER_TENTATIVE)
        w->s[w->n].h.expires = 0;
    ids_of[w->n++] = (uint32_t)rc;
}

/* Extend live hold i; accepted exactly when the extra time fits. */
static void op_extend(struct world *w, size_t i)
{
    struct al_err e;
    struct al_hold *h = &w->s[i].h;
    struct al_hold ext = *h;
    int64_t t1 = h->t1 + 1 + rnd(60);
    ext.t0 = h->t1;
    ext.t1 = t1;
    bool fit = bf_fits(w, &ext, i);
    assert_int_equal(al_calendar_extend(w->c, ids_of[i], t1, &e) == 0, fit);
    stat_ext[fit]++;
    if (fit)
        h->t1 = t1;
}

static void op_shorten(struct world *w, size_t i)
{
    struct al_err e;
    struct al_hold *h = &w->s[i].h;
    if (h->t1 - h->t0 <= 1)
        return;
    int64_t t1 = h->t0 + 1 + rnd((uint32_t)(h->t1 - h->t0 - 1));
    assert_int_equal(al_calendar_shorten(w->c, ids_of[i], t1, &e), 0);
    h->t1 = t1;
}

/* Release hold i, or cancel every hold of its owner (the count must match the shadow's). */
static void op_release(struct world *w, size_t i)
{
    if (rnd(2)) {
        assert_int_equal(al_calendar_release(w->c, ids_of[i]), 0);
        w->s[i].live = false;
        return;
    }
    struct al_owner o = w->s[i].h.owner;
    int n = 0;
    for (size_t j = 0; j < w->n; j++) {
        if (w->s[j].live && w->s[j].h.owner.id == o.id && w->s[j].h.owner.kind == o.kind) {
            w->s[j].live = false;
            n++;
        }
    }
    assert_int_equal(al_calendar_cancel_owner(w->c, o), n);
}

/* Expire the tentative holds due at a random time. */
static void op_expire(struct world *w)
{
    int64_t now = T0 + rnd(HORIZON);
    int n = 0;
    for (size_t j = 0; j < w->n; j++) {
        const struct al_hold *x = &w->s[j].h;
        if (w->s[j].live && x->owner.kind == AL_OWNER_TENTATIVE && x->expires != 0 &&
            x->expires <= now) {
            w->s[j].live = false;
            n++;
        }
    }
    assert_int_equal(al_calendar_expire(w->c, now), n);
}

static void one_op(struct world *w)
{
    unsigned op = rnd(10);
    if (op < 5 && w->n < (size_t)MAXH * 8) {
        op_add(w);
        return;
    }
    size_t i = pick_live(w);
    if (i == SIZE_MAX)
        return;
    if (op < 7)
        op_extend(w, i);
    else if (op == 7)
        op_shorten(w, i);
    else if (op == 8)
        op_release(w, i);
    else
        op_expire(w);
}

static void run_world(uint64_t seed, int ops)
{
    static struct world w;
    const char *models[] = {"H100-80GB", "A30-24GB", "L40S", "A100-40GB"};
    memset(&w, 0, sizeof w);
    rng_state = seed;
    w.f = al_fleet_new();
    unsigned nn = 1 + rnd(2);
    for (unsigned n = 0; n < nn; n++) {
        char name[16];
        snprintf(name, sizeof name, "n%u", n);
        assert_true(al_fleet_add_node(w.f, name, NULL, NULL, NULL, NULL) >= 0);
        unsigned ng = 1 + rnd(3);
        for (unsigned g = 0; g < ng; g++)
            assert_true(al_fleet_add_gpu(w.f, n, model(models[rnd(4)]), g, NULL, AL_POOL_GENERAL,
                                         NULL) >= 0);
    }
    w.bucket_s = 60 + 30 * rnd(3);
    w.c = al_calendar_new(w.f, T0, w.bucket_s);
    for (int k = 0; k < ops; k++) {
        one_op(&w);
        if (k % 25 == 0) {
            bf_check_queries(&w);
            bf_check_units(&w);
        }
    }
    bf_check_all(&w);
    /* every hold the calendar has is the shadow's, same fields */
    for (size_t i = 0; i < w.n; i++) {
        struct al_hold got;
        if (!w.s[i].live)
            continue;
        assert_int_equal(al_calendar_get(w.c, ids_of[i], &got), 0);
        assert_int_equal(got.t0, w.s[i].h.t0);
        assert_int_equal(got.t1, w.s[i].h.t1);
        assert_int_equal(got.gpu, w.s[i].h.gpu);
        assert_int_equal(got.whole, w.s[i].h.whole);
    }
    al_calendar_free(w.c);
    al_fleet_free(w.f);
}

static void test_random_sequences(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 60; seed++)
        run_world(seed, 1000);
    printf("calendar property: adds %u accepted / %u refused, extends %u / %u\n", stat_add[1],
           stat_add[0], stat_ext[1], stat_ext[0]);
    printf("calendar property: %u UNITS bytes set, %u instances fit a window sum, %u batched "
           "free checks busy\n",
           stat_units, stat_sum_fit, stat_free_many);
    assert_true(stat_add[0] > 100 && stat_add[1] > 100 && stat_ext[0] > 50 && stat_ext[1] > 50);
    assert_true(stat_units > 100 && stat_sum_fit > 1000 && stat_free_many > 1000);
}

static void test_growth(void **state)
{
    (void)state;
    /* GPUs added after the calendar exists, holds far in the future: the index grows */
    struct al_fleet *f = al_fleet_new();
    struct al_calendar *c = al_calendar_new(f, T0, 60);
    assert_int_equal(al_fleet_add_node(f, "n", NULL, NULL, NULL, NULL), 0);
    for (unsigned i = 0; i < 200; i++)
        assert_int_equal(al_fleet_add_gpu(f, 0, model("L40S"), i, NULL, AL_POOL_GENERAL, NULL),
                         (int)i);
    struct al_err e;
    for (unsigned i = 0; i < 200; i++) {
        struct al_hold h = whole(i, (int64_t)i * 1000, (int64_t)i * 1000 + 5000, i);
        assert_int_equal(al_calendar_add(c, &h, &e), (int)i);
    }
    uint64_t sure[4];
    assert_int_equal(al_calendar_index(c, T0 + 199020, T0 + 199021, sure, NULL, NULL, NULL), 0);
    for (unsigned i = 0; i < 200; i++)
        assert_int_equal((sure[i / 64] >> (i % 64)) & 1, !(i >= 195));
    assert_true(al_calendar_bytes(c) > (size_t)200 * 32);
    struct al_hold past = whole(0, -10, 5, 1);
    assert_int_equal(al_calendar_add(c, &past, &e), AL_E_RANGE);
    al_calendar_free(c);
    al_calendar_free(NULL);
    al_fleet_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_basics),
        cmocka_unit_test(test_whole_vs_mig_exclusion),
        cmocka_unit_test(test_mig_rules),
        cmocka_unit_test(test_extend_shorten_release),
        cmocka_unit_test(test_messages_name_times),
        cmocka_unit_test(test_owner_ops_and_expiry),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_random_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
