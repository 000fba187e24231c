/* node_report.h — what a node agent says about its node: the body of PUT /v1/nodes/{name}
 * (the heartbeat; untrusted) checked and rewritten as the store takes it, the state of each
 * GPU as the API shows it, and the changes between two stored versions of a node, which the
 * server turns into events. Over jansson only: no HTTP connection and no store, so that the
 * fuzz target (tests/fuzz/fuzz_node_report.c) drives it directly. Internal to src/server. */
#ifndef AL_SERVER_NODE_REPORT_H
#define AL_SERVER_NODE_REPORT_H

#include "core/err.h"
#include "core/event.h"

#include <jansson.h>

#define AL_NODE_MAX_GPUS   64  /* GPUs in one report; indexes 0..63 */
#define AL_NODE_MAX_LABELS 64  /* labels of a node */
#define AL_NODE_LABEL_MAX  256 /* bytes of a label's value */

/* Why a report was refused: the field as the API names it ("zone", "gpus[2].uuid",
 * "gpus.model" …) and a message. */
struct al_node_report_err {
    char field[72];
    char msg[AL_ERR_MSG_MAX];
};

/* Check the report `body` (any JSON value, NULL for none) of the node named `name` (from the
 * URL: checked too) and build *ret = {name, zone (absent when not given), labels {}, gpus:
 * [{index, uuid, model (the catalog's name), pool, healthy}]}, a new reference. Returns 0, or
 * AL_E_INVAL with `err` filled and *ret untouched. Refused: a name or zone that is not 1..63 of
 * [A-Za-z0-9._-]; unknown fields; labels not an object of at most AL_NODE_MAX_LABELS name:
 * string pairs (values <= AL_NODE_LABEL_MAX bytes, no NUL); gpus not an array of at most
 * AL_NODE_MAX_GPUS objects; an index outside 0..63 or repeated; a uuid empty, longer than 47
 * bytes or with a space, control or non-ASCII byte; a model the catalog does not know; a pool
 * other than general or dedicated; healthy not a boolean. */
int al_node_report_parse(const char *name, json_t *body, json_t **ret,
                         struct al_node_report_err *err);

/* The state of GPU `gpu` of `node` (both as the store returns them), the first that applies:
 * "offline" (its node), "missing" (no longer reported), "model_mismatch" (reported as another
 * model than the one it is sold as), "unhealthy", "drained", else "available" (planned). */
const char *al_node_gpu_status(json_t *node, json_t *gpu);

/* One change found by al_node_report_changes: its `kind`, `object` (a GPU id or the node's
 * name, as al_event_kind_about tells; borrowed for the call) and `data` (the callee's:
 * stolen). A non-zero return stops the walk. */
typedef int (*al_node_change_fn)(void *arg, enum al_event_kind kind, const char *object,
                                 json_t *data);

/* Walk the changes from `old` (NULL: the node is new) to `now`, two stored versions of one
 * node, calling fn for each: "node.online" {last_seen} when it was offline; per GPU (matched
 * by id), "gpu.removed" {node, uuid, index} when it is no longer reported (or gone),
 * "gpu.returned" when it is reported again, "gpu.model_changed" {…, from, to, applied} when
 * the reported model or the model it is sold as changed (applied: it is now sold as the
 * reported one), "gpu.unhealthy" / "gpu.healthy" when its health flipped. Returns 0, fn's
 * first non-zero result, or AL_E_NOMEM. */
int al_node_report_changes(json_t *old, json_t *now, al_node_change_fn fn, void *arg);

/* Put the live holders of a GPU or node (ids as al_store_gpu_holders returns them, borrowed)
 * into `data` as "reservations": ["rsv_…"] and "quotes": ["qte_…"]. 0 or AL_E_NOMEM. */
int al_node_holders_into(json_t *data, json_t *owners);

#endif
