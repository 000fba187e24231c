/* test_simfleet_limits.c — the sim agent's fleet file takes the server's field limits
 * (docs/api.md, "Field limits"): a node name, zone or uuid the server would refuse is refused
 * in the file already, and one at the bound passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/simfleet.h"

#include <stdio.h>
#include <string.h>

/* Parse a one-node fleet with that name, zone and uuid: 0 or the error. */
static int parse(size_t name_len, size_t zone_len, size_t uuid_len, struct al_err *e)
{
    char name[128], zone[128], uuid[128], text[1024];
    struct al_simfleet *f = NULL;
    memset(name, 'n', name_len);
    name[name_len] = '\0';
    memset(zone, 'z', zone_len);
    zone[zone_len] = '\0';
    memset(uuid, 'u', uuid_len);
    uuid[uuid_len] = '\0';
    snprintf(text, sizeof text,
             "{\"nodes\":[{\"name\":\"%s\",\"zone\":\"%s\",\"gpus\":[{\"model\":\"A30-24GB\","
             "\"uuid\":\"%s\"}]}]}",
             name, zone, uuid);
    int rc = al_simfleet_parse(text, strlen(text), &f, e);
    al_simfleet_free(f);
    return rc;
}

static void test_server_limits(void **state)
{
    (void)state;
    struct al_err e = {0};
    assert_int_equal(parse(63, 31, 47, &e), 0);
    assert_true(parse(64, 31, 47, &e) < 0);
    assert_non_null(strstr(e.msg, "name"));
    assert_true(parse(63, 32, 47, &e) < 0);
    assert_non_null(strstr(e.msg, "zone"));
    assert_true(parse(63, 31, 48, &e) < 0);
    assert_non_null(strstr(e.msg, "uuid"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
