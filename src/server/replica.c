/* replica.c — several server replicas on one PostgreSQL: the clock's lock, a sale's GPU locks
 * with their holds re-read into the calendar, and the change feed applied to the in-memory
 * copy (server/replica.h). Every function returns at once on SQLite, where the server is the
 * only writer. */
#include "server/replica.h"

#include "server/cal.h"
#include "store/store_replica.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

/* Seconds of the monotonic clock (the feed's age: a wall clock may step). */
static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

int al_replica_clock(struct al_ctx *c)
{
    struct al_err e = {0};
    struct al_store *s = c->srv->store;
    int rc = al_store_clock_lock(s, &e), pr;
    /* the holder's housekeeping: nothing on SQLite, which has no feed */
    if (rc == 1 && (pr = al_store_changes_prune(s, AL_REPLICA_FEED_KEEP_S, &e)) != 0)
        rc = pr;
    return rc < 0 ? al_http_fail_err(c, rc, &e) : rc;
}

/* The whole copy built again from the store (its horizon with it). */
static int rebuild(struct al_ctx *c)
{
    struct al_cal *fresh = NULL;
    struct al_err e = {0};
    int rc = al_cal_build(c->srv->store, c->now, &fresh, &e);
    if (rc != 0)
        return al_http_fail_err(c, rc, &e);
    al_cal_free(c->srv->cal);
    c->srv->cal = fresh;
    return 0;
}

/* The rows {gpu, node} of the change feed into the copy, each node and each GPU once, in two
 * steps: every node named (a node's row, or a GPU row of it: its GPUs come with it) reloaded
 * once, then the holds of the GPUs named alone (a hold's row) in one read. A node with 8 GPUs
 * registering names itself 9 times; one hold's GPU may be named by several rows too. */
static int apply_changes(struct al_ctx *c, json_t *changes, struct al_err *e)
{
    json_t *nodes = json_object(), *ch, *v;
    const char **gpus = calloc(json_array_size(changes) + 1, sizeof *gpus), *name;
    size_t i, ngpus = 0;
    int rc = 0;
    if (!nodes || !gpus) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(changes, i, ch)
    {
        const char *node = json_string_value(json_object_get(ch, "node"));
        const char *gpu = json_string_value(json_object_get(ch, "gpu"));
        if (node && json_object_set_new(nodes, node, json_true()) != 0) {
            rc = al_err_set(e, AL_E_NOMEM, "out of memory");
            goto out;
        }
        if (!node && gpu)
            gpus[ngpus++] = gpu;
    }
    json_object_foreach(nodes, name, v)
    {
        if ((rc = al_cal_reload_node(c->srv->cal, c->srv->store, name, c->now, e)) < 0)
            goto out;
    }
    if (ngpus > 0)
        rc = al_cal_reload_gpus(c->srv->cal, c->srv->store, gpus, ngpus, c->now, e);
out:
    free(gpus);
    json_decref(nodes);
    return rc;
}

int al_replica_refresh(struct al_ctx *c)
{
    struct al_cal *cal = c->srv->cal;
    struct al_err e = {0};
    json_t *changes = NULL;
    int rc = 0;
    if (!al_store_replicated(c->srv->store))
        return 0;
    if (!cal->feed_at)
        cal->feed_at = mono_s();
    if (mono_s() - cal->feed_at > AL_REPLICA_FEED_STALE_S)
        return rebuild(c); /* the feed may have been pruned past this copy's horizon */
    if ((rc = al_store_changes_since(c->srv->store, &cal->feed_h, &changes, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    rc = apply_changes(c, changes, &e);
    json_decref(changes);
    if (rc < 0) /* half applied: the next refresh starts from a whole copy */
        return rebuild(c) ? rc : al_http_fail_err(c, rc, &e);
    cal->feed_at = mono_s();
    return 0;
}

/* Lock the rows of GPUs `gpus`; reload them into the calendar too when `reload`. */
static int lock(struct al_ctx *c, const char *const *gpus, size_t n, bool reload)
{
    struct al_err e = {0};
    int rc;
    if (!al_store_replicated(c->srv->store) || n == 0)
        return 0;
    if ((rc = al_store_gpu_lock(c->srv->store, gpus, n, c->now, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    if (!reload)
        return 0;
    /* under the row locks, the store's holds of these GPUs are final until this commit: every
     * writer of holds takes them first */
    c->cal_touched = true;
    rc = al_cal_reload_gpus(c->srv->cal, c->srv->store, gpus, n, c->now, &e);
    return rc != 0 ? al_http_fail_err(c, rc, &e) : 0;
}

/* lock() for the GPUs of doc's "allocations". */
static int lock_doc(struct al_ctx *c, json_t *doc, bool reload)
{
    json_t *allocs = json_object_get(doc, "allocations"), *a;
    size_t n = json_array_size(allocs), i;
    const char **ids;
    if (!al_store_replicated(c->srv->store) || n == 0)
        return 0;
    if (!(ids = calloc(n, sizeof *ids)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_array_foreach(allocs, i, a) ids[i] = json_string_value(json_object_get(a, "gpu"));
    int rc = lock(c, ids, n, reload);
    free(ids);
    return rc;
}

int al_replica_sale_lock(struct al_ctx *c, const char *const *gpus, size_t n)
{
    return lock(c, gpus, n, true);
}

int al_replica_sale_lock_doc(struct al_ctx *c, json_t *doc)
{
    return lock_doc(c, doc, true);
}

int al_replica_lock_gpus(struct al_ctx *c, const char *const *gpus, size_t n)
{
    return lock(c, gpus, n, false);
}

int al_replica_lock_doc(struct al_ctx *c, json_t *doc)
{
    return lock_doc(c, doc, false);
}
