/* cmd_org.c — `allot org create|list|show`: organizations (operators create them). */
#include "cli/conn.h"

#define AL_IDEM_OPT                                                                                \
    {                                                                                              \
        "idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"                   \
    }

static const struct al_col org_cols[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"CUSTOMER CODE", "customer_code"},
    {"DISPLAY NAME", "display_name"},
    {"CREATED", "created_at"},
};
#define NCOLS (sizeof org_cols / sizeof org_cols[0])

static const struct al_opt create_opts[] = {
    {"customer-code", AL_ARG_STR, "customer_code", "customer code (unique, optional)"},
    {"display-name", AL_ARG_STR, "display_name", "name shown to people"},
    AL_IDEM_OPT,
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt list_opts[] = {
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int org_create(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org create NAME", "Create an organization (operator).", 1, 1, create_opts},
        "POST",
        "/v1/orgs",
        "name",
        NULL,
        1,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int org_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org list", "List organizations (operators see all, others their own).", 0, 0,
         list_opts},
        "GET",
        "/v1/orgs",
        NULL,
        NULL,
        0,
        org_cols,
        NCOLS};
    return al_conn_run(&s, argc, argv);
}

static int org_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org show ID|NAME|CUSTOMER_CODE", "Show one organization.", 1, 1, NULL},
        "GET",
        "/v1/orgs",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_org(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "create an organization (operator)", org_create},
        {"list", "list organizations", org_list},
        {"show", "show one organization", org_show},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot org", cmds, argc, argv);
}
