/* draws.c — the clock's draw pass (draws.h): the reservations with a draw due come from the
 * store's index (al_store_billing_draw_due), core decides each draw (al_billing_draw), the
 * transfer is written through server/charge.h and the counter moves with it; a refused draw
 * ends the reservation's access where its paid time does. */
#include "server/draws.h"

#include "server/cal.h"
#include "server/charge.h"
#include "server/flow.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One reservation being drawn: its billing state, its reservation id, and its org as
 * server/charge.h sees it, under the contract version it was confirmed under (its terms and
 * credit limit govern its draws, whatever contract is in force now). */
struct draw_job {
    struct al_charge_org o;
    struct al_res_billing b;
    char rid[AL_STORE_ID_MAX];
};

static int job_load(struct al_ctx *c, uint64_t num, struct draw_job *j)
{
    struct al_err e = {0};
    char org[AL_STORE_ID_MAX];
    memset(j, 0, sizeof *j);
    int rc = al_store_billing_get_num(c->srv->store, num, &j->b, j->rid, &e);
    if (rc == 0)
        rc = al_store_org_id(c->srv->store, j->b.org, org, &e);
    if (rc == 0 && strlen(org) >= sizeof j->o.id)
        rc = al_err_set(&e, AL_E_INTERNAL, "org %s: id too long", org);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    memcpy(j->o.id, org, strlen(org) + 1);
    j->o.num = j->b.org;
    j->o.has_contract = true;
    return al_charge_contract_get(c, j->b.contract_id, j->b.contract_version, &j->o.k);
}

/* What a draw reads of the org: its cash (only balance terms check funds). */
static int cash_of(struct al_ctx *c, uint64_t org, struct al_org_usage *u)
{
    struct al_err e = {0};
    memset(u, 0, sizeof *u);
    int rc = al_store_balance_get(c->srv->store, (struct al_account){AL_ACCT_ORG_CASH, org},
                                  &u->cash, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* Append event `kind` of `org` about `object` with `data` (stolen; NULL: out of memory). */
static int emit(struct al_ctx *c, enum al_event_kind kind, const char *org, const char *object,
                json_t *data)
{
    if (!data)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    return al_event(c, kind, org, object, data);
}

/* Draw the next period of j. 0 with the transfer and the counter written; AL_E_PAYMENT with
 * dec->stop when the funds refuse it (nothing written); else a code, the call failed. */
static int draw_next(struct al_ctx *c, struct draw_job *j, struct al_decision *dec)
{
    struct al_org_usage u;
    struct al_err e = {0};
    char what[AL_STORE_ID_MAX + 48];
    memset(dec, 0, sizeof *dec);
    int rc = cash_of(c, j->b.org, &u);
    if (rc)
        return rc;
    rc = al_billing_draw(&j->o.k, &j->b, j->b.drawn, &u, dec, &e);
    if (rc == AL_E_PAYMENT && dec->stop)
        return rc;
    if (rc)
        return al_http_fail_err(c, rc, &e);
    snprintf(what, sizeof what, "draw %" PRId64 " of %s", j->b.drawn, j->rid);
    /* a key written before (a retried pass) is a replay: the counter catches up, no charge */
    if ((rc = al_charge_write(c, &j->o, dec, what)))
        return rc == AL_E_PAYMENT ? AL_E_INTERNAL : rc; /* core checked the same cash */
    j->b.drawn++;
    rc = al_store_billing_update(c->srv->store, &j->b, &e);
    return rc ? al_http_fail_err(c, rc, &e) : 0;
}

/* The calendar's holds of `rid` end at `end` (those that begin at or after it, or that the
 * calendar cannot shorten, being before its origin, go: access has ended, and that time is
 * past), and so do the store's (all go when end is the start: nothing was paid). */
static int holds_end(struct al_ctx *c, const char *rid, int64_t start, int64_t end)
{
    struct al_calendar *cal = c->srv->cal->cal;
    struct al_owner ow = al_cal_owner(rid);
    struct al_err e = {0};
    int n = al_calendar_owner_holds(cal, ow, NULL, 0);
    uint32_t *ids = n > 0 ? calloc((size_t)n, sizeof *ids) : NULL;
    if (n > 0 && !ids)
        return al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
    c->cal_touched = true;
    n = ids ? al_calendar_owner_holds(cal, ow, ids, (size_t)n) : 0;
    for (int i = 0; i < n; i++) {
        struct al_hold h;
        if (al_calendar_get(cal, ids[i], &h) != 0 || h.t1 <= end)
            continue;
        if (end <= h.t0 || al_calendar_shorten(cal, ids[i], end, NULL) != 0)
            al_calendar_release(cal, ids[i]);
    }
    free(ids);
    int rc = end > start ? al_store_hold_set_end(c->srv->store, rid, end, &e)
                         : al_store_hold_release(c->srv->store, rid, &e);
    return rc < 0 ? al_http_fail_err(c, rc, &e) : 0;
}

/* The reservation's document after its access ended at `end` (period k unpaid): its end moves
 * there (kept when nothing was paid: the window was never used), and it ends, or, with
 * nothing paid, is cancelled, unless it is over already. */
static int rsv_access_end(struct al_ctx *c, const struct draw_job *j, int64_t end, int64_t k)
{
    json_t *r = NULL;
    struct al_err e = {0};
    enum al_rsv_state st;
    char why[160], at[32];
    int rc = al_store_reservation_get(c->srv->store, j->rid, &r, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    snprintf(why, sizeof why,
             "insufficient balance: period %" PRId64 " was not covered; access ended at %s", k,
             al_time_fmt(end, at, sizeof at));
    json_object_set_new(r, "access_ended_at", al_time_json(end));
    json_object_set_new(r, "reason", json_string(why));
    if (end > j->b.start)
        json_object_set_new(r, "end", al_time_json(end));
    /* a state the table does not know, or one that is over: the document only */
    if (al_state_rsv_parse(jstr(r, "state"), &st) == 0 &&
        (st == AL_RSV_SCHEDULED || st == AL_RSV_PROVISIONING || st == AL_RSV_ACTIVE)) {
        bool cancel = k == 0 || st == AL_RSV_SCHEDULED;
        if (cancel)
            json_object_set_new(r, "cancelled_by", json_string(c->user_id));
        rc = al_flow_rsv_step(c, r, cancel ? AL_RSV_EV_CANCEL : AL_RSV_EV_END,
                              json_pack("{s:s}", "reason", "insufficient_balance"));
    }
    if (rc == 0)
        rc = al_flow_rsv_save(c, r, false);
    json_decref(r);
    return rc;
}

/* Draw k was refused: access ends at dec->end = p(k) (billing state, holds, document), and
 * reservation.access_ended says why, with the numbers of the refusal. */
static int access_end(struct al_ctx *c, struct draw_job *j, const struct al_decision *dec)
{
    struct al_err e = {0};
    int64_t k = j->b.drawn, old_end = j->b.end;
    if (j->b.rev == UINT32_MAX)
        return al_http_fail(c, AL_E_RANGE, NULL, "%s: too many window changes", j->rid);
    j->b.end = dec->end;
    j->b.rev++;
    int rc = al_store_billing_update(c->srv->store, &j->b, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    if ((rc = holds_end(c, j->rid, j->b.start, j->b.end)) ||
        (rc = rsv_access_end(c, j, j->b.end, k)))
        return rc;
    const struct al_refusal *r = &dec->refusal;
    return emit(c, AL_EVENT_RESERVATION_ACCESS_ENDED, j->o.id, j->rid,
                json_pack("{s:s,s:I,s:o,s:o,s:I,s:I,s:I}", "org", j->o.id, "period", (json_int_t)k,
                          "access_ended_at", al_time_json(j->b.end), "booked_end",
                          al_time_json(old_end), "draw_micros", (json_int_t)dec->amount,
                          "balance_micros", (json_int_t)r->balance, "credit_limit_micros",
                          (json_int_t)r->credit_limit));
}

/* After draws of j under balance terms: balance.low when the funds cover fewer than
 * AL_BILLING_LOW_PERIODS of the periods left, and not all of them. */
static int low_check(struct al_ctx *c, const struct draw_job *j)
{
    struct al_org_usage u;
    struct al_err e = {0};
    int64_t all = 0, covered = 0, avail = 0, left;
    int rc;
    if (j->o.k.terms != AL_TERMS_BALANCE || j->b.end <= j->b.start)
        return 0;
    /* the periods of the window: all have begun by its last second */
    if ((rc = al_billing_draws_due(&j->o.k, &j->b, j->b.end - 1, &all, &e)))
        return al_http_fail_err(c, rc, &e);
    left = all - j->b.drawn;
    if (left <= 0 || (rc = cash_of(c, j->b.org, &u)))
        return rc;
    if (al_money_add(u.cash, j->o.k.limits.credit_limit, &avail))
        return al_http_fail(c, AL_E_RANGE, NULL, "%s: the funds overflow", j->o.id);
    if ((rc = al_billing_periods_covered(&j->o.k, &j->b, avail, &covered, &e)))
        return al_http_fail_err(c, rc, &e);
    if (covered >= AL_BILLING_LOW_PERIODS || covered >= left)
        return 0;
    return emit(c, AL_EVENT_BALANCE_LOW, j->o.id, j->o.id,
                json_pack("{s:s,s:I,s:I,s:I,s:o}", "reservation", j->rid, "covered_periods",
                          (json_int_t)covered, "periods_left", (json_int_t)left, "available_micros",
                          (json_int_t)avail, "next_draw_at",
                          al_time_json(j->b.start + j->b.drawn * j->o.k.draw_period_s)));
}

/* Every draw of reservation `num` due at `at`, in order. Returns how many were written
 * (an access ended counts one), or a negative code. */
static int draws_of(struct al_ctx *c, uint64_t num, int64_t at)
{
    struct draw_job j;
    struct al_decision dec;
    struct al_err e = {0};
    int64_t due = 0;
    int n = 0, rc = job_load(c, num, &j);
    if (rc)
        return rc;
    if ((rc = al_billing_draws_due(&j.o.k, &j.b, at, &due, &e)))
        return al_http_fail_err(c, rc, &e);
    while (j.b.drawn < due) {
        rc = draw_next(c, &j, &dec);
        if (rc == AL_E_PAYMENT && dec.stop)
            return (rc = access_end(c, &j, &dec)) ? rc : n + 1;
        if (rc)
            return rc;
        n++;
    }
    if (n > 0 && (rc = low_check(c, &j)))
        return rc;
    return n;
}

int al_draws_pass(struct al_ctx *c)
{
    uint64_t *due = NULL;
    size_t n = 0;
    struct al_err e = {0};
    int total = 0, rc = al_store_billing_draw_due(c->srv->store, c->now, &due, &n, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    for (size_t i = 0; i < n; i++) {
        if ((rc = draws_of(c, due[i], c->now)) < 0)
            break;
        total += rc;
        rc = 0;
    }
    free(due);
    if (rc == 0 && (rc = al_store_mark_set(c->srv->store, AL_DRAWS_MARK, c->now, &e)))
        return al_http_fail_err(c, rc, &e);
    return rc < 0 ? rc : total;
}

int al_draws_catch_up(struct al_ctx *c, uint64_t num)
{
    struct al_err e = {0};
    int64_t mark = 0;
    int rc = al_store_mark_get(c->srv->store, AL_DRAWS_MARK, &mark, &e);
    if (rc)
        return al_http_fail_err(c, rc, &e);
    /* before the first pass verify checks nothing as due, and the first pass takes it all */
    return mark > 0 ? draws_of(c, num, mark) : 0;
}
