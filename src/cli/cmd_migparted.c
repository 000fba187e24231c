/* cmd_migparted.c — `allot mig export-mig-parted` (a layout as a mig-parted v1 config) and
 * `allot mig import-mig-parted` (a mig-parted config file read, validated and placed). */
#include "cli/mig_util.h"
#include "core/migparted.h"
#include "migyaml/migparted_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_NAME "allot"

static const char export_usage[] =
    "usage: allot mig export-mig-parted MODEL LAYOUT [--name LABEL] [--device-filter]\n"
    "                                   [-o table|json]\n"
    "Write LAYOUT (PROFILE[@START],...) as an nvidia-mig-parted `version: v1` config with one\n"
    "label (default \"" DEFAULT_NAME "\"), for `nvidia-mig-parted apply -f FILE -c LABEL`.\n"
    "mig-parted takes profile counts only; the driver then picks starts itself.\n"
    "  --name LABEL     config label: 1-63 characters of A-Z a-z 0-9 . _ -\n"
    "  --device-filter  restrict the entry to MODEL's PCI device ids (when known)\n"
    "  -o json          the same config as JSON (mig-parted reads JSON too)\n";

static json_t *export_json(const struct al_layout *l, const char *name, bool filter)
{
    struct al_profile_count pc[AL_MIG_MAX_PROFILES];
    const struct al_gpu_model *m = l->model;
    json_t *devs = json_object(), *entry = json_object();
    int n = al_migparted_counts(l, pc);
    for (int i = 0; i < n; i++)
        json_object_set_new(devs, pc[i].name, json_integer(pc[i].count));
    if (filter && m->pci_ids[0]) {
        json_t *ids = json_array();
        char buf[16];
        for (size_t i = 0; i < sizeof m->pci_ids / sizeof m->pci_ids[0] && m->pci_ids[i]; i++) {
            snprintf(buf, sizeof buf, "0x%08X", (unsigned)m->pci_ids[i]);
            json_array_append_new(ids, json_string(buf));
        }
        json_object_set_new(entry, "device-filter", ids);
    }
    json_object_set_new(entry, "devices", json_string("all"));
    json_object_set_new(entry, "mig-enabled", json_true());
    json_object_set_new(entry, "mig-devices", devs);
    return json_pack("{s:s, s:{s:[o]}}", "version", "v1", "mig-configs", name, entry);
}

int al_cmd_mig_export(int argc, char **argv)
{
    struct al_mig_opts o;
    struct al_layout l;
    struct al_err e = {0};
    char text[4096];
    int rc =
        al_mig_opts_parse(argc, argv, AL_MIG_OPT_NAME | AL_MIG_OPT_FILTER, export_usage, 2, 2, &o);
    if (rc >= 0)
        return rc;
    const struct al_gpu_model *m = al_mig_model_arg(o.pos[0]);
    if (!m)
        return AL_EXIT_USAGE;
    const char *name = o.name ? o.name : DEFAULT_NAME;
    if (al_migparted_name_check(name, &e) < 0)
        return al_mig_usage_error(export_usage, "--name: %s", e.msg);
    if (al_mig_no_mig(m))
        return AL_EXIT_NO;
    rc = al_mig_layout_arg(m, o.pos[1], &l, &e);
    if (rc == AL_EXIT_USAGE)
        return al_mig_usage_error(export_usage, "%s", e.msg);
    if (rc != AL_EXIT_OK) {
        fprintf(stderr, "invalid layout: %s\n", e.msg);
        return rc;
    }
    if (o.fmt == AL_OUT_JSON) {
        al_out_json(export_json(&l, name, o.device_filter));
        return AL_EXIT_OK;
    }
    unsigned flags = o.device_filter ? AL_MIGPARTED_DEVICE_FILTER : 0;
    int n = al_migparted_export(&l, name, flags, text, sizeof text, &e);
    if (n < 0 || (size_t)n >= sizeof text) {
        fprintf(stderr, "allot mig: export: %s\n", n < 0 ? e.msg : "config too long");
        return AL_EXIT_FAIL;
    }
    fputs(text, stdout);
    return AL_EXIT_OK;
}

static const char import_usage[] =
    "usage: allot mig import-mig-parted MODEL FILE [--name LABEL] [-o table|json]\n"
    "Read an nvidia-mig-parted `version: v1` config (FILE, or - for stdin; at most 1 MiB),\n"
    "validate it as mig-parted does, and place each entry's profile counts on MODEL.\n"
    "Entries whose device-filter does not select MODEL are skipped, and so, unless --name is\n"
    "given, are entries that name only profiles MODEL does not have (labels for other GPUs).\n"
    "  --name LABEL  only this config label\n"
    "Exit 0 when every entry that applies to MODEL has a layout, 1 when one does not fit or\n"
    "names a profile MODEL lacks, when nothing applies, or when FILE is not a valid config;\n"
    "3 when FILE cannot be read.\n";

enum entry_status { ST_PLACED, ST_DISABLED, ST_SKIPPED, ST_INVALID, ST_NOFIT };

static const char *const status_names[] = {"placed", "mig-disabled", "skipped", "invalid",
                                           "no-fit"};

struct entry_result {
    enum entry_status st;
    struct al_layout l;
    char reason[AL_ERR_MSG_MAX];
};

/* True when an entry asks for instances but none of its profiles exists on `m`: a config
 * written for another GPU (mig-parted's own files hold labels for every model). */
static bool foreign_entry(const struct al_gpu_model *m, const struct al_mpy_entry *en)
{
    bool asks = false;
    for (unsigned i = 0; i < en->nprofiles; i++) {
        if (en->profiles[i].count == 0)
            continue;
        asks = true;
        /* by name, as the import finds it (core/migparted.c): an alias is this GPU's too */
        if (al_catalog_profile_by_name(m, en->profiles[i].name) >= 0)
            return false;
    }
    return asks;
}

/* Place one entry on `m`. `strict` (a label chosen with --name): an entry naming only
 * profiles `m` lacks is an error, not skipped. */
static void import_entry(const struct al_gpu_model *m, const struct al_mpy_entry *en, bool strict,
                         struct entry_result *r)
{
    struct al_layout counts;
    struct al_err e = {0};
    *r = (struct entry_result){.st = ST_PLACED};
    if (en->nfilters && m->pci_ids[0] &&
        !al_migparted_filter_matches(m, en->filters, en->nfilters)) {
        r->st = ST_SKIPPED;
        snprintf(r->reason, sizeof r->reason, "device-filter does not select %s", m->name);
        return;
    }
    if (!strict && en->mig_enabled && foreign_entry(m, en)) {
        r->st = ST_SKIPPED;
        snprintf(r->reason, sizeof r->reason, "names no profile of %s (%s…)", m->name,
                 en->profiles[0].name);
        return;
    }
    if (en->nfilters && !m->pci_ids[0])
        snprintf(r->reason, sizeof r->reason, "device-filter not checked: PCI ids of %s unknown",
                 m->name);
    if (!en->mig_enabled) {
        r->st = ST_DISABLED;
        return;
    }
    int rc = al_migparted_to_layout(m, en->profiles, en->nprofiles, &counts, &e);
    if (rc == 0)
        rc = al_layout_place(&counts, &r->l, &e);
    if (rc < 0) {
        r->st = rc == AL_E_NOFIT ? ST_NOFIT : ST_INVALID;
        snprintf(r->reason, sizeof r->reason, "%s", e.msg);
        return;
    }
    r->st = ST_PLACED;
    al_layout_sort(&r->l);
}

static const char *devices_text(const struct al_mpy_entry *en, char *buf, size_t len)
{
    size_t pos = 0;
    if (en->devices_all)
        return "all";
    if (en->ndevices == 0)
        return "none";
    buf[0] = '\0';
    for (unsigned i = 0; i < en->ndevices && pos < len; i++)
        pos += (size_t)snprintf(buf + pos, len - pos, "%s%u", i ? "," : "", en->devices[i]);
    return buf;
}

static json_t *entry_json(const struct al_mpy_entry *en, size_t idx, const struct entry_result *r)
{
    json_t *devs = en->devices_all ? json_string("all") : json_array();
    json_t *profs = json_object(), *filt = json_array();
    char buf[16];
    for (unsigned i = 0; !en->devices_all && i < en->ndevices; i++)
        json_array_append_new(devs, json_integer(en->devices[i]));
    for (unsigned i = 0; i < en->nprofiles; i++)
        json_object_set_new(profs, en->profiles[i].name, json_integer(en->profiles[i].count));
    for (unsigned i = 0; i < en->nfilters; i++) {
        snprintf(buf, sizeof buf, "0x%08X", (unsigned)en->filters[i]);
        json_array_append_new(filt, json_string(buf));
    }
    return json_pack("{s:I, s:o, s:o, s:b, s:o, s:s, s:o, s:s?}", "index", (json_int_t)idx,
                     "devices", devs, "device_filter", filt, "mig_enabled", en->mig_enabled,
                     "mig_devices", profs, "status", status_names[r->st], "layout",
                     r->st == ST_PLACED ? al_mig_layout_json(&r->l) : json_null(), "reason",
                     r->reason[0] ? r->reason : NULL);
}

struct import_run {
    const struct al_gpu_model *m;
    enum al_out_format fmt;
    struct al_table *t;
    json_t *configs;
    bool strict;       /* one label chosen with --name */
    unsigned count[5]; /* per enum entry_status */
};

static void import_config(struct import_run *run, const struct al_mpy_config *cfg)
{
    json_t *entries = json_array();
    for (size_t i = 0; i < cfg->nentries; i++) {
        struct entry_result r;
        char idx[24], devs[400], text[512];
        import_entry(run->m, &cfg->entries[i], run->strict, &r);
        run->count[r.st]++;
        json_array_append_new(entries, entry_json(&cfg->entries[i], i, &r));
        snprintf(idx, sizeof idx, "%zu", i);
        const char *what = r.st == ST_PLACED     ? al_mig_layout_text(&r.l, text, sizeof text)
                           : r.st == ST_DISABLED ? "(MIG off: whole GPU)"
                                                 : r.reason;
        const char *row[] = {cfg->name, idx, devices_text(&cfg->entries[i], devs, sizeof devs),
                             status_names[r.st], what};
        al_table_add(run->t, row);
    }
    json_array_append_new(run->configs,
                          json_pack("{s:s, s:o}", "name", cfg->name, "entries", entries));
}

static void import_print(struct import_run *run, const char *file)
{
    unsigned *c = run->count;
    if (run->fmt == AL_OUT_JSON) {
        al_out_json(json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I}", "model", run->m->name, "file",
                              file, "configs", json_incref(run->configs), "placed",
                              (json_int_t)c[ST_PLACED], "mig_disabled", (json_int_t)c[ST_DISABLED],
                              "skipped", (json_int_t)c[ST_SKIPPED], "failed",
                              (json_int_t)c[ST_INVALID] + c[ST_NOFIT]));
        return;
    }
    al_table_print(run->t, stdout);
    printf("%s: %u placed, %u MIG disabled, %u skipped, %u failed\n", run->m->name, c[ST_PLACED],
           c[ST_DISABLED], c[ST_SKIPPED], c[ST_INVALID] + c[ST_NOFIT]);
}

/* Exit code of a failed read: a file that cannot be read is a failure (3), one that is not a
 * valid config a "no" (1). */
static int read_failed(const char *file, const struct al_err *e)
{
    fprintf(stderr, "allot mig: %s%s%s\n",
            e->code == AL_E_INVAL || e->code == AL_E_RANGE ? file : "",
            e->code == AL_E_INVAL || e->code == AL_E_RANGE ? ": " : "", e->msg);
    return e->code == AL_E_INVAL || e->code == AL_E_RANGE ? AL_EXIT_NO : AL_EXIT_FAIL;
}

static int label_missing(const struct al_mpy_file *f, const char *name)
{
    fprintf(stderr, "allot mig: no config label '%s'; labels:", name);
    for (size_t i = 0; i < f->nconfigs; i++)
        fprintf(stderr, "%s %s", i ? "," : "", f->configs[i].name);
    fputc('\n', stderr);
    return AL_EXIT_NO;
}

int al_cmd_mig_import(int argc, char **argv)
{
    static const char *const hdr[] = {"CONFIG", "ENTRY", "DEVICES", "STATUS", "LAYOUT"};
    struct al_mig_opts o;
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    struct import_run run = {0};
    int rc = al_mig_opts_parse(argc, argv, AL_MIG_OPT_NAME, import_usage, 2, 2, &o);
    if (rc >= 0 || (rc = al_mig_model_with_mig(o.pos[0], &run.m)) >= 0)
        return rc;
    if (al_migparted_yaml_read(o.pos[1], &f, &e) < 0)
        return read_failed(o.pos[1], &e);
    const struct al_mpy_config *one = o.name ? al_migparted_yaml_find(f, o.name) : NULL;
    if (o.name && !one) {
        rc = label_missing(f, o.name);
        goto out;
    }
    run.fmt = o.fmt;
    run.strict = one != NULL;
    run.t = al_table_new(5, hdr);
    run.configs = json_array();
    for (size_t i = 0; i < f->nconfigs; i++)
        if (!one || one == &f->configs[i])
            import_config(&run, &f->configs[i]);
    import_print(&run, o.pos[1]);
    unsigned failed = run.count[ST_INVALID] + run.count[ST_NOFIT];
    rc = failed || run.count[ST_PLACED] + run.count[ST_DISABLED] == 0 ? AL_EXIT_NO : AL_EXIT_OK;
out:
    json_decref(run.configs);
    al_table_free(run.t);
    al_migparted_yaml_free(f);
    return rc;
}
