/* cmd_node.c — `allot node list|show|token`: the inventory the agents report (operators), with
 * the state of each node (online | offline) and GPU (available, or why not), and the agent
 * token bound to a node (issued, shown once, or revoked). */
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>

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

/* The MIG state a GPU's agent reports (gpu.observed), as a column of the GPU table: "MIG off",
 * "no instance", or its instances "1g.10gb@0,3g.40gb@4"; nothing for a GPU whose agent
 * reports no MIG state. */
static void mig_column(json_t *gpu)
{
    json_t *o = json_object_get(gpu, "observed"), *in, *v;
    char buf[512];
    size_t i, n = 0;
    if (!json_is_object(o))
        return;
    in = json_object_get(o, "instances");
    if (!json_is_true(json_object_get(json_object_get(o, "mig"), "current")))
        snprintf(buf, sizeof buf, "MIG off");
    else if (json_array_size(in) == 0)
        snprintf(buf, sizeof buf, "no instance");
    json_array_foreach(in, i, v)
    {
        const char *p = json_string_value(json_object_get(v, "profile"));
        int w = snprintf(buf + n, sizeof buf - n, "%s%s@%lld", i ? "," : "", p ? p : "?",
                         (long long)json_integer_value(json_object_get(v, "start")));
        if (w < 0 || (size_t)w >= sizeof buf - n)
            break;
        n += (size_t)w;
    }
    json_object_set_new(gpu, "mig_layout", json_string(buf));
}

static int node_show(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot node show NAME",
        "Show a node and its GPUs, each with its status: available, offline (its node), missing "
        "(no longer reported), model_mismatch, unhealthy or drained; and, where its agent reports "
        "MIG state, its MIG layout (mig_layout).",
        1, 1, NULL};
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err err = {0};
    json_t *ans = NULL, *g;
    const char *path;
    size_t i;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, "/v1/nodes");
    al_path_seg(&p, a.pos[0]);
    if (!(path = al_path_str(&p, &err)))
        return al_args_usage_error(&a, err.msg, NULL);
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "GET", path, NULL, NULL, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(json_incref(ans)); /* it takes a reference */
        goto out;
    }
    json_array_foreach(json_object_get(ans, "gpus"), i, g) mig_column(g);
    al_view_object(ans, stdout);
out:
    json_decref(ans);
    al_conn_close(&c);
    return rc;
}

static const struct al_opt token_opts[] = {
    {"revoke", AL_ARG_BOOL, NULL, "revoke the node's token instead of issuing one"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* Print an issued token alone on its line, easy to capture; a replay after a server restart
 * withholds it (shown once, server/idem.c). Returns the exit status. */
static int token_print(const struct al_conn *c, json_t *ans)
{
    const char *tok = json_string_value(json_object_get(ans, "token"));
    const char *id = json_string_value(json_object_get(ans, "id"));
    if (c->fmt == AL_OUT_JSON) {
        al_out_json(json_incref(ans)); /* it takes a reference */
        return tok ? AL_EXIT_OK : AL_EXIT_NO;
    }
    printf("issued agent token %s for node %s (any earlier one is revoked)\n", id ? id : "?",
           json_string_value(json_object_get(ans, "node")));
    if (!tok) {
        fprintf(stderr, "allot node token: the server withholds the token (shown once, to the "
                        "first answer of this Idempotency-Key)\n");
        return AL_EXIT_NO;
    }
    printf("token (shown only now): %s\n", tok);
    return AL_EXIT_OK;
}

static int node_token(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot node token NODE [--revoke]",
        "Issue the agent token bound to NODE (operator), printed only this once: it may report "
        "and read that node only. Issuing again replaces it; --revoke revokes it.",
        1, 1, token_opts};
    struct al_args a;
    struct al_conn c = {0};
    json_t *ans = NULL;
    char kbuf[48], path[160];
    const char *key = NULL;
    bool revoke;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    revoke = al_args_get(&a, "revoke") != NULL;
    /* a node name's characters only, so that the path needs no escaping (the server checks
     * the rest of the rule) */
    if (!a.pos[0][0] || strlen(a.pos[0]) > 63 ||
        strspn(a.pos[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789._-") != strlen(a.pos[0]))
        return al_args_usage_error(&a, "NODE: node names are 1..63 of A-Z a-z 0-9 . _ -", NULL);
    snprintf(path, sizeof path, "/v1/nodes/%s/token", a.pos[0]);
    if (!revoke && !(key = al_conn_idem_key(&a, kbuf, sizeof kbuf)))
        return AL_EXIT_USAGE;
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, revoke ? "DELETE" : "POST", path, NULL, key, &ans)) != AL_EXIT_OK)
        goto out;
    if (!revoke)
        rc = token_print(&c, ans);
    else if (c.fmt == AL_OUT_JSON)
        al_out_json(json_incref(ans)); /* it takes a reference */
    else
        printf("revoked the agent token of node %s\n", a.pos[0]);
out:
    json_decref(ans);
    al_conn_close(&c);
    return rc;
}

int al_cmd_node(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list nodes", node_list},
        {"show", "show a node and its GPUs", node_show},
        {"token", "issue (or revoke) the agent token bound to a node", node_token},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot node", cmds, argc, argv);
}
