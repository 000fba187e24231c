/* webhooks.c — the webhook dispatcher: fan-out of committed events into deliveries, the
 * attempts (server/whsend.h) signed with each hook's secret (server/whkey.h), their outcomes,
 * retries and the disabling of a hook that keeps failing; its thread, started and stopped with
 * the server. With several replicas on PostgreSQL each runs a dispatcher: the fan-out is the
 * clock holder's, and each delivery is claimed by one replica for its attempt. */
#include "server/webhooks.h"

#include "core/webhook.h"
#include "server/evstream.h"
#include "server/http.h"
#include "server/replica.h"
#include "server/whsend.h"
#include "store/store.h"
#include "store/store_webhook.h"
#include "store/store_replica.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FANOUT_BATCH 200 /* events fanned out per unit of work */
#define DUE_BATCH    16  /* deliveries attempted per round */
#define NAP_SLICE_MS 100 /* how soon a kick or a stop ends a nap */
/* A claimed delivery's lease (PostgreSQL): longer than a batch of DUE_BATCH attempts, each cut
 * at AL_WHSEND_TIMEOUT_S; a replica that dies holding it leaves it due again after this */
#define LEASE_S (DUE_BATCH * AL_WHSEND_TIMEOUT_S + 60)

struct al_webhooks {
    struct al_whkey key;
    int64_t retry_base_s, fail_limit;
    unsigned poll_ms;
    bool targets_any;
    /* PostgreSQL: no hook was active when last looked at; until this time (monotonic µs) the
     * dispatcher does not look again on every commit, only when a poll runs out or a kick
     * comes (0: look at the next round) */
    uint64_t idle_until_us;
    pthread_t tid;
    uint64_t gen;       /* the event generation last seen (server/evstream.h) */
    atomic_bool kicked; /* a delivery was queued outside the event log (a test ping) */
    atomic_bool stop;
};

/* String member `k` of `o` (borrowed), or NULL. */
static const char *jtext(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ---- fan-out ---- */

char *al_webhooks_payload(const char *id, const char *type, const char *created_at, json_t *ev)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:O}", "id", id, "type", type, "created_at", created_at,
                          "data", ev);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* Store row `ev` ({seq, at, …}) as the API shows it: "id": "evt_…", `at` in RFC 3339. */
static void event_api(json_t *ev)
{
    char id[32];
    snprintf(id, sizeof id, "evt_%012" PRId64,
             (int64_t)json_integer_value(json_object_get(ev, "seq")));
    json_object_set_new(ev, "id", json_string(id));
    json_object_del(ev, "seq");
    al_time_fields(ev, (const char *const[]){"at", NULL});
}

/* Whether hook `h` ({id, org, events}) takes event `ev`: its org among the event's orgs (a hook
 * without an org takes every event), and its kind passing one of the hook's patterns. */
static bool hook_takes(json_t *h, json_t *ev)
{
    const char *org = json_string_value(json_object_get(h, "org"));
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    json_t *v;
    size_t i;
    bool org_ok = org == NULL;
    if (!kind)
        return false;
    json_array_foreach(json_object_get(ev, "orgs"), i, v)
    {
        const char *o = json_string_value(v);
        org_ok = org_ok || (o && strcmp(o, org) == 0);
    }
    if (!org_ok)
        return false;
    json_array_foreach(json_object_get(h, "events"), i, v)
    {
        const char *p = json_string_value(v);
        if (p && al_webhook_pattern_matches(p, kind))
            return true;
    }
    return false;
}

/* Deliveries of event `ev` (store row) to every hook of `hooks` that takes it. */
static int fanout_event(struct al_ctx *c, json_t *hooks, json_t *ev)
{
    int64_t seq = (int64_t)json_integer_value(json_object_get(ev, "seq"));
    struct al_err e = {0};
    json_t *h;
    size_t i;
    char *payload = NULL;
    int rc = 0;
    event_api(ev);
    json_array_foreach(hooks, i, h)
    {
        char did[AL_HTTP_ID_LEN];
        if (!hook_takes(h, ev))
            continue;
        if (!payload && !(payload = al_webhooks_payload(jtext(ev, "id"), jtext(ev, "kind"),
                                                        jtext(ev, "at"), ev))) {
            rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
            break;
        }
        al_id_new("whd", c->now, did, sizeof did);
        struct al_store_delivery_new d = {did, jtext(h, "id"), jtext(ev, "kind"),
                                          seq, payload,        c->now};
        if ((rc = al_store_delivery_insert(c->srv->store, &d, &e)) != 0) {
            rc = al_http_fail_err(c, rc, &e);
            break;
        }
    }
    free(payload);
    return rc;
}

/* A unit of work: the events after the cursor (at most FANOUT_BATCH) into deliveries, and the
 * cursor past them, in one savepoint, so that an event is fanned out exactly once. Returns the
 * number of events read. The events it reads are those of the open batch too; if that batch
 * fails to commit, this unit's deliveries and cursor go with them. */
static int fanout(struct al_ctx *c, void *arg)
{
    struct al_err e = {0};
    json_t *events = NULL, *hooks = NULL, *ev;
    int64_t cursor = 0;
    size_t i;
    int rc;
    (void)arg;
    c->now = al_srv_now(c->srv);
    /* several replicas: only the clock's holder moves the cursor (server/replica.h) */
    if ((rc = al_replica_clock(c)) <= 0)
        return rc;
    if ((rc = al_store_webhook_cursor(c->srv->store, &cursor, &e)) != 0 ||
        (rc = al_store_event_list(c->srv->store, cursor, FANOUT_BATCH, &events, &e)) != 0 ||
        (json_array_size(events) > 0 &&
         (rc = al_store_webhook_active(c->srv->store, &hooks, &e)) != 0)) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    json_array_foreach(events, i, ev)
    {
        cursor = (int64_t)json_integer_value(json_object_get(ev, "seq"));
        if (json_array_size(hooks) > 0 && (rc = fanout_event(c, hooks, ev)) != 0)
            goto out;
    }
    if (json_array_size(events) > 0 &&
        (rc = al_store_webhook_cursor_set(c->srv->store, cursor, &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    rc = (int)json_array_size(events);
out:
    json_decref(events);
    json_decref(hooks);
    return rc;
}

/* A read unit: whether there is work (store_webhook.h's AL_STORE_WH_ flags: an active hook,
 * events past the cursor), so that an idle dispatcher writes nothing (a write unit costs a
 * commit) and, without an active hook, reads no deliveries either (none can be due). */
static int work(struct al_ctx *c, void *arg)
{
    struct al_err e = {0};
    int rc = al_store_webhook_work(c->srv->store, &e);
    (void)arg;
    return rc < 0 ? al_http_fail_err(c, rc, &e) : rc;
}

/* ---- attempts ---- */

/* One delivery due, loaded by the `due` unit and attempted without the lock. */
struct attempt {
    json_t *d; /* {id, webhook, kind, payload, attempt, url, secret_box, org} */
    struct al_whsend_result res;
    int64_t at;
};

/* A read unit: the deliveries due. */
static int due(struct al_ctx *c, void *arg)
{
    struct al_err e = {0};
    int rc = al_store_delivery_due(c->srv->store, al_srv_now(c->srv), DUE_BATCH, arg, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* The deliveries claimed by one replica (PostgreSQL), leased until now + LEASE_S. */
struct claimed {
    json_t *ds; /* al_store_delivery_claim's list */
    int64_t now;
    size_t from; /* unclaim: the first not attempted */
};

/* A write unit, with several replicas on PostgreSQL: the deliveries due claimed for one
 * attempt, skipping those another replica claims, each leased for LEASE_S and committed before
 * the attempt, so that no two replicas send one delivery at once. */
static int claim(struct al_ctx *c, void *arg)
{
    struct claimed *cl = arg;
    struct al_err e = {0};
    int rc = al_store_delivery_claim(c->srv->store, cl->now, LEASE_S, DUE_BATCH, &cl->ds, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* A write unit, when the server stops during a claimed batch: the claims of the deliveries
 * from cl->from on (not attempted, or cut by the stop) given back, so that they are due at the
 * next start of any replica rather than when the lease runs out. */
static int unclaim(struct al_ctx *c, void *arg)
{
    struct claimed *cl = arg;
    struct al_err e = {0};
    size_t n = json_array_size(cl->ds) - cl->from, i;
    const char **ids = calloc(n ? n : 1, sizeof *ids);
    int rc = 0;
    if (!ids)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    for (i = 0; i < n; i++)
        ids[i] = jtext(json_array_get(cl->ds, cl->from + i), "id");
    if ((rc = al_store_delivery_unclaim(c->srv->store, ids, n, cl->now + LEASE_S,
                                        al_srv_now(c->srv), &e)) != 0)
        rc = al_http_fail_err(c, rc, &e);
    free(ids);
    return rc;
}

/* POST delivery a->d, signed: Allot-Signature v1=HMAC(secret, timestamp "." body). */
static void attempt_send(struct al_webhooks *w, int64_t now, struct attempt *a)
{
    const char *id = jtext(a->d, "id"), *hook = jtext(a->d, "webhook");
    const char *body = jtext(a->d, "payload");
    char secret[AL_WHKEY_SECRET_CAP], ts[24], sig[AL_WHKEY_SIG_HEX];
    char h_hook[96], h_id[96], h_ts[48], h_sig[96];
    const char *headers[] = {h_hook, h_id, h_ts, h_sig, NULL};
    a->at = now;
    if (!id || !hook || !body ||
        al_whkey_open(&w->key, hook, jtext(a->d, "secret_box"), secret, sizeof secret) != 0) {
        a->res.http_status = -1;
        snprintf(a->res.error, sizeof a->res.error,
                 "the hook's secret cannot be opened (another --secret-key-file?)");
        return;
    }
    snprintf(ts, sizeof ts, "%" PRId64, now);
    al_whkey_sign(secret, ts, body, strlen(body), sig);
    sodium_memzero(secret, sizeof secret);
    snprintf(h_hook, sizeof h_hook, "Allot-Webhook-Id: %s", hook);
    snprintf(h_id, sizeof h_id, "Allot-Delivery-Id: %s", id);
    snprintf(h_ts, sizeof h_ts, "Allot-Timestamp: %s", ts);
    snprintf(h_sig, sizeof h_sig, "Allot-Signature: v1=%s", sig);
    /* an org's hook: only public addresses, unless the operator allows any (an operator's own
     * hooks may reach the operator's network) */
    bool public_only = jtext(a->d, "org") != NULL && !w->targets_any;
    al_whsend_post(jtext(a->d, "url"), headers, body, strlen(body), public_only, &w->stop, &a->res);
}

/* A failed attempt counts against hook `hook` (of org `org`, or NULL): disabled (with its
 * event) once it has failed too often or too long. */
static int hook_failed(struct al_ctx *c, struct al_webhooks *w, const char *hook, const char *org)
{
    struct al_err e = {0};
    int64_t failures = 0, since = 0;
    int rc = al_store_webhook_outcome(c->srv->store, hook, false, c->now, &failures, &since, &e);
    if (rc == 0 && al_webhook_should_disable(failures, w->fail_limit, since, c->now)) {
        rc = al_store_webhook_end(c->srv->store, hook, false, c->now, "webhook disabled", &e);
        if (rc == 0)
            return al_event(c, AL_EVENT_WEBHOOK_DISABLED, org, hook,
                            json_pack("{s:I,s:o}", "failures", (json_int_t)failures,
                                      "failing_since", al_time_json(since)));
    }
    return rc && rc != AL_E_NOTFOUND ? al_http_fail_err(c, rc, &e) : 0;
}

/* A unit of work: attempt arg's outcome into the delivery log; a 2xx delivers, anything else is
 * retried after al_webhook_backoff until AL_WEBHOOK_ATTEMPTS attempts have failed. */
static int record(struct al_ctx *c, void *arg)
{
    struct attempt *a = arg;
    struct al_webhooks *w = c->srv->webhooks;
    struct al_err e = {0};
    const char *hook = jtext(a->d, "webhook");
    int n = (int)json_integer_value(json_object_get(a->d, "attempt")) + 1;
    bool ok = a->res.http_status >= 200 && a->res.http_status <= 299;
    struct al_store_attempt at = {jtext(a->d, "id"),
                                  ok ? "delivered" : "retrying",
                                  a->res.error[0] ? a->res.error : NULL,
                                  n,
                                  a->res.http_status,
                                  a->at,
                                  -1,
                                  ok ? a->at : -1};
    c->now = a->at;
    if (!ok && n >= AL_WEBHOOK_ATTEMPTS)
        at.status = "failed";
    else if (!ok)
        at.next_at = a->at + al_webhook_backoff(n, w->retry_base_s, randombytes_random());
    int rc = al_store_delivery_attempted(c->srv->store, &at, &e);
    if (rc == 0 && !ok)
        return hook_failed(c, w, hook, jtext(a->d, "org"));
    if (rc == 0)
        rc = al_store_webhook_outcome(c->srv->store, hook, true, a->at, NULL, NULL, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* ---- the thread ---- */

/* A unit of work of the dispatcher on its own context; logged when it fails. */
static int run_unit(struct al_srv *srv, enum al_txn_kind kind, al_txn_fn fn, void *arg)
{
    struct al_ctx c = {.srv = srv, .user_id = "webhooks"};
    const struct al_txn_unit u = {.kind = kind, .run = fn, .arg = arg};
    int rc = al_txn_run(&c, &u, NULL);
    json_decref(c.err_details);
    json_decref(c.resp);
    if (rc < 0)
        fprintf(stderr, "allot server: webhooks: %s %s\n", al_strerror(rc), c.err_msg);
    return rc;
}

/* The deliveries due, each attempted (no lock held) and its outcome recorded. Returns how
 * many were attempted, or a negative code. */
static int deliver_due(struct al_srv *srv)
{
    struct al_webhooks *w = srv->webhooks;
    struct claimed cl = {NULL, al_srv_now(srv), 0};
    bool claimed = false;
    json_t *d;
    size_t i;
    int rc = run_unit(srv, AL_TXN_READ, due, &cl.ds);
    /* several replicas: what is due is claimed (a write, only when something is) */
    if (rc >= 0 && json_array_size(cl.ds) > 0 && al_store_replicated(srv->store)) {
        json_decref(cl.ds);
        cl.ds = NULL;
        rc = run_unit(srv, AL_TXN_WRITE, claim, &cl);
        claimed = rc >= 0;
    }
    if (rc < 0) {
        json_decref(cl.ds);
        return rc;
    }
    json_array_foreach(cl.ds, i, d)
    {
        struct attempt a = {.d = d};
        cl.from = i;
        if (atomic_load(&w->stop))
            break;
        attempt_send(w, al_srv_now(srv), &a);
        if (atomic_load(&w->stop) && a.res.http_status < 0)
            break; /* cut short by the stop: not an attempt; it runs again after the start */
        cl.from = i + 1;
        if ((rc = run_unit(srv, AL_TXN_WRITE, record, &a)) < 0)
            break;
    }
    /* stopped with claims left: theirs given back (a failed record keeps its lease) */
    if (claimed && rc >= 0 && cl.from < json_array_size(cl.ds))
        run_unit(srv, AL_TXN_WRITE, unclaim, &cl);
    int n = (int)json_array_size(cl.ds);
    json_decref(cl.ds);
    return rc < 0 ? rc : n;
}

/* Sleep until events commit (al_evstream_wait), a delivery is queued (kicked), the
 * dispatcher stops, or poll_ms pass (a retry may have come due). The wait is cut in slices so
 * that a kick or a stop is seen within NAP_SLICE_MS. */
static void nap(struct al_srv *srv, struct al_webhooks *w)
{
    for (unsigned waited = 0; waited < w->poll_ms; waited += NAP_SLICE_MS) {
        uint64_t g = al_evstream_wait(srv, w->gen, NAP_SLICE_MS);
        if (g != w->gen) {
            w->gen = g;
            return;
        }
        if (atomic_exchange(&w->kicked, false) || atomic_load(&w->stop)) {
            w->idle_until_us = 0; /* a test ping: its hook is active */
            return;
        }
    }
    w->idle_until_us = 0; /* a whole poll without a commit: look again */
}

/* The monotonic clock in microseconds. */
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* One round: the fan-out when it has work, then the deliveries due. *fanned and *sent: how
 * many of each. With several replicas on PostgreSQL each look is a round trip under the
 * writers' lock, after every batch that held events; while no hook is active (the usual
 * fleet), the look is skipped until a poll runs out (poll_ms), a kick comes or poll_ms has
 * passed since the last, so that a hook registered on any replica is seen within poll_ms,
 * as a retry coming due is. */
static void dispatch(struct al_srv *srv, struct al_webhooks *w, int *fanned, int *sent)
{
    bool pg = al_store_replicated(srv->store);
    *fanned = *sent = 0;
    if (pg && w->idle_until_us && mono_us() < w->idle_until_us)
        return;
    int rc = run_unit(srv, AL_TXN_READ, work, NULL);
    w->idle_until_us = pg && rc == 0 ? mono_us() + (uint64_t)w->poll_ms * 1000u : 0;
    if (rc > 0 && (rc & AL_STORE_WH_BACKLOG))
        *fanned = run_unit(srv, AL_TXN_WRITE, fanout, NULL);
    /* no active hook: nothing is due (a due delivery's hook is active) */
    if (rc != 0 && !atomic_load(&w->stop))
        *sent = deliver_due(srv);
}

static void *dispatcher_main(void *arg)
{
    struct al_srv *srv = arg;
    struct al_webhooks *w = srv->webhooks;
    while (!atomic_load(&w->stop)) {
        int fanned, sent;
        dispatch(srv, w, &fanned, &sent);
        /* a full batch of either: more is waiting, go on at once */
        if (fanned < FANOUT_BATCH && sent < DUE_BATCH)
            nap(srv, w);
    }
    return NULL;
}

int al_webhooks_key_path(const struct al_webhooks_opts *o, char *buf, size_t cap,
                         struct al_err *reterr)
{
    /* a PostgreSQL --db is no path to put the key beside, and its replicas share one key */
    if (!o->key_file && o->db && al_store_db_is_pg(o->db))
        return al_err_set(reterr, AL_E_INVAL,
                          "--secret-key-file is needed when --db names PostgreSQL (the key that"
                          " seals webhook secrets; every server on the database reads the same"
                          " file)");
    int n = o->key_file ? snprintf(buf, cap, "%s", o->key_file)
                        : snprintf(buf, cap, "%s.key", o->db ? o->db : "allot.db");
    return n < 0 || (size_t)n >= cap
               ? al_err_set(reterr, AL_E_INVAL, "--secret-key-file: the path is too long")
               : 0;
}

int al_webhooks_start(struct al_srv *srv, const struct al_webhooks_opts *o, struct al_err *reterr)
{
    char path[4096];
    struct al_webhooks *w = calloc(1, sizeof *w);
    int rc;
    if (!w)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((rc = al_webhooks_key_path(o, path, sizeof path, reterr)) != 0 ||
        (rc = al_whkey_load(path, true, &w->key, reterr)) != 0)
        goto fail;
    if (al_whsend_global_init() != 0) {
        rc = al_err_set(reterr, AL_E_INTERNAL, "libcurl did not start");
        goto fail;
    }
    w->retry_base_s = o->retry_base_s > 0 ? o->retry_base_s : AL_WEBHOOK_BASE_S;
    w->fail_limit = o->fail_limit > 0 ? o->fail_limit : AL_WEBHOOK_FAIL_LIMIT;
    w->poll_ms = o->poll_ms ? o->poll_ms : 500;
    w->targets_any = o->targets_any;
    atomic_init(&w->stop, false);
    atomic_init(&w->kicked, false);
    srv->webhooks = w;
    if (pthread_create(&w->tid, NULL, dispatcher_main, srv) != 0) {
        srv->webhooks = NULL;
        rc = al_err_set(reterr, AL_E_INTERNAL, "cannot start the webhook dispatcher");
        goto fail;
    }
    return 0;
fail:
    al_whkey_wipe(&w->key);
    free(w);
    return rc;
}

void al_webhooks_stop(struct al_srv *srv)
{
    struct al_webhooks *w = srv->webhooks;
    if (!w)
        return;
    atomic_store(&w->stop, true);
    pthread_join(w->tid, NULL);
    al_whkey_wipe(&w->key);
    free(w);
    srv->webhooks = NULL;
}

void al_webhooks_kick(struct al_srv *srv)
{
    struct al_webhooks *w = srv->webhooks;
    if (!w)
        return;
    atomic_store(&w->kicked, true);
}

const struct al_whkey *al_webhooks_key(const struct al_srv *srv)
{
    return srv->webhooks ? &srv->webhooks->key : NULL;
}
