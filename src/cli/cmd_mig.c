/* cmd_mig.c — `allot mig …`: the MIG engine on the command line, no server needed: the model
 * catalog, profiles, layout validation, enumeration, placement, diffs and profile picking.
 * The mig-parted import/export subcommands live in cmd_migparted.c; the MIG changes at a
 * server (changes, check, ack, apply) in cmd_migchange.c. */
#include "cli/cli.h"
#include "cli/mig_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char models_usage[] =
    "usage: allot mig models [-o table|json]\n"
    "List the GPU models allot knows: MIG support, memory, placement units, compute slices,\n"
    "number of MIG profiles, and which facts are not verified on real hardware.\n";

/* The note column: what about the model or its profiles is assumed, not verified. */
static void model_note(const struct al_gpu_model *m, char *buf, size_t len)
{
    unsigned nu = 0;
    for (unsigned k = 0; k < m->nprofiles; k++)
        nu += m->profiles[k].unverified != NULL;
    if (!m->unverified && !nu) {
        snprintf(buf, len, "%s", m->mig ? "verified" : "-");
        return;
    }
    snprintf(buf, len, "UNVERIFIED: %s%s%u profile(s) unverified",
             m->unverified ? m->unverified : "", m->unverified ? "; " : "", nu);
}

static json_t *model_json(const struct al_gpu_model *m)
{
    json_t *pci = json_array(), *aliases = json_array();
    char buf[16];
    unsigned nu = 0;
    for (size_t i = 0; i < sizeof m->pci_ids / sizeof m->pci_ids[0] && m->pci_ids[i]; i++) {
        snprintf(buf, sizeof buf, "0x%08X", (unsigned)m->pci_ids[i]);
        json_array_append_new(pci, json_string(buf));
    }
    for (size_t i = 0; m->aliases && m->aliases[i]; i++)
        json_array_append_new(aliases, json_string(m->aliases[i]));
    for (unsigned k = 0; k < m->nprofiles; k++)
        nu += m->profiles[k].unverified != NULL;
    return json_pack("{s:s, s:s?, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:s?, s:I}", "name",
                     m->name, "description", m->description, "mig", m->mig, "memory_gb",
                     (json_int_t)m->mem_gb, "units", (json_int_t)m->units, "compute_slices",
                     (json_int_t)m->compute_slices, "max_instances", (json_int_t)m->max_instances,
                     "profile_count", (json_int_t)m->nprofiles, "pci_ids", pci, "aliases", aliases,
                     "unverified", m->unverified, "unverified_profiles", (json_int_t)nu);
}

static int cmd_models(int argc, char **argv)
{
    static const char *const hdr[] = {"MODEL",  "MIG",      "MEMORY", "UNITS",
                                      "SLICES", "PROFILES", "NOTE"};
    struct al_mig_opts o;
    int rc = al_mig_opts_parse(argc, argv, 0, models_usage, 0, 0, &o);
    if (rc >= 0)
        return rc;
    if (o.fmt == AL_OUT_JSON) {
        json_t *arr = json_array();
        for (size_t i = 0; i < al_catalog_count(); i++)
            json_array_append_new(arr, model_json(al_catalog_at(i)));
        al_out_json(json_pack("{s:o}", "models", arr));
        return AL_EXIT_OK;
    }
    struct al_table *t = al_table_new(7, hdr);
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        char mem[16], units[16], slices[16], np[16], note[300];
        snprintf(mem, sizeof mem, "%uGB", m->mem_gb);
        snprintf(units, sizeof units, "%u", m->units);
        snprintf(slices, sizeof slices, "%u", m->compute_slices);
        snprintf(np, sizeof np, "%u", m->nprofiles);
        model_note(m, note, sizeof note);
        const char *row[] = {m->name,
                             m->mig ? "yes" : "no",
                             mem,
                             m->mig ? units : NULL,
                             m->mig ? slices : NULL,
                             m->mig ? np : NULL,
                             note};
        al_table_add(t, row);
    }
    al_table_print(t, stdout);
    al_table_free(t);
    return AL_EXIT_OK;
}

static const char profiles_usage[] =
    "usage: allot mig profiles MODEL [-o table|json]\n"
    "List the MIG GPU-instance profiles of MODEL: NVML profile id (differs per model), compute\n"
    "slices, usable memory (GiB), placement size and allowed starts (in placement units), the\n"
    "most instances per GPU, attributes (+me, +me.all, +gfx, -me) and any unverified fact.\n";

static void profile_row(struct al_table *t, const struct al_gpu_model *m, int k)
{
    const struct al_mig_profile *p = &m->profiles[k];
    char id[16], cs[16], mem[32], size[16], starts[64] = "", max[16], attrs[64];
    size_t pos = 0;
    snprintf(id, sizeof id, "%u", p->nvml_id);
    snprintf(cs, sizeof cs, "%u", p->compute_slices);
    snprintf(mem, sizeof mem, "%.2f", p->mem_mib / 1024.0);
    snprintf(size, sizeof size, "%u", p->size);
    for (unsigned i = 0; i < p->nstarts && i < AL_MIG_MAX_STARTS && pos < sizeof starts; i++)
        pos +=
            (size_t)snprintf(starts + pos, sizeof starts - pos, "%s%u", i ? "," : "", p->starts[i]);
    snprintf(max, sizeof max, "%u", p->max_count);
    al_mig_attr_text(p->attrs, attrs, sizeof attrs);
    const char *row[] = {p->name,
                         id,
                         cs,
                         mem,
                         size,
                         starts,
                         max,
                         attrs[0] ? attrs : NULL,
                         p->unverified ? p->unverified : NULL};
    al_table_add(t, row);
}

static void profiles_table(const struct al_gpu_model *m)
{
    static const char *const hdr[] = {"PROFILE", "ID",  "SLICES", "MEM_GIB", "SIZE",
                                      "STARTS",  "MAX", "ATTRS",  "NOTE"};
    struct al_table *t = al_table_new(9, hdr);
    for (unsigned k = 0; k < m->nprofiles; k++)
        profile_row(t, m, (int)k);
    printf("%s: %u placement units, %u compute slices, at most %u instances%s%s\n", m->name,
           m->units, m->compute_slices, m->max_instances, m->unverified ? "\nUNVERIFIED: " : "",
           m->unverified ? m->unverified : "");
    al_table_print(t, stdout);
    al_table_free(t);
}

static int cmd_profiles(int argc, char **argv)
{
    struct al_mig_opts o;
    int rc = al_mig_opts_parse(argc, argv, 0, profiles_usage, 1, 1, &o);
    const struct al_gpu_model *m = NULL;
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &m)) >= 0)
        return rc;
    if (o.fmt == AL_OUT_TABLE) {
        profiles_table(m);
        return AL_EXIT_OK;
    }
    json_t *arr = json_array();
    for (unsigned k = 0; k < m->nprofiles; k++)
        json_array_append_new(arr, al_mig_profile_json(m, (int)k));
    al_out_json(json_pack("{s:s, s:I, s:I, s:I, s:s?, s:o}", "model", m->name, "units",
                          (json_int_t)m->units, "compute_slices", (json_int_t)m->compute_slices,
                          "max_instances", (json_int_t)m->max_instances, "unverified",
                          m->unverified, "profiles", arr));
    return AL_EXIT_OK;
}

static const char validate_usage[] =
    "usage: allot mig validate MODEL LAYOUT [-o table|json]\n"
    "Check a layout against MODEL's rules: LAYOUT is PROFILE@START,... (\"none\" = empty), e.g.\n"
    "3g.40gb@0,2g.20gb@4,1g.10gb@6. Every instance needs its start here; use `allot mig place`\n"
    "to have starts chosen. Exit 0 when valid, 1 when not (the reason on stderr).\n";

/* A layout that parsed; every start fixed, and every rule kept. */
static int check_layout(const struct al_layout *l, struct al_err *e)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].start == AL_START_ANY)
            return al_err_set(e, AL_E_INVAL,
                              "%s: no start given (write %s@START, or use allot "
                              "mig place)",
                              l->model->profiles[l->p[i].profile].name,
                              l->model->profiles[l->p[i].profile].name);
    return al_layout_validate(l, e);
}

static int cmd_validate(int argc, char **argv)
{
    struct al_mig_opts o;
    struct al_layout l;
    struct al_err e = {0};
    char text[512];
    int rc = al_mig_opts_parse(argc, argv, 0, validate_usage, 2, 2, &o);
    const struct al_gpu_model *m = NULL;
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &m)) >= 0)
        return rc;
    bool valid = al_layout_parse(m, o.pos[1], &l, &e) == 0 && check_layout(&l, &e) == 0;
    if (valid)
        al_mig_layout_text(&l, text, sizeof text);
    if (!valid)
        fprintf(stderr, "invalid: %s\n", e.msg);
    if (o.fmt == AL_OUT_JSON)
        al_out_json(json_pack("{s:s, s:s, s:b, s:s?, s:o}", "model", m->name, "input", o.pos[1],
                              "valid", valid, "reason", valid ? NULL : e.msg, "layout",
                              valid ? al_mig_layout_json(&l) : json_null()));
    else if (valid)
        printf("valid: %s (%u instance%s, %u of %u compute slices)\n", text, l.n,
               l.n == 1 ? "" : "s", al_mig_layout_slices(&l), m->compute_slices);
    return valid ? AL_EXIT_OK : AL_EXIT_NO;
}

static const char layouts_usage[] =
    "usage: allot mig layouts MODEL [--profiles P,...] [--maximal] [--count] [-o table|json]\n"
    "Enumerate every valid non-empty layout of MODEL, each once, sorted.\n"
    "  --profiles P,...  build layouts only from these profiles (default: all)\n"
    "  --maximal         only layouts to which no profile of the set can be added\n"
    "  --count           print only how many there are\n";

/* --profiles "3g.40gb,1g.10gb" as a bit set of profile indices; 0 with a message on failure. */
static uint32_t profile_set_arg(const struct al_gpu_model *m, const char *list, struct al_err *e)
{
    char buf[512];
    char *save = NULL;
    uint32_t set = 0;
    if (strlen(list) >= sizeof buf) {
        al_err_set(e, AL_E_INVAL, "--profiles: list too long");
        return 0;
    }
    snprintf(buf, sizeof buf, "%s", list);
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int k = al_catalog_profile_index(m, t);
        if (k < 0 || k >= 32) {
            al_err_set(e, AL_E_INVAL,
                       "--profiles: unknown profile '%.40s' on %s (see allot mig profiles %s)", t,
                       m->name, m->name);
            return 0;
        }
        set |= 1u << k;
    }
    if (!set)
        al_err_set(e, AL_E_INVAL, "--profiles: empty list");
    return set;
}

struct collect {
    json_t *arr;        /* JSON mode */
    struct al_table *t; /* table mode */
    long n;
};

static int collect_layout(const struct al_layout *l, void *ctx)
{
    struct collect *c = ctx;
    char text[512], idx[24], inst[16], cs[16], mem[16];
    c->n++;
    if (c->arr) {
        json_array_append_new(c->arr, json_string(al_mig_layout_text(l, text, sizeof text)));
        return 0;
    }
    snprintf(idx, sizeof idx, "%ld", c->n);
    snprintf(inst, sizeof inst, "%u", l->n);
    snprintf(cs, sizeof cs, "%u", al_mig_layout_slices(l));
    snprintf(mem, sizeof mem, "%u", al_mig_layout_mem_gb(l));
    const char *row[] = {idx, al_mig_layout_text(l, text, sizeof text), inst, cs, mem};
    al_table_add(c->t, row);
    return 0;
}

static void layouts_json(const struct al_gpu_model *m, uint32_t set, const struct al_mig_opts *o)
{
    struct collect c = {.arr = o->count ? NULL : json_array()};
    long n = al_layout_enumerate(m, set, o->maximal, o->count ? NULL : collect_layout, &c);
    json_t *profs = json_array();
    for (unsigned k = 0; k < m->nprofiles && k < 32; k++)
        if (!set || (set & (1u << k)))
            json_array_append_new(profs, json_string(m->profiles[k].name));
    json_t *j = json_pack("{s:s, s:o, s:b, s:I}", "model", m->name, "profiles", profs, "maximal",
                          o->maximal, "count", (json_int_t)n);
    if (c.arr)
        json_object_set_new(j, "layouts", c.arr);
    al_out_json(j);
}

static int cmd_layouts(int argc, char **argv)
{
    static const char *const hdr[] = {"#", "LAYOUT", "INSTANCES", "SLICES", "MEMORY_GB"};
    struct al_mig_opts o;
    struct al_err e = {0};
    uint32_t set = 0;
    int rc =
        al_mig_opts_parse(argc, argv, AL_MIG_OPT_PROFILES | AL_MIG_OPT_MAXIMAL | AL_MIG_OPT_COUNT,
                          layouts_usage, 1, 1, &o);
    const struct al_gpu_model *m = NULL;
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &m)) >= 0)
        return rc;
    if (o.profiles && !(set = profile_set_arg(m, o.profiles, &e)))
        return al_mig_usage_error(layouts_usage, "%s", e.msg);
    if (o.fmt == AL_OUT_JSON) {
        layouts_json(m, set, &o);
        return AL_EXIT_OK;
    }
    if (o.count) {
        printf("%ld\n", al_layout_enumerate(m, set, o.maximal, NULL, NULL));
        return AL_EXIT_OK;
    }
    struct collect c = {.t = al_table_new(5, hdr)};
    al_layout_enumerate(m, set, o.maximal, collect_layout, &c);
    al_table_print(c.t, stdout);
    al_table_free(c.t);
    printf("%ld %slayouts of %s\n", c.n, o.maximal ? "maximal " : "", m->name);
    return AL_EXIT_OK;
}

static const char place_usage[] =
    "usage: allot mig place MODEL PROFILE[@START]... [-o table|json]\n"
    "Find starts for the instances given (PROFILE alone = any start; PROFILE@START = fixed),\n"
    "keeping the largest profiles placeable afterwards. Prints the placed layout, or exits 1\n"
    "with the reason when no placement exists.\n";

static void placements_table(const struct al_layout *in)
{
    static const char *const hdr[] = {"PROFILE", "START", "UNITS", "SLICES", "MEMORY_GB"};
    struct al_table *t = al_table_new(5, hdr);
    struct al_layout l = *in;
    al_layout_sort(&l);
    for (unsigned i = 0; i < l.n; i++) {
        const struct al_mig_profile *p = &l.model->profiles[l.p[i].profile];
        char start[8], units[16], cs[16], mem[16];
        snprintf(start, sizeof start, "%u", l.p[i].start);
        snprintf(units, sizeof units, "%u-%u", l.p[i].start, l.p[i].start + p->size - 1);
        snprintf(cs, sizeof cs, "%u", p->compute_slices);
        snprintf(mem, sizeof mem, "%u", p->mem_gb);
        const char *row[] = {p->name, start, units, cs, mem};
        al_table_add(t, row);
    }
    al_table_print(t, stdout);
    al_table_free(t);
}

/* Join argv items with ',' into buf; false when it does not fit. */
static bool join_args(int n, char **items, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        int w = snprintf(buf + pos, len - pos, "%s%s", i ? "," : "", items[i]);
        if (w < 0 || (size_t)w >= len - pos)
            return false;
        pos += (size_t)w;
    }
    return true;
}

static int cmd_place(int argc, char **argv)
{
    struct al_mig_opts o;
    struct al_layout l;
    struct al_err e = {0};
    char text[1024];
    int rc = al_mig_opts_parse(argc, argv, 0, place_usage, 2, AL_LAYOUT_MAX + 1, &o);
    const struct al_gpu_model *m = NULL;
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &m)) >= 0)
        return rc;
    if (!join_args(o.npos - 1, o.pos + 1, text, sizeof text))
        return al_mig_usage_error(place_usage, "profile list too long");
    rc = al_mig_layout_arg(m, text, &l, &e);
    if (rc == AL_EXIT_USAGE)
        return al_mig_usage_error(place_usage, "%s", e.msg);
    if (rc != AL_EXIT_OK) {
        fprintf(stderr, "no placement: %s\n", e.msg);
        if (o.fmt == AL_OUT_JSON)
            al_out_json(
                json_pack("{s:s, s:b, s:s}", "model", m->name, "placed", 0, "reason", e.msg));
        return rc;
    }
    if (o.fmt == AL_OUT_JSON) {
        al_out_json(json_pack("{s:s, s:b, s:o}", "model", m->name, "placed", 1, "layout",
                              al_mig_layout_json(&l)));
        return AL_EXIT_OK;
    }
    placements_table(&l);
    printf("layout: %s\n", al_mig_layout_text(&l, text, sizeof text));
    return AL_EXIT_OK;
}

static const char diff_usage[] =
    "usage: allot mig diff MODEL FROM TO [-o table|json]\n"
    "The ordered steps that turn layout FROM into layout TO: destroys first, then creates;\n"
    "instances in both (same profile and start) are kept untouched. Items without @START are\n"
    "placed first. Exit 1 when either layout is invalid.\n";

/* The instances of `to` already in `from` (same profile and start): the ones diff leaves. */
static const char *kept_text(const struct al_layout *from, const struct al_layout *to, char *buf,
                             size_t len)
{
    struct al_layout kept = {.model = to->model};
    for (unsigned i = 0; i < to->n; i++)
        for (unsigned j = 0; j < from->n; j++)
            if (to->p[i].profile == from->p[j].profile && to->p[i].start == from->p[j].start) {
                kept.p[kept.n++] = to->p[i];
                break;
            }
    return al_mig_layout_text(&kept, buf, len);
}

static void diff_print(const struct al_layout *from, const struct al_layout *to,
                       const struct al_mig_step *st, int n, enum al_out_format fmt)
{
    static const char *const hdr[] = {"STEP", "OP", "INSTANCE"};
    char a[512], b[512], k[512];
    json_t *steps = json_array();
    struct al_table *t = al_table_new(3, hdr);
    for (int i = 0; i < n; i++) {
        const char *prof = from->model->profiles[st[i].p.profile].name;
        const char *op = st[i].op == AL_STEP_DESTROY ? "destroy" : "create";
        char num[16], inst[64];
        snprintf(num, sizeof num, "%d", i + 1);
        snprintf(inst, sizeof inst, "%s@%u", prof, st[i].p.start);
        const char *row[] = {num, op, inst};
        al_table_add(t, row);
        json_array_append_new(steps, json_pack("{s:s, s:s, s:i}", "op", op, "profile", prof,
                                               "start", (int)st[i].p.start));
    }
    al_mig_layout_text(from, a, sizeof a);
    al_mig_layout_text(to, b, sizeof b);
    kept_text(from, to, k, sizeof k);
    if (fmt == AL_OUT_JSON) {
        al_out_json(json_pack("{s:s, s:s, s:s, s:s, s:o}", "model", from->model->name, "from", a,
                              "to", b, "kept", k, "steps", steps));
    } else {
        json_decref(steps);
        printf("from: %s\nto:   %s\nkept: %s\n", a, b, k);
        if (n)
            al_table_print(t, stdout);
        else
            puts("no change");
    }
    al_table_free(t);
}

static int cmd_diff(int argc, char **argv)
{
    struct al_mig_opts o;
    struct al_layout from, to;
    struct al_mig_step steps[AL_DIFF_MAX];
    struct al_err e = {0};
    int rc = al_mig_opts_parse(argc, argv, 0, diff_usage, 3, 3, &o);
    const struct al_gpu_model *m = NULL;
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &m)) >= 0)
        return rc;
    for (int i = 0; i < 2; i++) {
        rc = al_mig_layout_arg(m, o.pos[1 + i], i ? &to : &from, &e);
        if (rc == AL_EXIT_USAGE)
            return al_mig_usage_error(diff_usage, "%s: %s", i ? "TO" : "FROM", e.msg);
        if (rc != AL_EXIT_OK) {
            fprintf(stderr, "invalid %s layout: %s\n", i ? "TO" : "FROM", e.msg);
            return rc;
        }
    }
    int n = al_layout_diff(&from, &to, steps, &e);
    if (n < 0) {
        fprintf(stderr, "allot mig: diff: %s\n", e.msg);
        return AL_EXIT_NO;
    }
    diff_print(&from, &to, steps, n, o.fmt);
    return AL_EXIT_OK;
}

static const char pick_usage[] =
    "usage: allot mig pick MODEL --min-memory SIZE [--plain] [-o table|json]\n"
    "The smallest profile of MODEL with at least SIZE usable memory (fewest compute slices,\n"
    "then no media attribute). SIZE: 30GB (10^9), 30GiB or 30G (2^30), 512MiB, or bytes.\n"
    "  --plain  skip +me/+me.all/+gfx/-me variants\n"
    "Exit 1 when no profile is large enough.\n";

static int cmd_pick(int argc, char **argv)
{
    static const char *const hdr[] = {"PROFILE", "ID",  "SLICES", "MEM_GIB", "SIZE",
                                      "STARTS",  "MAX", "ATTRS",  "NOTE"};
    struct al_mig_opts o;
    uint64_t bytes;
    int rc = al_mig_opts_parse(argc, argv, AL_MIG_OPT_MIN_MEMORY | AL_MIG_OPT_PLAIN, pick_usage, 1,
                               1, &o);
    if (rc >= 0)
        return rc;
    const struct al_gpu_model *m = al_mig_model_arg(o.pos[0]);
    if (!m)
        return AL_EXIT_USAGE;
    if (!o.min_memory)
        return al_mig_usage_error(pick_usage, "--min-memory is required");
    if (al_catalog_parse_size(o.min_memory, &bytes) < 0)
        return al_mig_usage_error(pick_usage, "--min-memory: bad size '%s'", o.min_memory);
    if (al_mig_no_mig(m))
        return AL_EXIT_NO;
    int k = al_catalog_pick(m, bytes, o.plain);
    if (k < 0)
        fprintf(stderr, "no profile of %s has %s or more\n", m->name, o.min_memory);
    if (o.fmt == AL_OUT_JSON) {
        al_out_json(json_pack("{s:s, s:I, s:b, s:o}", "model", m->name, "min_memory_bytes",
                              (json_int_t)bytes, "plain", o.plain, "profile",
                              k < 0 ? json_null() : al_mig_profile_json(m, k)));
    } else if (k >= 0) {
        struct al_table *t = al_table_new(9, hdr);
        profile_row(t, m, k);
        al_table_print(t, stdout);
        al_table_free(t);
    }
    return k < 0 ? AL_EXIT_NO : AL_EXIT_OK;
}

int al_cmd_mig(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"models", "list GPU models: MIG support, units, profiles, unverified facts", cmd_models},
        {"profiles", "list a model's MIG profiles: ids, slices, memory, starts", cmd_profiles},
        {"validate", "check a layout (PROFILE@START,...) against a model's rules", cmd_validate},
        {"layouts", "enumerate valid (or maximal) layouts of a model", cmd_layouts},
        {"place", "find starts for a set of instances", cmd_place},
        {"diff", "destroy/create steps from one layout to another", cmd_diff},
        {"pick", "smallest profile with at least a given memory", cmd_pick},
        {"export-mig-parted", "write a layout as a mig-parted v1 config", al_cmd_mig_export},
        {"import-mig-parted", "read a mig-parted config and place it on a model",
         al_cmd_mig_import},
        {"changes", "list MIG changes at the server (planned, approved, applied…)",
         al_cmd_mig_changes},
        {"check", "a MIG change with its safety checks, computed now", al_cmd_mig_check},
        {"ack", "acknowledge a MIG change for your org (org admin)", al_cmd_mig_ack},
        {"apply", "approve a planned MIG change (operator; --force --reason)", al_cmd_mig_apply},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot mig", cmds, argc, argv);
}
