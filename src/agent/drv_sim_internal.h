/* drv_sim_internal.h — the simulated node of the `sim` driver as it lives in memory between
 * reading its state file and writing it back (agent/drv_sim_file.c), and the rules that act on
 * it (agent/drv_sim.c). Internal to src/agent. The file format is in docs/agent.md. */
#ifndef AL_AGENT_DRV_SIM_INTERNAL_H
#define AL_AGENT_DRV_SIM_INTERNAL_H

#include "agent/driver.h"

#define AL_SIM_MAX_BYTES (1u << 20) /* state file size */
#define AL_SIM_MAX_GI_ID 255        /* GPU instance ids 0..255 */
#define AL_SIM_MAX_CI_ID 7          /* compute instance ids 0..7 */
#define AL_SIM_MAX_PID   4194304    /* Linux's pid_max limit */

/* The operations a planted failure ("fail_next") may hit, in the file's words. */
enum al_sim_op { AL_SIM_CREATE, AL_SIM_DESTROY, AL_SIM_MIG_MODE, AL_SIM_RESET, AL_SIM_NOPS };

struct al_sim_inst {
    unsigned gi, ci; /* ci AL_DRV_NONE: no compute instance */
    unsigned prof;   /* index into the model's catalog profiles */
    unsigned start;
    char uuid[AL_DRV_UUID_MAX];
};

struct al_sim_proc {
    unsigned pid;
    uint64_t used_mib;
    unsigned gi, ci; /* AL_DRV_NONE when MIG is off */
};

struct al_sim_gpu {
    unsigned index;
    char uuid[AL_DRV_UUID_MAX];
    const struct al_gpu_model *model;
    bool healthy, mig, mig_pending;
    unsigned ninst, nproc;
    struct al_sim_inst inst[AL_DRV_MAX_INSTANCES];
    struct al_sim_proc proc[AL_DRV_MAX_PROCS];
    int fail[AL_SIM_NOPS]; /* 0, or the NVML-like failure the next such operation meets */
};

struct al_sim_state {
    unsigned serial; /* bumped at each creation: a recreated instance gets a new MIG UUID */
    unsigned ngpus;
    struct al_sim_gpu gpu[AL_DRV_MAX_GPUS];
};

/* Read and validate the state file `path` into *st (caller's memory). AL_E_INVAL names the
 * field ("gpus[0].instances[1].start: …"); AL_E_RANGE for a file over AL_SIM_MAX_BYTES. */
int al_sim_load(const char *path, struct al_sim_state *st, struct al_err *reterr);
/* Write *st to `path` atomically (a temporary file renamed over it). */
int al_sim_save(const char *path, const struct al_sim_state *st, struct al_err *reterr);
/* Validate the state file's text (what al_sim_load does after reading). */
int al_sim_parse(const char *text, size_t len, struct al_sim_state *st, struct al_err *reterr);

/* The MIG device UUID "MIG-xxxxxxxx-…" of instance `gi` of GPU uuid `gpu`, generation `serial`. */
void al_sim_mig_uuid(const char *gpu, unsigned gi, unsigned serial, char *out, size_t cap);

/* The failure names of "fail_next" and the code and message each maps to. */
int al_sim_fail_code(const char *name);
const char *al_sim_fail_name(int code);
const char *al_sim_op_name(enum al_sim_op op);

#endif
