/* state.c — transition tables of requests and reservations (see docs/design.md, "The request →
 * reservation flow"). A self-loop row (extend, re-quote) is a transition like any other, so
 * that every change, even one that keeps the state, is checked here. */
#include "core/state.h"

#include "core/err.h"

#include <stddef.h>
#include <string.h>

struct transition {
    const char *from, *event, *to;
};

static const char *const request_states[] = {"submitted", "quoted",    "approved",
                                             "accepted",  "confirmed", "rejected",
                                             "cancelled", "expired",   NULL};

static const struct transition request_table[] = {
    {"submitted", "quote", "quoted"},     {"quoted", "quote", "quoted"},
    {"quoted", "approve", "approved"},    {"approved", "accept", "accepted"},
    {"accepted", "confirm", "confirmed"}, {"submitted", "reject", "rejected"},
    {"quoted", "reject", "rejected"},     {"approved", "reject", "rejected"},
    {"accepted", "reject", "rejected"},   {"submitted", "cancel", "cancelled"},
    {"quoted", "cancel", "cancelled"},    {"approved", "cancel", "cancelled"},
    {"accepted", "cancel", "cancelled"},  {"quoted", "expire", "expired"},
    {"approved", "expire", "expired"},    {"accepted", "expire", "expired"},
};

static const char *const reservation_states[] = {"scheduled", "active", "ended", "cancelled", NULL};

static const struct transition reservation_table[] = {
    {"scheduled", "start", "active"},     {"active", "end", "ended"},
    {"scheduled", "cancel", "cancelled"}, {"active", "cancel", "cancelled"},
    {"scheduled", "extend", "scheduled"}, {"active", "extend", "active"},
};

struct machine {
    const char *const *states;
    const struct transition *rows;
    size_t nrows;
};

static const struct machine machines[] = {
    [AL_ENTITY_REQUEST] = {request_states, request_table,
                           sizeof request_table / sizeof request_table[0]},
    [AL_ENTITY_RESERVATION] = {reservation_states, reservation_table,
                               sizeof reservation_table / sizeof reservation_table[0]},
};

static const struct machine *machine(enum al_entity e)
{
    return (unsigned)e < sizeof machines / sizeof machines[0] ? &machines[e] : NULL;
}

int al_state_known(enum al_entity entity, const char *state)
{
    const struct machine *m = machine(entity);
    if (!m || !state)
        return 0;
    for (const char *const *s = m->states; *s; s++)
        if (strcmp(*s, state) == 0)
            return 1;
    return 0;
}

int al_state_next(enum al_entity entity, const char *from, const char *event, const char **to)
{
    const struct machine *m = machine(entity);
    int event_known = 0;
    if (!m || !event || !al_state_known(entity, from))
        return AL_E_INVAL;
    for (size_t i = 0; i < m->nrows; i++) {
        if (strcmp(m->rows[i].event, event) != 0)
            continue;
        event_known = 1;
        if (strcmp(m->rows[i].from, from) == 0) {
            *to = m->rows[i].to;
            return 0;
        }
    }
    return event_known ? AL_E_STATE : AL_E_INVAL;
}

int al_state_final(enum al_entity entity, const char *state)
{
    const struct machine *m = machine(entity);
    if (!al_state_known(entity, state))
        return 0;
    for (size_t i = 0; i < m->nrows; i++)
        if (strcmp(m->rows[i].from, state) == 0)
            return 0;
    return 1;
}

const char *al_state_initial(enum al_entity entity)
{
    const struct machine *m = machine(entity);
    return m ? m->states[0] : NULL;
}
