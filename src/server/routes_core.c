/* routes_core.c — health, identity, the model catalog, orgs, users, nodes (agent heartbeats),
 * prices and the event log. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/auth.h"
#include "server/cal.h"
#include "server/routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_ONLINE_S  90 /* a node is online when it reported within this many seconds */
#define MAX_NODE_GPUS  64
#define MAX_LABELS     64
#define MAX_MONEY_HOUR INT64_C(1000000000000) /* 1,000,000 USD an hour: surely a typo above */

static const char *const time_keys[] = {"created_at", "updated_at", "last_seen", NULL};

static int store_fail(struct al_ctx *c, int rc, const struct al_err *e)
{
    return al_http_fail_err(c, rc, e);
}

static int get_healthz(struct al_ctx *c)
{
    return al_http_reply(c, 200, json_pack("{s:s}", "status", "ok"));
}

static int get_me(struct al_ctx *c)
{
    json_t *u = json_deep_copy(c->user);
    al_time_fields(u, time_keys);
    return al_http_reply(c, 200, json_pack("{s:o}", "user", u));
}

static json_t *model_json(const struct al_gpu_model *m)
{
    json_t *profiles = json_array();
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        json_t *starts = json_array();
        for (unsigned k = 0; k < p->nstarts; k++)
            json_array_append_new(starts, json_integer(p->starts[k]));
        json_array_append_new(
            profiles, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:i}", "name", p->name, "nvml_id",
                                (int)p->nvml_id, "compute_slices", (int)p->compute_slices,
                                "memory_gb", (int)p->mem_gb, "memory_mib", (int)p->mem_mib, "size",
                                (int)p->size, "starts", starts, "max_count", (int)p->max_count));
    }
    return json_pack("{s:s,s:s,s:b,s:i,s:i,s:i,s:o}", "name", m->name, "description",
                     m->description ? m->description : "", "mig", m->mig, "memory_gb",
                     (int)m->mem_gb, "units", (int)m->units, "compute_slices",
                     (int)m->compute_slices, "profiles", profiles);
}

static int get_models(struct al_ctx *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < al_catalog_count(); i++)
        json_array_append_new(arr, model_json(al_catalog_at(i)));
    return al_http_reply(c, 200, al_http_list(arr, NULL));
}

/* ---- orgs ---- */

static int post_orgs(struct al_ctx *c)
{
    static const char *const allowed[] = {"name", "customer_code", "display_name", NULL};
    const char *name = NULL, *code = NULL, *display = NULL;
    char id[AL_HTTP_ID_LEN];
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || al_field_name(c, c->body, "name", true, &name) ||
        al_field_name(c, c->body, "customer_code", false, &code) ||
        al_field_text(c, c->body, "display_name", false, 256, &display))
        return c->err_code;
    al_id_new("org", c->now, id, sizeof id);
    json_t *org = json_pack("{s:s,s:s,s:s?,s:s?,s:I}", "id", id, "name", name, "customer_code",
                            code, "display_name", display, "created_at", (json_int_t)c->now);
    if ((rc = al_store_org_insert(c->srv->store, org, &e)) != 0) {
        json_decref(org);
        return rc == AL_E_CONFLICT
                   ? al_http_fail(c, rc, "name", "an org with this name or customer code exists")
                   : store_fail(c, rc, &e);
    }
    if (al_event(c, "org.created", id, json_pack("{s:s}", "name", name))) {
        json_decref(org);
        return c->err_code;
    }
    al_time_fields(org, time_keys);
    return al_http_reply(c, 201, org);
}

static int get_orgs(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items;
    char *next = NULL;
    struct al_err e = {0};
    if (al_http_page(c, &pg))
        return c->err_code;
    if (c->role != AL_ROLE_OPERATOR && !c->org)
        return al_http_reply(c, 200, al_http_list(json_array(), NULL));
    int rc = al_store_org_list(c->srv->store, c->role == AL_ROLE_OPERATOR ? NULL : c->org, pg,
                               &items, &next, &e);
    if (rc)
        return store_fail(c, rc, &e);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) al_time_fields(o, time_keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* An org by id, name or customer code, as the caller may see it (404 otherwise). */
static int org_lookup(struct al_ctx *c, const char *key, const char *field, json_t **ret)
{
    struct al_err e = {0};
    int rc = al_store_org_get(c->srv->store, key, ret, &e);
    if (rc == 0 && !al_ctx_sees(c, json_string_value(json_object_get(*ret, "id")))) {
        json_decref(*ret);
        *ret = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, field, "no org %s", key);
    return rc ? store_fail(c, rc, &e) : 0;
}

static int get_org(struct al_ctx *c)
{
    json_t *org;
    if (org_lookup(c, c->params[0], NULL, &org))
        return c->err_code;
    al_time_fields(org, time_keys);
    return al_http_reply(c, 200, org);
}

/* ---- users ---- */

static int user_org(struct al_ctx *c, const char *role, const char *org_key, const char **org_id,
                    json_t **org)
{
    bool needs_org = strcmp(role, "org_admin") == 0 || strcmp(role, "member") == 0;
    if (c->role == AL_ROLE_ORG_ADMIN) {
        if (!needs_org)
            return al_http_fail(c, AL_E_FORBIDDEN, "role",
                                "an org admin creates members and "
                                "org admins only");
        if (!org_key)
            org_key = c->org;
    }
    if (!needs_org)
        return org_key ? al_http_fail(c, AL_E_INVAL, "org", "role %s has no org", role) : 0;
    if (!org_key)
        return al_http_fail(c, AL_E_INVAL, "org", "role %s needs an org", role);
    if (org_lookup(c, org_key, "org", org))
        return c->err_code;
    *org_id = json_string_value(json_object_get(*org, "id"));
    return 0;
}

static int post_users(struct al_ctx *c)
{
    static const char *const allowed[] = {"name", "role", "org", NULL};
    const char *name = NULL, *role = NULL, *org_key = NULL, *org_id = NULL;
    char id[AL_HTTP_ID_LEN], token[64];
    uint8_t hash[AL_STORE_HASH_LEN];
    json_t *org = NULL, *user = NULL;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || al_field_name(c, c->body, "name", true, &name) ||
        al_field_name(c, c->body, "role", true, &role) ||
        al_field_name(c, c->body, "org", false, &org_key))
        return c->err_code;
    if (strcmp(role, "operator") != 0 && strcmp(role, "org_admin") != 0 &&
        strcmp(role, "member") != 0 && strcmp(role, "agent") != 0)
        return al_http_fail(c, AL_E_INVAL, "role",
                            "role must be operator, org_admin, member "
                            "or agent");
    if ((rc = user_org(c, role, org_key, &org_id, &org)) != 0)
        goto out;
    al_id_new("usr", c->now, id, sizeof id);
    al_token_new(token, sizeof token, hash);
    user = json_pack("{s:s,s:s,s:s,s:s?,s:I}", "id", id, "name", name, "role", role, "org", org_id,
                     "created_at", (json_int_t)c->now);
    if ((rc = al_store_user_insert(c->srv->store, user, hash, &e)) != 0) {
        rc = rc == AL_E_CONFLICT ? al_http_fail(c, rc, "name", "a user named %s exists", name)
                                 : store_fail(c, rc, &e);
        goto out;
    }
    if ((rc = al_event(c, "user.created", id, json_pack("{s:s,s:s}", "name", name, "role", role))))
        goto out;
    al_time_fields(user, time_keys);
    rc = al_http_reply(c, 201, json_pack("{s:O,s:s}", "user", user, "token", token));
out:
    memset(token, 0, sizeof token);
    json_decref(user);
    json_decref(org);
    return rc;
}

static int get_users(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items, *org = NULL;
    char *next = NULL;
    struct al_err e = {0};
    const char *only = c->role == AL_ROLE_OPERATOR ? NULL : c->org, *q = al_http_query(c, "org");
    if (al_http_page(c, &pg))
        return c->err_code;
    if (q) {
        if (org_lookup(c, q, "org", &org))
            return c->err_code;
        only = json_string_value(json_object_get(org, "id"));
    }
    int rc = al_store_user_list(c->srv->store, only, pg, &items, &next, &e);
    json_decref(org);
    if (rc)
        return store_fail(c, rc, &e);
    size_t i;
    json_t *u;
    json_array_foreach(items, i, u) al_time_fields(u, time_keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* ---- nodes ---- */

static int check_labels(struct al_ctx *c, json_t *labels)
{
    const char *k;
    json_t *v;
    if (!labels || json_is_null(labels))
        return 0;
    if (!json_is_object(labels) || json_object_size(labels) > MAX_LABELS)
        return al_http_fail(c, AL_E_INVAL, "labels",
                            "labels must be an object of at most %d "
                            "name: string pairs",
                            MAX_LABELS);
    json_object_foreach(labels, k, v)
    {
        if (!al_name_ok(k) || !json_is_string(v) || json_string_length(v) > 256)
            return al_http_fail(c, AL_E_INVAL, "labels",
                                "label keys are names, values strings "
                                "of at most 256 bytes");
    }
    return 0;
}

/* Validate one reported GPU and rewrite it as the store keeps it. */
static int check_gpu(struct al_ctx *c, const char *node, json_t *g, size_t i, uint64_t *seen,
                     json_t *out)
{
    static const char *const allowed[] = {"index", "uuid", "model", "pool", "healthy", NULL};
    char field[32], id[AL_HTTP_ID_LEN + AL_HTTP_MAX_NAME];
    const char *uuid = NULL, *model = NULL, *pool = "dedicated";
    int64_t idx = 0;
    bool healthy = true;
    snprintf(field, sizeof field, "gpus[%zu]", i);
    if (!json_is_object(g))
        return al_http_fail(c, AL_E_INVAL, field, "%s must be an object", field);
    if (al_field_only(c, g, allowed) ||
        al_field_int(c, g, "index", true, 0, MAX_NODE_GPUS - 1, &idx) ||
        al_field_text(c, g, "uuid", true, AL_FLEET_UUID_MAX - 1, &uuid) ||
        al_field_text(c, g, "model", true, AL_HTTP_MAX_NAME, &model) ||
        al_field_name(c, g, "pool", false, &pool) || al_field_bool(c, g, "healthy", &healthy)) {
        char f2[128];
        snprintf(f2, sizeof f2, "%s.%s", field, c->err_field);
        snprintf(c->err_field, sizeof c->err_field, "%.64s", f2);
        return c->err_code;
    }
    const struct al_gpu_model *m = al_catalog_find(model);
    if (!m)
        return al_http_fail(c, AL_E_INVAL, "gpus.model", "%s.model: unknown GPU model %s", field,
                            model);
    if (strcmp(pool, "general") != 0 && strcmp(pool, "dedicated") != 0)
        return al_http_fail(c, AL_E_INVAL, "gpus.pool", "%s.pool must be general or dedicated",
                            field);
    if (!uuid[0] || *seen & (UINT64_C(1) << idx))
        return al_http_fail(c, AL_E_INVAL, "gpus.index", "%s: empty uuid or repeated index", field);
    *seen |= UINT64_C(1) << idx;
    snprintf(id, sizeof id, "gpu_%s-%d", node, (int)idx);
    json_array_append_new(out, json_pack("{s:s,s:I,s:s,s:s,s:s,s:b}", "id", id, "index",
                                         (json_int_t)idx, "uuid", uuid, "model", m->name, "pool",
                                         pool, "healthy", healthy));
    return 0;
}

static void node_out(struct al_ctx *c, json_t *n)
{
    int64_t seen = json_integer_value(json_object_get(n, "last_seen"));
    json_object_set_new(n, "online", json_boolean(c->now - seen <= NODE_ONLINE_S));
    al_time_fields(n, time_keys);
}

static int put_node(struct al_ctx *c)
{
    static const char *const allowed[] = {"zone", "labels", "gpus", NULL};
    const char *name = c->params[0], *zone = NULL;
    json_t *gpus = json_object_get(c->body, "gpus"), *out = NULL, *node = NULL, *old = NULL;
    uint64_t seen = 0;
    struct al_err e = {0};
    int rc;
    if (!al_name_ok(name) || strlen(name) >= AL_FLEET_NAME_MAX)
        return al_http_fail(c, AL_E_INVAL, "name", "node names are 1..%d of A-Z a-z 0-9 . _ -",
                            AL_FLEET_NAME_MAX - 1);
    if (al_field_only(c, c->body, allowed) || al_field_name(c, c->body, "zone", false, &zone) ||
        check_labels(c, json_object_get(c->body, "labels")))
        return c->err_code;
    if (zone && strlen(zone) >= AL_FLEET_ZONE_MAX)
        return al_http_fail(c, AL_E_INVAL, "zone", "zone names are at most %d characters",
                            AL_FLEET_ZONE_MAX - 1);
    if (!json_is_array(gpus) || json_array_size(gpus) > MAX_NODE_GPUS)
        return al_http_fail(c, AL_E_INVAL, "gpus", "gpus must be an array of at most %d",
                            MAX_NODE_GPUS);
    out = json_array();
    for (size_t i = 0; i < json_array_size(gpus); i++)
        if ((rc = check_gpu(c, name, json_array_get(gpus, i), i, &seen, out)) != 0)
            goto out;
    json_t *labels = json_object_get(c->body, "labels");
    node = json_pack("{s:s,s:s?,s:o,s:O}", "name", name, "zone", zone, "labels",
                     json_is_object(labels) ? json_incref(labels) : json_object(), "gpus", out);
    bool is_new = al_store_node_get(c->srv->store, name, &old, NULL) == AL_E_NOTFOUND;
    if ((rc = al_store_node_upsert(c->srv->store, node, c->now, &e)) != 0) {
        rc = rc == AL_E_CONFLICT ? al_http_fail(c, rc, "gpus.uuid",
                                                "a GPU uuid is registered on "
                                                "another node")
                                 : store_fail(c, rc, &e);
        goto out;
    }
    if (is_new && (rc = al_event(c, "node.registered", name,
                                 json_pack("{s:i}", "gpus", (int)json_array_size(out)))) != 0)
        goto out;
    json_decref(node);
    node = NULL;
    if ((rc = al_store_node_get(c->srv->store, name, &node, &e)) != 0) {
        rc = store_fail(c, rc, &e);
        goto out;
    }
    /* heartbeats that change nothing leave the planner's fleet alone */
    if (!old || !json_equal(json_object_get(old, "gpus"), json_object_get(node, "gpus")) ||
        !json_equal(json_object_get(old, "zone"), json_object_get(node, "zone"))) {
        c->cal_touched = true;
        if ((rc = al_cal_sync_node(c->srv->cal, node, &e)) < 0) {
            rc = store_fail(c, rc, &e);
            goto out;
        }
    }
    node_out(c, node);
    rc = al_http_reply(c, 200, json_incref(node));
out:
    json_decref(out);
    json_decref(node);
    json_decref(old);
    return rc;
}

static int get_nodes(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items;
    char *next = NULL;
    struct al_err e = {0};
    if (al_http_page(c, &pg))
        return c->err_code;
    int rc = al_store_node_list(c->srv->store, pg, &items, &next, &e);
    if (rc)
        return store_fail(c, rc, &e);
    size_t i;
    json_t *n;
    json_array_foreach(items, i, n) node_out(c, n);
    return al_http_reply(c, 200, al_http_list(items, next));
}

static int get_node(struct al_ctx *c)
{
    json_t *n;
    struct al_err e = {0};
    int rc = al_store_node_get(c->srv->store, c->params[0], &n, &e);
    if (rc)
        return store_fail(c, rc, &e);
    node_out(c, n);
    return al_http_reply(c, 200, n);
}

/* ---- prices ---- */

static int get_prices(struct al_ctx *c)
{
    json_t *items;
    struct al_err e = {0};
    int rc = al_store_price_list(c->srv->store, &items, &e);
    if (rc)
        return store_fail(c, rc, &e);
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p)
    {
        json_object_set_new(p, "currency", json_string("USD"));
        al_time_fields(p, time_keys);
    }
    return al_http_reply(c, 200, al_http_list(items, NULL));
}

static int put_price(struct al_ctx *c)
{
    static const char *const allowed[] = {"gpu_hour_micros", "mig_slice_hour_micros",
                                          "pool_gpu_hour_micros", "currency", NULL};
    const struct al_gpu_model *m = al_catalog_find(c->params[0]);
    struct al_store_price p = {.updated_at = c->now};
    const char *cur = "USD";
    struct al_err e = {0};
    if (!m)
        return al_http_fail(c, AL_E_INVAL, "model", "unknown GPU model %s", c->params[0]);
    if (al_field_only(c, c->body, allowed) ||
        al_field_int(c, c->body, "gpu_hour_micros", true, 0, MAX_MONEY_HOUR, &p.gpu_hour) ||
        al_field_int(c, c->body, "mig_slice_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &p.mig_slice_hour) ||
        al_field_int(c, c->body, "pool_gpu_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &p.pool_gpu_hour) ||
        al_field_name(c, c->body, "currency", false, &cur))
        return c->err_code;
    if (strcmp(cur, "USD") != 0)
        return al_http_fail(c, AL_E_INVAL, "currency", "only USD is supported");
    snprintf(p.model, sizeof p.model, "%s", m->name);
    int rc = al_store_price_put(c->srv->store, &p, &e);
    if (rc)
        return store_fail(c, rc, &e);
    json_t *j = json_pack(
        "{s:s,s:I,s:I,s:I,s:s,s:o}", "model", m->name, "gpu_hour_micros", (json_int_t)p.gpu_hour,
        "mig_slice_hour_micros", (json_int_t)p.mig_slice_hour, "pool_gpu_hour_micros",
        (json_int_t)p.pool_gpu_hour, "currency", "USD", "updated_at", al_time_json(c->now));
    if (al_event(c, "price.set", m->name, json_deep_copy(j))) {
        json_decref(j);
        return c->err_code;
    }
    return al_http_reply(c, 200, j);
}

/* ---- events ---- */

static int get_events(struct al_ctx *c)
{
    const char *after = al_http_query(c, "after");
    const char *lim = al_http_query(c, "limit");
    int64_t seq = 0;
    int64_t limit = 100;
    json_t *items;
    struct al_err e = {0};
    if (!after)
        after = al_http_query(c, "cursor");
    if (after) {
        if (strncmp(after, "evt_", 4) == 0)
            after += 4;
        if (al_parse_i64(after, 0, INT64_MAX, &seq) != 0)
            return al_http_fail(c, AL_E_INVAL, "after", "after must be an event id (evt_…)");
    }
    if (lim && al_parse_i64(lim, 1, 500, &limit) != 0)
        return al_http_fail(c, AL_E_INVAL, "limit", "limit must be 1..500");
    int rc = al_store_event_list(c->srv->store, seq, (int)limit, &items, &e);
    if (rc)
        return store_fail(c, rc, &e);
    size_t i;
    json_t *ev;
    char id[32], *next = NULL;
    json_array_foreach(items, i, ev)
    {
        snprintf(id, sizeof id, "evt_%012" PRId64,
                 (int64_t)json_integer_value(json_object_get(ev, "seq")));
        json_object_set_new(ev, "id", json_string(id));
        json_object_del(ev, "seq");
        al_time_fields(ev, (const char *const[]){"at", NULL});
    }
    if (json_array_size(items) == (size_t)limit)
        next = strdup(id);
    return al_http_reply(c, 200, al_http_list(items, next));
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER
#define AGT AL_ROLE_AGENT

const struct al_route al_routes_core[] = {
    {"GET", "/healthz", get_healthz, AL_ROLE_PUBLIC, false, false},
    {"GET", "/v1/me", get_me, AL_ROLE_ANY, false, false},
    {"GET", "/v1/models", get_models, AL_ROLE_ANY, false, false},
    {"POST", "/v1/orgs", post_orgs, OP, true, false},
    {"GET", "/v1/orgs", get_orgs, AL_ROLE_ANY, false, false},
    {"GET", "/v1/orgs/*", get_org, OP | ADM | MEM, false, false},
    {"POST", "/v1/users", post_users, OP | ADM, true, false},
    {"GET", "/v1/users", get_users, OP | ADM, false, false},
    {"PUT", "/v1/nodes/*", put_node, OP | AGT, true, false},
    {"GET", "/v1/nodes", get_nodes, OP, false, false},
    {"GET", "/v1/nodes/*", get_node, OP | AGT, false, false},
    {"GET", "/v1/prices", get_prices, AL_ROLE_ANY, false, false},
    {"PUT", "/v1/prices/*", put_price, OP, true, false},
    {"GET", "/v1/events", get_events, OP, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
