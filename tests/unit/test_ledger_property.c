/* test_ledger_property.c — the property test of the money rules (core/ledger with contract,
 * billing and invoice): random sequences of top-ups, confirmations under each kind of terms,
 * extensions, cancellations and shortenings, balance draws, pool usage, adjustments and
 * monthly invoices, recorded the way the server will record them (all of a decision's
 * transfers or none, each retried once), keep every verify rule true, never take an org's cash
 * below minus its credit limit, and give invoices whose exact sums equal the charges; then each
 * rule is broken on purpose on a copy of the books and verify must name it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/billing.h"
#include "core/contract.h"
#include "core/invoice.h"
#include "core/ledger.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)

static struct al_account acct(enum al_acct_kind k, uint64_t org)
{
    struct al_account a = {k, al_ledger_acct_is_org(k) ? org : 0};
    return a;
}

/* What the sequences did, over all seeds: the test fails if some path was never taken. */
static struct {
    unsigned kinds[AL_XFER_KINDS];
    unsigned balance_refusals, limit_refusals, forbidden, draw_stops, pool_stops;
    unsigned cancels, shortenings, extensions, roundings;
} seen;

#define NORG    3
#define MAXT    6000
#define MAXRES  160
#define MAXPOOL 40
#define MAXINV  64
#define MAXACCT 16

struct sim {
    struct al_contract c[NORG]; /* org i + 1: prepaid, balance, invoiced */
    struct al_ledger_account acct[MAXACCT];
    size_t nacct;
    struct al_transfer t[MAXT];
    size_t nt;
    struct al_res_billing res[MAXRES];
    size_t nres;
    struct al_pool_session pool[MAXPOOL];
    bool running[MAXPOOL];
    size_t npool;
    struct al_invoice inv[MAXINV];
    size_t ninv;
    int64_t invoiced_to[NORG]; /* invoices issued for every month before this */
    int64_t pool_charged[NORG], adjusted[NORG];
    int64_t now;
    uint64_t next_id;
    unsigned seed, seed0;
    unsigned refusals, conflicts_checked;
};

static int64_t rnd(struct sim *s, int64_t lo, int64_t hi) /* in [lo, hi] */
{
    uint64_t r = (uint64_t)rand_r(&s->seed) << 31 ^ (uint64_t)rand_r(&s->seed);
    return lo + (int64_t)(r % (uint64_t)(hi - lo + 1));
}

static int64_t *balance(struct sim *s, struct al_account a)
{
    for (size_t i = 0; i < s->nacct; i++)
        if (s->acct[i].acct.kind == a.kind && s->acct[i].acct.org == a.org)
            return &s->acct[i].balance;
    assert_true(s->nacct < MAXACCT);
    s->acct[s->nacct] = (struct al_ledger_account){a, 0};
    return &s->acct[s->nacct++].balance;
}

static const struct al_contract *contract_of(const struct sim *s, uint64_t org)
{
    return &s->c[org - 1];
}

static const struct al_transfer *by_key(const struct sim *s, const char *key)
{
    for (size_t i = 0; i < s->nt; i++)
        if (strcmp(s->t[i].key, key) == 0)
            return &s->t[i];
    return NULL;
}

/* Write a decision's transfers all or nothing, as the server's transaction does; a key seen
 * before is a replay. Returns how many transfers were new. */
static size_t record(struct sim *s, const struct al_transfer *t, size_t n)
{
    int64_t saved[MAXACCT];
    size_t fresh = 0;
    struct al_transfer staged[4];
    for (size_t i = 0; i < n; i++) {
        struct al_err e = {0};
        int rc = al_ledger_idem(by_key(s, t[i].key), &t[i], &e);
        if (rc < 0)
            fail_msg("idempotency: %s", e.msg);
        if (rc == AL_LEDGER_NEW)
            staged[fresh++] = t[i];
    }
    (void)balance(s, acct(AL_ACCT_REVENUE, 0)); /* create accounts before saving */
    for (size_t i = 0; i < fresh; i++) {
        (void)balance(s, staged[i].debit);
        (void)balance(s, staged[i].credit);
    }
    for (size_t i = 0; i < s->nacct; i++)
        saved[i] = s->acct[i].balance;
    for (size_t i = 0; i < fresh; i++) {
        struct al_err e = {0};
        const struct al_transfer *x = &staged[i];
        int64_t limit = x->debit.kind == AL_ACCT_ORG_CASH
                            ? contract_of(s, x->debit.org)->limits.credit_limit
                            : 0;
        int rc = al_ledger_apply(x, limit, balance(s, x->debit), balance(s, x->credit), NULL, &e);
        if (rc) /* a decision never asks for what the floor refuses */
            fail_msg("apply %s: %s", x->key, e.msg);
    }
    for (size_t i = 0; i < fresh; i++) {
        seen.kinds[staged[i].kind]++;
        assert_true(s->nt < MAXT);
        s->t[s->nt] = staged[i];
        s->t[s->nt++].id = ++s->next_id;
    }
    (void)saved;
    return fresh;
}

/* Write a decision, then retry it: the retry must change nothing. */
static void record_twice(struct sim *s, const struct al_decision *d)
{
    (void)record(s, d->t, d->n);
    size_t nt = s->nt;
    assert_int_equal(record(s, d->t, d->n), 0);
    assert_true(s->nt == nt);
    s->conflicts_checked++;
}

static bool same_acct(struct al_account a, struct al_account b)
{
    return a.kind == b.kind && a.org == b.org;
}

/* The org's state as the server reads it, leaving reservation `skip` out. */
static struct al_org_usage usage(struct sim *s, uint64_t org, int64_t from, int64_t to,
                                 uint64_t skip)
{
    const struct al_contract *c = contract_of(s, org);
    struct al_org_usage o = {.cash = *balance(s, acct(AL_ACCT_ORG_CASH, org))};
    struct al_share_span spans[MAXRES + MAXPOOL];
    struct al_account payer = al_billing_payer(c, org);
    size_t n = 0;
    int64_t ms = 0, me = 0;
    o.owed = -(*balance(s, acct(AL_ACCT_ORG_ACCRUED, org)) +
               *balance(s, acct(AL_ACCT_ORG_RECEIVABLE, org)));
    for (size_t i = 0; i < s->nres; i++) {
        const struct al_res_billing *r = &s->res[i];
        if (r->org != org || r->id == skip)
            continue;
        spans[n++] = (struct al_share_span){r->start, r->end, r->share};
        o.ahead += r->start > s->now;
    }
    for (size_t i = 0; i < s->npool; i++) {
        int64_t h = 0;
        if (!s->running[i] || s->pool[i].org != org)
            continue;
        spans[n++] = (struct al_share_span){s->pool[i].start, INT64_MAX / 2, s->pool[i].share};
        assert_int_equal(al_billing_pool_hour_cost(&s->pool[i], &h, NULL), 0);
        o.pool_hour_cost += h;
    }
    assert_int_equal(al_contract_peak_share(spans, n, from, to, &o.peak_share, NULL), 0);
    assert_int_equal(al_invoice_month(s->now, &ms, &me, NULL), 0);
    for (size_t i = 0; i < s->nt; i++) {
        const struct al_transfer *t = &s->t[i];
        if (t->at < ms || t->at >= me || t->ref.kind == AL_REF_INVOICE || t->kind == AL_XFER_TOPUP)
            continue;
        if (same_acct(t->debit, payer))
            o.month_spend += t->amount;
        else if (same_acct(t->credit, payer))
            o.month_spend -= t->amount;
    }
    return o;
}

static void sim_contracts(struct sim *s)
{
    static const struct al_granularity grans[3] = {
        {AL_GRAN_HOUR, 2}, {AL_GRAN_SECOND, 0}, {AL_GRAN_MINUTE, 0}};
    for (unsigned i = 0; i < NORG; i++) {
        struct al_contract *c = &s->c[i];
        *c = (struct al_contract){
            .id = 100 + i,
            .version = 1,
            .org = i + 1,
            .terms = (enum al_terms)i,
            .valid_from = T0 - 86400,
            .valid_to = T0 + 5 * 365 * 86400,
            .gran = grans[(s->seed + i) % 3],
            .draw_period_s = rnd(s, 0, 1) ? HOUR : 86400,
            .nrates = 1,
            .rates = {{"H100-80GB", {M(40), M(5), rnd(s, 1, M(5))}}},
            .cancel_fee = rnd(s, 0, M(20)),
            .cancel_fee_bps = (int32_t)rnd(s, 0, 3000),
            .admin_may_cancel_active = rnd(s, 0, 1),
            .self_service = rnd(s, 0, 1),
            .limits = {i == 2 ? AL_LIMIT_NONE : rnd(s, 0, M(200)), 6 * AL_SHARE_PER_GPU, 72 * HOUR,
                       4, i == 0 ? M(200000) : AL_LIMIT_NONE},
        };
        assert_int_equal(al_contract_validate(c, NULL), 0);
        s->invoiced_to[i] = T0 - 86400 * 31; /* December 2025, empty */
    }
}

static void op_topup(struct sim *s)
{
    uint64_t org = (uint64_t)rnd(s, 1, NORG);
    struct al_transfer t = {.kind = AL_XFER_TOPUP,
                            .debit = acct(AL_ACCT_EXTERNAL, 0),
                            .credit = acct(AL_ACCT_ORG_CASH, org),
                            .amount = rnd(s, 1, M(3000)),
                            .at = s->now};
    char client[32];
    (void)snprintf(client, sizeof client, "req-%llu", (unsigned long long)++s->next_id);
    assert_int_equal(al_ledger_key_topup(t.key, client, NULL), 0);
    int64_t before = *balance(s, t.credit);
    assert_int_equal(record(s, &t, 1), 1);
    assert_int_equal(record(s, &t, 1), 0); /* the retried top-up credits nothing */
    assert_true(*balance(s, t.credit) == before + t.amount);
}

static void new_lines(struct sim *s, struct al_res_billing *r)
{
    r->nlines = (unsigned)rnd(s, 1, 2);
    r->share = 0;
    for (unsigned i = 0; i < r->nlines; i++) {
        bool mig = rnd(s, 0, 1);
        int64_t n = rnd(s, 1, 3);
        r->lines[i] = (struct al_price_line){.unit = mig ? AL_PRICE_SLICE_HOUR : AL_PRICE_GPU_HOUR,
                                             .units = mig ? 3 * n : n,
                                             .unit_price = rnd(s, 0, mig ? M(6) : M(45))};
        (void)snprintf(r->lines[i].what, sizeof r->lines[i].what, "line %u", i);
        r->share += mig ? n * 3 * (AL_SHARE_PER_GPU / 7) : n * AL_SHARE_PER_GPU;
    }
}

static void run_draws(struct sim *s);

static void check_refusal(int rc, const struct al_decision *d, const struct al_err *e)
{
    if (rc == AL_E_PAYMENT) {
        assert_true(d->refusal.code != AL_REFUSAL_NONE && d->refusal.limit != NULL);
        if (d->refusal.code == AL_REFUSAL_BALANCE)
            seen.balance_refusals++;
        else
            seen.limit_refusals++;
    } else if (rc == AL_E_FORBIDDEN) {
        seen.forbidden++;
    } else if (rc != AL_E_FORBIDDEN && rc != AL_E_STATE)
        fail_msg("unexpected refusal %d: %s", rc, e->msg);
}

static void op_confirm(struct sim *s)
{
    if (s->nres == MAXRES)
        return;
    struct al_res_billing *r = &s->res[s->nres];
    uint64_t org = (uint64_t)rnd(s, 1, NORG);
    const struct al_contract *c = contract_of(s, org);
    *r = (struct al_res_billing){
        .id = 1000 + s->nres, .org = org, .contract_id = c->id, .contract_version = c->version};
    r->start = s->now + rnd(s, 0, 3) * rnd(s, 0, 30 * HOUR);
    r->end = r->start + rnd(s, 1, 80 * HOUR);
    new_lines(s, r);
    struct al_org_usage o = usage(s, org, r->start, r->end, 0);
    enum al_check_at at = rnd(s, 0, 1) ? AL_CHECK_CONFIRM : AL_CHECK_SELF_RESERVE;
    struct al_decision d;
    struct al_err e = {0};
    int rc = al_billing_confirm(c, r, &o, at, s->now, &d, &e);
    if (rc) {
        check_refusal(rc, &d, &e);
        s->refusals++;
        return;
    }
    record_twice(s, &d);
    s->nres++;
    run_draws(s); /* a reservation starting now has its first period due at once */
}

/* A reservation that can still change at now, or NULL. */
static struct al_res_billing *pick_live(struct sim *s)
{
    if (s->nres == 0)
        return NULL;
    struct al_res_billing *r = &s->res[rnd(s, 0, (int64_t)s->nres - 1)];
    return r->cancelled || s->now >= r->end || r->end == r->start ? NULL : r;
}

static void op_extend(struct sim *s)
{
    struct al_res_billing *r = pick_live(s);
    if (!r)
        return;
    const struct al_contract *c = contract_of(s, r->org);
    int64_t new_end = r->end + rnd(s, 1, 30 * HOUR);
    struct al_org_usage o = usage(s, r->org, r->end, new_end, r->id);
    struct al_decision d;
    struct al_err e = {0};
    int rc = al_billing_extend(c, r, new_end, &o, s->now, &d, &e);
    if (rc) {
        check_refusal(rc, &d, &e);
        s->refusals++;
        return;
    }
    record_twice(s, &d);
    seen.extensions++;
    r->end = d.end;
    r->rev++;
}

static void op_cancel(struct sim *s)
{
    struct al_res_billing *r = pick_live(s);
    if (!r)
        return;
    const struct al_contract *c = contract_of(s, r->org);
    bool whole = rnd(s, 0, 1);
    struct al_cancel q = {rnd(s, 0, 1) ? AL_BY_ORG_ADMIN : AL_BY_OPERATOR, s->now,
                          whole ? s->now : rnd(s, s->now, r->end - 1)};
    struct al_decision d;
    struct al_err e = {0};
    int rc = al_billing_cancel(c, r, &q, &d, &e);
    if (rc) {
        assert_int_equal(rc, AL_E_FORBIDDEN);
        seen.forbidden++;
        s->refusals++;
        return;
    }
    if (whole)
        seen.cancels++;
    else
        seen.shortenings++;
    record_twice(s, &d);
    assert_true(d.end <= r->end && d.end >= r->start);
    r->end = d.end;
    r->fees += d.fee;
    r->rev++;
    r->cancelled = whole;
}

static void op_pool_start(struct sim *s)
{
    if (s->npool == MAXPOOL)
        return;
    uint64_t org = (uint64_t)rnd(s, 1, NORG);
    const struct al_contract *c = contract_of(s, org);
    struct al_rates list = {M(50), M(6), M(3)}, rates;
    struct al_pool_session *p = &s->pool[s->npool];
    assert_int_equal(al_contract_rates_for(c, "H100-80GB", &list, &rates, NULL), 0);
    *p = (struct al_pool_session){.id = 500 + s->npool,
                                  .org = org,
                                  .start = s->now,
                                  .metered_to = s->now,
                                  .share = rnd(s, 0, 1) ? AL_SHARE_PER_GPU : 11880,
                                  .rate = rates.pool_gpu_hour};
    struct al_org_usage o = usage(s, org, s->now, s->now + 1, 0);
    struct al_decision d;
    struct al_err e = {0};
    int rc = al_billing_pool_start(c, p, &o, s->now, &d, &e);
    if (rc) {
        check_refusal(rc, &d, &e);
        s->refusals++;
        return;
    }
    s->running[s->npool++] = true;
}

static void meter(struct sim *s, size_t i)
{
    struct al_pool_session *p = &s->pool[i];
    const struct al_contract *c = contract_of(s, p->org);
    struct al_org_usage o = usage(s, p->org, s->now, s->now + 1, 0);
    struct al_decision d;
    assert_int_equal(al_billing_pool_meter(c, p, s->now, &o, &d, NULL), 0);
    record_twice(s, &d);
    s->pool_charged[p->org - 1] += d.amount;
    p->metered_to = s->now;
    if (d.stop) {
        seen.pool_stops++;
        s->running[i] = false;
    }
}

static void op_pool_stop(struct sim *s)
{
    for (size_t i = 0; i < s->npool; i++) {
        if (s->running[i] && rnd(s, 0, 1)) {
            meter(s, i);
            s->running[i] = false;
            return;
        }
    }
}

static void op_adjust(struct sim *s)
{
    uint64_t org = (uint64_t)rnd(s, 1, NORG);
    const struct al_contract *c = contract_of(s, org);
    struct al_account payer = al_billing_payer(c, org), rev = acct(AL_ACCT_REVENUE, 0);
    bool charge = rnd(s, 0, 1);
    struct al_transfer t = {.kind = AL_XFER_ADJUSTMENT,
                            .debit = charge ? payer : rev,
                            .credit = charge ? rev : payer,
                            .amount = rnd(s, 1, M(2)),
                            .at = s->now,
                            .ref = {AL_REF_OPERATOR, ++s->next_id, 0}};
    (void)snprintf(t.key, sizeof t.key, "adj:%llu", (unsigned long long)t.ref.id);
    int64_t limit = payer.kind == AL_ACCT_ORG_CASH ? c->limits.credit_limit : 0;
    int64_t d = *balance(s, t.debit), cr = *balance(s, t.credit);
    struct al_refusal ref;
    if (al_ledger_apply(&t, limit, &d, &cr, &ref, NULL) == AL_E_PAYMENT) {
        assert_int_equal(ref.code, AL_REFUSAL_BALANCE); /* the floor holds for operators too */
        s->refusals++;
        return;
    }
    (void)record(s, &t, 1);
    s->adjusted[org - 1] += charge ? t.amount : -t.amount;
}

/* Draw every period due by now, in order; a refused draw ends access where paid time does. */
static void run_draws(struct sim *s)
{
    for (size_t i = 0; i < s->nres; i++) {
        struct al_res_billing *r = &s->res[i];
        const struct al_contract *c = contract_of(s, r->org);
        int64_t due = 0;
        assert_int_equal(al_billing_draws_due(c, r, s->now, &due, NULL), 0);
        while (r->drawn < due) {
            struct al_org_usage o = usage(s, r->org, s->now, s->now + 1, r->id);
            struct al_decision d;
            int rc = al_billing_draw(c, r, r->drawn, &o, &d, NULL);
            if (rc == AL_E_PAYMENT) {
                assert_true(d.stop && d.end < r->end);
                seen.draw_stops++;
                r->end = d.end;
                r->rev++;
                s->refusals++;
                break;
            }
            assert_int_equal(rc, 0);
            record_twice(s, &d);
            r->drawn++;
        }
    }
}

/* Issue the invoices of every month that ended (all months before `upto`). */
static void run_invoices(struct sim *s, int64_t upto)
{
    for (unsigned i = 0; i < NORG; i++) {
        const struct al_contract *c = &s->c[i];
        while (s->invoiced_to[i] < upto) {
            int64_t from = 0, to = 0;
            size_t n = 0;
            struct al_transfer out[2];
            assert_int_equal(al_invoice_month(s->invoiced_to[i], &from, &to, NULL), 0);
            assert_true(s->ninv < MAXINV);
            struct al_invoice *inv = &s->inv[s->ninv++];
            struct al_invoice_spec spec = {.id = 900 + s->ninv,
                                           .payer = al_billing_payer(c, c->org),
                                           .from = from,
                                           .to = to,
                                           .minor = AL_MONEY_CENT};
            assert_int_equal(al_invoice_build(&spec, s->t, s->nt, inv, NULL), 0);
            assert_int_equal(al_invoice_issue(inv, s->now, out, &n, NULL), 0);
            (void)record(s, out, n);
            inv->issued = true;
            seen.roundings += inv->rounding != 0;
            struct al_transfer paid;
            if (inv->total != 0 && spec.payer.kind == AL_ACCT_ORG_ACCRUED && rnd(s, 0, 1) &&
                al_invoice_pay(inv, s->now, &paid, NULL) == 0)
                (void)record(s, &paid, 1);
            s->invoiced_to[i] = to;
        }
    }
}

static void op_advance(struct sim *s)
{
    int64_t ms = 0, me = 0;
    s->now += rnd(s, 1, 40 * HOUR);
    run_draws(s);
    for (size_t i = 0; i < s->npool; i++)
        if (s->running[i])
            meter(s, i);
    assert_int_equal(al_invoice_month(s->now, &ms, &me, NULL), 0);
    run_invoices(s, ms);
}

static struct al_ledger_view view_of(const struct sim *s)
{
    struct al_ledger_view v = {.accounts = s->acct,
                               .naccounts = s->nacct,
                               .transfers = s->t,
                               .ntransfers = s->nt,
                               .reservations = s->res,
                               .nreservations = s->nres,
                               .contracts = s->c,
                               .ncontracts = NORG,
                               .invoices = s->inv,
                               .ninvoices = s->ninv,
                               .now = s->now};
    return v;
}

static size_t verify(const struct al_ledger_view *v, struct al_mismatch *m, size_t cap)
{
    size_t n = 0;
    assert_int_equal(al_ledger_verify(v, m, cap, &n, NULL), 0);
    return n;
}

static void check_books(struct sim *s, const char *after)
{
    struct al_mismatch m[8];
    struct al_ledger_view v = view_of(s);
    size_t n = verify(&v, m, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        print_error("seed %u after %s: %s: %s\n", s->seed0, after, al_ledger_rule_name(m[i].rule),
                    m[i].what);
    assert_int_equal(n, 0);
    for (unsigned i = 0; i < NORG; i++) {
        if (s->c[i].terms != AL_TERMS_INVOICED)
            assert_true(*balance(s, acct(AL_ACCT_ORG_CASH, i + 1)) >= -s->c[i].limits.credit_limit);
    }
}

/* Every invoice's exact sum, over all months, equals the charges: the reservations' implied
 * net charges, the pool usage and the adjustments, to the micro-unit. */
static void check_documents(struct sim *s)
{
    int64_t ms = 0, me = 0;
    assert_int_equal(al_invoice_month(s->now, &ms, &me, NULL), 0);
    run_invoices(s, me); /* the current month too */
    check_books(s, "closing invoices");
    for (unsigned i = 0; i < NORG; i++) {
        int64_t invoiced = 0, charges = s->pool_charged[i] + s->adjusted[i];
        for (size_t k = 0; k < s->ninv; k++)
            if (s->inv[k].spec.payer.org == i + 1)
                invoiced += s->inv[k].exact;
        for (size_t k = 0; k < s->nres; k++) {
            int64_t implied = 0;
            if (s->res[k].org != i + 1)
                continue;
            assert_int_equal(al_billing_implied(&s->c[i], &s->res[k], s->now, &implied, NULL), 0);
            charges += implied;
        }
        assert_true(invoiced == charges);
        if (s->c[i].terms == AL_TERMS_INVOICED) /* every month issued: nothing left accrued */
            assert_true(*balance(s, acct(AL_ACCT_ORG_ACCRUED, i + 1)) == 0);
    }
}

static bool names(const struct al_mismatch *m, size_t n, enum al_verify_rule rule, uint64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].rule == rule && (id == 0 || m[i].id == id))
            return true;
    return false;
}

static const struct al_transfer *find_res_charge(const struct sim *s, size_t *at)
{
    for (size_t i = 0; i < s->nt; i++) {
        if (s->t[i].ref.kind == AL_REF_RESERVATION) {
            *at = i;
            return &s->t[i];
        }
    }
    return NULL;
}

/* Break each rule on a copy of the books: verify must name it. */
static void break_rules(struct sim *s)
{
    static struct al_transfer t[MAXT + 1];
    static struct al_res_billing res[MAXRES];
    struct al_ledger_account acc[MAXACCT];
    struct al_mismatch m[64];
    struct al_ledger_view v;
    size_t at = 0, n = 0;
    const struct al_transfer *victim = find_res_charge(s, &at);
    if (!victim)
        return;
    /* drop one transfer: its accounts' cached balances and its reservation's charges differ */
    memcpy(t, s->t, s->nt * sizeof *t);
    memmove(&t[at], &t[at + 1], (s->nt - at - 1) * sizeof *t);
    v = view_of(s);
    v.transfers = t;
    v.ntransfers = s->nt - 1;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_BALANCE, 0));
    assert_true(names(m, n, AL_VERIFY_RESERVATION, victim->ref.id));
    /* the same key twice */
    memcpy(t, s->t, s->nt * sizeof *t);
    t[s->nt] = *victim;
    v.ntransfers = s->nt + 1;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_DUP_KEY, 0));
    /* a transfer that breaks the kind rules */
    v.ntransfers = s->nt;
    t[at].kind = AL_XFER_TOPUP;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_TRANSFER, victim->id));
    /* a cached balance off by one micro-unit: that account, and the sum */
    v = view_of(s);
    memcpy(acc, s->acct, s->nacct * sizeof *acc);
    acc[0].balance += 1;
    v.accounts = acc;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_BALANCE, acc[0].acct.org) && names(m, n, AL_VERIFY_SUM, 0));
    /* a reservation left out, or naming a contract version that does not exist */
    v = view_of(s);
    memcpy(res, s->res, s->nres * sizeof *res);
    for (size_t i = 0; i < s->nres; i++) {
        if (res[i].id == victim->ref.id) {
            res[i] = res[s->nres - 1];
            break;
        }
    }
    v.reservations = res;
    v.nreservations = s->nres - 1;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_ORPHAN, victim->ref.id));
    memcpy(res, s->res, s->nres * sizeof *res);
    res[0].contract_version = 9;
    v.nreservations = s->nres;
    n = verify(&v, m, 64);
    assert_true(names(m, n, AL_VERIFY_CONTRACT, res[0].id));
}

/* Break an invoice: a line's amount, and an issued invoice's missing issue transfer. */
static void break_invoices(struct sim *s)
{
    static struct al_transfer t[MAXT];
    struct al_mismatch m[64];
    for (size_t k = 0; k < s->ninv; k++) {
        struct al_invoice *inv = &s->inv[k];
        struct al_ledger_view v = view_of(s);
        size_t n = 0;
        if (inv->nlines == 0)
            continue;
        inv->lines[0].amount += AL_MONEY_CENT;
        n = verify(&v, m, 64);
        inv->lines[0].amount -= AL_MONEY_CENT;
        assert_true(names(m, n, AL_VERIFY_INVOICE_TOTAL, inv->spec.id));
        assert_true(names(m, n, AL_VERIFY_INVOICE_LINES, inv->spec.id));
        if (inv->spec.payer.kind != AL_ACCT_ORG_ACCRUED || inv->total == 0)
            continue;
        char key[AL_LEDGER_KEY_MAX];
        size_t nt = 0;
        (void)al_ledger_key_invoice(key, inv->spec.id, "issue");
        for (size_t i = 0; i < s->nt; i++)
            if (strcmp(s->t[i].key, key) != 0)
                t[nt++] = s->t[i];
        assert_true(nt == s->nt - 1);
        v.transfers = t;
        v.ntransfers = nt;
        n = verify(&v, m, 64);
        assert_true(names(m, n, AL_VERIFY_INVOICE_XFER, inv->spec.id));
    }
}

static void run_sequence(unsigned seed, int ops)
{
    static struct sim s;
    memset(&s, 0, sizeof s);
    s.seed = s.seed0 = seed;
    s.now = T0;
    sim_contracts(&s);
    static const char *const names_of[] = {"topup",   "confirm",    "extend",    "cancel",
                                           "advance", "pool start", "pool stop", "adjust"};
    for (int i = 0; i < ops; i++) {
        int64_t op = rnd(&s, 0, 11);
        int k = op < 2    ? 0
                : op < 5  ? 1
                : op < 6  ? 2
                : op < 7  ? 3
                : op < 9  ? 4
                : op < 10 ? 5
                : op < 11 ? 6
                          : 7;
        switch (k) {
        case 0:
            op_topup(&s);
            break;
        case 1:
            op_confirm(&s);
            break;
        case 2:
            op_extend(&s);
            break;
        case 3:
            op_cancel(&s);
            break;
        case 4:
            op_advance(&s);
            break;
        case 5:
            op_pool_start(&s);
            break;
        case 6:
            op_pool_stop(&s);
            break;
        default:
            op_adjust(&s);
            break;
        }
        if (i % 8 == 0 || i == ops - 1)
            check_books(&s, names_of[k]);
    }
    check_documents(&s);
    break_rules(&s);
    break_invoices(&s);
    for (size_t k = 0; k < s.ninv; k++)
        al_invoice_done(&s.inv[k]);
}

static void test_property(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 24; seed++)
        run_sequence(seed, 260);
    print_message("property: %u top-ups, %u charges, %u usage, %u refunds, %u adjustments, "
                  "%u issued, %u paid; %u extensions, %u cancellations, %u shortenings; "
                  "refused: %u balance, %u limit, %u forbidden; %u draw stops, %u pool stops; "
                  "%u invoices with a rounding\n",
                  seen.kinds[AL_XFER_TOPUP], seen.kinds[AL_XFER_RESERVATION_CHARGE],
                  seen.kinds[AL_XFER_USAGE], seen.kinds[AL_XFER_REFUND],
                  seen.kinds[AL_XFER_ADJUSTMENT], seen.kinds[AL_XFER_INVOICE_ISSUED],
                  seen.kinds[AL_XFER_INVOICE_PAID], seen.extensions, seen.cancels, seen.shortenings,
                  seen.balance_refusals, seen.limit_refusals, seen.forbidden, seen.draw_stops,
                  seen.pool_stops, seen.roundings);
    for (unsigned k = 0; k < AL_XFER_KINDS; k++)
        assert_true(seen.kinds[k] > 0);
    assert_true(seen.extensions && seen.cancels && seen.shortenings);
    assert_true(seen.balance_refusals && seen.limit_refusals && seen.forbidden);
    assert_true(seen.draw_stops && seen.pool_stops && seen.roundings);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests_name("ledger_property", tests, NULL, NULL);
}
