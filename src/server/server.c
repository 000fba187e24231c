/* server.c — the HTTP front of `allot server`: libmicrohttpd with a thread pool and bounded
 * bodies; each call routed (server/router.h), parsed, and run as one unit of work
 * (server/txn.h) whose admission authenticates the caller (server/auth.h), a mutation with
 * Idempotency-Key replay, the answer sent after the commit; the database's first operator;
 * start-up, the clock thread that runs the background jobs (server/jobs.h), and a clean stop
 * on SIGINT/SIGTERM. */
/* glibc's feature-test macro, for pthread_rwlockattr_setkind_np: writers must not starve
 * under reads. */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp,readability-identifier-naming) */
#define _GNU_SOURCE
#include "server/server.h"

#include "server/auth.h"
#include "server/cal.h"
#include "server/http.h"
#include "server/jobs.h"
#include "server/router.h"
#include "server/txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct conn_state {
    char *buf;
    size_t len, cap;
    bool too_large;
    struct timespec t0;
};

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

static int parse_body(struct al_ctx *c, const struct conn_state *cs)
{
    json_error_t jerr;
    if (cs->len == 0) {
        c->body = json_object();
        return c->body ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    if (!depth_ok(cs->buf, cs->len))
        return al_http_fail(c, AL_E_INVAL, "body", "JSON nested deeper than %d", AL_HTTP_MAX_DEPTH);
    c->body = json_loadb(cs->buf, cs->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->body)
        return al_http_fail(c, AL_E_INVAL, "body", "malformed JSON at line %d: %s", jerr.line,
                            jerr.text);
    if (!json_is_object(c->body))
        return al_http_fail(c, AL_E_INVAL, "body", "body must be a JSON object");
    return 0;
}

static struct MHD_Response *json_response(const char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (resp)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    return resp;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    const char *t = text ? text : "{\"error\":{\"code\":\"internal\",\"message\":\"no memory\"}}";
    struct MHD_Response *resp = json_response(t, strlen(t));
    enum MHD_Result r = MHD_NO;
    free(text);
    if (resp) {
        r = MHD_queue_response(conn, (unsigned)status, resp);
        MHD_destroy_response(resp);
    }
    return r;
}

static json_t *error_json(struct al_ctx *c, int *status)
{
    const char *code = al_http_code_name(c->err_code);
    json_t *details = c->err_details ? json_incref(c->err_details) : json_object();
    if (c->status == 422) {
        code = "idempotency_mismatch";
    } else if (c->err_code == AL_E_RANGE && strcmp(c->err_field, "body") == 0) {
        code = "payload_too_large";
        *status = 413;
    }
    if (*status == 0)
        *status = al_http_status(c->err_code);
    if (c->err_field[0])
        json_object_set_new(details, "field", json_string(c->err_field));
    return json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", c->err_msg, "details",
                     details);
}

/* ---- a call as a unit of work ---- */

/* What a call's unit of work needs besides its context. */
struct call {
    const struct al_route *route;
    const char *url;
    const struct conn_state *cs;
    const char *key; /* Idempotency-Key of a POST, else NULL */
};

/* The hash an Idempotency-Key is stored with: a replay must be the same call. */
static void body_hash(const char *method, const char *url, const struct conn_state *cs,
                      uint8_t out[AL_STORE_HASH_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, AL_STORE_HASH_LEN);
    crypto_generichash_update(&st, (const unsigned char *)method, strlen(method) + 1);
    crypto_generichash_update(&st, (const unsigned char *)url, strlen(url) + 1);
    if (cs->len)
        crypto_generichash_update(&st, (const unsigned char *)cs->buf, cs->len);
    crypto_generichash_final(&st, out, AL_STORE_HASH_LEN);
}

/* A mutation, with idempotent replay: the run of a write unit (one savepoint in the open
 * batch). Returns 0 to keep its changes, a negative code to undo them. */
static int run_write(struct al_ctx *c, void *arg)
{
    const struct call *k = arg;
    struct al_err e = {0};
    uint8_t hash[AL_STORE_HASH_LEN];
    char *replay = NULL;
    int status = 0, rc;
    if (k->key) {
        body_hash(c->method, k->url, k->cs, hash);
        rc = al_store_idem_get(c->srv->store, k->key, c->user_id, hash, &status, &replay, &e);
        if (rc == 0) {
            c->status = status;
            json_decref(c->resp);
            c->resp = json_loads(replay, 0, NULL);
            free(replay);
            return 0;
        }
        if (rc != AL_E_NOTFOUND) {
            if (rc == AL_E_CONFLICT) {
                c->err_code = AL_E_CONFLICT;
                c->status = 422; /* marks idempotency_mismatch for the reply */
                snprintf(c->err_msg, sizeof c->err_msg,
                         "Idempotency-Key was used with a different request");
            } else {
                al_http_fail_err(c, rc, &e);
            }
            return c->err_code;
        }
    }
    if (k->route->fn(c) != 0 || !c->resp)
        goto fail;
    if (k->key) {
        char *text = json_dumps(c->resp, JSON_COMPACT);
        struct al_store_idem idem = {k->key, c->user_id, hash, c->status, text, c->now};
        rc = text ? al_store_idem_put(c->srv->store, &idem, &e) : AL_E_NOMEM;
        free(text);
        if (rc) {
            al_http_fail_err(c, rc, &e);
            goto fail;
        }
    }
    return 0;
fail:
    if (!c->err_code)
        al_http_fail(c, AL_E_INTERNAL, NULL, "handler gave no answer");
    return c->err_code;
}

/* The admission of a call's unit: the time, then who calls and may they (under the lock,
 * but for a snapshot read). */
static int admit(struct al_ctx *c, void *arg)
{
    const struct call *k = arg;
    c->now = al_srv_now(c->srv);
    if (al_auth_allowed(c, k->route, !k->route->snapshot))
        return 0;
    return c->err_code ? c->err_code : AL_E_FORBIDDEN;
}

/* A read: the handler, under the lock or (snapshot) under the calendar's read lock. */
static int run_read(struct al_ctx *c, void *arg)
{
    const struct call *k = arg;
    if (k->route->fn(c) != 0 && !c->err_code)
        al_http_fail(c, AL_E_INTERNAL, NULL, "handler failed");
    return c->err_code;
}

static void dispatch(struct al_ctx *c, const char *url, const struct conn_state *cs)
{
    char path[AL_ROUTER_MAX_PATH];
    bool mismatch;
    const struct al_route *r = al_router_find(c->method, url, path, c->params, &mismatch);
    const char *key = MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, "Idempotency-Key");
    struct al_err e = {0};
    if (!r) {
        al_http_fail(c, AL_E_NOTFOUND, NULL, mismatch ? "method not allowed here" : "no such path");
        return;
    }
    if (cs->too_large) {
        al_http_fail(c, AL_E_RANGE, "body", "request body over %u bytes", AL_HTTP_MAX_BODY);
        return;
    }
    if (key && (strlen(key) == 0 || strlen(key) > AL_HTTP_MAX_IDEM)) {
        al_http_fail(c, AL_E_INVAL, "Idempotency-Key", "Idempotency-Key must be 1..128 chars");
        return;
    }
    if ((strcmp(c->method, "POST") == 0 || strcmp(c->method, "PUT") == 0) && parse_body(c, cs) != 0)
        return;
    struct call k = {r, url, cs, strcmp(c->method, "POST") == 0 ? key : NULL};
    struct al_txn_unit u = {.kind = r->snapshot ? AL_TXN_SNAPSHOT
                                    : r->write  ? AL_TXN_WRITE
                                                : AL_TXN_READ,
                            .admit = admit,
                            .run = r->write ? run_write : run_read,
                            .arg = &k};
    /* answered after the commit of what the call wrote or read */
    int rc = al_txn_run(c, &u, &e);
    if (rc < 0 && !c->err_code)
        al_http_fail_err(c, rc, &e);
}

static enum MHD_Result finish(struct al_srv *srv, struct MHD_Connection *conn, const char *url,
                              const char *method, struct conn_state *cs)
{
    struct al_ctx c = {.srv = srv, .conn = conn, .method = method};
    int status;
    json_t *out;
    dispatch(&c, url, cs);
    if (c.err_code || !c.resp) {
        status = c.status == 422 ? 422 : 0;
        if (!c.err_code)
            al_http_fail(&c, AL_E_INTERNAL, NULL, "no answer");
        out = error_json(&c, &status);
    } else {
        status = c.status ? c.status : 200;
        out = json_incref(c.resp);
    }
    enum MHD_Result r = send_json(conn, status, out);
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms =
        (double)(t1.tv_sec - cs->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - cs->t0.tv_nsec) / 1e6;
    fprintf(stderr, "allot server: %s %s %d %s %.1fms\n", method, url, status,
            c.user_id ? c.user_id : "-", ms);
    json_decref(out);
    json_decref(c.resp);
    json_decref(c.body);
    json_decref(c.user);
    json_decref(c.err_details);
    return r;
}

/* NOLINTNEXTLINE(readability-function-size): libmicrohttpd's callback has 8 parameters */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct conn_state *cs = *con_cls;
    (void)version;
    if (!cs) {
        if (!(cs = calloc(1, sizeof *cs)))
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &cs->t0);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > AL_HTTP_MAX_BODY)
            cs->too_large = true;
        *con_cls = cs;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (cs->too_large || cs->len + n > AL_HTTP_MAX_BODY) {
            cs->too_large = true;
            return MHD_YES; /* keep reading, answer 413 at the end */
        }
        if (cs->len + n > cs->cap) {
            size_t cap = cs->cap ? cs->cap : 4096;
            while (cap < cs->len + n)
                cap *= 2;
            char *b = realloc(cs->buf, cap);
            if (!b)
                return MHD_NO;
            cs->buf = b;
            cs->cap = cap;
        }
        memcpy(cs->buf + cs->len, upload_data, n);
        cs->len += n;
        return MHD_YES;
    }
    return finish(cls, conn, url, method, cs);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_state *cs = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (cs) {
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
        rc = rc > 0 ? al_err_set(reterr, AL_E_CONFLICT, "%s has users already", db) : rc;
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
        (rc = (int)al_store_event_append(s, now, "system", "user.created", id, NULL, reterr)) < 0)
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

/* ---- run ---- */

/* strerror is not thread-safe (the HTTP threads may be running): the static text of the
 * common codes, via al_strerror. */
static const char *errtext(int err)
{
    return al_strerror(-err);
}

/* One server per database: its in-memory calendar must see every write. A POSIX lock on
 * "<db>.lock" (released by the kernel when the process dies, kill -9 included). Returns the
 * lock's fd, or a negative code. */
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

/* The server's locks and condition variables, and the clock thread's. */
static void sync_init(struct al_srv *srv, struct clock_thread *ct)
{
    pthread_rwlockattr_t rwa;
    pthread_mutex_init(&srv->lock, NULL);
    al_auth_init(&srv->auth);
    pthread_rwlockattr_init(&rwa);
    pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&srv->cal_rw, &rwa);
    pthread_rwlockattr_destroy(&rwa);
    al_txn_init(srv);
    pthread_mutex_init(&ct->mu, NULL);
    pthread_cond_init(&ct->cv, NULL);
}

static void sync_destroy(struct al_srv *srv, struct clock_thread *ct)
{
    pthread_cond_destroy(&ct->cv);
    pthread_mutex_destroy(&ct->mu);
    al_txn_destroy(srv);
    pthread_mutex_destroy(&srv->lock);
    al_auth_destroy(&srv->auth);
    pthread_rwlock_destroy(&srv->cal_rw);
}

int al_server_run(const struct al_server_opts *o, struct al_err *reterr)
{
    struct al_srv srv = {.clock_file = o->clock_file,
                         .heartbeat_timeout_s = o->heartbeat_timeout_s
                                                    ? o->heartbeat_timeout_s
                                                    : AL_SERVER_HEARTBEAT_TIMEOUT_S};
    struct sockaddr_in sa;
    struct MHD_Daemon *d = NULL;
    struct clock_thread ct = {.srv = &srv, .tick_ms = o->tick_ms ? o->tick_ms : 1000};
    pthread_t clock_tid;
    bool clock_started = false;
    sigset_t sigs;
    int rc, sig, lock_fd;
    if (sodium_init() < 0)
        return al_err_set(reterr, AL_E_INTERNAL, "libsodium did not start");
    if ((rc = parse_listen(o->listen, &sa, reterr)) != 0)
        return rc;
    if ((lock_fd = lock_db(o->db, reterr)) < 0)
        return lock_fd;
    if ((rc = al_store_open(o->db, &srv.store, reterr)) != 0 ||
        (rc = al_store_defer_sync(srv.store, reterr)) != 0 ||
        (rc = al_cal_build(srv.store, al_srv_now(&srv), &srv.cal, reterr)) != 0) {
        al_store_close(srv.store);
        close(lock_fd);
        return rc;
    }
    sync_init(&srv, &ct);
    /* threads started from here on inherit the blocked signals; only sigwait sees them */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                         NULL, NULL, on_request, &srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads ? o->threads : 16),
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 1000u,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        rc = al_err_set(reterr, AL_E_IO, "cannot listen on %s: %s", o->listen, errtext(errno));
        goto out;
    }
    if ((rc = al_txn_start(&srv, reterr)) != 0)
        goto out;
    if (pthread_create(&clock_tid, NULL, clock_main, &ct) != 0) {
        rc = al_err_set(reterr, AL_E_INTERNAL, "cannot start the clock thread");
        goto out;
    }
    clock_started = true;
    fprintf(stderr, "allot server: listening on http://%s (db %s%s)\n", o->listen, o->db,
            o->clock_file ? ", test clock" : "");
    sigwait(&sigs, &sig);
    fprintf(stderr, "allot server: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
out:
    if (d)
        MHD_stop_daemon(d);
    if (clock_started)
        clock_stop(&ct, clock_tid);
    al_txn_stop(&srv);
    pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
    sync_destroy(&srv, &ct);
    al_cal_free(srv.cal);
    al_store_close(srv.store);
    close(lock_fd);
    return rc;
}
