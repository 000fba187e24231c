/* routes_meta.c — what is not a resource of the flow: health, the caller's identity, the
 * GPU model catalog, and the event log (operators read all of it, an org's users their org's
 * events), as a list or a live stream (server/evstream.h). */
#include "server/http.h"

#include "core/catalog.h"
#include "server/call.h"
#include "server/evstream.h"
#include "server/routes.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_healthz(struct al_ctx *c)
{
    return al_http_reply(c, 200, json_pack("{s:s}", "status", "ok"));
}

static int get_me(struct al_ctx *c)
{
    json_t *u = json_deep_copy(c->user);
    al_time_fields(u, al_time_keys);
    return al_http_reply(c, 200, json_pack("{s:o}", "user", u));
}

/* A profile's other names, and the confidence of each fact that can differ by source, as the
 * CLI's `allot mig profiles --json` gives them (cli/mig_util.c). */
static void profile_names_conf(json_t *o, const struct al_mig_profile *p)
{
    json_t *aliases = json_array();
    for (const char *const *a = p->aliases; a && *a; a++)
        json_array_append_new(aliases, json_string(*a));
    json_object_set_new(o, "aliases", aliases);
    json_object_set_new(o, "confidence",
                        json_pack("{s:s,s:s,s:s,s:s}", "id", al_catalog_conf_name(p->conf.id),
                                  "memory", al_catalog_conf_name(p->conf.mem), "sms",
                                  al_catalog_conf_name(p->conf.sms), "placements",
                                  al_catalog_conf_name(p->conf.place)));
}

static json_t *model_json(const struct al_gpu_model *m)
{
    json_t *profiles = json_array();
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        json_t *starts = json_array();
        for (unsigned k = 0; k < p->nstarts; k++)
            json_array_append_new(starts, json_integer(p->starts[k]));
        struct al_perf pf = al_catalog_perf(m, (int)i); /* the instance's share */
        json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:o,s:i}", "name", p->name, "nvml_id",
                              (int)p->nvml_id, "compute_slices", (int)p->compute_slices,
                              "memory_gb", (int)p->mem_gb, "memory_mib", (int)p->mem_mib, "size",
                              (int)p->size, "starts", starts, "max_count", (int)p->max_count);
        json_object_set_new(o, "tflops_bf16_x10", json_integer(pf.tflops_bf16_x10));
        json_object_set_new(o, "memory_bandwidth_gbs", json_integer(pf.mem_bw_gbs));
        profile_names_conf(o, p);
        json_array_append_new(profiles, o);
    }
    json_t *j = json_pack("{s:s,s:s,s:b,s:i,s:i,s:i,s:o}", "name", m->name, "description",
                          m->description ? m->description : "", "mig", m->mig, "memory_gb",
                          (int)m->mem_gb, "units", (int)m->units, "compute_slices",
                          (int)m->compute_slices, "profiles", profiles);
    /* dense BF16 TFLOPS in tenths (integers compare exactly), GB/s (docs/catalog.md) */
    json_object_set_new(j, "tflops_bf16_x10", json_integer(m->tflops_bf16_x10));
    json_object_set_new(j, "memory_bandwidth_gbs", json_integer(m->mem_bw_gbs));
    json_object_set_new(j, "perf_unverified",
                        m->perf_unverified ? json_string(m->perf_unverified) : json_null());
    return j;
}

static int get_models(struct al_ctx *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < al_catalog_count(); i++)
        json_array_append_new(arr, model_json(al_catalog_at(i)));
    return al_http_reply(c, 200, al_http_list(arr, NULL));
}

#define EVENT_OBJECT_MAX 128 /* an event's object: an id or a name, a scope ("zone:z1") */

/* An event id as the API writes it ("evt_000000000012") or its number. */
static int event_seq(const char *v, int64_t *seq)
{
    if (strncmp(v, "evt_", 4) == 0)
        v += 4;
    return al_parse_i64(v, 0, INT64_MAX, seq);
}

/* Where a list or a stream starts: after the Last-Event-ID a reconnecting stream sends (it
 * wins: it is newer than the URL's), else `after` (or `cursor`); `*given` says whether one
 * was. */
static int events_after(struct al_ctx *c, bool follow, int64_t *seq, bool *given)
{
    const struct al_kv *h =
        follow && c->call ? al_req_header(c->call->req, "Last-Event-ID", NULL) : NULL;
    const char *after = al_http_query(c, "after");
    if (!after)
        after = al_http_query(c, "cursor");
    *seq = 0;
    *given = h || after;
    if (h && event_seq(h->val, seq) != 0)
        return al_http_fail(c, AL_E_INVAL, "Last-Event-ID", "Last-Event-ID must be an event id");
    if (!h && after && event_seq(after, seq) != 0)
        return al_http_fail(c, AL_E_INVAL, "after", "after must be an event id (evt_…)");
    return 0;
}

/* kind: a kind's name ("reservation.active"), or a prefix ("reservation." or "reservation.*";
 * "*" alone: every kind); lower-case letters, digits, '.' and '_'. */
static int events_kind(struct al_ctx *c, struct al_store_event_filter *f, char *buf, size_t cap)
{
    const char *k = al_http_query(c, "kind");
    size_t n = k ? strlen(k) : 0;
    bool ok = k && n > 0 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)k[i]) || isdigit((unsigned char)k[i]) || k[i] == '.' ||
             k[i] == '_' || (k[i] == '*' && i == n - 1);
    if (!k)
        return 0;
    if (!ok)
        return al_http_fail(c, AL_E_INVAL, "kind",
                            "kind must be an event kind (reservation.active) or a prefix "
                            "(reservation.*), at most %zu characters",
                            cap - 1);
    memcpy(buf, k, n + 1);
    bool star = buf[n - 1] == '*';
    if (star)
        buf[--n] = '\0';
    f->kind_prefix = star || buf[n - 1] == '.';
    f->kind = n ? buf : NULL; /* "*": every kind */
    return 0;
}

/* Whose events the caller reads (operators: all; an org's admins and members: their org's),
 * and the filters. */
static int events_filter(struct al_ctx *c, struct al_store_event_filter *f, char *kind, size_t cap)
{
    const char *o = al_http_query(c, "object");
    memset(f, 0, sizeof *f);
    if (c->role != AL_ROLE_OPERATOR) {
        if (!c->org)
            return al_http_fail(c, AL_E_FORBIDDEN, NULL, "only an org's users read its events");
        f->org = c->org;
    }
    if (events_kind(c, f, kind, cap))
        return c->err_code;
    if (o && (!*o || strlen(o) > EVENT_OBJECT_MAX))
        return al_http_fail(c, AL_E_INVAL, "object", "object must be 1..%d characters",
                            EVENT_OBJECT_MAX);
    f->object = o;
    return 0;
}

/* ?order=desc: newest first, from before the cursor (the previous page's last id, given as
 * `cursor` or `before`) on; ?order=asc (the default): oldest first, after it. */
static int events_order(struct al_ctx *c, struct al_store_event_filter *f, int64_t cursor)
{
    const char *order = al_http_query(c, "order");
    const char *before = al_http_query(c, "before");
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return al_http_fail(c, AL_E_INVAL, "order", "order must be asc or desc");
    f->newest_first = order && strcmp(order, "desc") == 0;
    if (before && !f->newest_first)
        return al_http_fail(c, AL_E_INVAL, "before", "before goes with order=desc");
    if (f->newest_first && al_http_query(c, "after"))
        return al_http_fail(c, AL_E_INVAL, "after", "after goes with order=asc (desc: before)");
    if (before && event_seq(before, &f->before) != 0)
        return al_http_fail(c, AL_E_INVAL, "before", "before must be an event id (evt_…)");
    if (f->newest_first && !before)
        f->before = cursor;
    return 0;
}

/* ?follow=1: the events from `after` on as server-sent events (server/evstream.h); without
 * an id to start after, from the newest event on. */
static int events_follow(struct al_ctx *c, const struct al_store_event_filter *f, int64_t after,
                         bool given)
{
    struct al_err e = {0};
    struct al_evsub *sub = NULL;
    if (!given && (after = al_store_event_last(c->srv->store, &e)) < 0)
        return al_http_fail_err(c, (int)after, &e);
    if (al_evsub_new(c, f, after, &sub))
        return c->err_code;
    al_evsub_free(c->stream);
    c->stream = sub;
    c->status = 200;
    return 0;
}

static int get_events(struct al_ctx *c)
{
    const char *lim = al_http_query(c, "limit");
    const char *follow = al_http_query(c, "follow");
    struct al_store_event_filter f;
    char kind[64], id[32], *next = NULL;
    int64_t seq = 0, limit = 100;
    bool given, streams = follow && (!strcmp(follow, "1") || !strcmp(follow, "true"));
    json_t *items, *ev;
    struct al_err e = {0};
    size_t i;
    if (follow && !streams && strcmp(follow, "0") != 0 && strcmp(follow, "false") != 0)
        return al_http_fail(c, AL_E_INVAL, "follow", "follow must be 1 or 0");
    if (events_after(c, streams, &seq, &given) || events_filter(c, &f, kind, sizeof kind))
        return c->err_code;
    if (streams)
        return events_follow(c, &f, seq, given);
    if (lim && al_parse_i64(lim, 1, 500, &limit) != 0)
        return al_http_fail(c, AL_E_INVAL, "limit", "limit must be 1..500");
    if (events_order(c, &f, seq))
        return c->err_code;
    int rc = al_store_event_find(c->srv->store, &f, seq, (int)limit, &items, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(items, i, ev)
    {
        snprintf(id, sizeof id, "evt_%012" PRId64, al_evstream_shape(ev));
    }
    if (json_array_size(items) == (size_t)limit)
        next = strdup(id);
    return al_http_reply(c, 200, al_http_list(items, next));
}

const struct al_route al_routes_meta[] = {
    {"GET", "/healthz", get_healthz, AL_ROLE_PUBLIC, false, false},
    {"GET", "/v1/me", get_me, AL_ROLE_ANY, false, false},
    {"GET", "/v1/models", get_models, AL_ROLE_ANY, false, false},
    {"GET", "/v1/events", get_events, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER, false,
     false},
    {NULL, NULL, NULL, 0, false, false},
};
