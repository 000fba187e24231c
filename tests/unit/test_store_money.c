/* test_store_money.c — unit tests of the store's money records other than the ledger (which
 * test_store_ledger.c covers): ledger numbers of orgs, price versions and the price list over
 * them (the version in force at a time), contracts with versions, amendments and their end,
 * reservation billing states (frozen fields, counters that never go back) and what the limits
 * read of them (the spans an org holds over a window, its reservations ahead), pool sessions
 * (start, metering, stop), the schema's refusal to change what was agreed, the migration
 * that turns a schema-3 price list into version 1 of each model, migration 5's draws due
 * with the clock's marks, and the lists paged by a row number refusing a cursor that is not
 * one. On SQLite or PostgreSQL (store_fixture.h); the migrations from SQLite's old schemas are
 * SQLite's only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"
#include "store/store_webhook.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)

/* The worked example's contract (docs/billing.md) for org `org`. */
static struct al_contract contract(uint64_t org, enum al_terms terms)
{
    struct al_contract c = {
        .org = org,
        .terms = terms,
        .valid_from = T0,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_HOUR, 1},
        .draw_period_s = HOUR,
        .nrates = 2,
        .rates = {{"H100-80GB", {M(40), 5123457, 2500000}}, {"A100-80GB", {M(20), 1, 0}}},
        .cancel_fee = M(50),
        .cancel_fee_bps = 1000,
        .admin_may_cancel_active = true,
        .self_service = true,
        .limits = {M(100), 8 * AL_SHARE_PER_GPU, 96 * HOUR, 5, AL_LIMIT_NONE},
    };
    return c;
}

static void test_org_numbers(void **state)
{
    struct store_fixture *f = *state;
    char id[AL_STORE_ID_MAX];
    uint64_t a = store_add_org(f->s, "org_a"), b = store_add_org(f->s, "org_b"), n = 0;
    struct al_err e = {0};
    assert_true(a != b);
    assert_int_equal(al_store_org_id(f->s, b, id, NULL), 0);
    assert_string_equal(id, "org_b");
    assert_int_equal(al_store_org_num(f->s, "org_none", &n, &e), AL_E_NOTFOUND);
    assert_int_equal(al_store_org_id(f->s, 999, id, NULL), AL_E_NOTFOUND);
    /* a number is fixed for good: the schema's trigger refuses any change (PostgreSQL's
     * identity column refuses a new number even before it) */
    assert_int_not_equal(store_fixture_sql(f, "UPDATE ledger_orgs SET num = 77"), 0);
    assert_int_equal(store_fixture_sql(f, "UPDATE ledger_orgs SET org_id = org_id"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM ledger_orgs"), AL_E_CONFLICT);
}

static void test_price_versions(void **state)
{
    struct store_fixture *f = *state;
    struct al_store_price p = {"H100-80GB", M(40), 5000000, 2000000, T0};
    struct al_store_price got;
    struct al_store_price_version pv = {"H100-80GB",   0,      T0 + 10 * HOUR,
                                        {M(72), 1, 2}, T0 + 5, "usr_op"},
                                  at;
    json_t *list = NULL;
    char *next = NULL;
    assert_int_equal(al_store_price_get(f->s, "H100-80GB", &got, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_price_put(f->s, &p, NULL), 0); /* version 1, from T0 */
    assert_int_equal(al_store_price_version_add(f->s, &pv, NULL), 0);
    assert_int_equal(pv.version, 2);
    /* in force: nothing before T0, version 1 until version 2's valid_from, then version 2 */
    assert_int_equal(al_store_price_at(f->s, "H100-80GB", T0 - 1, &at, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_price_at(f->s, "H100-80GB", T0 + 10 * HOUR - 1, &at, NULL), 0);
    assert_true(at.version == 1 && at.rates.gpu_hour == M(40) && at.created_by[0] == '\0');
    assert_int_equal(al_store_price_at(f->s, "H100-80GB", T0 + 10 * HOUR, &at, NULL), 0);
    assert_true(at.version == 2 && at.rates.gpu_hour == M(72) && at.valid_from == T0 + 10 * HOUR);
    assert_string_equal(at.created_by, "usr_op");
    /* a later version supersedes the earlier ones from its own valid_from on */
    pv.valid_from = T0 + HOUR;
    pv.rates.gpu_hour = M(50);
    assert_int_equal(al_store_price_version_add(f->s, &pv, NULL), 0);
    assert_int_equal(al_store_price_at(f->s, "H100-80GB", T0 + 20 * HOUR, &at, NULL), 0);
    assert_true(at.version == 3 && at.rates.gpu_hour == M(50));
    assert_int_equal(al_store_price_version_get(f->s, "H100-80GB", 2, &at, NULL), 0);
    assert_true(at.rates.gpu_hour == M(72));
    assert_int_equal(al_store_price_version_get(f->s, "H100-80GB", 4, &at, NULL), AL_E_NOTFOUND);
    /* the list and get answer the newest version */
    assert_int_equal(al_store_price_get(f->s, "H100-80GB", &got, NULL), 0);
    assert_true(got.gpu_hour == M(50) && got.updated_at == T0 + 5);
    assert_int_equal(al_store_price_list(f->s, &list, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(list, 0), "gpu_hour_micros")), M(50));
    json_decref(list);
    /* history, two a page */
    assert_int_equal(al_store_price_history(f->s, "H100-80GB", (struct al_store_page){NULL, 2},
                                            &list, &next, NULL),
                     0);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(next, "2");
    json_decref(list);
    assert_int_equal(al_store_price_history(f->s, "H100-80GB", (struct al_store_page){next, 2},
                                            &list, NULL, NULL),
                     0);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "version")), 3);
    json_decref(list);
    free(next);
    pv.rates.pool_gpu_hour = -1;
    assert_int_equal(al_store_price_version_add(f->s, &pv, NULL), AL_E_INVAL);
    assert_int_equal(store_fixture_sql(f, "UPDATE price_versions SET gpu_hour = 1"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM price_versions"), AL_E_CONFLICT);
}

/* Every field of two contracts, rates included. */
static void assert_contract_eq(const struct al_contract *a, const struct al_contract *b)
{
    assert_true(a->id == b->id && a->version == b->version && a->org == b->org);
    assert_true(a->terms == b->terms && a->valid_from == b->valid_from &&
                a->valid_to == b->valid_to);
    assert_true(a->gran.unit == b->gran.unit && a->gran.min_hours == b->gran.min_hours);
    assert_true(a->draw_period_s == b->draw_period_s && a->discount_bps == b->discount_bps);
    assert_true(a->cancel_fee == b->cancel_fee && a->cancel_fee_bps == b->cancel_fee_bps);
    assert_true(a->admin_may_cancel_active == b->admin_may_cancel_active &&
                a->self_service == b->self_service && a->payg_after_window == b->payg_after_window);
    assert_memory_equal(&a->limits, &b->limits, sizeof a->limits);
    assert_int_equal(a->nrates, b->nrates);
    for (unsigned i = 0; i < a->nrates; i++) {
        assert_string_equal(a->rates[i].model, b->rates[i].model);
        assert_memory_equal(&a->rates[i].rates, &b->rates[i].rates, sizeof a->rates[i].rates);
    }
}

static void test_contracts(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_contract c = contract(org, AL_TERMS_PREPAID), got, v2;
    struct al_store_contract_info info;
    struct al_err e = {0};
    assert_int_equal(al_store_contract_create(f->s, &c, T0 - 10, "usr_op", NULL), 0);
    assert_true(c.id > 0 && c.version == 1);
    assert_int_equal(al_store_contract_get(f->s, c.id, 0, &got, &info, NULL), 0);
    assert_contract_eq(&got, &c);
    assert_true(info.created_at == T0 - 10 && info.newest == 1 && info.ended_at == 0);
    assert_string_equal(info.created_by, "usr_op");
    /* amend: version 2 with other terms; version 1 stays as it was */
    v2 = c;
    v2.terms = AL_TERMS_INVOICED;
    v2.limits.credit_limit = AL_LIMIT_NONE;
    v2.gran = (struct al_granularity){AL_GRAN_SECOND, 0};
    v2.nrates = 1;
    v2.discount_bps = 1000;
    if (al_store_contract_amend(f->s, &v2, T0 + 5, NULL, &e))
        fail_msg("amend: %s", e.msg);
    assert_int_equal(v2.version, 2);
    assert_int_equal(al_store_contract_get(f->s, c.id, 1, &got, &info, NULL), 0);
    assert_contract_eq(&got, &c);
    assert_int_equal(info.newest, 2);
    assert_int_equal(al_store_contract_get(f->s, c.id, 0, &got, &info, NULL), 0);
    assert_contract_eq(&got, &v2);
    assert_true(info.created_at == T0 + 5 && info.created_by[0] == '\0');
    assert_int_equal(al_store_contract_get(f->s, c.id, 3, &got, NULL, NULL), AL_E_NOTFOUND);
    /* what core refuses is not written */
    v2.org = store_add_org(f->s, "org_b");
    assert_int_equal(al_store_contract_amend(f->s, &v2, T0, NULL, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "org"));
    c.limits.credit_limit = AL_LIMIT_NONE; /* prepaid needs a credit limit */
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "credit_limit"));
    c = contract(999, AL_TERMS_PREPAID);
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, NULL), AL_E_NOTFOUND);
    /* versions are append-only */
    assert_int_equal(store_fixture_sql(f, "UPDATE contract_versions SET cancel_fee = 0"),
                     AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM contract_rates"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "UPDATE contracts SET org = 2"), AL_E_CONFLICT);
}

static void test_contract_end_and_in_force(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a"), other = store_add_org(f->s, "org_b");
    struct al_contract a = contract(org, AL_TERMS_PREPAID), b = contract(org, AL_TERMS_BALANCE);
    struct al_contract c = contract(other, AL_TERMS_PREPAID), got;
    struct al_store_contract_info info;
    json_t *list = NULL;
    char *next = NULL;
    b.valid_from = T0 + 100 * HOUR;
    assert_int_equal(al_store_contract_create(f->s, &a, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &b, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_in_force(f->s, org, T0 - 1, &got, NULL, NULL),
                     AL_E_NOTFOUND);
    assert_int_equal(al_store_contract_in_force(f->s, org, T0, &got, NULL, NULL), 0);
    assert_true(got.id == a.id);
    /* the newest of two in force */
    assert_int_equal(al_store_contract_in_force(f->s, org, T0 + 100 * HOUR, &got, NULL, NULL), 0);
    assert_true(got.id == b.id);
    /* ended: out of force from then, still readable, no more amendments */
    assert_int_equal(al_store_contract_end(f->s, b.id, T0 + 200 * HOUR, "usr_op", NULL), 0);
    assert_int_equal(al_store_contract_end(f->s, b.id, T0 + 300 * HOUR, NULL, NULL), AL_E_STATE);
    assert_int_equal(al_store_contract_end(f->s, 999, T0, NULL, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_contract_in_force(f->s, org, T0 + 200 * HOUR - 1, &got, NULL, NULL),
                     0);
    assert_true(got.id == b.id);
    assert_int_equal(al_store_contract_in_force(f->s, org, T0 + 200 * HOUR, &got, &info, NULL), 0);
    assert_true(got.id == a.id && info.ended_at == 0);
    assert_int_equal(al_store_contract_get(f->s, b.id, 1, &got, &info, NULL), 0);
    assert_true(info.ended_at == T0 + 200 * HOUR);
    assert_string_equal(info.ended_by, "usr_op");
    assert_int_equal(al_store_contract_amend(f->s, &b, T0, NULL, NULL), AL_E_STATE);
    /* lists: per org, paged; every org */
    assert_int_equal(
        al_store_contract_list(f->s, org, (struct al_store_page){NULL, 1}, &list, &next, NULL), 0);
    assert_int_equal(json_array_size(list), 1);
    json_t *first = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(first, "org")), "org_a");
    assert_string_equal(json_string_value(json_object_get(first, "terms")), "prepaid");
    assert_true(json_is_null(json_object_get(first, "ended_at")));
    json_decref(list);
    assert_int_equal(
        al_store_contract_list(f->s, org, (struct al_store_page){next, 1}, &list, NULL, NULL), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "ended_at")),
                     T0 + 200 * HOUR);
    json_decref(list);
    free(next);
    assert_int_equal(
        al_store_contract_list(f->s, 0, (struct al_store_page){NULL, 0}, &list, NULL, NULL), 0);
    assert_int_equal(json_array_size(list), 3);
    json_decref(list);
}

/* A reservation row to hang billing on. */
static void add_reservation(struct al_store *s, const char *id, const char *org)
{
    json_t *doc = json_pack("{s:s}", "id", id);
    struct al_store_doc_meta m = {id, org, "scheduled", T0 + HOUR, T0 + 25 * HOUR};
    assert_int_equal(al_store_reservation_put(s, &m, doc, true, NULL), 0);
    json_decref(doc);
}

static struct al_res_billing billing(const struct al_contract *c)
{
    struct al_res_billing r = {
        .org = c->org,
        .contract_id = c->id,
        .contract_version = c->version,
        .start = T0 + HOUR,
        .end = T0 + 25 * HOUR,
        .share = 4 * AL_SHARE_PER_GPU,
        .nlines = 2,
        .lines = {{"H100-80GB GPU-hour", AL_PRICE_GPU_HOUR, 4, M(40)},
                  {"H100-80GB 3g.40gb slice-hour", AL_PRICE_SLICE_HOUR, 6, 5123457}},
    };
    return r;
}

/* Every field of two billing states, lines included. */
static void assert_billing_eq(const struct al_res_billing *a, const struct al_res_billing *b)
{
    assert_true(a->id == b->id && a->org == b->org && a->contract_id == b->contract_id &&
                a->contract_version == b->contract_version);
    assert_true(a->start == b->start && a->end == b->end && a->rev == b->rev &&
                a->drawn == b->drawn && a->fees == b->fees && a->cancelled == b->cancelled &&
                a->share == b->share);
    assert_int_equal(a->nlines, b->nlines);
    for (unsigned i = 0; i < a->nlines; i++) {
        assert_string_equal(a->lines[i].what, b->lines[i].what);
        assert_true(a->lines[i].unit == b->lines[i].unit &&
                    a->lines[i].units == b->lines[i].units &&
                    a->lines[i].unit_price == b->lines[i].unit_price);
    }
}

static void test_billing_state(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a"), other = store_add_org(f->s, "org_b");
    struct al_contract c = contract(org, AL_TERMS_BALANCE), oc = contract(other, AL_TERMS_PREPAID);
    struct al_res_billing b, got, w;
    char rid[AL_STORE_ID_MAX];
    struct al_err e = {0};
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &oc, T0, NULL, NULL), 0);
    add_reservation(f->s, "rsv_1", "org_a");
    b = billing(&c);
    assert_int_equal(al_store_billing_insert(f->s, "rsv_none", &b, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_billing_insert(f->s, "rsv_1", &b, NULL), 0);
    assert_true(b.id > 0);
    assert_int_equal(al_store_billing_get(f->s, "rsv_1", &got, NULL), 0);
    assert_billing_eq(&got, &b);
    assert_int_equal(al_store_billing_get_num(f->s, b.id, &got, rid, NULL), 0);
    assert_string_equal(rid, "rsv_1");
    assert_int_equal(al_store_billing_insert(f->s, "rsv_1", &b, NULL), AL_E_CONFLICT); /* once */
    /* a decision moves the counters and the end */
    b.end = T0 + 30 * HOUR;
    b.rev = 1;
    b.drawn = 3;
    b.fees = M(5);
    assert_int_equal(al_store_billing_update(f->s, &b, NULL), 0);
    assert_int_equal(al_store_billing_get(f->s, "rsv_1", &got, NULL), 0);
    assert_billing_eq(&got, &b);
    /* frozen fields are refused by the store, counters going back by the schema */
    w = b;
    w.lines[1].unit_price++;
    assert_int_equal(al_store_billing_update(f->s, &w, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "lines"));
    w = b;
    w.start--;
    assert_int_equal(al_store_billing_update(f->s, &w, NULL), AL_E_INVAL);
    w = b;
    w.drawn = 2;
    assert_int_equal(al_store_billing_update(f->s, &w, NULL), AL_E_CONFLICT);
    w.id = 999;
    assert_int_equal(al_store_billing_update(f->s, &w, NULL), AL_E_NOTFOUND);
    assert_int_not_equal(
        store_fixture_sql(f, "UPDATE reservation_billing SET contract_version = 2"), 0);
    assert_int_equal(store_fixture_sql(f, "UPDATE reservation_lines SET unit_price = 0"),
                     AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM reservation_billing"), AL_E_CONFLICT);
    /* a billing state belongs with its contract (core's check) and its org (the schema's) */
    add_reservation(f->s, "rsv_2", "org_a");
    w = billing(&c);
    w.contract_version = 2;
    assert_int_equal(al_store_billing_insert(f->s, "rsv_2", &w, NULL), AL_E_NOTFOUND);
    w = billing(&oc);
    w.org = org;
    assert_int_equal(al_store_billing_insert(f->s, "rsv_2", &w, NULL), AL_E_INVAL);
    assert_int_not_equal(store_fixture_sql(f,
                                           "INSERT INTO reservation_billing(reservation_id, org,"
                                           " contract_id, contract_version, start_at, end_at, rev,"
                                           " drawn, fees, cancelled, share)"
                                           " VALUES('rsv_2', 1, 2, 1, 0, 0, 0, 0, 0, 0, 0)"),
                         0);
}

/* Insert a billing state of org c->org for [start, end) holding `share`, on a new
 * reservation row `id`; answers its number. */
static uint64_t add_billing(struct al_store *s, const struct al_contract *c, const char *id,
                            const char *org, int64_t start, int64_t end, int64_t share)
{
    struct al_res_billing b = billing(c);
    add_reservation(s, id, org);
    b.start = start;
    b.end = end;
    b.share = share;
    assert_int_equal(al_store_billing_insert(s, id, &b, NULL), 0);
    return b.id;
}

/* The spans of `org` over [from, to) skipping `skip` are `want` ("start-end:share," in hours
 * from T0). */
static void spans_are(struct al_store *s, uint64_t org, int64_t from, int64_t to, uint64_t skip,
                      const char *want)
{
    struct al_store_spans sp = {0};
    char got[256] = "";
    size_t off = 0;
    assert_int_equal(al_store_billing_spans(s, org, from, to, skip, &sp, NULL), 0);
    for (size_t i = 0; i < sp.n; i++) /* in the store's order: these were inserted by start */
        off += (size_t)snprintf(got + off, sizeof got - off, "%lld-%lld:%lld,",
                                (long long)((sp.v[i].start - T0) / HOUR),
                                (long long)((sp.v[i].end - T0) / HOUR), (long long)sp.v[i].share);
    free(sp.v);
    assert_string_equal(got, want);
}

/* What the limits read: the spans an org's reservations hold over a window (the one being
 * extended left out, cancelled ones and other orgs' never counted) and its reservations
 * ahead. */
static void test_billing_spans_ahead(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a"), other = store_add_org(f->s, "org_b");
    struct al_contract c = contract(org, AL_TERMS_PREPAID), oc = contract(other, AL_TERMS_PREPAID);
    struct al_store_spans sp = {0};
    int64_t ahead = -1;
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &oc, T0, NULL, NULL), 0);
    /* nothing yet: no spans, none ahead */
    assert_int_equal(al_store_billing_spans(f->s, org, T0, T0 + 100 * HOUR, 0, &sp, NULL), 0);
    assert_true(sp.n == 0 && sp.v == NULL);
    assert_int_equal(al_store_billing_ahead(f->s, org, T0, 0, &ahead, NULL), 0);
    assert_int_equal(ahead, 0);
    uint64_t r1 = add_billing(f->s, &c, "rsv_1", "org_a", T0 + 1 * HOUR, T0 + 5 * HOUR, 27720);
    uint64_t r2 = add_billing(f->s, &c, "rsv_2", "org_a", T0 + 4 * HOUR, T0 + 8 * HOUR, 3960);
    uint64_t r3 = add_billing(f->s, &c, "rsv_3", "org_a", T0 + 10 * HOUR, T0 + 12 * HOUR, 7920);
    add_billing(f->s, &oc, "rsv_4", "org_b", T0 + 1 * HOUR, T0 + 12 * HOUR, 55440);
    /* overlap is [start, end): a window ending at a start, or starting at an end, misses it */
    spans_are(f->s, org, T0, T0 + 100 * HOUR, 0, "1-5:27720,4-8:3960,10-12:7920,");
    spans_are(f->s, org, T0 + 5 * HOUR, T0 + 10 * HOUR, 0, "4-8:3960,");
    spans_are(f->s, org, T0, T0 + HOUR, 0, "");
    spans_are(f->s, org, T0 + 8 * HOUR, T0 + 10 * HOUR, 0, "");
    spans_are(f->s, org, T0 + 4 * HOUR, T0 + 11 * HOUR, r2, "1-5:27720,10-12:7920,");
    spans_are(f->s, other, T0, T0 + 100 * HOUR, 0, "1-12:55440,");
    /* ahead: those starting after now, `skip` left out */
    assert_int_equal(al_store_billing_ahead(f->s, org, T0, 0, &ahead, NULL), 0);
    assert_int_equal(ahead, 3);
    assert_int_equal(al_store_billing_ahead(f->s, org, T0 + HOUR, 0, &ahead, NULL), 0);
    assert_int_equal(ahead, 2); /* rsv_1 starts at now: not ahead */
    assert_int_equal(al_store_billing_ahead(f->s, org, T0 + HOUR, r3, &ahead, NULL), 0);
    assert_int_equal(ahead, 1);
    assert_int_equal(al_store_billing_ahead(f->s, org, T0 + 10 * HOUR, 0, &ahead, NULL), 0);
    assert_int_equal(ahead, 0);
    /* a cancelled reservation holds nothing and is not ahead; a shortened one holds its new
     * window */
    struct al_res_billing b;
    assert_int_equal(al_store_billing_get_num(f->s, r3, &b, NULL, NULL), 0);
    b.cancelled = true;
    b.end = b.start;
    b.rev = 1;
    assert_int_equal(al_store_billing_update(f->s, &b, NULL), 0);
    assert_int_equal(al_store_billing_get_num(f->s, r1, &b, NULL, NULL), 0);
    b.end = T0 + 2 * HOUR;
    b.rev = 1;
    assert_int_equal(al_store_billing_update(f->s, &b, NULL), 0);
    spans_are(f->s, org, T0, T0 + 100 * HOUR, 0, "1-2:27720,4-8:3960,");
    spans_are(f->s, org, T0 + 2 * HOUR, T0 + 4 * HOUR, 0, "");
    assert_int_equal(al_store_billing_ahead(f->s, org, T0, 0, &ahead, NULL), 0);
    assert_int_equal(ahead, 2);
}

static void test_pool_sessions(void **state)
{
    struct store_fixture *f = *state;
    uint64_t org = store_add_org(f->s, "org_a"), other = store_add_org(f->s, "org_b");
    struct al_contract c = contract(org, AL_TERMS_BALANCE), oc = contract(other, AL_TERMS_PREPAID);
    struct al_store_pool p = {{0, org, T0, 0, AL_SHARE_PER_GPU, 2500000}, "", "gpu_n1-0", 0, 0, 0};
    struct al_store_pool q, got, *open = NULL;
    size_t n = 0;
    assert_int_equal(al_store_contract_create(f->s, &c, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &oc, T0, NULL, NULL), 0);
    p.contract_id = c.id;
    p.contract_version = 1;
    q = p;
    q.sess.org = other; /* under another org's contract: the schema refuses */
    assert_int_equal(al_store_pool_start(f->s, &q, NULL), AL_E_CONFLICT);
    q = p;
    q.sess.share = 0;
    assert_int_equal(al_store_pool_start(f->s, &q, NULL), AL_E_INVAL);
    assert_int_equal(al_store_pool_start(f->s, &p, NULL), 0);
    assert_true(p.sess.id > 0 && p.sess.metered_to == T0);
    q = p;
    q.sess.start = T0 + 10;
    snprintf(q.gpu, sizeof q.gpu, "gpu_n1-1");
    assert_int_equal(al_store_pool_start(f->s, &q, NULL), 0);
    assert_int_equal(al_store_pool_open(f->s, org, &open, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_true(open[0].sess.id == p.sess.id && open[0].sess.org == org &&
                open[0].sess.start == T0 && open[0].sess.metered_to == T0 &&
                open[0].sess.share == AL_SHARE_PER_GPU && open[0].sess.rate == 2500000 &&
                open[0].contract_id == c.id && open[0].contract_version == 1 &&
                open[0].stopped_at == 0 && open[0].user[0] == '\0');
    assert_string_equal(open[0].gpu, "gpu_n1-0");
    free(open);
    /* metering goes forward only, and not past the stop */
    assert_int_equal(al_store_pool_charged(f->s, p.sess.id, T0 + 1000, NULL), 0);
    assert_int_equal(al_store_pool_charged(f->s, p.sess.id, T0 + 999, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_pool_charged(f->s, 999, T0, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_pool_stop(f->s, p.sess.id, T0 + 999, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_pool_stop(f->s, p.sess.id, T0 + 2000, NULL), 0);
    assert_int_equal(al_store_pool_stop(f->s, p.sess.id, T0 + 3000, NULL), AL_E_STATE);
    assert_int_equal(al_store_pool_stop(f->s, 999, T0, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_pool_charged(f->s, p.sess.id, T0 + 2000, NULL), 0);
    assert_int_equal(al_store_pool_charged(f->s, p.sess.id, T0 + 2001, NULL), AL_E_CONFLICT);
    assert_int_equal(al_store_pool_get(f->s, p.sess.id, &got, NULL), 0);
    assert_true(got.stopped_at == T0 + 2000 && got.sess.metered_to == T0 + 2000);
    assert_int_equal(al_store_pool_open(f->s, 0, &open, &n, NULL), 0);
    assert_true(n == 1 && open[0].sess.id == q.sess.id);
    free(open);
    assert_int_equal(al_store_pool_open(f->s, other, &open, &n, NULL), 0);
    assert_true(n == 0 && open == NULL);
    assert_int_equal(store_fixture_sql(f, "UPDATE pool_usage SET rate = 0"), AL_E_CONFLICT);
    assert_int_equal(store_fixture_sql(f, "DELETE FROM pool_usage"), AL_E_CONFLICT);
}

/* A schema-3 database with a price list and an org opens as schema 4: each model's price is
 * its version 1, valid from when it was set, and the org has a ledger number. */
static void test_migration_from_v3(void **state)
{
    struct store_fixture *f = *state;
    struct al_store_price_version pv;
    struct al_store_price p;
    uint64_t num = 0;
    STORE_SQLITE_ONLY("a migration from SQLite's schema 3 (PostgreSQL's starts at 11)");
    al_store_close(f->s);
    f->s = NULL;
    assert_int_equal(tmpdir_remove(f->dir), 0);
    snprintf(f->dir, sizeof f->dir, "/tmp/al_store_money_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    snprintf(f->db, sizeof f->db, "%s", f->path);
    assert_int_equal(al_store_open_at(f->path, 3, &f->s, NULL), 0);
    json_t *o = json_pack("{s:s,s:s,s:n,s:n,s:i}", "id", "org_old", "name", "old", "customer_code",
                          "display_name", "created_at", 5);
    assert_int_equal(al_store_org_insert(f->s, o, NULL), 0);
    json_decref(o);
    al_store_close(f->s);
    f->s = NULL;
    assert_int_equal(store_fixture_sql(f,
                                       "INSERT INTO prices VALUES('H100-80GB', 40000000, 5123457,"
                                       " 2500000, 1767225600), ('L40S', 2000000, 0, 900000, 17)"),
                     0);
    assert_int_equal(al_store_open(f->path, &f->s, NULL), 0);
    assert_int_equal(al_store_schema_version(f->s), AL_STORE_SCHEMA_VER);
    assert_int_equal(al_store_price_version_get(f->s, "H100-80GB", 1, &pv, NULL), 0);
    assert_true(pv.valid_from == T0 && pv.created_at == T0 && pv.rates.gpu_hour == M(40) &&
                pv.rates.mig_slice_hour == 5123457 && pv.rates.pool_gpu_hour == 2500000);
    assert_int_equal(al_store_price_get(f->s, "L40S", &p, NULL), 0);
    assert_true(p.gpu_hour == 2000000 && p.pool_gpu_hour == 900000 && p.updated_at == 17);
    assert_int_equal(al_store_price_version_get(f->s, "L40S", 2, &pv, NULL), AL_E_NOTFOUND);
    assert_int_equal(al_store_org_num(f->s, "org_old", &num, NULL), 0);
    assert_true(num == 1);
    assert_int_equal(store_fixture_sql(f, "SELECT * FROM prices"), AL_E_DB); /* gone */
}

/* Migration 5 on a schema-4 database: the billing states written before it get their next
 * draw time, so that the draws due are found by the index; later writes of end and drawn
 * (through the store or straight SQL) keep it; prepaid reservations and those with every
 * period drawn are never due. The clock marks: 0 until set, and never back. */
static void test_draws_due_and_marks(void **state)
{
    struct store_fixture *f = *state;
    uint64_t *due = NULL;
    size_t n = 0;
    int64_t at = -1;
    /* SQLite: schema 4, so that migration 5 finds the states written before it (PostgreSQL's
     * schema starts at 11: the states are written under the newest, and reopened) */
    if (store_fixture_pg())
        assert_int_equal(al_store_open(f->db, &f->s, NULL), 0);
    else
        assert_int_equal(al_store_open_at(f->db, 4, &f->s, NULL), 0);
    uint64_t org = store_add_org(f->s, "org_a");
    struct al_contract bal = contract(org, AL_TERMS_BALANCE), pre = contract(org, AL_TERMS_PREPAID);
    assert_int_equal(al_store_contract_create(f->s, &bal, T0, NULL, NULL), 0);
    assert_int_equal(al_store_contract_create(f->s, &pre, T0, NULL, NULL), 0);
    add_reservation(f->s, "rsv_1", "org_a");
    add_reservation(f->s, "rsv_2", "org_a");
    struct al_res_billing b = billing(&bal), p = billing(&pre);
    assert_int_equal(al_store_billing_insert(f->s, "rsv_1", &b, NULL), 0);
    assert_int_equal(al_store_billing_insert(f->s, "rsv_2", &p, NULL), 0);
    al_store_close(f->s);
    assert_int_equal(al_store_open(f->db, &f->s, NULL), 0);
    assert_int_equal(al_store_schema_version(f->s), AL_STORE_SCHEMA_VER);
    assert_int_equal(al_store_billing_draw_due(f->s, T0 + HOUR - 1, &due, &n, NULL), 0);
    assert_true(n == 0 && due == NULL);
    assert_int_equal(al_store_billing_draw_due(f->s, T0 + HOUR, &due, &n, NULL), 0);
    assert_true(n == 1 && due[0] == b.id); /* the prepaid one never */
    free(due);
    b.drawn = 3; /* periods 0..2 drawn: the next begins at start + 3 h */
    assert_int_equal(al_store_billing_update(f->s, &b, NULL), 0);
    assert_int_equal(al_store_billing_draw_due(f->s, T0 + 4 * HOUR - 1, &due, &n, NULL), 0);
    assert_true(n == 0);
    assert_int_equal(al_store_billing_draw_due(f->s, T0 + 4 * HOUR, &due, &n, NULL), 0);
    assert_true(n == 1 && due[0] == b.id);
    free(due);
    /* every period drawn (24 of a 24 h window), by SQL: never due again */
    assert_int_equal(
        store_fixture_sql(f, "UPDATE reservation_billing SET drawn = 24 WHERE num = 1"), 0);
    assert_int_equal(al_store_billing_draw_due(f->s, T0 + 99 * HOUR, &due, &n, NULL), 0);
    assert_true(n == 0 && due == NULL);
    /* clock marks */
    assert_int_equal(al_store_mark_get(f->s, "draws", &at, NULL), 0);
    assert_int_equal(at, 0);
    assert_int_equal(al_store_mark_set(f->s, "draws", T0 + 50, NULL), 0);
    assert_int_equal(al_store_mark_set(f->s, "draws", T0 + 10, NULL), 0);
    assert_int_equal(al_store_mark_get(f->s, "draws", &at, NULL), 0);
    assert_int_equal(at, T0 + 50);
    assert_int_equal(al_store_mark_set(f->s, "draws", T0 + 60, NULL), 0); /* forward: moves */
    assert_int_equal(al_store_mark_get(f->s, "draws", &at, NULL), 0);
    assert_int_equal(at, T0 + 60);
    assert_int_equal(al_store_mark_set(f->s, "", T0, NULL), AL_E_INVAL);
}

/* The lists paged by a row number refuse a cursor that is not one (SQLite would read it as 0,
 * the first page again; PostgreSQL would fail the statement), naming it; a number pages. */
static void test_page_cursors_are_numbers(void **state)
{
    struct store_fixture *f = *state;
    static const char *const bad[] = {"abc", "", "12x", "-1", " 1", "99999999999999999999"};
    struct al_store_xfer_filter xf = {0, -1, -1, 0, 0};
    struct al_err e = {0};
    for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
        /* the last round: a number past every row, an empty page */
        bool ok = i == sizeof bad / sizeof bad[0];
        struct al_store_page pg = {ok ? "9223372036854775807" : bad[i], 10};
        json_t *lists[5] = {NULL};
        int got[] = {
            al_store_price_history(f->s, "H100-80GB", pg, &lists[0], NULL, &e),
            al_store_contract_list(f->s, 0, pg, &lists[1], NULL, &e),
            al_store_transfer_list(f->s, &xf, pg, &lists[2], NULL, &e),
            al_store_invoice_list(f->s, 0, pg, &lists[3], NULL, &e),
            al_store_delivery_list(f->s, "whk_1", NULL, pg, &lists[4], NULL, &e),
        };
        for (size_t k = 0; k < 5; k++) {
            assert_int_equal(got[k], ok ? 0 : AL_E_INVAL);
            assert_int_equal(json_array_size(lists[k]), 0); /* 0 for NULL too */
            json_decref(lists[k]);
        }
        if (!ok)
            assert_non_null(strstr(e.msg, "cursor"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_org_numbers, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_price_versions, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_contracts, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_contract_end_and_in_force, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_billing_state, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_billing_spans_ahead, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_pool_sessions, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v3, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_draws_due_and_marks, store_setup_dir, store_teardown),
        cmocka_unit_test_setup_teardown(test_page_cursors_are_numbers, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
