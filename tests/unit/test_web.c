/* test_web.c — unit tests of server/web: which files of a web directory are served and at what
 * path (index.html at "/", subdirectories, the npm file at /vendor/), which are never (dot
 * files, package*.json, node_modules, unknown types, symbolic links), the content type and a
 * stable ETag that changes with the content, the refusals (no index.html, the npm file
 * missing, a named directory that does not exist), "off", and the API's paths left alone. */
/* nftw's FTW_DEPTH and FTW_PHYS are XSI extensions */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp) */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/web.h"

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static void dir(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A web directory as `npm ci` leaves it in the source tree, plus what must not be served. */
static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/al_test_web.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    put("index.html", "<!doctype html><title>allot</title>");
    put("app.js", "export const a = 1;\n");
    put("app.css", "body{}");
    put(".secret.js", "nope");
    put("notes.md", "not a served type");
    put("package.json", "{}");
    put("package-lock.json", "{}");
    dir("lib");
    put("lib/api.js", "export {};\n");
    dir("node_modules");
    dir("node_modules/htm");
    dir("node_modules/htm/preact");
    put("node_modules/htm/preact/standalone.module.js", "export function html(){}\n");
    put("node_modules/htm/other.js", "not served");
    char target[256], link[256];
    snprintf(target, sizeof target, "%s/app.js", root);
    snprintf(link, sizeof link, "%s/linked.js", root);
    return symlink(target, link);
}

static int teardown(void **state)
{
    (void)state;
    return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_served_paths(void **state)
{
    (void)state;
    struct al_web *w = NULL;
    struct al_err e = {0};
    assert_int_equal(al_web_open(root, &w, NULL, 0, &e), 0);
    assert_non_null(w);
    const struct al_web_file *f = al_web_find(w, "/");
    assert_non_null(f);
    assert_string_equal(f->type, "text/html; charset=utf-8");
    assert_int_equal(f->len, strlen("<!doctype html><title>allot</title>"));
    assert_null(al_web_find(w, "/index.html")); /* one name for the page: "/" */
    f = al_web_find(w, "/lib/api.js");
    assert_non_null(f);
    assert_string_equal(f->type, "text/javascript; charset=utf-8");
    assert_string_equal(al_web_find(w, "/app.css")->type, "text/css; charset=utf-8");
    f = al_web_find(w, "/vendor/htm-preact.js");
    assert_non_null(f);
    assert_memory_equal(f->data, "export function html(){}\n", f->len);
    const char *never[] = {"/.secret.js",
                           "/notes.md",
                           "/package.json",
                           "/package-lock.json",
                           "/node_modules/htm/other.js",
                           "/node_modules/htm/preact/"
                           "standalone.module.js",
                           "/linked.js",
                           "/lib",
                           "/lib/",
                           "/../index.html",
                           "/lib/../app.js",
                           "",
                           "app.js"};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++)
        assert_null(al_web_find(w, never[i]));
    al_web_free(w);
}

static void test_etag(void **state)
{
    (void)state;
    struct al_web *w = NULL;
    struct al_err e = {0};
    char before[24];
    assert_int_equal(al_web_open(root, &w, NULL, 0, &e), 0);
    const struct al_web_file *f = al_web_find(w, "/app.js");
    assert_int_equal(strlen(f->etag), 18); /* a quoted 16-hex-digit hash */
    assert_int_equal(f->etag[0], '"');
    assert_int_equal(f->etag[17], '"');
    snprintf(before, sizeof before, "%s", f->etag);
    assert_string_not_equal(before, al_web_find(w, "/app.css")->etag);
    al_web_free(w);
    assert_int_equal(al_web_open(root, &w, NULL, 0, &e), 0); /* same content: same tag */
    assert_string_equal(al_web_find(w, "/app.js")->etag, before);
    al_web_free(w);
    put("app.js", "export const a = 2;\n");
    assert_int_equal(al_web_open(root, &w, NULL, 0, &e), 0);
    assert_string_not_equal(al_web_find(w, "/app.js")->etag, before);
    al_web_free(w);
}

static void test_refusals(void **state)
{
    (void)state;
    struct al_web *w = NULL;
    struct al_err e = {0};
    char path[256], moved[256], note[256] = "";
    assert_int_equal(al_web_open("off", &w, note, sizeof note, &e), 0);
    assert_null(w);
    assert_int_not_equal(al_web_open("/nonexistent/allot-web", &w, NULL, 0, &e), 0);
    assert_null(w);
    /* the npm file missing: a named directory is refused, naming it and what installs it */
    snprintf(path, sizeof path, "%s/node_modules/htm/preact/standalone.module.js", root);
    snprintf(moved, sizeof moved, "%s/node_modules/htm/moved.js", root);
    assert_int_equal(rename(path, moved), 0);
    assert_int_not_equal(al_web_open(root, &w, NULL, 0, &e), 0);
    assert_null(w);
    assert_non_null(strstr(e.msg, "standalone.module.js"));
    assert_non_null(strstr(e.msg, "deps.sh"));
    assert_int_equal(rename(moved, path), 0);
    /* no index.html: refused */
    snprintf(path, sizeof path, "%s/index.html", root);
    snprintf(moved, sizeof moved, "%s/index.txt", root);
    assert_int_equal(rename(path, moved), 0);
    assert_int_not_equal(al_web_open(root, &w, NULL, 0, &e), 0);
    assert_non_null(strstr(e.msg, "index.html"));
    assert_int_equal(rename(moved, path), 0);
}

static void test_claims(void **state)
{
    (void)state;
    assert_true(al_web_claims("/"));
    assert_true(al_web_claims("/app.js"));
    assert_true(al_web_claims("/v1x"));
    assert_false(al_web_claims("/v1"));
    assert_false(al_web_claims("/v1/me"));
    assert_false(al_web_claims("/healthz"));
    assert_false(al_web_claims("/metrics"));
    assert_null(al_web_find(NULL, "/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_paths),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_claims),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
