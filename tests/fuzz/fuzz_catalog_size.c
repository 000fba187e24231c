/* fuzz_catalog_size.c — libFuzzer target for al_catalog_parse_size (sizes in requests and on the
 * command line are untrusted text). Checks it against an independent model of the documented
 * grammar, computed in 128-bit arithmetic so that overflow is decided exactly:
 *   <digits>[.<1-6 digits>][spaces]<unit>, unit = "" | b | k m g t (binary) | kib … tib
 *   (binary) | kb … tb (decimal), case-insensitive; no fraction of a plain byte count.
 * Plus: a parsed value printed as plain bytes parses back to itself. */
#include "fuzz.h"

#include <stdbool.h>

#include "core/catalog.h"
#include "core/err.h"

typedef unsigned __int128 u128;

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The unit's multiplier from the grammar above (not from catalog.c's table); 0 when unknown. */
static u128 model_unit(const char *u)
{
    static const char prefixes[] = "kmgt";
    char a = lower(u[0]), b = a ? lower(u[1]) : '\0', c = b ? lower(u[2]) : '\0';
    if (a == '\0' || (a == 'b' && b == '\0'))
        return 1;
    const char *pos = memchr(prefixes, a, 4);
    if (!pos)
        return 0;
    unsigned k = (unsigned)(pos - prefixes) + 1;
    u128 bin = (u128)1 << (10 * k), dec = 1;
    for (unsigned i = 0; i < k; i++)
        dec *= 1000;
    if (b == '\0')
        return bin;
    if (b == 'b' && c == '\0')
        return dec;
    if (b == 'i' && c == 'b' && u[3] == '\0')
        return bin;
    return 0;
}

static bool model_parse(const char *s, uint64_t *ret)
{
    u128 whole = 0, frac = 0, pow10 = 1;
    unsigned nd = 0, nf = 0;
    for (; *s >= '0' && *s <= '9'; s++, nd++) {
        whole = whole * 10 + (unsigned)(*s - '0');
        if (whole > UINT64_MAX)
            return false;
    }
    if (nd == 0)
        return false;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, nf++) {
            if (nf == 6)
                return false;
            frac = frac * 10 + (unsigned)(*s - '0');
            pow10 *= 10;
        }
        if (nf == 0)
            return false;
    }
    while (*s == ' ')
        s++;
    u128 mult = model_unit(s);
    if (mult == 0 || (nf > 0 && mult == 1))
        return false;
    u128 total = whole * mult + frac * mult / pow10;
    if (total > UINT64_MAX)
        return false;
    *ret = (uint64_t)total;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    uint64_t got = 0xdeadbeef, want = 0;
    int rc = al_catalog_parse_size(s, &got);
    bool ok = model_parse(s, &want);
    FUZZ_CHECK(rc == 0 || rc == AL_E_INVAL, "rc %d for '%s'", rc, s);
    FUZZ_CHECK((rc == 0) == ok, "'%s': parse_size rc %d, model says %s", s, rc,
               ok ? "valid" : "invalid");
    if (ok) {
        FUZZ_CHECK(got == want, "'%s': got %llu, want %llu", s, (unsigned long long)got,
                   (unsigned long long)want);
        char plain[32];
        uint64_t again = 0;
        snprintf(plain, sizeof plain, "%llu", (unsigned long long)got);
        FUZZ_CHECK(al_catalog_parse_size(plain, &again) == 0 && again == got,
                   "'%s' does not parse back to %llu", plain, (unsigned long long)got);
    } else {
        FUZZ_CHECK(got == 0xdeadbeef, "'%s': failed but wrote %llu", s, (unsigned long long)got);
    }
    free(s);
    return 0;
}
