/* cmd_agent.c — `allot agent --driver sim`: reports a simulated fleet to the server, one
 * PUT /v1/nodes/{name} per node per heartbeat. (The full agent — MIG changes, containers, the
 * nvml driver — is a later issue; this is its inventory half.) */
#include "agent/simfleet.h"
#include "cli/args.h"
#include "cli/conn.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t al_agent_stop;

static void on_signal(int sig)
{
    (void)sig;
    al_agent_stop = 1;
}

static const struct al_opt agent_opts[] = {
    {"driver", AL_ARG_STR, NULL, "GPU driver: sim (nvml comes with the full agent)"},
    {"fleet", AL_ARG_STR, NULL, "fleet file (JSON) for the sim driver (required)"},
    {"interval", AL_ARG_INT, NULL, "seconds between heartbeats (default 15, 1..3600)"},
    {"once", AL_ARG_BOOL, NULL, "report once and exit"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int sleep_interval(long seconds)
{
    for (long s = 0; s < seconds && !al_agent_stop; s++) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return !al_agent_stop;
}

static int beat(const struct al_simfleet *f, struct al_conn *c, int once)
{
    struct al_err err = {0};
    size_t failed = 0;
    int ok = al_simfleet_report(f, c->client, &failed, &err);
    if (failed)
        fprintf(stderr, "allot agent: %zu of %zu nodes not reported; first: %s\n", failed,
                al_simfleet_count(f), err.msg);
    if (once || failed)
        fprintf(failed ? stderr : stdout, "allot agent: reported %d nodes, %zu GPUs to %s\n", ok,
                al_simfleet_gpus(f), al_client_server(c->client));
    if (!failed)
        return AL_EXIT_OK;
    return err.code == AL_E_IO || err.code == AL_E_INTERNAL ? AL_EXIT_FAIL : AL_EXIT_NO;
}

static int run(const struct al_args *a, long interval)
{
    struct al_simfleet *f = NULL;
    struct al_conn c = {0};
    struct al_err err = {0};
    int once = al_args_get(a, "once") != NULL, rc;
    if (al_simfleet_load(al_args_get(a, "fleet"), &f, &err) < 0) {
        fprintf(stderr, "allot agent: %s\n", err.msg);
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, a)) != AL_EXIT_OK)
        goto out;
    struct sigaction sa = {.sa_handler = on_signal};
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
        fputs("allot agent: cannot install signal handlers\n", stderr);
        rc = AL_EXIT_FAIL;
        goto out;
    }
    do {
        rc = beat(f, &c, once);
        if (once)
            break;
    } while (sleep_interval(interval));
out:
    al_conn_close(&c);
    al_simfleet_free(f);
    return once ? rc : (rc == AL_EXIT_USAGE ? rc : AL_EXIT_OK);
}

int al_cmd_agent(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot agent --driver sim --fleet FILE [--interval S] [--once]",
        "Report a simulated fleet to the server (PUT /v1/nodes/{name} per node, every interval).",
        0, 0, agent_opts};
    struct al_args a;
    long interval = 15;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    const char *drv = al_args_get(&a, "driver"), *iv = al_args_get(&a, "interval");
    if (drv && strcmp(drv, "sim") != 0)
        return al_args_usage_error(&a, "only --driver sim exists for now, not", drv);
    if (!al_args_get(&a, "fleet"))
        return al_args_usage_error(&a, "--fleet is required", NULL);
    if (iv) {
        long long n;
        if (al_args_int(iv, &n) < 0 || n < 1 || n > 3600)
            return al_args_usage_error(&a, "--interval: 1..3600 seconds, not", iv);
        interval = (long)n;
    }
    return run(&a, interval);
}
