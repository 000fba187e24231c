/* test_journal.c — the agent's undelivered MIG-change results (agent/journal.h): held in
 * memory, written to the file before delivery and read back by an agent restarted, forgotten
 * once delivered; a bad file refused naming the member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/journal.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/al_jnl_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/journal.json", fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    assert_int_equal(tmpdir_remove(fx->dir), 0);
    free(fx);
    return 0;
}

static json_t *result(bool ok)
{
    json_t *j = json_pack("{s:b,s:b,s:[]}", "ok", ok, "mig", 1, "instances");
    assert_non_null(j);
    return j;
}

static void test_kept_across_restart(void **state)
{
    struct fx *fx = *state;
    struct al_journal *j = NULL;
    struct al_err e = {0};
    json_t *r1 = result(true), *r2 = result(false);
    assert_int_equal(al_journal_open(fx->path, &j, &e), 0); /* no file yet: empty */
    assert_int_equal(al_journal_count(j), 0);
    assert_int_equal(al_journal_add(j, "mch_1", r1, &e), 0);
    assert_int_equal(al_journal_add(j, "mch_2", r2, &e), 0);
    assert_int_equal(al_journal_add(j, "mch_1", r1, &e), 0); /* again: replaced, not doubled */
    assert_int_equal(al_journal_count(j), 2);
    al_journal_free(j);
    /* restarted: both back, oldest first, with their bodies */
    assert_int_equal(al_journal_open(fx->path, &j, &e), 0);
    assert_int_equal(al_journal_count(j), 2);
    assert_string_equal(al_journal_change(j, 0), "mch_1");
    assert_true(json_equal(al_journal_body(j, 1), r2));
    assert_true(al_journal_has(j, "mch_2"));
    assert_int_equal(al_journal_remove(j, "mch_1", &e), 0); /* delivered */
    assert_int_equal(al_journal_remove(j, "mch_9", &e), 0); /* never held: nothing */
    al_journal_free(j);
    assert_int_equal(al_journal_open(fx->path, &j, &e), 0);
    assert_int_equal(al_journal_count(j), 1);
    assert_false(al_journal_has(j, "mch_1"));
    al_journal_free(j);
    json_decref(r1);
    json_decref(r2);
}

static void test_memory_only(void **state)
{
    (void)state;
    struct al_journal *j = NULL;
    struct al_err e = {0};
    json_t *r = result(true);
    char id[16];
    assert_int_equal(al_journal_open(NULL, &j, &e), 0);
    for (int i = 0; i < AL_JOURNAL_MAX; i++) {
        snprintf(id, sizeof id, "mch_%d", i);
        assert_int_equal(al_journal_add(j, id, r, &e), 0);
    }
    assert_int_equal(al_journal_add(j, "mch_x", r, &e), AL_E_FULL);
    assert_int_equal(al_journal_add(j, "bad id", r, &e), AL_E_INVAL);
    assert_int_equal(al_journal_count(j), AL_JOURNAL_MAX);
    al_journal_free(j);
    json_decref(r);
}

static void refused(struct fx *fx, const char *text, const char *want)
{
    struct al_journal *j = NULL;
    struct al_err e = {0};
    FILE *f = fopen(fx->path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_true(al_journal_open(fx->path, &j, &e) < 0);
    assert_null(j);
    if (!strstr(e.msg, want))
        fail_msg("refusal \"%s\" does not name \"%s\"", e.msg, want);
}

static void test_bad_file(void **state)
{
    struct fx *fx = *state;
    refused(fx, "{\"results\":[", "line 1");
    refused(fx, "{\"results\":{}}", "results: an array");
    refused(fx, "{\"results\":[],\"x\":1}", "nothing else");
    refused(fx, "{\"results\":[{\"change\":\"a b\",\"body\":{\"ok\":true}}]}", "results[0].change");
    refused(fx, "{\"results\":[{\"change\":\"mch_1\",\"body\":{}}]}", "results[0].body");
    refused(fx, "{\"results\":[],\"results\":[]}", "duplicate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_kept_across_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
