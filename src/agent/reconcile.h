/* reconcile.h — what the node agent does with one GPU's entry of GET /v1/nodes/{name}/desired:
 * apply the MIG change the server hands it (approved or applying), or, with no change, recreate
 * the instances of the desired layout that went missing (a reboot loses every instance).
 *
 * The decisions and the driver calls live here, the HTTP around them in agent.c: parse an entry
 * (al_reconcile_parse), then, once POST /v1/mig-changes/{id}/start has given the change to this
 * agent, al_reconcile_change returns the body of POST /v1/mig-changes/{id}/result. So a unit
 * test drives every path with the sim driver and no server (tests/unit/test_reconcile.c).
 *
 * What it never does: destroy an instance a change does not destroy (the operations are checked
 * against `from` and `to` before the first one runs, and an instance in both is never touched);
 * act when a process runs on an instance the change would destroy (the change fails, naming
 * the pids, with nothing changed); destroy anything, or switch MIG off, by itself (the desired
 * layout only ever adds instances); apply a change twice (a GPU already at `to` is reported
 * applied without any call); reset a GPU. docs/agent.md has the protocol.
 */
#ifndef AL_AGENT_RECONCILE_H
#define AL_AGENT_RECONCILE_H

#include "agent/driver.h"
#include "core/err.h"
#include "core/layout.h"
#include "core/migchange.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#define AL_REC_ID_MAX    64  /* a change id with its NUL: 1..63 printable ASCII, no space */
#define AL_REC_ERROR_MAX 500 /* bytes of a result's error (the server's bound); cut there */

/* A MIG state as the server writes one (a change's `from` / `to`, a GPU's `desired`): the mode
 * and the instances, resolved against the GPU's catalog model, sorted. Empty when MIG is off. */
struct al_rec_side {
    bool mig;
    struct al_layout l;
};

/* One GPU's entry of the desired document, checked (untrusted input). */
struct al_rec_gpu {
    unsigned index;             /* the GPU's index on this host */
    char uuid[AL_DRV_UUID_MAX]; /* its uuid as the server knows it */
    bool has_desired;
    struct al_rec_side desired; /* the layout allot last applied */
    bool has_change;
    char change[AL_REC_ID_MAX]; /* the change's id */
    struct al_rec_side from, to;
    unsigned nops; /* the change's operations, in order (core/migchange.h's kinds) */
    struct al_migop ops[AL_MIGOP_MAX];
};

/* Check entry `j` ({index, uuid, gpu, desired, change}; docs/agent.md) for a GPU of model `m`
 * (the catalog model the driver observes at that index) into *ret. Profiles are resolved by
 * their NVML id (`profile_id`), else by name; each layout must be valid for `m`. A change's
 * operations (computed from `from` and `to` by core's al_migchange_ops when absent) must come
 * in the pairs the driver performs (create_gi+create_ci, destroy_ci+destroy_gi), take `from` to
 * `to` under NVML's rules (al_mig_gpu_apply), and never touch an instance in both. Returns 0,
 * or AL_E_INVAL naming the member ("change.operations[3].start: …"). */
int al_reconcile_parse(const json_t *j, const struct al_gpu_model *m, struct al_rec_gpu *ret,
                       struct al_err *reterr);

/* Apply e's change on GPU e->index, which this agent has taken (the server answered its POST
 * …/start). Observes the GPU first: already at `to` → applied, no driver call; at `from` → the
 * processes checked (one on an instance to be destroyed, or anywhere for a mode switch: failed,
 * naming the pids, nothing done), the operations applied in order, the result observed and
 * compared with `to`; a failed operation (or a result that differs) is rolled back, last first
 * (al_migchange_rollback); neither → rolled back to `from` by the difference and failed,
 * "interrupted". *ret (the caller's) is the body of POST …/result:
 *   {"ok": true, "mig", "instances": [{gi, ci, profile_id, start, uuid}]}
 *   {"ok": false, "operation": K, "error", "rolled_back", "mig", "instances"}
 * with the GPU's layout after it (K: the 0-based index in e->ops of the operation that failed
 * or would have; rolled_back: operations were undone and the GPU is at `from` again). Returns
 * 0 with *ret set, or a negative code when the GPU cannot be observed (nothing was done). */
int al_reconcile_change(struct al_driver *d, const struct al_rec_gpu *e, json_t **ret,
                        struct al_err *reterr);

/* With no change: recreate the instances of e->desired missing on GPU e->index that fit beside
 * those present (turning MIG mode on first where desired, off, and the GPU idle). Never
 * destroys anything, never switches MIG off. Prints each thing it did on `log` (may be NULL).
 * Returns the number of instances created (0: nothing to do), or a negative code when the GPU
 * cannot be observed or a driver call failed (what was done before it stays). */
int al_reconcile_desired(struct al_driver *d, const struct al_rec_gpu *e, FILE *log,
                         struct al_err *reterr);

/* The operations core plans to take `from` to `to` (both of one model): al_layout_diff's
 * steps through al_migchange_ops, MIG mode switched on first / off last. Writes them to ops
 * and their number to *ret_n; AL_E_INVAL when a side is not a valid layout. */
int al_reconcile_plan(const struct al_rec_side *from, const struct al_rec_side *to,
                      struct al_migop ops[AL_MIGOP_MAX], unsigned *ret_n, struct al_err *reterr);

/* The position of GPU `index` for al_driver_observe, observed into *g (caller's memory).
 * AL_E_NOTFOUND when the host has no such GPU. */
int al_reconcile_observe(struct al_driver *d, unsigned index, struct al_drv_gpu *g,
                         struct al_err *reterr);

#endif
