/* offer.h — offering ids: a priced window GET /v1/offerings listed, sealed into its own id so
 * that a later call (POST /v1/reservations {offering}) can re-plan exactly that window without
 * the GET having written anything.
 *
 * The id is "off_" + base64url(payload) + "." + base64url(tag): the payload is the offering's
 * canonical fields as text ("v1|org|kind|model|profile|count|start|end|same_node|zone|labels|
 * price_version|total_micros|valid_until"), readable by anyone who holds the id (nothing in it
 * is secret to the org it was made for); the tag is a keyed BLAKE2b-256 of the payload under a
 * key derived (crypto_kdf, context "offering") from the server's in-memory idempotency key, so
 * that changing one byte of the payload is detected, and an id outlives neither its
 * valid_until nor the server run that made it (docs/api.md, "Offerings"). Internal to
 * src/server. */
#ifndef AL_SERVER_OFFER_H
#define AL_SERVER_OFFER_H

#include "core/fleet.h"
#include "server/http.h"

#include <stdbool.h>
#include <stdint.h>

#define AL_OFFER_ID_MAX 496 /* bytes of an id, with its NUL: /v1/offerings/{id} fits a path */

/* An offering's canonical fields. Strings are copies (the struct owns them). */
struct al_offer {
    char org[AL_HTTP_ID_LEN];
    bool mig;
    char model[AL_HTTP_MAX_NAME + 1];   /* canonical catalog name */
    char profile[AL_HTTP_MAX_NAME + 1]; /* canonical profile name; "" for whole GPUs */
    unsigned count;
    int64_t start, end;
    bool same_node;
    char zone[AL_HTTP_MAX_NAME + 1];  /* "" = any */
    char labels[AL_FLEET_LABELS_MAX]; /* selectors as the fleet's text; "" = none */
    int64_t price_version, total_micros;
    int64_t valid_until;
};

/* Seal `o` into id (cap >= AL_OFFER_ID_MAX). 0, or AL_E_INVAL when a field holds '|' or the id
 * would not fit. */
int al_offer_seal(const struct al_srv *srv, const struct al_offer *o, char *id, size_t cap);

/* Open id into *o: the tag must verify (constant time) and the payload parse. 0, AL_E_INVAL
 * (malformed or tampered with: one answer for both), or AL_E_EXPIRED (valid_until <= now; *o
 * is filled). */
int al_offer_open(const struct al_srv *srv, const char *id, int64_t now, struct al_offer *o);

#endif
