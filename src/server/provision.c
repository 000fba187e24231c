/* provision.c — reservations that wait for their MIG layout, what a change's end does to the
 * reservations it serves, and their allocations' MIG device UUIDs kept to those reported
 * after instances are made again (see provision.h). */
#include "server/provision.h"

#include "core/state.h"
#include "server/flow.h"
#include "server/miglayout.h"
#include "server/migplan.h"

#include <stdio.h>
#include <string.h>

/* The row of GPU `id` in `gpus`, or NULL. */
static json_t *gpu_row(json_t *gpus, const char *id)
{
    json_t *g;
    size_t i;
    json_array_foreach(gpus, i, g)
    {
        if (id && jstr(g, "id") && strcmp(jstr(g, "id"), id) == 0)
            return g;
    }
    return NULL;
}

/* The instance at p among `instances` (of model m), or NULL. */
static json_t *instance_at(json_t *instances, const struct al_gpu_model *m, struct al_placement p)
{
    json_t *x;
    size_t i;
    json_array_foreach(instances, i, x)
    {
        struct al_placement q;
        if (al_miglayout_placement(x, m, &q, NULL) == 0 && q.profile == p.profile &&
            q.start == p.start)
            return x;
    }
    return NULL;
}

/* The instance allocation `a` holds on model m: 0, 1 for a whole GPU, -1 when unreadable. */
static int alloc_placement(json_t *a, const struct al_gpu_model *m, struct al_placement *ret)
{
    json_t *su = json_object_get(a, "start_unit");
    if (!jstr(a, "profile"))
        return 1;
    int pi = al_catalog_profile_index(m, jstr(a, "profile"));
    if (pi < 0 || pi >= AL_MIG_MAX_PROFILES || !json_is_integer(su) || json_integer_value(su) < 0 ||
        json_integer_value(su) >= (json_int_t)m->units)
        return -1;
    *ret = (struct al_placement){(uint8_t)pi, (uint8_t)json_integer_value(su)};
    return 0;
}

/* Whether allocation `a` lacks its instance on GPU row g (0 when g is not configured by allot);
 * gives `a` the instance's mig_uuid when it is there. */
static bool alloc_missing(json_t *a, json_t *g)
{
    struct al_layout l;
    struct al_placement p;
    bool mig;
    if (!g || al_miglayout_observed(g, &l, &mig, NULL) != 0)
        return false;
    int k = alloc_placement(a, l.model, &p);
    if (k != 0)
        return k == 1 && mig;
    if (!mig || !al_miglayout_has(&l, p))
        return true;
    json_t *x =
        instance_at(json_object_get(json_object_get(g, "observed"), "instances"), l.model, p);
    if (!jstr(a, "mig_uuid") && jstr(x, "uuid"))
        json_object_set_new(a, "mig_uuid", json_string(jstr(x, "uuid")));
    return false;
}

/* al_provision_missing, leaving out the allocations on GPU `skip` (NULL: none). */
static int missing(struct al_ctx *c, json_t **gpus, json_t *r, const char *skip)
{
    json_t *allocs = json_object_get(r, "allocations"), *a;
    size_t i;
    int miss = 0;
    if (json_array_size(allocs) == 0)
        return 0;
    int rc = al_migplan_gpus(c, gpus);
    if (rc)
        return rc;
    json_array_foreach(allocs, i, a)
    {
        const char *gpu = jstr(a, "gpu");
        if (!(skip && gpu && strcmp(gpu, skip) == 0) && alloc_missing(a, gpu_row(*gpus, gpu)))
            miss = 1;
    }
    return miss;
}

int al_provision_missing(struct al_ctx *c, json_t **gpus, json_t *r)
{
    return missing(c, gpus, r, NULL);
}

/* Whether change document ch serves reservation `rsv`. */
static bool serves(json_t *ch, const char *rsv)
{
    json_t *s;
    size_t i;
    json_array_foreach(json_object_get(ch, "serves"), i, s)
    {
        if (jstr(s, "reservation") && strcmp(jstr(s, "reservation"), rsv) == 0)
            return true;
    }
    return false;
}

/* The open change (planned, approved, applying) serving reservation `rsv`, into id (cap
 * bytes; "" when none). */
static int open_change_of(struct al_ctx *c, const char *rsv, char *id, size_t cap)
{
    json_t *all = NULL, *ch;
    struct al_err e = {0};
    size_t i;
    id[0] = '\0';
    int rc = al_store_migchange_by_rsv(c->srv->store, rsv, &all, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(all, i, ch)
    {
        const char *st = jstr(ch, "state");
        if (!id[0] && st && serves(ch, rsv) &&
            (!strcmp(st, "planned") || !strcmp(st, "approved") || !strcmp(st, "applying")))
            snprintf(id, cap, "%s", jstr(ch, "id") ? jstr(ch, "id") : "");
    }
    json_decref(all);
    return 0;
}

int al_provision_start(struct al_ctx *c, json_t *r)
{
    char id[AL_HTTP_ID_LEN];
    int rc = open_change_of(c, jstr(r, "id"), id, sizeof id);
    if (rc)
        return rc;
    json_object_set_new(r, "provisioning", json_pack("{s:s?}", "change", id[0] ? id : NULL));
    return al_flow_rsv_step(c, r, AL_RSV_EV_PROVISION,
                            json_pack("{s:s?}", "change", id[0] ? id : NULL));
}

int al_provision_ready(struct al_ctx *c, json_t *r, const char *change)
{
    json_t *pv = json_object_get(r, "provisioning");
    if (!json_is_object(pv)) {
        pv = json_object();
        json_object_set_new(r, "provisioning", pv);
    }
    if (change)
        json_object_set_new(pv, "change", json_string(change));
    json_object_set_new(pv, "state", json_string("ready"));
    json_object_set_new(pv, "at", al_time_json(c->now));
    return al_flow_rsv_step(c, r, AL_RSV_EV_READY, json_pack("{s:s?}", "change", change));
}

static bool is_state(json_t *r, enum al_rsv_state s)
{
    enum al_rsv_state now;
    return al_state_rsv_parse(jstr(r, "state"), &now) == 0 && now == s;
}

static bool listed(json_t *ids, const char *id)
{
    json_t *x;
    size_t i;
    json_array_foreach(ids, i, x)
    {
        if (strcmp(json_string_value(x), id) == 0)
            return true;
    }
    return false;
}

int al_provision_planned(struct al_ctx *c, const char *id, json_t *ids)
{
    json_t *x;
    size_t i;
    json_array_foreach(ids, i, x)
    {
        json_t *r = NULL;
        struct al_err e = {0};
        int rc = al_store_reservation_get(c->srv->store, json_string_value(x), &r, &e);
        if (rc)
            return al_http_fail_err(c, rc, &e);
        if (is_state(r, AL_RSV_PROVISIONING)) {
            json_object_set_new(r, "provisioning", json_pack("{s:s}", "change", id));
            rc = al_flow_rsv_save(c, r, false);
        }
        json_decref(r);
        if (rc)
            return rc;
    }
    return 0;
}

/* Reservation r served by applied change ch: its allocations on the GPU get the UUIDs of
 * `instances`; it becomes active when it was provisioning and lacks nothing elsewhere. */
static int served_applied(struct al_ctx *c, json_t *ch, json_t *instances, json_t *r, json_t **gpus)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(ch, "model"));
    const char *gpu = jstr(ch, "gpu");
    json_t *a;
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        struct al_placement p;
        json_t *x;
        if (m && jstr(a, "gpu") && strcmp(jstr(a, "gpu"), gpu) == 0 &&
            alloc_placement(a, m, &p) == 0 && (x = instance_at(instances, m, p)) && jstr(x, "uuid"))
            json_object_set_new(a, "mig_uuid", json_string(jstr(x, "uuid")));
    }
    if (is_state(r, AL_RSV_PROVISIONING) && (rc = missing(c, gpus, r, gpu)) == 0)
        rc = al_provision_ready(c, r, jstr(ch, "id"));
    else if (!is_state(r, AL_RSV_PROVISIONING) && json_object_get(r, "provisioning"))
        /* an earlier change's failure it was told of is over */
        json_object_set_new(r, "provisioning",
                            json_pack("{s:s?,s:s,s:o}", "change", jstr(ch, "id"), "state",
                                      "applied", "at", al_time_json(c->now)));
    if (rc == 0 || rc == 1)
        rc = al_flow_rsv_save(c, r, false);
    return rc;
}

/* Reservation r served by change ch, which failed with `error`. */
static int served_failed(struct al_ctx *c, json_t *ch, const char *error, json_t *r)
{
    if (!is_state(r, AL_RSV_SCHEDULED) && !is_state(r, AL_RSV_PROVISIONING))
        return 0;
    json_object_set_new(
        r, "provisioning",
        json_pack("{s:s,s:s,s:s}", "change", jstr(ch, "id"), "state", "failed", "error", error));
    return al_flow_rsv_save(c, r, false);
}

/* Each reservation ch serves, once, that has not ended: applied (instances) or failed (error). */
static int each_served(struct al_ctx *c, json_t *ch, json_t *instances, const char *error,
                       json_t *ids)
{
    json_t *s, *gpus = NULL;
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(ch, "serves"), i, s)
    {
        const char *id = jstr(s, "reservation");
        json_t *r = NULL;
        struct al_err e = {0};
        if (!id || listed(ids, id))
            continue;
        json_array_append_new(ids, json_string(id));
        if ((rc = al_store_reservation_get(c->srv->store, id, &r, &e)) != 0) {
            rc = rc == AL_E_NOTFOUND ? 0 : al_http_fail_err(c, rc, &e);
        } else if (!is_state(r, AL_RSV_ENDED) && !is_state(r, AL_RSV_CANCELLED)) {
            rc =
                error ? served_failed(c, ch, error, r) : served_applied(c, ch, instances, r, &gpus);
        }
        json_decref(r);
        if (rc < 0)
            break;
    }
    json_decref(gpus);
    return rc < 0 ? rc : 0;
}

int al_provision_applied(struct al_ctx *c, json_t *ch, json_t *instances, json_t *ids)
{
    return each_served(c, ch, instances, NULL, ids);
}

int al_provision_failed(struct al_ctx *c, json_t *ch, const char *error, json_t *ids)
{
    return each_served(c, ch, NULL, error ? error : "failed", ids);
}

/* ---- MIG device UUIDs after a reset ---- */

/* Does `insts` (observed instances) list MIG device `uuid`? */
static bool has_uuid(json_t *insts, const char *uuid)
{
    json_t *x;
    size_t i;
    json_array_foreach(insts, i, x)
    {
        if (jstr(x, "uuid") && strcmp(jstr(x, "uuid"), uuid) == 0)
            return true;
    }
    return false;
}

/* Does GPU g's observation show a MIG device UUID that `was` (its previous version; NULL: none)
 * did not? The usual heartbeat does not: its UUIDs are the last report's. */
static bool new_uuids(json_t *was, json_t *g)
{
    json_t *now = json_object_get(json_object_get(g, "observed"), "instances");
    json_t *before = json_object_get(json_object_get(was, "observed"), "instances"), *x;
    size_t i;
    json_array_foreach(now, i, x)
    {
        const char *u = jstr(x, "uuid");
        if (u && u[0] && !has_uuid(before, u))
            return true;
    }
    return false;
}

/* Reservation `id`, when scheduled, provisioning or active: each allocation on GPU g with a
 * mig_uuid other than that of its instance in g's observation takes the observed one; one write
 * when any did. */
static int rsv_uuids(struct al_ctx *c, const char *id, json_t *g)
{
    const struct al_gpu_model *m = al_catalog_find(jstr(g, "model") ? jstr(g, "model") : "");
    json_t *insts = json_object_get(json_object_get(g, "observed"), "instances");
    json_t *r = NULL, *a;
    struct al_err e = {0};
    bool changed = false;
    size_t i;
    int rc = al_store_reservation_get(c->srv->store, id, &r, &e);
    if (rc)
        return rc == AL_E_NOTFOUND ? 0 : al_http_fail_err(c, rc, &e);
    if (!m || !(is_state(r, AL_RSV_SCHEDULED) || is_state(r, AL_RSV_PROVISIONING) ||
                is_state(r, AL_RSV_ACTIVE)))
        goto out;
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        struct al_placement p;
        const char *had = jstr(a, "mig_uuid"), *now;
        if (!had || !jstr(a, "gpu") || strcmp(jstr(a, "gpu"), jstr(g, "id")) != 0 ||
            alloc_placement(a, m, &p) != 0)
            continue;
        now = jstr(instance_at(insts, m, p), "uuid");
        if (now && now[0] && strcmp(had, now) != 0) {
            json_object_set_new(a, "mig_uuid", json_string(now));
            changed = true;
        }
    }
    if (changed)
        rc = al_flow_rsv_save(c, r, false);
out:
    json_decref(r);
    return rc;
}

int al_provision_uuids(struct al_ctx *c, json_t *old, json_t *now)
{
    json_t *g;
    size_t i;
    json_array_foreach(json_object_get(now, "gpus"), i, g)
    {
        json_t *owners = NULL, *o;
        struct al_err e = {0};
        size_t k;
        const char *id = jstr(g, "id");
        if (!id || !json_is_object(json_object_get(g, "observed")) ||
            !new_uuids(gpu_row(json_object_get(old, "gpus"), id), g))
            continue;
        int rc = al_store_gpu_holders(c->srv->store, NULL, id, c->now, &owners, &e);
        if (rc)
            return al_http_fail_err(c, rc, &e);
        json_array_foreach(owners, k, o)
        {
            const char *rsv = json_string_value(o);
            if (rc == 0 && rsv && strncmp(rsv, "rsv_", 4) == 0)
                rc = rsv_uuids(c, rsv, g);
        }
        json_decref(owners);
        if (rc)
            return rc;
    }
    return 0;
}
