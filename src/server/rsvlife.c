/* rsvlife.c — a reservation's units and their containers through its window (rsvlife.h):
 * assigned_to on its allocations; the clock's pass: the GPUs reported unhealthy under a
 * reservation (each unit moved to a spare that fits, in the calendar, the store's holds and the
 * document together, else the reservation degraded and the unit's rest of the window credited
 * as core decides), then each live container on a reservation's unit (warned ahead of the
 * end, then going on pay-as-you-go where the contract says so, else stopped). */
#include "server/rsvlife.h"

#include "core/billing.h"
#include "core/catalog.h"
#include "core/state.h"
#include "server/cal.h"
#include "server/charge.h"
#include "server/containers.h"
#include "server/flow.h"
#include "server/pool.h"
#include "server/poolgpu.h"
#include "server/replica.h"

#include <stdio.h>
#include <string.h>

int al_rsvlife_assigned(struct al_ctx *c, json_t *r)
{
    struct al_err e = {0};
    json_t *list = NULL, *a, *x;
    size_t i, j;
    int rc = al_store_assignment_list(c->srv->store, jstr(r, "id"), &list, &e);
    if (rc != 0)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        json_t *who = json_null();
        json_array_foreach(list, j, x)
        {
            if (json_integer_value(json_object_get(x, "unit")) == (json_int_t)i)
                who = json_object_get(x, "user");
        }
        json_object_set(a, "assigned_to", who);
    }
    json_decref(list);
    return 0;
}

/* ---- what the pass shares ---- */

/* The codes with which a money or capacity call refuses (funds, a limit, no contract, the
 * unit taken): the pass answers them itself, a stop instead of going on. */
static bool refusal(int rc)
{
    return rc == AL_E_PAYMENT || rc == AL_E_CONFLICT || rc == AL_E_STATE || rc == AL_E_NOFIT ||
           rc == AL_E_FORBIDDEN;
}

/* A refusal failed the call: keep its message in `why` (cap bytes) and clear the failure, so
 * that the tick goes on (nothing was written by the refused call: the refusals come before
 * the writes, and a pool hold half made is released by the caller). */
static void refusal_take(struct al_ctx *c, char *why, size_t cap)
{
    snprintf(why, cap, "%s", c->err_msg);
    c->err_code = 0;
    c->err_field[0] = '\0';
    c->err_msg[0] = '\0';
    json_decref(c->err_details);
    c->err_details = NULL;
    c->err_refusal = 0;
    c->err_api = NULL;
}

static bool rsv_in(json_t *r, enum al_rsv_state s)
{
    enum al_rsv_state now;
    return al_state_rsv_parse(jstr(r, "state"), &now) == 0 && now == s;
}

static int nomem(struct al_ctx *c)
{
    return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}

/* Stop the live containers of reservation `rsv` on its unit `unit` (-1: all) for `reason`,
 * with `data` (borrowed; may be NULL) in their container.stopping. Returns how many, or the
 * call's code. */
static int stop_unit(struct al_ctx *c, const char *rsv, int unit, const char *reason, json_t *data)
{
    json_t *live = NULL, *ctr;
    struct al_err e = {0};
    size_t i;
    int n = 0, rc = al_store_container_live(c->srv->store, NULL, &live, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(live, i, ctr)
    {
        json_t *t = json_object_get(ctr, "target");
        if (!jstr(t, "reservation") || strcmp(jstr(t, "reservation"), rsv) != 0 ||
            (unit >= 0 && json_integer_value(json_object_get(t, "unit")) != unit))
            continue;
        if ((rc = al_containers_stop(c, ctr, reason, data)) < 0)
            break;
        n++;
    }
    json_decref(live);
    return rc < 0 ? rc : n;
}

/* ---- the end of a window ---- */

/* Warn `ctr` that reservation r's window ends at `end`: its document's warning and
 * container.warning, once for that end (a later extension warns again before the new one). */
static int end_warn(struct al_ctx *c, json_t *ctr, json_t *r, int64_t end)
{
    json_t *w = json_object_get(ctr, "warning");
    if (jstr(w, "reason") && strcmp(jstr(w, "reason"), "window_end") == 0 && jstr(w, "stop_at") &&
        jtime(w, "stop_at") == end)
        return 0;
    w = json_pack("{s:s,s:o,s:o}", "reason", "window_end", "at", al_time_json(c->now), "stop_at",
                  al_time_json(end));
    if (!w)
        return nomem(c);
    json_object_set_new(ctr, "warning", w);
    int rc = al_containers_put(c, ctr);
    if (rc == 0)
        rc =
            al_event(c, AL_EVENT_CONTAINER_WARNING, jstr(r, "org"), jstr(ctr, "id"),
                     json_pack("{s:s,s:s,s:s?,s:o}", "reason", "window_end", "reservation",
                               jstr(r, "id"), "org", jstr(r, "org"), "stop_at", al_time_json(end)));
    return rc < 0 ? rc : 1;
}

/* The share of r's unit `a`: a whole GPU, or its MIG instance (al_charge_share). */
static int unit_share(struct al_ctx *c, json_t *r, json_t *a, int64_t *share)
{
    *share = AL_SHARE_PER_GPU;
    if (!jstr(a, "profile"))
        return 0;
    return al_charge_share(c, jstr(r, "model"), jstr(a, "profile"), 1, share);
}

/* Go on pay-as-you-go: the pool hold on ctr's unit, then a pool session at the pool rate
 * (a continuation: al_pool_continue). 1 when it goes on; 0 with `why` when refused
 * (the hold released: nothing of it is left); or the call's code. */
static int payg_start(struct al_ctx *c, json_t *ctr, json_t *r, json_t *a, char *why, size_t cap)
{
    const char *id = jstr(ctr, "id"), *profile = jstr(a, "profile");
    struct al_store_pool p;
    int64_t share = 0;
    int su = (int)json_integer_value(json_object_get(a, "start_unit"));
    int rc = unit_share(c, r, a, &share);
    if (rc == 0)
        rc = al_poolgpu_hold(c, id, jstr(a, "gpu"), profile, profile ? su : -1);
    if (rc == 0) {
        struct al_pool_ask ask = {jstr(r, "org"), jstr(ctr, "user"), jstr(a, "gpu"), share};
        rc = al_pool_continue(c, &ask, jstr(r, "id"), &p);
    }
    if (rc == 0) {
        json_object_set_new(ctr, "pool_session", json_integer((json_int_t)p.sess.id));
        json_object_set_new(ctr, "warning", json_null());
        if ((rc = al_containers_put(c, ctr)) == 0)
            rc = al_event(c, AL_EVENT_CONTAINER_PAYG, jstr(r, "org"), id,
                          json_pack("{s:s,s:s?,s:O,s:I,s:I,s:I}", "reservation", jstr(r, "id"),
                                    "org", jstr(r, "org"), "unit",
                                    json_object_get(json_object_get(ctr, "target"), "unit"),
                                    "pool_session", (json_int_t)p.sess.id, "share",
                                    (json_int_t)share, "rate_micros", (json_int_t)p.sess.rate));
        return rc < 0 ? rc : 1;
    }
    if (!refusal(rc))
        return rc;
    refusal_take(c, why, cap);
    rc = al_poolgpu_release(c, id);
    return rc < 0 ? rc : 0;
}

/* r's window is over for `ctr`: pay-as-you-go where r's contract says so and the pool lets it
 * start, else stop (window_end; the refusal's words in container.stopping's payg_refused). */
static int end_one(struct al_ctx *c, json_t *ctr, json_t *r)
{
    struct al_charge_res cr;
    char why[AL_ERR_MSG_MAX] = "";
    json_t *a = json_array_get(
        json_object_get(r, "allocations"),
        (size_t)json_integer_value(json_object_get(json_object_get(ctr, "target"), "unit")));
    int rc = al_charge_res_load(c, jstr(r, "id"), &cr);
    if (rc < 0)
        return rc;
    /* a reservation cancelled goes no further: only a window that ran to its end continues */
    if (rc == 0 && cr.o.k.payg_after_window && a && !rsv_in(r, AL_RSV_CANCELLED) &&
        (rc = payg_start(c, ctr, r, a, why, sizeof why)) != 0)
        return rc;
    json_t *data = why[0]
                       ? json_pack("{s:s,s:s}", "reservation", jstr(r, "id"), "payg_refused", why)
                       : json_pack("{s:s}", "reservation", jstr(r, "id"));
    if (!data)
        return nomem(c);
    rc = al_containers_stop(c, ctr, "window_end", data);
    json_decref(data);
    return rc < 0 ? rc : 1;
}

/* One live container on a reservation's unit, not yet going on pay-as-you-go. */
static int window_one(struct al_ctx *c, json_t *ctr)
{
    const char *rsv = jstr(json_object_get(ctr, "target"), "reservation");
    struct al_err e = {0};
    json_t *r = NULL;
    int rc;
    if (!rsv || json_integer_value(json_object_get(ctr, "pool_session")) > 0 ||
        !jstr(ctr, "desired") || strcmp(jstr(ctr, "desired"), "run") != 0)
        return 0;
    if ((rc = al_store_reservation_get(c->srv->store, rsv, &r, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    int64_t end = jtime(r, "end");
    if (rsv_in(r, AL_RSV_ENDED) || rsv_in(r, AL_RSV_CANCELLED) || end <= c->now)
        rc = end_one(c, ctr, r);
    else if (end - c->now <= c->srv->end_warning_s)
        rc = end_warn(c, ctr, r, end);
    json_decref(r);
    return rc;
}

static int pass_windows(struct al_ctx *c)
{
    return al_containers_each_live(c, window_one);
}

/* ---- a GPU failing under a reservation ---- */

/* A unit of reservation r on failed GPU `failed`, over [t0, t1) from now on. */
struct unit_move {
    json_t *r, *a; /* the reservation and its allocation (the unit) */
    int unit;
    uint32_t failed;
    int64_t t0, t1;
    const struct al_gpu_model *m;
    int profile; /* the MIG profile's index, -1 for a whole GPU */
};

/* Would hold `h` fit on its GPU, in the calendar and in the store (the truth)? */
static bool spare_fits(struct al_ctx *c, struct al_hold *h, const struct unit_move *u)
{
    struct al_store_hold sh = {.start_unit = u->profile < 0 ? -1 : h->start,
                               .mask = al_cal_mask(u->m, u->profile, h->start),
                               .t0 = h->t0,
                               .t1 = h->t1};
    if (al_calendar_check(c->srv->cal->cal, h, NULL) != 0)
        return false;
    snprintf(sh.gpu, sizeof sh.gpu, "%s", al_cal_gpu_id(c->srv->cal, h->gpu));
    snprintf(sh.owner, sizeof sh.owner, "%s", jstr(u->r, "id"));
    return al_store_hold_conflicts(c->srv->store, &sh, c->now, NULL) == 0;
}

/* A free spare for u: a usable GPU of the same model, dedicated ones first, free in the
 * calendar over [t0, t1) for the whole GPU, or, for a MIG instance, for a placement of the
 * same profile (the MIG planner then plans the layout of a GPU allot manages). 1 with *h, 0
 * when none fits. */
static int spare_find(struct al_ctx *c, const struct unit_move *u, struct al_hold *h)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    uint32_t n = al_fleet_ngpus(f);
    static const enum al_pool order[] = {AL_POOL_DEDICATED, AL_POOL_GENERAL};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        for (uint32_t g = 0; g < n; g++) {
            const struct al_gpu *x = al_fleet_gpu(f, g);
            if (g == u->failed || !x || x->model != u->m || !x->usable || x->pool != order[k])
                continue;
            *h = (struct al_hold){.gpu = g,
                                  .whole = u->profile < 0,
                                  .profile = (uint8_t)(u->profile < 0 ? 0 : u->profile),
                                  .t0 = u->t0,
                                  .t1 = u->t1,
                                  .owner = al_cal_owner(jstr(u->r, "id"))};
            unsigned starts = u->profile < 0 ? 1 : u->m->units;
            for (unsigned s = 0; s < starts; s++) {
                h->start = (uint8_t)s;
                if (spare_fits(c, h, u))
                    return 1;
            }
        }
    }
    return 0;
}

/* The store's holds of r, one per allocation over [start, end), written again from its
 * allocations (the store keeps no hold by number: all of them go, then come back, the moved
 * one on its new GPU from `moved_t0`). */
static int holds_rewrite(struct al_ctx *c, json_t *r, int moved, int64_t moved_t0)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(r, "model"));
    struct al_err e = {0};
    json_t *a;
    size_t i;
    /* several replicas: r's GPUs (the spare among them) locked first (server/replica.h) */
    int rc = al_replica_lock_doc(c, r);
    if (rc != 0)
        return rc;
    rc = al_store_hold_release(c->srv->store, jstr(r, "id"), &e);
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        if (rc < 0 || !m)
            break;
        const char *profile = jstr(a, "profile");
        int pi = profile ? al_catalog_profile_index(m, profile) : -1;
        int su = pi < 0 ? -1 : (int)json_integer_value(json_object_get(a, "start_unit"));
        struct al_store_hold h = {.start_unit = su,
                                  .mask = al_cal_mask(m, pi, su),
                                  .t0 = (int)i == moved ? moved_t0 : jtime(r, "start"),
                                  .t1 = jtime(r, "end")};
        snprintf(h.gpu, sizeof h.gpu, "%s", jstr(a, "gpu") ? jstr(a, "gpu") : "");
        snprintf(h.owner, sizeof h.owner, "%s", jstr(r, "id"));
        snprintf(h.kind, sizeof h.kind, "%s", pi < 0 ? "gpu" : "mig");
        snprintf(h.profile, sizeof h.profile, "%s", pi < 0 ? "" : profile);
        rc = al_store_hold_add(c->srv->store, &h, &e);
    }
    if (!m)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "%s names an unknown model", jstr(r, "id"));
    return rc < 0 ? al_http_fail_err(c, rc, &e) : 0;
}

/* The calendar: u's hold on the failed GPU released, `to` added. */
static int cal_move(struct al_ctx *c, const struct unit_move *u, const struct al_hold *to)
{
    struct al_calendar *cal = c->srv->cal->cal;
    struct al_err e = {0};
    uint32_t ids[AL_PLAN_MAX];
    int su = (int)json_integer_value(json_object_get(u->a, "start_unit"));
    int n = al_calendar_owner_holds(cal, to->owner, ids, AL_PLAN_MAX);
    c->cal_touched = true;
    for (int i = 0; i < n && i < AL_PLAN_MAX; i++) {
        struct al_hold h;
        if (al_calendar_get(cal, ids[i], &h) == 0 && h.gpu == u->failed &&
            (h.whole || h.start == su)) {
            al_calendar_release(cal, ids[i]);
            break;
        }
    }
    int rc = al_calendar_add(cal, to, &e);
    return rc < 0 ? al_flow_cal_fail(c, rc, &e, jstr(u->r, "id")) : 0;
}

/* Move u to spare `to`: the calendar, the allocation (GPU, node, uuid, placement; the MIG
 * instance's uuid comes when it is made), the store's holds, the record and the event; the
 * containers on the unit stop (gpu_failed). */
static int unit_move(struct al_ctx *c, const struct unit_move *u, const struct al_hold *to)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    const struct al_gpu *x = al_fleet_gpu(f, to->gpu);
    const struct al_node *nd = x ? al_fleet_node(f, x->node) : NULL;
    const char *from = al_cal_gpu_id(c->srv->cal, u->failed);
    const char *gid = al_cal_gpu_id(c->srv->cal, to->gpu);
    char was[96];
    int rc;
    if (!nd || !from || !gid)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "the spare GPU is not in the fleet");
    snprintf(was, sizeof was, "%s", from);
    if ((rc = cal_move(c, u, to)))
        return rc;
    json_object_set_new(u->a, "gpu", json_string(gid));
    json_object_set_new(u->a, "node", json_string(nd->name));
    json_object_set_new(u->a, "gpu_uuid", json_string(al_cal_gpu_uuid(c->srv->cal, to->gpu)));
    json_object_del(u->a, "mig_uuid");
    if (u->profile >= 0)
        json_object_set_new(u->a, "start_unit", json_integer(to->start));
    json_t *rec = json_pack("{s:i,s:s,s:s,s:o}", "unit", u->unit, "from", was, "to", gid, "at",
                            al_time_json(c->now));
    if (!rec)
        return nomem(c);
    if (!json_is_array(json_object_get(u->r, "replacements")))
        json_object_set_new(u->r, "replacements", json_array());
    json_array_append_new(json_object_get(u->r, "replacements"), rec);
    json_t *data = json_pack("{s:s?,s:i,s:s,s:s,s:s}", "org", jstr(u->r, "org"), "unit", u->unit,
                             "from", was, "to", gid, "node", nd->name);
    if ((rc = holds_rewrite(c, u->r, u->unit, u->t0)) ||
        (rc = al_event(c, AL_EVENT_RESERVATION_GPU_REPLACED, jstr(u->r, "org"), jstr(u->r, "id"),
                       json_incref(data))))
        goto out;
    rc = stop_unit(c, jstr(u->r, "id"), u->unit, "gpu_failed", data);
out:
    json_decref(data);
    return rc < 0 ? rc : 1;
}

/* No spare fits u: r is degraded from now for it, the rest of its window credited to the org
 * per its contract (core: al_billing_degraded_credit, keyed by the unit: once), the event,
 * the containers on the unit stopped (gpu_failed). */
static int unit_degrade(struct al_ctx *c, const struct unit_move *u)
{
    struct al_charge_res cr;
    struct al_decision d = {0};
    struct al_err e = {0};
    char what[AL_HTTP_ID_LEN + 32];
    json_t *allocs = json_object_get(u->r, "allocations");
    int rc = al_charge_res_load(c, jstr(u->r, "id"), &cr);
    if (rc < 0)
        return rc;
    snprintf(what, sizeof what, "cannot credit %s", jstr(u->r, "id"));
    if (rc == 0) { /* confirmed before reservations were charged: nothing was paid */
        if ((rc = al_billing_degraded_credit(
                 &cr.o.k, &cr.b, u->unit, (int64_t)json_array_size(allocs), c->now, &d, &e)) != 0)
            return al_http_fail_err(c, rc, &e);
        if ((rc = al_charge_write(c, &cr.o, &d, what)))
            return rc;
    }
    json_t *g = json_object_get(u->r, "degraded");
    if (!json_is_object(g)) {
        g = json_pack("{s:o,s:[],s:[],s:I}", "since", al_time_json(c->now), "units", "units_since",
                      "credited_micros", (json_int_t)0);
        if (!g)
            return nomem(c);
        json_object_set_new(u->r, "degraded", g);
    }
    json_array_append_new(json_object_get(g, "units"), json_integer(u->unit));
    json_array_append_new(json_object_get(g, "units_since"), al_time_json(c->now));
    json_object_set_new(
        g, "credited_micros",
        json_integer(json_integer_value(json_object_get(g, "credited_micros")) + d.amount));
    json_t *data = json_pack("{s:s?,s:i,s:s?,s:o,s:I}", "org", jstr(u->r, "org"), "unit", u->unit,
                             "gpu", al_cal_gpu_id(c->srv->cal, u->failed), "since",
                             al_time_json(c->now), "credited_micros", (json_int_t)d.amount);
    if ((rc = al_event(c, AL_EVENT_RESERVATION_DEGRADED, jstr(u->r, "org"), jstr(u->r, "id"),
                       json_incref(data))) == 0)
        rc = stop_unit(c, jstr(u->r, "id"), u->unit, "gpu_failed", data);
    json_decref(data);
    return rc < 0 ? rc : 1;
}

bool al_rsvlife_unit_degraded(const json_t *r, int unit)
{
    const json_t *v;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(r, "degraded"), "units"), i, v)
    {
        if (json_integer_value(v) == unit)
            return true;
    }
    return false;
}

/* Reservation r's units on failed GPU `g`: each moved to a spare, else degraded. Returns the
 * number of units handled (r changed and to be written when > 0), or the call's code. */
static int rsv_failed(struct al_ctx *c, json_t *r, uint32_t g)
{
    const char *gid = al_cal_gpu_id(c->srv->cal, g);
    json_t *a;
    size_t i;
    int n = 0, rc = 0;
    struct unit_move u = {.r = r,
                          .failed = g,
                          .t0 = jtime(r, "start") > c->now ? jtime(r, "start") : c->now,
                          .t1 = jtime(r, "end"),
                          .m = al_catalog_find(jstr(r, "model"))};
    if (!u.m || u.t1 <= u.t0)
        return 0;
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        struct al_hold to;
        if (!jstr(a, "gpu") || strcmp(jstr(a, "gpu"), gid) != 0 ||
            al_rsvlife_unit_degraded(r, (int)i))
            continue;
        u.a = a;
        u.unit = (int)i;
        u.profile = jstr(a, "profile") ? al_catalog_profile_index(u.m, jstr(a, "profile")) : -1;
        rc = spare_find(c, &u, &to) ? unit_move(c, &u, &to) : unit_degrade(c, &u);
        if (rc < 0)
            return rc;
        n++;
    }
    return n;
}

/* The reservations (scheduled, provisioning or active) holding unhealthy GPU `g`. */
static int gpu_failed(struct al_ctx *c, uint32_t g)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    const struct al_node *nd = al_fleet_node(f, al_fleet_gpu(f, g)->node);
    const char *gid = al_cal_gpu_id(c->srv->cal, g);
    json_t *owners = NULL, *o;
    struct al_err e = {0};
    size_t i;
    int n = 0, rc;
    if (!nd || !gid)
        return 0;
    if ((rc = al_store_gpu_holders(c->srv->store, nd->name, gid, c->now, &owners, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(owners, i, o)
    {
        json_t *r = NULL;
        const char *id = json_string_value(o);
        if (!id || strncmp(id, "rsv_", 4) != 0)
            continue;
        if ((rc = al_store_reservation_get(c->srv->store, id, &r, &e)) != 0) {
            rc = al_http_fail_err(c, rc, &e);
            break;
        }
        if (rsv_in(r, AL_RSV_SCHEDULED) || rsv_in(r, AL_RSV_PROVISIONING) ||
            rsv_in(r, AL_RSV_ACTIVE))
            rc = rsv_failed(c, r, g);
        else
            rc = 0;
        if (rc > 0) {
            n += rc;
            rc = al_flow_rsv_save(c, r, false);
        }
        json_decref(r);
        if (rc < 0)
            break;
    }
    json_decref(owners);
    return rc < 0 ? rc : n;
}

static int pass_failures(struct al_ctx *c)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    uint32_t n = al_fleet_ngpus(f);
    int total = 0;
    for (uint32_t g = 0; g < n; g++) {
        const struct al_gpu *x = al_fleet_gpu(f, g);
        if (!x || x->healthy)
            continue;
        int rc = gpu_failed(c, g);
        if (rc < 0)
            return rc;
        total += rc;
    }
    return total;
}

int al_rsvlife_window_changed(struct al_ctx *c, json_t *r, const struct al_charge_res *before,
                              int64_t new_end)
{
    json_t *g = json_object_get(r, "degraded"), *v;
    json_t *since = json_object_get(g, "units_since");
    struct al_charge_org o = before->o;
    size_t i;
    int64_t total = json_integer_value(json_object_get(g, "credited_micros"));
    char what[AL_HTTP_ID_LEN + 32];
    snprintf(what, sizeof what, "cannot move the credit of %s", jstr(r, "id"));
    json_array_foreach(json_object_get(g, "units"), i, v)
    {
        struct al_degraded_unit u = {
            json_integer_value(v), (int64_t)json_array_size(json_object_get(r, "allocations")), 0};
        struct al_decision d;
        struct al_err e = {0};
        int rc;
        if (al_time_parse(json_string_value(json_array_get(since, i)), &u.since) != 0)
            return al_http_fail(c, AL_E_INTERNAL, NULL, "%s: a degraded unit without its time",
                                jstr(r, "id"));
        if ((rc = al_billing_degraded_follow(&o.k, &before->b, &u, new_end, c->now, &d, &e)))
            return al_http_fail_err(c, rc, &e);
        if ((rc = al_charge_write(c, &o, &d, what)))
            return rc;
        total += d.amount;
    }
    if (json_is_object(g))
        json_object_set_new(g, "credited_micros", json_integer(total));
    return 0;
}

int al_rsvlife_pass(struct al_ctx *c)
{
    int n = pass_failures(c);
    if (n < 0)
        return n;
    int m = pass_windows(c);
    return m < 0 ? m : n + m;
}
