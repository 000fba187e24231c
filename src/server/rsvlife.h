/* rsvlife.h — a reservation's units and their containers through its window
 * (docs/containers.md, "Members and instances", "Reservation end", "GPU failure"): who each
 * unit is assigned to, the warning ahead of the end and the end itself (stop, or go on
 * pay-as-you-go where the contract says so), and a GPU failing under a reservation (moved to
 * a spare that fits, else the reservation degraded and the affected time credited). The
 * decisions are core's (core/billing.h: al_billing_degraded_credit); these run inside the
 * caller's unit of work and fail the call (struct al_ctx) with their reason. Internal to
 * src/server. */
#ifndef AL_SERVER_RSVLIFE_H
#define AL_SERVER_RSVLIFE_H

#include "server/charge.h"
#include "server/http.h"

#include <stdbool.h>

#include <jansson.h>

/* Set `assigned_to` (a user id, or null) on each allocation of reservation document `r`, from
 * its unit assignments. 0, or the call's code. */
int al_rsvlife_assigned(struct al_ctx *c, json_t *r);

/* The clock's pass over reservations' containers: warn (container.warning {reason
 * "window_end", stop_at}) each live container of a reservation ending within end_warning_s;
 * at the end (the reservation ended, cancelled, or its end passed), continue it pay-as-you-go
 * where the reservation's contract says payg_after_window (a pool session on its unit, the
 * pool hold, target kind stays reservation with pool_session set, container.payg), else stop
 * it (reason "window_end"); GPUs reported unhealthy under an active or scheduled reservation:
 * move the allocation to a free spare that fits (reservation.gpu_replaced {unit, from, to},
 * the containers on it stopped with reason "gpu_failed"), else mark the reservation degraded
 * (doc member "degraded": {since, units, credited_micros}) and credit the affected time
 * (reservation.degraded). Returns the number of changes, or the call's code. */
int al_rsvlife_pass(struct al_ctx *c);

/* Is unit `unit` of reservation r degraded: its GPU failed, no spare fit, its time credited
 * (r's "degraded".units)? Such a unit takes no container (server/containers.c). */
bool al_rsvlife_unit_degraded(const json_t *r, int unit);

/* Reservation r was cancelled or shortened to `new_end` (the end it got), `before` its billing
 * state as it was: the credit of each of its degraded units follows (core's
 * al_billing_degraded_follow: the time after new_end, no longer charged, is taken back), is
 * written, and r's degraded.credited_micros updated (the caller writes r). Nothing when r is
 * not degraded. (An extension passes only when its GPUs may be sold, healthy: the unit is in
 * service again and its added time is charged as usual.) 0, or the call's code. */
int al_rsvlife_window_changed(struct al_ctx *c, json_t *r, const struct al_charge_res *before,
                              int64_t new_end);

#endif
