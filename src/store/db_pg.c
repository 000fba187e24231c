/* db_pg.c — the PostgreSQL driver under the store's seam (db.h), through libpq
 * (docs/postgres.md, "What db_pg.c does under the seam"): a connection from a `postgres://` URI
 * or a libpq conninfo; the store's statements, written with SQLite's `?` and `?N`, turned into
 * `$N` once per statement, PQprepare'd once per connection under the name of their cache slot
 * and run with PQexecPrepared, their parameters typed by the format string (text, int8,
 * bytea in binary); results in text, rows walked by index, integers parsed strictly, bytea
 * decoded from hex; PostgreSQL's errors (SQLSTATE and constraint name) as the seam's kinds and
 * the store's codes; transactions (READ COMMITTED), savepoints and in_tx from the connection's
 * transaction status; the deferred sync (asynchronous commits on the main connection, a small
 * durable transaction on a second one); the fault injection of debug builds. */
#include "store/store_internal.h"

#include "common/num.h"
#include "core/assert.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_CACHE 128 /* the store has about 165 statements; most calls use a few dozen */
#define PG_PARAMS  64
#define PG_BLOBS   4 /* bytea columns decoded per row */

/* PostgreSQL's type OIDs (pg_type.dat), for parameters and the integer columns */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_NUMERIC = 1700
};

struct pg_db;

struct pg_stmt {
    struct al_db_stmt base;
    struct pg_db *d;
    const char *sql; /* the store's text (the cache's key) */
    char *text;      /* with $N placeholders */
    int nph;         /* the highest $N in text */
    int slot;        /* its cache slot (the prepared statement's name), -1 when uncached */
    bool prepared, busy;
    /* this use: parameters, then the result */
    int nparams;
    Oid types[PG_PARAMS];
    const char *vals[PG_PARAMS];
    int lens[PG_PARAMS], fmts[PG_PARAMS];
    char num[PG_PARAMS][24]; /* the text of int8 parameters */
    void *owned[PG_PARAMS];  /* copies of text and bytea parameters */
    PGresult *res;
    int row, nrows;
    bool ran, bad; /* bad: a column read as an integer was not one */
    int blob_col[PG_BLOBS];
    unsigned char *blob[PG_BLOBS]; /* libpq's (PQunescapeBytea): PQfreemem */
    size_t blob_n[PG_BLOBS];
};

struct pg_db {
    struct al_db base; /* first: a struct al_db * is a struct pg_db * */
    PGconn *c;
    PGconn *sync;   /* after al_store_defer_sync: the connection of al_store_sync */
    char *conninfo; /* to open the second connection (never logged: it may hold a password) */
    int64_t changes;
    char state[6]; /* the last failure's SQLSTATE ("" when none was given) */
    char constraint[64];
    char msg[512];
    bool lost;         /* the last failure was the connection's */
    bool tx;           /* a transaction was begun and not ended (by commit or rollback) */
    char implicit[32]; /* the savepoint that began the transaction (pg_script), or "" */
    struct pg_stmt cache[STMT_CACHE];
};

static inline struct pg_db *pg(struct al_store *s)
{
    return (struct pg_db *)s->db;
}

static inline struct pg_stmt *ps(struct al_db_stmt *st)
{
    return (struct pg_stmt *)st;
}

/* ---- errors ---- */

/* Record the failure of `res` (NULL: libpq gave no result) on the main connection. */
static void record(struct pg_db *d, const PGresult *res)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *cn = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(d->state, sizeof d->state, "%s", st ? st : "");
    snprintf(d->constraint, sizeof d->constraint, "%s", cn ? cn : "");
    snprintf(d->msg, sizeof d->msg, "%s", m ? m : PQerrorMessage(d->c));
    d->msg[strcspn(d->msg, "\n")] = '\0';
    d->lost = PQstatus(d->c) == CONNECTION_BAD || strncmp(d->state, "08", 2) == 0 ||
              strcmp(d->state, "57P01") == 0;
}

/* Record a failure of the driver's own (msg NULL: the one in d->msg already). */
static void record_msg(struct pg_db *d, const char *msg)
{
    d->state[0] = d->constraint[0] = '\0';
    d->lost = false;
    if (msg)
        snprintf(d->msg, sizeof d->msg, "%s", msg);
}

static int pg_code(struct al_store *s)
{
    const struct pg_db *d = pg(s);
    if (strncmp(d->state, "23", 2) == 0)
        return AL_E_CONFLICT;
    if (strcmp(d->state, "53100") == 0)
        return AL_E_FULL;
    if (strcmp(d->state, "53200") == 0)
        return AL_E_NOMEM;
    if (strcmp(d->state, "22003") == 0)
        return AL_E_RANGE;
    return AL_E_DB;
}

static enum al_db_fail pg_failed(struct al_store *s)
{
    static const struct {
        const char *state;
        enum al_db_fail f;
    } map[] = {{"23000", AL_DB_F_TRIGGER},   {"23514", AL_DB_F_CHECK}, {"23503", AL_DB_F_FOREIGN},
               {"23P01", AL_DB_F_EXCLUSION}, {"53100", AL_DB_F_FULL},  {"53200", AL_DB_F_NOMEM},
               {"22003", AL_DB_F_RANGE},     {"40001", AL_DB_F_RETRY}, {"40P01", AL_DB_F_RETRY},
               {"55P03", AL_DB_F_RETRY}};
    const struct pg_db *d = pg(s);
    if (d->lost)
        return AL_DB_F_LOST;
    if (strcmp(d->state, "23505") == 0) {
        /* PostgreSQL names a primary key's index <table>_pkey */
        size_t n = strlen(d->constraint);
        return n >= 5 && strcmp(d->constraint + n - 5, "_pkey") == 0 ? AL_DB_F_PRIMARY
                                                                     : AL_DB_F_UNIQUE;
    }
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(d->state, map[i].state) == 0)
            return map[i].f;
    return AL_DB_F_OTHER;
}

static int pg_fail(struct al_store *s, struct al_err *e, const char *what)
{
    const struct pg_db *d = pg(s);
    if (d->lost)
        return al_err_set(e, AL_E_DB, "%s: connection to PostgreSQL lost: %s", what, d->msg);
    return al_err_set(e, pg_code(s), "%s: %s", what, d->msg);
}

/* ---- columns ---- */

static bool current(const struct pg_stmt *p, int col)
{
    return p->res && p->row >= 0 && p->row < p->nrows && col >= 0 && col < PQnfields(p->res);
}

static bool col_null(struct al_db_stmt *st, int col)
{
    const struct pg_stmt *p = ps(st);
    return !current(p, col) || PQgetisnull(p->res, p->row, col);
}

/* A column as SQLite would give it as an integer: NULL is 0, a boolean 1 or 0. Anything else
 * that is not an integer marks the statement bad: its next step fails (al_db_step checks the
 * integer-typed columns of each row before it is read, so only a text column read as a
 * number gets here). */
static int64_t col_int64(struct al_db_stmt *st, int col)
{
    struct pg_stmt *p = ps(st);
    int64_t v = 0;
    if (col_null(st, col))
        return 0;
    const char *t = PQgetvalue(p->res, p->row, col);
    if (PQftype(p->res, col) == OID_BOOL)
        return t[0] == 't';
    if (al_num_parse_i64(t, INT64_MIN, INT64_MAX, &v) != 0) {
        p->bad = true;
        snprintf(p->d->msg, sizeof p->d->msg, "column %d: '%.40s' is not an integer", col, t);
        return 0;
    }
    return v;
}

static int col_int(struct al_db_stmt *st, int col)
{
    int64_t v = col_int64(st, col);
    return (int)v; /* as sqlite3_column_int: the low 32 bits */
}

static const char *col_text(struct al_db_stmt *st, int col)
{
    const struct pg_stmt *p = ps(st);
    return col_null(st, col) ? NULL : PQgetvalue(p->res, p->row, col);
}

/* A bytea column, decoded from its hex output ("\x…") into a buffer kept until the next step;
 * NULL for NULL (and for a malformed value, which marks the statement bad). */
static const void *col_blob(struct al_db_stmt *st, int col, size_t *n)
{
    struct pg_stmt *p = ps(st);
    int i = 0;
    *n = 0;
    if (col_null(st, col))
        return NULL;
    const char *t = PQgetvalue(p->res, p->row, col);
    size_t len = strlen(t);
    while (i < PG_BLOBS && p->blob[i] && p->blob_col[i] != col)
        i++;
    if (i == PG_BLOBS || len < 2 || t[0] != '\\' || t[1] != 'x' || len % 2) {
        p->bad = true;
        snprintf(p->d->msg, sizeof p->d->msg, "column %d: not a bytea in hex", col);
        return NULL;
    }
    if (!p->blob[i]) {
        /* libpq's own decoder; the buffer is libpq's (PQfreemem in stmt_reset, run) */
        p->blob[i] = PQunescapeBytea((const unsigned char *)t, &p->blob_n[i]);
        if (!p->blob[i])
            return NULL;
        p->blob_col[i] = col;
    }
    *n = p->blob_n[i];
    return p->blob[i];
}

static const struct al_db_cols pg_cols = {col_int64, col_int, col_text, col_null, col_blob};

/* ---- statements ---- */

/* Forget this use of `p`: its result, its parameters, its decoded columns. */
static void stmt_reset(struct pg_stmt *p)
{
    PQclear(p->res);
    p->res = NULL;
    p->ran = p->bad = false;
    p->row = -1;
    p->nrows = 0;
    for (int i = 0; i < p->nparams; i++) {
        free(p->owned[i]);
        p->owned[i] = NULL;
    }
    p->nparams = 0;
    for (int i = 0; i < PG_BLOBS; i++) {
        PQfreemem(p->blob[i]);
        p->blob[i] = NULL;
    }
}

static void pg_done(struct al_store *s, struct al_db_stmt *st)
{
    struct pg_stmt *p = ps(st);
    (void)s;
    stmt_reset(p);
    if (p->slot >= 0) {
        p->busy = false;
        return;
    }
    free(p->text);
    free(p);
}

/* A statement for `sql`: a free cached one, else a new one in a free slot, else one of its
 * own (run unnamed; pg_done frees it). 0 or AL_E_NOMEM. */
static int stmt_get(struct pg_db *d, const char *sql, struct pg_stmt **ret)
{
    struct pg_stmt *free_slot = NULL, *p;
    for (int i = 0; i < STMT_CACHE; i++) {
        p = &d->cache[i];
        if (p->sql == sql && !p->busy) {
            p->busy = true;
            *ret = p;
            return 0;
        }
        if (!p->sql && !free_slot)
            free_slot = p;
    }
    p = free_slot ? free_slot : calloc(1, sizeof *p);
    if (!p)
        return AL_E_NOMEM;
    int nph = 0;
    char *text = al_db_pg_placeholders(sql, &nph);
    if (!text) {
        if (!free_slot)
            free(p);
        return AL_E_NOMEM;
    }
    *p = (struct pg_stmt){.base = {&pg_cols},
                          .d = d,
                          .sql = sql,
                          .text = text,
                          .nph = nph,
                          .slot = free_slot ? (int)(free_slot - d->cache) : -1,
                          .busy = true,
                          .row = -1};
    *ret = p;
    return 0;
}

/* Copy `n` bytes of `v` as parameter i (a text when `text`: n + 1 bytes with its NUL). */
static int param_copy(struct pg_stmt *p, int i, const void *v, size_t n, bool text)
{
    char *c = malloc(n + (text ? 1 : 0) + 1);
    if (!c)
        return AL_E_NOMEM;
    memcpy(c, n ? v : "", n);
    c[n] = '\0';
    p->owned[i] = c;
    p->vals[i] = c;
    p->lens[i] = (int)n;
    p->fmts[i] = text ? 0 : 1;
    return 0;
}

/* Bind parameter i (0-based) of p from the format letter `f`, its value from ap. */
static int bind_one(struct pg_stmt *p, int i, char f, va_list *ap)
{
    p->vals[i] = NULL;
    p->lens[i] = p->fmts[i] = 0;
    if (f == 't') {
        const char *v = va_arg(*ap, const char *);
        p->types[i] = OID_TEXT;
        return v ? param_copy(p, i, v, strlen(v), true) : 0;
    }
    if (f == 'i' || f == 'n') {
        int64_t v = va_arg(*ap, int64_t);
        p->types[i] = OID_INT8;
        if (f == 'n' && v < 0)
            return 0;
        snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
        p->vals[i] = p->num[i];
        return 0;
    }
    p->types[i] = OID_BYTEA;
    if (f == 'B') {
        const void *v = va_arg(*ap, const void *);
        size_t n = va_arg(*ap, size_t);
        return n > INT32_MAX ? AL_E_RANGE : param_copy(p, i, v, n, false);
    }
    if (f == 'b')
        return param_copy(p, i, va_arg(*ap, const uint8_t *), AL_STORE_HASH_LEN, false);
    return AL_E_INTERNAL;
}

static int pg_prep(struct al_store *s, struct al_db_stmt **st, const char *sql, const char *fmt,
                   va_list ap, struct al_err *e)
{
    struct pg_stmt *p = NULL;
    int nfmt = (int)strlen(fmt), rc;
    va_list aq;
    *st = NULL;
    if ((rc = stmt_get(pg(s), sql, &p)) != 0)
        return al_err_set(e, rc, "prepare: out of memory");
    if (nfmt > PG_PARAMS || p->nph > PG_PARAMS) {
        pg_done(s, &p->base);
        return al_err_set(e, AL_E_INTERNAL, "bind: more than %d parameters", PG_PARAMS);
    }
    /* PostgreSQL wants a value for each placeholder: the ones the format leaves out are NULL
     * of a type it infers, as SQLite binds NULL to a parameter never bound */
    p->nparams = nfmt > p->nph ? nfmt : p->nph;
    va_copy(aq, ap);
    for (int i = 0; i < p->nparams && rc == 0; i++) {
        if (i >= nfmt) {
            p->types[i] = 0;
            p->vals[i] = NULL;
            p->lens[i] = p->fmts[i] = 0;
        } else if ((rc = bind_one(p, i, fmt[i], &aq)) != 0) {
            rc = al_err_set(e, rc, "bind: parameter %d: %s", i + 1, al_strerror(rc));
        }
    }
    va_end(aq);
    if (rc)
        pg_done(s, &p->base);
    else
        *st = &p->base;
    return rc;
}

/* Whether every integer-typed column of the current row is an integer (al_db_int64 never
 * gives 0 for a malformed number). */
static bool row_ok(struct pg_stmt *p)
{
    for (int c = 0; c < PQnfields(p->res); c++) {
        Oid t = PQftype(p->res, c);
        int64_t v;
        if ((t == OID_INT8 || t == OID_INT4 || t == OID_INT2 || t == OID_NUMERIC) &&
            !PQgetisnull(p->res, p->row, c) &&
            al_num_parse_i64(PQgetvalue(p->res, p->row, c), INT64_MIN, INT64_MAX, &v) != 0) {
            snprintf(p->d->msg, sizeof p->d->msg, "column %d: '%.40s' is not an integer", c,
                     PQgetvalue(p->res, p->row, c));
            return false;
        }
    }
    return true;
}

static int revive(struct al_store *s);

/* Run p on the server: prepared once per connection under its slot's name, else unnamed. */
static int run(struct al_store *s, struct pg_stmt *p)
{
    struct pg_db *d = pg(s);
    char name[16];
    PGresult *r;
    if (revive(s) != 0)
        return -1;
    if (p->slot >= 0 && !p->prepared) {
        snprintf(name, sizeof name, "s%d", p->slot);
        r = PQprepare(d->c, name, p->text, p->nparams, p->types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            record(d, r);
            PQclear(r);
            return -1;
        }
        PQclear(r);
        p->prepared = true;
    }
    if (p->slot >= 0) {
        snprintf(name, sizeof name, "s%d", p->slot);
        r = PQexecPrepared(d->c, name, p->nparams, p->vals, p->lens, p->fmts, 0);
    } else {
        r = PQexecParams(d->c, p->text, p->nparams, p->types, p->vals, p->lens, p->fmts, 0);
    }
    ExecStatusType x = PQresultStatus(r);
    if (x != PGRES_TUPLES_OK && x != PGRES_COMMAND_OK) {
        record(d, r);
        PQclear(r);
        return -1;
    }
    int64_t n = 0;
    d->changes = al_num_parse_i64(PQcmdTuples(r), 0, INT64_MAX, &n) == 0 ? n : 0;
    p->res = r;
    p->nrows = x == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    p->ran = true;
    return 0;
}

/* The failure al_db_step returns (any value but AL_DB_ROW and AL_DB_DONE) */
#define STEP_FAILED 1

static int pg_step(struct al_store *s, struct al_db_stmt *st)
{
    struct pg_db *d = pg(s);
    struct pg_stmt *p = ps(st);
#ifdef AL_DEBUG
    d->base.fault.nomem = false;
    if (al_db_fault_fires(&d->base, AL_STORE_FAULT_ALLOC, p->sql)) {
        /* as SQLite's allocation failure inside a statement: the transaction is gone */
        al_store_rollback(s);
        d->base.fault.nomem = true;
        return STEP_FAILED;
    }
#endif
    if (p->bad) {
        record_msg(d, NULL);
        return STEP_FAILED;
    }
    if (!p->ran && run(s, p) != 0)
        return STEP_FAILED;
    for (int i = 0; i < PG_BLOBS; i++) {
        PQfreemem(p->blob[i]);
        p->blob[i] = NULL;
    }
    if (p->row < p->nrows)
        p->row++;
    if (p->row >= p->nrows)
        return AL_DB_DONE;
    if (!row_ok(p)) {
        record_msg(d, NULL);
        return STEP_FAILED;
    }
    return AL_DB_ROW;
}

static int64_t pg_changes(struct al_store *s)
{
    return pg(s)->changes;
}

static int64_t pg_last_rowid(struct al_store *s)
{
    (void)s;
    return -1; /* no rowid: the statements use RETURNING */
}

/* Run `sql` (one or more statements, no parameters) on the main connection as it is. */
static int sql_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    struct pg_db *d = pg(s);
    PGresult *r = PQexec(d->c, sql);
    ExecStatusType x = PQresultStatus(r);
    int rc = 0;
    if (x != PGRES_COMMAND_OK && x != PGRES_TUPLES_OK) {
        record(d, r);
        rc = pg_fail(s, e, "exec");
    }
    PQclear(r);
    return rc;
}

/* sql_exec on a connection opened again first when it was lost outside a transaction. */
static int sql_run(struct al_store *s, const char *sql, struct al_err *e)
{
    if (revive(s) != 0)
        return pg_fail(s, e, "reconnect");
    return sql_exec(s, sql, e);
}

static bool pg_in_tx(struct al_store *s);
static int pg_commit(struct al_store *s, struct al_err *reterr);

/* SQLite's SAVEPOINT outside a transaction begins one, and releasing that savepoint commits
 * it; PostgreSQL refuses a SAVEPOINT there. The store relies on the first (a snapshot read of
 * several tables in one unit: the ledger's load), so the driver does the same: such a unit
 * runs in a REPEATABLE READ transaction (one snapshot, as SQLite's reads see), committed when
 * its savepoint is released. */
static int pg_script(struct al_store *s, const char *sql, struct al_err *e)
{
    struct pg_db *d = pg(s);
    int rc;
    if (strncmp(sql, "SAVEPOINT ", 10) == 0 && !pg_in_tx(s)) {
        if ((rc = sql_run(s, "BEGIN ISOLATION LEVEL REPEATABLE READ", e)) != 0)
            return rc;
        d->tx = true;
        snprintf(d->implicit, sizeof d->implicit, "%s", sql + 10);
    }
    rc = sql_run(s, sql, e);
    const char *rel = d->implicit[0] ? strstr(sql, "RELEASE ") : NULL;
    if (rel && strcmp(rel + 8, d->implicit) == 0) {
        d->implicit[0] = '\0';
        if (pg_in_tx(s)) {
            int crc = pg_commit(s, e);
            rc = rc ? rc : crc;
        }
    }
    return rc;
}

static int pg_exec(struct al_store *s, const char *sql, struct al_err *e)
{
    return pg_script(s, sql, e);
}

/* ---- transactions ---- */

static bool pg_in_tx(struct al_store *s)
{
    PGTransactionStatusType t = PQtransactionStatus(pg(s)->c);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* The session's settings, at open and after a reconnection (the deferred sync's asynchronous
 * commits too, once al_store_defer_sync has set them). */
static int settings(struct al_store *s, struct al_err *e)
{
    /* lock waits are bounded as SQLite's busy timeout (55P03: AL_DB_F_RETRY); notices (a
     * savepoint released twice, an object that exists) are not the log's */
    int rc = sql_exec(s, "SET lock_timeout = '5s'; SET client_min_messages = warning", e);
    return rc == 0 && pg(s)->sync ? sql_exec(s, "SET synchronous_commit = off", e) : rc;
}

/* Outside a transaction, a connection that went away (PostgreSQL restarted or failed over,
 * the backend terminated) is opened again before the next statement: its prepared statements
 * are gone with it, and al_store_reconnects counts it (the server rebuilds its copy). libpq
 * learns of a loss only when it reads, so what is pending on the idle connection is read
 * first (PQconsumeInput does not block; a server that ended the session left its error and
 * the end of the stream). Inside a transaction the connection is never replaced: the
 * transaction died with it, and its statements must fail until the caller ends it (a new
 * connection would run them outside it). 0, or -1 with the failure recorded. */
static int revive(struct al_store *s)
{
    struct pg_db *d = pg(s);
    if (d->tx)
        return 0;
    for (int i = 0; i < 3 && PQstatus(d->c) == CONNECTION_OK; i++)
        if (!PQconsumeInput(d->c))
            break;
    if (PQstatus(d->c) == CONNECTION_OK)
        return 0;
    PQreset(d->c);
    if (PQstatus(d->c) != CONNECTION_OK) {
        record(d, NULL);
        d->lost = true;
        return -1;
    }
    d->base.reconnects++;
    for (int i = 0; i < STMT_CACHE; i++)
        d->cache[i].prepared = false;
    return settings(s, NULL) == 0 ? 0 : -1;
}

static int pg_begin(struct al_store *s, struct al_err *reterr)
{
    struct pg_db *d = pg(s);
    AL_ASSERT(!pg_in_tx(s)); /* the caller ends each transaction it begins */
    if (pg_in_tx(s))
        return al_err_set(reterr, AL_E_INTERNAL, "transaction already open");
    int rc = pg_exec(s, "BEGIN", reterr);
    if (rc != 0 && d->lost) /* the loss showed only now; nothing was begun: on a new one */
        rc = pg_exec(s, "BEGIN", reterr);
    d->tx = rc == 0;
    return rc;
}

static void pg_rollback(struct al_store *s)
{
    pg(s)->implicit[0] = '\0';
    pg(s)->tx = false;
    if (pg_in_tx(s))
        PQclear(PQexec(pg(s)->c, "ROLLBACK"));
}

static int pg_commit(struct al_store *s, struct al_err *reterr)
{
    struct pg_db *d = pg(s);
    int rc = 0;
    if (PQtransactionStatus(d->c) == PQTRANS_INERROR) {
        /* COMMIT would answer ROLLBACK: a statement failed and no savepoint undid it */
        record_msg(d, "the transaction was aborted by an earlier error");
        rc = pg_fail(s, reterr, "COMMIT");
    } else {
        PGresult *r = PQexec(d->c, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            record(d, r);
            rc = pg_fail(s, reterr, "COMMIT");
        } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
            record_msg(d, "the transaction was rolled back");
            rc = pg_fail(s, reterr, "COMMIT");
        }
        PQclear(r);
    }
    d->tx = false;
    if (rc) {
        al_store_docs_clear(s);
        pg_rollback(s);
    }
    return rc;
}

/* ---- durability ---- */

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* A connection to `conninfo` with the notices silenced, or NULL with the reason in e. */
static PGconn *connect_pg(const char *conninfo, struct al_err *e)
{
    PGconn *c = PQconnectdb(conninfo);
    if (!c) {
        al_err_set(e, AL_E_NOMEM, "connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char m[256];
        snprintf(m, sizeof m, "%s", PQerrorMessage(c));
        m[strcspn(m, "\n")] = '\0';
        al_err_set(e, AL_E_DB, "connect to PostgreSQL: %s", m);
        PQfinish(c);
        return NULL;
    }
    if (PQserverVersion(c) < 150000) {
        al_err_set(e, AL_E_DB, "PostgreSQL %d is too old: allot needs 15 or newer",
                   PQserverVersion(c) / 10000);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* Commits return once their record is in PostgreSQL's WAL buffers (synchronous_commit=off:
 * consistent, not yet durable); al_store_sync makes every one so far durable from a second
 * connection (docs/postgres.md). */
static int pg_defer_sync(struct al_store *s, struct al_err *reterr)
{
    struct pg_db *d = pg(s);
    if (d->sync)
        return 0;
    PGconn *c = connect_pg(d->conninfo, reterr);
    if (!c)
        return reterr ? reterr->code : AL_E_DB;
    PGresult *r = PQexec(c, "SET synchronous_commit = on");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    int rc = ok ? sql_run(s, "SET synchronous_commit = off", reterr)
                : al_err_set(reterr, AL_E_DB, "sync connection: %s", PQerrorMessage(c));
    if (rc) {
        PQfinish(c);
        return rc;
    }
    d->sync = c;
    return 0;
}

/* One small durable transaction that writes WAL (a logical message: no table, no row lock):
 * PostgreSQL flushes its WAL up to this commit, so every earlier commit is durable when it
 * returns. Runs beside the main connection (it touches only the second one). */
static int pg_sync(struct al_store *s, struct al_err *reterr)
{
    struct pg_db *d = pg(s);
    if (!d->sync)
        return 0; /* synchronous_commit=on: every commit was durable when it returned */
#ifdef AL_DEBUG
    if (al_db_fault_fires(&d->base, AL_STORE_FAULT_SYNC, NULL))
        return al_err_set(reterr, -EIO,
                          "fdatasync of PostgreSQL's WAL (a durable commit): %s (injected fault)",
                          al_strerror(-EIO));
#endif
    if (PQstatus(d->sync) != CONNECTION_OK)
        PQreset(d->sync);
    PGresult *r = PQexec(d->sync, "BEGIN; SELECT pg_logical_emit_message(true, 'allot', 'sync');"
                                  " COMMIT");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK || strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* never retried on a new connection: had PostgreSQL restarted meanwhile, the
         * asynchronous commits before it may be gone, and a sync there would say durable */
        const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        char msg[256];
        snprintf(msg, sizeof msg, "%s", m ? m : PQerrorMessage(d->sync));
        msg[strcspn(msg, "\n")] = '\0';
        rc = al_err_set(reterr, AL_E_DB, "fdatasync of PostgreSQL's WAL (a durable commit): %s%s",
                        PQstatus(d->sync) == CONNECTION_BAD
                            ? "the sync connection to PostgreSQL was lost: "
                            : "",
                        msg);
    }
    PQclear(r);
    return rc;
}

/* ---- open and close ---- */

static void pg_close(struct al_db *db)
{
    struct pg_db *d = (struct pg_db *)db;
    for (int i = 0; i < STMT_CACHE; i++) {
        stmt_reset(&d->cache[i]);
        free(d->cache[i].text);
    }
    PQfinish(d->c);
    PQfinish(d->sync);
    free(d->conninfo);
    free(d);
}

static const struct al_db_ops pg_ops = {
    .kind = AL_DB_PG,
    .prep = pg_prep,
    .done = pg_done,
    .step = pg_step,
    .changes = pg_changes,
    .last_rowid = pg_last_rowid,
    .code = pg_code,
    .failed = pg_failed,
    .fail = pg_fail,
    .exec = pg_exec,
    .script = pg_script,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .in_tx = pg_in_tx,
    .defer_sync = pg_defer_sync,
    .sync = pg_sync,
    .close = pg_close,
};

int al_db_pg_open(const char *where, struct al_store **ret, struct al_err *e)
{
    struct al_store *s = calloc(1, sizeof *s);
    struct pg_db *d = calloc(1, sizeof *d);
    *ret = NULL;
    if (!s || !d || !(d->conninfo = strdup(where))) {
        free(s);
        free(d);
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    }
    d->base.ops = &pg_ops;
    s->db = &d->base;
    d->c = connect_pg(where, e);
    int rc = d->c ? settings(s, e) : (e ? e->code : AL_E_DB);
    if (rc) {
        if (!d->c) { /* nothing to close through the driver yet */
            free(d->conninfo);
            free(d);
            free(s);
            return rc;
        }
        al_store_close(s);
        return rc;
    }
    *ret = s;
    return 0;
}
