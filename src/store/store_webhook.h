/* store_webhook.h — the store's webhooks, the dispatcher's cursor, deliveries and their attempts
 * (store_webhook.c). Split from store.h, whose conventions (ownership, error codes, struct al_err)
 * hold here. */
#ifndef AL_STORE_STORE_WEBHOOK_H
#define AL_STORE_STORE_WEBHOOK_H

#include "store/store.h"

/* ---- webhooks (docs/webhooks.md; store_webhook.c) ----
 * A hook: {id, org|null, url, events: [patterns], description|null, active, created_at,
 * failures}; the store keeps its owner and its sealed secret beside it (never the secret in
 * clear: server/whkey.h). A removed hook is kept for its delivery log and found no more. */
struct al_store_webhook_new {
    const char *id, *owner, *org; /* org NULL: an operator's hook, every event */
    const char *url, *events;     /* events: a JSON array of patterns, as text */
    const char *description;      /* NULL: none */
    const char *secret_box;       /* the sealed secret */
    int64_t created_at;
};
int al_store_webhook_insert(struct al_store *s, const struct al_store_webhook_new *w,
                            struct al_err *reterr);
/* Hook `id` (not removed) into *ret; its sealed secret into *box (may be NULL; caller frees).
 * 0 or AL_E_NOTFOUND. */
int al_store_webhook_get(struct al_store *s, const char *id, json_t **ret, char **box,
                         struct al_err *reterr);
/* The hooks of org `org` (NULL: every hook), not removed, by id. */
int al_store_webhook_list(struct al_store *s, const char *org, struct al_store_page pg,
                          json_t **ret, char **next, struct al_err *reterr);
/* Every active hook as [{id, org|null, events}], for the dispatcher's fan-out. */
int al_store_webhook_active(struct al_store *s, json_t **ret, struct al_err *reterr);
/* Remove hook `id` (deleted) or disable it (not deleted) at `at`: no longer active, and its
 * deliveries not yet done fail with `why`. 0 or AL_E_NOTFOUND (no such active-or-disabled
 * hook). */
int al_store_webhook_end(struct al_store *s, const char *id, bool deleted, int64_t at,
                         const char *why, struct al_err *reterr);
/* An attempt to hook `id` failed at `at` (ok false) or succeeded (ok true): failures counted
 * up from failing_since, or both cleared. *failures and *since (may be NULL) get the new
 * values (since 0: not failing). */
int al_store_webhook_outcome(struct al_store *s, const char *id, bool ok, int64_t at,
                             int64_t *failures, int64_t *since, struct al_err *reterr);

/* The dispatcher's cursor: the last event fanned out to deliveries. While no hook is active
 * it does not move (nothing to fan out: no write); al_store_webhook_insert moves it to the last
 * event when the new hook is the only active one, so that a hook gets the events after its
 * creation. al_store_webhook_work, in one statement: AL_STORE_WH_HOOKS when an active hook
 * exists, with AL_STORE_WH_BACKLOG when events lie past the cursor too (a fan-out has work);
 * or an error. al_store_webhook_backlog: 1 when both, else 0; or an error. */
#define AL_STORE_WH_HOOKS   1
#define AL_STORE_WH_BACKLOG 2
int al_store_webhook_work(struct al_store *s, struct al_err *reterr);
int al_store_webhook_backlog(struct al_store *s, struct al_err *reterr);
int al_store_webhook_cursor(struct al_store *s, int64_t *seq, struct al_err *reterr);
int al_store_webhook_cursor_set(struct al_store *s, int64_t seq, struct al_err *reterr);

/* Deliveries: {id, webhook, event (seq)|null, kind, attempt, status (pending, retrying,
 * delivered, failed), http_status|null, error|null, next_at|null, created_at,
 * delivered_at|null, attempts: [{attempt, at, http_status|null, error|null}]}. */
struct al_store_delivery_new {
    const char *id, *webhook, *kind;
    int64_t event_seq; /* < 0: none (a test ping) */
    const char *payload;
    int64_t created_at; /* due at once */
};
int al_store_delivery_insert(struct al_store *s, const struct al_store_delivery_new *d,
                             struct al_err *reterr);
/* At most `limit` deliveries due by `now` (pending or retrying, next_at <= now) to active
 * hooks, soonest first: [{id, webhook, kind, payload, attempt, url, secret_box, org}]. */
int al_store_delivery_due(struct al_store *s, int64_t now, int limit, json_t **ret,
                          struct al_err *reterr);
/* The outcome of attempt `attempt` of delivery `id`, logged; the delivery takes `status` with
 * next_at (< 0: none) and delivered_at (< 0: none). http_status < 0: no answer. */
struct al_store_attempt {
    const char *id, *status, *error;
    int attempt, http_status;
    int64_t at, next_at, delivered_at;
};
int al_store_delivery_attempted(struct al_store *s, const struct al_store_attempt *a,
                                struct al_err *reterr);
/* Delivery `id` into *ret. 0 or AL_E_NOTFOUND. */
int al_store_delivery_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr);
/* The delivery log of hook `webhook`, oldest first, after delivery `after_id` (NULL: from the
 * page's cursor, or the start). */
int al_store_delivery_list(struct al_store *s, const char *webhook, const char *after_id,
                           struct al_store_page pg, json_t **ret, char **next,
                           struct al_err *reterr);

#endif
