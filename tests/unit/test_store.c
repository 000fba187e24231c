/* test_store.c — unit tests of the store: migrations, CRUD, holds, events, idempotency and
 * transaction rollback, each on a fresh temporary database, SQLite's or PostgreSQL's
 * (store_fixture.h; the migration from SQLite's schema 1 is SQLite's only). Its failure paths
 * (a full disk, a failed fsync, injected faults) are test_store_faults.c's. */
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

static void test_migrations_apply_once(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(al_store_schema_version(f->s), AL_STORE_SCHEMA_VER);
    al_store_close(f->s);
    /* reopening must not re-run (a second CREATE TABLE would fail) */
    assert_int_equal(al_store_open(f->db, &f->s, NULL), 0);
    assert_int_equal(al_store_schema_version(f->s), AL_STORE_SCHEMA_VER);
}

static void test_orgs_crud_and_unique(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    json_t *o = NULL, *list = NULL;
    char *next = NULL;
    store_add_org_named(f->s, "org_a", "acme", "C-1");
    store_add_org_named(f->s, "org_b", "beta", NULL);
    json_t *dup = json_pack("{s:s,s:s,s:i}", "id", "org_c", "name", "acme", "created_at", 1);
    assert_int_equal(al_store_org_insert(f->s, dup, &e), AL_E_CONFLICT);
    json_decref(dup);
    assert_int_equal(al_store_org_get(f->s, "C-1", &o, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(o, "id")), "org_a");
    json_decref(o);
    assert_int_equal(al_store_org_get(f->s, "nope", &o, NULL), AL_E_NOTFOUND);
    struct al_store_page pg = {NULL, 1};
    assert_int_equal(al_store_org_list(f->s, NULL, pg, &list, &next, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(next, "org_a");
    json_decref(list);
    pg.cursor = next;
    assert_int_equal(al_store_org_list(f->s, NULL, pg, &list, NULL, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "beta");
    json_decref(list);
    free(next);
}

static void test_users_by_token(void **state)
{
    struct store_fixture *f = *state;
    uint8_t h1[AL_STORE_HASH_LEN] = {1}, h2[AL_STORE_HASH_LEN] = {2};
    json_t *u = json_pack("{s:s,s:s,s:s,s:n,s:i}", "id", "usr_1", "name", "root", "role",
                          "operator", "org", "created_at", 5);
    json_t *got = NULL;
    assert_int_equal(al_store_user_insert(f->s, u, h1, NULL), 0);
    assert_int_equal(al_store_user_insert(f->s, u, h2, NULL), AL_E_CONFLICT); /* same id */
    json_decref(u);
    /* a role outside the four is refused by the schema */
    u = json_pack("{s:s,s:s,s:s,s:i}", "id", "usr_2", "name", "x", "role", "king", "created_at", 5);
    assert_int_equal(al_store_user_insert(f->s, u, h2, NULL), AL_E_CONFLICT);
    json_decref(u);
    assert_int_equal(al_store_user_by_token(f->s, h1, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "role")), "operator");
    json_decref(got);
    assert_int_equal(al_store_user_by_token(f->s, h2, &got, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_user_count(f->s, NULL), 1);
}

static void put_node(struct al_store *s, int ngpus)
{
    json_t *gpus = json_array();
    for (int i = 0; i < ngpus; i++) {
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

static int conflicts(struct al_store *s, uint64_t mask, int64_t t0, int64_t t1, int64_t now,
                     const char *except)
{
    struct al_store_hold h = {.gpu = "gpu_n1-1", .mask = mask, .t0 = t0, .t1 = t1};
    snprintf(h.owner, sizeof h.owner, "%s", except ? except : "");
    return al_store_hold_conflicts(s, &h, now, NULL);
}

static void test_nodes_and_holds(void **state)
{
    struct store_fixture *f = *state;
    json_t *all = NULL;
    put_node(f->s, 2);
    struct al_store_hold h = {.gpu = "gpu_n1-1",
                              .owner = "qte_1",
                              .kind = "mig",
                              .profile = "3g.40gb",
                              .start_unit = 4,
                              .mask = 0xf0,
                              .t0 = 10,
                              .t1 = 20,
                              .expires_at = 50};
    assert_int_equal(al_store_hold_add(f->s, &h, NULL), 0);
    /* overlapping time and units collide; disjoint units or times do not */
    assert_int_equal(conflicts(f->s, 0x10, 15, 30, 0, NULL), 1);
    assert_int_equal(conflicts(f->s, 0x0f, 15, 30, 0, NULL), 0);
    assert_int_equal(conflicts(f->s, 0xff, 20, 30, 0, NULL), 0);
    assert_int_equal(conflicts(f->s, 0xff, 0, 30, 0, "qte_1"), 0);
    /* a tentative hold stops counting once expired */
    assert_int_equal(conflicts(f->s, 0xff, 0, 30, 50, NULL), 0);
    assert_int_equal(al_store_hold_transfer(f->s, "qte_1", "rsv_1", NULL), 1);
    assert_int_equal(conflicts(f->s, 0xff, 0, 30, 50, NULL), 1);
    assert_int_equal(al_store_hold_set_end(f->s, "rsv_1", 40, NULL), 1);
    assert_int_equal(conflicts(f->s, 0xff, 35, 45, 0, NULL), 1);
    /* a GPU that disappears but carries a hold stays, not present (its health as reported) */
    put_node(f->s, 1);
    assert_int_equal(al_store_gpu_all(f->s, &all, NULL), 0);
    assert_int_equal(json_array_size(all), 2);
    assert_false(json_is_true(json_object_get(json_array_get(all, 1), "present")));
    assert_true(json_is_true(json_object_get(json_array_get(all, 1), "healthy")));
    assert_true(json_is_true(json_object_get(json_array_get(all, 0), "present")));
    json_decref(all);
    assert_int_equal(al_store_hold_release(f->s, "rsv_1", NULL), 1);
    put_node(f->s, 1);
    assert_int_equal(al_store_gpu_all(f->s, &all, NULL), 0);
    assert_int_equal(json_array_size(all), 1);
    json_decref(all);
}

static int count_hold(void *arg, const struct al_store_hold *h)
{
    (void)h;
    (*(int *)arg)++;
    return 0;
}

/* A refused hold undoes itself alone (its own unit): the caller's unit goes on, and what it
 * wrote before and after is kept; holds added together are undone together. */
static void test_hold_refused_alone(void **state)
{
    struct store_fixture *f = *state;
    struct al_store_hold h = {.gpu = "gpu_n1-0",
                              .owner = "rsv_1",
                              .kind = "gpu",
                              .start_unit = -1,
                              .mask = UINT64_MAX,
                              .t0 = 10,
                              .t1 = 20};
    int n = 0;
    put_node(f->s, 1);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    assert_int_equal(al_store_hold_add(f->s, &h, NULL), 0);
    struct al_store_hold bad = h; /* an empty span: the schema's CHECK refuses it */
    bad.t1 = bad.t0;
    assert_int_equal(al_store_hold_add(f->s, &bad, NULL), AL_E_CONFLICT);
    assert_true(al_store_in_tx(f->s));
    /* several in one unit: all of them, or none when one is refused */
    struct al_store_hold two[2] = {h, bad};
    two[0].t0 = 50;
    two[0].t1 = 60;
    assert_int_equal(al_store_holds_add(f->s, two, 2, NULL), AL_E_CONFLICT);
    two[1] = two[0];
    two[1].t0 = 60;
    two[1].t1 = 70;
    assert_int_equal(al_store_holds_add(f->s, two, 2, NULL), 0);
    h.t0 = 30;
    h.t1 = 40;
    assert_int_equal(al_store_hold_add(f->s, &h, NULL), 0);
    assert_int_equal(al_store_release(f->s, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_store_hold_each(f->s, 0, 100, 0, count_hold, &n, NULL), 0);
    assert_int_equal(n, 4);
}

/* Report node `node` at `now` with GPUs "IDX:UUID:MODEL[:sick]" …, NULL-terminated; returns
 * the upsert's code. */
static int report(struct al_store *s, const char *node, int64_t now, ...)
{
    va_list ap;
    json_t *gpus = json_array();
    va_start(ap, now);
    for (const char *spec; (spec = va_arg(ap, const char *));) {
        char uuid[48], model[32], sick[8] = "";
        int idx = -1;
        assert_true(sscanf(spec, "%d:%47[^:]:%31[^:]:%7s", &idx, uuid, model, sick) >= 3);
        json_array_append_new(gpus,
                              json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", idx, "uuid", uuid,
                                        "model", model, "pool", "general", "healthy", !sick[0]));
    }
    va_end(ap);
    json_t *n = json_pack("{s:s,s:s,s:{},s:o}", "name", node, "zone", "z1", "labels", "gpus", gpus);
    int rc = al_store_node_upsert(s, n, now, NULL);
    json_decref(n);
    return rc;
}

/* Field `k` of the GPU with `uuid` in node `node`, as a string ("" when absent; booleans and
 * integers as text). */
static const char *gpu_field(struct al_store *s, const char *node, const char *uuid, const char *k)
{
    static char buf[96];
    json_t *n = NULL, *g;
    size_t i;
    buf[0] = '\0';
    assert_int_equal(al_store_node_get(s, node, &n, NULL), 0);
    json_array_foreach(json_object_get(n, "gpus"), i, g)
    {
        json_t *v = json_object_get(g, k);
        if (strcmp(json_string_value(json_object_get(g, "uuid")), uuid) != 0 || !v)
            continue;
        if (json_is_string(v))
            snprintf(buf, sizeof buf, "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        else
            snprintf(buf, sizeof buf, "%s", json_is_true(v) ? "true" : "false");
    }
    json_decref(n);
    return buf;
}

static void firm_hold(struct al_store *s, const char *gpu, const char *owner, int64_t t0,
                      int64_t t1)
{
    struct al_store_hold h = {.kind = "gpu", .start_unit = -1, .mask = UINT64_MAX, .t0 = t0};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", owner);
    h.t1 = t1;
    assert_int_equal(al_store_hold_add(s, &h, NULL), 0);
}

/* GPUs are their uuids: indexes move between them, a new GPU may take the index of one that
 * left and was kept, and a uuid cannot move to another node. */
static void test_gpus_are_uuids(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(report(f->s, "n1", 10, "0:GPU-a:H100-80GB", "1:GPU-b:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "id"), "gpu_n1-0");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "id"), "gpu_n1-1");
    firm_hold(f->s, "gpu_n1-1", "rsv_1", 0, 1000);
    /* swapped indexes: 200, same ids, the index follows the uuid */
    assert_int_equal(report(f->s, "n1", 11, "1:GPU-a:H100-80GB", "0:GPU-b:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "id"), "gpu_n1-0");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "index"), "1");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "index"), "0");
    /* GPU-b leaves (kept: sold), GPU-c comes at index 1, whose id GPU-b has */
    assert_int_equal(report(f->s, "n1", 12, "0:GPU-a:H100-80GB", "1:GPU-c:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "present"), "false");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-c", "id"), "gpu_n1-1-2");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-c", "present"), "true");
    /* and GPU-b comes back at index 2: the same id */
    assert_int_equal(report(f->s, "n1", 13, "0:GPU-a:H100-80GB", "1:GPU-c:H100-80GB",
                            "2:GPU-b:H100-80GB:sick", NULL),
                     0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "id"), "gpu_n1-1");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "present"), "true");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "healthy"), "false");
    /* a uuid registered on another node */
    assert_int_equal(report(f->s, "n2", 14, "0:GPU-a:H100-80GB", NULL), AL_E_CONFLICT);
}

/* A GPU reported as another model takes it at once when nothing live is held on it; else it
 * keeps the model it was sold as until the holds are gone. */
static void test_model_change_waits_for_holds(void **state)
{
    struct store_fixture *f = *state;
    json_t *all = NULL;
    assert_int_equal(report(f->s, "n1", 10, "0:GPU-a:A100-80GB", "1:GPU-b:A100-80GB", NULL), 0);
    firm_hold(f->s, "gpu_n1-1", "rsv_1", 0, 100);
    struct al_store_hold q = {.gpu = "gpu_n1-0", .owner = "qte_1", .kind = "gpu", .t1 = 100};
    q.start_unit = -1;
    q.mask = UINT64_MAX;
    q.expires_at = 20; /* a quote valid until 20 */
    assert_int_equal(al_store_hold_add(f->s, &q, NULL), 0);
    assert_int_equal(report(f->s, "n1", 15, "0:GPU-a:H100-80GB", "1:GPU-b:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "model"), "A100-80GB"); /* quoted */
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "reported_model"), "H100-80GB");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "model"), "A100-80GB"); /* sold */
    /* the quote expired at 20: GPU-a changes; the reservation ends at 100 */
    assert_int_equal(report(f->s, "n1", 20, "0:GPU-a:H100-80GB", "1:GPU-b:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-a", "model"), "H100-80GB");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "model"), "A100-80GB");
    assert_int_equal(report(f->s, "n1", 100, "0:GPU-a:H100-80GB", "1:GPU-b:H100-80GB", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "model"), "H100-80GB");
    assert_int_equal(al_store_gpu_all(f->s, &all, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(all, 1), "model")),
                        "H100-80GB");
    json_decref(all);
}

static void test_node_liveness_and_holders(void **state)
{
    struct store_fixture *f = *state;
    json_t *names = NULL, *owners = NULL, *n = NULL;
    assert_int_equal(report(f->s, "n1", 10, "0:GPU-a:L4", "1:GPU-b:L4", NULL), 0);
    assert_int_equal(report(f->s, "n2", 50, "0:GPU-c:L4", NULL), 0);
    assert_int_equal(al_store_node_stale(f->s, 40, &names, NULL), 0);
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(names, 0), "name")), "n1");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(names, 0), "last_seen")),
                     10);
    json_decref(names);
    assert_int_equal(al_store_node_set_online(f->s, "n1", false, NULL), 0);
    assert_int_equal(al_store_node_set_online(f->s, "n9", false, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_node_stale(f->s, 60, &names, NULL), 0);
    assert_int_equal(json_array_size(names), 1); /* n1 is offline already: only n2 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(names, 0), "name")), "n2");
    json_decref(names);
    assert_int_equal(al_store_node_get(f->s, "n1", &n, NULL), 0);
    assert_false(json_is_true(json_object_get(n, "online")));
    json_decref(n);
    assert_int_equal(report(f->s, "n1", 70, "0:GPU-a:L4", "1:GPU-b:L4", NULL), 0);
    assert_int_equal(al_store_node_get(f->s, "n1", &n, NULL), 0);
    assert_true(json_is_true(json_object_get(n, "online"))); /* its report brings it back */
    json_decref(n);
    /* holders: live holds only (ending after now; firm, or tentative unexpired), by GPU or by
     * node; one GPU's holds one after the other, as the calendar writes them */
    firm_hold(f->s, "gpu_n1-0", "rsv_b", 0, 200);
    firm_hold(f->s, "gpu_n1-1", "rsv_old", 0, 50);
    firm_hold(f->s, "gpu_n1-1", "rsv_a", 50, 150);
    struct al_store_hold q = {.gpu = "gpu_n1-1", .owner = "qte_1", .kind = "gpu", .t0 = 150};
    q.t1 = 200;
    q.start_unit = -1;
    q.mask = UINT64_MAX;
    q.expires_at = 90;
    assert_int_equal(al_store_hold_add(f->s, &q, NULL), 0);
    assert_int_equal(al_store_gpu_holders(f->s, NULL, "gpu_n1-1", 80, &owners, NULL), 0);
    char *text = json_dumps(owners, JSON_COMPACT);
    assert_string_equal(text, "[\"qte_1\",\"rsv_a\"]");
    free(text);
    json_decref(owners);
    assert_int_equal(al_store_gpu_holders(f->s, "n1", NULL, 95, &owners, NULL), 0);
    text = json_dumps(owners, JSON_COMPACT);
    assert_string_equal(text, "[\"rsv_a\",\"rsv_b\"]");
    free(text);
    json_decref(owners);
    assert_int_equal(al_store_gpu_holders(f->s, "n2", NULL, 95, &owners, NULL), 0);
    assert_int_equal(json_array_size(owners), 0);
    json_decref(owners);
}

/* A database of schema 1 (GPU ids by index, UNIQUE(node, idx)) with a hold on a GPU migrates:
 * rows and holds kept, the model sold as the one reported, the node online; and then a swap
 * of indexes works. (The tables written here are the ones the migrations read: the fleet's,
 * and orgs and prices, which the money migration numbers and turns into versions.) */
static void test_migration_from_v1(void **state)
{
    struct store_fixture *f = *state;
    sqlite3 *db = NULL;
    STORE_SQLITE_ONLY("a database of SQLite's schema 1 (PostgreSQL's starts at 11)");
    al_store_close(f->s);
    f->s = NULL;
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE schema_version(version INTEGER NOT NULL);"
                     "INSERT INTO schema_version VALUES(1);"
                     "CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                     " customer_code TEXT UNIQUE, display_name TEXT, created_at INTEGER NOT NULL);"
                     "CREATE TABLE prices(model TEXT PRIMARY KEY, gpu_hour INTEGER NOT NULL,"
                     " mig_slice_hour INTEGER NOT NULL, pool_gpu_hour INTEGER NOT NULL,"
                     " updated_at INTEGER NOT NULL);"
                     "CREATE TABLE nodes(name TEXT PRIMARY KEY, zone TEXT, labels TEXT NOT NULL"
                     " DEFAULT '{}', last_seen INTEGER NOT NULL, created_at INTEGER NOT NULL);"
                     "CREATE TABLE gpus(id TEXT PRIMARY KEY, node TEXT NOT NULL REFERENCES"
                     " nodes(name), idx INTEGER NOT NULL, uuid TEXT NOT NULL UNIQUE, model TEXT"
                     " NOT NULL, pool TEXT NOT NULL CHECK(pool IN ('general','dedicated')),"
                     " healthy INTEGER NOT NULL, drained INTEGER NOT NULL DEFAULT 0,"
                     " UNIQUE(node, idx));"
                     "CREATE TABLE holds(id INTEGER PRIMARY KEY, gpu_id TEXT NOT NULL REFERENCES"
                     " gpus(id), owner TEXT NOT NULL, kind TEXT NOT NULL CHECK(kind IN"
                     " ('gpu','mig')), profile TEXT NOT NULL DEFAULT '', start_unit INTEGER NOT"
                     " NULL DEFAULT -1, mask INTEGER NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER"
                     " NOT NULL, expires_at INTEGER NOT NULL DEFAULT 0, CHECK(t0 < t1));"
                     "CREATE TABLE idempotency(key TEXT NOT NULL, caller TEXT NOT NULL,"
                     " body_hash BLOB NOT NULL, status INTEGER NOT NULL, response TEXT NOT NULL,"
                     " created_at INTEGER NOT NULL, PRIMARY KEY(key, caller));"
                     /* v1's event log, with an event of an org (migration 10 gives it its org) */
                     "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT"
                     " NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL,"
                     " data TEXT NOT NULL);"
                     "INSERT INTO events(at, actor, kind, object, data) VALUES(3, 'usr_1',"
                     " 'request.submitted', 'req_1', '{\"org\":\"org_a\"}');"
                     "INSERT INTO events(at, actor, kind, object, data) VALUES(4, 'usr_1',"
                     " 'price.set', 'L4-24GB', '{}');"
                     "INSERT INTO nodes VALUES('n1', 'z1', '{}', 5, 5);"
                     "INSERT INTO gpus VALUES('gpu_n1-0', 'n1', 0, 'GPU-a', 'L4-24GB',"
                     " 'general', 1, 0);"
                     "INSERT INTO gpus VALUES('gpu_n1-1', 'n1', 1, 'GPU-b', 'L4-24GB',"
                     " 'general', 1, 0);"
                     "INSERT INTO holds(gpu_id, owner, kind, mask, t0, t1)"
                     " VALUES('gpu_n1-1', 'rsv_1', 'gpu', -1, 0, 100);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(al_store_open(f->path, &f->s, NULL), 0);
    assert_int_equal(al_store_schema_version(f->s), AL_STORE_SCHEMA_VER);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "reported_model"), "L4-24GB");
    json_t *evs = NULL;
    assert_int_equal(al_store_event_list_org(f->s, "org_a", 0, 10, &evs, NULL), 0);
    assert_int_equal(json_array_size(evs), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "object")),
                        "req_1");
    json_decref(evs);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "present"), "true");
    json_t *owners = NULL, *n = NULL;
    assert_int_equal(al_store_gpu_holders(f->s, NULL, "gpu_n1-1", 10, &owners, NULL), 0);
    assert_int_equal(json_array_size(owners), 1);
    json_decref(owners);
    assert_int_equal(al_store_node_get(f->s, "n1", &n, NULL), 0);
    assert_true(json_is_true(json_object_get(n, "online")));
    json_decref(n);
    assert_int_equal(report(f->s, "n1", 10, "1:GPU-a:L4", "0:GPU-b:L4", NULL), 0);
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "id"), "gpu_n1-1");
    assert_string_equal(gpu_field(f->s, "n1", "GPU-b", "index"), "0");
    /* foreign keys still hold: a hold on no GPU is refused */
    struct al_store_hold h = {.gpu = "gpu_none", .owner = "rsv_2", .kind = "gpu", .t1 = 5};
    h.mask = 1;
    assert_int_equal(al_store_hold_add(f->s, &h, NULL), AL_E_CONFLICT);
}

static void test_rollback_discards(void **state)
{
    struct store_fixture *f = *state;
    json_t *o = NULL;
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_r", "gone", NULL);
    assert_int_equal(al_store_event_append(f->s, 1, "usr_1", "org.created", "org_r", NULL, NULL),
                     1);
    al_store_rollback(f->s);
    assert_int_equal(al_store_org_get(f->s, "gone", &o, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_k", "kept", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_store_org_get(f->s, "kept", &o, NULL), 0);
    json_decref(o);
}

/* Deferred sync: commit writes the log, sync makes it durable; another connection (another
 * process after a crash, in effect) reads what was committed and synced. */
static void test_deferred_sync(void **state)
{
    struct store_fixture *f = *state;
    struct al_err e = {0};
    char wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(al_store_sync(f->s, NULL), 0); /* commits sync themselves: nothing to do */
    assert_int_equal(al_store_defer_sync(f->s, &e), 0);
    assert_int_equal(al_store_defer_sync(f->s, NULL), 0); /* once is enough; twice is harmless */
    if (!store_fixture_pg())
        assert_int_equal(access(wal, F_OK), 0); /* SQLite's log */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    store_add_org_named(f->s, "org_d", "durable", NULL);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_store_sync(f->s, &e), 0);
    assert_int_equal(store_fixture_int(f, "SELECT count(*) FROM orgs WHERE name = 'durable'"), 1);
}

static void test_savepoints_undo_one_unit(void **state)
{
    struct store_fixture *f = *state;
    json_t *o = NULL;
    /* one transaction, three units: the middle one is undone alone */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    store_add_org_named(f->s, "org_1", "one", NULL);
    assert_int_equal(al_store_release(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    store_add_org_named(f->s, "org_2", "two", NULL);
    al_store_rollback_to(f->s);
    assert_true(al_store_in_tx(f->s));
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    store_add_org_named(f->s, "org_3", "three", NULL);
    assert_int_equal(al_store_release(f->s, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_false(al_store_in_tx(f->s));
    assert_int_equal(al_store_org_get(f->s, "one", &o, NULL), 0);
    json_decref(o);
    assert_int_equal(al_store_org_get(f->s, "two", &o, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_org_get(f->s, "three", &o, NULL), 0);
    json_decref(o);
}

static void test_events_append_only(void **state)
{
    struct store_fixture *f = *state;
    json_t *list = NULL;
    json_t *d = json_pack("{s:s}", "to", "quoted");
    assert_true(al_store_event_append(f->s, 5, "usr_1", "request.quoted", "req_1", d, NULL) > 0);
    assert_true(al_store_event_append(f->s, 6, "clock", "reservation.active", "rsv_1", NULL, NULL) >
                0);
    json_decref(d);
    assert_int_equal(al_store_event_list(f->s, 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "kind")),
                        "request.quoted");
    json_decref(list);
    assert_int_equal(al_store_event_list(f->s, 1, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    /* the schema itself refuses to change or remove an event */
    assert_int_equal(store_fixture_sql(f, "UPDATE events SET kind = 'x'"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM events"), AL_E_CONFLICT);
    assert_int_equal(al_store_event_list(f->s, 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 2);
    json_decref(list);
}

/* Events know whose they are: an org's list holds its events only, each row names its orgs,
 * and the filters keep a kind (exact or a prefix) and an object. */
static void test_event_orgs_and_filters(void **state)
{
    struct store_fixture *f = *state;
    json_t *list = NULL;
    const char *ab[] = {"org_a", "org_b", "org_a", NULL};
    const char *b[] = {"org_b"};
    int64_t s1 = al_store_event_append(f->s, 5, "usr_1", "reservation.active", "rsv_1", NULL, NULL);
    int64_t s2 = al_store_event_append(f->s, 6, "clock", "gpu.unhealthy", "gpu_1", NULL, NULL);
    int64_t s3 = al_store_event_append(f->s, 7, "usr_2", "request.quoted", "req_2", NULL, NULL);
    int64_t s4 = al_store_event_append(f->s, 8, "usr_1", "price.set", "L4-24GB", NULL, NULL);
    assert_true(s1 > 0 && s2 > s1 && s3 > s2 && s4 > s3);
    assert_int_equal(al_store_event_orgs_add(f->s, s1, ab, 1, NULL), 0);
    assert_int_equal(al_store_event_orgs_add(f->s, s2, ab, 4, NULL), 0); /* repeat, NULL */
    assert_int_equal(al_store_event_orgs_add(f->s, s3, b, 1, NULL), 0);
    assert_int_equal(al_store_event_list_org(f->s, "org_a", 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "seq")), s2);
    assert_int_equal(json_array_size(json_object_get(json_array_get(list, 1), "orgs")), 2);
    json_decref(list);
    assert_int_equal(al_store_event_list_org(f->s, "org_b", s2, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    assert_int_equal(al_store_event_list_org(f->s, "org_c", 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* the whole log: the fleet's event has no org */
    assert_int_equal(al_store_event_list(f->s, s3, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(list, 0), "orgs")), 0);
    json_decref(list);
    struct al_store_event_filter flt = {.kind = "re", .kind_prefix = true};
    assert_int_equal(al_store_event_find(f->s, &flt, 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 2); /* reservation.active, request.quoted */
    json_decref(list);
    flt = (struct al_store_event_filter){.org = "org_b", .kind = "gpu.unhealthy"};
    assert_int_equal(al_store_event_find(f->s, &flt, 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    flt = (struct al_store_event_filter){.kind = "gpu.", .object = "gpu_2", .kind_prefix = true};
    assert_int_equal(al_store_event_find(f->s, &flt, 0, 10, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    /* an event's orgs are listed by name, whatever the order they were added in */
    const char *za[] = {"org_z", "org_a"};
    int64_t s5 = al_store_event_append(f->s, 9, "usr_1", "gpu.healthy", "gpu_1", NULL, NULL);
    assert_true(s5 > s4);
    assert_int_equal(al_store_event_orgs_add(f->s, s5, za, 2, NULL), 0);
    assert_int_equal(al_store_event_list_org(f->s, "org_z", 0, 10, &list, NULL), 0);
    json_t *want = json_pack("[s,s]", "org_a", "org_z");
    assert_true(json_equal(json_object_get(json_array_get(list, 0), "orgs"), want));
    json_decref(want);
    json_decref(list);
    /* a notice is recorded once */
    assert_int_equal(al_store_notice_once(f->s, "rsv_1", "reservation.ending", 9, NULL), 1);
    assert_int_equal(al_store_notice_once(f->s, "rsv_1", "reservation.ending", 10, NULL), 0);
}

static void test_idempotency(void **state)
{
    struct store_fixture *f = *state;
    uint8_t a[AL_STORE_HASH_LEN] = {7}, b[AL_STORE_HASH_LEN] = {8};
    int status = 0;
    char *resp = NULL;
    assert_int_equal(al_store_idem_get(f->s, "k1", "usr_1", a, &status, &resp, NULL),
                     AL_E_NOTFOUND);
    struct al_store_idem r = {"k1", "usr_1", a, 201, "{\"x\":1}", 9};
    assert_int_equal(al_store_idem_put(f->s, &r, NULL), 0);
    assert_int_equal(al_store_idem_get(f->s, "k1", "usr_1", a, &status, &resp, NULL), 0);
    assert_int_equal(status, 201);
    assert_string_equal(resp, "{\"x\":1}");
    free(resp);
    assert_int_equal(al_store_idem_get(f->s, "k1", "usr_1", b, &status, &resp, NULL),
                     AL_E_CONFLICT);
    /* another caller's key space is separate */
    assert_int_equal(al_store_idem_get(f->s, "k1", "usr_2", a, &status, &resp, NULL),
                     AL_E_NOTFOUND);
}

static void test_documents_and_due(void **state)
{
    struct store_fixture *f = *state;
    json_t *doc = json_pack("{s:s,s:s}", "id", "rsv_1", "state", "scheduled"), *got = NULL;
    store_add_org_named(f->s, "org_a", "acme", NULL);
    struct al_store_doc_meta m = {"rsv_1", "org_a", "scheduled", 100, 200};
    assert_int_equal(al_store_reservation_put(f->s, &m, doc, true, NULL), 0);
    assert_int_equal(al_store_reservation_due(f->s, 99, &got, NULL), 0);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
    assert_int_equal(al_store_reservation_due(f->s, 100, &got, NULL), 0);
    assert_int_equal(json_array_size(got), 1);
    json_decref(got);
    m.id = "rsv_2";
    assert_int_equal(al_store_reservation_put(f->s, &m, doc, false, NULL), AL_E_NOTFOUND);
    struct al_store_doc_meta bad = {"rsv_3", "org_a", "scheduled", 200, 100};
    assert_int_equal(al_store_reservation_put(f->s, &bad, doc, true, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_reservation_get(f->s, "rsv_1", &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "state")), "scheduled");
    json_decref(got);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrations_apply_once, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_orgs_crud_and_unique, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_users_by_token, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_nodes_and_holds, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_hold_refused_alone, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_gpus_are_uuids, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_model_change_waits_for_holds, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_node_liveness_and_holders, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_event_orgs_and_filters, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_discards, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_savepoints_undo_one_unit, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_deferred_sync, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_events_append_only, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_idempotency, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_documents_and_due, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
