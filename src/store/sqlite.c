/* sqlite.c — the SQLite implementation of store.h: WAL, synchronous=FULL (a commit is on disk
 * when it returns; or NORMAL plus our own fdatasync of the log, see al_store_defer_sync),
 * foreign keys on, temp files in memory, busy timeout, numbered migrations; every statement is
 * given back on every path (reset into the statement cache, or finalized). */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prepared statements are kept for reuse, keyed by their SQL text's address (every
 * statement is a string literal): parsing dominated short calls. A statement is reset after
 * every use; the cache is finalized when the store closes. */
#define STMT_CACHE 96

struct stmt_slot {
    const char *sql;
    sqlite3_stmt *st;
    bool busy;
};

struct al_store {
    sqlite3 *db;
    bool in_tx;
    int wal_fd; /* -1, or the write-ahead log, for al_store_sync (deferred sync) */
    struct stmt_slot cache[STMT_CACHE];
};

/* Numbered migrations: migrations[i] brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " customer_code TEXT UNIQUE, display_name TEXT, created_at INTEGER NOT NULL);"
    "CREATE TABLE users(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL"
    " CHECK(role IN ('operator','org_admin','member','agent')),"
    " org_id TEXT REFERENCES orgs(id), token_hash BLOB NOT NULL UNIQUE,"
    " created_at INTEGER NOT NULL);"
    "CREATE INDEX users_org ON users(org_id, id);"
    "CREATE TABLE nodes(name TEXT PRIMARY KEY, zone TEXT, labels TEXT NOT NULL DEFAULT '{}',"
    " last_seen INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE gpus(id TEXT PRIMARY KEY, node TEXT NOT NULL REFERENCES nodes(name),"
    " idx INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, model TEXT NOT NULL,"
    " pool TEXT NOT NULL CHECK(pool IN ('general','dedicated')), healthy INTEGER NOT NULL,"
    " drained INTEGER NOT NULL DEFAULT 0, UNIQUE(node, idx));"
    "CREATE TABLE prices(model TEXT PRIMARY KEY, gpu_hour INTEGER NOT NULL,"
    " mig_slice_hour INTEGER NOT NULL, pool_gpu_hour INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE TABLE requests(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " state TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX requests_org ON requests(org_id, id);"
    "CREATE INDEX requests_state ON requests(state);"
    "CREATE TABLE quotes(id TEXT PRIMARY KEY,"
    " request_id TEXT NOT NULL REFERENCES requests(id), valid_until INTEGER NOT NULL,"
    " doc TEXT NOT NULL);"
    "CREATE INDEX quotes_request ON quotes(request_id);"
    "CREATE TABLE reservations(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
    " state TEXT NOT NULL, start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,"
    " doc TEXT NOT NULL, CHECK(start_at < end_at));"
    "CREATE INDEX reservations_org ON reservations(org_id, id);"
    "CREATE INDEX reservations_due ON reservations(state, start_at, end_at);"
    "CREATE TABLE holds(id INTEGER PRIMARY KEY, gpu_id TEXT NOT NULL REFERENCES gpus(id),"
    " owner TEXT NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('gpu','mig')),"
    " profile TEXT NOT NULL DEFAULT '', start_unit INTEGER NOT NULL DEFAULT -1,"
    " mask INTEGER NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0, CHECK(t0 < t1));"
    "CREATE INDEX holds_gpu ON holds(gpu_id, t1);"
    "CREATE INDEX holds_time ON holds(t1, t0);"
    "CREATE INDEX holds_owner ON holds(owner);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL, data TEXT NOT NULL);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE idempotency(key TEXT NOT NULL, caller TEXT NOT NULL,"
    " body_hash BLOB NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, PRIMARY KEY(key, caller));",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == AL_STORE_SCHEMA_VER,
               "AL_STORE_SCHEMA_VER must count the migrations");

static int db_fail(struct al_store *s, struct al_err *e, const char *what)
{
    int rc = sqlite3_extended_errcode(s->db);
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return al_err_set(e, AL_E_CONFLICT, "%s: %s", what, sqlite3_errmsg(s->db));
    if ((rc & 0xff) == SQLITE_NOMEM)
        return al_err_set(e, AL_E_NOMEM, "%s: out of memory", what);
    return al_err_set(e, AL_E_DB, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* A prepared statement for `sql`: from the cache when one is free, else new (and cached
 * when there is room). Give it back with done(). */
static int stmt_get(struct al_store *s, const char *sql, sqlite3_stmt **st)
{
    struct stmt_slot *free_slot = NULL;
    for (size_t i = 0; i < STMT_CACHE; i++) {
        struct stmt_slot *c = &s->cache[i];
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
        *free_slot = (struct stmt_slot){sql, *st, true};
    return rc;
}

/* Give back a statement from stmt_get: reset when cached, finalized otherwise. */
static void done(struct al_store *s, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < STMT_CACHE; i++)
        if (s->cache[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            s->cache[i].busy = false;
            return;
        }
    sqlite3_finalize(st);
}

/* Prepare `sql` and bind arguments described by `fmt`: 't' text (NULL binds NULL),
 * 'i' int64, 'b' a AL_STORE_HASH_LEN-byte blob. */
static int prep(struct al_store *s, sqlite3_stmt **st, struct al_err *e, const char *sql,
                const char *fmt, ...)
{
    va_list ap;
    int rc = 0;
    *st = NULL;
    if (stmt_get(s, sql, st) != SQLITE_OK)
        return db_fail(s, e, "prepare");
    va_start(ap, fmt);
    for (int i = 1; fmt[i - 1]; i++) {
        int r;
        if (fmt[i - 1] == 't') {
            const char *v = va_arg(ap, const char *);
            r = v ? sqlite3_bind_text(*st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(*st, i);
        } else if (fmt[i - 1] == 'i') {
            r = sqlite3_bind_int64(*st, i, va_arg(ap, int64_t));
        } else {
            r = sqlite3_bind_blob(*st, i, va_arg(ap, const uint8_t *), AL_STORE_HASH_LEN,
                                  SQLITE_TRANSIENT);
        }
        if (r != SQLITE_OK) {
            rc = db_fail(s, e, "bind");
            break;
        }
    }
    va_end(ap);
    if (rc) {
        done(s, *st);
        *st = NULL;
    }
    return rc;
}

/* Step a statement that returns no rows, finalize it. Returns changes() or a code. */
static int run_stmt(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what)
{
    int rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? sqlite3_changes(s->db) : db_fail(s, e, what);
    done(s, st);
    return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static json_t *json_str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* Parse a stored document; a corrupt one is a database error, not a crash. */
static int load_doc(const char *text, json_t **ret, struct al_err *e)
{
    *ret = text ? json_loads(text, 0, NULL) : NULL;
    return *ret ? 0 : al_err_set(e, AL_E_DB, "stored document is not JSON");
}

static int exec_sql(struct al_store *s, const char *sql, struct al_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = al_err_set(e, AL_E_DB, "%s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int al_store_schema_version(struct al_store *s)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (prep(s, &st, NULL, "SELECT max(version) FROM schema_version", "") == 0 &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    done(s, st);
    return v;
}

static int migrate(struct al_store *s, struct al_err *e)
{
    int rc = exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", e);
    if (rc)
        return rc;
    int have = al_store_schema_version(s);
    if (have > AL_STORE_SCHEMA_VER)
        return al_err_set(e, AL_E_DB, "database schema %d is newer than this build (%d)", have,
                          AL_STORE_SCHEMA_VER);
    for (int v = have; v < AL_STORE_SCHEMA_VER; v++) {
        char bump[96];
        snprintf(bump, sizeof bump, "INSERT INTO schema_version VALUES(%d)", v + 1);
        if ((rc = al_store_begin(s, e)) != 0)
            return rc;
        if ((rc = exec_sql(s, migrations[v], e)) != 0 || (rc = exec_sql(s, bump, e)) != 0) {
            al_store_rollback(s);
            return rc;
        }
        if ((rc = al_store_commit(s, e)) != 0)
            return rc;
    }
    return 0;
}

int al_store_open(const char *path, struct al_store **ret, struct al_err *reterr)
{
    int rc = 0;
    struct al_store *s = calloc(1, sizeof *s);
    *ret = NULL;
    if (!s)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    s->wal_fd = -1;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = al_err_set(reterr, AL_E_DB, "open %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(s->db, 5000);
    rc = exec_sql(s,
                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                  " PRAGMA temp_store=MEMORY;",
                  reterr);
    if (rc == 0)
        rc = migrate(s, reterr);
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
    if (s->in_tx)
        al_store_rollback(s);
    for (size_t i = 0; i < STMT_CACHE; i++)
        sqlite3_finalize(s->cache[i].st);
    sqlite3_close(s->db);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    free(s);
}

int al_store_defer_sync(struct al_store *s, struct al_err *reterr)
{
    const char *db = sqlite3_db_filename(s->db, "main");
    char path[4096];
    if (s->wal_fd >= 0)
        return 0;
    if (!db || !db[0] || snprintf(path, sizeof path, "%s-wal", db) >= (int)sizeof path)
        return al_err_set(reterr, AL_E_INVAL, "no write-ahead log to sync");
    /* the log exists from the first read in WAL mode (the migrations' read) until close */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return al_err_set(reterr, -errno, "cannot open %s: %s", path, al_strerror(-errno));
    int rc = exec_sql(s, "PRAGMA synchronous=NORMAL", reterr);
    if (rc) {
        close(fd);
        return rc;
    }
    s->wal_fd = fd;
    return 0;
}

int al_store_sync(struct al_store *s, struct al_err *reterr)
{
    if (s->wal_fd < 0)
        return 0; /* synchronous=FULL: every commit was synced when it returned */
    if (fdatasync(s->wal_fd) != 0)
        return al_err_set(reterr, -errno, "fdatasync of the write-ahead log: %s",
                          al_strerror(-errno));
    return 0;
}

int al_store_begin(struct al_store *s, struct al_err *reterr)
{
    if (s->in_tx)
        return al_err_set(reterr, AL_E_INTERNAL, "transaction already open");
    int rc = exec_sql(s, "BEGIN IMMEDIATE", reterr);
    s->in_tx = rc == 0;
    return rc;
}

int al_store_commit(struct al_store *s, struct al_err *reterr)
{
    int rc = exec_sql(s, "COMMIT", reterr);
    if (rc)
        al_store_rollback(s);
    s->in_tx = false;
    return rc;
}

void al_store_rollback(struct al_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_tx = false;
}

int al_store_savepoint(struct al_store *s, struct al_err *reterr)
{
    return exec_sql(s, "SAVEPOINT al_unit", reterr);
}

int al_store_release(struct al_store *s, struct al_err *reterr)
{
    return exec_sql(s, "RELEASE al_unit", reterr);
}

void al_store_rollback_to(struct al_store *s)
{
    sqlite3_exec(s->db, "ROLLBACK TO al_unit; RELEASE al_unit", NULL, NULL, NULL);
}

bool al_store_in_tx(struct al_store *s)
{
    return !sqlite3_get_autocommit(s->db);
}

/* ---- pages ---- */

/* Run a list query whose first column is the sort key and the rest are turned into an
 * object by `row`. The query must be limited to pg.limit + 1 rows. */
typedef json_t *(*row_fn)(sqlite3_stmt *st);

static int collect(struct al_store *s, sqlite3_stmt *st, int limit, row_fn row, json_t **ret,
                   char **next, struct al_err *e)
{
    int rc = 0, n = 0, r;
    json_t *arr = json_array();
    if (next)
        *next = NULL;
    if (!arr) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
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
        rc = db_fail(s, e, "list");
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) json_object_del(o, "_key");
out:
    done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

static int page_limit(struct al_store_page pg)
{
    return pg.limit < 1 ? 100 : pg.limit > 500 ? 500 : pg.limit;
}

/* A document row: column 0 the key, column 1 the JSON text. */
static json_t *doc_row(sqlite3_stmt *st)
{
    json_t *o = json_loads(col_text(st, 1) ? col_text(st, 1) : "", 0, NULL);
    if (!o)
        o = json_object(); /* corrupt doc: show an empty one rather than fail the list */
    if (o)
        json_object_set_new(o, "_key", json_string(col_text(st, 0)));
    return o;
}

/* ---- orgs ---- */

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int al_store_org_insert(struct al_store *s, json_t *org, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "INSERT INTO orgs VALUES(?,?,?,?,?)", "tttti", jstr(org, "id"),
                  jstr(org, "name"), jstr(org, "customer_code"), jstr(org, "display_name"),
                  (int64_t)json_integer_value(json_object_get(org, "created_at")));
    if (rc)
        return rc;
    rc = run_stmt(s, st, reterr, "insert org");
    return rc < 0 ? rc : 0;
}

static json_t *org_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:o,s:o,s:I}", "_key", col_text(st, 0), "id", col_text(st, 0),
                     "name", col_text(st, 1), "customer_code", json_str_or_null(col_text(st, 2)),
                     "display_name", json_str_or_null(col_text(st, 3)), "created_at",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

int al_store_org_get(struct al_store *s, const char *key, json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "SELECT id, name, customer_code, display_name, created_at FROM orgs"
                  " WHERE id = ?1 OR name = ?1 OR customer_code = ?1 LIMIT 1",
                  "t", key);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *ret = org_row(st);
        json_object_del(*ret, "_key");
    } else {
        rc = r == SQLITE_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "no org %s", key)
                              : db_fail(s, reterr, "get org");
    }
    done(s, st);
    return rc;
}

int al_store_org_list(struct al_store *s, const char *only_id, struct al_store_page pg,
                      json_t **ret, char **next, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int limit = page_limit(pg);
    int rc = prep(s, &st, reterr,
                  "SELECT id, name, customer_code, display_name, created_at FROM orgs"
                  " WHERE (?1 IS NULL OR id = ?1) AND id > coalesce(?2, '') ORDER BY id LIMIT ?3",
                  "tti", only_id, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : collect(s, st, limit, org_row, ret, next, reterr);
}

/* ---- users ---- */

int al_store_user_insert(struct al_store *s, json_t *user,
                         const uint8_t token_hash[AL_STORE_HASH_LEN], struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "INSERT INTO users VALUES(?,?,?,?,?,?)", "ttttbi",
                  jstr(user, "id"), jstr(user, "name"), jstr(user, "role"), jstr(user, "org"),
                  token_hash, (int64_t)json_integer_value(json_object_get(user, "created_at")));
    if (rc)
        return rc;
    rc = run_stmt(s, st, reterr, "insert user");
    return rc < 0 ? rc : 0;
}

static json_t *user_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:o,s:I}", "_key", col_text(st, 0), "id",
                     col_text(st, 0), "name", col_text(st, 1), "role", col_text(st, 2), "org",
                     json_str_or_null(col_text(st, 3)), "created_at",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

int al_store_user_by_token(struct al_store *s, const uint8_t token_hash[AL_STORE_HASH_LEN],
                           json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "SELECT id, name, role, org_id, created_at FROM users WHERE token_hash = ?", "b",
                  token_hash);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *ret = user_row(st);
        json_object_del(*ret, "_key");
    } else {
        rc = r == SQLITE_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "unknown token")
                              : db_fail(s, reterr, "get user");
    }
    done(s, st);
    return rc;
}

int al_store_user_count(struct al_store *s, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "SELECT count(*) FROM users", "");
    if (rc)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : db_fail(s, reterr, "count");
    done(s, st);
    return rc;
}

int al_store_user_list(struct al_store *s, const char *org_id, struct al_store_page pg,
                       json_t **ret, char **next, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int limit = page_limit(pg);
    int rc = prep(s, &st, reterr,
                  "SELECT id, name, role, org_id, created_at FROM users"
                  " WHERE (?1 IS NULL OR org_id = ?1) AND id > coalesce(?2, '')"
                  " ORDER BY id LIMIT ?3",
                  "tti", org_id, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : collect(s, st, limit, user_row, ret, next, reterr);
}

/* ---- nodes and GPUs ---- */

static int node_gpus_put(struct al_store *s, const char *node, json_t *gpus, struct al_err *e)
{
    size_t i;
    json_t *g;
    int rc = 0;
    json_t *idxs = json_array();
    char *idx_text = NULL;
    if (!idxs)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    json_array_foreach(gpus, i, g)
    {
        sqlite3_stmt *st;
        json_int_t idx = json_integer_value(json_object_get(g, "index"));
        json_array_append_new(idxs, json_integer(idx));
        rc =
            prep(s, &st, e,
                 "INSERT INTO gpus(id, node, idx, uuid, model, pool, healthy) VALUES(?,?,?,?,?,?,?)"
                 " ON CONFLICT(id) DO UPDATE SET uuid = excluded.uuid, model = excluded.model,"
                 " pool = excluded.pool, healthy = excluded.healthy",
                 "ttittti", jstr(g, "id"), node, (int64_t)idx, jstr(g, "uuid"), jstr(g, "model"),
                 jstr(g, "pool"), (int64_t)json_is_true(json_object_get(g, "healthy")));
        if (rc || (rc = run_stmt(s, st, e, "upsert gpu")) < 0)
            goto out;
    }
    idx_text = json_dumps(idxs, JSON_COMPACT);
    if (!idx_text) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    /* GPUs that disappeared: gone unless capacity on them was sold, then kept unhealthy */
    static const char *const gone[] = {
        "DELETE FROM gpus WHERE node = ?1 AND idx NOT IN (SELECT value FROM json_each(?2))"
        " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.gpu_id = gpus.id)",
        "UPDATE gpus SET healthy = 0 WHERE node = ?1"
        " AND idx NOT IN (SELECT value FROM json_each(?2))",
    };
    for (size_t k = 0; k < 2; k++) {
        sqlite3_stmt *st;
        if ((rc = prep(s, &st, e, gone[k], "tt", node, idx_text)) != 0 ||
            (rc = run_stmt(s, st, e, "remove gpus")) < 0)
            goto out;
    }
    rc = 0;
out:
    free(idx_text);
    json_decref(idxs);
    return rc;
}

int al_store_node_upsert(struct al_store *s, json_t *node, int64_t now, struct al_err *reterr)
{
    sqlite3_stmt *st;
    json_t *labels = json_object_get(node, "labels");
    char *ltext = labels ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    int rc;
    if (!ltext)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rc = prep(s, &st, reterr,
              "INSERT INTO nodes(name, zone, labels, last_seen, created_at) VALUES(?1,?2,?3,?4,?4)"
              " ON CONFLICT(name) DO UPDATE SET zone = excluded.zone, labels = excluded.labels,"
              " last_seen = excluded.last_seen",
              "ttti", jstr(node, "name"), jstr(node, "zone"), ltext, now);
    free(ltext);
    if (rc || (rc = run_stmt(s, st, reterr, "upsert node")) < 0)
        return rc;
    return node_gpus_put(s, jstr(node, "name"), json_object_get(node, "gpus"), reterr);
}

static json_t *gpu_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:s?,s:s?,s:s?,s:b,s:b,s:o}", "id", col_text(st, 0), "node",
                     col_text(st, 1), "index", (json_int_t)sqlite3_column_int64(st, 2), "uuid",
                     col_text(st, 3), "model", col_text(st, 4), "pool", col_text(st, 5), "healthy",
                     sqlite3_column_int(st, 6), "drained", sqlite3_column_int(st, 7), "zone",
                     json_str_or_null(col_text(st, 8)));
}

#define GPU_COLS                                                                                   \
    "SELECT g.id, g.node, g.idx, g.uuid, g.model, g.pool, g.healthy, g.drained, n.zone"            \
    " FROM gpus g JOIN nodes n ON n.name = g.node"

static int gpus_query(struct al_store *s, const char *node, json_t **ret, struct al_err *e)
{
    sqlite3_stmt *st;
    /* two statements, so that the one-node query uses the (node, idx) index */
    int rc = node ? prep(s, &st, e, GPU_COLS " WHERE g.node = ?1 ORDER BY g.idx", "t", node)
                  : prep(s, &st, e, GPU_COLS " ORDER BY g.node, g.idx", "");
    if (rc)
        return rc;
    json_t *arr = json_array();
    int r;
    while (arr && (r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *g = gpu_row(st);
        if (!g || json_array_append_new(arr, g))
            break;
        if (node) {
            json_object_del(g, "node");
            json_object_del(g, "zone");
        }
    }
    if (!arr || r == SQLITE_ROW)
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
    else if (r != SQLITE_DONE)
        rc = db_fail(s, e, "gpus");
    done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

int al_store_gpu_all(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    return gpus_query(s, NULL, ret, reterr);
}

static json_t *node_row(sqlite3_stmt *st)
{
    json_t *labels = json_loads(col_text(st, 2) ? col_text(st, 2) : "{}", 0, NULL);
    return json_pack("{s:s?,s:s?,s:o,s:o,s:I}", "_key", col_text(st, 0), "name", col_text(st, 0),
                     "zone", json_str_or_null(col_text(st, 1)), "labels",
                     labels ? labels : json_object(), "last_seen",
                     (json_int_t)sqlite3_column_int64(st, 3));
}

static int add_gpus(struct al_store *s, json_t *nodes, struct al_err *e)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        json_t *g;
        int rc = gpus_query(s, jstr(n, "name"), &g, e);
        if (rc)
            return rc;
        json_object_set_new(n, "gpus", g);
    }
    return 0;
}

int al_store_node_get(struct al_store *s, const char *name, json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    json_t *arr = NULL;
    int rc =
        prep(s, &st, reterr,
             "SELECT name, zone, labels, last_seen FROM nodes WHERE name = ? LIMIT 2", "t", name);
    if (rc || (rc = collect(s, st, 1, node_row, &arr, NULL, reterr)) != 0)
        return rc;
    if (json_array_size(arr) == 0)
        rc = al_err_set(reterr, AL_E_NOTFOUND, "no node %s", name);
    else if ((rc = add_gpus(s, arr, reterr)) == 0)
        *ret = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

int al_store_node_list(struct al_store *s, struct al_store_page pg, json_t **ret, char **next,
                       struct al_err *reterr)
{
    sqlite3_stmt *st;
    int limit = page_limit(pg);
    int rc = prep(s, &st, reterr,
                  "SELECT name, zone, labels, last_seen FROM nodes WHERE name > coalesce(?1, '')"
                  " ORDER BY name LIMIT ?2",
                  "ti", pg.cursor, (int64_t)limit + 1);
    if (rc || (rc = collect(s, st, limit, node_row, ret, next, reterr)) != 0)
        return rc;
    if ((rc = add_gpus(s, *ret, reterr)) != 0) {
        json_decref(*ret);
        *ret = NULL;
        if (next) {
            free(*next);
            *next = NULL;
        }
    }
    return rc;
}

/* ---- prices ---- */

int al_store_price_put(struct al_store *s, const struct al_store_price *p, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "INSERT OR REPLACE INTO prices VALUES(?,?,?,?,?)", "tiiii",
                  p->model, p->gpu_hour, p->mig_slice_hour, p->pool_gpu_hour, p->updated_at);
    if (rc)
        return rc;
    rc = run_stmt(s, st, reterr, "put price");
    return rc < 0 ? rc : 0;
}

int al_store_price_get(struct al_store *s, const char *model, struct al_store_price *ret,
                       struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "SELECT * FROM prices WHERE model = ?", "t", model);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        memset(ret, 0, sizeof *ret);
        snprintf(ret->model, sizeof ret->model, "%s", col_text(st, 0));
        ret->gpu_hour = sqlite3_column_int64(st, 1);
        ret->mig_slice_hour = sqlite3_column_int64(st, 2);
        ret->pool_gpu_hour = sqlite3_column_int64(st, 3);
        ret->updated_at = sqlite3_column_int64(st, 4);
    } else {
        rc = r == SQLITE_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "no price for %s", model)
                              : db_fail(s, reterr, "get price");
    }
    done(s, st);
    return rc;
}

static json_t *price_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I}", "_key", col_text(st, 0), "model",
                     col_text(st, 0), "gpu_hour_micros", (json_int_t)sqlite3_column_int64(st, 1),
                     "mig_slice_hour_micros", (json_int_t)sqlite3_column_int64(st, 2),
                     "pool_gpu_hour_micros", (json_int_t)sqlite3_column_int64(st, 3), "updated_at",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

int al_store_price_list(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "SELECT * FROM prices ORDER BY model LIMIT 100001", "");
    return rc ? rc : collect(s, st, 100000, price_row, ret, NULL, reterr);
}

/* ---- documents ---- */

static int doc_put(struct al_store *s, const char *sql, const struct al_store_doc_meta *m,
                   json_t *doc, struct al_err *e)
{
    sqlite3_stmt *st;
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc;
    if (!text)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    rc = prep(s, &st, e, sql, "tttiit", m->id, m->org, m->state, m->t0, m->t1, text);
    free(text);
    if (rc || (rc = run_stmt(s, st, e, "put document")) < 0)
        return rc;
    return rc == 0 ? al_err_set(e, AL_E_NOTFOUND, "no %s", m->id) : 0;
}

static int doc_get(struct al_store *s, const char *sql, const char *id, json_t **ret,
                   struct al_err *e)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, e, sql, "t", id);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = load_doc(col_text(st, 0), ret, e);
    else
        rc = r == SQLITE_DONE ? al_err_set(e, AL_E_NOTFOUND, "no %s", id)
                              : db_fail(s, e, "get document");
    done(s, st);
    return rc;
}

int al_store_request_put(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                         bool insert, struct al_err *reterr)
{
    return doc_put(s,
                   insert ? "INSERT INTO requests(id, org_id, state, created_at, updated_at, doc)"
                            " VALUES(?1,?2,?3,?4,?5,?6)"
                          : "UPDATE requests SET state = ?3, updated_at = ?5, doc = ?6"
                            " WHERE id = ?1 AND org_id = ?2",
                   m, doc, reterr);
}

int al_store_request_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    return doc_get(s, "SELECT doc FROM requests WHERE id = ?", id, ret, reterr);
}

int al_store_request_list(struct al_store *s, const char *org, const char *state,
                          struct al_store_page pg, json_t **ret, char **next, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int limit = page_limit(pg);
    int rc = prep(s, &st, reterr,
                  "SELECT id, doc FROM requests WHERE (?1 IS NULL OR org_id = ?1)"
                  " AND (?2 IS NULL OR state = ?2) AND id > coalesce(?3, '')"
                  " ORDER BY id LIMIT ?4",
                  "ttti", org, state, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : collect(s, st, limit, doc_row, ret, next, reterr);
}

int al_store_quote_insert(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                          struct al_err *reterr)
{
    return doc_put(s, "INSERT INTO quotes(id, request_id, valid_until, doc) VALUES(?1, ?2, ?4, ?6)",
                   m, doc, reterr);
}

static int id_list(struct al_store *s, const char *sql, int64_t now, json_t **ret, struct al_err *e)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, e, sql, "i", now);
    return rc ? rc : collect(s, st, 100000, doc_row, ret, NULL, e);
}

int al_store_quote_expired(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr)
{
    return id_list(s,
                   "SELECT r.id, json_object('id', r.id) FROM requests r"
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
    return doc_get(s, "SELECT doc FROM reservations WHERE id = ?", id, ret, reterr);
}

int al_store_reservation_list(struct al_store *s, const char *org, const char *state,
                              struct al_store_page pg, json_t **ret, char **next,
                              struct al_err *reterr)
{
    sqlite3_stmt *st;
    int limit = page_limit(pg);
    int rc = prep(s, &st, reterr,
                  "SELECT id, doc FROM reservations WHERE (?1 IS NULL OR org_id = ?1)"
                  " AND (?2 IS NULL OR state = ?2) AND id > coalesce(?3, '')"
                  " ORDER BY id LIMIT ?4",
                  "ttti", org, state, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : collect(s, st, limit, doc_row, ret, next, reterr);
}

int al_store_reservation_due(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr)
{
    return id_list(s,
                   "SELECT id, json_object('id', id) FROM reservations"
                   " WHERE (state = 'scheduled' AND start_at <= ?1)"
                   " OR (state = 'active' AND end_at <= ?1) ORDER BY id LIMIT 100001",
                   now, ret, reterr);
}

/* ---- holds ---- */

int al_store_hold_add(struct al_store *s, const struct al_store_hold *h, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "INSERT INTO holds(gpu_id, owner, kind, profile, start_unit, mask, t0, t1,"
                  " expires_at) VALUES(?,?,?,?,?,?,?,?,?)",
                  "ttttiiiii", h->gpu, h->owner, h->kind, h->profile, (int64_t)h->start_unit,
                  (int64_t)h->mask, h->t0, h->t1, h->expires_at);
    if (rc)
        return rc;
    rc = run_stmt(s, st, reterr, "add hold");
    return rc < 0 ? rc : 0;
}

#define HOLD_LIVE "(h.expires_at = 0 OR h.expires_at > ?)"

int al_store_hold_conflicts(struct al_store *s, const struct al_store_hold *h, int64_t now,
                            struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "SELECT count(*) FROM holds h WHERE h.gpu_id = ? AND (h.mask & ?) != 0"
                  " AND h.t0 < ? AND h.t1 > ? AND " HOLD_LIVE " AND h.owner != ?",
                  "tiiiit", h->gpu, (int64_t)h->mask, h->t1, h->t0, now, h->owner);
    if (rc)
        return rc;
    rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0)
                                        : db_fail(s, reterr, "hold conflicts");
    done(s, st);
    return rc;
}

int al_store_hold_each(struct al_store *s, int64_t t0, int64_t t1, int64_t now, al_store_hold_fn fn,
                       void *arg, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "SELECT gpu_id, owner, kind, profile, start_unit, mask, t0, t1, expires_at"
                  " FROM holds h WHERE h.t1 > ? AND h.t0 < ? AND " HOLD_LIVE,
                  "iii", t0, t1, now);
    if (rc)
        return rc;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        struct al_store_hold h = {0};
        snprintf(h.gpu, sizeof h.gpu, "%s", col_text(st, 0));
        snprintf(h.owner, sizeof h.owner, "%s", col_text(st, 1));
        snprintf(h.kind, sizeof h.kind, "%s", col_text(st, 2));
        snprintf(h.profile, sizeof h.profile, "%s", col_text(st, 3));
        h.start_unit = sqlite3_column_int(st, 4);
        h.mask = (uint64_t)sqlite3_column_int64(st, 5);
        h.t0 = sqlite3_column_int64(st, 6);
        h.t1 = sqlite3_column_int64(st, 7);
        h.expires_at = sqlite3_column_int64(st, 8);
        if ((rc = fn(arg, &h)) != 0)
            break;
    }
    if (rc == 0 && r != SQLITE_DONE)
        rc = db_fail(s, reterr, "holds");
    done(s, st);
    return rc;
}

static int owner_update(struct al_store *s, const char *sql, const char *fmt, const char *a,
                        const char *b, int64_t v, struct al_err *e)
{
    sqlite3_stmt *st;
    int rc = fmt[1] == 't' ? prep(s, &st, e, sql, fmt, a, b) : prep(s, &st, e, sql, fmt, a, v);
    return rc ? rc : run_stmt(s, st, e, "update holds");
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
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "DELETE FROM holds WHERE owner = ?", "t", owner);
    return rc ? rc : run_stmt(s, st, reterr, "release holds");
}

/* ---- events ---- */

int64_t al_store_event_append(struct al_store *s, int64_t at, const char *actor, const char *kind,
                              const char *object, json_t *data, struct al_err *reterr)
{
    sqlite3_stmt *st;
    char *text = data ? json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    int rc;
    if (!text)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rc = prep(s, &st, reterr, "INSERT INTO events(at, actor, kind, object, data) VALUES(?,?,?,?,?)",
              "itttt", at, actor, kind, object, text);
    free(text);
    if (rc || (rc = run_stmt(s, st, reterr, "append event")) < 0)
        return rc;
    return sqlite3_last_insert_rowid(s->db);
}

static json_t *event_row(sqlite3_stmt *st)
{
    json_t *data = json_loads(col_text(st, 5) ? col_text(st, 5) : "{}", 0, NULL);
    return json_pack("{s:I,s:I,s:s?,s:s?,s:s?,s:o}", "seq", (json_int_t)sqlite3_column_int64(st, 0),
                     "at", (json_int_t)sqlite3_column_int64(st, 1), "actor", col_text(st, 2),
                     "kind", col_text(st, 3), "object", col_text(st, 4), "data",
                     data ? data : json_object());
}

int al_store_event_list(struct al_store *s, int64_t after, int limit, json_t **ret,
                        struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr,
                  "SELECT seq, at, actor, kind, object, data FROM events WHERE seq > ?"
                  " ORDER BY seq LIMIT ?",
                  "ii", after, (int64_t)limit);
    return rc ? rc : collect(s, st, limit + 1, event_row, ret, NULL, reterr);
}

/* ---- idempotency ---- */

int al_store_idem_get(struct al_store *s, const char *key, const char *caller,
                      const uint8_t body_hash[AL_STORE_HASH_LEN], int *status, char **response,
                      struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc =
        prep(s, &st, reterr,
             "SELECT body_hash, status, response FROM idempotency WHERE key = ? AND caller = ?",
             "tt", key, caller);
    if (rc)
        return rc;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const void *h = sqlite3_column_blob(st, 0);
        if (sqlite3_column_bytes(st, 0) != AL_STORE_HASH_LEN ||
            memcmp(h, body_hash, AL_STORE_HASH_LEN) != 0) {
            rc = al_err_set(reterr, AL_E_CONFLICT, "Idempotency-Key reused with another body");
        } else {
            *status = sqlite3_column_int(st, 1);
            *response = strdup(col_text(st, 2) ? col_text(st, 2) : "");
            if (!*response)
                rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        }
    } else {
        rc = r == SQLITE_DONE ? AL_E_NOTFOUND : db_fail(s, reterr, "idempotency");
    }
    done(s, st);
    return rc;
}

int al_store_idem_put(struct al_store *s, const struct al_store_idem *r, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = prep(s, &st, reterr, "INSERT INTO idempotency VALUES(?,?,?,?,?,?)", "ttbiti", r->key,
                  r->caller, r->body_hash, (int64_t)r->status, r->response, r->at);
    if (rc)
        return rc;
    rc = run_stmt(s, st, reterr, "put idempotency");
    return rc < 0 ? rc : 0;
}
