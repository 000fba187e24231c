/* pg_ceiling.c — PostgreSQL's own ceiling for the durable writes allot's replicas will make
 * (issue 16): N clients, each on its own connection over the unix socket, each doing one INSERT
 * per transaction (autocommit: the INSERT is its transaction) and waiting for its commit, with
 * synchronous_commit=on and fsync=on, so that every answered INSERT is on disk as every
 * answered allot write is. Nothing allot does can make a durable write on that PostgreSQL
 * faster: this is the line `bench/e2e` on PostgreSQL is compared with. Afterwards the table is
 * counted: every INSERT answered must be there.
 *
 * Run it under bench/pg.sh with AL_PG_DURABLE=1 (scripts/bench.sh does), which starts a
 * throw-away server and exports AL_PG_CONNINFO; the program refuses a server whose
 * synchronous_commit or fsync is off. Prints one JSON line on stdout, shaped like bench/e2e's:
 * {"bench":"pg_ceiling","clients":…,"seconds":…,"inserts":…,"inserts_per_s":…,"p50_ms":…,
 *  "p99_ms":…,"errors":…,"rows":…,"synchronous_commit":"on","fsync":"on","server":"…"};
 * progress on stderr. Without libpq, or without a server, it prints {"bench":"pg_ceiling",
 * "skipped":"…"} and exits 0: a benchmark that cannot run is reported, not faked.
 *
 * Environment: AL_PG_CONNINFO, PG_CEILING_CLIENTS (default 16, as E2E_WRITERS),
 * PG_CEILING_SECONDS (default 10; QUICK=1: 3). */
#include "bcommon.h"
#include "common/num.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef AL_HAVE_PQ

int main(void)
{
    printf("{\"bench\":\"pg_ceiling\",\"skipped\":\"built without libpq\"}\n");
    return 0;
}

#else

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 256

struct ceiling {
    const char *conninfo;
    int clients, seconds;
    atomic_int stop;
};

struct client {
    struct ceiling *b;
    pthread_t th;
    int num;
    long inserts, errors;
    uint64_t *lat; /* ns per answered INSERT */
    size_t n, cap;
    char why[160]; /* the first error, for stderr */
};

/* A knob from the environment into *ret: a whole number in [min, max], or `def` when unset.
 * -1 for anything else, said on stderr: the benchmark stops rather than silently using a
 * default. */
static int env_int(const char *name, int def, int min, int max, int *ret)
{
    const char *s = getenv(name); /* NOLINT(concurrency-mt-unsafe): read before threads start */
    uint64_t v;
    *ret = def;
    if (!s || !s[0])
        return 0;
    if (al_num_parse_u64(s, (uint64_t)min, (uint64_t)max, &v) != 0) {
        fprintf(stderr, "pg_ceiling: %s must be a whole number %d..%d, not '%s'\n", name, min, max,
                s);
        return -1;
    }
    *ret = (int)v;
    return 0;
}

static void skipped(const char *why)
{
    printf("{\"bench\":\"pg_ceiling\",\"skipped\":\"");
    for (const char *p = why; *p; p++) /* JSON-safe: the reason is libpq's or pg.sh's text */
        putchar(*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? ' ' : *p);
    printf("\"}\n");
}

static void lat_add(struct client *c, uint64_t ns)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        uint64_t *v = realloc(c->lat, cap * sizeof *v);
        if (!v)
            return; /* drop the sample rather than the run */
        c->lat = v;
        c->cap = cap;
    }
    c->lat[c->n++] = ns;
}

static void note(struct client *c, const char *msg)
{
    if (!c->why[0])
        snprintf(c->why, sizeof c->why, "%s", msg);
    c->errors++;
}

/* One client: its own connection, the INSERT prepared once, then one durable transaction per
 * INSERT until told to stop. */
static void *client_run(void *arg)
{
    struct client *c = arg;
    char num[16], at[24];
    PGconn *conn = PQconnectdb(c->b->conninfo);
    PGresult *r = NULL;
    if (PQstatus(conn) != CONNECTION_OK) {
        note(c, PQerrorMessage(conn));
        goto out;
    }
    r = PQprepare(conn, "ins", "INSERT INTO ceiling(client, at, doc) VALUES($1, $2, $3)", 3, NULL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        note(c, PQerrorMessage(conn));
        goto out;
    }
    snprintf(num, sizeof num, "%d", c->num);
    while (!atomic_load(&c->b->stop)) {
        uint64_t t0 = al_bench_now_ns();
        snprintf(at, sizeof at, "%llu", (unsigned long long)t0);
        const char *params[3] = {num, at, "{\"kind\":\"reservation.confirmed\"}"};
        PQclear(r);
        r = PQexecPrepared(conn, "ins", 3, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            note(c, PQerrorMessage(conn));
            if (PQstatus(conn) != CONNECTION_OK)
                break;
            continue;
        }
        lat_add(c, al_bench_now_ns() - t0);
        c->inserts++;
    }
out:
    PQclear(r);
    PQfinish(conn);
    return NULL;
}

/* One value of a one-row query into buf ("" on failure). */
static void one(PGconn *conn, const char *sql, char *buf, size_t cap)
{
    PGresult *r = PQexec(conn, sql);
    snprintf(buf, cap, "%s",
             PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
}

/* The table, and the settings that make each commit durable; 0, or -1 with the reason in why. */
static int setup(PGconn *conn, char *sync, char *fsync, char *version, size_t cap, char *why,
                 size_t whycap)
{
    if (PQstatus(conn) != CONNECTION_OK) {
        snprintf(why, whycap, "%s", PQerrorMessage(conn));
        return -1;
    }
    one(conn, "SHOW synchronous_commit", sync, cap);
    one(conn, "SHOW fsync", fsync, cap);
    one(conn, "SHOW server_version", version, cap);
    if (strcmp(sync, "on") != 0 || strcmp(fsync, "on") != 0) {
        snprintf(why, whycap,
                 "synchronous_commit is '%s' and fsync '%s': both must be on (AL_PG_DURABLE=1 "
                 "bench/pg.sh)",
                 sync, fsync);
        return -1;
    }
    PGresult *r = PQexec(conn, "SET client_min_messages = warning;"
                               " DROP TABLE IF EXISTS ceiling;"
                               " CREATE TABLE ceiling(id bigint GENERATED ALWAYS AS IDENTITY"
                               " PRIMARY KEY, client integer NOT NULL, at bigint NOT NULL,"
                               " doc text NOT NULL)");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc)
        snprintf(why, whycap, "%s", PQerrorMessage(conn));
    PQclear(r);
    return rc;
}

/* Start the clients, let them run for b->seconds, stop them; the seconds it took. */
static double load(struct ceiling *b, struct client *c)
{
    uint64_t t0 = al_bench_now_ns();
    int started = 0;
    for (; started < b->clients; started++) {
        c[started] = (struct client){.b = b, .num = started};
        if (pthread_create(&c[started].th, NULL, client_run, &c[started]) != 0)
            break;
    }
    struct timespec ts = {b->seconds, 0};
    nanosleep(&ts, NULL);
    atomic_store(&b->stop, 1);
    for (int i = 0; i < started; i++)
        pthread_join(c[i].th, NULL);
    b->clients = started;
    return (double)(al_bench_now_ns() - t0) / 1e9;
}

static void report(struct ceiling *b, struct client *c, double secs, PGconn *conn, const char *sync,
                   const char *fsync, const char *version)
{
    long inserts = 0, errors = 0;
    size_t n = 0;
    for (int i = 0; i < b->clients; i++)
        n += c[i].n;
    uint64_t *all = n ? malloc(n * sizeof *all) : NULL;
    size_t k = 0;
    for (int i = 0; i < b->clients; i++) {
        inserts += c[i].inserts;
        errors += c[i].errors;
        if (all && c[i].n) {
            memcpy(all + k, c[i].lat, c[i].n * sizeof *all);
            k += c[i].n;
        }
        if (c[i].why[0])
            fprintf(stderr, "pg_ceiling: client %d: %s", i, c[i].why);
    }
    al_bench_sort_u64(all, k);
    char rows[32];
    one(conn, "SELECT count(*) FROM ceiling", rows, sizeof rows);
    printf("{\"bench\":\"pg_ceiling\",\"clients\":%d,\"seconds\":%.1f,\"inserts\":%ld,"
           "\"inserts_per_s\":%.1f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"errors\":%ld,\"rows\":%s,"
           "\"synchronous_commit\":\"%s\",\"fsync\":\"%s\",\"server\":\"%s\"}\n",
           b->clients, secs, inserts, (double)inserts / secs,
           (double)al_bench_quantile_sorted(all, k, 0.5) / 1e6,
           (double)al_bench_quantile_sorted(all, k, 0.99) / 1e6, errors, rows[0] ? rows : "null",
           sync, fsync, version);
    free(all);
}

int main(void)
{
    static struct ceiling b;
    static struct client c[MAX_CLIENTS];
    char sync[64], fsync[64], version[64], why[512];
    /* NOLINTNEXTLINE(concurrency-mt-unsafe): read before any thread starts */
    const char *skip = getenv("AL_PG_SKIP");
    b.conninfo = getenv("AL_PG_CONNINFO"); /* NOLINT(concurrency-mt-unsafe): as above */
    if (env_int("PG_CEILING_CLIENTS", 16, 1, MAX_CLIENTS, &b.clients) != 0 ||
        env_int("PG_CEILING_SECONDS", al_bench_quick() ? 3 : 10, 1, 3600, &b.seconds) != 0)
        return 2;
    if (!b.conninfo || !b.conninfo[0]) {
        skipped(skip && skip[0] ? skip : "AL_PG_CONNINFO not set (run through bench/pg.sh)");
        return 0;
    }
    PGconn *conn = PQconnectdb(b.conninfo);
    if (setup(conn, sync, fsync, version, sizeof sync, why, sizeof why) != 0) {
        PQfinish(conn);
        if (strstr(why, "must be on")) { /* a server that would measure the wrong thing */
            fprintf(stderr, "pg_ceiling: %s\n", why);
            return 1;
        }
        skipped(why);
        return 0;
    }
    fprintf(stderr, "pg_ceiling: PostgreSQL %s, %d clients for %d s, one INSERT per commit\n",
            version, b.clients, b.seconds);
    double secs = load(&b, c);
    report(&b, c, secs, conn, sync, fsync, version);
    for (int i = 0; i < b.clients; i++)
        free(c[i].lat);
    PQfinish(conn);
    return 0;
}

#endif
