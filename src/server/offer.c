/* offer.c — offering ids sealed with a keyed BLAKE2b tag and opened again (offer.h). */
#include "server/offer.h"

#include "common/num.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define PREFIX      "off_"
#define PAYLOAD_MAX 340 /* bytes of the canonical text: its base64 and tag fit an id */
#define TAG_LEN     crypto_generichash_BYTES
#define NFIELDS     14
#define B64         sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* The tag key: derived from the server's idempotency key (memory only, drawn at start) under
 * its own context, so that the two uses never share a key. */
static void tag_key(const struct al_srv *srv, unsigned char key[crypto_generichash_KEYBYTES])
{
    crypto_kdf_derive_from_key(key, crypto_generichash_KEYBYTES, 1, "offering", srv->idem_key.k);
}

static void tag_of(const struct al_srv *srv, const char *payload, size_t n,
                   unsigned char tag[TAG_LEN])
{
    unsigned char key[crypto_generichash_KEYBYTES];
    tag_key(srv, key);
    crypto_generichash(tag, TAG_LEN, (const unsigned char *)payload, n, key, sizeof key);
    sodium_memzero(key, sizeof key);
}

/* The canonical text of o into buf; its length, or 0 when a field holds the separator or the
 * text does not fit. */
static size_t payload_of(const struct al_offer *o, char *buf, size_t cap)
{
    const char *texts[] = {o->org, o->model, o->profile, o->zone, o->labels};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strchr(texts[i], '|'))
            return 0;
    int n = snprintf(buf, cap, "v1|%s|%s|%s|%s|%u|%lld|%lld|%d|%s|%s|%lld|%lld|%lld", o->org,
                     o->mig ? "mig" : "gpu", o->model, o->profile, o->count, (long long)o->start,
                     (long long)o->end, o->same_node ? 1 : 0, o->zone, o->labels,
                     (long long)o->price_version, (long long)o->total_micros,
                     (long long)o->valid_until);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

int al_offer_seal(const struct al_srv *srv, const struct al_offer *o, char *id, size_t cap)
{
    char payload[PAYLOAD_MAX];
    unsigned char tag[TAG_LEN];
    size_t n = payload_of(o, payload, sizeof payload);
    size_t need = strlen(PREFIX) + sodium_base64_ENCODED_LEN(n, B64) +
                  sodium_base64_ENCODED_LEN(TAG_LEN, B64);
    if (n == 0 || need > cap)
        return AL_E_INVAL;
    tag_of(srv, payload, n, tag);
    size_t off = (size_t)snprintf(id, cap, "%s", PREFIX);
    sodium_bin2base64(id + off, cap - off, (const unsigned char *)payload, n, B64);
    off += strlen(id + off);
    id[off++] = '.';
    sodium_bin2base64(id + off, cap - off, tag, TAG_LEN, B64);
    return 0;
}

/* Copy field f (NUL-terminated) into dst of cap bytes; false when it does not fit. */
static bool copy(char *dst, size_t cap, const char *f)
{
    size_t n = strlen(f);
    if (n >= cap)
        return false;
    memcpy(dst, f, n + 1);
    return true;
}

static bool num(const char *f, int64_t min, int64_t max, int64_t *v)
{
    return al_num_parse_i64(f, min, max, v) == 0;
}

/* The payload's fields into o: false when any is malformed. */
static bool parse_payload(char *p, struct al_offer *o)
{
    char *f[NFIELDS];
    size_t n = 0;
    int64_t count, same, v;
    for (char *s = p; n < NFIELDS; n++) {
        f[n] = s;
        char *bar = strchr(s, '|');
        if (!bar) {
            n++;
            break;
        }
        *bar = '\0';
        s = bar + 1;
    }
    if (n != NFIELDS || strcmp(f[0], "v1") != 0 ||
        (strcmp(f[2], "gpu") != 0 && strcmp(f[2], "mig") != 0))
        return false;
    o->mig = strcmp(f[2], "mig") == 0;
    if (!copy(o->org, sizeof o->org, f[1]) || !copy(o->model, sizeof o->model, f[3]) ||
        !copy(o->profile, sizeof o->profile, f[4]) || !copy(o->zone, sizeof o->zone, f[9]) ||
        !copy(o->labels, sizeof o->labels, f[10]) || !num(f[5], 1, 1 << 20, &count) ||
        !num(f[6], 0, INT64_MAX, &o->start) || !num(f[7], 0, INT64_MAX, &o->end) ||
        !num(f[8], 0, 1, &same) || !num(f[11], 0, INT64_MAX, &o->price_version) ||
        !num(f[12], 0, INT64_MAX, &o->total_micros) || !num(f[13], 0, INT64_MAX, &v))
        return false;
    o->count = (unsigned)count;
    o->same_node = same == 1;
    o->valid_until = v;
    return o->end > o->start;
}

int al_offer_open(const struct al_srv *srv, const char *id, int64_t now, struct al_offer *o)
{
    char payload[PAYLOAD_MAX];
    unsigned char tag[TAG_LEN], want[TAG_LEN];
    size_t n = id ? strlen(id) : 0, np = 0, nt = 0;
    memset(o, 0, sizeof *o);
    if (n < strlen(PREFIX) || n >= AL_OFFER_ID_MAX || strncmp(id, PREFIX, strlen(PREFIX)) != 0)
        return AL_E_INVAL;
    const char *b = id + strlen(PREFIX), *dot = strchr(b, '.');
    if (!dot ||
        sodium_base642bin((unsigned char *)payload, sizeof payload - 1, b, (size_t)(dot - b), NULL,
                          &np, NULL, B64) != 0 ||
        sodium_base642bin(tag, sizeof tag, dot + 1, strlen(dot + 1), NULL, &nt, NULL, B64) != 0 ||
        nt != TAG_LEN)
        return AL_E_INVAL;
    tag_of(srv, payload, np, want);
    if (sodium_memcmp(tag, want, TAG_LEN) != 0)
        return AL_E_INVAL;
    payload[np] = '\0';
    if (strlen(payload) != np || !parse_payload(payload, o))
        return AL_E_INVAL;
    return o->valid_until <= now ? AL_E_EXPIRED : 0;
}
