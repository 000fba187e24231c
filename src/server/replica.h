/* replica.h — several `allot server` replicas on one PostgreSQL (docs/postgres.md, "Several
 * replicas"): the clock runs once across them, a sale locks its GPUs and re-reads them before
 * it writes their holds, and each replica brings what the others wrote into its in-memory
 * fleet and calendar from the store's change feed. On SQLite the server is the only writer:
 * each call is then a no-op, without a statement. Internal to src/server; called inside a
 * unit of work (server/txn.h), under the server's lock. */
#ifndef AL_SERVER_REPLICA_H
#define AL_SERVER_REPLICA_H

#include "server/http.h"

#include <stddef.h>

/* How long a replica's copy may go without a refresh before it is built again whole: the
 * clock holder prunes the change feed's rows older than AL_REPLICA_FEED_KEEP_S. */
#define AL_REPLICA_FEED_STALE_S 300
#define AL_REPLICA_FEED_KEEP_S  900

/* Take the clock for this unit's transaction: 1 when this replica runs the background work of
 * this tick (always on SQLite; it then also prunes the change feed), 0 when another replica
 * holds it, or a negative code with the call failed. */
int al_replica_clock(struct al_ctx *c);

/* Bring what other replicas committed into srv->cal: the GPUs and nodes of the change feed
 * since the last refresh (the whole copy built again when the last refresh is older than
 * AL_REPLICA_FEED_STALE_S). 0, or a negative code with the call failed. */
int al_replica_refresh(struct al_ctx *c);

/* Before a sale writes holds on GPUs `gpus` (n store ids, repeats allowed): lock their rows
 * until the transaction ends (in id order) and reload their live holds into srv->cal, so that
 * the checks that follow see every hold another replica committed on them. 0, or a negative
 * code with the call failed. */
int al_replica_sale_lock(struct al_ctx *c, const char *const *gpus, size_t n);

/* al_replica_sale_lock for the GPUs of doc's "allocations" (a quote or a reservation). */
int al_replica_sale_lock_doc(struct al_ctx *c, json_t *doc);

/* Only the row locks of al_replica_sale_lock (doc's GPUs for the _doc form), the calendar
 * left as it is: for a writer that holds calendar hold ids (a reload renumbers the GPU's holds)
 * and checks the store, which is the truth under the locks, before it writes. */
int al_replica_lock_gpus(struct al_ctx *c, const char *const *gpus, size_t n);
int al_replica_lock_doc(struct al_ctx *c, json_t *doc);

#endif
