/* routes_orgs.c — orgs (the customers) and users: creation, reading and listing, each as
 * the caller may see them (operators all, others their own org). A new user's token is shown
 * once, in the answer, and only its hash is stored. */
#include "server/http.h"

#include "server/auth.h"
#include "server/routes.h"

#include <string.h>

/* Is string member `k` of `o` equal to `v`? */
static bool jstr_eq(json_t *o, const char *k, const char *v)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && strcmp(s, v) == 0;
}

/* ---- orgs ---- */

/* Org ids, names and customer codes are one namespace: GET /v1/orgs/{x}, a request's `org`
 * and every other org reference look `x` up among all three. So a name or code may not have
 * the shape of an id ("org_" is the ids' prefix), nor equal another org's id, name or code
 * (an org's own name and code may be equal). 0, or the call fails naming `field`. */
static int org_key_free(struct al_ctx *c, const char *field, const char *key)
{
    static const char *const what[] = {"id", "name", "customer_code"};
    json_t *other = NULL;
    struct al_err e = {0};
    if (!key)
        return 0;
    if (strncmp(key, "org_", 4) == 0)
        return al_http_fail(c, AL_E_INVAL, field,
                            "%s may not begin with org_, the prefix of org ids", field);
    int rc = al_store_org_get(c->srv->store, key, &other, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    const char *as = "name";
    for (size_t i = sizeof what / sizeof what[0]; i-- > 0;)
        if (jstr_eq(other, what[i], key))
            as = what[i]; /* the first of id, name, code that matches */
    rc = al_http_fail(c, AL_E_CONFLICT, field, "%s %s is taken: it is the %s of org %s (%s)", field,
                      key, strcmp(as, "customer_code") == 0 ? "customer code" : as,
                      json_string_value(json_object_get(other, "id")),
                      json_string_value(json_object_get(other, "name")));
    json_decref(other);
    return rc;
}

static int post_orgs(struct al_ctx *c)
{
    static const char *const allowed[] = {"name", "customer_code", "display_name", NULL};
    const char *name = NULL, *code = NULL, *display = NULL;
    char id[AL_HTTP_ID_LEN];
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || al_field_name(c, c->body, "name", true, &name) ||
        al_field_name(c, c->body, "customer_code", false, &code) ||
        al_field_limit(c, c->body, "display_name", AL_LIMIT_DISPLAY, false, &display) ||
        org_key_free(c, "name", name) || org_key_free(c, "customer_code", code))
        return c->err_code;
    al_id_new("org", c->now, id, sizeof id);
    json_t *org = json_pack("{s:s,s:s,s:s?,s:s?,s:I}", "id", id, "name", name, "customer_code",
                            code, "display_name", display, "created_at", (json_int_t)c->now);
    if ((rc = al_store_org_insert(c->srv->store, org, &e)) != 0) {
        json_decref(org);
        return rc == AL_E_CONFLICT
                   ? al_http_fail(c, rc, "name", "an org with this name or customer code exists")
                   : al_http_fail_err(c, rc, &e);
    }
    if (al_event(c, AL_EVENT_ORG_CREATED, id, id, json_pack("{s:s}", "name", name))) {
        json_decref(org);
        return c->err_code;
    }
    al_time_fields(org, al_time_keys);
    return al_http_reply(c, 201, org);
}

static int get_orgs(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items;
    char *next = NULL;
    struct al_err e = {0};
    if (al_http_page(c, &pg))
        return c->err_code;
    if (c->role != AL_ROLE_OPERATOR && !c->org)
        return al_http_reply(c, 200, al_http_list(json_array(), NULL));
    int rc = al_store_org_list(c->srv->store, c->role == AL_ROLE_OPERATOR ? NULL : c->org, pg,
                               &items, &next, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o) al_time_fields(o, al_time_keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* An org by id, name or customer code, as the caller may see it (404 otherwise). */
static int org_lookup(struct al_ctx *c, const char *key, const char *field, json_t **ret)
{
    struct al_err e = {0};
    int rc = al_store_org_get(c->srv->store, key, ret, &e);
    if (rc == 0 && !al_ctx_sees(c, json_string_value(json_object_get(*ret, "id")))) {
        json_decref(*ret);
        *ret = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, field, "no org %s", key);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static int get_org(struct al_ctx *c)
{
    json_t *org;
    if (org_lookup(c, c->params[0], NULL, &org))
        return c->err_code;
    al_time_fields(org, al_time_keys);
    return al_http_reply(c, 200, org);
}

/* ---- users ---- */

static int user_org(struct al_ctx *c, const char *role, const char *org_key, const char **org_id,
                    json_t **org)
{
    bool needs_org = strcmp(role, "org_admin") == 0 || strcmp(role, "member") == 0;
    if (c->role == AL_ROLE_ORG_ADMIN) {
        if (!needs_org)
            return al_http_fail(c, AL_E_FORBIDDEN, "role",
                                "an org admin creates members and "
                                "org admins only");
        if (!org_key)
            org_key = c->org;
    }
    if (!needs_org)
        return org_key ? al_http_fail(c, AL_E_INVAL, "org", "role %s has no org", role) : 0;
    if (!org_key)
        return al_http_fail(c, AL_E_INVAL, "org", "role %s needs an org", role);
    if (org_lookup(c, org_key, "org", org))
        return c->err_code;
    *org_id = json_string_value(json_object_get(*org, "id"));
    return 0;
}

static int post_users(struct al_ctx *c)
{
    static const char *const allowed[] = {"name", "role", "org", NULL};
    const char *name = NULL, *role = NULL, *org_key = NULL, *org_id = NULL;
    char id[AL_HTTP_ID_LEN], token[64];
    uint8_t hash[AL_STORE_HASH_LEN];
    json_t *org = NULL, *user = NULL;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || al_field_name(c, c->body, "name", true, &name) ||
        al_field_name(c, c->body, "role", true, &role) ||
        al_field_name(c, c->body, "org", false, &org_key))
        return c->err_code;
    if (strcmp(role, "operator") != 0 && strcmp(role, "org_admin") != 0 &&
        strcmp(role, "member") != 0 && strcmp(role, "agent") != 0)
        return al_http_fail(c, AL_E_INVAL, "role",
                            "role must be operator, org_admin, member "
                            "or agent");
    if ((rc = user_org(c, role, org_key, &org_id, &org)) != 0)
        goto out;
    al_id_new("usr", c->now, id, sizeof id);
    al_token_new(token, sizeof token, hash);
    user = json_pack("{s:s,s:s,s:s,s:s?,s:I}", "id", id, "name", name, "role", role, "org", org_id,
                     "created_at", (json_int_t)c->now);
    if ((rc = al_store_user_insert(c->srv->store, user, hash, &e)) != 0) {
        rc = rc == AL_E_CONFLICT ? al_http_fail(c, rc, "name", "a user named %s exists", name)
                                 : al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = al_event(c, AL_EVENT_USER_CREATED, org_id, id,
                       json_pack("{s:s,s:s}", "name", name, "role", role))))
        goto out;
    al_time_fields(user, al_time_keys);
    rc = al_http_reply(c, 201, json_pack("{s:O,s:s}", "user", user, "token", token));
out:
    memset(token, 0, sizeof token);
    json_decref(user);
    json_decref(org);
    return rc;
}

static int get_users(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items, *org = NULL;
    char *next = NULL;
    struct al_err e = {0};
    const char *only = c->role == AL_ROLE_OPERATOR ? NULL : c->org, *q = al_http_query(c, "org");
    if (al_http_page(c, &pg))
        return c->err_code;
    if (q) {
        if (org_lookup(c, q, "org", &org))
            return c->err_code;
        only = json_string_value(json_object_get(org, "id"));
    }
    int rc = al_store_user_list(c->srv->store, only, pg, &items, &next, &e);
    json_decref(org);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    size_t i;
    json_t *u;
    json_array_foreach(items, i, u) al_time_fields(u, al_time_keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_orgs[] = {
    {"POST", "/v1/orgs", post_orgs, OP, true, false},
    {"GET", "/v1/orgs", get_orgs, AL_ROLE_ANY, false, false},
    {"GET", "/v1/orgs/*", get_org, OP | ADM | MEM, false, false},
    {"POST", "/v1/users", post_users, OP | ADM, true, false},
    {"GET", "/v1/users", get_users, OP | ADM, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
