/* containers_report.c — the node agent's side of containers (docs/containers.md, "The
 * agent"): the containers a node should run, as GET /v1/nodes/{name}/desired gives them, and
 * the agent's report of what its runtime runs (POST /v1/nodes/{name}/containers): the
 * runtime's row, with an event when it becomes unreachable or reachable again, each container
 * moved on from what the runtime says, and its logs' tail. The whole report is checked before
 * anything of it is written. */
#include "server/containers.h"

#include "server/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- desired ---- */

/* What the agent is given of live container `d`. NULL when out of memory. */
static json_t *desired_one(json_t *d)
{
    const char *rsv = jstr(json_object_get(d, "target"), "reservation");
    return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:{s:O,s:O,s:O,s:s}}", "id",
                     json_object_get(d, "id"), "image", json_object_get(d, "image"), "command",
                     json_object_get(d, "command"), "env", json_object_get(d, "env"), "device",
                     json_object_get(d, "device"), "desired", json_object_get(d, "desired"),
                     "labels", "allot.container", json_object_get(d, "id"), "allot.org",
                     json_object_get(d, "org"), "allot.user", json_object_get(d, "user"),
                     "allot.reservation", rsv ? rsv : "");
}

int al_containers_desired(struct al_ctx *c, const char *node, json_t **ret)
{
    json_t *live = NULL, *d, *out = json_array();
    struct al_err e = {0};
    size_t i;
    int rc = out ? al_store_container_live(c->srv->store, node, &live, &e) : AL_E_NOMEM;
    if (rc) {
        json_decref(out);
        return rc == AL_E_NOMEM ? al_http_fail(c, rc, NULL, "out of memory")
                                : al_http_fail_err(c, rc, &e);
    }
    json_array_foreach(live, i, d)
    {
        json_t *x = desired_one(d);
        if (!x || json_array_append_new(out, x) != 0) {
            rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
            break;
        }
    }
    json_decref(live);
    if (rc) {
        json_decref(out);
        return rc;
    }
    *ret = out;
    return 0;
}

/* ---- the report's checks ---- */

static const char *const reported_states[] = {"running", "exited",  "stopped",
                                              "failed",  "missing", NULL};

/* A nullable string member within `max` bytes, without NUL; with `printable`, of printable
 * ASCII only (ids). */
static int field_str(struct al_ctx *c, json_t *o, const char *key, size_t max, bool printable)
{
    const char *s = NULL;
    int rc = al_field_text(c, o, key, false, max, &s);
    for (const char *p = s; rc == 0 && printable && p && *p; p++)
        if (*p < ' ' || *p > '~')
            rc = al_http_fail(c, AL_E_INVAL, key, "%s must be printable ASCII", key);
    return rc;
}

/* {kind, ok, error}: the runtime as the agent found it this round. */
static int check_runtime(struct al_ctx *c, json_t *rt)
{
    static const char *const keys[] = {"kind", "ok", "error", NULL}, *const kinds[] = {"docker-api",
                                                                                       "process",
                                                                                       NULL};
    const char *kind = jstr(rt, "kind");
    int rc;
    if (!json_is_object(rt))
        return al_http_fail(c, AL_E_INVAL, "runtime", "runtime is required: {kind, ok, error}");
    if ((rc = al_field_only(c, rt, keys)))
        goto out;
    if (!kind || !al_field_listed(kinds, kind)) {
        rc = al_http_fail(c, AL_E_INVAL, "kind", "runtime.kind must be docker-api or process");
        goto out;
    }
    if (!json_is_boolean(json_object_get(rt, "ok"))) {
        rc = al_http_fail(c, AL_E_INVAL, "ok", "runtime.ok is required: true or false");
        goto out;
    }
    rc = field_str(c, rt, "error", AL_CTR_ERROR_MAX, false);
out:
    if (rc && c->err_field[0] && strncmp(c->err_field, "runtime", 7) != 0) {
        char f[sizeof c->err_field];
        snprintf(f, sizeof f, "runtime.%.40s", c->err_field);
        snprintf(c->err_field, sizeof c->err_field, "%s", f);
    }
    return rc;
}

/* One reported container; the field named containers[i].<key> when refused. */
static int check_item(struct al_ctx *c, json_t *x, size_t i)
{
    static const char *const keys[] = {"id",          "state", "runtime_id",
                                       "exit_code",   "error", "started_at",
                                       "finished_at", "logs",  NULL};
    char f[sizeof c->err_field];
    const char *st = jstr(x, "state");
    int64_t v;
    int rc;
    if (!json_is_object(x)) {
        snprintf(f, sizeof f, "containers[%zu]", i);
        return al_http_fail(c, AL_E_INVAL, f, "%s must be an object", f);
    }
    if ((rc = al_field_only(c, x, keys)) || (rc = field_str(c, x, "id", AL_HTTP_ID_LEN, true)))
        goto out;
    if (!jstr(x, "id")) {
        rc = al_http_fail(c, AL_E_INVAL, "id", "id is required");
        goto out;
    }
    if (!st || !al_field_listed(reported_states, st)) {
        rc = al_http_fail(c, AL_E_INVAL, "state",
                          "state must be running, exited, stopped, failed or missing");
        goto out;
    }
    if ((rc = field_str(c, x, "runtime_id", AL_CTR_RUNTIME_ID_MAX, true)) ||
        (rc = al_field_int(c, x, "exit_code", false, INT32_MIN, INT32_MAX, &v)) ||
        (rc = field_str(c, x, "error", AL_CTR_ERROR_MAX, false)) ||
        (rc = al_field_time(c, x, "started_at", false, &v)) ||
        (rc = al_field_time(c, x, "finished_at", false, &v)))
        goto out;
    json_t *logs = json_object_get(x, "logs");
    if (logs && !json_is_null(logs) &&
        (!json_is_string(logs) || json_string_length(logs) > AL_STORE_LOGS_MAX))
        rc = al_http_fail(c, AL_E_INVAL, "logs", "logs must be a string of at most %d bytes",
                          AL_STORE_LOGS_MAX);
out:
    if (rc && c->err_field[0] && strncmp(c->err_field, "containers", 10) != 0) {
        /* i < AL_CTR_REPORT_MAX: three digits at most */
        snprintf(f, sizeof f, "containers[%u].%.40s", (unsigned)(i % 1000), c->err_field);
        snprintf(c->err_field, sizeof c->err_field, "%s", f);
    }
    return rc;
}

static int check_report(struct al_ctx *c, json_t *b)
{
    static const char *const keys[] = {"runtime", "containers", NULL};
    json_t *list = json_object_get(b, "containers");
    int rc;
    if ((rc = al_field_only(c, b, keys)) || (rc = check_runtime(c, json_object_get(b, "runtime"))))
        return rc;
    if (list && !json_is_null(list) &&
        (!json_is_array(list) || json_array_size(list) > AL_CTR_REPORT_MAX))
        return al_http_fail(c, AL_E_INVAL, "containers",
                            "containers must be an array of at most %d", AL_CTR_REPORT_MAX);
    for (size_t i = 0; i < json_array_size(list); i++)
        if ((rc = check_item(c, json_array_get(list, i), i)))
            return rc;
    return 0;
}

/* ---- the report's effects ---- */

/* The runtime's row; node.runtime_down when it is unreachable and was not before (or never
 * said), node.runtime_up when it is back. */
static int report_runtime(struct al_ctx *c, const char *node, json_t *rt)
{
    json_t *prev = NULL;
    struct al_err e = {0};
    bool ok = json_is_true(json_object_get(rt, "ok"));
    int rc = al_store_node_runtime_get(c->srv->store, node, &prev, &e);
    if (rc && rc != AL_E_NOTFOUND)
        return al_http_fail_err(c, rc, &e);
    int was = prev ? json_is_true(json_object_get(prev, "ok")) : -1;
    json_decref(prev);
    if ((rc = al_store_node_runtime_put(c->srv->store, node, jstr(rt, "kind"), ok,
                                        jstr(rt, "error"), c->now, &e)))
        return al_http_fail_err(c, rc, &e);
    if (!ok && was != 0)
        return al_event(
            c, AL_EVENT_NODE_RUNTIME_DOWN, NULL, node,
            json_pack("{s:s,s:s?}", "kind", jstr(rt, "kind"), "error", jstr(rt, "error")));
    if (ok && was == 0)
        return al_event(c, AL_EVENT_NODE_RUNTIME_UP, NULL, node,
                        json_pack("{s:s}", "kind", jstr(rt, "kind")));
    return 0;
}

/* The logs as stored: the reported text with NUL bytes as '?' (the API gives them as text). */
static int report_logs(struct al_ctx *c, const char *id, json_t *logs)
{
    struct al_err e = {0};
    size_t n = json_string_length(logs);
    char *s = malloc(n + 1);
    if (!s)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    memcpy(s, json_string_value(logs), n + 1);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0')
            s[i] = '?';
    int rc = al_store_container_logs_set(c->srv->store, id, s, n, c->now, &e);
    free(s);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* A reported time member, or now when the agent gave none. */
static json_t *time_or_now(struct al_ctx *c, json_t *x, const char *key)
{
    int64_t t = jtime(x, key);
    return al_time_json(t ? t : c->now);
}

/* Pending → running: started_at, container.running. */
static int to_running(struct al_ctx *c, json_t *ctr, json_t *x)
{
    json_object_set_new(ctr, "state", json_string("running"));
    json_object_set_new(ctr, "started_at", time_or_now(c, x, "started_at"));
    int rc = al_containers_put(c, ctr);
    return rc ? rc
              : al_event(c, AL_EVENT_CONTAINER_RUNNING, jstr(ctr, "org"), jstr(ctr, "id"),
                         json_pack("{s:s?,s:s?,s:O?}", "node", jstr(ctr, "node"), "device",
                                   jstr(ctr, "device"), "runtime_id",
                                   json_object_get(ctr, "runtime_id")));
}

/* The container ended as reported (`rs`: exited, stopped, failed, missing): exited when it
 * ended by itself, stopped when it was asked to (or someone stopped it), failed when the
 * runtime could not run it or lost it. */
static int to_ended(struct al_ctx *c, json_t *ctr, json_t *x, const char *rs)
{
    bool asked = jstr(ctr, "desired") && strcmp(jstr(ctr, "desired"), "stop") == 0;
    json_t *code = json_object_get(x, "exit_code");
    const char *to = "stopped", *err = jstr(x, "error");
    enum al_event_kind ev = AL_EVENT_CONTAINER_STOPPED;
    if (strcmp(rs, "exited") == 0 && !asked) {
        to = "exited";
        ev = AL_EVENT_CONTAINER_EXITED;
    } else if (strcmp(rs, "failed") == 0 || (strcmp(rs, "missing") == 0 && !asked)) {
        to = "failed";
        ev = AL_EVENT_CONTAINER_FAILED;
        err = strcmp(rs, "missing") == 0 ? "lost by the runtime" : err ? err : "the runtime failed";
        json_object_set_new(ctr, "error", json_string(err));
    }
    json_object_set_new(ctr, "state", json_string(to));
    if (json_is_integer(code))
        json_object_set(ctr, "exit_code", code);
    json_object_set_new(ctr, "stopped_at", time_or_now(c, x, "finished_at"));
    int rc = al_containers_end(c, ctr);
    if (rc == 0)
        rc = al_containers_put(c, ctr);
    if (rc)
        return rc;
    return al_event(c, ev, jstr(ctr, "org"), jstr(ctr, "id"),
                    json_pack("{s:s?,s:O?,s:s?,s:O?}", "node", jstr(ctr, "node"), "exit_code",
                              json_is_integer(code) ? code : NULL, "error",
                              strcmp(to, "failed") == 0 ? err : NULL, "reason",
                              json_object_get(ctr, "stop_reason")));
}

/* One reported container of this node: its logs, then its state. Ids the server does not
 * know, or of another node, are ignored; an ended container is kept as it ended. */
static int report_one(struct al_ctx *c, const char *node, json_t *x, int *updated)
{
    json_t *ctr = NULL, *logs = json_object_get(x, "logs"), *rid = json_object_get(x, "runtime_id");
    const char *rs = jstr(x, "state"), *st;
    struct al_err e = {0};
    int rc = al_store_container_get(c->srv->store, jstr(x, "id"), &ctr, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (!jstr(ctr, "node") || strcmp(jstr(ctr, "node"), node) != 0)
        goto out;
    if (json_is_string(logs) && (rc = report_logs(c, jstr(ctr, "id"), logs)))
        goto out;
    st = jstr(ctr, "state");
    if (!al_containers_live(st))
        goto out;
    bool new_id = json_is_string(rid) && !json_equal(rid, json_object_get(ctr, "runtime_id"));
    if (new_id)
        json_object_set(ctr, "runtime_id", rid);
    if (strcmp(rs, "running") == 0 && strcmp(st, "pending") == 0)
        rc = to_running(c, ctr, x);
    else if (strcmp(rs, "running") != 0)
        rc = to_ended(c, ctr, x, rs);
    else if (new_id)
        rc = al_containers_put(c, ctr); /* running still, under a new runtime id */
    else
        goto out; /* running, as the server knew */
    *updated += rc == 0;
out:
    json_decref(ctr);
    return rc;
}

int al_containers_report(struct al_ctx *c, const char *node, json_t **ret)
{
    json_t *rt = json_object_get(c->body, "runtime"), *list, *x;
    int updated = 0, rc;
    size_t i;
    if ((rc = check_report(c, c->body)) || (rc = report_runtime(c, node, rt)))
        return rc;
    list = json_object_get(c->body, "containers");
    json_array_foreach(list, i, x)
    {
        if ((rc = report_one(c, node, x, &updated)))
            return rc;
    }
    *ret = json_pack("{s:s,s:O,s:i}", "node", node, "runtime", rt, "updated", updated);
    return *ret ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}
