/* args.c — declarative flag parsing, --help text and flag → JSON conversion for the CLI. */
#include "cli/args.h"

#include "common/num.h"
#include "core/money.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct al_opt al_common_opts[] = {
    {"output", AL_ARG_STR, NULL, "output format: table (default) or json (also -o)"},
    {"server", AL_ARG_STR, NULL, "server URL (env ALLOT_SERVER, else the login file)"},
    {"token", AL_ARG_STR, NULL, "bearer token (env ALLOT_TOKEN, else the login file)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const char *type_hint(enum al_arg_type t)
{
    switch (t) {
    case AL_ARG_INT:
        return " N";
    case AL_ARG_TIME:
        return " TIME";
    case AL_ARG_BOOL:
        return "";
    case AL_ARG_MONEY:
        return " USD";
    case AL_ARG_PAIRS:
        return " K=V";
    default:
        return " S";
    }
}

static void print_opts(const struct al_opt *o, FILE *f)
{
    char left[64];
    for (; o && o->name; o++) {
        snprintf(left, sizeof left, "--%s%s", o->name, type_hint(o->type));
        fprintf(f, "  %-26s %s\n", left, o->help);
    }
}

void al_args_help(const struct al_cmd_spec *s, FILE *f)
{
    fprintf(f, "usage: %s [options]\n\n%s\n", s->usage, s->summary);
    if (s->opts && s->opts->name) {
        fputs("\noptions:\n", f);
        print_opts(s->opts, f);
    }
    fputs("\ncommon options:\n", f);
    print_opts(al_common_opts, f);
    fputs("  -h, --help                 this help\n"
          "\nTIME is RFC 3339 UTC (2026-12-01T00:00:00Z) or now, +30m, +2h, +3d.\n"
          "Exit status: 0 ok, 1 the server said no, 2 usage error, 3 server unreachable or "
          "failing.\n",
          f);
}

int al_args_usage_error(const struct al_args *a, const char *msg, const char *what)
{
    fprintf(stderr, "%s: %s%s%s\n(see --help)\n", a->spec->usage, msg, what ? " " : "",
            what ? what : "");
    return AL_EXIT_USAGE;
}

static int find_opt(const struct al_opt *opts, const char *name, size_t n)
{
    for (int i = 0; opts && opts[i].name; i++)
        if (strlen(opts[i].name) == n && strncmp(opts[i].name, name, n) == 0)
            return i;
    return -1;
}

/* One "--name[=value]" (value may be the next argument). Returns args consumed, or -1. */
static int take_flag(struct al_args *a, int argc, char **argv, int i)
{
    const char *name = argv[i] + 2, *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    const char **slot = NULL;
    enum al_arg_type type = AL_ARG_STR;
    int k = find_opt(a->spec->opts, name, n);
    if (k >= 0) {
        slot = &a->val[k];
        type = a->spec->opts[k].type;
    } else if ((k = find_opt(al_common_opts, name, n)) >= 0) {
        slot = k == 0 ? &a->output : k == 1 ? &a->server : &a->token;
    } else {
        return al_args_usage_error(a, "unknown option", argv[i]), -1;
    }
    if (type == AL_ARG_BOOL) {
        if (eq)
            return al_args_usage_error(a, "takes no value:", argv[i]), -1;
        *slot = "1";
        return 1;
    }
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (!v)
        return al_args_usage_error(a, "needs a value:", argv[i]), -1;
    if (strlen(v) > AL_ARGS_MAX_LEN)
        return al_args_usage_error(a, "value too long for", argv[i]), -1;
    if (type == AL_ARG_PAIRS) { /* repeated: joined, not replaced */
        size_t have = strlen(a->pairs);
        if (have + 1 + strlen(v) > AL_ARGS_MAX_LEN)
            return al_args_usage_error(a, "values too long for", argv[i]), -1;
        snprintf(a->pairs + have, sizeof a->pairs - have, "%s%s", have ? "," : "", v);
        v = a->pairs;
    }
    *slot = v;
    return eq ? 1 : 2;
}

/* One argument at argv[i]: returns how many it consumed, 0 for --help (printed), -1 on a
 * usage error (printed). */
static int take_arg(struct al_args *a, int argc, char **argv, int i)
{
    const char *s = argv[i];
    if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
        al_args_help(a->spec, stdout);
        return 0;
    }
    if (strcmp(s, "-o") == 0) {
        if (i + 1 >= argc)
            return al_args_usage_error(a, "needs a value:", s), -1;
        a->output = argv[i + 1];
        return 2;
    }
    if (strncmp(s, "--", 2) == 0 && s[2])
        return take_flag(a, argc, argv, i);
    if (s[0] == '-' && s[1])
        return al_args_usage_error(a, "unknown option", s), -1;
    if (a->npos >= a->spec->npos_max || a->npos >= AL_ARGS_MAX_POS)
        return al_args_usage_error(a, "unexpected argument", s), -1;
    a->pos[a->npos++] = s;
    return 1;
}

int al_args_parse(struct al_args *a, const struct al_cmd_spec *spec, int argc, char **argv)
{
    *a = (struct al_args){.spec = spec};
    for (size_t k = 0; spec->opts && spec->opts[k].name; k++)
        if (k >= AL_ARGS_MAX_OPTS)
            abort(); /* a command declares more flags than al_args holds: a bug */
    for (int i = 1; i < argc;) {
        int n = take_arg(a, argc, argv, i);
        if (n <= 0)
            return n == 0 ? 1 : -1;
        i += n;
    }
    if (a->npos < spec->npos_min)
        return al_args_usage_error(a, "missing argument", NULL), -1;
    if (a->output && strcmp(a->output, "json") != 0 && strcmp(a->output, "table") != 0)
        return al_args_usage_error(a, "-o takes table or json, not", a->output), -1;
    return 0;
}

int al_args_int(const char *s, long long *ret)
{
    int64_t v = 0;
    if (al_num_parse_i64(s, -AL_ARGS_INT_MAX, AL_ARGS_INT_MAX, &v) < 0)
        return -1;
    *ret = v;
    return 0;
}

const char *al_args_get(const struct al_args *a, const char *name)
{
    int k = find_opt(a->spec->opts, name, strlen(name));
    return k >= 0 ? a->val[k] : NULL;
}

static int parse_rel(const char *s, time_t now, time_t *ret)
{
    char num[16];
    long long n, mul;
    size_t len = strlen(s + 1);
    if (len < 2 || len > sizeof num)
        return -1;
    memcpy(num, s + 1, len - 1); /* the digits, without the unit */
    num[len - 1] = '\0';
    switch (s[len]) {
    case 's':
        mul = 1;
        break;
    case 'm':
        mul = 60;
        break;
    case 'h':
        mul = 3600;
        break;
    case 'd':
        mul = 86400;
        break;
    default:
        return -1;
    }
    if (num[0] == '-' || al_args_int(num, &n) < 0 || n > 100000)
        return -1;
    *ret = now + (time_t)(n * mul);
    return 0;
}

int al_args_time(const char *s, char *out, size_t cap)
{
    time_t now = time(NULL), t;
    struct tm tm;
    if (strcmp(s, "now") == 0) {
        t = now;
    } else if (s[0] == '+') {
        if (parse_rel(s, now, &t) < 0)
            return -1;
    } else {
        size_t n = strlen(s);
        if (n < 10 || n >= cap) /* passed through: the server validates RFC 3339 */
            return -1;
        memcpy(out, s, n + 1);
        return 0;
    }
    if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -1;
    return 0;
}

/* "12.345" → 12345000 micro-units, exactly (no floating point near money): core's one rule
 * (al_money_parse: at most 6 decimals), without a sign, since no flag takes a negative amount. */
static int parse_money(const char *s, long long *ret)
{
    int64_t v;
    if (s[0] == '-' || al_money_parse(s, &v, NULL) != 0)
        return -1;
    *ret = v;
    return 0;
}

/* "k=v,k2,k3=v3" as {"k": "v", "k2": "", "k3": "v3"}; NULL for an empty item or key (the
 * server checks the rest and names the field). */
static json_t *pairs_json(const char *v)
{
    char buf[AL_ARGS_MAX_LEN + 1];
    json_t *o = json_object();
    snprintf(buf, sizeof buf, "%s", v);
    for (char *p = buf; o && p;) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        if (!*p || json_object_set_new(o, p, json_string(eq ? eq : "")) != 0) {
            json_decref(o);
            return NULL;
        }
        p = end ? end + 1 : NULL;
    }
    return o;
}

/* The JSON value of one flag, or NULL when it does not parse. */
static json_t *flag_value(const struct al_opt *o, const char *v)
{
    char tbuf[64];
    switch (o->type) {
    case AL_ARG_BOOL:
        return json_true();
    case AL_ARG_INT: {
        long long n;
        return al_args_int(v, &n) < 0 ? NULL : json_integer(n);
    }
    case AL_ARG_MONEY: {
        long long m;
        return parse_money(v, &m) < 0 ? NULL : json_integer(m);
    }
    case AL_ARG_TIME:
        return al_args_time(v, tbuf, sizeof tbuf) < 0 ? NULL : json_string(tbuf);
    case AL_ARG_PAIRS:
        return pairs_json(v);
    default:
        return json_string(v); /* NULL for invalid UTF-8 */
    }
}

int al_args_to_json(const struct al_args *a, json_t *obj)
{
    char flag[80];
    for (int i = 0; a->spec->opts && a->spec->opts[i].name; i++) {
        const struct al_opt *o = &a->spec->opts[i];
        if (!o->field || !a->val[i])
            continue;
        json_t *v = flag_value(o, a->val[i]);
        snprintf(flag, sizeof flag, "--%s: '%.40s'", o->name, a->val[i]);
        if (!v)
            return al_args_usage_error(a, "invalid value for", flag), -1;
        json_object_set_new(obj, o->field, v);
    }
    return 0;
}
