/* runtime.h — the agent's container runtimes: one interface, two implementations.
 *   - "docker-api" (rt_docker.c): the Docker Engine API v1.41 over a unix socket (Docker in
 *     production, Podman's service in tests: scripts/podman.sh). The container gets
 *     NVIDIA_VISIBLE_DEVICES=<device>, allot's labels, no network; with gpu_requests also
 *     HostConfig.DeviceRequests for the NVIDIA toolkit.
 *   - "process" (rt_process.c): a local command, for development: fork/exec (no shell) with
 *     CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES = the device, its output and its pid and
 *     exit status kept in a directory per container under the runtime's directory.
 * Every container allot starts carries the label "allot.container" = allot's id ("ctr_…"), so
 * that al_runtime_list finds them again after an agent restart.
 *
 * Every byte from a runtime is untrusted: answers are bounded and validated, logs are cut to
 * their last AL_RUNTIME_LOG_MAX bytes and made valid UTF-8. A runtime that cannot be reached
 * (the socket gone, the service down) is AL_E_IO with a message naming it ("docker-api
 * /x/podman.sock: connect: No such file or directory"); a container it does not know is
 * AL_E_NOTFOUND; anything else it refuses is AL_E_INVAL or AL_E_INTERNAL with its words. */
#ifndef AL_AGENT_RUNTIME_H
#define AL_AGENT_RUNTIME_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AL_RUNTIME_LOG_MAX  65536 /* bytes of a container's log tail */
#define AL_RUNTIME_ID_MAX   129   /* a runtime's container id, with its NUL (Docker: 64 hex) */
#define AL_RUNTIME_CTR_MAX  64    /* allot's container id ("ctr_" + 16 hex), with its NUL */
#define AL_RUNTIME_LIST_MAX 1024  /* containers labelled allot.container a runtime may hold */
#define AL_RUNTIME_STOP_S   10    /* seconds between the polite stop and the kill */
#define AL_RUNTIME_LABEL    "allot.container"
#define AL_RUNTIME_NODE     "allot.node" /* the label naming the node whose agent made it */
#define AL_RUNTIME_NODE_MAX 64           /* a node's name, with its NUL */

/* What a runtime says of a container. */
enum al_rt_state {
    AL_RT_CREATED, /* created, never started */
    AL_RT_RUNNING, /* running (also paused, restarting, stopping) */
    AL_RT_EXITED,  /* ended (by itself, or stopped: the agent knows which it asked) */
    AL_RT_UNKNOWN, /* a state this code does not know */
};

struct al_rt_ctr {
    char id[AL_RUNTIME_ID_MAX];   /* the runtime's id */
    char ctr[AL_RUNTIME_CTR_MAX]; /* its allot.container label ("" when not allot's) */
    enum al_rt_state state;
    bool has_exit; /* exit_code is known (AL_RT_EXITED and the runtime told it) */
    int exit_code; /* 0..255; 128 + N for a process killed by signal N */
    char started_at[24], finished_at[24]; /* "YYYY-MM-DDTHH:MM:SSZ", or "" unknown */
    char error[160];                      /* the runtime's words about it, or "" */
};

/* What to run. All borrowed; validated by the caller (agent/agentctr.c). */
struct al_runtime_spec {
    const char *ctr;       /* allot's id, "ctr_…" */
    const char *image;     /* docker-api: the image; process: recorded, not used */
    const json_t *command; /* array of strings: the program and its arguments */
    const json_t *env;     /* object of strings, K → V (without the device variables) */
    const json_t *labels;  /* object of strings (with allot.container = ctr) */
    const char *device;    /* "MIG-…" or "GPU-…" */
};

struct al_runtime;

/* Open the runtime `spec` names: "docker-api:PATH" (a unix socket; nothing is contacted yet)
 * or "process" / "process:DIR" (DIR created if missing; default "allot-process" in the
 * working directory). `gpu_requests` adds DeviceRequests to docker-api containers. On success
 * *ret is the caller's (al_runtime_close). */
int al_runtime_open(const char *spec, bool gpu_requests, struct al_runtime **ret,
                    struct al_err *reterr);
void al_runtime_close(struct al_runtime *rt);

/* "docker-api" or "process" (static). */
const char *al_runtime_kind(const struct al_runtime *rt);

/* Scope the runtime to node `node` (1..63 bytes of A-Z a-z 0-9 . _ -): al_runtime_list lists
 * only the containers labelled allot.node = node, which the caller labels so. One Docker or
 * Podman service may serve the agents of several nodes (the simulated nodes of `make run` and
 * the tests share one): each agent must see, and remove, only its own. The process runtime
 * keeps node's containers in DIR/node (made if missing). 0, AL_E_INVAL, or the mkdir's
 * error. */
int al_runtime_scope(struct al_runtime *rt, const char *node, struct al_err *reterr);

/* Whether the runtime answers (docker-api: GET /version). 0, or AL_E_IO naming it. */
int al_runtime_ping(struct al_runtime *rt, struct al_err *reterr);

/* Every container labelled allot.container, with its state (docker-api: exit code and times
 * need al_runtime_inspect). *ret (caller frees; NULL when none) holds *n entries. */
int al_runtime_list(struct al_runtime *rt, struct al_rt_ctr **ret, size_t *n,
                    struct al_err *reterr);

/* Create (not start) a container for `s`; its runtime id into id (AL_RUNTIME_ID_MAX). */
int al_runtime_create(struct al_runtime *rt, const struct al_runtime_spec *s, char *id,
                      struct al_err *reterr);
int al_runtime_start(struct al_runtime *rt, const char *id, struct al_err *reterr);
int al_runtime_inspect(struct al_runtime *rt, const char *id, struct al_rt_ctr *ret,
                       struct al_err *reterr);
/* The last <= AL_RUNTIME_LOG_MAX bytes of its stdout and stderr, as valid UTF-8 without NUL:
 * *ret (caller frees, NUL-terminated) of *len bytes. */
int al_runtime_logs(struct al_runtime *rt, const char *id, char **ret, size_t *len,
                    struct al_err *reterr);
/* Ask it to stop, killed after AL_RUNTIME_STOP_S seconds; returns when it has ended. One that
 * has ended already: 0. */
int al_runtime_stop(struct al_runtime *rt, const char *id, struct al_err *reterr);
/* Remove it (and its logs). One the runtime does not know: AL_E_NOTFOUND. */
int al_runtime_remove(struct al_runtime *rt, const char *id, struct al_err *reterr);

/* ---- The pure parts, shared by the runtimes and tested alone (tests/unit/test_runtime.c) */

/* A Docker log stream being read: frames of an 8-byte header (stream 0, 1 or 2; three zero
 * bytes; a big-endian 32-bit length) and that many bytes, of which only the last
 * AL_RUNTIME_LOG_MAX are kept. Feed it as the bytes come; then al_runtime_demux_tail. */
struct al_rt_demux {
    unsigned char hdr[8];
    size_t nhdr;    /* header bytes of the current frame seen */
    size_t left;    /* payload bytes of the current frame still to come */
    char *buf;      /* the kept bytes (at most 2 * AL_RUNTIME_LOG_MAX) */
    size_t len;     /* of buf */
    size_t dropped; /* payload bytes dropped from the front */
    bool bad;       /* a header was invalid: the stream is refused */
};
/* Take `len` more bytes. AL_E_INVAL (naming the header) on a header that is not one, AL_E_NOMEM;
 * the stream stays refused after either. */
int al_runtime_demux_feed(struct al_rt_demux *d, const void *p, size_t len, struct al_err *reterr);
/* The end of the stream: a frame cut short is kept as far as it came. The last
 * <= AL_RUNTIME_LOG_MAX bytes as al_runtime_tail_text makes them, into *ret (caller frees). */
int al_runtime_demux_tail(struct al_rt_demux *d, char **ret, size_t *len, struct al_err *reterr);
void al_runtime_demux_free(struct al_rt_demux *d);

/* The text of the last <= max bytes of p[0..len): the cut moved forward past UTF-8
 * continuation bytes (a character cut in two is left out, not made a '?'), then each byte of
 * an invalid or overlong UTF-8 sequence, a surrogate, a code point over U+10FFFF and each NUL
 * replaced by '?' in place. Returns the offset in p where the text starts; its length in *n. */
size_t al_runtime_tail_text(char *p, size_t len, size_t max, size_t *n);

/* Docker's State.Status (or a list entry's State) as an al_rt_state. */
enum al_rt_state al_runtime_state_of(const char *status);

/* Docker's "2026-05-01T12:00:00.123456789Z" as "2026-05-01T12:00:00Z" into out (24 bytes);
 * "" for the zero time ("0001-01-01T00:00:00Z") or anything that is not such a time. */
void al_runtime_time(const char *docker, char out[24]);

/* Validate a Docker answer (untrusted): the JSON of POST /containers/create (its "Id"), of
 * GET /containers/{id}/json, of GET /containers/json. Each refusal names the field. */
int al_runtime_parse_created(const char *body, size_t len, char *id, struct al_err *reterr);
int al_runtime_parse_inspect(const char *body, size_t len, struct al_rt_ctr *ret,
                             struct al_err *reterr);
int al_runtime_parse_list(const char *body, size_t len, struct al_rt_ctr **ret, size_t *n,
                          struct al_err *reterr);

#endif
