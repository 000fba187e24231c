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

/* Whether the first `bits` bits of `a` and `net` are equal. */
static bool in_prefix(const unsigned char *a, const unsigned char *net, int bits)
{
    int i = 0;
    for (; bits >= 8; bits -= 8, i++)
        if (a[i] != net[i])
            return false;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return bits == 0 || (a[i] & mask) == (net[i] & mask);
}

static bool v4_public(const unsigned char *a)
{
    /* this network, RFC 1918, shared (RFC 6598), loopback, link-local, IETF protocol
     * assignments, multicast and reserved (224/3) */
    static const struct {
        unsigned char net[4];
        int bits;
    } not_public[] = {
        {{0, 0, 0, 0}, 8},    {{10, 0, 0, 0}, 8},     {{100, 64, 0, 0}, 10},
        {{127, 0, 0, 0}, 8},  {{169, 254, 0, 0}, 16}, {{172, 16, 0, 0}, 12},
        {{192, 0, 0, 0}, 24}, {{192, 168, 0, 0}, 16}, {{224, 0, 0, 0}, 3},
    };
    for (size_t i = 0; i < sizeof not_public / sizeof not_public[0]; i++)
        if (in_prefix(a, not_public[i].net, not_public[i].bits))
            return false;
    return true;
}

bool al_webhook_addr_public(const unsigned char *ip, size_t len)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char zero[15] = {0};
    if (len == 4)
        return v4_public(ip);
    if (len != 16)
        return false;
    if (memcmp(ip, mapped, sizeof mapped) == 0)
        return v4_public(ip + 12);
    if (memcmp(ip, zero, sizeof zero) == 0) /* :: and ::1 */
        return false;
    return !(ip[0] == 0xff ||                            /* multicast */
             (ip[0] & 0xfe) == 0xfc ||                   /* unique local fc00::/7 */
             (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80)); /* link-local fe80::/10 */
}
