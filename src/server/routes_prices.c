/* routes_prices.c — the price list: per GPU model (whole GPU-hour, MIG compute-slice-hour,
 * pool GPU-hour), in USD micro-units, set by operators as versions: each set is a new version
 * valid from a time, so a quote names the version it priced at and later sets never alter it. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define MAX_MONEY_HOUR INT64_C(1000000000000) /* 1,000,000 USD an hour: surely a typo above */

/* The price version of `model` in force at `now` as the API shows it, or NULL (none yet). */
static json_t *price_in_force(struct al_ctx *c, const char *model, struct al_err *e, int *rc)
{
    struct al_store_price_version pv;
    *rc = al_store_price_at(c->srv->store, model, c->now, &pv, e);
    if (*rc) {
        if (*rc == AL_E_NOTFOUND) /* none in force yet: left out (`pv` is not filled) */
            *rc = 0;
        return NULL;
    }
    return json_pack("{s:s,s:I,s:o,s:I,s:I,s:I,s:s,s:o}", "model", pv.model, "version",
                     (json_int_t)pv.version, "valid_from", al_time_json(pv.valid_from),
                     "gpu_hour_micros", (json_int_t)pv.rates.gpu_hour, "mig_slice_hour_micros",
                     (json_int_t)pv.rates.mig_slice_hour, "pool_gpu_hour_micros",
                     (json_int_t)pv.rates.pool_gpu_hour, "currency", "USD", "updated_at",
                     al_time_json(pv.created_at));
}

/* Each model's price in force now; a model whose only versions start later is left out. */
static int get_prices(struct al_ctx *c)
{
    json_t *models, *items = json_array(), *p;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_price_list(c->srv->store, &models, &e);
    if (rc)
        goto out;
    json_array_foreach(models, i, p)
    {
        json_t *f = price_in_force(c, json_string_value(json_object_get(p, "model")), &e, &rc);
        if (rc)
            break;
        if (f)
            json_array_append_new(items, f);
    }
    json_decref(models);
out:
    if (rc) {
        json_decref(items);
        return al_http_fail_err(c, rc, &e);
    }
    return al_http_reply(c, 200, al_http_list(items, NULL));
}

/* The versions of a model, oldest first, a page at a time. */
static int get_price_history(struct al_ctx *c)
{
    const struct al_gpu_model *m = al_catalog_find(c->params[0]);
    struct al_store_page pg;
    json_t *items, *p;
    char *next = NULL;
    struct al_err e = {0};
    size_t i;
    if (!m)
        return al_http_fail(c, AL_E_NOTFOUND, "model", "unknown GPU model %s", c->params[0]);
    if (al_http_page(c, &pg))
        return c->err_code;
    int rc = al_store_price_history(c->srv->store, m->name, pg, &items, &next, &e);
    if (rc)
        return al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
    static const char *const keys[] = {"valid_from", "created_at", NULL};
    json_array_foreach(items, i, p)
    {
        json_object_set_new(p, "currency", json_string("USD"));
        al_time_fields(p, keys);
    }
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* A new version of the model's price, valid from `valid_from` (default now, never earlier:
 * what was quoted or charged before stays priced as it was). */
static int put_price(struct al_ctx *c)
{
    static const char *const allowed[] = {"gpu_hour_micros",      "mig_slice_hour_micros",
                                          "pool_gpu_hour_micros", "currency",
                                          "valid_from",           NULL};
    const struct al_gpu_model *m = al_catalog_find(c->params[0]);
    struct al_store_price_version pv = {.valid_from = c->now, .created_at = c->now};
    const char *cur = "USD";
    struct al_err e = {0};
    if (!m)
        return al_http_fail(c, AL_E_INVAL, "model", "unknown GPU model %s", c->params[0]);
    if (al_field_only(c, c->body, allowed) ||
        al_field_int(c, c->body, "gpu_hour_micros", true, 0, MAX_MONEY_HOUR, &pv.rates.gpu_hour) ||
        al_field_int(c, c->body, "mig_slice_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &pv.rates.mig_slice_hour) ||
        al_field_int(c, c->body, "pool_gpu_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &pv.rates.pool_gpu_hour) ||
        al_field_name(c, c->body, "currency", false, &cur) ||
        al_field_time(c, c->body, "valid_from", false, &pv.valid_from))
        return c->err_code;
    if (strcmp(cur, "USD") != 0)
        return al_http_fail(c, AL_E_INVAL, "currency", "only USD is supported");
    if (pv.valid_from < c->now)
        return al_http_fail(c, AL_E_INVAL, "valid_from", "a price cannot start in the past");
    snprintf(pv.model, sizeof pv.model, "%s", m->name);
    snprintf(pv.created_by, sizeof pv.created_by, "%s", c->user_id ? c->user_id : "");
    int rc = al_store_price_version_add(c->srv->store, &pv, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_t *j = json_pack(
        "{s:s,s:I,s:o,s:I,s:I,s:I,s:s,s:o}", "model", m->name, "version", (json_int_t)pv.version,
        "valid_from", al_time_json(pv.valid_from), "gpu_hour_micros", (json_int_t)pv.rates.gpu_hour,
        "mig_slice_hour_micros", (json_int_t)pv.rates.mig_slice_hour, "pool_gpu_hour_micros",
        (json_int_t)pv.rates.pool_gpu_hour, "currency", "USD", "updated_at", al_time_json(c->now));
    if (al_event(c, AL_EVENT_PRICE_SET, NULL, m->name, json_deep_copy(j))) {
        json_decref(j);
        return c->err_code;
    }
    return al_http_reply(c, 200, j);
}

const struct al_route al_routes_prices[] = {
    {"GET", "/v1/prices", get_prices, AL_ROLE_ANY, false, false},
    {"PUT", "/v1/prices/*", put_price, AL_ROLE_OPERATOR, true, false},
    {"GET", "/v1/prices/*/history", get_price_history, AL_ROLE_ANY, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
