/* seal.h — a secret sealed for storage: base64url of a random nonce followed by the
 * XChaCha20-Poly1305 ciphertext and its tag (libsodium), bound to associated data so that a
 * seal opens only where it was made for (a record, a webhook). What Idempotency-Key records
 * (server/idem.c) and webhook secrets (server/whkey.c) keep instead of a secret in clear.
 * Internal to src/server. */
#ifndef AL_SERVER_SEAL_H
#define AL_SERVER_SEAL_H

#include <stddef.h>

#define AL_SEAL_KEY_LEN 32 /* crypto_aead_xchacha20poly1305_ietf_KEYBYTES */

/* Seal `n` bytes of `plain` under `key`, bound to `ad` (`nad` bytes; may be 0). Returns the
 * text (NUL-terminated, the caller's to free()), or NULL when out of memory. */
char *al_seal(const unsigned char key[AL_SEAL_KEY_LEN], const void *ad, size_t nad,
              const void *plain, size_t n);

/* Open `box` (a text of al_seal's) under `key` and `ad` into `out` (`cap` bytes); the opened
 * length into *n. Returns 0, or -1 when it does not open (another key or binding, damage) or
 * does not fit in `cap` (strlen(box) bytes always do). */
int al_seal_open(const unsigned char key[AL_SEAL_KEY_LEN], const void *ad, size_t nad,
                 const char *box, unsigned char *out, size_t cap, size_t *n);

#endif
