/* charge.c — where the routes and the clock meet core's money rules: an org's contract and
 * usage read from the store, an ask priced under the contract, a decision's transfers written,
 * a refusal answered with its numbers. Core decides every amount; this file only gathers what
 * core reads and records what it returns. */
#include "server/charge.h"

#include "core/invoice.h"
#include "core/quote.h"
#include "server/draws.h"
#include "server/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int al_charge_org_find(struct al_ctx *c, const char *key, char id_out[AL_STORE_ID_MAX],
                       uint64_t *num)
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

int al_charge_org_load(struct al_ctx *c, const char *org_id, int64_t at, struct al_charge_org *ret)
{
    struct al_err e = {0};
    memset(ret, 0, sizeof *ret);
    if (!org_id || strlen(org_id) >= sizeof ret->id)
        return al_http_fail(c, AL_E_NOTFOUND, "org", "no org %s", org_id ? org_id : "?");
    memcpy(ret->id, org_id, strlen(org_id) + 1);
    int rc = al_store_org_num(c->srv->store, org_id, &ret->num, &e);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, rc, "org", "no org %s", org_id);
    if (rc == 0)
        rc = al_store_contract_in_force(c->srv->store, ret->num, at, &ret->k, NULL, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    ret->has_contract = true;
    return 0;
}

int al_charge_org_contracted(struct al_ctx *c, const char *org_id, int64_t at, const char *what,
                             struct al_charge_org *ret)
{
    int rc = al_charge_org_load(c, org_id, at, ret);
    if (rc == 0 && !ret->has_contract) {
        char t[32];
        rc = al_http_fail(c, AL_E_STATE, "contract",
                          "%s: org %s has no contract in force at %s (an operator creates one: "
                          "POST /v1/contracts)",
                          what, org_id, al_time_fmt(at, t, sizeof t));
    }
    return rc;
}

int al_charge_contract_get(struct al_ctx *c, uint64_t id, uint32_t version, struct al_contract *ret)
{
    struct al_err e = {0};
    int rc = al_store_contract_get(c->srv->store, id, version, ret, NULL, &e);
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "contract %llu v%u is missing",
                            (unsigned long long)id, version);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* -(balance) of org account `k`: what it owes there (accrued, receivable are negative when
 * owed). */
static int balance_of(struct al_ctx *c, uint64_t num, enum al_acct_kind k, int64_t *ret,
                      struct al_err *e)
{
    return al_store_balance_get(c->srv->store, (struct al_account){k, num}, ret, e);
}

/* The org's net spend this calendar month: the exact total of its invoice so far (invoice.h
 * builds it from the month's transfers on the paying account). */
static int month_spend(struct al_ctx *c, const struct al_charge_org *o, int64_t *ret,
                       struct al_err *e)
{
    struct al_invoice_spec spec = {0, al_billing_payer(&o->k, o->num), 0, 0, AL_MONEY_CENT};
    struct al_invoice inv = {0};
    struct al_transfer *t = NULL;
    size_t n = 0;
    int rc = al_invoice_month(c->now, &spec.from, &spec.to, e);
    if (rc == 0) {
        struct al_store_xfer_filter f = {o->num, (int)spec.payer.kind, -1, spec.from, spec.to};
        rc = al_store_transfer_load(c->srv->store, &f, &t, &n, e);
    }
    if (rc == 0)
        rc = al_invoice_build(&spec, t, n, &inv, e);
    if (rc == 0)
        *ret = inv.exact;
    al_invoice_done(&inv);
    free(t);
    return rc;
}

/* What the org's running pool sessions hold (spans from their start on) and burn per hour. */
static int pool_usage(struct al_ctx *c, uint64_t org, struct al_store_spans *sp, int64_t *hour_cost,
                      struct al_err *e)
{
    struct al_store_pool *p = NULL;
    struct al_share_span *grown = NULL;
    size_t np = 0;
    int rc = al_store_pool_open(c->srv->store, org, &p, &np, e);
    if (rc || np == 0)
        goto out;
    if (!(grown = realloc(sp->v, (sp->n + np) * sizeof *grown))) {
        rc = al_err_set(e, AL_E_NOMEM, "out of memory");
        goto out;
    }
    sp->v = grown;
    for (size_t i = 0; rc == 0 && i < np; i++) {
        int64_t cost = 0;
        grown[sp->n++] = (struct al_share_span){p[i].sess.start, INT64_MAX, p[i].sess.share};
        rc = al_billing_pool_hour_cost(&p[i].sess, &cost, e);
        if (rc == 0 && al_money_add(*hour_cost, cost, hour_cost))
            rc = al_err_set(e, AL_E_RANGE, "the pool's hourly cost overflows");
    }
out:
    free(p);
    return rc;
}

/* Whether o's contract sets limit `value` (without a contract, everything is read). */
static bool limited(const struct al_charge_org *o, int64_t value)
{
    return !o->has_contract || value != AL_LIMIT_NONE;
}

int al_charge_usage(struct al_ctx *c, const struct al_charge_org *o, int64_t from, int64_t to,
                    uint64_t skip, struct al_org_usage *ret)
{
    struct al_store *s = c->srv->store;
    struct al_store_spans sp = {0};
    struct al_err e = {0};
    int64_t accrued = 0, receivable = 0;
    bool gpus = limited(o, o->k.limits.max_gpus), ahead = limited(o, o->k.limits.max_ahead);
    bool month = o->has_contract && o->k.limits.month_cap != AL_LIMIT_NONE;
    memset(ret, 0, sizeof *ret);
    /* several replicas: a limit reads the org's other reservations or transfers, which another
     * replica's unit may be adding, so no other one decides on this org's money until this
     * unit commits (the funds need no lock: the balance's trigger holds the floor) */
    int rc = gpus || ahead || month ? al_store_org_money_lock(s, o->num, &e) : 0;
    if (rc == 0)
        rc = balance_of(c, o->num, AL_ACCT_ORG_CASH, &ret->cash, &e);
    if (rc == 0)
        rc = balance_of(c, o->num, AL_ACCT_ORG_ACCRUED, &accrued, &e);
    if (rc == 0)
        rc = balance_of(c, o->num, AL_ACCT_ORG_RECEIVABLE, &receivable, &e);
    if (rc == 0 &&
        (al_money_add(accrued, receivable, &ret->owed) || al_money_sub(0, ret->owed, &ret->owed)))
        rc = al_err_set(&e, AL_E_RANGE, "what the org owes overflows");
    /* what only a limit reads costs a scan of the org's reservations (the share it holds, the
     * ones ahead) or of the month's transfers: read it only when the contract sets that limit,
     * so that an org with thousands of reservations and no such limit confirms in constant
     * time; the running pool sessions are few (an index of the open ones) and always read */
    if (rc == 0 && gpus)
        rc = al_store_billing_spans(s, o->num, from, to, skip, &sp, &e);
    if (rc == 0)
        rc = pool_usage(c, o->num, &sp, &ret->pool_hour_cost, &e);
    if (rc == 0 && gpus && to > from)
        rc = al_contract_peak_share(sp.v, sp.n, from, to, &ret->peak_share, &e);
    if (rc == 0 && ahead)
        rc = al_store_billing_ahead(s, o->num, c->now, skip, &ret->ahead, &e);
    if (rc == 0 && month)
        rc = month_spend(c, o, &ret->month_spend, &e);
    free(sp.v);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_charge_refuse(struct al_ctx *c, const struct al_refusal *r, const char *what)
{
    json_t *details =
        json_pack("{s:s,s:s?,s:I,s:I,s:I,s:I,s:I}", "limit", r->limit ? r->limit : "?", "unit",
                  r->unit, "value", (json_int_t)r->value, "in_use", (json_int_t)r->in_use, "asked",
                  (json_int_t)r->asked, "balance_micros", (json_int_t)r->balance,
                  "credit_limit_micros", (json_int_t)r->credit_limit);
    c->err_refusal = r->code;
    if (r->code == AL_REFUSAL_BALANCE) {
        char a[AL_MONEY_FMT_MAX], b[AL_MONEY_FMT_MAX], d[AL_MONEY_FMT_MAX];
        return al_http_fail_details(
            c, AL_E_PAYMENT, details,
            "%s: insufficient balance: %s asked, balance %s with a credit limit of %s", what,
            al_money_fmt(r->asked, a, sizeof a), al_money_fmt(r->balance, b, sizeof b),
            al_money_fmt(r->credit_limit, d, sizeof d));
    }
    return al_http_fail_details(c, AL_E_PAYMENT, details,
                                "%s: %s exceeded: limit %lld %s, %lld in use, %lld asked", what,
                                r->limit ? r->limit : "?", (long long)r->value,
                                r->unit ? r->unit : "", (long long)r->in_use, (long long)r->asked);
}

int al_charge_fail(struct al_ctx *c, int code, const struct al_refusal *r, const struct al_err *e,
                   const char *what)
{
    if (code == AL_E_PAYMENT && r && r->code != AL_REFUSAL_NONE)
        return al_charge_refuse(c, r, what);
    if (code == AL_E_STATE || code == AL_E_FORBIDDEN || code == AL_E_INVAL)
        return al_http_fail(c, code, code == AL_E_STATE ? "contract" : NULL, "%s: %s", what,
                            e && e->msg[0] ? e->msg : al_strerror(code));
    return al_http_fail_err(c, code, e);
}

int al_charge_write(struct al_ctx *c, const struct al_charge_org *o, const struct al_decision *d,
                    const char *what)
{
    int64_t limit = o->has_contract ? o->k.limits.credit_limit : 0;
    if (limit < 0) /* AL_LIMIT_NONE: invoiced terms never debit the cash */
        limit = 0;
    for (unsigned i = 0; i < d->n; i++) {
        struct al_transfer done;
        struct al_refusal r = {0};
        struct al_err e = {0};
        int rc = al_store_transfer_append(c->srv->store, &d->t[i], limit, c->now, &done, &r, &e);
        if (rc == AL_E_PAYMENT)
            return al_charge_refuse(c, &r, what);
        if (rc < 0)
            return al_http_fail_err(c, rc, &e);
    }
    return 0;
}

/* The list price of `m` in force now, or, when the contract freezes a rate for it, none is
 * needed (*list zero). Fails 409 when nothing prices the model. */
static int list_rates(struct al_ctx *c, const struct al_charge_org *o, const struct al_gpu_model *m,
                      struct al_rates *list, uint32_t *version)
{
    struct al_store_price_version p;
    struct al_err e = {0};
    bool frozen = false;
    for (unsigned i = 0; o && o->has_contract && i < o->k.nrates; i++)
        frozen |= strcmp(o->k.rates[i].model, m->name) == 0;
    memset(list, 0, sizeof *list);
    *version = 0;
    /* the version in force now: one set to start later does not price what is sold today */
    int rc = al_store_price_at(c->srv->store, m->name, c->now, &p, &e);
    if (rc == AL_E_NOTFOUND && frozen)
        return 0;
    if (rc == AL_E_NOTFOUND)
        return al_http_fail(c, AL_E_CONFLICT, "model",
                            "no price in force for %s (PUT /v1/prices/%s)", m->name, m->name);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    *list = p.rates;
    *version = p.version;
    return 0;
}

static json_t *line_json(const struct al_quote_line *l)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "what", l->what, "unit",
                     l->unit == AL_QUOTE_GPU_HOUR ? "gpu_hour" : "slice_hour", "units",
                     (json_int_t)l->units, "hours", (json_int_t)l->hours, "billed_seconds",
                     (json_int_t)l->billed_s, "rate_micros", (json_int_t)l->unit_price,
                     "amount_micros", (json_int_t)l->amount);
}

int al_charge_price(struct al_ctx *c, const struct al_charge_org *o, const struct al_quote_ask *a,
                    struct al_charge_price *out)
{
    const struct al_gpu_model *m = a->model;
    struct al_rates list, r;
    struct al_quote q;
    struct al_err err = {0};
    memset(out, 0, sizeof *out);
    out->gran = (struct al_granularity){AL_GRAN_HOUR, 1}; /* the list's rule: started hours */
    int rc = list_rates(c, o, m, &list, &out->version);
    if (rc)
        return rc;
    r = list;
    if (o && o->has_contract) {
        if (al_contract_rates_for(&o->k, m->name, &list, &r, &err) != 0)
            return al_http_fail_err(c, AL_E_INTERNAL, &err);
        out->gran = o->k.gran;
        out->contract = o->k.id;
        out->contract_version = o->k.version;
    }
    if (al_quote_price_terms(a, &(struct al_price){r.gpu_hour, r.mig_slice_hour}, &out->gran, &q,
                             &err) < 0)
        return al_http_fail(c, AL_E_INVAL, "count", "price overflows");
    out->lines = json_array();
    for (unsigned i = 0; i < q.n; i++)
        json_array_append_new(out->lines, line_json(&q.lines[i]));
    out->total = q.total;
    return 0;
}

void al_charge_price_terms(json_t *doc, const struct al_charge_price *p)
{
    char rule[96];
    json_object_set_new(doc, "granularity", json_string(al_contract_gran_name(p->gran.unit)));
    json_object_set_new(doc, "min_hours", json_integer(p->gran.min_hours));
    json_object_set_new(doc, "billing_rule",
                        json_string(al_contract_gran_text(&p->gran, rule, sizeof rule)));
    json_object_set_new(doc, "contract",
                        p->contract ? json_pack("{s:I,s:I}", "id", (json_int_t)p->contract,
                                                "version", (json_int_t)p->contract_version)
                                    : json_null());
    json_object_set_new(doc, "price_version", json_integer(p->version));
}

static const char *doc_id(json_t *doc)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    return id ? id : "?";
}

int al_charge_lines_of(struct al_ctx *c, json_t *doc, struct al_res_billing *b)
{
    json_t *lines = json_object_get(doc, "lines"), *l;
    size_t i;
    b->nlines = 0;
    if (!json_is_array(lines) || json_array_size(lines) == 0 ||
        json_array_size(lines) > AL_BILLING_MAX_LINES)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "%s has no price lines", doc_id(doc));
    json_array_foreach(lines, i, l)
    {
        struct al_price_line *p = &b->lines[b->nlines++];
        const char *what = json_string_value(json_object_get(l, "what"));
        const char *unit = json_string_value(json_object_get(l, "unit"));
        if (!what || strlen(what) >= sizeof p->what || !unit)
            return al_http_fail(c, AL_E_INTERNAL, NULL, "%s: a price line is damaged", doc_id(doc));
        memcpy(p->what, what, strlen(what) + 1);
        p->unit = strcmp(unit, "slice_hour") == 0 ? AL_PRICE_SLICE_HOUR : AL_PRICE_GPU_HOUR;
        p->units = json_integer_value(json_object_get(l, "units"));
        p->unit_price = json_integer_value(json_object_get(l, "rate_micros"));
    }
    return 0;
}

/* ---- a reservation's money ---- */

int al_charge_share(struct al_ctx *c, const char *model, const char *profile, int64_t count,
                    int64_t *ret)
{
    const struct al_gpu_model *m = model ? al_catalog_find(model) : NULL;
    unsigned slices = 1, total = 1;
    struct al_err e = {0};
    if (m && profile) {
        int pi = al_catalog_profile_index(m, profile);
        if (pi < 0)
            m = NULL;
        else {
            slices = m->profiles[pi].compute_slices;
            total = m->compute_slices;
        }
    }
    if (!m)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "unknown model or profile %s %s",
                            model ? model : "?", profile ? profile : "");
    if (al_contract_gpu_share(slices, total, count, ret, &e) != 0)
        return al_http_fail_err(c, AL_E_INTERNAL, &e);
    return 0;
}

/* A new reservation's billing state under o's contract: window and share of `w`, frozen lines
 * of `doc` (a quote's "lines"). id stays as given (the store numbers it at insert). */
static int billing_new(struct al_ctx *c, const struct al_charge_org *o, json_t *doc,
                       const struct al_charge_window *w, struct al_res_billing *b)
{
    b->org = o->num;
    b->contract_id = o->k.id;
    b->contract_version = o->k.version;
    b->start = w->start;
    b->end = w->end;
    int rc = al_charge_share(c, w->model, w->profile, w->count, &b->share);
    return rc ? rc : al_charge_lines_of(c, doc, b);
}

int al_charge_quote_check(struct al_ctx *c, const struct al_charge_org *o,
                          const struct al_charge_price *p, const struct al_charge_window *w,
                          const char *what)
{
    struct al_res_billing b = {.id = 1}; /* not written: core's checks want a number */
    struct al_org_usage u;
    struct al_decision d;
    struct al_err e = {0};
    if (!o->has_contract)
        return 0;
    json_t *doc = json_pack("{s:s,s:O}", "id", "quote", "lines", p->lines);
    int rc =
        doc ? billing_new(c, o, doc, w, &b) : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    json_decref(doc);
    if (rc || (rc = al_charge_usage(c, o, w->start, w->end, 0, &u)))
        return rc;
    rc = al_billing_confirm(&o->k, &b, &u, AL_CHECK_QUOTE, c->now, &d, &e);
    return rc ? al_charge_fail(c, rc, &d.refusal, &e, what) : 0;
}

int al_charge_confirm(struct al_ctx *c, const struct al_charge_org *o, const char *rsv_id,
                      json_t *quote, const char *what, struct al_res_billing *ret)
{
    return al_charge_confirm_at(c, o, rsv_id, quote, AL_CHECK_CONFIRM, what, ret);
}

int al_charge_confirm_at(struct al_ctx *c, const struct al_charge_org *o, const char *rsv_id,
                         json_t *quote, enum al_check_at at, const char *what,
                         struct al_res_billing *ret)
{
    struct al_org_usage u;
    struct al_decision d;
    struct al_err e = {0};
    struct al_charge_window w = {jstr(quote, "model"), jstr(quote, "profile"),
                                 (int64_t)json_array_size(json_object_get(quote, "allocations")),
                                 jtime(quote, "start"), jtime(quote, "end")};
    memset(ret, 0, sizeof *ret);
    int rc = billing_new(c, o, quote, &w, ret);
    if (rc)
        return rc;
    /* first the number the transfer keys use; a refusal below rolls the insert back */
    if ((rc = al_store_billing_insert_under(c->srv->store, rsv_id, &o->k, ret, &e)) != 0)
        return al_http_fail_err(c, rc, &e);
    if ((rc = al_charge_usage(c, o, ret->start, ret->end, ret->id, &u)))
        return rc;
    rc = al_billing_confirm(&o->k, ret, &u, at, c->now, &d, &e);
    if (rc)
        return al_charge_fail(c, rc, &d.refusal, &e, what);
    if ((rc = al_charge_write(c, o, &d, what)) || o->k.terms == AL_TERMS_PREPAID)
        return rc;
    /* periods begun by the last pass's mark are drawn now (server/draws.h), and *ret says so */
    char rid[AL_STORE_ID_MAX];
    if ((rc = al_draws_catch_up(c, ret->id)) < 0)
        return rc;
    rc = al_store_billing_get_num(c->srv->store, ret->id, ret, rid, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_charge_res_load(struct al_ctx *c, const char *rsv_id, struct al_charge_res *ret)
{
    struct al_err e = {0};
    memset(ret, 0, sizeof *ret);
    int rc = al_store_billing_get(c->srv->store, rsv_id, &ret->b, &e);
    if (rc == AL_E_NOTFOUND)
        return 1;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    ret->o.num = ret->b.org;
    ret->o.has_contract = true;
    return al_charge_contract_get(c, ret->b.contract_id, ret->b.contract_version, &ret->o.k);
}

static int billing_save(struct al_ctx *c, const struct al_res_billing *b)
{
    struct al_err e = {0};
    int rc = al_store_billing_update(c->srv->store, b, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

int al_charge_extend(struct al_ctx *c, struct al_charge_res *r, int64_t new_end, const char *what,
                     struct al_decision *dec)
{
    struct al_org_usage u;
    struct al_err e = {0};
    /* refused exactly like a new reservation: every limit over the whole new window, this
     * reservation left out of what the org holds */
    int rc = al_charge_usage(c, &r->o, r->b.start, new_end, r->b.id, &u);
    if (rc)
        return rc;
    rc = al_billing_extend(&r->o.k, &r->b, new_end, &u, c->now, dec, &e);
    if (rc)
        return al_charge_fail(c, rc, &dec->refusal, &e, what);
    if ((rc = al_charge_write(c, &r->o, dec, what)))
        return rc;
    r->b.end = dec->end;
    r->b.rev++;
    return billing_save(c, &r->b);
}

int al_charge_cancel(struct al_ctx *c, struct al_charge_res *r, const struct al_cancel *q,
                     bool cancel, const char *what, struct al_decision *dec)
{
    struct al_err e = {0};
    int rc = al_billing_cancel(&r->o.k, &r->b, q, dec, &e);
    if (rc)
        return al_charge_fail(c, rc, NULL, &e, what);
    if ((rc = al_charge_write(c, &r->o, dec, what)))
        return rc;
    if (al_money_add(r->b.fees, dec->fee, &r->b.fees))
        return al_http_fail(c, AL_E_RANGE, NULL, "%s: the fees overflow", what);
    r->b.end = dec->end;
    r->b.rev++;
    r->b.cancelled = cancel;
    return billing_save(c, &r->b);
}

int al_charge_lines_json(struct al_ctx *c, const struct al_charge_res *r, int64_t t, json_t **lines,
                         int64_t *total)
{
    const struct al_granularity *g = &r->o.k.gran;
    struct al_err e = {0};
    int64_t len = t - r->b.start;
    *total = 0;
    *lines = json_array();
    for (unsigned i = 0; *lines && i < r->b.nlines; i++) {
        const struct al_price_line *l = &r->b.lines[i];
        int64_t billed = 0, amount = 0, hours = 0;
        if (al_contract_billed_seconds(g, len, &billed) != 0 ||
            al_contract_line_charge(g, l, len, &amount, &e) != 0 ||
            al_money_add(*total, amount, total)) {
            json_decref(*lines);
            *lines = NULL;
            return al_http_fail(c, AL_E_RANGE, "end", "the price of the window overflows");
        }
        hours = billed / 3600 + (billed % 3600 != 0);
        json_array_append_new(
            *lines, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "what", l->what, "unit",
                              l->unit == AL_PRICE_GPU_HOUR ? "gpu_hour" : "slice_hour", "units",
                              (json_int_t)l->units, "hours", (json_int_t)hours, "billed_seconds",
                              (json_int_t)billed, "rate_micros", (json_int_t)l->unit_price,
                              "amount_micros", (json_int_t)amount));
    }
    return *lines ? 0 : al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
}

/* Add the amount of the transfer keyed `key` (if written) to *sum. */
static int add_keyed(struct al_ctx *c, const char *key, int64_t *sum)
{
    struct al_transfer t;
    struct al_err e = {0};
    int rc = al_store_transfer_get(c->srv->store, key, &t, &e);
    if (rc == AL_E_NOTFOUND)
        return 0;
    if (rc == 0 && al_money_add(*sum, t.amount, sum))
        rc = al_err_set(&e, AL_E_RANGE, "the reservation's charges overflow");
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

json_t *al_charge_billing_json(struct al_ctx *c, const struct al_charge_res *r)
{
    char key[AL_LEDGER_KEY_MAX];
    int64_t charged = 0, refunded = 0, net = 0;
    int rc = 0;
    /* the keys core gives a reservation's transfers: its charge, each revision's extension
     * and refund, each period's draw; a lookup each, by the ledger's unique key */
    if (al_ledger_key_res(key, r->b.id, 0, "charge") == 0)
        rc = add_keyed(c, key, &charged);
    for (uint32_t v = 1; rc == 0 && v <= r->b.rev; v++) {
        if (al_ledger_key_res(key, r->b.id, v, "extend") == 0)
            rc = add_keyed(c, key, &charged);
        if (rc == 0 && al_ledger_key_res(key, r->b.id, v, "refund") == 0)
            rc = add_keyed(c, key, &refunded);
    }
    for (int64_t k = 0; rc == 0 && k < r->b.drawn; k++)
        if (al_ledger_key_draw(key, r->b.id, k) == 0)
            rc = add_keyed(c, key, &charged);
    if (rc || al_money_sub(charged, refunded, &net))
        return NULL;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "payment_terms",
                     al_contract_terms_name(r->o.k.terms), "charged_micros", (json_int_t)charged,
                     "refunded_micros", (json_int_t)refunded, "fees_micros", (json_int_t)r->b.fees,
                     "net_micros", (json_int_t)net, "periods_drawn", (json_int_t)r->b.drawn,
                     "billed_end", al_time_json(r->b.end));
}
