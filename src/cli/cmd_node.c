/* cmd_node.c — `allot node list|show`: the inventory the agents report (operators), with
 * the state of each node (online | offline) and GPU (available, or why not). */
#include "cli/conn.h"

static const struct al_col node_cols[] = {
    {"NAME", "name"},           {"ZONE", "zone"},  {"STATUS", "status"},
    {"LAST SEEN", "last_seen"}, {"GPUS", "#gpus"}, {"AVAILABLE", "gpus_available"},
};

static const struct al_opt list_opts[] = {
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int node_list(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot node list",
                                           "List nodes with their state and GPU count (operator).",
                                           0, 0, list_opts},
                                          "GET",
                                          "/v1/nodes",
                                          NULL,
                                          NULL,
                                          0,
                                          node_cols,
                                          sizeof node_cols / sizeof node_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int node_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot node show NAME",
         "Show a node and its GPUs, each with its status: available, offline (its node), missing "
         "(no longer reported), model_mismatch, unhealthy or drained.",
         1, 1, NULL},
        "GET",
        "/v1/nodes",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_node(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list nodes", node_list},
        {"show", "show a node and its GPUs", node_show},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot node", cmds, argc, argv);
}
