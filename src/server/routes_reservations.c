/* routes_reservations.c — reservations: confirming a request (its live quote's holds pass to
 * a new reservation, when its GPUs may still be sold: healthy, reported, online, and charged
 * per the org's contract), reading and listing them, cancelling (the capacity goes back to
 * sale), shortening (refunded per the contract) and extending (the same reservation, a later
 * end, when its GPUs may still be sold and are free until then; only the added time is
 * charged, at its frozen rates). The money is server/charge.c's, decided by core/billing.h. */
#include "server/http.h"

#include "core/catalog.h"
#include "core/planner.h"
#include "core/state.h"
#include "server/cal.h"
#include "server/charge.h"
#include "server/flow.h"
#include "server/replica.h"
#include "server/reserve.h"
#include "server/routes.h"
#include "server/rsvlife.h"

#include <stdio.h>
#include <string.h>

/* ---- confirm: a live quote becomes a reservation ---- */

/* The hold that allocation `a` of `doc` (a quote or a reservation) takes over [from, to). */
static void alloc_hold(json_t *doc, json_t *a, const struct al_gpu_model *m, int64_t from,
                       int64_t to, struct al_store_hold *h)
{
    int pi = jstr(a, "profile") ? al_catalog_profile_index(m, jstr(a, "profile")) : -1;
    *h = (struct al_store_hold){
        .mask = al_cal_mask(m, pi, (int)json_integer_value(json_object_get(a, "start_unit"))),
        .t0 = from,
        .t1 = to};
    snprintf(h->gpu, sizeof h->gpu, "%s", jstr(a, "gpu") ? jstr(a, "gpu") : "");
    snprintf(h->owner, sizeof h->owner, "%s", jstr(doc, "id") ? jstr(doc, "id") : "");
}

/* May GPU `gpu` still be sold as `m`: in the fleet, healthy, reported (as m), its node online,
 * not drained? 0, or it fails the call with no_capacity naming the GPU and why; `what` begins
 * the message, as for a hold in the way ("cannot extend rsv_… to <new end>"). */
static int alloc_sellable(struct al_ctx *c, const char *gpu, const struct al_gpu_model *m,
                          const char *what)
{
    char why[160];
    if (al_cal_check_gpu(c->srv->cal, gpu, m, why, sizeof why) == 0)
        return 0;
    return al_http_fail_details(c, AL_E_NOFIT,
                                json_pack("{s:s,s:s,s:s,s:[],s:[]}", "reason", why, "gpu", gpu,
                                          "alternatives", "other_models"),
                                "%s: GPU %s %s", what, gpu, why);
}

/* Is every allocation of `doc` (a quote or a reservation) on a GPU that may still be sold
 * (alloc_sellable: the fleet may have changed since it was planned) and free in [from, to),
 * apart from doc's own holds? 0, or it fails the call with no_capacity naming the GPU or the
 * hold in the way (`what` begins the message). */
static int allocs_free(struct al_ctx *c, json_t *doc, const struct al_gpu_model *m, int64_t from,
                       int64_t to, const char *what)
{
    struct al_err err = {0};
    json_t *a;
    size_t i;
    /* several replicas: the GPUs locked and re-read first, so that the store's answer below
     * stays true until this commit (server/replica.h) */
    int lrc = al_replica_sale_lock_doc(c, doc);
    if (lrc != 0)
        return lrc;
    json_array_foreach(json_object_get(doc, "allocations"), i, a)
    {
        int rc = alloc_sellable(c, jstr(a, "gpu") ? jstr(a, "gpu") : "", m, what);
        if (rc != 0)
            return rc;
        struct al_store_hold h;
        alloc_hold(doc, a, m, from, to, &h);
        rc = al_store_hold_conflicts(c->srv->store, &h, c->now, &err);
        if (rc < 0)
            return al_http_fail_err(c, rc, &err);
        if (rc > 0)
            return al_flow_hold_refusal(c, what, &h);
    }
    return 0;
}

/* The calendar refused an extension of `r` that the store's unit check allowed (MIG rules
 * beyond the units: compute slices, media engines): the refusal names a hold of another owner
 * on one of its GPUs during [from, to), as al_flow_hold_refusal does. */
static int extend_refused(struct al_ctx *c, json_t *r, const struct al_gpu_model *m, int64_t from,
                          int64_t to, const char *what)
{
    json_t *allocs = json_object_get(r, "allocations"), *a;
    struct al_store_hold h, other;
    size_t i;
    json_array_foreach(allocs, i, a)
    {
        alloc_hold(r, a, m, from, to, &h);
        if (al_store_hold_first_conflict(c->srv->store, &h, c->now, &other, NULL) == 0)
            return al_flow_hold_refusal(c, what, &h);
    }
    alloc_hold(r, json_array_get(allocs, 0), m, from, to, &h);
    return al_flow_hold_refusal(c, what, &h);
}

/* The quote's holds must collide with nothing else. */
static int recheck_quote(struct al_ctx *c, json_t *quote, int64_t s, int64_t e)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(quote, "model"));
    char what[AL_HTTP_ID_LEN + 32];
    if (!m)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "quote names an unknown model");
    snprintf(what, sizeof what, "cannot confirm quote %s", jstr(quote, "id"));
    return allocs_free(c, quote, m, s, e, what);
}

static json_t *reservation_new(struct al_ctx *c, json_t *req, json_t *quote, const char *id,
                               const struct al_contract *k)
{
    json_t *r = json_pack(
        "{s:s,s:s,s:s?,s:s,s:s,s:O,s:O,s:s,s:O,s:O,s:I,s:O,s:O,s:O,s:s,s:s,s:s,s:o}", "id", id,
        "org", jstr(req, "org"), "org_name", jstr(req, "org_name"), "request", jstr(req, "id"),
        "state", al_state_rsv_name(AL_RSV_SCHEDULED), "start", json_object_get(quote, "start"),
        "end", json_object_get(quote, "end"), "kind", jstr(req, "kind"), "model",
        json_object_get(quote, "model"), "profile", json_object_get(quote, "profile"), "count",
        json_integer_value(json_object_get(req, "count")), "allocations",
        json_object_get(quote, "allocations"), "lines", json_object_get(quote, "lines"),
        "total_micros", json_object_get(quote, "total_micros"), "currency", "USD", "payment_terms",
        al_contract_terms_name(k->terms), "quote", jstr(quote, "id"), "created_at",
        al_time_json(c->now));
    /* how it is billed, as the quote stated it: the contract version and its granularity */
    static const char *const terms[] = {"contract", "granularity", "min_hours", "billing_rule",
                                        "price_version"};
    for (size_t i = 0; r && i < sizeof terms / sizeof *terms; i++)
        json_object_set(r, terms[i], json_object_get(quote, terms[i]));
    return r;
}

static int terms_valid(struct al_ctx *c, const char *terms)
{
    enum al_terms t;
    if (!terms || al_contract_terms_parse(terms, &t) == 0)
        return 0;
    return al_http_fail(c, AL_E_INVAL, "payment_terms",
                        "payment_terms must be prepaid, balance or invoiced");
}

/* The body's payment_terms, when given, must be the contract's; the quote must have been
 * priced under the contract version in force, so that its document is what is charged. */
static int confirm_terms(struct al_ctx *c, json_t *quote, const char *terms,
                         const struct al_contract *k)
{
    enum al_terms t = k->terms;
    json_t *qk = json_object_get(quote, "contract");
    json_int_t qid = json_integer_value(json_object_get(qk, "id"));
    json_int_t qv = json_integer_value(json_object_get(qk, "version"));
    if (terms && (al_contract_terms_parse(terms, &t) != 0 || t != k->terms))
        return al_http_fail(
            c, AL_E_STATE, "payment_terms", "payment_terms %s: contract %llu v%u says %s", terms,
            (unsigned long long)k->id, k->version, al_contract_terms_name(k->terms));
    if (qid == (json_int_t)k->id && qv == (json_int_t)k->version)
        return 0;
    if (!json_is_object(qk))
        return al_http_fail(
            c, AL_E_STATE, "quote",
            "the quote %s was priced at the list price, without a contract; the "
            "org's contract in force is %llu v%u: quote again (an accepted request keeps "
            "its quote: submit the request again)",
            jstr(quote, "id"), (unsigned long long)k->id, k->version);
    return al_http_fail(
        c, AL_E_STATE, "quote",
        "the quote %s was priced under contract %lld v%lld; the org's contract in "
        "force is %llu v%u: quote again (an accepted request keeps its quote: submit "
        "the request again)",
        jstr(quote, "id"), (long long)qid, (long long)qv, (unsigned long long)k->id, k->version);
}

/* The quote's holds pass to reservation `id`. */
static int take_holds(struct al_ctx *c, json_t *quote, const char *id)
{
    struct al_err err = {0};
    size_t n = json_array_size(json_object_get(quote, "allocations"));
    int rc = al_store_hold_transfer(c->srv->store, jstr(quote, "id"), id, &err);
    if (rc < 0)
        return al_http_fail_err(c, rc, &err);
    if ((size_t)rc != n)
        return al_http_fail(c, AL_E_NOFIT, NULL, "the quote's holds are gone (%d of %zu)", rc, n);
    c->cal_touched = true;
    al_calendar_reown(c->srv->cal->cal, al_cal_owner(jstr(quote, "id")), al_cal_owner(id));
    return 0;
}

/* Set r's "billing" (what it was charged so far) for the answer. */
static int with_billing(struct al_ctx *c, json_t *r, const struct al_charge_res *cr)
{
    json_t *b = al_charge_billing_json(c, cr);
    if (!b)
        return c->err_code ? c->err_code : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_object_set_new(r, "billing", b);
    return 0;
}

int al_confirm_quote(struct al_ctx *c, json_t *req, const struct al_charge_org *o,
                     const struct al_confirm_how *how, json_t **rsv)
{
    json_t *quote = json_object_get(req, "quote");
    struct al_charge_res cr = {.o = *o};
    char id[AL_HTTP_ID_LEN];
    int rc;
    *rsv = NULL;
    if (how->rsv_id) { /* held firm for it by the quote just made, in this unit of work */
        snprintf(id, sizeof id, "%s", how->rsv_id);
    } else {
        if ((rc = recheck_quote(c, quote, jtime(quote, "start"), jtime(quote, "end"))))
            return rc;
        al_id_new("rsv", c->now, id, sizeof id);
        if ((rc = take_holds(c, quote, id)))
            return rc;
    }
    if (!(*rsv = reservation_new(c, req, quote, id, &o->k)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (how->origin)
        json_object_set_new(*rsv, "origin", json_string(how->origin));
    const char *terms = al_contract_terms_name(o->k.terms);
    json_object_set_new(req, "reservation", json_string(id));
    json_object_set_new(req, "payment_terms", json_string(terms));
    json_object_set_new(req, "confirmed_by", json_string(c->user_id));
    /* the reservation's row first: its billing state refers to it */
    if ((rc = al_flow_request_step(c, req, AL_REQ_EV_CONFIRM)) ||
        (rc = al_flow_request_save(c, req, how->rsv_id != NULL)) ||
        (how->rsv_id && (rc = al_quote_insert(c, jstr(req, "id"), quote))) ||
        (rc = al_flow_rsv_save(c, *rsv, true)) ||
        (rc = al_charge_confirm_at(c, o, id, quote, how->at, how->what, &cr.b)) ||
        (rc = al_event(c, AL_EVENT_RESERVATION_SCHEDULED, jstr(req, "org"), id,
                       json_pack("{s:s,s:s,s:s,s:s?}", "request", jstr(req, "id"), "payment_terms",
                                 terms, "org", jstr(req, "org"), "origin", how->origin))) ||
        (rc = with_billing(c, *rsv, &cr))) {
        json_decref(*rsv);
        *rsv = NULL;
    }
    return rc;
}

static int post_confirm(struct al_ctx *c)
{
    static const char *const allowed[] = {"payment_terms", NULL};
    const char *terms = NULL;
    json_t *req = NULL, *rsv = NULL;
    struct al_charge_org o;
    char what[AL_HTTP_ID_LEN + 32];
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_name(c, c->body, "payment_terms", false, &terms)) ||
        (rc = terms_valid(c, terms)) || (rc = al_flow_request_load(c, &req)) ||
        (rc = al_flow_request_can(c, req, AL_REQ_EV_CONFIRM, NULL)))
        goto out;
    json_t *quote = json_object_get(req, "quote");
    snprintf(what, sizeof what, "cannot confirm %s", jstr(req, "id"));
    struct al_confirm_how how = {AL_CHECK_CONFIRM, NULL, what, NULL};
    if ((rc = al_flow_quote_live(c, req)) ||
        (rc = al_charge_org_contracted(c, jstr(req, "org"), c->now, what, &o)) ||
        (rc = confirm_terms(c, quote, terms, &o.k)) ||
        (rc = al_confirm_quote(c, req, &o, &how, &rsv)))
        goto out;
    rc = al_http_reply(c, 201, json_incref(rsv));
out:
    json_decref(req);
    json_decref(rsv);
    return rc;
}

/* ---- reservations ---- */

int al_routes_rsv_load(struct al_ctx *c, json_t **r)
{
    struct al_err e = {0};
    int rc = al_store_reservation_get(c->srv->store, c->params[0], r, &e);
    if (rc == 0 && !al_ctx_sees(c, jstr(*r, "org"))) {
        json_decref(*r);
        *r = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no reservation %s", c->params[0]);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static int get_reservation(struct al_ctx *c)
{
    struct al_charge_res cr;
    json_t *r;
    if (al_routes_rsv_load(c, &r))
        return c->err_code;
    int rc = al_charge_res_load(c, jstr(r, "id"), &cr);
    if (rc == 0)
        rc = with_billing(c, r, &cr);
    if (rc >= 0)
        rc = al_rsvlife_assigned(c, r);
    if (rc < 0) {
        json_decref(r);
        return rc;
    }
    return al_http_reply(c, 200, r);
}

static int get_reservations(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *state;
    char org[AL_HTTP_ID_LEN] = "", *next = NULL;
    json_t *items;
    struct al_err e = {0};
    if (al_http_page(c, &pg) ||
        al_flow_list_filters(c, AL_ENTITY_RESERVATION, &state, org, sizeof org))
        return c->err_code;
    int rc =
        al_store_reservation_list(c->srv->store, org[0] ? org : NULL, state, pg, &items, &next, &e);
    return rc ? al_http_fail_err(c, rc, &e) : al_http_reply(c, 200, al_http_list(items, next));
}

/* r's lines and total for its window up to `t` (C(t)), and the refund decision `d`. */
static int rsv_repriced(struct al_ctx *c, json_t *r, const struct al_charge_res *cr, int64_t t,
                        const struct al_decision *d)
{
    json_t *lines;
    int64_t total;
    int rc = al_charge_lines_json(c, cr, t, &lines, &total);
    if (rc)
        return rc;
    json_object_set_new(r, "lines", lines);
    json_object_set_new(r, "total_micros", json_integer(total));
    if (d) {
        json_object_set_new(r, "refund_micros", json_integer(d->amount));
        json_object_set_new(r, "fee_micros", json_integer(d->fee));
    }
    return 0;
}

/* Cancel or shorten the money of `r` when it has a billing state (cr->b.id stays 0 when it
 * has none: confirmed before charges, nothing to refund): who may, the refund less the fee,
 * the new billed end (cr->b.end). */
static int rsv_refund(struct al_ctx *c, json_t *r, int64_t new_end, bool cancel, const char *what,
                      struct al_charge_res *cr)
{
    struct al_cancel q = {c->role == AL_ROLE_OPERATOR ? AL_BY_OPERATOR : AL_BY_ORG_ADMIN, c->now,
                          new_end};
    struct al_decision d;
    int rc = al_charge_res_load(c, jstr(r, "id"), cr);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    struct al_charge_res before = *cr;
    if ((rc = al_charge_cancel(c, cr, &q, cancel, what, &d)) ||
        (rc = al_rsvlife_window_changed(c, r, &before, d.end)) ||
        (rc = rsv_repriced(c, r, cr, d.end, &d)))
        return rc;
    json_object_set_new(r, "billed_end", al_time_json(d.end));
    return 0;
}

/* Cancel: the capacity goes back to sale; the unused time is refunded per the contract. */
static int post_rsv_cancel(struct al_ctx *c)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL;
    json_t *r = NULL;
    struct al_charge_res cr;
    struct al_err err = {0};
    char what[AL_HTTP_ID_LEN + 16];
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_text(c, c->body, "reason", false, AL_HTTP_MAX_TEXT, &reason)) ||
        (rc = al_routes_rsv_load(c, &r)) || (rc = al_flow_rsv_step(c, r, AL_RSV_EV_CANCEL, NULL)))
        goto out;
    snprintf(what, sizeof what, "cannot cancel %s", jstr(r, "id"));
    if ((rc = rsv_refund(c, r, c->now, true, what, &cr)))
        goto out;
    c->cal_touched = true;
    al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(jstr(r, "id")));
    if ((rc = al_store_hold_release(c->srv->store, jstr(r, "id"), &err)) < 0) {
        rc = al_http_fail_err(c, rc, &err);
        goto out;
    }
    if (reason)
        json_object_set_new(r, "reason", json_string(reason));
    json_object_set_new(r, "cancelled_by", json_string(c->user_id));
    if ((rc = al_flow_rsv_save(c, r, false)) || (cr.b.id && (rc = with_billing(c, r, &cr))))
        goto out;
    rc = al_http_reply(c, 200, json_incref(r));
out:
    json_decref(r);
    return rc;
}

/* r's holds end at `end` (earlier than theirs), in the store and the calendar. */
static int holds_shorten(struct al_ctx *c, json_t *r, int64_t end)
{
    struct al_calendar *cal = c->srv->cal->cal;
    struct al_owner owner = al_cal_owner(jstr(r, "id"));
    struct al_err err = {0};
    uint32_t ids[AL_PLAN_MAX];
    int n = al_calendar_owner_holds(cal, owner, ids, AL_PLAN_MAX);
    c->cal_touched = true;
    for (int i = 0; i < n && i < AL_PLAN_MAX; i++) {
        struct al_hold h;
        if (al_calendar_get(cal, ids[i], &h) == 0 && h.t1 > end &&
            al_calendar_shorten(cal, ids[i], end, &err) != 0)
            return al_http_fail_err(c, AL_E_INTERNAL, &err);
    }
    int rc = al_store_hold_set_end(c->srv->store, jstr(r, "id"), end, &err);
    return rc < 0 ? al_http_fail_err(c, rc, &err) : 0;
}

/* The reservation.shortened event of r (its end not yet moved): {org, old_end, new_end,
 * refund_micros, fee_micros} from the answer rsv_refund built. */
static int shortened_event(struct al_ctx *c, json_t *r, int64_t new_end)
{
    json_t *data = json_pack("{s:O?,s:O,s:o,s:O?,s:O?}", "org", json_object_get(r, "org"),
                             "old_end", json_object_get(r, "end"), "new_end", al_time_json(new_end),
                             "refund_micros", json_object_get(r, "refund_micros"), "fee_micros",
                             json_object_get(r, "fee_micros"));
    if (!data)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return al_event(c, AL_EVENT_RESERVATION_SHORTENED, jstr(r, "org"), jstr(r, "id"), data);
}

/* Shortening: the same reservation ends earlier (never before the end of the hour in
 * progress); the time given up goes back to sale and is refunded per the contract. */
static int post_rsv_shorten(struct al_ctx *c)
{
    static const char *const allowed[] = {"end", NULL};
    int64_t new_end = 0;
    json_t *r = NULL;
    struct al_charge_res cr;
    char what[AL_HTTP_ID_LEN + 64], at[32];
    int rc;
    if ((rc = al_routes_rsv_load(c, &r)) || (rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_time(c, c->body, "end", true, &new_end)))
        goto out;
    const char *state = jstr(r, "state");
    snprintf(what, sizeof what, "cannot shorten %s to %s", jstr(r, "id"),
             al_time_fmt(new_end, at, sizeof at));
    if (strcmp(state, al_state_rsv_name(AL_RSV_SCHEDULED)) != 0 &&
        strcmp(state, al_state_rsv_name(AL_RSV_PROVISIONING)) != 0 &&
        strcmp(state, al_state_rsv_name(AL_RSV_ACTIVE)) != 0) {
        rc = al_http_fail(c, AL_E_STATE, NULL, "%s: it is %s", what, state);
        goto out;
    }
    if (new_end <= jtime(r, "start") || new_end >= jtime(r, "end") || new_end < c->now) {
        rc = al_http_fail(c, AL_E_INVAL, "end",
                          "end must be after the start, not before now, and earlier than %s "
                          "(to end it before it starts: cancel)",
                          jstr(r, "end"));
        goto out;
    }
    if ((rc = rsv_refund(c, r, new_end, false, what, &cr)))
        goto out;
    if (!cr.b.id) {
        rc =
            al_http_fail(c, AL_E_STATE, NULL,
                         "%s: it was confirmed before reservations were charged (cancel it)", what);
        goto out;
    }
    if ((rc = holds_shorten(c, r, cr.b.end)) || (rc = shortened_event(c, r, cr.b.end)))
        goto out;
    json_object_set_new(r, "end", al_time_json(cr.b.end));
    json_object_set_new(r, "shortened_by", json_string(c->user_id));
    if ((rc = al_flow_rsv_save(c, r, false)) || (rc = with_billing(c, r, &cr)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(r));
out:
    json_decref(r);
    return rc;
}

/* The extension's end must be later, within the longest window and the sale horizon; r
 * must name a known model and have a billing state (*cr). */
static int extend_checks(struct al_ctx *c, json_t *r, int64_t new_end, const char *what,
                         struct al_charge_res *cr)
{
    int64_t s = jtime(r, "start"), e = jtime(r, "end");
    if (new_end <= e || new_end - s > AL_FLOW_MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end",
                            "end must be later than %s and within 5 years of the start",
                            jstr(r, "end"));
    int rc = al_flow_horizon(c, "end", new_end);
    if (rc)
        return rc;
    if (!al_catalog_find(jstr(r, "model")))
        return al_http_fail(c, AL_E_INTERNAL, NULL, "reservation names an unknown model");
    if ((rc = al_charge_res_load(c, jstr(r, "id"), cr)) > 0)
        return al_http_fail(c, AL_E_STATE, NULL,
                            "%s: it was confirmed before reservations were charged; a renewal is "
                            "a new reservation",
                            what);
    return rc;
}

/* Renewal: the same reservation, a later end, when [end, new_end) is free on its GPUs; only
 * the added time is charged, at the reservation's frozen rates, and it is refused exactly like
 * a new reservation (funds, every limit on the new window). */
static int post_rsv_extend(struct al_ctx *c)
{
    static const char *const allowed[] = {"end", NULL};
    int64_t new_end = 0;
    json_t *r = NULL;
    struct al_charge_res cr;
    struct al_decision d;
    struct al_err err = {0};
    char what[AL_HTTP_ID_LEN + 64], at[32];
    int rc;
    /* another org's reservation is not found, whatever the body says */
    if ((rc = al_routes_rsv_load(c, &r)) || (rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_time(c, c->body, "end", true, &new_end)))
        goto out;
    int64_t e = jtime(r, "end");
    const struct al_gpu_model *m = al_catalog_find(jstr(r, "model"));
    snprintf(what, sizeof what, "cannot extend %s to %s", jstr(r, "id"),
             al_time_fmt(new_end, at, sizeof at));
    if ((rc = extend_checks(c, r, new_end, what, &cr)) ||
        (rc = allocs_free(c, r, m, e, new_end, what)) ||
        (rc = al_flow_rsv_step(c, r, AL_RSV_EV_EXTEND,
                               json_pack("{s:s,s:o}", "old_end", jstr(r, "end"), "new_end",
                                         al_time_json(new_end)))) ||
        (rc = al_charge_extend(c, &cr, new_end, what, &d)))
        goto out;
    c->cal_touched = true;
    if ((rc = al_calendar_extend_owner(c->srv->cal->cal, al_cal_owner(jstr(r, "id")), new_end,
                                       &err)) < 0) {
        /* the calendar's words name its owner and GPU numbers: the answer names ids and times */
        rc = rc == AL_E_CONFLICT ? extend_refused(c, r, m, e, new_end, what)
                                 : al_flow_cal_fail(c, rc, &err, jstr(r, "id"));
        goto out;
    }
    if ((rc = al_store_hold_set_end(c->srv->store, jstr(r, "id"), new_end, &err)) < 0) {
        rc = al_http_fail_err(c, rc, &err);
        goto out;
    }
    json_object_set_new(r, "end", al_time_json(new_end));
    json_object_set_new(r, "extension_micros", json_integer(d.amount));
    if ((rc = rsv_repriced(c, r, &cr, new_end, NULL)) || (rc = al_flow_rsv_save(c, r, false)) ||
        (rc = with_billing(c, r, &cr)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(r));
out:
    json_decref(r);
    return rc;
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_reservations[] = {
    {"POST", "/v1/requests/*/confirm", post_confirm, OP, true, false},
    {"GET", "/v1/reservations", get_reservations, OP | ADM | MEM, false, false},
    {"GET", "/v1/reservations/*", get_reservation, OP | ADM | MEM, false, false},
    {"POST", "/v1/reservations/*/cancel", post_rsv_cancel, OP | ADM, true, false},
    {"POST", "/v1/reservations/*/extend", post_rsv_extend, OP | ADM, true, false},
    {"POST", "/v1/reservations/*/shorten", post_rsv_shorten, OP | ADM, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
