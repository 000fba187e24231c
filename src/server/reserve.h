/* reserve.h — what the quote, confirmation and self-service routes share, so that a
 * reservation made in one call (routes_reserve.c) is planned, priced, held, charged and
 * recorded exactly as the operator-approved flow does it: a quote made for a request
 * (routes_quotes.c) and a live quote confirmed into a reservation (routes_reservations.c).
 * Internal to src/server. */
#ifndef AL_SERVER_RESERVE_H
#define AL_SERVER_RESERVE_H

#include "core/contract.h"
#include "server/charge.h"
#include "server/http.h"

#include <jansson.h>
#include <stdint.h>

/* How a quote is made. */
struct al_quote_how {
    int64_t valid_until;  /* its tentative holds expire then */
    int64_t expect_total; /* >= 0: the price a caller was shown (an offering's); any other
                           * price refuses the quote (409 invalid_state, field "offering") */
    const char *what;     /* begins a refusal's message; NULL: "cannot quote <request id>" */
    const char *holder;   /* NULL: the holds are the quote's, tentative until valid_until; else
                           * the id of the reservation the same unit of work confirms the quote
                           * into (the one-call reservation): the holds are written firm under
                           * it, so that they need no re-check and no transfer; and the quote
                           * record waits for al_confirm_quote, which inserts the request */
};

/* Plan request `req` (the ask recorded on it) on the calendar (the earliest fit of its range,
 * or no_capacity with priced alternatives), price it under o's contract (o->has_contract may
 * be false: the list, whole hours), check the contract's limits on it (not the funds), write
 * its tentative holds (each re-checked in the store) and insert the quote record. *quote: the
 * quote document (new reference). 0, or fails the call. (routes_quotes.c) */
int al_quote_make(struct al_ctx *c, json_t *req, const struct al_charge_org *o,
                  const struct al_quote_how *how, json_t **quote);

/* Insert the quote record of `quote` (a quote document) for request `request_id`. 0, or
 * fails the call. (routes_quotes.c) */
int al_quote_insert(struct al_ctx *c, const char *request_id, json_t *quote);

/* How a quote becomes a reservation. */
struct al_confirm_how {
    enum al_check_at at; /* AL_CHECK_CONFIRM, or AL_CHECK_SELF_RESERVE */
    const char *origin;  /* the reservation's "origin" ("self_service"), or NULL: none */
    const char *what;    /* begins a refusal's message ("cannot confirm req_…") */
    const char *rsv_id;  /* NULL: a new id, the quote's holds re-checked and passed to it;
                          * else the holder the quote was made with (al_quote_how): the
                          * request, not saved yet, is inserted as confirmed, then its quote */
};

/* Confirm request `req` (accepted; its "quote" live and priced under o's contract version,
 * which must be in force) into a new reservation: the quote's holds re-checked and passed to
 * it, the request stepped to confirmed and saved, the reservation written, charged per the
 * contract (al_charge_confirm_at at how->at: limits, funds, transfers) and its
 * reservation.scheduled event appended. *rsv: the reservation with its "billing" (new
 * reference). 0, or fails the call. (routes_reservations.c) */
int al_confirm_quote(struct al_ctx *c, json_t *req, const struct al_charge_org *o,
                     const struct al_confirm_how *how, json_t **rsv);

#endif
