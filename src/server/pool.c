/* pool.c — pay-as-you-go pool sessions (pool.h): a start checked by core (al_billing_pool_start:
 * limits, one hour of runway) under the org's contract in force, metering pieces decided by
 * core (al_billing_pool_meter) and written through server/charge.h together with the
 * session's charged-through time, and stops: asked for, or when the funds ran out. */
#include "server/pool.h"

#include "server/cal.h"
#include "server/charge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append event `kind` of `org` about pool session `id` with `data` (stolen; NULL: out of
 * memory). */
static int emit(struct al_ctx *c, enum al_event_kind kind, const char *org, uint64_t id,
                json_t *data)
{
    char obj[24];
    if (!data)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    snprintf(obj, sizeof obj, "%" PRIu64, id);
    return al_event(c, kind, org, obj, data);
}

/* The model of general-pool GPU `gpu` (the in-memory fleet knows every GPU of the store); a
 * continuation (`dedicated_ok`) may run on a dedicated one, its reservation's. */
static int pool_gpu(struct al_ctx *c, const char *gpu, bool dedicated_ok, const char **model)
{
    int g = al_cal_gpu(c->srv->cal, gpu);
    const struct al_gpu *x = g >= 0 ? al_fleet_gpu(c->srv->cal->fleet, (uint32_t)g) : NULL;
    *model = "";
    if (!x)
        return al_http_fail(c, AL_E_NOTFOUND, "gpu", "no GPU %s", gpu);
    if (x->pool != AL_POOL_GENERAL && !dedicated_ok)
        return al_http_fail(c, AL_E_CONFLICT, "gpu",
                            "GPU %s is in the dedicated pool: pay-as-you-go sessions run on "
                            "general pool GPUs",
                            gpu);
    *model = x->model->name;
    return 0;
}

/* The pool rate of `model` under o's contract at c->now: its frozen rate, else the list price
 * in force less its discount; 409 when neither prices the model. */
static int pool_rate(struct al_ctx *c, const struct al_charge_org *o, const char *model,
                     int64_t *ret)
{
    struct al_store_price_version p;
    struct al_rates list = {0}, r;
    struct al_err e = {0};
    bool frozen = false;
    for (unsigned i = 0; i < o->k.nrates; i++)
        frozen |= strcmp(o->k.rates[i].model, model) == 0;
    int rc = al_store_price_at(c->srv->store, model, c->now, &p, &e);
    if (rc == 0)
        list = p.rates;
    else if (rc != AL_E_NOTFOUND)
        return al_http_fail_err(c, rc, &e);
    else if (!frozen)
        return al_http_fail(c, AL_E_CONFLICT, "gpu", "no price in force for %s (PUT /v1/prices/%s)",
                            model, model);
    if (al_contract_rates_for(&o->k, model, &list, &r, &e) != 0)
        return al_http_fail_err(c, AL_E_INTERNAL, &e);
    *ret = r.pool_gpu_hour;
    return 0;
}

/* The org's funds as metering and the runway read them: cash, and what it owes (invoiced). */
static int funds_of(struct al_ctx *c, uint64_t org, struct al_org_usage *u)
{
    struct al_err e = {0};
    int64_t accrued = 0, receivable = 0;
    struct al_store *s = c->srv->store;
    memset(u, 0, sizeof *u);
    int rc = al_store_balance_get(s, (struct al_account){AL_ACCT_ORG_CASH, org}, &u->cash, &e);
    if (rc == 0)
        rc = al_store_balance_get(s, (struct al_account){AL_ACCT_ORG_ACCRUED, org}, &accrued, &e);
    if (rc == 0)
        rc = al_store_balance_get(s, (struct al_account){AL_ACCT_ORG_RECEIVABLE, org}, &receivable,
                                  &e);
    if (rc == 0 &&
        (al_money_add(accrued, receivable, &u->owed) || al_money_sub(0, u->owed, &u->owed)))
        rc = al_err_set(&e, AL_E_RANGE, "what the org owes overflows");
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* al_pool_start, or, `rsv` not NULL, al_pool_continue. */
static int pool_start(struct al_ctx *c, const struct al_pool_ask *a, const char *rsv,
                      struct al_store_pool *ret)
{
    struct al_charge_org o;
    struct al_org_usage u;
    struct al_decision dec;
    struct al_store_pool p;
    struct al_err e = {0};
    const char *model = NULL;
    char what[AL_HTTP_ID_LEN + 160];
    int64_t rate = 0;
    int rc;
    memset(&p, 0, sizeof p);
    if (a->share < 1 || a->share > AL_SHARE_PER_GPU)
        return al_http_fail(c, AL_E_INVAL, "share",
                            "share must be 1..%" PRId64 " GPU share units (%" PRId64
                            ": a whole GPU)",
                            AL_SHARE_PER_GPU, AL_SHARE_PER_GPU);
    if (!a->gpu || !a->gpu[0] || strlen(a->gpu) >= sizeof p.gpu)
        return al_http_fail(c, AL_E_INVAL, "gpu", "gpu must be a GPU id");
    if (a->user && strlen(a->user) >= sizeof p.user)
        return al_http_fail(c, AL_E_INVAL, "user", "user must be a user id");
    snprintf(what, sizeof what, "cannot start a pool session for org %s on %s",
             a->org ? a->org : "?", a->gpu);
    if ((rc = pool_gpu(c, a->gpu, rsv != NULL, &model)) ||
        (rc = al_charge_org_contracted(c, a->org, c->now, what, &o)) ||
        (rc = pool_rate(c, &o, model, &rate)) ||
        (rc = al_charge_usage(c, &o, c->now, c->now + AL_MONEY_HOUR, 0, &u)))
        return rc;
    p.sess = (struct al_pool_session){0, o.num, c->now, c->now, a->share, rate};
    if ((rc = al_billing_pool_start(&o.k, &p.sess, &u, c->now, &dec, &e))) {
        if (dec.refusal.code == AL_REFUSAL_BALANCE) /* core asked for the hour of runway */
            snprintf(what + strlen(what), sizeof what - strlen(what),
                     " (one hour of runway for every running session and this one is needed)");
        return al_charge_fail(c, rc, &dec.refusal, &e, what);
    }
    snprintf(p.gpu, sizeof p.gpu, "%s", a->gpu);
    snprintf(p.user, sizeof p.user, "%s", a->user ? a->user : "");
    p.contract_id = o.k.id;
    p.contract_version = o.k.version;
    if ((rc = al_store_pool_start(c->srv->store, &p, &e)))
        return al_http_fail_err(c, rc, &e);
    json_t *data =
        json_pack("{s:s,s:s?,s:s,s:s,s:I,s:I,s:I,s:{s:I,s:I}}", "org", o.id, "user", a->user, "gpu",
                  a->gpu, "model", model, "share", (json_int_t)a->share, "rate_micros",
                  (json_int_t)rate, "hour_micros", (json_int_t)dec.amount, "contract", "id",
                  (json_int_t)o.k.id, "version", (json_int_t)o.k.version);
    if (data && rsv)
        json_object_set_new(data, "reservation", json_string(rsv));
    rc = emit(c, AL_EVENT_POOL_STARTED, o.id, p.sess.id, data);
    if (rc == 0 && ret)
        *ret = p;
    return rc;
}

int al_pool_start(struct al_ctx *c, const struct al_pool_ask *a, struct al_store_pool *ret)
{
    return pool_start(c, a, NULL, ret);
}

int al_pool_continue(struct al_ctx *c, const struct al_pool_ask *a, const char *rsv,
                     struct al_store_pool *ret)
{
    if (!rsv)
        return al_http_fail(c, AL_E_INVAL, "reservation", "a continuation names its reservation");
    return pool_start(c, a, rsv, ret);
}

/* Session p's org under the contract version it runs under. */
static int session_org(struct al_ctx *c, const struct al_store_pool *p, struct al_charge_org *o)
{
    struct al_err e = {0};
    char org[AL_STORE_ID_MAX];
    memset(o, 0, sizeof *o);
    int rc = al_store_org_id(c->srv->store, p->sess.org, org, &e);
    if (rc == 0 && strlen(org) >= sizeof o->id)
        rc = al_err_set(&e, AL_E_INTERNAL, "org %s: id too long", org);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    memcpy(o->id, org, strlen(org) + 1);
    o->num = p->sess.org;
    o->has_contract = true;
    return al_charge_contract_get(c, p->contract_id, p->contract_version, &o->k);
}

/* Stop session p at `at` and say why (with what its last piece charged and forgave). */
static int stop_at(struct al_ctx *c, const struct al_charge_org *o, struct al_store_pool *p,
                   int64_t at, const char *reason, const struct al_decision *last)
{
    struct al_err e = {0};
    int rc = al_store_pool_stop(c->srv->store, p->sess.id, at, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    p->stopped_at = at;
    return emit(c, AL_EVENT_POOL_STOPPED, o->id, p->sess.id,
                json_pack("{s:s,s:s,s:s,s:o,s:I,s:I,s:I}", "org", o->id, "reason", reason, "gpu",
                          p->gpu, "stopped_at", al_time_json(at), "charged_micros",
                          (json_int_t)last->amount, "forgiven_micros", (json_int_t)last->forgiven,
                          "charged_through_s", (json_int_t)(at - p->sess.start)));
}

/* Charge session p from its metered_to to `to` and record it (nothing when to is not later);
 * when the funds ran out, what they covered is charged, the rest forgiven, and p stops at
 * `to`. *last = the decision. Returns 1 when a piece was metered, 0 when none, or a code. */
static int meter_one(struct al_ctx *c, const struct al_charge_org *o, struct al_store_pool *p,
                     int64_t to, struct al_decision *last)
{
    struct al_org_usage u;
    struct al_err e = {0};
    char what[64];
    memset(last, 0, sizeof *last);
    if (to <= p->sess.metered_to)
        return 0;
    int rc = funds_of(c, p->sess.org, &u);
    if (rc)
        return rc;
    if ((rc = al_billing_pool_meter(&o->k, &p->sess, to, &u, last, &e)))
        return al_http_fail_err(c, rc, &e);
    snprintf(what, sizeof what, "usage of pool session %" PRIu64, p->sess.id);
    /* a key written before is a replay (same piece): charged-through catches up, no charge */
    if ((rc = al_charge_write(c, o, last, what)))
        return rc == AL_E_PAYMENT ? AL_E_INTERNAL : rc; /* core kept to the same cash */
    if ((rc = al_store_pool_charged(c->srv->store, p->sess.id, to, &e)))
        return al_http_fail_err(c, rc, &e);
    p->sess.metered_to = to;
    if (last->stop && (rc = stop_at(c, o, p, to, "funds_exhausted", last)))
        return rc;
    return 1;
}

int al_pool_stop(struct al_ctx *c, uint64_t id, struct al_store_pool *ret)
{
    struct al_store_pool p;
    struct al_charge_org o;
    struct al_decision last;
    struct al_err e = {0};
    int rc = al_store_pool_get(c->srv->store, id, &p, &e);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no pool session %" PRIu64, id);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (p.stopped_at) {
        char at[32];
        return al_http_fail(c, AL_E_STATE, "state", "pool session %" PRIu64 " stopped at %s", id,
                            al_time_fmt(p.stopped_at, at, sizeof at));
    }
    /* a clock set back never stops a session before what was charged */
    int64_t end = c->now > p.sess.metered_to ? c->now : p.sess.metered_to;
    if ((rc = session_org(c, &p, &o)) || (rc = meter_one(c, &o, &p, end, &last)) < 0)
        return rc;
    if (!p.stopped_at && (rc = stop_at(c, &o, &p, end, "stopped", &last)))
        return rc;
    if (ret)
        *ret = p;
    return 0;
}

/* ---- the clock's pass ---- */

static int by_org(const void *x, const void *y)
{
    const struct al_store_pool *a = x, *b = y;
    if (a->sess.org != b->sess.org)
        return a->sess.org < b->sess.org ? -1 : 1;
    return a->sess.id < b->sess.id ? -1 : a->sess.id > b->sess.id;
}

/* Whether the funds of the org of sessions p[0..n) (its newest contract version among them)
 * ran out by c->now: al_billing_pool_runway at their burn, from the funds less what they used
 * since their last metering. */
static int org_out(struct al_ctx *c, const struct al_store_pool *p, size_t n, bool *out)
{
    struct al_org_usage u;
    struct al_contract k;
    struct al_err e = {0};
    int64_t unmetered = 0, until = 0;
    size_t newest = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].contract_id > p[newest].contract_id ||
            (p[i].contract_id == p[newest].contract_id &&
             p[i].contract_version > p[newest].contract_version))
            newest = i;
    int rc = funds_of(c, p[0].sess.org, &u);
    if (rc ||
        (rc = al_charge_contract_get(c, p[newest].contract_id, p[newest].contract_version, &k)))
        return rc;
    for (size_t i = 0; i < n; i++) {
        int64_t used = 0, hour = 0;
        int64_t to = c->now > p[i].sess.metered_to ? c->now : p[i].sess.metered_to;
        if ((rc = al_billing_pool_usage(&p[i].sess, p[i].sess.metered_to, to, &used, &e)) ||
            (rc = al_billing_pool_hour_cost(&p[i].sess, &hour, &e)))
            return al_http_fail_err(c, rc, &e);
        if (al_money_add(unmetered, used, &unmetered) ||
            al_money_add(u.pool_hour_cost, hour, &u.pool_hour_cost))
            return al_http_fail(c, AL_E_RANGE, NULL, "pool usage overflows");
    }
    if (al_money_sub(u.cash, unmetered, &u.cash) || al_money_add(u.owed, unmetered, &u.owed))
        return al_http_fail(c, AL_E_RANGE, NULL, "pool usage overflows");
    if ((rc = al_billing_pool_runway(&k, &u, c->now, &until, &e)))
        return al_http_fail_err(c, rc, &e);
    *out = until <= c->now;
    return 0;
}

/* Meter the sessions p[0..n) of one org: up to the last whole hour, or up to now when its
 * funds ran out. Returns the pieces charged and sessions stopped, or a negative code. */
static int org_meter(struct al_ctx *c, struct al_store_pool *p, size_t n)
{
    struct al_charge_org o;
    struct al_decision last;
    bool out = false;
    int total = 0, rc = org_out(c, p, n, &out);
    int64_t hour = c->now - c->now % AL_POOL_METER_S;
    for (size_t i = 0; rc >= 0 && i < n; i++) {
        if ((rc = session_org(c, &p[i], &o)) ||
            (rc = meter_one(c, &o, &p[i], out ? c->now : hour, &last)) < 0)
            break;
        total += rc + (p[i].stopped_at != 0);
    }
    return rc < 0 ? rc : total;
}

int al_pool_meter_pass(struct al_ctx *c)
{
    struct al_store_pool *p = NULL;
    struct al_err e = {0};
    size_t n = 0;
    int total = 0, rc = al_store_pool_open(c->srv->store, 0, &p, &n, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (n > 1)
        qsort(p, n, sizeof *p, by_org);
    for (size_t i = 0, j; rc >= 0 && i < n; i = j) {
        for (j = i + 1; j < n && p[j].sess.org == p[i].sess.org;)
            j++;
        if ((rc = org_meter(c, &p[i], j - i)) >= 0)
            total += rc;
    }
    free(p);
    return rc < 0 ? rc : total;
}
