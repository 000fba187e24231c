/* metrics.h — the server's own counters for GET /metrics: HTTP calls by route, method and
 * status, their latency, the group commit's batch sizes and fsync time, agent heartbeats.
 * Each is a relaxed atomic add on the path that counts it: no lock is taken to count. The
 * route (routes_metrics.c) writes them with what it reads from the store and the fleet at
 * scrape time. Internal to src/server. */
#ifndef AL_SERVER_METRICS_H
#define AL_SERVER_METRICS_H

#include "core/err.h"
#include "server/promtext.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct al_route;
struct al_metrics;

/* Counters for every route of the router's tables, from zero; the process start time taken
 * now. NULL when out of memory. Owned by the caller: al_metrics_free. */
struct al_metrics *al_metrics_new(void);
void al_metrics_free(struct al_metrics *m);

/* A call answered: its route (NULL: none matched), its method as sent, its status and how long
 * it took, from its request line to its answer being queued. Thread-safe, lock-free; `m` may
 * be NULL (nothing counted). */
void al_metrics_request(struct al_metrics *m, const struct al_route *r, const char *method,
                        int status, uint64_t micros);

/* A batch of the group commit (server/txn.c): `units` units of work joined it; written and
 * synced, its fsync took `fsync_us`, or its commit `failed`. */
void al_metrics_commit(struct al_metrics *m, uint64_t units, uint64_t fsync_us, bool failed);

/* A heartbeat (PUT /v1/nodes/{name}) taken. */
void al_metrics_heartbeat(struct al_metrics *m);

/* --metrics-token-file's token (`n` bytes), kept as its hash. 0, or AL_E_INVAL naming what is
 * wrong with it (empty, too long, a byte outside printable ASCII). */
int al_metrics_set_token(struct al_metrics *m, const char *token, size_t n, struct al_err *reterr);
/* The token held in file `path` (one line; blanks and the line end after it dropped; at most
 * 4 KiB read), for al_metrics_set_token. 0, or a negative code naming the file. */
int al_metrics_token_file(struct al_metrics *m, const char *path, struct al_err *reterr);
/* Is `token` (`n` bytes) the metrics token? Compared by hash in constant time; false when
 * none is set. */
bool al_metrics_token_ok(const struct al_metrics *m, const char *token, size_t n);

/* Write the process's families (build info, start time, calls, latency, commits, fsync,
 * heartbeats) into `p`; nothing for a NULL `m`. */
void al_metrics_write(const struct al_metrics *m, struct al_prom *p);

#endif
