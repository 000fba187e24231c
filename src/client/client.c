/* client.c — the HTTP/JSON client over libcurl: bounded bodies, timeouts, error bodies turned
 * into al_err with the server's code, and percent-encoding of paths and query strings. */
#include "client/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct al_client {
    CURL *curl;
    char *server;
    char *auth; /* "Authorization: Bearer …" or NULL */
    long connect_ms, total_ms;
};

/* The response being received: bounded, so a hostile server cannot exhaust memory. */
struct al_resp {
    char *buf;
    size_t len, cap;
    int too_big;
};

static pthread_once_t al_curl_once = PTHREAD_ONCE_INIT;
static int al_curl_init_rc;

static void curl_init_once(void)
{
    al_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

static int check_server(const char *server, struct al_err *reterr)
{
    size_t n = server ? strlen(server) : 0;
    if (n == 0 || n > 1024)
        return al_err_set(reterr, AL_E_INVAL, "server URL: empty or too long");
    if (strncmp(server, "http://", 7) != 0 && strncmp(server, "https://", 8) != 0)
        return al_err_set(reterr, AL_E_INVAL,
                          "server URL '%s': must start with http:// or https://", server);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)server[i] <= ' ' || server[i] == 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "server URL: contains a control or space");
    return 0;
}

static int check_token(const char *token, struct al_err *reterr)
{
    size_t n = strlen(token);
    if (n == 0 || n > AL_CLIENT_MAX_TOKEN)
        return al_err_set(reterr, AL_E_INVAL, "token: empty or longer than %d characters",
                          AL_CLIENT_MAX_TOKEN);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)token[i] <= ' ' || (unsigned char)token[i] >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "token: contains a space or control character");
    return 0;
}

struct al_client *al_client_new(const char *server, const char *token, struct al_err *reterr)
{
    struct al_client *c = NULL;
    int rc = 0;
    pthread_once(&al_curl_once, curl_init_once);
    if (al_curl_init_rc != 0) {
        rc = al_err_set(reterr, AL_E_INTERNAL, "libcurl initialisation failed");
        goto out;
    }
    if ((rc = check_server(server, reterr)) < 0 || (token && (rc = check_token(token, reterr)) < 0))
        goto out;
    c = calloc(1, sizeof *c);
    if (!c || !(c->server = dupstr(server)) || !(c->curl = curl_easy_init()) ||
        (token && !(c->auth = malloc(strlen(token) + 32)))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t n = strlen(c->server); n > 0 && c->server[n - 1] == '/';)
        c->server[--n] = '\0';
    if (token)
        snprintf(c->auth, strlen(token) + 32, "Authorization: Bearer %s", token);
out:
    if (rc < 0) {
        al_client_free(c);
        c = NULL;
    }
    return c;
}

void al_client_free(struct al_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->auth) { /* the token is a secret: do not leave it in freed memory */
        memset(c->auth, 0, strlen(c->auth));
        free(c->auth);
    }
    free(c->server);
    free(c);
}

void al_client_set_timeouts(struct al_client *c, long connect_ms, long total_ms)
{
    c->connect_ms = connect_ms;
    c->total_ms = total_ms;
}

const char *al_client_server(const struct al_client *c)
{
    return c->server;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct al_resp *r = userdata;
    size_t n = size * nmemb;
    if (n > AL_CLIENT_MAX_BODY || r->len + n > AL_CLIENT_MAX_BODY) {
        r->too_big = 1;
        return 0; /* makes libcurl fail the transfer */
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b)
            return 0;
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, ptr, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return n;
}

static const struct {
    const char *name;
    int code;
} al_server_codes[] = {
    {"invalid_argument", AL_E_INVAL},
    {"unauthenticated", AL_E_AUTH},
    {"forbidden", AL_E_FORBIDDEN},
    {"not_found", AL_E_NOTFOUND},
    {"conflict", AL_E_CONFLICT},
    {"invalid_state", AL_E_STATE},
    {"no_capacity", AL_E_NOFIT},
    {"expired", AL_E_EXPIRED},
    {"payload_too_large", AL_E_RANGE},
    {"out_of_range", AL_E_RANGE},
    {"idempotency_mismatch", AL_E_CONFLICT},
    {"insufficient_balance", AL_E_PAYMENT},
    {"unsupported", AL_E_UNSUPPORTED},
    {"storage_full", AL_E_FULL},
    {"unavailable", AL_E_UNAVAILABLE},
    {"internal", AL_E_INTERNAL},
};

int al_client_code(const char *code, long status)
{
    for (size_t i = 0; code && i < sizeof al_server_codes / sizeof al_server_codes[0]; i++)
        if (strcmp(code, al_server_codes[i].name) == 0)
            return al_server_codes[i].code;
    switch (status) {
    case 400:
        return AL_E_INVAL;
    case 401:
        return AL_E_AUTH;
    case 403:
        return AL_E_FORBIDDEN;
    case 404:
        return AL_E_NOTFOUND;
    case 409:
        return AL_E_CONFLICT;
    case 413:
        return AL_E_RANGE;
    default:
        return status >= 500 ? AL_E_INTERNAL : AL_E_INVAL;
    }
}

/* Turn a non-2xx answer into a code and "message (code)" in reterr. */
static int answer_error(long status, json_t *j, struct al_err *reterr)
{
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    int rc = al_client_code(code, status);
    if (msg)
        return al_err_set(reterr, rc, "%.200s (%.40s)", msg, code ? code : "error");
    return al_err_set(reterr, rc, "the server answered HTTP %ld", status);
}

static struct curl_slist *make_headers(const struct al_client *c, const char *idem, int has_body,
                                       struct al_err *reterr)
{
    struct curl_slist *h = NULL, *t;
    char key[AL_CLIENT_MAX_IDEM + 32];
    const char *lines[5];
    size_t n = 0;
    if (idem && (idem[0] == '\0' || strlen(idem) > AL_CLIENT_MAX_IDEM || strpbrk(idem, "\r\n"))) {
        al_err_set(reterr, AL_E_INVAL, "idempotency key: 1 to %d characters, one line",
                   AL_CLIENT_MAX_IDEM);
        return NULL;
    }
    lines[n++] = "Accept: application/json";
    lines[n++] = "Expect:"; /* no 100-continue round trip */
    if (has_body)
        lines[n++] = "Content-Type: application/json";
    if (c->auth)
        lines[n++] = c->auth;
    if (idem) {
        snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
        lines[n++] = key;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(t = curl_slist_append(h, lines[i]))) {
            curl_slist_free_all(h);
            al_err_set(reterr, AL_E_NOMEM, "out of memory");
            return NULL;
        }
        h = t;
    }
    return h;
}

static void set_request(struct al_client *c, const char *method, const char *url,
                        const char *payload, struct curl_slist *hdr, struct al_resp *r)
{
    CURL *k = c->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms > 0 ? c->connect_ms : 5000L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, c->total_ms > 0 ? c->total_ms : 30000L);
    curl_easy_setopt(k, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)AL_CLIENT_MAX_BODY);
    if (strcmp(method, "GET") == 0)
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
    else
        curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    if (payload) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
    }
}

/* Perform, retrying once a failure to connect or to read an answer when retrying is safe. */
static CURLcode perform(struct al_client *c, struct al_resp *r, int retry_ok)
{
    CURLcode cc = curl_easy_perform(c->curl);
    if (retry_ok && !r->too_big &&
        (cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
         cc == CURLE_GOT_NOTHING)) {
        r->len = 0;
        cc = curl_easy_perform(c->curl);
    }
    return cc;
}

static int check_call(const char *method, const char *path, struct al_err *reterr)
{
    if (!method || !path || path[0] != '/')
        return al_err_set(reterr, AL_E_INVAL, "request path must start with '/'");
    if (strlen(path) > AL_CLIENT_MAX_URL - 1100)
        return al_err_set(reterr, AL_E_RANGE, "request path too long");
    return 0;
}

/* One exchange: what is asked, and what came back. */
struct exchange {
    const char *method, *path;
    json_t *body;                /* borrowed; NULL = none */
    const char *idempotency_key; /* NULL = none */
    bool want_json;              /* parse a 2xx answer as JSON (errors are always parsed) */
    struct al_resp r;            /* the answer's bytes (free r.buf) */
    long status;
    json_t *json; /* the parsed answer, or NULL (json_decref) */
};

/* Perform x: 0 for 2xx, else the server's error (x->json holds its body when it was JSON)
 * or AL_E_IO. */
static int exchange(struct al_client *c, struct exchange *x, struct al_err *reterr)
{
    struct curl_slist *hdr = NULL;
    char *payload = NULL, url[AL_CLIENT_MAX_URL];
    int rc = check_call(x->method, x->path, reterr);
    if (rc < 0)
        goto out;
    snprintf(url, sizeof url, "%s%s", c->server, x->path);
    if (x->body && !(payload = json_dumps(x->body, JSON_COMPACT))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "cannot encode the request body");
        goto out;
    }
    if (!(hdr = make_headers(c, x->idempotency_key, payload != NULL, reterr))) {
        rc = reterr ? reterr->code : AL_E_INVAL;
        goto out;
    }
    set_request(c, x->method, url, payload, hdr, &x->r);
    int retry_ok =
        x->idempotency_key || strcmp(x->method, "GET") == 0 || strcmp(x->method, "PUT") == 0;
    CURLcode cc = perform(c, &x->r, retry_ok);
    if (cc != CURLE_OK) {
        rc = al_err_set(reterr, AL_E_IO, "%s: %s", c->server,
                        x->r.too_big ? "answer larger than 8 MiB" : curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x->status);
    bool ok = x->status >= 200 && x->status < 300;
    if (x->r.len > 0 && (x->want_json || !ok))
        x->json = json_loadb(x->r.buf, x->r.len, JSON_REJECT_DUPLICATES, NULL);
    rc = ok ? 0 : answer_error(x->status, x->json, reterr);
out:
    curl_slist_free_all(hdr);
    free(payload);
    return rc;
}

/* The signature is the one the CLI, the agent and the bench share by design: the request (4),
 * the answer (status, body) and the error. */
/* NOLINTNEXTLINE(readability-function-size): 8 parameters, the shared signature above */
int al_client_call(struct al_client *c, const char *method, const char *path, json_t *body,
                   const char *idempotency_key, long *ret_status, json_t **ret_json,
                   struct al_err *reterr)
{
    struct exchange x = {method, path, body, idempotency_key, ret_json != NULL, {0}, 0, NULL};
    int rc = exchange(c, &x, reterr);
    if (ret_status)
        *ret_status = x.status;
    if (ret_json)
        *ret_json = x.json;
    else
        json_decref(x.json);
    free(x.r.buf);
    return rc;
}

int al_client_get_raw(struct al_client *c, const char *path, char **ret_body, size_t *ret_len,
                      long *ret_status, struct al_err *reterr)
{
    struct exchange x = {"GET", path, NULL, NULL, false, {0}, 0, NULL};
    int rc = exchange(c, &x, reterr);
    *ret_body = NULL;
    *ret_len = 0;
    if (rc == 0) {
        *ret_body = x.r.buf;
        *ret_len = x.r.len;
        x.r.buf = NULL;
    }
    if (ret_status)
        *ret_status = x.status;
    json_decref(x.json);
    free(x.r.buf);
    return rc;
}

/* A streamed answer: a 2xx body goes to the caller's function, an error's is gathered. */
struct stream {
    CURL *curl;
    al_client_data_fn fn;
    void *arg;
    struct al_resp err;
    bool stopped;
};

static size_t on_stream(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct stream *s = userdata;
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status >= 300)
        return on_data(ptr, size, nmemb, &s->err);
    if (s->fn(ptr, size * nmemb, s->arg) != 0) {
        s->stopped = true;
        return 0; /* ends the transfer */
    }
    return size * nmemb;
}

int al_client_stream(struct al_client *c, const char *path, long idle_s, al_client_data_fn fn,
                     void *arg, long *ret_status, struct al_err *reterr)
{
    struct stream s = {c->curl, fn, arg, {0}, false};
    struct curl_slist *hdr = NULL;
    char url[AL_CLIENT_MAX_URL];
    json_t *j = NULL;
    long status = 0;
    int rc = check_call("GET", path, reterr);
    if (rc < 0)
        goto out;
    snprintf(url, sizeof url, "%s%s", c->server, path);
    if (!(hdr = make_headers(c, NULL, 0, reterr))) {
        rc = reterr ? reterr->code : AL_E_INVAL;
        goto out;
    }
    set_request(c, "GET", url, NULL, hdr, &s.err);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 0L); /* a stream lasts */
    curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, idle_s > 0 ? idle_s : 60L);
    CURLcode cc = curl_easy_perform(c->curl);
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    if (s.stopped)
        rc = 0;
    else if (cc != CURLE_OK)
        rc = al_err_set(reterr, AL_E_IO, "%s: %s", c->server, curl_easy_strerror(cc));
    else if (status < 200 || status >= 300) {
        if (s.err.len)
            j = json_loadb(s.err.buf, s.err.len, JSON_REJECT_DUPLICATES, NULL);
        rc = answer_error(status, j, reterr);
    }
out:
    if (ret_status)
        *ret_status = status;
    json_decref(j);
    curl_slist_free_all(hdr);
    free(s.err.buf);
    return rc;
}

int al_url_encode(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int keep = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' || ch == '~';
        if (n + (keep ? 1 : 3) >= cap)
            return -ERANGE;
        if (keep) {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    if (n >= cap)
        return -ERANGE;
    out[n] = '\0';
    return (int)n;
}

void al_path_init(struct al_path *p, const char *prefix)
{
    *p = (struct al_path){0};
    size_t n = strlen(prefix);
    if (n >= sizeof p->buf) {
        p->err = 1;
        return;
    }
    memcpy(p->buf, prefix, n + 1);
    p->len = n;
}

static void path_put(struct al_path *p, const char *lit, const char *enc)
{
    size_t room = sizeof p->buf - p->len;
    size_t ln = strlen(lit);
    if (p->err || ln >= room) {
        p->err = 1;
        return;
    }
    memcpy(p->buf + p->len, lit, ln + 1);
    p->len += ln;
    if (!enc)
        return;
    int n = al_url_encode(enc, p->buf + p->len, sizeof p->buf - p->len);
    if (n < 0) {
        p->err = 1;
        return;
    }
    p->len += (size_t)n;
}

void al_path_seg(struct al_path *p, const char *seg)
{
    path_put(p, "/", seg);
}

void al_path_query(struct al_path *p, const char *key, const char *value)
{
    if (!value)
        return;
    path_put(p, p->nquery++ ? "&" : "?", key);
    path_put(p, "=", value);
}

const char *al_path_str(const struct al_path *p, struct al_err *reterr)
{
    if (p->err) {
        al_err_set(reterr, AL_E_RANGE, "request path longer than %zu bytes", sizeof p->buf - 1);
        return NULL;
    }
    return p->buf;
}

int al_client_random_key(char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    if (cap < 2 * sizeof raw + 1)
        return -ERANGE;
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof raw] = '\0';
    return 0;
}
