/* node_mig.c — the MIG members of one GPU in a node's report (node_report.h): its MIG mode,
 * the GPU-instance profiles NVML lists, the GPU instances and the processes, each checked as
 * untrusted input and against the catalog model, and the GPU's `observed` state built from
 * them, with the differences between NVML's profiles and instances and the catalog's as
 * sentences. Malformed input refuses the report; an instance the catalog does not know (its
 * profile or placement: those of GPUs newer than H100 are unverified) is kept apart as
 * unmatched, so that the node keeps reporting while allot plans nothing for that GPU.
 *
 * A profile is known by its NVML *id* (nvidia-smi -lgip's ID, core/catalog.h's nvml_id), never
 * by NVML's query index (agent/driver.h explains the two numbers); names are only checked
 * against it, as profile names changed between drivers. */
#include "server/node_report.h"

#include "core/layout.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ID_MAX    1023      /* GPU/compute instance and profile ids: NVML's are below 64 */
#define UNITS_MAX 64        /* placement units: a start/size beyond any GPU's (12 at most) */
#define MIB_MAX   (1 << 22) /* 4 TiB in MiB: more than any GPU has */
#define PID_MAX   INT32_MAX
#define PROCS_MAX 1000000 /* processes_total: far more than a GPU runs */

/* Buffers of a field's name, each level's wide enough for the one above it and what it adds:
 * "gpus[i]" (< 32), "gpus[i].profiles[j]", "….placements[k]", and one more key. A refusal keeps
 * what fits its field (72 bytes: real names are far shorter). */
#define PRE_CAP   64
#define AT_CAP    112
#define FIELD_CAP 160

/* The checks of one GPU entry: where it is in the report, its model, the refusal. */
struct mig_ctx {
    const char *f; /* "gpus[i]" */
    const struct al_gpu_model *m;
    struct al_node_report_err *err;
};

/* Refuse `pre`.`key` ("gpus[0].instances[1]" "start") with `what` it must be. */
static int bad(struct mig_ctx *c, const char *pre, const char *key, const char *what)
{
    char field[FIELD_CAP];
    snprintf(field, sizeof field, "%s.%s", pre, key);
    return al_node_refuse(c->err, field, "%s %s", field, what);
}

/* Member `key` of `o`, NULL when absent or JSON null. */
static json_t *member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_null(v) ? NULL : v;
}

/* Integer `pre`.`key` of `o` in lo..hi into *ret: 0 or a refusal. */
static int get_int(struct mig_ctx *c, const char *pre, json_t *o, const char *key, json_int_t lo,
                   json_int_t hi, json_int_t *ret)
{
    json_t *v = json_object_get(o, key);
    char what[64];
    *ret = 0;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
        *ret = json_integer_value(v);
        return 0;
    }
    snprintf(what, sizeof what,
             "must be an integer in %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT, lo, hi);
    return bad(c, pre, key, what);
}

/* An id `pre`.`key` of `o` in 0..ID_MAX, or null/absent (*ret = -1): 0 or a refusal. */
static int get_id_or_null(struct mig_ctx *c, const char *pre, json_t *o, const char *key,
                          json_int_t *ret)
{
    *ret = -1;
    return member(o, key) ? get_int(c, pre, o, key, 0, ID_MAX, ret) : 0;
}

static int get_bool(struct mig_ctx *c, const char *pre, json_t *o, const char *key, bool *ret)
{
    json_t *v = json_object_get(o, key);
    *ret = false;
    if (!json_is_boolean(v))
        return bad(c, pre, key, "must be true or false");
    *ret = json_is_true(v);
    return 0;
}

/* Text `pre`.`key` of `o`: a string of 0..AL_NODE_TEXT_MAX printable ASCII bytes (spaces only
 * when `spaces`), into *ret; `opt`: absent or null gives *ret = NULL. 0 or a refusal. */
static int get_text(struct mig_ctx *c, const char *pre, json_t *o, const char *key, bool spaces,
                    bool opt, const char **ret)
{
    json_t *v = member(o, key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    *ret = NULL;
    if (!v && opt)
        return 0;
    bool good = s && n <= AL_NODE_TEXT_MAX && strlen(s) == n;
    for (size_t i = 0; good && i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        good = (b > ' ' || (spaces && b == ' ')) && b < 0x7f;
    }
    if (!good) {
        char what[96];
        snprintf(what, sizeof what, "must be a string of at most %d printable ASCII characters%s",
                 AL_NODE_TEXT_MAX, spaces ? "" : ", no space");
        return bad(c, pre, key, what);
    }
    *ret = s;
    return 0;
}

/* Is `v` (named `pre`) an object of only the `allowed` keys? 0 or a refusal naming `pre` or
 * the unknown key. */
static int shape(struct mig_ctx *c, const char *pre, json_t *v, const char *const *allowed)
{
    const char *k;
    if (!json_is_object(v))
        return al_node_refuse(c->err, pre, "%s must be an object", pre);
    if ((k = al_node_unknown_key(v, allowed)) != NULL) {
        char field[FIELD_CAP];
        snprintf(field, sizeof field, "%s.%.40s", pre, k);
        return al_node_refuse(c->err, field, "%s: unknown field \"%.64s\"", pre, k);
    }
    return 0;
}

/* Is `v` (named `pre`) an array of at most `max` items? */
static int list(struct mig_ctx *c, const char *pre, json_t *v, size_t max)
{
    if (json_is_array(v) && json_array_size(v) <= max)
        return 0;
    return al_node_refuse(c->err, pre, "%s must be an array of at most %zu", pre, max);
}

/* The index in m->profiles of the profile with NVML id `id`, or -1. */
static int profile_by_id(const struct al_gpu_model *m, json_int_t id)
{
    for (unsigned i = 0; m->mig && i < m->nprofiles; i++)
        if (m->profiles[i].nvml_id == id)
            return (int)i;
    return -1;
}

/* ---- mig {capable, current, pending} ---- */

struct mig_mode {
    bool capable, current, pending;
};

static int check_mode(struct mig_ctx *c, json_t *mig, struct mig_mode *out)
{
    static const char *const allowed[] = {"capable", "current", "pending", NULL};
    char pre[PRE_CAP];
    int rc;
    snprintf(pre, sizeof pre, "%s.mig", c->f);
    if ((rc = shape(c, pre, mig, allowed)) != 0 ||
        (rc = get_bool(c, pre, mig, "capable", &out->capable)) != 0 ||
        (rc = get_bool(c, pre, mig, "current", &out->current)) != 0 ||
        (rc = get_bool(c, pre, mig, "pending", &out->pending)) != 0)
        return rc;
    if ((out->current || out->pending) && !out->capable)
        return bad(c, pre, out->current ? "current" : "pending",
                   "cannot be true on a GPU that is not MIG capable");
    return 0;
}

/* ---- profiles, as NVML lists them ---- */

static int check_placement(struct mig_ctx *c, const char *pre, json_t *pl)
{
    static const char *const allowed[] = {"start", "size", NULL};
    json_int_t v;
    int rc = shape(c, pre, pl, allowed);
    if (rc == 0 && (rc = get_int(c, pre, pl, "start", 0, UNITS_MAX - 1, &v)) == 0)
        rc = get_int(c, pre, pl, "size", 1, UNITS_MAX, &v);
    return rc;
}

/* Profile `p` (named `pre`); `ids` the ids of the profiles before it, n of them. */
static int check_profile(struct mig_ctx *c, const char *pre, json_t *p, const json_int_t *ids,
                         size_t n, json_int_t *id)
{
    static const char *const allowed[] = {"id",         "name",       "slices", "instances_max",
                                          "memory_mib", "placements", NULL};
    json_t *pls = json_object_get(p, "placements"), *pl;
    const char *name;
    json_int_t v;
    char at[AT_CAP];
    size_t i;
    int rc;
    if ((rc = shape(c, pre, p, allowed)) != 0 ||
        (rc = get_int(c, pre, p, "id", 0, ID_MAX, id)) != 0 ||
        (rc = get_text(c, pre, p, "name", true, true, &name)) != 0 ||
        (rc = get_int(c, pre, p, "slices", 0, UNITS_MAX, &v)) != 0 ||
        (rc = get_int(c, pre, p, "memory_mib", 0, MIB_MAX, &v)) != 0 ||
        (member(p, "instances_max") &&
         (rc = get_int(c, pre, p, "instances_max", 0, UNITS_MAX, &v)) != 0))
        return rc;
    for (i = 0; i < n; i++)
        if (ids[i] == *id)
            return bad(c, pre, "id", "names a profile listed before");
    snprintf(at, sizeof at, "%s.placements", pre);
    if ((rc = list(c, at, pls, AL_NODE_MAX_PLACEMENTS)) != 0)
        return rc;
    json_array_foreach(pls, i, pl)
    {
        snprintf(at, sizeof at, "%s.placements[%zu]", pre, i);
        if ((rc = check_placement(c, at, pl)) != 0)
            return rc;
    }
    return 0;
}

static int check_profiles(struct mig_ctx *c, json_t *profiles)
{
    json_int_t ids[AL_NODE_MAX_PROFILES];
    char pre[PRE_CAP];
    json_t *p;
    size_t i;
    int rc;
    snprintf(pre, sizeof pre, "%s.profiles", c->f);
    if ((rc = list(c, pre, profiles, AL_NODE_MAX_PROFILES)) != 0)
        return rc;
    json_array_foreach(profiles, i, p)
    {
        snprintf(pre, sizeof pre, "%s.profiles[%zu]", c->f, i);
        if ((rc = check_profile(c, pre, p, ids, i, &ids[i])) != 0)
            return rc;
    }
    return 0;
}

/* ---- instances ---- */

/* The instances checked so far: the placement units of those whose size is known, the catalog's
 * instances as observed lists them, and those outside the catalog (unmatched_instances). */
struct taken {
    uint64_t units;
    json_t *out, *unmatched;
};

/* Does `name` ("MIG 3g.40gb", "3g.40gb") name profile `pi` of `m`? */
static bool names_profile(const struct al_gpu_model *m, const char *name, int pi)
{
    if (strncasecmp(name, "MIG ", 4) == 0)
        name += 4;
    return al_catalog_profile_index(m, name) == pi;
}

/* Is [start, start + size) a placement the catalog allows for profile `p` of `m`? */
static bool placement_ok(const struct al_gpu_model *m, const struct al_mig_profile *p,
                         json_int_t start, json_int_t size)
{
    if (size != (json_int_t)p->size || start + size > (json_int_t)m->units)
        return false;
    for (unsigned i = 0; i < p->nstarts; i++)
        if (p->starts[i] == start)
            return true;
    return false;
}

/* The units [start, start + size) as bits; size 0: unknown, none. */
static uint64_t units_of(json_int_t start, json_int_t size)
{
    if (size <= 0)
        return 0;
    return (size >= UNITS_MAX ? UINT64_MAX : (UINT64_C(1) << size) - 1) << start;
}

/* Does `list` (instances as observed lists them) hold one with gi `gi`, or MIG device `uuid`
 * ("" never matches)? Sets *key to the member found. */
static bool listed_before(json_t *list, json_int_t gi, const char *uuid, const char **key)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *u = json_string_value(json_object_get(o, "uuid"));
        *key = json_integer_value(json_object_get(o, "gi")) == gi ? "gi" : "uuid";
        if (json_integer_value(json_object_get(o, "gi")) == gi ||
            (uuid && uuid[0] && u && strcmp(u, uuid) == 0))
            return true;
    }
    return false;
}

/* Is instance gi `gi` with MIG device `uuid` ("" for none) the only one so far? */
static int instance_fits(struct mig_ctx *c, const char *pre, struct taken *t, json_int_t gi,
                         const char *uuid)
{
    const char *key = "gi";
    if (listed_before(t->out, gi, uuid, &key) || listed_before(t->unmatched, gi, uuid, &key))
        return bad(c, pre, key,
                   strcmp(key, "gi") == 0 ? "is the gi of an instance listed before"
                                          : "is the uuid of an instance listed before");
    return 0;
}

/* One instance as the report gives it, its fields checked for type and range. */
struct inst {
    json_int_t gi, ci, id, start, size; /* ci -1: none; size -1: not given */
    const char *name, *uuid;            /* name NULL: not given */
};

static int instance_fields(struct mig_ctx *c, const char *pre, json_t *in, struct inst *x)
{
    static const char *const allowed[] = {"gi",    "ci",   "profile_id", "profile",
                                          "start", "size", "uuid",       NULL};
    int rc;
    x->size = -1;
    if ((rc = shape(c, pre, in, allowed)) != 0 ||
        (rc = get_int(c, pre, in, "gi", 0, ID_MAX, &x->gi)) != 0 ||
        (rc = get_id_or_null(c, pre, in, "ci", &x->ci)) != 0 ||
        (rc = get_int(c, pre, in, "profile_id", 0, ID_MAX, &x->id)) != 0 ||
        (rc = get_text(c, pre, in, "profile", true, true, &x->name)) != 0 ||
        (rc = get_int(c, pre, in, "start", 0, UNITS_MAX - 1, &x->start)) != 0 ||
        (member(in, "size") && (rc = get_int(c, pre, in, "size", 1, UNITS_MAX, &x->size)) != 0) ||
        (rc = get_text(c, pre, in, "uuid", false, false, &x->uuid)) != 0)
        return rc;
    return 0;
}

/* The catalog's profile of instance x (its size filled in from it when not given), or NULL
 * when x is outside the catalog: a profile id the model lacks, a name that is not that
 * profile's, or a placement the catalog does not allow for it. */
static const struct al_mig_profile *catalog_profile(const struct al_gpu_model *m, struct inst *x)
{
    int pi = profile_by_id(m, x->id);
    if (pi < 0)
        return NULL;
    const struct al_mig_profile *p = &m->profiles[pi];
    x->size = x->size < 0 ? (json_int_t)p->size : x->size;
    if ((x->name && !names_profile(m, x->name, pi)) || !placement_ok(m, p, x->start, x->size))
        return NULL;
    return p;
}

/* Check instance `in` (named `pre`) and list it: among the catalog's instances, or, when the
 * catalog lacks its profile or placement, among the unmatched ones (the GPU is then not
 * planned for; its catalog_differences say why). Malformed input is refused either way, as is
 * an instance overlapping another (where the sizes are known), or repeating a gi or uuid. */
static int check_instance(struct mig_ctx *c, const char *pre, json_t *in, struct taken *t)
{
    struct inst x;
    int rc;
    if ((rc = instance_fields(c, pre, in, &x)) != 0)
        return rc;
    const struct al_mig_profile *p = catalog_profile(c->m, &x);
    if (x.size > 0 && x.start + x.size > UNITS_MAX)
        return bad(c, pre, "start", "and size must end within 64 placement units");
    uint64_t mask = units_of(x.start, x.size);
    if (t->units & mask)
        return bad(c, pre, "start", "overlaps an instance listed before");
    if ((rc = instance_fits(c, pre, t, x.gi, x.uuid)) != 0)
        return rc;
    t->units |= mask;
    json_t *ci = x.ci < 0 ? json_null() : json_integer(x.ci);
    json_t *o =
        p ? json_pack("{s:s,s:I,s:I,s:I,s:I,s:o,s:s}", "profile", p->name, "profile_id", x.id,
                      "start", x.start, "size", x.size, "gi", x.gi, "ci", ci, "uuid", x.uuid)
          : json_pack("{s:s?,s:I,s:I,s:o,s:I,s:o,s:s}", "profile", x.name, "profile_id", x.id,
                      "start", x.start, "size", x.size < 0 ? json_null() : json_integer(x.size),
                      "gi", x.gi, "ci", ci, "uuid", x.uuid);
    if (!o || json_array_append_new(p ? t->out : t->unmatched, o) != 0)
        return al_node_refuse(c->err, pre, "out of memory");
    return 0;
}

static int check_instances(struct mig_ctx *c, json_t *instances, bool mig_on, struct taken *t)
{
    char pre[PRE_CAP];
    json_t *in;
    size_t i;
    int rc;
    snprintf(pre, sizeof pre, "%s.instances", c->f);
    if (!instances)
        return 0;
    if ((rc = list(c, pre, instances, AL_NODE_MAX_INSTANCES)) != 0)
        return rc;
    if (json_array_size(instances) > 0 && !mig_on)
        return al_node_refuse(c->err, pre, "%s: GPU instances exist only while MIG mode is on",
                              pre);
    json_array_foreach(instances, i, in)
    {
        snprintf(pre, sizeof pre, "%s.instances[%zu]", c->f, i);
        if ((rc = check_instance(c, pre, in, t)) != 0)
            return rc;
    }
    return 0;
}

/* ---- processes ---- */

/* Does `instances` (as observed lists them) hold one with gi `gi`? */
static bool has_gi(json_t *instances, json_int_t gi)
{
    size_t i;
    json_t *o;
    json_array_foreach(instances, i, o)
    {
        if (json_integer_value(json_object_get(o, "gi")) == gi)
            return true;
    }
    return false;
}

/* Process `p` (named `pre`) into `out`. While MIG mode is on it runs on a GPU instance listed
 * (in the catalog or not); its ci is kept as reported: a GPU instance may hold several compute
 * instances, and the process is on its GPU instance whichever it is. */
static int check_process(struct mig_ctx *c, const char *pre, json_t *p, bool mig_on,
                         const struct taken *t, json_t *out)
{
    static const char *const allowed[] = {"pid", "used_memory_mib", "gi", "ci", NULL};
    json_int_t pid, mib, gi, ci;
    int rc;
    if ((rc = shape(c, pre, p, allowed)) != 0 ||
        (rc = get_int(c, pre, p, "pid", 1, PID_MAX, &pid)) != 0 ||
        (rc = get_int(c, pre, p, "used_memory_mib", 0, MIB_MAX, &mib)) != 0 ||
        (rc = get_id_or_null(c, pre, p, "gi", &gi)) != 0 ||
        (rc = get_id_or_null(c, pre, p, "ci", &ci)) != 0)
        return rc;
    if (!mig_on && (gi >= 0 || ci >= 0))
        return bad(c, pre, gi >= 0 ? "gi" : "ci", "must be null while MIG mode is off");
    if (mig_on && !has_gi(t->out, gi) && !has_gi(t->unmatched, gi))
        return bad(c, pre, "gi", "must be the gi of a GPU instance listed while MIG mode is on");
    json_t *o = json_pack("{s:I,s:I,s:o,s:o}", "pid", pid, "used_memory_mib", mib, "gi",
                          gi < 0 ? json_null() : json_integer(gi), "ci",
                          ci < 0 ? json_null() : json_integer(ci));
    if (!o || json_array_append_new(out, o) != 0)
        return al_node_refuse(c->err, pre, "out of memory");
    return 0;
}

/* processes (into `out`; `t` the instances listed) and their total into *total. */
static int check_processes(struct mig_ctx *c, json_t *g, bool mig_on, const struct taken *t,
                           json_t *out, json_int_t *total)
{
    json_t *procs = member(g, "processes"), *p;
    char pre[PRE_CAP];
    size_t i;
    int rc;
    snprintf(pre, sizeof pre, "%s.processes", c->f);
    if (procs && (rc = list(c, pre, procs, AL_NODE_MAX_PROCS)) != 0)
        return rc;
    json_array_foreach(procs, i, p)
    {
        snprintf(pre, sizeof pre, "%s.processes[%zu]", c->f, i);
        if ((rc = check_process(c, pre, p, mig_on, t, out)) != 0)
            return rc;
    }
    /* the agent lists at most AL_NODE_MAX_PROCS and counts the rest */
    *total = (json_int_t)json_array_size(out);
    if (member(g, "processes_total"))
        return get_int(c, c->f, g, "processes_total", *total, PROCS_MAX, total);
    return 0;
}

/* ---- the GPU's observed state ---- */

/* name and memory_mib of `g`, checked, into `obs` when given. */
static int check_product(struct mig_ctx *c, json_t *g, json_t *obs)
{
    const char *name;
    json_int_t mib;
    int rc = get_text(c, c->f, g, "name", true, true, &name);
    if (rc == 0 && name && json_object_set_new(obs, "name", json_string(name)) != 0)
        rc = al_node_refuse(c->err, c->f, "out of memory");
    if (rc == 0 && member(g, "memory_mib") &&
        (rc = get_int(c, c->f, g, "memory_mib", 0, MIB_MAX, &mib)) == 0 &&
        json_object_set_new(obs, "memory_mib", json_integer(mib)) != 0)
        rc = al_node_refuse(c->err, c->f, "out of memory");
    return rc;
}

static int unmatched_differences(const struct al_gpu_model *m, json_t *unmatched, json_t *out);
static int rules_difference(const struct al_gpu_model *m, json_t *insts, json_t *out);

/* obs's members from what was checked: mig, instances, unmatched_instances, processes,
 * processes_total, catalog_differences. 0 or AL_E_NOMEM. */
static int observed_fill(json_t *obs, const struct al_gpu_model *m, const struct mig_mode *mode,
                         json_t *profiles, const struct taken *t, json_t *procs, json_int_t total)
{
    json_t *diffs = json_array();
    int rc = diffs ? 0 : AL_E_NOMEM;
    if (rc == 0 &&
        (json_object_set_new(obs, "mig",
                             json_pack("{s:b,s:b,s:b}", "capable", mode->capable, "current",
                                       mode->current, "pending", mode->pending)) != 0 ||
         json_object_set(obs, "instances", t->out) != 0 ||
         json_object_set(obs, "unmatched_instances", t->unmatched) != 0 ||
         json_object_set(obs, "processes", procs) != 0 ||
         json_object_set_new(obs, "processes_total", json_integer(total)) != 0 ||
         al_node_mig_differences(m, mode->capable, profiles, diffs) != 0 ||
         unmatched_differences(m, t->unmatched, diffs) != 0 ||
         rules_difference(m, t->out, diffs) != 0 ||
         json_object_set(obs, "catalog_differences", diffs) != 0))
        rc = AL_E_NOMEM;
    json_decref(diffs);
    return rc;
}

int al_node_mig_observed(json_t *g, const char *f, const struct al_gpu_model *m, json_t **ret,
                         struct al_node_report_err *err)
{
    struct mig_ctx c = {f, m, err};
    struct mig_mode mode = {0};
    json_t *mig = member(g, "mig"), *profiles = member(g, "profiles");
    json_t *obs = json_object(), *procs = json_array();
    struct taken t = {0, json_array(), json_array()};
    json_int_t total = 0;
    int rc;
    *ret = NULL;
    if (!obs || !t.out || !t.unmatched || !procs) {
        rc = al_node_refuse(err, f, "out of memory");
        goto out;
    }
    if ((rc = check_product(&c, g, obs)) != 0 || (mig && (rc = check_mode(&c, mig, &mode)) != 0) ||
        (profiles && (rc = check_profiles(&c, profiles)) != 0) ||
        (rc = check_instances(&c, member(g, "instances"), mode.current, &t)) != 0 ||
        (rc = check_processes(&c, g, mode.current, &t, procs, &total)) != 0)
        goto out;
    if (observed_fill(obs, m, &mode, profiles, &t, procs, total) != 0) {
        rc = al_node_refuse(err, f, "out of memory");
        goto out;
    }
    if (mig) /* without MIG mode the members are checked, and there is no MIG state */
        *ret = json_incref(obs);
out:
    json_decref(procs);
    json_decref(t.unmatched);
    json_decref(t.out);
    json_decref(obs);
    return rc;
}

/* ---- NVML's profiles against the catalog's ---- */

/* Append one sentence to `out`: 0 or AL_E_NOMEM. */
AL_PRINTF(2, 3)
static int say(json_t *out, const char *fmt, ...)
{
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return json_array_append_new(out, json_string(buf)) == 0 ? 0 : AL_E_NOMEM;
}

/* Usable memory moves between driver versions: published -lgip output shows 39.25 and 39.50
 * GiB for A100-40GB's 7g.40gb, 10.75 and 10.62 GiB for H100 NVL's 1g.12gb. A difference counts
 * only beyond 512 MiB or 2% of the catalog's figure, whichever is larger: above those drifts
 * (256 MiB, 0.6%; 133 MiB, 1.2%), well below the gap between two sizes of one profile (1g.10gb
 * and 1g.20gb: 10 GB). A catalog figure of 0 is unknown: nothing to compare. */
static bool memory_differs(unsigned catalog, json_int_t nvml)
{
    json_int_t tol = catalog / 50 > 512 ? catalog / 50 : 512;
    json_int_t d = nvml - (json_int_t)catalog;
    return catalog > 0 && (d > tol || -d > tol);
}

/* The starts in `mask` as text: runs of three or more as "0-6", others as "0,2,4"; "none". */
static void starts_text(uint64_t mask, char *buf, size_t cap)
{
    size_t n = 0;
    snprintf(buf, cap, "none");
    for (unsigned s = 0; s < UNITS_MAX; s++) {
        unsigned e = s;
        if (!(mask >> s & 1))
            continue;
        while (e + 1 < UNITS_MAX && (mask >> (e + 1) & 1))
            e++;
        e = e - s >= 2 ? e : s;
        int w = e > s ? snprintf(buf + n, cap - n, "%s%u-%u", n ? "," : "", s, e)
                      : snprintf(buf + n, cap - n, "%s%u", n ? "," : "", s);
        if (w < 0 || (size_t)w >= cap - n)
            return;
        n += (size_t)w;
        s = e;
    }
}

/* The placements of NVML profile `p` against catalog profile `cp` (named `who`). */
static int placement_differences(const struct al_mig_profile *cp, json_t *p, const char *who,
                                 json_t *out)
{
    uint64_t got = 0, want = 0;
    json_int_t size = 0;
    char a[200], b[200];
    json_t *pl;
    size_t i;
    int rc = 0;
    json_array_foreach(json_object_get(p, "placements"), i, pl)
    {
        json_int_t sz = json_integer_value(json_object_get(pl, "size"));
        got |= UINT64_C(1) << json_integer_value(json_object_get(pl, "start"));
        size = sz != (json_int_t)cp->size ? sz : size;
    }
    for (unsigned k = 0; k < cp->nstarts; k++)
        want |= UINT64_C(1) << cp->starts[k];
    starts_text(got, a, sizeof a);
    starts_text(want, b, sizeof b);
    if (got != want)
        rc = say(out, "%s: NVML lists placements %s and the catalog %s", who, a, b);
    if (rc == 0 && size)
        rc =
            say(out,
                "%s: NVML lists placements of %" JSON_INTEGER_FORMAT " units and the catalog of %u",
                who, size, cp->size);
    return rc;
}

/* What NVML profile `p` says that the catalog profile with its id does not. */
static int profile_differences(const struct al_gpu_model *m, json_t *p, json_t *out)
{
    json_int_t id = json_integer_value(json_object_get(p, "id"));
    json_int_t slices = json_integer_value(json_object_get(p, "slices"));
    json_int_t mib = json_integer_value(json_object_get(p, "memory_mib"));
    const char *name = json_string_value(json_object_get(p, "name"));
    int pi = profile_by_id(m, id), rc = 0;
    char who[160];
    if (pi < 0) {
        snprintf(who, sizeof who, "profile %" JSON_INTEGER_FORMAT "%s%s%s", id,
                 name && name[0] ? " (" : "", name && name[0] ? name : "",
                 name && name[0] ? ")" : "");
        return say(out, "%s: NVML lists it and the catalog does not", who);
    }
    const struct al_mig_profile *cp = &m->profiles[pi];
    snprintf(who, sizeof who, "profile %" JSON_INTEGER_FORMAT " (%s)", id, cp->name);
    if (slices != (json_int_t)cp->compute_slices)
        rc = say(out, "%s: NVML lists %" JSON_INTEGER_FORMAT " compute slices and the catalog %u",
                 who, slices, cp->compute_slices);
    if (rc == 0 && memory_differs(cp->mem_mib, mib))
        rc = say(out, "%s: NVML lists %" JSON_INTEGER_FORMAT " MiB and the catalog %u MiB", who,
                 mib, cp->mem_mib);
    return rc == 0 ? placement_differences(cp, p, who, out) : rc;
}

/* Does `profiles` (NVML's) list the profile with id `id`? */
static bool listed(json_t *profiles, unsigned id)
{
    size_t i;
    json_t *p;
    json_array_foreach(profiles, i, p)
    {
        if (json_integer_value(json_object_get(p, "id")) == (json_int_t)id)
            return true;
    }
    return false;
}

int al_node_mig_differences(const struct al_gpu_model *m, bool capable, json_t *profiles,
                            json_t *out)
{
    size_t i;
    json_t *p;
    int rc = 0;
    if (capable != m->mig)
        rc = say(out, "NVML reports the GPU %sMIG capable and the catalog lists %s for %s",
                 capable ? "" : "not ", m->mig ? "MIG" : "no MIG", m->name);
    json_array_foreach(profiles, i, p)
    {
        if (rc == 0)
            rc = profile_differences(m, p, out);
    }
    /* only a GPU whose NVML lists profiles says which of the catalog's it lacks */
    for (unsigned k = 0; rc == 0 && json_array_size(profiles) > 0 && m->mig && k < m->nprofiles;
         k++)
        if (!listed(profiles, m->profiles[k].nvml_id))
            rc = say(out, "profile %u (%s): the catalog lists it and NVML does not",
                     m->profiles[k].nvml_id, m->profiles[k].name);
    return rc;
}

/* One sentence per instance outside the catalog (observed's unmatched_instances), naming what
 * the catalog lacks of it. Neither its gi nor its uuid is named: they change when the
 * instance is made again, and the sentences should not (gpu.catalog_mismatch fires when they
 * change). 0 or AL_E_NOMEM. */
static int unmatched_differences(const struct al_gpu_model *m, json_t *unmatched, json_t *out)
{
    size_t i;
    json_t *x;
    int rc = 0;
    json_array_foreach(unmatched, i, x)
    {
        json_int_t id = json_integer_value(json_object_get(x, "profile_id"));
        json_int_t start = json_integer_value(json_object_get(x, "start"));
        json_t *size = json_object_get(x, "size");
        const char *name = json_string_value(json_object_get(x, "profile"));
        int pi = profile_by_id(m, id);
        char who[200], why[160];
        snprintf(who, sizeof who,
                 "instance of profile %" JSON_INTEGER_FORMAT
                 "%s%s%s at start %" JSON_INTEGER_FORMAT,
                 id, name ? " (" : "", name ? name : "", name ? ")" : "", start);
        if (pi < 0)
            snprintf(why, sizeof why, "the catalog has no profile of that NVML id for %s", m->name);
        else if (name && !names_profile(m, name, pi))
            snprintf(why, sizeof why, "the catalog's profile %" JSON_INTEGER_FORMAT " is %s", id,
                     m->profiles[pi].name);
        else
            snprintf(why, sizeof why,
                     "the catalog does not allow %s at start %" JSON_INTEGER_FORMAT
                     " with %" JSON_INTEGER_FORMAT " units",
                     m->profiles[pi].name, start, json_integer_value(size));
        if (rc == 0)
            rc = say(out, "%s: %s; no MIG change is planned for this GPU while it is there", who,
                     why);
    }
    return rc;
}

/* One sentence when the catalog's instances (`insts`, each at a placement the catalog allows)
 * together break the model's other layout rules (slices, counts, media engines: unverified
 * for GPUs newer than H100) that NVML let stand. 0 or AL_E_NOMEM. */
static int rules_difference(const struct al_gpu_model *m, json_t *insts, json_t *out)
{
    struct al_layout l = {.model = m};
    struct al_err e = {0};
    size_t i;
    json_t *x;
    json_array_foreach(insts, i, x)
    {
        int pi = profile_by_id(m, json_integer_value(json_object_get(x, "profile_id")));
        if (pi < 0 || pi >= AL_MIG_MAX_PROFILES || l.n == AL_LAYOUT_MAX)
            return 0; /* not the catalog's: never listed among insts */
        l.p[l.n++] = (struct al_placement){
            (uint8_t)pi, (uint8_t)json_integer_value(json_object_get(x, "start"))};
    }
    al_layout_sort(&l);
    if (l.n == 0 || al_layout_validate(&l, &e) == 0)
        return 0;
    return say(out,
               "the instances break the catalog's layout rules for %s (%s); no MIG change is "
               "planned for this GPU while they are there",
               m->name, e.msg);
}
