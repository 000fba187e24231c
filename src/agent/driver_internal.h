/* driver_internal.h — the table of operations each driver fills in (agent/drv_sim.c,
 * agent/drv_nvml.c) and agent/driver.c dispatches to. Internal to src/agent. */
#ifndef AL_AGENT_DRIVER_INTERNAL_H
#define AL_AGENT_DRIVER_INTERNAL_H

#include "agent/driver.h"

/* Every operation gets the driver's own state `impl`, which open made and close frees. The
 * arguments are as al_driver_* documents them; driver.c checks the GPU index of the mutations
 * against gpu_count before it calls them. */
struct al_driver_ops {
    const char *name;
    bool simulated;
    int (*open)(const struct al_driver_cfg *cfg, void **ret_impl, struct al_err *reterr);
    void (*close)(void *impl);
    int (*gpu_count)(void *impl, unsigned *ret, struct al_err *reterr);
    int (*observe)(void *impl, unsigned index, struct al_drv_gpu *ret, struct al_err *reterr);
    int (*create)(void *impl, unsigned gpu, unsigned profile_id, unsigned start,
                  struct al_drv_instance *ret, struct al_err *reterr);
    int (*destroy)(void *impl, unsigned gpu, unsigned gi_id, struct al_err *reterr);
    int (*set_mig_mode)(void *impl, unsigned gpu, bool on, struct al_err *reterr);
    int (*reset)(void *impl, unsigned gpu, struct al_err *reterr);
};

extern const struct al_driver_ops al_drv_sim_ops;  /* agent/drv_sim.c */
extern const struct al_driver_ops al_drv_nvml_ops; /* agent/drv_nvml.c */

#endif
