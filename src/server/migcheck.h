/* migcheck.h — the safety check of a stored MIG change (docs/migchange.md, "How the server
 * uses the checks"): the change's document rebuilt into core's struct al_migchange, the facts
 * gathered from the store (what the GPU's agent last observed, whether its node is online and
 * the GPU healthy, the orgs' acknowledgements) and core's al_migchange_check run on them at
 * the call's time; the approval of a change (an operator's apply, or the auto-apply policy)
 * and the clock's auto-apply pass. Internal to src/server. */
#ifndef AL_SERVER_MIGCHECK_H
#define AL_SERVER_MIGCHECK_H

#include "core/migchange.h"
#include "server/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AL_MIGCHECK_WHY_MAX AL_ERR_MSG_MAX

/* Everything the check of one change reads. Large (about 16 KiB): allocate it. */
struct al_migcheck_facts {
    struct al_migchange change;
    struct al_mig_observed obs;
    struct al_migchange_ack acks[AL_MIGCHANGE_ACK_MAX];
    unsigned nacks;
    /* "" when the change's document was rebuilt, else why not (every check then fails) */
    char unreadable[AL_MIGCHECK_WHY_MAX];
    /* "" when the GPU's MIG state is known, else why not: its agent reports none, the GPU is
     * gone or not reported; the checks that read that state then fail, naming this */
    char unobserved[AL_MIGCHECK_WHY_MAX];
    /* "" when every instance on the GPU is the catalog's, else those that are not
     * (observed.unmatched_instances): the change was planned without them, and
     * current_matches_observed fails naming them */
    char unmatched[AL_MIGCHECK_WHY_MAX];
    bool node_unknown; /* the change's node has never reported */
    /* processes whose instance is not known: counted beyond those listed, or on a GPU
     * instance the agent did not list; they fail no_process_on_destroyed */
    unsigned processes_unknown;
};

/* Rebuild change `doc` (the API's shape: model, from, to, steps, serves, holders, window,
 * gpu) into *ret: layouts by the catalog model's profile names (or NVML ids) and starts.
 * Returns 0, or AL_E_INVAL naming what is wrong (an unknown model or profile, a bad time). */
int al_migcheck_change(json_t *doc, struct al_migchange *ret, struct al_err *reterr);

/* The observation of GPU `gpu_id` on `node` (al_store_node_get's object; NULL: no such node)
 * at `now` into f->obs: the GPU's `observed` (profiles by name, else NVML id, of f->change's
 * model; a process on the GPU instance of its gi, whichever compute instance), the node's
 * online flag and heartbeat age, the GPU's health. When its MIG state is unknown, f->unobserved
 * says why; instances outside the catalog are named in f->unmatched. f->change must be
 * filled. */
void al_migcheck_observe(json_t *node, const char *gpu_id, int64_t now,
                         struct al_migcheck_facts *f);

/* Run core's checks on the facts at `now`; a change that could not be read, and the checks
 * that need a MIG state nobody reported, fail naming why. Never fails. */
void al_migcheck_report(const struct al_migcheck_facts *f, int64_t now,
                        struct al_migcheck_report *ret);

/* {"pass", "failed", "items": [{"name", "pass", "found"}]}, new, or NULL (out of memory). */
json_t *al_migcheck_json(const struct al_migcheck_report *r);

/* Gather the facts of change `doc` from the store (its node, its GPU's observation, the acks)
 * into *f. Returns 0, or fails the call (a store error). */
int al_migcheck_gather(struct al_ctx *c, json_t *doc, struct al_migcheck_facts *f);

/* Does the change touch work of `org`: a reservation it holds on an instance the change
 * destroys, or a container of it there (with a mode switch: anywhere on the GPU)? */
bool al_migcheck_affects(const struct al_migcheck_facts *f, const char *org);

/* Change `doc` becomes approved by `by` (a user id, or "policy") at c->now: its state, its
 * "approved" {by, at, forced, reason} and updated_at set, stored, and the event
 * mig_change.approved {by, forced, reason} appended. Returns 0 or fails the call. */
int al_migcheck_approve(struct al_ctx *c, json_t *doc, const char *by, bool forced,
                        const char *reason);

/* The clock's auto-apply pass: each planned change whose node's window (node, zone, default)
 * has auto_apply, whose checks all pass now and whose GPU's previous change did not fail is
 * approved by "policy". Returns the number approved, or fails (a store error). */
int al_migcheck_auto_apply_pass(struct al_ctx *c);

#endif
