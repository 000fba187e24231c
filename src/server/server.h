/* server.h — `allot server`: the HTTP/JSON API over the store. The CLI's only door into the
 * server room. */
#ifndef AL_SERVER_SERVER_H
#define AL_SERVER_SERVER_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>

/* The defaults of the options below (0 in a field means its default). */
#define AL_SERVER_THREADS             16u
#define AL_SERVER_MAX_CONNS           1024u
#define AL_SERVER_MAX_CONNS_PER_IP    128u
#define AL_SERVER_IDLE_TIMEOUT_S      30u
#define AL_SERVER_HEARTBEAT_TIMEOUT_S 90u  /* six of the agent's default 15 s heartbeats */
#define AL_SERVER_POOL_NOTICE_S       900u /* a pool container's warning before a reservation */
#define AL_SERVER_END_WARNING_S       900u /* a container's warning before its window ends */
#define AL_SERVER_START_NOTICE_S      900u /* reservation.starting before a reservation's start */

struct al_server_opts {
    const char *db;               /* SQLite file (default ./allot.db) */
    const char *listen;           /* "ADDR:PORT" (default 127.0.0.1:8080) */
    const char *clock_file;       /* test only: file whose content is the current unix time */
    unsigned threads;             /* HTTP worker threads (calls wait for commits) */
    unsigned tick_ms;             /* clock period (default 1000) */
    unsigned max_conns;           /* open connections in all (fewer if the fd limit is lower) */
    unsigned max_conns_per_ip;    /* open connections from one client address */
    unsigned idle_timeout_s;      /* a connection idle this long is closed */
    unsigned heartbeat_timeout_s; /* a node silent for longer is offline (0: the default) */
    unsigned pool_notice_s;       /* pool containers' notice before a reservation (0: default) */
    unsigned end_warning_s;       /* containers' warning before their window ends (0: default) */
    unsigned start_notice_s;      /* reservation.starting before a start (0: default) */

    /* the access log's JSON lines: a path, "-" (stderr) or "off" (NULL: "-") */
    const char *access_log;
    /* a file holding the token that may read GET /metrics besides operators (may be NULL) */
    const char *metrics_token_file;
    /* webhooks (docs/webhooks.md): the file of the key that seals hook secrets (NULL:
     * "<db>.key"), the first retry's nominal wait and the consecutive failed attempts that
     * disable a hook (0: their defaults) */
    const char *secret_key_file;
    unsigned webhook_retry_base_s;
    unsigned webhook_fail_limit;
    bool webhook_targets_any; /* an org's hook may reach any address (default: public only) */
    /* the dashboard's files (server/web.h): a directory, "off", or NULL for the default */
    const char *web_dir;
};

/* Create the database (if needed) and its first operator named `name`; writes the operator's
 * token (shown once, never stored) into `token` (cap >= 64). Refuses (AL_E_CONFLICT) when the
 * database has users already. */
int al_server_init_db(const char *db, const char *name, char *token, size_t cap,
                      struct al_err *reterr);

/* Create the key file that seals webhook secrets (server/whkey.h) at `path` (NULL:
 * "<db>.key") when it does not exist; check it when it does. 0 or a code with reterr. */
int al_server_init_key(const char *db, const char *path, struct al_err *reterr);

/* Serve until SIGINT or SIGTERM, then stop cleanly. Returns 0 after a clean stop. */
int al_server_run(const struct al_server_opts *opts, struct al_err *reterr);

#endif
