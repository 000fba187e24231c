/* routes_quotes.c — quoting a request: its ask read back, the GPU models that could serve it,
 * the planner's placement on the in-memory calendar (or the no_capacity answer with the
 * earliest windows and other models that fit), the price, and the quote's tentative holds,
 * each re-checked against the store before it is written. */
#include "server/http.h"

#include "core/catalog.h"
#include "core/state.h"
#include "server/ask.h"
#include "server/cal.h"
#include "server/charge.h"
#include "server/document.h"
#include "server/flow.h"
#include "server/replica.h"
#include "server/reserve.h"
#include "server/routes.h"
#include "store/store_replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_VALID_M 1440
#define MAX_VALID_M     (30LL * 1440)
#define N_ALTERNATIVES  3

/* The alternatives of a no_capacity answer: up to N_ALTERNATIVES disjoint windows of the
 * asked length for `primary` (core/planner.h: al_planner_windows), from the asked start to 90
 * days after the latest one, within the sale horizon; each priced as a quote would be. */
static int alternatives(struct al_ctx *c, const struct al_charge_org *org, const struct al_ask *a,
                        const struct al_model_choice *ch, json_t *alts)
{
    struct al_cal *cal = c->srv->cal;
    struct al_request r;
    int64_t starts[N_ALTERNATIVES];
    al_ask_request(a, ch, &r);
    int64_t last = a->ls + AL_FLOW_MAX_SEARCH_S;
    if (last > c->now + AL_FLOW_HORIZON_S - a->dur)
        last = c->now + AL_FLOW_HORIZON_S - a->dur;
    int n = last < r.start
                ? 0
                : al_planner_windows(cal->planner, &r, a->dur, last, starts, N_ALTERNATIVES, NULL);
    for (int i = 0; i < n; i++) {
        int64_t s = starts[i], e = starts[i] + a->dur;
        json_t *o = json_pack("{s:o,s:o,s:s,s:o}", "start", al_time_json(s), "end", al_time_json(e),
                              "model", ch->model->name, "profile",
                              ch->profile >= 0 ? json_string(ch->model->profiles[ch->profile].name)
                                               : json_null());
        json_array_append_new(alts, o);
        if (al_ask_price(c, org, a, ch, s, e, o))
            return c->err_code;
    }
    return 0;
}

/* The 409 no_capacity answer: why, the next windows that fit (priced), other models that fit. */
static int no_capacity(struct al_ctx *c, const struct al_charge_org *org, const struct al_ask *a,
                       const struct al_gpu_model *primary, const char *reason)
{
    struct al_cal *cal = c->srv->cal;
    json_t *alts = json_array(), *others = json_array();
    struct al_model_choice ch, cands[64];
    struct al_request r;
    if (primary && al_planner_model_serves(&a->ma, primary, &ch) == 0 &&
        al_fleet_model_slot(cal->fleet, primary) >= 0 && alternatives(c, org, a, &ch, alts)) {
        json_decref(alts);
        json_decref(others);
        return c->err_code;
    }
    size_t nc = al_planner_models(&a->ma, true, cands, 64);
    for (size_t i = 0; i < nc; i++) {
        struct al_plan plan = {0};
        if (cands[i].model != primary &&
            al_ask_try_model(cal, a, cands[i].model, &r, &plan, NULL) == 0)
            json_array_append_new(others, json_string(cands[i].model->name));
        al_plan_clear(&plan);
    }
    return al_http_fail_details(
        c, AL_E_NOFIT,
        json_pack("{s:s,s:o,s:o}", "reason", reason, "alternatives", alts, "other_models", others),
        "%s", reason);
}

/* The plan's allocations with the store's ids. */
static int plan_allocs(struct al_cal *cal, const struct al_plan *plan, struct al_cal_alloc *out)
{
    for (unsigned i = 0; i < plan->n; i++) {
        const struct al_alloc *a = &plan->allocs[i];
        const struct al_gpu *g = al_fleet_gpu(cal->fleet, a->gpu);
        const struct al_node *n = g ? al_fleet_node(cal->fleet, g->node) : NULL;
        const char *id = al_cal_gpu_id(cal, a->gpu);
        if (!g || !n || !id)
            return AL_E_INTERNAL;
        snprintf(out[i].gpu, sizeof out[i].gpu, "%s", id);
        snprintf(out[i].node, sizeof out[i].node, "%s", n->name);
        snprintf(out[i].uuid, sizeof out[i].uuid, "%s", al_cal_gpu_uuid(cal, a->gpu));
        out[i].start_unit = a->whole ? -1 : a->start;
        out[i].mask = al_cal_mask(g->model, a->whole ? -1 : a->profile, a->start);
    }
    return 0;
}

static json_t *allocs_json(const struct al_gpu_model *m, int profile, const struct al_cal_alloc *al,
                           unsigned n)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "node", al[i].node, "gpu", al[i].gpu, "gpu_uuid",
                              al[i].uuid, "kind", profile >= 0 ? "mig" : "gpu");
        if (profile >= 0) {
            json_object_set_new(o, "profile", json_string(m->profiles[profile].name));
            json_object_set_new(o, "start_unit", json_integer(al[i].start_unit));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

struct quote_work {
    struct al_ask a;
    struct al_cal_alloc *allocs;
    const struct al_gpu_model *model;
    int profile;
    int64_t s, e;
};

/* One allocation of the quote as a store hold of `owner`. */
static void hold_of(const struct quote_work *w, unsigned i, const char *owner, int64_t expires,
                    struct al_store_hold *h)
{
    const struct al_cal_alloc *al = &w->allocs[i];
    bool mig = w->profile >= 0;
    *h = (struct al_store_hold){.start_unit = al->start_unit,
                                .mask = al->mask,
                                .t0 = w->s,
                                .t1 = w->e,
                                .expires_at = expires};
    snprintf(h->gpu, sizeof h->gpu, "%s", al->gpu);
    snprintf(h->owner, sizeof h->owner, "%s", owner);
    snprintf(h->kind, sizeof h->kind, "%s", mig ? "mig" : "gpu");
    snprintf(h->profile, sizeof h->profile, "%s", mig ? w->model->profiles[w->profile].name : "");
}

/* Add hold h of plan w to the in-memory calendar, which checks it once more. */
static int cal_add(struct al_ctx *c, const struct quote_work *w, const struct al_store_hold *h,
                   const char *owner)
{
    struct al_err err = {0};
    struct al_hold ch = {.gpu = (uint32_t)al_cal_gpu(c->srv->cal, h->gpu),
                         .whole = w->profile < 0,
                         .profile = (uint8_t)(w->profile < 0 ? 0 : w->profile),
                         .start = (uint8_t)(w->profile < 0 ? 0 : h->start_unit),
                         .t0 = w->s,
                         .t1 = w->e,
                         .expires = h->expires_at,
                         .owner = al_cal_owner(owner)};
    /* the calendar's words name its owner and GPU numbers: the answer names ids and times */
    int rc = al_calendar_add(c->srv->cal->cal, &ch, &err);
    if (rc >= 0)
        return 0;
    return rc == AL_E_CONFLICT ? al_flow_hold_refusal(c, "the placement was taken meanwhile", h)
                               : al_flow_cal_fail(c, rc, &err, owner);
}

/* Write the quote's tentative holds (or a self-service reservation's firm ones): each
 * re-checked against the store first (the owner's own holds never conflict), then all written
 * in one unit, then added to the in-memory calendar. */
static int write_holds(struct al_ctx *c, const char *owner, const struct quote_work *w,
                       int64_t expires)
{
    struct al_err err = {0};
    struct al_store_hold *h = calloc(w->a.count ? w->a.count : 1, sizeof *h);
    int rc = 0;
    c->cal_touched = true;
    if (!h)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    for (unsigned i = 0; rc == 0 && i < w->a.count; i++) {
        hold_of(w, i, owner, expires, &h[i]);
        rc = al_store_hold_conflicts(c->srv->store, &h[i], c->now, &err);
        if (rc > 0)
            rc = al_flow_hold_refusal(c, "the placement was taken meanwhile", &h[i]);
        else if (rc < 0)
            rc = al_http_fail_err(c, rc, &err);
    }
    if (rc == 0 && (rc = al_store_holds_add(c->srv->store, h, w->a.count, &err)) != 0) {
        /* PostgreSQL's holds_no_overlap: what no replica's memory saw, refused as taken (the
         * holds' unit was undone whole, the transaction goes on) */
        if (rc == AL_E_CONFLICT && al_store_replicated(c->srv->store))
            rc = al_flow_hold_refusal(c, "the placement was taken meanwhile", &h[0]);
        else
            rc = al_http_fail_err(c, rc, &err);
    }
    for (unsigned i = 0; rc == 0 && i < w->a.count; i++)
        rc = cal_add(c, w, &h[i], owner);
    free(h);
    return rc;
}

/* Find where the request fits (first candidate model that does), or answer no_capacity. */
static int quote_plan(struct al_ctx *c, json_t *req, const struct al_charge_org *org,
                      struct quote_work *w)
{
    struct al_model_choice cands[64];
    struct al_err err = {0}, first = {0};
    struct al_request r;
    al_ask_read(req, &w->a);
    if (!(w->allocs = calloc(w->a.count, sizeof *w->allocs)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    size_t nc = al_planner_models(&w->a.ma, false, cands, 64);
    for (size_t i = 0; i < nc; i++) {
        struct al_plan plan = {0};
        int rc = al_ask_try_model(c->srv->cal, &w->a, cands[i].model, &r, &plan, i ? &err : &first);
        if (rc == 0 && plan.n == w->a.count && plan_allocs(c->srv->cal, &plan, w->allocs) == 0) {
            w->model = cands[i].model;
            w->profile = r.kind == AL_REQ_MIG ? plan.profile : -1;
            w->s = r.start;
            w->e = r.end;
            al_plan_clear(&plan);
            return 0;
        }
        al_plan_clear(&plan);
    }
    return no_capacity(c, org, &w->a, nc ? cands[0].model : NULL,
                       nc ? first.msg : "no GPU model meets the ask");
}

/* Does every allocation of plan `w` still fit the calendar? */
static bool plan_fits(struct al_ctx *c, const struct quote_work *w)
{
    for (unsigned i = 0; i < w->a.count; i++) {
        struct al_hold ch = {.gpu = (uint32_t)al_cal_gpu(c->srv->cal, w->allocs[i].gpu),
                             .whole = w->profile < 0,
                             .profile = (uint8_t)(w->profile < 0 ? 0 : w->profile),
                             .start = (uint8_t)(w->profile < 0 ? 0 : w->allocs[i].start_unit),
                             .t0 = w->s,
                             .t1 = w->e};
        if (al_calendar_check(c->srv->cal->cal, &ch, NULL) != 0)
            return false;
    }
    return true;
}

/* Several replicas (server/replica.h): the plan's GPUs locked and their holds re-read; when
 * another replica took a place meanwhile, the request is planned once more on the fresh
 * calendar, and that plan's GPUs locked in turn (write_holds then refuses what still
 * collides, as on one server). Nothing on SQLite. */
static int plan_lock(struct al_ctx *c, json_t *req, const struct al_charge_org *org,
                     struct quote_work *w)
{
    const char **ids = NULL;
    int rc = 0;
    for (int round = 0; rc == 0 && round < 2 && al_store_replicated(c->srv->store); round++) {
        free(ids);
        if (!(ids = calloc(w->a.count, sizeof *ids))) {
            rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
            break;
        }
        for (unsigned i = 0; i < w->a.count; i++)
            ids[i] = w->allocs[i].gpu;
        if ((rc = al_replica_sale_lock(c, ids, w->a.count)) != 0 || plan_fits(c, w))
            break;
        if (round == 0) { /* the re-plan */
            free(w->allocs);
            *w = (struct quote_work){0};
            rc = quote_plan(c, req, org, w);
        }
    }
    free(ids);
    return rc;
}

/* The contract's limits on what the quote sells (not the funds: those are the confirmation's). */
static int quote_limits(struct al_ctx *c, const char *what, const struct al_charge_org *o,
                        const struct quote_work *w, const struct al_charge_price *p)
{
    struct al_charge_window cw = {w->model->name,
                                  w->profile >= 0 ? w->model->profiles[w->profile].name : NULL,
                                  w->a.count, w->s, w->e};
    return al_charge_quote_check(c, o, p, &cw, what);
}

/* The price must be the one the caller was shown (how->expect_total), when it was shown one. */
static int price_same(struct al_ctx *c, const struct al_quote_how *how,
                      const struct al_charge_price *p)
{
    char was[AL_MONEY_FMT_MAX], now[AL_MONEY_FMT_MAX];
    if (how->expect_total < 0 || p->total == how->expect_total)
        return 0;
    return al_http_fail(c, AL_E_STATE, "offering",
                        "the price changed from %s to %s (the price list or the contract "
                        "changed); list offerings again",
                        al_money_fmt(how->expect_total, was, sizeof was),
                        al_money_fmt(p->total, now, sizeof now));
}

/* The quote document of plan `w` priced as `pr`, with its holds valid until `until`. */
static json_t *quote_doc(struct al_ctx *c, const char *qid, const struct quote_work *w,
                         const struct al_charge_price *pr, int64_t until)
{
    const struct al_gpu_model *m = w->model;
    json_t *q = json_pack("{s:s,s:b,s:s,s:o,s:o,s:o,s:O,s:I,s:s,s:o,s:o}", "id", qid, "fits", 1,
                          "model", m->name, "profile",
                          w->profile >= 0 ? json_string(m->profiles[w->profile].name) : json_null(),
                          "start", al_time_json(w->s), "end", al_time_json(w->e), "lines",
                          pr->lines, "total_micros", (json_int_t)pr->total, "currency", "USD",
                          "valid_until", al_time_json(until), "created_at", al_time_json(c->now));
    if (!q)
        return NULL;
    al_charge_price_terms(q, pr);
    json_object_set_new(q, "allocations", allocs_json(m, w->profile, w->allocs, w->a.count));
    return q;
}

int al_quote_insert(struct al_ctx *c, const char *request_id, json_t *quote)
{
    struct al_err err = {0};
    struct al_store_doc_meta m = {jstr(quote, "id"), request_id, NULL, jtime(quote, "valid_until"),
                                  0};
    int rc = al_store_quote_insert(c->srv->store, &m, quote, &err);
    return rc ? al_http_fail_err(c, rc, &err) : 0;
}

int al_quote_make(struct al_ctx *c, json_t *req, const struct al_charge_org *o,
                  const struct al_quote_how *how, json_t **quote)
{
    struct quote_work w = {0};
    struct al_charge_price pr = {0};
    char qid[AL_HTTP_ID_LEN], what[AL_HTTP_ID_LEN + 16];
    int rc;
    *quote = NULL;
    snprintf(what, sizeof what, "cannot quote %s", jstr(req, "id"));
    if ((rc = quote_plan(c, req, o, &w)) || (rc = plan_lock(c, req, o, &w)))
        goto out;
    if (!w.model) { /* quote_plan answers no_capacity otherwise; never reached */
        rc = al_http_fail(c, AL_E_INTERNAL, NULL, "no model planned");
        goto out;
    }
    if ((rc = al_charge_price(c, o, &(struct al_quote_ask){w.model, w.profile, w.a.count, w.s, w.e},
                              &pr)) ||
        (rc = price_same(c, how, &pr)) ||
        (rc = quote_limits(c, how->what ? how->what : what, o, &w, &pr)))
        goto out;
    al_id_new("qte", c->now, qid, sizeof qid);
    if ((rc = write_holds(c, how->holder ? how->holder : qid, &w,
                          how->holder ? 0 : how->valid_until)))
        goto out;
    if (!(*quote = quote_doc(c, qid, &w, &pr, how->valid_until))) {
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    /* the one-call path records its quote after its request (al_confirm_quote) */
    if (!how->holder && (rc = al_quote_insert(c, jstr(req, "id"), *quote)) != 0) {
        json_decref(*quote);
        *quote = NULL;
    }
out:
    free(w.allocs);
    json_decref(pr.lines);
    return rc;
}

static int post_quote(struct al_ctx *c)
{
    static const char *const allowed[] = {"valid_for_minutes", NULL};
    int64_t minutes = DEFAULT_VALID_M;
    json_t *req = NULL, *quote = NULL;
    struct al_charge_org org;
    struct al_err err = {0};
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_int(c, c->body, "valid_for_minutes", false, 1, MAX_VALID_M, &minutes)) ||
        (rc = al_flow_request_load(c, &req)))
        goto out;
    if ((rc = al_flow_request_can(c, req, AL_REQ_EV_QUOTE, NULL)))
        goto out;
    const char *old = jstr(json_object_get(req, "quote"), "id");
    if (old) {
        /* a new quote replaces the old one: its capacity is free for the new plan */
        c->cal_touched = true;
        al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(old));
        if ((rc = al_store_hold_release(c->srv->store, old, &err)) < 0) {
            rc = al_http_fail_err(c, rc, &err);
            goto out;
        }
    }
    /* priced under the org's contract in force now, when it has one: its rates and granularity
     * are what a confirmation under that contract version charges (the alternatives of a
     * no_capacity answer too) */
    struct al_quote_how how = {c->now + minutes * 60, -1, NULL, NULL};
    if ((rc = al_charge_org_load(c, jstr(req, "org"), c->now, &org)) ||
        (rc = al_quote_make(c, req, &org, &how, &quote)))
        goto out;
    json_object_set(req, "quote", quote);
    if ((rc = al_flow_request_step(c, req, AL_REQ_EV_QUOTE)) ||
        (rc = al_flow_request_save(c, req, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(req));
out:
    json_decref(quote);
    json_decref(req);
    return rc;
}

/* The quote as a printable page: the org, its customer code, the request's terms and the
 * quote's fields (window, allocations, every price line, total, validity). Its JSON form is
 * the quote in GET /v1/requests/{id}. */
static int get_quote_document(struct al_ctx *c)
{
    json_t *q = NULL, *req = NULL, *org = NULL;
    struct al_err e = {0};
    char title[96];
    int rc = al_store_quote_get(c->srv->store, c->params[0], &q, &e);
    if (rc == 0)
        rc = al_store_request_get(c->srv->store, jstr(q, "request"), &req, &e);
    if (rc == 0 && !al_ctx_sees(c, jstr(req, "org")))
        rc = AL_E_NOTFOUND;
    if (rc == AL_E_NOTFOUND) {
        rc = al_http_fail(c, rc, "id", "no quote %s", c->params[0]);
        goto out;
    }
    if (rc || (rc = al_store_org_get(c->srv->store, jstr(req, "org"), &org, &e))) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    json_object_set(q, "org", json_object_get(req, "org"));
    json_object_set_new(q, "payment_terms", json_incref(json_object_get(req, "payment_terms")));
    snprintf(title, sizeof title, "Quote %s", c->params[0]);
    rc = al_http_reply_text(c, 200, "text/html; charset=utf-8", al_doc_render(title, org, q));
out:
    json_decref(org);
    json_decref(req);
    json_decref(q);
    return rc;
}

const struct al_route al_routes_quotes[] = {
    {"POST", "/v1/requests/*/quote", post_quote, AL_ROLE_OPERATOR, true, false},
    {"GET", "/v1/quotes/*/document", get_quote_document,
     AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
