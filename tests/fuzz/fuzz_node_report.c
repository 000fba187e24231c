/* fuzz_node_report.c — libFuzzer target for what a node agent sends: the body of PUT
 * /v1/nodes/{name} (the heartbeat; anyone holding an agent token, or a compromised node, writes
 * it) and the path behind it in the server, without HTTP: the report checked
 * (server/node_report.h), stored (an in-memory store holding node n1 of 8 H100s with a
 * reservation's MIG and whole-GPU holds and a quote's hold on three of them, and node n2), the
 * changes between the stored versions walked, the planner's fleet synced (al_cal_sync_node,
 * server/cal.h) and a placement planned on it. Each input runs in a transaction that is rolled
 * back, on a fleet built afresh, so inputs do not depend on each other.
 *
 * The input: the node's name (the URL's segment), a newline, the JSON body. Checked on every
 * input:
 *   - a refused report: AL_E_INVAL with a field and a message, and nothing built;
 *   - an accepted one is within the documented bounds (≤ 64 GPUs, distinct indexes 0..63,
 *     catalog model names, uuids of 1..47 printable bytes, a pool, a health), and a GPU's
 *     observed MIG state too: ≤ 16 instances, those of the model's profiles at placements the
 *     catalog allows apart from the others (unmatched_instances, each within 64 units and
 *     named among the catalog differences), none overlapping where its size is known, gi ids
 *     distinct; ≤ 64 processes, each on a listed instance while MIG mode is on and on none
 *     while it is off; processes_total ≥ the processes listed; catalog differences as
 *     sentences;
 *   - the store takes it, or refuses a uuid of another node (AL_E_CONFLICT) only;
 *   - every change found is a documented event kind about the node or one of its GPUs;
 *   - the sync succeeds, and then the planner's fleet agrees with what the API shows: a GPU is
 *     usable exactly when its status is "available", and of the model it is sold as;
 *   - a plan made afterwards uses only usable GPUs. */
#include "fuzz.h"

#include <stdbool.h>

#include "core/catalog.h"
#include "core/fleet.h"
#include "core/planner.h"
#include "server/cal.h"
#include "server/node_report.h"
#include "store/store.h"

#define NOW 1800000000LL

static struct al_store *store;

static void add_hold(const char *gpu, const char *owner, const char *profile, int start,
                     int64_t expires)
{
    struct al_store_hold h = {.start_unit = start,
                              .mask = profile ? 0xf0 : UINT64_MAX,
                              .t0 = NOW + 3600,
                              .t1 = NOW + 7200,
                              .expires_at = expires};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", owner);
    snprintf(h.kind, sizeof h.kind, "%s", profile ? "mig" : "gpu");
    snprintf(h.profile, sizeof h.profile, "%s", profile ? profile : "");
    FUZZ_CHECK(al_store_hold_add(store, &h, NULL) == 0, "seed hold on %s", gpu);
}

static void put(const char *name, const char *model, int n)
{
    json_t *gpus = json_array();
    for (int i = 0; i < n; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-%s-%d", name, i);
        json_array_append_new(gpus, json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", i, "uuid", uuid,
                                              "model", model, "pool", "dedicated", "healthy", 1));
    }
    json_t *node =
        json_pack("{s:s,s:s,s:{},s:o}", "name", name, "zone", "z1", "labels", "gpus", gpus);
    FUZZ_CHECK(al_store_node_upsert(store, node, NOW - 10, NULL) == 0, "seed node %s", name);
    json_decref(node);
}

/* The store every input starts from (kept for the process; each input is rolled back). */
static void seed(void)
{
    struct al_err e = {0};
    FUZZ_CHECK(al_store_open(":memory:", &store, &e) == 0, "open: %s", e.msg);
    FUZZ_CHECK(al_store_begin(store, NULL) == 0, "begin");
    put("n1", "H100-80GB", 8);
    put("n2", "A100-80GB", 2);
    add_hold("gpu_n1-1", "rsv_00000001000000a1", "3g.40gb", 4, 0);
    add_hold("gpu_n1-2", "rsv_00000001000000a1", NULL, -1, 0);
    add_hold("gpu_n1-3", "qte_00000001000000b2", NULL, -1, NOW + 600);
    FUZZ_CHECK(al_store_commit(store, NULL) == 0, "commit");
}

/* Is gi `gi` that of an instance of `list` before index `n` (all of it: n = SIZE_MAX)? */
static bool gi_in(json_t *list, size_t n, json_t *gi)
{
    for (size_t k = 0; k < n && k < json_array_size(list); k++)
        if (json_equal(json_object_get(json_array_get(list, k), "gi"), gi))
            return true;
    return false;
}

/* The instances outside the catalog: bounded with the others, each within 64 units and not
 * overlapping another where its size is known, gi ids distinct from all, each named among the
 * catalog differences. `units`: those the catalog's instances hold. */
static void check_unmatched(json_t *o, json_t *insts, uint64_t units)
{
    json_t *un = json_object_get(o, "unmatched_instances"), *v;
    size_t i;
    FUZZ_CHECK(json_is_array(un) &&
                   json_array_size(un) + json_array_size(insts) <= AL_NODE_MAX_INSTANCES &&
                   json_array_size(json_object_get(o, "catalog_differences")) >=
                       json_array_size(un),
               "unmatched_instances");
    json_array_foreach(un, i, v)
    {
        json_t *size = json_object_get(v, "size");
        json_int_t start = json_integer_value(json_object_get(v, "start"));
        json_int_t sz = json_integer_value(size);
        FUZZ_CHECK(json_is_null(size) || (sz >= 1 && start >= 0 && start + sz <= 64),
                   "unmatched %zu: placement", i);
        uint64_t mask = sz <= 0 ? 0 : (sz >= 64 ? UINT64_MAX : (UINT64_C(1) << sz) - 1) << start;
        FUZZ_CHECK(!(units & mask), "unmatched %zu overlaps", i);
        units |= mask;
        FUZZ_CHECK(!gi_in(insts, SIZE_MAX, json_object_get(v, "gi")) &&
                       !gi_in(un, i, json_object_get(v, "gi")),
                   "unmatched %zu: gi repeated", i);
    }
}

/* The observed MIG state of a GPU of model `m`, as al_node_mig_observed promises it. */
static void check_observed(json_t *o, const struct al_gpu_model *m)
{
    json_t *insts = json_object_get(o, "instances"), *procs = json_object_get(o, "processes"), *v;
    json_t *un = json_object_get(o, "unmatched_instances");
    bool on = json_is_true(json_object_get(json_object_get(o, "mig"), "current"));
    uint64_t units = 0;
    size_t i, k;
    FUZZ_CHECK(json_is_array(insts) && json_array_size(insts) <= AL_NODE_MAX_INSTANCES &&
                   (on || json_array_size(insts) + json_array_size(un) == 0),
               "instances");
    json_array_foreach(insts, i, v)
    {
        int pi = al_catalog_profile_index(m, json_string_value(json_object_get(v, "profile")));
        json_int_t start = json_integer_value(json_object_get(v, "start"));
        FUZZ_CHECK(pi >= 0 && m->profiles[pi].nvml_id ==
                                  json_integer_value(json_object_get(v, "profile_id")),
                   "instance %zu: profile", i);
        const struct al_mig_profile *p = &m->profiles[pi];
        for (k = 0; k < p->nstarts && p->starts[k] != start; k++)
            ;
        FUZZ_CHECK(k < p->nstarts && start + p->size <= m->units, "instance %zu: placement", i);
        uint64_t mask = ((UINT64_C(1) << p->size) - 1) << start;
        FUZZ_CHECK(!(units & mask), "instance %zu overlaps", i);
        units |= mask;
        FUZZ_CHECK(!gi_in(insts, i, json_object_get(v, "gi")), "instance %zu: gi repeated", i);
    }
    check_unmatched(o, insts, units);
    FUZZ_CHECK(json_is_array(procs) && json_array_size(procs) <= AL_NODE_MAX_PROCS &&
                   json_integer_value(json_object_get(o, "processes_total")) >=
                       (json_int_t)json_array_size(procs),
               "processes");
    json_array_foreach(procs, i, v)
    {
        json_t *gi = json_object_get(v, "gi");
        bool listed = gi_in(insts, SIZE_MAX, gi) || gi_in(un, SIZE_MAX, gi);
        FUZZ_CHECK(on ? listed : json_is_null(gi), "process %zu: gi", i);
    }
    json_array_foreach(json_object_get(o, "catalog_differences"), i, v)
        FUZZ_CHECK(json_string_length(v) > 0, "difference %zu", i);
}

static void check_report(json_t *r)
{
    json_t *gpus = json_object_get(r, "gpus"), *g;
    uint64_t seen = 0;
    size_t i;
    FUZZ_CHECK(json_is_array(gpus) && json_array_size(gpus) <= AL_NODE_MAX_GPUS, "gpus");
    json_array_foreach(gpus, i, g)
    {
        json_int_t x = json_integer_value(json_object_get(g, "index"));
        const char *u = json_string_value(json_object_get(g, "uuid"));
        const char *m = json_string_value(json_object_get(g, "model"));
        const char *p = json_string_value(json_object_get(g, "pool"));
        const struct al_gpu_model *cm = al_catalog_find(m);
        FUZZ_CHECK(x >= 0 && x < AL_NODE_MAX_GPUS && !(seen & (UINT64_C(1) << x)), "index %lld",
                   (long long)x);
        seen |= UINT64_C(1) << x;
        FUZZ_CHECK(u && u[0] && strlen(u) < AL_FLEET_UUID_MAX, "uuid");
        for (const char *c = u; *c; c++)
            FUZZ_CHECK(*c > ' ' && *c < 0x7f, "uuid byte %d", *c);
        FUZZ_CHECK(cm && strcmp(cm->name, m) == 0, "model %s", m ? m : "(null)");
        FUZZ_CHECK(p && (strcmp(p, "general") == 0 || strcmp(p, "dedicated") == 0), "pool");
        FUZZ_CHECK(json_is_boolean(json_object_get(g, "healthy")), "healthy");
        if (json_object_get(g, "observed"))
            check_observed(json_object_get(g, "observed"), cm);
    }
}

static int on_change(void *arg, enum al_event_kind kind_id, const char *object, json_t *data)
{
    static const enum al_event_kind kinds[] = {
        AL_EVENT_NODE_ONLINE,         AL_EVENT_GPU_REMOVED,   AL_EVENT_GPU_RETURNED,
        AL_EVENT_GPU_MODEL_CHANGED,   AL_EVENT_GPU_UNHEALTHY, AL_EVENT_GPU_HEALTHY,
        AL_EVENT_GPU_CATALOG_MISMATCH};
    const char *node = arg, *kind = al_event_kind_name(kind_id);
    size_t k = 0, n = sizeof kinds / sizeof kinds[0];
    while (k < n && kinds[k] != kind_id)
        k++;
    FUZZ_CHECK(k < n, "undocumented change %s", kind ? kind : "(out of range)");
    FUZZ_CHECK(json_is_object(data), "%s without data", kind);
    if (al_event_kind_about(kind_id, AL_EVENT_OF_GPU))
        FUZZ_CHECK(strncmp(object, "gpu_", 4) == 0 &&
                       strcmp(json_string_value(json_object_get(data, "node")), node) == 0,
                   "%s about %s", kind, object);
    else
        FUZZ_CHECK(strcmp(object, node) == 0, "%s about %s", kind, object);
    json_decref(data);
    return 0;
}

/* The planner's fleet agrees with the node as the API shows it. */
static void check_fleet(const struct al_cal *c, json_t *node)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(node, "gpus"), i, g)
    {
        const char *id = json_string_value(json_object_get(g, "id"));
        int f = al_cal_gpu(c, id);
        FUZZ_CHECK(f >= 0, "GPU %s not in the fleet", id);
        const struct al_gpu *fg = al_fleet_gpu(c->fleet, (uint32_t)f);
        bool available = strcmp(al_node_gpu_status(node, g), "available") == 0;
        FUZZ_CHECK(fg->usable == available, "GPU %s usable %d, status %s", id, fg->usable,
                   al_node_gpu_status(node, g));
        FUZZ_CHECK(strcmp(fg->model->name, json_string_value(json_object_get(g, "model"))) == 0,
                   "GPU %s is a %s in the fleet", id, fg->model->name);
    }
}

static void check_plan(const struct al_cal *c)
{
    struct al_request r = {.kind = AL_REQ_WHOLE,
                           .model = al_catalog_find("H100-80GB"),
                           .profile = -1,
                           .count = 2,
                           .start = NOW + 3600,
                           .end = NOW + 7200,
                           .where = {.pool = -1}};
    struct al_plan p = {0};
    if (al_planner_plan(c->planner, &r, &p, NULL) == 0)
        for (unsigned i = 0; i < p.n; i++)
            FUZZ_CHECK(al_fleet_gpu(c->fleet, p.allocs[i].gpu)->usable, "planned on GPU %u",
                       p.allocs[i].gpu);
    al_plan_clear(&p);
}

/* Store the accepted report, walk its changes, sync the fleet and plan on it. */
static void apply(const char *name, json_t *report)
{
    struct al_cal *c = NULL;
    json_t *old = NULL, *now = NULL;
    struct al_err e = {0};
    FUZZ_CHECK(al_store_begin(store, &e) == 0, "begin: %s", e.msg);
    FUZZ_CHECK(al_cal_build(store, NOW, &c, &e) == 0, "build: %s", e.msg);
    int rc = al_store_node_get(store, name, &old, NULL);
    FUZZ_CHECK(rc == 0 || rc == AL_E_NOTFOUND, "node get: %d", rc);
    rc = al_store_node_upsert(store, report, NOW, &e);
    FUZZ_CHECK(rc == 0 || rc == AL_E_CONFLICT, "upsert: %d %s", rc, e.msg);
    if (rc == 0) {
        FUZZ_CHECK(al_store_node_get(store, name, &now, &e) == 0, "get: %s", e.msg);
        FUZZ_CHECK(al_node_report_changes(old, now, on_change, (void *)name) == 0, "changes");
        FUZZ_CHECK(al_cal_sync_node(c, now, &e) == 0, "sync: %s", e.msg);
        check_fleet(c, now);
        check_plan(c);
    }
    al_store_rollback(store);
    al_cal_free(c);
    json_decref(old);
    json_decref(now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size), *nl = memchr(text, '\n', size);
    const char *name = "n1", *body = text;
    size_t len = size;
    json_t *report = NULL, *j = NULL;
    struct al_node_report_err err = {{0}, {0}};
    if (!store)
        seed();
    if (nl) {
        *nl = '\0';
        name = text;
        body = nl + 1;
        len = size - (size_t)(body - text);
    }
    j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = al_node_report_parse(name, j, &report, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == AL_E_INVAL && err.field[0] && err.msg[0] && !report,
                   "refused with %d, field '%s', message '%s'", rc, err.field, err.msg);
        goto out;
    }
    check_report(report);
    apply(name, report);
out:
    json_decref(report);
    json_decref(j);
    free(text);
    return 0;
}
