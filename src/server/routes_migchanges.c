/* routes_migchanges.c — MIG changes as people see and decide them (docs/migchange.md): the
 * list (operators: all; an org's admins and members: those linked to their org), one change
 * with its checks computed now (server/migcheck.h) and its acknowledgements, an org admin's
 * acknowledgement (job shutdown and data backup), an operator's apply (planned → approved,
 * refused while a check fails unless forced with a reason), and the operators' change windows
 * per scope (default, zone:NAME, node:NAME). The agent's routes (desired, start, result) are
 * server/migplan.c's. */
#include "server/http.h"

#include "core/window.h"
#include "server/flow.h"
#include "server/migcheck.h"
#include "server/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCOPE_NAME_MAX 63 /* the NAME of zone:NAME and node:NAME */

/* Is `s` a state a change may be in? */
static bool state_known(const char *s)
{
    static const char *const states[] = {"planned", "approved",   "applying", "applied",
                                         "failed",  "superseded", NULL};
    return al_field_listed(states, s);
}

static bool state_is(json_t *doc, const char *s)
{
    return jstr(doc, "state") && strcmp(jstr(doc, "state"), s) == 0;
}

/* Does `org` appear in the links or acks of change `id`? 1, 0, or fails the call. */
static int change_of_org(struct al_ctx *c, const char *id, const char *org)
{
    json_t *lists[2] = {NULL, NULL}, *x;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_migchange_links(c->srv->store, id, &lists[0], &e);
    if (rc == 0)
        rc = al_store_migchange_acks(c->srv->store, id, &lists[1], &e);
    for (int k = 0; rc == 0 && k < 2; k++)
        json_array_foreach(lists[k], i, x)
        {
            if (org && jstr(x, "org") && strcmp(jstr(x, "org"), org) == 0) {
                rc = 1;
                break;
            }
        }
    json_decref(lists[0]);
    json_decref(lists[1]);
    return rc < 0 ? al_http_fail_err(c, rc, &e) : rc;
}

/* The change of the path (c->params[0]) into *doc, as the caller may see it: operators any,
 * an org's users those linked to (or acknowledged by) their org; another is not found. */
static int change_load(struct al_ctx *c, json_t **doc)
{
    struct al_err e = {0};
    int rc = al_store_migchange_get(c->srv->store, c->params[0], doc, &e);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no MIG change %s", c->params[0]);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (c->role == AL_ROLE_OPERATOR || (rc = change_of_org(c, c->params[0], c->org)) == 1)
        return 0;
    json_decref(*doc);
    *doc = NULL;
    return rc < 0 ? rc : al_http_fail(c, AL_E_NOTFOUND, NULL, "no MIG change %s", c->params[0]);
}

/* doc with its acknowledgements and, while planned or approved, the checks of `r` (NULL:
 * computed here); what GET, ack and apply answer. */
static int change_out(struct al_ctx *c, json_t *doc, const struct al_migcheck_report *r)
{
    static const char *const ack_times[] = {"at", NULL};
    struct al_migcheck_facts *f = NULL;
    struct al_migcheck_report mine;
    json_t *acks = NULL, *a, *checks;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_migchange_acks(c->srv->store, jstr(doc, "id"), &acks, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(acks, i, a) al_time_fields(a, ack_times);
    json_object_set_new(doc, "acks", acks);
    if (!r && (state_is(doc, "planned") || state_is(doc, "approved"))) {
        if (!(f = malloc(sizeof *f)))
            return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        if ((rc = al_migcheck_gather(c, doc, f)) == 0)
            al_migcheck_report(f, c->now, &mine);
        free(f);
        if (rc)
            return rc;
        r = &mine;
    }
    if (!(checks = r ? al_migcheck_json(r) : json_null()))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_object_set_new(doc, "checks", checks);
    return 0;
}

static int get_changes(struct al_ctx *c)
{
    struct al_store_migchange_filter flt = {al_http_query(c, "state"), al_http_query(c, "node"),
                                            al_http_query(c, "gpu"), NULL};
    struct al_store_page pg;
    struct al_err e = {0};
    json_t *items = NULL;
    char *next = NULL;
    if (al_http_page(c, &pg))
        return c->err_code;
    if (flt.state && !state_known(flt.state))
        return al_http_fail(c, AL_E_INVAL, "state", "unknown state %s", flt.state);
    if (flt.node && !al_name_ok(flt.node))
        return al_http_fail(c, AL_E_INVAL, "node", "node must be a name");
    if (flt.gpu && !al_name_ok(flt.gpu))
        return al_http_fail(c, AL_E_INVAL, "gpu", "gpu must be a GPU id");
    if (c->role != AL_ROLE_OPERATOR)
        flt.org = c->org ? c->org : "-"; /* a user without an org sees none */
    int rc = al_store_migchange_list(c->srv->store, &flt, pg, &items, &next, &e);
    return rc ? al_http_fail_err(c, rc, &e) : al_http_reply(c, 200, al_http_list(items, next));
}

static int get_change(struct al_ctx *c)
{
    json_t *doc = NULL;
    int rc = change_load(c, &doc);
    if (rc == 0 && (rc = change_out(c, doc, NULL)) == 0)
        return al_http_reply(c, 200, doc);
    json_decref(doc);
    return rc;
}

/* ---- acknowledge ---- */

/* Both flags of the body are there and true. */
static int ack_body(struct al_ctx *c)
{
    static const char *const allowed[] = {"job_shutdown", "data_backup", NULL};
    static const char *const flags[] = {"job_shutdown", "data_backup"};
    int rc = al_field_only(c, c->body, allowed);
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        bool v = false;
        if ((rc = al_field_bool(c, c->body, flags[i], &v)) == 0 && !v)
            rc =
                al_http_fail(c, AL_E_INVAL, flags[i],
                             "%s must be true: acknowledge job shutdown and data backup", flags[i]);
    }
    return rc;
}

/* May the caller's org acknowledge: linked to the change, or affected (work of it on an
 * instance the change destroys)? 0 or fails the call (not found: another org's change). */
static int ack_allowed(struct al_ctx *c, json_t *doc, struct al_migcheck_facts *f)
{
    int rc = change_of_org(c, jstr(doc, "id"), c->org);
    if (rc < 0)
        return rc;
    if (rc == 0 && !al_migcheck_affects(f, c->org))
        return al_http_fail(c, AL_E_NOTFOUND, NULL, "no MIG change %s", jstr(doc, "id"));
    if (!state_is(doc, "planned") && !state_is(doc, "approved"))
        return al_http_fail(c, AL_E_STATE, "state",
                            "MIG change %s is %s: only a planned or approved change is "
                            "acknowledged",
                            jstr(doc, "id"), jstr(doc, "state"));
    return 0;
}

static int post_ack(struct al_ctx *c)
{
    struct al_migcheck_facts *f = malloc(sizeof *f);
    struct al_err e = {0};
    json_t *doc = NULL;
    int rc;
    if (!f)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if ((rc = ack_body(c)))
        goto out;
    if ((rc = al_store_migchange_get(c->srv->store, c->params[0], &doc, &e)) != 0) {
        rc = rc == AL_E_NOTFOUND ? al_http_fail(c, rc, NULL, "no MIG change %s", c->params[0])
                                 : al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = al_migcheck_gather(c, doc, f)) || (rc = ack_allowed(c, doc, f)))
        goto out;
    if ((rc = al_store_migchange_ack_put(c->srv->store, jstr(doc, "id"), c->org, c->user_id, c->now,
                                         true, true, &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = al_event_migchange(c, AL_EVENT_MIG_CHANGE_ACKNOWLEDGED, jstr(doc, "id"),
                                 json_pack("{s:s,s:s,s:b,s:b}", "org", c->org, "by", c->user_id,
                                           "job_shutdown", 1, "data_backup", 1))))
        goto out;
    /* the change with its checks computed anew: this acknowledgement counted */
    if ((rc = change_out(c, doc, NULL)) == 0)
        rc = al_http_reply(c, 200, json_incref(doc));
out:
    json_decref(doc);
    free(f);
    return rc;
}

/* ---- apply ---- */

/* Refuse when the checks fail and may not be overridden: 409 checks_failed without force,
 * 400 for a bad reason, 403 for a check that cannot be forced; the checks in details. */
static int apply_allowed(struct al_ctx *c, const struct al_migcheck_report *r, bool force,
                         const char *reason)
{
    struct al_err e = {0};
    int rc = AL_E_STATE;
    if (r->pass)
        return 0;
    if (force && (rc = al_migchange_may_force(r, force, reason, &e)) == 0)
        return 0;
    json_t *checks = al_migcheck_json(r);
    if (!checks)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (rc == AL_E_STATE) {
        rc = al_http_fail_details(c, AL_E_STATE, json_pack("{s:o}", "checks", checks),
                                  "%u of %d checks fail: apply with force and a reason to "
                                  "override them",
                                  r->nfailed, AL_MIGCHECK_COUNT);
        c->err_api = "checks_failed";
        return rc;
    }
    json_t *d = json_pack("{s:o}", "checks", checks);
    if (rc == AL_E_INVAL)
        json_object_set_new(d, "field", json_string("reason"));
    return al_http_fail_details(c, rc, d, "%s", e.msg);
}

static int post_apply(struct al_ctx *c)
{
    static const char *const allowed[] = {"force", "reason", NULL};
    struct al_migcheck_facts *f = malloc(sizeof *f);
    struct al_migcheck_report r;
    const char *reason = NULL;
    bool force = false;
    json_t *doc = NULL;
    int rc;
    if (!f)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if ((rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_bool(c, c->body, "force", &force)) ||
        (rc = al_field_text(c, c->body, "reason", false, AL_MIGCHANGE_REASON_MAX, &reason)) ||
        (rc = change_load(c, &doc)))
        goto out;
    if (!state_is(doc, "planned")) {
        rc = al_http_fail(c, AL_E_STATE, "state",
                          "MIG change %s is %s: only a planned one is applied", jstr(doc, "id"),
                          jstr(doc, "state"));
        goto out;
    }
    if ((rc = al_migcheck_gather(c, doc, f)))
        goto out;
    al_migcheck_report(f, c->now, &r);
    if ((rc = apply_allowed(c, &r, force, reason)) ||
        (rc = al_migcheck_approve(c, doc, c->user_id, !r.pass, reason)) ||
        (rc = change_out(c, doc, &r)))
        goto out;
    rc = al_http_reply(c, 200, json_incref(doc));
out:
    json_decref(doc);
    free(f);
    return rc;
}

/* ---- change windows ---- */

/* The path's scope: default, zone:NAME or node:NAME (NAME: 1..63 of A-Z a-z 0-9 . _ -). */
static int scope_ok(struct al_ctx *c, const char *scope)
{
    const char *name = NULL;
    if (strncmp(scope, "zone:", 5) == 0 || strncmp(scope, "node:", 5) == 0)
        name = scope + 5;
    if (strcmp(scope, "default") == 0 ||
        (name && al_name_ok(name) && strlen(name) <= SCOPE_NAME_MAX))
        return 0;
    return al_http_fail(c, AL_E_INVAL, "scope",
                        "scope must be default, zone:NAME or node:NAME (NAME: 1..%d of A-Z a-z "
                        "0-9 . _ -)",
                        SCOPE_NAME_MAX);
}

static int get_windows(struct al_ctx *c)
{
    static const char *const times[] = {"updated_at", NULL};
    json_t *items = NULL, *w;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_window_list(c->srv->store, &items, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(items, i, w) al_time_fields(w, times);
    return al_http_reply(c, 200, al_http_list(items, NULL));
}

static int put_window(struct al_ctx *c)
{
    static const char *const allowed[] = {"windows", "auto_apply", NULL};
    const char *scope = c->params[0], *text = NULL;
    char canon[AL_WINDOW_TEXT_MAX + 1];
    struct al_windows w;
    struct al_err e = {0};
    bool auto_apply = false;
    int rc;
    if ((rc = scope_ok(c, scope)) || (rc = al_field_only(c, c->body, allowed)) ||
        (rc = al_field_text(c, c->body, "windows", true, AL_WINDOW_TEXT_MAX, &text)) ||
        (rc = al_field_bool(c, c->body, "auto_apply", &auto_apply)))
        return rc;
    if (al_window_parse(text, &w, &e) != 0)
        return al_http_fail(c, AL_E_INVAL, "windows", "%s", e.msg);
    int n = al_window_format(&w, canon, sizeof canon);
    if (n < 0 || (size_t)n >= sizeof canon)
        return al_http_fail(c, AL_E_INTERNAL, "windows", "the canonical text does not fit");
    if ((rc = al_store_window_put(c->srv->store, scope, canon, auto_apply, c->now, c->user_id,
                                  &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    if ((rc = al_event(c, AL_EVENT_WINDOW_SET, NULL, scope,
                       json_pack("{s:s,s:b}", "windows", canon, "auto_apply", auto_apply))))
        return rc;
    return al_http_reply(c, 200,
                         json_pack("{s:s,s:s,s:b,s:o,s:s}", "scope", scope, "windows", canon,
                                   "auto_apply", auto_apply, "updated_at", al_time_json(c->now),
                                   "updated_by", c->user_id));
}

static int delete_window(struct al_ctx *c)
{
    static const char *const none[] = {NULL};
    const char *scope = c->params[0];
    struct al_err e = {0};
    int rc;
    if ((rc = scope_ok(c, scope)) || (rc = al_field_only(c, c->body, none)))
        return rc;
    if ((rc = al_store_window_delete(c->srv->store, scope, &e)) < 0)
        return al_http_fail_err(c, rc, &e);
    if (rc == 0)
        return al_http_fail(c, AL_E_NOTFOUND, NULL, "no change window for %s", scope);
    if ((rc = al_event(c, AL_EVENT_WINDOW_REMOVED, NULL, scope, json_object())))
        return rc;
    return al_http_reply(c, 200, json_pack("{s:s,s:b}", "scope", scope, "removed", 1));
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN
#define MEM AL_ROLE_MEMBER

const struct al_route al_routes_migchanges[] = {
    {"GET", "/v1/mig-changes", get_changes, OP | ADM | MEM, false, false},
    {"GET", "/v1/mig-changes/*", get_change, OP | ADM | MEM, false, false},
    {"POST", "/v1/mig-changes/*/ack", post_ack, ADM, true, false},
    {"POST", "/v1/mig-changes/*/apply", post_apply, OP, true, false},
    {"GET", "/v1/change-windows", get_windows, OP, false, false},
    {"PUT", "/v1/change-windows/*", put_window, OP, true, false},
    {"DELETE", "/v1/change-windows/*", delete_window, OP, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
