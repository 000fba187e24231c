/* routes_assign.c — a reservation's units (its GPUs or MIG instances: the allocation index)
 * given to members of its org ("multiple members need smaller isolated GPU units"). An org
 * admin (or an operator) assigns and unassigns; every member of the org may read the
 * assignments. Who may then see and start containers on a unit is server/containers.c's rule
 * (docs/containers.md); this file only keeps the record and says it (reservation.assigned). */
#include "server/http.h"

#include "core/state.h"
#include "server/flow.h"
#include "server/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The unit c->params[1] of `r`: a decimal index (400 otherwise) of one of its allocations
 * (404 otherwise). */
static int unit_of(struct al_ctx *c, json_t *r, int *unit)
{
    size_t n = json_array_size(json_object_get(r, "allocations"));
    int64_t u;
    if (al_parse_i64(c->params[1], 0, 1000000, &u) != 0)
        return al_http_fail(c, AL_E_INVAL, "unit",
                            "unit must be an allocation index (0, 1, …), not \"%.32s\"",
                            c->params[1]);
    if ((size_t)u >= n)
        return al_http_fail(c, AL_E_NOTFOUND, "unit", "%s has no unit %lld (its units: 0..%zu)",
                            jstr(r, "id"), (long long)u, n ? n - 1 : 0);
    *unit = (int)u;
    return 0;
}

/* Assignments change only while the reservation may still run containers. */
static int rsv_open(struct al_ctx *c, json_t *r)
{
    enum al_rsv_state s;
    if (al_state_rsv_parse(jstr(r, "state"), &s) == 0 && s != AL_RSV_ENDED && s != AL_RSV_CANCELLED)
        return 0;
    return al_http_fail(c, AL_E_STATE, NULL, "%s is %s: its units can no longer be assigned",
                        jstr(r, "id"), jstr(r, "state"));
}

/* Does user `uid` belong to org `org` as a member or an org admin? The org's users are read a
 * page at a time (an org has few). 1, 0, or a negative code (the call failed). */
static int org_has_user(struct al_ctx *c, const char *org, const char *uid)
{
    struct al_err e = {0};
    char *cursor = NULL;
    int found = 0;
    do {
        json_t *items = NULL, *u;
        char *next = NULL;
        size_t i;
        struct al_store_page pg = {cursor, 500};
        int rc = al_store_user_list(c->srv->store, org, pg, &items, &next, &e);
        free(cursor);
        if (rc != 0)
            return al_http_fail_err(c, rc, &e);
        json_array_foreach(items, i, u)
        {
            const char *role = jstr(u, "role");
            if (strcmp(jstr(u, "id") ? jstr(u, "id") : "", uid) == 0 && role &&
                (strcmp(role, "member") == 0 || strcmp(role, "org_admin") == 0))
                found = 1;
        }
        json_decref(items);
        cursor = next;
        if (found) {
            free(cursor);
            cursor = NULL;
        }
    } while (cursor);
    return found;
}

static int assigned_event(struct al_ctx *c, json_t *r, int unit, const char *user)
{
    json_t *data = json_pack("{s:s?,s:i,s:s?}", "org", jstr(r, "org"), "unit", unit, "user", user);
    if (!data)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return al_event(c, AL_EVENT_RESERVATION_ASSIGNED, jstr(r, "org"), jstr(r, "id"), data);
}

static int put_assignment(struct al_ctx *c)
{
    static const char *const allowed[] = {"user", NULL};
    const char *user = NULL;
    struct al_err e = {0};
    json_t *r = NULL;
    int unit = 0, rc;
    if ((rc = al_routes_rsv_load(c, &r)) || (rc = unit_of(c, r, &unit)) ||
        (rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_name(c, c->body, "user", true, &user)) || (rc = rsv_open(c, r)))
        goto out;
    if ((rc = org_has_user(c, jstr(r, "org"), user)) <= 0) {
        if (rc == 0)
            rc = al_http_fail(c, AL_E_INVAL, "user", "user %s is not a member or admin of org %s",
                              user, jstr(r, "org"));
        goto out;
    }
    if ((rc = al_store_assignment_put(c->srv->store, jstr(r, "id"), unit, user, c->now, c->user_id,
                                      &e)) < 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = assigned_event(c, r, unit, user)))
        goto out;
    rc = al_http_reply(c, 200,
                       json_pack("{s:s,s:i,s:s,s:o,s:s}", "reservation", jstr(r, "id"), "unit",
                                 unit, "user", user, "at", al_time_json(c->now), "by", c->user_id));
out:
    json_decref(r);
    return rc;
}

static int delete_assignment(struct al_ctx *c)
{
    static const char *const none[] = {NULL};
    struct al_err e = {0};
    json_t *r = NULL;
    int unit = 0, rc;
    if ((rc = al_routes_rsv_load(c, &r)) || (rc = unit_of(c, r, &unit)) ||
        (rc = al_field_only(c, c->body, none)))
        goto out;
    if ((rc = al_store_assignment_put(c->srv->store, jstr(r, "id"), unit, NULL, c->now, c->user_id,
                                      &e)) < 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    /* removing what is not there is not an error (DELETE is idempotent), nor an event */
    if (rc > 0 && (rc = assigned_event(c, r, unit, NULL)))
        goto out;
    rc = al_http_reply_text(c, 204, "text/plain; charset=utf-8", calloc(1, 1));
out:
    json_decref(r);
    return rc;
}

static int get_assignments(struct al_ctx *c)
{
    struct al_err e = {0};
    json_t *r = NULL, *list = NULL;
    int rc;
    if ((rc = al_routes_rsv_load(c, &r)))
        return rc;
    if ((rc = al_store_assignment_list(c->srv->store, jstr(r, "id"), &list, &e)) != 0)
        rc = al_http_fail_err(c, rc, &e);
    else {
        static const char *const at[] = {"at", NULL};
        json_t *x;
        size_t i;
        json_array_foreach(list, i, x) al_time_fields(x, at);
        rc = al_http_reply(c, 200, json_pack("{s:o}", "assignments", list));
    }
    json_decref(r);
    return rc;
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_assign[] = {
    {"GET", "/v1/reservations/*/assignments", get_assignments, OP | ADM | MEM, false, false},
    {"PUT", "/v1/reservations/*/assignments/*", put_assignment, OP | ADM, true, false},
    {"DELETE", "/v1/reservations/*/assignments/*", delete_assignment, OP | ADM, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
