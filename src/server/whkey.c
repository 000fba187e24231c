/* whkey.c — the webhooks' server key (its file), the hooks' secrets sealed with it, and the
 * HMAC-SHA256 signature of a delivery (libsodium). */
#include "server/whkey.h"

#include "server/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX (2 * sizeof(((struct al_whkey *)0)->k))

_Static_assert(sizeof(struct al_whkey) == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "the webhook key is an XChaCha20-Poly1305 key");

/* A new key written to `path`, which must not exist (O_EXCL: two servers never race to two
 * keys), synced before it is used. */
static int key_create(const char *path, struct al_whkey *key, struct al_err *e)
{
    char hex[KEY_HEX + 2];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return al_err_set(e, AL_E_IO, "cannot create the secret key file %s: %s", path,
                          al_strerror(-errno));
    crypto_aead_xchacha20poly1305_ietf_keygen(key->k);
    sodium_bin2hex(hex, sizeof hex, key->k, sizeof key->k);
    hex[KEY_HEX] = '\n';
    ssize_t n = write(fd, hex, KEY_HEX + 1);
    int rc = n == (ssize_t)(KEY_HEX + 1) && fsync(fd) == 0 ? 0 : -1;
    sodium_memzero(hex, sizeof hex);
    close(fd);
    if (rc != 0) {
        unlink(path);
        return al_err_set(e, AL_E_IO, "cannot write the secret key file %s", path);
    }
    return 0;
}

int al_whkey_load(const char *path, bool create, struct al_whkey *key, struct al_err *reterr)
{
    char buf[KEY_HEX + 8];
    struct stat st;
    size_t len = 0;
    int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return create ? key_create(path, key, reterr)
                      : al_err_set(reterr, AL_E_NOTFOUND, "no secret key file %s", path);
    if (fd < 0)
        return al_err_set(reterr, AL_E_IO, "cannot open the secret key file %s: %s", path,
                          al_strerror(-errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = al_err_set(reterr, AL_E_IO, "the secret key file %s is not a regular file", path);
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        rc = al_err_set(reterr, AL_E_INVAL,
                        "the secret key file %s may be read by others (chmod 600 it)", path);
        goto out;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    len = n > 0 ? (size_t)n : 0;
    if (len == KEY_HEX + 1 && buf[KEY_HEX] == '\n')
        len--;
    if (len != KEY_HEX || sodium_hex2bin(key->k, sizeof key->k, buf, len, NULL, NULL, NULL) != 0)
        rc = al_err_set(reterr, AL_E_INVAL, "the secret key file %s is not 64 hex digits", path);
out:
    sodium_memzero(buf, sizeof buf);
    close(fd);
    return rc;
}

void al_whkey_wipe(struct al_whkey *key)
{
    sodium_memzero(key->k, sizeof key->k);
}

void al_whkey_secret_new(char *buf, size_t cap)
{
    unsigned char raw[32];
    char b64[sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(buf, cap, "whsec_%s", b64);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(b64, sizeof b64);
}

char *al_whkey_seal(const struct al_whkey *key, const char *hook_id, const char *secret)
{
    return al_seal(key->k, hook_id, strlen(hook_id), secret, strlen(secret));
}

int al_whkey_open(const struct al_whkey *key, const char *hook_id, const char *box, char *buf,
                  size_t cap)
{
    size_t n = 0;
    if (cap == 0 || al_seal_open(key->k, hook_id, strlen(hook_id), box, (unsigned char *)buf,
                                 cap - 1, &n) != 0) {
        if (cap)
            buf[0] = '\0';
        return -1;
    }
    buf[n] = '\0';
    return 0;
}

void al_whkey_sign(const char *secret, const char *timestamp, const char *body, size_t n,
                   char hex[AL_WHKEY_SIG_HEX])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, n);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, AL_WHKEY_SIG_HEX, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}
