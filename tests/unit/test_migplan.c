/* test_migplan.c — unit tests of the clock's planning pass of MIG changes (server/migplan.h)
 * and of reservations waiting for their layout (server/provision.h), on a real store: a node
 * whose agent reports MIG state on one GPU (its `observed`), reservations with holds on it. A
 * reservation that needs a new layout gets one change (its from, to, steps, serves, holders and
 * window, not before the work on what it destroys ends); the same pass again plans nothing new;
 * a cancelled reservation, or an earlier one needing the same layout, supersedes it; a
 * whole-GPU reservation asks for MIG off; a start too near for any window is planned late; a
 * GPU without an observation, or still settling to its desired layout, is left alone; a
 * reservation at its start with its instance missing provisions, and is ready once the
 * instance is seen; a GPU that cannot be planned says why on stderr once, not at every pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "money_fixture.h"
#include "server/flow.h"
#include "server/migplan.h"
#include "server/provision.h"

#define DAY  (24 * HOUR)
#define GPU0 "gpu_n1-0"

static const struct al_gpu_model *h100(void)
{
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    assert_non_null(m);
    return m;
}

static struct al_placement P(const char *text) {
    struct al_layout l;
    assert_int_equal(al_layout_parse(h100(), text, &l, NULL), 0);
    assert_int_equal(l.n, 1);
    return l.p[0];
}

/* Node n1 reports again, GPU 0 with MIG mode `mig` and the instances of `layout` (NULL: no
 * MIG state, as before), the others without. */
static void
observe(struct money_fixture *x, bool mig, const char *layout, int64_t now)
{
    const struct al_gpu_model *m = h100();
    struct al_layout l = {.model = m};
    json_t *insts = json_array(), *gpus = json_array();
    if (layout)
        assert_int_equal(al_layout_parse(m, layout, &l, NULL), 0);
    for (unsigned i = 0; i < l.n; i++) {
        const struct al_mig_profile *p = &m->profiles[l.p[i].profile];
        char uuid[48];
        snprintf(uuid, sizeof uuid, "MIG-%s-%u", p->name, l.p[i].start);
        json_array_append_new(insts, json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:s}", "profile", p->name,
                                               "profile_id", (int)p->nvml_id, "start",
                                               (int)l.p[i].start, "size", (int)p->size, "gi",
                                               (int)i + 1, "ci", 0, "uuid", uuid));
    }
    for (int i = 0; i < 4; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-n1-%d", i);
        json_t *g = json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", i, "uuid", uuid, "model",
                              "H100-80GB", "pool", i == 3 ? "general" : "dedicated", "healthy", 1);
        if (i == 0 && layout)
            json_object_set_new(g, "observed",
                                json_pack("{s:{s:b,s:b,s:b},s:O,s:[],s:i,s:[]}", "mig", "capable",
                                          1, "current", mig, "pending", mig, "instances", insts,
                                          "processes", "processes_total", 0,
                                          "catalog_differences"));
        json_array_append_new(gpus, g);
    }
    json_t *n = json_pack("{s:s,s:s,s:{},s:o}", "name", "n1", "zone", "z1", "labels", "gpus", gpus);
    assert_int_equal(al_store_node_upsert(x->sf->s, n, now, NULL), 0);
    json_decref(n);
    json_decref(insts);
}

/* Reservation `id` of org_a in `state` over [t0, t1) holding `inst` on GPU 0 (NULL: the
 * whole GPU), with its hold. */
static void reserve(struct money_fixture *x, const char *id, const char *state, int64_t t0,
                    int64_t t1, const char *inst)
{
    char a[32], b[32];
    struct al_store_hold h = {.gpu = GPU0, .kind = "gpu", .start_unit = -1, .t0 = t0, .t1 = t1};
    json_t *alloc = json_pack("{s:s}", "gpu", GPU0);
    if (inst) {
        struct al_placement p = P(inst);
        snprintf(h.kind, sizeof h.kind, "mig");
        snprintf(h.profile, sizeof h.profile, "%s", h100()->profiles[p.profile].name);
        h.start_unit = p.start;
        h.mask = al_placement_mask(h100(), p);
        json_object_set_new(alloc, "profile", json_string(h.profile));
        json_object_set_new(alloc, "start_unit", json_integer(p.start));
    } else {
        h.mask = UINT64_MAX;
    }
    snprintf(h.owner, sizeof h.owner, "%s", id);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[o]}", "id", id, "org", "org_a", "state", state,
                            "start", al_time_fmt(t0, a, sizeof a), "end",
                            al_time_fmt(t1, b, sizeof b), "allocations", alloc);
    struct al_store_doc_meta m = {id, "org_a", state, t0, t1};
    assert_int_equal(al_store_reservation_put(x->sf->s, &m, doc, true, NULL), 0);
    assert_int_equal(al_store_hold_add(x->sf->s, &h, NULL), 0);
    json_decref(doc);
}

static int pass(struct al_ctx *c)
{
    json_t *gpus = NULL;
    int rc = al_migplan_pass(c, &gpus);
    json_decref(gpus);
    return rc;
}

/* GPU 0's open change (a new reference), or NULL. */
static json_t *open_change(struct money_fixture *x)
{
    json_t *ch = NULL;
    int rc = al_store_migchange_open(x->sf->s, GPU0, &ch, NULL);
    assert_true(rc == 0 || rc == AL_E_NOTFOUND);
    return ch;
}

/* The instances of layout member `key` of change ch as text ("3g.40gb@0,1g.10gb@4"). */
static const char *layout_text(json_t *ch, const char *key)
{
    static char buf[256];
    json_t *x;
    size_t i;
    buf[0] = '\0';
    json_array_foreach(json_object_get(json_object_get(ch, key), "instances"), i, x)
    {
        size_t n = strlen(buf);
        snprintf(buf + n, sizeof buf - n, "%s%s@%d", i ? "," : "", jstr(x, "profile"),
                 (int)json_integer_value(json_object_get(x, "start")));
    }
    return buf;
}

static int setup(void **state)
{
    money_make(state, AL_TERMS_BALANCE, 0);
    return 0;
}

/* 3g@0,2g@4,1g@6 observed; rsv_h holds 2g@4 for a day; rsv_1 needs 1g@4 from day 2: one change
 * destroys 2g@4 and creates 1g@4, keeping the rest; it serves rsv_1 and rsv_h holds. */
static void test_plan_new_layout(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "3g.40gb@0,2g.20gb@4,1g.10gb@6", now);
    reserve(x, "rsv_h", "active", T0, T0 + DAY, "2g.20gb@4");
    reserve(x, "rsv_1", "scheduled", T0 + 2 * DAY, T0 + 3 * DAY, "1g.10gb@4");
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *ch = open_change(x);
    assert_non_null(ch);
    assert_string_equal(jstr(ch, "state"), "planned");
    assert_string_equal(jstr(ch, "node"), "n1");
    assert_string_equal(jstr(ch, "gpu_uuid"), "GPU-n1-0");
    assert_int_equal(strncmp(jstr(ch, "id"), "mch_", 4), 0);
    assert_string_equal(layout_text(ch, "from"), "3g.40gb@0,2g.20gb@4,1g.10gb@6");
    assert_string_equal(layout_text(ch, "to"), "3g.40gb@0,1g.10gb@4,1g.10gb@6");
    json_t *steps = json_object_get(ch, "steps");
    assert_int_equal(json_array_size(steps), 2);
    assert_string_equal(jstr(json_array_get(steps, 0), "op"), "destroy");
    assert_string_equal(jstr(json_array_get(steps, 0), "profile"), "2g.20gb");
    assert_string_equal(jstr(json_array_get(steps, 1), "op"), "create");
    assert_int_equal(json_array_size(json_object_get(ch, "operations")), 4);
    json_t *sv = json_object_get(ch, "serves"), *hd = json_object_get(ch, "holders");
    assert_int_equal(json_array_size(sv), 1);
    assert_string_equal(jstr(json_array_get(sv, 0), "reservation"), "rsv_1");
    assert_string_equal(jstr(json_array_get(sv, 0), "org"), "org_a");
    assert_int_equal(json_array_size(hd), 1);
    assert_string_equal(jstr(json_array_get(hd, 0), "reservation"), "rsv_h");
    /* no windows: from the end of rsv_h (whose 2g.20gb@4 it destroys) to rsv_1's start */
    json_t *w = json_object_get(ch, "window");
    assert_int_equal(jtime(w, "run_after"), T0 + DAY);
    assert_int_equal(jtime(w, "run_before"), T0 + 2 * DAY);
    assert_false(json_is_true(json_object_get(w, "late")));
    assert_false(json_is_true(json_object_get(ch, "mode_switch")));
    json_t *links = NULL;
    assert_int_equal(al_store_migchange_links(x->sf->s, jstr(ch, "id"), &links, NULL), 0);
    assert_int_equal(json_array_size(links), 2);
    json_decref(links);
    assert_int_equal(money_count(x, "mig_change.planned"), 1);

    /* The same pass again, and later: the same change, nothing new. */
    assert_int_equal(money_run(x, pass, now + 60, false), 0);
    assert_int_equal(money_run(x, pass, now + DAY + HOUR, false), 0);
    json_t *again = open_change(x);
    assert_string_equal(jstr(again, "id"), jstr(ch, "id"));
    assert_int_equal(money_count(x, "mig_change.planned"), 1);
    json_decref(again);

    /* 2g.20gb@4 reserved again before rsv_1 starts: the same change, after that one ends. */
    reserve(x, "rsv_h2", "scheduled", T0 + DAY + 2 * HOUR, T0 + DAY + 6 * HOUR, "2g.20gb@4");
    assert_int_equal(money_run(x, pass, now + 120, false), 1);
    again = open_change(x);
    assert_string_equal(jstr(again, "id"), jstr(ch, "id"));
    assert_int_equal(jtime(json_object_get(again, "window"), "run_after"), T0 + DAY + 6 * HOUR);
    assert_int_equal(money_run(x, pass, now + 180, false), 0);
    json_decref(again);

    /* rsv_1 cancelled: nothing needs the change any more. */
    assert_int_equal(al_store_hold_release(x->sf->s, "rsv_1", NULL), 1);
    assert_int_equal(money_run(x, pass, now + 2 * HOUR, false), 1);
    assert_null(open_change(x));
    json_t *old = NULL;
    assert_int_equal(al_store_migchange_get(x->sf->s, jstr(ch, "id"), &old, NULL), 0);
    assert_string_equal(jstr(old, "state"), "superseded");
    assert_int_equal(money_count(x, "mig_change.superseded"), 1);
    json_decref(old);
    json_decref(ch);
}

/* A second reservation changes the layout needed: the change is superseded by a new one. */
static void test_plan_superseded_by_new_need(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "7g.80gb@0", now);
    reserve(x, "rsv_2", "scheduled", T0 + 3 * DAY, T0 + 4 * DAY, "3g.40gb@4");
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *first = open_change(x);
    assert_string_equal(layout_text(first, "to"), "3g.40gb@4");
    reserve(x, "rsv_3", "scheduled", T0 + 2 * DAY, T0 + 4 * DAY, "4g.40gb@0");
    assert_int_equal(money_run(x, pass, now + 60, false), 1);
    json_t *second = open_change(x);
    assert_string_not_equal(jstr(second, "id"), jstr(first, "id"));
    assert_string_equal(layout_text(second, "to"), "4g.40gb@0");
    assert_string_equal(jstr(json_array_get(json_object_get(second, "serves"), 0), "reservation"),
                        "rsv_3");
    json_t *old = NULL;
    assert_int_equal(al_store_migchange_get(x->sf->s, jstr(first, "id"), &old, NULL), 0);
    assert_string_equal(jstr(old, "state"), "superseded");
    assert_string_equal(jstr(json_object_get(old, "superseded"), "by"), jstr(second, "id"));
    json_decref(old);
    json_decref(first);
    json_decref(second);
}

/* An earlier reservation needing the same layout: the change is planned anew for it (its
 * window before the earlier start, its links naming it). */
static void test_plan_new_serve(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "7g.80gb@0", now);
    reserve(x, "rsv_7", "scheduled", T0 + 3 * DAY, T0 + 4 * DAY, "3g.40gb@4");
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *first = open_change(x);
    reserve(x, "rsv_8", "scheduled", T0 + DAY, T0 + 2 * DAY, "3g.40gb@4");
    assert_int_equal(money_run(x, pass, now + 60, false), 1);
    json_t *second = open_change(x);
    assert_string_not_equal(jstr(second, "id"), jstr(first, "id"));
    assert_string_equal(layout_text(second, "to"), layout_text(first, "to"));
    assert_string_equal(jstr(json_array_get(json_object_get(second, "serves"), 0), "reservation"),
                        "rsv_8");
    assert_int_equal(jtime(json_object_get(second, "window"), "run_before"), T0 + DAY);
    assert_int_equal(money_run(x, pass, now + 120, false), 0);
    json_decref(first);
    json_decref(second);
}

/* A whole-GPU reservation on a GPU in MIG mode: MIG off, a mode switch, nothing kept. */
static void test_plan_whole_gpu(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "3g.40gb@0,3g.40gb@4", now);
    reserve(x, "rsv_w", "scheduled", T0 + DAY, T0 + 2 * DAY, NULL);
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *ch = open_change(x);
    assert_true(json_is_true(json_object_get(ch, "mode_switch")));
    assert_false(json_is_true(json_object_get(json_object_get(ch, "to"), "mig")));
    assert_string_equal(layout_text(ch, "to"), "");
    json_t *ops = json_object_get(ch, "operations");
    assert_int_equal(json_array_size(ops), 5);
    assert_string_equal(jstr(json_array_get(ops, 4), "op"), "mig_off");
    json_t *s = json_array_get(json_object_get(ch, "serves"), 0);
    assert_true(json_is_null(json_object_get(s, "profile")));
    json_decref(ch);
}

/* A start too near for any window: planned late, into the next window. */
static void test_plan_late(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + 5 * HOUR; /* 2026-01-01T05:00Z */
    observe(x, true, "7g.80gb@0", now);
    assert_int_equal(
        al_store_window_put(x->sf->s, "node:n1", "daily 02:00-04:00", false, T0, "t", NULL), 0);
    reserve(x, "rsv_4", "scheduled", now + 1800, now + DAY, "1g.10gb@0");
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *ch = open_change(x), *w = json_object_get(ch, "window");
    assert_true(json_is_true(json_object_get(w, "late")));
    assert_int_equal(jtime(w, "run_after"), T0 + DAY + 2 * HOUR);
    assert_int_equal(jtime(w, "run_before"), T0 + DAY + 4 * HOUR);
    assert_string_equal(layout_text(ch, "to"), "1g.10gb@0");
    json_decref(ch);
}

/* No observation (the simulated fleet): no change, whatever the holds need; nor while the GPU
 * settles to the layout last applied. */
static void test_plan_leaves_unmanaged(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    reserve(x, "rsv_5", "scheduled", T0 + DAY, T0 + 2 * DAY, "1g.10gb@0");
    assert_int_equal(money_run(x, pass, now, false), 0);
    assert_null(open_change(x));
    observe(x, true, "", now);
    json_t *desired = json_pack("{s:b,s:[{s:s,s:i,s:i}]}", "mig", 1, "instances", "profile",
                                "7g.80gb", "profile_id", 0, "start", 0);
    assert_int_equal(al_store_gpu_desired_set(x->sf->s, GPU0, desired, NULL), 0);
    json_decref(desired);
    assert_int_equal(money_run(x, pass, now, false), 0); /* 7g@0 is being recreated */
    assert_null(open_change(x));
    assert_int_equal(al_store_gpu_desired_set(x->sf->s, GPU0, NULL, NULL), 0);
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *ch = open_change(x);
    assert_non_null(ch);
    json_decref(ch);
}

static int provision_start(struct al_ctx *c)
{
    json_t *r = NULL, *gpus = NULL;
    assert_int_equal(al_store_reservation_get(c->srv->store, "rsv_6", &r, NULL), 0);
    int miss = al_provision_missing(c, &gpus, r);
    int rc = miss == 1 ? al_provision_start(c, r) : AL_E_STATE;
    if (rc == 0)
        rc = al_flow_rsv_save(c, r, false);
    json_decref(r);
    json_decref(gpus);
    return rc;
}

static int provision_ready(struct al_ctx *c)
{
    json_t *r = NULL, *gpus = NULL;
    assert_int_equal(al_store_reservation_get(c->srv->store, "rsv_6", &r, NULL), 0);
    int miss = al_provision_missing(c, &gpus, r);
    int rc = miss == 0 ? al_provision_ready(c, r, NULL) : AL_E_STATE;
    if (rc == 0)
        rc = al_flow_rsv_save(c, r, false);
    json_decref(r);
    json_decref(gpus);
    return rc;
}

/* At its start, a reservation whose instance is missing provisions, naming the change that
 * serves it; once a report shows the instance, it is active with the instance's UUID. */
static void test_provisioning(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "7g.80gb@0", now);
    reserve(x, "rsv_6", "scheduled", now, now + DAY, "3g.40gb@4");
    assert_int_equal(money_run(x, pass, now, false), 1);
    json_t *ch = open_change(x);
    assert_true(json_is_true(json_object_get(json_object_get(ch, "window"), "late")));
    assert_int_equal(money_run(x, provision_start, now, false), 0);
    json_t *r = NULL;
    assert_int_equal(al_store_reservation_get(x->sf->s, "rsv_6", &r, NULL), 0);
    assert_string_equal(jstr(r, "state"), "provisioning");
    assert_string_equal(jstr(json_object_get(r, "provisioning"), "change"), jstr(ch, "id"));
    json_decref(r);
    assert_int_equal(money_count(x, "reservation.provisioning"), 1);
    assert_int_equal(money_run(x, provision_ready, now, false), AL_E_STATE); /* still missing */
    observe(x, true, "4g.40gb@0,3g.40gb@4", now + 60);
    assert_int_equal(money_run(x, provision_ready, now + 60, false), 0);
    assert_int_equal(al_store_reservation_get(x->sf->s, "rsv_6", &r, NULL), 0);
    assert_string_equal(jstr(r, "state"), "active");
    json_t *a = json_array_get(json_object_get(r, "allocations"), 0);
    assert_string_equal(jstr(a, "mig_uuid"), "MIG-3g.40gb-4");
    json_decref(r);
    json_decref(ch);
}

/* GPU 0's stored observation edited by `edit` (node n1 reported again as the store returns
 * it), at `now`. */
static void observed_edit(struct money_fixture *x, void (*edit)(json_t *obs), int64_t now)
{
    json_t *n = NULL;
    assert_int_equal(al_store_node_get(x->sf->s, "n1", &n, NULL), 0);
    edit(json_object_get(json_array_get(json_object_get(n, "gpus"), 0), "observed"));
    assert_int_equal(al_store_node_upsert(x->sf->s, n, now, NULL), 0);
    json_decref(n);
}

static void add_unmatched(json_t *obs)
{
    json_object_set_new(obs, "unmatched_instances",
                        json_pack("[{s:n,s:i,s:i,s:n,s:i,s:i,s:s}]", "profile", "profile_id", 77,
                                  "start", 6, "size", "gi", 9, "ci", 0, "uuid", "MIG-odd"));
}

static void no_unmatched(json_t *obs)
{
    json_object_set_new(obs, "unmatched_instances", json_array());
}

/* A GPU with an instance outside the catalog is not planned for (quietly), and is again once
 * it is gone. */
static void test_plan_skips_unmatched(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    observe(x, true, "7g.80gb@0", now);
    observed_edit(x, add_unmatched, now);
    reserve(x, "rsv_u", "scheduled", T0 + DAY, T0 + 2 * DAY, "3g.40gb@4");
    assert_int_equal(money_run(x, pass, now, false), 0);
    assert_int_equal(money_run(x, pass, now + 1, false), 0);
    assert_null(open_change(x));
    observed_edit(x, no_unmatched, now + 2);
    assert_int_equal(money_run(x, pass, now + 2, false), 1);
    json_t *ch = open_change(x);
    assert_non_null(ch);
    json_decref(ch);
}

/* The node before and after a report, for uuids_pass. */
static json_t *uuids_old, *uuids_now;

static int uuids_pass(struct al_ctx *c)
{
    return al_provision_uuids(c, uuids_old, uuids_now);
}

/* Reservation `id`'s document with its first allocation's mig_uuid set to `uuid`. */
static void set_mig_uuid(struct money_fixture *x, const char *id, const char *uuid)
{
    json_t *r = NULL;
    assert_int_equal(al_store_reservation_get(x->sf->s, id, &r, NULL), 0);
    json_object_set_new(json_array_get(json_object_get(r, "allocations"), 0), "mig_uuid",
                        json_string(uuid));
    struct al_store_doc_meta m = {id, "org_a", jstr(r, "state"), 0, 0};
    assert_int_equal(al_time_parse(jstr(r, "start"), &m.t0), 0);
    assert_int_equal(al_time_parse(jstr(r, "end"), &m.t1), 0);
    assert_int_equal(al_store_reservation_put(x->sf->s, &m, r, false, NULL), 0);
    json_decref(r);
}

/* Reservation `id`'s first allocation's mig_uuid and its updated_at, as "uuid updated_at". */
static const char *rsv_uuid(struct money_fixture *x, const char *id)
{
    static char buf[160];
    json_t *r = NULL;
    assert_int_equal(al_store_reservation_get(x->sf->s, id, &r, NULL), 0);
    const char *u = jstr(json_array_get(json_object_get(r, "allocations"), 0), "mig_uuid");
    snprintf(buf, sizeof buf, "%s %s", u ? u : "-",
             jstr(r, "updated_at") ? jstr(r, "updated_at") : "-");
    json_decref(r);
    return buf;
}

static void new_uuids(json_t *obs)
{
    json_t *x;
    size_t i;
    json_array_foreach(json_object_get(obs, "instances"), i, x)
    {
        char u[64];
        snprintf(u, sizeof u, "%s-new", jstr(x, "uuid"));
        json_object_set_new(x, "uuid", json_string(u));
    }
}

/* Instances made again after a reset have new MIG device UUIDs: the reservations whose
 * allocations had the old ones (scheduled, provisioning, active) take the new ones, with one
 * write each; an allocation without one, an ended reservation, and a report with the same
 * UUIDs are left alone. */
static void test_uuids_after_reset(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    char t[32];
    observe(x, true, "3g.40gb@0,3g.40gb@4", now);
    reserve(x, "rsv_a", "active", T0, T0 + DAY, "3g.40gb@0");
    reserve(x, "rsv_s", "scheduled", T0 + DAY, T0 + 2 * DAY, "3g.40gb@4");
    reserve(x, "rsv_n", "scheduled", T0 + 2 * DAY, T0 + 3 * DAY, "3g.40gb@0");
    reserve(x, "rsv_e", "ended", T0, T0 + 2 * DAY, "3g.40gb@4");
    set_mig_uuid(x, "rsv_a", "MIG-3g.40gb-0");
    set_mig_uuid(x, "rsv_s", "MIG-3g.40gb-4");
    set_mig_uuid(x, "rsv_e", "MIG-3g.40gb-4");
    assert_int_equal(al_store_node_get(x->sf->s, "n1", &uuids_old, NULL), 0);
    observed_edit(x, new_uuids, now + 60);
    assert_int_equal(al_store_node_get(x->sf->s, "n1", &uuids_now, NULL), 0);
    assert_int_equal(money_run(x, uuids_pass, now + 60, false), 0);
    al_time_fmt(now + 60, t, sizeof t);
    char want[160];
    snprintf(want, sizeof want, "MIG-3g.40gb-0-new %s", t);
    assert_string_equal(rsv_uuid(x, "rsv_a"), want);
    snprintf(want, sizeof want, "MIG-3g.40gb-4-new %s", t);
    assert_string_equal(rsv_uuid(x, "rsv_s"), want);
    assert_int_equal(strncmp(rsv_uuid(x, "rsv_n"), "- ", 2), 0);
    assert_int_equal(strncmp(rsv_uuid(x, "rsv_e"), "MIG-3g.40gb-4 ", 14), 0);
    /* the next heartbeat, same UUIDs: nothing read, nothing written */
    json_decref(uuids_old);
    uuids_old = json_incref(uuids_now);
    assert_int_equal(money_run(x, uuids_pass, now + 120, false), 0);
    assert_string_equal(rsv_uuid(x, "rsv_s"), want);
    json_decref(uuids_old);
    json_decref(uuids_now);
    uuids_old = uuids_now = NULL;
}

/* Run the pass at `now` with stderr into a temporary file: what it said into `said` (cap
 * bytes, NUL-terminated). Returns the pass's result. */
static int pass_said(struct money_fixture *x, int64_t now, char *said, size_t cap)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int moved = saved >= 0 ? dup2(fileno(f), STDERR_FILENO) : -1;
    int rc = money_run(x, pass, now, false);
    fflush(stderr);
    int back = saved >= 0 ? dup2(saved, STDERR_FILENO) : -1;
    if (saved >= 0)
        close(saved);
    assert_true(moved >= 0 && back >= 0);
    rewind(f);
    size_t n = fread(said, 1, cap - 1, f);
    said[n] = '\0';
    fclose(f);
    return rc;
}

/* rsv_b's hold on GPU 0 from day 1 names a profile the H100 lacks. */
static void bad_hold(struct money_fixture *x)
{
    struct al_store_hold h = {.gpu = GPU0,
                              .kind = "mig",
                              .profile = "9g.90gb",
                              .owner = "rsv_b",
                              .start_unit = 0,
                              .mask = 1,
                              .t0 = T0 + DAY,
                              .t1 = T0 + 2 * DAY};
    assert_int_equal(al_store_hold_add(x->sf->s, &h, NULL), 0);
}

static void mig_off(json_t *obs)
{
    json_object_set_new(json_object_get(obs, "mig"), "current", json_false());
}

#define SAID_HOLD "allot server: MIG plan: GPU gpu_n1-0: a hold names a profile its model lacks\n"
#define SAID_OBS  "allot server: MIG plan: GPU gpu_n1-0: observed: instances: none with MIG off\n"

/* A GPU that cannot be planned says why on stderr once, not at every pass; a new reason is
 * said, and so is an old one when it comes back, or recurs after the GPU planned again. */
static void test_plan_says_once(void **state)
{
    struct money_fixture *x = *state;
    int64_t now = T0 + HOUR;
    char said[1024];
    observe(x, true, "7g.80gb@0", now);
    reserve(x, "rsv_1", "scheduled", T0 + DAY, T0 + 2 * DAY, "3g.40gb@4");
    bad_hold(x);
    assert_int_equal(pass_said(x, now, said, sizeof said), 0);
    assert_string_equal(said, SAID_HOLD);
    assert_int_equal(pass_said(x, now + 1, said, sizeof said), 0);
    assert_string_equal(said, ""); /* the same GPU, the same reason: said already */
    observed_edit(x, mig_off, now + 2);
    assert_int_equal(pass_said(x, now + 2, said, sizeof said), 0);
    assert_string_equal(said, SAID_OBS);
    assert_int_equal(pass_said(x, now + 3, said, sizeof said), 0);
    assert_string_equal(said, "");
    observe(x, true, "7g.80gb@0", now + 4);
    assert_int_equal(pass_said(x, now + 4, said, sizeof said), 0);
    assert_string_equal(said, SAID_HOLD); /* the first reason back: said again */
    assert_int_equal(al_store_hold_release(x->sf->s, "rsv_b", NULL), 1);
    assert_int_equal(pass_said(x, now + 5, said, sizeof said), 1); /* planned */
    assert_string_equal(said, "");
    bad_hold(x);
    assert_int_equal(pass_said(x, now + 6, said, sizeof said), 0);
    assert_string_equal(said, SAID_HOLD);
    assert_int_equal(pass_said(x, now + 7, said, sizeof said), 0);
    assert_string_equal(said, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plan_new_layout, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_superseded_by_new_need, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_new_serve, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_whole_gpu, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_late, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_leaves_unmanaged, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_skips_unmatched, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_uuids_after_reset, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_provisioning, setup, money_teardown),
        cmocka_unit_test_setup_teardown(test_plan_says_once, setup, money_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
