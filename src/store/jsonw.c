/* jsonw.c — the compact text of a document, as json_dumps(j, JSON_COMPACT) writes it (jsonw.h):
 * members in their order, "," and ":" with no space, strings escaped as jansson escapes them
 * (\" \\ \b \f \n \r \t, any other control character as \u00XX in capitals, the rest of UTF-8
 * as is), integers in decimal. Reals are rare in documents and their text is jansson's own
 * (its precision and exponent rules): they are written by json_dumps itself. */
#include "store/jsonw.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than this, the text is json_dumps's: a document that holds itself has no end, and
 * jansson's answer for one (NULL) is the one to give. */
#define JSONW_MAX_DEPTH 2048

struct jsonw {
    char *p;
    size_t n, cap;
    bool failed; /* out of memory, or a string that is not UTF-8 */
    bool deep;   /* JSONW_MAX_DEPTH passed: json_dumps writes it */
};

static void put(struct jsonw *w, const char *s, size_t len)
{
    if (w->failed)
        return;
    if (len > w->cap - w->n) {
        size_t cap = w->cap ? w->cap : 256;
        while (len > cap - w->n && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *p = len <= cap - w->n ? realloc(w->p, cap) : NULL;
        if (!p) {
            w->failed = true;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->n, s, len);
    w->n += len;
}

/* The length of the UTF-8 sequence at s (of n bytes left) that jansson accepts (no overlong
 * form, no surrogate, nothing past U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    if (c < 0xC2 || c > 0xF4 || n < len)
        return 0;
    uint32_t cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp > 0x10FFFF)
        return 0;
    return len;
}

static void put_string(struct jsonw *w, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0, i = 0;
    put(w, "\"", 1);
    while (i < len && !w->failed) {
        unsigned char c = s[i];
        size_t step = 1;
        if (c >= 0x80 && (step = utf8_len(s + i, len - i)) == 0) {
            w->failed = true;
            break;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i += step;
            continue;
        }
        put(w, str + run, i - run);
        char seq[8];
        const char *esc = seq;
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        default:
            snprintf(seq, sizeof seq, "\\u%04X", (unsigned)c);
        }
        put(w, esc, strlen(esc));
        run = ++i;
    }
    put(w, str + run, i - run);
    put(w, "\"", 1);
}

static void put_value(struct jsonw *w, const json_t *j, int depth);

/* NOLINTNEXTLINE(misc-no-recursion): bounded by JSONW_MAX_DEPTH */
static void put_object(struct jsonw *w, const json_t *j, int depth)
{
    const char *k;
    json_t *v;
    bool first = true;
    put(w, "{", 1);
    json_object_foreach((json_t *)j, k, v)
    {
        if (!first)
            put(w, ",", 1);
        first = false;
        put_string(w, k, json_object_iter_key_len(json_object_key_to_iter(k)));
        put(w, ":", 1);
        put_value(w, v, depth + 1);
    }
    put(w, "}", 1);
}

/* NOLINTNEXTLINE(misc-no-recursion): bounded by JSONW_MAX_DEPTH */
static void put_value(struct jsonw *w, const json_t *j, int depth)
{
    char num[32];
    if (depth > JSONW_MAX_DEPTH) {
        w->deep = true;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        put_object(w, j, depth);
        break;
    case JSON_ARRAY:
        put(w, "[", 1);
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                put(w, ",", 1);
            put_value(w, json_array_get(j, i), depth + 1);
        }
        put(w, "]", 1);
        break;
    case JSON_STRING:
        put_string(w, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        put(w, num, strlen(num));
        break;
    case JSON_REAL: {
        char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (t)
            put(w, t, strlen(t));
        else
            w->failed = true;
        free(t);
        break;
    }
    case JSON_TRUE:
        put(w, "true", 4);
        break;
    case JSON_FALSE:
        put(w, "false", 5);
        break;
    case JSON_NULL:
        put(w, "null", 4);
        break;
    }
}

char *al_jsonw_compact(const json_t *j)
{
    struct jsonw w = {0};
    if (!json_is_object(j) && !json_is_array(j))
        return NULL;
    put_value(&w, j, 0);
    put(&w, "", 1);
    if (w.deep && !w.failed) {
        free(w.p);
        return json_dumps(j, JSON_COMPACT);
    }
    if (w.failed) {
        free(w.p);
        return NULL;
    }
    return w.p;
}
