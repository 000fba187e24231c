/* fleet.h — the fleet the planner places work on: nodes (name, zone, labels, change window)
 * holding GPUs (catalog model, index, UUID, pool, health, drain, current MIG state).
 *
 * Built incrementally: add a node, then its GPUs. Nodes and GPUs get dense ids (0, 1, 2 …) in
 * the order they are added and keep them for the life of the fleet (nothing is ever removed: a
 * GPU its node stops reporting is marked absent). Dense ids let the calendar and the planner
 * keep per-GPU arrays and fleet-wide bitsets indexed by id. The fleet also keeps, per catalog
 * model present, the bitset of its GPUs, so the planner can restrict a search to one model with
 * word-wide operations.
 *
 * A GPU is usable — offered for new work — when it is healthy, not drained, present (its node
 * still reports it) and its node is online; al_fleet_usable_bits and al_gpu.usable follow every
 * setter. Existing holds on an unusable GPU are not the fleet's business (the calendar keeps
 * them). A GPU's index on its node is an attribute: unique among the node's present GPUs only.
 *
 * Pure: libc only, no I/O. Memory is owned by the struct al_fleet and freed by al_fleet_free.
 * Pointers returned by the accessors stay valid until the next al_fleet_add_* call (arrays may
 * grow and move); the setters never move anything.
 */
#ifndef AL_CORE_FLEET_H
#define AL_CORE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

#define AL_FLEET_NAME_MAX   64  /* node name, with its NUL */
#define AL_FLEET_ZONE_MAX   32  /* zone, with its NUL */
#define AL_FLEET_LABELS_MAX 256 /* "k=v,k2=v2,flag", with its NUL */
#define AL_FLEET_UUID_MAX   48  /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" is 40 */
#define AL_FLEET_MAX_MODELS 32  /* distinct catalog models in one fleet */
#define AL_FLEET_MAX_GPUS   (1u << 24)

/* Which sales channel a GPU serves. General-pool GPUs can also be reserved (a reservation
 * beats the pool); dedicated GPUs are never offered to the pool. */
enum al_pool {
    AL_POOL_GENERAL = 0,
    AL_POOL_DEDICATED = 1,
};

/* Weekly maintenance window in UTC during which MIG changes may be applied: on the days whose
 * bit is set in `days` (bit 0 = Sunday … bit 6 = Saturday), from minute `start_min` of the day
 * for `len_min` minutes (may run past midnight). days == 0: no window (changes need an
 * operator override). */
struct al_change_window {
    uint8_t days;
    uint16_t start_min; /* 0..1439 */
    uint16_t len_min;   /* 0..10080 */
};

struct al_node {
    char name[AL_FLEET_NAME_MAX];
    char zone[AL_FLEET_ZONE_MAX];
    char labels[AL_FLEET_LABELS_MAX]; /* comma-separated "key=value" or bare "flag" items */
    struct al_change_window window;
    bool offline; /* silent for longer than the heartbeat timeout: its GPUs are not usable */
    uint32_t ngpus;
    uint32_t *gpus; /* ids of its GPUs, in the order added; owned by the fleet */
};

struct al_gpu {
    const struct al_gpu_model *model; /* static catalog entry */
    uint32_t node;                    /* node id */
    uint16_t index;                   /* index on the node (nvidia-smi -i) */
    uint8_t model_slot;               /* index of model in the fleet's model table */
    uint8_t pool;                     /* enum al_pool */
    bool healthy;                     /* false: never offered */
    bool drained;                     /* true: no new placements (existing holds stay) */
    bool present;                     /* false: its node no longer reports it */
    bool usable;                      /* healthy, not drained, present, node online */
    bool pool_busy;                   /* pool containers running now: avoid if possible */
    bool mig_mode;                    /* MIG mode enabled now */
    char uuid[AL_FLEET_UUID_MAX];
    struct al_layout layout; /* current MIG layout (empty when not in MIG mode) */
};

struct al_fleet;

/* A new, empty fleet, or NULL when out of memory. Owned by the caller: al_fleet_free. */
struct al_fleet *al_fleet_new(void);
void al_fleet_free(struct al_fleet *f);

/* Add a node. `zone` and `labels` may be NULL (""); `window` may be NULL (none). Labels are
 * "k=v,k2=v2,flag" (no spaces). Returns the new node id (>= 0), or AL_E_INVAL (empty or too
 * long name/zone/labels, bad window), AL_E_CONFLICT (name exists), AL_E_NOMEM. */
int al_fleet_add_node(struct al_fleet *f, const char *name, const char *zone, const char *labels,
                      const struct al_change_window *window, struct al_err *reterr);

/* Add a GPU of catalog model `m` to node `node`, healthy, not drained, present, not in MIG
 * mode. `uuid` may be NULL (""), else unique. Returns the new GPU id (>= 0), or AL_E_INVAL,
 * AL_E_NOTFOUND (node), AL_E_CONFLICT (uuid exists, or a present GPU of the node has that
 * index), AL_E_RANGE (too many GPUs or models), AL_E_NOMEM. */
int al_fleet_add_gpu(struct al_fleet *f, uint32_t node, const struct al_gpu_model *m,
                     unsigned index, const char *uuid, enum al_pool pool, struct al_err *reterr);

uint32_t al_fleet_ngpus(const struct al_fleet *f);
uint32_t al_fleet_nnodes(const struct al_fleet *f);

/* The GPU / node with that id, or NULL when out of range. Owned by the fleet; valid until the
 * next al_fleet_add_*. */
const struct al_gpu *al_fleet_gpu(const struct al_fleet *f, uint32_t gpu);
const struct al_node *al_fleet_node(const struct al_fleet *f, uint32_t node);

/* Id of the node with that name / the GPU with that UUID, or AL_E_NOTFOUND. Hashed: O(1). */
int al_fleet_find_node(const struct al_fleet *f, const char *name);
int al_fleet_find_gpu(const struct al_fleet *f, const char *uuid);

/* State changes from the agent or the operator. Return 0 or AL_E_NOTFOUND. */
int al_fleet_set_healthy(struct al_fleet *f, uint32_t gpu, bool healthy);
int al_fleet_set_drained(struct al_fleet *f, uint32_t gpu, bool drained);
int al_fleet_set_pool(struct al_fleet *f, uint32_t gpu, enum al_pool pool);
int al_fleet_set_pool_busy(struct al_fleet *f, uint32_t gpu, bool busy);
/* Whether the GPU's node still reports it (absent GPUs keep their id and holds). 0,
 * AL_E_NOTFOUND, or AL_E_CONFLICT when it comes back while another present GPU of the node has
 * its index (set the index first). */
int al_fleet_set_present(struct al_fleet *f, uint32_t gpu, bool present);
/* The GPU's index on its node. 0, AL_E_NOTFOUND, AL_E_INVAL (> 65535), or AL_E_CONFLICT when
 * another present GPU of the node has that index. */
int al_fleet_set_index(struct al_fleet *f, uint32_t gpu, unsigned index);
/* The GPU is now of catalog model `m`: it moves to m's bitset, leaves MIG mode and its layout.
 * The caller first takes the GPU's holds out of any calendar over this fleet (they were made
 * for the old model's profiles). 0, AL_E_NOTFOUND, AL_E_INVAL (m NULL), AL_E_RANGE (too many
 * models), AL_E_NOMEM. */
int al_fleet_set_model(struct al_fleet *f, uint32_t gpu, const struct al_gpu_model *m);
/* The node's zone (NULL: ""). 0, AL_E_NOTFOUND, AL_E_INVAL (too long, space or control). */
int al_fleet_set_zone(struct al_fleet *f, uint32_t node, const char *zone, struct al_err *reterr);
/* The node's labels, "k=v,k2=v2,flag" (NULL: none), replacing the old ones: what a request's
 * label selectors match (al_fleet_labels_match). 0, AL_E_NOTFOUND, AL_E_INVAL (longer than
 * AL_FLEET_LABELS_MAX - 1 bytes, space or control character). */
int al_fleet_set_labels(struct al_fleet *f, uint32_t node, const char *labels,
                        struct al_err *reterr);
/* Whether the node is online: an offline node's GPUs are not usable. 0 or AL_E_NOTFOUND. */
int al_fleet_set_online(struct al_fleet *f, uint32_t node, bool online);
/* A number that changes whenever GPUs are added or change model: caches of per-model counts
 * (the planner's) are stale when it differs from the one they were computed at. */
uint64_t al_fleet_shape(const struct al_fleet *f);
/* Current MIG mode and layout as observed. `layout` may be NULL (empty); its model must be the
 * GPU's model. Returns 0, AL_E_NOTFOUND or AL_E_INVAL (wrong model, MIG on a non-MIG model). */
int al_fleet_set_mig(struct al_fleet *f, uint32_t gpu, bool mig_mode,
                     const struct al_layout *layout);

/* Distinct models in the fleet (slots 0..n-1, in order of first appearance), the model in a
 * slot (NULL out of range), the slot of a model (-1 when absent), and the bitset of that
 * model's GPU ids (bit g of word g/64; al_fleet_words() words, owned by the fleet, valid until
 * the next al_fleet_add_gpu). */
unsigned al_fleet_nmodels(const struct al_fleet *f);
const struct al_gpu_model *al_fleet_model(const struct al_fleet *f, unsigned slot);
int al_fleet_model_slot(const struct al_fleet *f, const struct al_gpu_model *m);
const uint64_t *al_fleet_model_bits(const struct al_fleet *f, unsigned slot);
size_t al_fleet_words(const struct al_fleet *f);

/* Bitsets (same shape and ownership) of the usable GPUs (healthy, not drained, present, node
 * online), and of the GPUs in a pool (NULL for an unknown pool). NULL while the fleet has no
 * GPU. */
const uint64_t *al_fleet_usable_bits(const struct al_fleet *f);
const uint64_t *al_fleet_pool_bits(const struct al_fleet *f, enum al_pool pool);

/* True when the node's labels contain every item of `want` ("k=v,flag", NULL or "" = all).
 * An item "k=v" matches exactly that pair; a bare "k" matches a flag or any value of k. */
bool al_fleet_labels_match(const char *have, const char *want);

/* Bytes the fleet uses (for the benchmark's accounting). */
size_t al_fleet_bytes(const struct al_fleet *f);

#endif
