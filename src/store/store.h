/* store.h — the only door to allot's persistent data. One interface; the store_*.c files
 * implement it over a driver seam (db.h) whose one back end today is SQLite (db_sqlite.c); a
 * PostgreSQL driver can follow without touching the services (docs/postgres.md).
 *
 * Objects cross this interface as jansson objects whose fields are those of the HTTP API
 * (ids, names, RFC 3339 times are formatted by the server; the store keeps unix seconds in
 * the columns it filters on and the whole object as a JSON document beside them); the money
 * records cross it as core's own structs (see "money" below). Every function that returns a
 * json_t* through `ret` gives the caller a new reference (json_decref).
 *
 * A store handle is not thread-safe: the server serializes access with its own lock. Every
 * mutation of the services runs between al_store_begin() and al_store_commit() (or
 * al_store_rollback()); al_store_commit() returns only once the transaction is durable
 * (after al_store_defer_sync(): once al_store_sync() has returned).
 * Errors: AL_E_NOTFOUND (no such row), AL_E_CONFLICT (a unique key exists already),
 * AL_E_FULL (the disk is full: the write, and the transaction when the database ended
 * it, is not kept; reads go on, and writes succeed again once there is space), AL_E_DB
 * (anything else from the database), AL_E_NOMEM.
 */
#ifndef AL_STORE_STORE_H
#define AL_STORE_STORE_H

#include "core/billing.h"
#include "core/contract.h"
#include "core/err.h"
#include "core/invoice.h"
#include "core/ledger.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AL_STORE_HASH_LEN   32 /* BLAKE2b-256 of a token, of a request body */
#define AL_STORE_SCHEMA_VER 12 /* the newest migration this build knows */

struct al_store;

/* Open (creating when absent) the database at `path` and apply missing migrations.
 * Caller owns *ret: al_store_close(). */
int al_store_open(const char *path, struct al_store **ret, struct al_err *reterr);
/* al_store_open, migrating only up to schema `version` (1..AL_STORE_SCHEMA_VER): for the tests
 * of a migration, which write what an older build wrote and then open the database again. */
int al_store_open_at(const char *path, int version, struct al_store **ret, struct al_err *reterr);
void al_store_close(struct al_store *s);
/* Whether the --db value `db` names a PostgreSQL database (a `postgres://` or `postgresql://`
 * URI, or a libpq `key=value` string) rather than a SQLite file (docs/postgres.md). */
bool al_store_db_is_pg(const char *db);

/* The schema version recorded in the database. */
int al_store_schema_version(struct al_store *s);

/* Transactions. begin takes the write lock at once (no upgrade deadlocks); commit is durable
 * on return (see al_store_defer_sync for the exception); rollback never fails and is harmless
 * without an open transaction. */
int al_store_begin(struct al_store *s, struct al_err *reterr);
int al_store_commit(struct al_store *s, struct al_err *reterr);
void al_store_rollback(struct al_store *s);

/* Split commit from fsync, for a group committer that wants to run the next transaction while
 * the previous one's fsync is under way: after al_store_defer_sync(), al_store_commit() only
 * writes the transaction to the write-ahead log (synchronous=NORMAL: consistent, not yet
 * durable) and al_store_sync() makes every commit written so far durable (fdatasync of the
 * log). A commit is durable only once a later al_store_sync() has returned 0. al_store_sync
 * may run without the caller's lock, beside other store calls (it touches only its own fd).
 * Its failures: a -errno when the log's fdatasync failed (SQLite: what is on disk is unknown,
 * the caller stops), or AL_E_DB when the database could not make the commits durable
 * (PostgreSQL: the sync connection was lost, or the server restarted or failed over; the
 * commits since the last sync may or may not be kept, the database itself is consistent and
 * the caller may go on). */
int al_store_defer_sync(struct al_store *s, struct al_err *reterr);
int al_store_sync(struct al_store *s, struct al_err *reterr);

/* Savepoints inside an open transaction, so that many calls can share one transaction (one
 * fsync) and still fail alone: savepoint starts a unit, release keeps it, rollback_to undoes
 * it (and ends it). */
int al_store_savepoint(struct al_store *s, struct al_err *reterr);
int al_store_release(struct al_store *s, struct al_err *reterr);
void al_store_rollback_to(struct al_store *s);
/* Whether a statement failed retryably since the last al_store_savepoint: a deadlock (40P01),
 * a serialization failure (40001) or a lock timeout (55P03) on PostgreSQL, SQLITE_BUSY on
 * SQLite. Such a failure says nothing about the unit's own work, only that it met another
 * transaction's: once its savepoint is undone and the transactions it met have ended, the
 * same work may run again and succeed (server/txn.h's retries). */
bool al_store_retryable(struct al_store *s);
/* How many times the store opened its connection again after losing it (PostgreSQL restarted,
 * failed over, the backend terminated; it reconnects before the next statement outside a
 * transaction). What the caller keeps in memory from the database may be stale when it
 * changed: transactions it saw may have been lost with the connection. Always 0 on SQLite. */
unsigned al_store_reconnects(struct al_store *s);

/* Row locks (several replicas on one PostgreSQL, docs/postgres.md): a unit of work that
 * writes reads rows, decides in C and writes them back whole; another replica's unit may write
 * the same row in between, and a plain read would let one of the two writes silently undo the
 * other. So, on PostgreSQL, between al_store_savepoint and its release or rollback (the
 * server's write units and its clock), the getters of the rows that units rewrite lock what
 * they read (SELECT … FOR UPDATE): al_store_reservation_get, al_store_billing_get and _get_num
 * (the reservation's row first, then the billing row), al_store_request_get (the request's row,
 * not its quote's), al_store_container_get and _live, al_store_migchange_get, _open and
 * _all_open, al_store_pool_get and _open, and al_store_node_upsert its GPUs' rows (whether a
 * model may change depends on the holds a sale writes under the GPU's lock);
 * al_store_org_money_lock takes an org's money lock.
 * A second writer of the row waits for the first's commit, then reads the committed row (READ
 * COMMITTED: each statement sees what committed before it). The locks last until the batch
 * commits. Outside a unit (reads, AL_TXN_READ units inside the open batch) and always on SQLite
 * (one server's lock serializes every unit) they read as before: a read never waits, and a
 * lock wait never fails a read-only call. Lock order, to keep deadlocks rare: request, then
 * reservation, billing, org money, pool sessions, then balances (the transfer trigger's row
 * lock, which also holds the ledger's floor); the GPU rows (al_store_gpu_lock, before holds
 * are written) come after the request or reservation, before the money in a sale, after it in
 * an extension. A deadlock that remains (those two on one org and GPU; the clock's passes,
 * which lock lists of rows) fails the unit with AL_DB_F_RETRY, to be run again. Quotes are not
 * locked: a quote row is written once and never changed, and its request's lock serializes the
 * steps of the flow. */

/* Whether a transaction is open (the database may end one by itself after an I/O error). */
bool al_store_in_tx(struct al_store *s);

#ifdef AL_DEBUG
/* Fault injection, compiled in debug and test builds only (AL_DEBUG), so that tests reach the
 * paths a healthy disk never takes. al_store_fault_set arms `kind`: the nth event of that kind
 * from now fails, once (nth 0 disarms):
 *   AL_STORE_FAULT_COMMIT  al_store_commit fails with AL_E_DB; the transaction is rolled back.
 *   AL_STORE_FAULT_SYNC    al_store_sync's fdatasync fails with -EIO (only after
 *                          al_store_defer_sync: before, commits sync themselves).
 *   AL_STORE_FAULT_ALLOC   a statement runs out of memory in its step (AL_E_NOMEM), and the
 *                          database rolls back the open transaction, as SQLite does after an
 *                          allocation fails inside a statement: al_store_in_tx() turns false
 *                          under the caller. Only statements whose SQL contains `sql` count
 *                          (NULL or "": every statement; BEGIN, COMMIT and savepoints never).
 *   AL_STORE_FAULT_RETRY   a statement's step fails as a deadlock would (AL_E_DB, and
 *                          al_store_retryable() turns true); on PostgreSQL the transaction is
 *                          also put in the aborted state, as PostgreSQL leaves it after a real
 *                          40P01 (a statement that raises runs), so that only undoing the
 *                          savepoint makes it usable again. Simulated: no other transaction
 *                          and no lock are involved. Counts every step (each row is one).
 * Returns 0, or AL_E_INVAL for an unknown kind or a `sql` of 128 bytes or more.
 * al_store_open arms one fault from the environment, once its migrations have run, so that a
 * whole server can be tested: AL_STORE_FAULT=commit:N, sync:N, alloc:N[:SQL] or retry:N (N >= 1);
 * any other value fails the open with AL_E_INVAL. */
enum al_store_fault {
    AL_STORE_FAULT_COMMIT,
    AL_STORE_FAULT_SYNC,
    AL_STORE_FAULT_ALLOC,
    AL_STORE_FAULT_RETRY,
    AL_STORE_FAULT_KINDS
};
int al_store_fault_set(struct al_store *s, enum al_store_fault kind, unsigned nth, const char *sql);
#endif

/* A page of a list: at most `limit` rows whose key sorts after `cursor` (NULL: from the
 * start). *ret = JSON array; *next (caller frees, may be NULL) = cursor of the next page. */
struct al_store_page {
    const char *cursor;
    int limit;
};

/* ---- orgs: {id, name, customer_code|null, display_name|null, created_at} ---- */
int al_store_org_insert(struct al_store *s, json_t *org, struct al_err *reterr);
/* By id, name or customer code: the three are one namespace (the server refuses a clash);
 * in a database from before that rule, an id match wins, then a name match. */
int al_store_org_get(struct al_store *s, const char *key, json_t **ret, struct al_err *reterr);
/* All orgs, or only `only_id` when not NULL. */
int al_store_org_list(struct al_store *s, const char *only_id, struct al_store_page pg,
                      json_t **ret, char **next, struct al_err *reterr);

/* ---- users: {id, name, role, org|null, created_at}; the token only as its hash ---- */
int al_store_user_insert(struct al_store *s, json_t *user,
                         const uint8_t token_hash[AL_STORE_HASH_LEN], struct al_err *reterr);
int al_store_user_by_token(struct al_store *s, const uint8_t token_hash[AL_STORE_HASH_LEN],
                           json_t **ret, struct al_err *reterr);
int al_store_user_count(struct al_store *s, struct al_err *reterr);
int al_store_user_list(struct al_store *s, const char *org_id, struct al_store_page pg,
                       json_t **ret, char **next, struct al_err *reterr);

/* ---- node-bound agent tokens: {id, node, created_at}; at most one per node, the token only
 * as its hash ---- */
/* Bind the token of hash `token_hash` (id `id`) to node `node`, replacing the node's earlier
 * token if any. AL_E_CONFLICT when the hash or the id is another node's. */
int al_store_node_token_set(struct al_store *s, const char *node, const char *id,
                            const uint8_t token_hash[AL_STORE_HASH_LEN], int64_t created_at,
                            struct al_err *reterr);
/* The caller a node token stands for, shaped as a user: {id, name, role "agent", org null,
 * node, created_at} (*ret the caller's). AL_E_NOTFOUND when no node holds that token. */
int al_store_node_token_by_hash(struct al_store *s, const uint8_t token_hash[AL_STORE_HASH_LEN],
                                json_t **ret, struct al_err *reterr);
/* Revoke node `node`'s token. Returns 1 when there was one, 0 when not, or a code. */
int al_store_node_token_delete(struct al_store *s, const char *node, struct al_err *reterr);

/* ---- nodes and their GPUs ----
 * node = {name, zone|null, labels{}, last_seen, online, gpus:[gpu]},
 * gpu = {id, index, uuid, model, reported_model, pool, healthy, drained, present}.
 *
 * Upsert takes the node's report, {name, zone, labels, gpus:[{index, uuid, model, pool,
 * healthy}]}, at time `now`: last_seen = now, online. GPUs are their uuids: a reported GPU
 * whose uuid has a row keeps its id and takes the reported index, pool and health; a new one
 * gets the id "gpu_<node>-<index>" ("…-<index>-<k>" when that id is taken). `model` is the
 * model a GPU is planned and sold as, `reported_model` what its node last said: a GPU reported
 * as another model takes it at once when no live hold (ending after `now`, firm or unexpired
 * tentative) is on it, else keeps `model` until those holds are gone (its next report after
 * that applies the change). `present`: reported in the node's last upsert. GPUs not reported
 * are removed unless a hold references them (then they stay, not present). A uuid registered on
 * another node: AL_E_CONFLICT, nothing changed by that GPU. */
int al_store_node_upsert(struct al_store *s, json_t *node, int64_t now, struct al_err *reterr);
int al_store_node_get(struct al_store *s, const char *name, json_t **ret, struct al_err *reterr);
int al_store_node_list(struct al_store *s, struct al_store_page pg, json_t **ret, char **next,
                       struct al_err *reterr);
/* Every GPU (for planning): [gpu + {node, zone, online, labels} of its node], ordered by node then
 * index. */
int al_store_gpu_all(struct al_store *s, json_t **ret, struct al_err *reterr);
/* The GPUs whose agent reports MIG state (gpu.observed set), as al_store_gpu_all shapes them:
 * what the clock's MIG passes read each tick, by a partial index (migration 8). */
int al_store_gpu_managed(struct al_store *s, json_t **ret, struct al_err *reterr);
/* The online nodes last seen before `before`, in name order: [{name, last_seen}]. */
int al_store_node_stale(struct al_store *s, int64_t before, json_t **ret, struct al_err *reterr);
/* Mark node `name` online or offline (its report marks it online again). AL_E_NOTFOUND when
 * there is no such node. */
int al_store_node_set_online(struct al_store *s, const char *name, bool online,
                             struct al_err *reterr);
/* Owners (quote and reservation ids, sorted, distinct) of the holds live at `now` (ending after
 * it; firm, or tentative unexpired) on GPU `gpu_id`, or, when gpu_id is NULL, on every GPU of
 * node `node`: [id]. */
int al_store_gpu_holders(struct al_store *s, const char *node, const char *gpu_id, int64_t now,
                         json_t **ret, struct al_err *reterr);

/* ---- a GPU's MIG state (migration 7) ----
 * `observed`: what its agent last reported (server/node_report.h: {mig:{capable, current,
 * pending}, instances:[…], processes:[…], processes_total, …}), written by al_store_node_upsert
 * from the report's GPU member "observed" (absent: NULL, the agent reports no MIG state) and
 * shown by al_store_node_get / al_store_gpu_all as gpu.observed (null when none) and
 * gpu.observed_at. `desired`: the layout allot last put on the GPU ({mig, instances:[{profile,
 * profile_id, start}]}), shown as gpu.desired (null when none). */
/* Set GPU `gpu_id`'s desired layout (NULL clears it). AL_E_NOTFOUND when no such GPU. */
int al_store_gpu_desired_set(struct al_store *s, const char *gpu_id, json_t *desired,
                             struct al_err *reterr);

/* ---- change windows (migration 7): scope "default", "zone:NAME" or "node:NAME" ----
 * {scope, windows (core/window.h text), auto_apply, updated_at, updated_by}. */
int al_store_window_put(struct al_store *s, const char *scope, const char *windows, bool auto_apply,
                        int64_t at, const char *by, struct al_err *reterr);
/* 1 when the scope had a window, 0 when not, or a code. */
int al_store_window_delete(struct al_store *s, const char *scope, struct al_err *reterr);
/* Every window, by scope: *ret = [window] (the caller's). */
int al_store_window_list(struct al_store *s, json_t **ret, struct al_err *reterr);
/* The window that applies to node `node` of zone `zone` (NULL: none): the node's, else the
 * zone's, else the default. *ret = window (the caller's); AL_E_NOTFOUND when none applies. */
int al_store_window_for(struct al_store *s, const char *node, const char *zone, json_t **ret,
                        struct al_err *reterr);

/* ---- MIG changes (migration 7; server/migplan.c plans them, docs/migchange.md) ----
 * A change is stored as its document (the API's shape without the checks, which are computed
 * when it is read) with id, GPU, node, state and window in columns, and links to the
 * reservations it serves ("serves") or whose instances it touches ("holds"), with their orgs.
 * At most one open change (planned, approved, applying) per GPU: a second is AL_E_CONFLICT.
 * A change that ended (applied, failed, superseded) is never written again (AL_E_STATE). */
struct al_store_migchange {
    const char *id, *gpu, *node, *state; /* borrowed for the call */
    int64_t run_after, run_before;       /* its window */
    int64_t at;                          /* created_at (insert) or updated_at */
};
struct al_store_migchange_link {
    const char *reservation, *org, *role; /* role "serves" or "holds" */
};
/* Insert change `m` with `doc` and its links (insert true), or update an existing one's state,
 * window and doc (insert false; links are then left as they are). */
int al_store_migchange_put(struct al_store *s, const struct al_store_migchange *m, json_t *doc,
                           const struct al_store_migchange_link *links, size_t nlinks, bool insert,
                           struct al_err *reterr);
/* The change `id` as its document (*ret the caller's), or AL_E_NOTFOUND. */
int al_store_migchange_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr);
/* The open change of GPU `gpu_id` (*ret the caller's), or AL_E_NOTFOUND. */
int al_store_migchange_open(struct al_store *s, const char *gpu_id, json_t **ret,
                            struct al_err *reterr);
/* Changes, newest first, filtered by any of state, node, gpu and org (an org: the changes
 * linked to one of its reservations or acknowledged by it); NULL: any. Paged like the other
 * lists. */
struct al_store_migchange_filter {
    const char *state, *node, *gpu, *org;
};
int al_store_migchange_list(struct al_store *s, const struct al_store_migchange_filter *f,
                            struct al_store_page pg, json_t **ret, char **next,
                            struct al_err *reterr);
/* Every open change (planned, approved, applying) in id order: [doc] (the caller's). */
int al_store_migchange_all_open(struct al_store *s, json_t **ret, struct al_err *reterr);
/* The links of change `id`: [{reservation, org, role}] (the caller's). */
int al_store_migchange_links(struct al_store *s, const char *id, json_t **ret,
                             struct al_err *reterr);
/* The changes linked to reservation `rsv`, newest first: [doc]. */
int al_store_migchange_by_rsv(struct al_store *s, const char *rsv, json_t **ret,
                              struct al_err *reterr);
/* Record (or replace) org `org`'s acknowledgement of change `id`. */
int al_store_migchange_ack_put(struct al_store *s, const char *id, const char *org, const char *by,
                               int64_t at, bool job_shutdown, bool data_backup,
                               struct al_err *reterr);
/* The acknowledgements of change `id`, by org: [{org, by, at, job_shutdown, data_backup}]. */
int al_store_migchange_acks(struct al_store *s, const char *id, json_t **ret,
                            struct al_err *reterr);

/* ---- containers (migration 9; server/containers.c, docs/containers.md) ----
 * A container is stored as its document (the API's shape, without its logs) with its org,
 * creator, reservation (NULL: the pool), unit (the reservation's allocation index; -1 for the
 * pool), node, GPU, state, live (until exited, stopped or failed) and pool session in columns.
 * A container that ended is never written again (AL_E_STATE); none is ever deleted. */
struct al_store_container {
    const char *id, *org, *user; /* borrowed for the call; ids */
    const char *reservation;     /* "rsv_…", or NULL for a pool container */
    int unit;                    /* the reservation's allocation index, -1 for the pool */
    const char *node, *gpu;      /* node name, GPU store id */
    const char *state;           /* pending|running|stopping|exited|stopped|failed */
    int64_t pool_session;        /* the pool session metering it, or 0 */
    int64_t at;                  /* created_at (insert) or updated_at */
};
/* Insert container `m` with `doc` (insert true), or update an existing one's state,
 * reservation, unit, node, GPU, pool session and doc (insert false). AL_E_NOTFOUND when an
 * update finds no such container; AL_E_STATE when it ended already. */
int al_store_container_put(struct al_store *s, const struct al_store_container *m, json_t *doc,
                           bool insert, struct al_err *reterr);
/* Container `id` as its document (*ret the caller's), or AL_E_NOTFOUND. */
int al_store_container_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr);
/* Containers, newest first, filtered by any of org, user, reservation, node and state
 * (NULL: any), live ones only when `live`; paged like the other lists. */
struct al_store_container_filter {
    const char *org, *user, *reservation, *node, *state;
    bool live;
};
int al_store_container_list(struct al_store *s, const struct al_store_container_filter *f,
                            struct al_store_page pg, json_t **ret, char **next,
                            struct al_err *reterr);
/* Every live container (pending, running, stopping), of node `node` only when not NULL, in id
 * order: [doc] (the caller's); one indexed read. */
int al_store_container_live(struct al_store *s, const char *node, json_t **ret,
                            struct al_err *reterr);
/* Replace container `id`'s logs with the tail `logs` (n bytes, n <= AL_STORE_LOGS_MAX; any
 * bytes) as of `at`. AL_E_NOTFOUND when no such container. */
#define AL_STORE_LOGS_MAX 65536
int al_store_container_logs_set(struct al_store *s, const char *id, const char *logs, size_t n,
                                int64_t at, struct al_err *reterr);
/* Container `id`'s logs: *ret a malloc'd copy with a NUL after its *n bytes (the caller frees
 * it), *at when they were sent (0 and an empty text when never). AL_E_NOTFOUND when no such
 * container. */
int al_store_container_logs_get(struct al_store *s, const char *id, char **ret, size_t *n,
                                int64_t *at, struct al_err *reterr);

/* ---- node runtimes (migration 9): what node's agent last said of its container runtime ----
 * {node, kind ("docker-api" | "process"), ok, error|null, at}. */
int al_store_node_runtime_put(struct al_store *s, const char *node, const char *kind, bool ok,
                              const char *error, int64_t at, struct al_err *reterr);
/* *ret the node's runtime (the caller's), or AL_E_NOTFOUND when its agent never said. */
int al_store_node_runtime_get(struct al_store *s, const char *node, json_t **ret,
                              struct al_err *reterr);

/* ---- unit assignments (migration 9): a reservation's GPU or MIG instance (its allocation
 * index `unit`) given to one member of the org ----
 * put assigns (user not NULL; replaces any) or unassigns (user NULL: 1 when one was removed,
 * 0 when none). */
int al_store_assignment_put(struct al_store *s, const char *rsv, int unit, const char *user,
                            int64_t at, const char *by, struct al_err *reterr);
/* The reservation's assignments by unit: [{unit, user, at, by}] (the caller's). */
int al_store_assignment_list(struct al_store *s, const char *rsv, json_t **ret,
                             struct al_err *reterr);

/* ---- prices (micro-units per hour), kept as versions (see "money" below) ----
 * put appends a new version of p->model valid from p->updated_at; get answers the model's
 * newest version (the price as last set, whatever its valid_from: al_store_price_at answers
 * the one in force at a time); list the newest version of each model, by model. */
struct al_store_price {
    char model[65];
    int64_t gpu_hour;
    int64_t mig_slice_hour;
    int64_t pool_gpu_hour;
    int64_t updated_at;
};
int al_store_price_put(struct al_store *s, const struct al_store_price *p, struct al_err *reterr);
int al_store_price_get(struct al_store *s, const char *model, struct al_store_price *ret,
                       struct al_err *reterr);
/* [{model, gpu_hour_micros, mig_slice_hour_micros, pool_gpu_hour_micros, updated_at}] */
int al_store_price_list(struct al_store *s, json_t **ret, struct al_err *reterr);

/* ---- requests, quotes, reservations: documents with indexed columns ----
 * The document is stored as given and returned as stored; the columns that lists filter and
 * sort on come separately in `m`. put with insert=false replaces an existing row. */
struct al_store_doc_meta {
    const char *id;
    const char *org;   /* owning org id */
    const char *state; /* current state */
    int64_t t0, t1;    /* request: created/updated; reservation: start/end; quote: valid_until */
};
int al_store_request_put(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                         bool insert, struct al_err *reterr);
int al_store_request_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr);
/* Which requests a list keeps: of `org` (NULL: all), in `state` (NULL: any); by id (their
 * creation order) after pg.cursor, or with `newest_first` backwards, before pg.cursor. */
struct al_store_request_filter {
    const char *org;
    const char *state;
    bool newest_first;
};
int al_store_request_list(struct al_store *s, const struct al_store_request_filter *f,
                          struct al_store_page pg, json_t **ret, char **next,
                          struct al_err *reterr);

/* quote doc; m->org = request id it belongs to, m->t0 = valid_until. */
int al_store_quote_insert(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                          struct al_err *reterr);
/* Quote `id` as inserted, with "request": the id of the request it belongs to. 0 or
 * AL_E_NOTFOUND. */
int al_store_quote_get(struct al_store *s, const char *id, json_t **ret, struct al_err *reterr);
/* Requests in state quoted|approved|accepted whose quote ran out at `now`: [request ids]. */
int al_store_quote_expired(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr);

int al_store_reservation_put(struct al_store *s, const struct al_store_doc_meta *m, json_t *doc,
                             bool insert, struct al_err *reterr);
int al_store_reservation_get(struct al_store *s, const char *id, json_t **ret,
                             struct al_err *reterr);
int al_store_reservation_list(struct al_store *s, const char *org, const char *state,
                              struct al_store_page pg, json_t **ret, char **next,
                              struct al_err *reterr);
/* Reservation ids due a clock transition at `now`: scheduled with start <= now, active with
 * end <= now, and every provisioning one (the clock checks whether its layout is in place). */
int al_store_reservation_due(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr);

/* ---- holds: capacity taken on a GPU over [t0, t1) ----
 * `mask` is the set of placement units taken (a whole GPU takes every bit, so it collides
 * with any MIG hold); `expires_at` > 0 marks a tentative hold of a quote. */
struct al_store_hold {
    char gpu[96];
    char owner[40];   /* qte_… or rsv_… */
    char kind[8];     /* "gpu" | "mig" */
    char profile[32]; /* MIG profile, "" for whole GPUs */
    int start_unit;   /* -1 for whole GPUs */
    uint64_t mask;
    int64_t t0, t1;
    int64_t expires_at; /* 0 = firm */
};
int al_store_hold_add(struct al_store *s, const struct al_store_hold *h, struct al_err *reterr);
/* The n holds h[0..n) in one unit: all of them written, or none (a quote's or a reservation's
 * GPUs: one savepoint, not one per hold). */
int al_store_holds_add(struct al_store *s, const struct al_store_hold *h, size_t n,
                       struct al_err *reterr);
/* Number of live holds (firm, or tentative not expired at `now`) on h->gpu over
 * [h->t0, h->t1) sharing a bit of h->mask, other than those of h->owner ("" = none). */
int al_store_hold_conflicts(struct al_store *s, const struct al_store_hold *h, int64_t now,
                            struct al_err *reterr);
/* The live hold on h->gpu over [h->t0, h->t1), other than h->owner's, that a refusal names:
 * one sharing a bit of h->mask if any (else any other on the GPU: MIG rules other than the
 * units can collide too), the earliest first. 0 with *ret filled, or AL_E_NOTFOUND. */
int al_store_hold_first_conflict(struct al_store *s, const struct al_store_hold *h, int64_t now,
                                 struct al_store_hold *ret, struct al_err *reterr);
/* Live holds overlapping [t0, t1): calls `fn` for each; stops when it returns nonzero. */
typedef int (*al_store_hold_fn)(void *arg, const struct al_store_hold *h);
int al_store_hold_each(struct al_store *s, int64_t t0, int64_t t1, int64_t now, al_store_hold_fn fn,
                       void *arg, struct al_err *reterr);
/* The firm reservation holds (owner rsv_…, expires_at 0) on GPU `gpu` overlapping [t0, t1),
 * by start (then insertion): one indexed read of that GPU's holds, whatever the fleet's size.
 * 0 with *ret a new array the caller frees with free() (NULL when *n is 0). */
int al_store_hold_gpu_firm(struct al_store *s, const char *gpu, int64_t t0, int64_t t1,
                           struct al_store_hold **ret, size_t *n, struct al_err *reterr);
/* Give `from`'s holds to `to` as firm holds. Returns the number moved. */
int al_store_hold_transfer(struct al_store *s, const char *from, const char *to,
                           struct al_err *reterr);
/* Change the end of every hold of `owner` to t1. */
int al_store_hold_set_end(struct al_store *s, const char *owner, int64_t t1, struct al_err *reterr);
/* Remove every hold of `owner`. Returns the number removed. */
int al_store_hold_release(struct al_store *s, const char *owner, struct al_err *reterr);

/* ---- events: append-only (the schema refuses UPDATE and DELETE) ----
 * Returns the new event's sequence number (> 0). */
int64_t al_store_event_append(struct al_store *s, int64_t at, const char *actor, const char *kind,
                              const char *object, json_t *data, struct al_err *reterr);
/* Record that event `seq` concerns each of `orgs` (n of them; NULL entries and repeats are
 * skipped): who may see it besides the operators (migration 10's event_orgs). */
int al_store_event_orgs_add(struct al_store *s, int64_t seq, const char *const *orgs, size_t n,
                            struct al_err *reterr);
/* Events with seq > after, oldest first: [{seq, at, actor, kind, object, orgs: [org], data}]. */
int al_store_event_list(struct al_store *s, int64_t after, int limit, json_t **ret,
                        struct al_err *reterr);
/* The same, only the events that concern `org`. */
int al_store_event_list_org(struct al_store *s, const char *org, int64_t after, int limit,
                            json_t **ret, struct al_err *reterr);
/* The newest event's seq (0: none), or a negative code. */
int64_t al_store_event_last(struct al_store *s, struct al_err *reterr);
/* What a list keeps (NULL members: no filter): events of `org`; of kind `kind` exactly, or,
 * when `kind_prefix`, whose kind starts with `kind` ("reservation."); about `object`. With
 * `newest_first` the list runs backwards: seq < `before` (0: from the newest), newest first
 * (`after` is then ignored). */
struct al_store_event_filter {
    const char *org;
    const char *kind;
    bool kind_prefix;
    const char *object;
    bool newest_first;
    int64_t before;
};
/* al_store_event_list under a filter (f may be NULL: none). */
int al_store_event_find(struct al_store *s, const struct al_store_event_filter *f, int64_t after,
                        int limit, json_t **ret, struct al_err *reterr);
/* Note that the notice `kind` about `object` was given, unless it was before: 1 when it is new
 * (append its event now), 0 when it was given already (migration 10's notices). */
int al_store_notice_once(struct al_store *s, const char *object, const char *kind, int64_t at,
                         struct al_err *reterr);
/* The reservations whose notice `kind` is due and not given: when `at_start`, the scheduled
 * ones starting in (now, now + lead]; else the active or provisioning ones ending in it.
 * [{id, org, start, end, doc}], at most 1000 (the rest next time). */
int al_store_notice_due(struct al_store *s, const char *kind, bool at_start, int64_t now,
                        int64_t lead, json_t **ret, struct al_err *reterr);
/* The orgs (distinct, sorted) of the reservations and quotes among `owners` (an array of ids,
 * as al_store_gpu_holders gives them): [org]. */
int al_store_owner_orgs(struct al_store *s, const json_t *owners, json_t **ret,
                        struct al_err *reterr);
/* The orgs (distinct, sorted) of the reservations MIG change `id` serves or holds: [org]. */
int al_store_migchange_orgs(struct al_store *s, const char *id, json_t **ret,
                            struct al_err *reterr);

/* ---- idempotency: the first answer to (key, caller) ----
 * lookup: 0 with *status and *response (caller frees) when found with the same body hash;
 * AL_E_CONFLICT when found with another body; AL_E_NOTFOUND when new. */
int al_store_idem_get(struct al_store *s, const char *key, const char *caller,
                      const uint8_t body_hash[AL_STORE_HASH_LEN], int *status, char **response,
                      struct al_err *reterr);
struct al_store_idem {
    const char *key, *caller;
    const uint8_t *body_hash; /* AL_STORE_HASH_LEN bytes */
    int status;
    const char *response;
    int64_t at;
};
int al_store_idem_put(struct al_store *s, const struct al_store_idem *r, struct al_err *reterr);

/* ---- money: price versions, contracts, billing states, pool sessions, the ledger, invoices
 * (docs/billing.md). Core decides every amount (core/contract.h, billing.h, ledger.h,
 * invoice.h); these calls record its decisions and read them back, as core's own structs.
 *
 * Numbers: core names orgs, reservations, contracts, invoices, pool sessions and transfers by
 * integers > 0. The store gives them: every org has a ledger number from its insert on
 * (al_store_org_num); a reservation gets one when its billing state is inserted; contracts,
 * invoices, pool sessions and transfers get theirs when written. Lists answer JSON (the
 * API's shape: money as *_micros integers, times as unix seconds for the server to format,
 * orgs by their API id) a page at a time; the cursor is the last row's number.
 *
 * What is agreed or has happened is never changed: price versions, contract versions and
 * their rates, a reservation's contract version, start, share and frozen lines, transfers,
 * invoice lines; the schema refuses UPDATE and DELETE of them (AL_E_CONFLICT if tried). */

#define AL_STORE_ID_MAX 64 /* an org's or a user's id, with its NUL */

/* The ledger number of the org whose id is `org_id` into *ret. 0 or AL_E_NOTFOUND. */
int al_store_org_num(struct al_store *s, const char *org_id, uint64_t *ret, struct al_err *reterr);
/* The id of the org numbered `num` into ret. 0 or AL_E_NOTFOUND. */
int al_store_org_id(struct al_store *s, uint64_t num, char ret[AL_STORE_ID_MAX],
                    struct al_err *reterr);
/* Row locks (above): the lock of org `num`'s money decisions, taken before what they read
 * (its balances, the share its reservations hold, the ones ahead, the month's spend, its pool
 * sessions), so that two replicas cannot both pass a limit that reads the org's other rows:
 * on PostgreSQL inside a unit, its ledger_orgs row FOR UPDATE; elsewhere nothing. 0, or
 * AL_E_NOTFOUND, or a code (AL_DB_F_RETRY's after a deadlock or the lock timeout). */
int al_store_org_money_lock(struct al_store *s, uint64_t num, struct al_err *reterr);

/* ---- price versions: each set of a model's price is a new version (1, 2, …) ----
 * The version in force at t is the newest version whose valid_from <= t: a later version
 * supersedes every earlier one from its valid_from on. */
struct al_store_price_version {
    char model[65];
    uint32_t version; /* given by al_store_price_version_add */
    int64_t valid_from;
    struct al_rates rates; /* each >= 0 */
    int64_t created_at;
    char created_by[AL_STORE_ID_MAX]; /* a user id, "" when none */
};
/* Append a new version of pv->model (the store numbers it: pv->version). AL_E_INVAL for a
 * negative price or an empty model. */
int al_store_price_version_add(struct al_store *s, struct al_store_price_version *pv,
                               struct al_err *reterr);
/* Version `version` of `model`. 0 or AL_E_NOTFOUND. */
int al_store_price_version_get(struct al_store *s, const char *model, uint32_t version,
                               struct al_store_price_version *ret, struct al_err *reterr);
/* The version of `model` in force at `t`. 0 or AL_E_NOTFOUND (none valid yet). */
int al_store_price_at(struct al_store *s, const char *model, int64_t t,
                      struct al_store_price_version *ret, struct al_err *reterr);
/* The versions of `model`, oldest first: [{model, version, valid_from, gpu_hour_micros,
 * mig_slice_hour_micros, pool_gpu_hour_micros, created_at, created_by|null}]. */
int al_store_price_history(struct al_store *s, const char *model, struct al_store_page pg,
                           json_t **ret, char **next, struct al_err *reterr);

/* ---- contracts: (id, version), core's struct al_contract ----
 * A contract belongs to one org (c->org, a ledger number). Each version is kept as written;
 * an amendment is the next version. Ending a contract marks it ended from `at` on: its
 * versions stay readable (reservations confirmed under them keep them), nothing new may be
 * sold under it from then (al_store_contract_in_force leaves it out; a caller holding a
 * version checks info.ended_at). */
struct al_store_contract_info {
    int64_t created_at;               /* of this version */
    char created_by[AL_STORE_ID_MAX]; /* of this version; "" when none */
    uint32_t newest;                  /* the contract's newest version */
    int64_t ended_at;                 /* 0 while not ended */
    char ended_by[AL_STORE_ID_MAX];
};
/* Create a contract from *c (its id and version are the store's: set into c->id, and
 * c->version = 1). Checked by al_contract_validate first (AL_E_INVAL naming the field);
 * AL_E_NOTFOUND when c->org is no org's number. `by` may be NULL. */
int al_store_contract_create(struct al_store *s, struct al_contract *c, int64_t at, const char *by,
                             struct al_err *reterr);
/* Amend contract c->id: *c becomes its next version (c->version is set to it), checked by
 * al_contract_amend_check against the newest (AL_E_INVAL; c->org must stay). AL_E_NOTFOUND,
 * AL_E_STATE once the contract is ended. */
int al_store_contract_amend(struct al_store *s, struct al_contract *c, int64_t at, const char *by,
                            struct al_err *reterr);
/* End contract `id` at `at`. AL_E_NOTFOUND, AL_E_STATE when ended already. */
int al_store_contract_end(struct al_store *s, uint64_t id, int64_t at, const char *by,
                          struct al_err *reterr);
/* Version `version` of contract `id` (0: the newest) into *ret, and its record into *info
 * (may be NULL). 0 or AL_E_NOTFOUND. */
int al_store_contract_get(struct al_store *s, uint64_t id, uint32_t version,
                          struct al_contract *ret, struct al_store_contract_info *info,
                          struct al_err *reterr);
/* The contract of org `org` in force at `t`: its newest version is valid at t and it was
 * not ended at or before t; the most recently created one when several are. 0 or
 * AL_E_NOTFOUND. */
int al_store_contract_in_force(struct al_store *s, uint64_t org, int64_t t, struct al_contract *ret,
                               struct al_store_contract_info *info, struct al_err *reterr);
/* The contracts of org `org` (0: every org), by id, each at its newest version: [{id, org,
 * version, terms, valid_from, valid_to, self_service, created_at, ended_at|null}]. */
int al_store_contract_list(struct al_store *s, uint64_t org, struct al_store_page pg, json_t **ret,
                           char **next, struct al_err *reterr);

/* ---- a confirmed reservation's billing state: core's struct al_res_billing ----
 * insert (at confirmation) numbers it (b->id) and freezes its org, contract version, start,
 * share and price lines; update writes what a decision changes (end, rev, drawn, fees,
 * cancelled), which never go back (AL_E_CONFLICT: the schema refuses; AL_E_INVAL when *b
 * differs from the stored one in a frozen field). */
int al_store_billing_insert(struct al_store *s, const char *reservation_id,
                            struct al_res_billing *b, struct al_err *reterr);
/* insert under contract version `k`, which the caller has read already (a confirmation: its
 * org's contract in force); AL_E_INVAL when it is not b's. */
int al_store_billing_insert_under(struct al_store *s, const char *reservation_id,
                                  const struct al_contract *k, struct al_res_billing *b,
                                  struct al_err *reterr);
int al_store_billing_update(struct al_store *s, const struct al_res_billing *b,
                            struct al_err *reterr);
/* By reservation id, or by number (then the reservation's id into rid when not NULL).
 * 0 or AL_E_NOTFOUND. */
int al_store_billing_get(struct al_store *s, const char *reservation_id, struct al_res_billing *ret,
                         struct al_err *reterr);
int al_store_billing_get_num(struct al_store *s, uint64_t id, struct al_res_billing *ret,
                             char rid[AL_STORE_ID_MAX], struct al_err *reterr);

/* What org `org`'s confirmed reservations hold, for the concurrency limit: the span (start,
 * end, share) of each one not cancelled, not numbered `skip` (0: none), whose window overlaps
 * [from, to): ret->v (caller frees; NULL when none) holding ret->n. */
struct al_store_spans {
    struct al_share_span *v;
    size_t n;
};
int al_store_billing_spans(struct al_store *s, uint64_t org, int64_t from, int64_t to,
                           uint64_t skip, struct al_store_spans *ret, struct al_err *reterr);
/* How many of org `org`'s reservations (not cancelled, not numbered `skip`) start after
 * `now`: the reservations ahead. */
int al_store_billing_ahead(struct al_store *s, uint64_t org, int64_t now, uint64_t skip,
                           int64_t *ret, struct al_err *reterr);

/* The billing states with a draw due at `now` (balance or invoiced terms; the next period to
 * draw, p(drawn), begins at or before now and before the end: al_billing_draws_due > drawn),
 * by that period's start, then number, through an index: *ret (caller frees; NULL when none)
 * holding *ret_n numbers. */
int al_store_billing_draw_due(struct al_store *s, int64_t now, uint64_t **ret, size_t *ret_n,
                              struct al_err *reterr);

/* ---- clock marks: how far a pass of the server's clock has got ----
 * set records that pass `name` (1..63 bytes) completed up to `at`; a mark never goes back (an
 * earlier `at` leaves it). get answers it, 0 when the pass never completed. */
int al_store_mark_set(struct al_store *s, const char *name, int64_t at, struct al_err *reterr);
int al_store_mark_get(struct al_store *s, const char *name, int64_t *ret, struct al_err *reterr);

/* ---- pay-as-you-go pool sessions: metered from start to stop (billing.h) ---- */
struct al_store_pool {
    struct al_pool_session sess; /* id (the store's), org, start, metered_to (charged
                                  * through), share, rate */
    char user[AL_STORE_ID_MAX];  /* who started it; "" when none */
    char gpu[96];                /* the pool GPU's id */
    uint64_t contract_id;        /* the contract version it runs under */
    uint32_t contract_version;
    int64_t stopped_at; /* 0 while it runs */
};
/* Start a session from *p (p->sess.id is set; metered_to starts at sess.start). AL_E_INVAL
 * for a share <= 0 or a negative rate; AL_E_CONFLICT when the contract is not the org's. */
int al_store_pool_start(struct al_store *s, struct al_store_pool *p, struct al_err *reterr);
/* Record that session `id` is charged up to `to` (after the usage transfer of the piece).
 * AL_E_CONFLICT if `to` is before what was charged already or after its stop. */
int al_store_pool_charged(struct al_store *s, uint64_t id, int64_t to, struct al_err *reterr);
/* Stop session `id` at `at` (>= its start and charged-through). AL_E_STATE when stopped. */
int al_store_pool_stop(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr);
int al_store_pool_get(struct al_store *s, uint64_t id, struct al_store_pool *ret,
                      struct al_err *reterr);
/* The sessions still running, of org `org` (0: all), by id: *ret (caller frees; NULL when
 * none) holding *ret_n. */
int al_store_pool_open(struct al_store *s, uint64_t org, struct al_store_pool **ret, size_t *ret_n,
                       struct al_err *reterr);

/* ---- the ledger: transfers and cached balances (core/ledger.h) ----
 * append writes transfer *t (checked by al_ledger_validate: AL_E_INVAL) and moves the cached
 * balances of its two accounts in the same statement. Its key decides (al_ledger_idem): a
 * key not seen yet writes it and returns 0, *ret the transfer as written (id, its number);
 * a key written before with the same transfer returns AL_STORE_REPLAY with *ret the first
 * one, writing nothing; a key written before with another transfer returns AL_E_CONFLICT.
 * A debit of org_cash is made under `credit_limit` (>= 0; ignored for other debits): when it
 * would take the cash below -credit_limit, AL_E_PAYMENT with *ret_refusal (may be NULL) an
 * insufficient_balance refusal, and nothing written. AL_E_NOTFOUND when its org has no
 * ledger number; AL_E_RANGE when a balance would overflow. t->id is ignored (the store
 * numbers it), t->at kept as given; `now` is when it is written (its created_at). */
#define AL_STORE_REPLAY 1
int al_store_transfer_append(struct al_store *s, const struct al_transfer *t, int64_t credit_limit,
                             int64_t now, struct al_transfer *ret, struct al_refusal *ret_refusal,
                             struct al_err *reterr);
/* The transfer written with `key`. 0 or AL_E_NOTFOUND. */
int al_store_transfer_get(struct al_store *s, const char *key, struct al_transfer *ret,
                          struct al_err *reterr);

/* Which transfers a list or a load takes: those of org `org` (0: every org), debiting or
 * crediting account kind `acct` (-1: any), of kind `kind` (-1: any), with `at` in
 * [from, to) (to <= from: any time). */
struct al_store_xfer_filter {
    uint64_t org;
    int acct; /* enum al_acct_kind, or -1 */
    int kind; /* enum al_transfer_kind, or -1 */
    int64_t from, to;
};
/* By id: [{id, kind, debit, credit, org, amount_micros, at, ref: {kind, id, sub},
 * reservation|null (the reservation's id when ref is one), key, created_at}]. */
int al_store_transfer_list(struct al_store *s, const struct al_store_xfer_filter *f,
                           struct al_store_page pg, json_t **ret, char **next,
                           struct al_err *reterr);
/* Every transfer `f` takes, by id, as core's structs (for al_invoice_build, a month's spend):
 * *ret (caller frees; NULL when none) holding *ret_n. */
int al_store_transfer_load(struct al_store *s, const struct al_store_xfer_filter *f,
                           struct al_transfer **ret, size_t *ret_n, struct al_err *reterr);
/* The cached balance of account `a` (0 for one no transfer has touched). */
int al_store_balance_get(struct al_store *s, struct al_account a, int64_t *ret,
                         struct al_err *reterr);

/* ---- invoices (core/invoice.h) ----
 * create writes *inv (built by al_invoice_build, checked by al_invoice_check: AL_E_INVAL)
 * with its lines, frozen from then; inv->spec.id is set to its number and inv->issued is
 * ignored (an invoice is written unissued). One per org, payer and period start
 * (AL_E_CONFLICT). issue marks it issued (with al_invoice_issue's transfers, in the same
 * transaction), paid marks it paid (with al_invoice_pay's): AL_E_STATE when it is so already,
 * or, for paid, when not issued or a statement (payer org_cash). */
struct al_store_invoice_info {
    int64_t created_at;
    int64_t issued_at; /* 0 when not issued */
    int64_t paid_at;   /* 0 when not paid */
};
int al_store_invoice_create(struct al_store *s, struct al_invoice *inv, int64_t now,
                            struct al_err *reterr);
int al_store_invoice_issued(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr);
int al_store_invoice_paid(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr);
/* Invoice `id` with its lines into *ret (release with al_invoice_done, also after a
 * failure), and its dates into *info (may be NULL). 0 or AL_E_NOTFOUND. */
int al_store_invoice_get(struct al_store *s, uint64_t id, struct al_invoice *ret,
                         struct al_store_invoice_info *info, struct al_err *reterr);
/* The invoices of org `org` (0: every org), by id: [{id, org, payer, period_from, period_to,
 * exact_micros, total_micros, rounding_micros, lines, created_at, issued_at|null,
 * paid_at|null}]. */
int al_store_invoice_list(struct al_store *s, uint64_t org, struct al_store_page pg, json_t **ret,
                          char **next, struct al_err *reterr);

/* ---- verify: what al_ledger_verify reads, loaded from the store ----
 * load fills *ret from one snapshot of the database: every cached balance, every transfer,
 * every reservation billing state, every contract version, every issued invoice with its
 * lines; view.now = now. ret->view points into the arrays ret owns: release them with
 * al_store_ledger_free (also after a failure; harmless on a zeroed struct). */
struct al_store_ledger {
    struct al_ledger_view view;
    struct al_ledger_account *accounts;
    struct al_transfer *transfers;
    struct al_res_billing *reservations;
    struct al_contract *contracts;
    struct al_invoice *invoices; /* each one's lines allocated */
};
int al_store_ledger_load(struct al_store *s, int64_t now, struct al_store_ledger *ret,
                         struct al_err *reterr);
void al_store_ledger_free(struct al_store_ledger *l);

/* ---- metrics ----
 * What GET /metrics reads (store/store_metrics.c), into *ret (the caller's): {"reservations":
 * {state: count}, "balances": {account: summed balance in micros}, "nodes": [{name, last_seen
 * (unix s), online}], "mig": [{model, profile, state: "held" | "free", n}] (the instances
 * the agents reported; held: a live hold covers their units at `now`)}. Small aggregate
 * queries; run under the server's lock. */
int al_store_metrics(struct al_store *s, int64_t now, json_t **ret, struct al_err *reterr);
/* Webhooks: store/store_webhook.h. Several replicas on PostgreSQL: store/store_replica.h. */

#endif
