/* fuzz_call.c — libFuzzer target for whole HTTP requests through what the server runs after
 * libmicrohttpd (server/call.h): the head checks, the router, authentication, body parsing,
 * the validators and handlers, the unit of work and the reply, against a real store (a fresh
 * copy of a seeded database for every input, so that an input's answer never depends on the
 * ones before it). The input is a request in text:
 *
 *   METHOD TARGET\n            e.g. "POST /v1/requests/$REQ/quote?x=1"
 *   Name: value\n              header fields, up to an empty line
 *   \n
 *   body                       the rest; with "Content-Length: $LEN" it is all sent
 *
 * "$OP" "$ADM" "$MEM" "$AGT" stand for the tokens of the seeded operator, org admin, member
 * and agent, "$ORG" for the org acme, "$REQ" "$QREQ" "$CREQ" for a new, a quoted and a
 * confirmed request of acme's, "$RSV" for the reservation of the last, "$LEN" for the body's
 * length. Checked on every answer: it is one JSON object
 * (an error has a code and a message), never a 5xx but 501, a 401 carries WWW-Authenticate;
 * a NUL byte in the target or a header value, or "%00" in the target, is never 2xx; without
 * credentials only a public route answers 2xx. FUZZ_CALL_SHOW=1 prints each request's answer
 * (to check what the seeds reach: build/fuzz/fuzz_call -runs=0 tests/fuzz/corpus/fuzz_call). */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <unistd.h>

#include "server/call.h"
#include "server/evstream.h"
#include "server/server.h"

#define T0 1796083200 /* 2026-12-01T00:00:00Z: the seeded world's clock */

static char dir[256], tmpl_db[300], work_db[300], clock_path[300];
static char *tmpl; /* the seeded database's bytes */
static size_t tmpl_len;
static bool show; /* FUZZ_CALL_SHOW=1: print each request and answer (seed checking) */

/* The placeholders and what they stand for (filled while seeding). */
static struct {
    const char *name;
    char val[64];
} subst[] = {{"$OP", ""},  {"$ADM", ""},  {"$MEM", ""},  {"$AGT", ""}, {"$ORG", ""},
             {"$REQ", ""}, {"$QREQ", ""}, {"$CREQ", ""}, {"$RSV", ""}};

/* A request being built from text: its strings live in `buf`. */
struct fz_req {
    char buf[8192];
    size_t used;
    char method[32];
    struct al_kv headers[AL_CALL_MAX_HEADERS + 1];
    struct al_req req;
    const char *body;
    size_t body_len;
    bool nul_in_head; /* a NUL byte or "%00" in the target, a NUL byte in a header value */
};

/* Append `n` bytes of `s` to r->buf with the placeholders replaced; NUL-terminates. Returns
 * the copy, or NULL when full. */
static char *put(struct fz_req *r, const char *s, size_t n, size_t *out_len)
{
    char *start = r->buf + r->used;
    for (size_t i = 0; i < n;) {
        size_t j = 0, take = 1;
        const char *with = NULL;
        for (; s[i] == '$' && j < sizeof subst / sizeof subst[0]; j++) {
            size_t len = strlen(subst[j].name);
            if (n - i >= len && memcmp(s + i, subst[j].name, len) == 0) {
                with = subst[j].val;
                take = len;
                break;
            }
        }
        size_t wl = with ? strlen(with) : 1;
        if (r->used + wl + 1 >= sizeof r->buf)
            return NULL;
        memcpy(r->buf + r->used, with ? with : s + i, wl);
        r->used += wl;
        i += take;
    }
    r->buf[r->used++] = '\0';
    *out_len = (size_t)(r->buf + r->used - 1 - start);
    return start;
}

static bool has_nul(const char *s, size_t n)
{
    return memchr(s, '\0', n) != NULL;
}

/* Decode the text format above into r->req. Returns false when it is not a request. */
static bool parse(struct fz_req *r, const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    const char *eol = memchr(p, '\n', size), *sp;
    size_t n;
    if (!eol)
        eol = end;
    sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || (size_t)(sp - p) >= sizeof r->method)
        return false;
    memcpy(r->method, p, (size_t)(sp - p));
    r->method[sp - p] = '\0';
    r->req.method = r->method;
    if (!(r->req.target = put(r, sp + 1, (size_t)(eol - sp - 1), &r->req.target_len)))
        return false;
    r->nul_in_head =
        has_nul(r->req.target, r->req.target_len) || strstr(r->req.target, "%00") != NULL;
    p = eol < end ? eol + 1 : end;
    while (p < end && *p != '\n' && r->req.nheaders <= AL_CALL_MAX_HEADERS) {
        struct al_kv *h = &r->headers[r->req.nheaders++];
        const char *le = memchr(p, '\n', (size_t)(end - p)), *colon;
        if (!le)
            le = end;
        colon = memchr(p, ':', (size_t)(le - p));
        const char *v = colon ? colon + 1 : le;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        if (!(h->key = put(r, p, (size_t)((colon ? colon : le) - p), &h->key_len)) ||
            !(h->val = put(r, v, (size_t)(le - v), &h->val_len)))
            return false;
        r->nul_in_head |= has_nul(h->val, h->val_len);
        p = le < end ? le + 1 : end;
    }
    r->req.headers = r->headers;
    if (p < end && *p == '\n')
        p++;
    if (!(r->body = put(r, p, (size_t)(end - p), &r->body_len)))
        return false;
    /* "$LEN": the body's length, after its placeholders */
    for (size_t i = 0; i < r->req.nheaders && i < AL_CALL_MAX_HEADERS; i++) {
        /* the whole value, NULs included: "$LEN\0junk" keeps its NUL (and the head must be
         * refused), it is not the placeholder */
        if (r->headers[i].val_len == 4 && memcmp(r->headers[i].val, "$LEN", 4) == 0) {
            char len[24];
            snprintf(len, sizeof len, "%zu", r->body_len);
            if (!(r->headers[i].val = put(r, len, strlen(len), &n)))
                return false;
            r->headers[i].val_len = n;
        }
    }
    return true;
}

/* Run one request against `srv`, as server.c does: the head, then (when the call goes on and
 * the announced body has come) the body. Fills `rep` (text owned by the caller) and returns
 * whether an answer came. */
static bool run(struct al_srv *srv, const struct fz_req *r, struct al_call *k, struct al_reply *rep)
{
    memset(k, 0, sizeof *k);
    if (al_call_begin(k, srv, &r->req)) {
        if (r->body_len < k->body_len)
            return false; /* the server would wait for the rest */
        al_call_run(k, r->body, (size_t)k->body_len);
    }
    FUZZ_CHECK(al_call_reply(k, rep) == 0, "no memory for the reply");
    if (rep->stream) { /* GET /v1/events?follow=1: a stream the listener would send */
        FUZZ_CHECK(rep->status == 200, "a stream answered %d", rep->status);
        al_evsub_free(rep->stream);
        rep->stream = NULL;
        rep->text = strdup("{}");
        rep->len = 2;
        FUZZ_CHECK(rep->text != NULL, "no memory for the reply");
    }
    return true;
}

static void check_reply(const struct fz_req *r, const struct al_call *k, const struct al_reply *rep)
{
    json_error_t jerr;
    json_t *j = json_loadb(rep->text, rep->len, 0, &jerr);
    int st = rep->status;
    FUZZ_CHECK(json_is_object(j), "answer %d is not a JSON object: %.200s", st, rep->text);
    if (st >= 400) {
        json_t *e = json_object_get(j, "error");
        FUZZ_CHECK(json_is_string(json_object_get(e, "code")) &&
                       json_is_string(json_object_get(e, "message")),
                   "error %d without code or message: %.200s", st, rep->text);
    }
    json_decref(j);
    FUZZ_CHECK(st >= 200 && st < 600 && (st < 500 || st == 501), "status %d for %s %.100s: %.300s",
               st, r->req.method, r->req.target, rep->text);
    FUZZ_CHECK(st != 401 || rep->www_authenticate, "401 without WWW-Authenticate");
    FUZZ_CHECK(!r->nul_in_head || st >= 400, "a NUL in the head answered %d: %.200s", st,
               rep->text);
    FUZZ_CHECK(al_req_header(&r->req, "Authorization", NULL) || st >= 300 ||
                   (k->route && (k->route->roles & AL_ROLE_PUBLIC)),
               "no credentials, yet %d from %s %.100s", st, r->req.method, r->req.target);
}

/* ---- the seeded database ---- */

static void die(const char *what, const struct al_err *e)
{
    fprintf(stderr, "fuzz_call: %s: %s\n", what, e ? e->msg : "");
    abort();
}

/* Run a seeding call; the answer's "id" (or "token") goes to subst[slot] when slot >= 0. */
static void seed_call(struct al_srv *srv, const char *text, const char *key, int slot)
{
    struct fz_req *r = calloc(1, sizeof *r);
    struct al_call *k = calloc(1, sizeof *k);
    struct al_reply rep = {0};
    if (!r || !k || !parse(r, (const uint8_t *)text, strlen(text)) || !run(srv, r, k, &rep) ||
        rep.status >= 300)
        die(text, NULL);
    if (slot >= 0) {
        json_t *j = json_loads(rep.text, 0, NULL);
        const char *v = json_string_value(json_object_get(j, key));
        if (!v || strlen(v) >= sizeof subst[slot].val)
            die(text, NULL);
        snprintf(subst[slot].val, sizeof subst[slot].val, "%s", v);
        json_decref(j);
    }
    free(rep.text);
    al_call_end(k);
    free(k);
    free(r);
}

static void seed_world(struct al_srv *srv)
{
    static const char *const steps[][3] = {
        {"POST /v1/orgs\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"name\":\"acme\",\"customer_code\":\"ACME\",\"display_name\":\"Acme\"}",
         "id", "$ORG"},
        {"POST /v1/orgs\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n{\"name\":\"beta\"}",
         NULL, NULL},
        /* confirmations need a contract in force: invoiced, no credit limit */
        {"POST /v1/contracts\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"org\":\"acme\",\"terms\":\"invoiced\",\"valid_to\":\"2030-01-01T00:00:00Z\"}",
         NULL, NULL},
        {"POST /v1/users\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"name\":\"alice\",\"role\":\"org_admin\",\"org\":\"acme\"}",
         "token", "$ADM"},
        {"POST /v1/users\nAuthorization: Bearer $ADM\nContent-Length: $LEN\n\n"
         "{\"name\":\"mike\",\"role\":\"member\"}",
         "token", "$MEM"},
        {"POST /v1/users\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"name\":\"agent1\",\"role\":\"agent\"}",
         "token", "$AGT"},
        {"PUT /v1/nodes/n1\nAuthorization: Bearer $AGT\nContent-Length: $LEN\n\n"
         "{\"zone\":\"z1\",\"labels\":{\"rack\":\"r1\"},\"gpus\":["
         "{\"index\":0,\"uuid\":\"GPU-n1-0\",\"model\":\"H100-80GB\"},"
         "{\"index\":1,\"uuid\":\"GPU-n1-1\",\"model\":\"H100-80GB\"},"
         "{\"index\":2,\"uuid\":\"GPU-n1-2\",\"model\":\"H100-80GB\"},"
         "{\"index\":3,\"uuid\":\"GPU-n1-3\",\"model\":\"H100-80GB\"}]}",
         NULL, NULL},
        {"PUT /v1/prices/H100-80GB\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"gpu_hour_micros\":2000000,\"mig_slice_hour_micros\":300000}",
         NULL, NULL},
        {"POST /v1/requests\nAuthorization: Bearer $ADM\nContent-Length: $LEN\n\n"
         "{\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"2026-12-02T00:00:00Z\","
         "\"end\":\"2026-12-03T00:00:00Z\"}",
         "id", "$CREQ"},
        {"POST /v1/requests/$CREQ/quote\nAuthorization: Bearer $OP\n\n", NULL, NULL},
        {"POST /v1/requests/$CREQ/approve\nAuthorization: Bearer $OP\n\n", NULL, NULL},
        {"POST /v1/requests/$CREQ/accept\nAuthorization: Bearer $ADM\n\n", NULL, NULL},
        {"POST /v1/requests/$CREQ/confirm\nAuthorization: Bearer $OP\nContent-Length: $LEN\n\n"
         "{\"payment_terms\":\"invoiced\"}",
         "id", "$RSV"},
        {"POST /v1/requests\nAuthorization: Bearer $ADM\nContent-Length: $LEN\n\n"
         "{\"kind\":\"mig\",\"count\":2,\"model\":\"H100-80GB\",\"profile\":\"3g.40gb\","
         "\"start\":\"2026-12-04T00:00:00Z\",\"end\":\"2026-12-05T00:00:00Z\"}",
         "id", "$QREQ"},
        {"POST /v1/requests/$QREQ/quote\nAuthorization: Bearer $OP\n\n", NULL, NULL},
        {"POST /v1/requests\nAuthorization: Bearer $ADM\nContent-Length: $LEN\n\n"
         "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"same_node\":true,"
         "\"start\":\"2026-12-06T00:00:00Z\",\"end\":\"2026-12-07T00:00:00Z\"}",
         "id", "$REQ"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int slot = -1;
        for (size_t j = 0; steps[i][2] && j < sizeof subst / sizeof subst[0]; j++)
            if (strcmp(subst[j].name, steps[i][2]) == 0)
                slot = (int)j;
        seed_call(srv, steps[i][0], steps[i][1], slot);
    }
}

static void write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0)
        die(path, NULL);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = 0;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(buf = malloc((size_t)n)) || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die(path, NULL);
    (void)fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Remove the work database and its WAL files. */
static void clear_work(void)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal"};
    char path[320];
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(path, sizeof path, "%s%s", work_db, ext[i]);
        (void)unlink(path);
    }
}

static void cleanup(void)
{
    static const char *const ext[] = {"", "-wal", "-shm", ".lock"};
    char path[320];
    clear_work();
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(path, sizeof path, "%s%s", tmpl_db, ext[i]);
        (void)unlink(path);
    }
    (void)unlink(clock_path);
    (void)rmdir(dir);
    free(tmpl);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct al_srv srv;
    struct al_err e = {0};
    char t0[32];
    (void)argc;
    (void)argv;
    show = getenv("FUZZ_CALL_SHOW") != NULL; /* NOLINT(concurrency-mt-unsafe): one thread */
    /* tmpfs when there is one: every write unit fsyncs */
    snprintf(dir, sizeof dir, "%s/allot_fuzz_call.XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (sodium_init() < 0 || !mkdtemp(dir))
        die("setup", NULL);
    snprintf(tmpl_db, sizeof tmpl_db, "%s/seed.db", dir);
    snprintf(work_db, sizeof work_db, "%s/work.db", dir);
    snprintf(clock_path, sizeof clock_path, "%s/clock", dir);
    snprintf(t0, sizeof t0, "%d\n", T0);
    write_file(clock_path, t0, strlen(t0));
    if (al_server_init_db(tmpl_db, "root", subst[0].val, sizeof subst[0].val, &e) != 0)
        die("server init", &e);
    if (al_srv_open(&srv, tmpl_db, clock_path, &e) != 0)
        die("open", &e);
    seed_world(&srv);
    al_srv_close(&srv); /* the last connection checkpoints the WAL into the file */
    tmpl = read_file(tmpl_db, &tmpl_len);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_req *r = calloc(1, sizeof *r);
    struct al_call *k = calloc(1, sizeof *k);
    struct al_reply rep = {0};
    struct al_srv srv;
    struct al_err e = {0};
    if (!r || !k)
        abort();
    if (parse(r, data, size)) {
        clear_work();
        write_file(work_db, tmpl, tmpl_len);
        if (al_srv_open(&srv, work_db, clock_path, &e) != 0)
            die("open", &e);
        if (run(&srv, r, k, &rep)) {
            if (show)
                fprintf(stderr, "fuzz_call: %s %.80s -> %d %.200s\n", r->req.method, r->req.target,
                        rep.status, rep.text);
            check_reply(r, k, &rep);
        }
        free(rep.text);
        al_call_end(k);
        al_srv_close(&srv);
    }
    free(k);
    free(r);
    return 0;
}
