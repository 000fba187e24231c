/* cmd_webhook.c — `allot webhook create|list|show|delete|deliveries|test`: webhooks
 * (docs/webhooks.md). A new hook's signing secret is printed once, on its own line. */
#include "cli/conn.h"

#include <stdio.h>
#include <string.h>

static const struct al_col hook_cols[] = {
    {"ID", "id"},         {"ORG", "org"},           {"URL", "url"},
    {"ACTIVE", "active"}, {"FAILURES", "failures"}, {"CREATED", "created_at"},
};

static const struct al_col delivery_cols[] = {
    {"ID", "id"},         {"EVENT", "event"},      {"KIND", "kind"},    {"ATTEMPT", "attempt"},
    {"STATUS", "status"}, {"HTTP", "http_status"}, {"NEXT", "next_at"}, {"ERROR", "error"},
};

static const struct al_opt create_opts[] = {
    {"url", AL_ARG_STR, "url", "where to POST the deliveries: http(s) (required)"},
    {"events", AL_ARG_STR, NULL,
     "kinds, comma-separated: \"reservation.*\", \"balance.low\", or \"*\" (required)"},
    {"description", AL_ARG_STR, "description", "a note for people"},
    {"org", AL_ARG_STR, "org", "operators: only this org's events (default: every event)"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt page_opts[] = {
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt deliveries_opts[] = {
    {"after", AL_ARG_STR, "after", "only deliveries after this delivery id"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* "a,b,c" as a JSON array of the non-empty pieces, or NULL when there is none. */
static json_t *split_events(const char *list)
{
    json_t *arr = json_array();
    const char *p = list;
    while (arr && *p) {
        size_t n = strcspn(p, ",");
        if (n > 0)
            json_array_append_new(arr, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    if (arr && json_array_size(arr) == 0) {
        json_decref(arr);
        arr = NULL;
    }
    return arr;
}

static int webhook_create(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot webhook create --url URL --events KINDS",
        "Register a webhook and print its signing secret (shown only this once).", 0, 0,
        create_opts};
    struct al_args a;
    struct al_conn c = {0};
    json_t *body = NULL, *ans = NULL, *events;
    char kbuf[48];
    const char *key;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!al_args_get(&a, "url") || !al_args_get(&a, "events"))
        return al_args_usage_error(&a, "--url and --events are required", NULL);
    if (!(events = split_events(al_args_get(&a, "events"))))
        return al_args_usage_error(&a, "--events lists no kind", NULL);
    body = json_pack("{s:o}", "events", events);
    if (!body || al_args_to_json(&a, body) < 0 ||
        !(key = al_conn_idem_key(&a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "POST", "/v1/webhooks", body, key, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans);
        goto out;
    }
    const char *secret = json_string_value(json_object_get(ans, "secret"));
    printf("created webhook %s for %s\n", json_string_value(json_object_get(ans, "id")),
           json_string_value(json_object_get(ans, "url")));
    if (secret) {
        printf("signing secret (shown only now): %s\n", secret);
    } else { /* a retry's replay after a server restart: the secret was shown once, then */
        fprintf(stderr, "allot webhook create: the server withholds the secret (shown once, to "
                        "the first answer of this Idempotency-Key)\n");
        rc = AL_EXIT_NO;
    }
    json_decref(ans);
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}

static int webhook_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot webhook list", "List webhooks (operators: all; org admins: their org's).", 0, 0,
         page_opts},
        "GET",
        "/v1/webhooks",
        NULL,
        NULL,
        0,
        hook_cols,
        sizeof hook_cols / sizeof hook_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int webhook_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot webhook show ID", "Show a webhook (never its secret).", 1, 1, NULL},
        "GET",
        "/v1/webhooks",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int webhook_delete(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot webhook delete ID",
         "Remove a webhook: nothing more is sent to it; its delivery log is kept.", 1, 1, NULL},
        "DELETE",
        "/v1/webhooks",
        NULL,
        NULL,
        0,
        hook_cols,
        sizeof hook_cols / sizeof hook_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int webhook_deliveries(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot webhook deliveries ID",
         "A webhook's delivery log: each delivery, its attempts and their outcome.", 1, 1,
         deliveries_opts},
        "GET",
        "/v1/webhooks",
        NULL,
        "deliveries",
        0,
        delivery_cols,
        sizeof delivery_cols / sizeof delivery_cols[0]};
    return al_conn_run(&s, argc, argv);
}

static int webhook_test(int argc, char **argv)
{
    static const struct al_col test_cols[] = {{"id", "id"}, {"status", "status"}};
    static const struct al_call_spec s = {{"allot webhook test ID",
                                           "Send a webhook.test ping delivery to a webhook now.", 1,
                                           1, NULL},
                                          "POST",
                                          "/v1/webhooks",
                                          NULL,
                                          "test",
                                          0,
                                          test_cols,
                                          sizeof test_cols / sizeof test_cols[0]};
    return al_conn_run(&s, argc, argv);
}

int al_cmd_webhook(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "register a webhook and print its signing secret", webhook_create},
        {"list", "list webhooks", webhook_list},
        {"show", "show a webhook", webhook_show},
        {"delete", "remove a webhook", webhook_delete},
        {"deliveries", "a webhook's delivery log", webhook_deliveries},
        {"test", "send a test ping", webhook_test},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot webhook", cmds, argc, argv);
}
