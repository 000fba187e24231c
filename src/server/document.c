/* document.c — a resource as a printable HTML page: escaped text only, money in currency
 * units from micro-units, arrays of objects as tables (document.h). */
#include "server/document.h"

#include "core/money.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The page being written; once out of memory it stays so (s NULL) and ignores the rest. */
struct page {
    char *s;
    size_t len, cap;
    bool oom;
};

static void raw(struct page *p, const char *s, size_t n)
{
    if (p->oom)
        return;
    if (p->len + n + 1 > p->cap) {
        size_t cap = (p->len + n + 1) * 2;
        char *t = realloc(p->s, cap);
        if (!t) {
            free(p->s);
            *p = (struct page){.oom = true};
            return;
        }
        p->s = t;
        p->cap = cap;
    }
    memcpy(p->s + p->len, s, n);
    p->len += n;
    p->s[p->len] = '\0';
}

static void put(struct page *p, const char *s)
{
    raw(p, s, strlen(s));
}

/* The entity that stands for `ch` in HTML text or an attribute, or NULL when it stands for
 * itself. */
static const char *entity(char ch)
{
    switch (ch) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    default:
        return NULL;
    }
}

/* Append `s` escaped, a run of plain bytes at a time. */
static void text(struct page *p, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *e = entity(*s);
        if (!e)
            continue;
        raw(p, run, (size_t)(s - run));
        put(p, e);
        run = s + 1;
    }
    raw(p, run, (size_t)(s - run));
}

char *al_doc_escape(const char *s)
{
    struct page p = {0};
    raw(&p, "", 0);
    text(&p, s);
    return p.s;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A field's name as a heading: `_` as a space, and the `_micros` of a money field left out,
 * since its amounts are shown in currency units ("total_micros" → "total"). */
static void label(struct page *p, const char *key)
{
    size_t n = strlen(key);
    if (ends_with(key, "_micros"))
        n -= strlen("_micros");
    for (size_t i = 0; i < n; i++) {
        const char *e = entity(key[i]);
        if (key[i] == '_')
            put(p, " ");
        else if (e)
            put(p, e);
        else
            raw(p, key + i, 1);
    }
}

/* A scalar as text: money fields in currency units, null as a dash (none). False, writing
 * nothing, for an object or an array. */
static bool scalar(struct page *p, const char *key, const json_t *v)
{
    char buf[AL_MONEY_FMT_MAX + 8];
    if (json_is_string(v)) {
        text(p, json_string_value(v));
    } else if (json_is_integer(v) && ends_with(key, "_micros")) {
        text(p, al_money_fmt(json_integer_value(v), buf, sizeof buf));
    } else if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        text(p, buf);
    } else if (json_is_boolean(v)) {
        put(p, json_is_true(v) ? "yes" : "no");
    } else if (!v || json_is_null(v)) {
        put(p, "&mdash;");
    } else {
        return false;
    }
    return true;
}

/* A field's value: a scalar as above, an object's scalar members on one line ("id 1,
 * version 1": a quote's contract); anything nested deeper is left to the JSON form. */
static void value(struct page *p, const char *key, const json_t *v)
{
    const char *k;
    json_t *m;
    bool first = true;
    if (scalar(p, key, v))
        return;
    if (!json_is_object(v)) {
        put(p, "(see the JSON form)");
        return;
    }
    json_object_foreach((json_t *)v, k, m)
    {
        put(p, first ? "" : ", ");
        first = false;
        label(p, k);
        put(p, " ");
        if (!scalar(p, k, m))
            put(p, "(see the JSON form)");
    }
    if (first)
        put(p, "&mdash;");
}

/* An array of objects as a table, its columns the first object's keys. */
static void table(struct page *p, const json_t *a)
{
    json_t *first = json_array_get(a, 0), *row, *v;
    const char *key;
    size_t i;
    if (!json_is_object(first)) {
        put(p, "&mdash;");
        return;
    }
    put(p, "<table><tr>");
    json_object_foreach(first, key, v)
    {
        put(p, "<th>");
        label(p, key);
        put(p, "</th>");
    }
    put(p, "</tr>");
    json_array_foreach(a, i, row)
    {
        put(p, "<tr>");
        json_object_foreach(first, key, v)
        {
            put(p, "<td>");
            value(p, key, json_object_get(row, key));
            put(p, "</td>");
        }
        put(p, "</tr>");
    }
    put(p, "</table>");
}

static void field(struct page *p, const char *key, const json_t *v)
{
    put(p, "<tr><th>");
    label(p, key);
    put(p, "</th><td>");
    if (json_is_array(v))
        table(p, v);
    else
        value(p, key, v);
    put(p, "</td></tr>\n");
}

char *al_doc_render(const char *title, const json_t *org, const json_t *res)
{
    static const char style[] =
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "th,td{border:1px solid #999;padding:2px 6px;text-align:left;vertical-align:top}"
        "</style>";
    struct page p = {0};
    const char *key;
    json_t *v;
    put(&p, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
    text(&p, title);
    put(&p, "</title>");
    put(&p, style);
    put(&p, "</head><body>\n<h1>");
    text(&p, title);
    put(&p, "</h1>\n<table>\n");
    if (org) {
        field(&p, "org_name", json_object_get(org, "name"));
        field(&p, "customer_code", json_object_get(org, "customer_code"));
        field(&p, "org_display_name", json_object_get(org, "display_name"));
    }
    json_object_foreach((json_t *)res, key, v) field(&p, key, v);
    put(&p, "</table>\n<p>Amounts in USD.</p>\n</body></html>\n");
    return p.s;
}
