/* sqlite_internal.h — what the SQLite files of the store share, and nothing outside
 * src/store/ may include: the handle, and the statement helpers of sqlite_stmt.c through which
 * every query of the table files below runs.
 *
 *   sqlite.c           open, migrations, transactions, durability (sync), fault injection
 *   sqlite_stmt.c      statement cache, binding, stepping, error mapping, pages of lists
 *   sqlite_accounts.c  orgs, users
 *   sqlite_fleet.c     nodes, GPUs, prices
 *   sqlite_flow.c      requests, quotes, reservations, holds, events, idempotency
 *   sqlite_money.c     ledger numbers of orgs, price versions (and the price list), contracts
 *   sqlite_billing.c   reservation billing states, draws due, clock marks, pool sessions
 *   sqlite_ledger.c    transfers, balances, invoices, the snapshot that ledger verify reads
 *   sqlite_migchange.c change windows, MIG changes, their links and acknowledgements
 *   sqlite_metrics.c   the aggregates GET /metrics reads
 *   sqlite_webhook.c   webhooks, the dispatcher's cursor, deliveries and their attempts
 */
#ifndef AL_STORE_SQLITE_INTERNAL_H
#define AL_STORE_SQLITE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

/* Prepared statements are kept for reuse, keyed by their SQL text's address (every
 * statement is a string literal): parsing dominated short calls. A statement is reset after
 * every use; the cache is finalized when the store closes. */
#define AL_SQLITE_STMT_CACHE 96

struct al_sqlite_slot {
    const char *sql;
    sqlite3_stmt *st;
    bool busy;
};

#ifdef AL_DEBUG
#define AL_SQLITE_FAULT_SQL_MAX 128

/* Armed faults (al_store_fault_set): left[k] counts down the events of kind k; the one that
 * brings it to 0 fails. Each count is touched only by its own kind's calls, so that
 * al_store_sync may run beside the others. */
struct al_sqlite_faults {
    unsigned left[AL_STORE_FAULT_KINDS];
    char sql[AL_SQLITE_FAULT_SQL_MAX]; /* ALLOC: only statements whose SQL holds this */
    int rc; /* the SQLite code of an injected step failure, until al_sqlite_fail reads it */
};
#endif

/* Request documents as last updated or read (parsed), so that each step of the flow does not
 * parse its request again from the row's text: direct-mapped by id, each a private copy. The
 * store is their durable copy: any rollback empties the cache (al_sqlite_docs_clear), so that
 * it never holds what the database undid. */
#define AL_SQLITE_DOC_CACHE  256
#define AL_SQLITE_DOC_ID_MAX 48

struct al_sqlite_doc {
    char id[AL_SQLITE_DOC_ID_MAX];
    json_t *doc; /* owned; NULL: a free slot */
};

struct al_store {
    sqlite3 *db;
    bool in_tx;
    int wal_fd; /* -1, or the write-ahead log, for al_store_sync (deferred sync) */
    struct al_sqlite_slot cache[AL_SQLITE_STMT_CACHE];
    struct al_sqlite_doc docs[AL_SQLITE_DOC_CACHE];
#ifdef AL_DEBUG
    struct al_sqlite_faults fault;
#endif
};

/* Forget every cached document (a rollback, or the store closing). */
void al_sqlite_docs_clear(struct al_store *s);

/* Run `sql`, one control statement (BEGIN, COMMIT, SAVEPOINT, RELEASE: a string literal), from
 * the statement cache: sqlite3_exec would parse it again at every use, several times per write
 * call. 0, or the store code with the database's message in `e`. */
int al_sqlite_exec(struct al_store *s, const char *sql, struct al_err *e);

/* The database's last error as a store code: AL_E_CONFLICT for a constraint, AL_E_NOMEM,
 * AL_E_FULL when a write found the disk full (SQLITE_FULL: the unix VFS's answer to ENOSPC or
 * a short write), else AL_E_DB: other I/O errors too, an over-quota write (EDQUOT) among them,
 * since SQLite 3.40 keeps no errno for the failed write or fsync of a COMMIT. */
int al_sqlite_code(struct al_store *s);

/* al_sqlite_code's code, recorded in `e` with `what` failed and SQLite's message. Returns the
 * code. */
int al_sqlite_fail(struct al_store *s, struct al_err *e, const char *what);

/* Prepare `sql` (a string literal: the cache keys on its address) and bind arguments described
 * by `fmt`: 't' text (NULL binds NULL), 'i' int64, 'n' int64 that binds NULL when negative (a
 * limit that is not set), 'b' an AL_STORE_HASH_LEN-byte blob. On success *st is the caller's
 * to give back with al_sqlite_done; on failure *st is NULL. */
int al_sqlite_prep(struct al_store *s, sqlite3_stmt **st, struct al_err *e, const char *sql,
                   const char *fmt, ...);

/* Give back a statement of al_sqlite_prep: reset when cached, finalized otherwise. Accepts
 * NULL. */
void al_sqlite_done(struct al_store *s, sqlite3_stmt *st);

/* sqlite3_step, with the ALLOC fault of debug builds (al_store_fault_set). */
int al_sqlite_step(struct al_store *s, sqlite3_stmt *st);

/* Step a statement that returns no rows and give it back. Returns changes() or a code. */
int al_sqlite_run(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what);

/* Step `st` for its one row: 0 with the row current (read it, then al_sqlite_done), or
 * AL_E_NOTFOUND ("no <what>") or an error, `st` given back on those two paths. */
int al_sqlite_row(struct al_store *s, sqlite3_stmt *st, struct al_err *e, const char *what);

/* A unit of several statements that is kept or undone whole, inside the caller's transaction
 * or alone (a savepoint). end releases it when rc is 0, else rolls it back; returns rc, or
 * the release's error. */
int al_sqlite_unit_begin(struct al_store *s, struct al_err *e);
int al_sqlite_unit_end(struct al_store *s, int rc, struct al_err *e);

/* Grow *arr (of `size`-byte items, *cap of them) to hold at least n + 1. 0 or AL_E_NOMEM. */
int al_sqlite_grow(void **arr, size_t *cap, size_t n, size_t size, struct al_err *e);

/* Turns the current row of a list query into a new object (NULL when out of memory); column 0
 * is the sort key, which the row function stores as "_key". */
typedef json_t *(*al_sqlite_row_fn)(sqlite3_stmt *st);

/* Run a list query, limited to `limit` + 1 rows, into *ret (a new array, the caller's): at most
 * `limit` objects made by `row`; when there is one more row, *next (when not NULL; the
 * caller frees) is the cursor of the next page. Gives `st` back on every path. */
int al_sqlite_collect(struct al_store *s, sqlite3_stmt *st, int limit, al_sqlite_row_fn row,
                      json_t **ret, char **next, struct al_err *e);

/* A document row of a list (an al_sqlite_row_fn): column 0 the key, column 1 the JSON text; a
 * corrupt document shows as an empty object rather than failing the list. */
json_t *al_sqlite_doc_row(sqlite3_stmt *st);

/* The one JSON document `sql` (one text parameter, `key`) selects into *ret (the caller's):
 * 0, AL_E_NOTFOUND ("no <what> <key>", or "no <key>" when what is NULL), AL_E_DB for a stored
 * text that is not JSON, or another error. */
int al_sqlite_doc_one(struct al_store *s, const char *sql, const char *key, const char *what,
                      json_t **ret, struct al_err *e);

/* A page's limit: 100 when not given, at most 500. */
int al_sqlite_page_limit(struct al_store_page pg);

/* Column i of the current row as text (borrowed until the next step), or NULL. */
static inline const char *al_sqlite_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* A new JSON string, or JSON null for NULL. */
static inline json_t *al_sqlite_str_or_null(const char *v)
{
    return v ? json_string(v) : json_null();
}

/* The string member `k` of `o` (borrowed), or NULL. */
static inline const char *al_sqlite_jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Copy text `v` (NULL: "") into buf of `size`, cut to fit. */
static inline void al_sqlite_copy(char *buf, size_t size, const char *v)
{
    snprintf(buf, size, "%s", v ? v : "");
}

/* ---- what the money files share (sqlite_money.c, sqlite_billing.c, sqlite_ledger.c) ---- */

/* 0 when `num` is an org's ledger number, else AL_E_NOTFOUND naming it. */
int al_sqlite_org_exists(struct al_store *s, uint64_t num, struct al_err *e);

/* The columns al_sqlite_contract_row reads: contract_versions v joined to contracts c. */
#define AL_SQLITE_CV_SELECT                                                                        \
    "SELECT v.contract_id, v.version, c.org, v.terms, v.valid_from, v.valid_to, v.granularity,"    \
    " v.min_hours, v.draw_period, v.discount_bps, v.cancel_fee, v.cancel_fee_bps,"                 \
    " v.admin_may_cancel_active, v.self_service, v.payg_after_window, v.credit_limit,"             \
    " v.max_gpus, v.max_length_s, v.max_ahead, v.month_cap, v.created_at, v.created_by,"           \
    " c.ended_at, c.ended_by,"                                                                     \
    " (SELECT max(version) FROM contract_versions m WHERE m.contract_id = c.id)"                   \
    " FROM contract_versions v JOIN contracts c ON c.id = v.contract_id"

/* The current row of an AL_SQLITE_CV_SELECT query into *c (no rates yet) and *info (may be
 * NULL). 0, or AL_E_DB for a stored name core does not know. */
int al_sqlite_contract_row(sqlite3_stmt *st, struct al_contract *c,
                           struct al_store_contract_info *info, struct al_err *e);
/* Append the rate in columns col..col+3 (model, gpu_hour, mig_slice_hour, pool_gpu_hour) of
 * the current row to c. 0, or AL_E_DB past AL_CONTRACT_MAX_RATES. */
int al_sqlite_rate_row(sqlite3_stmt *st, int col, struct al_contract *c, struct al_err *e);

/* The columns al_sqlite_billing_row reads, from reservation_billing. */
#define AL_SQLITE_RB_SELECT                                                                        \
    "SELECT num, reservation_id, org, contract_id, contract_version, start_at, end_at, rev,"       \
    " drawn, fees, cancelled, share FROM reservation_billing"

/* The current row of an AL_SQLITE_RB_SELECT query into *b (no lines yet). */
void al_sqlite_billing_row(sqlite3_stmt *st, struct al_res_billing *b);
/* Append the price line in columns col..col+3 (what, unit, units, unit_price) to b. 0, or
 * AL_E_DB past AL_BILLING_MAX_LINES or for an unknown unit. */
int al_sqlite_line_row(sqlite3_stmt *st, int col, struct al_res_billing *b, struct al_err *e);

#ifdef AL_DEBUG
/* Whether the armed fault `kind` fires at this event: counts it down and disarms it when it
 * fires. `sql`: the statement's text, for ALLOC's filter (NULL for the other kinds). */
bool al_sqlite_fault_fires(struct al_store *s, enum al_store_fault kind, const char *sql);
#endif

#endif
