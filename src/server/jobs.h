/* jobs.h — background jobs: the work the server's clock runs, each as one unit of work
 * through server/txn.h, as an HTTP write is. Internal to src/server. */
#ifndef AL_SERVER_JOBS_H
#define AL_SERVER_JOBS_H

struct al_srv;

/* One tick of the clock: nodes go offline, quotes expire, reservations start (or provision,
 * server/provision.h) and end, MIG changes are planned (server/migplan.h) and approved where
 * the auto-apply policy allows (server/migcheck.h), the draws due are taken (server/draws.h)
 * and the pool is metered (server/pool.h), in one unit of work (the server's lock, one
 * savepoint, back after its commit). Returns the number of transitions, changes, draws and
 * metered pieces, or a negative code (logged). */
int al_jobs_tick(struct al_srv *srv);

#endif
