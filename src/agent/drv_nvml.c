/* drv_nvml.c — the `nvml` driver: a real GPU host through NVIDIA's NVML, loaded with dlopen at
 * run time so that allot neither builds nor links against it (`ldd allot` never shows it) and a
 * host without the NVIDIA driver gets a clear "libnvidia-ml.so.1 not found".
 *
 * Only the types and functions used here are declared, with the layouts of NVIDIA's public
 * nvml.h (13.x; see docs/agent.md for the sources and the ABI traps). Profile numbers: the
 * loop over NVML_GPU_INSTANCE_PROFILE_* *query indexes* (0..0x11) asks
 * nvmlDeviceGetGpuInstanceProfileInfo(V) for each profile; its answer's `id` (19, 14, 9, 5, 0
 * on an H100) is the profile *id* that placements, instance lists and creation take, and the
 * one driver.h calls profile_id.
 */
#include "agent/driver_internal.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NV_LIB_DEFAULT "libnvidia-ml.so.1"

/* nvmlReturn_t, nvmlDevice_t, nvmlGpuInstance_t, nvmlComputeInstance_t: opaque handles */
typedef int nv_return;
typedef struct nv_device_st *nv_device;
typedef struct nv_gi_st *nv_gi;
typedef struct nv_ci_st *nv_ci;

enum {
    NV_SUCCESS = 0,
    NV_INVALID_ARGUMENT = 2,
    NV_NOT_SUPPORTED = 3,
    NV_NO_PERMISSION = 4,
    NV_NOT_FOUND = 6,
    NV_INSUFFICIENT_SIZE = 7,
    NV_FUNCTION_NOT_FOUND = 13,
    NV_GPU_IS_LOST = 15,
    NV_IN_USE = 19,
    NV_INSUFFICIENT_RESOURCES = 23,
};

#define NV_GI_PROFILE_COUNT  0x12 /* NVML_GPU_INSTANCE_PROFILE_COUNT: query indexes 0..0x11 */
#define NV_CI_PROFILE_COUNT  0x09 /* NVML_COMPUTE_INSTANCE_PROFILE_COUNT */
#define NV_BUF_SIZE          96   /* NVML_DEVICE_UUID_V2_BUFFER_SIZE, ..._NAME_V2_... */
#define NV_MAX_PROCS         1024 /* processes asked for per device */
#define NV_PROC_STRIDE_GUARD 32   /* bytes per process a driver of the other ABI writes */

struct nv_memory { /* nvmlMemory_t: total, free, used */
    unsigned long long bytes[3];
};

struct nv_placement { /* nvmlGpuInstancePlacement_t */
    unsigned start, size;
};

struct nv_gip_info { /* nvmlGpuInstanceProfileInfo_t (v1), 48 bytes */
    unsigned id, is_p2p, slices, instances, sms, ce, dec, enc, jpeg, ofa;
    unsigned long long mem_mb;
};

struct nv_gip_info_v2 { /* nvmlGpuInstanceProfileInfo_v2_t, 152 bytes */
    unsigned version, id, is_p2p, slices, instances, sms, ce, dec, enc, jpeg, ofa;
    unsigned long long mem_mb;
    char name[NV_BUF_SIZE];
};
#define NV_GIP_INFO_V2 ((unsigned)sizeof(struct nv_gip_info_v2) | (2u << 24))

struct nv_gi_info { /* nvmlGpuInstanceInfo_t */
    nv_device device;
    unsigned id, profile_id;
    struct nv_placement placement;
};

struct nv_cip_info { /* nvmlComputeInstanceProfileInfo_t (v1), 36 bytes */
    unsigned id, slices, instances, sms, ce, dec, enc, jpeg, ofa;
};

struct nv_ci_info { /* nvmlComputeInstanceInfo_t */
    nv_device device;
    nv_gi gpu_instance;
    unsigned id, profile_id;
    struct nv_placement placement;
};

struct nv_process { /* nvmlProcessInfo_t of nvml.h 13.x (= nvmlProcessInfo_v2_t), 24 bytes */
    unsigned pid;
    unsigned long long used;
    unsigned gi, ci;
};

_Static_assert(sizeof(struct nv_gip_info) == 48, "nvmlGpuInstanceProfileInfo_t");
_Static_assert(sizeof(struct nv_gip_info_v2) == 152, "nvmlGpuInstanceProfileInfo_v2_t");
_Static_assert(sizeof(struct nv_gi_info) == 24, "nvmlGpuInstanceInfo_t");
_Static_assert(sizeof(struct nv_cip_info) == 36, "nvmlComputeInstanceProfileInfo_t");
_Static_assert(sizeof(struct nv_ci_info) == 32, "nvmlComputeInstanceInfo_t");
_Static_assert(sizeof(struct nv_process) == 24, "nvmlProcessInfo_t");

/* The functions used, filled by dlsym; optional ones stay NULL on an older driver. */
struct nv_fns {
    nv_return (*init)(void);
    nv_return (*shutdown)(void);
    const char *(*error_string)(nv_return);
    nv_return (*count)(unsigned *);
    nv_return (*handle)(unsigned, nv_device *);
    nv_return (*uuid)(nv_device, char *, unsigned);
    nv_return (*name)(nv_device, char *, unsigned);
    nv_return (*memory)(nv_device, struct nv_memory *);
    nv_return (*procs)(nv_device, unsigned *, struct nv_process *);
    nv_return (*mig_mode)(nv_device, unsigned *, unsigned *);
    nv_return (*set_mig_mode)(nv_device, unsigned, nv_return *);
    nv_return (*gip_info)(nv_device, unsigned, struct nv_gip_info *);
    nv_return (*gip_info_v)(nv_device, unsigned, struct nv_gip_info_v2 *);
    nv_return (*placements)(nv_device, unsigned, struct nv_placement *, unsigned *);
    nv_return (*gpu_instances)(nv_device, unsigned, nv_gi *, unsigned *);
    nv_return (*gi_by_id)(nv_device, unsigned, nv_gi *);
    nv_return (*gi_info)(nv_gi, struct nv_gi_info *);
    nv_return (*cip_info)(nv_gi, unsigned, unsigned, struct nv_cip_info *);
    nv_return (*compute_instances)(nv_gi, unsigned, nv_ci *, unsigned *);
    nv_return (*ci_info)(nv_ci, struct nv_ci_info *);
    nv_return (*max_mig)(nv_device, unsigned *);
    nv_return (*mig_handle)(nv_device, unsigned, nv_device *);
    nv_return (*mig_gi_id)(nv_device, unsigned *);
    nv_return (*mig_ci_id)(nv_device, unsigned *);
    nv_return (*create_gi)(nv_device, unsigned, const struct nv_placement *, nv_gi *);
    nv_return (*create_ci)(nv_gi, unsigned, nv_ci *);
    nv_return (*destroy_gi)(nv_gi);
    nv_return (*destroy_ci)(nv_ci);
};

/* Symbol names, the newest first: an older driver has only the second. */
static const struct {
    const char *sym, *alt;
    size_t off;
    bool required;
} nv_syms[] = {
#define NV_SYM(f, s, a, r)                                                                         \
    {                                                                                              \
        s, a, offsetof(struct nv_fns, f), r                                                        \
    }
    NV_SYM(init, "nvmlInit_v2", "nvmlInit", true),
    NV_SYM(shutdown, "nvmlShutdown", NULL, true),
    NV_SYM(error_string, "nvmlErrorString", NULL, true),
    NV_SYM(count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount", true),
    NV_SYM(handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex", true),
    NV_SYM(uuid, "nvmlDeviceGetUUID", NULL, true),
    NV_SYM(name, "nvmlDeviceGetName", NULL, true),
    NV_SYM(memory, "nvmlDeviceGetMemoryInfo", NULL, true),
    NV_SYM(procs, "nvmlDeviceGetComputeRunningProcesses_v3",
           "nvmlDeviceGetComputeRunningProcesses_v2", false),
    NV_SYM(mig_mode, "nvmlDeviceGetMigMode", NULL, false),
    NV_SYM(set_mig_mode, "nvmlDeviceSetMigMode", NULL, false),
    NV_SYM(gip_info, "nvmlDeviceGetGpuInstanceProfileInfo", NULL, false),
    NV_SYM(gip_info_v, "nvmlDeviceGetGpuInstanceProfileInfoV", NULL, false),
    NV_SYM(placements, "nvmlDeviceGetGpuInstancePossiblePlacements_v2", NULL, false),
    NV_SYM(gpu_instances, "nvmlDeviceGetGpuInstances", NULL, false),
    NV_SYM(gi_by_id, "nvmlDeviceGetGpuInstanceById", NULL, false),
    NV_SYM(gi_info, "nvmlGpuInstanceGetInfo", NULL, false),
    NV_SYM(cip_info, "nvmlGpuInstanceGetComputeInstanceProfileInfo", NULL, false),
    NV_SYM(compute_instances, "nvmlGpuInstanceGetComputeInstances", NULL, false),
    NV_SYM(ci_info, "nvmlComputeInstanceGetInfo_v2", "nvmlComputeInstanceGetInfo", false),
    NV_SYM(max_mig, "nvmlDeviceGetMaxMigDeviceCount", NULL, false),
    NV_SYM(mig_handle, "nvmlDeviceGetMigDeviceHandleByIndex", NULL, false),
    NV_SYM(mig_gi_id, "nvmlDeviceGetGpuInstanceId", NULL, false),
    NV_SYM(mig_ci_id, "nvmlDeviceGetComputeInstanceId", NULL, false),
    NV_SYM(create_gi, "nvmlDeviceCreateGpuInstanceWithPlacement", NULL, false),
    NV_SYM(create_ci, "nvmlGpuInstanceCreateComputeInstance", NULL, false),
    NV_SYM(destroy_gi, "nvmlGpuInstanceDestroy", NULL, false),
    NV_SYM(destroy_ci, "nvmlComputeInstanceDestroy", NULL, false),
#undef NV_SYM
};

struct nv {
    void *lib;
    bool inited;
    struct nv_fns f;
    struct nv_process *pbuf; /* NV_MAX_PROCS processes, with room for the 32-byte ABI */
};

/* NVML's return codes as allot's, with what each means here. */
static const struct {
    nv_return r;
    int code;
    const char *why;
} nv_codes[] = {
    {NV_IN_USE, AL_E_STATE, "in use (a process or compute instance is active)"},
    {NV_NOT_SUPPORTED, AL_E_UNSUPPORTED, "not supported (MIG off, or no MIG on this GPU)"},
    {NV_NO_PERMISSION, AL_E_FORBIDDEN, "no permission (MIG changes need root)"},
    {NV_INVALID_ARGUMENT, AL_E_INVAL, "invalid argument (profile or placement)"},
    {NV_NOT_FOUND, AL_E_NOTFOUND, "not found"},
    {NV_INSUFFICIENT_RESOURCES, AL_E_NOFIT, "insufficient resources (placement occupied)"},
    {NV_GPU_IS_LOST, AL_E_NVML, "the GPU is lost"},
};

static int nv_fail(const struct nv *n, nv_return r, unsigned gpu, const char *what,
                   struct al_err *reterr)
{
    const char *s = n->f.error_string ? n->f.error_string(r) : NULL;
    int code = AL_E_NVML;
    const char *why = "NVML failed";
    for (size_t i = 0; i < sizeof nv_codes / sizeof nv_codes[0]; i++)
        if (nv_codes[i].r == r) {
            code = nv_codes[i].code;
            why = nv_codes[i].why;
        }
    return al_err_set(reterr, code, "GPU %u: %s: %s (NVML error %d: %s)", gpu, what, why, r,
                      s ? s : "?");
}

static void nv_close(void *impl)
{
    struct nv *n = impl;
    if (!n)
        return;
    if (n->inited)
        (void)n->f.shutdown(); /* nothing to do about a failed shutdown on the way out */
    if (n->lib)
        (void)dlclose(n->lib);
    free(n->pbuf);
    free(n);
}

/* Resolve nv_syms into n->f. A missing required symbol fails; optional ones stay NULL. */
static int nv_resolve(struct nv *n, const char *lib, struct al_err *reterr)
{
    for (size_t i = 0; i < sizeof nv_syms / sizeof nv_syms[0]; i++) {
        void *p = dlsym(n->lib, nv_syms[i].sym);
        if (!p && nv_syms[i].alt)
            p = dlsym(n->lib, nv_syms[i].alt);
        if (!p && nv_syms[i].required)
            return al_err_set(reterr, AL_E_NVML, "%s has no %s: the NVIDIA driver is too old", lib,
                              nv_syms[i].sym);
        /* POSIX: a function's address travels through dlsym's void * */
        memcpy((char *)&n->f + nv_syms[i].off, &p, sizeof p);
    }
    return 0;
}

static int nv_open(const struct al_driver_cfg *cfg, void **ret_impl, struct al_err *reterr)
{
    const char *lib = cfg->lib ? cfg->lib : NV_LIB_DEFAULT;
    struct nv *n = calloc(1, sizeof *n);
    nv_return r;
    int rc = 0;
    *ret_impl = NULL;
    if (!n || !(n->pbuf = calloc(NV_MAX_PROCS, NV_PROC_STRIDE_GUARD))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(n->lib = dlopen(lib, RTLD_NOW | RTLD_LOCAL))) {
        const char *why = dlerror(); /* NOLINT(concurrency-mt-unsafe): opened once, at start */
        rc = al_err_set(reterr, AL_E_NOTFOUND, "%s not found: is the NVIDIA driver installed? (%s)",
                        lib, why ? why : "dlopen failed");
        goto out;
    }
    if ((rc = nv_resolve(n, lib, reterr)) < 0)
        goto out;
    if (!n->f.init || !n->f.error_string) { /* required: nv_resolve found them */
        rc = al_err_set(reterr, AL_E_INTERNAL, "%s: nvmlInit not resolved", lib);
        goto out;
    }
    if ((r = n->f.init()) != NV_SUCCESS) {
        rc = al_err_set(reterr, AL_E_NVML, "nvmlInit: %s (NVML error %d)", n->f.error_string(r), r);
        goto out;
    }
    n->inited = true;
    *ret_impl = n;
    n = NULL;
out:
    nv_close(n);
    return rc;
}

static int nv_gpu_count(void *impl, unsigned *ret, struct al_err *reterr)
{
    struct nv *n = impl;
    nv_return r = n->f.count(ret);
    if (r != NV_SUCCESS) {
        *ret = 0;
        return nv_fail(n, r, 0, "nvmlDeviceGetCount", reterr);
    }
    return 0;
}

static int nv_get_device(struct nv *n, unsigned gpu, nv_device *dev, struct al_err *reterr)
{
    nv_return r = n->f.handle(gpu, dev);
    return r == NV_SUCCESS ? 0 : nv_fail(n, r, gpu, "nvmlDeviceGetHandleByIndex", reterr);
}

/* Profile info at query index `qi` into *p (placements apart). 1 when listed, 0 when the GPU
 * has no such profile, < 0 on failure. */
static int nv_profile(struct nv *n, nv_device dev, unsigned qi, struct al_drv_profile *p)
{
    struct nv_gip_info_v2 v2 = {.version = NV_GIP_INFO_V2};
    struct nv_gip_info v1 = {0};
    nv_return r = n->f.gip_info_v ? n->f.gip_info_v(dev, qi, &v2) : NV_FUNCTION_NOT_FOUND;
    memset(p, 0, sizeof *p);
    p->query_index = qi;
    if (r == NV_SUCCESS) {
        *p = (struct al_drv_profile){v2.id,  qi,        "", v2.slices, v2.instances,
                                     v2.sms, v2.mem_mb, 0,  {{0, 0}}};
        memcpy(p->name, v2.name, sizeof p->name - 1); /* NUL-terminated within NV_BUF_SIZE */
        return 1;
    }
    if (r == NV_FUNCTION_NOT_FOUND && n->f.gip_info)
        r = n->f.gip_info(dev, qi, &v1);
    if (r != NV_SUCCESS)
        return r == NV_NOT_SUPPORTED || r == NV_INVALID_ARGUMENT ? 0 : -1;
    *p = (struct al_drv_profile){v1.id,  qi,        "", v1.slices, v1.instances,
                                 v1.sms, v1.mem_mb, 0,  {{0, 0}}};
    return 1;
}

static void nv_placements(struct nv *n, nv_device dev, struct al_drv_profile *p)
{
    struct nv_placement pl[32];
    unsigned cnt = 32;
    if (!n->f.placements || n->f.placements(dev, p->profile_id, pl, &cnt) != NV_SUCCESS)
        return;
    for (unsigned k = 0; k < cnt && k < 32 && p->nplacements < AL_DRV_MAX_PLACEMENT; k++)
        p->placements[p->nplacements++] = (struct al_drv_placement){pl[k].start, pl[k].size};
}

static void nv_profiles(struct nv *n, nv_device dev, struct al_drv_gpu *o)
{
    for (unsigned qi = 0; qi < NV_GI_PROFILE_COUNT && o->nprofiles < AL_DRV_MAX_PROFILES; qi++) {
        struct al_drv_profile *p = &o->profiles[o->nprofiles];
        if (nv_profile(n, dev, qi, p) <= 0)
            continue; /* not on this GPU; a failure here is a profile we cannot report */
        nv_placements(n, dev, p);
        o->nprofiles++;
    }
}

/* The first compute instance of `gi` (the agent makes one per GPU instance), or AL_DRV_NONE. */
static unsigned nv_first_ci(struct nv *n, nv_gi gi, nv_ci *ret)
{
    for (unsigned qi = 0; n->f.cip_info && n->f.compute_instances && qi < NV_CI_PROFILE_COUNT;
         qi++) {
        struct nv_cip_info cp = {0};
        struct nv_ci_info ci = {0};
        nv_ci buf[8];
        unsigned cnt = 0;
        if (n->f.cip_info(gi, qi, 0, &cp) != NV_SUCCESS || cp.instances > 8 ||
            n->f.compute_instances(gi, cp.id, buf, &cnt) != NV_SUCCESS || cnt == 0)
            continue;
        if (ret)
            *ret = buf[0];
        if (n->f.ci_info && n->f.ci_info(buf[0], &ci) == NV_SUCCESS)
            return ci.id;
    }
    return AL_DRV_NONE;
}

/* The GPU instances of every profile listed in o->profiles. */
static void nv_instances(struct nv *n, nv_device dev, struct al_drv_gpu *o)
{
    for (unsigned i = 0; n->f.gpu_instances && n->f.gi_info && i < o->nprofiles; i++) {
        nv_gi buf[AL_DRV_MAX_INSTANCES];
        unsigned cnt = 0;
        if (o->profiles[i].instances_max > AL_DRV_MAX_INSTANCES ||
            n->f.gpu_instances(dev, o->profiles[i].profile_id, buf, &cnt) != NV_SUCCESS)
            continue;
        for (unsigned k = 0; k < cnt && k < AL_DRV_MAX_INSTANCES; k++) {
            struct nv_gi_info gi = {0};
            if (o->ninstances == AL_DRV_MAX_INSTANCES || n->f.gi_info(buf[k], &gi) != NV_SUCCESS)
                continue;
            o->instances[o->ninstances++] =
                (struct al_drv_instance){gi.id,
                                         gi.profile_id,
                                         {gi.placement.start, gi.placement.size},
                                         nv_first_ci(n, buf[k], NULL),
                                         ""};
        }
    }
}

/* Append the processes of `dev` (a GPU, or a MIG device of GPU instance gi) to o->procs. */
static void nv_procs(struct nv *n, nv_device dev, unsigned gi, unsigned ci, struct al_drv_gpu *o)
{
    unsigned cnt = NV_MAX_PROCS;
    nv_return r = n->f.procs ? n->f.procs(dev, &cnt, n->pbuf) : NV_NOT_SUPPORTED;
    if (r == NV_INSUFFICIENT_SIZE) {
        o->procs_total += cnt; /* counted, not listed */
        return;
    }
    if (r != NV_SUCCESS)
        return;
    o->procs_total += cnt;
    for (unsigned k = 0; k < cnt && k < NV_MAX_PROCS && o->nprocs < AL_DRV_MAX_PROCS; k++) {
        const struct nv_process *p = &n->pbuf[k];
        o->procs[o->nprocs++] = (struct al_drv_process){
            p->pid, p->used, gi != AL_DRV_NONE ? gi : p->gi, gi != AL_DRV_NONE ? ci : p->ci};
    }
}

/* Each MIG device of `dev`: its UUID onto its instance, its processes into o->procs. */
static void nv_mig_devices(struct nv *n, nv_device dev, struct al_drv_gpu *o)
{
    unsigned max = 0;
    if (!n->f.max_mig || !n->f.mig_handle || !n->f.mig_gi_id || !n->f.mig_ci_id ||
        n->f.max_mig(dev, &max) != NV_SUCCESS)
        return;
    for (unsigned i = 0; i < max; i++) {
        nv_device mdev;
        unsigned gi, ci;
        char uuid[NV_BUF_SIZE] = "";
        if (n->f.mig_handle(dev, i, &mdev) != NV_SUCCESS ||
            n->f.mig_gi_id(mdev, &gi) != NV_SUCCESS || n->f.mig_ci_id(mdev, &ci) != NV_SUCCESS)
            continue;
        if (n->f.uuid(mdev, uuid, sizeof uuid) == NV_SUCCESS)
            for (unsigned k = 0; k < o->ninstances; k++)
                if (o->instances[k].gi_id == gi && o->instances[k].ci_id == ci)
                    snprintf(o->instances[k].uuid, sizeof o->instances[k].uuid, "%s", uuid);
        nv_procs(n, mdev, gi, ci, o);
    }
}

static int nv_observe(void *impl, unsigned index, struct al_drv_gpu *o, struct al_err *reterr)
{
    struct nv *n = impl;
    struct nv_memory mem = {0};
    unsigned cur = 0, pend = 0;
    nv_device dev;
    int rc;
    memset(o, 0, sizeof *o);
    if ((rc = nv_get_device(n, index, &dev, reterr)) < 0)
        return rc;
    o->index = index;
    /* healthy: the GPU answers; a lost GPU fails these first */
    o->healthy = n->f.uuid(dev, o->uuid, sizeof o->uuid) == NV_SUCCESS &&
                 n->f.name(dev, o->name, sizeof o->name) == NV_SUCCESS &&
                 n->f.memory(dev, &mem) == NV_SUCCESS;
    o->model = al_catalog_find(o->name);
    o->mem_bytes = mem.bytes[0];
    o->mig_capable = n->f.mig_mode && n->f.mig_mode(dev, &cur, &pend) == NV_SUCCESS;
    o->mig_current = o->mig_capable && cur == 1;
    o->mig_pending = o->mig_capable && pend == 1;
    if (o->mig_capable)
        nv_profiles(n, dev, o);
    if (o->mig_current) {
        nv_instances(n, dev, o);
        nv_mig_devices(n, dev, o);
    } else {
        nv_procs(n, dev, AL_DRV_NONE, AL_DRV_NONE, o);
    }
    return 0;
}

/* What creating an instance needs: the placement NVML lists for a profile id and start, and
 * the profile's compute slices (to pick the compute instance that spans it). */
struct nv_target {
    struct nv_placement pl;
    unsigned slices;
};

static int nv_find_placement(struct nv *n, nv_device dev, unsigned gpu, unsigned profile_id,
                             unsigned start, struct nv_target *t, struct al_err *reterr)
{
    struct al_drv_profile p;
    for (unsigned qi = 0; qi < NV_GI_PROFILE_COUNT; qi++) {
        if (nv_profile(n, dev, qi, &p) <= 0 || p.profile_id != profile_id)
            continue;
        nv_placements(n, dev, &p);
        for (unsigned k = 0; k < p.nplacements; k++)
            if (p.placements[k].start == start) {
                t->pl = (struct nv_placement){start, p.placements[k].size};
                t->slices = p.slices;
                return 0;
            }
        return al_err_set(reterr, AL_E_INVAL,
                          "GPU %u: invalid placement: profile id %u cannot start at %u", gpu,
                          profile_id, start);
    }
    return al_err_set(reterr, AL_E_INVAL, "GPU %u: no GPU instance profile id %u", gpu, profile_id);
}

/* The compute-instance profile id that spans a GPU instance of `slices` slices. */
static int nv_full_ci(struct nv *n, nv_gi gi, unsigned slices, unsigned *ret)
{
    for (unsigned qi = 0; n->f.cip_info && qi < NV_CI_PROFILE_COUNT; qi++) {
        struct nv_cip_info cp = {0};
        if (n->f.cip_info(gi, qi, 0, &cp) == NV_SUCCESS && cp.slices == slices) {
            *ret = cp.id;
            return 0;
        }
    }
    return -1;
}

static int nv_create(void *impl, unsigned gpu, unsigned profile_id, unsigned start,
                     struct al_drv_instance *ret, struct al_err *reterr)
{
    struct nv *n = impl;
    struct nv_target t;
    struct nv_gi_info info = {0};
    nv_device dev;
    nv_gi gi;
    nv_ci ci;
    unsigned cip = 0;
    nv_return r;
    int rc;
    if (!n->f.create_gi || !n->f.create_ci || !n->f.destroy_gi || !n->f.gi_info)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "GPU %u: this NVML cannot create instances",
                          gpu);
    if ((rc = nv_get_device(n, gpu, &dev, reterr)) < 0 ||
        (rc = nv_find_placement(n, dev, gpu, profile_id, start, &t, reterr)) < 0)
        return rc;
    if ((r = n->f.create_gi(dev, profile_id, &t.pl, &gi)) != NV_SUCCESS)
        return nv_fail(n, r, gpu, "create GPU instance", reterr);
    if (nv_full_ci(n, gi, t.slices, &cip) < 0)
        r = NV_NOT_SUPPORTED;
    else
        r = n->f.create_ci(gi, cip, &ci);
    if (r != NV_SUCCESS) {
        rc = nv_fail(n, r, gpu, "create compute instance", reterr);
        (void)n->f.destroy_gi(gi); /* no half-made instance; the first failure is the news */
        return rc;
    }
    (void)n->f.gi_info(gi, &info);
    if (ret)
        *ret = (struct al_drv_instance){
            info.id, profile_id, {t.pl.start, t.pl.size}, nv_first_ci(n, gi, NULL), ""};
    /* the MIG device UUID: the next observation reads it (al_driver_observe) */
    return 0;
}

static int nv_destroy(void *impl, unsigned gpu, unsigned gi_id, struct al_err *reterr)
{
    struct nv *n = impl;
    nv_device dev;
    nv_gi gi;
    nv_ci ci;
    nv_return r;
    int rc;
    if (!n->f.gi_by_id || !n->f.destroy_gi || !n->f.destroy_ci)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "GPU %u: this NVML cannot destroy instances",
                          gpu);
    if ((rc = nv_get_device(n, gpu, &dev, reterr)) < 0)
        return rc;
    if ((r = n->f.gi_by_id(dev, gi_id, &gi)) != NV_SUCCESS)
        return nv_fail(n, r, gpu, "find GPU instance", reterr);
    /* compute instances first (nvidia-smi mig -dci), then the GPU instance (-dgi) */
    /* bounded: a GPU instance holds at most 8 compute instances (one per compute slice) */
    for (int k = 0; k < 8 && nv_first_ci(n, gi, &ci) != AL_DRV_NONE; k++)
        if ((r = n->f.destroy_ci(ci)) != NV_SUCCESS)
            return nv_fail(n, r, gpu, "destroy compute instance", reterr);
    if ((r = n->f.destroy_gi(gi)) != NV_SUCCESS)
        return nv_fail(n, r, gpu, "destroy GPU instance", reterr);
    return 0;
}

static int nv_set_mig_mode(void *impl, unsigned gpu, bool on, struct al_err *reterr)
{
    struct nv *n = impl;
    nv_device dev;
    nv_return r, activation = NV_SUCCESS;
    int rc;
    if (!n->f.set_mig_mode)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "GPU %u: this NVML cannot switch MIG mode",
                          gpu);
    if ((rc = nv_get_device(n, gpu, &dev, reterr)) < 0)
        return rc;
    if ((r = n->f.set_mig_mode(dev, on ? 1 : 0, &activation)) != NV_SUCCESS)
        return nv_fail(n, r, gpu, "set MIG mode", reterr);
    if (activation != NV_SUCCESS) /* e.g. a reset is required: pending until then */
        return nv_fail(n, activation, gpu, "MIG mode pending", reterr);
    return 0;
}

static int nv_reset(void *impl, unsigned gpu, struct al_err *reterr)
{
    (void)impl;
    return al_err_set(reterr, AL_E_UNSUPPORTED,
                      "GPU %u: the nvml driver never resets a GPU (an operator does, on purpose)",
                      gpu);
}

const struct al_driver_ops al_drv_nvml_ops = {
    .name = "nvml",
    .simulated = false,
    .open = nv_open,
    .close = nv_close,
    .gpu_count = nv_gpu_count,
    .observe = nv_observe,
    .create = nv_create,
    .destroy = nv_destroy,
    .set_mig_mode = nv_set_mig_mode,
    .reset = nv_reset,
};
