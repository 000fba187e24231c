/* evstream.h — the live event stream (GET /v1/events?follow=1, server-sent events) and the
 * wake-up on committed events that it and the webhook dispatcher share. A stream is a
 * libmicrohttpd response whose content reader fills from the store and, when there is nothing
 * to send, suspends its connection (no worker thread waits on it); one streamer thread resumes
 * the suspended streams when a batch holding events commits, and every 15 s for a keepalive.
 * Only committed events are sent: a stream reads the log in a read unit of work
 * (server/txn.h), which returns only after the batch it saw is on disk, and sends nothing of a
 * batch that failed. Internal to src/server. */
#ifndef AL_SERVER_EVSTREAM_H
#define AL_SERVER_EVSTREAM_H

#include "core/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

struct al_srv;
struct al_ctx;
struct MHD_Connection;
struct MHD_Response;

#define AL_EVSTREAM_MAX         64  /* streams open at once: 503 beyond */
#define AL_EVSTREAM_KEEPALIVE_S 15  /* a ": keepalive" comment after this long quiet */
#define AL_EVSTREAM_PAGE        100 /* events read from the log at once */

/* The stream's state beside the server (srv->evstream): al_evstream_open in al_srv_open,
 * al_evstream_close in al_srv_close (after the listener stopped). Between them, the streamer
 * thread runs from al_evstream_start to al_evstream_stop (before the listener stops: it
 * resumes every suspended stream, which libmicrohttpd requires before MHD_stop_daemon). */
int al_evstream_open(struct al_srv *srv, struct al_err *reterr);
int al_evstream_start(struct al_srv *srv, struct al_err *reterr);
void al_evstream_stop(struct al_srv *srv);
void al_evstream_close(struct al_srv *srv);

/* al_event calls it after appending: the open batch holds an event (under the server's lock,
 * in a write). Does nothing when srv->evstream is NULL. */
void al_evstream_appended(struct al_srv *srv);

/* Wait until a batch holding events, numbered after generation `seen`, has finished (commit),
 * or `timeout_ms` passed, or the streams stop. Returns the generation now (> seen when events
 * may have been committed since `seen`; a spurious wake-up finds nothing new in the log), or
 * `seen` on timeout or stop. Start with seen = 0. For the webhook dispatcher too. */
uint64_t al_evstream_wait(struct al_srv *srv, uint64_t seen, unsigned timeout_ms);

/* What a stream sends: the events after `after` (a seq) under `f` (its strings copied). */
struct al_evsub;

/* A new stream for the caller of c (counted against AL_EVSTREAM_MAX: AL_E_UNAVAILABLE with
 * the call failed beyond it). *ret is the caller's: al_evstream_response takes it, or
 * al_evsub_free. */
int al_evsub_new(struct al_ctx *c, const struct al_store_event_filter *f, int64_t after,
                 struct al_evsub **ret);
void al_evsub_free(struct al_evsub *sub);

/* The response that streams `sub` (taken, freed with the response or here on failure) on
 * `conn`: text/event-stream, no cache. NULL when out of memory. */
struct MHD_Response *al_evstream_response(struct al_evsub *sub, struct MHD_Connection *conn);

/* A stored event (al_store_event_find's row) in the API's shape, in place: "id" evt_… for its
 * seq, "at" as RFC 3339. Returns its seq. */
int64_t al_evstream_shape(json_t *ev);

#endif
