/* planner_mig.c — admission of MIG instances: placement on one GPU (greedy, scored for
 * fragmentation over time), the index-guided scan of the fleet, and the choice among GPUs
 * (planner.h has the policy). */
#include "core/planner_internal.h"

/* ---- MIG: placement on one GPU ---- */

/* Placement masks of the plain profiles of model m (one per profile and start) grouped by
 * size, largest first, for frag_score: a unit pair usable by two profiles counts twice. */
static void setup_frag(struct al_planner *p, const struct al_gpu_model *m)
{
    if (p->frag_model == m)
        return;
    p->frag_model = m;
    p->nsizes = 0;
    for (unsigned size = m->units; size >= 1; size--) {
        unsigned n = 0;
        for (unsigned q = 0; q < m->nprofiles; q++) {
            const struct al_mig_profile *pr = &m->profiles[q];
            if (pr->size != size || pr->attrs)
                continue;
            for (unsigned k = 0; k < pr->nstarts && n < AL_MIG_MAX_UNITS * AL_MIG_MAX_PROFILES; k++)
                p->masks[p->nsizes][n++] =
                    al_placement_mask(m, (struct al_placement){(uint8_t)q, pr->starts[k]});
        }
        if (n > 0 && p->nsizes < FRAG_SIZES)
            p->nmasks[p->nsizes++] = n;
    }
}

/* How placeable the model's profiles stay with units `used` taken: per size (largest first)
 * the number of its placements still free, as base-64 digits (10 sizes at most), so larger
 * sizes dominate. */
static uint64_t frag_score(const struct al_planner *p, uint32_t used)
{
    uint64_t score = 0;
    for (unsigned s = 0; s < p->nsizes; s++) {
        unsigned free_n = 0;
        for (unsigned j = 0; j < p->nmasks[s]; j++)
            free_n += (p->masks[s][j] & used) == 0;
        score = score * 64 + (free_n < 63 ? free_n : 63);
    }
    return score;
}

static bool layout_has(const struct al_gpu *g, struct al_placement pl)
{
    if (!g->mig_mode)
        return false;
    for (unsigned i = 0; i < g->layout.n; i++)
        if (g->layout.p[i].profile == pl.profile && g->layout.p[i].start == pl.start)
            return true;
    return false;
}

/* Add up to `want` instances of profile `prof` to GPU g whose window has the alive layouts
 * lays[0..nl) and units `used`: each step takes the feasible start that keeps the current
 * layout (no reconfiguration) if any, else the best fragmentation score. Every profile in the
 * catalog starts on multiples of its size, so its placements are disjoint slots and any greedy
 * order reaches the most instances a GPU can take (the tests compare it with an exhaustive
 * search); a model with overlapping starts for one profile would need a search here. */
static unsigned greedy(struct al_planner *p, const struct al_gpu *g, unsigned prof, unsigned want,
                       uint32_t used, size_t nl, struct geval *ev)
{
    const struct al_gpu_model *m = g->model;
    const struct al_mig_profile *pr = &m->profiles[prof];
    unsigned k = 0;
    ev->reconf = 0;
    while (k < want && k < AL_LAYOUT_MAX) {
        int best = -1;
        bool best_cur = false;
        uint64_t best_score = 0;
        for (unsigned j = 0; j < pr->nstarts; j++) {
            struct al_placement pl = {(uint8_t)prof, pr->starts[j]};
            uint32_t pm = al_placement_mask(m, pl);
            if (pm & used)
                continue;
            bool ok = true;
            for (size_t i = 0; i < nl && ok; i++)
                ok = p->lays[i].n < AL_LAYOUT_MAX && al_layout_can_add(&p->lays[i], pl);
            if (!ok)
                continue;
            bool cur = layout_has(g, pl);
            uint64_t score = frag_score(p, used | pm);
            if (best < 0 || (cur && !best_cur) || (cur == best_cur && score > best_score)) {
                best = (int)j;
                best_cur = cur;
                best_score = score;
            }
        }
        if (best < 0)
            break;
        struct al_placement pl = {(uint8_t)prof, pr->starts[best]};
        for (size_t i = 0; i < nl; i++)
            p->lays[i].p[p->lays[i].n++] = pl;
        used |= al_placement_mask(m, pl);
        ev->starts[k++] = pl.start;
        ev->reconf += !best_cur;
    }
    return k;
}

/* The distinct sets of MIG holds alive in [s, e) (one per instant where a hold starts, and s)
 * into p->lays. Returns how many, or AL_E_NOFIT when a whole-GPU hold overlaps. */
static int alive_sets(struct al_planner *p, const struct al_gpu_model *m, size_t nh, int64_t s,
                      uint32_t *ret_used)
{
    uint32_t used = 0;
    size_t nl = 0;
    if (grow((void **)&p->lays, &p->laycap, nh + 1, sizeof *p->lays) < 0)
        return AL_E_NOMEM;
    for (size_t i = 0; i < nh; i++) {
        if (p->hbuf[i].whole)
            return AL_E_NOFIT;
        used |= al_placement_mask(m, (struct al_placement){p->hbuf[i].profile, p->hbuf[i].start});
    }
    int64_t last = INT64_MIN;
    for (size_t i = 0; i <= nh; i++) {
        int64_t tau = i == 0 ? s : p->hbuf[i - 1].t0;
        if ((i > 0 && tau <= s) || tau == last)
            continue;
        last = tau;
        struct al_layout *l = &p->lays[nl++];
        l->model = m;
        l->n = 0;
        for (size_t j = 0; j < nh && p->hbuf[j].t0 <= tau; j++)
            if (p->hbuf[j].t1 > tau && l->n < AL_LAYOUT_MAX)
                l->p[l->n++] = (struct al_placement){p->hbuf[j].profile, p->hbuf[j].start};
    }
    *ret_used = used;
    return (int)nl;
}

static int tedge_cmp(const void *a, const void *b)
{
    const struct tedge *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

/* The placement masks (of setup_frag) that units `add` overlap, with their size index: the only
 * ones whose loss time_loss has to count. Returns how many. */
static unsigned touched_masks(const struct al_planner *p, uint32_t add, uint32_t *mk, uint8_t *sz)
{
    unsigned n = 0;
    for (unsigned s = 0; s < p->nsizes && s < LOSS_SIZES; s++)
        for (unsigned j = 0; j < p->nmasks[s]; j++)
            if (p->masks[s][j] & add) {
                mk[n] = p->masks[s][j];
                sz[n++] = (uint8_t)s;
            }
    return n;
}

/* Sort hold edges by time: insertion sort for the few a GPU usually has, qsort beyond. */
static void sort_edges(struct tedge *v, size_t n)
{
    if (n > 24) {
        qsort(v, n, sizeof *v, tedge_cmp);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        struct tedge x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].t > x.t; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* Time-weighted fragmentation cost of adding units `add` to a GPU over [s, e) where the holds
 * p->hbuf[0..nh) (sorted by t0) overlap the window: sweeping the stretches between hold starts
 * and ends, per size the placements that were free and that the new units make unusable,
 * times how long. A GPU whose holds already cover those placements for the window costs
 * nothing; a wholly free GPU costs every placement the units touch for the whole window. */
/* Add `len` to the loss of each touched placement (mk, of size sz) that the units held in the
 * stretch (cnt[u] > 0) leave free. */
static void stretch_loss(const struct al_gpu_model *m, const uint16_t *cnt, unsigned nm,
                         const uint32_t *mk, const uint8_t *sz, int64_t len, int64_t *loss)
{
    uint32_t used = 0;
    for (unsigned u = 0; u < m->units; u++)
        used |= (uint32_t)(cnt[u] > 0) << u;
    for (unsigned j = 0; j < nm; j++)
        loss[sz[j]] += (mk[j] & used) == 0 ? len : 0;
}

static int time_loss(struct al_planner *p, const struct al_gpu_model *m, size_t nh, int64_t s,
                     int64_t e, uint32_t add, int64_t *loss)
{
    uint16_t cnt[AL_MIG_MAX_UNITS] = {0};
    uint32_t mk[AL_MIG_MAX_UNITS * AL_MIG_MAX_PROFILES];
    uint8_t sz[AL_MIG_MAX_UNITS * AL_MIG_MAX_PROFILES];
    unsigned nm = touched_masks(p, add, mk, sz);
    size_t n = 0;
    memset(loss, 0, LOSS_SIZES * sizeof *loss);
    if ((uint64_t)e - (uint64_t)s > (uint64_t)LOSS_SPAN)
        e = s + LOSS_SPAN;
    if (grow((void **)&p->tev, &p->tevcap, 2 * nh + 1, sizeof *p->tev) < 0)
        return AL_E_NOMEM;
    for (size_t i = 0; i < nh; i++) {
        const struct al_hold *h = &p->hbuf[i];
        if (h->t0 >= e)
            continue;
        unsigned size = m->profiles[h->profile].size; /* al_placement_mask, inline */
        uint32_t hm = ((UINT32_C(1) << size) - 1) << h->start;
        if (h->t0 > s)
            p->tev[n++] = (struct tedge){h->t0, hm, 1};
        else
            for (unsigned u = 0; u < m->units; u++)
                cnt[u] += (hm >> u) & 1;
        if (h->t1 < e)
            p->tev[n++] = (struct tedge){h->t1, hm, -1};
    }
    sort_edges(p->tev, n);
    int64_t cur = s;
    for (size_t i = 0; i <= n; i++) {
        int64_t t = i < n ? p->tev[i].t : e;
        if (t > cur) {
            stretch_loss(m, cnt, nm, mk, sz, t - cur, loss);
            cur = t;
        }
        for (unsigned u = 0; i < n && u < m->units; u++)
            cnt[u] = (uint16_t)(cnt[u] + ((p->tev[i].mask >> u) & 1) * p->tev[i].d);
    }
    return 0;
}

/* Units of the instances greedy chose for ev (of profile prof). */
static uint32_t ev_mask(const struct al_gpu_model *m, unsigned prof, const struct geval *ev)
{
    uint32_t mk = 0;
    for (unsigned k = 0; k < ev->cap; k++)
        mk |= al_placement_mask(m, (struct al_placement){(uint8_t)prof, ev->starts[k]});
    return mk;
}

/* Examine GPU ev->gpu for up to `want` instances of `prof` during [s, e). */
static int eval_gpu(struct al_planner *p, unsigned prof, unsigned want, int64_t s, int64_t e,
                    struct geval *ev)
{
    const struct al_gpu *g = al_fleet_gpu(p->f, ev->gpu);
    /* quick refusal: no start of the profile clear of every unit held in the window */
    uint32_t held = al_calendar_mask(p->c, ev->gpu, s, e);
    const struct al_mig_profile *pr = &g->model->profiles[prof];
    bool room = false;
    for (unsigned j = 0; j < pr->nstarts && !room; j++)
        room = !(al_placement_mask(g->model, (struct al_placement){(uint8_t)prof, pr->starts[j]}) &
                 held);
    if (!room) {
        ev->cap = 0;
        ev->fullness = (uint8_t)__builtin_popcount(held);
        return 0;
    }
    size_t nh = al_calendar_holds(p->c, ev->gpu, s, e, p->hbuf, p->hcap);
    if (nh > p->hcap) {
        if (grow((void **)&p->hbuf, &p->hcap, nh, sizeof *p->hbuf) < 0)
            return AL_E_NOMEM;
        nh = al_calendar_holds(p->c, ev->gpu, s, e, p->hbuf, p->hcap);
    }
    uint32_t used = 0;
    int nl = alive_sets(p, g->model, nh, s, &used);
    ev->cap = 0;
    ev->fullness = (uint8_t)__builtin_popcount(used);
    if (nl == AL_E_NOFIT)
        return 0;
    if (nl < 0)
        return nl;
    ev->cap = (uint8_t)greedy(p, g, prof, want, used, (size_t)nl, ev);
    return ev->cap ? time_loss(p, g->model, nh, s, e, ev_mask(g->model, prof, ev), ev->loss) : 0;
}

/* ---- MIG: across the fleet ---- */

/* Order of use: dedicated GPUs first, then general-pool ones without pool work, then those
 * with (gpu_shun); then the least time-weighted fragmentation loss per
 * instance (time_loss: placement-seconds made unusable, per size, largest size first), so small
 * instances go where holds already block the large placements for as much of the window as
 * possible and GPUs empty together; on ties, partly used in the window before fresh, fullest
 * first, no reconfiguration, id. */
static int ev_order(const void *a, const void *b)
{
    const struct geval *x = a, *y = b;
    if (x->shun != y->shun)
        return x->shun < y->shun ? -1 : 1;
    for (unsigned k = 0; k < LOSS_SIZES; k++) { /* per instance: x/xcap vs y/ycap */
        int64_t l = x->loss[k] * y->cap, r = y->loss[k] * x->cap;
        if (l != r)
            return l < r ? -1 : 1;
    }
    if (x->fresh != y->fresh)
        return x->fresh < y->fresh ? -1 : 1;
    if (x->fullness != y->fullness)
        return x->fullness > y->fullness ? -1 : 1;
    if (x->reconf != y->reconf)
        return x->reconf < y->reconf ? -1 : 1;
    return x->gpu < y->gpu ? -1 : x->gpu > y->gpu;
}

static bool layout_has_profile(const struct al_gpu *g, unsigned prof)
{
    for (unsigned i = 0; g->mig_mode && i < g->layout.n; i++)
        if (g->layout.p[i].profile == prof)
            return true;
    return false;
}

struct mig_ctx {
    const struct al_request *r;
    unsigned slot, prof, cap_empty;
    int64_t loss_empty[LOSS_SIZES]; /* time_loss of cap_empty instances on a wholly free GPU */
    bool full;                      /* exhaustive scan, no caps */
    bool complete;                  /* the last scan saw every word */
    unsigned total, eligible;
    const struct al_cal_span *sp;
};

static int ev_push(struct al_planner *p, const struct geval *e)
{
    if (grow((void **)&p->ev, &p->evcap, p->nev + 1, sizeof *p->ev) < 0)
        return AL_E_NOMEM;
    p->ev[p->nev++] = *e;
    return 0;
}

/* Examine one candidate GPU; returns 1 when it was examined (for the effort bound). */
static int mig_visit(struct al_planner *p, struct mig_ctx *x, uint32_t gpu, bool sure,
                     unsigned fresh_cls[FRESH_CLASSES])
{
    const struct al_gpu *g = al_fleet_gpu(p->f, gpu);
    struct geval e = {.gpu = gpu, .node = g->node, .shun = (uint8_t)gpu_shun(g)};
    int rc;
    if (sure) {
        e.fresh = 1;
        e.cap = (uint8_t)x->cap_empty;
        memcpy(e.loss, x->loss_empty, sizeof e.loss);
        e.reconf = !layout_has_profile(g, x->prof);
        unsigned cls = e.shun * 2u + e.reconf;
        if (!x->full && fresh_cls[cls] >= x->r->count)
            return 1;
        fresh_cls[cls]++;
    } else {
        if ((rc = eval_gpu(p, x->prof, x->r->count, x->r->start, x->r->end, &e)) < 0)
            return rc;
        if (e.cap == 0)
            return 1;
    }
    if ((rc = ev_push(p, &e)) < 0)
        return rc;
    x->total += e.cap;
    *node_count(p, e.node) += e.cap;
    return 1;
}

/* The placements of one profile, to tell from a unit mask whether one of them is clear. */
struct room {
    unsigned n;
    uint32_t pm[AL_MIG_MAX_STARTS];
};

static void room_setup(struct room *rm, const struct al_gpu_model *m, unsigned prof)
{
    const struct al_mig_profile *pr = &m->profiles[prof];
    rm->n = 0;
    for (unsigned j = 0; j < pr->nstarts; j++)
        rm->pm[rm->n++] = al_placement_mask(m, (struct al_placement){(uint8_t)prof, pr->starts[j]});
}

static bool room_for(const struct room *rm, uint32_t held)
{
    for (unsigned j = 0; j < rm->n; j++)
        if (!(rm->pm[j] & held))
            return true;
    return false;
}

/* The GPUs of word w in `doubt` that the UNITS blocks inside the window already rule out for
 * the profile (held[bit] = all units for them, as the exact check would find no room): their
 * records need not be read. */
static uint64_t units_ruled(struct al_planner *p, const struct mig_ctx *x, const struct room *rm,
                            size_t w, uint64_t doubt, uint32_t held[64])
{
    uint8_t u[64];
    uint64_t ruled = 0;
    if (!doubt || x->sp->i1 - x->sp->i0 + 1 < 4) /* no whole block inside */
        return 0;
    al_calendar_units_word(p->c, x->sp, w, doubt, u);
    for (uint64_t scan = doubt; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        if (u[b] && !room_for(rm, u[b])) {
            ruled |= UINT64_C(1) << b;
            held[b] = UINT32_MAX;
        }
    }
    return ruled;
}

/* Collect the GPUs that can take instances into p->ev, counting per node. Without x->full the
 * scan starts at a rotating word and stops once enough capacity without pool work is found and
 * the effort bounds are reached. */
/* mig_scan's running state. */
struct mscan {
    unsigned fresh_cls[FRESH_CLASSES], effort, calm, used_room;
    struct room rm;
    bool nf;
    bool whole_size;     /* a GPU-sized instance: needs the GPU wholly free, as a whole GPU does */
    size_t w0;           /* the word the scan starts at */
    uint64_t cand, sure; /* of the word in hand: candidates, and those wholly free */
};

/* mig_scan's work on word w: visit the GPUs of `scan` in ms->cand (those in ms->sure are
 * wholly free; the others' held units are in held[]), counting eligible GPUs and effort. */
static int mig_word(struct al_planner *p, struct mig_ctx *x, struct mscan *ms, size_t w,
                    uint64_t scan, const uint32_t held[64])
{
    for (; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        uint32_t gpu = (uint32_t)(w * 64 + b);
        if (ms->nf && !node_passes(p, al_fleet_gpu(p->f, gpu)->node, &x->r->where))
            continue;
        x->eligible += ms->nf;
        if (!((ms->cand >> b) & 1))
            continue;
        size_t before = p->nev;
        bool is_sure = (ms->sure >> b) & 1;
        ms->effort++;
        if (!is_sure && !room_for(&ms->rm, held[b])) /* what eval_gpu would find first */
            continue;
        int rc = mig_visit(p, x, gpu, is_sure, ms->fresh_cls);
        if (rc < 0)
            return rc;
        if (p->nev > before) {
            ms->used_room += !is_sure;
            ms->calm += p->ev[before].shun > 1 ? 0 : p->ev[before].cap;
        }
    }
    return 0;
}

/* One word of the index as mig_scan reads it ahead of visiting it. */
struct mword {
    size_t w, k;         /* the word, and the scan's position after it */
    uint64_t base, cand; /* eligible GPUs, and those the index leaves as candidates */
    uint64_t sure;       /* wholly free */
    uint64_t doubt;      /* candidates whose held units are read (not settled by UNITS) */
};

#define AHEAD_WORDS 16 /* words read ahead at most, for AL_CAL_BATCH GPUs to check together */

/* Read words from scan position *k on (as mig_scan visits them) until AL_CAL_BATCH GPUs need
 * their held units or `most` words (<= AHEAD_WORDS) are in hand: their index words, the UNITS
 * proofs, and then the exact held units of the rest, all in one batch so that their cache misses
 * overlap (a long window leaves about one such GPU per word). Reads only. Returns how many words.
 */
static unsigned mig_ahead(struct al_planner *p, struct mig_ctx *x, const struct mscan *ms,
                          unsigned most, size_t *k, struct mword *mw,
                          uint32_t held[AHEAD_WORDS][64])
{
    uint32_t gpus[AHEAD_WORDS * 64], m[AHEAD_WORDS * 64];
    unsigned nw = 0, ng = 0;
    while (*k < p->words && nw < most && ng < AL_CAL_BATCH) {
        size_t w = (ms->w0 + (*k)++) % p->words;
        uint64_t base = elig_word(p, x->slot, &x->r->where, w), idx[4];
        if (!base)
            continue;
        al_calendar_index_word(p->c, x->sp, w, idx);
        uint64_t cand = base & idx[2];
        if (ms->whole_size)
            cand &= idx[0] | idx[1];
        uint64_t ruled = units_ruled(p, x, &ms->rm, w, cand & ~idx[0], held[nw]);
        mw[nw] = (struct mword){w, *k, base, cand, idx[0], cand & ~idx[0] & ~ruled};
        for (uint64_t scan = mw[nw].doubt; scan; scan &= scan - 1)
            gpus[ng++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
        nw++;
    }
    al_calendar_masks(p->c, gpus, ng, x->r->start, x->r->end, m);
    for (unsigned j = 0, at = 0; j < nw; j++)
        for (uint64_t scan = mw[j].doubt; scan; scan &= scan - 1)
            held[j][__builtin_ctzll(scan)] = m[at++];
    return nw;
}

static int mig_scan(struct al_planner *p, struct mig_ctx *x)
{
    struct mscan ms = {.nf = node_filter(&x->r->where)};
    bool lazy = !x->full && !x->r->same_node, stopped = false;
    const struct al_gpu_model *m = al_fleet_model(p->f, x->slot);
    size_t k = 0;
    ms.whole_size = m->profiles[x->prof].size >= m->units;
    ms.w0 = lazy ? ((size_t)p->rot++ * 61u) % p->words : 0;
    room_setup(&ms.rm, m, x->prof);
    p->nev = 0;
    x->total = x->eligible = 0;
    new_round(p);
    /* a lazy scan reads 1, 2, 4 … words ahead (it often stops within the first few words; what
     * it read beyond is wasted), an exhaustive one AHEAD_WORDS at once */
    for (unsigned most = lazy ? 1 : AHEAD_WORDS; k < p->words && !stopped;
         most = most < AHEAD_WORDS ? 2 * most : AHEAD_WORDS) {
        struct mword mw[AHEAD_WORDS];
        uint32_t held[AHEAD_WORDS][64];
        unsigned nw = mig_ahead(p, x, &ms, most, &k, mw, held);
        for (unsigned j = 0; j < nw && !stopped; j++) {
            x->eligible += ms.nf ? 0 : (unsigned)__builtin_popcountll(mw[j].base);
            ms.cand = mw[j].cand;
            ms.sure = mw[j].sure;
            int rc =
                mig_word(p, x, &ms, mw[j].w, x->full && ms.nf ? mw[j].base : mw[j].cand, held[j]);
            if (rc < 0)
                return rc;
            if (lazy && ms.calm >= x->r->count &&
                (ms.used_room >= EVAL_USED || ms.effort >= EVAL_VISITS)) {
                stopped = true; /* the words read ahead of it are not visited */
                k = mw[j].k;
            }
        }
    }
    x->complete = k == p->words;
    return 0;
}

/* Take instances from the sorted candidates (of node `node` only, unless UINT32_MAX). */
static int mig_take(struct al_planner *p, const struct mig_ctx *x, uint32_t node,
                    struct al_plan *plan)
{
    unsigned left = x->r->count;
    for (size_t i = 0; i < p->nev && left > 0; i++) {
        struct geval *e = &p->ev[i];
        if (node != UINT32_MAX && e->node != node)
            continue;
        if (e->fresh) {
            int rc = eval_gpu(p, x->prof, left, x->r->start, x->r->end, e);
            if (rc < 0)
                return rc;
        }
        unsigned k = e->cap < left ? e->cap : left;
        const struct al_gpu *g = al_fleet_gpu(p->f, e->gpu);
        for (unsigned j = 0; j < k; j++) {
            struct al_alloc *a = &plan->allocs[plan->n++];
            a->gpu = e->gpu;
            a->profile = (uint8_t)x->prof;
            a->start = e->starts[j];
            a->reconfig = !layout_has(g, (struct al_placement){a->profile, a->start});
            plan->reconfigs += a->reconfig;
        }
        left -= k;
    }
    return left == 0 ? 0 : AL_E_NOFIT;
}

static int mig_pick(struct al_planner *p, const struct mig_ctx *x, struct al_plan *plan)
{
    uint32_t best = UINT32_MAX, most = 0;
    for (uint32_t i = 0; i < p->ntouched; i++) {
        uint32_t nd = p->touched[i], cnt = p->node_cnt[nd];
        if (cnt >= x->r->count && (best == UINT32_MAX || cnt < p->node_cnt[best]))
            best = nd;
        if (cnt > most) {
            most = cnt;
            plan->best_node = (int)nd;
        }
    }
    plan->free_total = x->total;
    plan->free_best_node = most;
    plan->eligible = x->eligible;
    if (x->total < x->r->count || (x->r->same_node && best == UINT32_MAX))
        return AL_E_NOFIT;
    qsort(p->ev, p->nev, sizeof *p->ev, ev_order);
    return mig_take(p, x, x->r->same_node ? best : UINT32_MAX, plan);
}

int al_planner__plan_mig_model(struct al_planner *p, const struct al_request *r, unsigned slot,
                               unsigned prof, struct al_plan *plan)
{
    const struct al_gpu_model *m = al_fleet_model(p->f, slot);
    struct al_cal_span sp;
    int rc = al_calendar_prepare(p->c, r->start, r->end, &sp);
    if (rc < 0)
        return rc;
    plan->model = m;
    plan->profile = (int)prof;
    setup_frag(p, m);
    /* what a wholly free GPU (not in MIG mode) takes */
    struct al_gpu empty = {.model = m};
    struct geval ge = {0};
    struct mig_ctx x = {.r = r, .slot = slot, .prof = prof, .sp = &sp};
    if (grow((void **)&p->lays, &p->laycap, 1, sizeof *p->lays) < 0)
        return AL_E_NOMEM;
    p->lays[0] = (struct al_layout){.model = m};
    ge.cap = (uint8_t)(x.cap_empty = greedy(p, &empty, prof, r->count, 0, 1, &ge));
    if ((rc = time_loss(p, m, 0, r->start, r->end, ev_mask(m, prof, &ge), x.loss_empty)) < 0)
        return rc;
    if ((rc = mig_scan(p, &x)) < 0)
        return rc;
    rc = mig_pick(p, &x, plan);
    /* a lazy scan that saw everything, without filters that hide the eligible count, and
     * without the per-class caps that same_node's node sums cannot take, is final */
    if (rc != AL_E_NOFIT || (x.complete && !node_filter(&r->where) && !r->same_node))
        return rc;
    plan->n = plan->reconfigs = 0;
    x.full = true;
    if ((rc = mig_scan(p, &x)) < 0)
        return rc;
    return mig_pick(p, &x, plan);
}
