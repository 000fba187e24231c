/* err.c — error codes, their names, and the error detail record. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int al_err_set(struct al_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
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
};

const char *al_strerror(int code)
{
    for (size_t i = 0; i < sizeof al_codes / sizeof al_codes[0]; i++)
        if (al_codes[i].code == code)
            return al_codes[i].text;
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}

const char *al_code_name(int code)
{
    for (size_t i = 0; i < sizeof al_codes / sizeof al_codes[0]; i++)
        if (al_codes[i].code == code)
            return al_codes[i].name;
    return code < 0 && code > -4096 ? "system_error" : "unknown";
}
