/* cmd_org.c — `allot org create|list|show|balance|limits|topup`: organizations (operators
 * create them) and their money (balances; the contract's limits beside what is in use; top-ups,
 * whose amount is decimal text parsed exactly to micro-units by core/money, never through floating
 * point). */
#include "cli/conn.h"

#include "core/contract.h"
#include "core/money.h"

#include <stdio.h>

#define AL_IDEM_OPT                                                                                \
    {                                                                                              \
        "idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"                   \
    }

static const struct al_col org_cols[] = {
    {"ID", "id"},
    {"NAME", "name"},
    {"CUSTOMER CODE", "customer_code"},
    {"DISPLAY NAME", "display_name"},
    {"CREATED", "created_at"},
};
#define NCOLS (sizeof org_cols / sizeof org_cols[0])

static const struct al_opt create_opts[] = {
    {"customer-code", AL_ARG_STR, "customer_code", "customer code (unique, optional)"},
    {"display-name", AL_ARG_STR, "display_name", "name shown to people"},
    AL_IDEM_OPT,
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt list_opts[] = {
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int org_create(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org create NAME", "Create an organization (operator).", 1, 1, create_opts},
        "POST",
        "/v1/orgs",
        "name",
        NULL,
        1,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int org_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org list", "List organizations (operators see all, others their own).", 0, 0,
         list_opts},
        "GET",
        "/v1/orgs",
        NULL,
        NULL,
        0,
        org_cols,
        NCOLS};
    return al_conn_run(&s, argc, argv);
}

static int org_show(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org show ID|NAME|CUSTOMER_CODE", "Show one organization.", 1, 1, NULL},
        "GET",
        "/v1/orgs",
        NULL,
        NULL,
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

static int org_balance(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot org balance ORG", "Show an organization's balances (operator, its org admin).", 1,
         1, NULL},
        "GET",
        "/v1/orgs",
        NULL,
        "balance",
        0,
        NULL,
        0};
    return al_conn_run(&s, argc, argv);
}

/* `v` (micro-units, or null: not set) as money into buf. */
static const char *money_or_none(json_t *v, char *buf, size_t cap)
{
    if (!json_is_integer(v))
        return "none";
    return al_money_fmt(json_integer_value(v), buf, cap);
}

/* `share` units as GPUs with 3 decimals, rounded half up (6/7 GPU: 0.857). */
static const char *gpus_fmt(json_int_t share, char *buf, size_t cap)
{
    json_int_t whole = share / AL_SHARE_PER_GPU;
    json_int_t milli =
        ((share % AL_SHARE_PER_GPU) * 1000 + AL_SHARE_PER_GPU / 2) / AL_SHARE_PER_GPU;
    if (milli == 1000) {
        whole++;
        milli = 0;
    }
    (void)snprintf(buf, cap, "%lld.%03lld", (long long)whole, (long long)milli);
    return buf;
}

/* Print `allot org limits`: one line per limit, its value and what is in use of it now. */
static void limits_print(json_t *ans)
{
    char a[AL_MONEY_FMT_MAX], b[AL_MONEY_FMT_MAX], d[AL_MONEY_FMT_MAX], g1[32], g2[32];
    json_t *k = json_object_get(ans, "contract"), *cl = json_object_get(ans, "credit_limit");
    json_t *mg = json_object_get(ans, "max_concurrent_gpus");
    json_t *ml = json_object_get(ans, "max_reservation_length");
    json_t *ma = json_object_get(ans, "max_reservations_ahead");
    json_t *mc = json_object_get(ans, "monthly_spend_cap");
    json_t *gv = json_object_get(mg, "value_share"), *lv = json_object_get(ml, "value_s");
    json_t *av = json_object_get(ma, "value");
    json_int_t used = json_integer_value(json_object_get(mg, "in_use_share"));
    if (json_is_object(k))
        printf("org %s, contract %lld v%lld (%s)\n", json_string_value(json_object_get(ans, "org")),
               (long long)json_integer_value(json_object_get(k, "id")),
               (long long)json_integer_value(json_object_get(k, "version")),
               json_string_value(json_object_get(k, "terms")));
    else
        printf("org %s: no contract in force\n", json_string_value(json_object_get(ans, "org")));
    printf("%-24s %-16s %s\n", "LIMIT", "VALUE", "IN USE");
    printf("%-24s %-16s cash %s, available %s\n", "credit_limit",
           money_or_none(json_object_get(cl, "value_micros"), a, sizeof a),
           money_or_none(json_object_get(cl, "cash_micros"), b, sizeof b),
           money_or_none(json_object_get(cl, "available_micros"), d, sizeof d));
    printf("%-24s %-16s %s GPUs (%lld share units)\n", "max_concurrent_gpus",
           json_is_integer(gv) ? gpus_fmt(json_integer_value(gv), g1, sizeof g1) : "none",
           gpus_fmt(used, g2, sizeof g2), (long long)used);
    if (json_is_integer(lv))
        (void)snprintf(g1, sizeof g1, "%lld s", (long long)json_integer_value(lv));
    printf("%-24s %-16s -\n", "max_reservation_length", json_is_integer(lv) ? g1 : "none");
    if (json_is_integer(av))
        (void)snprintf(g1, sizeof g1, "%lld", (long long)json_integer_value(av));
    printf("%-24s %-16s %lld ahead\n", "max_reservations_ahead", json_is_integer(av) ? g1 : "none",
           (long long)json_integer_value(json_object_get(ma, "in_use")));
    printf("%-24s %-16s %s this month\n", "monthly_spend_cap",
           money_or_none(json_object_get(mc, "value_micros"), a, sizeof a),
           money_or_none(json_object_get(mc, "in_use_micros"), b, sizeof b));
}

static int org_limits(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot org limits ORG",
        "Show the limits of an organization's contract in force and what it uses of each now "
        "(operator, its org admin).",
        1, 1, NULL};
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err e = {0};
    json_t *ans = NULL;
    const char *path;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    al_path_init(&p, "/v1/orgs");
    al_path_seg(&p, a.pos[0]);
    al_path_seg(&p, "limits");
    if (!(path = al_path_str(&p, &e))) {
        rc = al_args_usage_error(&a, e.msg, NULL);
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "GET", path, NULL, NULL, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans); /* takes ans */
    } else {
        limits_print(ans);
        json_decref(ans);
    }
out:
    al_conn_close(&c);
    return rc;
}

static const struct al_opt topup_opts[] = {
    {"reference", AL_ARG_STR, "reference", "what paid it (a bank transfer's reference …)"},
    AL_IDEM_OPT,
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* Print a top-up's answer: the amount and the cash it left, as money. */
static void topup_print(json_t *ans)
{
    char amt[AL_MONEY_FMT_MAX], cash[AL_MONEY_FMT_MAX];
    json_t *t = json_object_get(ans, "transfer"), *b = json_object_get(ans, "balance");
    al_money_fmt(json_integer_value(json_object_get(t, "amount_micros")), amt, sizeof amt);
    al_money_fmt(json_integer_value(json_object_get(b, "cash_micros")), cash, sizeof cash);
    printf("%s org %s: +%s (transfer %lld), cash now %s\n",
           json_is_true(json_object_get(ans, "replayed")) ? "replayed top-up of" : "topped up",
           json_string_value(json_object_get(b, "org")), amt,
           (long long)json_integer_value(json_object_get(t, "id")), cash);
}

static int org_topup(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot org topup ORG AMOUNT [--reference TEXT]",
        "Add AMOUNT (decimal currency, at most 6 decimals: 100.50) to an organization's cash "
        "(operator).",
        2, 2, topup_opts};
    struct al_args a;
    struct al_conn c = {0};
    struct al_path p;
    struct al_err e = {0};
    json_t *body = NULL, *ans = NULL;
    char kbuf[48];
    const char *key, *path;
    int64_t micros;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (al_money_parse(a.pos[1], &micros, &e) != 0)
        return al_args_usage_error(&a, e.msg, NULL);
    if (micros <= 0)
        return al_args_usage_error(&a, "AMOUNT must be more than 0", NULL);
    al_path_init(&p, "/v1/orgs");
    al_path_seg(&p, a.pos[0]);
    al_path_seg(&p, "topups");
    body = json_pack("{s:I}", "amount_micros", (json_int_t)micros);
    if (!body || al_args_to_json(&a, body) < 0 ||
        !(key = al_conn_idem_key(&a, kbuf, sizeof kbuf))) {
        rc = AL_EXIT_USAGE;
        goto out;
    }
    if (!(path = al_path_str(&p, &e))) {
        rc = al_args_usage_error(&a, e.msg, NULL);
        goto out;
    }
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "POST", path, body, key, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans); /* takes ans */
    } else {
        topup_print(ans);
        json_decref(ans);
    }
out:
    al_conn_close(&c);
    json_decref(body);
    return rc;
}

int al_cmd_org(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"create", "create an organization (operator)", org_create},
        {"list", "list organizations", org_list},
        {"show", "show one organization", org_show},
        {"balance", "show an organization's balances", org_balance},
        {"limits", "show an organization's limits and what is in use", org_limits},
        {"topup", "add money to an organization's cash (operator)", org_topup},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot org", cmds, argc, argv);
}
