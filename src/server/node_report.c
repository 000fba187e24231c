/* node_report.c — a node's report checked field by field (each refusal names the field as the
 * API documents it; a GPU's MIG members are node_mig.c's), GPU states, and the changes between
 * two versions of a node (see node_report.h). */
#include "server/node_report.h"

#include "core/catalog.h"
#include "core/fleet.h"
#include "server/http.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int al_node_refuse(struct al_node_report_err *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return AL_E_INVAL;
}

/* Member `key` of `o`, NULL when absent or JSON null (null means "not given"). */
static json_t *member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

const char *al_node_unknown_key(json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k) != 0)
            a++;
        if (!*a)
            return k;
    }
    return NULL;
}

/* A JSON string of at most `max` bytes without NUL, or NULL. */
static const char *text(json_t *v, size_t max)
{
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static int check_labels(json_t *labels, struct al_node_report_err *err)
{
    const char *k;
    json_t *v;
    if (!labels)
        return 0;
    if (!json_is_object(labels) || json_object_size(labels) > AL_NODE_MAX_LABELS)
        return al_node_refuse(err, "labels",
                              "labels must be an object of at most %d name: string pairs",
                              AL_NODE_MAX_LABELS);
    json_object_foreach(labels, k, v)
    {
        if (!al_name_ok(k) || !text(v, AL_NODE_LABEL_MAX))
            return al_node_refuse(
                err, "labels", "label keys are names, values strings of at most %d bytes, no NUL",
                AL_NODE_LABEL_MAX);
    }
    return 0;
}

/* A uuid as NVML writes it ("GPU-8f…"): printable ASCII without spaces, 1..47 bytes. */
static bool uuid_ok(const char *u)
{
    size_t n = u ? strlen(u) : 0;
    if (n == 0 || n >= AL_FLEET_UUID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
            return false;
    return true;
}

/* What one GPU entry says. */
struct gpu_entry {
    json_int_t idx;
    const char *uuid, *model, *pool;
    bool healthy;
};

/* index, uuid and model of GPU entry `g` (named `f`, "gpus[i]"): 0, or a refusal naming
 * "gpus[i].<field>". */
static int gpu_identity(json_t *g, const char *f, struct gpu_entry *out,
                        struct al_node_report_err *err)
{
    char field[80]; /* f (< 32) + "." + a key cut at 40 bytes */
    json_t *v = member(g, "index");
    snprintf(field, sizeof field, "%s.index", f);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) >= AL_NODE_MAX_GPUS)
        return al_node_refuse(err, field, "%s must be an integer in 0..%d", field,
                              AL_NODE_MAX_GPUS - 1);
    out->idx = json_integer_value(v);
    snprintf(field, sizeof field, "%s.uuid", f);
    out->uuid = text(member(g, "uuid"), AL_FLEET_UUID_MAX - 1);
    if (!uuid_ok(out->uuid))
        return al_node_refuse(err, field, "%s must be 1..%d printable ASCII characters, no space",
                              field, AL_FLEET_UUID_MAX - 1);
    snprintf(field, sizeof field, "%s.model", f);
    if (!(out->model = text(member(g, "model"), AL_HTTP_MAX_NAME)))
        return al_node_refuse(err, field, "%s must be a string of at most %d bytes", field,
                              AL_HTTP_MAX_NAME);
    return 0;
}

/* The fields of GPU entry `g` (an object named `f`): 0, or a refusal naming
 * "gpus[i].<field>". */
static int gpu_fields(json_t *g, const char *f, struct gpu_entry *out,
                      struct al_node_report_err *err)
{
    static const char *const allowed[] = {
        "index", "uuid",     "model",     "pool",      "healthy",         "name", "memory_mib",
        "mig",   "profiles", "instances", "processes", "processes_total", NULL};
    char field[80]; /* f (< 32) + "." + a key cut at 40 bytes */
    const char *bad = al_node_unknown_key(g, allowed);
    int rc;
    if (bad) {
        snprintf(field, sizeof field, "%s.%.40s", f, bad);
        return al_node_refuse(err, field, "%s: unknown field \"%.64s\"", f, bad);
    }
    if ((rc = gpu_identity(g, f, out, err)) != 0)
        return rc;
    json_t *pool = member(g, "pool"), *healthy = member(g, "healthy");
    snprintf(field, sizeof field, "%s.pool", f);
    if (pool && !(json_is_string(pool) && al_name_ok(json_string_value(pool))))
        return al_node_refuse(err, field, "%s must be general or dedicated", field);
    out->pool = pool ? json_string_value(pool) : "dedicated";
    snprintf(field, sizeof field, "%s.healthy", f);
    if (healthy && !json_is_boolean(healthy))
        return al_node_refuse(err, field, "%s must be true or false", field);
    out->healthy = !healthy || json_is_true(healthy);
    return 0;
}

/* Check GPU entry i and append it, as the store takes it, to `out`. */
static int check_gpu(json_t *g, size_t i, uint64_t *seen, json_t *out,
                     struct al_node_report_err *err)
{
    char f[32]; /* "gpus[" + the 20 digits of a size_t + "]" */
    struct gpu_entry e = {.pool = "dedicated", .healthy = true};
    int rc;
    snprintf(f, sizeof f, "gpus[%zu]", i);
    if (!json_is_object(g))
        return al_node_refuse(err, f, "%s must be an object", f);
    if ((rc = gpu_fields(g, f, &e, err)) != 0)
        return rc;
    const struct al_gpu_model *m = e.model ? al_catalog_find(e.model) : NULL;
    if (!m)
        return al_node_refuse(err, "gpus.model", "%s.model: unknown GPU model %s", f,
                              e.model ? e.model : "");
    if (!e.pool || (strcmp(e.pool, "general") != 0 && strcmp(e.pool, "dedicated") != 0))
        return al_node_refuse(err, "gpus.pool", "%s.pool must be general or dedicated", f);
    if (*seen & (UINT64_C(1) << e.idx))
        return al_node_refuse(err, "gpus.index", "%s: index %lld is reported twice", f,
                              (long long)e.idx);
    *seen |= UINT64_C(1) << e.idx;
    json_t *observed = NULL;
    if ((rc = al_node_mig_observed(g, f, m, &observed, err)) != 0)
        return rc;
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:b}", "index", e.idx, "uuid", e.uuid, "model", m->name,
                          "pool", e.pool, "healthy", e.healthy);
    if (o && observed && json_object_set(o, "observed", observed) != 0) {
        json_decref(o);
        o = NULL;
    }
    json_decref(observed);
    if (!o || json_array_append_new(out, o) != 0)
        return al_node_refuse(err, f, "out of memory");
    return 0;
}

int al_node_report_parse(const char *name, json_t *body, json_t **ret,
                         struct al_node_report_err *err)
{
    static const char *const allowed[] = {"zone", "labels", "gpus", NULL};
    json_t *zone, *labels, *gpus, *out = NULL;
    uint64_t seen = 0;
    const char *bad;
    int rc;
    if (!al_name_ok(name) || strlen(name) >= AL_FLEET_NAME_MAX)
        return al_node_refuse(err, "name", "node names are 1..%d of A-Z a-z 0-9 . _ -",
                              AL_FLEET_NAME_MAX - 1);
    if (!json_is_object(body))
        return al_node_refuse(err, "body", "the report must be a JSON object");
    if ((bad = al_node_unknown_key(body, allowed)))
        return al_node_refuse(err, bad[0] ? bad : "body", "unknown field \"%.64s\"", bad);
    zone = member(body, "zone");
    if (zone && !(json_is_string(zone) && al_name_ok(json_string_value(zone)) &&
                  json_string_length(zone) < AL_FLEET_ZONE_MAX))
        return al_node_refuse(err, "zone", "zone names are 1..%d of A-Z a-z 0-9 . _ -",
                              AL_FLEET_ZONE_MAX - 1);
    labels = member(body, "labels");
    if ((rc = check_labels(labels, err)) != 0)
        return rc;
    gpus = json_object_get(body, "gpus");
    if (!json_is_array(gpus) || json_array_size(gpus) > AL_NODE_MAX_GPUS)
        return al_node_refuse(err, "gpus", "gpus must be an array of at most %d", AL_NODE_MAX_GPUS);
    if (!(out = json_array()))
        return al_node_refuse(err, "gpus", "out of memory");
    for (size_t i = 0; i < json_array_size(gpus); i++)
        if ((rc = check_gpu(json_array_get(gpus, i), i, &seen, out, err)) != 0) {
            json_decref(out);
            return rc;
        }
    /* "o" steals its reference, also when the pack fails */
    json_t *node = json_pack("{s:s,s:o,s:o}", "name", name, "labels",
                             labels ? json_incref(labels) : json_object(), "gpus", out);
    if (!node || (zone && json_object_set(node, "zone", zone) != 0)) {
        json_decref(node);
        return al_node_refuse(err, "body", "out of memory");
    }
    *ret = node;
    return 0;
}

/* Text member `k` of `o` ("" when absent). */
static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

const char *al_node_gpu_status(json_t *node, json_t *gpu)
{
    const char *rm = str(gpu, "reported_model");
    if (json_is_false(json_object_get(node, "online")))
        return "offline";
    if (!json_is_true(json_object_get(gpu, "present")))
        return "missing";
    if (rm[0] && strcmp(rm, str(gpu, "model")) != 0)
        return "model_mismatch";
    if (!json_is_true(json_object_get(gpu, "healthy")))
        return "unhealthy";
    if (json_is_true(json_object_get(gpu, "drained")))
        return "drained";
    return "available";
}

/* The GPU of `gpus` with id `id`, or NULL. */
static json_t *gpu_by_id(json_t *gpus, const char *id)
{
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g)
    {
        if (strcmp(str(g, "id"), id) == 0)
            return g;
    }
    return NULL;
}

/* Call fn with `kind` about GPU `g` of node `node`: data {node, uuid, index} plus, when
 * `from` is not NULL, {from, to, applied}. */
static int gpu_event(al_node_change_fn fn, void *arg, enum al_event_kind kind, const char *node,
                     json_t *g, const char *from)
{
    const char *to = str(g, "reported_model");
    json_t *d = json_pack("{s:s,s:s,s:I}", "node", node, "uuid", str(g, "uuid"), "index",
                          json_integer_value(json_object_get(g, "index")));
    if (d && from &&
        (json_object_set_new(d, "from", json_string(from)) != 0 ||
         json_object_set_new(d, "to", json_string(to)) != 0 ||
         json_object_set_new(d, "applied", json_boolean(strcmp(str(g, "model"), to) == 0)) != 0)) {
        json_decref(d);
        d = NULL;
    }
    return d ? fn(arg, kind, str(g, "id"), d) : AL_E_NOMEM;
}

/* The changes of one GPU that both versions list. */
static int gpu_changes(json_t *was, json_t *is, const char *node, al_node_change_fn fn, void *arg)
{
    bool p0 = json_is_true(json_object_get(was, "present"));
    bool p1 = json_is_true(json_object_get(is, "present"));
    bool h0 = json_is_true(json_object_get(was, "healthy"));
    bool h1 = json_is_true(json_object_get(is, "healthy"));
    int rc = 0;
    if (p0 != p1)
        rc = gpu_event(fn, arg, p1 ? AL_EVENT_GPU_RETURNED : AL_EVENT_GPU_REMOVED, node, is, NULL);
    if (rc == 0 && p1 &&
        (strcmp(str(was, "reported_model"), str(is, "reported_model")) != 0 ||
         strcmp(str(was, "model"), str(is, "model")) != 0))
        rc = gpu_event(fn, arg, AL_EVENT_GPU_MODEL_CHANGED, node, is, str(was, "model"));
    if (rc == 0 && h0 != h1)
        rc = gpu_event(fn, arg, h1 ? AL_EVENT_GPU_HEALTHY : AL_EVENT_GPU_UNHEALTHY, node, is, NULL);
    return rc;
}

/* The catalog differences of stored GPU `g` (NULL when it has no observed state). */
static json_t *differences(json_t *g)
{
    return json_object_get(json_object_get(g, "observed"), "catalog_differences");
}

/* "gpu.catalog_mismatch" about GPU `is` when it is present with differences from the catalog
 * that `was` (NULL: the GPU is new) did not have: reported once when found, again only when
 * they change. */
static int mismatch(json_t *was, json_t *is, const char *node, al_node_change_fn fn, void *arg)
{
    json_t *now = differences(is), *before = was ? differences(was) : NULL;
    if (!json_is_true(json_object_get(is, "present")) || json_array_size(now) == 0 ||
        (before && json_equal(before, now)))
        return 0;
    json_t *d =
        json_pack("{s:s,s:s,s:O}", "node", node, "uuid", str(is, "uuid"), "differences", now);
    return d ? fn(arg, AL_EVENT_GPU_CATALOG_MISMATCH, str(is, "id"), d) : AL_E_NOMEM;
}

int al_node_report_changes(json_t *old, json_t *now, al_node_change_fn fn, void *arg)
{
    const char *node = str(now, "name");
    json_t *gpus = json_object_get(now, "gpus"), *g;
    size_t i;
    int rc = 0;
    if (old && json_is_false(json_object_get(old, "online")) &&
        !json_is_false(json_object_get(now, "online"))) {
        json_t *d = json_pack("{s:O}", "last_seen", json_object_get(old, "last_seen"));
        if (!d || (rc = fn(arg, AL_EVENT_NODE_ONLINE, node, d)) != 0)
            return d ? rc : AL_E_NOMEM;
    }
    json_array_foreach(json_object_get(old, "gpus"), i, g)
    {
        json_t *is = gpu_by_id(gpus, str(g, "id"));
        if (is)
            rc = gpu_changes(g, is, node, fn, arg);
        else if (json_is_true(json_object_get(g, "present"))) /* removed from the store */
            rc = gpu_event(fn, arg, AL_EVENT_GPU_REMOVED, node, g, NULL);
        if (rc != 0)
            return rc;
    }
    json_array_foreach(gpus, i, g)
    {
        if ((rc = mismatch(gpu_by_id(json_object_get(old, "gpus"), str(g, "id")), g, node, fn,
                           arg)) != 0)
            return rc;
    }
    return 0;
}

int al_node_holders_into(json_t *data, json_t *owners)
{
    json_t *rsv = json_array(), *qte = json_array(), *o;
    size_t i;
    int rc = rsv && qte ? 0 : AL_E_NOMEM;
    json_array_foreach(owners, i, o)
    {
        const char *id = json_string_value(o);
        if (rc == 0 && id && json_array_append(strncmp(id, "qte_", 4) == 0 ? qte : rsv, o) != 0)
            rc = AL_E_NOMEM;
    }
    if (rc == 0 && (json_object_set(data, "reservations", rsv) != 0 ||
                    json_object_set(data, "quotes", qte) != 0))
        rc = AL_E_NOMEM;
    json_decref(rsv);
    json_decref(qte);
    return rc;
}
