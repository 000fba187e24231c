/* plan.h — where a request fits, read from the store: the fleet's GPUs and the live holds of
 * a time range are loaded once (under the server's lock, inside the transaction that will
 * write the result), then whole-GPU and MIG asks are placed against them. Conservative on
 * purpose: MIG holds that overlap the window anywhere in time are treated as coexisting, so a
 * plan can waste a little capacity but never overbook. Internal to src/server. */
#ifndef AL_SERVER_PLAN_H
#define AL_SERVER_PLAN_H

#include "core/catalog.h"
#include "core/err.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

#define AL_PLAN_MAX_COUNT 1024

struct al_plan_ask {
    const struct al_gpu_model *model;
    int profile; /* MIG profile index, -1 for whole GPUs */
    unsigned count;
    bool same_node;
    const char *zone; /* NULL: any */
};

struct al_plan_alloc {
    char gpu[96];
    char node[72];
    char uuid[100];
    int start_unit; /* -1 for whole GPUs */
    uint64_t mask;
};

struct al_planset;

/* Load GPUs and the holds live at `now` overlapping [t0, t1). Caller owns *ret:
 * al_planset_free(). */
int al_planset_load(struct al_store *s, int64_t t0, int64_t t1, int64_t now,
                    struct al_planset **ret, struct al_err *reterr);
void al_planset_free(struct al_planset *ps);

/* Place `a` during [s, e) (inside the loaded range) into out[0..a->count). Returns 0, or
 * AL_E_NOFIT with the reason in reterr. */
int al_plan_fit(const struct al_planset *ps, const struct al_plan_ask *a, int64_t s, int64_t e,
                struct al_plan_alloc *out, struct al_err *reterr);

/* Up to `max` starts in [earliest, latest] at which `a` fits for `duration`, ascending.
 * Returns how many were found (0 when none). */
int al_plan_earliest(const struct al_planset *ps, const struct al_plan_ask *a, int64_t duration,
                     int64_t earliest, int64_t latest, int64_t *starts, int max);

/* Free capacity of `m` during [s, e): GPUs of the model (healthy, not drained), those wholly
 * free, and per profile how many instances of it alone could still be placed. */
void al_plan_avail(const struct al_planset *ps, const struct al_gpu_model *m, int64_t s, int64_t e,
                   unsigned *total, unsigned *whole_free, unsigned *inst_free);

/* Whether the fleet has any usable GPU of model `m`. */
bool al_plan_has_model(const struct al_planset *ps, const struct al_gpu_model *m);

/* Placement-unit mask of `profile` of `m` starting at unit `start`. */
uint64_t al_plan_mask(const struct al_gpu_model *m, int profile, int start);

#endif
