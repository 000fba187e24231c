/* txn.c — units of work (al_txn_run) and the group commit under them: joining the open batch
 * with a savepoint, leaving it (keeping or undoing the unit's changes), waiting for the
 * batch's fsync, and the committer thread that writes and syncs the batches. */
#include "server/txn.h"

#include "server/cal.h"
#include "server/http.h"
#include "server/metrics.h"

#include <sodium.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Rebuild srv->cal (the fleet, the calendar, the change feed's horizon) from the store, after
 * a rolled-back or lost transaction changed it. Under the lock, with cal_rw held for writing.
 * On failure the old copy stays (the store re-checks every hold anyway) and is marked stale:
 * the next write tries again. */
static void cal_rebuild(struct al_srv *srv)
{
    struct al_cal *fresh = NULL;
    struct al_err e = {0};
    if (al_cal_build(srv->store, al_srv_now(srv), &fresh, &e) != 0) {
        fprintf(stderr,
                "allot server: calendar rebuild failed: %s (tried again at the next write)\n",
                e.msg);
        srv->txn.stale = true;
        return;
    }
    al_cal_free(srv->cal);
    srv->cal = fresh;
    srv->txn.stale = false;
    srv->txn.reconnects = al_store_reconnects(srv->store); /* built on this connection */
}

/* Join the open batch (opening one when none is) and start the caller's savepoint. A copy
 * left stale by a lost batch, or by a connection opened again (the transactions it saw may
 * be gone with the old one), is rebuilt first, from the batch's view. */
static int join(struct al_srv *srv, struct al_err *reterr)
{
    struct al_txn *t = &srv->txn;
    if (!t->open) {
        int rc = al_store_begin(srv->store, reterr);
        if (rc != 0)
            return rc;
        t->open = true;
        t->batch++;
    }
    if (al_store_reconnects(srv->store) != t->reconnects) {
        fprintf(stderr, "allot server: the connection to the database was lost and opened "
                        "again: the in-memory copy is rebuilt from the database\n");
        t->reconnects = al_store_reconnects(srv->store);
        t->stale = true;
    }
    if (t->stale)
        cal_rebuild(srv);
    t->joins++;
    return al_store_savepoint(srv->store, reterr);
}

/* What the units of a failed batch answer: AL_E_FULL when the disk was full (`code`, the
 * store's code of the failure), else AL_E_DB. */
static int batch_code(int code)
{
    return code == AL_E_FULL ? AL_E_FULL : AL_E_DB;
}

/* Record that `batch` failed with `code` (batch_code's), with done_lock held. */
static void batch_failed(struct al_txn *t, uint64_t batch, int code)
{
    unsigned i = t->nfailed++ % 16;
    t->failed[i].batch = batch;
    t->failed[i].code = batch_code(code);
}

/* The code a unit that `saw` the finished batch `mine` fails with: AL_E_FULL or AL_E_DB when
 * that batch failed, else 0. With done_lock held. */
static int lost_code(const struct al_txn *t, uint64_t mine, bool saw)
{
    int rc = 0;
    for (unsigned i = 0; saw && i < t->nfailed && i < 16; i++)
        if (t->failed[i].batch == mine)
            rc = t->failed[i].code;
    return rc;
}

/* Take the parked units whose batch is finished off the list, each with its `lost` set. They
 * parked in the order of their batches (under the lock), so they are the list's head. With
 * done_lock held; the caller resumes them (resume_parked) once it has released it. */
static struct al_txn_park *take_finished(struct al_txn *t)
{
    struct al_txn_park *first = t->park_head, *last = NULL;
    for (struct al_txn_park *p = first; p && p->batch <= t->committed; p = p->next) {
        p->lost = lost_code(t, p->batch, p->saw);
        last = p;
    }
    if (!last)
        return NULL;
    t->park_head = last->next;
    if (!t->park_head)
        t->park_tail = NULL;
    last->next = NULL;
    return first;
}

/* Resume the units of `p` (take_finished's), without done_lock, then count them out. */
static void resume_parked(struct al_txn *t, struct al_txn_park *p)
{
    unsigned n = 0;
    while (p) {
        struct al_txn_park *next = p->next; /* p may be gone once resumed */
        p->resume(p->arg);
        p = next;
        n++;
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&t->done_lock);
    t->parked -= n;
    if (t->parked == 0 && t->draining)
        pthread_cond_broadcast(&t->done);
    pthread_mutex_unlock(&t->done_lock);
}

/* ---- the read gate ---- */

/* The monotonic clock in microseconds (the fsync's time, for server/metrics.h; the gate's
 * write window). */
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Do the writers share the server now: one waits for or holds the lock, or one left it less
 * than AL_TXN_WRITE_WINDOW_US ago (it is waiting for its fsync, and comes back)? With
 * gate_lock held. */
static bool shared(const struct al_txn *t, uint64_t now)
{
    return !t->gate_open && (t->writers > 0 || now - t->last_write_us < AL_TXN_WRITE_WINDOW_US);
}

/* May a read run now: always when the writers are away, else on one of the credits that the
 * writers' units earn it. With gate_lock held. */
static bool may_read(struct al_txn *t, uint64_t now)
{
    if (!shared(t, now))
        return true;
    if (t->credit == 0)
        return false;
    t->credit--;
    return true;
}

/* Take the parked reads that may run now off the list, first come first served; returns them
 * for gate_resume (which must run without gate_lock). With gate_lock held. */
static struct al_txn_park *gate_grant(struct al_txn *t)
{
    struct al_txn_park *first = t->read_head, *last = NULL;
    uint64_t now = t->read_head ? mono_us() : 0;
    for (struct al_txn_park *p = first; p && may_read(t, now); p = p->next)
        last = p;
    if (!last)
        return NULL;
    t->read_head = last->next;
    if (!t->read_head)
        t->read_tail = NULL;
    last->next = NULL;
    return first;
}

/* Resume the reads that gate_grant took: each runs on its connection's thread. */
static void gate_resume(struct al_txn_park *p)
{
    while (p) {
        struct al_txn_park *next = p->next; /* p may be gone once resumed */
        p->resume(p->arg);
        p = next;
    }
}

/* A unit comes to the server's lock (+1) or has left it (-1). Each that leaves earns the
 * reads AL_TXN_READS_PER_WRITE credits (up to a few units' worth: credits saved while no
 * read came must not let a burst of reads through later) and lets parked reads run on them. */
static void gate_writer(struct al_txn *t, int delta)
{
    struct al_txn_park *granted = NULL;
    pthread_mutex_lock(&t->gate_lock);
    if (delta > 0) {
        t->writers++;
    } else {
        t->writers--;
        t->last_write_us = mono_us();
        t->credit += AL_TXN_READS_PER_WRITE;
        if (t->credit > 4 * AL_TXN_READS_PER_WRITE)
            t->credit = 4 * AL_TXN_READS_PER_WRITE;
        granted = gate_grant(t);
    }
    pthread_mutex_unlock(&t->gate_lock);
    gate_resume(granted);
}

/* May the snapshot read of `p` run now? Else it is parked (its connection suspended, under
 * gate_lock so before any resume) until the writers earn it a credit or go away; the gate's
 * thread wakes for the latter. */
static bool gate_enter(struct al_txn *t, struct al_txn_park *p)
{
    bool now;
    pthread_mutex_lock(&t->gate_lock);
    now = !t->read_head && may_read(t, mono_us());
    if (!now) {
        p->gated = true;
        p->next = NULL;
        p->suspend(p->arg);
        if (t->read_tail) {
            t->read_tail->next = p;
        } else {
            t->read_head = p;
            pthread_cond_signal(&t->gate_wake);
        }
        t->read_tail = p;
    }
    pthread_mutex_unlock(&t->gate_lock);
    return now;
}

/* The gate's thread: while reads are parked, it lets them go once the writers have been away
 * for AL_TXN_WRITE_WINDOW_US (no unit left the lock to do it: the writers stopped, or their
 * batch's fsync is slow). Ends with the committer (al_txn_stop). */
static void *gate_main(void *arg)
{
    struct al_txn *t = arg;
    pthread_mutex_lock(&t->gate_lock);
    while (!t->gate_stop) {
        struct al_txn_park *granted;
        if (!t->read_head) {
            pthread_cond_wait(&t->gate_wake, &t->gate_lock);
            continue;
        }
        granted = gate_grant(t);
        if (!granted) {
            uint64_t until =
                (t->writers > 0 ? mono_us() : t->last_write_us) + AL_TXN_WRITE_WINDOW_US;
            struct timespec ts = {.tv_sec = (time_t)(until / 1000000u),
                                  .tv_nsec = (long)(until % 1000000u) * 1000L};
            pthread_cond_timedwait(&t->gate_wake, &t->gate_lock, &ts);
            continue;
        }
        pthread_mutex_unlock(&t->gate_lock);
        gate_resume(granted);
        pthread_mutex_lock(&t->gate_lock);
    }
    pthread_mutex_unlock(&t->gate_lock);
    return NULL;
}

static void gate_stop(struct al_txn *t)
{
    pthread_mutex_lock(&t->gate_lock);
    t->gate_stop = true;
    pthread_cond_signal(&t->gate_wake);
    pthread_mutex_unlock(&t->gate_lock);
    pthread_join(t->gater, NULL);
}

/* The batch's transaction ended without a commit (the database rolled it back after an
 * error, `code`, or the connection to it was lost: `why`, the failure): every unit in it
 * fails, and the in-memory copy is rebuilt (on PostgreSQL after reconnecting). */
static void batch_lost(struct al_srv *srv, int code, const char *why)
{
    struct al_txn *t = &srv->txn;
    struct al_txn_park *finished;
    fprintf(stderr, "allot server: batch %llu was rolled back by the database%s: %s\n",
            (unsigned long long)t->batch,
            code == AL_E_FULL ? " (the disk is full: writes fail until space is freed)" : "",
            why && *why ? why : al_strerror(code));
    al_store_rollback(srv->store);
    t->open = false;
    pthread_mutex_lock(&t->done_lock);
    batch_failed(t, t->batch, code);
    if (!t->syncing) /* else the committer marks it finished after the earlier batch's sync */
        t->committed = t->batch;
    pthread_cond_broadcast(&t->done);
    finished = take_finished(t);
    pthread_mutex_unlock(&t->done_lock);
    resume_parked(t, finished);
    cal_rebuild(srv);
}

/* End the savepoint of c's unit: keep it (the run's result `rc` >= 0) or undo it, rebuilding
 * the in-memory calendar when the undone work had changed it. Undoing it also releases the
 * row locks its statements took (PostgreSQL). */
static void leave(struct al_ctx *c, int rc)
{
    struct al_srv *srv = c->srv;
    struct al_err e = {0};
    if (rc >= 0 && (rc = al_store_release(srv->store, &e)) == 0)
        return;
    if (!al_store_in_tx(srv->store)) {
        batch_lost(srv, rc, e.msg[0] ? e.msg : c->err_msg);
        return;
    }
    al_store_rollback_to(srv->store);
    if (c->cal_touched)
        cal_rebuild(srv); /* reads the batch as it stands: consistent with the copy */
}

/* Called with the lock held; releases it, then waits until the caller's batch (the open one,
 * or the last one) is on disk, or, with `p`, parks p there unless that batch is finished
 * already or the server drains. Returns true when it parked; else *lost is 0, or AL_E_FULL or
 * AL_E_DB when the caller saw that batch and it failed (its changes are gone): a unit that
 * `wrote` to it, or any unit while it was open. A batch that failed before the caller came
 * was rolled back before it could see it. Returns without the lock. */
static bool wait_unlock(struct al_srv *srv, bool wrote, struct al_txn_park *p, int *lost)
{
    struct al_txn *t = &srv->txn;
    /* the open batch, or the last one, which may still be on its way to the disk */
    uint64_t mine = t->batch;
    bool saw = t->open || wrote;
    if (t->open)
        pthread_cond_signal(&t->work);
    /* wait on done_lock, not on lock: the woken units must not queue up on the writers' lock.
     * `committed` changes only with both held, and is tested again under done_lock below, so
     * a batch finished between the two is seen */
    pthread_mutex_unlock(&srv->lock);
    gate_writer(t, -1);
    pthread_mutex_lock(&t->done_lock);
    if (p && t->committed < mine && !t->draining) {
        *p = (struct al_txn_park){.suspend = p->suspend,
                                  .resume = p->resume,
                                  .arg = p->arg,
                                  .batch = mine,
                                  .saw = saw,
                                  .rc = p->rc};
        p->suspend(p->arg); /* under done_lock: before the committer can resume it */
        if (t->park_tail)
            t->park_tail->next = p;
        else
            t->park_head = p;
        t->park_tail = p;
        t->parked++;
        pthread_mutex_unlock(&t->done_lock);
        return true;
    }
    while (t->committed < mine)
        pthread_cond_wait(&t->done, &t->done_lock);
    *lost = lost_code(t, mine, saw);
    pthread_mutex_unlock(&t->done_lock);
    return false;
}

/* A unit's result `rc` once its batch is finished: the batch's failure (`lost`, wait_unlock's)
 * replaces a success. */
static int lost_result(int rc, int lost, struct al_err *reterr)
{
    if (lost == AL_E_FULL && rc >= 0)
        return al_err_set(reterr, AL_E_FULL,
                          "the server's disk is full: nothing of this call was saved; retry "
                          "once space is freed");
    if (lost != 0 && rc >= 0)
        return al_err_set(reterr, AL_E_DB,
                          "the transaction could not be committed, or its commit not made "
                          "durable: retry the call (with its Idempotency-Key)");
    return rc;
}

/* The committer is done with the batches up to `upto`; batch `failed` (0: none) failed with
 * `code` (its commit, or its sync): record it, wake the units waiting for them and resume
 * those parked for them. With the lock held, released while the parked units are resumed
 * (the next batch gathers meanwhile). */
static void batch_finished(struct al_srv *srv, uint64_t upto, uint64_t failed, int code)
{
    struct al_txn *t = &srv->txn;
    struct al_txn_park *finished;
    pthread_mutex_lock(&t->done_lock);
    if (failed)
        batch_failed(t, failed, code);
    t->committed = upto;
    pthread_cond_broadcast(&t->done);
    finished = take_finished(t);
    pthread_mutex_unlock(&t->done_lock);
    if (finished) {
        pthread_mutex_unlock(&srv->lock);
        resume_parked(t, finished);
        pthread_mutex_lock(&srv->lock);
    }
}

/* Make the committed batch `mine` durable, without the lock (taken again on return); its
 * time in *fsync_us. A failed fsync of the log (a -errno) leaves the disk state unknown (the
 * kernel may have dropped the pages, and a later fsync could report success: fsyncgate): the
 * server stops at once, and a restart reads what is on disk. PostgreSQL's own failure
 * (AL_E_DB: the sync connection lost, the server restarted or failed over) leaves only this
 * batch's fate unknown, the database consistent: the batch fails (its units answer 500, never
 * 2xx), the copy is rebuilt from the database, and the server goes on. Returns 0 or AL_E_DB. */
static int sync_batch(struct al_srv *srv, uint64_t mine, uint64_t *fsync_us)
{
    struct al_err e = {0};
    srv->txn.syncing = true;
    pthread_mutex_unlock(&srv->lock);
    uint64_t t0 = mono_us();
    int rc = al_store_sync(srv->store, &e);
    if (rc != 0 && rc != AL_E_DB) {
        fprintf(stderr,
                "allot server: %s; stopping (batch %llu may or may not be on disk; a restart "
                "recovers the database from what is)\n",
                e.msg, (unsigned long long)mine);
        abort();
    }
    *fsync_us = mono_us() - t0;
    pthread_mutex_lock(&srv->lock);
    srv->txn.syncing = false;
    if (rc != 0) {
        fprintf(stderr,
                "allot server: sync of batch %llu failed: %s; its calls fail (it may or may not "
                "be kept), the copy is rebuilt from the database\n",
                (unsigned long long)mine, e.msg);
        pthread_rwlock_wrlock(&srv->cal_rw);
        cal_rebuild(srv);
        pthread_rwlock_unlock(&srv->cal_rw);
    }
    return rc;
}

/* The committer, classic group commit: writes the open batch to the log (under the lock,
 * quick), then syncs it without the lock (sync_batch) while the next batch gathers every unit
 * that comes meanwhile; as soon as the sync returns (and units queued on the lock have
 * joined), the next batch goes. Units return only after their batch's sync. */
static void *committer_main(void *arg)
{
    struct al_srv *srv = arg;
    struct al_txn *t = &srv->txn;
    struct al_err e = {0};
    uint64_t counted = 0; /* t->joins when the last batch went (its units: the difference) */
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        while (!t->open && !t->stopping)
            pthread_cond_wait(&t->work, &srv->lock);
        if (!t->open)
            break;
        /* let units already queued on the lock join this batch: fewer, larger commits (each
         * commit rewrites every page it touched, and small ones fill the log fast) */
        for (int round = 0; round < 8; round++) {
            uint64_t seen = t->joins;
            pthread_mutex_unlock(&srv->lock);
            sched_yield();
            pthread_mutex_lock(&srv->lock);
            if (t->joins == seen)
                break;
        }
        uint64_t mine = t->batch, upto = mine, units = t->joins - counted, fsync_us = 0;
        counted = t->joins;
        t->open = false;
        int failed = al_store_commit(srv->store, &e);
        if (failed != 0) {
            fprintf(stderr, "allot server: commit of batch %llu failed: %s%s\n",
                    (unsigned long long)mine, e.msg,
                    failed == AL_E_FULL ? " (the disk is full: writes fail until space is freed)"
                                        : "");
            pthread_rwlock_wrlock(&srv->cal_rw);
            cal_rebuild(srv);
            pthread_rwlock_unlock(&srv->cal_rw);
        } else {
            failed = sync_batch(srv, mine, &fsync_us);
            /* batches after `mine` that are not open now were lost meanwhile: finished too */
            upto = t->open ? t->batch - 1 : t->batch;
        }
        al_metrics_commit(srv->metrics, units, fsync_us, failed != 0);
        batch_finished(srv, upto, failed ? mine : 0, failed);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* A read of the in-memory calendar only: under its read lock, beside the writers' work and
 * their commits (what it sees may include holds whose batch is still being synced). */
static int run_snapshot(struct al_ctx *c, const struct al_txn_unit *u)
{
    int rc;
    if (u->admit && (rc = u->admit(c, u->arg)) != 0)
        return rc;
    pthread_rwlock_rdlock(&c->srv->cal_rw);
    rc = u->run(c, u->arg);
    pthread_rwlock_unlock(&c->srv->cal_rw);
    return rc;
}

/* The run of `u` failed (`rc`) after a statement failed retryably, on try `tries` (0: the
 * first run): *again when it may run once more; else it fails with AL_E_DB, c's error naming
 * the contention. Returns the run's result. */
static int retry_verdict(struct al_ctx *c, int rc, unsigned tries, bool *again)
{
    char why[sizeof c->err_msg];
    snprintf(why, sizeof why, "%s", c->err_msg[0] ? c->err_msg : al_strerror(rc));
    if (tries < AL_TXN_RETRIES) {
        fprintf(stderr,
                "allot server: a unit met a concurrent transaction (%s): undone, retried after "
                "its batch (retry %u of %u)\n",
                why, tries + 1, AL_TXN_RETRIES);
        *again = true;
        return rc;
    }
    fprintf(stderr, "allot server: a unit gave up after %u runs on concurrent transactions (%s)\n",
            tries + 1, why);
    return al_http_fail(c, AL_E_DB, NULL,
                        "the database refused this call %u times on concurrent changes (%s); "
                        "nothing of it was kept: retry it",
                        tries + 1, why);
}

/* A write: one savepoint in the open batch, kept or undone by the run's result; *again when
 * it failed retryably and may run once more (try `tries`). Under the lock. */
static int run_write(struct al_ctx *c, const struct al_txn_unit *u, unsigned tries, bool *again,
                     struct al_err *reterr)
{
    struct al_srv *srv = c->srv;
    int rc;
    pthread_rwlock_wrlock(&srv->cal_rw);
    if ((rc = join(srv, reterr)) == 0) {
        rc = u->run(c, u->arg);
        if (rc < 0 && u->again && al_store_retryable(srv->store))
            rc = retry_verdict(c, rc, tries, again);
        leave(c, rc);
    }
    pthread_rwlock_unlock(&srv->cal_rw);
    return rc;
}

/* The unit's work, under the lock for all but a snapshot: admit, then run (a write in its
 * savepoint, on try `tries`, *again when it is to run once more). Returns its result; the
 * lock stays held for the caller's wait_unlock. */
static int run_locked(struct al_ctx *c, const struct al_txn_unit *u, unsigned tries, bool *again,
                      struct al_err *reterr)
{
    int rc;
    *again = false;
    gate_writer(&c->srv->txn, +1);
    pthread_mutex_lock(&c->srv->lock);
    if (u->admit && (rc = u->admit(c, u->arg)) != 0)
        return rc;
    return u->kind == AL_TXN_WRITE ? run_write(c, u, tries, again, reterr) : u->run(c, u->arg);
}

/* Before try `tries` + 1 of a unit: a random pause that grows with the tries (1 to 2, 3, 5,
 * 9 ms), so that two replicas' units that met do not meet again in step, then the unit's
 * `again`. */
static void retry_pause(struct al_ctx *c, const struct al_txn_unit *u, unsigned tries)
{
    uint32_t us = 1000u + randombytes_uniform(1000u << tries);
    nanosleep(&(struct timespec){.tv_nsec = (long)us * 1000L}, NULL);
    u->again(c, u->arg);
}

/* A unit that is not a snapshot, from try `tries` on: under the lock, then waiting for its
 * batch, run again while it fails retryably. */
static int run_waited(struct al_ctx *c, const struct al_txn_unit *u, unsigned tries,
                      struct al_err *reterr)
{
    for (;; tries++) {
        bool again;
        int lost = 0, rc = run_locked(c, u, tries, &again, reterr);
        /* what the unit wrote or read may still be uncommitted: return after the commit */
        wait_unlock(c->srv, u->kind == AL_TXN_WRITE, NULL, &lost);
        if (!again)
            return lost_result(rc, lost, reterr);
        retry_pause(c, u, tries);
    }
}

int al_txn_run(struct al_ctx *c, const struct al_txn_unit *u, struct al_err *reterr)
{
    if (u->kind == AL_TXN_SNAPSHOT)
        return run_snapshot(c, u);
    return run_waited(c, u, 0, reterr);
}

bool al_txn_run_parked(struct al_ctx *c, const struct al_txn_unit *u, struct al_txn_park *p,
                       int *rc, struct al_err *reterr)
{
    int lost = 0;
    bool again;
    if (u->kind == AL_TXN_SNAPSHOT) {
        if (!p->gated && !gate_enter(&c->srv->txn, p))
            return true; /* parked; resumed when it may run */
        p->gated = false;
        *rc = run_snapshot(c, u);
        return false;
    }
    p->rc = run_locked(c, u, 0, &again, reterr);
    if (again) { /* rare: it waits for its batch and runs again without parking */
        wait_unlock(c->srv, true, NULL, &lost);
        retry_pause(c, u, 0);
        *rc = run_waited(c, u, 1, reterr);
        return false;
    }
    if (wait_unlock(c->srv, u->kind == AL_TXN_WRITE, p, &lost))
        return true;
    *rc = lost_result(p->rc, lost, reterr);
    return false;
}

int al_txn_unpark(const struct al_txn_park *p, struct al_err *reterr)
{
    return lost_result(p->rc, p->lost, reterr);
}

void al_txn_drain(struct al_srv *srv)
{
    struct al_txn *t = &srv->txn;
    struct al_txn_park *granted;
    pthread_mutex_lock(&t->gate_lock);
    t->gate_open = true; /* every parked read may run, and no read parks any more */
    granted = gate_grant(t);
    pthread_mutex_unlock(&t->gate_lock);
    gate_resume(granted);
    pthread_mutex_lock(&t->done_lock);
    t->draining = true;
    while (t->parked > 0)
        pthread_cond_wait(&t->done, &t->done_lock);
    pthread_mutex_unlock(&t->done_lock);
}

void al_txn_init(struct al_srv *srv)
{
    pthread_mutex_init(&srv->txn.gate_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the gate waits for mono_us() times */
    pthread_cond_init(&srv->txn.gate_wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&srv->txn.work, NULL);
    pthread_cond_init(&srv->txn.done, NULL);
    pthread_mutex_init(&srv->txn.done_lock, NULL);
}

void al_txn_destroy(struct al_srv *srv)
{
    pthread_mutex_destroy(&srv->txn.gate_lock);
    pthread_cond_destroy(&srv->txn.gate_wake);
    pthread_cond_destroy(&srv->txn.work);
    pthread_cond_destroy(&srv->txn.done);
    pthread_mutex_destroy(&srv->txn.done_lock);
}

int al_txn_start(struct al_srv *srv, struct al_err *reterr)
{
    if (pthread_create(&srv->txn.gater, NULL, gate_main, &srv->txn) != 0)
        return al_err_set(reterr, AL_E_INTERNAL, "cannot start the read gate's thread");
    if (pthread_create(&srv->txn.committer, NULL, committer_main, srv) != 0) {
        gate_stop(&srv->txn);
        return al_err_set(reterr, AL_E_INTERNAL, "cannot start the committer thread");
    }
    srv->txn.started = true;
    return 0;
}

void al_txn_stop(struct al_srv *srv)
{
    if (!srv->txn.started)
        return;
    pthread_mutex_lock(&srv->lock);
    srv->txn.stopping = true;
    pthread_cond_signal(&srv->txn.work);
    pthread_mutex_unlock(&srv->lock);
    pthread_join(srv->txn.committer, NULL);
    gate_stop(&srv->txn);
    srv->txn.started = false;
}
