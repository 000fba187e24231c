/* http.c — replies, errors, field validators, RFC 3339 times, the server's clock, ids and
 * tokens shared by the server's resource files. */
#include "server/http.h"

#include "common/num.h"
#include "server/call.h"
#include "server/evstream.h"

#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int al_http_reply(struct al_ctx *c, int status, json_t *j)
{
    json_decref(c->resp);
    c->status = status;
    c->resp = j;
    return 0;
}

int al_http_reply_text(struct al_ctx *c, int status, const char *type, char *text)
{
    if (!text)
        return al_http_fail(c, AL_E_NOMEM, NULL, "no memory for the answer");
    free(c->resp_text);
    json_decref(c->resp);
    c->resp = NULL;
    c->status = status;
    c->resp_text = text;
    c->resp_type = type;
    return 0;
}

int al_http_status(int code)
{
    switch (code) {
    case AL_E_INVAL:
    case AL_E_RANGE:
        return 400;
    case AL_E_AUTH:
        return 401;
    case AL_E_FORBIDDEN:
        return 403;
    case AL_E_NOTFOUND:
        return 404;
    case AL_E_CONFLICT:
    case AL_E_NOFIT:
    case AL_E_STATE:
    case AL_E_EXPIRED:
    case AL_E_PAYMENT:
        return 409;
    case AL_E_UNSUPPORTED:
        return 501;
    case AL_E_FULL:
        return 507; /* Insufficient Storage (RFC 4918): the disk is full, nothing was written */
    case AL_E_UNAVAILABLE:
        return 503; /* what the call needs is unreachable now; a retry later may succeed */
    default:
        return 500;
    }
}

const char *al_http_code_name(int code)
{
    switch (code) {
    case AL_E_RANGE:
        return "invalid_argument"; /* the API has one code for bad input */
    case AL_E_INVAL:
    case AL_E_AUTH:
    case AL_E_FORBIDDEN:
    case AL_E_NOTFOUND:
    case AL_E_CONFLICT:
    case AL_E_NOFIT:
    case AL_E_STATE:
    case AL_E_EXPIRED:
    case AL_E_PAYMENT:
    case AL_E_UNSUPPORTED:
    case AL_E_FULL:
    case AL_E_UNAVAILABLE:
        return al_code_name(code);
    default:
        return "internal";
    }
}

/* Declared with its format attribute, so that the compiler checks each caller's format and
 * accepts the vsnprintf below. */
static int fail_v(struct al_ctx *c, int code, const char *field, json_t *details, const char *fmt,
                  va_list ap) AL_PRINTF(5, 0);

static int fail_v(struct al_ctx *c, int code, const char *field, json_t *details, const char *fmt,
                  va_list ap)
{
    c->err_code = code;
    snprintf(c->err_field, sizeof c->err_field, "%s", field ? field : "");
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    json_decref(c->err_details);
    c->err_details = details;
    return code;
}

int al_http_fail(struct al_ctx *c, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fail_v(c, code, field, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int al_http_fail_details(struct al_ctx *c, int code, json_t *details, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fail_v(c, code, NULL, details, fmt, ap);
    va_end(ap);
    return rc;
}

int al_http_fail_err(struct al_ctx *c, int code, const struct al_err *e)
{
    return al_http_fail(c, code, NULL, "%s", e && e->msg[0] ? e->msg : al_strerror(code));
}

void al_http_reset_answer(struct al_ctx *c)
{
    json_decref(c->resp);
    free(c->resp_text);
    al_evsub_free(c->stream);
    json_decref(c->err_details);
    c->status = 0;
    c->resp = NULL;
    c->resp_text = NULL;
    c->resp_type = NULL;
    c->stream = NULL;
    c->err_code = 0;
    c->err_field[0] = c->err_msg[0] = '\0';
    c->err_details = NULL;
    c->err_refusal = 0;
    c->err_api = NULL;
    c->cal_touched = false;
}

const char *al_http_query(struct al_ctx *c, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; c->call && i < c->call->nparams; i++)
        if (c->call->params[i].key_len == n && memcmp(c->call->params[i].key, key, n) == 0)
            return c->call->params[i].val;
    return NULL;
}

int al_http_page(struct al_ctx *c, struct al_store_page *pg)
{
    const char *l = al_http_query(c, "limit"), *cur = al_http_query(c, "cursor");
    pg->limit = 100;
    pg->cursor = NULL;
    if (l) {
        int64_t v;
        if (al_parse_i64(l, 1, 500, &v) != 0)
            return al_http_fail(c, AL_E_INVAL, "limit", "limit must be 1..500");
        pg->limit = (int)v;
    }
    if (cur) {
        if (strlen(cur) > AL_HTTP_MAX_NAME + 8 || !al_name_ok(cur))
            return al_http_fail(c, AL_E_INVAL, "cursor", "malformed cursor");
        pg->cursor = cur;
    }
    return 0;
}

json_t *al_http_list(json_t *items, char *next)
{
    json_t *j = json_pack("{s:o,s:o}", "items", items, "next_cursor",
                          next ? json_string(next) : json_null());
    free(next);
    return j;
}

/* ---- validators ---- */

bool al_name_ok(const char *s)
{
    return s && al_limit_ok(AL_LIMIT_NAME, s, strlen(s));
}

static json_t *field_get(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

int al_field_limit(struct al_ctx *c, json_t *o, const char *key, enum al_limit_id lim,
                   bool required, const char **ret)
{
    const struct al_limit *l = &al_limits[lim];
    json_t *v = field_get(o, key);
    if (!v)
        return required ? al_http_fail(c, AL_E_INVAL, key, "%s is required", key) : 0;
    if (!json_is_string(v) || !al_limit_ok(lim, json_string_value(v), json_string_length(v))) {
        if (l->chars == AL_CHARS_TEXT)
            return al_http_fail(c, AL_E_INVAL, key, "%s must be a string of %zu..%zu bytes, no NUL",
                                key, l->min, l->max);
        return al_http_fail(c, AL_E_INVAL, key, "%s must be %zu..%zu characters of %s", key, l->min,
                            l->max, al_limit_chars(l->chars));
    }
    *ret = json_string_value(v);
    return 0;
}

int al_field_name(struct al_ctx *c, json_t *o, const char *key, bool required, const char **ret)
{
    return al_field_limit(c, o, key, AL_LIMIT_NAME, required, ret);
}

int al_field_text(struct al_ctx *c, json_t *o, const char *key, bool required, size_t max,
                  const char **ret)
{
    json_t *v = field_get(o, key);
    if (!v)
        return required ? al_http_fail(c, AL_E_INVAL, key, "%s is required", key) : 0;
    if (!json_is_string(v))
        return al_http_fail(c, AL_E_INVAL, key, "%s must be a string", key);
    size_t n = json_string_length(v);
    if (n > max || strlen(json_string_value(v)) != n)
        return al_http_fail(c, AL_E_INVAL, key, "%s must be at most %zu bytes, no NUL", key, max);
    *ret = json_string_value(v);
    return 0;
}

int al_field_int(struct al_ctx *c, json_t *o, const char *key, bool required, int64_t min,
                 int64_t max, int64_t *ret)
{
    json_t *v = field_get(o, key);
    if (!v)
        return required ? al_http_fail(c, AL_E_INVAL, key, "%s is required", key) : 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return al_http_fail(c, AL_E_INVAL, key, "%s must be an integer in %" PRId64 "..%" PRId64,
                            key, min, max);
    *ret = json_integer_value(v);
    return 0;
}

int al_field_bool(struct al_ctx *c, json_t *o, const char *key, bool *ret)
{
    json_t *v = field_get(o, key);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return al_http_fail(c, AL_E_INVAL, key, "%s must be true or false", key);
    *ret = json_is_true(v);
    return 0;
}

int al_field_time(struct al_ctx *c, json_t *o, const char *key, bool required, int64_t *ret)
{
    json_t *v = field_get(o, key);
    if (!v)
        return required ? al_http_fail(c, AL_E_INVAL, key, "%s is required", key) : 0;
    if (!json_is_string(v) || al_time_parse(json_string_value(v), ret) != 0)
        return al_http_fail(c, AL_E_INVAL, key,
                            "%s must be an RFC 3339 UTC time like 2026-12-01T00:00:00Z", key);
    return 0;
}

bool al_field_listed(const char *const *list, const char *k)
{
    while (*list && strcmp(*list, k) != 0)
        list++;
    return *list != NULL;
}

int al_field_only(struct al_ctx *c, json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!al_field_listed(allowed, k)) {
            char name[AL_HTTP_MAX_NAME + 1];
            snprintf(name, sizeof name, "%s", k);
            return al_http_fail(c, AL_E_INVAL, name, "unknown field %s", name);
        }
    }
    return 0;
}

/* ---- times ---- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm): timegm without libc's
 * time zone machinery. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The number written with the `n` digits at s (all must be digits). */
static int digits(const char *s, int n, unsigned *ret)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return AL_E_INVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ret = v;
    return 0;
}

int al_time_parse(const char *s, int64_t *ret)
{
    /* exactly YYYY-MM-DDTHH:MM:SSZ */
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned yr, mon, day, hr, min, sec;
    if (!s || strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z' || digits(s, 4, &yr) || digits(s + 5, 2, &mon) ||
        digits(s + 8, 2, &day) || digits(s + 11, 2, &hr) || digits(s + 14, 2, &min) ||
        digits(s + 17, 2, &sec))
        return AL_E_INVAL;
    if (yr < 1970 || mon < 1 || mon > 12 || day < 1 || day > mdays[mon - 1] || hr > 23 ||
        min > 59 || sec > 59)
        return AL_E_INVAL;
    if (mon == 2 && day == 29 && !((yr % 4 == 0 && yr % 100 != 0) || yr % 400 == 0))
        return AL_E_INVAL;
    *ret = days_from_civil(yr, mon, day) * 86400 + (int64_t)hr * 3600 + (int64_t)min * 60 + sec;
    return 0;
}

int al_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
    return al_num_parse_i64(s, min, max, ret) == 0 ? 0 : AL_E_INVAL;
}

char *al_time_fmt(int64_t t, char *buf, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "invalid");
    return buf;
}

json_t *al_time_json(int64_t t)
{
    char buf[32];
    return json_string(al_time_fmt(t, buf, sizeof buf));
}

const char *const al_time_keys[] = {"created_at", "updated_at", "last_seen", NULL};

void al_time_fields(json_t *o, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(o, *keys);
        if (json_is_integer(v))
            json_object_set_new(o, *keys, al_time_json(json_integer_value(v)));
    }
}

int64_t al_srv_now(const struct al_srv *srv)
{
    if (srv->clock_file) {
        /* test-only clock: the file holds a unix time; unreadable → the system clock */
        char buf[32] = {0};
        int64_t v = 0;
        FILE *f = fopen(srv->clock_file, "r");
        bool got = f && fgets(buf, sizeof buf, f);
        if (f && fclose(f) != 0)
            got = false;
        buf[strcspn(buf, "\n")] = '\0';
        if (got && al_parse_i64(buf, 1, INT64_MAX, &v) == 0)
            return v;
    }
    return (int64_t)time(NULL);
}

/* ---- ids ---- */

void al_id_new(const char *prefix, int64_t now, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s_%08" PRIx32 "%08" PRIx32, prefix, (uint32_t)now, randombytes_random());
}

int al_event_orgs(struct al_ctx *c, enum al_event_kind kind, const char *const *orgs, size_t n,
                  const char *object, json_t *data)
{
    struct al_err e = {0};
    int64_t seq = al_store_event_append(c->srv->store, c->now, c->user_id ? c->user_id : "system",
                                        al_event_kind_name(kind), object, data, &e);
    json_decref(data);
    int rc = seq < 0 ? (int)seq : al_store_event_orgs_add(c->srv->store, seq, orgs, n, &e);
    if (rc < 0)
        return al_http_fail_err(c, rc, &e);
    al_evstream_appended(c->srv);
    return 0;
}

int al_event(struct al_ctx *c, enum al_event_kind kind, const char *org, const char *object,
             json_t *data)
{
    return al_event_orgs(c, kind, &org, 1, object, data);
}

int al_event_orgs_json(struct al_ctx *c, enum al_event_kind kind, const json_t *orgs,
                       const char *object, json_t *data)
{
    size_t n = json_array_size(orgs), i;
    const char **list = calloc(n + 1, sizeof *list); /* one more: never a 0-byte calloc */
    json_t *o;
    if (!list) {
        json_decref(data);
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    }
    json_array_foreach(orgs, i, o) list[i] = json_string_value(o);
    int rc = al_event_orgs(c, kind, list, n, object, data);
    free(list);
    return rc;
}

int al_event_migchange(struct al_ctx *c, enum al_event_kind kind, const char *id, json_t *data)
{
    json_t *orgs = NULL;
    struct al_err e = {0};
    int rc = al_store_migchange_orgs(c->srv->store, id, &orgs, &e);
    if (rc) {
        json_decref(data);
        return al_http_fail_err(c, rc, &e);
    }
    rc = al_event_orgs_json(c, kind, orgs, id, data);
    json_decref(orgs);
    return rc;
}

int al_event_holders(struct al_ctx *c, enum al_event_kind kind, const json_t *owners,
                     const char *object, json_t *data)
{
    json_t *orgs = NULL;
    struct al_err e = {0};
    int rc = al_store_owner_orgs(c->srv->store, owners, &orgs, &e);
    if (rc) {
        json_decref(data);
        return al_http_fail_err(c, rc, &e);
    }
    rc = al_event_orgs_json(c, kind, orgs, object, data);
    json_decref(orgs);
    return rc;
}

bool al_ctx_sees(const struct al_ctx *c, const char *org)
{
    return c->role == AL_ROLE_OPERATOR || (c->org && org && strcmp(c->org, org) == 0);
}
