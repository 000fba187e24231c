/* provision.h — reservations that wait for their MIG layout (docs/migchange.md, "Provisioning").
 * At its start, a reservation with a MIG instance that is not on a GPU allot configures (the
 * GPU's stored observation lacks it; for a whole-GPU reservation: MIG is on there) goes
 * provisioning, not active (reservation.provisioning; its document's `provisioning` names the
 * change that serves it); it becomes active when that change is applied, or when the clock sees
 * the GPU's observation show its instances. What a change's end does to the reservations it
 * serves: their allocations get the new instances' `mig_uuid`, or their document says the
 * change failed. GPUs without an observation (not configured by allot) are never waited for.
 * Each call works inside the caller's unit of work and fails the call on error. Internal to
 * src/server. */
#ifndef AL_SERVER_PROVISION_H
#define AL_SERVER_PROVISION_H

#include "server/http.h"

#include <jansson.h>

/* Whether reservation r lacks an instance on a GPU allot configures: 1 when it does, 0 when
 * not; each allocation whose instance is there gets its `mig_uuid` when it has none. *gpus:
 * al_store_gpu_all's list, loaded when NULL and needed (the caller decrefs it). Negative: the
 * call failed. */
int al_provision_missing(struct al_ctx *c, json_t **gpus, json_t *r);

/* Scheduled reservation r, at its start, waits for its layout: provisioning {change: the open
 * change that serves it, or null}, and the move's event. */
int al_provision_start(struct al_ctx *c, json_t *r);

/* Provisioning reservation r has its layout (by change `change`, NULL: seen in a report):
 * active, provisioning.state "ready", and the move's event. */
int al_provision_ready(struct al_ctx *c, json_t *r, const char *change);

/* Change `id` was planned to serve the reservations `ids` ([id]): those provisioning name it. */
int al_provision_planned(struct al_ctx *c, const char *id, json_t *ids);

/* Change `ch` (its document) was applied and GPU ch.gpu holds `instances` ([{profile,
 * profile_id, start, uuid}]): the served reservations' allocations there get mig_uuid, those
 * provisioning become active. Their ids go into `ids` (an array). */
int al_provision_applied(struct al_ctx *c, json_t *ch, json_t *instances, json_t *ids);

/* Change `ch` failed with `error`: each served reservation not ended says so in its
 * `provisioning` {change, state "failed", error}. Their ids go into `ids` (an array). */
int al_provision_failed(struct al_ctx *c, json_t *ch, const char *error, json_t *ids);

#endif
