/* cmd_container.c — `allot container run|list|show|logs|stop` (docs/containers.md): a container
 * on a reservation's GPU or MIG instance, or on a general-pool GPU, its state, its logs' tail
 * as its node's agent last sent it, and its stop. `run` takes its command after "--", each
 * argument as it is (no shell), and each --env K=V as one entry (a value may hold commas). */
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>

#define AL_END_OPT                                                                                 \
    {                                                                                              \
        NULL, AL_ARG_STR, NULL, NULL                                                               \
    }

static const struct al_col ctr_cols[] = {
    {"ID", "id"},
    {"STATE", "state"},
    {"TARGET", "target.kind"},
    {"RESERVATION", "target.reservation"},
    {"UNIT", "target.unit"},
    {"NODE", "node"},
    {"DEVICE", "device"},
    {"IMAGE", "image"},
    {"CREATED", "created_at"},
};

/* After run or stop: where it runs and its state. */
static const struct al_col brief_cols[] = {
    {"id", "id"},
    {"state", "state"},
    {"desired", "desired"},
    {"node", "node"},
    {"device", "device"},
    {"reservation", "target.reservation"},
    {"unit", "target.unit"},
    {"pool_session", "pool_session"},
};

/* The flags of run, in this order (a.val[i] is flag i). --env is taken out before parsing
 * (repeatable, one entry each); it is listed for --help. */
static const struct al_opt run_opts[] = {
    {"image", AL_ARG_STR, NULL, "the image (required), e.g. localhost/bb:latest"},
    {"reservation", AL_ARG_STR, NULL, "run on this reservation's GPU or MIG instance"},
    {"unit", AL_ARG_INT, NULL, "which of its units (default: yours, else an unassigned one)"},
    {"pool", AL_ARG_STR, NULL, "run on a free general-pool GPU of this model (pay-as-you-go)"},
    {"pool-gpu", AL_ARG_STR, NULL, "run on this general-pool GPU (an id from allot pool)"},
    {"env", AL_ARG_STR, NULL, "K=V for the container (repeatable)"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    AL_END_OPT,
};
enum { IMAGE = 0, RSV = 1, UNIT = 2, POOL = 3, POOL_GPU = 4 };

#define RUN_MAX_ARGS 128 /* flags before "--" */

/* Split argv at "--": the command after it into `cmd`; the --env flags before it into `env`;
 * the rest into `rest` (argv[0] first). Returns the count of `rest`, or -1 after a usage
 * message. */
static int run_split(int argc, char **argv, json_t *cmd, json_t *env, char **rest)
{
    int n = 0, i = 0;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *s = argv[i], *kv = NULL;
        if (strcmp(s, "--env") == 0 && i + 1 < argc)
            kv = argv[++i];
        else if (strncmp(s, "--env=", 6) == 0)
            kv = s + 6;
        if (!kv && n < RUN_MAX_ARGS) {
            rest[n++] = argv[i];
            continue;
        }
        const char *eq = kv ? strchr(kv, '=') : NULL;
        if (!kv || !eq || eq == kv) {
            fprintf(stderr, "allot container run: %s\n",
                    kv ? "--env takes K=V" : "too many arguments before --");
            return -1;
        }
        char key[160];
        snprintf(key, sizeof key, "%.*s", (int)(eq - kv < 159 ? eq - kv : 159), kv);
        json_object_set_new(env, key, json_string(eq + 1));
    }
    for (i++; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    return n;
}

/* The target from --reservation [--unit] | --pool | --pool-gpu: exactly one. */
static int run_target(struct al_args *a, json_t *body)
{
    long long unit;
    int given = !!a->val[RSV] + !!a->val[POOL] + !!a->val[POOL_GPU];
    if (given != 1)
        return al_args_usage_error(a, "give one of --reservation, --pool, --pool-gpu", NULL);
    if (a->val[UNIT] && !a->val[RSV])
        return al_args_usage_error(a, "--unit goes with --reservation", NULL);
    if (a->val[RSV]) {
        json_t *t = json_pack("{s:s}", "reservation", a->val[RSV]);
        if (a->val[UNIT] && al_args_int(a->val[UNIT], &unit) != 0) {
            json_decref(t);
            return al_args_usage_error(a, "--unit takes a whole number, not", a->val[UNIT]);
        }
        if (a->val[UNIT])
            json_object_set_new(t, "unit", json_integer(unit));
        json_object_set_new(body, "target", t);
    } else {
        json_object_set_new(body, "target",
                            json_pack("{s:{s:s}}", "pool", a->val[POOL] ? "model" : "gpu",
                                      a->val[POOL] ? a->val[POOL] : a->val[POOL_GPU]));
    }
    return 0;
}

static int ctr_run(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot container run --image IMG (--reservation RSV [--unit N] | --pool MODEL | "
        "--pool-gpu GPU) [--env K=V]... -- CMD [ARGS...]",
        "Start a container on a reserved GPU or MIG instance, or on a general-pool GPU.", 0, 0,
        run_opts};
    struct al_args a;
    struct al_conn c = {0};
    json_t *body = json_object(), *cmd = json_array(), *env = json_object(), *ans = NULL;
    char *rest[RUN_MAX_ARGS], kbuf[48];
    const char *key;
    int rc = AL_EXIT_USAGE, n = body && cmd && env ? run_split(argc, argv, cmd, env, rest) : -1;
    if (n < 0)
        goto out;
    if ((rc = al_args_parse(&a, &spec, n, rest)) != 0) {
        rc = rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
        goto out;
    }
    if (!a.val[IMAGE] || json_array_size(cmd) == 0) {
        rc = al_args_usage_error(&a, "give --image and, after --, the command", NULL);
        goto out;
    }
    if ((rc = run_target(&a, body)) != 0)
        goto out;
    json_object_set_new(body, "image", json_string(a.val[IMAGE]));
    json_object_set(body, "command", cmd);
    json_object_set(body, "env", env);
    if (!(key = al_conn_idem_key(&a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK)
        goto out;
    if ((rc = al_conn_call(&c, "POST", "/v1/containers", body, key, &ans)) == AL_EXIT_OK)
        al_conn_print(&c, ans, brief_cols, sizeof brief_cols / sizeof brief_cols[0]);
out:
    al_conn_close(&c);
    json_decref(env);
    json_decref(cmd);
    json_decref(body);
    return rc;
}

static const struct al_opt list_opts[] = {
    {"reservation", AL_ARG_STR, "reservation", "only this reservation's containers"},
    {"state", AL_ARG_STR, "state", "pending, running, stopping, exited, stopped or failed"},
    {"node", AL_ARG_STR, "node", "only this node's containers (operator)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    AL_END_OPT,
};

static int ctr_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot container list [--reservation R] [--state S] [--node N]",
         "List the containers you may see, newest first.", 0, 0, list_opts},
        "GET",
        "/v1/containers",
        NULL,
        NULL,
        0,
        ctr_cols,
        sizeof ctr_cols / sizeof ctr_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int ctr_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot container show ID", "Show a container: its target, device, state.", 1, 1, NULL},
        "GET",
        "/v1/containers",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int ctr_stop(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot container stop ID",
         "Stop a container (who started it, an org admin, an operator); one not started yet "
         "ends at once.",
         1, 1, NULL},
        "POST",
        "/v1/containers",
        NULL,
        "stop",
        0,
        brief_cols,
        sizeof brief_cols / sizeof brief_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int ctr_logs(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot container logs ID",
        "Print a container's logs: the tail (at most 64 KiB) its node's agent last sent.", 1, 1,
        NULL};
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err e = {0};
    const char *path;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, "/v1/containers");
    al_path_seg(&p, a.pos[0]);
    al_path_seg(&p, "logs");
    if (!(path = al_path_str(&p, &e))) {
        fprintf(stderr, "allot container logs: %s\n", e.msg);
        return AL_EXIT_USAGE;
    }
    if ((rc = al_conn_open(&c, &a)) == AL_EXIT_OK)
        rc = al_conn_get_raw(&c, path, stdout);
    al_conn_close(&c);
    return rc;
}

int al_cmd_container(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"run", "start a container on a reserved GPU / MIG instance or a pool GPU", ctr_run},
        {"list", "list containers", ctr_list},
        {"show", "show a container", ctr_show},
        {"logs", "print a container's logs (the tail its agent last sent)", ctr_logs},
        {"stop", "stop a container", ctr_stop},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot container", cmds, argc, argv);
}
