/* store_accounts.c — the store's orgs, users and node-bound agent tokens (store.h); a token
 * only as its hash. */
#include "store/store_internal.h"

/* ---- orgs ---- */

int al_store_org_insert(struct al_store *s, json_t *org, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "INSERT INTO orgs VALUES(?,?,?,?,?)", "tttti",
                        al_store_jstr(org, "id"), al_store_jstr(org, "name"),
                        al_store_jstr(org, "customer_code"), al_store_jstr(org, "display_name"),
                        (int64_t)json_integer_value(json_object_get(org, "created_at")));
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "insert org");
    return rc < 0 ? rc : 0;
}

static json_t *org_row(struct al_db_stmt *st)
{
    return json_pack(
        "{s:s?,s:s?,s:s?,s:o,s:o,s:I}", "_key", al_db_text(st, 0), "id", al_db_text(st, 0), "name",
        al_db_text(st, 1), "customer_code", al_store_str_or_null(al_db_text(st, 2)), "display_name",
        al_store_str_or_null(al_db_text(st, 3)), "created_at", (json_int_t)al_db_int64(st, 4));
}

int al_store_org_get(struct al_store *s, const char *key, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, name, customer_code, display_name, created_at FROM orgs"
                        " WHERE id = ?1 OR name = ?1 OR customer_code = ?1"
                        " ORDER BY id = ?1 DESC, name = ?1 DESC LIMIT 1",
                        "t", key);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        *ret = org_row(st);
        json_object_del(*ret, "_key");
    } else {
        rc = r == AL_DB_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "no org %s", key)
                             : al_db_fail(s, reterr, "get org");
    }
    al_db_done(s, st);
    return rc;
}

int al_store_org_list(struct al_store *s, const char *only_id, struct al_store_page pg,
                      json_t **ret, char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc =
        al_db_prep(s, &st, reterr,
                   "SELECT id, name, customer_code, display_name, created_at FROM orgs"
                   " WHERE (?1 IS NULL OR id = ?1) AND id > coalesce(?2, '') ORDER BY id LIMIT ?3",
                   "tti", only_id, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, org_row, ret, next, reterr);
}

/* ---- users ---- */

int al_store_user_insert(struct al_store *s, json_t *user,
                         const uint8_t token_hash[AL_STORE_HASH_LEN], struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "INSERT INTO users VALUES(?,?,?,?,?,?)", "ttttbi",
                        al_store_jstr(user, "id"), al_store_jstr(user, "name"),
                        al_store_jstr(user, "role"), al_store_jstr(user, "org"), token_hash,
                        (int64_t)json_integer_value(json_object_get(user, "created_at")));
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "insert user");
    return rc < 0 ? rc : 0;
}

static json_t *user_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:o,s:I}", "_key", al_db_text(st, 0), "id",
                     al_db_text(st, 0), "name", al_db_text(st, 1), "role", al_db_text(st, 2), "org",
                     al_store_str_or_null(al_db_text(st, 3)), "created_at",
                     (json_int_t)al_db_int64(st, 4));
}

int al_store_user_by_token(struct al_store *s, const uint8_t token_hash[AL_STORE_HASH_LEN],
                           json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, name, role, org_id, created_at FROM users WHERE token_hash = ?",
                        "b", token_hash);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        *ret = user_row(st);
        json_object_del(*ret, "_key");
    } else {
        rc = r == AL_DB_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "unknown token")
                             : al_db_fail(s, reterr, "get user");
    }
    al_db_done(s, st);
    return rc;
}

int al_store_user_count(struct al_store *s, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "SELECT count(*) FROM users", "");
    if (rc)
        return rc;
    rc = al_db_step(s, st) == AL_DB_ROW ? al_db_int(st, 0) : al_db_fail(s, reterr, "count");
    al_db_done(s, st);
    return rc;
}

int al_store_user_list(struct al_store *s, const char *org_id, struct al_store_page pg,
                       json_t **ret, char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, name, role, org_id, created_at FROM users"
                        " WHERE (?1 IS NULL OR org_id = ?1) AND id > coalesce(?2, '')"
                        " ORDER BY id LIMIT ?3",
                        "tti", org_id, pg.cursor, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, user_row, ret, next, reterr);
}

/* ---- node-bound agent tokens ---- */

int al_store_node_token_set(struct al_store *s, const char *node, const char *id,
                            const uint8_t token_hash[AL_STORE_HASH_LEN], int64_t created_at,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "INSERT INTO node_tokens VALUES(?1,?2,?3,?4) ON CONFLICT(node)"
                        " DO UPDATE SET id = ?2, token_hash = ?3, created_at = ?4",
                        "ttbi", node, id, token_hash, created_at);
    if (rc)
        return rc;
    rc = al_db_run(s, st, reterr, "set node token");
    return rc < 0 ? rc : 0;
}

int al_store_node_token_by_hash(struct al_store *s, const uint8_t token_hash[AL_STORE_HASH_LEN],
                                json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT id, node, created_at FROM node_tokens WHERE token_hash = ?", "b",
                        token_hash);
    if (rc)
        return rc;
    int r = al_db_step(s, st);
    if (r == AL_DB_ROW) {
        /* named after its node, so that whatever shows a caller's name shows which node */
        *ret = json_pack("{s:s?,s:s?,s:s,s:n,s:s?,s:I}", "id", al_db_text(st, 0), "name",
                         al_db_text(st, 1), "role", "agent", "org", "node", al_db_text(st, 1),
                         "created_at", (json_int_t)al_db_int64(st, 2));
        if (!*ret)
            rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
    } else {
        rc = r == AL_DB_DONE ? al_err_set(reterr, AL_E_NOTFOUND, "unknown token")
                             : al_db_fail(s, reterr, "get node token");
    }
    al_db_done(s, st);
    return rc;
}

int al_store_node_token_delete(struct al_store *s, const char *node, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "DELETE FROM node_tokens WHERE node = ?", "t", node);
    return rc ? rc : al_db_run(s, st, reterr, "revoke node token");
}
