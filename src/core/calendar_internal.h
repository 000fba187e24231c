/* calendar_internal.h — what the files of the calendar share: the hold records, the per-GPU
 * arrays, the calendar struct, and the small helpers every file needs (time conversion, the
 * per-GPU search). calendar.c holds and changes the holds, calendar_index.c keeps the bucket
 * index, calendar_query.c answers the per-GPU queries. Internal to src/core. */
#ifndef AL_CORE_CALENDAR_INTERNAL_H
#define AL_CORE_CALENDAR_INTERNAL_H

#include "core/assert.h"
#include "core/calendar.h"

#include <string.h>

#define NIL              UINT32_MAX
#define TOMB             (UINT32_MAX - 1)
#define FREE_REC         UINT64_MAX
#define NO_EXPIRY        UINT32_MAX
#define OWNER_KIND_SHIFT 56

/* One hold: 32 bytes. Times are seconds since the calendar's origin. */
struct rec {
    uint64_t owner; /* kind << 56 | id; FREE_REC when the slot is free */
    uint32_t t0, t1;
    uint32_t expires; /* NO_EXPIRY unless tentative */
    uint32_t gpu;
    uint32_t next; /* next hold of the same owner; in the free list: next free slot */
    uint16_t mask; /* units; 0xffff for a whole-GPU hold */
    uint8_t profile;
    uint8_t start;
};

/* A hold in its GPU's array: the times inline, so that searches and overlap tests never touch
 * the records (a cache miss each at a million holds). */
struct gent {
    uint32_t t0, t1, id;
};

#define UNIT_ASK 0xffu /* unit byte: read the record */

#define CHUNK_BITS 14 /* 16384 records (512 KiB) a chunk */
#define CHUNK      (1u << CHUNK_BITS)
#define MAX_CHUNKS (1u << (31 - CHUNK_BITS))

/* Holds of one GPU, sorted by (t0, id). The allocation holds cap entries and then cap unit
 * bytes (gbytes), parallel to the entries: a MIG hold's unit mask when it fits in a byte other
 * than UNIT_ASK, else UNIT_ASK (whole-GPU holds, wider masks): then the record tells. A MIG
 * scan's exact check reads one more line of the array instead of a record per overlapping hold
 * (a cache miss each at a million holds). */
struct gcal {
    struct gent *e;
    uint32_t n, cap;
    uint32_t maxlen; /* longest hold ever placed here: bounds the backward scan */
};

struct al_calendar {
    const struct al_fleet *fleet;
    int64_t origin;
    uint32_t bucket_s;

    struct rec **chunks; /* records in chunks of CHUNK: growth never copies or over-allocates */
    uint32_t nchunks, nrecs, free_head, live;

    struct gcal *gpus;
    uint32_t ngpus;

    uint32_t *otab; /* owner hash: head hold id per owner, NIL empty, TOMB deleted */
    uint32_t otab_cap, otab_used;

    uint32_t *tent; /* ids of tentative holds */
    uint32_t ntent, captent;

    /* bucket index, bucket-major: any[b * iwords + w] (a scan of one bucket over the fleet reads
     * one row in order, 8 words a cache line, whatever the number of buckets). ANY: a hold overlaps
     * bucket b; NOROOM: no MIG instance can be held throughout b (a whole-GPU hold overlaps it, or
     * the units of the MIG holds overlapping it leave no start free); CROSS: a hold straddles b's
     * starting instant; THRU: a hold is alive throughout b (so it overlaps every window that
     * touches b). */
    uint64_t *any, *noroom, *cross, *thru;
    /* UNITS: per block of BLOCK buckets, block-major, a byte per GPU: the OR of the units held
     * in the block (a whole-GPU hold: all), low 8 units only — a subset of what a window
     * covering the block sees, so "no start of the profile clear" in it is a proof. */
    uint8_t *blk;
    size_t iwords;
    uint32_t nbuckets;
};

static inline struct rec *rec_at(const struct al_calendar *c, uint32_t id)
{
    AL_ASSERT(id < c->nrecs);
    return &c->chunks[id >> CHUNK_BITS][id & (CHUNK - 1)];
}

#define REFRESH_SPAN 128 /* buckets recomputed per pass of al_calendar__index_refresh */
#define BLOCK        4   /* buckets per UNITS block; divides REFRESH_SPAN and nbuckets */

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

static inline struct al_owner key_owner(uint64_t k)
{
    struct al_owner o = {k & AL_OWNER_ID_MAX, (enum al_owner_kind)(k >> OWNER_KIND_SHIFT)};
    return o;
}

static inline int to_rel(const struct al_calendar *c, int64_t t, uint32_t *ret)
{
    if (t < c->origin || t - c->origin > (int64_t)UINT32_MAX - 1)
        return AL_E_RANGE;
    *ret = (uint32_t)(t - c->origin);
    return 0;
}

static inline int64_t to_abs(const struct al_calendar *c, uint32_t t)
{
    return c->origin + (int64_t)t;
}

static inline void rec_to_hold(const struct al_calendar *c, const struct rec *r, struct al_hold *h)
{
    memset(h, 0, sizeof *h);
    h->gpu = r->gpu;
    h->whole = r->profile == AL_CAL_PROFILE_WHOLE;
    h->profile = r->profile;
    h->start = h->whole ? 0 : r->start;
    h->t0 = to_abs(c, r->t0);
    h->t1 = to_abs(c, r->t1);
    h->expires = r->expires == NO_EXPIRY ? 0 : to_abs(c, r->expires);
    h->owner = key_owner(r->owner);
}

/* First position in g's array whose t0 >= t (lower bound). */
static inline uint32_t lower_t0(const struct gcal *g, uint32_t t)
{
    uint32_t lo = 0, hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (g->e[mid].t0 < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Positions [*lo, *hi) of g's array that may overlap [s, e): every hold there has t0 < e and
 * t0 + maxlen > s; callers still test t1 > s. */
static inline void span(const struct gcal *g, uint32_t s, uint32_t e, uint32_t *lo, uint32_t *hi)
{
    uint32_t h = lower_t0(g, e);
    uint32_t l = h;
    while (l > 0 && (uint64_t)g->e[l - 1].t0 + g->maxlen > s)
        l--;
    *lo = l;
    *hi = h;
}

static inline uint8_t *gbytes(const struct gcal *g)
{
    return (uint8_t *)(g->e + g->cap);
}

static inline const struct gcal *gcal_of(const struct al_calendar *c, uint32_t gpu)
{
    return gpu < c->ngpus ? &c->gpus[gpu] : NULL;
}

static inline uint32_t bucket_of(const struct al_calendar *c, uint32_t t)
{
    return t / c->bucket_s;
}

/* Index upkeep for the mutations (calendar_index.c): recompute the index bits of GPU `gpu`
 * for the buckets touching [s, e) from its holds; make room for GPU `gpu` and bucket
 * `bucket` (0 or AL_E_NOMEM). */
void al_calendar__index_refresh(struct al_calendar *c, uint32_t gpu, uint32_t s, uint32_t e);
int al_calendar__index_grow(struct al_calendar *c, uint32_t gpu, uint32_t bucket);

#endif
