/* limits.h — the bounds of the API's string fields in one table: what each may hold (length
 * and characters). The validators (server/http.h) take their bounds from it, docs/api.md
 * lists it ("Field limits"), and tests/unit/test_limits.c fails when the two differ. Values
 * that core sizes (node names, zones, GPU uuids: core/fleet.h) come from core's constants.
 * Internal to src/server. */
#ifndef AL_SERVER_LIMITS_H
#define AL_SERVER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>

/* The characters a field may hold. */
enum al_chars {
    AL_CHARS_NAME,    /* A-Z a-z 0-9 . _ - */
    AL_CHARS_PROFILE, /* those, + and : ("1g.10gb+me", "2g.48gb+me.all", "id:19") */
    AL_CHARS_TEXT,    /* any byte but NUL (UTF-8, as JSON strings are) */
};

enum al_limit_id {
    AL_LIMIT_NAME,    /* org names, customer codes, user names, label keys, enum values */
    AL_LIMIT_NODE,    /* node names */
    AL_LIMIT_ZONE,    /* zones, of nodes and of requests */
    AL_LIMIT_UUID,    /* GPU uuids */
    AL_LIMIT_PROFILE, /* MIG profile names */
    AL_LIMIT_MODEL,   /* GPU model names (matched leniently against the catalog) */
    AL_LIMIT_DISPLAY, /* an org's display name */
    AL_LIMIT_TEXT,    /* free text: notes, reasons, image … */
    AL_LIMIT_IDEM,    /* the Idempotency-Key header */
    AL_LIMIT_N
};

struct al_limit {
    const char *key; /* the limit's name in docs/api.md's table */
    size_t min, max; /* length in bytes */
    enum al_chars chars;
};

/* The table, indexed by enum al_limit_id. */
extern const struct al_limit al_limits[AL_LIMIT_N];

/* Does `s` (`len` bytes) fit limit `id`: length and characters? */
bool al_limit_ok(enum al_limit_id id, const char *s, size_t len);

/* The characters of `chars` as docs/api.md writes them ("A-Z a-z 0-9 . _ -"). Static. */
const char *al_limit_chars(enum al_chars chars);

#endif
