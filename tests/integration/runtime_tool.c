/* runtime_tool.c — drives the agent's container runtimes (src/agent/runtime.h) and its
 * containers round (src/agent/agentctr.h) from a shell, for tests/integration/runtime_podman.sh.
 * Each run is a fresh process, as a restarted agent is.
 *
 *   runtime_tool SPEC create CTR IMAGE DEVICE [K=V ...] -- CMD [ARG ...]   prints the runtime id
 *                (K=V: env; labels are allot.container=CTR and allot.test=1)
 *   runtime_tool SPEC start|stop|remove ID
 *   runtime_tool SPEC inspect ID        one JSON object: id, ctr, state, exit_code, started_at,
 *                                       finished_at, error
 *   runtime_tool SPEC logs ID           the log tail, as it would be reported
 *   runtime_tool SPEC list              a JSON array of those objects
 *   runtime_tool SPEC ping
 *   runtime_tool SPEC round FILE...     one containers round per desired document FILE, in one
 *                                       process; each report printed as one JSON line. An
 *                                       argument wait:PATH waits (up to 120 s) until PATH
 *                                       exists, so that a test acts between two rounds
 * SPEC is --runtime's (docker-api:SOCKET, process[:DIR]). Exit 0, or 1 with the error on
 * stderr. */
#include "agent/agentctr.h"
#include "agent/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *state_name(enum al_rt_state s)
{
    switch (s) {
    case AL_RT_CREATED:
        return "created";
    case AL_RT_RUNNING:
        return "running";
    case AL_RT_EXITED:
        return "exited";
    default:
        return "unknown";
    }
}

static json_t *ctr_json(const struct al_rt_ctr *c)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "id", c->id, "ctr", c->ctr, "state",
                          state_name(c->state), "started_at", c->started_at, "finished_at",
                          c->finished_at, "error", c->error);
    json_object_set_new(j, "exit_code", c->has_exit ? json_integer(c->exit_code) : json_null());
    return j;
}

static int print_json(json_t *j)
{
    int rc = json_dumpf(j, stdout, JSON_COMPACT) < 0 ? 1 : 0;
    putchar('\n');
    json_decref(j);
    return rc;
}

static int create(struct al_runtime *rt, int argc, char **argv, struct al_err *e)
{
    json_t *cmd = json_array(), *env = json_object(), *labels = NULL;
    char id[AL_RUNTIME_ID_MAX];
    int i = 3, rc;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq)
            return al_err_set(e, AL_E_INVAL, "env: K=V, not %s", argv[i]);
        *eq = '\0';
        json_object_set_new(env, argv[i], json_string(eq + 1));
    }
    for (i++; i < argc; i++)
        json_array_append_new(cmd, json_string(argv[i]));
    labels = json_pack("{s:s,s:s}", AL_RUNTIME_LABEL, argv[0], "allot.test", "1");
    struct al_runtime_spec s = {argv[0], argv[1], cmd, env, labels, argv[2]};
    if ((rc = al_runtime_create(rt, &s, id, e)) == 0)
        printf("%s\n", id);
    json_decref(cmd);
    json_decref(env);
    json_decref(labels);
    return rc;
}

static int rounds(const char *spec, int argc, char **argv, struct al_err *e)
{
    struct al_agentctr *ac = NULL;
    int rc = al_agentctr_new(spec, false, &ac, e);
    for (int i = 0; rc == 0 && i < argc; i++) {
        json_error_t je;
        if (strncmp(argv[i], "wait:", 5) == 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            for (int t = 0; t < 1200 && access(argv[i] + 5, F_OK) < 0; t++)
                nanosleep(&ts, NULL);
            continue;
        }
        json_t *doc = json_load_file(argv[i], 0, &je), *rep = NULL;
        if (!doc) {
            rc = al_err_set(e, AL_E_INVAL, "%s: %s", argv[i], je.text);
            break;
        }
        if ((rc = al_agentctr_round(ac, doc, &rep, e)) == 0)
            print_json(rep);
        json_decref(doc);
        fflush(stdout);
    }
    al_agentctr_free(ac);
    return rc;
}

/* The one-container commands: argv[0] the command, argv[1] the id. */
static int one(struct al_runtime *rt, int argc, char **argv, struct al_err *e)
{
    struct al_rt_ctr c;
    char *logs = NULL;
    size_t n = 0;
    int rc;
    if (argc < 2)
        return al_err_set(e, AL_E_INVAL, "%s ID", argv[0]);
    if (strcmp(argv[0], "start") == 0)
        return al_runtime_start(rt, argv[1], e);
    if (strcmp(argv[0], "stop") == 0)
        return al_runtime_stop(rt, argv[1], e);
    if (strcmp(argv[0], "remove") == 0)
        return al_runtime_remove(rt, argv[1], e);
    if (strcmp(argv[0], "inspect") == 0)
        return (rc = al_runtime_inspect(rt, argv[1], &c, e)) < 0 ? rc : print_json(ctr_json(&c));
    if (strcmp(argv[0], "logs") != 0)
        return al_err_set(e, AL_E_INVAL, "unknown command %s", argv[0]);
    if ((rc = al_runtime_logs(rt, argv[1], &logs, &n, e)) == 0)
        fwrite(logs, 1, n, stdout);
    free(logs);
    return rc;
}

static int list(struct al_runtime *rt, struct al_err *e)
{
    struct al_rt_ctr *cs = NULL;
    size_t n = 0;
    json_t *a = json_array();
    int rc = al_runtime_list(rt, &cs, &n, e);
    for (size_t i = 0; rc == 0 && i < n; i++)
        json_array_append_new(a, ctr_json(&cs[i]));
    free(cs);
    if (rc == 0)
        return print_json(a);
    json_decref(a);
    return rc;
}

int main(int argc, char **argv)
{
    struct al_runtime *rt = NULL;
    struct al_err e = {0};
    int rc;
    if (argc < 3) {
        fprintf(stderr, "usage: runtime_tool SPEC COMMAND ARGS... (see the source)\n");
        return 2;
    }
    if (strcmp(argv[2], "round") == 0)
        rc = rounds(argv[1], argc - 3, argv + 3, &e);
    else if ((rc = al_runtime_open(argv[1], false, &rt, &e)) < 0)
        ;
    else if (strcmp(argv[2], "create") == 0 && argc >= 7)
        rc = create(rt, argc - 3, argv + 3, &e);
    else if (strcmp(argv[2], "list") == 0)
        rc = list(rt, &e);
    else if (strcmp(argv[2], "ping") == 0)
        rc = al_runtime_ping(rt, &e);
    else
        rc = one(rt, argc - 2, argv + 2, &e);
    al_runtime_close(rt);
    if (rc < 0 && rc != 1)
        fprintf(stderr, "runtime_tool: %s\n", e.msg);
    return rc < 0 ? 1 : rc;
}
