/* cal.c — building the server's in-memory fleet and calendar from the store, and mapping the
 * store's string ids (GPUs, quotes, reservations) to the core's dense ids. */
#include "server/cal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAL_ORIGIN_BACK (86400)

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Put fleet id g into the table, which has room. */
static void slots_insert(struct al_cal *c, uint32_t g)
{
    if (!c->slots)
        return;
    size_t i = hash_str(c->gpu_ids[g]) & (c->nslots - 1);
    while (c->slots[i])
        i = (i + 1) & (c->nslots - 1);
    c->slots[i] = g + 1;
}

/* Put fleet id g into the table, doubling it first when it would be over half full. */
static int slots_put(struct al_cal *c, uint32_t g)
{
    if (((size_t)g + 1) * 2 > c->nslots) {
        size_t n = c->nslots ? c->nslots * 2 : 1024, oldn = c->nslots;
        uint32_t *old = c->slots, *fresh = calloc(n, sizeof *fresh);
        if (!fresh)
            return AL_E_NOMEM;
        c->slots = fresh;
        c->nslots = n;
        for (size_t i = 0; i < oldn; i++)
            if (old[i])
                slots_insert(c, old[i] - 1);
        free(old);
    }
    slots_insert(c, g);
    return 0;
}

int al_cal_gpu(const struct al_cal *c, const char *gpu_id)
{
    if (!c->nslots || !gpu_id)
        return -1;
    for (size_t i = hash_str(gpu_id) & (c->nslots - 1); c->slots[i]; i = (i + 1) & (c->nslots - 1))
        if (strcmp(c->gpu_ids[c->slots[i] - 1], gpu_id) == 0)
            return (int)(c->slots[i] - 1);
    return -1;
}

const char *al_cal_gpu_id(const struct al_cal *c, uint32_t g)
{
    return g < c->ngpu_ids ? c->gpu_ids[g] : NULL;
}

const char *al_cal_gpu_uuid(const struct al_cal *c, uint32_t g)
{
    return g < c->ngpu_ids && c->uuids[g] ? c->uuids[g] : "";
}

struct al_owner al_cal_owner(const char *id)
{
    struct al_owner o = {0, AL_OWNER_RESERVATION};
    const char *us = id ? strchr(id, '_') : NULL;
    if (id && strncmp(id, "qte_", 4) == 0)
        o.kind = AL_OWNER_TENTATIVE;
    /* ids are prefix_ + 16 hex digits (time, random): 56 of their 64 bits are plenty */
    if (us)
        o.id = strtoull(us + 1, NULL, 16) & AL_OWNER_ID_MAX;
    return o;
}

static int node_id(struct al_cal *c, const char *name, const char *zone, struct al_err *e)
{
    int n = al_fleet_find_node(c->fleet, name);
    if (n >= 0)
        return n;
    return al_fleet_add_node(c->fleet, name, zone, NULL, NULL, e);
}

/* Room for fleet id `gid` in the id and uuid arrays. */
static int ensure_room(struct al_cal *c, size_t gid)
{
    if (gid < c->cap)
        return 0;
    size_t cap = c->cap ? c->cap * 2 : 1024;
    char **ids = realloc(c->gpu_ids, cap * sizeof *ids);
    if (ids)
        c->gpu_ids = ids;
    char **uu = realloc(c->uuids, cap * sizeof *uu);
    if (uu)
        c->uuids = uu;
    if (!ids || !uu)
        return AL_E_NOMEM;
    c->cap = cap;
    return 0;
}

/* A new fleet GPU for store GPU `id`. No uuid goes to the fleet: its uniqueness check scans
 * every GPU, and the store's UNIQUE constraint already guarantees it; the server keeps the
 * uuids itself. Returns the fleet id or a negative code. */
static int add_gpu(struct al_cal *c, int nid, const char *id, const struct al_gpu_model *m,
                   json_t *g, enum al_pool pool, struct al_err *e)
{
    int gid =
        al_fleet_add_gpu(c->fleet, (uint32_t)nid, m,
                         (unsigned)json_integer_value(json_object_get(g, "index")), "", pool, e);
    if (gid < 0)
        return gid;
    if (ensure_room(c, (size_t)gid) != 0)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    c->uuids[gid] = NULL;
    if (!(c->gpu_ids[gid] = strdup(id)))
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    c->ngpu_ids = (size_t)gid + 1;
    if (slots_put(c, (uint32_t)gid) != 0)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    return gid;
}

static int set_uuid(struct al_cal *c, int gid, const char *uuid, struct al_err *e)
{
    if (!uuid)
        uuid = "";
    if (!c->uuids)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    if (c->uuids[gid] && strcmp(c->uuids[gid], uuid) == 0)
        return 0;
    char *u = strdup(uuid);
    if (!u)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    free(c->uuids[gid]);
    c->uuids[gid] = u;
    return 0;
}

/* Add or update one GPU of node `nid` from its store JSON. */
static int sync_gpu(struct al_cal *c, int nid, json_t *g, struct al_err *e)
{
    const char *id = json_string_value(json_object_get(g, "id"));
    const struct al_gpu_model *m = al_catalog_find(json_string_value(json_object_get(g, "model")));
    const char *pname = json_string_value(json_object_get(g, "pool"));
    enum al_pool pool =
        pname && strcmp(pname, "general") == 0 ? AL_POOL_GENERAL : AL_POOL_DEDICATED;
    if (!m || !id)
        return al_err_set(e, AL_E_INVAL, "GPU %s has an unknown model", id ? id : "?");
    int gid = al_cal_gpu(c, id);
    if (gid < 0 && (gid = add_gpu(c, nid, id, m, g, pool, e)) < 0)
        return gid;
    int rc = set_uuid(c, gid, json_string_value(json_object_get(g, "uuid")), e);
    if (rc)
        return rc;
    al_fleet_set_pool(c->fleet, (uint32_t)gid, pool);
    al_fleet_set_healthy(c->fleet, (uint32_t)gid, json_is_true(json_object_get(g, "healthy")));
    al_fleet_set_drained(c->fleet, (uint32_t)gid, json_is_true(json_object_get(g, "drained")));
    return 0;
}

int al_cal_sync_node(struct al_cal *c, json_t *node, struct al_err *reterr)
{
    const char *name = json_string_value(json_object_get(node, "name"));
    int nid = node_id(c, name, json_string_value(json_object_get(node, "zone")), reterr);
    json_t *gpus = json_object_get(node, "gpus"), *g;
    size_t i;
    if (nid < 0)
        return nid;
    /* GPUs the node no longer reports are drained: the fleet never forgets a GPU */
    const struct al_node *n = al_fleet_node(c->fleet, (uint32_t)nid);
    for (uint32_t k = 0; n && k < n->ngpus; k++)
        al_fleet_set_drained(c->fleet, n->gpus[k], true);
    json_array_foreach(gpus, i, g)
    {
        int rc = sync_gpu(c, nid, g, reterr);
        if (rc < 0)
            return rc;
    }
    return 0;
}

struct load_arg {
    struct al_cal *c;
    int64_t origin;
    int skipped;
};

static int load_hold(void *arg, const struct al_store_hold *sh)
{
    struct load_arg *la = arg;
    if (!sh)
        return 0;
    int g = al_cal_gpu(la->c, sh->gpu);
    const struct al_gpu *gpu = g >= 0 ? al_fleet_gpu(la->c->fleet, (uint32_t)g) : NULL;
    struct al_hold h = {.gpu = (uint32_t)g,
                        .whole = strcmp(sh->kind, "gpu") == 0,
                        .t0 = sh->t0 < la->origin ? la->origin : sh->t0,
                        .t1 = sh->t1,
                        .expires = sh->expires_at,
                        .owner = al_cal_owner(sh->owner)};
    if (!gpu || h.t1 <= la->origin) {
        la->skipped += !gpu;
        return 0;
    }
    if (!h.whole) {
        int p = al_catalog_profile_index(gpu->model, sh->profile);
        h.profile = (uint8_t)(p < 0 ? 0 : p);
        h.start = (uint8_t)(sh->start_unit < 0 ? 0 : sh->start_unit);
    }
    struct al_err e = {0};
    if (al_calendar_add(la->c->cal, &h, &e) < 0) {
        /* the store's holds passed its own check; say so, keep going (the store re-checks) */
        fprintf(stderr, "allot server: hold of %s on %s not in the calendar: %s\n", sh->owner,
                sh->gpu, e.msg);
        la->skipped++;
    }
    return 0;
}

int al_cal_build(struct al_store *s, int64_t now, struct al_cal **ret, struct al_err *reterr)
{
    struct al_cal *c = calloc(1, sizeof *c);
    json_t *gpus = NULL, *g;
    size_t i;
    int rc = 0;
    if (!c || !(c->fleet = al_fleet_new())) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = al_store_gpu_all(s, &gpus, reterr)) != 0)
        goto out;
    json_array_foreach(gpus, i, g)
    {
        int nid = node_id(c, json_string_value(json_object_get(g, "node")),
                          json_string_value(json_object_get(g, "zone")), reterr);
        if (nid < 0 || (rc = sync_gpu(c, nid, g, reterr)) < 0) {
            rc = nid < 0 ? nid : rc;
            goto out;
        }
    }
    struct load_arg la = {c, now - CAL_ORIGIN_BACK, 0};
    if (!(c->cal = al_calendar_new(c->fleet, la.origin, 0)) ||
        !(c->planner = al_planner_new(c->fleet, c->cal))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    rc = al_store_hold_each(s, la.origin, INT64_MAX, now, load_hold, &la, reterr);
out:
    json_decref(gpus);
    if (rc < 0) {
        al_cal_free(c);
        return rc;
    }
    *ret = c;
    return 0;
}

void al_cal_free(struct al_cal *c)
{
    if (!c)
        return;
    al_planner_free(c->planner);
    al_calendar_free(c->cal);
    al_fleet_free(c->fleet);
    for (size_t i = 0; i < c->ngpu_ids; i++) {
        free(c->gpu_ids[i]);
        free(c->uuids[i]);
    }
    free(c->gpu_ids);
    free(c->uuids);
    free(c->slots);
    free(c);
}

uint64_t al_cal_mask(const struct al_gpu_model *m, int profile, int start)
{
    if (profile < 0)
        return UINT64_MAX;
    unsigned size = m->profiles[profile].size;
    return ((UINT64_C(1) << size) - 1) << start;
}
