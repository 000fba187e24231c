/* runtime.c — the runtime interface (see runtime.h): opening a runtime by its spec and
 * dispatching to it, and the pure parts both runtimes share or the Docker one needs: the log
 * stream's demultiplexer, the tail cut to valid UTF-8, and the validation of Docker's answers. */
#include "agent/runtime.h"

#include "agent/rt_internal.h"

#include <stdlib.h>
#include <string.h>

struct al_runtime {
    const struct al_rt_ops *ops;
    void *impl;
};

int al_runtime_scope(struct al_runtime *rt, const char *node, struct al_err *reterr)
{
    size_t n = node ? strlen(node) : 0;
    if (n == 0 || n >= AL_RUNTIME_NODE_MAX ||
        strspn(node, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "abcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") != n)
        return al_err_set(reterr, AL_E_INVAL,
                          "runtime: a node name of 1..%d bytes of"
                          " [A-Za-z0-9._-] required",
                          AL_RUNTIME_NODE_MAX - 1);
    return rt->ops->scope ? rt->ops->scope(rt->impl, node, reterr) : 0;
}

int al_runtime_open(const char *spec, bool gpu_requests, struct al_runtime **ret,
                    struct al_err *reterr)
{
    const struct al_rt_ops *ops = NULL;
    const char *arg = NULL;
    struct al_runtime *rt = NULL;
    int rc;
    *ret = NULL;
    if (spec && strncmp(spec, "docker-api:", 11) == 0) {
        ops = &al_rt_docker_ops;
        arg = spec + 11;
    } else if (spec && strcmp(spec, "process") == 0) {
        ops = &al_rt_process_ops;
    } else if (spec && strncmp(spec, "process:", 8) == 0) {
        ops = &al_rt_process_ops;
        arg = spec + 8;
    } else {
        return al_err_set(reterr, AL_E_INVAL,
                          "runtime: docker-api:SOCKET or process[:DIR], not '%.100s'",
                          spec ? spec : "");
    }
    if (!(rt = calloc(1, sizeof *rt)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    rt->ops = ops;
    if ((rc = ops->open(arg, gpu_requests, &rt->impl, reterr)) < 0) {
        free(rt);
        return rc;
    }
    *ret = rt;
    return 0;
}

void al_runtime_close(struct al_runtime *rt)
{
    if (!rt)
        return;
    rt->ops->close(rt->impl);
    free(rt);
}

const char *al_runtime_kind(const struct al_runtime *rt)
{
    return rt->ops->kind;
}

int al_runtime_ping(struct al_runtime *rt, struct al_err *reterr)
{
    return rt->ops->ping(rt->impl, reterr);
}

int al_runtime_list(struct al_runtime *rt, struct al_rt_ctr **ret, size_t *n, struct al_err *reterr)
{
    *ret = NULL;
    *n = 0;
    return rt->ops->list(rt->impl, ret, n, reterr);
}

int al_runtime_create(struct al_runtime *rt, const struct al_runtime_spec *s, char *id,
                      struct al_err *reterr)
{
    id[0] = '\0';
    return rt->ops->create(rt->impl, s, id, reterr);
}

int al_runtime_start(struct al_runtime *rt, const char *id, struct al_err *reterr)
{
    return rt->ops->start(rt->impl, id, reterr);
}

int al_runtime_inspect(struct al_runtime *rt, const char *id, struct al_rt_ctr *ret,
                       struct al_err *reterr)
{
    *ret = (struct al_rt_ctr){.state = AL_RT_UNKNOWN};
    return rt->ops->inspect(rt->impl, id, ret, reterr);
}

int al_runtime_logs(struct al_runtime *rt, const char *id, char **ret, size_t *len,
                    struct al_err *reterr)
{
    *ret = NULL;
    *len = 0;
    return rt->ops->logs(rt->impl, id, ret, len, reterr);
}

int al_runtime_stop(struct al_runtime *rt, const char *id, struct al_err *reterr)
{
    return rt->ops->stop(rt->impl, id, reterr);
}

int al_runtime_remove(struct al_runtime *rt, const char *id, struct al_err *reterr)
{
    return rt->ops->remove(rt->impl, id, reterr);
}

/* ---- The log stream */

/* Keep the last AL_RUNTIME_LOG_MAX bytes of what came, with n more: room is made by moving
 * the kept tail to the front, at most once per AL_RUNTIME_LOG_MAX bytes that came. */
static int keep(struct al_rt_demux *d, const unsigned char *p, size_t n, struct al_err *reterr)
{
    const size_t max = AL_RUNTIME_LOG_MAX, cap = (size_t)2 * AL_RUNTIME_LOG_MAX;
    if (!d->buf && !(d->buf = malloc(cap)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if (n > max) {
        d->dropped += d->len + (n - max);
        d->len = 0;
        p += n - max;
        n = max;
    }
    if (d->len + n > cap) {
        size_t kept = max - n < d->len ? max - n : d->len;
        memmove(d->buf, d->buf + (d->len - kept), kept);
        d->dropped += d->len - kept;
        d->len = kept;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
    return 0;
}

int al_runtime_demux_feed(struct al_rt_demux *d, const void *p, size_t len, struct al_err *reterr)
{
    const unsigned char *b = p;
    if (d->bad)
        return al_err_set(reterr, AL_E_INVAL, "logs: the stream was refused already");
    while (len > 0) {
        if (d->left == 0) { /* in a header */
            size_t n = 8 - d->nhdr < len ? 8 - d->nhdr : len;
            memcpy(d->hdr + d->nhdr, b, n);
            d->nhdr += n;
            b += n;
            len -= n;
            if (d->nhdr < 8)
                break;
            d->nhdr = 0;
            if (d->hdr[0] > 2 || d->hdr[1] || d->hdr[2] || d->hdr[3]) {
                d->bad = true;
                return al_err_set(reterr, AL_E_INVAL,
                                  "logs: not a frame header (stream %u): not a multiplexed log",
                                  d->hdr[0]);
            }
            d->left = (size_t)d->hdr[4] << 24 | (size_t)d->hdr[5] << 16 | (size_t)d->hdr[6] << 8 |
                      d->hdr[7];
            continue;
        }
        size_t n = d->left < len ? d->left : len;
        int rc = keep(d, b, n, reterr);
        if (rc < 0) {
            d->bad = true;
            return rc;
        }
        d->left -= n;
        b += n;
        len -= n;
    }
    return 0;
}

int al_runtime_demux_tail(struct al_rt_demux *d, char **ret, size_t *len, struct al_err *reterr)
{
    size_t n = 0, off = d->buf ? al_runtime_tail_text(d->buf, d->len, AL_RUNTIME_LOG_MAX, &n) : 0;
    *ret = NULL;
    *len = 0;
    if (d->bad)
        return al_err_set(reterr, AL_E_INVAL, "logs: the stream was refused");
    if (!(*ret = malloc(n + 1)))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if (n)
        memcpy(*ret, d->buf + off, n);
    (*ret)[n] = '\0';
    *len = n;
    return 0;
}

void al_runtime_demux_free(struct al_rt_demux *d)
{
    free(d->buf);
    *d = (struct al_rt_demux){0};
}

/* The length of the valid UTF-8 sequence at p (n bytes available), or 0: RFC 3629's table,
 * so no overlong form, no surrogate, nothing over U+10FFFF. NUL is not valid here either. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0x01 && c <= 0x7F)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return need;
}

size_t al_runtime_tail_text(char *p, size_t len, size_t max, size_t *n)
{
    unsigned char *u = (unsigned char *)p;
    size_t start = len > max ? len - max : 0;
    if (start > 0) /* a character cut in two at the front is left out */
        for (int i = 0; i < 3 && start < len && (u[start] & 0xC0) == 0x80; i++)
            start++;
    for (size_t i = start; i < len;) {
        size_t k = utf8_len(u + i, len - i);
        if (k == 0) {
            u[i++] = '?';
            continue;
        }
        i += k;
    }
    *n = len - start;
    return start;
}

enum al_rt_state al_runtime_state_of(const char *status)
{
    static const struct {
        const char *name;
        enum al_rt_state state;
    } map[] = {
        {"created", AL_RT_CREATED},  {"configured", AL_RT_CREATED}, {"initialized", AL_RT_CREATED},
        {"running", AL_RT_RUNNING},  {"paused", AL_RT_RUNNING},     {"restarting", AL_RT_RUNNING},
        {"stopping", AL_RT_RUNNING}, {"exited", AL_RT_EXITED},      {"stopped", AL_RT_EXITED},
        {"dead", AL_RT_EXITED},      {"removing", AL_RT_EXITED},
    };
    for (size_t i = 0; status && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(status, map[i].name) == 0)
            return map[i].state;
    return AL_RT_UNKNOWN;
}

/* Whether s[0..n) are digits. */
static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

void al_runtime_time(const char *docker, char out[24])
{
    const char *t = docker;
    size_t n = t ? strlen(t) : 0, i = 19;
    out[0] = '\0';
    if (n < 20 || n > 40 || !digits(t, 4) || t[4] != '-' || !digits(t + 5, 2) || t[7] != '-' ||
        !digits(t + 8, 2) || t[10] != 'T' || !digits(t + 11, 2) || t[13] != ':' ||
        !digits(t + 14, 2) || t[16] != ':' || !digits(t + 17, 2))
        return;
    if (t[i] == '.') /* a fraction: 1 to 9 digits */
        for (i++; i < n && i < 30 && t[i] >= '0' && t[i] <= '9';)
            i++;
    if (!(i == n - 1 && t[i] == 'Z') && strcmp(t + i, "+00:00") != 0)
        return;
    if (strncmp(t, "0001-01-01T", 11) == 0) /* Go's zero time: never */
        return;
    memcpy(out, t, 19);
    out[19] = 'Z';
    out[20] = '\0';
}
