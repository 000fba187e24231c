/* migparted.h — interop with NVIDIA's mig-parted: a layout written as a `version: v1` config
 * text, and the profile counts of such a config turned back into a layout to place.
 *
 * mig-parted configs name only profile counts, never placements (the driver picks starts), so
 * export drops starts and import yields AL_START_ANY placements for al_layout_place.
 * Pure: no I/O, no allocation; reading the YAML file itself is the CLI's job.
 */
#ifndef AL_CORE_MIGPARTED_H
#define AL_CORE_MIGPARTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

#define AL_MIGPARTED_NAME_MAX    63 /* longest config label we write or accept */
#define AL_MIGPARTED_PROFILE_MAX 31 /* longest profile key kept ("1g.24gb+me.all" is 14) */

/* One `"<profile>": <count>` line of a config's mig-devices. */
struct al_profile_count {
    char name[AL_MIGPARTED_PROFILE_MAX + 1];
    unsigned count;
};

/* Check a config label: 1..63 characters of [A-Za-z0-9._-]. Returns 0 or AL_E_INVAL. */
int al_migparted_name_check(const char *name, struct al_err *reterr);

/* Flags of al_migparted_export. */
enum {
    AL_MIGPARTED_DEVICE_FILTER = 1 << 0, /* add `device-filter` with the model's PCI ids */
};

/* Write `l` as a mig-parted config with one label `name` into buf (snprintf semantics: returns
 * the length needed, buf NUL-terminated when len > 0). Profiles appear in catalog order with
 * their counts; the empty layout is `mig-enabled: true` with `mig-devices: {}`. The device
 * filter is left out when the model has no known PCI id. Does not validate the layout.
 * Returns AL_E_INVAL for a bad name or a layout without model. */
int al_migparted_export(const struct al_layout *l, const char *name, unsigned flags, char *buf,
                        size_t len, struct al_err *reterr);

/* Count the instances of `l` per profile, in catalog order, leaving out profiles it does not
 * use. Returns the number of entries written to `out`. */
int al_migparted_counts(const struct al_layout *l,
                        struct al_profile_count out[AL_MIG_MAX_PROFILES]);

/* Turn `n` profile counts (a config's mig-devices) into a layout of model `m` whose placements
 * all have start AL_START_ANY (run al_layout_place on it). Zero counts are skipped. A profile is
 * found as al_catalog_profile_by_name finds it: an alias ("1g.24gb", GB200's early name of
 * 1g.23gb) gives the canonical profile; "id:N" is no mig-parted key and is refused. Fails with
 * AL_E_INVAL naming an unknown profile, a compute-instance profile ("1c.3g.40gb") or a profile
 * listed twice, and AL_E_RANGE naming a count over the profile's max or a total over the
 * model's max instances. */
int al_migparted_to_layout(const struct al_gpu_model *m, const struct al_profile_count *pc,
                           size_t n, struct al_layout *ret, struct al_err *reterr);

/* Whether a config entry's device-filter (`n` PCI ids 0xDDDD10DE) selects GPUs of model `m`:
 * true when n is 0 (no filter) or one id is one of the model's. */
bool al_migparted_filter_matches(const struct al_gpu_model *m, const uint32_t *ids, size_t n);

#endif
