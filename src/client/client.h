/* client.h — allot's HTTP/JSON client (libcurl + jansson), used by the CLI, the agent and the
 * benchmarks. One client object = one server URL, one bearer token and one reusable libcurl
 * handle (keep-alive). A client is not shared between threads: make one per thread.
 *
 * Every byte the server sends is untrusted: response bodies are bounded (AL_CLIENT_MAX_BODY),
 * parsed as JSON only when they are JSON, and an error body becomes an al_err carrying the
 * server's stable code (mapped to AL_E_*) and its message.
 */
#ifndef AL_CLIENT_CLIENT_H
#define AL_CLIENT_CLIENT_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>

#define AL_CLIENT_MAX_BODY  (8u << 20) /* largest response body accepted */
#define AL_CLIENT_MAX_URL   4096       /* base URL + path + query */
#define AL_CLIENT_MAX_TOKEN 512
#define AL_CLIENT_MAX_IDEM  128 /* Idempotency-Key length, as the server bounds it */

struct al_client;

/* A new client for `server` ("http://host:port", no trailing path) and `token` (NULL: no
 * Authorization header). Both strings are copied. Returns NULL with `reterr` set on bad input
 * or no memory. Caller owns the result: al_client_free(). */
struct al_client *al_client_new(const char *server, const char *token, struct al_err *reterr);
void al_client_free(struct al_client *c);

/* Timeouts in milliseconds: connecting, and the whole call (0 = library default: 5 s, 30 s). */
void al_client_set_timeouts(struct al_client *c, long connect_ms, long total_ms);

/* The base URL the client talks to (owned by `c`). */
const char *al_client_server(const struct al_client *c);

/* One HTTP call: `method` ("GET", "POST", "PUT", "DELETE") on `path` (starting with '/',
 * query string included and already encoded), with `body` as JSON (borrowed; NULL = none) and
 * an optional Idempotency-Key. Calls carrying a key (and GET/PUT, which are idempotent) are
 * retried once when the connection fails before an answer arrives.
 *
 * Returns 0 when the server answered 2xx. Otherwise a negative code: the server's error code
 * mapped to AL_E_* (reterr->msg = "message (code)"), or AL_E_IO when no answer came (then
 * *ret_status = 0). *ret_status (may be NULL) gets the HTTP status; *ret_json (may be NULL)
 * gets the parsed body, or NULL when there was none or it was not JSON; the caller owns it
 * (json_decref), on failure too, so that error details can be shown. */
int al_client_call(struct al_client *c, const char *method, const char *path, json_t *body,
                   const char *idempotency_key, long *ret_status, json_t **ret_json,
                   struct al_err *reterr);

/* GET `path` and hand over the answer's bytes as they came (a CSV, an HTML page): on 2xx,
 * *ret_body (caller frees; NULL when the answer was empty) holding *ret_len bytes; otherwise
 * the error as al_client_call reports it, with *ret_status (may be NULL) as there. */
int al_client_get_raw(struct al_client *c, const char *path, char **ret_body, size_t *ret_len,
                      long *ret_status, struct al_err *reterr);

/* Receives a piece of a streamed answer's body as it comes; non-zero stops the stream. */
typedef int (*al_client_data_fn)(const char *data, size_t len, void *arg);
/* GET `path` as a stream (GET /v1/events?follow=1): a 2xx answer's body goes to `fn` piece by
 * piece, with no limit on its length or duration; the transfer fails when nothing at all came
 * for `idle_s` seconds (the server's keepalives keep a healthy stream busy). Returns 0 when
 * the server ended the stream or `fn` stopped it; else the error as al_client_call reports it
 * (an error answer's body is bounded and parsed for its message), *ret_status as there. */
int al_client_stream(struct al_client *c, const char *path, long idle_s, al_client_data_fn fn,
                     void *arg, long *ret_status, struct al_err *reterr);
/* Map a server error code string ("no_capacity") to AL_E_* (status decides when unknown). */
int al_client_code(const char *code, long status);

/* A path under construction: segments and query parameters are percent-encoded on append.
 * Errors (too long) stick and are reported by al_path_str(). */
struct al_path {
    char buf[2048];
    size_t len;
    int nquery;
    int err;
};

/* Start with a literal prefix such as "/v1/requests" (not encoded). */
void al_path_init(struct al_path *p, const char *prefix);
/* Append "/<seg>" with `seg` percent-encoded. */
void al_path_seg(struct al_path *p, const char *seg);
/* Append "?key=value" or "&key=value", encoded; does nothing when `value` is NULL. */
void al_path_query(struct al_path *p, const char *key, const char *value);
/* The path (owned by `p`), or NULL with `reterr` set when it grew too long. */
const char *al_path_str(const struct al_path *p, struct al_err *reterr);

/* Percent-encode `s` (RFC 3986 unreserved characters kept) into `out` of `cap` bytes.
 * Returns the length written, or -ERANGE when it does not fit. */
int al_url_encode(const char *s, char *out, size_t cap);

/* Fill `out` (cap >= 33) with 32 random hex characters from the system's CSPRNG, to use as
 * an Idempotency-Key. Returns 0 or -errno. */
int al_client_random_key(char *out, size_t cap);

#endif
