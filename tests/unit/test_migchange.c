/* test_migchange.c — unit tests of core/migchange: the plan of a MIG change (an instance that
 * stays is never touched, a MIG mode switch, a late plan when no window closes before the start,
 * a node without windows, bad input), the safety
 * check (every check failing alone, all passing, several at once, malformed observations), the
 * force rule, the agent's operations under NVML's rules, and the rollback after a failure at
 * each operation, also over random pairs of every valid H100 layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/catalog.h"
#include "core/migchange.h"

#define H   INT64_C(3600)
#define D   INT64_C(86400)
#define MON INT64_C(1796601600) /* 2026-12-07T00:00:00Z, a Monday */

static const struct al_gpu_model *h100(void)
{
    const struct al_gpu_model *m = al_catalog_find("H100-80GB");
    assert_non_null(m);
    return m;
}

static struct al_layout L(const char *text) {
    struct al_layout l;
    struct al_err e = {0};
    if (al_layout_parse(h100(), text, &l, &e) != 0)
        fail_msg("%s: %s", text, e.msg);
    return l;
}

static struct al_placement
P(const char *text) {
    struct al_layout l = L(text);
    assert_int_equal(l.n, 1);
    return l.p[0];
}

static struct al_migchange_rsv
rsv(const char *id, const char *org, int64_t start, const char *p)
{
    struct al_migchange_rsv r = {.start = start};
    (void)snprintf(r.id, sizeof r.id, "%s", id);
    (void)snprintf(r.org, sizeof r.org, "%s", org);
    if (p)
        r.p = P(p);
    else
        r.whole = true;
    return r;
}

static struct al_windows windows(const char *text)
{
    struct al_windows w;
    assert_int_equal(al_window_parse(text, &w, NULL), 0);
    return w;
}

/* ---- the fixture: 3g@0,2g@4,1g@6 -> 3g@0,1g@4,1g@5,1g@6 for r1, starting Thursday noon ---- */

struct fix {
    struct al_layout from, to;
    struct al_windows w;
    struct al_migchange_rsv serves[2], holders[3];
    struct al_migchange c;
    struct al_mig_observed obs;
    struct al_migchange_ack acks[4];
    unsigned nacks;
    int64_t now;
};

static void obs_inst(struct al_mig_observed *o, const char *p, const char *uuid)
{
    o->instances[o->ninstances].p = P(p);
    (void)snprintf(o->instances[o->ninstances].uuid, AL_MIGCHANGE_UUID_MAX, "%s", uuid);
    o->ninstances++;
}

static void add_ack(struct fix *f, const char *org, bool shut, bool backup)
{
    struct al_migchange_ack *a = &f->acks[f->nacks++];
    (void)snprintf(a->org, sizeof a->org, "%s", org);
    a->job_shutdown = shut;
    a->data_backup = backup;
}

static void fix_init(struct fix *f)
{
    memset(f, 0, sizeof *f);
    f->from = L("3g.40gb@0,2g.20gb@4,1g.10gb@6");
    f->to = L("3g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6");
    f->w = windows("daily 02:00-04:00");
    f->serves[0] = rsv("r1", "acme", MON + 3 * D + 12 * H, "1g.10gb@4");
    f->holders[0] = rsv("h1", "beta", MON, "2g.20gb@4");
    f->holders[1] = rsv("h2", "acme", MON, "3g.40gb@0");
    struct al_migchange_input in = {
        .gpu = "gpu-7",
        .from = &f->from,
        .from_mig = true,
        .to = &f->to,
        .to_mig = true,
        .serves = f->serves,
        .nserves = 1,
        .holders = f->holders,
        .nholders = 2,
        .windows = &f->w,
        .now = MON + 5 * H,
    };
    struct al_err e = {0};
    if (al_migchange_plan(&in, &f->c, &e) != 0)
        fail_msg("plan: %s", e.msg);
    struct al_mig_observed *o = &f->obs;
    o->mig_current = o->mig_pending = true;
    obs_inst(o, "3g.40gb@0", "MIG-aaaa");
    obs_inst(o, "2g.20gb@4", "MIG-bbbb");
    obs_inst(o, "1g.10gb@6", "MIG-cccc");
    o->processes[o->nprocesses++] = (struct al_mig_obs_process){100, 1ULL << 30, 0};
    struct al_mig_obs_container *k = &o->containers[o->ncontainers++];
    (void)snprintf(k->id, sizeof k->id, "c1");
    (void)snprintf(k->org, sizeof k->org, "acme");
    k->instance = 0;
    o->agent_online = true;
    o->heartbeat_age_s = 5;
    o->gpu_healthy = true;
    add_ack(f, "beta", true, true);
    f->now = f->c.run_after + 600;
}

static struct al_migcheck_report check(const struct fix *f)
{
    struct al_migcheck_report r;
    struct al_err e = {0};
    if (al_migchange_check(&f->c, &f->obs, f->acks, f->nacks, f->now, &r, &e) != 0)
        fail_msg("check: %s", e.msg);
    return r;
}

/* ---- plan ---------------------------------------------------------------------------------- */

static void test_plan_keeps_untouched(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f);
    const struct al_migchange *c = &f.c;
    assert_string_equal(c->gpu, "gpu-7");
    assert_false(c->mode_switch);
    assert_int_equal(c->nsteps, 3);
    assert_int_equal(c->steps[0].op, AL_STEP_DESTROY);
    assert_int_equal(c->steps[0].p.profile, P("2g.20gb@4").profile);
    assert_int_equal(c->steps[0].p.start, 4);
    for (unsigned i = 0; i < c->nsteps; i++) { /* 3g@0 and 1g@6 stay: never a step */
        assert_false(c->steps[i].p.start == 0 || c->steps[i].p.start == 6);
    }
    assert_true(al_migchange_destroys(c, P("2g.20gb@4")));
    assert_false(al_migchange_destroys(c, P("3g.40gb@0")));
    assert_false(al_migchange_destroys(c, P("1g.10gb@6")));
    assert_false(al_migchange_destroys(c, P("1g.10gb@5")));
    /* The latest window closing before Thursday 12:00: Thursday 02:00-04:00. */
    assert_int_equal(c->run_after, MON + 3 * D + 2 * H);
    assert_int_equal(c->run_before, MON + 3 * D + 4 * H);
    assert_int_equal(c->nserves, 1);
    assert_string_equal(c->serves[0].id, "r1");
    assert_int_equal(c->nholders, 2);

    struct al_migop ops[AL_MIGOP_MAX];
    static const enum al_migop_kind want[] = {AL_MIGOP_DESTROY_CI, AL_MIGOP_DESTROY_GI,
                                              AL_MIGOP_CREATE_GI,  AL_MIGOP_CREATE_CI,
                                              AL_MIGOP_CREATE_GI,  AL_MIGOP_CREATE_CI};
    unsigned n = al_migchange_ops(c, ops);
    assert_int_equal(n, 6);
    for (unsigned i = 0; i < n; i++)
        assert_string_equal(al_migop_name(ops[i].kind), al_migop_name(want[i]));
    assert_int_equal(ops[0].p.start, 4);
    assert_int_equal(ops[2].p.start, 4);
    assert_int_equal(ops[4].p.start, 5);
    assert_string_equal(al_migop_name(AL_MIGOP_MIG_ON), "mig_on");
    assert_string_equal(al_migop_name((enum al_migop_kind)42), "unknown");
}

static void test_plan_mode_switch(void **state)
{
    (void)state;
    struct al_layout none = L("none"), to = L("3g.40gb@0,3g.40gb@4"), all = L("7g.80gb@0");
    struct al_windows w = windows("sat,sun 00:00-06:00");
    struct al_migchange_rsv serve = rsv("r1", "acme", MON + 7 * D, "3g.40gb@4");
    struct al_migchange_rsv whole = rsv("d1", "beta", MON, NULL);
    struct al_migchange_input in = {"gpu-1", &none,  false, &to, true,   &serve,
                                    1,       &whole, 1,     &w,  MON + H};
    struct al_migchange c;
    struct al_migop ops[AL_MIGOP_MAX];
    struct al_err e = {0};
    assert_int_equal(al_migchange_plan(&in, &c, &e), 0);
    assert_true(c.mode_switch);
    assert_int_equal(c.run_after, MON + 6 * D); /* Sunday 00:00-06:00 */
    unsigned n = al_migchange_ops(&c, ops);
    assert_int_equal(n, 5);
    assert_int_equal(ops[0].kind, AL_MIGOP_MIG_ON);
    assert_int_equal(ops[1].kind, AL_MIGOP_CREATE_GI);

    /* MIG off again: the instances go, then the mode. */
    struct al_migchange_rsv mig_holder = rsv("m1", "acme", MON, "7g.80gb@0");
    struct al_migchange_rsv dedicated = rsv("d2", "beta", MON + 7 * D, NULL);
    in = (struct al_migchange_input){"gpu-1", &all,        true, &none, false,  &dedicated,
                                     1,       &mig_holder, 1,    &w,    MON + H};
    assert_int_equal(al_migchange_plan(&in, &c, &e), 0);
    assert_true(c.mode_switch);
    n = al_migchange_ops(&c, ops);
    assert_int_equal(n, 3);
    assert_int_equal(ops[0].kind, AL_MIGOP_DESTROY_CI);
    assert_int_equal(ops[1].kind, AL_MIGOP_DESTROY_GI);
    assert_int_equal(ops[2].kind, AL_MIGOP_MIG_OFF);
}

static void expect_plan_inval_now(const struct al_migchange_input *in)
{
    struct al_migchange c;
    struct al_err e = {0};
    assert_int_equal(al_migchange_plan(in, &c, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "now: out of range"));
    assert_int_equal(c.nsteps, 0); /* emptied */
}

/* No window closes between now and the start: the change is planned late, into the next
 * window; the earliest served reservation decides. */
static void test_plan_late(void **state)
{
    (void)state;
    struct al_layout from = L("7g.80gb@0"), to = L("4g.40gb@0,3g.40gb@4");
    struct al_windows w = windows("daily 02:00-04:00");
    struct al_migchange_rsv serve = rsv("r9", "acme", MON + 5 * H + 1800, "3g.40gb@4");
    struct al_migchange_input in = {"gpu-1", &from, true, &to, true,       &serve,
                                    1,       NULL,  0,    &w,  MON + 5 * H};
    struct al_migchange c;
    struct al_err e = {0};
    assert_int_equal(al_migchange_plan(&in, &c, &e), 0);
    assert_true(c.late);
    assert_int_equal(c.run_after, MON + D + 2 * H); /* Tuesday 02:00-04:00 */
    assert_int_equal(c.run_before, MON + D + 4 * H);
    assert_int_equal(c.nsteps, 3);
    /* A later reservation alone fits a window before its start: not late. */
    struct al_migchange_rsv two[2] = {rsv("later", "a", MON + 3 * D, "4g.40gb@0"), serve};
    in.serves = two;
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_false(c.late);
    assert_int_equal(c.run_before, MON + 2 * D + 4 * H);
    in.nserves = 2; /* with r9 too, r9 decides */
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_true(c.late);
    assert_int_equal(c.run_after, MON + D + 2 * H);
    /* Planned inside an open window that closes after the start: the rest of that window. */
    in.nserves = 1;
    in.serves = &serve;
    in.now = MON + 2 * H + 600;
    serve.start = MON + 3 * H;
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_true(c.late);
    assert_int_equal(c.run_after, MON + 2 * H + 600);
    assert_int_equal(c.run_before, MON + 4 * H);
    /* The start is now (a reservation that began without its layout): the next window. */
    serve.start = in.now = MON + 5 * H;
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_true(c.late);
    assert_int_equal(c.run_after, MON + D + 2 * H);
    in.now = -1;
    expect_plan_inval_now(&in);
}

/* A node without windows may change at any time before the start; late, within a day. */
static void test_plan_no_windows(void **state)
{
    (void)state;
    struct al_layout from = L("none"), to = L("7g.80gb@0");
    struct al_windows none = {0};
    struct al_migchange_rsv serve = rsv("r1", "acme", MON + 3 * D, "7g.80gb@0");
    struct al_migchange_input in = {"gpu-1", &from, true, &to,   true,   &serve,
                                    1,       NULL,  0,    &none, MON + H};
    struct al_migchange c;
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_false(c.late);
    assert_int_equal(c.run_after, MON + H);
    assert_int_equal(c.run_before, MON + 3 * D);
    serve.start = MON + H; /* starts now */
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_true(c.late);
    assert_int_equal(c.run_after, MON + H);
    assert_int_equal(c.run_before, MON + H + AL_MIGCHANGE_LATE_S);
    serve.start = MON; /* began an hour ago */
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_true(c.late);
    assert_int_equal(c.run_before, MON + H + D);
}

static void expect_plan_inval(const struct al_migchange_input *in, const char *want)
{
    struct al_migchange c;
    struct al_err e = {0};
    assert_int_equal(al_migchange_plan(in, &c, &e), AL_E_INVAL);
    if (!strstr(e.msg, want))
        fail_msg("got '%s', want '%s'", e.msg, want);
}

static void test_plan_bad_input(void **state)
{
    (void)state;
    struct al_layout from = L("7g.80gb@0"), to = L("4g.40gb@0,3g.40gb@4");
    struct al_layout bad = L("4g.40gb@0,3g.40gb@0"), any = L("3g.40gb");
    struct al_windows w = windows("daily 02:00-04:00");
    struct al_migchange_rsv serve = rsv("r1", "acme", MON + 3 * D, "3g.40gb@4");
    struct al_migchange_rsv wrong = rsv("r2", "acme", MON + 3 * D, "1g.10gb@6");
    const struct al_migchange_input good = {"gpu-1", &from, true, &to, true,       &serve,
                                            1,       NULL,  0,    &w,  MON + 5 * H};
    struct al_migchange_input in = good;
    in.to = &bad;
    expect_plan_inval(&in, "to: ");
    in.to = &any;
    expect_plan_inval(&in, "to: ");
    in = good;
    in.to = &from;
    serve.p = P("7g.80gb@0");
    expect_plan_inval(&in, "nothing to change");
    serve.p = P("3g.40gb@4");
    in = good;
    in.serves = &wrong;
    expect_plan_inval(&in, "serves: reservation r2's instance 1g.10gb@6 is not in the layout");
    in = good;
    in.holders = &serve;
    in.nholders = 1;
    expect_plan_inval(&in, "holders: reservation r1's instance 3g.40gb@4");
    in = good;
    in.nserves = 0;
    expect_plan_inval(&in, "at least one reservation");
    in = good;
    in.gpu = "gpu 1";
    expect_plan_inval(&in, "gpu: bad character 0x20");
    in.gpu = "";
    expect_plan_inval(&in, "gpu: 1 to 63 characters");
    in = good;
    in.to_mig = false;
    expect_plan_inval(&in, "to: MIG off means no instance");
    struct al_layout a30 = {.model = al_catalog_find("A30-24GB")};
    in = good;
    in.from = &a30;
    expect_plan_inval(&in, "different models");
    struct al_migchange_rsv whole = rsv("r3", "acme", MON + 3 * D, NULL);
    in = good;
    in.serves = &whole;
    expect_plan_inval(&in, "holds the whole GPU, but MIG is on");
    in = good;
    in.windows = NULL;
    expect_plan_inval(&in, "no layouts or no windows");
    expect_plan_inval(NULL, "no layouts");
}

/* ---- the safety check ---------------------------------------------------------------------- */

static void test_check_all_pass(void **state)
{
    (void)state;
    static const char *const names[] = {"layout_valid",
                                        "mig_mode",
                                        "idle_for_mode_switch",
                                        "no_process_on_destroyed",
                                        "no_container_on_destroyed",
                                        "in_window",
                                        "acknowledged",
                                        "agent_online",
                                        "gpu_healthy",
                                        "current_matches_observed"};
    struct fix f;
    fix_init(&f);
    struct al_migcheck_report r = check(&f);
    assert_true(r.pass);
    assert_int_equal(r.nfailed, 0);
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++) {
        assert_int_equal(r.checks[i].id, i);
        assert_true(r.checks[i].pass);
        assert_string_equal(al_migcheck_name(r.checks[i].id), names[i]);
        assert_true(strlen(r.checks[i].found) > 10);
    }
    assert_string_equal(al_migcheck_name(AL_MIGCHECK_COUNT), "unknown");
    assert_non_null(strstr(r.checks[AL_MIGCHECK_LAYOUT_VALID].found,
                           "3g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6 is a valid layout for "
                           "H100-80GB; 3 steps, 2 instances kept"));
    assert_non_null(strstr(r.checks[AL_MIGCHECK_NO_PROCESS_ON_DESTROYED].found,
                           "no process on the 1 instance to be destroyed (2g.20gb@4)"));
    assert_non_null(strstr(r.checks[AL_MIGCHECK_ACKNOWLEDGED].found,
                           "acknowledged by every affected org: beta"));
    assert_non_null(strstr(r.checks[AL_MIGCHECK_IN_WINDOW].found,
                           "inside the change window 2026-12-10T02:00:00Z to "
                           "2026-12-10T04:00:00Z"));
    assert_non_null(strstr(r.checks[AL_MIGCHECK_CURRENT_MATCHES_OBSERVED].found,
                           "3g.40gb@0 (MIG-aaaa), 2g.20gb@4 (MIG-bbbb), 1g.10gb@6 (MIG-cccc)"));
    assert_int_equal(al_migchange_may_force(&r, false, NULL, NULL), 0);
}

/* One fault planted in the fixture, the one check it must fail, what that check must say. */
struct fault {
    void (*plant)(struct fix *f);
    enum al_migcheck_id fails;
    const char *found;
};

static void bad_layout(struct fix *f)
{
    f->c.to.p[f->c.to.n++] = P("2g.20gb@4"); /* overlaps 1g.10gb@4 */
}
static void stale_steps(struct fix *f)
{
    f->c.nsteps--;
}
static void pending_off(struct fix *f)
{
    f->obs.mig_pending = false;
}
static void mode_off(struct fix *f)
{
    f->obs.mig_current = f->obs.mig_pending = false;
}
static void process_on_destroyed(struct fix *f)
{
    f->obs.processes[f->obs.nprocesses++] = (struct al_mig_obs_process){4242, 2ULL << 30, 1};
}
static void container_on_destroyed(struct fix *f)
{
    struct al_mig_obs_container *k = &f->obs.containers[f->obs.ncontainers++];
    (void)snprintf(k->id, sizeof k->id, "c9");
    (void)snprintf(k->org, sizeof k->org, "gamma");
    k->instance = 1;
    add_ack(f, "gamma", true, true); /* acknowledged: only the container check fails */
}
static void too_early(struct fix *f)
{
    f->now = f->c.run_after - 1;
}
static void too_late(struct fix *f)
{
    f->now = f->c.run_before;
}
static void no_backup(struct fix *f)
{
    f->acks[0].data_backup = false;
}
static void no_ack(struct fix *f)
{
    f->nacks = 0;
}
static void offline(struct fix *f)
{
    f->obs.agent_online = false;
}
static void stale_heartbeat(struct fix *f)
{
    f->obs.heartbeat_age_s = AL_MIGCHANGE_HEARTBEAT_MAX_S + 1;
}
static void unhealthy(struct fix *f)
{
    f->obs.gpu_healthy = false;
}
static void other_layout(struct fix *f)
{
    f->obs.instances[2].p = P("1g.10gb@5");
    (void)snprintf(f->obs.instances[2].uuid, AL_MIGCHANGE_UUID_MAX, "MIG-dddd");
}
static void repeated_instance(struct fix *f)
{
    f->obs.instances[f->obs.ninstances++] = f->obs.instances[2];
}

static const struct fault faults[] = {
    {bad_layout, AL_MIGCHECK_LAYOUT_VALID, "2g.20gb@4 overlaps 1g.10gb@4"},
    {stale_steps, AL_MIGCHECK_LAYOUT_VALID, "steps are not those"},
    {pending_off, AL_MIGCHECK_MIG_MODE, "MIG mode is on with off pending"},
    {mode_off, AL_MIGCHECK_MIG_MODE, "MIG mode is off, but the change starts from MIG on"},
    {process_on_destroyed, AL_MIGCHECK_NO_PROCESS_ON_DESTROYED,
     "pid 4242 using 2048 MiB on 2g.20gb@4 (MIG-bbbb), org beta"},
    {container_on_destroyed, AL_MIGCHECK_NO_CONTAINER_ON_DESTROYED,
     "container c9 of org gamma on 2g.20gb@4 (MIG-bbbb)"},
    {too_early, AL_MIGCHECK_IN_WINDOW, "(2026-12-10T01:59:59Z) is before the change window"},
    {too_late, AL_MIGCHECK_IN_WINDOW, "(2026-12-10T04:00:00Z) is after the change window"},
    {no_backup, AL_MIGCHECK_ACKNOWLEDGED, "not acknowledged by org beta (data backup)"},
    {no_ack, AL_MIGCHECK_ACKNOWLEDGED, "not acknowledged by org beta (job shutdown, data backup)"},
    {offline, AL_MIGCHECK_AGENT_ONLINE, "the agent is offline"},
    {stale_heartbeat, AL_MIGCHECK_AGENT_ONLINE, "last heartbeat is 91 s old"},
    {unhealthy, AL_MIGCHECK_GPU_HEALTHY, "GPU gpu-7 unhealthy"},
    {other_layout, AL_MIGCHECK_CURRENT_MATCHES_OBSERVED,
     "on the GPU, not expected: 1g.10gb@5 (MIG-dddd); expected, not on the GPU: 1g.10gb@6"},
    {repeated_instance, AL_MIGCHECK_CURRENT_MATCHES_OBSERVED, "not expected: 1g.10gb@6 (MIG-cccc)"},
};

static void test_check_each_fails_alone(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        struct fix f;
        fix_init(&f);
        faults[i].plant(&f);
        struct al_migcheck_report r = check(&f);
        const struct al_migcheck *ck = &r.checks[faults[i].fails];
        for (unsigned k = 0; k < AL_MIGCHECK_COUNT; k++)
            if (k != faults[i].fails && !r.checks[k].pass)
                fail_msg("fault %zu: %s failed too: %s", i, al_migcheck_name(k), r.checks[k].found);
        assert_false(r.pass);
        assert_int_equal(r.nfailed, 1);
        assert_false(ck->pass);
        if (!strstr(ck->found, faults[i].found))
            fail_msg("fault %zu: %s found '%s', want '%s'", i, al_migcheck_name(ck->id), ck->found,
                     faults[i].found);
    }
}

static void test_check_several_fail(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f);
    process_on_destroyed(&f);
    no_ack(&f);
    offline(&f);
    unhealthy(&f);
    too_late(&f);
    struct al_migcheck_report r = check(&f);
    assert_false(r.pass);
    assert_int_equal(r.nfailed, 5);
    assert_false(r.checks[AL_MIGCHECK_NO_PROCESS_ON_DESTROYED].pass);
    assert_false(r.checks[AL_MIGCHECK_ACKNOWLEDGED].pass);
    assert_false(r.checks[AL_MIGCHECK_AGENT_ONLINE].pass);
    assert_false(r.checks[AL_MIGCHECK_GPU_HEALTHY].pass);
    assert_false(r.checks[AL_MIGCHECK_IN_WINDOW].pass);
    assert_true(r.checks[AL_MIGCHECK_CURRENT_MATCHES_OBSERVED].pass);
    struct al_err e = {0};
    assert_int_equal(al_migchange_may_force(&r, false, NULL, &e), AL_E_STATE);
    assert_non_null(strstr(e.msg, "no_process_on_destroyed, in_window, acknowledged, "
                                  "agent_online, gpu_healthy"));
    assert_int_equal(al_migchange_may_force(&r, true, "maintenance ticket 42", &e), 0);
    /* A busy GPU with many processes: the sentence is cut with "...", never overflows. */
    for (unsigned i = f.obs.nprocesses; i < AL_MIGCHANGE_PROC_MAX; i++)
        f.obs.processes[f.obs.nprocesses++] = (struct al_mig_obs_process){1000 + i, 1ULL << 20, 1};
    r = check(&f);
    const char *found = r.checks[AL_MIGCHECK_NO_PROCESS_ON_DESTROYED].found;
    assert_int_equal(strlen(found), AL_MIGCHECK_FOUND_MAX - 1);
    assert_string_equal(found + strlen(found) - 3, "...");
}

static void test_check_mode_switch(void **state)
{
    (void)state;
    struct al_layout none = L("none"), to = L("3g.40gb@0,3g.40gb@4");
    struct al_windows w = windows("daily 00:00-24:00");
    struct al_migchange_rsv serve = rsv("r1", "acme", MON + 2 * D, "3g.40gb@4");
    struct al_migchange_rsv whole = rsv("d1", "beta", MON, NULL);
    struct al_migchange_input in = {"gpu-1", &none,  false, &to, true, &serve,
                                    1,       &whole, 1,     &w,  MON};
    struct fix f;
    memset(&f, 0, sizeof f);
    assert_int_equal(al_migchange_plan(&in, &f.c, NULL), 0);
    f.obs.agent_online = f.obs.gpu_healthy = true;
    f.now = f.c.run_after;
    add_ack(&f, "beta", true, true); /* the whole GPU's holder is affected by a mode switch */
    struct al_migcheck_report r = check(&f);
    assert_true(r.pass);
    assert_non_null(strstr(r.checks[AL_MIGCHECK_IDLE_FOR_MODE_SWITCH].found,
                           "MIG mode switches on: the GPU is idle"));
    assert_non_null(strstr(r.checks[AL_MIGCHECK_MIG_MODE].found, "it turns MIG on"));
    f.obs.processes[f.obs.nprocesses++] = (struct al_mig_obs_process){77, 3ULL << 30, -1};
    r = check(&f);
    assert_int_equal(r.nfailed, 1);
    assert_non_null(strstr(r.checks[AL_MIGCHECK_IDLE_FOR_MODE_SWITCH].found,
                           "in use by pid 77 using 3072 MiB on the whole GPU, org beta"));
    f.nacks = 0;
    r = check(&f);
    assert_int_equal(r.nfailed, 2);
    assert_non_null(strstr(r.checks[AL_MIGCHECK_ACKNOWLEDGED].found, "org beta"));
}

static void test_check_malformed(void **state)
{
    (void)state;
    struct fix f;
    struct al_migcheck_report r;
    struct al_err e = {0};
    fix_init(&f);
    f.obs.ninstances = AL_LAYOUT_MAX + 1;
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "observed: at most 16 instances"));
    fix_init(&f);
    f.obs.processes[0].instance = 3;
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "observed process 0: no instance 3"));
    fix_init(&f);
    f.obs.instances[1].p.profile = 99;
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "observed instance 1: profile 99"));
    fix_init(&f);
    f.obs.instances[0].p.start = 6; /* 3g.40gb is 4 units: ends past the GPU */
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    fix_init(&f);
    memset(f.obs.containers[0].org, 'x', sizeof f.obs.containers[0].org); /* no NUL */
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "observed container 0"));
    fix_init(&f);
    f.acks[0].org[0] = '\0';
    assert_int_equal(al_migchange_check(&f.c, &f.obs, f.acks, f.nacks, f.now, &r, &e), AL_E_INVAL);
    assert_int_equal(al_migchange_check(&f.c, &f.obs, NULL, 1, f.now, &r, &e), AL_E_INVAL);
    assert_int_equal(al_migchange_check(NULL, &f.obs, NULL, 0, f.now, &r, &e), AL_E_INVAL);
}

static void test_force_rules(void **state)
{
    (void)state;
    struct fix f;
    struct al_err e = {0};
    fix_init(&f);
    too_early(&f);
    struct al_migcheck_report r = check(&f);
    assert_int_equal(al_migchange_may_force(&r, false, "why", &e), AL_E_STATE);
    assert_non_null(strstr(e.msg, "checks fail: in_window"));
    assert_int_equal(al_migchange_may_force(&r, true, NULL, &e), AL_E_INVAL);
    assert_int_equal(al_migchange_may_force(&r, true, "", &e), AL_E_INVAL);
    assert_int_equal(al_migchange_may_force(&r, true, "   ", &e), AL_E_INVAL);
    assert_int_equal(al_migchange_may_force(&r, true, "line\nbreak", &e), AL_E_INVAL);
    char longer[AL_MIGCHANGE_REASON_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(al_migchange_may_force(&r, true, longer, &e), AL_E_INVAL);
    assert_non_null(strstr(e.msg, "reason: 1 to 500"));
    longer[AL_MIGCHANGE_REASON_MAX] = '\0';
    assert_int_equal(al_migchange_may_force(&r, true, longer, &e), 0);
    assert_int_equal(al_migchange_may_force(&r, true, "urgent: customer asked", &e), 0);

    /* Never forced: a layout not valid, or a GPU that is not what the change starts from. */
    static void (*const never[])(struct fix *) = {bad_layout, stale_steps, other_layout};
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        fix_init(&f);
        never[i](&f);
        too_early(&f); /* with a forcible one beside it */
        r = check(&f);
        assert_int_equal(r.nfailed, 2);
        assert_int_equal(al_migchange_may_force(&r, true, "I know", &e), AL_E_FORBIDDEN);
        assert_non_null(strstr(e.msg, "cannot be forced"));
        assert_non_null(strstr(e.msg, i < 2 ? "layout_valid" : "current_matches_observed"));
        assert_int_equal(al_migchange_may_force(&r, false, NULL, &e), AL_E_FORBIDDEN);
    }
    assert_int_equal(al_migchange_may_force(NULL, true, "x", &e), AL_E_INVAL);
}

/* ---- operations, NVML's rules, rollback ---------------------------------------------------- */

static void test_gpu_rules(void **state)
{
    (void)state;
    struct fix f;
    struct al_mig_gpu g;
    struct al_err e = {0};
    fix_init(&f);
    al_migchange_start(&f.c, &g);
    assert_true(al_mig_gpu_is(&g, &f.from, true));
    assert_false(al_mig_gpu_is(&g, &f.to, true));
    assert_false(al_mig_gpu_is(&g, &f.from, false));
    struct al_placement two = P("2g.20gb@4");
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_DESTROY_GI, two}, &e),
                     AL_E_STATE);
    assert_string_equal(e.msg, "destroy_gi 2g.20gb@4: in use: its compute instance is still "
                               "there");
    assert_int_equal(
        al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_CREATE_GI, P("1g.10gb@5")}, &e),
        AL_E_STATE);
    assert_non_null(strstr(e.msg, "layout rules refuse it"));
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_CREATE_CI, two}, &e),
                     AL_E_STATE);
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){.kind = AL_MIGOP_MIG_OFF}, &e),
                     AL_E_STATE);
    assert_non_null(strstr(e.msg, "GPU instances exist"));
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){.kind = AL_MIGOP_MIG_ON}, &e),
                     AL_E_STATE);
    assert_int_equal(
        al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_DESTROY_CI, P("1g.10gb@5")}, &e),
        AL_E_STATE);
    assert_non_null(strstr(e.msg, "no such GPU instance"));
    assert_true(al_mig_gpu_is(&g, &f.from, true)); /* refusals change nothing */
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_DESTROY_CI, two}, &e), 0);
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_DESTROY_CI, two}, &e),
                     AL_E_STATE);
    assert_int_equal(al_mig_gpu_apply(&g, (struct al_migop){AL_MIGOP_DESTROY_GI, two}, &e), 0);
    assert_int_equal(g.gi.n, 2);
}

/* Apply every operation of c, and for a failure at each index k, the rollback of the first k:
 * each gives back `from` exactly. Returns the number of operations. */
static unsigned apply_and_roll_back(const struct al_migchange *c)
{
    struct al_migop ops[AL_MIGOP_MAX], back[AL_MIGOP_MAX];
    struct al_mig_gpu g;
    struct al_err e = {0};
    unsigned n = al_migchange_ops(c, ops);
    al_migchange_start(c, &g);
    for (unsigned i = 0; i < n; i++)
        if (al_mig_gpu_apply(&g, ops[i], &e) != 0)
            fail_msg("op %u: %s", i, e.msg);
    assert_true(al_mig_gpu_is(&g, &c->to, c->to_mig));
    for (unsigned k = 0; k <= n; k++) {
        al_migchange_start(c, &g);
        for (unsigned i = 0; i < k; i++)
            assert_int_equal(al_mig_gpu_apply(&g, ops[i], &e), 0);
        int nb = al_migchange_rollback(ops, k, back, &e);
        assert_int_equal(nb, (int)k);
        for (int i = 0; i < nb; i++)
            if (al_mig_gpu_apply(&g, back[i], &e) != 0)
                fail_msg("rollback after %u ops, op %d: %s", k, i, e.msg);
        assert_true(al_mig_gpu_is(&g, &c->from, c->from_mig));
        assert_int_equal(al_layout_validate(&g.gi, NULL), 0);
    }
    return n;
}

static void test_rollback_each_step(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f);
    assert_int_equal(apply_and_roll_back(&f.c), 6);
    struct al_migop ops[AL_MIGOP_MAX], back[AL_MIGOP_MAX];
    unsigned n = al_migchange_ops(&f.c, ops);
    /* Failed at CREATE_CI of 1g@4 (index 3): undo CREATE_GI 1g@4, then recreate 2g@4 whole. */
    assert_int_equal(al_migchange_rollback(ops, 3, back, NULL), 3);
    assert_int_equal(back[0].kind, AL_MIGOP_DESTROY_GI);
    assert_int_equal(back[1].kind, AL_MIGOP_CREATE_GI);
    assert_int_equal(back[2].kind, AL_MIGOP_CREATE_CI);
    assert_int_equal(back[1].p.start, 4);
    assert_int_equal(al_migchange_rollback(ops, AL_MIGOP_MAX + 1, back, NULL), AL_E_INVAL);
    (void)n;

    /* Mode switches both ways. */
    struct al_layout none = L("none"), to = L("2g.20gb@0,2g.20gb@2,3g.40gb@4");
    struct al_windows w = windows("daily 00:00-24:00");
    struct al_migchange_rsv serve = rsv("r1", "acme", MON + 2 * D, "3g.40gb@4");
    struct al_migchange_rsv dedicated = rsv("d1", "beta", MON + 2 * D, NULL);
    struct al_migchange c;
    struct al_migchange_input in = {"g", &none, false, &to, true, &serve, 1, NULL, 0, &w, MON};
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_int_equal(apply_and_roll_back(&c), 7);
    in = (struct al_migchange_input){"g", &to, true, &none, false, &dedicated, 1, NULL, 0, &w, MON};
    assert_int_equal(al_migchange_plan(&in, &c, NULL), 0);
    assert_int_equal(apply_and_roll_back(&c), 7);
}

/* Every valid H100 layout, and the empty one. */
static struct al_layout all[2400];
static unsigned nall;

static int collect(const struct al_layout *l, void *ctx)
{
    (void)ctx;
    assert_true(nall < sizeof all / sizeof all[0]);
    all[nall++] = *l;
    return 0;
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_random_h100_layouts(void **state)
{
    (void)state;
    nall = 0;
    all[nall++] = L("none");
    assert_int_equal(al_layout_enumerate(h100(), 0, false, collect, NULL), 2318);
    struct al_windows w = windows("daily 00:00-24:00");
    unsigned planned = 0;
    for (int round = 0; round < 3000; round++) {
        const struct al_layout *from = &all[rnd(nall)], *to = &all[1 + rnd(nall - 1)];
        struct al_migchange_rsv serve = rsv("r", "o", MON + D, NULL);
        serve.whole = false;
        serve.p = to->p[rnd(to->n)];
        struct al_migchange_input in = {"g", from, true, to, true, &serve, 1, NULL, 0, &w, MON};
        struct al_migchange c;
        struct al_err e = {0};
        int rc = al_migchange_plan(&in, &c, &e);
        if (from == to) {
            assert_int_equal(rc, AL_E_INVAL);
            continue;
        }
        if (rc != 0)
            fail_msg("plan: %s", e.msg);
        planned++;
        /* Instances in both are never touched by an operation. */
        struct al_migop ops[AL_MIGOP_MAX];
        unsigned n = al_migchange_ops(&c, ops);
        for (unsigned i = 0; i < n; i++)
            for (unsigned k = 0; k < from->n; k++)
                if (ops[i].p.profile == from->p[k].profile && ops[i].p.start == from->p[k].start)
                    assert_true(al_migchange_destroys(&c, ops[i].p));
        apply_and_roll_back(&c);
    }
    assert_true(planned > 2900);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_keeps_untouched),
        cmocka_unit_test(test_plan_mode_switch),
        cmocka_unit_test(test_plan_late),
        cmocka_unit_test(test_plan_no_windows),
        cmocka_unit_test(test_plan_bad_input),
        cmocka_unit_test(test_check_all_pass),
        cmocka_unit_test(test_check_each_fails_alone),
        cmocka_unit_test(test_check_several_fail),
        cmocka_unit_test(test_check_mode_switch),
        cmocka_unit_test(test_check_malformed),
        cmocka_unit_test(test_force_rules),
        cmocka_unit_test(test_gpu_rules),
        cmocka_unit_test(test_rollback_each_step),
        cmocka_unit_test(test_random_h100_layouts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
