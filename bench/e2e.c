/* e2e.c — end-to-end load test: starts `allot server` on a temp SQLite database, registers a
 * synthetic fleet through the API (PUT /v1/nodes, 10,000 nodes × 8 GPUs = 80k GPUs; QUICK=1:
 * 1,000 nodes), then many client threads on loopback make reservations while others read
 * availability: in mode "flow" each reservation is the operator-approved flow's five calls
 * (create → quote → approve → accept → confirm), in mode "reserve" one self-service call
 * (POST /v1/reservations with a full ask). Afterwards every reservation is listed and their
 * allocations checked: no GPU may hold two overlapping reservations. Prints one JSON line per
 * mode run on stdout; progress on stderr.
 *
 * Environment: ALLOT (the binary; default: `allot` next to this program), QUICK=1,
 * E2E_MODE (flow, reserve, or both: flow then reserve on the same server; default both),
 * E2E_NODES, E2E_WRITERS (default 16), E2E_READERS (default 16), E2E_SECONDS (per mode;
 * default 30; QUICK 5), E2E_SERVER_THREADS (the server's --threads; default: the server's own),
 * E2E_DB (a PostgreSQL connection string for the servers' --db, e.g. bench/pg.sh's
 * $AL_PG_CONNINFO; default: a SQLite file in the temp directory), E2E_REPLICAS (servers on
 * that one database, default 1; more than 1 needs E2E_DB: each worker keeps one replica, as
 * behind a load balancer with kept-alive connections), E2E_WRK (seconds: after the modes,
 * with their holds in place, `wrk -t2 -c16` loads GET /v1/availability as the limits of
 * ../shared/limits/limits.sh load their bare server, and a third line gives its rate).
 * The latencies: p50_ms/p99_ms of the call that writes the reservation durably (confirm, or
 * the one reserve call), flow_p50_ms/flow_p99_ms of all the calls of one reservation together,
 * read_p99_ms of availability. */
#include "client/client.h"
#include "common/num.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256

struct lat { /* a growing array of latencies in ms */
    double *v;
    size_t n, cap;
};

#define MAX_REPLICAS 8

struct bench {
    char allot[1024], dir[256], op_token[128], admin_token[128];
    char db[1024];              /* --db: E2E_DB, or the temp directory's SQLite file */
    char url[MAX_REPLICAS][96]; /* each replica's base URL; url[0] sets up and checks */
    pid_t server[MAX_REPLICAS];
    int replicas;
    int nodes, writers, readers, seconds, wrk_seconds;
    bool run_flow, run_reserve; /* E2E_MODE: the modes to run, flow first */
    bool reserve_mode;          /* the mode running: one self-service call per reservation */
    atomic_int stop;
    time_t base; /* windows are laid out from here */
};

struct worker {
    struct bench *b;
    int replica; /* the server it calls: url[replica] */
    pthread_t th;
    unsigned seed;
    long done, refused, errors;
    struct lat confirm, flow, read;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void lat_add(struct lat *l, double ms)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        double *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return; /* drop the sample rather than the run */
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(struct lat *l, double p)
{
    if (l->n == 0)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, cmp_double);
    size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
    return l->v[i];
}

static void die(const char *what)
{
    fprintf(stderr, "bench e2e: %s\n", what);
    exit(1);
}

/* A knob from the environment: a whole number 0..1000000 (0 allowed: E2E_READERS=0), or
 * `def` when unset; anything else stops the benchmark rather than silently using a default. */
static int env_int(const char *name, int def)
{
    const char *s = getenv(name); /* NOLINT(concurrency-mt-unsafe): read before threads start */
    uint64_t v;
    if (!s || !s[0])
        return def;
    if (al_num_parse_u64(s, 0, 1000000, &v) != 0) {
        fprintf(stderr, "bench e2e: %s must be a whole number 0..1000000, not '%s'\n", name, s);
        exit(2);
    }
    return (int)v;
}

static void fmt_time(time_t t, char *out, size_t cap)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A free loopback port: bind port 0, read it back, close (a small race, fine for a bench). */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* A client with generous timeouts: under load a slow answer is a result to measure, not an
 * error. Dies when it cannot be made. */
static struct al_client *client(const char *url, const char *token)
{
    struct al_client *c = al_client_new(url, token, NULL);
    if (!c)
        die("cannot make a client");
    al_client_set_timeouts(c, 5000, 300000);
    return c;
}

/* `allot server init`: its output holds the operator token ("al_" + 43 characters). */
static void server_init(struct bench *b)
{
    char cmd[4096], line[512];
    if (strchr(b->db, '\'') || strchr(b->dir, '\''))
        die("E2E_DB and the temp directory may not hold a quote");
    snprintf(cmd, sizeof cmd,
             "'%s' server init --db '%s' --secret-key-file '%s/key' --name bench 2>&1", b->allot,
             b->db, b->dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("cannot run allot server init");
    while (fgets(line, sizeof line, p)) {
        char *t = strstr(line, "al_");
        if (t && !b->op_token[0] &&
            strspn(t + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                          "wxyz0123456789-_") >= 43)
            snprintf(b->op_token, sizeof b->op_token, "%.46s", t);
    }
    if (pclose(p) != 0 || !b->op_token[0])
        die("allot server init failed or printed no token");
}

/* Replica i: `allot server` on the bench's database, answering /healthz. */
static void server_start(struct bench *b, int i)
{
    char key[300], listen[32];
    int port = free_port();
    if (port < 0)
        die("no free port");
    snprintf(key, sizeof key, "%s/key", b->dir);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(b->url[i], sizeof b->url[i], "http://%s", listen);
    b->server[i] = fork();
    if (b->server[i] < 0)
        die("fork failed");
    if (b->server[i] == 0) { /* its per-call log goes to a file, not into the bench's output */
        char log[300];
        snprintf(log, sizeof log, "%s/server%d.log", b->dir, i);
        if (!freopen(log, "w", stdout) || !freopen(log, "a", stderr))
            _exit(126);
        /* the bench registers its fleet once and never heartbeats again: a day of heartbeat
         * timeout keeps its nodes online however long registration and the run take */
        const char *threads = getenv("E2E_SERVER_THREADS"); /* the server's --threads */
        if (threads && threads[0])
            execl(b->allot, b->allot, "server", "--db", b->db, "--secret-key-file", key, "--listen",
                  listen, "--heartbeat-timeout", "86400", "--threads", threads, (char *)NULL);
        else
            execl(b->allot, b->allot, "server", "--db", b->db, "--secret-key-file", key, "--listen",
                  listen, "--heartbeat-timeout", "86400", (char *)NULL);
        _exit(127);
    }
    struct al_client *c = client(b->url[i], NULL);
    for (int tries = 0; tries < 200; tries++) {
        if (al_client_call(c, "GET", "/healthz", NULL, NULL, NULL, NULL, NULL) == 0) {
            al_client_free(c);
            return;
        }
        sleep_ms(50);
    }
    die("the server did not answer /healthz within 10 s");
}

static void server_stop(struct bench *b)
{
    for (int i = 0; i < b->replicas; i++) {
        if (b->server[i] > 0) {
            kill(b->server[i], SIGTERM);
            waitpid(b->server[i], NULL, 0);
        }
    }
}

/* Call and insist on success (setup steps). Returns the answer (caller owns). */
static json_t *must(struct al_client *c, const char *method, const char *path, json_t *body)
{
    json_t *ans = NULL;
    struct al_err e = {0};
    char key[40];
    al_client_random_key(key, sizeof key);
    if (al_client_call(c, method, path, body, strcmp(method, "POST") == 0 ? key : NULL, NULL, &ans,
                       &e) < 0) {
        fprintf(stderr, "bench e2e: %s %s: %s\n", method, path, e.msg);
        exit(1);
    }
    json_decref(body);
    return ans;
}

static const char *const models[] = {"H100-80GB", "A100-80GB"};

static json_t *node_body(int i)
{
    char uuid[64];
    json_t *gpus = json_array();
    const char *model = models[i % 2];
    for (int g = 0; g < 8; g++) {
        snprintf(uuid, sizeof uuid, "GPU-e2e00000-0000-0000-%04x-%012x", g, (unsigned)i);
        json_array_append_new(gpus, json_pack("{s:i,s:s,s:s,s:s,s:b}", "index", g, "uuid", uuid,
                                              "model", model, "pool", "dedicated", "healthy", 1));
    }
    char zone[16];
    snprintf(zone, sizeof zone, "z%d", i % 4);
    return json_pack("{s:s,s:{},s:o}", "zone", zone, "labels", "gpus", gpus);
}

struct reg {
    struct bench *b;
    int from, to;
    pthread_t th;
};

static void *register_nodes(void *arg)
{
    struct reg *r = arg;
    struct al_client *c = client(r->b->url[0], r->b->op_token);
    char path[64];
    for (int i = r->from; i < r->to; i++) {
        snprintf(path, sizeof path, "/v1/nodes/n%05d", i);
        json_decref(must(c, "PUT", path, node_body(i)));
    }
    al_client_free(c);
    return NULL;
}

/* Register the fleet with 8 threads; returns the seconds it took. */
static double register_fleet(struct bench *b)
{
    struct reg r[8];
    double t0 = now_ms();
    for (int k = 0; k < 8; k++) {
        r[k] = (struct reg){b, b->nodes * k / 8, b->nodes * (k + 1) / 8, 0};
        if (pthread_create(&r[k].th, NULL, register_nodes, &r[k]) != 0)
            die("pthread_create");
    }
    for (int k = 0; k < 8; k++)
        pthread_join(r[k].th, NULL);
    return (now_ms() - t0) / 1e3;
}

static void setup_org(struct bench *b)
{
    struct al_client *c = client(b->url[0], b->op_token);
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/prices/%s", models[i]);
        json_decref(must(c, "PUT", path,
                         json_pack("{s:I,s:I}", "gpu_hour_micros", (json_int_t)2000000,
                                   "mig_slice_hour_micros", (json_int_t)300000)));
    }
    json_decref(must(c, "POST", "/v1/orgs", json_pack("{s:s}", "name", "bench")));
    /* confirmations need a contract in force: invoiced without a credit limit, so that the
     * flow measured is the reservation's (its billing state is written, no charge and no limit
     * refuses; the draws come later, from the clock); self-service, for the reserve mode */
    json_decref(must(c, "POST", "/v1/contracts",
                     json_pack("{s:s,s:s,s:s,s:b}", "org", "bench", "terms", "invoiced", "valid_to",
                               "2099-01-01T00:00:00Z", "self_service", 1)));
    json_t *u = must(
        c, "POST", "/v1/users",
        json_pack("{s:s,s:s,s:s}", "name", "bench-admin", "role", "org_admin", "org", "bench"));
    const char *t = json_string_value(json_object_get(u, "token"));
    if (!t)
        die("user create gave no token");
    snprintf(b->admin_token, sizeof b->admin_token, "%s", t);
    json_decref(u);
    al_client_free(c);
}

/* A random window within the next 60 days, 1..24 hours long, whole hours. */
static void random_window(struct worker *w, char *s, char *e, size_t cap)
{
    time_t t0 = w->b->base + (time_t)(rand_r(&w->seed) % (60 * 24)) * 3600;
    fmt_time(t0, s, cap);
    fmt_time(t0 + (time_t)(1 + rand_r(&w->seed) % 24) * 3600, e, cap);
}

/* One POST of the flow; returns 0, 1 (refused: no capacity / lost a race), or -1. */
static int step(struct al_client *c, const char *id, const char *action, json_t *body, int idem,
                json_t **ret)
{
    char path[160], key[40];
    struct al_err e = {0};
    long status = 0;
    snprintf(path, sizeof path, "/v1/requests/%s%s%s", id, action[0] ? "/" : "", action);
    if (idem)
        al_client_random_key(key, sizeof key);
    int rc = al_client_call(c, "POST", id[0] ? path : "/v1/requests", body, idem ? key : NULL,
                            &status, ret, &e);
    json_decref(body);
    if (rc == 0)
        return 0;
    if (rc == AL_E_NOFIT || rc == AL_E_CONFLICT || rc == AL_E_EXPIRED)
        return 1;
    static atomic_int shown;
    if (atomic_fetch_add(&shown, 1) < 5)
        fprintf(stderr, "bench e2e: %s %s: %s\n", action[0] ? action : "create", id, e.msg);
    return -1;
}

/* The five calls of one confirmation. */
static int one_flow(struct worker *w, struct al_client *op, struct al_client *admin)
{
    char s[32], e[32], id[80];
    json_t *ans = NULL;
    random_window(w, s, e, sizeof s);
    int count = 1 + rand_r(&w->seed) % 4, rc;
    const char *model = models[rand_r(&w->seed) % 2];
    rc = step(op, "", "",
              json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "org", "bench", "kind", "gpu", "model", model,
                        "count", count, "start", s, "end", e),
              1, &ans);
    const char *rid = json_string_value(json_object_get(ans, "id"));
    if (rc != 0 || !rid) {
        json_decref(ans);
        return rc ? rc : -1;
    }
    snprintf(id, sizeof id, "%s", rid);
    json_decref(ans);
    if ((rc = step(op, id, "quote", json_object(), 1, NULL)) != 0 ||
        (rc = step(op, id, "approve", json_object(), 0, NULL)) != 0 ||
        (rc = step(admin, id, "accept", json_object(), 0, NULL)) != 0)
        return rc;
    double t0 = now_ms();
    rc = step(op, id, "confirm", json_pack("{s:s}", "payment_terms", "invoiced"), 1, NULL);
    if (rc == 0)
        lat_add(&w->confirm, now_ms() - t0);
    return rc;
}

/* One self-service reservation: a full ask in one call, as the org's admin. */
static int one_reserve(struct worker *w, struct al_client *admin)
{
    char s[32], e[32], key[40];
    struct al_err err = {0};
    random_window(w, s, e, sizeof s);
    int count = 1 + rand_r(&w->seed) % 4;
    const char *model = models[rand_r(&w->seed) % 2];
    json_t *body = json_pack("{s:s,s:s,s:i,s:s,s:s}", "kind", "gpu", "model", model, "count", count,
                             "start", s, "end", e);
    al_client_random_key(key, sizeof key);
    double t0 = now_ms();
    int rc = al_client_call(admin, "POST", "/v1/reservations", body, key, NULL, NULL, &err);
    json_decref(body);
    if (rc == 0) {
        lat_add(&w->confirm, now_ms() - t0);
        return 0;
    }
    if (rc == AL_E_NOFIT || rc == AL_E_CONFLICT || rc == AL_E_EXPIRED)
        return 1;
    static atomic_int shown;
    if (atomic_fetch_add(&shown, 1) < 5)
        fprintf(stderr, "bench e2e: reserve: %s\n", err.msg);
    return -1;
}

static void *writer(void *arg)
{
    struct worker *w = arg;
    const char *url = w->b->url[w->replica];
    struct al_client *op = client(url, w->b->op_token);
    struct al_client *admin = client(url, w->b->admin_token);
    while (!atomic_load(&w->b->stop)) {
        double t0 = now_ms();
        int rc = w->b->reserve_mode ? one_reserve(w, admin) : one_flow(w, op, admin);
        if (rc == 0) {
            w->done++;
            lat_add(&w->flow, now_ms() - t0);
        } else if (rc > 0) {
            w->refused++;
        } else {
            w->errors++;
        }
    }
    al_client_free(op);
    al_client_free(admin);
    return NULL;
}

static void *reader(void *arg)
{
    struct worker *w = arg;
    struct al_client *c = client(w->b->url[w->replica], w->b->admin_token);
    char s[32], e[32], path[256];
    while (!atomic_load(&w->b->stop)) {
        random_window(w, s, e, sizeof s);
        snprintf(path, sizeof path, "/v1/availability?model=%s&start=%s&end=%s",
                 models[rand_r(&w->seed) % 2], s, e);
        double t0 = now_ms();
        if (al_client_call(c, "GET", path, NULL, NULL, NULL, NULL, NULL) == 0) {
            w->done++;
            lat_add(&w->read, now_ms() - t0);
        } else {
            w->errors++;
        }
    }
    al_client_free(c);
    return NULL;
}

struct span { /* one GPU held by one reservation */
    char gpu[80], start[32], end[32];
};

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    int c = strcmp(x->gpu, y->gpu);
    return c ? c : strcmp(x->start, y->start);
}

static const char *jstr(json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

/* Spans of one page of reservations (live ones only) appended to *v. */
static void collect(json_t *items, struct span **v, size_t *n, size_t *cap)
{
    size_t i, k;
    json_t *r, *a;
    json_array_foreach(items, i, r)
    {
        const char *st = json_string_value(json_object_get(r, "state"));
        if (st && (strcmp(st, "cancelled") == 0 || strcmp(st, "ended") == 0))
            continue;
        json_array_foreach(json_object_get(r, "allocations"), k, a)
        {
            if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 65536;
                if (!(*v = realloc(*v, *cap * sizeof **v)))
                    die("out of memory");
            }
            struct span *s = &(*v)[(*n)++];
            snprintf(s->gpu, sizeof s->gpu, "%s", jstr(a, "gpu", jstr(a, "gpu_uuid", "?")));
            snprintf(s->start, sizeof s->start, "%s", jstr(r, "start", ""));
            snprintf(s->end, sizeof s->end, "%s", jstr(r, "end", ""));
        }
    }
}

/* List every reservation; count pairs of spans on one GPU whose windows overlap (times are
 * all RFC 3339 UTC in one format, so they compare as strings). Sets *nrsv. */
static long count_overbooked(struct bench *b, long *nrsv)
{
    struct al_client *c = client(b->url[0], b->op_token);
    struct span *v = NULL;
    size_t n = 0, cap = 0;
    char path[256], cursor[128] = "";
    *nrsv = 0;
    for (;;) {
        snprintf(path, sizeof path, "/v1/reservations?limit=500%s%s", cursor[0] ? "&cursor=" : "",
                 cursor);
        json_t *page = must(c, "GET", path, NULL), *items = json_object_get(page, "items");
        *nrsv += (long)json_array_size(items);
        collect(items, &v, &n, &cap);
        const char *next = json_string_value(json_object_get(page, "next_cursor"));
        int more = next && next[0] && json_array_size(items) > 0;
        if (more)
            al_url_encode(next, cursor, sizeof cursor);
        json_decref(page);
        if (!more)
            break;
    }
    qsort(v, n, sizeof *v, cmp_span);
    long bad = 0;
    const char *maxend = NULL; /* latest end so far on the current GPU */
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(v[i].gpu, v[i - 1].gpu) != 0) {
            maxend = v[i].end;
            continue;
        }
        if (strcmp(v[i].start, maxend) < 0)
            bad++;
        if (strcmp(v[i].end, maxend) > 0)
            maxend = v[i].end;
    }
    free(v);
    al_client_free(c);
    return bad;
}

static void find_allot(struct bench *b, const char *argv0)
{
    const char *env = getenv("ALLOT");
    char self[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (env && env[0]) {
        snprintf(b->allot, sizeof b->allot, "%s", env);
        return;
    }
    if (n <= 0) {
        snprintf(self, sizeof self, "%s", argv0);
        n = (ssize_t)strlen(self);
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    snprintf(b->allot, sizeof b->allot, "%.*s/allot", slash ? (int)(slash - self) : 1,
             slash ? self : ".");
}

static void setup(struct bench *b, const char *argv0)
{
    int quick = getenv("QUICK") && getenv("QUICK")[0] && strcmp(getenv("QUICK"), "0") != 0;
    find_allot(b, argv0);
    b->nodes = env_int("E2E_NODES", quick ? 1000 : 10000);
    b->writers = env_int("E2E_WRITERS", 16);
    b->readers = env_int("E2E_READERS", 16);
    b->seconds = env_int("E2E_SECONDS", quick ? 5 : 30);
    const char *mode = getenv("E2E_MODE"); /* NOLINT(concurrency-mt-unsafe): before threads */
    mode = mode && mode[0] ? mode : "both";
    b->run_flow = strcmp(mode, "flow") == 0 || strcmp(mode, "both") == 0;
    b->run_reserve = strcmp(mode, "reserve") == 0 || strcmp(mode, "both") == 0;
    if (!b->run_flow && !b->run_reserve)
        die("E2E_MODE must be flow, reserve or both");
    if (b->writers + b->readers > MAX_THREADS)
        die("too many threads");
    b->replicas = env_int("E2E_REPLICAS", 1);
    b->wrk_seconds = env_int("E2E_WRK", 0);
    const char *db = getenv("E2E_DB"); /* NOLINT(concurrency-mt-unsafe): before threads */
    if (b->replicas < 1 || b->replicas > MAX_REPLICAS)
        die("E2E_REPLICAS must be 1..8");
    if (b->replicas > 1 && !(db && db[0]))
        die("E2E_REPLICAS > 1 needs E2E_DB (a PostgreSQL database: SQLite takes one server)");
    snprintf(b->dir, sizeof b->dir, "/tmp/allot-e2e-XXXXXX");
    if (!mkdtemp(b->dir))
        die("mkdtemp failed");
    if (db && db[0])
        snprintf(b->db, sizeof b->db, "%s", db);
    else
        snprintf(b->db, sizeof b->db, "%s/e2e.db", b->dir);
    b->base = (time(NULL) / 86400 + 2) * 86400; /* midnight UTC, the day after tomorrow */
}

static void cleanup_dir(struct bench *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench e2e: could not remove %s\n", b->dir);
}

/* Run writers and readers for the configured time; returns the elapsed seconds. */
static double load(struct bench *b, struct worker *w)
{
    int nw = b->writers + b->readers;
    double t0 = now_ms();
    atomic_store(&b->stop, 0);
    for (int i = 0; i < nw; i++) {
        w[i] = (struct worker){
            .b = b, .replica = i % b->replicas, .seed = 0x9e3779b9u * (unsigned)(i + 1)};
        if (pthread_create(&w[i].th, NULL, i < b->writers ? writer : reader, &w[i]) != 0)
            die("pthread_create");
    }
    sleep_ms(b->seconds * 1000L);
    atomic_store(&b->stop, 1);
    for (int i = 0; i < nw; i++)
        pthread_join(w[i].th, NULL);
    return (now_ms() - t0) / 1e3;
}

static void merge(struct lat *into, struct lat *l)
{
    for (size_t i = 0; i < l->n; i++)
        lat_add(into, l->v[i]);
    free(l->v);
}

static const char *db_kind(const struct bench *b)
{
    return strncmp(b->db, "postgres", 8) == 0 || strchr(b->db, '=') ? "postgres" : "sqlite";
}

/* E2E_WRK: `wrk -t2 -c16` on one availability read of replica 0, as limits.sh loads its bare
 * server; one JSON line with wrk's rate and how many answers were not 2xx (must be 0). */
static void wrk_reads(struct bench *b)
{
    char cmd[2048], line[512], s[32], e[32];
    double rate = 0;
    long bad = 0; /* -1: wrk printed a count we could not read */
    fmt_time(b->base, s, sizeof s);
    fmt_time(b->base + 86400, e, sizeof e);
    snprintf(cmd, sizeof cmd,
             "wrk -t2 -c16 -d%ds -H 'Authorization: Bearer %s' "
             "'%s/v1/availability?model=H100-80GB&start=%s&end=%s' 2>&1",
             b->wrk_seconds, b->admin_token, b->url[0], s, e);
    FILE *p = popen(cmd, "r");
    if (!p)
        die("cannot run wrk");
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "Requests/sec:", 13) == 0)
            rate = strtod(line + 13, NULL);
        else if (strncmp(line, "  Non-2xx or 3xx responses:", 28) == 0) {
            const char *d = line + 28 + strspn(line + 28, " ");
            line[28 + strspn(line + 28, " ") + strspn(d, "0123456789")] = '\0';
            int64_t v = 0;
            bad = al_num_parse_i64(d, 0, INT64_MAX, &v) == 0 ? (long)v : -1;
        }
    }
    if (pclose(p) != 0 || rate <= 0)
        die("wrk failed (is it installed? scripts/deps.sh bench)");
    printf("{\"bench\":\"e2e\",\"mode\":\"wrk_reads\",\"nodes\":%d,\"gpus\":%d,"
           "\"client\":\"wrk -t2 -c16\",\"seconds\":%d,\"reads_per_s\":%.1f,\"non_2xx\":%ld,"
           "\"replicas\":%d,\"db\":\"%s\"}\n",
           b->nodes, b->nodes * 8, b->wrk_seconds, rate, bad, b->replicas, db_kind(b));
    fflush(stdout);
}

static void report(struct bench *b, struct worker *w, double secs, double reg_s)
{
    struct lat confirm = {0}, flow = {0}, read = {0};
    long done = 0, reads = 0, refused = 0, errors = 0, nrsv = 0;
    for (int i = 0; i < b->writers + b->readers; i++) {
        (i < b->writers ? &done : &reads)[0] += w[i].done;
        refused += w[i].refused;
        errors += w[i].errors;
        merge(&confirm, &w[i].confirm);
        merge(&flow, &w[i].flow);
        merge(&read, &w[i].read);
    }
    long over = count_overbooked(b, &nrsv);
    printf("{\"bench\":\"e2e\",\"mode\":\"%s\",\"nodes\":%d,\"gpus\":%d,\"register_s\":%.2f,"
           "\"writers\":%d,\"readers\":%d,\"seconds\":%.1f,\"confirmations\":%ld,"
           "\"confirmations_per_s\":%.1f,\"reservations_per_s\":%.1f,\"p50_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"flow_p50_ms\":%.2f,\"flow_p99_ms\":%.2f,\"reads_per_s\":%.1f,"
           "\"read_p99_ms\":%.2f,\"refused\":%ld,\"errors\":%ld,\"reservations\":%ld,"
           "\"overbooked\":%ld,\"replicas\":%d,\"db\":\"%s\"}\n",
           b->reserve_mode ? "reserve" : "flow", b->nodes, b->nodes * 8, reg_s, b->writers,
           b->readers, secs, done, done / secs, done / secs, pct(&confirm, 0.5),
           pct(&confirm, 0.99), pct(&flow, 0.5), pct(&flow, 0.99), reads / secs, pct(&read, 0.99),
           refused, errors, nrsv, over, b->replicas, db_kind(b));
    fflush(stdout);
    free(confirm.v);
    free(flow.v);
    free(read.v);
}

int main(int argc, char **argv)
{
    static struct bench b;
    static struct worker w[MAX_THREADS];
    (void)argc;
    setup(&b, argv[0]);
    server_init(&b);
    for (int i = 0; i < b.replicas; i++)
        server_start(&b, i);
    fprintf(stderr, "bench e2e: %d server(s) on %s, first %s, registering %d nodes (%d GPUs)\n",
            b.replicas, db_kind(&b), b.url[0], b.nodes, b.nodes * 8);
    double reg_s = register_fleet(&b);
    setup_org(&b);
    fprintf(stderr, "bench e2e: registered in %.1f s; %d writers, %d readers for %d s\n", reg_s,
            b.writers, b.readers, b.seconds);
    for (int m = b.run_flow ? 0 : 1; m <= (b.run_reserve ? 1 : 0); m++) {
        b.reserve_mode = m == 1;
        fprintf(stderr, "bench e2e: mode %s\n", b.reserve_mode ? "reserve" : "flow");
        double secs = load(&b, w);
        report(&b, w, secs, reg_s);
    }
    if (b.wrk_seconds > 0)
        wrk_reads(&b);
    server_stop(&b);
    cleanup_dir(&b);
    return 0;
}
