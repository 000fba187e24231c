/* pgpeer.c — the PostgreSQL peer of the admission benchmark (see pgpeer.h). */
#include "pgpeer.h"

#ifndef AL_HAVE_PQ

int al_pg_open(const char *conninfo, const struct al_pg_gpu *gpus, uint32_t ngpus,
               struct al_pg **ret, struct al_err *reterr)
{
    (void)conninfo, (void)gpus, (void)ngpus;
    *ret = NULL;
    return al_err_set(reterr, AL_E_UNSUPPORTED, "built without libpq");
}

void al_pg_close(struct al_pg *pg)
{
    (void)pg;
}

int al_pg_prefill(struct al_pg *pg, const struct al_pg_hold *h, uint32_t n, struct al_err *reterr)
{
    (void)pg, (void)h, (void)n;
    return al_err_set(reterr, AL_E_UNSUPPORTED, "built without libpq");
}

int al_pg_decide(struct al_pg *pg, const struct al_pg_req *r, uint64_t req_id,
                 struct al_err *reterr)
{
    (void)pg, (void)r, (void)req_id;
    return al_err_set(reterr, AL_E_UNSUPPORTED, "built without libpq");
}

long al_pg_rows(struct al_pg *pg)
{
    (void)pg;
    return -1;
}

#else

#include "common/num.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIES 3

struct al_pg {
    PGconn *conn;
    const struct al_pg_gpu *gpus;
    uint32_t ngpus;
    uint32_t *mask; /* scratch: occupied units per GPU during the window */
    char *buf;      /* scratch: array literals for the INSERT */
    size_t bufcap;
};

static const char *schema_sql =
    "SET client_min_messages = warning;"
    "DROP TABLE IF EXISTS hold, gpu, stage;"
    "CREATE EXTENSION IF NOT EXISTS btree_gist;"
    "CREATE TABLE gpu (id int PRIMARY KEY, node int NOT NULL, model text NOT NULL,"
    "  units smallint NOT NULL);"
    "CREATE INDEX ON gpu (model);"
    "CREATE TABLE hold (id bigserial PRIMARY KEY, gpu_id int NOT NULL REFERENCES gpu (id),"
    "  unit smallint NOT NULL, req bigint NOT NULL, during tstzrange NOT NULL,"
    "  EXCLUDE USING gist (gpu_id WITH =, unit WITH =, during WITH &&));"
    "CREATE UNLOGGED TABLE stage (gpu_id int, unit smallint, req bigint, t0 float8, t1 float8);";

/* MIG: occupied units of each GPU of one model during [t0, t1). Whole GPUs: the GPUs of one
 * model with no hold during [t0, t1). (Of the forms tried — a join with GROUP BY, these
 * correlated probes of the exclusion index — these were the fastest.) */
static const char *occupied_sql =
    "SELECT g.id, coalesce((SELECT bit_or(1 << h.unit) FROM hold h WHERE h.gpu_id = g.id"
    "  AND h.during && tstzrange(to_timestamp($2), to_timestamp($3))), 0)"
    " FROM gpu g WHERE g.model = $1";

static const char *free_sql =
    "SELECT g.id, 0 FROM gpu g WHERE g.model = $1 AND NOT EXISTS (SELECT 1 FROM hold h"
    "  WHERE h.gpu_id = g.id AND h.during && tstzrange(to_timestamp($2), to_timestamp($3)))";

static const char *insert_sql = "INSERT INTO hold (gpu_id, unit, req, during)"
                                " SELECT g, u, $3, tstzrange(to_timestamp($4), to_timestamp($5))"
                                " FROM unnest($1::int[], $2::int[]) AS t(g, u)";

static int db_err(struct al_pg *pg, struct al_err *reterr, const char *what)
{
    return al_err_set(reterr, AL_E_DB, "postgres: %s: %s", what, PQerrorMessage(pg->conn));
}

static int exec_ok(struct al_pg *pg, const char *sql, struct al_err *reterr)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) ? 0 : db_err(pg, reterr, sql);
    PQclear(res);
    return rc;
}

static unsigned gpu_units(const struct al_gpu_model *m)
{
    return m->mig ? m->units : 1;
}

static int load_gpus(struct al_pg *pg, struct al_err *reterr)
{
    char line[160];
    PGresult *res = PQexec(pg->conn, "COPY gpu (id, node, model, units) FROM STDIN");
    int rc = PQresultStatus(res) == PGRES_COPY_IN ? 0 : db_err(pg, reterr, "COPY gpu");
    PQclear(res);
    for (uint32_t i = 0; rc == 0 && i < pg->ngpus; i++) {
        int n = snprintf(line, sizeof line, "%u\t%u\t%s\t%u\n", i, pg->gpus[i].node,
                         pg->gpus[i].model->name, gpu_units(pg->gpus[i].model));
        if (PQputCopyData(pg->conn, line, n) != 1)
            rc = db_err(pg, reterr, "COPY gpu data");
    }
    if (PQputCopyEnd(pg->conn, rc ? "aborted" : NULL) != 1 && rc == 0)
        rc = db_err(pg, reterr, "COPY gpu end");
    res = PQgetResult(pg->conn);
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = db_err(pg, reterr, "COPY gpu result");
    PQclear(res);
    while ((res = PQgetResult(pg->conn)))
        PQclear(res);
    return rc;
}

static int prepare(struct al_pg *pg, const char *name, const char *sql, int n,
                   struct al_err *reterr)
{
    PGresult *res = PQprepare(pg->conn, name, sql, n, NULL);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : db_err(pg, reterr, name);
    PQclear(res);
    return rc;
}

int al_pg_open(const char *conninfo, const struct al_pg_gpu *gpus, uint32_t ngpus,
               struct al_pg **ret, struct al_err *reterr)
{
    int rc;
    struct al_pg *pg = calloc(1, sizeof *pg);
    *ret = NULL;
    if (!pg || !(pg->mask = calloc(ngpus ? ngpus : 1, sizeof *pg->mask))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    pg->gpus = gpus;
    pg->ngpus = ngpus;
    pg->conn = PQconnectdb(conninfo);
    if (PQstatus(pg->conn) != CONNECTION_OK) {
        rc = db_err(pg, reterr, "connect");
        goto out;
    }
    if ((rc = exec_ok(pg, schema_sql, reterr)) || (rc = load_gpus(pg, reterr)) ||
        (rc = prepare(pg, "occupied", occupied_sql, 3, reterr)) ||
        (rc = prepare(pg, "free", free_sql, 3, reterr)) ||
        (rc = prepare(pg, "insert", insert_sql, 5, reterr)))
        goto out;
    *ret = pg;
    pg = NULL;
out:
    al_pg_close(pg);
    return rc;
}

void al_pg_close(struct al_pg *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    free(pg->mask);
    free(pg->buf);
    free(pg);
}

/* Unit range [first, first + n) of hold `h` on its GPU. */
static void hold_units(const struct al_pg *pg, uint32_t gpu, bool whole, unsigned profile,
                       unsigned start, unsigned *first, unsigned *n)
{
    const struct al_gpu_model *m = pg->gpus[gpu].model;
    if (whole) {
        *first = 0;
        *n = gpu_units(m);
    } else {
        *first = start;
        *n = m->profiles[profile].size;
    }
}

int al_pg_prefill(struct al_pg *pg, const struct al_pg_hold *h, uint32_t n, struct al_err *reterr)
{
    char line[160];
    PGresult *res = PQexec(pg->conn, "COPY stage (gpu_id, unit, req, t0, t1) FROM STDIN");
    int rc = PQresultStatus(res) == PGRES_COPY_IN ? 0 : db_err(pg, reterr, "COPY stage");
    PQclear(res);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        unsigned first, cnt;
        if (h[i].gpu >= pg->ngpus) {
            rc = al_err_set(reterr, AL_E_INVAL, "prefill hold %u: bad gpu", i);
            break;
        }
        hold_units(pg, h[i].gpu, h[i].whole, h[i].profile, h[i].start, &first, &cnt);
        for (unsigned u = first; rc == 0 && u < first + cnt; u++) {
            int len = snprintf(line, sizeof line, "%u\t%u\t%u\t%lld\t%lld\n", h[i].gpu, u, i,
                               (long long)h[i].t0, (long long)h[i].t1);
            if (PQputCopyData(pg->conn, line, len) != 1)
                rc = db_err(pg, reterr, "COPY stage data");
        }
    }
    if (PQputCopyEnd(pg->conn, rc ? "aborted" : NULL) != 1 && rc == 0)
        rc = db_err(pg, reterr, "COPY stage end");
    res = PQgetResult(pg->conn);
    if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = db_err(pg, reterr, "COPY stage result");
    PQclear(res);
    while ((res = PQgetResult(pg->conn)))
        PQclear(res);
    if (rc == 0)
        rc = exec_ok(pg,
                     "INSERT INTO hold (gpu_id, unit, req, during) SELECT gpu_id, unit, -req - 1,"
                     " tstzrange(to_timestamp(t0), to_timestamp(t1)) FROM stage;"
                     "TRUNCATE stage; ANALYZE gpu; ANALYZE hold;",
                     reterr);
    return rc;
}

/* printf onto the scratch buffer at *len (grown as needed); *len moves past the text. */
static int buf_put(struct al_pg *pg, size_t *len, const char *sep, unsigned v)
{
    if (*len + 16 > pg->bufcap) {
        size_t nc = pg->bufcap ? pg->bufcap * 2 : 4096;
        char *p = realloc(pg->buf, nc);
        if (!p)
            return AL_E_NOMEM;
        pg->buf = p;
        pg->bufcap = nc;
    }
    *len += (size_t)snprintf(pg->buf + *len, pg->bufcap - *len, "%s%u", sep, v);
    return 0;
}

/* A chosen GPU (whole) or instance start on it (MIG). */
struct pick {
    uint32_t gpu;
    uint8_t start;
};

static int read_occupied(struct al_pg *pg, const struct al_pg_req *r, struct al_err *reterr)
{
    char t0[24], t1[24];
    const char *params[3] = {r->model->name, t0, t1};
    snprintf(t0, sizeof t0, "%lld", (long long)r->t0);
    snprintf(t1, sizeof t1, "%lld", (long long)r->t1);
    const char *q = r->whole ? "free" : "occupied";
    PGresult *res = PQexecPrepared(pg->conn, q, 3, params, NULL, NULL, 0);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = db_err(pg, reterr, q);
        goto out;
    }
    /* GPUs the query does not return are not candidates. */
    memset(pg->mask, 0xff, pg->ngpus * sizeof *pg->mask);
    for (int i = 0; i < PQntuples(res); i++) {
        uint64_t g = 0, mask = 0;
        if (al_num_parse_u64(PQgetvalue(res, i, 0), 0, UINT64_MAX, &g) < 0 ||
            al_num_parse_u64(PQgetvalue(res, i, 1), 0, UINT32_MAX, &mask) < 0) {
            rc = al_err_set(reterr, AL_E_DB, "postgres: %s: row %d is not (gpu id, mask)", q, i);
            goto out;
        }
        if (g < pg->ngpus)
            pg->mask[g] = (uint32_t)mask;
    }
out:
    PQclear(res);
    return rc;
}

/* Whole GPUs: one node with enough free GPUs if there is one, else the first free ones. */
static unsigned choose_whole(const struct al_pg *pg, const struct al_pg_req *r, struct pick *out)
{
    unsigned n = 0;
    for (uint32_t g = 0; g < pg->ngpus;) {
        uint32_t node = pg->gpus[g].node, k = 0, g0 = g;
        for (; g < pg->ngpus && pg->gpus[g].node == node; g++)
            k += pg->gpus[g].model == r->model && pg->mask[g] == 0;
        if (k < r->count)
            continue;
        for (uint32_t i = g0; i < g && n < r->count; i++)
            if (pg->gpus[i].model == r->model && pg->mask[i] == 0)
                out[n++] = (struct pick){i, 0};
        return n;
    }
    for (uint32_t g = 0; g < pg->ngpus && n < r->count; g++)
        if (pg->gpus[g].model == r->model && pg->mask[g] == 0)
            out[n++] = (struct pick){g, 0};
    return n;
}

/* MIG: first fit over GPUs and legal starts. */
static unsigned choose_mig(struct al_pg *pg, const struct al_pg_req *r, struct pick *out)
{
    const struct al_mig_profile *p = &r->model->profiles[r->profile];
    unsigned n = 0;
    for (uint32_t g = 0; g < pg->ngpus && n < r->count; g++) {
        if (pg->gpus[g].model != r->model)
            continue;
        for (unsigned s = 0; s < p->nstarts && n < r->count; s++) {
            uint32_t m = ((1u << p->size) - 1) << p->starts[s];
            if (pg->mask[g] & m)
                continue;
            pg->mask[g] |= m;
            out[n++] = (struct pick){g, p->starts[s]};
        }
    }
    return n;
}

/* The rows' two array literals in pg->buf, NUL-separated: "{g,g,…}" (each unit's GPU) then
 * "{u,u,…}" (the units), the second from *ustart. Returns 0 or AL_E_NOMEM. */
static int unit_arrays(struct al_pg *pg, const struct al_pg_req *r, const struct pick *pk,
                       unsigned n, size_t *ustart)
{
    size_t len = 0;
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        size_t items = 0;
        if (pass)
            *ustart = len;
        for (unsigned i = 0; i < n && rc == 0; i++) {
            unsigned first, cnt;
            hold_units(pg, pk[i].gpu, r->whole, (unsigned)r->profile, pk[i].start, &first, &cnt);
            for (unsigned u = first; u < first + cnt && rc == 0; u++)
                rc = buf_put(pg, &len, items++ ? "," : "{", pass ? u : pk[i].gpu);
        }
        if (rc == 0 && (rc = buf_put(pg, &len, "}", 0)) == 0)
            pg->buf[len - 1] = '\0'; /* the literal ends at "}": the 0 after it becomes NUL */
    }
    return rc;
}

static int insert_rows(struct al_pg *pg, const struct al_pg_req *r, const struct pick *pk,
                       unsigned n, uint64_t req_id, bool *conflict, struct al_err *reterr)
{
    size_t ustart = 0;
    char t0[24], t1[24], id[24];
    int rc = unit_arrays(pg, r, pk, n, &ustart);
    if (rc)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    snprintf(t0, sizeof t0, "%lld", (long long)r->t0);
    snprintf(t1, sizeof t1, "%lld", (long long)r->t1);
    snprintf(id, sizeof id, "%llu", (unsigned long long)req_id);
    const char *params[5] = {pg->buf, pg->buf + ustart, id, t0, t1};
    PGresult *res = PQexecPrepared(pg->conn, "insert", 5, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        *conflict = state && strcmp(state, "23P01") == 0;
        rc = *conflict ? 0 : db_err(pg, reterr, "insert");
    }
    PQclear(res);
    return rc;
}

enum { DECIDE_AGAIN = 2 };

/* One attempt at a request, in its own transaction. Returns 1 (admitted, committed), 0
 * (refused), DECIDE_AGAIN (a concurrent writer took a unit: look again) or AL_E_DB. */
static int decide_once(struct al_pg *pg, const struct al_pg_req *r, uint64_t req_id,
                       struct pick *pk, struct al_err *reterr)
{
    bool conflict = false;
    unsigned n = 0;
    int rc = exec_ok(pg, "BEGIN", reterr);
    if (rc == 0)
        rc = read_occupied(pg, r, reterr);
    if (rc == 0)
        n = r->whole ? choose_whole(pg, r, pk) : choose_mig(pg, r, pk);
    if (rc == 0 && n == r->count)
        rc = insert_rows(pg, r, pk, n, req_id, &conflict, reterr);
    if (rc || n < r->count || conflict) {
        int rb = exec_ok(pg, "ROLLBACK", reterr);
        if (rc || rb)
            return rc ? rc : rb;
        return conflict ? DECIDE_AGAIN : 0;
    }
    rc = exec_ok(pg, "COMMIT", reterr);
    return rc ? rc : 1;
}

int al_pg_decide(struct al_pg *pg, const struct al_pg_req *r, uint64_t req_id,
                 struct al_err *reterr)
{
    struct pick pk[1024];
    if (r->count == 0 || r->count > 1024 || !r->model || (!r->whole && !r->model->mig))
        return al_err_set(reterr, AL_E_INVAL, "bad request");
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        int rc = decide_once(pg, r, req_id, pk, reterr);
        if (rc != DECIDE_AGAIN)
            return rc;
    }
    return 0;
}

long al_pg_rows(struct al_pg *pg)
{
    PGresult *res = PQexec(pg->conn, "SELECT count(*) FROM hold");
    int64_t n = 0;
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
              al_num_parse_i64(PQgetvalue(res, 0, 0), 0, LONG_MAX, &n) == 0;
    PQclear(res);
    return ok ? (long)n : -1;
}

#endif
