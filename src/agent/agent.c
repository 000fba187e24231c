/* agent.c — the node agent's loop (see agent.h): a fleet file's heartbeat, or one node's
 * reconcile loop through a driver (report, desired state, reconcile, results, and with a
 * container runtime its containers: agent/agentctr.h). */
#include "agent/agent.h"

#include "agent/agentctr.h"
#include "agent/driver.h"
#include "agent/journal.h"
#include "agent/reconcile.h"
#include "agent/simfleet.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct al_agent {
    struct al_agent_cfg cfg;
    struct al_simfleet *fleet;  /* a fleet file, or */
    struct al_driver *drv;      /* a driver (this node) */
    struct al_drv_gpu *gpu;     /* scratch for one observation */
    struct al_journal *journal; /* with a driver: the results not delivered yet */
    struct al_agentctr *ctr;    /* with a runtime: this node's containers */
    unsigned reported, skipped; /* GPUs in the last driver heartbeat */
    unsigned away;              /* rounds in a row that found the server away */
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
    int rc = al_journal_open(a->cfg.journal, &a->journal, reterr);
    if (rc == 0 && a->cfg.runtime)
        rc = al_agentctr_new(a->cfg.runtime, a->cfg.gpu_requests, &a->ctr, reterr);
    if (rc == 0 && a->ctr)
        rc = al_agentctr_scope(a->ctr, a->cfg.node, reterr);
    return rc < 0 ? rc : al_driver_open(&dc, &a->drv, reterr);
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
    al_journal_free(a->journal);
    al_agentctr_free(a->ctr);
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

/* This node's report (PUT /v1/nodes/{name}): each GPU as al_driver_observed_json renders it
 * (index, uuid, name, model, memory, health, MIG mode, profiles, instances, processes) with
 * its pool (--pool: dedicated unless general). A GPU the catalog does not know is left out (the
 * server would refuse the whole report) and counted in a->skipped. */
static int driver_body(struct al_agent *a, json_t **ret, struct al_err *reterr)
{
    json_t *obs = NULL, *gpus = json_array(), *g;
    size_t i;
    int rc = 0;
    *ret = NULL;
    a->reported = a->skipped = 0;
    if (!gpus)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((rc = al_driver_observed_json(a->drv, &obs, reterr)) < 0)
        goto out;
    json_array_foreach(json_object_get(obs, "gpus"), i, g)
    {
        if (!json_is_string(json_object_get(g, "model"))) {
            fprintf(stderr,
                    "allot agent: GPU %" JSON_INTEGER_FORMAT " (%s): not in the catalog; "
                    "not reported\n",
                    json_integer_value(json_object_get(g, "index")),
                    json_string_value(json_object_get(g, "name")));
            a->skipped++;
            continue;
        }
        const char *pool = a->cfg.general_pool ? "general" : "dedicated";
        if (json_object_set_new(g, "pool", json_string(pool)) < 0 ||
            json_array_append(gpus, g) < 0) {
            rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
            goto out;
        }
        a->reported++;
    }
    if (!(*ret = json_pack("{s:{},s:O}", "labels", "gpus", gpus)))
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
out:
    json_decref(obs);
    json_decref(gpus);
    return rc;
}

/* Whether the call failed because the server is away (no answer, or it failed: 5xx) or would
 * not let this agent in (401, 403): what is held is kept for the next try. */
static bool server_away(long status)
{
    return status == 0 || status >= 500 || status == 401 || status == 403;
}

/* POST /v1/mig-changes/{change}/{action} with body. */
static int change_call(struct al_client *c, const char *change, const char *action, json_t *body,
                       long *status, struct al_err *reterr)
{
    struct al_path p;
    const char *path;
    al_path_init(&p, "/v1/mig-changes");
    al_path_seg(&p, change);
    al_path_seg(&p, action);
    *status = 0;
    if (!(path = al_path_str(&p, reterr)))
        return reterr ? reterr->code : AL_E_RANGE;
    return al_client_call(c, "POST", path, body, NULL, status, NULL, reterr);
}

/* Send change `change`'s result. Taken (2xx), or refused for good (another 4xx: 409, the change
 * has its result already or ended; 404, it is gone): forgotten, with a line for a refusal.
 * The server away: kept, and the code returned. */
static int deliver(struct al_agent *a, struct al_client *c, const char *change, json_t *body,
                   struct al_err *reterr)
{
    struct al_err e = {0};
    long status = 0;
    int rc = change_call(c, change, "result", body, &status, &e);
    if (rc < 0 && server_away(status))
        return al_err_set(reterr, rc, "change %s: result not delivered: %s", change, e.msg);
    if (rc < 0)
        fprintf(stderr, "allot agent: change %s: the server refused its result: %s; forgotten\n",
                change, e.msg);
    if (al_journal_remove(a->journal, change, &e) < 0)
        fprintf(stderr, "allot agent: %s\n", e.msg);
    return 0;
}

/* The results held from earlier rounds, oldest first, before anything else is done. */
static int flush(struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    char change[AL_JOURNAL_ID_MAX];
    while (al_journal_count(a->journal) > 0) {
        int rc;
        snprintf(change, sizeof change, "%s", al_journal_change(a->journal, 0));
        if ((rc = deliver(a, c, change, al_journal_body(a->journal, 0), reterr)) < 0)
            return rc;
    }
    return 0;
}

/* Apply e's change once the server has given it to this agent, and deliver the result (held
 * in the journal first, so that a server away, or an agent stopped, loses nothing). */
static int apply_change(struct al_agent *a, struct al_client *c, const struct al_rec_gpu *e,
                        struct al_err *reterr)
{
    json_t *res = NULL, *empty = json_object();
    struct al_err ce = {0};
    long status = 0;
    int rc = change_call(c, e->change, "start", empty, &status, &ce);
    json_decref(empty);
    if (rc < 0 && server_away(status))
        return al_err_set(reterr, rc, "change %s: %s", e->change, ce.msg);
    if (rc < 0) { /* 409: another agent took it, or it ended; 404: not this node's */
        fprintf(stderr, "allot agent: change %s: not started (%s); skipped\n", e->change, ce.msg);
        return 0;
    }
    if (al_reconcile_change(a->drv, e, &res, &ce) < 0) {
        fprintf(stderr, "allot agent: change %s on GPU %u: %s; tried again next round\n", e->change,
                e->index, ce.msg);
        return 0;
    }
    fprintf(stderr, "allot agent: change %s on GPU %u: %s%s\n", e->change, e->index,
            json_is_true(json_object_get(res, "ok")) ? "applied" : "failed: ",
            json_is_true(json_object_get(res, "ok"))
                ? ""
                : json_string_value(json_object_get(res, "error")));
    if (al_journal_add(a->journal, e->change, res, &ce) < 0)
        fprintf(stderr, "allot agent: %s\n", ce.msg);
    rc = deliver(a, c, e->change, res, reterr);
    json_decref(res);
    return rc;
}

/* One GPU's entry of the desired document. An entry that does not check out is printed and
 * its GPU left as it is; only the server being away stops the round. */
static int reconcile_gpu(struct al_agent *a, struct al_client *c, const json_t *entry,
                         struct al_err *reterr)
{
    struct al_rec_gpu e;
    struct al_err err = {0};
    json_int_t index = json_integer_value(json_object_get(entry, "index"));
    const json_t *desired = json_object_get(entry, "desired"),
                 *change = json_object_get(entry, "change");
    if ((!desired || json_is_null(desired)) && (!change || json_is_null(change)))
        return 0; /* nothing asked of this GPU: not even observed again */
    if (index < 0 || index >= AL_DRV_MAX_GPUS ||
        al_reconcile_observe(a->drv, (unsigned)index, a->gpu, &err) < 0 ||
        al_reconcile_parse(entry, a->gpu->model, &e, &err) < 0) {
        fprintf(stderr,
                "allot agent: desired state of GPU %" JSON_INTEGER_FORMAT ": %s; left "
                "as it is\n",
                index, err.msg[0] ? err.msg : "no such GPU");
        return 0;
    }
    if (e.has_change)
        return al_journal_has(a->journal, e.change) ? 0 : apply_change(a, c, &e, reterr);
    if (e.has_desired && al_reconcile_desired(a->drv, &e, stderr, &err) < 0)
        fprintf(stderr, "allot agent: desired layout of GPU %u: %s\n", e.index, err.msg);
    return 0;
}

/* With a runtime: this node's containers reconciled with the document's, and the report posted
 * (POST /v1/nodes/{node}/containers). The server away ends the round (the report is made
 * again next round); a refusal is printed and the round goes on. */
static int containers(struct al_agent *a, struct al_client *c, const json_t *doc,
                      struct al_err *reterr)
{
    struct al_path p;
    struct al_err e = {0};
    const char *path;
    json_t *body = NULL;
    long status = 0;
    int rc;
    if (!a->ctr)
        return 0;
    al_path_init(&p, "/v1/nodes");
    al_path_seg(&p, a->cfg.node);
    al_path_seg(&p, "containers");
    if (!(path = al_path_str(&p, reterr)))
        return reterr->code;
    if ((rc = al_agentctr_round(a->ctr, doc, &body, reterr)) < 0)
        return rc;
    rc = al_client_call(c, "POST", path, body, NULL, &status, NULL, &e);
    json_decref(body);
    if (rc < 0 && server_away(status))
        return al_err_set(reterr, rc, "containers report: %s", e.msg);
    if (rc < 0)
        fprintf(stderr, "allot agent: the server refused the containers report: %s\n", e.msg);
    return 0;
}

/* GET /v1/nodes/{node}/desired, reconcile each GPU, then the containers. */
static int reconcile(struct al_agent *a, struct al_client *c, struct al_path *p,
                     struct al_err *reterr)
{
    json_t *doc = NULL, *gpus, *g;
    const char *path;
    size_t i;
    int rc = 0;
    al_path_seg(p, "desired");
    if (!(path = al_path_str(p, reterr)))
        return reterr->code;
    if ((rc = al_client_call(c, "GET", path, NULL, NULL, NULL, &doc, reterr)) < 0)
        goto out;
    gpus = json_object_get(doc, "gpus");
    if (!json_is_array(gpus) || json_array_size(gpus) > AL_DRV_MAX_GPUS) {
        rc = al_err_set(reterr, AL_E_INVAL, "desired: gpus: an array of at most %d required",
                        AL_DRV_MAX_GPUS);
        goto out;
    }
    json_array_foreach(gpus, i, g) if ((rc = reconcile_gpu(a, c, g, reterr)) < 0) break;
    if (rc == 0)
        rc = containers(a, c, doc, reterr);
out:
    json_decref(doc);
    return rc;
}

/* One round of this node, observed through the driver: the results held delivered, the
 * report, the desired state, each GPU reconciled. The first failure ends the round. */
static int beat_driver(struct al_agent *a, struct al_client *c, struct al_err *reterr)
{
    struct al_path p;
    struct al_err e = {0};
    const char *path;
    json_t *body = NULL;
    int rc = flush(a, c, &e);
    al_path_init(&p, "/v1/nodes");
    al_path_seg(&p, a->cfg.node);
    if (rc == 0)
        rc = driver_body(a, &body, &e);
    if (rc == 0 && !(path = al_path_str(&p, &e)))
        rc = e.code;
    else if (rc == 0)
        rc = al_client_call(c, "PUT", path, body, NULL, NULL, NULL, &e);
    json_decref(body);
    if (rc == 0)
        rc = reconcile(a, c, &p, &e);
    if (rc < 0)
        return al_err_set(reterr, rc, "node %s: %s", a->cfg.node, e.msg);
    if (a->cfg.once)
        printf("allot agent: reported node %s, %u GPUs (%s driver) to %s\n", a->cfg.node,
               a->reported, al_driver_name(a->drv), al_client_server(c));
    if (a->cfg.once && a->ctr)
        printf("allot agent: container runtime %s: %s, %zu containers reported\n",
               al_agentctr_kind(a->ctr), al_agentctr_ok(a->ctr) ? "ok" : "unreachable",
               al_agentctr_reported(a->ctr));
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

/* How long to wait after the a->away-th round in a row that found the server away: "full
 * jitter", a uniform draw in [1, min(cap, interval * 2^(away-1))] seconds, cap being
 * AL_AGENT_BACKOFF_CAP or the interval if longer, so that agents restarted together do not
 * come back together. */
static long backoff(const struct al_agent *a)
{
    long cap = a->cfg.interval > AL_AGENT_BACKOFF_CAP ? a->cfg.interval : AL_AGENT_BACKOFF_CAP;
    long ceiling = a->cfg.interval;
    uint32_t r = 0;
    for (unsigned i = 1; i < a->away && ceiling < cap; i++)
        ceiling *= 2;
    if (ceiling > cap)
        ceiling = cap;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        return ceiling; /* no randomness: no jitter, still backing off */
    return 1 + (long)(r % (uint32_t)ceiling);
}

/* The seconds until the next round after one that returned rc, with the one line it prints. */
static long next_round(struct al_agent *a, int rc, const struct al_err *e)
{
    if (rc == 0 || !a->drv) {
        a->away = 0;
        return a->cfg.interval;
    }
    if (rc != AL_E_IO && rc != AL_E_INTERNAL && rc != AL_E_AUTH && rc != AL_E_FORBIDDEN) {
        a->away = 0;
        fprintf(stderr, "allot agent: %s\n", e->msg);
        return a->cfg.interval;
    }
    a->away++;
    long wait = backoff(a);
    fprintf(stderr, "allot agent: %s; the server is away (try %u), next in %ld s\n", e->msg,
            a->away, wait);
    return wait;
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
        if (a->cfg.once) {
            if (rc < 0 && a->drv)
                fprintf(stderr, "allot agent: %s\n", reterr->msg);
            return rc;
        }
        if (!sleep_interval(next_round(a, rc, reterr)))
            break;
    }
    return 0;
}
