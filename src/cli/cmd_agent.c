/* cmd_agent.c — `allot agent --driver sim`: the flags of the node agent; the heartbeat loop
 * itself is agent/agent.c. */
#include "agent/agent.h"
#include "cli/args.h"
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>

static const struct al_opt agent_opts[] = {
    {"driver", AL_ARG_STR, NULL, "GPU driver: sim (nvml comes with the full agent)"},
    {"fleet", AL_ARG_STR, NULL, "fleet file (JSON) for the sim driver (required)"},
    {"interval", AL_ARG_INT, NULL, "seconds between heartbeats (default 15, 1..3600)"},
    {"once", AL_ARG_BOOL, NULL, "report once and exit"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* Load the fleet (refused before anything is sent: exit 2), connect, run the loop. */
static int run(const struct al_args *a, const struct al_agent_cfg *cfg)
{
    struct al_agent *agent = NULL;
    struct al_conn c = {0};
    struct al_err err = {0};
    int rc;
    if (al_agent_new(cfg, &agent, &err) < 0) {
        fprintf(stderr, "allot agent: %s\n", err.msg);
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, a)) != AL_EXIT_OK)
        goto out;
    rc = al_agent_run(agent, c.client, &err);
    if (rc == 0)
        rc = AL_EXIT_OK;
    else if (rc == AL_E_IO || rc == AL_E_INTERNAL || !cfg->once) /* !once: the signal handlers */
        rc = AL_EXIT_FAIL;
    else
        rc = AL_EXIT_NO;
out:
    al_conn_close(&c);
    al_agent_free(agent);
    return rc;
}

int al_cmd_agent(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot agent --driver sim --fleet FILE [--interval S] [--once]",
        "Report a simulated fleet to the server (PUT /v1/nodes/{name} per node, every interval).",
        0, 0, agent_opts};
    struct al_args a;
    struct al_agent_cfg cfg = {.interval = 15};
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    const char *drv = al_args_get(&a, "driver"), *iv = al_args_get(&a, "interval");
    if (drv && strcmp(drv, "sim") != 0)
        return al_args_usage_error(&a, "only --driver sim exists for now, not", drv);
    if (!(cfg.fleet = al_args_get(&a, "fleet")))
        return al_args_usage_error(&a, "--fleet is required", NULL);
    if (iv) {
        long long n;
        if (al_args_int(iv, &n) < 0 || n < AL_AGENT_INTERVAL_MIN || n > AL_AGENT_INTERVAL_MAX)
            return al_args_usage_error(&a, "--interval: 1..3600 seconds, not", iv);
        cfg.interval = (long)n;
    }
    cfg.once = al_args_get(&a, "once") != NULL;
    return run(&a, &cfg);
}
