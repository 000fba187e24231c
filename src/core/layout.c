/* layout.c — the MIG rule engine: validate, place and enumerate the GPU instance layouts of
 * one GPU (their text and diffs: layout_text.c). Uses only the fields of struct al_gpu_model
 * (never model names), so one code path serves the 8-, 4- and 12-unit families alike.
 *
 * Every rule lives in one function, check_add(): "may instance p join a layout whose summary is
 * st?". Validation adds the instances one by one through it, and since every rule is
 * hereditary (a subset of a valid layout is valid), the searches of place and enumerate prune
 * with it too.
 */
#include "core/layout_internal.h"

#include "core/assert.h"

#include <stdio.h>
#include <string.h>

#define MAX_CANDS (AL_MIG_MAX_PROFILES * AL_MIG_MAX_STARTS)

/* Why an instance may not join a layout; checked in this order. */
enum why {
    WHY_OK,
    WHY_PROFILE,  /* profile index out of range */
    WHY_NOSTART,  /* AL_START_ANY where a fixed start is needed */
    WHY_START,    /* start not among the profile's allowed starts */
    WHY_RANGE,    /* [start, start+size) beyond the GPU's units */
    WHY_TOTAL,    /* one instance more than model->max_instances */
    WHY_OVERLAP,  /* shares a placement unit with another instance */
    WHY_MEDIA,    /* a second +me / +me.all instance */
    WHY_MEALL,    /* +me.all next to an instance that is not -me (either way round) */
    WHY_MAXCOUNT, /* more instances of the profile than its max_count */
    WHY_SLICES,   /* compute slices over model->compute_slices */
};

/* ---- model and profile access ------------------------------------------------------------ */

static unsigned nstarts(const struct al_mig_profile *pr)
{
    return pr->nstarts < AL_MIG_MAX_STARTS ? pr->nstarts : AL_MIG_MAX_STARTS;
}

static bool start_allowed(const struct al_mig_profile *pr, unsigned start)
{
    for (unsigned i = 0; i < nstarts(pr); i++)
        if (pr->starts[i] == start)
            return true;
    return false;
}

static bool in_range(const struct al_gpu_model *m, const struct al_mig_profile *pr, unsigned start)
{
    return pr->size > 0 && start < m->units && pr->size <= m->units - start;
}

static bool is_media(const struct al_mig_profile *pr)
{
    return (pr->attrs & (AL_MIG_ATTR_ME | AL_MIG_ATTR_ME_ALL)) != 0;
}

static uint32_t units_mask(unsigned start, unsigned size)
{
    if (start >= 32 || size == 0)
        return 0;
    uint64_t bits = size >= 32 ? 0xffffffffu : (((uint64_t)1 << size) - 1);
    return (uint32_t)(bits << start);
}

uint32_t al_placement_mask(const struct al_gpu_model *m, struct al_placement p)
{
    const struct al_mig_profile *pr = profile_of(m, p.profile);
    if (!pr || p.start == AL_START_ANY)
        return 0;
    return units_mask(p.start, pr->size);
}

uint32_t al_layout_mask(const struct al_layout *l)
{
    uint32_t mask = 0;
    if (!l)
        return 0;
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++)
        mask |= al_placement_mask(l->model, l->p[i]);
    return mask;
}

/* ---- the rules ----------------------------------------------------------------------------- */

static enum why check_add(const struct al_gpu_model *m, const struct al_layout_sum *st,
                          struct al_placement p)
{
    const struct al_mig_profile *pr = profile_of(m, p.profile);
    if (!pr)
        return WHY_PROFILE;
    if (p.start == AL_START_ANY)
        return WHY_NOSTART;
    if (!start_allowed(pr, p.start))
        return WHY_START;
    if (!in_range(m, pr, p.start))
        return WHY_RANGE;
    if (st->n >= m->max_instances || st->n >= AL_LAYOUT_MAX)
        return WHY_TOTAL;
    if (st->mask & units_mask(p.start, pr->size))
        return WHY_OVERLAP;
    if (is_media(pr) && st->media > 0)
        return WHY_MEDIA;
    if ((pr->attrs & AL_MIG_ATTR_ME_ALL) && st->n > st->no_me)
        return WHY_MEALL;
    if (st->me_all > 0 && !(pr->attrs & AL_MIG_ATTR_NO_ME))
        return WHY_MEALL;
    if (st->count[p.profile] >= pr->max_count)
        return WHY_MAXCOUNT;
    if (st->slices + pr->compute_slices > m->compute_slices)
        return WHY_SLICES;
    return WHY_OK;
}

/* Record p in st; p must have passed check_add. */
static void state_add(const struct al_gpu_model *m, struct al_layout_sum *st, struct al_placement p)
{
    AL_ASSERT(check_add(m, st, p) == WHY_OK);
    const struct al_mig_profile *pr = &m->profiles[p.profile];
    st->mask |= units_mask(p.start, pr->size);
    st->n++;
    st->slices += pr->compute_slices;
    st->media += is_media(pr);
    st->me_all += (pr->attrs & AL_MIG_ATTR_ME_ALL) != 0;
    st->no_me += (pr->attrs & AL_MIG_ATTR_NO_ME) != 0;
    st->count[p.profile]++;
    AL_ASSERT((st->mask & ~units_mask(0, m->units)) == 0); /* only the GPU's own units */
}

/* ---- summaries ----------------------------------------------------------------------------- */

void al_layout_sum_add(const struct al_gpu_model *m, struct al_layout_sum *s, struct al_placement p)
{
    state_add(m, s, p);
}

bool al_layout_sum_can_add(const struct al_gpu_model *m, const struct al_layout_sum *s,
                           struct al_placement p)
{
    return model_has_mig(m) && check_add(m, s, p) == WHY_OK;
}

/* Each rule of check_add compares one quantity of the summary with a bound that does not
 * depend on the summary: the units, n, slices, media, me_all, a profile's count, and (for
 * +me.all) the instances that are not -me, n - no_me. The per-quantity maximum therefore
 * fails a rule exactly when one of the summaries folded in does; n - no_me is kept as the
 * maximum of its own, through no_me. */
void al_layout_sum_join(struct al_layout_sum *worst, const struct al_layout_sum *s)
{
    unsigned n = worst->n > s->n ? worst->n : s->n;
    unsigned wd = worst->n - worst->no_me, sd = s->n - s->no_me;
    worst->mask |= s->mask;
    worst->n = n;
    worst->no_me = n - (wd > sd ? wd : sd);
    worst->slices = worst->slices > s->slices ? worst->slices : s->slices;
    worst->media = worst->media > s->media ? worst->media : s->media;
    worst->me_all = worst->me_all > s->me_all ? worst->me_all : s->me_all;
    for (unsigned i = 0; i < AL_MIG_MAX_PROFILES; i++)
        worst->count[i] = worst->count[i] > s->count[i] ? worst->count[i] : s->count[i];
}

unsigned al_layout_sum_room(const struct al_gpu_model *m, const struct al_layout_sum *s,
                            unsigned prof)
{
    const struct al_mig_profile *pr = profile_of(m, prof);
    struct al_layout_sum cur = *s;
    unsigned k = 0;
    for (unsigned i = 0; pr && i < nstarts(pr); i++) {
        struct al_placement p = {(uint8_t)prof, pr->starts[i]};
        /* the overlap test first: on a busy GPU it settles most starts in one AND */
        if ((cur.mask & units_mask(p.start, pr->size)) || check_add(m, &cur, p) != WHY_OK)
            continue;
        state_add(m, &cur, p);
        k++;
    }
    return k;
}

/* ---- messages ------------------------------------------------------------------------------ */

static void starts_text(const struct al_mig_profile *pr, char *buf, size_t len)
{
    struct al_sbuf b;
    al_sbuf_init(&b, buf, len);
    for (unsigned i = 0; i < nstarts(pr); i++)
        al_sbuf_printf(&b, "%s%u", i ? "," : "", (unsigned)pr->starts[i]);
}

/* Index (< upto) of the first instance of l matching pred, or -1. */
static int find_first(const struct al_layout *l, unsigned upto,
                      bool (*pred)(const struct al_gpu_model *, struct al_placement, uint32_t),
                      uint32_t arg)
{
    for (unsigned j = 0; j < upto; j++)
        if (pred(l->model, l->p[j], arg))
            return (int)j;
    return -1;
}

static bool pred_overlaps(const struct al_gpu_model *m, struct al_placement q, uint32_t mask)
{
    return (al_placement_mask(m, q) & mask) != 0;
}

static bool pred_media(const struct al_gpu_model *m, struct al_placement q, uint32_t unused)
{
    (void)unused;
    return is_media(profile_of(m, q.profile));
}

static bool pred_attr(const struct al_gpu_model *m, struct al_placement q, uint32_t attr)
{
    return (profile_of(m, q.profile)->attrs & attr) != 0;
}

static bool pred_not_no_me(const struct al_gpu_model *m, struct al_placement q, uint32_t unused)
{
    (void)unused;
    return !(profile_of(m, q.profile)->attrs & AL_MIG_ATTR_NO_ME);
}

static unsigned total_slices(const struct al_layout *l)
{
    unsigned sum = 0;
    for (unsigned i = 0; i < l->n; i++) {
        const struct al_mig_profile *pr = profile_of(l->model, l->p[i].profile);
        sum += pr ? pr->compute_slices : 0;
    }
    return sum;
}

static int fail_conflict(const struct al_layout *l, unsigned i, enum why w, const char *me,
                         struct al_err *reterr)
{
    const struct al_mig_profile *pr = profile_of(l->model, l->p[i].profile);
    char other[INST_TEXT_MAX];
    int j = -1;
    if (w == WHY_OVERLAP)
        j = find_first(l, i, pred_overlaps, al_placement_mask(l->model, l->p[i]));
    else if (w == WHY_MEDIA)
        j = find_first(l, i, pred_media, 0);
    else if (pr->attrs & AL_MIG_ATTR_ME_ALL)
        j = find_first(l, i, pred_not_no_me, 0);
    else
        j = find_first(l, i, pred_attr, AL_MIG_ATTR_ME_ALL);
    inst_text(l->model, j >= 0 ? l->p[j] : l->p[i], other, sizeof other);
    if (w == WHY_OVERLAP)
        return al_err_set(reterr, AL_E_INVAL, "%s overlaps %s", me, other);
    if (w == WHY_MEDIA)
        return al_err_set(reterr, AL_E_INVAL,
                          "%s: second media-extension instance (%s has one; at most one "
                          "+me/+me.all per GPU)",
                          me, other);
    if (pr->attrs & AL_MIG_ATTR_ME_ALL)
        return al_err_set(reterr, AL_E_INVAL,
                          "%s: a +me.all instance may share the GPU only with -me instances, "
                          "not %s",
                          me, other);
    return al_err_set(reterr, AL_E_INVAL, "%s: only -me instances may share the GPU with %s", me,
                      other);
}

/* The message for instance i of l failing check w. */
static int fail_instance(const struct al_layout *l, unsigned i, enum why w, struct al_err *reterr)
{
    const struct al_gpu_model *m = l->model;
    const struct al_mig_profile *pr = profile_of(m, l->p[i].profile);
    char me[INST_TEXT_MAX], allowed[64];
    unsigned s = l->p[i].start;
    inst_text(m, l->p[i], me, sizeof me);
    switch (w) {
    case WHY_PROFILE:
        return al_err_set(reterr, AL_E_INVAL, "instance %u: profile index %u out of range (%s)",
                          i + 1, (unsigned)l->p[i].profile, m->name);
    case WHY_NOSTART:
        return al_err_set(reterr, AL_E_INVAL, "%s: no start given (write %s@N)", me, me);
    case WHY_START:
        starts_text(pr, allowed, sizeof allowed);
        return al_err_set(reterr, AL_E_INVAL, "%s: start %u not allowed for %s (allowed: %s)", me,
                          s, pr->name, allowed);
    case WHY_RANGE:
        return al_err_set(reterr, AL_E_INVAL, "%s: units %u-%u exceed the %u units of %s", me, s,
                          s + pr->size - 1, m->units, m->name);
    case WHY_TOTAL:
        return al_err_set(reterr, AL_E_INVAL, "%s: %u instances exceed the maximum %u (%s)", me,
                          l->n, m->max_instances, m->name);
    case WHY_MAXCOUNT:
        return al_err_set(reterr, AL_E_INVAL, "%s: more than %u %s instances (its max count)", me,
                          pr->max_count, pr->name);
    case WHY_SLICES:
        return al_err_set(reterr, AL_E_INVAL, "compute slices %u exceed %u (%s)", total_slices(l),
                          m->compute_slices, m->name);
    default:
        return fail_conflict(l, i, w, me, reterr);
    }
}

/* ---- validate ------------------------------------------------------------------------------ */

int al_layout_validate(const struct al_layout *l, struct al_err *reterr)
{
    struct al_layout_sum st = {0};
    if (!l || !l->model)
        return al_err_set(reterr, AL_E_INVAL, "no layout or no model");
    if (l->n > AL_LAYOUT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "%u instances exceed the bound %d", l->n,
                          AL_LAYOUT_MAX);
    if (!l->model->mig && l->n > 0)
        return al_err_set(reterr, AL_E_INVAL, "%s has no MIG: only the empty layout is valid",
                          l->model->name);
    if (l->n > 0 && !model_has_mig(l->model))
        return al_err_set(reterr, AL_E_INVAL, "%s: malformed MIG data", l->model->name);
    for (unsigned i = 0; i < l->n; i++) {
        enum why w = check_add(l->model, &st, l->p[i]);
        if (w != WHY_OK)
            return fail_instance(l, i, w, reterr);
        state_add(l->model, &st, l->p[i]);
    }
    return 0;
}

static enum why state_of(const struct al_layout *l, struct al_layout_sum *st)
{
    memset(st, 0, sizeof *st);
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++) {
        enum why w = check_add(l->model, st, l->p[i]);
        if (w != WHY_OK)
            return w;
        state_add(l->model, st, l->p[i]);
    }
    return WHY_OK;
}

bool al_layout_can_add(const struct al_layout *l, struct al_placement p)
{
    struct al_layout_sum st;
    if (!l || !model_has_mig(l->model) || l->n > AL_LAYOUT_MAX)
        return false;
    if (state_of(l, &st) != WHY_OK)
        return false;
    return check_add(l->model, &st, p) == WHY_OK;
}

/* ---- place --------------------------------------------------------------------------------- */

/* The search state of al_layout_place.
 *
 * Score of a complete assignment (fragmentation-aware), compared lexicographically: for each
 * profile of the model, largest first (size, then compute slices, then index), the number of
 * starts at which one more instance of it could still be added (check_add, every rule). So an
 * assignment that keeps a 7g, then a 4g, then a 3g … placeable wins; e.g. a lone 1g on an
 * 8-unit GPU goes to unit 6, which keeps 4g@0, 3g@0 and all three 2g starts free (the driver
 * picks the same). Ties go to the lexicographically lowest starts in search order, i.e. lower
 * starts for the larger profiles first (the search visits starts in ascending order and keeps
 * only strict improvements). */
struct search {
    const struct al_gpu_model *m;
    struct al_layout work;                /* the input; AL_START_ANY items get starts as we go */
    unsigned order[AL_LAYOUT_MAX];        /* indices of the AL_START_ANY items, in search order */
    unsigned nany;                        /* how many */
    unsigned porder[AL_MIG_MAX_PROFILES]; /* the model's profiles, largest first */
    bool found;
    unsigned best_score[AL_MIG_MAX_PROFILES];
    struct al_layout best;
    int fail_depth;        /* deepest dead end: item order[fail_depth] did not fit into */
    struct al_layout fail; /* this partial layout (only fixed starts count) */
};

/* Is profile a "larger" than b: size, then compute slices, then lower index. */
static bool profile_larger(const struct al_gpu_model *m, unsigned a, unsigned b)
{
    const struct al_mig_profile *pa = &m->profiles[a], *pb = &m->profiles[b];
    if (pa->size != pb->size)
        return pa->size > pb->size;
    if (pa->compute_slices != pb->compute_slices)
        return pa->compute_slices > pb->compute_slices;
    return a < b;
}

/* Search order of the free items: largest first, then fewest allowed starts, then profile
 * index (so equal profiles sit together and their starts can be kept increasing). */
static bool item_first(const struct al_gpu_model *m, struct al_placement a, struct al_placement b)
{
    const struct al_mig_profile *pa = &m->profiles[a.profile], *pb = &m->profiles[b.profile];
    if (pa->size != pb->size)
        return pa->size > pb->size;
    if (nstarts(pa) != nstarts(pb))
        return nstarts(pa) < nstarts(pb);
    return profile_larger(m, a.profile, b.profile);
}

static void search_init(struct search *s, const struct al_layout *in)
{
    memset(s, 0, sizeof *s);
    s->m = in->model;
    s->work = *in;
    s->fail_depth = -1;
    for (unsigned i = 0; i < in->n; i++) {
        if (in->p[i].start != AL_START_ANY)
            continue;
        unsigned j = s->nany++;
        for (; j > 0 && item_first(s->m, in->p[i], in->p[s->order[j - 1]]); j--)
            s->order[j] = s->order[j - 1];
        s->order[j] = i;
    }
    for (unsigned k = 0; k < nprofiles(s->m); k++) {
        unsigned j = k;
        for (; j > 0 && profile_larger(s->m, k, s->porder[j - 1]); j--)
            s->porder[j] = s->porder[j - 1];
        s->porder[j] = k;
    }
}

static void score_of(const struct search *s, const struct al_layout_sum *st, unsigned *score)
{
    for (unsigned k = 0; k < nprofiles(s->m); k++) {
        unsigned pi = s->porder[k], c = 0;
        const struct al_mig_profile *pr = &s->m->profiles[pi];
        for (unsigned i = 0; i < nstarts(pr); i++)
            c += check_add(s->m, st, (struct al_placement){(uint8_t)pi, pr->starts[i]}) == WHY_OK;
        score[k] = c;
    }
}

static void search_leaf(struct search *s, const struct al_layout_sum *st)
{
    unsigned score[AL_MIG_MAX_PROFILES] = {0};
    unsigned np = nprofiles(s->m);
    score_of(s, st, score);
    if (s->found) {
        unsigned k = 0;
        while (k < np && score[k] == s->best_score[k])
            k++;
        if (k == np || score[k] < s->best_score[k])
            return; /* not strictly better: keep the earlier, lower starts */
    }
    s->found = true;
    memcpy(s->best_score, score, sizeof score);
    s->best = s->work;
}

/* A dead end that is real: every in-range start of pr overlaps a unit in use. */
static bool all_starts_taken(const struct al_gpu_model *m, const struct al_mig_profile *pr,
                             uint32_t used)
{
    for (unsigned i = 0; i < nstarts(pr); i++)
        if (in_range(m, pr, pr->starts[i]) && !(units_mask(pr->starts[i], pr->size) & used))
            return false;
    return true;
}

/* One level per free placement, so the depth is s->nany <= AL_LAYOUT_MAX. */
/* NOLINTNEXTLINE(misc-no-recursion): bounded, see above */
static void search(struct search *s, unsigned depth, const struct al_layout_sum *st)
{
    if (depth == s->nany) {
        search_leaf(s, st);
        return;
    }
    unsigned idx = s->order[depth];
    struct al_placement p = s->work.p[idx];
    const struct al_mig_profile *pr = &s->m->profiles[p.profile];
    bool same = depth > 0 && s->work.p[s->order[depth - 1]].profile == p.profile;
    unsigned after = same ? s->work.p[s->order[depth - 1]].start : 0;
    bool tried = false;
    for (unsigned i = 0; i < nstarts(pr); i++) {
        p.start = pr->starts[i];
        if ((same && p.start <= after) || check_add(s->m, st, p) != WHY_OK)
            continue;
        struct al_layout_sum next = *st;
        state_add(s->m, &next, p);
        s->work.p[idx].start = p.start;
        tried = true;
        search(s, depth + 1, &next);
    }
    s->work.p[idx].start = AL_START_ANY;
    if (!tried && (int)depth > s->fail_depth && all_starts_taken(s->m, pr, st->mask)) {
        s->fail_depth = (int)depth;
        s->fail = s->work;
    }
}

/* "no placement for 3g.40gb: units 0-3, 4-7 each overlap 1g.10gb@1, 1g.10gb@5". */
static int nofit_message(const struct search *s, struct al_err *reterr)
{
    char units[96], by[160], one[INST_TEXT_MAX];
    struct al_sbuf bu, bb;
    al_sbuf_init(&bu, units, sizeof units);
    al_sbuf_init(&bb, by, sizeof by);
    if (s->fail_depth < 0)
        return al_err_set(reterr, AL_E_NOFIT, "no arrangement of the %u instances fits in %u units",
                          s->work.n, s->m->units);
    struct al_placement p = s->work.p[s->order[s->fail_depth]];
    const struct al_mig_profile *pr = &s->m->profiles[p.profile];
    uint32_t cand = 0;
    for (unsigned i = 0; i < nstarts(pr); i++) {
        unsigned a = pr->starts[i], z = a + pr->size - 1;
        if (!in_range(s->m, pr, a))
            continue;
        cand |= units_mask(a, pr->size);
        al_sbuf_printf(&bu, a == z ? "%s%u" : "%s%u-%u", bu.len ? ", " : "", a, z);
    }
    struct al_layout taken = s->fail;
    al_layout_sort(&taken);
    for (unsigned i = 0; i < taken.n; i++) {
        if (taken.p[i].start == AL_START_ANY || !(al_placement_mask(s->m, taken.p[i]) & cand))
            continue;
        inst_text(s->m, taken.p[i], one, sizeof one);
        al_sbuf_printf(&bb, "%s%s", bb.len ? ", " : "", one);
    }
    return al_err_set(reterr, AL_E_NOFIT, "no placement for %s: units %s each overlap %s%s",
                      pr->name, units, by, s->fail_depth > 0 ? " (no arrangement fits)" : "");
}

/* Totals of the whole request, fixed and free alike; hereditary rules that fail here fail in
 * every arrangement, so they are reported as such instead of as a failed search. */
static int place_precheck(const struct al_layout *in, struct al_err *reterr)
{
    const struct al_gpu_model *m = in->model;
    unsigned count[AL_MIG_MAX_PROFILES] = {0}, slices = 0;
    int media = -1, me_all = -1, plain = -1;
    for (unsigned i = 0; i < in->n; i++) {
        const struct al_mig_profile *pr = &m->profiles[in->p[i].profile];
        if (is_media(pr) && media >= 0)
            return al_err_set(reterr, AL_E_NOFIT,
                              "%s and %s both need media extensions: at most one +me/+me.all "
                              "per GPU",
                              m->profiles[in->p[media].profile].name, pr->name);
        if (++count[in->p[i].profile] > pr->max_count)
            return al_err_set(reterr, AL_E_NOFIT, "%u instances of %s exceed its max count %u",
                              count[in->p[i].profile], pr->name, pr->max_count);
        media = is_media(pr) ? (int)i : media;
        me_all = pr->attrs & AL_MIG_ATTR_ME_ALL ? (int)i : me_all;
        plain = !(pr->attrs & (AL_MIG_ATTR_NO_ME | AL_MIG_ATTR_ME_ALL)) ? (int)i : plain;
        slices += pr->compute_slices;
    }
    if (in->n > m->max_instances)
        return al_err_set(reterr, AL_E_NOFIT, "%u instances exceed the maximum %u (%s)", in->n,
                          m->max_instances, m->name);
    if (me_all >= 0 && plain >= 0)
        return al_err_set(reterr, AL_E_NOFIT, "%s shares the GPU only with -me instances, not %s",
                          m->profiles[in->p[me_all].profile].name,
                          m->profiles[in->p[plain].profile].name);
    if (slices > m->compute_slices)
        return al_err_set(reterr, AL_E_NOFIT, "compute slices %u exceed %u (%s)", slices,
                          m->compute_slices, m->name);
    return 0;
}

/* The fixed part of `in` must be valid on its own, and every profile index real. */
static int place_check_input(const struct al_layout *in, struct al_err *reterr)
{
    struct al_layout fixed = {.model = in->model};
    if (in->n > AL_LAYOUT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "%u instances exceed the bound %d", in->n,
                          AL_LAYOUT_MAX);
    if (in->n > 0 && !model_has_mig(in->model))
        return al_layout_validate(in, reterr);
    for (unsigned i = 0; i < in->n; i++) {
        if (!profile_of(in->model, in->p[i].profile))
            return al_err_set(reterr, AL_E_INVAL, "instance %u: profile index %u out of range",
                              i + 1, (unsigned)in->p[i].profile);
        if (in->p[i].start != AL_START_ANY)
            fixed.p[fixed.n++] = in->p[i];
    }
    return al_layout_validate(&fixed, reterr);
}

int al_layout_place(const struct al_layout *in, struct al_layout *ret, struct al_err *reterr)
{
    struct search s;
    struct al_layout_sum st;
    int rc;
    if (!in || !ret || !in->model)
        return al_err_set(reterr, AL_E_INVAL, "no layout or no model");
    rc = place_check_input(in, reterr);
    if (rc == 0 && in->n > 0)
        rc = place_precheck(in, reterr);
    if (rc < 0)
        return rc;
    search_init(&s, in);
    memset(&st, 0, sizeof st);
    for (unsigned i = 0; i < in->n; i++)
        if (in->p[i].start != AL_START_ANY)
            state_add(s.m, &st, in->p[i]);
    search(&s, 0, &st);
    if (!s.found)
        return nofit_message(&s, reterr);
    *ret = s.best;
    return 0;
}

/* ---- enumerate ----------------------------------------------------------------------------- */

/* Depth-first walk over the candidate placements in sorted order (start, then profile): each
 * set is built in increasing candidate order, so it is visited once and already sorted. Every
 * rule is hereditary, so a candidate that cannot join the current set is never needed deeper. */
struct walk {
    const struct al_gpu_model *m;
    struct al_placement cand[MAX_CANDS];
    unsigned ncand;
    bool maximal_only;
    al_layout_visit_fn fn;
    void *ctx;
    long visited;
    bool stop;
    struct al_layout cur;
};

static void walk_init(struct walk *w, const struct al_gpu_model *m, uint32_t profile_set)
{
    unsigned np = nprofiles(m);
    if (profile_set == 0)
        profile_set = 0xffffffffu;
    for (unsigned start = 0; start < m->units; start++)
        for (unsigned pi = 0; pi < np; pi++) {
            const struct al_mig_profile *pr = &m->profiles[pi];
            if ((profile_set >> pi & 1) && start_allowed(pr, start) && in_range(m, pr, start))
                w->cand[w->ncand++] = (struct al_placement){(uint8_t)pi, (uint8_t)start};
        }
}

static bool walk_maximal(const struct walk *w, const struct al_layout_sum *st)
{
    for (unsigned i = 0; i < w->ncand; i++)
        if (check_add(w->m, st, w->cand[i]) == WHY_OK)
            return false;
    return true;
}

/* Each level adds one instance that check_add accepted, so the depth is at most
 * min(model->max_instances, AL_LAYOUT_MAX). */
/* NOLINTNEXTLINE(misc-no-recursion): bounded, see above */
static void walk(struct walk *w, unsigned from, const struct al_layout_sum *st)
{
    for (unsigned i = from; i < w->ncand && !w->stop; i++) {
        if (check_add(w->m, st, w->cand[i]) != WHY_OK)
            continue;
        struct al_layout_sum next = *st;
        state_add(w->m, &next, w->cand[i]);
        w->cur.p[w->cur.n++] = w->cand[i];
        if (!w->maximal_only || walk_maximal(w, &next)) {
            w->visited++;
            if (w->fn && w->fn(&w->cur, w->ctx) != 0)
                w->stop = true;
        }
        walk(w, i + 1, &next);
        w->cur.n--;
    }
}

long al_layout_enumerate(const struct al_gpu_model *m, uint32_t profile_set, bool maximal_only,
                         al_layout_visit_fn fn, void *ctx)
{
    struct walk w;
    struct al_layout_sum st = {0};
    if (!model_has_mig(m))
        return 0;
    memset(&w, 0, sizeof w);
    w.m = m;
    w.maximal_only = maximal_only;
    w.fn = fn;
    w.ctx = ctx;
    w.cur.model = m;
    walk_init(&w, m, profile_set);
    walk(&w, 0, &st);
    return w.visited;
}
