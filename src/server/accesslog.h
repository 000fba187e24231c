/* accesslog.h — the structured access log: one JSON line per call ({"time", "method",
 * "path", "route", "status", "ms", "user", "client", "bytes"}), never a token, a query string
 * or a body. A call's thread only formats its line and copies it into a buffer under a short
 * lock; the log's own thread writes the buffer out at least every second (or sooner when it
 * fills half), so that no call waits on the disk or makes a system call of its own to log.
 * When the writer falls behind and the buffer is full, lines are dropped and counted (never a
 * call held up). Internal to src/server. */
#ifndef AL_SERVER_ACCESSLOG_H
#define AL_SERVER_ACCESSLOG_H

#include "core/err.h"

#include <stdint.h>

struct al_accesslog;

/* One call, as the listener saw it. Strings are borrowed; `path` and `method` come from the
 * client (escaped and bounded here); `route` is the router's pattern or NULL (unmatched),
 * `user` the caller's id or NULL. */
struct al_access {
    const char *method;
    const char *path; /* the request-target as sent; cut at its '?': no query is logged */
    const char *route;
    int status;
    double ms;
    const char *user;
    const char *client; /* the peer's address, or NULL */
    uint64_t bytes;     /* the answer's body */
};

/* Open the log at `where`: a file path (appended to, created 0640), "-" for stderr, or "off"
 * (then *ret is NULL and nothing is logged). Starts the writer thread. 0, or a negative code
 * with reterr. Owned by the caller: al_accesslog_close. */
int al_accesslog_open(const char *where, struct al_accesslog **ret, struct al_err *reterr);

/* Write what is buffered, stop the writer, close the file (never stderr). Accepts NULL. */
void al_accesslog_close(struct al_accesslog *l);

/* Log one call. Thread-safe; `l` may be NULL (off). */
void al_accesslog_write(struct al_accesslog *l, const struct al_access *a);

/* Lines dropped because the buffer was full (0 for NULL). */
uint64_t al_accesslog_dropped(const struct al_accesslog *l);

/* The line of `a` (with its '\n', NUL-terminated) into out (cap bytes); its length, or 0 when
 * it does not fit. `now_ms`: unix milliseconds of the "time" field. What al_accesslog_write
 * buffers; apart for the unit test. */
size_t al_accesslog_format(const struct al_access *a, int64_t now_ms, char *out, size_t cap);

#endif
