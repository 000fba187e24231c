/* notices.h — the notices ahead of a reservation's window, for its org's users and webhooks:
 * reservation.starting (srv->start_notice_s before a scheduled reservation's start) and
 * reservation.ending (srv->end_warning_s before an active one's end). Internal to src/server. */
#ifndef AL_SERVER_NOTICES_H
#define AL_SERVER_NOTICES_H

struct al_ctx;

/* The clock's pass (server/jobs.c, in its unit of work): each notice due and not given is
 * appended once, with its record in the store (migration 10's notices) in the same unit, so
 * that neither a later tick nor a restart gives it again. A notice whose moment passed while
 * the server was down is not given late (the reservation.active or .ended event says more).
 * Returns the number appended, or a negative code (the call failed). */
int al_notices_pass(struct al_ctx *c);

#endif
