/* routes_requests.c — requests for capacity: submission (the ask checked field by field),
 * reading and listing them, and the steps that need no planning: approve, reject, accept,
 * cancel (a rejected or cancelled request's quote gives its capacity back). */
#include "server/http.h"

#include "core/catalog.h"
#include "core/state.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define PAST_TOLERANCE_S 300

/* ---- submission ---- */

/* Resolve the org a new request is for: operators name it, org admins get their own. */
static int request_org(struct al_ctx *c, json_t *b, json_t **org)
{
    const char *key = NULL;
    struct al_err e = {0};
    if (al_field_name(c, b, "org", c->role == AL_ROLE_OPERATOR, &key))
        return c->err_code;
    if (!key)
        key = c->org;
    int rc = al_store_org_get(c->srv->store, key, org, &e);
    if (rc == 0 && !al_ctx_sees(c, jstr(*org, "id"))) {
        json_decref(*org);
        *org = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s", key);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* The memory/model/profile fields of a request, as read from the body. */
struct model_ask {
    const char *model, *profile;
    int64_t mem, imem;
    const char *imem_field; /* the field imem came from: min_memory_gb means per instance too */
    const struct al_gpu_model *m;
};

/* Can model m serve the ask (its kind, memory and profile), whatever the capacity? The rule
 * a quote chooses models by (core/planner.h), so that create accepts what a quote can serve. */
static bool model_fits(const struct model_ask *k, bool mig, const struct al_gpu_model *m)
{
    const struct al_model_ask a = {mig ? AL_REQ_MIG : AL_REQ_WHOLE, m, k->profile, (uint64_t)k->mem,
                                   (uint64_t)k->imem};
    struct al_model_choice ch;
    return al_planner_model_serves(&a, m, &ch) == 0;
}

/* Does a model of fleet `f` (NULL: of the catalog) serve the ask? */
static bool any_fits(const struct al_fleet *f, const struct model_ask *k, bool mig)
{
    size_t n = f ? al_fleet_nmodels(f) : al_catalog_count();
    for (size_t i = 0; i < n; i++)
        if (model_fits(k, mig, f ? al_fleet_model(f, (unsigned)i) : al_catalog_at(i)))
            return true;
    return false;
}

/* An ask can only be sold on GPUs the fleet has: a catalog model no node has registered (a
 * GPU of it, healthy or not) cannot be quoted, and neither can memory or a profile no model of
 * the fleet has. Refused at create, naming the field (docs/api.md, "Requests"). */
static int check_sellable(struct al_ctx *c, const struct model_ask *k, bool mig)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    if (k->m && al_fleet_model_slot(f, k->m) < 0)
        return al_http_fail(c, AL_E_INVAL, "model",
                            "no %s GPU is in the fleet: it cannot be sold until a node "
                            "registers one",
                            k->m->name);
    if (k->m || any_fits(f, k, mig))
        return 0;
    const char *where = any_fits(NULL, k, mig) ? "the fleet" : "the catalog";
    if (!mig)
        return al_http_fail(c, AL_E_INVAL, "min_memory_gb", "no GPU model in %s has %lld GB", where,
                            (long long)k->mem);
    struct model_ask any_size = *k;
    any_size.imem = 0;
    if (k->profile && (!k->imem || !any_fits(f, &any_size, true)))
        return al_http_fail(c, AL_E_INVAL, "profile", "no MIG model in %s has profile %s",
                            any_fits(NULL, &any_size, true) ? "the fleet" : "the catalog",
                            k->profile);
    return al_http_fail(c, AL_E_INVAL, k->imem_field, "no MIG instance%s%s in %s has %lld GB",
                        k->profile ? " of profile " : "", k->profile ? k->profile : "", where,
                        (long long)k->imem);
}

static int check_gpu_ask(struct al_ctx *c, struct model_ask *k)
{
    if (k->profile || k->imem)
        return al_http_fail(c, AL_E_INVAL, k->profile ? "profile" : "instance_memory_gb",
                            "%s is only for kind mig",
                            k->profile ? "profile" : "instance_memory_gb");
    if (!k->m && !k->mem)
        return al_http_fail(c, AL_E_INVAL, "model", "kind gpu needs model or min_memory_gb");
    if (k->m && k->mem && k->m->mem_gb < k->mem)
        return al_http_fail(c, AL_E_INVAL, "min_memory_gb",
                            "%s has %u GB, less than min_memory_gb %lld", k->m->name, k->m->mem_gb,
                            (long long)k->mem);
    return check_sellable(c, k, false);
}

/* The profile of m with the most memory among those a memory ask picks from (no +me/+gfx
 * variants: al_catalog_pick's plain_only), or NULL. */
static const struct al_mig_profile *largest_plain(const struct al_gpu_model *m)
{
    const struct al_mig_profile *big = NULL;
    for (unsigned i = 0; i < m->nprofiles; i++)
        if (m->profiles[i].attrs == 0 && (!big || m->profiles[i].mem_mib > big->mem_mib))
            big = &m->profiles[i];
    return big;
}

static int check_mig_ask(struct al_ctx *c, struct model_ask *k)
{
    k->imem_field = "instance_memory_gb";
    if (!k->imem && k->mem) {
        k->imem = k->mem; /* min_memory_gb means per instance for MIG */
        k->imem_field = "min_memory_gb";
    }
    if (!k->profile && !k->imem)
        return al_http_fail(c, AL_E_INVAL, "profile",
                            "kind mig needs profile or instance_memory_gb");
    if (k->m && !k->m->mig)
        return al_http_fail(c, AL_E_INVAL, "model", "%s does not support MIG", k->m->name);
    if (k->m && k->profile) {
        int pi = al_catalog_profile_index(k->m, k->profile);
        if (pi < 0)
            return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG profile %s", k->m->name,
                                k->profile);
        k->profile = k->m->profiles[pi].name;
        if (!model_fits(k, true, k->m))
            return al_http_fail(c, AL_E_INVAL, k->imem_field, "profile %s has less than %lld GB",
                                k->profile, (long long)k->imem);
    } else if (k->m && !model_fits(k, true, k->m)) {
        const struct al_mig_profile *big = largest_plain(k->m);
        return al_http_fail(c, AL_E_INVAL, k->imem_field,
                            "no MIG instance of %s has %lld GB (the largest, %s, has %u MiB)",
                            k->m->name, (long long)k->imem, big ? big->name : "none",
                            big ? big->mem_mib : 0);
    }
    return check_sellable(c, k, true);
}

static int check_model(struct al_ctx *c, json_t *b, const char *kind, json_t *doc)
{
    struct model_ask k = {0};
    bool mig = strcmp(kind, "mig") == 0;
    if (al_field_limit(c, b, "model", AL_LIMIT_MODEL, false, &k.model) ||
        al_field_int(c, b, "min_memory_gb", false, 1, 4096, &k.mem) ||
        al_field_limit(c, b, "profile", AL_LIMIT_PROFILE, false, &k.profile) ||
        al_field_int(c, b, "instance_memory_gb", false, 1, 4096, &k.imem))
        return c->err_code;
    if (k.model && !(k.m = al_catalog_find(k.model)))
        return al_http_fail(c, AL_E_INVAL, "model", "unknown GPU model %s", k.model);
    if (mig ? check_mig_ask(c, &k) : check_gpu_ask(c, &k))
        return c->err_code;
    json_object_set_new(doc, "model", k.m ? json_string(k.m->name) : json_null());
    json_object_set_new(doc, "min_memory_gb", k.mem && !mig ? json_integer(k.mem) : json_null());
    json_object_set_new(doc, "profile", k.profile ? json_string(k.profile) : json_null());
    json_object_set_new(doc, "instance_memory_gb",
                        mig && k.imem ? json_integer(k.imem) : json_null());
    return 0;
}

/* A fixed window [s, e). */
static int check_window(struct al_ctx *c, int64_t s, int64_t e, json_t *doc)
{
    if (!s || !e)
        return al_http_fail(c, AL_E_INVAL, s ? "end" : "start", "start and end go together");
    if (e <= s)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be after start");
    if (e - s > AL_FLOW_MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end", "window longer than 5 years");
    if (s < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "start", "start is in the past");
    if (al_flow_horizon(c, "start", s) || al_flow_horizon(c, "end", e))
        return c->err_code;
    json_object_set_new(doc, "start", al_time_json(s));
    json_object_set_new(doc, "end", al_time_json(e));
    return 0;
}

/* A duration with a start range [es, ls]. */
static int check_range(struct al_ctx *c, int64_t dur, int64_t es, int64_t ls, json_t *doc)
{
    if (!dur)
        return al_http_fail(c, AL_E_INVAL, "start",
                            "give start and end, or duration_hours with earliest_start");
    if (!es)
        return al_http_fail(c, AL_E_INVAL, "earliest_start", "duration_hours needs earliest_start");
    if (!ls)
        ls = es;
    if (ls < es)
        return al_http_fail(c, AL_E_INVAL, "latest_start", "latest_start is before earliest_start");
    if (ls - es > AL_FLOW_MAX_SEARCH_S)
        return al_http_fail(c, AL_E_INVAL, "latest_start", "start range longer than 90 days");
    if (es < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "earliest_start", "earliest_start is in the past");
    /* the last window the range allows must end within the horizon */
    if (al_flow_horizon(c, "earliest_start", es) ||
        al_flow_horizon(c, ls > es ? "latest_start" : "earliest_start", ls + dur * 3600))
        return c->err_code;
    json_object_set_new(doc, "duration_hours", json_integer(dur));
    json_object_set_new(doc, "earliest_start", al_time_json(es));
    json_object_set_new(doc, "latest_start", al_time_json(ls));
    return 0;
}

static int check_period(struct al_ctx *c, json_t *b, json_t *doc)
{
    int64_t s = 0, e = 0, dur = 0, es = 0, ls = 0;
    if (al_field_time(c, b, "start", false, &s) || al_field_time(c, b, "end", false, &e) ||
        al_field_int(c, b, "duration_hours", false, 1, AL_FLOW_MAX_WINDOW_S / 3600, &dur) ||
        al_field_time(c, b, "earliest_start", false, &es) ||
        al_field_time(c, b, "latest_start", false, &ls))
        return c->err_code;
    if ((s || e) && (dur || es || ls))
        return al_http_fail(c, AL_E_INVAL,
                            dur  ? "duration_hours"
                            : es ? "earliest_start"
                                 : "latest_start",
                            "give start and end, or duration_hours with earliest_start, not both");
    return s || e ? check_window(c, s, e, doc) : check_range(c, dur, es, ls, doc);
}

static int check_extras(struct al_ctx *c, json_t *b, json_t *doc)
{
    static const char *const texts[] = {"usage_window", "image", "framework",
                                        "workload",     "notes", NULL};
    const char *zone = NULL;
    bool same_node = false;
    if (al_field_bool(c, b, "same_node", &same_node) ||
        al_field_limit(c, b, "zone", AL_LIMIT_ZONE, false, &zone))
        return c->err_code;
    json_object_set_new(doc, "same_node", json_boolean(same_node));
    json_object_set_new(doc, "zone", zone ? json_string(zone) : json_null());
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
    static const char *const allowed[] = {"org",
                                          "kind",
                                          "model",
                                          "min_memory_gb",
                                          "count",
                                          "profile",
                                          "instance_memory_gb",
                                          "start",
                                          "end",
                                          "duration_hours",
                                          "earliest_start",
                                          "latest_start",
                                          "same_node",
                                          "zone",
                                          "usage_window",
                                          "image",
                                          "framework",
                                          "workload",
                                          "notes",
                                          NULL};
    const char *kind = NULL;
    int64_t count = 0;
    char id[AL_HTTP_ID_LEN];
    json_t *org = NULL, *doc = json_object();
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) || (rc = request_org(c, c->body, &org)) ||
        (rc = al_field_name(c, c->body, "kind", true, &kind)))
        goto out;
    if (strcmp(kind, "gpu") != 0 && strcmp(kind, "mig") != 0) {
        rc = al_http_fail(c, AL_E_INVAL, "kind", "kind must be gpu or mig");
        goto out;
    }
    if ((rc = al_field_int(c, c->body, "count", true, 1, AL_PLAN_MAX, &count)) ||
        (rc = check_model(c, c->body, kind, doc)) || (rc = check_period(c, c->body, doc)) ||
        (rc = check_extras(c, c->body, doc)))
        goto out;
    al_id_new("req", c->now, id, sizeof id);
    json_object_set_new(doc, "id", json_string(id));
    json_object_set_new(doc, "org", json_string(jstr(org, "id")));
    json_object_set_new(doc, "org_name", json_string(jstr(org, "name")));
    json_object_set_new(doc, "state", json_string(al_state_req_name(AL_REQ_SUBMITTED)));
    json_object_set_new(doc, "kind", json_string(kind));
    json_object_set_new(doc, "count", json_integer(count));
    json_object_set_new(doc, "quote", json_null());
    json_object_set_new(doc, "reservation", json_null());
    json_object_set_new(doc, "created_by", json_string(c->user_id));
    json_object_set_new(doc, "created_at", al_time_json(c->now));
    if ((rc = al_flow_request_save(c, doc, true)) ||
        (rc = al_event(c, AL_EVENT_REQUEST_SUBMITTED, id,
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

static int get_requests(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *state;
    char org[AL_HTTP_ID_LEN] = "", *next = NULL;
    json_t *items;
    struct al_err e = {0};
    if (al_http_page(c, &pg) || al_flow_list_filters(c, AL_ENTITY_REQUEST, &state, org, sizeof org))
        return c->err_code;
    int rc =
        al_store_request_list(c->srv->store, org[0] ? org : NULL, state, pg, &items, &next, &e);
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
