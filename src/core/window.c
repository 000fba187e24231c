/* window.c — operator change windows: the strict parser of the text form, its canonical text,
 * and the queries over the weekly occurrences (see window.h).
 *
 * An occurrence of a window is the interval [open, close) of one day it opens on. Windows repeat
 * every week and last at most a day, so every query looks at a few days around its time only:
 * the occurrence open at t opened on t's day or the day before, and of any eight consecutive days
 * one holds an occurrence of every window. */
#include "core/window.h"

#include "core/sbuf.h"

#include <string.h>

#define DAY_S        INT64_C(86400)
#define DAY_MIN      1440
#define DAYS_ALL     0x7fU
#define DAYS_WEEKDAY 0x3eU /* mon … fri */
#define DAYS_WEEKEND 0x41U /* sun, sat */
#define WEEK         7
#define ITEM_SHOW    40 /* characters of a bad window quoted in an error */

static const char *const day_names[WEEK] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* ---- parse --------------------------------------------------------------------------------- */

/* A piece of the text: [s, s+n). */
struct span {
    const char *s;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int lower(char c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool span_is(struct span x, const char *word)
{
    size_t n = strlen(word);
    if (x.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(x.s[i]) != word[i])
            return false;
    return true;
}

static struct span trim(struct span x)
{
    while (x.n && is_space(x.s[0])) {
        x.s++;
        x.n--;
    }
    while (x.n && is_space(x.s[x.n - 1]))
        x.n--;
    return x;
}

/* What an error says about the window: its number and (the start of) its text. */
struct where {
    unsigned k;
    struct span item;
};

static int fail(const struct where *at, struct al_err *reterr, const char *what, struct span x)
{
    int shown = at->item.n > ITEM_SHOW ? ITEM_SHOW : (int)at->item.n;
    int xn = x.n > ITEM_SHOW ? ITEM_SHOW : (int)x.n;
    return al_err_set(reterr, AL_E_INVAL, "window %u '%.*s%s': %s '%.*s'", at->k, shown, at->item.s,
                      at->item.n > ITEM_SHOW ? "..." : "", what, xn, x.s);
}

static int day_index(struct span x)
{
    for (int d = 0; d < WEEK; d++)
        if (span_is(x, day_names[d]))
            return d;
    return -1;
}

/* "mon", or a range "fri-mon" (wrapping past Sunday): their bits. 0 when not a day. */
static unsigned day_bits(struct span x)
{
    const char *dash = memchr(x.s, '-', x.n);
    if (!dash) {
        int d = day_index(x);
        return d < 0 ? 0 : 1U << d;
    }
    int a = day_index((struct span){x.s, (size_t)(dash - x.s)});
    int b = day_index((struct span){dash + 1, x.n - (size_t)(dash - x.s) - 1});
    if (a < 0 || b < 0)
        return 0;
    unsigned bits = 0;
    for (int d = a;; d = (d + 1) % WEEK) {
        bits |= 1U << d;
        if (d == b)
            break;
    }
    return bits;
}

static int parse_days(const struct where *at, struct span x, unsigned *ret, struct al_err *reterr)
{
    if (span_is(x, "daily")) {
        *ret = DAYS_ALL;
        return 0;
    }
    if (span_is(x, "weekdays") || span_is(x, "weekends")) {
        *ret = span_is(x, "weekdays") ? DAYS_WEEKDAY : DAYS_WEEKEND;
        return 0;
    }
    unsigned bits = 0;
    while (x.n) {
        const char *comma = memchr(x.s, ',', x.n);
        struct span d = {x.s, comma ? (size_t)(comma - x.s) : x.n};
        unsigned b = day_bits(d);
        if (!b)
            return fail(at, reterr,
                        "days must be daily, weekdays, weekends or a list of mon..sun, not", d);
        if (bits & b)
            return fail(at, reterr, "day named twice in", d);
        bits |= b;
        if (!comma)
            break;
        x.n -= d.n + 1;
        x.s = comma + 1;
        if (!x.n)
            return fail(at, reterr, "trailing comma after", d);
    }
    *ret = bits;
    return 0;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "HH:MM" as minutes of the day; 24:00 (= DAY_MIN) only when allow_24. -1 when malformed. */
static int parse_hhmm(struct span x, bool allow_24)
{
    if (x.n != 5 || !is_digit(x.s[0]) || !is_digit(x.s[1]) || x.s[2] != ':' || !is_digit(x.s[3]) ||
        !is_digit(x.s[4]))
        return -1;
    int h = (x.s[0] - '0') * 10 + (x.s[1] - '0');
    int m = (x.s[3] - '0') * 10 + (x.s[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (!allow_24 || m != 0)))
        return -1;
    return h * 60 + m;
}

static int parse_times(const struct where *at, struct span x, struct al_window *w,
                       struct al_err *reterr)
{
    const char *dash = memchr(x.s, '-', x.n);
    if (!dash)
        return fail(at, reterr, "times must be HH:MM-HH:MM, not", x);
    struct span a = {x.s, (size_t)(dash - x.s)};
    struct span b = {dash + 1, x.n - a.n - 1};
    int start = parse_hhmm(a, false);
    if (start < 0)
        return fail(at, reterr, "start time is not HH:MM (00:00-23:59):", a);
    int end = parse_hhmm(b, true);
    if (end < 0)
        return fail(at, reterr, "end time is not HH:MM (00:00-24:00):", b);
    if (end == start)
        return fail(at, reterr, "window is empty (use 00:00-24:00 for a whole day):", x);
    w->start_min = (uint16_t)start;
    w->end_min = (uint16_t)(end == 0 ? DAY_MIN : end);
    return 0;
}

/* One window: "<days> <HH:MM-HH:MM>", already trimmed. */
static int parse_window(const struct where *at, struct al_window *w, struct al_err *reterr)
{
    struct span x = at->item;
    if (!x.n)
        return al_err_set(reterr, AL_E_INVAL, "window %u is empty (stray ';'?)", at->k);
    size_t sp = 0;
    while (sp < x.n && !is_space(x.s[sp]))
        sp++;
    if (sp == x.n)
        return fail(at, reterr, "expected '<days> HH:MM-HH:MM', got", x);
    unsigned days = 0;
    int rc = parse_days(at, (struct span){x.s, sp}, &days, reterr);
    struct span times = trim((struct span){x.s + sp, x.n - sp});
    for (size_t i = 0; rc == 0 && i < times.n; i++)
        if (is_space(times.s[i]))
            rc = fail(at, reterr, "unexpected text after the times in", times);
    if (rc == 0)
        rc = parse_times(at, times, w, reterr);
    w->days = (uint8_t)days;
    return rc;
}

static int check_chars(const char *text, size_t n, struct al_err *reterr)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < ' ' && c != '\t') || c >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "window text: bad character 0x%02x at %zu",
                              (unsigned)c, i + 1);
    }
    return 0;
}

int al_window_parse(const char *text, struct al_windows *ret, struct al_err *reterr)
{
    int rc = 0;
    if (!ret)
        return al_err_set(reterr, AL_E_INVAL, "no windows to fill");
    memset(ret, 0, sizeof *ret);
    if (!text)
        return al_err_set(reterr, AL_E_INVAL, "no window text");
    size_t n = strnlen(text, AL_WINDOW_TEXT_MAX + 1);
    if (n > AL_WINDOW_TEXT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "window text longer than %d characters",
                          AL_WINDOW_TEXT_MAX);
    rc = check_chars(text, n, reterr);
    if (rc < 0)
        goto out;
    if (trim((struct span){text, n}).n == 0) {
        rc = al_err_set(reterr, AL_E_INVAL, "no window given (e.g. 'daily 02:00-04:00')");
        goto out;
    }
    for (size_t pos = 0;;) {
        const char *semi = memchr(text + pos, ';', n - pos);
        size_t end = semi ? (size_t)(semi - text) : n;
        if (ret->n == AL_WINDOW_MAX) {
            rc = al_err_set(reterr, AL_E_INVAL, "more than %d windows", AL_WINDOW_MAX);
            goto out;
        }
        struct where at = {ret->n + 1, trim((struct span){text + pos, end - pos})};
        rc = parse_window(&at, &ret->w[ret->n], reterr);
        if (rc < 0)
            goto out;
        ret->n++;
        if (!semi)
            break;
        pos = end + 1;
    }
out:
    if (rc < 0)
        memset(ret, 0, sizeof *ret);
    return rc;
}

/* ---- format -------------------------------------------------------------------------------- */

static void days_text(struct al_sbuf *b, unsigned days)
{
    if (days == DAYS_ALL) {
        al_sbuf_printf(b, "daily");
        return;
    }
    if (days == DAYS_WEEKDAY || days == DAYS_WEEKEND) {
        al_sbuf_printf(b, days == DAYS_WEEKDAY ? "weekdays" : "weekends");
        return;
    }
    const char *sep = "";
    for (int i = 1; i <= WEEK; i++) { /* Monday first */
        int d = i % WEEK;
        if (days & (1U << d)) {
            al_sbuf_printf(b, "%s%s", sep, day_names[d]);
            sep = ",";
        }
    }
}

int al_window_format(const struct al_windows *w, char *buf, size_t len)
{
    struct al_sbuf b;
    al_sbuf_init(&b, buf, len);
    for (unsigned i = 0; w && i < w->n && i < AL_WINDOW_MAX; i++) {
        const struct al_window *x = &w->w[i];
        if (i)
            al_sbuf_printf(&b, "; ");
        days_text(&b, x->days);
        al_sbuf_printf(&b, " %02u:%02u-%02u:%02u", x->start_min / 60U, x->start_min % 60U,
                       x->end_min / 60U, x->end_min % 60U);
    }
    return (int)b.len;
}

/* ---- queries ------------------------------------------------------------------------------- */

static int64_t day_of(int64_t t)
{
    return t / DAY_S; /* t >= 0: the checks of each query */
}

static unsigned weekday(int64_t day)
{
    return (unsigned)((day + 4) % WEEK); /* 1970-01-01 was a Thursday */
}

static bool time_ok(int64_t t)
{
    return t >= 0 && t <= AL_WINDOW_T_MAX;
}

static bool windows_ok(const struct al_windows *w)
{
    return w && w->n > 0 && w->n <= AL_WINDOW_MAX;
}

/* The occurrence of x that opens on `day`, if x opens that day. */
static bool occurrence(const struct al_window *x, int64_t day, int64_t *open, int64_t *close)
{
    if (!(x->days & (1U << weekday(day))))
        return false;
    int len =
        x->end_min > x->start_min ? x->end_min - x->start_min : x->end_min + DAY_MIN - x->start_min;
    *open = day * DAY_S + (int64_t)x->start_min * 60;
    *close = *open + (int64_t)len * 60;
    return true;
}

bool al_window_contains(const struct al_windows *w, int64_t t)
{
    int64_t s = 0, e = 0;
    if (!windows_ok(w) || !time_ok(t))
        return false;
    for (int64_t day = day_of(t) - 1; day <= day_of(t); day++)
        for (unsigned i = 0; i < w->n; i++)
            if (occurrence(&w->w[i], day, &s, &e) && s <= t && t < e)
                return true;
    return false;
}

int al_window_next(const struct al_windows *w, int64_t t, int64_t *ret_start, int64_t *ret_end)
{
    bool found = false;
    int64_t best_s = 0, best_e = 0, s = 0, e = 0;
    if (!time_ok(t))
        return AL_E_RANGE;
    if (!windows_ok(w))
        return AL_E_NOTFOUND;
    for (int64_t day = day_of(t) - 1; day <= day_of(t) + WEEK; day++)
        for (unsigned i = 0; i < w->n; i++)
            if (occurrence(&w->w[i], day, &s, &e) && e > t &&
                (!found || s < best_s || (s == best_s && e > best_e))) {
                found = true;
                best_s = s;
                best_e = e;
            }
    if (!found)
        return AL_E_NOTFOUND;
    *ret_start = best_s;
    *ret_end = best_e;
    return 0;
}

int al_window_before(const struct al_windows *w, int64_t now, int64_t deadline, int64_t *ret_start,
                     int64_t *ret_end)
{
    bool found = false;
    int64_t best_s = 0, best_e = 0, s = 0, e = 0;
    if (!time_ok(now) || !time_ok(deadline))
        return AL_E_RANGE;
    if (!windows_ok(w) || deadline <= now)
        return AL_E_NOTFOUND;
    /* Every window has an occurrence closing in the eight days before the deadline; none
     * earlier than the day before now's can close after now. */
    int64_t first = day_of(now) - 1;
    if (first < day_of(deadline) - WEEK - 1)
        first = day_of(deadline) - WEEK - 1;
    for (int64_t day = day_of(deadline); day >= first; day--)
        for (unsigned i = 0; i < w->n; i++) {
            if (!occurrence(&w->w[i], day, &s, &e) || e > deadline || e <= now)
                continue;
            if (s < now)
                s = now;
            if (!found || e > best_e || (e == best_e && s < best_s)) {
                found = true;
                best_s = s;
                best_e = e;
            }
        }
    if (!found)
        return AL_E_NOTFOUND;
    *ret_start = best_s;
    *ret_end = best_e;
    return 0;
}
