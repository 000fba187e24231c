/* test_store_webhook.c — unit tests of the store's webhooks (migration 11): a hook inserted and
 * read back with its sealed secret, listed by org, not found once removed; the cursor and the
 * backlog (nothing to fan out without an active hook; the first hook starts after the events
 * before it); deliveries due in order, each attempt logged, the log paged; ending a hook fails
 * its deliveries not yet done, and an attempt that did not deliver leaves them failed; the
 * failure count and its start, cleared by a success. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"
#include "store/store_webhook.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void add_hook(struct al_store *s, const char *id, const char *org)
{
    struct al_store_webhook_new w = {id,        "usr_op", org,   "http://127.0.0.1:9/h",
                                     "[\"*\"]", NULL,     "BOX", 100};
    assert_int_equal(al_store_webhook_insert(s, &w, NULL), 0);
}

static void add_delivery(struct al_store *s, const char *id, const char *hook, int64_t at)
{
    struct al_store_delivery_new d = {id, hook, "org.created", 1, "{\"id\":\"evt_1\"}", at};
    assert_int_equal(al_store_delivery_insert(s, &d, NULL), 0);
}

static int64_t append(struct al_store *s)
{
    int64_t seq = al_store_event_append(s, 100, "usr_op", "org.created", "org_a", NULL, NULL);
    assert_true(seq > 0);
    return seq;
}

static void test_hooks(void **state)
{
    struct store_fixture *f = *state;
    json_t *h = NULL, *items = NULL;
    char *box = NULL, *next = NULL;
    store_add_org(f->s, "org_a");
    add_hook(f->s, "whk_1", NULL);
    add_hook(f->s, "whk_2", "org_a");
    assert_int_equal(al_store_webhook_get(f->s, "whk_2", &h, &box, NULL), 0);
    assert_string_equal(box, "BOX");
    assert_string_equal(jstr(h, "org"), "org_a");
    assert_true(json_is_true(json_object_get(h, "active")));
    assert_int_equal(json_integer_value(json_object_get(h, "failures")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(h, "events"), 0)), "*");
    assert_null(json_object_get(h, "secret_box"));
    json_decref(h);
    free(box);
    struct al_store_page pg = {NULL, 1};
    assert_int_equal(al_store_webhook_list(f->s, NULL, pg, &items, &next, NULL), 0);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(next, "whk_1");
    json_decref(items);
    pg.cursor = next;
    assert_int_equal(al_store_webhook_list(f->s, NULL, pg, &items, NULL, NULL), 0);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), "whk_2");
    json_decref(items);
    free(next);
    pg = (struct al_store_page){NULL, 0};
    assert_int_equal(al_store_webhook_list(f->s, "org_a", pg, &items, NULL, NULL), 0);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
    add_delivery(f->s, "whd_1", "whk_2", 10);
    assert_int_equal(al_store_delivery_due(f->s, 10, 10, &items, NULL), 0);
    assert_string_equal(jstr(json_array_get(items, 0), "org"), "org_a"); /* for its event */
    json_decref(items);
    assert_int_equal(al_store_webhook_end(f->s, "whk_2", true, 200, "webhook deleted", NULL), 0);
    assert_int_equal(al_store_webhook_get(f->s, "whk_2", &h, NULL, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_webhook_end(f->s, "whk_2", true, 200, "again", NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_webhook_list(f->s, NULL, pg, &items, NULL, NULL), 0);
    assert_int_equal(json_array_size(items), 1);
    json_decref(items);
}

static void test_cursor_backlog(void **state)
{
    struct store_fixture *f = *state;
    int64_t cur = -1;
    append(f->s);
    int64_t before = append(f->s);
    assert_int_equal(al_store_webhook_backlog(f->s, NULL), 0); /* no hook: no work */
    assert_int_equal(al_store_webhook_cursor(f->s, &cur, NULL), 0);
    assert_int_equal(cur, 0);
    add_hook(f->s, "whk_1", NULL);
    assert_int_equal(al_store_webhook_cursor(f->s, &cur, NULL), 0);
    assert_int_equal(cur, before); /* the events before the first hook are behind it */
    assert_int_equal(al_store_webhook_backlog(f->s, NULL), 0);
    int64_t after = append(f->s);
    assert_int_equal(al_store_webhook_backlog(f->s, NULL), 1);
    add_hook(f->s, "whk_2", NULL); /* not the first: the cursor stays for whk_1 */
    assert_int_equal(al_store_webhook_cursor(f->s, &cur, NULL), 0);
    assert_int_equal(cur, before);
    assert_int_equal(al_store_webhook_cursor_set(f->s, after, NULL), 0);
    assert_int_equal(al_store_webhook_backlog(f->s, NULL), 0);
}

static void test_deliveries(void **state)
{
    struct store_fixture *f = *state;
    json_t *due = NULL, *d = NULL, *items = NULL;
    char *next = NULL;
    add_hook(f->s, "whk_1", NULL);
    add_delivery(f->s, "whd_b", "whk_1", 20);
    add_delivery(f->s, "whd_a", "whk_1", 10);
    assert_int_equal(al_store_delivery_due(f->s, 15, 10, &due, NULL), 0);
    assert_int_equal(json_array_size(due), 1);
    assert_string_equal(jstr(json_array_get(due, 0), "id"), "whd_a");
    assert_string_equal(jstr(json_array_get(due, 0), "secret_box"), "BOX");
    assert_null(jstr(json_array_get(due, 0), "org")); /* an operator's hook */
    json_decref(due);
    struct al_store_attempt a = {"whd_a", "retrying", "refused", 1, -1, 15, 45, -1};
    assert_int_equal(al_store_delivery_attempted(f->s, &a, NULL), 0);
    assert_int_equal(al_store_delivery_due(f->s, 30, 10, &due, NULL), 0);
    assert_int_equal(json_array_size(due), 1); /* whd_a waits until 45 */
    assert_string_equal(jstr(json_array_get(due, 0), "id"), "whd_b");
    json_decref(due);
    a = (struct al_store_attempt){"whd_a", "delivered", NULL, 2, 204, 45, -1, 45};
    assert_int_equal(al_store_delivery_attempted(f->s, &a, NULL), 0);
    assert_int_equal(al_store_delivery_get(f->s, "whd_a", &d, NULL), 0);
    assert_string_equal(jstr(d, "status"), "delivered");
    assert_int_equal(json_integer_value(json_object_get(d, "http_status")), 204);
    assert_int_equal(json_integer_value(json_object_get(d, "delivered_at")), 45);
    assert_true(json_is_null(json_object_get(d, "next_at")));
    json_t *att = json_object_get(d, "attempts");
    assert_int_equal(json_array_size(att), 2);
    assert_string_equal(jstr(json_array_get(att, 0), "error"), "refused");
    assert_true(json_is_null(json_object_get(json_array_get(att, 0), "http_status")));
    assert_int_equal(json_integer_value(json_object_get(json_array_get(att, 1), "http_status")),
                     204);
    json_decref(d);
    struct al_store_page pg = {NULL, 1};
    assert_int_equal(al_store_delivery_list(f->s, "whk_1", NULL, pg, &items, &next, NULL), 0);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), "whd_b"); /* oldest first */
    assert_non_null(next);
    json_decref(items);
    pg.cursor = next;
    assert_int_equal(al_store_delivery_list(f->s, "whk_1", NULL, pg, &items, NULL, NULL), 0);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), "whd_a");
    json_decref(items);
    free(next);
    pg = (struct al_store_page){NULL, 0};
    assert_int_equal(al_store_delivery_list(f->s, "whk_1", "whd_b", pg, &items, NULL, NULL), 0);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(jstr(json_array_get(items, 0), "id"), "whd_a");
    json_decref(items);
    a.id = "whd_none";
    assert_int_equal(al_store_delivery_attempted(f->s, &a, NULL), AL_E_NOTFOUND);
}

/* A hook ended during an attempt: its pending deliveries failed; a failed attempt leaves them
 * failed, a delivering one is delivered. */
static void test_end_and_outcome(void **state)
{
    struct store_fixture *f = *state;
    json_t *d = NULL, *due = NULL;
    int64_t failures = 0, since = 0;
    add_hook(f->s, "whk_1", NULL);
    add_delivery(f->s, "whd_1", "whk_1", 10);
    add_delivery(f->s, "whd_2", "whk_1", 10);
    assert_int_equal(al_store_webhook_outcome(f->s, "whk_1", false, 10, &failures, &since, NULL),
                     0);
    assert_int_equal(failures, 1);
    assert_int_equal(since, 10);
    assert_int_equal(al_store_webhook_outcome(f->s, "whk_1", false, 20, &failures, &since, NULL),
                     0);
    assert_int_equal(failures, 2);
    assert_int_equal(since, 10);
    assert_int_equal(al_store_webhook_end(f->s, "whk_1", false, 30, "webhook disabled", NULL), 0);
    assert_int_equal(al_store_delivery_due(f->s, 100, 10, &due, NULL), 0);
    assert_int_equal(json_array_size(due), 0);
    json_decref(due);
    struct al_store_attempt a = {"whd_1", "retrying", NULL, 1, 500, 31, 60, -1};
    assert_int_equal(al_store_delivery_attempted(f->s, &a, NULL), 0);
    assert_int_equal(al_store_delivery_get(f->s, "whd_1", &d, NULL), 0);
    assert_string_equal(jstr(d, "status"), "failed");
    assert_true(json_is_null(json_object_get(d, "next_at")));
    json_decref(d);
    a = (struct al_store_attempt){"whd_2", "delivered", NULL, 1, 200, 31, -1, 31};
    assert_int_equal(al_store_delivery_attempted(f->s, &a, NULL), 0);
    assert_int_equal(al_store_delivery_get(f->s, "whd_2", &d, NULL), 0);
    assert_string_equal(jstr(d, "status"), "delivered");
    json_decref(d);
    assert_int_equal(al_store_webhook_get(f->s, "whk_1", &d, NULL, NULL), 0);
    assert_true(json_is_false(json_object_get(d, "active")));
    json_decref(d);
    assert_int_equal(al_store_webhook_outcome(f->s, "whk_1", true, 40, &failures, &since, NULL), 0);
    assert_int_equal(failures, 0);
    assert_int_equal(since, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hooks, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_cursor_backlog, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_deliveries, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_end_and_outcome, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
