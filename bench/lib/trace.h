/* trace.h — loader for the Alibaba cluster-trace-gpu-v2023 pod list ("openb" CSV), the input of
 * the mig-replay benchmark. Every field is validated; a bad line is an error naming line and
 * field, not a guess. */
#ifndef AL_BENCH_TRACE_H
#define AL_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define AL_TRACE_MAX_TASKS 1000000 /* bound on lines read from an untrusted file */

struct al_trace_task {
    int64_t t0, t1;     /* creation, deletion (seconds from trace start); t1 > t0 */
    unsigned num_gpu;   /* 0..8 */
    unsigned gpu_milli; /* 0..1000: share of one GPU when num_gpu == 1 */
    unsigned line;      /* line number in the file, for messages */
};

struct al_trace {
    struct al_trace_task *task; /* sorted by t0 (stable: file order on ties) */
    size_t n;
    size_t skipped_nogpu;    /* num_gpu == 0 */
    size_t open_ended;       /* empty deletion_time: treated as ending at the trace's end */
    size_t skipped_zero_len; /* deletion_time == creation_time: nothing to hold */
    int64_t end;             /* largest creation or deletion time seen */
};

/* Read `path`. On success fills *ret (caller frees with al_trace_free) and returns 0; otherwise
 * a negative code with the line and field in reterr. */
int al_trace_load(const char *path, struct al_trace *ret, struct al_err *reterr);
void al_trace_free(struct al_trace *t);

#endif
