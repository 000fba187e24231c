/* rt_internal.h — the table of operations each container runtime fills in (agent/rt_docker.c,
 * agent/rt_process.c) and agent/runtime.c dispatches to. Internal to src/agent. */
#ifndef AL_AGENT_RT_INTERNAL_H
#define AL_AGENT_RT_INTERNAL_H

#include "agent/runtime.h"

/* Every operation gets the runtime's own state `impl`, which open made and close frees; the
 * arguments are as the al_runtime_* functions of runtime.h document them. */
struct al_rt_ops {
    const char *kind;
    int (*open)(const char *arg, bool gpu_requests, void **ret_impl, struct al_err *reterr);
    void (*close)(void *impl);
    int (*ping)(void *impl, struct al_err *reterr);
    int (*list)(void *impl, struct al_rt_ctr **ret, size_t *n, struct al_err *reterr);
    int (*create)(void *impl, const struct al_runtime_spec *s, char *id, struct al_err *reterr);
    int (*start)(void *impl, const char *id, struct al_err *reterr);
    int (*inspect)(void *impl, const char *id, struct al_rt_ctr *ret, struct al_err *reterr);
    int (*logs)(void *impl, const char *id, char **ret, size_t *len, struct al_err *reterr);
    int (*stop)(void *impl, const char *id, struct al_err *reterr);
    int (*remove)(void *impl, const char *id, struct al_err *reterr);
    /* may be NULL (a runtime no other agent shares: nothing to scope) */
    int (*scope)(void *impl, const char *node, struct al_err *reterr);
};

extern const struct al_rt_ops al_rt_docker_ops;  /* agent/rt_docker.c */
extern const struct al_rt_ops al_rt_process_ops; /* agent/rt_process.c */

#endif
