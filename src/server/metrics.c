/* metrics.c — the server's counters and histograms as arrays of relaxed atomics, indexed by
 * route (the router's numbering), method and status: counting a call is a few adds, never a
 * lock; a scrape reads them while they move (each value on its own is exact; a histogram's
 * count is the total of its buckets as read, so that the two always agree). */
#include "server/metrics.h"

#include "server/router.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef AL_BUILD_VERSION
#error "AL_BUILD_VERSION (the project's version) comes from CMakeLists.txt"
#endif

#define AL_METRICS_TOKEN_MAX 1024 /* bytes of --metrics-token-file's token */

/* The methods counted apart; any other is "other". */
static const char *const methods[] = {"GET",    "HEAD",    "POST",  "PUT",
                                      "DELETE", "OPTIONS", "PATCH", "other"};
#define NMETHODS (sizeof methods / sizeof methods[0])

/* The statuses the server answers (server/call.c, http.c); another is counted by its class
 * ("2xx" … "5xx", the last five slots). */
static const int statuses[] = {200, 201, 202, 204, 304, 400, 401, 402, 403, 404, 405, 409, 410, 411,
                               412, 413, 414, 415, 422, 429, 431, 500, 501, 502, 503, 504, 507};
#define NSTATUS_KNOWN (sizeof statuses / sizeof statuses[0])
static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
#define NSTATUS (NSTATUS_KNOWN + 5)

/* Latency buckets in microseconds: 1 ms to 10 s. */
static const uint64_t lat_bounds[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                      250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define NLAT      (sizeof lat_bounds / sizeof lat_bounds[0])
#define LAT_CELLS (NLAT + 2) /* the buckets, +Inf, and the sum */

/* Units of work in a batch of the group commit. */
static const uint64_t batch_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NBATCH (sizeof batch_bounds / sizeof batch_bounds[0])

/* fsync time in microseconds: 100 µs to 2.5 s. */
static const uint64_t fsync_bounds[] = {100,   250,   500,    1000,   2500,   5000,    10000,
                                        25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
#define NFSYNC (sizeof fsync_bounds / sizeof fsync_bounds[0])

struct al_metrics {
    size_t nroutes;            /* the router's routes; index nroutes is "unmatched" */
    _Atomic uint64_t *calls;   /* [route][method][status] */
    _Atomic uint64_t *latency; /* [route][method][LAT_CELLS] */
    _Atomic uint64_t batch[NBATCH + 2];
    _Atomic uint64_t fsync[NFSYNC + 2];
    _Atomic uint64_t commit_failures;
    _Atomic uint64_t heartbeats;
    int64_t started; /* unix seconds */
    long started_ns; /* and nanoseconds */
    bool has_token;
    uint8_t token_hash[crypto_generichash_BYTES];
};

struct al_metrics *al_metrics_new(void)
{
    struct al_metrics *m = calloc(1, sizeof *m);
    struct timespec ts;
    if (!m)
        return NULL;
    m->nroutes = al_router_count();
    m->calls = calloc((m->nroutes + 1) * NMETHODS * NSTATUS, sizeof *m->calls);
    m->latency = calloc((m->nroutes + 1) * NMETHODS * LAT_CELLS, sizeof *m->latency);
    if (!m->calls || !m->latency) {
        al_metrics_free(m);
        return NULL;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    m->started = (int64_t)ts.tv_sec;
    m->started_ns = ts.tv_nsec;
    return m;
}

void al_metrics_free(struct al_metrics *m)
{
    if (!m)
        return;
    free(m->calls);
    free(m->latency);
    sodium_memzero(m->token_hash, sizeof m->token_hash);
    free(m);
}

static size_t method_slot(const char *method)
{
    for (size_t i = 0; i + 1 < NMETHODS; i++)
        if (strcmp(method, methods[i]) == 0)
            return i;
    return NMETHODS - 1;
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < NSTATUS_KNOWN; i++)
        if (statuses[i] == status)
            return i;
    if (status < 100 || status > 599)
        return NSTATUS - 1; /* never sent; counted with the server's errors */
    return NSTATUS_KNOWN + (size_t)(status / 100 - 1);
}

/* The bucket of `v` among `n` ascending bounds (n: above them all). */
static size_t bucket_of(const uint64_t *bounds, size_t n, uint64_t v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i;
}

static void add(_Atomic uint64_t *cell, uint64_t v)
{
    atomic_fetch_add_explicit(cell, v, memory_order_relaxed);
}

static uint64_t get(const _Atomic uint64_t *cell)
{
    return atomic_load_explicit(cell, memory_order_relaxed);
}

void al_metrics_request(struct al_metrics *m, const struct al_route *r, const char *method,
                        int status, uint64_t micros)
{
    size_t route, meth;
    _Atomic uint64_t *lat;
    if (!m)
        return;
    route = al_router_index(r);
    if (route > m->nroutes)
        route = m->nroutes;
    meth = method_slot(method);
    add(&m->calls[(route * NMETHODS + meth) * NSTATUS + status_slot(status)], 1);
    lat = &m->latency[(route * NMETHODS + meth) * LAT_CELLS];
    add(&lat[bucket_of(lat_bounds, NLAT, micros)], 1);
    add(&lat[NLAT + 1], micros);
}

void al_metrics_commit(struct al_metrics *m, uint64_t units, uint64_t fsync_us, bool failed)
{
    if (!m)
        return;
    add(&m->batch[bucket_of(batch_bounds, NBATCH, units)], 1);
    add(&m->batch[NBATCH + 1], units);
    if (failed) {
        add(&m->commit_failures, 1);
        return;
    }
    add(&m->fsync[bucket_of(fsync_bounds, NFSYNC, fsync_us)], 1);
    add(&m->fsync[NFSYNC + 1], fsync_us);
}

void al_metrics_heartbeat(struct al_metrics *m)
{
    if (m)
        add(&m->heartbeats, 1);
}

/* ---- the metrics token ---- */

int al_metrics_set_token(struct al_metrics *m, const char *token, size_t n, struct al_err *reterr)
{
    if (n == 0)
        return al_err_set(reterr, AL_E_INVAL, "the metrics token is empty");
    if (n > AL_METRICS_TOKEN_MAX)
        return al_err_set(reterr, AL_E_INVAL, "the metrics token is longer than %d bytes",
                          AL_METRICS_TOKEN_MAX);
    for (size_t i = 0; i < n; i++)
        if (token[i] <= ' ' || token[i] >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL,
                              "the metrics token holds a byte that is not printable ASCII "
                              "(at %zu)",
                              i);
    crypto_generichash(m->token_hash, sizeof m->token_hash, (const unsigned char *)token, n, NULL,
                       0);
    m->has_token = true;
    return 0;
}

int al_metrics_token_file(struct al_metrics *m, const char *path, struct al_err *reterr)
{
    char buf[AL_METRICS_TOKEN_MAX + 2]; /* one more than a token and its line end: too long */
    struct al_err e = {0};
    size_t n = 0;
    ssize_t r = 0;
    int rc, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return al_err_set(reterr, -errno, "--metrics-token-file %s: %s", path, al_strerror(-errno));
    while (n < sizeof buf) {
        r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    rc = r < 0 ? -errno : 0;
    close(fd);
    if (rc != 0)
        return al_err_set(reterr, rc, "--metrics-token-file %s: %s", path, al_strerror(rc));
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    rc = al_metrics_set_token(m, buf, n, &e);
    sodium_memzero(buf, sizeof buf);
    if (rc != 0)
        return al_err_set(reterr, rc, "--metrics-token-file %s: %s", path, e.msg);
    return 0;
}

bool al_metrics_token_ok(const struct al_metrics *m, const char *token, size_t n)
{
    uint8_t hash[crypto_generichash_BYTES];
    bool ok;
    if (!m || !m->has_token || n == 0 || n > AL_METRICS_TOKEN_MAX)
        return false;
    crypto_generichash(hash, sizeof hash, (const unsigned char *)token, n, NULL, 0);
    ok = sodium_memcmp(hash, m->token_hash, sizeof hash) == 0;
    sodium_memzero(hash, sizeof hash);
    return ok;
}

/* ---- exposition ---- */

static const char *route_label(const struct al_metrics *m, size_t route)
{
    const struct al_route *r = route < m->nroutes ? al_router_at(route) : NULL;
    return r ? r->pattern : "unmatched";
}

static void write_calls(const struct al_metrics *m, struct al_prom *p)
{
    char code[8];
    al_prom_family(p, "allot_http_requests_total", "counter",
                   "HTTP calls answered, by route pattern (unmatched: no route), method and "
                   "status.");
    for (size_t r = 0; r <= m->nroutes; r++)
        for (size_t k = 0; k < NMETHODS; k++)
            for (size_t s = 0; s < NSTATUS; s++) {
                uint64_t v = get(&m->calls[(r * NMETHODS + k) * NSTATUS + s]);
                if (!v)
                    continue;
                if (s < NSTATUS_KNOWN)
                    snprintf(code, sizeof code, "%d", statuses[s]);
                else
                    snprintf(code, sizeof code, "%s", classes[s - NSTATUS_KNOWN]);
                const char *labels[] = {
                    "route", route_label(m, r), "method", methods[k], "status", code, NULL};
                al_prom_sample_u64(p, "allot_http_requests_total", labels, v);
            }
}

/* Read a histogram's cells (buckets, +Inf, sum) into counts[] and *sum; the total count. */
static uint64_t read_hist(const _Atomic uint64_t *cells, size_t n, uint64_t *counts, uint64_t *sum)
{
    uint64_t total = 0;
    for (size_t i = 0; i <= n; i++)
        total += counts[i] = get(&cells[i]);
    *sum = get(&cells[n + 1]);
    return total;
}

static void write_latency(const struct al_metrics *m, struct al_prom *p)
{
    uint64_t counts[NLAT + 1], sum;
    al_prom_family(p, "allot_http_request_duration_seconds", "histogram",
                   "Time from a call's request line to its answer being queued, by route and "
                   "method.");
    for (size_t r = 0; r <= m->nroutes; r++)
        for (size_t k = 0; k < NMETHODS; k++) {
            if (!read_hist(&m->latency[(r * NMETHODS + k) * LAT_CELLS], NLAT, counts, &sum))
                continue;
            const char *labels[] = {"route", route_label(m, r), "method", methods[k], NULL};
            struct al_prom_hist h = {lat_bounds, NLAT, counts, sum, 1e6};
            al_prom_histogram(p, "allot_http_request_duration_seconds", labels, &h);
        }
}

static void write_commits(const struct al_metrics *m, struct al_prom *p)
{
    uint64_t bcounts[NBATCH + 1], fcounts[NFSYNC + 1];
    struct al_prom_hist b = {batch_bounds, NBATCH, bcounts, 0, 1};
    struct al_prom_hist f = {fsync_bounds, NFSYNC, fcounts, 0, 1e6};
    al_prom_family(p, "allot_commit_batch_units", "histogram",
                   "Units of work that wrote in each batch of the group commit (one fsync each).");
    read_hist(m->batch, NBATCH, bcounts, &b.sum);
    al_prom_histogram(p, "allot_commit_batch_units", NULL, &b);
    al_prom_family(p, "allot_commit_fsync_seconds", "histogram",
                   "Time of the fsync that makes a committed batch durable.");
    read_hist(m->fsync, NFSYNC, fcounts, &f.sum);
    al_prom_histogram(p, "allot_commit_fsync_seconds", NULL, &f);
    al_prom_family(p, "allot_commit_failures_total", "counter",
                   "Batches whose commit failed (their units answered with an error).");
    al_prom_sample_u64(p, "allot_commit_failures_total", NULL, get(&m->commit_failures));
}

void al_metrics_write(const struct al_metrics *m, struct al_prom *p)
{
#ifdef AL_DEBUG
    static const char *const build[] = {"version", AL_BUILD_VERSION, "debug", "true", NULL};
#else
    static const char *const build[] = {"version", AL_BUILD_VERSION, "debug", "false", NULL};
#endif
    if (!m)
        return; /* a server state made without al_srv_open (unit tests, benchmarks) */
    al_prom_family(p, "allot_build_info", "gauge", "The allot build serving: always 1.");
    al_prom_sample_u64(p, "allot_build_info", build, 1);
    al_prom_family(p, "allot_process_start_time_seconds", "gauge",
                   "When the server started, in unix seconds.");
    al_prom_sample(p, "allot_process_start_time_seconds", NULL,
                   (double)m->started + (double)m->started_ns / 1e9);
    write_calls(m, p);
    write_latency(m, p);
    write_commits(m, p);
    al_prom_family(p, "allot_agent_heartbeats_total", "counter",
                   "Node heartbeats (PUT /v1/nodes/{name}) taken.");
    al_prom_sample_u64(p, "allot_agent_heartbeats_total", NULL, get(&m->heartbeats));
}
