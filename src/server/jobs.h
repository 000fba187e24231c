/* jobs.h — background jobs: the work the server's clock runs, each as one unit of work
 * through server/txn.h, as an HTTP write is. Internal to src/server. */
#ifndef AL_SERVER_JOBS_H
#define AL_SERVER_JOBS_H

struct al_srv;

/* One tick of the clock: expire quotes, start and end reservations, in one unit of work
 * (the server's lock, one savepoint, back after its commit). Returns the number of
 * transitions made, or a negative code (logged). */
int al_jobs_tick(struct al_srv *srv);

#endif
