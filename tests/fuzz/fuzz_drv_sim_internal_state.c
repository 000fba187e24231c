/* fuzz_drv_sim_internal_state.c — libFuzzer target for the `sim` driver's state file
 * (agent/drv_sim_internal.h: al_sim_parse), which tests and operators write by hand and the
 * agent reads at every call: untrusted input. Checked on every input:
 *   - a refused file: AL_E_INVAL or AL_E_RANGE with a message, and the state left empty;
 *   - an accepted one is within the documented bounds: at most 64 GPUs with distinct indexes
 *     0..63, each of a catalog model; MIG only on a MIG model; instances only with MIG on,
 *     distinct GI ids, together a valid layout (core/layout.h); each process on an instance
 *     that exists while MIG is on, on none while it is off. */
#include "fuzz.h"

#include "agent/drv_sim_internal.h"
#include "core/layout.h"

static void check_gpu(const struct al_sim_gpu *g)
{
    struct al_layout l = {.model = g->model, .n = g->ninst};
    FUZZ_CHECK(g->model != NULL, "GPU %u without a model", g->index);
    FUZZ_CHECK(g->model->mig || (!g->mig && !g->mig_pending), "MIG on %s", g->model->name);
    FUZZ_CHECK(g->mig || g->ninst == 0, "instances with MIG off on GPU %u", g->index);
    FUZZ_CHECK(g->ninst <= AL_DRV_MAX_INSTANCES && g->nproc <= AL_DRV_MAX_PROCS, "counts");
    for (unsigned i = 0; i < g->ninst; i++) {
        FUZZ_CHECK(g->inst[i].prof < g->model->nprofiles, "profile %u", g->inst[i].prof);
        l.p[i] = (struct al_placement){(uint8_t)g->inst[i].prof, (uint8_t)g->inst[i].start};
        for (unsigned k = 0; k < i; k++)
            FUZZ_CHECK(g->inst[k].gi != g->inst[i].gi, "GI %u twice", g->inst[i].gi);
    }
    FUZZ_CHECK(al_layout_validate(&l, NULL) == 0, "an invalid layout on GPU %u", g->index);
    for (unsigned i = 0; i < g->nproc; i++) {
        unsigned k = 0;
        while (k < g->ninst && g->inst[k].gi != g->proc[i].gi)
            k++;
        FUZZ_CHECK(g->mig ? k < g->ninst : g->proc[i].gi == AL_DRV_NONE, "process %u on GI %u",
                   g->proc[i].pid, g->proc[i].gi);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct al_sim_state st; /* large: not on the stack */
    struct al_err e = {0};
    uint64_t seen = 0;
    int rc = al_sim_parse((const char *)data, size, &st, &e);
    if (rc < 0) {
        FUZZ_CHECK(rc == AL_E_INVAL || rc == AL_E_RANGE, "rc %d", rc);
        FUZZ_CHECK(e.msg[0] != '\0' && st.ngpus == 0, "a refusal without a message: %d", rc);
        return 0;
    }
    FUZZ_CHECK(st.ngpus <= AL_DRV_MAX_GPUS, "%u GPUs", st.ngpus);
    for (unsigned i = 0; i < st.ngpus; i++) {
        const struct al_sim_gpu *g = &st.gpu[i];
        FUZZ_CHECK(g->index < AL_DRV_MAX_GPUS && !(seen & (1ull << g->index)), "index %u",
                   g->index);
        seen |= 1ull << g->index;
        check_gpu(g);
    }
    return 0;
}
