/* reconcile.c — a MIG change applied on one GPU through the driver, with its checks, its
 * verification and its rollback, and the desired layout recreated after a reboot (see
 * reconcile.h; the entry is checked by reconcile_parse.c). The GPU is observed before each
 * decision: what the driver sees, never what the agent remembers, decides what is done. */
#include "agent/reconcile.h"

#include <stdlib.h>
#include <string.h>

/* One GPU being reconciled: the driver, the entry, and the latest observation of the GPU. */
struct rec {
    struct al_driver *d;
    const struct al_rec_gpu *e;
    const struct al_gpu_model *m;
    struct al_drv_gpu *g;
};

int al_reconcile_observe(struct al_driver *d, unsigned index, struct al_drv_gpu *g,
                         struct al_err *reterr)
{
    unsigned n = 0;
    int rc = al_driver_gpu_count(d, &n, reterr);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        if ((rc = al_driver_observe(d, i, g, reterr)) < 0)
            return rc;
        if (g->index == index)
            return 0;
    }
    return rc < 0 ? rc : al_err_set(reterr, AL_E_NOTFOUND, "no GPU %u on this host", index);
}

static int observe(struct rec *r, struct al_err *reterr)
{
    return al_reconcile_observe(r->d, r->e->index, r->g, reterr);
}

/* The observed layout as a side. Returns whether it is complete: every instance of a catalog
 * profile and with its compute instance (else the side holds the complete ones only). */
static bool observed_side(const struct rec *r, struct al_rec_side *ret)
{
    bool complete = true;
    memset(ret, 0, sizeof *ret);
    ret->mig = r->g->mig_current;
    ret->l.model = r->m;
    for (unsigned i = 0; i < r->g->ninstances && ret->l.n < AL_LAYOUT_MAX; i++) {
        const struct al_drv_instance *in = &r->g->instances[i];
        int pi = al_driver_catalog_profile(r->m, in->profile_id);
        if (pi < 0 || in->ci_id == AL_DRV_NONE) {
            complete = false;
            continue;
        }
        ret->l.p[ret->l.n++] = (struct al_placement){(uint8_t)pi, (uint8_t)in->placement.start};
    }
    al_layout_sort(&ret->l);
    return complete;
}

static bool side_has(const struct al_rec_side *s, struct al_placement p)
{
    for (unsigned i = 0; i < s->l.n; i++)
        if (s->l.p[i].profile == p.profile && s->l.p[i].start == p.start)
            return true;
    return false;
}

static bool side_eq(const struct al_rec_side *a, const struct al_rec_side *b)
{
    if (a->mig != b->mig || a->l.n != b->l.n)
        return false;
    for (unsigned i = 0; i < a->l.n; i++)
        if (!side_has(b, a->l.p[i]))
            return false;
    return true;
}

/* The observed GPU instance at placement p, or NULL. */
static const struct al_drv_instance *instance_at(const struct rec *r, struct al_placement p)
{
    unsigned id = r->m->profiles[p.profile].nvml_id;
    for (unsigned i = 0; i < r->g->ninstances; i++)
        if (r->g->instances[i].profile_id == id && r->g->instances[i].placement.start == p.start)
            return &r->g->instances[i];
    return NULL;
}

/* "3g.40gb@4" */
static void inst_text(const struct al_gpu_model *m, struct al_placement p, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s@%u", m->profiles[p.profile].name, (unsigned)p.start);
}

/* Operation ops[i] through the driver: a create is create_gi+create_ci (one call), a destroy
 * destroy_ci+destroy_gi (one call, the GPU instance found by its placement). Returns the number
 * of operations done (1 or 2), or a negative code with the operation named in reterr. */
static int run_one(struct rec *r, const struct al_migop *ops, unsigned n, unsigned i,
                   struct al_err *reterr)
{
    struct al_migop op = ops[i];
    struct al_err de = {0};
    char inst[64] = "";
    int rc = AL_E_INVAL;
    if (op.kind == AL_MIGOP_MIG_ON || op.kind == AL_MIGOP_MIG_OFF)
        rc = al_driver_set_mig_mode(r->d, r->e->index, op.kind == AL_MIGOP_MIG_ON, &de);
    else if (i + 1 < n && op.kind == AL_MIGOP_CREATE_GI && ops[i + 1].kind == AL_MIGOP_CREATE_CI)
        rc = al_driver_create(r->d, r->e->index, r->m->profiles[op.p.profile].nvml_id, op.p.start,
                              NULL, &de);
    else if (i + 1 < n && op.kind == AL_MIGOP_DESTROY_CI &&
             ops[i + 1].kind == AL_MIGOP_DESTROY_GI) {
        if ((rc = observe(r, &de)) == 0) {
            const struct al_drv_instance *in = instance_at(r, op.p);
            rc = in ? al_driver_destroy(r->d, r->e->index, in->gi_id, &de)
                    : al_err_set(&de, AL_E_NOTFOUND, "no GPU instance there");
        }
    } else
        al_err_set(&de, AL_E_INVAL, "no driver call does it alone");
    if (rc == 0)
        return op.kind == AL_MIGOP_MIG_ON || op.kind == AL_MIGOP_MIG_OFF ? 1 : 2;
    if (op.kind != AL_MIGOP_MIG_ON && op.kind != AL_MIGOP_MIG_OFF)
        inst_text(r->m, op.p, inst, sizeof inst);
    return al_err_set(reterr, rc, "%s%s%s: %s", al_migop_name(op.kind), *inst ? " " : "", inst,
                      de.msg);
}

/* Apply ops in order. *ret_done: how many succeeded (the failed one, if any, is ops[*ret_done]
 * and had no effect). */
static int run_ops(struct rec *r, const struct al_migop *ops, unsigned n, unsigned *ret_done,
                   struct al_err *reterr)
{
    *ret_done = 0;
    while (*ret_done < n) {
        int k = run_one(r, ops, n, *ret_done, reterr);
        if (k < 0)
            return k;
        *ret_done += (unsigned)k;
    }
    return 0;
}

/* Undo the first ndone operations of ops, last first (core's rollback). Returns whether the GPU
 * is at `from` afterwards; a rollback that fails is appended to msg. */
static bool roll_back(struct rec *r, const struct al_migop *ops, unsigned ndone, char *msg,
                      size_t cap)
{
    struct al_migop inv[AL_MIGOP_MAX];
    struct al_rec_side now;
    struct al_err e = {0};
    unsigned done = 0;
    int n = al_migchange_rollback(ops, ndone, inv, &e);
    if (n < 0 || run_ops(r, inv, (unsigned)n, &done, &e) < 0 || observe(r, &e) < 0) {
        size_t len = strlen(msg);
        snprintf(msg + len, cap - len, "; rollback failed: %s", e.msg);
        return false;
    }
    return observed_side(r, &now) && side_eq(&now, &r->e->from);
}

/* The GPU's instances as a result lists them: [{gi, ci, profile_id, start, uuid}]. A GPU
 * instance without its compute instance (half-made, only after a rollback that failed) has no
 * MIG device and is not listed; the error says the rollback failed. */
static json_t *instances_json(const struct al_drv_gpu *g)
{
    json_t *arr = json_array();
    for (unsigned i = 0; arr && i < g->ninstances; i++) {
        const struct al_drv_instance *in = &g->instances[i];
        if (in->ci_id == AL_DRV_NONE)
            continue;
        if (json_array_append_new(
                arr, json_pack("{s:I,s:I,s:I,s:I,s:s}", "gi", (json_int_t)in->gi_id, "ci",
                               (json_int_t)in->ci_id, "profile_id", (json_int_t)in->profile_id,
                               "start", (json_int_t)in->placement.start, "uuid", in->uuid)) < 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The result body, with the GPU's layout as observed now. ok: op < 0. */
static int result(struct rec *r, int op, const char *msg, bool rolled_back, json_t **ret,
                  struct al_err *reterr)
{
    int rc = observe(r, reterr);
    json_t *inst = rc == 0 ? instances_json(r->g) : NULL;
    *ret = NULL;
    if (rc < 0)
        return rc;
    if (op < 0)
        *ret = json_pack("{s:b,s:b,s:o}", "ok", 1, "mig", r->g->mig_current, "instances", inst);
    else
        *ret = json_pack("{s:b,s:i,s:s%,s:b,s:b,s:o}", "ok", 0, "operation", op, "error", msg,
                         strnlen(msg, AL_REC_ERROR_MAX), "rolled_back", rolled_back, "mig",
                         r->g->mig_current, "instances", inst);
    return *ret ? 0 : al_err_set(reterr, AL_E_NOMEM, "out of memory");
}

/* Append the pid of each process on GPU instance gi (AL_DRV_NONE: any process). */
static unsigned pids_on(const struct al_drv_gpu *g, unsigned gi, char *buf, size_t cap)
{
    unsigned found = 0;
    for (unsigned i = 0; i < g->nprocs; i++) {
        size_t len = strlen(buf);
        if (gi != AL_DRV_NONE && g->procs[i].gi_id != gi)
            continue;
        snprintf(buf + len, cap - len, "%s%u", found ? ", " : "", g->procs[i].pid);
        found++;
    }
    return found;
}

/* The first of ops that a process blocks: a destroy of an instance with a process on it, or a
 * mode switch with any process on the GPU (or processes beyond those listed). Its index, with
 * why in msg; -1 when none. */
static int blocked(const struct rec *r, const struct al_migop *ops, unsigned n, char *msg,
                   size_t cap)
{
    const struct al_drv_gpu *g = r->g;
    char pids[AL_ERR_MSG_MAX], inst[64];
    for (unsigned i = 0; i < n; i++) {
        bool mode = ops[i].kind == AL_MIGOP_MIG_ON || ops[i].kind == AL_MIGOP_MIG_OFF;
        const struct al_drv_instance *in = mode ? NULL : instance_at(r, ops[i].p);
        if (!mode && (ops[i].kind != AL_MIGOP_DESTROY_CI || !in))
            continue;
        if (g->procs_total > g->nprocs) {
            snprintf(msg, cap, "in use: %u processes on the GPU, more than listed", g->procs_total);
            return (int)i;
        }
        pids[0] = '\0';
        if (!pids_on(g, mode ? AL_DRV_NONE : in->gi_id, pids, sizeof pids))
            continue;
        if (mode) {
            snprintf(msg, cap, "in use: process %s on the GPU, which %s needs idle", pids,
                     al_migop_name(ops[i].kind));
        } else {
            inst_text(r->m, ops[i].p, inst, sizeof inst);
            snprintf(msg, cap,
                     "in use: process %s on %s (GPU instance %u), which the change "
                     "destroys",
                     pids, inst, in->gi_id);
        }
        return (int)i;
    }
    return -1;
}

/* The GPU is at `from`: check, apply, verify; roll back what was done on any failure. */
static int apply(struct rec *r, json_t **ret, struct al_err *reterr)
{
    const struct al_rec_gpu *e = r->e;
    char msg[AL_ERR_MSG_MAX * 2] = "";
    struct al_rec_side now;
    struct al_err oe = {0};
    unsigned ndone = 0;
    int k = blocked(r, e->ops, e->nops, msg, sizeof msg);
    if (k >= 0)
        return result(r, k, msg, false, ret, reterr);
    if (run_ops(r, e->ops, e->nops, &ndone, &oe) == 0) {
        if (observe(r, reterr) < 0)
            return reterr ? reterr->code : AL_E_IO;
        if (observed_side(r, &now) && side_eq(&now, &e->to))
            return result(r, -1, NULL, false, ret, reterr);
        snprintf(msg, sizeof msg, "the layout observed after the operations differs from `to`");
        k = e->nops ? (int)e->nops - 1 : 0;
    } else {
        snprintf(msg, sizeof msg, "%s", oe.msg);
        k = (int)ndone;
    }
    bool rolled = roll_back(r, e->ops, ndone, msg, sizeof msg);
    return result(r, k, msg, rolled, ret, reterr);
}

/* The GPU is neither at `from` nor at `to`: a change interrupted part-way (the agent stopped in
 * the middle). Back to `from` by the difference: instances half-made (no compute instance)
 * destroyed, then core's plan from what is there to `from`. Only instances of `from` or `to`
 * are touched; anything else stops it, as does a process on an instance to destroy. */
static int interrupted(struct rec *r, json_t **ret, struct al_err *reterr)
{
    const struct al_rec_gpu *e = r->e;
    char msg[AL_ERR_MSG_MAX * 2] = "interrupted: neither at `from` nor at `to`";
    char busy[AL_ERR_MSG_MAX];
    struct al_migop ops[AL_MIGOP_MAX];
    struct al_rec_side now;
    struct al_err oe = {0};
    unsigned nops = 0, done = 0;
    size_t len = strlen(msg);
    for (unsigned i = 0; i < r->g->ninstances; i++) {
        const struct al_drv_instance *in = &r->g->instances[i];
        int pi = al_driver_catalog_profile(r->m, in->profile_id);
        struct al_placement p = {(uint8_t)(pi < 0 ? 0 : pi), (uint8_t)in->placement.start};
        if (pi < 0 || (!side_has(&e->from, p) && !side_has(&e->to, p))) {
            snprintf(msg + len, sizeof msg - len,
                     "; GPU instance %u is in neither: left alone, nothing done", in->gi_id);
            return result(r, 0, msg, false, ret, reterr);
        }
        if (in->ci_id == AL_DRV_NONE && al_driver_destroy(r->d, e->index, in->gi_id, &oe) < 0)
            goto failed;
    }
    if (observe(r, &oe) < 0)
        goto failed;
    observed_side(r, &now); /* complete now: the half-made ones are gone */
    if (al_reconcile_plan(&now, &e->from, ops, &nops, &oe) < 0)
        goto failed;
    if (blocked(r, ops, nops, busy, sizeof busy) >= 0) {
        snprintf(msg + len, sizeof msg - len, "; %s: nothing done", busy);
        return result(r, 0, msg, false, ret, reterr);
    }
    if (run_ops(r, ops, nops, &done, &oe) < 0)
        goto failed;
    bool back = observe(r, &oe) == 0 && observed_side(r, &now) && side_eq(&now, &e->from);
    snprintf(msg + len, sizeof msg - len, "; rolled back to `from`");
    return result(r, 0, msg, back, ret, reterr);
failed:
    snprintf(msg + len, sizeof msg - len, "; rollback to `from` failed: %s", oe.msg);
    return result(r, 0, msg, false, ret, reterr);
}

static int start(struct rec *r, struct al_driver *d, const struct al_rec_gpu *e,
                 struct al_err *reterr)
{
    r->d = d;
    r->e = e;
    r->m = e->from.l.model ? e->from.l.model : e->desired.l.model;
    if (!r->m) {
        al_err_set(reterr, AL_E_INVAL, "GPU %u: no model", e->index);
        return AL_E_INVAL;
    }
    if (!(r->g = calloc(1, sizeof *r->g))) {
        al_err_set(reterr, AL_E_NOMEM, "out of memory");
        return AL_E_NOMEM;
    }
    return observe(r, reterr);
}

int al_reconcile_change(struct al_driver *d, const struct al_rec_gpu *e, json_t **ret,
                        struct al_err *reterr)
{
    struct rec r = {0};
    struct al_rec_side now;
    char msg[AL_ERR_MSG_MAX];
    int rc;
    *ret = NULL;
    if (!e->has_change) {
        rc = al_err_set(reterr, AL_E_INVAL, "GPU %u: no change", e->index);
        goto out;
    }
    if ((rc = start(&r, d, e, reterr)) < 0)
        goto out;
    bool complete = observed_side(&r, &now);
    if (strcmp(r.g->uuid, e->uuid) != 0) {
        snprintf(msg, sizeof msg, "GPU %u is %.95s on this host, not %.95s: nothing done", e->index,
                 r.g->uuid, e->uuid);
        rc = result(&r, 0, msg, false, ret, reterr);
    } else if (complete && side_eq(&now, &e->to))
        rc = result(&r, -1, NULL, false, ret, reterr); /* applied already: never twice */
    else if (complete && side_eq(&now, &e->from))
        rc = apply(&r, ret, reterr);
    else
        rc = interrupted(&r, ret, reterr);
out:
    free(r.g);
    return rc;
}

/* Desired MIG on and the GPU idle in MIG off (a reset took the mode back): switch it on. Returns
 * whether MIG is on now. */
static int mig_on_if_idle(struct rec *r, FILE *log, struct al_err *reterr)
{
    const struct al_drv_gpu *g = r->g;
    int rc;
    if (g->mig_current)
        return 1;
    if (g->procs_total || g->ninstances || !g->mig_capable)
        return 0;
    if ((rc = al_driver_set_mig_mode(r->d, r->e->index, true, reterr)) < 0 ||
        (rc = observe(r, reterr)) < 0)
        return rc;
    if (log)
        fprintf(log, "allot agent: GPU %u: MIG mode on%s (the desired layout)\n", r->e->index,
                r->g->mig_current ? "" : ", pending a GPU reset, which the agent never does");
    return r->g->mig_current;
}

int al_reconcile_desired(struct al_driver *d, const struct al_rec_gpu *e, FILE *log,
                         struct al_err *reterr)
{
    struct rec r = {0};
    struct al_rec_side now;
    struct al_drv_instance made;
    char inst[64];
    int rc, created = 0;
    if (!e->has_desired || e->has_change || !e->desired.mig)
        return 0; /* a change decides; MIG off is never switched to by itself */
    if ((rc = start(&r, d, e, reterr)) < 0)
        goto out;
    if (strcmp(r.g->uuid, e->uuid) != 0) {
        rc = al_err_set(reterr, AL_E_CONFLICT, "GPU %u is %.95s on this host, not %.95s", e->index,
                        r.g->uuid, e->uuid);
        goto out;
    }
    if ((rc = mig_on_if_idle(&r, log, reterr)) <= 0)
        goto out;
    observed_side(&r, &now);
    for (unsigned i = 0; i < e->desired.l.n; i++) {
        struct al_placement p = e->desired.l.p[i];
        if (side_has(&now, p) || instance_at(&r, p) || !al_layout_can_add(&now.l, p))
            continue; /* there already (perhaps half-made: left alone), or no room */
        rc =
            al_driver_create(d, e->index, r.m->profiles[p.profile].nvml_id, p.start, &made, reterr);
        if (rc == AL_E_NOFIT)
            continue; /* something the catalog does not know holds the units */
        if (rc < 0)
            goto out;
        now.l.p[now.l.n++] = p;
        created++;
        inst_text(r.m, p, inst, sizeof inst);
        if (log)
            fprintf(log,
                    "allot agent: GPU %u: recreated %s (GPU instance %u, %s) of the desired "
                    "layout\n",
                    e->index, inst, made.gi_id, made.uuid);
    }
    rc = created;
out:
    free(r.g);
    return rc;
}
