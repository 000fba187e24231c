/* routes_prices.c — the price list: one price per GPU model (whole GPU-hour, MIG
 * compute-slice-hour, pool GPU-hour), in USD micro-units, set by operators. */
#include "server/http.h"

#include "core/catalog.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define MAX_MONEY_HOUR INT64_C(1000000000000) /* 1,000,000 USD an hour: surely a typo above */

static int get_prices(struct al_ctx *c)
{
    json_t *items;
    struct al_err e = {0};
    int rc = al_store_price_list(c->srv->store, &items, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p)
    {
        json_object_set_new(p, "currency", json_string("USD"));
        al_time_fields(p, al_time_keys);
    }
    return al_http_reply(c, 200, al_http_list(items, NULL));
}

static int put_price(struct al_ctx *c)
{
    static const char *const allowed[] = {"gpu_hour_micros", "mig_slice_hour_micros",
                                          "pool_gpu_hour_micros", "currency", NULL};
    const struct al_gpu_model *m = al_catalog_find(c->params[0]);
    struct al_store_price p = {.updated_at = c->now};
    const char *cur = "USD";
    struct al_err e = {0};
    if (!m)
        return al_http_fail(c, AL_E_INVAL, "model", "unknown GPU model %s", c->params[0]);
    if (al_field_only(c, c->body, allowed) ||
        al_field_int(c, c->body, "gpu_hour_micros", true, 0, MAX_MONEY_HOUR, &p.gpu_hour) ||
        al_field_int(c, c->body, "mig_slice_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &p.mig_slice_hour) ||
        al_field_int(c, c->body, "pool_gpu_hour_micros", false, 0, MAX_MONEY_HOUR,
                     &p.pool_gpu_hour) ||
        al_field_name(c, c->body, "currency", false, &cur))
        return c->err_code;
    if (strcmp(cur, "USD") != 0)
        return al_http_fail(c, AL_E_INVAL, "currency", "only USD is supported");
    snprintf(p.model, sizeof p.model, "%s", m->name);
    int rc = al_store_price_put(c->srv->store, &p, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_t *j = json_pack(
        "{s:s,s:I,s:I,s:I,s:s,s:o}", "model", m->name, "gpu_hour_micros", (json_int_t)p.gpu_hour,
        "mig_slice_hour_micros", (json_int_t)p.mig_slice_hour, "pool_gpu_hour_micros",
        (json_int_t)p.pool_gpu_hour, "currency", "USD", "updated_at", al_time_json(c->now));
    if (al_event(c, AL_EVENT_PRICE_SET, m->name, json_deep_copy(j))) {
        json_decref(j);
        return c->err_code;
    }
    return al_http_reply(c, 200, j);
}

const struct al_route al_routes_prices[] = {
    {"GET", "/v1/prices", get_prices, AL_ROLE_ANY, false, false},
    {"PUT", "/v1/prices/*", put_price, AL_ROLE_OPERATOR, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
