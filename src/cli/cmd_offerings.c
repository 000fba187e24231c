/* cmd_offerings.c — `allot offerings`: the priced windows the server can sell now for an ask
 * (GET /v1/offerings), each with the id a self-service reservation takes. */
#include "cli/conn.h"

static const struct al_opt offer_opts[] = {
    {"org", AL_ARG_STR, "org", "organization (operator: required; org admin: own)"},
    {"kind", AL_ARG_STR, "kind", "gpu (default) or mig"},
    {"model", AL_ARG_STR, "model", "GPU model, e.g. H100-80GB"},
    {"min-memory", AL_ARG_INT, "min_memory_gb", "at least this many GB per GPU / instance"},
    {"count", AL_ARG_INT, "count", "number of GPUs or instances (default 1)"},
    {"profile", AL_ARG_STR, "profile", "MIG profile, e.g. 3g.40gb (kind mig)"},
    {"instance-memory", AL_ARG_INT, "instance_memory_gb", "GB per MIG instance (kind mig)"},
    {"duration", AL_ARG_STR, "duration", "length: hours (24, 24h) or days (2d) (required)"},
    {"earliest", AL_ARG_TIME, "earliest", "earliest start (default now)"},
    {"latest", AL_ARG_TIME, "latest", "latest start (default earliest + 7 days)"},
    {"min-tflops-bf16", AL_ARG_INT, "min_tflops_bf16", "at least N dense BF16 TFLOPS per GPU"},
    {"min-memory-bandwidth-gbs", AL_ARG_INT, "min_memory_bandwidth_gbs",
     "at least N GB/s of memory bandwidth per GPU / instance"},
    {"label", AL_ARG_PAIRS, "labels", "only nodes labelled k=v (repeatable: all must match)"},
    {"same-node", AL_ARG_BOOL, "same_node", "all GPUs on one node"},
    {"zone", AL_ARG_STR, "zone", "zone of the nodes"},
    {"limit", AL_ARG_INT, "limit", "at most N offerings (1..50, default 10)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_col offer_cols[] = {
    {"MODEL", "model"},
    {"PROFILE", "profile"},
    {"COUNT", "count"},
    {"START", "start"},
    {"END", "end"},
    {"TOTAL", "total_micros"},
    {"VALID_UNTIL", "valid_until"},
    {"ID", "id"},
};

int al_cmd_offerings(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot offerings --duration 24h [--model M | --min-memory GB] [--count N] …",
         "Priced windows that fit now (valid 5 minutes), to reserve self-service.", 0, 0,
         offer_opts},
        "GET",
        "/v1/offerings",
        NULL,
        NULL,
        0,
        offer_cols,
        sizeof offer_cols / sizeof offer_cols[0]};
    struct al_args a;
    int rc = al_args_parse(&a, &s.cmd, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!a.val[7])
        return al_args_usage_error(&a, "--duration is required", NULL);
    if (!a.val[1])
        a.val[1] = "gpu";
    if (!a.val[4])
        a.val[4] = "1";
    if (a.val[13]) /* a switch: the query says it in words */
        a.val[13] = "true";
    return al_conn_run_args(&s, &a);
}
