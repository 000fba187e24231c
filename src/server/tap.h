/* tap.h — the answer tap of debug builds: with ALLOT_ANSWER_TAP=DIR in the server's
 * environment, every answer the server sends is appended as one JSON line (method, route
 * pattern, path, status, content type, body) to DIR/answers-<pid>.jsonl, which
 * tests/openapi/check-answers.mjs validates against docs/openapi.yaml after each integration
 * suite. Only builds with AL_DEBUG have it: the file holds bodies as sent, a new user's token
 * included, so a release build must never be able to write one. Internal to src/server. */
#ifndef AL_SERVER_TAP_H
#define AL_SERVER_TAP_H

#include "server/call.h"

#ifdef AL_DEBUG
/* Record the answer `rep` to the call `k` (its request `method` as sent: HEAD stays HEAD) when
 * the tap is on; the first call reads ALLOT_ANSWER_TAP and opens the file. Thread-safe: one
 * line per answer, whole, under a lock. A failure to record is said once on stderr and turns
 * the tap off (the answer is sent regardless). */
void al_tap_answer(const struct al_call *k, const char *method, const struct al_reply *rep);
#else
static inline void al_tap_answer(const struct al_call *k, const char *method,
                                 const struct al_reply *rep)
{
    (void)k;
    (void)method;
    (void)rep;
}
#endif

#endif
