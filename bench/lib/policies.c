/* policies.c — mig-replay cluster model and the peers' placement rules (see policies.h). */
#include "policies.h"

#include <stdlib.h>
#include <string.h>

int al_sim_init(struct al_sim *s, const struct al_gpu_model *m, uint32_t ngpus,
                struct al_err *reterr)
{
    memset(s, 0, sizeof *s);
    if (!m || !m->mig || ngpus == 0)
        return al_err_set(reterr, AL_E_INVAL, "sim: need a MIG model and at least one GPU");
    s->g = calloc(ngpus, sizeof *s->g);
    if (!s->g)
        return al_err_set(reterr, AL_E_NOMEM, "sim: out of memory");
    s->m = m;
    s->ngpus = ngpus;
    return 0;
}

void al_sim_free(struct al_sim *s)
{
    if (!s)
        return;
    free(s->g);
    s->g = NULL;
}

void al_sim_expire(struct al_sim *s, uint32_t gpu, int64_t now)
{
    struct al_sim_gpu *g = &s->g[gpu];
    for (unsigned i = 0; i < g->n; i++)
        if (g->inst[i].busy && g->inst[i].end <= now)
            g->inst[i].busy = false;
}

void al_sim_busy_layout(const struct al_sim *s, uint32_t gpu, struct al_layout *ret)
{
    const struct al_sim_gpu *g = &s->g[gpu];
    ret->model = s->m;
    ret->n = 0;
    for (unsigned i = 0; i < g->n; i++)
        if (g->inst[i].busy)
            ret->p[ret->n++] = g->inst[i].p;
}

void al_sim_layout(const struct al_sim *s, uint32_t gpu, struct al_layout *ret)
{
    const struct al_sim_gpu *g = &s->g[gpu];
    ret->model = s->m;
    ret->n = 0;
    for (unsigned i = 0; i < g->n; i++)
        ret->p[ret->n++] = g->inst[i].p;
}

bool al_sim_wholly_free(const struct al_sim *s, uint32_t gpu, int64_t now)
{
    const struct al_sim_gpu *g = &s->g[gpu];
    if (g->whole)
        return g->whole_end <= now;
    for (unsigned i = 0; i < g->n; i++)
        if (g->inst[i].busy && g->inst[i].end > now)
            return false;
    return true;
}

unsigned al_sim_busy_slices(const struct al_sim *s, uint32_t gpu, int64_t now)
{
    const struct al_sim_gpu *g = &s->g[gpu];
    unsigned c = 0;
    if (g->whole)
        return g->whole_end > now ? s->m->compute_slices : 0;
    for (unsigned i = 0; i < g->n; i++)
        if (g->inst[i].busy && g->inst[i].end > now)
            c += s->m->profiles[g->inst[i].p.profile].compute_slices;
    return c;
}

bool al_sim_fits(const struct al_sim *s, uint32_t gpu, struct al_placement p, int64_t now)
{
    const struct al_sim_gpu *g = &s->g[gpu];
    struct al_layout busy;
    if (g->whole)
        return g->whole_end <= now;
    al_sim_busy_layout(s, gpu, &busy);
    return al_layout_can_add(&busy, p);
}

static void drop_inst(struct al_sim_gpu *g, unsigned i)
{
    g->inst[i] = g->inst[--g->n];
}

/* Remove idle instances that stand in the way of `p`: first those overlapping it, then, if the
 * layout still refuses it (compute or count limits), every idle one. */
static void clear_for(const struct al_sim *s, struct al_sim_gpu *g, struct al_placement p)
{
    uint32_t pm = al_placement_mask(s->m, p);
    struct al_layout l = {.model = s->m};
    for (unsigned i = g->n; i-- > 0;)
        if (!g->inst[i].busy && (al_placement_mask(s->m, g->inst[i].p) & pm))
            drop_inst(g, i);
    for (unsigned i = 0; i < g->n; i++)
        l.p[l.n++] = g->inst[i].p;
    if (al_layout_can_add(&l, p))
        return;
    for (unsigned i = g->n; i-- > 0;)
        if (!g->inst[i].busy)
            drop_inst(g, i);
}

/* Every commit re-validates the GPU's configured layout: the peers and the replay must never
 * produce one NVML would refuse. */
static void check(struct al_sim *s, uint32_t gpu)
{
    struct al_layout l;
    al_sim_layout(s, gpu, &l);
    if (al_layout_validate(&l, NULL) != 0)
        s->invalid++;
}

bool al_sim_commit_mig(struct al_sim *s, uint32_t gpu, struct al_placement p, int64_t end)
{
    struct al_sim_gpu *g = &s->g[gpu];
    if (g->whole) { /* mode switch: the GPU is idle (al_sim_fits held) */
        g->whole = false;
        g->n = 0;
    } else {
        for (unsigned i = 0; i < g->n; i++) {
            struct al_sim_inst *x = &g->inst[i];
            if (!x->busy && x->p.profile == p.profile && x->p.start == p.start) {
                x->busy = true;
                x->end = end;
                check(s, gpu);
                return false;
            }
        }
        clear_for(s, g, p);
    }
    g->inst[g->n++] = (struct al_sim_inst){.p = p, .busy = true, .end = end};
    s->reconfigs++;
    check(s, gpu);
    return true;
}

bool al_sim_commit_whole(struct al_sim *s, uint32_t gpu, int64_t end)
{
    struct al_sim_gpu *g = &s->g[gpu];
    bool reconf = !g->whole;
    g->whole = true;
    g->whole_end = end;
    g->n = 0;
    if (reconf)
        s->reconfigs++;
    return reconf;
}

const char *al_peer_name(enum al_peer p)
{
    static const char *const names[AL_PEER_COUNT] = {"firstfit-instaslice", "nos", "hami",
                                                     "bestfit"};
    return (unsigned)p < AL_PEER_COUNT ? names[p] : "?";
}

int al_sim_class_profile(const struct al_gpu_model *m, unsigned slices)
{
    int best = -1;
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *pr = &m->profiles[i];
        if (pr->compute_slices != slices || pr->attrs != AL_MIG_ATTR_NONE)
            continue;
        if (best < 0 || pr->size < m->profiles[best].size)
            best = (int)i;
    }
    return best;
}

/* First (or, with `high`, last) allowed start of `prof` that fits on `gpu` now; -1 if none. */
static int free_start(const struct al_sim *s, uint32_t gpu, unsigned prof, bool high, int64_t now)
{
    const struct al_mig_profile *pr = &s->m->profiles[prof];
    for (unsigned k = 0; k < pr->nstarts; k++) {
        unsigned j = high ? pr->nstarts - 1 - k : k;
        struct al_placement p = {.profile = (uint8_t)prof, .start = pr->starts[j]};
        if (al_sim_fits(s, gpu, p, now))
            return pr->starts[j];
    }
    return -1;
}

/* InstaSlice (first GPU, first start) and HAMi (first GPU; 1g and 3g take the highest start). */
static int place_first(struct al_sim *s, unsigned prof, bool hami, int64_t now, int64_t end)
{
    unsigned cs = s->m->profiles[prof].compute_slices;
    bool high = hami && (cs == 1 || cs == 3);
    for (uint32_t g = 0; g < s->ngpus; g++) {
        al_sim_expire(s, g, now);
        int st = free_start(s, g, prof, high, now);
        if (st >= 0) {
            al_sim_commit_mig(s, g, (struct al_placement){(uint8_t)prof, (uint8_t)st}, end);
            return 0;
        }
    }
    return AL_E_NOFIT;
}

/* Best fit: the GPU with the fewest free compute slices on which the instance fits. */
static int place_bestfit(struct al_sim *s, unsigned prof, int64_t now, int64_t end)
{
    int best = -1, best_st = -1;
    unsigned best_free = ~0u;
    for (uint32_t g = 0; g < s->ngpus; g++) {
        al_sim_expire(s, g, now);
        unsigned fr = s->m->compute_slices - al_sim_busy_slices(s, g, now);
        if (fr >= best_free || fr < s->m->profiles[prof].compute_slices)
            continue;
        int st = free_start(s, g, prof, false, now);
        if (st >= 0) {
            best = (int)g;
            best_st = st;
            best_free = fr;
        }
    }
    if (best < 0)
        return AL_E_NOFIT;
    al_sim_commit_mig(s, (uint32_t)best, (struct al_placement){(uint8_t)prof, (uint8_t)best_st},
                      end);
    return 0;
}

/* nos's known A100 geometries (pkg/gpu/mig/known_configs.go, A100-SXM4-40GB, in its order), as
 * counts of the 1g, 2g, 3g, 4g and 7g profiles; H100-80GB has the same placement structure.
 * Note the list lacks {4g, 3g} and {3g, 4x1g}, which NVML allows. */
#define NOS_NGEOM 12
static const uint8_t nos_geom[NOS_NGEOM][5] = {
    {0, 0, 0, 0, 1}, {1, 1, 0, 1, 0}, {3, 0, 0, 1, 0}, {0, 0, 2, 0, 0},
    {1, 1, 1, 0, 0}, {3, 0, 1, 0, 0}, {0, 2, 1, 0, 0}, {2, 1, 1, 0, 0},
    {1, 3, 0, 0, 0}, {3, 2, 0, 0, 0}, {5, 1, 0, 0, 0}, {7, 0, 0, 0, 0},
};
static const uint8_t class_slices[5] = {1, 2, 3, 4, 7};

static int class_of(const struct al_gpu_model *m, unsigned prof)
{
    for (int c = 0; c < 5; c++)
        if (m->profiles[prof].compute_slices == class_slices[c])
            return c;
    return -1;
}

/* nos pass 1: a configured, idle instance of the profile anywhere (no reconfiguration). */
static bool nos_reuse(struct al_sim *s, unsigned prof, int64_t now, int64_t end)
{
    for (uint32_t g = 0; g < s->ngpus; g++) {
        struct al_sim_gpu *gp = &s->g[g];
        if (gp->whole)
            continue;
        al_sim_expire(s, g, now);
        for (unsigned i = 0; i < gp->n; i++)
            if (!gp->inst[i].busy && gp->inst[i].p.profile == prof) {
                al_sim_commit_mig(s, g, gp->inst[i].p, end);
                return true;
            }
    }
    return false;
}

/* Apply geometry `geo` to GPU g keeping its busy instances where they are; true on success
 * with the new layout configured and the task started on an instance of `prof`. */
static bool nos_apply(struct al_sim *s, uint32_t g, const uint8_t geo[5], unsigned prof,
                      int64_t end)
{
    struct al_sim_gpu *gp = &s->g[g];
    struct al_layout in, out;
    int used[5] = {0}, want = class_of(s->m, prof);
    al_sim_busy_layout(s, g, &in);
    for (unsigned i = 0; i < in.n; i++) {
        int c = class_of(s->m, in.p[i].profile);
        if (c < 0)
            return false;
        used[c]++;
    }
    used[want]++; /* the new task's instance must be in the geometry too */
    for (int c = 0; c < 5; c++)
        if (geo[c] < used[c])
            return false;
    used[want]--;
    for (int c = 0; c < 5; c++)
        for (int k = used[c]; k < geo[c]; k++)
            in.p[in.n++] = (struct al_placement){
                .profile = (uint8_t)al_sim_class_profile(s->m, class_slices[c]),
                .start = AL_START_ANY};
    if (al_layout_place(&in, &out, NULL) != 0)
        return false;
    /* Rebuild the configured layout: busy instances stay, the rest are new and idle. */
    struct al_sim_gpu ng = {.whole = false};
    bool taken = false;
    for (unsigned i = 0; i < out.n; i++) {
        struct al_sim_inst x = {.p = out.p[i]};
        for (unsigned j = 0; j < gp->n && !gp->whole; j++)
            if (gp->inst[j].busy && gp->inst[j].p.profile == x.p.profile &&
                gp->inst[j].p.start == x.p.start)
                x = gp->inst[j];
        if (!x.busy && !taken && x.p.profile == prof) {
            x.busy = true;
            x.end = end;
            taken = true;
        }
        ng.inst[ng.n++] = x;
    }
    *gp = ng;
    s->reconfigs++;
    check(s, g);
    return taken;
}

static int place_nos(struct al_sim *s, unsigned prof, int64_t now, int64_t end)
{
    if (class_of(s->m, prof) < 0)
        return AL_E_NOFIT;
    if (nos_reuse(s, prof, now, end))
        return 0;
    for (uint32_t g = 0; g < s->ngpus; g++) {
        al_sim_expire(s, g, now);
        if (s->g[g].whole && s->g[g].whole_end > now)
            continue;
        for (unsigned k = 0; k < NOS_NGEOM; k++)
            if (nos_apply(s, g, nos_geom[k], prof, end))
                return 0;
    }
    return AL_E_NOFIT;
}

int al_peer_place_mig(struct al_sim *s, enum al_peer peer, unsigned prof, int64_t now, int64_t end)
{
    if (prof >= s->m->nprofiles)
        return AL_E_INVAL;
    switch (peer) {
    case AL_PEER_FIRSTFIT:
        return place_first(s, prof, false, now, end);
    case AL_PEER_HAMI:
        return place_first(s, prof, true, now, end);
    case AL_PEER_BESTFIT:
        return place_bestfit(s, prof, now, end);
    case AL_PEER_NOS:
        return place_nos(s, prof, now, end);
    default:
        return AL_E_INVAL;
    }
}

int al_peer_place_whole(struct al_sim *s, enum al_peer peer, unsigned k, int64_t now, int64_t end)
{
    uint32_t pick[64];
    unsigned n = 0;
    (void)peer;
    if (k == 0 || k > 64)
        return AL_E_INVAL;
    for (uint32_t g = 0; g < s->ngpus && n < k; g++) {
        al_sim_expire(s, g, now);
        if (al_sim_wholly_free(s, g, now))
            pick[n++] = g;
    }
    if (n < k)
        return AL_E_NOFIT;
    for (unsigned i = 0; i < n; i++)
        al_sim_commit_whole(s, pick[i], end);
    return 0;
}
