/* ask.c — an ask for capacity parsed from a JSON body or from query parameters into one
 * struct, checked field by field against the catalog and the registered fleet, recorded on
 * a request document and read back, and turned into the planner's request (ask.h). Requests,
 * quotes and offerings share it, so that what one accepts another can plan. */
#include "server/ask.h"

#include "core/catalog.h"
#include "server/cal.h"
#include "server/call.h"
#include "server/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const al_ask_fields[] = {"org",
                                     "kind",
                                     "model",
                                     "min_memory_gb",
                                     "count",
                                     "profile",
                                     "instance_memory_gb",
                                     "start",
                                     "end",
                                     "duration_hours",
                                     "earliest_start",
                                     "latest_start",
                                     "same_node",
                                     "zone",
                                     "min_tflops_bf16",
                                     "min_memory_bandwidth_gbs",
                                     "labels",
                                     "usage_window",
                                     "image",
                                     "framework",
                                     "workload",
                                     "notes",
                                     NULL};

#define PAST_TOLERANCE_S 300
#define MAX_TFLOPS       100000 /* whole TFLOPS: far above any GPU, so an ask fits in tenths */
#define MAX_BW_GBS       1000000
#define DEFAULT_RANGE_S  (7LL * 86400) /* offerings: latest start when none is asked */

int al_ask_org(struct al_ctx *c, json_t *b, json_t **org)
{
    const char *key = NULL;
    struct al_err e = {0};
    if (al_field_name(c, b, "org", c->role == AL_ROLE_OPERATOR, &key))
        return c->err_code;
    if (!key)
        key = c->org;
    int rc = al_store_org_get(c->srv->store, key, org, &e);
    if (rc == 0 && !al_ctx_sees(c, jstr(*org, "id"))) {
        json_decref(*org);
        *org = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s", key);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* ---- what: model, memory, profile, performance ---- */

/* The field an instance size came from: min_memory_gb means per instance for MIG. */
struct model_check {
    struct al_ask *a;
    const char *imem_field;
};

static bool mig_of(const struct al_ask *a)
{
    return a->ma.kind == AL_REQ_MIG;
}

/* Can model m serve the ask (its kind, memory, profile and performance), whatever the
 * capacity? The rule a quote chooses models by (core/planner.h), so that create accepts what
 * a quote can serve. */
static bool model_fits(const struct al_model_ask *ma, const struct al_gpu_model *m)
{
    struct al_model_choice ch;
    struct al_model_ask any = *ma;
    any.model = m;
    return al_planner_model_serves(&any, m, &ch) == 0;
}

/* Does a model of fleet `f` (NULL: of the catalog) serve ask ma? */
static bool any_fits(const struct al_fleet *f, const struct al_model_ask *ma)
{
    size_t n = f ? al_fleet_nmodels(f) : al_catalog_count();
    for (size_t i = 0; i < n; i++)
        if (model_fits(ma, f ? al_fleet_model(f, (unsigned)i) : al_catalog_at(i)))
            return true;
    return false;
}

/* The performance field a model (or its instance: profile >= 0) falls short of, or NULL. */
static const char *perf_short(const struct al_ask *a, const struct al_gpu_model *m, int profile)
{
    struct al_perf p = al_catalog_perf(m, profile);
    if (p.tflops_bf16_x10 < a->ma.perf.tflops_bf16_x10)
        return "min_tflops_bf16";
    if (p.mem_bw_gbs < a->ma.perf.mem_bw_gbs)
        return "min_memory_bandwidth_gbs";
    return NULL;
}

static int perf_fail(struct al_ctx *c, const struct al_ask *a, const char *field,
                     const struct al_gpu_model *m, int profile)
{
    struct al_perf p = al_catalog_perf(m, profile);
    bool tf = strcmp(field, "min_tflops_bf16") == 0;
    char what[96];
    snprintf(what, sizeof what, "%s%s%s", profile >= 0 ? "a MIG instance " : "",
             profile >= 0 ? m->profiles[profile].name : m->name, profile >= 0 ? " of " : "");
    if (profile >= 0)
        snprintf(what + strlen(what), sizeof what - strlen(what), "%s", m->name);
    if (tf)
        return al_http_fail(
            c, AL_E_INVAL, field, "%s has %u.%u dense BF16 TFLOPS, less than min_tflops_bf16 %lld",
            what, p.tflops_bf16_x10 / 10, p.tflops_bf16_x10 % 10, (long long)a->min_tflops);
    return al_http_fail(c, AL_E_INVAL, field,
                        "%s has %u GB/s of memory bandwidth, less than min_memory_bandwidth_gbs "
                        "%lld",
                        what, p.mem_bw_gbs, (long long)a->min_bw);
}

/* No model of the fleet serves the ask: name the field that rules them out. */
static int unsellable(struct al_ctx *c, const struct model_check *k)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    const struct al_ask *a = k->a;
    struct al_model_ask no_perf = a->ma;
    no_perf.perf = (struct al_perf){0, 0};
    if (any_fits(f, &no_perf)) {
        struct al_model_ask tf_only = no_perf;
        tf_only.perf.tflops_bf16_x10 = a->ma.perf.tflops_bf16_x10;
        const char *field = any_fits(f, &tf_only) ? "min_memory_bandwidth_gbs" : "min_tflops_bf16";
        return al_http_fail(
            c, AL_E_INVAL, field, "no GPU model in the fleet meets the ask with %s %lld", field,
            (long long)(strcmp(field, "min_tflops_bf16") == 0 ? a->min_tflops : a->min_bw));
    }
    const char *where = any_fits(NULL, &no_perf) ? "the fleet" : "the catalog";
    if (!mig_of(a))
        return al_http_fail(c, AL_E_INVAL, "min_memory_gb", "no GPU model in %s has %lld GB", where,
                            (long long)a->ma.min_mem_gb);
    struct al_model_ask any_size = no_perf;
    any_size.inst_mem_gb = 0;
    if (a->ma.profile && (!a->ma.inst_mem_gb || !any_fits(f, &any_size)))
        return al_http_fail(c, AL_E_INVAL, "profile", "no MIG model in %s has profile %s",
                            any_fits(NULL, &any_size) ? "the fleet" : "the catalog", a->ma.profile);
    return al_http_fail(c, AL_E_INVAL, k->imem_field, "no MIG instance%s%s in %s has %lld GB",
                        a->ma.profile ? " of profile " : "", a->ma.profile ? a->ma.profile : "",
                        where, (long long)a->ma.inst_mem_gb);
}

/* An ask can only be sold on GPUs the fleet has: a catalog model no node has registered (a
 * GPU of it, healthy or not) cannot be quoted, and neither can memory, a profile or
 * performance no model of the fleet has. Refused naming the field (docs/api.md, "Asks"). */
static int check_sellable(struct al_ctx *c, const struct model_check *k)
{
    const struct al_fleet *f = c->srv->cal->fleet;
    const struct al_gpu_model *m = k->a->ma.model;
    if (m && al_fleet_model_slot(f, m) < 0)
        return al_http_fail(c, AL_E_INVAL, "model",
                            "no %s GPU is in the fleet: it cannot be sold until a node "
                            "registers one",
                            m->name);
    if (m || any_fits(f, &k->a->ma))
        return 0;
    return unsellable(c, k);
}

static int check_gpu_ask(struct al_ctx *c, struct model_check *k)
{
    struct al_ask *a = k->a;
    const struct al_gpu_model *m = a->ma.model;
    if (a->ma.profile || a->ma.inst_mem_gb)
        return al_http_fail(c, AL_E_INVAL, a->ma.profile ? "profile" : "instance_memory_gb",
                            "%s is only for kind mig",
                            a->ma.profile ? "profile" : "instance_memory_gb");
    if (!m && !a->ma.min_mem_gb)
        return al_http_fail(c, AL_E_INVAL, "model", "kind gpu needs model or min_memory_gb");
    if (m && a->ma.min_mem_gb && m->mem_gb < a->ma.min_mem_gb)
        return al_http_fail(c, AL_E_INVAL, "min_memory_gb",
                            "%s has %u GB, less than min_memory_gb %lld", m->name, m->mem_gb,
                            (long long)a->ma.min_mem_gb);
    const char *slow = m ? perf_short(a, m, -1) : NULL;
    if (slow)
        return perf_fail(c, a, slow, m, -1);
    return check_sellable(c, k);
}

/* The profile of m with the most memory among those a memory ask picks from (no +me/+gfx
 * variants: al_catalog_pick's plain_only), or NULL. */
static const struct al_mig_profile *largest_plain(const struct al_gpu_model *m)
{
    const struct al_mig_profile *big = NULL;
    for (unsigned i = 0; i < m->nprofiles; i++)
        if (m->profiles[i].attrs == 0 && (!big || m->profiles[i].mem_mib > big->mem_mib))
            big = &m->profiles[i];
    return big;
}

/* A MIG ask on a named model: the profile (named, or picked by size) must exist, hold the
 * instance size and meet the performance floors (the instance's share). */
static int check_mig_model(struct al_ctx *c, struct model_check *k)
{
    struct al_ask *a = k->a;
    const struct al_gpu_model *m = a->ma.model;
    if (!m->mig)
        return al_http_fail(c, AL_E_INVAL, "model", "%s does not support MIG", m->name);
    if (a->ma.profile) {
        int pi = al_catalog_profile_index(m, a->ma.profile);
        if (pi < 0)
            return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG profile %s", m->name,
                                a->ma.profile);
        a->ma.profile = m->profiles[pi].name;
        const char *slow = perf_short(a, m, pi);
        if (slow)
            return perf_fail(c, a, slow, m, pi);
        if (!model_fits(&a->ma, m))
            return al_http_fail(c, AL_E_INVAL, k->imem_field, "profile %s has less than %lld GB",
                                a->ma.profile, (long long)a->ma.inst_mem_gb);
        return 0;
    }
    if (model_fits(&a->ma, m))
        return 0;
    struct al_model_ask no_mem = a->ma;
    no_mem.inst_mem_gb = 0;
    if (!model_fits(&no_mem, m)) /* no instance is fast enough: the biggest says by how much */
        return perf_fail(c, a, perf_short(a, m, -1) ? perf_short(a, m, -1) : "min_tflops_bf16", m,
                         -1);
    const struct al_mig_profile *big = largest_plain(m);
    return al_http_fail(c, AL_E_INVAL, k->imem_field,
                        "no MIG instance of %s has %lld GB%s (the largest, %s, has %u MiB)",
                        m->name, (long long)a->ma.inst_mem_gb,
                        a->min_tflops || a->min_bw ? " and the performance asked" : "",
                        big ? big->name : "none", big ? big->mem_mib : 0);
}

static int check_mig_ask(struct al_ctx *c, struct model_check *k, int64_t mem, int64_t imem)
{
    struct al_ask *a = k->a;
    k->imem_field = "instance_memory_gb";
    if (!imem && mem) {
        imem = mem; /* min_memory_gb means per instance for MIG */
        k->imem_field = "min_memory_gb";
    }
    a->ma.min_mem_gb = 0;
    a->ma.inst_mem_gb = (uint64_t)imem;
    if (!a->ma.profile && !imem)
        return al_http_fail(c, AL_E_INVAL, "profile",
                            "kind mig needs profile or instance_memory_gb");
    if (a->ma.model && check_mig_model(c, k))
        return c->err_code;
    return check_sellable(c, k);
}

/* Label selectors: an object of at most AL_ASK_MAX_LABELS "key": "value" pairs, each part
 * 1..63 characters of A-Z a-z 0-9 . _ - (a value may be "": the key with any value). */
static int parse_labels(struct al_ctx *c, json_t *b, struct al_ask *a)
{
    json_t *l = json_object_get(b, "labels"), *v;
    const char *k;
    a->labels[0] = '\0';
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_object(l) || json_object_size(l) > AL_ASK_MAX_LABELS)
        return al_http_fail(c, AL_E_INVAL, "labels",
                            "labels must be an object of at most %d \"key\": \"value\" pairs",
                            AL_ASK_MAX_LABELS);
    json_object_foreach(l, k, v)
    {
        if (!al_cal_label_part_ok(k, false) || !al_cal_label_part_ok(json_string_value(v), true))
            return al_http_fail(c, AL_E_INVAL, "labels",
                                "label keys and values are 1..%d characters of A-Z a-z 0-9 . _ "
                                "- (a value may be empty: any value)",
                                AL_CAL_LABEL_PART_MAX);
    }
    /* 8 pairs of 63 + 63 bytes would not fit an offering id: refused, never cut */
    if (al_cal_labels_text(l, a->labels, AL_ASK_LABELS_TEXT_MAX + 1) != 0)
        return al_http_fail(c, AL_E_INVAL, "labels",
                            "labels longer than %d bytes in all (as k=v,k2=v2)",
                            AL_ASK_LABELS_TEXT_MAX);
    return 0;
}

static int parse_what(struct al_ctx *c, json_t *b, struct al_ask *a)
{
    const char *model = NULL, *kind = NULL;
    int64_t mem = 0, imem = 0, count = 0;
    struct model_check k = {a, "instance_memory_gb"};
    if (al_field_name(c, b, "kind", true, &kind))
        return c->err_code;
    if (strcmp(kind, "gpu") != 0 && strcmp(kind, "mig") != 0)
        return al_http_fail(c, AL_E_INVAL, "kind", "kind must be gpu or mig");
    a->ma.kind = strcmp(kind, "mig") == 0 ? AL_REQ_MIG : AL_REQ_WHOLE;
    if (al_field_int(c, b, "count", true, 1, AL_PLAN_MAX, &count) ||
        al_field_limit(c, b, "model", AL_LIMIT_MODEL, false, &model) ||
        al_field_int(c, b, "min_memory_gb", false, 1, 4096, &mem) ||
        al_field_limit(c, b, "profile", AL_LIMIT_PROFILE, false, &a->ma.profile) ||
        al_field_int(c, b, "instance_memory_gb", false, 1, 4096, &imem) ||
        al_field_int(c, b, "min_tflops_bf16", false, 1, MAX_TFLOPS, &a->min_tflops) ||
        al_field_int(c, b, "min_memory_bandwidth_gbs", false, 1, MAX_BW_GBS, &a->min_bw) ||
        parse_labels(c, b, a))
        return c->err_code;
    a->count = (unsigned)count;
    a->ma.perf = (struct al_perf){(unsigned)a->min_tflops * 10, (unsigned)a->min_bw};
    if (model && !(a->ma.model = al_catalog_find(model)))
        return al_http_fail(c, AL_E_INVAL, "model", "unknown GPU model %s", model);
    if (mig_of(a))
        return check_mig_ask(c, &k, mem, imem);
    a->ma.min_mem_gb = (uint64_t)mem;
    a->ma.inst_mem_gb = (uint64_t)imem;
    return check_gpu_ask(c, &k);
}

/* ---- when ---- */

/* A fixed window [s, e). */
static int check_window(struct al_ctx *c, struct al_ask *a)
{
    if (!a->s || !a->e)
        return al_http_fail(c, AL_E_INVAL, a->s ? "end" : "start", "start and end go together");
    if (a->e <= a->s)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be after start");
    if (a->e - a->s > AL_FLOW_MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end", "window longer than 5 years");
    if (a->s < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "start", "start is in the past");
    if (al_flow_horizon(c, "start", a->s) || al_flow_horizon(c, "end", a->e))
        return c->err_code;
    a->fixed = true;
    a->dur = a->e - a->s;
    a->es = a->ls = a->s;
    return 0;
}

/* A duration with a start range [es, ls]. */
static int check_range(struct al_ctx *c, struct al_ask *a)
{
    if (!a->dur)
        return al_http_fail(c, AL_E_INVAL, "start",
                            "give start and end, or duration_hours with earliest_start");
    if (!a->es)
        return al_http_fail(c, AL_E_INVAL, "earliest_start", "duration_hours needs earliest_start");
    if (!a->ls)
        a->ls = a->es;
    if (a->ls < a->es)
        return al_http_fail(c, AL_E_INVAL, "latest_start", "latest_start is before earliest_start");
    if (a->ls - a->es > AL_FLOW_MAX_SEARCH_S)
        return al_http_fail(c, AL_E_INVAL, "latest_start", "start range longer than 90 days");
    if (a->es < c->now - PAST_TOLERANCE_S)
        return al_http_fail(c, AL_E_INVAL, "earliest_start", "earliest_start is in the past");
    /* the last window the range allows must end within the horizon */
    if (al_flow_horizon(c, "earliest_start", a->es) ||
        al_flow_horizon(c, a->ls > a->es ? "latest_start" : "earliest_start", a->ls + a->dur))
        return c->err_code;
    return 0;
}

static int parse_when(struct al_ctx *c, json_t *b, struct al_ask *a)
{
    int64_t hours = 0;
    if (al_field_time(c, b, "start", false, &a->s) || al_field_time(c, b, "end", false, &a->e) ||
        al_field_int(c, b, "duration_hours", false, 1, AL_FLOW_MAX_WINDOW_S / 3600, &hours) ||
        al_field_time(c, b, "earliest_start", false, &a->es) ||
        al_field_time(c, b, "latest_start", false, &a->ls))
        return c->err_code;
    a->dur = hours * 3600;
    if ((a->s || a->e) && (hours || a->es || a->ls))
        return al_http_fail(c, AL_E_INVAL,
                            hours   ? "duration_hours"
                            : a->es ? "earliest_start"
                                    : "latest_start",
                            "give start and end, or duration_hours with earliest_start, not both");
    return a->s || a->e ? check_window(c, a) : check_range(c, a);
}

int al_ask_parse(struct al_ctx *c, json_t *b, struct al_ask *a)
{
    memset(a, 0, sizeof *a);
    if (parse_what(c, b, a) || parse_when(c, b, a) ||
        al_field_bool(c, b, "same_node", &a->same_node) ||
        al_field_limit(c, b, "zone", AL_LIMIT_ZONE, false, &a->zone))
        return c->err_code;
    return 0;
}

/* ---- from query parameters ---- */

enum qtype { Q_STR, Q_INT, Q_DUR, Q_BOOL, Q_LABELS };

/* A query parameter and the body member it becomes (errors name the query's). */
static const struct qmap {
    const char *query, *member;
    enum qtype type;
} qmaps[] = {
    {"org", "org", Q_STR},
    {"kind", "kind", Q_STR},
    {"model", "model", Q_STR},
    {"min_memory_gb", "min_memory_gb", Q_INT},
    {"count", "count", Q_INT},
    {"profile", "profile", Q_STR},
    {"instance_memory_gb", "instance_memory_gb", Q_INT},
    {"duration", "duration_hours", Q_DUR},
    {"earliest", "earliest_start", Q_STR},
    {"latest", "latest_start", Q_STR},
    {"min_tflops_bf16", "min_tflops_bf16", Q_INT},
    {"min_memory_bandwidth_gbs", "min_memory_bandwidth_gbs", Q_INT},
    {"labels", "labels", Q_LABELS},
    {"same_node", "same_node", Q_BOOL},
    {"zone", "zone", Q_STR},
};

#define NQMAPS (sizeof qmaps / sizeof qmaps[0])

/* "24", "24h" (hours) or "2d" (days), in hours; -1 when malformed or out of range. */
static int64_t parse_hours(const char *v)
{
    char num[16];
    size_t n = strlen(v);
    int64_t mult = 1, h;
    if (n > 0 && (v[n - 1] == 'h' || v[n - 1] == 'd')) {
        mult = v[n - 1] == 'd' ? 24 : 1;
        n--;
    }
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, v, n);
    num[n] = '\0';
    if (al_parse_i64(num, 1, AL_FLOW_MAX_WINDOW_S / 3600, &h) != 0 ||
        h * mult > AL_FLOW_MAX_WINDOW_S / 3600)
        return -1;
    return h * mult;
}

/* "k=v,k2=v2,flag" as {"k": "v", "k2": "v2", "flag": ""}; NULL when an item repeats a key or
 * there are more items than selectors allowed (the parts are checked by parse_labels). */
static json_t *parse_label_list(const char *v)
{
    json_t *o = json_object();
    char item[2 * AL_CAL_LABEL_PART_MAX + 2];
    for (const char *p = v; o && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n >= sizeof item || json_object_size(o) >= AL_ASK_MAX_LABELS) {
            json_decref(o);
            return NULL;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        char *eq = strchr(item, '=');
        if (eq)
            *eq++ = '\0';
        if (json_object_get(o, item) || json_object_set_new(o, item, json_string(eq ? eq : ""))) {
            json_decref(o);
            return NULL;
        }
        p = end ? end + 1 : p + n;
    }
    return o;
}

int al_ask_labels_query(struct al_ctx *c, const char *v, char *out, size_t cap)
{
    json_t *b = json_object(), *l = parse_label_list(v);
    struct al_ask a;
    int rc;
    if (!l)
        rc = al_http_fail(c, AL_E_INVAL, "labels",
                          "labels must be at most %d distinct key=value items, comma-separated",
                          AL_ASK_MAX_LABELS);
    else if (json_object_set_new(b, "labels", l) != 0)
        rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    else if ((rc = parse_labels(c, b, &a)) == 0)
        snprintf(out, cap, "%s", a.labels);
    json_decref(b);
    return rc;
}

static const struct qmap *qmap_of(const char *query)
{
    for (size_t i = 0; i < NQMAPS; i++)
        if (strcmp(qmaps[i].query, query) == 0)
            return &qmaps[i];
    return NULL;
}

/* One query parameter into body b. */
static int query_member(struct al_ctx *c, const struct qmap *q, const char *v, json_t *b)
{
    int64_t n;
    json_t *j = NULL;
    switch (q->type) {
    case Q_STR:
        j = json_string(v);
        break;
    case Q_INT:
        if (al_parse_i64(v, INT64_MIN, INT64_MAX, &n) != 0)
            return al_http_fail(c, AL_E_INVAL, q->query, "%s must be an integer", q->query);
        j = json_integer(n);
        break;
    case Q_DUR:
        if ((n = parse_hours(v)) < 0)
            return al_http_fail(c, AL_E_INVAL, q->query,
                                "%s must be whole hours (\"24\", \"24h\") or days (\"2d\"), at "
                                "most 5 years",
                                q->query);
        j = json_integer(n);
        break;
    case Q_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return al_http_fail(c, AL_E_INVAL, q->query, "%s must be true or false", q->query);
        j = json_boolean(strcmp(v, "true") == 0);
        break;
    case Q_LABELS:
        if (!(j = parse_label_list(v)))
            return al_http_fail(c, AL_E_INVAL, q->query,
                                "%s must be at most %d distinct key=value items, comma-separated",
                                q->query, AL_ASK_MAX_LABELS);
        break;
    }
    if (!j || json_object_set_new(b, q->member, j) != 0)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return 0;
}

/* The query parameters as body members: each known, none twice (server/call.c refuses a
 * repeated one), `extra` ones left to the caller. */
static int query_body(struct al_ctx *c, const char *const *extra, json_t *b)
{
    for (size_t i = 0; c->call && i < c->call->nparams; i++) {
        const char *k = c->call->params[i].key, *v = c->call->params[i].val;
        const struct qmap *q = qmap_of(k);
        const char *const *x = extra;
        while (!q && x && *x && strcmp(*x, k) != 0)
            x++;
        if (!q && !(x && *x)) {
            char name[AL_HTTP_MAX_NAME + 1];
            snprintf(name, sizeof name, "%s", k);
            return al_http_fail(c, AL_E_INVAL, name, "unknown query parameter %s", name);
        }
        if (q && query_member(c, q, v, b))
            return c->err_code;
    }
    return 0;
}

/* The query name of body member `member` (the error names what the caller sent). */
static const char *query_name(const char *member)
{
    for (size_t i = 0; i < NQMAPS; i++)
        if (strcmp(qmaps[i].member, member) == 0)
            return qmaps[i].query;
    return member;
}

int al_ask_query(struct al_ctx *c, const char *const *extra, json_t **body, struct al_ask *a)
{
    json_t *b = json_object();
    *body = b;
    if (!b)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (query_body(c, extra, b))
        return c->err_code;
    if (!json_object_get(b, "duration_hours"))
        return al_http_fail(c, AL_E_INVAL, "duration", "duration is required");
    if (!json_object_get(b, "kind"))
        json_object_set_new(b, "kind", json_string("gpu"));
    if (!json_object_get(b, "count"))
        json_object_set_new(b, "count", json_integer(1));
    int64_t es = c->now, d = json_integer_value(json_object_get(b, "duration_hours")) * 3600;
    if (!json_object_get(b, "earliest_start"))
        json_object_set_new(b, "earliest_start", al_time_json(c->now));
    else if (al_time_parse(jstr(b, "earliest_start"), &es) != 0)
        return al_http_fail(c, AL_E_INVAL, "earliest",
                            "earliest must be an RFC 3339 UTC time like 2026-12-01T00:00:00Z");
    if (!json_object_get(b, "latest_start")) {
        /* a week of starts, short of the sale horizon */
        int64_t ls = es + DEFAULT_RANGE_S, last = c->now + AL_FLOW_HORIZON_S - d;
        json_object_set_new(b, "latest_start", al_time_json(ls < last ? ls : es));
    }
    if (al_ask_parse(c, b, a) != 0) {
        char field[AL_HTTP_MAX_NAME + 1];
        snprintf(field, sizeof field, "%s", query_name(c->err_field));
        snprintf(c->err_field, sizeof c->err_field, "%s", field);
        if (c->err_details && json_object_get(c->err_details, "field"))
            json_object_set_new(c->err_details, "field", json_string(field));
        return c->err_code;
    }
    return 0;
}

/* ---- the request document ---- */

static json_t *int_or_null(int64_t v)
{
    return v ? json_integer(v) : json_null();
}

json_t *al_ask_labels_json(const char *text)
{
    json_t *o = json_object();
    char buf[AL_FLEET_LABELS_MAX];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *p = buf; o && *p;) {
        char *end = strchr(p, ',');
        if (end)
            *end = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        json_object_set_new(o, p, json_string(eq ? eq : ""));
        if (!end)
            break;
        p = end + 1;
    }
    return o;
}

void al_ask_write(const struct al_ask *a, json_t *doc)
{
    bool mig = mig_of(a);
    json_object_set_new(doc, "kind", json_string(mig ? "mig" : "gpu"));
    json_object_set_new(doc, "count", json_integer(a->count));
    json_object_set_new(doc, "model", a->ma.model ? json_string(a->ma.model->name) : json_null());
    json_object_set_new(doc, "min_memory_gb", int_or_null(mig ? 0 : (int64_t)a->ma.min_mem_gb));
    json_object_set_new(doc, "profile", a->ma.profile ? json_string(a->ma.profile) : json_null());
    json_object_set_new(doc, "instance_memory_gb",
                        int_or_null(mig ? (int64_t)a->ma.inst_mem_gb : 0));
    json_object_set_new(doc, "min_tflops_bf16", int_or_null(a->min_tflops));
    json_object_set_new(doc, "min_memory_bandwidth_gbs", int_or_null(a->min_bw));
    json_object_set_new(doc, "labels", al_ask_labels_json(a->labels));
    if (a->fixed) {
        json_object_set_new(doc, "start", al_time_json(a->s));
        json_object_set_new(doc, "end", al_time_json(a->e));
    } else {
        json_object_set_new(doc, "duration_hours", json_integer(a->dur / 3600));
        json_object_set_new(doc, "earliest_start", al_time_json(a->es));
        json_object_set_new(doc, "latest_start", al_time_json(a->ls));
    }
    json_object_set_new(doc, "same_node", json_boolean(a->same_node));
    json_object_set_new(doc, "zone", a->zone ? json_string(a->zone) : json_null());
}

static int64_t jint(json_t *doc, const char *k)
{
    return json_integer_value(json_object_get(doc, k));
}

void al_ask_read(json_t *doc, struct al_ask *a)
{
    memset(a, 0, sizeof *a);
    bool mig = strcmp(jstr(doc, "kind"), "mig") == 0;
    /* the request's checks kept every number >= 0 and within its bounds */
    a->ma = (struct al_model_ask){mig ? AL_REQ_MIG : AL_REQ_WHOLE,
                                  jstr(doc, "model") ? al_catalog_find(jstr(doc, "model")) : NULL,
                                  jstr(doc, "profile"),
                                  (uint64_t)jint(doc, "min_memory_gb"),
                                  (uint64_t)jint(doc, "instance_memory_gb"),
                                  {(unsigned)jint(doc, "min_tflops_bf16") * 10,
                                   (unsigned)jint(doc, "min_memory_bandwidth_gbs")}};
    a->min_tflops = jint(doc, "min_tflops_bf16");
    a->min_bw = jint(doc, "min_memory_bandwidth_gbs");
    /* requests made before selectors existed have no labels: none */
    al_cal_labels_text(json_object_get(doc, "labels"), a->labels, sizeof a->labels);
    a->count = (unsigned)jint(doc, "count");
    a->same_node = json_is_true(json_object_get(doc, "same_node"));
    a->zone = jstr(doc, "zone");
    a->fixed = jstr(doc, "start") != NULL;
    if (a->fixed) {
        a->s = jtime(doc, "start");
        a->e = jtime(doc, "end");
        a->dur = a->e - a->s;
        a->es = a->ls = a->s;
    } else {
        a->dur = jint(doc, "duration_hours") * 3600;
        a->es = jtime(doc, "earliest_start");
        a->ls = jtime(doc, "latest_start");
    }
}

/* ---- planning ---- */

void al_ask_request(const struct al_ask *a, const struct al_model_choice *ch, struct al_request *r)
{
    memset(r, 0, sizeof *r);
    r->kind = a->ma.kind;
    r->model = ch->model;
    r->profile = ch->profile;
    r->count = a->count;
    r->same_node = a->same_node;
    r->where.zone = a->zone;
    r->where.labels = a->labels[0] ? a->labels : NULL;
    r->where.pool = -1;
    r->start = a->fixed ? a->s : a->es;
    r->end = r->start + a->dur;
}

int al_ask_try_model(struct al_cal *cal, const struct al_ask *a, const struct al_gpu_model *m,
                     struct al_request *r, struct al_plan *plan, struct al_err *err)
{
    int64_t start;
    struct al_model_choice ch;
    if (al_planner_model_serves(&a->ma, m, &ch) != 0)
        return al_err_set(err, AL_E_NOFIT, "%s cannot serve this ask", m->name);
    al_ask_request(a, &ch, r);
    if (al_fleet_model_slot(cal->fleet, m) < 0)
        return al_err_set(err, AL_E_NOFIT, "no %s GPU in the fleet", m->name);
    if (!a->fixed) {
        if (al_planner_earliest(cal->planner, r, a->dur, a->ls, &start, 1, NULL) == 1)
            r->start = start;
        r->end = r->start + a->dur;
    }
    return al_planner_plan(cal->planner, r, plan, err);
}

/* Forget the failure the call recorded (a price missing is an answer here, not an error). */
static void clear_fail(struct al_ctx *c)
{
    c->err_code = 0;
    c->err_field[0] = c->err_msg[0] = '\0';
    json_decref(c->err_details);
    c->err_details = NULL;
}

int al_ask_price(struct al_ctx *c, const struct al_charge_org *org, const struct al_ask *a,
                 const struct al_model_choice *ch, int64_t s, int64_t e, json_t *o)
{
    struct al_charge_price pr = {0};
    int rc = al_charge_price(c, org, &(struct al_quote_ask){ch->model, ch->profile, a->count, s, e},
                             &pr);
    if (rc == AL_E_CONFLICT && strcmp(c->err_field, "model") == 0) {
        clear_fail(c);
        json_object_set_new(o, "lines", json_array());
        json_object_set_new(o, "total_micros", json_null());
        json_object_set_new(o, "price_version", json_null());
        json_object_set_new(o, "currency", json_string("USD"));
        return 0;
    }
    if (rc)
        return rc;
    json_object_set_new(o, "lines", pr.lines);
    json_object_set_new(o, "total_micros", json_integer(pr.total));
    json_object_set_new(o, "currency", json_string("USD"));
    al_charge_price_terms(o, &pr);
    return 0;
}
