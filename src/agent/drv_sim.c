/* drv_sim.c — the `sim` driver: a simulated GPU host that obeys NVML's rules, its whole state
 * in a JSON state file (agent/drv_sim_file.c) so that tests can plant GPUs, instances,
 * processes and failures, and see what the agent did.
 *
 * Each call reads the file, acts, and writes it back when it changed: the file is the host, so
 * a process planted while the agent runs is seen at its next call, and an agent restarted
 * finds the instances it made. The rules, as NVML applies them (docs/agent.md):
 *   - profiles and placements are the catalog's for the GPU's model (core/catalog.h);
 *   - a GPU instance is created only with MIG mode on, at a start its profile allows, on units
 *     no other instance holds, within the model's limits (core/layout.h), and gets a full-size
 *     compute instance and a fresh MIG device UUID;
 *   - an instance is destroyed only when no process runs on it (compute instance, then GPU
 *     instance); MIG mode switches only on an idle GPU (no process; to turn it off, no
 *     instance);
 *   - a reset loses every instance and process and makes the pending MIG mode current;
 *   - a failure planted in "fail_next" is met (once) by the next such operation.
 */
#include "agent/driver_internal.h"
#include "agent/drv_sim_internal.h"

#include "core/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sim {
    const char *path;
    struct al_sim_state st; /* scratch for one call: read, changed, written */
};

static int sim_open(const struct al_driver_cfg *cfg, void **ret_impl, struct al_err *reterr)
{
    struct sim *s;
    int rc;
    *ret_impl = NULL;
    if (!cfg->state || !cfg->state[0])
        return al_err_set(reterr, AL_E_INVAL, "the sim driver needs a state file (--state FILE)");
    if (!(s = calloc(1, sizeof *s)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    s->path = cfg->state;
    if ((rc = al_sim_load(s->path, &s->st, reterr)) < 0) { /* refused before any use */
        free(s);
        return rc;
    }
    *ret_impl = s;
    return 0;
}

static void sim_close(void *impl)
{
    free(impl);
}

static struct al_sim_gpu *find_gpu(struct al_sim_state *st, unsigned index)
{
    for (unsigned i = 0; i < st->ngpus; i++)
        if (st->gpu[i].index == index)
            return &st->gpu[i];
    return NULL;
}

/* Read the state and find GPU `index` (the i-th by index order when `nth`). */
static int load_gpu(struct sim *s, unsigned index, struct al_sim_gpu **ret, struct al_err *reterr)
{
    int rc = al_sim_load(s->path, &s->st, reterr);
    if (rc < 0)
        return rc;
    if (!(*ret = find_gpu(&s->st, index)))
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", index);
    return 0;
}

/* A failure planted for `op` on `g`: consumed (written back) and returned, like NVML's. */
static int planted(struct sim *s, struct al_sim_gpu *g, enum al_sim_op op, struct al_err *reterr)
{
    int code = g->fail[op], rc;
    if (!code)
        return 0;
    g->fail[op] = 0;
    if ((rc = al_sim_save(s->path, &s->st, reterr)) < 0)
        return rc;
    return al_err_set(reterr, code, "GPU %u: %s: %s (planted failure)", g->index,
                      al_sim_op_name(op), al_sim_fail_name(code));
}

static int sim_gpu_count(void *impl, unsigned *ret, struct al_err *reterr)
{
    struct sim *s = impl;
    int rc = al_sim_load(s->path, &s->st, reterr);
    *ret = rc < 0 ? 0 : s->st.ngpus;
    return rc;
}

/* The GPUs in index order: the nth GPU of the file is not the one with index n. */
static struct al_sim_gpu *nth_gpu(struct al_sim_state *st, unsigned n)
{
    unsigned seen = 0;
    for (unsigned idx = 0; idx < AL_DRV_MAX_GPUS; idx++) {
        struct al_sim_gpu *g = find_gpu(st, idx);
        if (g && seen++ == n)
            return g;
    }
    return NULL;
}

static void observe_profiles(const struct al_gpu_model *m, struct al_drv_gpu *o)
{
    for (unsigned i = 0; m->mig && i < m->nprofiles && i < AL_DRV_MAX_PROFILES; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        struct al_drv_profile *d = &o->profiles[o->nprofiles++];
        d->profile_id = p->nvml_id;
        d->query_index = AL_DRV_NONE; /* the catalog keeps the id, not NVML's query index */
        snprintf(d->name, sizeof d->name, "%s", p->name);
        d->slices = p->compute_slices;
        d->instances_max = p->max_count;
        d->sms = p->sms;
        d->mem_mib = p->mem_mib;
        for (unsigned k = 0; k < p->nstarts && k < AL_DRV_MAX_PLACEMENT; k++)
            d->placements[d->nplacements++] = (struct al_drv_placement){p->starts[k], p->size};
    }
}

static int sim_observe(void *impl, unsigned n, struct al_drv_gpu *o, struct al_err *reterr)
{
    struct sim *s = impl;
    const struct al_sim_gpu *g;
    int rc = al_sim_load(s->path, &s->st, reterr);
    if (rc < 0)
        return rc;
    if (!(g = nth_gpu(&s->st, n)))
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", n);
    memset(o, 0, sizeof *o);
    o->index = g->index;
    snprintf(o->uuid, sizeof o->uuid, "%s", g->uuid);
    snprintf(o->name, sizeof o->name, "%s", g->model->name);
    o->model = g->model;
    o->mem_bytes = (uint64_t)g->model->mem_gb << 30;
    o->healthy = g->healthy;
    o->mig_capable = g->model->mig;
    o->mig_current = g->mig;
    o->mig_pending = g->mig_pending;
    observe_profiles(g->model, o);
    for (unsigned i = 0; i < g->ninst; i++) {
        const struct al_sim_inst *in = &g->inst[i];
        const struct al_mig_profile *p = &g->model->profiles[in->prof];
        o->instances[o->ninstances++] =
            (struct al_drv_instance){in->gi, p->nvml_id, {in->start, p->size}, in->ci, {0}};
        snprintf(o->instances[i].uuid, sizeof o->instances[i].uuid, "%s", in->uuid);
    }
    for (unsigned i = 0; i < g->nproc; i++)
        o->procs[o->nprocs++] = (struct al_drv_process){g->proc[i].pid, g->proc[i].used_mib << 20,
                                                        g->proc[i].gi, g->proc[i].ci};
    o->procs_total = g->nproc;
    return 0;
}

/* Why `p` may not join the instances of `g` (NVML: invalid argument / insufficient
 * resources), or 0. */
static int check_create(const struct al_sim_gpu *g, int pi, unsigned start, struct al_err *reterr)
{
    const struct al_gpu_model *m = g->model;
    const struct al_mig_profile *p = &m->profiles[pi];
    struct al_layout_sum sum = {0};
    struct al_placement np = {(uint8_t)pi, (uint8_t)start};
    unsigned k = 0;
    while (k < p->nstarts && p->starts[k] != start)
        k++;
    if (k == p->nstarts)
        return al_err_set(reterr, AL_E_INVAL,
                          "GPU %u: invalid placement: %s cannot start at unit %u", g->index,
                          p->name, start);
    for (unsigned i = 0; i < g->ninst; i++) {
        struct al_placement q = {(uint8_t)g->inst[i].prof, (uint8_t)g->inst[i].start};
        if (al_placement_mask(m, q) & al_placement_mask(m, np))
            return al_err_set(reterr, AL_E_NOFIT,
                              "GPU %u: placement %u:%u of %s is occupied by GPU instance %u (%s "
                              "at %u)",
                              g->index, start, p->size, p->name, g->inst[i].gi,
                              m->profiles[q.profile].name, q.start);
        al_layout_sum_add(m, &sum, q);
    }
    if (g->ninst >= AL_DRV_MAX_INSTANCES || !al_layout_sum_can_add(m, &sum, np))
        return al_err_set(reterr, AL_E_NOFIT,
                          "GPU %u: insufficient resources for %s at %u (the model's limits: "
                          "compute slices, instance counts, media engines)",
                          g->index, p->name, start);
    return 0;
}

static unsigned free_gi(const struct al_sim_gpu *g)
{
    for (unsigned id = 1;; id++) {
        unsigned i = 0;
        while (i < g->ninst && g->inst[i].gi != id)
            i++;
        if (i == g->ninst)
            return id;
    }
}

static int sim_create(void *impl, unsigned gpu, unsigned profile_id, unsigned start,
                      struct al_drv_instance *ret, struct al_err *reterr)
{
    struct sim *s = impl;
    struct al_sim_gpu *g;
    int rc, pi;
    if ((rc = load_gpu(s, gpu, &g, reterr)) < 0 || (rc = planted(s, g, AL_SIM_CREATE, reterr)) < 0)
        return rc;
    if (!g->model->mig || !g->mig)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "GPU %u: not supported: MIG mode is off%s", gpu,
                          g->model->mig ? "" : " (the model has no MIG)");
    if ((pi = al_driver_catalog_profile(g->model, profile_id)) < 0)
        return al_err_set(reterr, AL_E_INVAL, "GPU %u: invalid argument: no profile id %u on %s",
                          gpu, profile_id, g->model->name);
    if ((rc = check_create(g, pi, start, reterr)) < 0)
        return rc;
    struct al_sim_inst *in = &g->inst[g->ninst];
    *in = (struct al_sim_inst){.gi = free_gi(g), .ci = 0, .prof = (unsigned)pi, .start = start};
    s->st.serial++;
    al_sim_mig_uuid(g->uuid, in->gi, s->st.serial, in->uuid, sizeof in->uuid);
    g->ninst++;
    if ((rc = al_sim_save(s->path, &s->st, reterr)) < 0)
        return rc;
    if (ret) {
        *ret = (struct al_drv_instance){
            in->gi, profile_id, {start, g->model->profiles[pi].size}, in->ci, {0}};
        snprintf(ret->uuid, sizeof ret->uuid, "%s", in->uuid);
    }
    return 0;
}

static int sim_destroy(void *impl, unsigned gpu, unsigned gi, struct al_err *reterr)
{
    struct sim *s = impl;
    struct al_sim_gpu *g;
    unsigned i = 0;
    int rc;
    if ((rc = load_gpu(s, gpu, &g, reterr)) < 0 || (rc = planted(s, g, AL_SIM_DESTROY, reterr)) < 0)
        return rc;
    while (i < g->ninst && g->inst[i].gi != gi)
        i++;
    if (i == g->ninst)
        return al_err_set(reterr, AL_E_NOTFOUND, "GPU %u: not found: no GPU instance %u", gpu, gi);
    for (unsigned k = 0; k < g->nproc; k++)
        if (g->proc[k].gi == gi)
            return al_err_set(reterr, AL_E_STATE,
                              "GPU %u: in use: process %u runs on GPU instance %u", gpu,
                              g->proc[k].pid, gi);
    /* the compute instance goes first, then the GPU instance: one step here, as no process
     * can appear between the two */
    memmove(&g->inst[i], &g->inst[i + 1], (g->ninst - i - 1) * sizeof g->inst[0]);
    g->ninst--;
    return al_sim_save(s->path, &s->st, reterr);
}

static int sim_set_mig_mode(void *impl, unsigned gpu, bool on, struct al_err *reterr)
{
    struct sim *s = impl;
    struct al_sim_gpu *g;
    int rc;
    if ((rc = load_gpu(s, gpu, &g, reterr)) < 0 ||
        (rc = planted(s, g, AL_SIM_MIG_MODE, reterr)) < 0)
        return rc;
    if (!g->model->mig)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "GPU %u: not supported: %s has no MIG", gpu,
                          g->model->name);
    if (g->mig == on && g->mig_pending == on)
        return 0;
    if (g->nproc)
        return al_err_set(reterr, AL_E_STATE,
                          "GPU %u: in use: %u processes run (process %u); MIG mode switches "
                          "only on an idle GPU",
                          gpu, g->nproc, g->proc[0].pid);
    if (!on && g->ninst)
        return al_err_set(reterr, AL_E_STATE,
                          "GPU %u: in use: %u GPU instances exist; destroy them before turning "
                          "MIG off",
                          gpu, g->ninst);
    /* an idle GPU is reset by the driver at once: the new mode is current */
    g->mig = g->mig_pending = on;
    return al_sim_save(s->path, &s->st, reterr);
}

static int sim_reset(void *impl, unsigned gpu, struct al_err *reterr)
{
    struct sim *s = impl;
    struct al_sim_gpu *g = NULL;
    int rc = al_sim_load(s->path, &s->st, reterr);
    if (rc < 0)
        return rc;
    if (gpu != AL_DRV_ALL_GPUS && !(g = find_gpu(&s->st, gpu)))
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", gpu);
    if (g && (rc = planted(s, g, AL_SIM_RESET, reterr)) < 0)
        return rc;
    for (unsigned i = 0; i < s->st.ngpus; i++) {
        struct al_sim_gpu *x = &s->st.gpu[i];
        if (g && x != g)
            continue;
        x->ninst = x->nproc = 0; /* instances do not survive a reset; nor do processes */
        x->mig = x->mig_pending;
    }
    return al_sim_save(s->path, &s->st, reterr);
}

const struct al_driver_ops al_drv_sim_ops = {
    .name = "sim",
    .simulated = true,
    .open = sim_open,
    .close = sim_close,
    .gpu_count = sim_gpu_count,
    .observe = sim_observe,
    .create = sim_create,
    .destroy = sim_destroy,
    .set_mig_mode = sim_set_mig_mode,
    .reset = sim_reset,
};
