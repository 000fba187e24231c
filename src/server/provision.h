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

/* Node `now` was just reported (`old`: its version before the report, NULL when it is new;
 * both as al_store_node_get returns them). Instances made again after a reset or a reboot have
 * new MIG device UUIDs: for each GPU whose observation shows a UUID the previous one did not,
 * each reservation scheduled, provisioning or active with a hold there whose allocation on the
 * GPU has a mig_uuid other than that of its instance (same profile and start) takes the
 * observed one: one write per reservation changed, no event. A GPU without an observation, or
 * with the UUIDs it had, costs no store read. 0 or fails the call. */
int al_provision_uuids(struct al_ctx *c, json_t *old, json_t *now);

#endif
