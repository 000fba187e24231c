/* policies.h — the mig-replay cluster model and the peers' placement policies, re-implemented on
 * allot's exact placement model (catalog.h / layout.h) so that every policy obeys the same NVML
 * rules and is measured the same way.
 *
 * The cluster is a set of MIG-capable GPUs of one model. Each GPU has a *configured* state: MIG
 * mode with a layout of instances (each busy until some time, or idle), or non-MIG mode (whole
 * GPU, busy or idle). Instances stay configured after their task leaves, as on real GPUs, so a
 * later task that finds an idle instance of its profile at that start needs no reconfiguration.
 * A reconfiguration is counted each time a GPU's configured state must change to admit a task.
 * All requests start "now" (the replay is online), so the busy state at `now` is all a policy
 * needs; expiry is lazy, per GPU, when a policy looks at it.
 */
#ifndef AL_BENCH_POLICIES_H
#define AL_BENCH_POLICIES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

struct al_sim_inst {
    struct al_placement p;
    bool busy;
    int64_t end; /* busy until */
};

struct al_sim_gpu {
    bool whole;        /* configured in non-MIG mode */
    int64_t whole_end; /* whole mode: busy until (<= now: idle) */
    unsigned n;
    struct al_sim_inst inst[AL_LAYOUT_MAX];
};

struct al_sim {
    const struct al_gpu_model *m;
    uint32_t ngpus;
    struct al_sim_gpu *g; /* owned; al_sim_free */
    uint64_t reconfigs;
    uint64_t invalid; /* commits that left an invalid layout: a bug, must stay 0 */
};

/* A cluster of `ngpus` GPUs of MIG model `m`, all in MIG mode with an empty layout.
 * Returns 0 or AL_E_NOMEM / AL_E_INVAL. */
int al_sim_init(struct al_sim *s, const struct al_gpu_model *m, uint32_t ngpus,
                struct al_err *reterr);
void al_sim_free(struct al_sim *s);

/* Mark what has ended by `now` idle on GPU `gpu`. */
void al_sim_expire(struct al_sim *s, uint32_t gpu, int64_t now);
/* Layout of the busy instances only (what a new instance must not collide with). */
void al_sim_busy_layout(const struct al_sim *s, uint32_t gpu, struct al_layout *ret);
/* Configured layout (busy and idle instances); empty in whole mode. */
void al_sim_layout(const struct al_sim *s, uint32_t gpu, struct al_layout *ret);
/* True when nothing runs on the GPU (after al_sim_expire). */
bool al_sim_wholly_free(const struct al_sim *s, uint32_t gpu, int64_t now);
/* Busy compute slices (7 for a busy whole GPU). */
unsigned al_sim_busy_slices(const struct al_sim *s, uint32_t gpu, int64_t now);
/* True when instance `p` can start now on `gpu` (no busy overlap, rules kept). */
bool al_sim_fits(const struct al_sim *s, uint32_t gpu, struct al_placement p, int64_t now);

/* Start a task on instance `p` of `gpu` until `end` (al_sim_fits must hold), reusing an idle
 * instance at that place or reconfiguring (counted). Returns true when it reconfigured. */
bool al_sim_commit_mig(struct al_sim *s, uint32_t gpu, struct al_placement p, int64_t end);
/* Start a whole-GPU task (al_sim_wholly_free must hold); a MIG-mode GPU switches mode
 * (counted). Returns true when it reconfigured. */
bool al_sim_commit_whole(struct al_sim *s, uint32_t gpu, int64_t end);

enum al_peer {
    AL_PEER_FIRSTFIT, /* InstaSlice: first GPU, first free legal start */
    AL_PEER_NOS,      /* nos: reuse a free instance, else first GPU whose known geometry fits */
    AL_PEER_HAMI,     /* HAMi: first GPU; 1g/3g at the highest free start, others lowest */
    AL_PEER_BESTFIT,  /* GPU with the fewest free compute slices that fits; lowest start */
    AL_PEER_COUNT
};

const char *al_peer_name(enum al_peer p);

/* The classic profile of `m` with `slices` compute slices (1, 2, 3, 4 or 7): no media or
 * graphics attribute, smallest placement size (so 1g.10gb rather than 1g.20gb). Its index in
 * m->profiles, or -1. */
int al_sim_class_profile(const struct al_gpu_model *m, unsigned slices);

/* Admit one instance of profile index `prof` (of s->m) for [now, end) under policy `peer`,
 * committing it. Returns 0, or AL_E_NOFIT when the policy finds no place. */
int al_peer_place_mig(struct al_sim *s, enum al_peer peer, unsigned prof, int64_t now, int64_t end);
/* Admit `k` whole GPUs for [now, end): every peer takes the first k wholly free GPUs in index
 * order (none of them is topology-aware). Returns 0 or AL_E_NOFIT (nothing committed). */
int al_peer_place_whole(struct al_sim *s, enum al_peer peer, unsigned k, int64_t now, int64_t end);

#endif
