/* fuzz_catalog_find.c — libFuzzer target for the catalog lookups that take untrusted names and
 * numbers: al_catalog_find (lenient model names from requests and from NVML), the profile
 * lookup, al_catalog_find_pci and al_catalog_pick. Beyond "no crash", it checks the documented
 * properties: results point into the catalog; lookups ignore case; a model name survives any
 * change of its separators and an "NVIDIA " prefix; every model finds itself; pick returns the
 * smallest eligible profile or -1 exactly when none is large enough. */
#include "fuzz.h"

#include <stdbool.h>

#include "core/catalog.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
    return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool in_catalog(const struct al_gpu_model *m)
{
    for (size_t i = 0; i < al_catalog_count(); i++)
        if (al_catalog_at(i) == m)
            return true;
    return false;
}

/* Once: every model's canonical name and aliases find the model itself (or, for an alias two
 * models share, a model that has it too). */
static void check_catalog_once(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    FUZZ_CHECK(al_catalog_at(al_catalog_count()) == NULL, "at(count) must be NULL");
    for (size_t i = 0; i < al_catalog_count(); i++) {
        const struct al_gpu_model *m = al_catalog_at(i);
        FUZZ_CHECK(al_catalog_find(m->name) == m, "'%s' does not find itself", m->name);
        for (const char *const *a = m->aliases; a && *a; a++)
            FUZZ_CHECK(al_catalog_find(*a) != NULL, "alias '%s' of %s finds nothing", *a, m->name);
        for (unsigned p = 0; p < m->nprofiles; p++) {
            FUZZ_CHECK(al_catalog_profile_index(m, m->profiles[p].name) == (int)p,
                       "%s: profile '%s' does not find itself", m->name, m->profiles[p].name);
            for (const char *const *a = m->profiles[p].aliases; a && *a; a++)
                FUZZ_CHECK(al_catalog_profile_by_name(m, *a) == (int)p,
                           "%s: profile alias '%s' does not find its profile", m->name, *a);
        }
    }
}

static void check_find(const char *s)
{
    size_t n = strlen(s);
    char *v = malloc(n + sizeof "NVIDIA ");
    if (!v)
        abort();
    const struct al_gpu_model *m = al_catalog_find(s);
    FUZZ_CHECK(m == NULL || in_catalog(m), "find('%s') points outside the catalog", s);
    for (size_t i = 0; i <= n; i++)
        v[i] = upper(s[i]);
    FUZZ_CHECK(al_catalog_find(v) == m, "find differs for '%s' and '%s'", s, v);
    for (size_t i = 0; i <= n; i++)
        v[i] = lower(s[i]);
    FUZZ_CHECK(al_catalog_find(v) == m, "find differs for '%s' and '%s'", s, v);
    for (size_t i = 0; i < n; i++)
        v[i] = is_alnum(s[i]) ? s[i] : (s[i] == ' ' ? '-' : ' ');
    v[n] = '\0';
    FUZZ_CHECK(al_catalog_find(v) == m, "find differs for '%s' and '%s'", s, v);
    memcpy(v, "NVIDIA ", 7);
    memcpy(v + 7, s, n + 1);
    FUZZ_CHECK(al_catalog_find(v) == m, "find differs for '%s' and '%s'", s, v);
    free(v);
}

static void check_profile(const struct al_gpu_model *m, const char *s)
{
    size_t n = strlen(s);
    char *v = malloc(n + 1);
    if (!v)
        abort();
    int pi = al_catalog_profile_index(m, s);
    FUZZ_CHECK(pi >= -1 && pi < (int)m->nprofiles, "%s: profile_index('%s') = %d", m->name, s, pi);
    for (size_t i = 0; i <= n; i++)
        v[i] = upper(s[i]);
    /* "id:N" is lowercase by definition; names are case-insensitive. */
    if (strncmp(s, "id:", 3) != 0)
        FUZZ_CHECK(al_catalog_profile_index(m, v) == pi, "%s: '%s' and '%s' differ", m->name, s, v);
    /* by name: in range, case-insensitive, and every canonical name it takes profile_index
     * takes too */
    int bn = al_catalog_profile_by_name(m, s);
    FUZZ_CHECK(bn >= -1 && bn < (int)m->nprofiles, "%s: by_name('%s') = %d", m->name, s, bn);
    FUZZ_CHECK(al_catalog_profile_by_name(m, v) == bn, "%s: by_name '%s' and '%s' differ", m->name,
               s, v);
    FUZZ_CHECK(pi < 0 || strncmp(s, "id:", 3) == 0 || bn == pi,
               "%s: '%s' is profile %d by index, %d by name", m->name, s, pi, bn);
    free(v);
}

/* pick: -1 exactly when no eligible profile holds min_bytes; else an eligible one that holds
 * it, with no eligible one smaller (memory, then compute slices). */
static void check_pick(const struct al_gpu_model *m, uint64_t min_bytes, bool plain)
{
    int pi = al_catalog_pick(m, min_bytes, plain);
    int fits = 0;
    for (unsigned i = 0; i < m->nprofiles; i++) {
        const struct al_mig_profile *p = &m->profiles[i];
        if ((plain && p->attrs) || ((uint64_t)p->mem_mib << 20) < min_bytes)
            continue;
        fits++;
        if (pi >= 0) {
            const struct al_mig_profile *q = &m->profiles[pi];
            FUZZ_CHECK(q->mem_mib < p->mem_mib ||
                           (q->mem_mib == p->mem_mib && q->compute_slices <= p->compute_slices),
                       "%s: pick(%llu) chose %s over smaller %s", m->name,
                       (unsigned long long)min_bytes, q->name, p->name);
        }
    }
    FUZZ_CHECK((pi < 0) == (fits == 0), "%s: pick(%llu, %d) = %d with %d fitting", m->name,
               (unsigned long long)min_bytes, plain, pi, fits);
    if (pi >= 0) {
        const struct al_mig_profile *q = &m->profiles[pi];
        FUZZ_CHECK(!(plain && q->attrs) && ((uint64_t)q->mem_mib << 20) >= min_bytes,
                   "%s: pick chose ineligible %s", m->name, q->name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_catalog_once();
    if (size < 9)
        return 0;
    /* Bytes 0-7: a size (pick) and a PCI id (find_pci); byte 8: model and plain flag. */
    uint64_t num = 0;
    for (int i = 0; i < 8; i++)
        num = num << 8 | data[i];
    const struct al_gpu_model *m = al_catalog_at(data[8] % al_catalog_count());
    char *s = fuzz_cstr(data + 9, size - 9);

    const struct al_gpu_model *pm = al_catalog_find_pci((uint32_t)num);
    if (pm) {
        bool has = false;
        for (size_t j = 0; j < 4 && pm->pci_ids[j]; j++)
            has = has || pm->pci_ids[j] == (uint32_t)num;
        FUZZ_CHECK(in_catalog(pm) && has, "find_pci(0x%08x) gave %s", (unsigned)(uint32_t)num,
                   pm->name);
    }
    check_find(s);
    check_profile(m, s);
    const struct al_gpu_model *fm = al_catalog_find(s);
    if (fm)
        check_profile(fm, s);
    check_pick(m, num >> (data[8] & 63), (data[8] & 64) != 0);
    free(s);
    return 0;
}
