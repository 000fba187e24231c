/* state.h — the state machines of requests and reservations: one transition table per
 * entity, and the only way the services change an entity's state. Pure: no I/O. */
#ifndef AL_CORE_STATE_H
#define AL_CORE_STATE_H

enum al_entity {
    AL_ENTITY_REQUEST,
    AL_ENTITY_RESERVATION,
};

/* The state reached from `from` by `event` ("quote", "approve", …) for `entity`.
 * Returns 0 with *to set (a static string), AL_E_INVAL for an unknown state or event,
 * AL_E_STATE when the table has no such transition. */
int al_state_next(enum al_entity entity, const char *from, const char *event, const char **to);

/* Whether `state` is a known state of `entity` (1) or not (0). */
int al_state_known(enum al_entity entity, const char *state);

/* Whether `state` is final (no transition leaves it). */
int al_state_final(enum al_entity entity, const char *state);

/* The initial state of `entity` (static string). */
const char *al_state_initial(enum al_entity entity);

#endif
