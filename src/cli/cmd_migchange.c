/* cmd_migchange.c — MIG changes and change windows at the server (docs/migchange.md):
 * `allot mig changes|check|ack|apply` (entries of cmd_mig.c's table) and `allot window
 * list|set|remove`. A change's checks print as a table of name, pass and what was found. */
#include "cli/conn.h"

#include <string.h>

#define AL_END_OPT                                                                                 \
    {                                                                                              \
        NULL, AL_ARG_STR, NULL, NULL                                                               \
    }

static const struct al_col change_cols[] = {
    {"ID", "id"},
    {"STATE", "state"},
    {"NODE", "node"},
    {"GPU", "gpu"},
    {"MODEL", "model"},
    {"RUN_AFTER", "window.run_after"},
    {"RUN_BEFORE", "window.run_before"},
    {"STEPS", "#steps"},
    {"SERVES", "#serves"},
};

/* A change after ack or apply, and atop its checks. */
static const struct al_col brief_cols[] = {
    {"id", "id"},
    {"state", "state"},
    {"node", "node"},
    {"gpu", "gpu"},
    {"run_after", "window.run_after"},
    {"run_before", "window.run_before"},
    {"approved_by", "approved.by"},
    {"forced", "approved.forced"},
    {"checks_failed", "checks.failed"},
};

static const struct al_col step_cols[] = {
    {"STEP", "op"},
    {"PROFILE", "profile"},
    {"START", "start"},
};

static const struct al_col serves_cols[] = {
    {"SERVES", "reservation"},    {"ORG", "org"}, {"STARTS", "start"}, {"PROFILE", "profile"},
    {"START_UNIT", "start_unit"},
};

static const struct al_col check_cols[] = {
    {"CHECK", "name"},
    {"PASS", "pass"},
    {"FOUND", "found"},
};

static const struct al_col window_cols[] = {
    {"SCOPE", "scope"},           {"WINDOWS", "windows"},       {"AUTO_APPLY", "auto_apply"},
    {"UPDATED_AT", "updated_at"}, {"UPDATED_BY", "updated_by"},
};

static const struct al_opt changes_opts[] = {
    {"state", AL_ARG_STR, "state", "planned, approved, applying, applied, failed or superseded"},
    {"node", AL_ARG_STR, "node", "only this node's changes"},
    {"gpu", AL_ARG_STR, "gpu", "only this GPU's changes (its id)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    AL_END_OPT,
};

static const struct al_opt apply_opts[] = {
    {"force", AL_ARG_BOOL, "force", "apply although checks fail (those that may be forced)"},
    {"reason", AL_ARG_STR, "reason", "why it is forced (required with --force; recorded)"},
    {"idempotency-key", AL_ARG_STR, NULL, "a retry with the same key applies once"},
    AL_END_OPT,
};

static const struct al_opt ack_opts[] = {
    {"idempotency-key", AL_ARG_STR, NULL, "a retry with the same key acknowledges once"},
    AL_END_OPT,
};

static const struct al_opt set_opts[] = {
    {"auto-apply", AL_ARG_BOOL, "auto_apply",
     "changes whose checks all pass apply by themselves inside the window"},
    AL_END_OPT,
};

int al_cmd_mig_changes(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot mig changes [--state S] [--node N] [--gpu G]",
         "List MIG changes (operator: all; an org's users: those touching their org).", 0, 0,
         changes_opts},
        "GET",
        "/v1/mig-changes",
        NULL,
        NULL,
        0,
        change_cols,
        sizeof change_cols / sizeof change_cols[0]};
    return al_conn_run(&s, argc, argv);
}

/* A layout ({mig, instances:[{profile, start}]}) on one line: "1g.10gb@0,3g.40gb@4", "MIG
 * off", or "no instance". */
static void layout_print(const char *label, json_t *l)
{
    json_t *in = json_object_get(l, "instances"), *v;
    size_t i;
    printf("%s: ", label);
    if (json_is_false(json_object_get(l, "mig")))
        printf("MIG off");
    else if (json_array_size(in) == 0)
        printf("no instance");
    json_array_foreach(in, i, v)
    {
        const char *p = json_string_value(json_object_get(v, "profile"));
        printf("%s%s@%lld", i ? "," : "", p ? p : "?",
               (long long)json_integer_value(json_object_get(v, "start")));
    }
    printf("\n");
}

/* One change as a summary, its layouts, steps and the reservations it serves, then its checks
 * as a table: name, pass, what was found. */
static void change_print(const struct al_conn *c, json_t *ch)
{
    json_t *items = al_view_get(ch, "checks.items");
    json_t *steps = json_object_get(ch, "steps"), *serves = json_object_get(ch, "serves");
    if (c->fmt == AL_OUT_JSON) {
        al_out_json(ch);
        return;
    }
    al_view_brief(ch, brief_cols, sizeof brief_cols / sizeof brief_cols[0], stdout);
    layout_print("from", json_object_get(ch, "from"));
    layout_print("to", json_object_get(ch, "to"));
    if (json_array_size(steps)) {
        printf("\n");
        al_view_list(steps, step_cols, sizeof step_cols / sizeof step_cols[0], stdout);
    }
    if (json_array_size(serves)) {
        printf("\n");
        al_view_list(serves, serves_cols, sizeof serves_cols / sizeof serves_cols[0], stdout);
    }
    if (json_is_array(items)) {
        printf("\n");
        al_view_list(items, check_cols, sizeof check_cols / sizeof check_cols[0], stdout);
    } else {
        printf("checks: none (the change is %s)\n",
               json_string_value(json_object_get(ch, "state")));
    }
    json_decref(ch);
}

/* Call METHOD /v1/mig-changes/ID[/action] with `body` (stolen, may be NULL) and print the
 * change. */
static int change_call(const struct al_args *a, const char *method, const char *action,
                       json_t *body)
{
    struct al_conn c = {0};
    struct al_path p;
    struct al_err err = {0};
    json_t *ans = NULL;
    char kbuf[48];
    const char *path, *key = NULL;
    int rc;
    al_path_init(&p, "/v1/mig-changes");
    al_path_seg(&p, a->pos[0]);
    if (action)
        al_path_seg(&p, action);
    if (!(path = al_path_str(&p, &err))) {
        rc = al_args_usage_error(a, err.msg, NULL);
        goto out;
    }
    if (body && !(key = al_conn_idem_key(a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, a)) == AL_EXIT_OK &&
        (rc = al_conn_call(&c, method, path, body, key, &ans)) == AL_EXIT_OK)
        change_print(&c, ans);
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}

int al_cmd_mig_check(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot mig check ID",
        "Show a MIG change with its safety checks computed now: name, pass, what was found.", 1, 1,
        NULL};
    struct al_args a;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    return change_call(&a, "GET", NULL, NULL);
}

int al_cmd_mig_ack(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot mig ack ID",
        "Acknowledge, for your org, that its jobs on the instances the change destroys may be "
        "shut down and their data is backed up (org admin).",
        1, 1, ack_opts};
    struct al_args a;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    json_t *body = json_pack("{s:b,s:b}", "job_shutdown", 1, "data_backup", 1);
    if (!body)
        return AL_EXIT_FAIL;
    return change_call(&a, "POST", "ack", body);
}

int al_cmd_mig_apply(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot mig apply ID [--force --reason TEXT]",
        "Approve a planned MIG change (operator): refused while a check fails, unless forced "
        "with a reason (layout_valid and current_matches_observed cannot be forced).",
        1, 1, apply_opts};
    struct al_args a;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (al_args_get(&a, "force") && !al_args_get(&a, "reason"))
        return al_args_usage_error(&a, "--force needs --reason TEXT (it is recorded)", NULL);
    json_t *body = json_object();
    if (!body || al_args_to_json(&a, body) < 0) {
        json_decref(body);
        return AL_EXIT_USAGE;
    }
    return change_call(&a, "POST", "apply", body);
}

/* ---- change windows ---- */

static int window_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot window list", "List the change windows by scope (operator).", 0, 0, NULL},
        "GET",
        "/v1/change-windows",
        NULL,
        NULL,
        0,
        window_cols,
        sizeof window_cols / sizeof window_cols[0]};
    return al_conn_run(&s, argc, argv);
}

/* `window set SCOPE WINDOWS`: the scope is the path, the windows text the body's. */
static int window_set(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot window set SCOPE WINDOWS [--auto-apply]",
         "Set the change window of SCOPE (default, zone:NAME, node:NAME), e.g. 'daily "
         "02:00-04:00' (UTC; operator).",
         2, 2, set_opts},
        "PUT",
        "/v1/change-windows",
        NULL,
        NULL,
        0,
        window_cols,
        sizeof window_cols / sizeof window_cols[0]};
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err err = {0};
    json_t *body = NULL, *ans = NULL;
    const char *path;
    int rc = al_args_parse(&a, &s.cmd, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, s.prefix);
    al_path_seg(&p, a.pos[0]);
    if (!(path = al_path_str(&p, &err)))
        return al_args_usage_error(&a, err.msg, NULL);
    if (!(body = json_pack("{s:s,s:b}", "windows", a.pos[1], "auto_apply",
                           al_args_get(&a, "auto-apply") != NULL)))
        return al_args_usage_error(&a, "WINDOWS must be UTF-8 text", NULL);
    if ((rc = al_conn_open(&c, &a)) == AL_EXIT_OK &&
        (rc = al_conn_call(&c, "PUT", path, body, NULL, &ans)) == AL_EXIT_OK)
        al_conn_print(&c, ans, s.cols, s.ncols);
    al_conn_close(&c);
    json_decref(body);
    return rc;
}

static int window_remove(int argc, char **argv)
{
    static const struct al_col removed_cols[] = {{"scope", "scope"}, {"removed", "removed"}};
    static const struct al_call_spec s = {
        {"allot window remove SCOPE",
         "Remove SCOPE's change window (operator); the zone's or the default applies then.", 1, 1,
         NULL},
        "DELETE",
        "/v1/change-windows",
        NULL,
        NULL,
        0,
        removed_cols,
        sizeof removed_cols / sizeof removed_cols[0]};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_window(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list the change windows", window_list},
        {"set", "set a scope's change window (default, zone:NAME, node:NAME)", window_set},
        {"remove", "remove a scope's change window", window_remove},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot window", cmds, argc, argv);
}
