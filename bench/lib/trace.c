/* trace.c — openb pod-list CSV loader (see trace.h). */
#include "trace.h"

#include "common/num.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 1024
#define NFIELDS      11
#define F_NUM_GPU    3
#define F_GPU_MILLI  4
#define F_CREATION   8
#define F_DELETION   9

static const char header[] = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
                             "creation_time,deletion_time,scheduled_time";

/* Split a CSV line (no quoting in this trace) into exactly NFIELDS fields, in place. */
static int split(char *line, char *f[NFIELDS])
{
    unsigned n = 0;
    f[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p != ',')
            continue;
        if (n == NFIELDS)
            return -1;
        *p = '\0';
        f[n++] = p + 1;
    }
    return n == NFIELDS ? 0 : -1;
}

static int cmp_t0(const void *a, const void *b)
{
    const struct al_trace_task *x = a, *y = b;
    if (x->t0 != y->t0)
        return x->t0 < y->t0 ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int add_line(struct al_trace *t, char *line, unsigned lineno, size_t *cap,
                    struct al_err *reterr)
{
    char *f[NFIELDS];
    int64_t ng, gm, c, d = -1;
    if (split(line, f) != 0)
        return al_err_set(reterr, AL_E_INVAL, "line %u: expected %d fields", lineno, NFIELDS);
    if (al_num_parse_i64(f[F_NUM_GPU], 0, 64, &ng) != 0)
        return al_err_set(reterr, AL_E_INVAL, "line %u: bad num_gpu", lineno);
    if (al_num_parse_i64(f[F_GPU_MILLI], 0, 1000, &gm) != 0)
        return al_err_set(reterr, AL_E_INVAL, "line %u: bad gpu_milli", lineno);
    if (al_num_parse_i64(f[F_CREATION], 0, INT64_MAX / 4, &c) != 0)
        return al_err_set(reterr, AL_E_INVAL, "line %u: bad creation_time", lineno);
    if (*f[F_DELETION] && (al_num_parse_i64(f[F_DELETION], 0, INT64_MAX / 4, &d) != 0 || d < c))
        return al_err_set(reterr, AL_E_INVAL, "line %u: bad deletion_time", lineno);
    if (c > t->end)
        t->end = c;
    if (d > t->end)
        t->end = d;
    if (ng == 0) {
        t->skipped_nogpu++;
        return 0;
    }
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        void *p = realloc(t->task, nc * sizeof *t->task);
        if (!p)
            return al_err_set(reterr, AL_E_NOMEM, "out of memory at line %u", lineno);
        t->task = p;
        *cap = nc;
    }
    t->task[t->n++] = (struct al_trace_task){
        .t0 = c, .t1 = d, .num_gpu = (unsigned)ng, .gpu_milli = (unsigned)gm, .line = lineno};
    return 0;
}

/* Open-ended tasks run to the end of the trace; zero-length ones are dropped. */
static void finish(struct al_trace *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        struct al_trace_task x = t->task[i];
        if (x.t1 < 0) {
            x.t1 = t->end;
            t->open_ended++;
        }
        if (x.t1 <= x.t0) {
            t->skipped_zero_len++;
            continue;
        }
        t->task[k++] = x;
    }
    t->n = k;
    qsort(t->task, t->n, sizeof *t->task, cmp_t0);
}

int al_trace_load(const char *path, struct al_trace *ret, struct al_err *reterr)
{
    int rc = 0;
    size_t cap = 0;
    unsigned lineno = 0;
    char line[LINE_MAX_LEN + 2];
    memset(ret, 0, sizeof *ret);
    FILE *fp = fopen(path, "r");
    if (!fp)
        return al_err_set(reterr, -errno, "%s: %s", path, al_strerror(-errno));
    while (fgets(line, sizeof line, fp)) {
        size_t len = strlen(line);
        lineno++;
        if (len > LINE_MAX_LEN) {
            rc = al_err_set(reterr, AL_E_RANGE, "line %u: longer than %d bytes", lineno,
                            LINE_MAX_LEN);
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, header) != 0) {
                rc = al_err_set(reterr, AL_E_INVAL, "line 1: not an openb pod-list header");
                goto out;
            }
            continue;
        }
        if (!len)
            continue;
        if (lineno > AL_TRACE_MAX_TASKS) {
            rc = al_err_set(reterr, AL_E_RANGE, "more than %d lines", AL_TRACE_MAX_TASKS);
            goto out;
        }
        if ((rc = add_line(ret, line, lineno, &cap, reterr)) != 0)
            goto out;
    }
    if (ferror(fp)) {
        rc = al_err_set(reterr, AL_E_IO, "%s: read error", path);
        goto out;
    }
    finish(ret);
out:
    fclose(fp);
    if (rc != 0)
        al_trace_free(ret);
    return rc;
}

void al_trace_free(struct al_trace *t)
{
    if (!t)
        return;
    free(t->task);
    t->task = NULL;
    t->n = 0;
}
