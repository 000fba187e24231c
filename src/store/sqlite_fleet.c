/* sqlite_fleet.c — the store's nodes, their GPUs, and the prices per GPU model (store.h). */
#include "store/sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- nodes and GPUs ---- */

static int node_gpus_put(struct al_store *s, const char *node, json_t *gpus, struct al_err *e)
{
    size_t i;
    json_t *g;
    int rc = 0;
    json_t *idxs = json_array();
    char *idx_text = NULL;
    if (!idxs)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    json_array_foreach(gpus, i, g)
    {
        sqlite3_stmt *st;
        json_int_t idx = json_integer_value(json_object_get(g, "index"));
        json_array_append_new(idxs, json_integer(idx));
        rc = al_sqlite_prep(
            s, &st, e,
            "INSERT INTO gpus(id, node, idx, uuid, model, pool, healthy) VALUES(?,?,?,?,?,?,?)"
            " ON CONFLICT(id) DO UPDATE SET uuid = excluded.uuid, model = excluded.model,"
            " pool = excluded.pool, healthy = excluded.healthy",
            "ttittti", al_sqlite_jstr(g, "id"), node, (int64_t)idx, al_sqlite_jstr(g, "uuid"),
            al_sqlite_jstr(g, "model"), al_sqlite_jstr(g, "pool"),
            (int64_t)json_is_true(json_object_get(g, "healthy")));
        if (rc || (rc = al_sqlite_run(s, st, e, "upsert gpu")) < 0)
            goto out;
    }
    idx_text = json_dumps(idxs, JSON_COMPACT);
    if (!idx_text) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    /* GPUs that disappeared: gone unless capacity on them was sold, then kept unhealthy */
    static const char *const gone[] = {
        "DELETE FROM gpus WHERE node = ?1 AND idx NOT IN (SELECT value FROM json_each(?2))"
        " AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.gpu_id = gpus.id)",
        "UPDATE gpus SET healthy = 0 WHERE node = ?1"
        " AND idx NOT IN (SELECT value FROM json_each(?2))",
    };
    for (size_t k = 0; k < 2; k++) {
        sqlite3_stmt *st;
        if ((rc = al_sqlite_prep(s, &st, e, gone[k], "tt", node, idx_text)) != 0 ||
            (rc = al_sqlite_run(s, st, e, "remove gpus")) < 0)
            goto out;
    }
    rc = 0;
out:
    free(idx_text);
    json_decref(idxs);
    return rc;
}

int al_store_node_upsert(struct al_store *s, json_t *node, int64_t now, struct al_err *reterr)
{
    sqlite3_stmt *st;
    json_t *labels = json_object_get(node, "labels");
    char *ltext = labels ? json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
    int rc;
    if (!ltext)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rc = al_sqlite_prep(
        s, &st, reterr,
        "INSERT INTO nodes(name, zone, labels, last_seen, created_at) VALUES(?1,?2,?3,?4,?4)"
        " ON CONFLICT(name) DO UPDATE SET zone = excluded.zone, labels = excluded.labels,"
        " last_seen = excluded.last_seen",
        "ttti", al_sqlite_jstr(node, "name"), al_sqlite_jstr(node, "zone"), ltext, now);
    free(ltext);
    if (rc || (rc = al_sqlite_run(s, st, reterr, "upsert node")) < 0)
        return rc;
    return node_gpus_put(s, al_sqlite_jstr(node, "name"), json_object_get(node, "gpus"), reterr);
}

static json_t *gpu_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:s?,s:s?,s:s?,s:b,s:b,s:o}", "id", al_sqlite_text(st, 0),
                     "node", al_sqlite_text(st, 1), "index",
                     (json_int_t)sqlite3_column_int64(st, 2), "uuid", al_sqlite_text(st, 3),
                     "model", al_sqlite_text(st, 4), "pool", al_sqlite_text(st, 5), "healthy",
                     sqlite3_column_int(st, 6), "drained", sqlite3_column_int(st, 7), "zone",
                     al_sqlite_str_or_null(al_sqlite_text(st, 8)));
}

#define GPU_COLS                                                                                   \
    "SELECT g.id, g.node, g.idx, g.uuid, g.model, g.pool, g.healthy, g.drained, n.zone"            \
    " FROM gpus g JOIN nodes n ON n.name = g.node"

static int gpus_query(struct al_store *s, const char *node, json_t **ret, struct al_err *e)
{
    sqlite3_stmt *st;
    /* two statements, so that the one-node query uses the (node, idx) index */
    int rc =
        node ? al_sqlite_prep(s, &st, e, GPU_COLS " WHERE g.node = ?1 ORDER BY g.idx", "t", node)
             : al_sqlite_prep(s, &st, e, GPU_COLS " ORDER BY g.node, g.idx", "");
    if (rc)
        return rc;
    json_t *arr = json_array();
    int r;
    while (arr && (r = al_sqlite_step(s, st)) == SQLITE_ROW) {
        json_t *g = gpu_row(st);
        if (!g || json_array_append_new(arr, g))
            break;
        if (node) {
            json_object_del(g, "node");
            json_object_del(g, "zone");
        }
    }
    if (!arr || r == SQLITE_ROW)
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
    else if (r != SQLITE_DONE)
        rc = al_sqlite_fail(s, e, "gpus");
    al_sqlite_done(s, st);
    if (rc)
        json_decref(arr);
    else
        *ret = arr;
    return rc;
}

int al_store_gpu_all(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    return gpus_query(s, NULL, ret, reterr);
}

static json_t *node_row(sqlite3_stmt *st)
{
    json_t *labels = json_loads(al_sqlite_text(st, 2) ? al_sqlite_text(st, 2) : "{}", 0, NULL);
    return json_pack("{s:s?,s:s?,s:o,s:o,s:I}", "_key", al_sqlite_text(st, 0), "name",
                     al_sqlite_text(st, 0), "zone", al_sqlite_str_or_null(al_sqlite_text(st, 1)),
                     "labels", labels ? labels : json_object(), "last_seen",
                     (json_int_t)sqlite3_column_int64(st, 3));
}

static int add_gpus(struct al_store *s, json_t *nodes, struct al_err *e)
{
    size_t i;
    json_t *n;
    json_array_foreach(nodes, i, n)
    {
        json_t *g;
        int rc = gpus_query(s, al_sqlite_jstr(n, "name"), &g, e);
        if (rc)
            return rc;
        json_object_set_new(n, "gpus", g);
    }
    return 0;
}

int al_store_node_get(struct al_store *s, const char *name, json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    json_t *arr = NULL;
    int rc = al_sqlite_prep(
        s, &st, reterr, "SELECT name, zone, labels, last_seen FROM nodes WHERE name = ? LIMIT 2",
        "t", name);
    if (rc || (rc = al_sqlite_collect(s, st, 1, node_row, &arr, NULL, reterr)) != 0)
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
    sqlite3_stmt *st;
    int limit = al_sqlite_page_limit(pg);
    int rc = al_sqlite_prep(
        s, &st, reterr,
        "SELECT name, zone, labels, last_seen FROM nodes WHERE name > coalesce(?1, '')"
        " ORDER BY name LIMIT ?2",
        "ti", pg.cursor, (int64_t)limit + 1);
    if (rc || (rc = al_sqlite_collect(s, st, limit, node_row, ret, next, reterr)) != 0)
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

/* ---- prices ---- */

int al_store_price_put(struct al_store *s, const struct al_store_price *p, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc =
        al_sqlite_prep(s, &st, reterr, "INSERT OR REPLACE INTO prices VALUES(?,?,?,?,?)", "tiiii",
                       p->model, p->gpu_hour, p->mig_slice_hour, p->pool_gpu_hour, p->updated_at);
    if (rc)
        return rc;
    rc = al_sqlite_run(s, st, reterr, "put price");
    return rc < 0 ? rc : 0;
}

int al_store_price_get(struct al_store *s, const char *model, struct al_store_price *ret,
                       struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = al_sqlite_prep(s, &st, reterr, "SELECT * FROM prices WHERE model = ?", "t", model);
    if (rc)
        return rc;
    int r = al_sqlite_step(s, st);
    if (r == SQLITE_ROW) {
        memset(ret, 0, sizeof *ret);
        snprintf(ret->model, sizeof ret->model, "%s", al_sqlite_text(st, 0));
        ret->gpu_hour = sqlite3_column_int64(st, 1);
        ret->mig_slice_hour = sqlite3_column_int64(st, 2);
        ret->pool_gpu_hour = sqlite3_column_int64(st, 3);
        ret->updated_at = sqlite3_column_int64(st, 4);
    } else {
        rc = r == SQLITE_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "no price for %s", model)
                              : al_sqlite_fail(s, reterr, "get price");
    }
    al_sqlite_done(s, st);
    return rc;
}

static json_t *price_row(sqlite3_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I}", "_key", al_sqlite_text(st, 0), "model",
                     al_sqlite_text(st, 0), "gpu_hour_micros",
                     (json_int_t)sqlite3_column_int64(st, 1), "mig_slice_hour_micros",
                     (json_int_t)sqlite3_column_int64(st, 2), "pool_gpu_hour_micros",
                     (json_int_t)sqlite3_column_int64(st, 3), "updated_at",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

int al_store_price_list(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    sqlite3_stmt *st;
    int rc = al_sqlite_prep(s, &st, reterr, "SELECT * FROM prices ORDER BY model LIMIT 100001", "");
    return rc ? rc : al_sqlite_collect(s, st, 100000, price_row, ret, NULL, reterr);
}
