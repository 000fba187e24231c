/* test_driver.c — the conformance suite of the agent's GPU drivers (agent/driver.h), run
 * through the interface alone, against `sim` always and against `nvml` where libnvidia-ml.so.1
 * loads (a GPU host): "skipped: no NVML" otherwise, counted as skipped, never as passed.
 *
 * Read-only checks run on every driver: the GPUs listed, their profiles and placements agree
 * with the catalog, the instances sit on placements their profile allows without overlapping,
 * each has its MIG device UUID, the processes name instances that exist. Mutation checks
 * (create, destroy, refusals, mode switch, reset) run only on a driver that says it is
 * simulated: against nvml the suite never changes MIG mode or a layout, never resets a GPU.
 * Last, the sim driver's state file: planted failures, and bad files refused naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/driver.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The simulated host: GPU 0 an H100 in MIG mode with 3g.40gb@0 (a process on it) and
 * 1g.10gb@6; GPU 1 an A30 with MIG off; GPU 2 an L40S (no MIG) running a process. */
static const char *const sim_host =
    "{\"gpus\":["
    "{\"index\":0,\"model\":\"H100-80GB\",\"mig\":{\"current\":true},"
    " \"instances\":[{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0},"
    "               {\"gi\":2,\"profile\":\"id:19\",\"start\":6}],"
    " \"processes\":[{\"pid\":4242,\"used_mib\":1024,\"gi\":1}]},"
    "{\"index\":1,\"model\":\"A30-24GB\",\"uuid\":\"GPU-a30-test-0001\"},"
    "{\"index\":2,\"model\":\"L40S-48GB\",\"processes\":[{\"pid\":77,\"used_mib\":10}]}]}";

struct fx {
    char why[AL_ERR_MSG_MAX]; /* why the driver did not open (nvml) */
    char dir[64];
    char path[128];
    struct al_driver *d;
    struct al_drv_gpu *g;
};

static int sim_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct al_err e = {0};
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/al_drv_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/state.json", fx->dir);
    assert_int_equal(tmpdir_write(fx->path, sim_host), 0);
    struct al_driver_cfg cfg = {.name = "sim", .state = fx->path};
    if (al_driver_open(&cfg, &fx->d, &e) < 0)
        fail_msg("sim: %s", e.msg);
    assert_non_null(fx->g = malloc(sizeof *fx->g));
    *state = fx;
    return 0;
}

/* nvml where it loads; otherwise the test itself reports the skip. */
static int nvml_setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    struct al_err e = {0};
    struct al_driver_cfg cfg = {.name = "nvml"};
    assert_non_null(fx);
    assert_non_null(fx->g = malloc(sizeof *fx->g));
    if (al_driver_open(&cfg, &fx->d, &e) < 0)
        memcpy(fx->why, e.msg, sizeof fx->why);
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *fx = *state;
    al_driver_close(fx->d);
    free(fx->g);
    if (fx->dir[0])
        assert_int_equal(tmpdir_remove(fx->dir), 0);
    free(fx);
    return 0;
}

/* Skip (not pass) a test of the nvml driver on a host without it. */
static struct fx *need_driver(void **state)
{
    struct fx *fx = *state;
    if (!fx->d) {
        print_message("skipped: no NVML (%s)\n", fx->why);
        skip();
    }
    return fx;
}

static void observe(struct fx *fx, unsigned n)
{
    struct al_err e = {0};
    if (al_driver_observe(fx->d, n, fx->g, &e) < 0)
        fail_msg("%s: observe GPU %u: %s", al_driver_name(fx->d), n, e.msg);
}

/* ---- read-only checks: every driver ---- */

static void test_gpus(void **state)
{
    struct fx *fx = need_driver(state);
    struct al_err e = {0};
    uint64_t seen = 0;
    unsigned n = 0;
    assert_int_equal(al_driver_gpu_count(fx->d, &n, &e), 0);
    if (al_driver_simulated(fx->d))
        assert_int_equal(n, 3);
    for (unsigned i = 0; i < n; i++) {
        observe(fx, i);
        struct al_drv_gpu *g = fx->g;
        print_message("# %s GPU %u: %s (%s) %s MIG %s/%s, %u profiles, %u instances, %u "
                      "processes\n",
                      al_driver_name(fx->d), g->index, g->name, g->model ? g->model->name : "?",
                      g->uuid, g->mig_current ? "on" : "off", g->mig_pending ? "on" : "off",
                      g->nprofiles, g->ninstances, g->procs_total);
        assert_true(g->index < AL_DRV_MAX_GPUS);
        assert_false(seen & (1ull << g->index)); /* each index once */
        seen |= 1ull << g->index;
        assert_true(strlen(g->uuid) > 0 && strlen(g->name) > 0);
        assert_true(g->mem_bytes > 0);
        assert_true(g->mig_capable || (!g->mig_current && !g->mig_pending));
        assert_true(g->nprocs <= g->procs_total && g->nprocs <= AL_DRV_MAX_PROCS);
    }
    assert_int_equal(al_driver_observe(fx->d, n, fx->g, &e), AL_E_NOTFOUND);
}

/* The listed profile of id `id`, or NULL. */
static const struct al_drv_profile *listed(const struct al_drv_gpu *g, unsigned id)
{
    for (unsigned i = 0; i < g->nprofiles; i++)
        if (g->profiles[i].profile_id == id)
            return &g->profiles[i];
    return NULL;
}

/* Does listed profile `lp` say what catalog profile `p` says? A difference on a fact the
 * catalog marks unverified is printed (the server flags it), on a verified one it fails. */
static void compare_profile(const struct al_gpu_model *m, const struct al_mig_profile *p,
                            const struct al_drv_profile *lp)
{
    bool same = lp && lp->slices == p->compute_slices && lp->nplacements == p->nstarts;
    for (unsigned k = 0; same && k < p->nstarts; k++)
        same = lp->placements[k].start == p->starts[k] && lp->placements[k].size == p->size;
    if (same)
        return;
    print_message("# %s %s (id %u): the host lists %s than the catalog\n", m->name, p->name,
                  p->nvml_id, lp ? "other slices or placements" : "no such profile, other");
    if (!m->unverified && !p->unverified)
        fail_msg("%s %s (id %u) differs from the catalog, which marks it verified", m->name,
                 p->name, p->nvml_id);
}

static void test_profiles(void **state)
{
    struct fx *fx = need_driver(state);
    struct al_err e = {0};
    unsigned n = 0;
    assert_int_equal(al_driver_gpu_count(fx->d, &n, &e), 0);
    for (unsigned i = 0; i < n; i++) {
        observe(fx, i);
        const struct al_drv_gpu *g = fx->g;
        const struct al_gpu_model *m = g->model;
        if (!g->mig_capable) {
            assert_int_equal(g->nprofiles, 0);
            continue;
        }
        for (unsigned k = 0; k < g->nprofiles; k++) /* every placement within the units */
            for (unsigned j = 0; j < g->profiles[k].nplacements; j++)
                assert_true(g->profiles[k].placements[j].start +
                                g->profiles[k].placements[j].size <=
                            AL_MIG_MAX_UNITS);
        if (!m) {
            print_message("# GPU %u: %s is not in the catalog\n", g->index, g->name);
            continue;
        }
        assert_true(m->mig);
        for (unsigned k = 0; k < m->nprofiles; k++)
            compare_profile(m, &m->profiles[k], listed(g, m->profiles[k].nvml_id));
    }
}

static void check_instances(const struct al_drv_gpu *g)
{
    uint32_t units = 0;
    for (unsigned i = 0; i < g->ninstances; i++) {
        const struct al_drv_instance *in = &g->instances[i];
        const struct al_drv_profile *p = listed(g, in->profile_id);
        unsigned k = 0;
        assert_true(g->mig_current);
        assert_non_null(p); /* an instance of a profile the GPU lists */
        while (k < p->nplacements && (p->placements[k].start != in->placement.start ||
                                      p->placements[k].size != in->placement.size))
            k++;
        assert_true(k < p->nplacements); /* on a placement its profile allows */
        uint32_t mask = ((1u << in->placement.size) - 1) << in->placement.start;
        assert_int_equal(units & mask, 0); /* overlapping no other */
        units |= mask;
        for (unsigned j = 0; j < i; j++)
            assert_int_not_equal(g->instances[j].gi_id, in->gi_id);
        if (in->ci_id != AL_DRV_NONE)
            assert_int_equal(strncmp(in->uuid, "MIG-", 4), 0);
    }
}

static void check_processes(const struct al_drv_gpu *g)
{
    for (unsigned i = 0; i < g->nprocs; i++) {
        const struct al_drv_process *p = &g->procs[i];
        unsigned k = 0;
        assert_true(p->pid > 0);
        if (!g->mig_current) {
            assert_int_equal(p->gi_id, AL_DRV_NONE);
            continue;
        }
        while (k < g->ninstances && g->instances[k].gi_id != p->gi_id)
            k++;
        assert_true(k < g->ninstances); /* on an instance that exists */
    }
}

static void test_instances_processes(void **state)
{
    struct fx *fx = need_driver(state);
    struct al_err e = {0};
    unsigned n = 0;
    assert_int_equal(al_driver_gpu_count(fx->d, &n, &e), 0);
    for (unsigned i = 0; i < n; i++) {
        observe(fx, i);
        check_instances(fx->g);
        check_processes(fx->g);
    }
    if (!al_driver_simulated(fx->d))
        return;
    observe(fx, 0); /* the planted host, as planted */
    assert_int_equal(fx->g->ninstances, 2);
    assert_int_equal(fx->g->nprocs, 1);
    assert_int_equal(fx->g->procs[0].pid, 4242);
    assert_int_equal(fx->g->procs[0].gi_id, 1);
    assert_int_equal(fx->g->procs[0].used_bytes, 1024ull << 20);
    observe(fx, 2);
    assert_int_equal(fx->g->nprocs, 1);
    assert_int_equal(fx->g->procs[0].gi_id, AL_DRV_NONE);
}

static void test_observed_json(void **state)
{
    struct fx *fx = need_driver(state);
    struct al_err e = {0};
    json_t *j = NULL;
    unsigned n = 0;
    assert_int_equal(al_driver_gpu_count(fx->d, &n, &e), 0);
    if (al_driver_observed_json(fx->d, &j, &e) < 0)
        fail_msg("observed json: %s", e.msg);
    assert_string_equal(json_string_value(json_object_get(j, "driver")), al_driver_name(fx->d));
    assert_int_equal(json_array_size(json_object_get(j, "gpus")), n);
    if (al_driver_simulated(fx->d)) {
        json_t *g0 = json_array_get(json_object_get(j, "gpus"), 0);
        json_t *in = json_array_get(json_object_get(g0, "instances"), 0);
        assert_string_equal(json_string_value(json_object_get(in, "profile")), "3g.40gb");
        assert_true(json_is_true(json_object_get(json_object_get(g0, "mig"), "current")));
    }
    json_decref(j);
}

/* The nvml driver never resets a GPU: refused without calling NVML. */
static void test_reset_refused_unless_simulated(void **state)
{
    struct fx *fx = need_driver(state);
    struct al_err e = {0};
    assert_false(al_driver_simulated(fx->d)); /* the nvml group's only; the sim's: test_reset */
    assert_int_equal(al_driver_reset(fx->d, 0, &e), AL_E_UNSUPPORTED);
    assert_non_null(strstr(e.msg, "never resets"));
}

/* ---- mutations: only a simulated host ---- */

static struct fx *need_simulated(void **state)
{
    struct fx *fx = need_driver(state);
    if (!al_driver_simulated(fx->d)) {
        print_message("skipped: %s is a real host: the suite is read-only there\n",
                      al_driver_name(fx->d));
        skip();
    }
    return fx;
}

/* Plant `value` (JSON text) as field `key` of GPU `gpu` in the state file, as a test does to
 * the host under the agent's feet. */
static void plant(struct fx *fx, unsigned gpu, const char *key, const char *value)
{
    json_error_t je;
    json_t *root = json_load_file(fx->path, 0, &je);
    json_t *v = json_loads(value, JSON_DECODE_ANY, &je);
    assert_non_null(root);
    assert_non_null(v);
    assert_int_equal(
        json_object_set_new(json_array_get(json_object_get(root, "gpus"), gpu), key, v), 0);
    assert_int_equal(json_dump_file(root, fx->path, 0), 0);
    json_decref(root);
}

/* Expect `rc` to be `code` with `needle` in the message. */
static void expect(int rc, int code, const struct al_err *e, const char *needle)
{
    if (rc != code || !strstr(e->msg, needle))
        fail_msg("got %d '%s', wanted %d with '%s'", rc, e->msg, code, needle);
}

static void test_create_destroy(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_drv_instance in, again;
    struct al_err e = {0};
    assert_int_equal(al_driver_create(fx->d, 0, 14, 4, &in, &e), 0); /* 2g.20gb at 4 */
    assert_int_equal(in.placement.start, 4);
    assert_int_equal(in.placement.size, 2);
    assert_int_equal(strncmp(in.uuid, "MIG-", 4), 0);
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 3);
    check_instances(fx->g);
    assert_string_equal(fx->g->instances[2].uuid, in.uuid);
    assert_int_equal(al_driver_destroy(fx->d, 0, in.gi_id, &e), 0);
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 2);
    assert_int_equal(al_driver_create(fx->d, 0, 14, 4, &again, &e), 0);
    assert_string_not_equal(again.uuid, in.uuid); /* a new instance, a new MIG device */
}

static void test_create_refused(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_err e = {0};
    expect(al_driver_create(fx->d, 0, 14, 3, NULL, &e), AL_E_INVAL, &e, "invalid placement");
    expect(al_driver_create(fx->d, 0, 14, 0, NULL, &e), AL_E_NOFIT, &e, "occupied");
    expect(al_driver_create(fx->d, 0, 9, 4, NULL, &e), AL_E_NOFIT, &e, "GPU instance 2");
    expect(al_driver_create(fx->d, 0, 99, 0, NULL, &e), AL_E_INVAL, &e, "no profile id 99");
    expect(al_driver_create(fx->d, 1, 5, 0, NULL, &e), AL_E_UNSUPPORTED, &e, "MIG mode is off");
    expect(al_driver_create(fx->d, 2, 0, 0, NULL, &e), AL_E_UNSUPPORTED, &e, "no MIG");
    expect(al_driver_create(fx->d, 9, 0, 0, NULL, &e), AL_E_NOTFOUND, &e, "no GPU 9");
    /* 1g at 4 and 5 fit; unit 3 is the 3g's */
    assert_int_equal(al_driver_create(fx->d, 0, 19, 4, NULL, &e), 0);
    assert_int_equal(al_driver_create(fx->d, 0, 19, 5, NULL, &e), 0);
    expect(al_driver_create(fx->d, 0, 19, 3, NULL, &e), AL_E_NOFIT, &e, "occupied");
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 4);
    check_instances(fx->g);
}

static void test_destroy_refused(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_err e = {0};
    expect(al_driver_destroy(fx->d, 0, 1, &e), AL_E_STATE, &e, "process 4242");
    expect(al_driver_destroy(fx->d, 0, 7, &e), AL_E_NOTFOUND, &e, "no GPU instance 7");
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 2); /* nothing destroyed */
    assert_int_equal(al_driver_destroy(fx->d, 0, 2, &e), 0);
    plant(fx, 0, "processes", "[]"); /* the job ended */
    assert_int_equal(al_driver_destroy(fx->d, 0, 1, &e), 0);
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 0);
}

static void test_mig_mode(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_drv_instance in;
    struct al_err e = {0};
    expect(al_driver_set_mig_mode(fx->d, 0, false, &e), AL_E_STATE, &e, "in use");
    expect(al_driver_set_mig_mode(fx->d, 2, true, &e), AL_E_UNSUPPORTED, &e, "no MIG");
    assert_int_equal(al_driver_set_mig_mode(fx->d, 1, true, &e), 0);
    observe(fx, 1);
    assert_true(fx->g->mig_current && fx->g->mig_pending);
    assert_int_equal(al_driver_create(fx->d, 1, 5, 0, &in, &e), 0); /* A30 2g.12gb at 0 */
    expect(al_driver_set_mig_mode(fx->d, 1, false, &e), AL_E_STATE, &e, "GPU instances exist");
    assert_int_equal(al_driver_destroy(fx->d, 1, in.gi_id, &e), 0);
    plant(fx, 1, "processes", "[{\"pid\":9,\"used_mib\":1,\"gi\":1}]");
    /* a process planted on an instance that is gone: the file no longer validates */
    expect(al_driver_set_mig_mode(fx->d, 1, false, &e), AL_E_INVAL, &e, "gpus[1].processes[0].gi");
    plant(fx, 1, "processes", "[]");
    assert_int_equal(al_driver_set_mig_mode(fx->d, 1, false, &e), 0);
    plant(fx, 1, "processes", "[{\"pid\":9,\"used_mib\":1}]");
    expect(al_driver_set_mig_mode(fx->d, 1, true, &e), AL_E_STATE, &e, "idle");
}

static void test_reset(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_err e = {0};
    plant(fx, 1, "mig", "{\"current\":false,\"pending\":true}");
    assert_int_equal(al_driver_reset(fx->d, 0, &e), 0);
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 0); /* instances do not survive a reset */
    assert_int_equal(fx->g->nprocs, 0);
    assert_true(fx->g->mig_current);
    observe(fx, 1);
    assert_false(fx->g->mig_current);                                 /* another GPU: untouched */
    assert_int_equal(al_driver_create(fx->d, 0, 0, 0, NULL, &e), 0);  /* 7g.80gb */
    assert_int_equal(al_driver_reset(fx->d, AL_DRV_ALL_GPUS, &e), 0); /* a reboot */
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 0);
    observe(fx, 1);
    assert_true(fx->g->mig_current); /* the pending mode became current */
    observe(fx, 2);
    assert_int_equal(fx->g->nprocs, 0);
    expect(al_driver_reset(fx->d, 5, &e), AL_E_NOTFOUND, &e, "no GPU 5");
}

static void test_restart(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_drv_instance in;
    struct al_err e = {0};
    struct al_driver_cfg cfg = {.name = "sim", .state = fx->path};
    assert_int_equal(al_driver_create(fx->d, 0, 14, 4, &in, &e), 0);
    al_driver_close(fx->d); /* the agent restarts: the host keeps what it made */
    fx->d = NULL;
    assert_int_equal(al_driver_open(&cfg, &fx->d, &e), 0);
    observe(fx, 0);
    assert_int_equal(fx->g->ninstances, 3);
    assert_string_equal(fx->g->instances[2].uuid, in.uuid);
}

static void test_planted_failure(void **state)
{
    struct fx *fx = need_simulated(state);
    struct al_err e = {0};
    plant(fx, 0, "fail_next", "{\"create\":\"insufficient_resources\"}");
    expect(al_driver_create(fx->d, 0, 19, 4, NULL, &e), AL_E_NOFIT, &e, "planted");
    assert_int_equal(al_driver_create(fx->d, 0, 19, 4, NULL, &e), 0); /* once only */
    plant(fx, 0, "fail_next", "{\"destroy\":\"unknown\",\"mig_mode\":\"no_permission\"}");
    expect(al_driver_destroy(fx->d, 0, 2, &e), AL_E_NVML, &e, "destroy: unknown");
    expect(al_driver_set_mig_mode(fx->d, 0, true, &e), AL_E_FORBIDDEN, &e, "mig_mode");
    assert_int_equal(al_driver_destroy(fx->d, 0, 2, &e), 0);
}

/* ---- the sim state file: untrusted input ---- */

static void expect_bad_state(const char *text, const char *needle)
{
    char dir[] = "/tmp/al_drv_XXXXXX", path[64];
    struct al_driver *d = NULL;
    struct al_err e = {0};
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(tmpdir_write(path, text), 0);
    struct al_driver_cfg cfg = {.name = "sim", .state = path};
    int rc = al_driver_open(&cfg, &d, &e);
    assert_int_equal(tmpdir_remove(dir), 0);
    assert_null(d);
    if (rc >= 0 || !strstr(e.msg, needle))
        fail_msg("state %s: got %d '%s', wanted '%s'", text, rc, e.msg, needle);
}

static void test_state_file_refused(void **state)
{
    (void)state;
    expect_bad_state("{\"gpus\":[", "line 1");
    expect_bad_state("[]", "a JSON object");
    expect_bad_state("{\"gpus\":[],\"extra\":1}", "unknown field \"extra\"");
    expect_bad_state("{\"gpus\":[{\"model\":\"Z9000\"}]}", "gpus[0].model");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"helthy\":true}]}",
                     "gpus[0]: unknown field \"helthy\"");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"index\":64}]}", "gpus[0].index");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\"},{\"model\":\"H100-80GB\",\"index\":0}]}",
                     "gpus[1].index: 0 given twice");
    expect_bad_state("{\"gpus\":[{\"model\":\"L4-24GB\",\"mig\":{\"current\":true}}]}",
                     "gpus[0].mig: L4-24GB has no MIG");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"instances\":[{\"gi\":1,\"profile\":"
                     "\"7g.80gb\",\"start\":0}]}]}",
                     "gpus[0].instances: only while MIG is on");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"mig\":{\"current\":true},"
                     "\"instances\":[{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":1}]}]}",
                     "gpus[0].instances: 3g.40gb@1");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"mig\":{\"current\":true},"
                     "\"instances\":[{\"gi\":1,\"profile\":\"4g.40gb\",\"start\":0},"
                     "{\"gi\":2,\"profile\":\"3g.40gb\",\"start\":0}]}]}",
                     "overlaps");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"mig\":{\"current\":true},"
                     "\"instances\":[{\"gi\":1,\"profile\":\"9g.1gb\",\"start\":0}]}]}",
                     "gpus[0].instances[0].profile");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"processes\":[{\"pid\":0}]}]}",
                     "gpus[0].processes[0].pid");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"processes\":[{\"pid\":5,\"gi\":1}]}]}",
                     "gpus[0].processes[0].gi: only while MIG is on");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"fail_next\":{\"create\":\"oops\"}}]}",
                     "gpus[0].fail_next");
    expect_bad_state("{\"gpus\":[{\"model\":\"H100-80GB\",\"uuid\":\"GPU 1\"}]}", "gpus[0].uuid");
}

/* A state file written with NVML's or an earlier driver's profile names: GB200's early
 * "3g.95gb" and "1g.24gb", NVML's "MIG 1g.23gb". Each reads as the profile of its NVML id. */
static void test_state_file_aliases(void **state)
{
    (void)state;
    char dir[] = "/tmp/al_drv_XXXXXX", path[64];
    struct al_driver *d = NULL;
    struct al_drv_gpu *g = malloc(sizeof *g);
    struct al_err e = {0};
    assert_non_null(g);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.json", dir);
    assert_int_equal(tmpdir_write(path, "{\"gpus\":[{\"model\":\"GB200\",\"mig\":{\"current\":"
                                        "true},\"instances\":["
                                        "{\"gi\":1,\"profile\":\"3g.95gb\",\"start\":0},"
                                        "{\"gi\":2,\"profile\":\"1g.24gb\",\"start\":4},"
                                        "{\"gi\":3,\"profile\":\"MIG 1g.23gb\",\"start\":5}]}]}"),
                     0);
    struct al_driver_cfg cfg = {.name = "sim", .state = path};
    int rc = al_driver_open(&cfg, &d, &e);
    if (rc < 0)
        fail_msg("sim: %s", e.msg);
    rc = al_driver_observe(d, 0, g, &e);
    al_driver_close(d);
    assert_int_equal(tmpdir_remove(dir), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(g->ninstances, 3);
    unsigned want[][2] = {{1, 9}, {2, 19}, {3, 19}}; /* gi, NVML id: 3g.93gb 9, 1g.23gb 19 */
    for (unsigned i = 0; i < 3; i++) {
        unsigned k = 0;
        while (k < g->ninstances && g->instances[k].gi_id != want[i][0])
            k++;
        assert_true(k < g->ninstances);
        assert_int_equal(g->instances[k].profile_id, want[i][1]);
    }
    free(g);
}

static void test_open_refused(void **state)
{
    (void)state;
    struct al_driver *d = NULL;
    struct al_err e = {0};
    struct al_driver_cfg bad = {.name = "cuda"}, nostate = {.name = "sim"};
    struct al_driver_cfg missing = {.name = "sim", .state = "/nonexistent/state.json"};
    struct al_driver_cfg nolib = {.name = "nvml", .lib = "/nonexistent/libnvidia-ml.so.1"};
    expect(al_driver_open(&bad, &d, &e), AL_E_INVAL, &e, "sim or nvml");
    expect(al_driver_open(&nostate, &d, &e), AL_E_INVAL, &e, "state file");
    assert_true(al_driver_open(&missing, &d, &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/state.json"));
    /* a host without the NVIDIA driver: a clear refusal, nothing else */
    expect(al_driver_open(&nolib, &d, &e), AL_E_NOTFOUND, &e,
           "/nonexistent/libnvidia-ml.so.1 not found");
    assert_null(d);
}

/* Each check under the driver's name: the same function runs in both lists. */
#define SIM(t)                                                                                     \
    {                                                                                              \
        "sim: " #t, t, sim_setup, fx_teardown, NULL                                                \
    }
#define NVML(t)                                                                                    \
    {                                                                                              \
        "nvml: " #t, t, nvml_setup, fx_teardown, NULL                                              \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        SIM(test_gpus),
        SIM(test_profiles),
        SIM(test_instances_processes),
        SIM(test_observed_json),
        SIM(test_create_destroy),
        SIM(test_create_refused),
        SIM(test_destroy_refused),
        SIM(test_mig_mode),
        SIM(test_reset),
        SIM(test_restart),
        SIM(test_planted_failure),
        cmocka_unit_test(test_state_file_refused),
        cmocka_unit_test(test_state_file_aliases),
        cmocka_unit_test(test_open_refused),
        /* the same read-only checks on a real host; skipped (not passed) without NVML */
        NVML(test_gpus),
        NVML(test_profiles),
        NVML(test_instances_processes),
        NVML(test_observed_json),
        NVML(test_reset_refused_unless_simulated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
