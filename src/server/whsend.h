/* whsend.h — one attempt of a webhook delivery: an HTTP POST with libcurl, only to http(s),
 * no redirect followed, bounded in time, the answer's body read and dropped. Runs without any
 * of the server's locks (server/webhooks.c calls it between its units of work). Internal to
 * src/server. */
#ifndef AL_SERVER_WHSEND_H
#define AL_SERVER_WHSEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define AL_WHSEND_TIMEOUT_S 10  /* a whole attempt, connection included */
#define AL_WHSEND_ERR_MAX   200 /* the error text kept in the delivery log */

/* What an attempt came to: the answer's status (-1: none, the error says why). */
struct al_whsend_result {
    int http_status;
    char error[AL_WHSEND_ERR_MAX];
};

/* Global set-up of libcurl: once, before any thread posts (al_webhooks_start). 0 or -1. */
int al_whsend_global_init(void);

/* POST `body` (`n` bytes, application/json) to `url` with the extra `headers` ("Name: value",
 * NULL-terminated). With `public_only`, a connection to an address that is not public
 * (core/webhook.h: loopback, private, link-local …) is refused before it is made, whatever the
 * name resolved to. An attempt ends early when *stop becomes true (the server stops). Fills
 * *res; returns 0 when an answer came (any status), -1 when none did. */
int al_whsend_post(const char *url, const char *const *headers, const char *body, size_t n,
                   bool public_only, const atomic_bool *stop, struct al_whsend_result *res);

#endif
