/* routes_invoices.c — an org's invoices over HTTP. The operator builds one for a calendar month
 * that has ended from the ledger's transfers (core/invoice.h: al_invoice_build groups them into
 * lines and rounds each line once, half to even, to the cent), issues it and marks it paid
 * (al_invoice_issue, al_invoice_pay: their transfers are appended in the same unit of work that
 * records the invoice's new state, under keys inv:<id>:issue|rounding|paid, so that a replay
 * writes nothing twice). The operator and the org's admins read it as JSON, as CSV (RFC 4180)
 * and as a printable page (server/document.h).
 *
 * Whose invoice: the payer account decides what goes on it. An org under invoiced terms owes
 * what accrued on org_accrued; any other org paid from org_cash as it went, and its "invoice" is
 * a statement of what was taken. Without an explicit `payer`, the contract in force at the
 * month's last second picks: invoiced terms → org_accrued, else (or no contract) org_cash. An
 * org that changed terms within the month has transfers on both accounts: the operator asks
 * for the other one with `payer`; each (org, payer, month) has at most one invoice. */
#include "server/http.h"

#include "core/contract.h"
#include "core/invoice.h"
#include "core/sbuf.h"
#include "server/document.h"
#include "server/charge.h"
#include "server/routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_MAX  160 /* a line's description */
#define MONTH_LEN 7   /* "2026-11" */

/* An invoice as the store holds it, and the id of its org. Release with inv_done. */
struct inv_rec {
    struct al_invoice inv;
    struct al_store_invoice_info info;
    char org[AL_STORE_ID_MAX];
};

static void inv_done(struct inv_rec *r)
{
    al_invoice_done(&r->inv);
}

/* Invoice `id` as the caller may see it into *r: another org's is a 404, as a missing one. */
static int inv_load(struct al_ctx *c, uint64_t id, struct inv_rec *r)
{
    struct al_err e = {0};
    int rc = al_store_invoice_get(c->srv->store, id, &r->inv, &r->info, &e);
    if (rc == 0)
        rc = al_store_org_id(c->srv->store, r->inv.spec.payer.org, r->org, &e);
    if (rc == 0 && !al_ctx_sees(c, r->org))
        rc = AL_E_NOTFOUND;
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "id", "no invoice %" PRIu64, id);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* The invoice the path names ("/v1/invoices/7/…"). */
static int inv_path(struct al_ctx *c, struct inv_rec *r)
{
    int64_t id;
    if (al_parse_i64(c->params[0], 1, INT64_MAX, &id))
        return al_http_fail(c, AL_E_NOTFOUND, "id", "no invoice %s", c->params[0]);
    return inv_load(c, (uint64_t)id, r);
}

/* "2026-11" when [from, to) is that calendar month; "" for another period. */
static void month_name(int64_t from, int64_t to, char out[MONTH_LEN + 1])
{
    int y, m, d;
    int64_t f, t;
    out[0] = '\0';
    if (al_invoice_civil(from, &y, &m, &d, NULL) == 0 &&
        al_invoice_month(from, &f, &t, NULL) == 0 && f == from && t == to)
        (void)snprintf(out, MONTH_LEN + 1, "%04d-%02d", y, m);
}

static const char *state_name(const struct al_store_invoice_info *info)
{
    return info->paid_at ? "paid" : info->issued_at ? "issued" : "open";
}

/* A time that may be unset (0): RFC 3339, or null. */
static json_t *time_or_null(int64_t t)
{
    return t ? al_time_json(t) : json_null();
}

/* What a line is about: the reservation's id (into rid, "" when the line is not a
 * reservation's), and a description for a person into desc. */
static void line_about(struct al_ctx *c, const struct al_invoice_line *l, char rid[AL_STORE_ID_MAX],
                       char desc[DESC_MAX])
{
    static const char *const what[] = {"charges (confirmation, extensions)", "draws", "pool usage",
                                       "refunds", "adjustment"};
    struct al_res_billing b;
    struct al_err e = {0};
    char subject[AL_STORE_ID_MAX + 32];
    rid[0] = '\0';
    if (l->ref.kind == AL_REF_RESERVATION &&
        al_store_billing_get_num(c->srv->store, l->ref.id, &b, rid, &e) != 0)
        (void)snprintf(rid, AL_STORE_ID_MAX, "#%" PRIu64, l->ref.id);
    if (rid[0])
        (void)snprintf(subject, sizeof subject, "Reservation %s", rid);
    else if (l->ref.kind == AL_REF_POOL)
        (void)snprintf(subject, sizeof subject, "Pool session %" PRIu64, l->ref.id);
    else
        (void)snprintf(subject, sizeof subject, "%s %" PRIu64, al_ledger_ref_name(l->ref.kind),
                       l->ref.id);
    (void)snprintf(desc, DESC_MAX, "%s: %s", subject,
                   (unsigned)l->kind < sizeof what / sizeof what[0] ? what[l->kind] : "?");
}

/* The reference of a line as one token: the reservation's id, else "<ref kind>:<id>". */
static void line_ref(const struct al_invoice_line *l, const char *rid, char *out, size_t cap)
{
    if (rid[0])
        (void)snprintf(out, cap, "%s", rid);
    else
        (void)snprintf(out, cap, "%s:%" PRIu64, al_ledger_ref_name(l->ref.kind), l->ref.id);
}

static json_t *line_json(struct al_ctx *c, const struct al_invoice_line *l, size_t n)
{
    char rid[AL_STORE_ID_MAX], desc[DESC_MAX], ref[AL_STORE_ID_MAX + 24];
    line_about(c, l, rid, desc);
    line_ref(l, rid, ref, sizeof ref);
    return json_pack("{s:I,s:s,s:s,s:{s:s,s:I},s:s?,s:s,s:I,s:I,s:I}", "n", (json_int_t)n, "kind",
                     al_invoice_line_name(l->kind), "reference", ref, "ref", "kind",
                     al_ledger_ref_name(l->ref.kind), "id", (json_int_t)l->ref.id, "reservation",
                     rid[0] ? rid : NULL, "description", desc, "transfers",
                     (json_int_t)l->ntransfers, "exact_micros", (json_int_t)l->exact,
                     "amount_micros", (json_int_t)l->amount);
}

/* The org's record ({id, name, customer_code, display_name, …}), or NULL after failing. */
static json_t *org_record(struct al_ctx *c, const char *id)
{
    json_t *org = NULL;
    struct al_err e = {0};
    int rc = al_store_org_get(c->srv->store, id, &org, &e);
    if (rc)
        al_http_fail_err(c, rc, &e);
    return org;
}

/* The invoice as the API shows it (docs/api.md, "Invoices"), or NULL after failing the call. */
static json_t *invoice_json(struct al_ctx *c, const struct inv_rec *r)
{
    const struct al_invoice *inv = &r->inv;
    char month[MONTH_LEN + 1];
    json_t *org = org_record(c, r->org), *lines = json_array(), *j;
    if (!org || !lines) {
        json_decref(org);
        json_decref(lines);
        return NULL;
    }
    for (size_t i = 0; i < inv->nlines; i++)
        json_array_append_new(lines, line_json(c, &inv->lines[i], i + 1));
    month_name(inv->spec.from, inv->spec.to, month);
    const char *display = json_string_value(json_object_get(org, "display_name"));
    j = json_pack(
        "{s:I,s:s,s:s,s:O?,s:s,s:s,s:s?,s:o,s:o,s:s,s:I,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "id",
        (json_int_t)inv->spec.id, "org", r->org, "customer",
        display ? display : json_string_value(json_object_get(org, "name")), "customer_code",
        json_object_get(org, "customer_code"), "payer", al_ledger_acct_name(inv->spec.payer.kind),
        "kind", inv->spec.payer.kind == AL_ACCT_ORG_CASH ? "statement" : "invoice", "month",
        month[0] ? month : NULL, "period_from", al_time_json(inv->spec.from), "period_to",
        al_time_json(inv->spec.to), "currency", "USD", "minor_micros", (json_int_t)inv->spec.minor,
        "state", state_name(&r->info), "exact_micros", (json_int_t)inv->exact, "total_micros",
        (json_int_t)inv->total, "rounding_micros", (json_int_t)inv->rounding, "lines", lines,
        "created_at", al_time_json(r->info.created_at), "issued_at",
        time_or_null(r->info.issued_at), "paid_at", time_or_null(r->info.paid_at));
    json_decref(org);
    if (!j)
        al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return j;
}

/* Answer `status` with invoice `id` as it is now (in this unit of work). */
static int reply_invoice(struct al_ctx *c, uint64_t id, int status)
{
    struct inv_rec r = {0};
    json_t *j = inv_load(c, id, &r) ? NULL : invoice_json(c, &r);
    inv_done(&r);
    return j ? al_http_reply(c, status, j) : c->err_code;
}

static int get_invoice(struct al_ctx *c)
{
    struct inv_rec r = {0};
    json_t *j = inv_path(c, &r) ? NULL : invoice_json(c, &r);
    inv_done(&r);
    return j ? al_http_reply(c, 200, j) : c->err_code;
}

/* ---- lists ---- */

/* Org number `num`'s invoices (0: every org's), a page of them. */
static int list_invoices(struct al_ctx *c, uint64_t num)
{
    static const char *const times[] = {"period_from", "period_to", "created_at",
                                        "issued_at",   "paid_at",   NULL};
    struct al_store_page pg;
    json_t *items, *o;
    char *next = NULL, month[MONTH_LEN + 1];
    struct al_err e = {0};
    size_t i;
    if (al_http_page(c, &pg))
        return c->err_code;
    int rc = al_store_invoice_list(c->srv->store, num, pg, &items, &next, &e);
    if (rc)
        return al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
    json_array_foreach(items, i, o)
    {
        month_name(json_integer_value(json_object_get(o, "period_from")),
                   json_integer_value(json_object_get(o, "period_to")), month);
        json_object_set_new(o, "month", month[0] ? json_string(month) : json_null());
        const char *state = !json_is_null(json_object_get(o, "paid_at"))     ? "paid"
                            : !json_is_null(json_object_get(o, "issued_at")) ? "issued"
                                                                             : "open";
        json_object_set_new(o, "state", json_string(state));
        al_time_fields(o, times);
    }
    return al_http_reply(c, 200, al_http_list(items, next));
}

static int get_org_invoices(struct al_ctx *c)
{
    char id[AL_STORE_ID_MAX];
    uint64_t num;
    return al_charge_org_find(c, c->params[0], id, &num) ? c->err_code : list_invoices(c, num);
}

/* Operators: every org's, or one's with ?org=; an org admin: its own org's. */
static int get_invoices(struct al_ctx *c)
{
    const char *org = c->role == AL_ROLE_OPERATOR ? al_http_query(c, "org") : c->org;
    char id[AL_STORE_ID_MAX];
    uint64_t num = 0;
    if (c->role != AL_ROLE_OPERATOR && !c->org)
        return al_http_reply(c, 200, al_http_list(json_array(), NULL));
    if (org && al_charge_org_find(c, org, id, &num))
        return c->err_code;
    return list_invoices(c, num);
}

/* ---- CSV and the printable page ---- */

/* Append `s` as one CSV field (RFC 4180): quoted, its quotes doubled, when it holds a comma, a
 * quote or a line break; as is otherwise. */
static void csv_field(struct al_sbuf *b, const char *s, const char *sep)
{
    if (!s)
        s = "";
    if (!s[strcspn(s, ",\"\r\n")]) {
        al_sbuf_printf(b, "%s%s", s, sep);
        return;
    }
    al_sbuf_printf(b, "\"");
    for (const char *q; (q = strchr(s, '"')); s = q + 1)
        al_sbuf_printf(b, "%.*s\"\"", (int)(q - s), s);
    al_sbuf_printf(b, "%s\"%s", s, sep);
}

/* The CSV text of invoice JSON `j` into b: a header row, then one row per line; CRLF line
 * ends. cmd_invoice.c writes the same rows from the same JSON (allot invoice csv). */
static void csv_write(struct al_sbuf *b, const json_t *j)
{
    static const char header[] = "invoice,org,customer,customer_code,period,line,kind,reference,"
                                 "description,transfers,amount,exact_micros\r\n";
    char num[32], period[64], amount[AL_MONEY_FMT_MAX];
    const json_t *month = json_object_get(j, "month"), *l;
    size_t i;
    al_sbuf_printf(b, "%s", header);
    if (json_is_string(month))
        (void)snprintf(period, sizeof period, "%s", json_string_value(month));
    else
        (void)snprintf(period, sizeof period, "%s/%s",
                       json_string_value(json_object_get(j, "period_from")),
                       json_string_value(json_object_get(j, "period_to")));
    json_array_foreach(json_object_get(j, "lines"), i, l)
    {
        const json_t *code = json_object_get(j, "customer_code");
        al_sbuf_printf(b, "%" JSON_INTEGER_FORMAT ",",
                       json_integer_value(json_object_get(j, "id")));
        csv_field(b, json_string_value(json_object_get(j, "org")), ",");
        csv_field(b, json_string_value(json_object_get(j, "customer")), ",");
        csv_field(b, json_is_string(code) ? json_string_value(code) : "", ",");
        csv_field(b, period, ",");
        (void)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                       json_integer_value(json_object_get(l, "n")));
        csv_field(b, num, ",");
        csv_field(b, json_string_value(json_object_get(l, "kind")), ",");
        csv_field(b, json_string_value(json_object_get(l, "reference")), ",");
        csv_field(b, json_string_value(json_object_get(l, "description")), ",");
        al_sbuf_printf(b, "%" JSON_INTEGER_FORMAT ",%s,%" JSON_INTEGER_FORMAT "\r\n",
                       json_integer_value(json_object_get(l, "transfers")),
                       al_money_fmt(json_integer_value(json_object_get(l, "amount_micros")), amount,
                                    sizeof amount),
                       json_integer_value(json_object_get(l, "exact_micros")));
    }
}

static int get_invoice_csv(struct al_ctx *c)
{
    struct inv_rec r = {0};
    struct al_sbuf b;
    char *text = NULL;
    json_t *j = inv_path(c, &r) ? NULL : invoice_json(c, &r);
    inv_done(&r);
    if (!j)
        return c->err_code;
    al_sbuf_init(&b, NULL, 0); /* count first, then write what was counted */
    csv_write(&b, j);
    text = malloc(b.len + 1);
    if (text) {
        al_sbuf_init(&b, text, b.len + 1);
        csv_write(&b, j);
    }
    json_decref(j);
    return al_http_reply_text(c, 200, "text/csv; charset=utf-8", text);
}

/* The invoice as the page shows it: each line's exact sum and its rounded amount, the totals,
 * the rounding, and when it was issued and paid. */
static json_t *page_json(const json_t *j)
{
    json_t *lines = json_array(), *l;
    size_t i;
    json_array_foreach(json_object_get(j, "lines"), i, l)
    {
        json_array_append_new(lines,
                              json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "line",
                                        json_object_get(l, "n"), "kind", json_object_get(l, "kind"),
                                        "description", json_object_get(l, "description"),
                                        "transfers", json_object_get(l, "transfers"),
                                        "exact_micros", json_object_get(l, "exact_micros"),
                                        "amount_micros", json_object_get(l, "amount_micros")));
    }
    return json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:o,s:O,s:O,s:O,s:O,s:O,s:O}", "kind",
                     json_object_get(j, "kind"), "month", json_object_get(j, "month"),
                     "period_from", json_object_get(j, "period_from"), "period_to",
                     json_object_get(j, "period_to"), "payer", json_object_get(j, "payer"), "state",
                     json_object_get(j, "state"), "currency", json_object_get(j, "currency"),
                     "lines", lines, "exact_micros", json_object_get(j, "exact_micros"),
                     "rounding_micros", json_object_get(j, "rounding_micros"), "total_micros",
                     json_object_get(j, "total_micros"), "created_at",
                     json_object_get(j, "created_at"), "issued_at", json_object_get(j, "issued_at"),
                     "paid_at", json_object_get(j, "paid_at"));
}

static int get_invoice_document(struct al_ctx *c)
{
    struct inv_rec r = {0};
    json_t *org = NULL, *page = NULL, *j = inv_path(c, &r) ? NULL : invoice_json(c, &r);
    char title[96];
    int rc;
    if (j && (org = org_record(c, r.org)) && !(page = page_json(j)))
        al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    if (!page) {
        rc = c->err_code;
        goto out;
    }
    (void)snprintf(title, sizeof title, "%s %" PRIu64 "%s%s",
                   r.inv.spec.payer.kind == AL_ACCT_ORG_CASH ? "Statement" : "Invoice",
                   r.inv.spec.id, json_is_string(json_object_get(j, "month")) ? ", " : "",
                   json_is_string(json_object_get(j, "month"))
                       ? json_string_value(json_object_get(j, "month"))
                       : "");
    rc = al_http_reply_text(c, 200, "text/html; charset=utf-8", al_doc_render(title, org, page));
out:
    inv_done(&r);
    json_decref(page);
    json_decref(org);
    json_decref(j);
    return rc;
}

/* ---- create ---- */

/* "YYYY-MM" as the calendar month [*from, *to). Fails naming `month`. */
static int month_parse(struct al_ctx *c, const char *s, int64_t *from, int64_t *to)
{
    int y = 0, m = 0;
    bool shape = strlen(s) == MONTH_LEN && s[4] == '-';
    for (int i = 0; shape && i < MONTH_LEN; i++)
        shape = i == 4 || (s[i] >= '0' && s[i] <= '9');
    if (shape) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
    }
    if (!shape || al_invoice_epoch(y, m, 1, from, NULL) != 0 ||
        al_invoice_month(*from, from, to, NULL) != 0)
        return al_http_fail(c, AL_E_INVAL, "month",
                            "month must be a calendar month as YYYY-MM (\"2026-11\")");
    return 0;
}

/* The payer account: `asked` ("org_accrued" or "org_cash"), else the one the terms of the
 * contract in force at the period's last second say (see the top of this file). */
static int payer_pick(struct al_ctx *c, uint64_t num, const char *asked, int64_t to,
                      struct al_account *ret)
{
    struct al_contract k;
    struct al_err e = {0};
    enum al_acct_kind kind = AL_ACCT_ORG_CASH;
    if (asked) {
        if (al_ledger_acct_parse(asked, &kind) != 0 ||
            (kind != AL_ACCT_ORG_CASH && kind != AL_ACCT_ORG_ACCRUED))
            return al_http_fail(c, AL_E_INVAL, "payer", "payer must be org_accrued or org_cash");
    } else {
        int rc = al_store_contract_in_force(c->srv->store, num, to - 1, &k, NULL, &e);
        if (rc && rc != AL_E_NOTFOUND)
            return al_http_fail_err(c, rc, &e);
        if (rc == 0 && k.terms == AL_TERMS_INVOICED)
            kind = AL_ACCT_ORG_ACCRUED;
    }
    *ret = (struct al_account){kind, num};
    return 0;
}

/* The number of the invoice of org `num` for payer `p` whose period starts at `from`, into
 * *ret (0: none yet). */
static int find_existing(struct al_ctx *c, uint64_t num, const struct al_account *p, int64_t from,
                         uint64_t *ret)
{
    char cursor[32] = "";
    bool more = true;
    *ret = 0;
    while (more && !*ret) {
        struct al_store_page pg = {cursor[0] ? cursor : NULL, 500};
        struct al_err e = {0};
        json_t *items, *o;
        char *next = NULL;
        size_t i;
        int rc = al_store_invoice_list(c->srv->store, num, pg, &items, &next, &e);
        if (rc)
            return al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
        json_array_foreach(items, i, o)
        {
            const char *payer = json_string_value(json_object_get(o, "payer"));
            if (json_integer_value(json_object_get(o, "period_from")) == from && payer &&
                strcmp(payer, al_ledger_acct_name(p->kind)) == 0)
                *ret = (uint64_t)json_integer_value(json_object_get(o, "id"));
        }
        json_decref(items);
        more = next != NULL;
        if (next)
            (void)snprintf(cursor, sizeof cursor, "%s", next);
        free(next);
    }
    return 0;
}

/* Build the invoice `s` describes from the ledger's transfers and write it: its number into
 * *ret_id. */
static int build_write(struct al_ctx *c, const struct al_invoice_spec *s, uint64_t *ret_id)
{
    struct al_store_xfer_filter f = {s->payer.org, (int)s->payer.kind, -1, s->from, s->to};
    struct al_transfer *t = NULL;
    struct al_invoice inv = {0};
    struct al_err e = {0};
    size_t n = 0;
    int rc = al_store_transfer_load(c->srv->store, &f, &t, &n, &e);
    if (rc == 0)
        rc = al_invoice_build(s, t, n, &inv, &e);
    if (rc == 0)
        rc = al_store_invoice_create(c->srv->store, &inv, c->now, &e);
    if (rc)
        rc = al_http_fail_err(c, rc, &e);
    else
        *ret_id = inv.spec.id;
    al_invoice_done(&inv);
    free(t);
    return rc;
}

/* Refuse a month not over yet (its invoice would miss charges to come) and a second invoice of
 * the same org, payer and month (naming the first). */
static int may_create(struct al_ctx *c, const char *month, const struct al_invoice_spec *s)
{
    uint64_t existing;
    if (s->to > c->now) {
        char end[32];
        return al_http_fail_details(
            c, AL_E_STATE, json_pack("{s:s,s:o}", "field", "month", "ends", al_time_json(s->to)),
            "month %s has not ended (it ends %s): its invoice would miss charges", month,
            al_time_fmt(s->to, end, sizeof end));
    }
    if (find_existing(c, s->payer.org, &s->payer, s->from, &existing))
        return c->err_code;
    if (existing)
        return al_http_fail_details(
            c, AL_E_CONFLICT,
            json_pack("{s:s,s:I}", "field", "month", "invoice", (json_int_t)existing),
            "invoice %" PRIu64 " is the %s invoice of month %s already", existing,
            al_ledger_acct_name(s->payer.kind), month);
    return 0;
}

static int post_invoice(struct al_ctx *c)
{
    static const char *const allowed[] = {"month", "payer", NULL};
    const char *month = NULL, *payer = NULL;
    char org[AL_STORE_ID_MAX];
    uint64_t num, id = 0;
    struct al_invoice_spec s = {.minor = AL_MONEY_CENT};
    if (al_field_only(c, c->body, allowed) ||
        al_field_limit(c, c->body, "month", AL_LIMIT_NAME, true, &month) ||
        al_field_name(c, c->body, "payer", false, &payer) ||
        al_charge_org_find(c, c->params[0], org, &num) || month_parse(c, month, &s.from, &s.to) ||
        payer_pick(c, num, payer, s.to, &s.payer) || may_create(c, month, &s) ||
        build_write(c, &s, &id))
        return c->err_code;
    char object[24];
    (void)snprintf(object, sizeof object, "%" PRIu64, id);
    if (al_event(c, AL_EVENT_INVOICE_CREATED, org, object,
                 json_pack("{s:s,s:s,s:s}", "org", org, "payer", al_ledger_acct_name(s.payer.kind),
                           "month", month)))
        return c->err_code;
    return reply_invoice(c, id, 201);
}

/* ---- issue and pay ---- */

/* Append one of an invoice's own transfers; a replay of its key writes nothing. */
static int append(struct al_ctx *c, const struct al_transfer *t)
{
    struct al_transfer written;
    struct al_err e = {0};
    int rc = al_store_transfer_append(c->srv->store, t, 0, c->now, &written, NULL, &e);
    if (rc == AL_E_CONFLICT)
        return al_http_fail(c, rc, NULL, "ledger key %s holds another transfer", t->key);
    return rc != 0 && rc != AL_STORE_REPLAY ? al_http_fail_err(c, rc, &e) : 0;
}

/* 409 invalid_state: invoice `id` was `what` ("issued", "paid") at `at` already; the details
 * say when (issued_at, paid_at). */
static int fail_done(struct al_ctx *c, uint64_t id, const char *what, int64_t at)
{
    char when[32], key[16];
    (void)snprintf(key, sizeof key, "%s_at", what);
    return al_http_fail_details(
        c, AL_E_STATE, json_pack("{s:I,s:o}", "invoice", (json_int_t)id, key, al_time_json(at)),
        "invoice %" PRIu64 " was %s at %s already", id, what, al_time_fmt(at, when, sizeof when));
}

/* After issue or pay: the invoice.<what> event, then the invoice as it is now. */
static int answer(struct al_ctx *c, enum al_event_kind kind, const struct inv_rec *r)
{
    char object[24];
    (void)snprintf(object, sizeof object, "%" PRIu64, r->inv.spec.id);
    if (al_event(c, kind, r->org, object,
                 json_pack("{s:s,s:s,s:I}", "org", r->org, "payer",
                           al_ledger_acct_name(r->inv.spec.payer.kind), "total_micros",
                           (json_int_t)r->inv.total)))
        return c->err_code;
    return reply_invoice(c, r->inv.spec.id, 200);
}

static int post_issue(struct al_ctx *c)
{
    static const char *const allowed[] = {NULL};
    struct inv_rec r = {0};
    struct al_transfer t[2];
    struct al_err e = {0};
    size_t n = 0;
    int rc;
    if (al_field_only(c, c->body, allowed) || inv_path(c, &r)) {
        rc = c->err_code;
        goto out;
    }
    if (r.info.issued_at) {
        rc = fail_done(c, r.inv.spec.id, "issued", r.info.issued_at);
        goto out;
    }
    if ((rc = al_invoice_issue(&r.inv, c->now, t, &n, &e))) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = append(c, &t[i]);
    if (rc == 0 && (rc = al_store_invoice_issued(c->srv->store, r.inv.spec.id, c->now, &e)))
        rc = al_http_fail_err(c, rc, &e);
    if (rc == 0)
        rc = answer(c, AL_EVENT_INVOICE_ISSUED, &r);
out:
    inv_done(&r);
    return rc;
}

/* Why invoice r may not be paid now, failing the call; 0 when it may. */
static int may_pay(struct al_ctx *c, const struct inv_rec *r)
{
    uint64_t id = r->inv.spec.id;
    if (r->inv.spec.payer.kind == AL_ACCT_ORG_CASH)
        return al_http_fail(c, AL_E_STATE, "id",
                            "invoice %" PRIu64 " is a statement (payer org_cash): the money "
                            "moved already, there is nothing to pay",
                            id);
    if (!r->info.issued_at)
        return al_http_fail(c, AL_E_STATE, "id",
                            "invoice %" PRIu64 " is not issued: issue it first", id);
    if (r->info.paid_at)
        return fail_done(c, id, "paid", r->info.paid_at);
    return 0;
}

static int post_pay(struct al_ctx *c)
{
    static const char *const allowed[] = {NULL};
    struct inv_rec r = {0};
    struct al_transfer t;
    struct al_err e = {0};
    int rc;
    if (al_field_only(c, c->body, allowed) || inv_path(c, &r) || may_pay(c, &r)) {
        rc = c->err_code;
        goto out;
    }
    if ((rc = al_invoice_pay(&r.inv, c->now, &t, &e))) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    if ((rc = append(c, &t)) == 0 &&
        (rc = al_store_invoice_paid(c->srv->store, r.inv.spec.id, c->now, &e)))
        rc = al_http_fail_err(c, rc, &e);
    if (rc == 0)
        rc = answer(c, AL_EVENT_INVOICE_PAID, &r);
out:
    inv_done(&r);
    return rc;
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN

const struct al_route al_routes_invoices[] = {
    {"POST", "/v1/orgs/*/invoices", post_invoice, OP, true, false},
    {"GET", "/v1/orgs/*/invoices", get_org_invoices, OP | ADM, false, false},
    {"GET", "/v1/invoices", get_invoices, OP | ADM, false, false},
    {"GET", "/v1/invoices/*", get_invoice, OP | ADM, false, false},
    {"GET", "/v1/invoices/*/csv", get_invoice_csv, OP | ADM, false, false},
    {"GET", "/v1/invoices/*/document", get_invoice_document, OP | ADM, false, false},
    {"POST", "/v1/invoices/*/issue", post_issue, OP, true, false},
    {"POST", "/v1/invoices/*/pay", post_pay, OP, true, false},
    {NULL, NULL, NULL, 0, false, false},
};
