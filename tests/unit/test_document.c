/* test_document.c — server/document.c: HTML escaping, money to the micro-unit, arrays of objects
 * as tables, no markup from a value. */
#include "server/document.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_escape(void **state)
{
    (void)state;
    char *s = al_doc_escape("a<b>&\"c\"'d'");
    assert_string_equal(s, "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
    free(s);
    s = al_doc_escape("");
    assert_string_equal(s, "");
    free(s);
    s = al_doc_escape("plain text, no change");
    assert_string_equal(s, "plain text, no change");
    free(s);
}

static void test_render(void **state)
{
    (void)state;
    json_t *org =
        json_pack("{s:s,s:s,s:n}", "name", "acme", "customer_code", "A<1>", "display_name");
    json_t *res =
        json_pack("{s:s,s:I,s:I,s:b,s:n,s:[{s:s,s:I},{s:s,s:I}],s:{s:I,s:I}}", "model",
                  "<script>alert(1)</script>", "total_micros", (json_int_t)4938268, "count",
                  (json_int_t)3, "self_service", 1, "ended_at", "lines", "what", "GPU-hour",
                  "amount_micros", (json_int_t)1500000, "what", "x&y", "amount_micros",
                  (json_int_t)-1, "contract", "id", (json_int_t)7, "version", (json_int_t)2);
    char *h = al_doc_render("Quote <q>", org, res);
    assert_non_null(h);
    assert_non_null(strstr(h, "<title>Quote &lt;q&gt;</title>"));
    assert_non_null(strstr(h, "<td>acme</td>"));
    assert_non_null(strstr(h, "<td>A&lt;1&gt;</td>"));
    assert_non_null(strstr(h, "<td>4.938268</td>"));  /* six decimals: not whole cents */
    assert_non_null(strstr(h, "<td>1.50</td>"));      /* whole cents */
    assert_non_null(strstr(h, "<td>-0.000001</td>")); /* to the micro-unit, signed */
    assert_non_null(strstr(h, "<td>3</td>"));         /* not money: as is */
    assert_non_null(strstr(h, "<td>yes</td>"));
    assert_non_null(strstr(h, "<td>x&amp;y</td>"));
    assert_non_null(strstr(h, "<th>what</th><th>amount</th>")); /* money headings without _micros */
    assert_non_null(strstr(h, "<th>total</th><td>4.938268</td>"));
    assert_non_null(strstr(h, "<th>org display name</th>"));                 /* _ as a space */
    assert_non_null(strstr(h, "<th>contract</th><td>id 7, version 2</td>")); /* an object */
    assert_null(strstr(h, "<script"));
    free(h);
    json_decref(org);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
