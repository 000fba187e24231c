/* srv_fixture.h — the server fixture of the unit tests that drive a whole `struct al_srv`
 * (test_txn.c, test_evstream.c): a fresh directory under /tmp, the server opened on a
 * database there, and all of it closed and removed after the test; or, for the cases that run
 * on PostgreSQL too (srv_fixture_make_pg), the server opened on the database AL_PG_CONNINFO
 * names (tests/integration/pg_replica.sh sets it; the database outlives the test, so those
 * cases count what they add). Header-only and static, as
 * tmpdir.h: each unit test is one program from one file. Include after <cmocka.h> (the
 * fixture asserts). */
#ifndef AL_TESTS_SRV_FIXTURE_H
#define AL_TESTS_SRV_FIXTURE_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/http.h"
#include "tmpdir.h"

struct srv_fixture {
    char dir[64]; /* the test's directory, from mkdtemp */
    char db[512]; /* dir/db, or AL_PG_CONNINFO */
    struct al_srv srv;
};

/* Make the fixture in *state: a fresh directory /tmp/al_srv_XXXXXX and the server opened on its
 * database. Returns 0 or fails the test; the fixture is the caller's, to give to
 * srv_fixture_free. */
static inline int srv_fixture_make(void **state)
{
    struct srv_fixture *f = calloc(1, sizeof *f);
    struct al_err e = {0};
    assert_non_null(f);
    assert_true(sodium_init() >= 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/al_srv_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof f->db, "%s/db", f->dir);
    assert_int_equal(al_srv_open(&f->srv, f->db, NULL, &e), 0);
    *state = f;
    return 0;
}

/* srv_fixture_make on the PostgreSQL database AL_PG_CONNINFO names; *state NULL when it is not
 * set (the case then skips: srv_fixture_of). */
static inline int srv_fixture_make_pg(void **state)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read before the server starts threads */
    const char *pg = getenv("AL_PG_CONNINFO");
    struct srv_fixture *f;
    struct al_err e = {0};
    *state = NULL;
    if (!pg || !*pg)
        return 0;
    assert_non_null(f = calloc(1, sizeof *f));
    assert_true(sodium_init() >= 0);
    assert_true(strlen(pg) < sizeof f->db);
    snprintf(f->db, sizeof f->db, "%s", pg);
    if (al_srv_open(&f->srv, f->db, NULL, &e) != 0)
        fail_msg("open the server on AL_PG_CONNINFO: %s", e.msg);
    *state = f;
    return 0;
}

/* The fixture of a case, which is skipped when it has none (srv_fixture_make_pg without a
 * database). */
static inline struct srv_fixture *srv_fixture_of(void **state)
{
    if (!*state)
        skip();
    return *state;
}

/* Close the server and remove its directory with the database's files. */
static inline int srv_fixture_free(void **state)
{
    struct srv_fixture *f = *state;
    if (!f)
        return 0;
    al_srv_close(&f->srv);
    if (f->dir[0])
        (void)tmpdir_remove(f->dir);
    free(f);
    return 0;
}

#endif
