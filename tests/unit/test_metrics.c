/* test_metrics.c — unit tests of server/metrics: calls counted by route, method and status
 * (unmatched, HEAD, an unusual status by its class), the latency histogram, the group commit's
 * histograms, heartbeats, the metrics token (shape, file, constant-time match), and the text
 * being one family header per family. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/metrics.h"
#include "server/router.h"
#include "tmpdir.h"

/* The exposition of `m` (the test frees it). */
static char *text_of(const struct al_metrics *m)
{
    struct al_prom p;
    al_prom_init(&p);
    al_metrics_write(m, &p);
    char *t = al_prom_take(&p, NULL);
    assert_non_null(t);
    return t;
}

/* Does `t` hold the line `line` (whole)? */
static bool has_line(const char *t, const char *line)
{
    size_t n = strlen(line);
    for (const char *s = strstr(t, line); s; s = strstr(s + 1, line))
        if ((s == t || s[-1] == '\n') && s[n] == '\n')
            return true;
    return false;
}

static void test_calls_counted(void **state)
{
    (void)state;
    struct al_metrics *m = al_metrics_new();
    const struct al_route *r = NULL;
    assert_non_null(m);
    for (size_t i = 0; i < al_router_count() && !r; i++)
        if (strcmp(al_router_at(i)->pattern, "/healthz") == 0)
            r = al_router_at(i);
    assert_non_null(r);
    assert_int_equal(al_router_index(r) < al_router_count(), true);
    assert_ptr_equal(al_router_at(al_router_index(r)), r);
    assert_int_equal(al_router_index(NULL), al_router_count());
    al_metrics_request(m, r, "GET", 200, 500);   /* 0.5 ms */
    al_metrics_request(m, r, "GET", 200, 30000); /* 30 ms */
    al_metrics_request(m, r, "HEAD", 200, 100);
    al_metrics_request(m, NULL, "BREW", 418, 20000000); /* 20 s: above every bucket */
    al_metrics_request(NULL, r, "GET", 200, 1);         /* no metrics: nothing, no crash */
    char *t = text_of(m);
    assert_true(has_line(t, "allot_http_requests_total{route=\"/healthz\",method=\"GET\","
                            "status=\"200\"} 2"));
    assert_true(has_line(t, "allot_http_requests_total{route=\"/healthz\",method=\"HEAD\","
                            "status=\"200\"} 1"));
    assert_true(has_line(t, "allot_http_requests_total{route=\"unmatched\",method=\"other\","
                            "status=\"4xx\"} 1"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_bucket{route=\"/healthz\","
                            "method=\"GET\",le=\"0.001\"} 1"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_bucket{route=\"/healthz\","
                            "method=\"GET\",le=\"0.025\"} 1"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_bucket{route=\"/healthz\","
                            "method=\"GET\",le=\"0.05\"} 2"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_sum{route=\"/healthz\","
                            "method=\"GET\"} 0.0305"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_bucket{route=\"unmatched\","
                            "method=\"other\",le=\"10\"} 0"));
    assert_true(has_line(t, "allot_http_request_duration_seconds_count{route=\"unmatched\","
                            "method=\"other\"} 1"));
    /* nothing for what never happened */
    assert_null(strstr(t, "method=\"POST\""));
    free(t);
    al_metrics_free(m);
}

static void test_commits_and_heartbeats(void **state)
{
    (void)state;
    struct al_metrics *m = al_metrics_new();
    assert_non_null(m);
    al_metrics_commit(m, 3, 800, false);
    al_metrics_commit(m, 1, 40, false);
    al_metrics_commit(m, 2, 0, true); /* failed: no fsync */
    al_metrics_heartbeat(m);
    al_metrics_heartbeat(m);
    char *t = text_of(m);
    assert_true(has_line(t, "allot_commit_batch_units_bucket{le=\"1\"} 1"));
    assert_true(has_line(t, "allot_commit_batch_units_bucket{le=\"2\"} 2"));
    assert_true(has_line(t, "allot_commit_batch_units_bucket{le=\"4\"} 3"));
    assert_true(has_line(t, "allot_commit_batch_units_sum 6"));
    assert_true(has_line(t, "allot_commit_fsync_seconds_bucket{le=\"0.0001\"} 1"));
    assert_true(has_line(t, "allot_commit_fsync_seconds_bucket{le=\"0.001\"} 2"));
    assert_true(has_line(t, "allot_commit_fsync_seconds_count 2"));
    assert_true(has_line(t, "allot_commit_fsync_seconds_sum 0.00084"));
    assert_true(has_line(t, "allot_commit_failures_total 1"));
    assert_true(has_line(t, "allot_agent_heartbeats_total 2"));
    /* each family's header once */
    const char *h = strstr(t, "# TYPE allot_commit_fsync_seconds histogram\n");
    assert_non_null(h);
    assert_null(strstr(h + 1, "# TYPE allot_commit_fsync_seconds "));
    free(t);
    al_metrics_free(m);
}

static void test_token(void **state)
{
    (void)state;
    struct al_metrics *m = al_metrics_new();
    struct al_err e = {0};
    char dir[64], path[96];
    assert_non_null(m);
    assert_false(al_metrics_token_ok(m, "x", 1)); /* none set: nothing matches */
    assert_int_equal(al_metrics_set_token(m, "", 0, &e), AL_E_INVAL);
    assert_int_equal(al_metrics_set_token(m, "a b", 3, &e), AL_E_INVAL);
    snprintf(dir, sizeof dir, "/tmp/test_metrics.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/token", dir);
    assert_int_equal(tmpdir_write(path, "s3cret-Token_1 \n"), 0);
    assert_int_equal(al_metrics_token_file(m, path, &e), 0);
    assert_true(al_metrics_token_ok(m, "s3cret-Token_1", 14));
    assert_false(al_metrics_token_ok(m, "s3cret-Token_2", 14));
    assert_false(al_metrics_token_ok(m, "s3cret-Token_1 ", 15));
    assert_false(al_metrics_token_ok(m, "s3cret-Token", 12));
    assert_int_equal(tmpdir_write(path, "two words\n"), 0);
    assert_int_equal(al_metrics_token_file(m, path, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, path));
    assert_true(al_metrics_token_ok(m, "s3cret-Token_1", 14)); /* the old one stays */
    assert_int_equal(tmpdir_remove(dir), 0);
    assert_int_not_equal(al_metrics_token_file(m, path, &e), 0); /* gone */
    al_metrics_free(m);
    al_metrics_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_counted),
        cmocka_unit_test(test_commits_and_heartbeats),
        cmocka_unit_test(test_token),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
