/* store_money.c — the store's ledger numbers of orgs, the price list kept as versions (each
 * set of a model's price appends one; the version in force at a time), and contracts with
 * their versions and frozen rates (store.h, "money"). The rules a contract obeys are core's
 * (core/contract.h): a contract is checked by al_contract_validate before it is written. */
#include "store/store_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- ledger numbers of orgs ---- */

int al_store_org_num(struct al_store *s, const char *org_id, uint64_t *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr, "SELECT num FROM ledger_orgs WHERE org_id = ?", "t", org_id);
    if (rc || (rc = al_db_row(s, st, reterr, "such org")) != 0)
        return rc;
    *ret = (uint64_t)al_db_int64(st, 0);
    al_db_done(s, st);
    return 0;
}

int al_store_org_id(struct al_store *s, uint64_t num, char ret[AL_STORE_ID_MAX],
                    struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "SELECT org_id FROM ledger_orgs WHERE num = ?", "i",
                        (int64_t)num);
    if (rc || (rc = al_db_row(s, st, reterr, "org with that number")) != 0)
        return rc;
    al_store_copy(ret, AL_STORE_ID_MAX, al_db_text(st, 0));
    al_db_done(s, st);
    return 0;
}

int al_store_org_money_lock(struct al_store *s, uint64_t num, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (!AL_STORE_LOCKING(s))
        return 0;
    int rc = al_db_prep(s, &st, reterr, "SELECT 1 FROM ledger_orgs WHERE num = ? FOR UPDATE", "i",
                        (int64_t)num);
    if (rc || (rc = al_db_row(s, st, reterr, "org with that number")) != 0)
        return rc;
    al_db_done(s, st);
    return 0;
}

int al_store_org_exists(struct al_store *s, uint64_t num, struct al_err *e)
{
    char id[AL_STORE_ID_MAX];
    int rc = al_store_org_id(s, num, id, e);
    return rc == AL_E_NOTFOUND ? al_err_set(e, rc, "org: no org numbered %" PRIu64 "", num) : rc;
}

/* ---- price versions ---- */

#define PV_COLS                                                                                    \
    "model, version, valid_from, gpu_hour, mig_slice_hour, pool_gpu_hour, created_at,"             \
    " created_by"

static void pv_from_row(struct al_db_stmt *st, struct al_store_price_version *pv)
{
    memset(pv, 0, sizeof *pv);
    al_store_copy(pv->model, sizeof pv->model, al_db_text(st, 0));
    pv->version = (uint32_t)al_db_int64(st, 1);
    pv->valid_from = al_db_int64(st, 2);
    pv->rates.gpu_hour = al_db_int64(st, 3);
    pv->rates.mig_slice_hour = al_db_int64(st, 4);
    pv->rates.pool_gpu_hour = al_db_int64(st, 5);
    pv->created_at = al_db_int64(st, 6);
    al_store_copy(pv->created_by, sizeof pv->created_by, al_db_text(st, 7));
}

int al_store_price_version_add(struct al_store *s, struct al_store_price_version *pv,
                               struct al_err *reterr)
{
    struct al_db_stmt *st;
    const struct al_rates *r = &pv->rates;
    if (!pv->model[0])
        return al_err_set(reterr, AL_E_INVAL, "model: empty");
    if (r->gpu_hour < 0 || r->mig_slice_hour < 0 || r->pool_gpu_hour < 0)
        return al_err_set(reterr, AL_E_INVAL, "price: negative");
    /* in its own unit: two servers adding a version of one model at once, the second finds
     * the number taken (the primary key) and is retried, after rolling back to a savepoint in
     * PostgreSQL */
    int rc = al_db_unit_begin(s, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "INSERT INTO price_versions SELECT ?1, coalesce(max(version), 0) + 1,"
                    " ?2, ?3, ?4, ?5, ?6, ?7 FROM price_versions WHERE model = ?1"
                    " RETURNING version",
                    "tiiiiit", pv->model, pv->valid_from, r->gpu_hour, r->mig_slice_hour,
                    r->pool_gpu_hour, pv->created_at, pv->created_by[0] ? pv->created_by : NULL);
    if (rc == 0 && (rc = al_db_row(s, st, reterr, "price version written")) == 0) {
        pv->version = (uint32_t)al_db_int64(st, 0);
        al_db_done(s, st);
    }
    return al_db_unit_end(s, rc, reterr);
}

/* Run a price version query (bound) for its one row into *ret. */
static int pv_one(struct al_store *s, struct al_db_stmt *st, const char *model,
                  struct al_store_price_version *ret, struct al_err *e)
{
    int rc = al_db_row(s, st, e, "price version");
    if (rc)
        return rc == AL_E_NOTFOUND ? al_err_set(e, rc, "no price for %s", model) : rc;
    pv_from_row(st, ret);
    al_db_done(s, st);
    return 0;
}

int al_store_price_version_get(struct al_store *s, const char *model, uint32_t version,
                               struct al_store_price_version *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " PV_COLS " FROM price_versions WHERE model = ? AND version = ?",
                        "ti", model, (int64_t)version);
    return rc ? rc : pv_one(s, st, model, ret, reterr);
}

int al_store_price_at(struct al_store *s, const char *model, int64_t t,
                      struct al_store_price_version *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " PV_COLS " FROM price_versions WHERE model = ?"
                        " AND valid_from <= ? ORDER BY version DESC LIMIT 1",
                        "ti", model, t);
    return rc ? rc : pv_one(s, st, model, ret, reterr);
}

static json_t *pv_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "_key", al_db_text(st, 0), "model",
                     al_db_text(st, 1), "version", (json_int_t)al_db_int64(st, 2), "valid_from",
                     (json_int_t)al_db_int64(st, 3), "gpu_hour_micros",
                     (json_int_t)al_db_int64(st, 4), "mig_slice_hour_micros",
                     (json_int_t)al_db_int64(st, 5), "pool_gpu_hour_micros",
                     (json_int_t)al_db_int64(st, 6), "created_at", (json_int_t)al_db_int64(st, 7),
                     "created_by", al_store_str_or_null(al_db_text(st, 8)));
}

int al_store_price_history(struct al_store *s, const char *model, struct al_store_page pg,
                           json_t **ret, char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int64_t after;
    /* the key's own name: PostgreSQL finds two output columns called version otherwise */
    int rc = al_store_cursor_num(pg.cursor, &after, reterr);
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr,
                        "SELECT CAST(version AS TEXT) AS k, " PV_COLS " FROM price_versions"
                        " WHERE model = ?1 AND version > ?2 ORDER BY version LIMIT ?3",
                        "tii", model, after, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, pv_row, ret, next, reterr);
}

/* ---- the price list: each model's newest version ---- */

int al_store_price_put(struct al_store *s, const struct al_store_price *p, struct al_err *reterr)
{
    struct al_store_price_version pv = {
        .valid_from = p->updated_at,
        .rates = {p->gpu_hour, p->mig_slice_hour, p->pool_gpu_hour},
        .created_at = p->updated_at,
    };
    al_store_copy(pv.model, sizeof pv.model, p->model);
    return al_store_price_version_add(s, &pv, reterr);
}

int al_store_price_get(struct al_store *s, const char *model, struct al_store_price *ret,
                       struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_store_price_version pv;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT " PV_COLS " FROM price_versions WHERE model = ?"
                        " ORDER BY version DESC LIMIT 1",
                        "t", model);
    if (rc || (rc = pv_one(s, st, model, &pv, reterr)) != 0)
        return rc;
    memset(ret, 0, sizeof *ret);
    al_store_copy(ret->model, sizeof ret->model, pv.model);
    ret->gpu_hour = pv.rates.gpu_hour;
    ret->mig_slice_hour = pv.rates.mig_slice_hour;
    ret->pool_gpu_hour = pv.rates.pool_gpu_hour;
    ret->updated_at = pv.created_at;
    return 0;
}

static json_t *price_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:s?,s:I,s:I,s:I,s:I}", "_key", al_db_text(st, 0), "model",
                     al_db_text(st, 0), "gpu_hour_micros", (json_int_t)al_db_int64(st, 1),
                     "mig_slice_hour_micros", (json_int_t)al_db_int64(st, 2),
                     "pool_gpu_hour_micros", (json_int_t)al_db_int64(st, 3), "updated_at",
                     (json_int_t)al_db_int64(st, 4));
}

int al_store_price_list(struct al_store *s, json_t **ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT model, gpu_hour, mig_slice_hour, pool_gpu_hour, created_at"
                        " FROM price_versions p WHERE version ="
                        " (SELECT max(version) FROM price_versions WHERE model = p.model)"
                        " ORDER BY model LIMIT 100001",
                        "");
    return rc ? rc : al_db_collect(s, st, 100000, price_row, ret, NULL, reterr);
}

/* ---- contracts ---- */

/* Write version c->version of contract c->id with its rates. */
static int version_write(struct al_store *s, const struct al_contract *c, int64_t at,
                         const char *by, struct al_err *e)
{
    struct al_db_stmt *st;
    const struct al_contract_limits *l = &c->limits;
    int rc = al_db_prep(
        s, &st, e,
        "INSERT INTO contract_versions(contract_id, version, terms, valid_from, valid_to,"
        " granularity, min_hours, draw_period, discount_bps, cancel_fee, cancel_fee_bps,"
        " admin_may_cancel_active, self_service, payg_after_window, credit_limit, max_gpus,"
        " max_length_s, max_ahead, month_cap, created_at, created_by)"
        " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        "iitiitiiiiiiiinnnnnit", (int64_t)c->id, (int64_t)c->version,
        al_contract_terms_name(c->terms), c->valid_from, c->valid_to,
        al_contract_gran_name(c->gran.unit), c->gran.min_hours, c->draw_period_s,
        (int64_t)c->discount_bps, c->cancel_fee, (int64_t)c->cancel_fee_bps,
        (int64_t)c->admin_may_cancel_active, (int64_t)c->self_service,
        (int64_t)c->payg_after_window, l->credit_limit, l->max_gpus, l->max_length_s, l->max_ahead,
        l->month_cap, at, by);
    if (rc || (rc = al_db_run(s, st, e, "write contract version")) < 0)
        return rc;
    for (unsigned i = 0; i < c->nrates; i++) {
        const struct al_contract_rate *r = &c->rates[i];
        rc = al_db_prep(s, &st, e, "INSERT INTO contract_rates VALUES(?,?,?,?,?,?,?)", "iiitiii",
                        (int64_t)c->id, (int64_t)c->version, (int64_t)i, r->model,
                        r->rates.gpu_hour, r->rates.mig_slice_hour, r->rates.pool_gpu_hour);
        if (rc || (rc = al_db_run(s, st, e, "write contract rate")) < 0)
            return rc;
    }
    return 0;
}

int al_store_contract_create(struct al_store *s, struct al_contract *c, int64_t at, const char *by,
                             struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_contract w = *c;
    w.id = 1; /* the store's number comes below; validate wants one */
    w.version = 1;
    int rc = al_contract_validate(&w, reterr);
    if (rc || (rc = al_store_org_exists(s, c->org, reterr)) != 0 ||
        (rc = al_db_unit_begin(s, reterr)) != 0)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "INSERT INTO contracts(org, created_at, created_by) VALUES(?,?,?)"
                    " RETURNING id",
                    "iit", (int64_t)c->org, at, by);
    if (rc == 0 && (rc = al_db_row(s, st, reterr, "contract written")) == 0) {
        w.id = (uint64_t)al_db_int64(st, 0);
        al_db_done(s, st);
        rc = version_write(s, &w, at, by, reterr);
    }
    if ((rc = al_db_unit_end(s, rc, reterr)) == 0) {
        c->id = w.id;
        c->version = 1;
    }
    return rc;
}

int al_store_contract_amend(struct al_store *s, struct al_contract *c, int64_t at, const char *by,
                            struct al_err *reterr)
{
    struct al_contract prev, next = *c;
    struct al_store_contract_info info = {0};
    int rc = al_store_contract_get(s, c->id, 0, &prev, &info, reterr);
    if (rc)
        return rc;
    if (info.ended_at)
        return al_err_set(reterr, AL_E_STATE, "contract %" PRIu64 " ended at %" PRId64 "", c->id,
                          info.ended_at);
    next.version = prev.version + 1;
    if ((rc = al_contract_amend_check(&prev, &next, reterr)) != 0 ||
        (rc = al_db_unit_begin(s, reterr)) != 0)
        return rc;
    rc = al_db_unit_end(s, version_write(s, &next, at, by, reterr), reterr);
    if (rc == 0)
        c->version = next.version;
    return rc;
}

int al_store_contract_end(struct al_store *s, uint64_t id, int64_t at, const char *by,
                          struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_contract c;
    int rc = al_db_prep(s, &st, reterr,
                        "UPDATE contracts SET ended_at = ?2, ended_by = ?3"
                        " WHERE id = ?1 AND ended_at IS NULL",
                        "iit", (int64_t)id, at, by);
    if (rc || (rc = al_db_run(s, st, reterr, "end contract")) < 0)
        return rc;
    if (rc == 1)
        return 0;
    rc = al_store_contract_get(s, id, 0, &c, NULL, reterr);
    return rc ? rc : al_err_set(reterr, AL_E_STATE, "contract %" PRIu64 " ended already", id);
}

/* A limit column: NULL is a limit that is not set. */
static int64_t limit_col(struct al_db_stmt *st, int i)
{
    return al_db_null(st, i) ? AL_LIMIT_NONE : al_db_int64(st, i);
}

int al_store_contract_row(struct al_db_stmt *st, struct al_contract *c,
                          struct al_store_contract_info *info, struct al_err *e)
{
    memset(c, 0, sizeof *c);
    c->id = (uint64_t)al_db_int64(st, 0);
    c->version = (uint32_t)al_db_int64(st, 1);
    c->org = (uint64_t)al_db_int64(st, 2);
    if (al_contract_terms_parse(al_db_text(st, 3), &c->terms) ||
        al_contract_gran_parse(al_db_text(st, 6), &c->gran.unit))
        return al_err_set(e, AL_E_DB, "contract %" PRIu64 ": stored terms are unknown", c->id);
    c->valid_from = al_db_int64(st, 4);
    c->valid_to = al_db_int64(st, 5);
    c->gran.min_hours = al_db_int64(st, 7);
    c->draw_period_s = al_db_int64(st, 8);
    c->discount_bps = al_db_int(st, 9);
    c->cancel_fee = al_db_int64(st, 10);
    c->cancel_fee_bps = al_db_int(st, 11);
    c->admin_may_cancel_active = al_db_int(st, 12) != 0;
    c->self_service = al_db_int(st, 13) != 0;
    c->payg_after_window = al_db_int(st, 14) != 0;
    c->limits = (struct al_contract_limits){limit_col(st, 15), limit_col(st, 16), limit_col(st, 17),
                                            limit_col(st, 18), limit_col(st, 19)};
    if (info) {
        memset(info, 0, sizeof *info);
        info->created_at = al_db_int64(st, 20);
        al_store_copy(info->created_by, sizeof info->created_by, al_db_text(st, 21));
        info->ended_at = al_db_int64(st, 22);
        al_store_copy(info->ended_by, sizeof info->ended_by, al_db_text(st, 23));
        info->newest = (uint32_t)al_db_int64(st, 24);
    }
    return 0;
}

int al_store_rate_row(struct al_db_stmt *st, int col, struct al_contract *c, struct al_err *e)
{
    if (c->nrates >= AL_CONTRACT_MAX_RATES)
        return al_err_set(e, AL_E_DB, "contract %" PRIu64 ": more than %d rates", c->id,
                          AL_CONTRACT_MAX_RATES);
    struct al_contract_rate *r = &c->rates[c->nrates++];
    al_store_copy(r->model, sizeof r->model, al_db_text(st, col));
    r->rates.gpu_hour = al_db_int64(st, col + 1);
    r->rates.mig_slice_hour = al_db_int64(st, col + 2);
    r->rates.pool_gpu_hour = al_db_int64(st, col + 3);
    return 0;
}

/* Read the rates of version c->version of contract c->id into c. */
static int rates_load(struct al_store *s, struct al_contract *c, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e,
                        "SELECT model, gpu_hour, mig_slice_hour, pool_gpu_hour"
                        " FROM contract_rates WHERE contract_id = ? AND version = ?"
                        " ORDER BY idx",
                        "ii", (int64_t)c->id, (int64_t)c->version);
    int r = AL_DB_DONE;
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        rc = al_store_rate_row(st, 0, c, e);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "read contract rates");
    al_db_done(s, st);
    return rc;
}

/* Run a contract version query (bound) for its one row, then its rates. */
static int contract_one(struct al_store *s, struct al_db_stmt *st, struct al_contract *ret,
                        struct al_store_contract_info *info, struct al_err *e)
{
    int rc = al_db_row(s, st, e, "such contract");
    if (rc)
        return rc;
    rc = al_store_contract_row(st, ret, info, e);
    al_db_done(s, st);
    return rc ? rc : rates_load(s, ret, e);
}

int al_store_contract_get(struct al_store *s, uint64_t id, uint32_t version,
                          struct al_contract *ret, struct al_store_contract_info *info,
                          struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc =
        al_db_prep(s, &st, reterr,
                   AL_STORE_CV_SELECT " WHERE v.contract_id = ?1 AND v.version = CASE ?2"
                                      " WHEN 0 THEN (SELECT max(version) FROM contract_versions"
                                      " WHERE contract_id = ?1) ELSE ?2 END",
                   "ii", (int64_t)id, (int64_t)version);
    return rc ? rc : contract_one(s, st, ret, info, reterr);
}

int al_store_contract_in_force(struct al_store *s, uint64_t org, int64_t t, struct al_contract *ret,
                               struct al_store_contract_info *info, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        AL_STORE_CV_SELECT " WHERE c.org = ?1 AND v.version ="
                                           " (SELECT max(version) FROM contract_versions"
                                           " WHERE contract_id = c.id)"
                                           " AND v.valid_from <= ?2 AND ?2 < v.valid_to"
                                           " AND (c.ended_at IS NULL OR ?2 < c.ended_at)"
                                           " ORDER BY c.id DESC LIMIT 1",
                        "ii", (int64_t)org, t);
    return rc ? rc : contract_one(s, st, ret, info, reterr);
}

static json_t *contract_list_row(struct al_db_stmt *st)
{
    return json_pack("{s:s?,s:I,s:s?,s:I,s:s?,s:I,s:I,s:b,s:I,s:o}", "_key", al_db_text(st, 0),
                     "id", (json_int_t)al_db_int64(st, 1), "org", al_db_text(st, 2), "version",
                     (json_int_t)al_db_int64(st, 3), "terms", al_db_text(st, 4), "valid_from",
                     (json_int_t)al_db_int64(st, 5), "valid_to", (json_int_t)al_db_int64(st, 6),
                     "self_service", al_db_int(st, 7), "created_at", (json_int_t)al_db_int64(st, 8),
                     "ended_at",
                     al_db_null(st, 9) ? json_null() : json_integer(al_db_int64(st, 9)));
}

int al_store_contract_list(struct al_store *s, uint64_t org, struct al_store_page pg, json_t **ret,
                           char **next, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int limit = al_db_page_limit(pg);
    int64_t after;
    int rc = al_store_cursor_num(pg.cursor, &after, reterr);
    if (rc == 0)
        rc = al_db_prep(
            s, &st, reterr,
            "SELECT CAST(c.id AS TEXT), c.id, o.org_id, v.version, v.terms, v.valid_from,"
            " v.valid_to, v.self_service, c.created_at, c.ended_at"
            " FROM contracts c JOIN ledger_orgs o ON o.num = c.org"
            " JOIN contract_versions v ON v.contract_id = c.id AND v.version ="
            " (SELECT max(version) FROM contract_versions WHERE contract_id = c.id)"
            " WHERE (?1 = 0 OR c.org = ?1) AND c.id > ?2 ORDER BY c.id LIMIT ?3",
            "iii", (int64_t)org, after, (int64_t)limit + 1);
    return rc ? rc : al_db_collect(s, st, limit, contract_list_row, ret, next, reterr);
}
