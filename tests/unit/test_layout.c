/* test_layout.c — unit tests of core/layout, the MIG rule engine: parse/format, validate (every
 * rule, on an 8-, a 4- and a 12-unit family), place, enumerate (cross-checked against a naive
 * enumerator with its own, independent rule checker) and diff.
 *
 * The models here (A100-40GB, H100-80GB, A30-24GB, RTX PRO 6000) are built by hand from the
 * public facts core/catalog.h names (NVIDIA's MIG User Guide, real `nvidia-smi mig -lgip/-lgipp`
 * output), independently of core/catalog, so they double as a check of the catalog's data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/catalog.h"
#include "core/layout.h"

/* ---- hand-built models ------------------------------------------------------------------- */

#define STARTS(...) .nstarts = sizeof((uint8_t[]){__VA_ARGS__}), .starts = {__VA_ARGS__}
#define PROF(nm, slices, sz, max, at, ...)                                                         \
    {                                                                                              \
        .name = nm, .compute_slices = slices, .size = sz, .max_count = max, .attrs = at,           \
        STARTS(__VA_ARGS__)                                                                        \
    }
#define ME    AL_MIG_ATTR_ME
#define MEALL AL_MIG_ATTR_ME_ALL
#define GFX   AL_MIG_ATTR_GFX
#define NOME  AL_MIG_ATTR_NO_ME

static const struct al_mig_profile a100_40_profiles[] = {
    PROF("1g.5gb", 1, 1, 7, 0, 0, 1, 2, 3, 4, 5, 6),
    PROF("1g.5gb+me", 1, 1, 1, ME, 0, 1, 2, 3, 4, 5, 6),
    PROF("1g.10gb", 1, 2, 4, 0, 0, 2, 4, 6),
    PROF("2g.10gb", 2, 2, 3, 0, 0, 2, 4),
    PROF("3g.20gb", 3, 4, 2, 0, 0, 4),
    PROF("4g.20gb", 4, 4, 1, 0, 0),
    PROF("7g.40gb", 7, 8, 1, 0, 0),
};
static const struct al_gpu_model a100_40 = {.name = "A100-40GB",
                                            .mig = true,
                                            .units = 8,
                                            .compute_slices = 7,
                                            .max_instances = 7,
                                            .nprofiles = 7,
                                            .profiles = a100_40_profiles};

static const struct al_mig_profile h100_80_profiles[] = {
    PROF("1g.10gb", 1, 1, 7, 0, 0, 1, 2, 3, 4, 5, 6),
    PROF("1g.10gb+me", 1, 1, 1, ME, 0, 1, 2, 3, 4, 5, 6),
    PROF("1g.20gb", 1, 2, 4, 0, 0, 2, 4, 6),
    PROF("2g.20gb", 2, 2, 3, 0, 0, 2, 4),
    PROF("3g.40gb", 3, 4, 2, 0, 0, 4),
    PROF("4g.40gb", 4, 4, 1, 0, 0),
    PROF("7g.80gb", 7, 8, 1, 0, 0),
};
static const struct al_gpu_model h100_80 = {.name = "H100-80GB",
                                            .mig = true,
                                            .units = 8,
                                            .compute_slices = 7,
                                            .max_instances = 7,
                                            .nprofiles = 7,
                                            .profiles = h100_80_profiles};

static const struct al_mig_profile a30_profiles[] = {
    PROF("1g.6gb", 1, 1, 4, 0, 0, 1, 2, 3), PROF("1g.6gb+me", 1, 1, 1, ME, 0, 1, 2, 3),
    PROF("2g.12gb", 2, 2, 2, 0, 0, 2),      PROF("2g.12gb+me", 2, 2, 1, ME, 0, 2),
    PROF("4g.24gb", 4, 4, 1, 0, 0),
};
static const struct al_gpu_model a30 = {.name = "A30-24GB",
                                        .mig = true,
                                        .units = 4,
                                        .compute_slices = 4,
                                        .max_instances = 4,
                                        .nprofiles = 5,
                                        .profiles = a30_profiles};

static const struct al_mig_profile rtx_profiles[] = {
    PROF("1g.24gb", 1, 3, 4, 0, 0, 3, 6, 9),
    PROF("1g.24gb+me", 1, 3, 1, ME, 0, 3, 6, 9),
    PROF("1g.24gb+gfx", 1, 3, 4, GFX, 0, 3, 6, 9),
    PROF("1g.24gb+me.all", 1, 3, 1, MEALL, 0, 3, 6, 9),
    PROF("1g.24gb-me", 1, 3, 4, NOME, 0, 3, 6, 9),
    PROF("2g.48gb", 2, 6, 2, 0, 0, 6),
    PROF("2g.48gb+gfx", 2, 6, 2, GFX, 0, 6),
    PROF("2g.48gb+me.all", 2, 6, 1, MEALL, 0, 6),
    PROF("2g.48gb-me", 2, 6, 2, NOME, 0, 6),
    PROF("4g.96gb", 4, 12, 1, 0, 0),
    PROF("4g.96gb+gfx", 4, 12, 1, GFX, 0),
};
static const struct al_gpu_model rtx = {.name = "RTX-PRO-6000",
                                        .mig = true,
                                        .units = 12,
                                        .compute_slices = 4,
                                        .max_instances = 4,
                                        .nprofiles = 11,
                                        .profiles = rtx_profiles};

static const struct al_gpu_model l40s = {.name = "L40S", .mig = false};

/* A100-40GB's five classic profiles (1g.5gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb). */
#define A100_CLASSIC ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6))

/* ---- helpers ----------------------------------------------------------------------------- */

static struct al_layout parse_ok(const struct al_gpu_model *m, const char *text)
{
    struct al_layout l;
    struct al_err e = {0};
    int rc = al_layout_parse(m, text, &l, &e);
    if (rc != 0)
        fail_msg("parse '%s' failed: %s", text, e.msg);
    return l;
}

static void format_is(const struct al_layout *l, const char *want)
{
    char buf[512];
    al_layout_format(l, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void expect_valid(const struct al_gpu_model *m, const char *text)
{
    struct al_layout l = parse_ok(m, text);
    struct al_err e = {0};
    if (al_layout_validate(&l, &e) != 0)
        fail_msg("'%s' should be valid on %s: %s", text, m->name, e.msg);
}

/* `text` parses but is invalid, with a message containing `want`. */
static void expect_invalid(const struct al_gpu_model *m, const char *text, const char *want)
{
    struct al_layout l = parse_ok(m, text);
    struct al_err e = {0};
    assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
    if (!strstr(e.msg, want))
        fail_msg("'%s' on %s: message '%s' lacks '%s'", text, m->name, e.msg, want);
}

static void expect_parse_error(const struct al_gpu_model *m, const char *text, const char *want)
{
    struct al_layout l;
    struct al_err e = {0};
    assert_int_equal(al_layout_parse(m, text, &l, &e), AL_E_INVAL);
    assert_int_equal(l.n, 0);
    if (!strstr(e.msg, want))
        fail_msg("parse '%s': message '%s' lacks '%s'", text, e.msg, want);
}

/* Place `text` on m: expect `want` (canonical text after sorting), or, when want starts with
 * '!', the error whose message contains want + 1 (code NOFIT, or INVAL with "!!"). */
static void expect_place(const struct al_gpu_model *m, const char *text, const char *want)
{
    struct al_layout in = parse_ok(m, text), out;
    struct al_err e = {0};
    int rc = al_layout_place(&in, &out, &e);
    if (want[0] == '!') {
        bool inval = want[1] == '!';
        assert_int_equal(rc, inval ? AL_E_INVAL : AL_E_NOFIT);
        if (!strstr(e.msg, want + 1 + inval))
            fail_msg("place '%s': message '%s' lacks '%s'", text, e.msg, want + 1 + inval);
        return;
    }
    if (rc != 0)
        fail_msg("place '%s' failed: %s", text, e.msg);
    assert_int_equal(al_layout_validate(&out, NULL), 0);
    assert_int_equal(out.n, in.n);
    for (unsigned i = 0; i < in.n; i++) { /* same order, same profiles, fixed starts kept */
        assert_int_equal(out.p[i].profile, in.p[i].profile);
        if (in.p[i].start != AL_START_ANY)
            assert_int_equal(out.p[i].start, in.p[i].start);
    }
    al_layout_sort(&out);
    format_is(&out, want);
}

/* A copy of a model with a few fields changed, for rules real data never reach alone. */
struct variant {
    struct al_gpu_model m;
    struct al_mig_profile p[AL_MIG_MAX_PROFILES];
};

static void variant_of(struct variant *v, const struct al_gpu_model *m)
{
    v->m = *m;
    memcpy(v->p, m->profiles, m->nprofiles * sizeof v->p[0]);
    v->m.profiles = v->p;
}

/* ---- parse and format ---------------------------------------------------------------------- */

static void test_parse_format_roundtrip(void **state)
{
    (void)state;
    struct al_layout l = parse_ok(&h100_80, "3g.40gb@0,2g.20gb@4,1g.10gb@6");
    assert_int_equal(l.n, 3);
    assert_ptr_equal(l.model, &h100_80);
    assert_int_equal(l.p[0].profile, 4);
    assert_int_equal(l.p[0].start, 0);
    assert_int_equal(l.p[1].profile, 3);
    assert_int_equal(l.p[2].start, 6);
    format_is(&l, "3g.40gb@0,2g.20gb@4,1g.10gb@6");

    l = parse_ok(&h100_80, "  1g.10gb@6 ,\t3G.40GB@0 , 1g.10gb+me ");
    assert_int_equal(l.p[2].start, AL_START_ANY);
    format_is(&l, "1g.10gb@6,3g.40gb@0,1g.10gb+me");
    al_layout_sort(&l);
    format_is(&l, "3g.40gb@0,1g.10gb@6,1g.10gb+me");

    format_is(&(struct al_layout){.model = &h100_80}, "none");
    assert_int_equal(parse_ok(&h100_80, "").n, 0);
    assert_int_equal(parse_ok(&h100_80, "  none ").n, 0);
    assert_int_equal(parse_ok(&h100_80, "NONE").n, 0);
    assert_int_equal(parse_ok(&l40s, "none").n, 0);
    format_is(&(struct al_layout){.model = &l40s}, "none");
}

static void test_parse_count_shorthand(void **state)
{
    (void)state;
    struct al_layout l = parse_ok(&h100_80, "2x1g.10gb, 3g.40gb@4");
    format_is(&l, "1g.10gb,1g.10gb,3g.40gb@4");
    l = parse_ok(&rtx, "4X1g.24gb-me");
    assert_int_equal(l.n, 4);
    format_is(&l, "1g.24gb-me,1g.24gb-me,1g.24gb-me,1g.24gb-me");
    expect_parse_error(&h100_80, "0x1g.10gb", "count must be 1 to 16");
    expect_parse_error(&h100_80, "17x1g.10gb", "count must be 1 to 16");
    expect_parse_error(&h100_80, "2x1g.10gb@0", "a count and a start cannot go together");
    expect_parse_error(&h100_80, "9x1g.10gb,9x1g.10gb", "more than 16 instances");
    expect_parse_error(&h100_80, "x1g.10gb", "unknown profile 'x1g.10gb'");
}

static void test_parse_errors(void **state)
{
    (void)state;
    expect_parse_error(&h100_80, "3g.20gb@0",
                       "unknown profile '3g.20gb' for H100-80GB (valid: 1g.10gb, 1g.10gb+me, "
                       "1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb)");
    expect_parse_error(&a30, "3g.12gb", "unknown profile '3g.12gb' for A30-24GB (valid: 1g.6gb,");
    expect_parse_error(&rtx, "1g.24gb+foo@0", "unknown profile '1g.24gb+foo'");
    expect_parse_error(&a100_40, "1g.10gb+me", "unknown profile '1g.10gb+me' for A100-40GB");
    expect_parse_error(&h100_80, "3g.40gb@", "bad start ''");
    expect_parse_error(&h100_80, "3g.40gb@x", "bad start 'x'");
    expect_parse_error(&h100_80, "3g.40gb@-1", "bad start '-1'");
    expect_parse_error(&h100_80, "3g.40gb@255", "bad start '255'");
    expect_parse_error(&h100_80, "3g.40gb@0004", "bad start '0004'");
    expect_parse_error(&h100_80, "3g.40gb@0@4", "bad start '0@4'");
    expect_parse_error(&h100_80, "3g.40gb@0,", "item 2 is empty");
    expect_parse_error(&h100_80, ",3g.40gb@0", "item 1 is empty");
    expect_parse_error(&h100_80, "3g.40gb@0,,1g.10gb@6", "item 2 is empty");
    expect_parse_error(&h100_80, "3g.40gb @0", "item 1: bad character 0x20");
    expect_parse_error(&h100_80, "3g.40gb@0\n", "bad character 0x0a");
    expect_parse_error(&h100_80, "1g.10gb\xc3\xa9", "bad character 0xc3");
    expect_parse_error(&l40s, "1g.10gb", "L40S has no MIG");
    expect_parse_error(&h100_80,
                       "1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,"
                       "1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb,1g.10gb",
                       "more than 16 instances");

    char big[2000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_parse_error(&h100_80, big, "longer than 1024");
    char item[100];
    memset(item, 'a', sizeof item - 1);
    item[sizeof item - 1] = '\0';
    expect_parse_error(&h100_80, item, "item 1 longer than 64");

    struct al_layout l;
    assert_int_equal(al_layout_parse(NULL, "none", &l, NULL), AL_E_INVAL);
    assert_int_equal(al_layout_parse(&h100_80, NULL, &l, NULL), AL_E_INVAL);
    assert_int_equal(al_layout_parse(&h100_80, "none", NULL, NULL), AL_E_INVAL);
}

static void test_format_truncates_like_snprintf(void **state)
{
    (void)state;
    struct al_layout l = parse_ok(&h100_80, "3g.40gb@0,3g.40gb@4");
    char small[8];
    assert_int_equal(al_layout_format(&l, small, sizeof small), 19);
    assert_string_equal(small, "3g.40gb");
    assert_int_equal(al_layout_format(&l, NULL, 0), 19);
    l.p[1].profile = 42; /* out of range: still prints something, never reads past the table */
    format_is(&l, "3g.40gb@0,profile#42@4");
}

static void test_masks(void **state)
{
    (void)state;
    struct al_layout l = parse_ok(&h100_80, "3g.40gb@4,1g.10gb@1,2g.20gb@2");
    assert_int_equal(al_placement_mask(&h100_80, l.p[0]), 0xf0);
    assert_int_equal(al_placement_mask(&h100_80, l.p[1]), 0x02);
    assert_int_equal(al_placement_mask(&h100_80, l.p[2]), 0x0c);
    assert_int_equal(al_layout_mask(&l), 0xfe);
    l = parse_ok(&rtx, "2g.48gb@6,1g.24gb@3");
    assert_int_equal(al_layout_mask(&l), 0xff8);
    l = parse_ok(&rtx, "4g.96gb");
    assert_int_equal(al_placement_mask(&rtx, l.p[0]), 0); /* AL_START_ANY */
    l.p[0].start = 0;
    assert_int_equal(al_layout_mask(&l), 0xfff);
}

/* ---- validate ---------------------------------------------------------------------------- */

static void test_validate_valid_layouts(void **state)
{
    (void)state;
    expect_valid(&h100_80, "none");
    expect_valid(&h100_80, "7g.80gb@0");
    expect_valid(&h100_80, "4g.40gb@0,3g.40gb@4");
    expect_valid(&h100_80, "3g.40gb@0,3g.40gb@4");
    expect_valid(&h100_80, "3g.40gb@0,2g.20gb@4,1g.10gb@6");
    expect_valid(&h100_80, "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,1g.10gb@4,1g.10gb@5,1g.10gb@6");
    expect_valid(&h100_80, "1g.10gb+me@3,1g.20gb@6,2g.20gb@0");
    expect_valid(&a100_40, "1g.10gb@0,1g.10gb@2,1g.10gb@4,1g.10gb@6");
    expect_valid(&a30, "2g.12gb+me@0,1g.6gb@2,1g.6gb@3");
    expect_valid(&a30, "4g.24gb@0");
    expect_valid(&rtx, "2g.48gb@0,1g.24gb+me@6,1g.24gb+gfx@9");
    expect_valid(&rtx, "1g.24gb+me.all@0,1g.24gb-me@3,2g.48gb-me@6");
    expect_valid(&rtx, "2g.48gb+me.all@6,1g.24gb-me@0,1g.24gb-me@3");
    expect_valid(&rtx, "4g.96gb+gfx@0");
    expect_valid(&l40s, "none");
}

static void test_validate_bad_start(void **state)
{
    (void)state;
    expect_invalid(&h100_80, "3g.40gb@2",
                   "3g.40gb@2: start 2 not allowed for 3g.40gb "
                   "(allowed: 0,4)");
    expect_invalid(&h100_80, "1g.10gb@7",
                   "1g.10gb@7: start 7 not allowed for 1g.10gb "
                   "(allowed: 0,1,2,3,4,5,6)");
    expect_invalid(&h100_80, "2g.20gb@0,1g.20gb@3", "1g.20gb@3: start 3 not allowed");
    expect_invalid(&a30, "2g.12gb@1", "2g.12gb@1: start 1 not allowed for 2g.12gb (allowed: 0,2)");
    expect_invalid(&rtx, "1g.24gb@1",
                   "1g.24gb@1: start 1 not allowed for 1g.24gb "
                   "(allowed: 0,3,6,9)");
    expect_invalid(&rtx, "4g.96gb@6", "(allowed: 0)");
    /* out of range */
    expect_invalid(&h100_80, "1g.10gb@8", "start 8 not allowed");
    expect_invalid(&a30, "1g.6gb@4", "start 4 not allowed");
    expect_invalid(&rtx, "1g.24gb@12", "start 12 not allowed");
    expect_invalid(&rtx, "2g.48gb@254", "start 254 not allowed");

    struct al_layout l = parse_ok(&h100_80, "3g.40gb");
    struct al_err e;
    assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "3g.40gb: no start given (write 3g.40gb@N)");
}

/* A start the profile allows but whose units run past the GPU: only a faulty catalog gets
 * there, and validate must still refuse it (the mask would otherwise be cut short). */
static void test_validate_out_of_range_units(void **state)
{
    (void)state;
    static const uint8_t units[] = {8, 4, 12};
    const struct al_gpu_model *models[] = {&h100_80, &a30, &rtx};
    for (unsigned k = 0; k < 3; k++) {
        struct variant v;
        variant_of(&v, models[k]);
        v.p[0].starts[v.p[0].nstarts - 1] = units[k] - 1;
        v.p[0].size = 2;
        struct al_layout l = {.model = &v.m, .n = 1};
        l.p[0] = (struct al_placement){0, (uint8_t)(units[k] - 1)};
        struct al_err e;
        assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
        char want[128];
        snprintf(want, sizeof want, "%s@%u: units %u-%u exceed the %u units of %s", v.p[0].name,
                 units[k] - 1, units[k] - 1, units[k], units[k], v.m.name);
        assert_string_equal(e.msg, want);
    }
}

static void test_validate_overlap(void **state)
{
    (void)state;
    expect_invalid(&h100_80, "3g.40gb@4,2g.20gb@4", "2g.20gb@4 overlaps 3g.40gb@4");
    expect_invalid(&h100_80, "4g.40gb@0,1g.10gb@3", "1g.10gb@3 overlaps 4g.40gb@0");
    expect_invalid(&h100_80, "1g.10gb@0,1g.10gb@0", "1g.10gb@0 overlaps 1g.10gb@0");
    expect_invalid(&h100_80, "7g.80gb@0,1g.10gb+me@6", "1g.10gb+me@6 overlaps 7g.80gb@0");
    expect_invalid(&a100_40, "1g.10gb@2,2g.10gb@2", "2g.10gb@2 overlaps 1g.10gb@2");
    expect_invalid(&a30, "1g.6gb@1,2g.12gb@0", "2g.12gb@0 overlaps 1g.6gb@1");
    expect_invalid(&a30, "4g.24gb@0,1g.6gb@3", "1g.6gb@3 overlaps 4g.24gb@0");
    expect_invalid(&rtx, "2g.48gb@6,1g.24gb@9", "1g.24gb@9 overlaps 2g.48gb@6");
    expect_invalid(&rtx, "1g.24gb@0,1g.24gb+gfx@3,4g.96gb@0", "4g.96gb@0 overlaps 1g.24gb@0");
}

/* The compute-slice limit is never the first rule to break on the real tables (their units
 * run out first), so each family is checked on a copy with a smaller limit. */
static void test_validate_compute_slices(void **state)
{
    (void)state;
    struct variant v;
    variant_of(&v, &h100_80);
    v.m.compute_slices = 6;
    expect_invalid(&v.m, "4g.40gb@0,3g.40gb@4", "compute slices 7 exceed 6 (H100-80GB)");
    expect_valid(&v.m, "3g.40gb@0,3g.40gb@4");
    variant_of(&v, &a30);
    v.m.compute_slices = 3;
    expect_invalid(&v.m, "2g.12gb@0,2g.12gb+me@2", "compute slices 4 exceed 3 (A30-24GB)");
    variant_of(&v, &rtx);
    v.m.compute_slices = 3;
    expect_invalid(&v.m, "2g.48gb@0,1g.24gb@6,1g.24gb@9", "compute slices 4 exceed 3");
    /* the message counts every instance, not just those up to the one that broke the limit */
    v.m.compute_slices = 2;
    expect_invalid(&v.m, "1g.24gb@0,1g.24gb@3,1g.24gb@6,1g.24gb@9", "compute slices 4 exceed 2");
}

/* Max counts, like compute slices, are implied by the units on the real tables (except for
 * +me, where the media rule speaks first), so they are checked on copies with lower counts. */
static void test_validate_max_count(void **state)
{
    (void)state;
    struct variant v;
    variant_of(&v, &h100_80);
    v.p[4].max_count = 1;
    expect_invalid(&v.m, "3g.40gb@0,3g.40gb@4",
                   "3g.40gb@4: more than 1 3g.40gb instances (its max count)");
    variant_of(&v, &a30);
    v.p[0].max_count = 3;
    expect_invalid(&v.m, "1g.6gb@0,1g.6gb@1,1g.6gb@2,1g.6gb@3", "1g.6gb@3: more than 3 1g.6gb");
    variant_of(&v, &rtx);
    v.p[6].max_count = 1;
    expect_invalid(&v.m, "2g.48gb+gfx@6,2g.48gb+gfx@0", "2g.48gb+gfx@0: more than 1 2g.48gb+gfx");
}

static void test_validate_media(void **state)
{
    (void)state;
    expect_invalid(&h100_80, "1g.10gb+me@0,1g.10gb+me@1",
                   "1g.10gb+me@1: second media-extension instance (1g.10gb+me@0 has one");
    expect_invalid(&a100_40, "1g.5gb+me@6,3g.20gb@0,1g.5gb+me@5", "1g.5gb+me@5: second media");
    expect_invalid(&a30, "1g.6gb+me@0,2g.12gb+me@2", "2g.12gb+me@2: second media-extension");
    expect_invalid(&rtx, "1g.24gb+me@0,1g.24gb+me@3", "1g.24gb+me@3: second media-extension");
    /* +me.all counts as a media instance too */
    expect_invalid(&rtx, "1g.24gb+me@0,2g.48gb+me.all@6", "2g.48gb+me.all@6: second media");
    expect_invalid(&rtx, "1g.24gb+me.all@0,2g.48gb+me.all@6", "second media-extension");
}

static void test_validate_me_all(void **state)
{
    (void)state;
    expect_invalid(&rtx, "1g.24gb@0,1g.24gb+me.all@3",
                   "1g.24gb+me.all@3: a +me.all instance may share the GPU only with -me "
                   "instances, not 1g.24gb@0");
    expect_invalid(&rtx, "1g.24gb-me@0,2g.48gb+me.all@6,1g.24gb+gfx@3",
                   "1g.24gb+gfx@3: only -me instances may share the GPU with 2g.48gb+me.all@6");
    expect_invalid(&rtx, "2g.48gb+me.all@0,2g.48gb@6", "2g.48gb@6: only -me instances");
    expect_valid(&rtx, "1g.24gb-me@0,1g.24gb-me@3,1g.24gb-me@6,1g.24gb+me.all@9");
}

static void test_validate_too_many_instances(void **state)
{
    (void)state;
    expect_invalid(&h100_80,
                   "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,1g.10gb@4,1g.10gb@5,1g.10gb@6,"
                   "1g.20gb@6",
                   "1g.20gb@6: 8 instances exceed the maximum 7 (H100-80GB)");
    expect_invalid(&a30, "1g.6gb@0,1g.6gb@1,1g.6gb@2,1g.6gb@3,1g.6gb+me@0",
                   "1g.6gb+me@0: 5 instances exceed the maximum 4 (A30-24GB)");
    expect_invalid(&rtx, "1g.24gb@0,1g.24gb@3,1g.24gb@6,1g.24gb@9,1g.24gb@0",
                   "5 instances exceed the maximum 4 (RTX-PRO-6000)");
    /* and the fixed bound of the struct itself */
    struct al_layout l = {.model = &h100_80, .n = AL_LAYOUT_MAX + 1};
    struct al_err e;
    assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "exceed the bound 16"));
}

static void test_validate_bad_input(void **state)
{
    (void)state;
    struct al_err e;
    struct al_layout l = {.model = &l40s, .n = 1};
    assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "L40S has no MIG: only the empty layout is valid");
    l = (struct al_layout){.model = &h100_80, .n = 1, .p = {{7, 0}}};
    assert_int_equal(al_layout_validate(&l, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "instance 1: profile index 7 out of range (H100-80GB)");
    assert_int_equal(al_layout_validate(NULL, NULL), AL_E_INVAL);
    l.model = NULL;
    assert_int_equal(al_layout_validate(&l, NULL), AL_E_INVAL);
}

static void test_can_add(void **state)
{
    (void)state;
    struct al_layout l = parse_ok(&h100_80, "3g.40gb@0,1g.10gb+me@4");
    assert_true(al_layout_can_add(&l, (struct al_placement){0, 5}));
    assert_true(al_layout_can_add(&l, (struct al_placement){2, 6}));  /* 1g.20gb@6 */
    assert_false(al_layout_can_add(&l, (struct al_placement){3, 6})); /* 2g.20gb: 0,2,4 */
    assert_false(al_layout_can_add(&l, (struct al_placement){1, 5})); /* second +me */
    assert_false(al_layout_can_add(&l, (struct al_placement){0, 4})); /* overlap */
    assert_false(al_layout_can_add(&l, (struct al_placement){0, 7})); /* bad start */
    assert_false(al_layout_can_add(&l, (struct al_placement){4, 4})); /* overlap */
    assert_false(al_layout_can_add(&l, (struct al_placement){0, AL_START_ANY}));
    assert_false(al_layout_can_add(&l, (struct al_placement){9, 5}));
    l = parse_ok(&l40s, "none");
    assert_false(al_layout_can_add(&l, (struct al_placement){0, 0}));
    l = parse_ok(&rtx, "1g.24gb+me.all@0");
    assert_true(al_layout_can_add(&l, (struct al_placement){4, 3}));
    assert_false(al_layout_can_add(&l, (struct al_placement){0, 3}));
    assert_false(al_layout_can_add(&l, (struct al_placement){2, 3}));
}

/* ---- place ------------------------------------------------------------------------------- */

static void test_place_h100(void **state)
{
    (void)state;
    expect_place(&h100_80, "3g.40gb,3g.40gb", "3g.40gb@0,3g.40gb@4");
    expect_place(&h100_80, "3g.40gb,4g.40gb", "4g.40gb@0,3g.40gb@4");
    expect_place(&h100_80, "1g.10gb,1g.10gb,1g.10gb,1g.10gb,3g.40gb",
                 "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,3g.40gb@4");
    expect_place(&h100_80, "7x1g.10gb",
                 "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,1g.10gb@4,1g.10gb@5,1g.10gb@6");
    expect_place(&h100_80, "7g.80gb", "7g.80gb@0");
    expect_place(&h100_80, "none", "none");
    /* fragmentation-aware: a lone small instance goes where it blocks least (as the driver's
     * own choice in the MIG user guide: -cgi 19,14,5 gives 1g at 6, 2g at 4, 4g at 0) */
    expect_place(&h100_80, "1g.10gb", "1g.10gb@6");
    expect_place(&h100_80, "2g.20gb", "2g.20gb@4");
    expect_place(&h100_80, "1g.10gb,2g.20gb,4g.40gb", "4g.40gb@0,2g.20gb@4,1g.10gb@6");
    /* 3g at 4, not 0: it keeps 4g@0 addable (4g + 3g is a valid pair, 3g + 4g@4 is not) */
    expect_place(&h100_80, "3g.40gb", "3g.40gb@4");
    expect_place(&h100_80, "3g.40gb,1g.10gb", "1g.10gb@0,3g.40gb@4");
    expect_place(&h100_80, "1g.20gb,1g.10gb", "1g.10gb@4,1g.20gb@6");
    /* fixed instances stay; the free ones fit around them */
    expect_place(&h100_80, "3g.40gb@0,3g.40gb", "3g.40gb@0,3g.40gb@4");
    expect_place(&h100_80, "1g.10gb@5,3g.40gb", "3g.40gb@0,1g.10gb@5");
    expect_place(&h100_80, "1g.10gb@0,2g.20gb,2g.20gb", "1g.10gb@0,2g.20gb@2,2g.20gb@4");
}

static void test_place_nofit(void **state)
{
    (void)state;
    expect_place(&h100_80, "3g.40gb,3g.40gb,1g.10gb",
                 "!no placement for 1g.10gb: units 0, 1, 2, 3, 4, 5, 6 each overlap 3g.40gb@0, "
                 "3g.40gb@4 (no arrangement fits)");
    expect_place(&h100_80, "1g.10gb@1,1g.10gb@5,3g.40gb",
                 "!no placement for 3g.40gb: units 0-3, 4-7 each overlap 1g.10gb@1, 1g.10gb@5");
    expect_place(&h100_80, "3g.40gb,3g.40gb,1g.10gb,2g.20gb", "!compute slices 9 exceed 7");
    expect_place(&h100_80, "7g.80gb,1g.10gb", "!compute slices 8 exceed 7 (H100-80GB)");
    expect_place(&h100_80, "3x3g.40gb", "!3 instances of 3g.40gb exceed its max count 2");
    expect_place(&h100_80, "8x1g.10gb", "!8 instances of 1g.10gb exceed its max count 7");
    expect_place(&h100_80, "7x1g.10gb,1g.10gb+me", "!8 instances exceed the maximum 7");
    expect_place(&h100_80, "2x1g.10gb+me", "!1g.10gb+me and 1g.10gb+me both need media");
    expect_place(&h100_80, "4x1g.20gb,3g.40gb",
                 "!no placement for 1g.20gb: units 0-1, 2-3, 4-5, 6-7 each overlap 3g.40gb@0, "
                 "1g.20gb@4, 1g.20gb@6 (no arrangement fits)");
    expect_place(&h100_80, "1g.20gb@2,4g.40gb",
                 "!no placement for 4g.40gb: units 0-3 each "
                 "overlap 1g.20gb@2");
    /* the fixed part must be valid by itself: that is bad input, not a lack of room */
    expect_place(&h100_80, "3g.40gb@2,1g.10gb", "!!3g.40gb@2: start 2 not allowed");
    expect_place(&h100_80, "3g.40gb@0,1g.10gb@0,1g.10gb", "!!1g.10gb@0 overlaps 3g.40gb@0");
}

static void test_place_a30(void **state)
{
    (void)state;
    expect_place(&a30, "2g.12gb,2g.12gb", "2g.12gb@0,2g.12gb@2");
    expect_place(&a30, "2g.12gb+me,2g.12gb+me", "!2g.12gb+me and 2g.12gb+me both need media");
    expect_place(&a30, "2g.12gb+me,1g.6gb+me", "!both need media extensions");
    expect_place(&a30, "2g.12gb+me,2g.12gb", "2g.12gb@0,2g.12gb+me@2");
    expect_place(&a30, "1g.6gb,2g.12gb,1g.6gb", "2g.12gb@0,1g.6gb@2,1g.6gb@3");
    expect_place(&a30, "1g.6gb@2,2g.12gb,1g.6gb", "2g.12gb@0,1g.6gb@2,1g.6gb@3");
    expect_place(&a30, "1g.6gb@1,1g.6gb@2,2g.12gb",
                 "!no placement for 2g.12gb: units 0-1, 2-3 "
                 "each overlap 1g.6gb@1, 1g.6gb@2");
    expect_place(&a30, "4g.24gb,1g.6gb", "!compute slices 5 exceed 4 (A30-24GB)");
    expect_place(&a30, "5x1g.6gb", "!5 instances of 1g.6gb exceed its max count 4");
    expect_place(&a30, "4x1g.6gb,1g.6gb+me", "!5 instances exceed the maximum 4");
}

static void test_place_rtx(void **state)
{
    (void)state;
    expect_place(&rtx, "1g.24gb,2g.48gb,1g.24gb", "2g.48gb@0,1g.24gb@6,1g.24gb@9");
    expect_place(&rtx, "2g.48gb,2g.48gb-me", "2g.48gb@0,2g.48gb-me@6");
    expect_place(&rtx, "1g.24gb@3,2g.48gb", "1g.24gb@3,2g.48gb@6");
    expect_place(&rtx, "1g.24gb@6,2g.48gb,1g.24gb", "2g.48gb@0,1g.24gb@6,1g.24gb@9");
    expect_place(&rtx, "1g.24gb@3,1g.24gb@6,2g.48gb",
                 "!no placement for 2g.48gb: units 0-5, 6-11 each overlap 1g.24gb@3, 1g.24gb@6");
    expect_place(&rtx, "1g.24gb+me.all,1g.24gb-me,2g.48gb-me",
                 "2g.48gb-me@0,1g.24gb+me.all@6,1g.24gb-me@9");
    expect_place(&rtx, "1g.24gb+me.all,1g.24gb",
                 "!1g.24gb+me.all shares the GPU only with -me instances, not 1g.24gb");
    expect_place(&rtx, "1g.24gb+me,2g.48gb+me.all", "!both need media extensions");
    expect_place(&rtx, "4g.96gb,1g.24gb", "!compute slices 5 exceed 4");
    expect_place(&rtx, "4x1g.24gb+gfx", "1g.24gb+gfx@0,1g.24gb+gfx@3,1g.24gb+gfx@6,1g.24gb+gfx@9");
    expect_place(&rtx, "2g.48gb,1g.24gb,1g.24gb,1g.24gb", "!compute slices 5 exceed 4");
}

static void test_place_bad_input(void **state)
{
    (void)state;
    struct al_layout in = {.model = &l40s, .n = 1}, out;
    struct al_err e;
    assert_int_equal(al_layout_place(&in, &out, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "L40S has no MIG"));
    in.n = 0;
    assert_int_equal(al_layout_place(&in, &out, &e), 0);
    assert_int_equal(out.n, 0);
    in = (struct al_layout){.model = &h100_80, .n = 1, .p = {{12, AL_START_ANY}}};
    assert_int_equal(al_layout_place(&in, &out, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "profile index 12 out of range"));
    in.n = AL_LAYOUT_MAX + 1;
    assert_int_equal(al_layout_place(&in, &out, NULL), AL_E_INVAL);
    assert_int_equal(al_layout_place(NULL, &out, NULL), AL_E_INVAL);
    /* in and ret may be the same layout */
    in = parse_ok(&h100_80, "3g.40gb,4g.40gb");
    assert_int_equal(al_layout_place(&in, &in, NULL), 0);
    format_is(&in, "3g.40gb@4,4g.40gb@0");
}

/* Place must find a solution exactly when one exists, and the best one by its score: for every
 * multiset of up to four profiles, compare with all valid layouts holding exactly that multiset
 * (from the enumeration). The score is recomputed here from its definition in layout.c: per
 * profile, largest first (size, compute slices, index), the starts where one more fits. */
#define MS_K    4
#define MS_BASE 12 /* profiles + 1 ("none") */
#define MS_N    (MS_BASE * MS_BASE * MS_BASE * MS_BASE)

struct multiset_ctx {
    unsigned np;
    unsigned char seen[MS_N];
    unsigned best[MS_N][AL_MIG_MAX_PROFILES];
};

static unsigned multiset_key(const struct al_layout *l, unsigned np)
{
    unsigned t[MS_K], key = 0;
    for (unsigned i = 0; i < MS_K; i++)
        t[i] = i < l->n ? l->p[i].profile : np;
    for (unsigned i = 0; i < MS_K; i++)
        for (unsigned j = i + 1; j < MS_K; j++)
            if (t[j] < t[i]) {
                unsigned x = t[i];
                t[i] = t[j];
                t[j] = x;
            }
    for (unsigned i = 0; i < MS_K; i++)
        key = key * MS_BASE + t[i];
    return key;
}

static bool larger(const struct al_gpu_model *m, unsigned a, unsigned b)
{
    const struct al_mig_profile *x = &m->profiles[a], *y = &m->profiles[b];
    if (x->size != y->size)
        return x->size > y->size;
    if (x->compute_slices != y->compute_slices)
        return x->compute_slices > y->compute_slices;
    return a < b;
}

static void score_of(const struct al_layout *l, unsigned score[AL_MIG_MAX_PROFILES])
{
    const struct al_gpu_model *m = l->model;
    unsigned order[AL_MIG_MAX_PROFILES], n = 0;
    memset(score, 0, AL_MIG_MAX_PROFILES * sizeof score[0]);
    for (unsigned k = 0; k < m->nprofiles; k++) { /* selection by rank, no sorting code shared */
        unsigned rank = 0;
        for (unsigned j = 0; j < m->nprofiles; j++)
            rank += j != k && larger(m, j, k);
        order[rank] = k;
        n++;
    }
    for (unsigned r = 0; r < n; r++) {
        const struct al_mig_profile *pr = &m->profiles[order[r]];
        for (unsigned i = 0; i < pr->nstarts; i++)
            score[r] +=
                al_layout_can_add(l, (struct al_placement){(uint8_t)order[r], pr->starts[i]});
    }
}

static int score_cmp(const unsigned *a, const unsigned *b)
{
    for (unsigned k = 0; k < AL_MIG_MAX_PROFILES; k++)
        if (a[k] != b[k])
            return a[k] < b[k] ? -1 : 1;
    return 0;
}

static int note_multiset(const struct al_layout *l, void *ctx)
{
    struct multiset_ctx *c = ctx;
    unsigned score[AL_MIG_MAX_PROFILES];
    if (l->n > MS_K)
        return 0;
    unsigned key = multiset_key(l, c->np);
    score_of(l, score);
    if (!c->seen[key] || score_cmp(score, c->best[key]) > 0)
        memcpy(c->best[key], score, sizeof score);
    c->seen[key] = 1;
    return 0;
}

static void check_place_multiset(const struct multiset_ctx *c, const struct al_gpu_model *m,
                                 const unsigned t[MS_K])
{
    struct al_layout in = {.model = m}, out;
    unsigned score[AL_MIG_MAX_PROFILES];
    for (unsigned i = 0; i < MS_K; i++)
        if (t[i] < c->np)
            in.p[in.n++] = (struct al_placement){(uint8_t)t[i], AL_START_ANY};
    if (in.n == 0)
        return;
    unsigned key = multiset_key(&in, c->np);
    int rc = al_layout_place(&in, &out, NULL);
    assert_int_equal(rc, c->seen[key] ? 0 : AL_E_NOFIT);
    if (rc != 0)
        return;
    assert_int_equal(al_layout_validate(&out, NULL), 0);
    score_of(&out, score);
    assert_int_equal(score_cmp(score, c->best[key]), 0);
}

static void check_place_complete(const struct al_gpu_model *m)
{
    static struct multiset_ctx c;
    memset(&c, 0, sizeof c);
    c.np = m->nprofiles;
    assert_true(m->nprofiles < MS_BASE);
    al_layout_enumerate(m, 0, false, note_multiset, &c);
    unsigned t[MS_K];
    for (t[0] = 0; t[0] <= c.np; t[0]++)
        for (t[1] = t[0]; t[1] <= c.np; t[1]++)
            for (t[2] = t[1]; t[2] <= c.np; t[2]++)
                for (t[3] = t[2]; t[3] <= c.np; t[3]++)
                    check_place_multiset(&c, m, t);
}

static void test_place_is_complete_and_best(void **state)
{
    (void)state;
    check_place_complete(&h100_80);
    check_place_complete(&a100_40);
    check_place_complete(&a30);
    check_place_complete(&rtx);
}

/* ---- untrusted text ----------------------------------------------------------------------- */

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1664525u + 1013904223u;
    return *x >> 8;
}

/* Random texts made of layout-ish pieces and raw bytes: parse must never crash or overrun, and
 * whatever it accepts must format, re-parse to the same layout, and validate/place/diff
 * without trouble. */
static void test_parse_fuzz(void **state)
{
    (void)state;
    static const char *pieces[] = {"1g.10gb", "3g.40gb",    "@",  ",",    " ",   "x",
                                   "2",       "7",          "0",  "none", "+me", "@4",
                                   "@6",      "1g.24gb-me", "99", "\t",   ";"};
    const struct al_gpu_model *models[] = {&h100_80, &a30, &rtx, &l40s};
    uint32_t seed = 12345;
    unsigned accepted = 0, placed_ok = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        char text[160];
        size_t len = 0, want = lcg(&seed) % 12;
        for (size_t k = 0; k < want; k++) {
            const char *piece = pieces[lcg(&seed) % (sizeof pieces / sizeof pieces[0])];
            char raw[2] = {(char)(lcg(&seed) % 255 + 1), '\0'};
            if (lcg(&seed) % 16 == 0)
                piece = raw;
            size_t pl = strlen(piece);
            if (len + pl >= sizeof text)
                break;
            memcpy(text + len, piece, pl);
            len += pl;
        }
        text[len] = '\0';
        const struct al_gpu_model *m = models[iter % 4];
        struct al_layout l, back, placed;
        struct al_err e;
        if (al_layout_parse(m, text, &l, &e) != 0) {
            assert_int_equal(e.code, AL_E_INVAL);
            assert_true(strlen(e.msg) < AL_ERR_MSG_MAX);
            continue;
        }
        accepted++;
        char out[512];
        assert_true(al_layout_format(&l, out, sizeof out) < (int)sizeof out);
        assert_int_equal(al_layout_parse(m, out, &back, NULL), 0);
        assert_int_equal(back.n, l.n);
        assert_memory_equal(back.p, l.p, l.n * sizeof l.p[0]);
        int rc = al_layout_place(&l, &placed, &e);
        assert_true(rc == 0 || rc == AL_E_NOFIT || rc == AL_E_INVAL);
        if (rc == 0) {
            struct al_mig_step steps[AL_DIFF_MAX];
            placed_ok += placed.n > 0;
            assert_int_equal(al_layout_validate(&placed, NULL), 0);
            assert_int_equal(al_layout_diff(&(struct al_layout){.model = m}, &placed, steps, NULL),
                             (int)placed.n);
        }
    }
    print_message("fuzz: %u texts accepted, %u non-empty placed\n", accepted, placed_ok);
    assert_true(accepted > 1000); /* the generator does reach the interesting paths */
    assert_true(placed_ok > 50);
}

/* ---- enumerate, cross-checked by a naive enumerator ----------------------------------------- */

/* The naive side: its own rule checker, written from the facts without looking at layout.c. */
static bool naive_valid(const struct al_gpu_model *m, const struct al_placement *p, unsigned n)
{
    int owner[32];
    unsigned slices = 0, media = 0, me_all = 0, not_no_me = 0, count[AL_MIG_MAX_PROFILES] = {0};
    for (unsigned u = 0; u < 32; u++)
        owner[u] = -1;
    if (n > m->max_instances)
        return false;
    for (unsigned i = 0; i < n; i++) {
        const struct al_mig_profile *pr = &m->profiles[p[i].profile];
        bool ok = false;
        for (unsigned k = 0; k < pr->nstarts; k++)
            ok |= pr->starts[k] == p[i].start;
        if (!ok || p[i].start + pr->size > m->units)
            return false;
        for (unsigned u = p[i].start; u < p[i].start + pr->size; u++) {
            if (owner[u] >= 0)
                return false;
            owner[u] = (int)i;
        }
        slices += pr->compute_slices;
        media += (pr->attrs & (AL_MIG_ATTR_ME | AL_MIG_ATTR_ME_ALL)) != 0;
        me_all += (pr->attrs & AL_MIG_ATTR_ME_ALL) != 0;
        not_no_me += !(pr->attrs & AL_MIG_ATTR_NO_ME);
        if (++count[p[i].profile] > pr->max_count)
            return false;
    }
    return slices <= m->compute_slices && media <= 1 && (me_all == 0 || not_no_me == 1);
}

#define SETS_MAX 20000

/* Counts (non-empty valid layouts, maximal layouts) measured with this engine and confirmed by
 * the naive walk; all profiles of each model, then its plain profiles only. */
#define COUNT_A100_ALL   2318
#define MAX_A100_ALL     239
#define COUNT_H100_ALL   2318
#define MAX_H100_ALL     239
#define COUNT_A30_ALL    75
#define MAX_A30_ALL      17
#define COUNT_RTX_ALL    716
#define MAX_RTX_ALL      302
#define COUNT_H100_PLAIN 722
#define MAX_H100_PLAIN   78
#define COUNT_A30_PLAIN  25
#define MAX_A30_PLAIN    5
#define COUNT_RTX_PLAIN  25
#define MAX_RTX_PLAIN    5

/* All (profile, start) pairs of a profile set, and layouts as bit sets over them. */
struct pairs {
    const struct al_gpu_model *m;
    struct al_placement p[64];
    unsigned n;
};

static void pairs_of(struct pairs *ps, const struct al_gpu_model *m, uint32_t set)
{
    ps->m = m;
    ps->n = 0;
    for (unsigned pi = 0; pi < m->nprofiles; pi++)
        for (unsigned k = 0; (set == 0 || (set >> pi & 1)) && k < m->profiles[pi].nstarts; k++)
            ps->p[ps->n++] = (struct al_placement){(uint8_t)pi, m->profiles[pi].starts[k]};
    assert_true(ps->n <= 64);
}

static uint64_t bits_of(const struct pairs *ps, const struct al_layout *l)
{
    uint64_t b = 0;
    for (unsigned i = 0; i < l->n; i++) {
        unsigned k = 0;
        while (k < ps->n &&
               (ps->p[k].profile != l->p[i].profile || ps->p[k].start != l->p[i].start))
            k++;
        assert_true(k < ps->n);
        assert_false(b >> k & 1);
        b |= (uint64_t)1 << k;
    }
    return b;
}

struct naive {
    const struct pairs *ps;
    struct al_placement cur[AL_LAYOUT_MAX];
    unsigned n;
    uint64_t bits;
    uint64_t all[SETS_MAX], maximal[SETS_MAX];
    long nall, nmax;
};

static bool naive_is_maximal(struct naive *nv)
{
    for (unsigned k = 0; k < nv->ps->n; k++) {
        if (nv->bits >> k & 1 || nv->n >= AL_LAYOUT_MAX)
            continue;
        nv->cur[nv->n] = nv->ps->p[k];
        if (naive_valid(nv->ps->m, nv->cur, nv->n + 1))
            return false;
    }
    return true;
}

/* Every subset of the pairs, each reached once (pair k joins only after pairs < k), pruned
 * where invalid (every rule is hereditary). At each set tried, validate must agree. */
/* NOLINTNEXTLINE(misc-no-recursion): depth <= AL_LAYOUT_MAX, one instance per level */
static void naive_walk(struct naive *nv, unsigned from)
{
    for (unsigned k = from; k < nv->ps->n && nv->n < AL_LAYOUT_MAX; k++) {
        nv->cur[nv->n++] = nv->ps->p[k];
        struct al_layout l = {.model = nv->ps->m, .n = nv->n};
        memcpy(l.p, nv->cur, nv->n * sizeof l.p[0]);
        bool ok = naive_valid(nv->ps->m, nv->cur, nv->n);
        assert_int_equal(al_layout_validate(&l, NULL) == 0, ok);
        if (ok) {
            nv->bits |= (uint64_t)1 << k;
            assert_true(nv->nall < SETS_MAX);
            nv->all[nv->nall++] = nv->bits;
            if (naive_is_maximal(nv))
                nv->maximal[nv->nmax++] = nv->bits;
            naive_walk(nv, k + 1);
            nv->bits &= ~((uint64_t)1 << k);
        }
        nv->n--;
    }
}

struct collected {
    const struct pairs *ps;
    uint64_t sets[SETS_MAX];
    long n;
    char prev[512];
};

static int collect(const struct al_layout *l, void *ctx)
{
    struct collected *c = ctx;
    struct al_layout sorted = *l;
    char text[512];
    assert_true(l->n > 0);
    assert_int_equal(al_layout_validate(l, NULL), 0);
    al_layout_sort(&sorted);
    assert_memory_equal(sorted.p, l->p, l->n * sizeof l->p[0]); /* visited sorted */
    al_layout_format(l, text, sizeof text);
    struct al_layout back = parse_ok(l->model, text); /* format and parse agree */
    assert_int_equal(back.n, l->n);
    assert_memory_equal(back.p, l->p, l->n * sizeof l->p[0]);
    assert_true(c->n < SETS_MAX);
    c->sets[c->n++] = bits_of(c->ps, l);
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void same_sets(uint64_t *a, long na, uint64_t *b, long nb)
{
    assert_int_equal(na, nb);
    qsort(a, (size_t)na, sizeof *a, cmp_u64);
    qsort(b, (size_t)nb, sizeof *b, cmp_u64);
    for (long i = 0; i < na; i++) {
        assert_int_equal(a[i], b[i]);
        if (i > 0)
            assert_true(a[i] != a[i - 1]); /* each set once */
    }
}

/* Enumerate (all, then maximal) and compare with the naive walk; check the expected counts. */
static void cross_check_counts(const struct al_gpu_model *m, uint32_t set, long *ret_all,
                               long *ret_max)
{
    static struct pairs ps;
    static struct naive nv;
    static struct collected c;
    pairs_of(&ps, m, set);
    memset(&nv, 0, sizeof nv);
    nv.ps = &ps;
    naive_walk(&nv, 0);
    memset(&c, 0, sizeof c);
    c.ps = &ps;
    long all = al_layout_enumerate(m, set, false, collect, &c);
    print_message("%s set 0x%x: %ld valid non-empty layouts (naive %ld), ", m->name, set, all,
                  nv.nall);
    assert_int_equal(all, c.n);
    same_sets(c.sets, c.n, nv.all, nv.nall);
    memset(&c, 0, sizeof c);
    c.ps = &ps;
    long max = al_layout_enumerate(m, set, true, collect, &c);
    print_message("%ld maximal (naive %ld)\n", max, nv.nmax);
    assert_int_equal(max, c.n);
    same_sets(c.sets, c.n, nv.maximal, nv.nmax);
    assert_int_equal(al_layout_enumerate(m, set, false, NULL, NULL), all);
    *ret_all = all;
    *ret_max = max;
}

static void cross_check(const struct al_gpu_model *m, uint32_t set, long want_all, long want_max)
{
    long all, max;
    cross_check_counts(m, set, &all, &max);
    assert_int_equal(all, want_all);
    assert_int_equal(max, want_max);
}

static void test_enumerate_a100_classic(void **state)
{
    (void)state;
    /* counted independently over the MIG User Guide's A100 placement table (the guide gives
     * no number): 297 non-empty (298 with the empty one), 19 maximal */
    cross_check(&a100_40, A100_CLASSIC, 297, 19);
}

static void test_enumerate_counts(void **state)
{
    (void)state;
    /* counts measured with this engine and confirmed by the naive walk above */
    cross_check(&a100_40, 0, COUNT_A100_ALL, MAX_A100_ALL);
    cross_check(&h100_80, 0, COUNT_H100_ALL, MAX_H100_ALL);
    cross_check(&a30, 0, COUNT_A30_ALL, MAX_A30_ALL);
    cross_check(&rtx, 0, COUNT_RTX_ALL, MAX_RTX_ALL);
    /* the plain profiles only (no +me/+gfx/-me/+me.all variants) */
    cross_check(&h100_80, 0x7du, COUNT_H100_PLAIN, MAX_H100_PLAIN);
    cross_check(&a30, 0x15u, COUNT_A30_PLAIN, MAX_A30_PLAIN);
    cross_check(&rtx, (1u << 0) | (1u << 5) | (1u << 9), COUNT_RTX_PLAIN, MAX_RTX_PLAIN);
}

static int collect_text(const struct al_layout *l, void *ctx)
{
    char(*texts)[128] = ctx;
    unsigned i = 0;
    while (texts[i][0])
        i++;
    assert_true(i < 255);
    al_layout_format(l, texts[i], sizeof texts[i]);
    return 0;
}

static bool has_text(char (*texts)[128], const char *want)
{
    for (unsigned i = 0; texts[i][0]; i++)
        if (strcmp(texts[i], want) == 0)
            return true;
    return false;
}

static void test_enumerate_maximal_examples(void **state)
{
    (void)state;
    static char texts[256][128];
    memset(texts, 0, sizeof texts);
    assert_int_equal(al_layout_enumerate(&a100_40, A100_CLASSIC, true, collect_text, texts), 19);
    assert_true(has_text(texts, "1g.5gb@0,1g.5gb@1,1g.5gb@2,1g.5gb@3,1g.5gb@4,1g.5gb@5,1g.5gb@6"));
    assert_true(has_text(texts, "1g.5gb@0,1g.5gb@1,1g.5gb@2,1g.5gb@3,3g.20gb@4"));
    assert_true(has_text(texts, "3g.20gb@0,2g.10gb@4,1g.5gb@6"));
    assert_true(has_text(texts, "4g.20gb@0,3g.20gb@4"));
    assert_true(has_text(texts, "3g.20gb@0,3g.20gb@4"));
    assert_true(has_text(texts, "7g.40gb@0"));
    assert_false(has_text(texts, "4g.20gb@0"));           /* 3g@4 still fits */
    assert_false(has_text(texts, "3g.20gb@0,2g.10gb@4")); /* 1g@6 still fits */
    memset(texts, 0, sizeof texts);
    assert_int_equal(al_layout_enumerate(&h100_80, 0x7du, true, collect_text, texts),
                     MAX_H100_PLAIN);
    assert_true(has_text(texts, "4g.40gb@0,3g.40gb@4"));
    assert_true(has_text(texts, "3g.40gb@0,2g.20gb@4,1g.10gb@6"));
    assert_true(has_text(texts, "3g.40gb@0,2g.20gb@4,1g.20gb@6"));
}

static int stop_after_five(const struct al_layout *l, void *ctx)
{
    (void)l;
    return ++*(int *)ctx >= 5;
}

static void test_enumerate_edges(void **state)
{
    (void)state;
    int calls = 0;
    assert_int_equal(al_layout_enumerate(&h100_80, 0, false, stop_after_five, &calls), 5);
    assert_int_equal(calls, 5);
    assert_int_equal(al_layout_enumerate(&l40s, 0, false, NULL, NULL), 0);
    assert_int_equal(al_layout_enumerate(NULL, 0, false, NULL, NULL), 0);
    /* one profile alone: 7g -> just itself; 3g -> @0, @4, both */
    assert_int_equal(al_layout_enumerate(&h100_80, 1u << 6, false, NULL, NULL), 1);
    assert_int_equal(al_layout_enumerate(&h100_80, 1u << 4, false, NULL, NULL), 3);
    assert_int_equal(al_layout_enumerate(&h100_80, 1u << 4, true, NULL, NULL), 1);
    /* 1g alone: every non-empty subset of 7 starts */
    assert_int_equal(al_layout_enumerate(&h100_80, 1u << 0, false, NULL, NULL), 127);
    /* bits past the model's profiles are ignored */
    assert_int_equal(al_layout_enumerate(&a30, 0xffffffe0u | (1u << 4), false, NULL, NULL), 1);
}

/* ---- diff -------------------------------------------------------------------------------- */

static void apply(struct al_layout *l, struct al_mig_step s)
{
    if (s.op == AL_STEP_CREATE) {
        assert_true(l->n < AL_LAYOUT_MAX);
        l->p[l->n++] = s.p;
        return;
    }
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].profile == s.p.profile && l->p[i].start == s.p.start) {
            l->p[i] = l->p[--l->n];
            return;
        }
    fail_msg("destroy of an instance that is not there");
}

static bool contains(const struct al_layout *l, struct al_placement p)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].profile == p.profile && l->p[i].start == p.start)
            return true;
    return false;
}

static void check_diff(const struct al_layout *from, const struct al_layout *to)
{
    struct al_mig_step steps[AL_DIFF_MAX];
    int n = al_layout_diff(from, to, steps, NULL);
    assert_true(n >= 0);
    struct al_layout cur = *from;
    unsigned expect = 0;
    for (unsigned i = 0; i < from->n; i++)
        expect += !contains(to, from->p[i]);
    for (unsigned i = 0; i < to->n; i++)
        expect += !contains(from, to->p[i]);
    assert_int_equal(n, expect); /* only what must change */
    for (int i = 0; i < n; i++) {
        const struct al_mig_profile *pr = &from->model->profiles[steps[i].p.profile];
        assert_false(contains(from, steps[i].p) && contains(to, steps[i].p));
        if (i > 0 && steps[i].op == steps[i - 1].op) /* larger first */
            assert_true(pr->size <= from->model->profiles[steps[i - 1].p.profile].size);
        if (i > 0)
            assert_false(steps[i].op == AL_STEP_DESTROY && steps[i - 1].op == AL_STEP_CREATE);
        apply(&cur, steps[i]);
        assert_int_equal(al_layout_validate(&cur, NULL), 0);
    }
    al_layout_sort(&cur);
    struct al_layout want = *to;
    al_layout_sort(&want);
    assert_int_equal(cur.n, want.n);
    assert_memory_equal(cur.p, want.p, cur.n * sizeof cur.p[0]);
}

static void test_diff_examples(void **state)
{
    (void)state;
    struct al_layout from = parse_ok(&h100_80, "3g.40gb@0,2g.20gb@4,1g.10gb@6");
    struct al_layout to = parse_ok(&h100_80, "3g.40gb@0,3g.40gb@4");
    struct al_mig_step steps[AL_DIFF_MAX];
    assert_int_equal(al_layout_diff(&from, &to, steps, NULL), 3);
    assert_int_equal(steps[0].op, AL_STEP_DESTROY);
    assert_int_equal(steps[0].p.profile, 3); /* 2g before 1g */
    assert_int_equal(steps[1].op, AL_STEP_DESTROY);
    assert_int_equal(steps[1].p.start, 6);
    assert_int_equal(steps[2].op, AL_STEP_CREATE);
    assert_int_equal(steps[2].p.start, 4);
    check_diff(&from, &to);
    assert_int_equal(al_layout_diff(&from, &from, steps, NULL), 0);

    to = parse_ok(&h100_80, "1g.10gb@0,1g.10gb@1,2g.20gb@2,3g.40gb@4");
    from = parse_ok(&h100_80, "none");
    assert_int_equal(al_layout_diff(&from, &to, steps, NULL), 4);
    assert_int_equal(steps[0].p.profile, 4); /* creates largest first */
    assert_int_equal(steps[1].p.profile, 3);
    assert_int_equal(steps[2].p.start, 0);
    assert_int_equal(steps[3].p.start, 1);

    struct al_err e;
    to = parse_ok(&h100_80, "3g.40gb@2");
    assert_int_equal(al_layout_diff(&from, &to, steps, &e), AL_E_INVAL);
    assert_string_equal(e.msg, "to: 3g.40gb@2: start 2 not allowed for 3g.40gb (allowed: 0,4)");
    to = parse_ok(&a30, "none");
    assert_int_equal(al_layout_diff(&from, &to, steps, &e), AL_E_INVAL);
    assert_int_equal(al_layout_diff(&from, NULL, steps, NULL), AL_E_INVAL);
    from = parse_ok(&l40s, "none");
    to = parse_ok(&l40s, "none");
    assert_int_equal(al_layout_diff(&from, &to, steps, NULL), 0);
}

static struct al_layout all_layouts[2048];
static long n_layouts;

static int keep_layout(const struct al_layout *l, void *ctx)
{
    (void)ctx;
    assert_true(n_layouts < 2048);
    all_layouts[n_layouts++] = *l;
    return 0;
}

/* Every pair of layouts of the A30 (and the empty one), and a sample of H100 pairs. */
static void test_diff_exhaustive(void **state)
{
    (void)state;
    const struct al_gpu_model *models[] = {&a30, &h100_80, &rtx};
    for (unsigned k = 0; k < 3; k++) {
        n_layouts = 0;
        all_layouts[n_layouts++] = (struct al_layout){.model = models[k]};
        al_layout_enumerate(models[k], k == 1 ? A100_CLASSIC : 0, false, keep_layout, NULL);
        long step = n_layouts > 200 ? 7 : 1;
        for (long i = 0; i < n_layouts; i++)
            for (long j = i % step; j < n_layouts; j += step)
                check_diff(&all_layouts[i], &all_layouts[j]);
    }
}

/* ---- the real catalog (core/catalog) -------------------------------------------------------- */

static const struct al_gpu_model *real(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    if (!m)
        fail_msg("catalog lacks %s", name);
    return m;
}

/* The catalog's rule data equal the hand-built tables: two independent transcriptions. */
static void same_rules(const struct al_gpu_model *hand, const char *name)
{
    const struct al_gpu_model *m = real(name);
    assert_true(m->mig);
    assert_int_equal(m->units, hand->units);
    assert_int_equal(m->compute_slices, hand->compute_slices);
    assert_int_equal(m->max_instances, hand->max_instances);
    assert_int_equal(m->nprofiles, hand->nprofiles);
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *a = &m->profiles[i], *b = &hand->profiles[i];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->size, b->size);
        assert_int_equal(a->compute_slices, b->compute_slices);
        assert_int_equal(a->max_count, b->max_count);
        assert_int_equal(a->attrs, b->attrs);
        assert_int_equal(a->nstarts, b->nstarts);
        assert_memory_equal(a->starts, b->starts, a->nstarts);
    }
}

static void test_catalog_matches_hand_tables(void **state)
{
    (void)state;
    same_rules(&a100_40, "A100-40GB");
    same_rules(&h100_80, "H100-80GB");
    same_rules(&a30, "A30-24GB");
    same_rules(&rtx, "RTX-PRO-6000-96GB");
}

/* Non-empty layouts and maximal layouts with all profiles, by the shape of the model. */
static void expected_counts(const struct al_gpu_model *m, long *all, long *max)
{
    *all = *max = -1;
    if (m->units == 8 && m->nprofiles == 7) { /* A100, H100, H200, GH200, B200 … with one +me */
        *all = COUNT_H100_ALL;
        *max = MAX_H100_ALL;
    } else if (m->units == 8 && m->nprofiles == 6) { /* no +me (none since GH200-144GB's) */
        *all = COUNT_H100_PLAIN;
        *max = MAX_H100_PLAIN;
    } else if (m->units == 4) {
        *all = COUNT_A30_ALL;
        *max = MAX_A30_ALL;
    } else if (m->units == 12) {
        *all = COUNT_RTX_ALL;
        *max = MAX_RTX_ALL;
    }
}

static void check_catalog_model(const struct al_gpu_model *m)
{
    long all, max, want_all, want_max;
    cross_check_counts(m, 0, &all, &max);
    expected_counts(m, &want_all, &want_max);
    assert_int_equal(all, want_all);
    assert_int_equal(max, want_max);
    for (unsigned i = 0; i < m->nprofiles; i++) { /* each profile alone: parse, place, format */
        struct al_layout l = parse_ok(m, m->profiles[i].name), out;
        assert_int_equal(l.p[0].profile, i);
        assert_int_equal(al_layout_place(&l, &out, NULL), 0);
        assert_int_equal(al_layout_validate(&out, NULL), 0);
        char text[64], want[64];
        al_layout_format(&out, text, sizeof text);
        snprintf(want, sizeof want, "%s@%u", m->profiles[i].name, (unsigned)out.p[0].start);
        assert_string_equal(text, want);
    }
}

static void test_catalog_every_model(void **state)
{
    (void)state;
    unsigned mig = 0, plain = 0;
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        if (m->mig) {
            check_catalog_model(m);
            mig++;
            continue;
        }
        struct al_layout l = parse_ok(m, "none");
        assert_int_equal(al_layout_validate(&l, NULL), 0);
        expect_parse_error(m, "1g.10gb", "has no MIG");
        l.n = 1;
        assert_int_equal(al_layout_validate(&l, NULL), AL_E_INVAL);
        assert_int_equal(al_layout_enumerate(m, 0, false, NULL, NULL), 0);
        plain++;
    }
    assert_true(mig >= 10);
    assert_true(plain >= 1);
}

static void test_catalog_hand_worked(void **state)
{
    (void)state;
    const struct al_gpu_model *h100 = real("H100-80GB"), *a30r = real("A30"),
                              *pro = real("RTX-PRO-6000-96GB"), *a100 = real("A100-40GB");
    long all, max;
    cross_check_counts(a100, A100_CLASSIC, &all, &max);
    assert_int_equal(all, 297);
    assert_int_equal(max, 19);
    expect_valid(h100, "3g.40gb@0,2g.20gb@4,1g.10gb@6");
    expect_invalid(h100, "3g.40gb@2", "3g.40gb@2: start 2 not allowed for 3g.40gb (allowed: 0,4)");
    expect_invalid(h100, "3g.40gb@4,2g.20gb@4", "2g.20gb@4 overlaps 3g.40gb@4");
    expect_invalid(h100, "1g.10gb+me@0,1g.10gb+me@1", "second media-extension instance");
    expect_place(h100, "3g.40gb,3g.40gb", "3g.40gb@0,3g.40gb@4");
    expect_place(h100, "4g.40gb,3g.40gb", "4g.40gb@0,3g.40gb@4");
    expect_place(h100, "3g.40gb,3g.40gb,1g.10gb", "!no placement for 1g.10gb");
    expect_place(h100, "4x1g.10gb,3g.40gb", "1g.10gb@0,1g.10gb@1,1g.10gb@2,1g.10gb@3,3g.40gb@4");
    expect_place(h100, "3g.40gb,3g.40gb,1g.10gb,2g.20gb", "!compute slices 9 exceed 7 (H100-80GB)");
    expect_place(a30r, "2g.12gb,2g.12gb", "2g.12gb@0,2g.12gb@2");
    expect_place(a30r, "2g.12gb+me,2g.12gb+me", "!both need media extensions");
    expect_invalid(a30r, "2g.12gb@1", "(allowed: 0,2)");
    expect_place(pro, "2g.48gb,2x1g.24gb", "2g.48gb@0,1g.24gb@6,1g.24gb@9");
    expect_place(pro, "1g.24gb+me.all,1g.24gb", "!shares the GPU only with -me instances");
    expect_invalid(pro, "1g.24gb@0,1g.24gb+me.all@3", "may share the GPU only with -me");
    expect_valid(pro, "1g.24gb+me.all@0,1g.24gb-me@3,2g.48gb-me@6");
}

/* ---- summaries (al_layout_sum), cross-checked by the naive checker ------------------------ */

static struct al_layout sum_layouts[4096];
static long n_sum_layouts;

static int keep_sum_layout(const struct al_layout *l, void *ctx)
{
    (void)ctx;
    assert_true(n_sum_layouts < 4096);
    sum_layouts[n_sum_layouts++] = *l;
    return 0;
}

static struct al_layout_sum sum_of(const struct al_layout *l)
{
    struct al_layout_sum s = {0};
    for (unsigned i = 0; i < l->n; i++)
        al_layout_sum_add(l->model, &s, l->p[i]);
    return s;
}

/* Do the extra instances join every layout of ls[0..k) validly (naive rules)? */
static bool naive_joins(struct al_layout *const *ls, unsigned k, const struct al_placement *extra,
                        unsigned ne)
{
    for (unsigned i = 0; i < k; i++) {
        struct al_placement all[2 * AL_LAYOUT_MAX];
        memcpy(all, ls[i]->p, ls[i]->n * sizeof *all);
        memcpy(all + ls[i]->n, extra, ne * sizeof *extra);
        if (!naive_valid(ls[i]->model, all, ls[i]->n + ne))
            return false;
    }
    return true;
}

/* Most instances of profile q that join every layout of ls[0..k) at once: every start subset. */
static unsigned naive_room(struct al_layout *const *ls, unsigned k, unsigned q)
{
    const struct al_mig_profile *pr = &ls[0]->model->profiles[q];
    unsigned best = 0;
    for (uint32_t set = 1; set < (UINT32_C(1) << pr->nstarts); set++) {
        struct al_placement extra[AL_MIG_MAX_STARTS];
        unsigned ne = 0;
        for (unsigned j = 0; j < pr->nstarts; j++)
            if ((set >> j) & 1)
                extra[ne++] = (struct al_placement){(uint8_t)q, pr->starts[j]};
        if (ne > best && naive_joins(ls, k, extra, ne))
            best = ne;
    }
    return best;
}

/* Random groups of 1-3 valid layouts: the join of their summaries accepts an instance exactly
 * when the instance joins each layout, and its room for a profile is the exhaustive optimum. */
static void test_sums_join_and_room(void **state)
{
    (void)state;
    const char *names[] = {"A30", "A100-40GB", "H100-80GB", "RTX-PRO-6000"};
    uint32_t seed = 12345;
    unsigned accepted = 0, rooms = 0;
    for (unsigned mi = 0; mi < 4; mi++) {
        const struct al_gpu_model *m = real(names[mi]);
        n_sum_layouts = 0;
        sum_layouts[n_sum_layouts++] = (struct al_layout){.model = m};
        al_layout_enumerate(m, 0, false, keep_sum_layout, NULL);
        for (int t = 0; t < 400; t++) {
            struct al_layout *ls[3];
            struct al_layout_sum worst = {0};
            unsigned k = 1 + lcg(&seed) % 3;
            for (unsigned i = 0; i < k; i++) {
                ls[i] = &sum_layouts[lcg(&seed) % (uint32_t)n_sum_layouts];
                struct al_layout_sum one = sum_of(ls[i]);
                al_layout_sum_join(&worst, &one);
            }
            for (unsigned q = 0; q < m->nprofiles; q++) {
                for (unsigned j = 0; j < m->profiles[q].nstarts; j++) {
                    struct al_placement p = {(uint8_t)q, m->profiles[q].starts[j]};
                    bool want = naive_joins(ls, k, &p, 1);
                    assert_int_equal(al_layout_sum_can_add(m, &worst, p), want);
                    accepted += want;
                }
                unsigned room = al_layout_sum_room(m, &worst, q);
                assert_int_equal(room, naive_room(ls, k, q));
                rooms += room > 0;
            }
        }
    }
    assert_true(accepted > 1000 && rooms > 1000);
    /* a model without MIG has no room, and nothing may join */
    struct al_layout_sum zero = {0};
    assert_int_equal(al_layout_sum_room(&l40s, &zero, 0), 0);
    assert_false(al_layout_sum_can_add(&l40s, &zero, (struct al_placement){0, 0}));
    assert_int_equal(al_layout_sum_room(real("H100-80GB"), &zero, 99), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format_roundtrip),
        cmocka_unit_test(test_parse_count_shorthand),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format_truncates_like_snprintf),
        cmocka_unit_test(test_parse_fuzz),
        cmocka_unit_test(test_masks),
        cmocka_unit_test(test_validate_valid_layouts),
        cmocka_unit_test(test_validate_bad_start),
        cmocka_unit_test(test_validate_out_of_range_units),
        cmocka_unit_test(test_validate_overlap),
        cmocka_unit_test(test_validate_compute_slices),
        cmocka_unit_test(test_validate_max_count),
        cmocka_unit_test(test_validate_media),
        cmocka_unit_test(test_validate_me_all),
        cmocka_unit_test(test_validate_too_many_instances),
        cmocka_unit_test(test_validate_bad_input),
        cmocka_unit_test(test_can_add),
        cmocka_unit_test(test_place_h100),
        cmocka_unit_test(test_place_nofit),
        cmocka_unit_test(test_place_a30),
        cmocka_unit_test(test_place_rtx),
        cmocka_unit_test(test_place_bad_input),
        cmocka_unit_test(test_place_is_complete_and_best),
        cmocka_unit_test(test_enumerate_a100_classic),
        cmocka_unit_test(test_enumerate_counts),
        cmocka_unit_test(test_enumerate_maximal_examples),
        cmocka_unit_test(test_enumerate_edges),
        cmocka_unit_test(test_diff_examples),
        cmocka_unit_test(test_diff_exhaustive),
        cmocka_unit_test(test_catalog_matches_hand_tables),
        cmocka_unit_test(test_catalog_every_model),
        cmocka_unit_test(test_catalog_hand_worked),
        cmocka_unit_test(test_sums_join_and_room),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
