/* agent.c — the node agent's heartbeat loop (see agent.h). */
#include "agent/agent.h"

#include "agent/simfleet.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct al_agent {
    struct al_agent_cfg cfg;
    struct al_simfleet *fleet;
};

/* Set by SIGINT/SIGTERM: a signal handler can only reach a file-scope object. */
static volatile sig_atomic_t agent_stop;

static void on_signal(int sig)
{
    (void)sig;
    agent_stop = 1;
}

int al_agent_new(const struct al_agent_cfg *cfg, struct al_agent **ret, struct al_err *reterr)
{
    struct al_agent *a = calloc(1, sizeof *a);
    int rc;
    *ret = NULL;
    if (!a)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    a->cfg = *cfg;
    if ((rc = al_simfleet_load(cfg->fleet, &a->fleet, reterr)) < 0) {
        al_agent_free(a);
        return rc;
    }
    *ret = a;
    return 0;
}

void al_agent_free(struct al_agent *a)
{
    if (!a)
        return;
    al_simfleet_free(a->fleet);
    free(a);
}

/* Sleep `seconds`, a second at a time so that a signal ends it soon. Returns whether to go on. */
static int sleep_interval(long seconds)
{
    for (long s = 0; s < seconds && !agent_stop; s++) {
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
    }
    return !agent_stop;
}

/* Read the fleet file again: the simulated GPUs' state (health, models, which GPUs exist) is
 * whatever the file says now, as a real driver reads the hardware at each heartbeat. A file
 * that no longer parses is reported and the fleet as last read stays. */
static void reread(struct al_agent *a)
{
    struct al_simfleet *fresh = NULL;
    struct al_err e = {0};
    if (al_simfleet_load(a->cfg.fleet, &fresh, &e) < 0) {
        fprintf(stderr, "allot agent: %s; reporting the fleet as last read\n", e.msg);
        return;
    }
    al_simfleet_free(a->fleet);
    a->fleet = fresh;
}

/* One heartbeat: every node PUT once. Returns 0, or the first failure's code (in reterr). */
static int beat(const struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    const struct al_simfleet *f = a->fleet;
    size_t failed = 0;
    int ok = al_simfleet_report(f, c, &failed, reterr);
    if (failed)
        fprintf(stderr, "allot agent: %zu of %zu nodes not reported; first: %s\n", failed,
                al_simfleet_count(f), reterr->msg);
    if (a->cfg.once || failed)
        fprintf(failed ? stderr : stdout, "allot agent: reported %d nodes, %zu GPUs to %s\n", ok,
                al_simfleet_gpus(f), al_client_server(c));
    if (!failed)
        return 0;
    /* a failure always names its code; AL_E_INTERNAL if the report somehow did not */
    return reterr->code < 0 ? reterr->code : AL_E_INTERNAL;
}

int al_agent_run(struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    struct al_err e = {0};
    struct sigaction sa = {.sa_handler = on_signal};
    if (!reterr)
        reterr = &e;
    if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
        return al_err_set(reterr, -errno, "cannot install signal handlers");
    agent_stop = 0;
    for (bool first = true;; first = false) {
        if (!first)
            reread(a); /* the first beat reports what al_agent_new read and checked */
        *reterr = (struct al_err){0};
        int rc = beat(a, c, reterr);
        if (a->cfg.once)
            return rc;
        if (!sleep_interval(a->cfg.interval))
            break;
    }
    return 0;
}
