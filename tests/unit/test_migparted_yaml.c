/* test_migparted_yaml.c — unit tests of migyaml/migparted_yaml: reading untrusted mig-parted
 * files (good, bad, line numbers, bounds, from a file), a round trip through core/migparted's
 * export, and a mutation fuzz of the reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/catalog.h"
#include "core/layout.h"
#include "core/migparted.h"
#include "migyaml/migparted_yaml.h"

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

static const char good_yaml[] = "# a mig-parted config\n"
                                "version: v1\n"
                                "mig-configs:\n"
                                "  all-disabled:\n"
                                "    - devices: all\n"
                                "      mig-enabled: false\n"
                                "  all-balanced:\n"
                                "    - device-filter: [\"0x20B010DE\", \"0x20B110DE\"]\n"
                                "      devices: all\n"
                                "      mig-enabled: true\n"
                                "      mig-devices:\n"
                                "        \"1g.5gb\": 2\n"
                                "        \"2g.10gb\": 1\n"
                                "        \"3g.20gb\": 1\n"
                                "    - device-filter: \"0x233010DE\"\n"
                                "      devices: [0, 1, 3]\n"
                                "      mig-enabled: true\n"
                                "      mig-devices: {\"3g.40gb\": 2}\n"
                                "  empty:\n"
                                "    - devices: all\n"
                                "      mig-enabled: true\n"
                                "      mig-devices: {}\n";

static struct al_mpy_file *parse_ok(const char *text)
{
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    if (al_migparted_yaml_parse(text, strlen(text), &f, &e) != 0)
        fail_msg("parse failed: %s", e.msg);
    return f;
}

static void test_yaml_good(void **state)
{
    (void)state;
    struct al_mpy_file *f = parse_ok(good_yaml);
    assert_int_equal(f->nconfigs, 3);
    assert_string_equal(f->configs[0].name, "all-disabled");
    assert_false(f->configs[0].entries[0].mig_enabled);
    assert_true(f->configs[0].entries[0].devices_all);
    const struct al_mpy_config *b = al_migparted_yaml_find(f, "all-balanced");
    assert_ptr_equal(b, &f->configs[1]);
    assert_int_equal(b->nentries, 2);
    assert_int_equal(b->entries[0].nfilters, 2);
    assert_int_equal(b->entries[0].filters[1], 0x20B110DEu);
    assert_int_equal(b->entries[0].nprofiles, 3);
    assert_string_equal(b->entries[0].profiles[1].name, "2g.10gb");
    assert_int_equal(b->entries[0].profiles[0].count, 2);
    assert_int_equal(b->entries[1].nfilters, 1);
    assert_int_equal(b->entries[1].filters[0], 0x233010DEu);
    assert_false(b->entries[1].devices_all);
    assert_int_equal(b->entries[1].ndevices, 3);
    assert_int_equal(b->entries[1].devices[2], 3);
    assert_int_equal(b->entries[1].profiles[0].count, 2);
    assert_int_equal(f->configs[2].entries[0].nprofiles, 0);
    assert_true(f->configs[2].entries[0].mig_enabled);
    assert_null(al_migparted_yaml_find(f, "nope"));
    al_migparted_yaml_free(f);
    al_migparted_yaml_free(NULL);
    /* mig-parted accepts an empty device list, a zero count beside others, and no filter. */
    f = parse_ok("version: v1\nmig-configs: {a: [{devices: [], mig-enabled: true, mig-devices: "
                 "{1g.10gb: 0, 3g.40gb: 1}}]}\n");
    assert_false(f->configs[0].entries[0].devices_all);
    assert_int_equal(f->configs[0].entries[0].ndevices, 0);
    assert_int_equal(f->configs[0].entries[0].nprofiles, 2);
    assert_int_equal(f->configs[0].entries[0].nfilters, 0);
    al_migparted_yaml_free(f);
}

/* Each bad config with a piece of the message it must give. */
static const struct {
    const char *text, *want;
    int code;
} bad_yaml[] = {
    {"", "empty", AL_E_INVAL},
    {"version: v2\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n", "unknown version",
     AL_E_INVAL},
    {"mig-configs: {a: [{devices: all, mig-enabled: false}]}\n", "version: required", AL_E_INVAL},
    {"version: v1\n", "mig-configs: required", AL_E_INVAL},
    {"version: v1\nmig-configs: {}\n", "non-empty", AL_E_INVAL},
    {"version: v1\nextra: 1\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n",
     "unknown field 'extra'", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false, colour: red}]}\n",
     "unknown field 'colour'", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{mig-enabled: false}]}\n", "'devices' is required",
     AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all}]}\n", "'mig-enabled' is required", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true}]}\n",
     "required when mig-enabled", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false, mig-devices: "
     "{1g.10gb: 1}}]}\n",
     "must be empty", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "8}}]}\n",
     "8 is over 7", AL_E_RANGE},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "-1}}]}\n",
     "integer 0..7", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "\"1\"}}]}\n",
     "integer 0..7", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "1.5}}]}\n",
     "integer 0..7", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "01}}]}\n",
     "integer 0..7", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "1, 1g.10gb: 2}}]}\n",
     "given twice", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {\"1g "
     "10gb\": 1}}]}\n",
     "not a profile name", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: yes}]}\n", "true or false",
     AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: some, mig-enabled: false}]}\n", "\"all\"",
     AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: 0, mig-enabled: false}]}\n", "\"all\"", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: }]}\n",
     "required when mig-enabled", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: true, mig-devices: {1g.10gb: "
     "0, 2g.20gb: 0}}]}\n",
     "all counts are 0", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false, device-filter: "
     "\"0xZZ\"}]}\n",
     "PCI id", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false, device-filter: "
     "\"0x1234567890\"}]}\n",
     "PCI id", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: []}\n", "non-empty list", AL_E_INVAL},
    {"version: v1\nmig-configs: {\"bad label\": [{devices: all, mig-enabled: false}]}\n", "label",
     AL_E_INVAL},
    {"version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n  a: [{devices: "
     "all, mig-enabled: false}]\n",
     "given twice", AL_E_INVAL},
    {"version: v1\nversion: v1\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n",
     "given twice", AL_E_INVAL},
    {"- version\n- v1\n", "expected a mapping", AL_E_INVAL},
    {"version: v1\nmig-configs: [a, b]\n", "mig-configs", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [[1]]}\n", "expected a mapping", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n---\nversion: v1\n",
     "more than one", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all\n", "YAML", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: &x [*x]}\n", "expected a mapping", AL_E_INVAL},
    {"version: v1\nmig-configs: {a: [{devices: all, mig-enabled: false, <<: {x: 1}}]}\n",
     "unknown field '<<'", AL_E_INVAL},
    {"version: \"v1\\0\"\nmig-configs: {a: [{devices: all, mig-enabled: false}]}\n",
     "unknown version", AL_E_INVAL},
};

static void test_yaml_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_yaml / sizeof bad_yaml[0]; i++) {
        struct al_mpy_file *f = (struct al_mpy_file *)&f;
        struct al_err e = {0};
        int rc = al_migparted_yaml_parse(bad_yaml[i].text, strlen(bad_yaml[i].text), &f, &e);
        if (rc != bad_yaml[i].code || !strstr(e.msg, bad_yaml[i].want) || f != NULL)
            fail_msg("case %zu: rc %d, message '%s' (want '%s')", i, rc, e.msg, bad_yaml[i].want);
    }
}

static void test_yaml_line_numbers(void **state)
{
    (void)state;
    const char *text = "version: v1\n"
                       "mig-configs:\n"
                       "  a:\n"
                       "    - devices: all\n"
                       "      mig-enabled: true\n"
                       "      mig-devices:\n"
                       "        \"1g.10gb\": 9\n";
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    assert_int_equal(al_migparted_yaml_parse(text, strlen(text), &f, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "line 7"));
    assert_non_null(strstr(e.msg, "mig-configs.a[0].mig-devices.\"1g.10gb\""));
}

static void test_yaml_bounds(void **state)
{
    (void)state;
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    size_t big = AL_MPY_FILE_MAX + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '#', big);
    assert_int_equal(al_migparted_yaml_parse(text, big, &f, &e), AL_E_RANGE);
    free(text);
    /* 65 entries in one label: over AL_MPY_ENTRIES_MAX. */
    size_t cap = 8192, pos = 0;
    text = malloc(cap);
    assert_non_null(text);
    pos += (size_t)snprintf(text, cap, "version: v1\nmig-configs:\n  a:\n");
    for (int i = 0; i <= AL_MPY_ENTRIES_MAX; i++)
        pos +=
            (size_t)snprintf(text + pos, cap - pos, "    - {devices: all, mig-enabled: false}\n");
    assert_true(pos < cap);
    assert_int_equal(al_migparted_yaml_parse(text, pos, &f, &e), AL_E_RANGE);
    assert_non_null(strstr(e.msg, "entries"));
    free(text);
}

static void test_yaml_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_migparted_XXXXXX";
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, good_yaml, strlen(good_yaml)), (ssize_t)strlen(good_yaml));
    close(fd);
    assert_int_equal(al_migparted_yaml_read(path, &f, &e), 0);
    assert_int_equal(f->nconfigs, 3);
    al_migparted_yaml_free(f);
    /* Grow it past 1 MiB with comments: refused before parsing. */
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    for (int i = 0; i < 20000; i++)
        fputs("# padding padding padding padding padding padding padding padding\n", fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(al_migparted_yaml_read(path, &f, &e), AL_E_RANGE);
    assert_null(f);
    unlink(path);
    assert_int_equal(al_migparted_yaml_read(path, &f, &e), -ENOENT);
}

static void test_round_trip(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    struct al_layout l = layout_of(m, "3g.40gb@0,2g.20gb@4,1g.10gb@6"), back, placed;
    struct al_mpy_file *f = NULL;
    struct al_err e = {0};
    char text[1024];
    assert_int_equal(al_layout_validate(&l, &e), 0);
    al_migparted_export(&l, "rt", AL_MIGPARTED_DEVICE_FILTER, text, sizeof text, NULL);
    f = parse_ok(text);
    const struct al_mpy_entry *en = &f->configs[0].entries[0];
    assert_true(al_migparted_filter_matches(m, en->filters, en->nfilters));
    assert_int_equal(al_migparted_to_layout(m, en->profiles, en->nprofiles, &back, &e), 0);
    assert_int_equal(al_layout_place(&back, &placed, &e), 0);
    struct al_profile_count a[AL_MIG_MAX_PROFILES], b[AL_MIG_MAX_PROFILES];
    int na = al_migparted_counts(&l, a), nb = al_migparted_counts(&placed, b);
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_string_equal(a[i].name, b[i].name);
        assert_int_equal(a[i].count, b[i].count);
    }
    al_migparted_yaml_free(f);
}

/* Random byte flips, inserts and cuts of a valid config: the reader must answer 0 or an
 * error, never crash or leak (ASan watches). Seeded, so a failure reproduces. */
static void test_yaml_fuzz(void **state)
{
    (void)state;
    static const char alphabet[] = " \n\t:-[]{},\"'&*!#|>%@`0179avx\\";
    uint64_t seed = 0x9E3779B97F4A7C15u;
    size_t base = strlen(good_yaml);
    char *buf = malloc(base + 64);
    int ok = 0, errs = 0;
    assert_non_null(buf);
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = base;
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result): the reader takes (buf, len) */
        memcpy(buf, good_yaml, base);
        for (int k = 0; k < 1 + iter % 4; k++) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            size_t at = (size_t)(seed % len);
            char c = alphabet[(seed >> 32) % (sizeof alphabet - 1)];
            if ((seed >> 40) % 3 == 0)
                buf[at] = c;
            else if ((seed >> 40) % 3 == 1 && len < base + 60)
                memmove(buf + at + 1, buf + at, len - at), buf[at] = c, len++;
            else
                len = at + 1;
        }
        struct al_mpy_file *f = NULL;
        struct al_err e = {0};
        int rc = al_migparted_yaml_parse(buf, len, &f, &e);
        if (rc == 0) {
            assert_non_null(f);
            ok++;
        } else {
            assert_null(f);
            assert_true(e.msg[0] != '\0');
            errs++;
        }
        al_migparted_yaml_free(f);
    }
    free(buf);
    assert_true(ok > 0 && errs > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_good),         cmocka_unit_test(test_yaml_bad),
        cmocka_unit_test(test_yaml_line_numbers), cmocka_unit_test(test_yaml_bounds),
        cmocka_unit_test(test_yaml_read_file),    cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_yaml_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
