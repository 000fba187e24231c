/* test_store_migchange.c — unit tests of the store's change windows and MIG changes (migration
 * 7): the window that applies to a node (node, then zone, then default), one open change per
 * GPU, an ended change kept as it ended, the list's filters (an org through its links and its
 * acknowledgements) and pages, and an org's acknowledgement replaced by its next one. */
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

/* The scope of the window that applies to node/zone, or NULL when none does. */
static char *window_scope(struct al_store *s, const char *node, const char *zone)
{
    json_t *w = NULL;
    int rc = al_store_window_for(s, node, zone, &w, NULL);
    if (rc == AL_E_NOTFOUND)
        return NULL;
    assert_int_equal(rc, 0);
    char *scope = strdup(jstr(w, "scope"));
    json_decref(w);
    return scope;
}

static void assert_scope(struct al_store *s, const char *node, const char *zone, const char *want)
{
    char *got = window_scope(s, node, zone);
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
    free(got);
}

static void test_windows(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *l = NULL, *w = NULL;
    assert_scope(s, "n1", "z1", NULL);
    assert_int_equal(
        al_store_window_put(s, "default", "daily 02:00-04:00", false, 10, "usr_a", NULL), 0);
    assert_scope(s, "n1", "z1", "default");
    assert_scope(s, "n1", NULL, "default");
    assert_int_equal(
        al_store_window_put(s, "zone:z1", "weekends 00:00-06:00", true, 11, "usr_a", NULL), 0);
    assert_scope(s, "n1", "z1", "zone:z1");
    assert_scope(s, "n1", "z2", "default");
    assert_scope(s, "n1", NULL, "default");
    assert_int_equal(al_store_window_put(s, "node:n1", "mon 01:00-02:00", false, 12, "usr_b", NULL),
                     0);
    assert_scope(s, "n1", "z1", "node:n1");
    assert_scope(s, "n2", "z1", "zone:z1");
    /* a put replaces the scope's window */
    assert_int_equal(
        al_store_window_put(s, "zone:z1", "daily 03:00-04:00", false, 13, "usr_c", NULL), 0);
    assert_int_equal(al_store_window_for(s, "n2", "z1", &w, NULL), 0);
    assert_string_equal(jstr(w, "windows"), "daily 03:00-04:00");
    assert_false(json_is_true(json_object_get(w, "auto_apply")));
    assert_int_equal(json_integer_value(json_object_get(w, "updated_at")), 13);
    assert_string_equal(jstr(w, "updated_by"), "usr_c");
    assert_null(json_object_get(w, "_key"));
    json_decref(w);
    assert_int_equal(al_store_window_list(s, &l, NULL), 0);
    assert_int_equal(json_array_size(l), 3);
    assert_string_equal(jstr(json_array_get(l, 0), "scope"), "default");
    assert_string_equal(jstr(json_array_get(l, 1), "scope"), "node:n1");
    assert_string_equal(jstr(json_array_get(l, 2), "scope"), "zone:z1");
    assert_null(json_object_get(json_array_get(l, 0), "_key"));
    json_decref(l);
    /* delete answers whether there was one; the next rung applies then */
    assert_int_equal(al_store_window_delete(s, "node:n1", NULL), 1);
    assert_int_equal(al_store_window_delete(s, "node:n1", NULL), 0);
    assert_scope(s, "n1", "z1", "zone:z1");
    /* the schema refuses a scope of no known form */
    assert_int_equal(al_store_window_put(s, "rack:r1", "daily 02:00-04:00", false, 1, "u", NULL),
                     AL_E_CONFLICT);
}

/* Insert change `id` on gpu in `state`, created at `at`, with links. */
static int put_change(struct al_store *s, const char *id, const char *gpu, const char *node,
                      const char *state, int64_t at, const struct al_store_migchange_link *links,
                      size_t nlinks)
{
    struct al_store_migchange m = {id, gpu, node, state, at + 100, at + 200, at};
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s}", "id", id, "gpu", gpu, "node", node, "state", state);
    int rc = al_store_migchange_put(s, &m, doc, links, nlinks, true, NULL);
    json_decref(doc);
    return rc;
}

/* Move change `id` to `state` (its document too). */
static int set_state(struct al_store *s, const char *id, const char *gpu, const char *state,
                     int64_t at)
{
    struct al_store_migchange m = {id, gpu, "n1", state, 1, 2, at};
    json_t *doc = json_pack("{s:s,s:s,s:s}", "id", id, "gpu", gpu, "state", state);
    struct al_err e = {0};
    int rc = al_store_migchange_put(s, &m, doc, NULL, 0, false, &e);
    json_decref(doc);
    return rc;
}

static void test_one_open_per_gpu(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *d = NULL;
    assert_int_equal(put_change(s, "mch_1", "gpu_a", "n1", "planned", 100, NULL, 0), 0);
    /* a second open change of the GPU, whatever its open state */
    assert_int_equal(put_change(s, "mch_2", "gpu_a", "n1", "planned", 101, NULL, 0), AL_E_CONFLICT);
    assert_int_equal(put_change(s, "mch_2", "gpu_a", "n1", "applying", 101, NULL, 0),
                     AL_E_CONFLICT);
    /* another GPU, or an ended change of this one, is fine; the same id twice is not */
    assert_int_equal(put_change(s, "mch_3", "gpu_b", "n1", "approved", 102, NULL, 0), 0);
    assert_int_equal(put_change(s, "mch_4", "gpu_a", "n1", "superseded", 103, NULL, 0), 0);
    assert_int_equal(put_change(s, "mch_1", "gpu_c", "n1", "planned", 104, NULL, 0), AL_E_CONFLICT);
    assert_int_equal(al_store_migchange_open(s, "gpu_a", &d, NULL), 0);
    assert_string_equal(jstr(d, "id"), "mch_1");
    json_decref(d);
    /* once it ended, the GPU may have a new open change */
    assert_int_equal(set_state(s, "mch_1", "gpu_a", "approved", 110), 0);
    assert_int_equal(set_state(s, "mch_1", "gpu_a", "applying", 111), 0);
    assert_int_equal(al_store_migchange_open(s, "gpu_a", &d, NULL), 0);
    assert_string_equal(jstr(d, "state"), "applying");
    json_decref(d);
    assert_int_equal(set_state(s, "mch_1", "gpu_a", "applied", 112), 0);
    assert_int_equal(al_store_migchange_open(s, "gpu_a", &d, NULL), AL_E_NOTFOUND);
    assert_int_equal(put_change(s, "mch_5", "gpu_a", "n1", "planned", 120, NULL, 0), 0);
    assert_int_equal(al_store_migchange_all_open(s, &d, NULL), 0);
    assert_int_equal(json_array_size(d), 2);
    assert_string_equal(jstr(json_array_get(d, 0), "id"), "mch_3");
    assert_string_equal(jstr(json_array_get(d, 1), "id"), "mch_5");
    json_decref(d);
    /* bad input and a change that is not there */
    assert_int_equal(put_change(s, "mch_6", "gpu_d", "n1", "done", 130, NULL, 0), AL_E_INVAL);
    assert_int_equal(set_state(s, "mch_none", "gpu_a", "approved", 131), AL_E_NOTFOUND);
    assert_int_equal(al_store_migchange_get(s, "mch_none", &d, NULL), AL_E_NOTFOUND);
}

static void test_ended_frozen(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *d = NULL;
    const char *ended[] = {"applied", "failed", "superseded"};
    for (int i = 0; i < 3; i++) {
        char id[16], gpu[16];
        snprintf(id, sizeof id, "mch_%d", i);
        snprintf(gpu, sizeof gpu, "gpu_%d", i);
        assert_int_equal(put_change(s, id, gpu, "n1", "planned", 100, NULL, 0), 0);
        assert_int_equal(set_state(s, id, gpu, ended[i], 101), 0);
        assert_int_equal(set_state(s, id, gpu, "planned", 102), AL_E_STATE);
        assert_int_equal(set_state(s, id, gpu, ended[i], 103), AL_E_STATE);
        assert_int_equal(al_store_migchange_get(s, id, &d, NULL), 0);
        assert_string_equal(jstr(d, "state"), ended[i]);
        json_decref(d);
    }
}

/* The ids of a list, joined by ',' into buf. */
static const char *ids(json_t *arr, char *buf, size_t len)
{
    size_t i, off = 0;
    json_t *o;
    buf[0] = '\0';
    json_array_foreach(arr, i, o)
    {
        int n = snprintf(buf + off, len - off, "%s%s", i ? "," : "", jstr(o, "id"));
        assert_true(n > 0 && (size_t)n < len - off);
        off += (size_t)n;
    }
    return buf;
}

static const char *list(struct al_store *s, const char *st, const char *node, const char *gpu,
                        const char *org, char *buf, size_t len)
{
    struct al_store_migchange_filter flt = {st, node, gpu, org};
    json_t *l = NULL;
    assert_int_equal(
        al_store_migchange_list(s, &flt, (struct al_store_page){NULL, 0}, &l, NULL, NULL), 0);
    ids(l, buf, len);
    json_decref(l);
    return buf;
}

static void test_list_filters_and_acks(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    json_t *l = NULL;
    char buf[256];
    store_add_org(s, "org_a");
    store_add_org(s, "org_b");
    store_add_org(s, "org_c");
    struct al_store_migchange_link l1[] = {{"rsv_1", "org_a", "serves"},
                                           {"rsv_2", "org_b", "holds"}};
    struct al_store_migchange_link l2[] = {{"rsv_3", "org_b", "serves"}};
    assert_int_equal(put_change(s, "mch_1", "gpu_a", "n1", "planned", 100, l1, 2), 0);
    assert_int_equal(put_change(s, "mch_2", "gpu_b", "n2", "planned", 200, l2, 1), 0);
    assert_int_equal(put_change(s, "mch_3", "gpu_a", "n1", "failed", 300, NULL, 0), 0);
    /* newest first */
    assert_string_equal(list(s, NULL, NULL, NULL, NULL, buf, sizeof buf), "mch_3,mch_2,mch_1");
    assert_string_equal(list(s, "planned", NULL, NULL, NULL, buf, sizeof buf), "mch_2,mch_1");
    assert_string_equal(list(s, NULL, "n1", NULL, NULL, buf, sizeof buf), "mch_3,mch_1");
    assert_string_equal(list(s, NULL, NULL, "gpu_b", NULL, buf, sizeof buf), "mch_2");
    assert_string_equal(list(s, NULL, NULL, NULL, "org_a", buf, sizeof buf), "mch_1");
    assert_string_equal(list(s, NULL, NULL, NULL, "org_b", buf, sizeof buf), "mch_2,mch_1");
    assert_string_equal(list(s, NULL, NULL, NULL, "org_c", buf, sizeof buf), "");
    assert_string_equal(list(s, "failed", "n2", NULL, NULL, buf, sizeof buf), "");
    /* links, and a bad or repeated one undoes the whole insert */
    assert_int_equal(al_store_migchange_links(s, "mch_1", &l, NULL), 0);
    assert_int_equal(json_array_size(l), 2);
    assert_string_equal(jstr(json_array_get(l, 1), "role"), "holds");
    assert_string_equal(jstr(json_array_get(l, 1), "org"), "org_b");
    json_decref(l);
    struct al_store_migchange_link bad[] = {{"rsv_9", "org_a", "serves"},
                                            {"rsv_9", "org_a", "holds"}};
    assert_int_equal(put_change(s, "mch_4", "gpu_c", "n3", "planned", 400, bad, 2), AL_E_CONFLICT);
    struct al_store_migchange_link role[] = {{"rsv_8", "org_a", "owns"}};
    assert_int_equal(put_change(s, "mch_4", "gpu_c", "n3", "planned", 400, role, 1), AL_E_INVAL);
    assert_int_equal(al_store_migchange_get(s, "mch_4", &l, NULL), AL_E_NOTFOUND);
    assert_int_equal(put_change(s, "mch_4", "gpu_c", "n3", "planned", 400, NULL, 0), 0);
    /* by reservation, newest first */
    assert_int_equal(al_store_migchange_by_rsv(s, "rsv_2", &l, NULL), 0);
    assert_string_equal(ids(l, buf, sizeof buf), "mch_1");
    json_decref(l);
    /* an org that acknowledged a change sees it */
    assert_int_equal(
        al_store_migchange_ack_put(s, "mch_3", "org_c", "usr_c", 500, true, false, NULL), 0);
    assert_string_equal(list(s, NULL, NULL, NULL, "org_c", buf, sizeof buf), "mch_3");
    /* the next acknowledgement of an org replaces its earlier one */
    assert_int_equal(
        al_store_migchange_ack_put(s, "mch_3", "org_c", "usr_d", 600, true, true, NULL), 0);
    assert_int_equal(
        al_store_migchange_ack_put(s, "mch_3", "org_a", "usr_a", 610, false, true, NULL), 0);
    assert_int_equal(al_store_migchange_acks(s, "mch_3", &l, NULL), 0);
    assert_int_equal(json_array_size(l), 2);
    json_t *a = json_array_get(l, 1);
    assert_string_equal(jstr(a, "org"), "org_c");
    assert_string_equal(jstr(a, "by"), "usr_d");
    assert_int_equal(json_integer_value(json_object_get(a, "at")), 600);
    assert_true(json_is_true(json_object_get(a, "job_shutdown")));
    assert_true(json_is_true(json_object_get(a, "data_backup")));
    assert_false(json_is_true(json_object_get(json_array_get(l, 0), "job_shutdown")));
    json_decref(l);
    /* an ack of a change or by an org that is not there */
    assert_int_equal(al_store_migchange_ack_put(s, "mch_9", "org_a", "u", 1, true, true, NULL),
                     AL_E_NOTFOUND);
    assert_int_equal(al_store_migchange_ack_put(s, "mch_3", "org_z", "u", 1, true, true, NULL),
                     AL_E_NOTFOUND);
}

static void test_list_pages(void **state)
{
    struct store_fixture *f = *state;
    struct al_store *s = f->s;
    struct al_store_migchange_filter all = {0};
    char *next = NULL, buf[256];
    json_t *l = NULL;
    /* two created in the same second: the id orders them */
    assert_int_equal(put_change(s, "mch_a", "gpu_1", "n1", "applied", 100, NULL, 0), 0);
    assert_int_equal(put_change(s, "mch_b", "gpu_2", "n1", "applied", 100, NULL, 0), 0);
    assert_int_equal(put_change(s, "mch_c", "gpu_3", "n1", "applied", 99, NULL, 0), 0);
    assert_int_equal(put_change(s, "mch_d", "gpu_4", "n1", "applied", 1000, NULL, 0), 0);
    assert_int_equal(
        al_store_migchange_list(s, &all, (struct al_store_page){NULL, 2}, &l, &next, NULL), 0);
    assert_string_equal(ids(l, buf, sizeof buf), "mch_d,mch_b");
    assert_non_null(next);
    json_decref(l);
    char *cur = next;
    assert_int_equal(
        al_store_migchange_list(s, &all, (struct al_store_page){cur, 2}, &l, &next, NULL), 0);
    free(cur);
    assert_string_equal(ids(l, buf, sizeof buf), "mch_a,mch_c");
    assert_null(next);
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_windows, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_one_open_per_gpu, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_ended_frozen, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_acks, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
