/* test_store_container.c — unit tests of the store's containers, node runtimes and unit
 * assignments (migration 9): a container put and read back, live until it ends and frozen
 * after, the list's filters and pages, the live read by node, the logs' tail kept as bytes,
 * a node's runtime replaced by its next report, and a unit assigned, reassigned and freed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Put container `id` of org_a on node n1 (pool when rsv is NULL) in `state`. */
static int put(struct al_store *s, const char *id, const char *rsv, const char *state, int64_t at,
               bool insert)
{
    struct al_store_container m = {.id = id,
                                   .org = "org_a",
                                   .user = "usr_a",
                                   .reservation = rsv,
                                   .unit = rsv ? 0 : -1,
                                   .node = "n1",
                                   .gpu = "gpu_n1-0",
                                   .state = state,
                                   .pool_session = rsv ? 0 : 7,
                                   .at = at};
    json_t *doc = json_pack("{s:s,s:s}", "id", id, "state", state);
    int rc = al_store_container_put(s, &m, doc, insert, NULL);
    json_decref(doc);
    return rc;
}

static size_t count(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

static void test_put_get_frozen(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *d = NULL;
    store_add_org(s, "org_a");
    assert_int_equal(put(s, "ctr_1", "rsv_1", "pending", 10, true), 0);
    assert_int_equal(put(s, "ctr_1", "rsv_1", "pending", 10, true), AL_E_CONFLICT);
    assert_int_equal(put(s, "ctr_9", NULL, "running", 11, false), AL_E_NOTFOUND);
    assert_int_equal(put(s, "ctr_2", NULL, "asleep", 11, true), AL_E_INVAL);
    struct al_store_container bad = {.id = "ctr_3",
                                     .org = "org_a",
                                     .user = "u",
                                     .unit = 2,
                                     .node = "n1",
                                     .gpu = "g",
                                     .state = "pending"};
    json_t *doc = json_object();
    /* a unit without a reservation, and an unknown org */
    assert_int_equal(al_store_container_put(s, &bad, doc, true, NULL), AL_E_INVAL);
    bad.unit = -1;
    bad.org = "org_none";
    assert_int_equal(al_store_container_put(s, &bad, doc, true, NULL), AL_E_NOTFOUND);
    json_decref(doc);
    assert_int_equal(al_store_container_get(s, "ctr_1", &d, NULL), 0);
    assert_string_equal(jstr(d, "state"), "pending");
    json_decref(d);
    assert_int_equal(put(s, "ctr_1", "rsv_1", "running", 12, false), 0);
    assert_int_equal(put(s, "ctr_1", "rsv_1", "exited", 13, false), 0);
    /* ended: kept as it ended, its logs may still come */
    assert_int_equal(put(s, "ctr_1", "rsv_1", "running", 14, false), AL_E_STATE);
    assert_int_equal(al_store_container_logs_set(s, "ctr_1", "bye\n", 4, 15, NULL), 0);
    assert_int_equal(al_store_container_get(s, "ctr_1", &d, NULL), 0);
    assert_string_equal(jstr(d, "state"), "exited");
    json_decref(d);
    assert_int_equal(al_store_container_get(s, "ctr_x", &d, NULL), AL_E_NOTFOUND);
}

static void test_live_and_lists(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *l = NULL;
    char *next = NULL;
    store_add_org(s, "org_a");
    assert_int_equal(put(s, "ctr_1", "rsv_1", "running", 10, true), 0);
    assert_int_equal(put(s, "ctr_2", NULL, "pending", 11, true), 0);
    assert_int_equal(put(s, "ctr_3", "rsv_1", "failed", 12, true), 0);
    assert_int_equal(al_store_container_live(s, NULL, &l, NULL), 0);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(jstr(json_array_get(l, 0), "id"), "ctr_1");
    json_decref(l);
    assert_int_equal(al_store_container_live(s, "n2", &l, NULL), 0);
    assert_int_equal(count(l), 0);
    struct al_store_container_filter fl = {.reservation = "rsv_1"};
    assert_int_equal(al_store_container_list(s, &fl, (struct al_store_page){0}, &l, NULL, NULL), 0);
    assert_string_equal(jstr(json_array_get(l, 0), "id"), "ctr_3"); /* newest first */
    assert_int_equal(count(l), 2);
    fl = (struct al_store_container_filter){.org = "org_a", .live = true};
    assert_int_equal(al_store_container_list(s, &fl, (struct al_store_page){0}, &l, NULL, NULL), 0);
    assert_int_equal(count(l), 2);
    fl = (struct al_store_container_filter){.state = "failed"};
    assert_int_equal(al_store_container_list(s, &fl, (struct al_store_page){0}, &l, NULL, NULL), 0);
    assert_int_equal(count(l), 1);
    /* pages of one: three pages, newest first, the cursor carried */
    fl = (struct al_store_container_filter){0};
    struct al_store_page pg = {.limit = 1};
    assert_int_equal(al_store_container_list(s, &fl, pg, &l, &next, NULL), 0);
    assert_string_equal(jstr(json_array_get(l, 0), "id"), "ctr_3");
    json_decref(l);
    assert_non_null(next);
    pg.cursor = next;
    assert_int_equal(al_store_container_list(s, &fl, pg, &l, &next, NULL), 0);
    assert_string_equal(jstr(json_array_get(l, 0), "id"), "ctr_2");
    json_decref(l);
    free((char *)pg.cursor);
    free(next);
}

static void test_logs(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    char *logs = NULL;
    size_t n = 1;
    int64_t at = 1;
    store_add_org(s, "org_a");
    assert_int_equal(put(s, "ctr_1", NULL, "running", 10, true), 0);
    assert_int_equal(al_store_container_logs_get(s, "ctr_1", &logs, &n, &at, NULL), 0);
    assert_true(n == 0 && at == 0 && logs[0] == '\0');
    free(logs);
    assert_int_equal(al_store_container_logs_set(s, "ctr_1", "a\0b", 3, 20, NULL), 0);
    assert_int_equal(al_store_container_logs_get(s, "ctr_1", &logs, &n, &at, NULL), 0);
    assert_true(n == 3 && at == 20 && memcmp(logs, "a\0b", 4) == 0);
    free(logs);
    char *big = calloc(AL_STORE_LOGS_MAX + 1, 1);
    assert_non_null(big);
    assert_int_equal(al_store_container_logs_set(s, "ctr_1", big, AL_STORE_LOGS_MAX + 1, 21, NULL),
                     AL_E_INVAL);
    assert_int_equal(al_store_container_logs_set(s, "ctr_1", big, AL_STORE_LOGS_MAX, 21, NULL), 0);
    free(big);
    assert_int_equal(al_store_container_logs_set(s, "ctr_x", "a", 1, 20, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_container_logs_get(s, "ctr_x", &logs, &n, &at, NULL), AL_E_NOTFOUND);
}

static void test_runtime(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *r = NULL;
    assert_int_equal(al_store_node_runtime_get(s, "n1", &r, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_node_runtime_put(s, "n1", "docker-api", false, "gone", 10, NULL), 0);
    assert_int_equal(al_store_node_runtime_get(s, "n1", &r, NULL), 0);
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_string_equal(jstr(r, "error"), "gone");
    json_decref(r);
    assert_int_equal(al_store_node_runtime_put(s, "n1", "process", true, "ignored", 11, NULL), 0);
    assert_int_equal(al_store_node_runtime_get(s, "n1", &r, NULL), 0);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_is_null(json_object_get(r, "error")));
    assert_string_equal(jstr(r, "kind"), "process");
    assert_int_equal(json_integer_value(json_object_get(r, "at")), 11);
    json_decref(r);
}

static void add_user(struct al_store *s, const char *id, uint8_t fill)
{
    uint8_t h[AL_STORE_HASH_LEN];
    memset(h, fill, sizeof h);
    json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:i}", "id", id, "name", id, "role", "member", "org",
                          "org_a", "created_at", 5);
    assert_int_equal(al_store_user_insert(s, u, h, NULL), 0);
    json_decref(u);
}

static void test_assignments(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *l = NULL;
    store_add_org(s, "org_a");
    add_user(s, "usr_m1", 1);
    add_user(s, "usr_m2", 2);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 1, "usr_m1", 10, "usr_adm", NULL), 0);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 0, "usr_m2", 11, "usr_adm", NULL), 0);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 1, "usr_m2", 12, "usr_adm", NULL), 0);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 2, "usr_none", 12, "usr_adm", NULL),
                     AL_E_NOTFOUND);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", -1, "usr_m1", 12, "usr_adm", NULL),
                     AL_E_INVAL);
    assert_int_equal(al_store_assignment_list(s, "rsv_1", &l, NULL), 0);
    assert_int_equal(json_array_size(l), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 0), "unit")), 0);
    assert_string_equal(jstr(json_array_get(l, 1), "user"), "usr_m2"); /* reassigned */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(l, 1), "at")), 12);
    json_decref(l);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 1, NULL, 13, NULL, NULL), 1);
    assert_int_equal(al_store_assignment_put(s, "rsv_1", 1, NULL, 13, NULL, NULL), 0);
    assert_int_equal(al_store_assignment_list(s, "rsv_1", &l, NULL), 0);
    assert_int_equal(count(l), 1);
    assert_int_equal(al_store_assignment_list(s, "rsv_2", &l, NULL), 0);
    assert_int_equal(count(l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_frozen, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_live_and_lists, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_logs, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_runtime, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_assignments, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
