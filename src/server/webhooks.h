/* webhooks.h — the webhook dispatcher (docs/webhooks.md): a thread that fans committed events
 * out to the hooks whose filter and org they match, as durable deliveries (the outbox), then
 * POSTs the deliveries due, signed, and logs each attempt; a failed one is retried with
 * exponential backoff and full jitter (core/webhook.h), and a hook that keeps failing is
 * disabled (a webhook.disabled event). Its reads and writes are units of work through
 * server/txn.h, as the clock's are; no lock is held during an attempt. Deliveries survive a
 * restart: the cursor over the event log and the outbox are in the database. Internal to
 * src/server. */
#ifndef AL_SERVER_WEBHOOKS_H
#define AL_SERVER_WEBHOOKS_H

#include "core/err.h"
#include "server/whkey.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct al_srv;
struct al_webhooks; /* in struct al_srv: NULL until started */

struct al_webhooks_opts {
    const char *key_file; /* the secret key file (server/whkey.h); NULL: "<db>.key" */
    const char *db;       /* the database's path, for the default key file */
    int64_t retry_base_s; /* the first retry's nominal wait (0: AL_WEBHOOK_BASE_S) */
    int64_t fail_limit;   /* consecutive failed attempts that disable a hook (0: default) */
    unsigned poll_ms;     /* how often the outbox is looked at when no event woke it (0: 500) */
    bool targets_any;     /* an org's hook may reach any address, not only public ones */
};

/* The key file's path for `o` into `buf`. 0, or AL_E_INVAL when it does not fit. */
int al_webhooks_key_path(const struct al_webhooks_opts *o, char *buf, size_t cap,
                         struct al_err *reterr);

/* Load (or create) the key and start the dispatcher thread; srv->webhooks is set. libsodium
 * must be initialized and the group commit started. */
int al_webhooks_start(struct al_srv *srv, const struct al_webhooks_opts *o, struct al_err *reterr);
/* Stop the thread (an attempt under way is cut short and retried after the next start) and
 * free srv->webhooks; before the event streams and the group commit stop. Harmless when not
 * started. */
void al_webhooks_stop(struct al_srv *srv);

/* Wake the dispatcher: a delivery was queued (a test ping). Harmless when not started. */
void al_webhooks_kick(struct al_srv *srv);

/* The key that seals hook secrets, or NULL when the dispatcher is not started (then no hook
 * can be created). */
const struct al_whkey *al_webhooks_key(const struct al_srv *srv);

/* The body of a delivery of event `ev` (as GET /v1/events shows it: id, at, kind …):
 * {"id", "type", "created_at", "data": ev}, compact JSON (caller frees); NULL when out of
 * memory. */
char *al_webhooks_payload(const char *id, const char *type, const char *created_at, json_t *ev);

#endif
