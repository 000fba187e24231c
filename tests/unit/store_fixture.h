/* store_fixture.h — the temporary-database fixture of the store's unit tests: a fresh directory
 * under /tmp per test, the database path in it, optionally the store opened there, and all of it
 * closed and removed after the test. Header-only and static, as tmpdir.h: each unit test is one
 * program from one file. Include after <cmocka.h> (the fixture asserts). */
#ifndef AL_TESTS_STORE_FIXTURE_H
#define AL_TESTS_STORE_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "tmpdir.h"

struct store_fixture {
    char dir[64];       /* the test's directory, from mkdtemp */
    char path[96];      /* dir/t.db */
    struct al_store *s; /* open on path when asked for, else NULL */
};

/* Make the fixture in *state: a fresh directory /tmp/al_store_XXXXXX and its t.db, with the
 * store opened on it when `open`. Returns 0 or fails the test; the fixture is the caller's, to
 * give to store_teardown. */
static inline int store_fixture_make(void **state, bool open)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/al_store_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    if (open)
        assert_int_equal(al_store_open(f->path, &f->s, NULL), 0);
    *state = f;
    return 0;
}

/* cmocka setup: the store opened on a fresh database. */
static inline int store_setup(void **state)
{
    return store_fixture_make(state, true);
}

/* cmocka setup: only the directory and the path; the test opens (and closes) the store. */
static inline int store_setup_dir(void **state)
{
    return store_fixture_make(state, false);
}

/* cmocka teardown: close the store (if open), remove the directory and its files; frees the
 * fixture. */
static inline int store_teardown(void **state)
{
    struct store_fixture *f = *state;
    al_store_close(f->s);
    assert_int_equal(tmpdir_remove(f->dir), 0);
    free(f);
    return 0;
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
