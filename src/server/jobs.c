/* jobs.c — the background jobs the clock runs: quotes expire (their holds freed),
 * reservations start and end. Each run is one unit of work through server/txn.h, like an HTTP
 * write: under the server's lock, in one savepoint, returning after its commit. */
#include "server/jobs.h"

#include "server/cal.h"
#include "server/flow.h"
#include "server/http.h"
#include "server/txn.h"

#include <stdio.h>
#include <string.h>

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
            if (rc >= 0 && (rc = al_flow_request_step(c, req, "expire")) == 0)
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

static int tick_reservations(struct al_ctx *c)
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
        if ((rc = al_store_reservation_get(c->srv->store, jstr(o, "id"), &r, &err)) == 0) {
            if (strcmp(jstr(r, "state"), "scheduled") == 0)
                rc = al_flow_rsv_step(c, r, "start", NULL);
            if (rc == 0 && strcmp(jstr(r, "state"), "active") == 0 && jtime(r, "end") <= c->now)
                rc = al_flow_rsv_step(c, r, "end", NULL);
            if (rc == 0)
                rc = al_flow_rsv_save(c, r, false);
        }
        json_decref(r);
        if (rc < 0)
            break;
        n++;
    }
    json_decref(ids);
    return rc < 0 ? rc : n;
}

/* The tick as a unit of work: expire quotes, start and end reservations, then drop what
 * ended from the calendar. Returns the number of transitions made, or a negative code. */
static int tick(struct al_ctx *c, void *arg)
{
    int rc, n;
    (void)arg;
    c->now = al_srv_now(c->srv);
    if ((rc = tick_quotes(c)) < 0)
        return rc;
    n = rc;
    if ((rc = tick_reservations(c)) < 0)
        return rc;
    n += rc;
    al_calendar_expire(c->srv->cal->cal, c->now);
    return n;
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
