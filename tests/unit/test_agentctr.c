/* test_agentctr.c — the agent's containers round (agent/agentctr.h) over the process runtime in a
 * temporary directory: a desired container created, started and reported running with its
 * device; an entry that does not check out reported failed naming the field; one lost behind
 * the agent's back reported missing and not started again; a desired stop reported stopped with
 * its exit code; one the document no longer lists removed; a document without `containers`
 * touching nothing; the runtime unreachable reported ok false naming it, nothing touched, and
 * the report's logs shared so that it stays under its bound. The same round against a real
 * Podman service: tests/integration/runtime_podman.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/agentctr.h"
#include "agent/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fx {
    char dir[64], spec[96];
    struct al_agentctr *ac;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/al_actr_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->spec, sizeof fx->spec, "process:%s", fx->dir);
    assert_int_equal(al_agentctr_new(fx->spec, false, &fx->ac, NULL), 0);
    *state = fx;
    return 0;
}

/* Every container removed (stopped first), then the directory. */
static int teardown(void **state)
{
    struct fx *fx = *state;
    struct al_runtime *rt = NULL;
    struct al_rt_ctr *cs = NULL;
    size_t n = 0;
    al_agentctr_free(fx->ac);
    if (al_runtime_open(fx->spec, false, &rt, NULL) == 0 && al_runtime_list(rt, &cs, &n, NULL) == 0)
        for (size_t i = 0; i < n; i++)
            assert_int_equal(al_runtime_remove(rt, cs[i].id, NULL), 0);
    free(cs);
    al_runtime_close(rt);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static json_t *entry(const char *id, const char *desired, const char *cmd)
{
    return json_pack("{s:s,s:s,s:[s,s,s],s:{s:s},s:s,s:s,s:{s:s}}", "id", id, "image", "img",
                     "command", "sh", "-c", cmd, "env", "FOO", "bar", "device",
                     "MIG-11111111-2222-3333-4444-555555555555", "desired", desired, "labels",
                     "allot.org", "org_a");
}

/* One round over {"containers": [entries…]} (stolen); the report (the caller's). */
static json_t *round_of(struct fx *fx, json_t *containers)
{
    json_t *doc = json_pack("{s:o}", "containers", containers), *rep = NULL;
    assert_non_null(doc);
    assert_int_equal(al_agentctr_round(fx->ac, doc, &rep, NULL), 0);
    json_decref(doc);
    return rep;
}

static const json_t *find(const json_t *rep, const char *id)
{
    const json_t *cs = json_object_get(rep, "containers");
    for (size_t i = 0; i < json_array_size(cs); i++) {
        const json_t *e = json_array_get(cs, i);
        if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
            return e;
    }
    return NULL;
}

static const char *field(const json_t *rep, const char *id, const char *key)
{
    const json_t *e = find(rep, id);
    assert_non_null(e);
    return json_string_value(json_object_get(e, key));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void runs_reports_and_refuses(void **state)
{
    struct fx *fx = *state;
    json_t *bad = entry("ctr_00000000000000b1", "run", "true"), *rep;
    json_object_set_new(json_object_get(bad, "env"), "CUDA_VISIBLE_DEVICES", json_string("0"));
    rep = round_of(fx, json_pack("[o,o,{s:s}]",
                                 entry("ctr_00000000000000a1", "run",
                                       "echo dev=$CUDA_VISIBLE_DEVICES; exec sleep 30"),
                                 bad, "id", "not-a-ctr"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "runtime"), "kind")),
                        "process");
    assert_true(json_is_true(json_object_get(json_object_get(rep, "runtime"), "ok")));
    assert_int_equal(json_array_size(json_object_get(rep, "containers")), 2);
    assert_string_equal(field(rep, "ctr_00000000000000a1", "state"), "running");
    assert_string_equal(field(rep, "ctr_00000000000000a1", "runtime_id"), "ctr_00000000000000a1");
    assert_string_equal(field(rep, "ctr_00000000000000b1", "state"), "failed");
    assert_string_equal(field(rep, "ctr_00000000000000b1", "error"),
                        "env.CUDA_VISIBLE_DEVICES: allot's to set");
    assert_true(al_agentctr_ok(fx->ac));
    json_decref(rep);
    /* its logs come in a later round: it saw its device */
    for (int i = 0; i < 50; i++) {
        rep = round_of(fx, json_pack("[o]", entry("ctr_00000000000000a1", "run", "x")));
        if (strstr(field(rep, "ctr_00000000000000a1", "logs"), "dev=MIG-"))
            break;
        json_decref(rep);
        rep = NULL;
        sleep_ms(100);
    }
    assert_non_null(rep);
    assert_string_equal(field(rep, "ctr_00000000000000a1", "logs"),
                        "dev=MIG-11111111-2222-3333-4444-555555555555\n");
    json_decref(rep);
    /* asked to stop: stopped, with SIGTERM's exit code */
    rep = round_of(fx, json_pack("[o]", entry("ctr_00000000000000a1", "stop", "x")));
    assert_string_equal(field(rep, "ctr_00000000000000a1", "state"), "stopped");
    assert_int_equal(
        json_integer_value(json_object_get(find(rep, "ctr_00000000000000a1"), "exit_code")), 143);
    json_decref(rep);
}

static void missing_sweep_and_no_document(void **state)
{
    struct fx *fx = *state;
    struct al_runtime *rt = NULL;
    char path[128];
    struct stat st;
    json_t *rep = round_of(fx, json_pack("[o,o]", entry("ctr_00000000000000c1", "run", "sleep 30"),
                                         entry("ctr_00000000000000c2", "run", "sleep 30")));
    assert_string_equal(field(rep, "ctr_00000000000000c1", "state"), "running");
    json_decref(rep);
    /* c1 removed behind the agent's back: missing, not started again */
    assert_int_equal(al_runtime_open(fx->spec, false, &rt, NULL), 0);
    assert_int_equal(al_runtime_remove(rt, "ctr_00000000000000c1", NULL), 0);
    al_runtime_close(rt);
    rep = round_of(fx, json_pack("[o,o]", entry("ctr_00000000000000c1", "run", "sleep 30"),
                                 entry("ctr_00000000000000c2", "run", "sleep 30")));
    assert_string_equal(field(rep, "ctr_00000000000000c1", "state"), "missing");
    assert_string_equal(field(rep, "ctr_00000000000000c1", "error"), "lost by the runtime");
    snprintf(path, sizeof path, "%s/ctr_00000000000000c1", fx->dir);
    assert_int_not_equal(stat(path, &st), 0);
    json_decref(rep);
    /* a document without containers touches nothing */
    json_t *doc = json_pack("{s:[]}", "gpus");
    assert_int_equal(al_agentctr_round(fx->ac, doc, &rep, NULL), 0);
    json_decref(doc);
    assert_int_equal(json_array_size(json_object_get(rep, "containers")), 0);
    json_decref(rep);
    snprintf(path, sizeof path, "%s/ctr_00000000000000c2/spec.json", fx->dir);
    assert_int_equal(stat(path, &st), 0);
    /* a document that no longer lists c2: stopped and removed */
    rep = round_of(fx, json_array());
    json_decref(rep);
    assert_int_not_equal(stat(path, &st), 0);
}

static void unreachable_touches_nothing(void **state)
{
    struct fx *fx = *state;
    json_t *rep;
    assert_int_equal(rmdir(fx->dir), 0); /* the runtime's directory gone */
    rep = round_of(fx, json_pack("[o]", entry("ctr_00000000000000d1", "run", "sleep 30")));
    const json_t *rt = json_object_get(rep, "runtime");
    assert_false(json_is_true(json_object_get(rt, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(rt, "error")), fx->dir));
    assert_int_equal(json_array_size(json_object_get(rep, "containers")), 0);
    assert_false(al_agentctr_ok(fx->ac));
    json_decref(rep);
    /* back: reconciled as usual */
    assert_int_equal(mkdir(fx->dir, 0700), 0);
    rep = round_of(fx, json_pack("[o]", entry("ctr_00000000000000d1", "run", "sleep 30")));
    assert_true(al_agentctr_ok(fx->ac));
    assert_string_equal(field(rep, "ctr_00000000000000d1", "state"), "running");
    json_decref(rep);
}

/* 16 containers of 64 KiB of output each: every log cut to its share, the report in bounds. */
static void logs_share_the_budget(void **state)
{
    struct fx *fx = *state;
    json_t *cs = json_array(), *rep = NULL;
    char id[32];
    for (int i = 0; i < 16; i++) {
        snprintf(id, sizeof id, "ctr_00000000000000e%x", i);
        json_array_append_new(cs, entry(id, "run",
                                        "i=0; while [ $i -lt 1100 ]; do echo "
                                        "0123456789012345678901234567890123456789012345678901234"
                                        "56789; i=$((i+1)); done"));
    }
    json_decref(round_of(fx, json_deep_copy(cs)));
    for (int t = 0; t < 100; t++) {
        rep = round_of(fx, json_deep_copy(cs));
        const json_t *got = json_object_get(rep, "containers");
        size_t done = 0;
        for (size_t i = 0; i < json_array_size(got); i++)
            done += strcmp(json_string_value(json_object_get(json_array_get(got, i), "state")),
                           "exited") == 0;
        if (done == 16)
            break;
        json_decref(rep);
        rep = NULL;
        sleep_ms(100);
    }
    assert_non_null(rep);
    assert_true(json_dumpb(rep, NULL, 0, JSON_COMPACT) <= AL_AGENTCTR_BODY_MAX);
    snprintf(id, sizeof id, "ctr_00000000000000e%x", 3);
    assert_int_equal(strlen(field(rep, id, "logs")), AL_AGENTCTR_LOGS_BUDGET / 16);
    json_decref(rep);
    json_decref(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(runs_reports_and_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_sweep_and_no_document, setup, teardown),
        cmocka_unit_test_setup_teardown(unreachable_touches_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(logs_share_the_budget, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
