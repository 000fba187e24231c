/* sqlite.c — the SQLite implementation of store.h, its life cycle and durability: open (WAL,
 * synchronous=FULL: a commit is on disk when it returns; or NORMAL plus our own fdatasync of
 * the log, see al_store_defer_sync), foreign keys on, temp files in memory, busy timeout,
 * numbered migrations, transactions and savepoints; and, in debug builds, the fault injection
 * of store.h. Statements run through sqlite_stmt.c; the tables' own calls are in
 * sqlite_accounts.c, sqlite_fleet.c and sqlite_flow.c. */
#include "store/sqlite_internal.h"

#include "core/assert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    /* 2: builds before it stored a new user's bearer token in clear in the idempotency record
     * of POST /v1/users; the token goes (the replay withholds it, as after a restart now), and
     * secure_delete zeroes the bytes the rewritten rows leave behind */
    "PRAGMA secure_delete=ON;"
    "UPDATE idempotency SET response = json_set(response, '$.token', NULL,"
    " '$.withheld', json('[\"token\"]'))"
    " WHERE json_valid(response) AND json_type(response, '$.token') = 'text';"
    "PRAGMA secure_delete=OFF;",
    /* 3: GPUs are their uuids (the index is an attribute: no UNIQUE(node, idx), which needs
     * the table rebuilt; holds reference it, so their foreign keys are checked at commit),
     * the model a GPU is sold as beside the one its node reports, whether its node still
     * reports it, and whether a node is online (the clock marks silent nodes offline). */
    "PRAGMA defer_foreign_keys = ON;"
    "CREATE TEMP TABLE gpus_v1 AS SELECT * FROM gpus;"
    "DROP TABLE gpus;"
    "CREATE TABLE gpus(id TEXT PRIMARY KEY, node TEXT NOT NULL REFERENCES nodes(name),"
    " idx INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, model TEXT NOT NULL,"
    " reported_model TEXT NOT NULL,"
    " pool TEXT NOT NULL CHECK(pool IN ('general','dedicated')), healthy INTEGER NOT NULL,"
    " drained INTEGER NOT NULL DEFAULT 0, present INTEGER NOT NULL DEFAULT 1);"
    "INSERT INTO gpus SELECT id, node, idx, uuid, model, model, pool, healthy, drained, 1"
    " FROM gpus_v1;"
    "DROP TABLE gpus_v1;"
    "CREATE INDEX gpus_node ON gpus(node, idx);"
    "ALTER TABLE nodes ADD COLUMN online INTEGER NOT NULL DEFAULT 1;"
    "CREATE INDEX nodes_online ON nodes(online, last_seen);",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == AL_STORE_SCHEMA_VER,
               "AL_STORE_SCHEMA_VER must count the migrations");

#ifdef AL_DEBUG
static int fault_from_env(struct al_store *s, struct al_err *e);
#endif

static int exec_sql(struct al_store *s, const char *sql, struct al_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = al_err_set(e, al_sqlite_code(s), "%s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int al_store_schema_version(struct al_store *s)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (al_sqlite_prep(s, &st, NULL, "SELECT max(version) FROM schema_version", "") == 0 &&
        al_sqlite_step(s, st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    al_sqlite_done(s, st);
    return v;
}

/* Apply the migrations after the database's version, up to `upto`. */
static int migrate(struct al_store *s, int upto, struct al_err *e)
{
    int rc = exec_sql(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)", e);
    if (rc)
        return rc;
    int have = al_store_schema_version(s);
    if (have > AL_STORE_SCHEMA_VER)
        return al_err_set(e, AL_E_DB, "database schema %d is newer than this build (%d)", have,
                          AL_STORE_SCHEMA_VER);
    for (int v = have; v < upto; v++) {
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
    return al_store_open_at(path, AL_STORE_SCHEMA_VER, ret, reterr);
}

int al_store_open_at(const char *path, int version, struct al_store **ret, struct al_err *reterr)
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
        rc = version < 1 || version > AL_STORE_SCHEMA_VER
                 ? al_err_set(reterr, AL_E_INVAL, "no schema version %d", version)
                 : migrate(s, version, reterr);
#ifdef AL_DEBUG
    if (rc == 0) /* armed after the migrations, so that their commits do not count */
        rc = fault_from_env(s, reterr);
#endif
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
    for (size_t i = 0; i < AL_SQLITE_STMT_CACHE; i++)
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
#ifdef AL_DEBUG
    if (al_sqlite_fault_fires(s, AL_STORE_FAULT_SYNC, NULL))
        return al_err_set(reterr, -EIO, "fdatasync of the write-ahead log: %s (injected fault)",
                          al_strerror(-EIO));
#endif
    if (fdatasync(s->wal_fd) != 0)
        return al_err_set(reterr, -errno, "fdatasync of the write-ahead log: %s",
                          al_strerror(-errno));
    return 0;
}

int al_store_begin(struct al_store *s, struct al_err *reterr)
{
    AL_ASSERT(!s->in_tx); /* the caller ends each transaction it begins */
    if (s->in_tx)
        return al_err_set(reterr, AL_E_INTERNAL, "transaction already open");
    int rc = exec_sql(s, "BEGIN IMMEDIATE", reterr);
    s->in_tx = rc == 0;
    return rc;
}

int al_store_commit(struct al_store *s, struct al_err *reterr)
{
    int rc;
#ifdef AL_DEBUG
    if (al_sqlite_fault_fires(s, AL_STORE_FAULT_COMMIT, NULL)) {
        /* as when COMMIT fails on a disk error: nothing of the transaction is kept */
        al_store_rollback(s);
        return al_err_set(reterr, AL_E_DB, "COMMIT: disk I/O error (injected fault)");
    }
#endif
    rc = exec_sql(s, "COMMIT", reterr);
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

/* ---- fault injection (debug builds) ---- */

#ifdef AL_DEBUG

int al_store_fault_set(struct al_store *s, enum al_store_fault kind, unsigned nth, const char *sql)
{
    if ((unsigned)kind >= AL_STORE_FAULT_KINDS)
        return AL_E_INVAL;
    if (sql && strlen(sql) >= sizeof s->fault.sql)
        return AL_E_INVAL;
    s->fault.left[kind] = nth;
    if (kind == AL_STORE_FAULT_ALLOC)
        snprintf(s->fault.sql, sizeof s->fault.sql, "%s", sql ? sql : "");
    return 0;
}

bool al_sqlite_fault_fires(struct al_store *s, enum al_store_fault kind, const char *sql)
{
    unsigned *left = &s->fault.left[kind];
    if (*left == 0)
        return false;
    if (kind == AL_STORE_FAULT_ALLOC && s->fault.sql[0] && (!sql || !strstr(sql, s->fault.sql)))
        return false;
    return --*left == 0;
}

/* AL_STORE_FAULT=commit:N | sync:N | alloc:N[:SQL] (store.h), when set. */
static int fault_from_env(struct al_store *s, struct al_err *e)
{
    static const char *const kinds[] = {"commit", "sync", "alloc"};
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read at open, before the server starts threads */
    const char *v = getenv("AL_STORE_FAULT");
    if (!v || !*v)
        return 0;
    const char *colon = strchr(v, ':');
    for (unsigned k = 0; colon && k < AL_STORE_FAULT_KINDS; k++) {
        if (strlen(kinds[k]) != (size_t)(colon - v) || strncmp(v, kinds[k], strlen(kinds[k])) != 0)
            continue;
        unsigned nth = 0;
        const char *p = colon + 1;
        for (; *p >= '0' && *p <= '9' && nth < 1000000; p++)
            nth = nth * 10 + (unsigned)(*p - '0');
        bool tail_ok = !*p || (*p == ':' && k == AL_STORE_FAULT_ALLOC);
        if (p > colon + 1 && nth > 0 && tail_ok &&
            al_store_fault_set(s, (enum al_store_fault)k, nth, *p ? p + 1 : NULL) == 0)
            return 0;
        break;
    }
    return al_err_set(e, AL_E_INVAL,
                      "AL_STORE_FAULT: want commit:N, sync:N or alloc:N[:SQL] (N >= 1), not '%s'",
                      v);
}

#endif
