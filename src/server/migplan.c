/* migplan.c — the clock's planning pass of MIG changes (see migplan.h): the managed GPUs and
 * their holds, the layout each needs next, the change for it, kept, superseded or stored. */
#include "server/migplan.h"

#include "core/migchange.h"
#include "core/window.h"
#include "server/flow.h"
#include "server/miglayout.h"
#include "server/provision.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A GPU allot configures, with the firm reservation holds on it within the horizon. */
struct mgpu {
    json_t *g; /* its row of al_store_gpu_all (borrowed) */
    const char *id;
    struct al_layout from; /* what its agent observed */
    bool from_mig;
    struct al_store_hold *h; /* al_store_hold_gpu_firm's, by start */
    size_t n;
};

struct pass {
    struct al_ctx *c;
    struct mgpu *v;
    size_t n;
};

/* What the holds live at one instant need of a GPU. */
struct need {
    bool whole;         /* a whole-GPU hold: MIG off */
    struct al_layout l; /* the MIG instances held */
};

/* ---- what is said on stderr ---------------------------------------------------------------- */

/* A GPU that cannot be planned stays so from tick to tick until its facts change: its line is
 * said once, and again only after a pass that did not say it (a line said in the pass under
 * way is `seen`; a complete pass forgets the others). So the table holds the lines of the GPUs
 * stuck at the last pass, at most AL_MIGPLAN_SAID_MAX; it lives in the server, under its lock
 * as every pass. */
#define SAID_LINE_MAX 640 /* a line: prefix, GPU and node ids, an al_err message */

struct said_line {
    char text[SAID_LINE_MAX];
    bool seen;
};

struct al_migplan_said {
    struct said_line *v;
    size_t n, cap;
};

void al_migplan_said_free(struct al_srv *srv)
{
    if (srv->migplan_said)
        free(srv->migplan_said->v);
    free(srv->migplan_said);
    srv->migplan_said = NULL;
}

/* Remember `line` as said; when out of room or memory, it is not (said again next pass). */
static void said_add(struct al_srv *srv, const char *line)
{
    struct al_migplan_said *s = srv->migplan_said;
    if (!s && !(s = srv->migplan_said = calloc(1, sizeof *s)))
        return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        struct said_line *v = cap <= AL_MIGPLAN_SAID_MAX ? realloc(s->v, cap * sizeof *v) : NULL;
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    snprintf(s->v[s->n].text, sizeof s->v[s->n].text, "%s", line);
    s->v[s->n++].seen = true;
}

/* Say the line on stderr unless it was said at the last pass already. */
static void say(struct al_srv *srv, const char *fmt, ...) AL_PRINTF(2, 3);
static void say(struct al_srv *srv, const char *fmt, ...)
{
    struct al_migplan_said *s = srv->migplan_said;
    char line[SAID_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    for (size_t i = 0; s && i < s->n; i++)
        if (strcmp(s->v[i].text, line) == 0) {
            s->v[i].seen = true;
            return;
        }
    fprintf(stderr, "allot server: MIG plan: %s\n", line);
    said_add(srv, line);
}

/* A pass begins: no line is seen yet. */
static void said_begin(struct al_srv *srv)
{
    struct al_migplan_said *s = srv->migplan_said;
    for (size_t i = 0; s && i < s->n; i++)
        s->v[i].seen = false;
}

/* A pass completed: the lines it did not say are forgotten, to be said again when they recur. */
static void said_end(struct al_srv *srv)
{
    struct al_migplan_said *s = srv->migplan_said;
    size_t k = 0;
    for (size_t i = 0; s && i < s->n; i++)
        if (s->v[i].seen)
            s->v[k++] = s->v[i];
    if (s)
        s->n = k;
}

int al_migplan_gpus(struct al_ctx *c, json_t **gpus)
{
    struct al_err e = {0};
    int rc = *gpus ? 0 : al_store_gpu_managed(c->srv->store, gpus, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static int mgpu_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mgpu *)a)->id, ((const struct mgpu *)b)->id);
}

/* Whether the agent is still bringing the GPU to the layout allot last applied (`desired`):
 * after a change was applied and before its next report, or after a reboot. The planner waits
 * for it rather than plan from a layout that is about to change. */
static bool settling(const struct mgpu *g)
{
    const char *model = jstr(g->g, "model");
    const struct al_gpu_model *m = model ? al_catalog_find(model) : NULL;
    json_t *desired = json_object_get(g->g, "desired");
    struct al_layout d;
    bool mig;
    if (!m || !json_is_object(desired) || al_miglayout_parse(desired, m, &d, &mig, NULL) != 0)
        return false;
    if (mig != g->from_mig)
        return true;
    for (unsigned i = 0; i < d.n; i++)
        if (!al_miglayout_has(&g->from, d.p[i]))
            return true;
    return false;
}

/* The managed GPUs of `gpus` (observed, node online, not settling) into p->v, by id. */
static int managed(struct pass *p, json_t *gpus)
{
    json_t *g;
    size_t i;
    json_array_foreach(gpus, i, g)
    {
        struct mgpu x = {.g = g, .id = jstr(g, "id")};
        struct al_err e = {0};
        if (!json_is_object(json_object_get(g, "observed")) || !x.id ||
            !json_is_true(json_object_get(g, "online")))
            continue;
        /* instances outside the catalog: nothing to plan from, and nothing said here at every
         * tick (the GPU's catalog_differences and gpu.catalog_mismatch say it once) */
        json_t *obs = json_object_get(g, "observed");
        if (json_array_size(json_object_get(obs, "unmatched_instances")))
            continue;
        if (al_miglayout_observed(g, &x.from, &x.from_mig, &e) != 0) {
            if (!json_array_size(json_object_get(obs, "catalog_differences"))) /* else said there */
                say(p->c->srv, "GPU %s: observed: %s", x.id, e.msg);
            continue;
        }
        if (settling(&x))
            continue;
        if (!p->v && !(p->v = calloc(json_array_size(gpus), sizeof *p->v)))
            return al_http_fail(p->c, AL_E_NOMEM, NULL, "out of memory");
        p->v[p->n++] = x;
    }
    if (p->n > 1)
        qsort(p->v, p->n, sizeof *p->v, mgpu_cmp);
    return 0;
}

/* The firm reservation holds on each managed GPU within the horizon: one indexed read per GPU,
 * so that the pass costs the managed GPUs' holds, never the fleet's. */
static int gather_holds(struct pass *p)
{
    for (size_t i = 0; i < p->n; i++) {
        struct mgpu *g = &p->v[i];
        struct al_err e = {0};
        int rc = al_store_hold_gpu_firm(p->c->srv->store, g->id, p->c->now,
                                        p->c->now + AL_MIGPLAN_HORIZON_S, &g->h, &g->n, &e);
        if (rc)
            return al_http_fail_err(p->c, rc, &e);
    }
    return 0;
}

/* The placement hold h takes on model m: 0, 1 for a whole GPU, or -1 (a profile m lacks). */
static int hold_placement(const struct al_gpu_model *m, const struct al_store_hold *h,
                          struct al_placement *ret)
{
    if (strcmp(h->kind, "gpu") == 0)
        return 1;
    int pi = al_catalog_profile_index(m, h->profile);
    if (pi < 0 || pi >= AL_MIG_MAX_PROFILES || h->start_unit < 0 || h->start_unit >= 32)
        return -1;
    *ret = (struct al_placement){(uint8_t)pi, (uint8_t)h->start_unit};
    return 0;
}

static bool live_at(const struct al_store_hold *h, int64_t t)
{
    return h->t0 <= t && t < h->t1;
}

/* What the holds live at t need of GPU g (model m); -1 when a hold names a profile m lacks. */
static int need_at(const struct mgpu *g, const struct al_gpu_model *m, int64_t t, struct need *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->l.model = m;
    for (size_t i = 0; i < g->n; i++) {
        struct al_placement p;
        int k = live_at(&g->h[i], t) ? hold_placement(m, &g->h[i], &p) : 2;
        if (k < 0)
            return -1;
        ret->whole |= k == 1;
        if (k == 0 && !al_miglayout_has(&ret->l, p) && ret->l.n < AL_LAYOUT_MAX)
            ret->l.p[ret->l.n++] = p;
    }
    return 0;
}

static bool satisfied(const struct mgpu *g, const struct need *nd)
{
    if (nd->whole)
        return !g->from_mig;
    for (unsigned i = 0; i < nd->l.n; i++)
        if (!g->from_mig || !al_miglayout_has(&g->from, nd->l.p[i]))
            return false;
    return true;
}

/* The earliest instant T in [now, now + horizon) (now, or a hold's start) whose holds need
 * what the observed layout does not give: 1 with *ret_t and *ret, 0 when none, -1 when a hold
 * cannot be read for the model. */
static int first_need(const struct mgpu *g, const struct al_gpu_model *m, int64_t now,
                      int64_t *ret_t, struct need *ret)
{
    int64_t t = now;
    for (;;) {
        if (need_at(g, m, t, ret) != 0)
            return -1;
        if (!satisfied(g, ret)) {
            *ret_t = t;
            return 1;
        }
        int64_t next = INT64_MAX; /* the next hold to begin after t */
        for (size_t i = 0; i < g->n; i++)
            if (g->h[i].t0 > t && g->h[i].t0 < next)
                next = g->h[i].t0;
        if (next == INT64_MAX || next >= now + AL_MIGPLAN_HORIZON_S)
            return 0;
        t = next;
    }
}

/* The layout wanted: the instances needed, and every observed one that fits beside them. */
static int wanted(const struct mgpu *g, const struct need *nd, struct al_layout *to, bool *to_mig,
                  struct al_err *e)
{
    memset(to, 0, sizeof *to);
    to->model = nd->l.model;
    *to_mig = !nd->whole;
    if (nd->whole)
        return 0;
    *to = nd->l;
    al_layout_sort(to);
    if (al_layout_validate(to, e) != 0)
        return AL_E_INVAL;
    for (unsigned i = 0; g->from_mig && i < g->from.n; i++)
        if (!al_miglayout_has(to, g->from.p[i]) && al_layout_can_add(to, g->from.p[i]))
            to->p[to->n++] = g->from.p[i];
    al_layout_sort(to);
    return 0;
}

/* ---- the reservations of a change ---------------------------------------------------------- */

/* Reservation `id`'s document, read once per GPU planned: borrowed from *docs. */
static int rsv_doc(struct al_ctx *c, json_t *docs, const char *id, json_t **ret)
{
    struct al_err e = {0};
    json_t *r = NULL;
    if ((*ret = json_object_get(docs, id)))
        return 0;
    int rc = al_store_reservation_get(c->srv->store, id, &r, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_object_set_new(docs, id, r);
    *ret = r;
    return 0;
}

/* r as the core sees it: its id, org and start, and the instance (or whole GPU) of hold h. */
static int rsv_entry(struct al_ctx *c, json_t *docs, const struct al_gpu_model *m,
                     const struct al_store_hold *h, struct al_migchange_rsv *ret)
{
    json_t *r;
    int rc = rsv_doc(c, docs, h->owner, &r);
    if (rc)
        return rc;
    memset(ret, 0, sizeof *ret);
    snprintf(ret->id, sizeof ret->id, "%s", h->owner);
    snprintf(ret->org, sizeof ret->org, "%s", jstr(r, "org") ? jstr(r, "org") : "");
    ret->start = jtime(r, "start") ? jtime(r, "start") : h->t0;
    ret->whole = hold_placement(m, h, &ret->p) == 1;
    return 0;
}

/* The reservations of a change being planned. */
struct rsv_lists {
    struct al_migchange_rsv serves[AL_MIGCHANGE_RSV_MAX], holders[AL_MIGCHANGE_RSV_MAX];
};

/* The reservations served (a hold live at t on an instance that is not there now) and those
 * holding instances of `from` now. */
static int rsv_entries(struct al_ctx *c, const struct mgpu *g, const struct al_gpu_model *m,
                       int64_t t, json_t *docs, struct al_migchange_input *in, struct rsv_lists *l)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g->n; i++) {
        const struct al_store_hold *h = &g->h[i];
        struct al_placement p = {0, 0};
        int k = hold_placement(m, h, &p);
        if (k < 0)
            continue;
        bool there = k == 1 ? !g->from_mig : g->from_mig && al_miglayout_has(&g->from, p);
        if (live_at(h, t) && !there && in->nserves < AL_MIGCHANGE_RSV_MAX)
            rc = rsv_entry(c, docs, m, h, &l->serves[in->nserves++]);
        else if (live_at(h, c->now) && there && in->nholders < AL_MIGCHANGE_RSV_MAX)
            rc = rsv_entry(c, docs, m, h, &l->holders[in->nholders++]);
    }
    return rc;
}

/* When the work on what the change destroys ends: the latest end of the holds before t on an
 * instance of `from` that `to` lacks (or on the whole GPU, when MIG comes on), so that no
 * reservation's instance is taken away while it is paid for. */
static int64_t busy_until(const struct mgpu *g, const struct al_gpu_model *m, int64_t t,
                          const struct al_layout *to, bool to_mig)
{
    int64_t until = 0;
    for (size_t i = 0; i < g->n; i++) {
        const struct al_store_hold *h = &g->h[i];
        struct al_placement p = {0, 0};
        int k = hold_placement(m, h, &p);
        bool gone = k == 1 ? to_mig && !g->from_mig
                           : k == 0 && al_miglayout_has(&g->from, p) && !al_miglayout_has(to, p);
        if (gone && h->t0 < t && h->t1 > until)
            until = h->t1;
    }
    return until;
}

/* The node's change windows (its own, its zone's, the default; none: any time); 1 when they
 * do not parse (said on stderr about GPU g). */
static int node_windows(struct al_ctx *c, json_t *g, struct al_windows *ret)
{
    json_t *w = NULL;
    struct al_err e = {0};
    memset(ret, 0, sizeof *ret);
    int rc = al_store_window_for(c->srv->store, jstr(g, "node"), jstr(g, "zone"), &w, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    rc = al_window_parse(jstr(w, "windows"), ret, &e);
    json_decref(w);
    if (rc)
        say(c->srv, "GPU %s: windows of node %s: %s", jstr(g, "id"), jstr(g, "node"), e.msg);
    return rc ? 1 : 0;
}

/* ---- the change's document ----------------------------------------------------------------- */

static json_t *steps_json(const struct al_migchange *ch)
{
    const struct al_gpu_model *m = ch->to.model;
    json_t *a = json_array();
    for (unsigned i = 0; a && i < ch->nsteps; i++) {
        json_t *s =
            json_pack("{s:s,s:s,s:i}", "op",
                      ch->steps[i].op == AL_STEP_CREATE ? "create" : "destroy", "profile",
                      m->profiles[ch->steps[i].p.profile].name, "start", (int)ch->steps[i].p.start);
        if (json_array_append_new(a, s) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *ops_json(const struct al_migchange *ch)
{
    struct al_migop ops[AL_MIGOP_MAX];
    unsigned n = al_migchange_ops(ch, ops);
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++) {
        bool mode = ops[i].kind == AL_MIGOP_MIG_ON || ops[i].kind == AL_MIGOP_MIG_OFF;
        json_t *o = mode ? json_object() : al_miglayout_instance(ch->to.model, ops[i].p);
        if (!o || json_object_set_new(o, "op", json_string(al_migop_name(ops[i].kind))) != 0 ||
            json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* serves ([{reservation, org, start, profile, start_unit}]) or holders (without start). */
static json_t *rsvs_json(const struct al_gpu_model *m, const struct al_migchange_rsv *r, unsigned n,
                         bool serves)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:s,s:s,s:s?,s:o}", "reservation", r[i].id, "org", r[i].org,
                              "profile", r[i].whole ? NULL : m->profiles[r[i].p.profile].name,
                              "start_unit", r[i].whole ? json_null() : json_integer(r[i].p.start));
        if (o && serves)
            json_object_set_new(o, "start", al_time_json(r[i].start));
        if (json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *window_json(const struct al_migchange *ch)
{
    return json_pack("{s:o,s:o,s:b}", "run_after", al_time_json(ch->run_after), "run_before",
                     al_time_json(ch->run_before), "late", ch->late);
}

/* The change's document as GET /v1/mig-changes/{id} shows it, less acks and checks. */
static json_t *change_doc(struct al_ctx *c, json_t *g, const struct al_migchange *ch,
                          const char *id)
{
    json_t *d = json_pack(
        "{s:s,s:s,s:s?,s:s,s:s?,s:s?,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:n,s:n,s:n,s:o,s:o}", "id",
        id, "state", "planned", "node", jstr(g, "node"), "gpu", jstr(g, "id"), "gpu_uuid",
        jstr(g, "uuid"), "model", ch->to.model->name, "from",
        al_miglayout_json(&ch->from, ch->from_mig), "to", al_miglayout_json(&ch->to, ch->to_mig),
        "mode_switch", ch->mode_switch, "steps", steps_json(ch), "operations", ops_json(ch),
        "serves", rsvs_json(ch->to.model, ch->serves, ch->nserves, true), "holders",
        rsvs_json(ch->to.model, ch->holders, ch->nholders, false), "window", window_json(ch),
        "approved", "result", "failure", "created_at", al_time_json(c->now), "updated_at",
        al_time_json(c->now));
    return d;
}

/* ---- store ------------------------------------------------------------------------------- */

/* The links of change ch: each reservation once, those it serves first. */
static size_t change_links(const struct al_migchange *ch,
                           struct al_store_migchange_link l[2 * AL_MIGCHANGE_RSV_MAX])
{
    size_t n = 0;
    for (unsigned k = 0; k < ch->nserves + ch->nholders; k++) {
        bool serves = k < ch->nserves;
        const struct al_migchange_rsv *r = serves ? &ch->serves[k] : &ch->holders[k - ch->nserves];
        size_t j = 0;
        while (j < n && strcmp(l[j].reservation, r->id) != 0)
            j++;
        if (j == n)
            l[n++] = (struct al_store_migchange_link){r->id, r->org, serves ? "serves" : "holds"};
    }
    return n;
}

/* Store the change planned for GPU g as `id`, with its event. */
static int change_insert(struct al_ctx *c, json_t *g, const struct al_migchange *ch, const char *id)
{
    struct al_store_migchange_link links[2 * AL_MIGCHANGE_RSV_MAX];
    struct al_store_migchange m = {
        id, jstr(g, "id"), jstr(g, "node"), "planned", ch->run_after, ch->run_before, c->now};
    struct al_err e = {0};
    json_t *doc = change_doc(c, g, ch, id), *ids = json_array();
    int rc;
    if (!doc || !ids) {
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if ((rc = al_store_migchange_put(c->srv->store, &m, doc, links, change_links(ch, links), true,
                                     &e)) != 0) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    for (unsigned i = 0; i < ch->nserves; i++)
        json_array_append_new(ids, json_string(ch->serves[i].id));
    rc = al_event_migchange(c, AL_EVENT_MIG_CHANGE_PLANNED, id,
                            json_pack("{s:s,s:s?,s:O,s:O,s:O,s:O}", "gpu", m.gpu, "node", m.node,
                                      "from", json_object_get(doc, "from"), "to",
                                      json_object_get(doc, "to"), "serves", ids, "window",
                                      json_object_get(doc, "window")));
    if (rc == 0)
        rc = al_provision_planned(c, id, ids);
out:
    json_decref(doc);
    json_decref(ids);
    return rc;
}

/* Open change `open` is superseded (by the change `by`, when one is planned instead). */
static int change_supersede(struct al_ctx *c, json_t *open, const char *by, const char *why)
{
    struct al_store_migchange m = {jstr(open, "id"),
                                   jstr(open, "gpu"),
                                   jstr(open, "node"),
                                   "superseded",
                                   jtime(json_object_get(open, "window"), "run_after"),
                                   jtime(json_object_get(open, "window"), "run_before"),
                                   c->now};
    struct al_err e = {0};
    json_t *data = json_pack("{s:s,s:s?,s:s,s:s?}", "gpu", m.gpu, "by", by, "reason", why,
                             "from_state", jstr(open, "state"));
    json_object_set_new(open, "state", json_string("superseded"));
    json_object_set_new(
        open, "superseded",
        json_pack("{s:s?,s:s,s:o}", "by", by, "reason", why, "at", al_time_json(c->now)));
    json_object_set_new(open, "updated_at", al_time_json(c->now));
    int rc = al_store_migchange_put(c->srv->store, &m, open, NULL, 0, false, &e);
    if (rc) {
        json_decref(data);
        return al_http_fail_err(c, rc, &e);
    }
    return al_event_migchange(c, AL_EVENT_MIG_CHANGE_SUPERSEDED, m.id, data);
}

/* An open change whose window passed unapplied, or would open while a reservation still holds
 * an instance it destroys, moves to the window planned now (same id: its acks stay). */
static int change_rewindow(struct al_ctx *c, json_t *open, const struct al_migchange *ch)
{
    struct al_store_migchange m = {jstr(open, "id"),
                                   jstr(open, "gpu"),
                                   jstr(open, "node"),
                                   jstr(open, "state"),
                                   ch->run_after,
                                   ch->run_before,
                                   c->now};
    struct al_err e = {0};
    json_object_set_new(open, "window", window_json(ch));
    json_object_set_new(open, "updated_at", al_time_json(c->now));
    int rc = al_store_migchange_put(c->srv->store, &m, open, NULL, 0, false, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 1;
}

/* ---- one GPU ------------------------------------------------------------------------------- */

/* What GPU g needs next: the instant t, the layout wanted then (to, to_mig); the ids of the
 * reservations served (sorted, once each) in *serves. */
struct want {
    int64_t t;
    int64_t not_before; /* busy_until */
    struct need nd;
    struct al_layout to;
    bool to_mig;
    json_t *serves;
};

/* The change for w, planned by the core: 0, 1 when it cannot be planned (said on stderr), or
 * a negative code. */
static int plan_change(struct al_ctx *c, const struct mgpu *g, const struct want *w,
                       struct al_migchange *ret)
{
    struct rsv_lists l;
    struct al_windows win;
    struct al_err e = {0};
    json_t *docs = json_object();
    const struct al_gpu_model *m = w->nd.l.model;
    struct al_migchange_input in = {.gpu = g->id,
                                    .from = &g->from,
                                    .from_mig = g->from_mig,
                                    .to = &w->to,
                                    .to_mig = w->to_mig,
                                    .serves = l.serves,
                                    .holders = l.holders,
                                    .windows = &win,
                                    .now = c->now,
                                    .not_before = w->not_before};
    int rc =
        docs ? node_windows(c, g->g, &win) : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (rc == 0)
        rc = rsv_entries(c, g, m, w->t, docs, &in, &l);
    if (rc == 0 && al_migchange_plan(&in, ret, &e) != 0) {
        say(c->srv, "GPU %s: %s", g->id, e.msg);
        rc = 1;
    }
    json_decref(docs);
    return rc;
}

/* GPU g's open change (from the list of every open one), or NULL. */
static json_t *open_of(json_t *open, const char *gpu)
{
    json_t *o;
    size_t i;
    json_array_foreach(open, i, o)
    {
        if (jstr(o, "gpu") && strcmp(jstr(o, "gpu"), gpu) == 0)
            return o;
    }
    return NULL;
}

/* The sorted, distinct reservation ids of `ids` (an array of strings) as a new array. */
static json_t *id_set(json_t *ids)
{
    json_t *out = json_array(), *x;
    size_t i, j;
    json_array_foreach(ids, i, x)
    {
        const char *id = json_string_value(x);
        for (j = 0; id && j < json_array_size(out); j++)
            if (strcmp(json_string_value(json_array_get(out, j)), id) >= 0)
                break;
        if (id && (j == json_array_size(out) ||
                   strcmp(json_string_value(json_array_get(out, j)), id) != 0))
            json_array_insert_new(out, j, json_string(id));
    }
    return out;
}

/* The reservations served at w->t: a hold live then on an instance not there now. */
static json_t *serve_ids(const struct mgpu *g, const struct want *w)
{
    json_t *ids = json_array(), *set;
    for (size_t i = 0; ids && i < g->n; i++) {
        struct al_placement p = {0, 0};
        int k = hold_placement(w->nd.l.model, &g->h[i], &p);
        bool there = k == 1 ? !g->from_mig : g->from_mig && al_miglayout_has(&g->from, p);
        if (k >= 0 && live_at(&g->h[i], w->t) && !there)
            json_array_append_new(ids, json_string(g->h[i].owner));
    }
    set = id_set(ids);
    json_decref(ids);
    return set;
}

/* Whether open change `o` turns the observed layout into the one wanted, for the same
 * reservations. */
static bool same_change(json_t *o, const struct mgpu *g, const struct want *w)
{
    json_t *from = al_miglayout_json(&g->from, g->from_mig);
    json_t *to = al_miglayout_json(&w->to, w->to_mig), *had = json_array(), *x, *set;
    size_t i;
    json_array_foreach(json_object_get(o, "serves"), i, x)
        json_array_append(had, json_object_get(x, "reservation"));
    set = id_set(had);
    bool same = from && to && json_equal(json_object_get(o, "from"), from) &&
                json_equal(json_object_get(o, "to"), to) && json_equal(set, w->serves);
    json_decref(from);
    json_decref(to);
    json_decref(had);
    json_decref(set);
    return same;
}

/* The open change `open` of GPU g against what it needs (w, NULL: nothing): kept, moved to a
 * later window, superseded, and a change stored. 1 when something was written, 0 when not,
 * or a negative code. */
static int settle_gpu(struct al_ctx *c, const struct mgpu *g, json_t *open, const struct want *w)
{
    struct al_migchange ch;
    char id[AL_HTTP_ID_LEN];
    int rc;
    if (!w) {
        rc = open ? change_supersede(c, open, NULL, "no reservation needs it any more") : 0;
        return rc < 0 ? rc : open != NULL;
    }
    json_t *win = open ? json_object_get(open, "window") : NULL;
    bool same = open && same_change(open, g, w);
    /* kept while its window is ahead and after the work on what it destroys (a reservation on
     * such an instance may have come since) */
    if (same && c->now < jtime(win, "run_before") && jtime(win, "run_after") >= w->not_before)
        return 0; /* the usual tick: nothing read beyond the holds */
    if ((rc = plan_change(c, g, w, &ch)) != 0)
        return rc < 0 ? rc : 0;
    if (same)
        return change_rewindow(c, open, &ch);
    al_id_new("mch", c->now, id, sizeof id);
    if (open && (rc = change_supersede(c, open, id, "the layout needed or observed changed")) < 0)
        return rc;
    rc = change_insert(c, g->g, &ch, id);
    return rc < 0 ? rc : 1;
}

/* Plan GPU g: 1 when a change was stored, superseded or moved, 0 when nothing changed, or a
 * negative code. */
static int plan_gpu(struct al_ctx *c, const struct mgpu *g, json_t *open_all)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(g->g, "model"));
    json_t *open = open_of(open_all, g->id);
    struct want w = {0};
    struct al_err e = {0};
    int rc;
    if (!m || (open && strcmp(jstr(open, "state"), "applying") == 0))
        return 0; /* never touch a change the agent is applying */
    int k = first_need(g, m, c->now, &w.t, &w.nd);
    if (k == 0)
        return settle_gpu(c, g, open, NULL);
    if (k < 0 || wanted(g, &w.nd, &w.to, &w.to_mig, &e) != 0) {
        say(c->srv, "GPU %s: %s", g->id, k < 0 ? "a hold names a profile its model lacks" : e.msg);
        return 0;
    }
    w.not_before = busy_until(g, m, w.t, &w.to, w.to_mig);
    if (!(w.serves = serve_ids(g, &w)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    rc = settle_gpu(c, g, open, &w);
    json_decref(w.serves);
    return rc;
}

int al_migplan_pass(struct al_ctx *c, json_t **gpus)
{
    struct pass p = {.c = c};
    json_t *open = NULL;
    struct al_err e = {0};
    int rc, n = 0;
    said_begin(c->srv);
    if ((rc = al_migplan_gpus(c, gpus)) || (rc = managed(&p, *gpus)) || p.n == 0)
        goto out;
    if ((rc = gather_holds(&p)) == 0 &&
        (rc = al_store_migchange_all_open(c->srv->store, &open, &e)) != 0)
        rc = al_http_fail_err(c, rc, &e);
    for (size_t i = 0; rc >= 0 && i < p.n; i++)
        if ((rc = plan_gpu(c, &p.v[i], open)) > 0)
            n += rc;
out:
    if (rc >= 0) /* a pass that failed part way says nothing of the GPUs it did not reach */
        said_end(c->srv);
    for (size_t i = 0; i < p.n; i++)
        free(p.v[i].h);
    free(p.v);
    json_decref(open);
    return rc < 0 ? rc : n;
}
