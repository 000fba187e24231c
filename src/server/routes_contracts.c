/* routes_contracts.c — contracts over HTTP: an operator creates, amends (a new version, the old
 * ones kept) and ends an org's contract; the org's admins and members read their own. What a
 * contract may say is core/contract.h's (al_contract_validate); this file parses the API's
 * JSON into core's struct and back (docs/api.md, "Contracts"). */
#include "server/http.h"

#include "core/catalog.h"
#include "core/contract.h"
#include "server/document.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define MAX_MONEY INT64_C(1000000000000000)  /* 10^9 USD: a limit above it is surely a typo */
#define MAX_SECS  INT64_C(400) * 86400 * 366 /* 400 years */
#define MAX_GPUS  INT64_C(1000000)

/* A contract's number from the path ("7"). */
static int contract_id(struct al_ctx *c, uint64_t *ret)
{
    int64_t id;
    if (al_parse_i64(c->params[0], 1, INT64_MAX, &id))
        return al_http_fail(c, AL_E_NOTFOUND, "id", "no contract %s", c->params[0]);
    *ret = (uint64_t)id;
    return 0;
}

/* A limit field: absent leaves *ret, null or -1 is not limited (AL_LIMIT_NONE). */
static int limit_field(struct al_ctx *c, const char *key, int64_t scale, int64_t max, int64_t *ret)
{
    json_t *v = json_object_get(c->body, key);
    int64_t n = AL_LIMIT_NONE;
    if (!v)
        return 0;
    if (!json_is_null(v) && al_field_int(c, c->body, key, false, -1, max, &n))
        return c->err_code;
    *ret = n < 0 ? AL_LIMIT_NONE : n * scale;
    return 0;
}

/* Two names of a field: "hour"/"day" for the draw period, "stop"/"payg" after a window. */
static int choice_field(struct al_ctx *c, const char *key, const char *a, const char *b, bool *is_b)
{
    const char *s = NULL;
    if (al_field_name(c, c->body, key, false, &s))
        return c->err_code;
    if (!s)
        return 0;
    if (strcmp(s, a) != 0 && strcmp(s, b) != 0)
        return al_http_fail(c, AL_E_INVAL, key, "%s must be %s or %s", key, a, b);
    *is_b = strcmp(s, b) == 0;
    return 0;
}

/* rates: [{model, gpu_hour_micros, mig_slice_hour_micros?, pool_gpu_hour_micros?}], frozen. */
static int rates_field(struct al_ctx *c, struct al_contract *k)
{
    static const char *const allowed[] = {"model", "gpu_hour_micros", "mig_slice_hour_micros",
                                          "pool_gpu_hour_micros", NULL};
    json_t *a = json_object_get(c->body, "rates"), *r;
    size_t i;
    if (!a || json_is_null(a))
        return 0;
    if (!json_is_array(a) || json_array_size(a) > AL_CONTRACT_MAX_RATES)
        return al_http_fail(c, AL_E_INVAL, "rates", "rates must be an array of at most %d",
                            AL_CONTRACT_MAX_RATES);
    k->nrates = 0;
    json_array_foreach(a, i, r)
    {
        struct al_contract_rate *cr = &k->rates[k->nrates++];
        const char *model = NULL;
        const struct al_gpu_model *m;
        memset(cr, 0, sizeof *cr);
        if (!json_is_object(r))
            return al_http_fail(c, AL_E_INVAL, "rates", "rates[%zu] must be an object", i);
        if (al_field_only(c, r, allowed) || al_field_name(c, r, "model", true, &model))
            return c->err_code;
        if (!(m = al_catalog_find(model)))
            return al_http_fail(c, AL_E_INVAL, "rates", "rates[%zu]: unknown GPU model %s", i,
                                model);
        snprintf(cr->model, sizeof cr->model, "%s", m->name);
        if (al_field_int(c, r, "gpu_hour_micros", true, 0, MAX_MONEY, &cr->rates.gpu_hour) ||
            al_field_int(c, r, "mig_slice_hour_micros", false, 0, MAX_MONEY,
                         &cr->rates.mig_slice_hour) ||
            al_field_int(c, r, "pool_gpu_hour_micros", false, 0, MAX_MONEY,
                         &cr->rates.pool_gpu_hour))
            return c->err_code;
    }
    return 0;
}

/* The body's fields over *k (a create's defaults, or the version an amendment starts from). */
static int parse_contract(struct al_ctx *c, struct al_contract *k)
{
    const char *terms = NULL, *gran = NULL;
    int64_t bp = k->discount_bps, fee_bp = k->cancel_fee_bps;
    bool daily = k->draw_period_s == 86400, payg = k->payg_after_window;
    if (al_field_name(c, c->body, "terms", false, &terms) ||
        al_field_time(c, c->body, "valid_from", false, &k->valid_from) ||
        al_field_time(c, c->body, "valid_to", false, &k->valid_to) ||
        al_field_name(c, c->body, "granularity", false, &gran) ||
        al_field_int(c, c->body, "min_hours", false, 0, AL_MIN_HOURS_MAX, &k->gran.min_hours) ||
        choice_field(c, "draw_period", "hour", "day", &daily) ||
        al_field_int(c, c->body, "discount_bp", false, 0, 10000, &bp) || rates_field(c, k) ||
        al_field_int(c, c->body, "cancel_fee_micros", false, 0, MAX_MONEY, &k->cancel_fee) ||
        al_field_int(c, c->body, "cancel_fee_bp", false, 0, 10000, &fee_bp) ||
        al_field_bool(c, c->body, "admin_may_cancel_active", &k->admin_may_cancel_active) ||
        al_field_bool(c, c->body, "self_service", &k->self_service) ||
        choice_field(c, "after_window", "stop", "payg", &payg) ||
        limit_field(c, "credit_limit_micros", 1, MAX_MONEY, &k->limits.credit_limit) ||
        limit_field(c, "max_concurrent_gpus", AL_SHARE_PER_GPU, MAX_GPUS, &k->limits.max_gpus) ||
        limit_field(c, "max_reservation_s", 1, MAX_SECS, &k->limits.max_length_s) ||
        limit_field(c, "max_reservations_ahead", 1, MAX_GPUS, &k->limits.max_ahead) ||
        limit_field(c, "monthly_spend_cap_micros", 1, MAX_MONEY, &k->limits.month_cap))
        return c->err_code;
    if (terms && al_contract_terms_parse(terms, &k->terms))
        return al_http_fail(c, AL_E_INVAL, "terms", "terms must be prepaid, balance or invoiced");
    if (gran && al_contract_gran_parse(gran, &k->gran.unit))
        return al_http_fail(c, AL_E_INVAL, "granularity",
                            "granularity must be second, minute or hour");
    /* a new unit without a minimum: hours keep theirs (at least 1), the others have none; a
     * minimum given with another unit is core's refusal to make */
    if (gran && !json_object_get(c->body, "min_hours"))
        k->gran.min_hours = k->gran.unit != AL_GRAN_HOUR ? 0
                            : k->gran.min_hours < 1      ? 1
                                                         : k->gran.min_hours;
    k->discount_bps = (int32_t)bp;
    k->cancel_fee_bps = (int32_t)fee_bp;
    k->draw_period_s = daily ? 86400 : 3600;
    k->payg_after_window = payg;
    return 0;
}

/* Core's refusal ("credit_limit: must be set …") as a 400 naming the API's field. */
static int fail_core(struct al_ctx *c, int rc, const struct al_err *e)
{
    static const char *const names[][2] = {
        {"discount_bps", "discount_bp"},         {"cancel_fee", "cancel_fee_micros"},
        {"cancel_fee_bps", "cancel_fee_bp"},     {"credit_limit", "credit_limit_micros"},
        {"max_gpus", "max_concurrent_gpus"},     {"max_length_s", "max_reservation_s"},
        {"max_ahead", "max_reservations_ahead"}, {"month_cap", "monthly_spend_cap_micros"},
    };
    char field[40];
    size_t n = strcspn(e->msg, ":[");
    if (rc != AL_E_INVAL || e->msg[n] == '\0' || n >= sizeof field)
        return al_http_fail_err(c, rc, e);
    memcpy(field, e->msg, n);
    field[n] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(field, names[i][0]) == 0)
            return al_http_fail(c, rc, names[i][1], "%s", e->msg);
    return al_http_fail(c, rc, field, "%s", e->msg);
}

static json_t *limit_json(int64_t v, int64_t scale)
{
    return v == AL_LIMIT_NONE ? json_null() : json_integer(v / scale);
}

/* The API's JSON of one version (the org by its API id). */
static json_t *contract_json(struct al_ctx *c, const struct al_contract *k,
                             const struct al_store_contract_info *info)
{
    char org[AL_STORE_ID_MAX] = "";
    struct al_err e = {0};
    const struct al_contract_limits *l = &k->limits;
    json_t *rates = json_array();
    (void)al_store_org_id(c->srv->store, k->org, org, &e);
    for (unsigned i = 0; i < k->nrates; i++)
        json_array_append_new(
            rates, json_pack("{s:s,s:I,s:I,s:I}", "model", k->rates[i].model, "gpu_hour_micros",
                             (json_int_t)k->rates[i].rates.gpu_hour, "mig_slice_hour_micros",
                             (json_int_t)k->rates[i].rates.mig_slice_hour, "pool_gpu_hour_micros",
                             (json_int_t)k->rates[i].rates.pool_gpu_hour));
    json_t *j = json_pack(
        "{s:I,s:I,s:I,s:s,s:s,s:o,s:o,s:s,s:I,s:s,s:I,s:o,s:I,s:I,s:b,s:b,s:s}", "id",
        (json_int_t)k->id, "version", (json_int_t)k->version, "newest_version",
        (json_int_t)info->newest, "org", org, "terms", al_contract_terms_name(k->terms),
        "valid_from", al_time_json(k->valid_from), "valid_to", al_time_json(k->valid_to),
        "granularity", al_contract_gran_name(k->gran.unit), "min_hours",
        (json_int_t)k->gran.min_hours, "draw_period", k->draw_period_s == 86400 ? "day" : "hour",
        "discount_bp", (json_int_t)k->discount_bps, "rates", rates, "cancel_fee_micros",
        (json_int_t)k->cancel_fee, "cancel_fee_bp", (json_int_t)k->cancel_fee_bps,
        "admin_may_cancel_active", k->admin_may_cancel_active, "self_service", k->self_service,
        "after_window", k->payg_after_window ? "payg" : "stop");
    json_object_set_new(j, "credit_limit_micros", limit_json(l->credit_limit, 1));
    json_object_set_new(j, "max_concurrent_gpus", limit_json(l->max_gpus, AL_SHARE_PER_GPU));
    json_object_set_new(j, "max_reservation_s", limit_json(l->max_length_s, 1));
    json_object_set_new(j, "max_reservations_ahead", limit_json(l->max_ahead, 1));
    json_object_set_new(j, "monthly_spend_cap_micros", limit_json(l->month_cap, 1));
    json_object_set_new(j, "currency", json_string("USD"));
    json_object_set_new(j, "created_at", al_time_json(info->created_at));
    json_object_set_new(j, "created_by",
                        info->created_by[0] ? json_string(info->created_by) : json_null());
    json_object_set_new(j, "ended_at", info->ended_at ? al_time_json(info->ended_at) : json_null());
    return j;
}

/* Version `version` (0: newest) of the contract in the path, as the caller may see it: an
 * org's users see only their org's (another org's answers 404, as if absent). */
static int load(struct al_ctx *c, uint32_t version, struct al_contract *k,
                struct al_store_contract_info *info)
{
    uint64_t id = 0;
    char org[AL_STORE_ID_MAX];
    struct al_err e = {0};
    if (contract_id(c, &id))
        return c->err_code;
    int rc = al_store_contract_get(c->srv->store, id, version, k, info, &e);
    if (rc == 0 && (al_store_org_id(c->srv->store, k->org, org, &e) || !al_ctx_sees(c, org)))
        rc = AL_E_NOTFOUND;
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, version ? "version" : "id", "no contract %s%s%.0u", c->params[0],
                            version ? " version " : "", version);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* Record the version written and answer it (201 for a create, 200 otherwise). */
static int answer(struct al_ctx *c, enum al_event_kind kind, uint64_t id, int status)
{
    struct al_contract k = {0};
    struct al_store_contract_info info = {0};
    struct al_err e = {0};
    char object[24];
    int rc = al_store_contract_get(c->srv->store, id, 0, &k, &info, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_t *j = contract_json(c, &k, &info);
    snprintf(object, sizeof object, "%llu", (unsigned long long)id);
    if (al_event(c, kind, json_string_value(json_object_get(j, "org")), object,
                 json_deep_copy(j))) {
        json_decref(j);
        return c->err_code;
    }
    return al_http_reply(c, status, j);
}

static const char *const contract_fields[] = {"org",
                                              "terms",
                                              "valid_from",
                                              "valid_to",
                                              "granularity",
                                              "min_hours",
                                              "draw_period",
                                              "discount_bp",
                                              "rates",
                                              "cancel_fee_micros",
                                              "cancel_fee_bp",
                                              "admin_may_cancel_active",
                                              "self_service",
                                              "after_window",
                                              "credit_limit_micros",
                                              "max_concurrent_gpus",
                                              "max_reservation_s",
                                              "max_reservations_ahead",
                                              "monthly_spend_cap_micros",
                                              NULL};

static int post_contract(struct al_ctx *c)
{
    struct al_contract k = {
        .valid_from = c->now,
        .gran = {AL_GRAN_HOUR, 1},
        .draw_period_s = 3600,
        .limits = {0, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE}};
    const char *org_key = NULL, *terms = NULL;
    json_t *org = NULL;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, contract_fields) ||
        al_field_name(c, c->body, "org", true, &org_key) ||
        al_field_name(c, c->body, "terms", true, &terms) ||
        al_field_time(c, c->body, "valid_to", true, &k.valid_to))
        return c->err_code;
    if ((rc = al_store_org_get(c->srv->store, org_key, &org, &e)) == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s", org_key);
    if (rc == 0)
        rc = al_store_org_num(c->srv->store, json_string_value(json_object_get(org, "id")), &k.org,
                              &e);
    json_decref(org);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    /* invoiced terms owe up to a limit only when one is given; cash terms floor at zero */
    if (strcmp(terms, "invoiced") == 0)
        k.limits.credit_limit = AL_LIMIT_NONE;
    if (parse_contract(c, &k))
        return c->err_code;
    /* the store checks too; checked here first to name the API's field */
    k.id = 1;
    k.version = 1;
    if ((rc = al_contract_validate(&k, &e)) ||
        (rc = al_store_contract_create(c->srv->store, &k, c->now, c->user_id, &e)))
        return fail_core(c, rc, &e);
    return answer(c, AL_EVENT_CONTRACT_CREATED, k.id, 201);
}

static int post_amend(struct al_ctx *c)
{
    struct al_contract k = {0};
    struct al_store_contract_info info = {0};
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, contract_fields + 1) || load(c, 0, &k, &info) ||
        parse_contract(c, &k))
        return c->err_code;
    k.version = info.newest + 1;
    if ((rc = al_contract_validate(&k, &e)) ||
        (rc = al_store_contract_amend(c->srv->store, &k, c->now, c->user_id, &e)))
        return fail_core(c, rc, &e);
    return answer(c, AL_EVENT_CONTRACT_AMENDED, k.id, 200);
}

static int post_end(struct al_ctx *c)
{
    static const char *const allowed[] = {NULL};
    struct al_contract k = {0};
    struct al_store_contract_info info = {0};
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || load(c, 0, &k, &info))
        return c->err_code;
    if ((rc = al_store_contract_end(c->srv->store, k.id, c->now, c->user_id, &e)))
        return al_http_fail_err(c, rc, &e);
    return answer(c, AL_EVENT_CONTRACT_ENDED, k.id, 200);
}

static int get_contract(struct al_ctx *c)
{
    const char *v = al_http_query(c, "version");
    int64_t version = 0;
    struct al_contract k = {0};
    struct al_store_contract_info info = {0};
    if (v && al_parse_i64(v, 1, UINT32_MAX, &version))
        return al_http_fail(c, AL_E_INVAL, "version", "version must be an integer >= 1");
    if (load(c, (uint32_t)version, &k, &info))
        return c->err_code;
    return al_http_reply(c, 200, contract_json(c, &k, &info));
}

/* The contract (?version=N) as a printable page, with its org's name and customer code; its
 * JSON form is GET /v1/contracts/{id}. */
static int get_contract_document(struct al_ctx *c)
{
    const char *v = al_http_query(c, "version");
    int64_t version = 0;
    struct al_contract k = {0};
    struct al_store_contract_info info = {0};
    json_t *org = NULL, *j;
    char org_id[AL_STORE_ID_MAX], title[64];
    struct al_err e = {0};
    if (v && al_parse_i64(v, 1, UINT32_MAX, &version))
        return al_http_fail(c, AL_E_INVAL, "version", "version must be an integer >= 1");
    if (load(c, (uint32_t)version, &k, &info))
        return c->err_code;
    int rc = al_store_org_id(c->srv->store, k.org, org_id, &e);
    if (rc || (rc = al_store_org_get(c->srv->store, org_id, &org, &e)))
        return al_http_fail_err(c, rc, &e);
    j = contract_json(c, &k, &info);
    snprintf(title, sizeof title, "Contract %llu, version %u", (unsigned long long)k.id,
             (unsigned)k.version);
    rc = al_http_reply_text(c, 200, "text/html; charset=utf-8", al_doc_render(title, org, j));
    json_decref(j);
    json_decref(org);
    return rc;
}

/* Operators: every contract (or one org's with ?org=); an org's users: their org's. */
static int get_contracts(struct al_ctx *c)
{
    struct al_store_page pg;
    const char *org_key = c->role == AL_ROLE_OPERATOR ? al_http_query(c, "org") : c->org;
    uint64_t org = 0;
    json_t *items, *it;
    char *next = NULL;
    struct al_err e = {0};
    size_t i;
    int rc = 0;
    if (al_http_page(c, &pg))
        return c->err_code;
    if (c->role != AL_ROLE_OPERATOR && !c->org)
        return al_http_reply(c, 200, al_http_list(json_array(), NULL));
    if (org_key && (rc = al_store_org_num(c->srv->store, org_key, &org, &e)) == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s (an org id)", org_key);
    if (rc || (rc = al_store_contract_list(c->srv->store, org, pg, &items, &next, &e)))
        return al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
    static const char *const keys[] = {"valid_from", "valid_to", "created_at", "ended_at", NULL};
    json_array_foreach(items, i, it) al_time_fields(it, keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

const struct al_route al_routes_contracts[] = {
    {"POST", "/v1/contracts", post_contract, AL_ROLE_OPERATOR, true, false},
    {"GET", "/v1/contracts", get_contracts, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER,
     false, false},
    {"GET", "/v1/contracts/*", get_contract, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER,
     false, false},
    {"GET", "/v1/contracts/*/document", get_contract_document,
     AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN | AL_ROLE_MEMBER, false, false},
    {"POST", "/v1/contracts/*/amend", post_amend, AL_ROLE_OPERATOR, true, false},
    {"POST", "/v1/contracts/*/end", post_end, AL_ROLE_OPERATOR, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
