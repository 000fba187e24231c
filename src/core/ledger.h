/* ledger.h — allot's double-entry ledger, pure: accounts, transfers, which transfer may move
 * money between which accounts, applying a transfer to cached balances without letting an
 * org's cash go below minus its credit limit, the idempotency decision, and `verify`, which
 * proves that the books add up and names every mismatch.
 *
 * The model (as every accounting system and TigerBeetle have it): a transfer moves `amount`
 * (> 0, micro-units) from its debit account to its credit account; an account's balance is
 * what was credited to it minus what was debited from it, so the balances of all accounts sum
 * to zero, always. Accounts:
 *
 *   org_cash        (per org) the org's money: top-ups in, prepaid charges, balance draws and
 *                   pool usage out, refunds in. May go below zero down to -credit limit, never
 *                   further (al_ledger_apply refuses).
 *   org_accrued     (per org, invoiced terms) charges not yet on an issued invoice: it goes
 *                   negative as usage accrues; issuing an invoice brings it back to zero.
 *   org_receivable  (per org) issued, unpaid invoices: negative = the org owes it.
 *   revenue         (provider) what the provider earned.
 *   refunds         (provider) refunds paid back: a contra-revenue account.
 *   external        (provider) the outside world: the source of top-ups and invoice payments.
 *
 * Transfer kinds and the only (debit -> credit) pairs each may use (al_ledger_validate):
 *   topup               external -> org_cash
 *   reservation_charge  org_cash | org_accrued -> revenue       (prepaid charge, draw, fee)
 *   usage               org_cash | org_accrued -> revenue       (pool metering)
 *   refund              refunds -> org_cash | org_accrued
 *   adjustment          org_cash | org_accrued <-> revenue      (either way; invoice rounding)
 *   invoice_issued      org_receivable -> org_accrued (a credit note: the other way)
 *   invoice_paid        external -> org_receivable   (paying back a credit: the other way)
 * The two org accounts of one transfer belong to the same org.
 *
 * Every transfer carries a reference to what caused it and an idempotency key: the store keeps
 * keys unique, and al_ledger_idem decides what a second transfer with a known key does (replay,
 * never a second charge). Keys that core makes itself are built by al_ledger_key_*.
 *
 * Pure: libc only, no clock, no I/O. al_ledger_verify allocates scratch memory and frees it.
 */
#ifndef AL_CORE_LEDGER_H
#define AL_CORE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/money.h"

#define AL_LEDGER_KEY_MAX 96 /* an idempotency key, with its NUL: printable ASCII, no space */

enum al_acct_kind {
    AL_ACCT_ORG_CASH = 0,
    AL_ACCT_ORG_ACCRUED = 1,
    AL_ACCT_ORG_RECEIVABLE = 2,
    AL_ACCT_REVENUE = 3,
    AL_ACCT_REFUNDS = 4,
    AL_ACCT_EXTERNAL = 5,
};
#define AL_ACCT_KINDS 6

/* An account: its kind and, for the org_* kinds, the org (> 0); provider accounts have org 0. */
struct al_account {
    enum al_acct_kind kind;
    uint64_t org;
};

enum al_transfer_kind {
    AL_XFER_TOPUP = 0,
    AL_XFER_RESERVATION_CHARGE = 1,
    AL_XFER_USAGE = 2,
    AL_XFER_REFUND = 3,
    AL_XFER_ADJUSTMENT = 4,
    AL_XFER_INVOICE_ISSUED = 5,
    AL_XFER_INVOICE_PAID = 6,
};
#define AL_XFER_KINDS 7

/* What caused a transfer. */
enum al_ref_kind {
    AL_REF_NONE = 0,        /* top-ups: the key says which request */
    AL_REF_RESERVATION = 1, /* id: reservation; sub: -1, or the balance period k of a draw */
    AL_REF_POOL = 2,        /* id: pool session; sub: start second of the metered piece */
    AL_REF_INVOICE = 3,     /* id: invoice (its issue, payment and rounding adjustment) */
    AL_REF_OPERATOR = 4,    /* id: an operator's adjustment record */
};

struct al_ref {
    enum al_ref_kind kind;
    uint64_t id;
    int64_t sub;
};

struct al_transfer {
    uint64_t id; /* given by the store; 0 in a decision not yet written */
    enum al_transfer_kind kind;
    struct al_account debit;  /* money leaves this account */
    struct al_account credit; /* and arrives here */
    int64_t amount;           /* > 0, micro-units */
    int64_t at;               /* seconds (Unix time): which invoice period it belongs to */
    struct al_ref ref;
    char key[AL_LEDGER_KEY_MAX];
};

/* "org_cash", "org_accrued", …; "topup", "reservation_charge", …; "reservation", "pool", ….
 * Static; "?" for an unknown value. */
const char *al_ledger_acct_name(enum al_acct_kind k);
const char *al_ledger_kind_name(enum al_transfer_kind k);
const char *al_ledger_ref_name(enum al_ref_kind k);

/* Parse the names above back. Return 0, or AL_E_INVAL. */
int al_ledger_kind_parse(const char *s, enum al_transfer_kind *ret);
int al_ledger_acct_parse(const char *s, enum al_acct_kind *ret);

/* True for the org_* kinds. */
bool al_ledger_acct_is_org(enum al_acct_kind k);

/* Check one transfer against the rules above: amount > 0, a known kind, an allowed account
 * pair, orgs that agree (org accounts > 0 and equal, provider accounts 0), a key that is
 * non-empty printable ASCII without spaces. Returns 0, or AL_E_INVAL naming the field. */
int al_ledger_validate(const struct al_transfer *t, struct al_err *reterr);

/* Apply valid transfer `t` to the cached balances of its two accounts, *debit_balance and
 * *credit_balance, updating both only on success. When the debit account is org_cash, the
 * result may not go below -credit_limit: AL_E_PAYMENT, with *ret_refusal an
 * insufficient_balance refusal (balance, credit limit, amount). AL_E_RANGE if a balance would
 * overflow; AL_E_INVAL for an invalid transfer or a negative credit limit. */
int al_ledger_apply(const struct al_transfer *t, int64_t credit_limit, int64_t *debit_balance,
                    int64_t *credit_balance, struct al_refusal *ret_refusal, struct al_err *reterr);

/* The idempotency rule. `existing` is the stored transfer with asked->key, or NULL. Returns
 * AL_LEDGER_NEW (no such key: write `asked`), AL_LEDGER_REPLAY (the same transfer was written
 * before: answer it again and write nothing), or AL_E_CONFLICT (the key was used for a
 * different transfer: kind, accounts, amount or reference differ; `at` is not compared, since
 * a retry comes later). A key therefore never yields a second charge. */
#define AL_LEDGER_NEW    0
#define AL_LEDGER_REPLAY 1
int al_ledger_idem(const struct al_transfer *existing, const struct al_transfer *asked,
                   struct al_err *reterr);

/* Keys that core decides. Each writes ret[AL_LEDGER_KEY_MAX] and returns 0 (AL_E_RANGE only if
 * it could not fit, which the formats rule out):
 *   res:<id>:charge           a prepaid reservation's charge at confirmation
 *   res:<id>:r<rev>:<what>    a change of its window: what = extend | refund
 *   res:<id>:draw:<k>         the balance or invoiced draw for period k: exactly once each
 *   pool:<id>:<from>          pool usage of session id metered from second `from`
 *   inv:<id>:<what>           what = issue | rounding | paid
 *   topup:<client key>        a top-up, keyed by the caller's Idempotency-Key (AL_E_INVAL if
 *                             the client key is empty, too long, or not printable) */
int al_ledger_key_res(char ret[AL_LEDGER_KEY_MAX], uint64_t res, uint32_t rev, const char *what);
int al_ledger_key_draw(char ret[AL_LEDGER_KEY_MAX], uint64_t res, int64_t k);
int al_ledger_key_pool(char ret[AL_LEDGER_KEY_MAX], uint64_t session, int64_t from);
int al_ledger_key_invoice(char ret[AL_LEDGER_KEY_MAX], uint64_t invoice, const char *what);
int al_ledger_key_topup(char ret[AL_LEDGER_KEY_MAX], const char *client_key, struct al_err *reterr);

/* ---- verify (ledger_verify.c) ---- */

struct al_contract;    /* contract.h */
struct al_res_billing; /* billing.h */
struct al_invoice;     /* invoice.h */

/* An account with its cached balance, as the store keeps it. */
struct al_ledger_account {
    struct al_account acct;
    int64_t balance;
};

/* Everything verify reads, all borrowed. `contracts` must hold every (id, version) that a
 * reservation names; `now` is the instant the server's draw pass has completed up to (draws
 * due by then are expected to be written). */
struct al_ledger_view {
    const struct al_ledger_account *accounts;
    size_t naccounts;
    const struct al_transfer *transfers;
    size_t ntransfers;
    const struct al_res_billing *reservations; /* every confirmed reservation */
    size_t nreservations;
    const struct al_contract *contracts;
    size_t ncontracts;
    const struct al_invoice *invoices; /* every issued invoice */
    size_t ninvoices;
    int64_t now;
};

enum al_verify_rule {
    AL_VERIFY_TRANSFER = 0,  /* a transfer breaks al_ledger_validate */
    AL_VERIFY_DUP_KEY,       /* two transfers share an idempotency key */
    AL_VERIFY_UNKNOWN_ACCT,  /* a transfer names an account that is not listed */
    AL_VERIFY_SUM,           /* the cached balances do not sum to zero */
    AL_VERIFY_BALANCE,       /* a cached balance differs from the sum of its transfers */
    AL_VERIFY_RESERVATION,   /* a reservation's net charges differ from what its terms imply */
    AL_VERIFY_ORPHAN,        /* a transfer names a reservation that is not listed */
    AL_VERIFY_CONTRACT,      /* a reservation names a contract version not listed */
    AL_VERIFY_INVOICE_TOTAL, /* an invoice's total or rounding differs from its lines */
    AL_VERIFY_INVOICE_LINES, /* an invoice's lines differ from the transfers of its period */
    AL_VERIFY_INVOICE_XFER,  /* an issued invoice's issue/rounding transfer is missing or wrong */
};

/* One mismatch: which rule, about what, expected against found. */
struct al_mismatch {
    enum al_verify_rule rule;
    struct al_account acct; /* BALANCE, UNKNOWN_ACCT */
    uint64_t id;            /* reservation, invoice or transfer id, by rule */
    int64_t expected, actual;
    char what[160]; /* a sentence naming it, for a person */
};

/* "transfer_invalid", "duplicate_key", "unknown_account", "sum_not_zero", "cached_balance",
 * "reservation_charges", "orphan_charge", "unknown_contract", "invoice_total",
 * "invoice_lines", "invoice_transfers". Static. */
const char *al_ledger_rule_name(enum al_verify_rule r);

/* Check every rule over `v`: each transfer valid and its key unique; every account a transfer
 * names is listed; the cached balances sum to zero and each equals the sum of its transfers;
 * each reservation's net charges (its reservation_charge transfers minus its refunds) equal
 * al_billing_implied at v->now, and no such transfer names an unlisted reservation; each
 * invoice's total equals its lines, its lines equal al_invoice_build over the transfers of its
 * period, and an issued invoice on org_accrued has its issue and rounding transfers. Writes at
 * most `cap` mismatches to `out` (may be NULL with cap 0) and their full count to *ret_n.
 * Returns 0 (whatever it found), AL_E_NOMEM, or AL_E_INVAL for a NULL view. */
int al_ledger_verify(const struct al_ledger_view *v, struct al_mismatch *out, size_t cap,
                     size_t *ret_n, struct al_err *reterr);

#endif
