/* routes_nodes.c — nodes and their GPUs as the agents report them (PUT is the heartbeat:
 * checked by server/node_report, stored, its changes appended as events naming the
 * reservations and quotes on the hardware, and brought into the planner's fleet when the
 * node's GPUs, zone or liveness changed), and reading them with their state. */
#include "server/http.h"

#include "server/cal.h"
#include "server/node_report.h"
#include "server/routes.h"

#include <string.h>

/* The node as the API shows it: its status, each GPU's, how many are available, and
 * RFC 3339 times. */
static void node_out(json_t *n)
{
    json_t *g;
    size_t i;
    int available = 0;
    bool online = !json_is_false(json_object_get(n, "online"));
    json_object_set_new(n, "online", json_boolean(online));
    json_object_set_new(n, "status", json_string(online ? "online" : "offline"));
    json_array_foreach(json_object_get(n, "gpus"), i, g)
    {
        const char *st = al_node_gpu_status(n, g);
        available += strcmp(st, "available") == 0;
        json_object_set_new(g, "status", json_string(st));
    }
    json_object_set_new(n, "gpus_available", json_integer(available));
    al_time_fields(n, al_time_keys);
}

/* A change of the node (server/node_report.h) as an event, with the reservations and quotes
 * live on the GPU (gpu.*) or on the node (node.*). */
static int append_change(void *arg, enum al_event_kind kind, const char *object, json_t *data)
{
    struct al_ctx *c = arg;
    bool gpu = al_event_kind_about(kind, AL_EVENT_OF_GPU);
    json_t *owners = NULL;
    struct al_err e = {0};
    int rc = al_store_gpu_holders(c->srv->store, gpu ? NULL : object, gpu ? object : NULL, c->now,
                                  &owners, &e);
    if (rc == 0 && al_node_holders_into(data, owners) != 0)
        rc = al_err_set(&e, AL_E_NOMEM, "out of memory");
    json_decref(owners);
    if (rc != 0) {
        json_decref(data);
        return al_http_fail_err(c, rc, &e);
    }
    return al_event(c, kind, object, data);
}

/* Did the report change what the planner sees (GPUs, zone, liveness)? */
static bool fleet_changed(json_t *old, json_t *now)
{
    static const char *const keys[] = {"gpus", "zone", "labels", "online", NULL};
    if (!old)
        return true;
    for (const char *const *k = keys; *k; k++)
        if (!json_equal(json_object_get(old, *k), json_object_get(now, *k)))
            return true;
    return false;
}

static int put_node(struct al_ctx *c)
{
    const char *name = c->params[0];
    json_t *report = NULL, *node = NULL, *old = NULL;
    struct al_node_report_err re;
    struct al_err e = {0};
    int rc = al_node_report_parse(name, c->body, &report, &re);
    if (rc != 0)
        return al_http_fail(c, rc, re.field, "%s", re.msg);
    bool is_new = al_store_node_get(c->srv->store, name, &old, NULL) == AL_E_NOTFOUND;
    if ((rc = al_store_node_upsert(c->srv->store, report, c->now, &e)) != 0) {
        rc = rc == AL_E_CONFLICT ? al_http_fail(c, rc, "gpus.uuid", "%s", e.msg)
                                 : al_http_fail_err(c, rc, &e);
        goto out;
    }
    if (is_new &&
        (rc = al_event(c, AL_EVENT_NODE_REGISTERED, name,
                       json_pack("{s:i}", "gpus",
                                 (int)json_array_size(json_object_get(report, "gpus"))))) != 0)
        goto out;
    if ((rc = al_store_node_get(c->srv->store, name, &node, &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = al_node_report_changes(old, node, append_change, c)) != 0) {
        rc = rc == AL_E_NOMEM ? al_http_fail(c, rc, NULL, "out of memory") : rc;
        goto out;
    }
    /* heartbeats that change nothing leave the planner's fleet alone */
    if (fleet_changed(old, node)) {
        c->cal_touched = true;
        if ((rc = al_cal_sync_node(c->srv->cal, node, &e)) < 0) {
            rc = al_http_fail_err(c, rc, &e);
            goto out;
        }
    }
    node_out(node);
    rc = al_http_reply(c, 200, json_incref(node));
out:
    json_decref(report);
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
    json_array_foreach(items, i, n) node_out(n);
    return al_http_reply(c, 200, al_http_list(items, next));
}

static int get_node(struct al_ctx *c)
{
    json_t *n;
    struct al_err e = {0};
    int rc = al_store_node_get(c->srv->store, c->params[0], &n, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    node_out(n);
    return al_http_reply(c, 200, n);
}

const struct al_route al_routes_nodes[] = {
    {"PUT", "/v1/nodes/*", put_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, true, false},
    {"GET", "/v1/nodes", get_nodes, AL_ROLE_OPERATOR, false, false},
    {"GET", "/v1/nodes/*", get_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
