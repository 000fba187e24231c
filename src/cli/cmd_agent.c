/* cmd_agent.c — `allot agent --driver sim|nvml`: the flags of the node agent; the loop itself
 * is agent/agent.c. Three ways to run it:
 *   --driver sim --fleet FILE            a simulated fleet (many nodes, heartbeat only)
 *   --driver sim --state FILE [--node N] one simulated node (agent/drv_sim.c's state file)
 *   --driver nvml [--node N]             this host's GPUs through NVML
 * With a driver the agent is a reconcile loop (report, desired state, MIG changes applied);
 * --journal FILE keeps the results not delivered yet across a restart; --runtime
 * docker-api:SOCKET | process[:DIR] runs the node's containers (agent/agentctr.h), with
 * --gpu-requests asking Docker's NVIDIA toolkit for each device; --pool general reports the
 * node's GPUs in the general (pay-as-you-go) pool. The server and token
 * are the CLI's connection options (--server, --token, ALLOT_SERVER, ALLOT_TOKEN), or
 * --token-file, a file holding the token (what a service's config file names). --observe
 * prints what the driver sees (JSON) and exits, without a server. */
#include "agent/agent.h"
#include "cli/args.h"
#include "cli/config.h"
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct al_opt agent_opts[] = {
    {"driver", AL_ARG_STR, NULL, "GPU driver: sim (default) or nvml"},
    {"fleet", AL_ARG_STR, NULL, "sim: a simulated fleet file (JSON), many nodes"},
    {"state", AL_ARG_STR, NULL, "sim: one simulated node's state file (JSON; docs/agent.md)"},
    {"node", AL_ARG_STR, NULL, "with --state or nvml: the node's name (default: the host name)"},
    {"journal", AL_ARG_STR, NULL,
     "with a driver: a file keeping MIG-change results until the server takes them"},
    {"runtime", AL_ARG_STR, NULL,
     "with a driver: the container runtime, docker-api:SOCKET or process[:DIR]"},
    {"gpu-requests", AL_ARG_BOOL, NULL,
     "docker-api: also ask for the device as HostConfig.DeviceRequests (NVIDIA toolkit)"},
    {"pool", AL_ARG_STR, NULL,
     "with a driver: the pool of the node's GPUs, dedicated (default) or general"},
    {"interval", AL_ARG_INT, NULL, "seconds between heartbeats (default 15, 1..3600)"},
    {"once", AL_ARG_BOOL, NULL, "report once and exit"},
    {"token-file", AL_ARG_STR, NULL,
     "a file holding the bearer token (when --token is not given; 0600, one line)"},
    {"observe", AL_ARG_BOOL, NULL, "print what the driver observes (JSON) and exit"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_cmd_spec agent_spec = {
    "allot agent [--driver sim] --fleet FILE | [--driver sim] --state FILE [--node N] "
    "[--journal FILE] | --driver nvml [--node N] [--journal FILE]  [--runtime "
    "docker-api:SOCKET [--gpu-requests] | --runtime process[:DIR]] [--pool general] "
    "[--server URL] "
    "[--token T | --token-file FILE] [--interval S] [--once] [--observe]",
    "Report GPUs to the server every interval: a simulated fleet (heartbeat only), or one "
    "node through a driver (sim or NVML) as a reconcile loop that applies the MIG changes "
    "the server approved and recreates the desired layout after a reboot; with --runtime, "
    "it also runs the node's containers and reports them.",
    0, 0, agent_opts};

/* Open the agent (a fleet or state file refused before anything is sent: exit 2), then
 * observe, or connect and run the loop. */
static int run(const struct al_args *a, const struct al_agent_cfg *cfg, bool observe)
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
    if (observe) {
        rc = al_agent_observe(agent, stdout, &err) < 0 ? AL_EXIT_FAIL : AL_EXIT_OK;
        if (rc != AL_EXIT_OK)
            fprintf(stderr, "allot agent: %s\n", err.msg);
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

/* The flags of a node run by a driver: its container runtime and its GPUs' pool. */
static int node_opts(struct al_args *a, struct al_agent_cfg *cfg)
{
    cfg->runtime = al_args_get(a, "runtime");
    cfg->gpu_requests = al_args_get(a, "gpu-requests") != NULL;
    if (cfg->fleet && cfg->runtime)
        return al_args_usage_error(a, "--runtime is for a driver (--state or nvml), not --fleet",
                                   NULL);
    if (cfg->runtime && strncmp(cfg->runtime, "docker-api:/", 12) != 0 &&
        strcmp(cfg->runtime, "process") != 0 && strncmp(cfg->runtime, "process:", 8) != 0)
        return al_args_usage_error(a, "--runtime: docker-api:/PATH/TO/SOCKET or process[:DIR], not",
                                   cfg->runtime);
    const char *pool = al_args_get(a, "pool");
    if (pool && cfg->fleet)
        return al_args_usage_error(a,
                                   "--pool is for a driver (--state or nvml); a fleet file"
                                   " names each GPU's pool",
                                   NULL);
    if (pool && strcmp(pool, "general") != 0 && strcmp(pool, "dedicated") != 0)
        return al_args_usage_error(a, "--pool: dedicated or general, not", pool);
    cfg->general_pool = pool && strcmp(pool, "general") == 0;
    if (cfg->gpu_requests && (!cfg->runtime || strncmp(cfg->runtime, "docker-api:", 11) != 0))
        return al_args_usage_error(a, "--gpu-requests is for --runtime docker-api:SOCKET", NULL);
    return 0;
}

/* Which source the flags pick (agent.h): a fleet file, or a driver for this node. */
static int pick_source(struct al_args *a, struct al_agent_cfg *cfg, char *host, size_t cap)
{
    const char *drv = al_args_get(a, "driver");
    cfg->driver = drv ? drv : "sim";
    cfg->fleet = al_args_get(a, "fleet");
    cfg->state = al_args_get(a, "state");
    cfg->node = al_args_get(a, "node");
    cfg->journal = al_args_get(a, "journal");
    if (strcmp(cfg->driver, "sim") != 0 && strcmp(cfg->driver, "nvml") != 0)
        return al_args_usage_error(a, "--driver: sim or nvml, not", cfg->driver);
    if (strcmp(cfg->driver, "nvml") == 0 && (cfg->fleet || cfg->state))
        return al_args_usage_error(a, "--fleet and --state are for --driver sim", NULL);
    if (strcmp(cfg->driver, "sim") == 0 && !cfg->fleet == !cfg->state)
        return al_args_usage_error(a, "--driver sim needs one of --fleet FILE, --state FILE", NULL);
    if (cfg->fleet && cfg->node)
        return al_args_usage_error(a, "--node: a fleet file names its nodes", NULL);
    if (cfg->fleet && cfg->journal)
        return al_args_usage_error(a, "--journal is for a driver (--state or nvml), not --fleet",
                                   NULL);
    int rc = node_opts(a, cfg);
    if (rc)
        return rc;
    if (!cfg->fleet && !cfg->node) {
        if (gethostname(host, cap) < 0 || !host[0])
            return al_args_usage_error(a, "--node is required (no host name)", NULL);
        host[cap - 1] = '\0';
        cfg->node = host;
    }
    return 0;
}

/* --token-file: the token read from a file into `buf`, when --token is not given. */
static int token_file(struct al_args *a, char *buf, size_t cap)
{
    const char *path = al_args_get(a, "token-file");
    if (!path || a->token)
        return 0;
    if (al_conn_read_line(path, buf, cap) < 0)
        return al_args_usage_error(a, "--token-file: no one-line token could be read from", path);
    a->token = buf;
    return 0;
}

static int agent_main(int argc, char **argv)
{
    char token[AL_CLIENT_MAX_TOKEN + 2];
    struct al_args a;
    struct al_agent_cfg cfg = {.interval = 15};
    char host[256] = "";
    int rc = al_args_parse(&a, &agent_spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    const char *iv = al_args_get(&a, "interval");
    bool observe = al_args_get(&a, "observe") != NULL;
    if ((rc = pick_source(&a, &cfg, host, sizeof host)) != 0)
        return rc;
    if (observe && cfg.fleet)
        return al_args_usage_error(&a, "--observe needs a driver (--state or nvml), not --fleet",
                                   NULL);
    if (iv) {
        long long n;
        if (al_args_int(iv, &n) < 0 || n < AL_AGENT_INTERVAL_MIN || n > AL_AGENT_INTERVAL_MAX)
            return al_args_usage_error(&a, "--interval: 1..3600 seconds, not", iv);
        cfg.interval = (long)n;
    }
    cfg.once = al_args_get(&a, "once") != NULL;
    if ((rc = token_file(&a, token, sizeof token)) != 0)
        return rc;
    return run(&a, &cfg, observe);
}

static void agent_help(FILE *f)
{
    al_args_help(&agent_spec, f);
}

/* The flags of /etc/allot/allot.conf's [agent] section (cli/config.h) come first. */
int al_cmd_agent(int argc, char **argv)
{
    return al_config_run("agent", agent_help, agent_main, argc, argv);
}
