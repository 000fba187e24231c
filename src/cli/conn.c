/* conn.c — the CLI's connection to the server: configuration lookup, calls, error output. */
#include "cli/conn.h"

#include "cli/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int al_conn_config_dir(char *out, size_t cap)
{
    const char *d = getenv("ALLOT_CONFIG_DIR"), *home = getenv("HOME");
    int n;
    if (d && d[0])
        n = snprintf(out, cap, "%s", d);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.config/allot", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int al_conn_read_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, cap - 1, f);
    int more = fgetc(f) != EOF;
    (void)fclose(f); /* read-only: nothing to lose */
    if (more)        /* longer than any token or URL: not ours */
        return -1;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n > 0 && !strchr(out, '\n') ? 0 : -1;
}

/* flag > environment > login file > default (server only); *src says which. */
static const char *pick(const char *flag, const char *env, const char *file, char *buf, size_t cap,
                        enum al_conn_src *src)
{
    char dir[1024], path[1100];
    const char *e = getenv(env);
    *src = AL_CONN_SRC_NONE;
    if (flag) {
        *src = AL_CONN_SRC_FLAG;
        return flag;
    }
    if (e && e[0]) {
        *src = AL_CONN_SRC_ENV;
        return e;
    }
    if (al_conn_config_dir(dir, sizeof dir) < 0)
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (al_conn_read_line(path, buf, cap) < 0)
        return NULL;
    *src = AL_CONN_SRC_LOGIN;
    return buf;
}

int al_conn_open(struct al_conn *c, const struct al_args *a)
{
    char sbuf[1100], tbuf[AL_CLIENT_MAX_TOKEN + 2];
    struct al_err err = {0};
    *c = (struct al_conn){.fmt = AL_OUT_TABLE};
    if (a->output && strcmp(a->output, "json") == 0)
        c->fmt = AL_OUT_JSON;
    const char *server =
        pick(a->server, "ALLOT_SERVER", "server", sbuf, sizeof sbuf, &c->server_src);
    const char *token = pick(a->token, "ALLOT_TOKEN", "token", tbuf, sizeof tbuf, &c->token_src);
    c->client = al_client_new(server ? server : AL_CONN_DEFAULT_SERVER, token, &err);
    if (!c->client) {
        fprintf(stderr, "allot: %s\n", err.msg);
        return err.code == AL_E_NOMEM ? AL_EXIT_FAIL : AL_EXIT_USAGE;
    }
    return AL_EXIT_OK;
}

void al_conn_close(struct al_conn *c)
{
    al_client_free(c->client);
    c->client = NULL;
}

/* What the server says beyond its message: no_capacity's reason and alternatives, the field
 * of an invalid_argument. */
static void print_details(json_t *body)
{
    json_t *d = json_object_get(json_object_get(body, "error"), "details");
    if (!json_is_object(d) || json_object_size(d) == 0)
        return;
    const char *field = json_string_value(json_object_get(d, "field"));
    const char *reason = json_string_value(json_object_get(d, "reason"));
    if (field)
        fprintf(stderr, "  field: %s\n", field);
    if (reason)
        fprintf(stderr, "  reason: %s\n", reason);
    json_t *alts = json_object_get(d, "alternatives"), *x;
    size_t i;
    json_array_foreach(alts, i, x)
    {
        if (i == 0)
            fputs("  alternatives:\n", stderr);
        char *s = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(stderr, "    %s\n", s ? s : "?");
        free(s);
    }
    json_t *other = json_object_get(d, "other_models");
    if (json_array_size(other) > 0) {
        char *s = json_dumps(other, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(stderr, "  other models: %s\n", s ? s : "?");
        free(s);
    }
}

/* Where a setting came from, in words: `flag` ("--server") or `env` ("ALLOT_SERVER")… */
static const char *src_words(enum al_conn_src src, const char *flag, const char *env, char *buf,
                             size_t cap)
{
    switch (src) {
    case AL_CONN_SRC_FLAG:
        snprintf(buf, cap, "given with %s", flag);
        break;
    case AL_CONN_SRC_ENV:
        snprintf(buf, cap, "from %s", env);
        break;
    case AL_CONN_SRC_LOGIN:
        snprintf(buf, cap, "saved by `allot login`");
        break;
    default:
        snprintf(buf, cap, "the default");
        break;
    }
    return buf;
}

/* What the user can do about a failure that is theirs to fix: no server where the CLI looked
 * (AL_E_IO and no HTTP status: nothing answered), or a token missing or refused (401). */
static void print_hint(const struct al_conn *c, int rc, long status)
{
    const char *url = al_client_server(c->client);
    char from[64];
    if (rc == AL_E_IO && status == 0)
        fprintf(stderr,
                "  hint: nothing answered at %s (%s).\n"
                "        Start a server with `make run` (in the source tree) or `allot server`,\n"
                "        or point the CLI at a running one: export ALLOT_SERVER=URL, or --server "
                "URL.\n",
                url, src_words(c->server_src, "--server", "ALLOT_SERVER", from, sizeof from));
    else if (status == 401 && c->token_src == AL_CONN_SRC_NONE)
        fputs("  hint: no token was given. export ALLOT_TOKEN=TOKEN (`make run` prints the "
              "operator's,\n"
              "        and keeps it in .run/operator.token), or save one with\n"
              "        `allot login --server URL --token TOKEN`.\n",
              stderr);
    else if (status == 401)
        fprintf(stderr,
                "  hint: the token %s is not one %s knows; set ALLOT_TOKEN,\n"
                "        --token or `allot login` to a token this server issued.\n",
                src_words(c->token_src, "--token", "ALLOT_TOKEN", from, sizeof from), url);
}

int al_conn_call(struct al_conn *c, const char *method, const char *path, json_t *body,
                 const char *idempotency_key, json_t **ret)
{
    struct al_err err = {0};
    long status = 0;
    json_t *j = NULL;
    int rc = al_client_call(c->client, method, path, body, idempotency_key, &status, &j, &err);
    if (rc == 0) {
        if (ret)
            *ret = j ? j : json_object();
        else
            json_decref(j);
        return AL_EXIT_OK;
    }
    fprintf(stderr, "allot: %s\n", err.msg);
    print_details(j);
    print_hint(c, rc, status);
    if (c->fmt == AL_OUT_JSON && j)
        al_out_json(json_incref(j));
    json_decref(j);
    if (ret)
        *ret = NULL;
    return status >= 400 && status < 500 ? AL_EXIT_NO : AL_EXIT_FAIL;
}

int al_conn_get_raw(struct al_conn *c, const char *path, FILE *out)
{
    struct al_err err = {0};
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    int rc = al_client_get_raw(c->client, path, &body, &len, &status, &err);
    if (rc == 0) {
        rc = len && fwrite(body, 1, len, out) != len ? AL_EXIT_FAIL : AL_EXIT_OK;
        free(body);
        return rc;
    }
    fprintf(stderr, "allot: %s\n", err.msg);
    print_hint(c, rc, status);
    return status >= 400 && status < 500 ? AL_EXIT_NO : AL_EXIT_FAIL;
}

const char *al_conn_idem_key(const struct al_args *a, char *buf, size_t cap)
{
    const char *k = al_args_get(a, "idempotency-key");
    if (k) {
        if (strlen(k) > AL_CLIENT_MAX_IDEM) {
            al_args_usage_error(a, "--idempotency-key: at most 128 characters", NULL);
            return NULL;
        }
        return k;
    }
    if (al_client_random_key(buf, cap) < 0) {
        fputs("allot: no randomness for an idempotency key\n", stderr);
        return NULL;
    }
    return buf;
}

void al_conn_print(const struct al_conn *c, json_t *j, const struct al_col *cols, size_t ncols)
{
    json_t *items = json_object_get(j, "items");
    if (c->fmt == AL_OUT_JSON) {
        al_out_json(j);
        return;
    }
    if (cols && json_is_array(items)) {
        al_view_list(items, cols, ncols, stdout);
        const char *next = json_string_value(json_object_get(j, "next_cursor"));
        if (next)
            printf("(more: --cursor %s)\n", next);
    } else if (cols) {
        al_view_brief(j, cols, ncols, stdout);
    } else {
        al_view_object(j, stdout);
    }
    json_decref(j);
}

/* Flags with a field as query parameters of a GET (time flags converted). */
static int add_query(const struct al_args *a, struct al_path *p)
{
    char tbuf[64];
    for (size_t i = 0; a->spec->opts && a->spec->opts[i].name; i++) {
        const struct al_opt *o = &a->spec->opts[i];
        const char *v = a->val[i];
        if (!o->field || !v)
            continue;
        if (o->type == AL_ARG_TIME) {
            if (al_args_time(v, tbuf, sizeof tbuf) < 0)
                return al_args_usage_error(a, "invalid time for", o->name), -1;
            v = tbuf;
        }
        al_path_query(p, o->field, v);
    }
    return 0;
}

static int build_call(const struct al_call_spec *s, const struct al_args *a, struct al_path *p,
                      json_t **body)
{
    al_path_init(p, s->prefix);
    if (a->npos > 0 && !s->pos_field)
        al_path_seg(p, a->pos[0]);
    if (s->action)
        al_path_seg(p, s->action);
    if (strcmp(s->method, "GET") == 0)
        return add_query(a, p);
    if (!(*body = json_object()))
        return -1;
    if (s->pos_field && a->npos > 0)
        json_object_set_new(*body, s->pos_field, json_string(a->pos[0]));
    return al_args_to_json(a, *body);
}

int al_conn_run(const struct al_call_spec *s, int argc, char **argv)
{
    struct al_args a;
    int rc = al_args_parse(&a, &s->cmd, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    return al_conn_run_args(s, &a);
}

int al_conn_run_args(const struct al_call_spec *s, const struct al_args *args)
{
    struct al_args a = *args;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err err = {0};
    json_t *body = NULL, *ans = NULL;
    char kbuf[48];
    const char *key = NULL, *path;
    int rc;
    if (build_call(s, &a, &p, &body) < 0 ||
        (s->idem && !(key = al_conn_idem_key(&a, kbuf, sizeof kbuf)))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if (!(path = al_path_str(&p, &err))) {
        rc = al_args_usage_error(&a, err.msg, NULL);
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK)
        goto out;
    if ((rc = al_conn_call(&c, s->method, path, body, key, &ans)) == AL_EXIT_OK)
        al_conn_print(&c, ans, s->cols, s->ncols);
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}
