/* idem.c — Idempotency-Key records: the answer stored without its secrets in clear (they are
 * sealed with a key held only in memory), opened again for a retry, and the lookup and the
 * write of a record on a call's context. */
#include "server/idem.h"

#include "server/http.h"
#include "server/seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEALED "_sealed"

const char *const al_idem_secrets[] = {"token", "secret", NULL}; /* a user's, a webhook's */

_Static_assert(sizeof(struct al_idem_key) == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "the sealing key is an XChaCha20-Poly1305 key");

void al_idem_key_new(struct al_idem_key *key)
{
    crypto_aead_xchacha20poly1305_ietf_keygen(key->k);
}

void al_idem_key_wipe(struct al_idem_key *key)
{
    sodium_memzero(key->k, sizeof key->k);
}

/* The associated data of a seal: key, caller and hash, so that a seal copied into another
 * record (another caller's, another key's) does not open. Caller frees. */
static unsigned char *bind_ad(const struct al_idem_bind *b, size_t *len)
{
    const char *key = b->key ? b->key : "", *caller = b->caller ? b->caller : "";
    size_t nk = strlen(key) + 1, nc = strlen(caller) + 1;
    unsigned char *ad = malloc(nk + nc + AL_STORE_HASH_LEN);
    if (!ad)
        return NULL;
    memcpy(ad, key, nk);
    memcpy(ad + nk, caller, nc);
    memcpy(ad + nk + nc, b->hash, AL_STORE_HASH_LEN);
    *len = nk + nc + AL_STORE_HASH_LEN;
    return ad;
}

/* The seal of `plain` for `b` (server/seal.h) as a new JSON string, or NULL. */
static json_t *seal_box(const struct al_idem_key *key, const struct al_idem_bind *b,
                        const char *plain)
{
    size_t nad = 0;
    unsigned char *ad = bind_ad(b, &nad);
    char *text = ad ? al_seal(key->k, ad, nad, plain, strlen(plain)) : NULL;
    json_t *box = text ? json_string(text) : NULL;
    free(text);
    free(ad);
    return box;
}

/* Does `resp` hold a secret (al_idem_secrets) at its top level? */
static bool has_secret(json_t *resp)
{
    for (const char *const *k = al_idem_secrets; *k; k++)
        if (json_object_get(resp, *k))
            return true;
    return false;
}

char *al_idem_seal(const struct al_idem_key *key, const struct al_idem_bind *b, json_t *resp)
{
    /* most answers (a reservation, a request) hold no secret: stored as they are, without the
     * deep copy that withholding needs */
    if (!has_secret(resp))
        return json_dumps(resp, JSON_COMPACT);
    json_t *stored = json_deep_copy(resp), *secrets = json_object(), *names = json_array();
    char *plain = NULL, *text = NULL;
    if (!stored || !secrets || !names)
        goto out;
    for (const char *const *k = al_idem_secrets; *k; k++) {
        json_t *v = json_object_get(stored, *k);
        if (!v)
            continue;
        json_object_set(secrets, *k, v);
        json_array_append_new(names, json_string(*k));
        json_object_set_new(stored, *k, json_null());
    }
    if (json_array_size(names) > 0) {
        json_t *box = (plain = json_dumps(secrets, JSON_COMPACT)) ? seal_box(key, b, plain) : NULL;
        if (!box)
            goto out;
        json_object_set_new(stored, SEALED, json_pack("{s:O,s:o}", "withheld", names, "box", box));
    }
    text = json_dumps(stored, JSON_COMPACT);
out:
    if (plain) {
        sodium_memzero(plain, strlen(plain));
        free(plain);
    }
    json_decref(secrets);
    json_decref(names);
    json_decref(stored);
    return text;
}

/* The secrets sealed in `box` for `b`, as a new JSON object, or NULL when the seal does not
 * open (another server run's key, another record, or damage). */
static json_t *open_box(const struct al_idem_key *key, const struct al_idem_bind *b,
                        const char *box)
{
    size_t cap = box ? strlen(box) : 0, nad = 0, np = 0;
    unsigned char *ad = bind_ad(b, &nad), *plain = malloc(cap ? cap : 1);
    json_t *secrets = NULL;
    if (ad && plain && box && al_seal_open(key->k, ad, nad, box, plain, cap, &np) == 0)
        secrets = json_loadb((const char *)plain, np, 0, NULL);
    if (plain)
        sodium_memzero(plain, cap);
    free(plain);
    free(ad);
    if (secrets && !json_is_object(secrets)) {
        json_decref(secrets);
        secrets = NULL;
    }
    return secrets;
}

json_t *al_idem_open(const struct al_idem_key *key, const struct al_idem_bind *b, const char *text)
{
    json_t *resp = json_loads(text ? text : "", 0, NULL);
    if (!json_is_object(resp)) {
        json_decref(resp);
        return NULL;
    }
    json_t *sealed = json_incref(json_object_get(resp, SEALED));
    if (!sealed)
        return resp;
    json_object_del(resp, SEALED);
    json_t *secrets = open_box(key, b, json_string_value(json_object_get(sealed, "box")));
    json_t *names = json_object_get(sealed, "withheld"), *name;
    size_t i;
    json_array_foreach(names, i, name)
    {
        const char *k = json_string_value(name);
        json_t *v = k ? json_object_get(secrets, k) : NULL;
        if (k)
            json_object_set(resp, k, v ? v : json_null());
    }
    if (!secrets) /* shown once: this run cannot show it again */
        json_object_set(resp, "withheld", names);
    json_decref(secrets);
    json_decref(sealed);
    return resp;
}

int al_idem_replay(struct al_ctx *c, const char *idem, const uint8_t hash[AL_STORE_HASH_LEN],
                   bool *found)
{
    struct al_idem_bind b = {idem, c->user_id, hash};
    struct al_err e = {0};
    char *text = NULL;
    int status = 0;
    int rc = al_store_idem_get(c->srv->store, idem, c->user_id, hash, &status, &text, &e);
    *found = false;
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc == AL_E_CONFLICT) {
        c->status = 422; /* marks idempotency_mismatch for the reply */
        return al_http_fail(c, AL_E_CONFLICT, NULL,
                            "Idempotency-Key was used with a different request");
    }
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_t *resp = al_idem_open(&c->srv->idem_key, &b, text);
    free(text);
    if (!resp)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "the stored answer is damaged");
    *found = true;
    return al_http_reply(c, status, resp);
}

int al_idem_record(struct al_ctx *c, const char *idem, const uint8_t hash[AL_STORE_HASH_LEN])
{
    struct al_idem_bind b = {idem, c->user_id, hash};
    struct al_err e = {0};
    bool plain = c->resp && !has_secret(c->resp);
    char *text = al_idem_seal(&c->srv->idem_key, &b, c->resp);
    struct al_store_idem rec = {idem, c->user_id, hash, c->status, text, c->now};
    int rc = text ? al_store_idem_put(c->srv->store, &rec, &e) : AL_E_NOMEM;
    if (rc == 0 && plain) {
        /* the record is the answer's own compact dump: sent as it is, not dumped again */
        rc = al_http_reply_text(c, c->status, NULL, text);
        text = NULL;
    }
    free(text);
    if (rc == AL_E_NOMEM)
        return al_http_fail(c, rc, NULL, "out of memory");
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}
