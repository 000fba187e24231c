/* server.c — the HTTP front of `allot server`: libmicrohttpd with a thread pool and bounded
 * connections (per client address, in all, idle time); each request's fields handed to
 * server/call.h when its head is in (a refusal is answered then, before any body is read),
 * its body gathered to the announced length, the call run and its answer sent; the
 * database's first operator; start-up, the clock thread that runs the background jobs
 * (server/jobs.h), and a clean stop on SIGINT/SIGTERM. */
/* glibc's feature-test macro, for pthread_rwlockattr_setkind_np: writers must not starve
 * under reads. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming) */
#define _GNU_SOURCE
#include "server/server.h"

#include "core/event.h"
#include "server/accesslog.h"
#include "server/auth.h"
#include "server/cal.h"
#include "server/call.h"
#include "server/evstream.h"
#include "server/http.h"
#include "server/idem.h"
#include "server/jobs.h"
#include "server/metrics.h"
#include "server/migplan.h"
#include "server/tap.h"
#include "server/txn.h"
#include "server/web.h"
#include "server/webhooks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* A request on a connection, from its request line to its answer: made when libmicrohttpd
 * reads the request line (on_uri), freed when the request completes (on_completed). */
struct conn_state {
    struct al_call call;
    struct al_req req;
    struct al_kv headers[AL_CALL_MAX_HEADERS + 1]; /* one more than allowed: refused */
    size_t nheaders;
    char target[AL_CALL_MAX_TARGET + 1]; /* the request-target as sent (its start if longer) */
    const char *raw_uri;                 /* where libmicrohttpd holds it (head_intact) */
    size_t raw_uri_len;
    bool begun;    /* the head went through al_call_begin */
    bool going_on; /* ... and the call goes on: its body is read */
    bool parked;   /* ... and the call waits, suspended, for its batch's commit */
    char *buf;     /* the body, call.body_len bytes */
    size_t len;
    struct timespec t0;
};

/* The request line is in: its request-target as sent, before libmicrohttpd splits and
 * decodes it in place. The result becomes the request's *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct conn_state *cs = calloc(1, sizeof *cs);
    size_t n = strlen(uri);
    (void)cls;
    (void)conn;
    if (!cs)
        return NULL;
    clock_gettime(CLOCK_MONOTONIC, &cs->t0);
    memcpy(cs->target, uri, n < AL_CALL_MAX_TARGET ? n : AL_CALL_MAX_TARGET);
    cs->raw_uri = uri;
    cs->raw_uri_len = n;
    return cs;
}

static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
    struct conn_state *cs = cls;
    (void)kind;
    cs->headers[cs->nheaders++] =
        (struct al_kv){key, key_size, value ? value : "", value ? value_size : 0};
    return cs->nheaders <= AL_CALL_MAX_HEADERS ? MHD_YES : MHD_NO;
}

/* Walking libmicrohttpd's copy of the request head (head_intact): offsets from its first
 * byte, every read inside it. */
struct head_walk {
    const char *base;
    size_t size;
    size_t at; /* the next byte to account for */
};

/* Is the piece `s` (`n` bytes, handed out by libmicrohttpd) the next thing in the head? Then
 * step over it. */
static bool walk_piece(struct head_walk *w, const char *s, size_t n)
{
    size_t off = (size_t)((uintptr_t)s - (uintptr_t)w->base);
    if (off != w->at || off > w->size || n > w->size - off)
        return false;
    w->at = off + n;
    return true;
}

/* Step over `min` to `max` NUL bytes (separators and line ends that libmicrohttpd zeroed),
 * then, with `blanks`, the spaces and tabs it skips after a separator. */
static bool walk_gap(struct head_walk *w, size_t min, size_t max, bool blanks)
{
    size_t n = 0;
    while (n < max && w->at < w->size && w->base[w->at] == '\0') {
        w->at++;
        n++;
    }
    while (blanks && w->at < w->size && (w->base[w->at] == ' ' || w->base[w->at] == '\t'))
        w->at++;
    return n >= min;
}

/* libmicrohttpd 0.9.75 (Debian 12) cuts the request-target and each header value at a NUL
 * byte before the application sees them, where RFC 9110 5.5 wants the message refused:
 * "Bearer <token>\0junk" would pass as "Bearer <token>". It parses the head in place, in one
 * buffer from the method on: "METHOD\0target\0VERSION\0\0", then per line "Name\0 value\0\0"
 * (CR LF or a bare LF, each zeroed; blanks after the colon), then the empty line. So every
 * piece it hands out must end where the next begins, a line end apart; a NUL inside a piece
 * leaves its tail between them. A folded line (obsolete, RFC 9112 5.2), which libmicrohttpd
 * moves out of the buffer, fails the walk as well. Returns false when the head holds more
 * than what we were given. */
static bool head_intact(struct MHD_Connection *conn, const struct conn_state *cs,
                        const char *method, const char *version)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    struct head_walk w = {.base = method, .size = info ? info->header_size : 0};
    bool ok = info && walk_piece(&w, method, strlen(method)) && walk_gap(&w, 1, 1, true) &&
              walk_piece(&w, cs->raw_uri, cs->raw_uri_len) && walk_gap(&w, 1, 1, false) &&
              walk_piece(&w, version, strlen(version));
    for (size_t i = 0; ok && i < cs->nheaders; i++) {
        const struct al_kv *h = &cs->headers[i];
        ok = walk_gap(&w, 1, 2, false) && walk_piece(&w, h->key, h->key_len) &&
             walk_gap(&w, 1, 1, true) && walk_piece(&w, h->val, h->val_len);
    }
    /* the last line's end and the empty line */
    return ok && walk_gap(&w, 2, 4, false) && w.at == w.size;
}

/* The peer's address as text into out (cap >= INET6_ADDRSTRLEN), or NULL. */
static const char *client_addr(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa && sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    return addr && inet_ntop(sa->sa_family, addr, out, (socklen_t)cap) ? out : NULL;
}

/* The answered call counted (server/metrics.h) and logged (server/accesslog.h): neither takes
 * a lock of the server's nor makes a system call here. */
static void account(struct MHD_Connection *conn, const char *method, const struct conn_state *cs,
                    const struct al_reply *rep)
{
    struct al_srv *srv = cs->call.c.srv;
    struct timespec t1;
    char client[INET6_ADDRSTRLEN];
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t us = (int64_t)(t1.tv_sec - cs->t0.tv_sec) * 1000000 +
                 (int64_t)(t1.tv_nsec - cs->t0.tv_nsec) / 1000;
    if (us < 0)
        us = 0;
    al_metrics_request(srv->metrics, cs->call.route, method, rep->status, (uint64_t)us);
    if (!srv->accesslog)
        return;
    struct al_access a = {
        .method = method,
        .path = cs->target,
        .route = cs->call.route ? cs->call.route->pattern : NULL,
        .status = rep->status,
        .ms = (double)us / 1e3,
        .user = cs->call.c.user_id,
        .client = client_addr(conn, client, sizeof client),
        .bytes = cs->call.head ? 0 : rep->len,
    };
    al_accesslog_write(srv->accesslog, &a);
}

/* Send the call's answer: JSON (no body for HEAD: libmicrohttpd leaves it out), with
 * WWW-Authenticate when the answer asks for credentials; then count and log it. */
static enum MHD_Result answer(struct MHD_Connection *conn, const char *method,
                              struct conn_state *cs)
{
    static const char nomem[] = "{\"error\":{\"code\":\"internal\",\"message\":\"no memory\"}}";
    struct al_reply rep = {0};
    struct MHD_Response *resp;
    enum MHD_Result r = MHD_NO;
    if (al_call_reply(&cs->call, &rep) != 0)
        resp = MHD_create_response_from_buffer(sizeof nomem - 1, (void *)nomem,
                                               MHD_RESPMEM_PERSISTENT);
    else if (rep.stream) /* GET /v1/events?follow=1 (server/evstream.h) */
        resp = al_evstream_response(rep.stream, conn);
    else
        resp = MHD_create_response_from_buffer(rep.len, rep.text, MHD_RESPMEM_MUST_COPY);
    al_tap_answer(&cs->call, method, &rep);
    free(rep.text);
    if (resp) {
        MHD_add_response_header(resp, "Content-Type",
                                rep.content_type ? rep.content_type : "application/json");
        if (rep.www_authenticate)
            MHD_add_response_header(resp, "WWW-Authenticate", rep.www_authenticate);
        r = MHD_queue_response(conn, (unsigned)rep.status, resp);
        MHD_destroy_response(resp);
    }
    account(conn, method, cs, &rep);
    return r;
}

/* A dashboard file (server/web.h) for a GET or HEAD outside the API: from memory, with its
 * ETag (304 when the browser has it), never cached without asking (the names carry no
 * version), under the dashboard's Content-Security-Policy. Counted and logged like a call. */
static enum MHD_Result answer_web(struct MHD_Connection *conn, const char *method,
                                  struct conn_state *cs, const struct al_web_file *f)
{
    const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-None-Match");
    bool same = inm && strcmp(inm, f->etag) == 0;
    unsigned status = same ? 304 : 200;
    enum MHD_Result r = MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        same ? 0 : f->len, same ? NULL : (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (resp) {
        MHD_add_response_header(resp, "Content-Type", f->type);
        MHD_add_response_header(resp, "ETag", f->etag);
        MHD_add_response_header(resp, "Cache-Control", "no-cache");
        MHD_add_response_header(resp, "Content-Security-Policy", AL_WEB_CSP);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
        r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
    }
    struct al_reply rep = {.status = (int)status, .len = same || *method == 'H' ? 0 : f->len};
    account(conn, method, cs, &rep);
    return r;
}

/* The dashboard's file for this GET or HEAD, when the path is not the API's (the query, which
 * the dashboard never needs, is left out of the lookup). */
static const struct al_web_file *web_file(const struct al_srv *srv, const char *method,
                                          const struct conn_state *cs)
{
    char path[AL_WEB_MAX_PATH + 2];
    size_t n = strcspn(cs->target, "?");
    if (!srv->web || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) ||
        n >= sizeof path)
        return NULL;
    memcpy(path, cs->target, n);
    path[n] = '\0';
    return al_web_claims(path) ? al_web_find(srv->web, path) : NULL;
}

/* The head is in: hand its fields to the call, which refuses it now (answered before any
 * of the body is read, and without "100 Continue") or goes on to read the body. */
static enum MHD_Result begin(struct al_srv *srv, struct MHD_Connection *conn, const char *method,
                             const char *version, struct conn_state *cs)
{
    const struct al_web_file *f = web_file(srv, method, cs);
    cs->begun = true;
    if (f) {
        cs->call.c.srv = srv; /* what account() reads of the call */
        return answer_web(conn, method, cs, f);
    }
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, add_header, cs);
    cs->req = (struct al_req){
        .method = method,
        .target = cs->target,
        .target_len = cs->raw_uri_len,
        .headers = cs->headers,
        .nheaders = cs->nheaders,
        .hidden_nul =
            cs->nheaders <= AL_CALL_MAX_HEADERS && !head_intact(conn, cs, method, version),
    };
    cs->going_on = al_call_begin(&cs->call, srv, &cs->req);
    if (!cs->going_on)
        return answer(conn, method, cs);
    if (cs->call.body_len && !(cs->buf = malloc(cs->call.body_len)))
        return MHD_NO;
    return MHD_YES;
}

/* A call waiting for its batch's commit holds no thread: its connection is suspended (from
 * the access handler, as libmicrohttpd requires) and the committer resumes it; libmicrohttpd
 * then calls the access handler again, which answers. */
static void conn_suspend(void *conn)
{
    MHD_suspend_connection(conn);
}

static void conn_resume(void *conn)
{
    MHD_resume_connection(conn);
}

/* The whole body is in: run the call, answered now or, parked, once resumed. */
static enum MHD_Result run(struct MHD_Connection *conn, const char *method, struct conn_state *cs)
{
    cs->going_on = false;
    if (al_call_run_parked(&cs->call, cs->buf, cs->len, conn_suspend, conn_resume, conn)) {
        cs->parked = true;
        return MHD_YES;
    }
    return answer(conn, method, cs);
}

/* NOLINTNEXTLINE(readability-function-size): libmicrohttpd's callback has 8 parameters */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct conn_state *cs = *con_cls;
    (void)url; /* decoded in place by libmicrohttpd: the call decodes cs->target itself */
    if (!cs)
        return MHD_NO; /* on_uri found no memory */
    if (!cs->begun)
        return begin(cls, conn, method, version, cs);
    if (cs->parked) { /* resumed: its batch is finished, or the read gate let it go */
        cs->parked = al_call_resumed(&cs->call, cs->buf, cs->len);
        return cs->parked ? MHD_YES : answer(conn, method, cs);
    }
    if (!cs->going_on)
        return MHD_YES; /* answered already; libmicrohttpd drops the rest */
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        /* libmicrohttpd delivers exactly Content-Length bytes; anything else is a bug */
        if (n > cs->call.body_len - cs->len)
            return MHD_NO;
        memcpy(cs->buf + cs->len, upload_data, n);
        cs->len += n;
        return MHD_YES;
    }
    return run(conn, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_state *cs = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (cs) {
        al_call_end(&cs->call);
        free(cs->buf);
        free(cs);
        *con_cls = NULL;
    }
}

/* ---- init ---- */

int al_server_init_db(const char *db, const char *name, char *token, size_t cap,
                      struct al_err *reterr)
{
    struct al_store *s = NULL;
    uint8_t hash[AL_STORE_HASH_LEN];
    char id[AL_HTTP_ID_LEN];
    json_t *user = NULL;
    int rc;
    if (sodium_init() < 0)
        return al_err_set(reterr, AL_E_INTERNAL, "libsodium did not start");
    if (!al_name_ok(name))
        return al_err_set(reterr, AL_E_INVAL, "--name must be 1..64 of A-Z a-z 0-9 . _ -");
    if ((rc = al_store_open(db, &s, reterr)) != 0)
        return rc;
    if ((rc = al_store_begin(s, reterr)) != 0)
        goto out;
    if ((rc = al_store_user_count(s, reterr)) != 0) {
        rc = rc > 0 ? al_err_set(reterr, AL_E_CONFLICT, "%s has users already",
                                 al_store_db_is_pg(db) ? "the database" : db)
                    : rc;
        goto out;
    }
    int64_t now = (int64_t)time(NULL);
    al_id_new("usr", now, id, sizeof id);
    al_token_new(token, cap, hash);
    user = json_pack("{s:s,s:s,s:s,s:n,s:I}", "id", id, "name", name, "role", "operator", "org",
                     "created_at", (json_int_t)now);
    if (!user) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = al_store_user_insert(s, user, hash, reterr)) != 0 ||
        (rc = (int)al_store_event_append(
             s, now, "system", al_event_kind_name(AL_EVENT_USER_CREATED), id, NULL, reterr)) < 0)
        goto out;
    rc = al_store_commit(s, reterr);
out:
    if (rc < 0) {
        al_store_rollback(s);
        sodium_memzero(token, cap);
    }
    json_decref(user);
    al_store_close(s);
    return rc < 0 ? rc : 0;
}

int al_server_init_key(const char *db, const char *path, struct al_err *reterr)
{
    const struct al_webhooks_opts o = {.key_file = path, .db = db};
    struct al_whkey key;
    char file[4096];
    int rc;
    if (sodium_init() < 0)
        return al_err_set(reterr, AL_E_INTERNAL, "libsodium did not start");
    if ((rc = al_webhooks_key_path(&o, file, sizeof file, reterr)) != 0 ||
        (rc = al_whkey_load(file, true, &key, reterr)) != 0)
        return rc;
    al_whkey_wipe(&key);
    return 0;
}

/* ---- run ---- */

/* strerror is not thread-safe (the HTTP threads may be running): the static text of the
 * common codes, via al_strerror. */
static const char *errtext(int err)
{
    return al_strerror(-err);
}

/* One server per database: its in-memory calendar must see every write. A POSIX lock on
 * "<db>.lock" (released by the kernel when the process dies, kill -9 included). Returns the
 * lock's fd, or a negative code. Not taken on PostgreSQL (docs/postgres.md). */
static int lock_db(const char *db, struct al_err *e)
{
    char path[4096];
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (snprintf(path, sizeof path, "%s.lock", db) >= (int)sizeof path)
        return al_err_set(e, AL_E_INVAL, "--db path too long");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return al_err_set(e, -errno, "cannot open %s: %s", path, errtext(errno));
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        close(fd);
        return al_err_set(e, AL_E_CONFLICT, "another allot server is using %s", db);
    }
    return fd;
}

static int parse_listen(const char *listen, struct sockaddr_in *sa, struct al_err *e)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    int64_t port;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return al_err_set(e, AL_E_INVAL, "--listen must be ADDR:PORT, not '%s'", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (al_parse_i64(colon + 1, 1, 65535, &port) != 0)
        return al_err_set(e, AL_E_INVAL, "--listen: bad port '%s'", colon + 1);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
        return al_err_set(e, AL_E_INVAL, "--listen: bad IPv4 address '%s'", host);
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

struct clock_thread {
    struct al_srv *srv;
    unsigned tick_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

/* The clock: every tick_ms, the background jobs, each a unit of work (server/jobs.h). */
static void *clock_main(void *arg)
{
    struct clock_thread *ct = arg;
    pthread_mutex_lock(&ct->mu);
    while (!ct->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ct->tick_ms / 1000;
        ts.tv_nsec += (long)(ct->tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ct->cv, &ct->mu, &ts);
        if (ct->stop)
            break;
        pthread_mutex_unlock(&ct->mu);
        al_jobs_tick(ct->srv);
        pthread_mutex_lock(&ct->mu);
    }
    pthread_mutex_unlock(&ct->mu);
    return NULL;
}

static void clock_stop(struct clock_thread *ct, pthread_t tid)
{
    pthread_mutex_lock(&ct->mu);
    ct->stop = true;
    pthread_cond_signal(&ct->cv);
    pthread_mutex_unlock(&ct->mu);
    pthread_join(tid, NULL);
}

/* The server's locks and condition variables. */
static void sync_init(struct al_srv *srv)
{
    pthread_rwlockattr_t rwa;
    pthread_mutex_init(&srv->lock, NULL);
    al_auth_init(&srv->auth);
    pthread_rwlockattr_init(&rwa);
    pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&srv->cal_rw, &rwa);
    pthread_rwlockattr_destroy(&rwa);
    al_txn_init(srv);
}

static void sync_destroy(struct al_srv *srv)
{
    al_txn_destroy(srv);
    pthread_mutex_destroy(&srv->lock);
    al_auth_destroy(&srv->auth);
    pthread_rwlock_destroy(&srv->cal_rw);
}

int al_srv_open(struct al_srv *srv, const char *db, const char *clock_file, struct al_err *reterr)
{
    int rc;
    memset(srv, 0, sizeof *srv);
    srv->clock_file = clock_file;
    srv->pool_notice_s = AL_SERVER_POOL_NOTICE_S;
    srv->end_warning_s = AL_SERVER_END_WARNING_S;
    srv->start_notice_s = AL_SERVER_START_NOTICE_S;
    al_idem_key_new(&srv->idem_key); /* a new one each run: never written anywhere */
    if (!(srv->metrics = al_metrics_new())) {
        al_idem_key_wipe(&srv->idem_key);
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    if ((rc = al_store_open(db, &srv->store, reterr)) != 0 ||
        (rc = al_store_defer_sync(srv->store, reterr)) != 0 ||
        (rc = al_cal_build(srv->store, al_srv_now(srv), &srv->cal, reterr)) != 0) {
        al_store_close(srv->store);
        srv->store = NULL;
        al_idem_key_wipe(&srv->idem_key);
        al_metrics_free(srv->metrics);
        srv->metrics = NULL;
        return rc;
    }
    sync_init(srv);
    if ((rc = al_evstream_open(srv, reterr)) != 0 || (rc = al_txn_start(srv, reterr)) != 0)
        al_srv_close(srv);
    return rc;
}

void al_srv_close(struct al_srv *srv)
{
    al_evstream_close(srv); /* after the listener: its streams' responses refer to it */
    al_txn_stop(srv);
    sync_destroy(srv);
    al_cal_free(srv->cal);
    al_store_close(srv->store);
    srv->cal = NULL;
    srv->store = NULL;
    al_idem_key_wipe(&srv->idem_key);
    al_migplan_said_free(srv);
    al_metrics_free(srv->metrics); /* after the committer, which counts into it */
    srv->metrics = NULL;
}

/* Room for `want` connections among the process's file descriptors: the soft limit is raised
 * toward the hard one when short (a reserve stays for the database, the threads' epoll and
 * the log); returns how many connections fit, at most `want`. */
static unsigned fd_room(unsigned want, unsigned threads)
{
    struct rlimit rl;
    rlim_t reserve = 64 + 2 * (rlim_t)threads, need = (rlim_t)want + reserve;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return want;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return want;
    return rl.rlim_cur > reserve + threads ? (unsigned)(rl.rlim_cur - reserve) : threads;
}

/* libmicrohttpd with a thread pool, the call's callbacks, and the bounds on connections: per
 * client address (one client cannot take the others' share), in all (split among the
 * threads), and idle time. */
static struct MHD_Daemon *listen_start(const struct al_server_opts *o, struct al_srv *srv,
                                       const struct sockaddr_in *sa)
{
    unsigned threads = o->threads ? o->threads : AL_SERVER_THREADS;
    unsigned want = o->max_conns ? o->max_conns : AL_SERVER_MAX_CONNS;
    unsigned per_ip = o->max_conns_per_ip ? o->max_conns_per_ip : AL_SERVER_MAX_CONNS_PER_IP;
    unsigned idle = o->idle_timeout_s ? o->idle_timeout_s : AL_SERVER_IDLE_TIMEOUT_S;
    unsigned total = fd_room(want < threads ? threads : want, threads);
    if (total < want)
        fprintf(stderr, "allot server: %u connections at most (open file limit)\n", total);
    /* suspend/resume: the event streams wait suspended, on no thread (server/evstream.h) */
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                                MHD_ALLOW_SUSPEND_RESUME,
                            0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
                            (const struct sockaddr *)sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_TIMEOUT, idle, MHD_OPTION_CONNECTION_LIMIT, total,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip < total ? per_ip : total,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, NULL, MHD_OPTION_END);
}

/* The options that the server's state keeps: timeouts, notices, the metrics token. */
static int srv_settings(struct al_srv *srv, const struct al_server_opts *o, struct al_err *reterr)
{
    srv->heartbeat_timeout_s =
        o->heartbeat_timeout_s ? o->heartbeat_timeout_s : AL_SERVER_HEARTBEAT_TIMEOUT_S;
    if (o->pool_notice_s)
        srv->pool_notice_s = o->pool_notice_s;
    if (o->end_warning_s)
        srv->end_warning_s = o->end_warning_s;
    if (o->start_notice_s)
        srv->start_notice_s = o->start_notice_s;
    if (o->metrics_token_file)
        return al_metrics_token_file(srv->metrics, o->metrics_token_file, reterr);
    return 0;
}

int al_server_run(const struct al_server_opts *o, struct al_err *reterr)
{
    struct al_srv srv;
    struct sockaddr_in sa;
    struct MHD_Daemon *d = NULL;
    struct clock_thread ct = {.srv = &srv, .tick_ms = o->tick_ms ? o->tick_ms : 1000};
    pthread_t clock_tid;
    bool clock_started = false;
    char note[256] = "";
    sigset_t sigs;
    int rc, sig, lock_fd = -1;
    if (sodium_init() < 0)
        return al_err_set(reterr, AL_E_INTERNAL, "libsodium did not start");
    if ((rc = parse_listen(o->listen, &sa, reterr)) != 0)
        return rc;
    if (!al_store_db_is_pg(o->db) && (lock_fd = lock_db(o->db, reterr)) < 0)
        return lock_fd;
    if ((rc = al_srv_open(&srv, o->db, o->clock_file, reterr)) != 0) {
        close(lock_fd);
        return rc;
    }
    if ((rc = srv_settings(&srv, o, reterr)) != 0 ||
        (rc = al_web_open(o->web_dir, &srv.web, note, sizeof note, reterr)) != 0) {
        al_srv_close(&srv);
        close(lock_fd);
        return rc;
    }
    const struct al_webhooks_opts wo = {o->secret_key_file,    o->db, o->webhook_retry_base_s,
                                        o->webhook_fail_limit, 0,     o->webhook_targets_any};
    pthread_mutex_init(&ct.mu, NULL);
    pthread_cond_init(&ct.cv, NULL);
    /* threads started from here on inherit the blocked signals; only sigwait sees them */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    if ((rc = al_accesslog_open(o->access_log ? o->access_log : "-", &srv.accesslog, reterr)) != 0)
        goto out;
    /* the dispatcher first: a call may create a hook as soon as the server listens */
    if ((rc = al_webhooks_start(&srv, &wo, reterr)) != 0)
        goto out;
    if (!(d = listen_start(o, &srv, &sa))) {
        rc = al_err_set(reterr, AL_E_IO, "cannot listen on %s: %s", o->listen, errtext(errno));
        goto out;
    }
    if ((rc = al_evstream_start(&srv, reterr)) != 0)
        goto out;
    if (pthread_create(&clock_tid, NULL, clock_main, &ct) != 0) {
        rc = al_err_set(reterr, AL_E_INTERNAL, "cannot start the clock thread");
        goto out;
    }
    clock_started = true;
    fprintf(stderr, "allot server: listening on http://%s (db %s%s)\n", o->listen,
            al_store_db_is_pg(o->db) ? "PostgreSQL" : o->db, /* a conninfo may hold a password */
            o->clock_file ? ", test clock" : "");
    if (srv.web)
        fprintf(stderr, "allot server: dashboard at http://%s/ (files from %s)\n", o->listen,
                al_web_dir(srv.web));
    else if (note[0])
        fprintf(stderr, "allot server: %s\n", note);
    sigwait(&sigs, &sig);
    fprintf(stderr, "allot server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
out:
    /* first the dispatcher: it waits on the streams' wake-up (al_evstream_wait) and its units of
     * work need the group commit, which runs until al_srv_close */
    al_webhooks_stop(&srv);
    al_evstream_stop(&srv); /* resumes the suspended streams: MHD_stop_daemon requires it */
    al_txn_drain(&srv);     /* and the calls parked for their commit */
    if (d)
        MHD_stop_daemon(d);
    if (clock_started)
        clock_stop(&ct, clock_tid);
    al_accesslog_close(srv.accesslog); /* the HTTP threads are gone: its last lines go out */
    al_srv_close(&srv);
    al_web_free(srv.web);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    pthread_cond_destroy(&ct.cv);
    pthread_mutex_destroy(&ct.mu);
    close(lock_fd);
    return rc;
}
