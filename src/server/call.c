/* call.c — one HTTP call from its request fields to its answer: the checks on the head
 * (before any body is read, so that a refused call never costs its upload), the route, the
 * caller, then the body and the unit of work (a mutation with Idempotency-Key replay,
 * answered after its commit), then the answer as JSON text. */
#include "server/call.h"

#include "server/evstream.h"

#include "common/num.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the request head ---- */

static char ascii_lower(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return (char)(ch - 'A' + 'a');
    return ch;
}

/* Do the `alen` bytes at `a` equal the string `b`, ignoring ASCII case (field names, RFC
 * 9110 5.1; never the locale's idea of case)? */
static bool name_eq(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen && b[i]; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return i == alen && b[i] == '\0';
}

const struct al_kv *al_req_header(const struct al_req *req, const char *name, size_t *count)
{
    const struct al_kv *first = NULL;
    size_t n = 0;
    for (size_t i = 0; req && i < req->nheaders && i <= AL_CALL_MAX_HEADERS; i++) {
        if (!name_eq(req->headers[i].key, req->headers[i].key_len, name))
            continue;
        if (!first)
            first = &req->headers[i];
        n++;
    }
    if (count)
        *count = n;
    return first;
}

/* Refuse the head: the call has failed already (al_http_fail); `status` and `code`, when
 * set, replace the HTTP status and API code of its error. Returns false: answer now. */
static bool refuse(struct al_call *k, int status, const char *code)
{
    k->proto_status = status;
    k->proto_code = code;
    k->answered = true;
    return false;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = ascii_lower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode the `n` bytes at `s` into `out` (room for n + 1) as libmicrohttpd does: "%HH"
 * is that byte, anything else stays (a '%' without two hex digits too); with `plus`, '+' is a
 * space (query strings). NUL-terminates; returns the decoded length, a decoded NUL counted. */
static size_t pct_decode(const char *s, size_t n, bool plus, char *out)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[w++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus && s[i] == '+') {
            out[w++] = ' ';
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return w;
}

/* Whether `n` bytes at `s` are UTF-8: a path segment or query value that is not can name
 * nothing allot stores (names and texts come in JSON, which is UTF-8), and PostgreSQL refuses
 * such bytes in a text parameter outright. jansson's check, not one of our own. */
static bool utf8_ok(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    bool ok = j != NULL;
    json_decref(j);
    return ok;
}

/* The field to name for a query parameter or header: itself when it reads as a name. */
static const char *field_of(const char *name, size_t len, const char *fallback)
{
    return strlen(name) == len && al_name_ok(name) ? name : fallback;
}

/* Decode the parameter `item` (`len` bytes, "name=value" or "name") into k->query. */
static bool query_param(struct al_call *k, const char *item, size_t len, size_t *used)
{
    struct al_ctx *c = &k->c;
    const char *eq = memchr(item, '=', len);
    size_t klen = eq ? (size_t)(eq - item) : len;
    if (k->nparams == AL_CALL_MAX_QUERY) {
        al_http_fail(c, AL_E_INVAL, "query", "more than %d query parameters", AL_CALL_MAX_QUERY);
        return refuse(k, 0, NULL);
    }
    struct al_kv *p = &k->params[k->nparams++];
    p->key = k->query + *used;
    p->key_len = pct_decode(item, klen, true, k->query + *used);
    *used += p->key_len + 1;
    p->val = k->query + *used;
    p->val_len = pct_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, true, k->query + *used);
    *used += p->val_len + 1;
    const char *field = field_of(p->key, p->key_len, "query");
    if (strlen(p->key) != p->key_len || strlen(p->val) != p->val_len) {
        al_http_fail(c, AL_E_INVAL, field, "NUL byte (%%00) in query parameter %s", field);
        return refuse(k, 0, NULL);
    }
    if (!utf8_ok(p->key, p->key_len) || !utf8_ok(p->val, p->val_len)) {
        al_http_fail(c, AL_E_INVAL, field, "query parameter %s is not UTF-8", field);
        return refuse(k, 0, NULL);
    }
    for (size_t i = 0; i + 1 < k->nparams; i++) {
        if (k->params[i].key_len == p->key_len &&
            memcmp(k->params[i].key, p->key, p->key_len) == 0) {
            al_http_fail(c, AL_E_INVAL, field, "query parameter %s given more than once", field);
            return refuse(k, 0, NULL);
        }
    }
    return true;
}

/* The query string (`n` bytes after the '?'): '&'-separated parameters; empty ones are
 * skipped. Each takes at most its length + 2 bytes of k->query (call.h). */
static bool parse_query(struct al_call *k, const char *q, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i <= n;) {
        const char *amp = memchr(q + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - q) : n;
        if (end > i && !query_param(k, q + i, end - i, &used))
            return false;
        i = end + 1;
    }
    return true;
}

/* The request-target: its length (414), NUL bytes, raw (the transport's copy) or encoded
 * (%00) in the path or a query parameter (400); a path that is not UTF-8 (404: it names nothing),
 * a query parameter that is not (400). */
static bool check_target(struct al_call *k)
{
    const struct al_req *r = k->req;
    struct al_ctx *c = &k->c;
    const char *q;
    size_t plen;
    if (r->target_len > AL_CALL_MAX_TARGET) {
        al_http_fail(c, AL_E_RANGE, "path", "request-target over %d bytes", AL_CALL_MAX_TARGET);
        return refuse(k, 414, "uri_too_long");
    }
    q = memchr(r->target, '?', r->target_len);
    plen = q ? (size_t)(q - r->target) : r->target_len;
    if (plen >= AL_ROUTER_MAX_PATH) {
        al_http_fail(c, AL_E_RANGE, "path", "path of %d bytes or more", AL_ROUTER_MAX_PATH);
        return refuse(k, 414, "uri_too_long");
    }
    plen = pct_decode(r->target, plen, false, k->path);
    if (memchr(r->target, '\0', r->target_len) || memchr(k->path, '\0', plen)) {
        al_http_fail(c, AL_E_INVAL, "path", "NUL byte in the path");
        return refuse(k, 0, NULL);
    }
    if (!utf8_ok(k->path, plen)) {
        al_http_fail(c, AL_E_NOTFOUND, NULL, "no such path (not UTF-8)");
        return refuse(k, 0, NULL);
    }
    return !q || parse_query(k, q + 1, r->target_len - (size_t)(q - r->target) - 1);
}

/* A field name is a token (RFC 9110 5.1): no space, no colon, no control byte. */
static bool token_ok(const char *s, size_t n)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (ch == '\0' || !strchr(extra, ch)))
            return false;
    }
    return n > 0;
}

/* How the body is framed: Content-Length only, parsed strictly, at most AL_HTTP_MAX_BODY
 * (413 now, before the body is sent: no "100 Continue"). A Transfer-Encoding beside it would
 * let a proxy and this server disagree on where the request ends (400); chunked uploads
 * alone are refused (411: every client of this API sends a length), others 501. */
static bool check_framing(struct al_call *k)
{
    struct al_ctx *c = &k->c;
    const struct al_kv *cl = al_req_header(k->req, "Content-Length", NULL);
    const struct al_kv *te = al_req_header(k->req, "Transfer-Encoding", NULL);
    uint64_t n = 0;
    if (te && cl) {
        al_http_fail(c, AL_E_INVAL, "Transfer-Encoding", "Transfer-Encoding with Content-Length");
        return refuse(k, 0, NULL);
    }
    if (te && name_eq(te->val, te->val_len, "chunked")) {
        al_http_fail(c, AL_E_INVAL, "Content-Length", "a body needs a Content-Length");
        return refuse(k, 411, "length_required");
    }
    if (te) {
        al_http_fail(c, AL_E_UNSUPPORTED, "Transfer-Encoding", "Transfer-Encoding not supported");
        return refuse(k, 0, NULL);
    }
    if (cl && al_num_parse_u64(cl->val, 0, UINT64_MAX, &n) != 0) {
        al_http_fail(c, AL_E_INVAL, "Content-Length", "Content-Length must be a decimal count");
        return refuse(k, 0, NULL);
    }
    if (n > AL_HTTP_MAX_BODY) {
        al_http_fail(c, AL_E_RANGE, "body", "request body over %u bytes", AL_HTTP_MAX_BODY);
        return refuse(k, 413, "payload_too_large");
    }
    k->body_len = n;
    return true;
}

/* The header fields: how many (431), their names, NUL bytes in values, fields that may come
 * only once (a second Content-Length is request smuggling; a second Authorization or Host
 * is ambiguous), then the framing. */
static bool check_fields(struct al_call *k)
{
    static const char *const once[] = {
        "Content-Length", "Transfer-Encoding", "Authorization", "Idempotency-Key", "Host", NULL};
    const struct al_req *r = k->req;
    struct al_ctx *c = &k->c;
    size_t n;
    if (r->nheaders > AL_CALL_MAX_HEADERS) {
        al_http_fail(c, AL_E_RANGE, "headers", "more than %d header fields", AL_CALL_MAX_HEADERS);
        return refuse(k, 431, "headers_too_large");
    }
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct al_kv *h = &r->headers[i];
        if (!token_ok(h->key, h->key_len)) {
            al_http_fail(c, AL_E_INVAL, "headers", "malformed header field name");
            return refuse(k, 0, NULL);
        }
        if (memchr(h->val, '\0', h->val_len) || memchr(h->val, '\r', h->val_len) ||
            memchr(h->val, '\n', h->val_len)) {
            const char *field = field_of(h->key, h->key_len, "headers");
            al_http_fail(c, AL_E_INVAL, field, "NUL or line break in header %s", field);
            return refuse(k, 0, NULL);
        }
    }
    for (const char *const *name = once; *name; name++) {
        if (al_req_header(r, *name, &n) && n > 1) {
            al_http_fail(c, AL_E_INVAL, *name, "header %s given more than once", *name);
            return refuse(k, 0, NULL);
        }
    }
    return check_framing(k);
}

bool al_call_begin(struct al_call *k, struct al_srv *srv, const struct al_req *req)
{
    struct al_ctx *c = &k->c;
    const struct al_kv *key;
    bool mismatch = false;
    c->srv = srv;
    c->call = k;
    k->req = req;
    /* HEAD is GET without the body (RFC 9110 9.3.2), which the listener leaves out */
    k->head = strcmp(req->method, "HEAD") == 0;
    c->method = k->head ? "GET" : req->method;
    if (req->hidden_nul) {
        al_http_fail(c, AL_E_INVAL, "headers", "NUL byte in the request head");
        return refuse(k, 0, NULL);
    }
    if (!check_target(k) || !check_fields(k))
        return false;
    k->route = al_router_find(c->method, k->path, k->segs, c->params, &mismatch);
    if (!k->route) {
        al_http_fail(c, AL_E_NOTFOUND, NULL, mismatch ? "method not allowed here" : "no such path");
        return refuse(k, 0, NULL);
    }
    /* who calls, before the body is read or parsed: a stranger learns nothing from it */
    k->had_credentials = al_req_header(req, "Authorization", NULL) != NULL;
    if (!al_auth_allowed(c, k->route, false))
        return refuse(k, 0, NULL);
    key = al_req_header(req, "Idempotency-Key", NULL);
    if (key && (key->val_len == 0 || key->val_len > AL_HTTP_MAX_IDEM)) {
        al_http_fail(c, AL_E_INVAL, "Idempotency-Key", "Idempotency-Key must be 1..128 chars");
        return refuse(k, 0, NULL);
    }
    k->idem_key = key && strcmp(c->method, "POST") == 0 ? key->val : NULL;
    return true;
}

/* ---- the body ---- */

/* Bound the nesting of a JSON text before jansson sees it. */
static bool depth_ok(const char *s, size_t n)
{
    int depth = 0;
    bool str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (str) {
            if (esc)
                esc = false;
            else if (ch == '\\')
                esc = true;
            else if (ch == '"')
                str = false;
        } else if (ch == '"') {
            str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > AL_HTTP_MAX_DEPTH)
                return false;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return true;
}

static int parse_body(struct al_ctx *c, const char *body, size_t len)
{
    json_error_t jerr;
    if (len == 0) {
        c->body = json_object();
        return c->body ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    if (!depth_ok(body, len))
        return al_http_fail(c, AL_E_INVAL, "body", "JSON nested deeper than %d", AL_HTTP_MAX_DEPTH);
    c->body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->body)
        return al_http_fail(c, AL_E_INVAL, "body", "malformed JSON at line %d: %s", jerr.line,
                            jerr.text);
    if (!json_is_object(c->body))
        return al_http_fail(c, AL_E_INVAL, "body", "body must be a JSON object");
    return 0;
}

/* ---- the call as a unit of work ---- */

/* What a call's unit of work needs besides its context. */
struct unit_arg {
    const struct al_call *k;
    const char *body;
    size_t len;
};

/* The hash an Idempotency-Key is stored with: a replay must be the same call. */
static void body_hash(const struct unit_arg *a, uint8_t out[AL_STORE_HASH_LEN])
{
    crypto_generichash_state st;
    const char *method = a->k->c.method, *path = a->k->path;
    crypto_generichash_init(&st, NULL, 0, AL_STORE_HASH_LEN);
    crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)path, strlen(path) + 1);
    if (a->len)
        crypto_generichash_update(&st, (const unsigned char *)a->body, a->len);
    crypto_generichash_final(&st, out, AL_STORE_HASH_LEN);
}

/* A mutation, with idempotent replay (server/idem.h): the run of a write unit (one savepoint in the
 * open batch). Returns 0 to keep its changes, a negative code to undo them. */
static int run_write(struct al_ctx *c, void *arg)
{
    const struct unit_arg *a = arg;
    const char *key = a->k->idem_key;
    uint8_t hash[AL_STORE_HASH_LEN];
    bool replayed = false;
    if (key) {
        body_hash(a, hash);
        if (al_idem_replay(c, key, hash, &replayed) != 0)
            return c->err_code;
        if (replayed)
            return 0;
    }
    if (a->k->route->fn(c) != 0 || (!c->resp && !c->resp_text))
        goto fail;
    if (key && al_idem_record(c, key, hash) != 0)
        goto fail;
    return 0;
fail:
    if (!c->err_code)
        al_http_fail(c, AL_E_INTERNAL, NULL, "handler gave no answer");
    return c->err_code;
}

/* The admission of a call's unit: its time (the caller was admitted with the head). */
static int admit(struct al_ctx *c, void *arg)
{
    (void)arg;
    c->now = al_srv_now(c->srv);
    return 0;
}

/* A read: the handler, under the lock or (snapshot) under the calendar's read lock. */
static int run_read(struct al_ctx *c, void *arg)
{
    const struct unit_arg *a = arg;
    if (a->k->route->fn(c) != 0 && !c->err_code)
        al_http_fail(c, AL_E_INTERNAL, NULL, "handler failed");
    return c->err_code;
}

/* Before a write unit runs again (server/txn.h: its run met a concurrent transaction): the
 * first run's answer is forgotten, the second run's is the call's. */
static void again(struct al_ctx *c, void *arg)
{
    (void)arg;
    al_http_reset_answer(c);
}

/* The call's unit of work, on `a` (the call's). */
static void unit_of(const struct al_call *k, struct unit_arg *a, struct al_txn_unit *u)
{
    const struct al_route *r = k->route;
    *u = (struct al_txn_unit){.kind = r->snapshot ? AL_TXN_SNAPSHOT
                                      : r->write  ? AL_TXN_WRITE
                                                  : AL_TXN_READ,
                              .admit = admit,
                              .run = r->write ? run_write : run_read,
                              .again = r->write ? again : NULL,
                              .arg = a};
}

/* The call's unit of work (on `a`, the call's), after its body is parsed. Returns false when
 * the call is answered already (a malformed body). */
static bool call_unit(struct al_call *k, struct unit_arg *a, struct al_txn_unit *u)
{
    struct al_ctx *c = &k->c;
    unit_of(k, a, u);
    k->answered = true;
    return !((strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0) &&
             parse_body(c, a->body, a->len) != 0);
}

/* The unit's result `rc`: a failure that no handler described (the batch's) fails the call. */
static void call_result(struct al_call *k, int rc)
{
    if (rc < 0 && !k->c.err_code)
        al_http_fail_err(&k->c, rc, &k->err);
}

void al_call_run(struct al_call *k, const char *body, size_t len)
{
    struct unit_arg a = {k, body, len};
    struct al_txn_unit u;
    if (call_unit(k, &a, &u)) /* answered after the commit of what the call wrote or read */
        call_result(k, al_txn_run(&k->c, &u, &k->err));
}

bool al_call_run_parked(struct al_call *k, const char *body, size_t len, void (*suspend)(void *arg),
                        void (*resume)(void *arg), void *arg)
{
    struct unit_arg a = {k, body, len};
    struct al_txn_unit u;
    int rc;
    if (!call_unit(k, &a, &u))
        return false;
    k->park = (struct al_txn_park){.suspend = suspend, .resume = resume, .arg = arg};
    if (al_txn_run_parked(&k->c, &u, &k->park, &rc, &k->err))
        return true;
    call_result(k, rc);
    return false;
}

bool al_call_resumed(struct al_call *k, const char *body, size_t len)
{
    struct unit_arg a = {k, body, len};
    struct al_txn_unit u;
    int rc;
    if (!k->park.gated) { /* its batch is finished */
        call_result(k, al_txn_unpark(&k->park, &k->err));
        return false;
    }
    /* a read that the read gate held back: it runs now (a body was parsed before it parked) */
    unit_of(k, &a, &u);
    if (al_txn_run_parked(&k->c, &u, &k->park, &rc, &k->err))
        return true;
    call_result(k, rc);
    return false;
}

/* ---- the answer ---- */

/* A copy of `s` that is safe as a JSON string: messages and field names may quote what a
 * client sent (a name in a path, a key cut at its length bound), which need not be UTF-8 and
 * would make jansson refuse the whole answer; any byte outside printable ASCII becomes '?'. */
static void ascii_copy(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) {
        if (*s >= ' ' && *s < 0x7f)
            dst[n++] = *s;
        else
            dst[n++] = '?';
    }
    dst[n] = '\0';
}

static json_t *error_json(const struct al_call *k, int *status)
{
    const struct al_ctx *c = &k->c;
    const char *code = k->proto_code ? k->proto_code : al_http_code_name(c->err_code);
    json_t *details = c->err_details ? json_incref(c->err_details) : json_object();
    char msg[sizeof c->err_msg], field[sizeof c->err_field];
    ascii_copy(msg, sizeof msg, c->err_msg);
    ascii_copy(field, sizeof field, c->err_field);
    if (c->status == 422) {
        code = "idempotency_mismatch";
    } else if (c->err_api) {
        code = c->err_api;
    } else if (c->err_code == AL_E_PAYMENT && c->err_refusal != AL_REFUSAL_NONE) {
        code = al_refusal_code_name((enum al_refusal_code)c->err_refusal);
        *status = al_refusal_http_status((enum al_refusal_code)c->err_refusal);
    } else if (c->err_code == AL_E_RANGE && strcmp(c->err_field, "body") == 0) {
        code = "payload_too_large";
        *status = 413;
    }
    if (*status == 0)
        *status = al_http_status(c->err_code);
    if (field[0])
        json_object_set_new(details, "field", json_string(field));
    return json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", msg, "details",
                     details);
}

/* The challenge of a refused credential (RFC 9110 11.6.1, RFC 6750 3): every 401 names the
 * scheme, and says whether the token that came was bad or the request malformed. */
static const char *www_authenticate(const struct al_call *k, int status)
{
    if (status == 401)
        return k->had_credentials ? "Bearer realm=\"allot\", error=\"invalid_token\""
                                  : "Bearer realm=\"allot\"";
    if (status == 400 && strcmp(k->c.err_field, "Authorization") == 0)
        return "Bearer realm=\"allot\", error=\"invalid_request\"";
    return NULL;
}

int al_call_reply(struct al_call *k, struct al_reply *out)
{
    struct al_ctx *c = &k->c;
    json_t *j;
    int status;
    if (!c->err_code && c->stream) { /* an event stream: handed over, the listener sends it */
        *out = (struct al_reply){
            .status = 200, .content_type = "text/event-stream", .stream = c->stream};
        c->stream = NULL;
        return 0;
    }
    if (!c->err_code && c->resp_text) { /* a non-JSON answer: handed over as it is */
        out->status = c->status ? c->status : 200;
        out->www_authenticate = NULL;
        out->content_type = c->resp_type;
        out->text = c->resp_text;
        out->len = strlen(c->resp_text);
        c->resp_text = NULL;
        return 0;
    }
    if (c->err_code || !c->resp) {
        status = k->proto_status ? k->proto_status : c->status == 422 ? 422 : 0;
        if (!c->err_code)
            al_http_fail(c, AL_E_INTERNAL, NULL, "no answer");
        j = error_json(k, &status);
    } else {
        status = c->status ? c->status : 200;
        j = json_incref(c->resp);
    }
    out->status = status;
    out->www_authenticate = www_authenticate(k, status);
    out->text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    out->len = out->text ? strlen(out->text) : 0;
    json_decref(j);
    if (!out->text) {
        out->status = 500;
        return AL_E_NOMEM;
    }
    return 0;
}

void al_call_end(struct al_call *k)
{
    struct al_ctx *c = &k->c;
    json_decref(c->resp);
    free(c->resp_text);
    c->resp_text = NULL;
    al_evsub_free(c->stream);
    c->stream = NULL;
    json_decref(c->body);
    json_decref(c->user);
    json_decref(c->err_details);
    c->resp = c->body = c->user = c->err_details = NULL;
}
