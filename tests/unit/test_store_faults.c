/* test_store_faults.c — the store's failure paths, each on a fresh temporary database: on
 * SQLite only, a full disk (the write-ahead log cannot grow) and a failed fsync, through a VFS
 * that refuses the writes as a full file system would; in debug builds (AL_DEBUG) also the
 * failures of commit, sync and allocation, by fault injection, on SQLite and on PostgreSQL
 * (store_fixture.h). A failed commit loses the whole batch and nothing else; the store writes
 * again once the disk does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"

#include <sqlite3.h>

static bool org_exists(struct al_store *s, const char *name)
{
    json_t *o = NULL;
    int rc = al_store_org_get(s, name, &o, NULL);
    json_decref(o);
    assert_true(rc == 0 || rc == AL_E_NOTFOUND);
    return rc == 0;
}

static size_t event_count(struct al_store *s)
{
    json_t *list = NULL;
    assert_int_equal(al_store_event_list(s, 0, 100, &list, NULL), 0);
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

/* ---- a full disk (any build): SQLite's own failure paths, reached through a VFS ---- */

/* "full", a VFS over the default one that turns a full disk on and off, as a small file
 * system would: with FULL_WRITE a write that grows a file fails with SQLITE_FULL (what the unix
 * VFS answers to ENOSPC), one inside the file still succeeds; with EIO_SYNC every fsync fails
 * with SQLITE_IOERR_FSYNC, a disk error that is not a full disk. */
enum full_mode { FULL_OFF, FULL_WRITE, EIO_SYNC };

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    enum full_mode mode;
    unsigned refused; /* writes or syncs refused since the mode was set */
} full;

struct full_file {
    sqlite3_file base;
    sqlite3_file *real; /* the real VFS's file, in the same allocation, after this struct */
};

#define REAL(f) (((struct full_file *)(f))->real)

static int full_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int full_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int full_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    sqlite3_int64 size = 0;
    if (full.mode == FULL_WRITE && REAL(f)->pMethods->xFileSize(REAL(f), &size) == SQLITE_OK &&
        off + n > size) {
        full.refused++;
        return SQLITE_FULL;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int full_sync(sqlite3_file *f, int flags)
{
    if (full.mode == EIO_SYNC) {
        full.refused++;
        return SQLITE_IOERR_FSYNC;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int full_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int full_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int full_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int full_reserved(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int full_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int full_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int full_device(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int full_shm_map(sqlite3_file *f, int pg, int size, int extend, void volatile **out)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, size, extend, out);
}

static int full_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void full_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int full_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

static int full_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}

static int full_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods full_io = {
    3,
    full_close,
    full_read,
    full_write,
    full_truncate,
    full_sync,
    full_file_size,
    full_lock,
    full_unlock,
    full_reserved,
    full_control,
    full_sector,
    full_device,
    full_shm_map,
    full_shm_lock,
    full_shm_barrier,
    full_shm_unmap,
    full_fetch,
    full_unfetch,
};

static int full_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
    struct full_file *ff = (struct full_file *)f;
    (void)vfs;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = full.real->xOpen(full.real, name, ff->real, flags, out);
    /* SQLite closes only a file whose methods are set */
    ff->base.pMethods = rc == SQLITE_OK && ff->real->pMethods ? &full_io : NULL;
    return rc;
}

/* Setup with "full" as the default VFS, so that the store opens its files through it. */
static int setup_full(void **state)
{
    full.real = sqlite3_vfs_find(NULL);
    assert_non_null(full.real);
    full.vfs = *full.real;
    full.vfs.pNext = NULL;
    full.vfs.zName = "full";
    full.vfs.szOsFile = (int)sizeof(struct full_file) + full.real->szOsFile;
    full.vfs.xOpen = full_open;
    full.mode = FULL_OFF;
    assert_int_equal(sqlite3_vfs_register(&full.vfs, 1), SQLITE_OK);
    return store_setup(state);
}

static int teardown_full(void **state)
{
    full.mode = FULL_OFF;
    int rc = store_teardown(state);
    assert_int_equal(sqlite3_vfs_unregister(&full.vfs), SQLITE_OK);
    assert_int_equal(sqlite3_vfs_register(full.real, 1), SQLITE_OK);
    return rc;
}

/* How many orgs named `name` another connection reads from the file (a restart, in effect). */
static int orgs_on_disk(const char *path, const char *name)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM orgs WHERE name = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* One transaction of two units (an org and its event each) whose commit meets `mode`: it fails
 * with `want`, nothing of it is kept, reads go on meanwhile, and once the disk has room again
 * the next commit succeeds, without reopening the store. */
static void full_commit_case(struct store_fixture *f, enum full_mode mode, int want)
{
    struct al_err e = {0};
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_k", "kept", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    full.mode = mode;
    full.refused = 0;
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    for (int i = 0; i < 2; i++) {
        char id[16], name[16];
        snprintf(id, sizeof id, "org_l%d", i);
        snprintf(name, sizeof name, "lost%d", i);
        assert_int_equal(al_store_savepoint(f->s, NULL), 0);
        store_add_org_named(f->s, id, name, NULL);
        assert_true(al_store_event_append(f->s, 1, "usr_1", "org.created", id, NULL, NULL) > 0);
        assert_int_equal(al_store_release(f->s, NULL), 0);
    }
    assert_int_equal(al_store_commit(f->s, &e), want);
    assert_int_equal(e.code, want);
    assert_true(full.refused > 0); /* the disk was asked, and said no */
    assert_false(al_store_in_tx(f->s));
    al_store_rollback(f->s); /* harmless */
    /* reads while the disk is still full: the committed org, none of the lost ones */
    assert_true(org_exists(f->s, "kept"));
    assert_false(org_exists(f->s, "lost0"));
    assert_false(org_exists(f->s, "lost1"));
    assert_int_equal(event_count(f->s), 0);
    assert_int_equal(orgs_on_disk(f->path, "lost0"), 0);
    /* space again: the same handle writes */
    full.mode = FULL_OFF;
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_a", "after", NULL);
    assert_true(al_store_event_append(f->s, 2, "usr_1", "org.created", "org_a", NULL, NULL) > 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_true(org_exists(f->s, "after"));
    assert_int_equal(event_count(f->s), 1);
    assert_int_equal(orgs_on_disk(f->path, "after"), 1);
    assert_int_equal(orgs_on_disk(f->path, "kept"), 1);
}

/* The write-ahead log cannot grow: SQLITE_FULL is AL_E_FULL. */
static void test_full_log_write(void **state)
{
    STORE_SQLITE_ONLY("a full disk and a failed fsync through SQLite's VFS");
    full_commit_case(*state, FULL_WRITE, AL_E_FULL);
}

/* The log's fsync fails: a disk error, AL_E_DB, and otherwise the same story. */
static void test_eio_log_sync(void **state)
{
    STORE_SQLITE_ONLY("a full disk and a failed fsync through SQLite's VFS");
    full_commit_case(*state, EIO_SYNC, AL_E_DB);
}

/* A write outside a transaction (its own autocommit) fails alone with AL_E_FULL, naming what
 * failed; the store writes again afterwards. */
static void test_full_autocommit(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    STORE_SQLITE_ONLY("a full disk through SQLite's VFS");
    json_t *o = json_pack("{s:s,s:s,s:i}", "id", "org_f", "name", "full", "created_at", 1);
    full.mode = FULL_WRITE;
    assert_int_equal(al_store_org_insert(f->s, o, &e), AL_E_FULL);
    assert_int_equal(e.code, AL_E_FULL);
    assert_non_null(strstr(e.msg, "full"));
    assert_false(al_store_in_tx(f->s));
    assert_false(org_exists(f->s, "full"));
    full.mode = FULL_OFF;
    assert_int_equal(al_store_org_insert(f->s, o, NULL), 0);
    assert_true(org_exists(f->s, "full"));
    json_decref(o);
}

#ifdef AL_DEBUG
/* ---- fault injection (debug builds): the paths a healthy disk never takes ---- */

/* A failed commit keeps nothing of its transaction, fires once, and leaves the store usable. */
static void test_fault_commit(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_COMMIT, 2, NULL), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_1", "first", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0); /* the first commit passes */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_2", "lost", NULL);
    assert_true(al_store_event_append(f->s, 1, "usr_1", "org.created", "org_2", NULL, NULL) > 0);
    assert_int_equal(al_store_commit(f->s, &e), AL_E_DB); /* the second fails */
    assert_int_equal(e.code, AL_E_DB);
    assert_non_null(strstr(e.msg, "injected"));
    assert_false(al_store_in_tx(f->s));
    assert_true(org_exists(f->s, "first"));
    assert_false(org_exists(f->s, "lost"));
    assert_int_equal(event_count(f->s), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_3", "after", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_true(org_exists(f->s, "after"));
}

/* A failed fdatasync of the log is reported (-EIO), once. Before al_store_defer_sync every
 * commit syncs itself and al_store_sync has nothing to do, so it does not count. */
static void test_fault_sync(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_SYNC, 1, NULL), 0);
    assert_int_equal(al_store_sync(f->s, NULL), 0);
    assert_int_equal(al_store_defer_sync(f->s, NULL), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_1", "one", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_store_sync(f->s, &e), -EIO);
    assert_int_equal(e.code, -EIO);
    assert_non_null(strstr(e.msg, "fdatasync"));
    assert_int_equal(al_store_sync(f->s, NULL), 0);
}

/* An allocation failing in a statement: the call fails with AL_E_NOMEM and the database has
 * rolled the whole transaction back (the server's "batch lost"): the units released before it
 * are gone too, and once the caller rolls back the store takes a new transaction. */
static void test_fault_alloc_loses_transaction(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 1, "INSERT INTO events"), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    store_add_org_named(f->s, "org_1", "one", NULL); /* not an events statement: not counted */
    assert_int_equal(al_store_release(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    store_add_org_named(f->s, "org_2", "two", NULL);
    assert_int_equal(al_store_event_append(f->s, 1, "usr_1", "org.created", "org_2", NULL, &e),
                     AL_E_NOMEM);
    assert_int_equal(e.code, AL_E_NOMEM);
    assert_non_null(strstr(e.msg, "injected"));
    assert_false(al_store_in_tx(f->s));
    al_store_rollback(f->s);
    assert_false(org_exists(f->s, "one"));
    assert_false(org_exists(f->s, "two"));
    assert_int_equal(event_count(f->s), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_3", "three", NULL);
    assert_true(al_store_event_append(f->s, 1, "usr_1", "org.created", "org_3", NULL, NULL) > 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_true(org_exists(f->s, "three"));
    assert_int_equal(event_count(f->s), 1);
}

/* nth counts the matching statements only; a read outside a transaction fails alone; the
 * arguments are checked. */
static void test_fault_alloc_counts(void **state)
{
    struct store_fixture *f = *state;
    json_t *o = NULL;
    char long_sql[200];
    store_add_org_named(f->s, "org_a", "acme", NULL);
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 2, "FROM orgs"), 0);
    assert_true(org_exists(f->s, "acme"));                /* 1st */
    assert_int_equal(al_store_user_count(f->s, NULL), 0); /* another table: not counted */
    assert_int_equal(al_store_org_get(f->s, "acme", &o, NULL), AL_E_NOMEM); /* 2nd */
    assert_true(org_exists(f->s, "acme"));                                  /* fired once */
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 1, NULL), 0);
    assert_int_equal(al_store_user_count(f->s, NULL), AL_E_NOMEM); /* any statement */
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 1, "users"), 0);
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 0, NULL), 0); /* disarmed */
    assert_int_equal(al_store_user_count(f->s, NULL), 0);
    memset(long_sql, 'x', sizeof long_sql - 1);
    long_sql[sizeof long_sql - 1] = '\0';
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_ALLOC, 1, long_sql), AL_E_INVAL);
    assert_int_equal(al_store_fault_set(f->s, AL_STORE_FAULT_KINDS, 1, NULL), AL_E_INVAL);
}

/* AL_STORE_FAULT arms a fault at open, after the migrations (a fresh database: they commit
 * too); a bad value fails the open and names the variable. */
static void test_fault_from_env(void **state)
{
    struct store_fixture *f = *state;
    static const char *const bad[] = {"commit",   "commit:",   "commit:0",        "commit:x",
                                      "sync:1:x", "nope:1",    "commit:1:INSERT", "alloc",
                                      ":1",       "commit:-1", "sync:99999999999"};
    const char *path = f->db;
    struct al_store *s = NULL;
    struct al_err e = {0};
    json_t *org = json_pack("{s:s,s:s,s:i}", "id", "org_e", "name", "env", "created_at", 1);
    assert_int_equal(setenv("AL_STORE_FAULT", "commit:1", 1), 0);
    assert_int_equal(al_store_open(path, &s, NULL), 0);
    assert_int_equal(al_store_begin(s, NULL), 0);
    store_add_org_named(s, "org_1", "one", NULL);
    assert_int_equal(al_store_commit(s, NULL), AL_E_DB);
    al_store_close(s);
    assert_int_equal(setenv("AL_STORE_FAULT", "alloc:1:INSERT INTO orgs", 1), 0);
    assert_int_equal(al_store_open(path, &s, NULL), 0);
    assert_int_equal(al_store_org_insert(s, org, NULL), AL_E_NOMEM);
    assert_int_equal(al_store_org_insert(s, org, NULL), 0);
    al_store_close(s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = (struct al_store *)&e; /* must come back NULL */
        assert_int_equal(setenv("AL_STORE_FAULT", bad[i], 1), 0);
        assert_int_equal(al_store_open(path, &s, &e), AL_E_INVAL);
        assert_null(s);
        assert_non_null(strstr(e.msg, "AL_STORE_FAULT"));
    }
    assert_int_equal(unsetenv("AL_STORE_FAULT"), 0);
    json_decref(org);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_log_write, setup_full, teardown_full),
        cmocka_unit_test_setup_teardown(test_eio_log_sync, setup_full, teardown_full),
        cmocka_unit_test_setup_teardown(test_full_autocommit, setup_full, teardown_full),
#ifdef AL_DEBUG
        cmocka_unit_test_setup_teardown(test_fault_commit, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_fault_sync, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_fault_alloc_loses_transaction, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_fault_alloc_counts, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_fault_from_env, store_setup_dir, store_teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
