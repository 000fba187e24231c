/* test_client.c — the HTTP client against a tiny in-test responder on loopback: success, the
 * server's error codes, non-JSON bodies, the 8 MiB bound, headers sent, and path encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client/client.h"
#include "common/num.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The responder: accepts one connection, keeps the request head, answers `reply`. */
struct responder {
    int lfd, port;
    const char *reply; /* status line onwards, without body when big_body */
    size_t big_body;   /* > 0: send a body of this many 'x' bytes */
    char request[8192];
    pthread_t th;
};

/* The body length a request head announces: its Content-Length, 0 when it has none or the
 * value is not a plain number (then the head alone completes the request). */
static uint64_t content_length(const char *head)
{
    const char *cl = strstr(head, "Content-Length: ");
    char num[24];
    uint64_t v = 0;
    if (!cl)
        return 0;
    cl += strlen("Content-Length: ");
    size_t n = strcspn(cl, "\r\n");
    if (n >= sizeof num)
        return 0;
    memcpy(num, cl, n);
    num[n] = '\0';
    return al_num_parse_u64(num, 0, SIZE_MAX, &v) == 0 ? v : 0;
}

static void *serve(void *arg)
{
    struct responder *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    size_t n = 0;
    ssize_t k;
    while (n < sizeof r->request - 1 &&
           (k = read(fd, r->request + n, sizeof r->request - 1 - n)) > 0) {
        n += (size_t)k;
        r->request[n] = '\0';
        const char *end = strstr(r->request, "\r\n\r\n");
        if (end && strlen(end + 4) >= content_length(r->request))
            break;
    }
    if (send(fd, r->reply, strlen(r->reply), MSG_NOSIGNAL) < 0)
        goto out;
    if (r->big_body) {
        char chunk[65536];
        memset(chunk, 'x', sizeof chunk);
        for (size_t sent = 0; sent < r->big_body; sent += sizeof chunk)
            if (send(fd, chunk, sizeof chunk, MSG_NOSIGNAL) < 0)
                break;
    }
out:
    close(fd);
    return NULL;
}

static void start(struct responder *r, const char *reply, size_t big)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    *r = (struct responder){.reply = reply, .big_body = big};
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(r->lfd >= 0);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->lfd, 4), 0);
    assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
    r->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&r->th, NULL, serve, r), 0);
}

static void stop(struct responder *r)
{
    pthread_join(r->th, NULL);
    close(r->lfd);
}

static struct al_client *client_for(const struct responder *r, const char *token)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", r->port);
    struct al_client *c = al_client_new(url, token, NULL);
    assert_non_null(c);
    return c;
}

static void test_success_and_headers(void **state)
{
    (void)state;
    struct responder r;
    start(&r,
          "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
          "Connection: close\r\n\r\n{\"id\":\"org_1\"}\n\n\n",
          0);
    struct al_client *c = client_for(&r, "al_secret");
    json_t *body = json_pack("{s:s}", "name", "acme"), *ans = NULL;
    long status = 0;
    struct al_err e = {0};
    assert_int_equal(al_client_call(c, "POST", "/v1/orgs", body, "key-1", &status, &ans, &e), 0);
    stop(&r);
    assert_int_equal(status, 201);
    assert_string_equal(json_string_value(json_object_get(ans, "id")), "org_1");
    assert_non_null(strstr(r.request, "POST /v1/orgs HTTP/1.1"));
    assert_non_null(strstr(r.request, "Authorization: Bearer al_secret"));
    assert_non_null(strstr(r.request, "Idempotency-Key: key-1"));
    assert_non_null(strstr(r.request, "{\"name\":\"acme\"}"));
    json_decref(body);
    json_decref(ans);
    al_client_free(c);
}

static void test_error_body(void **state)
{
    (void)state;
    struct responder r;
    start(&r,
          "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "\r\n{\"error\":{\"code\":\"no_capacity\",\"message\":\"only 3 free\","
          "\"details\":{\"reason\":\"x\"}}}",
          0);
    struct al_client *c = client_for(&r, NULL);
    json_t *ans = NULL;
    long status = 0;
    struct al_err e = {0};
    assert_int_equal(al_client_call(c, "GET", "/v1/x", NULL, NULL, &status, &ans, &e), AL_E_NOFIT);
    stop(&r);
    assert_int_equal(status, 409);
    assert_string_equal(e.msg, "only 3 free (no_capacity)");
    assert_non_null(json_object_get(ans, "error"));
    assert_null(strstr(r.request, "Authorization"));
    json_decref(ans);
    al_client_free(c);
}

static void test_not_json_and_status_codes(void **state)
{
    (void)state;
    struct responder r;
    start(&r, "HTTP/1.1 503 Unavailable\r\nConnection: close\r\n\r\n<html>down</html>", 0);
    struct al_client *c = client_for(&r, NULL);
    json_t *ans = (json_t *)1;
    long status = 0;
    struct al_err e = {0};
    assert_int_equal(al_client_call(c, "GET", "/healthz", NULL, NULL, &status, &ans, &e),
                     AL_E_INTERNAL);
    stop(&r);
    assert_int_equal(status, 503);
    assert_null(ans);
    assert_non_null(strstr(e.msg, "503"));
    al_client_free(c);
    assert_int_equal(al_client_code("forbidden", 403), AL_E_FORBIDDEN);
    assert_int_equal(al_client_code("storage_full", 507), AL_E_FULL);
    assert_int_equal(al_client_code("something_new", 404), AL_E_NOTFOUND);
    assert_int_equal(al_client_code(NULL, 401), AL_E_AUTH);
}

static void test_body_bound(void **state)
{
    (void)state;
    struct responder r;
    start(&r, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", AL_CLIENT_MAX_BODY + 65536);
    struct al_client *c = client_for(&r, NULL);
    long status = -1;
    struct al_err e = {0};
    assert_int_equal(al_client_call(c, "GET", "/big", NULL, NULL, &status, NULL, &e), AL_E_IO);
    stop(&r);
    assert_non_null(strstr(e.msg, "8 MiB"));
    al_client_free(c);
}

static void test_unreachable_and_bad_input(void **state)
{
    (void)state;
    struct al_err e = {0};
    long status = -1;
    assert_null(al_client_new("ftp://x", NULL, &e));
    assert_int_equal(e.code, AL_E_INVAL);
    assert_null(al_client_new("http://x", "tok en", &e));
    struct al_client *c = al_client_new("http://127.0.0.1:1", "t", &e);
    assert_non_null(c);
    al_client_set_timeouts(c, 500, 1000);
    assert_int_equal(al_client_call(c, "GET", "/v1/me", NULL, NULL, &status, NULL, &e), AL_E_IO);
    assert_int_equal(status, 0);
    assert_int_equal(al_client_call(c, "GET", "no-slash", NULL, NULL, NULL, NULL, &e), AL_E_INVAL);
    assert_int_equal(al_client_call(c, "POST", "/x", NULL, "bad\nkey", NULL, NULL, &e), AL_E_INVAL);
    al_client_free(c);
    al_client_free(NULL);
}

static void test_paths(void **state)
{
    (void)state;
    struct al_path p;
    char out[16];
    al_path_init(&p, "/v1/orgs");
    al_path_seg(&p, "a b/c");
    al_path_query(&p, "model", "H100-80GB");
    al_path_query(&p, "skip", NULL);
    al_path_query(&p, "start", "2026-12-01T00:00:00+01:00");
    assert_string_equal(
        al_path_str(&p, NULL),
        "/v1/orgs/a%20b%2Fc?model=H100-80GB&start=2026-12-01T00%3A00%3A00%2B01%3A00");
    assert_int_equal(al_url_encode("~._-", out, sizeof out), 4);
    assert_int_equal(al_url_encode("0123456789abcdef", out, sizeof out), -ERANGE);
    char big[4000];
    memset(big, '/', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    al_path_seg(&p, big);
    assert_null(al_path_str(&p, NULL));
    char k1[40], k2[40];
    assert_int_equal(al_client_random_key(k1, sizeof k1), 0);
    assert_int_equal(al_client_random_key(k2, sizeof k2), 0);
    assert_int_equal(strlen(k1), 32);
    assert_string_not_equal(k1, k2);
}

/* Hostile or broken answers: wrong shapes of error bodies, truncated JSON, odd statuses. The
 * client must map each to a code and a message, never crash or leak. */
static void test_odd_answers(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "HTTP/1.1 409 Conflict\r\nConnection: close\r\n\r\n{\"error\":5}",
        "HTTP/1.1 409 Conflict\r\nConnection: close\r\n\r\n{\"error\":{\"code\":7,\"message\":[]}}",
        "HTTP/1.1 400 Bad\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"invalid_argument\"",
        "HTTP/1.1 404 NF\r\nConnection: close\r\n\r\n[1,2,3]",
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\":1,\"a\":2}",
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nConnection: close\r\n\r\n",
        "garbage\r\n\r\n",
        "HTTP/1.1 418 Teapot\r\nConnection: close\r\n\r\n{\"error\":{\"code\":\"unknown_code\","
        "\"message\":"
        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxx\"}}",
    };
    static const int want[] = {AL_E_CONFLICT, AL_E_CONFLICT, AL_E_INVAL, AL_E_NOTFOUND, 0,
                               AL_E_INVAL,    AL_E_IO,       AL_E_INVAL};
    for (size_t i = 0; i < sizeof replies / sizeof replies[0]; i++) {
        struct responder r;
        start(&r, replies[i], 0);
        struct al_client *c = client_for(&r, "t");
        struct al_err e = {0};
        json_t *ans = NULL;
        int rc = al_client_call(c, "GET", "/x", NULL, NULL, NULL, &ans, &e);
        stop(&r);
        if (rc != want[i])
            fprintf(stderr, "reply %zu: rc %d (%s), want %d\n", i, rc, e.msg, want[i]);
        assert_int_equal(rc, want[i]);
        assert_true(rc == 0 || e.msg[0] != '\0');
        assert_true(strlen(e.msg) < sizeof e.msg);
        json_decref(ans);
        al_client_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_and_headers),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_not_json_and_status_codes),
        cmocka_unit_test(test_body_bound),
        cmocka_unit_test(test_unreachable_and_bad_input),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_odd_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
