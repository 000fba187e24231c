/* webhook.h — the pure rules of webhooks (docs/webhooks.md): which events a hook's filter
 * takes ("*", an exact kind, or a prefix such as "reservation.*"), how long a failed delivery
 * waits before its next attempt (exponential, with full jitter), and when a hook that keeps
 * failing is disabled. No I/O, no clock, no randomness of its own: the caller passes the time
 * and the random draw. */
#ifndef AL_CORE_WEBHOOK_H
#define AL_CORE_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AL_WEBHOOK_PATTERN_MAX  64    /* one entry of a hook's event filter */
#define AL_WEBHOOK_PATTERNS_MAX 32    /* entries in a hook's event filter */
#define AL_WEBHOOK_ATTEMPTS     8     /* attempts of one delivery before it has failed */
#define AL_WEBHOOK_BASE_S       10    /* the first retry's nominal wait */
#define AL_WEBHOOK_BASE_MAX_S   600   /* the largest first wait (--webhook-retry-base) */
#define AL_WEBHOOK_FAIL_LIMIT   50    /* consecutive failed attempts that disable a hook ... */
#define AL_WEBHOOK_FAIL_SPAN_S  86400 /* ... or failing without a success for this long */

/* Whether `pattern` is a filter entry a hook may hold: "*", the name of a kind of core/event.h
 * ("balance.low"), or "<prefix>.*" where at least one kind begins with "<prefix>.". */
bool al_webhook_pattern_ok(const char *pattern);

/* Whether an event of kind `kind` passes filter entry `pattern` (one that al_webhook_pattern_ok
 * accepts): "*" takes every kind, "x.*" every kind beginning with "x.", else equality. */
bool al_webhook_pattern_matches(const char *pattern, const char *kind);

/* The nominal wait in seconds after failed attempt `attempt` (1, 2, …) with first wait
 * `base_s` (1..AL_WEBHOOK_BASE_MAX_S, clamped): base, 3, 12, 60, 360 then 2160 times base
 * (10 s, 30 s, 2 min, 10 min, 1 h, then 6 h for the default base). */
int64_t al_webhook_backoff_cap(int attempt, int64_t base_s);

/* The wait actually taken: full jitter, uniform in [1, cap] from the random draw `r`, so that
 * the retries of many deliveries failed at once spread out instead of arriving together. */
int64_t al_webhook_backoff(int attempt, int64_t base_s, uint32_t r);

/* Whether a hook is disabled after one more failed attempt: `failures` consecutive failed
 * attempts now (this one counted) reach `limit`, or the hook has failed without a success since
 * `failing_since` (unix seconds, the first failure of the run) for AL_WEBHOOK_FAIL_SPAN_S by
 * `now`. */
bool al_webhook_should_disable(int64_t failures, int64_t limit, int64_t failing_since, int64_t now);

/* Whether IP address `ip` (`len` 4: IPv4, 16: IPv6, network byte order) is a public unicast
 * address: not loopback, private (RFC 1918, fc00::/7), shared (100.64/10), link-local,
 * unspecified, multicast or reserved; an IPv4-mapped IPv6 address is judged as its IPv4 one.
 * An org's webhook may reach only these (server/whsend.h: no request into allot's own
 * network on a customer's behalf). */
bool al_webhook_addr_public(const unsigned char *ip, size_t len);

#endif
