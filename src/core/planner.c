/* planner.c — admission of whole-GPU and MIG requests (the request checks, the choice among
 * models, the refusal's sentence) and earliest windows; the searches themselves are in
 * planner_whole.c and planner_mig.c. The policy is described in planner.h; the calendar's
 * coarse index (calendar.h) narrows the search to candidate GPUs 64 at a time, then each
 * candidate is checked exactly. */
#include "core/planner_internal.h"

#include "core/assert.h"
#include "core/timefmt.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    free(p->node_first);
    free(p->node_gpus);
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

/* Size the per-word and per-node scratch for the fleet as it is now. */
int al_planner__scratch(struct al_planner *p)
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

/* "[2026-05-01T10:00:00Z, 2026-05-01T12:00:00Z)": the request's window, for messages. */
static const char *window_text(const struct al_request *r, char *buf, size_t len)
{
    char a[AL_TIME_TEXT_MAX], b[AL_TIME_TEXT_MAX];
    snprintf(buf, len, "[%s, %s)", al_timefmt(r->start, a, sizeof a),
             al_timefmt(r->end, b, sizeof b));
    return buf;
}

static void refusal_text(const struct al_request *r, const struct al_plan *pl, struct al_err *e)
{
    char wt[AL_FLEET_LABELS_MAX + 96], win[2 * AL_TIME_TEXT_MAX + 8];
    where_text(&r->where, wt, sizeof wt);
    window_text(r, win, sizeof win);
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
                   "only %u of %u %s free on one node during %s; %u free fleet-wide%s",
                   pl->free_best_node, r->count, what, win, pl->free_total, wt);
    else
        al_err_set(e, AL_E_NOFIT,
                   "only %s%u of %u %s free during %s (%u eligible GPUs%s; at most %u on one "
                   "node)",
                   pl->bounds ? "up to " : "", pl->free_total, r->count, what, win, pl->eligible,
                   wt, pl->free_best_node);
}

static int plan_pool(struct al_planner *p, const struct al_request *r, const struct cand *c,
                     struct al_plan *pl)
{
    return r->kind == AL_REQ_WHOLE
               ? al_planner__plan_whole_model(p, r, c->slot, pl)
               : al_planner__plan_mig_model(p, r, c->slot, (unsigned)c->prof, pl);
}

/* Has model `slot` a usable GPU in pool `pool`? */
static bool pool_has(const struct al_planner *p, unsigned slot, enum al_pool pool)
{
    const uint64_t *mb = al_fleet_model_bits(p->f, slot), *ub = al_fleet_usable_bits(p->f);
    const uint64_t *pb = al_fleet_pool_bits(p->f, pool);
    for (size_t w = 0; mb && ub && pb && w < al_fleet_words(p->f); w++)
        if (mb[w] & ub[w] & pb[w])
            return true;
    return false;
}

/* Dedicated GPUs first (docs/planner.md): a request open to both pools is planned on the
 * dedicated pool alone, and over both only when that fails; the second plan still takes
 * dedicated GPUs before general ones wherever it chooses (gpu_shun). Either plan is skipped
 * when the model has no usable GPU it could add. */
static int plan_model(struct al_planner *p, const struct al_request *r, const struct cand *c,
                      struct al_plan *pl)
{
    int rc = AL_E_NOFIT;
    if (r->where.pool < 0 && pool_has(p, c->slot, AL_POOL_DEDICATED) &&
        pool_has(p, c->slot, AL_POOL_GENERAL)) {
        struct al_request d = *r;
        d.where.pool = AL_POOL_DEDICATED;
        if ((rc = plan_pool(p, &d, c, pl)) != AL_E_NOFIT)
            return rc;
        /* the refusal's facts come from the plan over both pools */
        struct al_alloc *keep = pl->allocs;
        memset(pl, 0, sizeof *pl);
        pl->allocs = keep;
        pl->wanted = r->count;
        pl->best_node = -1;
    }
    rc = plan_pool(p, r, c, pl);
    if (rc != AL_E_NOFIT)
        return rc;
    pl->n = pl->reconfigs = 0;
    pl->why = pl->eligible == 0                            ? AL_WHY_NO_ELIGIBLE
              : r->same_node && pl->free_total >= r->count ? AL_WHY_SAME_NODE
                                                           : AL_WHY_CAPACITY;
    return rc;
}

/* AL_E_RANGE: the request's window is not within the calendar's times. */
static int range_text(const struct al_planner *p, const struct al_request *r, struct al_err *reterr)
{
    char win[2 * AL_TIME_TEXT_MAX + 8], from[AL_TIME_TEXT_MAX];
    return al_err_set(
        reterr, AL_E_RANGE, "start/end: %s is outside the calendar's range (it starts at %s)",
        window_text(r, win, sizeof win), al_timefmt(al_calendar_origin(p->c), from, sizeof from));
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
    if (al_planner__scratch(p) < 0 || ensure_allocs(ret, r->count) < 0)
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
                return range_text(p, r, reterr);
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
    if ((rc = check_request(&q, reterr)) < 0 || (rc = al_planner__scratch(p)) < 0)
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

int al_planner_windows(struct al_planner *p, const struct al_request *r, int64_t duration,
                       int64_t latest_start, int64_t *starts, size_t max, struct al_err *reterr)
{
    struct al_request q = *r;
    size_t found = 0;
    int rc = 0;
    if (max == 0 || !starts)
        return al_err_set(reterr, AL_E_INVAL, "windows: need max > 0");
    /* each round is al_planner_earliest from the end of the window found before: the next
     * disjoint window, which no hold end need mark (one long hold ending at T leaves T,
     * T + d, T + 2d … all free, and only T is a candidate of a single search) */
    while (found < max && q.start <= latest_start) {
        int64_t s = 0;
        rc = al_planner_earliest(p, &q, duration, latest_start, &s, 1, found ? NULL : reterr);
        if (rc < 0)
            break;
        starts[found++] = s;
        if (s > INT64_MAX - duration)
            break;
        q.start = s + duration;
    }
    if (found > 0)
        return (int)found;
    return rc < 0 ? rc : al_err_set(reterr, AL_E_NOFIT, "no window in the range");
}
