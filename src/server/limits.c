/* limits.c — the table of the API's field limits and the check of a string against one. */
#include "server/limits.h"

#include "core/fleet.h"
#include "server/http.h"

#include <ctype.h>
#include <string.h>

/* A stored hold keeps its profile name in 32 bytes (store/store.h). */
#define PROFILE_MAX 31

const struct al_limit al_limits[AL_LIMIT_N] = {
    [AL_LIMIT_NAME] = {"name", 1, AL_HTTP_MAX_NAME, AL_CHARS_NAME},
    [AL_LIMIT_NODE] = {"node", 1, AL_FLEET_NAME_MAX - 1, AL_CHARS_NAME},
    [AL_LIMIT_ZONE] = {"zone", 1, AL_FLEET_ZONE_MAX - 1, AL_CHARS_NAME},
    [AL_LIMIT_UUID] = {"uuid", 1, AL_FLEET_UUID_MAX - 1, AL_CHARS_TEXT},
    [AL_LIMIT_PROFILE] = {"profile", 1, PROFILE_MAX, AL_CHARS_PROFILE},
    [AL_LIMIT_MODEL] = {"model", 1, AL_HTTP_MAX_NAME, AL_CHARS_TEXT},
    [AL_LIMIT_DISPLAY] = {"display_name", 0, 256, AL_CHARS_TEXT},
    [AL_LIMIT_TEXT] = {"text", 0, AL_HTTP_MAX_TEXT, AL_CHARS_TEXT},
    [AL_LIMIT_IDEM] = {"idempotency_key", 1, AL_HTTP_MAX_IDEM, AL_CHARS_TEXT},
};

static bool char_ok(enum al_chars chars, unsigned char ch)
{
    if (ch == '\0')
        return false;
    if (chars == AL_CHARS_TEXT)
        return true;
    if (isalnum(ch) || ch == '.' || ch == '_' || ch == '-')
        return true;
    return chars == AL_CHARS_PROFILE && (ch == '+' || ch == ':');
}

bool al_limit_ok(enum al_limit_id id, const char *s, size_t len)
{
    const struct al_limit *l = (unsigned)id < AL_LIMIT_N ? &al_limits[id] : NULL;
    if (!l || !s || len < l->min || len > l->max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!char_ok(l->chars, (unsigned char)s[i]))
            return false;
    return true;
}

const char *al_limit_chars(enum al_chars chars)
{
    switch (chars) {
    case AL_CHARS_NAME:
        return "A-Z a-z 0-9 . _ -";
    case AL_CHARS_PROFILE:
        return "A-Z a-z 0-9 . _ - + :";
    default:
        return "any but NUL";
    }
}
