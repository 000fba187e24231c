/* mig_plan.c — what one MIG planning pass of the server's clock (server/migplan.c, run every
 * tick) costs against the size of the calendar: a SQLite store in a temp dir with a fleet of
 * H100-80GB GPUs (8 a node), N firm reservation holds over 90 days, M of the GPUs managed (their
 * agent reports MIG state), and al_migplan_pass timed as the clock runs it, in a transaction.
 *
 * Usage: bench_mig_plan   (QUICK=1: a tenth of the fleet and of the holds, M up to 128)
 * Holds: every GPU gets N / GPUs of them on three lanes (3g.40gb@0, 2g.20gb@4, 1g.10gb@6), one
 * per equal slot of the 90 days (from 10 days before now), each lasting 20-70% of its slot. A
 * managed GPU reports 3g.40gb@0 and 3g.40gb@4, so its 2g/1g holds in the horizon need a change:
 * the first pass plans one per such GPU, the next passes keep it (the usual tick). Its holds
 * in the horizon have reservation documents (the planner reads those it names). One JSON line
 * per (N, M) on stdout, a table on stderr. The same source builds against a tree without
 * al_store_hold_gpu_firm, so that a "before" binary can be built from an older migplan.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bcommon.h"
#include "core/catalog.h"
#include "core/layout.h"
#include "server/http.h"
#include "server/migplan.h"
#include "store/store.h"

#define MODEL       "H100-80GB"
#define NODE_GPUS   8
#define DAY         INT64_C(86400)
#define NOW         INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define SPAN_T0     (NOW - 10 * DAY)
#define SPAN        (90 * DAY)
#define LANES       3
#define STEADY_RUNS 7

static const char *const lane_profile[LANES] = {"3g.40gb", "2g.20gb", "1g.10gb"};
static const int lane_start[LANES] = {0, 4, 6};

struct bench {
    struct al_store *s;
    char dir[64], path[96];
    uint32_t nodes;     /* NODE_GPUS GPUs each */
    uint32_t doc_nodes; /* nodes whose horizon holds have reservation documents */
    struct al_rng rng;
};

/* One (N, M) result. */
struct result {
    size_t holds, horizon_holds, managed_holds;
    uint32_t managed;
    int first_changes, steady_changes;
    double first_ms, list_ms, pass_ms, pass_max_ms, scan_ms;
};

static double ms_since(uint64_t t)
{
    return (double)(al_bench_now_ns() - t) / 1e6;
}

/* GPU `idx` of node `node`'s report; managed: with an observation of 3g.40gb@0, 3g.40gb@4. */
static json_t *gpu_json(const struct al_gpu_model *m, uint32_t node, int idx, bool managed)
{
    char uuid[48];
    snprintf(uuid, sizeof uuid, "GPU-%u-%d", node, idx);
    json_t *g = json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", idx, "uuid", uuid, "model", MODEL,
                          "pool", "dedicated", "healthy", 1);
    json_t *insts = json_array();
    for (int k = 0; managed && g && insts && k < 2; k++) {
        const struct al_mig_profile *p = &m->profiles[al_catalog_profile_index(m, "3g.40gb")];
        snprintf(uuid, sizeof uuid, "MIG-%u-%d-%d", node, idx, k);
        json_array_append_new(insts,
                              json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:s}", "profile", p->name,
                                        "profile_id", (int)p->nvml_id, "start", 4 * k, "size",
                                        (int)p->size, "gi", k + 1, "ci", 0, "uuid", uuid));
    }
    if (managed && g && insts)
        json_object_set_new(g, "observed",
                            json_pack("{s:{s:b,s:b,s:b},s:O,s:[],s:i,s:[]}", "mig", "capable", 1,
                                      "current", 1, "pending", 1, "instances", insts, "processes",
                                      "processes_total", 0, "catalog_differences"));
    json_decref(insts);
    return g;
}

/* Report nodes [n0, n1) (node n managed when n < managed_nodes), in one transaction. */
static int put_nodes(struct bench *b, uint32_t n0, uint32_t n1, uint32_t managed_nodes)
{
    const struct al_gpu_model *m = al_catalog_find(MODEL);
    struct al_err e = {0};
    int rc = al_store_begin(b->s, &e);
    for (uint32_t n = n0; rc == 0 && n < n1; n++) {
        char name[16];
        json_t *gpus = json_array();
        for (int i = 0; gpus && i < NODE_GPUS; i++)
            json_array_append_new(gpus, gpu_json(m, n, i, n < managed_nodes));
        snprintf(name, sizeof name, "n%05u", n);
        json_t *node = json_pack("{s:s,s:s,s:{},s:o}", "name", name, "zone", n % 2 ? "z1" : "z2",
                                 "labels", "gpus", gpus);
        rc = node ? al_store_node_upsert(b->s, node, NOW, &e) : AL_E_NOMEM;
        json_decref(node);
    }
    if (rc == 0)
        return al_store_commit(b->s, &e) == 0 ? 0 : -1;
    fprintf(stderr, "mig_plan: nodes: %s\n", e.msg);
    al_store_rollback(b->s);
    return -1;
}

/* The reservation document of hold h (the planner reads its org and start). */
static int put_rsv(struct bench *b, const struct al_store_hold *h, struct al_err *e)
{
    char t0[32], t1[32];
    json_t *doc =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:i}]}", "id", h->owner, "org", "org_bench",
                  "state", "scheduled", "start", al_time_fmt(h->t0, t0, sizeof t0), "end",
                  al_time_fmt(h->t1, t1, sizeof t1), "allocations", "gpu", h->gpu, "profile",
                  h->profile, "start_unit", h->start_unit);
    struct al_store_doc_meta meta = {h->owner, "org_bench", "scheduled", h->t0, h->t1};
    int rc = doc ? al_store_reservation_put(b->s, &meta, doc, true, e) : AL_E_NOMEM;
    json_decref(doc);
    return rc;
}

/* The holds of GPU `idx` of node `node`: `count` over the lanes, one per slot. */
static int gpu_holds(struct bench *b, const struct al_gpu_model *m, uint32_t node, int idx,
                     size_t count, struct al_err *e)
{
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < count; j++) {
        int lane = (int)(j % LANES);
        int64_t slots = (int64_t)((count - (size_t)lane + LANES - 1) / LANES);
        int64_t slot = SPAN / slots, q = (int64_t)(j / LANES);
        int64_t len = slot * al_rng_range(&b->rng, 20, 70) / 100;
        int64_t t0 = SPAN_T0 + q * slot + al_rng_range(&b->rng, 0, slot - len);
        struct al_placement p = {(uint8_t)al_catalog_profile_index(m, lane_profile[lane]),
                                 (uint8_t)lane_start[lane]};
        struct al_store_hold h = {.kind = "mig",
                                  .start_unit = lane_start[lane],
                                  .t0 = t0,
                                  .t1 = t0 + len,
                                  .mask = al_placement_mask(m, p)};
        snprintf(h.gpu, sizeof h.gpu, "gpu_n%05u-%d", node, idx);
        snprintf(h.owner, sizeof h.owner, "rsv_%u_%d_%zu", node, idx, j);
        snprintf(h.profile, sizeof h.profile, "%s", lane_profile[lane]);
        rc = al_store_hold_add(b->s, &h, e);
        if (rc == 0 && node < b->doc_nodes && h.t1 > NOW && h.t0 < NOW + AL_MIGPLAN_HORIZON_S)
            rc = put_rsv(b, &h, e);
    }
    return rc;
}

/* `total` holds over the fleet, in one transaction. */
static int put_holds(struct bench *b, size_t total)
{
    const struct al_gpu_model *m = al_catalog_find(MODEL);
    size_t gpus = (size_t)b->nodes * NODE_GPUS;
    struct al_err e = {0};
    int rc = al_store_begin(b->s, &e);
    for (size_t g = 0; rc == 0 && g < gpus; g++)
        rc = gpu_holds(b, m, (uint32_t)(g / NODE_GPUS), (int)(g % NODE_GPUS),
                       total / gpus + (g < total % gpus), &e);
    if (rc == 0)
        return al_store_commit(b->s, &e) == 0 ? 0 : -1;
    fprintf(stderr, "mig_plan: holds: %s\n", e.msg);
    al_store_rollback(b->s);
    return -1;
}

/* The fleet and its holds in a fresh store. */
static int bench_open(struct bench *b, uint32_t nodes, uint32_t doc_nodes, size_t holds)
{
    struct al_err e = {0};
    memset(b, 0, sizeof *b);
    b->nodes = nodes;
    b->doc_nodes = doc_nodes;
    al_rng_seed(&b->rng, 42);
    snprintf(b->dir, sizeof b->dir, "/tmp/al_bench_migplan_XXXXXX");
    if (!mkdtemp(b->dir)) {
        perror("mig_plan: mkdtemp");
        return -1;
    }
    snprintf(b->path, sizeof b->path, "%s/t.db", b->dir);
    json_t *org = json_pack("{s:s,s:s,s:n,s:n,s:i}", "id", "org_bench", "name", "org_bench",
                            "customer_code", "display_name", "created_at", 1000);
    int rc = al_store_open(b->path, &b->s, &e);
    if (rc == 0)
        rc = al_store_org_insert(b->s, org, &e);
    json_decref(org);
    if (rc) {
        fprintf(stderr, "mig_plan: store: %s\n", e.msg);
        return -1;
    }
    return put_nodes(b, 0, nodes, 0) == 0 && put_holds(b, holds) == 0 ? 0 : -1;
}

static void bench_close(struct bench *b)
{
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    al_store_close(b->s);
    b->s = NULL;
    for (size_t i = 0; b->dir[0] && i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(p, sizeof p, "%s%s", b->path, sfx[i]);
        unlink(p);
    }
    if (b->dir[0])
        rmdir(b->dir);
}

/* One pass at `now` as the clock runs it: the GPU list, then the pass, one transaction. The
 * number of changes it planned, superseded or moved, or -1. */
static int run_pass(struct bench *b, int64_t now, double *list_ms, double *pass_ms)
{
    struct al_srv srv = {.store = b->s};
    struct al_ctx c = {.srv = &srv, .user_id = "clock", .now = now};
    json_t *gpus = NULL;
    int rc = al_store_begin(b->s, NULL);
    uint64_t t = al_bench_now_ns();
    if (rc == 0 && (rc = al_migplan_gpus(&c, &gpus)) == 0) {
        *list_ms = ms_since(t);
        t = al_bench_now_ns();
        rc = al_migplan_pass(&c, &gpus);
        *pass_ms = ms_since(t);
    }
    if (rc >= 0 && al_store_commit(b->s, NULL) == 0) {
        json_decref(gpus);
        return rc;
    }
    fprintf(stderr, "mig_plan: pass failed: %s\n", c.err_msg);
    al_store_rollback(b->s);
    json_decref(gpus);
    json_decref(c.err_details);
    json_decref(c.resp);
    return -1;
}

/* Counting what main's pass read (every live hold in the horizon) and what a pass that reads
 * the managed GPUs' firm reservation holds reads. */
struct count {
    uint32_t managed_nodes;
    size_t all, managed;
};

/* The node number of a GPU id of this fleet ("gpu_n00012-3": 12). */
static uint32_t gpu_node(const char *gpu)
{
    uint32_t n = 0;
    for (const char *p = gpu + strlen("gpu_n"); *p >= '0' && *p <= '9'; p++)
        n = 10 * n + (uint32_t)(*p - '0');
    return n;
}

static int count_hold(void *arg, const struct al_store_hold *h)
{
    struct count *k = arg;
    k->all++;
    if (strncmp(h->gpu, "gpu_n", 5) == 0 && gpu_node(h->gpu) < k->managed_nodes &&
        h->expires_at == 0 && strncmp(h->owner, "rsv_", 4) == 0)
        k->managed++;
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Manage the first `managed` GPUs (whole nodes) and time the first pass and STEADY_RUNS more. */
static int measure(struct bench *b, uint32_t managed, struct result *r)
{
    double steady[STEADY_RUNS], list = 0;
    struct count k = {managed / NODE_GPUS, 0, 0};
    if (managed && put_nodes(b, 0, managed / NODE_GPUS, managed / NODE_GPUS) != 0)
        return -1;
    uint64_t t = al_bench_now_ns();
    if (al_store_hold_each(b->s, NOW, NOW + AL_MIGPLAN_HORIZON_S, NOW, count_hold, &k, NULL) != 0)
        return -1;
    r->scan_ms = ms_since(t);
    r->managed = managed;
    r->horizon_holds = k.all;
    r->managed_holds = k.managed;
    if ((r->first_changes = run_pass(b, NOW, &list, &r->first_ms)) < 0)
        return -1;
    r->first_ms += list;
    r->steady_changes = 0;
    r->list_ms = 0;
    for (int i = 0; i < STEADY_RUNS; i++) {
        int n = run_pass(b, NOW + 1 + i, &list, &steady[i]);
        if (n < 0)
            return -1;
        r->steady_changes += n;
        r->list_ms += list / STEADY_RUNS;
    }
    qsort(steady, STEADY_RUNS, sizeof *steady, cmp_double);
    r->pass_ms = steady[STEADY_RUNS / 2];
    r->pass_max_ms = steady[STEADY_RUNS - 1];
    return 0;
}

static int print_result(uint32_t gpus, const struct result *r)
{
    printf("{\"bench\":\"mig-plan\",\"gpus\":%u,\"holds\":%zu,\"horizon_holds\":%zu,"
           "\"managed_gpus\":%u,\"managed_holds\":%zu,\"first_changes\":%d,"
           "\"steady_changes\":%d,\"first_pass_ms\":%.2f,\"gpu_list_ms\":%.2f,\"pass_ms\":%.3f,"
           "\"pass_max_ms\":%.3f,\"horizon_scan_ms\":%.2f}\n",
           gpus, r->holds, r->horizon_holds, r->managed, r->managed_holds, r->first_changes,
           r->steady_changes, r->first_ms, r->list_ms, r->pass_ms, r->pass_max_ms, r->scan_ms);
    fprintf(stderr, "%8zu %8zu %8u %8zu %8d %10.2f %9.2f %10.3f %10.3f %9.2f\n", r->holds,
            r->horizon_holds, r->managed, r->managed_holds, r->first_changes, r->first_ms,
            r->list_ms, r->pass_ms, r->pass_max_ms, r->scan_ms);
    return fflush(stdout) == 0 ? 0 : -1;
}

int main(void)
{
    static const size_t full_holds[] = {100000, 1000000}, quick_holds[] = {10000, 100000};
    static const uint32_t full_managed[] = {0, 8, 128, 1024}, quick_managed[] = {0, 8, 128};
    bool quick = al_bench_quick();
    const size_t *holds = quick ? quick_holds : full_holds;
    const uint32_t *managed = quick ? quick_managed : full_managed;
    size_t nmanaged = quick ? 3 : 4;
    uint32_t nodes = quick ? 1000 : 10000, max_managed = managed[nmanaged - 1];
    if (!al_catalog_find(MODEL)) {
        fprintf(stderr, "mig_plan: catalog has no model %s\n", MODEL);
        return 1;
    }
    fprintf(stderr, "mig-plan: %u GPUs; times in ms (pass: median of %d steady passes)\n",
            nodes * NODE_GPUS, STEADY_RUNS);
    fprintf(stderr, "%8s %8s %8s %8s %8s %10s %9s %10s %10s %9s\n", "holds", "horizon", "managed",
            "m_holds", "changes", "first_ms", "list_ms", "pass_ms", "pass_max", "scan_ms");
    for (size_t i = 0; i < 2; i++) {
        struct bench b;
        uint64_t t = al_bench_now_ns();
        int rc = bench_open(&b, nodes, max_managed / NODE_GPUS, holds[i]);
        fprintf(stderr, "  (store with %zu holds built in %.1f s)\n", holds[i], ms_since(t) / 1e3);
        for (size_t j = 0; rc == 0 && j < nmanaged; j++) {
            struct result r = {.holds = holds[i]};
            if ((rc = measure(&b, managed[j], &r)) == 0)
                rc = print_result(nodes * NODE_GPUS, &r);
        }
        bench_close(&b);
        if (rc)
            return 1;
    }
    return 0;
}
