/* routes_requests.c — requests for capacity: submission (the ask is checked field by field by
 * ask.c), reading and listing them, and the steps that need no planning: approve, reject,
 * accept, cancel (a rejected or cancelled request's quote gives its capacity back). */
#include "server/http.h"

#include "core/state.h"
#include "server/ask.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

/* ---- submission ---- */

/* The request's own free text (the ask is ask.c's). */
static int check_texts(struct al_ctx *c, json_t *b, json_t *doc)
{
    static const char *const texts[] = {"usage_window", "image", "framework",
                                        "workload",     "notes", NULL};
    for (const char *const *k = texts; *k; k++) {
        const char *v = NULL;
        if (al_field_text(c, b, *k, false, AL_HTTP_MAX_TEXT, &v))
            return c->err_code;
        json_object_set_new(doc, *k, v ? json_string(v) : json_null());
    }
    return 0;
}

static int post_requests(struct al_ctx *c)
{
    struct al_ask a;
    char id[AL_HTTP_ID_LEN];
    json_t *org = NULL, *doc = json_object();
    int rc;
    if ((rc = al_field_only(c, c->body, al_ask_fields)) || (rc = al_ask_org(c, c->body, &org)) ||
        (rc = al_ask_parse(c, c->body, &a)) || (rc = check_texts(c, c->body, doc)))
        goto out;
    al_ask_write(&a, doc);
    al_id_new("req", c->now, id, sizeof id);
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "org", json_string(jstr(org, "id")));
    json_object_set_new(doc, "org_name", json_string(jstr(org, "name")));
    json_object_set_new(doc, "state", json_string(al_state_req_name(AL_REQ_SUBMITTED)));
    json_object_set_new(doc, "quote", json_null());
    json_object_set_new(doc, "reservation", json_null());
    json_object_set_new(doc, "created_by", json_string(c->user_id));
    json_object_set_new(doc, "created_at", al_time_json(c->now));
    if ((rc = al_flow_request_save(c, doc, true)) ||
        (rc = al_event(c, AL_EVENT_REQUEST_SUBMITTED, jstr(org, "id"), id,
                       json_pack("{s:s}", "org", jstr(org, "id")))))
        goto out;
    rc = al_http_reply(c, 201, json_incref(doc));
out:
    json_decref(doc);
    json_decref(org);
    return rc;
}

static int get_request(struct al_ctx *c)
{
    json_t *req;
    if (al_flow_request_load(c, &req))
        return c->err_code;
    return al_http_reply(c, 200, req);
}

/* ?order=desc lists newest first (the dashboard's queue opens on the newest requests of a long
 * history), each page before the previous page's next_cursor; asc (the default) oldest first. */
static int get_requests(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *state, *order = al_http_query(c, "order");
    char org[AL_HTTP_ID_LEN] = "", *next = NULL;
    json_t *items;
    struct al_err e = {0};
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return al_http_fail(c, AL_E_INVAL, "order", "order must be asc or desc");
    if (al_http_page(c, &pg) || al_flow_list_filters(c, AL_ENTITY_REQUEST, &state, org, sizeof org))
        return c->err_code;
    struct al_store_request_filter f = {org[0] ? org : NULL, state,
                                        order && strcmp(order, "desc") == 0};
    int rc = al_store_request_list(c->srv->store, &f, pg, &items, &next, &e);
    return rc ? al_http_fail_err(c, rc, &e) : al_http_reply(c, 200, al_http_list(items, next));
}

/* ---- approve, reject, accept, cancel ---- */

/* load → (quote still valid) → transition → extra → save → 200 request. */
static int simple_step(struct al_ctx *c, enum al_req_event ev, bool needs_quote, bool releases)
{
    json_t *req = NULL;
    struct al_err err = {0};
    const char *reason = NULL;
    int rc;
    static const char *const allowed[] = {"reason", NULL};
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_text(c, c->body, "reason", false, AL_HTTP_MAX_TEXT, &reason)) ||
        (rc = al_flow_request_load(c, &req)))
        goto out;
    enum al_req_state to = AL_REQ_SUBMITTED;
    if ((rc = al_flow_request_can(c, req, ev, &to)) ||
        (needs_quote && (rc = al_flow_quote_live(c, req))))
        goto out;
    const char *qid = jstr(json_object_get(req, "quote"), "id");
    if ((rc = al_flow_request_step(c, req, ev)))
        goto out;
    if (releases && qid) {
        c->cal_touched = true;
        al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(qid));
    }
    if (releases && qid && (rc = al_store_hold_release(c->srv->store, qid, &err)) < 0) {
        rc = al_http_fail_err(c, rc, &err);
        goto out;
    }
    if (reason)
        json_object_set_new(req, "reason", json_string(reason));
    char by[32];
    snprintf(by, sizeof by, "%s_by", al_state_req_name(to)); /* approved_by … */
    json_object_set_new(req, by, json_string(c->user_id));
    if ((rc = al_flow_request_save(c, req, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(req));
out:
    json_decref(req);
    return rc;
}

static int post_approve(struct al_ctx *c)
{
    return simple_step(c, AL_REQ_EV_APPROVE, true, false);
}

static int post_reject(struct al_ctx *c)
{
    return simple_step(c, AL_REQ_EV_REJECT, false, true);
}

static int post_accept(struct al_ctx *c)
{
    return simple_step(c, AL_REQ_EV_ACCEPT, true, false);
}

static int post_cancel_request(struct al_ctx *c)
{
    return simple_step(c, AL_REQ_EV_CANCEL, false, true);
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_requests[] = {
    {"POST", "/v1/requests", post_requests, OP | ADM, true, false},
    {"GET", "/v1/requests", get_requests, OP | ADM | MEM, false, false},
    {"GET", "/v1/requests/*", get_request, OP | ADM | MEM, false, false},
    {"POST", "/v1/requests/*/approve", post_approve, OP, true, false},
    {"POST", "/v1/requests/*/reject", post_reject, OP, true, false},
    {"POST", "/v1/requests/*/accept", post_accept, ADM, true, false},
    {"POST", "/v1/requests/*/cancel", post_cancel_request, OP | ADM, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
