/* drv_sim_file.c — the `sim` driver's state file: read (untrusted input: bounded, every field
 * checked, the field named in the error), and written back atomically after each change. */
#include "agent/drv_sim_internal.h"

#include "agent/simfleet.h"
#include "core/layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *name;
    int code;
} fail_names[] = {
    {"in_use", AL_E_STATE},
    {"not_supported", AL_E_UNSUPPORTED},
    {"no_permission", AL_E_FORBIDDEN},
    {"invalid_argument", AL_E_INVAL},
    {"insufficient_resources", AL_E_NOFIT},
    {"not_found", AL_E_NOTFOUND},
    {"unknown", AL_E_NVML},
};

static const char *const op_names[AL_SIM_NOPS] = {"create", "destroy", "mig_mode", "reset"};

int al_sim_fail_code(const char *name)
{
    for (size_t i = 0; name && i < sizeof fail_names / sizeof fail_names[0]; i++)
        if (strcmp(name, fail_names[i].name) == 0)
            return fail_names[i].code;
    return 0;
}

const char *al_sim_fail_name(int code)
{
    for (size_t i = 0; i < sizeof fail_names / sizeof fail_names[0]; i++)
        if (fail_names[i].code == code)
            return fail_names[i].name;
    return "unknown";
}

const char *al_sim_op_name(enum al_sim_op op)
{
    return op < AL_SIM_NOPS ? op_names[op] : "?";
}

void al_sim_mig_uuid(const char *gpu, unsigned gi, unsigned serial, char *out, size_t cap)
{
    char buf[64];
    al_simfleet_uuid(gpu, gi * 65599u + serial, buf, sizeof buf); /* "GPU-…": same shape */
    snprintf(out, cap, "MIG-%s", buf + 4);
}

/* Refuse a key of `obj` not in the NULL-terminated `allowed`: a typo in a planted state must
 * not be silently ignored. */
static int only_keys(json_t *obj, const char *const *allowed, const char *where,
                     struct al_err *reterr)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k) != 0)
            i++;
        if (!allowed[i])
            return al_err_set(reterr, AL_E_INVAL, "%s: unknown field \"%.40s\"", where, k);
    }
    return 0;
}

/* An optional unsigned field `key` of `obj` within lo..hi into *ret (untouched when absent:
 * the caller sets the default first). */
static int get_uint(json_t *obj, const char *key, json_int_t lo, json_int_t hi, unsigned *ret,
                    const char *where, struct al_err *reterr)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return al_err_set(reterr, AL_E_INVAL, "%s.%s: an integer %lld..%lld", where, key,
                          (long long)lo, (long long)hi);
    *ret = (unsigned)json_integer_value(v);
    return 0;
}

static int get_bool(json_t *obj, const char *key, bool def, bool *ret, const char *where,
                    struct al_err *reterr)
{
    json_t *v = json_object_get(obj, key);
    if (v && !json_is_boolean(v))
        return al_err_set(reterr, AL_E_INVAL, "%s.%s: true or false", where, key);
    *ret = v ? json_is_true(v) : def;
    return 0;
}

/* A uuid as the server takes it: 8..47 printable ASCII bytes, no space. */
static int get_uuid(json_t *obj, const char *where, char *out, struct al_err *reterr)
{
    json_t *v = json_object_get(obj, "uuid");
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    int ok = s && n >= 8 && n <= 47;
    for (size_t i = 0; ok && i < n; i++)
        ok = (unsigned char)s[i] > ' ' && (unsigned char)s[i] < 0x7f;
    if (v && !ok)
        return al_err_set(reterr, AL_E_INVAL, "%s.uuid: 8..47 printable ASCII characters, no space",
                          where);
    if (v)
        memcpy(out, s, n + 1);
    return 0;
}

static int parse_inst(json_t *j, struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    static const char *const keys[] = {"gi", "ci", "profile", "start", "uuid", NULL};
    struct al_sim_inst *in = &g->inst[g->ninst];
    const char *prof = json_string_value(json_object_get(j, "profile"));
    int rc, pi;
    if (!json_is_object(j))
        return al_err_set(reterr, AL_E_INVAL, "%s: an object", where);
    *in = (struct al_sim_inst){.gi = AL_DRV_NONE};
    if ((rc = only_keys(j, keys, where, reterr)) < 0 ||
        (rc = get_uint(j, "gi", 0, AL_SIM_MAX_GI_ID, &in->gi, where, reterr)) < 0 ||
        (rc = get_uint(j, "ci", 0, AL_SIM_MAX_CI_ID, &in->ci, where, reterr)) < 0 ||
        (rc = get_uint(j, "start", 0, AL_MIG_MAX_UNITS - 1, &in->start, where, reterr)) < 0 ||
        (rc = get_uuid(j, where, in->uuid, reterr)) < 0)
        return rc;
    if (in->gi == AL_DRV_NONE || !json_object_get(j, "start"))
        return al_err_set(reterr, AL_E_INVAL, "%s: gi and start are required", where);
    /* by name first, so that an alias ("1g.24gb" on GB200) or NVML's "MIG 3g.40gb" reads as
     * the profile it names; "id:9" still goes by the NVML id */
    if (prof && (pi = al_catalog_profile_by_name(g->model, prof)) < 0)
        pi = al_catalog_profile_index(g->model, prof);
    if (!prof || pi < 0)
        return al_err_set(reterr, AL_E_INVAL,
                          "%s.profile: a profile of %s (\"3g.40gb\", an alias of one, or \"id:9\")",
                          where, g->model->name);
    in->prof = (unsigned)pi;
    for (unsigned i = 0; i < g->ninst; i++)
        if (g->inst[i].gi == in->gi)
            return al_err_set(reterr, AL_E_INVAL, "%s.gi: GPU instance %u given twice", where,
                              in->gi);
    if (!in->uuid[0])
        al_sim_mig_uuid(g->uuid, in->gi, 0, in->uuid, sizeof in->uuid);
    g->ninst++;
    return 0;
}

/* The planted instances together: a layout NVML would have let exist. */
static int check_layout(const struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    struct al_layout l = {.model = g->model, .n = g->ninst};
    struct al_err e = {0};
    for (unsigned i = 0; i < g->ninst; i++)
        l.p[i] = (struct al_placement){(uint8_t)g->inst[i].prof, (uint8_t)g->inst[i].start};
    if (al_layout_validate(&l, &e) < 0)
        return al_err_set(reterr, AL_E_INVAL, "%s.instances: %s", where, e.msg);
    return 0;
}

static const struct al_sim_inst *find_gi(const struct al_sim_gpu *g, unsigned gi)
{
    for (unsigned i = 0; i < g->ninst; i++)
        if (g->inst[i].gi == gi)
            return &g->inst[i];
    return NULL;
}

static int parse_proc(json_t *j, struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    static const char *const keys[] = {"pid", "used_mib", "gi", "ci", NULL};
    struct al_sim_proc *p = &g->proc[g->nproc];
    unsigned mib = 0;
    int rc;
    if (!json_is_object(j))
        return al_err_set(reterr, AL_E_INVAL, "%s: an object", where);
    *p = (struct al_sim_proc){.gi = AL_DRV_NONE, .ci = AL_DRV_NONE};
    if ((rc = only_keys(j, keys, where, reterr)) < 0 ||
        (rc = get_uint(j, "pid", 1, AL_SIM_MAX_PID, &p->pid, where, reterr)) < 0 ||
        (rc = get_uint(j, "used_mib", 0, (json_int_t)g->model->mem_gb * 1024, &mib, where,
                       reterr)) < 0 ||
        (rc = get_uint(j, "gi", 0, AL_SIM_MAX_GI_ID, &p->gi, where, reterr)) < 0 ||
        (rc = get_uint(j, "ci", 0, AL_SIM_MAX_CI_ID, &p->ci, where, reterr)) < 0)
        return rc;
    p->used_mib = mib;
    if (!p->pid)
        return al_err_set(reterr, AL_E_INVAL, "%s.pid: required", where);
    if (g->mig != (p->gi != AL_DRV_NONE))
        return al_err_set(reterr, AL_E_INVAL, "%s.gi: %s", where,
                          g->mig ? "required while MIG is on" : "only while MIG is on");
    const struct al_sim_inst *in = g->mig ? find_gi(g, p->gi) : NULL;
    if (g->mig && !in)
        return al_err_set(reterr, AL_E_INVAL, "%s.gi: no GPU instance %u", where, p->gi);
    if (in && p->ci == AL_DRV_NONE)
        p->ci = in->ci;
    g->nproc++;
    return 0;
}

/* Run `fn` over the array `key` of `obj` (at most `max` items), naming each item. */
static int each_item(json_t *obj, const char *key, unsigned max, struct al_sim_gpu *g,
                     const char *where,
                     int (*fn)(json_t *, struct al_sim_gpu *, const char *, struct al_err *),
                     struct al_err *reterr)
{
    json_t *arr = json_object_get(obj, key), *it;
    char w[96];
    size_t i;
    if (!arr)
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > max)
        return al_err_set(reterr, AL_E_INVAL, "%s.%s: an array of at most %u", where, key, max);
    json_array_foreach(arr, i, it)
    {
        snprintf(w, sizeof w, "%s.%s[%zu]", where, key, i);
        int rc = fn(it, g, w, reterr);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_fail(json_t *j, struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    const char *k;
    json_t *v;
    if (!j)
        return 0;
    if (!json_is_object(j))
        return al_err_set(reterr, AL_E_INVAL, "%s.fail_next: an object", where);
    json_object_foreach(j, k, v)
    {
        int op = 0;
        while (op < AL_SIM_NOPS && strcmp(op_names[op], k) != 0)
            op++;
        int code = al_sim_fail_code(json_string_value(v));
        if (op == AL_SIM_NOPS || !code)
            return al_err_set(reterr, AL_E_INVAL,
                              "%s.fail_next: {create|destroy|mig_mode|reset: in_use, "
                              "not_supported, no_permission, invalid_argument, "
                              "insufficient_resources, not_found or unknown}",
                              where);
        g->fail[op] = code;
    }
    return 0;
}

/* The fields of GPU `g` before its instances and processes. */
static int parse_gpu_head(json_t *j, struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    json_t *mig = json_object_get(j, "mig");
    const char *model = json_string_value(json_object_get(j, "model"));
    static const char *const mkeys[] = {"current", "pending", NULL};
    int rc;
    if ((rc = get_uint(j, "index", 0, AL_DRV_MAX_GPUS - 1, &g->index, where, reterr)) < 0 ||
        (rc = get_bool(j, "healthy", true, &g->healthy, where, reterr)) < 0 ||
        (rc = get_uuid(j, where, g->uuid, reterr)) < 0)
        return rc;
    if (!model || !(g->model = al_catalog_find(model)))
        return al_err_set(reterr, AL_E_INVAL, "%s.model: a model of the catalog (allot mig models)",
                          where);
    if (!g->uuid[0])
        al_simfleet_uuid("sim", g->index, g->uuid, sizeof g->uuid);
    if (mig && (!json_is_object(mig) || (rc = only_keys(mig, mkeys, where, reterr)) < 0 ||
                (rc = get_bool(mig, "current", false, &g->mig, where, reterr)) < 0 ||
                (rc = get_bool(mig, "pending", g->mig, &g->mig_pending, where, reterr)) < 0))
        return rc < 0 ? rc : al_err_set(reterr, AL_E_INVAL, "%s.mig: an object", where);
    if (!mig)
        g->mig = g->mig_pending = false;
    if ((g->mig || g->mig_pending) && !g->model->mig)
        return al_err_set(reterr, AL_E_INVAL, "%s.mig: %s has no MIG", where, g->model->name);
    return 0;
}

static int parse_gpu(json_t *j, struct al_sim_gpu *g, const char *where, struct al_err *reterr)
{
    static const char *const keys[] = {"index",     "uuid",      "model",     "healthy", "mig",
                                       "instances", "processes", "fail_next", NULL};
    int rc;
    if (!json_is_object(j))
        return al_err_set(reterr, AL_E_INVAL, "%s: an object", where);
    if ((rc = only_keys(j, keys, where, reterr)) < 0 ||
        (rc = parse_gpu_head(j, g, where, reterr)) < 0)
        return rc;
    if (!g->mig && json_array_size(json_object_get(j, "instances")) > 0)
        return al_err_set(reterr, AL_E_INVAL, "%s.instances: only while MIG is on", where);
    if ((rc = each_item(j, "instances", AL_DRV_MAX_INSTANCES, g, where, parse_inst, reterr)) < 0 ||
        (rc = check_layout(g, where, reterr)) < 0 ||
        (rc = each_item(j, "processes", AL_DRV_MAX_PROCS, g, where, parse_proc, reterr)) < 0)
        return rc;
    return parse_fail(json_object_get(j, "fail_next"), g, where, reterr);
}

static int parse_root(json_t *root, struct al_sim_state *st, struct al_err *reterr)
{
    static const char *const keys[] = {"gpus", "serial", NULL};
    json_t *gpus = json_object_get(root, "gpus"), *j;
    uint64_t seen = 0;
    char where[32];
    size_t i;
    int rc;
    if (!json_is_object(root))
        return al_err_set(reterr, AL_E_INVAL, "state file: a JSON object");
    if ((rc = only_keys(root, keys, "state file", reterr)) < 0 ||
        (rc = get_uint(root, "serial", 0, 1000000000, &st->serial, "state file", reterr)) < 0)
        return rc;
    if (!json_is_array(gpus) || json_array_size(gpus) > AL_DRV_MAX_GPUS)
        return al_err_set(reterr, AL_E_INVAL, "state file: gpus: an array of 0..%d GPUs",
                          AL_DRV_MAX_GPUS);
    json_array_foreach(gpus, i, j)
    {
        struct al_sim_gpu *g = &st->gpu[i];
        snprintf(where, sizeof where, "gpus[%zu]", i);
        g->index = (unsigned)i;
        if ((rc = parse_gpu(j, g, where, reterr)) < 0)
            return rc;
        if (seen & (1ull << g->index))
            return al_err_set(reterr, AL_E_INVAL, "%s.index: %u given twice", where, g->index);
        seen |= 1ull << g->index;
        st->ngpus++;
    }
    return 0;
}

int al_sim_parse(const char *text, size_t len, struct al_sim_state *st, struct al_err *reterr)
{
    json_error_t je;
    json_t *root;
    int rc;
    memset(st, 0, sizeof *st);
    if (len > AL_SIM_MAX_BYTES)
        return al_err_set(reterr, AL_E_RANGE, "state file larger than %u bytes", AL_SIM_MAX_BYTES);
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)))
        return al_err_set(reterr, AL_E_INVAL, "state file, line %d: %s", je.line, je.text);
    rc = parse_root(root, st, reterr);
    json_decref(root);
    if (rc < 0)
        memset(st, 0, sizeof *st);
    return rc;
}

int al_sim_load(const char *path, struct al_sim_state *st, struct al_err *reterr)
{
    struct stat sb;
    char *buf = NULL;
    int rc;
    FILE *fp = fopen(path, "rb");
    if (!fp || fstat(fileno(fp), &sb) < 0) {
        int e = errno;
        char why[128] = "?";
        (void)strerror_r(e, why, sizeof why);
        rc = al_err_set(reterr, -e, "state file %s: %s", path, why);
        goto out;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > (off_t)AL_SIM_MAX_BYTES) {
        rc = al_err_set(reterr, AL_E_RANGE, "state file %s: not a regular file of at most %u bytes",
                        path, AL_SIM_MAX_BYTES);
        goto out;
    }
    if (!(buf = malloc((size_t)sb.st_size + 1))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    size_t n = fread(buf, 1, (size_t)sb.st_size, fp);
    if (ferror(fp)) {
        rc = al_err_set(reterr, AL_E_IO, "state file %s: read error", path);
        goto out;
    }
    rc = al_sim_parse(buf, n, st, reterr);
out:
    if (fp)
        (void)fclose(fp); /* read-only: nothing to lose */
    free(buf);
    return rc;
}

static json_t *inst_json(const struct al_sim_gpu *g, const struct al_sim_inst *in)
{
    json_t *j = json_pack("{s:I,s:s,s:I,s:s}", "gi", (json_int_t)in->gi, "profile",
                          g->model->profiles[in->prof].name, "start", (json_int_t)in->start, "uuid",
                          in->uuid);
    if (j && in->ci != AL_DRV_NONE)
        json_object_set_new(j, "ci", json_integer(in->ci));
    return j;
}

static json_t *proc_json(const struct al_sim_proc *p)
{
    json_t *j =
        json_pack("{s:I,s:I}", "pid", (json_int_t)p->pid, "used_mib", (json_int_t)p->used_mib);
    if (j && p->gi != AL_DRV_NONE) {
        json_object_set_new(j, "gi", json_integer(p->gi));
        json_object_set_new(j, "ci", json_integer(p->ci));
    }
    return j;
}

static json_t *gpu_json(const struct al_sim_gpu *g)
{
    json_t *inst = json_array(), *proc = json_array(), *fail = json_object();
    for (unsigned i = 0; inst && i < g->ninst; i++)
        json_array_append_new(inst, inst_json(g, &g->inst[i]));
    for (unsigned i = 0; proc && i < g->nproc; i++)
        json_array_append_new(proc, proc_json(&g->proc[i]));
    for (int op = 0; fail && op < AL_SIM_NOPS; op++)
        if (g->fail[op])
            json_object_set_new(fail, op_names[op], json_string(al_sim_fail_name(g->fail[op])));
    return json_pack("{s:I,s:s,s:s,s:b,s:{s:b,s:b},s:o,s:o,s:o}", "index", (json_int_t)g->index,
                     "uuid", g->uuid, "model", g->model->name, "healthy", g->healthy, "mig",
                     "current", g->mig, "pending", g->mig_pending, "instances", inst, "processes",
                     proc, "fail_next", fail);
}

int al_sim_save(const char *path, const struct al_sim_state *st, struct al_err *reterr)
{
    char tmp[4096];
    json_t *gpus = json_array(), *root;
    int rc = 0;
    for (unsigned i = 0; gpus && i < st->ngpus; i++)
        if (json_array_append_new(gpus, gpu_json(&st->gpu[i])) < 0)
            break;
    root = json_pack("{s:I,s:o}", "serial", (json_int_t)st->serial, "gpus", gpus);
    if (!root || json_array_size(gpus) != st->ngpus) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        rc = al_err_set(reterr, AL_E_RANGE, "state file %s: path too long", path);
        goto out;
    }
    /* a reader (a test planting a process, the agent's next call) sees the old or the new
     * state, never half of one */
    if (json_dump_file(root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        char why[128] = "?";
        (void)strerror_r(e, why, sizeof why);
        (void)unlink(tmp);
        rc = al_err_set(reterr, -e, "state file %s: cannot write it: %s", path, why);
    }
out:
    json_decref(root);
    return rc;
}
