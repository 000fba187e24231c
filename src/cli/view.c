/* view.c — tables and key/value views of the server's JSON for people (-o table). */
#include "cli/view.h"

#include "cli/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A table cell: text is cut to AL_VIEW_TEXT_MAX so that tables stay readable, but an id is
 * shown whole (it is there to be copied: an offering's sealed id is up to 495 bytes). */
#define AL_VIEW_CELL_MAX 512
#define AL_VIEW_TEXT_MAX 96
#define AL_VIEW_MAX_COLS 16

json_t *al_view_get(json_t *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        path += dot ? n + 1 : n;
    }
    return obj;
}

static int is_money(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    return n >= 7 && strcmp(key + n - 7, "_micros") == 0;
}

/* Micro-units as currency units, exactly: at least two decimals, more only when the amount
 * has them (0.0125, not 0.01), so a person never sees a rounded price. */
static const char *money(json_int_t m, char *buf, size_t cap)
{
    int64_t v = (int64_t)m;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char frac[8];
    snprintf(frac, sizeof frac, "%06" PRIu64, a % 1000000);
    for (size_t n = strlen(frac); n > 2 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    snprintf(buf, cap, "%s%" PRIu64 ".%s", v < 0 ? "-" : "", a / 1000000, frac);
    return buf;
}

/* The name a person reads for `key`: "total_micros" shows as "total", since the value is
 * printed in currency units, not micro-units. */
static const char *display_key(const char *key, char *buf, size_t cap)
{
    size_t n = strlen(key);
    if (!is_money(key) || n - 7 >= cap) {
        snprintf(buf, cap, "%s", key);
        return buf;
    }
    memcpy(buf, key, n - 7);
    buf[n - 7] = '\0';
    return buf;
}

const char *al_view_cell(json_t *v, const char *key, char *buf, size_t cap)
{
    const char *dot = key ? strrchr(key, '.') : NULL;
    if (dot)
        key = dot + 1;
    if (!v || json_is_null(v))
        snprintf(buf, cap, "-");
    else if (json_is_string(v))
        snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v) && is_money(key))
        money(json_integer_value(v), buf, cap);
    else if (json_is_integer(v))
        snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        snprintf(buf, cap, "%s", s ? s : "?");
        free(s);
    }
    size_t max = key && strcmp(key, "id") == 0 ? cap : AL_VIEW_TEXT_MAX;
    if (max > cap)
        max = cap;
    if (max > 4 && strlen(buf) >= max - 1)
        memcpy(buf + max - 4, "...", 4);
    return buf;
}

void al_view_list(json_t *items, const struct al_col *cols, size_t ncols, FILE *f)
{
    const char *hdr[AL_VIEW_MAX_COLS], *row[AL_VIEW_MAX_COLS];
    char cells[AL_VIEW_MAX_COLS][AL_VIEW_CELL_MAX];
    if (ncols > AL_VIEW_MAX_COLS)
        ncols = AL_VIEW_MAX_COLS;
    for (size_t c = 0; c < ncols; c++)
        hdr[c] = cols[c].header;
    struct al_table *t = al_table_new(ncols, hdr);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        for (size_t c = 0; c < ncols; c++) {
            if (cols[c].path[0] == '#') /* "#gpus": how many */
                snprintf(cells[c], sizeof cells[c], "%zu",
                         json_array_size(al_view_get(it, cols[c].path + 1)));
            else
                al_view_cell(al_view_get(it, cols[c].path), cols[c].path, cells[c],
                             sizeof cells[c]);
            row[c] = cells[c];
        }
        al_table_add(t, row);
    }
    al_table_print(t, f);
    al_table_free(t);
}

/* The scalar keys of an array of objects, in first-seen order, as columns. */
static size_t scalar_cols(json_t *arr, struct al_col *cols, size_t max)
{
    size_t n = 0, i;
    json_t *it;
    json_array_foreach(arr, i, it)
    {
        const char *k;
        json_t *v;
        json_object_foreach(it, k, v)
        {
            if (json_is_object(v) || json_is_array(v))
                continue;
            size_t c = 0;
            while (c < n && strcmp(cols[c].path, k) != 0)
                c++;
            if (c == n && n < max)
                cols[n++] = (struct al_col){k, k};
        }
    }
    return n;
}

static int is_object_array(json_t *v)
{
    return json_is_array(v) && json_array_size(v) > 0 && json_is_object(json_array_get(v, 0));
}

/* Keys shown first at the top level, because people look for them first. */
static const char *const al_view_first[] = {"id", "name", "state", NULL};

static int is_first(const char *k)
{
    for (size_t i = 0; al_view_first[i]; i++)
        if (strcmp(k, al_view_first[i]) == 0)
            return 1;
    return 0;
}

#define AL_VIEW_MAX_DEPTH 3 /* nested objects shown as "a.b.c: v"; deeper ones as JSON */

/* NOLINTNEXTLINE(misc-no-recursion): bounded by AL_VIEW_MAX_DEPTH */
static void view_fields(json_t *obj, const char *prefix, int depth, FILE *f)
{
    const char *k;
    json_t *v;
    char cell[512], name[160];
    for (size_t i = 0; !prefix[0] && al_view_first[i]; i++)
        if ((v = json_object_get(obj, al_view_first[i])) && !json_is_object(v) && !json_is_array(v))
            fprintf(f, "%s: %s\n", al_view_first[i],
                    al_view_cell(v, al_view_first[i], cell, sizeof cell));
    json_object_foreach(obj, k, v)
    {
        if (!prefix[0] && is_first(k) && !json_is_object(v) && !json_is_array(v))
            continue;
        snprintf(name, sizeof name, "%s%s", prefix, k);
        if (json_is_object(v) && json_object_size(v) > 0 && depth < AL_VIEW_MAX_DEPTH) {
            char sub[170];
            snprintf(sub, sizeof sub, "%s.", name);
            view_fields(v, sub, depth + 1, f);
        } else if (!is_object_array(v)) {
            char shown[160];
            if (json_is_integer(v))
                display_key(name, shown, sizeof shown);
            else
                snprintf(shown, sizeof shown, "%s", name);
            fprintf(f, "%s: %s\n", shown, al_view_cell(v, k, cell, sizeof cell));
        }
    }
}

/* Arrays of objects, at the top or one level down (quote.allocations), as tables. */
/* NOLINTNEXTLINE(misc-no-recursion): one level only (it recurses from the top level alone) */
static void view_tables(json_t *obj, const char *prefix, FILE *f)
{
    const char *k;
    json_t *v;
    struct al_col cols[AL_VIEW_MAX_COLS];
    json_object_foreach(obj, k, v)
    {
        if (is_object_array(v)) {
            char hdrs[AL_VIEW_MAX_COLS][64];
            size_t n = scalar_cols(v, cols, AL_VIEW_MAX_COLS);
            for (size_t c = 0; c < n; c++)
                cols[c].header = display_key(cols[c].path, hdrs[c], sizeof hdrs[c]);
            fprintf(f, "\n%s%s:\n", prefix, k);
            al_view_list(v, cols, n, f);
        } else if (json_is_object(v) && !prefix[0]) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s.", k);
            view_tables(v, sub, f);
        }
    }
}

void al_view_object(json_t *obj, FILE *f)
{
    view_fields(obj, "", 0, f);
    view_tables(obj, "", f);
}

/* The "currency" beside the money field at `path` ("quote.total_micros" → "quote.currency"),
 * or NULL. */
static const char *currency_of(json_t *obj, const char *path)
{
    char sib[160];
    const char *dot = strrchr(path, '.');
    int n = dot ? (int)(dot - path + 1) : 0;
    if (snprintf(sib, sizeof sib, "%.*scurrency", n, path) >= (int)sizeof sib)
        return NULL;
    return json_string_value(al_view_get(obj, sib));
}

void al_view_brief(json_t *obj, const struct al_col *cols, size_t ncols, FILE *f)
{
    char cell[AL_VIEW_CELL_MAX];
    for (size_t c = 0; c < ncols; c++) {
        const char *path = cols[c].path;
        if (path[0] == '#') {
            json_t *arr = al_view_get(obj, path + 1);
            if (json_is_array(arr))
                fprintf(f, "%s: %zu\n", cols[c].header, json_array_size(arr));
            continue;
        }
        json_t *v = al_view_get(obj, path);
        if (!v || json_is_null(v))
            continue;
        al_view_cell(v, path, cell, sizeof cell);
        const char *cur = json_is_integer(v) && is_money(path) ? currency_of(obj, path) : NULL;
        fprintf(f, "%s: %s%s%s\n", cols[c].header, cell, cur ? " " : "", cur ? cur : "");
    }
}
