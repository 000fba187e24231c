/* fuzz_layout_parse.c — libFuzzer target for the MIG layout text (requests, the CLI and
 * mig-parted files carry it) and everything downstream of it. Byte 0 picks the catalog model,
 * the rest is the text. Invariants checked on every input, for every model of the catalog:
 *   - parse fails only with AL_E_INVAL, a message, and an empty layout; on success every
 *     profile index is the model's and the count within AL_LAYOUT_MAX;
 *   - format has snprintf semantics, and parse(format(x)) == x, also after al_layout_sort;
 *   - validate agrees with an independent model of the rules (below), and can_add agrees with
 *     validate of the layout plus one instance;
 *   - place: success gives a valid layout that keeps every fixed start and the profile order;
 *     AL_E_INVAL exactly when the fixed part is invalid; AL_E_NOFIT is true (brute force over
 *     all starts when at most 3 placements are free);
 *   - diff of valid layouts: applying the steps to `from` gives `to`, never touching an
 *     instance both have. */
#include "fuzz.h"

#include <stdbool.h>

#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

#define BRUTE_MAX_FREE 3

/* ---- the rules, written again from layout.h's contract ---- */

static bool model_valid(const struct al_layout *l)
{
    const struct al_gpu_model *m = l->model;
    unsigned count[AL_MIG_MAX_PROFILES] = {0}, slices = 0, media = 0, me_all = 0, no_me = 0;
    uint64_t used = 0;
    if (l->n == 0)
        return true;
    if (!m->mig || l->n > m->max_instances || l->n > AL_LAYOUT_MAX)
        return false;
    for (unsigned i = 0; i < l->n; i++) {
        if (l->p[i].profile >= m->nprofiles)
            return false;
        const struct al_mig_profile *pr = &m->profiles[l->p[i].profile];
        unsigned s = l->p[i].start;
        bool allowed = false;
        for (unsigned k = 0; k < pr->nstarts; k++)
            allowed = allowed || pr->starts[k] == s;
        if (!allowed || s + pr->size > m->units)
            return false;
        uint64_t mask = (((uint64_t)1 << pr->size) - 1) << s;
        if (used & mask)
            return false;
        used |= mask;
        slices += pr->compute_slices;
        media += (pr->attrs & (AL_MIG_ATTR_ME | AL_MIG_ATTR_ME_ALL)) != 0;
        me_all += (pr->attrs & AL_MIG_ATTR_ME_ALL) != 0;
        no_me += (pr->attrs & AL_MIG_ATTR_NO_ME) != 0;
        if (++count[l->p[i].profile] > pr->max_count)
            return false;
    }
    if (slices > m->compute_slices || media > 1)
        return false;
    /* a +me.all instance shares the GPU only with -me instances */
    return me_all == 0 || no_me == l->n - 1;
}

static bool all_fixed(const struct al_layout *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].start == AL_START_ANY)
            return false;
    return true;
}

static bool same_layout(const struct al_layout *a, const struct al_layout *b)
{
    if (a->model != b->model || a->n != b->n)
        return false;
    for (unsigned i = 0; i < a->n; i++)
        if (a->p[i].profile != b->p[i].profile || a->p[i].start != b->p[i].start)
            return false;
    return true;
}

static struct al_layout fixed_part(const struct al_layout *l)
{
    struct al_layout f = {.model = l->model};
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].start != AL_START_ANY)
            f.p[f.n++] = l->p[i];
    return f;
}

/* ---- format / parse round trip ---- */

static void check_roundtrip(const struct al_layout *l, const char *input)
{
    char buf[2048], tiny[8];
    struct al_layout back;
    struct al_err err = {0};
    int len = al_layout_format(l, buf, sizeof buf);
    FUZZ_CHECK(len > 0 && (size_t)len < sizeof buf && strlen(buf) == (size_t)len,
               "format of '%s' returned %d for '%s'", input, len, buf);
    FUZZ_CHECK(al_layout_format(l, tiny, sizeof tiny) == len && strlen(tiny) < sizeof tiny &&
                   strncmp(tiny, buf, strlen(tiny)) == 0,
               "format into 8 bytes: '%s' vs '%s'", tiny, buf);
    FUZZ_CHECK(al_layout_parse(l->model, buf, &back, &err) == 0, "'%s' (from '%s'): %s", buf, input,
               err.msg);
    FUZZ_CHECK(same_layout(l, &back), "parse(format(x)) != x: '%s' from '%s'", buf, input);
}

/* ---- validate and can_add against the model ---- */

static void check_validate(const struct al_layout *l, const char *text)
{
    struct al_err err = {0};
    int rc = al_layout_validate(l, &err);
    bool want = model_valid(l);
    FUZZ_CHECK(rc == 0 || (rc == AL_E_INVAL && err.msg[0]), "validate('%s') rc %d", text, rc);
    FUZZ_CHECK((rc == 0) == want, "%s: validate('%s') = %d (%s), the rules say %s", l->model->name,
               text, rc, err.msg, want ? "valid" : "invalid");
    if (!want || l->n >= AL_LAYOUT_MAX)
        return;
    const struct al_gpu_model *m = l->model;
    for (unsigned pi = 0; pi < m->nprofiles; pi++) {
        for (unsigned k = 0; k < m->profiles[pi].nstarts; k++) {
            struct al_placement p = {(uint8_t)pi, m->profiles[pi].starts[k]};
            struct al_layout more = *l;
            more.p[more.n++] = p;
            FUZZ_CHECK(al_layout_can_add(l, p) == model_valid(&more),
                       "%s: can_add('%s' + %s@%u) disagrees with the rules", m->name, text,
                       m->profiles[pi].name, (unsigned)p.start);
        }
    }
}

/* ---- diff ---- */

static bool has(const struct al_layout *l, struct al_placement p)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->p[i].profile == p.profile && l->p[i].start == p.start)
            return true;
    return false;
}

static void check_diff(const struct al_layout *from, const struct al_layout *to, const char *text)
{
    struct al_mig_step steps[AL_DIFF_MAX];
    struct al_err err = {0};
    struct al_layout cur = *from;
    int n = al_layout_diff(from, to, steps, &err);
    FUZZ_CHECK(n >= 0 && n <= AL_DIFF_MAX, "diff for '%s': %d (%s)", text, n, err.msg);
    bool creating = false;
    for (int k = 0; k < n; k++) {
        struct al_placement p = steps[k].p;
        FUZZ_CHECK(!(has(from, p) && has(to, p)), "diff for '%s' touches a kept instance", text);
        if (steps[k].op == AL_STEP_DESTROY) {
            FUZZ_CHECK(!creating && has(&cur, p), "diff for '%s': bad destroy", text);
            unsigned i = 0;
            while (cur.p[i].profile != p.profile || cur.p[i].start != p.start)
                i++;
            cur.p[i] = cur.p[--cur.n];
        } else {
            creating = true;
            FUZZ_CHECK(!has(&cur, p) && cur.n < AL_LAYOUT_MAX, "diff for '%s': bad create", text);
            cur.p[cur.n++] = p;
        }
    }
    FUZZ_CHECK(cur.n == to->n, "diff for '%s' does not reach the target", text);
    for (unsigned i = 0; i < to->n; i++)
        FUZZ_CHECK(has(&cur, to->p[i]), "diff for '%s' misses an instance", text);
}

/* ---- place ---- */

/* Is there any assignment of allowed starts to the free placements that makes l valid? */
static bool brute_fits(struct al_layout *l, unsigned from)
{
    unsigned i = from;
    while (i < l->n && l->p[i].start != AL_START_ANY)
        i++;
    if (i == l->n)
        return model_valid(l);
    const struct al_mig_profile *pr = &l->model->profiles[l->p[i].profile];
    bool found = false;
    for (unsigned k = 0; k < pr->nstarts && !found; k++) {
        l->p[i].start = pr->starts[k];
        found = brute_fits(l, i + 1);
    }
    l->p[i].start = AL_START_ANY;
    return found;
}

static void check_place(const struct al_layout *l, const char *text)
{
    struct al_layout out, fixed = fixed_part(l), work = *l;
    struct al_err err = {0};
    int rc = al_layout_place(l, &out, &err);
    unsigned nfree = l->n - fixed.n;
    FUZZ_CHECK(rc == 0 || rc == AL_E_NOFIT || rc == AL_E_INVAL, "place('%s') rc %d", text, rc);
    FUZZ_CHECK((rc == AL_E_INVAL) == !model_valid(&fixed), "place('%s') = %d (%s), fixed part %s",
               text, rc, err.msg, model_valid(&fixed) ? "valid" : "invalid");
    if (rc == AL_E_NOFIT && nfree <= BRUTE_MAX_FREE)
        FUZZ_CHECK(!brute_fits(&work, 0), "place('%s') says no fit (%s) but one exists", text,
                   err.msg);
    if (rc != 0)
        return;
    FUZZ_CHECK(out.model == l->model && out.n == l->n && all_fixed(&out),
               "place('%s'): wrong shape", text);
    for (unsigned i = 0; i < l->n; i++)
        FUZZ_CHECK(out.p[i].profile == l->p[i].profile &&
                       (l->p[i].start == AL_START_ANY || out.p[i].start == l->p[i].start),
                   "place('%s') moved or changed item %u", text, i + 1);
    FUZZ_CHECK(model_valid(&out), "place('%s') gave an invalid layout", text);
    FUZZ_CHECK(al_layout_validate(&out, &err) == 0, "place('%s'): %s", text, err.msg);
    check_roundtrip(&out, text);
    check_diff(&fixed, &out, text); /* only creates: every fixed instance stays */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct al_gpu_model *m = al_catalog_at(data[0] % al_catalog_count());
    char *text = fuzz_cstr(data + 1, size - 1);
    struct al_layout l, sorted;
    struct al_err err = {0};
    int rc = al_layout_parse(m, text, &l, &err);
    if (rc != 0) {
        FUZZ_CHECK(rc == AL_E_INVAL && err.code == rc && err.msg[0] && l.n == 0,
                   "%s: parse('%s') failed with rc %d, n %u, msg '%s'", m->name, text, rc, l.n,
                   err.msg);
        goto out;
    }
    FUZZ_CHECK(l.model == m && l.n <= AL_LAYOUT_MAX, "%s: parse('%s') n %u", m->name, text, l.n);
    for (unsigned i = 0; i < l.n; i++)
        FUZZ_CHECK(l.p[i].profile < m->nprofiles, "%s: parse('%s') profile %u", m->name, text,
                   (unsigned)l.p[i].profile);
    check_roundtrip(&l, text);
    sorted = l;
    al_layout_sort(&sorted);
    check_roundtrip(&sorted, text);
    if (all_fixed(&l)) {
        check_validate(&l, text);
        if (model_valid(&l)) {
            struct al_layout none = {.model = m};
            check_diff(&l, &none, text);
            check_diff(&none, &l, text);
            check_diff(&l, &sorted, text);
        }
    } else {
        check_place(&l, text);
    }
out:
    free(text);
    return 0;
}
