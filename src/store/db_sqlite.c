/* db_sqlite.c — the SQLite driver under the store's seam (db.h): open (WAL, synchronous=FULL:
 * a commit is on disk when it returns; or NORMAL plus our own fdatasync of the log, see
 * al_store_defer_sync), foreign keys on, temp files in memory, busy timeout; prepared
 * statements cached by their SQL's address, arguments bound from a format string, steps (with
 * the fault injection of debug builds), columns, SQLite's errors as store codes (a full disk
 * included); transactions and savepoints. Every statement is given back on every path (reset
 * into the cache, or finalized). A struct al_db_stmt is an sqlite3_stmt. */
#include "store/store_internal.h"

#include "core/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Static_assert(AL_DB_ROW == SQLITE_ROW && AL_DB_DONE == SQLITE_DONE,
               "al_db_step returns sqlite3_step's codes unchanged");

/* Prepared statements are kept for reuse, keyed by their SQL text's address (every
 * statement is a string literal): parsing dominated short calls. A statement is reset after
 * every use; the cache is finalized when the store closes. */
#define STMT_CACHE 96

struct slot {
    const char *sql;
    sqlite3_stmt *st;
    bool busy;
};

#ifdef AL_DEBUG
#define FAULT_SQL_MAX 128

/* Armed faults (al_store_fault_set): left[k] counts down the events of kind k; the one that
 * brings it to 0 fails. Each count is touched only by its own kind's calls, so that
 * al_store_sync may run beside the others. */
struct faults {
    unsigned left[AL_STORE_FAULT_KINDS];
    char sql[FAULT_SQL_MAX]; /* ALLOC: only statements whose SQL holds this */
    int rc; /* the SQLite code of an injected step failure, until al_db_fail reads it */
};
#endif

struct al_db {
    sqlite3 *h;
    bool in_tx;
    int wal_fd; /* -1, or the write-ahead log, for al_store_sync (deferred sync) */
    struct slot cache[STMT_CACHE];
#ifdef AL_DEBUG
    struct faults fault;
#endif
};

static inline sqlite3_stmt *raw(struct al_db_stmt *st)
{
    return (sqlite3_stmt *)st;
}

#ifdef AL_DEBUG
/* Whether the armed fault `kind` fires at this event: counts it down and disarms it when it
 * fires. `sql`: the statement's text, for ALLOC's filter (NULL for the other kinds). */
static bool fault_fires(struct al_db *d, enum al_store_fault kind, const char *sql)
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

/* ---- errors ---- */

int al_db_code(struct al_store *s)
{
    switch (sqlite3_extended_errcode(s->db->h) & 0xff) {
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

enum al_db_fail al_db_failed(struct al_store *s)
{
    switch (sqlite3_extended_errcode(s->db->h)) {
    case SQLITE_CONSTRAINT_UNIQUE:
        return AL_DB_F_UNIQUE;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return AL_DB_F_PRIMARY;
    case SQLITE_CONSTRAINT_TRIGGER:
        return AL_DB_F_TRIGGER;
    case SQLITE_CONSTRAINT_CHECK:
        return AL_DB_F_CHECK;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return AL_DB_F_FOREIGN;
    case SQLITE_FULL:
        return AL_DB_F_FULL;
    case SQLITE_NOMEM:
        return AL_DB_F_NOMEM;
    default:
        return AL_DB_F_OTHER;
    }
}

int al_db_fail(struct al_store *s, struct al_err *e, const char *what)
{
    int code = al_db_code(s);
#ifdef AL_DEBUG
    if (s->db->fault.rc == SQLITE_NOMEM) { /* injected: the handle itself saw no error */
        s->db->fault.rc = 0;
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory (injected fault)", what);
    }
#endif
    if (code == AL_E_NOMEM)
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory", what);
    return al_err_set(e, code, "%s: %s", what, sqlite3_errmsg(s->db->h));
}

/* ---- statements ---- */

/* A prepared statement for `sql`: from the cache when one is free, else new (and cached
 * when there is room). Give it back with al_db_done(). */
static int stmt_get(struct al_db *d, const char *sql, sqlite3_stmt **st)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct slot *c = &d->cache[i];
        if (c->sql == sql && !c->busy) {
            c->busy = true;
            *st = c->st;
            return SQLITE_OK;
        }
        if (!c->sql && !free_slot)
            free_slot = c;
    }
    int rc = sqlite3_prepare_v3(d->h, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
    if (rc == SQLITE_OK && free_slot)
        *free_slot = (struct slot){sql, *st, true};
    return rc;
}

void al_db_done(struct al_store *s, struct al_db_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < STMT_CACHE; i++)
        if (s->db->cache[i].st == raw(st)) {
            sqlite3_reset(raw(st));
            sqlite3_clear_bindings(raw(st));
            s->db->cache[i].busy = false;
            return;
        }
    sqlite3_finalize(raw(st));
}

/* Bind parameter i of st from `f`, the format's letter, taking its value from ap. */
static int bind_one(sqlite3_stmt *st, int i, char f, va_list *ap)
{
    if (f == 't') {
        const char *v = va_arg(*ap, const char *);
        return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
    }
    if (f == 'i')
        return sqlite3_bind_int64(st, i, va_arg(*ap, int64_t));
    if (f == 'n') {
        int64_t v = va_arg(*ap, int64_t);
        return v < 0 ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, v);
    }
    if (f == 'B') {
        const void *p = va_arg(*ap, const void *);
        size_t n = va_arg(*ap, size_t);
        /* a zero-length blob, not NULL, when there are no bytes */
        return n > INT32_MAX ? SQLITE_TOOBIG
                             : sqlite3_bind_blob(st, i, n ? p : "", (int)n, SQLITE_TRANSIENT);
    }
    return sqlite3_bind_blob(st, i, va_arg(*ap, const uint8_t *), AL_STORE_HASH_LEN,
                             SQLITE_TRANSIENT);
}

int al_db_prep(struct al_store *s, struct al_db_stmt **st, struct al_err *e, const char *sql,
               const char *fmt, ...)
{
    va_list ap;
    int rc = 0;
    sqlite3_stmt *p = NULL;
    *st = NULL;
    if (stmt_get(s->db, sql, &p) != SQLITE_OK)
        return al_db_fail(s, e, "prepare");
    *st = (struct al_db_stmt *)p;
    va_start(ap, fmt);
    for (int i = 1; fmt[i - 1]; i++)
        if (bind_one(p, i, fmt[i - 1], &ap) != SQLITE_OK) {
            rc = al_db_fail(s, e, "bind");
            break;
        }
    va_end(ap);
    if (rc) {
        al_db_done(s, *st);
        *st = NULL;
    }
    return rc;
}

int al_db_step(struct al_store *s, struct al_db_stmt *st)
{
#ifdef AL_DEBUG
    struct al_db *d = s->db;
    d->fault.rc = 0;
    if (fault_fires(d, AL_STORE_FAULT_ALLOC, sqlite3_sql(raw(st)))) {
        /* An allocation failing inside sqlite3_step halts the statement, and SQLite then
         * rolls back the whole transaction (sqlite3VdbeHalt) unless a statement journal can
         * undo the statement alone: the outcome for the store's one-row statements. */
        sqlite3_reset(raw(st));
        al_store_docs_clear(s);
        if (!sqlite3_get_autocommit(d->h))
            sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
        d->fault.rc = SQLITE_NOMEM;
        return SQLITE_NOMEM;
    }
#else
    (void)s;
#endif
    return sqlite3_step(raw(st));
}

int64_t al_db_int64(struct al_db_stmt *st, int col)
{
    return sqlite3_column_int64(raw(st), col);
}

int al_db_int(struct al_db_stmt *st, int col)
{
    return sqlite3_column_int(raw(st), col);
}

const char *al_db_text(struct al_db_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(raw(st), col);
}

bool al_db_null(struct al_db_stmt *st, int col)
{
    return sqlite3_column_type(raw(st), col) == SQLITE_NULL;
}

const void *al_db_blob(struct al_db_stmt *st, int col, size_t *n)
{
    /* the blob first, then its size: sqlite3_column_bytes after the conversion */
    const void *b = sqlite3_column_blob(raw(st), col);
    *n = (size_t)sqlite3_column_bytes(raw(st), col);
    return b;
}

enum al_db_kind al_db_kind(const struct al_store *s)
{
    (void)s;
    return AL_DB_SQLITE;
}

int64_t al_db_changes(struct al_store *s)
{
    return sqlite3_changes(s->db->h);
}

int64_t al_db_last_rowid(struct al_store *s)
{
    return sqlite3_last_insert_rowid(s->db->h);
}

int al_db_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e, sql, "");
    if (rc)
        return rc;
    /* not al_db_step: the debug build's allocation faults count the store's own
     * statements only, as when these ran through sqlite3_exec */
    if (sqlite3_step(raw(st)) != SQLITE_DONE)
        rc = al_db_fail(s, e, sql);
    al_db_done(s, st);
    return rc;
}

int al_db_script(struct al_store *s, const char *sql, struct al_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = al_err_set(e, al_db_code(s), "%s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ---- open and close ---- */

int al_db_open(const char *path, struct al_store **ret, struct al_err *e)
{
    int rc = 0;
    struct al_store *s = calloc(1, sizeof *s);
    *ret = NULL;
    if (!s || !(s->db = calloc(1, sizeof *s->db))) {
        free(s);
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    }
    s->db->wal_fd = -1;
    if (sqlite3_open_v2(path, &s->db->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = al_err_set(e, AL_E_DB, "open %s: %s", path,
                        s->db->h ? sqlite3_errmsg(s->db->h) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db->h, 5000);
    /* a page cache of up to 64 MiB (allocated as pages are read; SQLite's default is 2 MiB):
     * the working set of a large fleet's holds, reservations and indexes stays in memory
     * instead of being read again with pread at each call */
    rc = al_db_script(s,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                      " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536;",
                      e);
out:
    if (rc)
        al_store_close(s);
    else
        *ret = s;
    return rc;
}

void al_store_close(struct al_store *s)
{
    if (!s)
        return;
    if (s->db->in_tx)
        al_store_rollback(s);
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(s->db->cache[i].st);
    al_store_docs_clear(s);
    sqlite3_close(s->db->h);
    if (s->db->wal_fd >= 0)
        close(s->db->wal_fd);
    free(s->db);
    free(s);
}

/* ---- durability ---- */

int al_store_defer_sync(struct al_store *s, struct al_err *reterr)
{
    const char *db = sqlite3_db_filename(s->db->h, "main");
    char path[4096];
    if (s->db->wal_fd >= 0)
        return 0;
    if (!db || !db[0] || snprintf(path, sizeof path, "%s-wal", db) >= (int)sizeof path)
        return al_err_set(reterr, AL_E_INVAL, "no write-ahead log to sync");
    /* the log exists from the first read in WAL mode (the migrations' read) until close */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return al_err_set(reterr, -errno, "cannot open %s: %s", path, al_strerror(-errno));
    int rc = al_db_script(s, "PRAGMA synchronous=NORMAL", reterr);
    if (rc) {
        close(fd);
        return rc;
    }
    s->db->wal_fd = fd;
    return 0;
}

int al_store_sync(struct al_store *s, struct al_err *reterr)
{
    if (s->db->wal_fd < 0)
        return 0; /* synchronous=FULL: every commit was synced when it returned */
#ifdef AL_DEBUG
    if (fault_fires(s->db, AL_STORE_FAULT_SYNC, NULL))
        return al_err_set(reterr, -EIO, "fdatasync of the write-ahead log: %s (injected fault)",
                          al_strerror(-EIO));
#endif
    if (fdatasync(s->db->wal_fd) != 0)
        return al_err_set(reterr, -errno, "fdatasync of the write-ahead log: %s",
                          al_strerror(-errno));
    return 0;
}

/* ---- transactions and savepoints ---- */

int al_store_begin(struct al_store *s, struct al_err *reterr)
{
    AL_ASSERT(!s->db->in_tx); /* the caller ends each transaction it begins */
    if (s->db->in_tx)
        return al_err_set(reterr, AL_E_INTERNAL, "transaction already open");
    int rc = al_db_exec(s, "BEGIN IMMEDIATE", reterr);
    s->db->in_tx = rc == 0;
    return rc;
}

int al_store_commit(struct al_store *s, struct al_err *reterr)
{
    int rc;
#ifdef AL_DEBUG
    if (fault_fires(s->db, AL_STORE_FAULT_COMMIT, NULL)) {
        /* as when COMMIT fails on a disk error: nothing of the transaction is kept */
        al_store_rollback(s);
        return al_err_set(reterr, AL_E_DB, "COMMIT: disk I/O error (injected fault)");
    }
#endif
    rc = al_db_exec(s, "COMMIT", reterr);
    if (rc)
        al_store_rollback(s);
    s->db->in_tx = false;
    return rc;
}

void al_store_rollback(struct al_store *s)
{
    al_store_docs_clear(s);
    if (!sqlite3_get_autocommit(s->db->h))
        sqlite3_exec(s->db->h, "ROLLBACK", NULL, NULL, NULL);
    s->db->in_tx = false;
}

int al_store_savepoint(struct al_store *s, struct al_err *reterr)
{
    return al_db_exec(s, "SAVEPOINT al_unit", reterr);
}

int al_store_release(struct al_store *s, struct al_err *reterr)
{
    return al_db_exec(s, "RELEASE al_unit", reterr);
}

void al_store_rollback_to(struct al_store *s)
{
    al_store_docs_clear(s);
    sqlite3_exec(s->db->h, "ROLLBACK TO al_unit; RELEASE al_unit", NULL, NULL, NULL);
}

bool al_store_in_tx(struct al_store *s)
{
    return !sqlite3_get_autocommit(s->db->h);
}
