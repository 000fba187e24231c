/* txn.h — units of work and the group commit under them. Every piece of work on the store, an
 * HTTP handler's or a background job's, runs through al_txn_run: under the server's lock, a
 * write in one savepoint of the open batch (the transaction that gathers every write until
 * the committer writes it to the log and fsyncs it), and the unit returns only once that
 * batch is on disk. Internal to src/server. */
#ifndef AL_SERVER_TXN_H
#define AL_SERVER_TXN_H

#include "core/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct al_ctx;
struct al_srv;

/* The group commit, in struct al_srv (server/http.h): writes join the open transaction
 * (`batch`), one savepoint each; the committer thread writes it to the log under the server's
 * lock, then fsyncs it without the lock (one fsync for all) while the next batch gathers;
 * every unit that saw a batch waits for its fsync before it returns. The fields down to
 * `nfailed` are under the server's lock; `committer` and `started` belong to the thread that
 * starts and stops the server. */
struct al_txn {
    bool open;
    bool stopping;
    bool syncing;       /* the committer is fsyncing a written batch, without the lock */
    uint64_t batch;     /* number of the open (or last) batch */
    uint64_t committed; /* batches up to this one are finished (durable, or failed) */
    uint64_t joins;     /* units that ever joined a batch (the committer watches it grow) */
    struct {
        uint64_t batch;
        int code; /* AL_E_FULL (the disk is full) or AL_E_DB */
    } failed[16]; /* recent batches whose commit failed (ring) */
    unsigned nfailed;
    /* the in-memory copy (srv->cal) may differ from the store: a rebuild after a lost batch
     * failed (the database was unreachable); the next write rebuilds it when it joins, as it
     * does when the store's connection was opened again (`reconnects` changed) */
    bool stale;
    unsigned reconnects; /* al_store_reconnects when the copy was last checked */
    pthread_cond_t work;
    /* committed, failed and nfailed change with both the lock and `done_lock` held; units wait
     * for their batch on `done` with only `done_lock` held */
    pthread_mutex_t done_lock;
    pthread_cond_t done;
    /* the parked units (al_txn_run_parked), in the order they parked, and how many are not
     * resumed yet (the list, and those the committer is resuming); under done_lock. With
     * `draining` no unit parks any more: al_txn_drain waits for `parked` to reach 0. */
    struct al_txn_park *park_head, *park_tail;
    unsigned parked;
    bool draining;
    /* the read gate (al_txn_run_parked), a share scheduler: while the writers share the
     * server (a unit waits for or holds the lock, or left it less than AL_TXN_WRITE_WINDOW_US
     * ago), a snapshot read runs only on a credit, and each unit that leaves the lock earns
     * AL_TXN_READS_PER_WRITE of them; the reads without one park, first come first served.
     * Otherwise reads run at once. Under gate_lock, a leaf lock; `gater` wakes the parked
     * reads once the writers are away. Why: docs/design.md, the concurrency model. */
    pthread_mutex_t gate_lock;
    pthread_cond_t gate_wake;
    unsigned writers;       /* units waiting for or holding the lock */
    unsigned credit;        /* reads that may run while the writers share the server */
    uint64_t last_write_us; /* when a unit last left the lock (CLOCK_MONOTONIC) */
    struct al_txn_park *read_head, *read_tail;
    bool gate_open; /* draining: every read runs at once */
    bool gate_stop;
    pthread_t gater;
    pthread_t committer;
    bool started; /* the committer thread runs */
};

/* The read gate's share (struct al_txn): reads admitted per write unit while both run. A
 * write call costs about 8 availability reads of server and client CPU (bench/e2e alone:
 * ~3.4k write calls/s, ~28k reads/s on 2 cores), so 8 gives each side about the same share of
 * the CPU: docs/e2e-bench.md has the measurements. */
#define AL_TXN_READS_PER_WRITE 8u
/* How long after the last unit left the lock the writers still count as there: a write call
 * waits for its batch's fsync (0.2-0.7 ms alone on this project's disk, more under load)
 * before its next call comes. */
#define AL_TXN_WRITE_WINDOW_US 10000u

/* How a unit of work holds the server. */
enum al_txn_kind {
    AL_TXN_SNAPSHOT, /* reads only srv->cal, under cal_rw for reading: no lock, no commit wait */
    AL_TXN_READ,     /* reads the store under the lock; returns after the commit of what it saw */
    AL_TXN_WRITE,    /* the lock, cal_rw for writing, one savepoint of the open batch */
};

/* A step of a unit of work, on the context of its HTTP call or job, with the unit's `arg`. */
typedef int (*al_txn_fn)(struct al_ctx *c, void *arg);

/* How many more times a write unit that opted in (al_txn_unit's `again`) runs after its run
 * failed retryably, before it fails. */
#define AL_TXN_RETRIES 4u

struct al_txn_unit {
    enum al_txn_kind kind;
    /* NULL, or run first: under the lock (without it for a snapshot), before any savepoint; a
     * non-zero result ends the unit there (authentication) */
    al_txn_fn admit;
    /* the work: a result >= 0 keeps a write's changes, < 0 undoes them (and rebuilds srv->cal
     * when the work set c->cal_touched) */
    al_txn_fn run;
    /* NULL, or the write unit opts in to retries: when its run fails (< 0) after a statement
     * failed retryably (al_store_retryable: on PostgreSQL a deadlock with another replica's
     * batch, a serialization failure or a lock timeout), its savepoint is undone as for any
     * failure, it waits for its batch to end (never parked: that batch's other units hold
     * locks that may be part of the cycle, and its end frees them), pauses a few random
     * milliseconds, `again` forgets the run's answer on c, and it runs again from admit, up
     * to AL_TXN_RETRIES more times. Then it fails with AL_E_DB (500: the clients' keyed retry
     * handles it, as any 500), c's error naming the contention. HTTP calls opt in
     * (server/call.c). Background jobs (server/jobs.c's tick, the event stream's and the
     * webhooks' units) do not: a failed pass is not answered to anyone, and the next tick or
     * round does the work again from the database's state. */
    void (*again)(struct al_ctx *c, void *arg);
    void *arg;
};

/* Run `u` on `c` (c->srv is the server) as one unit of work. Returns what admit or run
 * returned when it is negative; else a negative code with reterr when the write could not
 * start its savepoint, or, when the batch it wrote to or read from failed to commit or its
 * commit could not be made durable (its changes are gone, or their fate is unknown: a
 * PostgreSQL connection lost), AL_E_FULL if the disk was full and AL_E_DB otherwise; else
 * run's result. A unit that ran after a failed batch had ended saw none of it and is not
 * failed by it. A unit with `again` may run more than once (above): the result is its last
 * run's. */
int al_txn_run(struct al_ctx *c, const struct al_txn_unit *u, struct al_err *reterr);

/* A unit that waits for its batch's commit without a thread blocked on it: an HTTP call whose
 * connection is suspended meanwhile. The caller fills `suspend`, `resume` and `arg`; the rest
 * is the group commit's. */
struct al_txn_park {
    /* called while the unit parks, with the group commit's done_lock held (so before
     * `resume`): stop serving the call (MHD_suspend_connection) */
    void (*suspend)(void *arg);
    /* called once, from the thread that finished the batch (the committer, or a unit whose
     * batch the database rolled back), without done_lock: the unit may be finished now
     * (al_txn_unpark); the park may be freed as soon as this is called */
    void (*resume)(void *arg);
    void *arg;
    uint64_t batch; /* the batch it waits for */
    bool saw;       /* it wrote to that batch, or read while it was open */
    int rc;         /* the unit's result so far */
    int lost;       /* set before `resume`: 0, or AL_E_FULL / AL_E_DB when its batch failed */
    bool gated;     /* a snapshot read parked by the read gate: resumed, it runs */
    struct al_txn_park *next;
};

/* As al_txn_run, but a unit that has to wait for its batch's commit parks instead of blocking
 * the thread: p->suspend is called, true is returned, and once the batch is finished
 * p->resume is called and al_txn_unpark gives the unit's result (as al_txn_run would have).
 * A snapshot read that the read gate holds back parks too (p->gated is then set): once resumed
 * it may run, and the caller runs it again with the same `p` (it does not park twice). A
 * write that runs again (`again`) does not park: it waits as in al_txn_run.
 * False when it did not park (a snapshot that ran, a batch already finished, a draining
 * server): its result in *rc. */
bool al_txn_run_parked(struct al_ctx *c, const struct al_txn_unit *u, struct al_txn_park *p,
                       int *rc, struct al_err *reterr);

/* The result of a unit that parked, after its p->resume: al_txn_run's. */
int al_txn_unpark(const struct al_txn_park *p, struct al_err *reterr);

/* No unit parks from now on (they wait as in al_txn_run, and reads are not gated);
 * returns once every parked unit has been resumed. Before the listener stops (libmicrohttpd cannot
 * stop with a connection suspended); the committer must be running. */
void al_txn_drain(struct al_srv *srv);

/* The group commit's condition variables, before any unit runs; al_txn_destroy after the
 * last. */
void al_txn_init(struct al_srv *srv);
void al_txn_destroy(struct al_srv *srv);

/* Start the committer thread. */
int al_txn_start(struct al_srv *srv, struct al_err *reterr);
/* After the HTTP threads and the clock: the committer commits what they left open, then ends.
 * Does nothing when it was not started. */
void al_txn_stop(struct al_srv *srv);

#endif
