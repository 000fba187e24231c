/* routes_reserve.c — self-service reservations in one call (POST /v1/reservations), as AWS
 * Capacity Blocks sells them: an org admin (or an operator naming the org) under a contract
 * that allows self-service gives an offering id (GET /v1/offerings) or a full ask, and in the
 * call's one unit of work the window is re-planned, priced under the contract (an offering's
 * price must be the one it showed), checked against the limits and the funds, charged per the
 * terms and held firm; or nothing happens and the answer says why. The reservation comes from
 * a request and a quote recorded as the operator-approved flow records them (reserve.h), so
 * that its quote document is the source of truth here too. Idempotency-Key is required: a
 * retry answers the same reservation and charges nothing more. */
#include "server/http.h"

#include "core/state.h"
#include "server/ask.h"
#include "server/call.h"
#include "server/charge.h"
#include "server/flow.h"
#include "server/offer.h"
#include "server/reserve.h"
#include "server/routes.h"

#include <stdio.h>
#include <string.h>

#define QUOTE_VALID_S 300 /* the quote's holds pass to the reservation in the same call */

/* What a body holding an offering may hold besides it. */
static const char *const offering_fields[] = {"offering", "org", NULL};

/* The request's own free text, as POST /v1/requests records it. */
static const char *const texts[] = {"usage_window", "image", "framework",
                                    "workload",     "notes", NULL};

/* What the call reserves from: the ask (its body, or one made of the offering) and the org. */
struct reserve_in {
    json_t *ask; /* the ask's members (a new reference) */
    json_t *org; /* the org's document (a new reference) */
    struct al_offer off;
    bool offering;
};

/* Idempotency-Key is required, and the body is an offering or an ask, not both, not neither. */
static int shape(struct al_ctx *c, json_t *b)
{
    const char *k;
    json_t *v;
    if (!c->call || !c->call->idem_key)
        return al_http_fail(c, AL_E_INVAL, "Idempotency-Key",
                            "Idempotency-Key is required: a retry with the same key answers the "
                            "same reservation and charges nothing more");
    bool off = json_object_get(b, "offering") != NULL;
    json_object_foreach(b, k, v)
    {
        if (off && strcmp(k, "org") != 0 && al_field_listed(al_ask_fields, k))
            return al_http_fail(c, AL_E_INVAL, "offering",
                                "give an offering or an ask, not both (%s is the ask's)", k);
    }
    int rc = al_field_only(c, b, off ? offering_fields : al_ask_fields);
    if (rc)
        return rc;
    if (!off && json_object_size(b) - (json_object_get(b, "org") ? 1 : 0) == 0)
        return al_http_fail(c, AL_E_INVAL, "offering",
                            "give an offering (an id from GET /v1/offerings) or an ask");
    return 0;
}

/* The offering's window as an ask's members: exactly its model, profile, count, window, zone,
 * labels and same_node. NULL when out of memory. */
static json_t *offer_ask(const struct al_offer *o)
{
    json_t *a = json_pack("{s:s,s:i,s:s,s:o,s:o,s:b}", "kind", o->mig ? "mig" : "gpu", "count",
                          (int)o->count, "model", o->model, "start", al_time_json(o->start), "end",
                          al_time_json(o->end), "same_node", o->same_node);
    if (a && o->profile[0])
        json_object_set_new(a, "profile", json_string(o->profile));
    if (a && o->zone[0])
        json_object_set_new(a, "zone", json_string(o->zone));
    if (a && o->labels[0])
        json_object_set_new(a, "labels", al_ask_labels_json(o->labels));
    return a;
}

/* The offering named in the body, opened: authentic, unexpired, the caller's org's (or, for an
 * operator, the org it names when it names one). */
static int from_offering(struct al_ctx *c, json_t *b, struct reserve_in *in)
{
    struct al_err e = {0};
    const char *id = NULL;
    int rc = al_field_text(c, b, "offering", true, AL_OFFER_ID_MAX - 1, &id);
    if (rc)
        return rc;
    rc = al_offer_open(c->srv, id, c->now, &in->off);
    if (rc == AL_E_INVAL || (rc == 0 && !al_ctx_sees(c, in->off.org)))
        return al_http_fail(c, AL_E_NOTFOUND, "offering",
                            "no such offering (malformed, altered, another org's, or made "
                            "before the server restarted)");
    if (rc == AL_E_EXPIRED)
        return al_http_fail(c, AL_E_EXPIRED, "offering",
                            "the offering expired; list offerings again");
    if (json_object_get(b, "org")) {
        if ((rc = al_ask_org(c, b, &in->org)))
            return rc;
        if (strcmp(jstr(in->org, "id"), in->off.org) != 0)
            return al_http_fail(c, AL_E_INVAL, "org", "the offering is for org %s", in->off.org);
    } else if ((rc = al_store_org_get(c->srv->store, in->off.org, &in->org, &e)) != 0) {
        return al_http_fail_err(c, rc, &e);
    }
    in->offering = true;
    if (!(in->ask = offer_ask(&in->off)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return 0;
}

/* The contract in force must allow self-service: core's limits check at
 * AL_CHECK_SELF_RESERVE for an empty ask answers the period (409) and the consent (403), before
 * anything is planned. */
static int self_service(struct al_ctx *c, const struct al_charge_org *o, const char *what)
{
    struct al_limit_ask q = {
        .at = AL_CHECK_SELF_RESERVE, .now = c->now, .start = c->now, .end = c->now};
    struct al_org_usage u = {0};
    struct al_refusal r;
    struct al_err e = {0};
    int rc = al_contract_check_limits(&o->k, &q, &u, &r, &e);
    return rc ? al_charge_fail(c, rc, &r, &e, what) : 0;
}

/* The request the reservation comes from, as POST /v1/requests records one, accepted by the
 * call itself (no operator approves a self-service reservation); al_confirm_quote inserts it. */
static int request_new(struct al_ctx *c, const struct reserve_in *in, const struct al_ask *a,
                       const char *id, json_t **ret)
{
    json_t *req = json_object();
    int rc = req ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    for (const char *const *k = texts; rc == 0 && *k; k++) {
        const char *v = NULL;
        if ((rc = al_field_text(c, c->body, *k, false, AL_HTTP_MAX_TEXT, &v)) == 0)
            json_object_set_new(req, *k, v ? json_string(v) : json_null());
    }
    if (rc) {
        json_decref(req);
        return rc;
    }
    al_ask_write(a, req);
    json_object_set_new(req, "id", json_string(id));
    json_object_set_new(req, "org", json_string(jstr(in->org, "id")));
    json_object_set_new(req, "org_name", json_string(jstr(in->org, "name")));
    json_object_set_new(req, "state", json_string(al_state_req_name(AL_REQ_ACCEPTED)));
    json_object_set_new(req, "origin", json_string("self_service"));
    json_object_set_new(req, "offering",
                        in->offering ? json_string(jstr(c->body, "offering")) : json_null());
    json_object_set_new(req, "quote", json_null());
    json_object_set_new(req, "reservation", json_null());
    json_object_set_new(req, "created_by", json_string(c->user_id));
    json_object_set_new(req, "created_at", al_time_json(c->now));
    *ret = req;
    /* not saved here: al_confirm_quote inserts it once, confirmed, in this unit of work */
    return al_event(c, AL_EVENT_REQUEST_SUBMITTED, jstr(in->org, "id"), id,
                    json_pack("{s:s,s:s}", "org", jstr(in->org, "id"), "origin", "self_service"));
}

static int post_reserve(struct al_ctx *c)
{
    struct reserve_in in = {0};
    struct al_charge_org o;
    struct al_ask a;
    json_t *req = NULL, *quote = NULL, *rsv = NULL;
    char id[AL_HTTP_ID_LEN], rid[AL_HTTP_ID_LEN], what[AL_HTTP_ID_LEN + 32];
    int rc;
    if ((rc = shape(c, c->body)))
        goto out;
    if (json_object_get(c->body, "offering"))
        rc = from_offering(c, c->body, &in);
    else if ((rc = al_ask_org(c, c->body, &in.org)) == 0)
        in.ask = json_incref(c->body);
    if (rc)
        goto out;
    al_id_new("req", c->now, id, sizeof id);
    al_id_new("rsv", c->now, rid, sizeof rid);
    snprintf(what, sizeof what, "cannot reserve %s", id);
    if ((rc = al_ask_parse(c, in.ask, &a)) ||
        (rc = al_charge_org_contracted(c, jstr(in.org, "id"), c->now, what, &o)) ||
        (rc = self_service(c, &o, what)) || (rc = request_new(c, &in, &a, id, &req)))
        goto out;
    /* the fast path: the holds are written firm for the reservation at once (no tentative
     * holds, no re-check, no transfer: this unit of work holds the writers' lock throughout) */
    struct al_quote_how qh = {c->now + QUOTE_VALID_S, in.offering ? in.off.total_micros : -1, what,
                              rid};
    struct al_confirm_how ch = {AL_CHECK_SELF_RESERVE, "self_service", what, rid};
    if ((rc = al_quote_make(c, req, &o, &qh, &quote)))
        goto out;
    json_object_set(req, "quote", quote);
    if ((rc = al_confirm_quote(c, req, &o, &ch, &rsv)))
        goto out;
    rc = al_http_reply(c, 201, json_incref(rsv));
out:
    json_decref(rsv);
    json_decref(quote);
    json_decref(req);
    json_decref(in.ask);
    json_decref(in.org);
    return rc;
}

const struct al_route al_routes_reserve[] = {
    {"POST", "/v1/reservations", post_reserve, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
