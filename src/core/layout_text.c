/* layout_text.c — MIG layouts as text and as steps: parse "3g.40gb@0,2x1g.10gb", format,
 * sort, and the destroy/create steps between two layouts. The rules themselves live in
 * layout.c. */
#include "core/layout_internal.h"

#include <string.h>

#define TEXT_MAX  1024 /* longest layout text accepted by parse */
#define ITEM_MAX  64   /* longest single item ("2x1g.24gb+me.all@9" is 18) */
#define START_MAX 254  /* biggest start parse accepts; 255 is AL_START_ANY */

/* ---- sort and format ----------------------------------------------------------------------- */

static bool placement_before(struct al_placement a, struct al_placement b)
{
    if (a.start != b.start)
        return a.start < b.start;
    return a.profile < b.profile;
}

void al_layout_sort(struct al_layout *l)
{
    if (!l)
        return;
    for (unsigned i = 1; i < l->n && i < AL_LAYOUT_MAX; i++) {
        struct al_placement key = l->p[i];
        unsigned j = i;
        for (; j > 0 && placement_before(key, l->p[j - 1]); j--)
            l->p[j] = l->p[j - 1];
        l->p[j] = key;
    }
}

int al_layout_format(const struct al_layout *l, char *buf, size_t len)
{
    struct al_sbuf b;
    char one[INST_TEXT_MAX];
    al_sbuf_init(&b, buf, len);
    if (!l || l->n == 0) {
        al_sbuf_printf(&b, "none");
        return (int)b.len;
    }
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++) {
        inst_text(l->model, l->p[i], one, sizeof one);
        al_sbuf_printf(&b, "%s%s", i ? "," : "", one);
    }
    return (int)b.len;
}

/* ---- parse --------------------------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

/* Case-insensitive: does s[0, n) equal the whole of z? */
static bool span_equals(const char *s, size_t n, const char *z)
{
    size_t i = 0;
    for (; i < n && z[i]; i++)
        if (lower(s[i]) != lower(z[i]))
            return false;
    return i == n && z[i] == '\0';
}

/* Parse the decimal number s[0, n) into *ret: 1 to 3 digits, at most `max`. */
static bool parse_uint(const char *s, size_t n, unsigned max, unsigned *ret)
{
    unsigned v = 0;
    if (n == 0 || n > 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *ret = v;
    return true;
}

static int unknown_profile(const struct al_gpu_model *m, const char *name, size_t n,
                           struct al_err *reterr)
{
    char valid[AL_ERR_MSG_MAX];
    struct al_sbuf b;
    al_sbuf_init(&b, valid, sizeof valid);
    for (unsigned i = 0; i < nprofiles(m); i++)
        al_sbuf_printf(&b, "%s%s", i ? ", " : "", m->profiles[i].name);
    return al_err_set(reterr, AL_E_INVAL, "unknown profile '%.*s' for %s (valid: %s)", (int)n, name,
                      m->name, valid);
}

static int find_profile(const struct al_gpu_model *m, const char *name, size_t n)
{
    for (unsigned i = 0; i < nprofiles(m); i++)
        if (m->profiles[i].name && span_equals(name, n, m->profiles[i].name))
            return (int)i;
    return -1;
}

/* Split an item "[<count>x]<profile>[@<start>]" (already trimmed, printable, no spaces). */
static int parse_item(const struct al_gpu_model *m, const char *it, size_t n, struct al_layout *l,
                      struct al_err *reterr)
{
    unsigned count = 1, start = AL_START_ANY;
    size_t d = 0;
    while (d < n && it[d] >= '0' && it[d] <= '9')
        d++;
    const char *name = it;
    if (d > 0 && d < n && (it[d] == 'x' || it[d] == 'X')) {
        if (!parse_uint(it, d, AL_LAYOUT_MAX, &count) || count == 0)
            return al_err_set(reterr, AL_E_INVAL, "'%.*s': count must be 1 to %d", (int)n, it,
                              AL_LAYOUT_MAX);
        name = it + d + 1;
    }
    const char *at = memchr(name, '@', n - (size_t)(name - it));
    size_t nlen = at ? (size_t)(at - name) : n - (size_t)(name - it);
    if (at) {
        size_t slen = n - (size_t)(at + 1 - it);
        if (!parse_uint(at + 1, slen, START_MAX, &start))
            return al_err_set(reterr, AL_E_INVAL, "'%.*s': bad start '%.*s' (a number 0-%d)",
                              (int)n, it, (int)slen, at + 1, START_MAX);
        if (name != it)
            return al_err_set(reterr, AL_E_INVAL, "'%.*s': a count and a start cannot go together",
                              (int)n, it);
    }
    int pi = find_profile(m, name, nlen);
    if (pi < 0)
        return unknown_profile(m, name, nlen, reterr);
    if (l->n + count > AL_LAYOUT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "more than %d instances", AL_LAYOUT_MAX);
    for (unsigned k = 0; k < count; k++)
        l->p[l->n++] = (struct al_placement){(uint8_t)pi, (uint8_t)start};
    return 0;
}

/* Trim s[*b, *e) of spaces, then check that what is left is printable without spaces. */
static int trim_item(const char *s, size_t *b, size_t *e, unsigned item, struct al_err *reterr)
{
    while (*b < *e && is_space(s[*b]))
        (*b)++;
    while (*e > *b && is_space(s[*e - 1]))
        (*e)--;
    if (*b == *e)
        return al_err_set(reterr, AL_E_INVAL, "item %u is empty (stray or trailing comma?)", item);
    if (*e - *b > ITEM_MAX)
        return al_err_set(reterr, AL_E_INVAL, "item %u longer than %d characters", item, ITEM_MAX);
    for (size_t i = *b; i < *e; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "item %u: bad character 0x%02x", item,
                              (unsigned)(unsigned char)s[i]);
    return 0;
}

static bool is_empty_text(const char *s, size_t n)
{
    size_t b = 0, e = n;
    while (b < e && is_space(s[b]))
        b++;
    while (e > b && is_space(s[e - 1]))
        e--;
    return b == e || span_equals(s + b, e - b, "none");
}

int al_layout_parse(const struct al_gpu_model *m, const char *text, struct al_layout *ret,
                    struct al_err *reterr)
{
    int rc = 0;
    if (!ret)
        return al_err_set(reterr, AL_E_INVAL, "no layout to fill");
    memset(ret, 0, sizeof *ret);
    ret->model = m;
    if (!m || !text)
        return al_err_set(reterr, AL_E_INVAL, "no model or no layout text");
    size_t n = strnlen(text, TEXT_MAX + 1);
    if (n > TEXT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "layout text longer than %d characters", TEXT_MAX);
    if (is_empty_text(text, n))
        return 0;
    if (!model_has_mig(m)) {
        rc = al_err_set(reterr, AL_E_INVAL, "%s has no MIG: only 'none' is a layout", m->name);
        goto out;
    }
    for (size_t pos = 0, item = 1;; item++) {
        const char *comma = memchr(text + pos, ',', n - pos);
        size_t b = pos, e = comma ? (size_t)(comma - text) : n;
        rc = trim_item(text, &b, &e, (unsigned)item, reterr);
        if (rc == 0)
            rc = parse_item(m, text + b, e - b, ret, reterr);
        if (rc < 0 || !comma)
            break;
        pos = (size_t)(comma - text) + 1;
    }
out:
    if (rc < 0)
        ret->n = 0;
    return rc;
}

/* ---- diff ---------------------------------------------------------------------------------- */

static bool layout_has(const struct al_layout *l, struct al_placement p)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].profile == p.profile && l->p[i].start == p.start)
            return true;
    return false;
}

/* Append the instances of `a` missing from `b` as `op` steps, largest first, then by start. */
static unsigned diff_side(const struct al_layout *a, const struct al_layout *b, enum al_step_op op,
                          struct al_mig_step *steps)
{
    unsigned k = 0;
    for (unsigned i = 0; i < a->n; i++) {
        struct al_placement p = a->p[i];
        if (layout_has(b, p))
            continue;
        unsigned j = k++;
        for (; j > 0; j--) {
            struct al_placement q = steps[j - 1].p;
            unsigned ps = a->model->profiles[p.profile].size;
            unsigned qs = a->model->profiles[q.profile].size;
            if (ps < qs || (ps == qs && !placement_before(p, q)))
                break;
            steps[j] = steps[j - 1];
        }
        steps[j] = (struct al_mig_step){op, p};
    }
    return k;
}

int al_layout_diff(const struct al_layout *from, const struct al_layout *to,
                   struct al_mig_step steps[AL_DIFF_MAX], struct al_err *reterr)
{
    struct al_err e;
    if (!from || !to || !steps)
        return al_err_set(reterr, AL_E_INVAL, "no layout or no steps");
    if (from->model != to->model)
        return al_err_set(reterr, AL_E_INVAL, "layouts of different models");
    if (al_layout_validate(from, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "from: %s", e.msg);
    if (al_layout_validate(to, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "to: %s", e.msg);
    unsigned n = diff_side(from, to, AL_STEP_DESTROY, steps);
    n += diff_side(to, from, AL_STEP_CREATE, steps + n);
    return (int)n;
}
