/* test_containers.c — unit tests of server/containers.h's checks that need no store: the image,
 * env keys (allot's own among them), the states, and the refusals of a container's body and of
 * an agent's report, each naming its field (the checks run before anything is read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/containers.h"

static void test_image(void **state)
{
    (void)state;
    char big[AL_CTR_IMAGE_MAX + 2];
    assert_true(al_containers_image_ok("localhost/bb:latest", 19));
    assert_true(al_containers_image_ok("nvcr.io/nvidia/pytorch@sha256:ab-c_d", 36));
    assert_false(al_containers_image_ok("", 0));
    assert_false(al_containers_image_ok("bad image", 9));
    assert_false(al_containers_image_ok("a\0b", 3)); /* a NUL inside the length */
    assert_false(al_containers_image_ok("a;b", 3));
    memset(big, 'a', sizeof big);
    assert_true(al_containers_image_ok(big, AL_CTR_IMAGE_MAX));
    assert_false(al_containers_image_ok(big, AL_CTR_IMAGE_MAX + 1));
}

static void test_env_keys(void **state)
{
    (void)state;
    char key[AL_CTR_ENV_KEY_MAX + 2];
    assert_true(al_containers_env_key_ok("EPOCHS"));
    assert_true(al_containers_env_key_ok("_x1"));
    assert_false(al_containers_env_key_ok(""));
    assert_false(al_containers_env_key_ok("1X"));
    assert_false(al_containers_env_key_ok("A-B"));
    assert_false(al_containers_env_key_ok("A B"));
    memset(key, 'K', sizeof key - 1);
    key[AL_CTR_ENV_KEY_MAX] = '\0';
    assert_true(al_containers_env_key_ok(key));
    key[AL_CTR_ENV_KEY_MAX] = 'K';
    key[AL_CTR_ENV_KEY_MAX + 1] = '\0';
    assert_false(al_containers_env_key_ok(key));
    assert_true(al_containers_env_reserved("NVIDIA_VISIBLE_DEVICES"));
    assert_true(al_containers_env_reserved("CUDA_VISIBLE_DEVICES"));
    assert_true(al_containers_env_reserved("ALLOT_"));
    assert_true(al_containers_env_reserved("ALLOT_TOKEN"));
    assert_false(al_containers_env_reserved("ALLOTX"));
    assert_false(al_containers_env_reserved("NVIDIA_DRIVER_CAPABILITIES"));
}

static void test_states(void **state)
{
    (void)state;
    static const char *const live[] = {"pending", "running", "stopping"};
    static const char *const ended[] = {"exited", "stopped", "failed"};
    for (size_t i = 0; i < 3; i++) {
        assert_true(al_containers_state_ok(live[i]) && al_containers_live(live[i]));
        assert_true(al_containers_state_ok(ended[i]) && !al_containers_live(ended[i]));
    }
    assert_false(al_containers_state_ok("missing"));
    assert_false(al_containers_state_ok(NULL));
    assert_false(al_containers_live(NULL));
}

/* The field a refused body names: al_containers_create on a context with no server (the
 * body's checks come before any read). */
static const char *create_refusal(const char *json, int *code)
{
    static struct al_ctx c;
    json_t *out = (json_t *)1;
    memset(&c, 0, sizeof c);
    c.body = json_loads(json, 0, NULL);
    assert_non_null(c.body);
    c.role = AL_ROLE_MEMBER;
    c.org = "org_1";
    c.user_id = "usr_1";
    *code = al_containers_create(&c, &out);
    assert_null(out);
    json_decref(c.body);
    json_decref(c.err_details);
    return c.err_field;
}

static void test_create_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{},\"x\":1}", "x"},
        {"{\"command\":[\"x\"],\"target\":{}}", "image"},
        {"{\"image\":\"b b\",\"command\":[\"x\"],\"target\":{}}", "image"},
        {"{\"image\":\"bb\",\"command\":\"x\",\"target\":{}}", "command"},
        {"{\"image\":\"bb\",\"command\":[],\"target\":{}}", "command"},
        {"{\"image\":\"bb\",\"command\":[\"x\",\"\"],\"target\":{}}", "command[1]"},
        {"{\"image\":\"bb\",\"command\":[\"x\",2],\"target\":{}}", "command[1]"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"env\":[],\"target\":{}}", "env"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"env\":{\"a-b\":\"1\"},\"target\":{}}", "env"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"env\":{\"ALLOT_ID\":\"1\"},\"target\":{}}",
         "env.ALLOT_ID"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"env\":{\"K\":null},\"target\":{}}", "env.K"},
        {"{\"image\":\"bb\",\"command\":[\"x\"]}", "target"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"gpu\":1}}", "target"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"reservation\":\"r\",\"u\":1}}",
         "target.u"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"reservation\":\"r\",\"unit\":-1}}",
         "target.unit"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"pool\":\"H100\"}}", "target.pool"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"pool\":{}}}", "target.pool"},
        {"{\"image\":\"bb\",\"command\":[\"x\"],\"target\":{\"pool\":{\"size\":1}}}",
         "target.pool.size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int code = 0;
        const char *field = create_refusal(cases[i].json, &code);
        if (code != AL_E_INVAL || strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: got %d field %s, want field %s", i, code, field, cases[i].field);
    }
}

static void test_create_bounds(void **state)
{
    (void)state;
    json_t *b = json_pack("{s:s,s:[],s:{},s:{}}", "image", "bb", "command", "env", "target");
    json_t *cmd = json_object_get(b, "command"), *env = json_object_get(b, "env");
    char *arg = malloc(AL_CTR_ARG_MAX + 2), *text;
    int code = 0;
    assert_non_null(arg);
    memset(arg, 'a', AL_CTR_ARG_MAX + 1);
    arg[AL_CTR_ARG_MAX + 1] = '\0';
    json_array_append_new(cmd, json_string(arg)); /* one byte over */
    text = json_dumps(b, 0);
    assert_string_equal(create_refusal(text, &code), "command[0]");
    free(text);
    arg[AL_CTR_ARG_MAX] = '\0';
    json_array_clear(cmd);
    for (int i = 0; i * AL_CTR_ARG_MAX <= AL_CTR_COMMAND_MAX; i++)
        json_array_append_new(cmd, json_string(arg)); /* each at its bound, too many in all */
    text = json_dumps(b, 0);
    assert_string_equal(create_refusal(text, &code), "command");
    free(text);
    json_array_clear(cmd);
    json_array_append_new(cmd, json_string("x"));
    for (int i = 0; i <= AL_CTR_ENV_MAX; i++) {
        char k[16];
        snprintf(k, sizeof k, "K%d", i);
        json_object_set_new(env, k, json_string("v"));
    }
    text = json_dumps(b, 0);
    assert_string_equal(create_refusal(text, &code), "env");
    free(text);
    free(arg);
    json_decref(b);
}

/* The field a refused agent report names (its checks come before any write). */
static const char *report_refusal(const char *json)
{
    static struct al_ctx c;
    json_t *out = NULL;
    memset(&c, 0, sizeof c);
    c.body = json_loads(json, 0, NULL);
    assert_non_null(c.body);
    c.role = AL_ROLE_AGENT;
    assert_int_equal(al_containers_report(&c, "n1", &out), AL_E_INVAL);
    json_decref(c.body);
    json_decref(c.err_details);
    return c.err_field;
}

static void test_report_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{}", "runtime"},
        {"{\"runtime\":{\"kind\":\"docker-api\",\"ok\":true},\"x\":1}", "x"},
        {"{\"runtime\":{\"kind\":\"lxc\",\"ok\":true}}", "runtime.kind"},
        {"{\"runtime\":{\"kind\":\"process\"}}", "runtime.ok"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":false,\"error\":1}}", "runtime.error"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":{}}", "containers"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[1]}", "containers[0]"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"state\":\"running\"}]"
         "}",
         "containers[0].id"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"id\":\"c\","
         "\"state\":\"gone\"}]}",
         "containers[0].state"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"id\":\"c\","
         "\"state\":\"exited\",\"exit_code\":\"0\"}]}",
         "containers[0].exit_code"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"id\":\"c\","
         "\"state\":\"running\",\"started_at\":\"yesterday\"}]}",
         "containers[0].started_at"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"id\":\"c\","
         "\"state\":\"running\",\"runtime_id\":\"a b\\n\"}]}",
         "containers[0].runtime_id"},
        {"{\"runtime\":{\"kind\":\"process\",\"ok\":true},\"containers\":[{\"id\":\"c\","
         "\"state\":\"running\",\"logs\":5}]}",
         "containers[0].logs"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *field = report_refusal(cases[i].json);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("case %zu: field %s, want %s", i, field, cases[i].field);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image),         cmocka_unit_test(test_env_keys),
        cmocka_unit_test(test_states),        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_create_bounds), cmocka_unit_test(test_report_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
