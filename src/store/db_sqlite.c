/* sqlite_stmt.c — how the store runs a statement (see sqlite_internal.h): prepared statements
 * cached by their SQL's address, arguments bound from a format string, steps (with the fault
 * injection of debug builds), SQLite's errors as store codes (a full disk included), and lists
 * collected a page at a time. Every statement is given back on every path (reset into the
 * cache, or finalized). */
#include "store/store_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int al_sqlite_code(struct al_store *s)
{
    switch (sqlite3_extended_errcode(s->db) & 0xff) {
    case SQLITE_CONSTRAINT:
        return AL_E_CONFLICT;
    case SQLITE_NOMEM:
        return AL_E_NOMEM;
    case SQLITE_FULL: /* a write to the log or the database found no space (ENOSPC) */
        return AL_E_FULL;
    default:
        return AL_E_DB;
    }
}

int al_sqlite_fail(struct al_store *s, struct al_err *e, const char *what)
{
    int code = al_sqlite_code(s);
#ifdef AL_DEBUG
    if (s->fault.rc == SQLITE_NOMEM) { /* injected: the handle itself saw no error */
        s->fault.rc = 0;
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory (injected fault)", what);
    }
#endif
    if (code == AL_E_NOMEM)
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory", what);
    return al_err_set(e, code, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* A prepared statement for `sql`: from the cache when one is free, else new (and cached
 * when there is room). Give it back with al_sqlite_done(). */
static int stmt_get(struct al_store *s, const char *sql, sqlite3_stmt **st)
{
    struct al_sqlite_slot *free_slot = NULL;
    for (size_t i = 0; i < AL_SQLITE_STMT_CACHE; i++) {
        struct al_sqlite_slot *c = &s->cache[i];
        if (c->sql == sql && !c->busy) {
            c->busy = true;
            *st = c->st;
            return SQLITE_OK;
        }
        if (!c->sql && !free_slot)
            free_slot = c;
    }
    int rc =
        sqlite3_prepare_v3(s->db, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
    if (rc == SQLITE_OK && free_slot)
        *free_slot = (struct al_sqlite_slot){sql, *st, true};
    return rc;
}

void al_sqlite_done(struct al_store *s, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < AL_SQLITE_STMT_CACHE; i++)
        if (s->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->cache[i].busy = false;
            return;
        }
    sqlite3_finalize(st);
}

int al_sqlite_prep(struct al_store *s, sqlite3_stmt **st, struct al_err *e, const char *sql,
                   const char *fmt, ...)
{
    va_list ap;
    int rc = 0;
    *st = NULL;
    if (stmt_get(s, sql, st) != SQLITE_OK)
        return al_sqlite_fail(s, e, "prepare");
    va_start(ap, fmt);
    for (int i = 1; fmt[i - 1]; i++) {
        int r;
        if (fmt[i - 1] == 't') {
            const char *v = va_arg(ap, const char *);
            r = v ? sqlite3_bind_text(*st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(*st, i);
        } else if (fmt[i - 1] == 'i') {
            r = sqlite3_bind_int64(*st, i, va_arg(ap, int64_t));
        } else if (fmt[i - 1] == 'n') {
            int64_t v = va_arg(ap, int64_t);
            r = v < 0 ? sqlite3_bind_null(*st, i) : sqlite3_bind_int64(*st, i, v);
        } else {
            r = sqlite3_bind_blob(*st, i, va_arg(ap, const uint8_t *), AL_STORE_HASH_LEN,
                                  SQLITE_TRANSIENT);
        }
        if (r != SQLITE_OK) {
            rc = al_sqlite_fail(s, e, "bind");
            break;
        }
    }
    va_end(ap);
    if (rc) {
        al_sqlite_done(s, *st);
        *st = NULL;
    }
    return rc;
}

int al_sqlite_step(struct al_store *s, sqlite3_stmt *st)
{
#ifdef AL_DEBUG
    s->fault.rc = 0;
    if (al_sqlite_fault_fires(s, AL_STORE_FAULT_ALLOC, sqlite3_sql(st))) {
        /* An allocation failing inside sqlite3_step halts the statement, and SQLite then
         * rolls back the whole transaction (sqlite3VdbeHalt) unless a statement journal can
         * undo the statement alone: the outcome for the store's one-row statements. */
        sqlite3_reset(st);
        al_sqlite_docs_clear(s);
        if (!sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->fault.rc = SQLITE_NOMEM;
        return SQLITE_NOMEM;
    }
#else
    (void)s;
#endif
    return sqlite3_step(st);
}

int al_sqlite_run(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what)
{
    int rc = al_sqlite_step(s, st);
    rc = rc == SQLITE_DONE ? sqlite3_changes(s->db) : al_sqlite_fail(s, e, what);
    al_sqlite_done(s, st);
    return rc;
}

int al_sqlite_row(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what)
{
    int r = al_sqlite_step(s, st);
    if (r == SQLITE_ROW)
        return 0;
    int rc =
        r == SQLITE_DONE ? al_err_set(e, AL_E_NOTFOUND, "no %s", what) : al_sqlite_fail(s, e, what);
    al_sqlite_done(s, st);
    return rc;
}

int al_sqlite_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    sqlite3_stmt *st;
    int rc = al_sqlite_prep(s, &st, e, sql, "");
    if (rc)
        return rc;
    /* not al_sqlite_step: the debug build's allocation faults count the store's own
     * statements only, as when these ran through sqlite3_exec */
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = al_sqlite_fail(s, e, sql);
    al_sqlite_done(s, st);
    return rc;
}

/* The savepoint's name differs from al_store_savepoint's, so that a unit nests in the
 * server's unit of work. */
int al_sqlite_unit_begin(struct al_store *s, struct al_err *e)
{
    return al_sqlite_exec(s, "SAVEPOINT al_store_unit", e);
}

int al_sqlite_unit_end(struct al_store *s, int rc, struct al_err *e)
{
    if (rc == 0 && (rc = al_sqlite_exec(s, "RELEASE al_store_unit", e)) == 0)
        return 0;
    al_sqlite_docs_clear(s);
    /* fails harmlessly when the database ended the whole transaction already */
    sqlite3_exec(s->db, "ROLLBACK TO al_store_unit; RELEASE al_store_unit", NULL, NULL, NULL);
    return rc;
}

int al_sqlite_grow(void **arr, size_t *cap, size_t n, size_t size, struct al_err *e)
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

int al_sqlite_collect(struct al_store *s, sqlite3_stmt *st, int limit, al_sqlite_row_fn row,
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
    while ((r = al_sqlite_step(s, st)) == SQLITE_ROW) {
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
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = al_sqlite_fail(s, e, "list");
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) json_object_del(o, "_key");
out:
    al_sqlite_done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

int al_sqlite_page_limit(struct al_store_page pg)
{
    return pg.limit < 1 ? 100 : pg.limit > 500 ? 500 : pg.limit;
}

json_t *al_sqlite_doc_row(sqlite3_stmt *st)
{
    const char *text = al_sqlite_text(st, 1);
    json_t *o = json_loads(text ? text : "", 0, NULL);
    if (!o)
        o = json_object(); /* corrupt doc: show an empty one rather than fail the list */
    if (o)
        json_object_set_new(o, "_key", json_string(al_sqlite_text(st, 0)));
    return o;
}

int al_sqlite_doc_one(struct al_store *s, const char *sql, const char *key, const char *what,
                      json_t **ret, struct al_err *e)
{
    sqlite3_stmt *st;
    int rc = al_sqlite_prep(s, &st, e, sql, "t", key);
    if (rc)
        return rc;
    int r = al_sqlite_step(s, st);
    if (r == SQLITE_ROW) {
        const char *text = al_sqlite_text(st, 0);
        /* a corrupt document is a database error, not a crash */
        *ret = text ? json_loads(text, 0, NULL) : NULL;
        rc = *ret ? 0
                  : al_err_set(e, AL_E_DB, "stored %s %s is not JSON", what ? what : "document",
                               key);
    } else if (r == SQLITE_DONE) {
        rc = al_err_set(e, AL_E_NOTFOUND, "no %s%s%s", what ? what : "", what ? " " : "", key);
    } else {
        rc = al_sqlite_fail(s, e, what ? what : "get document");
    }
    al_sqlite_done(s, st);
    return rc;
}
