/* calendar_query.c — the calendar's per-GPU reads: held units over a window (one GPU, or
 * a batch whose cache misses overlap), wholly free or not, the holds themselves, and the
 * memory the calendar uses. */
#include "core/calendar_internal.h"

/* ---- queries ---- */

/* t relative to origin, clamped into [0, UINT32_MAX]. */
static uint32_t clamp_rel(const struct al_calendar *c, int64_t t)
{
    if (t <= c->origin)
        return 0;
    if (t - c->origin > (int64_t)UINT32_MAX)
        return UINT32_MAX;
    return (uint32_t)(t - c->origin);
}

/* The units of hold i of g, as al_calendar_mask counts them. */
static uint32_t hold_units(const struct al_calendar *c, const struct gcal *g, uint32_t i)
{
    uint8_t u = gbytes(g)[i];
    if (u != UNIT_ASK)
        return u;
    const struct rec *r = rec_at(c, g->e[i].id);
    return r->profile == AL_CAL_PROFILE_WHOLE ? AL_CAL_WHOLE_MASK : r->mask;
}

uint32_t al_calendar_mask(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e)
{
    const struct gcal *g = gcal_of(c, gpu);
    if (!g || g->n == 0 || e <= s || e <= c->origin)
        return 0;
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e);
    uint32_t lo, hi, m = 0;
    span(g, rs, re, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++)
        if (g->e[i].t1 > rs)
            m |= hold_units(c, g, i);
    return m;
}

/* lower_t0(g[i], t) for the n searches at once, into pos[i] (0 for a NULL g[i]): each pass
 * requests the probe of every search still going before reading any, so that the cache misses
 * of different GPUs overlap. */
static void lower_batch(const struct gcal *const *g, size_t n, uint32_t t, uint32_t *pos)
{
    uint32_t len[AL_CAL_BATCH];
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        pos[i] = 0;
        len[i] = g[i] ? g[i]->n : 0;
        more |= len[i] > 0;
    }
    while (more) {
        for (size_t i = 0; i < n; i++)
            if (len[i] > 0)
                PREFETCH(&g[i]->e[pos[i] + len[i] / 2]);
        more = false;
        for (size_t i = 0; i < n; i++) {
            if (len[i] == 0)
                continue;
            uint32_t half = len[i] / 2;
            if (g[i]->e[pos[i] + half].t0 < t) {
                pos[i] += half + 1;
                len[i] -= half + 1;
            } else {
                len[i] = half;
            }
            more |= len[i] > 0;
        }
    }
}

/* Stage 1 of the batched reads: the span (lo, hi) of each GPU's array that may overlap
 * [rs, re), as span() finds it, but with the n GPUs' binary searches in lockstep
 * (lower_batch), their array headers requested first (1.9 MB of them at 80k GPUs): an array of
 * a GPU in MIG mode holds a few hundred entries at 3M holds, eight or nine probes, most of them
 * misses. */
static void spans_batch(const struct al_calendar *c, const uint32_t *gpus, size_t n, uint32_t rs,
                        uint32_t re, uint32_t *lo, uint32_t *hi)
{
    const struct gcal *g[AL_CAL_BATCH];
    for (size_t i = 0; i < n; i++)
        if ((g[i] = gcal_of(c, gpus[i])) != NULL)
            PREFETCH(g[i]);
    lower_batch(g, n, re, hi);
    for (size_t i = 0; i < n; i++) { /* walk back from lower_t0(g, re) as span() does */
        uint32_t l = hi[i];
        while (l > 0 && (uint64_t)g[i]->e[l - 1].t0 + g[i]->maxlen > rs)
            l--;
        lo[i] = l;
        if (l < hi[i])
            PREFETCH(gbytes(g[i]) + l);
    }
}

/* One batch of al_calendar_masks (n <= AL_CAL_BATCH). Stage 1 finds each GPU's span,
 * stage 2 requests the records of the overlapping holds that need one, stage 3 reads them. */
static void masks_batch(const struct al_calendar *c, const uint32_t *gpus, size_t n, uint32_t rs,
                        uint32_t re, uint32_t *ret)
{
    uint32_t lo[AL_CAL_BATCH], hi[AL_CAL_BATCH];
    spans_batch(c, gpus, n, rs, re, lo, hi);
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]); /* NULL: lo == hi */
        for (uint32_t k = lo[i]; k < hi[i]; k++)
            if (g->e[k].t1 > rs && gbytes(g)[k] == UNIT_ASK)
                PREFETCH(rec_at(c, g->e[k].id));
    }
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]);
        uint32_t m = 0;
        for (uint32_t k = lo[i]; k < hi[i]; k++)
            if (g->e[k].t1 > rs)
                m |= hold_units(c, g, k);
        ret[i] = m;
    }
}

void al_calendar_masks(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                       int64_t e, uint32_t *ret)
{
    if (e <= s || e <= c->origin) {
        memset(ret, 0, n * sizeof *ret);
        return;
    }
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e);
    for (size_t i = 0; i < n; i += AL_CAL_BATCH)
        masks_batch(c, gpus + i, n - i < AL_CAL_BATCH ? n - i : AL_CAL_BATCH, rs, re, ret + i);
}

/* One MIG hold alive at the instant window_sum has reached: its end and its instance. */
struct alive {
    uint32_t t1;
    struct al_placement p;
};

/* The holds at positions [lo, hi) of GPU `gpu`'s array that end after rs, summed as
 * al_calendar_window_sum says. They are visited in order of start. `cur` sums the holds alive
 * at the start of the last one visited (or at rs); it only grows until a hold ends, so it is
 * folded into the result just before a hold leaves it, and at the end: every instant where the
 * layout changes is covered (the layout at an instant where a hold ends is a subset of the one
 * before it). */
static int sum_span(const struct al_calendar *c, uint32_t gpu, uint32_t rs, uint32_t lo,
                    uint32_t hi, struct al_layout_sum *ret)
{
    const struct gcal *g = &c->gpus[gpu];
    const struct al_gpu_model *m = NULL; /* read at the first MIG hold: a miss of its own */
    struct alive alive[AL_LAYOUT_MAX];
    struct al_layout_sum cur = {0};
    unsigned na = 0;
    int n = 0;
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t1 <= rs)
            continue;
        const struct rec *r = rec_at(c, g->e[i].id);
        uint32_t tau = g->e[i].t0 > rs ? g->e[i].t0 : rs, left = na;
        for (unsigned k = 0; k < left;) {
            if (alive[k].t1 <= tau)
                alive[k] = alive[--left];
            else
                k++;
        }
        if (left < na) { /* some ended: fold the layout they were part of, restart the sum */
            al_layout_sum_join(ret, &cur);
            memset(&cur, 0, sizeof cur);
            for (unsigned k = 0; k < left; k++)
                al_layout_sum_add(m, &cur, alive[k].p);
            na = left;
        }
        /* the calendar keeps every instant's holds a valid layout, so a full list (more than
         * any GPU's max_instances) or a whole-GPU hold next to MIG ones means no room */
        if (r->profile == AL_CAL_PROFILE_WHOLE || na == AL_LAYOUT_MAX) {
            memset(ret, 0, sizeof *ret);
            return AL_E_NOFIT;
        }
        if (!m)
            m = al_fleet_gpu(c->fleet, gpu)->model;
        alive[na++] = (struct alive){g->e[i].t1, {r->profile, r->start}};
        al_layout_sum_add(m, &cur, alive[na - 1].p);
        n++;
    }
    al_layout_sum_join(ret, &cur);
    return n;
}

int al_calendar_window_sum(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                           struct al_layout_sum *ret)
{
    int rc = 0;
    al_calendar_window_sums(c, &gpu, 1, s, e, &rc, ret);
    return rc;
}

/* One batch of al_calendar_window_sums (n <= AL_CAL_BATCH): stage 1 finds each GPU's span
 * (spans_batch), stage 2 requests the records of the holds in the window (and, for a GPU with
 * MIG holds there, its fleet entry, for its model), stage 3 reads them. */
static void sums_batch(const struct al_calendar *c, const uint32_t *gpus, size_t n, uint32_t rs,
                       uint32_t re, int *rc, struct al_layout_sum *ret)
{
    uint32_t lo[AL_CAL_BATCH], hi[AL_CAL_BATCH];
    spans_batch(c, gpus, n, rs, re, lo, hi);
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]); /* NULL: lo == hi */
        bool mig = false;
        for (uint32_t k = lo[i]; k < hi[i]; k++) {
            if (g->e[k].t1 > rs) {
                PREFETCH(rec_at(c, g->e[k].id));
                mig |= gbytes(g)[k] != UNIT_ASK;
            }
        }
        if (mig)
            PREFETCH(al_fleet_gpu(c->fleet, gpus[i]));
    }
    for (size_t i = 0; i < n; i++) {
        memset(&ret[i], 0, sizeof ret[i]);
        rc[i] = lo[i] == hi[i] ? 0 : sum_span(c, gpus[i], rs, lo[i], hi[i], &ret[i]);
    }
}

void al_calendar_window_sums(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                             int64_t e, int *rc, struct al_layout_sum *ret)
{
    if (e <= s || e <= c->origin) {
        memset(rc, 0, n * sizeof *rc);
        memset(ret, 0, n * sizeof *ret);
        return;
    }
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e);
    for (size_t i = 0; i < n; i += AL_CAL_BATCH)
        sums_batch(c, gpus + i, n - i < AL_CAL_BATCH ? n - i : AL_CAL_BATCH, rs, re, rc + i,
                   ret + i);
}

bool al_calendar_free_during(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e)
{
    const struct gcal *g = gcal_of(c, gpu);
    if (!g || g->n == 0 || e <= s || e <= c->origin)
        return true;
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e), lo, hi;
    span(g, rs, re, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++)
        if (g->e[i].t1 > rs)
            return false;
    return true;
}

/* One batch of al_calendar_free_many (n <= AL_CAL_BATCH). */
static void free_batch(const struct al_calendar *c, const uint32_t *gpus, size_t n, uint32_t rs,
                       uint32_t re, bool *ret)
{
    uint32_t lo[AL_CAL_BATCH], hi[AL_CAL_BATCH];
    spans_batch(c, gpus, n, rs, re, lo, hi);
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]); /* NULL: lo == hi */
        bool free = true;
        for (uint32_t k = lo[i]; k < hi[i] && free; k++)
            free = g->e[k].t1 <= rs;
        ret[i] = free;
    }
}

void al_calendar_free_many(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                           int64_t e, bool *ret)
{
    if (e <= s || e <= c->origin) {
        for (size_t i = 0; i < n; i++)
            ret[i] = true;
        return;
    }
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e);
    for (size_t i = 0; i < n; i += AL_CAL_BATCH)
        free_batch(c, gpus + i, n - i < AL_CAL_BATCH ? n - i : AL_CAL_BATCH, rs, re, ret + i);
}

int al_calendar_each(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                     al_hold_visit_fn fn, void *ctx)
{
    const struct gcal *g = gcal_of(c, gpu);
    if (!g || g->n == 0 || e <= s || e <= c->origin)
        return 0;
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e);
    uint32_t lo, hi;
    span(g, rs, re, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t1 <= rs)
            continue;
        struct al_hold h;
        rec_to_hold(c, rec_at(c, g->e[i].id), &h);
        int rc = fn(g->e[i].id, &h, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int count_one(uint32_t id, const struct al_hold *h, void *ctx)
{
    (void)id;
    (void)h;
    (*(size_t *)ctx)++;
    return 0;
}

size_t al_calendar_count(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e)
{
    if (gpu == UINT32_MAX)
        return c->live;
    size_t n = 0;
    al_calendar_each(c, gpu, s, e, count_one, &n);
    return n;
}

size_t al_calendar_holds(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                         struct al_hold *out, size_t max)
{
    const struct gcal *g = gcal_of(c, gpu);
    if (!g || g->n == 0 || e <= s || e <= c->origin)
        return 0;
    uint32_t rs = clamp_rel(c, s), re = clamp_rel(c, e), lo, hi;
    size_t n = 0;
    span(g, rs, re, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t1 <= rs)
            continue;
        if (n < max)
            rec_to_hold(c, rec_at(c, g->e[i].id), &out[n]);
        n++;
    }
    return n;
}

void al_calendar_prefetch(const struct al_calendar *c, uint32_t gpu)
{
#if defined(__GNUC__)
    const struct gcal *g = gcal_of(c, gpu);
    if (g && g->n > 0) { /* the lines a binary search of a short array touches */
        __builtin_prefetch(&g->e[0]);
        __builtin_prefetch(&g->e[g->n / 2]);
        __builtin_prefetch(&g->e[g->n - 1]);
    }
#else
    (void)c;
    (void)gpu;
#endif
}

size_t al_calendar_bytes(const struct al_calendar *c)
{
    size_t b = sizeof *c + (size_t)c->nchunks * (CHUNK * sizeof(struct rec) + sizeof(void *)) +
               (size_t)c->ngpus * sizeof(struct gcal) + (size_t)c->otab_cap * sizeof(uint32_t) +
               (size_t)c->captent * sizeof(uint32_t) +
               4 * c->iwords * (size_t)c->nbuckets * sizeof(uint64_t) +
               c->iwords * 64 * (size_t)(c->nbuckets / BLOCK);
    for (uint32_t g = 0; g < c->ngpus; g++)
        b += (size_t)c->gpus[g].cap * (sizeof(struct gent) + 1);
    return b;
}
