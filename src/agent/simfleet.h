/* simfleet.h — the simulated fleet the `sim` agent driver reports: a JSON file of nodes and
 * their GPUs, validated (it is untrusted input), expanded into one PUT /v1/nodes/{name} body
 * per node. GPUs given as {"model","count"} get deterministic fake UUIDs derived from the node
 * name and index, so re-running the agent re-reports the very same GPUs.
 *
 * File format:
 *   {"nodes":[{"name":"gpu-a1","zone":"eu-1","labels":{"rack":"r1"},
 *              "gpus":[{"model":"H100-80GB","count":8,"pool":"dedicated"},
 *                      {"model":"A30-24GB","uuid":"GPU-…","index":8,"healthy":true}]}]}
 */
#ifndef AL_AGENT_SIMFLEET_H
#define AL_AGENT_SIMFLEET_H

#include "client/client.h"
#include "core/err.h"

#include <jansson.h>
#include <stddef.h>

#define AL_SIMFLEET_MAX_BYTES (32u << 20) /* fleet file size */
#define AL_SIMFLEET_MAX_NODES 100000
#define AL_SIMFLEET_MAX_GPUS  64 /* per node */

struct al_simfleet;

/* Parse and validate a fleet from a file / a buffer. On success *ret is owned by the caller
 * (al_simfleet_free). On failure reterr names the node and field that is wrong. */
int al_simfleet_load(const char *path, struct al_simfleet **ret, struct al_err *reterr);
int al_simfleet_parse(const char *text, size_t len, struct al_simfleet **ret,
                      struct al_err *reterr);
void al_simfleet_free(struct al_simfleet *f);

size_t al_simfleet_count(const struct al_simfleet *f);
/* Node i's name (owned by the fleet). */
const char *al_simfleet_name(const struct al_simfleet *f, size_t i);
/* Node i's PUT /v1/nodes/{name} body: {zone?, labels, gpus:[{index, uuid, model, pool,
 * healthy}]} (borrowed from the fleet). */
json_t *al_simfleet_body(const struct al_simfleet *f, size_t i);
/* Total GPUs of the fleet. */
size_t al_simfleet_gpus(const struct al_simfleet *f);

/* The deterministic fake UUID "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of GPU `index` on
 * node `node`, into `out` (cap >= 41). */
void al_simfleet_uuid(const char *node, unsigned index, char *out, size_t cap);

/* One heartbeat: PUT every node. Returns the number of nodes the server accepted; failures
 * are counted, the first one described in reterr. */
int al_simfleet_report(const struct al_simfleet *f, struct al_client *c, size_t *ret_failed,
                       struct al_err *reterr);

#endif
