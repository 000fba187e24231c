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
    pthread_cond_t work;
    /* committed, failed and nfailed change with both the lock and `done_lock` held; units wait
     * for their batch on `done` with only `done_lock` held */
    pthread_mutex_t done_lock;
    pthread_cond_t done;
    pthread_t committer;
    bool started; /* the committer thread runs */
};

/* How a unit of work holds the server. */
enum al_txn_kind {
    AL_TXN_SNAPSHOT, /* reads only srv->cal, under cal_rw for reading: no lock, no commit wait */
    AL_TXN_READ,     /* reads the store under the lock; returns after the commit of what it saw */
    AL_TXN_WRITE,    /* the lock, cal_rw for writing, one savepoint of the open batch */
};

/* A step of a unit of work, on the context of its HTTP call or job, with the unit's `arg`. */
typedef int (*al_txn_fn)(struct al_ctx *c, void *arg);

struct al_txn_unit {
    enum al_txn_kind kind;
    /* NULL, or run first: under the lock (without it for a snapshot), before any savepoint; a
     * non-zero result ends the unit there (authentication) */
    al_txn_fn admit;
    /* the work: a result >= 0 keeps a write's changes, < 0 undoes them (and rebuilds srv->cal
     * when the work set c->cal_touched) */
    al_txn_fn run;
    void *arg;
};

/* Run `u` on `c` (c->srv is the server) as one unit of work. Returns what admit or run
 * returned when it is negative; else a negative code with reterr when the write could not
 * start its savepoint, or, when the batch it wrote to or read from failed to commit (its
 * changes are gone), AL_E_FULL if the disk was full and AL_E_DB otherwise; else run's result.
 * A unit that ran after a failed batch had ended saw none of it and is not failed by it. */
int al_txn_run(struct al_ctx *c, const struct al_txn_unit *u, struct al_err *reterr);

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
