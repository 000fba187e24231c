/* call.h — one HTTP call from the fields of its request to its answer, without
 * libmicrohttpd: the checks on the request head (NUL bytes, lengths, the framing headers,
 * repeated fields), the route, who calls and may they (all before any body is read), then the
 * body and the call's unit of work (server/txn.h), then the answer as JSON text. server.c
 * fills the fields from libmicrohttpd; tests/fuzz/fuzz_call.c from bytes. Internal to
 * src/server. */
#ifndef AL_SERVER_CALL_H
#define AL_SERVER_CALL_H

#include "server/http.h"
#include "server/router.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AL_CALL_MAX_TARGET  4096 /* request-target (path and query) as sent: 414 beyond */
#define AL_CALL_MAX_QUERY   32   /* query parameters: 400 beyond */
#define AL_CALL_MAX_HEADERS 64   /* header fields: 431 beyond */

/* A header field or query parameter: name and value with their lengths. A value may hold a
 * NUL byte before val[val_len] (the call refuses it); both are NUL-terminated at their
 * length. */
struct al_kv {
    const char *key;
    size_t key_len;
    const char *val;
    size_t val_len;
};

/* A request's head as the transport received it. Borrowed: it must outlive the call. */
struct al_req {
    const char *method;
    const char *target; /* the request-target as sent ("/v1/orgs?limit=2"), percent-encoded */
    size_t target_len;  /* its length (a NUL byte before it is refused) */
    const struct al_kv *headers;
    size_t nheaders;
    /* the transport saw a NUL byte in the head that the fields above do not show (the
     * listener's library cuts a field at it): refused */
    bool hidden_nul;
};

/* The answer to send. `text` is owned by the caller of al_call_reply (free()). */
struct al_reply {
    int status;
    char *text; /* JSON, or of content_type */
    size_t len;
    const char *content_type;     /* static; NULL: application/json */
    const char *www_authenticate; /* value of WWW-Authenticate (a 401 or a bad credential), or
                                   * NULL; static */
    /* the answer is this event stream (server/evstream.h), not `text` (NULL): the caller's,
     * given to al_evstream_response */
    struct al_evsub *stream;
};

/* A call between its head and its answer. Zero it before al_call_begin. */
struct al_call {
    struct al_ctx c;
    const struct al_req *req;
    const struct al_route *route;
    bool head;            /* HEAD: routed as GET; the listener sends no body */
    bool answered;        /* the answer is ready: a refusal, or the call ran */
    bool had_credentials; /* an Authorization field came with the call */
    int proto_status;     /* HTTP status of a refusal of the head (411, 413, 414, 431, 501) */
    const char *proto_code;
    uint64_t body_len;             /* the announced Content-Length (<= AL_HTTP_MAX_BODY) */
    const char *idem_key;          /* Idempotency-Key of a POST, or NULL */
    char path[AL_ROUTER_MAX_PATH]; /* the decoded path */
    char segs[AL_ROUTER_MAX_PATH]; /* its copy, split into segments by the router */
    /* the decoded query parameters, each name and value NUL-terminated: at most the query's
     * length plus two bytes per parameter */
    char query[AL_CALL_MAX_TARGET + 2 * AL_CALL_MAX_QUERY];
    struct al_kv params[AL_CALL_MAX_QUERY];
    size_t nparams;
    /* the unit of work's wait for its commit when the listener parks the call (al_call_run_parked),
     * and the detail of its error */
    struct al_txn_park park;
    struct al_err err;
};

/* The first phase, once the head is in: checks the head (400 for a NUL byte anywhere, a
 * malformed or repeated framing field, header or query parameter; 411, 413, 414, 431, 501), finds
 * the route (404), authenticates the caller and checks the role (401, 403). Returns true when the
 * call goes on (read at most k->body_len bytes of body, then al_call_run), false when its
 * answer is ready (al_call_reply). */
bool al_call_begin(struct al_call *k, struct al_srv *srv, const struct al_req *req);

/* The second phase: with the body (`len` bytes, not NUL-terminated), parse it and run the
 * call's unit of work. */
void al_call_run(struct al_call *k, const char *body, size_t len);

/* The second phase for a listener that can set a call aside (libmicrohttpd suspends its
 * connection): as al_call_run, but when the unit of work has to wait for its batch's commit
 * (or, a snapshot read, for server/txn.h's read gate), `suspend(arg)` is called and true
 * returned; once it may go on, `resume(arg)` is called from another thread (the committer; for
 * a read, a writer leaving the lock, the gate's thread or the drain), and then al_call_resumed
 * finishes the call. False: the call is finished (al_call_reply). */
bool al_call_run_parked(struct al_call *k, const char *body, size_t len, void (*suspend)(void *arg),
                        void (*resume)(void *arg), void *arg);

/* The end of a parked call's second phase, after its `resume`, with the same body as
 * al_call_run_parked's: true when it parked again (never twice for one reason), false when
 * it is finished (al_call_reply). A read parked by the read gate (server/txn.h) runs here. */
bool al_call_resumed(struct al_call *k, const char *body, size_t len);

/* The answer: the refusal of either phase, or the handler's reply. Returns 0, or AL_E_NOMEM
 * (out->text NULL; send a bare 500). */
int al_call_reply(struct al_call *k, struct al_reply *out);

/* Releases what the call holds (not `k` itself). */
void al_call_end(struct al_call *k);

/* The first header field named `name` (case-insensitive), or NULL; *count (may be NULL)
 * receives how many fields have that name. */
const struct al_kv *al_req_header(const struct al_req *req, const char *name, size_t *count);

/* The server's state without a listener: the store on `db` (with the server's deferred
 * sync), the in-memory calendar, the locks and the committer thread. What al_server_run
 * starts under libmicrohttpd, and what the fuzz target runs calls against. al_srv_close
 * stops and frees it (after the last call). */
int al_srv_open(struct al_srv *srv, const char *db, const char *clock_file, struct al_err *reterr);
void al_srv_close(struct al_srv *srv);

#endif
