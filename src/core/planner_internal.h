/* planner_internal.h — what the files of the planner share: its scratch state, the per-GPU
 * evaluation record of MIG plans, the effort bounds, and the small helpers every file needs
 * (node counters, eligibility). planner.c: life cycle, requests, earliest window;
 * planner_whole.c: whole GPUs; planner_mig.c: MIG instances; planner_avail.c: availability;
 * planner_models.c: model choice. Internal to src/core. */
#ifndef AL_CORE_PLANNER_INTERNAL_H
#define AL_CORE_PLANNER_INTERNAL_H

#include "core/assert.h"
#include "core/planner.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

#define GB            UINT64_C(1000000000)
#define FRESH_CLASSES 6 /* fresh GPUs: (shun 0..2, needs reconfiguration) */
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
    uint8_t shun;     /* gpu_shun: 0 dedicated, 1 general pool, 2 general with pool work */
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
    /* the GPUs of node n are node_gpus[node_first[n] .. node_first[n + 1]), in the fleet's
     * order: the whole-GPU scan reads them for every hopeful node, where the fleet's node
     * record and its list are two cache misses */
    uint32_t *node_first, *node_gpus;
    /* fragmentation score of the model in use: distinct placement masks per size */
    const struct al_gpu_model *frag_model;
    unsigned nsizes;
    unsigned nmasks[AL_MIG_MAX_UNITS];
    uint32_t masks[AL_MIG_MAX_UNITS][AL_MIG_MAX_UNITS * AL_MIG_MAX_PROFILES];
    struct tedge *tev; /* time_loss: hold starts and ends */
    size_t tevcap;
};

static inline int grow(void **ptr, size_t *cap, size_t need, size_t elem)
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

/* Start a new request: node counters and the node filter cache are reset lazily by stamp. */
static inline void new_round(struct al_planner *p)
{
    p->ntouched = 0;
    if (++p->gen == 0) {
        memset(p->node_gen, 0, p->nodes_cap * sizeof *p->node_gen);
        p->gen = 1;
    }
}

/* Node counter access: first touch of a node in this round zeroes it and records it. */
static inline uint32_t *node_count(struct al_planner *p, uint32_t node)
{
    AL_ASSERT(node < p->nodes_cap); /* al_planner__scratch sized the node arrays for the fleet */
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

/* Does node `node` pass the zone and label filter of w? */
static inline bool node_matches(const struct al_fleet *f, uint32_t node, const struct al_where *w)
{
    const struct al_node *n = al_fleet_node(f, node);
    return (!w || !w->zone || !*w->zone || strcmp(n->zone, w->zone) == 0) &&
           (!w || al_fleet_labels_match(n->labels, w->labels));
}

/* node_matches, remembered per node for the rest of the round. */
static inline bool node_passes(struct al_planner *p, uint32_t node, const struct al_where *w)
{
    node_count(p, node);
    if (p->node_ok[node] < 0)
        p->node_ok[node] = node_matches(p->f, node, w) ? 1 : 0;
    return p->node_ok[node] == 1;
}

static inline bool node_filter(const struct al_where *w)
{
    return w && ((w->zone && *w->zone) || (w->labels && *w->labels));
}

/* Word w of the GPUs of model `slot` that may take new work: usable (core/fleet.h: healthy,
 * not drained, reported, node online), in the pool asked (zone and labels are per node:
 * node_passes). */
static inline uint64_t elig_word(const struct al_planner *p, unsigned slot,
                                 const struct al_where *wh, size_t w)
{
    uint64_t b = al_fleet_model_bits(p->f, slot)[w] & al_fleet_usable_bits(p->f)[w];
    if (b && wh && wh->pool >= 0)
        b &= al_fleet_pool_bits(p->f, (enum al_pool)wh->pool)[w];
    return b;
}

/* May new work go on this GPU at all (usable: health, drain, reported, node online; pool,
 * zone, labels)? */
static inline bool gpu_eligible(struct al_planner *p, uint32_t gpu, const struct al_where *w)
{
    const struct al_gpu *g = al_fleet_gpu(p->f, gpu);
    if (!g->usable)
        return false;
    if (w && w->pool >= 0 && g->pool != w->pool)
        return false;
    return !node_filter(w) || node_passes(p, g->node, w);
}

/* How much a reservation would rather not take GPU g (docs/planner.md, "Dedicated GPUs
 * first"): 0 a dedicated GPU, 1 a general-pool GPU, 2 a general-pool GPU running pool work
 * now (a reservation there preempts it). Ties of every other rule are broken this way. */
static inline unsigned gpu_shun(const struct al_gpu *g)
{
    return g->pool == AL_POOL_GENERAL ? 1u + g->pool_busy : 0u;
}

/* Size the per-word and per-node scratch for the fleet as it is now (planner.c). */
int al_planner__scratch(struct al_planner *p);

/* Plan request r on the fleet's model `slot` (planner_whole.c, planner_mig.c: MIG profile
 * `prof`): 0 with the allocations in plan, or AL_E_NOFIT with the refusal's counts in plan,
 * AL_E_RANGE, AL_E_NOMEM. */
int al_planner__plan_whole_model(struct al_planner *p, const struct al_request *r, unsigned slot,
                                 struct al_plan *plan);
int al_planner__plan_mig_model(struct al_planner *p, const struct al_request *r, unsigned slot,
                               unsigned prof, struct al_plan *plan);

#endif
