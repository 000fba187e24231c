/* state.c — transition tables of requests and reservations (docs/api.md, "Request states and
 * transitions", "Reservation states"), over enums, and the names of their states and events.
 * A self-loop row (extend, re-quote) is a transition like any other, so that every change,
 * even one that keeps the state, is checked here. Each row names the event kind it appends,
 * so that the log's kinds are decided here too, not assembled from strings by the server. */
#include "core/state.h"

#include "core/assert.h"
#include "core/err.h"

#include <stddef.h>
#include <string.h>

/* ---- names ---- */

/* The names are the wire format (JSON documents, the store's state column, event data):
 * they never change. Each table is indexed by its enum; the size checks and test_state.c
 * (every value named, every name parsed back to it) keep them in step. */
static const char *const req_states[] = {
    [AL_REQ_SUBMITTED] = "submitted", [AL_REQ_QUOTED] = "quoted",
    [AL_REQ_APPROVED] = "approved",   [AL_REQ_ACCEPTED] = "accepted",
    [AL_REQ_CONFIRMED] = "confirmed", [AL_REQ_REJECTED] = "rejected",
    [AL_REQ_CANCELLED] = "cancelled", [AL_REQ_EXPIRED] = "expired",
};
static const char *const req_events[] = {
    [AL_REQ_EV_QUOTE] = "quote",     [AL_REQ_EV_APPROVE] = "approve", [AL_REQ_EV_ACCEPT] = "accept",
    [AL_REQ_EV_CONFIRM] = "confirm", [AL_REQ_EV_REJECT] = "reject",   [AL_REQ_EV_CANCEL] = "cancel",
    [AL_REQ_EV_EXPIRE] = "expire",
};
static const char *const rsv_states[] = {
    [AL_RSV_SCHEDULED] = "scheduled", [AL_RSV_PROVISIONING] = "provisioning",
    [AL_RSV_ACTIVE] = "active",       [AL_RSV_ENDED] = "ended",
    [AL_RSV_CANCELLED] = "cancelled",
};
static const char *const rsv_events[] = {
    [AL_RSV_EV_START] = "start",         [AL_RSV_EV_END] = "end",
    [AL_RSV_EV_CANCEL] = "cancel",       [AL_RSV_EV_EXTEND] = "extend",
    [AL_RSV_EV_PROVISION] = "provision", [AL_RSV_EV_READY] = "ready",
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
_Static_assert(COUNT(req_states) == AL_REQ_NSTATES, "a name for every request state");
_Static_assert(COUNT(req_events) == AL_REQ_NEVENTS, "a name for every request event");
_Static_assert(COUNT(rsv_states) == AL_RSV_NSTATES, "a name for every reservation state");
_Static_assert(COUNT(rsv_events) == AL_RSV_NEVENTS, "a name for every reservation event");

/* names[i] of a table of n names; an index outside it is a caller's bug. */
static const char *name_of(const char *const *names, int n, int i)
{
    const char *name = i >= 0 && i < n ? names[i] : NULL;
    AL_ASSERT(name != NULL);
    return name;
}

/* The index of `name` in a table of n names, or -1. */
static int index_of(const char *const *names, int n, const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *al_state_req_name(enum al_req_state s)
{
    return name_of(req_states, AL_REQ_NSTATES, (int)s);
}

const char *al_state_req_event_name(enum al_req_event ev)
{
    return name_of(req_events, AL_REQ_NEVENTS, (int)ev);
}

int al_state_req_parse(const char *name, enum al_req_state *ret)
{
    int i = index_of(req_states, AL_REQ_NSTATES, name);
    if (i < 0)
        return AL_E_INVAL;
    *ret = (enum al_req_state)i;
    return 0;
}

const char *al_state_rsv_name(enum al_rsv_state s)
{
    return name_of(rsv_states, AL_RSV_NSTATES, (int)s);
}

const char *al_state_rsv_event_name(enum al_rsv_event ev)
{
    return name_of(rsv_events, AL_RSV_NEVENTS, (int)ev);
}

int al_state_rsv_parse(const char *name, enum al_rsv_state *ret)
{
    int i = index_of(rsv_states, AL_RSV_NSTATES, name);
    if (i < 0)
        return AL_E_INVAL;
    *ret = (enum al_rsv_state)i;
    return 0;
}

bool al_state_known(enum al_entity entity, const char *name)
{
    switch (entity) {
    case AL_ENTITY_REQUEST:
        return index_of(req_states, AL_REQ_NSTATES, name) >= 0;
    case AL_ENTITY_RESERVATION:
        return index_of(rsv_states, AL_RSV_NSTATES, name) >= 0;
    }
    return false;
}

/* ---- requests ---- */

struct req_move {
    enum al_req_state from;
    enum al_req_event ev;
    enum al_req_state to;
    enum al_event_kind kind;
};

static const struct req_move req_table[] = {
    {AL_REQ_SUBMITTED, AL_REQ_EV_QUOTE, AL_REQ_QUOTED, AL_EVENT_REQUEST_QUOTED},
    {AL_REQ_QUOTED, AL_REQ_EV_QUOTE, AL_REQ_QUOTED, AL_EVENT_REQUEST_QUOTED},
    {AL_REQ_QUOTED, AL_REQ_EV_APPROVE, AL_REQ_APPROVED, AL_EVENT_REQUEST_APPROVED},
    {AL_REQ_APPROVED, AL_REQ_EV_ACCEPT, AL_REQ_ACCEPTED, AL_EVENT_REQUEST_ACCEPTED},
    {AL_REQ_ACCEPTED, AL_REQ_EV_CONFIRM, AL_REQ_CONFIRMED, AL_EVENT_REQUEST_CONFIRMED},
    {AL_REQ_SUBMITTED, AL_REQ_EV_REJECT, AL_REQ_REJECTED, AL_EVENT_REQUEST_REJECTED},
    {AL_REQ_QUOTED, AL_REQ_EV_REJECT, AL_REQ_REJECTED, AL_EVENT_REQUEST_REJECTED},
    {AL_REQ_APPROVED, AL_REQ_EV_REJECT, AL_REQ_REJECTED, AL_EVENT_REQUEST_REJECTED},
    {AL_REQ_ACCEPTED, AL_REQ_EV_REJECT, AL_REQ_REJECTED, AL_EVENT_REQUEST_REJECTED},
    {AL_REQ_SUBMITTED, AL_REQ_EV_CANCEL, AL_REQ_CANCELLED, AL_EVENT_REQUEST_CANCELLED},
    {AL_REQ_QUOTED, AL_REQ_EV_CANCEL, AL_REQ_CANCELLED, AL_EVENT_REQUEST_CANCELLED},
    {AL_REQ_APPROVED, AL_REQ_EV_CANCEL, AL_REQ_CANCELLED, AL_EVENT_REQUEST_CANCELLED},
    {AL_REQ_ACCEPTED, AL_REQ_EV_CANCEL, AL_REQ_CANCELLED, AL_EVENT_REQUEST_CANCELLED},
    {AL_REQ_QUOTED, AL_REQ_EV_EXPIRE, AL_REQ_EXPIRED, AL_EVENT_REQUEST_EXPIRED},
    {AL_REQ_APPROVED, AL_REQ_EV_EXPIRE, AL_REQ_EXPIRED, AL_EVENT_REQUEST_EXPIRED},
    {AL_REQ_ACCEPTED, AL_REQ_EV_EXPIRE, AL_REQ_EXPIRED, AL_EVENT_REQUEST_EXPIRED},
};

int al_state_req_next(enum al_req_state from, enum al_req_event ev, enum al_req_state *to,
                      enum al_event_kind *kind)
{
    AL_ASSERT((int)from >= 0 && (int)from < AL_REQ_NSTATES);
    AL_ASSERT((int)ev >= 0 && (int)ev < AL_REQ_NEVENTS);
    for (size_t i = 0; i < sizeof req_table / sizeof req_table[0]; i++) {
        const struct req_move *m = &req_table[i];
        if (m->from == from && m->ev == ev) {
            *to = m->to;
            if (kind)
                *kind = m->kind;
            return 0;
        }
    }
    return AL_E_STATE;
}

bool al_state_req_final(enum al_req_state s)
{
    AL_ASSERT((int)s >= 0 && (int)s < AL_REQ_NSTATES);
    for (size_t i = 0; i < sizeof req_table / sizeof req_table[0]; i++)
        if (req_table[i].from == s)
            return false;
    return true;
}

/* ---- reservations ---- */

struct rsv_move {
    enum al_rsv_state from;
    enum al_rsv_event ev;
    enum al_rsv_state to;
    enum al_event_kind kind;
};

/* provisioning is active for everything but access: it ends, is cancelled and extended as
 * active is. */
static const struct rsv_move rsv_table[] = {
    {AL_RSV_SCHEDULED, AL_RSV_EV_START, AL_RSV_ACTIVE, AL_EVENT_RESERVATION_ACTIVE},
    {AL_RSV_SCHEDULED, AL_RSV_EV_PROVISION, AL_RSV_PROVISIONING, AL_EVENT_RESERVATION_PROVISIONING},
    {AL_RSV_PROVISIONING, AL_RSV_EV_READY, AL_RSV_ACTIVE, AL_EVENT_RESERVATION_ACTIVE},
    {AL_RSV_ACTIVE, AL_RSV_EV_END, AL_RSV_ENDED, AL_EVENT_RESERVATION_ENDED},
    {AL_RSV_PROVISIONING, AL_RSV_EV_END, AL_RSV_ENDED, AL_EVENT_RESERVATION_ENDED},
    {AL_RSV_SCHEDULED, AL_RSV_EV_CANCEL, AL_RSV_CANCELLED, AL_EVENT_RESERVATION_CANCELLED},
    {AL_RSV_PROVISIONING, AL_RSV_EV_CANCEL, AL_RSV_CANCELLED, AL_EVENT_RESERVATION_CANCELLED},
    {AL_RSV_ACTIVE, AL_RSV_EV_CANCEL, AL_RSV_CANCELLED, AL_EVENT_RESERVATION_CANCELLED},
    {AL_RSV_SCHEDULED, AL_RSV_EV_EXTEND, AL_RSV_SCHEDULED, AL_EVENT_RESERVATION_EXTENDED},
    {AL_RSV_PROVISIONING, AL_RSV_EV_EXTEND, AL_RSV_PROVISIONING, AL_EVENT_RESERVATION_EXTENDED},
    {AL_RSV_ACTIVE, AL_RSV_EV_EXTEND, AL_RSV_ACTIVE, AL_EVENT_RESERVATION_EXTENDED},
};

int al_state_rsv_next(enum al_rsv_state from, enum al_rsv_event ev, enum al_rsv_state *to,
                      enum al_event_kind *kind)
{
    AL_ASSERT((int)from >= 0 && (int)from < AL_RSV_NSTATES);
    AL_ASSERT((int)ev >= 0 && (int)ev < AL_RSV_NEVENTS);
    for (size_t i = 0; i < sizeof rsv_table / sizeof rsv_table[0]; i++) {
        const struct rsv_move *m = &rsv_table[i];
        if (m->from == from && m->ev == ev) {
            *to = m->to;
            if (kind)
                *kind = m->kind;
            return 0;
        }
    }
    return AL_E_STATE;
}

bool al_state_rsv_final(enum al_rsv_state s)
{
    AL_ASSERT((int)s >= 0 && (int)s < AL_RSV_NSTATES);
    for (size_t i = 0; i < sizeof rsv_table / sizeof rsv_table[0]; i++)
        if (rsv_table[i].from == s)
            return false;
    return true;
}
