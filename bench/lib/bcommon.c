/* bcommon.c — clock, RNG, percentiles and RSS for the benchmarks (see bcommon.h). */
#include "bcommon.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

uint64_t al_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool al_bench_quick(void)
{
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read once in main, before any thread starts */
    const char *q = getenv("QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

double al_bench_peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

void al_rng_seed(struct al_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t al_rng_next(struct al_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t al_rng_below(struct al_rng *r, uint64_t n)
{
    /* Multiply-shift keeps the bias below 2^-32 for the small n used here. */
    return (uint64_t)(((unsigned __int128)al_rng_next(r) * n) >> 64);
}

int64_t al_rng_range(struct al_rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)al_rng_below(r, (uint64_t)(hi - lo) + 1);
}

double al_rng_unit(struct al_rng *r)
{
    return (double)(al_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void al_bench_sort_u64(uint64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_u64);
}

uint64_t al_bench_quantile_sorted(const uint64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)n);
    if (i >= n)
        i = n - 1;
    return v[i];
}
