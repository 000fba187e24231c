/* containers.c — a container's life on the server side (docs/containers.md): the checks of
 * POST /v1/containers, its target resolved to a node, a GPU and a device (a reservation's unit
 * while the reservation is active, or a general-pool GPU with a pool session metering it and
 * a pool hold keeping reservations off it), who may see and stop it, its stop, and its writes.
 * The node agent's side (desired containers, the report) is containers_report.c. */
#include "server/containers.h"

#include "core/contract.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/pool.h"
#include "server/poolgpu.h"
#include "server/rsvlife.h"

#include <stdio.h>
#include <string.h>

/* ---- pure checks ---- */

bool al_containers_image_ok(const char *s, size_t n)
{
    if (n == 0 || n > AL_CTR_IMAGE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && (ch == '\0' || !strchr("._/:@-", ch)))
            return false;
    }
    return true;
}

bool al_containers_env_key_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > AL_CTR_ENV_KEY_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

bool al_containers_env_reserved(const char *s)
{
    return strcmp(s, "NVIDIA_VISIBLE_DEVICES") == 0 || strcmp(s, "CUDA_VISIBLE_DEVICES") == 0 ||
           strncmp(s, "ALLOT_", 6) == 0;
}

static const char *const states[] = {"pending", "running", "stopping", "exited",
                                     "stopped", "failed",  NULL};

bool al_containers_state_ok(const char *s)
{
    return s && al_field_listed(states, s);
}

bool al_containers_live(const char *state)
{
    return state && (strcmp(state, "pending") == 0 || strcmp(state, "running") == 0 ||
                     strcmp(state, "stopping") == 0);
}

/* ---- the body of POST /v1/containers ---- */

/* A call failed on a field of an object inside the body: name it from the body's top
 * ("target.unit" for "unit"). Returns the call's code. */
static int field_under(struct al_ctx *c, const char *prefix)
{
    if (c->err_field[0] && strncmp(c->err_field, prefix, strlen(prefix)) != 0) {
        char field[sizeof c->err_field];
        snprintf(field, sizeof field, "%.16s%.40s", prefix, c->err_field);
        snprintf(c->err_field, sizeof c->err_field, "%s", field);
    }
    return c->err_code;
}

static int check_image(struct al_ctx *c, json_t *b)
{
    json_t *v = json_object_get(b, "image");
    if (!json_is_string(v))
        return al_http_fail(c, AL_E_INVAL, "image", "image is required: a string");
    if (!al_containers_image_ok(json_string_value(v), json_string_length(v)))
        return al_http_fail(c, AL_E_INVAL, "image",
                            "image must be 1..%d bytes of [A-Za-z0-9._/:@-]", AL_CTR_IMAGE_MAX);
    return 0;
}

static int check_command(struct al_ctx *c, json_t *b)
{
    json_t *cmd = json_object_get(b, "command"), *v;
    size_t i, total = 0;
    char field[32];
    if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > AL_CTR_ARGS_MAX)
        return al_http_fail(c, AL_E_INVAL, "command",
                            "command is required: an array of 1..%d strings", AL_CTR_ARGS_MAX);
    json_array_foreach(cmd, i, v)
    {
        size_t n = json_string_length(v);
        snprintf(field, sizeof field, "command[%zu]", i);
        if (!json_is_string(v) || n == 0 || n > AL_CTR_ARG_MAX)
            return al_http_fail(c, AL_E_INVAL, field, "%s must be a string of 1..%d bytes", field,
                                AL_CTR_ARG_MAX);
        if (strlen(json_string_value(v)) != n)
            return al_http_fail(c, AL_E_INVAL, field, "%s holds a NUL byte", field);
        total += n;
    }
    if (total > AL_CTR_COMMAND_MAX)
        return al_http_fail(c, AL_E_INVAL, "command", "command is over %d bytes in all",
                            AL_CTR_COMMAND_MAX);
    return 0;
}

static int check_env(struct al_ctx *c, json_t *b)
{
    json_t *env = json_object_get(b, "env"), *v;
    const char *k;
    char field[AL_CTR_ENV_KEY_MAX + 8];
    if (!env || json_is_null(env))
        return 0;
    if (!json_is_object(env) || json_object_size(env) > AL_CTR_ENV_MAX)
        return al_http_fail(c, AL_E_INVAL, "env", "env must be an object of at most %d entries",
                            AL_CTR_ENV_MAX);
    json_object_foreach(env, k, v)
    {
        if (!al_containers_env_key_ok(k))
            return al_http_fail(c, AL_E_INVAL, "env",
                                "env keys must match [A-Za-z_][A-Za-z0-9_]{0,%d}",
                                AL_CTR_ENV_KEY_MAX - 1);
        snprintf(field, sizeof field, "env.%s", k);
        if (al_containers_env_reserved(k))
            return al_http_fail(c, AL_E_INVAL, field,
                                "env key %s is allot's: NVIDIA_VISIBLE_DEVICES, "
                                "CUDA_VISIBLE_DEVICES and ALLOT_* are set for the container",
                                k);
        if (!json_is_string(v) || json_string_length(v) > AL_CTR_ENV_VAL_MAX ||
            strlen(json_string_value(v)) != json_string_length(v))
            return al_http_fail(c, AL_E_INVAL, field,
                                "%s must be a string of at most %d bytes, no NUL", field,
                                AL_CTR_ENV_VAL_MAX);
    }
    return 0;
}

/* The body's shape: its fields, each checked; the target is resolved later. */
static int check_body(struct al_ctx *c, json_t *b)
{
    static const char *const fields[] = {"image", "command", "env", "target", NULL};
    int rc;
    if ((rc = al_field_only(c, b, fields)) || (rc = check_image(c, b)) ||
        (rc = check_command(c, b)) || (rc = check_env(c, b)))
        return rc;
    if (!json_is_object(json_object_get(b, "target")))
        return al_http_fail(c, AL_E_INVAL, "target",
                            "target is required: {\"reservation\": \"rsv_…\", \"unit\": N} or "
                            "{\"pool\": {\"model\": M} | {\"gpu\": \"gpu_…\"}}");
    return 0;
}

/* ---- the target ---- */

/* Where a new container runs. */
struct target {
    json_t *doc; /* the document's `target` (owned) */
    char node[AL_HTTP_MAX_NAME + 1];
    char gpu[96];
    char device[96];
    int64_t pool_session; /* 0: none */
};

/* The node's container runtime must be there and reachable, as its agent last said. */
static int runtime_ok(struct al_ctx *c, const char *node)
{
    json_t *rt = NULL;
    struct al_err e = {0};
    int rc = al_store_node_runtime_get(c->srv->store, node, &rt, &e);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, AL_E_STATE, "target", "node %s runs no container runtime", node);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (!json_is_true(json_object_get(rt, "ok")))
        rc = al_http_fail(c, AL_E_UNAVAILABLE, "target",
                          "node %s's container runtime is unreachable: %s", node,
                          jstr(rt, "error") ? jstr(rt, "error") : "(no error given)");
    json_decref(rt);
    return rc;
}

/* The reservation's assignments ([{unit, user, at, by}]; borrowed from `cache` when it holds
 * them, else read and, with a cache, kept there). *ret a new reference. */
static int assignments(struct al_ctx *c, const char *rsv, json_t *cache, json_t **ret)
{
    struct al_err e = {0};
    json_t *a = cache ? json_object_get(cache, rsv) : NULL;
    if (a) {
        *ret = json_incref(a);
        return 0;
    }
    int rc = al_store_assignment_list(c->srv->store, rsv, ret, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (cache)
        json_object_set(cache, rsv, *ret);
    return 0;
}

/* The member unit `unit` is assigned to in `asg`, or NULL (owned by asg). */
static const char *assigned_to(json_t *asg, int64_t unit)
{
    json_t *x;
    size_t i;
    json_array_foreach(asg, i, x)
    {
        if (json_integer_value(json_object_get(x, "unit")) == unit)
            return jstr(x, "user");
    }
    return NULL;
}

/* The reservation must be active and the time inside its window. */
static int rsv_window(struct al_ctx *c, json_t *rsv)
{
    const char *id = jstr(rsv, "id"), *st = jstr(rsv, "state");
    int64_t start = jtime(rsv, "start"), end = jtime(rsv, "end");
    char t[32], t2[32];
    if (st && strcmp(st, "active") == 0 && c->now >= start && c->now < end)
        return 0;
    st = st ? st : "?";
    json_t *d = json_pack("{s:s,s:s,s:o,s:o}", "field", "target.reservation", "state", st, "start",
                          al_time_json(start), "end", al_time_json(end));
    if (c->now < start)
        return al_http_fail_details(c, AL_E_STATE, d, "%s is %s: its window starts at %s", id, st,
                                    al_time_fmt(start, t, sizeof t));
    if (c->now >= end)
        return al_http_fail_details(c, AL_E_STATE, d, "%s is %s: its window ended at %s", id, st,
                                    al_time_fmt(end, t, sizeof t));
    return al_http_fail_details(c, AL_E_STATE, d,
                                "%s is %s: containers run on it only while it is active (its "
                                "window: %s to %s)",
                                id, st, al_time_fmt(start, t, sizeof t),
                                al_time_fmt(end, t2, sizeof t2));
}

/* Which unit: the one asked (a member may not take one assigned to another member), else the
 * first assigned to the caller, else the first unassigned (an org admin: else the first). */
static int pick_unit(struct al_ctx *c, json_t *rsv, json_t *asg, int64_t asked, int64_t *ret)
{
    size_t n = json_array_size(json_object_get(rsv, "allocations"));
    bool member = c->role == AL_ROLE_MEMBER;
    const char *id = jstr(rsv, "id");
    if (asked >= 0) {
        const char *who = assigned_to(asg, asked);
        if ((size_t)asked >= n)
            return al_http_fail(c, AL_E_INVAL, "target.unit", "%s has %zu units: 0..%zu", id, n,
                                n - 1);
        if (member && who && strcmp(who, c->user_id) != 0)
            return al_http_fail(c, AL_E_FORBIDDEN, "target.unit",
                                "unit %d of %s is assigned to another member", (int)asked, id);
        *ret = asked;
        return 0;
    }
    for (size_t u = 0; u < n; u++) {
        const char *who = assigned_to(asg, (int64_t)u);
        if (who && strcmp(who, c->user_id) == 0) {
            *ret = (int64_t)u;
            return 0;
        }
    }
    for (size_t u = 0; u < n; u++) {
        if (!assigned_to(asg, (int64_t)u)) {
            *ret = (int64_t)u;
            return 0;
        }
    }
    if (member || n == 0)
        return al_http_fail(c, AL_E_FORBIDDEN, "target.unit",
                            "every unit of %s is assigned to another member", id);
    *ret = 0;
    return 0;
}

/* The unit's node, GPU and device: its MIG instance's uuid, or its whole GPU's. */
static int unit_device(struct al_ctx *c, json_t *rsv, int64_t unit, struct target *t)
{
    json_t *a = json_array_get(json_object_get(rsv, "allocations"), (size_t)unit);
    bool mig = jstr(a, "kind") && strcmp(jstr(a, "kind"), "mig") == 0;
    const char *dev = jstr(a, mig ? "mig_uuid" : "gpu_uuid");
    if (al_rsvlife_unit_degraded(rsv, (int)unit))
        return al_http_fail(c, AL_E_STATE, "target.unit",
                            "unit %d of %s is out of service: its GPU failed and no spare fits"
                            " (the time is credited)",
                            (int)unit, jstr(rsv, "id"));
    if (!dev || !dev[0] || !jstr(a, "node") || !jstr(a, "gpu"))
        return al_http_fail(c, AL_E_STATE, "target.unit", "unit %d of %s has no %s known yet",
                            (int)unit, jstr(rsv, "id"), mig ? "MIG instance uuid" : "GPU uuid");
    int g = al_cal_gpu(c->srv->cal, jstr(a, "gpu"));
    const struct al_gpu *x = g >= 0 ? al_fleet_gpu(c->srv->cal->fleet, (uint32_t)g) : NULL;
    if (!x || !x->usable)
        return al_http_fail(c, AL_E_STATE, "target.unit",
                            "unit %d of %s: GPU %s is not usable now (unhealthy, drained, no longer"
                            " reported or its node offline)",
                            (int)unit, jstr(rsv, "id"), jstr(a, "gpu"));
    snprintf(t->node, sizeof t->node, "%s", jstr(a, "node"));
    snprintf(t->gpu, sizeof t->gpu, "%s", jstr(a, "gpu"));
    snprintf(t->device, sizeof t->device, "%s", dev);
    return 0;
}

/* {"reservation": "rsv_…", "unit": N?}: the caller's org's reservation (another org's: 404),
 * active, inside its window; the unit; its device; the node's runtime. */
static int rsv_target(struct al_ctx *c, json_t *tb, struct target *t)
{
    static const char *const keys[] = {"reservation", "unit", NULL};
    json_t *rsv = NULL, *asg = NULL;
    const char *id = NULL;
    int64_t unit = -1;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, tb, keys) ||
        al_field_text(c, tb, "reservation", true, AL_HTTP_ID_LEN, &id) ||
        al_field_int(c, tb, "unit", false, 0, 4095, &unit)) {
        rc = field_under(c, "target.");
        goto out;
    }
    rc = al_store_reservation_get(c->srv->store, id, &rsv, &e);
    if (rc == AL_E_NOTFOUND || (rc == 0 && !al_ctx_sees(c, jstr(rsv, "org")))) {
        rc = al_http_fail(c, AL_E_NOTFOUND, "target.reservation", "no reservation %s", id);
        goto out;
    }
    if (rc) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = rsv_window(c, rsv)) || (rc = assignments(c, id, NULL, &asg)) ||
        (rc = pick_unit(c, rsv, asg, unit, &unit)) || (rc = unit_device(c, rsv, unit, t)) ||
        (rc = runtime_ok(c, t->node)))
        goto out;
    t->doc = json_pack("{s:s,s:s,s:I}", "kind", "reservation", "reservation", id, "unit",
                       (json_int_t)unit);
    if (!t->doc)
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
out:
    json_decref(asg);
    json_decref(rsv);
    return rc;
}

/* {"pool": {"model": M} | {"gpu": "gpu_…"}}: a free general-pool GPU (server/poolgpu.h), the
 * node's runtime, a pool session on the whole GPU (server/pool.h), the container's hold. */
static int pool_target(struct al_ctx *c, json_t *tb, const char *ctr_id, struct target *t)
{
    static const char *const outer[] = {"pool", NULL}, *const keys[] = {"model", "gpu", NULL};
    json_t *p = json_object_get(tb, "pool");
    const char *model = NULL, *gpu = NULL;
    struct al_poolgpu_pick pick = {0};
    struct al_store_pool sess;
    int rc;
    if (al_field_only(c, tb, outer))
        return field_under(c, "target.");
    if (!json_is_object(p))
        return al_http_fail(c, AL_E_INVAL, "target.pool",
                            "target.pool must be {\"model\": M} or {\"gpu\": \"gpu_…\"}");
    if (al_field_only(c, p, keys) || al_field_limit(c, p, "model", AL_LIMIT_MODEL, false, &model) ||
        al_field_text(c, p, "gpu", false, sizeof pick.gpu - 1, &gpu))
        return field_under(c, "target.pool.");
    if (!model == !gpu)
        return al_http_fail(c, AL_E_INVAL, "target.pool",
                            "target.pool names a model or a GPU, one of the two");
    if (al_poolgpu_pick(c, model, gpu, &pick))
        return field_under(c, "target.pool.");
    if ((rc = runtime_ok(c, pick.node)))
        return rc;
    struct al_pool_ask a = {c->org, c->user_id, pick.gpu, AL_SHARE_PER_GPU};
    if ((rc = al_pool_start(c, &a, &sess)) || (rc = al_poolgpu_hold(c, ctr_id, pick.gpu, NULL, -1)))
        return rc;
    snprintf(t->node, sizeof t->node, "%s", pick.node);
    snprintf(t->gpu, sizeof t->gpu, "%s", pick.gpu);
    snprintf(t->device, sizeof t->device, "%s", pick.device);
    t->pool_session = (int64_t)sess.sess.id;
    t->doc = json_pack("{s:s,s:s,s:n}", "kind", "pool", "model", pick.model, "profile");
    return t->doc ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}

static int resolve_target(struct al_ctx *c, const char *ctr_id, struct target *t)
{
    json_t *tb = json_object_get(c->body, "target");
    if (json_object_get(tb, "reservation"))
        return rsv_target(c, tb, t);
    if (json_object_get(tb, "pool"))
        return pool_target(c, tb, ctr_id, t);
    return al_http_fail(c, AL_E_INVAL, "target",
                        "target names a reservation ({\"reservation\": \"rsv_…\"}) or the pool "
                        "({\"pool\": {…}})");
}

/* ---- writes ---- */

static int save(struct al_ctx *c, json_t *ctr, bool insert)
{
    json_t *t = json_object_get(ctr, "target");
    const char *rsv = jstr(t, "reservation");
    struct al_store_container m = {
        .id = jstr(ctr, "id"),
        .org = jstr(ctr, "org"),
        .user = jstr(ctr, "user"),
        .reservation = rsv,
        .unit = rsv ? (int)json_integer_value(json_object_get(t, "unit")) : -1,
        .node = jstr(ctr, "node"),
        .gpu = jstr(ctr, "gpu"),
        .state = jstr(ctr, "state"),
        .pool_session = json_integer_value(json_object_get(ctr, "pool_session")),
        .at = c->now,
    };
    struct al_err e = {0};
    json_object_set_new(ctr, "updated_at", al_time_json(c->now));
    int rc = al_store_container_put(c->srv->store, &m, ctr, insert, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_containers_each_live(struct al_ctx *c, int (*fn)(struct al_ctx *c, json_t *ctr))
{
    json_t *live = NULL, *ctr;
    struct al_err e = {0};
    size_t i;
    int n = 0, rc = al_store_container_live(c->srv->store, NULL, &live, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(live, i, ctr)
    {
        if ((rc = fn(c, ctr)) < 0)
            break;
        n += rc;
    }
    json_decref(live);
    return rc < 0 ? rc : n;
}

int al_containers_put(struct al_ctx *c, json_t *ctr)
{
    return save(c, ctr, false);
}

/* The new container's document (pending, desired run). NULL when out of memory. */
static json_t *doc_new(struct al_ctx *c, const char *id, struct target *t)
{
    json_t *b = c->body, *env = json_object_get(b, "env");
    json_t *d = json_pack("{s:s,s:s?,s:s,s:O,s:s,s:s,s:s,s:O,s:O,s:o,s:s,s:s,s:n}", "id", id, "org",
                          c->org, "user", c->user_id, "target", t->doc, "node", t->node, "gpu",
                          t->gpu, "device", t->device, "image", json_object_get(b, "image"),
                          "command", json_object_get(b, "command"), "env",
                          json_is_object(env) ? json_copy(env) : json_object(), "state", "pending",
                          "desired", "run", "stop_reason");
    static const char *const nulls[] = {"runtime_id", "exit_code",  "error", "warning",
                                        "started_at", "stopped_at", NULL};
    if (!d)
        return NULL;
    json_object_set_new(d, "pool_session",
                        t->pool_session ? json_integer(t->pool_session) : json_null());
    for (const char *const *k = nulls; *k; k++)
        json_object_set_new(d, *k, json_null());
    json_object_set_new(d, "created_at", al_time_json(c->now));
    return d;
}

int al_containers_create(struct al_ctx *c, json_t **ret)
{
    struct target t = {0};
    char id[AL_HTTP_ID_LEN];
    json_t *d = NULL;
    int rc;
    *ret = NULL;
    if ((rc = check_body(c, c->body)))
        goto out;
    if (!c->org) {
        rc = al_http_fail(c, AL_E_FORBIDDEN, NULL, "containers are started by an org's users");
        goto out;
    }
    al_id_new("ctr", c->now, id, sizeof id);
    if ((rc = resolve_target(c, id, &t)))
        goto out;
    if (!(d = doc_new(c, id, &t))) {
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = save(c, d, true)) ||
        (rc = al_event(c, AL_EVENT_CONTAINER_CREATED, c->org, id,
                       json_pack("{s:s,s:s,s:O,s:s,s:s,s:s}", "org", c->org, "user", c->user_id,
                                 "target", t.doc, "node", t.node, "gpu", t.gpu, "image",
                                 jstr(d, "image")))))
        goto out;
    *ret = json_incref(d);
out:
    json_decref(d);
    json_decref(t.doc);
    return rc;
}

/* ---- who sees, who stops ---- */

int al_containers_visible(struct al_ctx *c, json_t *ctr, json_t *assign)
{
    json_t *t = json_object_get(ctr, "target"), *asg = NULL;
    const char *rsv = jstr(t, "reservation"), *who;
    if (c->role == AL_ROLE_OPERATOR)
        return 1;
    if (!al_ctx_sees(c, jstr(ctr, "org")))
        return 0;
    if (c->role != AL_ROLE_MEMBER ||
        (jstr(ctr, "user") && strcmp(jstr(ctr, "user"), c->user_id) == 0))
        return 1;
    if (!rsv)
        return 0; /* another member's pool container */
    int rc = assignments(c, rsv, assign, &asg);
    if (rc)
        return rc;
    who = assigned_to(asg, json_integer_value(json_object_get(t, "unit")));
    rc = !who || strcmp(who, c->user_id) == 0;
    json_decref(asg);
    return rc;
}

int al_containers_load(struct al_ctx *c, const char *id, json_t **ret)
{
    struct al_err e = {0};
    int rc = al_store_container_get(c->srv->store, id, ret, &e);
    if (rc == 0 && (rc = al_containers_visible(c, *ret, NULL)) == 1)
        return 0;
    if (rc == 0 || rc == AL_E_NOTFOUND)
        rc = al_http_fail(c, AL_E_NOTFOUND, NULL, "no container %.*s", AL_HTTP_ID_LEN, id);
    else if (!c->err_code)
        rc = al_http_fail_err(c, rc, &e);
    json_decref(*ret);
    *ret = NULL;
    return rc;
}

int al_containers_may_stop(struct al_ctx *c, json_t *ctr)
{
    if (c->role == AL_ROLE_OPERATOR ||
        (c->role == AL_ROLE_ORG_ADMIN && al_ctx_sees(c, jstr(ctr, "org"))) ||
        (jstr(ctr, "user") && strcmp(jstr(ctr, "user"), c->user_id) == 0))
        return 0;
    return al_http_fail(c, AL_E_FORBIDDEN, NULL,
                        "only who started %s, an admin of its org or an operator may stop it",
                        jstr(ctr, "id"));
}

/* ---- stop ---- */

/* A container with a pool session ended or is asked to stop: the session metered and stopped
 * (unless the metering stopped it already), the pool hold released. */
static int pool_end(struct al_ctx *c, json_t *ctr)
{
    json_t *ps = json_object_get(ctr, "pool_session");
    struct al_store_pool p;
    struct al_err e = {0};
    int rc;
    if (!json_is_integer(ps))
        return 0;
    uint64_t id = (uint64_t)json_integer_value(ps);
    if ((rc = al_store_pool_get(c->srv->store, id, &p, &e)))
        return al_http_fail_err(c, rc, &e);
    if (p.stopped_at == 0 && (rc = al_pool_stop(c, id, NULL)))
        return rc;
    return al_poolgpu_release(c, jstr(ctr, "id"));
}

int al_containers_end(struct al_ctx *c, json_t *ctr)
{
    return pool_end(c, ctr);
}

int al_containers_stop(struct al_ctx *c, json_t *ctr, const char *reason, json_t *data)
{
    const char *id = jstr(ctr, "id"), *st = jstr(ctr, "state"), *k;
    bool pending = st && strcmp(st, "pending") == 0;
    json_t *ev, *v;
    int rc;
    if (!al_containers_live(st) ||
        (jstr(ctr, "desired") && strcmp(jstr(ctr, "desired"), "stop") == 0))
        return 0;
    json_object_set_new(ctr, "desired", json_string("stop"));
    json_object_set_new(ctr, "stop_reason", json_string(reason));
    json_object_set_new(ctr, "state", json_string(pending ? "stopped" : "stopping"));
    if (pending)
        json_object_set_new(ctr, "stopped_at", al_time_json(c->now));
    if ((rc = pool_end(c, ctr)) || (rc = save(c, ctr, false)))
        return rc;
    if (!(ev = json_pack("{s:s,s:s?}", "reason", reason, "node", jstr(ctr, "node"))))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_object_foreach(data, k, v) json_object_set(ev, k, v);
    if ((rc = al_event(c, AL_EVENT_CONTAINER_STOPPING, jstr(ctr, "org"), id, ev)) || !pending)
        return rc;
    /* never started: nothing for an agent to stop */
    return al_event(c, AL_EVENT_CONTAINER_STOPPED, jstr(ctr, "org"), id,
                    json_pack("{s:s,s:b}", "reason", reason, "started", false));
}
