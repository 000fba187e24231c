/* simfleet.c — reading and validating a simulated fleet file, and reporting it to the server. */
#include "agent/simfleet.h"

#include "core/fleet.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* the server's bounds (docs/api.md, "Field limits"): node names, zones and uuids as long as
 * core/fleet.h keeps them, label keys and model names 64 */
#define AL_NAME_MAX   64
#define AL_NODE_MAX   (AL_FLEET_NAME_MAX - 1)
#define AL_ZONE_MAX   (AL_FLEET_ZONE_MAX - 1)
#define AL_UUID_MAX   (AL_FLEET_UUID_MAX - 1)
#define AL_LABELS_MAX 64
#define AL_LABEL_MAX  256

struct al_simfleet {
    json_t *nodes; /* array of {"name": …, "body": {…}} */
    size_t ngpus;
};

/* 1..max characters of [A-Za-z0-9._-]? */
static int valid_name(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static uint64_t fnv1a(uint64_t h, const char *s, unsigned index)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((index >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    return h;
}

void al_simfleet_uuid(const char *node, unsigned index, char *out, size_t cap)
{
    uint64_t a = fnv1a(0xcbf29ce484222325ull, node, index);
    uint64_t b = fnv1a(0x84222325cbf29ce4ull ^ a, node, index);
    snprintf(out, cap, "GPU-%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
             (unsigned long long)(b & 0xffffffffffffull));
}

static int check_labels(json_t *labels, const char *node, struct al_err *reterr)
{
    const char *k;
    json_t *v;
    if (!labels)
        return 0;
    if (!json_is_object(labels) || json_object_size(labels) > AL_LABELS_MAX)
        return al_err_set(reterr, AL_E_INVAL, "node %s: labels: an object of at most %d strings",
                          node, AL_LABELS_MAX);
    json_object_foreach(labels, k, v)
    {
        if (!valid_name(k, AL_NAME_MAX) || !json_is_string(v) ||
            json_string_length(v) > AL_LABEL_MAX)
            return al_err_set(reterr, AL_E_INVAL,
                              "node %s: label '%.64s': name [A-Za-z0-9._-]{1,64}, value a "
                              "string of at most %d bytes",
                              node, k, AL_LABEL_MAX);
    }
    return 0;
}

/* A uuid the server takes (server/node_report.h): 8..47 printable ASCII bytes, no space. */
static int uuid_ok(const char *u)
{
    size_t n = strlen(u);
    if (n < 8 || n >= AL_FLEET_UUID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= ' ' || (unsigned char)u[i] >= 0x7f)
            return 0;
    return 1;
}

/* What one "gpus" entry says about each GPU it stands for. */
struct gpu_spec {
    const char *model, *uuid, *pool; /* uuid NULL: derive one */
    int healthy;
};

/* One GPU of node `node` at `index` into `out`. */
static int add_gpu(json_t *out, const char *node, unsigned index, const struct gpu_spec *g,
                   struct al_err *reterr)
{
    char ubuf[48];
    const char *uuid = g->uuid;
    if (json_array_size(out) >= AL_SIMFLEET_MAX_GPUS)
        return al_err_set(reterr, AL_E_RANGE, "node %s: more than %d GPUs", node,
                          AL_SIMFLEET_MAX_GPUS);
    if (!uuid) {
        al_simfleet_uuid(node, index, ubuf, sizeof ubuf);
        uuid = ubuf;
    }
    json_t *j = json_pack("{s:I,s:s,s:s,s:s,s:b}", "index", (json_int_t)index, "uuid", uuid,
                          "model", g->model, "pool", g->pool, "healthy", g->healthy);
    if (!j || json_array_append_new(out, j) < 0)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    return 0;
}

/* One "gpus" entry: {"model","count"} (count GPUs) or {"model","uuid","index"?} (one). */
static int add_entry(json_t *out, const char *node, json_t *e, struct al_err *reterr)
{
    const char *model = json_string_value(json_object_get(e, "model"));
    const char *uuid = json_string_value(json_object_get(e, "uuid"));
    json_t *jc = json_object_get(e, "count"), *ji = json_object_get(e, "index");
    json_t *jp = json_object_get(e, "pool"), *jh = json_object_get(e, "healthy");
    const char *pool = jp ? json_string_value(jp) : "dedicated";
    json_int_t count = jc ? json_integer_value(jc) : 1;
    if (!json_is_object(e) || !valid_name(model, AL_NAME_MAX))
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus[].model: a model name", node);
    if (!pool || (strcmp(pool, "general") != 0 && strcmp(pool, "dedicated") != 0))
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus[].pool: general or dedicated", node);
    if (jh && !json_is_boolean(jh))
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus[].healthy: a boolean", node);
    if ((jc && !json_is_integer(jc)) || count < 1 || count > AL_SIMFLEET_MAX_GPUS)
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus[].count: 1..%d", node,
                          AL_SIMFLEET_MAX_GPUS);
    if (uuid && (count != 1 || !uuid_ok(uuid)))
        return al_err_set(reterr, AL_E_INVAL,
                          "node %s: gpus[].uuid: 8..%d printable ASCII characters, no space, one "
                          "GPU per entry",
                          node, AL_UUID_MAX);
    if (ji && (!json_is_integer(ji) || json_integer_value(ji) < 0 ||
               json_integer_value(ji) >= AL_SIMFLEET_MAX_GPUS || count != 1))
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus[].index: 0..%d, one GPU per entry",
                          node, AL_SIMFLEET_MAX_GPUS - 1);
    struct gpu_spec g = {model, uuid, pool, jh ? json_is_true(jh) : 1};
    for (json_int_t k = 0; k < count; k++) {
        unsigned index = ji ? (unsigned)json_integer_value(ji) : (unsigned)json_array_size(out);
        int rc = add_gpu(out, node, index, &g, reterr);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int check_indexes(json_t *gpus, const char *node, struct al_err *reterr)
{
    uint64_t seen = 0;
    size_t i;
    json_t *g;
    json_array_foreach(gpus, i, g)
    {
        json_int_t x = json_integer_value(json_object_get(g, "index"));
        if (seen & (1ull << x))
            return al_err_set(reterr, AL_E_INVAL, "node %s: GPU index %d given twice", node,
                              (int)x);
        seen |= 1ull << x;
    }
    return 0;
}

/* Validate node `n` and append {"name", "body"} to f->nodes. */
static int add_node(struct al_simfleet *f, json_t *n, json_t *names, struct al_err *reterr)
{
    const char *name = json_string_value(json_object_get(n, "name"));
    json_t *zone = json_object_get(n, "zone"), *labels = json_object_get(n, "labels");
    json_t *gin = json_object_get(n, "gpus"), *gpus = NULL, *e;
    size_t i;
    int rc;
    if (!json_is_object(n) || !valid_name(name, AL_NODE_MAX))
        return al_err_set(reterr, AL_E_INVAL, "nodes[%zu].name: [A-Za-z0-9._-]{1,%d}",
                          json_array_size(f->nodes), AL_NODE_MAX);
    if (json_object_get(names, name))
        return al_err_set(reterr, AL_E_INVAL, "node %s: name given twice", name);
    if (zone && !valid_name(json_string_value(zone), AL_ZONE_MAX))
        return al_err_set(reterr, AL_E_INVAL, "node %s: zone: [A-Za-z0-9._-]{1,%d}", name,
                          AL_ZONE_MAX);
    if ((rc = check_labels(labels, name, reterr)) < 0)
        return rc;
    if (!json_is_array(gin) || json_array_size(gin) == 0 ||
        json_array_size(gin) > AL_SIMFLEET_MAX_GPUS)
        return al_err_set(reterr, AL_E_INVAL, "node %s: gpus: 1..%d entries", name,
                          AL_SIMFLEET_MAX_GPUS);
    if (!(gpus = json_array()))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    json_array_foreach(gin, i, e) if ((rc = add_entry(gpus, name, e, reterr)) < 0) goto out;
    if ((rc = check_indexes(gpus, name, reterr)) < 0)
        goto out;
    f->ngpus += json_array_size(gpus);
    json_t *body = json_pack("{s:o,s:O}", "labels", labels ? json_incref(labels) : json_object(),
                             "gpus", gpus);
    if (body && zone)
        json_object_set(body, "zone", zone);
    if (!body ||
        json_array_append_new(f->nodes, json_pack("{s:s,s:o}", "name", name, "body", body)) < 0 ||
        json_object_set_new(names, name, json_true()) < 0)
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
out:
    json_decref(gpus);
    return rc;
}

int al_simfleet_parse(const char *text, size_t len, struct al_simfleet **ret, struct al_err *reterr)
{
    json_error_t je;
    json_t *root = NULL, *names = json_object(), *nodes, *n;
    struct al_simfleet *f = calloc(1, sizeof *f);
    size_t i;
    int rc = 0;
    *ret = NULL;
    if (!f || !names || !(f->nodes = json_array())) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    if (len > AL_SIMFLEET_MAX_BYTES) {
        rc = al_err_set(reterr, AL_E_RANGE, "fleet file larger than %u bytes",
                        AL_SIMFLEET_MAX_BYTES);
        goto out;
    }
    if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je))) {
        rc = al_err_set(reterr, AL_E_INVAL, "fleet file, line %d: %s", je.line, je.text);
        goto out;
    }
    nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0 ||
        json_array_size(nodes) > AL_SIMFLEET_MAX_NODES) {
        rc = al_err_set(reterr, AL_E_INVAL, "fleet file: \"nodes\": an array of 1..%d nodes",
                        AL_SIMFLEET_MAX_NODES);
        goto out;
    }
    json_array_foreach(nodes, i, n) if ((rc = add_node(f, n, names, reterr)) < 0) goto out;
    *ret = f;
    f = NULL;
out:
    json_decref(root);
    json_decref(names);
    al_simfleet_free(f);
    return rc;
}

int al_simfleet_load(const char *path, struct al_simfleet **ret, struct al_err *reterr)
{
    struct stat st;
    char *buf = NULL;
    int rc = 0;
    FILE *fp = fopen(path, "rb");
    *ret = NULL;
    if (!fp || fstat(fileno(fp), &st) < 0) {
        int e = errno;
        char why[128] = "?";
        (void)strerror_r(e, why, sizeof why); /* the agent may be threaded: not strerror */
        rc = al_err_set(reterr, -e, "fleet file %s: %s", path, why);
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)AL_SIMFLEET_MAX_BYTES) {
        rc = al_err_set(reterr, AL_E_RANGE,
                        "fleet file %s: not a regular file of at most %u "
                        "bytes",
                        path, AL_SIMFLEET_MAX_BYTES);
        goto out;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        rc = al_err_set(reterr, AL_E_NOMEM, "out of memory");
        goto out;
    }
    size_t n = fread(buf, 1, (size_t)st.st_size, fp);
    if (ferror(fp)) {
        rc = al_err_set(reterr, AL_E_IO, "fleet file %s: read error", path);
        goto out;
    }
    rc = al_simfleet_parse(buf, n, ret, reterr);
out:
    if (fp)
        (void)fclose(fp); /* read-only: nothing to lose */
    free(buf);
    return rc;
}

void al_simfleet_free(struct al_simfleet *f)
{
    if (!f)
        return;
    json_decref(f->nodes);
    free(f);
}

size_t al_simfleet_count(const struct al_simfleet *f)
{
    return json_array_size(f->nodes);
}

const char *al_simfleet_name(const struct al_simfleet *f, size_t i)
{
    return json_string_value(json_object_get(json_array_get(f->nodes, i), "name"));
}

json_t *al_simfleet_body(const struct al_simfleet *f, size_t i)
{
    return json_object_get(json_array_get(f->nodes, i), "body");
}

size_t al_simfleet_gpus(const struct al_simfleet *f)
{
    return f->ngpus;
}

int al_simfleet_report(const struct al_simfleet *f, struct al_client *c, size_t *ret_failed,
                       struct al_err *reterr)
{
    size_t ok = 0, failed = 0;
    struct al_err e = {0};
    for (size_t i = 0; i < al_simfleet_count(f); i++) {
        struct al_path p;
        const char *path;
        al_path_init(&p, "/v1/nodes");
        al_path_seg(&p, al_simfleet_name(f, i));
        int rc = (path = al_path_str(&p, &e))
                     ? al_client_call(c, "PUT", path, al_simfleet_body(f, i), NULL, NULL, NULL, &e)
                     : e.code;
        if (rc == 0) {
            ok++;
        } else if (failed++ == 0) {
            al_err_set(reterr, rc, "node %s: %s", al_simfleet_name(f, i), e.msg);
        }
    }
    if (ret_failed)
        *ret_failed = failed;
    return (int)ok;
}
