/* db.c — what the store's seam (db.h) builds on its driver, the same for every database: a
 * statement stepped for no rows or for its one row, units kept or undone whole (savepoints),
 * lists collected a page at a time, JSON documents read by key. */
#include "store/store_internal.h"

#include <stdint.h>
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
