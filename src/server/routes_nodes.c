/* routes_nodes.c — nodes and their GPUs as the agents report them (PUT is the heartbeat:
 * every GPU checked, the planner's fleet changed only when the GPUs or the zone did), and
 * reading them with their online state. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/cal.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define NODE_ONLINE_S 90 /* a node is online when it reported within this many seconds */
#define MAX_NODE_GPUS 64
#define MAX_LABELS    64

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
    al_time_fields(n, al_time_keys);
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
                                 : al_http_fail_err(c, rc, &e);
        goto out;
    }
    if (is_new && (rc = al_event(c, "node.registered", name,
                                 json_pack("{s:i}", "gpus", (int)json_array_size(out)))) != 0)
        goto out;
    json_decref(node);
    node = NULL;
    if ((rc = al_store_node_get(c->srv->store, name, &node, &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    /* heartbeats that change nothing leave the planner's fleet alone */
    if (!old || !json_equal(json_object_get(old, "gpus"), json_object_get(node, "gpus")) ||
        !json_equal(json_object_get(old, "zone"), json_object_get(node, "zone"))) {
        c->cal_touched = true;
        if ((rc = al_cal_sync_node(c->srv->cal, node, &e)) < 0) {
            rc = al_http_fail_err(c, rc, &e);
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
        return al_http_fail_err(c, rc, &e);
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
        return al_http_fail_err(c, rc, &e);
    node_out(c, n);
    return al_http_reply(c, 200, n);
}

const struct al_route al_routes_nodes[] = {
    {"PUT", "/v1/nodes/*", put_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, true, false},
    {"GET", "/v1/nodes", get_nodes, AL_ROLE_OPERATOR, false, false},
    {"GET", "/v1/nodes/*", get_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
