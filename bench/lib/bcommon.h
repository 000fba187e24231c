/* bcommon.h — small plumbing shared by the benchmark programs: a monotonic clock, a seeded RNG,
 * latency percentiles, peak RSS and the QUICK switch. Not part of allot itself. */
#ifndef AL_BENCH_BCOMMON_H
#define AL_BENCH_BCOMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t al_bench_now_ns(void);

/* True when the environment asks for the small quick run (QUICK set, non-empty, not "0").
 * Reads the environment: call it from main before starting threads. */
bool al_bench_quick(void);

/* Peak resident set size of this process in MiB (getrusage ru_maxrss). */
double al_bench_peak_rss_mb(void);

/* A small deterministic RNG (splitmix64): the same seed gives the same stream everywhere. */
struct al_rng {
    uint64_t s;
};

void al_rng_seed(struct al_rng *r, uint64_t seed);
uint64_t al_rng_next(struct al_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t al_rng_below(struct al_rng *r, uint64_t n);
/* Uniform in [lo, hi]; lo <= hi. */
int64_t al_rng_range(struct al_rng *r, int64_t lo, int64_t hi);
/* Uniform double in [0, 1). */
double al_rng_unit(struct al_rng *r);

/* The q-quantile (0 <= q <= 1, nearest rank) of `v` (n values, sorted ascending, e.g. by
 * al_bench_sort_u64); 0 when n == 0. */
uint64_t al_bench_quantile_sorted(const uint64_t *v, size_t n, double q);
/* Sort `v` (n values) ascending, in place. */
void al_bench_sort_u64(uint64_t *v, size_t n);

#endif
