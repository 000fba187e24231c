/* fuzz_migparted_yaml.c — libFuzzer target for the mig-parted config reader (a file a user
 * hands to `allot mig import`: untrusted) and the import path behind it. The input is the YAML
 * text. Checked on every input:
 *   - parse fails only with AL_E_INVAL / AL_E_RANGE / AL_E_NOMEM, a message and no result;
 *   - a parsed file stays within the documented bounds, and every label finds itself;
 *   - for the first entries and every MIG model: the counts turn into a layout of free
 *     placements or a clean error; a placed layout is valid; exporting it and reading the
 *     export back gives the same profile counts (the export/import round trip). */
#include "fuzz.h"

#include <stdbool.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"
#include "core/migparted.h"
#include "migyaml/migparted_yaml.h"

#define ENTRIES_TRIED 4 /* per input, to keep each run fast */

static void check_bounds(const struct al_mpy_file *f)
{
    FUZZ_CHECK(f->nconfigs <= AL_MPY_CONFIGS_MAX, "%zu configs", f->nconfigs);
    for (size_t i = 0; i < f->nconfigs; i++) {
        const struct al_mpy_config *c = &f->configs[i];
        FUZZ_CHECK(strlen(c->name) <= AL_MIGPARTED_NAME_MAX, "label too long");
        FUZZ_CHECK(al_migparted_yaml_find(f, c->name) != NULL, "label '%s' not found", c->name);
        FUZZ_CHECK(c->nentries <= AL_MPY_ENTRIES_MAX, "%zu entries", c->nentries);
        for (size_t k = 0; k < c->nentries; k++) {
            const struct al_mpy_entry *e = &c->entries[k];
            FUZZ_CHECK(e->ndevices <= AL_MPY_DEVICES_MAX && e->nprofiles <= AL_MPY_PROFILES_MAX &&
                           e->nfilters <= AL_MPY_FILTERS_MAX,
                       "entry %zu of '%s' over a bound", k, c->name);
            for (unsigned p = 0; p < e->nprofiles; p++)
                FUZZ_CHECK(e->profiles[p].count <= AL_MPY_COUNT_MAX &&
                               strlen(e->profiles[p].name) <= AL_MIGPARTED_PROFILE_MAX,
                           "profile %u of '%s'", p, c->name);
        }
    }
}

/* The count of profile `name` in `pc` (0 when absent). */
static unsigned count_of(const struct al_profile_count *pc, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pc[i].name, name) == 0)
            return pc[i].count;
    return 0;
}

/* Export `l` (valid, fixed) and read it back: same counts per profile. */
static void check_export_roundtrip(const struct al_layout *l, unsigned flags)
{
    char buf[4096];
    struct al_err err = {0};
    struct al_profile_count want[AL_MIG_MAX_PROFILES];
    struct al_mpy_file *back = NULL;
    int len = al_migparted_export(l, "fuzz", flags, buf, sizeof buf, &err);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof buf, "export: %d (%s)", len, err.msg);
    FUZZ_CHECK(al_migparted_yaml_parse(buf, (size_t)len, &back, &err) == 0,
               "export does not read back: %s\n%s", err.msg, buf);
    const struct al_mpy_config *c = al_migparted_yaml_find(back, "fuzz");
    FUZZ_CHECK(c && c->nentries == 1 && c->entries[0].mig_enabled, "export read back:\n%s", buf);
    int n = al_migparted_counts(l, want);
    const struct al_mpy_entry *e = &c->entries[0];
    FUZZ_CHECK(e->nprofiles == (unsigned)n, "%u profiles back, %d out:\n%s", e->nprofiles, n, buf);
    for (int i = 0; i < n; i++)
        FUZZ_CHECK(count_of(e->profiles, e->nprofiles, want[i].name) == want[i].count,
                   "count of %s changed:\n%s", want[i].name, buf);
    al_migparted_yaml_free(back);
}

static void check_import(const struct al_mpy_entry *e, const struct al_gpu_model *m)
{
    struct al_layout l, placed;
    struct al_err err = {0};
    int rc = al_migparted_to_layout(m, e->profiles, e->nprofiles, &l, &err);
    FUZZ_CHECK(rc == 0 || rc == AL_E_INVAL || rc == AL_E_RANGE, "to_layout rc %d", rc);
    if (rc < 0) {
        FUZZ_CHECK(l.n == 0 && err.msg[0], "to_layout failed without a message or kept %u", l.n);
        return;
    }
    FUZZ_CHECK(l.n <= m->max_instances && l.n <= AL_LAYOUT_MAX, "%s: %u instances", m->name, l.n);
    for (unsigned i = 0; i < l.n; i++)
        FUZZ_CHECK(l.p[i].start == AL_START_ANY && l.p[i].profile < m->nprofiles,
                   "%s: placement %u", m->name, i);
    rc = al_layout_place(&l, &placed, &err);
    FUZZ_CHECK(rc == 0 || rc == AL_E_NOFIT, "%s: place rc %d (%s)", m->name, rc, err.msg);
    if (rc < 0)
        return;
    FUZZ_CHECK(al_layout_validate(&placed, &err) == 0, "%s: placed layout invalid: %s", m->name,
               err.msg);
    check_export_roundtrip(&placed, e->nfilters ? AL_MIGPARTED_DEVICE_FILTER : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    struct al_mpy_file *f = (struct al_mpy_file *)&f; /* must be reset to NULL on failure */
    struct al_err err = {0};
    int rc = al_migparted_yaml_parse(text, size, &f, &err);
    if (rc < 0) {
        FUZZ_CHECK(rc == AL_E_INVAL || rc == AL_E_RANGE || rc == AL_E_NOMEM, "parse rc %d", rc);
        FUZZ_CHECK(f == NULL && err.msg[0], "parse failed (%d) without a message or kept a result",
                   rc);
        goto out;
    }
    check_bounds(f);
    unsigned tried = 0;
    for (size_t i = 0; i < f->nconfigs && tried < ENTRIES_TRIED; i++) {
        for (size_t k = 0; k < f->configs[i].nentries && tried < ENTRIES_TRIED; k++, tried++) {
            const struct al_mpy_entry *e = &f->configs[i].entries[k];
            if (!e->mig_enabled)
                continue;
            for (size_t j = 0; j < al_catalog_count(); j++)
                if (al_catalog_at(j)->mig)
                    check_import(e, al_catalog_at(j));
        }
    }
    al_migparted_yaml_free(f);
out:
    free(text);
    return 0;
}
