/* containers.h — containers on a reservation's GPU or MIG instance, or on a general-pool GPU
 * (docs/containers.md, docs/api.md "Containers"): the checks of POST /v1/containers, the
 * target resolved to a node, a GPU and the device the runtime is given, who may see and stop a
 * container, its stop, and the node agent's side (the containers it should run, and its report
 * of what runs). Each function works inside the caller's unit of work (server/txn.h) and fails
 * the call (struct al_ctx) naming the field, returning its code. Internal to src/server. */
#ifndef AL_SERVER_CONTAINERS_H
#define AL_SERVER_CONTAINERS_H

#include "server/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Bounds of a container's fields (docs/api.md, "Containers"). */
#define AL_CTR_IMAGE_MAX      255   /* image reference: [A-Za-z0-9._/:@-] */
#define AL_CTR_ARGS_MAX       64    /* command: 1..64 strings */
#define AL_CTR_ARG_MAX        4096  /* bytes of one of them */
#define AL_CTR_COMMAND_MAX    32768 /* bytes of all of them */
#define AL_CTR_ENV_MAX        64    /* env entries */
#define AL_CTR_ENV_KEY_MAX    128   /* [A-Za-z_][A-Za-z0-9_]* */
#define AL_CTR_ENV_VAL_MAX    4096  /* bytes of a value */
#define AL_CTR_REPORT_MAX     256   /* containers in one agent report */
#define AL_CTR_ERROR_MAX      500   /* bytes of a runtime's error */
#define AL_CTR_RUNTIME_ID_MAX 128   /* bytes of the runtime's id of a container */

/* ---- pure checks (no call; tests/unit/test_containers.c) ---- */

/* Is `s` (`n` bytes) an image reference: 1..AL_CTR_IMAGE_MAX of [A-Za-z0-9._/:@-]? */
bool al_containers_image_ok(const char *s, size_t n);
/* Is `s` an env key: [A-Za-z_][A-Za-z0-9_]{0,127}? */
bool al_containers_env_key_ok(const char *s);
/* Is env key `s` allot's own (NVIDIA_VISIBLE_DEVICES, CUDA_VISIBLE_DEVICES, ALLOT_*), which
 * the runtime sets and a caller may not? */
bool al_containers_env_reserved(const char *s);
/* Is `s` a state a container may be in (pending … failed); is it live (pending, running,
 * stopping)? */
bool al_containers_state_ok(const char *s);
bool al_containers_live(const char *state);

/* ---- the API's side (server/routes_containers.c) ---- */

/* POST /v1/containers: check c->body ({image, command, env?, target}), resolve the target
 * (a reservation's unit inside its window, or a pool GPU with its session and hold), check the
 * node's runtime, insert the container (pending) and append container.created. *ret the new
 * document (the caller's). 0, or the call's code. */
int al_containers_create(struct al_ctx *c, json_t **ret);

/* Container `id` as the caller may see it (*ret the caller's): another org's, or one a member
 * may not see, is 404 as one that does not exist. */
int al_containers_load(struct al_ctx *c, const char *id, json_t **ret);

/* May the caller see container `ctr` (operators: all; others: their org's, and a member only
 * the ones they started and those on units of its reservations that are unassigned or assigned
 * to them)? `assign` (may be NULL): a cache, an object of reservation id → its assignments,
 * filled as reservations are read. 1 yes, 0 no, or the call's code (< 0). */
int al_containers_visible(struct al_ctx *c, json_t *ctr, json_t *assign);

/* May the caller stop `ctr`, which it sees: its creator, an org admin of its org, an operator?
 * 0, or 403. */
int al_containers_may_stop(struct al_ctx *c, json_t *ctr);

/* Ask container `ctr` (a document as stored; updated in place and written) to stop for
 * `reason`: desired "stop", stop_reason, state stopping (a pending one: stopped at once,
 * stopped_at now), its pool session (if any) metered and stopped at c->now (al_pool_stop) and
 * its pool hold released (al_poolgpu_release), container.stopping appended with {reason} and
 * the members of `data` (may be NULL; borrowed). A container already asked to stop or ended:
 * 0, nothing done. 0, or the call's code. */
int al_containers_stop(struct al_ctx *c, json_t *ctr, const char *reason, json_t *data);

/* Container `ctr` ended (exited, stopped or failed, as its agent reported; the caller writes
 * it): its pool session (if any) metered and stopped at c->now, its pool hold released. 0, or
 * the call's code. */
int al_containers_end(struct al_ctx *c, json_t *ctr);

/* Call fn(c, ctr) for every live container (pending, running, stopping) in id order: the
 * clock's passes over them (server/poolgpu.h, server/rsvlife.h). fn answers how many changes
 * it made (>= 0) or the call's code, which stops the walk. Returns the changes, or the code. */
int al_containers_each_live(struct al_ctx *c, int (*fn)(struct al_ctx *c, json_t *ctr));

/* Write container `ctr` (its document, changed by the caller) back, with the columns taken
 * from it and updated_at = c->now. 0, or the call's code. */
int al_containers_put(struct al_ctx *c, json_t *ctr);

/* ---- the node agent's side (server/routes_agent.c) ---- */

/* The containers node `node`'s agent should have, for GET /v1/nodes/{name}/desired: every
 * live container of the node as [{id, image, command, env, device, desired, labels}]. *ret the
 * caller's. 0, or the call's code. */
int al_containers_desired(struct al_ctx *c, const char *node, json_t **ret);

/* POST /v1/nodes/{name}/containers: the agent's report in c->body ({runtime, containers?}):
 * the runtime's row (node.runtime_down / node.runtime_up when it changes), and each reported
 * container of this node moved on (running, exited, stopped, failed; "missing": failed, or
 * stopped when it was asked to stop), its logs stored. *ret the answer ({node, runtime,
 * updated}; the caller's). 0, or the call's code. */
int al_containers_report(struct al_ctx *c, const char *node, json_t **ret);

#endif
