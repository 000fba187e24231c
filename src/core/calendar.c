/* calendar.c — holds per GPU over time, owner index, tentative expiry, and the bucket index.
 * The design and its sizes are explained in calendar.h. */
#include "core/calendar.h"

#include "core/assert.h"

#include <stdio.h>
#include <stdlib.h>
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

    /* bucket index, GPU-word-major: any[w * nbuckets + b]. ANY: a hold overlaps bucket b;
     * NOROOM: no MIG instance can be held throughout b (a whole-GPU hold overlaps it, or the
     * units of the MIG holds overlapping it leave no start free); CROSS: a hold straddles b's
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

/* ---- small helpers ---- */

static uint64_t owner_key(struct al_owner o)
{
    return ((uint64_t)o.kind << OWNER_KIND_SHIFT) | o.id;
}

static struct al_owner key_owner(uint64_t k)
{
    struct al_owner o = {k & AL_OWNER_ID_MAX, (enum al_owner_kind)(k >> OWNER_KIND_SHIFT)};
    return o;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static int to_rel(const struct al_calendar *c, int64_t t, uint32_t *ret)
{
    if (t < c->origin || t - c->origin > (int64_t)UINT32_MAX - 1)
        return AL_E_RANGE;
    *ret = (uint32_t)(t - c->origin);
    return 0;
}

static int64_t to_abs(const struct al_calendar *c, uint32_t t)
{
    return c->origin + (int64_t)t;
}

static bool rec_live(const struct al_calendar *c, uint32_t id)
{
    return id < c->nrecs && rec_at(c, id)->owner != FREE_REC;
}

static void rec_to_hold(const struct al_calendar *c, const struct rec *r, struct al_hold *h)
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

static const char *kind_name(enum al_owner_kind k)
{
    switch (k) {
    case AL_OWNER_RESERVATION:
        return "reservation";
    case AL_OWNER_TENTATIVE:
        return "quote";
    case AL_OWNER_POOL:
        return "pool container";
    }
    return "owner";
}

/* ---- life cycle ---- */

struct al_calendar *al_calendar_new(const struct al_fleet *f, int64_t origin, int64_t bucket_s)
{
    if (!f)
        return NULL;
    if (bucket_s == 0)
        bucket_s = AL_CAL_DEFAULT_BUCKET;
    if (bucket_s < 60 || bucket_s > (int64_t)366 * 86400)
        return NULL;
    struct al_calendar *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fleet = f;
    c->origin = origin;
    c->bucket_s = (uint32_t)bucket_s;
    c->free_head = NIL;
    return c;
}

void al_calendar_free(struct al_calendar *c)
{
    if (!c)
        return;
    for (uint32_t g = 0; g < c->ngpus; g++)
        free(c->gpus[g].e);
    free(c->gpus);
    for (uint32_t i = 0; i < c->nchunks; i++)
        free(c->chunks[i]);
    free(c->chunks);
    free(c->otab);
    free(c->tent);
    free(c->any);
    free(c->noroom);
    free(c->cross);
    free(c->thru);
    free(c->blk);
    free(c);
}

int64_t al_calendar_origin(const struct al_calendar *c)
{
    return c->origin;
}

const struct al_fleet *al_calendar_fleet(const struct al_calendar *c)
{
    return c->fleet;
}

/* ---- per-GPU sorted arrays ---- */

/* First position in g's array whose t0 >= t (lower bound). */
static uint32_t lower_t0(const struct gcal *g, uint32_t t)
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
static void span(const struct gcal *g, uint32_t s, uint32_t e, uint32_t *lo, uint32_t *hi)
{
    uint32_t h = lower_t0(g, e);
    uint32_t l = h;
    while (l > 0 && (uint64_t)g->e[l - 1].t0 + g->maxlen > s)
        l--;
    *lo = l;
    *hi = h;
}

static uint8_t *gbytes(const struct gcal *g)
{
    return (uint8_t *)(g->e + g->cap);
}

static uint8_t unit_byte(const struct rec *r)
{
    return r->profile == AL_CAL_PROFILE_WHOLE || r->mask >= UNIT_ASK ? UNIT_ASK : (uint8_t)r->mask;
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

static const struct gcal *gcal_of(const struct al_calendar *c, uint32_t gpu)
{
    return gpu < c->ngpus ? &c->gpus[gpu] : NULL;
}

static int gcal_insert(struct al_calendar *c, uint32_t gpu, uint32_t id)
{
    struct gcal *g = &c->gpus[gpu];
    if (g->n == g->cap) { /* small steps: the slack is part of every hold's bytes */
        uint32_t cap = g->cap ? g->cap + g->cap / 4 + 2 : 4;
        struct gent *e = realloc(g->e, cap * (sizeof *e + 1));
        if (!e)
            return AL_E_NOMEM;
        memmove((uint8_t *)(e + cap), (uint8_t *)(e + g->cap), g->n);
        g->e = e;
        g->cap = cap;
    }
    const struct rec *r = rec_at(c, id);
    uint32_t pos = lower_t0(g, r->t0);
    while (pos < g->n && g->e[pos].t0 == r->t0 && g->e[pos].id < id)
        pos++;
    memmove(g->e + pos + 1, g->e + pos, (g->n - pos) * sizeof *g->e);
    memmove(gbytes(g) + pos + 1, gbytes(g) + pos, g->n - pos);
    g->e[pos] = (struct gent){r->t0, r->t1, id};
    gbytes(g)[pos] = unit_byte(r);
    g->n++;
    AL_ASSERT(pos == 0 || g->e[pos - 1].t0 <= r->t0);        /* still sorted by t0 */
    AL_ASSERT(pos + 1 == g->n || g->e[pos + 1].t0 >= r->t0); /* on both sides */
    if (r->t1 - r->t0 > g->maxlen)
        g->maxlen = r->t1 - r->t0;
    return 0;
}

/* Position of hold id in its GPU's array (g->n when absent). */
static uint32_t gcal_pos(const struct al_calendar *c, const struct gcal *g, uint32_t id)
{
    uint32_t pos = lower_t0(g, rec_at(c, id)->t0);
    while (pos < g->n && g->e[pos].id != id)
        pos++;
    return pos;
}

static void gcal_remove(struct al_calendar *c, uint32_t gpu, uint32_t id)
{
    struct gcal *g = &c->gpus[gpu];
    uint32_t pos = gcal_pos(c, g, id);
    AL_ASSERT(pos < g->n); /* a live hold is in its GPU's array */
    if (pos == g->n)
        return;
    memmove(g->e + pos, g->e + pos + 1, (g->n - pos - 1) * sizeof *g->e);
    memmove(gbytes(g) + pos, gbytes(g) + pos + 1, g->n - pos - 1);
    g->n--;
}

/* Change the end of hold id in its record and its GPU's array. */
static void set_t1(struct al_calendar *c, uint32_t id, uint32_t t1)
{
    struct rec *r = rec_at(c, id);
    struct gcal *g = &c->gpus[r->gpu];
    uint32_t pos = gcal_pos(c, g, id);
    AL_ASSERT(pos < g->n);
    r->t1 = t1;
    if (pos < g->n)
        g->e[pos].t1 = t1;
    if (t1 - r->t0 > g->maxlen)
        g->maxlen = t1 - r->t0;
}

static int sync_gpus(struct al_calendar *c)
{
    uint32_t n = al_fleet_ngpus(c->fleet);
    if (n <= c->ngpus)
        return 0;
    struct gcal *g = realloc(c->gpus, n * sizeof *g);
    if (!g)
        return AL_E_NOMEM;
    memset(g + c->ngpus, 0, (n - c->ngpus) * sizeof *g);
    c->gpus = g;
    c->ngpus = n;
    return 0;
}

/* ---- the bucket index ---- */

static uint32_t bucket_of(const struct al_calendar *c, uint32_t t)
{
    return t / c->bucket_s;
}

/* True when units `covered` leave no start free for any profile of model m. */
static bool no_room(const struct al_gpu_model *m, uint32_t covered)
{
    for (unsigned q = 0; q < m->nprofiles; q++)
        for (unsigned k = 0; k < m->profiles[q].nstarts; k++)
            if (!(al_placement_mask(m,
                                    (struct al_placement){(uint8_t)q, m->profiles[q].starts[k]}) &
                  covered))
                return false;
    return true;
}

#define REFRESH_SPAN 128 /* buckets recomputed per pass of index_refresh */
#define BLOCK        4   /* buckets per UNITS block; divides REFRESH_SPAN and nbuckets */

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
    size_t off = (size_t)(gpu / 64) * c->nbuckets;
    uint64_t *any = c->any + off, *noroom = c->noroom + off, *cross = c->cross + off;
    uint64_t *thru = c->thru + off;
    uint16_t cover[REFRESH_SPAN] = {0};
    uint8_t units[REFRESH_SPAN] = {0};
    uint32_t bs = c->bucket_s;
    for (uint32_t b = b0; b <= b1; b++) {
        any[b] &= ~bit;
        noroom[b] &= ~bit;
        cross[b] &= ~bit;
        thru[b] &= ~bit;
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
            any[b] |= bit;
            if (throughout)
                thru[b] |= bit;
            if (r->profile == AL_CAL_PROFILE_WHOLE) {
                noroom[b] |= bit;
                units[b - b0] = 0xff;
            } else { /* an instance held throughout b must avoid the units of every hold in b */
                cover[b - b0] |= r->mask;
                units[b - b0] |= (uint8_t)(r->mask & 0xff);
            }
            if (b > hb0) /* the hold straddles the boundary at b's start */
                cross[b] |= bit;
        }
    }
    const struct al_gpu_model *m = al_fleet_gpu(c->fleet, gpu)->model;
    for (uint32_t b = b0; b <= b1; b++)
        if (cover[b - b0] && m->mig && no_room(m, cover[b - b0]))
            noroom[b] |= bit;
    blk_store(c, gpu, b0, b1, units);
}

/* Recompute the index bits of GPU `gpu` for the buckets touching [s, e) from its holds. */
static void index_refresh(struct al_calendar *c, uint32_t gpu, uint32_t s, uint32_t e)
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
static int index_grow(struct al_calendar *c, uint32_t gpu, uint32_t bucket)
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
        index_refresh(c, g, gc->e[0].t0, end);
    }
    return 0;
}

/* ---- owner hash ---- */

/* The table's size is any number (it grows by half, not by doubling, to keep the slack every
 * hold pays for small): a key's home slot is its hash scaled to the size, probes wrap. */
static uint32_t otab_home(uint64_t key, uint32_t cap)
{
    return (uint32_t)(((uint64_t)(uint32_t)mix(key) * cap) >> 32);
}

static uint32_t otab_next(uint32_t i, uint32_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

static uint32_t otab_find(const struct al_calendar *c, uint64_t key)
{
    if (!c->otab)
        return NIL;
    for (uint32_t i = otab_home(key, c->otab_cap);; i = otab_next(i, c->otab_cap)) {
        uint32_t id = c->otab[i];
        if (id == NIL)
            return NIL;
        if (id != TOMB && rec_at(c, id)->owner == key)
            return i;
    }
}

static void otab_put_raw(uint32_t *tab, uint32_t cap, uint64_t key, uint32_t id)
{
    uint32_t i = otab_home(key, cap);
    while (tab[i] != NIL && tab[i] != TOMB)
        i = otab_next(i, cap);
    tab[i] = id;
}

static int otab_reserve(struct al_calendar *c)
{
    if (c->otab && ((uint64_t)c->otab_used + 1) * 4 <= (uint64_t)c->otab_cap * 3)
        return 0;
    uint32_t live = 0;
    for (uint32_t i = 0; c->otab && i < c->otab_cap; i++)
        live += c->otab[i] != NIL && c->otab[i] != TOMB;
    /* load 2/3 after the rebuild, the next one at 3/4 */
    uint64_t want = ((uint64_t)live + 1) * 3 / 2;
    if (want > UINT32_MAX / 2)
        return AL_E_NOMEM;
    uint32_t cap = want < 64 ? 64 : (uint32_t)want;
    uint32_t *tab = malloc(cap * sizeof *tab);
    if (!tab)
        return AL_E_NOMEM;
    memset(tab, 0xff, cap * sizeof *tab);
    for (uint32_t i = 0; c->otab && i < c->otab_cap; i++)
        if (c->otab[i] != NIL && c->otab[i] != TOMB)
            otab_put_raw(tab, cap, rec_at(c, c->otab[i])->owner, c->otab[i]);
    free(c->otab);
    c->otab = tab;
    c->otab_cap = cap;
    c->otab_used = live;
    return 0;
}

/* Link hold `id` (owner already set in its record) at the head of its owner's chain. */
static int owner_link(struct al_calendar *c, uint32_t id)
{
    int rc = otab_reserve(c);
    if (rc < 0)
        return rc;
    struct rec *r = rec_at(c, id);
    uint32_t slot = otab_find(c, r->owner);
    if (slot != NIL) {
        r->next = c->otab[slot];
        c->otab[slot] = id;
        return 0;
    }
    r->next = NIL;
    otab_put_raw(c->otab, c->otab_cap, r->owner, id);
    c->otab_used++;
    return 0;
}

static void owner_unlink(struct al_calendar *c, uint32_t id)
{
    struct rec *r = rec_at(c, id);
    uint32_t slot = otab_find(c, r->owner);
    AL_ASSERT(slot != NIL); /* a live hold's owner is in the table */
    if (slot == NIL)
        return;
    if (c->otab[slot] == id) {
        c->otab[slot] = r->next == NIL ? TOMB : r->next;
        return;
    }
    uint32_t p = c->otab[slot];
    while (p != NIL && rec_at(c, p)->next != id)
        p = rec_at(c, p)->next;
    AL_ASSERT(p != NIL); /* a live hold is in its owner's chain */
    if (p != NIL)
        rec_at(c, p)->next = r->next;
}

/* ---- tentative list ---- */

static int tent_reserve(struct al_calendar *c)
{
    if (c->ntent == c->captent) {
        uint32_t cap = c->captent ? 2 * c->captent : 16;
        uint32_t *t = realloc(c->tent, cap * sizeof *t);
        if (!t)
            return AL_E_NOMEM;
        c->tent = t;
        c->captent = cap;
    }
    return 0;
}

static void tent_remove(struct al_calendar *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->ntent; i++) {
        if (c->tent[i] == id) {
            c->tent[i] = c->tent[--c->ntent];
            return;
        }
    }
}

/* ---- checks ---- */

static int validate_hold(const struct al_calendar *c, const struct al_hold *h, uint32_t *t0,
                         uint32_t *t1, struct al_err *reterr)
{
    const struct al_gpu *g = al_fleet_gpu(c->fleet, h->gpu);
    if (!g)
        return al_err_set(reterr, AL_E_INVAL, "hold: gpu %u not in the fleet", h->gpu);
    if (h->t0 >= h->t1)
        return al_err_set(reterr, AL_E_INVAL, "hold: t0 %lld not before t1 %lld", (long long)h->t0,
                          (long long)h->t1);
    if (to_rel(c, h->t0, t0) < 0 || to_rel(c, h->t1, t1) < 0)
        return al_err_set(reterr, AL_E_RANGE, "hold: time outside the calendar's range");
    if (h->owner.id > AL_OWNER_ID_MAX ||
        (h->owner.kind != AL_OWNER_RESERVATION && h->owner.kind != AL_OWNER_TENTATIVE &&
         h->owner.kind != AL_OWNER_POOL))
        return al_err_set(reterr, AL_E_INVAL, "hold: owner id or kind invalid");
    if (h->whole)
        return 0;
    if (!g->model->mig || h->profile >= g->model->nprofiles)
        return al_err_set(reterr, AL_E_INVAL, "hold: %s has no MIG profile %u", g->model->name,
                          h->profile);
    struct al_layout one = {.model = g->model, .n = 1};
    one.p[0].profile = h->profile;
    one.p[0].start = h->start;
    struct al_err e;
    if (al_layout_validate(&one, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "hold: %s", e.msg);
    return 0;
}

static int conflict_msg(const struct al_calendar *c, const struct rec *r, uint32_t id,
                        const char *what, struct al_err *reterr)
{
    struct al_owner o = key_owner(r->owner);
    return al_err_set(reterr, AL_E_CONFLICT,
                      "GPU %u: %s overlaps hold %u (%s %llu) during [%lld, %lld)", r->gpu, what, id,
                      kind_name(o.kind), (unsigned long long)o.id, (long long)to_abs(c, r->t0),
                      (long long)to_abs(c, r->t1));
}

/* The MIG holds alive at instant tau among positions [lo, hi) of g (skipping `self`). */
static int alive_layout(const struct al_calendar *c, const struct gcal *g, uint32_t lo, uint32_t hi,
                        uint32_t tau, uint32_t self, struct al_layout *l)
{
    l->n = 0;
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t0 > tau)
            break;
        if (g->e[i].t1 <= tau || g->e[i].id == self)
            continue;
        const struct rec *r = rec_at(c, g->e[i].id);
        if (l->n == AL_LAYOUT_MAX)
            return AL_E_RANGE;
        l->p[l->n].profile = r->profile;
        l->p[l->n].start = r->start;
        l->n++;
    }
    return 0;
}

/* Can a hold like `h` (validated; [t0, t1) relative) be added, ignoring hold `self`? */
/* The holds of a GPU that check_rel looks at: entries [lo, hi) of g, from t0, less `self`. */
struct span_at {
    const struct gcal *g;
    uint32_t lo, hi, t0, self;
};

/* With units disjoint, the per-instant rules (compute, counts, media engines) at each instant
 * where one of the holds starts during the new hold h, and at its start. */
static int instant_rules(const struct al_calendar *c, const struct al_hold *h, struct span_at sa,
                         const char *what, struct al_err *reterr)
{
    const struct gcal *g = sa.g;
    struct al_placement p = {h->profile, h->start};
    struct al_layout l = {.model = al_fleet_gpu(c->fleet, h->gpu)->model};
    uint32_t last = UINT32_MAX;
    for (uint32_t i = sa.lo; i <= sa.hi; i++) {
        uint32_t tau = i == sa.lo ? sa.t0 : g->e[i - 1].t0;
        if (i > sa.lo && (tau <= sa.t0 || g->e[i - 1].t1 <= sa.t0 || g->e[i - 1].id == sa.self))
            continue;
        if (tau == last)
            continue;
        last = tau;
        if (alive_layout(c, g, sa.lo, sa.hi, tau, sa.self, &l) >= 0 && al_layout_can_add(&l, p))
            continue;
        struct al_err e = {0};
        if (l.n < AL_LAYOUT_MAX) {
            l.p[l.n++] = p;
            al_layout_validate(&l, &e);
        }
        return al_err_set(reterr, AL_E_CONFLICT, "GPU %u: %s does not fit at %lld: %s", h->gpu,
                          what, (long long)to_abs(c, tau), e.msg);
    }
    return 0;
}

static int check_rel(const struct al_calendar *c, const struct al_hold *h, uint32_t t0, uint32_t t1,
                     uint32_t self, struct al_err *reterr)
{
    const struct gcal *g = gcal_of(c, h->gpu);
    if (!g || g->n == 0)
        return 0;
    const struct al_gpu_model *m = al_fleet_gpu(c->fleet, h->gpu)->model;
    struct al_placement p = {h->profile, h->start};
    uint16_t mask = h->whole ? 0xffff : (uint16_t)al_placement_mask(m, p);
    char what[48];
    if (h->whole)
        snprintf(what, sizeof what, "whole GPU");
    else
        snprintf(what, sizeof what, "%s@%u", m->profiles[h->profile].name, h->start);
    uint32_t lo, hi;
    span(g, t0, t1, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t1 <= t0 || g->e[i].id == self)
            continue;
        const struct rec *r = rec_at(c, g->e[i].id);
        if (h->whole || r->profile == AL_CAL_PROFILE_WHOLE || (r->mask & mask))
            return conflict_msg(c, r, g->e[i].id, what, reterr);
    }
    if (h->whole)
        return 0;
    return instant_rules(c, h, (struct span_at){g, lo, hi, t0, self}, what, reterr);
}

int al_calendar_check(const struct al_calendar *c, const struct al_hold *h, struct al_err *reterr)
{
    uint32_t t0 = 0, t1 = 0;
    int rc = validate_hold(c, h, &t0, &t1, reterr);
    if (rc < 0)
        return rc;
    return check_rel(c, h, t0, t1, NIL, reterr);
}

/* ---- mutations ---- */

static int rec_alloc(struct al_calendar *c, uint32_t *ret)
{
    if (c->free_head != NIL) {
        *ret = c->free_head;
        c->free_head = rec_at(c, *ret)->next;
        return 0;
    }
    if (c->nrecs == c->nchunks * CHUNK) {
        if (c->nchunks >= MAX_CHUNKS)
            return AL_E_RANGE;
        /* the array holds pointers to chunks: its element is a pointer by design, which
         * bugprone-sizeof-expression takes for a mistake */
        size_t sz =
            ((size_t)c->nchunks + 1) * sizeof(struct rec *); // NOLINT(bugprone-sizeof-expression)
        struct rec **t = realloc(c->chunks, sz);
        if (!t)
            return AL_E_NOMEM;
        c->chunks = t;
        if (!(c->chunks[c->nchunks] = malloc(CHUNK * sizeof(struct rec))))
            return AL_E_NOMEM;
        c->nchunks++;
    }
    *ret = c->nrecs++;
    return 0;
}

static void rec_free(struct al_calendar *c, uint32_t id)
{
    AL_ASSERT(rec_live(c, id));
    rec_at(c, id)->owner = FREE_REC;
    rec_at(c, id)->next = c->free_head;
    c->free_head = id;
}

int al_calendar_add(struct al_calendar *c, const struct al_hold *h, struct al_err *reterr)
{
    uint32_t t0 = 0, t1 = 0, id = 0, exp = NO_EXPIRY;
    int rc = validate_hold(c, h, &t0, &t1, reterr);
    if (rc < 0)
        return rc;
    if (h->owner.kind == AL_OWNER_TENTATIVE && h->expires != 0 &&
        to_rel(c, h->expires < c->origin ? c->origin : h->expires, &exp) < 0)
        return al_err_set(reterr, AL_E_RANGE, "hold: expiry outside the calendar's range");
    if ((rc = check_rel(c, h, t0, t1, NIL, reterr)) < 0)
        return rc;
    if (sync_gpus(c) < 0 || index_grow(c, h->gpu, bucket_of(c, t1 - 1)) < 0 ||
        otab_reserve(c) < 0 || tent_reserve(c) < 0 || rec_alloc(c, &id) < 0)
        goto nomem;
    struct rec *r = rec_at(c, id);
    r->owner = owner_key(h->owner);
    r->t0 = t0;
    r->t1 = t1;
    r->expires = exp;
    r->gpu = h->gpu;
    r->profile = h->whole ? AL_CAL_PROFILE_WHOLE : h->profile;
    r->start = h->whole ? 0 : h->start;
    r->mask = h->whole ? 0xffff
                       : (uint16_t)al_placement_mask(al_fleet_gpu(c->fleet, h->gpu)->model,
                                                     (struct al_placement){h->profile, h->start});
    if (gcal_insert(c, h->gpu, id) < 0) {
        rec_free(c, id);
        goto nomem;
    }
    if (h->owner.kind == AL_OWNER_TENTATIVE)
        c->tent[c->ntent++] = id;
    /* otab_reserve above left room for one more owner, so owner_link cannot fail */
    AL_ASSERT(c->otab && ((uint64_t)c->otab_used + 1) * 4 <= (uint64_t)c->otab_cap * 3);
    owner_link(c, id);
    index_refresh(c, h->gpu, t0, t1);
    c->live++;
    return (int)id;
nomem:
    return al_err_set(reterr, AL_E_NOMEM, "out of memory");
}

int al_calendar_release(struct al_calendar *c, uint32_t id)
{
    if (!rec_live(c, id))
        return AL_E_NOTFOUND;
    struct rec *r = rec_at(c, id);
    gcal_remove(c, r->gpu, id);
    owner_unlink(c, id);
    if (r->owner >> OWNER_KIND_SHIFT == AL_OWNER_TENTATIVE)
        tent_remove(c, id);
    index_refresh(c, r->gpu, r->t0, r->t1);
    rec_free(c, id);
    AL_ASSERT(c->live > 0);
    c->live--;
    return 0;
}

int al_calendar_get(const struct al_calendar *c, uint32_t id, struct al_hold *ret)
{
    if (!rec_live(c, id))
        return AL_E_NOTFOUND;
    rec_to_hold(c, rec_at(c, id), ret);
    return 0;
}

int al_calendar_shorten(struct al_calendar *c, uint32_t id, int64_t new_t1, struct al_err *reterr)
{
    if (!rec_live(c, id))
        return al_err_set(reterr, AL_E_NOTFOUND, "hold %u not found", id);
    struct rec *r = rec_at(c, id);
    uint32_t t1;
    if (to_rel(c, new_t1, &t1) < 0 || t1 <= r->t0 || t1 > r->t1)
        return al_err_set(reterr, AL_E_INVAL, "shorten: new end %lld not within (t0, t1]",
                          (long long)new_t1);
    uint32_t old = r->t1;
    set_t1(c, id, t1);
    index_refresh(c, r->gpu, t1, old);
    return 0;
}

/* Check that hold `id` could run to new_t1; fills *ret_t1. */
static int extend_check(const struct al_calendar *c, uint32_t id, int64_t new_t1, uint32_t *ret_t1,
                        struct al_err *reterr)
{
    if (!rec_live(c, id))
        return al_err_set(reterr, AL_E_NOTFOUND, "hold %u not found", id);
    const struct rec *r = rec_at(c, id);
    if (new_t1 <= to_abs(c, r->t1))
        return al_err_set(reterr, AL_E_INVAL, "extend: new end %lld not after the current end",
                          (long long)new_t1);
    if (to_rel(c, new_t1, ret_t1) < 0)
        return al_err_set(reterr, AL_E_RANGE, "extend: new end outside the calendar's range");
    struct al_hold h;
    rec_to_hold(c, r, &h);
    return check_rel(c, &h, r->t1, *ret_t1, id, reterr);
}

static int extend_apply(struct al_calendar *c, uint32_t id, uint32_t t1)
{
    struct rec *r = rec_at(c, id);
    if (index_grow(c, r->gpu, bucket_of(c, t1 - 1)) < 0)
        return AL_E_NOMEM;
    set_t1(c, id, t1);
    index_refresh(c, r->gpu, r->t0, t1);
    return 0;
}

int al_calendar_extend(struct al_calendar *c, uint32_t id, int64_t new_t1, struct al_err *reterr)
{
    uint32_t t1 = 0;
    int rc = extend_check(c, id, new_t1, &t1, reterr);
    if (rc < 0)
        return rc;
    if (extend_apply(c, id, t1) < 0)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    return 0;
}

/* Holds of an owner are extended one at a time (each checked against the others already
 * extended), and shortened back to their old ends if a later one does not fit. */
int al_calendar_extend_owner(struct al_calendar *c, struct al_owner owner, int64_t new_t1,
                             struct al_err *reterr)
{
    uint32_t slot = otab_find(c, owner_key(owner)), n = 0, done = 0, t1 = 0;
    if (slot == NIL)
        return al_err_set(reterr, AL_E_NOTFOUND, "%s %llu has no holds", kind_name(owner.kind),
                          (unsigned long long)owner.id);
    for (uint32_t id = c->otab[slot]; id != NIL; id = rec_at(c, id)->next)
        n++;
    int rc = 0;
    uint32_t *ids = malloc((n ? n : 1) * sizeof *ids), *old = malloc((n ? n : 1) * sizeof *old);
    if (!ids || !old) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint32_t id = c->otab[slot]; id != NIL; id = rec_at(c, id)->next) {
        if (to_abs(c, rec_at(c, id)->t1) >= new_t1)
            continue;
        if ((rc = extend_check(c, id, new_t1, &t1, reterr)) < 0)
            break;
        ids[done] = id;
        old[done] = rec_at(c, id)->t1;
        if ((rc = extend_apply(c, id, t1)) < 0) {
            rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
            break;
        }
        done++;
    }
    if (rc < 0) {
        while (done-- > 0) {
            struct rec *r = rec_at(c, ids[done]);
            uint32_t cur = r->t1;
            set_t1(c, ids[done], old[done]);
            index_refresh(c, r->gpu, old[done], cur);
        }
        goto out;
    }
    rc = (int)done;
out:
    free(ids);
    free(old);
    return rc;
}

int al_calendar_cancel_owner(struct al_calendar *c, struct al_owner owner)
{
    int n = 0;
    uint32_t slot;
    while ((slot = otab_find(c, owner_key(owner))) != NIL) {
        al_calendar_release(c, c->otab[slot]);
        n++;
    }
    return n;
}

int al_calendar_reown(struct al_calendar *c, struct al_owner from, struct al_owner to)
{
    uint64_t kf = owner_key(from), kt = owner_key(to);
    if (to.id > AL_OWNER_ID_MAX || kf == kt)
        return 0;
    int n = 0;
    uint32_t slot;
    while ((slot = otab_find(c, kf)) != NIL) {
        uint32_t id = c->otab[slot];
        owner_unlink(c, id);
        if (from.kind == AL_OWNER_TENTATIVE)
            tent_remove(c, id);
        rec_at(c, id)->owner = kt;
        if (to.kind != AL_OWNER_TENTATIVE)
            rec_at(c, id)->expires = NO_EXPIRY;
        /* room: the owner table was sized for every live hold; tent may need one slot */
        if (owner_link(c, id) < 0 || (to.kind == AL_OWNER_TENTATIVE && tent_reserve(c) < 0))
            return AL_E_NOMEM;
        if (to.kind == AL_OWNER_TENTATIVE)
            c->tent[c->ntent++] = id;
        n++;
    }
    return n;
}

int al_calendar_owner_holds(const struct al_calendar *c, struct al_owner owner, uint32_t *ids,
                            size_t max)
{
    uint32_t slot = otab_find(c, owner_key(owner));
    size_t n = 0;
    for (uint32_t id = slot == NIL ? NIL : c->otab[slot]; id != NIL; id = rec_at(c, id)->next) {
        if (n < max)
            ids[n] = id;
        n++;
    }
    return (int)n;
}

int al_calendar_expire(struct al_calendar *c, int64_t now)
{
    int n = 0;
    for (uint32_t i = 0; i < c->ntent;) {
        uint32_t id = c->tent[i];
        uint32_t e = rec_at(c, id)->expires;
        if (e != NO_EXPIRY && to_abs(c, e) <= now) {
            al_calendar_release(c, id); /* swaps the last entry into i */
            n++;
        } else {
            i++;
        }
    }
    return n;
}

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

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

/* One batch of al_calendar_masks (n <= AL_CAL_BATCH). Stage 1 requests each GPU's array,
 * stage 2 finds the overlapping holds and requests their records, stage 3 reads them. */
static void masks_batch(const struct al_calendar *c, const uint32_t *gpus, size_t n, uint32_t rs,
                        uint32_t re, uint32_t *ret)
{
    uint32_t lo[AL_CAL_BATCH], hi[AL_CAL_BATCH];
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]);
        if (g && g->n > 0) {
            PREFETCH(&g->e[0]);
            PREFETCH(&g->e[g->n / 2]);
            PREFETCH(&g->e[g->n - 1]);
            PREFETCH(gbytes(g));
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct gcal *g = gcal_of(c, gpus[i]);
        lo[i] = hi[i] = 0;
        if (!g || g->n == 0)
            continue;
        span(g, rs, re, &lo[i], &hi[i]);
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

/* OR of the index words of GPU word w over buckets [b0, b1] (clipped to the index). */
static uint64_t or_buckets(const struct al_calendar *c, const uint64_t *bits, size_t w, uint32_t b0,
                           uint32_t b1)
{
    if (w >= c->iwords || !bits || b0 > b1 || b0 >= c->nbuckets)
        return 0;
    if (b1 >= c->nbuckets)
        b1 = c->nbuckets - 1;
    const uint64_t *p = bits + w * c->nbuckets;
    uint64_t m = 0;
    for (uint32_t b = b0; b <= b1; b++)
        m |= p[b];
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

/* Start loading the index words of GPU word w for buckets [b0, b1] (clipped to the index). */
static void index_prefetch(const struct al_calendar *c, size_t w, int64_t b0, int64_t b1)
{
    if (w >= c->iwords || b0 >= c->nbuckets)
        return;
    if (b1 >= c->nbuckets)
        b1 = c->nbuckets - 1;
    size_t off = w * c->nbuckets;
    for (int64_t b = b0; b <= b1 + 7; b += 8) { /* 8 words a cache line */
        int64_t k = b > b1 ? b1 : b;
        PREFETCH(c->any + off + k);
        PREFETCH(c->noroom + off + k);
    }
    PREFETCH(c->thru + off + b0); /* the edge buckets' */
    PREFETCH(c->thru + off + b1);
    PREFETCH(c->cross + off + b1);
}

void al_calendar_index_word(const struct al_calendar *c, const struct al_cal_span *sp, size_t w,
                            uint64_t ret[4])
{
    uint64_t ai = 0, ae = 0, ni = 0, cr = 0, th = 0;
    /* scans read the words in order: the next one's loads overlap this one's work */
    index_prefetch(c, w + 1, sp->b0, sp->b1);
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
