/* http.h — what the server's resource files share: the server state, the per-call context a
 * handler works on, the route table entry, replies and errors, and the validators that turn
 * untrusted JSON fields into checked values (naming the field when they refuse). Internal to
 * src/server. */
#ifndef AL_SERVER_HTTP_H
#define AL_SERVER_HTTP_H

#include "core/err.h"
#include "core/event.h"
#include "server/auth.h"
#include "server/idem.h"
#include "server/limits.h"
#include "server/txn.h"
#include "store/store.h"

struct al_cal;
struct al_call;
struct al_metrics;
struct al_accesslog;
struct al_migplan_said;
struct al_evstream;
struct al_evsub;
struct al_webhooks;
struct al_web;

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define AL_HTTP_MAX_BODY  (1u << 20) /* request bodies */
#define AL_HTTP_MAX_DEPTH 16         /* JSON nesting */
/* the bounds of names, free text and Idempotency-Key: server/limits.h's table holds them with
 * every other field's */
#define AL_HTTP_MAX_NAME   64   /* names: [A-Za-z0-9._-] */
#define AL_HTTP_MAX_TEXT   4096 /* free text */
#define AL_HTTP_MAX_IDEM   128  /* Idempotency-Key */
#define AL_HTTP_MAX_PARAMS 3
#define AL_HTTP_ID_LEN     40

/* Roles as bits, so that a route lists those it admits. */
enum {
    AL_ROLE_OPERATOR = 1u << 0,
    AL_ROLE_ORG_ADMIN = 1u << 1,
    AL_ROLE_MEMBER = 1u << 2,
    AL_ROLE_AGENT = 1u << 3,
    AL_ROLE_ANY = 0xfu,
    AL_ROLE_PUBLIC = 1u << 4, /* no token needed */
};

/* The running server. One store handle, one lock: every store access (reads included) and
 * every plan + write to the log happens under `lock`, which is what makes overbooking
 * impossible; only the fsync of a written batch (server/txn.h) and the availability reads of
 * the in-memory calendar (under `cal_rw`) run outside it. */
struct al_srv {
    struct al_store *store;
    struct al_cal *cal; /* in-memory fleet + calendar + planner (server/cal.h) */
    pthread_mutex_t lock;
    const char *clock_file;      /* test-only: file holding the current unix time */
    int64_t heartbeat_timeout_s; /* a node silent for longer is offline (server/jobs.c) */
    /* containers (docs/containers.md): how long before a reservation takes a GPU its pool
     * containers are warned (and the planner never places one sooner on a GPU running pool
     * work), and how long before a reservation's end its containers are warned */
    int64_t pool_notice_s;
    int64_t end_warning_s;
    int64_t start_notice_s; /* reservation.starting this long before a start (server/notices.h) */
    struct al_txn txn;      /* the group commit */
    /* GET /metrics' counters (server/metrics.h), counted without a lock; and the access log
     * (server/accesslog.h), NULL when off. Made by al_srv_open / al_server_run. */
    struct al_metrics *metrics;
    struct al_accesslog *accesslog;
    /* `cal` is changed (and replaced) only with `lock` held and `cal_rw` held for writing;
     * availability reads take only `cal_rw` for reading: they never wait for a writer's
     * commit. Lock order: lock, then cal_rw. */
    pthread_rwlock_t cal_rw;
    struct al_auth_cache auth;   /* tokens seen before */
    struct al_idem_key idem_key; /* seals secrets in Idempotency-Key records; memory only */
    /* the planner's lines on stderr about GPUs it cannot plan, each said once (server/migplan.h);
     * NULL until one is said; written under `lock`, freed by al_srv_close */
    struct al_migplan_said *migplan_said;
    struct al_evstream *evstream; /* the event streams and their wake-up (server/evstream.h) */
    /* the webhook dispatcher and the key of hook secrets (server/webhooks.h); NULL when not
     * started (al_srv_open alone: the unit tests, the fuzz target) */
    struct al_webhooks *webhooks;
    /* the dashboard's files (server/web.h), read at start; NULL: none served */
    struct al_web *web;
};

/* The current time in unix seconds: the clock file's content when one is set, else the
 * system clock. */
int64_t al_srv_now(const struct al_srv *srv);

/* One HTTP call as a handler sees it. A background job works on one too (server/jobs.c): no
 * call, no caller, user_id "clock". */
struct al_ctx {
    struct al_srv *srv;
    const struct al_call *call; /* the request (server/call.h); NULL for a job */
    const char *method;
    const char *params[AL_HTTP_MAX_PARAMS]; /* the '*' segments of the route */
    json_t *body;                           /* parsed body object ({} when empty) */
    json_t *user;                           /* the caller: {id, name, role, org} */
    unsigned role;                          /* AL_ROLE_* bit of the caller */
    const char *user_id;
    const char *org; /* caller's org id, NULL for operators and agents */
    int64_t now;
    bool cal_touched; /* srv->cal was changed: rebuild it unless the transaction commits */
    /* reply */
    int status;
    json_t *resp;
    char *resp_text;         /* a non-JSON answer (al_http_reply_text), owned; else NULL */
    const char *resp_type;   /* its Content-Type; static */
    struct al_evsub *stream; /* an event stream the answer opens (server/evstream.h), owned */
    /* error (when a handler fails) */
    int err_code;
    char err_field[AL_HTTP_MAX_NAME + 1];
    char err_msg[AL_ERR_MSG_MAX];
    json_t *err_details;
    int err_refusal;     /* with AL_E_PAYMENT: core's enum al_refusal_code, which names the API
                          * code (insufficient_balance, limit_exceeded) and its status (402, 409) */
    const char *err_api; /* static, or NULL: the API's code for a refusal that err_code's name
                          * does not say ("checks_failed"); the status stays err_code's */
};

typedef int (*al_handler_fn)(struct al_ctx *c);

struct al_route {
    const char *method;
    const char *pattern; /* e.g. "/v1/requests/<*>/quote" where <*> is '*': one segment */
    al_handler_fn fn;
    unsigned roles;
    bool write;    /* runs in one store transaction; answered after commit */
    bool snapshot; /* reads only srv->cal, under cal_rw: no store lock, no commit wait */
};

/* Reply `status` with `j` (stolen). Returns 0. */
int al_http_reply(struct al_ctx *c, int status, json_t *j);
/* Reply `status` with `text` (malloc'd, stolen; NULL: fails the call, out of memory) of
 * Content-Type `type` (static, e.g. "text/html; charset=utf-8"). Returns 0 or AL_E_NOMEM. */
int al_http_reply_text(struct al_ctx *c, int status, const char *type, char *text);

/* Fail with `code` (AL_E_*), naming `field` (may be NULL) in details.field. Returns `code`.
 * al_http_fail_details also attaches `details` (stolen). */
int al_http_fail(struct al_ctx *c, int code, const char *field, const char *fmt, ...)
    AL_PRINTF(4, 5);
int al_http_fail_details(struct al_ctx *c, int code, json_t *details, const char *fmt, ...)
    AL_PRINTF(4, 5);
/* Fail from a store/core error record. */
int al_http_fail_err(struct al_ctx *c, int code, const struct al_err *e);

/* Forget the answer a handler made on `c` (its reply, its error, an event stream it opened)
 * and that srv->cal was touched: before a unit of work runs the handler again (server/txn.h's
 * retries), so that the answer is the last run's alone. */
void al_http_reset_answer(struct al_ctx *c);

/* HTTP status and stable code name of an AL_E_* code. */
int al_http_status(int code);
const char *al_http_code_name(int code);

/* Query-string parameter, decoded (NULL when absent; never holds a NUL byte, never given
 * twice: server/call.c refuses those). */
const char *al_http_query(struct al_ctx *c, const char *key);
/* limit (1..500, default 100) and cursor from the query string; fails naming the field. */
int al_http_page(struct al_ctx *c, struct al_store_page *pg);
/* {"items": items (stolen), "next_cursor": next|null}; frees next. */
json_t *al_http_list(json_t *items, char *next);
/* Whether `k` is in the NULL-terminated `list`. */
bool al_field_listed(const char *const *list, const char *k);

/* ---- field validators: each returns 0, or fails the call naming the field ----
 * `required` false: an absent (or null) field leaves *ret unchanged and returns 0. */
/* A string within limit `lim` of server/limits.h (length and characters). */
int al_field_limit(struct al_ctx *c, json_t *o, const char *key, enum al_limit_id lim,
                   bool required, const char **ret);
/* al_field_limit with AL_LIMIT_NAME. */
int al_field_name(struct al_ctx *c, json_t *o, const char *key, bool required, const char **ret);
int al_field_text(struct al_ctx *c, json_t *o, const char *key, bool required, size_t max,
                  const char **ret);
int al_field_int(struct al_ctx *c, json_t *o, const char *key, bool required, int64_t min,
                 int64_t max, int64_t *ret);
int al_field_bool(struct al_ctx *c, json_t *o, const char *key, bool *ret);
int al_field_time(struct al_ctx *c, json_t *o, const char *key, bool required, int64_t *ret);
/* Refuse any key of `o` not in the NULL-terminated `allowed`. */
int al_field_only(struct al_ctx *c, json_t *o, const char *const *allowed);

/* Is `s` a valid name (AL_LIMIT_NAME: [A-Za-z0-9._-], 1..AL_HTTP_MAX_NAME)? */
bool al_name_ok(const char *s);

/* A decimal integer in [min, max], the whole string (common/num.h: digits, an optional '-',
 * no '+', no spaces). 0 or AL_E_INVAL. */
int al_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);

/* ---- times: RFC 3339 UTC ("2026-12-01T00:00:00Z") ---- */
int al_time_parse(const char *s, int64_t *ret);
/* Formats into `buf` (>= 21 bytes) and returns it. */
char *al_time_fmt(int64_t t, char *buf, size_t cap);
/* New JSON string of the time. */
json_t *al_time_json(int64_t t);
/* Replace integer members `keys` (NULL-terminated) of `o` by RFC 3339 strings. */
void al_time_fields(json_t *o, const char *const *keys);
/* The time members of stored records, NULL-terminated: created_at, updated_at, last_seen. */
extern const char *const al_time_keys[];

/* ---- ids ---- */
/* "<prefix>_" + 8 hex of the time + 8 random hex into `buf` (>= AL_HTTP_ID_LEN). */
void al_id_new(const char *prefix, int64_t now, char *buf, size_t cap);

/* Append an event of `kind` (its name in the log: core/event.h) about `object` (who = the
 * caller, or "system" for the clock) with `data` (stolen, may be NULL), concerning `org` (its
 * users see it in GET /v1/events and its webhooks get it; NULL: the fleet's or the operators'
 * own, which only operators see); fails the call on error. */
int al_event(struct al_ctx *c, enum al_event_kind kind, const char *org, const char *object,
             json_t *data);
/* The same for an event that concerns `n` orgs (a GPU's failure, a MIG change: every org with
 * a reservation on it); NULL entries are skipped. */
int al_event_orgs(struct al_ctx *c, enum al_event_kind kind, const char *const *orgs, size_t n,
                  const char *object, json_t *data);
/* The same with the orgs as a JSON array of strings (borrowed; NULL: none). */
int al_event_orgs_json(struct al_ctx *c, enum al_event_kind kind, const json_t *orgs,
                       const char *object, json_t *data);

/* An event about MIG change `id` (stored, with its links): it concerns every org with a
 * reservation the change serves or holds. */
int al_event_migchange(struct al_ctx *c, enum al_event_kind kind, const char *id, json_t *data);
/* An event about a node or GPU: it concerns the orgs of the reservations and quotes among
 * `owners` (al_store_gpu_holders' array; borrowed). */
int al_event_holders(struct al_ctx *c, enum al_event_kind kind, const json_t *owners,
                     const char *object, json_t *data);

/* The caller may see objects of `org`: operators always, others only their own. */
bool al_ctx_sees(const struct al_ctx *c, const char *org);

#endif
