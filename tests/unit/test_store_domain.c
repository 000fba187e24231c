/* test_store_domain.c — unit tests of the store's part in the server's domain rules: the
 * migration that takes clear tokens out of idempotency records written by older builds (the
 * bytes are gone from the database files), the order in which an org reference resolves when
 * old data has a name equal to another org's code, the hold a refusal names, one GPU's firm
 * reservation holds over a span (the MIG planner's read), node-bound agent tokens (migration
 * 6: one per node, replaced, revoked, found by hash only), and a GPU's MIG state (migration 7:
 * observed as reported, desired as set), and the cache of request documents (what a caller
 * gets is its own copy; a rollback never leaves the cache holding what the database undid),
 * a request's quote held by id in its row and given back whole on reads (in place), a quote
 * read naming its request, and the clock's id lists. On SQLite or PostgreSQL (store_fixture.h);
 * the migrations from SQLite's old schemas are SQLite's only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"

#define TOKEN "al_LegacyClearTokenLegacyClearTokenLegacyClear"

/* Does file `path` (absent: no) hold `needle`? */
static bool file_has(const char *path, const char *needle)
{
    FILE *fp = fopen(path, "rb");
    size_t n = strlen(needle), got;
    bool found = false;
    if (!fp)
        return false;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    got = fread(buf, 1, 1 << 20, fp);
    for (size_t i = 0; !found && i + n <= got; i++)
        found = memcmp(buf + i, needle, n) == 0;
    free(buf);
    (void)fclose(fp);
    return found;
}

static void test_migration_scrubs_clear_tokens(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = NULL;
    uint8_t h[AL_STORE_HASH_LEN] = {9};
    char wal[128], *resp = NULL;
    int status = 0;
    STORE_SQLITE_ONLY("a migration from SQLite's schema 1, and the bytes of SQLite's files");
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    /* what a build of schema 1 wrote for POST /v1/users with an Idempotency-Key */
    assert_int_equal(al_store_open_at(f->path, 1, &s, NULL), 0);
    assert_int_equal(al_store_schema_version(s), 1);
    struct al_store_idem r = {
        "k1", "usr_op", h, 201, "{\"user\":{\"id\":\"usr_1\"},\"token\":\"" TOKEN "\"}", 9};
    struct al_store_idem other = {"k2", "usr_op", h, 201, "{\"id\":\"org_1\",\"n\":1}", 9};
    assert_int_equal(al_store_idem_put(s, &r, NULL), 0);
    assert_int_equal(al_store_idem_put(s, &other, NULL), 0);
    al_store_close(s);
    assert_true(file_has(f->path, TOKEN) || file_has(wal, TOKEN));
    assert_int_equal(al_store_open(f->db, &s, NULL), 0);
    assert_int_equal(al_store_schema_version(s), AL_STORE_SCHEMA_VER);
    assert_int_equal(al_store_idem_get(s, "k1", "usr_op", h, &status, &resp, NULL), 0);
    json_t *j = json_loads(resp, 0, NULL);
    assert_true(json_is_null(json_object_get(j, "token")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "withheld"), 0)),
                        "token");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "user"), "id")),
                        "usr_1");
    json_decref(j);
    free(resp);
    assert_int_equal(al_store_idem_get(s, "k2", "usr_op", h, &status, &resp, NULL), 0);
    assert_string_equal(resp, "{\"id\":\"org_1\",\"n\":1}"); /* no token: untouched */
    free(resp);
    al_store_close(s);
    assert_false(file_has(f->path, TOKEN));
    assert_false(file_has(wal, TOKEN));
    assert_int_equal(al_store_open_at(f->path, AL_STORE_SCHEMA_VER + 1, &s, NULL), AL_E_INVAL);
}

static void add_org(struct al_store *s, const char *id, const char *name, const char *code)
{
    json_t *o = json_pack("{s:s,s:s,s:s?,s:n,s:i}", "id", id, "name", name, "customer_code", code,
                          "display_name", "created_at", 1000);
    assert_int_equal(al_store_org_insert(s, o, NULL), 0);
    json_decref(o);
}

/* Data from before the one-namespace rule: an id match wins, then a name, then a code. */
static void test_org_lookup_order(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = NULL;
    json_t *o = NULL;
    assert_int_equal(al_store_open(f->db, &s, NULL), 0);
    add_org(s, "org_b", "shared", "org_a");   /* its code is another org's id */
    add_org(s, "org_a", "alpha", "shared2");  /* inserted later, same clash */
    add_org(s, "org_c", "shared2", "shared"); /* its name is a code, its code a name */
    const char *const cases[][2] = {
        {"org_a", "org_a"}, {"shared", "org_b"}, {"shared2", "org_c"}, {"alpha", "org_a"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(al_store_org_get(s, cases[i][0], &o, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(o, "id")), cases[i][1]);
        json_decref(o);
    }
    al_store_close(s);
}

static void test_hold_first_conflict(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = NULL;
    struct al_store_hold got;
    assert_int_equal(al_store_open(f->db, &s, NULL), 0);
    json_t *n = json_pack("{s:s,s:s,s:{},s:[{s:s,s:i,s:s,s:s,s:s,s:b}]}", "name", "n1", "zone",
                          "z1", "labels", "gpus", "id", "gpu_n1-0", "index", 0, "uuid", "GPU-0",
                          "model", "H100-80GB", "pool", "dedicated", "healthy", 1);
    assert_int_equal(al_store_node_upsert(s, n, 100, NULL), 0);
    json_decref(n);
    struct al_store_hold a = {.gpu = "gpu_n1-0",
                              .owner = "rsv_a",
                              .kind = "mig",
                              .profile = "1g.10gb",
                              .start_unit = 0,
                              .mask = 0x01,
                              .t0 = 100,
                              .t1 = 200};
    struct al_store_hold b = a, q = a, me = a;
    snprintf(b.owner, sizeof b.owner, "rsv_b");
    b.start_unit = 1;
    b.mask = 0x02;
    b.t0 = 50;
    snprintf(q.owner, sizeof q.owner, "qte_q");
    q.start_unit = 2;
    q.mask = 0x04;
    q.t0 = 150;
    q.t1 = 300;
    q.expires_at = 1000;
    assert_int_equal(al_store_hold_add(s, &a, NULL), 0);
    assert_int_equal(al_store_hold_add(s, &b, NULL), 0);
    assert_int_equal(al_store_hold_add(s, &q, NULL), 0);
    snprintf(me.owner, sizeof me.owner, "rsv_me");
    me.t0 = 160;
    me.t1 = 400;
    me.start_unit = 2;
    me.mask = 0x04; /* shares a unit with the quote only: that one is named */
    assert_int_equal(al_store_hold_first_conflict(s, &me, 500, &got, NULL), 0);
    assert_string_equal(got.owner, "qte_q");
    assert_true(got.t0 == 150 && got.t1 == 300);
    /* expired quote: none shares a unit now, the earliest other hold is named */
    assert_int_equal(al_store_hold_first_conflict(s, &me, 2000, &got, NULL), 0);
    assert_string_equal(got.owner, "rsv_b");
    snprintf(me.owner, sizeof me.owner, "rsv_b"); /* its own holds never count */
    assert_int_equal(al_store_hold_first_conflict(s, &me, 2000, &got, NULL), 0);
    assert_string_equal(got.owner, "rsv_a");
    me.t0 = 250;
    assert_int_equal(al_store_hold_first_conflict(s, &me, 2000, &got, NULL), AL_E_NOTFOUND);
    al_store_close(s);
}

/* One GPU's firm reservation holds over [t0, t1): those on other GPUs, tentative ones, firm
 * ones of another owner and those outside the span (ending at t0, starting at t1) are left
 * out; the others come by start, then in the order they were added. */
static void test_hold_gpu_firm(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = NULL;
    struct al_store_hold *v = NULL;
    size_t n = 99;
    assert_int_equal(al_store_open(f->db, &s, NULL), 0);
    json_t *nd = json_pack("{s:s,s:s,s:{},s:[{s:s,s:i,s:s,s:s,s:s,s:b},{s:s,s:i,s:s,s:s,s:s,s:b}]}",
                           "name", "n1", "zone", "z1", "labels", "gpus", "id", "gpu_n1-0", "index",
                           0, "uuid", "GPU-0", "model", "H100-80GB", "pool", "dedicated", "healthy",
                           1, "id", "gpu_n1-1", "index", 1, "uuid", "GPU-1", "model", "H100-80GB",
                           "pool", "dedicated", "healthy", 1);
    assert_int_equal(al_store_node_upsert(s, nd, 100, NULL), 0);
    json_decref(nd);
    const struct {
        const char *gpu, *owner;
        int64_t t0, t1, expires_at;
    } holds[] = {
        /* no two share a unit at an instant (PostgreSQL's holds_no_overlap): rsv_b's whole GPU
         * comes between rsv_d and the MIG holds */
        {"gpu_n1-0", "rsv_a", 150, 250, 0},    {"gpu_n1-0", "rsv_b", 120, 150, 0},
        {"gpu_n1-0", "rsv_c", 300, 400, 0},    {"gpu_n1-0", "rsv_d", 10, 120, 0},
        {"gpu_n1-0", "qte_q", 150, 250, 1000}, {"gpu_n1-0", "pse_1", 150, 250, 0},
        {"gpu_n1-1", "rsv_e", 100, 200, 0},    {"gpu_n1-0", "rsv_f", 299, 301, 0},
        {"gpu_n1-0", "rsv_g", 150, 180, 0},
    };
    for (size_t i = 0; i < sizeof holds / sizeof holds[0]; i++) {
        struct al_store_hold h = {.kind = "mig",
                                  .profile = "1g.10gb",
                                  .start_unit = (int)i % 7,
                                  .mask = UINT64_C(1) << (i % 7),
                                  .t0 = holds[i].t0,
                                  .t1 = holds[i].t1,
                                  .expires_at = holds[i].expires_at};
        snprintf(h.gpu, sizeof h.gpu, "%s", holds[i].gpu);
        snprintf(h.owner, sizeof h.owner, "%s", holds[i].owner);
        if (i == 1) { /* rsv_b holds the whole GPU */
            snprintf(h.kind, sizeof h.kind, "gpu");
            h.profile[0] = '\0';
            h.start_unit = -1;
            h.mask = UINT64_MAX;
        }
        assert_int_equal(al_store_hold_add(s, &h, NULL), 0);
    }
    assert_int_equal(al_store_hold_gpu_firm(s, "gpu_n1-0", 120, 300, &v, &n, NULL), 0);
    assert_int_equal(n, 4);
    const char *const want[] = {"rsv_b", "rsv_a", "rsv_g", "rsv_f"};
    for (size_t i = 0; i < n; i++)
        assert_string_equal(v[i].owner, want[i]);
    assert_string_equal(v[0].gpu, "gpu_n1-0");
    assert_string_equal(v[0].kind, "gpu");
    assert_int_equal(v[0].start_unit, -1);
    assert_true(v[0].mask == UINT64_MAX && v[0].t0 == 120 && v[0].t1 == 150);
    assert_string_equal(v[1].profile, "1g.10gb");
    assert_true(v[1].start_unit == 0 && v[1].mask == 1 && v[1].expires_at == 0);
    assert_true(v[3].t0 == 299 && v[3].t1 == 301);
    free(v);
    /* none in the span, or no such GPU: an empty answer */
    assert_int_equal(al_store_hold_gpu_firm(s, "gpu_n1-0", 500, 600, &v, &n, NULL), 0);
    assert_true(n == 0 && v == NULL);
    assert_int_equal(al_store_hold_gpu_firm(s, "gpu_none", 0, 1000, &v, &n, NULL), 0);
    assert_true(n == 0 && v == NULL);
    assert_int_equal(al_store_hold_gpu_firm(s, "gpu_n1-1", 0, 1000, &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].owner, "rsv_e");
    free(v);
    al_store_close(s);
}

static void test_node_tokens(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = NULL;
    uint8_t h1[AL_STORE_HASH_LEN] = {1}, h2[AL_STORE_HASH_LEN] = {2}, h3[AL_STORE_HASH_LEN] = {3};
    json_t *got = NULL;
    /* a database of schema 5 gains the table at the next open (SQLite's: PostgreSQL's schema
     * starts at 11) */
    if (!store_fixture_pg()) {
        assert_int_equal(al_store_open_at(f->db, 5, &s, NULL), 0);
        assert_int_not_equal(al_store_node_token_set(s, "n1", "ntk_1", h1, 10, NULL), 0);
        al_store_close(s);
    }
    assert_int_equal(al_store_open(f->db, &s, NULL), 0);
    assert_int_equal(al_store_schema_version(s), AL_STORE_SCHEMA_VER);
    /* the node need not exist */
    assert_int_equal(al_store_node_token_set(s, "n1", "ntk_1", h1, 10, NULL), 0);
    assert_int_equal(al_store_node_token_by_hash(s, h1, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "id")), "ntk_1");
    assert_string_equal(json_string_value(json_object_get(got, "role")), "agent");
    assert_string_equal(json_string_value(json_object_get(got, "node")), "n1");
    assert_true(json_is_null(json_object_get(got, "org")));
    assert_int_equal(json_integer_value(json_object_get(got, "created_at")), 10);
    json_decref(got);
    /* a node token is no user's */
    assert_int_equal(al_store_user_by_token(s, h1, &got, NULL), AL_E_NOTFOUND);
    /* issuing again replaces: the old hash is unknown from then on */
    assert_int_equal(al_store_node_token_set(s, "n1", "ntk_2", h2, 20, NULL), 0);
    assert_int_equal(al_store_node_token_by_hash(s, h1, &got, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_node_token_by_hash(s, h2, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "id")), "ntk_2");
    json_decref(got);
    /* a hash or an id is one node's only */
    assert_int_equal(al_store_node_token_set(s, "n2", "ntk_3", h2, 30, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_node_token_set(s, "n2", "ntk_2", h3, 30, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_node_token_set(s, "n2", "ntk_3", h3, 30, NULL), 0);
    /* revoking: n1's only; a second time finds none */
    assert_int_equal(al_store_node_token_delete(s, "n1", NULL), 1);
    assert_int_equal(al_store_node_token_delete(s, "n1", NULL), 0);
    assert_int_equal(al_store_node_token_by_hash(s, h2, &got, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_node_token_by_hash(s, h3, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "node")), "n2");
    json_decref(got);
    al_store_close(s);
}

/* Node n1 with one H100 "GPU-0", whose report entry carries `observed` (NULL: none). */
static void put_observed(struct al_store *s, const char *observed, int64_t now)
{
    json_t *n =
        json_pack("{s:s,s:{},s:[{s:i,s:s,s:s,s:s,s:b}]}", "name", "n1", "labels", "gpus", "index",
                  0, "uuid", "GPU-0", "model", "H100-80GB", "pool", "dedicated", "healthy", 1);
    if (observed)
        json_object_set_new(json_array_get(json_object_get(n, "gpus"), 0), "observed",
                            json_loads(observed, 0, NULL));
    assert_int_equal(al_store_node_upsert(s, n, now, NULL), 0);
    json_decref(n);
}

/* GPU 0 of node n1 as al_store_node_get (all: al_store_gpu_all) returns it, member `key` as
 * compact JSON text ("null" when JSON null, "(absent)" when missing); the caller frees it. */
static char *gpu_member(struct al_store *s, bool all, const char *key)
{
    json_t *n = NULL, *g;
    if (all) {
        assert_int_equal(al_store_gpu_all(s, &n, NULL), 0);
        g = json_array_get(n, 0);
    } else {
        assert_int_equal(al_store_node_get(s, "n1", &n, NULL), 0);
        g = json_array_get(json_object_get(n, "gpus"), 0);
    }
    json_t *v = json_object_get(g, key);
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("(absent)");
    json_decref(n);
    return text;
}

static void expect_member(struct al_store *s, const char *key, const char *want)
{
    for (int all = 0; all < 2; all++) {
        char *got = gpu_member(s, all, key);
        assert_string_equal(got, want);
        free(got);
    }
}

/* How many GPUs al_store_gpu_managed lists. */
static size_t managed_count(struct al_store *s)
{
    json_t *v = NULL;
    assert_int_equal(al_store_gpu_managed(s, &v, NULL), 0);
    size_t n = json_array_size(v);
    json_decref(v);
    return n;
}

static void test_gpu_mig_state(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    const char *obs = "{\"mig\":{\"capable\":true,\"current\":true,\"pending\":true},\"instances\":"
                      "[{\"profile\":\"7g.80gb\",\"profile_id\":0,\"start\":0,\"size\":8,\"gi\":0,"
                      "\"ci\":0,\"uuid\":\"MIG-1\"}],\"processes\":[],\"processes_total\":0,"
                      "\"catalog_differences\":[]}";
    /* reported without MIG state: none, and no desired layout */
    put_observed(s, NULL, 100);
    expect_member(s, "observed", "null");
    expect_member(s, "observed_at", "null");
    expect_member(s, "desired", "null");
    assert_int_equal(managed_count(s), 0);
    /* with one: kept as reported, seen at the report's time; each heartbeat moves the time */
    put_observed(s, obs, 200);
    expect_member(s, "observed", obs);
    expect_member(s, "observed_at", "200");
    put_observed(s, obs, 260);
    expect_member(s, "observed_at", "260");
    assert_int_equal(managed_count(s), 1); /* managed while its agent reports MIG state */
    /* a report without it clears it */
    put_observed(s, NULL, 300);
    expect_member(s, "observed", "null");
    expect_member(s, "observed_at", "null");
    assert_int_equal(managed_count(s), 0);
    /* the desired layout: set, kept across reports, cleared with NULL (or JSON null) */
    json_t *want = json_loads("{\"mig\":true,\"instances\":[{\"profile\":\"7g.80gb\","
                              "\"profile_id\":0,\"start\":0}]}",
                              0, NULL);
    assert_int_equal(al_store_gpu_desired_set(s, "gpu_n1-0", want, NULL), 0);
    put_observed(s, obs, 400);
    expect_member(s, "desired",
                  "{\"mig\":true,\"instances\":[{\"profile\":\"7g.80gb\","
                  "\"profile_id\":0,\"start\":0}]}");
    expect_member(s, "observed_at", "400");
    assert_int_equal(al_store_gpu_desired_set(s, "gpu_n1-0", NULL, NULL), 0);
    expect_member(s, "desired", "null");
    assert_int_equal(al_store_gpu_desired_set(s, "gpu_n1-0", want, NULL), 0);
    json_t *null = json_null();
    assert_int_equal(al_store_gpu_desired_set(s, "gpu_n1-0", null, NULL), 0);
    expect_member(s, "desired", "null");
    struct al_err e = {0};
    assert_int_equal(al_store_gpu_desired_set(s, "gpu_nope", want, &e), AL_E_NOTFOUND);
    assert_non_null(strstr(e.msg, "gpu_nope"));
    json_decref(want);
}

/* request `id`'s state as al_store_request_get reads it */
static void expect_request_state(struct al_store *s, const char *id, const char *want)
{
    json_t *got = NULL;
    assert_int_equal(al_store_request_get(s, id, &got, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(got, "state")), want);
    json_object_set_new(got, "state", json_string("mutated")); /* the caller's own copy */
    json_decref(got);
}

static void put_request(struct al_store *s, const char *state, bool insert, int rc)
{
    json_t *doc = json_pack("{s:s,s:s}", "id", "req_1", "state", state);
    struct al_store_doc_meta m = {"req_1", "org_a", state, 100, 100};
    assert_int_equal(al_store_request_put(s, &m, doc, insert, NULL), rc);
    json_object_set_new(doc, "state", json_string("changed after the put"));
    json_decref(doc);
}

static void test_request_cache(void **state)
{
    struct store_fixture *f = *state;
    add_org(f->s, "org_a", "acme", NULL);
    put_request(f->s, "submitted", true, 0);
    expect_request_state(f->s, "req_1", "submitted");
    expect_request_state(f->s, "req_1", "submitted");
    /* a unit undone: the state read again is the database's */
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    put_request(f->s, "quoted", false, 0);
    expect_request_state(f->s, "req_1", "quoted");
    al_store_rollback_to(f->s);
    expect_request_state(f->s, "req_1", "submitted");
    /* a whole transaction undone */
    assert_int_equal(al_store_savepoint(f->s, NULL), 0);
    put_request(f->s, "approved", false, 0);
    assert_int_equal(al_store_release(f->s, NULL), 0);
    expect_request_state(f->s, "req_1", "approved");
    al_store_rollback(f->s);
    expect_request_state(f->s, "req_1", "submitted");
    /* a failed insert (the id is taken) changes nothing */
    put_request(f->s, "accepted", true, AL_E_CONFLICT);
    expect_request_state(f->s, "req_1", "submitted");
    put_request(f->s, "accepted", false, 0);
    expect_request_state(f->s, "req_1", "accepted");
}

/* The keys of object `o` are `keys` (NULL-terminated), in that order. */
static void expect_keys(json_t *o, const char *const *keys)
{
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        assert_non_null(keys[i]);
        assert_string_equal(k, keys[i++]);
    }
    assert_null(keys[i]);
}

/* A request's row holds its quote by id; reads (one, a list) give the quote document back. */
static void test_request_quote_by_id(void **state)
{
    struct store_fixture *f = *state;
    json_t *req = json_pack("{s:s,s:s,s:n,s:s}", "id", "req_1", "state", "submitted", "quote",
                            "after", "kept in place");
    json_t *quote =
        json_pack("{s:s,s:I,s:[{s:s,s:i}]}", "id", "qte_1", "total_micros", (json_int_t)123456789,
                  "allocations", "gpu", "n1-0", "start_unit", -1);
    json_t *got = NULL;
    struct al_store_doc_meta m = {"req_1", "org_a", "submitted", 100, 100};
    struct al_store_doc_meta qm = {"qte_1", "req_1", NULL, 500, 0};
    add_org(f->s, "org_a", "acme", NULL);
    assert_int_equal(al_store_request_put(f->s, &m, req, true, NULL), 0);
    assert_int_equal(al_store_quote_insert(f->s, &qm, quote, NULL), 0);
    json_object_set(req, "quote", quote);
    m.state = "quoted";
    assert_int_equal(al_store_request_put(f->s, &m, req, false, NULL), 0);
    assert_ptr_equal(json_object_get(req, "quote"), quote); /* the caller's doc as it was */
    char quote_id[16]; /* the row itself holds the quote's id */
    store_fixture_text(f,
                       store_fixture_pg() ? "SELECT doc::jsonb ->> 'quote' FROM requests"
                                          : "SELECT json_extract(doc, '$.quote') FROM requests",
                       quote_id, sizeof quote_id);
    assert_string_equal(quote_id, "qte_1");
    al_store_rollback(f->s); /* no transaction: only empties the cache, so the row is read */
    assert_int_equal(al_store_request_get(f->s, "req_1", &got, NULL), 0);
    assert_true(json_equal(got, req));
    expect_keys(got, (const char *[]){"id", "state", "quote", "after", NULL}); /* in place */
    json_decref(got);
    for (int desc = 0; desc <= 1; desc++) { /* either order: the one request, its quote in */
        struct al_store_request_filter rf = {"org_a", NULL, desc};
        assert_int_equal(
            al_store_request_list(f->s, &rf, (struct al_store_page){0}, &got, NULL, NULL), 0);
        assert_int_equal(json_array_size(got), 1);
        assert_true(json_equal(json_array_get(got, 0), req));
        json_decref(got);
    }
    json_decref(quote);
    json_decref(req);
}

/* A quote read names its request (replacing a "request" the document has, in place); a request
 * whose quote row is gone reads with a null quote; the clock's id lists are [{id}]. */
static void test_quote_request_and_ids(void **state)
{
    struct store_fixture *f = *state;
    json_t *req = json_pack("{s:s,s:{s:s}}", "id", "req_1", "quote", "id", "qte_gone");
    json_t *q1 = json_pack("{s:s,s:i}", "id", "qte_1", "total_micros", 5);
    json_t *q2 = json_pack("{s:s,s:s,s:i}", "id", "qte_2", "request", "stale", "n", 1);
    json_t *got = NULL;
    struct al_store_doc_meta m = {"req_1", "org_a", "quoted", 100, 100};
    add_org(f->s, "org_a", "acme", NULL);
    assert_int_equal(al_store_request_put(f->s, &m, req, true, NULL), 0);
    assert_int_equal(
        al_store_quote_insert(f->s, &(struct al_store_doc_meta){"qte_1", "req_1", NULL, 500, 0}, q1,
                              NULL),
        0);
    assert_int_equal(
        al_store_quote_insert(f->s, &(struct al_store_doc_meta){"qte_2", "req_1", NULL, 400, 0}, q2,
                              NULL),
        0);
    assert_int_equal(al_store_quote_get(f->s, "qte_1", &got, NULL), 0);
    expect_keys(got, (const char *[]){"id", "total_micros", "request", NULL});
    assert_string_equal(json_string_value(json_object_get(got, "request")), "req_1");
    json_decref(got);
    assert_int_equal(al_store_quote_get(f->s, "qte_2", &got, NULL), 0);
    expect_keys(got, (const char *[]){"id", "request", "n", NULL});
    assert_string_equal(json_string_value(json_object_get(got, "request")), "req_1");
    json_decref(got);
    assert_int_equal(al_store_quote_get(f->s, "qte_none", &got, NULL), AL_E_NOTFOUND);
    /* the request names a quote no row holds */
    assert_int_equal(al_store_request_get(f->s, "req_1", &got, NULL), 0);
    assert_true(json_is_null(json_object_get(got, "quote")));
    json_decref(got);
    /* its quotes' last validity passed at 500: due to expire then, by id only */
    assert_int_equal(al_store_quote_expired(f->s, 499, &got, NULL), 0);
    assert_int_equal(json_array_size(got), 0);
    json_decref(got);
    assert_int_equal(al_store_quote_expired(f->s, 500, &got, NULL), 0);
    json_t *want = json_pack("[{s:s}]", "id", "req_1");
    assert_true(json_equal(got, want));
    json_decref(want);
    json_decref(got);
    json_decref(q1);
    json_decref(q2);
    json_decref(req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migration_scrubs_clear_tokens, store_setup_dir,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_org_lookup_order, store_setup_dir, store_teardown),
        cmocka_unit_test_setup_teardown(test_hold_first_conflict, store_setup_dir, store_teardown),
        cmocka_unit_test_setup_teardown(test_hold_gpu_firm, store_setup_dir, store_teardown),
        cmocka_unit_test_setup_teardown(test_node_tokens, store_setup_dir, store_teardown),
        cmocka_unit_test_setup_teardown(test_gpu_mig_state, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_request_cache, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_request_quote_by_id, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_quote_request_and_ids, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
