/* assert.h — AL_ASSERT(cond): an invariant the code relies on, checked in debug and test
 * builds (AL_DEBUG: the `debug` and `fuzz` presets) and compiled out in release, as SQLite's
 * assert() is. A failed check prints file:line and the expression on stderr and aborts.
 *
 * Only for programming errors: a state that no input can reach when the code is right. A bad
 * request, file, row or NVML answer is an error path (return a code), never an assert; the
 * expression must have no side effect, since release builds do not evaluate it. Core may use
 * it: it needs libc alone.
 */
#ifndef AL_CORE_ASSERT_H
#define AL_CORE_ASSERT_H

#ifdef AL_DEBUG

#include <stdio.h>
#include <stdlib.h>

static inline _Noreturn void al_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
    (void)fflush(stderr);
    abort();
}

#define AL_ASSERT(cond) ((cond) ? (void)0 : al_assert_fail(#cond, __FILE__, __LINE__))

#else

/* Not evaluated, but still compiled: the names in it stay used and type-checked. */
#define AL_ASSERT(cond) ((void)sizeof((cond) ? 1 : 0))

#endif

#endif
