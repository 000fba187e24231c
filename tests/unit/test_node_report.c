/* test_node_report.c — unit tests of server/node_report: a node's report checked (each refusal
 * names its field), with each GPU's MIG members (node_mig.c: a full report round-trips into the
 * GPU's observed state; NVML's profiles against the catalog's), the GPU states the API shows,
 * and the changes between two versions of a node that become events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/node_report.h"

/* Parse `body` (JSON text) as node `name`'s report: the code, and the refused field in `field`
 * (cap 72) or the report in *ret (NULL to drop it). */
static int parse(const char *name, const char *body, char *field, json_t **ret)
{
    json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, NULL), *r = NULL;
    struct al_node_report_err err = {{0}, {0}};
    int rc = al_node_report_parse(name, j, &r, &err);
    if (rc != 0) {
        assert_null(r);
        assert_true(err.field[0] != '\0' && err.msg[0] != '\0');
    }
    if (field)
        memcpy(field, err.field, sizeof err.field);
    if (ret)
        *ret = r;
    else
        json_decref(r);
    json_decref(j);
    return rc;
}

static void refused(const char *name, const char *body, const char *field)
{
    char got[72];
    int rc = parse(name, body, got, NULL);
    if (rc != AL_E_INVAL)
        fail_msg("accepted: %s", body);
    assert_string_equal(got, field);
}

static void test_parse_normalizes(void **state)
{
    (void)state;
    json_t *r = NULL;
    assert_int_equal(parse("n1",
                           "{\"zone\":\"eu-1\",\"labels\":{\"rack\":\"r1\"},\"gpus\":["
                           "{\"index\":1,\"uuid\":\"GPU-a\",\"model\":\"h100\"},"
                           "{\"index\":0,\"uuid\":\"GPU-b\",\"model\":\"NVIDIA A30\","
                           "\"pool\":\"general\",\"healthy\":false,\"zz\":null}]}",
                           NULL, &r),
                     AL_E_INVAL); /* zz: unknown, even null */
    assert_int_equal(parse("n1",
                           "{\"zone\":\"eu-1\",\"labels\":{\"rack\":\"r1\"},\"gpus\":["
                           "{\"index\":1,\"uuid\":\"GPU-a\",\"model\":\"h100\"},"
                           "{\"index\":0,\"uuid\":\"GPU-b\",\"model\":\"NVIDIA A30\","
                           "\"pool\":\"general\",\"healthy\":false}]}",
                           NULL, &r),
                     0);
    char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"gpus\":[{\"healthy\":true,\"index\":1,\"model\":\"H100-80GB\","
                              "\"pool\":\"dedicated\",\"uuid\":\"GPU-a\"},{\"healthy\":false,"
                              "\"index\":0,\"model\":\"A30-24GB\",\"pool\":\"general\",\"uuid\":"
                              "\"GPU-b\"}],\"labels\":{\"rack\":\"r1\"},\"name\":\"n1\","
                              "\"zone\":\"eu-1\"}");
    free(text);
    json_decref(r);
    assert_int_equal(parse("n1", "{\"gpus\":[],\"zone\":null,\"labels\":null}", NULL, &r), 0);
    assert_null(json_object_get(r, "zone"));
    assert_int_equal(json_object_size(json_object_get(r, "labels")), 0);
    json_decref(r);
}

static void test_refusals_name_the_field(void **state)
{
    (void)state;
    refused("bad name", "{\"gpus\":[]}", "name");
    refused("n", "[1]", "body");
    refused("n", "{\"gpus\":[],\"colour\":1}", "colour");
    refused("n", "{\"gpus\":[],\"\":1}", "body");
    refused("n", "{\"gpus\":[],\"zone\":\"a b\"}", "zone");
    refused("n", "{\"gpus\":[],\"zone\":\"0123456789012345678901234567890123\"}", "zone");
    refused("n", "{\"gpus\":[],\"labels\":{\"k\":1}}", "labels");
    refused("n", "{\"gpus\":[],\"labels\":[]}", "labels");
    refused("n", "{}", "gpus");
    refused("n", "{\"gpus\":[1]}", "gpus[0]");
    refused("n", "{\"gpus\":[{\"index\":64,\"uuid\":\"u\",\"model\":\"T4\"}]}", "gpus[0].index");
    refused("n", "{\"gpus\":[{\"uuid\":\"u\",\"model\":\"T4\"}]}", "gpus[0].index");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"a b\",\"model\":\"T4\"}]}", "gpus[0].uuid");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"\",\"model\":\"T4\"}]}", "gpus[0].uuid");
    refused("n",
            "{\"gpus\":[{\"index\":0,\"uuid\":\"GPU-0123456789-0123456789-0123456789-01234567890\","
            "\"model\":\"T4\"}]}",
            "gpus[0].uuid");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\\u00e9\",\"model\":\"T4\"}]}",
            "gpus[0].uuid");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"Z9\"}]}", "gpus.model");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":7}]}", "gpus[0].model");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"T4\",\"pool\":\"spot\"}]}",
            "gpus.pool");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"T4\",\"healthy\":1}]}",
            "gpus[0].healthy");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"T4\",\"x\":1}]}", "gpus[0].x");
    refused("n",
            "{\"gpus\":[{\"index\":3,\"uuid\":\"u\",\"model\":\"T4\"},"
            "{\"index\":3,\"uuid\":\"v\",\"model\":\"T4\"}]}",
            "gpus.index");
    refused(NULL, "{\"gpus\":[]}", "name");
    struct al_node_report_err err;
    json_t *r = NULL;
    assert_int_equal(al_node_report_parse("n", NULL, &r, &err), AL_E_INVAL);
    assert_string_equal(err.field, "body");
}

/* ---- a GPU's MIG members ---- */

/* A report of one H100 with MIG on: the opening of its GPU object, members follow. */
#define MIG_GPU                                                                                    \
    "{\"gpus\":[{\"index\":0,\"uuid\":\"GPU-a\",\"model\":\"H100-80GB\",\"mig\":{\"capable\":"     \
    "true,\"current\":true,\"pending\":true}"
#define MIG_END "}]}"
#define INST(gi, id, start)                                                                        \
    "{\"gi\":" #gi ",\"ci\":0,\"profile_id\":" #id ",\"start\":" #start ",\"uuid\":\"\"}"

/* NVML's profiles as the catalog has them for `m`: [{id, name, slices, instances_max,
 * memory_mib, placements}]. */
static json_t *catalog_profiles(const struct al_gpu_model *m)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        json_t *pl = json_array();
        for (unsigned k = 0; k < p->nstarts; k++)
            json_array_append_new(
                pl, json_pack("{s:i,s:i}", "start", p->starts[k], "size", (int)p->size));
        json_array_append_new(arr, json_pack("{s:i,s:s,s:i,s:i,s:i,s:o}", "id", (int)p->nvml_id,
                                             "name", p->name, "slices", (int)p->compute_slices,
                                             "instances_max", (int)p->max_count, "memory_mib",
                                             (int)p->mem_mib, "placements", pl));
    }
    return arr;
}

static void test_mig_report_round_trips(void **state)
{
    (void)state;
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    json_t *body = json_loads(
        "{\"gpus\":[{\"index\":0,\"uuid\":\"GPU-a\",\"model\":\"H100-80GB\",\"name\":\"NVIDIA "
        "H100 80GB HBM3\",\"memory_mib\":81559,\"healthy\":true,\"mig\":{\"capable\":true,"
        "\"current\":true,\"pending\":true},\"instances\":[{\"gi\":1,\"ci\":0,\"profile_id\":9,"
        "\"profile\":\"MIG 3g.40gb\",\"start\":0,\"size\":4,\"uuid\":\"MIG-1\"},{\"gi\":7,\"ci\":"
        "null,\"profile_id\":19,\"profile\":\"1g.10gb\",\"start\":6,\"uuid\":\"\"}],\"processes\":"
        "[{\"pid\":4242,\"used_memory_mib\":512,\"gi\":1,\"ci\":0},{\"pid\":9,\"used_memory_mib\":"
        "1,\"gi\":1,\"ci\":null}],\"processes_total\":3},{\"index\":1,\"uuid\":\"GPU-b\","
        "\"model\":\"H100-80GB\",\"processes\":[{\"pid\":5,\"used_memory_mib\":1}]}]}",
        0, NULL);
    json_t *r = NULL;
    struct al_node_report_err err = {{0}, {0}};
    assert_non_null(m);
    json_object_set_new(json_array_get(json_object_get(body, "gpus"), 0), "profiles",
                        catalog_profiles(m));
    assert_int_equal(al_node_report_parse("n1", body, &r, &err), 0);
    json_t *g0 = json_array_get(json_object_get(r, "gpus"), 0);
    char *text = json_dumps(json_object_get(g0, "observed"), JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(
        text,
        "{\"catalog_differences\":[],\"instances\":[{\"ci\":0,\"gi\":1,\"profile\":\"3g.40gb\","
        "\"profile_id\":9,\"size\":4,\"start\":0,\"uuid\":\"MIG-1\"},{\"ci\":null,\"gi\":7,"
        "\"profile\":\"1g.10gb\",\"profile_id\":19,\"size\":1,\"start\":6,\"uuid\":\"\"}],"
        "\"memory_mib\":81559,\"mig\":{\"capable\":true,\"current\":true,\"pending\":true},"
        "\"name\":\"NVIDIA H100 80GB HBM3\",\"processes\":[{\"ci\":0,\"gi\":1,\"pid\":4242,"
        "\"used_memory_mib\":512},{\"ci\":null,\"gi\":1,\"pid\":9,\"used_memory_mib\":1}],"
        "\"processes_total\":3,\"unmatched_instances\":[]}");
    free(text);
    /* without "mig": the members are checked, and there is no observed state */
    assert_null(json_object_get(json_array_get(json_object_get(r, "gpus"), 1), "observed"));
    json_decref(r);
    json_decref(body);
    /* no processes listed: the total is 0 */
    assert_int_equal(parse("n1", MIG_GPU MIG_END, NULL, &r), 0);
    text = json_dumps(json_object_get(json_array_get(json_object_get(r, "gpus"), 0), "observed"),
                      JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"catalog_differences\":[],\"instances\":[],\"mig\":{\"capable\":"
                              "true,\"current\":true,\"pending\":true},\"processes\":[],"
                              "\"processes_total\":0,\"unmatched_instances\":[]}");
    free(text);
    json_decref(r);
}

static void test_mig_refusals_name_the_field(void **state)
{
    (void)state;
    refused("n", MIG_GPU ",\"name\":\"a\\u0001\"" MIG_END, "gpus[0].name");
    refused("n", MIG_GPU ",\"memory_mib\":-1" MIG_END, "gpus[0].memory_mib");
    refused("n", "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"H100-80GB\",\"mig\":[]}]}",
            "gpus[0].mig");
    refused("n",
            "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"H100-80GB\",\"mig\":{\"capable\":"
            "true,\"current\":true}}]}",
            "gpus[0].mig.pending");
    refused("n",
            "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"H100-80GB\",\"mig\":{\"capable\":"
            "false,\"current\":true,\"pending\":false}}]}",
            "gpus[0].mig.current");
    refused("n", MIG_GPU ",\"mig2\":1" MIG_END, "gpus[0].mig2");
    refused("n", MIG_GPU ",\"profiles\":{}" MIG_END, "gpus[0].profiles");
    refused("n", MIG_GPU ",\"profiles\":[{\"id\":1}]" MIG_END, "gpus[0].profiles[0].slices");
    refused("n",
            MIG_GPU ",\"profiles\":[{\"id\":1,\"slices\":1,\"memory_mib\":1,\"placements\":[]},"
                    "{\"id\":1,\"slices\":1,\"memory_mib\":1,\"placements\":[]}]" MIG_END,
            "gpus[0].profiles[1].id");
    refused("n",
            MIG_GPU ",\"profiles\":[{\"id\":1,\"slices\":1,\"memory_mib\":1,\"placements\":"
                    "[{\"start\":0,\"size\":0}]}]" MIG_END,
            "gpus[0].profiles[0].placements[0].size");
    refused("n",
            MIG_GPU ",\"profiles\":[{\"id\":1,\"slices\":1,\"memory_mib\":1,\"placements\":"
                    "[{\"start\":0,\"size\":1,\"end\":1}]}]" MIG_END,
            "gpus[0].profiles[0].placements[0].end");
    refused("n", MIG_GPU ",\"instances\":[" INST(1, 9, 0) "," INST(2, 19, 3) "]" MIG_END,
            "gpus[0].instances[1].start");
    refused("n", MIG_GPU ",\"instances\":[" INST(1, 9, 0) "," INST(1, 19, 4) "]" MIG_END,
            "gpus[0].instances[1].gi");
    refused("n", MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":9,\"start\":0}]" MIG_END,
            "gpus[0].instances[0].uuid");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":9,\"start\":0,\"uuid\":\"M\"},"
                    "{\"gi\":2,\"profile_id\":19,\"start\":4,\"uuid\":\"M\"}]" MIG_END,
            "gpus[0].instances[1].uuid");
    refused("n", MIG_GPU ",\"instances\":[{\"gi\":1,\"ci\":-1,\"profile_id\":9}]" MIG_END,
            "gpus[0].instances[0].ci");
    refused("n",
            "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"H100-80GB\",\"instances\":[" INST(
                1, 9, 0) "]}]}",
            "gpus[0].instances");
    refused(
        "n",
        MIG_GPU
        ",\"instances\":[" INST(1, 19, 0) "," INST(2, 19, 1) "," INST(3, 19, 2) "," INST(4, 19, 3) "," INST(5, 19, 4) "," INST(6, 19, 5) "," INST(
            7, 19,
            6) "," INST(8, 19,
                        0) "," INST(9, 19,
                                    0) "," INST(10, 19,
                                                0) "," INST(11, 19,
                                                            0) "," INST(12, 19,
                                                                        0) "," INST(13, 19,
                                                                                    0) "," INST(14,
                                                                                                19,
                                                                                                0) "," INST(15,
                                                                                                            19,
                                                                                                            0) "," INST(16,
                                                                                                                        19,
                                                                                                                        0) "," INST(17,
                                                                                                                                    19,
                                                                                                                                    0) "]" MIG_END,
        "gpus[0].instances");
    refused("n", MIG_GPU ",\"processes\":[{\"pid\":0,\"used_memory_mib\":1}]" MIG_END,
            "gpus[0].processes[0].pid");
    refused("n", MIG_GPU ",\"processes\":[{\"pid\":1,\"used_memory_mib\":1}]" MIG_END,
            "gpus[0].processes[0].gi");
    refused("n",
            "{\"gpus\":[{\"index\":0,\"uuid\":\"u\",\"model\":\"T4\",\"processes\":[{\"pid\":1,"
            "\"used_memory_mib\":1,\"gi\":0}]}]}",
            "gpus[0].processes[0].gi");
    refused("n", MIG_GPU ",\"processes\":[{\"pid\":1,\"used_memory_mib\":1,\"tty\":1}]" MIG_END,
            "gpus[0].processes[0].tty");
    refused("n", MIG_GPU ",\"processes_total\":-1" MIG_END, "gpus[0].processes_total");
    refused("n", MIG_GPU ",\"processes_total\":1.5" MIG_END, "gpus[0].processes_total");
}

/* The observed state of the one GPU of report `body`, which must be accepted, as sorted
 * compact JSON of its members `keys` (NULL-terminated): "k1=...|k2=...". */
static void observed_is(const char *body, const char *const *keys, const char *want)
{
    json_t *r = NULL;
    char got[4096] = "";
    size_t n = 0;
    if (parse("n", body, NULL, &r) != 0)
        fail_msg("refused: %s", body);
    json_t *obs = json_object_get(json_array_get(json_object_get(r, "gpus"), 0), "observed");
    for (const char *const *k = keys; *k; k++) {
        char *t =
            json_dumps(json_object_get(obs, *k), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s=%s", k == keys ? "" : "|", *k, t);
        free(t);
    }
    assert_string_equal(got, want);
    json_decref(r);
}

/* An instance the catalog does not know (its profile id, its name, its placement) is accepted
 * apart, as unmatched, and named in catalog_differences; processes on it are kept; a process
 * on another compute instance of its GPU instance is kept with its ci. Malformed instances are
 * still refused, unmatched or not. */
static void test_unmatched_instances(void **state)
{
    (void)state;
    static const char *const ud[] = {"instances", "unmatched_instances", "catalog_differences",
                                     NULL};
    static const char *const up[] = {"instances", "unmatched_instances", "processes", NULL};
    const char *tail = "; no MIG change is planned for this GPU while it is there\"]";
    char want[1024];
    snprintf(want, sizeof want,
             "instances=[]|unmatched_instances=[{\"ci\":0,\"gi\":1,\"profile\":null,\"profile_id\":"
             "77,\"size\":null,\"start\":0,\"uuid\":\"\"}]|catalog_differences=[\"instance of "
             "profile 77 at start 0: the catalog has no profile of that NVML id for H100-80GB%s",
             tail);
    observed_is(MIG_GPU ",\"instances\":[" INST(1, 77, 0) "]" MIG_END, ud, want);
    snprintf(want, sizeof want,
             "instances=[]|unmatched_instances=[{\"ci\":0,\"gi\":1,\"profile\":null,\"profile_id\":"
             "9,\"size\":4,\"start\":2,\"uuid\":\"\"}]|catalog_differences=[\"instance of profile "
             "9 at start 2: the catalog does not allow 3g.40gb at start 2 with 4 units%s",
             tail);
    observed_is(MIG_GPU ",\"instances\":[" INST(1, 9, 2) "]" MIG_END, ud, want);
    snprintf(want, sizeof want,
             "instances=[]|unmatched_instances=[{\"ci\":null,\"gi\":1,\"profile\":\"MIG 2g.20gb\","
             "\"profile_id\":9,\"size\":4,\"start\":0,\"uuid\":\"\"}]|catalog_differences=["
             "\"instance of profile 9 (MIG 2g.20gb) at start 0: the catalog's profile 9 is "
             "3g.40gb%s",
             tail);
    observed_is(MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":9,\"profile\":\"MIG 2g.20gb\","
                        "\"start\":0,\"uuid\":\"\"}]" MIG_END,
                ud, want);
    /* beside a catalog instance, with a process on each; one on compute instance 2 of gi 1 */
    observed_is(
        MIG_GPU ",\"instances\":[" INST(
            1, 9,
            0) ",{\"gi\":2,\"profile_id\":77,\"start\":4,"
               "\"size\":1,\"uuid\":\"MIG-x\"}],\"processes\":[{\"pid\":7,\"used_memory_mib\":1,"
               "\"gi\":2,\"ci\":0},{\"pid\":8,\"used_memory_mib\":2,\"gi\":1,\"ci\":2}]" MIG_END,
        up,
        "instances=[{\"ci\":0,\"gi\":1,\"profile\":\"3g.40gb\",\"profile_id\":9,\"size\":4,"
        "\"start\":0,\"uuid\":\"\"}]|unmatched_instances=[{\"ci\":null,\"gi\":2,\"profile\":null,"
        "\"profile_id\":77,\"size\":1,\"start\":4,\"uuid\":\"MIG-x\"}]|processes=[{\"ci\":0,"
        "\"gi\":2,\"pid\":7,\"used_memory_mib\":1},{\"ci\":2,\"gi\":1,\"pid\":8,"
        "\"used_memory_mib\":2}]");
    /* an unknown size overlaps nothing */
    observed_is(MIG_GPU ",\"instances\":[" INST(1, 77, 0) "," INST(2, 19, 0) "]" MIG_END, up,
                "instances=[{\"ci\":0,\"gi\":2,\"profile\":\"1g.10gb\",\"profile_id\":19,\"size\":"
                "1,\"start\":0,\"uuid\":\"\"}]|unmatched_instances=[{\"ci\":0,\"gi\":1,\"profile\":"
                "null,\"profile_id\":77,\"size\":null,\"start\":0,\"uuid\":\"\"}]|processes=[]");
    /* each at a placement the catalog allows, together beyond its rules (one 1g.10gb+me):
     * kept, and said once among the differences */
    json_t *r = NULL;
    assert_int_equal(parse("n",
                           MIG_GPU ",\"instances\":[" INST(1, 20, 0) "," INST(2, 20, 1) "]" MIG_END,
                           NULL, &r),
                     0);
    json_t *obs = json_object_get(json_array_get(json_object_get(r, "gpus"), 0), "observed");
    assert_int_equal(json_array_size(json_object_get(obs, "instances")), 2);
    assert_int_equal(json_array_size(json_object_get(obs, "catalog_differences")), 1);
    assert_int_equal(
        strncmp(json_string_value(json_array_get(json_object_get(obs, "catalog_differences"), 0)),
                "the instances break the catalog's layout rules for H100-80GB (", 62),
        0);
    json_decref(r);
    /* still refused: malformed, overlapping, repeated */
    refused("n", MIG_GPU ",\"instances\":[" INST(1, -1, 0) "]" MIG_END,
            "gpus[0].instances[0].profile_id");
    refused("n", MIG_GPU ",\"instances\":[" INST(1, 1024, 0) "]" MIG_END,
            "gpus[0].instances[0].profile_id");
    refused("n",
            MIG_GPU ",\"instances\":[" INST(1, 9, 0) ",{\"gi\":2,\"profile_id\":77,\"start\":3,"
                                                     "\"size\":2,\"uuid\":\"\"}]" MIG_END,
            "gpus[0].instances[1].start");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":2,\"profile_id\":77,\"start\":3,\"size\":2,\"uuid\":"
                    "\"\"}," INST(1, 9, 0) "]" MIG_END,
            "gpus[0].instances[1].start");
    refused("n", MIG_GPU ",\"instances\":[" INST(1, 77, 0) "," INST(1, 77, 4) "]" MIG_END,
            "gpus[0].instances[1].gi");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":77,\"start\":0,\"uuid\":\"M\"},"
                    "{\"gi\":2,\"profile_id\":78,\"start\":4,\"uuid\":\"M\"}]" MIG_END,
            "gpus[0].instances[1].uuid");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":77,\"start\":0,\"size\":0,"
                    "\"uuid\":\"\"}]" MIG_END,
            "gpus[0].instances[0].size");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":77,\"start\":60,\"size\":8,"
                    "\"uuid\":\"\"}]" MIG_END,
            "gpus[0].instances[0].start");
    refused("n",
            MIG_GPU
            ",\"instances\":[{\"gi\":1,\"profile_id\":77,\"start\":0,\"uuid\":\"M x\"}]" MIG_END,
            "gpus[0].instances[0].uuid");
    refused("n",
            MIG_GPU ",\"instances\":[{\"gi\":1,\"profile_id\":77,\"profile\":7,\"start\":0,"
                    "\"uuid\":\"\"}]" MIG_END,
            "gpus[0].instances[0].profile");
    refused("n",
            MIG_GPU ",\"instances\":[" INST(1, 77, 0) "],\"processes\":[{\"pid\":1,"
                                                      "\"used_memory_mib\":1,\"gi\":3}]" MIG_END,
            "gpus[0].processes[0].gi");
    refused("n",
            MIG_GPU ",\"instances\":[" INST(
                1, 77, 0) "],\"processes\":[{\"pid\":1,"
                          "\"used_memory_mib\":1,\"gi\":1,\"ci\":8000}]" MIG_END,
            "gpus[0].processes[0].ci");
}

/* The differences as one string, "|" between sentences. */
static void differences(const char *model, bool capable, json_t *profiles, const char *want)
{
    json_t *out = json_array(), *d;
    char got[2048] = "";
    size_t i, n = 0;
    assert_int_equal(al_node_mig_differences(al_catalog_find(model), capable, profiles, out), 0);
    json_array_foreach(out, i, d)
    {
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%s", i ? "|" : "", json_string_value(d));
    }
    assert_string_equal(got, want);
    json_decref(out);
}

/* Profile `id` of NVML's list `ps`. */
static json_t *nvml_profile(json_t *ps, int id)
{
    size_t i;
    json_t *p;
    json_array_foreach(ps, i, p)
    {
        if (json_integer_value(json_object_get(p, "id")) == id)
            return p;
    }
    fail_msg("no profile %d", id);
    return NULL;
}

static void test_catalog_differences(void **state)
{
    (void)state;
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    json_t *ps = catalog_profiles(m), *none = json_array(), *p19, *p9;
    char want[1024];
    differences("H100-80GB", true, ps, "");
    differences("H100-80GB", true, NULL, "");
    differences("H100-80GB", true, none, ""); /* NVML lists none: nothing to compare */
    json_decref(none);
    differences("L40S-48GB", true, NULL,
                "NVML reports the GPU MIG capable and the catalog lists no MIG for L40S-48GB");
    differences("H100-80GB", false, NULL,
                "NVML reports the GPU not MIG capable and the catalog lists MIG for H100-80GB");
    /* memory: within 512 MiB (or 2%) it is the drift between drivers, beyond it a difference */
    p19 = nvml_profile(ps, 19);
    json_int_t mib19 = json_integer_value(json_object_get(p19, "memory_mib"));
    json_object_set_new(p19, "memory_mib", json_integer(mib19 + 512));
    differences("H100-80GB", true, ps, "");
    json_object_set_new(p19, "memory_mib", json_integer(mib19 - 513));
    snprintf(want, sizeof want,
             "profile 19 (1g.10gb): NVML lists %lld MiB and the catalog %lld MiB",
             (long long)(mib19 - 513), (long long)mib19);
    differences("H100-80GB", true, ps, want);
    json_object_set_new(p19, "memory_mib", json_integer(mib19));
    /* 1g.10gb at even starts only; 3g.40gb with 4 slices, 2 GiB less, a placement of 3 units;
     * 7g.80gb (id 0) not listed; a profile 99 the catalog lacks */
    json_t *pl = json_object_get(p19, "placements"), *keep = json_array();
    for (size_t k = 0; k < json_array_size(pl); k += 2)
        json_array_append(keep, json_array_get(pl, k));
    json_object_set_new(p19, "placements", keep);
    p9 = nvml_profile(ps, 9);
    json_int_t mib9 = json_integer_value(json_object_get(p9, "memory_mib"));
    json_object_set_new(p9, "slices", json_integer(4));
    json_object_set_new(p9, "memory_mib", json_integer(mib9 - 2048));
    json_object_set_new(json_array_get(json_object_get(p9, "placements"), 0), "size",
                        json_integer(3));
    for (size_t k = 0; k < json_array_size(ps); k++)
        if (json_integer_value(json_object_get(json_array_get(ps, k), "id")) == 0)
            json_array_remove(ps, k);
    json_array_append_new(ps, json_pack("{s:i,s:s,s:i,s:i,s:[]}", "id", 99, "name", "MIG 9g",
                                        "slices", 9, "memory_mib", 1, "placements"));
    snprintf(want, sizeof want,
             "profile 19 (1g.10gb): NVML lists placements 0,2,4,6 and the catalog 0-6|"
             "profile 9 (3g.40gb): NVML lists 4 compute slices and the catalog 3|"
             "profile 9 (3g.40gb): NVML lists %lld MiB and the catalog %lld MiB|"
             "profile 9 (3g.40gb): NVML lists placements of 3 units and the catalog of 4|"
             "profile 99 (MIG 9g): NVML lists it and the catalog does not|"
             "profile 0 (7g.80gb): the catalog lists it and NVML does not",
             (long long)(mib9 - 2048), (long long)mib9);
    differences("H100-80GB", true, ps, want);
    /* as a report carries them: in the GPU's observed state */
    json_t *body = json_pack("{s:[{s:i,s:s,s:s,s:{s:b,s:b,s:b},s:O}]}", "gpus", "index", 0, "uuid",
                             "GPU-a", "model", "H100-80GB", "mig", "capable", 1, "current", 0,
                             "pending", 0, "profiles", ps),
           *r = NULL;
    struct al_node_report_err err = {{0}, {0}};
    assert_int_equal(al_node_report_parse("n1", body, &r, &err), 0);
    json_t *obs = json_object_get(json_array_get(json_object_get(r, "gpus"), 0), "observed");
    assert_int_equal(json_array_size(json_object_get(obs, "catalog_differences")), 6);
    json_decref(r);
    json_decref(body);
    json_decref(ps);
}

/* A stored GPU. */
static json_t *gpu(const char *id, const char *model, const char *reported, int healthy,
                   int present)
{
    return json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:b,s:b,s:b}", "id", id, "index", 0, "uuid", id,
                     "model", model, "reported_model", reported, "pool", "dedicated", "healthy",
                     healthy, "drained", 0, "present", present);
}

static void test_gpu_status(void **state)
{
    (void)state;
    json_t *n = json_pack("{s:s,s:b}", "name", "n", "online", 1);
    json_t *g = gpu("g", "A100-80GB", "A100-80GB", 1, 1);
    assert_string_equal(al_node_gpu_status(n, g), "available");
    json_object_set_new(g, "drained", json_true());
    assert_string_equal(al_node_gpu_status(n, g), "drained");
    json_object_set_new(g, "healthy", json_false());
    assert_string_equal(al_node_gpu_status(n, g), "unhealthy");
    json_object_set_new(g, "reported_model", json_string("H100-80GB"));
    assert_string_equal(al_node_gpu_status(n, g), "model_mismatch");
    json_object_set_new(g, "present", json_false());
    assert_string_equal(al_node_gpu_status(n, g), "missing");
    json_object_set_new(n, "online", json_false());
    assert_string_equal(al_node_gpu_status(n, g), "offline");
    json_decref(g);
    json_decref(n);
}

struct seen {
    char text[1024];
};

static int record(void *arg, enum al_event_kind kind, const char *object, json_t *data)
{
    struct seen *s = arg;
    size_t n = strlen(s->text);
    const char *applied = "";
    if (json_object_get(data, "applied"))
        applied = json_is_true(json_object_get(data, "applied")) ? "+" : "-";
    snprintf(s->text + n, sizeof s->text - n, "%s %s%s;", al_event_kind_name(kind), object,
             applied);
    json_decref(data);
    return 0;
}

static void test_changes(void **state)
{
    (void)state;
    struct seen s = {{0}};
    json_t *old = json_pack(
        "{s:s,s:b,s:i,s:[o,o,o,o,o,o]}", "name", "n", "online", 0, "last_seen", 5, "gpus",
        gpu("a", "A100-80GB", "A100-80GB", 1, 1), gpu("b", "A100-80GB", "A100-80GB", 1, 1),
        gpu("c", "A100-80GB", "A100-80GB", 1, 0), gpu("d", "A100-80GB", "A100-80GB", 1, 1),
        gpu("e", "A100-80GB", "A100-80GB", 1, 1), gpu("f", "A100-80GB", "H100-80GB", 1, 1));
    json_t *now = json_pack("{s:s,s:b,s:[o,o,o,o,o]}", "name", "n", "online", 1, "gpus",
                            gpu("a", "A100-80GB", "A100-80GB", 0, 1),  /* unhealthy */
                            gpu("b", "A100-80GB", "A100-80GB", 1, 0),  /* removed, kept */
                            gpu("c", "A100-80GB", "A100-80GB", 1, 1),  /* returned */
                            gpu("e", "A100-80GB", "H100-80GB", 1, 1),  /* held: not applied */
                            gpu("f", "H100-80GB", "H100-80GB", 1, 1)); /* applied at last */
    /* d: gone from the store */
    assert_int_equal(al_node_report_changes(old, now, record, &s), 0);
    assert_string_equal(s.text, "node.online n;gpu.unhealthy a;gpu.removed b;gpu.returned c;"
                                "gpu.removed d;gpu.model_changed e-;gpu.model_changed f+;");
    /* a new node: nothing (node.registered is the route's); the same node: nothing */
    s.text[0] = '\0';
    assert_int_equal(al_node_report_changes(NULL, now, record, &s), 0);
    assert_int_equal(al_node_report_changes(now, now, record, &s), 0);
    assert_string_equal(s.text, "");
    json_decref(old);
    json_decref(now);
}

/* Stored GPU `id` whose observed state has the catalog differences `diffs` (NULL: no
 * observed state). */
static json_t *observed_gpu(const char *id, const char *diffs, int present)
{
    json_t *g = gpu(id, "H100-80GB", "H100-80GB", 1, present);
    if (diffs)
        json_object_set_new(g, "observed",
                            json_pack("{s:o}", "catalog_differences", json_loads(diffs, 0, NULL)));
    return g;
}

static void test_catalog_mismatch_changes(void **state)
{
    (void)state;
    struct seen s = {{0}};
    json_t *old = json_pack("{s:s,s:b,s:[o,o,o,o,o]}", "name", "n", "online", 1, "gpus",
                            observed_gpu("a", "[]", 1), observed_gpu("b", "[\"x\"]", 1),
                            observed_gpu("c", "[\"x\"]", 1), observed_gpu("d", NULL, 1),
                            observed_gpu("f", "[]", 1));
    json_t *now = json_pack("{s:s,s:b,s:[o,o,o,o,o,o]}", "name", "n", "online", 1, "gpus",
                            observed_gpu("a", "[\"y\"]", 1),  /* found */
                            observed_gpu("b", "[\"x\"]", 1),  /* the same: said before */
                            observed_gpu("c", "[\"z\"]", 1),  /* other differences */
                            observed_gpu("d", "[\"w\"]", 1),  /* first MIG state */
                            observed_gpu("e", "[\"v\"]", 1),  /* a new GPU */
                            observed_gpu("f", "[\"u\"]", 0)); /* not reported: its old state */
    assert_int_equal(al_node_report_changes(old, now, record, &s), 0);
    assert_string_equal(s.text, "gpu.removed f;gpu.catalog_mismatch a;gpu.catalog_mismatch c;"
                                "gpu.catalog_mismatch d;gpu.catalog_mismatch e;");
    /* a new node: its GPUs' differences */
    s.text[0] = '\0';
    assert_int_equal(al_node_report_changes(NULL, now, record, &s), 0);
    assert_string_equal(s.text, "gpu.catalog_mismatch a;gpu.catalog_mismatch b;"
                                "gpu.catalog_mismatch c;gpu.catalog_mismatch d;"
                                "gpu.catalog_mismatch e;");
    s.text[0] = '\0';
    assert_int_equal(al_node_report_changes(now, old, record, &s), 0);
    /* back: differences gone (a, d: nothing) or other again (c) */
    assert_string_equal(s.text, "gpu.removed e;gpu.returned f;gpu.catalog_mismatch c;");
    json_decref(old);
    json_decref(now);
}

/* The event's data: {node, uuid, differences}. */
static int keep_data(void *arg, enum al_event_kind kind, const char *object, json_t *data)
{
    (void)object;
    assert_int_equal(kind, AL_EVENT_GPU_CATALOG_MISMATCH);
    *(json_t **)arg = data;
    return 0;
}

static void test_catalog_mismatch_data(void **state)
{
    (void)state;
    json_t *data = NULL;
    json_t *now = json_pack("{s:s,s:[o]}", "name", "n", "gpus", observed_gpu("a", "[\"y\"]", 1));
    assert_int_equal(al_node_report_changes(NULL, now, keep_data, &data), 0);
    char *text = json_dumps(data, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"differences\":[\"y\"],\"node\":\"n\",\"uuid\":\"a\"}");
    free(text);
    json_decref(data);
    json_decref(now);
}

static void test_holders_into(void **state)
{
    (void)state;
    json_t *d = json_object(), *owners = json_pack("[s,s,s]", "qte_1", "rsv_1", "rsv_2");
    assert_int_equal(al_node_holders_into(d, owners), 0);
    char *text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"quotes\":[\"qte_1\"],\"reservations\":[\"rsv_1\",\"rsv_2\"]}");
    free(text);
    json_decref(owners);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_normalizes),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_gpu_status),
        cmocka_unit_test(test_changes),
        cmocka_unit_test(test_holders_into),
        cmocka_unit_test(test_mig_report_round_trips),
        cmocka_unit_test(test_mig_refusals_name_the_field),
        cmocka_unit_test(test_unmatched_instances),
        cmocka_unit_test(test_catalog_differences),
        cmocka_unit_test(test_catalog_mismatch_changes),
        cmocka_unit_test(test_catalog_mismatch_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
