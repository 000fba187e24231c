/* db_sqlite.c — the SQLite driver under the store's seam (db.h): open (WAL, synchronous=FULL:
 * a commit is on disk when it returns; or NORMAL plus our own fdatasync of the log, see
 * al_store_defer_sync), foreign keys on, temp files in memory, busy timeout; prepared
 * statements cached by their SQL's address, arguments bound from a format string, steps (with
 * the fault injection of debug builds), columns, SQLite's errors as store codes (a full disk
 * included); transactions. Every statement is given back on every path (reset into the cache,
 * or finalized). Its operations are a struct al_db_ops (db.h), which db.c calls through. */
#include "store/store_internal.h"

#include "core/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
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

/* A statement of this back end: the seam's header (its column readers), then SQLite's. */
struct sq_stmt {
    struct al_db_stmt base;
    sqlite3_stmt *h;
};

struct slot {
    const char *sql;
    struct sq_stmt st;
    bool busy;
};

struct sq_db {
    struct al_db base; /* first: a struct al_db * is a struct sq_db * */
    sqlite3 *h;
    bool in_tx;
    int wal_fd; /* -1, or the write-ahead log, for al_store_sync (deferred sync) */
    struct slot cache[STMT_CACHE];
};

static inline struct sq_db *sq(struct al_store *s)
{
    return (struct sq_db *)s->db;
}

static inline sqlite3_stmt *raw(struct al_db_stmt *st)
{
    return ((struct sq_stmt *)st)->h;
}

/* ---- errors ---- */

static int sq_code(struct al_store *s)
{
    switch (sqlite3_extended_errcode(sq(s)->h) & 0xff) {
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

static enum al_db_fail sq_failed(struct al_store *s)
{
    switch (sqlite3_extended_errcode(sq(s)->h)) {
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
    case SQLITE_BUSY:
        return AL_DB_F_RETRY;
    default:
        return AL_DB_F_OTHER;
    }
}

static int sq_fail(struct al_store *s, struct al_err *e, const char *what)
{
    int code = sq_code(s);
    if (code == AL_E_NOMEM)
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory", what);
    return al_err_set(e, code, "%s: %s", what, sqlite3_errmsg(sq(s)->h));
}

/* ---- statements ---- */

static int64_t col_int64(struct al_db_stmt *st, int col)
{
    return sqlite3_column_int64(raw(st), col);
}

static int col_int(struct al_db_stmt *st, int col)
{
    return sqlite3_column_int(raw(st), col);
}

static const char *col_text(struct al_db_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(raw(st), col);
}

static bool col_null(struct al_db_stmt *st, int col)
{
    return sqlite3_column_type(raw(st), col) == SQLITE_NULL;
}

static const void *col_blob(struct al_db_stmt *st, int col, size_t *n)
{
    /* the blob first, then its size: sqlite3_column_bytes after the conversion */
    const void *b = sqlite3_column_blob(raw(st), col);
    *n = (size_t)sqlite3_column_bytes(raw(st), col);
    return b;
}

static const struct al_db_cols sq_cols = {col_int64, col_int, col_text, col_null, col_blob};

/* A prepared statement for `sql`: from the cache when one is free, else new (and cached
 * when there is room; else allocated, and freed by sq_done). */
static int stmt_get(struct sq_db *d, const char *sql, struct sq_stmt **ret)
{
    struct slot *free_slot = NULL;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct slot *c = &d->cache[i];
        if (c->sql == sql && !c->busy) {
            c->busy = true;
            *ret = &c->st;
            return SQLITE_OK;
        }
        if (!c->sql && !free_slot)
            free_slot = c;
    }
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v3(d->h, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &h, NULL);
    if (rc != SQLITE_OK)
        return rc;
    if (free_slot) {
        *free_slot = (struct slot){sql, {{&sq_cols}, h}, true};
        *ret = &free_slot->st;
        return SQLITE_OK;
    }
    struct sq_stmt *st = malloc(sizeof *st);
    if (!st) {
        sqlite3_finalize(h);
        return SQLITE_NOMEM;
    }
    *st = (struct sq_stmt){{&sq_cols}, h};
    *ret = st;
    return SQLITE_OK;
}

static void sq_done(struct al_store *s, struct al_db_stmt *st)
{
    struct sq_db *d = sq(s);
    struct sq_stmt *p = (struct sq_stmt *)st;
    if ((char *)p >= (char *)d->cache && (char *)p < (char *)(d->cache + STMT_CACHE)) {
        struct slot *c = (struct slot *)((char *)p - offsetof(struct slot, st));
        sqlite3_reset(p->h);
        sqlite3_clear_bindings(p->h);
        c->busy = false;
        return;
    }
    sqlite3_finalize(p->h);
    free(p);
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

static int sq_prep(struct al_store *s, struct al_db_stmt **st, const char *sql, const char *fmt,
                   va_list ap, struct al_err *e)
{
    struct sq_stmt *p = NULL;
    va_list aq;
    int rc = 0;
    *st = NULL;
    if (stmt_get(sq(s), sql, &p) != SQLITE_OK)
        return sq_fail(s, e, "prepare");
    va_copy(aq, ap);
    for (int i = 1; fmt[i - 1] && rc == 0; i++)
        if (bind_one(p->h, i, fmt[i - 1], &aq) != SQLITE_OK)
            rc = sq_fail(s, e, "bind");
    va_end(aq);
    if (rc)
        sq_done(s, &p->base);
    else
        *st = &p->base;
    return rc;
}

static int sq_step(struct al_store *s, struct al_db_stmt *st)
{
#ifdef AL_DEBUG
    struct sq_db *d = sq(s);
    d->base.fault.nomem = false;
    if (al_db_fault_fires(&d->base, AL_STORE_FAULT_ALLOC, sqlite3_sql(raw(st)))) {
        /* An allocation failing inside sqlite3_step halts the statement, and SQLite then
         * rolls back the whole transaction (sqlite3VdbeHalt) unless a statement journal can
         * undo the statement alone: the outcome for the store's one-row statements. */
        sqlite3_reset(raw(st));
        al_store_docs_clear(s);
        if (!sqlite3_get_autocommit(d->h))
            sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
        d->base.fault.nomem = true;
        return SQLITE_NOMEM;
    }
#else
    (void)s;
#endif
    return sqlite3_step(raw(st));
}

static int64_t sq_changes(struct al_store *s)
{
    return sqlite3_changes(sq(s)->h);
}

static int64_t sq_last_rowid(struct al_store *s)
{
    return sqlite3_last_insert_rowid(sq(s)->h);
}

static int sq_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    struct sq_stmt *p = NULL;
    if (stmt_get(sq(s), sql, &p) != SQLITE_OK)
        return sq_fail(s, e, "prepare");
    /* not al_db_step: the debug build's allocation faults count the store's own
     * statements only, as when these ran through sqlite3_exec */
    int rc = sqlite3_step(p->h) != SQLITE_DONE ? sq_fail(s, e, sql) : 0;
    sq_done(s, &p->base);
    return rc;
}

static int sq_script(struct al_store *s, const char *sql, struct al_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(sq(s)->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = al_err_set(e, sq_code(s), "%s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ---- close ---- */

static void sq_close(struct al_db *db)
{
    struct sq_db *d = (struct sq_db *)db;
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(d->cache[i].st.h);
    sqlite3_close(d->h);
    if (d->wal_fd >= 0)
        close(d->wal_fd);
    free(d);
}

/* ---- durability ---- */

static int sq_defer_sync(struct al_store *s, struct al_err *reterr)
{
    struct sq_db *d = sq(s);
    const char *db = sqlite3_db_filename(d->h, "main");
    char path[4096];
    if (d->wal_fd >= 0)
        return 0;
    if (!db || !db[0] || snprintf(path, sizeof path, "%s-wal", db) >= (int)sizeof path)
        return al_err_set(reterr, AL_E_INVAL, "no write-ahead log to sync");
    /* the log exists from the first read in WAL mode (the migrations' read) until close */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return al_err_set(reterr, -errno, "cannot open %s: %s", path, al_strerror(-errno));
    int rc = sq_script(s, "PRAGMA synchronous=NORMAL", reterr);
    if (rc) {
        close(fd);
        return rc;
    }
    d->wal_fd = fd;
    return 0;
}

static int sq_sync(struct al_store *s, struct al_err *reterr)
{
    struct sq_db *d = sq(s);
    if (d->wal_fd < 0)
        return 0; /* synchronous=FULL: every commit was synced when it returned */
#ifdef AL_DEBUG
    if (al_db_fault_fires(&d->base, AL_STORE_FAULT_SYNC, NULL))
        return al_err_set(reterr, -EIO, "fdatasync of the write-ahead log: %s (injected fault)",
                          al_strerror(-EIO));
#endif
    if (fdatasync(d->wal_fd) != 0)
        return al_err_set(reterr, -errno, "fdatasync of the write-ahead log: %s",
                          al_strerror(-errno));
    return 0;
}

/* ---- transactions ---- */

static int sq_begin(struct al_store *s, struct al_err *reterr)
{
    struct sq_db *d = sq(s);
    AL_ASSERT(!d->in_tx); /* the caller ends each transaction it begins */
    if (d->in_tx)
        return al_err_set(reterr, AL_E_INTERNAL, "transaction already open");
    int rc = sq_exec(s, "BEGIN IMMEDIATE", reterr);
    d->in_tx = rc == 0;
    return rc;
}

static void sq_rollback(struct al_store *s)
{
    struct sq_db *d = sq(s);
    if (!sqlite3_get_autocommit(d->h))
        sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
    d->in_tx = false;
}

static int sq_commit(struct al_store *s, struct al_err *reterr)
{
    int rc = sq_exec(s, "COMMIT", reterr);
    if (rc) {
        al_store_docs_clear(s);
        sq_rollback(s);
    }
    sq(s)->in_tx = false;
    return rc;
}

static bool sq_in_tx(struct al_store *s)
{
    return !sqlite3_get_autocommit(sq(s)->h);
}

static const struct al_db_ops sq_ops = {
    .kind = AL_DB_SQLITE,
    .prep = sq_prep,
    .done = sq_done,
    .step = sq_step,
    .changes = sq_changes,
    .last_rowid = sq_last_rowid,
    .code = sq_code,
    .failed = sq_failed,
    .fail = sq_fail,
    .exec = sq_exec,
    .script = sq_script,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .in_tx = sq_in_tx,
    .defer_sync = sq_defer_sync,
    .sync = sq_sync,
    .close = sq_close,
};

/* ---- open ---- */

int al_db_sqlite_open(const char *path, struct al_store **ret, struct al_err *e)
{
    int rc = 0;
    struct al_store *s = calloc(1, sizeof *s);
    struct sq_db *d = calloc(1, sizeof *d);
    *ret = NULL;
    if (!s || !d) {
        free(s);
        free(d);
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    }
    d->base.ops = &sq_ops;
    d->wal_fd = -1;
    s->db = &d->base;
    if (sqlite3_open_v2(path, &d->h,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = al_err_set(e, AL_E_DB, "open %s: %s", path,
                        d->h ? sqlite3_errmsg(d->h) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(d->h, 5000);
    /* a page cache of up to 64 MiB (allocated as pages are read; SQLite's default is 2 MiB):
     * the working set of a large fleet's holds, reservations and indexes stays in memory
     * instead of being read again with pread at each call */
    rc = sq_script(s,
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
