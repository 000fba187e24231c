/* routes_metrics.c — GET /metrics in the Prometheus text format (docs/metrics.md): the
 * process's counters (server/metrics.h), the fleet's GPUs from the in-memory copy,
 * reservations, balances, heartbeats and MIG instances from small aggregate queries. A read unit:
 * the server's lock is held for those queries only, never for a write. Who may read it: an
 * operator, or whoever holds --metrics-token-file's token (what Prometheus sends). */
#include "server/http.h"

#include "core/state.h"
#include "server/accesslog.h"
#include "server/cal.h"
#include "server/call.h"
#include "server/metrics.h"
#include "server/promtext.h"
#include "server/routes.h"

#include <stdlib.h>
#include <string.h>

/* The token of an Authorization field "Bearer <token>" (the scheme in any case, blanks
 * around the token), into *tok and *n; false when the field has another shape. */
static bool bearer_of(const struct al_kv *h, const char **tok, size_t *n)
{
    static const char scheme[] = "bearer ";
    size_t i = sizeof scheme - 1, end = h->val_len;
    if (end < i)
        return false;
    for (size_t k = 0; k < i; k++) { /* ASCII case, never the locale's */
        char ch = h->val[k];
        if ((ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch) != scheme[k])
            return false;
    }
    while (i < end && h->val[i] == ' ')
        i++;
    while (end > i && (h->val[end - 1] == ' ' || h->val[end - 1] == '\t'))
        end--;
    if (end == i)
        return false;
    *tok = h->val + i;
    *n = end - i;
    return true;
}

/* The caller holds the metrics token, or is an operator (under the lock: this unit reads).
 * 0, or the call's code (401, 403). */
static int metrics_auth(struct al_ctx *c)
{
    static const struct al_route operators = {.roles = AL_ROLE_OPERATOR};
    const struct al_kv *h = c->call ? al_req_header(c->call->req, "Authorization", NULL) : NULL;
    const char *tok;
    size_t n;
    if (h && bearer_of(h, &tok, &n) && al_metrics_token_ok(c->srv->metrics, tok, n))
        return 0;
    return al_auth_allowed(c, &operators, true) ? 0 : c->err_code;
}

/* ---- the fleet, from the in-memory copy ---- */

enum gpu_state {
    GPU_USABLE,
    GPU_DRAINED,
    GPU_UNHEALTHY,
    GPU_NODE_OFFLINE,
    GPU_ABSENT,
    GPU_NSTATES
};
static const char *const gpu_states[GPU_NSTATES] = {"usable", "drained", "unhealthy",
                                                    "node_offline", "absent"};

/* One state per GPU, the first that applies: why it cannot be sold comes before drained. */
static enum gpu_state gpu_state_of(const struct al_fleet *f, const struct al_gpu *g)
{
    const struct al_node *node = al_fleet_node(f, g->node);
    if (!g->present)
        return GPU_ABSENT;
    if (node && node->offline)
        return GPU_NODE_OFFLINE;
    if (!g->healthy)
        return GPU_UNHEALTHY;
    return g->drained ? GPU_DRAINED : GPU_USABLE;
}

/* What one model's GPUs count. */
struct model_count {
    uint64_t state[GPU_NSTATES];
    uint64_t held; /* GPUs with a hold now */
};

static void count_gpu(const struct al_cal *cal, uint32_t id, const struct al_gpu *g, int64_t now,
                      struct model_count *mc)
{
    mc->state[gpu_state_of(cal->fleet, g)]++;
    mc->held += al_calendar_mask(cal->cal, id, now, now + 1) != 0;
}

/* The two families of the fleet, each with its samples for every model (a family's samples
 * must follow its header, together). */
static void write_models(struct al_prom *p, const struct al_fleet *f, const struct model_count *mc,
                         unsigned nmodels)
{
    al_prom_family(p, "allot_gpus", "gauge",
                   "GPUs by model and state: usable, drained, unhealthy, node_offline (its node "
                   "missed its heartbeats), absent (no longer reported).");
    for (unsigned i = 0; i < nmodels; i++)
        for (size_t s = 0; s < GPU_NSTATES; s++) {
            const char *labels[] = {"model", al_fleet_model(f, i)->name, "state", gpu_states[s],
                                    NULL};
            al_prom_sample_u64(p, "allot_gpus", labels, mc[i].state[s]);
        }
    al_prom_family(p, "allot_gpus_held", "gauge",
                   "GPUs with a hold now (a reservation, a quote or pool work), by model.");
    for (unsigned i = 0; i < nmodels; i++) {
        const char *labels[] = {"model", al_fleet_model(f, i)->name, NULL};
        al_prom_sample_u64(p, "allot_gpus_held", labels, mc[i].held);
    }
}

/* GPUs by model and state, and those held now. Under the lock, which every change of srv->cal
 * holds too. */
static int write_fleet(struct al_ctx *c, struct al_prom *p)
{
    const struct al_cal *cal = c->srv->cal;
    unsigned nmodels = al_fleet_nmodels(cal->fleet);
    struct model_count *mc = calloc(nmodels ? nmodels : 1, sizeof *mc);
    if (!mc)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    for (uint32_t id = 0; id < al_fleet_ngpus(cal->fleet); id++) {
        const struct al_gpu *g = al_fleet_gpu(cal->fleet, id);
        if (g && g->model_slot < nmodels)
            count_gpu(cal, id, g, c->now, &mc[g->model_slot]);
    }
    write_models(p, cal->fleet, mc, nmodels);
    free(mc);
    return 0;
}

/* ---- the store's aggregates ---- */

/* Every key of `o` ({key: integer}) as a sample of `name` with label `label`. */
static void write_counts(struct al_prom *p, const char *name, const char *label, json_t *o)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        const char *labels[] = {label, k, NULL};
        al_prom_sample_i64(p, name, labels, (int64_t)json_integer_value(v));
    }
}

/* Reservations in every state (0 when none: the series exists before its first one). */
static void write_reservations(struct al_prom *p, json_t *counts)
{
    al_prom_family(p, "allot_reservations", "gauge", "Reservations by state.");
    for (int i = 0; i < AL_RSV_NSTATES; i++) {
        const char *state = al_state_rsv_name((enum al_rsv_state)i);
        const char *labels[] = {"state", state, NULL};
        al_prom_sample_i64(p, "allot_reservations", labels,
                           (int64_t)json_integer_value(json_object_get(counts, state)));
    }
}

/* The MIG instances the agents reported, by model, profile and state. */
static void write_mig(struct al_prom *p, json_t *rows)
{
    size_t i;
    json_t *r;
    al_prom_family(p, "allot_mig_instances", "gauge",
                   "MIG instances the node agents reported, by model, profile and state (held: "
                   "a hold covers its units now; free).");
    json_array_foreach(rows, i, r)
    {
        const char *labels[] = {"model",   json_string_value(json_object_get(r, "model")),
                                "profile", json_string_value(json_object_get(r, "profile")),
                                "state",   json_string_value(json_object_get(r, "state")),
                                NULL};
        al_prom_sample_i64(p, "allot_mig_instances", labels,
                           (int64_t)json_integer_value(json_object_get(r, "n")));
    }
}

/* Reservations by state, the ledger's balances, and each node's heartbeat age. */
static int write_store(struct al_ctx *c, struct al_prom *p)
{
    json_t *m = NULL, *n;
    struct al_err e = {0};
    size_t i;
    int rc = al_store_metrics(c->srv->store, c->now, &m, &e);
    if (rc != 0)
        return al_http_fail_err(c, rc, &e);
    write_reservations(p, json_object_get(m, "reservations"));
    al_prom_family(p, "allot_ledger_balance_micros", "gauge",
                   "The ledger's balances summed by account (org_cash, org_accrued, "
                   "org_receivable over every org; revenue, refunds, external), in micro-units "
                   "of the currency.");
    write_counts(p, "allot_ledger_balance_micros", "account", json_object_get(m, "balances"));
    al_prom_family(p, "allot_node_heartbeat_age_seconds", "gauge",
                   "Seconds since each node's last heartbeat.");
    json_array_foreach(json_object_get(m, "nodes"), i, n)
    {
        const char *labels[] = {"node", json_string_value(json_object_get(n, "name")), NULL};
        int64_t seen = (int64_t)json_integer_value(json_object_get(n, "last_seen"));
        al_prom_sample_i64(p, "allot_node_heartbeat_age_seconds", labels,
                           c->now > seen ? c->now - seen : 0);
    }
    write_mig(p, json_object_get(m, "mig"));
    al_prom_family(p, "allot_nodes_online", "gauge", "Nodes online (1) or offline (0).");
    json_array_foreach(json_object_get(m, "nodes"), i, n)
    {
        const char *labels[] = {"node", json_string_value(json_object_get(n, "name")), NULL};
        al_prom_sample_u64(p, "allot_nodes_online", labels,
                           json_is_true(json_object_get(n, "online")) ? 1 : 0);
    }
    json_decref(m);
    return 0;
}

static int get_metrics(struct al_ctx *c)
{
    struct al_prom p;
    char *text;
    int rc;
    if ((rc = metrics_auth(c)) != 0)
        return rc;
    al_prom_init(&p);
    al_metrics_write(c->srv->metrics, &p);
    al_prom_family(&p, "allot_access_log_dropped_total", "counter",
                   "Access log lines dropped: its buffer was full, or the write failed.");
    al_prom_sample_u64(&p, "allot_access_log_dropped_total", NULL,
                       al_accesslog_dropped(c->srv->accesslog));
    if ((rc = write_fleet(c, &p)) != 0 || (rc = write_store(c, &p)) != 0) {
        al_prom_free(&p);
        return rc;
    }
    if (!(text = al_prom_take(&p, NULL)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return al_http_reply_text(c, 200, AL_PROM_CONTENT_TYPE, text);
}

/* Public to the router: the handler checks the caller itself (the metrics token is no user). A
 * read unit (not a snapshot): the store's aggregates need the lock. */
const struct al_route al_routes_metrics[] = {
    {"GET", "/metrics", get_metrics, AL_ROLE_PUBLIC, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
