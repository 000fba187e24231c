/* cmd_request.c — `allot request …`: the request → quote → approve → accept → confirm flow. */
#include "cli/conn.h"

#define AL_IDEM_OPT                                                                                \
    {                                                                                              \
        "idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"                   \
    }
#define AL_END_OPT                                                                                 \
    {                                                                                              \
        NULL, AL_ARG_STR, NULL, NULL                                                               \
    }

static const struct al_col req_cols[] = {
    {"ID", "id"},
    {"ORG", "org_name"},
    {"STATE", "state"},
    {"KIND", "kind"},
    {"MODEL", "model"},
    {"PROFILE", "profile"},
    {"COUNT", "count"},
    {"START", "quote.start"},
    {"END", "quote.end"},
    {"TOTAL", "quote.total_micros"},
    {"RESERVATION", "reservation"},
};
#define NCOLS (sizeof req_cols / sizeof req_cols[0])

/* What a person needs after each step of the flow (the id to pass on, the state, and what
 * the step decided); `request show` and -o json have everything. */
static const struct al_col brief_cols[] = {
    {"id", "id"},
    {"state", "state"},
};
static const struct al_col created_cols[] = {
    {"id", "id"},       {"state", "state"}, {"model", "model"},
    {"count", "count"}, {"start", "start"}, {"end", "end"},
};
static const struct al_col quoted_cols[] = {
    {"id", "id"},
    {"state", "state"},
    {"total", "quote.total_micros"},
    {"valid_until", "quote.valid_until"},
    {"allocations", "#quote.allocations"},
};
/* confirm answers with the reservation it created */
static const struct al_col confirmed_cols[] = {
    {"reservation", "id"}, {"state", "state"}, {"request", "request"},
    {"start", "start"},    {"end", "end"},     {"total", "total_micros"},
};
#define BRIEF(cols) (cols), sizeof(cols) / sizeof((cols)[0])

static const struct al_opt create_opts[] = {
    {"org", AL_ARG_STR, "org", "organization: id, name or customer code (required)"},
    {"kind", AL_ARG_STR, "kind", "gpu (dedicated whole GPUs) or mig (MIG instances)"},
    {"model", AL_ARG_STR, "model", "GPU model, e.g. H100-80GB"},
    {"min-memory", AL_ARG_INT, "min_memory_gb", "at least this many GB per GPU / instance"},
    {"count", AL_ARG_INT, "count", "number of GPUs or instances (1..1024)"},
    {"profile", AL_ARG_STR, "profile", "MIG profile, e.g. 3g.40gb (kind mig)"},
    {"instance-memory", AL_ARG_INT, "instance_memory_gb", "GB per MIG instance (kind mig)"},
    {"start", AL_ARG_TIME, "start", "window start"},
    {"end", AL_ARG_TIME, "end", "window end"},
    {"duration", AL_ARG_INT, "duration_hours", "length in hours (instead of --start/--end)"},
    {"earliest-start", AL_ARG_TIME, "earliest_start", "with --duration: earliest start"},
    {"latest-start", AL_ARG_TIME, "latest_start", "with --duration: latest start"},
    {"same-node", AL_ARG_BOOL, "same_node", "all GPUs on one node"},
    {"zone", AL_ARG_STR, "zone", "zone of the nodes"},
    {"min-tflops-bf16", AL_ARG_INT, "min_tflops_bf16", "at least N dense BF16 TFLOPS per GPU"},
    {"min-memory-bandwidth-gbs", AL_ARG_INT, "min_memory_bandwidth_gbs",
     "at least N GB/s of memory bandwidth per GPU / instance"},
    {"label", AL_ARG_PAIRS, "labels", "only nodes labelled k=v (repeatable: all must match)"},
    {"usage-window", AL_ARG_STR, "usage_window", "expected usage, e.g. 'weekdays 08-20 UTC'"},
    {"image", AL_ARG_STR, "image", "container image"},
    {"framework", AL_ARG_STR, "framework", "framework, e.g. pytorch-2.4"},
    {"workload", AL_ARG_STR, "workload", "workload description"},
    {"notes", AL_ARG_STR, "notes", "notes for the provider"},
    AL_IDEM_OPT,
    AL_END_OPT,
};

static const struct al_opt list_opts[] = {
    {"state", AL_ARG_STR, "state", "only requests in this state"},
    {"org", AL_ARG_STR, "org", "only this organization's requests (operator)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    AL_END_OPT,
};

static const struct al_opt quote_opts[] = {
    {"valid-for-minutes", AL_ARG_INT, "valid_for_minutes", "quote validity (default 1440)"},
    AL_IDEM_OPT,
    AL_END_OPT,
};

static const struct al_opt reject_opts[] = {
    {"reason", AL_ARG_STR, "reason", "why (shown to the organization)"},
    AL_END_OPT,
};

static const struct al_opt cancel_opts[] = {
    {"reason", AL_ARG_STR, "reason", "why (optional)"},
    AL_END_OPT,
};

static const struct al_opt confirm_opts[] = {
    {"payment-terms", AL_ARG_STR, "payment_terms",
     "prepaid|balance|invoiced: must be the contract's (default: the contract's)"},
    AL_IDEM_OPT,
    AL_END_OPT,
};

static int req_create(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot request create --org ORG --kind gpu|mig …",
         "Submit a request for dedicated GPUs or MIG instances over a window.", 0, 0, create_opts},
        "POST",
        "/v1/requests",
        NULL,
        NULL,
        1,
        BRIEF(created_cols)};
    return al_conn_run(&s, argc, argv);
}

static int req_list(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot request list", "List requests.", 0, 0, list_opts},
                                          "GET",
                                          "/v1/requests",
                                          NULL,
                                          NULL,
                                          0,
                                          req_cols,
                                          NCOLS};
    return al_conn_run(&s, argc, argv);
}

static int req_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot request show ID", "Show a request with its quote.", 1, 1, NULL},
        "GET",
        "/v1/requests",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int req_quote(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot request quote ID", "Quote a request (operator): placement, cost, a tentative hold.",
         1, 1, quote_opts},
        "POST",
        "/v1/requests",
        NULL,
        "quote",
        1,
        BRIEF(quoted_cols)};
    return al_conn_run(&s, argc, argv);
}

/* The plain transitions share one shape: POST /v1/requests/ID/<action>, answered with the
 * request (or, for confirm, the reservation) summarised by `brief`. */
#define AL_REQ_ACTION(fn, act, usage, what, opts, idem, brief)                                     \
    static int fn(int argc, char **argv)                                                           \
    {                                                                                              \
        static const struct al_call_spec s = {                                                     \
            {usage, what, 1, 1, opts}, "POST", "/v1/requests", NULL, act, idem, BRIEF(brief)};     \
        return al_conn_run(&s, argc, argv);                                                        \
    }

AL_REQ_ACTION(req_approve, "approve", "allot request approve ID", "Approve a quote (operator).",
              NULL, 0, brief_cols)
AL_REQ_ACTION(req_reject, "reject", "allot request reject ID --reason TEXT",
              "Reject a request (operator).", reject_opts, 0, brief_cols)
AL_REQ_ACTION(req_accept, "accept", "allot request accept ID",
              "Accept the approved quote (org admin).", NULL, 0, brief_cols)
AL_REQ_ACTION(req_confirm, "confirm", "allot request confirm ID [--payment-terms T]",
              "Confirm (operator): creates the reservation, charged per the org's contract.",
              confirm_opts, 1, confirmed_cols)
AL_REQ_ACTION(req_cancel, "cancel", "allot request cancel ID",
              "Cancel a request (operator or org admin).", cancel_opts, 0, brief_cols)

int al_cmd_request(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "submit a request", req_create},
        {"list", "list requests", req_list},
        {"show", "show a request", req_show},
        {"quote", "quote a request (operator)", req_quote},
        {"approve", "approve the quote (operator)", req_approve},
        {"reject", "reject a request (operator)", req_reject},
        {"accept", "accept the quote (org admin)", req_accept},
        {"confirm", "confirm: create the reservation (operator)", req_confirm},
        {"cancel", "cancel a request", req_cancel},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot request", cmds, argc, argv);
}
