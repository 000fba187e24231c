/* driver.c — the driver interface (see driver.h): picks a driver by name, checks what every
 * driver would otherwise check again, and renders the observed state as JSON. */
#include "agent/driver_internal.h"

#include <stdlib.h>
#include <string.h>

struct al_driver {
    const struct al_driver_ops *ops;
    void *impl;
};

static const struct al_driver_ops *const drivers[] = {&al_drv_sim_ops, &al_drv_nvml_ops};

int al_driver_open(const struct al_driver_cfg *cfg, struct al_driver **ret, struct al_err *reterr)
{
    const struct al_driver_ops *ops = NULL;
    struct al_driver *d;
    int rc;
    *ret = NULL;
    for (size_t i = 0; cfg->name && i < sizeof drivers / sizeof drivers[0]; i++)
        if (strcmp(cfg->name, drivers[i]->name) == 0)
            ops = drivers[i];
    if (!ops)
        return al_err_set(reterr, AL_E_INVAL, "driver: sim or nvml, not %.32s",
                          cfg->name ? cfg->name : "(none)");
    if (!(d = calloc(1, sizeof *d)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    d->ops = ops;
    if ((rc = ops->open(cfg, &d->impl, reterr)) < 0) {
        free(d);
        return rc;
    }
    *ret = d;
    return 0;
}

void al_driver_close(struct al_driver *d)
{
    if (!d)
        return;
    d->ops->close(d->impl);
    free(d);
}

const char *al_driver_name(const struct al_driver *d)
{
    return d->ops->name;
}

bool al_driver_simulated(const struct al_driver *d)
{
    return d->ops->simulated;
}

int al_driver_gpu_count(struct al_driver *d, unsigned *ret, struct al_err *reterr)
{
    int rc = d->ops->gpu_count(d->impl, ret, reterr);
    if (rc == 0 && *ret > AL_DRV_MAX_GPUS)
        rc = al_err_set(reterr, AL_E_RANGE, "%u GPUs: more than %d", *ret, AL_DRV_MAX_GPUS);
    return rc;
}

int al_driver_observe(struct al_driver *d, unsigned n, struct al_drv_gpu *ret,
                      struct al_err *reterr)
{
    if (n >= AL_DRV_MAX_GPUS)
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", n);
    return d->ops->observe(d->impl, n, ret, reterr);
}

int al_driver_create(struct al_driver *d, unsigned gpu, unsigned profile_id, unsigned start,
                     struct al_drv_instance *ret, struct al_err *reterr)
{
    if (gpu >= AL_DRV_MAX_GPUS)
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", gpu);
    return d->ops->create(d->impl, gpu, profile_id, start, ret, reterr);
}

int al_driver_destroy(struct al_driver *d, unsigned gpu, unsigned gi_id, struct al_err *reterr)
{
    if (gpu >= AL_DRV_MAX_GPUS)
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", gpu);
    return d->ops->destroy(d->impl, gpu, gi_id, reterr);
}

int al_driver_set_mig_mode(struct al_driver *d, unsigned gpu, bool on, struct al_err *reterr)
{
    if (gpu >= AL_DRV_MAX_GPUS)
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", gpu);
    return d->ops->set_mig_mode(d->impl, gpu, on, reterr);
}

int al_driver_reset(struct al_driver *d, unsigned gpu, struct al_err *reterr)
{
    if (gpu >= AL_DRV_MAX_GPUS && gpu != AL_DRV_ALL_GPUS)
        return al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", gpu);
    return d->ops->reset(d->impl, gpu, reterr);
}

int al_driver_catalog_profile(const struct al_gpu_model *m, unsigned profile_id)
{
    for (unsigned i = 0; m && m->mig && i < m->nprofiles; i++)
        if (m->profiles[i].nvml_id == profile_id)
            return (int)i;
    return -1;
}

static json_t *profiles_json(const struct al_drv_gpu *g)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < g->nprofiles; i++) {
        const struct al_drv_profile *p = &g->profiles[i];
        json_t *pl = json_array();
        for (unsigned k = 0; pl && k < p->nplacements; k++)
            json_array_append_new(pl, json_pack("{s:I,s:I}", "start",
                                                (json_int_t)p->placements[k].start, "size",
                                                (json_int_t)p->placements[k].size));
        json_array_append_new(arr, json_pack("{s:I,s:s,s:I,s:I,s:I,s:o}", "id",
                                             (json_int_t)p->profile_id, "name", p->name, "slices",
                                             (json_int_t)p->slices, "instances_max",
                                             (json_int_t)p->instances_max, "memory_mib",
                                             (json_int_t)p->mem_mib, "placements", pl));
    }
    return arr;
}

/* AL_DRV_NONE as JSON null. */
static json_t *id_json(unsigned id)
{
    return id == AL_DRV_NONE ? json_null() : json_integer(id);
}

static json_t *instances_json(const struct al_drv_gpu *g)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < g->ninstances; i++) {
        const struct al_drv_instance *in = &g->instances[i];
        int pi = al_driver_catalog_profile(g->model, in->profile_id);
        const char *pname = pi >= 0 && g->model ? g->model->profiles[pi].name : NULL;
        json_array_append_new(
            arr, json_pack("{s:I,s:o,s:I,s:s?,s:I,s:I,s:s}", "gi", (json_int_t)in->gi_id, "ci",
                           id_json(in->ci_id), "profile_id", (json_int_t)in->profile_id, "profile",
                           pname, "start", (json_int_t)in->placement.start, "size",
                           (json_int_t)in->placement.size, "uuid", in->uuid));
    }
    return arr;
}

static json_t *gpu_json(const struct al_drv_gpu *g)
{
    json_t *procs = json_array();
    for (unsigned i = 0; procs && i < g->nprocs; i++) {
        const struct al_drv_process *p = &g->procs[i];
        json_array_append_new(procs, json_pack("{s:I,s:I,s:o,s:o}", "pid", (json_int_t)p->pid,
                                               "used_memory_mib", (json_int_t)(p->used_bytes >> 20),
                                               "gi", id_json(p->gi_id), "ci", id_json(p->ci_id)));
    }
    return json_pack("{s:I,s:s,s:s,s:s?,s:I,s:b,s:{s:b,s:b,s:b},s:o,s:o,s:o,s:I}", "index",
                     (json_int_t)g->index, "uuid", g->uuid, "name", g->name, "model",
                     g->model ? g->model->name : NULL, "memory_mib",
                     (json_int_t)(g->mem_bytes >> 20), "healthy", g->healthy, "mig", "capable",
                     g->mig_capable, "current", g->mig_current, "pending", g->mig_pending,
                     "profiles", profiles_json(g), "instances", instances_json(g), "processes",
                     procs, "processes_total", (json_int_t)g->procs_total);
}

int al_driver_observed_json(struct al_driver *d, json_t **ret, struct al_err *reterr)
{
    struct al_drv_gpu *g = malloc(sizeof *g);
    json_t *gpus = json_array();
    unsigned n = 0;
    int rc;
    *ret = NULL;
    if (!g || !gpus) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = al_driver_gpu_count(d, &n, reterr)) < 0)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        json_t *j;
        if ((rc = al_driver_observe(d, i, g, reterr)) < 0)
            goto out;
        if (!(j = gpu_json(g)) || json_array_append_new(gpus, j) < 0) {
            rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!(*ret = json_pack("{s:s,s:O}", "driver", al_driver_name(d), "gpus", gpus)))
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
out:
    json_decref(gpus);
    free(g);
    return rc;
}
