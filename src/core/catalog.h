/* catalog.h — the GPU model catalog: every MIG-capable model with its GPU-instance profiles,
 * and common models without MIG for whole-GPU use.
 *
 * The data are public facts, compiled into the binary as constant tables: NVIDIA's MIG User
 * Guide (https://docs.nvidia.com/datacenter/tesla/mig-user-guide/: supported GPUs, profiles,
 * placements), NVML's nvml.h (profile ids), nvidia-mig-parted's configs, and real
 * `nvidia-smi mig -lgip/-lgipp` output published with other projects; docs/catalog.md states
 * the rules the data follow. Each profile says how well its NVML id, memory, SMs and placements
 * are sourced (`profile->conf`: confirmed, secondary, inferred, not found), and anything short
 * of confirmed also carries a note (`model->unverified`, `profile->unverified`) that
 * `allot mig models` and `allot mig profiles` show.
 * Everything returned here is static, read-only and valid for the life of the process.
 */
#ifndef AL_CORE_CATALOG_H
#define AL_CORE_CATALOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define AL_MIG_MAX_UNITS    12 /* placement units: 8 (A100/H100/…), 4 (A30), 12 (RTX PRO 6000) */
#define AL_MIG_MAX_PROFILES 16 /* GI profiles of one model */
#define AL_MIG_MAX_STARTS   12

/* How well one fact is sourced (docs/catalog.md, "Confidence"). Ordered: a larger value is a
 * weaker claim, so the weakest of several facts is their maximum. */
enum al_conf {
    AL_CONF_CONFIRMED = 0, /* a primary source shows it: NVIDIA's documentation, real nvidia-smi
                              output, NVIDIA or Google code that passes it to nvidia-smi */
    AL_CONF_SECONDARY = 1, /* only third-party or unattributed material shows it */
    AL_CONF_INFERRED = 2,  /* worked out from confirmed facts by a rule docs/catalog.md states */
    AL_CONF_NOT_FOUND = 3, /* no source: the value is assumed (as on H100-80GB, or a low floor
                              for memory; 0 SMs = unknown) */
};

/* The confidence of each fact of a profile that can differ by source. Its name, compute
 * slices and max_count come from NVIDIA's guide, real -lgip or mig-parted for every profile. */
struct al_mig_conf {
    uint8_t id;    /* enum al_conf of nvml_id */
    uint8_t mem;   /* … of mem_mib */
    uint8_t sms;   /* … of sms */
    uint8_t place; /* … of size and starts */
};

/* Media-engine / graphics attributes of a profile (the name's +me, +me.all, +gfx, -me). */
enum al_mig_attr {
    AL_MIG_ATTR_NONE = 0,
    AL_MIG_ATTR_ME = 1 << 0,     /* +me: at most one per GPU */
    AL_MIG_ATTR_ME_ALL = 1 << 1, /* +me.all: all media engines; others must be -me */
    AL_MIG_ATTR_GFX = 1 << 2,    /* +gfx */
    AL_MIG_ATTR_NO_ME = 1 << 3,  /* -me */
};

struct al_mig_profile {
    const char *name;        /* "3g.40gb", "1g.10gb+me" */
    unsigned nvml_id;        /* GI profile ID as nvidia-smi/NVML print it (differs per model):
                                nvmlGpuInstanceProfileInfo_t.id, the -lgip ID column, not the
                                NVML_GPU_INSTANCE_PROFILE_* query index (agent/driver.h) */
    unsigned compute_slices; /* the G in <G>g */
    unsigned mem_gb;         /* the M in <M>gb: nominal, as named */
    unsigned mem_mib;        /* usable memory as NVML reports it (MiB) */
    unsigned sms;            /* streaming multiprocessors; 0 where unknown */
    unsigned size;           /* placement units it occupies */
    unsigned nstarts;
    uint8_t starts[AL_MIG_MAX_STARTS]; /* allowed start units, ascending */
    unsigned max_count;                /* most instances of it on one GPU */
    unsigned attrs;                    /* enum al_mig_attr bits */
    const char *unverified;            /* NULL, or what about this profile is assumed (set
                                          whenever a fact in conf is not AL_CONF_CONFIRMED) */
    struct al_mig_conf conf;
    /* NULL-terminated other names the same NVML id has had ("3g.95gb" on early GB200 drivers
     * for 3g.93gb), or NULL. Profiles are keyed on nvml_id; names only find them. */
    const char *const *aliases;
};

struct al_gpu_model {
    const char *name;           /* canonical: "H100-80GB" */
    const char *description;    /* "NVIDIA H100 80GB (SXM5 / PCIe)" */
    const char *const *aliases; /* NULL-terminated extra names (NVML product names …) */
    uint32_t pci_ids[4];        /* 0xDDDD10DE device ids where known, 0-terminated */
    unsigned mem_gb;            /* nominal memory */
    bool mig;                   /* MIG capable */
    unsigned units;             /* placement units (0 without MIG) */
    unsigned compute_slices;    /* compute slices of the whole GPU in MIG mode */
    unsigned max_instances;     /* most GPU instances at once */
    unsigned nprofiles;
    const struct al_mig_profile *profiles;
    const char *unverified; /* NULL, or which facts of this model are assumed */
    /* Performance, from NVIDIA's datasheets (docs/catalog.md cites each): dense BF16 Tensor
     * TFLOPS without sparsity in tenths (rounded down: 989.4 -> 9894; 0 = no BF16 support),
     * and memory bandwidth in GB/s (10^9 bytes/s). Where one entry covers several form factors
     * (SXM and PCIe, SXM and NVL) the LOWER figure is kept: "at least X" must hold on each. */
    unsigned tflops_bf16_x10;
    unsigned mem_bw_gbs;
    const char *perf_unverified; /* NULL, or how the figures were derived */
};

/* The performance of one GPU or one MIG instance. */
struct al_perf {
    unsigned tflops_bf16_x10; /* dense BF16 TFLOPS in tenths */
    unsigned mem_bw_gbs;      /* GB/s */
};

/* Number of models, and the i-th one (NULL when out of range). */
size_t al_catalog_count(void);
const struct al_gpu_model *al_catalog_at(size_t i);

/* Find a model by a lenient name: case-insensitive, ignoring spaces, '-', '_' and words such
 * as "NVIDIA", "SXM5", "PCIe", "HBM3"; accepts "h100", "H100-SXM5-80GB", "NVIDIA H100 80GB
 * HBM3" (as NVML reports it), "a100-80gb". A bare family ("h100") picks its first model.
 * Returns NULL when no model matches. */
const struct al_gpu_model *al_catalog_find(const char *name);

/* Find a model by its PCI device id (0xDDDD10DE). NULL when unknown. */
const struct al_gpu_model *al_catalog_find_pci(uint32_t pci_id);

/* Profile of `m` by exact name (case-insensitive, "3g.40gb"); also accepts the NVML id written
 * as "id:9". Returns its index in m->profiles, or -1. */
int al_catalog_profile_index(const struct al_gpu_model *m, const char *name);

/* Profile of `m` by a name NVML, nvidia-smi, mig-parted or a person may use: the canonical
 * name, any of its aliases (names the same NVML id had under other drivers), each with or
 * without the "MIG " NVML puts in front ("MIG 1g.24gb"), case-insensitive. Unlike
 * al_catalog_profile_index it takes no "id:N": a driver that has the id looks up by the id
 * (agent/driver.h, al_driver_catalog_profile). Returns its index in m->profiles, or -1 for an
 * unknown name, a NULL argument or a model without MIG. */
int al_catalog_profile_by_name(const struct al_gpu_model *m, const char *name);

/* The weakest confidence among the facts of profile `p` (AL_CONF_CONFIRMED when all are). */
enum al_conf al_catalog_profile_conf(const struct al_mig_profile *p);

/* "confirmed", "secondary", "inferred" or "not found"; "?" for a value out of range. Static. */
const char *al_catalog_conf_name(unsigned conf);

/* The smallest profile of `m` whose usable memory is at least `min_bytes`, preferring fewer
 * compute slices, then no media-extension attribute. `plain_only` skips +me/+gfx/-me/+me.all
 * variants. Returns the profile index, or -1 when none is large enough. */
int al_catalog_pick(const struct al_gpu_model *m, uint64_t min_bytes, bool plain_only);

/* The performance of model m whole (profile < 0) or of one instance of its MIG profile
 * `profile`: a share of the GPU's figures, rounded down, so that an instance is never said to
 * be faster than its share — compute: tflops × compute_slices / m->compute_slices (3g of 7:
 * 3/7); bandwidth: bw × size / m->units (the memory slices it owns: 4 of 8 units = half).
 * A profile index out of range gives zeros. */
struct al_perf al_catalog_perf(const struct al_gpu_model *m, int profile);

/* Does `have` meet `want` (each figure at least; a zero in want asks nothing)? */
bool al_catalog_perf_meets(struct al_perf have, struct al_perf want);

/* al_catalog_pick among the profiles whose al_catalog_perf meets `want` as well. */
int al_catalog_pick_perf(const struct al_gpu_model *m, uint64_t min_bytes, struct al_perf want,
                         bool plain_only);

/* Parse a memory size: "30GB" (10^9), "30GiB" (2^30), "512MB", "512MiB", "30G" (= GiB), or a
 * plain number of bytes. Returns 0, or AL_E_INVAL for malformed or overflowing text. */
int al_catalog_parse_size(const char *s, uint64_t *ret_bytes);

#endif
