/* store_replica.h — what several servers on one PostgreSQL need of the store (store_replica.c): the
 * clock's lock, GPU row locks, the change feed, event positions, delivery claims; on SQLite each is
 * a no-op or today's statement. Split from store.h, whose conventions (ownership, error codes,
 * struct al_err) hold here. */
#ifndef AL_STORE_STORE_REPLICA_H
#define AL_STORE_STORE_REPLICA_H

#include "store/store.h"

/* ---- replicas: several servers on one PostgreSQL (store_replica.c, docs/postgres.md) ----
 * On SQLite one process is the only writer (the server's <db>.lock): each call below is then
 * a no-op, or the statement the single-process code runs already, so that SQLite behaves as
 * it did before replicas existed. */

/* Whether other servers may write this database at the same time (PostgreSQL): the caller
 * cannot assume its in-memory copy saw every write, nor cache what another server may
 * change. */
bool al_store_replicated(const struct al_store *s);

/* Take the clock for the open transaction: 1 when this server runs the background work now
 * (always on SQLite), 0 when another replica holds it (PostgreSQL:
 * pg_try_advisory_xact_lock, released at the transaction's end), or a code. */
int al_store_clock_lock(struct al_store *s, struct al_err *reterr);

/* Lock the rows of GPUs `ids` (n of them; repeats allowed) until the transaction ends, in id
 * order (so that two replicas lock any two GPUs in the same order): a sale takes them before
 * it re-reads and writes their holds, so that no other replica's sale interleaves. Then the
 * tentative holds on them that expired by `now` go: holds_no_overlap has no clock, and would
 * refuse what the live check (and the calendar) allow until the clock's pass released them.
 * PostgreSQL only (SELECT … FOR UPDATE); nothing on SQLite. 0 or a code. */
int al_store_gpu_lock(struct al_store *s, const char *const *ids, size_t n, int64_t now,
                      struct al_err *reterr);

/* The live holds (firm, or tentative not expired at `now`) on GPU `gpu` ending after `t0`,
 * by start: 0 with *ret a new array the caller frees with free() (NULL when *n is 0). */
int al_store_hold_gpu_live(struct al_store *s, const char *gpu, int64_t t0, int64_t now,
                           struct al_store_hold **ret, size_t *n, struct al_err *reterr);
/* The same for GPUs `ids` (nids of them; repeats and NULLs allowed) in one statement, by GPU
 * then start: a node's GPUs, or a refresh's, in one round trip. Returns how many holds *ret
 * holds (a new array the caller frees with free(), NULL when none), or a negative code. */
int al_store_hold_gpus_live(struct al_store *s, const char *const *ids, size_t nids, int64_t t0,
                            int64_t now, struct al_store_hold **ret, struct al_err *reterr);

/* al_store_hold_add in a savepoint of its own on PostgreSQL, so that a refusal by the
 * database (AL_E_CONFLICT: holds_no_overlap) leaves the caller's transaction usable for its
 * answer; on SQLite exactly al_store_hold_add. */
int al_store_hold_add_unit(struct al_store *s, const struct al_store_hold *h,
                           struct al_err *reterr);

/* The change feed (PostgreSQL: migration 12's `changes`, written by triggers on holds, gpus
 * and nodes). al_store_changes_horizon: *h, the horizon below which every transaction has
 * ended (0 on SQLite). al_store_changes_since: the GPUs ({gpu}) and nodes ({node}) changed
 * by transactions at or above *h that have ended, into *ret (a new array of {gpu|null,
 * node|null}, the caller's), and *h moved up to the new horizon. On SQLite *ret is empty.
 * al_store_changes_prune: forget changes older than `age_s` seconds of the database's clock
 * (the clock holder's housekeeping; nothing on SQLite). */
int al_store_changes_horizon(struct al_store *s, int64_t *h, struct al_err *reterr);
int al_store_changes_since(struct al_store *s, int64_t *h, json_t **ret, struct al_err *reterr);
int al_store_changes_prune(struct al_store *s, int64_t age_s, struct al_err *reterr);

/* Give the events this transaction appended their public positions, just before its COMMIT:
 * on PostgreSQL, under an advisory lock that the COMMIT releases, the next positions in seq
 * order (events.pos; the event readers page on it and skip rows without one), so that
 * positions follow commit order even though seqs are drawn at INSERT. Nothing on SQLite,
 * where the one writer commits in seq order and the position is the seq. 0 or a code. */
int al_store_events_seal(struct al_store *s, struct al_err *reterr);

/* Claim at most `limit` deliveries due by `now` for one attempt, as al_store_delivery_due
 * lists them. PostgreSQL: rows another replica holds are skipped (FOR UPDATE SKIP LOCKED) and
 * each claimed delivery's next_at moves to now + lease_s, committed before the attempt, so
 * that no other replica sends it meanwhile; SQLite: al_store_delivery_due. */
int al_store_delivery_claim(struct al_store *s, int64_t now, int64_t lease_s, int limit,
                            json_t **ret, struct al_err *reterr);

/* Give back the claims of deliveries `ids` (n of them) not attempted, so that they are due at
 * once, not when the lease ends: those whose next_at is still `lease_end` (the claim's now +
 * lease_s: no other replica claimed them since) and which are not done. A clean stop's; a
 * replica that dies leaves its leases to run out. Nothing on SQLite (no claims). 0 or a
 * code. */
int al_store_delivery_unclaim(struct al_store *s, const char *const *ids, size_t n,
                              int64_t lease_end, int64_t now, struct al_err *reterr);

#endif
