/* routes_agent.c — what a node's agent reads and reports about MIG changes (docs/migchange.md,
 * "The agent's protocol") and containers (docs/containers.md): the layout each GPU of its node
 * should have, the change approved for it and the containers it should run (GET
 * /v1/nodes/{name}/desired), its report of its container runtime and containers (POST
 * /v1/nodes/{name}/containers, server/containers_report.c), taking a change (POST
 * /v1/mig-changes/{id}/start: approved → applying, once), and its result (…/result: applying →
 * applied, the layout the agent reports checked against the change's `to`, or failed). A change is
 * never applied twice: a result is taken only while the change is applying. A caller whose token is
 * bound to another node learns nothing of this one's changes (404, as for a change that does not
 * exist). */
#include "server/http.h"

#include "core/migchange.h"
#include "server/auth.h"
#include "server/containers.h"
#include "server/flow.h"
#include "server/miglayout.h"
#include "server/provision.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define ERROR_MAX 500 /* bytes of an error the agent reports */
#define UUID_MAX  95  /* bytes of a MIG device UUID (NVML's buffer holds 96 with the NUL) */

/* A caller bound to another node than `node` is told `what` does not exist. */
static int own_node(struct al_ctx *c, const char *node, const char *what)
{
    const char *mine = al_auth_node(c);
    if (!mine || (node && strcmp(mine, node) == 0))
        return 0;
    return al_http_fail(c, AL_E_NOTFOUND, NULL, "no %s", what);
}

/* ---- GET /v1/nodes/{name}/desired ---- */

/* The change of GPU `gpu` the agent should apply (approved or applying) for the answer, or
 * null. */
static int desired_change(struct al_ctx *c, const char *gpu, json_t **ret)
{
    json_t *ch = NULL;
    struct al_err e = {0};
    int rc = al_store_migchange_open(c->srv->store, gpu, &ch, &e);
    *ret = json_null();
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    const char *st = jstr(ch, "state");
    if (st && (strcmp(st, "approved") == 0 || strcmp(st, "applying") == 0))
        *ret =
            json_pack("{s:O,s:O,s:O,s:O,s:O}", "id", json_object_get(ch, "id"), "state",
                      json_object_get(ch, "state"), "from", json_object_get(ch, "from"), "to",
                      json_object_get(ch, "to"), "operations", json_object_get(ch, "operations"));
    json_decref(ch);
    return *ret ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}

static int get_desired(struct al_ctx *c)
{
    const char *name = c->params[0];
    json_t *n = NULL, *out = NULL, *g, *ctrs = NULL;
    struct al_err e = {0};
    size_t i;
    char what[AL_HTTP_MAX_NAME + 16];
    snprintf(what, sizeof what, "node %s", name);
    int rc = own_node(c, name, what);
    if (rc == 0 && (rc = al_store_node_get(c->srv->store, name, &n, &e)) != 0)
        rc = al_http_fail_err(c, rc, &e);
    if (rc == 0 && !(out = json_pack("{s:s,s:[]}", "node", name, "gpus")))
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_array_foreach(json_object_get(n, "gpus"), i, g)
    {
        json_t *ch = NULL, *desired = json_object_get(g, "desired");
        if (rc || (rc = desired_change(c, jstr(g, "id"), &ch)) != 0)
            break;
        json_array_append_new(json_object_get(out, "gpus"),
                              json_pack("{s:O,s:O,s:O,s:O,s:o}", "index",
                                        json_object_get(g, "index"), "uuid",
                                        json_object_get(g, "uuid"), "gpu", json_object_get(g, "id"),
                                        "desired", desired ? desired : json_null(), "change", ch));
    }
    json_decref(n);
    if (rc == 0 && (rc = al_containers_desired(c, name, &ctrs)) == 0)
        json_object_set_new(out, "containers", ctrs);
    if (rc) {
        json_decref(out);
        return rc;
    }
    return al_http_reply(c, 200, out);
}

/* ---- POST /v1/nodes/{name}/containers ---- */

/* The agent's report of its container runtime and containers: its own node only (another
 * node's token is told no such node), a node that exists. */
static int post_containers(struct al_ctx *c)
{
    const char *name = c->params[0];
    json_t *n = NULL, *out = NULL;
    struct al_err e = {0};
    char what[AL_HTTP_MAX_NAME + 16];
    snprintf(what, sizeof what, "node %.*s", AL_HTTP_MAX_NAME, name);
    int rc = own_node(c, name, what);
    if (rc == 0 && (rc = al_store_node_get(c->srv->store, name, &n, &e)) != 0)
        rc = rc == AL_E_NOTFOUND ? al_http_fail(c, rc, NULL, "no %s", what)
                                 : al_http_fail_err(c, rc, &e);
    json_decref(n);
    if (rc == 0)
        rc = al_containers_report(c, name, &out);
    return rc ? rc : al_http_reply(c, 200, out);
}

/* ---- the change ---- */

/* The change named in the path, as the caller may see it (*ret the caller's). */
static int change_load(struct al_ctx *c, json_t **ret)
{
    struct al_err e = {0};
    char what[AL_HTTP_ID_LEN + 64];
    snprintf(what, sizeof what, "MIG change %.*s", AL_HTTP_ID_LEN, c->params[0]);
    int rc = al_store_migchange_get(c->srv->store, c->params[0], ret, &e);
    if (rc == 0 && (rc = own_node(c, jstr(*ret, "node"), what)) != 0) {
        json_decref(*ret);
        *ret = NULL;
        return rc;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no %s", what);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* Write change `ch` (its document) in state `state`. */
static int change_save(struct al_ctx *c, json_t *ch, const char *state)
{
    json_t *w = json_object_get(ch, "window");
    struct al_store_migchange m = {jstr(ch, "id"), jstr(ch, "gpu"),       jstr(ch, "node"),
                                   state,          jtime(w, "run_after"), jtime(w, "run_before"),
                                   c->now};
    struct al_err e = {0};
    json_object_set_new(ch, "state", json_string(state));
    json_object_set_new(ch, "updated_at", al_time_json(c->now));
    int rc = al_store_migchange_put(c->srv->store, &m, ch, NULL, 0, false, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static bool in_state(json_t *ch, const char *state)
{
    return jstr(ch, "state") && strcmp(jstr(ch, "state"), state) == 0;
}

/* POST /v1/mig-changes/{id}/start: approved → applying; applying again → resumed. */
static int post_start(struct al_ctx *c)
{
    static const char *const none[] = {NULL};
    json_t *ch = NULL;
    int rc;
    if ((rc = al_field_only(c, c->body, none)) || (rc = change_load(c, &ch)))
        goto out;
    bool resumed = in_state(ch, "applying");
    if (!resumed && !in_state(ch, "approved")) {
        rc = al_http_fail(c, AL_E_STATE, "state", "cannot start a MIG change that is %s",
                          jstr(ch, "state") ? jstr(ch, "state") : "?");
        goto out;
    }
    if (!resumed) {
        json_object_set_new(ch, "started_at", al_time_json(c->now));
        if ((rc = change_save(c, ch, "applying")) ||
            (rc = al_event_migchange(
                 c, AL_EVENT_MIG_CHANGE_APPLYING, jstr(ch, "id"),
                 json_pack("{s:s?,s:s?}", "node", jstr(ch, "node"), "gpu", jstr(ch, "gpu")))))
            goto out;
    }
    json_object_set_new(ch, "resumed", json_boolean(resumed));
    rc = al_http_reply(c, 200, json_incref(ch));
out:
    json_decref(ch);
    return rc;
}

/* ---- POST /v1/mig-changes/{id}/result ---- */

/* One instance of a result: {gi, ci, profile_id, start, uuid}, each checked (field named
 * instances[i].<key>); the profile's name and size may come with it, as the agent observes
 * them (the profile is known by its id). */
static int result_instance(struct al_ctx *c, json_t *x, size_t i)
{
    static const char *const keys[] = {"gi",   "ci",      "profile_id", "start",
                                       "uuid", "profile", "size",       NULL};
    static const int64_t max[] = {4095, 4095, 255, 31};
    char field[AL_HTTP_MAX_NAME + 1];
    const char *uuid = NULL, *profile = NULL;
    int64_t v;
    if (!json_is_object(x)) {
        snprintf(field, sizeof field, "instances[%zu]", i);
        return al_http_fail(c, AL_E_INVAL, field, "%s must be an object", field);
    }
    int rc = al_field_only(c, x, keys);
    for (size_t k = 0; rc == 0 && k < 4; k++)
        rc = al_field_int(c, x, keys[k], true, 0, max[k], &v);
    if (rc == 0)
        rc = al_field_limit(c, x, "profile", AL_LIMIT_PROFILE, false, &profile);
    if (rc == 0)
        rc = al_field_int(c, x, "size", false, 1, 32, &v);
    if (rc == 0)
        rc = al_field_text(c, x, "uuid", true, UUID_MAX, &uuid);
    for (const char *p = uuid; rc == 0 && p && *p; p++)
        if (*p <= ' ' || *p > '~')
            rc = al_http_fail(c, AL_E_INVAL, "uuid", "uuid must be printable ASCII");
    if (rc == 0 && uuid && !*uuid)
        rc = al_http_fail(c, AL_E_INVAL, "uuid", "uuid must not be empty");
    if (rc && c->err_field[0] && strncmp(c->err_field, "instances", 9) != 0) {
        /* i < AL_LAYOUT_MAX: two digits at most */
        snprintf(field, sizeof field, "instances[%u].%.40s", (unsigned)(i % 100), c->err_field);
        snprintf(c->err_field, sizeof c->err_field, "%s", field);
    }
    return rc;
}

/* The body: ok, mig, instances (required when ok), operation, error (required when not),
 * rolled_back. */
static int result_body(struct al_ctx *c, bool *ok, const char **error)
{
    static const char *const keys[] = {"ok",    "mig",         "instances", "operation",
                                       "error", "rolled_back", NULL};
    json_t *ok_v = json_object_get(c->body, "ok"), *insts = json_object_get(c->body, "instances");
    bool b = false;
    int64_t op = 0;
    int rc = al_field_only(c, c->body, keys);
    if (rc == 0 && !json_is_boolean(ok_v))
        rc = al_http_fail(c, AL_E_INVAL, "ok", "ok is required: true or false");
    *ok = json_is_true(ok_v);
    if (rc == 0 && *ok && !json_is_boolean(json_object_get(c->body, "mig")))
        rc = al_http_fail(c, AL_E_INVAL, "mig", "mig is required: true or false");
    if (rc == 0 && (*ok || insts) &&
        (!json_is_array(insts) || json_array_size(insts) > AL_LAYOUT_MAX))
        rc = al_http_fail(c, AL_E_INVAL, "instances", "instances must be an array of at most %d",
                          AL_LAYOUT_MAX);
    for (size_t i = 0; rc == 0 && i < json_array_size(insts); i++)
        rc = result_instance(c, json_array_get(insts, i), i);
    if (rc == 0)
        rc = al_field_bool(c, c->body, "mig", &b);
    if (rc == 0)
        rc = al_field_bool(c, c->body, "rolled_back", &b);
    if (rc == 0)
        rc = al_field_int(c, c->body, "operation", false, 0, AL_MIGOP_MAX - 1, &op);
    if (rc == 0 && !*ok)
        rc = al_field_text(c, c->body, "error", true, ERROR_MAX, error);
    if (rc == 0 && !*ok && !**error)
        rc = al_http_fail(c, AL_E_INVAL, "error", "error must not be empty");
    return rc;
}

/* The reported instances with their profile names ([{profile, profile_id, start, uuid}]), when
 * they are exactly the change's `to` with its MIG mode; else NULL. */
static json_t *reported_layout(json_t *ch, json_t *body)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(ch, "model"));
    struct al_layout to, got = {.model = m};
    json_t *x, *out = json_array();
    bool to_mig;
    size_t i;
    if (!m || !out || al_miglayout_parse(json_object_get(ch, "to"), m, &to, &to_mig, NULL) != 0 ||
        to_mig != json_is_true(json_object_get(body, "mig")))
        goto differs;
    json_array_foreach(json_object_get(body, "instances"), i, x)
    {
        struct al_placement p;
        int pi =
            al_miglayout_profile_by_id(m, json_integer_value(json_object_get(x, "profile_id")));
        p = (struct al_placement){(uint8_t)(pi < 0 ? 0 : pi),
                                  (uint8_t)json_integer_value(json_object_get(x, "start"))};
        if (pi < 0 || got.n >= AL_LAYOUT_MAX || al_miglayout_has(&got, p) ||
            !al_miglayout_has(&to, p))
            goto differs;
        got.p[got.n++] = p;
        json_t *o = al_miglayout_instance(m, p);
        json_object_set(o, "uuid", json_object_get(x, "uuid"));
        json_array_append_new(out, o);
    }
    if (got.n == to.n)
        return out;
differs:
    json_decref(out);
    return NULL;
}

/* The change is applied: its result, the GPU's desired layout, the reservations it serves. */
static int change_applied(struct al_ctx *c, json_t *ch, json_t *insts)
{
    struct al_err e = {0};
    json_t *ids = json_array();
    int rc;
    if (!ids)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_object_set_new(ch, "result",
                        json_pack("{s:o,s:O}", "at", al_time_json(c->now), "instances", insts));
    if ((rc = change_save(c, ch, "applied")))
        goto out;
    /* what the agent recreates after a reboot */
    rc = al_store_gpu_desired_set(c->srv->store, jstr(ch, "gpu"), json_object_get(ch, "to"), &e);
    if (rc && rc != AL_E_NOTFOUND) { /* a GPU gone from the fleet keeps no layout */
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = al_provision_applied(c, ch, insts, ids)))
        goto out;
    rc = al_event_migchange(c, AL_EVENT_MIG_CHANGE_APPLIED, jstr(ch, "id"),
                            json_pack("{s:s?,s:s?,s:O,s:O}", "node", jstr(ch, "node"), "gpu",
                                      jstr(ch, "gpu"), "reservations", ids, "instances", insts));
out:
    json_decref(ids);
    return rc;
}

/* The change failed: why, at which operation, rolled back or not; its reservations told. */
static int change_failed(struct al_ctx *c, json_t *ch, json_t *body, const char *error)
{
    json_t *ids = json_array(), *op = json_object_get(body, "operation");
    bool rolled = json_is_true(json_object_get(body, "rolled_back"));
    int rc;
    if (!ids)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_object_set_new(ch, "failure",
                        json_pack("{s:o,s:O,s:s,s:b,s:O?,s:O?}", "at", al_time_json(c->now),
                                  "operation", op ? op : json_null(), "error", error, "rolled_back",
                                  rolled, "mig", json_object_get(body, "mig"), "instances",
                                  json_object_get(body, "instances")));
    if ((rc = change_save(c, ch, "failed")) == 0 &&
        (rc = al_provision_failed(c, ch, error, ids)) == 0)
        rc = al_event_migchange(c, AL_EVENT_MIG_CHANGE_FAILED, jstr(ch, "id"),
                                json_pack("{s:s?,s:O,s:O,s:s,s:b}", "gpu", jstr(ch, "gpu"),
                                          "reservations", ids, "operation", op ? op : json_null(),
                                          "error", error, "rolled_back", rolled));
    json_decref(ids);
    return rc;
}

static int post_result(struct al_ctx *c)
{
    json_t *ch = NULL, *insts = NULL;
    const char *error = NULL;
    bool ok = false;
    int rc;
    if ((rc = change_load(c, &ch)) || (rc = result_body(c, &ok, &error)))
        goto out;
    if (!in_state(ch, "applying")) {
        rc = al_http_fail(c, AL_E_STATE, "state",
                          "a result is taken only while the change is applying; %s is %s",
                          jstr(ch, "id"), jstr(ch, "state") ? jstr(ch, "state") : "?");
        goto out;
    }
    if (ok && !(insts = reported_layout(ch, c->body)))
        error = "the layout reported differs from the change's";
    rc = insts ? change_applied(c, ch, insts) : change_failed(c, ch, c->body, error);
    if (rc == 0)
        rc = al_http_reply(c, 200, json_incref(ch));
out:
    json_decref(insts);
    json_decref(ch);
    return rc;
}

#define AGENT (AL_ROLE_OPERATOR | AL_ROLE_AGENT)

const struct al_route al_routes_agent[] = {
    {"GET", "/v1/nodes/*/desired", get_desired, AGENT, false, false},
    {"POST", "/v1/nodes/*/containers", post_containers, AGENT, true, false},
    {"POST", "/v1/mig-changes/*/start", post_start, AGENT, true, false},
    {"POST", "/v1/mig-changes/*/result", post_result, AGENT, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
