/* catalog.c — the GPU model catalog as constant tables (the facts and their public sources:
 * catalog.h, docs/catalog.md), with lenient model lookup, profile lookup, profile choice by
 * memory, and size parsing.
 *
 * Usable memory (mem_mib) is the GiB that real `nvidia-smi mig -lgip` prints × 1024, rounded,
 * or NVML's memorySizeMB where a source gives it. Where real outputs of different drivers
 * disagree we keep the LOWER value, because "an instance with at least X GB" must hold on any
 * driver. Where no real output exists the value is derived (see the notes) and kept low on
 * purpose: a derived figure must never promise memory the hardware may not have. Every real
 * table has a 4-slice profile with at least 2 x and a 7g with at least 4 x the memory of the
 * 2-slice ones, so a missing 3g/4g/7g row takes those multiples ("inferred").
 *
 * Each table below names the public sources it rests on (docs/catalog.md cites them all) and
 * each profile's conf says how well its id, memory, SMs and placements are sourced. A profile is
 * keyed on its NVML id (the ID column of nvidia-smi mig -lgip), never on NVML's query index
 * (agent/driver.h): names changed between drivers, ids did not.
 */
#include "core/catalog.h"
#include "core/err.h"

#include <string.h>

/* Starts lists, written once: the placement structure is shared by every 8-unit model. */
#define ST8_1  0, 1, 2, 3, 4, 5, 6 /* 1-unit profiles: never unit 7 */
#define ST8_2A 0, 2, 4, 6          /* 1g.<2 slices of memory> */
#define ST8_2  0, 2, 4             /* 2g */
#define ST8_4  0, 4                /* 3g */

#define NSTARTS(...) (sizeof((const uint8_t[]){__VA_ARGS__}))

/* The confidence of a profile's NVML id, usable MiB, SMs and placements (catalog.h, enum
 * al_conf): Y confirmed, S secondary, I inferred, N not found. */
#define CONF_Y AL_CONF_CONFIRMED
#define CONF_S AL_CONF_SECONDARY
#define CONF_I AL_CONF_INFERRED
#define CONF_N AL_CONF_NOT_FOUND
#define CONF(id, mem, sm, pl)                                                                      \
    {                                                                                              \
        CONF_##id, CONF_##mem, CONF_##sm, CONF_##pl                                                \
    }
#define ALL_Y CONF(Y, Y, Y, Y)

/* One GI profile with other names: name, aliases, NVML id, compute slices, nominal GB, usable
 * MiB, SMs, placement size, max count, attributes, confidence, note, then the allowed starts. */
#define PROF_AL(nm, al, id, cs, gb, mib, sm, sz, mx, at, cf, note, ...)                            \
    {                                                                                              \
        nm, id, cs, gb, mib, sm, sz, NSTARTS(__VA_ARGS__), {__VA_ARGS__}, mx, at, note, cf, al     \
    }
/* One GI profile known by its name only (spelled out: forwarding __VA_ARGS__ to PROF_AL would
 * expand CONF(…) first and split it at its commas). */
#define PROF(nm, id, cs, gb, mib, sm, sz, mx, at, cf, note, ...)                                   \
    {                                                                                              \
        nm, id, cs, gb, mib, sm, sz, NSTARTS(__VA_ARGS__), {__VA_ARGS__}, mx, at, note, cf, NULL   \
    }

#define ME     AL_MIG_ATTR_ME
#define ME_ALL AL_MIG_ATTR_ME_ALL
#define GFX    AL_MIG_ATTR_GFX
#define NO_ME  AL_MIG_ATTR_NO_ME

/* Notes for facts that are not all confirmed (each profile's conf says which). */
static const char n_a100_80_place[] = "placements inferred = A100-40GB (same GA100; no 80GB "
                                      "-lgipp seen)";
static const char n_h_place[] = "placements not found (assumed = H100-80GB)";
static const char n_h_place_inf[] = "placements inferred from the memory share and count "
                                    "(not seen in -lgipp)";
static const char n_b200_big[] = "MiB inferred (a multiple of 2g.45gb; secondary source "
                                 "higher), SMs secondary, placements unseen";
static const char n_big_unseen[] = "id from GKE code; MiB inferred (a multiple of the 2-slice "
                                   "profile); SMs and placements not found";
static const char n_gh200_big[] = "id, SMs and placements not found (assumed as H100-80GB); "
                                  "MiB inferred (a multiple of 2g.36gb)";
static const char n_derived[] = "names and counts only (mig-parted): id, SMs, placements not "
                                "found (assumed as H100-80GB); MiB 7/8 of nominal GiB";

/* A30, A100-40GB, RTX PRO 6000: real -lgip and -lgipp output and the MIG User Guide. */
static const struct al_mig_profile a30_profiles[] = {
    PROF("1g.6gb", 14, 1, 6, 5949, 14, 1, 4, 0, ALL_Y, NULL, 0, 1, 2, 3),
    PROF("1g.6gb+me", 21, 1, 6, 5949, 14, 1, 1, ME, ALL_Y, NULL, 0, 1, 2, 3),
    PROF("2g.12gb", 5, 2, 12, 11971, 28, 2, 2, 0, ALL_Y, NULL, 0, 2),
    PROF("2g.12gb+me", 6, 2, 12, 11971, 28, 2, 1, ME, ALL_Y, NULL, 0, 2),
    PROF("4g.24gb", 0, 4, 24, 24003, 56, 4, 1, 0, ALL_Y, NULL, 0),
};

static const struct al_mig_profile a100_40_profiles[] = {
    PROF("1g.5gb", 19, 1, 5, 4864, 14, 1, 7, 0, ALL_Y, NULL, ST8_1),
    PROF("1g.5gb+me", 20, 1, 5, 4864, 14, 1, 1, ME, ALL_Y, NULL, ST8_1),
    PROF("1g.10gb", 15, 1, 10, 9856, 14, 2, 4, 0, ALL_Y, NULL, ST8_2A),
    PROF("2g.10gb", 14, 2, 10, 9856, 28, 2, 3, 0, ALL_Y, NULL, ST8_2),
    PROF("3g.20gb", 9, 3, 20, 19968, 42, 4, 2, 0, ALL_Y, NULL, ST8_4),
    PROF("4g.20gb", 5, 4, 20, 19968, 56, 4, 1, 0, ALL_Y, NULL, 0),
    PROF("7g.40gb", 0, 7, 40, 40192, 98, 8, 1, 0, ALL_Y, NULL, 0),
};

/* A100-80GB: ids, GiB and SMs from real -lgip (mig-parted issue #97; community copies with
 * 1g.20gb id 15, 14 SMs); 7g.80gb keeps an older driver's 78.75 GiB (the lower of 78.75/79.00).
 * The fact-check counts the placements as confirmed, but its -lgipp is the MIG User Guide's
 * A100-40GB example: the same GA100 layout, hence "inferred" here. */
static const struct al_mig_profile a100_80_profiles[] = {
    PROF("1g.10gb", 19, 1, 10, 9728, 14, 1, 7, 0, CONF(Y, Y, Y, I), n_a100_80_place, ST8_1),
    PROF("1g.10gb+me", 20, 1, 10, 9728, 14, 1, 1, ME, CONF(Y, Y, Y, I), n_a100_80_place, ST8_1),
    PROF("1g.20gb", 15, 1, 20, 19968, 14, 2, 4, 0, CONF(Y, Y, Y, I), n_a100_80_place, ST8_2A),
    PROF("2g.20gb", 14, 2, 20, 19968, 28, 2, 3, 0, CONF(Y, Y, Y, I), n_a100_80_place, ST8_2),
    PROF("3g.40gb", 9, 3, 40, 40192, 42, 4, 2, 0, CONF(Y, Y, Y, I), n_a100_80_place, ST8_4),
    PROF("4g.40gb", 5, 4, 40, 40192, 56, 4, 1, 0, CONF(Y, Y, Y, I), n_a100_80_place, 0),
    PROF("7g.80gb", 0, 7, 80, 80640, 98, 8, 1, 0, CONF(Y, Y, Y, I), n_a100_80_place, 0),
};

/* H100-80GB: -lgip of the SXM part (jbarrow.ai field notes), -lgipp of the PCIe part (scaleway
 * docs-content). The SMs are the SXM part's; H100 PCIe prints fewer (14/14/14/30/46/62/114). */
static const struct al_mig_profile h100_80_profiles[] = {
    PROF("1g.10gb", 19, 1, 10, 9984, 16, 1, 7, 0, ALL_Y, NULL, ST8_1),
    PROF("1g.10gb+me", 20, 1, 10, 9984, 16, 1, 1, ME, ALL_Y, NULL, ST8_1),
    PROF("1g.20gb", 15, 1, 20, 20091, 26, 2, 4, 0, ALL_Y, NULL, ST8_2A),
    PROF("2g.20gb", 14, 2, 20, 20091, 32, 2, 3, 0, ALL_Y, NULL, ST8_2),
    PROF("3g.40gb", 9, 3, 40, 40448, 60, 4, 2, 0, ALL_Y, NULL, ST8_4),
    PROF("4g.40gb", 5, 4, 40, 40448, 64, 4, 1, 0, ALL_Y, NULL, 0),
    PROF("7g.80gb", 0, 7, 80, 81152, 132, 8, 1, 0, ALL_Y, NULL, 0),
};

/* H100 NVL: lower of the drivers' readings, 10.62/21.50/46.12 GiB (vs 10.75/21.62/46.38);
 * -lgipp = H100-80GB's (NVIDIA technical blog text). */
static const struct al_mig_profile h100_94_profiles[] = {
    PROF("1g.12gb", 19, 1, 12, 10875, 16, 1, 7, 0, ALL_Y, NULL, ST8_1),
    PROF("1g.12gb+me", 20, 1, 12, 10875, 16, 1, 1, ME, ALL_Y, NULL, ST8_1),
    PROF("1g.24gb", 15, 1, 24, 22016, 26, 2, 4, 0, ALL_Y, NULL, ST8_2A),
    PROF("2g.24gb", 14, 2, 24, 22016, 32, 2, 3, 0, ALL_Y, NULL, ST8_2),
    PROF("3g.47gb", 9, 3, 47, 47227, 60, 4, 2, 0, ALL_Y, NULL, ST8_4),
    PROF("4g.47gb", 5, 4, 47, 47227, 64, 4, 1, 0, ALL_Y, NULL, 0),
    PROF("7g.94gb", 0, 7, 94, 95355, 132, 8, 1, 0, ALL_Y, NULL, 0),
};

/* H100 96GB on GH200: real -lgip in kf-cuanschutz/NVIDIA_Grace_Hopper_benchmarking_logs_
 * (11.00/23.00/46.50/93.00 GiB). The newer fact-check found no -lgip for it and lists the ids
 * as not found: that log shows them all. No -lgipp anywhere. */
static const struct al_mig_profile h100_96_profiles[] = {
    PROF("1g.12gb", 19, 1, 12, 11264, 16, 1, 7, 0, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.12gb+me", 20, 1, 12, 11264, 16, 1, 1, ME, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.24gb", 15, 1, 24, 23552, 26, 2, 4, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2A),
    PROF("2g.24gb", 14, 2, 24, 23552, 32, 2, 3, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2),
    PROF("3g.48gb", 9, 3, 48, 47616, 60, 4, 2, 0, CONF(Y, Y, Y, N), n_h_place, ST8_4),
    PROF("4g.48gb", 5, 4, 48, 47616, 64, 4, 1, 0, CONF(Y, Y, Y, N), n_h_place, 0),
    PROF("7g.96gb", 0, 7, 96, 95232, 132, 8, 1, 0, CONF(Y, Y, Y, N), n_h_place, 0),
};

/* H200 141GB SXM: every id, GiB and SM from real -lgip (NVIDIA/mig-parted issue #120, device
 * 0x233510DE; ids also in GKE's partition_gpu.go); 32.25/139.75 GiB, the lower of these and an
 * older driver's 32.50/140.00. Placements: none seen; 1g.35gb (1/4 of memory, 4 of them), 3g
 * (4/8, 2) and 7g (full) follow from the MIG User Guide's H200 table; the others are
 * H100-80GB's. H200 NVL: only names and counts seen (model note). */
static const struct al_mig_profile h200_profiles[] = {
    PROF("1g.18gb", 19, 1, 18, 16384, 16, 1, 7, 0, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.18gb+me", 20, 1, 18, 16384, 16, 1, 1, ME, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.35gb", 15, 1, 35, 33024, 26, 2, 4, 0, CONF(Y, Y, Y, I), n_h_place_inf, ST8_2A),
    PROF("2g.35gb", 14, 2, 35, 33024, 32, 2, 3, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2),
    PROF("3g.71gb", 9, 3, 71, 71168, 60, 4, 2, 0, CONF(Y, Y, Y, I), n_h_place_inf, ST8_4),
    PROF("4g.71gb", 5, 4, 71, 71168, 64, 4, 1, 0, CONF(Y, Y, Y, N), n_h_place, 0),
    PROF("7g.141gb", 0, 7, 141, 143104, 132, 8, 1, 0, CONF(Y, Y, Y, I), n_h_place_inf, 0),
};

/* GH200 144G HBM3e: real -lgip up to 2g.36gb (NVIDIA/mig-parted PR #139, gpu-operator PR
 * #1057), +me included; the 3g/4g/7g rows were cut off, their counts are mig-parted's. Their
 * MiB: 2 and 4 x 2g.36gb's 35.25 GiB (docs/catalog.md, rules). */
static const struct al_mig_profile gh200_144_profiles[] = {
    PROF("1g.18gb", 19, 1, 18, 17920, 16, 1, 7, 0, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.18gb+me", 20, 1, 18, 17920, 16, 1, 1, ME, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.36gb", 15, 1, 36, 36096, 26, 2, 4, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2A),
    PROF("2g.36gb", 14, 2, 36, 36096, 32, 2, 3, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2),
    PROF("3g.72gb", 9, 3, 72, 72192, 0, 4, 2, 0, CONF(N, I, N, N), n_gh200_big, ST8_4),
    PROF("4g.72gb", 5, 4, 72, 72192, 0, 4, 1, 0, CONF(N, I, N, N), n_gh200_big, 0),
    PROF("7g.144gb", 0, 7, 144, 144384, 0, 8, 1, 0, CONF(N, I, N, N), n_gh200_big, 0),
};

/* B200 180GB: ids, GiB, SMs up to 2g.45gb from real -lgip (NVIDIA/mig-parted PR #166 and PR
 * #187; 1g.23gb is 22.00 or 20.50 GiB by driver: 20.50 kept); ids 9/5/0 from GKE's
 * partition_gpu.go, which passes them to nvidia-smi mig -cgi. The 3g/4g/7g rows were cut off: a
 * TensorRT-cookbook note (secondary) gives 70/72/148 SMs and 89.00/89.00/178.50 GiB; the MiB
 * kept are 2 and 4 x 2g.45gb's 44.25 GiB, lower. Placements: none seen; 1g.45gb, 3g and 7g
 * follow from the guide's B200 table; 2g has weak indirect evidence for {0,2,4} (gpu-operator
 * issue #2155), the others are H100-80GB's. */
static const struct al_mig_profile b200_profiles[] = {
    PROF("1g.23gb", 19, 1, 23, 20992, 18, 1, 7, 0, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.23gb+me", 20, 1, 23, 20992, 18, 1, 1, ME, CONF(Y, Y, Y, N), n_h_place, ST8_1),
    PROF("1g.45gb", 15, 1, 45, 45312, 30, 2, 4, 0, CONF(Y, Y, Y, I), n_h_place_inf, ST8_2A),
    PROF("2g.45gb", 14, 2, 45, 45312, 36, 2, 3, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2),
    PROF("3g.90gb", 9, 3, 90, 90624, 70, 4, 2, 0, CONF(Y, I, S, I), n_b200_big, ST8_4),
    PROF("4g.90gb", 5, 4, 90, 90624, 72, 4, 1, 0, CONF(Y, I, S, N), n_b200_big, 0),
    PROF("7g.180gb", 0, 7, 180, 181248, 148, 8, 1, 0, CONF(Y, I, S, I), n_b200_big, 0),
};

/* GB200's profile names changed between drivers for the same ids (mig-parted #227/#228): early
 * 1g.24gb, 3g.95gb, 4g.95gb, 7g.189gb (gpu-operator PR #1303); production 1g.23gb, 3g.93gb,
 * 4g.93gb, 7g.186gb (mig-parted issue #227, fixed by PR #228; GKE). */
static const char *const gb200_1g23_al[] = {"1g.24gb", NULL};
static const char *const gb200_1g23me_al[] = {"1g.24gb+me", NULL};
static const char *const gb200_3g_al[] = {"3g.95gb", NULL};
static const char *const gb200_4g_al[] = {"4g.95gb", NULL};
static const char *const gb200_7g_al[] = {"7g.189gb", NULL};

/* GB200: ids, GiB, SMs up to 2g.47gb from real -lgip (mig-parted issue #227; 1g.23gb 22.00 GiB
 * there, 20.00 on the early driver: 20.00 kept); ids 9/5/0 from GKE's partition_gpu.go.
 * 3g/4g/7g: MiB 2 and 4 x 2g.47gb's 45.50 GiB, SMs unknown. The guide has no GB200 table: no
 * placement is seen or inferred. */
static const struct al_mig_profile gb200_profiles[] = {
    PROF_AL("1g.23gb", gb200_1g23_al, 19, 1, 23, 20480, 18, 1, 7, 0, CONF(Y, Y, Y, N), n_h_place,
            ST8_1),
    PROF_AL("1g.23gb+me", gb200_1g23me_al, 20, 1, 23, 20480, 18, 1, 1, ME, CONF(Y, Y, Y, N),
            n_h_place, ST8_1),
    PROF("1g.47gb", 15, 1, 47, 46592, 32, 2, 4, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2A),
    PROF("2g.47gb", 14, 2, 47, 46592, 38, 2, 3, 0, CONF(Y, Y, Y, N), n_h_place, ST8_2),
    PROF_AL("3g.93gb", gb200_3g_al, 9, 3, 93, 93184, 0, 4, 2, 0, CONF(Y, I, N, N), n_big_unseen,
            ST8_4),
    PROF_AL("4g.93gb", gb200_4g_al, 5, 4, 93, 93184, 0, 4, 1, 0, CONF(Y, I, N, N), n_big_unseen, 0),
    PROF_AL("7g.186gb", gb200_7g_al, 0, 7, 186, 186368, 0, 8, 1, 0, CONF(Y, I, N, N), n_big_unseen,
            0),
};

/* No real output at all: MiB = nominal GiB × 1024 × 7/8, below every ratio seen (>= 0.889). */
#define DERIVED_MIB(gb) ((gb)*896u)

/* B300 HGX: names and counts only, from mig-parted commit 47c56d96; the guide lists no B300.
 * Ids, MiB, SMs and placements are not found: ids and placements are H100-80GB's, MiB the 7/8
 * floor. (GB300's names differ: 1g.35gb … 7g.278gb; not listed.) */
#define UNSEEN8(g1, g2, g4, g7)                                                                    \
    PROF("1g." #g1 "gb", 19, 1, g1, DERIVED_MIB(g1), 0, 1, 7, 0, CONF(N, N, N, N), n_derived,      \
         ST8_1),                                                                                   \
        PROF("1g." #g1 "gb+me", 20, 1, g1, DERIVED_MIB(g1), 0, 1, 1, ME, CONF(N, N, N, N),         \
             n_derived, ST8_1),                                                                    \
        PROF("1g." #g2 "gb", 15, 1, g2, DERIVED_MIB(g2), 0, 2, 4, 0, CONF(N, N, N, N), n_derived,  \
             ST8_2A),                                                                              \
        PROF("2g." #g2 "gb", 14, 2, g2, DERIVED_MIB(g2), 0, 2, 3, 0, CONF(N, N, N, N), n_derived,  \
             ST8_2),                                                                               \
        PROF("3g." #g4 "gb", 9, 3, g4, DERIVED_MIB(g4), 0, 4, 2, 0, CONF(N, N, N, N), n_derived,   \
             ST8_4),                                                                               \
        PROF("4g." #g4 "gb", 5, 4, g4, DERIVED_MIB(g4), 0, 4, 1, 0, CONF(N, N, N, N), n_derived,   \
             0),                                                                                   \
        PROF("7g." #g7 "gb", 0, 7, g7, DERIVED_MIB(g7), 0, 8, 1, 0, CONF(N, N, N, N), n_derived,   \
             0)

static const struct al_mig_profile b300_profiles[] = {UNSEEN8(34, 67, 135, 269)};

/* RTX PRO 6000: 12 units; 95.00 GiB for 4g (the lower of 95.12/95.00). */
static const struct al_mig_profile rtx_pro_6000_profiles[] = {
    PROF("1g.24gb", 14, 1, 24, 24187, 46, 3, 4, 0, ALL_Y, NULL, 0, 3, 6, 9),
    PROF("1g.24gb+me", 21, 1, 24, 24187, 46, 3, 1, ME, ALL_Y, NULL, 0, 3, 6, 9),
    PROF("1g.24gb+gfx", 47, 1, 24, 24187, 46, 3, 4, GFX, ALL_Y, NULL, 0, 3, 6, 9),
    PROF("1g.24gb+me.all", 65, 1, 24, 24187, 46, 3, 1, ME_ALL, ALL_Y, NULL, 0, 3, 6, 9),
    PROF("1g.24gb-me", 67, 1, 24, 24187, 46, 3, 4, NO_ME, ALL_Y, NULL, 0, 3, 6, 9),
    PROF("2g.48gb", 5, 2, 48, 48517, 94, 6, 2, 0, ALL_Y, NULL, 0, 6),
    PROF("2g.48gb+gfx", 35, 2, 48, 48517, 94, 6, 2, GFX, ALL_Y, NULL, 0, 6),
    PROF("2g.48gb+me.all", 64, 2, 48, 48517, 94, 6, 1, ME_ALL, ALL_Y, NULL, 0, 6),
    PROF("2g.48gb-me", 66, 2, 48, 48517, 94, 6, 2, NO_ME, ALL_Y, NULL, 0, 6),
    PROF("4g.96gb", 0, 4, 96, 97280, 188, 12, 1, 0, ALL_Y, NULL, 0),
    PROF("4g.96gb+gfx", 32, 4, 96, 97280, 188, 12, 1, GFX, ALL_Y, NULL, 0),
};

#define NPROF(a)                   (unsigned)(sizeof(a) / sizeof((a)[0]))
#define MIG(units, cs, maxi, prof) true, units, cs, maxi, NPROF(prof), prof
#define NOMIG                      false, 0, 0, 0, 0, NULL

static const char *const a30_al[] = {"NVIDIA A30", NULL};
static const char *const a100_40_al[] = {"NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB", NULL};
static const char *const a100_80_al[] = {"NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe",
                                         "NVIDIA A100-PCIE-80GB", NULL};
static const char *const h100_80_al[] = {"NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe",
                                         "H100-SXM5-80GB", "H100-PCIE-80GB", NULL};
static const char *const h100_94_al[] = {"NVIDIA H100 NVL", "H100 NVL", "H100 94GB", NULL};
static const char *const h100_96_al[] = {"NVIDIA GH200 480GB", "GH200", "GH200 480GB",
                                         "NVIDIA H100 96GB", NULL};
static const char *const h200_al[] = {"NVIDIA H200", "NVIDIA H200 NVL", "H200 NVL",
                                      "H200-SXM5-141GB", NULL};
static const char *const gh200_144_al[] = {"NVIDIA GH200 144G HBM3e", "GH200 144GB", NULL};
static const char *const b200_al[] = {"NVIDIA B200", NULL};
static const char *const gb200_al[] = {"NVIDIA GB200", NULL};
static const char *const b300_al[] = {"NVIDIA B300 SXM6 AC", "NVIDIA B300", NULL};
static const char *const rtx6000_al[] = {"NVIDIA RTX PRO 6000 Blackwell Server Edition",
                                         "NVIDIA RTX PRO 6000 Blackwell Workstation Edition",
                                         "NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition",
                                         "RTX PRO 6000 Blackwell", NULL};
static const char *const l40s_al[] = {"NVIDIA L40S", NULL};
static const char *const l4_al[] = {"NVIDIA L4", NULL};
static const char *const a10_al[] = {"NVIDIA A10", NULL};
static const char *const rtx4090_al[] = {"NVIDIA GeForce RTX 4090", NULL};
static const char *const v100_32_al[] = {"Tesla V100-SXM2-32GB", "Tesla V100-PCIE-32GB",
                                         "Tesla V100-SXM3-32GB", "Tesla V100S-PCIE-32GB", NULL};
static const char *const v100_16_al[] = {"Tesla V100-SXM2-16GB", "Tesla V100-PCIE-16GB", NULL};
static const char *const t4_al[] = {"Tesla T4", "NVIDIA T4", NULL};
static const char *const p100_al[] = {"Tesla P100-PCIE-16GB", "Tesla P100-SXM2-16GB", NULL};

/* Performance: dense BF16 TFLOPS in tenths, GB/s, note (catalog.h; sources in docs/catalog.md). */
#define PERF(tf, bw, note) tf, bw, note

/* Performance figures not printed as such on an NVIDIA datasheet of that exact part. */
static const char n_perf_b200[] = "BF16 dense = HGX B200's 4.5 PFLOPS sparse / 2; bandwidth the "
                                  "180GB part's 7.7 TB/s (lower than the 8 TB/s also published)";
static const char n_perf_gb200[] = "BF16 dense = GB200 NVL72's 10 PFLOPS sparse per superchip "
                                   "/ 2 GPUs / 2";
static const char n_perf_b300[] = "BF16 dense taken = B200 (HGX B300 lists no higher BF16); "
                                  "bandwidth taken = B200 180GB";
static const char n_perf_rtx6000[] = "BF16 dense from the RTX Blackwell architecture whitepaper "
                                     "(FP32 accumulate); bandwidth the Server Edition's";

/* Order matters: a bare family ("h100", "a100", "v100") picks the first model listed. */
static const struct al_gpu_model models[] = {
    {"A30-24GB",
     "NVIDIA A30 24GB (PCIe)",
     a30_al,
     {0x20B710DE},
     24,
     MIG(4, 4, 4, a30_profiles),
     NULL,
     PERF(1650, 933, NULL)},
    {"A100-40GB",
     "NVIDIA A100 40GB (SXM4 / PCIe)",
     a100_40_al,
     {0x20B010DE, 0x20B110DE, 0x20F110DE},
     40,
     MIG(8, 7, 7, a100_40_profiles),
     NULL,
     PERF(3120, 1555, NULL)},
    {"A100-80GB",
     "NVIDIA A100 80GB (SXM4 / PCIe)",
     a100_80_al,
     {0x20B210DE, 0x20B510DE},
     80,
     MIG(8, 7, 7, a100_80_profiles),
     "placements inferred = A100-40GB (no 80GB -lgipp seen)",
     PERF(3120, 1935, NULL)},
    {"H100-80GB",
     "NVIDIA H100 80GB (SXM5 / PCIe)",
     h100_80_al,
     {0x233010DE, 0x233110DE},
     80,
     MIG(8, 7, 7, h100_80_profiles),
     NULL,
     PERF(7560, 2000, NULL)},
    {"H100-94GB",
     "NVIDIA H100 NVL / H100 94GB",
     h100_94_al,
     {0x232110DE},
     94,
     MIG(8, 7, 7, h100_94_profiles),
     NULL,
     PERF(8355, 3900, NULL)},
    {"H100-96GB",
     "NVIDIA H100 96GB on GH200",
     h100_96_al,
     {0x234210DE, 0x233D10DE},
     96,
     MIG(8, 7, 7, h100_96_profiles),
     "placements not found (assumed = H100-80GB; no GH200 -lgipp)",
     PERF(9894, 4000, NULL)},
    {"H200-141GB",
     "NVIDIA H200 141GB (SXM5 / NVL)",
     h200_al,
     {0x233510DE, 0x233B10DE},
     141,
     MIG(8, 7, 7, h200_profiles),
     "placements not seen (3 inferred, 4 assumed = H100-80GB); H200 NVL (0x233B10DE): only "
     "names and counts seen, ids, MiB, SMs taken = H200 SXM",
     PERF(8355, 4800, NULL)},
    {"GH200-144GB",
     "NVIDIA GH200 144G HBM3e",
     gh200_144_al,
     {0x234810DE},
     144,
     MIG(8, 7, 7, gh200_144_profiles),
     "3g/4g/7g: ids and SMs not found, MiB inferred; placements not found (assumed = "
     "H100-80GB)",
     PERF(9894, 4900, NULL)},
    {"B200-180GB",
     "NVIDIA B200 180GB",
     b200_al,
     {0x290110DE},
     180,
     MIG(8, 7, 7, b200_profiles),
     "placements not seen (3 inferred, 4 assumed = H100-80GB); 3g/4g/7g MiB inferred, SMs "
     "secondary",
     PERF(22500, 7700, n_perf_b200)},
    {"GB200-186GB",
     "NVIDIA GB200 186GB (per GPU)",
     gb200_al,
     {0x294110DE},
     186,
     MIG(8, 7, 7, gb200_profiles),
     "placements not found (assumed = H100-80GB); 3g/4g/7g MiB inferred, SMs not found; "
     "names changed between drivers (aliases)",
     PERF(25000, 8000, n_perf_gb200)},
    {"B300-288GB",
     "NVIDIA B300 288GB",
     b300_al,
     {0x318210DE},
     288,
     MIG(8, 7, 7, b300_profiles),
     "names and counts only (mig-parted): ids, MiB, SMs, placements not found (assumed as "
     "H100-80GB, MiB 7/8 of nominal)",
     PERF(22500, 7700, n_perf_b300)},
    {"RTX-PRO-6000-96GB",
     "NVIDIA RTX PRO 6000 Blackwell 96GB",
     rtx6000_al,
     {0x2BB510DE},
     96,
     MIG(12, 4, 4, rtx_pro_6000_profiles),
     NULL,
     PERF(5038, 1597, n_perf_rtx6000)},
    {"L40S-48GB",
     "NVIDIA L40S 48GB",
     l40s_al,
     {0x26B910DE},
     48,
     NOMIG,
     NULL,
     PERF(3620, 864, NULL)},
    {"L4-24GB", "NVIDIA L4 24GB", l4_al, {0x27B810DE}, 24, NOMIG, NULL, PERF(1210, 300, NULL)},
    {"A10-24GB", "NVIDIA A10 24GB", a10_al, {0x223610DE}, 24, NOMIG, NULL, PERF(1250, 600, NULL)},
    {"RTX-4090-24GB",
     "NVIDIA GeForce RTX 4090 24GB",
     rtx4090_al,
     {0x268410DE},
     24,
     NOMIG,
     NULL,
     PERF(1652, 1008, NULL)},
    {"V100-32GB",
     "NVIDIA Tesla V100 32GB",
     v100_32_al,
     {0x1DB510DE, 0x1DB610DE, 0x1DB810DE},
     32,
     NOMIG,
     NULL,
     PERF(0, 900, NULL)},
    {"V100-16GB",
     "NVIDIA Tesla V100 16GB",
     v100_16_al,
     {0x1DB110DE, 0x1DB410DE, 0x1DB310DE},
     16,
     NOMIG,
     NULL,
     PERF(0, 900, NULL)},
    {"T4-16GB", "NVIDIA Tesla T4 16GB", t4_al, {0x1EB810DE}, 16, NOMIG, NULL, PERF(0, 320, NULL)},
    {"P100-16GB",
     "NVIDIA Tesla P100 16GB",
     p100_al,
     {0x15F810DE, 0x15F910DE},
     16,
     NOMIG,
     NULL,
     PERF(0, 732, NULL)},
};

#define NMODELS (sizeof(models) / sizeof(models[0]))

size_t al_catalog_count(void)
{
    return NMODELS;
}

const struct al_gpu_model *al_catalog_at(size_t i)
{
    return i < NMODELS ? &models[i] : NULL;
}

/* ---- lenient names ---- */

#define KEY_MAX 96 /* longer names match nothing */

/* Words that say nothing about which model it is (vendor, brand, form factor, memory kind). */
static const char *const noise_words[] = {
    "nvidia", "tesla", "geforce", "sxm",   "sxm2", "sxm3",  "sxm4", "sxm5",
    "sxm6",   "pcie",  "hbm2",    "hbm2e", "hbm3", "hbm3e", "gpu",  NULL,
};

static bool is_noise(const char *w)
{
    for (const char *const *n = noise_words; *n; n++)
        if (strcmp(w, *n) == 0)
            return true;
    return false;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

/* Append word w (len n, lowercased) to key unless it is noise; a number followed by "g"
 * ("144G") becomes "144gb". Returns false when the key would overflow. */
static bool key_add_word(char *key, size_t *klen, const char *w, size_t n)
{
    char word[KEY_MAX + 3];
    if (n > KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        word[i] = lower(w[i]);
    word[n] = '\0';
    if (is_noise(word))
        return true;
    if (n >= 2 && word[n - 1] == 'g' && word[n - 2] >= '0' && word[n - 2] <= '9') {
        word[n++] = 'b';
        word[n] = '\0';
    }
    if (*klen + n >= KEY_MAX)
        return false;
    memcpy(key + *klen, word, n + 1);
    *klen += n;
    return true;
}

/* The normal form of a model name: lowercase, split at every non-alphanumeric character, drop
 * the noise words above, join. "NVIDIA H100 80GB HBM3" and "H100-SXM5-80GB" -> "h10080gb";
 * "NVIDIA H100 NVL" -> "h100nvl" (NVL is kept: it names a different model). Returns false for
 * names too long to be a model. */
static bool name_key(const char *s, char *key)
{
    size_t klen = 0;
    key[0] = '\0';
    while (*s) {
        const char *w = s;
        while (is_alnum(*s))
            s++;
        if (s > w && !key_add_word(key, &klen, w, (size_t)(s - w)))
            return false;
        while (*s && !is_alnum(*s))
            s++;
    }
    return true;
}

static bool name_is(const char *name, const char *key)
{
    char k[KEY_MAX];
    return name_key(name, k) && strcmp(k, key) == 0;
}

static bool model_is(const struct al_gpu_model *m, const char *key)
{
    if (name_is(m->name, key))
        return true;
    for (const char *const *a = m->aliases; a && *a; a++)
        if (name_is(*a, key))
            return true;
    return false;
}

/* Family: the canonical name without its memory part ("H100-80GB" -> "h100"). */
static bool family_is(const struct al_gpu_model *m, const char *key)
{
    char fam[KEY_MAX];
    const char *dash = strrchr(m->name, '-');
    size_t n = dash ? (size_t)(dash - m->name) : strlen(m->name);
    if (n >= sizeof fam)
        return false;
    memcpy(fam, m->name, n);
    fam[n] = '\0';
    return name_is(fam, key);
}

const struct al_gpu_model *al_catalog_find(const char *name)
{
    char key[KEY_MAX];
    if (!name || !name_key(name, key) || key[0] == '\0')
        return NULL;
    for (size_t i = 0; i < NMODELS; i++)
        if (model_is(&models[i], key))
            return &models[i];
    for (size_t i = 0; i < NMODELS; i++)
        if (family_is(&models[i], key))
            return &models[i];
    return NULL;
}

const struct al_gpu_model *al_catalog_find_pci(uint32_t pci_id)
{
    if (pci_id == 0)
        return NULL;
    for (size_t i = 0; i < NMODELS; i++)
        for (size_t j = 0; j < 4 && models[i].pci_ids[j]; j++)
            if (models[i].pci_ids[j] == pci_id)
                return &models[i];
    return NULL;
}

/* ---- profiles ---- */

static bool streq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (lower(*a) != lower(*b))
            return false;
    return *a == *b;
}

/* "id:N" with N decimal, 1 to 3 digits; -1 when s is not of that form. */
static int parse_id_ref(const char *s)
{
    int v = 0;
    size_t n = strlen(s);
    if (n < 4 || n > 6 || strncmp(s, "id:", 3) != 0)
        return -1;
    for (s += 3; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v;
}

int al_catalog_profile_index(const struct al_gpu_model *m, const char *name)
{
    if (!m || !name)
        return -1;
    int id = parse_id_ref(name);
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        if (id >= 0 ? p->nvml_id == (unsigned)id : streq_nocase(p->name, name))
            return (int)i;
    }
    return -1;
}

/* Does `name` equal `want`, case-insensitively, once a leading "MIG " is dropped? */
static bool profile_name_is(const char *name, const char *want)
{
    if ((name[0] == 'M' || name[0] == 'm') && lower(name[1]) == 'i' && lower(name[2]) == 'g' &&
        name[3] == ' ')
        name += 4;
    return streq_nocase(name, want);
}

int al_catalog_profile_by_name(const struct al_gpu_model *m, const char *name)
{
    if (!m || !name || !m->mig)
        return -1;
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        if (profile_name_is(name, p->name))
            return (int)i;
        for (const char *const *a = p->aliases; a && *a; a++)
            if (profile_name_is(name, *a))
                return (int)i;
    }
    return -1;
}

enum al_conf al_catalog_profile_conf(const struct al_mig_profile *p)
{
    unsigned c = p->conf.id;
    c = p->conf.mem > c ? p->conf.mem : c;
    c = p->conf.sms > c ? p->conf.sms : c;
    c = p->conf.place > c ? p->conf.place : c;
    return (enum al_conf)c;
}

const char *al_catalog_conf_name(unsigned conf)
{
    static const char *const names[] = {"confirmed", "secondary", "inferred", "not found"};
    return conf < sizeof names / sizeof names[0] ? names[conf] : "?";
}

/* ---- performance ---- */

struct al_perf al_catalog_perf(const struct al_gpu_model *m, int profile)
{
    struct al_perf r = {0, 0};
    if (!m)
        return r;
    if (profile < 0)
        return (struct al_perf){m->tflops_bf16_x10, m->mem_bw_gbs};
    if ((unsigned)profile >= m->nprofiles || !m->compute_slices || !m->units)
        return r;
    const struct al_mig_profile *p = &m->profiles[profile];
    /* 64-bit products: no overflow for any figure an unsigned holds */
    r.tflops_bf16_x10 =
        (unsigned)((uint64_t)m->tflops_bf16_x10 * p->compute_slices / m->compute_slices);
    r.mem_bw_gbs = (unsigned)((uint64_t)m->mem_bw_gbs * p->size / m->units);
    return r;
}

bool al_catalog_perf_meets(struct al_perf have, struct al_perf want)
{
    return have.tflops_bf16_x10 >= want.tflops_bf16_x10 && have.mem_bw_gbs >= want.mem_bw_gbs;
}

/* True when a is the better pick than b: less memory, fewer compute slices, plain first. */
static bool pick_better(const struct al_mig_profile *a, const struct al_mig_profile *b)
{
    if (a->mem_mib != b->mem_mib)
        return a->mem_mib < b->mem_mib;
    if (a->compute_slices != b->compute_slices)
        return a->compute_slices < b->compute_slices;
    return a->attrs == 0 && b->attrs != 0;
}

int al_catalog_pick(const struct al_gpu_model *m, uint64_t min_bytes, bool plain_only)
{
    return al_catalog_pick_perf(m, min_bytes, (struct al_perf){0, 0}, plain_only);
}

int al_catalog_pick_perf(const struct al_gpu_model *m, uint64_t min_bytes, struct al_perf want,
                         bool plain_only)
{
    int best = -1;
    if (!m)
        return -1;
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        if ((plain_only && p->attrs) || (uint64_t)p->mem_mib << 20 < min_bytes ||
            !al_catalog_perf_meets(al_catalog_perf(m, (int)i), want))
            continue;
        if (best < 0 || pick_better(p, &m->profiles[best]))
            best = (int)i;
    }
    return best;
}

/* ---- sizes ---- */

#define FRAC_MAX 6 /* decimals kept exact: 2^40 * 10^6 still fits in 64 bits */

static const struct {
    const char *unit;
    uint64_t mult;
} size_units[] = {
    {"", 1},
    {"b", 1},
    {"k", 1ull << 10},
    {"kib", 1ull << 10},
    {"kb", 1000ull},
    {"m", 1ull << 20},
    {"mib", 1ull << 20},
    {"mb", 1000000ull},
    {"g", 1ull << 30},
    {"gib", 1ull << 30},
    {"gb", 1000000000ull},
    {"t", 1ull << 40},
    {"tib", 1ull << 40},
    {"tb", 1000000000000ull},
};

static int unit_mult(const char *u, uint64_t *mult)
{
    for (size_t i = 0; i < sizeof size_units / sizeof size_units[0]; i++) {
        if (streq_nocase(u, size_units[i].unit)) {
            *mult = size_units[i].mult;
            return 0;
        }
    }
    return AL_E_INVAL;
}

/* Digits at *s into *v (overflow -> error); at least one digit, at most maxd (0 = any). */
static int parse_digits(const char **s, uint64_t *v, unsigned *nd, unsigned maxd)
{
    *v = 0;
    *nd = 0;
    for (; **s >= '0' && **s <= '9'; (*s)++, (*nd)++) {
        unsigned d = (unsigned)(**s - '0');
        if ((maxd && *nd >= maxd) || *v > (UINT64_MAX - d) / 10)
            return AL_E_INVAL;
        *v = *v * 10 + d;
    }
    return *nd ? 0 : AL_E_INVAL;
}

int al_catalog_parse_size(const char *s, uint64_t *ret_bytes)
{
    uint64_t whole, frac = 0, mult, pow10 = 1;
    unsigned nd, nf = 0;
    if (!s || !ret_bytes || parse_digits(&s, &whole, &nd, 0) < 0)
        return AL_E_INVAL;
    if (*s == '.') {
        s++;
        if (parse_digits(&s, &frac, &nf, FRAC_MAX) < 0)
            return AL_E_INVAL;
    }
    while (*s == ' ')
        s++;
    if (unit_mult(s, &mult) < 0 || (nf && mult == 1))
        return AL_E_INVAL; /* unknown unit, or a fraction of a byte */
    for (unsigned i = 0; i < nf; i++)
        pow10 *= 10;
    if (whole > UINT64_MAX / mult)
        return AL_E_INVAL;
    uint64_t bytes = whole * mult, part = mult / pow10 * frac + mult % pow10 * frac / pow10;
    if (bytes > UINT64_MAX - part)
        return AL_E_INVAL;
    *ret_bytes = bytes + part;
    return 0;
}
