/* cal.c — building the server's in-memory fleet and calendar from the store, keeping the fleet
 * in step with the nodes' reports (zone, labels, liveness, and per GPU: index, model, pool, health,
 * presence), and mapping the store's string ids (GPUs, quotes, reservations, pool containers) to
 * the core's dense ids. */
#include "server/cal.h"

#include "common/num.h"
#include "core/sbuf.h"
#include "store/store_replica.h"

#include <ctype.h>
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
    else if (id && strncmp(id, "ctr_", 4) == 0)
        o.kind = AL_OWNER_POOL;
    /* ids are prefix_ + 16 hex digits (time, random): 56 of their 64 bits are plenty */
    uint64_t v = 0;
    if (us && al_num_parse_hex_u64(us + 1, 0, UINT64_MAX, &v) == 0)
        o.id = v & AL_OWNER_ID_MAX;
    return o;
}

/* ---- core's words as an API user reads them ---- */

/* Does `word` start at p, at the start of a word of msg? */
static bool word_at(const char *msg, const char *p, const char *word)
{
    return (p == msg || !isalnum((unsigned char)p[-1])) && strncmp(p, word, strlen(word)) == 0;
}

/* "GPU 3" / "gpu 3" at p: the word with the GPU's store id, or as it was (*rc AL_E_NOTFOUND)
 * when no GPU has that fleet index. Returns the bytes read, 0 when p holds no such name. */
static size_t gpu_name(const struct al_cal *c, const char *msg, const char *p, struct al_sbuf *b,
                       int *rc)
{
    if (!word_at(msg, p, "GPU ") && !word_at(msg, p, "gpu "))
        return 0;
    uint64_t g = 0;
    size_t n = 4;
    for (; n < 14 && isdigit((unsigned char)p[n]); n++)
        g = g * 10 + (uint64_t)(p[n] - '0');
    if (n == 4 || isalnum((unsigned char)p[n]))
        return 0;
    const char *id = g <= UINT32_MAX ? al_cal_gpu_id(c, (uint32_t)g) : NULL;
    if (!id)
        *rc = AL_E_NOTFOUND;
    al_sbuf_printf(b, "%.4s%s", p, id ? id : "");
    if (!id)
        al_sbuf_printf(b, "%.*s", (int)(n - 4), p + 4);
    return n;
}

/* "reservation 0069a1b2c3d4e5" / "quote …" (core/calendar.c's owner_text: kind, 14 hex digits)
 * at p: the kind with the full id of the owner among `ids` that it names, or as it was (*rc
 * AL_E_NOTFOUND) when none does. Returns the bytes read, 0 when p holds no such name. */
static size_t owner_name(const char *msg, const char *p, const char *const *ids, struct al_sbuf *b,
                         int *rc)
{
    static const struct {
        const char *word;
        enum al_owner_kind kind;
    } kinds[] = {{"reservation ", AL_OWNER_RESERVATION},
                 {"quote ", AL_OWNER_TENTATIVE},
                 {"pool container ", AL_OWNER_POOL}};
    char hex[15];
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        size_t w = strlen(kinds[k].word), n = 0;
        if (!word_at(msg, p, kinds[k].word))
            continue;
        while (n < 14 && isxdigit((unsigned char)p[w + n]))
            n++;
        uint64_t v = 0;
        memcpy(hex, p + w, n);
        hex[n] = '\0';
        if (n < 14 || isalnum((unsigned char)p[w + n]) ||
            al_num_parse_hex_u64(hex, 0, AL_OWNER_ID_MAX, &v) != 0)
            return 0;
        for (size_t i = 0; ids && ids[i]; i++) {
            struct al_owner o = al_cal_owner(ids[i]);
            if (o.kind == kinds[k].kind && o.id == v) {
                al_sbuf_printf(b, "%s%s", kinds[k].word, ids[i]);
                return w + n;
            }
        }
        *rc = AL_E_NOTFOUND;
        al_sbuf_printf(b, "%.*s", (int)(w + n), p);
        return w + n;
    }
    return 0;
}

int al_cal_message(const struct al_cal *c, const char *msg, const char *const *ids, char *out,
                   size_t cap)
{
    struct al_sbuf b;
    int rc = 0;
    al_sbuf_init(&b, out, cap);
    for (const char *p = msg; *p;) {
        size_t n = gpu_name(c, msg, p, &b, &rc);
        if (!n)
            n = owner_name(msg, p, ids, &b, &rc);
        /* "hold 17 of …": the calendar's record number means nothing outside it */
        if (!n && word_at(msg, p, "hold ") && isdigit((unsigned char)p[5])) {
            const char *q = p + 5;
            while (isdigit((unsigned char)*q))
                q++;
            if (strncmp(q, " of ", 4) == 0) {
                al_sbuf_printf(&b, "a hold of ");
                n = (size_t)(q + 4 - p);
            }
        }
        if (!n) {
            al_sbuf_printf(&b, "%c", *p);
            n = 1;
        }
        p += n;
    }
    return rc;
}

bool al_cal_label_part_ok(const char *s, bool empty_ok)
{
    size_t n = s ? strlen(s) : 0;
    if (!s || n > AL_CAL_LABEL_PART_MAX || (n == 0 && !empty_ok))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

unsigned al_cal_labels_text(json_t *labels, char *out, size_t cap)
{
    const char *keys[64] = {NULL}, *k;
    json_t *v;
    size_t n = 0, len = 0;
    unsigned left = 0;
    if (cap)
        out[0] = '\0';
    json_object_foreach(labels, k, v)
    {
        if (n < sizeof keys / sizeof keys[0])
            keys[n++] = k;
        else
            left++;
    }
    qsort(keys, n, sizeof keys[0], key_cmp);
    for (size_t i = 0; i < n; i++) {
        const char *val = json_string_value(json_object_get(labels, keys[i]));
        size_t need = strlen(keys[i]) + (val && *val ? 1 + strlen(val) : 0) + (len ? 1 : 0);
        if (!val || !al_cal_label_part_ok(keys[i], false) || !al_cal_label_part_ok(val, true) ||
            len + need >= cap) {
            left++;
            continue;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s", len ? "," : "", keys[i],
                                *val ? "=" : "", val);
    }
    return left;
}

/* The node's labels into the fleet (those a selector can match). */
static int set_labels(struct al_cal *c, int nid, json_t *labels, struct al_err *e)
{
    char text[AL_FLEET_LABELS_MAX];
    al_cal_labels_text(labels, text, sizeof text);
    return al_fleet_set_labels(c->fleet, (uint32_t)nid, text, e);
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

/* Would the fleet count store GPU row `g` as present: reported by its node, as the model it
 * is sold as? (A GPU reported as another model while capacity sold on it lasts is not.) */
static bool row_present(json_t *g)
{
    const char *m = json_string_value(json_object_get(g, "model"));
    const char *rm = json_string_value(json_object_get(g, "reported_model"));
    return json_is_true(json_object_get(g, "present")) && (!rm || (m && strcmp(m, rm) == 0));
}

static int collect_id(uint32_t id, const struct al_hold *h, void *ctx)
{
    uint32_t **p = ctx;
    (void)h;
    *(*p)++ = id;
    return 0;
}

/* Every hold of GPU `gid` leaves the calendar. */
static int release_gpu(struct al_cal *c, uint32_t gid, struct al_err *e)
{
    size_t n = c->cal ? al_calendar_count(c->cal, gid, INT64_MIN, INT64_MAX) : 0;
    uint32_t *ids = n ? calloc(n, sizeof *ids) : NULL, *p = ids;
    if (n && !ids)
        return al_err_set(e, AL_E_NOMEM, "out of memory");
    if (n)
        al_calendar_each(c->cal, gid, INT64_MIN, INT64_MAX, collect_id, &p);
    for (size_t i = 0; i < n; i++)
        al_calendar_release(c->cal, ids[i]);
    free(ids);
    return 0;
}

/* GPU `gid` becomes model `m`: its holds leave the calendar first (they name the old model's
 * profiles; the store moved the model only once none of them was live), then the fleet. */
static int change_model(struct al_cal *c, uint32_t gid, const struct al_gpu_model *m,
                        struct al_err *e)
{
    int rc = release_gpu(c, gid, e);
    if (rc < 0)
        return rc;
    rc = al_fleet_set_model(c->fleet, gid, m);
    const char *id = al_cal_gpu_id(c, gid);
    return rc < 0 ? al_err_set(e, rc, "GPU %s: cannot become a %s", id ? id : "?", m->name) : 0;
}

/* Add or update one GPU of node `nid` from its store JSON. */
static int sync_gpu(struct al_cal *c, int nid, json_t *g, struct al_err *e)
{
    const char *id = json_string_value(json_object_get(g, "id"));
    const struct al_gpu_model *m = al_catalog_find(json_string_value(json_object_get(g, "model")));
    const char *pname = json_string_value(json_object_get(g, "pool"));
    enum al_pool pool =
        pname && strcmp(pname, "general") == 0 ? AL_POOL_GENERAL : AL_POOL_DEDICATED;
    json_int_t index = json_integer_value(json_object_get(g, "index"));
    bool present = row_present(g);
    if (!m || !id)
        return al_err_set(e, AL_E_INVAL, "GPU %s has an unknown model", id ? id : "?");
    int gid = al_cal_gpu(c, id), rc;
    if (gid < 0 && (gid = add_gpu(c, nid, id, m, g, pool, e)) < 0)
        return gid;
    const struct al_gpu *fg = al_fleet_gpu(c->fleet, (uint32_t)gid);
    if (fg->model != m && (rc = change_model(c, (uint32_t)gid, m, e)) < 0)
        return rc;
    if ((rc = set_uuid(c, gid, json_string_value(json_object_get(g, "uuid")), e)) != 0)
        return rc;
    /* an absent GPU first: its index may be one a present GPU takes in this report */
    al_fleet_set_present(c->fleet, (uint32_t)gid, false);
    if (index < 0 || al_fleet_set_index(c->fleet, (uint32_t)gid, (unsigned)index) < 0 ||
        (present && al_fleet_set_present(c->fleet, (uint32_t)gid, true) < 0))
        return al_err_set(e, AL_E_CONFLICT, "GPU %s: index %lld taken on its node", id,
                          (long long)index);
    al_fleet_set_pool(c->fleet, (uint32_t)gid, pool);
    al_fleet_set_healthy(c->fleet, (uint32_t)gid, json_is_true(json_object_get(g, "healthy")));
    al_fleet_set_drained(c->fleet, (uint32_t)gid, json_is_true(json_object_get(g, "drained")));
    return 0;
}

/* Sync the GPU rows of `gpus` whose presence is `present` (absent ones first, so that their
 * indexes never stand in the way of present ones). `rows` of the whole fleet carry their node,
 * zone and liveness; those of one node do not (nid >= 0 then). */
static int sync_rows(struct al_cal *c, int nid, json_t *gpus, bool present, struct al_err *e)
{
    size_t i;
    json_t *g;
    int last = -1;
    json_array_foreach(gpus, i, g)
    {
        if (row_present(g) != present)
            continue;
        int n = nid;
        if (n < 0) {
            n = node_id(c, json_string_value(json_object_get(g, "node")),
                        json_string_value(json_object_get(g, "zone")), e);
            if (n < 0)
                return n;
            if (n != last) { /* rows come in node order */
                al_fleet_set_online(c->fleet, (uint32_t)n,
                                    !json_is_false(json_object_get(g, "online")));
                int rc = set_labels(c, n, json_object_get(g, "labels"), e);
                if (rc < 0)
                    return rc;
            }
            last = n;
        }
        int rc = sync_gpu(c, n, g, e);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int al_cal_sync_node(struct al_cal *c, json_t *node, struct al_err *reterr)
{
    const char *name = json_string_value(json_object_get(node, "name"));
    const char *zone = json_string_value(json_object_get(node, "zone"));
    int nid = node_id(c, name, zone, reterr), rc;
    json_t *gpus = json_object_get(node, "gpus");
    if (nid < 0)
        return nid;
    if ((rc = al_fleet_set_zone(c->fleet, (uint32_t)nid, zone, reterr)) < 0 ||
        (rc = set_labels(c, nid, json_object_get(node, "labels"), reterr)) < 0)
        return rc;
    al_fleet_set_online(c->fleet, (uint32_t)nid, !json_is_false(json_object_get(node, "online")));
    /* GPUs the store no longer lists (it removed them: nothing was sold on them) are absent;
     * the fleet never forgets a GPU */
    const struct al_node *n = al_fleet_node(c->fleet, (uint32_t)nid);
    for (uint32_t k = 0; n && k < n->ngpus; k++)
        al_fleet_set_present(c->fleet, n->gpus[k], false);
    if ((rc = sync_rows(c, nid, gpus, false, reterr)) < 0)
        return rc;
    return sync_rows(c, nid, gpus, true, reterr);
}

int al_cal_node_online(struct al_cal *c, const char *name, bool online)
{
    int nid = al_fleet_find_node(c->fleet, name);
    return nid < 0 ? nid : al_fleet_set_online(c->fleet, (uint32_t)nid, online);
}

int al_cal_check_gpu(const struct al_cal *c, const char *gpu_id, const struct al_gpu_model *m,
                     char *why, size_t cap)
{
    int gid = al_cal_gpu(c, gpu_id);
    const struct al_gpu *g = gid >= 0 ? al_fleet_gpu(c->fleet, (uint32_t)gid) : NULL;
    const struct al_node *n = g ? al_fleet_node(c->fleet, g->node) : NULL;
    why[0] = '\0';
    if (!g || !n)
        snprintf(why, cap, "is not in the fleet");
    else if (n->offline)
        snprintf(why, cap, "is on node %s, which is offline", n->name);
    else if (!g->present)
        snprintf(why, cap, "is no longer reported by node %s (as %s)", n->name, g->model->name);
    else if (!g->healthy)
        snprintf(why, cap, "is unhealthy");
    else if (g->drained)
        snprintf(why, cap, "is drained");
    else if (m && g->model != m)
        snprintf(why, cap, "is a %s now, not a %s", g->model->name, m->name);
    return why[0] ? AL_E_NOFIT : 0;
}

struct load_arg {
    struct al_cal *c;
    int64_t origin, now;
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
    struct al_err e = {0};
    if (!h.whole) {
        int p = al_catalog_profile_index(gpu->model, sh->profile);
        h.profile = (uint8_t)(p < 0 ? 0 : p);
        h.start = (uint8_t)(sh->start_unit < 0 ? 0 : sh->start_unit);
        /* a hold sold as another model's profile (past now: the store keeps the model of a GPU
         * with live holds) has no place in this model's layout */
        if (p < 0)
            al_err_set(&e, AL_E_INVAL, "%s has no MIG profile %s", gpu->model->name, sh->profile);
    }
    /* a pool container holding the GPU now (server/poolgpu.h): the planner avoids it */
    if (h.owner.kind == AL_OWNER_POOL && h.t0 <= la->now && h.t1 > la->now)
        al_fleet_set_pool_busy(la->c->fleet, (uint32_t)g, true);
    if (e.code < 0 || al_calendar_add(la->c->cal, &h, &e) < 0) {
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
    json_t *gpus = NULL;
    int rc = 0;
    if (!c || !(c->fleet = al_fleet_new())) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = al_store_gpu_all(s, &gpus, reterr)) != 0 ||
        (rc = sync_rows(c, -1, gpus, false, reterr)) < 0 ||
        (rc = sync_rows(c, -1, gpus, true, reterr)) < 0)
        goto out;
    struct load_arg la = {c, now - CAL_ORIGIN_BACK, now, 0};
    /* the change feed's horizon before the holds are read: a change committed meanwhile is
     * applied again by the first refresh (server/replica.h), never missed */
    if ((rc = al_store_changes_horizon(s, &c->feed_h, reterr)) != 0)
        goto out;
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

int al_cal_reload_gpus(struct al_cal *c, struct al_store *s, const char *const *ids, size_t n,
                       int64_t now, struct al_err *reterr)
{
    struct al_store_hold *holds = NULL;
    struct load_arg la = {c, al_calendar_origin(c->cal), now, 0};
    int nh = al_store_hold_gpus_live(s, ids, n, la.origin, now, &holds, reterr);
    int rc = nh < 0 ? nh : 0;
    /* a GPU not in the fleet yet is skipped: its node's change brings it with its holds (the
     * store's rows of it are dropped by load_hold) */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int gid = ids[i] ? al_cal_gpu(c, ids[i]) : -1;
        if (gid >= 0 && (rc = release_gpu(c, (uint32_t)gid, reterr)) == 0)
            al_fleet_set_pool_busy(c->fleet, (uint32_t)gid, false);
    }
    for (int i = 0; rc == 0 && i < nh; i++)
        load_hold(&la, &holds[i]);
    free(holds);
    return rc;
}

int al_cal_reload_gpu(struct al_cal *c, struct al_store *s, const char *gpu_id, int64_t now,
                      struct al_err *reterr)
{
    struct al_store_hold *holds = NULL;
    size_t n = 0;
    int gid = al_cal_gpu(c, gpu_id), rc;
    struct load_arg la = {c, al_calendar_origin(c->cal), now, 0};
    if (gid < 0)
        return 0; /* not in the fleet yet: its node's change brings it with its holds */
    if ((rc = al_store_hold_gpu_live(s, gpu_id, la.origin, now, &holds, &n, reterr)) != 0)
        return rc;
    if ((rc = release_gpu(c, (uint32_t)gid, reterr)) == 0) {
        al_fleet_set_pool_busy(c->fleet, (uint32_t)gid, false);
        for (size_t i = 0; i < n; i++)
            load_hold(&la, &holds[i]);
    }
    free(holds);
    return rc;
}

int al_cal_reload_node(struct al_cal *c, struct al_store *s, const char *name, int64_t now,
                       struct al_err *reterr)
{
    json_t *node = NULL, *gpus;
    const char **ids = NULL;
    size_t n;
    int rc = al_store_node_get(s, name, &node, reterr);
    if (rc == AL_E_NOTFOUND)
        return 0; /* a node is never removed: not committed yet, or rolled back */
    if (rc != 0 || (rc = al_cal_sync_node(c, node, reterr)) != 0)
        goto out;
    /* a GPU new to this replica's fleet comes with the holds it has already: those of every
     * GPU of the node in one read */
    gpus = json_object_get(node, "gpus");
    if ((n = json_array_size(gpus)) == 0)
        goto out;
    if (!(ids = calloc(n, sizeof *ids))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = json_string_value(json_object_get(json_array_get(gpus, i), "id"));
    rc = al_cal_reload_gpus(c, s, ids, n, now, reterr);
out:
    free(ids);
    json_decref(node);
    return rc;
}

uint64_t al_cal_mask(const struct al_gpu_model *m, int profile, int start)
{
    if (profile < 0)
        return UINT64_MAX;
    unsigned size = m->profiles[profile].size;
    return ((UINT64_C(1) << size) - 1) << start;
}
