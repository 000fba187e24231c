/* cmd_server.c — `allot server` (serve the HTTP API) and `allot server init` (create the
 * database and its first operator, printing the operator's token once). */
#include "cli/cli.h"

#include "common/num.h"
#include "server/server.h"

#include <stdlib.h>
#include <string.h>

static void server_usage(FILE *f)
{
    fprintf(f, "usage: allot server [--db PATH] [--listen ADDR:PORT] [--threads N]\n"
               "                    [--tick-ms N] [--heartbeat-timeout S] [--clock-file PATH]\n"
               "       allot server init [--db PATH] [--name NAME]\n"
               "  --db PATH          SQLite database (default ./allot.db)\n"
               "  --listen ADDR:PORT where to serve HTTP (default 127.0.0.1:8080)\n"
               "  --threads N        HTTP worker threads (default 16)\n"
               "  --tick-ms N        clock period: quote expiry, reservation start/end (1000)\n"
               "  --heartbeat-timeout S  a node that has not reported for longer than S\n"
               "                     seconds is offline: its GPUs leave planning (90)\n"
               "  --clock-file PATH  TEST ONLY: read the current unix time from PATH at each\n"
               "                     tick and request instead of the system clock\n"
               "  init --name NAME   name of the first operator (default admin)\n");
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

static int server_init(int argc, char **argv)
{
    const char *db = "allot.db", *name = "admin";
    char token[64];
    struct al_err e = {0};
    for (int i = 1; i < argc; i++) {
        const char **dst = strcmp(argv[i], "--db") == 0     ? &db
                           : strcmp(argv[i], "--name") == 0 ? &name
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
    if (al_server_init_db(db, name, token, sizeof token, &e) != 0) {
        fprintf(stderr, "allot server init: %s\n", e.msg);
        return e.code == AL_E_CONFLICT || e.code == AL_E_INVAL ? AL_EXIT_NO : AL_EXIT_FAIL;
    }
    fprintf(stderr, "allot server init: created %s with operator '%s'; its token (shown once):\n",
            db, name);
    printf("%s\n", token);
    memset(token, 0, sizeof token);
    return AL_EXIT_OK;
}

int al_cmd_server(int argc, char **argv)
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
        else if (strcmp(a, "--threads") == 0   ? parse_uint(v, 64, &o.threads)
                 : strcmp(a, "--tick-ms") == 0 ? parse_uint(v, 3600000, &o.tick_ms)
                 : strcmp(a, "--heartbeat-timeout") == 0
                     ? parse_uint(v, 366u * 86400, &o.heartbeat_timeout_s)
                     : (server_usage(stderr), -1))
            return AL_EXIT_USAGE;
    }
    if (al_server_run(&o, &e) != 0) {
        fprintf(stderr, "allot server: %s\n", e.msg);
        return e.code == AL_E_INVAL ? AL_EXIT_USAGE : AL_EXIT_FAIL;
    }
    return AL_EXIT_OK;
}
