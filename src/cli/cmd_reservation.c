/* cmd_reservation.c — `allot reservation list|show|cancel|extend|shorten|assign|unassign`. */
#include "cli/conn.h"

#define AL_END_OPT                                                                                 \
    {                                                                                              \
        NULL, AL_ARG_STR, NULL, NULL                                                               \
    }

static const struct al_col rsv_cols[] = {
    {"ID", "id"},
    {"ORG", "org_name"},
    {"STATE", "state"},
    {"KIND", "kind"},
    {"START", "start"},
    {"END", "end"},
    {"TOTAL", "total_micros"},
    {"TERMS", "payment_terms"},
    {"REQUEST", "request"},
};

/* After a change: the id, the state, and what the change moved (the end, the total). */
static const struct al_col brief_cols[] = {
    {"id", "id"},
    {"state", "state"},
};
static const struct al_col extended_cols[] = {
    {"id", "id"},
    {"state", "state"},
    {"end", "end"},
    {"total", "total_micros"},
};

static const struct al_opt list_opts[] = {
    {"state", AL_ARG_STR, "state", "scheduled, provisioning, active, ended or cancelled"},
    {"org", AL_ARG_STR, "org", "only this organization's reservations (operator)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    AL_END_OPT,
};

static const struct al_opt cancel_opts[] = {
    {"reason", AL_ARG_STR, "reason", "why (optional)"},
    AL_END_OPT,
};

static const struct al_opt extend_opts[] = {
    {"end", AL_ARG_TIME, "end", "the new, later end (required)"},
    AL_END_OPT,
};

static const struct al_opt shorten_opts[] = {
    {"end", AL_ARG_TIME, "end", "the new, earlier end (required)"},
    AL_END_OPT,
};

/* After a shortening: the new end, the refund and the fee kept. */
static const struct al_col shortened_cols[] = {
    {"id", "id"},
    {"state", "state"},
    {"end", "end"},
    {"total", "total_micros"},
    {"refund", "refund_micros"},
    {"fee", "fee_micros"},
};

/* An assignment: which unit of which reservation, to whom. */
static const struct al_col assign_cols[] = {
    {"reservation", "reservation"},
    {"unit", "unit"},
    {"user", "user"},
};

static int rsv_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot reservation list", "List reservations.", 0, 0, list_opts},
        "GET",
        "/v1/reservations",
        NULL,
        NULL,
        0,
        rsv_cols,
        sizeof rsv_cols / sizeof rsv_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int rsv_show(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot reservation show ID",
                                           "Show a reservation with its GPUs / MIG instances.", 1,
                                           1, NULL},
                                          "GET",
                                          "/v1/reservations",
                                          NULL,
                                          NULL,
                                          0,
                                          NULL,
                                          0};
    return al_conn_run(&s, argc, argv);
}

static int rsv_cancel(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot reservation cancel ID [--reason TEXT]",
                                           "Cancel a reservation (operator or org admin).", 1, 1,
                                           cancel_opts},
                                          "POST",
                                          "/v1/reservations",
                                          NULL,
                                          "cancel",
                                          0,
                                          brief_cols,
                                          sizeof brief_cols / sizeof brief_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int rsv_extend(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot reservation extend ID --end TIME",
         "Renew: the same reservation gets a later end when capacity allows.", 1, 1, extend_opts},
        "POST",
        "/v1/reservations",
        NULL,
        "extend",
        0,
        extended_cols,
        sizeof extended_cols / sizeof extended_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int rsv_shorten(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot reservation shorten ID --end TIME",
         "End a reservation earlier (never before the end of the hour in progress); the time "
         "given up is refunded per the contract (operator or org admin).",
         1, 1, shorten_opts},
        "POST",
        "/v1/reservations",
        NULL,
        "shorten",
        0,
        shortened_cols,
        sizeof shortened_cols / sizeof shortened_cols[0]};
    return al_conn_run(&s, argc, argv);
}

/* PUT (user given) or DELETE /v1/reservations/RSV/assignments/UNIT; prints the assignment, or
 * nothing after an unassignment (the server answers 204). */
static int assign_call(const struct al_cmd_spec *spec, int argc, char **argv)
{
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err err = {0};
    json_t *body = NULL, *ans = NULL;
    const char *path;
    int rc = al_args_parse(&a, spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, "/v1/reservations");
    al_path_seg(&p, a.pos[0]);
    al_path_seg(&p, "assignments");
    al_path_seg(&p, a.pos[1]);
    if (!(path = al_path_str(&p, &err)))
        return al_args_usage_error(&a, err.msg, NULL);
    if (a.npos == 3 && !(body = json_pack("{s:s}", "user", a.pos[2])))
        return al_args_usage_error(&a, "out of memory", NULL);
    if ((rc = al_conn_open(&c, &a)) == AL_EXIT_OK &&
        (rc = al_conn_call(&c, body ? "PUT" : "DELETE", path, body, NULL, &ans)) == AL_EXIT_OK &&
        ans) {
        al_conn_print(&c, ans, assign_cols, sizeof assign_cols / sizeof *assign_cols);
        ans = NULL; /* released by the print */
    }
    json_decref(ans);
    json_decref(body);
    al_conn_close(&c);
    return rc;
}

static int rsv_assign(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot reservation assign RSV UNIT USER",
        "Give unit UNIT (an allocation index: a GPU or MIG instance) of reservation RSV to USER, "
        "a member of its org (org admin or operator); it replaces any earlier assignment.",
        3, 3, NULL};
    return assign_call(&spec, argc, argv);
}

static int rsv_unassign(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot reservation unassign RSV UNIT",
        "Take unit UNIT of reservation RSV back from its member: every member may use it again "
        "(org admin or operator).",
        2, 2, NULL};
    return assign_call(&spec, argc, argv);
}

int al_cmd_reservation(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list reservations", rsv_list},
        {"show", "show a reservation", rsv_show},
        {"cancel", "cancel a reservation", rsv_cancel},
        {"extend", "give a reservation a later end", rsv_extend},
        {"shorten", "give a reservation an earlier end (refunded per the contract)", rsv_shorten},
        {"assign", "give a reservation's GPU or MIG instance to a member", rsv_assign},
        {"unassign", "take a reservation's GPU or MIG instance back from its member", rsv_unassign},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot reservation", cmds, argc, argv);
}
