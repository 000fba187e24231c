/* miglayout.h — a GPU's MIG layout as the server's documents write it, {"mig": bool,
 * "instances": [{"profile", "profile_id", "start"}]} (a change's `from` and `to`, a GPU's
 * `desired`), the layout a GPU's stored observation shows (server/node_report.h writes it), and
 * the turning of either into core's struct al_layout and back. Profiles are the catalog's names;
 * profile_id is NVML's GPU instance profile id (core/catalog.h, nvml_id). Internal to
 * src/server. */
#ifndef AL_SERVER_MIGLAYOUT_H
#define AL_SERVER_MIGLAYOUT_H

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

#include <jansson.h>
#include <stdbool.h>

/* The index of the profile of model m whose NVML GPU instance profile id is `id`, or -1. */
int al_miglayout_profile_by_id(const struct al_gpu_model *m, json_int_t id);

/* Whether layout l holds instance p (same profile and start). */
bool al_miglayout_has(const struct al_layout *l, struct al_placement p);

/* The placement of instance `inst` of model m: {profile (a catalog name), start} or, when the
 * name is absent or unknown, {profile_id, start}. 0 with *ret, or AL_E_INVAL naming what is
 * wrong. */
int al_miglayout_placement(json_t *inst, const struct al_gpu_model *m, struct al_placement *ret,
                           struct al_err *reterr);

/* The layout of document `doc` ({mig, instances}) for model m, sorted, into *ret and *ret_mig.
 * The instances must form a valid layout, and none may be given with MIG off. 0, or AL_E_INVAL
 * naming the instance or the rule broken. */
int al_miglayout_parse(json_t *doc, const struct al_gpu_model *m, struct al_layout *ret,
                       bool *ret_mig, struct al_err *reterr);

/* The layout GPU `gpu` (a row of al_store_gpu_all or of a node's gpus) shows in its stored
 * observation ({mig: {current}, instances}): *ret (sorted) and *ret_mig (MIG mode now).
 * Returns 0, 1 when the GPU reports no MIG state (not managed by allot: *ret untouched), or
 * AL_E_INVAL when its model is unknown or the observation is not a layout of it (named). */
int al_miglayout_observed(json_t *gpu, struct al_layout *ret, bool *ret_mig, struct al_err *reterr);

/* {"profile", "profile_id", "start"} of instance p of model m: a new reference, NULL when out
 * of memory. */
json_t *al_miglayout_instance(const struct al_gpu_model *m, struct al_placement p);

/* {"mig": mig, "instances": [...]} of layout l, in its order: a new reference, NULL when out of
 * memory. */
json_t *al_miglayout_json(const struct al_layout *l, bool mig);

#endif
