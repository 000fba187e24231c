/* node_report.h — what a node agent says about its node: the body of PUT /v1/nodes/{name}
 * (the heartbeat; untrusted) checked and rewritten as the store takes it, each GPU's MIG state
 * with it (node_report.c; the MIG members in node_mig.c), the state of each GPU as the API
 * shows it, and the changes between two stored versions of a node, which the server turns into
 * events. Over jansson only: no HTTP connection and no store, so that the fuzz target
 * (tests/fuzz/fuzz_node_report.c) drives it directly. Internal to src/server. */
#ifndef AL_SERVER_NODE_REPORT_H
#define AL_SERVER_NODE_REPORT_H

#include "core/catalog.h"
#include "core/err.h"
#include "core/event.h"

#include <jansson.h>

#define AL_NODE_MAX_GPUS   64  /* GPUs in one report; indexes 0..63 */
#define AL_NODE_MAX_LABELS 64  /* labels of a node */
#define AL_NODE_LABEL_MAX  256 /* bytes of a label's value */

/* The MIG members of one GPU (agent/driver.h's AL_DRV_* bounds, which the agent reports). */
#define AL_NODE_MAX_PROFILES   24 /* GI profiles NVML lists */
#define AL_NODE_MAX_PLACEMENTS 12 /* placements of one profile */
#define AL_NODE_MAX_INSTANCES  16 /* GPU instances */
#define AL_NODE_MAX_PROCS      64 /* processes listed (processes_total counts them all) */
#define AL_NODE_TEXT_MAX       95 /* bytes of a product or profile name, of a MIG device uuid */

/* Why a report was refused: the field as the API names it ("zone", "gpus[2].uuid",
 * "gpus.model" …) and a message. */
struct al_node_report_err {
    char field[72];
    char msg[AL_ERR_MSG_MAX];
};

/* Check the report `body` (any JSON value, NULL for none) of the node named `name` (from the
 * URL: checked too) and build *ret = {name, zone (absent when not given), labels {}, gpus:
 * [{index, uuid, model (the catalog's name), pool, healthy, observed (absent without
 * "mig")}]}, a new reference. Returns 0, or AL_E_INVAL with `err` filled and *ret untouched.
 * Refused: a name or zone that is not 1..63 of [A-Za-z0-9._-]; unknown fields; labels not an
 * object of at most AL_NODE_MAX_LABELS name: string pairs (values <= AL_NODE_LABEL_MAX bytes,
 * no NUL); gpus not an array of at most AL_NODE_MAX_GPUS objects; an index outside 0..63 or
 * repeated; a uuid empty, longer than 47 bytes or with a space, control or non-ASCII byte; a
 * model the catalog does not know; a pool other than general or dedicated; healthy not a
 * boolean; any MIG member that al_node_mig_observed refuses. */
int al_node_report_parse(const char *name, json_t *body, json_t **ret,
                         struct al_node_report_err *err);

/* The MIG members of GPU entry `g` (named `f`, "gpus[i]"), reported as a GPU of model `m`, as
 * agent/driver.h's al_driver_observed_json writes them, all optional: name, memory_mib,
 * mig {capable, current, pending}, profiles [{id, name, slices, instances_max, memory_mib,
 * placements [{start, size}]}], instances [{gi, ci, profile_id, profile, start, size, uuid}],
 * processes [{pid, used_memory_mib, gi, ci}], processes_total. Each is checked as untrusted
 * (bounded counts, integers in range, printable bounded strings; refused otherwise) and
 * against the catalog: an instance whose profile_id is the NVML id of a profile of `m` (its
 * `profile`, when given, naming that profile, "MIG 3g.40gb" or "3g.40gb") at a placement the
 * catalog allows is the catalog's; any other instance is accepted as *unmatched* (a GPU newer
 * than the catalog's facts must not stop its node from reporting) and named in
 * catalog_differences (as is a set of the catalog's instances that breaks the model's other
 * layout rules). No two instances may overlap (where their sizes are known: given, or
 * the catalog profile's) or share a gi or a uuid. A process names the gi of a listed instance
 * (its ci is kept as reported, whichever compute instance of it) while MIG mode is on, null
 * for both while it is off. Returns 0 with *ret = the GPU's observed state, a new reference:
 * {name, memory_mib (each when given), mig, instances: [{profile (the catalog's name),
 * profile_id, start, size, gi, ci, uuid}], unmatched_instances: [{profile (as reported, or
 * null), profile_id, start, size (null when unknown), gi, ci, uuid}], processes,
 * processes_total, catalog_differences: [sentence]} — or *ret = NULL when `g` has no "mig";
 * or AL_E_INVAL with `err` naming the field ("gpus[0].instances[1].start"). */
int al_node_mig_observed(json_t *g, const char *f, const struct al_gpu_model *m, json_t **ret,
                         struct al_node_report_err *err);

/* What the NVML profiles `profiles` (checked by al_node_mig_observed) say that model `m`'s
 * catalog entry does not: one sentence per difference appended to the array `out` ("profile
 * 19 (1g.10gb): NVML lists placements 0-6 and the catalog 0,2,4,6"): compute slices,
 * placements, memory beyond a tolerance, and, when NVML lists any profile, a profile only one
 * side lists; and whether the GPU is MIG capable (`capable`) against the catalog. 0 or
 * AL_E_NOMEM. */
int al_node_mig_differences(const struct al_gpu_model *m, bool capable, json_t *profiles,
                            json_t *out);

/* Fill `err` with `field` and the message, and return AL_E_INVAL (for node_mig.c too). */
int al_node_refuse(struct al_node_report_err *err, const char *field, const char *fmt, ...)
    AL_PRINTF(3, 4);

/* The first key of object `o` not in the NULL-terminated `allowed`, or NULL. */
const char *al_node_unknown_key(json_t *o, const char *const *allowed);

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
 * reported one), "gpu.unhealthy" / "gpu.healthy" when its health flipped, and
 * "gpu.catalog_mismatch" {node, uuid, differences} when its observed catalog_differences are
 * not empty and not those of `old` (a new node's or GPU's too). Returns 0, fn's first
 * non-zero result, or AL_E_NOMEM. */
int al_node_report_changes(json_t *old, json_t *now, al_node_change_fn fn, void *arg);

/* Put the live holders of a GPU or node (ids as al_store_gpu_holders returns them, borrowed)
 * into `data` as "reservations": ["rsv_…"] and "quotes": ["qte_…"]. 0 or AL_E_NOMEM. */
int al_node_holders_into(json_t *data, json_t *owners);

#endif
