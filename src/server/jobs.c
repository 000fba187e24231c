/* jobs.c — the background jobs the clock runs: nodes silent for longer than the heartbeat
 * timeout go offline (their GPUs leave planning), quotes expire (their holds freed),
 * reservations start (or wait for their MIG layout: server/provision.c) and end, MIG changes
 * are planned (server/migplan.c) and those whose checks pass approved where the policy says so
 * (server/migcheck.c); then the money passes: balance and invoiced draws
 * (server/draws.c) and pool metering (server/pool.c), and the pool containers' holds, warnings
 * and stops (server/poolgpu.c), and reservations' containers and units through their windows:
 * end warnings, the end, GPU failures (server/rsvlife.c). Each run is one unit of work through
 * server/txn.h, like an HTTP write: under the server's lock, in one savepoint, returning after
 * its commit. */
#include "server/jobs.h"

#include "server/cal.h"
#include "server/draws.h"
#include "server/flow.h"
#include "server/http.h"
#include "server/migcheck.h"
#include "server/migplan.h"
#include "server/node_report.h"
#include "server/notices.h"
#include "server/pool.h"
#include "server/poolgpu.h"
#include "server/provision.h"
#include "server/replica.h"
#include "server/rsvlife.h"
#include "server/txn.h"

#include <stdbool.h>
#include <stdio.h>

/* Node `n` ({name, last_seen}) went silent: offline in the store and the fleet, and the event
 * naming the reservations and quotes on its GPUs (they stay; replacement is not automatic). */
static int node_offline(struct al_ctx *c, json_t *n)
{
    const char *name = jstr(n, "name");
    json_t *owners = NULL, *data = NULL;
    struct al_err err = {0};
    int rc = al_store_node_set_online(c->srv->store, name, false, &err);
    if (rc == 0)
        rc = al_store_gpu_holders(c->srv->store, name, NULL, c->now, &owners, &err);
    if (rc != 0)
        return al_http_fail_err(c, rc, &err);
    c->cal_touched = true;
    al_cal_node_online(c->srv->cal, name, false); /* AL_E_NOTFOUND: a node without GPUs */
    data = json_pack("{s:O,s:I}", "last_seen", json_object_get(n, "last_seen"), "timeout_s",
                     (json_int_t)c->srv->heartbeat_timeout_s);
    if (!data || al_node_holders_into(data, owners) != 0) {
        json_decref(data);
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    } else {
        al_time_fields(data, al_time_keys);
        rc = al_event_holders(c, AL_EVENT_NODE_OFFLINE, owners, name, data);
    }
    json_decref(owners);
    return rc;
}

static int tick_nodes(struct al_ctx *c)
{
    json_t *stale = NULL, *n;
    struct al_err err = {0};
    size_t i;
    if (c->srv->heartbeat_timeout_s <= 0) /* al_server_run always sets one */
        return 0;
    int rc = al_store_node_stale(c->srv->store, c->now - c->srv->heartbeat_timeout_s, &stale, &err);
    if (rc)
        return rc;
    json_array_foreach(stale, i, n)
    {
        if ((rc = node_offline(c, n)) < 0)
            break;
    }
    int n_off = (int)json_array_size(stale);
    json_decref(stale);
    return rc < 0 ? rc : n_off;
}

static int tick_quotes(struct al_ctx *c)
{
    json_t *ids = NULL, *o;
    struct al_err err = {0};
    size_t i;
    int n = 0, rc = al_store_quote_expired(c->srv->store, c->now, &ids, &err);
    if (rc)
        return rc;
    json_array_foreach(ids, i, o)
    {
        json_t *req = NULL;
        if ((rc = al_store_request_get(c->srv->store, jstr(o, "id"), &req, &err)) == 0) {
            const char *qid = jstr(json_object_get(req, "quote"), "id");
            if (qid) {
                c->cal_touched = true;
                al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(qid));
                rc = al_store_hold_release(c->srv->store, qid, &err);
            }
            if (rc >= 0 && (rc = al_flow_request_step(c, req, AL_REQ_EV_EXPIRE)) == 0)
                rc = al_flow_request_save(c, req, false);
        }
        json_decref(req);
        if (rc < 0)
            break;
        n++;
    }
    json_decref(ids);
    return rc < 0 ? rc : n;
}

/* Whether reservation `r` (as the store holds it) is in state `s`. */
static bool is_in(json_t *r, enum al_rsv_state s)
{
    enum al_rsv_state now;
    return al_state_rsv_parse(jstr(r, "state"), &now) == 0 && now == s;
}

/* Due reservation r: at its start, active, or provisioning while a MIG instance it holds is
 * missing on a GPU allot configures; provisioning, active once its instances are there; at its
 * end, ended. Returns 1 when r moved, 0 when not, or a negative code. */
static int rsv_due(struct al_ctx *c, json_t *r, json_t **gpus)
{
    bool over = jtime(r, "end") <= c->now;
    int rc = 0, moved = 0;
    if (is_in(r, AL_RSV_SCHEDULED) || (is_in(r, AL_RSV_PROVISIONING) && !over)) {
        int miss = al_provision_missing(c, gpus, r);
        if (miss < 0)
            return miss;
        moved = !(is_in(r, AL_RSV_PROVISIONING) && miss);
        if (is_in(r, AL_RSV_SCHEDULED))
            rc = miss ? al_provision_start(c, r) : al_flow_rsv_step(c, r, AL_RSV_EV_START, NULL);
        else if (!miss)
            rc = al_provision_ready(c, r, NULL);
    }
    if (rc == 0 && over && (is_in(r, AL_RSV_ACTIVE) || is_in(r, AL_RSV_PROVISIONING))) {
        rc = al_flow_rsv_step(c, r, AL_RSV_EV_END, NULL);
        moved = 1;
    }
    return rc < 0 ? rc : moved;
}

/* *gpus: every GPU, loaded at the first need (server/migplan.h), for the planning pass too. */
static int tick_reservations(struct al_ctx *c, json_t **gpus)
{
    json_t *ids = NULL, *o;
    struct al_err err = {0};
    size_t i;
    int n = 0, rc = al_store_reservation_due(c->srv->store, c->now, &ids, &err);
    if (rc)
        return rc;
    json_array_foreach(ids, i, o)
    {
        json_t *r = NULL;
        if ((rc = al_store_reservation_get(c->srv->store, jstr(o, "id"), &r, &err)) == 0 &&
            (rc = rsv_due(c, r, gpus)) > 0) {
            rc = al_flow_rsv_save(c, r, false);
            n++;
        }
        json_decref(r);
        if (rc < 0)
            break;
    }
    json_decref(ids);
    return rc < 0 ? rc : n;
}

/* The tick as a unit of work: silent nodes go offline, quotes expire, reservations start
 * (or provision) and end, MIG changes are planned (after the starts: a reservation that began
 * without its layout is served in the same tick) and approved by policy, then the money passes:
 * every draw due (server/draws.h; after the starts, so that a reservation starting now has its
 * first period drawn in the same unit) and the pool's metering (server/pool.h), then the pool
 * containers (server/poolgpu.h: after the metering, which may have stopped their sessions) and
 * the reservations' (server/rsvlife.h: a continuation's pool hold starts after the pool pass
 * moved the others); then what ended leaves the calendar. One unit, one commit per tick: like the
 * rest of the tick, a failed pass undoes the whole tick (logged), and the next tick tries again.
 * Returns the number of transitions, draws and metered pieces, or a negative code. */
static int tick(struct al_ctx *c, void *arg)
{
    json_t *gpus = NULL;
    int rc, n = 0;
    (void)arg;
    c->now = al_srv_now(c->srv);
    /* replicas on PostgreSQL: what the others committed first, then the clock, which one
     * replica at a time holds (server/replica.h); on SQLite both return at once */
    if ((rc = al_replica_refresh(c)) < 0 || (rc = al_replica_clock(c)) <= 0)
        goto expire;
    if ((rc = tick_nodes(c)) < 0)
        goto out;
    n = rc;
    if ((rc = tick_quotes(c)) < 0)
        goto out;
    n += rc;
    if ((rc = tick_reservations(c, &gpus)) < 0)
        goto out;
    n += rc;
    if ((rc = al_migplan_pass(c, &gpus)) < 0)
        goto out;
    n += rc;
    if ((rc = al_migcheck_auto_apply_pass(c)) < 0)
        goto out;
    n += rc;
    if ((rc = al_draws_pass(c)) < 0)
        goto out;
    n += rc;
    if ((rc = al_pool_meter_pass(c)) < 0)
        goto out;
    n += rc;
    if ((rc = al_poolgpu_pass(c)) < 0)
        goto out;
    n += rc;
    if ((rc = al_rsvlife_pass(c)) < 0)
        goto out;
    n += rc;
    if ((rc = al_notices_pass(c)) < 0) /* after the starts and ends: no notice for those */
        goto out;
    n += rc;
expire:
    if (rc >= 0) /* each replica's own copy: the holder released the quotes' holds in the store */
        al_calendar_expire(c->srv->cal->cal, c->now);
out:
    json_decref(gpus);
    return rc < 0 ? rc : n;
}

int al_jobs_tick(struct al_srv *srv)
{
    struct al_ctx c = {.srv = srv, .user_id = "clock"};
    const struct al_txn_unit u = {.kind = AL_TXN_WRITE, .run = tick};
    int rc = al_txn_run(&c, &u, NULL);
    json_decref(c.err_details);
    json_decref(c.resp);
    if (rc < 0)
        fprintf(stderr, "allot server: clock tick failed: %s %s\n", al_strerror(rc), c.err_msg);
    return rc;
}
