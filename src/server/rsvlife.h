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

#include "server/http.h"

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

#endif
