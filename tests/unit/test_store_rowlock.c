/* test_store_rowlock.c — the row locks of the store's getters (store.h, "Row locks"): inside
 * a unit of work (al_store_savepoint), on PostgreSQL, the getters of the rows that units read,
 * change and write back whole (a reservation, its billing state by reservation or by number,
 * a request, a container, the live containers, a MIG change, a GPU's open change, the open
 * changes, a pool session, an org's open pool sessions) and an org's money lock lock what they
 * read, so that a second connection's writer of the same row waits
 * for the first's commit: here it gives up after its short lock timeout (AL_DB_F_RETRY), where
 * the same getter outside a unit (a plain read) answers at once; once the first commits, the
 * second reads the committed row. The billing getters lock the reservation first (one order for
 * both rows). On SQLite, where one server serializes every unit, a getter in a unit reads as
 * always. The PostgreSQL cases run when AL_PG_CONNINFO names a database (tests/integration/
 * pg_rowlock.sh runs this program so under bench/pg.sh); else they are skipped, never passed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/db.h"
#include "store/store.h"
#include "store_fixture.h"

#define T0   1900000000
#define HOUR 3600

/* The rows of one case, named after its tag (the database outlives the test). */
struct rows {
    char org[32], rsv[32], req[32], ctr[32], chg[32], gpu[32];
    uint64_t billing; /* the billing state's number */
    uint64_t org_num; /* the org's ledger number */
    uint64_t pool;    /* its pool session */
};

/* Org, contract, reservation with its billing state, request, container and open MIG change,
 * committed on `s`, ids from `tag`. */
static void rows_make(struct al_store *s, const char *tag, struct rows *r)
{
    snprintf(r->org, sizeof r->org, "org_%s", tag);
    snprintf(r->rsv, sizeof r->rsv, "rsv_%s", tag);
    snprintf(r->req, sizeof r->req, "req_%s", tag);
    snprintf(r->ctr, sizeof r->ctr, "ctr_%s", tag);
    snprintf(r->chg, sizeof r->chg, "mch_%s", tag);
    snprintf(r->gpu, sizeof r->gpu, "gpu_%s", tag);
    assert_int_equal(al_store_begin(s, NULL), 0);
    uint64_t org = store_add_org(s, r->org);
    struct al_contract k = {
        .org = org,
        .terms = AL_TERMS_INVOICED,
        .valid_from = T0 - HOUR,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_SECOND, 0},
        .draw_period_s = HOUR,
        .nrates = 1,
        .rates = {{"H100-80GB", {4000000, 5123457, 2500000}}},
        .limits = {AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE},
    };
    struct al_err e = {0};
    if (al_store_contract_create(s, &k, T0 - HOUR, "usr_op", &e) != 0)
        fail_msg("contract: %s", e.msg);
    json_t *doc = json_pack("{s:s,s:s}", "id", r->rsv, "state", "scheduled");
    struct al_store_doc_meta m = {r->rsv, r->org, "scheduled", T0 + HOUR, T0 + 3 * HOUR};
    assert_int_equal(al_store_reservation_put(s, &m, doc, true, NULL), 0);
    json_decref(doc);
    struct al_res_billing b = {.org = org,
                               .contract_id = k.id,
                               .contract_version = 1,
                               .start = T0 + HOUR,
                               .end = T0 + 3 * HOUR,
                               .share = AL_SHARE_PER_GPU,
                               .nlines = 1,
                               .lines = {{"GPU-hour", AL_PRICE_GPU_HOUR, 1, 4000000}}};
    assert_int_equal(al_store_billing_insert(s, r->rsv, &b, NULL), 0);
    r->billing = b.id;
    r->org_num = org;
    struct al_store_pool p = {{0, org, T0, 0, AL_SHARE_PER_GPU, 2500000}, "", "", k.id, 1, 0};
    snprintf(p.gpu, sizeof p.gpu, "%s", r->gpu);
    assert_int_equal(al_store_pool_start(s, &p, NULL), 0);
    r->pool = p.sess.id;
    doc = json_pack("{s:s,s:s,s:n}", "id", r->req, "state", "submitted", "quote");
    struct al_store_doc_meta q = {r->req, r->org, "submitted", T0, T0};
    assert_int_equal(al_store_request_put(s, &q, doc, true, NULL), 0);
    json_decref(doc);
    doc = json_pack("{s:s,s:s}", "id", r->ctr, "state", "running");
    struct al_store_container c = {r->ctr, r->org, "usr_1",   r->rsv, 0,
                                   "n1",   r->gpu, "running", 0,      T0};
    assert_int_equal(al_store_container_put(s, &c, doc, true, NULL), 0);
    json_decref(doc);
    doc = json_pack("{s:s,s:s,s:s}", "id", r->chg, "gpu", r->gpu, "state", "planned");
    struct al_store_migchange ch = {r->chg, r->gpu, "n1", "planned", T0, T0 + HOUR, T0};
    assert_int_equal(al_store_migchange_put(s, &ch, doc, NULL, 0, true, NULL), 0);
    json_decref(doc);
    assert_int_equal(al_store_commit(s, NULL), 0);
}

/* Which getter a case calls: 0 when it read its row (the document given back). */
enum getter {
    G_RESERVATION,
    G_BILLING,
    G_BILLING_NUM,
    G_REQUEST,
    G_CONTAINER,
    G_CONTAINERS_LIVE,
    G_MIGCHANGE,
    G_MIGCHANGE_OPEN,
    G_MIGCHANGES_OPEN,
    G_POOL,
    G_POOL_OPEN,
    G_ORG_MONEY
};

static int get(struct al_store *s, enum getter g, const struct rows *r, struct al_err *e)
{
    json_t *doc = NULL;
    struct al_res_billing b;
    struct al_store_pool p, *open = NULL;
    size_t n = 0;
    char rid[AL_STORE_ID_MAX];
    int rc = AL_E_INVAL;
    switch (g) {
    case G_RESERVATION:
        rc = al_store_reservation_get(s, r->rsv, &doc, e);
        break;
    case G_BILLING:
        rc = al_store_billing_get(s, r->rsv, &b, e);
        break;
    case G_BILLING_NUM:
        rc = al_store_billing_get_num(s, r->billing, &b, rid, e);
        break;
    case G_REQUEST:
        rc = al_store_request_get(s, r->req, &doc, e);
        break;
    case G_CONTAINER:
        rc = al_store_container_get(s, r->ctr, &doc, e);
        break;
    case G_CONTAINERS_LIVE:
        rc = al_store_container_live(s, "n1", &doc, e);
        break;
    case G_MIGCHANGE:
        rc = al_store_migchange_get(s, r->chg, &doc, e);
        break;
    case G_MIGCHANGE_OPEN:
        rc = al_store_migchange_open(s, r->gpu, &doc, e);
        break;
    case G_MIGCHANGES_OPEN:
        rc = al_store_migchange_all_open(s, &doc, e);
        break;
    case G_POOL:
        rc = al_store_pool_get(s, r->pool, &p, e);
        break;
    case G_POOL_OPEN:
        rc = al_store_pool_open(s, r->org_num, &open, &n, e);
        break;
    case G_ORG_MONEY:
        rc = al_store_org_money_lock(s, r->org_num, e);
        break;
    }
    free(open);
    json_decref(doc);
    return rc;
}

/* ---- SQLite: a getter in a unit reads as always ---- */

static void test_sqlite_unit_reads(void **state)
{
    struct store_fixture *f = *state;
    struct rows r;
    rows_make(f->s, "s", &r);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    for (int g = G_RESERVATION; g <= G_ORG_MONEY; g++)
        assert_int_equal(get(f->s, (enum getter)g, &r, NULL), 0);
    assert_int_equal(al_store_release(f->s, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
}

/* ---- PostgreSQL: two connections as two replicas ---- */

struct pgf {
    struct al_store *a, *b;
    struct rows r;
};

static int pg_setup(void **state)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): a single-threaded test */
    const char *pg = getenv("AL_PG_CONNINFO");
    static unsigned run;
    char tag[24];
    struct pgf *f;
    *state = NULL;
    if (!pg || !*pg)
        return 0;
    assert_non_null(f = calloc(1, sizeof *f));
    assert_int_equal(al_store_open(pg, &f->a, NULL), 0);
    assert_int_equal(al_store_open(pg, &f->b, NULL), 0);
    snprintf(tag, sizeof tag, "%ld_%u", (long)getpid(), run++);
    rows_make(f->a, tag, &f->r);
    *state = f;
    return 0;
}

static int pg_teardown(void **state)
{
    struct pgf *f = *state;
    if (!f)
        return 0;
    al_store_close(f->a);
    al_store_close(f->b);
    free(f);
    return 0;
}

/* A unit on `s`: its transaction and savepoint, with a short lock timeout. */
static void unit_begin(struct al_store *s)
{
    assert_int_equal(al_store_begin(s, NULL), 0);
    assert_int_equal(al_db_script(s, "SET LOCAL lock_timeout = '200ms'", NULL), 0);
    assert_int_equal(al_store_savepoint(s, NULL), 0);
}

/* Getter g in a unit on a locks its row: b's plain read (no unit) answers at once, b's unit
 * waits for a in vain (its lock timeout); after a commits, b's unit reads. */
static void locks(void **state, enum getter g)
{
    struct pgf *f = *state;
    struct al_err e = {0};
    if (!f)
        skip();
    unit_begin(f->a);
    assert_int_equal(get(f->a, g, &f->r, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_db_script(f->b, "SET LOCAL lock_timeout = '200ms'", NULL), 0);
    assert_int_equal(get(f->b, g, &f->r, NULL), 0); /* a read outside a unit: no lock */
    assert_int_equal(al_store_savepoint(f->b, NULL), 0);
    assert_true(get(f->b, g, &f->r, &e) < 0); /* a unit's read: waited for a, in vain */
    assert_int_equal(al_db_failed(f->b), AL_DB_F_RETRY);
    al_store_rollback(f->b);
    assert_int_equal(al_store_release(f->a, NULL), 0);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    unit_begin(f->b);
    assert_int_equal(get(f->b, g, &f->r, NULL), 0); /* free again */
    assert_int_equal(al_store_release(f->b, NULL), 0);
    assert_int_equal(al_store_commit(f->b, NULL), 0);
}

static void test_pg_reservation(void **state)
{
    locks(state, G_RESERVATION);
}
static void test_pg_billing(void **state)
{
    locks(state, G_BILLING);
}
static void test_pg_billing_num(void **state)
{
    locks(state, G_BILLING_NUM);
}
static void test_pg_request(void **state)
{
    locks(state, G_REQUEST);
}
static void test_pg_container(void **state)
{
    locks(state, G_CONTAINER);
}
static void test_pg_containers_live(void **state)
{
    locks(state, G_CONTAINERS_LIVE);
}
static void test_pg_migchange(void **state)
{
    locks(state, G_MIGCHANGE);
}
static void test_pg_migchange_open(void **state)
{
    locks(state, G_MIGCHANGE_OPEN);
}
static void test_pg_migchanges_open(void **state)
{
    locks(state, G_MIGCHANGES_OPEN);
}
static void test_pg_pool(void **state)
{
    locks(state, G_POOL);
}
static void test_pg_pool_open(void **state)
{
    locks(state, G_POOL_OPEN);
}
static void test_pg_org_money(void **state)
{
    locks(state, G_ORG_MONEY);
}

/* The billing getters take the reservation's row first: a unit holding the reservation makes
 * another's billing read wait, by reservation and by number. */
static void test_pg_billing_after_reservation(void **state)
{
    struct pgf *f = *state;
    struct al_err e = {0};
    if (!f)
        skip();
    unit_begin(f->a);
    assert_int_equal(get(f->a, G_RESERVATION, &f->r, NULL), 0);
    for (int g = G_BILLING; g <= G_BILLING_NUM; g++) {
        unit_begin(f->b);
        assert_true(get(f->b, (enum getter)g, &f->r, &e) < 0);
        assert_int_equal(al_db_failed(f->b), AL_DB_F_RETRY);
        al_store_rollback(f->b);
    }
    al_store_rollback(f->a);
}

/* b's unit reading the billing state while a's unit holds it (a thread: it waits) */
struct waiter {
    struct pgf *f;
    struct al_res_billing got;
    int rc;
};

static void *wait_read(void *arg)
{
    struct waiter *w = arg;
    w->rc = al_store_billing_get(w->f->b, w->f->r.rsv, &w->got, NULL);
    return NULL;
}

/* A unit that waited for another's lock reads what the other committed, not the row as it was
 * when it began to wait: the lost update that a plain read allowed (both read the old end,
 * both write theirs back) cannot happen. */
static void test_pg_reads_committed(void **state)
{
    struct pgf *f = *state;
    struct al_res_billing b;
    struct waiter w = {.f = f};
    pthread_t t;
    if (!f)
        skip();
    unit_begin(f->a);
    assert_int_equal(al_store_billing_get(f->a, f->r.rsv, &b, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_store_savepoint(f->b, NULL), 0); /* lock_timeout: the session's 5 s */
    assert_int_equal(pthread_create(&t, NULL, wait_read, &w), 0);
    nanosleep(&(struct timespec){0, 300000000},
              NULL); /* b is waiting for a's lock by now (or soon: the result is the same) */
    b.end += HOUR;
    b.rev++;
    assert_int_equal(al_store_billing_update(f->a, &b, NULL), 0);
    assert_int_equal(al_store_release(f->a, NULL), 0);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(w.rc, 0);
    assert_true(w.got.end == b.end && w.got.rev == b.rev);
    assert_int_equal(al_store_release(f->b, NULL), 0);
    assert_int_equal(al_store_commit(f->b, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sqlite_unit_reads, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_pg_reservation, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_billing, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_billing_num, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_request, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_container, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_containers_live, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_migchange, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_migchange_open, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_migchanges_open, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_pool, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_pool_open, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_org_money, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_billing_after_reservation, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_reads_committed, pg_setup, pg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
