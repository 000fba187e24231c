/* seal.c — secrets sealed for storage with XChaCha20-Poly1305 (server/seal.h). */
#include "server/seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define B64       sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(AL_SEAL_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "a seal's key is an XChaCha20-Poly1305 key");

char *al_seal(const unsigned char key[AL_SEAL_KEY_LEN], const void *ad, size_t nad,
              const void *plain, size_t n)
{
    size_t nraw = NONCE_LEN + n + TAG_LEN, nb64 = sodium_base64_ENCODED_LEN(nraw, B64);
    unsigned char *raw = malloc(nraw);
    char *b64 = malloc(nb64);
    if (!raw || !b64) {
        free(b64);
        b64 = NULL;
        goto out;
    }
    randombytes_buf(raw, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw + NONCE_LEN, NULL, plain, n, ad, nad, NULL, raw,
                                               key);
    sodium_bin2base64(b64, nb64, raw, nraw, B64);
out:
    free(raw);
    return b64;
}

int al_seal_open(const unsigned char key[AL_SEAL_KEY_LEN], const void *ad, size_t nad,
                 const char *box, unsigned char *out, size_t cap, size_t *n)
{
    size_t n64 = box ? strlen(box) : 0, nraw = 0;
    unsigned long long np = 0;
    unsigned char *raw = malloc(n64 ? n64 : 1);
    int rc = -1;
    *n = 0;
    if (!raw || !box || sodium_base642bin(raw, n64, box, n64, NULL, &nraw, NULL, B64) != 0 ||
        nraw < NONCE_LEN + TAG_LEN || nraw - NONCE_LEN - TAG_LEN > cap)
        goto out;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &np, NULL, raw + NONCE_LEN,
                                                   nraw - NONCE_LEN, ad, nad, raw, key) == 0) {
        *n = (size_t)np;
        rc = 0;
    }
out:
    free(raw);
    return rc;
}
