/* fleet.c — nodes and GPUs with dense ids, a bitset of GPU ids per model, and the bitsets of
 * usable GPUs and of each pool, kept in step by every setter. */
#include "core/fleet.h"

#include <stdlib.h>
#include <string.h>

struct al_fleet {
    struct al_node *nodes;
    uint32_t nnodes, capnodes;
    struct al_gpu *gpus;
    uint32_t ngpus, capgpus;
    size_t words; /* words per bitset: enough for capgpus */
    unsigned nmodels;
    const struct al_gpu_model *models[AL_FLEET_MAX_MODELS];
    uint64_t *model_bits[AL_FLEET_MAX_MODELS];
    uint64_t *usable;  /* healthy and not drained */
    uint64_t *pool[2]; /* per enum al_pool */
    /* name → node and uuid → GPU lookups: open addressing, slot = id + 1, 0 = empty */
    uint32_t *node_tab, *gpu_tab;
    uint32_t node_tab_cap, gpu_tab_cap, gpu_tab_used;
    uint64_t shape; /* bumped when a GPU is added or changes model (al_fleet_shape) */
};

static uint32_t str_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Slot of `key` in tab (whose entries name strings through name_of), or of the empty slot where
 * it would go. */
static uint32_t tab_slot(const struct al_fleet *f, const uint32_t *tab, uint32_t cap, bool gpus,
                         const char *key)
{
    uint32_t m = cap - 1;
    for (uint32_t i = str_hash(key) & m;; i = (i + 1) & m) {
        if (tab[i] == 0)
            return i;
        const char *name = gpus ? f->gpus[tab[i] - 1].uuid : f->nodes[tab[i] - 1].name;
        if (strcmp(name, key) == 0)
            return i;
    }
}

/* Make room in a table for one more entry (load <= 1/2), rehashing from the arrays. */
static int tab_reserve(struct al_fleet *f, bool gpus)
{
    uint32_t **tab = gpus ? &f->gpu_tab : &f->node_tab;
    uint32_t *cap = gpus ? &f->gpu_tab_cap : &f->node_tab_cap;
    uint32_t used = gpus ? f->gpu_tab_used : f->nnodes;
    if (*tab && (used + 1) * 2 <= *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 64;
    uint32_t *t = calloc(ncap, sizeof *t);
    if (!t)
        return AL_E_NOMEM;
    uint32_t n = gpus ? f->ngpus : f->nnodes;
    for (uint32_t id = 0; id < n; id++) {
        const char *name = gpus ? f->gpus[id].uuid : f->nodes[id].name;
        if (*name)
            t[tab_slot(f, t, ncap, gpus, name)] = id + 1;
    }
    free(*tab);
    *tab = t;
    *cap = ncap;
    return 0;
}

static void set_bit(uint64_t *b, uint32_t i, bool on)
{
    if (on)
        b[i / 64] |= UINT64_C(1) << (i % 64);
    else
        b[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

/* Recompute whether GPU `gpu` may take new work, in its field and in the usable bitset. */
static void update_usable(struct al_fleet *f, uint32_t gpu)
{
    struct al_gpu *g = &f->gpus[gpu];
    g->usable = g->healthy && !g->drained && g->present && !f->nodes[g->node].offline;
    set_bit(f->usable, gpu, g->usable);
}

/* Id of a present GPU of node `n` at `index` other than `self`, or -1. */
static int64_t index_taken(const struct al_fleet *f, const struct al_node *n, unsigned index,
                           uint32_t self)
{
    for (uint32_t i = 0; i < n->ngpus; i++) {
        const struct al_gpu *g = &f->gpus[n->gpus[i]];
        if (n->gpus[i] != self && g->present && g->index == index)
            return n->gpus[i];
    }
    return -1;
}

struct al_fleet *al_fleet_new(void)
{
    return calloc(1, sizeof(struct al_fleet));
}

void al_fleet_free(struct al_fleet *f)
{
    if (!f)
        return;
    for (uint32_t i = 0; i < f->nnodes; i++)
        free(f->nodes[i].gpus);
    for (unsigned i = 0; i < f->nmodels; i++)
        free(f->model_bits[i]);
    free(f->usable);
    free(f->node_tab);
    free(f->gpu_tab);
    free(f->pool[0]);
    free(f->pool[1]);
    free(f->nodes);
    free(f->gpus);
    free(f);
}

static int copy_field(char *dst, size_t cap, const char *src, bool required, const char *what,
                      struct al_err *reterr)
{
    if (!src)
        src = "";
    size_t n = strlen(src);
    if (required && n == 0)
        return al_err_set(reterr, AL_E_INVAL, "%s: empty", what);
    if (n >= cap)
        return al_err_set(reterr, AL_E_INVAL, "%s: longer than %zu bytes", what, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)src[i] <= ' ' || (unsigned char)src[i] >= 0x7f)
            return al_err_set(reterr, AL_E_INVAL, "%s: space or control character", what);
    memcpy(dst, src, n + 1);
    return 0;
}

int al_fleet_find_node(const struct al_fleet *f, const char *name)
{
    if (!name || !*name || !f->node_tab)
        return AL_E_NOTFOUND;
    uint32_t id = f->node_tab[tab_slot(f, f->node_tab, f->node_tab_cap, false, name)];
    return id ? (int)(id - 1) : AL_E_NOTFOUND;
}

int al_fleet_find_gpu(const struct al_fleet *f, const char *uuid)
{
    if (!uuid || !*uuid || !f->gpu_tab)
        return AL_E_NOTFOUND;
    uint32_t id = f->gpu_tab[tab_slot(f, f->gpu_tab, f->gpu_tab_cap, true, uuid)];
    return id ? (int)(id - 1) : AL_E_NOTFOUND;
}

int al_fleet_add_node(struct al_fleet *f, const char *name, const char *zone, const char *labels,
                      const struct al_change_window *window, struct al_err *reterr)
{
    struct al_node n;
    int rc;
    memset(&n, 0, sizeof n);
    if ((rc = copy_field(n.name, sizeof n.name, name, true, "node name", reterr)) < 0 ||
        (rc = copy_field(n.zone, sizeof n.zone, zone, false, "zone", reterr)) < 0 ||
        (rc = copy_field(n.labels, sizeof n.labels, labels, false, "labels", reterr)) < 0)
        return rc;
    if (window) {
        if (window->days > 0x7f || window->start_min >= 1440 || window->len_min > 10080)
            return al_err_set(reterr, AL_E_INVAL, "change window: days/start/length out of range");
        n.window = *window;
    }
    if (al_fleet_find_node(f, n.name) >= 0)
        return al_err_set(reterr, AL_E_CONFLICT, "node %s exists", n.name);
    if (tab_reserve(f, false) < 0)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if (f->nnodes == f->capnodes) {
        uint32_t cap = f->capnodes ? 2 * f->capnodes : 16;
        struct al_node *nn = realloc(f->nodes, cap * sizeof *nn);
        if (!nn)
            return al_err_set(reterr, AL_E_NOMEM, "out of memory");
        f->nodes = nn;
        f->capnodes = cap;
    }
    f->nodes[f->nnodes] = n;
    f->node_tab[tab_slot(f, f->node_tab, f->node_tab_cap, false, n.name)] = f->nnodes + 1;
    return (int)f->nnodes++;
}

/* Grow the GPU array and every model bitset to hold one more GPU. */
static int grow_gpus(struct al_fleet *f)
{
    if (f->ngpus < f->capgpus)
        return 0;
    uint32_t cap = f->capgpus ? 2 * f->capgpus : 64;
    struct al_gpu *g = realloc(f->gpus, cap * sizeof *g);
    if (!g)
        return AL_E_NOMEM;
    f->gpus = g;
    size_t words = (cap + 63) / 64;
    uint64_t **sets[AL_FLEET_MAX_MODELS + 3];
    unsigned nsets = 0;
    for (unsigned i = 0; i < f->nmodels; i++)
        sets[nsets++] = &f->model_bits[i];
    sets[nsets++] = &f->usable;
    sets[nsets++] = &f->pool[0];
    sets[nsets++] = &f->pool[1];
    for (unsigned i = 0; i < nsets; i++) {
        uint64_t *b = realloc(*sets[i], words * sizeof *b);
        if (!b)
            return AL_E_NOMEM;
        memset(b + f->words, 0, (words - f->words) * sizeof *b);
        *sets[i] = b;
    }
    f->words = words;
    f->capgpus = cap;
    return 0;
}

static int model_slot_add(struct al_fleet *f, const struct al_gpu_model *m)
{
    int slot = al_fleet_model_slot(f, m);
    if (slot >= 0)
        return slot;
    if (f->nmodels == AL_FLEET_MAX_MODELS)
        return AL_E_RANGE;
    uint64_t *b = calloc(f->words ? f->words : 1, sizeof *b);
    if (!b)
        return AL_E_NOMEM;
    f->models[f->nmodels] = m;
    f->model_bits[f->nmodels] = b;
    return (int)f->nmodels++;
}

static int node_add_gpu(struct al_node *n, uint32_t gpu)
{
    uint32_t *g = realloc(n->gpus, (n->ngpus + 1) * sizeof *g);
    if (!g)
        return AL_E_NOMEM;
    n->gpus = g;
    n->gpus[n->ngpus++] = gpu;
    return 0;
}

int al_fleet_add_gpu(struct al_fleet *f, uint32_t node, const struct al_gpu_model *m,
                     unsigned index, const char *uuid, enum al_pool pool, struct al_err *reterr)
{
    struct al_gpu g;
    int rc, slot;
    memset(&g, 0, sizeof g);
    if (node >= f->nnodes)
        return al_err_set(reterr, AL_E_NOTFOUND, "node %u not found", node);
    if (!m || index > UINT16_MAX || (pool != AL_POOL_GENERAL && pool != AL_POOL_DEDICATED))
        return al_err_set(reterr, AL_E_INVAL, "gpu: model, index or pool invalid");
    if ((rc = copy_field(g.uuid, sizeof g.uuid, uuid, false, "gpu uuid", reterr)) < 0)
        return rc;
    if (al_fleet_find_gpu(f, g.uuid) >= 0)
        return al_err_set(reterr, AL_E_CONFLICT, "gpu %s exists", g.uuid);
    struct al_node *n = &f->nodes[node];
    if (index_taken(f, n, index, UINT32_MAX) >= 0)
        return al_err_set(reterr, AL_E_CONFLICT, "node %s has GPU index %u", n->name, index);
    if (f->ngpus >= AL_FLEET_MAX_GPUS)
        return al_err_set(reterr, AL_E_RANGE, "more than %u GPUs", AL_FLEET_MAX_GPUS);
    if (grow_gpus(f) < 0 || (g.uuid[0] && tab_reserve(f, true) < 0))
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    if ((slot = model_slot_add(f, m)) < 0)
        return al_err_set(reterr, slot, "too many models (max %d) or out of memory",
                          AL_FLEET_MAX_MODELS);
    if (node_add_gpu(n, f->ngpus) < 0)
        return al_err_set(reterr, AL_E_NOMEM, "out of memory");
    g.model = m;
    g.node = node;
    g.index = (uint16_t)index;
    g.model_slot = (uint8_t)slot;
    g.pool = (uint8_t)pool;
    g.healthy = true;
    g.present = true;
    g.layout.model = m;
    set_bit(f->model_bits[slot], f->ngpus, true);
    set_bit(f->pool[pool], f->ngpus, true);
    f->gpus[f->ngpus] = g;
    update_usable(f, f->ngpus);
    if (g.uuid[0]) {
        f->gpu_tab[tab_slot(f, f->gpu_tab, f->gpu_tab_cap, true, g.uuid)] = f->ngpus + 1;
        f->gpu_tab_used++;
    }
    f->shape++;
    return (int)f->ngpus++;
}

uint32_t al_fleet_ngpus(const struct al_fleet *f)
{
    return f->ngpus;
}

uint32_t al_fleet_nnodes(const struct al_fleet *f)
{
    return f->nnodes;
}

const struct al_gpu *al_fleet_gpu(const struct al_fleet *f, uint32_t gpu)
{
    return gpu < f->ngpus ? &f->gpus[gpu] : NULL;
}

const struct al_node *al_fleet_node(const struct al_fleet *f, uint32_t node)
{
    return node < f->nnodes ? &f->nodes[node] : NULL;
}

int al_fleet_set_healthy(struct al_fleet *f, uint32_t gpu, bool healthy)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    f->gpus[gpu].healthy = healthy;
    update_usable(f, gpu);
    return 0;
}

int al_fleet_set_drained(struct al_fleet *f, uint32_t gpu, bool drained)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    f->gpus[gpu].drained = drained;
    update_usable(f, gpu);
    return 0;
}

int al_fleet_set_pool(struct al_fleet *f, uint32_t gpu, enum al_pool pool)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    if (pool != AL_POOL_GENERAL && pool != AL_POOL_DEDICATED)
        return AL_E_INVAL;
    set_bit(f->pool[f->gpus[gpu].pool], gpu, false);
    f->gpus[gpu].pool = (uint8_t)pool;
    set_bit(f->pool[pool], gpu, true);
    return 0;
}

int al_fleet_set_pool_busy(struct al_fleet *f, uint32_t gpu, bool busy)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    f->gpus[gpu].pool_busy = busy;
    return 0;
}

int al_fleet_set_present(struct al_fleet *f, uint32_t gpu, bool present)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    struct al_gpu *g = &f->gpus[gpu];
    if (present && !g->present && index_taken(f, &f->nodes[g->node], g->index, gpu) >= 0)
        return AL_E_CONFLICT;
    g->present = present;
    update_usable(f, gpu);
    return 0;
}

int al_fleet_set_index(struct al_fleet *f, uint32_t gpu, unsigned index)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    if (index > UINT16_MAX)
        return AL_E_INVAL;
    struct al_gpu *g = &f->gpus[gpu];
    if (g->present && index_taken(f, &f->nodes[g->node], index, gpu) >= 0)
        return AL_E_CONFLICT;
    g->index = (uint16_t)index;
    return 0;
}

int al_fleet_set_model(struct al_fleet *f, uint32_t gpu, const struct al_gpu_model *m)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    if (!m)
        return AL_E_INVAL;
    struct al_gpu *g = &f->gpus[gpu];
    if (g->model == m)
        return 0;
    int slot = model_slot_add(f, m);
    if (slot < 0)
        return slot;
    set_bit(f->model_bits[g->model_slot], gpu, false);
    set_bit(f->model_bits[slot], gpu, true);
    g->model = m;
    g->model_slot = (uint8_t)slot;
    g->mig_mode = false;
    memset(&g->layout, 0, sizeof g->layout);
    g->layout.model = m;
    f->shape++;
    return 0;
}

int al_fleet_set_zone(struct al_fleet *f, uint32_t node, const char *zone, struct al_err *reterr)
{
    char z[AL_FLEET_ZONE_MAX] = "";
    if (node >= f->nnodes)
        return al_err_set(reterr, AL_E_NOTFOUND, "node %u not found", node);
    int rc = copy_field(z, sizeof z, zone, false, "zone", reterr);
    if (rc < 0)
        return rc;
    memcpy(f->nodes[node].zone, z, sizeof z);
    return 0;
}

int al_fleet_set_labels(struct al_fleet *f, uint32_t node, const char *labels,
                        struct al_err *reterr)
{
    char l[AL_FLEET_LABELS_MAX] = "";
    if (node >= f->nnodes)
        return al_err_set(reterr, AL_E_NOTFOUND, "node %u not found", node);
    int rc = copy_field(l, sizeof l, labels, false, "labels", reterr);
    if (rc < 0)
        return rc;
    memcpy(f->nodes[node].labels, l, sizeof l);
    return 0;
}

int al_fleet_set_online(struct al_fleet *f, uint32_t node, bool online)
{
    if (node >= f->nnodes)
        return AL_E_NOTFOUND;
    struct al_node *n = &f->nodes[node];
    n->offline = !online;
    for (uint32_t i = 0; i < n->ngpus; i++)
        update_usable(f, n->gpus[i]);
    return 0;
}

uint64_t al_fleet_shape(const struct al_fleet *f)
{
    return f->shape;
}

int al_fleet_set_mig(struct al_fleet *f, uint32_t gpu, bool mig_mode,
                     const struct al_layout *layout)
{
    if (gpu >= f->ngpus)
        return AL_E_NOTFOUND;
    struct al_gpu *g = &f->gpus[gpu];
    if (mig_mode && !g->model->mig)
        return AL_E_INVAL;
    if (layout &&
        (layout->model != g->model || layout->n > AL_LAYOUT_MAX || (layout->n > 0 && !mig_mode)))
        return AL_E_INVAL;
    g->mig_mode = mig_mode;
    memset(&g->layout, 0, sizeof g->layout);
    g->layout.model = g->model;
    if (layout)
        g->layout = *layout;
    return 0;
}

unsigned al_fleet_nmodels(const struct al_fleet *f)
{
    return f->nmodels;
}

const struct al_gpu_model *al_fleet_model(const struct al_fleet *f, unsigned slot)
{
    return slot < f->nmodels ? f->models[slot] : NULL;
}

int al_fleet_model_slot(const struct al_fleet *f, const struct al_gpu_model *m)
{
    for (unsigned i = 0; i < f->nmodels; i++)
        if (f->models[i] == m)
            return (int)i;
    return -1;
}

const uint64_t *al_fleet_model_bits(const struct al_fleet *f, unsigned slot)
{
    return slot < f->nmodels ? f->model_bits[slot] : NULL;
}

const uint64_t *al_fleet_usable_bits(const struct al_fleet *f)
{
    return f->usable;
}

const uint64_t *al_fleet_pool_bits(const struct al_fleet *f, enum al_pool pool)
{
    return pool == AL_POOL_GENERAL || pool == AL_POOL_DEDICATED ? f->pool[pool] : NULL;
}

size_t al_fleet_words(const struct al_fleet *f)
{
    return (f->ngpus + 63) / 64;
}

/* Does the comma-separated list `have` contain an item matching `item` (length n)? */
static bool has_item(const char *have, const char *item, size_t n)
{
    bool bare = memchr(item, '=', n) == NULL;
    const char *p = have;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && memcmp(p, item, n) == 0)
            return true;
        if (bare && len > n && p[n] == '=' && memcmp(p, item, n) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

bool al_fleet_labels_match(const char *have, const char *want)
{
    if (!want || !*want)
        return true;
    if (!have)
        have = "";
    const char *p = want;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0 && !has_item(have, p, len))
            return false;
        if (!end)
            break;
        p = end + 1;
    }
    return true;
}

size_t al_fleet_bytes(const struct al_fleet *f)
{
    size_t b = sizeof *f + f->capnodes * sizeof(struct al_node) +
               f->capgpus * sizeof(struct al_gpu) + (f->nmodels + 3) * f->words * sizeof(uint64_t) +
               (size_t)(f->node_tab_cap + f->gpu_tab_cap) * sizeof(uint32_t);
    for (uint32_t i = 0; i < f->nnodes; i++)
        b += f->nodes[i].ngpus * sizeof(uint32_t);
    return b;
}
