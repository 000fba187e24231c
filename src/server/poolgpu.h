/* poolgpu.h — the general pool's GPUs for containers (docs/containers.md, "The general pool"):
 * which general-pool GPU a pool container gets, the rolling hold that keeps reservations off
 * it for the notice period, and the clock's pass that warns a pool container before a
 * reservation takes its GPU and stops it when the reservation begins (or when its pool session
 * ran out of funds).
 *
 * A pool container holds its GPU with a hold owned by its id ("ctr_…", calendar owner kind
 * AL_OWNER_POOL: server/cal.h) over [its start, now + pool_notice_s), in the store and in the
 * in-memory calendar alike. The planner places nothing over a hold, so no reservation can
 * begin on the GPU sooner than the notice period ahead; the pass moves the hold's end on as
 * time goes, never past the next hold of another owner. Internal to src/server; every call
 * runs inside the caller's unit of work (server/txn.h) and fails the call with its reason. */
#ifndef AL_SERVER_POOLGPU_H
#define AL_SERVER_POOLGPU_H

#include "server/http.h"

#include <stdint.h>

struct al_gpu_model;

struct al_poolgpu_pick {
    char gpu[96], node[64], model[32];
    char device[96];    /* the GPU's uuid, "GPU-…" */
    int64_t free_until; /* the next firm reservation hold's start on it, or 0 (none) */
};

/* A general-pool GPU for a pool container now: usable (healthy, online, not drained), in
 * whole-GPU mode, no live container on it, no hold over [now, now + pool_notice_s); of `model`,
 * or GPU `gpu_id` itself when given (NULL otherwise). 404 naming the model or GPU when none
 * (GPU: 409 when it exists but is taken or not in the general pool). 0 with *ret, or the
 * call's code. */
int al_poolgpu_pick(struct al_ctx *c, const char *model, const char *gpu_id,
                    struct al_poolgpu_pick *ret);

/* Add the rolling pool hold of container `ctr_id` on GPU `gpu_id`: whole GPU (profile NULL) or
 * the MIG instance `profile` at `start_unit`, over [c->now, c->now + pool_notice_s), to the
 * store and the calendar; the clock's pass moves its end on. 0, or the call's code. */
int al_poolgpu_hold(struct al_ctx *c, const char *ctr_id, const char *gpu_id, const char *profile,
                    int start_unit);

/* Release container `ctr_id`'s pool hold (none: 0). 0, or the call's code. */
int al_poolgpu_release(struct al_ctx *c, const char *ctr_id);

/* The clock's pass: each live container with a pool session — move its hold's end to
 * min(now + notice, the next firm hold's start on its unit); warn it (container.warning
 * {reason "preemption", reservation, stop_at}, the document's `warning`) once that start is
 * within the notice; stop it (al_containers_stop, reason "preempted") when now reaches
 * stop_at; stop those whose pool session the metering stopped (reason "funds_exhausted").
 * Returns the number of changes (>= 0), or the call's code. */
int al_poolgpu_pass(struct al_ctx *c);

/* GET /v1/pool's document at c->now (docs/api.md, "Pool"): {at, notice_s, models: [{model,
 * gpus_free, gpus: [{id, node, free_until|null}], profiles: [{profile, instances_free,
 * instances: [{gpu, node, start, free_until|null}]}]}]}: every model with general-pool GPUs
 * (`model` alone when not NULL), its GPUs free for a pool container now (al_poolgpu_pick's
 * rule), and, on its GPUs their agent reports in MIG mode, the observed instances no hold
 * claims within the notice. free_until: the next hold's start on it (a reservation's or a live
 * quote's). *ret the caller's. 0, or the call's code. */
int al_poolgpu_list(struct al_ctx *c, const struct al_gpu_model *model, json_t **ret);

#endif
