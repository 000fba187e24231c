/* sbuf.h — a bounded string builder over a caller's buffer that keeps snprintf's contract: it
 * writes what fits, always NUL-terminated, and counts everything, so that a caller can return
 * the length needed and see truncation (len >= cap). Core's formatters (layout text, messages,
 * mig-parted YAML) append with it instead of each keeping its own copy.
 */
#ifndef AL_CORE_SBUF_H
#define AL_CORE_SBUF_H

#include "core/err.h"

#include <stddef.h>

struct al_sbuf {
    char *buf;  /* the caller's buffer, borrowed */
    size_t cap; /* its size in bytes */
    size_t len; /* length of all text appended, including what did not fit */
};

/* Start an empty string in buf[cap]; with cap 0 (buf may be NULL) it only counts. */
void al_sbuf_init(struct al_sbuf *b, char *buf, size_t cap);

/* Append printf-style text: what fits is written, all of it is counted in b->len. */
void al_sbuf_printf(struct al_sbuf *b, const char *fmt, ...) AL_PRINTF(2, 3);

#endif
