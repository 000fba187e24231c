/* store_webhook.c — webhooks (store.h, "webhooks"): the hooks with their sealed secrets, the
 * dispatcher's cursor over the event log, the deliveries (the outbox the dispatcher works
 * through, and the delivery log the API shows) and each delivery's attempts. */
#include "store/store_internal.h"
#include "store/store_webhook.h"

#include <stdlib.h>
#include <string.h>

/* ---- hooks ---- */

/* A new JSON value parsed from column i's text, or `dflt` (stolen) when absent or bad. */
static json_t *json_col(struct al_db_stmt *st, int i, json_t *dflt)
{
    const char *t = al_db_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    if (!v)
        return dflt;
    json_decref(dflt);
    return v;
}

/* A nullable integer column as JSON. */
static json_t *int_or_null(struct al_db_stmt *st, int i)
{
    return al_db_null(st, i) ? json_null() : json_integer((json_int_t)al_db_int64(st, i));
}

/* A row of id, org_id, url, events, description, active, created_at, failures. */
static json_t *hook_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:o,s:s?,s:o,s:o,s:b,s:I,s:I,s:s?}", "id", al_db_text(st, 0), "org",
                     al_store_str_or_null(al_db_text(st, 1)), "url", al_db_text(st, 2), "events",
                     json_col(st, 3, json_array()), "description",
                     al_store_str_or_null(al_db_text(st, 4)), "active", al_db_int(st, 5) != 0,
                     "created_at", (json_int_t)al_db_int64(st, 6), "failures",
                     (json_int_t)al_db_int64(st, 7), "_key", al_db_text(st, 0));
}

int al_store_webhook_insert(struct al_store *s, const struct al_store_webhook_new *w,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    /* the first active hook: the events before it, which no hook wanted, are behind it */
    /* the cursor is an event's public number: its position on PostgreSQL (store_flow.c) */
    rc = al_db_prep(s, &st, reterr,
                    AL_DB_SQL2(s,
                               "UPDATE webhook_cursor SET seq = (SELECT coalesce(max(seq), 0)"
                               " FROM events) WHERE NOT EXISTS (SELECT 1 FROM webhooks"
                               " WHERE active = 1)",
                               "UPDATE webhook_cursor SET seq = (SELECT coalesce(max(pos), 0)"
                               " FROM events) WHERE NOT EXISTS (SELECT 1 FROM webhooks"
                               " WHERE active = 1)"),
                    "");
    if (rc == 0 && (rc = al_db_run(s, st, reterr, "move webhook cursor")) > 0)
        rc = 0;
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO webhooks(id, owner, org_id, url, events, description,"
                        " secret_box, active, created_at) VALUES(?,?,?,?,?,?,?,1,?)",
                        "ttttttti", w->id, w->owner, w->org, w->url, w->events, w->description,
                        w->secret_box, w->created_at);
    if (rc == 0 && (rc = al_db_run(s, st, reterr, "insert webhook")) > 0)
        rc = 0;
    return al_db_unit_end(s, rc, reterr);
}

int al_store_webhook_get(struct al_store *s, const char *id, json_t **ret, char **box,
                         struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, org_id, url, events, description, active, created_at,"
                        " failures, secret_box FROM webhooks"
                        " WHERE id = ? AND deleted_at IS NULL",
                        "t", id);
    if (rc || (rc = al_db_row(s, st, reterr, "webhook")) != 0)
        return rc == AL_E_NOTFOUND ? al_err_set(reterr, rc, "no webhook %s", id) : rc;
    *ret = hook_row(st);
    if (box)
        *box = al_db_text(st, 8) ? strdup(al_db_text(st, 8)) : NULL;
    al_db_done(s, st);
    if (!*ret || (box && !*box)) {
        json_decref(*ret);
        *ret = NULL;
        if (box) {
            free(*box);
            *box = NULL;
        }
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    json_object_del(*ret, "_key");
    return 0;
}

int al_store_webhook_list(struct al_store *s, const char *org, struct al_store_page pg,
                          json_t **ret, char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, org_id, url, events, description, active, created_at,"
                        " failures FROM webhooks WHERE deleted_at IS NULL"
                        " AND (?1 IS NULL OR org_id = ?1) AND id > coalesce(?2, '')"
                        " ORDER BY id LIMIT ?3",
                        "tti", org, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, hook_row, ret, next, reterr);
}

static json_t *active_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:o,s:o}", "id", al_db_text(st, 0), "org",
                     al_store_str_or_null(al_db_text(st, 1)), "events",
                     json_col(st, 2, json_array()));
}

int al_store_webhook_active(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, org_id, events FROM webhooks WHERE active = 1 ORDER BY id", "");
    return rc ? rc : al_db_collect(s, st, INT32_MAX - 1, active_row, ret, NULL, reterr);
}

int al_store_webhook_end(struct al_store *s, const char *id, bool deleted, int64_t at,
                         const char *why, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "UPDATE webhooks SET active = 0,"
                    " disabled_at = CASE WHEN ?2 <> 0 THEN disabled_at ELSE ?3 END,"
                    " deleted_at = CASE WHEN ?2 <> 0 THEN ?3 END"
                    " WHERE id = ?1 AND deleted_at IS NULL",
                    "tii", id, (int64_t)deleted, at);
    if (rc == 0 && (rc = al_db_run(s, st, reterr, "end webhook")) == 0)
        rc = al_err_set(reterr, AL_E_NOTFOUND, "no webhook %s", id);
    if (rc > 0 && (rc = al_db_prep(s, &st, reterr,
                                   "UPDATE webhook_deliveries SET status = 'failed',"
                                   " error = ?2, next_at = NULL WHERE webhook_id = ?1"
                                   " AND status IN ('pending','retrying')",
                                   "tt", id, why)) == 0)
        rc = al_db_run(s, st, reterr, "cancel deliveries");
    return al_db_unit_end(s, rc < 0 ? rc : 0, reterr);
}

int al_store_webhook_outcome(struct al_store *s, const char *id, bool ok, int64_t at,
                             int64_t *failures, int64_t *since, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "UPDATE webhooks SET"
                        " failures = CASE WHEN ?2 <> 0 THEN 0 ELSE failures + 1 END,"
                        " failing_since = CASE WHEN ?2 <> 0 THEN NULL"
                        " ELSE coalesce(failing_since, ?3) END WHERE id = ?1"
                        " RETURNING failures, coalesce(failing_since, 0)",
                        "tii", id, (int64_t)ok, at);
    if (rc || (rc = al_db_row(s, st, reterr, "webhook")) != 0)
        return rc;
    if (failures)
        *failures = al_db_int64(st, 0);
    if (since)
        *since = al_db_int64(st, 1);
    al_db_done(s, st);
    return 0;
}

/* ---- the dispatcher's cursor ---- */

int al_store_webhook_cursor(struct al_store *s, int64_t *seq, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "SELECT seq FROM webhook_cursor WHERE one = 1", "");
    if (rc || (rc = al_db_row(s, st, reterr, "webhook cursor")) != 0)
        return rc;
    *seq = al_db_int64(st, 0);
    al_db_done(s, st);
    return 0;
}

int al_store_webhook_work(struct al_store *s, struct al_err *reterr)
{
    struct al_db_stmt *st;
    /* CASE: an integer column in both dialects (PostgreSQL's EXISTS is boolean) */
    int rc =
        al_db_prep(s, &st, reterr,
                   AL_DB_SQL2(s,
                              "SELECT CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE active = 1)"
                              " THEN 1 + CASE WHEN EXISTS (SELECT 1 FROM events"
                              " WHERE seq > (SELECT seq FROM webhook_cursor WHERE one = 1))"
                              " THEN 2 ELSE 0 END ELSE 0 END",
                              "SELECT CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE active = 1)"
                              " THEN 1 + CASE WHEN EXISTS (SELECT 1 FROM events"
                              " WHERE pos > (SELECT seq FROM webhook_cursor WHERE one = 1))"
                              " THEN 2 ELSE 0 END ELSE 0 END"),
                   "");
    if (rc || (rc = al_db_row(s, st, reterr, "webhook backlog")) != 0)
        return rc;
    rc = al_db_int(st, 0);
    al_db_done(s, st);
    return rc;
}

int al_store_webhook_backlog(struct al_store *s, struct al_err *reterr)
{
    int rc = al_store_webhook_work(s, reterr);
    return rc < 0 ? rc : (rc & AL_STORE_WH_BACKLOG) != 0;
}

int al_store_webhook_cursor_set(struct al_store *s, int64_t seq, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr, "UPDATE webhook_cursor SET seq = ? WHERE one = 1", "i", seq);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "set webhook cursor");
    return rc < 0 ? rc : 0;
}

/* ---- deliveries ---- */

int al_store_delivery_insert(struct al_store *s, const struct al_store_delivery_new *d,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr,
                   "INSERT INTO webhook_deliveries(id, webhook_id, event_seq, kind,"
                   " payload, status, next_at, created_at)"
                   " VALUES(?1,?2,?3,?4,?5,'pending',?6,?6)",
                   "ttntti", d->id, d->webhook, d->event_seq, d->kind, d->payload, d->created_at);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "insert delivery");
    return rc < 0 ? rc : 0;
}

static json_t *due_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:I,s:s?,s:s?,s:s?}", "id", al_db_text(st, 0), "webhook",
                     al_db_text(st, 1), "kind", al_db_text(st, 2), "payload", al_db_text(st, 3),
                     "attempt", (json_int_t)al_db_int64(st, 4), "url", al_db_text(st, 5),
                     "secret_box", al_db_text(st, 6), "org", al_db_text(st, 7));
}

int al_store_delivery_due(struct al_store *s, int64_t now, int limit, json_t **ret,
                          struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT d.id, d.webhook_id, d.kind, d.payload, d.attempt, w.url,"
                        " w.secret_box, w.org_id FROM webhook_deliveries d"
                        " JOIN webhooks w ON w.id = d.webhook_id"
                        " WHERE d.status IN ('pending','retrying') AND d.next_at <= ?1"
                        " AND w.active = 1 ORDER BY d.next_at, d.num LIMIT ?2",
                        "ii", now, (int64_t)limit);
    return rc ? rc : al_db_collect(s, st, limit, due_row, ret, NULL, reterr);
}

/* The attempt row of `a`, logged under the delivery's number. */
static int attempt_log(struct al_store *s, const struct al_store_attempt *a, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, e,
                   "INSERT INTO webhook_attempts(delivery_num, attempt, at, http_status,"
                   " error) SELECT num, ?2, ?3, ?4, ?5 FROM webhook_deliveries"
                   " WHERE id = ?1",
                   "tiint", a->id, (int64_t)a->attempt, a->at, (int64_t)a->http_status, a->error);
    if (rc == 0 && (rc = al_db_run(s, st, e, "log attempt")) == 0)
        rc = al_err_set(e, AL_E_NOTFOUND, "no delivery %s", a->id);
    return rc < 0 ? rc : 0;
}

int al_store_delivery_attempted(struct al_store *s, const struct al_store_attempt *a,
                                struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    /* a hook ended during the attempt failed its deliveries: an attempt
                     * that did not deliver leaves them so */
                    "UPDATE webhook_deliveries SET attempt = ?2,"
                    " status = CASE WHEN status = 'failed' AND ?3 <> 'delivered'"
                    " THEN 'failed' ELSE ?3 END,"
                    " next_at = CASE WHEN status = 'failed' AND ?3 <> 'delivered'"
                    " THEN NULL ELSE ?6 END,"
                    " http_status = ?4, error = ?5, delivered_at = ?7 WHERE id = ?1",
                    "titntnn", a->id, (int64_t)a->attempt, a->status, (int64_t)a->http_status,
                    a->error, a->next_at, a->delivered_at);
    if (rc == 0 && (rc = al_db_run(s, st, reterr, "update delivery")) == 0)
        rc = al_err_set(reterr, AL_E_NOTFOUND, "no delivery %s", a->id);
    if (rc > 0)
        rc = attempt_log(s, a, reterr);
    return al_db_unit_end(s, rc < 0 ? rc : 0, reterr);
}

/* The columns delivery_row reads, from webhook_deliveries d: the attempts as a JSON array, by
 * each dialect's JSON aggregate. */
#define DELIVERY_COLUMNS                                                                           \
    "SELECT d.num, d.id, d.webhook_id, d.event_seq, d.kind, d.attempt, d.status,"                  \
    " d.http_status, d.error, d.next_at, d.created_at, d.delivered_at,"
#define DELIVERY_SELECT_SQLITE                                                                     \
    DELIVERY_COLUMNS                                                                               \
    " (SELECT json_group_array(json_object('attempt', a.attempt, 'at', a.at,"                      \
    " 'http_status', a.http_status, 'error', a.error)) FROM (SELECT * FROM webhook_attempts"       \
    " WHERE delivery_num = d.num ORDER BY attempt) a) FROM webhook_deliveries d"
#define DELIVERY_SELECT_PG                                                                         \
    DELIVERY_COLUMNS                                                                               \
    " (SELECT coalesce(json_agg(json_build_object('attempt', a.attempt, 'at', a.at,"               \
    " 'http_status', a.http_status, 'error', a.error) ORDER BY a.attempt), '[]')"                  \
    " FROM webhook_attempts a WHERE a.delivery_num = d.num) FROM webhook_deliveries d"
/* A page of a hook's deliveries: after delivery ?2 when given, else after number ?3. */
#define DELIVERY_PAGE                                                                              \
    " WHERE d.webhook_id = ?1 AND d.num > coalesce("                                               \
    "(SELECT num FROM webhook_deliveries WHERE id = ?2), ?3) ORDER BY d.num LIMIT ?4"

static json_t *delivery_row(struct al_db_stmt *st)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", (long long)al_db_int64(st, 0));
    return json_pack("{s:s?,s:s?,s:o,s:s?,s:I,s:s?,s:o,s:o,s:o,s:I,s:o,s:o,s:s}", "id",
                     al_db_text(st, 1), "webhook", al_db_text(st, 2), "event", int_or_null(st, 3),
                     "kind", al_db_text(st, 4), "attempt", (json_int_t)al_db_int64(st, 5), "status",
                     al_db_text(st, 6), "http_status", int_or_null(st, 7), "error",
                     al_store_str_or_null(al_db_text(st, 8)), "next_at", int_or_null(st, 9),
                     "created_at", (json_int_t)al_db_int64(st, 10), "delivered_at",
                     int_or_null(st, 11), "attempts", json_col(st, 12, json_array()), "_key", key);
}

int al_store_delivery_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        AL_DB_SQL2(s, DELIVERY_SELECT_SQLITE " WHERE d.id = ?",
                                   DELIVERY_SELECT_PG " WHERE d.id = ?"),
                        "t", id);
    if (rc || (rc = al_db_row(s, st, reterr, "delivery")) != 0)
        return rc;
    *ret = delivery_row(st);
    al_db_done(s, st);
    if (!*ret)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    json_object_del(*ret, "_key");
    return 0;
}

int al_store_delivery_list(struct al_store *s, const char *webhook, const char *after_id,
                           struct al_store_page pg, json_t **ret, char **next,
                           struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int64_t after;
    int rc = al_store_cursor_num(pg.cursor, &after, reterr);
    if (rc == 0)
        rc = al_db_prep(
            s, &st, reterr,
            AL_DB_SQL2(s, DELIVERY_SELECT_SQLITE DELIVERY_PAGE, DELIVERY_SELECT_PG DELIVERY_PAGE),
            "ttii", webhook, after_id, after, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, delivery_row, ret, next, reterr);
}
