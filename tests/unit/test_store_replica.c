/* test_store_replica.c — the store's calls for several replicas (store.h, "replicas").
 * On SQLite, where one server is the only writer: not replicated, the clock always taken, the
 * GPU lock, the event seal and the change feed without effect, a hold written in its unit
 * exactly as without one, one GPU's live holds (firm, tentative not expired, ending after the
 * start asked), and the deliveries claimed as al_store_delivery_due lists them, nothing
 * leased. On PostgreSQL, when AL_PG_CONNINFO names a database (tests/integration/
 * pg_replica.sh runs this program so under bench/pg.sh; else those cases are skipped, never
 * passed), with two or three connections as replicas: the clock held by one transaction at a
 * time; a GPU locked by one replica makes another wait (until its lock timeout); an overlap
 * the database refuses leaves the transaction usable; the change feed names what another
 * replica committed, once; a claimed delivery is skipped, then leased, for the others; and
 * event positions in commit order: two transactions commit in the other order than their
 * events' seqs, and a reader paging by position sees both, where paging by seq would have
 * skipped the first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/db.h"
#include "store/store.h"
#include "store_fixture.h"
#include "store/store_webhook.h"
#include "store/store_replica.h"
#include <unistd.h>

static void put_node(struct al_store *s)
{
    json_t *gpus = json_array();
    for (int i = 0; i < 2; i++) {
        char id[32], uuid[32];
        snprintf(id, sizeof id, "gpu_n1-%d", i);
        snprintf(uuid, sizeof uuid, "GPU-%d", i);
        json_array_append_new(gpus, json_pack("{s:s,s:i,s:s,s:s,s:s,s:b}", "id", id, "index", i,
                                              "uuid", uuid, "model", "H100-80GB", "pool",
                                              "dedicated", "healthy", 1));
    }
    json_t *n = json_pack("{s:s,s:s,s:{},s:o}", "name", "n1", "zone", "z1", "labels", "gpus", gpus);
    assert_int_equal(al_store_node_upsert(s, n, 100, NULL), 0);
    json_decref(n);
}

static struct al_store_hold hold(const char *gpu, const char *owner, int64_t t0, int64_t t1,
                                 int64_t expires)
{
    struct al_store_hold h = {.kind = "gpu", .start_unit = -1, .mask = UINT64_MAX, .t0 = t0};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", owner);
    h.t1 = t1;
    h.expires_at = expires;
    return h;
}

static void test_one_writer(void **state)
{
    struct store_fixture *f = *state;
    const char *ids[] = {"gpu_n1-1", "gpu_n1-0", "gpu_n1-1"};
    int64_t h = -1;
    json_t *ch = NULL;
    put_node(f->s);
    assert_false(al_store_replicated(f->s));
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1); /* outside a transaction too */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1);
    assert_int_equal(al_store_clock_lock(f->s, NULL), 1);
    struct al_store_hold q = hold("gpu_n1-0", "qte_a", 10, 20, 5);
    assert_int_equal(al_store_hold_add(f->s, &q, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->s, ids, 3, 100, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->s, ids, 0, 100, NULL), 0);
    assert_int_equal(al_store_hold_release(f->s, "qte_a", NULL), 1); /* SQLite: left as it was */
    assert_int_equal(al_store_changes_horizon(f->s, &h, NULL), 0);
    assert_int_equal(h, 0);
    struct al_store_hold a = hold("gpu_n1-0", "rsv_a", 10, 20, 0);
    assert_int_equal(al_store_hold_add(f->s, &a, NULL), 0);
    h = 7;
    assert_int_equal(al_store_changes_since(f->s, &h, &ch, NULL), 0);
    assert_int_equal(json_array_size(ch), 0); /* one writer: no feed */
    assert_int_equal(h, 7);
    json_decref(ch);
    assert_int_equal(al_store_changes_prune(f->s, 0, NULL), 0);
    assert_true(al_store_event_append(f->s, 1, "usr_op", "org.created", "org_a", NULL, NULL) > 0);
    assert_int_equal(al_store_events_seal(f->s, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
}

static void test_gpu_live(void **state)
{
    struct store_fixture *f = *state;
    struct al_store_hold *got = NULL;
    size_t n = 9;
    put_node(f->s);
    struct al_store_hold hs[] = {
        hold("gpu_n1-0", "rsv_late", 300, 400, 0),  hold("gpu_n1-0", "rsv_early", 100, 200, 0),
        hold("gpu_n1-0", "qte_gone", 500, 600, 50), hold("gpu_n1-0", "qte_live", 700, 800, 90),
        hold("gpu_n1-0", "rsv_past", 10, 40, 0),    hold("gpu_n1-1", "rsv_other", 100, 200, 0)};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++)
        assert_int_equal(al_store_hold_add_unit(f->s, &hs[i], NULL), 0);
    /* live at 60 (qte_gone expired at 50), ending after 50 (rsv_past ended at 40), by start */
    assert_int_equal(al_store_hold_gpu_live(f->s, "gpu_n1-0", 50, 60, &got, &n, NULL), 0);
    assert_int_equal(n, 3);
    assert_string_equal(got[0].owner, "rsv_early");
    assert_string_equal(got[1].owner, "rsv_late");
    assert_string_equal(got[2].owner, "qte_live");
    assert_int_equal(got[2].expires_at, 90);
    assert_int_equal(got[1].t0, 300);
    assert_int_equal(got[1].t1, 400);
    assert_int_equal(got[1].start_unit, -1);
    assert_true(got[1].mask == UINT64_MAX);
    assert_string_equal(got[1].kind, "gpu");
    free(got);
    assert_int_equal(al_store_hold_gpu_live(f->s, "gpu_nope", 0, 0, &got, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_null(got);
}

static void test_claim_is_due(void **state)
{
    struct store_fixture *f = *state;
    json_t *claimed = NULL, *due = NULL;
    struct al_store_webhook_new w = {"whk_1",   "usr_op", NULL,  "http://127.0.0.1:9/h",
                                     "[\"*\"]", NULL,     "BOX", 100};
    assert_int_equal(al_store_webhook_insert(f->s, &w, NULL), 0);
    struct al_store_delivery_new d1 = {"whd_a", "whk_1", "org.created", 1, "{}", 10};
    struct al_store_delivery_new d2 = {"whd_b", "whk_1", "org.created", 2, "{}", 20};
    assert_int_equal(al_store_delivery_insert(f->s, &d1, NULL), 0);
    assert_int_equal(al_store_delivery_insert(f->s, &d2, NULL), 0);
    assert_int_equal(al_store_delivery_claim(f->s, 30, 600, 10, &claimed, NULL), 0);
    assert_int_equal(al_store_delivery_due(f->s, 30, 10, &due, NULL), 0);
    assert_true(json_equal(claimed, due));
    assert_int_equal(json_array_size(claimed), 2);
    json_decref(claimed);
    json_decref(due);
    /* nothing leased on SQLite: claimed again, the same */
    assert_int_equal(al_store_delivery_claim(f->s, 30, 600, 1, &claimed, NULL), 0);
    assert_int_equal(json_array_size(claimed), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(claimed, 0), "id")),
                        "whd_a");
    json_decref(claimed);
}

/* ---- PostgreSQL: three connections as three replicas ---- */

struct pgf {
    struct al_store *a, *b, *r; /* two writers and a reader */
    char tag[32];               /* this run's ids: the database outlives the test */
};

static int pg_setup(void **state)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): a single-threaded test */
    const char *pg = getenv("AL_PG_CONNINFO");
    static unsigned run;
    struct pgf *f;
    *state = NULL;
    if (!pg || !*pg)
        return 0;
    assert_non_null(f = calloc(1, sizeof *f));
    assert_int_equal(al_store_open(pg, &f->a, NULL), 0);
    assert_int_equal(al_store_open(pg, &f->b, NULL), 0);
    assert_int_equal(al_store_open(pg, &f->r, NULL), 0);
    assert_true(al_store_replicated(f->a));
    snprintf(f->tag, sizeof f->tag, "%ld-%u", (long)getpid(), run++);
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
    al_store_close(f->r);
    free(f);
    return 0;
}

static struct pgf *pg_of(void **state)
{
    if (!*state)
        skip();
    return *state;
}

/* Node n<tag> with GPU g<tag>, committed; its GPU id into gpu (cap bytes). */
static void pg_node(struct pgf *f, char *gpu, size_t cap)
{
    char node[48], uuid[48];
    snprintf(node, sizeof node, "n%s", f->tag);
    snprintf(uuid, sizeof uuid, "GPU-%s", f->tag);
    snprintf(gpu, cap, "gpu_%s-0", node);
    json_t *n = json_pack("{s:s,s:s,s:{},s:[{s:s,s:i,s:s,s:s,s:s,s:b}]}", "name", node, "zone",
                          "z1", "labels", "gpus", "id", gpu, "index", 0, "uuid", uuid, "model",
                          "H100-80GB", "pool", "dedicated", "healthy", 1);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_node_upsert(f->a, n, 100, NULL), 0);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    json_decref(n);
}

static void test_pg_clock(void **state)
{
    struct pgf *f = pg_of(state);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_store_clock_lock(f->a, NULL), 1);
    assert_int_equal(al_store_clock_lock(f->a, NULL), 1); /* its own, again */
    assert_int_equal(al_store_clock_lock(f->b, NULL), 0); /* held by a */
    assert_int_equal(al_store_commit(f->a, NULL), 0);     /* released with a's transaction */
    assert_int_equal(al_store_clock_lock(f->b, NULL), 1);
    assert_int_equal(al_store_commit(f->b, NULL), 0);
}

static void test_pg_gpu_lock(void **state)
{
    struct pgf *f = pg_of(state);
    char gpu[64];
    const char *ids[1] = {gpu};
    struct al_err e = {0};
    pg_node(f, gpu, sizeof gpu);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->a, ids, 1, 0, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_db_script(f->b, "SET LOCAL lock_timeout = '200ms'", NULL), 0);
    assert_true(al_store_gpu_lock(f->b, ids, 1, 0, &e) < 0); /* waited for a, in vain */
    assert_int_equal(al_db_failed(f->b), AL_DB_F_RETRY);
    al_store_rollback(f->b);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->b, ids, 1, 0, NULL), 0); /* free again */
    assert_int_equal(al_store_commit(f->b, NULL), 0);
}

static void test_pg_overlap_and_feed(void **state)
{
    struct pgf *f = pg_of(state);
    char gpu[64], o1[40], o2[40];
    struct al_store_hold *live = NULL;
    size_t n = 0;
    int64_t h = 0;
    json_t *ch = NULL;
    pg_node(f, gpu, sizeof gpu);
    snprintf(o1, sizeof o1, "rsv_%s_1", f->tag);
    snprintf(o2, sizeof o2, "rsv_%s_2", f->tag);
    assert_int_equal(al_store_begin(f->r, NULL), 0);
    assert_int_equal(al_store_changes_horizon(f->r, &h, NULL), 0);
    assert_int_equal(al_store_commit(f->r, NULL), 0);
    assert_true(h > 0);
    struct al_store_hold a = hold(gpu, o1, 1000, 2000, 0), b = hold(gpu, o2, 1500, 2500, 0);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_hold_add_unit(f->a, &a, NULL), 0);
    assert_int_equal(al_store_hold_add_unit(f->a, &b, NULL), AL_E_CONFLICT); /* holds_no_overlap */
    assert_int_equal(al_store_hold_gpu_live(f->a, gpu, 0, 0, &live, &n, NULL), 0); /* usable */
    assert_int_equal(n, 1);
    free(live);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    /* the reader ("another replica") learns of the GPU from the feed, once */
    assert_int_equal(al_store_begin(f->r, NULL), 0);
    assert_int_equal(al_store_changes_since(f->r, &h, &ch, NULL), 0);
    bool seen = false;
    for (size_t i = 0; i < json_array_size(ch); i++) {
        const char *g = json_string_value(json_object_get(json_array_get(ch, i), "gpu"));
        seen = seen || (g && strcmp(g, gpu) == 0);
    }
    assert_true(seen);
    json_decref(ch);
    assert_int_equal(al_store_changes_since(f->r, &h, &ch, NULL), 0);
    assert_int_equal(json_array_size(ch), 0);
    json_decref(ch);
    assert_int_equal(al_store_changes_prune(f->r, 3600, NULL), 0);
    assert_int_equal(al_store_commit(f->r, NULL), 0);
    /* a quote's hold that expired at 3000 still occupies its units in the constraint, until a
     * sale's lock at 3000 or later drops it */
    char o3[40], o4[40];
    const char *ids[1] = {gpu};
    snprintf(o3, sizeof o3, "qte_%s_3", f->tag);
    snprintf(o4, sizeof o4, "rsv_%s_4", f->tag);
    struct al_store_hold q = hold(gpu, o3, 3000, 4000, 3000), c = hold(gpu, o4, 3000, 4000, 0);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_hold_add_unit(f->a, &q, NULL), 0);
    assert_int_equal(al_store_gpu_lock(f->a, ids, 1, 2999, NULL), 0); /* not expired yet */
    assert_int_equal(al_store_hold_add_unit(f->a, &c, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_gpu_lock(f->a, ids, 1, 3000, NULL), 0);
    assert_int_equal(al_store_hold_add_unit(f->a, &c, NULL), 0);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
}

static void test_pg_claim(void **state)
{
    struct pgf *f = pg_of(state);
    char hook[48], d1[48], d2[48];
    json_t *ca = NULL, *cb = NULL;
    snprintf(hook, sizeof hook, "whk_%s", f->tag);
    snprintf(d1, sizeof d1, "whd_%s_1", f->tag);
    snprintf(d2, sizeof d2, "whd_%s_2", f->tag);
    struct al_store_webhook_new w = {hook,      "usr_op", NULL,  "http://127.0.0.1:9/h",
                                     "[\"*\"]", NULL,     "BOX", 100};
    /* far in the future: no other run's deliveries are due before these */
    int64_t t = INT64_C(4000000000);
    struct al_store_delivery_new x1 = {d1, hook, "org.created", -1, "{}", t};
    struct al_store_delivery_new x2 = {d2, hook, "org.created", -1, "{}", t + 1};
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_webhook_insert(f->a, &w, NULL), 0);
    assert_int_equal(al_store_delivery_insert(f->a, &x1, NULL), 0);
    assert_int_equal(al_store_delivery_insert(f->a, &x2, NULL), 0);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    assert_int_equal(al_store_delivery_claim(f->a, t + 1, 600, 1, &ca, NULL), 0);
    assert_int_equal(al_store_delivery_claim(f->b, t + 1, 600, 1, &cb, NULL), 0);
    assert_int_equal(json_array_size(ca), 1);
    assert_int_equal(json_array_size(cb), 1); /* a's row skipped, not waited for */
    assert_string_not_equal(json_string_value(json_object_get(json_array_get(ca, 0), "id")),
                            json_string_value(json_object_get(json_array_get(cb, 0), "id")));
    json_decref(ca);
    json_decref(cb);
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    assert_int_equal(al_store_commit(f->b, NULL), 0);
    /* leased: due for nobody until the lease ends */
    assert_int_equal(al_store_begin(f->r, NULL), 0);
    assert_int_equal(al_store_delivery_claim(f->r, t + 2, 600, 10, &ca, NULL), 0);
    assert_int_equal(json_array_size(ca), 0);
    json_decref(ca);
    assert_int_equal(al_store_delivery_claim(f->r, t + 601, 600, 10, &ca, NULL), 0);
    assert_int_equal(json_array_size(ca), 2);
    json_decref(ca);
    assert_int_equal(al_store_commit(f->r, NULL), 0);
}

/* The events after `after` that r reads: their "seq" (the position) into pos, their object
 * into obj; returns how many. */
static size_t read_after(struct al_store *r, int64_t after, int64_t *pos, char obj[][48],
                         size_t cap)
{
    json_t *items = NULL;
    size_t n = 0;
    assert_int_equal(al_store_begin(r, NULL), 0);
    assert_int_equal(al_store_event_list(r, after, 100, &items, NULL), 0);
    assert_int_equal(al_store_commit(r, NULL), 0);
    for (size_t i = 0; i < json_array_size(items) && n < cap; i++, n++) {
        json_t *ev = json_array_get(items, i);
        pos[n] = (int64_t)json_integer_value(json_object_get(ev, "seq"));
        snprintf(obj[n], 48, "%s", json_string_value(json_object_get(ev, "object")));
    }
    json_decref(items);
    return n;
}

static void test_pg_positions(void **state)
{
    struct pgf *f = pg_of(state);
    char oa[48], ob[48], obj[8][48];
    int64_t pos[8];
    snprintf(oa, sizeof oa, "first-%s", f->tag);
    snprintf(ob, sizeof ob, "second-%s", f->tag);
    assert_int_equal(al_store_begin(f->r, NULL), 0);
    int64_t cursor = al_store_event_last(f->r, NULL);
    assert_int_equal(al_store_commit(f->r, NULL), 0);
    assert_true(cursor >= 0);
    /* a appends first (the lower seq), b second; b commits first */
    assert_int_equal(al_store_begin(f->a, NULL), 0);
    assert_int_equal(al_store_begin(f->b, NULL), 0);
    int64_t sa = al_store_event_append(f->a, 1, "usr_op", "org.created", oa, NULL, NULL);
    int64_t sb = al_store_event_append(f->b, 1, "usr_op", "org.created", ob, NULL, NULL);
    assert_true(sa > 0 && sb > sa);
    assert_int_equal(read_after(f->r, cursor, pos, obj, 8), 0); /* nothing committed */
    assert_int_equal(al_store_commit(f->b, NULL), 0);
    /* the reader pages: b's event, and its cursor moves past it */
    assert_int_equal(read_after(f->r, cursor, pos, obj, 8), 1);
    assert_string_equal(obj[0], ob);
    assert_true(pos[0] > cursor);
    cursor = pos[0];
    assert_int_equal(al_store_commit(f->a, NULL), 0);
    /* a's event, committed later with a lower seq, comes after the cursor: none skipped (by
     * seq, sa < sb = the cursor a seq reader would hold, it would never be read) */
    assert_int_equal(read_after(f->r, cursor, pos, obj, 8), 1);
    assert_string_equal(obj[0], oa);
    assert_true(pos[0] > cursor);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_writer, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_gpu_live, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_claim_is_due, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_pg_clock, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_gpu_lock, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_overlap_and_feed, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_claim, pg_setup, pg_teardown),
        cmocka_unit_test_setup_teardown(test_pg_positions, pg_setup, pg_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
