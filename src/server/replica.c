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

/* One row {gpu, node} of the change feed into the copy: a node with its GPUs, or a GPU. */
static int apply_change(struct al_ctx *c, json_t *ch, struct al_err *e)
{
    const char *node = json_string_value(json_object_get(ch, "node"));
    const char *gpu = json_string_value(json_object_get(ch, "gpu"));
    if (node)
        return al_cal_reload_node(c->srv->cal, c->srv->store, node, c->now, e);
    return gpu ? al_cal_reload_gpu(c->srv->cal, c->srv->store, gpu, c->now, e) : 0;
}

int al_replica_refresh(struct al_ctx *c)
{
    struct al_cal *cal = c->srv->cal;
    struct al_err e = {0};
    json_t *changes = NULL, *ch;
    size_t i;
    int rc = 0;
    if (!al_store_replicated(c->srv->store))
        return 0;
    if (!cal->feed_at)
        cal->feed_at = mono_s();
    if (mono_s() - cal->feed_at > AL_REPLICA_FEED_STALE_S)
        return rebuild(c); /* the feed may have been pruned past this copy's horizon */
    if ((rc = al_store_changes_since(c->srv->store, &cal->feed_h, &changes, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(changes, i, ch)
    {
        if ((rc = apply_change(c, ch, &e)) < 0)
            break;
    }
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
    for (size_t i = 0; i < n; i++)
        if (gpus[i] &&
            (rc = al_cal_reload_gpu(c->srv->cal, c->srv->store, gpus[i], c->now, &e)) != 0)
            return al_http_fail_err(c, rc, &e);
    return 0;
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
