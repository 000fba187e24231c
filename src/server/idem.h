/* idem.h — the Idempotency-Key record of a mutation: its first successful answer, stored with
 * the caller, the key and the hash of the call, in the call's own transaction, and given again
 * to a retry.
 *
 * No secret of an answer reaches the database in clear. The secrets are the top-level members
 * named in al_idem_secrets (a new user's bearer token, a new webhook's signing secret); the
 * stored answer has them null, and sealed beside it (XChaCha20-Poly1305, bound to the
 * record's key, caller and hash) with a key that exists only in the server's memory, drawn at
 * start. A retry in the same server run opens the seal and gets the first answer as it was;
 * after a restart that key is gone, and the retry gets the answer with each secret null and
 * "withheld": [their names] (docs/api.md, "Idempotency-Key"). Internal to src/server. */
#ifndef AL_SERVER_IDEM_H
#define AL_SERVER_IDEM_H

#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct al_ctx;

/* The members of an answer that are secrets, NULL-terminated. */
extern const char *const al_idem_secrets[];

/* The sealing key: in struct al_srv, never written anywhere. */
struct al_idem_key {
    unsigned char k[32];
};

/* Draw a new key (libsodium must be initialized); wipe one. */
void al_idem_key_new(struct al_idem_key *key);
void al_idem_key_wipe(struct al_idem_key *key);

/* What a record is bound to: a seal opens only for the record it was made for. */
struct al_idem_bind {
    const char *key, *caller;
    const uint8_t *hash; /* AL_STORE_HASH_LEN bytes */
};

/* The text to store for answer `resp` (not changed): resp with its secrets null and, when it
 * has any, "_sealed": {"withheld": [names], "box": base64url(nonce | ciphertext)}. Caller
 * frees; NULL when out of memory. */
char *al_idem_seal(const struct al_idem_key *key, const struct al_idem_bind *b, json_t *resp);

/* The answer from stored text `text`: the secrets back in when the seal opens with `key` for
 * `b`, else null with "withheld". New reference (caller decrefs), NULL when `text` is not a
 * JSON object. */
json_t *al_idem_open(const struct al_idem_key *key, const struct al_idem_bind *b, const char *text);

/* Look up the record of (`idem`, caller c->user_id) for a call whose hash is `hash`. Found:
 * c's reply is the stored answer (opened) and *found is true. Returns 0, or fails the call:
 * idempotency_mismatch (422) when the key was used with another call, the store's error. */
int al_idem_replay(struct al_ctx *c, const char *idem, const uint8_t hash[AL_STORE_HASH_LEN],
                   bool *found);

/* Store c's reply (c->status, c->resp) as the record of (`idem`, c->user_id, `hash`), sealed.
 * A reply without secrets is recorded as its compact JSON text, which becomes the reply's text
 * (c->resp_text, the JSON content type), so that it is not dumped a second time. Returns 0, or
 * fails the call. */
int al_idem_record(struct al_ctx *c, const char *idem, const uint8_t hash[AL_STORE_HASH_LEN]);

#endif
