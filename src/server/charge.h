/* charge.h — where the routes and the clock meet core's money rules (core/contract.h,
 * billing.h): the contract an org is under, the org's usage as core's limit and funds checks
 * read it (balances, what it holds at once, reservations ahead, the month's spend, the pool's
 * burn), the price of an ask under that contract, writing a decision's transfers, and failing a
 * call with core's refusal (402 insufficient_balance, 409 limit_exceeded, with the numbers).
 * Each runs inside the caller's unit of work (server/txn.h), so that what it reads and what
 * the caller then writes are one transaction. Internal to src/server. */
#ifndef AL_SERVER_CHARGE_H
#define AL_SERVER_CHARGE_H

#include "core/billing.h"
#include "core/catalog.h"
#include "core/contract.h"
#include "core/quote.h"
#include "server/http.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* An org as money sees it: its ledger number and the contract in force. */
struct al_charge_org {
    char id[AL_HTTP_ID_LEN]; /* the org's API id */
    uint64_t num;            /* its ledger number (store.h) */
    bool has_contract;       /* a contract is in force at the time asked */
    struct al_contract k;    /* that contract's newest version, when has_contract */
};

/* Org `key` (id, name or customer code) as the caller may see it: its id into id_out and its
 * ledger number into *num. Fails the call with 404 for an org the caller may not see. */
int al_charge_org_find(struct al_ctx *c, const char *key, char id_out[AL_STORE_ID_MAX],
                       uint64_t *num);

/* Org `org_id` and the contract in force at `at` into *ret (has_contract false when none is).
 * Fails the call (404 for an unknown org) and returns its code. */
int al_charge_org_load(struct al_ctx *c, const char *org_id, int64_t at, struct al_charge_org *ret);

/* As al_charge_org_load, and a contract must be in force: 409 invalid_state "org X has no
 * contract in force at T" otherwise. `what` ("confirm", "reserve") begins the message. */
int al_charge_org_contracted(struct al_ctx *c, const char *org_id, int64_t at, const char *what,
                             struct al_charge_org *ret);

/* Contract (id, version) of org `num`: 0, or fails the call (AL_E_NOTFOUND: a damaged
 * reference; 500). */
int al_charge_contract_get(struct al_ctx *c, uint64_t id, uint32_t version,
                           struct al_contract *ret);

/* The org's usage at c->now for an action over [from, to) (core/contract.h's al_org_usage):
 * cash; owed (invoiced terms); the most share the org's reservations (not cancelled) and
 * running pool sessions hold at once over the window (only read when the contract limits
 * concurrent GPUs; else 0); its reservations that have not started (only when it limits them);
 * the month's net spend (only when it caps it); one hour of its running pool sessions. Without
 * a contract, all of it. `skip` (a reservation's billing number, 0 for none) is left out of the
 * share and of the reservations ahead: the one being extended. 0, or fails the call. */
int al_charge_usage(struct al_ctx *c, const struct al_charge_org *o, int64_t from, int64_t to,
                    uint64_t skip, struct al_org_usage *ret);

/* Fail the call with core's refusal `r`: 402 insufficient_balance or 409 limit_exceeded,
 * details {limit, unit, value, in_use, asked, balance_micros, credit_limit_micros}, the message
 * beginning with `what` ("cannot confirm req_…"). Returns AL_E_PAYMENT. */
int al_charge_refuse(struct al_ctx *c, const struct al_refusal *r, const char *what);

/* Fail the call with what a core money call returned: a refusal (AL_E_PAYMENT, `r` filled)
 * as al_charge_refuse; AL_E_STATE (a contract outside its validity) 409; AL_E_FORBIDDEN 403;
 * anything else with e's message. Returns the code. */
int al_charge_fail(struct al_ctx *c, int code, const struct al_refusal *r, const struct al_err *e,
                   const char *what);

/* Write the n transfers of `d` for org `o` (org_cash debits under the contract's credit
 * limit, which the store enforces to the micro-unit). A key written before with the same
 * transfer is a replay and writes nothing. A debit that would take the cash below -credit
 * limit (another call spent it first) fails the call as a refusal. 0, or the code. */
int al_charge_write(struct al_ctx *c, const struct al_charge_org *o, const struct al_decision *d,
                    const char *what);

/* Price lines of a quote, an offering or a reservation. */
struct al_charge_price {
    json_t *lines;     /* owned: json_decref. [{what, unit, units, hours, billed_seconds,
                        * rate_micros, amount_micros}] */
    int64_t total;     /* micro-units: what the reservation is charged in all (C(end)) */
    uint32_t version;  /* the price-list version the lines start from (store.h) */
    uint64_t contract; /* the contract priced under (0: none, the list and whole hours) */
    uint32_t contract_version;
    struct al_granularity gran;
};

/* The price of ask `a` (`count` GPUs of `model`, or, profile >= 0, `count` instances of that
 * MIG profile, for [start, end)): under o's contract when it has one (its frozen rate for the
 * model, else the list price in force at c->now less its discount; its granularity), else at the
 * list price in force in whole hours with a minimum of 1 (core/quote.h's al_quote_price_terms).
 * Fails 409 conflict when nothing prices the model, 400 (field count) on overflow. o may be NULL.
 */
int al_charge_price(struct al_ctx *c, const struct al_charge_org *o, const struct al_quote_ask *a,
                    struct al_charge_price *out);

/* How `p` is billed, for the document that carries its lines: sets {granularity,
 * min_hours, billing_rule ("per second", "whole hours, … minimum 4 h"), contract: {id,
 * version} | null, price_version} on `doc`. */
void al_charge_price_terms(json_t *doc, const struct al_charge_price *p);

/* The frozen lines of a reservation or quote document (its "lines", written by
 * al_charge_price) into b->lines / b->nlines. 0, or fails the call (500: a damaged document). */
int al_charge_lines_of(struct al_ctx *c, json_t *doc, struct al_res_billing *b);

/* ---- a reservation's money: confirm, extend, cancel or shorten, and what it was charged ---- */

/* A confirmed reservation's billing state and the contract version it runs under. */
struct al_charge_res {
    struct al_charge_org o;  /* num = the reservation's org; k = its contract version */
    struct al_res_billing b; /* as the store keeps it */
};

/* The GPU share units (core/contract.h) of `count` GPUs of `model` or, profile not NULL,
 * `count` instances of that MIG profile: compute slices of the profile / the model's slices
 * × count. 0, or fails the call (500: a document naming an unknown model or profile). */
int al_charge_share(struct al_ctx *c, const char *model, const char *profile, int64_t count,
                    int64_t *ret);

/* What a reservation holds: `count` GPUs of `model`, or instances of MIG `profile` (NULL for
 * whole GPUs), over [start, end). */
struct al_charge_window {
    const char *model, *profile;
    int64_t count, start, end;
};

/* Limits at quote time: ask `w` priced as `p` checked against o's contract
 * (al_billing_confirm at AL_CHECK_QUOTE: period, length, concurrent GPUs, reservations ahead,
 * the month's spend; not the funds). Nothing when o has no contract. 0, or fails the call (409
 * limit_exceeded with the numbers; `what` begins the message). */
int al_charge_quote_check(struct al_ctx *c, const struct al_charge_org *o,
                          const struct al_charge_price *p, const struct al_charge_window *w,
                          const char *what);

/* Confirm reservation `rsv_id` (its row written already) from `quote` (its window, model,
 * profile, allocations and frozen lines) under o's contract: its billing state inserted
 * (numbered: the number core's transfer keys use), the limits and funds checked
 * (al_billing_confirm at AL_CHECK_CONFIRM, the org's usage leaving this one out) and the
 * decision's transfers written (prepaid: C(end) now; balance, invoiced: the draws of the
 * periods begun by the clock's last draw pass, al_draws_catch_up, the rest as they begin).
 * *ret = the billing state, its draws counted. 0, or fails the call (402/409 with the numbers); the
 * caller's unit of work is then rolled back whole. */
int al_charge_confirm(struct al_ctx *c, const struct al_charge_org *o, const char *rsv_id,
                      json_t *quote, const char *what, struct al_res_billing *ret);

/* As al_charge_confirm, the limits checked as core does at `at`: AL_CHECK_SELF_RESERVE (a
 * reservation made in one call) also needs the contract to allow self-service (403). */
int al_charge_confirm_at(struct al_ctx *c, const struct al_charge_org *o, const char *rsv_id,
                         json_t *quote, enum al_check_at at, const char *what,
                         struct al_res_billing *ret);

/* The billing state of reservation `rsv_id` and its contract version into *ret. 0; 1 when it
 * has none (confirmed before reservations were charged: no money moves for it); or fails the
 * call. */
int al_charge_res_load(struct al_ctx *c, const char *rsv_id, struct al_charge_res *ret);

/* Extend r to `new_end` (al_billing_extend at r's frozen lines; limits on the new window with
 * r left out of the usage; funds), write the transfers and r's new state (end, rev). *dec:
 * the decision (amount: the price of the added time). 0, or fails the call. */
int al_charge_extend(struct al_ctx *c, struct al_charge_res *r, int64_t new_end, const char *what,
                     struct al_decision *dec);

/* Cancel (`cancel`: the reservation ends) or shorten r per q (al_billing_cancel: who may,
 * e', the refund less the fee), write the refund and r's new state (end = e', rev, fees,
 * cancelled). *dec: the decision (end = e', amount = the refund, fee). 0, or fails the call
 * (403 when the contract keeps an active prepaid reservation for operators). */
int al_charge_cancel(struct al_ctx *c, struct al_charge_res *r, const struct al_cancel *q,
                     bool cancel, const char *what, struct al_decision *dec);

/* r's price lines for [start, t) under its contract's granularity, as a quote has them
 * ({what, unit, units, hours, billed_seconds, rate_micros, amount_micros}), into *lines
 * (owned: json_decref) and their sum, C(t), into *total. 0, or fails the call. */
int al_charge_lines_json(struct al_ctx *c, const struct al_charge_res *r, int64_t t, json_t **lines,
                         int64_t *total);

/* What reservation r was charged so far, read from its transfers (by their keys) and its
 * state: {charged_micros, refunded_micros, fees_micros, net_micros, periods_drawn,
 * billed_end}. NULL on a store failure (the call fails) or out of memory. */
json_t *al_charge_billing_json(struct al_ctx *c, const struct al_charge_res *r);

#endif
