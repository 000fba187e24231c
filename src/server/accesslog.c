/* accesslog.c — the access log: each call's JSON line formatted on its own thread, copied into
 * the filling half of a double buffer under a short lock, and written out by the log's thread,
 * which swaps the halves every second (sooner when one is half full) and writes the full one
 * without the lock. */
#include "server/accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AL_ACCESSLOG_BUF      ((size_t)256 * 1024) /* bytes in each half of the buffer */
#define AL_ACCESSLOG_LINE     2048u                /* bytes of one line at most */
#define AL_ACCESSLOG_PATH_MAX 256u                 /* bytes of the path kept (before escaping) */
#define AL_ACCESSLOG_FLUSH_MS 1000u                /* the longest a line waits in the buffer */

struct al_accesslog {
    int fd;
    bool own_fd; /* a file we opened (not stderr) */
    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* the writer sleeps on it (CLOCK_MONOTONIC) */
    char *half[2];     /* half[cur] fills; the other is the writer's */
    unsigned cur;      /* under mu */
    size_t len;        /* bytes in half[cur]; under mu */
    bool kicked;       /* half[cur] is half full: the writer was woken; under mu */
    bool stop;         /* under mu */
    _Atomic uint64_t dropped;
};

/* ---- the line ---- */

struct line {
    char *buf;
    size_t cap, len;
    bool over;
};

static void lput(struct line *l, const char *s, size_t n)
{
    if (l->over || n >= l->cap - l->len) {
        l->over = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void lputs(struct line *l, const char *s)
{
    lput(l, s, strlen(s));
}

/* A JSON string of at most `max` bytes of `s`, up to `stop` (or the end): printable ASCII as
 * it is, the quote and the backslash escaped, any other byte as \u00XX, so that no client
 * byte can break the line or the JSON. NULL is null. */
static void lstr(struct line *l, const char *s, char stop, size_t max)
{
    char esc[8];
    if (!s) {
        lputs(l, "null");
        return;
    }
    lputs(l, "\"");
    for (size_t i = 0; s[i] && s[i] != stop && i < max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            lput(l, esc, 2);
        } else if (ch < 0x20 || ch >= 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", ch);
            lput(l, esc, 6);
        } else {
            lput(l, (const char *)&s[i], 1);
        }
    }
    lputs(l, "\"");
}

size_t al_accesslog_format(const struct al_access *a, int64_t now_ms, char *out, size_t cap)
{
    struct line l = {out, cap, 0, false};
    char num[96];
    struct tm tm;
    time_t secs = (time_t)(now_ms / 1000);
    if (!gmtime_r(&secs, &tm) || !strftime(num, sizeof num, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    lputs(&l, num);
    snprintf(num, sizeof num, ".%03dZ\",\"method\":", (int)(now_ms % 1000));
    lputs(&l, num);
    lstr(&l, a->method, '\0', 16);
    lputs(&l, ",\"path\":");
    lstr(&l, a->path, '?', AL_ACCESSLOG_PATH_MAX);
    lputs(&l, ",\"route\":");
    lstr(&l, a->route, '\0', AL_ACCESSLOG_PATH_MAX);
    snprintf(num, sizeof num, ",\"status\":%d,\"ms\":%.3f,\"user\":", a->status,
             a->ms < 0 ? 0.0 : a->ms);
    lputs(&l, num);
    lstr(&l, a->user, '\0', 64);
    lputs(&l, ",\"client\":");
    lstr(&l, a->client, '\0', 64);
    snprintf(num, sizeof num, ",\"bytes\":%" PRIu64 "}\n", a->bytes);
    lputs(&l, num);
    if (l.over)
        return 0;
    out[l.len] = '\0';
    return l.len;
}

/* ---- the buffer and its writer ---- */

/* Write `n` bytes of `b` out; what cannot be written (the disk full, the file gone) is counted
 * as dropped lines: there is nowhere left to say so. */
static void write_out(struct al_accesslog *l, const char *b, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(l->fd, b + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    for (const char *p = b + done; p < b + n && (p = memchr(p, '\n', (size_t)(b + n - p))); p++)
        atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
}

/* Until now + ms on the monotonic clock. */
static struct timespec deadline(unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static void *writer_main(void *arg)
{
    struct al_accesslog *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        struct timespec until = deadline(AL_ACCESSLOG_FLUSH_MS);
        int waited = 0;
        while (!l->stop && !l->kicked && waited != ETIMEDOUT)
            waited = pthread_cond_timedwait(&l->cv, &l->mu, &until);
        bool last = l->stop;
        char *full = l->half[l->cur];
        size_t n = l->len;
        l->cur ^= 1u;
        l->len = 0;
        l->kicked = false;
        pthread_mutex_unlock(&l->mu);
        write_out(l, full, n);
        pthread_mutex_lock(&l->mu);
        if (last)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void al_accesslog_write(struct al_accesslog *l, const struct al_access *a)
{
    char line[AL_ACCESSLOG_LINE];
    struct timespec ts;
    size_t n;
    if (!l)
        return;
    clock_gettime(CLOCK_REALTIME, &ts); /* the vDSO: no system call */
    n = al_accesslog_format(a, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, line, sizeof line);
    pthread_mutex_lock(&l->mu);
    if (n == 0 || n > AL_ACCESSLOG_BUF - l->len) {
        atomic_fetch_add_explicit(&l->dropped, 1, memory_order_relaxed);
    } else {
        memcpy(l->half[l->cur] + l->len, line, n);
        l->len += n;
        /* wake the writer once per half, not once per line */
        if (!l->kicked && l->len >= AL_ACCESSLOG_BUF / 2) {
            l->kicked = true;
            pthread_cond_signal(&l->cv);
        }
    }
    pthread_mutex_unlock(&l->mu);
}

uint64_t al_accesslog_dropped(const struct al_accesslog *l)
{
    return l ? atomic_load_explicit(&l->dropped, memory_order_relaxed) : 0;
}

static void accesslog_free(struct al_accesslog *l)
{
    if (l->own_fd && l->fd >= 0)
        close(l->fd);
    free(l->half[0]);
    free(l->half[1]);
    free(l);
}

/* The writer's lock, its monotonic condition variable, and the thread. */
static int writer_start(struct al_accesslog *l, struct al_err *reterr)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&l->mu, NULL);
    if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
        return al_err_set(reterr, AL_E_INTERNAL, "cannot start the access log's thread");
    }
    return 0;
}

int al_accesslog_open(const char *where, struct al_accesslog **ret, struct al_err *reterr)
{
    struct al_accesslog *l;
    int rc;
    *ret = NULL;
    if (strcmp(where, "off") == 0)
        return 0;
    if (!where[0])
        return al_err_set(reterr, AL_E_INVAL, "--access-log must be a path, - or off");
    if (!(l = calloc(1, sizeof *l)) || !(l->half[0] = malloc(AL_ACCESSLOG_BUF)) ||
        !(l->half[1] = malloc(AL_ACCESSLOG_BUF))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto fail;
    }
    l->fd = STDERR_FILENO;
    if (strcmp(where, "-") != 0) {
        l->own_fd = true;
        l->fd = open(where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (l->fd < 0) {
            rc = al_err_set(reterr, AL_E_IO, "cannot open the access log %s: %s", where,
                            al_strerror(-errno));
            goto fail;
        }
    }
    if ((rc = writer_start(l, reterr)) != 0)
        goto fail;
    *ret = l;
    return 0;
fail:
    if (l)
        accesslog_free(l);
    return rc;
}

void al_accesslog_close(struct al_accesslog *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->writer, NULL);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    accesslog_free(l);
}
