/* money_fixture.h — what the unit tests of the server's money passes (test_draws.c,
 * test_pool.c) share: a real store in a fresh directory (store_fixture.h) under a struct
 * al_srv with its in-memory calendar, an org with a contract, a node of GPUs, top-ups, a
 * clock unit of work run at a chosen time (begin, the pass, commit; or rollback, as a crash
 * before the commit leaves it), the store closed and opened again as after a restart, the
 * events of a kind counted, and ledger verify over the whole store. Header-only and static,
 * as store_fixture.h; include after <cmocka.h>. */
#ifndef AL_TESTS_MONEY_FIXTURE_H
#define AL_TESTS_MONEY_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cal.h"
#include "server/http.h"
#include "server/migplan.h"
#include "store_fixture.h"

#define T0   INT64_C(1767225600) /* 2026-01-01T00:00:00Z */
#define HOUR INT64_C(3600)
#define M(x) ((int64_t)(x)*AL_MONEY_UNIT)

struct money_fixture {
    struct store_fixture *sf;
    struct al_srv srv;
    uint64_t org; /* org_a's ledger number */
    struct al_contract k;
};

/* A node "n1" of H100-80GB GPUs: gpu_n1-0 .. gpu_n1-2 dedicated, gpu_n1-3 in the general
 * pool. */
static inline void money_node(struct al_store *s)
{
    json_t *gpus = json_array();
    for (int i = 0; i < 4; i++) {
        char uuid[32];
        snprintf(uuid, sizeof uuid, "GPU-n1-%d", i);
        json_array_append_new(gpus, json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", i, "uuid", uuid,
                                              "model", "H100-80GB", "pool",
                                              i == 3 ? "general" : "dedicated", "healthy", 1));
    }
    json_t *n = json_pack("{s:s,s:s,s:{},s:o}", "name", "n1", "zone", "z1", "labels", "gpus", gpus);
    assert_int_equal(al_store_node_upsert(s, n, T0, NULL), 0);
    json_decref(n);
}

/* (Re)build the server around the store: its calendar as at `now`. */
static inline void money_srv(struct money_fixture *x, int64_t now)
{
    al_cal_free(x->srv.cal);
    al_migplan_said_free(&x->srv);
    memset(&x->srv, 0, sizeof x->srv);
    x->srv.store = x->sf->s;
    assert_int_equal(al_cal_build(x->sf->s, now, &x->srv.cal, NULL), 0);
}

/* cmocka setup: a store with org_a, contract `terms` (the worked example's: H100-80GB frozen
 * at 40.00 per GPU-hour, 5.123457 per compute-slice-hour, 2.50 per pool GPU-hour; per-second
 * billing, hourly draws, a credit limit of `credit`) and node n1. */
static inline struct money_fixture *money_make(void **state, enum al_terms terms, int64_t credit)
{
    struct money_fixture *x = calloc(1, sizeof *x);
    void *sf = NULL;
    assert_non_null(x);
    store_setup(&sf);
    x->sf = sf;
    json_t *o = json_pack("{s:s,s:s,s:n,s:n,s:i}", "id", "org_a", "name", "org_a", "customer_code",
                          "display_name", "created_at", 1000);
    assert_int_equal(al_store_org_insert(x->sf->s, o, NULL), 0);
    json_decref(o);
    assert_int_equal(al_store_org_num(x->sf->s, "org_a", &x->org, NULL), 0);
    x->k = (struct al_contract){
        .org = x->org,
        .terms = terms,
        .valid_from = T0,
        .valid_to = T0 + 365 * 24 * HOUR,
        .gran = {AL_GRAN_SECOND, 0},
        .draw_period_s = HOUR,
        .nrates = 1,
        .rates = {{"H100-80GB", {M(40), 5123457, 2500000}}},
        .limits = {credit, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE, AL_LIMIT_NONE},
    };
    assert_int_equal(al_store_contract_create(x->sf->s, &x->k, T0, NULL, NULL), 0);
    money_node(x->sf->s);
    money_srv(x, T0);
    *state = x;
    return x;
}

static inline int money_teardown(void **state)
{
    struct money_fixture *x = *state;
    void *sf = x->sf;
    al_cal_free(x->srv.cal);
    al_migplan_said_free(&x->srv);
    free(x);
    return store_teardown(&sf);
}

/* Close the store and open it again, as a restarted server does. */
static inline void money_reopen(struct money_fixture *x, int64_t now)
{
    al_store_close(x->sf->s);
    x->sf->s = NULL;
    assert_int_equal(al_store_open(x->sf->path, &x->sf->s, NULL), 0);
    money_srv(x, now);
}

/* A firm whole-GPU hold of `owner` ("rsv_…") on GPU `gpu` over [t0, t1), in the store and
 * the calendar alike, as a confirmed reservation has. */
static inline void money_hold(struct money_fixture *x, const char *owner, const char *gpu,
                              int64_t t0, int64_t t1)
{
    struct al_store_hold h = {.start_unit = -1, .mask = UINT64_MAX, .t0 = t0, .t1 = t1};
    snprintf(h.gpu, sizeof h.gpu, "%s", gpu);
    snprintf(h.owner, sizeof h.owner, "%s", owner);
    snprintf(h.kind, sizeof h.kind, "gpu");
    assert_int_equal(al_store_hold_add(x->sf->s, &h, NULL), 0);
    struct al_hold ch = {.gpu = (uint32_t)al_cal_gpu(x->srv.cal, gpu),
                         .whole = true,
                         .t0 = t0,
                         .t1 = t1,
                         .owner = al_cal_owner(owner)};
    assert_true(al_calendar_add(x->srv.cal->cal, &ch, NULL) >= 0);
}

/* Top up org_a by `amount` (key topup:<key>). */
static inline void money_topup(struct money_fixture *x, int64_t amount, const char *key)
{
    struct al_transfer t = {.kind = AL_XFER_TOPUP,
                            .debit = {AL_ACCT_EXTERNAL, 0},
                            .credit = {AL_ACCT_ORG_CASH, x->org},
                            .amount = amount,
                            .at = T0,
                            .ref = {AL_REF_NONE, 0, -1}};
    struct al_transfer got;
    snprintf(t.key, sizeof t.key, "topup:%s", key);
    assert_int_equal(al_store_transfer_append(x->sf->s, &t, 0, T0, &got, NULL, NULL), 0);
}

static inline int64_t money_balance(struct money_fixture *x, enum al_acct_kind k)
{
    int64_t b = 0;
    assert_int_equal(al_store_balance_get(x->sf->s, (struct al_account){k, x->org}, &b, NULL), 0);
    return b;
}

typedef int (*money_pass_fn)(struct al_ctx *c);

/* Run `fn` as the clock's unit of work at `now`: committed when it succeeds, rolled back when
 * it fails or when `crash` (the server died before the commit). Returns fn's result. */
static inline int money_run(struct money_fixture *x, money_pass_fn fn, int64_t now, bool crash)
{
    struct al_ctx c = {.srv = &x->srv, .user_id = "clock", .now = now};
    assert_int_equal(al_store_begin(x->sf->s, NULL), 0);
    int rc = fn(&c);
    if (rc >= 0 && !crash)
        assert_int_equal(al_store_commit(x->sf->s, NULL), 0);
    else
        al_store_rollback(x->sf->s);
    if (rc < 0)
        fprintf(stderr, "pass failed: %s\n", c.err_msg);
    if (crash || rc < 0)
        money_srv(x, now); /* the server rebuilds its calendar after a rollback */
    json_decref(c.err_details);
    json_decref(c.resp);
    return rc;
}

/* The events of kind `kind` (its name), oldest first: a new array. */
static inline json_t *money_events(struct money_fixture *x, const char *kind)
{
    json_t *all = NULL, *e, *out = json_array();
    size_t i;
    assert_int_equal(al_store_event_list(x->sf->s, 0, 10000, &all, NULL), 0);
    json_array_foreach(all, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0)
            json_array_append(out, e);
    }
    json_decref(all);
    return out;
}

static inline size_t money_count(struct money_fixture *x, const char *kind)
{
    json_t *ev = money_events(x, kind);
    size_t n = json_array_size(ev);
    json_decref(ev);
    return n;
}

/* al_ledger_verify over the whole store as at `now`: the number of mismatches. */
static inline size_t money_verify(struct money_fixture *x, int64_t now)
{
    struct al_store_ledger l = {0};
    struct al_mismatch ms[16];
    size_t n = 0;
    struct al_err e = {0};
    assert_int_equal(al_store_ledger_load(x->sf->s, now, &l, NULL), 0);
    assert_int_equal(al_ledger_verify(&l.view, ms, 16, &n, &e), 0);
    for (size_t i = 0; i < n && i < 16; i++)
        fprintf(stderr, "mismatch %s: %s\n", al_ledger_rule_name(ms[i].rule), ms[i].what);
    al_store_ledger_free(&l);
    return n;
}

#endif
