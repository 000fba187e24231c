/* state.h — the state machines of requests and reservations: their states and the events that
 * move them as enums, one transition table per entity over them (each row also names the kind
 * of event, core/event.h, that the move appends to the log), and the names that JSON and the
 * store use for them. The only way the services change an entity's state; names are for the
 * edges only (a row read from the store, a query's ?state=, a JSON document written). Pure. */
#ifndef AL_CORE_STATE_H
#define AL_CORE_STATE_H

#include "core/event.h"

#include <stdbool.h>

/* ---- requests ---- */

/* The states of a request: submitted is the initial one; confirmed, rejected, cancelled and
 * expired are final (no transition leaves them). */
enum al_req_state {
    AL_REQ_SUBMITTED,
    AL_REQ_QUOTED,
    AL_REQ_APPROVED,
    AL_REQ_ACCEPTED,
    AL_REQ_CONFIRMED,
    AL_REQ_REJECTED,
    AL_REQ_CANCELLED,
    AL_REQ_EXPIRED,
};
#define AL_REQ_NSTATES ((int)AL_REQ_EXPIRED + 1)

/* What moves a request: the route of the same name (POST /v1/requests/{id}/quote …), or the
 * clock (expire, when the quote's valid_until passes). */
enum al_req_event {
    AL_REQ_EV_QUOTE,
    AL_REQ_EV_APPROVE,
    AL_REQ_EV_ACCEPT,
    AL_REQ_EV_CONFIRM,
    AL_REQ_EV_REJECT,
    AL_REQ_EV_CANCEL,
    AL_REQ_EV_EXPIRE,
};
#define AL_REQ_NEVENTS ((int)AL_REQ_EV_EXPIRE + 1)

/* The state's name in JSON and the store ("submitted" …; static). A value outside the enum is
 * a programming error: AL_ASSERT in debug builds, NULL in release ones. */
const char *al_state_req_name(enum al_req_state s);
/* The state named `name` into *ret: 0, or AL_E_INVAL (*ret untouched) for NULL or a name
 * that is not a request state. */
int al_state_req_parse(const char *name, enum al_req_state *ret);
/* The event's name ("quote" …; static): the `event` of a request.<state> event's data, and
 * the verb of a refusal ("cannot quote a request that is expired"). NULL as above. */
const char *al_state_req_event_name(enum al_req_event ev);

/* The state a request in `from` reaches by `ev`: 0 with *to and, when `kind` is not NULL,
 * *kind (the event the move appends: request.<to>) set; AL_E_STATE, both untouched, when
 * the table has no such transition. */
int al_state_req_next(enum al_req_state from, enum al_req_event ev, enum al_req_state *to,
                      enum al_event_kind *kind);

/* Whether no transition leaves `s`. */
bool al_state_req_final(enum al_req_state s);

/* ---- reservations ---- */

/* The states of a reservation: scheduled is the initial one; ended and cancelled are final.
 * provisioning: its start has come, but a MIG instance it holds on a GPU that allot configures
 * is not there yet (a MIG change serves it, docs/migchange.md); it is billed as if active. */
enum al_rsv_state {
    AL_RSV_SCHEDULED,
    AL_RSV_PROVISIONING,
    AL_RSV_ACTIVE,
    AL_RSV_ENDED,
    AL_RSV_CANCELLED,
};
#define AL_RSV_NSTATES ((int)AL_RSV_CANCELLED + 1)

/* What moves a reservation: the clock (start at its start, end at its end) or a route
 * (POST /v1/reservations/{id}/cancel, …/extend). At its start the clock chooses start (its
 * layout is in place, or it needs none) or provision (a MIG instance it holds is missing on a
 * GPU allot configures); ready moves it on once the instances are there (the MIG change that
 * serves it applied, or a node's report shows them). */
enum al_rsv_event {
    AL_RSV_EV_START,
    AL_RSV_EV_END,
    AL_RSV_EV_CANCEL,
    AL_RSV_EV_EXTEND,
    AL_RSV_EV_PROVISION,
    AL_RSV_EV_READY,
};
#define AL_RSV_NEVENTS ((int)AL_RSV_EV_READY + 1)

/* As the request's functions above, for reservations. al_state_rsv_next's *kind is
 * reservation.<to>, or reservation.extended for extend (which keeps the state). */
const char *al_state_rsv_name(enum al_rsv_state s);
int al_state_rsv_parse(const char *name, enum al_rsv_state *ret);
const char *al_state_rsv_event_name(enum al_rsv_event ev);
int al_state_rsv_next(enum al_rsv_state from, enum al_rsv_event ev, enum al_rsv_state *to,
                      enum al_event_kind *kind);
bool al_state_rsv_final(enum al_rsv_state s);

/* ---- either ---- */

enum al_entity {
    AL_ENTITY_REQUEST,
    AL_ENTITY_RESERVATION,
};

/* Whether `name` names a state of `entity` (false for NULL): for a list's ?state= filter,
 * which the store compares as a string. */
bool al_state_known(enum al_entity entity, const char *name);

#endif
