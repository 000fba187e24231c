/* migchange_check.c — the safety check of a MIG change and the rule for forcing it (see
 * migchange.h). Every check is computed, in a fixed order, and each says in one sentence what it
 * found: the instances by profile, start and UUID, the processes by pid and memory, the
 * containers and reservations with their orgs, the window's times. */
#include "core/migchange.h"

#include "core/layout_internal.h"
#include "core/timefmt.h"

#include <string.h>

static const char *const check_names[AL_MIGCHECK_COUNT] = {
    [AL_MIGCHECK_LAYOUT_VALID] = "layout_valid",
    [AL_MIGCHECK_MIG_MODE] = "mig_mode",
    [AL_MIGCHECK_IDLE_FOR_MODE_SWITCH] = "idle_for_mode_switch",
    [AL_MIGCHECK_NO_PROCESS_ON_DESTROYED] = "no_process_on_destroyed",
    [AL_MIGCHECK_NO_CONTAINER_ON_DESTROYED] = "no_container_on_destroyed",
    [AL_MIGCHECK_IN_WINDOW] = "in_window",
    [AL_MIGCHECK_ACKNOWLEDGED] = "acknowledged",
    [AL_MIGCHECK_AGENT_ONLINE] = "agent_online",
    [AL_MIGCHECK_GPU_HEALTHY] = "gpu_healthy",
    [AL_MIGCHECK_CURRENT_MATCHES_OBSERVED] = "current_matches_observed",
};

const char *al_migcheck_name(enum al_migcheck_id id)
{
    return (unsigned)id < AL_MIGCHECK_COUNT ? check_names[id] : "unknown";
}

/* What every check reads. */
struct ctx {
    const struct al_migchange *c;
    const struct al_gpu_model *m;
    const struct al_mig_observed *o;
    const struct al_migchange_ack *acks;
    unsigned nacks;
    int64_t now;
};

/* ---- the sentences ------------------------------------------------------------------------- */

/* End a check: its verdict, and "..." over the end of a sentence that did not fit. */
static void finish(struct al_migcheck *ck, const struct al_sbuf *b, bool pass)
{
    ck->pass = pass;
    if (b->len >= sizeof ck->found)
        memcpy(ck->found + sizeof ck->found - 4, "...", 4);
}

/* "3g.40gb@0 (MIG-…)" for observed instance i, or "the whole GPU" for -1. */
static void obs_inst(const struct ctx *x, struct al_sbuf *b, int i)
{
    char inst[INST_TEXT_MAX];
    if (i < 0) {
        al_sbuf_printf(b, "the whole GPU");
        return;
    }
    inst_text(x->m, x->o->instances[i].p, inst, sizeof inst);
    al_sbuf_printf(b, "%s (%s)", inst,
                   x->o->instances[i].uuid[0] ? x->o->instances[i].uuid : "no UUID");
}

/* The org whose work is on observed instance i: the reservation holding it, else a container
 * on it. NULL when none is known. */
static const char *org_on(const struct ctx *x, int i)
{
    for (unsigned k = 0; k < x->c->nholders; k++) {
        const struct al_migchange_rsv *h = &x->c->holders[k];
        if (i < 0 ? h->whole
                  : !h->whole && h->p.profile == x->o->instances[i].p.profile &&
                        h->p.start == x->o->instances[i].p.start)
            return h->org;
    }
    for (unsigned k = 0; k < x->o->ncontainers; k++)
        if (x->o->containers[k].instance == i)
            return x->o->containers[k].org;
    return NULL;
}

static void process_text(const struct ctx *x, struct al_sbuf *b, const struct al_mig_obs_process *p)
{
    const char *org = org_on(x, p->instance);
    al_sbuf_printf(b, "pid %u using %llu MiB on ", (unsigned)p->pid,
                   (unsigned long long)(p->used_bytes >> 20));
    obs_inst(x, b, p->instance);
    al_sbuf_printf(b, org ? ", org %s" : ", no org known", org);
}

static void container_text(const struct ctx *x, struct al_sbuf *b,
                           const struct al_mig_obs_container *k)
{
    al_sbuf_printf(b, "container %s of org %s on ", k->id, k->org);
    obs_inst(x, b, k->instance);
}

static bool obs_destroyed(const struct ctx *x, int i)
{
    return i >= 0 && al_migchange_destroys(x->c, x->o->instances[i].p);
}

static unsigned count_destroys(const struct al_migchange *c)
{
    unsigned n = 0;
    for (unsigned i = 0; i < c->nsteps && i < AL_DIFF_MAX; i++)
        n += c->steps[i].op == AL_STEP_DESTROY;
    return n;
}

/* ---- the checks ---------------------------------------------------------------------------- */

/* Whether the n steps of a and b are the same, field by field: memcmp would also compare the
 * structs' padding, which holds whatever the stack held (a plan then failed the check at
 * random). */
static bool steps_equal(const struct al_mig_step *a, const struct al_mig_step *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (a[i].op != b[i].op || a[i].p.profile != b[i].p.profile || a[i].p.start != b[i].p.start)
            return false;
    return true;
}

static void check_layout(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    struct al_err e = {0};
    struct al_mig_step steps[AL_DIFF_MAX];
    char text[AL_LAYOUT_MAX * INST_TEXT_MAX];
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    (void)al_layout_format(&x->c->to, text, sizeof text);
    bool ok = al_layout_validate(&x->c->to, &e) == 0;
    if (!ok)
        al_sbuf_printf(&b, "%s is not a valid layout for %s: %s", text, x->m->name, e.msg);
    else if (x->c->to.n && !x->c->to_mig)
        al_sbuf_printf(&b, "%s has instances with MIG off", text);
    if (!ok || (x->c->to.n && !x->c->to_mig)) {
        finish(ck, &b, false);
        return;
    }
    /* The steps must be the diff of from and to: a stored plan edited or gone stale is not
     * applied. */
    int n = al_layout_diff(&x->c->from, &x->c->to, steps, &e);
    ok = n >= 0 && (unsigned)n == x->c->nsteps && steps_equal(steps, x->c->steps, (unsigned)n);
    if (!ok)
        al_sbuf_printf(&b, "the change's steps are not those from its current layout to %s%s%s",
                       text, n < 0 ? ": " : "", n < 0 ? e.msg : "");
    else
        al_sbuf_printf(&b, "%s is a valid layout for %s; %u steps, %u instances kept", text,
                       x->m->name, x->c->nsteps, x->c->from.n - count_destroys(x->c));
    finish(ck, &b, ok);
}

static const char *on_off(bool on)
{
    return on ? "on" : "off";
}

static void check_mode(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    bool ok = x->o->mig_current == x->c->from_mig && x->o->mig_pending == x->o->mig_current;
    al_sbuf_printf(&b, "MIG mode is %s", on_off(x->o->mig_current));
    if (x->o->mig_pending != x->o->mig_current)
        al_sbuf_printf(&b, " with %s pending (at the next GPU reset)", on_off(x->o->mig_pending));
    if (x->o->mig_current != x->c->from_mig)
        al_sbuf_printf(&b, ", but the change starts from MIG %s", on_off(x->c->from_mig));
    else if (ok)
        al_sbuf_printf(&b, ", as the change expects");
    if (ok && x->c->mode_switch)
        al_sbuf_printf(&b, "; it turns MIG %s", on_off(x->c->to_mig));
    finish(ck, &b, ok);
}

static void check_idle(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    if (!x->c->mode_switch) {
        al_sbuf_printf(&b, "no MIG mode switch: the GPU need not be idle");
        finish(ck, &b, true);
        return;
    }
    bool busy = x->o->nprocesses || x->o->ncontainers;
    al_sbuf_printf(&b, "MIG mode switches %s: the GPU is %s", x->c->to_mig ? "on" : "off",
                   busy ? "in use by " : "idle (no process, no container)");
    const char *sep = "";
    for (unsigned i = 0; i < x->o->nprocesses; i++, sep = "; ") {
        al_sbuf_printf(&b, "%s", sep);
        process_text(x, &b, &x->o->processes[i]);
    }
    for (unsigned i = 0; i < x->o->ncontainers; i++, sep = "; ") {
        al_sbuf_printf(&b, "%s", sep);
        container_text(x, &b, &x->o->containers[i]);
    }
    finish(ck, &b, !busy);
}

/* "the change destroys no instance" or "… on the N instances to be destroyed (a, b)". */
static void destroyed_text(const struct ctx *x, struct al_sbuf *b, const char *what)
{
    char inst[INST_TEXT_MAX];
    unsigned n = count_destroys(x->c);
    if (n == 0) {
        al_sbuf_printf(b, "the change destroys no instance");
        return;
    }
    al_sbuf_printf(b, "no %s on the %u instance%s to be destroyed (", what, n, n > 1 ? "s" : "");
    for (unsigned i = 0, k = 0; i < x->c->nsteps; i++)
        if (x->c->steps[i].op == AL_STEP_DESTROY) {
            inst_text(x->m, x->c->steps[i].p, inst, sizeof inst);
            al_sbuf_printf(b, "%s%s", k++ ? ", " : "", inst);
        }
    al_sbuf_printf(b, ")");
}

static void check_processes(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    unsigned bad = 0;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    for (unsigned i = 0; i < x->o->nprocesses; i++) {
        const struct al_mig_obs_process *p = &x->o->processes[i];
        if (!obs_destroyed(x, p->instance))
            continue;
        al_sbuf_printf(&b, "%s", bad++ ? "; " : "running on instances to be destroyed: ");
        process_text(x, &b, p);
    }
    if (!bad)
        destroyed_text(x, &b, "process");
    finish(ck, &b, bad == 0);
}

static void check_containers(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    unsigned bad = 0;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    for (unsigned i = 0; i < x->o->ncontainers; i++) {
        const struct al_mig_obs_container *k = &x->o->containers[i];
        if (!obs_destroyed(x, k->instance))
            continue;
        al_sbuf_printf(&b, "%s", bad++ ? "; " : "on instances to be destroyed: ");
        container_text(x, &b, k);
    }
    if (!bad)
        destroyed_text(x, &b, "container");
    finish(ck, &b, bad == 0);
}

static void check_window(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    char now[AL_TIME_TEXT_MAX], s[AL_TIME_TEXT_MAX], e[AL_TIME_TEXT_MAX];
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    bool ok = x->now >= x->c->run_after && x->now < x->c->run_before;
    al_sbuf_printf(
        &b, "now (%s) is %s the change window %s to %s", al_timefmt(x->now, now, sizeof now),
        ok                         ? "inside"
        : x->now < x->c->run_after ? "before"
                                   : "after",
        al_timefmt(x->c->run_after, s, sizeof s), al_timefmt(x->c->run_before, e, sizeof e));
    finish(ck, &b, ok);
}

/* The orgs that must acknowledge: a reservation, a container (and so its processes) on what the
 * change destroys; with a mode switch, anywhere on the GPU. */
#define ORGS_MAX (AL_MIGCHANGE_RSV_MAX + AL_MIGCHANGE_CONT_MAX)

struct orgs {
    unsigned n;
    const char *org[ORGS_MAX];
};

static void orgs_add(struct orgs *s, const char *org)
{
    for (unsigned i = 0; i < s->n; i++)
        if (strcmp(s->org[i], org) == 0)
            return;
    if (s->n < ORGS_MAX)
        s->org[s->n++] = org;
}

static void affected_orgs(const struct ctx *x, struct orgs *ret)
{
    ret->n = 0;
    for (unsigned i = 0; i < x->c->nholders; i++) {
        const struct al_migchange_rsv *h = &x->c->holders[i];
        if (x->c->mode_switch || (!h->whole && al_migchange_destroys(x->c, h->p)))
            orgs_add(ret, h->org);
    }
    for (unsigned i = 0; i < x->o->ncontainers; i++)
        if (x->c->mode_switch || obs_destroyed(x, x->o->containers[i].instance))
            orgs_add(ret, x->o->containers[i].org);
}

static const struct al_migchange_ack *ack_of(const struct ctx *x, const char *org)
{
    for (unsigned i = 0; i < x->nacks; i++)
        if (strcmp(x->acks[i].org, org) == 0)
            return &x->acks[i];
    return NULL;
}

static bool acked(const struct al_migchange_ack *a)
{
    return a && a->job_shutdown && a->data_backup;
}

static void check_acks(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    struct orgs s;
    unsigned missing = 0;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    affected_orgs(x, &s);
    if (s.n == 0) {
        al_sbuf_printf(&b, "no org has a reservation, a process or a container on what the "
                           "change destroys: no acknowledgement needed");
        finish(ck, &b, true);
        return;
    }
    for (unsigned i = 0; i < s.n; i++) {
        const struct al_migchange_ack *a = ack_of(x, s.org[i]);
        if (acked(a))
            continue;
        bool shut = a && a->job_shutdown, backup = a && a->data_backup;
        al_sbuf_printf(&b, "%sorg %s (%s%s%s)", missing++ ? ", " : "not acknowledged by ", s.org[i],
                       shut ? "" : "job shutdown", !shut && !backup ? ", " : "",
                       backup ? "" : "data backup");
    }
    const char *sep = missing ? "; acknowledged by " : "acknowledged by every affected org: ";
    for (unsigned i = 0; i < s.n; i++)
        if (acked(ack_of(x, s.org[i]))) {
            al_sbuf_printf(&b, "%s%s", sep, s.org[i]);
            sep = ", ";
        }
    finish(ck, &b, missing == 0);
}

static void check_agent(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    long long age = (long long)x->o->heartbeat_age_s;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    bool fresh = age >= 0 && age <= AL_MIGCHANGE_HEARTBEAT_MAX_S;
    if (!x->o->agent_online)
        al_sbuf_printf(&b, "the agent is offline (last heartbeat %lld s ago)", age);
    else if (!fresh)
        al_sbuf_printf(&b, "the agent's last heartbeat is %lld s old (at most %d s allowed)", age,
                       AL_MIGCHANGE_HEARTBEAT_MAX_S);
    else
        al_sbuf_printf(&b, "the agent is online, last heartbeat %lld s ago", age);
    finish(ck, &b, x->o->agent_online && fresh);
}

static void check_health(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    al_sbuf_printf(&b, "the agent reports GPU %s %s", x->c->gpu,
                   x->o->gpu_healthy ? "healthy" : "unhealthy");
    finish(ck, &b, x->o->gpu_healthy);
}

static bool obs_has(const struct al_mig_observed *o, struct al_placement p)
{
    for (unsigned i = 0; i < o->ninstances; i++)
        if (o->instances[i].p.profile == p.profile && o->instances[i].p.start == p.start)
            return true;
    return false;
}

/* Observed instance i is unexpected: not in from, or a repeat of an earlier one. */
static bool obs_extra(const struct ctx *x, unsigned i)
{
    struct al_placement p = x->o->instances[i].p;
    for (unsigned k = 0; k < i; k++)
        if (x->o->instances[k].p.profile == p.profile && x->o->instances[k].p.start == p.start)
            return true;
    for (unsigned k = 0; k < x->c->from.n; k++)
        if (x->c->from.p[k].profile == p.profile && x->c->from.p[k].start == p.start)
            return false;
    return true;
}

static void check_current(const struct ctx *x, struct al_migcheck *ck)
{
    struct al_sbuf b;
    char inst[INST_TEXT_MAX], from[AL_LAYOUT_MAX * INST_TEXT_MAX];
    unsigned extra = 0, missing = 0;
    al_sbuf_init(&b, ck->found, sizeof ck->found);
    (void)al_layout_format(&x->c->from, from, sizeof from);
    al_sbuf_printf(&b, "the GPU's instances differ from the change's current layout %s", from);
    for (unsigned i = 0; i < x->o->ninstances; i++)
        if (obs_extra(x, i)) {
            al_sbuf_printf(&b, "%s", extra++ ? ", " : "; on the GPU, not expected: ");
            obs_inst(x, &b, (int)i);
        }
    for (unsigned i = 0; i < x->c->from.n; i++)
        if (!obs_has(x->o, x->c->from.p[i])) {
            inst_text(x->m, x->c->from.p[i], inst, sizeof inst);
            al_sbuf_printf(&b, "%s%s", missing++ ? ", " : "; expected, not on the GPU: ", inst);
        }
    if (extra == 0 && missing == 0) {
        al_sbuf_init(&b, ck->found, sizeof ck->found);
        al_sbuf_printf(&b, "as the change expects, the GPU has %s",
                       x->o->ninstances ? "" : "no instance");
        for (unsigned i = 0; i < x->o->ninstances; i++) {
            al_sbuf_printf(&b, "%s", i ? ", " : "");
            obs_inst(x, &b, (int)i);
        }
    }
    finish(ck, &b, extra == 0 && missing == 0);
}

/* ---- the check as a whole ------------------------------------------------------------------ */

/* A string in a fixed array: NUL-terminated inside it, printable ASCII, at least min long. */
static bool text_ok(const char *s, size_t cap, size_t min)
{
    size_t n = strnlen(s, cap);
    if (n == cap || n < min)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

static int check_obs_instances(const struct al_gpu_model *m, const struct al_mig_observed *o,
                               struct al_err *reterr)
{
    for (unsigned i = 0; i < o->ninstances; i++) {
        const struct al_mig_obs_instance *in = &o->instances[i];
        const struct al_mig_profile *pr = profile_of(m, in->p.profile);
        if (!pr || in->p.start == AL_START_ANY || in->p.start + pr->size > m->units)
            return al_err_set(reterr, AL_E_INVAL,
                              "observed instance %u: profile %u at %u is "
                              "not one of %s",
                              i, (unsigned)in->p.profile, (unsigned)in->p.start, m->name);
        if (!text_ok(in->uuid, sizeof in->uuid, 0))
            return al_err_set(reterr, AL_E_INVAL, "observed instance %u: bad UUID", i);
    }
    for (unsigned i = 0; i < o->nprocesses; i++)
        if (o->processes[i].instance < -1 || o->processes[i].instance >= (int)o->ninstances)
            return al_err_set(reterr, AL_E_INVAL, "observed process %u: no instance %d", i,
                              o->processes[i].instance);
    for (unsigned i = 0; i < o->ncontainers; i++) {
        const struct al_mig_obs_container *k = &o->containers[i];
        if (k->instance < -1 || k->instance >= (int)o->ninstances)
            return al_err_set(reterr, AL_E_INVAL, "observed container %u: no instance %d", i,
                              k->instance);
        if (!text_ok(k->id, sizeof k->id, 1) || !text_ok(k->org, sizeof k->org, 1))
            return al_err_set(reterr, AL_E_INVAL, "observed container %u: bad id or org", i);
    }
    return 0;
}

static int check_args(const struct al_migchange *c, const struct al_mig_observed *o,
                      const struct al_migchange_ack *acks, unsigned nacks, struct al_err *reterr)
{
    const struct al_gpu_model *m = c->from.model;
    if (!m || c->to.model != m || c->from.n > AL_LAYOUT_MAX || c->to.n > AL_LAYOUT_MAX ||
        c->nsteps > AL_DIFF_MAX || c->nserves > AL_MIGCHANGE_RSV_MAX ||
        c->nholders > AL_MIGCHANGE_RSV_MAX || !text_ok(c->gpu, sizeof c->gpu, 1))
        return al_err_set(reterr, AL_E_INVAL, "change: not a planned change");
    for (unsigned i = 0; i < c->nholders; i++)
        if (!text_ok(c->holders[i].org, sizeof c->holders[i].org, 1))
            return al_err_set(reterr, AL_E_INVAL, "change: holder %u has no org", i);
    if (o->ninstances > AL_LAYOUT_MAX || o->nprocesses > AL_MIGCHANGE_PROC_MAX ||
        o->ncontainers > AL_MIGCHANGE_CONT_MAX)
        return al_err_set(reterr, AL_E_INVAL,
                          "observed: at most %d instances, %d processes, "
                          "%d containers",
                          AL_LAYOUT_MAX, AL_MIGCHANGE_PROC_MAX, AL_MIGCHANGE_CONT_MAX);
    if (nacks > AL_MIGCHANGE_ACK_MAX || (nacks && !acks))
        return al_err_set(reterr, AL_E_INVAL, "acks: at most %d", AL_MIGCHANGE_ACK_MAX);
    for (unsigned i = 0; i < nacks; i++)
        if (!text_ok(acks[i].org, sizeof acks[i].org, 1))
            return al_err_set(reterr, AL_E_INVAL, "acks: acknowledgement %u has no org", i);
    return check_obs_instances(m, o, reterr);
}

typedef void (*check_fn)(const struct ctx *x, struct al_migcheck *ck);

static const check_fn check_fns[AL_MIGCHECK_COUNT] = {
    [AL_MIGCHECK_LAYOUT_VALID] = check_layout,
    [AL_MIGCHECK_MIG_MODE] = check_mode,
    [AL_MIGCHECK_IDLE_FOR_MODE_SWITCH] = check_idle,
    [AL_MIGCHECK_NO_PROCESS_ON_DESTROYED] = check_processes,
    [AL_MIGCHECK_NO_CONTAINER_ON_DESTROYED] = check_containers,
    [AL_MIGCHECK_IN_WINDOW] = check_window,
    [AL_MIGCHECK_ACKNOWLEDGED] = check_acks,
    [AL_MIGCHECK_AGENT_ONLINE] = check_agent,
    [AL_MIGCHECK_GPU_HEALTHY] = check_health,
    [AL_MIGCHECK_CURRENT_MATCHES_OBSERVED] = check_current,
};

int al_migchange_check(const struct al_migchange *c, const struct al_mig_observed *obs,
                       const struct al_migchange_ack *acks, unsigned nacks, int64_t now,
                       struct al_migcheck_report *ret, struct al_err *reterr)
{
    if (!ret)
        return al_err_set(reterr, AL_E_INVAL, "no report to fill");
    memset(ret, 0, sizeof *ret);
    if (!c || !obs)
        return al_err_set(reterr, AL_E_INVAL, "no change or no observation");
    int rc = check_args(c, obs, acks, nacks, reterr);
    if (rc < 0)
        return rc;
    struct ctx x = {c, c->from.model, obs, acks, nacks, now};
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++) {
        ret->checks[i].id = (enum al_migcheck_id)i;
        check_fns[i](&x, &ret->checks[i]);
        ret->nfailed += !ret->checks[i].pass;
    }
    ret->pass = ret->nfailed == 0;
    return 0;
}

/* ---- force --------------------------------------------------------------------------------- */

static bool forcible(enum al_migcheck_id id)
{
    return id != AL_MIGCHECK_LAYOUT_VALID && id != AL_MIGCHECK_CURRENT_MATCHES_OBSERVED;
}

static bool reason_ok(const char *reason)
{
    if (!reason || !text_ok(reason, AL_MIGCHANGE_REASON_MAX + 1, 1))
        return false;
    for (const char *s = reason; *s; s++)
        if (*s != ' ')
            return true;
    return false;
}

int al_migchange_may_force(const struct al_migcheck_report *r, bool force, const char *reason,
                           struct al_err *reterr)
{
    char failed[AL_MIGCHECK_COUNT * 32];
    struct al_sbuf b;
    if (!r)
        return al_err_set(reterr, AL_E_INVAL, "no check report");
    if (r->pass)
        return 0;
    al_sbuf_init(&b, failed, sizeof failed);
    for (unsigned i = 0; i < AL_MIGCHECK_COUNT; i++) {
        if (r->checks[i].pass)
            continue;
        if (!forcible((enum al_migcheck_id)i))
            return al_err_set(reterr, AL_E_FORBIDDEN,
                              "check %s failed and cannot be forced: "
                              "%s",
                              al_migcheck_name((enum al_migcheck_id)i), r->checks[i].found);
        al_sbuf_printf(&b, "%s%s", b.len ? ", " : "", al_migcheck_name((enum al_migcheck_id)i));
    }
    if (!force)
        return al_err_set(reterr, AL_E_STATE,
                          "checks fail: %s (apply with force and a reason "
                          "to override them)",
                          failed);
    if (!reason_ok(reason))
        return al_err_set(reterr, AL_E_INVAL,
                          "reason: 1 to %d printable characters required "
                          "to force %s",
                          AL_MIGCHANGE_REASON_MAX, failed);
    return 0;
}
