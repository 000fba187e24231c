/* planner_whole.c — admission of whole GPUs: the index-guided scan that counts free GPUs per
 * node, and the choice of one node (best fit) or the fewest nodes (planner.h has the policy). */
#include "core/planner_internal.h"

#include "core/assert.h"

#include <limits.h>

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

/* Most GPUs of each model on one node, the node of each GPU and the GPUs of each node,
 * recomputed when GPUs were added or changed model. */
static int update_maxper(struct al_planner *p)
{
    uint32_t ng = al_fleet_ngpus(p->f), nn = al_fleet_nnodes(p->f);
    if (p->maxper_shape == al_fleet_shape(p->f))
        return 0;
    uint32_t *gn = realloc(p->gpu_node, (ng ? ng : 1) * sizeof *gn);
    if (!gn)
        return AL_E_NOMEM;
    p->gpu_node = gn;
    uint32_t *nf = realloc(p->node_first, ((size_t)nn + 1) * sizeof *nf);
    if (!nf)
        return AL_E_NOMEM;
    p->node_first = nf;
    uint32_t *ngs = realloc(p->node_gpus, (ng ? ng : 1) * sizeof *ngs);
    if (!ngs)
        return AL_E_NOMEM;
    p->node_gpus = ngs;
    for (uint32_t g = 0; g < ng; g++)
        gn[g] = al_fleet_gpu(p->f, g)->node;
    memset(p->maxper, 0, sizeof p->maxper);
    nf[0] = 0;
    for (uint32_t n = 0; n < nn; n++) {
        const struct al_node *nd = al_fleet_node(p->f, n);
        uint16_t cnt[AL_FLEET_MAX_MODELS] = {0};
        for (uint32_t i = 0; i < nd->ngpus; i++) {
            unsigned slot = al_fleet_gpu(p->f, nd->gpus[i])->model_slot;
            if (++cnt[slot] > p->maxper[slot])
                p->maxper[slot] = cnt[slot];
            ngs[nf[n] + i] = nd->gpus[i];
        }
        nf[n + 1] = nf[n] + nd->ngpus;
    }
    p->maxper_shape = al_fleet_shape(p->f);
    return 0;
}

/* A GPU the index left in doubt (pending in p->maybe) has been checked exactly: count it if
 * free. */
static void confirm(struct al_planner *p, const struct al_request *r, unsigned maxper, uint32_t gpu,
                    uint32_t node, bool free)
{
    p->maybe[gpu / 64] &= ~(UINT64_C(1) << (gpu % 64));
    if (!free)
        return;
    p->freeb[gpu / 64] |= UINT64_C(1) << (gpu % 64);
    uint32_t cnt = ++p->node_cnt[node];
    p->w_fits += cnt == r->count;
    p->w_full += cnt == maxper;
    p->w_total++;
}

static bool pending(const struct al_planner *p, uint32_t gpu)
{
    return (p->maybe[gpu / 64] >> (gpu % 64)) & 1;
}

/* Check the pending GPUs of each node of todo[0..n) (distinct, n <= 64) that has fewer than
 * `need` free ones, in the node's order, while it can still reach `need` (the rest stay pending for
 * confirm_all). Each round checks the next GPU of every node still going, together
 * (al_calendar_free_many), so that the cache misses of different nodes overlap; each node's outcome
 * is what checking it alone would give. */
static void confirm_nodes(struct al_planner *p, const struct al_request *r, unsigned maxper,
                          unsigned need, const uint32_t *todo, unsigned n)
{
    uint32_t at[64], left[64], gpus[64];
    unsigned who[64];
    bool free[64];
    for (unsigned i = 0; i < n; i++) { /* a node with enough already is done */
        at[i] = p->node_cnt[todo[i]] < need ? p->node_first[todo[i]] : p->node_first[todo[i] + 1];
        left[i] = 0;
        for (uint32_t k = at[i]; k < p->node_first[todo[i] + 1]; k++)
            left[i] += pending(p, p->node_gpus[k]);
    }
    for (;;) {
        unsigned m = 0;
        for (unsigned i = 0; i < n; i++) {
            uint32_t end = p->node_first[todo[i] + 1];
            if (p->node_cnt[todo[i]] + left[i] < need)
                continue;
            while (at[i] < end && !pending(p, p->node_gpus[at[i]]))
                at[i]++;
            if (at[i] == end)
                continue;
            who[m] = i;
            gpus[m++] = p->node_gpus[at[i]++];
        }
        if (m == 0)
            break;
        al_calendar_free_many(p->c, gpus, m, r->start, r->end, free);
        for (unsigned j = 0; j < m; j++) {
            confirm(p, r, maxper, gpus[j], todo[who[j]], free[j]);
            left[who[j]]--;
        }
    }
}

/* Check pending GPUs until `stop` are known free (all of them for an exact count), a word's
 * together. */
static void confirm_all(struct al_planner *p, const struct al_request *r, unsigned maxper,
                        unsigned stop)
{
    uint32_t gpus[64];
    bool free[64];
    for (size_t w = 0; w < p->words && p->w_total < stop; w++) {
        unsigned m = 0;
        for (uint64_t scan = p->maybe[w]; scan; scan &= scan - 1)
            gpus[m++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
        al_calendar_free_many(p->c, gpus, m, r->start, r->end, free);
        for (unsigned j = 0; j < m; j++)
            confirm(p, r, maxper, gpus[j], p->gpu_node[gpus[j]], free[j]);
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

/* Is `node` among list[0..n)? (A node is listed once even when its GPUs are not adjacent.) */
static bool listed(const uint32_t *list, unsigned n, uint32_t node)
{
    for (unsigned i = n; i > 0; i--) /* usually the last one */
        if (list[i - 1] == node)
            return true;
    return false;
}

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
        if (pot >= ws->need && *cnt < ws->need && !listed(todo, ntodo, node))
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
    size_t ng = al_fleet_ngpus(p->f);
    unsigned need = r->count <= maxper ? r->count : maxper;
    bool nf = node_filter(&r->where), enough = false;
    const struct wscan ws = {r, maxper, need, nf};
    size_t w0 = exhaustive ? 0 : ((size_t)p->rot++ * 61u) % p->words, k;
    p->w_total = p->w_fits = p->w_full = 0;
    new_round(p);
    memset(p->freeb, 0, p->words * sizeof *p->freeb);
    memset(p->maybe, 0, p->words * sizeof *p->maybe);
    for (k = 0; k < p->words && !enough; k++) {
        size_t w = (w0 + k) % p->words, ahead = (w0 + k + 2) % p->words * 64;
        for (size_t i = ahead; i < ahead + 64 && i < ng; i += 16) /* a word two on: 4 lines */
            PREFETCH(&p->gpu_node[i]);
        uint64_t base = elig_word(p, slot, &r->where, w), idx[4];
        if (!base)
            continue;
        al_calendar_index_word(p->c, sp, w, idx);
        elig += nf ? 0 : (unsigned)__builtin_popcountll(base);
        uint32_t todo[64];
        unsigned ntodo = whole_word(p, &ws, w, exhaustive && nf ? base : base & (idx[0] | idx[1]),
                                    idx, todo, &elig);
        /* the exact checks of this word's hopeful nodes, together */
        confirm_nodes(p, r, maxper, need, todo, ntodo);
        enough = !exhaustive && whole_enough(p, r, maxper);
    }
    *complete = k == p->words;
    if (eligible)
        *eligible = elig;
}

/* Take `n` free GPUs of node `node` into the plan: dedicated first, then general-pool GPUs
 * without pool work, then those with (gpu_shun); in each, not in MIG mode first. */
static void take_node(struct al_planner *p, uint32_t node, unsigned n, struct al_plan *plan)
{
    const struct al_node *nd = al_fleet_node(p->f, node);
    for (unsigned cls = 0; cls < 6 && n > 0; cls++) {
        for (uint32_t i = 0; i < nd->ngpus && n > 0; i++) {
            uint32_t gpu = nd->gpus[i];
            const struct al_gpu *g = al_fleet_gpu(p->f, gpu);
            if (!((p->freeb[gpu / 64] >> (gpu % 64)) & 1) || gpu_shun(g) * 2 + g->mig_mode != cls)
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

int al_planner__plan_whole_model(struct al_planner *p, const struct al_request *r, unsigned slot,
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
