/* flow.h — what the request, quote and reservation routes and the background jobs share: the
 * request and reservation documents loaded, saved and moved through core/state's tables
 * (each move appends its event), list filters, the quote's validity, and the price lines of
 * a quote or an extension. Each fails the call (struct al_ctx) naming the field, and returns
 * its code. Internal to src/server. */
#ifndef AL_SERVER_FLOW_H
#define AL_SERVER_FLOW_H

#include "core/catalog.h"
#include "core/state.h"
#include "server/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AL_FLOW_MAX_WINDOW_S (5LL * 366 * 86400) /* longest reservation */
#define AL_FLOW_MAX_SEARCH_S (90LL * 86400)      /* how far alternatives are searched */
/* The sale horizon: nothing is asked for, held, offered or counted past now + this (1830
 * days): every window a route takes or offers ends by then (docs/api.md, "Conventions"). */
#define AL_FLOW_HORIZON_S (5LL * 366 * 86400)

/* String member `k` of `o` (owned by o), or NULL. */
static inline const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* RFC 3339 member `k` of `o` in unix seconds, or 0 when absent or malformed. */
static inline int64_t jtime(json_t *o, const char *k)
{
    int64_t t = 0;
    if (al_time_parse(jstr(o, k), &t) != 0)
        return 0;
    return t;
}

/* Time `t` of `field` must be within the sale horizon (c->now + AL_FLOW_HORIZON_S); fails
 * naming the field and the horizon's time. */
int al_flow_horizon(struct al_ctx *c, const char *field, int64_t t);

/* ---- requests ---- */

/* The request named in the path (c->params[0]), as the caller may see it: *req is a new
 * reference (caller decrefs). Another org's request is not found. */
int al_flow_request_load(struct al_ctx *c, json_t **req);
/* Write `req` (insert: a new one), stamping updated_at. */
int al_flow_request_save(struct al_ctx *c, json_t *req, bool insert);
/* Whether `req` (its "state", as the store holds it) may move by `ev`: 0 with *to (when not
 * NULL) set to the state it would reach, else fails the call with invalid_state "cannot
 * <event> a request that is <state>" (a state the table does not know included). */
int al_flow_request_can(struct al_ctx *c, json_t *req, enum al_req_event ev, enum al_req_state *to);
/* Move `req` by `ev` through the table and append the move's event (request.<state>, data
 * {from, to, event}); fails as al_flow_request_can. */
int al_flow_request_step(struct al_ctx *c, json_t *req, enum al_req_event ev);
/* The request's quote must still be valid at c->now. */
int al_flow_quote_live(struct al_ctx *c, json_t *req);

/* Filters of a list: ?state= checked against the states of `ent` into *state (owned by the
 * connection); ?org= resolved to an org id the caller may see, into `org` (cap bytes; "" for
 * all orgs, when the caller is an operator). */
int al_flow_list_filters(struct al_ctx *c, enum al_entity ent, const char **state, char *org,
                         size_t cap);

/* ---- reservations ---- */

/* Write reservation `r` (insert: a new one), stamping updated_at. */
int al_flow_rsv_save(struct al_ctx *c, json_t *r, bool insert);
/* Move reservation `r` by `ev` and append the move's event (reservation.<state>, or
 * reservation.extended) with `data` (stolen, may be NULL) plus from and to; fails with
 * invalid_state "cannot <event> a reservation that is <state>". */
int al_flow_rsv_step(struct al_ctx *c, json_t *r, enum al_rsv_event ev, json_t *data);

/* Fail the call with no_capacity for hold `h` (its GPU, owner, mask and window [t0, t1)),
 * which collides with another live hold: the message and details name that hold by its
 * owner's id (reservation or quote) and its window in RFC 3339 times, never by the
 * calendar's owner numbers ({reason, gpu, held_by, start, end, alternatives, other_models}).
 * `what` begins the message ("cannot extend rsv_… to 2027-01-01T00:00:00Z"). Returns
 * AL_E_NOFIT, or the store's error. */
int al_flow_hold_refusal(struct al_ctx *c, const char *what, const struct al_store_hold *h);

/* Fail the call with code and the message of a core calendar error e, its GPUs and `owner`
 * (the "rsv_…" or "qte_…" id the call passed to the calendar; may be NULL) named by their ids
 * (al_cal_message), never by the calendar's numbers. Returns code. */
int al_flow_cal_fail(struct al_ctx *c, int code, const struct al_err *e, const char *owner);

#endif
