/* promtext.c — the Prometheus text exposition format 0.0.4 into a growing buffer: names
 * checked, label values and help escaped, numbers in the format's spelling, histograms made
 * cumulative. */
#include "server/promtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void al_prom_init(struct al_prom *p)
{
    memset(p, 0, sizeof *p);
}

void al_prom_free(struct al_prom *p)
{
    free(p->buf);
    al_prom_init(p);
}

char *al_prom_take(struct al_prom *p, size_t *len)
{
    char *text = p->failed ? NULL : p->buf;
    if (!text) {
        al_prom_free(p);
        return NULL;
    }
    if (len)
        *len = p->len;
    al_prom_init(p);
    return text;
}

/* Room for `n` more bytes and the NUL; false (failed) when out of memory. */
static bool reserve(struct al_prom *p, size_t n)
{
    size_t cap = p->cap ? p->cap : 4096;
    char *b;
    if (p->failed)
        return false;
    if (n < p->cap - p->len)
        return true;
    while (cap - p->len <= n)
        cap *= 2;
    if (!(b = realloc(p->buf, cap))) {
        p->failed = true;
        return false;
    }
    p->buf = b;
    p->cap = cap;
    return true;
}

static void put(struct al_prom *p, const char *s, size_t n)
{
    if (!reserve(p, n))
        return;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
}

static void put_str(struct al_prom *p, const char *s)
{
    put(p, s, strlen(s));
}

/* Escape `s` as the format wants it: backslash and line feed always, the double quote inside
 * a label value (`quote`). Other bytes go as they are: the format is UTF-8 text, and the
 * callers' values (route patterns, node names, states) are checked ASCII already. */
static void put_escaped(struct al_prom *p, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            put_str(p, "\\\\");
        else if (*s == '\n')
            put_str(p, "\\n");
        else if (*s == '"' && quote)
            put_str(p, "\\\"");
        else
            put(p, s, 1);
    }
}

static bool name_char(char ch, bool first, bool colon)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_')
        return true;
    if (ch == ':')
        return colon;
    return !first && ch >= '0' && ch <= '9';
}

static bool name_ok(const char *s, bool colon)
{
    if (!s || !*s)
        return false;
    for (size_t i = 0; s[i]; i++)
        if (!name_char(s[i], i == 0, colon))
            return false;
    return true;
}

bool al_prom_metric_name_ok(const char *s)
{
    return name_ok(s, true);
}

bool al_prom_label_name_ok(const char *s)
{
    return name_ok(s, false) && strncmp(s, "__", 2) != 0;
}

void al_prom_family(struct al_prom *p, const char *name, const char *type, const char *help)
{
    if (!al_prom_metric_name_ok(name)) {
        p->failed = true;
        return;
    }
    put_str(p, "# HELP ");
    put_str(p, name);
    put_str(p, " ");
    put_escaped(p, help, false);
    put_str(p, "\n# TYPE ");
    put_str(p, name);
    put_str(p, " ");
    put_str(p, type);
    put_str(p, "\n");
}

/* `name{labels` and, with `le`, one more label le="…"; then the closing brace and a space. */
static void put_head(struct al_prom *p, const char *name, const char *const *labels, const char *le)
{
    bool any = false;
    if (!al_prom_metric_name_ok(name)) {
        p->failed = true;
        return;
    }
    put_str(p, name);
    for (size_t i = 0; labels && labels[i]; i += 2) {
        if (!al_prom_label_name_ok(labels[i]) || !labels[i + 1]) {
            p->failed = true;
            return;
        }
        put_str(p, any ? "," : "{");
        put_str(p, labels[i]);
        put_str(p, "=\"");
        put_escaped(p, labels[i + 1], true);
        put_str(p, "\"");
        any = true;
    }
    if (le) {
        put_str(p, any ? ",le=\"" : "{le=\"");
        put_str(p, le);
        put_str(p, "\"");
        any = true;
    }
    put_str(p, any ? "} " : " ");
}

/* A float as the format spells it: NaN, +Inf, -Inf, else the shortest of %.15g and %.17g
 * that reads back as the same number. */
static const char *fmt_double(double v, char *buf, size_t cap)
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    snprintf(buf, cap, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, cap, "%.17g", v);
    return buf;
}

void al_prom_sample(struct al_prom *p, const char *name, const char *const *labels, double v)
{
    char num[40];
    put_head(p, name, labels, NULL);
    put_str(p, fmt_double(v, num, sizeof num));
    put_str(p, "\n");
}

void al_prom_sample_u64(struct al_prom *p, const char *name, const char *const *labels, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64 "\n", v);
    put_head(p, name, labels, NULL);
    put_str(p, num);
}

void al_prom_sample_i64(struct al_prom *p, const char *name, const char *const *labels, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRId64 "\n", v);
    put_head(p, name, labels, NULL);
    put_str(p, num);
}

/* `base` + `suffix` into out (cap bytes); false (failed) when it does not fit. */
static bool suffixed(struct al_prom *p, const char *base, const char *suffix, char *out, size_t cap)
{
    if ((size_t)snprintf(out, cap, "%s%s", base, suffix) < cap)
        return true;
    p->failed = true;
    return false;
}

void al_prom_histogram(struct al_prom *p, const char *name, const char *const *labels,
                       const struct al_prom_hist *h)
{
    char bucket[128], other[128], le[40], num[24];
    uint64_t cum = 0;
    if (!suffixed(p, name, "_bucket", bucket, sizeof bucket))
        return;
    for (size_t i = 0; i <= h->n; i++) {
        cum += h->counts[i];
        snprintf(num, sizeof num, "%" PRIu64 "\n", cum);
        put_head(p, bucket, labels,
                 i < h->n ? fmt_double((double)h->bounds[i] / h->per, le, sizeof le) : "+Inf");
        put_str(p, num);
    }
    if (suffixed(p, name, "_sum", other, sizeof other))
        al_prom_sample(p, other, labels, (double)h->sum / h->per);
    if (suffixed(p, name, "_count", other, sizeof other))
        al_prom_sample_u64(p, other, labels, cum);
}
