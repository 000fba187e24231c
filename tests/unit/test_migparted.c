/* test_migparted.c — unit tests of core/migparted: config text from layouts, layouts from
 * profile counts, device filters. The YAML reader has its own: test_migparted_yaml.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/layout.h"
#include "core/migparted.h"

static const struct al_gpu_model *h100(void)
{
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    assert_non_null(m);
    return m;
}

static struct al_layout layout_of(const struct al_gpu_model *m, const char *text)
{
    struct al_layout l;
    struct al_err e = {0};
    if (al_layout_parse(m, text, &l, &e) != 0)
        fail_msg("parse '%s': %s", text, e.msg);
    return l;
}

static void test_name_check(void **state)
{
    (void)state;
    struct al_err e = {0};
    char long_name[80];
    assert_int_equal(al_migparted_name_check("all-balanced", NULL), 0);
    assert_int_equal(al_migparted_name_check("custom_v1.2-A", NULL), 0);
    assert_int_equal(al_migparted_name_check("", &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "empty"));
    assert_int_equal(al_migparted_name_check(NULL, NULL), AL_E_INVAL);
    assert_int_equal(al_migparted_name_check("a b", &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "character 2"));
    assert_int_equal(al_migparted_name_check("x:\n", NULL), AL_E_INVAL);
    memset(long_name, 'a', 63);
    long_name[63] = '\0';
    assert_int_equal(al_migparted_name_check(long_name, NULL), 0);
    long_name[63] = 'a';
    long_name[64] = '\0';
    assert_int_equal(al_migparted_name_check(long_name, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "63"));
}

static void test_export_text(void **state)
{
    (void)state;
    struct al_layout l = layout_of(h100(), "1g.10gb@6,3g.40gb@0,2g.20gb@4,1g.10gb@7");
    char buf[1024];
    /* 1g.10gb@7 is not a valid start, but export writes counts and does not validate. */
    int n = al_migparted_export(&l, "balanced", 0, buf, sizeof buf, NULL);
    const char *want = "version: v1\n"
                       "mig-configs:\n"
                       "  balanced:\n"
                       "    - devices: all\n"
                       "      mig-enabled: true\n"
                       "      mig-devices:\n"
                       "        \"1g.10gb\": 2\n"
                       "        \"2g.20gb\": 1\n"
                       "        \"3g.40gb\": 1\n";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
}

static void test_export_empty_and_filter(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    struct al_layout l = layout_of(m, "none");
    char buf[1024], want[1024], ids[128] = "";
    size_t pos = 0;
    al_migparted_export(&l, "off", 0, buf, sizeof buf, NULL);
    assert_non_null(strstr(buf, "      mig-enabled: true\n      mig-devices: {}\n"));
    assert_null(strstr(buf, "device-filter"));
    assert_true(m->pci_ids[0] != 0);
    for (size_t i = 0; i < 4 && m->pci_ids[i]; i++)
        pos += (size_t)snprintf(ids + pos, sizeof ids - pos, "%s\"0x%08X\"", i ? ", " : "",
                                (unsigned)m->pci_ids[i]);
    snprintf(want, sizeof want, "  off:\n    - device-filter: [%s]\n      devices: all\n", ids);
    al_migparted_export(&l, "off", AL_MIGPARTED_DEVICE_FILTER, buf, sizeof buf, NULL);
    assert_non_null(strstr(buf, want));
}

static void test_export_snprintf_semantics(void **state)
{
    (void)state;
    struct al_layout l = layout_of(h100(), "7g.80gb@0");
    char full[512], small[20];
    struct al_err e = {0};
    int n = al_migparted_export(&l, "x", 0, full, sizeof full, NULL);
    assert_true(n > 20);
    assert_int_equal(al_migparted_export(&l, "x", 0, NULL, 0, NULL), n);
    assert_int_equal(al_migparted_export(&l, "x", 0, small, sizeof small, NULL), n);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, full, sizeof small - 1);
    assert_int_equal(al_migparted_export(&l, "bad name", 0, full, sizeof full, &e), AL_E_INVAL);
    struct al_layout nomodel = {0};
    assert_int_equal(al_migparted_export(&nomodel, "x", 0, full, sizeof full, NULL), AL_E_INVAL);
}

static void test_counts_in_catalog_order(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    struct al_layout l = layout_of(m, "3g.40gb@4,1g.10gb@0,1g.10gb@1,1g.10gb@2");
    struct al_profile_count pc[AL_MIG_MAX_PROFILES];
    assert_int_equal(al_migparted_counts(&l, pc), 2);
    assert_true(al_catalog_profile_index(m, pc[0].name) < al_catalog_profile_index(m, pc[1].name));
    assert_string_equal(pc[0].name, "1g.10gb");
    assert_int_equal(pc[0].count, 3);
    assert_string_equal(pc[1].name, "3g.40gb");
    assert_int_equal(pc[1].count, 1);
}

static void test_to_layout_places(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    struct al_profile_count pc[] = {{"3g.40gb", 1}, {"2g.20gb", 1}, {"1g.10gb", 2}, {"4g.40gb", 0}};
    struct al_layout l, placed;
    struct al_err e = {0};
    assert_int_equal(al_migparted_to_layout(m, pc, 4, &l, &e), 0);
    assert_ptr_equal(l.model, m);
    assert_int_equal(l.n, 4);
    for (unsigned i = 0; i < l.n; i++)
        assert_int_equal(l.p[i].start, AL_START_ANY);
    assert_int_equal(al_layout_place(&l, &placed, &e), 0);
    assert_int_equal(al_layout_validate(&placed, &e), 0);
    assert_int_equal(placed.n, 4);
    /* Profile names are matched case-insensitively, as the catalog does. */
    struct al_profile_count upper[] = {{"7G.80GB", 1}};
    assert_int_equal(al_migparted_to_layout(m, upper, 1, &l, NULL), 0);
    assert_int_equal(l.n, 1);
}

/* A config written for GB200's early driver names its profiles by their old names: each
 * imports as the canonical profile of the same NVML id. */
static void test_to_layout_aliases(void **state)
{
    (void)state;
    const struct al_gpu_model *m = al_catalog_find("GB200");
    assert_non_null(m);
    struct al_profile_count old[] = {{"1g.24gb", 2}, {"3G.95GB", 1}};
    struct al_layout l, placed;
    struct al_err e = {0};
    assert_int_equal(al_migparted_to_layout(m, old, 2, &l, &e), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(m->profiles[l.p[0].profile].name, "1g.23gb");
    assert_string_equal(m->profiles[l.p[1].profile].name, "1g.23gb");
    assert_string_equal(m->profiles[l.p[2].profile].name, "3g.93gb");
    assert_int_equal(al_layout_place(&l, &placed, &e), 0);
    /* exported again, the config says the canonical names */
    struct al_profile_count pc[AL_MIG_MAX_PROFILES];
    assert_int_equal(al_migparted_counts(&placed, pc), 2);
    assert_string_equal(pc[0].name, "1g.23gb");
    assert_string_equal(pc[1].name, "3g.93gb");
    /* an alias and its canonical name are one profile listed twice */
    struct al_profile_count both[] = {{"1g.23gb", 1}, {"1g.24gb", 1}};
    assert_int_equal(al_migparted_to_layout(m, both, 2, &l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "twice"));
    /* an alias of one model is no name on another */
    struct al_profile_count other[] = {{"3g.95gb", 1}};
    assert_int_equal(al_migparted_to_layout(h100(), other, 1, &l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "unknown"));
}

static void test_to_layout_errors(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    struct al_layout l;
    struct al_err e = {0};
    struct al_profile_count unknown[] = {{"1g.5gb", 1}};
    assert_int_equal(al_migparted_to_layout(m, unknown, 1, &l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "'1g.5gb'"));
    assert_non_null(strstr(e.msg, "unknown"));
    assert_int_equal(l.n, 0);
    struct al_profile_count byid[] = {{"id:9", 1}};
    assert_int_equal(al_migparted_to_layout(m, byid, 1, &l, &e), AL_E_INVAL);
    struct al_profile_count ci[] = {{"1c.3g.40gb", 1}};
    assert_int_equal(al_migparted_to_layout(m, ci, 1, &l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "compute-instance"));
    struct al_profile_count over[] = {{"3g.40gb", 3}};
    assert_int_equal(al_migparted_to_layout(m, over, 1, &l, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "count 3 over its max 2"));
    struct al_profile_count twice[] = {{"1g.10gb", 1}, {"1G.10GB", 1}};
    assert_int_equal(al_migparted_to_layout(m, twice, 2, &l, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "twice"));
    struct al_profile_count total[] = {{"1g.10gb", 7}, {"1g.20gb", 1}};
    assert_int_equal(al_migparted_to_layout(m, total, 2, &l, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "8 instances"));
    const struct al_gpu_model *plain = al_catalog_find("L4-24GB");
    if (plain && !plain->mig) {
        struct al_profile_count one[] = {{"1g.10gb", 1}};
        assert_int_equal(al_migparted_to_layout(plain, one, 1, &l, &e), AL_E_UNSUPPORTED);
    }
}

static void test_to_layout_nofit_after_place(void **state)
{
    (void)state;
    struct al_profile_count pc[] = {{"3g.40gb", 2}, {"1g.10gb", 1}};
    struct al_layout l, placed;
    struct al_err e = {0};
    assert_int_equal(al_migparted_to_layout(h100(), pc, 2, &l, &e), 0);
    assert_int_equal(al_layout_place(&l, &placed, &e), AL_E_NOFIT);
}

static void test_filter_matches(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    uint32_t other[] = {0x20B010DEu};
    uint32_t mixed[] = {0x20B010DEu, m->pci_ids[0]};
    assert_true(al_migparted_filter_matches(m, NULL, 0));
    assert_false(al_migparted_filter_matches(m, other, 1));
    assert_true(al_migparted_filter_matches(m, mixed, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_check),
        cmocka_unit_test(test_export_text),
        cmocka_unit_test(test_export_empty_and_filter),
        cmocka_unit_test(test_export_snprintf_semantics),
        cmocka_unit_test(test_counts_in_catalog_order),
        cmocka_unit_test(test_to_layout_places),
        cmocka_unit_test(test_to_layout_aliases),
        cmocka_unit_test(test_to_layout_errors),
        cmocka_unit_test(test_to_layout_nofit_after_place),
        cmocka_unit_test(test_filter_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
