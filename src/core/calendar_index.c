/* calendar_index.c — the calendar's coarse bucket index (ANY, NOROOM, CROSS, THRU bitsets
 * and the UNITS blocks; calendar.h explains them): kept up to date as holds change, and read
 * word by word by the planner. */
#include "core/calendar_internal.h"

#include <stdlib.h>

/* ---- upkeep ---- */

/* True when units `covered` leave no start free for any profile of model m. Called for every
 * bucket a refresh touches, so the placement masks are computed here, as al_placement_mask
 * does, rather than by a call per placement. */
static bool no_room(const struct al_gpu_model *m, uint32_t covered)
{
    for (unsigned q = 0; q < m->nprofiles; q++) {
        unsigned size = m->profiles[q].size;
        uint64_t bits = size >= 32 ? UINT64_C(0xffffffff) : (UINT64_C(1) << size) - 1;
        for (unsigned k = 0; k < m->profiles[q].nstarts; k++) {
            unsigned start = m->profiles[q].starts[k];
            uint32_t mask = size == 0 || start >= 32 ? 0 : (uint32_t)(bits << start);
            if (!(mask & covered))
                return false;
        }
    }
    return true;
}

/* UNITS bytes of GPU `gpu` for the blocks of buckets [b0, b1] (block-aligned), from the units
 * held per bucket. */
static void blk_store(struct al_calendar *c, uint32_t gpu, uint32_t b0, uint32_t b1,
                      const uint8_t *units)
{
    size_t stride = c->iwords * 64;
    for (uint32_t b = b0; b <= b1; b += BLOCK) {
        uint8_t u = 0;
        for (uint32_t j = 0; j < BLOCK && b + j <= b1; j++)
            u |= units[b + j - b0];
        c->blk[(size_t)(b / BLOCK) * stride + gpu] = u;
    }
}

/* Recompute the index bits of GPU `gpu` for buckets [b0, b1] (b1 - b0 < REFRESH_SPAN) and the
 * boundaries at their starts, from its holds. */
static void index_refresh_span(struct al_calendar *c, uint32_t gpu, uint32_t b0, uint32_t b1)
{
    uint64_t bit = UINT64_C(1) << (gpu % 64);
    size_t off = gpu / 64, st = c->iwords; /* bucket b of this GPU's word: [b * st + off] */
    uint64_t *any = c->any + off, *noroom = c->noroom + off, *cross = c->cross + off;
    uint64_t *thru = c->thru + off;
    uint16_t cover[REFRESH_SPAN] = {0};
    uint8_t units[REFRESH_SPAN] = {0};
    uint32_t bs = c->bucket_s;
    for (uint32_t b = b0; b <= b1; b++) {
        any[b * st] &= ~bit;
        noroom[b * st] &= ~bit;
        cross[b * st] &= ~bit;
        thru[b * st] &= ~bit;
    }
    const struct gcal *g = &c->gpus[gpu];
    uint32_t lo, hi, ws = b0 * bs;
    uint64_t we64 = (uint64_t)(b1 + 1) * bs;
    uint32_t we = we64 > UINT32_MAX ? UINT32_MAX : (uint32_t)we64;
    span(g, ws, we, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        const struct gent *h = &g->e[i];
        if (h->t1 <= ws)
            continue;
        const struct rec *r = rec_at(c, h->id);
        uint32_t hb0 = bucket_of(c, h->t0), hb1 = bucket_of(c, h->t1 - 1);
        for (uint32_t b = hb0 > b0 ? hb0 : b0; b <= hb1 && b <= b1; b++) {
            bool throughout = h->t0 <= b * bs && (uint64_t)h->t1 >= (uint64_t)(b + 1) * bs;
            any[b * st] |= bit;
            if (throughout)
                thru[b * st] |= bit;
            if (r->profile == AL_CAL_PROFILE_WHOLE) {
                noroom[b * st] |= bit;
                units[b - b0] = 0xff;
            } else { /* an instance held throughout b must avoid the units of every hold in b */
                cover[b - b0] |= r->mask;
                units[b - b0] |= (uint8_t)(r->mask & 0xff);
            }
            if (b > hb0) /* the hold straddles the boundary at b's start */
                cross[b * st] |= bit;
        }
    }
    const struct al_gpu_model *m = al_fleet_gpu(c->fleet, gpu)->model;
    for (uint32_t b = b0; b <= b1; b++)
        if (cover[b - b0] && m->mig && no_room(m, cover[b - b0]))
            noroom[b * st] |= bit;
    blk_store(c, gpu, b0, b1, units);
}

/* Recompute the index bits of GPU `gpu` for the buckets touching [s, e) from its holds. */
void al_calendar__index_refresh(struct al_calendar *c, uint32_t gpu, uint32_t s, uint32_t e)
{
    if (!c->any || s >= e)
        return;
    uint32_t b0 = bucket_of(c, s), b1 = bucket_of(c, e - 1);
    if (b1 >= c->nbuckets)
        b1 = c->nbuckets - 1;
    b0 -= b0 % BLOCK; /* whole blocks, so that each UNITS byte is recomputed from all its buckets */
    b1 += BLOCK - 1 - b1 % BLOCK;
    for (uint32_t b = b0; b <= b1; b += REFRESH_SPAN)
        index_refresh_span(c, gpu, b, b1 - b < REFRESH_SPAN ? b1 : b + REFRESH_SPAN - 1);
}

/* Rebuild the index with room for GPU `gpu` and bucket `bucket`. */
int al_calendar__index_grow(struct al_calendar *c, uint32_t gpu, uint32_t bucket)
{
    if (c->any && gpu / 64 < c->iwords && bucket < c->nbuckets)
        return 0;
    size_t words = c->iwords, need = (size_t)gpu / 64 + 1;
    uint32_t nb = c->nbuckets ? c->nbuckets : 128;
    if (need < (al_fleet_ngpus(c->fleet) + 63) / 64)
        need = (al_fleet_ngpus(c->fleet) + 63) / 64;
    if (words < need) /* exact, plus an eighth for a fleet that is still growing */
        words = need + (words ? need / 8 : 0);
    while (nb <= bucket)
        nb *= 2;
    uint64_t *any = calloc(words * nb, sizeof *any);
    uint64_t *noroom = calloc(words * nb, sizeof *noroom);
    uint64_t *cross = calloc(words * nb, sizeof *cross);
    uint64_t *thru = calloc(words * nb, sizeof *thru);
    uint8_t *blk = calloc(words * 64 * (nb / BLOCK), 1);
    if (!any || !noroom || !cross || !thru || !blk) {
        free(blk);
        free(any);
        free(noroom);
        free(cross);
        free(thru);
        return AL_E_NOMEM;
    }
    free(c->any);
    free(c->noroom);
    free(c->cross);
    free(c->thru);
    free(c->blk);
    c->blk = blk;
    c->any = any;
    c->noroom = noroom;
    c->cross = cross;
    c->thru = thru;
    c->iwords = words;
    c->nbuckets = nb;
    for (uint32_t g = 0; g < c->ngpus; g++) {
        const struct gcal *gc = &c->gpus[g];
        if (gc->n == 0)
            continue;
        uint32_t end = 0;
        for (uint32_t i = 0; i < gc->n; i++)
            end = gc->e[i].t1 > end ? gc->e[i].t1 : end;
        al_calendar__index_refresh(c, g, gc->e[0].t0, end);
    }
    return 0;
}

/* ---- reading it ---- */

#define IDX_AHEAD 16 /* words: two cache lines ahead in each bucket's row */

/* OR of the index words of GPU word w over buckets [b0, b1] (clipped to the index). */
static uint64_t or_buckets(const struct al_calendar *c, const uint64_t *bits, size_t w, uint32_t b0,
                           uint32_t b1)
{
    if (w >= c->iwords || !bits || b0 > b1 || b0 >= c->nbuckets)
        return 0;
    if (b1 >= c->nbuckets)
        b1 = c->nbuckets - 1;
    const uint64_t *p = bits + w;
    uint64_t m = 0;
    for (uint32_t b = b0; b <= b1; b++)
        m |= p[(size_t)b * c->iwords];
    return m;
}

int al_calendar_prepare(const struct al_calendar *c, int64_t s, int64_t e, struct al_cal_span *ret)
{
    uint32_t rs, re;
    if (s >= e)
        return AL_E_INVAL;
    if (to_rel(c, s, &rs) < 0 || to_rel(c, e, &re) < 0)
        return AL_E_RANGE;
    ret->b0 = bucket_of(c, rs);
    ret->b1 = bucket_of(c, re - 1);
    /* interior buckets lie wholly inside [s, e): a hold there surely overlaps the window */
    ret->i0 = rs % c->bucket_s == 0 ? ret->b0 : ret->b0 + 1;
    ret->i1 = (ret->b1 + 1) * (int64_t)c->bucket_s <= (int64_t)re ? ret->b1 : ret->b1 - 1;
    return 0;
}

/* Start loading the index words of GPU word w for buckets [b0, b1] (clipped to the index):
 * a scan reads each bucket's row in order, a cache line (8 words) at a time. */
static void index_prefetch(const struct al_calendar *c, size_t w, int64_t b0, int64_t b1)
{
    if (w >= c->iwords || b0 >= c->nbuckets)
        return;
    if (b1 >= c->nbuckets)
        b1 = c->nbuckets - 1;
    for (int64_t b = b0; b <= b1; b++) {
        size_t at = (size_t)b * c->iwords + w;
        PREFETCH(c->any + at);
        PREFETCH(c->noroom + at);
    }
    PREFETCH(c->thru + (size_t)b0 * c->iwords + w); /* the edge buckets' */
    PREFETCH(c->thru + (size_t)b1 * c->iwords + w);
    PREFETCH(c->cross + (size_t)b1 * c->iwords + w);
}

void al_calendar_index_word(const struct al_calendar *c, const struct al_cal_span *sp, size_t w,
                            uint64_t ret[4])
{
    uint64_t ai = 0, ae = 0, ni = 0, cr = 0, th = 0;
    /* scans read the words in order: the lines a few words on are requested now */
    index_prefetch(c, w + IDX_AHEAD, sp->b0, sp->b1);
    if (sp->i0 <= sp->i1) {
        ai = or_buckets(c, c->any, w, (uint32_t)sp->i0, (uint32_t)sp->i1);
        ni = or_buckets(c, c->noroom, w, (uint32_t)sp->i0, (uint32_t)sp->i1);
    }
    /* in a partly covered edge bucket, a hold alive throughout it overlaps the window too */
    if (sp->i0 > sp->b0) {
        ae |= or_buckets(c, c->any, w, (uint32_t)sp->b0, (uint32_t)sp->b0);
        th |= or_buckets(c, c->thru, w, (uint32_t)sp->b0, (uint32_t)sp->b0);
    }
    if (sp->i1 < sp->b1) {
        ae |= or_buckets(c, c->any, w, (uint32_t)sp->b1, (uint32_t)sp->b1);
        th |= or_buckets(c, c->thru, w, (uint32_t)sp->b1, (uint32_t)sp->b1);
    }
    /* a hold straddling a bucket boundary strictly inside the window overlaps it; next to an
     * interior bucket it is in that bucket's ANY already, so only the boundary between two edge
     * buckets needs reading */
    if (sp->b1 == sp->b0 + 1 && sp->i0 > sp->i1)
        cr = or_buckets(c, c->cross, w, (uint32_t)sp->b1, (uint32_t)sp->b1);
    ret[0] = ~(ai | ae);
    ret[1] = ~(ai | cr | th) & ae;
    ret[2] = ~ni;
    ret[3] = ai | ae;
}

int al_calendar_index(const struct al_calendar *c, int64_t s, int64_t e, uint64_t *sure_free,
                      uint64_t *maybe, uint64_t *no_whole, uint64_t *used)
{
    struct al_cal_span sp;
    int rc = al_calendar_prepare(c, s, e, &sp);
    if (rc < 0)
        return rc;
    size_t words = al_fleet_words(c->fleet);
    for (size_t w = 0; w < words; w++) {
        uint64_t v[4];
        al_calendar_index_word(c, &sp, w, v);
        if (sure_free)
            sure_free[w] = v[0];
        if (maybe)
            maybe[w] = v[1];
        if (no_whole)
            no_whole[w] = v[2];
        if (used)
            used[w] = v[3];
    }
    return 0;
}

void al_calendar_units_word(const struct al_calendar *c, const struct al_cal_span *sp, size_t w,
                            uint64_t bits, uint8_t ret[64])
{
    int64_t k0 = (sp->i0 + BLOCK - 1) / BLOCK, k1 = (sp->i1 + 1) / BLOCK - 1;
    const uint8_t *blk = c->blk;
    if (w >= c->iwords || !blk || sp->i0 > sp->i1) {
        for (uint64_t scan = bits; scan; scan &= scan - 1)
            ret[__builtin_ctzll(scan)] = 0; /* no block read */
        return;
    }
    if (k1 >= (int64_t)(c->nbuckets / BLOCK))
        k1 = (int64_t)(c->nbuckets / BLOCK) - 1;
    size_t stride = c->iwords * 64;
    for (uint64_t scan = bits; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        uint8_t u = 0;
        for (int64_t k = k0; k <= k1; k++)
            u |= blk[(size_t)k * stride + w * 64 + b];
        ret[b] = u;
    }
}
