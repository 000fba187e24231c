/* test_catalog.c — unit tests of core/catalog: the tables against the public facts of
 * A100-40GB, H100-80GB, A30-24GB and RTX PRO 6000 (NVIDIA's MIG User Guide, real
 * `nvidia-smi mig -lgip/-lgipp` output; core/catalog.h) and of the GPUs newer than H100
 * (docs/catalog.md: confirmed ids, GiB, SMs; the confidence of every
 * fact; profile names across drivers), internal consistency of every model,
 * lenient lookup, PCI lookup, profile choice by memory and size parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/err.h"

/* One row of a real `nvidia-smi mig -lgip` + `-lgipp` table, typed in from the facts. */
struct ref_row {
    const char *name;
    unsigned id, cs, max, sms, size;
    unsigned mib; /* expected usable MiB */
    unsigned attrs;
    unsigned nstarts;
    uint8_t starts[AL_MIG_MAX_STARTS];
};

#define ME     AL_MIG_ATTR_ME
#define ME_ALL AL_MIG_ATTR_ME_ALL
#define GFX    AL_MIG_ATTR_GFX
#define NO_ME  AL_MIG_ATTR_NO_ME

/* A100-40GB: MiB are NVML memorySizeMB (4864/9856/19968/40192). */
static const struct ref_row ref_a100_40[] = {
    {"1g.5gb", 19, 1, 7, 14, 1, 4864, 0, 7, {0, 1, 2, 3, 4, 5, 6}},
    {"1g.5gb+me", 20, 1, 1, 14, 1, 4864, ME, 7, {0, 1, 2, 3, 4, 5, 6}},
    {"1g.10gb", 15, 1, 4, 14, 2, 9856, 0, 4, {0, 2, 4, 6}},
    {"2g.10gb", 14, 2, 3, 28, 2, 9856, 0, 3, {0, 2, 4}},
    {"3g.20gb", 9, 3, 2, 42, 4, 19968, 0, 2, {0, 4}},
    {"4g.20gb", 5, 4, 1, 56, 4, 19968, 0, 1, {0}},
    {"7g.40gb", 0, 7, 1, 98, 8, 40192, 0, 1, {0}},
};

/* H100-80GB, real -lgip: 9.75/19.62/39.50/79.25 GiB. */
static const struct ref_row ref_h100_80[] = {
    {"1g.10gb", 19, 1, 7, 16, 1, 9984, 0, 7, {0, 1, 2, 3, 4, 5, 6}},
    {"1g.10gb+me", 20, 1, 1, 16, 1, 9984, ME, 7, {0, 1, 2, 3, 4, 5, 6}},
    {"1g.20gb", 15, 1, 4, 26, 2, 20091, 0, 4, {0, 2, 4, 6}},
    {"2g.20gb", 14, 2, 3, 32, 2, 20091, 0, 3, {0, 2, 4}},
    {"3g.40gb", 9, 3, 2, 60, 4, 40448, 0, 2, {0, 4}},
    {"4g.40gb", 5, 4, 1, 64, 4, 40448, 0, 1, {0}},
    {"7g.80gb", 0, 7, 1, 132, 8, 81152, 0, 1, {0}},
};

/* A30-24GB, real -lgip: 5.81/11.69/23.44 GiB (the lower of 23.44/23.50). */
static const struct ref_row ref_a30[] = {
    {"1g.6gb", 14, 1, 4, 14, 1, 5949, 0, 4, {0, 1, 2, 3}},
    {"1g.6gb+me", 21, 1, 1, 14, 1, 5949, ME, 4, {0, 1, 2, 3}},
    {"2g.12gb", 5, 2, 2, 28, 2, 11971, 0, 2, {0, 2}},
    {"2g.12gb+me", 6, 2, 1, 28, 2, 11971, ME, 2, {0, 2}},
    {"4g.24gb", 0, 4, 1, 56, 4, 24003, 0, 1, {0}},
};

/* RTX PRO 6000, real -lgip: 23.62/47.38 GiB, 95.00 for 4g (the lower of 95.12/95.00). */
static const struct ref_row ref_rtx6000[] = {
    {"1g.24gb", 14, 1, 4, 46, 3, 24187, 0, 4, {0, 3, 6, 9}},
    {"1g.24gb+me", 21, 1, 1, 46, 3, 24187, ME, 4, {0, 3, 6, 9}},
    {"1g.24gb+gfx", 47, 1, 4, 46, 3, 24187, GFX, 4, {0, 3, 6, 9}},
    {"1g.24gb+me.all", 65, 1, 1, 46, 3, 24187, ME_ALL, 4, {0, 3, 6, 9}},
    {"1g.24gb-me", 67, 1, 4, 46, 3, 24187, NO_ME, 4, {0, 3, 6, 9}},
    {"2g.48gb", 5, 2, 2, 94, 6, 48517, 0, 2, {0, 6}},
    {"2g.48gb+gfx", 35, 2, 2, 94, 6, 48517, GFX, 2, {0, 6}},
    {"2g.48gb+me.all", 64, 2, 1, 94, 6, 48517, ME_ALL, 2, {0, 6}},
    {"2g.48gb-me", 66, 2, 2, 94, 6, 48517, NO_ME, 2, {0, 6}},
    {"4g.96gb", 0, 4, 1, 188, 12, 97280, 0, 1, {0}},
    {"4g.96gb+gfx", 32, 4, 1, 188, 12, 97280, GFX, 1, {0}},
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static void check_reference(const char *model, unsigned units, unsigned cs, unsigned maxi,
                            const struct ref_row *rows, size_t n)
{
    const struct al_gpu_model *m = al_catalog_find(model);
    assert_non_null(m);
    assert_string_equal(m->name, model);
    assert_true(m->mig);
    assert_int_equal(m->units, units);
    assert_int_equal(m->compute_slices, cs);
    assert_int_equal(m->max_instances, maxi);
    assert_int_equal(m->nprofiles, n);
    for (size_t i = 0; i < n; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        const struct ref_row *r = &rows[i];
        assert_string_equal(p->name, r->name);
        assert_int_equal(p->nvml_id, r->id);
        assert_int_equal(p->compute_slices, r->cs);
        assert_int_equal(p->max_count, r->max);
        assert_int_equal(p->sms, r->sms);
        assert_int_equal(p->size, r->size);
        assert_int_equal(p->mem_mib, r->mib);
        assert_int_equal(p->attrs, r->attrs);
        assert_int_equal(p->nstarts, r->nstarts);
        assert_memory_equal(p->starts, r->starts, r->nstarts);
        assert_null(p->unverified);
    }
}

static void test_reference_a100_40gb(void **state)
{
    (void)state;
    check_reference("A100-40GB", 8, 7, 7, ref_a100_40, NROWS(ref_a100_40));
}

static void test_reference_h100_80gb(void **state)
{
    (void)state;
    check_reference("H100-80GB", 8, 7, 7, ref_h100_80, NROWS(ref_h100_80));
}

static void test_reference_a30(void **state)
{
    (void)state;
    check_reference("A30-24GB", 4, 4, 4, ref_a30, NROWS(ref_a30));
}

static void test_reference_rtx_pro_6000(void **state)
{
    (void)state;
    check_reference("RTX-PRO-6000-96GB", 12, 4, 4, ref_rtx6000, NROWS(ref_rtx6000));
}

/* H100 NVL and the GH200's H100: the ids and SMs of real -lgip. */
static void test_reference_ids_hopper_variants(void **state)
{
    (void)state;
    static const unsigned ids[] = {19, 20, 15, 14, 9, 5, 0};
    static const unsigned sms[] = {16, 16, 26, 32, 60, 64, 132};
    const char *models[] = {"H100-94GB", "H100-96GB"};
    for (size_t k = 0; k < 2; k++) {
        const struct al_gpu_model *m = al_catalog_find(models[k]);
        assert_non_null(m);
        assert_int_equal(m->nprofiles, 7);
        for (unsigned i = 0; i < 7; i++) {
            assert_int_equal(m->profiles[i].nvml_id, ids[i]);
            assert_int_equal(m->profiles[i].sms, sms[i]);
        }
    }
    assert_null(al_catalog_find("H100-94GB")->unverified);
    assert_non_null(al_catalog_find("H100-96GB")->unverified);
}

/* ---- the GPUs newer than H100 (docs/catalog.md, "What is confirmed") ---- */

/* One real -lgip row: name, ID, GiB x 1024 (the lower where drivers differ), SMs. */
struct lgip_row {
    const char *name;
    unsigned id, mib, sms;
};

/* H200 SXM, mig-parted issue #120: 16.00/32.25/69.50/139.75 GiB. */
static const struct lgip_row lgip_h200[] = {
    {"1g.18gb", 19, 16384, 16},   {"1g.18gb+me", 20, 16384, 16}, {"1g.35gb", 15, 33024, 26},
    {"2g.35gb", 14, 33024, 32},   {"3g.71gb", 9, 71168, 60},     {"4g.71gb", 5, 71168, 64},
    {"7g.141gb", 0, 143104, 132},
};

/* H100 96GB on GH200 (kf-cuanschutz GH200 logs): 11.00/23.00/46.50/93.00 GiB. */
static const struct lgip_row lgip_h100_96[] = {
    {"1g.12gb", 19, 11264, 16}, {"1g.12gb+me", 20, 11264, 16}, {"1g.24gb", 15, 23552, 26},
    {"2g.24gb", 14, 23552, 32}, {"3g.48gb", 9, 47616, 60},     {"4g.48gb", 5, 47616, 64},
    {"7g.96gb", 0, 95232, 132},
};

/* GH200 144G, mig-parted PR #139 (cut off after 2g.36gb): 17.50/35.25 GiB. */
static const struct lgip_row lgip_gh200_144[] = {
    {"1g.18gb", 19, 17920, 16},
    {"1g.18gb+me", 20, 17920, 16},
    {"1g.36gb", 15, 36096, 26},
    {"2g.36gb", 14, 36096, 32},
};

/* B200, mig-parted PRs #166/#187 (cut off after 2g.45gb): 20.50 (the lower of 22.00)/44.25. */
static const struct lgip_row lgip_b200[] = {
    {"1g.23gb", 19, 20992, 18},
    {"1g.23gb+me", 20, 20992, 18},
    {"1g.45gb", 15, 45312, 30},
    {"2g.45gb", 14, 45312, 36},
};

/* GB200, mig-parted issue #227 and gpu-operator PR #1303: 20.00 (early; 22.00 production)/45.50. */
static const struct lgip_row lgip_gb200[] = {
    {"1g.23gb", 19, 20480, 18},
    {"1g.23gb+me", 20, 20480, 18},
    {"1g.47gb", 15, 46592, 32},
    {"2g.47gb", 14, 46592, 38},
};

/* The first n profiles of model are the rows, with id, memory and SMs marked confirmed. */
static void check_lgip(const char *model, const struct lgip_row *rows, size_t n)
{
    const struct al_gpu_model *m = al_catalog_find(model);
    assert_non_null(m);
    assert_true(m->nprofiles >= n);
    for (size_t i = 0; i < n; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        assert_string_equal(p->name, rows[i].name);
        assert_int_equal(p->nvml_id, rows[i].id);
        assert_int_equal(p->mem_mib, rows[i].mib);
        assert_int_equal(p->sms, rows[i].sms);
        assert_int_equal(p->conf.id, AL_CONF_CONFIRMED);
        assert_int_equal(p->conf.mem, AL_CONF_CONFIRMED);
        assert_int_equal(p->conf.sms, AL_CONF_CONFIRMED);
    }
}

static void test_newer_confirmed_lgip(void **state)
{
    (void)state;
    check_lgip("H200-141GB", lgip_h200, NROWS(lgip_h200));
    check_lgip("H100-96GB", lgip_h100_96, NROWS(lgip_h100_96));
    check_lgip("GH200-144GB", lgip_gh200_144, NROWS(lgip_gh200_144));
    check_lgip("B200-180GB", lgip_b200, NROWS(lgip_b200));
    check_lgip("GB200-186GB", lgip_gb200, NROWS(lgip_gb200));
}

/* Confidence of one fact of a profile: `f` 0 id, 1 memory, 2 SMs, 3 placements. */
static unsigned conf_of(const struct al_mig_profile *p, unsigned f)
{
    const unsigned v[] = {p->conf.id, p->conf.mem, p->conf.sms, p->conf.place};
    return v[f];
}

static void want_conf(const char *model, const char *profile, unsigned id, unsigned mib,
                      unsigned sms, const char *conf)
{
    const struct al_gpu_model *m = al_catalog_find(model);
    int k = al_catalog_profile_index(m, profile);
    assert_true(k >= 0);
    const struct al_mig_profile *p = &m->profiles[k];
    assert_int_equal(p->nvml_id, id);
    assert_int_equal(p->mem_mib, mib);
    assert_int_equal(p->sms, sms);
    for (unsigned f = 0; f < 4; f++) {
        unsigned want = conf[f] == 'Y'   ? AL_CONF_CONFIRMED
                        : conf[f] == 'S' ? AL_CONF_SECONDARY
                        : conf[f] == 'I' ? AL_CONF_INFERRED
                                         : AL_CONF_NOT_FOUND;
        if (conf_of(p, f) != want)
            fail_msg("%s %s fact %u: confidence %u, want %c", model, profile, f, conf_of(p, f),
                     conf[f]);
    }
}

/* What the reference says is confirmed only by production code, secondary, inferred or not
 * found, each marked so; memory that no real row gives is a multiple of the 2-slice row. */
static void test_newer_confidence(void **state)
{
    (void)state;
    /* ids 9/5/0 from GKE's partition_gpu.go; 3g/4g/7g GiB and SMs secondary (kept MiB lower) */
    want_conf("B200-180GB", "3g.90gb", 9, 2 * 45312, 70, "YISI");
    want_conf("B200-180GB", "4g.90gb", 5, 2 * 45312, 72, "YISN");
    want_conf("B200-180GB", "7g.180gb", 0, 4 * 45312, 148, "YISI");
    want_conf("B200-180GB", "1g.45gb", 15, 45312, 30, "YYYI");
    want_conf("B200-180GB", "2g.45gb", 14, 45312, 36, "YYYN");
    want_conf("GB200-186GB", "3g.93gb", 9, 2 * 46592, 0, "YINN");
    want_conf("GB200-186GB", "7g.186gb", 0, 4 * 46592, 0, "YINN");
    want_conf("GH200-144GB", "3g.72gb", 9, 2 * 36096, 0, "NINN");
    want_conf("GH200-144GB", "4g.72gb", 5, 2 * 36096, 0, "NINN");
    want_conf("GH200-144GB", "7g.144gb", 0, 4 * 36096, 0, "NINN");
    want_conf("H200-141GB", "1g.35gb", 15, 33024, 26, "YYYI");
    want_conf("H200-141GB", "3g.71gb", 9, 71168, 60, "YYYI");
    want_conf("H200-141GB", "7g.141gb", 0, 143104, 132, "YYYI");
    want_conf("H200-141GB", "1g.18gb", 19, 16384, 16, "YYYN");
    want_conf("H200-141GB", "4g.71gb", 5, 71168, 64, "YYYN");
    want_conf("B300-288GB", "1g.34gb", 19, 34 * 896, 0, "NNNN");
    want_conf("B300-288GB", "7g.269gb", 0, 269 * 896, 0, "NNNN");
    want_conf("A100-80GB", "1g.20gb", 15, 19968, 14, "YYYI");
    want_conf("H100-80GB", "3g.40gb", 9, 40448, 60, "YYYY");
}

/* No GPU newer than H100 has a placement seen in real -lgipp: none is marked confirmed, and
 * each is still H100-80GB's for the same NVML id (the reference changes none). */
static void test_newer_placements(void **state)
{
    (void)state;
    const char *newer[] = {"H100-96GB",  "H200-141GB",  "GH200-144GB",
                           "B200-180GB", "GB200-186GB", "B300-288GB"};
    const struct al_gpu_model *h = al_catalog_find("H100-80GB");
    for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++) {
        const struct al_gpu_model *m = al_catalog_find(newer[i]);
        assert_int_equal(m->units, 8);
        assert_int_equal(m->nprofiles, 7);
        for (unsigned k = 0; k < m->nprofiles; k++) {
            const struct al_mig_profile *p = &m->profiles[k];
            char ref[8];
            snprintf(ref, sizeof ref, "id:%u", p->nvml_id);
            int hk = al_catalog_profile_index(h, ref);
            assert_true(hk >= 0);
            const struct al_mig_profile *q = &h->profiles[hk];
            assert_int_equal(p->size, q->size);
            assert_int_equal(p->nstarts, q->nstarts);
            assert_memory_equal(p->starts, q->starts, q->nstarts);
            assert_int_equal(p->compute_slices, q->compute_slices);
            assert_int_equal(p->max_count, q->max_count);
            assert_int_equal(p->attrs, q->attrs);
            assert_true(p->conf.place != AL_CONF_CONFIRMED);
            assert_non_null(p->unverified);
        }
    }
}

/* Every profile: a note exactly when a fact is short of confirmed; unknown SMs (0) are "not
 * found"; confirmed values never come from a 7/8 floor. */
static void test_confidence_marks(void **state)
{
    (void)state;
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        for (unsigned k = 0; k < m->nprofiles; k++) {
            const struct al_mig_profile *p = &m->profiles[k];
            for (unsigned f = 0; f < 4; f++)
                assert_true(conf_of(p, f) <= AL_CONF_NOT_FOUND);
            enum al_conf c = al_catalog_profile_conf(p);
            if ((c != AL_CONF_CONFIRMED) != (p->unverified != NULL))
                fail_msg("%s %s: conf %u but note %s", m->name, p->name, c,
                         p->unverified ? p->unverified : "none");
            if (p->sms == 0)
                assert_int_equal(p->conf.sms, AL_CONF_NOT_FOUND);
            if (c != AL_CONF_CONFIRMED)
                assert_non_null(m->unverified);
        }
    }
    assert_string_equal(al_catalog_conf_name(AL_CONF_CONFIRMED), "confirmed");
    assert_string_equal(al_catalog_conf_name(AL_CONF_SECONDARY), "secondary");
    assert_string_equal(al_catalog_conf_name(AL_CONF_INFERRED), "inferred");
    assert_string_equal(al_catalog_conf_name(AL_CONF_NOT_FOUND), "not found");
    assert_string_equal(al_catalog_conf_name(4), "?");
    const struct al_gpu_model *b200 = al_catalog_find("B200-180GB");
    assert_int_equal(al_catalog_profile_conf(&b200->profiles[4]), AL_CONF_INFERRED);
    assert_int_equal(al_catalog_profile_conf(&b200->profiles[5]), AL_CONF_NOT_FOUND);
}

static int by_name(const char *model, const char *name)
{
    return al_catalog_profile_by_name(al_catalog_find(model), name);
}

/* Canonical names, the names earlier drivers gave the same id, and NVML's "MIG " prefix. */
static void test_profile_by_name(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        unsigned id;
    } gb200[] = {
        {"1g.23gb", 19},     {"1g.24gb", 19},        {"MIG 1g.24gb", 19}, {"1g.23gb+me", 20},
        {"1g.24gb+me", 20},  {"MIG 1g.24gb+me", 20}, {"1g.47gb", 15},     {"MIG 2g.47gb", 14},
        {"3g.93gb", 9},      {"3g.95gb", 9},         {"MIG 3g.95gb", 9},  {"mig 3G.95GB", 9},
        {"4g.95gb", 5},      {"MIG 4g.93gb", 5},     {"7g.186gb", 0},     {"7g.189gb", 0},
        {"MIG 7g.189gb", 0},
    };
    const struct al_gpu_model *m = al_catalog_find("GB200-186GB");
    for (size_t i = 0; i < sizeof gb200 / sizeof gb200[0]; i++) {
        int k = al_catalog_profile_by_name(m, gb200[i].name);
        if (k < 0 || m->profiles[k].nvml_id != gb200[i].id)
            fail_msg("GB200 '%s' -> %d, want id %u", gb200[i].name, k, gb200[i].id);
    }
    assert_int_equal(by_name("H100-80GB", "MIG 3g.40gb"), 4);
    assert_int_equal(by_name("H100-80GB", "3g.40gb"), 4);
    assert_int_equal(by_name("H100-80GB", "MIG 1g.10gb+me"), 1);
    assert_int_equal(by_name("H200-141GB", "MIG 7g.141gb"), 6);
    /* every canonical name and alias of every model finds its own profile */
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *g = al_catalog_at(i);
        for (unsigned k = 0; k < g->nprofiles; k++) {
            assert_int_equal(al_catalog_profile_by_name(g, g->profiles[k].name), (int)k);
            for (const char *const *a = g->profiles[k].aliases; a && *a; a++)
                assert_int_equal(al_catalog_profile_by_name(g, *a), (int)k);
        }
    }
}

static void test_profile_by_name_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"3g.94gb",
                         "MIG",
                         "MIG ",
                         "MIG  3g.95gb",
                         "MIG3g.95gb",
                         "MIG-3g.95gb",
                         " 3g.95gb",
                         "3g.95gb ",
                         "id:9",
                         "9",
                         "",
                         "3g",
                         "MIG MIG 3g.93gb",
                         "1g.35gb",
                         "3g.95"};
    const struct al_gpu_model *m = al_catalog_find("GB200-186GB");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (al_catalog_profile_by_name(m, bad[i]) >= 0)
            fail_msg("GB200 '%s' should name no profile", bad[i]);
    assert_int_equal(by_name("B200-180GB", "3g.95gb"), -1); /* GB200's early name, not B200's */
    assert_int_equal(by_name("B200-180GB", "1g.24gb"), -1);
    assert_int_equal(by_name("H100-80GB", "3g.20gb"), -1);
    assert_int_equal(by_name("L4-24GB", "1g.6gb"), -1);
    assert_int_equal(al_catalog_profile_by_name(NULL, "3g.40gb"), -1);
    assert_int_equal(al_catalog_profile_by_name(m, NULL), -1);
    /* al_catalog_profile_index keeps to canonical names and "id:N" */
    assert_int_equal(al_catalog_profile_index(m, "3g.95gb"), -1);
    assert_int_equal(al_catalog_profile_index(m, "MIG 3g.93gb"), -1);
    assert_int_equal(al_catalog_profile_index(m, "3g.93gb"), 4);
}

/* The most instances of one profile that fit side by side among its starts. */
static unsigned disjoint_starts(const struct al_mig_profile *p)
{
    unsigned n = 0, next = 0;
    for (unsigned i = 0; i < p->nstarts; i++) {
        if (p->starts[i] >= next) {
            n++;
            next = p->starts[i] + p->size;
        }
    }
    return n;
}

/* The decimal digits at *s (at least one), as a number; *s moves past them. */
static unsigned take_digits(const char **s)
{
    unsigned v = 0;
    assert_true(**s >= '0' && **s <= '9');
    for (; **s >= '0' && **s <= '9' && v < 100000; (*s)++)
        v = v * 10 + (unsigned)(**s - '0');
    return v;
}

/* "<G>g.<M>gb" then the attribute suffix must agree with the fields. */
static void check_profile_name(const struct al_mig_profile *p)
{
    const char *s = p->name;
    unsigned g = take_digits(&s);
    assert_true(strncmp(s, "g.", 2) == 0);
    s += 2;
    unsigned mem = take_digits(&s);
    assert_true(strncmp(s, "gb", 2) == 0);
    assert_int_equal(g, p->compute_slices);
    assert_int_equal(mem, p->mem_gb);
    const char *suffix = s + 2;
    unsigned want = strcmp(suffix, "+me") == 0       ? AL_MIG_ATTR_ME
                    : strcmp(suffix, "+me.all") == 0 ? AL_MIG_ATTR_ME_ALL
                    : strcmp(suffix, "+gfx") == 0    ? AL_MIG_ATTR_GFX
                    : strcmp(suffix, "-me") == 0     ? AL_MIG_ATTR_NO_ME
                                                     : 0;
    if (want == 0)
        assert_string_equal(suffix, "");
    assert_int_equal(p->attrs, want);
}

static void check_profile(const struct al_gpu_model *m, const struct al_mig_profile *p)
{
    check_profile_name(p);
    assert_true(p->nstarts >= 1 && p->nstarts <= AL_MIG_MAX_STARTS);
    for (unsigned s = 0; s < p->nstarts; s++) {
        assert_true(p->starts[s] + p->size <= m->units);
        if (s > 0)
            assert_true(p->starts[s] > p->starts[s - 1]);
    }
    assert_true(p->size >= 1 && p->size <= m->units);
    assert_true(p->compute_slices >= 1 && p->compute_slices <= m->compute_slices);
    assert_true(p->max_count >= 1 && p->max_count <= disjoint_starts(p));
    assert_true(p->max_count * p->compute_slices <= m->compute_slices);
    assert_true(p->max_count <= m->max_instances);
    if (p->attrs & (AL_MIG_ATTR_ME | AL_MIG_ATTR_ME_ALL))
        assert_int_equal(p->max_count, 1);
    /* usable memory is below the nominal GiB, and more than 85% of it */
    assert_true(p->mem_mib <= p->mem_gb * 1024u);
    assert_true(p->mem_mib * 100ull >= p->mem_gb * 1024ull * 85);
    if (p->unverified)
        assert_non_null(m->unverified);
}

/* Profiles of equal size have equal memory; a bigger placement has more memory. */
static void check_profile_pairs(const struct al_gpu_model *m)
{
    for (unsigned i = 0; i < m->nprofiles; i++) {
        for (unsigned j = 0; j < m->nprofiles; j++) {
            const struct al_mig_profile *a = &m->profiles[i], *b = &m->profiles[j];
            if (i != j) {
                assert_true(strcmp(a->name, b->name) != 0);
                assert_true(a->nvml_id != b->nvml_id);
            }
            if (a->size == b->size)
                assert_int_equal(a->mem_mib, b->mem_mib);
            if (a->size < b->size)
                assert_true(a->mem_mib < b->mem_mib);
        }
    }
}

static void check_mig_model(const struct al_gpu_model *m)
{
    bool whole = false;
    assert_true(m->units == 4 || m->units == 8 || m->units == 12);
    assert_true(m->units <= AL_MIG_MAX_UNITS);
    assert_true(m->compute_slices == 4 || m->compute_slices == 7);
    assert_true(m->max_instances >= 1 && m->max_instances <= m->compute_slices);
    assert_true(m->nprofiles >= 1 && m->nprofiles <= AL_MIG_MAX_PROFILES);
    assert_non_null(m->profiles);
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        check_profile(m, p);
        if (p->size == m->units && p->compute_slices == m->compute_slices)
            whole = true;
    }
    assert_true(whole); /* a profile spans the whole GPU */
    check_profile_pairs(m);
}

static void test_every_model_consistent(void **state)
{
    (void)state;
    size_t n = al_catalog_count();
    assert_true(n >= 20);
    assert_null(al_catalog_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        assert_non_null(m);
        assert_non_null(m->name);
        assert_non_null(m->description);
        assert_true(m->mem_gb > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(al_catalog_at(j)->name, m->name);
        if (m->mig) {
            check_mig_model(m);
        } else {
            assert_int_equal(m->units, 0);
            assert_int_equal(m->nprofiles, 0);
            assert_int_equal(al_catalog_pick(m, 0, false), -1);
        }
    }
}

/* Every canonical name, alias and PCI id leads back to its own model. */
static void test_names_and_ids_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        assert_ptr_equal(al_catalog_find(m->name), m);
        for (const char *const *a = m->aliases; a && *a; a++) {
            if (al_catalog_find(*a) != m)
                fail_msg("alias '%s' of %s does not find it", *a, m->name);
        }
        for (size_t j = 0; j < 4 && m->pci_ids[j]; j++) {
            assert_int_equal(m->pci_ids[j] & 0xffff, 0x10de);
            assert_ptr_equal(al_catalog_find_pci(m->pci_ids[j]), m);
        }
    }
}

static const struct {
    const char *in, *want;
} lookups[] = {
    {"h100", "H100-80GB"},
    {"H100", "H100-80GB"},
    {"H100-SXM5-80GB", "H100-80GB"},
    {"NVIDIA H100 80GB HBM3", "H100-80GB"},
    {"NVIDIA H100 PCIe", "H100-80GB"},
    {"h100_80gb", "H100-80GB"},
    {"H100-80G", "H100-80GB"},
    {"RTX PRO 6000 Blackwell", "RTX-PRO-6000-96GB"},
    {"Tesla V100S-PCIE-32GB", "V100-32GB"},
    {"H100 NVL", "H100-94GB"},
    {"NVIDIA H100 NVL", "H100-94GB"},
    {"h100-94gb", "H100-94GB"},
    {"gh200", "H100-96GB"},
    {"NVIDIA GH200 480GB", "H100-96GB"},
    {"GH200 144G HBM3e", "GH200-144GB"},
    {"a100", "A100-40GB"},
    {"a100-80gb", "A100-80GB"},
    {"A100 80GB PCIe", "A100-80GB"},
    {"NVIDIA A100-SXM4-40GB", "A100-40GB"},
    {"NVIDIA A100-PCIE-40GB", "A100-40GB"},
    {"NVIDIA A100-SXM4-80GB", "A100-80GB"},
    {"a30", "A30-24GB"},
    {"NVIDIA A30", "A30-24GB"},
    {"h200", "H200-141GB"},
    {"h200 nvl", "H200-141GB"},
    {"NVIDIA H200 NVL", "H200-141GB"},
    {"NVIDIA H200", "H200-141GB"},
    {"b200", "B200-180GB"},
    {"NVIDIA B200", "B200-180GB"},
    {"gb200", "GB200-186GB"},
    {"B300", "B300-288GB"},
    {"rtx pro 6000", "RTX-PRO-6000-96GB"},
    {"NVIDIA RTX PRO 6000 Blackwell Server Edition", "RTX-PRO-6000-96GB"},
    {"NVIDIA L40S", "L40S-48GB"},
    {"l4", "L4-24GB"},
    {"A10", "A10-24GB"},
    {"NVIDIA GeForce RTX 4090", "RTX-4090-24GB"},
    {"v100", "V100-32GB"},
    {"Tesla V100-SXM2-16GB", "V100-16GB"},
    {"Tesla T4", "T4-16GB"},
    {"p100", "P100-16GB"},
};

static void test_find_lenient(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
        const struct al_gpu_model *m = al_catalog_find(lookups[i].in);
        if (!m || strcmp(m->name, lookups[i].want) != 0)
            fail_msg("'%s' -> %s, want %s", lookups[i].in, m ? m->name : "NULL", lookups[i].want);
    }
}

static void test_find_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"h900",      "",   "nvidia", "NVIDIA Tesla",  "  -- ", "h100-40gb",
                         "a100-94gb", "h1", "100",    "h100 nvl 80gb", "x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (al_catalog_find(bad[i]))
            fail_msg("'%s' should match nothing", bad[i]);
    }
    assert_null(al_catalog_find(NULL));
    char longname[400];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(al_catalog_find(longname));
}

static void test_find_pci(void **state)
{
    (void)state;
    static const struct {
        uint32_t id;
        const char *want;
    } ids[] = {
        {0x20B010DE, "A100-40GB"},         {0x20F110DE, "A100-40GB"},   {0x20B210DE, "A100-80GB"},
        {0x20B510DE, "A100-80GB"},         {0x20B710DE, "A30-24GB"},    {0x233010DE, "H100-80GB"},
        {0x233110DE, "H100-80GB"},         {0x232110DE, "H100-94GB"},   {0x234210DE, "H100-96GB"},
        {0x233510DE, "H200-141GB"},        {0x233B10DE, "H200-141GB"},  {0x234810DE, "GH200-144GB"},
        {0x290110DE, "B200-180GB"},        {0x294110DE, "GB200-186GB"}, {0x318210DE, "B300-288GB"},
        {0x2BB510DE, "RTX-PRO-6000-96GB"}, {0x26B910DE, "L40S-48GB"},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const struct al_gpu_model *m = al_catalog_find_pci(ids[i].id);
        assert_non_null(m);
        assert_string_equal(m->name, ids[i].want);
    }
    assert_null(al_catalog_find_pci(0));
    assert_null(al_catalog_find_pci(0x12345678));
    assert_null(al_catalog_find_pci(0x2330)); /* device id without the vendor half */
}

static void test_profile_index(void **state)
{
    (void)state;
    const struct al_gpu_model *h = al_catalog_find("H100-80GB");
    assert_int_equal(al_catalog_profile_index(h, "3g.40gb"), 4);
    assert_int_equal(al_catalog_profile_index(h, "3G.40GB"), 4);
    assert_int_equal(al_catalog_profile_index(h, "1g.10gb+ME"), 1);
    assert_int_equal(al_catalog_profile_index(h, "id:9"), 4);
    assert_int_equal(al_catalog_profile_index(h, "id:0"), 6);
    assert_int_equal(al_catalog_profile_index(h, "id:15"), 2);
    assert_int_equal(al_catalog_profile_index(h, "id:21"), -1);
    assert_int_equal(al_catalog_profile_index(h, "id:"), -1);
    assert_int_equal(al_catalog_profile_index(h, "id:x"), -1);
    assert_int_equal(al_catalog_profile_index(h, "id:-1"), -1);
    assert_int_equal(al_catalog_profile_index(h, "id:00000000019"), -1);
    assert_int_equal(al_catalog_profile_index(h, "3g.20gb"), -1);
    assert_int_equal(al_catalog_profile_index(h, "3g.40gb "), -1);
    assert_int_equal(al_catalog_profile_index(h, ""), -1);
    assert_int_equal(al_catalog_profile_index(h, NULL), -1);
    assert_int_equal(al_catalog_profile_index(NULL, "3g.40gb"), -1);
    const struct al_gpu_model *a30 = al_catalog_find("A30-24GB");
    assert_int_equal(al_catalog_profile_index(a30, "id:14"), 0); /* 14 is 2g.10gb on A100 */
    assert_int_equal(al_catalog_profile_index(al_catalog_find("A100-40GB"), "id:14"), 3);
    assert_int_equal(al_catalog_profile_index(al_catalog_find("L4"), "1g.6gb"), -1);
}

#define GB  1000000000ull
#define GIB (1ull << 30)

static const char *pick_name(const char *model, uint64_t bytes, bool plain_only)
{
    const struct al_gpu_model *m = al_catalog_find(model);
    assert_non_null(m);
    int i = al_catalog_pick(m, bytes, plain_only);
    return i < 0 ? "none" : m->profiles[i].name;
}

static void test_pick(void **state)
{
    (void)state;
    assert_string_equal(pick_name("H100-80GB", 30 * GB, false), "3g.40gb");
    assert_string_equal(pick_name("H100-80GB", 10 * GB, false), "1g.10gb"); /* 9.75 GiB */
    assert_string_equal(pick_name("H100-80GB", 10 * GIB, false), "1g.20gb");
    assert_string_equal(pick_name("H100-80GB", 20 * GB, false), "1g.20gb"); /* 1g before 2g */
    assert_string_equal(pick_name("H100-80GB", 41 * GB, false), "3g.40gb"); /* 42.4 GB */
    assert_string_equal(pick_name("H100-80GB", 43 * GB, false), "7g.80gb");
    assert_string_equal(pick_name("H100-80GB", 100 * GB, false), "none");
    assert_string_equal(pick_name("H100-80GB", 0, false), "1g.10gb");
    assert_string_equal(pick_name("H100-80GB", 81152ull << 20, false), "7g.80gb");
    assert_string_equal(pick_name("H100-80GB", (81152ull << 20) + 1, false), "none");
    assert_string_equal(pick_name("A30-24GB", 6 * GB, false), "1g.6gb");
    assert_string_equal(pick_name("A30-24GB", 6 * GIB, false), "2g.12gb");
    assert_string_equal(pick_name("A100-40GB", 5 * GB, false), "1g.5gb"); /* 4.75 GiB */
    assert_string_equal(pick_name("A100-40GB", 5 * GIB, false), "1g.10gb");
    assert_string_equal(pick_name("A100-40GB", 4 * GB, false), "1g.5gb");
    assert_string_equal(pick_name("RTX-PRO-6000-96GB", 1, false), "1g.24gb");
    assert_string_equal(pick_name("RTX-PRO-6000-96GB", 25 * GB, true), "1g.24gb");
    assert_string_equal(pick_name("RTX-PRO-6000-96GB", 26 * GB, true), "2g.48gb");
    assert_string_equal(pick_name("L40S", 1, false), "none");
    assert_int_equal(al_catalog_pick(NULL, 1, false), -1);
}

/* plain_only skips every attributed profile even when it is the only fit. */
static void test_pick_plain_only(void **state)
{
    (void)state;
    const struct al_gpu_model *m = al_catalog_find("RTX-PRO-6000-96GB");
    for (uint64_t gb = 1; gb <= 100; gb++) {
        int i = al_catalog_pick(m, gb * GB, true);
        int j = al_catalog_pick(m, gb * GB, false);
        assert_int_equal(i, j); /* a plain profile always ties with its variants */
        if (i >= 0)
            assert_int_equal(m->profiles[i].attrs, 0);
    }
}

static void test_parse_size_ok(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t want;
    } ok[] = {
        {"30GB", 30 * GB},
        {"30gb", 30 * GB},
        {"30GiB", 30 * GIB},
        {"30G", 30 * GIB},
        {"30 GB", 30 * GB},
        {"512MB", 512000000ull},
        {"512MiB", 512ull << 20},
        {"512M", 512ull << 20},
        {"4KB", 4000},
        {"4KiB", 4096},
        {"4K", 4096},
        {"1.5GB", 1500000000ull},
        {"1.5GiB", 3ull << 29},
        {"0.25G", 1ull << 28},
        {"12345", 12345},
        {"12345B", 12345},
        {"0", 0},
        {"1TB", 1000000000000ull},
        {"2TiB", 2ull << 40},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183G", 17179869183ull << 30},
        {"0.000001TiB", 1099511},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 7;
        if (al_catalog_parse_size(ok[i].in, &v) != 0 || v != ok[i].want)
            fail_msg("'%s' -> %llu, want %llu", ok[i].in, (unsigned long long)v,
                     (unsigned long long)ok[i].want);
    }
}

static void test_parse_size_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "-1GB",
        "+1GB",
        "GB",
        "1.GB",
        ".5GB",
        "1..5GB",
        "1.5",
        "1.5B",
        "1e9",
        "1 2GB",
        "30GBs",
        "30 GB ",
        " 30GB",
        "30XB",
        "0x10",
        "1.0000001GB",
        "18446744073709551616",
        "17179869184G",
        "99999999999999999999GB",
        "18446744073709551615.5K",
        "30\tGB",
        "abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 7;
        if (al_catalog_parse_size(bad[i], &v) != AL_E_INVAL)
            fail_msg("'%s' should be rejected", bad[i]);
    }
    uint64_t v;
    assert_int_equal(al_catalog_parse_size(NULL, &v), AL_E_INVAL);
    assert_int_equal(al_catalog_parse_size("1GB", NULL), AL_E_INVAL);
}

/* What the facts do not confirm is flagged, and only that. */
static void test_unverified_marks(void **state)
{
    (void)state;
    const char *flagged[] = {"A100-80GB",  "H100-96GB",   "H200-141GB", "GH200-144GB",
                             "B200-180GB", "GB200-186GB", "B300-288GB"};
    const char *clean[] = {"A30-24GB", "A100-40GB", "H100-80GB", "H100-94GB", "RTX-PRO-6000-96GB"};
    for (size_t i = 0; i < sizeof flagged / sizeof flagged[0]; i++)
        assert_non_null(al_catalog_find(flagged[i])->unverified);
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++)
        assert_null(al_catalog_find(clean[i])->unverified);
    const struct al_gpu_model *a80 = al_catalog_find("A100-80GB");
    assert_non_null(a80->profiles[al_catalog_profile_index(a80, "1g.20gb")].unverified);
    const struct al_gpu_model *h200 = al_catalog_find("H200-141GB");
    assert_int_equal(h200->profiles[al_catalog_profile_index(h200, "2g.35gb")].nvml_id, 14);
    assert_int_equal(h200->profiles[al_catalog_profile_index(h200, "7g.141gb")].sms, 132);
    const struct al_gpu_model *b300 = al_catalog_find("B300-288GB");
    assert_int_equal(al_catalog_profile_index(b300, "7g.269gb"), 6);
    assert_int_equal(al_catalog_profile_index(b300, "1g.34gb"), 0);
}

/* The datasheet figures of the models the API names most (docs/catalog.md cites each): dense
 * BF16 TFLOPS in tenths, bandwidth GB/s; an entry covering two form factors keeps the lower. */
static void test_perf_figures(void **state)
{
    (void)state;
    static const struct {
        const char *model;
        unsigned tf_x10, bw;
    } want[] = {
        {"A30-24GB", 1650, 933},     {"A100-40GB", 3120, 1555}, {"A100-80GB", 3120, 1935},
        {"H100-80GB", 7560, 2000},   {"H100-94GB", 8355, 3900}, {"H200-141GB", 8355, 4800},
        {"GH200-144GB", 9894, 4900}, {"L40S-48GB", 3620, 864},  {"L4-24GB", 1210, 300},
        {"V100-32GB", 0, 900},       {"T4-16GB", 0, 320},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct al_gpu_model *m = al_catalog_find(want[i].model);
        assert_non_null(m);
        struct al_perf p = al_catalog_perf(m, -1);
        assert_int_equal(p.tflops_bf16_x10, want[i].tf_x10);
        assert_int_equal(p.mem_bw_gbs, want[i].bw);
    }
    /* every model has a bandwidth; BF16 is missing only before Ampere */
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        assert_true(m->mem_bw_gbs > 0);
        bool old = strncmp(m->name, "V100", 4) == 0 || strncmp(m->name, "T4", 2) == 0 ||
                   strncmp(m->name, "P100", 4) == 0;
        assert_true(old ? m->tflops_bf16_x10 == 0 : m->tflops_bf16_x10 > 0);
    }
}

/* A MIG instance's share: compute slices / the GPU's compute slices of the TFLOPS, placement
 * units (memory slices) / the GPU's units of the bandwidth, each rounded down. */
static void test_perf_mig_share(void **state)
{
    (void)state;
    const struct al_gpu_model *a100 = al_catalog_find("A100-40GB");
    const struct al_gpu_model *a30 = al_catalog_find("A30-24GB");
    struct al_perf p = al_catalog_perf(a100, al_catalog_profile_index(a100, "3g.20gb"));
    assert_int_equal(p.tflops_bf16_x10, 3120 * 3 / 7);                    /* 1337: 133.7 TFLOPS */
    assert_int_equal(p.mem_bw_gbs, 1555 * 4 / 8);                         /* 777 */
    p = al_catalog_perf(a100, al_catalog_profile_index(a100, "1g.10gb")); /* 1 slice, 2 units */
    assert_int_equal(p.tflops_bf16_x10, 445);
    assert_int_equal(p.mem_bw_gbs, 388);
    p = al_catalog_perf(a100, al_catalog_profile_index(a100, "7g.40gb"));
    assert_int_equal(p.tflops_bf16_x10, 3120);
    assert_int_equal(p.mem_bw_gbs, 1555);
    p = al_catalog_perf(a30, al_catalog_profile_index(a30, "2g.12gb")); /* 2 of 4, 2 of 4 */
    assert_int_equal(p.tflops_bf16_x10, 825);
    assert_int_equal(p.mem_bw_gbs, 466);
    p = al_catalog_perf(a30, 99);
    assert_int_equal(p.tflops_bf16_x10, 0);
    assert_true(al_catalog_perf_meets((struct al_perf){10, 10}, (struct al_perf){10, 0}));
    assert_false(al_catalog_perf_meets((struct al_perf){10, 10}, (struct al_perf){11, 0}));
    assert_false(al_catalog_perf_meets((struct al_perf){10, 10}, (struct al_perf){0, 11}));
    /* the pick takes the smallest profile that meets memory and performance */
    int pi = al_catalog_pick_perf(a100, 1, (struct al_perf){1000, 0}, true);
    assert_string_equal(a100->profiles[pi].name, "3g.20gb");
    pi = al_catalog_pick_perf(a100, 1, (struct al_perf){0, 700}, true);
    assert_string_equal(a100->profiles[pi].name, "3g.20gb");
    assert_int_equal(al_catalog_pick_perf(a100, 1, (struct al_perf){3121, 0}, true), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_a100_40gb),
        cmocka_unit_test(test_reference_h100_80gb),
        cmocka_unit_test(test_reference_a30),
        cmocka_unit_test(test_reference_rtx_pro_6000),
        cmocka_unit_test(test_reference_ids_hopper_variants),
        cmocka_unit_test(test_every_model_consistent),
        cmocka_unit_test(test_names_and_ids_round_trip),
        cmocka_unit_test(test_find_lenient),
        cmocka_unit_test(test_find_rejects),
        cmocka_unit_test(test_find_pci),
        cmocka_unit_test(test_profile_index),
        cmocka_unit_test(test_pick),
        cmocka_unit_test(test_pick_plain_only),
        cmocka_unit_test(test_parse_size_ok),
        cmocka_unit_test(test_parse_size_rejects),
        cmocka_unit_test(test_unverified_marks),
        cmocka_unit_test(test_perf_figures),
        cmocka_unit_test(test_perf_mig_share),
        cmocka_unit_test(test_newer_confirmed_lgip),
        cmocka_unit_test(test_newer_confidence),
        cmocka_unit_test(test_newer_placements),
        cmocka_unit_test(test_confidence_marks),
        cmocka_unit_test(test_profile_by_name),
        cmocka_unit_test(test_profile_by_name_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
