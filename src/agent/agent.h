/* agent.h — the node agent, until SIGINT or SIGTERM. Two ways to run it:
 *   - a simulated fleet file (cfg->fleet; agent/simfleet.h): many nodes, heartbeat only
 *     (PUT /v1/nodes/{name} per node per interval), as `make run` uses it;
 *   - a GPU driver (cfg->driver "sim" with cfg->state, or "nvml"; agent/driver.h): this one
 *     node, cfg->node, as a pull-based reconcile loop, like a kubelet. Each round: the results
 *     of MIG changes not delivered yet sent first (agent/journal.h), the node's observed state
 *     reported (PUT /v1/nodes/{name}), its desired state read (GET /v1/nodes/{name}/desired),
 *     each GPU reconciled (agent/reconcile.h: a change started, applied or rolled back, its
 *     result posted; or the desired layout's missing instances recreated), and with a
 *     container runtime (cfg->runtime) the node's containers reconciled and reported
 *     (agent/agentctr.h). docs/agent.md has the protocol.
 * The CLI (`allot agent`) parses the flags, opens the client and calls al_agent_run (or
 * al_agent_observe).
 */
#ifndef AL_AGENT_AGENT_H
#define AL_AGENT_AGENT_H

#include "client/client.h"
#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>

#define AL_AGENT_INTERVAL_MIN 1 /* seconds between heartbeats */
#define AL_AGENT_INTERVAL_MAX 3600

#define AL_AGENT_BACKOFF_CAP 60 /* seconds: the longest wait while the server is away */

#define AL_AGENT_NODE_MAX 63 /* bytes of a node name: [A-Za-z0-9._-]{1,63} */

struct al_agent_cfg {
    const char *fleet;   /* a simulated fleet file (agent/simfleet.h), or NULL: a driver */
    const char *driver;  /* without fleet: "sim" or "nvml" */
    const char *state;   /* the sim driver's state file (agent/drv_sim.c) */
    const char *node;    /* with a driver: the name this node reports under */
    const char *journal; /* with a driver: the file of undelivered results, or NULL: memory */
    const char *runtime; /* with a driver: a container runtime (agent/runtime.h: "docker-api:SOCK"
                            or "process[:DIR]"), or NULL: no containers */
    bool gpu_requests;   /* docker-api: ask the NVIDIA toolkit for the device too */
    bool general_pool;   /* with a driver: the node's GPUs are in the general (pay-as-you-go)
                          * pool, not the dedicated one */
    long interval;       /* seconds between heartbeats, AL_AGENT_INTERVAL_MIN..MAX */
    bool once;           /* one heartbeat, then return its outcome */
};

struct al_agent;

/* Read and validate the fleet of `cfg` (untrusted input), or open its driver (a sim state
 * file is validated; nvml fails with "libnvidia-ml.so.1 not found" on a host without it) and
 * its journal (a journal file that does not parse is refused), before anything is sent. On
 * success *ret is the caller's (al_agent_free); on failure reterr names the node and field, or
 * the driver's trouble. `cfg` is copied; its strings must outlive the agent. */
int al_agent_new(const struct al_agent_cfg *cfg, struct al_agent **ret, struct al_err *reterr);
void al_agent_free(struct al_agent *a);

/* Run through `c` (borrowed) every cfg->interval seconds until SIGINT or SIGTERM, which it
 * catches for the duration.
 *
 * A fleet: each heartbeat after the first reads the fleet file again, so that a GPU marked
 * "healthy": false (or removed, or of another model) in it is reported as such; a file that no
 * longer parses is printed on stderr and the fleet as last read is reported. A line on stderr
 * when nodes were not reported; a failed heartbeat is retried at the next interval.
 *
 * A driver: each round as above. The report carries each GPU of a model the catalog knows as
 * al_driver_observed_json renders it, with "pool": "dedicated"; a GPU the catalog does not know
 * is left out, with a line on stderr. A round that finds the server away (no answer, a 5xx, a
 * 401/403) ends there, prints one line, and the next one comes after a backoff with full
 * jitter: uniform in [1, min(cap, interval * 2^(n-1))] seconds after the n-th such round in a
 * row, cap = max(AL_AGENT_BACKOFF_CAP, interval); the results not delivered stay held.
 * Another failure prints one line and waits the interval.
 *
 * With cfg->once, one heartbeat or round, then its outcome (and the summary on stdout). Returns
 * 0 when stopped by a signal or when the one round of cfg->once succeeded; otherwise the code
 * of the first failure in reterr (AL_E_IO or AL_E_INTERNAL: the server could not be reached or
 * failed; any other: the server refused), or -errno when the signal handlers cannot be
 * installed. */
int al_agent_run(struct al_agent *a, struct al_client *c, struct al_err *reterr);

/* Print what the driver observes of this node (al_driver_observed_json: GPUs, MIG mode,
 * profiles, instances with their UUIDs, processes) on `out` as JSON, one document. For a fleet
 * file (no driver), AL_E_UNSUPPORTED. */
int al_agent_observe(struct al_agent *a, FILE *out, struct al_err *reterr);

#endif
