/* flow.c — what the request, quote and reservation routes and the background jobs share:
 * loading, saving and moving requests and reservations through core/state's tables, list
 * filters, the quote's validity, and the price lines of a quote or an extension. */
#include "server/flow.h"

#include "core/catalog.h"
#include "server/cal.h"

#include <stdio.h>
#include <string.h>

int al_flow_horizon(struct al_ctx *c, const char *field, int64_t t)
{
    char at[32], limit[32];
    if (t <= c->now + AL_FLOW_HORIZON_S)
        return 0;
    return al_http_fail(
        c, AL_E_INVAL, field, "%s %s is past the sale horizon %s (%lld days from now)", field,
        al_time_fmt(t, at, sizeof at), al_time_fmt(c->now + AL_FLOW_HORIZON_S, limit, sizeof limit),
        AL_FLOW_HORIZON_S / 86400);
}

int al_flow_request_load(struct al_ctx *c, json_t **req)
{
    struct al_err e = {0};
    int rc = al_store_request_get(c->srv->store, c->params[0], req, &e);
    if (rc == 0 && !al_ctx_sees(c, jstr(*req, "org"))) {
        json_decref(*req);
        *req = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no request %s", c->params[0]);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_flow_request_save(struct al_ctx *c, json_t *req, bool insert)
{
    struct al_err e = {0};
    struct al_store_doc_meta m = {jstr(req, "id"), jstr(req, "org"), jstr(req, "state"),
                                  jtime(req, "created_at"), c->now};
    json_object_set_new(req, "updated_at", al_time_json(c->now));
    int rc = al_store_request_put(c->srv->store, &m, req, insert, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* `req` moved by `ev`: *to and *kind, or the call failed with invalid_state. */
static int request_move(struct al_ctx *c, json_t *req, enum al_req_event ev, enum al_req_state *to,
                        enum al_event_kind *kind)
{
    const char *name = jstr(req, "state");
    enum al_req_state from;
    /* a state the table does not know (a damaged row) is refused like any other */
    if (al_state_req_parse(name, &from) != 0 || al_state_req_next(from, ev, to, kind) != 0)
        return al_http_fail(c, AL_E_STATE, "state", "cannot %s a request that is %s",
                            al_state_req_event_name(ev), name ? name : "?");
    return 0;
}

int al_flow_request_can(struct al_ctx *c, json_t *req, enum al_req_event ev, enum al_req_state *to)
{
    enum al_req_state reached = AL_REQ_SUBMITTED;
    int rc = request_move(c, req, ev, &reached, NULL);
    if (rc == 0 && to)
        *to = reached;
    return rc;
}

int al_flow_request_step(struct al_ctx *c, json_t *req, enum al_req_event ev)
{
    enum al_req_state to = AL_REQ_SUBMITTED;
    enum al_event_kind kind = AL_EVENT_REQUEST_SUBMITTED;
    int rc = request_move(c, req, ev, &to, &kind);
    if (rc)
        return rc;
    /* packed before the state is replaced: `from` is the old state's name, now known good */
    json_t *data = json_pack("{s:s,s:s,s:s}", "from", jstr(req, "state"), "to",
                             al_state_req_name(to), "event", al_state_req_event_name(ev));
    json_object_set_new(req, "state", json_string(al_state_req_name(to)));
    return al_event(c, kind, jstr(req, "org"), jstr(req, "id"), data);
}

int al_flow_list_filters(struct al_ctx *c, enum al_entity ent, const char **state, char *org,
                         size_t cap)
{
    const char *q = al_http_query(c, "org");
    *state = al_http_query(c, "state");
    if (*state && !al_state_known(ent, *state))
        return al_http_fail(c, AL_E_INVAL, "state", "unknown state %s", *state);
    snprintf(org, cap, "%s", c->role == AL_ROLE_OPERATOR ? "" : c->org ? c->org : "-");
    if (q) {
        json_t *o = NULL;
        struct al_err e = {0};
        int rc = al_store_org_get(c->srv->store, q, &o, &e);
        if (rc == 0 && !al_ctx_sees(c, jstr(o, "id")))
            rc = AL_E_NOTFOUND;
        if (rc == 0)
            snprintf(org, cap, "%s", jstr(o, "id"));
        json_decref(o);
        if (rc)
            return rc == AL_E_NOTFOUND ? al_http_fail(c, rc, "org", "no org %s", q)
                                       : al_http_fail_err(c, rc, &e);
    }
    return 0;
}

int al_flow_quote_live(struct al_ctx *c, json_t *req)
{
    json_t *q = json_object_get(req, "quote");
    int64_t vu;
    if (!jstr(q, "id") || al_time_parse(jstr(q, "valid_until"), &vu) != 0)
        return al_http_fail(c, AL_E_STATE, "state", "the request has no quote");
    if (c->now >= vu)
        return al_http_fail(c, AL_E_EXPIRED, "valid_until", "the quote expired at %s",
                            jstr(q, "valid_until"));
    return 0;
}

int al_flow_rsv_save(struct al_ctx *c, json_t *r, bool insert)
{
    struct al_err e = {0};
    struct al_store_doc_meta m = {jstr(r, "id"), jstr(r, "org"), jstr(r, "state"),
                                  jtime(r, "start"), jtime(r, "end")};
    json_object_set_new(r, "updated_at", al_time_json(c->now));
    int rc = al_store_reservation_put(c->srv->store, &m, r, insert, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_flow_rsv_step(struct al_ctx *c, json_t *r, enum al_rsv_event ev, json_t *data)
{
    const char *name = jstr(r, "state");
    enum al_rsv_state from, to;
    enum al_event_kind kind;
    if (al_state_rsv_parse(name, &from) != 0 || al_state_rsv_next(from, ev, &to, &kind) != 0) {
        json_decref(data);
        return al_http_fail(c, AL_E_STATE, "state", "cannot %s a reservation that is %s",
                            al_state_rsv_event_name(ev), name ? name : "?");
    }
    if (!data)
        data = json_object();
    json_object_set_new(data, "from", json_string(al_state_rsv_name(from)));
    json_object_set_new(data, "to", json_string(al_state_rsv_name(to)));
    json_object_set_new(r, "state", json_string(al_state_rsv_name(to)));
    return al_event(c, kind, jstr(r, "org"), jstr(r, "id"), data);
}

/* What an owner id names: "reservation rsv_…", "quote qte_…", "pool container ctr_…". */
static const char *owner_kind(const char *owner)
{
    if (strncmp(owner, "rsv_", 4) == 0)
        return "reservation";
    if (strncmp(owner, "qte_", 4) == 0)
        return "quote";
    if (strncmp(owner, "ctr_", 4) == 0)
        return "pool container";
    return "hold of";
}

int al_flow_hold_refusal(struct al_ctx *c, const char *what, const struct al_store_hold *h)
{
    struct al_store_hold o;
    struct al_err e = {0};
    char t0[32], t1[32];
    int rc = al_store_hold_first_conflict(c->srv->store, h, c->now, &o, &e);
    if (rc == AL_E_NOTFOUND) /* the in-memory calendar refused what the store allows */
        return al_http_fail_details(
            c, AL_E_NOFIT,
            json_pack("{s:s,s:s,s:[],s:[]}", "reason", "the placement no longer fits", "gpu",
                      h->gpu, "alternatives", "other_models"),
            "%s: GPU %s is not free during [%s, %s)", what, h->gpu,
            al_time_fmt(h->t0, t0, sizeof t0), al_time_fmt(h->t1, t1, sizeof t1));
    if (rc)
        return al_http_fail_err(c, rc, &e);
    al_time_fmt(o.t0, t0, sizeof t0);
    al_time_fmt(o.t1, t1, sizeof t1);
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:[],s:[]}", "reason", "a GPU of it is held", "gpu", o.gpu,
                  "held_by", o.owner, "start", t0, "end", t1, "alternatives", "other_models");
    return al_http_fail_details(c, AL_E_NOFIT, d, "%s: GPU %s is held by %s %s during [%s, %s)",
                                what, o.gpu, owner_kind(o.owner), o.owner, t0, t1);
}

int al_flow_cal_fail(struct al_ctx *c, int code, const struct al_err *e, const char *owner)
{
    const char *ids[] = {owner, NULL};
    char msg[AL_ERR_MSG_MAX];
    if (!e || !e->msg[0])
        return al_http_fail_err(c, code, e);
    /* a name left untranslated stays as core wrote it: the message is still true */
    (void)al_cal_message(c->srv->cal, e->msg, ids, msg, sizeof msg);
    return al_http_fail(c, code, NULL, "%s", msg);
}
