/* cal.h — the server's in-memory copy of the fleet and the calendar (core/fleet, core/calendar)
 * with the planner over them, built from the store at start and kept in step with every
 * committed change. The store stays the truth: when a transaction that changed the copy is
 * rolled back, the server rebuilds the copy from the store. Internal to src/server; used only
 * under the server's lock. */
#ifndef AL_SERVER_CAL_H
#define AL_SERVER_CAL_H

#include "core/calendar.h"
#include "core/fleet.h"
#include "core/planner.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct al_cal {
    struct al_fleet *fleet;
    struct al_calendar *cal;
    struct al_planner *planner;
    char **gpu_ids;  /* store GPU id of each fleet GPU id */
    char **uuids;    /* and its uuid (the fleet gets none: see cal.c) */
    size_t cap;      /* room in gpu_ids and uuids */
    size_t ngpu_ids; /* == al_fleet_ngpus */
    uint32_t *slots; /* open-addressing table of fleet GPU ids + 1 (0 = empty) */
    size_t nslots;   /* a power of two */
    int64_t feed_h;  /* the change feed's horizon (server/replica.h; 0 on SQLite) */
    int64_t feed_at; /* monotonic second of the last refresh (0: none yet) */
};

/* Build the fleet and the calendar (origin: now − 1 day) from the store: every GPU, every
 * live hold still ending after the origin. Caller owns *ret: al_cal_free(). */
int al_cal_build(struct al_store *s, int64_t now, struct al_cal **ret, struct al_err *reterr);
void al_cal_free(struct al_cal *c);

/* Fleet id of the GPU with store id `gpu_id`, or -1. */
int al_cal_gpu(const struct al_cal *c, const char *gpu_id);
/* Store id of fleet GPU `g` (owned by c), or NULL. */
const char *al_cal_gpu_id(const struct al_cal *c, uint32_t g);
/* Uuid of fleet GPU `g` (owned by c; "" when unknown). */
const char *al_cal_gpu_uuid(const struct al_cal *c, uint32_t g);

/* The calendar owner of a quote ("qte_…": tentative), a reservation ("rsv_…") or a pool
 * container ("ctr_…": AL_OWNER_POOL, its rolling hold: server/poolgpu.h). */
struct al_owner al_cal_owner(const char *id);

/* A calendar message as an API user reads it. core/calendar.h names GPUs by fleet index
 * ("GPU 3") and owners by kind and the 14 hex digits of their calendar id ("reservation
 * 0069a1b2c3d4e5", al_cal_owner): each GPU becomes its store id, each owner among `ids` (a
 * NULL-terminated list of "rsv_…" / "qte_…" ids) its full id, and a hold's record number
 * ("hold 17 of …") goes. Writes the text to out (cap bytes, truncated, NUL-terminated).
 * Returns 0, or AL_E_NOTFOUND when a GPU or an owner was left as core wrote it. */
int al_cal_message(const struct al_cal *c, const char *msg, const char *const *ids, char *out,
                   size_t cap);

#define AL_CAL_LABEL_PART_MAX 63 /* bytes of a selectable label's key, and of its value */

/* Is `s` a selectable label key or value: 1..AL_CAL_LABEL_PART_MAX bytes (a value may be
 * empty when `empty_ok`) of A-Z a-z 0-9 . _ -? */
bool al_cal_label_part_ok(const char *s, bool empty_ok);

/* The fleet's text of a labels object {"k": "v", "flag": ""}: "flag,k=v", keys in byte
 * order, a pair with an empty value as its bare key. Only selectable pairs (key and value
 * al_cal_label_part_ok) are written, and only while they fit in cap bytes; the others can
 * never be matched by a selector. Returns how many pairs were left out. */
unsigned al_cal_labels_text(json_t *labels, char *out, size_t cap);

/* Bring node `node` (as the store returns it: {name, zone, labels, online, gpus: [{id, index, uuid,
 * model, reported_model, pool, healthy, drained, present}]}) into the fleet: its zone and
 * liveness, new GPUs added, each GPU's index, model, pool, health, drain and presence updated
 * (present = reported as the model it is sold as); its labels (al_cal_labels_text); GPUs no
 * longer listed are absent. A GPU
 * whose model changed first loses its holds in the calendar (the store changes the model only
 * when none of them is live). */
int al_cal_sync_node(struct al_cal *c, json_t *node, struct al_err *reterr);

/* Mark node `name` online or offline in the fleet. 0, or AL_E_NOTFOUND when the fleet has no
 * such node (no GPU of it was ever seen). */
int al_cal_node_online(struct al_cal *c, const char *name, bool online);

/* May the GPU with store id `gpu_id` be sold now (as model `m`, when not NULL)? 0, or
 * AL_E_NOFIT with the reason in `why` ("is unhealthy", "is on node n1, which is offline", "is
 * no longer reported by node n1 (as A100-80GB)", …; cap bytes). */
int al_cal_check_gpu(const struct al_cal *c, const char *gpu_id, const struct al_gpu_model *m,
                     char *why, size_t cap);

/* An allocation as the services write it: store GPU id, node, uuid, MIG start and units. */
struct al_cal_alloc {
    char gpu[96];
    char node[72];
    char uuid[100];
    int start_unit; /* -1 for whole GPUs */
    uint64_t mask;  /* placement units taken; every bit for a whole GPU */
};

/* Several replicas (server/replica.h): what another replica wrote, brought into this copy.
 * al_cal_reload_gpu: the holds of GPU `gpu_id` in the calendar become the store's live ones
 * (its pool-busy mark with them); a GPU not in the fleet is left to its node's reload.
 * al_cal_reload_gpus: the same for GPUs `ids` (n of them; repeats and NULLs allowed), read in
 * one statement.
 * al_cal_reload_node: node `name` and its GPUs as the store has them (al_cal_sync_node), and
 * its GPUs' holds (one read). 0 or a code. */
int al_cal_reload_gpu(struct al_cal *c, struct al_store *s, const char *gpu_id, int64_t now,
                      struct al_err *reterr);
int al_cal_reload_gpus(struct al_cal *c, struct al_store *s, const char *const *ids, size_t n,
                       int64_t now, struct al_err *reterr);
int al_cal_reload_node(struct al_cal *c, struct al_store *s, const char *name, int64_t now,
                       struct al_err *reterr);

/* Placement-unit mask of `profile` (-1: the whole GPU) of `m` starting at unit `start`. */
uint64_t al_cal_mask(const struct al_gpu_model *m, int profile, int start);

#endif
