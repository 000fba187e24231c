/* test_db.c — the store's driver seam (store/db.h) on each back end, through its public names
 * only: placeholders (?N, bare ?, a ? inside a quoted literal, parameters left unbound),
 * integers at both ends of int64, booleans, NULLs, blobs of 32 bytes and of any length
 * (zero included), rows changed, the kinds of failure (primary key, unique, check,
 * integer overflow) and their store codes, units undone alone inside a transaction or
 * outside any (a transaction of their own, as SQLite's SAVEPOINT there), a
 * transaction ended by an unhandled failure, in_tx, and the kind. SQLite runs always, on a
 * fresh file; PostgreSQL when AL_PG_CONNINFO names a database (tests/integration/pg_store.sh
 * runs this program so under bench/pg.sh), else its cases are skipped, never passed. On
 * PostgreSQL also: a malformed integer fails the step instead of reading as 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store_fixture.h"

enum { SQLITE, PG };

/* The fixture: a store opened by al_db_open (no schema) on the case's back end, with the
 * table t the cases use. */
struct dbf {
    struct store_fixture *file; /* SQLite's */
    struct al_store *s;
};

static int open_case(void **state, int kind)
{
    struct dbf *f = calloc(1, sizeof *f);
    assert_non_null(f);
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): a single-threaded test */
    const char *pg = getenv("AL_PG_CONNINFO");
    if (kind == PG && (!pg || !*pg)) {
        free(f);
        *state = NULL;
        return 0;
    }
    if (kind == SQLITE) {
        void *fx = NULL;
        store_fixture_make(&fx, false);
        f->file = fx;
    }
    struct al_err e = {0};
    assert_int_equal(al_db_open(kind == PG ? pg : f->file->path, &f->s, &e), 0);
    assert_int_equal(al_db_kind(f->s), kind == PG ? AL_DB_PG : AL_DB_SQLITE);
    assert_int_equal(al_db_script(f->s,
                                  "CREATE TEMP TABLE t(id BIGINT PRIMARY KEY, u TEXT UNIQUE,"
                                  " n BIGINT CHECK(n >= 0), b BYTEA)",
                                  &e),
                     0);
    *state = f;
    return 0;
}

static int open_sqlite(void **state)
{
    return open_case(state, SQLITE);
}

static int open_pg(void **state)
{
    return open_case(state, PG);
}

static int close_case(void **state)
{
    struct dbf *f = *state;
    if (!f)
        return 0;
    al_store_close(f->s);
    if (f->file) {
        void *fx = f->file;
        store_teardown(&fx);
    }
    free(f);
    return 0;
}

/* The case's store, or skip when its back end is not here. */
static struct al_store *store_of(void **state)
{
    struct dbf *f = *state;
    if (!f) {
        skip();
        return NULL;
    }
    return f->s;
}

/* Insert (id, u, n) into t: the step's result. */
static int put(struct al_store *s, int64_t id, const char *u, int64_t n)
{
    struct al_db_stmt *st;
    assert_int_equal(
        al_db_prep(s, &st, NULL, "INSERT INTO t(id, u, n) VALUES(?1, ?2, ?3)", "iti", id, u, n), 0);
    int r = al_db_step(s, st);
    al_db_done(s, st);
    return r;
}

static int64_t count(struct al_store *s)
{
    struct al_db_stmt *st;
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT count(*) FROM t", ""), 0);
    assert_int_equal(al_db_row(s, st, NULL, "count"), 0);
    int64_t n = al_db_int64(st, 0);
    al_db_done(s, st);
    return n;
}

static void test_placeholders(void **state)
{
    struct al_store *s = store_of(state);
    struct al_db_stmt *st;
    /* ?2 before ?1; a bare ? after them is ?3, which the format leaves unbound (NULL) */
    assert_int_equal(
        al_db_prep(s, &st, NULL, "SELECT ?2, ?1, 'a?b''?', ?, ?1 IS NULL", "tt", "one", "two"), 0);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_string_equal(al_db_text(st, 0), "two");
    assert_string_equal(al_db_text(st, 1), "one");
    assert_string_equal(al_db_text(st, 2), "a?b'?");
    assert_true(al_db_null(st, 3));
    assert_null(al_db_text(st, 3));
    assert_int_equal(al_db_int64(st, 4), 0); /* a boolean reads as SQLite's 0 or 1 */
    assert_int_equal(al_db_step(s, st), AL_DB_DONE);
    al_db_done(s, st);
    /* the cached statement again, with a NULL text */
    assert_int_equal(
        al_db_prep(s, &st, NULL, "SELECT ?2, ?1, 'a?b''?', ?, ?1 IS NULL", "tt", NULL, "x"), 0);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_int_equal(al_db_int64(st, 4), 1);
    al_db_done(s, st);
}

static void test_integers_and_changes(void **state)
{
    struct al_store *s = store_of(state);
    struct al_db_stmt *st;
    assert_int_equal(put(s, 1, "a", INT64_MAX), AL_DB_DONE);
    assert_int_equal(put(s, INT64_MIN, "b", 0), AL_DB_DONE);
    assert_int_equal(put(s, 3, NULL, 5), AL_DB_DONE);
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT id, n, u FROM t ORDER BY id", ""), 0);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_true(al_db_int64(st, 0) == INT64_MIN);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_true(al_db_int64(st, 1) == INT64_MAX);
    assert_int_equal(al_db_int(st, 0), 1);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_null(al_db_text(st, 2));
    assert_int_equal(al_db_int64(st, 2), 0); /* NULL as an integer is 0, as in SQLite */
    assert_int_equal(al_db_step(s, st), AL_DB_DONE);
    al_db_done(s, st);
    assert_int_equal(al_db_prep(s, &st, NULL, "UPDATE t SET n = 7 WHERE id > ?", "i", (int64_t)0),
                     0);
    assert_int_equal(al_db_run(s, st, NULL, "update"), 2);
    assert_int_equal(al_db_changes(s), 2);
    /* 'n': a negative value binds NULL */
    assert_int_equal(
        al_db_prep(s, &st, NULL, "SELECT ? IS NULL, ? IS NULL", "nn", (int64_t)-1, (int64_t)4), 0);
    assert_int_equal(al_db_row(s, st, NULL, "n"), 0);
    assert_int_equal(al_db_int64(st, 0), 1);
    assert_int_equal(al_db_int64(st, 1), 0);
    al_db_done(s, st);
}

static void test_blobs(void **state)
{
    struct al_store *s = store_of(state);
    struct al_db_stmt *st;
    uint8_t h[AL_STORE_HASH_LEN], big[1000];
    for (size_t i = 0; i < sizeof h; i++)
        h[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(255 - i % 256);
    assert_int_equal(put(s, 1, "a", 0), AL_DB_DONE);
    assert_int_equal(put(s, 2, "b", 0), AL_DB_DONE);
    assert_int_equal(put(s, 3, "c", 0), AL_DB_DONE);
    assert_int_equal(al_db_prep(s, &st, NULL, "UPDATE t SET b = ? WHERE id = 1", "b", h), 0);
    assert_int_equal(al_db_run(s, st, NULL, "b"), 1);
    assert_int_equal(al_db_prep(s, &st, NULL, "UPDATE t SET b = ?1 WHERE id = ?2", "Bi", big,
                                sizeof big, (int64_t)2),
                     0);
    assert_int_equal(al_db_run(s, st, NULL, "B"), 1);
    assert_int_equal(al_db_prep(s, &st, NULL, "UPDATE t SET b = ?1 WHERE id = ?2", "Bi", NULL,
                                (size_t)0, (int64_t)3),
                     0);
    assert_int_equal(al_db_run(s, st, NULL, "B empty"), 1);
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT b FROM t ORDER BY id", ""), 0);
    size_t n = 0;
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    const void *b = al_db_blob(st, 0, &n);
    assert_int_equal(n, sizeof h);
    assert_memory_equal(b, h, sizeof h);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    b = al_db_blob(st, 0, &n);
    assert_int_equal(n, sizeof big);
    assert_memory_equal(b, big, sizeof big);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_false(al_db_null(st, 0)); /* a zero-length blob, not NULL */
    al_db_blob(st, 0, &n);
    assert_int_equal(n, 0);
    al_db_done(s, st);
}

static void test_failures(void **state)
{
    struct al_store *s = store_of(state);
    struct al_err e = {0};
    assert_int_equal(put(s, 1, "a", 0), AL_DB_DONE);
    assert_int_not_equal(put(s, 1, "z", 0), AL_DB_DONE);
    assert_int_equal(al_db_failed(s), AL_DB_F_PRIMARY);
    assert_int_equal(al_db_code(s), AL_E_CONFLICT);
    assert_int_not_equal(put(s, 2, "a", 0), AL_DB_DONE);
    assert_int_equal(al_db_failed(s), AL_DB_F_UNIQUE);
    assert_int_not_equal(put(s, 3, "c", -1), AL_DB_DONE);
    assert_int_equal(al_db_failed(s), AL_DB_F_CHECK);
    assert_int_equal(al_db_fail(s, &e, "put"), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "put: "));
    assert_int_equal(count(s), 1);
}

static void test_units(void **state)
{
    struct al_store *s = store_of(state);
    struct al_err e = {0};
    assert_false(al_store_in_tx(s));
    assert_int_equal(al_store_begin(s, &e), 0);
    assert_true(al_store_in_tx(s));
    assert_int_equal(put(s, 1, "a", 0), AL_DB_DONE);
    /* a unit whose statement fails is undone alone, and the transaction goes on */
    assert_int_equal(al_db_unit_begin(s, &e), 0);
    assert_int_equal(put(s, 2, "b", 0), AL_DB_DONE);
    int rc = put(s, 1, "again", 0) == AL_DB_DONE ? 0 : al_db_fail(s, &e, "dup");
    assert_int_equal(al_db_unit_end(s, rc, &e), AL_E_CONFLICT);
    assert_int_equal(put(s, 3, "c", 0), AL_DB_DONE);
    assert_int_equal(al_store_savepoint(s, &e), 0);
    assert_int_equal(put(s, 4, "d", 0), AL_DB_DONE);
    al_store_rollback_to(s);
    assert_int_equal(al_store_commit(s, &e), 0);
    assert_false(al_store_in_tx(s));
    assert_int_equal(count(s), 2); /* 1 and 3 */
}

/* A unit outside any transaction is one of its own, as SQLite's SAVEPOINT there: kept when
 * released, undone when rolled back, and no transaction is left open either way. */
static void test_unit_alone(void **state)
{
    struct al_store *s = store_of(state);
    struct al_err e = {0};
    assert_int_equal(al_db_unit_begin(s, &e), 0);
    assert_true(al_store_in_tx(s));
    assert_int_equal(put(s, 1, "a", 0), AL_DB_DONE);
    assert_int_equal(al_db_unit_end(s, 0, &e), 0);
    assert_false(al_store_in_tx(s));
    assert_int_equal(al_db_unit_begin(s, &e), 0);
    assert_int_equal(put(s, 2, "b", 0), AL_DB_DONE);
    assert_int_equal(al_db_unit_end(s, AL_E_INVAL, &e), AL_E_INVAL);
    assert_false(al_store_in_tx(s));
    assert_int_equal(count(s), 1);
}

/* PostgreSQL ends a transaction at a failure no savepoint undid: its COMMIT must fail, and
 * nothing of it is kept (SQLite undoes the statement alone: not this case). */
static void test_pg_aborted_commit(void **state)
{
    struct al_store *s = store_of(state);
    struct al_err e = {0};
    assert_int_equal(al_store_begin(s, &e), 0);
    assert_int_equal(put(s, 1, "a", 0), AL_DB_DONE);
    assert_int_not_equal(put(s, 1, "a", 0), AL_DB_DONE);
    assert_int_not_equal(al_store_commit(s, &e), 0);
    assert_false(al_store_in_tx(s));
    assert_int_equal(count(s), 0);
}

/* A column read as an integer that is not one fails the next step, never reads as 0 alone. */
static void test_pg_strict_integers(void **state)
{
    struct al_store *s = store_of(state);
    struct al_db_stmt *st;
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT 'x1' UNION ALL SELECT '2'", ""), 0);
    assert_int_equal(al_db_step(s, st), AL_DB_ROW);
    assert_int_equal(al_db_int64(st, 0), 0);
    assert_int_not_equal(al_db_step(s, st), AL_DB_ROW);
    al_db_done(s, st);
    /* an integer beyond int64 fails the step that reaches its row */
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT 9223372036854775807::numeric + 1", ""), 0);
    int r = al_db_step(s, st);
    assert_true(r != AL_DB_ROW && r != AL_DB_DONE);
    al_db_done(s, st);
    /* an overflow in PostgreSQL's own arithmetic is AL_E_RANGE */
    assert_int_equal(al_db_prep(s, &st, NULL, "SELECT ?::bigint + 1", "i", INT64_MAX), 0);
    assert_int_not_equal(al_db_step(s, st), AL_DB_ROW);
    assert_int_equal(al_db_failed(s), AL_DB_F_RANGE);
    assert_int_equal(al_db_code(s), AL_E_RANGE);
    al_db_done(s, st);
}

#define BOTH(t)                                                                                    \
    cmocka_unit_test_setup_teardown(t, open_sqlite, close_case),                                   \
        cmocka_unit_test_setup_teardown(t, open_pg, close_case)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_placeholders),
        BOTH(test_integers_and_changes),
        BOTH(test_blobs),
        BOTH(test_failures),
        BOTH(test_units),
        BOTH(test_unit_alone),
        cmocka_unit_test_setup_teardown(test_pg_aborted_commit, open_pg, close_case),
        cmocka_unit_test_setup_teardown(test_pg_strict_integers, open_pg, close_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
