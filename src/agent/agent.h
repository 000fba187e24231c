/* agent.h — the node agent: the heartbeat loop that reports this node's GPUs to the server,
 * one PUT /v1/nodes/{name} per node per heartbeat, until SIGINT or SIGTERM. Only the `sim`
 * driver exists (agent/simfleet: a fleet read from a file); MIG changes, containers and the
 * nvml driver come with the full agent. The CLI (`allot agent`) parses the flags, opens the
 * client and calls al_agent_run.
 */
#ifndef AL_AGENT_AGENT_H
#define AL_AGENT_AGENT_H

#include "client/client.h"
#include "core/err.h"

#include <stdbool.h>

#define AL_AGENT_INTERVAL_MIN 1 /* seconds between heartbeats */
#define AL_AGENT_INTERVAL_MAX 3600

struct al_agent_cfg {
    const char *fleet; /* the sim driver's fleet file (agent/simfleet.h) */
    long interval;     /* seconds between heartbeats, AL_AGENT_INTERVAL_MIN..MAX */
    bool once;         /* one heartbeat, then return its outcome */
};

struct al_agent;

/* Read and validate the fleet of `cfg` (untrusted input) before anything is sent. On success
 * *ret is the caller's (al_agent_free); on failure reterr names the node and field. `cfg` is
 * copied; its strings must outlive the agent. */
int al_agent_new(const struct al_agent_cfg *cfg, struct al_agent **ret, struct al_err *reterr);
void al_agent_free(struct al_agent *a);

/* Heartbeat through `c` (borrowed) every cfg->interval seconds until SIGINT or SIGTERM, which
 * it catches for the duration. Each heartbeat after the first reads the fleet file again, so
 * that a GPU marked "healthy": false (or removed, or of another model) in it is reported as
 * such; a file that no longer parses is printed on stderr and the fleet as last read is
 * reported. Each heartbeat prints a line on stderr when nodes were not
 * reported; with cfg->once, also the summary on stdout. Returns 0 when stopped by a signal or
 * when the one heartbeat of cfg->once reported every node; otherwise the code of the first
 * failed node in reterr (AL_E_IO or AL_E_INTERNAL: the server could not be reached or failed;
 * any other: the server refused), or -errno when the signal handlers cannot be installed. A
 * failed heartbeat without cfg->once is printed and retried at the next interval. */
int al_agent_run(struct al_agent *a, struct al_client *c, struct al_err *reterr);

#endif
