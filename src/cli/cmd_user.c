/* cmd_user.c — `allot user create|list|me`: users and their tokens (a token is shown once). */
#include "cli/conn.h"

#include <stdio.h>

static const struct al_col user_cols[] = {
    {"ID", "id"}, {"NAME", "name"}, {"ROLE", "role"}, {"ORG", "org"}, {"CREATED", "created_at"},
};

static const struct al_opt create_opts[] = {
    {"role", AL_ARG_STR, "role", "operator, org_admin, member or agent (required)"},
    {"org", AL_ARG_STR, "org", "organization (id, name or customer code) for org roles"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt list_opts[] = {
    {"org", AL_ARG_STR, "org", "only this organization's users"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

/* The token is the point of `user create`: print it alone on its own line, easy to capture. */
static int user_create(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot user create NAME --role ROLE [--org ORG]",
        "Create a user and print its token (shown only this once).", 1, 1, create_opts};
    struct al_args a;
    struct al_conn c = {0};
    json_t *body = NULL, *ans = NULL;
    char kbuf[48];
    const char *key;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!al_args_get(&a, "role"))
        return al_args_usage_error(&a, "--role is required", NULL);
    body = json_pack("{s:s}", "name", a.pos[0]);
    if (!body || al_args_to_json(&a, body) < 0 ||
        !(key = al_conn_idem_key(&a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "POST", "/v1/users", body, key, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans);
        goto out;
    }
    json_t *u = json_object_get(ans, "user");
    const char *org = json_string_value(json_object_get(u, "org"));
    printf("created user %s (%s, role %s%s%s)\n", jstr(u, "name"), jstr(u, "id"), jstr(u, "role"),
           org ? ", org " : "", org ? org : "");
    if (json_is_string(json_object_get(ans, "token"))) {
        printf("token (shown only now): %s\n", jstr(ans, "token"));
    } else { /* a retry's replay after a server restart: the token was shown once, then */
        fprintf(stderr, "allot user create: the server withholds the token (shown once, to the "
                        "first answer of this Idempotency-Key)\n");
        rc = AL_EXIT_NO;
    }
    json_decref(ans);
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}

static int user_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot user list", "List users (operators: all; org admins: their org).", 0, 0, list_opts},
        "GET",
        "/v1/users",
        NULL,
        NULL,
        0,
        user_cols,
        sizeof user_cols / sizeof user_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int user_me(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot user me", "Show who the token belongs to.", 0, 0, NULL},
        "GET",
        "/v1/me",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_user(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "create a user and print its token", user_create},
        {"list", "list users", user_list},
        {"me", "show the token's user", user_me},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot user", cmds, argc, argv);
}
