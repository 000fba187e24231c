/* pool.h — pay-as-you-go pool sessions as the server runs them (docs/billing.md, "Pay-as-you-go
 * pool"): a container on a general-pool GPU is a session of an org, metered per second from
 * its start to its stop at its contract's pool rate, U(t) = floor(share × (t − start) × rate /
 * (27720 × 3600)), and charged to the org's paying account (core/billing.h decides each
 * amount). The containers work only calls these; each runs inside the caller's unit of work
 * (server/txn.h) and fails the call (struct al_ctx) with its reason.
 *
 * Metering: each piece [metered_to, to) is one usage transfer keyed pool:<id>:<metered_to>,
 * written with the session's charged-through time in the same unit of work, so a retried or
 * repeated metering never charges twice and the pieces add up to the whole. The clock's pass
 * meters every running session up to the last whole UTC hour (so each piece falls in one
 * invoice month), and, for an org whose funds do not cover what its sessions used since their
 * last metering, every session of the org up to now: what the funds cover is charged, the
 * rest is forgiven, and the session stops (pool.stopped). Internal to src/server. */
#ifndef AL_SERVER_POOL_H
#define AL_SERVER_POOL_H

#include "server/http.h"

#include <stdint.h>

#define AL_POOL_METER_S 3600 /* the clock meters running sessions up to each whole hour */

/* A session to start. */
struct al_pool_ask {
    const char *org;  /* the org's API id */
    const char *user; /* who starts it: a user id, or NULL */
    const char *gpu;  /* the GPU's store id (general pool; a continuation: any); its model
                       * prices the session */
    int64_t share;    /* GPU share units, 1..AL_SHARE_PER_GPU (a whole GPU) */
};

/* Start session `a` at c->now under the org's contract in force, at its pool rate for the
 * GPU's model (al_contract_rates_for: the contract's frozen rate, else the list price in force
 * less its discount). Refused: 400 naming `share` or `gpu`; 404 an unknown org or GPU; 409 a
 * GPU of the dedicated pool, no contract in force, a contract outside its validity, no price
 * for the model, a limit (limit_exceeded); 402 insufficient_balance when the funds do not
 * cover one hour of every running session of the org plus this one. *ret (may be NULL) = the
 * session as recorded; appends pool.started. 0, or the call's code. */
int al_pool_start(struct al_ctx *c, const struct al_pool_ask *a, struct al_store_pool *ret);

/* A continuation: reservation `rsv`'s unit going on after its window (server/rsvlife.h, where
 * the reservation's contract says payg_after_window), started as al_pool_start does (the
 * contract in force, its pool rate, the same limits and runway, the same refusals) except
 * that a->gpu is the reservation's GPU, dedicated or general, and a->share the share of its
 * unit: a whole GPU AL_SHARE_PER_GPU, a MIG instance of g compute slices on a model of S
 * slices g × AL_SHARE_PER_GPU / S (al_charge_share). pool.started names the reservation. */
int al_pool_continue(struct al_ctx *c, const struct al_pool_ask *a, const char *rsv,
                     struct al_store_pool *ret);

/* Meter session `id` up to c->now, then stop it there (pool.stopped, reason "stopped").
 * 404 for an unknown session, 409 when it stopped already. *ret (may be NULL) = the session
 * as recorded after. 0, or the call's code. */
int al_pool_stop(struct al_ctx *c, uint64_t id, struct al_store_pool *ret);

/* The clock's metering of every running session at c->now (see above). Returns the number of
 * pieces charged and sessions stopped (>= 0), or a negative code with the call failed. */
int al_pool_meter_pass(struct al_ctx *c);

#endif
