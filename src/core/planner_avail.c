/* planner_avail.c — free capacity of a model over a window (planner.h), read from the
 * calendar's index word by word like the admission scans: only the GPUs the index cannot
 * settle are looked at one by one. Exact: a GPU's instance count is what the calendar itself
 * would accept (al_calendar_window_sum), not a bound. */
#include "core/planner_internal.h"

/* The MIG room of each profile on a GPU whose window sums to `key`: a pure function of the
 * model and the summary, remembered for the rest of the query (a busy fleet repeats a few
 * layouts). */
#define ROOM_MEMO 128
struct room_memo {
    const struct al_gpu_model *model; /* NULL: empty entry */
    struct al_layout_sum key;
    uint8_t room[AL_MIG_MAX_PROFILES];
};

/* One availability query: the model, the window, how many instances of each profile alone a
 * wholly free GPU of the model takes, the last node the zone and label filter was asked about,
 * and the remembered rooms. All of it on the caller's stack: the query writes nothing shared. */
struct avail_q {
    const struct al_gpu_model *m;
    int64_t s, e;
    unsigned empty[AL_MIG_MAX_PROFILES];
    uint32_t node; /* UINT32_MAX: none yet */
    bool node_ok;
    uint64_t shut_known[4], shut[4]; /* per UNITS byte u: is it known, and does u shut out
                                        every profile (no placement clear of u)? */
    struct room_memo memo[ROOM_MEMO];
};

/* Does a GPU whose held units include `u` have no room for any profile of the model? (No
 * placement of any profile is clear of u; remembered per byte for the query.) */
static bool units_shut(struct avail_q *q, uint8_t u)
{
    uint64_t bit = UINT64_C(1) << (u % 64);
    if (q->shut_known[u / 64] & bit)
        return (q->shut[u / 64] & bit) != 0;
    bool shut = u != 0;
    for (unsigned k = 0; shut && k < q->m->nprofiles; k++)
        for (unsigned j = 0; shut && j < q->m->profiles[k].nstarts; j++)
            shut = (al_placement_mask(
                        q->m, (struct al_placement){(uint8_t)k, q->m->profiles[k].starts[j]}) &
                    u) != 0;
    q->shut_known[u / 64] |= bit;
    if (shut)
        q->shut[u / 64] |= bit;
    return shut;
}

/* The GPUs of word w in `doubt` that need no exact look: for a model without MIG, those the
 * index already knows to be busy (only wholly free GPUs count); for a MIG model, those whose
 * UNITS over the blocks inside the window leave no placement of any profile clear (a hold
 * overlaps the window, so not wholly free, and no instance fits). Counted from the index word
 * alone, as the exact look would count them: nothing. */
static uint64_t avail_settled(const struct al_planner *p, struct avail_q *q,
                              const struct al_cal_span *sp, size_t w, uint64_t doubt,
                              const uint64_t idx[4])
{
    uint8_t u[64];
    uint64_t settled = 0;
    if (!q->m->mig)
        return doubt & ~idx[1];
    if (!doubt || sp->i1 - sp->i0 + 1 < 4) /* no whole block inside the window */
        return 0;
    al_calendar_units_word(p->c, sp, w, doubt, u);
    for (uint64_t scan = doubt; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        if (units_shut(q, u[b]))
            settled |= UINT64_C(1) << b;
    }
    return settled;
}

/* Add n wholly free GPUs to a. */
static void add_free(const struct avail_q *q, unsigned n, struct al_avail *a)
{
    a->whole_free += n;
    for (unsigned k = 0; k < a->nprofiles; k++)
        a->inst_free[k] += n * q->empty[k];
}

/* The GPUs of word w that may be counted: the model's usable GPUs in the pool asked, on nodes
 * passing the zone and label filter (asked once per run of GPUs of one node). */
static uint64_t avail_word(const struct al_planner *p, struct avail_q *q, unsigned slot,
                           const struct al_where *where, size_t w)
{
    uint64_t base = elig_word(p, slot, where, w);
    if (!node_filter(where))
        return base;
    for (uint64_t scan = base; scan; scan &= scan - 1) {
        unsigned b = (unsigned)__builtin_ctzll(scan);
        uint32_t node = al_fleet_gpu(p->f, (uint32_t)(w * 64 + b))->node;
        if (node != q->node) {
            q->node = node;
            q->node_ok = node_matches(p->f, node, where);
        }
        if (!q->node_ok)
            base &= ~(UINT64_C(1) << b);
    }
    return base;
}

/* The room of each profile of the model on a GPU whose window sums to *sum, added to a:
 * looked up in the query's table first, computed on a miss. */
static void add_rooms(struct avail_q *q, const struct al_layout_sum *sum, struct al_avail *a)
{
    const struct al_gpu_model *m = q->m;
    uint64_t h = (sum->mask | (uint64_t)sum->n << 32) * UINT64_C(0x9e3779b97f4a7c15) ^
                 (sum->slices | (uint64_t)sum->media << 16 | (uint64_t)sum->me_all << 32 |
                  (uint64_t)sum->no_me << 48) *
                     UINT64_C(0xbf58476d1ce4e5b9);
    for (size_t i = 0; i + 8 <= sizeof sum->count; i += 8) {
        uint64_t c;
        memcpy(&c, sum->count + i, sizeof c);
        h = (h ^ c) * UINT64_C(0x94d049bb133111eb);
    }
    struct room_memo *e = &q->memo[(h ^ h >> 32) % ROOM_MEMO];
    if (e->model != m || memcmp(&e->key, sum, sizeof *sum) != 0) {
        e->model = m;
        e->key = *sum;
        for (unsigned k = 0; k < a->nprofiles; k++)
            e->room[k] = (uint8_t)al_layout_sum_room(m, sum, k);
    }
    for (unsigned k = 0; k < a->nprofiles; k++)
        a->inst_free[k] += e->room[k];
}

/* Count the GPUs of word w in `bits` exactly, from the summary of the holds in the window of
 * each (their records read in one batch, so that the cache misses of the GPUs overlap):
 * wholly free, or a whole-GPU hold (no room), or MIG holds whose summary gives each profile's
 * room. */
static void avail_exact(const struct al_planner *p, struct avail_q *q, size_t w, uint64_t bits,
                        struct al_avail *a)
{
    uint32_t gpus[64] = {0};
    struct al_layout_sum sums[64];
    int rc[64];
    unsigned n = 0;
    for (uint64_t scan = bits; scan; scan &= scan - 1)
        gpus[n++] = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(scan));
    al_calendar_window_sums(p->c, gpus, n, q->s, q->e, rc, sums);
    for (unsigned i = 0; i < n; i++) {
        if (rc[i] == 0) /* no hold overlaps the window */
            add_free(q, 1, a);
        else if (rc[i] > 0 && q->m->mig)
            add_rooms(q, &sums[i], a);
    }
}

int al_planner_avail(const struct al_planner *p, const struct al_gpu_model *m, int64_t s, int64_t e,
                     const struct al_where *where, struct al_avail *ret)
{
    struct avail_q q = {.m = m, .s = s, .e = e, .node = UINT32_MAX};
    struct al_cal_span sp;
    memset(ret, 0, sizeof *ret);
    ret->model = m;
    ret->nprofiles = m->mig ? m->nprofiles : 0;
    if (s >= e)
        return AL_E_INVAL;
    int slot = al_fleet_model_slot(p->f, m);
    if (slot < 0)
        return 0;
    /* a window the index does not cover (before the origin): every GPU is read */
    bool indexed = al_calendar_prepare(p->c, s, e, &sp) == 0;
    const struct al_layout_sum none = {0};
    for (unsigned k = 0; k < ret->nprofiles; k++)
        q.empty[k] = al_layout_sum_room(m, &none, k);
    for (size_t w = 0; w < al_fleet_words(p->f); w++) {
        uint64_t base = avail_word(p, &q, (unsigned)slot, where, w);
        uint64_t idx[4] = {0, 0, UINT64_MAX, UINT64_MAX};
        if (!base)
            continue;
        if (indexed)
            al_calendar_index_word(p->c, &sp, w, idx);
        ret->gpus += (unsigned)__builtin_popcountll(base);
        add_free(&q, (unsigned)__builtin_popcountll(base & idx[0]), ret);
        /* idx[2] clear: a hold in a bucket inside the window leaves no MIG room (nor is the
         * GPU wholly free) */
        uint64_t doubt = base & ~idx[0] & idx[2];
        if (doubt && indexed)
            doubt &= ~avail_settled(p, &q, &sp, w, doubt, idx);
        if (doubt)
            avail_exact(p, &q, w, doubt, ret);
    }
    return 0;
}

int al_planner_availability(const struct al_planner *p, int64_t s, int64_t e,
                            const struct al_where *where, struct al_avail *ret, size_t max)
{
    unsigned nm = al_fleet_nmodels(p->f);
    if (s >= e)
        return AL_E_INVAL;
    for (unsigned slot = 0; slot < nm && slot < max; slot++) {
        int rc = al_planner_avail(p, al_fleet_model(p->f, slot), s, e, where, &ret[slot]);
        if (rc < 0)
            return rc;
    }
    return (int)nm;
}
