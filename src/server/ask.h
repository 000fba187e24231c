/* ask.h — an ask for capacity, as requests (POST /v1/requests: a JSON body), offerings
 * (GET /v1/offerings: query parameters) and self-service reservations take it: what (kind,
 * count, a model or a memory size, a MIG profile or an instance size, performance floors,
 * node label selectors), when (a fixed window, or a duration with a start range) and where
 * (zone, one node). Parsed and validated once, here, field by field (each refusal names the
 * field); written to and read back from a request's document; and turned into the planner's
 * request. docs/api.md ("Asks") describes the fields. Internal to src/server. */
#ifndef AL_SERVER_ASK_H
#define AL_SERVER_ASK_H

#include "core/fleet.h"
#include "core/planner.h"
#include "server/charge.h"
#include "server/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AL_ASK_MAX_LABELS      8   /* label selectors of one ask */
#define AL_ASK_LABELS_TEXT_MAX 128 /* bytes of them as "k=v,k2=v2" (an offering id holds it) */

struct al_cal;

struct al_ask {
    struct al_model_ask ma; /* kind, model (NULL: any meeting the rest), profile (borrowed from
                               the body or the catalog), memory, performance floors */
    int64_t min_tflops;     /* min_tflops_bf16 as asked (whole TFLOPS; 0: none) */
    int64_t min_bw;         /* min_memory_bandwidth_gbs as asked (0: none) */
    char labels[AL_FLEET_LABELS_MAX]; /* selectors as the fleet writes labels; "" = none */
    unsigned count;
    bool same_node;
    const char *zone; /* borrowed; NULL: any */
    bool fixed;       /* start/end given; else a duration with a start range */
    int64_t s, e;     /* the fixed window (fixed) */
    int64_t dur;      /* seconds */
    int64_t es, ls;   /* start range (fixed: both = s) */
};

/* The members of an ask's JSON body, as POST /v1/requests and POST /v1/reservations take it
 * (the org, the ask itself, the request's free text), NULL-terminated: for al_field_only. */
extern const char *const al_ask_fields[];

/* The org an ask is for, from body member "org": operators must name it, org admins get their
 * own (naming another is 404, as if it did not exist). *org is a new reference. 0, or fails. */
int al_ask_org(struct al_ctx *c, json_t *body, json_t **org);

/* Parse and check the ask in `body` (its members kind, count, model, min_memory_gb, profile,
 * instance_memory_gb, min_tflops_bf16, min_memory_bandwidth_gbs, labels, start/end or
 * duration_hours + earliest_start [+ latest_start], same_node, zone; other members are the
 * caller's). Strings in *a are borrowed from body. Refuses what the fleet cannot sell (a model
 * no node has, memory or performance no model of the fleet has) as a request's create does.
 * 0, or fails the call naming the field. */
int al_ask_parse(struct al_ctx *c, json_t *body, struct al_ask *a);

/* The query parameters of GET /v1/offerings as an ask body (new reference in *body, which
 * *a borrows from: keep it alive), then al_ask_parse. Query names: kind (default gpu), model,
 * min_memory_gb, count (default 1), profile, instance_memory_gb, duration (hours: "24", "24h", or
 * days "2d"), earliest (default now), latest (default earliest + 7 days), min_tflops_bf16,
 * min_memory_bandwidth_gbs, labels ("k=v,k2=v2"), same_node, zone, org; `extra` (NULL-ended)
 * names the caller's own. Any other parameter is refused; a refusal names the query name. */
int al_ask_query(struct al_ctx *c, const char *const *extra, json_t **body, struct al_ask *a);

/* Query parameter value `v` ("k=v,k2=v2") as label selectors, checked as an ask's labels,
 * into out (the fleet's text, cap >= AL_FLEET_LABELS_MAX). 0, or fails naming "labels". */
int al_ask_labels_query(struct al_ctx *c, const char *v, char *out, size_t cap);

/* Label selectors' text ("k=v,flag") as an object {"k": "v", "flag": ""}: new reference. */
json_t *al_ask_labels_json(const char *text);

/* Record the ask on a request document (model, min_memory_gb, profile, instance_memory_gb,
 * min_tflops_bf16, min_memory_bandwidth_gbs, labels {}, the period, same_node, zone). */
void al_ask_write(const struct al_ask *a, json_t *doc);

/* The ask recorded on document `doc` (strings borrowed from it). The document was checked
 * when written. */
void al_ask_read(json_t *doc, struct al_ask *a);

/* The planner's request for the ask with the model and profile core chose (`ch`); the window
 * is the fixed one, or starts at a->es. r borrows from a. */
void al_ask_request(const struct al_ask *a, const struct al_model_choice *ch, struct al_request *r);

/* Try the ask with model m on the server's calendar: the fixed window, or the earliest start
 * in range. Fills *r and *plan (clear it with al_plan_clear in every case). 0, AL_E_NOFIT (err
 * says why; err may be NULL), or another AL_E_*. */
int al_ask_try_model(struct al_cal *cal, const struct al_ask *a, const struct al_gpu_model *m,
                     struct al_request *r, struct al_plan *plan, struct al_err *err);

/* Price the ask on `ch` (model, profile) over [s, e) as a quote would, under org's contract
 * in force (al_charge_price; org may be NULL: the list, whole hours) into object o: lines,
 * total_micros, currency and how it is billed (al_charge_price_terms: granularity,
 * billing_rule, contract, price_version). A model without a price in force is
 * no error here: o gets lines [] and total_micros null, and the call's error is cleared.
 * 0, or fails the call (a price that overflows, the store's error). */
int al_ask_price(struct al_ctx *c, const struct al_charge_org *org, const struct al_ask *a,
                 const struct al_model_choice *ch, int64_t s, int64_t e, json_t *o);

#endif
