/* store_replica.c — what several servers on one PostgreSQL need of the store (store.h,
 * "replicas"; docs/postgres.md, "Several replicas"): the clock's advisory lock, the GPU row
 * locks of a sale, one GPU's live holds re-read under them, a hold written in its own
 * savepoint, the change feed (migration 12's `changes`) and the webhook deliveries claimed
 * with a lease. On SQLite the server is the only writer: each call is then a no-op or the
 * statement the single-process code runs already, so that SQLite behaves as before. */
#include "store/store_internal.h"
#include "store/store_webhook.h"
#include "store/store_replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock keys of allot: "allot" in ASCII, then the lock's number. */
#define REPLICA_KEY_CLOCK  INT64_C(0x616c6c6f74000001)
#define REPLICA_KEY_EVENTS INT64_C(0x616c6c6f74000002)

static bool on_pg(const struct al_store *s)
{
    return al_db_kind(s) == AL_DB_PG;
}

bool al_store_replicated(const struct al_store *s)
{
    return on_pg(s);
}

int al_store_clock_lock(struct al_store *s, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!on_pg(s))
        return 1; /* the <db>.lock keeps every other server off the file */
    int rc = al_db_prep(s, &st, reterr, "SELECT pg_try_advisory_xact_lock(?1)::int", "i",
                        REPLICA_KEY_CLOCK);
    if (rc == 0 && (rc = al_db_row(s, st, reterr, "clock lock")) == 0) {
        rc = al_db_int(st, 0) ? 1 : 0;
        al_db_done(s, st);
    }
    return rc;
}

/* The ids of `ids` (n of them; NULLs skipped) as a JSON array's text, into *text (the
 * caller's, free()): a list of any length as one parameter. 0 or AL_E_NOMEM. */
static int ids_text(const char *const *ids, size_t n, char **text, struct al_err *reterr)
{
    json_t *arr = json_array();
    int rc = arr ? 0 : AL_E_NOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ids[i] && json_array_append_new(arr, json_string(ids[i])) != 0)
            rc = AL_E_NOMEM;
    *text = rc == 0 ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return *text ? 0 : al_err_set(reterr, AL_E_NOMEM, "out of memory");
}

int al_store_gpu_lock(struct al_store *s, const char *const *ids, size_t n, int64_t now,
                      struct al_err *reterr)
{
    struct al_db_stmt *st;
    char *text = NULL;
    int rc, r;
    if (!on_pg(s) || n == 0)
        return 0;
    if ((rc = ids_text(ids, n, &text, reterr)) != 0)
        return rc;
    /* LockRows sits above the sort: the rows are locked in id order, the same in every
     * replica, so that two sales over the same GPUs wait for each other, never deadlock */
    if ((rc = al_db_prep(s, &st, reterr,
                         "SELECT 1 FROM gpus WHERE id IN"
                         " (SELECT json_array_elements_text(?1::json)) ORDER BY id FOR UPDATE",
                         "t", text)))
        goto out;
    while ((r = al_db_step(s, st)) == AL_DB_ROW)
        ;
    if (r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "lock GPUs");
    al_db_done(s, st);
    /* an expired quote's holds: its confirmation is refused (expired) before any hold moves,
     * and the clock's pass finds them gone */
    if (rc == 0 &&
        (rc = al_db_prep(s, &st, reterr,
                         "DELETE FROM holds WHERE gpu_id IN"
                         " (SELECT json_array_elements_text(?1::json))"
                         " AND expires_at > 0 AND expires_at <= ?2",
                         "ti", text, now)) == 0 &&
        (rc = al_db_run(s, st, reterr, "drop expired holds")) > 0)
        rc = 0;
out:
    free(text);
    return rc;
}

/* A row of gpu_id, owner, kind, profile, start_unit, mask, t0, t1, expires_at. */
static void hold_row(struct al_db_stmt *st, struct al_store_hold *h)
{
    memset(h, 0, sizeof *h);
    al_store_copy(h->gpu, sizeof h->gpu, al_db_text(st, 0));
    al_store_copy(h->owner, sizeof h->owner, al_db_text(st, 1));
    al_store_copy(h->kind, sizeof h->kind, al_db_text(st, 2));
    al_store_copy(h->profile, sizeof h->profile, al_db_text(st, 3));
    h->start_unit = al_db_int(st, 4);
    h->mask = (uint64_t)al_db_int64(st, 5);
    h->t0 = al_db_int64(st, 6);
    h->t1 = al_db_int64(st, 7);
    h->expires_at = al_db_int64(st, 8);
}

/* The hold rows of prepared statement `st` (rc: al_db_prep's result) into *ret and *n. */
static int hold_rows(struct al_store *s, int rc, struct al_db_stmt *st, struct al_store_hold **ret,
                     size_t *n, struct al_err *reterr)
{
    struct al_store_hold *arr = NULL;
    size_t cap = 0, k = 0;
    int r;
    *ret = NULL;
    *n = 0;
    if (rc)
        return rc;
    while ((r = al_db_step(s, st)) == AL_DB_ROW) {
        if ((rc = al_db_grow((void **)&arr, &cap, k, sizeof *arr, reterr)) != 0)
            break;
        hold_row(st, &arr[k++]);
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "live holds");
    al_db_done(s, st);
    if (rc) {
        free(arr);
        return rc;
    }
    *ret = arr;
    *n = k;
    return 0;
}

/* The columns hold_row reads, and the live holds' condition on ?2 (t0) and ?3 (now). */
#define HOLD_LIVE_SELECT                                                                           \
    "SELECT gpu_id, owner, kind, profile, start_unit, mask, t0, t1, expires_at FROM holds"
#define HOLD_LIVE_WHERE " AND t1 > ?2 AND (expires_at = 0 OR expires_at > ?3)"

int al_store_hold_gpu_live(struct al_store *s, const char *gpu, int64_t t0, int64_t now,
                           struct al_store_hold **ret, size_t *n, struct al_err *reterr)
{
    struct al_db_stmt *st = NULL;
    int rc = al_db_prep(s, &st, reterr,
                        HOLD_LIVE_SELECT " WHERE gpu_id = ?1" HOLD_LIVE_WHERE " ORDER BY t0, id",
                        "tii", gpu, t0, now);
    return hold_rows(s, rc, st, ret, n, reterr);
}

int al_store_hold_gpus_live(struct al_store *s, const char *const *ids, size_t nids, int64_t t0,
                            int64_t now, struct al_store_hold **ret, struct al_err *reterr)
{
    struct al_db_stmt *st = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc;
    *ret = NULL;
    if (nids == 0)
        return 0;
    if ((rc = ids_text(ids, nids, &text, reterr)) != 0)
        return rc;
    rc = al_db_prep(
        s, &st, reterr,
        AL_DB_SQL2(s,
                   HOLD_LIVE_SELECT
                   " WHERE gpu_id IN (SELECT value FROM json_each(?1))" HOLD_LIVE_WHERE
                   " ORDER BY gpu_id, t0, id",
                   HOLD_LIVE_SELECT
                   " WHERE gpu_id IN (SELECT json_array_elements_text(?1::json))" HOLD_LIVE_WHERE
                   " ORDER BY gpu_id, t0, id"),
        "tii", text, t0, now);
    rc = hold_rows(s, rc, st, ret, &n, reterr);
    free(text);
    if (rc == 0 && n > INT32_MAX) {
        free(*ret);
        *ret = NULL;
        rc = al_err_set(reterr, AL_E_INTERNAL, "too many holds");
    }
    return rc ? rc : (int)n;
}

int al_store_hold_add_unit(struct al_store *s, const struct al_store_hold *h, struct al_err *reterr)
{
    if (!on_pg(s))
        return al_store_hold_add(s, h, reterr);
    /* a statement PostgreSQL refuses aborts the transaction up to the last savepoint: this
     * one, so that the caller can still read what is in the way for its answer */
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    rc = al_store_hold_add(s, h, reterr);
    return al_db_unit_end(s, rc, reterr);
}

/* ---- event positions (PostgreSQL only) ---- */

int al_store_events_seal(struct al_store *s, struct al_err *reterr)
{
    char sql[400];
    if (!on_pg(s))
        return 0; /* one writer commits in seq order: the position is the seq */
    /* One round trip (the commit holds the writers' lock): the lock, then the positions, two
     * statements of one query string. Each statement takes its own snapshot (READ COMMITTED),
     * so the UPDATE sees every commit that released the lock before it was granted. The lock
     * holds from here to this transaction's COMMIT, so that positions are handed out in commit
     * order: a reader paging by position never passes one that a later commit takes. A row
     * without a position is this transaction's: another's uncommitted rows are not visible,
     * and every committed one was given its position before its commit. (al_store_commit calls
     * this only when the transaction appended events; if their units were all undone the
     * UPDATE finds nothing, the lock taken for nothing.) */
    snprintf(sql, sizeof sql,
             "SELECT pg_advisory_xact_lock(%lld);"
             " UPDATE events e SET pos = o.p FROM (SELECT seq,"
             " (SELECT coalesce(max(pos), 0) FROM events)"
             " + row_number() OVER (ORDER BY seq) AS p"
             " FROM events WHERE pos IS NULL) o WHERE e.seq = o.seq",
             (long long)REPLICA_KEY_EVENTS);
    return al_db_exec(s, sql, reterr);
}

/* ---- the change feed (PostgreSQL only) ---- */

int al_store_changes_horizon(struct al_store *s, int64_t *h, struct al_err *reterr)
{
    struct al_db_stmt *st;
    *h = 0;
    if (!on_pg(s))
        return 0;
    /* every transaction below the snapshot's xmin has ended, committed or not: a change row
     * of one of them is either visible from now on or never will be */
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", "");
    if (rc == 0 && (rc = al_db_row(s, st, reterr, "change horizon")) == 0) {
        *h = al_db_int64(st, 0);
        al_db_done(s, st);
    }
    return rc;
}

static json_t *change_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?}", "gpu", al_db_text(st, 0), "node", al_db_text(st, 1));
}

int al_store_changes_since(struct al_store *s, int64_t *h, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int64_t next = 0;
    int rc;
    *ret = NULL;
    if (!on_pg(s)) {
        *ret = json_array();
        return *ret ? 0 : al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    /* the horizon first: what a later statement sees includes every transaction below it */
    if ((rc = al_store_changes_horizon(s, &next, reterr)) != 0)
        return rc;
    if ((rc = al_db_prep(s, &st, reterr,
                         "SELECT DISTINCT gpu_id, node FROM changes WHERE xid >= ?1 AND xid < ?2",
                         "ii", *h, next)) != 0)
        return rc;
    /* the changes of a busy minute fit; a list is never cut short, so no limit */
    if ((rc = al_db_collect(s, st, INT32_MAX - 1, change_row, ret, NULL, reterr)) == 0)
        *h = next;
    return rc;
}

int al_store_changes_prune(struct al_store *s, int64_t age_s, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!on_pg(s))
        return 0;
    int rc = al_db_prep(s, &st, reterr,
                        "DELETE FROM changes WHERE at <"
                        " extract(epoch FROM clock_timestamp())::bigint - ?1",
                        "i", age_s);
    if (rc == 0)
        rc = al_db_run(s, st, reterr, "prune changes");
    return rc < 0 ? rc : 0;
}

/* ---- webhook deliveries ---- */

static json_t *claim_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:I,s:s?,s:s?,s:s?}", "id", al_db_text(st, 0), "webhook",
                     al_db_text(st, 1), "kind", al_db_text(st, 2), "payload", al_db_text(st, 3),
                     "attempt", (json_int_t)al_db_int64(st, 4), "url", al_db_text(st, 5),
                     "secret_box", al_db_text(st, 6), "org", al_db_text(st, 7));
}

int al_store_delivery_claim(struct al_store *s, int64_t now, int64_t lease_s, int limit,
                            json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!on_pg(s))
        return al_store_delivery_due(s, now, limit, ret, reterr);
    int rc = al_db_prep(
        s, &st, reterr,
        "WITH c AS (SELECT d.num FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id"
        " WHERE d.status IN ('pending','retrying') AND d.next_at <= ?1 AND w.active = 1"
        " ORDER BY d.next_at, d.num LIMIT ?2 FOR UPDATE OF d SKIP LOCKED)"
        " UPDATE webhook_deliveries d SET next_at = ?1 + ?3 FROM c, webhooks w"
        " WHERE d.num = c.num AND w.id = d.webhook_id"
        " RETURNING d.id, d.webhook_id, d.kind, d.payload, d.attempt, w.url, w.secret_box,"
        " w.org_id",
        "iii", now, (int64_t)limit, lease_s);
    return rc ? rc : al_db_collect(s, st, limit, claim_row, ret, NULL, reterr);
}

int al_store_delivery_unclaim(struct al_store *s, const char *const *ids, size_t n,
                              int64_t lease_end, int64_t now, struct al_err *reterr)
{
    struct al_db_stmt *st;
    char *text = NULL;
    int rc;
    if (!on_pg(s) || n == 0)
        return 0;
    if ((rc = ids_text(ids, n, &text, reterr)) != 0)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "UPDATE webhook_deliveries SET next_at = ?3 WHERE id IN"
                    " (SELECT json_array_elements_text(?1::json)) AND next_at = ?2"
                    " AND status IN ('pending','retrying')",
                    "tii", text, lease_end, now);
    if (rc == 0 && (rc = al_db_run(s, st, reterr, "give back claims")) > 0)
        rc = 0;
    free(text);
    return rc;
}
