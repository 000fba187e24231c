/* pgpeer.h — the PostgreSQL peer of the admission benchmark: the obvious way to keep GPU holds
 * from overlapping in a database, a `tstzrange` EXCLUDE USING gist constraint.
 *
 * Modelling: one row per (GPU, placement unit, hold). A MIG instance (profile, start) holds the
 * units [start, start + size) of its GPU; a whole-GPU hold holds every unit of the GPU (8 on
 * A100/H100/H200, 1 on a GPU without MIG). The constraint
 *     EXCLUDE USING gist (gpu_id WITH =, unit WITH =, during WITH &&)
 * then refuses any two holds sharing a unit at overlapping times, which with legal starts is
 * exactly NVML's rule for the classic profiles (their unit and start rules imply the 7-slice
 * compute limit), and makes whole-GPU (non-MIG) holds exclusive.
 *
 * One decision = one transaction: a query finds, for the request's model, the units occupied on
 * each GPU during the window; the client picks GPUs (whole: one node if any has enough, else the
 * first free ones; MIG: first fit over GPUs and legal starts) and INSERTs the rows. An exclusion
 * violation (SQLSTATE 23P01, a concurrent writer) rolls back and tries again. Built only with
 * libpq (AL_HAVE_PQ); without it al_pg_open returns AL_E_UNSUPPORTED.
 */
#ifndef AL_BENCH_PGPEER_H
#define AL_BENCH_PGPEER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"

struct al_pg_gpu {
    uint32_t node;
    const struct al_gpu_model *model;
};

struct al_pg_hold {
    uint32_t gpu;
    bool whole;
    uint8_t profile, start; /* MIG */
    int64_t t0, t1;
};

struct al_pg_req {
    bool whole;
    const struct al_gpu_model *model;
    int profile; /* MIG: profile index (already resolved) */
    unsigned count;
    int64_t t0, t1; /* Unix seconds */
};

struct al_pg;

/* Connect with libpq `conninfo` and (re)create the schema for `ngpus` GPUs (ids 0..n-1,
 * borrowed array). Owned by the caller: al_pg_close. */
int al_pg_open(const char *conninfo, const struct al_pg_gpu *gpus, uint32_t ngpus,
               struct al_pg **ret, struct al_err *reterr);
void al_pg_close(struct al_pg *pg);

/* Bulk-load holds (COPY), then ANALYZE. Returns 0 or AL_E_DB. */
int al_pg_prefill(struct al_pg *pg, const struct al_pg_hold *h, uint32_t n, struct al_err *reterr);

/* Decide one request in one transaction. Returns 1 (admitted, rows committed), 0 (refused),
 * or AL_E_DB. */
int al_pg_decide(struct al_pg *pg, const struct al_pg_req *r, uint64_t req_id,
                 struct al_err *reterr);

/* Rows in the hold table (for the report). */
long al_pg_rows(struct al_pg *pg);

#endif
