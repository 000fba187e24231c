/* err.c — error codes, their names, and the error detail record. */
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int al_err_set(struct al_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        (void)vsnprintf(e->msg, sizeof e->msg, fmt, ap); /* truncation is fine for a message */
        va_end(ap);
    }
    return code;
}

static const struct {
    int code;
    const char *name;
    const char *text;
} al_codes[] = {
    {AL_OK, "ok", "success"},
    {AL_E_INVAL, "invalid_argument", "invalid argument"},
    {AL_E_NOTFOUND, "not_found", "not found"},
    {AL_E_CONFLICT, "conflict", "conflict"},
    {AL_E_NOFIT, "no_capacity", "no capacity or no valid placement"},
    {AL_E_RANGE, "out_of_range", "value out of range"},
    {AL_E_STATE, "invalid_state", "not allowed in the current state"},
    {AL_E_AUTH, "unauthenticated", "missing or invalid credentials"},
    {AL_E_FORBIDDEN, "forbidden", "not allowed for this role"},
    {AL_E_UNSUPPORTED, "unsupported", "not supported"},
    {AL_E_IO, "io_error", "input/output error"},
    {AL_E_DB, "database_error", "database error"},
    {AL_E_NVML, "nvml_error", "NVML error"},
    {AL_E_NOMEM, "out_of_memory", "out of memory"},
    {AL_E_INTERNAL, "internal", "internal error"},
    {AL_E_PAYMENT, "insufficient_balance", "insufficient balance or contract limit"},
    {AL_E_EXPIRED, "expired", "expired"},
    {AL_E_FULL, "storage_full", "no space left for the database"},
    {AL_E_UNAVAILABLE, "unavailable", "unavailable for now"},
};

/* The errno values allot meets, with glibc's texts. A table instead of strerror(), which is
 * not thread-safe (the server calls this from its worker threads) and whose text may be
 * overwritten by the next call, against the "valid forever" promise of err.h. */
static const struct {
    int err;
    const char *text;
} al_errnos[] = {
    {EPERM, "Operation not permitted"},
    {ENOENT, "No such file or directory"},
    {ESRCH, "No such process"},
    {EINTR, "Interrupted system call"},
    {EIO, "Input/output error"},
    {ENXIO, "No such device or address"},
    {E2BIG, "Argument list too long"},
    {EBADF, "Bad file descriptor"},
    {ECHILD, "No child processes"},
    {EAGAIN, "Resource temporarily unavailable"},
    {ENOMEM, "Cannot allocate memory"},
    {EACCES, "Permission denied"},
    {EBUSY, "Device or resource busy"},
    {EEXIST, "File exists"},
    {EXDEV, "Invalid cross-device link"},
    {ENODEV, "No such device"},
    {ENOTDIR, "Not a directory"},
    {EISDIR, "Is a directory"},
    {EINVAL, "Invalid argument"},
    {EMFILE, "Too many open files"},
    {EFBIG, "File too large"},
    {ENOSPC, "No space left on device"},
    {EROFS, "Read-only file system"},
    {EPIPE, "Broken pipe"},
    {ERANGE, "Numerical result out of range"},
    {EDQUOT, "Disk quota exceeded"},
    {EDEADLK, "Resource deadlock avoided"},
    {ENAMETOOLONG, "File name too long"},
    {ENOSYS, "Function not implemented"},
    {ENOTEMPTY, "Directory not empty"},
    {EOVERFLOW, "Value too large for defined data type"},
    {EILSEQ, "Invalid or incomplete multibyte or wide character"},
    {EPROTO, "Protocol error"},
    {ENOTSOCK, "Socket operation on non-socket"},
    {EMSGSIZE, "Message too long"},
    {ENOTSUP, "Operation not supported"},
    {EADDRINUSE, "Address already in use"},
    {EADDRNOTAVAIL, "Cannot assign requested address"},
    {ENETUNREACH, "Network is unreachable"},
    {ECONNRESET, "Connection reset by peer"},
    {ENOTCONN, "Transport endpoint is not connected"},
    {ETIMEDOUT, "Connection timed out"},
    {ECONNREFUSED, "Connection refused"},
    {EHOSTUNREACH, "No route to host"},
    {EINPROGRESS, "Operation now in progress"},
    {ECANCELED, "Operation canceled"},
};

const char *al_strerror(int code)
{
    for (size_t i = 0; i < sizeof al_codes / sizeof al_codes[0]; i++)
        if (al_codes[i].code == code)
            return al_codes[i].text;
    for (size_t i = 0; i < sizeof al_errnos / sizeof al_errnos[0]; i++)
        if (-al_errnos[i].err == code)
            return al_errnos[i].text;
    if (code < 0 && code > -4096)
        return "system error";
    return "unknown error";
}

const char *al_code_name(int code)
{
    for (size_t i = 0; i < sizeof al_codes / sizeof al_codes[0]; i++)
        if (al_codes[i].code == code)
            return al_codes[i].name;
    return code < 0 && code > -4096 ? "system_error" : "unknown";
}
