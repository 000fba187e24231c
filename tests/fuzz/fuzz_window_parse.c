/* fuzz_window_parse.c — libFuzzer target for the change-window text (an operator sets it over
 * the API for a node or a zone) and the queries over what it parses to. The first 8 bytes give
 * two times, the rest is the text. Invariants checked on every input:
 *   - parse fails only with AL_E_INVAL, a message, and no windows; on success every window has
 *     days, a start in 00:00-23:59 and an end in 00:01-24:00 other than the start;
 *   - format has snprintf semantics, and parse(format(x)) == x;
 *   - next(t) is an interval of at most a day that ends after t, open at t exactly when
 *     contains(t); before(now, deadline) closes in (now, deadline], starts at or after now, and
 *     lies inside the windows (its start and its last second are). */
#include "fuzz.h"

#include <stdbool.h>

#include "core/err.h"
#include "core/window.h"

#define SPAN (INT64_C(60) * 86400) /* the deadline: up to 60 days after now */

static void check_roundtrip(const struct al_windows *w, const char *input)
{
    char buf[AL_WINDOW_TEXT_MAX * 2], tiny[6];
    struct al_windows back;
    struct al_err err = {0};
    int len = al_window_format(w, buf, sizeof buf);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof buf && strlen(buf) == (size_t)len,
               "format of '%s' returned %d for '%s'", input, len, buf);
    FUZZ_CHECK(al_window_format(w, tiny, sizeof tiny) == len && strncmp(tiny, buf, 5) == 0,
               "format into 6 bytes: '%s' vs '%s'", tiny, buf);
    FUZZ_CHECK(al_window_parse(buf, &back, &err) == 0, "'%s' (from '%s'): %s", buf, input, err.msg);
    FUZZ_CHECK(memcmp(w, &back, sizeof back) == 0, "parse(format(x)) != x: '%s' from '%s'", buf,
               input);
}

static void check_queries(const struct al_windows *w, int64_t now, int64_t deadline,
                          const char *text)
{
    int64_t s = 0, e = 0;
    FUZZ_CHECK(al_window_next(w, now, &s, &e) == 0, "next('%s', %lld) failed", text,
               (long long)now);
    FUZZ_CHECK(s < e && e > now && e - s <= 86400, "next('%s', %lld) = [%lld, %lld)", text,
               (long long)now, (long long)s, (long long)e);
    FUZZ_CHECK(al_window_contains(w, now) == (s <= now), "contains('%s', %lld) disagrees with next",
               text, (long long)now);
    /* (one open at the epoch opened before it, where contains answers false) */
    FUZZ_CHECK(al_window_contains(w, s < 0 ? 0 : s) && al_window_contains(w, e - 1),
               "next('%s') not inside the windows", text);
    int rc = al_window_before(w, now, deadline, &s, &e);
    FUZZ_CHECK(rc == 0 || rc == AL_E_NOTFOUND, "before('%s') rc %d", text, rc);
    if (rc == 0)
        FUZZ_CHECK(now <= s && s < e && e <= deadline && al_window_contains(w, s) &&
                       al_window_contains(w, e - 1),
                   "before('%s', %lld, %lld) = [%lld, %lld)", text, (long long)now,
                   (long long)deadline, (long long)s, (long long)e);
    else /* none closes in (now, deadline]: the next one closes after the deadline */
        FUZZ_CHECK(al_window_next(w, now, &s, &e) == 0 && e > deadline,
                   "before('%s') found none, but one closes at %lld <= %lld", text, (long long)e,
                   (long long)deadline);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint32_t a = 0, b = 0;
    memcpy(&a, data, 4);
    memcpy(&b, data + 4, 4);
    int64_t now = (int64_t)a * 2, deadline = now + (int64_t)(b % SPAN); /* up to the year 2106 */
    char *text = fuzz_cstr(data + 8, size - 8);
    struct al_windows w;
    struct al_err err = {0};
    int rc = al_window_parse(text, &w, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == AL_E_INVAL && err.code == rc && err.msg[0] && w.n == 0,
                   "parse('%s') failed with rc %d, n %u, msg '%s'", text, rc, w.n, err.msg);
        goto out;
    }
    FUZZ_CHECK(w.n >= 1 && w.n <= AL_WINDOW_MAX, "parse('%s'): n %u", text, w.n);
    for (unsigned i = 0; i < w.n; i++)
        FUZZ_CHECK(w.w[i].days && w.w[i].days < 0x80 && w.w[i].start_min < 1440 &&
                       w.w[i].end_min >= 1 && w.w[i].end_min <= 1440 &&
                       w.w[i].end_min != w.w[i].start_min,
                   "parse('%s'): window %u out of range", text, i + 1);
    check_roundtrip(&w, text);
    check_queries(&w, now, deadline, text);
out:
    free(text);
    return 0;
}
