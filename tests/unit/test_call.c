/* test_call.c — unit tests of a call's head checks (server/call.h), which answer before any
 * store is touched: NUL bytes (encoded or raw) in the target and in header values, repeated
 * fields and parameters, the framing fields (Content-Length parsed strictly, 413 before the
 * body, Transfer-Encoding refused), the bounds (414, 431), HEAD routed as GET, the bearer
 * token's shape and the WWW-Authenticate of each refusal; and the checked integer parser
 * the query values go through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "server/call.h"

/* A request built by a test: up to 70 header fields "Name: value" (the value may hold a NUL:
 * its length is given). */
struct treq {
    struct al_req req;
    struct al_kv h[AL_CALL_MAX_HEADERS + 1];
};

static void treq_init(struct treq *t, const char *method, const char *target, size_t target_len)
{
    memset(t, 0, sizeof *t);
    t->req.method = method;
    t->req.target = target;
    t->req.target_len = target_len ? target_len : strlen(target);
    t->req.headers = t->h;
}

static void treq_add(struct treq *t, const char *key, const char *val, size_t val_len)
{
    t->h[t->req.nheaders++] =
        (struct al_kv){key, strlen(key), val, val_len ? val_len : strlen(val)};
}

/* Run the head of `t`; when it is refused, check the answer's status, API code and field
 * (NULL: not checked) and return its WWW-Authenticate. */
static const char *refused(struct treq *t, int status, const char *code, const char *field)
{
    static struct al_srv srv; /* untouched: every refusal here comes before the store */
    struct al_call *k = calloc(1, sizeof *k);
    struct al_reply rep = {0};
    json_t *j, *e;
    assert_non_null(k);
    assert_false(al_call_begin(k, &srv, &t->req));
    assert_int_equal(al_call_reply(k, &rep), 0);
    assert_int_equal(rep.status, status);
    j = json_loadb(rep.text, rep.len, 0, NULL);
    e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    if (field)
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(e, "details"), "field")), field);
    json_decref(j);
    free(rep.text);
    al_call_end(k);
    free(k);
    return rep.www_authenticate;
}

static void test_nul_in_target(void **state)
{
    struct treq t;
    (void)state;
    treq_init(&t, "GET", "/v1/orgs/acme%00zzz", 0);
    refused(&t, 400, "invalid_argument", "path");
    treq_init(&t, "GET", "/v1/orgs/acme\0zzz", 17); /* raw */
    refused(&t, 400, "invalid_argument", "path");
    treq_init(&t, "GET", "/v1/events?limit=5%00", 0);
    refused(&t, 400, "invalid_argument", "limit");
    treq_init(&t, "GET", "/v1/events?li%00mit=5", 0);
    refused(&t, 400, "invalid_argument", "query");
    treq_init(&t, "GET", "/v1/events?limit=1&cursor=a&limit=2", 0);
    refused(&t, 400, "invalid_argument", "limit");
    treq_init(&t, "GET", "/healthz", 0);
    t.req.hidden_nul = true; /* the listener saw one the fields do not show */
    refused(&t, 400, "invalid_argument", NULL);
}

static void test_lengths(void **state)
{
    static char target[AL_CALL_MAX_TARGET + 2];
    struct treq t;
    (void)state;
    memset(target, 'a', sizeof target - 1);
    target[0] = '/';
    target[AL_ROUTER_MAX_PATH] = '\0'; /* a path of 512 bytes */
    treq_init(&t, "GET", target, 0);
    refused(&t, 414, "uri_too_long", "path");
    target[AL_ROUTER_MAX_PATH - 1] = '\0'; /* 511: no such path */
    treq_init(&t, "GET", target, 0);
    refused(&t, 404, "not_found", NULL);
    memset(target, 'a', sizeof target - 1);
    memcpy(target, "/healthz?x=", 11);
    treq_init(&t, "GET", target, 0); /* a target of 4097 bytes */
    refused(&t, 414, "uri_too_long", NULL);
    treq_init(&t, "GET", "/healthz", 0);
    for (int i = 0; i <= AL_CALL_MAX_HEADERS; i++)
        treq_add(&t, "X-H", "v", 0);
    refused(&t, 431, "headers_too_large", NULL);
}

static void test_fields(void **state)
{
    struct treq t;
    (void)state;
    treq_init(&t, "GET", "/healthz", 0);
    treq_add(&t, "X-Note", "a\0b", 3);
    refused(&t, 400, "invalid_argument", "X-Note");
    treq_init(&t, "GET", "/healthz", 0);
    treq_add(&t, "X Note", "a", 0);
    refused(&t, 400, "invalid_argument", "headers");
    treq_init(&t, "GET", "/healthz", 0);
    treq_add(&t, "host", "a", 0);
    treq_add(&t, "Host", "b", 0);
    refused(&t, 400, "invalid_argument", "Host");
    treq_init(&t, "GET", "/v1/me", 0);
    treq_add(&t, "Authorization", "Bearer a", 0);
    treq_add(&t, "authorization", "Bearer b", 0);
    assert_string_equal(refused(&t, 400, "invalid_argument", "Authorization"),
                        "Bearer realm=\"allot\", error=\"invalid_request\"");
}

static void test_framing(void **state)
{
    static const char *const bad_len[] = {
        "abc", "+5", "-1", " 5", "5 ", "5,5", "0x10", "99999999999999999999", ""};
    struct treq t;
    (void)state;
    treq_init(&t, "POST", "/v1/orgs", 0);
    treq_add(&t, "Content-Length", "2", 0);
    treq_add(&t, "content-length", "7", 0);
    refused(&t, 400, "invalid_argument", "Content-Length");
    for (size_t i = 0; i < sizeof bad_len / sizeof bad_len[0]; i++) {
        treq_init(&t, "POST", "/v1/orgs", 0);
        treq_add(&t, "Content-Length", bad_len[i], 0);
        refused(&t, 400, "invalid_argument", "Content-Length");
    }
    treq_init(&t, "POST", "/v1/orgs", 0);
    treq_add(&t, "Content-Length", "1048577", 0);
    refused(&t, 413, "payload_too_large", "body");
    treq_init(&t, "POST", "/v1/orgs", 0);
    treq_add(&t, "Transfer-Encoding", "Chunked", 0);
    refused(&t, 411, "length_required", "Content-Length");
    treq_init(&t, "POST", "/v1/orgs", 0);
    treq_add(&t, "Transfer-Encoding", "chunked", 0);
    treq_add(&t, "Content-Length", "2", 0);
    refused(&t, 400, "invalid_argument", "Transfer-Encoding");
    treq_init(&t, "POST", "/v1/orgs", 0);
    treq_add(&t, "Transfer-Encoding", "gzip", 0);
    refused(&t, 501, "unsupported", "Transfer-Encoding");
}

static void test_routes_and_auth(void **state)
{
    static struct al_srv srv;
    struct al_call *k = calloc(1, sizeof *k);
    struct treq t;
    char tok[64];
    uint8_t hash[AL_STORE_HASH_LEN];
    (void)state;
    assert_non_null(k);
    treq_init(&t, "HEAD", "/healthz", 0);
    treq_add(&t, "Content-Length", "0", 0);
    assert_true(al_call_begin(k, &srv, &t.req)); /* public: goes on to its body */
    assert_true(k->head);
    assert_string_equal(k->c.method, "GET");
    assert_string_equal(k->route->pattern, "/healthz");
    al_call_end(k);
    free(k);
    treq_init(&t, "HEAD", "/v1/orgs", 0);
    refused(&t, 401, "unauthenticated", NULL);
    treq_init(&t, "DELETE", "/healthz", 0);
    refused(&t, 404, "not_found", NULL);
    treq_init(&t, "GET", "/v1/me", 0);
    assert_string_equal(refused(&t, 401, "unauthenticated", NULL), "Bearer realm=\"allot\"");
    al_token_new(tok, sizeof tok, hash);
    tok[45] = tok[45] == 'B' ? 'C' : 'B'; /* unused bits set: not a token al_token_new makes */
    const char *bad[] = {
        "Bearer al_nope", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearerx", tok};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char v[128];
        snprintf(v, sizeof v, "%s%s", i == 5 ? "Bearer " : "", bad[i]);
        treq_init(&t, "GET", "/v1/me", 0);
        treq_add(&t, "Authorization", v, 0);
        assert_string_equal(refused(&t, 401, "unauthenticated", NULL),
                            "Bearer realm=\"allot\", error=\"invalid_token\"");
    }
}

static void test_token_shape(void **state)
{
    char tok[64], bad[64];
    uint8_t hash[AL_STORE_HASH_LEN];
    (void)state;
    for (int i = 0; i < 64; i++) {
        al_token_new(tok, sizeof tok, hash);
        assert_int_equal(strlen(tok), AL_TOKEN_LEN);
        assert_true(al_token_ok(tok, strlen(tok)));
    }
    assert_false(al_token_ok(tok, AL_TOKEN_LEN - 1));
    memcpy(bad, tok, sizeof bad);
    bad[0] = 'A';
    assert_false(al_token_ok(bad, AL_TOKEN_LEN));
    memcpy(bad, tok, sizeof bad);
    bad[10] = '+'; /* base64, not base64url */
    assert_false(al_token_ok(bad, AL_TOKEN_LEN));
    memcpy(bad, tok, sizeof bad);
    bad[AL_TOKEN_LEN - 1] = 'B'; /* its low bits would be data past the 32 bytes */
    assert_false(al_token_ok(bad, AL_TOKEN_LEN));
    memcpy(bad, tok, sizeof bad);
    bad[AL_TOKEN_LEN - 1] = 'A';
    assert_true(al_token_ok(bad, AL_TOKEN_LEN));
    bad[AL_TOKEN_LEN] = '=';
    assert_false(al_token_ok(bad, AL_TOKEN_LEN + 1));
}

static void test_parse_i64(void **state)
{
    static const char *const bad[] = {
        "", "+5", " 5", "5 ", "5x", "0x5", "--5", "-", "9223372036854775808", "1e3"};
    int64_t v = 42;
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(al_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v), AL_E_INVAL);
    assert_int_equal(al_parse_i64(NULL, 0, 1, &v), AL_E_INVAL);
    assert_int_equal(v, 42);
    assert_int_equal(al_parse_i64("501", 1, 500, &v), AL_E_INVAL);
    assert_int_equal(al_parse_i64("0", 1, 500, &v), AL_E_INVAL);
    assert_int_equal(al_parse_i64("500", 1, 500, &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(al_parse_i64("-9223372036854775808", INT64_MIN, 0, &v), 0);
    assert_true(v == INT64_MIN);
    assert_int_equal(al_parse_i64("007", 0, 10, &v), 0);
    assert_int_equal(v, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_in_target),   cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_fields),          cmocka_unit_test(test_framing),
        cmocka_unit_test(test_routes_and_auth), cmocka_unit_test(test_token_shape),
        cmocka_unit_test(test_parse_i64),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
