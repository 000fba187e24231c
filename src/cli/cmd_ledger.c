/* cmd_ledger.c — `allot ledger list|verify`: the ledger's transfers, and the proof that the
 * books add up (verify exits 1 naming each mismatch, so that a cron job or a script notices). */
#include "cli/conn.h"

#include <stdio.h>

static const struct al_col xfer_cols[] = {
    {"ID", "id"},
    {"AT", "at"},
    {"KIND", "kind"},
    {"DEBIT", "debit"},
    {"CREDIT", "credit"},
    {"ORG", "org"},
    {"AMOUNT", "amount_micros"},
    {"KEY", "key"},
};

static const struct al_opt list_opts[] = {
    {"org", AL_ARG_STR, "org", "only this organization's transfers"},
    {"kind", AL_ARG_STR, "kind", "topup, reservation_charge, usage, refund, adjustment, …"},
    {"account", AL_ARG_STR, "account", "org_cash, org_accrued, org_receivable, revenue, …"},
    {"from", AL_ARG_TIME, "from", "transfers at or after TIME"},
    {"to", AL_ARG_TIME, "to", "transfers before TIME"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static int ledger_list(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot ledger list", "List ledger transfers (operators: all; org admins: their org).", 0,
         0, list_opts},
        "GET",
        "/v1/ledger/transfers",
        NULL,
        NULL,
        0,
        xfer_cols,
        sizeof xfer_cols / sizeof xfer_cols[0]};
    return al_conn_run(&s, argc, argv);
}

/* Print verify's answer for a person: one line overall, then one per mismatch. */
static void verify_print(json_t *ans)
{
    size_t i;
    json_t *m;
    printf("ledger %s: %lld transfers, %lld accounts, %lld mismatches\n",
           json_is_true(json_object_get(ans, "ok")) ? "ok" : "NOT OK",
           (long long)json_integer_value(json_object_get(ans, "transfers")),
           (long long)json_integer_value(json_object_get(ans, "accounts")),
           (long long)json_integer_value(json_object_get(ans, "count")));
    json_array_foreach(json_object_get(ans, "mismatches"), i, m)
        printf("mismatch %s: %s\n", json_string_value(json_object_get(m, "rule")),
               json_string_value(json_object_get(m, "what")));
}

static int ledger_verify(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot ledger verify",
        "Check that the books add up (operator); exit 1 naming each mismatch.", 0, 0, NULL};
    struct al_args a;
    struct al_conn c = {0};
    json_t *ans = NULL;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "GET", "/v1/ledger/verify", NULL, NULL, &ans)) != AL_EXIT_OK)
        goto out;
    rc = json_is_true(json_object_get(ans, "ok")) ? AL_EXIT_OK : AL_EXIT_NO;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans); /* takes ans */
    } else {
        verify_print(ans);
        json_decref(ans);
    }
out:
    al_conn_close(&c);
    return rc;
}

int al_cmd_ledger(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list ledger transfers", ledger_list},
        {"verify", "check that the books add up (operator)", ledger_verify},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot ledger", cmds, argc, argv);
}
