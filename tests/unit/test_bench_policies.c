/* test_bench_policies.c — unit tests of the benchmark harness: the mig-replay cluster model and
 * its reconfiguration accounting, each peer policy's placement rule, and the openb trace loader
 * (bench/lib). The benchmark's comparisons are only as good as these re-implementations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/catalog.h"
#include "core/layout.h"
#include "policies.h"
#include "trace.h"

static const struct al_gpu_model *h100(void)
{
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    assert_non_null(m);
    return m;
}

static int prof(unsigned slices)
{
    int p = al_sim_class_profile(h100(), slices);
    assert_true(p >= 0);
    return p;
}

static struct al_placement pl(unsigned slices, unsigned start)
{
    return (struct al_placement){.profile = (uint8_t)prof(slices), .start = (uint8_t)start};
}

/* True when GPU g runs an instance of `slices` compute slices at `start`. */
static bool has_busy(const struct al_sim *s, uint32_t g, unsigned slices, unsigned start)
{
    for (unsigned i = 0; i < s->g[g].n; i++) {
        const struct al_sim_inst *x = &s->g[g].inst[i];
        if (x->busy && x->p.start == start && s->m->profiles[x->p.profile].compute_slices == slices)
            return true;
    }
    return false;
}

static void test_class_profiles_are_the_classic_ones(void **state)
{
    (void)state;
    const struct al_gpu_model *m = h100();
    assert_string_equal(m->profiles[prof(1)].name, "1g.10gb");
    assert_string_equal(m->profiles[prof(2)].name, "2g.20gb");
    assert_string_equal(m->profiles[prof(3)].name, "3g.40gb");
    assert_string_equal(m->profiles[prof(4)].name, "4g.40gb");
    assert_string_equal(m->profiles[prof(7)].name, "7g.80gb");
    assert_int_equal(al_sim_class_profile(m, 5), -1);
}

static void test_idle_instance_is_reused_without_reconfig(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 1, NULL), 0);
    assert_true(al_sim_commit_mig(&s, 0, pl(3, 4), 100)); /* created: a reconfiguration */
    assert_int_equal(s.reconfigs, 1);
    al_sim_expire(&s, 0, 100);
    assert_true(al_sim_wholly_free(&s, 0, 100));
    assert_false(al_sim_commit_mig(&s, 0, pl(3, 4), 200)); /* the idle 3g@4 is reused */
    assert_int_equal(s.reconfigs, 1);
    al_sim_expire(&s, 0, 200);
    /* A 4g@0 does not overlap the idle 3g@4 and fits beside it: created, 3g@4 kept. */
    assert_true(al_sim_commit_mig(&s, 0, pl(4, 0), 300));
    assert_int_equal(s.reconfigs, 2);
    assert_int_equal(s.g[0].n, 2);
    al_sim_expire(&s, 0, 300);
    /* A 7g needs the whole GPU: both idle instances go. */
    assert_true(al_sim_fits(&s, 0, pl(7, 0), 300));
    al_sim_commit_mig(&s, 0, pl(7, 0), 400);
    assert_int_equal(s.g[0].n, 1);
    assert_int_equal(s.reconfigs, 3);
    assert_int_equal(s.invalid, 0);
    al_sim_free(&s);
}

static void test_mode_changes_count(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 2, NULL), 0);
    assert_int_equal(al_peer_place_whole(&s, AL_PEER_FIRSTFIT, 2, 0, 10), 0);
    assert_int_equal(s.reconfigs, 2); /* both leave MIG mode */
    assert_int_equal(al_peer_place_whole(&s, AL_PEER_FIRSTFIT, 1, 5, 10), AL_E_NOFIT);
    assert_int_equal(al_peer_place_whole(&s, AL_PEER_FIRSTFIT, 1, 10, 20), 0);
    assert_int_equal(s.reconfigs, 2); /* already in non-MIG mode */
    assert_false(al_sim_fits(&s, 0, pl(1, 0), 15));
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_FIRSTFIT, (unsigned)prof(1), 15, 30), 0);
    assert_true(has_busy(&s, 1, 1, 0)); /* GPU 1 back to MIG mode */
    assert_int_equal(s.reconfigs, 3);
    al_sim_free(&s);
}

static void test_firstfit_and_hami_starts(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 2, NULL), 0);
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_FIRSTFIT, (unsigned)prof(1), 0, 10), 0);
    assert_true(has_busy(&s, 0, 1, 0));
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_FIRSTFIT, (unsigned)prof(3), 0, 10), 0);
    assert_true(has_busy(&s, 0, 3, 4)); /* 3g@0 overlaps the 1g@0 */
    al_sim_free(&s);

    assert_int_equal(al_sim_init(&s, h100(), 2, NULL), 0);
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_HAMI, (unsigned)prof(1), 0, 10), 0);
    assert_true(has_busy(&s, 0, 1, 6)); /* HAMi: 1g at the highest start */
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_HAMI, (unsigned)prof(3), 0, 10), 0);
    assert_true(has_busy(&s, 0, 3, 0)); /* 3g highest free: @4 overlaps 1g@6, so @0 */
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_HAMI, (unsigned)prof(2), 0, 10), 0);
    assert_true(has_busy(&s, 0, 2, 4)); /* 2g lowest free start */
    assert_int_equal(s.invalid, 0);
    al_sim_free(&s);
}

static void test_bestfit_prefers_fullest_gpu(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 3, NULL), 0);
    al_sim_commit_mig(&s, 1, pl(2, 0), 10);
    al_sim_commit_mig(&s, 2, pl(4, 0), 10);
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_BESTFIT, (unsigned)prof(1), 0, 10), 0);
    assert_true(has_busy(&s, 2, 1, 4)); /* GPU 2 has 3 free slices, the fewest */
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_BESTFIT, (unsigned)prof(4), 0, 10), 0);
    assert_true(has_busy(&s, 0, 4, 0)); /* only the empty GPU 0 can take a 4g */
    al_sim_free(&s);
}

static void test_nos_geometries(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 2, NULL), 0);
    /* Empty GPU, a 1g: the first known geometry with a 1g is {4g, 2g, 1g}, created whole. */
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_NOS, (unsigned)prof(1), 0, 100), 0);
    assert_int_equal(s.g[0].n, 3);
    assert_int_equal(s.reconfigs, 1);
    /* A 2g now finds the idle 2g of that geometry: no reconfiguration. */
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_NOS, (unsigned)prof(2), 0, 100), 0);
    assert_int_equal(s.reconfigs, 1);
    al_sim_free(&s);

    /* nos lacks {4g, 3g}: with a busy 4g, a 3g goes to the next GPU, unlike first fit. */
    assert_int_equal(al_sim_init(&s, h100(), 2, NULL), 0);
    al_sim_commit_mig(&s, 0, pl(4, 0), 100);
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_NOS, (unsigned)prof(3), 0, 100), 0);
    assert_true(has_busy(&s, 1, 3, 0) || has_busy(&s, 1, 3, 4));
    assert_false(has_busy(&s, 0, 3, 4));
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_FIRSTFIT, (unsigned)prof(3), 0, 100), 0);
    assert_true(has_busy(&s, 0, 3, 4));
    assert_int_equal(s.invalid, 0);
    al_sim_free(&s);
}

static void test_refusal_when_full(void **state)
{
    (void)state;
    struct al_sim s;
    assert_int_equal(al_sim_init(&s, h100(), 1, NULL), 0);
    for (enum al_peer p = 0; p < AL_PEER_COUNT; p++) {
        assert_int_equal(al_peer_place_mig(&s, p, (unsigned)prof(7), 0, 10),
                         p == 0 ? 0 : AL_E_NOFIT);
        assert_int_equal(al_peer_place_mig(&s, p, (unsigned)prof(1), 5, 10), AL_E_NOFIT);
    }
    assert_int_equal(al_peer_place_mig(&s, AL_PEER_NOS, (unsigned)prof(1), 10, 20), 0);
    al_sim_free(&s);
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/test_bench_trace.XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

#define HDR                                                                                        \
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,"            \
    "deletion_time,scheduled_time\n"

static void test_trace_loads_sorts_and_skips(void **state)
{
    (void)state;
    struct al_trace t;
    struct al_err e = {0};
    char *p = write_tmp(HDR "a,1,1,1,500,,LS,Running,50,80,50\n"
                            "b,1,1,0,0,,LS,Running,10,20,10\n"
                            "c,1,1,2,1000,,LS,Running,20,,20\n"
                            "d,1,1,1,300,V100M16,BE,Failed,30,30,30\n");
    assert_int_equal(al_trace_load(p, &t, &e), 0);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.skipped_nogpu, 1);
    assert_int_equal(t.open_ended, 1);
    assert_int_equal(t.skipped_zero_len, 1);
    assert_int_equal(t.end, 80);
    assert_int_equal(t.task[0].t0, 20); /* sorted by creation */
    assert_int_equal(t.task[0].t1, 80); /* open-ended: to the trace's end */
    assert_int_equal(t.task[0].num_gpu, 2);
    assert_int_equal(t.task[1].gpu_milli, 500);
    al_trace_free(&t);
    unlink(p);
    free(p);
}

static void test_trace_rejects_bad_input(void **state)
{
    (void)state;
    static const char *bad[] = {
        "name,foo\n",
        HDR "a,1,1,1,1500,,LS,Running,50,80,50\n",
        HDR "a,1,1,x,500,,LS,Running,50,80,50\n",
        HDR "a,1,1,1,500,,LS,Running,50,40,50\n",
        HDR "a,1,1,1,500,,LS,Running,50,80\n",
        HDR "a,1,1,1,500,,LS,Running,-5,80,50\n",
    };
    static const char *field[] = {"header",        "gpu_milli", "num_gpu",
                                  "deletion_time", "fields",    "creation_time"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct al_trace t;
        struct al_err e = {0};
        char *p = write_tmp(bad[i]);
        assert_int_not_equal(al_trace_load(p, &t, &e), 0);
        assert_non_null(strstr(e.msg, field[i]));
        unlink(p);
        free(p);
    }
    struct al_trace t;
    struct al_err e = {0};
    assert_int_not_equal(al_trace_load("/nonexistent/trace.csv", &t, &e), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_profiles_are_the_classic_ones),
        cmocka_unit_test(test_idle_instance_is_reused_without_reconfig),
        cmocka_unit_test(test_mode_changes_count),
        cmocka_unit_test(test_firstfit_and_hami_starts),
        cmocka_unit_test(test_bestfit_prefers_fullest_gpu),
        cmocka_unit_test(test_nos_geometries),
        cmocka_unit_test(test_refusal_when_full),
        cmocka_unit_test(test_trace_loads_sorts_and_skips),
        cmocka_unit_test(test_trace_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
