/* db.c — what the store's seam (db.h) builds on its driver, the same for every database: a
 * statement stepped for no rows or for its one row, units kept or undone whole (savepoints),
 * lists collected a page at a time, JSON documents read by key; and the seam's public names,
 * which pick the back end at open (db_sqlite.c or db_pg.c) and then call through its table of
 * operations, with the fault injection of debug builds that is the same for both. */
#include "store/store_internal.h"
#include "store/store_replica.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int al_db_run(struct al_store *s, struct al_db_stmt *st, struct al_err *e, const char *what)
{
    int rc = al_db_step(s, st);
    rc = rc == AL_DB_DONE ? (int)al_db_changes(s) : al_db_fail(s, e, what);
    al_db_done(s, st);
    return rc;
}

int al_db_row(struct al_store *s, struct al_db_stmt *st, struct al_err *e, const char *what)
{
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW)
        return 0;
    int rc = r == AL_DB_DONE ? al_err_set(e, AL_E_NOTFOUND, "no %s", what) : al_db_fail(s, e, what);
    al_db_done(s, st);
    return rc;
}

/* The savepoint's name differs from al_store_savepoint's, so that a unit nests in the
 * server's unit of work. */
int al_db_unit_begin(struct al_store *s, struct al_err *e)
{
    return al_db_exec(s, "SAVEPOINT al_store_unit", e);
}

int al_db_unit_end(struct al_store *s, int rc, struct al_err *e)
{
    if (rc == 0 && (rc = al_db_exec(s, "RELEASE al_store_unit", e)) == 0)
        return 0;
    al_store_docs_clear(s);
    /* fails harmlessly when the database ended the whole transaction already */
    al_db_script(s, "ROLLBACK TO al_store_unit; RELEASE al_store_unit", NULL);
    return rc;
}

int al_db_grow(void **arr, size_t *cap, size_t n, size_t size, struct al_err *e)
{
    if (n < *cap)
        return 0;
    size_t want = *cap ? *cap * 2 : 16;
    if (want > SIZE_MAX / size)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    void *p = realloc(*arr, want * size);
    if (!p)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    *arr = p;
    *cap = want;
    return 0;
}

/* ---- pages ---- */

int al_db_collect(struct al_store *s, struct al_db_stmt *st, int limit, al_db_row_fn row,
                  json_t **ret, char **next, struct al_err *e)
{
    int rc = 0, n = 0, r;
    json_t *arr = json_array();
    if (next)
        *next = NULL;
    if (!arr) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        if (n == limit) {
            /* one more row exists: the cursor is the last key returned */
            if (next) {
                json_t *last = json_array_get(arr, (size_t)n - 1);
                const char *k = json_string_value(json_object_get(last, "_key"));
                *next = k ? strdup(k) : NULL;
            }
            break;
        }
        json_t *o = row(st);
        if (!o || json_array_append_new(arr, o)) {
            rc = al_err_set(e, AL_E_NOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (r != AL_DB_ROW && r != AL_DB_DONE) {
        rc = al_db_fail(s, e, "list");
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) json_object_del(o, "_key");
out:
    al_db_done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

int al_db_page_limit(struct al_store_page pg)
{
    return pg.limit < 1 ? 100 : pg.limit > 500 ? 500 : pg.limit;
}

json_t *al_db_doc_row(struct al_db_stmt *st)
{
    const char *text = al_db_text(st, 1);
    json_t *o = json_loads(text ? text : "", 0, NULL);
    if (!o)
        o = json_object(); /* corrupt doc: show an empty one rather than fail the list */
    if (o)
        json_object_set_new(o, "_key", json_string(al_db_text(st, 0)));
    return o;
}

int al_db_doc_one(struct al_store *s, const char *sql, const char *key, const char *what,
                  json_t **ret, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e, sql, "t", key);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        const char *text = al_db_text(st, 0);
        /* a corrupt document is a database error, not a crash */
        *ret = text ? json_loads(text, 0, NULL) : NULL;
        rc = *ret ? 0
                  : al_err_set(e, AL_E_DB, "stored %s %s is not JSON", what ? what : "document",
                               key);
    } else if (r == AL_DB_DONE) {
        rc = al_err_set(e, AL_E_NOTFOUND, "no %s%s%s", what ? what : "", what ? " " : "", key);
    } else {
        rc = al_db_fail(s, e, what ? what : "get document");
    }
    al_db_done(s, st);
    return rc;
}

/* ---- the driver: through the back end's operations ---- */

bool al_store_db_is_pg(const char *db)
{
    if (strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0)
        return true;
    /* a libpq conninfo starts with a keyword and '=' ("host=/run/pg dbname=allot") */
    size_t k = strspn(db, "abcdefghijklmnopqrstuvwxyz_");
    return k > 0 && db[k] == '=';
}

int al_db_open(const char *path, struct al_store **ret, struct al_err *e)
{
    return al_store_db_is_pg(path) ? al_db_pg_open(path, ret, e) : al_db_sqlite_open(path, ret, e);
}

enum al_db_kind al_db_kind(const struct al_store *s)
{
    return s->db->ops->kind;
}

int al_db_prep(struct al_store *s, struct al_db_stmt **st, struct al_err *e, const char *sql,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = s->db->ops->prep(s, st, sql, fmt, ap, e);
    va_end(ap);
    return rc;
}

void al_db_done(struct al_store *s, struct al_db_stmt *st)
{
    if (st)
        s->db->ops->done(s, st);
}

#ifdef AL_DEBUG
/* The RETRY fault (store.h): this step fails as a deadlock would. PostgreSQL leaves the
 * transaction aborted after a real one (every statement fails until a rollback to a
 * savepoint): a statement that raises does the same here. */
static int fault_retry(struct al_store *s)
{
    if (al_db_kind(s) == AL_DB_PG && al_store_in_tx(s))
        al_db_script(s, "SELECT 1 / 0", NULL);
    s->db->fault.retry = true;
    return 1; /* neither AL_DB_ROW nor AL_DB_DONE: a failure */
}
#endif

int al_db_step(struct al_store *s, struct al_db_stmt *st)
{
#ifdef AL_DEBUG
    if (al_db_fault_fires(s->db, AL_STORE_FAULT_RETRY, NULL))
        return fault_retry(s);
#endif
    return s->db->ops->step(s, st);
}

int64_t al_db_int64(struct al_db_stmt *st, int col)
{
    return st->cols->int64(st, col);
}

int al_db_int(struct al_db_stmt *st, int col)
{
    return st->cols->int32(st, col);
}

const char *al_db_text(struct al_db_stmt *st, int col)
{
    return st->cols->text(st, col);
}

bool al_db_null(struct al_db_stmt *st, int col)
{
    return st->cols->null(st, col);
}

const void *al_db_blob(struct al_db_stmt *st, int col, size_t *n)
{
    return st->cols->blob(st, col, n);
}

int64_t al_db_changes(struct al_store *s)
{
    return s->db->ops->changes(s);
}

int64_t al_db_last_rowid(struct al_store *s)
{
    return s->db->ops->last_rowid(s);
}

int al_db_code(struct al_store *s)
{
    return s->db->ops->code(s);
}

enum al_db_fail al_db_failed(struct al_store *s)
{
#ifdef AL_DEBUG
    if (s->db->fault.retry)
        return AL_DB_F_RETRY;
#endif
    return s->db->ops->failed(s);
}

/* A statement failed (`rc`, its code, when not 0): remember whether it was retryable, for
 * al_store_retryable. Returns rc. */
static int noted(struct al_store *s, int rc)
{
    if (rc != 0 && s->db->ops->failed(s) == AL_DB_F_RETRY)
        s->db->retry = true;
    return rc;
}

int al_db_fail(struct al_store *s, struct al_err *e, const char *what)
{
#ifdef AL_DEBUG
    if (s->db->fault.nomem) { /* injected: the connection itself saw no error */
        s->db->fault.nomem = false;
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory (injected fault)", what);
    }
    if (s->db->fault.retry) {
        s->db->fault.retry = false;
        s->db->retry = true;
        return al_err_set(e, AL_E_DB, "%s: deadlock detected (injected fault)", what);
    }
#endif
    return noted(s, s->db->ops->fail(s, e, what));
}

int al_db_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    return noted(s, s->db->ops->exec(s, sql, e));
}

int al_db_script(struct al_store *s, const char *sql, struct al_err *e)
{
    return noted(s, s->db->ops->script(s, sql, e));
}

/* ---- store.h's transactions, durability and close ---- */

void al_store_close(struct al_store *s)
{
    if (!s)
        return;
    if (al_store_in_tx(s))
        al_store_rollback(s);
    al_store_docs_clear(s);
    s->db->ops->close(s->db);
    free(s);
}

int al_store_begin(struct al_store *s, struct al_err *reterr)
{
    return s->db->ops->begin(s, reterr);
}

int al_store_commit(struct al_store *s, struct al_err *reterr)
{
#ifdef AL_DEBUG
    if (al_db_fault_fires(s->db, AL_STORE_FAULT_COMMIT, NULL)) {
        /* as when COMMIT fails on a disk error: nothing of the transaction is kept */
        al_store_rollback(s);
        return al_err_set(reterr, AL_E_DB, "COMMIT: disk I/O error (injected fault)");
    }
#endif
    /* PostgreSQL: the events' positions in commit order, under a lock the COMMIT releases */
    if (s->events_unplaced) {
        int rc = al_store_events_seal(s, reterr);
        s->events_unplaced = false;
        if (rc) {
            al_store_rollback(s);
            return rc;
        }
    }
    return s->db->ops->commit(s, reterr);
}

void al_store_rollback(struct al_store *s)
{
    al_store_docs_clear(s);
    s->events_unplaced = false;
    s->in_unit = false;
    s->db->ops->rollback(s);
}

bool al_store_in_tx(struct al_store *s)
{
    return s->db->ops->in_tx(s);
}

int al_store_defer_sync(struct al_store *s, struct al_err *reterr)
{
    return s->db->ops->defer_sync(s, reterr);
}

int al_store_sync(struct al_store *s, struct al_err *reterr)
{
    return s->db->ops->sync(s, reterr);
}

int al_store_savepoint(struct al_store *s, struct al_err *reterr)
{
    s->db->retry = false;
    int rc = al_db_exec(s, "SAVEPOINT al_unit", reterr);
    s->in_unit = rc == 0; /* its reads of shared rows lock them (store_internal.h) */
    return rc;
}

int al_store_release(struct al_store *s, struct al_err *reterr)
{
    s->in_unit = false;
    return al_db_exec(s, "RELEASE al_unit", reterr);
}

bool al_store_retryable(struct al_store *s)
{
    return s->db->retry;
}

unsigned al_store_reconnects(struct al_store *s)
{
    return s->db->reconnects;
}

void al_store_rollback_to(struct al_store *s)
{
    s->in_unit = false;
    al_store_docs_clear(s);
    /* fails harmlessly when the database ended the whole transaction already */
    al_db_script(s, "ROLLBACK TO al_unit; RELEASE al_unit", NULL);
}

/* ---- fault injection (debug builds) ---- */

#ifdef AL_DEBUG
bool al_db_fault_fires(struct al_db *d, enum al_store_fault kind, const char *sql)
{
    unsigned *left = &d->fault.left[kind];
    if (*left == 0)
        return false;
    if (kind == AL_STORE_FAULT_ALLOC && d->fault.sql[0] && (!sql || !strstr(sql, d->fault.sql)))
        return false;
    return --*left == 0;
}

int al_store_fault_set(struct al_store *s, enum al_store_fault kind, unsigned nth, const char *sql)
{
    struct al_db *d = s->db;
    if ((unsigned)kind >= AL_STORE_FAULT_KINDS)
        return AL_E_INVAL;
    if (sql && strlen(sql) >= sizeof d->fault.sql)
        return AL_E_INVAL;
    d->fault.left[kind] = nth;
    if (kind == AL_STORE_FAULT_ALLOC)
        snprintf(d->fault.sql, sizeof d->fault.sql, "%s", sql ? sql : "");
    return 0;
}
#endif
