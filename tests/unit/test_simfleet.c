/* test_simfleet.c — the sim agent's fleet file: expansion, deterministic UUIDs, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/simfleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct al_simfleet *parse_ok(const char *text)
{
    struct al_simfleet *f = NULL;
    struct al_err e = {0};
    int rc = al_simfleet_parse(text, strlen(text), &f, &e);
    if (rc < 0)
        fprintf(stderr, "unexpected: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_non_null(f);
    return f;
}

static void expect_bad(const char *text, const char *needle)
{
    struct al_simfleet *f = NULL;
    struct al_err e = {0};
    assert_true(al_simfleet_parse(text, strlen(text), &f, &e) < 0);
    assert_null(f);
    if (!strstr(e.msg, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", e.msg, needle);
    assert_non_null(strstr(e.msg, needle));
}

static void test_expand_counts(void **state)
{
    (void)state;
    struct al_simfleet *f =
        parse_ok("{\"nodes\":[{\"name\":\"n1\",\"zone\":\"eu-1\",\"labels\":{\"rack\":\"r1\"},"
                 "\"gpus\":[{\"model\":\"H100-80GB\",\"count\":8},{\"model\":\"L40S-48GB\","
                 "\"pool\":\"general\"}]},{\"name\":\"n2\",\"gpus\":[{\"model\":\"A30-24GB\","
                 "\"uuid\":\"GPU-abcdef12\",\"index\":3}]}]}");
    assert_int_equal(al_simfleet_count(f), 2);
    assert_int_equal(al_simfleet_gpus(f), 10);
    assert_string_equal(al_simfleet_name(f, 0), "n1");
    json_t *b = al_simfleet_body(f, 0), *g = json_object_get(b, "gpus");
    assert_int_equal(json_array_size(g), 9);
    assert_string_equal(json_string_value(json_object_get(b, "zone")), "eu-1");
    json_t *last = json_array_get(g, 8);
    assert_int_equal(json_integer_value(json_object_get(last, "index")), 8);
    assert_string_equal(json_string_value(json_object_get(last, "pool")), "general");
    assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "pool")),
                        "dedicated");
    json_t *g2 = json_array_get(json_object_get(al_simfleet_body(f, 1), "gpus"), 0);
    assert_string_equal(json_string_value(json_object_get(g2, "uuid")), "GPU-abcdef12");
    assert_int_equal(json_integer_value(json_object_get(g2, "index")), 3);
    assert_null(json_object_get(al_simfleet_body(f, 1), "zone"));
    al_simfleet_free(f);
}

static void test_uuid_deterministic(void **state)
{
    (void)state;
    char a[48], b[48], c[48];
    al_simfleet_uuid("node-1", 0, a, sizeof a);
    al_simfleet_uuid("node-1", 0, b, sizeof b);
    al_simfleet_uuid("node-1", 1, c, sizeof c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(strlen(a), 40);
    assert_memory_equal(a, "GPU-", 4);
    assert_int_equal(a[12], '-');
    /* the body uses the same function */
    struct al_simfleet *f =
        parse_ok("{\"nodes\":[{\"name\":\"node-1\",\"gpus\":[{\"model\":\"H100-80GB\"}]}]}");
    json_t *g = json_array_get(json_object_get(al_simfleet_body(f, 0), "gpus"), 0);
    assert_string_equal(json_string_value(json_object_get(g, "uuid")), a);
    al_simfleet_free(f);
}

static void test_rejects(void **state)
{
    (void)state;
    expect_bad("{\"nodes\":[]}", "nodes");
    expect_bad("not json", "line 1");
    expect_bad("{\"nodes\":[{\"name\":\"bad name\",\"gpus\":[{\"model\":\"X\"}]}]}", "name");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[]}]}", "gpus");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"count\":0}]}]}", "count");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"count\":65}]}]}", "count");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"count\":40},"
               "{\"model\":\"X\",\"count\":40}]}]}",
               "more than 64");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"pool\":\"spot\"}]}]}",
               "pool");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\"}]},"
               "{\"name\":\"n\",\"gpus\":[{\"model\":\"X\"}]}]}",
               "twice");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"index\":0},"
               "{\"model\":\"X\",\"index\":0}]}]}",
               "index 0 given twice");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"labels\":{\"k\":1},\"gpus\":[{\"model\":\"X\"}]}]}",
               "label");
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"zone\":\"a b\",\"gpus\":[{\"model\":\"X\"}]}]}",
               "zone");
    /* uuids the server would refuse are refused before anything is sent */
    expect_bad("{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"uuid\":"
               "\"GPU-0123456789-0123456789-0123456789-0123456789-0123\"}]}]}",
               "uuid");
    expect_bad(
        "{\"nodes\":[{\"name\":\"n\",\"gpus\":[{\"model\":\"X\",\"uuid\":\"GPU 1234 5678\"}]}]}",
        "uuid");
}

static void test_demo_fleet_file(void **state)
{
    (void)state;
    struct al_simfleet *f = NULL;
    struct al_err e = {0};
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): the test runs on one thread */
    const char *root = getenv("AL_ROOT");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/demo-fleet.json", root ? root : ".");
    assert_int_equal(al_simfleet_load(path, &f, &e), 0);
    assert_true(al_simfleet_count(f) >= 5);
    assert_true(al_simfleet_gpus(f) >= 40);
    al_simfleet_free(f);
    assert_true(al_simfleet_load("/nonexistent/fleet.json", &f, &e) < 0);
    assert_null(f);
}

/* Mutations of a valid file (flipped, dropped, duplicated bytes): every one must be either
 * accepted or refused with a message — never a crash, a leak or an out-of-bounds read. */
static void test_fuzz_mutations(void **state)
{
    (void)state;
    static const char seed[] =
        "{\"nodes\":[{\"name\":\"n1\",\"zone\":\"z\",\"labels\":{\"a\":\"b\"},"
        "\"gpus\":[{\"model\":\"H100-80GB\",\"count\":8,\"pool\":\"general\"},"
        "{\"model\":\"A30-24GB\",\"uuid\":\"GPU-12345678\",\"index\":9,\"healthy\":false}]}]}";
    static const char junk[] = "{}[]\",:0123456789-.eE ntfaulx\\";
    char buf[sizeof seed * 2];
    uint32_t x = 12345;
    int accepted = 0, refused = 0;
    for (int round = 0; round < 3000; round++) {
        size_t n = sizeof seed - 1;
        memcpy(buf, seed, n);
        for (int k = 0; k < 1 + round % 4; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % n;
            char ch = junk[(x >> 20) % (sizeof junk - 1)];
            switch ((x >> 4) % 3) {
            case 0:
                buf[at] = ch;
                break;
            case 1:
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default:
                if (n + 1 < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = ch;
                    n++;
                }
            }
        }
        struct al_simfleet *f = NULL;
        struct al_err e = {0};
        if (al_simfleet_parse(buf, n, &f, &e) == 0) {
            assert_non_null(f);
            assert_true(al_simfleet_gpus(f) >= 1);
            accepted++;
        } else {
            assert_null(f);
            assert_true(e.msg[0] != '\0');
            refused++;
        }
        al_simfleet_free(f);
    }
    assert_true(accepted > 0 && refused > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_counts),  cmocka_unit_test(test_uuid_deterministic),
        cmocka_unit_test(test_rejects),        cmocka_unit_test(test_demo_fleet_file),
        cmocka_unit_test(test_fuzz_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
