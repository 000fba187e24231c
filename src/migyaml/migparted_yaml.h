/* migparted_yaml.h — reading a mig-parted `version: v1` config file (untrusted input) with
 * libyaml, validated as mig-parted validates it: unknown keys rejected, required fields present,
 * counts integers 0..7, sizes bounded. The profile names are not resolved here (they depend on
 * the GPU model); al_migparted_to_layout does that. */
#ifndef AL_MIGYAML_MIGPARTED_YAML_H
#define AL_MIGYAML_MIGPARTED_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/migparted.h"

#define AL_MPY_FILE_MAX     (1u << 20) /* bytes of a config file */
#define AL_MPY_CONFIGS_MAX  256        /* labels under mig-configs */
#define AL_MPY_ENTRIES_MAX  64         /* entries of one label */
#define AL_MPY_PROFILES_MAX 32         /* keys of one mig-devices */
#define AL_MPY_DEVICES_MAX  64         /* GPU indices of one `devices` list */
#define AL_MPY_FILTERS_MAX  16         /* PCI ids of one device-filter */
#define AL_MPY_COUNT_MAX    7          /* most instances of one profile on any GPU */

/* One MigConfigSpec. */
struct al_mpy_entry {
    bool devices_all; /* devices: all; otherwise `devices` lists GPU indices */
    unsigned ndevices;
    unsigned devices[AL_MPY_DEVICES_MAX];
    bool mig_enabled;
    unsigned nprofiles;
    struct al_profile_count profiles[AL_MPY_PROFILES_MAX];
    unsigned nfilters; /* 0: no device-filter */
    uint32_t filters[AL_MPY_FILTERS_MAX];
};

struct al_mpy_config {
    char name[AL_MIGPARTED_NAME_MAX + 1];
    size_t nentries;
    struct al_mpy_entry *entries; /* owned by the al_mpy_file */
};

struct al_mpy_file {
    size_t nconfigs;
    struct al_mpy_config *configs; /* in file order */
};

/* Parse `len` bytes of config text. On success *ret is a new file the caller frees with
 * al_migparted_yaml_free. Returns 0, AL_E_INVAL with the offending field and line named,
 * AL_E_RANGE for sizes over the bounds above, or AL_E_NOMEM. */
int al_migparted_yaml_parse(const char *text, size_t len, struct al_mpy_file **ret,
                            struct al_err *reterr);

/* Read and parse the file at `path` ("-" = stdin), at most AL_MPY_FILE_MAX bytes. Returns as
 * al_migparted_yaml_parse, or -errno / AL_E_RANGE when it cannot be read. */
int al_migparted_yaml_read(const char *path, struct al_mpy_file **ret, struct al_err *reterr);

/* The label `name` of `f`, or NULL. Points into f. */
const struct al_mpy_config *al_migparted_yaml_find(const struct al_mpy_file *f, const char *name);

void al_migparted_yaml_free(struct al_mpy_file *f);

#endif
