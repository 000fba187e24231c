/* cmd_availability.c — `allot availability`: free whole GPUs and MIG instances of a model over
 * a window, answered from the server's calendar. */
#include "cli/conn.h"

static const struct al_opt avail_opts[] = {
    {"model", AL_ARG_STR, "model", "GPU model, e.g. H100-80GB (required)"},
    {"start", AL_ARG_TIME, "start", "window start (default now)"},
    {"end", AL_ARG_TIME, "end", "window end (default one hour after now)"},
    {"profile", AL_ARG_STR, "profile", "only this MIG profile"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

int al_cmd_availability(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot availability --model M [--start T --end T] [--profile P]",
         "Free whole GPUs and MIG instances of a model during a window.", 0, 0, avail_opts},
        "GET",
        "/v1/availability",
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
        return al_args_usage_error(&a, "--model is required", NULL);
    if (!a.val[1] && !a.val[2]) { /* a sensible first look: the next hour */
        a.val[1] = "now";
        a.val[2] = "+1h";
    } else if (!a.val[1] || !a.val[2]) {
        return al_args_usage_error(&a, "give both --start and --end, or neither", NULL);
    }
    return al_conn_run_args(&s, &a);
}
