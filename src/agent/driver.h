/* driver.h — what the node agent needs from a GPU host, whatever drives it: the GPUs, their MIG
 * mode, the GPU-instance profiles and placements the host supports, the GPU and compute
 * instances present (with their MIG device UUIDs), the processes on each GPU and instance, and
 * the few mutations a MIG change is made of (create a GPU instance with its compute instance at
 * a placement, destroy the compute instance then the GPU instance, switch MIG mode, reset).
 *
 * Two drivers implement it: `sim` (agent/drv_sim.c: a simulated node kept in a JSON state file
 * that obeys NVML's rules, for tests and demos) and `nvml` (agent/drv_nvml.c: the real host,
 * libnvidia-ml.so.1 loaded with dlopen at run time). tests/unit/test_driver.c is the
 * conformance suite both must pass; docs/agent.md describes the interface and each driver.
 *
 * Profile numbers. NVML has two numbers for a GPU-instance profile, and public mocks confuse
 * them: the *query index* (the NVML_GPU_INSTANCE_PROFILE_1_SLICE = 0, …_7_SLICE = 4, … constants
 * passed to nvmlDeviceGetGpuInstanceProfileInfo) and the profile *id* (that call's result
 * `info.id`, the ID column of `nvidia-smi mig -lgip`: 19, 14, 9, 5, 0 on an H100, as
 * core/catalog.h's `nvml_id`). Placements, instance lists and creation take the *id*. Here
 * `profile_id` is always the id; `query_index` is kept only to say where NVML listed it.
 *
 * Errors: every call returns 0 (or a count) or a negative code with a message in reterr:
 *   AL_E_STATE        in use (a process runs there; MIG mode switch while the GPU is busy)
 *   AL_E_UNSUPPORTED  not supported (no MIG on this GPU, MIG mode off, an nvml reset)
 *   AL_E_FORBIDDEN    no permission (NVML wants root)
 *   AL_E_INVAL        invalid placement or profile (a start the profile does not allow)
 *   AL_E_NOFIT        the placement is occupied, or the GPU has no room (insufficient resources)
 *   AL_E_NOTFOUND     no such GPU or instance; the NVML library is not installed
 *   AL_E_NVML         any other NVML failure (named in the message)
 *   AL_E_IO, AL_E_RANGE, -errno  the sim state file could not be read, parsed or written
 */
#ifndef AL_AGENT_DRIVER_H
#define AL_AGENT_DRIVER_H

#include "core/catalog.h"
#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AL_DRV_MAX_GPUS      64 /* GPUs of one host (the server's AL_NODE_MAX_GPUS) */
#define AL_DRV_MAX_PROFILES  24 /* GI profiles of one GPU (NVML knows 18 query indexes) */
#define AL_DRV_MAX_PLACEMENT 12 /* placements of one profile (AL_MIG_MAX_STARTS) */
#define AL_DRV_MAX_INSTANCES 16 /* GPU instances of one GPU (AL_LAYOUT_MAX) */
#define AL_DRV_MAX_PROCS     64 /* processes reported per GPU; more are counted, not listed */
#define AL_DRV_UUID_MAX      96 /* NVML_DEVICE_UUID_V2_BUFFER_SIZE */
#define AL_DRV_NAME_MAX      96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define AL_DRV_NONE          0xFFFFFFFFu /* no GPU/compute instance (NVML's value too) */
#define AL_DRV_ALL_GPUS      0xFFFFFFFFu /* al_driver_reset: every GPU (a reboot) */

/* Which driver, and its settings. Strings are borrowed for the life of the driver. */
struct al_driver_cfg {
    const char *name;  /* "sim" or "nvml" */
    const char *state; /* sim: the state file (required) */
    const char *lib;   /* nvml: the library to load; NULL: "libnvidia-ml.so.1" */
};

struct al_drv_placement {
    unsigned start, size; /* placement units [start, start + size) */
};

/* A GPU-instance profile as the host lists it. */
struct al_drv_profile {
    unsigned profile_id;        /* the id (nvidia-smi -lgip ID; catalog nvml_id) */
    unsigned query_index;       /* the NVML_GPU_INSTANCE_PROFILE_* index it was listed under */
    char name[AL_DRV_NAME_MAX]; /* "MIG 3g.40gb" (nvml) or "3g.40gb" (sim); "" if unknown */
    unsigned slices;            /* compute slices */
    unsigned instances_max;     /* instanceCount */
    unsigned sms;               /* multiprocessors; 0 where unknown */
    uint64_t mem_mib;
    unsigned nplacements;
    struct al_drv_placement placements[AL_DRV_MAX_PLACEMENT];
};

/* A GPU instance with its compute instance (the agent creates one full-size CI per GI). */
struct al_drv_instance {
    unsigned gi_id;      /* GPU instance id, assigned by the driver (not the placement) */
    unsigned profile_id; /* the profile's id */
    struct al_drv_placement placement;
    unsigned ci_id;             /* AL_DRV_NONE when the GI has no compute instance */
    char uuid[AL_DRV_UUID_MAX]; /* "MIG-…" of its MIG device; "" without a compute instance */
};

/* A compute process on a GPU. gi_id/ci_id are AL_DRV_NONE when MIG is off. */
struct al_drv_process {
    unsigned pid;
    uint64_t used_bytes;
    unsigned gi_id, ci_id;
};

/* One GPU as observed now. */
struct al_drv_gpu {
    unsigned index;
    char uuid[AL_DRV_UUID_MAX];
    char name[AL_DRV_NAME_MAX]; /* product name as the host reports it ("NVIDIA H100 80GB HBM3") */
    const struct al_gpu_model *model; /* the catalog's model for name; NULL when unknown */
    uint64_t mem_bytes;
    bool healthy;
    bool mig_capable;
    bool mig_current, mig_pending; /* MIG mode now / after the next reset */
    unsigned nprofiles, ninstances, nprocs;
    unsigned procs_total; /* processes found; nprocs of them listed */
    struct al_drv_profile profiles[AL_DRV_MAX_PROFILES];
    struct al_drv_instance instances[AL_DRV_MAX_INSTANCES];
    struct al_drv_process procs[AL_DRV_MAX_PROCS];
};

struct al_driver;

/* Open the driver cfg->name. On success *ret is the caller's (al_driver_close). Fails clearly
 * before touching anything: an unknown name or a sim state file that does not validate
 * (AL_E_INVAL naming the field); "libnvidia-ml.so.1 not found" (AL_E_NOTFOUND) for nvml on a
 * host without the NVIDIA driver. */
int al_driver_open(const struct al_driver_cfg *cfg, struct al_driver **ret, struct al_err *reterr);
void al_driver_close(struct al_driver *d);

const char *al_driver_name(const struct al_driver *d);
/* True for a simulated host: only then may tests mutate it freely (the conformance suite is
 * strictly read-only elsewhere). */
bool al_driver_simulated(const struct al_driver *d);

/* Number of GPUs (0..AL_DRV_MAX_GPUS). */
int al_driver_gpu_count(struct al_driver *d, unsigned *ret, struct al_err *reterr);
/* Observe the n-th GPU (n in 0..count-1, in index order) into *ret (caller's memory; large:
 * allocate it). The mutations below name a GPU by its `index` as observed here. */
int al_driver_observe(struct al_driver *d, unsigned n, struct al_drv_gpu *ret,
                      struct al_err *reterr);

/* Create a GPU instance of profile `profile_id` at placement unit `start` on GPU `gpu`, with
 * one compute instance spanning it (nvidia-smi mig -cgi ID:start -C). MIG mode must be on. On
 * success *ret (may be NULL) holds the new instance with its MIG device UUID. A failure leaves
 * no half-made instance behind. */
int al_driver_create(struct al_driver *d, unsigned gpu, unsigned profile_id, unsigned start,
                     struct al_drv_instance *ret, struct al_err *reterr);
/* Destroy GPU instance `gi_id` of GPU `gpu`: its compute instances first, then it. Refused
 * (AL_E_STATE) while a process runs on it. */
int al_driver_destroy(struct al_driver *d, unsigned gpu, unsigned gi_id, struct al_err *reterr);
/* Switch MIG mode of GPU `gpu`. Refused (AL_E_STATE) unless the GPU is idle: no process and,
 * to turn it off, no GPU instance. */
int al_driver_set_mig_mode(struct al_driver *d, unsigned gpu, bool on, struct al_err *reterr);
/* Reset GPU `gpu` (AL_DRV_ALL_GPUS: reboot the host): instances and processes are lost, the
 * pending MIG mode becomes current. The nvml driver refuses (AL_E_UNSUPPORTED): the agent never
 * resets a real GPU. */
int al_driver_reset(struct al_driver *d, unsigned gpu, struct al_err *reterr);

/* The observed state of every GPU as JSON, for the agent's report once the server takes it
 * (today's heartbeat, server/node_report.c, accepts only index/uuid/model/pool/healthy):
 * {"driver", "gpus":[{index, uuid, name, model, memory_mib, healthy, mig:{capable, current,
 * pending}, profiles:[{id, name, slices, memory_mib, placements:[{start, size}]}],
 * instances:[{gi, ci, profile_id, profile, start, size, uuid}], processes:[{pid,
 * used_memory_mib, gi, ci}], processes_total}]}. *ret is a new reference (the caller's). */
int al_driver_observed_json(struct al_driver *d, json_t **ret, struct al_err *reterr);

/* The catalog profile of `m` whose NVML id is `profile_id`: its index in m->profiles, or -1. */
int al_driver_catalog_profile(const struct al_gpu_model *m, unsigned profile_id);

#endif
