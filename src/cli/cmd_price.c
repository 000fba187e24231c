/* cmd_price.c — `allot price list|set`: the price list per GPU model (operators set it; a quote
 * needs the model's price). Amounts are typed in currency units and sent as micro-units. */
#include "cli/conn.h"

static const struct al_col price_cols[] = {
    {"MODEL", "model"},
    {"GPU-HOUR", "gpu_hour_micros"},
    {"MIG SLICE-HOUR", "mig_slice_hour_micros"},
    {"POOL GPU-HOUR", "pool_gpu_hour_micros"},
    {"CURRENCY", "currency"},
    {"UPDATED", "updated_at"},
};

static const struct al_opt set_opts[] = {
    {"gpu-hour", AL_ARG_MONEY, "gpu_hour_micros", "dedicated whole GPU, per hour (required)"},
    {"mig-slice-hour", AL_ARG_MONEY, "mig_slice_hour_micros", "MIG, per compute slice-hour"},
    {"pool-gpu-hour", AL_ARG_MONEY, "pool_gpu_hour_micros", "general pool, per GPU-hour"},
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
        {"allot price set MODEL --gpu-hour USD [--mig-slice-hour USD] [--pool-gpu-hour USD]",
         "Set a model's prices (operator), e.g. --gpu-hour 2.50.", 1, 1, set_opts},
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

int al_cmd_price(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "show the price list", price_list},
        {"set", "set a model's prices (operator)", price_set},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot price", cmds, argc, argv);
}
