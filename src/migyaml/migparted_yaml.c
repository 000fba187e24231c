/* migparted_yaml.c — parse and validate a mig-parted `version: v1` config file with libyaml's
 * document loader. The walk follows the schema, so aliases cannot make it recurse, and every
 * list it keeps is bounded. */
#include "migyaml/migparted_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct ctx {
    yaml_document_t *doc;
    struct al_err *err;
};

static unsigned line_of(const yaml_node_t *n)
{
    return (unsigned)n->start_mark.line + 1;
}

/* The text of a scalar node, or NULL when it is not a scalar or holds a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
    if (!n || n->type != YAML_SCALAR_NODE)
        return NULL;
    const char *s = (const char *)n->data.scalar.value;
    return strlen(s) == n->data.scalar.length ? s : NULL;
}

static bool is_null(const yaml_node_t *n)
{
    const char *s = scalar(n);
    return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
            strcmp(s, "NULL") == 0);
}

/* `s` cut to 40 characters with anything unprintable as '?', for messages that quote the file
 * (so a config cannot write terminal escapes through an error). Returns buf. */
static const char *shown(const char *s, char buf[48])
{
    size_t i = 0;
    for (; i < 40 && s[i]; i++)
        buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

static yaml_node_t *node_at(struct ctx *c, int idx)
{
    return yaml_document_get_node(c->doc, idx);
}

/* Match the keys of mapping `n` against `keys` (NULL-terminated), filling vals[i] with the
 * value of keys[i] or NULL. Unknown, duplicate and non-scalar keys are errors. */
static int map_fields(struct ctx *c, yaml_node_t *n, const char *what, const char *const *keys,
                      yaml_node_t **vals)
{
    size_t nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    if (n->type != YAML_MAPPING_NODE)
        return al_err_set(c->err, AL_E_INVAL, "line %u: %s: expected a mapping", line_of(n), what);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *ks = scalar(k);
        size_t i = 0;
        if (!ks)
            return al_err_set(c->err, AL_E_INVAL, "line %u: %s: keys must be plain strings",
                              k ? line_of(k) : 0, what);
        while (i < nk && strcmp(keys[i], ks) != 0)
            i++;
        if (i == nk) {
            char b[48];
            return al_err_set(c->err, AL_E_INVAL, "line %u: %s: unknown field '%s'", line_of(k),
                              what, shown(ks, b));
        }
        if (vals[i])
            return al_err_set(c->err, AL_E_INVAL, "line %u: %s: field '%s' given twice", line_of(k),
                              what, ks);
        vals[i] = node_at(c, p->value);
    }
    return 0;
}

/* A plain decimal integer 0..max, no sign, no leading zeros. */
static int get_uint(struct ctx *c, yaml_node_t *n, const char *what, unsigned max, unsigned *ret)
{
    const char *s = scalar(n);
    unsigned long v = 0;
    size_t len = s ? strlen(s) : 0;
    bool ok = s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && len > 0 && len <= 6 &&
              !(len > 1 && s[0] == '0');
    for (size_t i = 0; ok && i < len; i++) {
        ok = isdigit((unsigned char)s[i]) != 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (!ok)
        return al_err_set(c->err, AL_E_INVAL, "line %u: %s: expected an integer 0..%u", line_of(n),
                          what, max);
    if (v > max)
        return al_err_set(c->err, AL_E_RANGE, "line %u: %s: %lu is over %u", line_of(n), what, v,
                          max);
    *ret = (unsigned)v;
    return 0;
}

static int get_bool(struct ctx *c, yaml_node_t *n, const char *what, bool *ret)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False",
                                                                              "FALSE"};
    const char *s = scalar(n);
    if (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
                *ret = strcmp(s, yes[i]) == 0;
                return 0;
            }
        }
    return al_err_set(c->err, AL_E_INVAL, "line %u: %s: expected true or false", line_of(n), what);
}

static int get_devices(struct ctx *c, yaml_node_t *n, const char *what, struct al_mpy_entry *e)
{
    const char *s = scalar(n);
    if (s) {
        if (strcmp(s, "all") != 0)
            return al_err_set(c->err, AL_E_INVAL,
                              "line %u: %s: expected \"all\" or a list of GPU indices", line_of(n),
                              what);
        e->devices_all = true;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE) /* [] is allowed, as mig-parted allows it */
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: %s: expected \"all\" or a list of GPU indices", line_of(n),
                          what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        if (e->ndevices == AL_MPY_DEVICES_MAX)
            return al_err_set(c->err, AL_E_RANGE, "line %u: %s: more than %d GPU indices",
                              line_of(n), what, AL_MPY_DEVICES_MAX);
        int rc = get_uint(c, node_at(c, *it), what, 1023, &e->devices[e->ndevices]);
        if (rc < 0)
            return rc;
        e->ndevices++;
    }
    return 0;
}

/* "0x20B010DE": a PCI device id with the vendor, as mig-parted's device-filter writes it. */
static int get_pci(struct ctx *c, yaml_node_t *n, const char *what, uint32_t *ret)
{
    const char *s = scalar(n);
    size_t len = s ? strlen(s) : 0;
    bool ok = len >= 3 && len <= 10 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    uint32_t v = 0;
    for (size_t i = 2; ok && i < len; i++) {
        int d = isdigit((unsigned char)s[i]) ? s[i] - '0' : tolower((unsigned char)s[i]) - 'a' + 10;
        ok = isxdigit((unsigned char)s[i]) != 0;
        v = (v << 4) | (uint32_t)(d & 0xf);
    }
    if (!ok)
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: %s: expected a PCI id such as \"0x233010DE\"",
                          n ? line_of(n) : 0, what);
    *ret = v;
    return 0;
}

static int get_filter(struct ctx *c, yaml_node_t *n, const char *what, struct al_mpy_entry *e)
{
    if (scalar(n)) {
        e->nfilters = 1;
        return get_pci(c, n, what, &e->filters[0]);
    }
    if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top == n->data.sequence.items.start)
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: %s: expected a PCI id or a non-empty list of them", line_of(n),
                          what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        if (e->nfilters == AL_MPY_FILTERS_MAX)
            return al_err_set(c->err, AL_E_RANGE, "line %u: %s: more than %d PCI ids", line_of(n),
                              what, AL_MPY_FILTERS_MAX);
        int rc = get_pci(c, node_at(c, *it), what, &e->filters[e->nfilters]);
        if (rc < 0)
            return rc;
        e->nfilters++;
    }
    return 0;
}

static bool profile_key_ok(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > AL_MIGPARTED_PROFILE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".+-", s[i]))
            return false;
    return true;
}

static int get_profiles(struct ctx *c, yaml_node_t *n, const char *what, struct al_mpy_entry *e)
{
    if (is_null(n))
        return 0;
    if (n->type != YAML_MAPPING_NODE)
        return al_err_set(c->err, AL_E_INVAL, "line %u: %s: expected a mapping profile: count",
                          line_of(n), what);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(c, p->key);
        const char *ks = scalar(k);
        char field[256];
        if (!ks || !profile_key_ok(ks))
            return al_err_set(c->err, AL_E_INVAL,
                              "line %u: %s: a key is not a profile name such as \"3g.40gb\"",
                              k ? line_of(k) : 0, what);
        for (unsigned i = 0; i < e->nprofiles; i++)
            if (strcmp(e->profiles[i].name, ks) == 0)
                return al_err_set(c->err, AL_E_INVAL, "line %u: %s: profile '%s' given twice",
                                  line_of(k), what, ks);
        if (e->nprofiles == AL_MPY_PROFILES_MAX)
            return al_err_set(c->err, AL_E_RANGE, "line %u: %s: more than %d profiles", line_of(k),
                              what, AL_MPY_PROFILES_MAX);
        struct al_profile_count *pc = &e->profiles[e->nprofiles];
        snprintf(field, sizeof field, "%s.\"%.31s\"", what, ks);
        int rc = get_uint(c, node_at(c, p->value), field, AL_MPY_COUNT_MAX, &pc->count);
        if (rc < 0)
            return rc;
        snprintf(pc->name, sizeof pc->name, "%s", ks);
        e->nprofiles++;
    }
    for (unsigned i = 0; i < e->nprofiles; i++)
        if (e->profiles[i].count > 0)
            return 0;
    if (e->nprofiles) /* mig-parted refuses this too */
        return al_err_set(c->err, AL_E_INVAL, "line %u: %s: all counts are 0 (write {} for none)",
                          line_of(n), what);
    return 0;
}

static int get_entry(struct ctx *c, yaml_node_t *n, const char *what, struct al_mpy_entry *e)
{
    static const char *const keys[] = {"devices", "mig-enabled", "mig-devices", "device-filter",
                                       NULL};
    yaml_node_t *v[4];
    char field[160];
    int rc = map_fields(c, n, what, keys, v);
    if (rc < 0)
        return rc;
    if (!v[0] || !v[1])
        return al_err_set(c->err, AL_E_INVAL, "line %u: %s: field '%s' is required", line_of(n),
                          what, v[0] ? "mig-enabled" : "devices");
    snprintf(field, sizeof field, "%s.devices", what);
    if ((rc = get_devices(c, v[0], field, e)) < 0)
        return rc;
    snprintf(field, sizeof field, "%s.mig-enabled", what);
    if ((rc = get_bool(c, v[1], field, &e->mig_enabled)) < 0)
        return rc;
    snprintf(field, sizeof field, "%s.mig-devices", what);
    if (e->mig_enabled && (!v[2] || is_null(v[2])))
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: %s: required when mig-enabled is true ({} for none)",
                          line_of(n), field);
    if (v[2]) {
        if ((rc = get_profiles(c, v[2], field, e)) < 0)
            return rc;
        if (!e->mig_enabled && e->nprofiles)
            return al_err_set(c->err, AL_E_INVAL,
                              "line %u: %s: must be empty when mig-enabled is false", line_of(v[2]),
                              field);
    }
    snprintf(field, sizeof field, "%s.device-filter", what);
    if (v[3] && (rc = get_filter(c, v[3], field, e)) < 0)
        return rc;
    return 0;
}

static int get_config(struct ctx *c, yaml_node_t *k, yaml_node_t *v, struct al_mpy_config *cfg)
{
    char what[128];
    const char *name = scalar(k);
    struct al_err ne;
    if (!name || al_migparted_name_check(name, &ne) < 0)
        return al_err_set(c->err, AL_E_INVAL, "line %u: mig-configs: label: %s", line_of(k),
                          name ? ne.msg : "expected a string");
    snprintf(cfg->name, sizeof cfg->name, "%s", name);
    if (!v || v->type != YAML_SEQUENCE_NODE ||
        v->data.sequence.items.top == v->data.sequence.items.start)
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: mig-configs.%s: expected a non-empty "
                          "list of entries",
                          line_of(v ? v : k), name);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > AL_MPY_ENTRIES_MAX)
        return al_err_set(c->err, AL_E_RANGE, "line %u: mig-configs.%s: more than %d entries",
                          line_of(v), name, AL_MPY_ENTRIES_MAX);
    cfg->entries = calloc(n, sizeof *cfg->entries);
    if (!cfg->entries)
        return al_err_set(c->err, AL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        snprintf(what, sizeof what, "mig-configs.%s[%zu]", name, i);
        int rc = get_entry(c, node_at(c, v->data.sequence.items.start[i]), what, &cfg->entries[i]);
        if (rc < 0)
            return rc;
        cfg->nentries++;
    }
    return 0;
}

static int get_configs(struct ctx *c, yaml_node_t *n, struct al_mpy_file *f)
{
    if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top == n->data.mapping.pairs.start)
        return al_err_set(c->err, AL_E_INVAL,
                          "line %u: mig-configs: expected a non-empty "
                          "mapping label: [entries]",
                          line_of(n));
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt > AL_MPY_CONFIGS_MAX)
        return al_err_set(c->err, AL_E_RANGE, "line %u: mig-configs: more than %d labels",
                          line_of(n), AL_MPY_CONFIGS_MAX);
    f->configs = calloc(cnt, sizeof *f->configs);
    if (!f->configs)
        return al_err_set(c->err, AL_E_NOMEM, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        yaml_node_t *k = node_at(c, p->key);
        struct al_mpy_config *cfg = &f->configs[f->nconfigs];
        if (!k)
            return al_err_set(c->err, AL_E_INVAL, "mig-configs: bad label");
        f->nconfigs++; /* counted before filling so that free releases a half-built one */
        int rc = get_config(c, k, node_at(c, p->value), cfg);
        if (rc < 0)
            return rc;
        for (size_t j = 0; j + 1 < f->nconfigs; j++)
            if (strcmp(f->configs[j].name, cfg->name) == 0)
                return al_err_set(c->err, AL_E_INVAL,
                                  "line %u: mig-configs: label '%s' given "
                                  "twice",
                                  line_of(k), cfg->name);
    }
    return 0;
}

static int get_root(struct ctx *c, yaml_node_t *root, struct al_mpy_file *f)
{
    static const char *const keys[] = {"version", "mig-configs", NULL};
    yaml_node_t *v[2];
    int rc = map_fields(c, root, "top level", keys, v);
    if (rc < 0)
        return rc;
    if (!v[0])
        return al_err_set(c->err, AL_E_INVAL, "version: required (version: v1)");
    const char *ver = scalar(v[0]);
    if (!ver || strcmp(ver, "v1") != 0) {
        char b[48];
        return al_err_set(c->err, AL_E_INVAL, "line %u: version: unknown version '%s' (want v1)",
                          line_of(v[0]), ver ? shown(ver, b) : "?");
    }
    if (!v[1])
        return al_err_set(c->err, AL_E_INVAL, "mig-configs: required");
    return get_configs(c, v[1], f);
}

/* Load the single document of `text`; a second document is an error. */
static int load(const char *text, size_t len, yaml_document_t *doc, struct al_err *reterr)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    int rc = 0;
    if (!yaml_parser_initialize(&parser))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, doc)) {
        rc = al_err_set(reterr, AL_E_INVAL, "line %u: YAML: %s",
                        (unsigned)parser.problem_mark.line + 1,
                        parser.problem ? parser.problem : "syntax error");
        goto out;
    }
    if (!yaml_document_get_root_node(doc)) {
        yaml_document_delete(doc);
        rc = al_err_set(reterr, AL_E_INVAL, "empty file (want version: v1 and mig-configs)");
        goto out;
    }
    if (!yaml_parser_load(&parser, &extra) || yaml_document_get_root_node(&extra)) {
        unsigned line = (unsigned)parser.problem_mark.line + 1;
        if (parser.error == YAML_NO_ERROR)
            yaml_document_delete(&extra);
        yaml_document_delete(doc);
        rc = al_err_set(reterr, AL_E_INVAL, "line %u: %s", line,
                        parser.problem ? parser.problem : "more than one YAML document");
        goto out;
    }
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&parser);
    return rc;
}

int al_migparted_yaml_parse(const char *text, size_t len, struct al_mpy_file **ret,
                            struct al_err *reterr)
{
    yaml_document_t doc;
    struct al_mpy_file *f = NULL;
    struct ctx c = {&doc, reterr};
    int rc;
    *ret = NULL;
    if (len > AL_MPY_FILE_MAX)
        return al_err_set(reterr, AL_E_RANGE, "config: larger than %u bytes", AL_MPY_FILE_MAX);
    if ((rc = load(text, len, &doc, reterr)) < 0)
        return rc;
    f = calloc(1, sizeof *f);
    if (!f) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    rc = get_root(&c, yaml_document_get_root_node(&doc), f);
out:
    yaml_document_delete(&doc);
    if (rc < 0)
        al_migparted_yaml_free(f);
    else
        *ret = f;
    return rc;
}

int al_migparted_yaml_read(const char *path, struct al_mpy_file **ret, struct al_err *reterr)
{
    bool use_stdin = strcmp(path, "-") == 0;
    FILE *fp = use_stdin ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0;
    int rc;
    *ret = NULL;
    if (!fp)
        return al_err_set(reterr, -errno, "%s: %s", path, al_strerror(-errno));
    buf = malloc(AL_MPY_FILE_MAX + 1);
    if (!buf) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    n = fread(buf, 1, AL_MPY_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        rc = al_err_set(reterr, AL_E_IO, "%s: read error", path);
        goto out;
    }
    if (n > AL_MPY_FILE_MAX) {
        rc = al_err_set(reterr, AL_E_RANGE, "%s: larger than %u bytes", path, AL_MPY_FILE_MAX);
        goto out;
    }
    rc = al_migparted_yaml_parse(buf, n, ret, reterr);
out:
    free(buf);
    if (!use_stdin)
        (void)fclose(fp); /* only read: nothing to lose */
    return rc;
}

const struct al_mpy_config *al_migparted_yaml_find(const struct al_mpy_file *f, const char *name)
{
    for (size_t i = 0; f && i < f->nconfigs; i++)
        if (strcmp(f->configs[i].name, name) == 0)
            return &f->configs[i];
    return NULL;
}

void al_migparted_yaml_free(struct al_mpy_file *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nconfigs; i++)
        free(f->configs[i].entries);
    free(f->configs);
    free(f);
}
