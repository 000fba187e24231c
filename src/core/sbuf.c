/* sbuf.c — bounded string builder (see sbuf.h). */
#include "core/sbuf.h"

#include "core/assert.h"

#include <stdarg.h>
#include <stdio.h>

void al_sbuf_init(struct al_sbuf *b, char *buf, size_t cap)
{
    if (!buf)
        cap = 0; /* nowhere to write: only count */
    *b = (struct al_sbuf){.buf = buf, .cap = cap, .len = 0};
    if (cap)
        buf[0] = '\0'; /* a string even if nothing is appended or vsnprintf fails */
}

void al_sbuf_printf(struct al_sbuf *b, const char *fmt, ...)
{
    va_list ap;
    AL_ASSERT(b->buf || b->cap == 0); /* al_sbuf_init makes a NULL buffer count only */
    char *dst = b->len < b->cap ? b->buf + b->len : NULL;
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    va_start(ap, fmt);
    int k = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        b->len += (size_t)k;
    AL_ASSERT(b->cap == 0 || b->buf[b->len < b->cap ? b->len : b->cap - 1] == '\0');
}
