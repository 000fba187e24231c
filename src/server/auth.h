/* auth.h — who calls, and may they: bearer tokens (made and hashed; only hashes are stored),
 * the cache of tokens seen before, and a call's authentication and role check. Internal to
 * src/server. */
#ifndef AL_SERVER_AUTH_H
#define AL_SERVER_AUTH_H

#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct al_ctx;
struct al_route;

/* Tokens seen before → their user (users never change once created) or node-bound agent
 * (dropped when revoked or replaced: al_auth_forget_node): reads need not touch the store.
 * Direct-mapped on the hash; under `lock`. In struct al_srv (server/http.h). */
struct al_auth_cache {
    pthread_mutex_t lock;
    struct {
        uint8_t hash[AL_STORE_HASH_LEN];
        json_t *user;
    } tokens[256];
};

void al_auth_init(struct al_auth_cache *ac);
/* Drops the cached users. */
void al_auth_destroy(struct al_auth_cache *ac);

/* Authenticate the call (unless route `r` is public): fills c->user, role, user_id and org;
 * then check that the caller's role is one of r's. `locked`: the caller holds the server's
 * lock (else a token not in the cache takes it to read the store). Returns true, or false
 * with the call failed (unauthenticated, or forbidden). */
bool al_auth_allowed(struct al_ctx *c, const struct al_route *r, bool locked);

/* Forget the cached callers bound to node `node` (its token revoked or replaced). Called
 * under the server's lock, which authentication holds from its store read to its caching. */
void al_auth_forget_node(struct al_auth_cache *ac, const char *node);
/* The node the authenticated caller's token is bound to (static while c->user lives), or NULL
 * for any other caller, fleet agents (users of role agent) among them. */
const char *al_auth_node(const struct al_ctx *c);

#define AL_TOKEN_RAW 32       /* random bytes in a token */
#define AL_TOKEN_LEN (3 + 43) /* "al_" + base64url of them, unpadded */

/* A new bearer token "al_" + base64url(32 random bytes) into `buf` (>= 48 bytes), and its
 * hash. */
void al_token_new(char *buf, size_t cap, uint8_t hash[AL_STORE_HASH_LEN]);
/* The hash a token is stored under (of the NUL-terminated `token`). */
void al_token_hash(const char *token, uint8_t hash[AL_STORE_HASH_LEN]);
/* Do the `n` bytes at `s` have the shape of a token al_token_new makes: "al_", then 43
 * base64url characters that decode to exactly AL_TOKEN_RAW bytes? Checked before hashing. */
bool al_token_ok(const char *s, size_t n);

#endif
