/* whkey.h — the webhooks' secrets: the server key that seals them for the database, its file,
 * a new hook's signing secret, and the signature of a delivery (docs/webhooks.md).
 *
 * The server must sign every delivery, also after a restart, so it needs each hook's secret
 * back; the database holds it only sealed (XChaCha20-Poly1305, bound to the hook's id) with a
 * key that lives in a file of its own, never in the database: `--secret-key-file PATH`
 * (default: the database's path + ".key"), 32 random bytes as 64 hex digits, created with mode
 * 0600 at the first start (or `server init`) when it does not exist, refused when others may
 * read it. A copy of the database alone signs nothing; losing the file loses every hook's
 * secret (their deliveries then fail, "secret cannot be opened"). Internal to src/server. */
#ifndef AL_SERVER_WHKEY_H
#define AL_SERVER_WHKEY_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

#define AL_WHKEY_SECRET_CAP 64 /* "whsec_" + 43 base64url characters + NUL fits */
#define AL_WHKEY_SIG_HEX    65 /* 64 hex digits + NUL */

struct al_whkey {
    unsigned char k[32];
};

/* The key in file `path` into *key; a missing file is created with a new key when `create` is
 * true (mode 0600, written and synced before use). AL_E_INVAL for a file that is not 64 hex
 * digits (and a newline) or that group or others may read; AL_E_IO when it cannot be read or
 * made; AL_E_NOTFOUND when it is missing and `create` is false. libsodium must be initialized. */
int al_whkey_load(const char *path, bool create, struct al_whkey *key, struct al_err *reterr);
void al_whkey_wipe(struct al_whkey *key);

/* A new signing secret "whsec_<43 base64url characters>" (32 random bytes) into `buf`
 * (cap >= AL_WHKEY_SECRET_CAP). */
void al_whkey_secret_new(char *buf, size_t cap);

/* `secret` sealed for hook `hook_id`, as base64url text (caller frees); NULL when out of
 * memory. */
char *al_whkey_seal(const struct al_whkey *key, const char *hook_id, const char *secret);
/* The secret sealed in `box` for `hook_id` into `buf` (cap >= AL_WHKEY_SECRET_CAP). 0, or -1
 * when the seal does not open (another key, another hook's seal, damage). */
int al_whkey_open(const struct al_whkey *key, const char *hook_id, const char *box, char *buf,
                  size_t cap);

/* The signature of a delivery: lowercase hex of HMAC-SHA256 keyed with the secret's bytes (the
 * whole "whsec_…" text) over `timestamp` "." `body` (`n` bytes), into `hex`
 * (AL_WHKEY_SIG_HEX bytes). */
void al_whkey_sign(const char *secret, const char *timestamp, const char *body, size_t n,
                   char hex[AL_WHKEY_SIG_HEX]);

#endif
