/* cmd_pool.c — `allot pool [--model M]`: the general pool's GPUs free for a pool container now
 * (GET /v1/pool), one row per free GPU or free MIG instance, with the time it stays free until
 * ("-": no reservation is coming). -o json prints the server's answer as is. */
#include "cli/conn.h"

#include <stdio.h>

static const struct al_opt pool_opts[] = {
    {"model", AL_ARG_STR, "model", "only this GPU model, e.g. H100-80GB"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

/* The rows of one model: its free GPUs, then its free MIG instances; returns how many. */
static size_t model_rows(struct al_table *t, json_t *m)
{
    json_t *g, *p, *inst;
    size_t i, j, n = 0;
    char unit[48];
    json_array_foreach(json_object_get(m, "gpus"), i, g)
    {
        const char *row[5] = {str(m, "model"), "whole GPU", str(g, "id"), str(g, "node"),
                              str(g, "free_until")};
        al_table_add(t, row);
        n++;
    }
    json_array_foreach(json_object_get(m, "profiles"), i, p)
    {
        json_array_foreach(json_object_get(p, "instances"), j, inst)
        {
            snprintf(unit, sizeof unit, "%s@%" JSON_INTEGER_FORMAT, str(p, "profile"),
                     json_integer_value(json_object_get(inst, "start")));
            const char *row[5] = {str(m, "model"), unit, str(inst, "gpu"), str(inst, "node"),
                                  str(inst, "free_until")};
            al_table_add(t, row);
            n++;
        }
    }
    return n;
}

static void pool_print(json_t *ans)
{
    static const char *const hdr[] = {"MODEL", "UNIT", "GPU", "NODE", "FREE UNTIL"};
    struct al_table *t = al_table_new(5, hdr);
    json_t *m;
    size_t i, n = 0;
    json_array_foreach(json_object_get(ans, "models"), i, m) n += model_rows(t, m);
    if (n)
        al_table_print(t, stdout);
    else
        printf("no GPU of the general pool is free now\n");
    printf("free for at least the notice period (%" JSON_INTEGER_FORMAT
           " s) from %s; a pool container runs on a whole GPU (allot container run --pool MODEL "
           "or --pool-gpu GPU)\n",
           json_integer_value(json_object_get(ans, "notice_s")), str(ans, "at"));
    al_table_free(t);
    json_decref(ans);
}

int al_cmd_pool(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot pool [--model M]",
        "GPUs of the general pool free now for a pool container, by model, each with the time "
        "it stays free until; free MIG instances of its GPUs in MIG mode.",
        0, 0, pool_opts};
    struct al_args a;
    struct al_path p;
    struct al_conn c = {0};
    struct al_err e = {0};
    json_t *ans = NULL;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, "/v1/pool");
    al_path_query(&p, "model", a.val[0]);
    if (!al_path_str(&p, &e))
        return al_args_usage_error(&a, e.msg, NULL);
    if ((rc = al_conn_open(&c, &a)) == AL_EXIT_OK &&
        (rc = al_conn_call(&c, "GET", p.buf, NULL, NULL, &ans)) == AL_EXIT_OK) {
        if (c.fmt == AL_OUT_JSON)
            al_out_json(ans); /* takes ans */
        else
            pool_print(ans);
    }
    al_conn_close(&c);
    return rc;
}
