/* agent.h — the node agent: the heartbeat loop that reports GPUs to the server, one
 * PUT /v1/nodes/{name} per node per heartbeat, until SIGINT or SIGTERM. What it reports comes
 * from one of two sources:
 *   - a simulated fleet file (cfg->fleet; agent/simfleet.h): many nodes, heartbeat only, as
 *     `make run` uses it;
 *   - a GPU driver (cfg->driver "sim" with cfg->state, or "nvml"; agent/driver.h): this one
 *     node, cfg->node, observed at each heartbeat.
 * MIG changes and containers come with the full agent. The CLI (`allot agent`) parses the
 * flags, opens the client and calls al_agent_run (or al_agent_observe).
 */
#ifndef AL_AGENT_AGENT_H
#define AL_AGENT_AGENT_H

#include "client/client.h"
#include "core/err.h"

#include <stdbool.h>
#include <stdio.h>

#define AL_AGENT_INTERVAL_MIN 1 /* seconds between heartbeats */
#define AL_AGENT_INTERVAL_MAX 3600

#define AL_AGENT_NODE_MAX 63 /* bytes of a node name: [A-Za-z0-9._-]{1,63} */

struct al_agent_cfg {
    const char *fleet;  /* a simulated fleet file (agent/simfleet.h), or NULL: a driver */
    const char *driver; /* without fleet: "sim" or "nvml" */
    const char *state;  /* the sim driver's state file (agent/drv_sim.c) */
    const char *node;   /* with a driver: the name this node reports under */
    long interval;      /* seconds between heartbeats, AL_AGENT_INTERVAL_MIN..MAX */
    bool once;          /* one heartbeat, then return its outcome */
};

struct al_agent;

/* Read and validate the fleet of `cfg` (untrusted input), or open its driver (a sim state
 * file is validated; nvml fails with "libnvidia-ml.so.1 not found" on a host without it),
 * before anything is sent. On success *ret is the caller's (al_agent_free); on failure reterr
 * names the node and field, or the driver's trouble. `cfg` is copied; its strings must
 * outlive the agent. */
int al_agent_new(const struct al_agent_cfg *cfg, struct al_agent **ret, struct al_err *reterr);
void al_agent_free(struct al_agent *a);

/* Heartbeat through `c` (borrowed) every cfg->interval seconds until SIGINT or SIGTERM, which
 * it catches for the duration. Each heartbeat after the first reads the fleet file again, so
 * that a GPU marked "healthy": false (or removed, or of another model) in it is reported as
 * such; a file that no longer parses is printed on stderr and the fleet as last read is
 * reported. With a driver, each heartbeat observes the node anew and reports its GPUs of a
 * model the catalog knows ({index, uuid, model, pool "dedicated", healthy}: what the server's
 * report takes today); a GPU the catalog does not know is left out, with a line on stderr.
 * Each heartbeat prints a line on stderr when nodes were not reported; with cfg->once, also the
 * summary on stdout. Returns 0 when stopped by a signal or when the one heartbeat of cfg->once
 * reported every node; otherwise the code of the first failed node in reterr (AL_E_IO or
 * AL_E_INTERNAL: the server could not be reached or failed; any other: the server refused), or
 * -errno when the signal handlers cannot be installed. A failed heartbeat without cfg->once is
 * printed and retried at the next interval. */
int al_agent_run(struct al_agent *a, struct al_client *c, struct al_err *reterr);

/* Print what the driver observes of this node (al_driver_observed_json: GPUs, MIG mode,
 * profiles, instances with their UUIDs, processes) on `out` as JSON, one document. For a fleet
 * file (no driver), AL_E_UNSUPPORTED. */
int al_agent_observe(struct al_agent *a, FILE *out, struct al_err *reterr);

#endif
