/* routes_offerings.c — self-service offerings, as AWS Capacity Blocks lists them: priced
 * windows that fit the fleet now for an ask given as query parameters (ask.c), each with an
 * id that seals its window (offer.h) for a later reservation; and an id opened again. A GET:
 * nothing is held or written, so a window listed may be taken before it is reserved (the
 * reservation re-plans it). */
#include "server/http.h"

#include "core/catalog.h"
#include "server/ask.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/offer.h"
#include "server/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 10
#define MAX_LIMIT     50
#define VALID_S       300 /* an offering's price and window hold for 5 minutes */
#define MAX_MODELS    64

/* A window found: the model and profile, its start, and the model's place in the ask's order
 * (least memory first). */
struct found {
    struct al_model_choice ch;
    int64_t start;
    unsigned rank;
};

static int found_cmp(const void *x, const void *y)
{
    const struct found *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->rank < b->rank ? -1 : a->rank > b->rank;
}

/* Up to `limit` disjoint windows of each model that serves the ask (al_planner_windows),
 * into *ret (malloc'd; the caller frees), sorted by start then model order. */
static int collect(struct al_ctx *c, const struct al_ask *a, unsigned limit, struct found **ret,
                   size_t *nret)
{
    struct al_cal *cal = c->srv->cal;
    struct al_model_choice cands[MAX_MODELS];
    size_t nc = al_planner_models(&a->ma, false, cands, MAX_MODELS), n = 0;
    int64_t *starts = calloc(limit, sizeof *starts);
    struct found *f = calloc(nc * limit + 1, sizeof *f);
    *ret = NULL;
    *nret = 0;
    if (!starts || !f) {
        free(starts);
        free(f);
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < nc; i++) {
        struct al_request r;
        if (al_fleet_model_slot(cal->fleet, cands[i].model) < 0)
            continue;
        al_ask_request(a, &cands[i], &r);
        int k = al_planner_windows(cal->planner, &r, a->dur, a->ls, starts, limit, NULL);
        for (int j = 0; j < k; j++)
            f[n++] = (struct found){cands[i], starts[j], (unsigned)i};
    }
    free(starts);
    qsort(f, n, sizeof *f, found_cmp);
    *ret = f;
    *nret = n;
    return 0;
}

/* One offering: its fields, its price (al_ask_price) and its sealed id. *ret is NULL when the
 * model has no price in force (nothing to offer). 0, or fails the call. */
static int offering(struct al_ctx *c, const struct al_charge_org *co, const struct al_ask *a,
                    const struct found *f, json_t **ret)
{
    const struct al_gpu_model *m = f->ch.model;
    const char *prof = f->ch.profile >= 0 ? m->profiles[f->ch.profile].name : "";
    struct al_offer o = {.mig = a->ma.kind == AL_REQ_MIG,
                         .count = a->count,
                         .start = f->start,
                         .end = f->start + a->dur,
                         .same_node = a->same_node,
                         .valid_until = c->now + VALID_S};
    char id[AL_OFFER_ID_MAX];
    json_t *j = json_object();
    *ret = NULL;
    if (al_ask_price(c, co, a, &f->ch, o.start, o.end, j)) {
        json_decref(j);
        return c->err_code;
    }
    if (json_is_null(json_object_get(j, "total_micros"))) {
        json_decref(j);
        return 0;
    }
    snprintf(o.org, sizeof o.org, "%s", co->id);
    snprintf(o.model, sizeof o.model, "%s", m->name);
    snprintf(o.profile, sizeof o.profile, "%s", prof);
    snprintf(o.zone, sizeof o.zone, "%s", a->zone ? a->zone : "");
    snprintf(o.labels, sizeof o.labels, "%s", a->labels);
    o.price_version = json_integer_value(json_object_get(j, "price_version"));
    o.total_micros = json_integer_value(json_object_get(j, "total_micros"));
    if (al_offer_seal(c->srv, &o, id, sizeof id) != 0) {
        json_decref(j);
        return al_http_fail(c, AL_E_INTERNAL, NULL, "offering id not sealed");
    }
    json_object_set_new(j, "id", json_string(id));
    json_object_set_new(j, "model", json_string(m->name));
    json_object_set_new(j, "kind", json_string(o.mig ? "mig" : "gpu"));
    json_object_set_new(j, "profile", *prof ? json_string(prof) : json_null());
    json_object_set_new(j, "count", json_integer(a->count));
    json_object_set_new(j, "start", al_time_json(o.start));
    json_object_set_new(j, "end", al_time_json(o.end));
    json_object_set_new(j, "duration_hours", json_integer(a->dur / 3600));
    json_object_set_new(j, "valid_until", al_time_json(o.valid_until));
    *ret = j;
    return 0;
}

static int get_offerings(struct al_ctx *c)
{
    static const char *const extra[] = {"limit", NULL};
    const char *ql = al_http_query(c, "limit");
    int64_t limit = DEFAULT_LIMIT;
    json_t *body = NULL, *org = NULL, *items = json_array();
    struct found *f = NULL;
    size_t nf = 0;
    struct al_ask a;
    struct al_charge_org co;
    int rc;
    if (ql && al_parse_i64(ql, 1, MAX_LIMIT, &limit) != 0) {
        rc = al_http_fail(c, AL_E_INVAL, "limit", "limit must be 1..%d", MAX_LIMIT);
        goto out;
    }
    /* the org first: an operator who names none learns that before the ask's details */
    json_t *ob = json_pack("{s:s?}", "org", al_http_query(c, "org"));
    rc = ob ? al_ask_org(c, ob, &org) : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_decref(ob);
    if (rc || (rc = al_charge_org_load(c, jstr(org, "id"), c->now, &co)) ||
        (rc = al_ask_query(c, extra, &body, &a)) || (rc = collect(c, &a, (unsigned)limit, &f, &nf)))
        goto out;
    for (size_t i = 0; i < nf && json_array_size(items) < (size_t)limit; i++) {
        json_t *o;
        if ((rc = offering(c, &co, &a, &f[i], &o)))
            goto out;
        if (o)
            json_array_append_new(items, o);
    }
    rc = al_http_reply(c, 200,
                       json_pack("{s:O,s:s,s:o}", "items", items, "org", jstr(org, "id"),
                                 "generated_at", al_time_json(c->now)));
out:
    free(f);
    json_decref(items);
    json_decref(org);
    json_decref(body);
    return rc;
}

/* An offering id opened: the fields it seals, if it is authentic, unexpired and the caller's
 * org's. What POST /v1/reservations {offering} starts from. */
static int get_offering(struct al_ctx *c)
{
    struct al_offer o;
    int rc = al_offer_open(c->srv, c->params[0], c->now, &o);
    if (rc == AL_E_INVAL || (rc == 0 && !al_ctx_sees(c, o.org)))
        return al_http_fail(c, AL_E_NOTFOUND, "id",
                            "no such offering (malformed, altered, another org's, or made "
                            "before the server restarted)");
    if (rc == AL_E_EXPIRED)
        return al_http_fail(c, AL_E_EXPIRED, "id", "the offering expired; list offerings again");
    json_t *j = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:i,s:o,s:o,s:I,s:b,s:o,s:o,s:I,s:I,s:o}", "id", c->params[0], "org",
        o.org, "kind", o.mig ? "mig" : "gpu", "model", o.model, "profile",
        o.profile[0] ? json_string(o.profile) : json_null(), "count", (int)o.count, "start",
        al_time_json(o.start), "end", al_time_json(o.end), "duration_hours",
        (json_int_t)((o.end - o.start) / 3600), "same_node", o.same_node, "zone",
        o.zone[0] ? json_string(o.zone) : json_null(), "labels", al_ask_labels_json(o.labels),
        "price_version", (json_int_t)o.price_version, "total_micros", (json_int_t)o.total_micros,
        "valid_until", al_time_json(o.valid_until));
    return al_http_reply(c, 200, j);
}

const struct al_route al_routes_offerings[] = {
    {"GET", "/v1/offerings", get_offerings, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, false, false},
    {"GET", "/v1/offerings/*", get_offering, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
