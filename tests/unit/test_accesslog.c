/* test_accesslog.c — unit tests of server/accesslog: the JSON line (fields, no query string,
 * client bytes escaped and bounded, nulls), and lines written through the buffer to a file by
 * the log's thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/accesslog.h"
#include "tmpdir.h"

static void test_line(void **state)
{
    (void)state;
    char out[2048];
    struct al_access a = {.method = "GET",
                          .path = "/v1/orgs/o1?token=secret&x=1",
                          .route = "/v1/orgs/*",
                          .status = 200,
                          .ms = 1.25,
                          .user = "usr_1",
                          .client = "127.0.0.1",
                          .bytes = 42};
    size_t n = al_accesslog_format(&a, 1796629639123, out, sizeof out);
    assert_string_equal(out, "{\"time\":\"2026-12-07T07:47:19.123Z\",\"method\":\"GET\","
                             "\"path\":\"/v1/orgs/o1\",\"route\":\"/v1/orgs/*\",\"status\":200,"
                             "\"ms\":1.250,\"user\":\"usr_1\",\"client\":\"127.0.0.1\","
                             "\"bytes\":42}\n");
    assert_int_equal(n, strlen(out));
    assert_null(strstr(out, "secret"));
}

static void test_escaped_and_bounded(void **state)
{
    (void)state;
    char out[2048], path[1000];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[1] = '"';
    path[2] = '\\';
    path[3] = '\n';
    path[4] = (char)0xff;
    path[sizeof path - 1] = '\0';
    struct al_access a = {.method = "G\"T", .path = path, .status = 404};
    size_t n = al_accesslog_format(&a, 0, out, sizeof out);
    assert_true(n > 0);
    assert_non_null(strstr(out, "\"method\":\"G\\\"T\""));
    assert_non_null(strstr(out, "\"path\":\"/\\\"\\\\\\u000a\\u00ffaaa"));
    assert_non_null(strstr(out, "\"route\":null,"));
    assert_non_null(strstr(out, "\"user\":null,\"client\":null,\"bytes\":0}\n"));
    assert_true(n < 256 + 200);                               /* the path is cut at 256 bytes */
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);         /* one line */
    assert_int_equal(al_accesslog_format(&a, 0, out, 40), 0); /* does not fit */
}

static void test_written_by_its_thread(void **state)
{
    (void)state;
    char dir[64], path[96], buf[4096];
    struct al_accesslog *l = NULL;
    struct al_err e = {0};
    struct al_access a = {.method = "POST", .path = "/v1/requests", .status = 201};
    snprintf(dir, sizeof dir, "/tmp/test_accesslog.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/access.log", dir);
    assert_int_equal(al_accesslog_open(path, &l, &e), 0);
    assert_non_null(l);
    for (int i = 0; i < 100; i++)
        al_accesslog_write(l, &a);
    al_accesslog_close(l); /* writes what is buffered */
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t lines = 0;
    while (fgets(buf, sizeof buf, f))
        lines += strstr(buf, "\"method\":\"POST\"") != NULL;
    fclose(f);
    assert_int_equal(lines, 100);
    assert_int_equal(al_accesslog_open("off", &l, &e), 0);
    assert_null(l);
    al_accesslog_write(NULL, &a); /* off: nothing */
    assert_int_equal(al_accesslog_dropped(NULL), 0);
    assert_int_not_equal(al_accesslog_open("/nonexistent/dir/log", &l, &e), 0);
    assert_non_null(strstr(e.msg, "/nonexistent/dir/log"));
    assert_int_equal(tmpdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),
        cmocka_unit_test(test_escaped_and_bounded),
        cmocka_unit_test(test_written_by_its_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
