/* poolgpu.c — the general pool's GPUs for containers (poolgpu.h): which GPUs are free for a
 * pool container now (the calendar's holds, the store's live containers and the agents'
 * observed MIG mode), the rolling hold of each pool container in the store and the calendar
 * alike, and the clock's pass that moves those holds on, warns a container before another
 * owner's hold reaches its GPU and stops it when that hold begins or its funds ran out. */
#include "server/poolgpu.h"

#include "core/catalog.h"
#include "server/cal.h"
#include "server/containers.h"
#include "server/flow.h"
#include "server/replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The pass moves a hold's end this far past now + notice, so that a hold is rewritten once a
 * minute rather than at every tick; it never ends sooner than now + notice. */
#define POOLGPU_STEP_S 60

/* ---- what is free now ---- */

/* The first hold on a GPU, from now on, that stands in the way of `self` on units `mask`
 * (every bit: the whole GPU): another owner's, firm or a quote's not yet expired. */
struct next_hold {
    int64_t now;
    struct al_owner self;
    const struct al_gpu_model *model;
    uint64_t mask;
    bool found;
    int64_t t0;
};

static int next_visit(uint32_t id, const struct al_hold *h, void *ctx)
{
    struct next_hold *n = ctx;
    (void)id;
    if (h->owner.kind == n->self.kind && h->owner.id == n->self.id)
        return 0;
    if (h->owner.kind == AL_OWNER_TENTATIVE && h->expires && h->expires <= n->now)
        return 0; /* expired: the clock's tick removes it */
    uint64_t units = h->whole ? UINT64_MAX : al_cal_mask(n->model, h->profile, h->start);
    if (!(units & n->mask))
        return 0;
    n->found = true;
    n->t0 = h->t0; /* holds come in order of start: the first is the next */
    return 1;
}

/* The start of the next hold in the way of `mask` on fleet GPU g (<= now: one is live now),
 * or 0 when none. */
static int64_t next_start(const struct al_cal *cal, uint32_t g, int64_t now, uint64_t mask)
{
    struct next_hold n = {.now = now,
                          .self = {AL_OWNER_ID_MAX, AL_OWNER_POOL}, /* nobody's */
                          .model = al_fleet_gpu(cal->fleet, g)->model,
                          .mask = mask};
    al_calendar_each(cal->cal, g, now, INT64_MAX, next_visit, &n);
    return n.found ? (n.t0 > now ? n.t0 : now) : 0;
}

/* What the store adds to the calendar: the GPUs with a live container, and those their agent
 * reports in MIG mode (with what it observed). Both objects are keyed by GPU id. */
struct pool_facts {
    json_t *busy; /* gpu id → true */
    json_t *mig;  /* gpu id → its row (al_store_gpu_managed), MIG mode on */
    json_t *rt;   /* node name → true (its runtime answers), false (unreachable), null (none):
                   * read from the store as nodes come up */
};

static void facts_free(struct pool_facts *f)
{
    json_decref(f->busy);
    json_decref(f->mig);
    json_decref(f->rt);
}

/* What node `node`'s agent last said of its container runtime: true, false, or NULL (it runs
 * none, or the store could not say: then the container's own check says why). */
static json_t *node_runtime(struct al_ctx *c, struct pool_facts *f, const char *node)
{
    json_t *v = json_object_get(f->rt, node), *row = NULL;
    if (v)
        return json_is_null(v) ? NULL : v;
    if (al_store_node_runtime_get(c->srv->store, node, &row, NULL) == 0)
        v = json_object_get(row, "ok");
    v = v ? v : json_null();
    json_object_set(f->rt, node, v); /* out of memory: asked again next time */
    json_decref(row);
    return json_is_null(v) ? NULL : v;
}

static int facts_load(struct al_ctx *c, struct pool_facts *f)
{
    json_t *live = NULL, *managed = NULL, *x;
    struct al_err e = {0};
    size_t i;
    f->busy = json_object();
    f->mig = json_object();
    f->rt = json_object();
    int rc = f->busy && f->mig && f->rt ? 0 : al_err_set(&e, AL_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = al_store_container_live(c->srv->store, NULL, &live, &e);
    if (rc == 0)
        rc = al_store_gpu_managed(c->srv->store, &managed, &e);
    json_array_foreach(live, i, x)
    {
        if (rc == 0 && jstr(x, "gpu"))
            rc = json_object_set(f->busy, jstr(x, "gpu"), json_true()) ? AL_E_NOMEM : 0;
    }
    json_array_foreach(managed, i, x)
    {
        json_t *mig = json_object_get(json_object_get(x, "observed"), "mig");
        if (rc == 0 && jstr(x, "id") && json_is_true(json_object_get(mig, "current")))
            rc = json_object_set(f->mig, jstr(x, "id"), x) ? AL_E_NOMEM : 0;
    }
    json_decref(live);
    json_decref(managed);
    if (rc == AL_E_NOMEM && !e.msg[0])
        al_err_set(&e, rc, "out of memory");
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* Why general-pool GPU g may not take a pool container now (NULL: it may): *until its next
 * hold's start (0: none). */
static const char *gpu_taken(struct al_ctx *c, struct pool_facts *f, uint32_t g, int64_t *until)
{
    const struct al_cal *cal = c->srv->cal;
    const char *id = al_cal_gpu_id(cal, g);
    const struct al_gpu *x = al_fleet_gpu(cal->fleet, g);
    *until = 0;
    if (!x || !id)
        return "is not in the fleet";
    if (x->pool != AL_POOL_GENERAL)
        return "is in the dedicated pool";
    if (!x->usable)
        return "is not usable now (unhealthy, drained, missing or on an offline node)";
    if (json_object_get(f->mig, id))
        return "is in MIG mode";
    if (json_object_get(f->busy, id))
        return "runs a container";
    if (!node_runtime(c, f, al_fleet_node(cal->fleet, x->node)->name))
        return "is on a node that runs no container runtime";
    *until = next_start(cal, g, c->now, UINT64_MAX);
    if (*until && *until < c->now + c->srv->pool_notice_s)
        return "is held within the notice period";
    return NULL;
}

static void pick_fill(struct al_ctx *c, uint32_t g, int64_t until, struct al_poolgpu_pick *ret)
{
    const struct al_cal *cal = c->srv->cal;
    const struct al_gpu *x = al_fleet_gpu(cal->fleet, g);
    memset(ret, 0, sizeof *ret);
    snprintf(ret->gpu, sizeof ret->gpu, "%s", al_cal_gpu_id(cal, g));
    snprintf(ret->node, sizeof ret->node, "%s", al_fleet_node(cal->fleet, x->node)->name);
    snprintf(ret->model, sizeof ret->model, "%s", x->model->name);
    snprintf(ret->device, sizeof ret->device, "%s", al_cal_gpu_uuid(cal, g));
    ret->free_until = until;
}

/* Is `a` (a free_until: 0 none) later than `b`? */
static bool later(int64_t a, int64_t b)
{
    return b != 0 && (a == 0 || a > b);
}

/* The free GPU of model m whose node's runtime answers, that stays free longest (then the
 * lowest fleet id); one whose runtime is unreachable only when no other is free (the
 * container's check then says why it cannot start). */
static int pick_model(struct al_ctx *c, struct pool_facts *f, const struct al_gpu_model *m,
                      const char *name, struct al_poolgpu_pick *ret)
{
    const struct al_fleet *fl = c->srv->cal->fleet;
    int slot = m ? al_fleet_model_slot(fl, m) : -1;
    const uint64_t *mb = slot >= 0 ? al_fleet_model_bits(fl, (unsigned)slot) : NULL;
    const uint64_t *pb = al_fleet_pool_bits(fl, AL_POOL_GENERAL), *ub = al_fleet_usable_bits(fl);
    int64_t best_until = 0, until;
    int best = -1;
    bool best_up = false;
    for (size_t w = 0; mb && pb && ub && w < al_fleet_words(fl); w++)
        for (uint64_t s = mb[w] & pb[w] & ub[w]; s; s &= s - 1) {
            uint32_t g = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(s));
            if (gpu_taken(c, f, g, &until))
                continue;
            bool up = json_is_true(
                node_runtime(c, f, al_fleet_node(fl, al_fleet_gpu(fl, g)->node)->name));
            if (best < 0 || (up && !best_up) || (up == best_up && later(until, best_until))) {
                best = (int)g;
                best_until = until;
                best_up = up;
            }
        }
    if (best < 0)
        return al_http_fail(c, AL_E_NOTFOUND, "model",
                            "no %s GPU of the general pool is free now for at least %lld s"
                            " on a node with a container runtime",
                            name, (long long)c->srv->pool_notice_s);
    pick_fill(c, (uint32_t)best, best_until, ret);
    return 0;
}

int al_poolgpu_pick(struct al_ctx *c, const char *model, const char *gpu_id,
                    struct al_poolgpu_pick *ret)
{
    struct pool_facts f = {0};
    int64_t until = 0;
    int rc = facts_load(c, &f);
    if (rc)
        goto out;
    if (!gpu_id) {
        rc = pick_model(c, &f, model ? al_catalog_find(model) : NULL, model ? model : "?", ret);
        goto out;
    }
    int g = al_cal_gpu(c->srv->cal, gpu_id);
    const char *why = g >= 0 ? gpu_taken(c, &f, (uint32_t)g, &until) : NULL;
    if (g < 0)
        rc = al_http_fail(c, AL_E_NOTFOUND, "gpu", "no GPU %s", gpu_id);
    else if (why)
        rc = al_http_fail(c, AL_E_CONFLICT, "gpu", "GPU %s %s: it cannot take a pool container",
                          gpu_id, why);
    else
        pick_fill(c, (uint32_t)g, until, ret);
out:
    facts_free(&f);
    return rc;
}

/* ---- the rolling hold ---- */

int al_poolgpu_hold(struct al_ctx *c, const char *ctr_id, const char *gpu_id, const char *profile,
                    int start_unit)
{
    struct al_cal *cal = c->srv->cal;
    struct al_err err = {0};
    char what[AL_HTTP_ID_LEN + 64];
    int g = gpu_id ? al_cal_gpu(cal, gpu_id) : -1, pi = -1, rc;
    const struct al_gpu *x = g >= 0 ? al_fleet_gpu(cal->fleet, (uint32_t)g) : NULL;
    if (!x)
        return al_http_fail(c, AL_E_NOTFOUND, "gpu", "no GPU %s", gpu_id ? gpu_id : "?");
    if (!ctr_id || strlen(ctr_id) >= sizeof((struct al_store_hold){0}).owner)
        return al_http_fail(c, AL_E_INVAL, "id", "a pool hold needs a container id");
    if (profile && ((pi = al_catalog_profile_index(x->model, profile)) < 0 || start_unit < 0 ||
                    start_unit >= (int)x->model->units))
        return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG instance %s at unit %d",
                            x->model->name, profile, start_unit);
    struct al_store_hold h = {.start_unit = pi < 0 ? -1 : start_unit,
                              .mask = al_cal_mask(x->model, pi, start_unit),
                              .t0 = c->now,
                              .t1 = c->now + c->srv->pool_notice_s};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu_id);
    snprintf(h.owner, sizeof h.owner, "%s", ctr_id);
    snprintf(h.kind, sizeof h.kind, "%s", pi < 0 ? "gpu" : "mig");
    snprintf(h.profile, sizeof h.profile, "%s", pi < 0 ? "" : profile);
    snprintf(what, sizeof what, "cannot hold GPU %s for %s", gpu_id, ctr_id);
    c->cal_touched = true;
    /* several replicas: the GPU locked and re-read before the store's check (replica.h) */
    if ((rc = al_replica_sale_lock(c, &gpu_id, 1)) != 0)
        return rc;
    if ((rc = al_store_hold_conflicts(c->srv->store, &h, c->now, &err)) > 0)
        return al_flow_hold_refusal(c, what, &h);
    if (rc < 0 || (rc = al_store_hold_add(c->srv->store, &h, &err)) != 0)
        return al_http_fail_err(c, rc, &err);
    struct al_hold ch = {.gpu = (uint32_t)g,
                         .whole = pi < 0,
                         .profile = (uint8_t)(pi < 0 ? 0 : pi),
                         .start = (uint8_t)(pi < 0 ? 0 : start_unit),
                         .t0 = h.t0,
                         .t1 = h.t1,
                         .owner = al_cal_owner(ctr_id)};
    if ((rc = al_calendar_add(cal->cal, &ch, &err)) < 0)
        return rc == AL_E_CONFLICT ? al_flow_hold_refusal(c, what, &h)
                                   : al_flow_cal_fail(c, rc, &err, ctr_id);
    al_fleet_set_pool_busy(cal->fleet, (uint32_t)g, true); /* the planner avoids it */
    return 0;
}

int al_poolgpu_release(struct al_ctx *c, const char *ctr_id)
{
    struct al_cal *cal = c->srv->cal;
    struct al_owner o = al_cal_owner(ctr_id);
    struct al_err err = {0};
    struct al_hold h;
    uint32_t id;
    if (!ctr_id)
        return 0;
    c->cal_touched = true;
    if (al_calendar_owner_holds(cal->cal, o, &id, 1) > 0 && al_calendar_get(cal->cal, id, &h) == 0)
        al_fleet_set_pool_busy(cal->fleet, h.gpu, false); /* one pool container a GPU */
    al_calendar_cancel_owner(cal->cal, o);
    int rc = al_store_hold_release(c->srv->store, ctr_id, &err);
    return rc < 0 ? al_http_fail_err(c, rc, &err) : 0;
}

/* ---- the clock's pass ---- */

/* The hold in the way of container `id`'s hold h, on units `mask` of its GPU, that starts
 * before now + notice + the step, from the store (which names its owner): 1 with *o, 0 when
 * none, or the call's code. */
static int blocker(struct al_ctx *c, const char *id, const char *gpu, uint64_t mask,
                   struct al_store_hold *o)
{
    struct al_store_hold q = {
        .mask = mask, .t0 = c->now, .t1 = c->now + c->srv->pool_notice_s + POOLGPU_STEP_S};
    struct al_err e = {0};
    snprintf(q.gpu, sizeof q.gpu, "%s", gpu);
    snprintf(q.owner, sizeof q.owner, "%s", id);
    int rc = al_store_hold_first_conflict(c->srv->store, &q, c->now, o, &e);
    if (rc == AL_E_NOTFOUND || (rc == 0 && !(o->mask & mask))) /* another instance's units */
        return 0;
    return rc ? al_http_fail_err(c, rc, &e) : 1;
}

/* Move the end of container `id`'s hold `hid` (h) to t1, in the calendar and the store. 1 when
 * moved, 0 when the calendar refuses (a MIG rule other than the units, which the store's check
 * does not see: the hold keeps its end, and the next pass tries again), or the call's code. */
static int move_end(struct al_ctx *c, const char *id, uint32_t hid, const struct al_hold *h,
                    int64_t t1)
{
    struct al_calendar *cal = c->srv->cal->cal;
    struct al_err e = {0};
    c->cal_touched = true;
    int rc =
        t1 > h->t1 ? al_calendar_extend(cal, hid, t1, &e) : al_calendar_shorten(cal, hid, t1, &e);
    if (rc == AL_E_CONFLICT)
        return 0;
    if (rc < 0)
        return al_flow_cal_fail(c, rc, &e, id);
    if ((rc = al_store_hold_set_end(c->srv->store, id, t1, &e)) < 0)
        return al_http_fail_err(c, rc, &e);
    return 1;
}

/* {reservation: id} or {quote: id}: whose hold takes the GPU. NULL when out of memory. */
static json_t *taker(const struct al_store_hold *o)
{
    return json_pack("{s:s}", strncmp(o->owner, "qte_", 4) == 0 ? "quote" : "reservation",
                     o->owner);
}

/* Is `w` (a document's warning) one for `reason`? */
static bool warned_for(json_t *w, const char *reason)
{
    const char *r = jstr(w, "reason");
    return r && strcmp(r, reason) == 0;
}

/* Warn container `ctr` that the hold `o` takes its GPU at o->t0 (once per stop time): the
 * document's `warning`, and container.warning. 1, or the call's code. */
static int warn(struct al_ctx *c, json_t *ctr, const struct al_store_hold *o)
{
    json_t *w = json_object_get(ctr, "warning");
    if (warned_for(w, "preemption") && jtime(w, "stop_at") == o->t0)
        return 0;
    json_t *data = taker(o);
    int rc = json_object_set_new(ctr, "warning",
                                 json_pack("{s:s,s:o,s:o}", "reason", "preemption", "at",
                                           al_time_json(c->now), "stop_at", al_time_json(o->t0)));
    if (!data || rc != 0) {
        json_decref(data);
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    json_object_set_new(data, "reason", json_string("preemption"));
    json_object_set_new(data, "stop_at", al_time_json(o->t0));
    if ((rc = al_containers_put(c, ctr)) == 0)
        rc = al_event(c, AL_EVENT_CONTAINER_WARNING, jstr(ctr, "org"), jstr(ctr, "id"), data);
    else
        json_decref(data);
    return rc < 0 ? rc : 1;
}

/* The hold that warned `ctr` went (its quote expired, its reservation was cancelled): the
 * warning goes too. 1 when one went, 0 when none, or the call's code. */
static int unwarn(struct al_ctx *c, json_t *ctr)
{
    json_t *w = json_object_get(ctr, "warning");
    if (!warned_for(w, "preemption"))
        return 0;
    json_object_set_new(ctr, "warning", json_null());
    int rc = al_containers_put(c, ctr);
    return rc < 0 ? rc : 1;
}

/* Stop `ctr` for `reason`, naming the hold that takes its GPU (o, may be NULL). 1, or the
 * call's code. */
static int stop(struct al_ctx *c, json_t *ctr, const char *reason, const struct al_store_hold *o)
{
    json_t *data = o ? taker(o) : NULL;
    if (o && !data)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    int rc = al_containers_stop(c, ctr, reason, data);
    json_decref(data);
    return rc < 0 ? rc : 1;
}

/* Pool container `ctr` has no hold in the calendar (the server was down for longer than the
 * calendar looks back): it is held again from now, or stopped when its GPU is taken. A
 * reservation's container going on pay-as-you-go keeps the hold rsvlife gave it. */
static int rehold(struct al_ctx *c, json_t *ctr)
{
    const char *id = jstr(ctr, "id"), *gpu = jstr(ctr, "gpu");
    const char *kind = jstr(json_object_get(ctr, "target"), "kind");
    struct al_store_hold o;
    struct al_err e = {0};
    if (!gpu || !kind || strcmp(kind, "pool") != 0)
        return 0;
    int rc = al_store_hold_release(c->srv->store, id, &e);
    if (rc < 0)
        return al_http_fail_err(c, rc, &e);
    if ((rc = blocker(c, id, gpu, UINT64_MAX, &o)) == 1 && o.t0 < c->now + c->srv->pool_notice_s)
        return stop(c, ctr, "preempted", &o);
    if (rc < 0 || (rc = al_poolgpu_hold(c, id, gpu, NULL, -1)) < 0)
        return rc;
    return 1;
}

/* Container `ctr`'s hold, against what comes: moved on, a warning, or the stop. */
static int pass_hold(struct al_ctx *c, json_t *ctr)
{
    const struct al_cal *cal = c->srv->cal;
    const char *id = jstr(ctr, "id");
    struct al_store_hold o;
    struct al_hold h;
    uint32_t hid;
    if (al_calendar_owner_holds(cal->cal, al_cal_owner(id), &hid, 1) < 1 ||
        al_calendar_get(cal->cal, hid, &h) != 0)
        return rehold(c, ctr);
    const struct al_gpu *x = al_fleet_gpu(cal->fleet, h.gpu);
    const char *gpu = al_cal_gpu_id(cal, h.gpu);
    uint64_t mask = h.whole ? UINT64_MAX : al_cal_mask(x->model, h.profile, h.start);
    int64_t notice = c->srv->pool_notice_s, want = c->now + notice + POOLGPU_STEP_S;
    /* several replicas: the GPU's row locked before the store names the blocker, so that no
     * other replica's hold lands in the end this pass moves to (the calendar's hold ids stay) */
    int rc = gpu ? al_replica_lock_gpus(c, &gpu, 1) : 0, n = 0;
    if (rc < 0)
        return rc;
    if ((rc = gpu ? blocker(c, id, gpu, mask, &o) : 0) < 0)
        return rc;
    if (rc == 1 && o.t0 <= c->now)
        return stop(c, ctr, "preempted", &o);
    if (rc == 1 && o.t0 < want)
        want = o.t0;
    int64_t need = c->now + notice < want ? c->now + notice : want;
    if ((h.t1 < need || h.t1 > want) && (n = move_end(c, id, hid, &h, want)) < 0)
        return n;
    if (rc == 1 && o.t0 - c->now <= notice)
        rc = warn(c, ctr, &o);
    else
        rc = unwarn(c, ctr);
    return rc < 0 ? rc : rc + n;
}

/* One live container: its pool session stopped by the metering (funds exhausted) stops it;
 * else its hold. Returns the changes (>= 0) or the call's code. */
static int pass_one(struct al_ctx *c, json_t *ctr)
{
    json_int_t sess = json_integer_value(json_object_get(ctr, "pool_session"));
    struct al_store_pool p;
    struct al_err e = {0};
    const char *desired = jstr(ctr, "desired");
    if (sess <= 0 || !desired || strcmp(desired, "run") != 0)
        return 0;
    int rc = al_store_pool_get(c->srv->store, (uint64_t)sess, &p, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if (p.stopped_at)
        return stop(c, ctr, "funds_exhausted", NULL);
    return pass_hold(c, ctr);
}

int al_poolgpu_pass(struct al_ctx *c)
{
    return al_containers_each_live(c, pass_one);
}

/* ---- GET /v1/pool ---- */

/* The entry of model m in `models` ([{model, gpus_free, gpus, profiles}]), added when new. */
static json_t *model_entry(json_t *models, const struct al_gpu_model *m)
{
    json_t *e;
    size_t i;
    json_array_foreach(models, i, e)
    {
        if (strcmp(jstr(e, "model"), m->name) == 0)
            return e;
    }
    e = json_pack("{s:s,s:i,s:[],s:[]}", "model", m->name, "gpus_free", 0, "gpus", "profiles");
    return e && json_array_append_new(models, e) == 0 ? e : NULL;
}

/* The entry of profile `name` in a model's `profiles`, added when new. */
static json_t *profile_entry(json_t *profiles, const char *name)
{
    json_t *e;
    size_t i;
    json_array_foreach(profiles, i, e)
    {
        if (strcmp(jstr(e, "profile"), name) == 0)
            return e;
    }
    e = json_pack("{s:s,s:i,s:[]}", "profile", name, "instances_free", 0, "instances");
    return e && json_array_append_new(profiles, e) == 0 ? e : NULL;
}

/* Add `item` (stolen) to the list `list` of entry e, counting it in e's `count`. */
static int entry_add(json_t *e, const char *count, const char *list, json_t *item)
{
    if (!e || !item || json_array_append_new(json_object_get(e, list), item) != 0)
        return AL_E_NOMEM;
    json_int_t n = json_integer_value(json_object_get(e, count));
    return json_object_set_new(e, count, json_integer(n + 1)) ? AL_E_NOMEM : 0;
}

static json_t *until_json(int64_t until)
{
    return until ? al_time_json(until) : json_null();
}

/* The free observed MIG instances of general-pool GPU g (its row `row`, in MIG mode): those
 * the calendar would let a hold of over [now, now + notice). */
static int list_instances(struct al_ctx *c, uint32_t g, json_t *row, json_t *entry)
{
    const struct al_cal *cal = c->srv->cal;
    const struct al_gpu *x = al_fleet_gpu(cal->fleet, g);
    json_t *inst;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(row, "observed"), "instances"), i, inst)
    {
        int pi = al_catalog_profile_index(x->model, jstr(inst, "profile"));
        json_int_t start = json_integer_value(json_object_get(inst, "start"));
        if (pi < 0 || start < 0 || start >= x->model->units)
            continue;
        struct al_hold h = {.gpu = g,
                            .profile = (uint8_t)pi,
                            .start = (uint8_t)start,
                            .t0 = c->now,
                            .t1 = c->now + c->srv->pool_notice_s,
                            .owner = {AL_OWNER_ID_MAX, AL_OWNER_POOL}};
        if (al_calendar_check(cal->cal, &h, NULL) != 0)
            continue;
        int64_t until = next_start(cal, g, c->now, al_cal_mask(x->model, pi, (int)start));
        json_t *item = json_pack("{s:s,s:s,s:I,s:o}", "gpu", al_cal_gpu_id(cal, g), "node",
                                 al_fleet_node(cal->fleet, x->node)->name, "start", start,
                                 "free_until", until_json(until));
        if (entry_add(
                profile_entry(json_object_get(entry, "profiles"), x->model->profiles[pi].name),
                "instances_free", "instances", item) != 0)
            return AL_E_NOMEM;
    }
    return 0;
}

/* General-pool GPU g into `models`: free now (whole), or its free MIG instances. */
static int list_gpu(struct al_ctx *c, struct pool_facts *f, uint32_t g, json_t *models)
{
    const struct al_cal *cal = c->srv->cal;
    const struct al_gpu *x = al_fleet_gpu(cal->fleet, g);
    const char *id = al_cal_gpu_id(cal, g);
    json_t *e = model_entry(models, x->model), *row = json_object_get(f->mig, id);
    int64_t until = 0;
    if (!e)
        return AL_E_NOMEM;
    if (!x->usable)
        return 0;
    if (row)
        return list_instances(c, g, row, e);
    if (gpu_taken(c, f, g, &until))
        return 0;
    return entry_add(e, "gpus_free", "gpus",
                     json_pack("{s:s,s:s,s:o}", "id", id, "node",
                               al_fleet_node(cal->fleet, x->node)->name, "free_until",
                               until_json(until)));
}

int al_poolgpu_list(struct al_ctx *c, const struct al_gpu_model *model, json_t **ret)
{
    const struct al_fleet *fl = c->srv->cal->fleet;
    const uint64_t *pb = al_fleet_pool_bits(fl, AL_POOL_GENERAL);
    int slot = model ? al_fleet_model_slot(fl, model) : -1;
    const uint64_t *mb = slot >= 0 ? al_fleet_model_bits(fl, (unsigned)slot) : NULL;
    struct pool_facts f = {0};
    json_t *models = json_array();
    int rc = models ? facts_load(c, &f) : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    for (size_t w = 0; rc == 0 && pb && (mb || !model) && w < al_fleet_words(fl); w++)
        for (uint64_t s = pb[w] & (mb ? mb[w] : UINT64_MAX); rc == 0 && s; s &= s - 1)
            rc = list_gpu(c, &f, (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(s)), models);
    facts_free(&f);
    if (rc == AL_E_NOMEM)
        rc = al_http_fail(c, rc, NULL, "out of memory");
    if (rc == 0 && !(*ret = json_pack("{s:o,s:I,s:O}", "at", al_time_json(c->now), "notice_s",
                                      (json_int_t)c->srv->pool_notice_s, "models", models)))
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_decref(models);
    return rc;
}
