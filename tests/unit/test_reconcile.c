/* test_reconcile.c — the agent's reconcile step (agent/reconcile.h) against the sim driver, with
 * no server: a desired entry as GET /v1/nodes/{name}/desired writes it, the result body that
 * POST /v1/mig-changes/{id}/result would carry, and the simulated host's state file read back
 * to see what was done. A change applied; a failing create rolled back to the old layout
 * exactly; an instance that stays never destroyed (its GI id and MIG UUID kept); a GPU already
 * at `to` reported applied without any driver call; a process on an instance to destroy fails
 * the change with nothing changed; a change interrupted part-way rolled back; after a reboot
 * the desired layout recreated, nothing destroyed; bad entries refused naming the member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/reconcile.h"
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPU 0: an H100 in MIG mode with 3g.40gb@0 (GI 1, a process on it) and 1g.10gb@6 (GI 2);
 * GPU 1: an A30 with MIG off. */
#define H100_GPU(extra)                                                                            \
    "{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\",\"mig\":{\"current\":true},"  \
    "\"instances\":[{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0,\"uuid\":\"MIG-keep-0001\"},"    \
    "{\"gi\":2,\"profile\":\"1g.10gb\",\"start\":6,\"uuid\":\"MIG-old-0002\"}],"                   \
    "\"processes\":[{\"pid\":4242,\"used_mib\":1024,\"gi\":1}" extra "}"
#define A30_GPU "{\"index\":1,\"model\":\"A30-24GB\",\"uuid\":\"GPU-a30-0001\"}"

static const char *const host = "{\"gpus\":[" H100_GPU("]") "," A30_GPU "]}";

/* The change of GPU 0: 1g.10gb@6 makes room for a second 3g.40gb at 4; 3g.40gb@0 stays. */
#define FROM_H100                                                                                  \
    "{\"mig\":true,\"instances\":[{\"profile\":\"3g.40gb\",\"profile_id\":9,\"start\":0},"         \
    "{\"profile\":\"1g.10gb\",\"profile_id\":19,\"start\":6}]}"
#define TO_H100                                                                                    \
    "{\"mig\":true,\"instances\":[{\"profile\":\"3g.40gb\",\"profile_id\":9,\"start\":0},"         \
    "{\"profile\":\"3g.40gb\",\"profile_id\":9,\"start\":4}]}"
#define OPS_H100                                                                                   \
    "[{\"op\":\"destroy_ci\",\"profile_id\":19,\"start\":6},"                                      \
    "{\"op\":\"destroy_gi\",\"profile_id\":19,\"start\":6},"                                       \
    "{\"op\":\"create_gi\",\"profile_id\":9,\"start\":4},"                                         \
    "{\"op\":\"create_ci\",\"profile_id\":9,\"start\":4}]"
#define CHANGE_H100(ops)                                                                           \
    "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"gpu\":\"gpu_n1-0\",\"desired\":" FROM_H100          \
    ",\"change\":{\"id\":\"mch_1\",\"state\":\"approved\",\"from\":" FROM_H100 ",\"to\":" TO_H100  \
    ",\"operations\":" ops "}}"

struct fx {
    char dir[64];
    char path[128];
    struct al_driver *d;
    struct al_drv_gpu *g;
};

/* The state file's bytes (the sim rewrites it only when something changed). */
static char *read_file(const char *path)
{
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    assert_int_equal(fclose(f), 0);
    buf[n] = '\0';
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, buf, n + 1);
    return copy;
}

static void fx_open(struct fx *fx, const char *state)
{
    struct al_err e = {0};
    struct al_driver_cfg cfg = {.name = "sim", .state = fx->path};
    al_driver_close(fx->d);
    fx->d = NULL;
    assert_int_equal(tmpdir_write(fx->path, state), 0);
    if (al_driver_open(&cfg, &fx->d, &e) < 0)
        fail_msg("sim: %s", e.msg);
}

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/al_rec_XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/state.json", fx->dir);
    assert_non_null(fx->g = malloc(sizeof *fx->g));
    fx_open(fx, host);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    al_driver_close(fx->d);
    free(fx->g);
    assert_int_equal(tmpdir_remove(fx->dir), 0);
    free(fx);
    return 0;
}

static void observe(struct fx *fx, unsigned index)
{
    struct al_err e = {0};
    if (al_reconcile_observe(fx->d, index, fx->g, &e) < 0)
        fail_msg("observe GPU %u: %s", index, e.msg);
}

/* GPU `index`'s layout as "profile@start#gi,…" in start order, for comparisons. */
static const char *layout(struct fx *fx, unsigned index)
{
    static char buf[512];
    size_t len = 0;
    observe(fx, index);
    buf[0] = '\0';
    for (unsigned start = 0; start < AL_MIG_MAX_UNITS; start++)
        for (unsigned i = 0; i < fx->g->ninstances; i++) {
            const struct al_drv_instance *in = &fx->g->instances[i];
            int pi = al_driver_catalog_profile(fx->g->model, in->profile_id);
            if (in->placement.start != start)
                continue;
            len +=
                (size_t)snprintf(buf + len, sizeof buf - len, "%s%s@%u#%u", len ? "," : "",
                                 pi >= 0 ? fx->g->model->profiles[pi].name : "?", start, in->gi_id);
        }
    return buf;
}

/* The MIG UUID of GPU instance gi of GPU 0, or "". */
static const char *uuid_of(struct fx *fx, unsigned gi)
{
    observe(fx, 0);
    for (unsigned i = 0; i < fx->g->ninstances; i++)
        if (fx->g->instances[i].gi_id == gi)
            return fx->g->instances[i].uuid;
    return "";
}

static void parse(struct fx *fx, const char *text, struct al_rec_gpu *e)
{
    struct al_err err = {0};
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j)
        fail_msg("test entry: %s", je.text);
    observe(fx, (unsigned)json_integer_value(json_object_get(j, "index")));
    if (al_reconcile_parse(j, fx->g->model, e, &err) < 0)
        fail_msg("parse: %s", err.msg);
    json_decref(j);
}

/* Parse `text`, apply its change, return the result body (the caller's). */
static json_t *change(struct fx *fx, const char *text)
{
    static struct al_rec_gpu e;
    struct al_err err = {0};
    json_t *res = NULL;
    parse(fx, text, &e);
    assert_true(e.has_change);
    if (al_reconcile_change(fx->d, &e, &res, &err) < 0)
        fail_msg("change: %s", err.msg);
    assert_non_null(res);
    return res;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* ---- a change ---- */

static void test_apply(void **state)
{
    struct fx *fx = *state;
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_true(json_is_true(json_object_get(res, "mig")));
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,3g.40gb@4#2");
    /* the instance that stays: the same GI and MIG UUID, its process still there */
    assert_string_equal(uuid_of(fx, 1), "MIG-keep-0001");
    assert_int_equal(fx->g->nprocs, 1);
    /* the result names the new instance with its MIG UUID */
    const json_t *inst = json_object_get(res, "instances");
    assert_int_equal(json_array_size(inst), 2);
    size_t i;
    const json_t *v;
    int seen = 0;
    json_array_foreach(inst, i, v)
    {
        if (json_integer_value(json_object_get(v, "start")) != 4)
            continue;
        seen++;
        assert_int_equal(json_integer_value(json_object_get(v, "profile_id")), 9);
        assert_int_equal(json_integer_value(json_object_get(v, "ci")), 0);
        assert_string_equal(str(v, "uuid"), uuid_of(fx, 2));
        assert_true(strncmp(str(v, "uuid"), "MIG-", 4) == 0);
    }
    assert_int_equal(seen, 1);
    json_decref(res);
}

/* With no operations in the entry, the agent plans them itself (core's diff): the same end. */
static void test_apply_planned_here(void **state)
{
    struct fx *fx = *state;
    json_t *res = change(fx, CHANGE_H100("null"));
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,3g.40gb@4#2");
    assert_string_equal(uuid_of(fx, 1), "MIG-keep-0001");
    json_decref(res);
}

/* A create that fails: the destroy undone, the old layout back exactly. */
static void test_failed_create_rolls_back(void **state)
{
    struct fx *fx = *state;
    fx_open(fx,
            "{\"gpus\":[" H100_GPU("],\"fail_next\":{\"create\":\"insufficient_resources\"}") "]}");
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_int_equal(json_integer_value(json_object_get(res, "operation")), 2); /* create_gi */
    assert_true(json_is_true(json_object_get(res, "rolled_back")));
    assert_non_null(strstr(str(res, "error"), "create_gi 3g.40gb@4"));
    /* the same set; the staying instance untouched; the one destroyed made again */
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,1g.10gb@6#2");
    assert_string_equal(uuid_of(fx, 1), "MIG-keep-0001");
    assert_string_not_equal(uuid_of(fx, 2), "MIG-old-0002");
    assert_int_equal(json_array_size(json_object_get(res, "instances")), 2);
    json_decref(res);
}

/* A failure at the first operation: nothing done, nothing to undo, the GPU as it was. */
static void test_failed_destroy(void **state)
{
    struct fx *fx = *state;
    fx_open(fx, "{\"gpus\":[" H100_GPU("],\"fail_next\":{\"destroy\":\"unknown\"}") "]}");
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_int_equal(json_integer_value(json_object_get(res, "operation")), 0);
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,1g.10gb@6#2");
    assert_string_equal(uuid_of(fx, 2), "MIG-old-0002");
    json_decref(res);
}

/* Already at `to` (an agent that stopped after applying, before reporting): reported applied,
 * and no driver call at all: the state file is not rewritten, the planted failures unmet. */
static void test_at_to_not_applied_twice(void **state)
{
    struct fx *fx = *state;
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"mig\":{\"current\":true},\"instances\":["
                "{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0},"
                "{\"gi\":3,\"profile\":\"3g.40gb\",\"start\":4}],"
                "\"fail_next\":{\"create\":\"unknown\",\"destroy\":\"unknown\","
                "\"mig_mode\":\"unknown\"}}]}");
    char *before = read_file(fx->path);
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    char *after = read_file(fx->path);
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_string_equal(before, after);
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,3g.40gb@4#3");
    free(before);
    free(after);
    json_decref(res);
}

/* A process on the instance to destroy: failed, naming the pid, nothing changed. */
static void test_process_blocks(void **state)
{
    struct fx *fx = *state;
    fx_open(fx, "{\"gpus\":[" H100_GPU(",{\"pid\":777,\"used_mib\":10,\"gi\":2}]") "]}");
    char *before = read_file(fx->path);
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    char *after = read_file(fx->path);
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_false(json_is_true(json_object_get(res, "rolled_back")));
    assert_int_equal(json_integer_value(json_object_get(res, "operation")), 0);
    assert_non_null(strstr(str(res, "error"), "process 777 on 1g.10gb@6 (GPU instance 2)"));
    assert_null(strstr(str(res, "error"), "4242")); /* the staying instance's is no obstacle */
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(res);
}

/* Stopped part-way: 1g.10gb@6 destroyed, 3g.40gb@4 not yet made. Back to `from`, "interrupted". */
static void test_interrupted(void **state)
{
    struct fx *fx = *state;
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"mig\":{\"current\":true},\"instances\":["
                "{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0,\"uuid\":\"MIG-keep-0001\"}]}]}");
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_non_null(strstr(str(res, "error"), "interrupted"));
    assert_true(json_is_true(json_object_get(res, "rolled_back")));
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,1g.10gb@6#2");
    assert_string_equal(uuid_of(fx, 1), "MIG-keep-0001");
    json_decref(res);
}

/* An instance in neither `from` nor `to` (made by someone else): left alone, nothing done. */
static void test_interrupted_stranger(void **state)
{
    struct fx *fx = *state;
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"mig\":{\"current\":true},\"instances\":["
                "{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0},"
                "{\"gi\":5,\"profile\":\"1g.10gb\",\"start\":5}]}]}");
    char *before = read_file(fx->path);
    json_t *res = change(fx, CHANGE_H100(OPS_H100));
    char *after = read_file(fx->path);
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_non_null(strstr(str(res, "error"), "GPU instance 5 is in neither"));
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(res);
}

/* MIG on for an A30, then two instances; with a process on the GPU the switch is refused first. */
static void test_mode_switch(void **state)
{
    struct fx *fx = *state;
    static const char *const entry =
        "{\"index\":1,\"uuid\":\"GPU-a30-0001\",\"desired\":null,\"change\":{\"id\":\"mch_2\","
        "\"state\":\"applying\",\"from\":{\"mig\":false,\"instances\":[]},"
        "\"to\":{\"mig\":true,\"instances\":[{\"profile\":\"2g.12gb\",\"start\":0},"
        "{\"profile\":\"2g.12gb\",\"start\":2}]}}}";
    fx_open(fx, "{\"gpus\":[" A30_GPU "]}");
    fx_open(fx, "{\"gpus\":[{\"index\":1,\"model\":\"A30-24GB\",\"uuid\":\"GPU-a30-0001\","
                "\"processes\":[{\"pid\":99,\"used_mib\":1}]}]}");
    json_t *res = change(fx, entry);
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_non_null(strstr(str(res, "error"), "process 99 on the GPU, which mig_on needs idle"));
    json_decref(res);
    fx_open(fx, "{\"gpus\":[" A30_GPU "]}");
    res = change(fx, entry);
    assert_true(json_is_true(json_object_get(res, "ok")));
    assert_string_equal(layout(fx, 1), "2g.12gb@0#1,2g.12gb@2#2");
    json_decref(res);
}

/* ---- the desired layout after a reboot ---- */

static void test_reboot_recreates(void **state)
{
    struct fx *fx = *state;
    struct al_rec_gpu e;
    struct al_err err = {0};
    parse(fx, "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"desired\":" TO_H100 ",\"change\":null}",
          &e);
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"mig\":{\"current\":true},\"instances\":["
                "{\"gi\":1,\"profile\":\"3g.40gb\",\"start\":0},"
                "{\"gi\":2,\"profile\":\"3g.40gb\",\"start\":4}]}]}");
    assert_int_equal(al_reconcile_desired(fx->d, &e, NULL, &err), 0); /* all there: nothing */
    assert_int_equal(al_driver_reset(fx->d, AL_DRV_ALL_GPUS, &err), 0);
    assert_string_equal(layout(fx, 0), "");
    assert_int_equal(al_reconcile_desired(fx->d, &e, stderr, &err), 2);
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,3g.40gb@4#2");
    assert_int_equal(al_reconcile_desired(fx->d, &e, NULL, &err), 0); /* converged */
}

/* Something else where a desired instance would go: left alone, never destroyed; the rest
 * recreated. After a reboot into MIG off, an idle GPU gets MIG on first. */
static void test_desired_never_destroys(void **state)
{
    struct fx *fx = *state;
    struct al_rec_gpu e;
    struct al_err err = {0};
    parse(fx, "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"desired\":" TO_H100 ",\"change\":null}",
          &e);
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"mig\":{\"current\":true},\"instances\":["
                "{\"gi\":4,\"profile\":\"1g.10gb\",\"start\":5}]}]}");
    assert_int_equal(al_reconcile_desired(fx->d, &e, NULL, &err), 1);
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,1g.10gb@5#4");
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\"}]}");
    assert_int_equal(al_reconcile_desired(fx->d, &e, NULL, &err), 2);
    observe(fx, 0);
    assert_true(fx->g->mig_current);
    /* a process on the GPU in MIG off: it is not idle, nothing is done */
    fx_open(fx, "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"GPU-h100-0000\","
                "\"processes\":[{\"pid\":5,\"used_mib\":1}]}]}");
    assert_int_equal(al_reconcile_desired(fx->d, &e, NULL, &err), 0);
    observe(fx, 0);
    assert_false(fx->g->mig_current);
}

/* ---- entries refused ---- */

static void refused(struct fx *fx, const char *text, const char *want)
{
    struct al_rec_gpu e;
    struct al_err err = {0};
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    observe(fx, 0);
    assert_int_equal(al_reconcile_parse(j, fx->g->model, &e, &err), AL_E_INVAL);
    if (!strstr(err.msg, want))
        fail_msg("refusal \"%s\" does not name \"%s\"", err.msg, want);
    json_decref(j);
}

static void test_refused(void **state)
{
    struct fx *fx = *state;
    /* the server's operations destroy the instance that stays, and make it again */
    refused(fx,
            CHANGE_H100("[{\"op\":\"destroy_ci\",\"profile_id\":9,\"start\":0},"
                        "{\"op\":\"destroy_gi\",\"profile_id\":9,\"start\":0},"
                        "{\"op\":\"destroy_ci\",\"profile_id\":19,\"start\":6},"
                        "{\"op\":\"destroy_gi\",\"profile_id\":19,\"start\":6},"
                        "{\"op\":\"create_gi\",\"profile_id\":9,\"start\":0},"
                        "{\"op\":\"create_ci\",\"profile_id\":9,\"start\":0},"
                        "{\"op\":\"create_gi\",\"profile_id\":9,\"start\":4},"
                        "{\"op\":\"create_ci\",\"profile_id\":9,\"start\":4}]"),
            "change.operations[0]: destroy_ci of an instance in both from and to");
    refused(fx, CHANGE_H100("[]"), "change.operations: they do not lead to `to`");
    refused(fx,
            CHANGE_H100("[{\"op\":\"create_gi\",\"profile_id\":9,\"start\":4},"
                        "{\"op\":\"create_ci\",\"profile_id\":9,\"start\":4}]"),
            "change.operations[0]: create_gi 3g.40gb@4");
    refused(fx, CHANGE_H100("[{\"op\":\"destroy_gi\",\"profile_id\":19,\"start\":6}]"),
            "change.operations[0]: destroy_gi alone is not one driver call");
    refused(fx,
            CHANGE_H100("[{\"op\":\"destroy_ci\",\"profile_id\":19,\"start\":6},"
                        "{\"op\":\"destroy_gi\",\"profile_id\":9,\"start\":0}]"),
            "change.operations[0]: destroy_ci must be followed by destroy_gi of the same");
    refused(fx, CHANGE_H100("[{\"op\":\"reset\"}]"), "change.operations[0].op");
    refused(fx,
            "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"desired\":{\"mig\":true,\"instances\":["
            "{\"profile_id\":9,\"start\":2}]}}",
            "desired.instances: 3g.40gb@2");
    refused(fx,
            "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"desired\":{\"mig\":true,\"instances\":["
            "{\"profile_id\":77,\"start\":0}]}}",
            "desired.instances[0]: no such profile");
    refused(fx, "{\"index\":64,\"uuid\":\"GPU-h100-0000\"}", "gpu.index");
    refused(fx, "{\"index\":0,\"uuid\":\"GPU h100\"}", "gpu.uuid");
    refused(fx,
            "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"change\":{\"id\":\"mch_1\","
            "\"state\":\"planned\",\"from\":" FROM_H100 ",\"to\":" TO_H100 "}}",
            "change.state");
    refused(fx,
            "{\"index\":0,\"uuid\":\"GPU-h100-0000\",\"change\":{\"id\":\"\","
            "\"state\":\"approved\",\"from\":" FROM_H100 ",\"to\":" TO_H100 "}}",
            "change.id");
}

/* The server's GPU and this host's differ at that index: nothing done. */
static void test_wrong_gpu(void **state)
{
    struct fx *fx = *state;
    static struct al_rec_gpu e;
    struct al_err err = {0};
    json_t *res = NULL;
    parse(fx, CHANGE_H100(OPS_H100), &e);
    memcpy(e.uuid, "GPU-other", sizeof "GPU-other");
    assert_int_equal(al_reconcile_change(fx->d, &e, &res, &err), 0);
    assert_true(json_is_false(json_object_get(res, "ok")));
    assert_string_equal(layout(fx, 0), "3g.40gb@0#1,1g.10gb@6#2");
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_planned_here, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_create_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_to_not_applied_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_process_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupted_stranger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mode_switch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reboot_recreates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired_never_destroys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_gpu, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
