/* test_node_report.c — unit tests of server/node_report: a node's report checked (each refusal
 * names its field), the GPU states the API shows, and the changes between two versions of a
 * node that become events. */
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
        cmocka_unit_test(test_parse_normalizes), cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_gpu_status),       cmocka_unit_test(test_changes),
        cmocka_unit_test(test_holders_into),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
