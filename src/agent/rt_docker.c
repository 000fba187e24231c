/* rt_docker.c — the "docker-api" runtime (runtime.h): the Docker Engine API v1.41 over a unix
 * socket with libcurl (CURLOPT_UNIX_SOCKET_PATH), as Docker and Podman's service speak it, and
 * the validation of its answers. One libcurl handle, reused; each call connects anew, so that a
 * service that went away and came back is found again without reopening anything. */
#include "agent/rt_internal.h"
#include "client/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DOCKER_MAX_BODY  (4u << 20)  /* an answer larger than this is refused */
#define DOCKER_MAX_LOGS  (64u << 20) /* log stream bytes read at most */
#define DOCKER_SOCK_MAX  107         /* bytes of the socket's path (sun_path holds 108) */
#define DOCKER_LOG_LINES "65536"     /* lines asked for: >= AL_RUNTIME_LOG_MAX bytes of them */

struct docker {
    CURL *curl;
    char sock[DOCKER_SOCK_MAX + 1];
    bool gpu_requests;
    char node[AL_RUNTIME_NODE_MAX]; /* list only this node's containers ("": every one) */
};

/* An answer being received: bounded, or streamed through the log demultiplexer. */
struct answer {
    char *buf;
    size_t len, cap, total;
    bool too_big;
    struct al_rt_demux *demux; /* logs: a 2xx answer's payload goes here, buf stays empty */
    CURL *curl;                /* with demux: to ask the status before the first byte */
    struct al_err derr;        /* the demultiplexer's refusal */
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata)
{
    struct answer *a = userdata;
    size_t n = size * nmemb;
    long status = 0;
    if (a->demux && a->total == 0 && a->len == 0)
        curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    if (a->demux && (a->total > 0 || (status >= 200 && status < 300))) {
        a->total += n;
        if (a->total > DOCKER_MAX_LOGS) {
            a->too_big = true;
            return 0;
        }
        return al_runtime_demux_feed(a->demux, p, n, &a->derr) < 0 ? 0 : n;
    }
    if (n > DOCKER_MAX_BODY || a->len + n > DOCKER_MAX_BODY) {
        a->too_big = true;
        return 0;
    }
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *b = realloc(a->buf, cap);
        if (!b)
            return 0;
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
    a->buf[a->len] = '\0';
    return n;
}

/* A runtime's id, before it goes into a path: [A-Za-z0-9_.-]{1,128}. */
static int id_ok(const char *id, struct al_err *reterr)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= AL_RUNTIME_ID_MAX)
        return al_err_set(reterr, AL_E_INVAL, "container id: 1 to %d characters",
                          AL_RUNTIME_ID_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", id[i]))
            return al_err_set(reterr, AL_E_INVAL, "container id: [A-Za-z0-9_.-] only");
    return 0;
}

/* The service's "message" (untrusted) as one line of printable ASCII, at most 200 bytes. */
static void message_of(const struct answer *a, char *out, size_t cap)
{
    json_t *j = a->len ? json_loadb(a->buf, a->len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "message"));
    size_t n = 0;
    for (; m && m[n] && n + 1 < cap && n < 200; n++) {
        out[n] = m[n];
        if ((unsigned char)m[n] < 0x20 || (unsigned char)m[n] >= 0x7f)
            out[n] = '?'; /* a control, or a byte of UTF-8 */
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, cap, "no message");
    json_decref(j);
}

static int status_code(long status)
{
    switch (status) {
    case 404:
        return AL_E_NOTFOUND;
    case 409:
        return AL_E_CONFLICT;
    case 400:
        return AL_E_INVAL;
    default:
        return AL_E_INTERNAL;
    }
}

/* The request's options on the reused handle. */
static void set_request(struct docker *d, const char *method, const char *url, const char *payload,
                        struct curl_slist *hdr, struct answer *a, long total_ms)
{
    CURL *k = d->curl;
    curl_easy_reset(k);
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_UNIX_SOCKET_PATH, d->sock);
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, total_ms);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(k, CURLOPT_HTTPGET, 1L);
        return;
    }
    curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(k, CURLOPT_POSTFIELDS, payload ? payload : "");
        curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, payload ? (long)strlen(payload) : 0L);
    }
}

/* The failure of a call that got no answer: the socket named, and for a refused connection
 * the system's reason ("connect: No such file or directory"). */
static int no_answer(struct docker *d, CURLcode cc, const struct answer *a, struct al_err *reterr)
{
    long os = 0;
    if (a->demux && a->derr.code < 0)
        return al_err_set(reterr, a->derr.code, "%s", a->derr.msg);
    if (a->too_big)
        return al_err_set(reterr, AL_E_RANGE, "docker-api %s: answer larger than %u MiB", d->sock,
                          (a->demux ? DOCKER_MAX_LOGS : DOCKER_MAX_BODY) >> 20);
    curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os);
    if (cc == CURLE_COULDNT_CONNECT && os > 0) {
        char why[128] = "?";
        (void)strerror_r((int)os, why, sizeof why);
        return al_err_set(reterr, AL_E_IO, "docker-api %s: connect: %s", d->sock, why);
    }
    return al_err_set(reterr, AL_E_IO, "docker-api %s: %s", d->sock, curl_easy_strerror(cc));
}

/* One call: `method` on /v1.41`path` with `body` (borrowed, may be NULL). 0 when it answered
 * 2xx (or 304, "nothing to do": a start of a running one, a stop of a stopped one); the answer
 * in *a (free a->buf). */
static int call(struct docker *d, const char *method, const char *path, const json_t *body,
                struct answer *a, long total_ms, struct al_err *reterr)
{
    struct curl_slist *hdr = NULL;
    char *payload = NULL, url[512], msg[208];
    long status = 0;
    int rc = 0;
    if (snprintf(url, sizeof url, "http://localhost/v1.41%s", path) >= (int)sizeof url)
        return al_err_set(reterr, AL_E_RANGE, "docker-api: path too long");
    if (body && !(payload = json_dumps(body, JSON_COMPACT)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if (!(hdr = curl_slist_append(NULL, "Content-Type: application/json"))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    set_request(d, method, url, payload, hdr, a, total_ms);
    CURLcode cc = curl_easy_perform(d->curl);
    if (cc != CURLE_OK) {
        rc = no_answer(d, cc, a, reterr);
        goto out;
    }
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
    if ((status < 200 || status >= 300) && status != 304) {
        message_of(a, msg, sizeof msg);
        rc = al_err_set(reterr, status_code(status), "docker-api: %s %.200s: HTTP %ld: %s", method,
                        path, status, msg);
    }
out:
    curl_slist_free_all(hdr);
    free(payload);
    return rc;
}

static int d_open(const char *arg, bool gpu_requests, void **ret, struct al_err *reterr)
{
    struct docker *d;
    size_t n = arg ? strlen(arg) : 0;
    *ret = NULL;
    if (n == 0 || n > DOCKER_SOCK_MAX || arg[0] != '/')
        return al_err_set(reterr, AL_E_INVAL,
                          "runtime docker-api: an absolute socket path of at "
                          "most %d bytes required",
                          DOCKER_SOCK_MAX);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return al_err_set(reterr, AL_E_INTERNAL, "libcurl initialisation failed");
    if (!(d = calloc(1, sizeof *d)) || !(d->curl = curl_easy_init())) {
        free(d);
        curl_global_cleanup();
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    memcpy(d->sock, arg, n + 1);
    d->gpu_requests = gpu_requests;
    *ret = d;
    return 0;
}

static void d_close(void *impl)
{
    struct docker *d = impl;
    if (!d)
        return;
    curl_easy_cleanup(d->curl);
    free(d);
    curl_global_cleanup();
}

static int d_ping(void *impl, struct al_err *reterr)
{
    struct answer a = {0};
    json_t *j = NULL;
    int rc = call(impl, "GET", "/version", NULL, &a, 10000L, reterr);
    if (rc == 0)
        j = json_loadb(a.buf ? a.buf : "", a.len, 0, NULL);
    if (rc == 0 && !json_is_object(j))
        rc = al_err_set(reterr, AL_E_INVAL, "docker-api: GET /version: not a JSON object");
    json_decref(j);
    free(a.buf);
    return rc;
}

static int d_scope(void *impl, const char *node, struct al_err *reterr)
{
    struct docker *d = impl;
    (void)reterr; /* runtime.c checked the name */
    snprintf(d->node, sizeof d->node, "%s", node);
    return 0;
}

static int d_list(void *impl, struct al_rt_ctr **ret, size_t *n, struct al_err *reterr)
{
    const struct docker *d = impl;
    struct answer a = {0};
    char path[400], filters[300], f[160];
    /* two label filters are both required: allot's containers of this node */
    if (d->node[0])
        snprintf(f, sizeof f, "{\"label\":[\"%s\",\"%s=%s\"]}", AL_RUNTIME_LABEL, AL_RUNTIME_NODE,
                 d->node);
    else
        snprintf(f, sizeof f, "{\"label\":[\"%s\"]}", AL_RUNTIME_LABEL);
    if (al_url_encode(f, filters, sizeof filters) < 0)
        return al_err_set(reterr, AL_E_RANGE, "docker-api: filter too long");
    snprintf(path, sizeof path, "/containers/json?all=1&filters=%s", filters);
    int rc = call(impl, "GET", path, NULL, &a, 30000L, reterr);
    if (rc == 0)
        rc = al_runtime_parse_list(a.buf ? a.buf : "", a.len, ret, n, reterr);
    free(a.buf);
    return rc;
}

/* Env as Docker takes it: ["K=V", …], the device last so that nothing overrides it. */
static json_t *env_of(const struct al_runtime_spec *s)
{
    json_t *env = json_array(), *v;
    const char *k;
    char kv[4352];
    json_object_foreach((json_t *)s->env, k, v)
    {
        snprintf(kv, sizeof kv, "%s=%s", k, json_string_value(v));
        if (json_array_append_new(env, json_string(kv)) < 0)
            goto fail;
    }
    snprintf(kv, sizeof kv, "NVIDIA_VISIBLE_DEVICES=%s", s->device);
    if (json_array_append_new(env, json_string(kv)) == 0)
        return env;
fail:
    json_decref(env);
    return NULL;
}

/* The body of POST /containers/create: the image, command, env, labels, no network, and the
 * GPU as the NVIDIA toolkit takes it when asked for. */
static json_t *create_body(const struct docker *d, const struct al_runtime_spec *s)
{
    json_t *env = env_of(s), *host, *body;
    if (!env)
        return NULL;
    host = json_pack("{s:s}", "NetworkMode", "none");
    if (host && d->gpu_requests &&
        json_object_set_new(host, "DeviceRequests",
                            json_pack("[{s:s,s:[s],s:[[s]]}]", "Driver", "nvidia", "DeviceIDs",
                                      s->device, "Capabilities", "gpu")) < 0) {
        json_decref(host);
        host = NULL;
    }
    body = host ? json_pack("{s:s,s:O,s:o,s:O,s:o,s:b}", "Image", s->image, "Cmd", s->command,
                            "Env", env, "Labels", s->labels, "HostConfig", host, "Tty", 0)
                : NULL;
    if (!host)
        json_decref(env);
    return body;
}

static int d_create(void *impl, const struct al_runtime_spec *s, char *id, struct al_err *reterr)
{
    struct answer a = {0};
    char path[128];
    json_t *body = create_body(impl, s);
    int rc;
    if (!body)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((rc = id_ok(s->ctr, reterr)) < 0)
        goto out;
    snprintf(path, sizeof path, "/containers/create?name=%s", s->ctr);
    if ((rc = call(impl, "POST", path, body, &a, 60000L, reterr)) == 0)
        rc = al_runtime_parse_created(a.buf ? a.buf : "", a.len, id, reterr);
out:
    json_decref(body);
    free(a.buf);
    return rc;
}

#define ID_PATH_MAX (AL_RUNTIME_ID_MAX + 64)

/* "/containers/<id><what>" into path (ID_PATH_MAX), the id checked first. */
static int id_path(const char *id, const char *what, char path[ID_PATH_MAX], struct al_err *reterr)
{
    int rc = id_ok(id, reterr);
    if (rc == 0)
        snprintf(path, ID_PATH_MAX, "/containers/%s%s", id, what);
    return rc;
}

/* POST or DELETE /containers/{id}<what>: no answer but the status. */
static int act(void *impl, const char *method, const char *id, const char *what, long ms,
               struct al_err *reterr)
{
    struct answer a = {0};
    char path[ID_PATH_MAX];
    int rc = id_path(id, what, path, reterr);
    if (rc == 0)
        rc = call(impl, method, path, NULL, &a, ms, reterr);
    free(a.buf);
    return rc;
}

static int d_start(void *impl, const char *id, struct al_err *reterr)
{
    return act(impl, "POST", id, "/start", 60000L, reterr);
}

static int d_stop(void *impl, const char *id, struct al_err *reterr)
{
    char what[32];
    snprintf(what, sizeof what, "/stop?t=%d", AL_RUNTIME_STOP_S);
    return act(impl, "POST", id, what, (AL_RUNTIME_STOP_S + 30) * 1000L, reterr);
}

static int d_remove(void *impl, const char *id, struct al_err *reterr)
{
    return act(impl, "DELETE", id, "?force=1", 60000L, reterr);
}

static int d_inspect(void *impl, const char *id, struct al_rt_ctr *ret, struct al_err *reterr)
{
    struct answer a = {0};
    char path[ID_PATH_MAX];
    int rc = id_path(id, "/json", path, reterr);
    if (rc == 0)
        rc = call(impl, "GET", path, NULL, &a, 30000L, reterr);
    if (rc == 0)
        rc = al_runtime_parse_inspect(a.buf ? a.buf : "", a.len, ret, reterr);
    free(a.buf);
    return rc;
}

static int d_logs(void *impl, const char *id, char **ret, size_t *len, struct al_err *reterr)
{
    struct al_rt_demux dm = {0};
    struct answer a = {.demux = &dm, .curl = ((struct docker *)impl)->curl};
    char path[ID_PATH_MAX];
    int rc = id_path(id, "/logs?stdout=1&stderr=1&tail=" DOCKER_LOG_LINES, path, reterr);
    if (rc == 0)
        rc = call(impl, "GET", path, NULL, &a, 30000L, reterr);
    if (rc == 0)
        rc = al_runtime_demux_tail(&dm, ret, len, reterr);
    al_runtime_demux_free(&dm);
    free(a.buf);
    return rc;
}

const struct al_rt_ops al_rt_docker_ops = {
    "docker-api", d_open,    d_close, d_ping, d_list,   d_create,
    d_start,      d_inspect, d_logs,  d_stop, d_remove, d_scope,
};
