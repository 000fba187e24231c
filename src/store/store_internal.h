/* store_internal.h — what the files of the store share, and nothing outside src/store/ may
 * include: the handle and the helpers of the table files, whose statements all run through the
 * driver seam (db.h).
 *
 *   db.h               the driver seam: statements, columns, errors, control statements
 *   db.c               what the seam builds on the driver: steps, units, pages, documents
 *   db_sqlite.c        the SQLite driver: open, statement cache, binding, stepping, errors,
 *                      transactions, durability (sync), fault injection
 *   store_schema.c     opening a store: the numbered migrations (SQLite's dialect)
 *   store_accounts.c   orgs, users
 *   store_fleet.c      nodes, GPUs, prices
 *   store_flow.c       requests, quotes, reservations, holds, events, idempotency
 *   store_money.c      ledger numbers of orgs, price versions (and the price list), contracts
 *   store_billing.c    reservation billing states, draws due, clock marks, pool sessions
 *   store_ledger.c     transfers, balances, invoices, the snapshot that ledger verify reads
 *   store_migchange.c  change windows, MIG changes, their links and acknowledgements
 *   store_container.c  containers, their logs
 *   store_metrics.c    the aggregates GET /metrics reads
 *   store_webhook.c    webhooks, the dispatcher's cursor, deliveries and their attempts
 */
#ifndef AL_STORE_STORE_INTERNAL_H
#define AL_STORE_STORE_INTERNAL_H

#include "store/db.h"
#include "store/store.h"
#include "store/store_replica.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Request documents as last updated or read (parsed), so that each step of the flow does not
 * parse its request again from the row's text: direct-mapped by id, each a private copy of
 * the document's top level, its members' values shared (store_flow.c doc_copy). The
 * store is their durable copy: any rollback empties the cache (al_store_docs_clear), so that
 * it never holds what the database undid. */
#define AL_STORE_DOC_CACHE  256
#define AL_STORE_DOC_ID_MAX 48

struct al_store_cached_doc {
    char id[AL_STORE_DOC_ID_MAX];
    json_t *doc; /* owned; NULL: a free slot */
};

struct al_store {
    struct al_db *db; /* the driver's (db.h), allocated with the store */
    struct al_store_cached_doc docs[AL_STORE_DOC_CACHE];
    bool events_unplaced; /* PostgreSQL: the open transaction appended events, which
                           * al_store_commit gives their positions (al_store_events_seal) */
    bool in_unit;         /* between al_store_savepoint and its release or rollback: a unit of
                           * work that writes, whose reads of shared rows lock them (below) */
};

/* Row locks (store.h, "Row locks"): on PostgreSQL, inside a unit of work (al_store_savepoint),
 * the getters of the rows that units read, change in C and write back whole read them with
 * `lock_sql` (the same query … FOR UPDATE), so that another replica's writer of the row waits
 * for this unit's commit and then reads the committed row; elsewhere, and always on SQLite
 * (one server's lock serializes every unit), with `sql`. Both must be string literals: the
 * statement cache keys on the text's address. */
#define AL_STORE_LOCKING(s)                   (al_db_kind(s) == AL_DB_PG && (s)->in_unit)
#define AL_STORE_FOR_UPDATE(s, sql, lock_sql) (AL_STORE_LOCKING(s) ? (lock_sql) : (sql))

/* Forget every cached document (a rollback, or the store closing). */
void al_store_docs_clear(struct al_store *s);

/* A new JSON string, or JSON null for NULL. */
static inline json_t *al_store_str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* The string member `k` of `o` (borrowed), or NULL. */
static inline const char *al_store_jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An INSERT that yields its new row's number: `sql` on SQLite, which then reads the rowid
 * (al_store_new_id), `sql` RETURNING `col` on PostgreSQL, which has no rowid. SQLite runs a
 * RETURNING statement to its end into a temporary table and answers from there: an event's
 * insert cost twice as much that way (bench/callgrind_flow.sh). */
#define AL_STORE_INSERT_NUM(s, sql, col) AL_DB_SQL2(s, sql, sql " RETURNING " col)

/* Run `st`, prepared from AL_STORE_INSERT_NUM, into *num: 0, or the store code (`st` given
 * back either way). */
static inline int al_store_new_id(struct al_store *s, struct al_db_stmt *st, int64_t *num,
                                  struct al_err *e, const char *what)
{
    int rc;
    if (al_db_kind(s) == AL_DB_SQLITE) {
        rc = al_db_run(s, st, e, what);
        *num = al_db_last_rowid(s);
        return rc < 0 ? rc : 0;
    }
    if ((rc = al_db_row(s, st, e, what)) != 0)
        return rc;
    *num = al_db_int64(st, 0);
    al_db_done(s, st);
    return 0;
}

/* Copy text `v` (NULL: "") into buf of `size`, cut to fit. */
static inline void al_store_copy(char *buf, size_t size, const char *v)
{
    snprintf(buf, size, "%s", v ? v : "");
}

/* A page cursor that is a row number (the lists keyed by an integer id: transfers, invoices,
 * contracts, price versions, deliveries) into *ret: 0 when there is none, else the whole text
 * must be decimal digits within int64. Checked before it is bound, so that a cursor that is not
 * a number is the caller's error naming it, not 0 (SQLite's CAST) nor a database error
 * (PostgreSQL's). common/num.h's parser is out of the store's reach (docs/design.md, "Rooms":
 * the store uses core only). 0, or AL_E_INVAL. */
static inline int al_store_cursor_num(const char *cursor, int64_t *ret, struct al_err *e)
{
    int64_t v = 0;
    *ret = 0;
    if (!cursor)
        return 0;
    for (const char *p = cursor; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10)
            return al_err_set(e, AL_E_INVAL,
                              "cursor: not a cursor of this list (a page's"
                              " next_cursor, a number)");
        v = v * 10 + (*p - '0');
    }
    if (!*cursor)
        return al_err_set(e, AL_E_INVAL, "cursor: empty");
    *ret = v;
    return 0;
}

/* ---- what the money files share (store_money.c, store_billing.c, store_ledger.c) ---- */

/* 0 when `num` is an org's ledger number, else AL_E_NOTFOUND naming it. */
int al_store_org_exists(struct al_store *s, uint64_t num, struct al_err *e);

/* The columns al_store_contract_row reads: contract_versions v joined to contracts c. */
#define AL_STORE_CV_SELECT                                                                         \
    "SELECT v.contract_id, v.version, c.org, v.terms, v.valid_from, v.valid_to, v.granularity,"    \
    " v.min_hours, v.draw_period, v.discount_bps, v.cancel_fee, v.cancel_fee_bps,"                 \
    " v.admin_may_cancel_active, v.self_service, v.payg_after_window, v.credit_limit,"             \
    " v.max_gpus, v.max_length_s, v.max_ahead, v.month_cap, v.created_at, v.created_by,"           \
    " c.ended_at, c.ended_by,"                                                                     \
    " (SELECT max(version) FROM contract_versions m WHERE m.contract_id = c.id)"                   \
    " FROM contract_versions v JOIN contracts c ON c.id = v.contract_id"

/* The current row of an AL_STORE_CV_SELECT query into *c (no rates yet) and *info (may be
 * NULL). 0, or AL_E_DB for a stored name core does not know. */
int al_store_contract_row(struct al_db_stmt *st, struct al_contract *c,
                          struct al_store_contract_info *info, struct al_err *e);
/* Append the rate in columns col..col+3 (model, gpu_hour, mig_slice_hour, pool_gpu_hour) of
 * the current row to c. 0, or AL_E_DB past AL_CONTRACT_MAX_RATES. */
int al_store_rate_row(struct al_db_stmt *st, int col, struct al_contract *c, struct al_err *e);

/* The columns al_store_billing_row reads, from reservation_billing. */
#define AL_STORE_RB_SELECT                                                                         \
    "SELECT num, reservation_id, org, contract_id, contract_version, start_at, end_at, rev,"       \
    " drawn, fees, cancelled, share FROM reservation_billing"

/* The current row of an AL_STORE_RB_SELECT query into *b (no lines yet). */
void al_store_billing_row(struct al_db_stmt *st, struct al_res_billing *b);
/* Append the price line in columns col..col+3 (what, unit, units, unit_price) to b. 0, or
 * AL_E_DB past AL_BILLING_MAX_LINES or for an unknown unit. */
int al_store_line_row(struct al_db_stmt *st, int col, struct al_res_billing *b, struct al_err *e);

#endif
