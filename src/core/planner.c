/* planner.c — admission of whole-GPU and MIG requests, earliest windows and availability.
 * The policy is described in planner.h; the calendar's coarse index (calendar.h) narrows the
 * search to candidate GPUs 64 at a time, then each candidate is checked exactly. */
#include "core/planner.h"

#include "core/assert.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GB            UINT64_C(1000000000)
#define FRESH_CLASSES 4 /* fresh GPUs: (pool busy, needs reconfiguration) */
/* Effort bounds of the fast paths (an exact full scan follows whenever they fall short, so
 * they never make a refusal false): a whole-GPU plan stops after this many nodes that fit; a
 * MIG plan once it has enough room and has examined this many partly used GPUs with room, or
 * this many candidates. */
#define WHOLE_ENOUGH 4
#define EVAL_USED    8
#define EVAL_VISITS  64
#define FRAG_SIZES   10 /* placement sizes frag_score distinguishes */
#define LOSS_SIZES   4  /* the largest sizes time_loss counts (every catalog model has <= 4) */
/* time_loss looks at most this far into a window (~35,000 years in seconds), so that its sums
 * (<= 192 placements x span) times an instance count stay far from overflow */
#define LOSS_SPAN (INT64_C(1) << 40)

/* A hold's start (+1) or end (-1) on the units of `mask`, for time_loss's sweep. */
struct tedge {
    int64_t t;
    uint32_t mask;
    int d;
};

/* One GPU examined for a MIG request. */
struct geval {
    uint32_t gpu;
    uint32_t node;
    uint8_t cap;      /* instances of the profile it can take (<= the ask) */
    uint8_t fullness; /* units already held in the window */
    uint8_t busy;     /* running pool work */
    uint8_t reconf;   /* instances of cap that need a MIG change */
    uint8_t fresh;    /* no hold near the window: evaluated only when taken */
    /* placement-seconds the instances cost, per size (largest first): see time_loss */
    int64_t loss[LOSS_SIZES];
    uint8_t starts[AL_LAYOUT_MAX];
};

struct al_planner {
    const struct al_fleet *f;
    struct al_calendar *c;
    size_t words;
    uint64_t *freeb, *maybe; /* whole_scan: GPUs found free / not yet checked, per word */
    uint32_t *node_cnt, *node_pot, *node_gen, *touched;
    int8_t *node_ok;
    uint32_t nodes_cap, ntouched, gen;
    struct al_hold *hbuf;
    size_t hcap;
    struct al_layout *lays;
    size_t laycap;
    struct geval *ev;
    size_t nev, evcap;
    uint32_t rot; /* where the next fast scan starts, so repeated asks spread their effort */
    unsigned w_total, w_fits, w_full;     /* whole_scan's running counts */
    uint64_t maxper_shape;                /* al_fleet_shape maxper was computed at */
    uint16_t maxper[AL_FLEET_MAX_MODELS]; /* most GPUs of a model on one node */
    uint32_t *gpu_node;                   /* node of each GPU, compact (cache-friendly) */
    /* fragmentation score of the model in use: distinct placement masks per size */
    const struct al_gpu_model *frag_model;
    unsigned nsizes;
    unsigned nmasks[AL_MIG_MAX_UNITS];
    uint32_t masks[AL_MIG_MAX_UNITS][AL_MIG_MAX_UNITS * AL_MIG_MAX_PROFILES];
    struct tedge *tev; /* time_loss: hold starts and ends */
    size_t tevcap;
};

/* ---- life cycle and scratch ---- */

struct al_planner *al_planner_new(const struct al_fleet *f, struct al_calendar *c)
{
    if (!f || !c)
        return NULL;
    struct al_planner *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->f = f;
    p->c = c;
    return p;
}

void al_planner_free(struct al_planner *p)
{
    if (!p)
        return;
    free(p->freeb);
    free(p->gpu_node);
    free(p->maybe);
    free(p->node_cnt);
    free(p->node_pot);
    free(p->node_gen);
    free(p->node_ok);
    free(p->touched);
    free(p->hbuf);
    free(p->lays);
    free(p->ev);
    free(p->tev);
    free(p);
}

void al_plan_clear(struct al_plan *plan)
{
    if (!plan)
        return;
    free(plan->allocs);
    memset(plan, 0, sizeof *plan);
    plan->profile = -1;
    plan->best_node = -1;
}

static int grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*ptr, n * elem);
    if (!q)
        return AL_E_NOMEM;
    *ptr = q;
    *cap = n;
    return 0;
}

/* Size the per-word and per-node scratch for the fleet as it is now. */
static int scratch(struct al_planner *p)
{
    size_t words = al_fleet_words(p->f);
    if (words > p->words) {
        uint64_t *q = realloc(p->freeb, words * sizeof *q);
        if (q)
            p->freeb = q;
        uint64_t *m = realloc(p->maybe, words * sizeof *m);
        if (m)
            p->maybe = m;
        if (!q || !m)
            return AL_E_NOMEM;
        p->words = words;
    }
    uint32_t nn = al_fleet_nnodes(p->f);
    if (nn > p->nodes_cap) {
        uint32_t *a = realloc(p->node_cnt, nn * sizeof *a);
        if (a)
            p->node_cnt = a;
        uint32_t *pot = realloc(p->node_pot, nn * sizeof *pot);
        if (pot)
            p->node_pot = pot;
        uint32_t *b = realloc(p->node_gen, nn * sizeof *b);
        if (b) {
            memset(b + p->nodes_cap, 0, (nn - p->nodes_cap) * sizeof *b);
            p->node_gen = b;
        }
        int8_t *o = realloc(p->node_ok, nn * sizeof *o);
        if (o)
            p->node_ok = o;
        uint32_t *t = realloc(p->touched, nn * sizeof *t);
        if (t)
            p->touched = t;
        if (!a || !pot || !b || !o || !t)
            return AL_E_NOMEM;
        p->nodes_cap = nn;
    }
    return 0;
}

/* Start a new request: node counters and the node filter cache are reset lazily by stamp. */
static void new_round(struct al_planner *p)
{
    p->ntouched = 0;
    if (++p->gen == 0) {
        memset(p->node_gen, 0, p->nodes_cap * sizeof *p->node_gen);
        p->gen = 1;
    }
}

/* Node counter access: first touch of a node in this round zeroes it and records it. */
static uint32_t *node_count(struct al_planner *p, uint32_t node)
{
    AL_ASSERT(node < p->nodes_cap); /* scratch() sized the node arrays for the fleet */
    if (p->node_gen[node] != p->gen) {
        p->node_gen[node] = p->gen;
        p->node_cnt[node] = 0;
        p->node_pot[node] = 0;
        p->node_ok[node] = -1;
        AL_ASSERT(p->ntouched < p->nodes_cap); /* each node is touched once a round */
        p->touched[p->ntouched++] = node;
    }
    return &p->node_cnt[node];
}

static bool node_passes(struct al_planner *p, uint32_t node, const struct al_where *w)
{
    node_count(p, node);
    if (p->node_ok[node] < 0) {
        const struct al_node *n = al_fleet_node(p->f, node);
        bool ok = (!w || !w->zone || !*w->zone || strcmp(n->zone, w->zone) == 0) &&
                  (!w || al_fleet_labels_match(n->labels, w->labels));
        p->node_ok[node] = ok ? 1 : 0;
    }
    return p->node_ok[node] == 1;
}

static bool node_filter(const struct al_where *w)
{
    return w && ((w->zone && *w->zone) || (w->labels && *w->labels));
}

/* Word w of the GPUs of model `slot` that may take new work: healthy, not drained, in the pool
 * asked (zone and labels are per node: node_passes). */
static uint64_t elig_word(const struct al_planner *p, unsigned slot, const struct al_where *wh,
                          size_t w)
{
    uint64_t b = al_fleet_model_bits(p->f, slot)[w] & al_fleet_usable_bits(p->f)[w];
    if (b && wh && wh->pool >= 0)
        b &= al_fleet_pool_bits(p->f, (enum al_pool)wh->pool)[w];
    return b;
}

/* May new work go on this GPU at all (usable: health, drain, reported, node online; pool,
 * zone, labels)? */
static bool gpu_eligible(struct al_planner *p, uint32_t gpu, const struct al_where *w)
{
    const struct al_gpu *g = al_fleet_gpu(p->f, gpu);
    if (!g->usable)
        return false;
    if (w && w->pool >= 0 && g->pool != w->pool)
        return false;
    return !node_filter(w) || node_passes(p, g->node, w);
}

static int ensure_allocs(struct al_plan *plan, unsigned n)
{
    plan->allocs = calloc(n ? n : 1, sizeof *plan->allocs);
    return plan->allocs ? 0 : AL_E_NOMEM;
}

/* Count the distinct nodes of a plan's allocations. */
static unsigned count_nodes(struct al_planner *p, const struct al_plan *plan)
{
    new_round(p);
    unsigned n = 0;
    for (unsigned i = 0; i < plan->n; i++) {
        uint32_t *cnt = node_count(p, al_fleet_gpu(p->f, plan->allocs[i].gpu)->node);
        n += (*cnt)++ == 0;
    }
    return n;
}

static const char *where_text(const struct al_where *w, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!w)
        return buf;
    size_t o = 0;
    if (w->zone && *w->zone)
        o += (size_t)snprintf(buf + o, len - o, " in zone %s", w->zone);
    if (o < len && w->labels && *w->labels)
        o += (size_t)snprintf(buf + o, len - o, " with labels %s", w->labels);
    if (o < len && w->pool >= 0)
        snprintf(buf + o, len - o, " in the %s pool",
                 w->pool == AL_POOL_GENERAL ? "general" : "dedicated");
    return buf;
}

/* ---- whole GPUs ---- */

struct nc {
    uint32_t cnt, node;
};

static int nc_desc(const void *a, const void *b)
{
    const struct nc *x = a, *y = b;
    if (x->cnt != y->cnt)
        return x->cnt > y->cnt ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* Most GPUs of each model on one node, recomputed when GPUs were added or changed model. */
static int update_maxper(struct al_planner *p)
{
    uint32_t ng = al_fleet_ngpus(p->f);
    if (p->maxper_shape == al_fleet_shape(p->f))
        return 0;
    uint32_t *gn = realloc(p->gpu_node, (ng ? ng : 1) * sizeof *gn);
    if (!gn)
        return AL_E_NOMEM;
    p->gpu_node = gn;
    for (uint32_t g = 0; g < ng; g++)
        gn[g] = al_fleet_gpu(p->f, g)->node;
    memset(p->maxper, 0, sizeof p->maxper);
    for (uint32_t n = 0; n < al_fleet_nnodes(p->f); n++) {
        const struct al_node *nd = al_fleet_node(p->f, n);
        uint16_t cnt[AL_FLEET_MAX_MODELS] = {0};
        for (uint32_t i = 0; i < nd->ngpus; i++) {
            unsigned slot = al_fleet_gpu(p->f, nd->gpus[i])->model_slot;
            if (++cnt[slot] > p->maxper[slot])
                p->maxper[slot] = cnt[slot];
        }
    }
    p->maxper_shape = al_fleet_shape(p->f);
    return 0;
}

/* A GPU the index leaves in doubt (pending in p->maybe): check it exactly, count it if free. */
static void confirm(struct al_planner *p, const struct al_request *r, unsigned maxper, uint32_t gpu,
                    uint32_t node)
{
    p->maybe[gpu / 64] &= ~(UINT64_C(1) << (gpu % 64));
    if (!al_calendar_free_during(p->c, gpu, r->start, r->end))
        return;
    p->freeb[gpu / 64] |= UINT64_C(1) << (gpu % 64);
    uint32_t cnt = ++p->node_cnt[node];
    p->w_fits += cnt == r->count;
    p->w_full += cnt == maxper;
    p->w_total++;
}

/* Check the node's pending GPUs while it can still reach `need` free ones (the rest stay
 * pending for confirm_all). */
static void confirm_node(struct al_planner *p, const struct al_request *r, unsigned maxper,
                         unsigned need, uint32_t node)
{
    const struct al_node *nd = al_fleet_node(p->f, node);
    unsigned pending = 0;
    for (uint32_t i = 0; i < nd->ngpus; i++)
        pending += (p->maybe[nd->gpus[i] / 64] >> (nd->gpus[i] % 64)) & 1;
    for (uint32_t i = 0; i < nd->ngpus && p->node_cnt[node] + pending >= need; i++) {
        uint32_t gpu = nd->gpus[i];
        if ((p->maybe[gpu / 64] >> (gpu % 64)) & 1) {
            confirm(p, r, maxper, gpu, node);
            pending--;
        }
    }
}

/* Start loading the hold arrays of the node's pending GPUs (see confirm_node). */
static void prefetch_pending(struct al_planner *p, uint32_t node)
{
    const struct al_node *nd = al_fleet_node(p->f, node);
    for (uint32_t i = 0; i < nd->ngpus; i++)
        if ((p->maybe[nd->gpus[i] / 64] >> (nd->gpus[i] % 64)) & 1)
            al_calendar_prefetch(p->c, nd->gpus[i]);
}

/* Check pending GPUs until `stop` are known free (all of them for an exact count). */
static void confirm_all(struct al_planner *p, const struct al_request *r, unsigned maxper,
                        unsigned stop)
{
    for (size_t w = 0; w < p->words && p->w_total < stop; w++) {
        for (uint64_t pf = p->maybe[w]; pf; pf &= pf - 1)
            al_calendar_prefetch(p->c, (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(pf)));
        for (uint64_t scan = p->maybe[w]; scan; scan &= scan - 1) {
            uint32_t gpu = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
            confirm(p, r, maxper, gpu, p->gpu_node[gpu]);
        }
    }
}

/* whole_scan's work on word w: count the sure GPUs of `scan` that the index leaves as candidates
 * (idx) per node, mark the doubtful ones pending, and list in todo the nodes that could now hold
 * the ask; *elig counts the GPUs passing the node filter. Returns how many nodes are listed. */
/* Enough single-node fits to choose from (one perfect fit is enough); or, when no node can hold
 * the ask, enough wholly free nodes for the fewest-nodes answer. */
static bool whole_enough(const struct al_planner *p, const struct al_request *r, unsigned maxper)
{
    return p->w_fits >= WHOLE_ENOUGH || (p->w_fits > 0 && r->count == maxper) ||
           (r->count > maxper && !r->same_node &&
            (p->w_full * maxper >= r->count || p->w_total >= 4 * r->count));
}

struct wscan {
    const struct al_request *r;
    unsigned maxper, need;
    bool nf;
};

static unsigned whole_word(struct al_planner *p, const struct wscan *ws, size_t w, uint64_t scan,
                           const uint64_t idx[4], uint32_t todo[64], unsigned *elig)
{
    unsigned ntodo = 0;
    uint64_t cand = idx[0] | idx[1];
    for (; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        uint32_t gpu = (uint32_t)(w * 64 + b);
        uint32_t node = p->gpu_node[gpu];
        if (ws->nf && !node_passes(p, node, &ws->r->where))
            continue;
        *elig += ws->nf;
        if (!((cand >> b) & 1))
            continue;
        uint32_t *cnt = node_count(p, node), pot = ++p->node_pot[node];
        if ((idx[0] >> b) & 1) {
            p->freeb[w] |= UINT64_C(1) << b;
            p->w_fits += ++*cnt == ws->r->count;
            p->w_full += *cnt == ws->maxper;
            p->w_total++;
        } else {
            p->maybe[w] |= UINT64_C(1) << b;
        }
        if (pot >= ws->need && *cnt < ws->need && (ntodo == 0 || todo[ntodo - 1] != node))
            todo[ntodo++] = node;
    }
    return ntodo;
}

/* Mark in p->freeb the eligible GPUs of model `slot` wholly free during the window, counting
 * them per node (p->w_total in all). Words are read from the calendar's index as the scan
 * goes. A GPU the index leaves in doubt is checked exactly only once its node could hold the
 * whole ask (or, for an ask larger than any node, be wholly free); the others stay pending in
 * p->maybe for confirm_all. Without `exhaustive` the scan starts at a rotating word and stops
 * once it has enough to choose from; *complete says whether it saw every word. *eligible:
 * eligible GPUs of the words seen (with a zone/label filter only when exhaustive). */
static void whole_scan(struct al_planner *p, unsigned slot, const struct al_request *r,
                       const struct al_cal_span *sp, bool exhaustive, unsigned *eligible,
                       bool *complete)
{
    unsigned elig = 0, maxper = p->maxper[slot];
    unsigned need = r->count <= maxper ? r->count : maxper;
    bool nf = node_filter(&r->where), enough = false;
    const struct wscan ws = {r, maxper, need, nf};
    size_t w0 = exhaustive ? 0 : ((size_t)p->rot++ * 61u) % p->words, k;
    p->w_total = p->w_fits = p->w_full = 0;
    new_round(p);
    memset(p->freeb, 0, p->words * sizeof *p->freeb);
    memset(p->maybe, 0, p->words * sizeof *p->maybe);
    for (k = 0; k < p->words && !enough; k++) {
        size_t w = (w0 + k) % p->words;
        uint64_t base = elig_word(p, slot, &r->where, w), idx[4];
        if (!base)
            continue;
        al_calendar_index_word(p->c, sp, w, idx);
        elig += nf ? 0 : (unsigned)__builtin_popcountll(base);
        uint32_t todo[64];
        unsigned ntodo = whole_word(p, &ws, w, exhaustive && nf ? base : base & (idx[0] | idx[1]),
                                    idx, todo, &elig);
        /* the exact checks of this word's hopeful nodes, their loads requested together */
        for (unsigned i = 0; i < ntodo; i++)
            prefetch_pending(p, todo[i]);
        for (unsigned i = 0; i < ntodo; i++)
            if (p->node_cnt[todo[i]] < need)
                confirm_node(p, r, maxper, need, todo[i]);
        enough = !exhaustive && whole_enough(p, r, maxper);
    }
    *complete = k == p->words;
    if (eligible)
        *eligible = elig;
}

/* Take `n` free GPUs of node `node` into the plan: no pool work first, then not in MIG mode. */
static void take_node(struct al_planner *p, uint32_t node, unsigned n, struct al_plan *plan)
{
    const struct al_node *nd = al_fleet_node(p->f, node);
    for (unsigned cls = 0; cls < 4 && n > 0; cls++) {
        for (uint32_t i = 0; i < nd->ngpus && n > 0; i++) {
            uint32_t gpu = nd->gpus[i];
            const struct al_gpu *g = al_fleet_gpu(p->f, gpu);
            if (!((p->freeb[gpu / 64] >> (gpu % 64)) & 1) ||
                (unsigned)(g->pool_busy * 2 + g->mig_mode) != cls)
                continue;
            p->freeb[gpu / 64] &= ~(UINT64_C(1) << (gpu % 64));
            AL_ASSERT(plan->n < plan->wanted); /* allocs has room for the ask alone */
            struct al_alloc *a = &plan->allocs[plan->n++];
            a->gpu = gpu;
            a->whole = true;
            a->reconfig = g->mig_mode;
            plan->reconfigs += g->mig_mode;
            n--;
        }
    }
}

/* Choose nodes for the counted free GPUs: one node (best fit) when possible, else fewest
 * nodes. Returns 0, or AL_E_NOFIT (facts in plan), AL_E_NOMEM. */
static int whole_pick(struct al_planner *p, const struct al_request *r, unsigned total,
                      struct al_plan *plan)
{
    uint32_t best = UINT32_MAX, most = 0;
    for (uint32_t i = 0; i < p->ntouched; i++) {
        uint32_t nd = p->touched[i], cnt = p->node_cnt[nd];
        if (cnt >= r->count && (best == UINT32_MAX || cnt < p->node_cnt[best]))
            best = nd;
        if (cnt > most) {
            most = cnt;
            plan->best_node = (int)nd;
        }
    }
    plan->free_total = total;
    plan->free_best_node = most;
    if (best != UINT32_MAX) {
        take_node(p, best, r->count, plan);
        return 0;
    }
    if (r->same_node || total < r->count)
        return AL_E_NOFIT;
    struct nc *v = malloc((p->ntouched ? p->ntouched : 1) * sizeof *v);
    if (!v)
        return AL_E_NOMEM;
    uint32_t nv = 0;
    for (uint32_t i = 0; i < p->ntouched; i++)
        if (p->node_cnt[p->touched[i]] > 0)
            v[nv++] = (struct nc){p->node_cnt[p->touched[i]], p->touched[i]};
    qsort(v, nv, sizeof *v, nc_desc);
    unsigned left = r->count;
    for (uint32_t i = 0; i < nv && left > 0; i++) {
        uint32_t j = i;
        while (j + 1 < nv && v[j + 1].cnt >= left)
            j++;
        if (v[j].cnt >= left) { /* the smallest node that finishes the request */
            take_node(p, v[j].node, left, plan);
            left = 0;
        } else {
            take_node(p, v[i].node, v[i].cnt, plan);
            left -= v[i].cnt;
        }
    }
    free(v);
    return 0;
}

/* After a complete scan: when even the GPUs still in doubt could not make up the ask, the
 * refusal is certain without checking them; record upper bounds as the refusal's counts. */
static bool whole_hopeless(struct al_planner *p, const struct al_request *r, struct al_plan *plan)
{
    unsigned pend = 0;
    for (size_t w = 0; w < p->words; w++)
        pend += (unsigned)__builtin_popcountll(p->maybe[w]);
    if (p->w_total + pend >= r->count)
        return false;
    for (uint32_t i = 0; i < p->ntouched; i++)
        p->node_pot[p->touched[i]] = p->node_cnt[p->touched[i]];
    for (size_t w = 0; w < p->words; w++)
        for (uint64_t scan = p->maybe[w]; scan; scan &= scan - 1)
            p->node_pot[p->gpu_node[w * 64 + (unsigned)__builtin_ctzll(scan)]]++;
    plan->free_best_node = 0;
    for (uint32_t i = 0; i < p->ntouched; i++) {
        uint32_t nd = p->touched[i];
        if (p->node_pot[nd] > plan->free_best_node) {
            plan->free_best_node = p->node_pot[nd];
            plan->best_node = (int)nd;
        }
    }
    plan->free_total = p->w_total + pend;
    plan->bounds = pend > 0;
    return true;
}

static int plan_whole_model(struct al_planner *p, const struct al_request *r, unsigned slot,
                            struct al_plan *plan)
{
    struct al_cal_span sp;
    bool complete;
    int rc = al_calendar_prepare(p->c, r->start, r->end, &sp);
    if (rc < 0)
        return rc;
    plan->model = al_fleet_model(p->f, slot);
    plan->profile = -1;
    if (update_maxper(p) < 0)
        return AL_E_NOMEM;
    whole_scan(p, slot, r, &sp, false, &plan->eligible, &complete);
    if (p->w_fits > 0 || (!r->same_node && r->count > p->maxper[slot] && p->w_total >= r->count))
        return whole_pick(p, r, p->w_total, plan);
    if (!complete || node_filter(&r->where))
        whole_scan(p, slot, r, &sp, true, &plan->eligible, &complete);
    /* every node that could hold the ask alone has been checked exactly; the rest is needed for
     * a multi-node answer and for the refusal's counts */
    if (p->w_fits == 0) {
        if (whole_hopeless(p, r, plan))
            return AL_E_NOFIT;
        /* a multi-node answer needs only enough GPUs to choose from; a refusal needs them all */
        confirm_all(p, r, p->maxper[slot], r->same_node ? UINT_MAX : 4 * r->count);
    }
    return whole_pick(p, r, p->w_total, plan);
}

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

/* Order of use: no pool work first; then the least time-weighted fragmentation loss per
 * instance (time_loss: placement-seconds made unusable, per size, largest size first), so small
 * instances go where holds already block the large placements for as much of the window as
 * possible and GPUs empty together; on ties, partly used in the window before fresh, fullest
 * first, no reconfiguration, id. */
static int ev_order(const void *a, const void *b)
{
    const struct geval *x = a, *y = b;
    if (x->busy != y->busy)
        return x->busy < y->busy ? -1 : 1;
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
    struct geval e = {.gpu = gpu, .node = g->node, .busy = g->pool_busy};
    int rc;
    if (sure) {
        e.fresh = 1;
        e.cap = (uint8_t)x->cap_empty;
        memcpy(e.loss, x->loss_empty, sizeof e.loss);
        e.reconf = !layout_has_profile(g, x->prof);
        unsigned cls = e.busy * 2u + e.reconf;
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

/* Unit masks held during the request's window of the GPUs of word w in `bits`, into held[bit],
 * in one batch whose cache misses overlap (the exact per-GPU check is bound by them). */
static void word_masks(struct al_planner *p, size_t w, uint64_t bits, const struct al_request *r,
                       uint32_t held[64])
{
    uint32_t gpus[64], m[64];
    unsigned n = 0;
    for (uint64_t scan = bits; scan; scan &= scan - 1)
        gpus[n++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
    al_calendar_masks(p->c, gpus, n, r->start, r->end, m);
    for (unsigned i = 0; i < n; i++)
        held[gpus[i] % 64] = m[i];
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
            ms->calm += p->ev[before].busy ? 0 : p->ev[before].cap;
        }
    }
    return 0;
}

static int mig_scan(struct al_planner *p, struct mig_ctx *x)
{
    struct mscan ms = {.nf = node_filter(&x->r->where)};
    bool lazy = !x->full && !x->r->same_node;
    const struct al_gpu_model *m = al_fleet_model(p->f, x->slot);
    bool whole_size = m->profiles[x->prof].size >= m->units;
    size_t w0 = lazy ? ((size_t)p->rot++ * 61u) % p->words : 0, k;
    room_setup(&ms.rm, m, x->prof);
    p->nev = 0;
    x->total = x->eligible = 0;
    new_round(p);
    for (k = 0; k < p->words; k++) {
        size_t w = (w0 + k) % p->words;
        uint64_t base = elig_word(p, x->slot, &x->r->where, w), idx[4];
        if (!base)
            continue;
        al_calendar_index_word(p->c, x->sp, w, idx);
        uint64_t cand = base & idx[2];
        if (whole_size) /* a GPU-sized instance needs the GPU wholly free, as a whole GPU does */
            cand &= idx[0] | idx[1];
        uint32_t held[64];
        uint64_t ruled = units_ruled(p, x, &ms.rm, w, cand & ~idx[0], held);
        word_masks(p, w, cand & ~idx[0] & ~ruled, x->r, held);
        x->eligible += ms.nf ? 0 : (unsigned)__builtin_popcountll(base);
        ms.cand = cand;
        ms.sure = idx[0];
        int rc = mig_word(p, x, &ms, w, x->full && ms.nf ? base : cand, held);
        if (rc < 0)
            return rc;
        if (lazy && ms.calm >= x->r->count &&
            (ms.used_room >= EVAL_USED || ms.effort >= EVAL_VISITS)) {
            k++;
            break;
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

static int plan_mig_model(struct al_planner *p, const struct al_request *r, unsigned slot,
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

/* ---- requests ---- */

static int check_request(const struct al_request *r, struct al_err *reterr)
{
    if (r->kind != AL_REQ_WHOLE && r->kind != AL_REQ_MIG)
        return al_err_set(reterr, AL_E_INVAL, "kind: must be whole or mig");
    if (r->count < 1 || r->count > AL_PLAN_MAX)
        return al_err_set(reterr, AL_E_INVAL, "count: %u not in 1..%d", r->count, AL_PLAN_MAX);
    if (r->start >= r->end)
        return al_err_set(reterr, AL_E_INVAL, "end: must be after start");
    if (r->where.pool < -1 || r->where.pool > AL_POOL_DEDICATED)
        return al_err_set(reterr, AL_E_INVAL, "pool: unknown");
    if (!r->model && r->mem_bytes == 0)
        return al_err_set(reterr, AL_E_INVAL, "model: give a model or a memory size");
    if (r->kind == AL_REQ_MIG && r->model && r->profile >= 0 &&
        (unsigned)r->profile >= r->model->nprofiles)
        return al_err_set(reterr, AL_E_INVAL, "profile: %d not a profile of %s", r->profile,
                          r->model->name);
    if (r->kind == AL_REQ_MIG && r->model && r->profile < 0 && r->mem_bytes == 0)
        return al_err_set(reterr, AL_E_INVAL, "profile: give a profile or a memory size");
    return 0;
}

/* Profile for model m in request r, or -1. */
static int req_profile(const struct al_request *r, const struct al_gpu_model *m)
{
    if (!m->mig)
        return -1;
    if (r->model && r->profile >= 0)
        return r->profile;
    return al_catalog_pick(m, r->mem_bytes, true);
}

struct cand {
    unsigned slot;
    int prof;
    uint64_t key;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Models of the fleet the request may use, most economical first. */
static unsigned candidates(struct al_planner *p, const struct al_request *r,
                           struct cand v[AL_FLEET_MAX_MODELS])
{
    unsigned n = 0;
    for (unsigned s = 0; s < al_fleet_nmodels(p->f); s++) {
        const struct al_gpu_model *m = al_fleet_model(p->f, s);
        if (r->model && m != r->model)
            continue;
        struct cand c = {s, -1, m->mem_gb};
        if (r->kind == AL_REQ_WHOLE) {
            if (!r->model && (uint64_t)m->mem_gb * GB < r->mem_bytes)
                continue;
        } else {
            if ((c.prof = req_profile(r, m)) < 0)
                continue;
            c.key = m->profiles[c.prof].mem_mib;
        }
        v[n++] = c;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cand_cmp);
    return n;
}

static void refusal_text(const struct al_request *r, const struct al_plan *pl, struct al_err *e)
{
    char wt[AL_FLEET_LABELS_MAX + 96];
    where_text(&r->where, wt, sizeof wt);
    const char *mn = pl->model ? pl->model->name : "?";
    char what[96];
    if (r->kind == AL_REQ_WHOLE)
        snprintf(what, sizeof what, "%s GPUs", mn);
    else
        snprintf(what, sizeof what, "%s instances on %s",
                 pl->profile >= 0 ? pl->model->profiles[pl->profile].name : "?", mn);
    if (pl->why == AL_WHY_NO_ELIGIBLE)
        al_err_set(e, AL_E_NOFIT, "no usable %s GPU%s (healthy, reported, online)", mn, wt);
    else if (pl->why == AL_WHY_SAME_NODE)
        al_err_set(e, AL_E_NOFIT,
                   "only %u of %u %s free on one node during the window; %u free fleet-wide%s",
                   pl->free_best_node, r->count, what, pl->free_total, wt);
    else
        al_err_set(e, AL_E_NOFIT,
                   "only %s%u of %u %s free during the window (%u eligible GPUs%s; at most %u on "
                   "one node)",
                   pl->bounds ? "up to " : "", pl->free_total, r->count, what, pl->eligible, wt,
                   pl->free_best_node);
}

static int plan_model(struct al_planner *p, const struct al_request *r, const struct cand *c,
                      struct al_plan *pl)
{
    int rc = r->kind == AL_REQ_WHOLE ? plan_whole_model(p, r, c->slot, pl)
                                     : plan_mig_model(p, r, c->slot, (unsigned)c->prof, pl);
    if (rc != AL_E_NOFIT)
        return rc;
    pl->n = pl->reconfigs = 0;
    pl->why = pl->eligible == 0                            ? AL_WHY_NO_ELIGIBLE
              : r->same_node && pl->free_total >= r->count ? AL_WHY_SAME_NODE
                                                           : AL_WHY_CAPACITY;
    return rc;
}

int al_planner_plan(struct al_planner *p, const struct al_request *r, struct al_plan *ret,
                    struct al_err *reterr)
{
    struct cand v[AL_FLEET_MAX_MODELS];
    struct al_plan best = {0};
    int rc;
    al_plan_clear(ret);
    ret->wanted = r->count;
    if ((rc = check_request(r, reterr)) < 0) {
        ret->why = AL_WHY_BAD_REQUEST;
        return rc;
    }
    if (scratch(p) < 0 || ensure_allocs(ret, r->count) < 0)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    unsigned n = candidates(p, r, v);
    if (n == 0) {
        bool have = r->model && al_fleet_model_slot(p->f, r->model) >= 0;
        ret->why = have ? AL_WHY_NO_PROFILE : AL_WHY_NO_MODEL;
        ret->model = r->model;
        return al_err_set(reterr, AL_E_NOFIT, "%s",
                          have ? "the model has no MIG profile that large"
                               : "no GPU model in the fleet meets the ask");
    }
    for (unsigned i = 0; i < n; i++) {
        struct al_alloc *keep = ret->allocs;
        memset(ret, 0, sizeof *ret);
        ret->allocs = keep;
        ret->wanted = r->count;
        ret->best_node = -1;
        rc = plan_model(p, r, &v[i], ret);
        if (rc != AL_E_NOFIT) {
            if (rc == 0) {
                AL_ASSERT(ret->n == r->count); /* planner.h: a plan has exactly the ask */
                ret->nodes = count_nodes(p, ret);
            }
            if (rc == AL_E_RANGE)
                return al_err_set(reterr, rc, "start/end: outside the calendar's time range");
            return rc < 0 ? al_err_set(reterr, rc, "%s", al_strerror(rc)) : 0;
        }
        if (i == 0 || ret->free_total > best.free_total)
            best = *ret;
    }
    best.allocs = ret->allocs;
    *ret = best;
    refusal_text(r, ret, reterr);
    return AL_E_NOFIT;
}

int al_planner_admit(struct al_planner *p, const struct al_request *r, struct al_owner owner,
                     int64_t expires, struct al_plan *ret, struct al_err *reterr)
{
    int rc = al_planner_plan(p, r, ret, reterr);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < ret->n; i++) {
        struct al_alloc *a = &ret->allocs[i];
        struct al_hold h = {.gpu = a->gpu,
                            .whole = a->whole,
                            .profile = a->profile,
                            .start = a->start,
                            .t0 = r->start,
                            .t1 = r->end,
                            .expires = owner.kind == AL_OWNER_TENTATIVE ? expires : 0,
                            .owner = owner};
        rc = al_calendar_add(p->c, &h, reterr);
        if (rc < 0) {
            /* the plan was made on this very calendar: a conflict is a planner bug */
            AL_ASSERT(rc != AL_E_CONFLICT);
            while (i-- > 0)
                al_calendar_release(p->c, ret->allocs[i].hold);
            return rc == AL_E_CONFLICT ? al_err_set(reterr, AL_E_INTERNAL, "planner bug: %s",
                                                    reterr ? reterr->msg : "conflict")
                                       : rc;
        }
        a->hold = (uint32_t)rc;
    }
    return 0;
}

/* ---- earliest window ---- */

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Candidate starts: r->start and every hold end in (r->start, latest] on GPUs of the models
 * the request may use. Sorted, unique, in a malloc'd array (*ret, caller frees). */
/* Append to (*t, *cap, *n) the ends in (r->start, latest] of the holds of `gpu`. */
static int hold_ends(struct al_planner *p, const struct al_request *r, uint32_t gpu, int64_t latest,
                     int64_t **t, size_t *cap, size_t *n)
{
    size_t nh = al_calendar_holds(p->c, gpu, r->start, latest, NULL, 0);
    if (grow((void **)&p->hbuf, &p->hcap, nh, sizeof *p->hbuf) < 0 ||
        grow((void **)t, cap, *n + nh, sizeof **t) < 0)
        return AL_E_NOMEM;
    nh = al_calendar_holds(p->c, gpu, r->start, latest, p->hbuf, p->hcap);
    for (size_t j = 0; j < nh; j++)
        if (p->hbuf[j].t1 > r->start && p->hbuf[j].t1 <= latest)
            (*t)[(*n)++] = p->hbuf[j].t1;
    return 0;
}

static int start_candidates(struct al_planner *p, const struct al_request *r, int64_t latest,
                            int64_t **ret, size_t *ret_n)
{
    struct cand v[AL_FLEET_MAX_MODELS];
    unsigned nc = candidates(p, r, v);
    size_t n = 0, cap = 0;
    int64_t *t = NULL;
    int rc = 0;
    if (grow((void **)&t, &cap, 1, sizeof *t) < 0)
        return AL_E_NOMEM;
    t[n++] = r->start;
    for (unsigned i = 0; i < nc; i++) {
        const uint64_t *mb = al_fleet_model_bits(p->f, v[i].slot);
        for (size_t w = 0; w < p->words; w++) {
            for (uint64_t scan = mb[w]; scan; scan &= scan - 1) {
                uint32_t gpu = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
                if ((rc = hold_ends(p, r, gpu, latest, &t, &cap, &n)) < 0)
                    goto out;
            }
        }
    }
    qsort(t, n, sizeof *t, i64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || t[i] != t[u - 1])
            t[u++] = t[i];
    *ret = t;
    *ret_n = u;
    t = NULL;
out:
    free(t);
    return rc;
}

/* A necessary condition read from the index alone: some allowed model has enough GPUs (whole)
 * or instance room (MIG, counting each profile's max per GPU) not ruled out by holds in the
 * buckets lying inside the window. Zone and labels are ignored (that only makes it weaker). */
static bool could_fit(struct al_planner *p, const struct al_request *r,
                      const struct al_cal_span *sp)
{
    struct cand v[AL_FLEET_MAX_MODELS];
    unsigned nc = candidates(p, r, v);
    for (unsigned i = 0; i < nc; i++) {
        const struct al_gpu_model *m = al_fleet_model(p->f, v[i].slot);
        uint64_t per = r->kind == AL_REQ_MIG ? m->profiles[v[i].prof].max_count : 1, n = 0;
        for (size_t w = 0; w < p->words; w++) {
            uint64_t base = elig_word(p, v[i].slot, &r->where, w), idx[4];
            if (!base)
                continue;
            al_calendar_index_word(p->c, sp, w, idx);
            uint64_t ok = r->kind == AL_REQ_WHOLE ? idx[0] | idx[1] : idx[2];
            n += per * (uint64_t)__builtin_popcountll(base & ok);
            if (n >= r->count)
                return true;
        }
    }
    return false;
}

/* False when the index proves that q cannot fit. Candidates whose window has the same interior
 * buckets share the index's verdict: the last one is kept in *last, *last_ok. */
static bool may_fit(struct al_planner *p, const struct al_request *q, struct al_cal_span *last,
                    bool *last_ok)
{
    struct al_cal_span sp;
    if (al_calendar_prepare(p->c, q->start, q->end, &sp) < 0)
        return true;
    if (sp.i0 != last->i0 || sp.i1 != last->i1) {
        *last = sp;
        *last_ok = could_fit(p, q, &sp);
    }
    return *last_ok;
}

/* Plan q: 1 when it fits, 0 when it does not, else the error (in reterr). The first
 * candidate's refusal is kept in *first. */
static int try_start(struct al_planner *p, const struct al_request *q, struct al_plan *plan,
                     struct al_err *first, struct al_err *reterr)
{
    struct al_err e = {0};
    int rc = al_planner_plan(p, q, plan, first ? first : &e);
    if (rc == 0)
        return 1;
    if (rc == AL_E_NOFIT)
        return 0;
    return al_err_set(reterr, rc, "%s", first ? first->msg : e.msg);
}

int al_planner_earliest(struct al_planner *p, const struct al_request *r, int64_t duration,
                        int64_t latest_start, int64_t *starts, size_t max, struct al_err *reterr)
{
    struct al_request q = *r;
    struct al_plan plan = {0};
    int64_t *t = NULL;
    size_t nt = 0, found = 0;
    int rc;
    if (duration <= 0 || latest_start < r->start || max == 0 || !starts)
        return al_err_set(reterr, AL_E_INVAL, "earliest: need duration > 0, latest >= start");
    if (latest_start > INT64_MAX - duration)
        return al_err_set(reterr, AL_E_RANGE, "earliest: latest start plus duration overflows");
    q.end = r->start + duration;
    if ((rc = check_request(&q, reterr)) < 0 || (rc = scratch(p)) < 0)
        return rc;
    if ((rc = start_candidates(p, r, latest_start, &t, &nt)) < 0) {
        rc = al_err_set(reterr, rc, "out of memory");
        goto out;
    }
    struct al_err first = {0};
    struct al_cal_span last = {0, 0, 1, 0};
    bool last_ok = true;
    for (size_t i = 0; i < nt && found < max; i++) {
        q.start = t[i];
        q.end = t[i] + duration;
        if (i > 0 && !may_fit(p, &q, &last, &last_ok))
            continue;
        if ((rc = try_start(p, &q, &plan, i == 0 ? &first : NULL, reterr)) < 0)
            goto out;
        if (rc == 1)
            starts[found++] = t[i];
    }
    rc = found > 0 ? (int)found : AL_E_NOFIT;
    if (rc == AL_E_NOFIT)
        al_err_set(reterr, AL_E_NOFIT,
                   "no window of that length starts in the range; at the earliest start: %.180s",
                   first.msg);
out:
    al_plan_clear(&plan);
    free(t);
    return rc;
}

/* ---- availability ---- */

/* Add eligible GPU `gpu` to a: wholly free or not, instances of each profile free. */
static int avail_gpu(struct al_planner *p, struct al_avail *a, uint32_t gpu, int64_t s, int64_t e)
{
    a->gpus++;
    a->whole_free += al_calendar_free_during(p->c, gpu, s, e);
    for (unsigned q = 0; q < a->nprofiles; q++) {
        struct geval ev = {.gpu = gpu};
        int rc = eval_gpu(p, q, AL_LAYOUT_MAX, s, e, &ev);
        if (rc < 0)
            return rc;
        a->inst_free[q] += ev.cap;
    }
    return 0;
}

int al_planner_availability(struct al_planner *p, int64_t s, int64_t e,
                            const struct al_where *where, struct al_avail *ret, size_t max)
{
    if (s >= e)
        return AL_E_INVAL;
    if (scratch(p) < 0)
        return AL_E_NOMEM;
    unsigned nm = al_fleet_nmodels(p->f);
    new_round(p);
    for (unsigned slot = 0; slot < nm && slot < max; slot++) {
        const struct al_gpu_model *m = al_fleet_model(p->f, slot);
        struct al_avail *a = &ret[slot];
        memset(a, 0, sizeof *a);
        a->model = m;
        a->nprofiles = m->mig ? m->nprofiles : 0;
        if (m->mig)
            setup_frag(p, m);
        const uint64_t *mb = al_fleet_model_bits(p->f, slot);
        for (size_t w = 0; w < p->words; w++) {
            for (uint64_t scan = mb[w]; scan; scan &= scan - 1) {
                uint32_t gpu = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
                int rc = gpu_eligible(p, gpu, where) ? avail_gpu(p, a, gpu, s, e) : 0;
                if (rc < 0)
                    return rc;
            }
        }
    }
    return (int)nm;
}
