/* routes_flow.c — the request → quote → approval → contract → reservation flow, reservations
 * (cancel, extend), availability, and the clock that expires quotes and starts and ends
 * reservations. Every state change goes through core/state's tables and appends an event;
 * capacity is planned and written under the server's lock inside one transaction, and each
 * hold is re-checked against the store before it is written. */
#include "server/http.h"

#include "core/catalog.h"
#include "core/state.h"
#include "server/cal.h"
#include "server/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOW_S     (5LL * 366 * 86400) /* longest reservation */
#define MAX_SEARCH_S     (90LL * 86400)      /* how far alternatives are searched */
#define DEFAULT_VALID_M  1440
#define MAX_VALID_M      (30LL * 1440)
#define N_ALTERNATIVES   3
#define PAST_TOLERANCE_S 300

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jtime(json_t *o, const char *k)
{
    int64_t t = 0;
    if (al_time_parse(jstr(o, k), &t) != 0)
        return 0;
    return t;
}

static int store_fail(struct al_ctx *c, int rc, const struct al_err *e)
{
    return al_http_fail_err(c, rc, e);
}

/* ---- request validation ---- */

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
    return rc ? store_fail(c, rc, &e) : 0;
}

/* The memory/model/profile fields of a request, as read from the body. */
struct model_ask {
    const char *model, *profile;
    int64_t mem, imem;
    const struct al_gpu_model *m;
};

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
    return 0;
}

static int check_mig_ask(struct al_ctx *c, struct model_ask *k)
{
    if (!k->imem)
        k->imem = k->mem; /* min_memory_gb means per instance for MIG */
    if (!k->profile && !k->imem)
        return al_http_fail(c, AL_E_INVAL, "profile",
                            "kind mig needs profile or instance_memory_gb");
    if (!k->m)
        return 0;
    if (!k->m->mig)
        return al_http_fail(c, AL_E_INVAL, "model", "%s does not support MIG", k->m->name);
    if (!k->profile)
        return 0;
    int pi = al_catalog_profile_index(k->m, k->profile);
    if (pi < 0)
        return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG profile %s", k->m->name,
                            k->profile);
    k->profile = k->m->profiles[pi].name;
    if (k->imem && (uint64_t)k->m->profiles[pi].mem_mib * 1048576 < (uint64_t)k->imem * 1000000000)
        return al_http_fail(c, AL_E_INVAL, "instance_memory_gb", "profile %s has less than %lld GB",
                            k->profile, (long long)k->imem);
    return 0;
}

static int check_model(struct al_ctx *c, json_t *b, const char *kind, json_t *doc)
{
    struct model_ask k = {0};
    bool mig = strcmp(kind, "mig") == 0;
    if (al_field_text(c, b, "model", false, AL_HTTP_MAX_NAME, &k.model) ||
        al_field_int(c, b, "min_memory_gb", false, 1, 4096, &k.mem) ||
        al_field_name(c, b, "profile", false, &k.profile) ||
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
    if (e - s > MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end", "window longer than 5 years");
    if (s < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "start", "start is in the past");
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
    if (ls - es > MAX_SEARCH_S)
        return al_http_fail(c, AL_E_INVAL, "latest_start", "start range longer than 90 days");
    if (es < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "earliest_start", "earliest_start is in the past");
    json_object_set_new(doc, "duration_hours", json_integer(dur));
    json_object_set_new(doc, "earliest_start", al_time_json(es));
    json_object_set_new(doc, "latest_start", al_time_json(ls));
    return 0;
}

static int check_period(struct al_ctx *c, json_t *b, json_t *doc)
{
    int64_t s = 0, e = 0, dur = 0, es = 0, ls = 0;
    if (al_field_time(c, b, "start", false, &s) || al_field_time(c, b, "end", false, &e) ||
        al_field_int(c, b, "duration_hours", false, 1, MAX_WINDOW_S / 3600, &dur) ||
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
    if (al_field_bool(c, b, "same_node", &same_node) || al_field_name(c, b, "zone", false, &zone))
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

static int request_save(struct al_ctx *c, json_t *req, bool insert)
{
    struct al_err e = {0};
    struct al_store_doc_meta m = {jstr(req, "id"), jstr(req, "org"), jstr(req, "state"),
                                  jtime(req, "created_at"), c->now};
    json_object_set_new(req, "updated_at", al_time_json(c->now));
    int rc = al_store_request_put(c->srv->store, &m, req, insert, &e);
    return rc ? store_fail(c, rc, &e) : 0;
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
    json_object_set_new(doc, "state", json_string(al_state_initial(AL_ENTITY_REQUEST)));
    json_object_set_new(doc, "kind", json_string(kind));
    json_object_set_new(doc, "count", json_integer(count));
    json_object_set_new(doc, "quote", json_null());
    json_object_set_new(doc, "reservation", json_null());
    json_object_set_new(doc, "created_by", json_string(c->user_id));
    json_object_set_new(doc, "created_at", al_time_json(c->now));
    if ((rc = request_save(c, doc, true)) ||
        (rc = al_event(c, "request.submitted", id, json_pack("{s:s}", "org", jstr(org, "id")))))
        goto out;
    rc = al_http_reply(c, 201, json_incref(doc));
out:
    json_decref(doc);
    json_decref(org);
    return rc;
}

/* The request named in the path, as the caller may see it. */
static int request_load(struct al_ctx *c, json_t **req)
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
    return rc ? store_fail(c, rc, &e) : 0;
}

static int get_request(struct al_ctx *c)
{
    json_t *req;
    if (request_load(c, &req))
        return c->err_code;
    return al_http_reply(c, 200, req);
}

/* Filters of a list: ?state= checked against the entity's states, ?org= resolved. */
static int list_filters(struct al_ctx *c, enum al_entity ent, const char **state, char *org,
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
                                       : store_fail(c, rc, &e);
    }
    return 0;
}

static int get_requests(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *state;
    char org[AL_HTTP_ID_LEN] = "", *next = NULL;
    json_t *items;
    struct al_err e = {0};
    if (al_http_page(c, &pg) || list_filters(c, AL_ENTITY_REQUEST, &state, org, sizeof org))
        return c->err_code;
    int rc =
        al_store_request_list(c->srv->store, org[0] ? org : NULL, state, pg, &items, &next, &e);
    return rc ? store_fail(c, rc, &e) : al_http_reply(c, 200, al_http_list(items, next));
}

/* Move `req` by `event` through the table; fails with invalid_state naming both states. */
static int request_step(struct al_ctx *c, json_t *req, const char *event)
{
    char from[32];
    const char *to;
    snprintf(from, sizeof from, "%s", jstr(req, "state") ? jstr(req, "state") : "?");
    int rc = al_state_next(AL_ENTITY_REQUEST, from, event, &to);
    if (rc)
        return al_http_fail(c, AL_E_STATE, "state", "cannot %s a request that is %s", event, from);
    json_object_set_new(req, "state", json_string(to));
    char kind[48];
    snprintf(kind, sizeof kind, "request.%s", to);
    return al_event(c, kind, jstr(req, "id"),
                    json_pack("{s:s,s:s,s:s}", "from", from, "to", to, "event", event));
}

/* ---- quotes ---- */

/* A request's ask, read back from its stored document. */
struct ask {
    bool mig;
    const struct al_gpu_model *model; /* NULL: any that meets the memory ask */
    const char *profile;
    int64_t min_mem_gb, inst_mem_gb;
    unsigned count;
    bool same_node;
    const char *zone;
    bool fixed;
    int64_t s, e, dur, es, ls;
};

static void ask_read(json_t *req, struct ask *a)
{
    memset(a, 0, sizeof *a);
    a->mig = strcmp(jstr(req, "kind"), "mig") == 0;
    a->model = jstr(req, "model") ? al_catalog_find(jstr(req, "model")) : NULL;
    a->profile = jstr(req, "profile");
    a->min_mem_gb = json_integer_value(json_object_get(req, "min_memory_gb"));
    a->inst_mem_gb = json_integer_value(json_object_get(req, "instance_memory_gb"));
    a->count = (unsigned)json_integer_value(json_object_get(req, "count"));
    a->same_node = json_is_true(json_object_get(req, "same_node"));
    a->zone = jstr(req, "zone");
    a->fixed = jstr(req, "start") != NULL;
    if (a->fixed) {
        a->s = jtime(req, "start");
        a->e = jtime(req, "end");
        a->dur = a->e - a->s;
        a->es = a->ls = a->s;
    } else {
        a->dur = json_integer_value(json_object_get(req, "duration_hours")) * 3600;
        a->es = jtime(req, "earliest_start");
        a->ls = jtime(req, "latest_start");
    }
}

/* The planner's request for model `m`, or -1 when `m` cannot serve the ask. */
static int ask_for(const struct ask *a, const struct al_gpu_model *m, struct al_request *r)
{
    memset(r, 0, sizeof *r);
    r->kind = a->mig ? AL_REQ_MIG : AL_REQ_WHOLE;
    r->model = m;
    r->count = a->count;
    r->same_node = a->same_node;
    r->where.zone = a->zone;
    r->where.pool = -1;
    r->profile = -1;
    r->start = a->s;
    r->end = a->e;
    if (!a->mig)
        return m->mem_gb >= (uint64_t)a->min_mem_gb ? 0 : -1;
    if (!m->mig)
        return -1;
    if (a->profile) {
        r->profile = al_catalog_profile_index(m, a->profile);
        if (r->profile >= 0 && a->inst_mem_gb &&
            (uint64_t)m->profiles[r->profile].mem_mib * 1048576 <
                (uint64_t)a->inst_mem_gb * 1000000000)
            return -1;
    } else {
        r->profile = al_catalog_pick(m, (uint64_t)a->inst_mem_gb * 1000000000, true);
    }
    return r->profile >= 0 ? 0 : -1;
}

/* Models that could serve the ask, smallest memory first; `any` ignores the asked model. */
static size_t candidates(const struct ask *a, bool any, const struct al_gpu_model **out, size_t max)
{
    size_t n = 0;
    struct al_request r;
    if (a->model && !any) {
        if (ask_for(a, a->model, &r) == 0)
            out[n++] = a->model;
        return n;
    }
    for (size_t i = 0; i < al_catalog_count() && n < max; i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        if (ask_for(a, m, &r) != 0)
            continue;
        size_t k = n++;
        while (k > 0 && out[k - 1]->mem_gb > m->mem_gb) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = m;
    }
    return n;
}

/* Try the ask with model m: the fixed window, or the earliest start in range. Fills *plan
 * (clear it with al_plan_clear in every case). */
static int try_model(struct al_cal *cal, const struct ask *a, const struct al_gpu_model *m,
                     struct al_request *r, struct al_plan *plan, struct al_err *err)
{
    int64_t start;
    if (ask_for(a, m, r) != 0)
        return al_err_set(err, AL_E_NOFIT, "%s cannot serve this ask", m->name);
    if (al_fleet_model_slot(cal->fleet, m) < 0)
        return al_err_set(err, AL_E_NOFIT, "no %s GPU in the fleet", m->name);
    if (!a->fixed) {
        r->start = a->es;
        if (al_planner_earliest(cal->planner, r, a->dur, a->ls, &start, 1, NULL) == 1)
            r->start = start;
        r->end = r->start + a->dur;
    }
    return al_planner_plan(cal->planner, r, plan, err);
}

/* The 409 no_capacity answer: why, the earliest windows that fit, other models that fit. */
static int no_capacity(struct al_ctx *c, const struct ask *a, const struct al_gpu_model *primary,
                       const char *reason)
{
    struct al_cal *cal = c->srv->cal;
    json_t *alts = json_array(), *others = json_array();
    const struct al_gpu_model *cands[64];
    struct al_request r;
    if (primary && ask_for(a, primary, &r) == 0 && al_fleet_model_slot(cal->fleet, primary) >= 0) {
        int64_t starts[N_ALTERNATIVES];
        r.start = a->es;
        int n = al_planner_earliest(cal->planner, &r, a->dur, a->ls + MAX_SEARCH_S, starts,
                                    N_ALTERNATIVES, NULL);
        for (int i = 0; i < n; i++)
            json_array_append_new(alts, json_pack("{s:o,s:o}", "start", al_time_json(starts[i]),
                                                  "end", al_time_json(starts[i] + a->dur)));
    }
    size_t nc = candidates(a, true, cands, 64);
    for (size_t i = 0; i < nc; i++) {
        struct al_plan plan = {0};
        if (cands[i] != primary && try_model(cal, a, cands[i], &r, &plan, NULL) == 0)
            json_array_append_new(others, json_string(cands[i]->name));
        al_plan_clear(&plan);
    }
    return al_http_fail_details(
        c, AL_E_NOFIT,
        json_pack("{s:s,s:o,s:o}", "reason", reason, "alternatives", alts, "other_models", others),
        "%s", reason);
}

static int mul_ok(int64_t a, int64_t b, int64_t *r)
{
    return !__builtin_mul_overflow(a, b, r);
}

/* Price lines of the quote: whole GPU-hours, or MIG compute-slice-hours. */
struct priced {
    json_t *lines; /* owned: json_decref */
    int64_t total;
};

static int price_lines(struct al_ctx *c, unsigned count, const struct al_gpu_model *m, int profile,
                       int64_t s, int64_t e, struct priced *out)
{
    struct al_store_price p;
    struct al_err err = {0};
    int rc = al_store_price_get(c->srv->store, m->name, &p, &err);
    int64_t hours = (e - s + 3599) / 3600, units = count, rate = p.gpu_hour, amount;
    char what[128];
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, AL_E_CONFLICT, "model", "no price set for %s (PUT /v1/prices/%s)",
                            m->name, m->name);
    if (rc)
        return store_fail(c, rc, &err);
    if (profile >= 0) {
        units = (int64_t)count * m->profiles[profile].compute_slices;
        rate = p.mig_slice_hour;
        snprintf(what, sizeof what, "%s %s compute-slice-hour", m->name, m->profiles[profile].name);
    } else {
        snprintf(what, sizeof what, "%s GPU-hour", m->name);
    }
    if (!mul_ok(units, hours, &amount) || !mul_ok(amount, rate, &amount))
        return al_http_fail(c, AL_E_INVAL, "count", "price overflows");
    out->lines = json_pack("[{s:s,s:I,s:I,s:I,s:I}]", "what", what, "units", (json_int_t)units,
                           "hours", (json_int_t)hours, "rate_micros", (json_int_t)rate,
                           "amount_micros", (json_int_t)amount);
    out->total = amount;
    return 0;
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
    struct ask a;
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

/* Write the quote's tentative holds: each re-checked against the store first, then added to
 * the in-memory calendar (which checks them once more). */
static int write_holds(struct al_ctx *c, const char *owner, const struct quote_work *w,
                       int64_t expires)
{
    struct al_err err = {0};
    c->cal_touched = true;
    for (unsigned i = 0; i < w->a.count; i++) {
        struct al_store_hold h;
        hold_of(w, i, owner, expires, &h);
        int rc = al_store_hold_conflicts(c->srv->store, &h, c->now, &err);
        if (rc > 0)
            return al_http_fail(c, AL_E_NOFIT, NULL, "GPU %s was taken meanwhile", h.gpu);
        if (rc < 0 || (rc = al_store_hold_add(c->srv->store, &h, &err)) != 0)
            return store_fail(c, rc, &err);
        struct al_hold ch = {.gpu = (uint32_t)al_cal_gpu(c->srv->cal, h.gpu),
                             .whole = w->profile < 0,
                             .profile = (uint8_t)(w->profile < 0 ? 0 : w->profile),
                             .start = (uint8_t)(w->profile < 0 ? 0 : h.start_unit),
                             .t0 = w->s,
                             .t1 = w->e,
                             .expires = expires,
                             .owner = al_cal_owner(owner)};
        if (al_calendar_add(c->srv->cal->cal, &ch, &err) < 0)
            return al_http_fail(c, AL_E_NOFIT, NULL, "GPU %s: %s", h.gpu, err.msg);
    }
    return 0;
}

/* Find where the request fits (first candidate model that does), or answer no_capacity. */
static int quote_plan(struct al_ctx *c, json_t *req, struct quote_work *w)
{
    const struct al_gpu_model *cands[64];
    struct al_err err = {0}, first = {0};
    struct al_request r;
    ask_read(req, &w->a);
    if (!(w->allocs = calloc(w->a.count, sizeof *w->allocs)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    size_t nc = candidates(&w->a, false, cands, 64);
    for (size_t i = 0; i < nc; i++) {
        struct al_plan plan = {0};
        int rc = try_model(c->srv->cal, &w->a, cands[i], &r, &plan, i ? &err : &first);
        if (rc == 0 && plan.n == w->a.count && plan_allocs(c->srv->cal, &plan, w->allocs) == 0) {
            w->model = cands[i];
            w->profile = r.kind == AL_REQ_MIG ? plan.profile : -1;
            w->s = r.start;
            w->e = r.end;
            al_plan_clear(&plan);
            return 0;
        }
        al_plan_clear(&plan);
    }
    return no_capacity(c, &w->a, nc ? cands[0] : NULL,
                       nc ? first.msg : "no GPU model meets the ask");
}

static int post_quote(struct al_ctx *c)
{
    static const char *const allowed[] = {"valid_for_minutes", NULL};
    int64_t minutes = DEFAULT_VALID_M;
    json_t *req = NULL, *quote = NULL;
    struct quote_work w = {0};
    struct priced pr = {0};
    struct al_err err = {0};
    char qid[AL_HTTP_ID_LEN];
    const char *to;
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_int(c, c->body, "valid_for_minutes", false, 1, MAX_VALID_M, &minutes)) ||
        (rc = request_load(c, &req)))
        goto out;
    if (al_state_next(AL_ENTITY_REQUEST, jstr(req, "state"), "quote", &to) != 0) {
        rc = al_http_fail(c, AL_E_STATE, "state", "cannot quote a request that is %s",
                          jstr(req, "state"));
        goto out;
    }
    const char *old = jstr(json_object_get(req, "quote"), "id");
    if (old) {
        /* a new quote replaces the old one: its capacity is free for the new plan */
        c->cal_touched = true;
        al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(old));
        if ((rc = al_store_hold_release(c->srv->store, old, &err)) < 0) {
            rc = store_fail(c, rc, &err);
            goto out;
        }
    }
    if ((rc = quote_plan(c, req, &w)))
        goto out;
    if (!w.model) { /* quote_plan answers no_capacity otherwise; never reached */
        rc = al_http_fail(c, AL_E_INTERNAL, NULL, "no model planned");
        goto out;
    }
    if ((rc = price_lines(c, w.a.count, w.model, w.profile, w.s, w.e, &pr)))
        goto out;
    int64_t valid_until = c->now + minutes * 60;
    al_id_new("qte", c->now, qid, sizeof qid);
    if ((rc = write_holds(c, qid, &w, valid_until)))
        goto out;
    quote = json_pack("{s:s,s:b,s:s,s:o,s:o,s:o,s:O,s:I,s:s,s:o,s:o}", "id", qid, "fits", 1,
                      "model", w.model->name, "profile",
                      w.profile >= 0 ? json_string(w.model->profiles[w.profile].name) : json_null(),
                      "start", al_time_json(w.s), "end", al_time_json(w.e), "lines", pr.lines,
                      "total_micros", (json_int_t)pr.total, "currency", "USD", "valid_until",
                      al_time_json(valid_until), "created_at", al_time_json(c->now));
    json_object_set_new(quote, "allocations", allocs_json(w.model, w.profile, w.allocs, w.a.count));
    struct al_store_doc_meta m = {qid, jstr(req, "id"), NULL, valid_until, 0};
    if ((rc = al_store_quote_insert(c->srv->store, &m, quote, &err)) != 0) {
        rc = store_fail(c, rc, &err);
        goto out;
    }
    json_object_set(req, "quote", quote);
    if ((rc = request_step(c, req, "quote")) || (rc = request_save(c, req, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(req));
out:
    free(w.allocs);
    json_decref(pr.lines);
    json_decref(quote);
    json_decref(req);
    return rc;
}

/* ---- approve, reject, accept, confirm, cancel ---- */

/* The request's quote must still be valid at c->now. */
static int quote_live(struct al_ctx *c, json_t *req)
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

/* load → (quote still valid) → transition → extra → save → 200 request. */
static int simple_step(struct al_ctx *c, const char *event, bool needs_quote, bool releases)
{
    json_t *req = NULL;
    struct al_err err = {0};
    const char *reason = NULL;
    int rc;
    static const char *const allowed[] = {"reason", NULL};
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_text(c, c->body, "reason", false, AL_HTTP_MAX_TEXT, &reason)) ||
        (rc = request_load(c, &req)))
        goto out;
    const char *from = jstr(req, "state");
    const char *to;
    if (al_state_next(AL_ENTITY_REQUEST, from, event, &to) == 0 && needs_quote &&
        (rc = quote_live(c, req)))
        goto out;
    const char *qid = jstr(json_object_get(req, "quote"), "id");
    if ((rc = request_step(c, req, event)))
        goto out;
    if (releases && qid) {
        c->cal_touched = true;
        al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(qid));
    }
    if (releases && qid && (rc = al_store_hold_release(c->srv->store, qid, &err)) < 0) {
        rc = store_fail(c, rc, &err);
        goto out;
    }
    if (reason)
        json_object_set_new(req, "reason", json_string(reason));
    char by[32];
    snprintf(by, sizeof by, "%s_by", json_string_value(json_object_get(req, "state")));
    json_object_set_new(req, by, json_string(c->user_id));
    if ((rc = request_save(c, req, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(req));
out:
    json_decref(req);
    return rc;
}

static int post_approve(struct al_ctx *c)
{
    return simple_step(c, "approve", true, false);
}

static int post_reject(struct al_ctx *c)
{
    return simple_step(c, "reject", false, true);
}

static int post_accept(struct al_ctx *c)
{
    return simple_step(c, "accept", true, false);
}

static int post_cancel_request(struct al_ctx *c)
{
    return simple_step(c, "cancel", false, true);
}

static int rsv_save(struct al_ctx *c, json_t *r, bool insert)
{
    struct al_err e = {0};
    struct al_store_doc_meta m = {jstr(r, "id"), jstr(r, "org"), jstr(r, "state"),
                                  jtime(r, "start"), jtime(r, "end")};
    json_object_set_new(r, "updated_at", al_time_json(c->now));
    int rc = al_store_reservation_put(c->srv->store, &m, r, insert, &e);
    return rc ? store_fail(c, rc, &e) : 0;
}

/* Is every allocation of `doc` (a quote or a reservation) free in [from, to), apart from
 * doc's own holds? 0, or it fails the call with no_capacity. */
static int allocs_free(struct al_ctx *c, json_t *doc, const struct al_gpu_model *m, int64_t from,
                       int64_t to)
{
    struct al_err err = {0};
    json_t *a;
    size_t i;
    json_array_foreach(json_object_get(doc, "allocations"), i, a)
    {
        int pi = jstr(a, "profile") ? al_catalog_profile_index(m, jstr(a, "profile")) : -1;
        struct al_store_hold h = {
            .mask = al_cal_mask(m, pi, (int)json_integer_value(json_object_get(a, "start_unit"))),
            .t0 = from,
            .t1 = to};
        snprintf(h.gpu, sizeof h.gpu, "%s", jstr(a, "gpu") ? jstr(a, "gpu") : "");
        snprintf(h.owner, sizeof h.owner, "%s", jstr(doc, "id"));
        int rc = al_store_hold_conflicts(c->srv->store, &h, c->now, &err);
        if (rc < 0)
            return store_fail(c, rc, &err);
        if (rc > 0)
            return al_http_fail_details(
                c, AL_E_NOFIT,
                json_pack("{s:s,s:[],s:[]}", "reason", "a GPU of it is taken", "alternatives",
                          "other_models"),
                "GPU %s is not free during [%s, …)", h.gpu, jstr(doc, "id"));
    }
    return 0;
}

/* The quote's holds must collide with nothing else. */
static int recheck_quote(struct al_ctx *c, json_t *quote, int64_t s, int64_t e)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(quote, "model"));
    if (!m)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "quote names an unknown model");
    return allocs_free(c, quote, m, s, e);
}

static json_t *reservation_new(struct al_ctx *c, json_t *req, json_t *quote, const char *id,
                               const char *terms)
{
    json_t *r = json_pack(
        "{s:s,s:s,s:s?,s:s,s:s,s:O,s:O,s:s,s:O,s:O,s:I,s:O,s:O,s:O,s:s,s:s,s:s,s:o}", "id", id,
        "org", jstr(req, "org"), "org_name", jstr(req, "org_name"), "request", jstr(req, "id"),
        "state", al_state_initial(AL_ENTITY_RESERVATION), "start", json_object_get(quote, "start"),
        "end", json_object_get(quote, "end"), "kind", jstr(req, "kind"), "model",
        json_object_get(quote, "model"), "profile", json_object_get(quote, "profile"), "count",
        json_integer_value(json_object_get(req, "count")), "allocations",
        json_object_get(quote, "allocations"), "lines", json_object_get(quote, "lines"),
        "total_micros", json_object_get(quote, "total_micros"), "currency", "USD", "payment_terms",
        terms, "quote", jstr(quote, "id"), "created_at", al_time_json(c->now));
    return r;
}

static int post_confirm(struct al_ctx *c)
{
    static const char *const allowed[] = {"payment_terms", NULL};
    const char *terms = NULL, *to;
    json_t *req = NULL, *rsv = NULL;
    struct al_err err = {0};
    char id[AL_HTTP_ID_LEN];
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_name(c, c->body, "payment_terms", true, &terms)))
        goto out;
    if (strcmp(terms, "prepaid") != 0 && strcmp(terms, "invoiced") != 0) {
        rc = al_http_fail(c, AL_E_INVAL, "payment_terms",
                          "payment_terms must be prepaid or "
                          "invoiced");
        goto out;
    }
    if ((rc = request_load(c, &req)))
        goto out;
    if (al_state_next(AL_ENTITY_REQUEST, jstr(req, "state"), "confirm", &to) != 0) {
        rc = al_http_fail(c, AL_E_STATE, "state", "cannot confirm a request that is %s",
                          jstr(req, "state"));
        goto out;
    }
    json_t *quote = json_object_get(req, "quote");
    int64_t s = jtime(quote, "start"), e = jtime(quote, "end");
    if ((rc = quote_live(c, req)) || (rc = recheck_quote(c, quote, s, e)))
        goto out;
    al_id_new("rsv", c->now, id, sizeof id);
    size_t n = json_array_size(json_object_get(quote, "allocations"));
    rc = al_store_hold_transfer(c->srv->store, jstr(quote, "id"), id, &err);
    if (rc < 0) {
        rc = store_fail(c, rc, &err);
        goto out;
    }
    if ((size_t)rc != n) {
        rc = al_http_fail(c, AL_E_NOFIT, NULL, "the quote's holds are gone (%d of %zu)", rc, n);
        goto out;
    }
    c->cal_touched = true;
    al_calendar_reown(c->srv->cal->cal, al_cal_owner(jstr(quote, "id")), al_cal_owner(id));
    if (!(rsv = reservation_new(c, req, quote, id, terms))) {
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    json_object_set_new(req, "reservation", json_string(id));
    json_object_set_new(req, "payment_terms", json_string(terms));
    json_object_set_new(req, "confirmed_by", json_string(c->user_id));
    if ((rc = request_step(c, req, "confirm")) || (rc = request_save(c, req, false)) ||
        (rc = rsv_save(c, rsv, true)) ||
        (rc = al_event(c, "reservation.scheduled", id,
                       json_pack("{s:s,s:s,s:s}", "request", jstr(req, "id"), "payment_terms",
                                 terms, "org", jstr(req, "org")))))
        goto out;
    rc = al_http_reply(c, 201, json_incref(rsv));
out:
    json_decref(req);
    json_decref(rsv);
    return rc;
}

/* ---- reservations ---- */

static int rsv_load(struct al_ctx *c, json_t **r)
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
    return rc ? store_fail(c, rc, &e) : 0;
}

static int get_reservation(struct al_ctx *c)
{
    json_t *r;
    if (rsv_load(c, &r))
        return c->err_code;
    return al_http_reply(c, 200, r);
}

static int get_reservations(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *state;
    char org[AL_HTTP_ID_LEN] = "", *next = NULL;
    json_t *items;
    struct al_err e = {0};
    if (al_http_page(c, &pg) || list_filters(c, AL_ENTITY_RESERVATION, &state, org, sizeof org))
        return c->err_code;
    int rc =
        al_store_reservation_list(c->srv->store, org[0] ? org : NULL, state, pg, &items, &next, &e);
    return rc ? store_fail(c, rc, &e) : al_http_reply(c, 200, al_http_list(items, next));
}

/* Move reservation `r` by `event`; appends the event. */
static int rsv_step(struct al_ctx *c, json_t *r, const char *event, json_t *data)
{
    char from[32], kind[48];
    const char *to;
    snprintf(from, sizeof from, "%s", jstr(r, "state") ? jstr(r, "state") : "?");
    if (al_state_next(AL_ENTITY_RESERVATION, from, event, &to) != 0) {
        json_decref(data);
        return al_http_fail(c, AL_E_STATE, "state", "cannot %s a reservation that is %s", event,
                            from);
    }
    json_object_set_new(r, "state", json_string(to));
    if (!data)
        data = json_object();
    json_object_set_new(data, "from", json_string(from));
    json_object_set_new(data, "to", json_string(to));
    snprintf(kind, sizeof kind, "reservation.%s", strcmp(event, "extend") ? to : "extended");
    return al_event(c, kind, jstr(r, "id"), data);
}

static int post_rsv_cancel(struct al_ctx *c)
{
    static const char *const allowed[] = {"reason", NULL};
    const char *reason = NULL;
    json_t *r = NULL;
    struct al_err err = {0};
    int rc;
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_text(c, c->body, "reason", false, AL_HTTP_MAX_TEXT, &reason)) ||
        (rc = rsv_load(c, &r)) || (rc = rsv_step(c, r, "cancel", NULL)))
        goto out;
    /* the capacity goes back to sale */
    c->cal_touched = true;
    al_calendar_cancel_owner(c->srv->cal->cal, al_cal_owner(jstr(r, "id")));
    if ((rc = al_store_hold_release(c->srv->store, jstr(r, "id"), &err)) < 0) {
        rc = store_fail(c, rc, &err);
        goto out;
    }
    if (reason)
        json_object_set_new(r, "reason", json_string(reason));
    json_object_set_new(r, "cancelled_by", json_string(c->user_id));
    if ((rc = rsv_save(c, r, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(r));
out:
    json_decref(r);
    return rc;
}

/* Renewal: the same reservation, a later end, when [end, new_end) is free on its GPUs. */
static int post_rsv_extend(struct al_ctx *c)
{
    static const char *const allowed[] = {"end", NULL};
    int64_t new_end = 0;
    json_t *r = NULL;
    struct priced pr = {0};
    struct al_err err = {0};
    int rc;
    /* another org's reservation is not found, whatever the body says */
    if ((rc = rsv_load(c, &r)) || (rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_time(c, c->body, "end", true, &new_end)))
        goto out;
    int64_t s = jtime(r, "start"), e = jtime(r, "end");
    const struct al_gpu_model *m = al_catalog_find(jstr(r, "model"));
    if (new_end <= e || new_end - s > MAX_WINDOW_S) {
        rc = al_http_fail(c, AL_E_INVAL, "end",
                          "end must be later than %s and within 5 years of the start",
                          jstr(r, "end"));
        goto out;
    }
    if (!m) {
        rc = al_http_fail(c, AL_E_INTERNAL, NULL, "reservation names an unknown model");
        goto out;
    }
    int pi = jstr(r, "profile") ? al_catalog_profile_index(m, jstr(r, "profile")) : -1;
    unsigned count = (unsigned)json_integer_value(json_object_get(r, "count"));
    if ((rc = allocs_free(c, r, m, e, new_end)) ||
        (rc = price_lines(c, count, m, pi, s, new_end, &pr)) ||
        (rc = rsv_step(
             c, r, "extend",
             json_pack("{s:s,s:o}", "old_end", jstr(r, "end"), "new_end", al_time_json(new_end)))))
        goto out;
    c->cal_touched = true;
    if (al_calendar_extend_owner(c->srv->cal->cal, al_cal_owner(jstr(r, "id")), new_end, &err) <
        0) {
        rc = al_http_fail_details(
            c, AL_E_NOFIT,
            json_pack("{s:s,s:[],s:[]}", "reason", err.msg, "alternatives", "other_models"), "%s",
            err.msg);
        goto out;
    }
    if ((rc = al_store_hold_set_end(c->srv->store, jstr(r, "id"), new_end, &err)) < 0) {
        rc = store_fail(c, rc, &err);
        goto out;
    }
    json_object_set_new(r, "end", al_time_json(new_end));
    json_object_set(r, "lines", pr.lines);
    json_object_set_new(r, "total_micros", json_integer(pr.total));
    if ((rc = rsv_save(c, r, false)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(r));
out:
    json_decref(pr.lines);
    json_decref(r);
    return rc;
}

/* ---- availability ---- */

/* How many instances of profile `p` alone fit in the units not in `taken` (greedy by start,
 * which is optimal for placements of one size). */
static unsigned fit_count(const struct al_gpu_model *m, unsigned p, uint32_t taken)
{
    const struct al_mig_profile *pr = &m->profiles[p];
    unsigned n = 0, slices = 0;
    for (unsigned k = 0; k < pr->nstarts && n < pr->max_count; k++) {
        uint32_t mk = (uint32_t)al_cal_mask(m, (int)p, pr->starts[k]);
        if ((taken & mk) || slices + pr->compute_slices > m->compute_slices)
            continue;
        taken |= mk;
        slices += pr->compute_slices;
        n++;
    }
    return n;
}

/* Free capacity of model m during [s, e), straight from the calendar: a GPU is wholly free
 * when no hold overlaps the window; MIG instances are counted in the units no hold takes at
 * any time of the window (a lower bound when holds come and go inside it). GPUs the calendar's
 * coarse index shows as untouched are counted 64 at a time. */
static void avail_count(struct al_cal *cal, const struct al_gpu_model *m, int64_t s, int64_t e,
                        unsigned *total, unsigned *whole, unsigned *inst)
{
    int slot = al_fleet_model_slot(cal->fleet, m);
    const uint64_t *mb = slot >= 0 ? al_fleet_model_bits(cal->fleet, (unsigned)slot) : NULL;
    const uint64_t *ub = al_fleet_usable_bits(cal->fleet);
    unsigned empty[AL_MIG_MAX_PROFILES] = {0};
    struct al_cal_span sp;
    bool indexed = al_calendar_prepare(cal->cal, s, e, &sp) == 0;
    *total = *whole = 0;
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        empty[p] = fit_count(m, p, 0);
    for (size_t w = 0; mb && ub && w < al_fleet_words(cal->fleet); w++) {
        uint64_t cand = mb[w] & ub[w], idx[4] = {0};
        if (!cand)
            continue;
        if (indexed)
            al_calendar_index_word(cal->cal, &sp, w, idx);
        unsigned nfree = (unsigned)__builtin_popcountll(cand & idx[0]);
        *total += (unsigned)__builtin_popcountll(cand);
        *whole += nfree;
        for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
            inst[p] += nfree * empty[p];
        for (uint64_t bits = cand & ~idx[0]; bits; bits &= bits - 1) {
            uint32_t g = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
            uint32_t taken = al_calendar_mask(cal->cal, g, s, e);
            *whole += taken == 0;
            for (unsigned p = 0; m->mig && p < m->nprofiles && taken != AL_CAL_WHOLE_MASK; p++)
                inst[p] += fit_count(m, p, taken);
        }
    }
}

static int get_availability(struct al_ctx *c)
{
    const char *model = al_http_query(c, "model"), *qs = al_http_query(c, "start");
    const char *qe = al_http_query(c, "end"), *qp = al_http_query(c, "profile");
    const struct al_gpu_model *m;
    int64_t s = c->now, e;
    unsigned total, whole, inst[AL_MIG_MAX_PROFILES] = {0};
    int pi = -1;
    if (!model || !(m = al_catalog_find(model)))
        return al_http_fail(c, AL_E_INVAL, "model", "model is required and must be known");
    if (qs && al_time_parse(qs, &s) != 0)
        return al_http_fail(c, AL_E_INVAL, "start", "start must be an RFC 3339 UTC time");
    e = s + 3600;
    if (qe && al_time_parse(qe, &e) != 0)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be an RFC 3339 UTC time");
    if (e <= s || e - s > MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be after start, within 5 years");
    if (qp && (pi = al_catalog_profile_index(m, qp)) < 0)
        return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG profile %s", m->name, qp);
    avail_count(c->srv->cal, m, s, e, &total, &whole, inst);
    json_t *profiles = json_array();
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        if (pi < 0 || (int)p == pi)
            json_array_append_new(profiles, json_pack("{s:s,s:i}", "profile", m->profiles[p].name,
                                                      "instances_free", (int)inst[p]));
    return al_http_reply(c, 200,
                         json_pack("{s:s,s:o,s:o,s:i,s:i,s:o}", "model", m->name, "start",
                                   al_time_json(s), "end", al_time_json(e), "whole_gpus_free",
                                   (int)whole, "total_gpus", (int)total, "profiles", profiles));
}

/* ---- the clock ---- */

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
            if (rc >= 0 && (rc = request_step(c, req, "expire")) == 0)
                rc = request_save(c, req, false);
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
                rc = rsv_step(c, r, "start", NULL);
            if (rc == 0 && strcmp(jstr(r, "state"), "active") == 0 && jtime(r, "end") <= c->now)
                rc = rsv_step(c, r, "end", NULL);
            if (rc == 0)
                rc = rsv_save(c, r, false);
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

int al_flow_tick(struct al_srv *srv)
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

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_flow[] = {
    {"POST", "/v1/requests", post_requests, OP | ADM, true, false},
    {"GET", "/v1/requests", get_requests, OP | ADM | MEM, false, false},
    {"GET", "/v1/requests/*", get_request, OP | ADM | MEM, false, false},
    {"POST", "/v1/requests/*/quote", post_quote, OP, true, false},
    {"POST", "/v1/requests/*/approve", post_approve, OP, true, false},
    {"POST", "/v1/requests/*/reject", post_reject, OP, true, false},
    {"POST", "/v1/requests/*/accept", post_accept, ADM, true, false},
    {"POST", "/v1/requests/*/confirm", post_confirm, OP, true, false},
    {"POST", "/v1/requests/*/cancel", post_cancel_request, OP | ADM, true, false},
    {"GET", "/v1/reservations", get_reservations, OP | ADM | MEM, false, false},
    {"GET", "/v1/reservations/*", get_reservation, OP | ADM | MEM, false, false},
    {"POST", "/v1/reservations/*/cancel", post_rsv_cancel, OP | ADM, true, false},
    {"POST", "/v1/reservations/*/extend", post_rsv_extend, OP | ADM, true, false},
    {"GET", "/v1/availability", get_availability, AL_ROLE_ANY, false, true},
    {NULL, NULL, NULL, 0, false, false},
};
