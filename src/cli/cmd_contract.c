/* cmd_contract.c — `allot contract create|amend|show|list|end`: an org's contracts (operators
 * write them; an org's users read their own). Amounts are typed in currency units and sent as
 * micro-units. Frozen per-model rates (`rates`) are set over the API only (docs/api.md). */
#include "cli/conn.h"

#define COLS(cols) (cols), sizeof(cols) / sizeof((cols)[0])

static const struct al_col list_cols[] = {
    {"ID", "id"},           {"ORG", "org"},     {"VERSION", "version"}, {"TERMS", "terms"},
    {"FROM", "valid_from"}, {"TO", "valid_to"}, {"ENDED", "ended_at"},
};

static const struct al_col brief_cols[] = {
    {"ID", "id"},           {"VERSION", "version"}, {"TERMS", "terms"},
    {"FROM", "valid_from"}, {"TO", "valid_to"},     {"ENDED", "ended_at"},
};

/* The fields of a contract, for create (with --org and --terms) and amend. */
#define CONTRACT_OPTS                                                                              \
    {"valid-from", AL_ARG_TIME, "valid_from", "start of validity (default now)"},                  \
        {"valid-to", AL_ARG_TIME, "valid_to", "end of validity (create: required)"},               \
        {"granularity", AL_ARG_STR, "granularity", "second|minute|hour (default hour)"},           \
        {"min-hours", AL_ARG_INT, "min_hours", "hour granularity: the minimum billed"},            \
        {"draw-period", AL_ARG_STR, "draw_period", "hour|day: balance draws, invoiced accruals"},  \
        {"discount-bp", AL_ARG_INT, "discount_bp", "discount on list prices, basis points"},       \
        {"cancel-fee", AL_ARG_MONEY, "cancel_fee_micros", "fixed cancellation fee, USD"},          \
        {"cancel-fee-bp", AL_ARG_INT, "cancel_fee_bp", "cancellation fee, bp of the unused part"}, \
        {"admin-may-cancel-active", AL_ARG_BOOL, "admin_may_cancel_active",                        \
         "org admins may cancel an active prepaid reservation"},                                   \
        {"self-service", AL_ARG_BOOL, "self_service", "the org may reserve in one call"},          \
        {"after-window", AL_ARG_STR, "after_window", "stop|payg: containers after a window"},      \
        {"credit-limit", AL_ARG_MONEY, "credit_limit_micros", "credit limit, USD"},                \
        {"max-concurrent-gpus", AL_ARG_INT, "max_concurrent_gpus", "GPUs held at once"},           \
        {"max-reservation-s", AL_ARG_INT, "max_reservation_s", "longest reservation, seconds"},    \
        {"max-reservations-ahead", AL_ARG_INT, "max_reservations_ahead",                           \
         "reservations booked, not started"},                                                      \
    {                                                                                              \
        "monthly-spend-cap", AL_ARG_MONEY, "monthly_spend_cap_micros", "spend per month, USD"      \
    }

static const struct al_opt create_opts[] = {
    {"org", AL_ARG_STR, "org", "the org (id, name or customer code; required)"},
    {"terms", AL_ARG_STR, "terms", "prepaid|balance|invoiced (required)"},
    CONTRACT_OPTS,
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt amend_opts[] = {
    CONTRACT_OPTS,
    {"terms", AL_ARG_STR, "terms", "prepaid|balance|invoiced"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt show_opts[] = {
    {"version", AL_ARG_INT, "version", "this version (default the newest)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt list_opts[] = {
    {"org", AL_ARG_STR, "org", "one org's (operator; the org's id)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int contract_create(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot contract create --org ORG --terms T --valid-to TIME …",
         "Create an org's contract (operator).", 0, 0, create_opts},
        "POST",
        "/v1/contracts",
        NULL,
        NULL,
        0,
        COLS(brief_cols)};
    return al_conn_run(&s, argc, argv);
}

static int contract_amend(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot contract amend ID [--FIELD VALUE …]",
         "Amend a contract: a new version with the fields given changed (operator).", 1, 1,
         amend_opts},
        "POST",
        "/v1/contracts",
        NULL,
        "amend",
        0,
        COLS(brief_cols)};
    return al_conn_run(&s, argc, argv);
}

static int contract_show(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot contract show ID [--version N]",
                                           "Show a contract (a version of it).", 1, 1, show_opts},
                                          "GET",
                                          "/v1/contracts",
                                          NULL,
                                          NULL,
                                          0,
                                          NULL,
                                          0};
    return al_conn_run(&s, argc, argv);
}

static int contract_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot contract list", "List contracts (an org's users: their org's).", 0, 0, list_opts},
        "GET",
        "/v1/contracts",
        NULL,
        NULL,
        0,
        COLS(list_cols)};
    return al_conn_run(&s, argc, argv);
}

static int contract_end(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot contract end ID", "End a contract now (operator).", 1, 1, NULL},
        "POST",
        "/v1/contracts",
        NULL,
        "end",
        0,
        COLS(brief_cols)};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_contract(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "create an org's contract (operator)", contract_create},
        {"amend", "a new version of a contract (operator)", contract_amend},
        {"show", "show a contract", contract_show},
        {"list", "list contracts", contract_list},
        {"end", "end a contract (operator)", contract_end},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot contract", cmds, argc, argv);
}
