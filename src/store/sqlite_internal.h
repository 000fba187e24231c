/* sqlite_internal.h — what the SQLite files of the store share, and nothing outside
 * src/store/ may include: the handle, and the statement helpers of sqlite_stmt.c through which
 * every query of sqlite_accounts.c, sqlite_fleet.c and sqlite_flow.c runs.
 *
 *   sqlite.c           open, migrations, transactions, durability (sync), fault injection
 *   sqlite_stmt.c      statement cache, binding, stepping, error mapping, pages of lists
 *   sqlite_accounts.c  orgs, users
 *   sqlite_fleet.c     nodes, GPUs, prices
 *   sqlite_flow.c      requests, quotes, reservations, holds, events, idempotency
 */
#ifndef AL_STORE_SQLITE_INTERNAL_H
#define AL_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>

/* Prepared statements are kept for reuse, keyed by their SQL text's address (every
 * statement is a string literal): parsing dominated short calls. A statement is reset after
 * every use; the cache is finalized when the store closes. */
#define AL_SQLITE_STMT_CACHE 96

struct al_sqlite_slot {
    const char *sql;
    sqlite3_stmt *st;
    bool busy;
};

#ifdef AL_DEBUG
#define AL_SQLITE_FAULT_SQL_MAX 128

/* Armed faults (al_store_fault_set): left[k] counts down the events of kind k; the one that
 * brings it to 0 fails. Each count is touched only by its own kind's calls, so that
 * al_store_sync may run beside the others. */
struct al_sqlite_faults {
    unsigned left[AL_STORE_FAULT_KINDS];
    char sql[AL_SQLITE_FAULT_SQL_MAX]; /* ALLOC: only statements whose SQL holds this */
    int rc; /* the SQLite code of an injected step failure, until al_sqlite_fail reads it */
};
#endif

struct al_store {
    sqlite3 *db;
    bool in_tx;
    int wal_fd; /* -1, or the write-ahead log, for al_store_sync (deferred sync) */
    struct al_sqlite_slot cache[AL_SQLITE_STMT_CACHE];
#ifdef AL_DEBUG
    struct al_sqlite_faults fault;
#endif
};

/* The database's last error as a store code: AL_E_CONFLICT for a constraint, AL_E_NOMEM,
 * AL_E_FULL when a write found the disk full (SQLITE_FULL: the unix VFS's answer to ENOSPC or
 * a short write), else AL_E_DB: other I/O errors too, an over-quota write (EDQUOT) among them,
 * since SQLite 3.40 keeps no errno for the failed write or fsync of a COMMIT. */
int al_sqlite_code(struct al_store *s);

/* al_sqlite_code's code, recorded in `e` with `what` failed and SQLite's message. Returns the
 * code. */
int al_sqlite_fail(struct al_store *s, struct al_err *e, const char *what);

/* Prepare `sql` (a string literal: the cache keys on its address) and bind arguments described
 * by `fmt`: 't' text (NULL binds NULL), 'i' int64, 'b' an AL_STORE_HASH_LEN-byte blob. On
 * success *st is the caller's to give back with al_sqlite_done; on failure *st is NULL. */
int al_sqlite_prep(struct al_store *s, sqlite3_stmt **st, struct al_err *e, const char *sql,
                   const char *fmt, ...);

/* Give back a statement of al_sqlite_prep: reset when cached, finalized otherwise. Accepts
 * NULL. */
void al_sqlite_done(struct al_store *s, sqlite3_stmt *st);

/* sqlite3_step, with the ALLOC fault of debug builds (al_store_fault_set). */
int al_sqlite_step(struct al_store *s, sqlite3_stmt *st);

/* Step a statement that returns no rows and give it back. Returns changes() or a code. */
int al_sqlite_run(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what);

/* Turns the current row of a list query into a new object (NULL when out of memory); column 0
 * is the sort key, which the row function stores as "_key". */
typedef json_t *(*al_sqlite_row_fn)(sqlite3_stmt *st);

/* Run a list query, limited to `limit` + 1 rows, into *ret (a new array, the caller's): at most
 * `limit` objects made by `row`; when there is one more row, *next (when not NULL; the
 * caller frees) is the cursor of the next page. Gives `st` back on every path. */
int al_sqlite_collect(struct al_store *s, sqlite3_stmt *st, int limit, al_sqlite_row_fn row,
                      json_t **ret, char **next, struct al_err *e);

/* A page's limit: 100 when not given, at most 500. */
int al_sqlite_page_limit(struct al_store_page pg);

/* Column i of the current row as text (borrowed until the next step), or NULL. */
static inline const char *al_sqlite_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A new JSON string, or JSON null for NULL. */
static inline json_t *al_sqlite_str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* The string member `k` of `o` (borrowed), or NULL. */
static inline const char *al_sqlite_jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

#ifdef AL_DEBUG
/* Whether the armed fault `kind` fires at this event: counts it down and disarms it when it
 * fires. `sql`: the statement's text, for ALLOC's filter (NULL for the other kinds). */
bool al_sqlite_fault_fires(struct al_store *s, enum al_store_fault kind, const char *sql);
#endif

#endif
