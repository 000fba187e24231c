/* store_metrics.c — what GET /metrics reads from the database: small aggregates, each one
 * query over a table or an index that stays small or is walked once (reservations by state,
 * the ledger's balances summed by account, each node's last heartbeat, the MIG instances the
 * agents reported with whether a hold covers them now). */
#include "store/store_internal.h"

#include <stdlib.h>

/* The rows of `st` (bound already) into `into`: column 0 the key, column 1 an integer, as
 * {key: n} (`as_array` false) or appended [{name: key, last_seen: n, online: bool}] (column 2
 * online). Gives `st` back on every path. */
static int rows(struct al_store *s, struct al_db_stmt *st, json_t *into, bool as_array,
                struct al_err *e)
{
    int r, rc = 0;
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        const char *key = al_db_text(st, 0);
        json_int_t v = (json_int_t)al_db_int64(st, 1);
        int bad = as_array ? json_array_append_new(into, json_pack("{s:s,s:I,s:b}", "name",
                                                                   key ? key : "", "last_seen", v,
                                                                   "online", al_db_int(st, 2) != 0))
                           : json_object_set_new(into, key ? key : "", json_integer(v));
        if (bad) {
            rc = al_err_set(e, AL_E_NOMEM, "out of memory");
            break;
        }
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "metrics");
    al_db_done(s, st);
    return rc;
}

/* The MIG instances the agents reported (gpus.observed's instances), counted by model, profile
 * and whether a live hold covers their units at `now`, into `into`: [{model, profile, state,
 * n}]. */
static int mig_rows(struct al_store *s, int64_t now, json_t *into, struct al_err *e)
{
    struct al_db_stmt *st;
    /* the instances are read out of the stored JSON, by each dialect's JSON functions (an
     * "instances" that is not an array has none in PostgreSQL, where jsonb refuses to walk it) */
    int r,
        rc = al_db_prep(
            s, &st, e,
            AL_DB_SQL2(
                s,
                "SELECT g.model, json_extract(i.value, '$.profile') AS p,"
                " CASE WHEN EXISTS(SELECT 1 FROM holds h WHERE h.gpu_id = g.id AND h.t0 <= ?1"
                " AND h.t1 > ?1 AND (h.expires_at = 0 OR h.expires_at > ?1) AND (h.mask &"
                " (((1 << json_extract(i.value, '$.size')) - 1)"
                " << json_extract(i.value, '$.start'))) != 0) THEN 'held' ELSE 'free' END AS state,"
                " count(*) FROM gpus g, json_each(g.observed, '$.instances') i"
                " WHERE g.observed IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
                "SELECT g.model, i.v ->> 'profile' AS p,"
                " CASE WHEN EXISTS(SELECT 1 FROM holds h WHERE h.gpu_id = g.id AND h.t0 <= ?1"
                " AND h.t1 > ?1 AND (h.expires_at = 0 OR h.expires_at > ?1) AND (h.mask &"
                " (((1::bigint << (i.v ->> 'size')::int) - 1)"
                " << (i.v ->> 'start')::int)) <> 0) THEN 'held' ELSE 'free' END AS state,"
                " count(*) FROM gpus g, jsonb_array_elements(CASE WHEN"
                " jsonb_typeof(g.observed::jsonb -> 'instances') = 'array'"
                " THEN g.observed::jsonb -> 'instances' ELSE '[]' END) AS i(v)"
                " WHERE g.observed IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"),
            "i", now);
    if (rc)
        return rc;
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        const char *model = al_db_text(st, 0), *profile = al_db_text(st, 1);
        if (json_array_append_new(into, json_pack("{s:s,s:s,s:s,s:I}", "model", model ? model : "",
                                                  "profile", profile ? profile : "unknown", "state",
                                                  al_db_text(st, 2), "n",
                                                  (json_int_t)al_db_int64(st, 3)))) {
            rc = al_err_set(e, AL_E_NOMEM, "out of memory");
            break;
        }
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "metrics");
    al_db_done(s, st);
    return rc;
}

int al_store_metrics(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr)
{
    json_t *o = json_pack("{s:{},s:{},s:[],s:[]}", "reservations", "balances", "nodes", "mig");
    struct al_db_stmt *st;
    int rc;
    *ret = NULL;
    if (!o)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    /* the index reservations_due leads with state: counted from the index alone */
    if ((rc = al_db_prep(s, &st, reterr, "SELECT state, count(*) FROM reservations GROUP BY state",
                         "")) != 0 ||
        (rc = rows(s, st, json_object_get(o, "reservations"), false, reterr)) != 0)
        goto out;
    /* a few rows per org: the cached balances, not the transfers */
    if ((rc = al_db_prep(s, &st, reterr,
                         "SELECT account, sum(balance) FROM balances GROUP BY account", "")) != 0 ||
        (rc = rows(s, st, json_object_get(o, "balances"), false, reterr)) != 0)
        goto out;
    if ((rc = al_db_prep(s, &st, reterr, "SELECT name, last_seen, online FROM nodes ORDER BY name",
                         "")) != 0 ||
        (rc = rows(s, st, json_object_get(o, "nodes"), true, reterr)) != 0 ||
        (rc = mig_rows(s, now, json_object_get(o, "mig"), reterr)) != 0)
        goto out;
    *ret = o;
    o = NULL;
out:
    json_decref(o);
    return rc;
}
