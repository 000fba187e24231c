/* agent.c — the node agent's heartbeat loop (see agent.h). */
#include "agent/agent.h"

#include "agent/driver.h"
#include "agent/simfleet.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct al_agent {
    struct al_agent_cfg cfg;
    struct al_simfleet *fleet;  /* a fleet file, or */
    struct al_driver *drv;      /* a driver (this node) */
    struct al_drv_gpu *gpu;     /* scratch for one observation */
    unsigned reported, skipped; /* GPUs in the last driver heartbeat */
};

/* Set by SIGINT/SIGTERM: a signal handler can only reach a file-scope object. */
static volatile sig_atomic_t agent_stop;

static void on_signal(int sig)
{
    (void)sig;
    agent_stop = 1;
}

/* 1..AL_AGENT_NODE_MAX characters of [A-Za-z0-9._-]: a name the server takes. */
static int node_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > AL_AGENT_NODE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

static int open_driver(struct al_agent *a, struct al_err *reterr)
{
    struct al_driver_cfg dc = {.name = a->cfg.driver, .state = a->cfg.state};
    if (!node_name_ok(a->cfg.node))
        return al_err_set(reterr, AL_E_INVAL, "node name: [A-Za-z0-9._-]{1,%d}", AL_AGENT_NODE_MAX);
    if (!(a->gpu = malloc(sizeof *a->gpu)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    return al_driver_open(&dc, &a->drv, reterr);
}

int al_agent_new(const struct al_agent_cfg *cfg, struct al_agent **ret, struct al_err *reterr)
{
    struct al_agent *a = calloc(1, sizeof *a);
    int rc;
    *ret = NULL;
    if (!a)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    a->cfg = *cfg;
    if (cfg->fleet)
        rc = al_simfleet_load(cfg->fleet, &a->fleet, reterr);
    else
        rc = open_driver(a, reterr);
    if (rc < 0) {
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
    al_driver_close(a->drv);
    free(a->gpu);
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

/* This node's report as the server takes it today (server/node_report.h): {labels, gpus:
 * [{index, uuid, model, pool, healthy}]}. A GPU the catalog does not know is left out (the
 * server would refuse the whole report) and counted in a->skipped. */
static int driver_body(struct al_agent *a, json_t **ret, struct al_err *reterr)
{
    json_t *gpus = json_array();
    unsigned n = 0;
    int rc;
    *ret = NULL;
    a->reported = a->skipped = 0;
    if (!gpus)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((rc = al_driver_gpu_count(a->drv, &n, reterr)) < 0)
        goto out;
    for (unsigned i = 0; i < n; i++) {
        const struct al_drv_gpu *g = a->gpu;
        if ((rc = al_driver_observe(a->drv, i, a->gpu, reterr)) < 0)
            goto out;
        if (!g->model) {
            fprintf(stderr, "allot agent: GPU %u (%s): not in the catalog; not reported\n",
                    g->index, g->name);
            a->skipped++;
            continue;
        }
        if (json_array_append_new(gpus,
                                  json_pack("{s:I,s:s,s:s,s:s,s:b}", "index", (json_int_t)g->index,
                                            "uuid", g->uuid, "model", g->model->name, "pool",
                                            "dedicated", "healthy", g->healthy)) < 0) {
            rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
            goto out;
        }
        a->reported++;
    }
    if (!(*ret = json_pack("{s:{},s:O}", "labels", "gpus", gpus)))
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
out:
    json_decref(gpus);
    return rc;
}

/* One heartbeat of this node, observed through the driver. */
static int beat_driver(struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    struct al_path p;
    struct al_err e = {0};
    const char *path;
    json_t *body = NULL;
    int rc = driver_body(a, &body, &e);
    al_path_init(&p, "/v1/nodes");
    al_path_seg(&p, a->cfg.node);
    if (rc == 0 && (path = al_path_str(&p, &e)))
        rc = al_client_call(c, "PUT", path, body, NULL, NULL, NULL, &e);
    else if (rc == 0)
        rc = e.code;
    json_decref(body);
    if (rc < 0) {
        al_err_set(reterr, rc, "node %s: %s", a->cfg.node, e.msg);
        fprintf(stderr, "allot agent: %s\n", reterr->msg);
        return rc;
    }
    if (a->cfg.once)
        printf("allot agent: reported node %s, %u GPUs (%s driver) to %s\n", a->cfg.node,
               a->reported, al_driver_name(a->drv), al_client_server(c));
    return 0;
}

int al_agent_observe(struct al_agent *a, FILE *out, struct al_err *reterr)
{
    json_t *j = NULL;
    int rc;
    if (!a->drv)
        return al_err_set(reterr, AL_E_UNSUPPORTED, "a fleet file has no driver to observe");
    if ((rc = al_driver_observed_json(a->drv, &j, reterr)) < 0)
        return rc;
    if (json_dumpf(j, out, JSON_INDENT(2)) < 0 || fputc('\n', out) == EOF)
        rc = al_err_set(reterr, AL_E_IO, "cannot write the observed state");
    json_decref(j);
    return rc;
}

/* One heartbeat: every node PUT once. Returns 0, or the first failure's code (in reterr). */
static int beat(struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    const struct al_simfleet *f = a->fleet;
    if (a->drv)
        return beat_driver(a, c, reterr);
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
        if (!first && a->fleet)
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
