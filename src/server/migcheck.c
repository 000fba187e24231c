/* migcheck.c — the safety check of a stored MIG change, its approval, and the clock's
 * auto-apply pass (server/migcheck.h). The check itself is core's (core/migchange.h); this
 * file only gathers its facts: the change from its document, the observation from the GPU's
 * `observed` (server/node_report.h's shape), the node's liveness, the acknowledgements. A fact
 * that cannot be known (no MIG state reported, a GPU gone) never lets a check pass: the checks
 * that read it fail and say why. */
#include "server/migcheck.h"

#include "core/catalog.h"
#include "server/flow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the change, from its document ---- */

/* The index of the profile with NVML id `id` in m, or -1. */
static int profile_by_nvml(const struct al_gpu_model *m, json_int_t id)
{
    for (unsigned i = 0; i < m->nprofiles; i++)
        if ((json_int_t)m->profiles[i].nvml_id == id)
            return (int)i;
    return -1;
}

/* The placement {profile, <unit_key>} of object o (the profile by name, else by its
 * "profile_id"), checked against the model: the profile exists and its size fits from the
 * start. `what` names o in the error. */
static int placement_of(const struct al_gpu_model *m, json_t *o, const char *unit_key,
                        const char *what, struct al_placement *ret, struct al_err *e)
{
    const char *name = jstr(o, "profile");
    json_t *pid = json_object_get(o, "profile_id"), *st = json_object_get(o, unit_key);
    int pi = name ? al_catalog_profile_index(m, name) : -1;
    if (pi < 0 && json_is_integer(pid))
        pi = profile_by_nvml(m, json_integer_value(pid));
    if (pi < 0)
        return al_err_set(e, AL_E_INVAL, "%s: profile %s is not one of %s", what,
                          name ? name : "(none)", m->name);
    json_int_t start = json_integer_value(st);
    if (!json_is_integer(st) || start < 0 || start + m->profiles[pi].size > m->units)
        return al_err_set(e, AL_E_INVAL, "%s: %s is not a start of %s on %s", what, unit_key,
                          m->profiles[pi].name, m->name);
    *ret = (struct al_placement){(uint8_t)pi, (uint8_t)start};
    return 0;
}

/* Layout {mig, instances: [{profile, profile_id, start}]} of member `key` of doc. */
static int layout_of(const struct al_gpu_model *m, json_t *doc, const char *key,
                     struct al_layout *l, bool *mig, struct al_err *e)
{
    json_t *o = json_object_get(doc, key), *arr = json_object_get(o, "instances"), *x;
    size_t i;
    char what[48];
    *l = (struct al_layout){.model = m};
    if (!json_is_object(o) || (arr && !json_is_array(arr)) || json_array_size(arr) > AL_LAYOUT_MAX)
        return al_err_set(e, AL_E_INVAL, "%s: not a layout of at most %d instances", key,
                          AL_LAYOUT_MAX);
    *mig = json_is_true(json_object_get(o, "mig"));
    json_array_foreach(arr, i, x)
    {
        snprintf(what, sizeof what, "%s.instances[%zu]", key, i);
        int rc = placement_of(m, x, "start", what, &l->p[l->n], e);
        if (rc)
            return rc;
        l->n++;
    }
    al_layout_sort(l);
    return 0;
}

static int steps_of(const struct al_gpu_model *m, json_t *doc, struct al_migchange *ch,
                    struct al_err *e)
{
    json_t *arr = json_object_get(doc, "steps"), *x;
    size_t i;
    char what[48];
    if (!json_is_array(arr) || json_array_size(arr) > (size_t)AL_DIFF_MAX)
        return al_err_set(e, AL_E_INVAL, "steps: not a list of at most %d", AL_DIFF_MAX);
    json_array_foreach(arr, i, x)
    {
        const char *op = jstr(x, "op");
        struct al_mig_step *s = &ch->steps[ch->nsteps];
        snprintf(what, sizeof what, "steps[%zu]", i);
        if (!op || (strcmp(op, "destroy") != 0 && strcmp(op, "create") != 0))
            return al_err_set(e, AL_E_INVAL, "%s: op is not destroy or create", what);
        s->op = op[0] == 'd' ? AL_STEP_DESTROY : AL_STEP_CREATE;
        int rc = placement_of(m, x, "start", what, &s->p, e);
        if (rc)
            return rc;
        ch->nsteps++;
    }
    return 0;
}

/* The reservations of member `key` ("serves": with their start time; "holders"). A whole-GPU
 * one has no profile. */
static int rsvs_of(const struct al_gpu_model *m, json_t *doc, const char *key,
                   struct al_migchange_rsv *r, unsigned *n, struct al_err *e)
{
    json_t *arr = json_object_get(doc, key), *x;
    bool served = strcmp(key, "serves") == 0;
    size_t i;
    char what[48];
    *n = 0;
    if ((arr && !json_is_array(arr)) || json_array_size(arr) > AL_MIGCHANGE_RSV_MAX)
        return al_err_set(e, AL_E_INVAL, "%s: not a list of at most %d", key, AL_MIGCHANGE_RSV_MAX);
    json_array_foreach(arr, i, x)
    {
        struct al_migchange_rsv *v = &r[*n];
        snprintf(what, sizeof what, "%s[%zu]", key, i);
        *v = (struct al_migchange_rsv){0};
        if (!jstr(x, "reservation") || !jstr(x, "org") || !jstr(x, "org")[0])
            return al_err_set(e, AL_E_INVAL, "%s: reservation and org required", what);
        snprintf(v->id, sizeof v->id, "%s", jstr(x, "reservation"));
        snprintf(v->org, sizeof v->org, "%s", jstr(x, "org"));
        if (served && al_time_parse(jstr(x, "start"), &v->start) != 0)
            return al_err_set(e, AL_E_INVAL, "%s: start is not an RFC 3339 time", what);
        v->whole = !jstr(x, "profile") && !json_is_integer(json_object_get(x, "profile_id"));
        if (!v->whole) {
            int rc = placement_of(m, x, "start_unit", what, &v->p, e);
            if (rc)
                return rc;
        }
        (*n)++;
    }
    return 0;
}

int al_migcheck_change(json_t *doc, struct al_migchange *ret, struct al_err *reterr)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(doc, "model"));
    json_t *w = json_object_get(doc, "window");
    int rc;
    memset(ret, 0, sizeof *ret);
    if (!m || !m->mig)
        return al_err_set(reterr, AL_E_INVAL, "model: %s is not a MIG model of the catalog",
                          jstr(doc, "model") ? jstr(doc, "model") : "(none)");
    if (!jstr(doc, "gpu") || strlen(jstr(doc, "gpu")) >= sizeof ret->gpu)
        return al_err_set(reterr, AL_E_INVAL, "gpu: missing or too long");
    snprintf(ret->gpu, sizeof ret->gpu, "%s", jstr(doc, "gpu"));
    if ((rc = layout_of(m, doc, "from", &ret->from, &ret->from_mig, reterr)) ||
        (rc = layout_of(m, doc, "to", &ret->to, &ret->to_mig, reterr)) ||
        (rc = steps_of(m, doc, ret, reterr)) ||
        (rc = rsvs_of(m, doc, "serves", ret->serves, &ret->nserves, reterr)) ||
        (rc = rsvs_of(m, doc, "holders", ret->holders, &ret->nholders, reterr)))
        return rc;
    if (al_time_parse(jstr(w, "run_after"), &ret->run_after) != 0 ||
        al_time_parse(jstr(w, "run_before"), &ret->run_before) != 0)
        return al_err_set(reterr, AL_E_INVAL, "window: run_after and run_before required");
    ret->mode_switch = ret->from_mig != ret->to_mig;
    return 0;
}

/* ---- the observation ---- */

/* GPU `id` of node object `node`, or NULL. */
static json_t *gpu_in(json_t *node, const char *id)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(node, "gpus"), i, g)
    {
        if (id && jstr(g, "id") && strcmp(jstr(g, "id"), id) == 0)
            return g;
    }
    return NULL;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* The observed instances into f->obs; 0, or f->unobserved says what is wrong. */
static int observe_instances(json_t *arr, struct al_migcheck_facts *f)
{
    const struct al_gpu_model *m = f->change.from.model;
    struct al_mig_observed *o = &f->obs;
    struct al_err e = {0};
    json_t *x;
    size_t i;
    char what[48];
    if ((arr && !json_is_array(arr)) || json_array_size(arr) > AL_LAYOUT_MAX)
        return snprintf(f->unobserved, sizeof f->unobserved,
                        "the agent reports more than %d instances", AL_LAYOUT_MAX);
    json_array_foreach(arr, i, x)
    {
        struct al_mig_obs_instance *in = &o->instances[o->ninstances];
        const char *uuid = jstr(x, "uuid") ? jstr(x, "uuid") : "";
        snprintf(what, sizeof what, "observed instance %zu", i);
        if (placement_of(m, x, "start", what, &in->p, &e) != 0)
            return snprintf(f->unobserved, sizeof f->unobserved, "%s", e.msg);
        if (strlen(uuid) >= sizeof in->uuid || !printable(uuid))
            return snprintf(f->unobserved, sizeof f->unobserved, "%s: bad uuid", what);
        snprintf(in->uuid, sizeof in->uuid, "%s", uuid);
        o->ninstances++;
    }
    return 0;
}

/* The index of the observed instance with GPU instance `gi`, or -1: a process outside any
 * instance (MIG off), or on one not listed (outside the catalog). A process on another compute
 * instance than the one listed is still on that GPU instance, and destroyed with it. */
static int instance_of(json_t *arr, json_t *gi)
{
    json_t *x;
    size_t i;
    if (!json_is_integer(gi))
        return -1;
    json_array_foreach(arr, i, x)
    {
        if (json_equal(json_object_get(x, "gi"), gi))
            return (int)i;
    }
    return -1;
}

/* The instances outside the catalog (observed.unmatched_instances) named in f->unmatched:
 * "profile 77 at start 4 (gi 2, MIG-…), …". */
static void observe_unmatched(json_t *arr, struct al_migcheck_facts *f)
{
    size_t i, n = 0, cap = sizeof f->unmatched;
    json_t *x;
    f->unmatched[0] = '\0';
    json_array_foreach(arr, i, x)
    {
        const char *uuid = jstr(x, "uuid");
        const char *u = uuid && printable(uuid) ? uuid : "";
        int w = snprintf(f->unmatched + n, cap - n,
                         "%sprofile %" JSON_INTEGER_FORMAT " at start %" JSON_INTEGER_FORMAT
                         " (gi %" JSON_INTEGER_FORMAT "%s%.40s)",
                         n ? ", " : "", json_integer_value(json_object_get(x, "profile_id")),
                         json_integer_value(json_object_get(x, "start")),
                         json_integer_value(json_object_get(x, "gi")), u[0] ? ", " : "", u);
        if (w < 0 || (size_t)w >= cap - n) {
            snprintf(f->unmatched + (cap - 5), 5, "...");
            return;
        }
        n += (size_t)w;
    }
}

static void observe_processes(json_t *obs, struct al_migcheck_facts *f)
{
    json_t *arr = json_object_get(obs, "processes"), *x;
    json_t *insts = json_object_get(obs, "instances");
    json_int_t total = json_integer_value(json_object_get(obs, "processes_total"));
    size_t i;
    json_array_foreach(arr, i, x)
    {
        if (f->obs.nprocesses == AL_MIGCHANGE_PROC_MAX)
            break;
        json_int_t mib = json_integer_value(json_object_get(x, "used_memory_mib"));
        struct al_mig_obs_process *p = &f->obs.processes[f->obs.nprocesses++];
        p->pid = (uint32_t)json_integer_value(json_object_get(x, "pid"));
        p->used_bytes = mib > 0 ? (uint64_t)mib << 20 : 0;
        p->instance = instance_of(insts, json_object_get(x, "gi"));
        /* on a GPU instance the agent did not list: not "outside every instance" */
        f->processes_unknown += p->instance < 0 && json_is_integer(json_object_get(x, "gi"));
    }
    if (total > (json_int_t)f->obs.nprocesses)
        f->processes_unknown += (unsigned)(total - (json_int_t)f->obs.nprocesses);
}

void al_migcheck_observe(json_t *node, const char *gpu_id, int64_t now, struct al_migcheck_facts *f)
{
    json_t *g = gpu_in(node, gpu_id), *obs = json_object_get(g, "observed");
    struct al_mig_observed *o = &f->obs;
    memset(o, 0, sizeof *o);
    f->unobserved[0] = '\0';
    f->unmatched[0] = '\0';
    f->processes_unknown = 0;
    o->agent_online = node && !json_is_false(json_object_get(node, "online"));
    o->heartbeat_age_s = node ? now - json_integer_value(json_object_get(node, "last_seen")) : 0;
    o->gpu_healthy = g && json_is_true(json_object_get(g, "healthy")) &&
                     !json_is_false(json_object_get(g, "present"));
    f->node_unknown = !node;
    if (!node) {
        snprintf(f->unobserved, sizeof f->unobserved, "the GPU's node has never reported");
        return;
    }
    if (!g || json_is_false(json_object_get(g, "present"))) {
        snprintf(f->unobserved, sizeof f->unobserved, "GPU %s is not in its node's last report",
                 gpu_id ? gpu_id : "(none)");
        return;
    }
    if (!json_is_object(obs)) {
        snprintf(f->unobserved, sizeof f->unobserved,
                 "the agent of node %s reports no MIG state for GPU %s",
                 jstr(node, "name") ? jstr(node, "name") : "?", gpu_id);
        return;
    }
    if (!f->change.from.model) /* the change could not be read: nothing to resolve against */
        return;
    json_t *mig = json_object_get(obs, "mig");
    o->mig_current = json_is_true(json_object_get(mig, "current"));
    o->mig_pending = json_is_true(json_object_get(mig, "pending"));
    observe_unmatched(json_object_get(obs, "unmatched_instances"), f);
    if (observe_instances(json_object_get(obs, "instances"), f) != 0) {
        o->ninstances = 0;
        return;
    }
    observe_processes(obs, f);
}

/* ---- the report ---- */

static void check_set(struct al_migcheck *ck, bool pass, const char *fmt, ...) AL_PRINTF(3, 4);

/* Check ck's verdict, and what it found as printf would write it. */
static void check_set(struct al_migcheck *ck, bool pass, const char *fmt, ...)
{
    va_list ap;
    ck->pass = pass;
    va_start(ap, fmt);
    vsnprintf(ck->found, sizeof ck->found, fmt, ap);
    va_end(ap);
}

static bool destroys_any(const struct al_migchange *ch)
{
    for (unsigned i = 0; i < ch->from.n; i++)
        if (al_migchange_destroys(ch, ch->from.p[i]))
            return true;
    return false;
}

/* Every check fails: the change itself could not be checked (why). */
static void report_unreadable(const char *why, struct al_migcheck_report *r)
{
    memset(r, 0, sizeof *r);
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++) {
        r->checks[i].id = (enum al_migcheck_id)i;
        check_set(&r->checks[i], false, "not checked: the change cannot be read (%s)", why);
    }
    check_set(&r->checks[AL_MIGCHECK_LAYOUT_VALID], false, "the change cannot be read: %s", why);
    r->nfailed = AL_MIGCHECK_COUNT;
}

/* The checks that read what nobody reported fail, naming why. */
static void report_unobserved(const struct al_migcheck_facts *f, struct al_migcheck_report *r)
{
    struct al_migcheck *ck = r->checks;
    const char *why = f->unobserved;
    bool destroys = destroys_any(&f->change);
    if (why[0]) {
        check_set(&ck[AL_MIGCHECK_MIG_MODE], false, "MIG mode unknown: %s", why);
        check_set(&ck[AL_MIGCHECK_CURRENT_MATCHES_OBSERVED], false, "instances unknown: %s", why);
        if (f->change.mode_switch)
            check_set(&ck[AL_MIGCHECK_IDLE_FOR_MODE_SWITCH], false, "processes unknown: %s", why);
        if (destroys) {
            check_set(&ck[AL_MIGCHECK_NO_PROCESS_ON_DESTROYED], false, "processes unknown: %s",
                      why);
            check_set(&ck[AL_MIGCHECK_NO_CONTAINER_ON_DESTROYED], false, "containers unknown: %s",
                      why);
        }
    }
    if (f->unmatched[0])
        check_set(&ck[AL_MIGCHECK_CURRENT_MATCHES_OBSERVED], false,
                  "instances outside the catalog on the GPU, which the change was planned "
                  "without: %s",
                  f->unmatched);
    if (f->processes_unknown && destroys)
        check_set(&ck[AL_MIGCHECK_NO_PROCESS_ON_DESTROYED], false,
                  "processes unknown: %u processes whose instance is not known (counted but not "
                  "listed, or on an instance not reported)",
                  f->processes_unknown);
    if (f->node_unknown)
        check_set(&ck[AL_MIGCHECK_AGENT_ONLINE], false, "the agent is offline: %s", why);
    r->nfailed = 0;
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++)
        r->nfailed += !ck[i].pass;
    r->pass = r->nfailed == 0;
}

void al_migcheck_report(const struct al_migcheck_facts *f, int64_t now,
                        struct al_migcheck_report *ret)
{
    struct al_err e = {0};
    if (f->unreadable[0]) {
        report_unreadable(f->unreadable, ret);
        return;
    }
    if (al_migchange_check(&f->change, &f->obs, f->acks, f->nacks, now, ret, &e) != 0) {
        report_unreadable(e.msg, ret);
        return;
    }
    report_unobserved(f, ret);
}

json_t *al_migcheck_json(const struct al_migcheck_report *r)
{
    json_t *items = json_array();
    for (unsigned i = 0; items && i < AL_MIGCHECK_COUNT; i++) {
        const struct al_migcheck *ck = &r->checks[i];
        if (json_array_append_new(items,
                                  json_pack("{s:s,s:b,s:s}", "name", al_migcheck_name(ck->id),
                                            "pass", ck->pass, "found", ck->found)) != 0) {
            json_decref(items);
            return NULL;
        }
    }
    return items ? json_pack("{s:b,s:i,s:o}", "pass", r->pass, "failed", (int)r->nfailed, "items",
                             items)
                 : NULL;
}

/* ---- gathering from the store ---- */

static int gather_acks(struct al_ctx *c, json_t *doc, struct al_migcheck_facts *f)
{
    json_t *acks = NULL, *a;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_migchange_acks(c->srv->store, jstr(doc, "id"), &acks, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    /* one per org; past the bound an org's ack is not seen, and its check fails: safe */
    json_array_foreach(acks, i, a)
    {
        if (f->nacks == AL_MIGCHANGE_ACK_MAX)
            break;
        struct al_migchange_ack *k = &f->acks[f->nacks++];
        snprintf(k->org, sizeof k->org, "%s", jstr(a, "org") ? jstr(a, "org") : "");
        k->job_shutdown = json_is_true(json_object_get(a, "job_shutdown"));
        k->data_backup = json_is_true(json_object_get(a, "data_backup"));
    }
    json_decref(acks);
    return 0;
}

/* al_migcheck_gather with the change's node already read (NULL: it has none). */
static int gather_with(struct al_ctx *c, json_t *doc, json_t *node, struct al_migcheck_facts *f)
{
    struct al_err e = {0};
    memset(f, 0, sizeof *f);
    if (al_migcheck_change(doc, &f->change, &e) != 0)
        snprintf(f->unreadable, sizeof f->unreadable, "%s", e.msg);
    al_migcheck_observe(node, jstr(doc, "gpu"), c->now, f);
    return gather_acks(c, doc, f);
}

/* Node `name` of the store into *ret (NULL when there is none). 0 or fails the call. */
static int node_of(struct al_ctx *c, const char *name, json_t **ret)
{
    struct al_err e = {0};
    int rc = name ? al_store_node_get(c->srv->store, name, ret, &e) : AL_E_NOTFOUND;
    if (rc == AL_E_NOTFOUND) {
        *ret = NULL;
        return 0;
    }
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_migcheck_gather(struct al_ctx *c, json_t *doc, struct al_migcheck_facts *f)
{
    json_t *node = NULL;
    int rc = node_of(c, jstr(doc, "node"), &node);
    if (rc == 0)
        rc = gather_with(c, doc, node, f);
    json_decref(node);
    return rc;
}

bool al_migcheck_affects(const struct al_migcheck_facts *f, const char *org)
{
    const struct al_migchange *ch = &f->change;
    if (f->unreadable[0] || !org)
        return false;
    for (unsigned i = 0; i < ch->nholders; i++) {
        const struct al_migchange_rsv *h = &ch->holders[i];
        if (strcmp(h->org, org) == 0 &&
            (ch->mode_switch || h->whole || al_migchange_destroys(ch, h->p)))
            return true;
    }
    for (unsigned i = 0; i < f->obs.ncontainers; i++) {
        const struct al_mig_obs_container *k = &f->obs.containers[i];
        if (strcmp(k->org, org) == 0 &&
            (ch->mode_switch || k->instance < 0 ||
             al_migchange_destroys(ch, f->obs.instances[k->instance].p)))
            return true;
    }
    return false;
}

/* ---- approval ---- */

int al_migcheck_approve(struct al_ctx *c, json_t *doc, const char *by, bool forced,
                        const char *reason)
{
    json_t *w = json_object_get(doc, "window");
    struct al_store_migchange m = {jstr(doc, "id"), jstr(doc, "gpu"),      jstr(doc, "node"),
                                   "approved",      jtime(w, "run_after"), jtime(w, "run_before"),
                                   c->now};
    struct al_err e = {0};
    json_t *approved = json_pack("{s:s,s:o,s:b,s:s?}", "by", by, "at", al_time_json(c->now),
                                 "forced", forced, "reason", reason);
    if (!approved || json_object_set_new(doc, "approved", approved) != 0 ||
        json_object_set_new(doc, "state", json_string("approved")) != 0 ||
        json_object_set_new(doc, "updated_at", al_time_json(c->now)) != 0)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    int rc = al_store_migchange_put(c->srv->store, &m, doc, NULL, 0, false, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    return al_event_migchange(c, AL_EVENT_MIG_CHANGE_APPROVED, m.id,
                              json_pack("{s:s,s:s?,s:b,s:s?}", "by", by, "gpu", m.gpu, "forced",
                                        forced, "reason", reason));
}

/* ---- the auto-apply pass ---- */

/* Did the change of doc's GPU before doc fail? 1, 0, or fails the call. */
static int previous_failed(struct al_ctx *c, json_t *doc)
{
    struct al_store_migchange_filter flt = {.gpu = jstr(doc, "gpu")};
    json_t *list = NULL, *x;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_migchange_list(c->srv->store, &flt, (struct al_store_page){NULL, 2}, &list,
                                     NULL, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(list, i, x)
    {
        if (jstr(x, "id") && jstr(doc, "id") && strcmp(jstr(x, "id"), jstr(doc, "id")) != 0) {
            rc = jstr(x, "state") && strcmp(jstr(x, "state"), "failed") == 0;
            break;
        }
    }
    json_decref(list);
    return rc;
}

/* May the policy apply change `doc` of `node`: the node's window says auto_apply? 1, 0, or
 * fails the call. */
static int policy_allows(struct al_ctx *c, json_t *node)
{
    json_t *w = NULL;
    struct al_err e = {0};
    int rc = al_store_window_for(c->srv->store, jstr(node, "name"), jstr(node, "zone"), &w, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    rc = json_is_true(json_object_get(w, "auto_apply"));
    json_decref(w);
    return rc;
}

/* Approve planned change `doc` by policy when allowed and every check passes: 1 when it did,
 * 0 when not, or fails the call. */
static int auto_apply_one(struct al_ctx *c, json_t *doc, struct al_migcheck_facts *f)
{
    struct al_migcheck_report r;
    json_t *node = NULL;
    int rc = node_of(c, jstr(doc, "node"), &node);
    if (rc || !node || (rc = policy_allows(c, node)) <= 0)
        goto out;
    if ((rc = previous_failed(c, doc)) != 0) { /* an operator applies the next one */
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    if ((rc = gather_with(c, doc, node, f)) != 0)
        goto out;
    al_migcheck_report(f, c->now, &r);
    if (r.pass && (rc = al_migcheck_approve(c, doc, "policy", false, NULL)) == 0)
        rc = 1;
out:
    json_decref(node);
    return rc;
}

int al_migcheck_auto_apply_pass(struct al_ctx *c)
{
    json_t *open = NULL, *doc;
    struct al_err e = {0};
    struct al_migcheck_facts *f = NULL;
    size_t i;
    int n = 0, rc = al_store_migchange_all_open(c->srv->store, &open, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (!(f = malloc(sizeof *f))) {
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    json_array_foreach(open, i, doc)
    {
        if (!jstr(doc, "state") || strcmp(jstr(doc, "state"), "planned") != 0)
            continue;
        if ((rc = auto_apply_one(c, doc, f)) < 0)
            goto out;
        n += rc;
    }
    rc = n;
out:
    free(f);
    json_decref(open);
    return rc;
}
