/* routes_webhooks.c — webhooks (docs/webhooks.md): an operator registers hooks for any org's
 * events or for all, an org admin for their org's; each hook's signing secret is shown once,
 * in the answer that creates it (the database holds it sealed: server/whkey.h). The delivery
 * log of a hook, and a test ping through the dispatcher (server/webhooks.h). */
#include "server/http.h"

#include "core/webhook.h"
#include "server/routes.h"
#include "server/webhooks.h"
#include "server/whkey.h"
#include "store/store_webhook.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URL_MAX  2048 /* a hook's URL, in bytes */
#define DESC_MAX 512  /* its description */

static const char *const delivery_times[] = {"next_at", "created_at", "delivered_at", NULL};

/* ---- checks ---- */

/* Whether the parsed `u` part `what` is set (its text not needed). */
static bool url_has(CURLU *u, CURLUPart what)
{
    char *v = NULL;
    bool has = curl_url_get(u, what, &v, 0) == CURLUE_OK && v && v[0];
    curl_free(v);
    return has;
}

/* `url`: http or https, a host, no credentials, printable ASCII without spaces, at most
 * URL_MAX bytes. 0, or the call fails naming "url". */
static int url_check(struct al_ctx *c, const char *url)
{
    CURLU *u = NULL;
    char *scheme = NULL;
    int rc = 0;
    for (const char *p = url; *p; p++)
        if (*p <= ' ' || *p > '~')
            return al_http_fail(c, AL_E_INVAL, "url", "url must be printable ASCII, no spaces");
    if (strlen(url) > URL_MAX)
        return al_http_fail(c, AL_E_INVAL, "url", "url must be at most %d bytes", URL_MAX);
    if (!(u = curl_url()))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !url_has(u, CURLUPART_HOST))
        rc = al_http_fail(c, AL_E_INVAL, "url", "url must be an absolute http(s) URL");
    else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        rc = al_http_fail(c, AL_E_INVAL, "url", "url must be http or https, not %s", scheme);
    else if (url_has(u, CURLUPART_USER) || url_has(u, CURLUPART_PASSWORD))
        rc = al_http_fail(c, AL_E_INVAL, "url",
                          "url must not hold credentials: verify the signature instead");
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* `events`: 1..AL_WEBHOOK_PATTERNS_MAX patterns of core/webhook.h. Sets *text to the array as
 * JSON (caller frees). 0, or the call fails naming "events". */
static int events_check(struct al_ctx *c, json_t *events, char **text)
{
    json_t *v;
    size_t i;
    if (!json_is_array(events) || json_array_size(events) < 1 ||
        json_array_size(events) > AL_WEBHOOK_PATTERNS_MAX)
        return al_http_fail(c, AL_E_INVAL, "events",
                            "events must be an array of 1..%d event kinds or patterns",
                            AL_WEBHOOK_PATTERNS_MAX);
    json_array_foreach(events, i, v)
    {
        const char *p = json_string_value(v);
        if (!p || !al_webhook_pattern_ok(p))
            return al_http_fail(c, AL_E_INVAL, "events",
                                "events[%zu]: not an event kind, \"<prefix>.*\" or \"*\"", i);
    }
    if (!(*text = json_dumps(events, JSON_COMPACT)))
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return 0;
}

/* The org a new hook serves: an org admin's own (`key`, when given, must name it); an
 * operator's `key` (id, name or customer code), or none: every event. */
static int hook_org(struct al_ctx *c, const char *key, char *id, size_t cap)
{
    json_t *org = NULL;
    struct al_err e = {0};
    id[0] = '\0';
    if (!key && c->role != AL_ROLE_OPERATOR)
        key = c->org;
    if (!key)
        return 0;
    int rc = al_store_org_get(c->srv->store, key, &org, &e);
    const char *oid = rc == 0 ? json_string_value(json_object_get(org, "id")) : NULL;
    if (rc == 0 && !al_ctx_sees(c, oid))
        rc = AL_E_NOTFOUND;
    if (rc == 0)
        snprintf(id, cap, "%s", oid);
    json_decref(org);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s", key);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* Hook c->params[0] as the caller may see it (another org's is 404, as one that does not
 * exist); the caller decrefs *ret. */
static int hook_load(struct al_ctx *c, json_t **ret)
{
    struct al_err e = {0};
    int rc = al_store_webhook_get(c->srv->store, c->params[0], ret, NULL, &e);
    if (rc == 0 && c->role != AL_ROLE_OPERATOR &&
        !al_ctx_sees(c, json_string_value(json_object_get(*ret, "org")))) {
        json_decref(*ret);
        *ret = NULL;
        rc = AL_E_NOTFOUND;
    }
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no webhook %s", c->params[0]);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* ---- hooks ---- */

/* Insert the hook of `w` with a new secret (into `secret`) sealed under the server's key. */
static int hook_insert(struct al_ctx *c, struct al_store_webhook_new *w, char *secret, size_t cap)
{
    const struct al_whkey *key = al_webhooks_key(c->srv);
    struct al_err e = {0};
    if (!key)
        return al_http_fail(c, AL_E_UNAVAILABLE, NULL, "the webhook dispatcher is not running");
    al_whkey_secret_new(secret, cap);
    char *box = al_whkey_seal(key, w->id, secret);
    if (!box)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    w->secret_box = box;
    int rc = al_store_webhook_insert(c->srv->store, w, &e);
    free(box);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

static int post_webhooks(struct al_ctx *c)
{
    static const char *const allowed[] = {"url", "events", "description", "org", NULL};
    const char *url = NULL, *desc = NULL, *org_key = NULL;
    char id[AL_HTTP_ID_LEN], org[AL_HTTP_ID_LEN + 64], secret[AL_WHKEY_SECRET_CAP];
    char *events = NULL;
    json_t *hook = NULL;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) ||
        al_field_text(c, c->body, "url", true, URL_MAX, &url) ||
        al_field_text(c, c->body, "description", false, DESC_MAX, &desc) ||
        al_field_limit(c, c->body, "org", AL_LIMIT_NAME, false, &org_key) || url_check(c, url) ||
        events_check(c, json_object_get(c->body, "events"), &events) ||
        hook_org(c, org_key, org, sizeof org))
        goto out;
    al_id_new("whk", c->now, id, sizeof id);
    struct al_store_webhook_new w = {id,   c->user_id, org[0] ? org : NULL, url, events, desc,
                                     NULL, c->now};
    if (hook_insert(c, &w, secret, sizeof secret) ||
        al_event(c, AL_EVENT_WEBHOOK_CREATED, w.org, id,
                 json_pack("{s:s,s:s?,s:o}", "url", url, "org", w.org, "events",
                           json_deep_copy(json_object_get(c->body, "events")))))
        goto out;
    if ((rc = al_store_webhook_get(c->srv->store, id, &hook, NULL, &e)) != 0) {
        al_http_fail_err(c, rc, &e);
        goto out;
    }
    al_time_fields(hook, al_time_keys);
    json_object_set_new(hook, "secret", json_string(secret));
    al_webhooks_kick(c->srv); /* on PostgreSQL the dispatcher looks for an active hook rarely */
    al_http_reply(c, 201, hook);
out:
    sodium_memzero(secret, sizeof secret);
    free(events);
    return c->err_code;
}

static int get_webhooks(struct al_ctx *c)
{
    struct al_store_page pg;
    json_t *items, *o;
    char *next = NULL;
    struct al_err e = {0};
    size_t i;
    if (al_http_page(c, &pg))
        return c->err_code;
    int rc = al_store_webhook_list(c->srv->store, c->role == AL_ROLE_OPERATOR ? NULL : c->org, pg,
                                   &items, &next, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(items, i, o) al_time_fields(o, al_time_keys);
    return al_http_reply(c, 200, al_http_list(items, next));
}

static int get_webhook(struct al_ctx *c)
{
    json_t *hook;
    if (hook_load(c, &hook))
        return c->err_code;
    al_time_fields(hook, al_time_keys);
    return al_http_reply(c, 200, hook);
}

/* Removed: no longer active, its pending deliveries failed, its log kept; the answer is the
 * hook as it ended (active false). */
static int delete_webhook(struct al_ctx *c)
{
    json_t *hook;
    struct al_err e = {0};
    if (hook_load(c, &hook))
        return c->err_code;
    int rc = al_store_webhook_end(c->srv->store, c->params[0], true, c->now, "webhook deleted", &e);
    if (rc) {
        json_decref(hook);
        return al_http_fail_err(c, rc, &e);
    }
    if (al_event(c, AL_EVENT_WEBHOOK_DELETED, json_string_value(json_object_get(hook, "org")),
                 c->params[0], json_pack("{s:O}", "url", json_object_get(hook, "url")))) {
        json_decref(hook);
        return c->err_code;
    }
    json_object_set_new(hook, "active", json_false());
    al_time_fields(hook, al_time_keys);
    return al_http_reply(c, 200, hook);
}

/* ---- deliveries ---- */

/* A stored delivery as the API shows it: its event as "evt_…", times in RFC 3339. */
static void delivery_api(json_t *d)
{
    json_t *ev = json_object_get(d, "event"), *a;
    size_t i;
    if (json_is_integer(ev)) {
        char id[32];
        snprintf(id, sizeof id, "evt_%012" PRId64, (int64_t)json_integer_value(ev));
        json_object_set_new(d, "event", json_string(id));
    }
    al_time_fields(d, delivery_times);
    json_array_foreach(json_object_get(d, "attempts"), i, a)
        al_time_fields(a, (const char *const[]){"at", NULL});
}

static int get_deliveries(struct al_ctx *c)
{
    const char *after = al_http_query(c, "after");
    struct al_store_page pg;
    json_t *hook = NULL, *items = NULL, *d = NULL, *o;
    char *next = NULL;
    struct al_err e = {0};
    size_t i;
    int rc;
    if (al_http_page(c, &pg) || hook_load(c, &hook))
        goto out;
    if (after && (al_store_delivery_get(c->srv->store, after, &d, &e) != 0 ||
                  strcmp(json_string_value(json_object_get(d, "webhook")), c->params[0]) != 0)) {
        al_http_fail(c, AL_E_INVAL, "after", "after must be a delivery id of this webhook");
        goto out;
    }
    if ((rc = al_store_delivery_list(c->srv->store, c->params[0], after, pg, &items, &next, &e))) {
        al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
        goto out;
    }
    json_array_foreach(items, i, o) delivery_api(o);
    al_http_reply(c, 200, al_http_list(items, next));
out:
    json_decref(hook);
    json_decref(d);
    return c->err_code;
}

/* A webhook.test ping: a delivery of its own (no event) that the dispatcher sends at once. */
static int post_test(struct al_ctx *c)
{
    json_t *hook = NULL, *d = NULL, *data;
    char did[AL_HTTP_ID_LEN], *payload = NULL;
    struct al_err e = {0};
    int rc;
    if (hook_load(c, &hook))
        goto out;
    if (!json_is_true(json_object_get(hook, "active"))) {
        al_http_fail(c, AL_E_STATE, NULL, "webhook %s is disabled", c->params[0]);
        goto out;
    }
    al_id_new("whd", c->now, did, sizeof did);
    data = json_pack("{s:s,s:o}", "webhook", c->params[0], "at", al_time_json(c->now));
    payload = data ? al_webhooks_payload(did, "webhook.test",
                                         json_string_value(json_object_get(data, "at")), data)
                   : NULL;
    json_decref(data);
    struct al_store_delivery_new dn = {did, c->params[0], "webhook.test", -1, payload, c->now};
    if (!payload)
        rc = al_err_set(&e, AL_E_NOMEM, "out of memory");
    else if ((rc = al_store_delivery_insert(c->srv->store, &dn, &e)) == 0)
        rc = al_store_delivery_get(c->srv->store, did, &d, &e);
    if (rc) {
        al_http_fail_err(c, rc, &e);
        goto out;
    }
    delivery_api(d);
    al_webhooks_kick(c->srv);
    al_http_reply(c, 202, d);
out:
    free(payload);
    json_decref(hook);
    return c->err_code;
}

const struct al_route al_routes_webhooks[] = {
    {"POST", "/v1/webhooks", post_webhooks, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, true, false},
    {"GET", "/v1/webhooks", get_webhooks, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, false, false},
    {"GET", "/v1/webhooks/*", get_webhook, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, false, false},
    {"DELETE", "/v1/webhooks/*", delete_webhook, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, true, false},
    {"GET", "/v1/webhooks/*/deliveries", get_deliveries, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN,
     false, false},
    {"POST", "/v1/webhooks/*/test", post_test, AL_ROLE_OPERATOR | AL_ROLE_ORG_ADMIN, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
