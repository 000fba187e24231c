/* reconcile_parse.c — one GPU's entry of GET /v1/nodes/{name}/desired checked into a struct
 * al_rec_gpu (see reconcile.h). The document comes from the network: every member is bounded
 * and checked, and a refusal names it. A change's operations are checked before anything acts
 * on them: in the driver's pairs, from `from` to `to` under NVML's rules, never touching an
 * instance that stays. */
#include "agent/reconcile.h"

#include <string.h>

/* An integer member `key` of o in 0..max. */
static int get_uint(const json_t *o, const char *key, const char *f, unsigned max, unsigned *ret,
                    struct al_err *reterr)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (json_int_t)max)
        return al_err_set(reterr, AL_E_INVAL, "%s.%s: an integer in 0..%u required", f, key, max);
    *ret = (unsigned)json_integer_value(v);
    return 0;
}

/* A string member: 1..cap-1 printable ASCII characters without space, copied into out. */
static int get_word(const json_t *o, const char *key, const char *f, char *out, size_t cap,
                    struct al_err *reterr)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t n = s ? strlen(s) : 0;
    bool ok = n > 0 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f;
    if (!ok)
        return al_err_set(reterr, AL_E_INVAL,
                          "%s.%s: 1 to %zu printable characters without space required", f, key,
                          cap - 1);
    memcpy(out, s, n + 1);
    return 0;
}

/* An instance's profile (by NVML id, else by name) and start, as a placement of model m. */
static int get_placement(const json_t *o, const char *f, const struct al_gpu_model *m,
                         struct al_placement *ret, struct al_err *reterr)
{
    const json_t *id = json_object_get(o, "profile_id");
    const char *name = json_string_value(json_object_get(o, "profile"));
    unsigned start = 0;
    int pi, rc;
    if (json_is_integer(id) && json_integer_value(id) >= 0 && json_integer_value(id) <= 0xffff)
        pi = al_driver_catalog_profile(m, (unsigned)json_integer_value(id));
    else if (!id && name && strlen(name) < 64)
        pi = al_catalog_profile_index(m, name);
    else
        return al_err_set(reterr, AL_E_INVAL, "%s: profile_id (0..65535) or profile required", f);
    if (pi < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: no such profile on %s", f, m->name);
    if ((rc = get_uint(o, "start", f, AL_MIG_MAX_UNITS - 1, &start, reterr)) < 0)
        return rc;
    *ret = (struct al_placement){(uint8_t)pi, (uint8_t)start};
    return 0;
}

/* {"mig": bool, "instances": [{profile_id | profile, start}]}: a valid layout of m, sorted. */
static int get_side(const json_t *o, const char *f, const struct al_gpu_model *m,
                    struct al_rec_side *ret, struct al_err *reterr)
{
    const json_t *mig = json_object_get(o, "mig");
    const json_t *arr = json_object_get(o, "instances");
    char sub[64];
    struct al_err e = {0};
    memset(ret, 0, sizeof *ret);
    ret->l.model = m;
    if (!json_is_object(o) || !json_is_boolean(mig))
        return al_err_set(reterr, AL_E_INVAL, "%s.mig: true or false required", f);
    ret->mig = json_is_true(mig);
    if (!json_is_array(arr) || json_array_size(arr) > AL_LAYOUT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "%s.instances: an array of at most %d required", f,
                          AL_LAYOUT_MAX);
    if ((ret->mig && !m->mig) || (!ret->mig && json_array_size(arr)))
        return al_err_set(reterr, AL_E_INVAL, "%s: instances with MIG %s on %s", f,
                          ret->mig ? "on" : "off", m->name);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(sub, sizeof sub, "%s.instances[%zu]", f, i);
        int rc = get_placement(json_array_get(arr, i), sub, m, &ret->l.p[i], reterr);
        if (rc < 0)
            return rc;
        ret->l.n++;
    }
    if (al_layout_validate(&ret->l, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s.instances: %s", f, e.msg);
    al_layout_sort(&ret->l);
    return 0;
}

static bool side_has(const struct al_rec_side *s, struct al_placement p)
{
    for (unsigned i = 0; i < s->l.n; i++)
        if (s->l.p[i].profile == p.profile && s->l.p[i].start == p.start)
            return true;
    return false;
}

int al_reconcile_plan(const struct al_rec_side *from, const struct al_rec_side *to,
                      struct al_migop ops[AL_MIGOP_MAX], unsigned *ret_n, struct al_err *reterr)
{
    struct al_migchange c;
    struct al_err de = {0};
    int n;
    memset(&c, 0, sizeof c);
    c.from = from->l;
    c.to = to->l;
    c.from_mig = from->mig;
    c.to_mig = to->mig;
    c.mode_switch = c.from_mig != c.to_mig;
    if ((n = al_layout_diff(&c.from, &c.to, c.steps, &de)) < 0)
        return al_err_set(reterr, AL_E_INVAL, "change: %s", de.msg);
    c.nsteps = (unsigned)n;
    *ret_n = al_migchange_ops(&c, ops);
    return 0;
}

static int get_op(const json_t *o, const char *f, const struct al_gpu_model *m,
                  struct al_migop *ret, struct al_err *reterr)
{
    const char *name = json_string_value(json_object_get(o, "op"));
    for (int k = AL_MIGOP_MIG_ON; name && k <= AL_MIGOP_MIG_OFF; k++) {
        if (strcmp(name, al_migop_name((enum al_migop_kind)k)) != 0)
            continue;
        *ret = (struct al_migop){.kind = (enum al_migop_kind)k};
        if (k == AL_MIGOP_MIG_ON || k == AL_MIGOP_MIG_OFF)
            return 0;
        return get_placement(o, f, m, &ret->p, reterr);
    }
    return al_err_set(reterr, AL_E_INVAL,
                      "%s.op: mig_on, destroy_ci, destroy_gi, create_gi, create_ci or mig_off "
                      "required",
                      f);
}

/* Operation i and the next one must be one driver call: create_gi+create_ci (al_driver_create)
 * or destroy_ci+destroy_gi (al_driver_destroy) of the same instance. Returns how many
 * operations the call covers (1 or 2), or AL_E_INVAL. */
static int pair_len(const struct al_migop *ops, unsigned n, unsigned i, struct al_err *reterr)
{
    enum al_migop_kind k = ops[i].kind, want;
    if (k == AL_MIGOP_MIG_ON || k == AL_MIGOP_MIG_OFF)
        return 1;
    want = k == AL_MIGOP_CREATE_GI    ? AL_MIGOP_CREATE_CI
           : k == AL_MIGOP_DESTROY_CI ? AL_MIGOP_DESTROY_GI
                                      : k;
    if (want == k)
        return al_err_set(reterr, AL_E_INVAL,
                          "change.operations[%u]: %s alone is not one driver call "
                          "(create_gi+create_ci, destroy_ci+destroy_gi)",
                          i, al_migop_name(k));
    if (i + 1 >= n || ops[i + 1].kind != want || ops[i + 1].p.profile != ops[i].p.profile ||
        ops[i + 1].p.start != ops[i].p.start)
        return al_err_set(reterr, AL_E_INVAL,
                          "change.operations[%u]: %s must be followed by %s of the same "
                          "instance (one driver call)",
                          i, al_migop_name(k), al_migop_name(want));
    return 2;
}

/* The operations take `from` to `to` under NVML's rules, in the driver's pairs, and never
 * destroy an instance that stays. */
static int check_ops(const struct al_rec_gpu *e, struct al_err *reterr)
{
    struct al_mig_gpu g;
    struct al_err ae = {0};
    memset(&g, 0, sizeof g);
    g.mig = e->from.mig;
    g.gi = e->from.l;
    for (unsigned i = 0; i < g.gi.n; i++)
        g.ci[i] = true;
    for (unsigned i = 0; i < e->nops;) {
        int len = pair_len(e->ops, e->nops, i, reterr);
        if (len < 0)
            return len;
        for (int k = 0; k < len; k++, i++) {
            struct al_migop op = e->ops[i];
            bool destroy = op.kind == AL_MIGOP_DESTROY_CI || op.kind == AL_MIGOP_DESTROY_GI;
            if (destroy && side_has(&e->from, op.p) && side_has(&e->to, op.p))
                return al_err_set(reterr, AL_E_INVAL,
                                  "change.operations[%u]: %s of an instance in both from and "
                                  "to: an instance that stays is never touched",
                                  i, al_migop_name(op.kind));
            if (al_mig_gpu_apply(&g, op, &ae) < 0)
                return al_err_set(reterr, AL_E_INVAL, "change.operations[%u]: %s", i, ae.msg);
        }
    }
    if (!al_mig_gpu_is(&g, &e->to.l, e->to.mig))
        return al_err_set(reterr, AL_E_INVAL, "change.operations: they do not lead to `to`");
    return 0;
}

static int get_change(const json_t *o, const struct al_gpu_model *m, struct al_rec_gpu *e,
                      struct al_err *reterr)
{
    const char *state = json_string_value(json_object_get(o, "state"));
    const json_t *ops = json_object_get(o, "operations");
    char sub[48];
    int rc;
    if (!json_is_object(o))
        return al_err_set(reterr, AL_E_INVAL, "change: an object or null required");
    if ((rc = get_word(o, "id", "change", e->change, sizeof e->change, reterr)) < 0)
        return rc;
    if (!state || (strcmp(state, "approved") != 0 && strcmp(state, "applying") != 0))
        return al_err_set(reterr, AL_E_INVAL, "change.state: approved or applying required");
    if ((rc = get_side(json_object_get(o, "from"), "change.from", m, &e->from, reterr)) < 0 ||
        (rc = get_side(json_object_get(o, "to"), "change.to", m, &e->to, reterr)) < 0)
        return rc;
    if (!ops || json_is_null(ops))
        rc = al_reconcile_plan(&e->from, &e->to, e->ops, &e->nops, reterr);
    else if (!json_is_array(ops) || json_array_size(ops) > AL_MIGOP_MAX)
        rc = al_err_set(reterr, AL_E_INVAL, "change.operations: an array of at most %d required",
                        AL_MIGOP_MAX);
    else
        for (size_t i = 0; rc == 0 && i < json_array_size(ops); i++) {
            snprintf(sub, sizeof sub, "change.operations[%zu]", i);
            rc = get_op(json_array_get(ops, i), sub, m, &e->ops[e->nops++], reterr);
        }
    return rc < 0 ? rc : check_ops(e, reterr);
}

int al_reconcile_parse(const json_t *j, const struct al_gpu_model *m, struct al_rec_gpu *ret,
                       struct al_err *reterr)
{
    const json_t *desired = json_object_get(j, "desired");
    const json_t *change = json_object_get(j, "change");
    int rc;
    memset(ret, 0, sizeof *ret);
    if (!json_is_object(j))
        return al_err_set(reterr, AL_E_INVAL, "gpus[]: an object required");
    if ((rc = get_uint(j, "index", "gpu", AL_DRV_MAX_GPUS - 1, &ret->index, reterr)) < 0 ||
        (rc = get_word(j, "uuid", "gpu", ret->uuid, sizeof ret->uuid, reterr)) < 0)
        return rc;
    if (!m)
        return al_err_set(reterr, AL_E_INVAL, "GPU %u: its model is not in the catalog",
                          ret->index);
    if (desired && !json_is_null(desired)) {
        if ((rc = get_side(desired, "desired", m, &ret->desired, reterr)) < 0)
            return rc;
        ret->has_desired = true;
    }
    if (change && !json_is_null(change)) {
        if ((rc = get_change(change, m, ret, reterr)) < 0)
            return rc;
        ret->has_change = true;
    }
    return 0;
}
