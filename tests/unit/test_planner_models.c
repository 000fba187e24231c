/* test_planner_models.c — unit tests of the planner's model choice (planner_models.c): which
 * catalog models serve an ask and in which order, by hand, and on random asks against a copy
 * of the rule routes_flow.c applied before it moved to core (ask_for, candidates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/planner.h"

static const struct al_gpu_model *model(const char *name)
{
    const struct al_gpu_model *m = al_catalog_find(name);
    assert_non_null(m);
    return m;
}

/* "A100-80GB:3g.40gb,H100-80GB:3g.40gb" or "L40S,T4-16GB" for the first n choices. */
static const char *names(const struct al_model_choice *c, size_t n)
{
    static char buf[1024];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < sizeof buf; i++) {
        int w = snprintf(buf + o, sizeof buf - o, "%s%s%s%s", i ? "," : "", c[i].model->name,
                         c[i].profile >= 0 ? ":" : "",
                         c[i].profile >= 0 ? c[i].model->profiles[c[i].profile].name : "");
        o += w > 0 ? (size_t)w : 0;
    }
    return buf;
}

static void test_whole_by_memory(void **state)
{
    (void)state;
    struct al_model_choice c[64];
    struct al_model_ask a = {.kind = AL_REQ_WHOLE, .min_mem_gb = 80};
    size_t n = al_planner_models(&a, false, c, 64);
    /* least memory first; equal memory in catalog order (A100 before H100, H100-96GB before
     * the RTX PRO 6000) */
    assert_string_equal(names(c, n), "A100-80GB,H100-80GB,H100-94GB,H100-96GB,RTX-PRO-6000-96GB,"
                                     "H200-141GB,GH200-144GB,B200-180GB,GB200-186GB,B300-288GB");
    /* the first max of the same list */
    assert_int_equal(al_planner_models(&a, false, c, 2), 2);
    assert_string_equal(names(c, 2), "A100-80GB,H100-80GB");
    assert_int_equal(al_planner_models(&a, false, c, 0), 0);
    /* an asked model alone; with `any` every model meeting the memory ask */
    a = (struct al_model_ask){.kind = AL_REQ_WHOLE, .model = model("L40S")};
    assert_int_equal(al_planner_models(&a, false, c, 64), 1);
    assert_string_equal(names(c, 1), "L40S-48GB");
    assert_int_equal(al_planner_models(&a, true, c, 64), al_catalog_count());
    assert_string_equal(c[0].model->name, "V100-16GB"); /* 16 GB, first of three in the catalog */
    /* an asked model smaller than the memory ask serves nothing (the API refuses it earlier) */
    a.min_mem_gb = 80;
    assert_int_equal(al_planner_models(&a, false, c, 64), 0);
    struct al_model_choice one;
    assert_int_equal(al_planner_model_serves(&a, model("L40S"), &one), AL_E_NOFIT);
    assert_int_equal(al_planner_model_serves(&a, model("H200"), &one), 0);
    assert_ptr_equal(one.model, model("H200"));
    assert_int_equal(one.profile, -1);
    /* more memory than any GPU has */
    a = (struct al_model_ask){.kind = AL_REQ_WHOLE, .min_mem_gb = 4096};
    assert_int_equal(al_planner_models(&a, false, c, 64), 0);
}

static void test_mig_profiles(void **state)
{
    (void)state;
    struct al_model_choice c[64];
    /* a profile name without a model: the models that have it */
    struct al_model_ask a = {.kind = AL_REQ_MIG, .profile = "3g.40gb"};
    size_t n = al_planner_models(&a, false, c, 64);
    assert_string_equal(names(c, n), "A100-80GB:3g.40gb,H100-80GB:3g.40gb");
    /* and whose profile holds the instance memory asked: 3g.40gb is 40448 MiB on an H100
     * (42.4 GB) but 40192 MiB on an A100 (42.1 GB) */
    a.inst_mem_gb = 42;
    assert_string_equal(names(c, al_planner_models(&a, false, c, 64)),
                        "A100-80GB:3g.40gb,H100-80GB:3g.40gb");
    a.inst_mem_gb = 43;
    assert_int_equal(al_planner_models(&a, false, c, 64), 0);
    /* instance memory alone: per model the smallest plain profile holding it */
    a = (struct al_model_ask){.kind = AL_REQ_MIG, .inst_mem_gb = 20};
    n = al_planner_models(&a, false, c, 64);
    assert_true(n >= 4);
    assert_string_equal(names(c, 4), "A30-24GB:4g.24gb,A100-40GB:3g.20gb,A100-80GB:1g.20gb,"
                                     "H100-80GB:1g.20gb");
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].model->mig);
        assert_true((uint64_t)c[i].model->profiles[c[i].profile].mem_mib * 1048576 >=
                    20 * 1000000000ull);
    }
    /* a model without MIG, or without that profile, serves no MIG ask */
    struct al_model_choice one;
    a = (struct al_model_ask){.kind = AL_REQ_MIG, .model = model("L40S"), .inst_mem_gb = 10};
    assert_int_equal(al_planner_models(&a, false, c, 64), 0);
    assert_int_equal(al_planner_model_serves(&a, model("L40S"), &one), AL_E_NOFIT);
    a = (struct al_model_ask){.kind = AL_REQ_MIG, .model = model("A30"), .profile = "7g.80gb"};
    assert_int_equal(al_planner_models(&a, false, c, 64), 0);
    /* names as the catalog takes them: any case, or the NVML id */
    a = (struct al_model_ask){.kind = AL_REQ_MIG, .model = model("H100"), .profile = "1G.10GB+ME"};
    assert_int_equal(al_planner_models(&a, false, c, 64), 1);
    assert_string_equal(names(c, 1), "H100-80GB:1g.10gb+me");
    /* an instance memory beyond 2^64 bytes fits no profile */
    a = (struct al_model_ask){.kind = AL_REQ_MIG, .inst_mem_gb = UINT64_MAX / 1000};
    assert_int_equal(al_planner_models(&a, true, c, 64), 0);
}

/* ---- against the rule as routes_flow.c wrote it ---- */

struct ask {
    bool mig;
    const struct al_gpu_model *model;
    const char *profile;
    int64_t min_mem_gb, inst_mem_gb;
};

static int ask_for(const struct ask *a, const struct al_gpu_model *m, int *profile)
{
    *profile = -1;
    if (!a->mig)
        return m->mem_gb >= (uint64_t)a->min_mem_gb ? 0 : -1;
    if (!m->mig)
        return -1;
    if (a->profile) {
        *profile = al_catalog_profile_index(m, a->profile);
        if (*profile >= 0 && a->inst_mem_gb &&
            (uint64_t)m->profiles[*profile].mem_mib * 1048576 <
                (uint64_t)a->inst_mem_gb * 1000000000)
            return -1;
    } else {
        *profile = al_catalog_pick(m, (uint64_t)a->inst_mem_gb * 1000000000, true);
    }
    return *profile >= 0 ? 0 : -1;
}

static size_t candidates(const struct ask *a, bool any, const struct al_gpu_model **out, size_t max)
{
    size_t n = 0;
    int pi;
    if (a->model && !any) {
        if (ask_for(a, a->model, &pi) == 0)
            out[n++] = a->model;
        return n;
    }
    for (size_t i = 0; i < al_catalog_count() && n < max; i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        if (ask_for(a, m, &pi) != 0)
            continue;
        size_t k = n++;
        while (k > 0 && out[k - 1]->mem_gb > m->mem_gb) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = m;
    }
    return n;
}

static uint64_t rng = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* A random ask as POST /v1/requests could store it: memory 1..4096 GB, maybe a model, maybe a
 * profile name taken from some model. */
static struct ask random_ask(void)
{
    static const int64_t mems[] = {0, 1, 5, 10, 12, 20, 24, 40, 42, 47, 48, 80, 96, 141, 200, 4096};
    struct ask a = {.mig = rnd(2) == 0};
    if (rnd(3) == 0)
        a.model = al_catalog_at(rnd((unsigned)al_catalog_count()));
    if (a.mig && rnd(2) == 0) {
        const struct al_gpu_model *m = al_catalog_at(rnd((unsigned)al_catalog_count()));
        a.profile = m->mig ? m->profiles[rnd(m->nprofiles)].name : "9g.999gb";
    }
    a.min_mem_gb = a.mig ? 0 : mems[rnd(16)];
    a.inst_mem_gb = a.mig ? mems[rnd(16)] : 0;
    return a;
}

static void test_same_as_the_route(void **state)
{
    (void)state;
    unsigned nonempty = 0;
    for (int i = 0; i < 20000; i++) {
        struct ask a = random_ask();
        struct al_model_ask ma = {
            a.mig ? AL_REQ_MIG : AL_REQ_WHOLE, a.model, a.profile, (uint64_t)a.min_mem_gb,
            (uint64_t)a.inst_mem_gb,           {0, 0}};
        for (int any = 0; any < 2; any++) {
            const struct al_gpu_model *want[64];
            struct al_model_choice got[64];
            size_t nw = candidates(&a, any, want, 64), ng = al_planner_models(&ma, any, got, 64);
            assert_int_equal(ng, nw);
            for (size_t k = 0; k < nw; k++) {
                int pi;
                assert_ptr_equal(got[k].model, want[k]);
                assert_int_equal(ask_for(&a, want[k], &pi), 0);
                assert_int_equal(got[k].profile, a.mig ? pi : -1);
            }
            nonempty += nw > 0;
        }
        for (size_t k = 0; k < al_catalog_count(); k++) {
            int pi;
            struct al_model_choice c;
            int rc = al_planner_model_serves(&ma, al_catalog_at(k), &c);
            assert_int_equal(rc == 0, ask_for(&a, al_catalog_at(k), &pi) == 0);
        }
    }
    assert_true(nonempty > 5000);
}

/* Performance asks: a model (or an instance's share) below them is not a candidate. */
static void test_perf_asks(void **state)
{
    (void)state;
    struct al_model_choice c[64], one;
    struct al_model_ask a = {
        .kind = AL_REQ_WHOLE, .min_mem_gb = 80, .perf = {.tflops_bf16_x10 = 9000}};
    size_t n = al_planner_models(&a, false, c, 64);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++)
        assert_true(c[i].model->tflops_bf16_x10 >= 9000);
    /* H100-80GB keeps the PCIe figure (756 TFLOPS): it cannot promise 900 */
    a.model = model("H100-80GB");
    assert_int_equal(al_planner_model_serves(&a, a.model, &one), AL_E_NOFIT);
    a.perf = (struct al_perf){.mem_bw_gbs = 2000};
    assert_int_equal(al_planner_model_serves(&a, a.model, &one), 0);
    /* MIG: the picked profile grows until its share meets the ask */
    a = (struct al_model_ask){.kind = AL_REQ_MIG,
                              .model = model("A100-40GB"),
                              .inst_mem_gb = 5,
                              .perf = {.tflops_bf16_x10 = 1000}};
    assert_int_equal(al_planner_model_serves(&a, a.model, &one), 0);
    assert_string_equal(a.model->profiles[one.profile].name, "3g.20gb");
    /* a named profile whose share is too small does not serve */
    a.profile = "1g.5gb";
    assert_int_equal(al_planner_model_serves(&a, a.model, &one), AL_E_NOFIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_by_memory),
        cmocka_unit_test(test_mig_profiles),
        cmocka_unit_test(test_perf_asks),
        cmocka_unit_test(test_same_as_the_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
