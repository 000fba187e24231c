/* cmd_invoice.c — `allot invoice list|show|csv|create|issue|pay`: an org's monthly invoices
 * (statements for orgs that pay as they go). Operators build, issue and mark them paid; an
 * org's admins read their own. Tables show money grouped by thousands ("1,234.56"); -o json
 * prints the server's answer as is. `csv` writes the rows GET /v1/invoices/{id}/csv answers,
 * byte for byte, from the invoice's JSON (server/routes_invoices.c writes the same ones). */
#include "cli/conn.h"

#include "core/money.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MONEY_MAX 40 /* "-9,223,372,036,854.775808" and NUL */

/* Micro-units as currency grouped by thousands: two decimals, more only when the amount has
 * them ("1,234.56", "0.000125"). Returns buf. */
static const char *money_grouped(json_int_t m, char *buf, size_t cap)
{
    int64_t v = (int64_t)m;
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char whole[24], frac[8], grouped[32];
    size_t n, g = 0;
    snprintf(whole, sizeof whole, "%" PRIu64, a / 1000000);
    snprintf(frac, sizeof frac, "%06" PRIu64, a % 1000000);
    for (n = strlen(frac); n > 2 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    n = strlen(whole);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[g++] = ',';
        grouped[g++] = whole[i];
    }
    grouped[g] = '\0';
    snprintf(buf, cap, "%s%s.%s", v < 0 ? "-" : "", grouped, frac);
    return buf;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "-";
}

static const char *num(json_t *o, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(o, key)));
    return buf;
}

static const char *cash(json_t *o, const char *key, char *buf, size_t cap)
{
    return money_grouped(json_integer_value(json_object_get(o, key)), buf, cap);
}

/* The invoice for a person: what it is, its lines as a table, the totals. */
static void invoice_print(json_t *j)
{
    static const char *const hdr[] = {"N", "KIND", "REFERENCE", "DESCRIPTION", "EXACT", "AMOUNT"};
    char a[MONEY_MAX], b[MONEY_MAX], c[MONEY_MAX], n[24];
    json_t *l;
    size_t i;
    printf("%s %s: org %s (%s), %s, payer %s, %s\n", str(j, "kind"), num(j, "id", n, sizeof n),
           str(j, "org"), str(j, "customer"),
           json_is_string(json_object_get(j, "month")) ? str(j, "month") : str(j, "period_from"),
           str(j, "payer"), str(j, "state"));
    struct al_table *t = al_table_new(6, hdr);
    json_array_foreach(json_object_get(j, "lines"), i, l)
    {
        const char *row[6] = {num(l, "n", n, sizeof n),
                              str(l, "kind"),
                              str(l, "reference"),
                              str(l, "description"),
                              cash(l, "exact_micros", a, sizeof a),
                              cash(l, "amount_micros", b, sizeof b)};
        al_table_add(t, row);
    }
    al_table_print(t, stdout);
    al_table_free(t);
    printf("exact %s, rounding %s, total %s %s\n", cash(j, "exact_micros", a, sizeof a),
           cash(j, "rounding_micros", b, sizeof b), cash(j, "total_micros", c, sizeof c),
           str(j, "currency"));
    printf("created %s, issued %s, paid %s\n", str(j, "created_at"), str(j, "issued_at"),
           str(j, "paid_at"));
}

/* A list of invoices as a table. */
static void list_print(json_t *ans)
{
    static const char *const hdr[] = {"ID", "ORG", "MONTH", "PAYER", "STATE", "LINES", "TOTAL"};
    char total[MONEY_MAX], id[24], lines[24];
    json_t *o;
    size_t i;
    struct al_table *t = al_table_new(7, hdr);
    json_array_foreach(json_object_get(ans, "items"), i, o)
    {
        const char *row[7] = {num(o, "id", id, sizeof id),
                              str(o, "org"),
                              str(o, "month"),
                              str(o, "payer"),
                              str(o, "state"),
                              num(o, "lines", lines, sizeof lines),
                              cash(o, "total_micros", total, sizeof total)};
        al_table_add(t, row);
    }
    al_table_print(t, stdout);
    al_table_free(t);
    if (json_is_string(json_object_get(ans, "next_cursor")))
        printf("(more: --cursor %s)\n", str(ans, "next_cursor"));
}

/* How a command prints its answer (-o table). */
enum shape { SHAPE_LIST, SHAPE_INVOICE };

/* Call `method` `path` (with `body`, an Idempotency-Key when `idem`), print the answer. */
static int run(const struct al_args *a, const char *method, const char *path, json_t *body,
               int idem, enum shape shape)
{
    struct al_conn c = {0};
    json_t *ans = NULL;
    char kbuf[48];
    const char *key = NULL;
    int rc = AL_EXIT_USAGE;
    if (idem && !(key = al_conn_idem_key(a, kbuf, sizeof kbuf)))
        goto out;
    if ((rc = al_conn_open(&c, a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, method, path, body, key, &ans)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(ans); /* takes ans */
        ans = NULL;
    } else if (shape == SHAPE_LIST) {
        list_print(ans);
    } else {
        invoice_print(ans);
    }
out:
    json_decref(ans);
    al_conn_close(&c);
    return rc;
}

static const struct al_opt list_opts[] = {
    {"org", AL_ARG_STR, "org", "one org's (operator; id, name or customer code)"},
    {"limit", AL_ARG_INT, "limit", "at most N items (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt create_opts[] = {
    {"org", AL_ARG_STR, NULL, "the org (id, name or customer code; required)"},
    {"month", AL_ARG_STR, "month", "the calendar month, YYYY-MM (required; it must have ended)"},
    {"payer", AL_ARG_STR, "payer", "org_accrued|org_cash (default: the terms in force)"},
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

static const struct al_opt write_opts[] = {
    {"idempotency-key", AL_ARG_STR, NULL, "replay-safe key (default: random)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* Parse argv for `spec`, and build "/v1/invoices[/ID[/action]]" into p (ID: the positional).
 * Returns 0, or the exit status. */
static int parse(const struct al_cmd_spec *spec, int argc, char **argv, struct al_args *a,
                 const char *action, struct al_path *p)
{
    struct al_err e = {0};
    int rc = al_args_parse(a, spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? -1 : AL_EXIT_USAGE;
    al_path_init(p, "/v1/invoices");
    if (a->npos > 0)
        al_path_seg(p, a->pos[0]);
    if (action)
        al_path_seg(p, action);
    if (!al_path_str(p, &e))
        return al_args_usage_error(a, e.msg, NULL);
    return 0;
}

/* A command on one invoice: show, csv, issue, pay. */
static int one(const struct al_cmd_spec *spec, int argc, char **argv, const char *method,
               const char *action, enum shape shape)
{
    struct al_args a;
    struct al_path p;
    int rc = parse(spec, argc, argv, &a, action, &p);
    if (rc != 0)
        return rc < 0 ? AL_EXIT_OK : rc;
    return run(&a, method, p.buf, NULL, strcmp(method, "POST") == 0, shape);
}

static int invoice_list(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot invoice list [--org ORG]",
        "List invoices (operators: every org's, or one's; org admins: their org's).", 0, 0,
        list_opts};
    struct al_args a;
    struct al_path p;
    struct al_err e = {0};
    int rc = parse(&spec, argc, argv, &a, NULL, &p);
    if (rc != 0)
        return rc < 0 ? AL_EXIT_OK : rc;
    for (size_t i = 0; list_opts[i].name; i++)
        al_path_query(&p, list_opts[i].field, a.val[i]);
    if (!al_path_str(&p, &e))
        return al_args_usage_error(&a, e.msg, NULL);
    return run(&a, "GET", p.buf, NULL, 0, SHAPE_LIST);
}

static int invoice_show(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {"allot invoice show ID",
                                            "Show an invoice with its lines.", 1, 1, NULL};
    return one(&spec, argc, argv, "GET", NULL, SHAPE_INVOICE);
}

/* The CSV as the server wrote it (GET /v1/invoices/{id}/csv), byte for byte; -o json: the
 * invoice. */
static int invoice_csv(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot invoice csv ID",
        "Write an invoice's lines as CSV (RFC 4180) to stdout (-o json: the invoice).", 1, 1, NULL};
    struct al_args a;
    struct al_path p;
    struct al_conn c = {0};
    int rc = parse(&spec, argc, argv, &a, NULL, &p);
    if (rc != 0)
        return rc < 0 ? AL_EXIT_OK : rc;
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK)
        goto out;
    if (c.fmt == AL_OUT_JSON) {
        json_t *ans = NULL;
        if ((rc = al_conn_call(&c, "GET", p.buf, NULL, NULL, &ans)) == AL_EXIT_OK)
            al_out_json(ans); /* takes ans */
        goto out;
    }
    al_path_seg(&p, "csv");
    rc = al_path_str(&p, NULL) ? al_conn_get_raw(&c, p.buf, stdout) : AL_EXIT_USAGE;
out:
    al_conn_close(&c);
    return rc < 0 ? AL_EXIT_OK : rc;
}

static int invoice_issue(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {"allot invoice issue ID",
                                            "Issue an invoice: the org owes its total (operator).",
                                            1, 1, write_opts};
    return one(&spec, argc, argv, "POST", "issue", SHAPE_INVOICE);
}

static int invoice_pay(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {"allot invoice pay ID",
                                            "Record that an issued invoice was paid (operator).", 1,
                                            1, write_opts};
    return one(&spec, argc, argv, "POST", "pay", SHAPE_INVOICE);
}

static int invoice_create(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot invoice create --org ORG --month YYYY-MM",
        "Build an org's invoice of a calendar month that has ended (operator).", 0, 0, create_opts};
    struct al_args a;
    struct al_path p;
    struct al_err e = {0};
    json_t *body = NULL;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    if (!al_args_get(&a, "org") || !al_args_get(&a, "month"))
        return al_args_usage_error(&a, "--org and --month are required", NULL);
    al_path_init(&p, "/v1/orgs");
    al_path_seg(&p, al_args_get(&a, "org"));
    al_path_seg(&p, "invoices");
    if (!al_path_str(&p, &e))
        return al_args_usage_error(&a, e.msg, NULL);
    if (!(body = json_object()) || al_args_to_json(&a, body) != 0) {
        json_decref(body);
        return AL_EXIT_USAGE;
    }
    rc = run(&a, "POST", p.buf, body, 1, SHAPE_INVOICE);
    json_decref(body);
    return rc;
}

int al_cmd_invoice(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {
        {"list", "list invoices", invoice_list},
        {"show", "show an invoice with its lines", invoice_show},
        {"csv", "an invoice's lines as CSV, on stdout", invoice_csv},
        {"create", "build an org's invoice of an ended month (operator)", invoice_create},
        {"issue", "issue an invoice (operator)", invoice_issue},
        {"pay", "mark an issued invoice paid (operator)", invoice_pay},
        {NULL, NULL, NULL},
    };
    return al_cli_dispatch("allot invoice", cmds, argc, argv);
}
