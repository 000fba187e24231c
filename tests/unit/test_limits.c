/* test_limits.c — unit tests of the API's field limits (server/limits.h): the table against
 * docs/api.md's "Field limits" table (the test fails when one changes without the other), the
 * check of a string against a limit, and the validators that take their bounds from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "server/http.h"
#include "server/limits.h"

/* docs/api.md, from $AL_ROOT (scripts/run-tests.sh sets it) or from this file's path. */
static FILE *open_api_md(void)
{
    char path[1024];
    const char *root = getenv("AL_ROOT");
    if (root) {
        snprintf(path, sizeof path, "%s/docs/api.md", root);
    } else {
        const char *tail = strstr(__FILE__, "tests/unit/test_limits.c");
        int n = tail ? (int)(tail - __FILE__) : 0;
        snprintf(path, sizeof path, "%.*sdocs/api.md", n, __FILE__);
    }
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    return f;
}

/* One row of the doc's table: "| `key` | fields | min–max | `chars` |". */
struct doc_row {
    char key[32], chars[64];
    size_t min, max;
};

/* Cell `i` (0-based) of a table line, trimmed and without backticks, into out. */
static int cell(const char *line, int i, char *out, size_t cap)
{
    const char *p = line;
    for (int k = 0; k <= i; k++) {
        p = strchr(p, '|');
        if (!p)
            return -1;
        p++;
    }
    const char *end = strchr(p, '|');
    if (!end)
        return -1;
    size_t n = 0;
    for (; p < end; p++)
        if (*p != '`' && n + 1 < cap && !(n == 0 && *p == ' '))
            out[n++] = *p;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return 0;
}

/* The rows of the table after the "## Field limits" heading. */
static size_t doc_rows(struct doc_row *rows, size_t max)
{
    FILE *f = open_api_md();
    char line[1024], range[32];
    bool in = false;
    size_t n = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "## ", 3) == 0 || strncmp(line, "### ", 4) == 0)
            in = strstr(line, "Field limits") != NULL;
        if (!in || strncmp(line, "| `", 3) != 0 || n == max)
            continue;
        struct doc_row *r = &rows[n];
        unsigned lo = 0, hi = 0;
        assert_int_equal(cell(line, 0, r->key, sizeof r->key), 0);
        assert_int_equal(cell(line, 2, range, sizeof range), 0);
        assert_int_equal(cell(line, 3, r->chars, sizeof r->chars), 0);
        /* "1–64": an en dash between the numbers */
        if (sscanf(range, "%u\xe2\x80\x93%u", &lo, &hi) != 2)
            fail_msg("docs/api.md: limit %s: length '%s' is not min–max", r->key, range);
        r->min = lo;
        r->max = hi;
        n++;
    }
    (void)fclose(f);
    return n;
}

static void test_doc_table_is_the_code_table(void **state)
{
    (void)state;
    struct doc_row rows[32];
    size_t n = doc_rows(rows, 32);
    assert_int_equal(n, AL_LIMIT_N);
    for (size_t i = 0; i < n; i++) {
        const struct al_limit *l = NULL;
        for (size_t k = 0; k < AL_LIMIT_N; k++)
            if (strcmp(al_limits[k].key, rows[i].key) == 0)
                l = &al_limits[k];
        if (!l)
            fail_msg("docs/api.md lists a limit %s the code does not have", rows[i].key);
        if (rows[i].min != l->min || rows[i].max != l->max)
            fail_msg("limit %s: docs/api.md says %zu–%zu, the code %zu–%zu", l->key, rows[i].min,
                     rows[i].max, l->min, l->max);
        assert_string_equal(rows[i].chars, al_limit_chars(l->chars));
    }
}

static void test_limit_ok(void **state)
{
    (void)state;
    char s[8192];
    for (unsigned id = 0; id < AL_LIMIT_N; id++) {
        const struct al_limit *l = &al_limits[id];
        memset(s, 'a', sizeof s);
        assert_true(l->max + 1 < sizeof s);
        assert_true(al_limit_ok(id, s, l->max));
        assert_false(al_limit_ok(id, s, l->max + 1));
        assert_true(al_limit_ok(id, s, l->min));
        if (l->min > 0)
            assert_false(al_limit_ok(id, s, l->min - 1));
        s[0] = '\0'; /* no field holds a NUL */
        assert_false(al_limit_ok(id, s, l->max));
    }
    assert_true(al_limit_ok(AL_LIMIT_PROFILE, "1g.10gb+me", 10));
    assert_true(al_limit_ok(AL_LIMIT_PROFILE, "id:19", 5));
    assert_false(al_limit_ok(AL_LIMIT_NAME, "1g.10gb+me", 10));
    assert_false(al_limit_ok(AL_LIMIT_PROFILE, "1g 10gb", 7));
    assert_true(al_limit_ok(AL_LIMIT_TEXT, "é", 2));
    assert_false(al_limit_ok(AL_LIMIT_NAME, "é", 2));
    assert_false(al_limit_ok(AL_LIMIT_N, "a", 1));
}

/* Every profile name of the catalog (what GET /v1/models lists) passes the profile limit. */
static void test_catalog_profiles_fit(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        for (unsigned p = 0; p < m->nprofiles; p++, n++)
            if (!al_limit_ok(AL_LIMIT_PROFILE, m->profiles[p].name, strlen(m->profiles[p].name)))
                fail_msg("%s: profile %s does not pass the profile limit", m->name,
                         m->profiles[p].name);
        assert_true(al_limit_ok(AL_LIMIT_MODEL, m->name, strlen(m->name)));
    }
    assert_true(n > 50);
}

static void test_field_limit(void **state)
{
    (void)state;
    struct al_ctx c = {0};
    const char *v = NULL;
    json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "p", "1g.24gb+gfx", "z",
                          "zone-with-more-than-31-characters", "n", 5, "ok", "z1");
    assert_int_equal(al_field_limit(&c, o, "p", AL_LIMIT_PROFILE, true, &v), 0);
    assert_string_equal(v, "1g.24gb+gfx");
    assert_int_equal(al_field_limit(&c, o, "ok", AL_LIMIT_ZONE, true, &v), 0);
    assert_int_equal(al_field_limit(&c, o, "z", AL_LIMIT_ZONE, true, &v), AL_E_INVAL);
    assert_string_equal(c.err_field, "z");
    assert_non_null(strstr(c.err_msg, "1..31"));
    assert_int_equal(al_field_limit(&c, o, "n", AL_LIMIT_NAME, true, &v), AL_E_INVAL);
    assert_int_equal(al_field_limit(&c, o, "absent", AL_LIMIT_NAME, true, &v), AL_E_INVAL);
    assert_int_equal(al_field_limit(&c, o, "absent", AL_LIMIT_NAME, false, &v), 0);
    assert_int_equal(al_field_name(&c, o, "p", true, &v), AL_E_INVAL);
    json_decref(o);
    json_decref(c.err_details);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_table_is_the_code_table),
        cmocka_unit_test(test_limit_ok),
        cmocka_unit_test(test_catalog_profiles_fit),
        cmocka_unit_test(test_field_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
