/* planner.h — admission: where a request for whole GPUs or MIG instances fits in the fleet's
 * calendar, when the earliest window is, and how much is free.
 *
 * Policy:
 *   - Dedicated GPUs first: a request open to both pools (where.pool -1) is planned on the
 *     dedicated pool's GPUs alone, and over both pools only when they cannot serve it; then
 *     dedicated GPUs still come before general-pool ones wherever the rules below leave a
 *     choice, and general-pool GPUs running pool work come last. So reservations leave the
 *     pay-as-you-go pool alone while the dedicated pool can hold them.
 *   - Whole GPUs: on as few nodes as possible — one node when any node has enough (of the first
 *     few such nodes the scan finds, the one whose free count is closest to the ask, so big
 *     nodes stay whole for big asks), otherwise nodes taken largest-free first, the last one
 *     best-fit. Within a node, dedicated GPUs, then GPUs without running pool work, and those not
 *     in MIG mode first.
 *   - MIG instances: the profile is the one asked, or the smallest whose memory meets the ask
 *     (al_catalog_pick). Instances are packed onto GPUs already partly used during the window
 *     before empty ones are opened. Each placement is scored: it must keep the largest profiles
 *     placeable (fragmentation-aware: the placements of each size still free in the window after
 *     it, compared largest size first), prefer the GPU's current layout
 *     already having that instance (no reconfiguration), and avoid GPUs with running pool work.
 *   - Only usable GPUs are offered (core/fleet.h: healthy, not drained, still reported, node
 *     online); zone, labels and pool filter GPUs.
 *   - Fast paths bound their effort (planner_whole.c, planner_mig.c); a refusal is only given
 *     after an exact check of every eligible GPU the calendar's index cannot rule out, so it is
 *     always true, and it says which constraint failed and how close the request came.
 *
 * The planner reads the fleet and the calendar (borrowed; they must outlive it) and keeps its
 * own scratch memory, so one planner serves one thread (availability excepted: it writes
 * nothing in the planner). Pure: libc only, no clock, no I/O.
 */
#ifndef AL_CORE_PLANNER_H
#define AL_CORE_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/calendar.h"
#include "core/catalog.h"
#include "core/err.h"
#include "core/fleet.h"

#define AL_PLAN_MAX 1024 /* most GPUs or instances in one request */

enum al_req_kind {
    AL_REQ_WHOLE = 0, /* whole GPUs (non-MIG mode) */
    AL_REQ_MIG = 1,   /* MIG instances */
};

/* Which GPUs a request (or an availability query) may use. */
struct al_where {
    const char *zone;   /* NULL or "": any zone */
    const char *labels; /* NULL or "": any; else "k=v,flag", all must match the node's */
    int pool;           /* -1: any pool; else the enum al_pool the GPUs must be in */
};

struct al_request {
    enum al_req_kind kind;
    const struct al_gpu_model *model; /* NULL: any model of the fleet meeting mem_bytes */
    int profile;        /* MIG with model set: profile index, or -1: pick by mem_bytes */
    uint64_t mem_bytes; /* whole: least GPU memory (model NULL); MIG: least per instance */
    unsigned count;     /* 1..AL_PLAN_MAX */
    int64_t start, end; /* [start, end) */
    struct al_where where;
    bool same_node; /* all on one node */
};

struct al_alloc {
    uint32_t gpu;
    bool whole;
    uint8_t profile; /* MIG */
    uint8_t start;   /* MIG */
    bool reconfig;   /* the GPU's current MIG mode / layout must change for it */
    uint32_t hold;   /* after al_planner_admit: the hold id in the calendar */
};

/* Why a request was refused (al_plan.why). */
enum al_why {
    AL_WHY_NONE = 0,
    AL_WHY_BAD_REQUEST, /* malformed request (the message names the field) */
    AL_WHY_NO_MODEL,    /* no GPU model in the fleet meets the ask */
    AL_WHY_NO_PROFILE,  /* the model has no MIG, or no profile large enough */
    AL_WHY_NO_ELIGIBLE, /* no GPU passes zone/labels/pool/health/drain */
    AL_WHY_CAPACITY,    /* not enough free during the window */
    AL_WHY_SAME_NODE,   /* enough fleet-wide, but not on one node */
};

/* The answer: allocations, or the refusal's facts (also written as a sentence into reterr). */
struct al_plan {
    const struct al_gpu_model *model; /* model chosen (or, refused, the closest one) */
    int profile;                      /* MIG profile index; -1 for whole GPUs */
    unsigned n;                       /* allocations (== count when planned) */
    struct al_alloc *allocs;          /* owned by the plan: al_plan_clear */
    unsigned nodes;                   /* distinct nodes used */
    unsigned reconfigs;               /* allocations needing a MIG change */
    /* on refusal: */
    enum al_why why;
    unsigned wanted;         /* count asked */
    unsigned eligible;       /* GPUs of the model passing the filters */
    unsigned free_total;     /* whole GPUs / instances free fleet-wide in the window */
    unsigned free_best_node; /* most free on one node */
    int best_node;           /* that node's id, or -1 */
    bool bounds;             /* free_total / free_best_node are upper bounds: the refusal was
                                proved without counting exactly (too few could even be free) */
};

struct al_planner;

/* A planner over fleet `f` and calendar `c` (both borrowed). NULL when out of memory. Owned by
 * the caller: al_planner_free. */
struct al_planner *al_planner_new(const struct al_fleet *f, struct al_calendar *c);
void al_planner_free(struct al_planner *p);

/* Free the plan's allocations and zero it. Accepts NULL and zeroed plans. */
void al_plan_clear(struct al_plan *plan);

/* Where would `r` go? Fills *ret (cleared first; clear it again with al_plan_clear in every
 * case). Returns 0, or AL_E_NOFIT (ret->why and the counts say why; reterr has the sentence,
 * with the window as RFC 3339 UTC times, e.g. "only 5 of 8 H100-80GB GPUs free on one node
 * during [2026-05-01T10:00:00Z, 2026-05-01T12:00:00Z); 12 free fleet-wide"), AL_E_INVAL (bad
 * request, field named), AL_E_RANGE (a window the calendar cannot hold), AL_E_NOMEM. Changes
 * nothing. */
int al_planner_plan(struct al_planner *p, const struct al_request *r, struct al_plan *ret,
                    struct al_err *reterr);

/* Plan and commit: every allocation becomes a hold of `owner` over [r->start, r->end) (with
 * expiry `expires` for a tentative owner), all or nothing. allocs[i].hold get the hold ids.
 * Same returns as al_planner_plan. */
int al_planner_admit(struct al_planner *p, const struct al_request *r, struct al_owner owner,
                     int64_t expires, struct al_plan *ret, struct al_err *reterr);

/* Earliest window: the request for `duration` seconds, starting no earlier than r->start and
 * no later than latest_start (r->end is ignored). Candidate starts are r->start and the ends of
 * holds in that range (the only instants where a window can become feasible). Writes up to
 * `max` feasible starts, ascending (the earliest first, then the next alternatives), to
 * starts. Returns how many (>= 1), or AL_E_NOFIT (reterr: the reason at r->start), AL_E_INVAL. */
int al_planner_earliest(struct al_planner *p, const struct al_request *r, int64_t duration,
                        int64_t latest_start, int64_t *starts, size_t max, struct al_err *reterr);

/* Disjoint windows: up to `max` starts, ascending, each the earliest feasible one (as
 * al_planner_earliest) at or after the end of the window before it, the first at or after
 * r->start, all at most latest_start. What an answer offering "up to N alternatives" lists:
 * distinct windows, not N near-copies of one. Returns how many (>= 1), or AL_E_NOFIT (reterr:
 * why at r->start), AL_E_INVAL, AL_E_RANGE, AL_E_NOMEM. */
int al_planner_windows(struct al_planner *p, const struct al_request *r, int64_t duration,
                       int64_t latest_start, int64_t *starts, size_t max, struct al_err *reterr);

/* ---- model choice (planner_models.c) ----
 * Which GPU models can serve an ask as the API takes it (a model, or a memory size; for MIG a
 * profile name or an instance memory), and in which order a quote tries them. Over the whole
 * catalog: a model absent from the fleet is still a candidate (its plan then fails, which is
 * what a quote reports). Pure: reads the catalog only. */
struct al_model_ask {
    enum al_req_kind kind;
    const struct al_gpu_model *model; /* NULL: any catalog model meeting the memory ask */
    const char *profile;  /* MIG: profile name as al_catalog_profile_index takes it, looked up
                             in each model; NULL: the smallest plain profile holding
                             inst_mem_gb (al_catalog_pick) */
    uint64_t min_mem_gb;  /* whole GPUs: least memory of a GPU, GB (10^9 bytes); 0: any */
    uint64_t inst_mem_gb; /* MIG: least usable memory of an instance, GB; 0: none asked */
    struct al_perf perf;  /* least performance of a GPU, or of an instance (its share:
                             al_catalog_perf); zeros: none asked */
};

struct al_model_choice {
    const struct al_gpu_model *model;
    int profile; /* MIG profile index in model->profiles; -1 for whole GPUs */
};

/* Can model m serve ask a? Whole GPUs: m->mem_gb >= min_mem_gb and m's figures meet a->perf.
 * MIG: m has MIG, and the named profile exists on m, holds inst_mem_gb (when given) and its
 * share meets a->perf, or else some plain profile does both (the smallest such:
 * al_catalog_pick_perf). Returns 0 with *ret (m and the profile to use), or AL_E_NOFIT. */
int al_planner_model_serves(const struct al_model_ask *a, const struct al_gpu_model *m,
                            struct al_model_choice *ret);

/* The models to try for ask a, in order: a->model alone when one is asked (and it serves the
 * ask) unless `any`; otherwise every catalog model that serves it, least memory (mem_gb)
 * first, catalog order among equals (a quote takes the first that fits; its refusal lists the
 * others with `any`). Writes the first `max` of that list to ret; returns how many it wrote. */
size_t al_planner_models(const struct al_model_ask *a, bool any, struct al_model_choice *ret,
                         size_t max);

/* ---- availability (planner_avail.c) ---- */

/* Free capacity of one model during [s, e). */
struct al_avail {
    const struct al_gpu_model *model;
    unsigned gpus;       /* GPUs of the model passing `where`, usable (core/fleet.h) */
    unsigned whole_free; /* of them, with no hold in the window */
    unsigned nprofiles;  /* model->nprofiles (0 without MIG) */
    /* per profile: how many instances of it alone could still be held throughout the window,
     * summed over the GPUs: on each, the most that the calendar would accept (units clear of
     * every hold in the window, and every MIG rule met at every instant of it) */
    unsigned inst_free[AL_MIG_MAX_PROFILES];
};

/* Availability of model m during [s, e) into *ret (cleared first): what GET /v1/availability
 * answers. `where` may be NULL (every GPU). A model absent from the fleet gets zero counts.
 * Returns 0, or AL_E_INVAL (s >= e). A window before the calendar's origin counts only from
 * the origin on (nothing is held before it). Reads the calendar's index 64 GPUs at a time:
 * GPUs it shows untouched are counted 64 at a time, those it shows without MIG room (a hold in
 * a bucket inside the window) are skipped, and only the rest are read, 64 at a time in batches
 * whose cache misses overlap. Unlike plan and admit, it writes nothing in the planner (its
 * working state is on the stack, ~10 KB): several threads may call it on one planner at once,
 * while nothing changes the fleet or the calendar (a read lock). */
int al_planner_avail(const struct al_planner *p, const struct al_gpu_model *m, int64_t s, int64_t e,
                     const struct al_where *where, struct al_avail *ret);

/* al_planner_avail for every model of the fleet, one entry per model in the fleet's model order
 * (at most max). Returns the number of models in the fleet, or AL_E_INVAL. */
int al_planner_availability(const struct al_planner *p, int64_t s, int64_t e,
                            const struct al_where *where, struct al_avail *ret, size_t max);

#endif
