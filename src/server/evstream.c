/* evstream.c — GET /v1/events?follow=1 as server-sent events, and the wake-up on committed
 * events (server/evstream.h). A stream's content reader sends what it has, else reads the
 * log after its last event (a read unit of work: only what is committed), else suspends its
 * connection; the streamer thread waits for batches holding events to commit and resumes the
 * suspended streams, and resumes each quiet one every AL_EVSTREAM_KEEPALIVE_S for a comment
 * line that keeps proxies (and libmicrohttpd's idle timeout) from closing it. With several
 * replicas on PostgreSQL, every stream is resumed each second: another replica's events come
 * with no wake-up here. */
#include "server/evstream.h"

#include "server/http.h"
#include "server/txn.h"
#include "store/store_replica.h"

#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The streams and the generation, beside the server. `mu` guards the list, `n` and each
 * stream's `suspended`. */
struct al_evstream {
    pthread_mutex_t mu;
    struct al_evsub *head;
    unsigned n;
    atomic_uint_fast64_t ev_batch; /* the newest batch an event was appended to */
    atomic_uint_fast64_t gen;      /* the streamer's generation: changes when events commit */
    atomic_bool stopping;
    pthread_t thread;
    bool started;
};

struct al_evsub {
    struct al_srv *srv;
    struct MHD_Connection *conn;
    struct al_evsub *prev, *next;
    bool listed;    /* in the list (and counted) */
    bool suspended; /* its connection is suspended, waiting for the streamer */
    char *org, *kind, *object;
    bool kind_prefix;
    int64_t after; /* the last event sent (its seq) */
    char *buf;     /* what is ready to send: buf[off..len) */
    size_t len, off, cap;
    struct timespec last; /* when something was last made ready (monotonic) */
};

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

int al_evstream_open(struct al_srv *srv, struct al_err *reterr)
{
    struct al_evstream *evs = calloc(1, sizeof *evs);
    if (!evs)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    pthread_mutex_init(&evs->mu, NULL);
    atomic_init(&evs->ev_batch, 0);
    atomic_init(&evs->gen, 0);
    atomic_init(&evs->stopping, false);
    srv->evstream = evs;
    return 0;
}

void al_evstream_close(struct al_srv *srv)
{
    struct al_evstream *evs = srv->evstream;
    if (!evs)
        return;
    al_evstream_stop(srv);
    pthread_mutex_destroy(&evs->mu);
    free(evs);
    srv->evstream = NULL;
}

void al_evstream_appended(struct al_srv *srv)
{
    if (srv->evstream)
        atomic_store(&srv->evstream->ev_batch, srv->txn.batch);
}

/* ---- the wake-up ---- */

uint64_t al_evstream_wait(struct al_srv *srv, uint64_t seen, unsigned timeout_ms)
{
    struct al_evstream *evs = srv->evstream;
    struct al_txn *t = &srv->txn;
    struct timespec dl;
    uint64_t now = seen;
    clock_gettime(CLOCK_REALTIME, &dl); /* the clock of txn.done (a default condition) */
    dl.tv_sec += timeout_ms / 1000;
    dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&t->done_lock);
    /* the batch numbered ev_batch holds an event; once it (or a later one) finished, events
     * after `seen` may be in the log. A failed batch wakes too: its readers find nothing. */
    while (!(evs && atomic_load(&evs->stopping))) {
        uint64_t evb = evs ? atomic_load(&evs->ev_batch) : 0;
        if (evb > seen && t->committed >= evb) {
            now = t->committed;
            break;
        }
        if (pthread_cond_timedwait(&t->done, &t->done_lock, &dl) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&t->done_lock);
    return now;
}

/* ---- the streams ---- */

void al_evsub_free(struct al_evsub *sub)
{
    if (!sub)
        return;
    struct al_evstream *evs = sub->srv->evstream;
    if (sub->listed) {
        pthread_mutex_lock(&evs->mu);
        if (sub->prev)
            sub->prev->next = sub->next;
        else
            evs->head = sub->next;
        if (sub->next)
            sub->next->prev = sub->prev;
        evs->n--;
        pthread_mutex_unlock(&evs->mu);
    }
    free(sub->org);
    free(sub->kind);
    free(sub->object);
    free(sub->buf);
    free(sub);
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

int al_evsub_new(struct al_ctx *c, const struct al_store_event_filter *f, int64_t after,
                 struct al_evsub **ret)
{
    struct al_evstream *evs = c->srv->evstream;
    struct al_evsub *sub = calloc(1, sizeof *sub);
    bool ok = sub != NULL;
    *ret = NULL;
    if (!evs) {
        free(sub);
        return al_http_fail(c, AL_E_UNAVAILABLE, "follow", "this server streams no events");
    }
    if (sub) {
        sub->srv = c->srv;
        sub->after = after;
        sub->org = dup_or_null(f->org, &ok);
        sub->kind = dup_or_null(f->kind, &ok);
        sub->object = dup_or_null(f->object, &ok);
        sub->kind_prefix = f->kind_prefix;
    }
    if (!ok) {
        al_evsub_free(sub);
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    pthread_mutex_lock(&evs->mu);
    if (evs->n < AL_EVSTREAM_MAX && !atomic_load(&evs->stopping)) {
        sub->next = evs->head;
        if (evs->head)
            evs->head->prev = sub;
        evs->head = sub;
        evs->n++;
        sub->listed = true;
    }
    pthread_mutex_unlock(&evs->mu);
    if (!sub->listed) {
        al_evsub_free(sub);
        return al_http_fail(c, AL_E_UNAVAILABLE, "follow",
                            "%d event streams are open, the most this server serves; retry later",
                            AL_EVSTREAM_MAX);
    }
    *ret = sub;
    return 0;
}

/* Append `n` bytes of `s` to what the stream has ready. */
static int put(struct al_evsub *sub, const char *s, size_t n)
{
    if (sub->len + n > sub->cap) {
        size_t cap = sub->cap ? sub->cap : 4096;
        while (cap < sub->len + n)
            cap *= 2;
        char *p = realloc(sub->buf, cap);
        if (!p)
            return AL_E_NOMEM;
        sub->buf = p;
        sub->cap = cap;
    }
    memcpy(sub->buf + sub->len, s, n);
    sub->len += n;
    clock_gettime(CLOCK_MONOTONIC, &sub->last);
    return 0;
}

int64_t al_evstream_shape(json_t *ev)
{
    char id[32];
    int64_t seq = (int64_t)json_integer_value(json_object_get(ev, "seq"));
    snprintf(id, sizeof id, "evt_%012" PRId64, seq);
    json_object_set_new(ev, "id", json_string(id));
    json_object_del(ev, "seq");
    al_time_fields(ev, (const char *const[]){"at", NULL});
    return seq;
}

/* One event as a server-sent event: its id, its kind as the event's name, the event (the
 * list's item) as compact JSON on one data line. */
static int put_event(struct al_evsub *sub, json_t *ev)
{
    int64_t seq = al_evstream_shape(ev);
    char *data = json_dumps(ev, JSON_COMPACT);
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    char head[160];
    int rc = AL_E_NOMEM;
    int n = snprintf(head, sizeof head,
                     "id: %s\nevent: %s\ndata: ", json_string_value(json_object_get(ev, "id")),
                     kind ? kind : "event");
    if (data && n > 0 && (size_t)n < sizeof head && (rc = put(sub, head, (size_t)n)) == 0 &&
        (rc = put(sub, data, strlen(data))) == 0 && (rc = put(sub, "\n\n", 2)) == 0)
        sub->after = seq;
    free(data);
    return rc;
}

struct fetch {
    struct al_evsub *sub;
    json_t *items;
};

static int fetch_run(struct al_ctx *c, void *arg)
{
    struct fetch *f = arg;
    struct al_store_event_filter flt = {.org = f->sub->org,
                                        .kind = f->sub->kind,
                                        .kind_prefix = f->sub->kind_prefix,
                                        .object = f->sub->object};
    struct al_err e = {0};
    return al_store_event_find(c->srv->store, &flt, f->sub->after, AL_EVSTREAM_PAGE, &f->items, &e);
}

/* Read the log after the stream's last event and make what its filter keeps ready. The read
 * is a unit of work: it returns after the batch it saw is on disk, or fails when that batch
 * failed (nothing of it is sent; the stream reads again on its next wake-up). */
static int fetch(struct al_evsub *sub)
{
    struct al_ctx c = {.srv = sub->srv, .user_id = "stream"};
    struct fetch f = {sub, NULL};
    const struct al_txn_unit u = {.kind = AL_TXN_READ, .run = fetch_run, .arg = &f};
    int rc = al_txn_run(&c, &u, NULL);
    json_decref(c.err_details);
    json_decref(c.resp);
    if (rc >= 0) {
        size_t i;
        json_t *ev;
        json_array_foreach(f.items, i, ev)
        {
            if ((rc = put_event(sub, ev)) != 0)
                break;
        }
    }
    json_decref(f.items);
    return rc < 0 ? rc : 0;
}

/* Nothing to send: suspend the connection until the streamer resumes it, unless the
 * generation moved since `gen` (read before the log was) or the streams stop — then the
 * reader is called again at once. */
static void park(struct al_evsub *sub, uint64_t gen)
{
    struct al_evstream *evs = sub->srv->evstream;
    pthread_mutex_lock(&evs->mu);
    if (atomic_load(&evs->gen) == gen && !atomic_load(&evs->stopping)) {
        sub->suspended = true;
        MHD_suspend_connection(sub->conn);
    }
    pthread_mutex_unlock(&evs->mu);
}

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct al_evsub *sub = cls;
    struct al_evstream *evs = sub->srv->evstream;
    (void)pos;
    if (sub->off == sub->len) {
        sub->off = sub->len = 0;
        if (atomic_load(&evs->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        uint64_t gen = atomic_load(&evs->gen);
        /* a batch that failed leaves nothing to send: the next wake-up reads again */
        if (fetch(sub) == AL_E_NOMEM && sub->len == 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (sub->len == 0 && mono_s() - sub->last.tv_sec >= AL_EVSTREAM_KEEPALIVE_S &&
            put(sub, ": keepalive\n\n", 13) != 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (sub->len == 0) {
            park(sub, gen);
            return 0;
        }
    }
    size_t n = sub->len - sub->off < max ? sub->len - sub->off : max;
    memcpy(out, sub->buf + sub->off, n);
    sub->off += n;
    return (ssize_t)n;
}

static void reader_free(void *cls)
{
    al_evsub_free(cls);
}

struct MHD_Response *al_evstream_response(struct al_evsub *sub, struct MHD_Connection *conn)
{
    struct MHD_Response *r;
    sub->conn = conn;
    /* the first bytes: the reconnection delay, and a comment, so that the client sees the
     * stream open before the first event */
    if (put(sub, "retry: 2000\n: stream open\n\n", 27) != 0 ||
        !(r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, sub,
                                                reader_free))) {
        al_evsub_free(sub);
        return NULL;
    }
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no"); /* nginx: pass each event on */
    return r;
}

/* ---- the streamer ---- */

/* Resume the suspended streams: all when `all` (new events, or the stop), else the ones
 * quiet for AL_EVSTREAM_KEEPALIVE_S. The connections are resumed after `mu` is released: a
 * suspended connection cannot end meanwhile (libmicrohttpd leaves it alone until resumed). */
static void wake(struct al_evstream *evs, bool all)
{
    struct MHD_Connection *conns[AL_EVSTREAM_MAX];
    unsigned n = 0;
    int64_t now = mono_s();
    pthread_mutex_lock(&evs->mu);
    for (struct al_evsub *s = evs->head; s && n < AL_EVSTREAM_MAX; s = s->next)
        if (s->suspended && (all || now - s->last.tv_sec >= AL_EVSTREAM_KEEPALIVE_S)) {
            s->suspended = false;
            conns[n++] = s->conn;
        }
    pthread_mutex_unlock(&evs->mu);
    for (unsigned i = 0; i < n; i++)
        MHD_resume_connection(conns[i]);
}

static void *streamer_main(void *arg)
{
    struct al_srv *srv = arg;
    struct al_evstream *evs = srv->evstream;
    uint64_t gen = 0;
    /* several replicas on one PostgreSQL: what another replica commits wakes nothing here, so
     * each stream reads the log once a second (server/replica.h) */
    bool poll = al_store_replicated(srv->store);
    while (!atomic_load(&evs->stopping)) {
        uint64_t g = al_evstream_wait(srv, gen, 1000);
        if (g != gen)
            atomic_store(&evs->gen, g); /* before the wake: see park */
        wake(evs, g != gen || poll);
        gen = g;
    }
    return NULL;
}

int al_evstream_start(struct al_srv *srv, struct al_err *reterr)
{
    struct al_evstream *evs = srv->evstream;
    if (!evs)
        return 0;
    if (pthread_create(&evs->thread, NULL, streamer_main, srv) != 0)
        return al_err_set(reterr, AL_E_INTERNAL, "cannot start the event streamer thread");
    evs->started = true;
    return 0;
}

void al_evstream_stop(struct al_srv *srv)
{
    struct al_evstream *evs = srv->evstream;
    if (!evs)
        return;
    pthread_mutex_lock(&evs->mu);
    atomic_store(&evs->stopping, true);
    pthread_mutex_unlock(&evs->mu);
    /* wake the streamer (and any webhook dispatcher) out of al_evstream_wait */
    pthread_mutex_lock(&srv->txn.done_lock);
    pthread_cond_broadcast(&srv->txn.done);
    pthread_mutex_unlock(&srv->txn.done_lock);
    if (evs->started) {
        pthread_join(evs->thread, NULL);
        evs->started = false;
    }
    wake(evs, true); /* the readers end their streams */
}
