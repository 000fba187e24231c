/* agentctr.h — the agent's containers (docs/agent.md, "Containers"): each round, the
 * `containers` of the node's desired document reconciled with its container runtime
 * (agent/runtime.h), and the report the agent posts (POST /v1/nodes/{name}/containers):
 *   - desired "run", unknown to the runtime: created and started, with its env,
 *     NVIDIA_VISIBLE_DEVICES (process: and CUDA_VISIBLE_DEVICES) = its device, its labels, no
 *     network; reported running, or failed with the runtime's words. One this agent started
 *     that the runtime has lost since: reported "missing", not started again.
 *   - desired "run", known: reported as it is (running, or exited with its exit code).
 *   - desired "stop": stopped (SIGTERM, SIGKILL after 10 s), reported stopped.
 *   - a runtime container labelled allot.container that the document no longer lists: stopped
 *     and removed (allot no longer wants it).
 *   - each reported container carries the last <= 64 KiB of its logs as UTF-8 text (less each
 *     when many, so that the report stays under the server's 1 MiB body limit).
 * The runtime unreachable: the report says {"ok": false, "error": …naming the socket} and no
 * containers; nothing is touched; the next round tries again. A document without `containers`
 * (a server that does not know them): the runtime's state alone is reported, nothing touched.
 */
#ifndef AL_AGENT_AGENTCTR_H
#define AL_AGENT_AGENTCTR_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>

#define AL_AGENTCTR_MAX         256      /* containers in a desired document and in a report */
#define AL_AGENTCTR_BODY_MAX    (900000) /* bytes of a report, under the server's 1 MiB */
#define AL_AGENTCTR_LOGS_BUDGET (720000) /* bytes of logs in a report, shared by its containers */

struct al_agentctr;

/* Open the runtime `spec` names (al_runtime_open; gpu_requests for docker-api). *ret is the
 * caller's (al_agentctr_free). */
int al_agentctr_new(const char *spec, bool gpu_requests, struct al_agentctr **ret,
                    struct al_err *reterr);
void al_agentctr_free(struct al_agentctr *ac);

/* This agent is node `node`'s: its containers are labelled allot.node = node and only those
 * are its own (al_runtime_scope: a runtime several nodes' agents share). 0 or AL_E_INVAL. */
int al_agentctr_scope(struct al_agentctr *ac, const char *node, struct al_err *reterr);

/* The runtime's kind, "docker-api" or "process". */
const char *al_agentctr_kind(const struct al_agentctr *ac);

/* One round over `desired` (the node's desired document, untrusted; borrowed): reconcile as
 * above and make the report, *ret (the caller's). The runtime's trouble goes into the report
 * and a line on stderr when it changes (down, back); each container's trouble into its entry
 * or a line on stderr. Fails only for lack of memory. */
int al_agentctr_round(struct al_agentctr *ac, const json_t *desired, json_t **ret,
                      struct al_err *reterr);

/* Whether the last round found the runtime reachable, and how many containers it reported. */
bool al_agentctr_ok(const struct al_agentctr *ac);
size_t al_agentctr_reported(const struct al_agentctr *ac);

#endif
