/* agentctr.c — the agent's containers in its round (see agentctr.h): the desired
 * document's `containers` validated (untrusted: each refusal names the field), reconciled with
 * the runtime, and the report made. */
#include "agent/agentctr.h"

#include "agent/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REMEMBERED_MAX AL_RUNTIME_LIST_MAX /* ids of containers this agent started */

struct al_agentctr {
    struct al_runtime *rt;
    bool ok;         /* the last round reached the runtime */
    bool said;       /* a round has run: state changes are printed from then on */
    size_t reported; /* containers in the last report */
    char (*started)[AL_RUNTIME_CTR_MAX]; /* what this agent created, to tell "missing" */
    size_t nstarted;
    char node[AL_RUNTIME_NODE_MAX]; /* al_agentctr_scope's node, labelled on each ("": none) */
};

/* One round's working state. */
struct round {
    struct al_agentctr *ac;
    struct al_rt_ctr *have; /* the runtime's allot containers */
    size_t nhave;
    json_t *out;        /* the report's containers */
    struct al_err down; /* the runtime went away during the round (code AL_E_IO) */
    json_t *empty;      /* {}: the env of an entry without one */
};

int al_agentctr_new(const char *spec, bool gpu_requests, struct al_agentctr **ret,
                    struct al_err *reterr)
{
    struct al_agentctr *ac = calloc(1, sizeof *ac);
    int rc;
    *ret = NULL;
    if (!ac || !(ac->started = calloc(REMEMBERED_MAX, sizeof *ac->started))) {
        free(ac);
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    }
    if ((rc = al_runtime_open(spec, gpu_requests, &ac->rt, reterr)) < 0) {
        al_agentctr_free(ac);
        return rc;
    }
    *ret = ac;
    return 0;
}

int al_agentctr_scope(struct al_agentctr *ac, const char *node, struct al_err *reterr)
{
    int rc = al_runtime_scope(ac->rt, node, reterr);
    if (rc == 0)
        snprintf(ac->node, sizeof ac->node, "%s", node);
    return rc;
}

void al_agentctr_free(struct al_agentctr *ac)
{
    if (!ac)
        return;
    al_runtime_close(ac->rt);
    free(ac->started);
    free(ac);
}

const char *al_agentctr_kind(const struct al_agentctr *ac)
{
    return al_runtime_kind(ac->rt);
}

bool al_agentctr_ok(const struct al_agentctr *ac)
{
    return ac->ok;
}

size_t al_agentctr_reported(const struct al_agentctr *ac)
{
    return ac->reported;
}

/* ---- Validation of a desired entry (the server's words, untrusted) */

static bool chars_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(set, s[i]))
            return false;
    return true;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* A string member of 1..max bytes, no NUL, of `set` when given; NULL when it is not one. */
static const char *str_of(const json_t *o, const char *key, size_t max, const char *set)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);
    size_t n = s ? json_string_length(v) : 0;
    if (!s || n == 0 || n > max || strlen(s) != n || (set && !chars_in(s, n, set)))
        return NULL;
    return s;
}

/* A key (untrusted) as a message may quote it: at most 40 printable ASCII bytes, others '?'. */
static const char *quoted(const char *k, char out[48])
{
    size_t n = 0;
    for (; n < 40 && k[n]; n++) {
        out[n] = k[n];
        if ((unsigned char)k[n] < 0x20 || (unsigned char)k[n] >= 0x7f)
            out[n] = '?';
    }
    out[n] = '\0';
    return out;
}

static int check_command(const json_t *cmd, struct al_err *reterr)
{
    size_t i, total = 0;
    const json_t *a;
    if (!json_is_array(cmd) || json_array_size(cmd) < 1 || json_array_size(cmd) > 64)
        return al_err_set(reterr, AL_E_INVAL, "command: an array of 1 to 64 strings required");
    json_array_foreach(cmd, i, a)
    {
        const char *s = json_string_value(a);
        size_t n = s ? json_string_length(a) : 0;
        if (!s || n == 0 || n > 4096 || strlen(s) != n)
            return al_err_set(reterr, AL_E_INVAL, "command[%zu]: 1 to 4096 bytes, no NUL", i);
        total += n;
    }
    if (total > 32768)
        return al_err_set(reterr, AL_E_INVAL, "command: more than 32 KiB in all");
    return 0;
}

static int check_env(const json_t *env, struct al_err *reterr)
{
    char q[48];
    const char *k;
    const json_t *v;
    if (!json_is_object(env) || json_object_size(env) > 64)
        return al_err_set(reterr, AL_E_INVAL, "env: an object of at most 64 entries required");
    json_object_foreach((json_t *)env, k, v)
    {
        size_t n = strlen(k);
        const char *s = json_string_value(v);
        if (n == 0 || n > 128 || (k[0] >= '0' && k[0] <= '9') || !chars_in(k, n, ALNUM "_"))
            return al_err_set(reterr, AL_E_INVAL, "env: key '%s': [A-Za-z_][A-Za-z0-9_]{0,127}",
                              quoted(k, q));
        if (strcmp(k, "NVIDIA_VISIBLE_DEVICES") == 0 || strcmp(k, "CUDA_VISIBLE_DEVICES") == 0)
            return al_err_set(reterr, AL_E_INVAL, "env.%s: allot's to set", k);
        if (!s || json_string_length(v) > 4096 || strlen(s) != json_string_length(v))
            return al_err_set(reterr, AL_E_INVAL, "env.%s: a string of at most 4096 bytes, no NUL",
                              k);
    }
    return 0;
}

/* The labels as given (strings, printable, bounded) with allot.container = id and, when
 * scoped, allot.node = node (the agent's own word, whatever the document says), into *ret. */
static int make_labels(const json_t *labels, const char *id, const char *node, json_t **ret,
                       struct al_err *reterr)
{
    char q[48];
    const char *k;
    const json_t *v;
    *ret = NULL;
    if (labels && !json_is_object(labels))
        return al_err_set(reterr, AL_E_INVAL, "labels: an object required");
    if (json_object_size(labels) > 16)
        return al_err_set(reterr, AL_E_INVAL, "labels: at most 16");
    json_object_foreach((json_t *)labels, k, v)
    {
        const char *s = json_string_value(v);
        size_t n = strlen(k);
        if (n == 0 || n > 128 || !chars_in(k, n, ALNUM "._-/"))
            return al_err_set(reterr, AL_E_INVAL, "labels: key '%s': [A-Za-z0-9._/-]{1,128}",
                              quoted(k, q));
        if (!s || json_string_length(v) > 256 || strlen(s) != json_string_length(v))
            return al_err_set(reterr, AL_E_INVAL, "labels.%s: a string of at most 256 bytes", k);
    }
    if (!(*ret = labels ? json_deep_copy(labels) : json_object()) ||
        json_object_set_new(*ret, AL_RUNTIME_LABEL, json_string(id)) < 0 ||
        (node[0] && json_object_set_new(*ret, AL_RUNTIME_NODE, json_string(node)) < 0))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    return 0;
}

/* The entry's spec (labels made: the caller frees them) and whether it is to run. */
static int parse_entry(const struct round *r, const json_t *e, struct al_runtime_spec *s,
                       json_t **labels, bool *run, struct al_err *reterr)
{
    const char *desired = str_of(e, "desired", 8, NULL);
    int rc;
    *labels = NULL;
    if (!desired || (strcmp(desired, "run") != 0 && strcmp(desired, "stop") != 0))
        return al_err_set(reterr, AL_E_INVAL, "desired: \"run\" or \"stop\" required");
    *run = strcmp(desired, "run") == 0;
    if (!*run)
        return 0; /* a stop needs nothing else */
    if (!(s->image = str_of(e, "image", 255, ALNUM "._/:@-")))
        return al_err_set(reterr, AL_E_INVAL, "image: 1 to 255 of [A-Za-z0-9._/:@-] required");
    s->device = str_of(e, "device", 95, ALNUM "._/:-");
    if (!s->device || (strncmp(s->device, "GPU-", 4) != 0 && strncmp(s->device, "MIG-", 4) != 0))
        return al_err_set(reterr, AL_E_INVAL, "device: \"GPU-…\" or \"MIG-…\" required");
    s->command = json_object_get(e, "command");
    if (!(s->env = json_object_get(e, "env")))
        s->env = r->empty;
    if ((rc = check_command(s->command, reterr)) < 0 || (rc = check_env(s->env, reterr)) < 0)
        return rc;
    return make_labels(json_object_get(e, "labels"), s->ctr, r->ac->node, labels, reterr);
}

/* ---- Reconciling */

/* The runtime's container for allot's id, or NULL. */
static const struct al_rt_ctr *have_of(const struct round *r, const char *id)
{
    for (size_t i = 0; i < r->nhave; i++)
        if (strcmp(r->have[i].ctr, id) == 0)
            return &r->have[i];
    return NULL;
}

static bool started_here(const struct al_agentctr *ac, const char *id)
{
    for (size_t i = 0; i < ac->nstarted; i++)
        if (strcmp(ac->started[i], id) == 0)
            return true;
    return false;
}

static void remember(struct al_agentctr *ac, const char *id)
{
    if (started_here(ac, id))
        return;
    if (ac->nstarted == REMEMBERED_MAX) /* the oldest goes: at worst it is started again */
        memmove(ac->started, ac->started + 1, --ac->nstarted * sizeof *ac->started);
    snprintf(ac->started[ac->nstarted++], AL_RUNTIME_CTR_MAX, "%s", id);
}

/* Whether rc is the runtime gone: then the round stops touching it (r->down says why). */
static bool gone(struct round *r, int rc, const struct al_err *e)
{
    if (rc != AL_E_IO)
        return false;
    if (r->down.code == 0)
        r->down = *e;
    return true;
}

/* A report entry. `c` (may be NULL: nothing in the runtime) gives the runtime's facts. */
static int add_entry(struct round *r, const char *id, const char *state, const struct al_rt_ctr *c,
                     const char *error, const char *logs)
{
    json_t *e =
        json_pack("{s:s,s:s,s:n,s:n,s:n,s:n,s:n,s:s}", "id", id, "state", state, "runtime_id",
                  "exit_code", "error", "started_at", "finished_at", "logs", logs ? logs : "");
    int rc = e ? 0 : -1;
    if (rc == 0 && c && c->id[0])
        rc = json_object_set_new(e, "runtime_id", json_string(c->id));
    if (rc == 0 && c && c->has_exit)
        rc = json_object_set_new(e, "exit_code", json_integer(c->exit_code));
    if (rc == 0 && c && c->started_at[0])
        rc = json_object_set_new(e, "started_at", json_string(c->started_at));
    if (rc == 0 && c && c->finished_at[0])
        rc = json_object_set_new(e, "finished_at", json_string(c->finished_at));
    if (rc == 0 && (error || (c && c->error[0]))) {
        char text[AL_ERR_MSG_MAX];
        size_t n = 0; /* a message may quote a key cut mid-character: made valid UTF-8 */
        snprintf(text, sizeof text, "%s", error ? error : c->error);
        size_t off = al_runtime_tail_text(text, strlen(text), sizeof text, &n);
        rc = json_object_set_new(e, "error", json_stringn(text + off, n));
    }
    if (rc == 0)
        rc = json_array_append(r->out, e);
    json_decref(e);
    return rc < 0 ? AL_E_NOMEM : 0;
}

/* Report the runtime's container `rid` for allot's `id` as `state` (NULL: as the runtime says
 * it is), with its logs. A container the runtime cannot show this round is left out. */
static int report(struct round *r, const char *id, const char *rid, const char *state)
{
    struct al_rt_ctr c;
    struct al_err e = {0};
    char *logs = NULL;
    size_t n = 0;
    int rc = al_runtime_inspect(r->ac->rt, rid, &c, &e);
    if (rc == 0)
        rc = al_runtime_logs(r->ac->rt, rid, &logs, &n, &e);
    if (rc < 0) {
        if (!gone(r, rc, &e))
            fprintf(stderr, "allot agent: container %s: %s; not reported this round\n", id, e.msg);
        free(logs);
        return 0;
    }
    if (!state && c.state == AL_RT_RUNNING)
        state = "running";
    else if (!state && c.state == AL_RT_EXITED)
        state = "exited";
    rc = state ? add_entry(r, id, state, &c, NULL, logs) : 0; /* created: not yet running */
    free(logs);
    return rc;
}

/* Desired "run": created and started when the runtime does not have it, else as it is. */
static int want_run(struct round *r, const struct al_runtime_spec *s)
{
    const struct al_rt_ctr *have = have_of(r, s->ctr);
    char rid[AL_RUNTIME_ID_MAX];
    struct al_err e = {0};
    int rc = 0;
    if (!have && started_here(r->ac, s->ctr))
        return add_entry(r, s->ctr, "missing", NULL, "lost by the runtime", NULL);
    if (have)
        snprintf(rid, sizeof rid, "%s", have->id);
    else if ((rc = al_runtime_create(r->ac->rt, s, rid, &e)) == 0)
        remember(r->ac, s->ctr);
    if (rc == 0 && (!have || have->state == AL_RT_CREATED))
        rc = al_runtime_start(r->ac->rt, rid, &e);
    if (rc < 0) {
        if (gone(r, rc, &e))
            return 0;
        fprintf(stderr, "allot agent: container %s: %s\n", s->ctr, e.msg);
        return add_entry(r, s->ctr, "failed", NULL, e.msg, NULL);
    }
    if (!have)
        fprintf(stderr, "allot agent: container %s: started on %s (%s)\n", s->ctr, s->device,
                al_runtime_kind(r->ac->rt));
    return report(r, s->ctr, rid, NULL);
}

/* Desired "stop": stopped, and reported stopped (kept until the document no longer lists it,
 * so that its logs are reported once more). */
static int want_stop(struct round *r, const char *id)
{
    const struct al_rt_ctr *have = have_of(r, id);
    struct al_err e = {0};
    int rc;
    if (!have)
        return add_entry(r, id, "stopped", NULL, NULL, NULL);
    if (have->state == AL_RT_RUNNING && (rc = al_runtime_stop(r->ac->rt, have->id, &e)) < 0) {
        if (!gone(r, rc, &e))
            fprintf(stderr, "allot agent: container %s: stop: %s\n", id, e.msg);
        return 0;
    }
    return report(r, id, have->id, "stopped");
}

/* One entry of the document. An entry without a usable id cannot be reported: a line. */
static int one(struct round *r, const json_t *entry, size_t i)
{
    struct al_runtime_spec s = {0};
    struct al_err e = {0};
    json_t *labels = NULL;
    bool run = false;
    int rc;
    s.ctr = str_of(entry, "id", AL_RUNTIME_CTR_MAX - 1, ALNUM "_-");
    if (!s.ctr || strncmp(s.ctr, "ctr_", 4) != 0) {
        fprintf(stderr,
                "allot agent: desired containers[%zu]: id: \"ctr_…\" required; "
                "skipped\n",
                i);
        return 0;
    }
    if ((rc = parse_entry(r, entry, &s, &labels, &run, &e)) < 0) {
        json_decref(labels);
        if (rc == AL_E_NOMEM)
            return rc;
        fprintf(stderr, "allot agent: container %s: %s\n", s.ctr, e.msg);
        return add_entry(r, s.ctr, "failed", NULL, e.msg, NULL);
    }
    s.labels = labels;
    rc = run ? want_run(r, &s) : want_stop(r, s.ctr);
    json_decref(labels);
    return rc;
}

/* Whether `id` is among the document's containers. */
static bool listed(const json_t *cs, const char *id)
{
    size_t i;
    const json_t *e;
    json_array_foreach(cs, i, e)
    {
        const char *v = json_string_value(json_object_get(e, "id"));
        if (v && strcmp(v, id) == 0)
            return true;
    }
    return false;
}

/* The runtime's allot containers that the document no longer lists: stopped and removed. */
static void sweep(struct round *r, const json_t *cs)
{
    struct al_err e = {0};
    for (size_t i = 0; i < r->nhave && !r->down.code; i++) {
        const struct al_rt_ctr *c = &r->have[i];
        if (!c->ctr[0] || listed(cs, c->ctr))
            continue;
        int rc = c->state == AL_RT_RUNNING ? al_runtime_stop(r->ac->rt, c->id, &e) : 0;
        if (rc == 0)
            rc = al_runtime_remove(r->ac->rt, c->id, &e);
        if (rc < 0 && rc != AL_E_NOTFOUND && !gone(r, rc, &e))
            fprintf(stderr, "allot agent: container %s: remove: %s\n", c->ctr, e.msg);
        else if (rc == 0)
            fprintf(stderr, "allot agent: container %s: no longer wanted; removed\n", c->ctr);
    }
}

/* Cut each entry's logs to its share of the budget (its last bytes, from a character's start)
 * until the report fits AL_AGENTCTR_BODY_MAX. */
static void fit(json_t *out)
{
    size_t n = json_array_size(out), i;
    size_t share = n ? AL_AGENTCTR_LOGS_BUDGET / n : 0;
    json_t *e;
    if (share > AL_RUNTIME_LOG_MAX)
        share = AL_RUNTIME_LOG_MAX;
    for (int pass = 0; pass < 12; pass++) {
        json_array_foreach(out, i, e)
        {
            json_t *l = json_object_get(e, "logs");
            size_t len = json_string_length(l), k = 0;
            if (len <= share)
                continue;
            char *copy = strdup(json_string_value(l));
            size_t off = copy ? al_runtime_tail_text(copy, len, share, &k) : 0;
            if (copy)
                json_object_set_new(e, "logs", json_stringn(copy + off, k));
            free(copy);
        }
        if (json_dumpb(out, NULL, 0, JSON_COMPACT) <= AL_AGENTCTR_BODY_MAX)
            return;
        share /= 2; /* escapes made it larger than its bytes: take less */
    }
}

/* The report, from r (its containers, or none when the runtime is away). */
static int make_report(struct round *r, const struct al_err *down, json_t **ret)
{
    struct al_agentctr *ac = r->ac;
    bool was = ac->ok, said = ac->said;
    ac->ok = down->code == 0;
    ac->said = true;
    if (said && was != ac->ok)
        fprintf(stderr, "allot agent: container runtime %s: %s\n", al_runtime_kind(ac->rt),
                ac->ok ? "reachable again" : down->msg);
    else if (!said && !ac->ok)
        fprintf(stderr, "allot agent: container runtime %s: %s\n", al_runtime_kind(ac->rt),
                down->msg);
    if (!ac->ok)
        json_array_clear(r->out);
    fit(r->out);
    ac->reported = json_array_size(r->out);
    *ret = json_pack("{s:{s:s,s:b,s:s?},s:O}", "runtime", "kind", al_runtime_kind(ac->rt), "ok",
                     ac->ok, "error", ac->ok ? NULL : down->msg, "containers", r->out);
    return *ret ? 0 : AL_E_NOMEM;
}

int al_agentctr_round(struct al_agentctr *ac, const json_t *desired, json_t **ret,
                      struct al_err *reterr)
{
    struct round r = {.ac = ac, .out = json_array(), .empty = json_object()};
    const json_t *cs = json_object_get(desired, "containers");
    size_t i;
    int rc = 0;
    *ret = NULL;
    if (!r.out || !r.empty) {
        rc = AL_E_NOMEM;
        goto out;
    }
    if (al_runtime_list(ac->rt, &r.have, &r.nhave, &r.down) < 0)
        r.down.code = AL_E_IO; /* or an answer that does not check out: nothing is touched */
    if (cs && (!json_is_array(cs) || json_array_size(cs) > AL_AGENTCTR_MAX)) {
        fprintf(stderr,
                "allot agent: desired containers: an array of at most %d required; "
                "none touched\n",
                AL_AGENTCTR_MAX);
        cs = NULL;
    }
    for (i = 0; cs && i < json_array_size(cs) && !r.down.code; i++)
        if ((rc = one(&r, json_array_get(cs, i), i)) < 0)
            goto out;
    if (cs && !r.down.code)
        sweep(&r, cs);
    rc = make_report(&r, &r.down, ret);
out:
    if (rc < 0)
        al_err_set(reterr, rc, "out of memory");
    free(r.have);
    json_decref(r.out);
    json_decref(r.empty);
    return rc;
}
