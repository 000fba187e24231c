/* store_fleet.c — the store's nodes and their GPUs (store.h), with each GPU's MIG state as
 * its agent observed it and as allot last put it; the prices are in store_money.c. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- nodes and GPUs ---- */

/* A GPU row as node_gpus_put reads it. */
struct gpu_have {
    char id[96], node[72], model[72], reported[72], pool[16];
    int64_t idx;
    bool healthy, present, observed;
};

/* Text column i of the current row, "" for NULL. */
static const char *col(struct al_db_stmt *st, int i)
{
    const char *v = al_db_text(st, i);
    return v ? v : "";
}

/* The row of the GPU with `uuid` into *h: 0, AL_E_NOTFOUND, or an error. */
#define GPU_BY_UUID                                                                                \
    "SELECT id, node, idx, model, reported_model, pool, healthy, present,"                         \
    " CASE WHEN observed IS NOT NULL THEN 1 ELSE 0 END FROM gpus WHERE uuid = ?"

static int gpu_by_uuid(struct al_store *s, const char *uuid, struct gpu_have *h, struct al_err *e)
{
    struct al_db_stmt *st;
    /* CASE, not the comparison itself: a column read as an integer (PostgreSQL's is boolean).
     * Locked in a unit (store.h, "Row locks"): whether the model may change depends on the
     * holds, which a sale on another replica writes under this row's lock */
    int rc = al_db_prep(s, &st, e, AL_STORE_FOR_UPDATE(s, GPU_BY_UUID, GPU_BY_UUID " FOR UPDATE"),
                        "t", uuid);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        snprintf(h->id, sizeof h->id, "%s", col(st, 0));
        snprintf(h->node, sizeof h->node, "%s", col(st, 1));
        h->idx = al_db_int64(st, 2);
        snprintf(h->model, sizeof h->model, "%s", col(st, 3));
        snprintf(h->reported, sizeof h->reported, "%s", col(st, 4));
        snprintf(h->pool, sizeof h->pool, "%s", col(st, 5));
        h->healthy = al_db_int(st, 6) != 0;
        h->present = al_db_int(st, 7) != 0;
        h->observed = al_db_int(st, 8) != 0;
    } else {
        rc = r == AL_DB_DONE ? AL_E_NOTFOUND : al_db_fail(s, e, "gpu by uuid");
    }
    al_db_done(s, st);
    return rc;
}

/* Step `st` (prepared and bound) once and give it back: 1 when it found a row, 0 when not, or
 * an error. */
static int found(struct al_store *s, struct al_db_stmt *st, struct al_err *e)
{
    int r = al_db_step(s, st);
    int rc = r == AL_DB_ROW ? 1 : r == AL_DB_DONE ? 0 : al_db_fail(s, e, "lookup");
    al_db_done(s, st);
    return rc;
}

/* Is a hold live at `now` on GPU `id` (ending after now; firm, or tentative unexpired)? */
static int gpu_held(struct al_store *s, const char *id, int64_t now, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e,
                        "SELECT 1 FROM holds h WHERE h.gpu_id = ?1 AND h.t1 > ?2"
                        " AND (h.expires_at = 0 OR h.expires_at > ?2) LIMIT 1",
                        "ti", id, now);
    return rc ? rc : found(s, st, e);
}

/* A free id for a new GPU of `node` at `idx`: "gpu_<node>-<idx>", or with "-<k>" appended
 * when a GPU that left kept that id (its holds reference it). */
static int gpu_new_id(struct al_store *s, const char *node, int64_t idx, char *out, size_t cap,
                      struct al_err *e)
{
    for (unsigned k = 1; k <= 1000; k++) {
        struct al_db_stmt *st;
        int n = k == 1 ? snprintf(out, cap, "gpu_%s-%lld", node, (long long)idx)
                       : snprintf(out, cap, "gpu_%s-%lld-%u", node, (long long)idx, k);
        if (n < 0 || (size_t)n >= cap)
            return al_err_set(e, AL_E_RANGE, "gpu id of node %s: too long", node);
        int rc = al_db_prep(s, &st, e, "SELECT 1 FROM gpus WHERE id = ?", "t", out);
        if (rc || (rc = found(s, st, e)) <= 0)
            return rc;
    }
    return al_err_set(e, AL_E_CONFLICT, "node %s: no free id for GPU index %lld", node,
                      (long long)idx);
}

/* GPU `id`'s MIG state as reported in `g` (its member "observed"; absent: NULL) at `now`. A
 * GPU that had none (`had`) and has none is left alone: the fleet file's GPUs never have one. */
static int gpu_observed_put(struct al_store *s, const char *id, json_t *g, bool had, int64_t now,
                            struct al_err *e)
{
    json_t *obs = json_object_get(g, "observed");
    char *text = NULL;
    struct al_db_stmt *st;
    int rc;
    if (json_is_null(obs))
        obs = NULL;
    if (!obs && !had)
        return 0;
    if (obs && !(text = json_dumps(obs, JSON_COMPACT)))
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    rc = al_db_prep(s, &st, e, "UPDATE gpus SET observed = ?2, observed_at = ?3 WHERE id = ?1",
                    "ttn", id, text, obs ? now : (int64_t)-1);
    free(text);
    if (rc || (rc = al_db_run(s, st, e, "gpu observed")) < 0)
        return rc;
    return 0;
}

/* One reported GPU `g` of `node`: its row updated (found by uuid) or added. */
static int gpu_put(struct al_store *s, const char *node, json_t *g, int64_t now, struct al_err *e)
{
    struct gpu_have h = {0};
    struct al_db_stmt *st;
    const char *uuid = al_store_jstr(g, "uuid"), *model = al_store_jstr(g, "model");
    const char *pool = al_store_jstr(g, "pool");
    int64_t idx = json_integer_value(json_object_get(g, "index"));
    bool healthy = json_is_true(json_object_get(g, "healthy"));
    int rc = gpu_by_uuid(s, uuid, &h, e);
    if (rc == AL_E_NOTFOUND) {
        char id[96];
        if ((rc = gpu_new_id(s, node, idx, id, sizeof id, e)) != 0 ||
            (rc = al_db_prep(s, &st, e,
                             "INSERT INTO gpus(id, node, idx, uuid, model, reported_model,"
                             " pool, healthy, present) VALUES(?1,?2,?3,?4,?5,?5,?6,?7,1)",
                             "ttittti", id, node, idx, uuid, model, pool, (int64_t)healthy)))
            return rc;
        if ((rc = al_db_run(s, st, e, "add gpu")) < 0)
            return rc;
        return gpu_observed_put(s, id, g, false, now, e);
    }
    if (rc)
        return rc;
    if (strcmp(h.node, node) != 0)
        return al_err_set(e, AL_E_CONFLICT, "GPU %s is registered on node %s", uuid, h.node);
    /* sold capacity keeps the model it was sold as until it ends */
    const char *keep = model;
    if (strcmp(h.model, model) != 0 && (rc = gpu_held(s, h.id, now, e)) != 0) {
        if (rc < 0)
            return rc;
        keep = h.model;
    }
    if (h.present && h.idx == idx && h.healthy == healthy && strcmp(h.model, keep) == 0 &&
        strcmp(h.reported, model) == 0 && strcmp(h.pool, pool) == 0)
        return gpu_observed_put(s, h.id, g, h.observed, now, e); /* the steady heartbeat */
    rc = al_db_prep(s, &st, e,
                    "UPDATE gpus SET idx = ?2, model = ?3, reported_model = ?4, pool = ?5,"
                    " healthy = ?6, present = 1 WHERE id = ?1",
                    "tittti", h.id, idx, keep, model, pool, (int64_t)healthy);
    if (rc || (rc = al_db_run(s, st, e, "update gpu")) < 0)
        return rc;
    return gpu_observed_put(s, h.id, g, h.observed, now, e);
}

static int node_gpus_put(struct al_store *s, const char *node, json_t *gpus, int64_t now,
                         struct al_err *e)
{
    size_t i;
    json_t *g;
    struct al_db_stmt *st;
    char *uuids = NULL;
    json_t *list = json_array();
    int rc = 0;
    if (!list)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    json_array_foreach(gpus, i, g)
    {
        if (json_array_append(list, json_object_get(g, "uuid")) != 0) {
            rc = al_err_set(e, AL_E_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!(uuids = json_dumps(list, JSON_COMPACT))) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    /* not reported: gone unless capacity on them was sold, then kept, not present (?2, the
     * reported uuids, a JSON array: each dialect's way of reading one) */
    const char *const gone[] = {
        AL_DB_SQL2(
            s,
            "DELETE FROM gpus WHERE node = ?1 AND uuid NOT IN (SELECT value FROM json_each(?2))"
            " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.gpu_id = gpus.id)",
            "DELETE FROM gpus WHERE node = ?1"
            " AND uuid <> ALL (SELECT json_array_elements_text(?2::json))"
            " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.gpu_id = gpus.id)"),
        AL_DB_SQL2(s,
                   "UPDATE gpus SET present = 0 WHERE node = ?1 AND present = 1"
                   " AND uuid NOT IN (SELECT value FROM json_each(?2))",
                   "UPDATE gpus SET present = 0 WHERE node = ?1 AND present = 1"
                   " AND uuid <> ALL (SELECT json_array_elements_text(?2::json))"),
    };
    for (size_t k = 0; k < 2; k++)
        if ((rc = al_db_prep(s, &st, e, gone[k], "tt", node, uuids)) != 0 ||
            (rc = al_db_run(s, st, e, "gpus not reported")) < 0)
            goto out;
    /* indexes may move between GPUs: none is unique, so the order does not matter */
    rc = 0;
    json_array_foreach(gpus, i, g)
    {
        if ((rc = gpu_put(s, node, g, now, e)) != 0)
            goto out;
    }
out:
    free(uuids);
    json_decref(list);
    return rc;
}

int al_store_node_upsert(struct al_store *s, json_t *node, int64_t now, struct al_err *reterr)
{
    struct al_db_stmt *st;
    json_t *labels = json_object_get(node, "labels");
    char *ltext = labels ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    int rc;
    if (!ltext)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rc = al_db_prep(
        s, &st, reterr,
        "INSERT INTO nodes(name, zone, labels, last_seen, created_at, online)"
        " VALUES(?1,?2,?3,?4,?4,1)"
        " ON CONFLICT(name) DO UPDATE SET zone = excluded.zone, labels = excluded.labels,"
        " last_seen = excluded.last_seen, online = 1",
        "ttti", al_store_jstr(node, "name"), al_store_jstr(node, "zone"), ltext, now);
    free(ltext);
    if (rc || (rc = al_db_run(s, st, reterr, "upsert node")) < 0)
        return rc;
    return node_gpus_put(s, al_store_jstr(node, "name"), json_object_get(node, "gpus"), now,
                         reterr);
}

int al_store_node_set_online(struct al_store *s, const char *name, bool online,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "UPDATE nodes SET online = ?2 WHERE name = ?1", "ti", name,
                        (int64_t)online);
    if (rc || (rc = al_db_run(s, st, reterr, "node online")) < 0)
        return rc;
    return rc == 0 ? al_err_set(reterr, AL_E_NOTFOUND, "no node %s", name) : 0;
}

/* The first column of every row of `st` (bound already) as a new array of strings. */
static int strings(struct al_store *s, struct al_db_stmt *st, json_t **ret, struct al_err *e)
{
    json_t *arr = json_array();
    int r = AL_DB_DONE, rc = 0;
    while (arr && (r = al_db_step(s, st)) == AL_DB_ROW)
        if (json_array_append_new(arr, json_string(al_db_text(st, 0))) != 0)
            break;
    if (!arr || r == AL_DB_ROW)
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
    else if (r != AL_DB_DONE)
        rc = al_db_fail(s, e, "list");
    al_db_done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

static json_t *stale_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I}", "_key", al_db_text(st, 0), "name", al_db_text(st, 0),
                     "last_seen", (json_int_t)al_db_int64(st, 1));
}

int al_store_node_stale(struct al_store *s, int64_t before, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    /* at most 100,000 at a time: more than a fleet has; the next tick would take the rest */
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT name, last_seen FROM nodes WHERE online = 1 AND last_seen < ?1"
                        " ORDER BY name LIMIT 100001",
                        "i", before);
    return rc ? rc : al_db_collect(s, st, 100000, stale_row, ret, NULL, reterr);
}

int al_store_gpu_holders(struct al_store *s, const char *node, const char *gpu_id, int64_t now,
                         json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    /* two statements, so that each uses its index (holds by GPU, GPUs by node) */
    int rc = gpu_id ? al_db_prep(s, &st, reterr,
                                 "SELECT DISTINCT h.owner FROM holds h WHERE h.gpu_id = ?1"
                                 " AND h.t1 > ?2 AND (h.expires_at = 0 OR h.expires_at > ?2)"
                                 " ORDER BY h.owner",
                                 "ti", gpu_id, now)
                    : al_db_prep(s, &st, reterr,
                                 "SELECT DISTINCT h.owner FROM gpus g"
                                 " JOIN holds h ON h.gpu_id = g.id WHERE g.node = ?1"
                                 " AND h.t1 > ?2 AND (h.expires_at = 0 OR h.expires_at > ?2)"
                                 " ORDER BY h.owner",
                                 "ti", node, now);
    return rc ? rc : strings(s, st, ret, reterr);
}

/* JSON text column i as a value (its own reference): JSON null for SQL NULL. */
static json_t *json_col(struct al_db_stmt *st, int i)
{
    const char *t = al_db_text(st, i);
    json_t *v = t ? json_loads(t, 0, NULL) : NULL;
    return v ? v : json_null(); /* the store wrote it: only memory can fail the parse */
}

/* A GPU's MIG state (migration 7) into row `g`: observed, observed_at (unix time), desired,
 * each null when none. Returns g, or NULL (freed) when out of memory. */
static json_t *gpu_mig_state(json_t *g, struct al_db_stmt *st)
{
    bool seen = !al_db_null(st, 14);
    if (g && (json_object_set_new(g, "observed", json_col(st, 13)) != 0 ||
              json_object_set_new(g, "observed_at",
                                  seen ? json_integer(al_db_int64(st, 14)) : json_null()) != 0 ||
              json_object_set_new(g, "desired", json_col(st, 15)) != 0)) {
        json_decref(g);
        return NULL;
    }
    return g;
}

static json_t *gpu_row(struct al_db_stmt *st)
{
    json_t *labels = json_loads(al_db_text(st, 12) ? al_db_text(st, 12) : "{}", 0, NULL);
    json_t *g = json_pack(
        "{s:s?,s:s?,s:I,s:s?,s:s?,s:s?,s:s?,s:b,s:b,s:b,s:o,s:b,s:o}", "id", al_db_text(st, 0),
        "node", al_db_text(st, 1), "index", (json_int_t)al_db_int64(st, 2), "uuid",
        al_db_text(st, 3), "model", al_db_text(st, 4), "reported_model", al_db_text(st, 5), "pool",
        al_db_text(st, 6), "healthy", al_db_int(st, 7), "drained", al_db_int(st, 8), "present",
        al_db_int(st, 9), "zone", al_store_str_or_null(al_db_text(st, 10)), "online",
        al_db_int(st, 11), "labels", labels ? labels : json_object());
    return gpu_mig_state(g, st);
}

#define GPU_COLS                                                                                   \
    "SELECT g.id, g.node, g.idx, g.uuid, g.model, g.reported_model, g.pool, g.healthy,"            \
    " g.drained, g.present, n.zone, n.online, n.labels, g.observed, g.observed_at, g.desired"      \
    " FROM gpus g JOIN nodes n ON n.name = g.node"

/* The GPUs of `node`, or of every node (NULL), or, with `managed`, only those whose agent reports
 * MIG state (observed set: the partial index gpus_managed, so that an unmanaged fleet costs
 * nothing). */
static int gpus_query(struct al_store *s, const char *node, bool managed, json_t **ret,
                      struct al_err *e)
{
    struct al_db_stmt *st;
    /* separate statements, so that each uses its index */
    int rc = node ? al_db_prep(s, &st, e, GPU_COLS " WHERE g.node = ?1 ORDER BY g.idx", "t", node)
             : managed
                 ? al_db_prep(s, &st, e,
                              GPU_COLS " WHERE g.observed IS NOT NULL ORDER BY g.node, g.idx", "")
                 : al_db_prep(s, &st, e, GPU_COLS " ORDER BY g.node, g.idx", "");
    if (rc)
        return rc;
    json_t *arr = json_array();
    int r;
    while (arr && (r = al_db_step(s, st)) == AL_DB_ROW) {
        json_t *g = gpu_row(st);
        if (!g || json_array_append_new(arr, g))
            break;
        if (node) {
            json_object_del(g, "node");
            json_object_del(g, "zone");
            json_object_del(g, "online");
            json_object_del(g, "labels");
        }
    }
    if (!arr || r == AL_DB_ROW)
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
    else if (r != AL_DB_DONE)
        rc = al_db_fail(s, e, "gpus");
    al_db_done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

int al_store_gpu_all(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    return gpus_query(s, NULL, false, ret, reterr);
}

int al_store_gpu_managed(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    return gpus_query(s, NULL, true, ret, reterr);
}

static json_t *node_row(struct al_db_stmt *st)
{
    json_t *labels = json_loads(al_db_text(st, 2) ? al_db_text(st, 2) : "{}", 0, NULL);
    return json_pack("{s:s?,s:s?,s:o,s:o,s:I,s:b}", "_key", al_db_text(st, 0), "name",
                     al_db_text(st, 0), "zone", al_store_str_or_null(al_db_text(st, 1)), "labels",
                     labels ? labels : json_object(), "last_seen", (json_int_t)al_db_int64(st, 3),
                     "online", al_db_int(st, 4));
}

static int add_gpus(struct al_store *s, json_t *nodes, struct al_err *e)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        json_t *g;
        int rc = gpus_query(s, al_store_jstr(n, "name"), false, &g, e);
        if (rc)
            return rc;
        json_object_set_new(n, "gpus", g);
    }
    return 0;
}

int al_store_node_get(struct al_store *s, const char *name, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    json_t *arr = NULL;
    int rc =
        al_db_prep(s, &st, reterr,
                   "SELECT name, zone, labels, last_seen, online FROM nodes WHERE name = ? LIMIT 2",
                   "t", name);
    if (rc || (rc = al_db_collect(s, st, 1, node_row, &arr, NULL, reterr)) != 0)
        return rc;
    if (json_array_size(arr) == 0)
        rc = al_err_set(reterr, AL_E_NOTFOUND, "no node %s", name);
    else if ((rc = add_gpus(s, arr, reterr)) == 0)
        *ret = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return rc;
}

int al_store_node_list(struct al_store *s, struct al_store_page pg, json_t **ret, char **next,
                       struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(
        s, &st, reterr,
        "SELECT name, zone, labels, last_seen, online FROM nodes WHERE name > coalesce(?1, '')"
        " ORDER BY name LIMIT ?2",
        "ti", pg.cursor, (int64_t)limit + 1);
    if (rc || (rc = al_db_collect(s, st, limit, node_row, ret, next, reterr)) != 0)
        return rc;
    if ((rc = add_gpus(s, *ret, reterr)) != 0) {
        json_decref(*ret);
        *ret = NULL;
        if (next) {
            free(*next);
            *next = NULL;
        }
    }
    return rc;
}

int al_store_gpu_desired_set(struct al_store *s, const char *gpu_id, json_t *desired,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    char *text = NULL;
    int rc;
    if (desired && !json_is_null(desired) && !(text = json_dumps(desired, JSON_COMPACT)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rc = al_db_prep(s, &st, reterr, "UPDATE gpus SET desired = ?2 WHERE id = ?1", "tt", gpu_id,
                    text);
    free(text);
    if (rc || (rc = al_db_run(s, st, reterr, "gpu desired")) < 0)
        return rc;
    return rc == 0 ? al_err_set(reterr, AL_E_NOTFOUND, "no GPU %s", gpu_id) : 0;
}
