/* migchange.c — a MIG change's plan, the operations the agent applies for it, their rollback,
 * and the GPU state those operations act on under NVML's rules (see migchange.h; the safety
 * check is migchange_check.c). */
#include "core/migchange.h"

#include "core/layout_internal.h"
#include "core/timefmt.h"

#include <stdio.h>
#include <string.h>

/* ---- plan ---------------------------------------------------------------------------------- */

static bool layout_has(const struct al_layout *l, struct al_placement p)
{
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++)
        if (l->p[i].profile == p.profile && l->p[i].start == p.start)
            return true;
    return false;
}

bool al_migchange_destroys(const struct al_migchange *c, struct al_placement p)
{
    return c && layout_has(&c->from, p) && !layout_has(&c->to, p);
}

/* An id: 1 to AL_MIGCHANGE_ID_MAX-1 printable ASCII characters without spaces. */
static int check_id(const char *what, const char *id, struct al_err *reterr)
{
    size_t n = id ? strnlen(id, AL_MIGCHANGE_ID_MAX) : 0;
    if (n == 0 || n == AL_MIGCHANGE_ID_MAX)
        return al_err_set(reterr, AL_E_INVAL, "%s: 1 to %d characters required", what,
                          AL_MIGCHANGE_ID_MAX - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "%s: bad character 0x%02x", what,
                              (unsigned)(unsigned char)id[i]);
    return 0;
}

/* The reservations of one side: valid ids, and each one's instance in that side's layout (or the
 * whole GPU when that side has MIG off). */
static int check_rsvs(const char *side, const struct al_migchange_rsv *r, unsigned n,
                      const struct al_layout *l, bool mig, struct al_err *reterr)
{
    char inst[INST_TEXT_MAX];
    if (n > AL_MIGCHANGE_RSV_MAX || (n && !r))
        return al_err_set(reterr, AL_E_INVAL, "%s: at most %d reservations", side,
                          AL_MIGCHANGE_RSV_MAX);
    for (unsigned i = 0; i < n; i++) {
        int rc = check_id(side, r[i].id, reterr);
        if (rc == 0)
            rc = check_id(side, r[i].org, reterr);
        if (rc < 0)
            return rc;
        if (r[i].whole == mig)
            return al_err_set(reterr, AL_E_INVAL,
                              "%s: reservation %s %s the whole GPU, but MIG "
                              "is %s there",
                              side, r[i].id, r[i].whole ? "holds" : "does not hold",
                              mig ? "on" : "off");
        if (!r[i].whole && !layout_has(l, r[i].p)) {
            inst_text(l->model, r[i].p, inst, sizeof inst);
            return al_err_set(reterr, AL_E_INVAL,
                              "%s: reservation %s's instance %s is not in "
                              "the layout",
                              side, r[i].id, inst);
        }
    }
    return 0;
}

/* The layouts: one model, MIG where either side wants it, both valid, empty where MIG is off. */
static int check_layouts(const struct al_migchange_input *in, struct al_err *reterr)
{
    struct al_err e;
    if (in->from->model != in->to->model || !in->from->model)
        return al_err_set(reterr, AL_E_INVAL, "from and to: layouts of different models");
    if ((in->from_mig || in->to_mig) && !model_has_mig(in->from->model))
        return al_err_set(reterr, AL_E_INVAL, "%s has no MIG", in->from->model->name);
    if ((!in->from_mig && in->from->n) || (!in->to_mig && in->to->n))
        return al_err_set(reterr, AL_E_INVAL, "%s: MIG off means no instance",
                          !in->from_mig && in->from->n ? "from" : "to");
    if (al_layout_validate(in->from, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "from: %s", e.msg);
    if (al_layout_validate(in->to, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "to: %s", e.msg);
    return 0;
}

static int check_input(const struct al_migchange_input *in, struct al_err *reterr)
{
    if (!in || !in->from || !in->to || !in->windows)
        return al_err_set(reterr, AL_E_INVAL, "no layouts or no windows");
    int rc = check_id("gpu", in->gpu, reterr);
    if (rc == 0)
        rc = check_layouts(in, reterr);
    if (rc == 0 && in->nserves == 0)
        rc = al_err_set(reterr, AL_E_INVAL, "serves: a change serves at least one reservation");
    if (rc == 0)
        rc = check_rsvs("serves", in->serves, in->nserves, in->to, in->to_mig, reterr);
    if (rc == 0)
        rc = check_rsvs("holders", in->holders, in->nholders, in->from, in->from_mig, reterr);
    return rc;
}

/* The window: the latest one closing before the earliest served reservation starts; else,
 * late, the next one open at or after now; with no windows at all, from now to that start (or,
 * late, a day from now). */
static int choose_window(const struct al_migchange_input *in, struct al_migchange *c,
                         struct al_err *reterr)
{
    const struct al_migchange_rsv *first = &in->serves[0];
    char now[AL_TIME_TEXT_MAX];
    for (unsigned i = 1; i < in->nserves; i++)
        if (in->serves[i].start < first->start)
            first = &in->serves[i];
    if (in->now < 0 || in->now > AL_WINDOW_T_MAX - AL_MIGCHANGE_LATE_S)
        return al_err_set(reterr, AL_E_INVAL, "now: out of range");
    if (in->windows->n == 0) {
        c->late = first->start <= in->now;
        c->run_after = in->now;
        c->run_before = c->late ? in->now + AL_MIGCHANGE_LATE_S : first->start;
        return 0;
    }
    if (al_window_before(in->windows, in->now, first->start, &c->run_after, &c->run_before) == 0)
        return 0;
    c->late = true;
    if (al_window_next(in->windows, in->now, &c->run_after, &c->run_before) != 0)
        return al_err_set(reterr, AL_E_INVAL, "windows: none opens after now (%s)",
                          al_timefmt(in->now, now, sizeof now));
    if (c->run_after < in->now)
        c->run_after = in->now;
    return 0;
}

int al_migchange_plan(const struct al_migchange_input *in, struct al_migchange *ret,
                      struct al_err *reterr)
{
    int rc = 0;
    if (!ret)
        return al_err_set(reterr, AL_E_INVAL, "no change to fill");
    memset(ret, 0, sizeof *ret);
    rc = check_input(in, reterr);
    if (rc < 0)
        goto out;
    (void)snprintf(ret->gpu, sizeof ret->gpu, "%s", in->gpu); /* checked to fit */
    ret->from = *in->from;
    ret->to = *in->to;
    al_layout_sort(&ret->from);
    al_layout_sort(&ret->to);
    ret->from_mig = in->from_mig;
    ret->to_mig = in->to_mig;
    ret->mode_switch = in->from_mig != in->to_mig;
    rc = al_layout_diff(&ret->from, &ret->to, ret->steps, reterr);
    if (rc < 0)
        goto out;
    ret->nsteps = (unsigned)rc;
    if (ret->nsteps == 0 && !ret->mode_switch) {
        rc = al_err_set(reterr, AL_E_INVAL, "nothing to change: the GPU has that layout");
        goto out;
    }
    ret->nserves = in->nserves;
    memcpy(ret->serves, in->serves, in->nserves * sizeof *in->serves);
    ret->nholders = in->nholders;
    if (in->nholders)
        memcpy(ret->holders, in->holders, in->nholders * sizeof *in->holders);
    rc = choose_window(in, ret, reterr);
out:
    if (rc < 0)
        memset(ret, 0, sizeof *ret);
    return rc < 0 ? rc : 0;
}

/* ---- operations and rollback --------------------------------------------------------------- */

static const char *const op_names[] = {
    [AL_MIGOP_MIG_ON] = "mig_on",         [AL_MIGOP_DESTROY_CI] = "destroy_ci",
    [AL_MIGOP_DESTROY_GI] = "destroy_gi", [AL_MIGOP_CREATE_GI] = "create_gi",
    [AL_MIGOP_CREATE_CI] = "create_ci",   [AL_MIGOP_MIG_OFF] = "mig_off",
};

const char *al_migop_name(enum al_migop_kind k)
{
    return (unsigned)k < sizeof op_names / sizeof op_names[0] ? op_names[k] : "unknown";
}

unsigned al_migchange_ops(const struct al_migchange *c, struct al_migop ops[AL_MIGOP_MAX])
{
    unsigned n = 0;
    if (c->mode_switch && c->to_mig)
        ops[n++] = (struct al_migop){.kind = AL_MIGOP_MIG_ON};
    for (unsigned i = 0; i < c->nsteps && i < AL_DIFF_MAX; i++) {
        struct al_placement p = c->steps[i].p;
        bool create = c->steps[i].op == AL_STEP_CREATE;
        ops[n++] = (struct al_migop){create ? AL_MIGOP_CREATE_GI : AL_MIGOP_DESTROY_CI, p};
        ops[n++] = (struct al_migop){create ? AL_MIGOP_CREATE_CI : AL_MIGOP_DESTROY_GI, p};
    }
    if (c->mode_switch && !c->to_mig)
        ops[n++] = (struct al_migop){.kind = AL_MIGOP_MIG_OFF};
    return n;
}

static enum al_migop_kind inverse(enum al_migop_kind k)
{
    switch (k) {
    case AL_MIGOP_MIG_ON:
        return AL_MIGOP_MIG_OFF;
    case AL_MIGOP_MIG_OFF:
        return AL_MIGOP_MIG_ON;
    case AL_MIGOP_DESTROY_CI:
        return AL_MIGOP_CREATE_CI;
    case AL_MIGOP_CREATE_CI:
        return AL_MIGOP_DESTROY_CI;
    case AL_MIGOP_DESTROY_GI:
        return AL_MIGOP_CREATE_GI;
    case AL_MIGOP_CREATE_GI:
        return AL_MIGOP_DESTROY_GI;
    }
    return k;
}

int al_migchange_rollback(const struct al_migop *done, unsigned ndone,
                          struct al_migop ret[AL_MIGOP_MAX], struct al_err *reterr)
{
    if (ndone > AL_MIGOP_MAX || (ndone && (!done || !ret)))
        return al_err_set(reterr, AL_E_INVAL, "done: at most %d operations", AL_MIGOP_MAX);
    for (unsigned i = 0; i < ndone; i++)
        ret[i] = (struct al_migop){inverse(done[ndone - 1 - i].kind), done[ndone - 1 - i].p};
    return (int)ndone;
}

/* ---- the GPU state under NVML's rules ------------------------------------------------------ */

void al_migchange_start(const struct al_migchange *c, struct al_mig_gpu *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->mig = c->from_mig;
    ret->gi = c->from;
    for (unsigned i = 0; i < ret->gi.n && i < AL_LAYOUT_MAX; i++)
        ret->ci[i] = true;
}

static int find_gi(const struct al_mig_gpu *g, struct al_placement p)
{
    for (unsigned i = 0; i < g->gi.n && i < AL_LAYOUT_MAX; i++)
        if (g->gi.p[i].profile == p.profile && g->gi.p[i].start == p.start)
            return (int)i;
    return -1;
}

static int refuse(struct al_migop op, const struct al_gpu_model *m, const char *why,
                  struct al_err *reterr)
{
    char inst[INST_TEXT_MAX] = "";
    if (op.kind != AL_MIGOP_MIG_ON && op.kind != AL_MIGOP_MIG_OFF)
        inst_text(m, op.p, inst, sizeof inst);
    return al_err_set(reterr, AL_E_STATE, "%s%s%s: %s", al_migop_name(op.kind), *inst ? " " : "",
                      inst, why);
}

/* The operations on one GPU instance (i: its index, -1 when absent). */
static int apply_instance(struct al_mig_gpu *g, struct al_migop op, int i, struct al_err *reterr)
{
    const struct al_gpu_model *m = g->gi.model;
    switch (op.kind) {
    case AL_MIGOP_CREATE_GI:
        if (!g->mig)
            return refuse(op, m, "MIG mode is off", reterr);
        if (i >= 0)
            return refuse(op, m, "the GPU instance exists already", reterr);
        if (op.p.start == AL_START_ANY || !al_layout_can_add(&g->gi, op.p))
            return refuse(op, m, "the layout rules refuse it beside the instances there", reterr);
        g->ci[g->gi.n] = false;
        g->gi.p[g->gi.n++] = op.p;
        return 0;
    case AL_MIGOP_CREATE_CI:
    case AL_MIGOP_DESTROY_CI:
        if (i < 0)
            return refuse(op, m, "no such GPU instance", reterr);
        if (g->ci[i] == (op.kind == AL_MIGOP_CREATE_CI))
            return refuse(op, m,
                          g->ci[i] ? "it has its compute instance already"
                                   : "it has no compute instance",
                          reterr);
        g->ci[i] = op.kind == AL_MIGOP_CREATE_CI;
        return 0;
    case AL_MIGOP_DESTROY_GI:
        if (i < 0)
            return refuse(op, m, "no such GPU instance", reterr);
        if (g->ci[i])
            return refuse(op, m, "in use: its compute instance is still there", reterr);
        g->gi.n--;
        g->gi.p[i] = g->gi.p[g->gi.n];
        g->ci[i] = g->ci[g->gi.n];
        return 0;
    default:
        return refuse(op, m, "not an instance operation", reterr);
    }
}

int al_mig_gpu_apply(struct al_mig_gpu *g, struct al_migop op, struct al_err *reterr)
{
    if (!g)
        return al_err_set(reterr, AL_E_INVAL, "no GPU state");
    if (op.kind == AL_MIGOP_MIG_ON || op.kind == AL_MIGOP_MIG_OFF) {
        bool on = op.kind == AL_MIGOP_MIG_ON;
        if (g->mig == on)
            return refuse(op, g->gi.model, on ? "MIG mode is on already" : "MIG mode is off",
                          reterr);
        if (g->gi.n)
            return refuse(op, g->gi.model, "GPU instances exist", reterr);
        g->mig = on;
        return 0;
    }
    if ((unsigned)op.kind > AL_MIGOP_MIG_OFF)
        return al_err_set(reterr, AL_E_INVAL, "unknown operation %d", (int)op.kind);
    return apply_instance(g, op, find_gi(g, op.p), reterr);
}

bool al_mig_gpu_is(const struct al_mig_gpu *g, const struct al_layout *l, bool mig)
{
    if (!g || !l || g->mig != mig || g->gi.n != l->n)
        return false;
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++) {
        int k = find_gi(g, l->p[i]);
        if (k < 0 || !g->ci[k])
            return false;
    }
    return true;
}
