/* store_container.c — the store's containers, node runtimes and unit assignments (store.h,
 * migration 9): containers as documents with the columns their lists and the clock's passes
 * filter on, their logs' tail beside them; what each node's agent last said of its container
 * runtime; which member a reservation's unit is assigned to. The schema keeps the rules (an
 * ended container frozen, none deleted); this file turns their violations into store codes. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The states a container may be in: the first three are live. */
static const char *const ctr_states[] = {"pending", "running", "stopping",
                                         "exited",  "stopped", "failed"};

/* The index of `state` in ctr_states, or -1. */
static int state_index(const char *state)
{
    for (size_t i = 0; state && i < sizeof ctr_states / sizeof ctr_states[0]; i++)
        if (strcmp(state, ctr_states[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- containers ---- */

/* The database's last error while writing container m: the trigger that keeps an ended
 * container as it ended is AL_E_STATE, the org reference AL_E_NOTFOUND. */
static int ctr_fail(struct al_store *s, const struct al_store_container *m, struct al_err *e)
{
    int x = al_db_failed(s);
    if (x == AL_DB_F_TRIGGER)
        return al_err_set(e, AL_E_STATE, "container %s ended: it is kept as it ended", m->id);
    if (x == AL_DB_F_PRIMARY)
        return al_err_set(e, AL_E_CONFLICT, "container %s exists already", m->id);
    if (x == AL_DB_F_FOREIGN)
        return al_err_set(e, AL_E_NOTFOUND, "no org %s", m->org);
    return al_db_fail(s, e, "put container");
}

static int ctr_insert(struct al_store *s, const struct al_store_container *m, const char *text,
                      bool live, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e,
                        "INSERT INTO containers(id, org_id, user_id, reservation_id, unit,"
                        " node, gpu_id, state, live, pool_session, created_at, updated_at,"
                        " doc) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?11,?12)",
                        "ttttitttinit", m->id, m->org, m->user, m->reservation, (int64_t)m->unit,
                        m->node, m->gpu, m->state, (int64_t)live,
                        m->pool_session > 0 ? m->pool_session : -1, m->at, text);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    rc = r == AL_DB_DONE ? 0 : ctr_fail(s, m, e);
    al_db_done(s, st);
    return rc;
}

static int ctr_update(struct al_store *s, const struct al_store_container *m, const char *text,
                      bool live, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, e,
                   "UPDATE containers SET reservation_id = ?2, unit = ?3, node = ?4,"
                   " gpu_id = ?5, state = ?6, live = ?7, pool_session = ?8,"
                   " updated_at = ?9, doc = ?10 WHERE id = ?1",
                   "ttitttinit", m->id, m->reservation, (int64_t)m->unit, m->node, m->gpu, m->state,
                   (int64_t)live, m->pool_session > 0 ? m->pool_session : -1, m->at, text);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    rc = r == AL_DB_DONE ? (int)al_db_changes(s) : ctr_fail(s, m, e);
    al_db_done(s, st);
    if (rc < 0)
        return rc;
    return rc == 0 ? al_err_set(e, AL_E_NOTFOUND, "no container %s", m->id) : 0;
}

int al_store_container_put(struct al_store *s, const struct al_store_container *m, json_t *doc,
                           bool insert, struct al_err *reterr)
{
    int si = state_index(m->state);
    if (!m->id || !m->org || !m->user || !m->node || !m->gpu || si < 0 || m->unit < -1 ||
        (m->reservation == NULL) != (m->unit == -1) || !json_is_object(doc))
        return al_err_set(reterr, AL_E_INVAL,
                          "container %s: id, org, user, node, gpu, a known state, a document"
                          " and a unit (>= 0 with a reservation, -1 without) are required",
                          m->id ? m->id : "(no id)");
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    bool live = si < 3;
    /* in its own unit: the clock's passes take a refused write of a container (ended already:
     * the trigger) and go on, which PostgreSQL allows only after rolling back to a savepoint */
    int rc = al_db_unit_begin(s, reterr);
    if (rc == 0)
        rc = al_db_unit_end(
            s, insert ? ctr_insert(s, m, text, live, reterr) : ctr_update(s, m, text, live, reterr),
            reterr);
    free(text);
    return rc;
}

int al_store_container_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    return al_db_doc_one(s,
                         AL_STORE_FOR_UPDATE(s, "SELECT doc FROM containers WHERE id = ?",
                                             "SELECT doc FROM containers WHERE id = ? FOR UPDATE"),
                         id, "container", ret, reterr);
}

/* The key that orders containers newest first and pages them: the creation time, zero-padded
 * so that text order is time order, then the id; in each dialect, compared byte by byte. */
#define CTR_KEY_SQLITE "printf('%020d.%s', c.created_at, c.id)"
#define CTR_KEY_PG     "(lpad(c.created_at::text, 20, '0') || '.' || c.id) COLLATE \"C\""
#define CTR_LIST(KEY)                                                                              \
    "SELECT " KEY ", c.doc FROM containers c WHERE (?1 IS NULL OR c.org_id = ?1)"                  \
    " AND (?2 IS NULL OR c.user_id = ?2) AND (?3 IS NULL OR c.reservation_id = ?3)"                \
    " AND (?4 IS NULL OR c.node = ?4) AND (?5 IS NULL OR c.state = ?5)"                            \
    " AND (?6 = 0 OR c.live = 1) AND (?7 IS NULL OR " KEY " < ?7) ORDER BY 1 DESC LIMIT ?8"

int al_store_container_list(struct al_store *s, const struct al_store_container_filter *f,
                            struct al_store_page pg, json_t **ret, char **next,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc =
        al_db_prep(s, &st, reterr, AL_DB_SQL2(s, CTR_LIST(CTR_KEY_SQLITE), CTR_LIST(CTR_KEY_PG)),
                   "tttttiti", f->org, f->user, f->reservation, f->node, f->state, (int64_t)f->live,
                   pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, al_db_doc_row, ret, next, reterr);
}

#define CTR_LIVE_NODE "SELECT id, doc FROM containers WHERE live = 1 AND node = ? ORDER BY id"
#define CTR_LIVE      "SELECT id, doc FROM containers WHERE live = 1 ORDER BY id"

int al_store_container_live(struct al_store *s, const char *node, json_t **ret,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    /* two statements, so that each reads the partial index containers_live; locked in a
     * unit (store.h, "Row locks"): the clock's passes change the containers they list */
    int rc = node ? al_db_prep(s, &st, reterr,
                               AL_STORE_FOR_UPDATE(s, CTR_LIVE_NODE, CTR_LIVE_NODE " FOR UPDATE"),
                               "t", node)
                  : al_db_prep(s, &st, reterr,
                               AL_STORE_FOR_UPDATE(s, CTR_LIVE, CTR_LIVE " FOR UPDATE"), "");
    return rc ? rc : al_db_collect(s, st, 1000000, al_db_doc_row, ret, NULL, reterr);
}

int al_store_container_logs_set(struct al_store *s, const char *id, const char *logs, size_t n,
                                int64_t at, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!id || (!logs && n) || n > AL_STORE_LOGS_MAX)
        return al_err_set(reterr, AL_E_INVAL, "container logs: at most %d bytes",
                          AL_STORE_LOGS_MAX);
    /* a blob: the tail is whatever bytes the runtime gave, kept as they came */
    int rc =
        al_db_prep(s, &st, reterr, "UPDATE containers SET logs = ?3, logs_at = ?2 WHERE id = ?1",
                   "tiB", id, at, (const void *)logs, n);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "set container logs");
    if (rc < 0)
        return rc;
    return rc == 0 ? al_err_set(reterr, AL_E_NOTFOUND, "no container %s", id) : 0;
}

int al_store_container_logs_get(struct al_store *s, const char *id, char **ret, size_t *n,
                                int64_t *at, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr, "SELECT logs, logs_at FROM containers WHERE id = ?", "t", id);
    if (rc || (rc = al_db_row(s, st, reterr, "container")) != 0)
        return rc;
    size_t len;
    const void *b = al_db_blob(st, 0, &len);
    char *out = malloc(len + 1);
    if (!out) {
        al_db_done(s, st);
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    if (len > 0)
        memcpy(out, b, len);
    out[len] = '\0';
    *ret = out;
    *n = len;
    *at = al_db_int64(st, 1);
    al_db_done(s, st);
    return 0;
}

/* ---- node runtimes ---- */

int al_store_node_runtime_put(struct al_store *s, const char *node, const char *kind, bool ok,
                              const char *error, int64_t at, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!node || !kind)
        return al_err_set(reterr, AL_E_INVAL, "node runtime: node and kind are required");
    int rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO node_runtimes(node, kind, ok, error, at)"
                        " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(node) DO UPDATE SET"
                        " kind = excluded.kind, ok = excluded.ok, error = excluded.error,"
                        " at = excluded.at",
                        "ttiti", node, kind, (int64_t)ok, ok ? NULL : error, at);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "put node runtime");
    return rc < 0 ? rc : 0;
}

int al_store_node_runtime_get(struct al_store *s, const char *node, json_t **ret,
                              struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr,
                   "SELECT node, kind, ok, error, at FROM node_runtimes WHERE node = ?", "t", node);
    if (rc || (rc = al_db_row(s, st, reterr, "container runtime reported by node")) != 0)
        return rc;
    *ret = json_pack("{s:s?,s:s?,s:b,s:o,s:I}", "node", al_db_text(st, 0), "kind",
                     al_db_text(st, 1), "ok", al_db_int(st, 2) != 0, "error",
                     al_store_str_or_null(al_db_text(st, 3)), "at", (json_int_t)al_db_int64(st, 4));
    al_db_done(s, st);
    return *ret ? 0 : al_err_set(reterr, AL_E_NOMEM, "out of memory");
}

/* ---- unit assignments ---- */

/* NOLINTNEXTLINE(readability-function-size): 7 parameters, store.h's signature */
int al_store_assignment_put(struct al_store *s, const char *rsv, int unit, const char *user,
                            int64_t at, const char *by, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc;
    if (!rsv || unit < 0 || (user && !by))
        return al_err_set(reterr, AL_E_INVAL, "assignment: a reservation and a unit >= 0");
    if (!user) {
        rc = al_db_prep(s, &st, reterr,
                        "DELETE FROM unit_assignments WHERE reservation_id = ? AND unit = ?", "ti",
                        rsv, (int64_t)unit);
        if (rc)
            return rc;
        rc = al_db_run(s, st, reterr, "unassign unit");
        return rc < 0 ? rc : rc > 0;
    }
    rc = al_db_prep(s, &st, reterr,
                    "INSERT INTO unit_assignments(reservation_id, unit, user_id, at, by_user)"
                    " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(reservation_id, unit) DO UPDATE SET"
                    " user_id = excluded.user_id, at = excluded.at, by_user = excluded.by_user",
                    "titit", rsv, (int64_t)unit, user, at, by);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "assign unit");
    if (rc == AL_E_CONFLICT) /* the user reference: no such user */
        return al_err_set(reterr, AL_E_NOTFOUND, "no user %s", user);
    return rc < 0 ? rc : 0;
}

static json_t *assignment_row(struct al_db_stmt *st)
{
    return json_pack("{s:I,s:s?,s:I,s:s?}", "unit", (json_int_t)al_db_int64(st, 0), "user",
                     al_db_text(st, 1), "at", (json_int_t)al_db_int64(st, 2), "by",
                     al_db_text(st, 3));
}

int al_store_assignment_list(struct al_store *s, const char *rsv, json_t **ret,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT unit, user_id, at, by_user FROM unit_assignments"
                        " WHERE reservation_id = ? ORDER BY unit",
                        "t", rsv);
    return rc ? rc : al_db_collect(s, st, 100000, assignment_row, ret, NULL, reterr);
}
