/* admission.c — admission benchmark: allot's planner on a synthetic fleet of 10,000 nodes x 8
 * GPUs (H100-80GB, A100-80GB, H200-141GB, L40S-48GB) pre-filled with 1,000,000 holds over 90
 * days, then 100,000 mixed requests (whole 1-32 GPUs, MIG 1-14 instances, windows of an hour to
 * three weeks), each timed. Then the PostgreSQL peer (bench/lib/pgpeer.h) and allot on the same
 * scaled-down fleet and stream, for the ratio of their decision rates.
 *
 * Usage: bench_admission   (QUICK=1: a tenth of everything; HOLDS=n: pre-fill n holds instead
 * of 1,000,000 (a tenth of n with QUICK), to show how deciding slows as the calendar grows;
 * AVAIL=n: then n availability reads over the first requests' windows, timed, on stderr;
 * AL_PG_CONNINFO: the PostgreSQL server to use, normally set by bench/pg.sh; without it the
 * peer is skipped, fields null.)
 * One JSON line on stdout; progress and a table on stderr. Deterministic: fixed seeds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bcommon.h"
#include "common/num.h"
#include "core/calendar.h"
#include "core/catalog.h"
#include "core/fleet.h"
#include "core/layout.h"
#include "core/planner.h"
#include "pgpeer.h"
#include "policies.h"

#define T_ORIGIN     INT64_C(1800000000) /* 2027-01-15: the calendar's origin */
#define HORIZON      (90 * INT64_C(86400))
#define GPUS_A_NODE  8
#define HOUR         INT64_C(3600)
#define SEED_FLEET   0xa110c8ull
#define SEED_REQUEST 0x5eedull

struct scale {
    uint32_t nodes;
    uint32_t holds;
    uint32_t requests;
    uint64_t avail; /* availability reads after the stream (AVAIL) */
};

/* Fleet mix by node: 40% H100-80GB, 25% A100-80GB, 20% H200-141GB, 15% L40S-48GB. */
static const char *const model_names[4] = {"H100-80GB", "A100-80GB", "H200-141GB", "L40S-48GB"};
static const struct al_gpu_model *models[4];

static unsigned node_model(uint32_t node)
{
    unsigned k = node % 20;
    return k < 8 ? 0 : k < 13 ? 1 : k < 17 ? 2 : 3;
}

/* MIG layouts pre-filled GPUs run, as (compute slices, start) pairs; 0 ends a template. */
static const uint8_t templates[][8][2] = {
    {{3, 0}, {3, 4}},
    {{4, 0}, {2, 4}, {1, 6}},
    {{2, 0}, {2, 2}, {2, 4}, {1, 6}},
    {{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 6}},
    {{4, 0}, {3, 4}},
    {{7, 0}},
    {{3, 0}, {2, 4}, {1, 6}},
};
#define NTEMPLATES (sizeof templates / sizeof templates[0])

/* One benchmark world: fleet, calendar, planner, plus the pre-fill as plain holds for the peer. */
struct world {
    struct al_fleet *f;
    struct al_calendar *c;
    struct al_planner *p;
    struct al_pg_gpu *gpus;
    struct al_pg_hold *holds;
    uint32_t ngpus, nholds;
    double held_gpu_s; /* GPU-seconds held (MIG: slices / 7 of a GPU) */
};

static void world_free(struct world *w)
{
    al_planner_free(w->p);
    al_calendar_free(w->c);
    al_fleet_free(w->f);
    free(w->gpus);
    free(w->holds);
    memset(w, 0, sizeof *w);
}

static int build_fleet(struct world *w, uint32_t nodes)
{
    char name[32];
    w->ngpus = nodes * GPUS_A_NODE;
    if (!(w->f = al_fleet_new()) || !(w->gpus = calloc(w->ngpus, sizeof *w->gpus)))
        return AL_E_NOMEM;
    for (uint32_t n = 0; n < nodes; n++) {
        snprintf(name, sizeof name, "node%05u", n);
        int node = al_fleet_add_node(w->f, name, n % 2 ? "zone-b" : "zone-a", NULL, NULL, NULL);
        if (node < 0)
            return node;
        for (unsigned i = 0; i < GPUS_A_NODE; i++) {
            const struct al_gpu_model *m = models[node_model(n)];
            int g = al_fleet_add_gpu(w->f, (uint32_t)node, m, i, NULL, AL_POOL_GENERAL, NULL);
            if (g < 0)
                return g;
            w->gpus[g] = (struct al_pg_gpu){.node = (uint32_t)node, .model = m};
        }
    }
    w->c = al_calendar_new(w->f, T_ORIGIN, 0);
    w->p = w->c ? al_planner_new(w->f, w->c) : NULL;
    return w->p ? 0 : AL_E_NOMEM;
}

/* Template of GPU g: -1 = whole-GPU (non-MIG) holds, else an index into templates. */
static int pick_template(struct al_rng *r, const struct al_gpu_model *m)
{
    if (!m->mig || al_rng_below(r, 2) == 0)
        return -1;
    return (int)al_rng_below(r, NTEMPLATES);
}

static unsigned template_len(int t)
{
    unsigned n = 0;
    while (t >= 0 && n < 8 && templates[t][n][0])
        n++;
    return t < 0 ? 1 : n;
}

/* Set the GPU's current state to its template and check the template is a valid layout. */
static int set_layout(struct world *w, uint32_t g, int t)
{
    const struct al_gpu_model *m = w->gpus[g].model;
    struct al_layout l = {.model = m};
    if (t < 0)
        return al_fleet_set_mig(w->f, g, false, NULL);
    for (unsigned i = 0; i < template_len(t); i++)
        l.p[l.n++] =
            (struct al_placement){.profile = (uint8_t)al_sim_class_profile(m, templates[t][i][0]),
                                  .start = templates[t][i][1]};
    if (al_layout_validate(&l, NULL) != 0)
        return AL_E_INTERNAL;
    return al_fleet_set_mig(w->f, g, true, &l);
}

/* k holds on one lane (the whole GPU, or one placement of its layout), one per slot of
 * HORIZON / k, each 20-70% of its slot: the GPU is held about 45% of the time. */
static int fill_lane(struct world *w, struct al_rng *r, struct al_hold h, unsigned k, bool keep,
                     struct al_err *err)
{
    int64_t slot = HORIZON / k;
    const struct al_gpu_model *m = w->gpus[h.gpu].model;
    double share = h.whole ? 1.0 : (double)m->profiles[h.profile].compute_slices / 7.0;
    for (unsigned i = 0; i < k; i++) {
        int64_t dur = (int64_t)((double)slot * (0.2 + 0.5 * al_rng_unit(r)));
        if (dur < 60)
            dur = 60;
        h.t0 = T_ORIGIN + (int64_t)i * slot + al_rng_range(r, 0, slot - dur);
        h.t1 = h.t0 + dur;
        h.owner = (struct al_owner){.id = w->nholds + 1u, .kind = AL_OWNER_RESERVATION};
        int rc = al_calendar_add(w->c, &h, err);
        if (rc < 0)
            return rc;
        if (keep)
            w->holds[w->nholds] = (struct al_pg_hold){.gpu = h.gpu,
                                                      .whole = h.whole,
                                                      .profile = h.profile,
                                                      .start = h.start,
                                                      .t0 = h.t0,
                                                      .t1 = h.t1};
        w->nholds++;
        w->held_gpu_s += share * (double)dur;
    }
    return 0;
}

/* Pre-fill the calendar with about `target` holds spread evenly over every lane. */
static int prefill(struct world *w, uint32_t target, bool keep, struct al_err *err)
{
    struct al_rng r;
    int rc = 0;
    uint64_t lanes = 0;
    const uint32_t ngpus = w->ngpus;
    int8_t *tpl = calloc(ngpus, sizeof *tpl);
    al_rng_seed(&r, SEED_FLEET);
    if (!tpl ||
        (keep && !(w->holds = calloc((size_t)target + (size_t)ngpus * 8, sizeof *w->holds)))) {
        rc = AL_E_NOMEM;
        goto out;
    }
    for (uint32_t g = 0; g < ngpus; g++) {
        tpl[g] = (int8_t)pick_template(&r, w->gpus[g].model);
        lanes += template_len(tpl[g]);
        if ((rc = set_layout(w, g, tpl[g])) != 0)
            goto out;
    }
    uint64_t lane = 0, base = target / lanes, extra = target % lanes;
    for (uint32_t g = 0; g < ngpus && rc == 0; g++) {
        const struct al_gpu_model *m = w->gpus[g].model;
        for (unsigned i = 0; i < template_len(tpl[g]) && rc == 0; i++, lane++) {
            unsigned k = (unsigned)(base + (lane < extra));
            struct al_hold h = {.gpu = g, .whole = tpl[g] < 0};
            if (!h.whole) {
                h.profile = (uint8_t)al_sim_class_profile(m, templates[tpl[g]][i][0]);
                h.start = templates[tpl[g]][i][1];
            }
            if (k)
                rc = fill_lane(w, &r, h, k, keep, err);
        }
    }
out:
    free(tpl);
    return rc;
}

/* A request of the synthetic stream, in both forms: for the planner and for the peer. */
struct breq {
    struct al_request r;
    struct al_pg_req pg;
};

static unsigned pick_weighted(struct al_rng *r, const unsigned *w, unsigned n)
{
    unsigned sum = 0, x;
    for (unsigned i = 0; i < n; i++)
        sum += w[i];
    x = (unsigned)al_rng_below(r, sum);
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* Half whole-GPU asks (1-32 GPUs, mostly 1-8), half MIG asks (1-14 instances of the classic
 * profiles, a quarter of them written as "at least X GB"); durations log-uniform from an hour
 * to three weeks, starts uniform over the 90-day horizon. */
static void gen_request(struct al_rng *r, struct breq *q)
{
    static const unsigned model_w[4] = {40, 25, 20, 15};
    static const unsigned whole_n[6] = {1, 2, 4, 8, 16, 32}, whole_w[6] = {30, 20, 15, 20, 10, 5};
    static const unsigned slices[5] = {1, 2, 3, 4, 7}, slice_w[5] = {30, 25, 20, 15, 10};
    memset(q, 0, sizeof *q);
    int64_t dur = (int64_t)((double)HOUR * exp(log(21.0 * 24.0) * al_rng_unit(r)));
    int64_t t0 = T_ORIGIN + al_rng_range(r, 0, HORIZON - dur);
    q->r.start = q->pg.t0 = t0;
    q->r.end = q->pg.t1 = t0 + dur;
    q->r.where.pool = -1;
    if (al_rng_below(r, 2) == 0) {
        const struct al_gpu_model *m = models[pick_weighted(r, model_w, 4)];
        q->r.kind = AL_REQ_WHOLE;
        q->r.model = q->pg.model = m;
        q->r.profile = q->pg.profile = -1;
        q->r.count = q->pg.count = whole_n[pick_weighted(r, whole_w, 6)];
        q->pg.whole = true;
        return;
    }
    const struct al_gpu_model *m = models[pick_weighted(r, model_w, 3)];
    int prof = al_sim_class_profile(m, slices[pick_weighted(r, slice_w, 5)]);
    unsigned c = (unsigned)al_rng_below(r, 10);
    q->r.kind = AL_REQ_MIG;
    q->r.model = q->pg.model = m;
    q->r.count = q->pg.count = (unsigned)(c < 5   ? al_rng_range(r, 1, 2)
                                          : c < 8 ? al_rng_range(r, 3, 7)
                                                  : al_rng_range(r, 8, 14));
    q->pg.profile = prof;
    q->r.profile = prof;
    if (al_rng_below(r, 4) == 0) { /* "at least X GB": the planner picks the profile */
        q->r.profile = -1;
        q->r.mem_bytes = (uint64_t)m->profiles[prof].mem_mib * 1024 * 1024 * 9 / 10;
        q->pg.profile = al_catalog_pick(m, q->r.mem_bytes, true);
    }
}

struct run {
    uint32_t n, accepted, errors;
    uint64_t total_ns, refused_ns;
    uint64_t *lat; /* per decision, ns (owned) */
    double held_gpu_s;
};

/* The clock of run_allot: wall-clock by default; AL_BENCH_CLOCK=cpu takes this thread's CPU
 * time instead, which on a shared machine leaves out the time other processes had the core. */
static uint64_t decision_now_ns(void)
{
    static int cpu = -1;
    if (cpu < 0) {
        const char *v = getenv("AL_BENCH_CLOCK");
        cpu = v && strcmp(v, "cpu") == 0;
    }
    if (!cpu)
        return al_bench_now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* AL_BENCH_TRACE=path: one line per decision (index, kind, model, profile, count, duration s,
 * result, ns), to find which requests make the tail. */
static void trace_open(FILE **f)
{
    static bool done; /* the main stream only, not the smaller run beside the peer */
    const char *path = getenv("AL_BENCH_TRACE");
    *f = path && *path && !done ? fopen(path, "w") : NULL;
    done = true;
}

/* Every request through al_planner_admit, each timed on its own. */
static int run_allot(struct world *w, const struct breq *q, uint32_t n, struct run *out)
{
    memset(out, 0, sizeof *out);
    if (!(out->lat = malloc((n ? n : 1) * sizeof *out->lat)))
        return AL_E_NOMEM;
    out->n = n;
    FILE *trace;
    trace_open(&trace);
    for (uint32_t i = 0; i < n; i++) {
        struct al_plan plan = {0};
        struct al_err err = {0};
        struct al_owner own = {.id = UINT64_C(1) << 40 | i, .kind = AL_OWNER_RESERVATION};
        uint64_t t = decision_now_ns();
        int rc = al_planner_admit(w->p, &q[i].r, own, 0, &plan, &err);
        out->lat[i] = decision_now_ns() - t;
        if (trace)
            fprintf(trace, "%u %s %s %d %u %lld %d %llu\n", i,
                    q[i].r.kind == AL_REQ_MIG ? "mig" : "whole", q[i].r.model->name, q[i].r.profile,
                    q[i].r.count, (long long)(q[i].r.end - q[i].r.start), rc,
                    (unsigned long long)out->lat[i]);
        out->total_ns += out->lat[i];
        if (rc == 0) {
            double dur = (double)(q[i].r.end - q[i].r.start);
            out->accepted++;
            for (unsigned k = 0; k < plan.n; k++)
                out->held_gpu_s +=
                    dur * (plan.allocs[k].whole
                               ? 1.0
                               : plan.model->profiles[plan.allocs[k].profile].compute_slices / 7.0);
        } else if (rc == AL_E_NOFIT) {
            out->refused_ns += out->lat[i];
        } else if (out->errors++ == 0) {
            fprintf(stderr, "admission: request %u: %s (%s)\n", i, al_strerror(rc), err.msg);
        }
        al_plan_clear(&plan);
    }
    if (trace)
        fclose(trace);
    return 0;
}

/* Latency by kind of request, on stderr: where the time goes. Call before sorting r->lat. */
static void breakdown(const struct breq *q, const struct run *r)
{
    static const char *const names[4] = {"whole 1-4", "whole 8-32", "MIG 1-7", "MIG 8-14"};
    uint64_t *v = malloc((r->n ? r->n : 1) * sizeof *v);
    if (!v)
        return;
    for (unsigned k = 0; k < 4; k++) {
        size_t n = 0;
        double sum = 0;
        for (uint32_t i = 0; i < r->n; i++) {
            bool mig = q[i].r.kind == AL_REQ_MIG;
            bool big = q[i].r.count >= 8;
            if ((unsigned)mig * 2 + big == k) {
                v[n++] = r->lat[i];
                sum += (double)r->lat[i];
            }
        }
        al_bench_sort_u64(v, n);
        fprintf(stderr, "    %-10s %6zu requests: mean %8.1f us, p50 %8.1f us, p99 %8.1f us\n",
                names[k], n, n ? sum / (double)n / 1e3 : 0,
                (double)al_bench_quantile_sorted(v, n, 0.5) / 1e3,
                (double)al_bench_quantile_sorted(v, n, 0.99) / 1e3);
    }
    free(v);
    if (r->n > r->accepted)
        fprintf(stderr, "    refusals: %u, mean %.1f us; admissions: mean %.1f us\n",
                r->n - r->accepted, (double)r->refused_ns / 1e3 / (r->n - r->accepted),
                r->accepted ? (double)(r->total_ns - r->refused_ns) / 1e3 / r->accepted : 0);
}

static void gen_stream(struct breq *q, uint32_t n, uint64_t seed)
{
    struct al_rng r;
    al_rng_seed(&r, seed);
    for (uint32_t i = 0; i < n; i++)
        gen_request(&r, &q[i]);
}

static double rate(const struct run *r)
{
    return r->total_ns ? (double)r->n * 1e9 / (double)r->total_ns : 0;
}

/* The peer on the scaled-down world: returns 0 with *pg_run filled, or a code and a reason. */
static int run_pg(const char *conninfo, struct world *w, const struct breq *q, uint32_t n,
                  struct run *pg_run, struct al_err *err)
{
    struct al_pg *pg = NULL;
    int rc = al_pg_open(conninfo, w->gpus, w->ngpus, &pg, err);
    memset(pg_run, 0, sizeof *pg_run);
    if (rc || (rc = al_pg_prefill(pg, w->holds, w->nholds, err)) != 0)
        goto out;
    fprintf(stderr, "  postgres: %u GPUs, %u holds as %ld unit rows; deciding %u requests\n",
            w->ngpus, w->nholds, al_pg_rows(pg), n);
    pg_run->n = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t t = al_bench_now_ns();
        rc = al_pg_decide(pg, &q[i].pg, i, err);
        pg_run->total_ns += al_bench_now_ns() - t;
        if (rc < 0)
            goto out;
        pg_run->accepted += (uint32_t)rc;
    }
    rc = 0;
out:
    al_pg_close(pg);
    return rc;
}

struct peer_result {
    bool ran;
    uint32_t gpus, requests, pg_accepted, allot_accepted;
    double pg_rate, allot_rate;
};

/* The scaled-down comparison: one world, pre-filled once for both, the same stream to each. */
static int compare_pg(const struct scale *sc, struct peer_result *pr)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): admission runs on one thread */
    const char *conninfo = getenv("AL_PG_CONNINFO"), *why = getenv("AL_PG_SKIP");
    struct world w = {0};
    struct run ar = {0}, pgr = {0};
    struct al_err err = {0};
    struct breq *q = calloc(sc->requests, sizeof *q);
    int rc = 0;
    memset(pr, 0, sizeof *pr);
    if (!conninfo || !*conninfo) {
        fprintf(stderr, "admission: PostgreSQL peer skipped: %s\n",
                why && *why ? why : "AL_PG_CONNINFO not set (run through bench/pg.sh)");
        goto out;
    }
    if (!q) {
        rc = AL_E_NOMEM;
        goto out;
    }
    if ((rc = build_fleet(&w, sc->nodes)) || (rc = prefill(&w, sc->holds, true, &err)))
        goto out;
    gen_stream(q, sc->requests, SEED_REQUEST + 1);
    if (run_pg(conninfo, &w, q, sc->requests, &pgr, &err) != 0) {
        fprintf(stderr, "admission: PostgreSQL peer skipped: %s\n", err.msg);
        goto out; /* a peer that cannot run is reported, not a failure */
    }
    if ((rc = run_allot(&w, q, sc->requests, &ar)) != 0)
        goto out;
    *pr = (struct peer_result){.ran = true,
                               .gpus = w.ngpus,
                               .requests = sc->requests,
                               .pg_accepted = pgr.accepted,
                               .allot_accepted = ar.accepted,
                               .pg_rate = rate(&pgr),
                               .allot_rate = rate(&ar)};
    fprintf(stderr,
            "  postgres %.0f decisions/s (%u accepted), allot %.0f decisions/s (%u "
            "accepted) on the same %u requests: ratio %.0fx\n",
            pr->pg_rate, pr->pg_accepted, pr->allot_rate, pr->allot_accepted, sc->requests,
            pr->pg_rate > 0 ? pr->allot_rate / pr->pg_rate : 0);
out:
    free(ar.lat);
    free(q);
    world_free(&w);
    return rc;
}

/* The figures of the big run. */
struct big_result {
    uint32_t gpus, holds;
    struct run run;
    double p50, p99, p999, util0, util, bph0, bph, rss;
};

/* AVAIL=n: after the stream, n availability reads (al_planner_availability, every model) over
 * the windows of the first n requests, timed with the decisions' clock; stderr only. */
static int run_avail(const struct world *w, const struct breq *q, const struct scale *sc)
{
    uint64_t n = sc->avail < sc->requests ? sc->avail : sc->requests;
    struct al_avail av[AL_FLEET_MAX_MODELS];
    uint64_t total = 0, gpus = 0;
    if (n == 0)
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t = decision_now_ns();
        int rc = al_planner_availability(w->p, q[i].r.start, q[i].r.end, &q[i].r.where, av,
                                         AL_FLEET_MAX_MODELS);
        total += decision_now_ns() - t;
        if (rc < 0)
            return rc;
        for (int k = 0; k < rc; k++)
            gpus += av[k].whole_free;
    }
    fprintf(stderr,
            "  availability: %ld reads (every model), mean %.1f us, %.0f reads/s; %llu "
            "wholly free GPUs in all\n",
            n, (double)total / 1e3 / (double)n, (double)n * 1e9 / (double)(total ? total : 1),
            (unsigned long long)gpus);
    return 0;
}

/* Build and pre-fill the big fleet, decide the stream, measure. Returns 0 or a code. */
static int run_big(const struct scale *sc, struct big_result *b)
{
    struct world w = {0};
    struct al_err err = {0};
    struct breq *q = calloc(sc->requests, sizeof *q);
    uint64_t t = al_bench_now_ns();
    int rc = q ? build_fleet(&w, sc->nodes) : AL_E_NOMEM;
    if (rc || (rc = prefill(&w, sc->holds, false, &err)) != 0) {
        fprintf(stderr, "admission: building the fleet failed: %s\n", err.msg);
        goto out;
    }
    b->gpus = w.ngpus;
    b->holds = w.nholds;
    b->bph0 = (double)al_calendar_bytes(w.c) / (double)al_calendar_count(w.c, UINT32_MAX, 0, 0);
    b->util0 = w.held_gpu_s / ((double)w.ngpus * (double)HORIZON);
    fprintf(stderr,
            "admission: %u GPUs, %u holds pre-filled in %.1f s; %.1f bytes/hold, fleet %.1f MiB\n",
            w.ngpus, w.nholds, (double)(al_bench_now_ns() - t) / 1e9, b->bph0,
            (double)al_fleet_bytes(w.f) / 1048576.0);
    gen_stream(q, sc->requests, SEED_REQUEST);
    if ((rc = run_allot(&w, q, sc->requests, &b->run)) != 0)
        goto out;
    if ((rc = run_avail(&w, q, sc)) != 0)
        goto out;
    b->util = (w.held_gpu_s + b->run.held_gpu_s) / ((double)w.ngpus * (double)HORIZON);
    b->rss = al_bench_peak_rss_mb();
    b->bph = (double)al_calendar_bytes(w.c) / (double)al_calendar_count(w.c, UINT32_MAX, 0, 0);
    breakdown(q, &b->run);
    al_bench_sort_u64(b->run.lat, b->run.n);
    b->p50 = (double)al_bench_quantile_sorted(b->run.lat, b->run.n, 0.50) / 1e3;
    b->p99 = (double)al_bench_quantile_sorted(b->run.lat, b->run.n, 0.99) / 1e3;
    b->p999 = (double)al_bench_quantile_sorted(b->run.lat, b->run.n, 0.999) / 1e3;
    fprintf(stderr,
            "  %u requests: %.0f decisions/s, p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f "
            "us; accepted %u, errors %u\n  utilisation %.1f%% -> %.1f%%, %.1f bytes/hold, "
            "peak RSS %.0f MiB\n",
            b->run.n, rate(&b->run), b->p50, b->p99, b->p999,
            b->run.n ? (double)b->run.lat[b->run.n - 1] / 1e3 : 0, b->run.accepted, b->run.errors,
            100 * b->util0, 100 * b->util, b->bph, b->rss);
out:
    free(q);
    world_free(&w);
    return rc;
}

static void print_json(const struct big_result *b, const struct peer_result *pr)
{
    printf("{\"bench\":\"admission\",\"gpus\":%u,\"holds\":%u,\"requests\":%u,"
           "\"decisions_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"accepted\":%u,\"utilization_pct\":%.1f,\"bytes_per_hold\":%.1f,"
           "\"bytes_per_hold_prefill\":%.1f,\"peak_rss_mb\":%.0f,",
           b->gpus, b->holds, b->run.n, rate(&b->run), b->p50, b->p99, b->p999, b->run.accepted,
           100 * b->util, b->bph, b->bph0, b->rss);
    if (pr->ran)
        printf("\"pg_gpus\":%u,\"pg_requests\":%u,\"pg_decisions_per_s\":%.1f,"
               "\"pg_accepted\":%u,\"allot_small_decisions_per_s\":%.0f,"
               "\"allot_small_accepted\":%u,\"ratio_vs_pg\":%.1f}\n",
               pr->gpus, pr->requests, pr->pg_rate, pr->pg_accepted, pr->allot_rate,
               pr->allot_accepted, pr->pg_rate > 0 ? pr->allot_rate / pr->pg_rate : 0);
    else
        printf("\"pg_gpus\":null,\"pg_requests\":null,\"pg_decisions_per_s\":null,"
               "\"pg_accepted\":null,\"allot_small_decisions_per_s\":null,"
               "\"allot_small_accepted\":null,\"ratio_vs_pg\":null}\n");
}

/* The environment knob `name` as a count in [min, max] into *ret (left alone when unset);
 * -1 with a message naming it when it is not one. */
static int env_count(const char *name, uint64_t min, uint64_t max, uint64_t *ret)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (al_num_parse_u64(v, min, max, ret) != 0) {
        fprintf(stderr, "admission: %s must be an integer from %llu to %llu, not '%s'\n", name,
                (unsigned long long)min, (unsigned long long)max, v);
        return -1;
    }
    return 0;
}

int main(void)
{
    bool quick = al_bench_quick();
    uint64_t holds = 0;
    struct scale big =
        quick ? (struct scale){1000, 100000, 10000, 0} : (struct scale){10000, 1000000, 100000, 0};
    if (env_count("HOLDS", 1000, 20000000, &holds) < 0 ||
        env_count("AVAIL", 1, big.requests, &big.avail) < 0)
        return 2;
    if (holds > 0)
        big.holds = (uint32_t)(quick ? holds / 10 : holds);
    struct scale small =
        quick ? (struct scale){50, 5000, 500, 0} : (struct scale){200, 20000, 2000, 0};
    struct big_result b = {0};
    struct peer_result pr;
    int rc = 1;
    for (unsigned i = 0; i < 4; i++)
        if (!(models[i] = al_catalog_find(model_names[i]))) {
            fprintf(stderr, "admission: catalog has no %s\n", model_names[i]);
            return 1;
        }
    if (run_big(&big, &b) != 0 || compare_pg(&small, &pr) != 0)
        goto out;
    print_json(&b, &pr);
    rc = b.run.errors ? 1 : 0;
out:
    free(b.run.lat);
    return rc;
}
