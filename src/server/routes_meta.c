/* routes_meta.c — what is not a resource of the flow: health, the caller's identity, the
 * GPU model catalog, and the event log. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/routes.h"

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

static int get_events(struct al_ctx *c)
{
    const char *after = al_http_query(c, "after");
    const char *lim = al_http_query(c, "limit");
    int64_t seq = 0;
    int64_t limit = 100;
    json_t *items;
    struct al_err e = {0};
    if (!after)
        after = al_http_query(c, "cursor");
    if (after) {
        if (strncmp(after, "evt_", 4) == 0)
            after += 4;
        if (al_parse_i64(after, 0, INT64_MAX, &seq) != 0)
            return al_http_fail(c, AL_E_INVAL, "after", "after must be an event id (evt_…)");
    }
    if (lim && al_parse_i64(lim, 1, 500, &limit) != 0)
        return al_http_fail(c, AL_E_INVAL, "limit", "limit must be 1..500");
    int rc = al_store_event_list(c->srv->store, seq, (int)limit, &items, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    size_t i;
    json_t *ev;
    char id[32], *next = NULL;
    json_array_foreach(items, i, ev)
    {
        snprintf(id, sizeof id, "evt_%012" PRId64,
                 (int64_t)json_integer_value(json_object_get(ev, "seq")));
        json_object_set_new(ev, "id", json_string(id));
        json_object_del(ev, "seq");
        al_time_fields(ev, (const char *const[]){"at", NULL});
    }
    if (json_array_size(items) == (size_t)limit)
        next = strdup(id);
    return al_http_reply(c, 200, al_http_list(items, next));
}

const struct al_route al_routes_meta[] = {
    {"GET", "/healthz", get_healthz, AL_ROLE_PUBLIC, false, false},
    {"GET", "/v1/me", get_me, AL_ROLE_ANY, false, false},
    {"GET", "/v1/models", get_models, AL_ROLE_ANY, false, false},
    {"GET", "/v1/events", get_events, AL_ROLE_OPERATOR, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
