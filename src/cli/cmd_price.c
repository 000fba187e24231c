/* cmd_price.c — `allot price list|set|history`: the price list per GPU model (operators set it,
 * each set a new version valid from a time; a quote needs the model's price in force and names
 * its version). Amounts are typed in currency units and sent as micro-units. */
#include "cli/conn.h"

static const struct al_col price_cols[] = {
    {"MODEL", "model"},
    {"GPU-HOUR", "gpu_hour_micros"},
    {"MIG SLICE-HOUR", "mig_slice_hour_micros"},
    {"POOL GPU-HOUR", "pool_gpu_hour_micros"},
    {"CURRENCY", "currency"},
    {"VERSION", "version"},
    {"VALID FROM", "valid_from"},
};

static const struct al_col history_cols[] = {
    {"VERSION", "version"},
    {"VALID FROM", "valid_from"},
    {"GPU-HOUR", "gpu_hour_micros"},
    {"MIG SLICE-HOUR", "mig_slice_hour_micros"},
    {"POOL GPU-HOUR", "pool_gpu_hour_micros"},
    {"CREATED", "created_at"},
    {"BY", "created_by"},
};

static const struct al_opt history_opts[] = {
    {"limit", AL_ARG_INT, "limit", "at most this many versions (1..500, default 100)"},
    {"cursor", AL_ARG_STR, "cursor", "the next page, from the last answer's next_cursor"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt set_opts[] = {
    {"gpu-hour", AL_ARG_MONEY, "gpu_hour_micros", "dedicated whole GPU, per hour (required)"},
    {"mig-slice-hour", AL_ARG_MONEY, "mig_slice_hour_micros", "MIG, per compute slice-hour"},
    {"pool-gpu-hour", AL_ARG_MONEY, "pool_gpu_hour_micros", "general pool, per GPU-hour"},
    {"valid-from", AL_ARG_TIME, "valid_from", "when this version takes effect (default now)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int price_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot price list", "Show the price list (USD).", 0, 0, NULL},
        "GET",
        "/v1/prices",
        NULL,
        NULL,
        0,
        price_cols,
        sizeof price_cols / sizeof price_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int price_set(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot price set MODEL --gpu-hour USD [--mig-slice-hour USD] [--pool-gpu-hour USD]"
         " [--valid-from TIME]",
         "Set a model's prices as a new version (operator), e.g. --gpu-hour 2.50.", 1, 1, set_opts},
        "PUT",
        "/v1/prices",
        NULL,
        NULL,
        0,
        NULL,
        0};
    struct al_args a;
    int rc = al_args_parse(&a, &s.cmd, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!a.val[0])
        return al_args_usage_error(&a, "--gpu-hour is required", NULL);
    return al_conn_run_args(&s, &a);
}

static int price_history(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot price history MODEL [--limit N] [--cursor C]",
                                           "Show a model's price versions, oldest first (USD).", 1,
                                           1, history_opts},
                                          "GET",
                                          "/v1/prices",
                                          NULL,
                                          "history",
                                          0,
                                          history_cols,
                                          sizeof history_cols / sizeof history_cols[0]};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_price(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "show the price list", price_list},
        {"set", "set a model's prices: a new version (operator)", price_set},
        {"history", "show a model's price versions", price_history},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot price", cmds, argc, argv);
}
