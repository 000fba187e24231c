/* store_flow.c — the store's documents of the request flow (requests, quotes, reservations),
 * the holds they take, the append-only event log and the idempotency records (store.h). */
#include "store/store_internal.h"
#include "store/store_replica.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the document cache (store_internal.h) ---- */

static struct al_store_cached_doc *doc_slot(struct al_store *s, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &s->docs[h % AL_STORE_DOC_CACHE];
}

/* A copy of request document `doc` (a new reference, NULL when memory is short) that shares
 * its members' values: the server changes a request by setting its members (state, who moved
 * it, its quote, its reservation), never by editing a member's value in place, and a quote,
 * most of the document (allocations, lines, terms), is never changed once made (its row is
 * written once). Copying the values was most of the cache's cost. */
static json_t *doc_copy(json_t *doc)
{
    return json_is_object(doc) ? json_copy(doc) : NULL;
}

/* Keep a copy of `doc` as id's (replacing what its slot held); nothing when the id is too
 * long or memory is short: the cache is only a shortcut. Nothing on PostgreSQL: another
 * replica may change the request meanwhile, and the cache would serve the old one. */
static void doc_keep(struct al_store *s, const char *id, json_t *doc)
{
    if (!id || strlen(id) >= AL_STORE_DOC_ID_MAX || al_store_replicated(s))
        return;
    struct al_store_cached_doc *d = doc_slot(s, id);
    json_decref(d->doc);
    d->doc = doc_copy(doc);
    snprintf(d->id, sizeof d->id, "%s", d->doc ? id : "");
}

/* A copy of id's cached document (the caller owns it), or NULL when not cached. */
static json_t *doc_cached(struct al_store *s, const char *id)
{
    struct al_store_cached_doc *d = doc_slot(s, id);
    return d->doc && strcmp(d->id, id) == 0 ? doc_copy(d->doc) : NULL;
}

void al_store_docs_clear(struct al_store *s)
{
    for (size_t i = 0; i < AL_STORE_DOC_CACHE; i++) {
        json_decref(s->docs[i].doc);
        s->docs[i].doc = NULL;
        s->docs[i].id[0] = '\0';
    }
}

/* ---- documents ---- */

static int doc_put(struct al_store *s, const char *sql, const struct al_store_doc_meta *m,
                   json_t *doc, struct al_err *e)
{
    struct al_db_stmt *st;
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;
    if (!text)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    rc = al_db_prep(s, &st, e, sql, "tttiit", m->id, m->org, m->state, m->t0, m->t1, text);
    free(text);
    if (rc || (rc = al_db_run(s, st, e, "put document")) < 0)
        return rc;
    return rc == 0 ? al_err_set(e, AL_E_NOTFOUND, "no %s", m->id) : 0;
}

/* A request's row holds its quote by id (the quote's own row holds the document, unchanged
 * after it is made), so that each step's rewrite of the request does not write the quote again;
 * reads select the quote's document beside the request's (REQUEST_FROM) and put it back in
 * (request_compose). Rows written before hold the quote itself. The join reads the id out of
 * the request's JSON: the one dialect difference (SQLite's json_extract, PostgreSQL's ->>); a
 * quote held as a document yields no id, so no quote row. */
#define REQUEST_COLS        "SELECT r.id, r.doc, q.doc FROM requests r LEFT JOIN quotes q ON q.id = "
#define REQUEST_FROM_SQLITE REQUEST_COLS "json_extract(r.doc, '$.quote')"
#define REQUEST_FROM_PG     REQUEST_COLS "(r.doc::json ->> 'quote')"

/* The request document of the current REQUEST_FROM row (a new object, the caller's): the
 * request's text with the quote's document in place of its id (null when that quote is gone).
 * NULL when the request's text is not a JSON object, or out of memory. */
static json_t *request_compose(struct al_db_stmt *st)
{
    const char *rtext = al_db_text(st, 1), *qtext = al_db_text(st, 2);
    json_t *doc = rtext ? json_loads(rtext, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        return NULL;
    }
    if (json_is_string(json_object_get(doc, "quote"))) {
        json_t *q = qtext ? json_loads(qtext, 0, NULL) : NULL;
        /* set in place: the key keeps its position in the document */
        if (json_object_set_new(doc, "quote", q ? q : json_null()) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* A request of a list (an al_db_row_fn): a corrupt document shows as an empty object rather
 * than failing the list, as al_db_doc_row's. */
static json_t *request_row(struct al_db_stmt *st)
{
    json_t *o = request_compose(st);
    if (!o)
        o = json_object();
    if (o && json_object_set_new(o, "_key", json_string(al_db_text(st, 0))) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int al_store_request_put(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                         bool insert, struct al_err *reterr)
{
    json_t *quote = json_object_get(doc, "quote");
    const char *qid = json_string_value(json_object_get(quote, "id"));
    json_t *ref = qid ? json_string(qid) : NULL;
    if (qid && !ref)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if (ref) { /* the quote's id in its place (the key keeps its position), for the dump */
        json_incref(quote);
        json_object_set_new(doc, "quote", ref);
    }
    int rc = doc_put(s,
                     insert ? "INSERT INTO requests(id, org_id, state, created_at, updated_at, doc)"
                              " VALUES(?1,?2,?3,?4,?5,?6)"
                            : "UPDATE requests SET state = ?3, updated_at = ?5, doc = ?6"
                              " WHERE id = ?1 AND org_id = ?2",
                     m, doc, reterr);
    if (ref)
        json_object_set_new(doc, "quote", quote);
    /* the next step of the flow reads it from here: a new request too while it has no quote
     * (its quote, the flow's next call, reads it); not one inserted with its quote (a
     * self-service reservation's), which is never read back in its call, and whose row would
     * read its quote from the quote's row */
    json_t *q = json_object_get(doc, "quote");
    if (rc == 0 && (!insert || !q || json_is_null(q)))
        doc_keep(s, m->id, doc);
    return rc;
}

int al_store_request_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if ((*ret = doc_cached(s, id)) != NULL)
        return 0;
    int rc = al_db_prep(
        s, &st, reterr,
        AL_DB_SQL2(s, REQUEST_FROM_SQLITE " WHERE r.id = ?",
                   /* the request's row alone: its quote's, joined outside, is not changed */
                   AL_STORE_FOR_UPDATE(s, REQUEST_FROM_PG " WHERE r.id = ?",
                                       REQUEST_FROM_PG " WHERE r.id = ? FOR UPDATE OF r")),
        "t", id);
    if (rc || (rc = al_db_row(s, st, reterr, id)) != 0)
        return rc;
    /* a corrupt document is a database error, not a crash */
    if (!(*ret = request_compose(st)))
        rc = al_err_set(reterr, AL_E_DB, "stored document %s is not JSON", id);
    al_db_done(s, st);
    if (rc == 0)
        doc_keep(s, id, *ret);
    return rc;
}

#define REQUEST_WHERE " WHERE (?1 IS NULL OR r.org_id = ?1) AND (?2 IS NULL OR r.state = ?2)"
#define REQUEST_DESC  REQUEST_WHERE " AND (?3 IS NULL OR r.id < ?3) ORDER BY r.id DESC LIMIT ?4"
#define REQUEST_ASC   REQUEST_WHERE " AND r.id > coalesce(?3, '') ORDER BY r.id LIMIT ?4"

int al_store_request_list(struct al_store *s, const struct al_store_request_filter *f,
                          struct al_store_page pg, json_t **ret, char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(
        s, &st, reterr,
        f->newest_first
            ? AL_DB_SQL2(s, REQUEST_FROM_SQLITE REQUEST_DESC, REQUEST_FROM_PG REQUEST_DESC)
            : AL_DB_SQL2(s, REQUEST_FROM_SQLITE REQUEST_ASC, REQUEST_FROM_PG REQUEST_ASC),
        "ttti", f->org, f->state, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, request_row, ret, next, reterr);
}

int al_store_quote_insert(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                          struct al_err *reterr)
{
    return doc_put(s, "INSERT INTO quotes(id, request_id, valid_until, doc) VALUES(?1, ?2, ?4, ?6)",
                   m, doc, reterr);
}

/* The quote's document with its request's id set as "request" (replaced in place when the
 * document has one). */
int al_store_quote_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "SELECT doc, request_id FROM quotes WHERE id = ?", "t", id);
    if (rc || (rc = al_db_row(s, st, reterr, id)) != 0)
        return rc;
    const char *text = al_db_text(st, 0);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(doc))
        rc = al_err_set(reterr, AL_E_DB, "stored document %s is not JSON", id);
    else if (json_object_set_new(doc, "request", al_store_str_or_null(al_db_text(st, 1))) != 0)
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
    al_db_done(s, st);
    if (rc)
        json_decref(doc);
    else
        *ret = doc;
    return rc;
}

/* {"id": column 0}: the objects of the clock's id lists. */
static json_t *id_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?}", "id", al_db_text(st, 0));
}

static int id_list(struct al_store *s, const char *sql, int64_t now, json_t **ret, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e, sql, "i", now);
    return rc ? rc : al_db_collect(s, st, 100000, id_row, ret, NULL, e);
}

int al_store_quote_expired(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr)
{
    return id_list(s,
                   "SELECT r.id FROM requests r"
                   " WHERE r.state IN ('quoted','approved','accepted')"
                   " AND (SELECT max(q.valid_until) FROM quotes q WHERE q.request_id = r.id) <= ?1"
                   " ORDER BY r.id LIMIT 100001",
                   now, ret, reterr);
}

int al_store_reservation_put(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                             bool insert, struct al_err *reterr)
{
    return doc_put(s,
                   insert ? "INSERT INTO reservations(id, org_id, state, start_at, end_at, doc)"
                            " VALUES(?1,?2,?3,?4,?5,?6)"
                          : "UPDATE reservations SET state = ?3, start_at = ?4, end_at = ?5,"
                            " doc = ?6 WHERE id = ?1 AND org_id = ?2",
                   m, doc, reterr);
}

int al_store_reservation_get(struct al_store *s, const char *id, json_t **ret,
                             struct al_err *reterr)
{
    return al_db_doc_one(
        s,
        AL_STORE_FOR_UPDATE(s, "SELECT doc FROM reservations WHERE id = ?",
                            "SELECT doc FROM reservations WHERE id = ? FOR UPDATE"),
        id, NULL, ret, reterr);
}

int al_store_reservation_list(struct al_store *s, const char *org, const char *state,
                              struct al_store_page pg, json_t **ret, char **next,
                              struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, doc FROM reservations WHERE (?1 IS NULL OR org_id = ?1)"
                        " AND (?2 IS NULL OR state = ?2) AND id > coalesce(?3, '')"
                        " ORDER BY id LIMIT ?4",
                        "ttti", org, state, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, al_db_doc_row, ret, next, reterr);
}

int al_store_reservation_due(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr)
{
    return id_list(s,
                   "SELECT id FROM reservations"
                   " WHERE (state = 'scheduled' AND start_at <= ?1)"
                   " OR (state = 'active' AND end_at <= ?1) OR state = 'provisioning'"
                   " ORDER BY id LIMIT 100001",
                   now, ret, reterr);
}

/* ---- holds ---- */

/* In its own unit: the pool's passes take a refused hold (a conflict) and go on, which a
 * database that aborts the transaction on a failed statement (PostgreSQL, whose holds_no_overlap
 * refuses an overlap) allows only after rolling back to a savepoint. */
int al_store_hold_add(struct al_store *s, const struct al_store_hold *h, struct al_err *reterr)
{
    return al_store_holds_add(s, h, 1, reterr);
}

int al_store_holds_add(struct al_store *s, const struct al_store_hold *h, size_t n,
                       struct al_err *reterr)
{
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct al_db_stmt *st;
        rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1,"
                        " expires_at) VALUES(?,?,?,?,?,?,?,?,?)",
                        "ttttiiiii", h[i].gpu, h[i].owner, h[i].kind, h[i].profile,
                        (int64_t)h[i].start_unit, (int64_t)h[i].mask, h[i].t0, h[i].t1,
                        h[i].expires_at);
        if (rc == 0 && (rc = al_db_run(s, st, reterr, "add hold")) > 0)
            rc = 0;
    }
    return al_db_unit_end(s, rc, reterr);
}

#define HOLD_LIVE "(h.expires_at = 0 OR h.expires_at > ?)"

int al_store_hold_conflicts(struct al_store *s, const struct al_store_hold *h, int64_t now,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT count(*) FROM holds h WHERE h.gpu_id = ? AND (h.mask & ?) != 0"
                        " AND h.t0 < ? AND h.t1 > ? AND " HOLD_LIVE " AND h.owner != ?",
                        "tiiiit", h->gpu, (int64_t)h->mask, h->t1, h->t0, now, h->owner);
    if (rc)
        return rc;
    rc =
        al_db_step(s, st) == AL_DB_ROW ? al_db_int(st, 0) : al_db_fail(s, reterr, "hold conflicts");
    al_db_done(s, st);
    return rc;
}

#define HOLD_COLUMNS "gpu_id, owner, kind, profile, start_unit, mask, t0, t1, expires_at"

/* A row of HOLD_COLUMNS. */
static void hold_row(struct al_db_stmt *st, struct al_store_hold *h)
{
    memset(h, 0, sizeof *h);
    snprintf(h->gpu, sizeof h->gpu, "%s", al_db_text(st, 0));
    snprintf(h->owner, sizeof h->owner, "%s", al_db_text(st, 1));
    snprintf(h->kind, sizeof h->kind, "%s", al_db_text(st, 2));
    snprintf(h->profile, sizeof h->profile, "%s", al_db_text(st, 3));
    h->start_unit = al_db_int(st, 4);
    h->mask = (uint64_t)al_db_int64(st, 5);
    h->t0 = al_db_int64(st, 6);
    h->t1 = al_db_int64(st, 7);
    h->expires_at = al_db_int64(st, 8);
}

int al_store_hold_first_conflict(struct al_store *s, const struct al_store_hold *h, int64_t now,
                                 struct al_store_hold *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " HOLD_COLUMNS " FROM holds h WHERE h.gpu_id = ?"
                        " AND h.t0 < ? AND h.t1 > ? AND " HOLD_LIVE " AND h.owner != ?"
                        " ORDER BY (h.mask & ?) = 0, h.t0, h.id LIMIT 1",
                        "tiiiti", h->gpu, h->t1, h->t0, now, h->owner, (int64_t)h->mask);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW)
        hold_row(st, ret);
    else
        rc = r == AL_DB_DONE ? AL_E_NOTFOUND : al_db_fail(s, reterr, "hold conflict");
    al_db_done(s, st);
    return rc;
}

int al_store_hold_each(struct al_store *s, int64_t t0, int64_t t1, int64_t now, al_store_hold_fn fn,
                       void *arg, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " HOLD_COLUMNS
                        " FROM holds h WHERE h.t1 > ? AND h.t0 < ? AND " HOLD_LIVE,
                        "iii", t0, t1, now);
    if (rc)
        return rc;
    int r;
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        struct al_store_hold h;
        hold_row(st, &h);
        if ((rc = fn(arg, &h)) != 0)
            break;
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "holds");
    al_db_done(s, st);
    return rc;
}

#define HOLD_FIRM                                                                                  \
    " WHERE h.gpu_id = ? AND h.t1 > ? AND h.t0 < ? AND h.expires_at = 0"                           \
    " AND substr(h.owner, 1, 4) = 'rsv_' ORDER BY h.t0, h.id"

/* The planner reads this once per managed GPU and tick: the equality on gpu_id and the range
 * on t1 keep it to that GPU's holds ending after t0 (holds_gpu), however many the fleet has. */
int al_store_hold_gpu_firm(struct al_store *s, const char *gpu, int64_t t0, int64_t t1,
                           struct al_store_hold **ret, size_t *n, struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_store_hold *v = NULL;
    size_t len = 0, cap = 0;
    int r;
    *ret = NULL;
    *n = 0;
    /* SQLite is told the index (its planner may take holds_time otherwise); PostgreSQL has no
     * index hints */
    int rc = al_db_prep(
        s, &st, reterr,
        AL_DB_SQL2(s, "SELECT " HOLD_COLUMNS " FROM holds h INDEXED BY holds_gpu" HOLD_FIRM,
                   "SELECT " HOLD_COLUMNS " FROM holds h" HOLD_FIRM),
        "tii", gpu, t0, t1);
    if (rc)
        return rc;
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        if (len == cap) {
            struct al_store_hold *w = realloc(v, (cap ? 2 * cap : 8) * sizeof *w);
            if (!w) {
                rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
                goto out;
            }
            v = w;
            cap = cap ? 2 * cap : 8;
        }
        hold_row(st, &v[len++]);
    }
    if (r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "holds of a GPU");
out:
    al_db_done(s, st);
    if (rc) {
        free(v);
        return rc;
    }
    *ret = v;
    *n = len;
    return 0;
}

static int owner_update(struct al_store *s, const char *sql, const char *fmt, const char *a,
                        const char *b, int64_t v, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = fmt[1] == 't' ? al_db_prep(s, &st, e, sql, fmt, a, b)
                           : al_db_prep(s, &st, e, sql, fmt, a, v);
    return rc ? rc : al_db_run(s, st, e, "update holds");
}

int al_store_hold_transfer(struct al_store *s, const char *from, const char *to,
                           struct al_err *reterr)
{
    return owner_update(s, "UPDATE holds SET owner = ?2, expires_at = 0 WHERE owner = ?1", "tt",
                        from, to, 0, reterr);
}

int al_store_hold_set_end(struct al_store *s, const char *owner, int64_t t1, struct al_err *reterr)
{
    return owner_update(s, "UPDATE holds SET t1 = ?2 WHERE owner = ?1", "ti", owner, NULL, t1,
                        reterr);
}

int al_store_hold_release(struct al_store *s, const char *owner, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "DELETE FROM holds WHERE owner = ?", "t", owner);
    return rc ? rc : al_db_run(s, st, reterr, "release holds");
}

/* ---- events ---- */

/* INSERT the event; its seq, or a negative code. */
static int64_t event_insert(struct al_store *s, int64_t at, const char *actor, const char *kind,
                            const char *object, json_t *data, struct al_err *reterr)
{
    struct al_db_stmt *st;
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    int rc;
    if (!text)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    int64_t seq = 0;
    rc = al_db_prep(
        s, &st, reterr,
        AL_STORE_INSERT_NUM(
            s, "INSERT INTO events(at, actor, kind, object, data) VALUES(?,?,?,?,?)", "seq"),
        "itttt", at, actor, kind, object, text);
    free(text);
    if (rc || (rc = al_store_new_id(s, st, &seq, reterr, "event appended")) != 0)
        return rc;
    s->events_unplaced = al_store_replicated(s);
    return seq;
}

int64_t al_store_event_append(struct al_store *s, int64_t at, const char *actor, const char *kind,
                              const char *object, json_t *data, struct al_err *reterr)
{
    /* PostgreSQL: an event's position is given at its transaction's commit, and the readers
     * skip an event without one; outside a transaction, the event is its own transaction, so
     * that it is seen at once, as on SQLite (an autocommitted INSERT would stay unplaced until
     * some later commit placed it) */
    if (!al_store_replicated(s) || al_store_in_tx(s))
        return event_insert(s, at, actor, kind, object, data, reterr);
    int rc = al_store_begin(s, reterr);
    if (rc)
        return rc;
    int64_t seq = event_insert(s, at, actor, kind, object, data, reterr);
    if (seq < 0) {
        al_store_rollback(s);
        return seq;
    }
    rc = al_store_commit(s, reterr);
    return rc ? rc : seq;
}

int al_store_event_orgs_add(struct al_store *s, int64_t seq, const char *const *orgs, size_t n,
                            struct al_err *reterr)
{
    for (size_t i = 0; i < n; i++) {
        struct al_db_stmt *st;
        if (!orgs[i])
            continue;
        int rc = al_db_prep(s, &st, reterr,
                            "INSERT INTO event_orgs(org, seq) VALUES(?,?)"
                            " ON CONFLICT DO NOTHING",
                            "ti", orgs[i], seq);
        if (rc || (rc = al_db_run(s, st, reterr, "record an event's org")) < 0)
            return rc;
    }
    return 0;
}

/* Column 6: the event's orgs as a JSON array text (EVENT_ORGS). */
static json_t *event_row(struct al_db_stmt *st)
{
    json_t *data = json_loads(al_db_text(st, 5) ? al_db_text(st, 5) : "{}", 0, NULL);
    json_t *orgs = json_loads(al_db_text(st, 6) ? al_db_text(st, 6) : "[]", 0, NULL);
    return json_pack("{s:I,s:I,s:s?,s:s?,s:s?,s:o,s:o}", "seq", (json_int_t)al_db_int64(st, 0),
                     "at", (json_int_t)al_db_int64(st, 1), "actor", al_db_text(st, 2), "kind",
                     al_db_text(st, 3), "object", al_db_text(st, 4), "orgs",
                     json_is_array(orgs) ? orgs : json_array(), "data",
                     data ? data : json_object());
}

/* The columns event_row reads, the orgs by each dialect's JSON aggregate, in the same order
 * (by name); ?2..?5 are the filter (NULL: none), ?6 the limit. An event's public number (its
 * "seq", the position the readers page by) is its seq on SQLite, where the one writer
 * commits in seq order, and its pos on PostgreSQL, given in commit order (al_store_events_seal):
 * an event not yet placed (pos NULL: another transaction's, committing) is not read. */
#define EVENT_COLS(P) "SELECT " P ", e.at, e.actor, e.kind, e.object, e.data,"
#define EVENT_ORGS_SQLITE                                                                          \
    EVENT_COLS("e.seq")                                                                            \
    " (SELECT json_group_array(org) FROM (SELECT x.org FROM event_orgs x"                          \
    " WHERE x.seq = e.seq ORDER BY x.org)) FROM events e"
#define EVENT_ORGS_PG                                                                              \
    EVENT_COLS("e.pos")                                                                            \
    " (SELECT coalesce(json_agg(x.org ORDER BY x.org), '[]') FROM event_orgs x"                    \
    " WHERE x.seq = e.seq) FROM events e"
/* The four reads: by org or not, oldest or newest first; P is the position's column. */
#define EVENT_BY_ORG(C, P, OP, ORDER)                                                              \
    C " JOIN event_orgs o ON o.seq = e.seq WHERE o.org = ?2 AND " P " " OP " ?1" ORDER
#define EVENT_ALL(C, P, OP, ORDER) C " WHERE " P " " OP " ?1 AND ?2 IS NULL" ORDER
#define EVENT_MATCH                                                                                \
    " AND (?3 IS NULL OR e.kind = ?3) AND (?4 IS NULL OR substr(e.kind, 1, length(?4)) = ?4)"      \
    " AND (?5 IS NULL OR e.object = ?5)"
#define EVENT_FILTER(P)      EVENT_MATCH " ORDER BY " P " LIMIT ?6"
#define EVENT_FILTER_DESC(P) EVENT_MATCH " ORDER BY " P " DESC LIMIT ?6"

/* The events before f->before (0: all), newest first. */
static int event_find_desc(struct al_store *s, const struct al_store_event_filter *f,
                           const char *exact, const char *prefix, int limit, json_t **ret,
                           struct al_err *reterr)
{
    struct al_db_stmt *st;
    int64_t before = f->before > 0 ? f->before : INT64_MAX;
    int rc;
    if (f->org)
        rc = al_db_prep(
            s, &st, reterr,
            AL_DB_SQL2(s, EVENT_BY_ORG(EVENT_ORGS_SQLITE, "o.seq", "<", EVENT_FILTER_DESC("e.seq")),
                       EVENT_BY_ORG(EVENT_ORGS_PG, "e.pos", "<", EVENT_FILTER_DESC("e.pos"))),
            "ittttn", before, f->org, exact, prefix, f->object, (int64_t)limit);
    else
        rc = al_db_prep(
            s, &st, reterr,
            AL_DB_SQL2(s, EVENT_ALL(EVENT_ORGS_SQLITE, "e.seq", "<", EVENT_FILTER_DESC("e.seq")),
                       EVENT_ALL(EVENT_ORGS_PG, "e.pos", "<", EVENT_FILTER_DESC("e.pos"))),
            "ittttn", before, (const char *)NULL, exact, prefix, f->object, (int64_t)limit);
    return rc ? rc : al_db_collect(s, st, limit + 1, event_row, ret, NULL, reterr);
}

int al_store_event_find(struct al_store *s, const struct al_store_event_filter *f, int64_t after,
                        int limit, json_t **ret, struct al_err *reterr)
{
    static const struct al_store_event_filter none = {0};
    struct al_db_stmt *st;
    int rc;
    if (!f)
        f = &none;
    const char *exact = f->kind_prefix ? NULL : f->kind;
    const char *prefix = f->kind_prefix ? f->kind : NULL;
    if (f->newest_first)
        return event_find_desc(s, f, exact, prefix, limit, ret, reterr);
    /* an org's events are read from its rows of event_orgs: a sparse org does not scan the
     * whole log */
    if (f->org)
        rc = al_db_prep(
            s, &st, reterr,
            AL_DB_SQL2(s, EVENT_BY_ORG(EVENT_ORGS_SQLITE, "o.seq", ">", EVENT_FILTER("e.seq")),
                       EVENT_BY_ORG(EVENT_ORGS_PG, "e.pos", ">", EVENT_FILTER("e.pos"))),
            "ittttn", after, f->org, exact, prefix, f->object, (int64_t)limit);
    else
        rc = al_db_prep(
            s, &st, reterr,
            AL_DB_SQL2(s, EVENT_ALL(EVENT_ORGS_SQLITE, "e.seq", ">", EVENT_FILTER("e.seq")),
                       EVENT_ALL(EVENT_ORGS_PG, "e.pos", ">", EVENT_FILTER("e.pos"))),
            "ittttn", after, (const char *)NULL, exact, prefix, f->object, (int64_t)limit);
    return rc ? rc : al_db_collect(s, st, limit + 1, event_row, ret, NULL, reterr);
}

int64_t al_store_event_last(struct al_store *s, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        AL_DB_SQL2(s, "SELECT coalesce(max(seq), 0) FROM events",
                                   "SELECT coalesce(max(pos), 0) FROM events"),
                        "");
    if (rc || (rc = al_db_row(s, st, reterr, "event")) != 0)
        return rc;
    int64_t seq = al_db_int64(st, 0);
    al_db_done(s, st);
    return seq;
}

int al_store_event_list(struct al_store *s, int64_t after, int limit, json_t **ret,
                        struct al_err *reterr)
{
    return al_store_event_find(s, NULL, after, limit, ret, reterr);
}

int al_store_event_list_org(struct al_store *s, const char *org, int64_t after, int limit,
                            json_t **ret, struct al_err *reterr)
{
    struct al_store_event_filter f = {.org = org};
    return al_store_event_find(s, &f, after, limit, ret, reterr);
}

int al_store_notice_once(struct al_store *s, const char *object, const char *kind, int64_t at,
                         struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO notices(object, kind, at) VALUES(?,?,?)"
                        " ON CONFLICT DO NOTHING",
                        "tti", object, kind, at);
    return rc ? rc : al_db_run(s, st, reterr, "record a notice");
}

static json_t *due_row(struct al_db_stmt *st)
{
    json_t *doc = json_loads(al_db_text(st, 4) ? al_db_text(st, 4) : "{}", 0, NULL);
    return json_pack("{s:s?,s:s?,s:I,s:I,s:o}", "id", al_db_text(st, 0), "org", al_db_text(st, 1),
                     "start", (json_int_t)al_db_int64(st, 2), "end", (json_int_t)al_db_int64(st, 3),
                     "doc", doc ? doc : json_object());
}

int al_store_notice_due(struct al_store *s, const char *kind, bool at_start, int64_t now,
                        int64_t lead, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc;
    /* both read reservations_due (state, start_at, end_at) */
    if (at_start)
        rc = al_db_prep(s, &st, reterr,
                        "SELECT id, org_id, start_at, end_at, doc FROM reservations r"
                        " WHERE state = 'scheduled' AND start_at > ?1 AND start_at <= ?2"
                        " AND NOT EXISTS(SELECT 1 FROM notices n"
                        " WHERE n.object = r.id AND n.kind = ?3) ORDER BY start_at, id",
                        "iit", now, now + lead, kind);
    else
        rc = al_db_prep(s, &st, reterr,
                        "SELECT id, org_id, start_at, end_at, doc FROM reservations r"
                        " WHERE state IN ('active', 'provisioning') AND end_at > ?1"
                        " AND end_at <= ?2 AND NOT EXISTS(SELECT 1 FROM notices n"
                        " WHERE n.object = r.id AND n.kind = ?3) ORDER BY end_at, id",
                        "iit", now, now + lead, kind);
    return rc ? rc : al_db_collect(s, st, 1000, due_row, ret, NULL, reterr);
}

static json_t *org_row(struct al_db_stmt *st)
{
    return json_string(al_db_text(st, 0) ? al_db_text(st, 0) : "");
}

int al_store_owner_orgs(struct al_store *s, const json_t *owners, json_t **ret,
                        struct al_err *reterr)
{
    struct al_db_stmt *st;
    char *ids = json_dumps(owners ? owners : json_array(), JSON_COMPACT);
    if (!ids)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    /* reservations by their id, quotes by their request's org */
    int rc = al_db_prep(s, &st, reterr,
                        AL_DB_SQL2(s,
                                   "SELECT r.org_id FROM json_each(?1) j JOIN reservations r"
                                   " ON r.id = j.value UNION SELECT q2.org_id FROM json_each(?1) j"
                                   " JOIN quotes q ON q.id = j.value JOIN requests q2"
                                   " ON q2.id = q.request_id ORDER BY 1",
                                   "SELECT r.org_id FROM json_array_elements_text(?1::json) j(v)"
                                   " JOIN reservations r ON r.id = j.v UNION SELECT q2.org_id"
                                   " FROM json_array_elements_text(?1::json) j(v)"
                                   " JOIN quotes q ON q.id = j.v JOIN requests q2"
                                   " ON q2.id = q.request_id ORDER BY 1"),
                        "t", ids);
    free(ids);
    return rc ? rc : al_db_collect(s, st, 100000, org_row, ret, NULL, reterr);
}

/* ---- idempotency ---- */

int al_store_idem_get(struct al_store *s, const char *key, const char *caller,
                      const uint8_t body_hash[AL_STORE_HASH_LEN], int *status, char **response,
                      struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(
        s, &st, reterr,
        "SELECT body_hash, status, response FROM idempotency WHERE key = ? AND caller = ?", "tt",
        key, caller);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        size_t hlen;
        const void *h = al_db_blob(st, 0, &hlen);
        if (hlen != AL_STORE_HASH_LEN || memcmp(h, body_hash, AL_STORE_HASH_LEN) != 0) {
            rc = al_err_set(reterr, AL_E_CONFLICT, "Idempotency-Key reused with another body");
        } else {
            *status = al_db_int(st, 1);
            *response = strdup(al_db_text(st, 2) ? al_db_text(st, 2) : "");
            if (!*response)
                rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        }
    } else {
        rc = r == AL_DB_DONE ? AL_E_NOTFOUND : al_db_fail(s, reterr, "idempotency");
    }
    al_db_done(s, st);
    return rc;
}

/* In its own unit: with several servers on one database, a call racing another with the same
 * key finds the record written meanwhile (a conflict on the primary key), and its caller goes
 * on to read it, which PostgreSQL allows only after rolling back to a savepoint. */
int al_store_idem_put(struct al_store *s, const struct al_store_idem *r, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr, "INSERT INTO idempotency VALUES(?,?,?,?,?,?)", "ttbiti", r->key,
                    r->caller, r->body_hash, (int64_t)r->status, r->response, r->at);
    if (rc == 0)
        rc = al_db_run(s, st, reterr, "put idempotency");
    return al_db_unit_end(s, rc < 0 ? rc : 0, reterr);
}
