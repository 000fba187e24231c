/* routes_ledger.c — an org's money over HTTP: its balances (cash, the credit limit of the
 * contract in force, what is accrued and receivable) and top-ups, which move money from the
 * outside world into its cash. Core decides (al_ledger_validate, al_ledger_apply), the store
 * records (al_store_transfer_append); a top-up's ledger key is built from the caller's
 * Idempotency-Key (al_ledger_key_topup), so that a retried top-up is never a second charge,
 * even when the server's own replay record (server/idem.c) does not catch the retry. */
#include "server/http.h"

#include "server/call.h"
#include "server/routes.h"

#include <string.h>

/* The most one top-up may add: a billion units of the currency, beyond any real payment and
 * far from int64's end, so that sums of top-ups do not overflow a balance in practice
 * (al_ledger_apply still refuses one that would). */
#define TOPUP_MAX (INT64_C(1000000000) * AL_MONEY_UNIT)

/* Org `key` (id, name or customer code) as the caller may see it: its id into id_out and its
 * ledger number into *num. Fails the call with 404 for an org the caller may not see. */
static int org_find(struct al_ctx *c, const char *key, char id_out[AL_STORE_ID_MAX], uint64_t *num)
{
    json_t *org = NULL;
    struct al_err e = {0};
    int rc = al_store_org_get(c->srv->store, key, &org, &e);
    const char *id = rc == 0 ? json_string_value(json_object_get(org, "id")) : NULL;
    if (rc == 0 && (!id || !al_ctx_sees(c, id) || strlen(id) >= AL_STORE_ID_MAX))
        rc = AL_E_NOTFOUND;
    if (rc == 0) {
        memcpy(id_out, id, strlen(id) + 1);
        rc = al_store_org_num(c->srv->store, id_out, num, &e);
    }
    json_decref(org);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, NULL, "no org %s", key);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* A transfer as the API shows it (the shape of al_store_transfer_list's rows). */
static json_t *transfer_json(const struct al_transfer *t, const char *org_id)
{
    return json_pack(
        "{s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:{s:s,s:I,s:I},s:s}", "id", (json_int_t)t->id, "kind",
        al_ledger_kind_name(t->kind), "debit", al_ledger_acct_name(t->debit.kind), "credit",
        al_ledger_acct_name(t->credit.kind), "org", org_id, "amount_micros", (json_int_t)t->amount,
        "at", (json_int_t)t->at, "ref", "kind", al_ledger_ref_name(t->ref.kind), "id",
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
    int rc = al_store_contract_in_force(c->srv->store, num, c->now, &k, NULL, &e);
    if (rc == AL_E_NOTFOUND) {
        *ret = 0;
        return 0;
    }
    if (rc)
        return al_http_fail_err(c, rc, &e);
    *ret = k.limits.credit_limit;
    return 0;
}

/* {org, cash_micros, credit_limit_micros, available_micros, accrued_micros,
 * receivable_micros} of org `num`, or NULL after failing the call. */
static json_t *balances_json(struct al_ctx *c, const char *org_id, uint64_t num)
{
    int64_t cash, limit, accrued, receivable, avail;
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
    if (org_find(c, c->params[0], id, &num))
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
        org_find(c, c->params[0], id, &num) || topup_decide(c, num, amount, &t))
        return c->err_code;
    int rc = al_store_transfer_append(c->srv->store, &t, 0, c->now, &written, NULL, &e);
    if (rc == AL_E_CONFLICT)
        return al_http_fail(c, rc, "Idempotency-Key",
                            "this Idempotency-Key paid another top-up already");
    if (rc != 0 && rc != AL_STORE_REPLAY)
        return al_http_fail_err(c, rc, &e);
    if (rc == 0 && al_event(c, AL_EVENT_LEDGER_TOPUP, id,
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

#define OP  AL_ROLE_OPERATOR
#define ADM AL_ROLE_ORG_ADMIN

const struct al_route al_routes_ledger[] = {
    {"POST", "/v1/orgs/*/topups", post_topup, OP, true, false},
    {"GET", "/v1/orgs/*/balance", get_balance, OP | ADM, false, false},
    {NULL, NULL, NULL, 0, false, false},
};
