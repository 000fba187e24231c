/* routes_nodes.c — nodes and their GPUs as the agents report them (PUT is the heartbeat:
 * checked by server/node_report, stored, its changes appended as events naming the
 * reservations and quotes on the hardware, reservations' mig_uuid following instances made
 * again (server/provision.h), and brought into the planner's fleet when the node's GPUs, zone
 * or liveness changed), reading them with their state, and the node-bound agent tokens: issued
 * and revoked by operators; their holder reports and reads only its own node, and any other
 * answers 404, as a node that does not exist would. */
#include "server/http.h"

#include "server/auth.h"
#include "server/cal.h"
#include "server/metrics.h"
#include "server/migplan.h"
#include "server/node_report.h"
#include "server/provision.h"
#include "server/routes.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A caller whose token is bound to another node than `name` learns nothing of it: the call
 * fails as one about a node that does not exist. Returns 0 when the caller may go on. */
static int own_node(struct al_ctx *c, const char *name)
{
    const char *mine = al_auth_node(c);
    if (!mine || strcmp(mine, name) == 0)
        return 0;
    return al_http_fail(c, AL_E_NOTFOUND, NULL, "no node %s", name);
}

/* The node as the API shows it: its status, each GPU's (with its MIG state as observed and as
 * desired), how many are available, and RFC 3339 times. */
static void node_out(json_t *n)
{
    static const char *const gpu_times[] = {"observed_at", NULL};
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
        al_time_fields(g, gpu_times);
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
    if (rc != 0) {
        json_decref(owners);
        json_decref(data);
        return al_http_fail_err(c, rc, &e);
    }
    /* every org with a reservation (or a quote) on it hears of it */
    rc = al_event_holders(c, kind, owners, object, data);
    json_decref(owners);
    return rc;
}

/* Do two versions of a node's GPUs differ in what the planner's fleet holds? Their MIG state
 * is not in it (the clock tick's planning pass reads it from the store), and observed_at moves
 * with every heartbeat of an agent that reports one. */
static bool gpus_changed(json_t *old, json_t *now)
{
    static const char *const mig[] = {"observed", "observed_at", "desired", NULL};
    json_t *a, *v;
    const char *k;
    size_t i;
    if (json_array_size(old) != json_array_size(now))
        return true;
    json_array_foreach(old, i, a)
    {
        json_t *b = json_array_get(now, i);
        if (json_object_size(a) != json_object_size(b))
            return true;
        json_object_foreach(a, k, v)
        {
            if (!al_field_listed(mig, k) && !json_equal(v, json_object_get(b, k)))
                return true;
        }
    }
    return false;
}

/* Did the report change what the planner sees (GPUs, zone, liveness)? */
static bool fleet_changed(json_t *old, json_t *now)
{
    static const char *const keys[] = {"zone", "labels", "online", NULL};
    if (!old)
        return true;
    for (const char *const *k = keys; *k; k++)
        if (!json_equal(json_object_get(old, *k), json_object_get(now, *k)))
            return true;
    return gpus_changed(json_object_get(old, "gpus"), json_object_get(now, "gpus"));
}

static int put_node(struct al_ctx *c)
{
    const char *name = c->params[0];
    json_t *report = NULL, *node = NULL, *old = NULL;
    struct al_node_report_err re;
    struct al_err e = {0};
    if (own_node(c, name))
        return c->err_code;
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
        (rc = al_event(c, AL_EVENT_NODE_REGISTERED, NULL, name,
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
    if ((rc = al_provision_uuids(c, old, node)) != 0) /* instances made again: new UUIDs */
        goto out;
    /* heartbeats that change nothing leave the planner's fleet alone */
    if (fleet_changed(old, node)) {
        c->cal_touched = true;
        if ((rc = al_cal_sync_node(c->srv->cal, node, &e)) < 0) {
            rc = al_http_fail_err(c, rc, &e);
            goto out;
        }
    }
    node_out(node);
    al_metrics_heartbeat(c->srv->metrics); /* GET /metrics' allot_agent_heartbeats_total */
    rc = al_http_reply(c, 200, json_incref(node));
out:
    json_decref(report);
    json_decref(node);
    json_decref(old);
    return rc;
}

/* The list a node-bound caller sees: its own node, once it has reported, else nothing. */
static int own_node_list(struct al_ctx *c, json_t **items, struct al_err *e)
{
    json_t *n = NULL;
    int rc = al_store_node_get(c->srv->store, al_auth_node(c), &n, e);
    if (rc != 0 && rc != AL_E_NOTFOUND)
        return rc;
    if (!(*items = json_array()) || (n && json_array_append_new(*items, n) != 0)) {
        json_decref(*items);
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    }
    return 0;
}

static int get_nodes(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items;
    char *next = NULL;
    struct al_err e = {0};
    int rc;
    if (c->role == AL_ROLE_AGENT && !al_auth_node(c)) /* fleet agents read nodes one by one */
        return al_http_fail(c, AL_E_FORBIDDEN, NULL, "not allowed for role agent");
    if (al_http_page(c, &pg))
        return c->err_code;
    rc = al_auth_node(c) ? own_node_list(c, &items, &e)
                         : al_store_node_list(c->srv->store, pg, &items, &next, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    size_t i;
    json_t *n;
    json_array_foreach(items, i, n) node_out(n);
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* The org of reservation `rsv`, read once per call (`orgs`: id → org, borrowed into the
 * holds); NULL with *rc set when it cannot be read. */
static json_t *holder_org(struct al_ctx *c, json_t *orgs, const char *rsv, int *rc,
                          struct al_err *e)
{
    json_t *org = json_object_get(orgs, rsv), *r = NULL;
    if (org)
        return org;
    *rc = al_store_reservation_get(c->srv->store, rsv, &r, e);
    if (*rc)
        return NULL;
    org = json_object_get(r, "org");
    json_object_set(orgs, rsv, org ? org : json_null());
    json_decref(r);
    return json_object_get(orgs, rsv);
}

/* gpu.holds for an operator: the reservation holds on each GPU of node `n` live now or starting
 * within the planner's horizon (AL_MIGPLAN_HORIZON_S), by start, as [{reservation, org, kind,
 * profile, start_unit, start, end}], so that the dashboard's GPU page names each instance's
 * owner without reading every reservation. One indexed read per GPU (the planner's), one
 * reservation read per holder. 0, or the call's code. */
static int gpu_holds(struct al_ctx *c, json_t *n)
{
    static const char *const times[] = {"start", "end", NULL};
    json_t *orgs = json_object(), *g;
    struct al_err e = {0};
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(n, "gpus"), i, g)
    {
        struct al_store_hold *h = NULL;
        size_t k = 0;
        json_t *list = json_array();
        json_object_set_new(g, "holds", list);
        rc = al_store_hold_gpu_firm(c->srv->store, json_string_value(json_object_get(g, "id")),
                                    c->now, c->now + AL_MIGPLAN_HORIZON_S, &h, &k, &e);
        for (size_t j = 0; rc == 0 && j < k; j++) {
            json_t *org = holder_org(c, orgs, h[j].owner, &rc, &e);
            json_t *o =
                rc ? NULL
                   : json_pack("{s:s,s:O,s:s,s:s?,s:o,s:I,s:I}", "reservation", h[j].owner, "org",
                               org, "kind", h[j].kind, "profile",
                               h[j].profile[0] ? h[j].profile : NULL, "start_unit",
                               h[j].start_unit < 0 ? json_null() : json_integer(h[j].start_unit),
                               "start", (json_int_t)h[j].t0, "end", (json_int_t)h[j].t1);
            if (o) {
                al_time_fields(o, times);
                json_array_append_new(list, o);
            } else if (rc == 0) {
                rc = al_err_set(&e, AL_E_NOMEM, "out of memory");
            }
        }
        free(h);
        if (rc)
            break;
    }
    json_decref(orgs);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static int get_node(struct al_ctx *c)
{
    json_t *n;
    struct al_err e = {0};
    if (own_node(c, c->params[0]))
        return c->err_code;
    json_t *rt = NULL;
    int rc = al_store_node_get(c->srv->store, c->params[0], &n, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    node_out(n);
    if (c->role == AL_ROLE_OPERATOR && gpu_holds(c, n)) {
        json_decref(n);
        return c->err_code;
    }
    /* what its agent last said of its container runtime (null: it runs none) */
    rc = al_store_node_runtime_get(c->srv->store, c->params[0], &rt, &e);
    if (rc && rc != AL_E_NOTFOUND) {
        json_decref(n);
        return al_http_fail_err(c, rc, &e);
    }
    if (rt) {
        static const char *const at[] = {"at", NULL};
        json_object_del(rt, "node");
        al_time_fields(rt, at);
    }
    json_object_set_new(n, "container_runtime", rt ? rt : json_null());
    return al_http_reply(c, 200, n);
}

/* ---- node-bound agent tokens ---- */

static int node_name_ok(struct al_ctx *c, const char *name)
{
    if (al_name_ok(name) && strlen(name) < AL_FLEET_NAME_MAX)
        return 0;
    return al_http_fail(c, AL_E_INVAL, "name", "node names are 1..%d of A-Z a-z 0-9 . _ -",
                        AL_FLEET_NAME_MAX - 1);
}

/* Issue node `name`'s agent token, replacing the one it had. The node need not have reported
 * yet: the token is what its agent will first report with. The token is in the answer only
 * (sealed in an Idempotency-Key record, server/idem.c); the store keeps its hash. */
static int post_node_token(struct al_ctx *c)
{
    static const char *const none[] = {NULL};
    const char *name = c->params[0];
    char id[AL_HTTP_ID_LEN], token[64];
    uint8_t hash[AL_STORE_HASH_LEN];
    json_t *r;
    struct al_err e = {0};
    int rc;
    if (node_name_ok(c, name))
        return c->err_code;
    if (al_field_only(c, c->body, none))
        return c->err_code;
    al_id_new("ntk", c->now, id, sizeof id);
    al_token_new(token, sizeof token, hash);
    if ((rc = al_store_node_token_set(c->srv->store, name, id, hash, c->now, &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    al_auth_forget_node(&c->srv->auth, name);
    if ((rc = al_event(c, AL_EVENT_NODE_TOKEN_ISSUED, NULL, name, json_pack("{s:s}", "id", id))))
        goto out;
    r = json_pack("{s:s,s:s,s:s,s:I}", "id", id, "node", name, "token", token, "created_at",
                  (json_int_t)c->now);
    if (r)
        al_time_fields(r, al_time_keys);
    rc = al_http_reply(c, 201, r);
out:
    sodium_memzero(token, sizeof token);
    return rc;
}

/* Revoke node `name`'s agent token: its holder is refused (401) from this call on. */
static int delete_node_token(struct al_ctx *c)
{
    const char *name = c->params[0];
    struct al_err e = {0};
    int rc;
    if (node_name_ok(c, name))
        return c->err_code;
    if ((rc = al_store_node_token_delete(c->srv->store, name, &e)) < 0)
        return al_http_fail_err(c, rc, &e);
    if (rc == 0)
        return al_http_fail(c, AL_E_NOTFOUND, NULL, "node %s has no token", name);
    al_auth_forget_node(&c->srv->auth, name);
    if ((rc = al_event(c, AL_EVENT_NODE_TOKEN_REVOKED, NULL, name, json_object())))
        return rc;
    return al_http_reply(c, 200, json_pack("{s:s,s:b}", "node", name, "revoked", 1));
}

const struct al_route al_routes_nodes[] = {
    {"PUT", "/v1/nodes/*", put_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, true, false},
    {"GET", "/v1/nodes", get_nodes, AL_ROLE_OPERATOR | AL_ROLE_AGENT, false, false},
    {"GET", "/v1/nodes/*", get_node, AL_ROLE_OPERATOR | AL_ROLE_AGENT, false, false},
    {"POST", "/v1/nodes/*/token", post_node_token, AL_ROLE_OPERATOR, true, false},
    {"DELETE", "/v1/nodes/*/token", delete_node_token, AL_ROLE_OPERATOR, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
