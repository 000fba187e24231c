/* test_migcheck.c — unit tests of server/migcheck.c: a stored change's document rebuilt for
 * core (and refused when it names what the catalog lacks), the observation read from a node
 * and its GPU's `observed` (a process on an instance the change destroys, a missing
 * acknowledgement, an agent that reports no MIG state, a node that never reported), the
 * checks as JSON, which orgs a change affects, and, through a store, the approval and the
 * auto-apply pass: a change whose checks pass is approved by "policy" where its node's window
 * (its own, else its zone's, else the default) has auto_apply, and not where it has not, nor
 * when its checks fail, nor when its GPU's previous change failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "server/migcheck.h"
#include "store_fixture.h"

#define NOW   INT64_C(1800000000)
#define MODEL "H100-80GB"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_t *inst(const char *profile, int start)
{
    return json_pack("{s:s,s:i}", "profile", profile, "start", start);
}

/* The steps core's diff gives from `from` to `to` (text layouts of MODEL), as the document
 * writes them. */
static json_t *steps_json(const char *from, const char *to)
{
    const struct al_gpu_model *m = al_catalog_find(MODEL);
    struct al_layout a, b;
    struct al_mig_step st[AL_DIFF_MAX];
    assert_int_equal(al_layout_parse(m, from, &a, NULL), 0);
    assert_int_equal(al_layout_parse(m, to, &b, NULL), 0);
    int n = al_layout_diff(&a, &b, st, NULL);
    assert_true(n > 0);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i}", "op",
                                             st[i].op == AL_STEP_DESTROY ? "destroy" : "create",
                                             "profile", m->profiles[st[i].p.profile].name, "start",
                                             st[i].p.start));
    return arr;
}

static json_t *time_json(int64_t t)
{
    char buf[32];
    return json_string(al_time_fmt(t, buf, sizeof buf));
}

/* A planned change on gpu_n1-0: 3g.40gb@0 stays (org_c's), the two 1g.10gb at 4 and 5 go
 * (org_b holds the one at 4), a 3g.40gb@4 is created for org_a's reservation. */
static json_t *change_doc(const char *id)
{
    json_t *d = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:b,s:[o,o,o]},s:{s:b,s:[o,o]},s:b,s:o,"
        "s:[{s:s,s:s,s:o,s:s,s:i}],s:[{s:s,s:s,s:s,s:i},{s:s,s:s,s:s,s:i}],s:{s:o,s:o,s:b}}",
        "id", id, "state", "planned", "node", "n1", "gpu", "gpu_n1-0", "model", MODEL, "from",
        "mig", 1, "instances", inst("3g.40gb", 0), inst("1g.10gb", 4), inst("1g.10gb", 5), "to",
        "mig", 1, "instances", inst("3g.40gb", 0), inst("3g.40gb", 4), "mode_switch", 0, "steps",
        steps_json("3g.40gb@0,1g.10gb@4,1g.10gb@5", "3g.40gb@0,3g.40gb@4"), "serves", "reservation",
        "rsv_a", "org", "org_a", "start", time_json(NOW + 7200), "profile", "3g.40gb", "start_unit",
        4, "holders", "reservation", "rsv_b", "org", "org_b", "profile", "1g.10gb", "start_unit", 4,
        "reservation", "rsv_c", "org", "org_c", "profile", "3g.40gb", "start_unit", 0, "window",
        "run_after", time_json(NOW - 60), "run_before", time_json(NOW + 3600), "late", 0);
    assert_non_null(d);
    return d;
}

static json_t *obs_inst(const char *profile, int pid, int start, int size, int gi, const char *uuid)
{
    return json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:s}", "profile", profile, "profile_id", pid,
                     "start", start, "size", size, "gi", gi, "ci", 0, "uuid", uuid);
}

/* Node n1 as al_store_node_get shows it, online, last seen 10 s ago, its GPU healthy and
 * observed with the change's `from` and one process on gpu instance `proc_gi` (0: none). */
static json_t *node_json(int proc_gi)
{
    json_t *procs = json_array();
    if (proc_gi)
        json_array_append_new(procs, json_pack("{s:i,s:i,s:i,s:i}", "pid", 4242, "used_memory_mib",
                                               512, "gi", proc_gi, "ci", 0));
    json_t *n = json_pack(
        "{s:s,s:n,s:b,s:I,s:[{s:s,s:s,s:b,s:b,s:{s:{s:b,s:b,s:b},s:[o,o,o],s:o,s:i}}]}", "name",
        "n1", "zone", "online", 1, "last_seen", (json_int_t)(NOW - 10), "gpus", "id", "gpu_n1-0",
        "uuid", "GPU-1", "healthy", 1, "present", 1, "observed", "mig", "capable", 1, "current", 1,
        "pending", 1, "instances", obs_inst("3g.40gb", 9, 0, 4, 1, "MIG-aaa"),
        obs_inst("1g.10gb", 19, 4, 1, 2, "MIG-bbb"), obs_inst("1g.10gb", 19, 5, 1, 3, "MIG-ccc"),
        "processes", procs, "processes_total", (int)json_array_size(procs));
    assert_non_null(n);
    return n;
}

/* The `observed` of node n's first GPU (borrowed). */
static json_t *observed_of(json_t *n)
{
    return json_object_get(json_array_get(json_object_get(n, "gpus"), 0), "observed");
}

/* Check `name` of report r. */
static const struct al_migcheck *check_of(const struct al_migcheck_report *r, const char *name)
{
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++)
        if (strcmp(al_migcheck_name(r->checks[i].id), name) == 0)
            return &r->checks[i];
    fail_msg("no check %s", name);
    return NULL;
}

static struct al_migcheck_facts *facts_new(json_t *doc, json_t *node)
{
    struct al_migcheck_facts *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(al_migcheck_change(doc, &f->change, NULL), 0);
    al_migcheck_observe(node, jstr(doc, "gpu"), NOW, f);
    return f;
}

static void test_change_from_doc(void **state)
{
    (void)state;
    json_t *d = change_doc("mch_1");
    struct al_migchange ch;
    struct al_err e = {0};
    assert_int_equal(al_migcheck_change(d, &ch, &e), 0);
    assert_string_equal(ch.gpu, "gpu_n1-0");
    assert_int_equal(ch.from.n, 3);
    assert_int_equal(ch.to.n, 2);
    assert_int_equal(ch.nsteps, 3); /* two destroys, one create: 3g.40gb@0 is never a step */
    assert_int_equal(ch.nserves, 1);
    assert_int_equal(ch.serves[0].start, NOW + 7200);
    assert_int_equal(ch.nholders, 2);
    assert_string_equal(ch.holders[0].org, "org_b");
    assert_int_equal(ch.run_after, NOW - 60);
    assert_false(ch.mode_switch);
    /* the profile by its NVML id when the name is not the catalog's */
    json_t *s0 = json_array_get(json_object_get(d, "steps"), 0);
    json_object_set_new(s0, "profile", json_string("MIG 1g.10gb"));
    json_object_set_new(s0, "profile_id", json_integer(19));
    assert_int_equal(al_migcheck_change(d, &ch, &e), 0);
    /* refusals name what is wrong */
    json_object_set_new(s0, "profile_id", json_integer(999));
    assert_int_equal(al_migcheck_change(d, &ch, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "steps[0]"));
    json_object_set_new(d, "model", json_string("T4"));
    assert_int_equal(al_migcheck_change(d, &ch, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "model"));
    json_decref(d);
    d = change_doc("mch_1");
    json_object_set_new(json_array_get(json_object_get(json_object_get(d, "to"), "instances"), 1),
                        "start", json_integer(5));
    assert_int_equal(al_migcheck_change(d, &ch, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "to.instances[1]"));
    json_decref(d);
    d = change_doc("mch_1");
    json_object_del(d, "window");
    assert_int_equal(al_migcheck_change(d, &ch, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "window"));
    json_decref(d);
}

static void test_checks_from_facts(void **state)
{
    (void)state;
    json_t *d = change_doc("mch_1"), *node = node_json(2), *j;
    struct al_migcheck_facts *f = facts_new(d, node);
    struct al_migcheck_report r;
    al_migcheck_report(f, NOW, &r);
    /* a process on 1g.10gb@4 (destroyed), and org_b (holding it) has not acknowledged */
    assert_false(r.pass);
    assert_int_equal(r.nfailed, 2);
    assert_false(check_of(&r, "no_process_on_destroyed")->pass);
    assert_non_null(strstr(check_of(&r, "no_process_on_destroyed")->found, "4242"));
    assert_false(check_of(&r, "acknowledged")->pass);
    assert_non_null(strstr(check_of(&r, "acknowledged")->found, "org_b"));
    assert_true(check_of(&r, "current_matches_observed")->pass);
    assert_true(check_of(&r, "agent_online")->pass);
    assert_true(check_of(&r, "in_window")->pass);
    j = al_migcheck_json(&r);
    assert_false(json_is_true(json_object_get(j, "pass")));
    assert_int_equal(json_integer_value(json_object_get(j, "failed")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "items")), AL_MIGCHECK_COUNT);
    assert_string_equal(jstr(json_array_get(json_object_get(j, "items"), 0), "name"),
                        "layout_valid");
    json_decref(j);
    /* which orgs it affects: org_b's instance is destroyed; org_c's stays; org_a is served */
    assert_true(al_migcheck_affects(f, "org_b"));
    assert_false(al_migcheck_affects(f, "org_c"));
    assert_false(al_migcheck_affects(f, "org_a"));
    /* the process gone and org_b's acknowledgement: all pass; outside the window: not */
    json_decref(node);
    node = node_json(1); /* a process on 3g.40gb@0, which stays: no matter */
    free(f);
    f = facts_new(d, node);
    f->nacks = 1;
    snprintf(f->acks[0].org, sizeof f->acks[0].org, "org_b");
    f->acks[0].job_shutdown = f->acks[0].data_backup = true;
    al_migcheck_report(f, NOW, &r);
    assert_true(r.pass);
    al_migcheck_report(f, NOW + 3600, &r);
    assert_false(r.pass);
    assert_false(check_of(&r, "in_window")->pass);
    /* an old heartbeat, an unhealthy GPU */
    json_object_set_new(node, "last_seen", json_integer(NOW - 600));
    json_object_set_new(json_array_get(json_object_get(node, "gpus"), 0), "healthy", json_false());
    al_migcheck_observe(node, "gpu_n1-0", NOW, f);
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "agent_online")->pass);
    assert_false(check_of(&r, "gpu_healthy")->pass);
    free(f);
    json_decref(node);
    json_decref(d);
}

static void test_unobserved(void **state)
{
    (void)state;
    json_t *d = change_doc("mch_1"), *node = node_json(0);
    struct al_migcheck_report r;
    /* the agent reports no MIG state: nothing that needs it passes */
    json_object_set_new(json_array_get(json_object_get(node, "gpus"), 0), "observed", json_null());
    struct al_migcheck_facts *f = facts_new(d, node);
    al_migcheck_report(f, NOW, &r);
    static const char *const unknown[] = {"mig_mode", "no_process_on_destroyed",
                                          "current_matches_observed"};
    for (size_t i = 0; i < 3; i++) {
        assert_false(check_of(&r, unknown[i])->pass);
        assert_non_null(strstr(check_of(&r, unknown[i])->found, "reports no MIG state"));
    }
    assert_true(check_of(&r, "agent_online")->pass);
    assert_true(check_of(&r, "idle_for_mode_switch")->pass); /* no mode switch */
    free(f);
    /* more processes than listed: those not listed may be on a destroyed instance */
    json_decref(node);
    node = node_json(1);
    json_object_set_new(
        json_object_get(json_array_get(json_object_get(node, "gpus"), 0), "observed"),
        "processes_total", json_integer(70));
    f = facts_new(d, node);
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "no_process_on_destroyed")->pass);
    assert_non_null(strstr(check_of(&r, "no_process_on_destroyed")->found, "69 processes"));
    free(f);
    /* a process on a GPU instance the agent did not list */
    json_t *obs = observed_of(node);
    json_object_set_new(obs, "processes_total", json_integer(1));
    json_object_set_new(json_array_get(json_object_get(obs, "processes"), 0), "gi",
                        json_integer(7));
    f = facts_new(d, node);
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "no_process_on_destroyed")->pass);
    assert_non_null(strstr(check_of(&r, "no_process_on_destroyed")->found, "1 processes"));
    free(f);
    /* a node that never reported; a GPU that is not in the report */
    f = facts_new(d, NULL);
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "agent_online")->pass);
    assert_non_null(strstr(check_of(&r, "agent_online")->found, "never reported"));
    assert_false(check_of(&r, "gpu_healthy")->pass);
    al_migcheck_observe(node, "gpu_n1-9", NOW, f);
    al_migcheck_report(f, NOW, &r);
    assert_non_null(strstr(check_of(&r, "current_matches_observed")->found, "gpu_n1-9"));
    free(f);
    /* an observed profile the model lacks */
    json_t *i0 = json_array_get(
        json_object_get(
            json_object_get(json_array_get(json_object_get(node, "gpus"), 0), "observed"),
            "instances"),
        0);
    json_object_set_new(i0, "profile", json_string("9g.99gb"));
    json_object_set_new(i0, "profile_id", json_integer(99));
    f = facts_new(d, node);
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "current_matches_observed")->pass);
    assert_non_null(strstr(check_of(&r, "current_matches_observed")->found, "9g.99gb"));
    free(f);
    json_decref(node);
    json_decref(d);
}

/* Instances outside the catalog (observed.unmatched_instances) fail current_matches_observed,
 * naming them, and a process on one of them is of no known instance; a process on another
 * compute instance of a listed GPU instance is on that instance. */
static void test_unmatched(void **state)
{
    (void)state;
    json_t *d = change_doc("mch_1"), *node = node_json(0), *obs = observed_of(node);
    struct al_migcheck_report r;
    struct al_migcheck_facts *f;
    /* the org whose instance is destroyed acknowledged: everything else passes */
#define ACK_B()                                                                                    \
    do {                                                                                           \
        f->nacks = 1;                                                                              \
        snprintf(f->acks[0].org, sizeof f->acks[0].org, "org_b");                                  \
        f->acks[0].job_shutdown = f->acks[0].data_backup = true;                                   \
    } while (0)
    json_object_set_new(obs, "unmatched_instances",
                        json_pack("[{s:n,s:i,s:i,s:i,s:i,s:i,s:s}]", "profile", "profile_id", 77,
                                  "start", 6, "size", 1, "gi", 9, "ci", 0, "uuid", "MIG-odd"));
    f = facts_new(d, node);
    ACK_B();
    al_migcheck_report(f, NOW, &r);
    assert_int_equal(r.nfailed, 1);
    assert_false(check_of(&r, "current_matches_observed")->pass);
    assert_non_null(strstr(check_of(&r, "current_matches_observed")->found,
                           "outside the catalog on the GPU, which the change was planned without: "
                           "profile 77 at start 6 (gi 9, MIG-odd)"));
    free(f);
    /* a process on it: on no instance known, so it may be on one the change destroys */
    json_object_set_new(
        obs, "processes",
        json_pack("[{s:i,s:i,s:i,s:i}]", "pid", 31, "used_memory_mib", 1, "gi", 9, "ci", 0));
    json_object_set_new(obs, "processes_total", json_integer(1));
    f = facts_new(d, node);
    ACK_B();
    al_migcheck_report(f, NOW, &r);
    assert_false(check_of(&r, "no_process_on_destroyed")->pass);
    free(f);
    /* none left outside the catalog; a process on compute instance 3 of gi 2 (1g.10gb@4,
     * destroyed): on that instance */
    json_object_set_new(obs, "unmatched_instances", json_array());
    json_object_set_new(
        obs, "processes",
        json_pack("[{s:i,s:i,s:i,s:i}]", "pid", 4343, "used_memory_mib", 1, "gi", 2, "ci", 3));
    f = facts_new(d, node);
    ACK_B();
    al_migcheck_report(f, NOW, &r);
    assert_true(check_of(&r, "current_matches_observed")->pass);
    assert_false(check_of(&r, "no_process_on_destroyed")->pass);
    assert_non_null(strstr(check_of(&r, "no_process_on_destroyed")->found, "4343"));
    assert_null(strstr(check_of(&r, "no_process_on_destroyed")->found, "unknown"));
    free(f);
#undef ACK_B
    json_decref(node);
    json_decref(d);
}

/* A change document that cannot be rebuilt fails every check, and layout_valid says why. */
static void test_unreadable(void **state)
{
    (void)state;
    struct al_migcheck_facts *f = calloc(1, sizeof *f);
    struct al_migcheck_report r;
    assert_non_null(f);
    snprintf(f->unreadable, sizeof f->unreadable, "model: X is not a MIG model of the catalog");
    al_migcheck_report(f, NOW, &r);
    assert_int_equal(r.nfailed, AL_MIGCHECK_COUNT);
    assert_non_null(strstr(check_of(&r, "layout_valid")->found, "X is not a MIG model"));
    assert_int_equal(al_migchange_may_force(&r, true, "urgent", NULL), AL_E_FORBIDDEN);
    free(f);
}

/* ---- through a store ---- */

static void put_change(struct al_store *s, json_t *d)
{
    struct al_store_migchange m = {jstr(d, "id"), jstr(d, "gpu"), jstr(d, "node"), "planned",
                                   NOW - 60,      NOW + 3600,     NOW - 100};
    struct al_store_migchange_link l[] = {{"rsv_a", "org_a", "serves"},
                                          {"rsv_b", "org_b", "holds"}};
    assert_int_equal(al_store_migchange_put(s, &m, d, l, 2, true, NULL), 0);
}

static void test_store_approve_and_pass(void **state)
{
    struct store_fixture *f = *state;
    struct al_srv srv = {.store = f->s};
    struct al_ctx c = {.srv = &srv, .user_id = "clock", .now = NOW};
    struct al_migcheck_facts *facts = calloc(1, sizeof *facts);
    struct al_migcheck_report r;
    json_t *d = change_doc("mch_1"), *got = NULL, *ev = NULL;
    assert_non_null(facts);
    json_t *report = json_pack("{s:s,s:s,s:{},s:[{s:i,s:s,s:s,s:s,s:b}]}", "name", "n1", "zone",
                               "z1", "labels", "gpus", "index", 0, "uuid", "GPU-1", "model", MODEL,
                               "pool", "dedicated", "healthy", 1);
    struct al_err e = {0};
    int rc = al_store_node_upsert(f->s, report, NOW - 5, &e);
    if (rc)
        fail_msg("%s", e.msg);
    json_decref(report);
    store_add_org(f->s, "org_b");
    put_change(f->s, d);
    /* gathered from the store: the node is online, its GPU healthy, org_b's ack counted */
    assert_int_equal(
        al_store_migchange_ack_put(f->s, "mch_1", "org_b", "usr_b", NOW, true, true, NULL), 0);
    assert_int_equal(al_migcheck_gather(&c, d, facts), 0);
    assert_int_equal(facts->nacks, 1);
    al_migcheck_report(facts, NOW, &r);
    assert_true(check_of(&r, "agent_online")->pass);
    assert_true(check_of(&r, "gpu_healthy")->pass);
    assert_true(check_of(&r, "acknowledged")->pass);
    /* its agent reported no MIG state: the checks that need it fail */
    assert_false(r.pass);
    assert_false(check_of(&r, "current_matches_observed")->pass);
    /* so a window with auto_apply (the zone's) leaves it planned */
    assert_int_equal(
        al_store_window_put(f->s, "zone:z1", "daily 00:00-24:00", true, NOW, "op", NULL), 0);
    assert_int_equal(al_migcheck_auto_apply_pass(&c), 0);
    assert_int_equal(al_store_migchange_get(f->s, "mch_1", &got, NULL), 0);
    assert_string_equal(jstr(got, "state"), "planned");
    json_decref(got);
    /* an operator's forced approval: recorded with its reason, and the event */
    c.user_id = "usr_op";
    assert_int_equal(al_migcheck_approve(&c, d, "usr_op", true, "the GPU is drained"), 0);
    assert_int_equal(al_store_migchange_get(f->s, "mch_1", &got, NULL), 0);
    assert_string_equal(jstr(got, "state"), "approved");
    json_t *ap = json_object_get(got, "approved");
    assert_string_equal(jstr(ap, "by"), "usr_op");
    assert_true(json_is_true(json_object_get(ap, "forced")));
    assert_string_equal(jstr(ap, "reason"), "the GPU is drained");
    json_decref(got);
    assert_int_equal(al_store_event_list(f->s, 0, 10, &ev, NULL), 0);
    json_t *last = json_array_get(ev, json_array_size(ev) - 1);
    assert_string_equal(jstr(last, "kind"), "mig_change.approved");
    assert_string_equal(jstr(last, "object"), "mch_1");
    assert_string_equal(jstr(json_object_get(last, "data"), "reason"), "the GPU is drained");
    json_decref(ev);
    /* an approved change is not the pass's */
    assert_int_equal(al_migcheck_auto_apply_pass(&c), 0);
    free(facts);
    json_decref(d);
}

/* Change `id` of GPU `gpu` in `state`, created at `at`, stored with its links. */
static void put_change_as(struct al_store *s, const char *id, const char *gpu, const char *state,
                          int64_t at)
{
    json_t *d = change_doc(id);
    json_object_set_new(d, "gpu", json_string(gpu));
    json_object_set_new(d, "state", json_string(state));
    struct al_store_migchange m = {id, gpu, "n1", state, NOW - 60, NOW + 3600, at};
    struct al_store_migchange_link l[] = {{"rsv_a", "org_a", "serves"},
                                          {"rsv_b", "org_b", "holds"}};
    assert_int_equal(al_store_migchange_put(s, &m, d, l, 2, true, NULL), 0);
    json_decref(d);
}

static const char *state_of(struct al_store *s, const char *id, char *buf, size_t cap)
{
    json_t *d = NULL;
    assert_int_equal(al_store_migchange_get(s, id, &d, NULL), 0);
    snprintf(buf, cap, "%s", jstr(d, "state"));
    json_decref(d);
    return buf;
}

/* The policy approves a planned change whose checks pass where its node's window says
 * auto_apply, and only there; never one of a GPU whose previous change failed. */
static void test_auto_apply_policy(void **state)
{
    struct store_fixture *f = *state;
    struct al_srv srv = {.store = f->s};
    struct al_ctx c = {.srv = &srv, .user_id = "clock", .now = NOW};
    char buf[32];
    /* node n1 reports two GPUs, each observed with the changes' `from`, no process */
    json_t *node = node_json(0), *gpus = json_object_get(node, "gpus");
    json_t *g1 = json_deep_copy(json_array_get(gpus, 0));
    json_object_set_new(g1, "id", json_string("gpu_n1-1"));
    json_object_set_new(g1, "uuid", json_string("GPU-2"));
    json_array_append_new(gpus, g1);
    for (size_t i = 0; i < 2; i++) {
        json_t *g = json_array_get(gpus, i);
        json_object_set_new(g, "index", json_integer((json_int_t)i));
        json_object_set_new(g, "model", json_string(MODEL));
        json_object_set_new(g, "pool", json_string("dedicated"));
        json_object_del(g, "id");
    }
    json_object_set_new(node, "zone", json_string("z1"));
    json_object_set_new(node, "labels", json_object());
    assert_int_equal(al_store_node_upsert(f->s, node, NOW - 5, NULL), 0);
    json_decref(node);
    store_add_org(f->s, "org_b");
    /* gpu_n1-0's last change failed; gpu_n1-1's was applied */
    put_change_as(f->s, "mch_0", "gpu_n1-0", "failed", NOW - 300);
    put_change_as(f->s, "mch_1", "gpu_n1-0", "planned", NOW - 100);
    put_change_as(f->s, "mch_2", "gpu_n1-1", "applied", NOW - 300);
    put_change_as(f->s, "mch_3", "gpu_n1-1", "planned", NOW - 100);
    for (int i = 1; i <= 3; i += 2) {
        char id[8];
        snprintf(id, sizeof id, "mch_%d", i);
        assert_int_equal(
            al_store_migchange_ack_put(f->s, id, "org_b", "usr_b", NOW, true, true, NULL), 0);
    }
    /* the checks pass, but no window has auto_apply: nothing */
    assert_int_equal(
        al_store_window_put(f->s, "default", "daily 00:00-24:00", false, NOW, "op", NULL), 0);
    assert_int_equal(al_migcheck_auto_apply_pass(&c), 0);
    /* the zone's window has it: mch_3 is approved by policy; mch_1 waits for an operator */
    assert_int_equal(
        al_store_window_put(f->s, "zone:z1", "daily 00:00-24:00", true, NOW, "op", NULL), 0);
    assert_int_equal(al_migcheck_auto_apply_pass(&c), 1);
    assert_string_equal(state_of(f->s, "mch_3", buf, sizeof buf), "approved");
    assert_string_equal(state_of(f->s, "mch_1", buf, sizeof buf), "planned");
    json_t *d = NULL;
    assert_int_equal(al_store_migchange_get(f->s, "mch_3", &d, NULL), 0);
    assert_string_equal(jstr(json_object_get(d, "approved"), "by"), "policy");
    assert_false(json_is_true(json_object_get(json_object_get(d, "approved"), "forced")));
    json_decref(d);
    /* the node's own window, without auto_apply, overrides the zone's */
    assert_int_equal(
        al_store_window_put(f->s, "node:n1", "daily 00:00-24:00", false, NOW, "op", NULL), 0);
    struct al_store_migchange sup = {"mch_1",  "gpu_n1-0", "n1", "superseded",
                                     NOW - 60, NOW + 3600, NOW};
    d = json_pack("{s:s}", "state", "superseded");
    assert_int_equal(al_store_migchange_put(f->s, &sup, d, NULL, 0, false, NULL), 0);
    json_decref(d);
    put_change_as(f->s, "mch_4", "gpu_n1-0", "planned", NOW - 50);
    assert_int_equal(al_migcheck_auto_apply_pass(&c), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_change_from_doc),
        cmocka_unit_test(test_checks_from_facts),
        cmocka_unit_test(test_unobserved),
        cmocka_unit_test(test_unmatched),
        cmocka_unit_test(test_unreadable),
        cmocka_unit_test_setup_teardown(test_store_approve_and_pass, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_auto_apply_policy, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
