/* promtext.h — the Prometheus text exposition format (version 0.0.4), written by hand: Debian
 * packages no C client library. A growing buffer of families (# HELP, # TYPE) and their
 * samples; label values and help text escaped as the format says, histograms written from
 * per-bucket counts. No I/O, no locks: server/metrics.c and the /metrics route fill one per
 * scrape. Internal to src/server. */
#ifndef AL_SERVER_PROMTEXT_H
#define AL_SERVER_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AL_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The text being written. Zero it (or al_prom_init) before use; al_prom_take or al_prom_free
 * after. A failure (no memory, a bad metric or label name) is sticky: every later call does
 * nothing, and al_prom_take returns NULL. */
struct al_prom {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
};

void al_prom_init(struct al_prom *p);

/* The "# HELP" and "# TYPE" lines of family `name` (type: "counter", "gauge", "histogram").
 * Every family once, before its samples. */
void al_prom_family(struct al_prom *p, const char *name, const char *type, const char *help);

/* One sample line `name{labels} value`. `labels` is NULL or a NULL-terminated list of name,
 * value pairs ({"route", "/v1/x", "method", "GET", NULL}); values may hold any bytes (escaped
 * here). */
void al_prom_sample(struct al_prom *p, const char *name, const char *const *labels, double v);
void al_prom_sample_u64(struct al_prom *p, const char *name, const char *const *labels, uint64_t v);
void al_prom_sample_i64(struct al_prom *p, const char *name, const char *const *labels, int64_t v);

/* A histogram's values: `n` upper bounds (ascending, in the observations' integer unit);
 * counts[i] is how many observations fell in bucket i alone (counts[n]: above the last bound);
 * `sum` in the same unit; each is divided by `per` for the exposed unit (1e6: microseconds to
 * seconds; a division, so that 25000 us is written 0.025, not 0.024999999999999998). */
struct al_prom_hist {
    const uint64_t *bounds;
    size_t n;
    const uint64_t *counts; /* n + 1 of them */
    uint64_t sum;
    double per;
};

/* Its samples: name_bucket{...,le="..."} for each bound and +Inf (cumulative), then name_sum
 * and name_count, the count being the buckets' total, so that the two always agree. */
void al_prom_histogram(struct al_prom *p, const char *name, const char *const *labels,
                       const struct al_prom_hist *h);

/* Hand over the text (NUL-terminated; *len its length, may be NULL): the caller frees it.
 * NULL when a call failed; the buffer is freed then. */
char *al_prom_take(struct al_prom *p, size_t *len);
void al_prom_free(struct al_prom *p);

/* Is `s` a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) / label name ([a-zA-Z_][a-zA-Z0-9_]*, not
 * starting with "__")? */
bool al_prom_metric_name_ok(const char *s);
bool al_prom_label_name_ok(const char *s);

#endif
