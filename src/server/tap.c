/* tap.c — the answer tap of debug builds (server/tap.h): one JSON line per answer, appended
 * to DIR/answers-<pid>.jsonl when ALLOT_ANSWER_TAP=DIR. Compiled to nothing without AL_DEBUG,
 * so that no release binary can write bodies (tokens among them) to a file. */
#include "server/tap.h"

#ifdef AL_DEBUG

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The tap's file, opened by the first answer: -1 when the tap is off (no ALLOT_ANSWER_TAP,
 * or it failed). Written under `lock`, so that the lines of concurrent answers never mix. */
static pthread_once_t tap_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;
static int tap_fd = -1;
static bool tap_on; /* set once, by tap_open under pthread_once: read without the lock */

static void tap_open(void)
{
    /* run once (pthread_once); nothing in the server sets its environment */
    /* NOLINTNEXTLINE(concurrency-mt-unsafe) */
    const char *dir = getenv("ALLOT_ANSWER_TAP");
    char path[4096];
    if (!dir || !dir[0])
        return;
    int n = snprintf(path, sizeof path, "%s/answers-%ld.jsonl", dir, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof path) {
        fprintf(stderr, "allot server: ALLOT_ANSWER_TAP: directory name too long\n");
        return;
    }
    tap_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    tap_on = tap_fd >= 0;
    if (tap_fd < 0)
        fprintf(stderr, "allot server: ALLOT_ANSWER_TAP: cannot open %s: %s\n", path,
                strerror(errno)); /* NOLINT(concurrency-mt-unsafe): once, under pthread_once */
}

/* `s` as printable ASCII (any other byte '?'), at most `cap` - 1 bytes: a method or a decoded
 * path may hold any byte, which jansson would refuse. */
static const char *tap_ascii(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) {
        if (*s >= ' ' && *s < 0x7f)
            out[n++] = *s;
        else
            out[n++] = '?';
    }
    out[n] = '\0';
    return out;
}

/* The answer's line, malloc'd, or NULL when out of memory. A body that is not UTF-8 (no answer
 * of ours should be one) is recorded as null with "body_utf8": false, for the validator to
 * report. */
static char *tap_line(const struct al_call *k, const char *method, const struct al_reply *rep)
{
    char meth[16], path[AL_ROUTER_MAX_PATH];
    json_t *body = json_stringn(rep->text ? rep->text : "", rep->text ? rep->len : 0);
    json_t *line =
        json_pack("{s:s,s:s?,s:s,s:i,s:s,s:o,s:b}", "method", tap_ascii(method, meth, sizeof meth),
                  "route", k->route ? k->route->pattern : NULL, "path",
                  tap_ascii(k->path, path, sizeof path), "status", rep->status, "content_type",
                  rep->content_type ? rep->content_type : "application/json", "body",
                  body ? body : json_null(), "body_utf8", body != NULL);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    return text;
}

/* Write all of `s` (`n` bytes), across short writes. */
static int write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

void al_tap_answer(const struct al_call *k, const char *method, const struct al_reply *rep)
{
    /* an answer that cannot be put in a line is recorded as lost, so that the check fails
     * rather than miss it */
    static const char lost[] = "{\"tap_error\":\"an answer could not be recorded\"}";
    char *text;
    pthread_once(&tap_once, tap_open);
    if (!tap_on)
        return;
    text = tap_line(k, method, rep);
    pthread_mutex_lock(&tap_lock);
    if (tap_fd >= 0 &&
        (write_all(tap_fd, text ? text : lost, text ? strlen(text) : sizeof lost - 1) != 0 ||
         write_all(tap_fd, "\n", 1) != 0)) {
        /* the suite's check then fails on a line cut short, or finds answers missing */
        fprintf(stderr, "allot server: ALLOT_ANSWER_TAP: cannot write an answer; tap off\n");
        close(tap_fd);
        tap_fd = -1;
    }
    pthread_mutex_unlock(&tap_lock);
    free(text);
}

#endif
