/* cmd_server.c — `allot server` (serve the HTTP API) and `allot server init` (create the
 * database and its first operator, printing the operator's token once). */
#include "cli/cli.h"
#include "cli/config.h"

#include "common/num.h"
#include "core/webhook.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

static void server_usage(FILE *f)
{
    fprintf(f,
            "usage: allot server [--db PATH] [--listen ADDR:PORT] [--threads N]\n"
            "                    [--max-conns N] [--max-conns-per-ip N] [--idle-timeout S]\n"
            "                    [--tick-ms N] [--heartbeat-timeout S] [--pool-notice S]\n"
            "                    [--end-warning S] [--start-notice S]\n"
            "                    [--access-log PATH|-|off] [--metrics-token-file PATH]\n"
            "                    [--secret-key-file PATH] [--webhook-retry-base S]\n"
            "                    [--webhook-fail-limit N] [--webhook-targets public|any]\n"
            "                    [--web DIR|off] [--clock-file PATH]\n"
            "       allot server init [--db PATH] [--name NAME] [--secret-key-file PATH]\n"
            "  --db PATH|URI          SQLite database (default ./allot.db), or PostgreSQL: a\n"
            "                         postgres:// URI or libpq key=value string (then\n"
            "                         --secret-key-file is needed; docs/postgres.md)\n"
            "  --listen ADDR:PORT     where to serve HTTP (default 127.0.0.1:8080)\n"
            "  --threads N            HTTP worker threads (default %u)\n"
            "  --max-conns N          open connections in all (default %u)\n"
            "  --max-conns-per-ip N   open connections from one client address (default %u)\n"
            "  --idle-timeout S       close a connection idle for S seconds (default %u)\n"
            "  --tick-ms N            clock period: quote expiry, reservation start/end (1000)\n"
            "  --heartbeat-timeout S  a node silent for longer than S seconds is offline: its\n"
            "                         GPUs leave planning (default %u)\n"
            "  --pool-notice S        warn a pool container S seconds before a reservation\n"
            "                         takes its GPU; no reservation is placed sooner on a GPU\n"
            "                         running pool work (default %u)\n"
            "  --end-warning S        warn containers S seconds before their reservation ends,\n"
            "                         and append reservation.ending then (default %u)\n"
            "  --start-notice S       append reservation.starting S seconds before a\n"
            "                         reservation's start (default %u)\n"
            "  --access-log WHERE     one JSON line per call (time, method, path without its\n"
            "                         query, route, status, ms, user, client, bytes; never a\n"
            "                         token or a body) to the file PATH, - (stderr, the\n"
            "                         default) or off; written within a second\n"
            "  --metrics-token-file PATH\n"
            "                         a file holding the token that may read GET /metrics\n"
            "                         besides operators (Prometheus' credentials_file)\n"
            "  --secret-key-file PATH the key that seals webhook secrets in the database,\n"
            "                         created (mode 0600) when missing (default: the\n"
            "                         database's path + .key); keep it with the database\n"
            "  --webhook-retry-base S a failed webhook delivery's first retry waits up to S\n"
            "                         seconds, then 3, 12, 60, 360, 2160 times S (default %u)\n"
            "  --webhook-fail-limit N disable a webhook after N failed attempts in a row\n"
            "                         (or a day without a success; default %u)\n"
            "  --webhook-targets T    public: an org admin's webhook reaches only public\n"
            "                         addresses (not loopback, private, link-local); any:\n"
            "                         every address (default public; operators' hooks: any)\n"
            "  --web DIR|off          the dashboard's files, served at / (default:\n"
            "                         share/allot/web beside an installed binary, else the\n"
            "                         source tree's web/)\n"
            "  --clock-file PATH      TEST ONLY: read the current unix time from PATH at each\n"
            "                         tick and request instead of the system clock\n"
            "  init --name NAME       name of the first operator (default admin)\n",
            AL_SERVER_THREADS, AL_SERVER_MAX_CONNS, AL_SERVER_MAX_CONNS_PER_IP,
            AL_SERVER_IDLE_TIMEOUT_S, AL_SERVER_HEARTBEAT_TIMEOUT_S, AL_SERVER_POOL_NOTICE_S,
            AL_SERVER_END_WARNING_S, AL_SERVER_START_NOTICE_S, (unsigned)AL_WEBHOOK_BASE_S,
            (unsigned)AL_WEBHOOK_FAIL_LIMIT);
}

/* Value of option argv[*i] ("--x V"); advances *i. NULL (with a message) when missing. */
static const char *opt_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "allot server: %s needs a value\n", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
    uint64_t v = 0;
    if (al_num_parse_u64(s, 1, max, &v) < 0) {
        fprintf(stderr, "allot server: bad number '%s' (1..%u)\n", s ? s : "", max);
        return -1;
    }
    *ret = (unsigned)v;
    return 0;
}

/* A numeric option of `allot server` into `o`; -1 (with a message) when unknown or bad. */
static int server_number(const char *a, const char *v, struct al_server_opts *o)
{
    const struct {
        const char *name;
        unsigned max;
        unsigned *dst;
    } opts[] = {
        {"--threads", 64, &o->threads},
        {"--tick-ms", 3600000, &o->tick_ms},
        {"--max-conns", 1000000, &o->max_conns},
        {"--max-conns-per-ip", 1000000, &o->max_conns_per_ip},
        {"--idle-timeout", 86400, &o->idle_timeout_s},
        {"--heartbeat-timeout", 366u * 86400, &o->heartbeat_timeout_s},
        {"--pool-notice", 7u * 86400, &o->pool_notice_s},
        {"--end-warning", 7u * 86400, &o->end_warning_s},
        {"--start-notice", 7u * 86400, &o->start_notice_s},
        {"--webhook-retry-base", AL_WEBHOOK_BASE_MAX_S, &o->webhook_retry_base_s},
        {"--webhook-fail-limit", 1000000, &o->webhook_fail_limit},
    };
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (strcmp(a, opts[i].name) == 0)
            return parse_uint(v, opts[i].max, opts[i].dst);
    server_usage(stderr);
    return -1;
}

/* --webhook-targets public|any into `o`; -1 (with a message) otherwise. */
static int webhook_targets(const char *v, struct al_server_opts *o)
{
    if (strcmp(v, "public") != 0 && strcmp(v, "any") != 0) {
        fprintf(stderr, "allot server: --webhook-targets is public or any, not '%s'\n", v);
        return -1;
    }
    o->webhook_targets_any = strcmp(v, "any") == 0;
    return 0;
}

/* How the messages name the database: a PostgreSQL conninfo or URI may hold a password, so
 * it is never printed (the store's own rule, al_store_db_is_pg, decides what it opens; this
 * one only what is shown). */
static const char *db_shown(const char *db)
{
    return strstr(db, "://") || strchr(db, '=') ? "the PostgreSQL database" : db;
}

static int server_init(int argc, char **argv)
{
    const char *db = "allot.db", *name = "admin", *key = NULL;
    char token[64];
    struct al_err e = {0};
    for (int i = 1; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--db") == 0                ? &db
                           : strcmp(argv[i], "--name") == 0            ? &name
                           : strcmp(argv[i], "--secret-key-file") == 0 ? &key
                                                                       : NULL;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            server_usage(stdout);
            return AL_EXIT_OK;
        }
        if (!dst || !(*dst = opt_value(argc, argv, &i))) {
            server_usage(stderr);
            return AL_EXIT_USAGE;
        }
    }
    /* the key first: a database made without its key file would have printed its token */
    if (al_server_init_key(db, key, &e) != 0 ||
        al_server_init_db(db, name, token, sizeof token, &e) != 0) {
        fprintf(stderr, "allot server init: %s\n", e.msg);
        return e.code == AL_E_CONFLICT || e.code == AL_E_INVAL ? AL_EXIT_NO : AL_EXIT_FAIL;
    }
    fprintf(stderr, "allot server init: created %s with operator '%s'; its token (shown once):\n",
            db_shown(db), name);
    printf("%s\n", token);
    memset(token, 0, sizeof token);
    return AL_EXIT_OK;
}

static int server_main(int argc, char **argv)
{
    struct al_server_opts o = {.db = "allot.db", .listen = "127.0.0.1:8080"};
    struct al_err e = {0};
    if (argc >= 2 && strcmp(argv[1], "init") == 0)
        return server_init(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            server_usage(stdout);
            return AL_EXIT_OK;
        }
        if (!(v = opt_value(argc, argv, &i)))
            return AL_EXIT_USAGE;
        if (strcmp(a, "--db") == 0)
            o.db = v;
        else if (strcmp(a, "--listen") == 0)
            o.listen = v;
        else if (strcmp(a, "--clock-file") == 0)
            o.clock_file = v;
        else if (strcmp(a, "--access-log") == 0)
            o.access_log = v;
        else if (strcmp(a, "--metrics-token-file") == 0)
            o.metrics_token_file = v;
        else if (strcmp(a, "--secret-key-file") == 0)
            o.secret_key_file = v;
        else if (strcmp(a, "--web") == 0)
            o.web_dir = v;
        else if (strcmp(a, "--webhook-targets") == 0) {
            if (webhook_targets(v, &o) != 0)
                return AL_EXIT_USAGE;
        } else if (server_number(a, v, &o) != 0)
            return AL_EXIT_USAGE;
    }
    if (al_server_run(&o, &e) != 0) {
        fprintf(stderr, "allot server: %s\n", e.msg);
        return e.code == AL_E_INVAL ? AL_EXIT_USAGE : AL_EXIT_FAIL;
    }
    return AL_EXIT_OK;
}

/* The flags of /etc/allot/allot.conf's [server] section (cli/config.h) come first. */
int al_cmd_server(int argc, char **argv)
{
    return al_config_run("server", server_usage, server_main, argc, argv);
}
