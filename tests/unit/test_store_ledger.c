/* test_store_ledger.c — unit tests of the store's ledger: transfers appended once per key (a
 * retry answers the first and writes nothing; the same key for another transfer is a
 * conflict), cached balances that move with them, the credit-limit floor held by core's rule
 * and by the schema, the schema refusing to change or remove a transfer, lists and loads with
 * their filters, invoices (docs/billing.md's worked example 3 through the store: draws and pool
 * metering decided by core, an invoice of 77.63 with its rounding, issued and paid; an invoice
 * from transfers of every kind whose exact sum is the month's ledger movement), and a
 * property test: random top-ups, confirmations, cancellations, metering, adjustments and
 * retries through the store, after which the loaded snapshot passes al_ledger_verify and every
 * cached balance equals the sum of its transfers, and a tampered database does not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define FEB1 INT64_C(1769904000) /* 2026-02-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)
/* A transfer's columns but its id, which the database gives (the tests' own INSERTs) */
#define XFER_COLS                                                                                  \
    "(kind, debit, credit, org, amount, at, ref_kind, ref_id, ref_sub, key, credit_limit,"         \
    " created_at)"

static void add_reservation(struct al_store *s, const char *id, const char *org)
{
    json_t *doc = json_pack("{s:s}", "id", id);
    struct al_store_doc_meta m = {id, org, "scheduled", T0 + HOUR, T0 + 25 * HOUR};
    assert_int_equal(al_store_reservation_put(s, &m, doc, true, NULL), 0);
    json_decref(doc);
}

static struct al_transfer xfer(enum al_transfer_kind kind, enum al_acct_kind d, enum al_acct_kind c,
                               uint64_t org, int64_t amount, const char *key)
{
    struct al_transfer t = {
        .kind = kind,
        .debit = {d, al_ledger_acct_is_org(d) ? org : 0},
        .credit = {c, al_ledger_acct_is_org(c) ? org : 0},
        .amount = amount,
        .at = T0,
        .ref = {AL_REF_NONE, 0, -1},
    };
    snprintf(t.key, sizeof t.key, "%s", key);
    return t;
}

static int64_t balance(struct al_store *s, enum al_acct_kind k, uint64_t org)
{
    int64_t b = -1;
    struct al_account a = {k, al_ledger_acct_is_org(k) ? org : 0};
    assert_int_equal(al_store_balance_get(s, a, &b, NULL), 0);
    return b;
}

static size_t count_transfers(struct al_store *s)
{
    struct al_store_xfer_filter all = {0, -1, -1, 0, 0};
    struct al_transfer *t = NULL;
    size_t n = 0;
    assert_int_equal(al_store_transfer_load(s, &all, &t, &n, NULL), 0);
    free(t);
    return n;
}

static void test_append_replay_conflict(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_transfer t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, M(1000),
                                "topup:k1"),
                       got, again;
    struct al_err e = {0};
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), 0); /* untouched: 0 */
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0 + 1, &got, NULL, NULL), 0);
    assert_true(got.id > 0 && got.amount == M(1000) && got.at == T0);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), M(1000));
    assert_int_equal(balance(f->s, AL_ACCT_EXTERNAL, 0), -M(1000));
    /* the same transfer again, later: the first one answers, nothing is written */
    t.at = T0 + 99;
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0 + 99, &again, NULL, NULL),
                     AL_STORE_REPLAY);
    assert_true(again.id == got.id && again.at == T0);
    assert_int_equal(count_transfers(f->s), 1);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), M(1000));
    /* the key with another amount: a conflict, nothing written */
    t.amount = M(999);
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &again, NULL, &e), AL_E_CONFLICT);
    assert_non_null(strstr(e.msg, "topup:k1"));
    assert_int_equal(count_transfers(f->s), 1);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), M(1000));
    assert_int_equal(al_store_transfer_get(f->s, "topup:k1", &again, NULL), 0);
    assert_true(again.id == got.id && again.amount == M(1000) &&
                again.credit.kind == AL_ACCT_ORG_CASH && again.credit.org == org &&
                again.debit.org == 0 && again.ref.sub == -1);
    assert_int_equal(al_store_transfer_get(f->s, "topup:none", &again, NULL), AL_E_NOTFOUND);
    /* what core refuses, and an org without a number */
    t = xfer(AL_XFER_TOPUP, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, org, 1, "bad:pair");
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &again, NULL, NULL), AL_E_INVAL);
    t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, 0, "bad:amount");
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &again, NULL, NULL), AL_E_INVAL);
    t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, 99, 1, "topup:k2");
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &again, NULL, NULL), AL_E_NOTFOUND);
    t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, 1, "topup:k3");
    t.ref = (struct al_ref){AL_REF_OPERATOR, UINT64_MAX, 0};
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &again, NULL, NULL), AL_E_INVAL);
    assert_int_equal(count_transfers(f->s), 1);
}

static void test_credit_limit_floor(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_transfer t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, M(100),
                                "topup:a"),
                       got;
    struct al_refusal r;
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, NULL, NULL), 0);
    /* down to minus the credit limit, to the micro-unit */
    t = xfer(AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org, M(150), "pool:1:0");
    assert_int_equal(al_store_transfer_append(f->s, &t, M(50), T0, &got, &r, NULL), 0);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), -M(50));
    t = xfer(AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org, 1, "pool:1:1");
    assert_int_equal(al_store_transfer_append(f->s, &t, M(50), T0, &got, &r, NULL), AL_E_PAYMENT);
    assert_int_equal(r.code, AL_REFUSAL_BALANCE);
    assert_true(r.balance == -M(50) && r.credit_limit == M(50) && r.asked == 1);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), -M(50));
    assert_int_equal(count_transfers(f->s), 2);
    /* a retry of a written charge replays even though the funds would not cover it now */
    t = xfer(AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org, M(150), "pool:1:0");
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, &r, NULL), AL_STORE_REPLAY);
    /* the schema holds the same floor, whatever the code does */
    assert_int_not_equal(
        store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS
                             " VALUES('usage', 'org_cash', 'revenue', 1, 1, 0, 'pool', 1,"
                             " 2, 'raw:1', 50000000, 0)"),
        0);
    assert_int_equal(store_fixture_sql(f,
                                       "INSERT INTO transfers " XFER_COLS
                                       " VALUES('usage', 'org_cash', 'revenue', 1, 1, 0, 'pool', 1,"
                                       " 2, 'raw:2', 50000001, 0)"),
                     0);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), -M(50) - 1);
    /* and the rules of a transfer: a known pair, an amount > 0, a credit limit on cash only */
    assert_int_not_equal(
        store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS " VALUES('topup', 'revenue',"
                             " 'org_cash', 1, 1, 0, 'none', 0, 0, 'raw:3', NULL, 0)"),
        0);
    assert_int_not_equal(
        store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS " VALUES('topup', 'external',"
                             " 'org_cash', 1, 0, 0, 'none', 0, 0, 'raw:4', NULL, 0)"),
        0);
    assert_int_equal(store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS
                                          " VALUES('topup', 'external',"
                                          " 'org_cash', 1, 1, 0, 'none', 0, 0, 'raw:5', 0, 0)"),
                     AL_E_CONFLICT);
    assert_int_not_equal(
        store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS " VALUES('topup', 'external',"
                             " 'org_cash', 1, 1, 0, 'none', 0, 0, 'topup:a', NULL, 0)"),
        0);
}

static void test_append_only(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_transfer t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, M(7),
                                "topup:a"),
                       got;
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, NULL, NULL), 0);
    assert_int_equal(store_fixture_sql(f, "UPDATE transfers SET amount = 1"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "UPDATE transfers SET key = 'x'"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM transfers"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM balances"), AL_E_CONFLICT);
    assert_int_equal(count_transfers(f->s), 1);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_CASH, org), M(7));
}

static void test_list_and_load(void **state)
{
    struct store_fixture *f = *state;
    uint64_t a = store_add_org(f->s, "org_a"), b = store_add_org(f->s, "org_b");
    struct al_transfer t, got, *arr = NULL;
    json_t *list = NULL;
    char *next = NULL, key[32];
    size_t n = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "topup:a%d", i);
        t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, i == 4 ? b : a, M(10), key);
        t.at = T0 + i * HOUR;
        assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, NULL, NULL), 0);
    }
    t = xfer(AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, a, 3, "adj:1");
    t.ref = (struct al_ref){AL_REF_OPERATOR, 17, 0};
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0 + 50, &got, NULL, NULL), 0);
    /* org a, two a page */
    struct al_store_xfer_filter fa = {a, -1, -1, 0, 0};
    assert_int_equal(
        al_store_transfer_list(f->s, &fa, (struct al_store_page){NULL, 2}, &list, &next, NULL), 0);
    assert_int_equal(json_array_size(list), 2);
    json_t *x = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(x, "org")), "org_a");
    assert_string_equal(json_string_value(json_object_get(x, "debit")), "external");
    assert_int_equal(json_integer_value(json_object_get(x, "amount_micros")), M(10));
    assert_true(json_is_null(json_object_get(x, "reservation")));
    json_decref(list);
    assert_int_equal(
        al_store_transfer_list(f->s, &fa, (struct al_store_page){next, 10}, &list, NULL, NULL), 0);
    assert_int_equal(json_array_size(list), 3);
    x = json_array_get(list, 2);
    assert_string_equal(json_string_value(json_object_get(x, "kind")), "adjustment");
    assert_string_equal(json_string_value(json_object_get(json_object_get(x, "ref"), "kind")),
                        "operator");
    assert_int_equal(json_integer_value(json_object_get(x, "created_at")), T0 + 50);
    json_decref(list);
    free(next);
    /* by kind, account and time */
    struct al_store_xfer_filter fk = {0, AL_ACCT_REVENUE, -1, 0, 0};
    assert_int_equal(al_store_transfer_load(f->s, &fk, &arr, &n, NULL), 0);
    assert_true(n == 1 && arr[0].kind == AL_XFER_ADJUSTMENT && arr[0].ref.id == 17);
    free(arr);
    struct al_store_xfer_filter ft = {a, -1, AL_XFER_TOPUP, T0 + HOUR, T0 + 3 * HOUR};
    assert_int_equal(al_store_transfer_load(f->s, &ft, &arr, &n, NULL), 0);
    assert_true(n == 2 && arr[0].at == T0 + HOUR && arr[1].at == T0 + 2 * HOUR);
    free(arr);
    struct al_store_xfer_filter fb = {b, -1, -1, 0, 0};
    assert_int_equal(al_store_transfer_load(f->s, &fb, &arr, &n, NULL), 0);
    assert_true(n == 1 && arr[0].credit.org == b);
    free(arr);
    struct al_store_xfer_filter bad = {0, 9, -1, 0, 0};
    assert_int_equal(al_store_transfer_load(f->s, &bad, &arr, &n, NULL), AL_E_INVAL);
    assert_true(arr == NULL && n == 0);
}

/* ---- docs/billing.md's worked example 3 through the store ---- */

struct worked {
    uint64_t org;
    struct al_contract c;
    struct al_res_billing r;
    struct al_store_pool p;
};

/* Contract (invoiced, per second, hourly draws), reservation 12's billing (two 3g.40gb for
 * 2 h 30 min 10 s from T0), pool session of one GPU at 2.50 an hour from T0. */
static void worked_setup(struct al_store *s, struct worked *w)
{
    memset(w, 0, sizeof *w);
    w->org = store_add_org(s, "org_w");
    w->c = (struct al_contract){
        .org = w->org,
        .terms = AL_TERMS_INVOICED,
        .valid_from = T0 - HOUR,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_SECOND, 0},
        .draw_period_s = HOUR,
        .nrates = 1,
        .rates = {{"H100-80GB", {M(40), 5123457, 2500000}}},
        .limits = {AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE},
    };
    assert_int_equal(al_store_contract_create(s, &w->c, T0 - HOUR, "usr_op", NULL), 0);
    add_reservation(s, "rsv_12", "org_w");
    w->r = (struct al_res_billing){
        .org = w->org,
        .contract_id = w->c.id,
        .contract_version = 1,
        .start = T0,
        .end = T0 + 9010,
        .share = 23760,
        .nlines = 1,
        .lines = {{"H100-80GB 3g.40gb compute-slice-hour", AL_PRICE_SLICE_HOUR, 6, 5123457}},
    };
    assert_int_equal(al_store_billing_insert(s, "rsv_12", &w->r, NULL), 0);
    w->p = (struct al_store_pool){
        {0, w->org, T0, 0, AL_SHARE_PER_GPU, 2500000}, "", "gpu_p-0", w->c.id, 1, 0};
    assert_int_equal(al_store_pool_start(s, &w->p, NULL), 0);
}

/* Append every transfer of decision d. */
static void record(struct al_store *s, const struct al_decision *d)
{
    struct al_transfer got;
    for (unsigned i = 0; i < d->n; i++)
        assert_int_equal(al_store_transfer_append(s, &d->t[i], 0, d->t[i].at, &got, NULL, NULL), 0);
}

/* The server's draw pass and metering, as a caller of core and the store does them. */
static void worked_charges(struct al_store *s, struct worked *w)
{
    struct al_org_usage o = {0};
    struct al_decision d;
    for (int64_t k = 0; k < 3; k++) {
        assert_int_equal(al_billing_draw(&w->c, &w->r, k, &o, &d, NULL), 0);
        record(s, &d);
        w->r.drawn = k + 1;
        assert_int_equal(al_store_billing_update(s, &w->r, NULL), 0);
    }
    assert_int_equal(al_billing_pool_meter(&w->c, &w->p.sess, T0 + 1000, &o, &d, NULL), 0);
    record(s, &d);
    assert_int_equal(al_store_pool_charged(s, w->p.sess.id, T0 + 1000, NULL), 0);
    assert_int_equal(al_store_pool_stop(s, w->p.sess.id, T0 + 1000, NULL), 0);
}

/* Verify the store's books at `now`: the number of mismatches (the first one's rule into
 * *rule when there is one). */
static size_t verify(struct al_store *s, int64_t now, enum al_verify_rule *rule)
{
    struct al_store_ledger l;
    struct al_mismatch m[8];
    size_t n = 0;
    assert_int_equal(al_store_ledger_load(s, now, &l, NULL), 0);
    assert_int_equal(al_ledger_verify(&l.view, m, 8, &n, NULL), 0);
    for (size_t i = 0; i < n && i < 8; i++)
        print_message("mismatch %s: %s\n", al_ledger_rule_name(m[i].rule), m[i].what);
    if (n && rule)
        *rule = m[0].rule;
    al_store_ledger_free(&l);
    return n;
}

static void test_worked_invoice(void **state)
{
    struct store_fixture *f = *state;
    struct worked w;
    struct al_invoice inv, got;
    struct al_store_invoice_info info;
    struct al_transfer *t = NULL, out[2], paid, x;
    size_t n = 0, ni = 0;
    worked_setup(f->s, &w);
    worked_charges(f->s, &w);
    struct al_store_xfer_filter month = {w.org, AL_ACCT_ORG_ACCRUED, -1, T0, FEB1};
    assert_int_equal(al_store_transfer_load(f->s, &month, &t, &n, NULL), 0);
    assert_int_equal(n, 4);
    struct al_invoice_spec spec = {0, {AL_ACCT_ORG_ACCRUED, w.org}, T0, FEB1, AL_MONEY_CENT};
    assert_int_equal(al_invoice_build(&spec, t, n, &inv, NULL), 0);
    free(t);
    assert_int_equal(al_store_invoice_create(f->s, &inv, FEB1 + 5, NULL), 0);
    assert_true(inv.spec.id > 0 && inv.total == 77630000 && inv.rounding == -1689);
    assert_int_equal(al_store_invoice_get(f->s, inv.spec.id, &got, &info, NULL), 0);
    assert_true(got.nlines == 2 && got.exact == 77631689 && got.total == 77630000 && !got.issued);
    assert_true(got.lines[0].kind == AL_LINE_DRAW && got.lines[0].ref.id == w.r.id &&
                got.lines[0].ntransfers == 3 && got.lines[0].amount == 76940000);
    assert_true(got.lines[1].kind == AL_LINE_POOL && got.lines[1].ref.id == w.p.sess.id &&
                got.lines[1].exact == 694444);
    assert_true(info.created_at == FEB1 + 5 && info.issued_at == 0 && info.paid_at == 0);
    al_invoice_done(&got);
    /* one per org, payer and month */
    assert_int_equal(al_store_invoice_create(f->s, &inv, FEB1 + 6, NULL), AL_E_CONFLICT);
    /* issue: the rounding and the issue transfers, and the mark, in one transaction */
    assert_int_equal(al_store_invoice_paid(f->s, inv.spec.id, FEB1 + 9, NULL), AL_E_STATE);
    assert_int_equal(al_invoice_issue(&inv, FEB1 + 10, out, &ni, NULL), 0);
    assert_int_equal(al_store_begin(f->s, NULL), 0);
    for (size_t i = 0; i < ni; i++)
        assert_int_equal(al_store_transfer_append(f->s, &out[i], 0, FEB1 + 10, &x, NULL, NULL), 0);
    assert_int_equal(al_store_invoice_issued(f->s, inv.spec.id, FEB1 + 10, NULL), 0);
    assert_int_equal(al_store_commit(f->s, NULL), 0);
    assert_int_equal(al_store_invoice_issued(f->s, inv.spec.id, FEB1 + 11, NULL), AL_E_STATE);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_ACCRUED, w.org), 0);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_RECEIVABLE, w.org), -77630000);
    /* the ledger verifies, issued invoice included */
    assert_int_equal(verify(f->s, T0 + 9010, NULL), 0);
    inv.issued = true;
    assert_int_equal(al_invoice_pay(&inv, FEB1 + 99, &paid, NULL), 0);
    assert_int_equal(al_store_transfer_append(f->s, &paid, 0, FEB1 + 99, &x, NULL, NULL), 0);
    assert_int_equal(al_store_invoice_paid(f->s, inv.spec.id, FEB1 + 99, NULL), 0);
    assert_int_equal(al_store_invoice_paid(f->s, inv.spec.id, FEB1 + 99, NULL), AL_E_STATE);
    assert_int_equal(al_store_invoice_get(f->s, inv.spec.id, &got, &info, NULL), 0);
    assert_true(got.issued && info.issued_at == FEB1 + 10 && info.paid_at == FEB1 + 99);
    al_invoice_done(&got);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_RECEIVABLE, w.org), 0);
    assert_int_equal(balance(f->s, AL_ACCT_REVENUE, 0), 77630000);
    assert_int_equal(verify(f->s, T0 + 9010, NULL), 0);
    al_invoice_done(&inv);
    assert_int_equal(al_store_invoice_issued(f->s, 999, FEB1, NULL), AL_E_NOTFOUND);
    /* frozen once written */
    assert_int_equal(store_fixture_sql(f, "UPDATE invoices SET total = 0"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "UPDATE invoices SET issued_at = NULL"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "UPDATE invoice_lines SET amount = 0"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "INSERT INTO invoice_lines VALUES(1, 9, 'adjustment',"
                                          " 'operator', 0, 0, 1, 1, 1)"),
                     AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM invoices"), AL_E_CONFLICT);
}

static void test_statements_and_lists(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_transfer t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, M(10),
                                "topup:a"),
                       got;
    struct al_invoice inv, bad;
    json_t *list = NULL;
    char *next = NULL;
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, NULL, NULL), 0);
    t = xfer(AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org, 1234567, "pool:3:0");
    t.ref = (struct al_ref){AL_REF_POOL, 3, 0};
    assert_int_equal(al_store_transfer_append(f->s, &t, 0, T0, &got, NULL, NULL), 0);
    struct al_invoice_spec spec = {0, {AL_ACCT_ORG_CASH, org}, T0, FEB1, AL_MONEY_CENT};
    assert_int_equal(al_invoice_build(&spec, &got, 1, &inv, NULL), 0);
    /* an invoice whose arithmetic is wrong is refused */
    bad = inv;
    bad.total += AL_MONEY_CENT;
    bad.rounding += AL_MONEY_CENT;
    assert_int_equal(al_store_invoice_create(f->s, &bad, FEB1, NULL), AL_E_INVAL);
    bad.spec.payer.kind = AL_ACCT_REVENUE;
    assert_int_equal(al_store_invoice_create(f->s, &bad, FEB1, NULL), AL_E_INVAL);
    /* a statement: issued once, never paid */
    assert_int_equal(al_store_invoice_create(f->s, &inv, FEB1, NULL), 0);
    assert_int_equal(al_store_invoice_issued(f->s, inv.spec.id, FEB1, NULL), 0);
    assert_int_equal(al_store_invoice_paid(f->s, inv.spec.id, FEB1, NULL), AL_E_STATE);
    spec.from = FEB1;
    spec.to = FEB1 + 28 * 24 * HOUR;
    al_invoice_done(&inv);
    assert_int_equal(al_invoice_build(&spec, &got, 0, &inv, NULL), 0);
    assert_int_equal(al_store_invoice_create(f->s, &inv, FEB1, NULL), 0);
    al_invoice_done(&inv);
    assert_int_equal(
        al_store_invoice_list(f->s, org, (struct al_store_page){NULL, 1}, &list, &next, NULL), 0);
    json_t *x = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(x, "payer")), "org_cash");
    assert_int_equal(json_integer_value(json_object_get(x, "exact_micros")), 1234567);
    assert_int_equal(json_integer_value(json_object_get(x, "total_micros")), 1230000);
    assert_int_equal(json_integer_value(json_object_get(x, "lines")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "issued_at")), FEB1);
    assert_true(json_is_null(json_object_get(x, "paid_at")));
    json_decref(list);
    assert_int_equal(
        al_store_invoice_list(f->s, 0, (struct al_store_page){next, 5}, &list, NULL, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "lines")), 0);
    json_decref(list);
    free(next);
}

/* One transfer of org `org` at `at` about `ref`, appended (its key made unique by `key`). */
static void put(struct al_store *s, enum al_transfer_kind kind, enum al_acct_kind d,
                enum al_acct_kind c, uint64_t org, int64_t amount, int64_t at, struct al_ref ref,
                const char *key)
{
    struct al_transfer t = xfer(kind, d, c, org, amount, key), got;
    t.at = at;
    t.ref = ref;
    assert_int_equal(al_store_transfer_append(s, &t, M(1000), at, &got, NULL, NULL), 0);
}

/* The invoice rules' mismatches of the store's books at `now`. */
static size_t invoice_mismatches(struct al_store *s, int64_t now)
{
    struct al_store_ledger l;
    struct al_mismatch m[32];
    size_t n = 0, bad = 0;
    assert_int_equal(al_store_ledger_load(s, now, &l, NULL), 0);
    assert_int_equal(al_ledger_verify(&l.view, m, 32, &n, NULL), 0);
    for (size_t i = 0; i < n && i < 32; i++)
        bad += m[i].rule == AL_VERIFY_INVOICE_TOTAL || m[i].rule == AL_VERIFY_INVOICE_LINES ||
               m[i].rule == AL_VERIFY_INVOICE_XFER;
    al_store_ledger_free(&l);
    return bad;
}

/* An invoiced org's month with a transfer of every kind that goes on an invoice (prepaid
 * charges, draws, pool usage, refunds, adjustments both ways) and some that do not (a top-up,
 * org_cash usage, the month before and after, a previous invoice's own transfer): the invoice
 * the store's transfers build has one line per kind and reference, its exact sum is the month's
 * movement of org_accrued to the micro-unit, its total the sum of the rounded lines, and issuing
 * it brings the month's movement back to zero (what routes_invoices.c does over HTTP). */
static void test_invoice_every_kind(void **state)
{
    struct store_fixture *f = *state;
    const enum al_acct_kind ACC = AL_ACCT_ORG_ACCRUED, REV = AL_ACCT_REVENUE;
    const struct al_ref res = {AL_REF_RESERVATION, 7, -1}, op1 = {AL_REF_OPERATOR, 1, -1};
    uint64_t org = store_add_org(f->s, "org_e");
    struct al_transfer *t = NULL, out[2], x;
    struct al_invoice inv;
    size_t n = 0, ni = 0;
    int64_t exact = 0;
    uint32_t ntransfers = 0;
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, 100004999, T0 + 1, res, "c1");
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, 10000001, T0 + 2, res, "c2");
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, 3333333, T0 + 3,
        (struct al_ref){AL_REF_RESERVATION, 7, 0}, "d0");
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, 3333333, T0 + 4,
        (struct al_ref){AL_REF_RESERVATION, 7, 1}, "d1");
    put(f->s, AL_XFER_USAGE, ACC, REV, org, 694444, T0 + 5, (struct al_ref){AL_REF_POOL, 4, 0},
        "u0");
    put(f->s, AL_XFER_REFUND, AL_ACCT_REFUNDS, ACC, org, 20125000, T0 + 6, res, "r0");
    put(f->s, AL_XFER_ADJUSTMENT, ACC, REV, org, 1015000, T0 + 7, op1, "a1");
    put(f->s, AL_XFER_ADJUSTMENT, REV, ACC, org, 500000, T0 + 8,
        (struct al_ref){AL_REF_OPERATOR, 2, -1}, "a2");
    /* not on it */
    put(f->s, AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org, M(50), T0 + 9,
        (struct al_ref){AL_REF_NONE, 0, -1}, "t0");
    put(f->s, AL_XFER_USAGE, AL_ACCT_ORG_CASH, REV, org, 1234567, T0 + 10,
        (struct al_ref){AL_REF_POOL, 5, 0}, "u1");
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, M(3), T0 - 1, res, "before");
    put(f->s, AL_XFER_RESERVATION_CHARGE, ACC, REV, org, M(4), FEB1, res, "after");
    put(f->s, AL_XFER_ADJUSTMENT, ACC, REV, org, 3000, T0 + 11,
        (struct al_ref){AL_REF_INVOICE, 99, -1}, "inv:99:rounding");
    /* what the month moved on org_accrued, summed here from the store's own load */
    struct al_store_xfer_filter month = {org, ACC, -1, T0, FEB1};
    assert_int_equal(al_store_transfer_load(f->s, &month, &t, &n, NULL), 0);
    assert_int_equal(n, 9);
    for (size_t i = 0; i < n; i++)
        if (t[i].ref.kind != AL_REF_INVOICE)
            exact += t[i].debit.kind == ACC ? t[i].amount : -t[i].amount;
    struct al_invoice_spec spec = {0, {ACC, org}, T0, FEB1, AL_MONEY_CENT};
    assert_int_equal(al_invoice_build(&spec, t, n, &inv, NULL), 0);
    free(t);
    assert_int_equal(inv.nlines, 6);
    for (size_t i = 0; i < inv.nlines; i++)
        ntransfers += inv.lines[i].ntransfers;
    assert_int_equal(ntransfers, 8);
    /* 110.005 → 110.00, 6.666666 → 6.67, 0.694444 → 0.69, -20.125 → -20.12, 1.015 → 1.02,
     * -0.50: the lines sum to 97.76, the ledger to 97.756110 */
    assert_int_equal(inv.lines[0].kind, AL_LINE_RESERVATION);
    assert_int_equal(inv.lines[0].amount, 110000000);
    assert_int_equal(inv.lines[1].amount, 6670000);
    assert_int_equal(inv.lines[3].amount, -20120000);
    assert_int_equal(inv.exact, exact);
    assert_int_equal(inv.exact, 97756110);
    assert_int_equal(inv.total, 97760000);
    assert_int_equal(inv.rounding, inv.total - inv.exact);
    assert_int_equal(al_store_invoice_create(f->s, &inv, FEB1 + 1, NULL), 0);
    /* issuing nets the month's movement of org_accrued to zero, to the micro-unit */
    int64_t accrued = balance(f->s, ACC, org), revenue = balance(f->s, REV, 0);
    assert_int_equal(al_invoice_issue(&inv, FEB1 + 2, out, &ni, NULL), 0);
    assert_int_equal(ni, 2);
    for (size_t i = 0; i < ni; i++)
        assert_int_equal(al_store_transfer_append(f->s, &out[i], 0, FEB1 + 2, &x, NULL, NULL), 0);
    assert_int_equal(al_store_invoice_issued(f->s, inv.spec.id, FEB1 + 2, NULL), 0);
    assert_int_equal(balance(f->s, ACC, org), accrued + exact);
    assert_int_equal(balance(f->s, AL_ACCT_ORG_RECEIVABLE, org), -inv.total);
    assert_int_equal(balance(f->s, REV, 0), revenue + inv.rounding);
    assert_int_equal(invoice_mismatches(f->s, FEB1 + 3), 0);
    /* a replay of the issue writes nothing */
    for (size_t i = 0; i < ni; i++)
        assert_int_equal(al_store_transfer_append(f->s, &out[i], 0, FEB1 + 4, &x, NULL, NULL),
                         AL_STORE_REPLAY);
    assert_int_equal(balance(f->s, ACC, org), accrued + exact);
    al_invoice_done(&inv);
    /* the org_cash statement of the same month: the cash usage only, nothing to write */
    struct al_store_xfer_filter cash = {org, AL_ACCT_ORG_CASH, -1, T0, FEB1};
    assert_int_equal(al_store_transfer_load(f->s, &cash, &t, &n, NULL), 0);
    spec.payer.kind = AL_ACCT_ORG_CASH;
    assert_int_equal(al_invoice_build(&spec, t, n, &inv, NULL), 0);
    free(t);
    assert_true(inv.nlines == 1 && inv.exact == 1234567 && inv.total == 1230000);
    assert_int_equal(al_invoice_issue(&inv, FEB1 + 5, out, &ni, NULL), 0);
    assert_int_equal(ni, 0);
    al_invoice_done(&inv);
}

/* ---- property: random money through the store keeps the books right ---- */

struct prop {
    struct al_store *s;
    uint64_t rng;
    uint64_t org[3];
    struct al_contract c[3];
    int nres;
    int64_t now;
    struct al_transfer past[64]; /* transfers written, for retries (a ring) */
    unsigned npast;
    int refused, cancelled, replayed; /* how often each path ran */
};

static uint64_t rnd(struct prop *p, uint64_t n)
{
    p->rng ^= p->rng << 13;
    p->rng ^= p->rng >> 7;
    p->rng ^= p->rng << 17;
    return p->rng % n;
}

/* Append t (cash debits under the org's contract's credit limit); a refusal must leave the
 * books as they were. */
static void prop_append(struct prop *p, const struct al_transfer *t, int64_t limit)
{
    struct al_transfer got;
    struct al_refusal r;
    int rc = al_store_transfer_append(p->s, t, limit, p->now, &got, &r, NULL);
    assert_true(rc == 0 || rc == AL_E_PAYMENT);
    if (rc == AL_E_PAYMENT) {
        assert_true(r.code == AL_REFUSAL_BALANCE && r.balance - t->amount < -limit);
        p->refused++;
    } else
        p->past[p->npast++ % 64] = got;
}

/* A retry of a written transfer answers the first and changes nothing; the same key with
 * another amount is a conflict. */
static void prop_retry(struct prop *p)
{
    if (p->npast == 0)
        return;
    struct al_transfer t = p->past[rnd(p, p->npast < 64 ? p->npast : 64)], got;
    struct al_account acct = al_ledger_acct_is_org(t.debit.kind) ? t.debit : t.credit;
    int64_t before = balance(p->s, acct.kind, acct.org);
    size_t n = count_transfers(p->s);
    t.at += 5; /* a retry comes later */
    assert_int_equal(al_store_transfer_append(p->s, &t, 0, p->now, &got, NULL, NULL),
                     AL_STORE_REPLAY);
    assert_true(got.id == t.id && got.amount == t.amount && got.at == t.at - 5);
    t.amount++;
    assert_int_equal(al_store_transfer_append(p->s, &t, 0, p->now, &got, NULL, NULL),
                     AL_E_CONFLICT);
    assert_true(balance(p->s, acct.kind, acct.org) == before && count_transfers(p->s) == n);
    p->replayed++;
}

/* A prepaid reservation of 1..4 GPUs for 1..12 h confirmed (core's decision) and, one time in
 * three, cancelled before it starts. */
static void prop_reservation(struct prop *p, int o)
{
    struct al_res_billing r = {0};
    struct al_org_usage u = {0};
    struct al_decision d;
    char id[32], org_id[16];
    snprintf(id, sizeof id, "rsv_p%d", p->nres++);
    snprintf(org_id, sizeof org_id, "org_%d", o);
    add_reservation(p->s, id, org_id);
    r = (struct al_res_billing){
        .org = p->org[o],
        .contract_id = p->c[o].id,
        .contract_version = 1,
        .start = p->now + 10 * HOUR,
        .end = p->now + 10 * HOUR + (int64_t)(1 + rnd(p, 12)) * HOUR,
        .share = AL_SHARE_PER_GPU,
        .nlines = 1,
        .lines = {{"GPU-hour", AL_PRICE_GPU_HOUR, 1 + (int64_t)rnd(p, 4), M(40)}}};
    assert_int_equal(al_store_billing_insert(p->s, id, &r, NULL), 0);
    u.cash = balance(p->s, AL_ACCT_ORG_CASH, p->org[o]);
    if (al_billing_confirm(&p->c[o], &r, &u, AL_CHECK_CONFIRM, p->now, &d, NULL) != 0) {
        /* refused: the server would not keep it; here it stays, charged nothing, cancelled */
        p->refused++;
        r.end = r.start;
        r.cancelled = true;
        r.rev = 1;
        assert_int_equal(al_store_billing_update(p->s, &r, NULL), 0);
        return;
    }
    for (unsigned i = 0; i < d.n; i++)
        prop_append(p, &d.t[i], p->c[o].limits.credit_limit);
    if (rnd(p, 3) == 0) {
        struct al_cancel q = {AL_BY_OPERATOR, p->now, p->now};
        assert_int_equal(al_billing_cancel(&p->c[o], &r, &q, &d, NULL), 0);
        for (unsigned i = 0; i < d.n; i++)
            prop_append(p, &d.t[i], p->c[o].limits.credit_limit);
        r.end = d.end;
        r.rev++;
        r.fees += d.fee;
        r.cancelled = true;
        assert_int_equal(al_store_billing_update(p->s, &r, NULL), 0);
        p->cancelled++;
    }
}

static void prop_step(struct prop *p, int i)
{
    int o = (int)rnd(p, 3);
    uint64_t org = p->org[o];
    int64_t limit = p->c[o].limits.credit_limit;
    char key[64];
    struct al_transfer t;
    p->now += (int64_t)rnd(p, 600);
    switch (rnd(p, 7)) {
    case 0: /* a top-up */
        snprintf(key, sizeof key, "topup:%d", i);
        t = xfer(AL_XFER_TOPUP, AL_ACCT_EXTERNAL, AL_ACCT_ORG_CASH, org,
                 (int64_t)(1 + rnd(p, 3000)) * AL_MONEY_UNIT, key);
        prop_append(p, &t, limit);
        break;
    case 1: /* pool usage from cash, which may hit the floor */
        snprintf(key, sizeof key, "pool:%d:%" PRId64, o + 1, p->now);
        t = xfer(AL_XFER_USAGE, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org, 1 + (int64_t)rnd(p, M(200)),
                 key);
        t.ref = (struct al_ref){AL_REF_POOL, (uint64_t)o + 1, p->now};
        prop_append(p, &t, limit);
        break;
    case 2: /* an operator's adjustment, either way */
        snprintf(key, sizeof key, "adj:%d", i);
        t = rnd(p, 2) ? xfer(AL_XFER_ADJUSTMENT, AL_ACCT_REVENUE, AL_ACCT_ORG_CASH, org,
                             1 + (int64_t)rnd(p, 999999), key)
                      : xfer(AL_XFER_ADJUSTMENT, AL_ACCT_ORG_CASH, AL_ACCT_REVENUE, org,
                             1 + (int64_t)rnd(p, 999999), key);
        t.ref = (struct al_ref){AL_REF_OPERATOR, (uint64_t)i, 0};
        prop_append(p, &t, limit);
        break;
    case 3:
        prop_retry(p);
        break;
    default:
        prop_reservation(p, o);
    }
}

/* Each cached balance equals the sum of its transfers, recomputed here. */
static void assert_balances_are_sums(struct al_store *s)
{
    struct al_store_ledger l;
    assert_int_equal(al_store_ledger_load(s, 0, &l, NULL), 0);
    assert_true(l.view.naccounts > 0 && l.view.ntransfers > 0);
    for (size_t a = 0; a < l.view.naccounts; a++) {
        const struct al_account *acct = &l.accounts[a].acct;
        int64_t sum = 0;
        for (size_t i = 0; i < l.view.ntransfers; i++) {
            const struct al_transfer *t = &l.transfers[i];
            if (t->debit.kind == acct->kind && t->debit.org == acct->org)
                sum -= t->amount;
            if (t->credit.kind == acct->kind && t->credit.org == acct->org)
                sum += t->amount;
        }
        assert_true(sum == l.accounts[a].balance);
        if (acct->kind == AL_ACCT_ORG_CASH) /* never below the floor (all limits are 500.00) */
            assert_true(l.accounts[a].balance >= -M(500));
    }
    al_store_ledger_free(&l);
}

static void test_property_random_books(void **state)
{
    struct store_fixture *f = *state;
    enum al_verify_rule rule = AL_VERIFY_TRANSFER;
    struct prop p = {.s = f->s, .rng = 0x9e3779b97f4a7c15u, .now = T0};
    for (int o = 0; o < 3; o++) {
        char id[16];
        snprintf(id, sizeof id, "org_%d", o);
        p.org[o] = store_add_org(f->s, id);
        p.c[o] = (struct al_contract){
            .org = p.org[o],
            .terms = AL_TERMS_PREPAID,
            .valid_from = T0,
            .valid_to = T0 + 365 * 24 * HOUR,
            .gran = {AL_GRAN_HOUR, 1 + (int64_t)o},
            .draw_period_s = HOUR,
            .cancel_fee = M(5) * o,
            .cancel_fee_bps = 500 * o,
            .limits = {M(500), AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE},
        };
        assert_int_equal(al_store_contract_create(f->s, &p.c[o], T0, NULL, NULL), 0);
    }
    for (int i = 0; i < 400; i++)
        prop_step(&p, i);
    assert_true(p.refused > 5 && p.cancelled > 5 && p.replayed > 5 && p.nres > 50);
    assert_int_equal(verify(f->s, p.now, NULL), 0);
    assert_balances_are_sums(f->s);
    /* the test can fail: a charge the terms do not imply, then a cached balance moved by hand */
    assert_int_equal(store_fixture_sql(f, "INSERT INTO transfers " XFER_COLS
                                          " VALUES('reservation_charge',"
                                          " 'org_cash', 'revenue', 1, 1, 0, 'reservation', 1, -1,"
                                          " 'raw:extra', 1000000000, 0)"),
                     0);
    assert_int_equal(verify(f->s, p.now, &rule), 1);
    assert_int_equal(rule, AL_VERIFY_RESERVATION);
    assert_int_equal(store_fixture_sql(f, "UPDATE balances SET balance = balance + 1"
                                          " WHERE account = 'revenue'"),
                     0);
    assert_true(verify(f->s, p.now, &rule) >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_replay_conflict, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_credit_limit_floor, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_append_only, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_list_and_load, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_worked_invoice, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_statements_and_lists, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_invoice_every_kind, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_property_random_books, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
