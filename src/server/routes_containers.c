/* routes_containers.c — containers through the API (docs/api.md, "Containers"): start one on a
 * reservation's GPU or MIG instance or on a general-pool GPU, list and read them, their logs'
 * tail as the node's agent last sent it, and stop one. Who sees and stops which is
 * server/containers.c's (al_containers_visible, al_containers_may_stop): another org's
 * container is 404, as one that does not exist. */
#include "server/http.h"

#include "server/containers.h"
#include "server/flow.h"
#include "server/routes.h"

#include <stdlib.h>
#include <string.h>

static int post_containers(struct al_ctx *c)
{
    json_t *d = NULL;
    int rc = al_containers_create(c, &d);
    return rc ? rc : al_http_reply(c, 201, d);
}

static int get_container(struct al_ctx *c)
{
    json_t *d = NULL;
    int rc = al_containers_load(c, c->params[0], &d);
    return rc ? rc : al_http_reply(c, 200, d);
}

/* The list's filters: reservation and state for all, node for operators; members and org
 * admins see their org's only (another org's reservation lists nothing). */
static int list_filter(struct al_ctx *c, struct al_store_container_filter *f)
{
    const char *st = al_http_query(c, "state"), *rsv = al_http_query(c, "reservation");
    const char *node = al_http_query(c, "node");
    if (st && !al_containers_state_ok(st))
        return al_http_fail(c, AL_E_INVAL, "state",
                            "state must be pending, running, stopping, exited, stopped or failed");
    if (rsv && strlen(rsv) >= AL_HTTP_ID_LEN)
        return al_http_fail(c, AL_E_INVAL, "reservation", "reservation must be an id (rsv_…)");
    if (node && c->role != AL_ROLE_OPERATOR)
        return al_http_fail(c, AL_E_FORBIDDEN, "node", "only operators filter by node");
    if (node && !al_limit_ok(AL_LIMIT_NODE, node, strlen(node)))
        return al_http_fail(c, AL_E_INVAL, "node", "node must be a node name");
    *f = (struct al_store_container_filter){
        .org = c->role == AL_ROLE_OPERATOR ? NULL : c->org,
        .reservation = rsv,
        .node = node,
        .state = st,
    };
    return 0;
}

/* The page's containers the caller may see (a member's page may hold fewer than the limit:
 * others' containers on units assigned to other members are left out; next_cursor goes on). */
static int visible_only(struct al_ctx *c, json_t *items, json_t **ret)
{
    json_t *cache = json_object(), *out = json_array(), *d;
    size_t i;
    int rc = cache && out ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_array_foreach(items, i, d)
    {
        if (rc)
            break;
        int v = al_containers_visible(c, d, cache);
        if (v < 0)
            rc = v;
        else if (v)
            json_array_append(out, d);
    }
    json_decref(cache);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

static int get_containers(struct al_ctx *c)
{
    struct al_store_container_filter f;
    struct al_store_page pg;
    struct al_err e = {0};
    json_t *items = NULL, *seen = NULL;
    char *next = NULL;
    int rc;
    if (al_http_page(c, &pg) || list_filter(c, &f))
        return c->err_code;
    if (c->role != AL_ROLE_OPERATOR && !c->org)
        return al_http_reply(c, 200, al_http_list(json_array(), NULL));
    rc = al_store_container_list(c->srv->store, &f, pg, &items, &next, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    rc = visible_only(c, items, &seen);
    json_decref(items);
    if (rc) {
        free(next);
        return rc;
    }
    return al_http_reply(c, 200, al_http_list(seen, next));
}

/* GET /v1/containers/{id}/logs: the tail as its agent last sent it, as text/plain (empty when
 * none came yet). */
static int get_logs(struct al_ctx *c)
{
    json_t *d = NULL;
    struct al_err e = {0};
    char *logs = NULL;
    size_t n = 0;
    int64_t at = 0;
    int rc = al_containers_load(c, c->params[0], &d);
    json_decref(d);
    if (rc)
        return rc;
    rc = al_store_container_logs_get(c->srv->store, c->params[0], &logs, &n, &at, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    return al_http_reply_text(c, 200, "text/plain; charset=utf-8", logs);
}

/* POST /v1/containers/{id}/stop: desired stop (a pending one ends at once); stopping one that
 * is stopping or ended answers it as it is. */
static int post_stop(struct al_ctx *c)
{
    static const char *const none[] = {NULL};
    json_t *d = NULL;
    int rc;
    if ((rc = al_field_only(c, c->body, none)) || (rc = al_containers_load(c, c->params[0], &d)) ||
        (rc = al_containers_may_stop(c, d)) || (rc = al_containers_stop(c, d, "user", NULL)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(d));
out:
    json_decref(d);
    return rc;
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_containers[] = {
    {"POST", "/v1/containers", post_containers, ADM | MEM, true, false},
    {"GET", "/v1/containers", get_containers, OP | ADM | MEM, false, false},
    {"GET", "/v1/containers/*", get_container, OP | ADM | MEM, false, false},
    {"GET", "/v1/containers/*/logs", get_logs, OP | ADM | MEM, false, false},
    {"POST", "/v1/containers/*/stop", post_stop, OP | ADM | MEM, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
