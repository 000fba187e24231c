/* webhook.c — webhooks' pure rules: event filters, retry waits, when a hook is disabled. */
#include "core/webhook.h"

#include "core/event.h"

#include <string.h>

/* Whether some kind's name begins with `prefix` (`n` bytes, ending with '.'). */
static bool some_kind_begins(const char *prefix, size_t n)
{
    for (int k = 0; k < AL_EVENT_NKINDS; k++) {
        const char *name = al_event_kind_name((enum al_event_kind)k);
        if (name && strncmp(name, prefix, n) == 0)
            return true;
    }
    return false;
}

bool al_webhook_pattern_ok(const char *pattern)
{
    size_t n = pattern ? strlen(pattern) : 0;
    if (n == 0 || n > AL_WEBHOOK_PATTERN_MAX)
        return false;
    if (strcmp(pattern, "*") == 0)
        return true;
    if (n >= 3 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return memchr(pattern, '*', n - 1) == NULL && some_kind_begins(pattern, n - 1);
    for (int k = 0; k < AL_EVENT_NKINDS; k++) {
        const char *name = al_event_kind_name((enum al_event_kind)k);
        if (name && strcmp(name, pattern) == 0)
            return true;
    }
    return false;
}

bool al_webhook_pattern_matches(const char *pattern, const char *kind)
{
    size_t n = strlen(pattern);
    if (strcmp(pattern, "*") == 0)
        return true;
    if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
        return strncmp(kind, pattern, n - 1) == 0;
    return strcmp(kind, pattern) == 0;
}

int64_t al_webhook_backoff_cap(int attempt, int64_t base_s)
{
    static const int64_t factor[] = {1, 3, 12, 60, 360, 2160};
    const int last = (int)(sizeof factor / sizeof factor[0]) - 1;
    int i = attempt < 1 ? 0 : attempt - 1;
    if (base_s < 1)
        base_s = 1;
    if (base_s > AL_WEBHOOK_BASE_MAX_S)
        base_s = AL_WEBHOOK_BASE_MAX_S;
    return base_s * factor[i > last ? last : i];
}

int64_t al_webhook_backoff(int attempt, int64_t base_s, uint32_t r)
{
    int64_t cap = al_webhook_backoff_cap(attempt, base_s);
    return 1 + (int64_t)(r % (uint64_t)cap);
}

bool al_webhook_should_disable(int64_t failures, int64_t limit, int64_t failing_since, int64_t now)
{
    if (limit > 0 && failures >= limit)
        return true;
    return failing_since > 0 && now - failing_since >= AL_WEBHOOK_FAIL_SPAN_S;
}
