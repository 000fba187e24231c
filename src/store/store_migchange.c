/* store_migchange.c — the store's change windows and MIG changes (store.h, migration 7): the
 * windows per scope and the one that applies to a node, the changes as documents with their
 * state, GPU and window in columns, the links to the reservations they serve or touch, and the
 * orgs' acknowledgements. The schema keeps the rules (one open change per GPU, an ended change
 * frozen); this file turns their violations into store codes. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The states a change may be in: the first three are open. */
static const char *const change_states[] = {"planned", "approved", "applying",
                                            "applied", "failed",   "superseded"};

static bool state_known(const char *state)
{
    for (size_t i = 0; state && i < sizeof change_states / sizeof change_states[0]; i++)
        if (strcmp(state, change_states[i]) == 0)
            return true;
    return false;
}

/* ---- change windows ---- */

int al_store_window_put(struct al_store *s, const char *scope, const char *windows, bool auto_apply,
                        int64_t at, const char *by, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO change_windows(scope, windows, auto_apply, updated_at,"
                        " updated_by) VALUES(?1,?2,?3,?4,?5) ON CONFLICT(scope) DO UPDATE SET"
                        " windows = excluded.windows, auto_apply = excluded.auto_apply,"
                        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                        "ttiit", scope, windows, (int64_t)auto_apply, at, by);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "put change window");
    return rc < 0 ? rc : 0;
}

int al_store_window_delete(struct al_store *s, const char *scope, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "DELETE FROM change_windows WHERE scope = ?", "t", scope);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "delete change window");
    return rc < 0 ? rc : rc > 0;
}

#define WINDOW_COLUMNS "scope, windows, auto_apply, updated_at, updated_by"

/* A row of WINDOW_COLUMNS as {scope, windows, auto_apply, updated_at, updated_by}; the scope is
 * also the list's key. */
static json_t *window_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:b,s:I,s:s?}", "_key", al_db_text(st, 0), "scope",
                     al_db_text(st, 0), "windows", al_db_text(st, 1), "auto_apply",
                     al_db_int(st, 2) != 0, "updated_at", (json_int_t)al_db_int64(st, 3),
                     "updated_by", al_db_text(st, 4));
}

int al_store_window_list(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " WINDOW_COLUMNS " FROM change_windows ORDER BY scope", "");
    return rc ? rc : al_db_collect(s, st, 100000, window_row, ret, NULL, reterr);
}

int al_store_window_for(struct al_store *s, const char *node, const char *zone, json_t **ret,
                        struct al_err *reterr)
{
    struct al_db_stmt *st;
    /* 'zone:' || NULL is NULL, which matches no scope: a node without a zone skips that rung */
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " WINDOW_COLUMNS " FROM change_windows"
                        " WHERE scope IN ('node:' || ?1, 'zone:' || ?2, 'default')"
                        " ORDER BY CASE WHEN scope = 'default' THEN 2"
                        " WHEN scope LIKE 'zone:%' THEN 1 ELSE 0 END LIMIT 1",
                        "tt", node, zone);
    if (rc || (rc = al_db_row(s, st, reterr, "change window")) != 0)
        return rc;
    *ret = window_row(st);
    al_db_done(s, st);
    if (!*ret)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    json_object_del(*ret, "_key");
    return 0;
}

/* ---- MIG changes ---- */

/* The database's last error while writing change `id`: the trigger that keeps an ended change
 * as it ended is AL_E_STATE, the index of open changes AL_E_CONFLICT naming the GPU. */
static int change_fail(struct al_store *s, const struct al_store_migchange *m, struct al_err *e)
{
    int x = al_db_failed(s);
    if (x == AL_DB_F_TRIGGER)
        return al_err_set(e, AL_E_STATE, "MIG change %s ended: it is kept as it ended", m->id);
    if (x == AL_DB_F_PRIMARY)
        return al_err_set(e, AL_E_CONFLICT, "MIG change %s exists already", m->id);
    if (x == AL_DB_F_UNIQUE) /* mig_changes_open, the only other unique key */
        return al_err_set(e, AL_E_CONFLICT, "GPU %s has an open MIG change already", m->gpu);
    return al_db_fail(s, e, "put MIG change");
}

/* Step a write of change m and give it back: changes() or a code (change_fail's). */
static int change_run(struct al_store *s, struct al_db_stmt *st, const struct al_store_migchange *m,
                      struct al_err *e)
{
    int r = al_db_step(s, st);
    int rc = r == AL_DB_DONE ? (int)al_db_changes(s) : change_fail(s, m, e);
    al_db_done(s, st);
    return rc;
}

static int link_insert(struct al_store *s, const char *id, const struct al_store_migchange_link *l,
                       struct al_err *e)
{
    struct al_db_stmt *st;
    if (!l->reservation || !l->org || !l->role ||
        (strcmp(l->role, "serves") != 0 && strcmp(l->role, "holds") != 0))
        return al_err_set(e, AL_E_INVAL,
                          "MIG change %s: a link needs a reservation, an org and"
                          " the role serves or holds",
                          id);
    int rc = al_db_prep(s, &st, e,
                        "INSERT INTO mig_change_links(change_id, reservation_id, org_id, role)"
                        " VALUES(?,?,?,?)",
                        "tttt", id, l->reservation, l->org, l->role);
    if (rc)
        return rc;
    rc = al_db_run(s, st, e, "link MIG change");
    if (rc == AL_E_CONFLICT)
        return al_err_set(e, AL_E_CONFLICT, "MIG change %s: reservation %s linked twice", id,
                          l->reservation);
    return rc < 0 ? rc : 0;
}

/* Insert change m with its text and links, as one unit. */
static int change_insert(struct al_store *s, const struct al_store_migchange *m, const char *text,
                         const struct al_store_migchange_link *links, size_t nlinks,
                         struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_unit_begin(s, e);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, e,
                    "INSERT INTO mig_changes(id, gpu_id, node, state, run_after, run_before,"
                    " created_at, updated_at, doc) VALUES(?1,?2,?3,?4,?5,?6,?7,?7,?8)",
                    "ttttiiit", m->id, m->gpu, m->node, m->state, m->run_after, m->run_before,
                    m->at, text);
    if (rc == 0)
        rc = change_run(s, st, m, e);
    rc = rc < 0 ? rc : 0;
    for (size_t i = 0; rc == 0 && i < nlinks; i++)
        rc = link_insert(s, m->id, &links[i], e);
    return al_db_unit_end(s, rc, e);
}

/* Update change m's state, window and text (its GPU and node stay). */
static int change_update(struct al_store *s, const struct al_store_migchange *m, const char *text,
                         struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e,
                        "UPDATE mig_changes SET state = ?2, run_after = ?3, run_before = ?4,"
                        " updated_at = ?5, doc = ?6 WHERE id = ?1",
                        "ttiiit", m->id, m->state, m->run_after, m->run_before, m->at, text);
    if (rc || (rc = change_run(s, st, m, e)) < 0)
        return rc;
    return rc == 0 ? al_err_set(e, AL_E_NOTFOUND, "no MIG change %s", m->id) : 0;
}

int al_store_migchange_put(struct al_store *s, const struct al_store_migchange *m, json_t *doc,
                           const struct al_store_migchange_link *links, size_t nlinks, bool insert,
                           struct al_err *reterr)
{
    if (!m->id || !m->gpu || !m->node || !state_known(m->state))
        return al_err_set(reterr, AL_E_INVAL,
                          "MIG change %s: id, gpu, node and a known state"
                          " are required",
                          m->id ? m->id : "(no id)");
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    /* an update in its own unit too (change_insert's is its own): a refused write (an ended
     * change, a second open change of a GPU) leaves the transaction usable for the caller that
     * goes on, in PostgreSQL as in SQLite */
    int rc =
        insert ? change_insert(s, m, text, links, nlinks, reterr) : al_db_unit_begin(s, reterr);
    if (!insert && rc == 0)
        rc = al_db_unit_end(s, change_update(s, m, text, reterr), reterr);
    free(text);
    return rc;
}

int al_store_migchange_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    return al_db_doc_one(s,
                         AL_STORE_FOR_UPDATE(s, "SELECT doc FROM mig_changes WHERE id = ?",
                                             "SELECT doc FROM mig_changes WHERE id = ? FOR UPDATE"),
                         id, "MIG change", ret, reterr);
}

#define CHANGE_OPEN "state IN ('planned','approved','applying')"

#define CHANGE_OF_GPU "SELECT doc FROM mig_changes WHERE gpu_id = ? AND " CHANGE_OPEN

int al_store_migchange_open(struct al_store *s, const char *gpu_id, json_t **ret,
                            struct al_err *reterr)
{
    return al_db_doc_one(s, AL_STORE_FOR_UPDATE(s, CHANGE_OF_GPU, CHANGE_OF_GPU " FOR UPDATE"),
                         gpu_id, "open MIG change of GPU", ret, reterr);
}

/* The key that orders changes newest first and pages them: the creation time, zero-padded so
 * that text order is time order, then the id: a cursor of the API's characters (a name's). In
 * each dialect (SQLite has no lpad, PostgreSQL no printf), compared byte by byte in both. */
#define CHANGE_KEY_SQLITE "printf('%020d.%s', c.created_at, c.id)"
#define CHANGE_KEY_PG     "(lpad(c.created_at::text, 20, '0') || '.' || c.id) COLLATE \"C\""
#define CHANGE_LIST(KEY)                                                                           \
    "SELECT " KEY ", c.doc FROM mig_changes c WHERE (?1 IS NULL OR c.state = ?1)"                  \
    " AND (?2 IS NULL OR c.node = ?2) AND (?3 IS NULL OR c.gpu_id = ?3)"                           \
    " AND (?4 IS NULL OR EXISTS(SELECT 1 FROM mig_change_links l"                                  \
    " WHERE l.change_id = c.id AND l.org_id = ?4)"                                                 \
    " OR EXISTS(SELECT 1 FROM mig_change_acks a WHERE a.change_id = c.id AND a.org_id = ?4))"      \
    " AND (?5 IS NULL OR " KEY " < ?5) ORDER BY 1 DESC LIMIT ?6"
#define CHANGE_BY_RSV(KEY)                                                                         \
    "SELECT " KEY ", c.doc FROM mig_changes c JOIN mig_change_links l ON l.change_id = c.id"       \
    " WHERE l.reservation_id = ? ORDER BY 1 DESC"

int al_store_migchange_list(struct al_store *s, const struct al_store_migchange_filter *f,
                            struct al_store_page pg, json_t **ret, char **next,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(s, &st, reterr,
                        AL_DB_SQL2(s, CHANGE_LIST(CHANGE_KEY_SQLITE), CHANGE_LIST(CHANGE_KEY_PG)),
                        "ttttti", f->state, f->node, f->gpu, f->org, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, al_db_doc_row, ret, next, reterr);
}

#define CHANGES_OPEN "SELECT id, doc FROM mig_changes WHERE " CHANGE_OPEN " ORDER BY id"

int al_store_migchange_all_open(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        AL_STORE_FOR_UPDATE(s, CHANGES_OPEN, CHANGES_OPEN " FOR UPDATE"), "");
    return rc ? rc : al_db_collect(s, st, 1000000, al_db_doc_row, ret, NULL, reterr);
}

static json_t *link_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?}", "reservation", al_db_text(st, 0), "org", al_db_text(st, 1),
                     "role", al_db_text(st, 2));
}

int al_store_migchange_links(struct al_store *s, const char *id, json_t **ret,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT reservation_id, org_id, role FROM mig_change_links"
                        " WHERE change_id = ? ORDER BY reservation_id",
                        "t", id);
    return rc ? rc : al_db_collect(s, st, 100000, link_row, ret, NULL, reterr);
}

static json_t *link_org_row(struct al_db_stmt *st)
{
    return json_string(al_db_text(st, 0) ? al_db_text(st, 0) : "");
}

int al_store_migchange_orgs(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT DISTINCT org_id FROM mig_change_links WHERE change_id = ?"
                        " ORDER BY org_id",
                        "t", id);
    return rc ? rc : al_db_collect(s, st, 100000, link_org_row, ret, NULL, reterr);
}

int al_store_migchange_by_rsv(struct al_store *s, const char *rsv, json_t **ret,
                              struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(
        s, &st, reterr,
        AL_DB_SQL2(s, CHANGE_BY_RSV(CHANGE_KEY_SQLITE), CHANGE_BY_RSV(CHANGE_KEY_PG)), "t", rsv);
    return rc ? rc : al_db_collect(s, st, 100000, al_db_doc_row, ret, NULL, reterr);
}

/* NOLINTNEXTLINE(readability-function-size): 8 parameters, store.h's signature */
int al_store_migchange_ack_put(struct al_store *s, const char *id, const char *org, const char *by,
                               int64_t at, bool job_shutdown, bool data_backup,
                               struct al_err *reterr)
{
    struct al_db_stmt *st;
    json_t *doc = NULL;
    /* an ack of a change that is not there is "not found", not the reference's conflict */
    int rc = al_store_migchange_get(s, id, &doc, reterr);
    json_decref(doc);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "INSERT INTO mig_change_acks(change_id, org_id, by_user, at, job_shutdown,"
                    " data_backup) VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(change_id, org_id)"
                    " DO UPDATE SET by_user = excluded.by_user, at = excluded.at,"
                    " job_shutdown = excluded.job_shutdown, data_backup = excluded.data_backup",
                    "tttiii", id, org, by, at, (int64_t)job_shutdown, (int64_t)data_backup);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "acknowledge MIG change");
    if (rc == AL_E_CONFLICT) /* the org reference: no such org */
        return al_err_set(reterr, AL_E_NOTFOUND, "no org %s", org);
    return rc < 0 ? rc : 0;
}

static json_t *ack_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:b,s:b}", "org", al_db_text(st, 0), "by", al_db_text(st, 1),
                     "at", (json_int_t)al_db_int64(st, 2), "job_shutdown", al_db_int(st, 3) != 0,
                     "data_backup", al_db_int(st, 4) != 0);
}

int al_store_migchange_acks(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT org_id, by_user, at, job_shutdown, data_backup"
                        " FROM mig_change_acks WHERE change_id = ? ORDER BY org_id",
                        "t", id);
    return rc ? rc : al_db_collect(s, st, 100000, ack_row, ret, NULL, reterr);
}
