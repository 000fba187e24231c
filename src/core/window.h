/* window.h — operator change windows: the weekly times, in UTC, when a node (or every node of a
 * zone) may have its MIG layout changed. A MIG change runs only inside one (core/migchange.h).
 *
 * Text form (parsed strictly; docs/migchange.md):
 *
 *     daily 02:00-04:00
 *     weekdays 22:00-02:00           opens Mon-Fri at 22:00, closes at 02:00 the next day
 *     sat,sun 00:00-06:00; wed 12:00-13:00      several windows, separated by ';'
 *     mon-thu 01:00-24:00            a day range; 24:00 is the end of the day
 *
 * Days are daily, weekdays (mon-fri), weekends (sat,sun), or a comma list of mon tue wed thu fri
 * sat sun and ranges of them (fri-mon wraps); case-insensitive. Times are HH:MM, exactly two
 * digits each; the end may be 24:00; an end at or before the start closes the next day. The days
 * say when a window opens. Windows of one text are separate occurrences: overlapping ones are
 * not merged. Pure: no clock (every query takes the time), no time zone, no allocation.
 */
#ifndef AL_CORE_WINDOW_H
#define AL_CORE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Characters of the text form: room for the canonical text of any AL_WINDOW_MAX windows (at most
 * 8 x 35 + 7 x 2 = 294: a six-day list "mon,tue,wed,thu,fri,sun", a time range, "; "), so that
 * what al_window_format writes always parses back. */
#define AL_WINDOW_TEXT_MAX 320
#define AL_WINDOW_MAX      8 /* windows in one text */
/* Times the queries accept: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
#define AL_WINDOW_T_MAX INT64_C(253402300799)

struct al_window {
    uint8_t days;       /* bit d: opens on weekday d (0 = Sunday … 6 = Saturday) */
    uint16_t start_min; /* minute of the day it opens, 0-1439 */
    uint16_t end_min;   /* minute it closes, 1-1440; at or before start_min: the next day */
};

struct al_windows {
    unsigned n;
    struct al_window w[AL_WINDOW_MAX];
};

/* Parse the text form into *ret. Returns 0, or AL_E_INVAL with the window (by number and text)
 * and what is wrong with it named ("window 2 'sat 6:00-07:00': time '6:00' is not HH:MM"); *ret
 * is then empty. At least one window is required. */
int al_window_parse(const char *text, struct al_windows *ret, struct al_err *reterr);

/* Write the canonical text of w into buf (snprintf semantics: returns the length needed):
 * day sets as daily/weekdays/weekends or a list in week order from Monday, windows joined by
 * "; ". Parsing the result gives w back. */
int al_window_format(const struct al_windows *w, char *buf, size_t len);

/* True when t lies inside an occurrence [open, close) of one of the windows. False for a time
 * outside [0, AL_WINDOW_T_MAX]. */
bool al_window_contains(const struct al_windows *w, int64_t t);

/* The occurrence that is open at t, or else the first to open after t: [*ret_start, *ret_end)
 * with *ret_end > t (*ret_start may be before t when one is open). Of several open at t, the
 * one that opened first. Returns 0, AL_E_RANGE for t outside [0, AL_WINDOW_T_MAX], or
 * AL_E_NOTFOUND for no windows. */
int al_window_next(const struct al_windows *w, int64_t t, int64_t *ret_start, int64_t *ret_end);

/* When a change that must be done by `deadline` may run: the latest occurrence that closes at or
 * before deadline and after now, its start moved up to now when it is open already (a change
 * planned inside a window may run in the rest of it). Of two closing at the same time, the
 * longer. The latest, so that the work on the instances a change destroys runs as long as it
 * can. Returns 0 with [*ret_start, *ret_end), AL_E_RANGE for a time outside [0,
 * AL_WINDOW_T_MAX], or AL_E_NOTFOUND when no window closes in (now, deadline]. */
int al_window_before(const struct al_windows *w, int64_t now, int64_t deadline, int64_t *ret_start,
                     int64_t *ret_end);

#endif
