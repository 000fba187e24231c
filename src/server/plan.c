/* plan.c — placing whole-GPU and MIG asks against the GPUs and holds loaded from the store.
 * Whole GPUs: one node when any node has enough (the best-fitting one), else nodes with the
 * most free first. MIG: GPUs already partly used in the window first, then empty ones; the
 * lowest allowed start that collides with nothing. */
#include "server/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pgpu {
    const char *id, *node, *uuid, *zone;
    const struct al_gpu_model *model;
    bool usable;
    int first_hold; /* index into holds, -1: none */
};

struct al_planset {
    json_t *gpus_json;
    struct pgpu *gpus;
    size_t ngpus;
    struct al_store_hold *holds;
    int *next_hold; /* chain of holds per GPU */
    size_t nholds, cap;
    int *by_id; /* GPU indices sorted by id, for lookup */
};

/* qsort has no context argument; loads run under the server's lock, one at a time. */
static const struct al_planset *sort_ps;

static int cmp_id(const void *a, const void *b)
{
    return strcmp(sort_ps->gpus[*(const int *)a].id, sort_ps->gpus[*(const int *)b].id);
}

static int gpu_index(const struct al_planset *ps, const char *id)
{
    size_t lo = 0, hi = ps->ngpus;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ps->gpus[ps->by_id[mid]].id, id);
        if (c == 0)
            return ps->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int hold_cb(void *arg, const struct al_store_hold *h)
{
    struct al_planset *ps = arg;
    if (ps->nholds == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        struct al_store_hold *nh = realloc(ps->holds, cap * sizeof *nh);
        if (!nh)
            return AL_E_NOMEM;
        ps->holds = nh;
        int *nn = realloc(ps->next_hold, cap * sizeof *nn);
        if (!nn)
            return AL_E_NOMEM;
        ps->next_hold = nn;
        ps->cap = cap;
    }
    ps->holds[ps->nholds++] = *h;
    return 0;
}

int al_planset_load(struct al_store *s, int64_t t0, int64_t t1, int64_t now,
                    struct al_planset **ret, struct al_err *reterr)
{
    struct al_planset *ps = calloc(1, sizeof *ps);
    int rc;
    if (!ps)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((rc = al_store_gpu_all(s, &ps->gpus_json, reterr)) != 0)
        goto out;
    ps->ngpus = json_array_size(ps->gpus_json);
    ps->gpus = calloc(ps->ngpus + 1, sizeof *ps->gpus);
    ps->by_id = calloc(ps->ngpus + 1, sizeof *ps->by_id);
    if (!ps->gpus || !ps->by_id) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ps->ngpus; i++) {
        json_t *g = json_array_get(ps->gpus_json, i);
        struct pgpu *p = &ps->gpus[i];
        p->id = json_string_value(json_object_get(g, "id"));
        p->node = json_string_value(json_object_get(g, "node"));
        p->uuid = json_string_value(json_object_get(g, "uuid"));
        p->zone = json_string_value(json_object_get(g, "zone"));
        p->model = al_catalog_find(json_string_value(json_object_get(g, "model")));
        p->usable = p->model && json_is_true(json_object_get(g, "healthy")) &&
                    !json_is_true(json_object_get(g, "drained"));
        p->first_hold = -1;
        ps->by_id[i] = (int)i;
    }
    sort_ps = ps;
    qsort(ps->by_id, ps->ngpus, sizeof *ps->by_id, cmp_id);
    if ((rc = al_store_hold_each(s, t0, t1, now, hold_cb, ps, reterr)) != 0) {
        if (rc == AL_E_NOMEM)
            al_err_set(reterr, rc, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < ps->nholds; k++) {
        int g = gpu_index(ps, ps->holds[k].gpu);
        ps->next_hold[k] = -1;
        if (g >= 0) {
            ps->next_hold[k] = ps->gpus[g].first_hold;
            ps->gpus[g].first_hold = (int)k;
        }
    }
out:
    if (rc)
        al_planset_free(ps);
    else
        *ret = ps;
    return rc;
}

void al_planset_free(struct al_planset *ps)
{
    if (!ps)
        return;
    json_decref(ps->gpus_json);
    free(ps->gpus);
    free(ps->by_id);
    free(ps->holds);
    free(ps->next_hold);
    free(ps);
}

uint64_t al_plan_mask(const struct al_gpu_model *m, int profile, int start)
{
    if (profile < 0)
        return UINT64_MAX;
    unsigned size = m->profiles[profile].size;
    return ((UINT64_C(1) << size) - 1) << start;
}

/* What is taken on GPU g during [s, e): units, compute slices, and instances of `profile`. */
struct occ {
    uint64_t mask;
    unsigned slices;
    unsigned same_profile;
};

static struct occ occupied(const struct al_planset *ps, size_t g, int64_t s, int64_t e,
                           const char *profile)
{
    struct occ o = {0};
    const struct al_gpu_model *m = ps->gpus[g].model;
    for (int k = ps->gpus[g].first_hold; k >= 0; k = ps->next_hold[k]) {
        const struct al_store_hold *h = &ps->holds[k];
        if (h->t0 >= e || h->t1 <= s)
            continue;
        o.mask |= h->mask;
        if (strcmp(h->kind, "mig") == 0 && m) {
            int pi = al_catalog_profile_index(m, h->profile);
            o.slices += pi >= 0 ? m->profiles[pi].compute_slices : m->compute_slices;
            if (profile && strcmp(h->profile, profile) == 0)
                o.same_profile++;
        }
    }
    return o;
}

static bool eligible(const struct al_planset *ps, size_t g, const struct al_plan_ask *a)
{
    const struct pgpu *p = &ps->gpus[g];
    return p->usable && p->model == a->model &&
           (!a->zone || (p->zone && strcmp(p->zone, a->zone) == 0));
}

static void put_alloc(const struct pgpu *p, int start, uint64_t mask, struct al_plan_alloc *out)
{
    snprintf(out->gpu, sizeof out->gpu, "%s", p->id);
    snprintf(out->node, sizeof out->node, "%s", p->node);
    snprintf(out->uuid, sizeof out->uuid, "%s", p->uuid ? p->uuid : "");
    out->start_unit = start;
    out->mask = mask;
}

/* Free GPUs of node `node` not yet used by this plan. */
static unsigned node_free(const struct al_planset *ps, size_t first, const bool *is_free,
                          const bool *used)
{
    unsigned n = 0;
    for (size_t h = first; h < ps->ngpus && strcmp(ps->gpus[h].node, ps->gpus[first].node) == 0;
         h++)
        n += is_free[h] && !used[h];
    return n;
}

/* Whole GPUs: free ones counted per node (GPUs come ordered by node). Each round takes the
 * node that best fits what is left, or failing that the node with the most free. */
static int fit_whole(const struct al_planset *ps, const struct al_plan_ask *a, int64_t s, int64_t e,
                     struct al_plan_alloc *out, struct al_err *reterr)
{
    unsigned total = 0, best_node = 0, taken = 0;
    bool *is_free = calloc(ps->ngpus + 1, sizeof *is_free);
    bool *used = calloc(ps->ngpus + 1, sizeof *used);
    int rc = 0;
    if (!is_free || !used) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t g = 0; g < ps->ngpus; g++)
        if (eligible(ps, g, a) && occupied(ps, g, s, e, NULL).mask == 0)
            is_free[g] = true, total++;
    while (taken < a->count) {
        unsigned left = a->count - taken, fit_n = 0, big_n = 0;
        long fit = -1, big = -1;
        for (size_t g = 0; g < ps->ngpus; g++) {
            if (g > 0 && strcmp(ps->gpus[g - 1].node, ps->gpus[g].node) == 0)
                continue; /* only the first GPU of each node starts a count */
            unsigned n = node_free(ps, g, is_free, used);
            if (n >= left && (fit < 0 || n < fit_n))
                fit = (long)g, fit_n = n;
            if (n > big_n)
                big = (long)g, big_n = n;
        }
        if (big_n > best_node)
            best_node = big_n;
        long pick = fit >= 0 ? fit : a->same_node ? -1 : big;
        if (pick < 0 || (big < 0 && fit < 0))
            break;
        for (size_t g = (size_t)pick; g < ps->ngpus && taken < a->count &&
                                      strcmp(ps->gpus[g].node, ps->gpus[pick].node) == 0;
             g++)
            if (is_free[g] && !used[g]) {
                used[g] = true;
                put_alloc(&ps->gpus[g], -1, UINT64_MAX, &out[taken++]);
            }
    }
    if (taken < a->count && a->same_node)
        rc = al_err_set(reterr, AL_E_NOFIT,
                        "only %u of %u %s GPUs free on one node during the window (%u in all)",
                        best_node, a->count, a->model->name, total);
    else if (taken < a->count)
        rc = al_err_set(reterr, AL_E_NOFIT, "only %u of %u %s GPUs free during the window", total,
                        a->count, a->model->name);
out:
    free(is_free);
    free(used);
    return rc;
}

/* MIG: place instances one by one, partly used GPUs first. */
static int fit_mig(const struct al_planset *ps, const struct al_plan_ask *a, int64_t s, int64_t e,
                   struct al_plan_alloc *out, struct al_err *reterr)
{
    const struct al_mig_profile *p = &a->model->profiles[a->profile];
    unsigned placed = 0;
    for (int pass = 0; pass < 2 && placed < a->count; pass++) {
        for (size_t g = 0; g < ps->ngpus && placed < a->count; g++) {
            if (!eligible(ps, g, a))
                continue;
            struct occ o = occupied(ps, g, s, e, p->name);
            if (o.mask == UINT64_MAX || (pass == 0) != (o.mask != 0))
                continue;
            /* instances placed earlier in this plan count too */
            for (unsigned k = 0; k < placed; k++)
                if (strcmp(out[k].gpu, ps->gpus[g].id) == 0) {
                    o.mask |= out[k].mask;
                    o.slices += p->compute_slices;
                    o.same_profile++;
                }
            for (unsigned k = 0; k < p->nstarts && placed < a->count; k++) {
                uint64_t m = al_plan_mask(a->model, a->profile, p->starts[k]);
                if ((o.mask & m) || o.slices + p->compute_slices > a->model->compute_slices ||
                    o.same_profile + 1 > p->max_count)
                    continue;
                put_alloc(&ps->gpus[g], p->starts[k], m, &out[placed++]);
                o.mask |= m;
                o.slices += p->compute_slices;
                o.same_profile++;
            }
        }
    }
    if (placed < a->count)
        return al_err_set(reterr, AL_E_NOFIT,
                          "only %u of %u %s instances of %s can be placed during the window",
                          placed, a->count, p->name, a->model->name);
    return 0;
}

int al_plan_fit(const struct al_planset *ps, const struct al_plan_ask *a, int64_t s, int64_t e,
                struct al_plan_alloc *out, struct al_err *reterr)
{
    if (!a->model || a->count < 1 || a->count > AL_PLAN_MAX_COUNT || s >= e)
        return al_err_set(reterr, AL_E_INVAL, "bad ask");
    if (!al_plan_has_model(ps, a->model))
        return al_err_set(reterr, AL_E_NOFIT, "no usable %s GPU in the fleet", a->model->name);
    if (a->profile < 0)
        return fit_whole(ps, a, s, e, out, reterr);
    return fit_mig(ps, a, s, e, out, reterr);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int al_plan_earliest(const struct al_planset *ps, const struct al_plan_ask *a, int64_t duration,
                     int64_t earliest, int64_t latest, int64_t *starts, int max)
{
    int64_t *cand = malloc((ps->nholds + 1) * sizeof *cand);
    struct al_plan_alloc *scratch = malloc(a->count * sizeof *scratch);
    size_t n = 0;
    int found = 0;
    if (!cand || !scratch)
        goto out;
    /* a window can only open at the asked start or where a hold ends */
    cand[n++] = earliest;
    for (size_t k = 0; k < ps->nholds; k++)
        if (ps->holds[k].t1 > earliest && ps->holds[k].t1 <= latest)
            cand[n++] = ps->holds[k].t1;
    qsort(cand, n, sizeof *cand, cmp_i64);
    for (size_t i = 0; i < n && found < max; i++) {
        if (i > 0 && cand[i] == cand[i - 1])
            continue;
        if (al_plan_fit(ps, a, cand[i], cand[i] + duration, scratch, NULL) == 0)
            starts[found++] = cand[i];
    }
out:
    free(cand);
    free(scratch);
    return found;
}

bool al_plan_has_model(const struct al_planset *ps, const struct al_gpu_model *m)
{
    for (size_t g = 0; g < ps->ngpus; g++)
        if (ps->gpus[g].usable && ps->gpus[g].model == m)
            return true;
    return false;
}

void al_plan_avail(const struct al_planset *ps, const struct al_gpu_model *m, int64_t s, int64_t e,
                   unsigned *total, unsigned *whole_free, unsigned *inst_free)
{
    *total = *whole_free = 0;
    for (unsigned p = 0; p < m->nprofiles; p++)
        inst_free[p] = 0;
    for (size_t g = 0; g < ps->ngpus; g++) {
        if (!ps->gpus[g].usable || ps->gpus[g].model != m)
            continue;
        (*total)++;
        for (unsigned p = 0; p < m->nprofiles; p++) {
            const struct al_mig_profile *pr = &m->profiles[p];
            struct occ o = occupied(ps, g, s, e, pr->name);
            if (p == 0 && o.mask == 0)
                (*whole_free)++;
            if (o.mask == UINT64_MAX)
                continue;
            for (unsigned k = 0; k < pr->nstarts; k++) {
                uint64_t mk = al_plan_mask(m, (int)p, pr->starts[k]);
                if ((o.mask & mk) || o.slices + pr->compute_slices > m->compute_slices ||
                    o.same_profile >= pr->max_count)
                    continue;
                o.mask |= mk;
                o.slices += pr->compute_slices;
                o.same_profile++;
                inst_free[p]++;
            }
        }
        if (m->nprofiles == 0 && occupied(ps, g, s, e, NULL).mask == 0)
            (*whole_free)++;
    }
}
