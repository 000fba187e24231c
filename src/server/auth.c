/* auth.c — bearer tokens (made, hashed), the cache of tokens seen before, and who calls: the
 * token's user or node-bound agent, from the cache or the store, and the route's role check.
 * With several replicas on one PostgreSQL, node-bound tokens (revocable) are not cached. */
#include "server/auth.h"

#include "server/call.h"
#include "server/http.h"
#include "store/store_replica.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

bool al_token_ok(const char *s, size_t n)
{
    unsigned char raw[AL_TOKEN_RAW];
    size_t got = 0;
    const char *end = NULL;
    /* the whole text must decode, to exactly the raw bytes: libsodium refuses a last
     * character whose unused bits are set, so that each token has one spelling */
    bool ok = n == AL_TOKEN_LEN && memcmp(s, "al_", 3) == 0 &&
              sodium_base642bin(raw, sizeof raw, s + 3, n - 3, NULL, &got, &end,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
              got == sizeof raw && end == s + n;
    sodium_memzero(raw, sizeof raw);
    return ok;
}

void al_token_hash(const char *token, uint8_t hash[AL_STORE_HASH_LEN])
{
    crypto_generichash(hash, AL_STORE_HASH_LEN, (const unsigned char *)token, strlen(token), NULL,
                       0);
}

void al_token_new(char *buf, size_t cap, uint8_t hash[AL_STORE_HASH_LEN])
{
    unsigned char raw[AL_TOKEN_RAW];
    char b64[64];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    snprintf(buf, cap, "al_%s", b64);
    sodium_memzero(b64, sizeof b64);
    al_token_hash(buf, hash);
}

static unsigned role_bit(const char *role)
{
    static const struct {
        const char *name;
        unsigned bit;
    } roles[] = {{"operator", AL_ROLE_OPERATOR},
                 {"org_admin", AL_ROLE_ORG_ADMIN},
                 {"member", AL_ROLE_MEMBER},
                 {"agent", AL_ROLE_AGENT}};
    for (size_t i = 0; role && i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, role) == 0)
            return roles[i].bit;
    return 0;
}

/* The cached user of a token hash (a new reference), or NULL. */
static json_t *token_cached(struct al_auth_cache *ac, const uint8_t hash[AL_STORE_HASH_LEN])
{
    json_t *u = NULL;
    size_t i = hash[0] % (sizeof ac->tokens / sizeof ac->tokens[0]);
    pthread_mutex_lock(&ac->lock);
    if (ac->tokens[i].user && memcmp(ac->tokens[i].hash, hash, AL_STORE_HASH_LEN) == 0)
        u = json_incref(ac->tokens[i].user);
    pthread_mutex_unlock(&ac->lock);
    return u;
}

/* Remember a user read from the store. Only committed users are ever looked up: a token is
 * known to its holder only once the call that created it has been answered. */
static void token_remember(struct al_auth_cache *ac, const uint8_t hash[AL_STORE_HASH_LEN],
                           json_t *u)
{
    size_t i = hash[0] % (sizeof ac->tokens / sizeof ac->tokens[0]);
    pthread_mutex_lock(&ac->lock);
    json_decref(ac->tokens[i].user);
    memcpy(ac->tokens[i].hash, hash, AL_STORE_HASH_LEN);
    ac->tokens[i].user = json_incref(u);
    pthread_mutex_unlock(&ac->lock);
}

/* The token of the call's Authorization field, "Bearer <token>": the scheme in any case
 * (RFC 9110 11.1), one or more spaces, the token, optional trailing blanks (which are not
 * the field's). Copies the token into tok (AL_TOKEN_LEN + 1 bytes) when its shape is an allot
 * token's, else fails the call. */
static int bearer_token(struct al_ctx *c, char *tok)
{
    static const char scheme[] = "bearer";
    const struct al_kv *h = c->call ? al_req_header(c->call->req, "Authorization", NULL) : NULL;
    size_t i = sizeof scheme - 1, n;
    if (!h)
        return al_http_fail(c, AL_E_AUTH, NULL, "missing bearer token");
    n = h->val_len;
    for (size_t j = 0; j < i; j++)
        if (j >= n || (h->val[j] != scheme[j] && h->val[j] != scheme[j] - 'a' + 'A'))
            return al_http_fail(c, AL_E_AUTH, NULL, "Authorization must be Bearer <token>");
    if (i >= n || h->val[i] != ' ')
        return al_http_fail(c, AL_E_AUTH, NULL, "Authorization must be Bearer <token>");
    while (i < n && h->val[i] == ' ')
        i++;
    while (n > i && (h->val[n - 1] == ' ' || h->val[n - 1] == '\t'))
        n--;
    if (!al_token_ok(h->val + i, n - i))
        return al_http_fail(c, AL_E_AUTH, NULL, "malformed bearer token");
    memcpy(tok, h->val + i, AL_TOKEN_LEN);
    tok[AL_TOKEN_LEN] = '\0';
    return 0;
}

/* Who is calling: from the token cache, else from the store (taking the lock unless the
 * caller holds it: `locked`). */
static int authenticate(struct al_ctx *c, bool locked)
{
    char tok[AL_TOKEN_LEN + 1];
    uint8_t hash[AL_STORE_HASH_LEN];
    int rc = bearer_token(c, tok);
    if (rc != 0)
        return rc;
    al_token_hash(tok, hash);
    sodium_memzero(tok, sizeof tok);
    if (!(c->user = token_cached(&c->srv->auth, hash))) {
        if (!locked)
            pthread_mutex_lock(&c->srv->lock);
        bool node = false;
        rc = al_store_user_by_token(c->srv->store, hash, &c->user, NULL);
        if (rc == AL_E_NOTFOUND) {
            rc = al_store_node_token_by_hash(c->srv->store, hash, &c->user, NULL);
            node = true;
        }
        /* remembered under the lock, so that a revocation (al_auth_forget_node, under it
         * too) cannot come between the read and the remembering. A node's token is not, when
         * other replicas share the store: one of them may revoke it, unseen here */
        if (rc == 0 && !(node && al_store_replicated(c->srv->store)))
            token_remember(&c->srv->auth, hash, c->user);
        if (!locked)
            pthread_mutex_unlock(&c->srv->lock);
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, AL_E_AUTH, NULL, "unknown token");
    if (rc)
        return al_http_fail(c, AL_E_DB, NULL, "could not check the token");
    c->role = role_bit(json_string_value(json_object_get(c->user, "role")));
    c->user_id = json_string_value(json_object_get(c->user, "id"));
    c->org = json_string_value(json_object_get(c->user, "org"));
    return 0;
}

void al_auth_init(struct al_auth_cache *ac)
{
    pthread_mutex_init(&ac->lock, NULL);
}

void al_auth_destroy(struct al_auth_cache *ac)
{
    pthread_mutex_destroy(&ac->lock);
    for (size_t i = 0; i < sizeof ac->tokens / sizeof ac->tokens[0]; i++)
        json_decref(ac->tokens[i].user);
}

void al_auth_forget_node(struct al_auth_cache *ac, const char *node)
{
    pthread_mutex_lock(&ac->lock);
    for (size_t i = 0; i < sizeof ac->tokens / sizeof ac->tokens[0]; i++) {
        const char *n = json_string_value(json_object_get(ac->tokens[i].user, "node"));
        if (n && strcmp(n, node) == 0) {
            json_decref(ac->tokens[i].user);
            ac->tokens[i].user = NULL;
        }
    }
    pthread_mutex_unlock(&ac->lock);
}

const char *al_auth_node(const struct al_ctx *c)
{
    return json_string_value(json_object_get(c->user, "node"));
}

bool al_auth_allowed(struct al_ctx *c, const struct al_route *r, bool locked)
{
    if (r->roles & AL_ROLE_PUBLIC)
        return true;
    if (authenticate(c, locked) != 0)
        return false;
    if (!(r->roles & c->role)) {
        al_http_fail(c, AL_E_FORBIDDEN, NULL, "not allowed for role %s",
                     json_string_value(json_object_get(c->user, "role")));
        return false;
    }
    return true;
}
