/* mig_replay.c — replays the Alibaba 2023 GPU trace (openb) online on a cluster of H100-80GB
 * GPUs and compares allot's planner with re-implemented peer policies (bench/lib/policies.h) on
 * acceptance (tasks and GPU-time), compute-slice utilisation and reconfigurations.
 *
 * Usage: bench_mig_replay [pod_list.csv]   (QUICK=1: fewer cluster sizes)
 * Each task asks, at its creation time, for [creation, deletion). num_gpu == 0 tasks are skipped;
 * num_gpu > 1 asks for that many whole GPUs; num_gpu == 1 asks for one instance of the smallest
 * profile with at least ceil(gpu_milli * 7 / 1000) compute slices (at least 1). A refused task is
 * dropped (no queueing). One JSON line per cluster size and policy on stdout, a table on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcommon.h"
#include "core/calendar.h"
#include "core/catalog.h"
#include "core/fleet.h"
#include "core/planner.h"
#include "policies.h"
#include "trace.h"

#define MODEL_NAME   "H100-80GB"
#define GPUS_A_NODE  8
#define TRACE_REL    "shared/data/alibaba-gpu-v2023/openb_pod_list_default.csv"
#define NPOLICIES    (AL_PEER_COUNT + 1) /* allot + the peers */
#define POLICY_ALLOT AL_PEER_COUNT

/* A trace task turned into a request on the cluster's model. */
struct job {
    int64_t t0, t1;
    unsigned whole;  /* whole GPUs asked (0: a MIG instance) */
    int profile;     /* MIG profile index */
    unsigned slices; /* compute slices it occupies (7 per whole GPU) */
};

/* What every run replays: the jobs on one model, and the utilisation window [w0, w1). */
struct replay {
    const struct job *jobs;
    size_t n;
    const struct al_gpu_model *m;
    int64_t w0, w1;
};

struct result {
    size_t accepted;
    double gpu_time_acc, gpu_time_req; /* GPU-seconds */
    double slice_time;                 /* slice-seconds inside the measuring window */
    uint64_t reconfigs;
    unsigned acc_class[8], req_class[8]; /* by compute slices; [0] = whole-GPU tasks */
    double seconds;                      /* time spent deciding */
    unsigned invalid; /* decisions the cluster model refuses, invalid layouts: must stay 0 */
};

static const char *policy_name(int p)
{
    return p == POLICY_ALLOT ? "allot" : al_peer_name((enum al_peer)p);
}

/* Profile for a single-GPU task: smallest classic profile with >= ceil(milli*7/1000) slices. */
static int map_profile(const struct al_gpu_model *m, unsigned milli, unsigned *slices)
{
    static const unsigned classes[] = {1, 2, 3, 4, 7};
    unsigned need = (milli * 7 + 999) / 1000;
    if (need == 0)
        need = 1;
    for (unsigned i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (classes[i] >= need) {
            *slices = classes[i];
            return al_sim_class_profile(m, classes[i]);
        }
    return -1;
}

static int build_jobs(const struct al_trace *t, const struct al_gpu_model *m, struct job **ret,
                      unsigned hist[8])
{
    struct job *j = calloc(t->n ? t->n : 1, sizeof *j);
    if (!j)
        return AL_E_NOMEM;
    for (size_t i = 0; i < t->n; i++) {
        const struct al_trace_task *x = &t->task[i];
        j[i].t0 = x->t0;
        j[i].t1 = x->t1;
        if (x->num_gpu > 1) {
            j[i].whole = x->num_gpu;
            j[i].slices = 7 * x->num_gpu;
            hist[0]++;
        } else {
            j[i].profile = map_profile(m, x->gpu_milli, &j[i].slices);
            if (j[i].profile < 0) {
                free(j);
                return AL_E_INVAL;
            }
            hist[j[i].slices]++;
        }
    }
    *ret = j;
    return 0;
}

struct event {
    int64_t t;
    int delta;
};

static int cmp_event(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->delta > y->delta) - (x->delta < y->delta); /* departures first */
}

/* Most compute slices the trace asks for at once: the cluster size below which it is scarce. */
static long peak_slices(const struct job *j, size_t n)
{
    struct event *ev = malloc(2 * n * sizeof *ev);
    long cur = 0, peak = 0;
    if (!ev)
        return -1;
    for (size_t i = 0; i < n; i++) {
        ev[2 * i] = (struct event){j[i].t0, (int)j[i].slices};
        ev[2 * i + 1] = (struct event){j[i].t1, -(int)j[i].slices};
    }
    qsort(ev, 2 * n, sizeof *ev, cmp_event);
    for (size_t i = 0; i < 2 * n; i++) {
        cur += ev[i].delta;
        if (cur > peak)
            peak = cur;
    }
    free(ev);
    return peak;
}

static double overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? (double)(hi - lo) : 0.0;
}

/* allot: a fleet of H100 nodes, a calendar, the planner; the sim mirrors the decisions to count
 * reconfigurations the same way as for the peers, and feeds the current layouts back. */
struct allot_ctx {
    struct al_fleet *f;
    struct al_calendar *c;
    struct al_planner *p;
};

static void allot_free(struct allot_ctx *a)
{
    al_planner_free(a->p);
    al_calendar_free(a->c);
    al_fleet_free(a->f);
}

static int allot_init(struct allot_ctx *a, const struct al_gpu_model *m, uint32_t ngpus)
{
    char name[32];
    memset(a, 0, sizeof *a);
    if (!(a->f = al_fleet_new()))
        return AL_E_NOMEM;
    for (uint32_t n = 0; n < ngpus / GPUS_A_NODE; n++) {
        snprintf(name, sizeof name, "node%04u", n);
        int node = al_fleet_add_node(a->f, name, NULL, NULL, NULL, NULL);
        if (node < 0)
            return node;
        for (unsigned i = 0; i < GPUS_A_NODE; i++) {
            int g = al_fleet_add_gpu(a->f, (uint32_t)node, m, i, NULL, AL_POOL_GENERAL, NULL);
            if (g < 0)
                return g;
            int rc = al_fleet_set_mig(a->f, (uint32_t)g, true, NULL);
            if (rc < 0)
                return rc;
        }
    }
    a->c = al_calendar_new(a->f, 0, 3600);
    a->p = a->c ? al_planner_new(a->f, a->c) : NULL;
    return a->p ? 0 : AL_E_NOMEM;
}

static bool allot_place(struct allot_ctx *a, struct al_sim *s, const struct job *j, size_t id,
                        unsigned *invalid)
{
    struct al_request r = {.kind = j->whole ? AL_REQ_WHOLE : AL_REQ_MIG,
                           .model = s->m,
                           .profile = j->whole ? -1 : j->profile,
                           .count = j->whole ? j->whole : 1,
                           .start = j->t0,
                           .end = j->t1,
                           .where = {.pool = -1}};
    struct al_plan plan = {0};
    struct al_owner own = {.id = id, .kind = AL_OWNER_RESERVATION};
    int rc = al_planner_admit(a->p, &r, own, 0, &plan, NULL);
    for (unsigned i = 0; rc == 0 && i < plan.n; i++) {
        const struct al_alloc *x = &plan.allocs[i];
        struct al_layout l;
        al_sim_expire(s, x->gpu, j->t0);
        if (x->whole) {
            *invalid += !al_sim_wholly_free(s, x->gpu, j->t0);
            al_sim_commit_whole(s, x->gpu, j->t1);
            al_fleet_set_mig(a->f, x->gpu, false, NULL);
        } else {
            struct al_placement pl = {.profile = x->profile, .start = x->start};
            *invalid += !al_sim_fits(s, x->gpu, pl, j->t0);
            al_sim_commit_mig(s, x->gpu, pl, j->t1);
            al_sim_layout(s, x->gpu, &l);
            al_fleet_set_mig(a->f, x->gpu, true, &l);
        }
    }
    al_plan_clear(&plan);
    return rc == 0;
}

static int run_one(const struct replay *rp, uint32_t ngpus, int policy, struct result *res)
{
    const struct job *jobs = rp->jobs;
    const struct al_gpu_model *m = rp->m;
    struct al_sim s;
    struct allot_ctx a = {0};
    int rc = al_sim_init(&s, m, ngpus, NULL);
    if (rc)
        return rc;
    if (policy == POLICY_ALLOT && (rc = allot_init(&a, m, ngpus)) != 0)
        goto out;
    memset(res, 0, sizeof *res);
    uint64_t t = al_bench_now_ns();
    for (size_t i = 0; i < rp->n; i++) {
        const struct job *j = &jobs[i];
        double gt = (double)(j->t1 - j->t0) * (double)j->slices / 7.0;
        bool ok;
        if (policy == POLICY_ALLOT)
            ok = allot_place(&a, &s, j, i + 1, &res->invalid);
        else if (j->whole)
            ok = al_peer_place_whole(&s, (enum al_peer)policy, j->whole, j->t0, j->t1) == 0;
        else
            ok = al_peer_place_mig(&s, (enum al_peer)policy, (unsigned)j->profile, j->t0, j->t1) ==
                 0;
        unsigned cls = j->whole ? 0 : j->slices;
        res->gpu_time_req += gt;
        res->req_class[cls]++;
        if (!ok)
            continue;
        res->acc_class[cls]++;
        res->accepted++;
        res->gpu_time_acc += gt;
        res->slice_time += overlap(j->t0, j->t1, rp->w0, rp->w1) * j->slices;
    }
    res->seconds = (double)(al_bench_now_ns() - t) / 1e9;
    res->reconfigs = s.reconfigs;
    res->invalid += (unsigned)s.invalid;
out:
    allot_free(&a);
    al_sim_free(&s);
    return rc;
}

/* Where the benchmark machines keep the trace (public: alibaba/clusterdata,
 * cluster-trace-gpu-v2023; a clone of allot does not carry it, see docs/benchmarks.md):
 * $AL_ROOT/../shared/… (the main checkout), else $AL_ROOT/../../shared/… (a worktree under
 * wt/); AL_ROOT defaults to the current directory. */
static const char *default_path(char *buf, size_t len)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): mig_replay runs on one thread */
    const char *root = getenv("AL_ROOT");
    const char *ups[] = {"/../../", "/../"};
    if (!root || !*root)
        root = ".";
    for (unsigned i = 0; i < 2; i++) {
        snprintf(buf, len, "%s%s%s", root, ups[i], TRACE_REL);
        FILE *fp = fopen(buf, "r");
        if (fp) {
            (void)fclose(fp); /* only probed for existence */
            return buf;
        }
    }
    return buf; /* the last form tried: the error message names it */
}

/* One JSON line on stdout (flushed, so that a reader sees each run as it ends) and a table
 * row on stderr. Returns 0, or -1 when stdout could not be written. */
static int print_result(const struct replay *rp, uint32_t gpus, int policy, const struct result *r)
{
    size_t n = rp->n;
    double tasks = n ? 100.0 * (double)r->accepted / (double)n : 0;
    double gt = r->gpu_time_req > 0 ? 100.0 * r->gpu_time_acc / r->gpu_time_req : 0;
    double util = 100.0 * r->slice_time / ((double)gpus * 7.0 * (double)(rp->w1 - rp->w0));
    printf("{\"bench\":\"mig-replay\",\"gpus\":%u,\"policy\":\"%s\",\"tasks\":%zu,"
           "\"accepted_tasks_pct\":%.2f,\"accepted_gpu_time_pct\":%.2f,\"slice_util_pct\":%.2f,"
           "\"reconfigs\":%llu,\"decide_us_per_task\":%.2f}\n",
           gpus, policy_name(policy), n, tasks, gt, util, (unsigned long long)r->reconfigs,
           n ? r->seconds * 1e6 / (double)n : 0);
    fprintf(stderr, "%6u  %-20s %9.2f %10.2f %9.2f %10llu %9.2f%s\n", gpus, policy_name(policy),
            tasks, gt, util, (unsigned long long)r->reconfigs, n ? r->seconds * 1e6 / (double)n : 0,
            r->invalid ? "  INVALID DECISIONS" : "");
    if (r->accepted < n) /* where the refusals fall */
        fprintf(stderr,
                "%28s accepted 1g %u/%u, 2g %u/%u, 3g %u/%u, 4g %u/%u, 7g %u/%u, whole %u/%u\n", "",
                r->acc_class[1], r->req_class[1], r->acc_class[2], r->req_class[2], r->acc_class[3],
                r->req_class[3], r->acc_class[4], r->req_class[4], r->acc_class[7], r->req_class[7],
                r->acc_class[0], r->req_class[0]);
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int main(int argc, char **argv)
{
    /* The trace's peak demand is ~67 GPUs' worth of slices: 1024 and 256 are generous, 64 is
     * about the peak, 16 is a quarter of it. */
    static const uint32_t full_sizes[] = {1024, 256, 128, 64, 48, 32, 24, 16};
    static const uint32_t quick_sizes[] = {128, 48, 24};
    char buf[4096];
    struct al_err err = {0};
    struct al_trace tr;
    struct job *jobs = NULL;
    unsigned hist[8] = {0};
    int rc = 1;
    const char *path = argc > 1 ? argv[1] : default_path(buf, sizeof buf);
    const struct al_gpu_model *m = al_catalog_find(MODEL_NAME);
    if (!m || !m->mig) {
        fprintf(stderr, "mig_replay: catalog has no MIG model %s\n", MODEL_NAME);
        return 1;
    }
    if (al_trace_load(path, &tr, &err) != 0) {
        fprintf(stderr, "mig_replay: %s\n", err.msg);
        return 1;
    }
    if (tr.n == 0 || build_jobs(&tr, m, &jobs, hist) != 0) {
        fprintf(stderr, "mig_replay: no usable tasks in %s\n", path);
        goto out;
    }
    /* Utilisation is measured from the 1st-percentile creation time (the trace has 17 tasks
     * spread over its first 108 days, then the rest within ~40 days) to the trace's end. */
    int64_t w0 = jobs[tr.n / 100].t0, w1 = tr.end;
    const struct replay rp = {jobs, tr.n, m, w0, w1};
    long peak = peak_slices(jobs, tr.n);
    fprintf(stderr,
            "mig-replay: %s\n  %zu tasks replayed (%zu with num_gpu == 0 skipped, %zu open-ended, "
            "%zu zero-length); profiles 1g %u, 2g %u, 3g %u, 4g %u, 7g %u, whole-GPU tasks %u\n"
            "  utilisation window [%lld, %lld) s; peak demand %ld compute slices (%.1f GPUs)\n",
            path, tr.n, tr.skipped_nogpu, tr.open_ended, tr.skipped_zero_len, hist[1], hist[2],
            hist[3], hist[4], hist[7], hist[0], (long long)w0, (long long)w1, peak,
            (double)peak / 7.0);
    fprintf(stderr, "%6s  %-20s %9s %10s %9s %10s %9s\n", "gpus", "policy", "tasks%", "gputime%",
            "util%", "reconfigs", "us/task");
    bool quick = al_bench_quick();
    const uint32_t *sizes = quick ? quick_sizes : full_sizes;
    size_t nsizes =
        quick ? sizeof quick_sizes / sizeof *quick_sizes : sizeof full_sizes / sizeof *full_sizes;
    for (size_t si = 0; si < nsizes; si++)
        for (int p = NPOLICIES - 1; p >= 0; p--) {
            struct result r;
            if (run_one(&rp, sizes[si], p, &r) != 0) {
                fprintf(stderr, "mig_replay: %s at %u GPUs failed\n", policy_name(p), sizes[si]);
                goto out;
            }
            if (print_result(&rp, sizes[si], p, &r) != 0) {
                fprintf(stderr, "mig_replay: cannot write the results\n");
                goto out;
            }
            if (r.invalid)
                goto out;
        }
    rc = 0;
out:
    free(jobs);
    al_trace_free(&tr);
    return rc;
}
