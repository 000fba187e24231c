/* calendar.c — holds per GPU over time: records, per-GPU arrays, owner index, tentative expiry,
 * the overbooking checks and every change (the bucket index: calendar_index.c; the per-GPU
 * reads: calendar_query.c). The design and its sizes are explained in calendar.h. */
#include "core/calendar_internal.h"

#include "core/assert.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static uint64_t owner_key(struct al_owner o)
{
    return ((uint64_t)o.kind << OWNER_KIND_SHIFT) | o.id;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static bool rec_live(const struct al_calendar *c, uint32_t id)
{
    return id < c->nrecs && rec_at(c, id)->owner != FREE_REC;
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

/* An owner as messages name it: its kind and its id in hex, 14 digits (the 56 bits an owner id
 * has; a caller whose own ids are hex, as the server's are, finds them at the end of its id). */
static const char *owner_text(struct al_owner o, char *buf, size_t len)
{
    (void)snprintf(buf, len, "%s %014llx", kind_name(o.kind), (unsigned long long)o.id);
    return buf;
}

/* AL_E_RANGE for time t, named `what`, outside [origin, origin + 2^32 - 2]. */
static int range_error(const struct al_calendar *c, const char *what, int64_t t,
                       struct al_err *reterr)
{
    char a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX], z[AL_TIME_TEXT_MAX];
    return al_err_set(reterr, AL_E_RANGE, "%s %s is outside the calendar's range (%s to %s)", what,
                      al_timefmt(t, a, sizeof a), al_timefmt(c->origin, b, sizeof b),
                      al_timefmt(c->origin + (int64_t)UINT32_MAX - 1, z, sizeof z));
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

static uint8_t unit_byte(const struct rec *r)
{
    return r->profile == AL_CAL_PROFILE_WHOLE || r->mask >= UNIT_ASK ? UNIT_ASK : (uint8_t)r->mask;
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
    if (h->t0 >= h->t1) {
        char a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX];
        return al_err_set(reterr, AL_E_INVAL, "hold: start %s is not before its end %s",
                          al_timefmt(h->t0, a, sizeof a), al_timefmt(h->t1, b, sizeof b));
    }
    if (to_rel(c, h->t0, t0) < 0)
        return range_error(c, "hold: start", h->t0, reterr);
    if (to_rel(c, h->t1, t1) < 0)
        return range_error(c, "hold: end", h->t1, reterr);
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

/* What a refusal calls hold h ("whole GPU", "3g.40gb@4"): formatted only when refusing, as
 * check_rel runs for every hold added and every candidate the planner tries. */
static const char *hold_what(const struct al_calendar *c, const struct al_hold *h, char *buf,
                             size_t len)
{
    const struct al_gpu_model *m = al_fleet_gpu(c->fleet, h->gpu)->model;
    if (h->whole)
        return "whole GPU";
    (void)snprintf(buf, len, "%s@%u", m->profiles[h->profile].name, h->start);
    return buf;
}

static int conflict_msg(const struct al_calendar *c, const struct rec *r, uint32_t id,
                        const struct al_hold *h, struct al_err *reterr)
{
    char who[48], a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX], wbuf[48];
    const char *what = hold_what(c, h, wbuf, sizeof wbuf);
    return al_err_set(reterr, AL_E_CONFLICT, "GPU %u: %s overlaps hold %u of %s during [%s, %s)",
                      r->gpu, what, id, owner_text(key_owner(r->owner), who, sizeof who),
                      al_timefmt(to_abs(c, r->t0), a, sizeof a),
                      al_timefmt(to_abs(c, r->t1), b, sizeof b));
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
                         struct al_err *reterr)
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
        char at[AL_TIME_TEXT_MAX], wbuf[48];
        return al_err_set(reterr, AL_E_CONFLICT, "GPU %u: %s does not fit at %s: %s", h->gpu,
                          hold_what(c, h, wbuf, sizeof wbuf),
                          al_timefmt(to_abs(c, tau), at, sizeof at), e.msg);
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
    uint32_t lo, hi;
    span(g, t0, t1, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        if (g->e[i].t1 <= t0 || g->e[i].id == self)
            continue;
        const struct rec *r = rec_at(c, g->e[i].id);
        if (h->whole || r->profile == AL_CAL_PROFILE_WHOLE || (r->mask & mask))
            return conflict_msg(c, r, g->e[i].id, h, reterr);
    }
    if (h->whole)
        return 0;
    return instant_rules(c, h, (struct span_at){g, lo, hi, t0, self}, reterr);
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
        return range_error(c, "hold: expiry", h->expires, reterr);
    if ((rc = check_rel(c, h, t0, t1, NIL, reterr)) < 0)
        return rc;
    if (sync_gpus(c) < 0 || al_calendar__index_grow(c, h->gpu, bucket_of(c, t1 - 1)) < 0 ||
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
    al_calendar__index_refresh(c, h->gpu, t0, t1);
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
    al_calendar__index_refresh(c, r->gpu, r->t0, r->t1);
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

/* AL_E_INVAL: new_t1 is not in (t0, t1] of hold r. */
static int shorten_error(const struct al_calendar *c, const struct rec *r, int64_t new_t1,
                         struct al_err *reterr)
{
    char a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX], z[AL_TIME_TEXT_MAX];
    return al_err_set(reterr, AL_E_INVAL,
                      "shorten: new end %s is not after the hold's start %s or is after its end %s",
                      al_timefmt(new_t1, a, sizeof a), al_timefmt(to_abs(c, r->t0), b, sizeof b),
                      al_timefmt(to_abs(c, r->t1), z, sizeof z));
}

int al_calendar_shorten(struct al_calendar *c, uint32_t id, int64_t new_t1, struct al_err *reterr)
{
    if (!rec_live(c, id))
        return al_err_set(reterr, AL_E_NOTFOUND, "hold %u not found", id);
    struct rec *r = rec_at(c, id);
    uint32_t t1;
    if (to_rel(c, new_t1, &t1) < 0 || t1 <= r->t0 || t1 > r->t1)
        return shorten_error(c, r, new_t1, reterr);
    uint32_t old = r->t1;
    set_t1(c, id, t1);
    al_calendar__index_refresh(c, r->gpu, t1, old);
    return 0;
}

/* Check that hold `id` could run to new_t1; fills *ret_t1. */
static int extend_check(const struct al_calendar *c, uint32_t id, int64_t new_t1, uint32_t *ret_t1,
                        struct al_err *reterr)
{
    if (!rec_live(c, id))
        return al_err_set(reterr, AL_E_NOTFOUND, "hold %u not found", id);
    const struct rec *r = rec_at(c, id);
    if (new_t1 <= to_abs(c, r->t1)) {
        char a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX];
        return al_err_set(reterr, AL_E_INVAL, "extend: new end %s is not after the current end %s",
                          al_timefmt(new_t1, a, sizeof a),
                          al_timefmt(to_abs(c, r->t1), b, sizeof b));
    }
    if (to_rel(c, new_t1, ret_t1) < 0)
        return range_error(c, "extend: new end", new_t1, reterr);
    struct al_hold h;
    rec_to_hold(c, r, &h);
    return check_rel(c, &h, r->t1, *ret_t1, id, reterr);
}

static int extend_apply(struct al_calendar *c, uint32_t id, uint32_t t1)
{
    struct rec *r = rec_at(c, id);
    if (al_calendar__index_grow(c, r->gpu, bucket_of(c, t1 - 1)) < 0)
        return AL_E_NOMEM;
    set_t1(c, id, t1);
    al_calendar__index_refresh(c, r->gpu, r->t0, t1);
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
    char who[48];
    if (slot == NIL)
        return al_err_set(reterr, AL_E_NOTFOUND, "%s has no holds",
                          owner_text(owner, who, sizeof who));
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
            al_calendar__index_refresh(c, r->gpu, old[done], cur);
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
