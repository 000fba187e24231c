/* test_jsonw.c — al_jsonw_compact writes the text json_dumps(j, JSON_COMPACT) writes, byte for
 * byte: nested members in their order, every escape, UTF-8 of each length, integers at their
 * bounds, reals (jansson's own text), empty containers; NULL where json_dumps gives NULL (a
 * scalar at the top, a string that is not UTF-8, a document that holds itself), and json_dumps's
 * text past the depth it writes itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/jsonw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* al_jsonw_compact(j) and json_dumps(j, JSON_COMPACT) are the same text (or both NULL). */
static void same(json_t *j)
{
    char *want = json_dumps(j, JSON_COMPACT), *got = al_jsonw_compact(j);
    if (want)
        assert_non_null(got);
    else
        assert_null(got);
    if (want)
        assert_string_equal(got, want);
    free(want);
    free(got);
}

static void test_documents(void **state)
{
    (void)state;
    const char *docs[] = {
        "{}",
        "[]",
        "[[],{},[{}],{\"a\":[]}]",
        "{\"id\":\"req_1\",\"count\":8,\"labels\":{},\"quote\":null,\"fits\":true,\"x\":false,"
        "\"allocations\":[{\"node\":\"n1\",\"gpu\":\"gpu_n1-0\"},{\"node\":\"n2\"}]}",
        "{\"min\":-9223372036854775808,\"max\":9223372036854775807,\"zero\":0,\"neg\":-1}",
        "{\"r\":[1.0,0.1,-0.5,1e300,2.5e-8,123456789.125,-0.0,1e22]}",
        "{\"esc\":\"q\\\" b\\\\ s/ \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f end\"}",
        "{\"utf8\":\"é ≠ € 𝄞 ü\",\"k\\u00e9y\\n\":\"v\"}",
        "[\"\",\"\\u0000x\",\"a\\u0000\"]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_error_t err;
        json_t *j = json_loads(docs[i], JSON_ALLOW_NUL, &err);
        assert_non_null(j);
        same(j);
        json_decref(j);
    }
}

static void test_every_control_character(void **state)
{
    (void)state;
    char s[64];
    json_t *a = json_array();
    for (int c = 0; c < 0x20; c++) {
        s[0] = 'a';
        s[1] = (char)c;
        s[2] = 'z';
        json_array_append_new(a, json_stringn(s, 3));
    }
    same(a);
    json_decref(a);
}

static void test_nulls(void **state)
{
    (void)state;
    json_t *s = json_string("x"), *i = json_integer(3);
    assert_null(al_jsonw_compact(s)); /* a scalar at the top, as json_dumps */
    assert_null(al_jsonw_compact(i));
    assert_null(al_jsonw_compact(NULL));
    json_decref(s);
    json_decref(i);
    const char *bad[] = {
        "\xff",         "a\xc3",           "\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xe0\x80\x80", "\xf0\x80\x80\x80"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        json_t *o = json_pack("{s:o}", "v", json_stringn_nocheck(bad[k], strlen(bad[k])));
        assert_null(json_dumps(o, JSON_COMPACT));
        assert_null(al_jsonw_compact(o));
        json_decref(o);
    }
    json_t *loop = json_array(), *in = json_object();
    json_array_append(loop, in);
    json_object_set(in, "back", loop); /* holds itself: json_dumps refuses it */
    assert_null(json_dumps(loop, JSON_COMPACT));
    same(loop);
    json_object_clear(in);
    json_decref(in);
    json_decref(loop);
}

static void test_deep(void **state)
{
    (void)state;
    json_t *top = json_array(), *at = top;
    for (int d = 0; d < 3000; d++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    same(top); /* past the writer's depth: json_dumps's text */
    json_decref(top);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_every_control_character),
        cmocka_unit_test(test_nulls),
        cmocka_unit_test(test_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
