/* timefmt.h — a time as people read it: RFC 3339 UTC ("2026-05-01T12:00:00Z") from Unix
 * seconds, so that messages name times as times. Pure arithmetic on the proleptic Gregorian
 * calendar: no clock, no time zone, no locale, no libc time functions. */
#ifndef AL_CORE_TIMEFMT_H
#define AL_CORE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define AL_TIME_TEXT_MAX 40 /* room for any result, with its NUL */

/* Write t (seconds since 1970-01-01T00:00:00Z) into buf as "YYYY-MM-DDTHH:MM:SSZ"; a time
 * outside the years 0000-9999, which RFC 3339 cannot write, as "unix time <t>". Truncates like
 * snprintf when len is short (a buffer of AL_TIME_TEXT_MAX always holds the whole text).
 * Returns buf, so that it can be a printf argument. */
char *al_timefmt(int64_t t, char *buf, size_t len);

#endif
