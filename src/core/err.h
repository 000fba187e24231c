/* err.h — allot's error codes and the optional error detail every fallible call takes.
 *
 * Convention (whole project): functions return int, 0 (or a count >= 0) on success and a
 * negative code on failure: -errno for system failures, AL_E_* for allot's own. Detail for a
 * person goes into an optional `struct al_err *reterr` (NULL when the caller does not care).
 * It lives in core because core may include nothing but core and libc, and every room uses it.
 */
#ifndef AL_CORE_ERR_H
#define AL_CORE_ERR_H

#include <stddef.h>

#if defined(__GNUC__)
#define AL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define AL_WARN_UNUSED       __attribute__((warn_unused_result))
#else
#define AL_PRINTF(fmt, args)
#define AL_WARN_UNUSED
#endif

/* Project codes sit far below errno values so the two never collide. */
enum al_code {
    AL_OK = 0,
    AL_E_INVAL = -20001, /* bad input: a field, a name, a layout */
    AL_E_NOTFOUND = -20002,
    AL_E_CONFLICT = -20003, /* exists already, or a concurrent change won */
    AL_E_NOFIT = -20004,    /* no capacity / no placement */
    AL_E_RANGE = -20005,    /* a size or count over its bound */
    AL_E_STATE = -20006,    /* transition not allowed from the current state */
    AL_E_AUTH = -20007,     /* missing or bad credentials */
    AL_E_FORBIDDEN = -20008,
    AL_E_UNSUPPORTED = -20009,
    AL_E_IO = -20010,
    AL_E_DB = -20011,
    AL_E_NVML = -20012,
    AL_E_NOMEM = -20013,
    AL_E_INTERNAL = -20014,
    AL_E_PAYMENT = -20015, /* insufficient balance or a contract limit */
    AL_E_EXPIRED = -20016,
    AL_E_FULL = -20017,        /* the disk holding the data is full: nothing was written */
    AL_E_UNAVAILABLE = -20018, /* a service the call needs (a node's runtime) is unreachable */
};

#define AL_ERR_MSG_MAX 256

struct al_err {
    int code;
    char msg[AL_ERR_MSG_MAX];
};

/* Record code and a formatted message in `e` (which may be NULL); returns `code` so that
 * callers can write `return al_err_set(e, AL_E_INVAL, "bad start %u", s);`. */
int al_err_set(struct al_err *e, int code, const char *fmt, ...) AL_PRINTF(3, 4);

/* Static text for a code (AL_E_* or -errno). Never NULL; valid forever. */
const char *al_strerror(int code);

/* Stable snake_case name of a code ("invalid_argument", "no_capacity", …) for APIs. */
const char *al_code_name(int code);

#endif
