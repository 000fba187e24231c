/* db.h — the store's driver seam (docs/postgres.md): how the table files run a statement,
 * whatever the database. Internal to src/store/: nothing outside it may include this header.
 *
 * A statement is prepared from a string literal (the statement cache keys on its address),
 * its arguments bound from a format string, stepped row by row, its columns read by index,
 * and given back. The driver also opens and closes the database and runs the transactions of
 * store.h. Two back ends, db_sqlite.c and db_pg.c (libpq), chosen at open by the --db value
 * (al_store_db_is_pg); each fills a table of operations (struct al_db_ops), which db.c calls
 * through, and db.c builds on them what does not depend on the database (no-row and one-row
 * steps, units, pages of lists, documents, savepoints, fault counts). */
#ifndef AL_STORE_DB_H
#define AL_STORE_DB_H

#include "store/store.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The database behind a store (al_db_kind). */
enum al_db_kind { AL_DB_SQLITE, AL_DB_PG };

/* A statement with one text per dialect, where the two engines have no common form (a
 * function SQLite has under another name, JSON aggregates): both must be string literals, so
 * that the statement cache, which keys on the text's address, sees one statement per dialect.
 * The only place dialect shows in a table file: `grep AL_DB_SQL2` finds them all. */
#define AL_DB_SQL2(s, sqlite_sql, pg_sql) (al_db_kind(s) == AL_DB_PG ? (pg_sql) : (sqlite_sql))

/* What al_db_step returns for a row and for the end; any other value is a failure, which
 * al_db_fail records. */
enum { AL_DB_ROW = 100, AL_DB_DONE = 101 };

/* What a failed statement was, for the store's own mapping of a refusal (a trigger that keeps
 * an ended row as it ended, a duplicate key, a missing reference). */
enum al_db_fail {
    AL_DB_F_UNIQUE,  /* a UNIQUE index */
    AL_DB_F_PRIMARY, /* the primary key */
    AL_DB_F_TRIGGER, /* a trigger's RAISE(ABORT) */
    AL_DB_F_CHECK,
    AL_DB_F_FOREIGN,
    AL_DB_F_FULL,      /* the disk is full */
    AL_DB_F_NOMEM,     /* out of memory */
    AL_DB_F_EXCLUSION, /* an exclusion constraint (PostgreSQL: holds_no_overlap, 23P01) */
    AL_DB_F_RANGE,     /* an integer out of its type's range (PostgreSQL: 22003) */
    AL_DB_F_RETRY,     /* a serialization failure, deadlock or lock timeout: retry the unit */
    AL_DB_F_LOST,      /* the connection went away: the outcome of a COMMIT is unknown */
    AL_DB_F_OTHER
};

/* ---- what a back end provides (db_sqlite.c, db_pg.c) ---- */

struct al_db;

/* A statement begins with its back end's column readers, so that a column read costs one
 * indirect call and no lookup (the readers take the statement alone, as SQLite's do). */
struct al_db_stmt;
struct al_db_cols {
    int64_t (*int64)(struct al_db_stmt *st, int col);
    int (*int32)(struct al_db_stmt *st, int col);
    const char *(*text)(struct al_db_stmt *st, int col);
    bool (*null)(struct al_db_stmt *st, int col);
    const void *(*blob)(struct al_db_stmt *st, int col, size_t *n);
};
struct al_db_stmt {
    const struct al_db_cols *cols;
};

/* The operations of a back end; db.c's public names call through them. Each has the contract
 * of the public function of the same name (below, and store.h's al_store_* ones). */
struct al_db_ops {
    enum al_db_kind kind;
    int (*prep)(struct al_store *s, struct al_db_stmt **st, const char *sql, const char *fmt,
                va_list ap, struct al_err *e);
    void (*done)(struct al_store *s, struct al_db_stmt *st);
    int (*step)(struct al_store *s, struct al_db_stmt *st);
    int64_t (*changes)(struct al_store *s);
    int64_t (*last_rowid)(struct al_store *s);
    int (*code)(struct al_store *s);
    enum al_db_fail (*failed)(struct al_store *s);
    int (*fail)(struct al_store *s, struct al_err *e, const char *what);
    int (*exec)(struct al_store *s, const char *sql, struct al_err *e);
    int (*script)(struct al_store *s, const char *sql, struct al_err *e);
    int (*begin)(struct al_store *s, struct al_err *e);
    int (*commit)(struct al_store *s, struct al_err *e);
    void (*rollback)(struct al_store *s);
    bool (*in_tx)(struct al_store *s);
    int (*defer_sync)(struct al_store *s, struct al_err *e);
    int (*sync)(struct al_store *s, struct al_err *e);
    void (*close)(struct al_db *d);
};

#ifdef AL_DEBUG
#define AL_DB_FAULT_SQL_MAX 128
/* Armed faults (al_store_fault_set): left[k] counts down the events of kind k; the one that
 * brings it to 0 fails. Each count is touched only by its own kind's calls, so that
 * al_store_sync may run beside the others. */
struct al_db_faults {
    unsigned left[AL_STORE_FAULT_KINDS];
    char sql[AL_DB_FAULT_SQL_MAX]; /* ALLOC: only statements whose SQL holds this */
    bool nomem;                    /* an injected step failure, until al_db_fail reads it */
    bool retry;                    /* an injected deadlock (RETRY), until al_db_fail reads it */
};
#endif

/* The driver's state of a store begins with this: its back end's operations, whether a
 * statement failed retryably since the last al_store_savepoint (al_store_retryable: set where
 * db.c learns of a failure, al_db_fail, al_db_exec and al_db_script), how many times the
 * connection was opened again after a loss and, in debug builds,
 * the armed faults. The back end's own state follows (its connection, statement cache,
 * durability). */
struct al_db {
    const struct al_db_ops *ops;
    bool retry;
    unsigned reconnects; /* al_store_reconnects (db_pg.c counts them) */
#ifdef AL_DEBUG
    struct al_db_faults fault;
#endif
};

/* The back ends' openers (al_db_open picks one): a new store on `where` (a path; a
 * PostgreSQL URI or conninfo), with no schema applied. 0, or a code with the reason in e. */
int al_db_sqlite_open(const char *path, struct al_store **ret, struct al_err *e);
int al_db_pg_open(const char *where, struct al_store **ret, struct al_err *e);

/* `sql` with SQLite's placeholders as PostgreSQL's (db_pg_sql.c): ?N is $N, a bare ? is $k
 * with k one more than the largest index so far; quoted literals and identifiers untouched.
 * A new string, the caller's to free (NULL when out of memory); *nph the largest index. */
char *al_db_pg_placeholders(const char *sql, int *nph);

/* pg_schema.sql, compiled in (CMake turns the file into this string at build time). */
extern const char al_db_pg_schema[];

#ifdef AL_DEBUG
/* Whether the armed fault `kind` fires at this event: counts it down and disarms it when it
 * fires. `sql`: the statement's text, for ALLOC's filter (NULL for the other kinds). */
bool al_db_fault_fires(struct al_db *d, enum al_store_fault kind, const char *sql);
#endif

/* ---- the driver (db.c, calling through the back end's operations) ---- */

/* Open the database `path` names with its back end's settings, into *ret (a new store with no
 * schema applied; al_store_close frees it): PostgreSQL for a `postgres://` or
 * `postgresql://` URI or a libpq `key=value` string (al_store_db_is_pg), else the SQLite file
 * at `path` (created when absent). 0, or a code with the reason in `e`. */
int al_db_open(const char *path, struct al_store **ret, struct al_err *e);

/* Prepare `sql` (a string literal: the cache keys on its address) and bind arguments described
 * by `fmt`: 't' text (NULL binds NULL), 'i' int64, 'n' int64 that binds NULL when negative (a
 * limit that is not set), 'b' an AL_STORE_HASH_LEN-byte blob, 'B' a blob given as a pointer
 * and its length (size_t). On success *st is the caller's to give back with al_db_done; on
 * failure *st is NULL. */
int al_db_prep(struct al_store *s, struct al_db_stmt **st, struct al_err *e, const char *sql,
               const char *fmt, ...);

/* Give back a statement of al_db_prep: reset when cached, finalized otherwise. Accepts
 * NULL. */
void al_db_done(struct al_store *s, struct al_db_stmt *st);

/* The next row: AL_DB_ROW, AL_DB_DONE, or a failure (al_db_fail says which). Debug builds
 * inject the ALLOC and RETRY faults here (al_store_fault_set). */
int al_db_step(struct al_store *s, struct al_db_stmt *st);

/* Columns of the current row, by index from 0. al_db_text's text is borrowed until the next
 * step, NULL for NULL; al_db_blob's bytes likewise, their count in *n. */
int64_t al_db_int64(struct al_db_stmt *st, int col);
int al_db_int(struct al_db_stmt *st, int col);
const char *al_db_text(struct al_db_stmt *st, int col);
bool al_db_null(struct al_db_stmt *st, int col);
const void *al_db_blob(struct al_db_stmt *st, int col, size_t *n);

/* Which database `s` is on. */
enum al_db_kind al_db_kind(const struct al_store *s);

/* Rows the last INSERT, UPDATE or DELETE changed. */
int64_t al_db_changes(struct al_store *s);

/* The rowid of the last INSERT (SQLite only: docs/postgres.md's step 2 turns its one caller,
 * the event log, into INSERT … RETURNING; on PostgreSQL it is always -1). */
int64_t al_db_last_rowid(struct al_store *s);

/* The database's last error as a store code: AL_E_CONFLICT for a constraint, AL_E_NOMEM,
 * AL_E_FULL when a write found the disk full, AL_E_RANGE for an integer overflow
 * (PostgreSQL), else AL_E_DB. */
int al_db_code(struct al_store *s);

/* What the last failed statement was (enum al_db_fail). */
enum al_db_fail al_db_failed(struct al_store *s);

/* al_db_code's code, recorded in `e` with `what` failed and the database's message. Returns
 * the code. */
int al_db_fail(struct al_store *s, struct al_err *e, const char *what);

/* Run `sql`, one control statement (BEGIN, COMMIT, SAVEPOINT, RELEASE: a string literal), from
 * the statement cache: parsing it again would cost at every use, several times per write
 * call. 0, or the store code with the database's message in `e`. */
int al_db_exec(struct al_store *s, const char *sql, struct al_err *e);

/* Run `sql`, a script of one or more statements parsed at each use (migrations, and undoing
 * a savepoint, whose failure is harmless when the database ended the transaction already).
 * 0, or the store code with the database's message in `e` (which may be NULL). */
int al_db_script(struct al_store *s, const char *sql, struct al_err *e);

/* ---- built on the driver (db.c) ---- */

/* Step a statement that returns no rows and give it back. Returns the rows changed or a
 * code. */
int al_db_run(struct al_store *s, struct al_db_stmt *st, struct al_err *e, const char *what);

/* Step `st` for its one row: 0 with the row current (read it, then al_db_done), or
 * AL_E_NOTFOUND ("no <what>") or an error, `st` given back on those two paths. */
int al_db_row(struct al_store *s, struct al_db_stmt *st, struct al_err *e, const char *what);

/* A unit of several statements that is kept or undone whole, inside the caller's transaction
 * or alone (a savepoint). end releases it when rc is 0, else rolls it back; returns rc, or
 * the release's error. */
int al_db_unit_begin(struct al_store *s, struct al_err *e);
int al_db_unit_end(struct al_store *s, int rc, struct al_err *e);

/* Turns the current row of a list query into a new object (NULL when out of memory); column 0
 * is the sort key, which the row function stores as "_key". */
typedef json_t *(*al_db_row_fn)(struct al_db_stmt *st);

/* Run a list query, limited to `limit` + 1 rows, into *ret (a new array, the caller's): at most
 * `limit` objects made by `row`; when there is one more row, *next (when not NULL; the
 * caller frees) is the cursor of the next page. Gives `st` back on every path. */
int al_db_collect(struct al_store *s, struct al_db_stmt *st, int limit, al_db_row_fn row,
                  json_t **ret, char **next, struct al_err *e);

/* A document row of a list (an al_db_row_fn): column 0 the key, column 1 the JSON text; a
 * corrupt document shows as an empty object rather than failing the list. */
json_t *al_db_doc_row(struct al_db_stmt *st);

/* The one JSON document `sql` (one text parameter, `key`) selects into *ret (the caller's):
 * 0, AL_E_NOTFOUND ("no <what> <key>", or "no <key>" when what is NULL), AL_E_DB for a stored
 * text that is not JSON, or another error. */
int al_db_doc_one(struct al_store *s, const char *sql, const char *key, const char *what,
                  json_t **ret, struct al_err *e);

/* A page's limit: 100 when not given, at most 500. */
int al_db_page_limit(struct al_store_page pg);

/* Grow *arr (of `size`-byte items, *cap of them) to hold at least n + 1. 0 or AL_E_NOMEM. */
int al_db_grow(void **arr, size_t *cap, size_t n, size_t size, struct al_err *e);

#endif
