/* store_billing.c — the store's billing state of confirmed reservations (core's
 * al_res_billing: the contract version it was confirmed under, its frozen price lines, and
 * the counters each decision moves), the reservations with a draw due, the clock's marks and
 * the pay-as-you-go pool sessions that metering charges (store.h, "money"). What is frozen is
 * refused by the schema's triggers as well as here. */
#include "store/store_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- reservation billing states ---- */

static const char *const unit_names[] = {"gpu_hour", "slice_hour"};

void al_store_billing_row(struct al_db_stmt *st, struct al_res_billing *b)
{
    memset(b, 0, sizeof *b);
    b->id = (uint64_t)al_db_int64(st, 0);
    b->org = (uint64_t)al_db_int64(st, 2);
    b->contract_id = (uint64_t)al_db_int64(st, 3);
    b->contract_version = (uint32_t)al_db_int64(st, 4);
    b->start = al_db_int64(st, 5);
    b->end = al_db_int64(st, 6);
    b->rev = (uint32_t)al_db_int64(st, 7);
    b->drawn = al_db_int64(st, 8);
    b->fees = al_db_int64(st, 9);
    b->cancelled = al_db_int(st, 10) != 0;
    b->share = al_db_int64(st, 11);
}

int al_store_line_row(struct al_db_stmt *st, int col, struct al_res_billing *b, struct al_err *e)
{
    const char *unit = al_db_text(st, col + 1);
    if (b->nlines >= AL_BILLING_MAX_LINES)
        return al_err_set(e, AL_E_DB, "reservation %" PRIu64 ": more than %d lines", b->id,
                          AL_BILLING_MAX_LINES);
    struct al_price_line *l = &b->lines[b->nlines];
    al_store_copy(l->what, sizeof l->what, al_db_text(st, col));
    if (unit && strcmp(unit, unit_names[AL_PRICE_GPU_HOUR]) == 0)
        l->unit = AL_PRICE_GPU_HOUR;
    else if (unit && strcmp(unit, unit_names[AL_PRICE_SLICE_HOUR]) == 0)
        l->unit = AL_PRICE_SLICE_HOUR;
    else
        return al_err_set(e, AL_E_DB, "reservation %" PRIu64 ": unknown line unit", b->id);
    l->units = al_db_int64(st, col + 2);
    l->unit_price = al_db_int64(st, col + 3);
    b->nlines++;
    return 0;
}

/* Read the lines of b->id into b. */
static int lines_load(struct al_store *s, struct al_res_billing *b, struct al_err *e)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, e,
                        "SELECT what, unit, units, unit_price FROM reservation_lines"
                        " WHERE num = ? ORDER BY idx",
                        "i", (int64_t)b->id);
    int r = AL_DB_DONE;
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        rc = al_store_line_row(st, 0, b, e);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "read price lines");
    al_db_done(s, st);
    return rc;
}

/* Run a billing query (bound) for its one row, then its lines; the reservation's id into
 * rid when not NULL. */
static int billing_one(struct al_store *s, struct al_db_stmt *st, struct al_res_billing *ret,
                       char *rid, struct al_err *e)
{
    int rc = al_db_row(s, st, e, "billing state for that reservation");
    if (rc)
        return rc;
    al_store_billing_row(st, ret);
    if (rid)
        al_store_copy(rid, AL_STORE_ID_MAX, al_db_text(st, 1));
    al_db_done(s, st);
    return lines_load(s, ret, e);
}

/* Row locks (store_internal.h): a billing state is read, changed and written back with its
 * reservation's document, so its lock comes after the reservation's, whichever the caller
 * names it by: the reservation's row first (a no-op when this unit holds it already), then
 * the billing row. One order for every writer of the two rows, so that two units wait for
 * each other rather than deadlock (two batches still can: store.h). */
static int billing_lock_rsv(struct al_store *s, const char *rid, int64_t num, struct al_err *e)
{
    struct al_db_stmt *st;
    int r = AL_DB_DONE;
    int rc = al_db_prep(s, &st, e,
                        "SELECT 1 FROM reservations WHERE id = coalesce(?1, (SELECT reservation_id"
                        " FROM reservation_billing WHERE num = ?2)) FOR UPDATE",
                        "tn", rid, num);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        ;
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, e, "lock the reservation");
    al_db_done(s, st);
    return rc;
}

int al_store_billing_get(struct al_store *s, const char *reservation_id, struct al_res_billing *ret,
                         struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = AL_STORE_LOCKING(s) ? billing_lock_rsv(s, reservation_id, -1, reterr) : 0;
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr,
                        AL_STORE_FOR_UPDATE(s, AL_STORE_RB_SELECT " WHERE reservation_id = ?",
                                            AL_STORE_RB_SELECT " WHERE reservation_id = ?"
                                                               " FOR UPDATE"),
                        "t", reservation_id);
    return rc ? rc : billing_one(s, st, ret, NULL, reterr);
}

int al_store_billing_get_num(struct al_store *s, uint64_t id, struct al_res_billing *ret,
                             char rid[AL_STORE_ID_MAX], struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = AL_STORE_LOCKING(s) ? billing_lock_rsv(s, NULL, (int64_t)id, reterr) : 0;
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr,
                        AL_STORE_FOR_UPDATE(s, AL_STORE_RB_SELECT " WHERE num = ?",
                                            AL_STORE_RB_SELECT " WHERE num = ? FOR UPDATE"),
                        "i", (int64_t)id);
    return rc ? rc : billing_one(s, st, ret, rid, reterr);
}

/* Write b's row (b->id set from it) and its lines. */
static int billing_write(struct al_store *s, const char *rid, struct al_res_billing *b,
                         struct al_err *e)
{
    struct al_db_stmt *st;
    int64_t num = 0;
    int rc = al_db_prep(s, &st, e,
                        AL_STORE_INSERT_NUM(s,
                                            "INSERT INTO reservation_billing(reservation_id, org,"
                                            " contract_id, contract_version, start_at, end_at,"
                                            " rev, drawn, fees, cancelled, share)"
                                            " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                                            "num"),
                        "tiiiiiiiiii", rid, (int64_t)b->org, (int64_t)b->contract_id,
                        (int64_t)b->contract_version, b->start, b->end, (int64_t)b->rev, b->drawn,
                        b->fees, (int64_t)b->cancelled, b->share);
    if (rc || (rc = al_store_new_id(s, st, &num, e, "billing state written")) != 0)
        return rc;
    b->id = (uint64_t)num;
    for (unsigned i = 0; i < b->nlines; i++) {
        const struct al_price_line *l = &b->lines[i];
        rc = al_db_prep(s, &st, e, "INSERT INTO reservation_lines VALUES(?,?,?,?,?,?)", "iittii",
                        (int64_t)b->id, (int64_t)i, l->what, unit_names[l->unit], l->units,
                        l->unit_price);
        if (rc || (rc = al_db_run(s, st, e, "write price line")) < 0)
            return rc;
    }
    return 0;
}

int al_store_billing_insert(struct al_store *s, const char *reservation_id,
                            struct al_res_billing *b, struct al_err *reterr)
{
    struct al_contract c;
    int rc = al_store_contract_get(s, b->contract_id, b->contract_version, &c, NULL, reterr);
    return rc ? rc : al_store_billing_insert_under(s, reservation_id, &c, b, reterr);
}

int al_store_billing_insert_under(struct al_store *s, const char *reservation_id,
                                  const struct al_contract *k, struct al_res_billing *b,
                                  struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_res_billing w = *b;
    w.id = 1; /* the store's number comes below; al_billing_check wants one */
    if (k->id != b->contract_id || k->version != b->contract_version)
        return al_err_set(reterr, AL_E_INVAL,
                          "contract %" PRIu64 " v%u is not the billing state's (%" PRIu64 " v%u)",
                          k->id, k->version, b->contract_id, b->contract_version);
    int rc = al_billing_check(k, &w, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr, "SELECT 1 FROM reservations WHERE id = ?", "t", reservation_id);
    if (rc || (rc = al_db_row(s, st, reterr, "such reservation")) != 0)
        return rc;
    al_db_done(s, st);
    if ((rc = al_db_unit_begin(s, reterr)) != 0)
        return rc;
    rc = al_db_unit_end(s, billing_write(s, reservation_id, &w, reterr), reterr);
    if (rc == 0)
        b->id = w.id;
    return rc;
}

/* Whether b changes what was frozen in `old`: the field's name, or NULL. */
static const char *frozen_change(const struct al_res_billing *old, const struct al_res_billing *b)
{
    if (b->org != old->org)
        return "org";
    if (b->contract_id != old->contract_id || b->contract_version != old->contract_version)
        return "contract";
    if (b->start != old->start)
        return "start";
    if (b->share != old->share)
        return "share";
    if (b->nlines != old->nlines)
        return "lines";
    for (unsigned i = 0; i < b->nlines; i++) {
        const struct al_price_line *x = &b->lines[i], *y = &old->lines[i];
        if (x->unit != y->unit || x->units != y->units || x->unit_price != y->unit_price ||
            strncmp(x->what, y->what, sizeof x->what) != 0)
            return "lines";
    }
    return NULL;
}

int al_store_billing_update(struct al_store *s, const struct al_res_billing *b,
                            struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_res_billing old;
    int rc = al_store_billing_get_num(s, b->id, &old, NULL, reterr);
    if (rc)
        return rc;
    const char *changed = frozen_change(&old, b);
    if (changed)
        return al_err_set(reterr, AL_E_INVAL,
                          "%s: frozen at confirmation (reservation %" PRIu64 ")", changed, b->id);
    rc = al_db_prep(s, &st, reterr,
                    "UPDATE reservation_billing SET end_at = ?, rev = ?, drawn = ?, fees = ?,"
                    " cancelled = ? WHERE num = ?",
                    "iiiiii", b->end, (int64_t)b->rev, b->drawn, b->fees, (int64_t)b->cancelled,
                    (int64_t)b->id);
    if (rc || (rc = al_db_run(s, st, reterr, "update billing state")) < 0)
        return rc;
    return 0;
}

int al_store_billing_spans(struct al_store *s, uint64_t org, int64_t from, int64_t to,
                           uint64_t skip, struct al_store_spans *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    size_t cap = 0;
    int r = AL_DB_DONE;
    ret->v = NULL;
    ret->n = 0;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT start_at, end_at, share FROM reservation_billing WHERE org = ?"
                        " AND cancelled = 0 AND num != ? AND end_at > ? AND start_at < ?"
                        " AND end_at > start_at",
                        "iiii", (int64_t)org, (int64_t)skip, from, to);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW) {
        if ((rc = al_db_grow((void **)&ret->v, &cap, ret->n, sizeof *ret->v, reterr)) != 0)
            break;
        ret->v[ret->n++] =
            (struct al_share_span){al_db_int64(st, 0), al_db_int64(st, 1), al_db_int64(st, 2)};
    }
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "read reservation spans");
    al_db_done(s, st);
    if (rc) {
        free(ret->v);
        ret->v = NULL;
        ret->n = 0;
    }
    return rc;
}

int al_store_billing_ahead(struct al_store *s, uint64_t org, int64_t now, uint64_t skip,
                           int64_t *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT count(*) FROM reservation_billing WHERE org = ?"
                        " AND cancelled = 0 AND num != ? AND start_at > ?",
                        "iii", (int64_t)org, (int64_t)skip, now);
    if (rc || (rc = al_db_row(s, st, reterr, "count")) != 0)
        return rc;
    *ret = al_db_int64(st, 0);
    al_db_done(s, st);
    return 0;
}

int al_store_billing_draw_due(struct al_store *s, int64_t now, uint64_t **ret, size_t *ret_n,
                              struct al_err *reterr)
{
    struct al_db_stmt *st;
    uint64_t *arr = NULL;
    size_t n = 0, cap = 0;
    int r = AL_DB_DONE;
    /* next_draw_at (migration 5) is NULL when no draw is left: the partial index holds only
     * the reservations still drawing */
    int rc = al_db_prep(s, &st, reterr,
                        "SELECT num FROM reservation_billing WHERE next_draw_at IS NOT NULL"
                        " AND next_draw_at <= ? ORDER BY next_draw_at, num",
                        "i", now);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&arr, &cap, n, sizeof *arr, reterr)) == 0)
            arr[n++] = (uint64_t)al_db_int64(st, 0);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "list draws due");
    al_db_done(s, st);
    if (rc) {
        free(arr);
        arr = NULL;
        n = 0;
    }
    *ret = arr;
    *ret_n = n;
    return rc;
}

/* ---- clock marks ---- */

static int mark_name_ok(const char *name, struct al_err *e)
{
    size_t len = name ? strnlen(name, 64) : 0;
    return len >= 1 && len < 64 ? 0 : al_err_set(e, AL_E_INVAL, "mark: a name of 1..63 bytes");
}

int al_store_mark_set(struct al_store *s, const char *name, int64_t at, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = mark_name_ok(name, reterr);
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr,
                        /* a mark never goes back; CASE, not SQLite's two-argument max() */
                        "INSERT INTO clock_marks VALUES(?1, ?2) ON CONFLICT(name)"
                        " DO UPDATE SET at = CASE WHEN excluded.at > clock_marks.at"
                        " THEN excluded.at ELSE clock_marks.at END",
                        "ti", name, at);
    if (rc || (rc = al_db_run(s, st, reterr, "set clock mark")) < 0)
        return rc;
    return 0;
}

int al_store_mark_get(struct al_store *s, const char *name, int64_t *ret, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = mark_name_ok(name, reterr);
    *ret = 0;
    if (rc == 0)
        rc = al_db_prep(s, &st, reterr, "SELECT at FROM clock_marks WHERE name = ?", "t", name);
    if (rc == 0 && (rc = al_db_row(s, st, reterr, "clock mark")) == 0) {
        *ret = al_db_int64(st, 0);
        al_db_done(s, st);
    }
    return rc == AL_E_NOTFOUND ? 0 : rc;
}

/* ---- pool sessions ---- */

#define POOL_SELECT                                                                                \
    "SELECT id, org, user_id, gpu, share, rate, contract_id, contract_version, started_at,"        \
    " stopped_at, charged_through FROM pool_usage"

static void pool_row(struct al_db_stmt *st, struct al_store_pool *p)
{
    memset(p, 0, sizeof *p);
    p->sess.id = (uint64_t)al_db_int64(st, 0);
    p->sess.org = (uint64_t)al_db_int64(st, 1);
    al_store_copy(p->user, sizeof p->user, al_db_text(st, 2));
    al_store_copy(p->gpu, sizeof p->gpu, al_db_text(st, 3));
    p->sess.share = al_db_int64(st, 4);
    p->sess.rate = al_db_int64(st, 5);
    p->contract_id = (uint64_t)al_db_int64(st, 6);
    p->contract_version = (uint32_t)al_db_int64(st, 7);
    p->sess.start = al_db_int64(st, 8);
    p->stopped_at = al_db_int64(st, 9);
    p->sess.metered_to = al_db_int64(st, 10);
}

int al_store_pool_start(struct al_store *s, struct al_store_pool *p, struct al_err *reterr)
{
    struct al_db_stmt *st;
    if (p->sess.share <= 0)
        return al_err_set(reterr, AL_E_INVAL, "share: must be > 0");
    if (p->sess.rate < 0)
        return al_err_set(reterr, AL_E_INVAL, "rate: negative");
    if (!p->gpu[0])
        return al_err_set(reterr, AL_E_INVAL, "gpu: empty");
    int rc = al_store_org_exists(s, p->sess.org, reterr);
    if (rc)
        return rc;
    rc = al_db_prep(s, &st, reterr,
                    "INSERT INTO pool_usage(org, user_id, gpu, share, rate, contract_id,"
                    " contract_version, started_at, charged_through)"
                    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?8) RETURNING id",
                    "ittiiiii", (int64_t)p->sess.org, p->user[0] ? p->user : NULL, p->gpu,
                    p->sess.share, p->sess.rate, (int64_t)p->contract_id,
                    (int64_t)p->contract_version, p->sess.start);
    if (rc || (rc = al_db_row(s, st, reterr, "pool session written")) != 0)
        return rc;
    p->sess.id = (uint64_t)al_db_int64(st, 0);
    p->sess.metered_to = p->sess.start;
    p->stopped_at = 0;
    al_db_done(s, st);
    return 0;
}

int al_store_pool_get(struct al_store *s, uint64_t id, struct al_store_pool *ret,
                      struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(
        s, &st, reterr,
        AL_STORE_FOR_UPDATE(s, POOL_SELECT " WHERE id = ?", POOL_SELECT " WHERE id = ? FOR UPDATE"),
        "i", (int64_t)id);
    if (rc || (rc = al_db_row(s, st, reterr, "such pool session")) != 0)
        return rc;
    pool_row(st, ret);
    al_db_done(s, st);
    return 0;
}

int al_store_pool_charged(struct al_store *s, uint64_t id, int64_t to, struct al_err *reterr)
{
    struct al_db_stmt *st;
    int rc = al_db_prep(s, &st, reterr, "UPDATE pool_usage SET charged_through = ? WHERE id = ?",
                        "ii", to, (int64_t)id);
    if (rc || (rc = al_db_run(s, st, reterr, "meter pool session")) < 0)
        return rc;
    return rc == 1 ? 0 : al_err_set(reterr, AL_E_NOTFOUND, "no pool session %" PRIu64, id);
}

int al_store_pool_stop(struct al_store *s, uint64_t id, int64_t at, struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_store_pool p;
    int rc = al_db_prep(s, &st, reterr,
                        "UPDATE pool_usage SET stopped_at = ?2"
                        " WHERE id = ?1 AND stopped_at IS NULL",
                        "ii", (int64_t)id, at);
    if (rc || (rc = al_db_run(s, st, reterr, "stop pool session")) < 0)
        return rc;
    if (rc == 1)
        return 0;
    rc = al_store_pool_get(s, id, &p, reterr);
    return rc ? rc : al_err_set(reterr, AL_E_STATE, "pool session %" PRIu64 " stopped already", id);
}

#define POOL_OPEN POOL_SELECT " WHERE stopped_at IS NULL AND (?1 = 0 OR org = ?1) ORDER BY id"

int al_store_pool_open(struct al_store *s, uint64_t org, struct al_store_pool **ret, size_t *ret_n,
                       struct al_err *reterr)
{
    struct al_db_stmt *st;
    struct al_store_pool *arr = NULL;
    size_t n = 0, cap = 0;
    int r = AL_DB_DONE;
    /* locked in a unit (store.h, "Row locks"): metering and stopping change what they list */
    int rc = al_db_prep(s, &st, reterr, AL_STORE_FOR_UPDATE(s, POOL_OPEN, POOL_OPEN " FOR UPDATE"),
                        "i", (int64_t)org);
    while (rc == 0 && (r = al_db_step(s, st)) == AL_DB_ROW)
        if ((rc = al_db_grow((void **)&arr, &cap, n, sizeof *arr, reterr)) == 0)
            pool_row(st, &arr[n++]);
    if (rc == 0 && r != AL_DB_DONE)
        rc = al_db_fail(s, reterr, "list pool sessions");
    al_db_done(s, st);
    if (rc) {
        free(arr);
        arr = NULL;
        n = 0;
    }
    *ret = arr;
    *ret_n = n;
    return rc;
}
