/* routes_ledger.c — an org's money over HTTP: its balances (cash, the credit limit of the
 * contract in force, what is accrued and receivable), its limits beside what it uses of them
 * now, and top-ups, which move money from the
 * outside world into its cash. Core decides (al_ledger_validate, al_ledger_apply), the store
 * records (al_store_transfer_append); the operator lists transfers and runs al_ledger_verify
 * over the whole ledger as the store loads it. A top-up's ledger key is built from the caller's
 * Idempotency-Key (al_ledger_key_topup), so that a retried top-up is never a second charge,
 * even when the server's own replay record (server/idem.c) does not catch the retry. */
#include "server/http.h"

#include "server/call.h"
#include "server/charge.h"
#include "server/draws.h"
#include "server/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most one top-up may add: a billion units of the currency, beyond any real payment and
 * far from int64's end, so that sums of top-ups do not overflow a balance in practice
 * (al_ledger_apply still refuses one that would). */
#define TOPUP_MAX (INT64_C(1000000000) * AL_MONEY_UNIT)

/* A transfer as the API shows it (the shape of al_store_transfer_list's rows). */
static json_t *transfer_json(const struct al_transfer *t, const char *org_id)
{
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:I,s:o,s:{s:s,s:I,s:I},s:s}", "id", (json_int_t)t->id, "kind",
        al_ledger_kind_name(t->kind), "debit", al_ledger_acct_name(t->debit.kind), "credit",
        al_ledger_acct_name(t->credit.kind), "org", org_id, "amount_micros", (json_int_t)t->amount,
        "at", al_time_json(t->at), "ref", "kind", al_ledger_ref_name(t->ref.kind), "id",
        (json_int_t)t->ref.id, "sub", (json_int_t)t->ref.sub, "key", t->key);
}

/* The cached balance of org `num`'s account of kind `k`. 0, or fails the call. */
static int balance(struct al_ctx *c, uint64_t num, enum al_acct_kind k, int64_t *ret)
{
    struct al_err e = {0};
    struct al_account a = {k, al_ledger_acct_is_org(k) ? num : 0};
    int rc = al_store_balance_get(c->srv->store, a, ret, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* The credit limit of the org's contract in force now; 0 when none is. */
static int credit_limit(struct al_ctx *c, uint64_t num, int64_t *ret)
{
    struct al_contract k;
    struct al_err e = {0};
    *ret = 0; /* set on every path: a failed call's code may be read as 0 by a caller's || */
    int rc = al_store_contract_in_force(c->srv->store, num, c->now, &k, NULL, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    *ret = k.limits.credit_limit;
    return 0;
}

/* {org, cash_micros, credit_limit_micros, available_micros, accrued_micros,
 * receivable_micros} of org `num`, or NULL after failing the call. */
static json_t *balances_json(struct al_ctx *c, const char *org_id, uint64_t num)
{
    int64_t cash = 0, limit = 0, accrued = 0, receivable = 0, avail = 0;
    if (balance(c, num, AL_ACCT_ORG_CASH, &cash) || credit_limit(c, num, &limit) ||
        balance(c, num, AL_ACCT_ORG_ACCRUED, &accrued) ||
        balance(c, num, AL_ACCT_ORG_RECEIVABLE, &receivable))
        return NULL;
    if (limit < 0 || al_money_add(cash, limit, &avail)) /* AL_LIMIT_NONE: not limited */
        avail = INT64_MAX;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "org", org_id, "cash_micros", (json_int_t)cash,
                     "credit_limit_micros", (json_int_t)limit, "available_micros",
                     (json_int_t)avail, "accrued_micros", (json_int_t)accrued, "receivable_micros",
                     (json_int_t)receivable);
}

static int get_balance(struct al_ctx *c)
{
    char id[AL_STORE_ID_MAX];
    uint64_t num;
    if (al_charge_org_find(c, c->params[0], id, &num))
        return c->err_code;
    json_t *b = balances_json(c, id, num);
    return b ? al_http_reply(c, 200, b) : c->err_code;
}

/* The top-up transfer asked for: checked by core, and applied by it to the current balances
 * (an overflow is refused before the store is asked). */
static int topup_decide(struct al_ctx *c, uint64_t num, int64_t amount, struct al_transfer *t)
{
    struct al_err e = {0};
    struct al_refusal r;
    int64_t ext, cash;
    const char *key = c->call ? c->call->idem_key : NULL;
    if (!key)
        return al_http_fail(c, AL_E_INVAL, "Idempotency-Key",
                            "a top-up needs an Idempotency-Key, so that a retry is not a "
                            "second payment");
    memset(t, 0, sizeof *t);
    t->kind = AL_XFER_TOPUP;
    t->debit = (struct al_account){AL_ACCT_EXTERNAL, 0};
    t->credit = (struct al_account){AL_ACCT_ORG_CASH, num};
    t->amount = amount;
    t->at = c->now;
    t->ref = (struct al_ref){AL_REF_NONE, 0, -1};
    if (al_ledger_key_topup(t->key, key, &e) != 0)
        return al_http_fail(c, AL_E_INVAL, "Idempotency-Key", "%s", e.msg);
    if (al_ledger_validate(t, &e) != 0)
        return al_http_fail_err(c, AL_E_INVAL, &e);
    if (balance(c, num, AL_ACCT_EXTERNAL, &ext) || balance(c, num, AL_ACCT_ORG_CASH, &cash))
        return c->err_code;
    int rc = al_ledger_apply(t, 0, &ext, &cash, &r, &e);
    return rc ? al_http_fail(c, rc, "amount_micros", "%s", e.msg) : 0;
}

static int post_topup(struct al_ctx *c)
{
    static const char *const allowed[] = {"amount_micros", "reference", NULL};
    const char *ref = NULL;
    char id[AL_STORE_ID_MAX];
    uint64_t num;
    int64_t amount;
    struct al_transfer t, written;
    struct al_err e = {0};
    if (al_field_only(c, c->body, allowed) ||
        al_field_int(c, c->body, "amount_micros", true, 1, TOPUP_MAX, &amount) ||
        al_field_limit(c, c->body, "reference", AL_LIMIT_TEXT, false, &ref) ||
        al_charge_org_find(c, c->params[0], id, &num) || topup_decide(c, num, amount, &t))
        return c->err_code;
    int rc = al_store_transfer_append(c->srv->store, &t, 0, c->now, &written, NULL, &e);
    if (rc == AL_E_CONFLICT)
        return al_http_fail(c, rc, "Idempotency-Key",
                            "this Idempotency-Key paid another top-up already");
    if (rc != 0 && rc != AL_STORE_REPLAY)
        return al_http_fail_err(c, rc, &e);
    if (rc == 0 && al_event(c, AL_EVENT_LEDGER_TOPUP, id, id,
                            json_pack("{s:I,s:I,s:s?}", "transfer", (json_int_t)written.id,
                                      "amount_micros", (json_int_t)amount, "reference", ref)))
        return c->err_code;
    json_t *b = balances_json(c, id, num);
    if (!b)
        return c->err_code;
    return al_http_reply(c, 201,
                         json_pack("{s:o,s:o,s:b}", "transfer", transfer_json(&written, id),
                                   "balance", b, "replayed", rc == AL_STORE_REPLAY));
}

/* ---- limits: the contract in force's, beside what is in use now ---- */

/* A limit's value as the API shows it: null when the contract does not set it. */
static json_t *limit_json(int64_t v)
{
    return v == AL_LIMIT_NONE ? json_null() : json_integer(v);
}

/* The limits of contract `k` (NULL: none in force) beside the usage `u` at c->now. */
static json_t *limits_json(struct al_ctx *c, const char *org_id, const struct al_contract *k,
                           const struct al_org_usage *u)
{
    struct al_contract_limits none = {AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE,
                                      AL_LIMIT_NONE};
    const struct al_contract_limits *l = k ? &k->limits : &none;
    int64_t avail = u->cash;
    bool capped = true;
    /* what may still be committed: prepaid and balance spend cash down to -credit limit;
     * invoiced terms owe up to the credit limit; an unset limit does not cap it */
    if (k && l->credit_limit == AL_LIMIT_NONE)
        capped = false;
    else if (k && k->terms == AL_TERMS_INVOICED)
        capped = !al_money_sub(l->credit_limit, u->owed, &avail);
    else if (k)
        capped = !al_money_add(u->cash, l->credit_limit, &avail);
    json_t *kj = k ? json_pack("{s:I,s:I,s:s}", "id", (json_int_t)k->id, "version",
                               (json_int_t)k->version, "terms", al_contract_terms_name(k->terms))
                   : json_null();
    return json_pack(
        "{s:s,s:o,s:o,s:{s:o,s:I,s:I,s:o},s:{s:o,s:I,s:I},s:{s:o},s:{s:o,s:I},s:{s:o,s:o}}", "org",
        org_id, "at", al_time_json(c->now), "contract", kj, "credit_limit", "value_micros",
        limit_json(l->credit_limit), "cash_micros", (json_int_t)u->cash, "owed_micros",
        (json_int_t)u->owed, "available_micros", capped ? json_integer(avail) : json_null(),
        "max_concurrent_gpus", "value_share", limit_json(l->max_gpus), "in_use_share",
        (json_int_t)u->peak_share, "share_per_gpu", (json_int_t)AL_SHARE_PER_GPU,
        "max_reservation_length", "value_s", limit_json(l->max_length_s), "max_reservations_ahead",
        "value", limit_json(l->max_ahead), "in_use", (json_int_t)u->ahead, "monthly_spend_cap",
        "value_micros", limit_json(l->month_cap), "in_use_micros",
        k ? json_integer(u->month_spend) : json_null());
}

/* GET /v1/orgs/{id}/limits: the limits of the contract in force now and what the org uses of
 * each at this instant (al_charge_usage over [now, now + 1 s): the share it holds now). */
static int get_limits(struct al_ctx *c)
{
    char id[AL_STORE_ID_MAX];
    uint64_t num;
    struct al_charge_org o;
    struct al_org_usage u;
    if (al_charge_org_find(c, c->params[0], id, &num) || al_charge_org_load(c, id, c->now, &o))
        return c->err_code;
    /* al_charge_usage reads the share in use, the reservations ahead and the month's spend
     * only for a contract that limits them: this answer shows them under any contract, so ask
     * for them as limits would */
    struct al_charge_org asked = o;
    struct al_contract_limits *l = &asked.k.limits;
    if (l->month_cap == AL_LIMIT_NONE)
        l->month_cap = 0;
    if (l->max_gpus == AL_LIMIT_NONE)
        l->max_gpus = 0;
    if (l->max_ahead == AL_LIMIT_NONE)
        l->max_ahead = 0;
    if (al_charge_usage(c, &asked, c->now, c->now + 1, 0, &u))
        return c->err_code;
    json_t *b = limits_json(c, id, o.has_contract ? &o.k : NULL, &u);
    return b ? al_http_reply(c, 200, b) : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}

/* ---- the ledger: transfers and verify ---- */

/* The list's filters from the query: org (id, name or code; an org admin's own org whatever
 * it asks), kind, account, from, to (RFC 3339). 0, or fails the call naming the parameter. */
static int xfer_filter(struct al_ctx *c, struct al_store_xfer_filter *f)
{
    const char *org = al_http_query(c, "org"), *kind = al_http_query(c, "kind");
    const char *acct = al_http_query(c, "account"), *from = al_http_query(c, "from");
    const char *to = al_http_query(c, "to");
    enum al_transfer_kind k;
    enum al_acct_kind a;
    char id[AL_STORE_ID_MAX];
    *f = (struct al_store_xfer_filter){0, -1, -1, 0, 0};
    if (!org && c->role != AL_ROLE_OPERATOR)
        org = c->org;
    if (org && al_charge_org_find(c, org, id, &f->org))
        return c->err_code;
    if (kind && al_ledger_kind_parse(kind, &k) != 0)
        return al_http_fail(c, AL_E_INVAL, "kind", "kind must be a transfer kind (topup, …)");
    if (acct && al_ledger_acct_parse(acct, &a) != 0)
        return al_http_fail(c, AL_E_INVAL, "account",
                            "account must be an account kind (org_cash, …)");
    if (from && al_time_parse(from, &f->from) != 0)
        return al_http_fail(c, AL_E_INVAL, "from", "from must be an RFC 3339 UTC time");
    if (to && al_time_parse(to, &f->to) != 0)
        return al_http_fail(c, AL_E_INVAL, "to", "to must be an RFC 3339 UTC time");
    if (from && to && f->to <= f->from)
        return al_http_fail(c, AL_E_INVAL, "to", "to must be after from");
    if (from && !to)
        f->to = INT64_MAX;
    if (to && !from)
        f->from = INT64_MIN;
    f->kind = kind ? (int)k : -1;
    f->acct = acct ? (int)a : -1;
    return 0;
}

static int get_transfers(struct al_ctx *c)
{
    static const char *const times[] = {"at", "created_at", NULL};
    struct al_store_xfer_filter f;
    struct al_store_page pg;
    json_t *items, *o;
    char *next = NULL;
    struct al_err e = {0};
    size_t i;
    if (al_http_page(c, &pg) || xfer_filter(c, &f))
        return c->err_code;
    int rc = al_store_transfer_list(c->srv->store, &f, pg, &items, &next, &e);
    if (rc)
        return al_http_fail(c, rc, rc == AL_E_INVAL ? "cursor" : NULL, "%s", e.msg);
    json_array_foreach(items, i, o) al_time_fields(o, times);
    return al_http_reply(c, 200, al_http_list(items, next));
}

/* One mismatch as the API shows it: {rule, what, account?: {kind, org|null}, id, expected,
 * actual}. */
static json_t *mismatch_json(struct al_ctx *c, const struct al_mismatch *m)
{
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I}", "rule", al_ledger_rule_name(m->rule), "what",
                          m->what, "id", (json_int_t)m->id, "expected", (json_int_t)m->expected,
                          "actual", (json_int_t)m->actual);
    if (j && (m->rule == AL_VERIFY_BALANCE || m->rule == AL_VERIFY_UNKNOWN_ACCT)) {
        char org[AL_STORE_ID_MAX] = "";
        struct al_err e = {0};
        /* an org number the store does not know is itself what verify reports: name it */
        if (m->acct.org && al_store_org_id(c->srv->store, m->acct.org, org, &e) != 0)
            (void)snprintf(org, sizeof org, "#%llu", (unsigned long long)m->acct.org);
        json_object_set_new(j, "account",
                            json_pack("{s:s,s:s?}", "kind", al_ledger_acct_name(m->acct.kind),
                                      "org", org[0] ? org : NULL));
    }
    return j;
}

/* The most mismatches one answer names (`count` says how many there are). */
#define VERIFY_MAX 200

static int get_verify(struct al_ctx *c)
{
    struct al_store_ledger l = {0};
    struct al_mismatch *ms = calloc(VERIFY_MAX, sizeof *ms);
    struct al_err e = {0};
    size_t n = 0;
    json_t *list = NULL;
    int64_t reached = 0;
    /* `now` is where the clock's draw pass has got (server/draws.h), not the call's time: the
     * draws due between that pass and this call are the next pass's, not missing */
    int rc = ms ? al_store_mark_get(c->srv->store, AL_DRAWS_MARK, &reached, &e) : AL_E_NOMEM;
    if (rc == 0)
        rc = al_store_ledger_load(c->srv->store, reached, &l, &e);
    if (rc == 0)
        rc = al_ledger_verify(&l.view, ms, VERIFY_MAX, &n, &e);
    if (rc) {
        rc = al_http_fail_err(c, rc, &e);
        goto out;
    }
    list = json_array();
    for (size_t i = 0; i < n && i < VERIFY_MAX; i++)
        json_array_append_new(list, mismatch_json(c, &ms[i]));
    rc = al_http_reply(c, 200,
                       json_pack("{s:b,s:I,s:I,s:I,s:o,s:o}", "ok", n == 0, "count", (json_int_t)n,
                                 "transfers", (json_int_t)l.view.ntransfers, "accounts",
                                 (json_int_t)l.view.naccounts, "mismatches", list, "as_of",
                                 reached ? al_time_json(reached) : json_null()));
out:
    al_store_ledger_free(&l);
    free(ms);
    return rc;
}

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN

const struct al_route al_routes_ledger[] = {
    {"POST", "/v1/orgs/*/topups", post_topup, OP, true, false},
    {"GET", "/v1/orgs/*/balance", get_balance, OP | ADM, false, false},
    {"GET", "/v1/orgs/*/limits", get_limits, OP | ADM, false, false},
    {"GET", "/v1/ledger/transfers", get_transfers, OP | ADM, false, false},
    {"GET", "/v1/ledger/verify", get_verify, OP, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
