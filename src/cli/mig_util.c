/* mig_util.c — option parsing, argument checks and JSON shapes shared by `allot mig …`. */
#include "cli/mig_util.h"

#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
    OPT_PROFILES = 256,
    OPT_MAXIMAL,
    OPT_COUNT,
    OPT_MIN_MEMORY,
    OPT_PLAIN,
    OPT_NAME,
    OPT_FILTER
};

static const struct option long_opts[] = {
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {"profiles", required_argument, NULL, OPT_PROFILES},
    {"maximal", no_argument, NULL, OPT_MAXIMAL},
    {"count", no_argument, NULL, OPT_COUNT},
    {"min-memory", required_argument, NULL, OPT_MIN_MEMORY},
    {"plain", no_argument, NULL, OPT_PLAIN},
    {"name", required_argument, NULL, OPT_NAME},
    {"device-filter", no_argument, NULL, OPT_FILTER},
    {NULL, 0, NULL, 0},
};

int al_mig_usage_error(const char *usage, const char *fmt, ...)
{
    va_list ap;
    char msg[512];
    size_t syn = strcspn(usage, "\n");
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Messages quote arguments: print them, never their control characters. */
    for (char *c = msg; *c; c++)
        if (!isprint((unsigned char)*c))
            *c = '?';
    fprintf(stderr, "allot mig: %s\n%.*s\n", msg, (int)syn, usage);
    return AL_EXIT_USAGE;
}

/* Apply one option `c` (its argument in optarg) to `o`; returns its AL_MIG_OPT_ bit. */
static unsigned apply_opt(int c, struct al_mig_opts *o)
{
    switch (c) {
    case OPT_PROFILES:
        o->profiles = optarg;
        return AL_MIG_OPT_PROFILES;
    case OPT_MAXIMAL:
        o->maximal = true;
        return AL_MIG_OPT_MAXIMAL;
    case OPT_COUNT:
        o->count = true;
        return AL_MIG_OPT_COUNT;
    case OPT_MIN_MEMORY:
        o->min_memory = optarg;
        return AL_MIG_OPT_MIN_MEMORY;
    case OPT_PLAIN:
        o->plain = true;
        return AL_MIG_OPT_PLAIN;
    case OPT_NAME:
        o->name = optarg;
        return AL_MIG_OPT_NAME;
    case OPT_FILTER:
        o->device_filter = true;
        return AL_MIG_OPT_FILTER;
    default:
        return 0;
    }
}

int al_mig_opts_parse(int argc, char **argv, unsigned allowed, const char *usage, int npos_min,
                      int npos_max, struct al_mig_opts *o)
{
    int c, li = -1;
    *o = (struct al_mig_opts){.fmt = AL_OUT_TABLE};
    optind = 0; /* glibc: full re-initialisation, each subcommand parses afresh */
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:h", long_opts, &li)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return AL_EXIT_OK;
        }
        if (c == 'o') {
            if (al_out_parse(optarg, &o->fmt) < 0)
                return al_mig_usage_error(usage, "bad -o value");
            continue;
        }
        if (c == ':')
            return al_mig_usage_error(usage, "option %s needs a value", argv[optind - 1]);
        if (c == '?' && optopt)
            return al_mig_usage_error(usage, "unknown option '-%c'", optopt);
        if (c == '?')
            return al_mig_usage_error(usage, "unknown option '%s'", argv[optind - 1]);
        if (!(apply_opt(c, o) & allowed))
            return al_mig_usage_error(usage, "option --%s does not apply here",
                                      li >= 0 ? long_opts[li].name : "?");
        li = -1;
    }
    o->npos = argc - optind;
    o->pos = argv + optind;
    if (o->npos < npos_min)
        return al_mig_usage_error(usage, "missing argument");
    if (o->npos > npos_max)
        return al_mig_usage_error(usage, "unexpected argument '%s'", o->pos[npos_max]);
    return -1;
}

const struct al_gpu_model *al_mig_model_arg(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    if (m)
        return m;
    fputs("allot mig: unknown GPU model '", stderr);
    for (size_t i = 0; i < 64 && name[i]; i++) /* echo the argument, never its escapes */
        fputc(isprint((unsigned char)name[i]) ? name[i] : '?', stderr);
    fputs("'\nknown models:", stderr);
    for (size_t i = 0; i < al_catalog_count(); i++)
        fprintf(stderr, "%s %s", i ? "," : "", al_catalog_at(i)->name);
    fputs("\n(see allot mig models)\n", stderr);
    return NULL;
}

bool al_mig_no_mig(const struct al_gpu_model *m)
{
    if (m->mig && m->nprofiles > 0)
        return false;
    fprintf(stderr, "allot mig: %s has no MIG support\n", m->name);
    return true;
}

int al_mig_model_with_mig(const char *name, const struct al_gpu_model **ret)
{
    const struct al_gpu_model *m = al_mig_model_arg(name);
    if (!m)
        return AL_EXIT_USAGE;
    if (al_mig_no_mig(m))
        return AL_EXIT_NO;
    *ret = m;
    return -1;
}

int al_mig_layout_arg(const struct al_gpu_model *m, const char *text, struct al_layout *ret,
                      struct al_err *e)
{
    struct al_layout in;
    bool any = false;
    if (al_layout_parse(m, text, &in, e) < 0)
        return AL_EXIT_USAGE;
    for (unsigned i = 0; i < in.n; i++)
        any = any || in.p[i].start == AL_START_ANY;
    if (any ? al_layout_place(&in, ret, e) < 0 : al_layout_validate(&in, e) < 0)
        return AL_EXIT_NO;
    if (!any)
        *ret = in;
    al_layout_sort(ret);
    return AL_EXIT_OK;
}

const char *al_mig_layout_text(const struct al_layout *l, char *buf, size_t len)
{
    struct al_layout s = *l;
    al_layout_sort(&s);
    al_layout_format(&s, buf, len);
    return buf;
}

const char *al_mig_attr_text(unsigned attrs, char *buf, size_t len)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{AL_MIG_ATTR_ME, "me"},
                 {AL_MIG_ATTR_ME_ALL, "me.all"},
                 {AL_MIG_ATTR_GFX, "gfx"},
                 {AL_MIG_ATTR_NO_ME, "no-me"}};
    size_t pos = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((attrs & names[i].bit) && pos < len)
            pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? "+" : "", names[i].name);
    return buf;
}

unsigned al_mig_layout_slices(const struct al_layout *l)
{
    unsigned s = 0;
    for (unsigned i = 0; i < l->n; i++)
        s += l->model->profiles[l->p[i].profile].compute_slices;
    return s;
}

unsigned al_mig_layout_mem_gb(const struct al_layout *l)
{
    unsigned s = 0;
    for (unsigned i = 0; i < l->n; i++)
        s += l->model->profiles[l->p[i].profile].mem_gb;
    return s;
}

json_t *al_mig_profile_json(const struct al_gpu_model *m, int k)
{
    const struct al_mig_profile *p = &m->profiles[k];
    json_t *starts = json_array(), *attrs = json_array();
    char buf[64];
    for (unsigned i = 0; i < p->nstarts && i < AL_MIG_MAX_STARTS; i++)
        json_array_append_new(starts, json_integer(p->starts[i]));
    al_mig_attr_text(p->attrs, buf, sizeof buf);
    char *save = NULL;
    for (char *t = strtok_r(buf, "+", &save); t; t = strtok_r(NULL, "+", &save))
        json_array_append_new(attrs, json_string(t));
    json_t *aliases = json_array();
    for (const char *const *a = p->aliases; a && *a; a++)
        json_array_append_new(aliases, json_string(*a));
    json_t *conf =
        json_pack("{s:s, s:s, s:s, s:s}", "id", al_catalog_conf_name(p->conf.id), "memory",
                  al_catalog_conf_name(p->conf.mem), "sms", al_catalog_conf_name(p->conf.sms),
                  "placements", al_catalog_conf_name(p->conf.place));
    return json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:s?, s:o}", "name",
                     p->name, "aliases", aliases, "nvml_id", (json_int_t)p->nvml_id,
                     "compute_slices", (json_int_t)p->compute_slices, "memory_gb",
                     (json_int_t)p->mem_gb, "memory_mib", (json_int_t)p->mem_mib, "sms",
                     (json_int_t)p->sms, "size", (json_int_t)p->size, "starts", starts, "max_count",
                     (json_int_t)p->max_count, "attrs", attrs, "unverified", p->unverified,
                     "confidence", conf);
}

json_t *al_mig_layout_json(const struct al_layout *layout)
{
    char text[512];
    json_t *pl = json_array();
    struct al_layout sorted = *layout, *l = &sorted;
    al_layout_sort(l);
    for (unsigned i = 0; i < l->n; i++) {
        const struct al_mig_profile *p = &l->model->profiles[l->p[i].profile];
        json_t *start = l->p[i].start == AL_START_ANY ? json_null() : json_integer(l->p[i].start);
        json_array_append_new(pl, json_pack("{s:s, s:o, s:I, s:I, s:I}", "profile", p->name,
                                            "start", start, "size", (json_int_t)p->size,
                                            "compute_slices", (json_int_t)p->compute_slices,
                                            "memory_gb", (json_int_t)p->mem_gb));
    }
    return json_pack("{s:s, s:I, s:I, s:I, s:o}", "text", al_mig_layout_text(l, text, sizeof text),
                     "instances", (json_int_t)l->n, "compute_slices",
                     (json_int_t)al_mig_layout_slices(l), "memory_gb",
                     (json_int_t)al_mig_layout_mem_gb(l), "placements", pl);
}
