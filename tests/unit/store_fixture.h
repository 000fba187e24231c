/* store_fixture.h — the temporary-database fixture of the store's unit tests, on SQLite or on
 * PostgreSQL: a fresh directory under /tmp per test and the database path in it; on PostgreSQL
 * (AL_TEST_DB=postgres, with AL_PG_CONNINFO naming a maintenance database of the cluster, as
 * bench/pg.sh exports it) also a fresh database per test, created from a template database
 * that holds allot's schema already (made once per program, dropped at its exit), and dropped
 * after the test. f->db names the test's database whatever the engine: the tests open the store
 * on it, never on f->path. Optionally the store opened there; all of it closed and removed after
 * the test. A few helpers run SQL of the test's own on a second connection (what another
 * process, or the database's own rules, would see), and a case about SQLite itself skips on
 * PostgreSQL with its reason (STORE_SQLITE_ONLY). Header-only and static, as tmpdir.h: each
 * unit test is one program from one file. Include after <cmocka.h> (the fixture asserts). */
#ifndef AL_TESTS_STORE_FIXTURE_H
#define AL_TESTS_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/db.h"
#include "store/store.h"
#include "tmpdir.h"

struct store_fixture {
    char dir[64];       /* the test's directory, from mkdtemp */
    char path[96];      /* dir/t.db: SQLite's file (on PostgreSQL, unused but for a test's own) */
    char db[512];       /* what to open the store on: path, or the test database's conninfo */
    char pgname[64];    /* PostgreSQL: the test's database, dropped at teardown; else "" */
    struct al_store *s; /* open on db when asked for, else NULL */
};

/* Whether this run's stores are PostgreSQL's: AL_TEST_DB=postgres, as the integration suites
 * (tests/integration/lib.sh). */
static inline bool store_fixture_pg(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read by a single-threaded test */
    const char *v = getenv("AL_TEST_DB");
    return v && strcmp(v, "postgres") == 0;
}

/* A case about SQLite itself (its file, its lock, its PRAGMAs, migrations from its old schemas,
 * a fault only it has): skipped on PostgreSQL, the reason printed; a skip is never a pass. */
#define STORE_SQLITE_ONLY(why)                                                                     \
    do {                                                                                           \
        if (store_fixture_pg()) {                                                                  \
            print_message("# SQLite only, skipped on PostgreSQL: %s\n", why);                      \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* AL_PG_CONNINFO, the conninfo of the cluster's maintenance database (a libpq key=value
 * string, so that a later dbname overrides its own), or NULL when it is not one. */
static inline const char *store_fixture_maint(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read by a single-threaded test */
    const char *pg = getenv("AL_PG_CONNINFO");
    if (!pg || !strchr(pg, '=') || strstr(pg, "://"))
        return NULL;
    return pg;
}

/* The conninfo of database `name` of that cluster, into buf (cap bytes). */
static inline void store_fixture_conninfo(const char *name, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s dbname=%s", store_fixture_maint(), name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* Run `sql` (no transaction: CREATE and DROP DATABASE) on the maintenance database. 0, or
 * a code with the reason in e. */
static inline int store_fixture_admin(const char *sql, struct al_err *e)
{
    struct al_store *s = NULL;
    int rc = al_db_open(store_fixture_maint(), &s, e);
    if (rc == 0)
        rc = al_db_script(s, sql, e);
    al_store_close(s);
    return rc;
}

static char store_fixture_tpl[64]; /* the program's template database, once made */

/* atexit: drop the template database (pg_store.sh checks that none is left). */
static inline void store_fixture_drop_tpl(void)
{
    char sql[128];
    struct al_err e = {0};
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", store_fixture_tpl);
    if (store_fixture_admin(sql, &e) != 0)
        (void)fprintf(stderr, "%s: %s\n", sql, e.msg);
}

/* Run `sql` on the maintenance database, or fail the test. */
static inline void store_fixture_admin_must(const char *sql)
{
    struct al_err e = {0};
    if (store_fixture_admin(sql, &e) != 0)
        fail_msg("%s: %s", sql, e.msg);
}

/* PostgreSQL: make database `name` with allot's schema, and f->db its conninfo. Creating a
 * database from a template that holds the schema costs a copy of its files; applying the
 * schema to each new database would cost its ~100 statements each time (measured in
 * tests/integration/pg_store.sh's comment). */
static inline void store_fixture_pg_make(struct store_fixture *f)
{
    static unsigned seq;
    char sql[192];
    if (!store_fixture_maint())
        fail_msg("AL_TEST_DB=postgres needs AL_PG_CONNINFO, a libpq key=value conninfo of the"
                 " cluster's maintenance database (bench/pg.sh exports one)");
    if (!store_fixture_tpl[0]) {
        struct al_store *s = NULL;
        struct al_err e = {0};
        snprintf(store_fixture_tpl, sizeof store_fixture_tpl, "al_tpl_%ld", (long)getpid());
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", store_fixture_tpl);
        store_fixture_admin_must(sql);
        assert_int_equal(atexit(store_fixture_drop_tpl), 0);
        store_fixture_conninfo(store_fixture_tpl, f->db, sizeof f->db);
        if (al_store_open(f->db, &s, &e) != 0)
            fail_msg("the template database's schema: %s", e.msg);
        al_store_close(s);
    }
    snprintf(f->pgname, sizeof f->pgname, "al_t_%ld_%u", (long)getpid(), seq++);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s", f->pgname, store_fixture_tpl);
    store_fixture_admin_must(sql);
    store_fixture_conninfo(f->pgname, f->db, sizeof f->db);
}

/* Make the fixture in *state: a fresh directory /tmp/al_store_XXXXXX and its t.db, on
 * PostgreSQL a fresh database too, with the store opened on f->db when `open`. Returns 0 or
 * fails the test; the fixture is the caller's, to give to store_teardown. */
static inline int store_fixture_make(void **state, bool open)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/al_store_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    snprintf(f->db, sizeof f->db, "%s", f->path);
    if (store_fixture_pg())
        store_fixture_pg_make(f);
    if (open)
        assert_int_equal(al_store_open(f->db, &f->s, NULL), 0);
    *state = f;
    return 0;
}

/* cmocka setup: the store opened on a fresh database. */
static inline int store_setup(void **state)
{
    return store_fixture_make(state, true);
}

/* cmocka setup: only the directory and the database; the test opens (and closes) the store. */
static inline int store_setup_dir(void **state)
{
    return store_fixture_make(state, false);
}

/* cmocka teardown: close the store (if open), drop the test's PostgreSQL database, remove the
 * directory and its files; frees the fixture. */
static inline int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    al_store_close(f->s);
    if (f->pgname[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->pgname);
        store_fixture_admin_must(sql);
    }
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* Run `sql` (one or more statements) on a connection of its own to the test's database, as
 * another process would, outside the store. Returns 0, or the store code of its failure (a
 * rule of the schema refusing it: AL_E_CONFLICT, or AL_E_DB). */
static inline int store_fixture_sql(const struct store_fixture *f, const char *sql)
{
    struct al_store *s = NULL;
    assert_int_equal(al_db_open(f->db, &s, NULL), 0);
    int rc = al_db_script(s, sql, NULL);
    al_store_close(s);
    return rc;
}

/* The first column of the one row `sql` answers, read on a connection of its own: as text into
 * buf (cap bytes; "" for NULL) when buf is not NULL, and then 0 is returned, else as an integer,
 * returned. Fails the test when there is no row. */
static inline int64_t store_fixture_read(const struct store_fixture *f, const char *sql, char *buf,
                                         size_t cap)
{
    struct al_store *s = NULL;
    struct al_db_stmt *st = NULL;
    struct al_err e = {0};
    int64_t v = 0;
    assert_int_equal(al_db_open(f->db, &s, NULL), 0);
    if (al_db_prep(s, &st, &e, sql, "") != 0 || al_db_row(s, st, &e, "row") != 0)
        fail_msg("%s: %s", sql, e.msg);
    if (buf) {
        const char *t = al_db_text(st, 0);
        snprintf(buf, cap, "%s", t ? t : "");
    } else {
        v = al_db_int64(st, 0);
    }
    al_db_done(s, st);
    al_store_close(s);
    return v;
}

/* The text of the one row `sql` answers, into buf (cap bytes), as store_fixture_read reads. */
static inline void store_fixture_text(const struct store_fixture *f, const char *sql, char *buf,
                                      size_t cap)
{
    (void)store_fixture_read(f, sql, buf, cap);
}

/* The integer the one row `sql` answers, as store_fixture_read reads. */
static inline int64_t store_fixture_int(const struct store_fixture *f, const char *sql)
{
    return store_fixture_read(f, sql, NULL, 0);
}

/* Insert org `id` named `name`, with customer code `code` (may be NULL). */
static inline void store_add_org_named(struct al_store *s, const char *id, const char *name,
                                       const char *code)
{
    json_t *o = json_pack("{s:s,s:s,s:s?,s:n,s:i}", "id", id, "name", name, "customer_code", code,
                          "display_name", "created_at", 1000);
    assert_int_equal(al_store_org_insert(s, o, NULL), 0);
    json_decref(o);
}

/* Insert org `id` (its name too) and answer its ledger number (> 0). */
static inline uint64_t store_add_org(struct al_store *s, const char *id)
{
    uint64_t num = 0;
    json_t *o = json_pack("{s:s,s:s,s:n,s:n,s:i}", "id", id, "name", id, "customer_code",
                          "display_name", "created_at", 1000);
    assert_int_equal(al_store_org_insert(s, o, NULL), 0);
    json_decref(o);
    assert_int_equal(al_store_org_num(s, id, &num, NULL), 0);
    assert_true(num > 0);
    return num;
}

#endif
