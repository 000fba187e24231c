/* planner_models.c — which GPU models can serve an ask, and the order a quote tries them in
 * (planner.h). The rule the API has always applied: the asked model, else every catalog model
 * meeting the memory ask, least memory first. */
#include "core/planner.h"

#define GB_BYTES UINT64_C(1000000000)
#define MIB      UINT64_C(1048576)

/* gb × 10^9 bytes, saturated: an ask beyond 2^64 bytes is one that nothing holds. */
static uint64_t gb_bytes(uint64_t gb)
{
    return gb > UINT64_MAX / GB_BYTES ? UINT64_MAX : gb * GB_BYTES;
}

static int mig_profile(const struct al_model_ask *a, const struct al_gpu_model *m)
{
    if (!m->mig)
        return -1;
    if (!a->profile)
        return al_catalog_pick_perf(m, gb_bytes(a->inst_mem_gb), a->perf, true);
    int pi = al_catalog_profile_index(m, a->profile);
    if (pi >= 0 && a->inst_mem_gb &&
        (uint64_t)m->profiles[pi].mem_mib * MIB < gb_bytes(a->inst_mem_gb))
        return -1;
    if (pi >= 0 && !al_catalog_perf_meets(al_catalog_perf(m, pi), a->perf))
        return -1;
    return pi;
}

int al_planner_model_serves(const struct al_model_ask *a, const struct al_gpu_model *m,
                            struct al_model_choice *ret)
{
    ret->model = m;
    ret->profile = -1;
    if (a->kind != AL_REQ_MIG)
        return m->mem_gb >= a->min_mem_gb && al_catalog_perf_meets(al_catalog_perf(m, -1), a->perf)
                   ? 0
                   : AL_E_NOFIT;
    ret->profile = mig_profile(a, m);
    return ret->profile >= 0 ? 0 : AL_E_NOFIT;
}

size_t al_planner_models(const struct al_model_ask *a, bool any, struct al_model_choice *ret,
                         size_t max)
{
    size_t n = 0;
    struct al_model_choice c;
    if (a->model && !any) {
        if (max > 0 && al_planner_model_serves(a, a->model, &c) == 0)
            ret[n++] = c;
        return n;
    }
    /* insertion into the first `max` places: stable, so equal memory keeps catalog order */
    for (size_t i = 0; i < al_catalog_count(); i++) {
        if (al_planner_model_serves(a, al_catalog_at(i), &c) != 0)
            continue;
        size_t k = n < max ? n++ : max;
        while (k > 0 && ret[k - 1].model->mem_gb > c.model->mem_gb) {
            if (k < max)
                ret[k] = ret[k - 1];
            k--;
        }
        if (k < max)
            ret[k] = c;
    }
    return n;
}
