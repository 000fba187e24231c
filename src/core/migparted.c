/* migparted.c — mig-parted `version: v1` config text from a layout, and layouts from a config's
 * profile counts. */
#include "core/migparted.h"

#include "core/sbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int al_migparted_name_check(const char *name, struct al_err *reterr)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return al_err_set(reterr, AL_E_INVAL, "config name: empty");
    if (n > AL_MIGPARTED_NAME_MAX)
        return al_err_set(reterr, AL_E_INVAL, "config name: longer than %d characters",
                          AL_MIGPARTED_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return al_err_set(reterr, AL_E_INVAL,
                              "config name: character %zu (0x%02x) not allowed (use A-Z a-z "
                              "0-9 . _ -)",
                              i + 1, c);
    }
    return 0;
}

int al_migparted_counts(const struct al_layout *l, struct al_profile_count out[AL_MIG_MAX_PROFILES])
{
    unsigned per[AL_MIG_MAX_PROFILES] = {0};
    const struct al_gpu_model *m = l->model;
    int n = 0;
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++)
        if (l->p[i].profile < AL_MIG_MAX_PROFILES)
            per[l->p[i].profile]++;
    for (unsigned k = 0; m && k < m->nprofiles && k < AL_MIG_MAX_PROFILES; k++) {
        if (!per[k])
            continue;
        snprintf(out[n].name, sizeof out[n].name, "%s", m->profiles[k].name);
        out[n].count = per[k];
        n++;
    }
    return n;
}

static void put_filter(struct al_sbuf *s, const struct al_gpu_model *m)
{
    if (!m->pci_ids[0])
        return;
    al_sbuf_printf(s, "    - device-filter: [");
    for (size_t i = 0; i < sizeof m->pci_ids / sizeof m->pci_ids[0] && m->pci_ids[i]; i++)
        al_sbuf_printf(s, "%s\"0x%08X\"", i ? ", " : "", (unsigned)m->pci_ids[i]);
    al_sbuf_printf(s, "]\n      devices: all\n");
}

int al_migparted_export(const struct al_layout *l, const char *name, unsigned flags, char *buf,
                        size_t len, struct al_err *reterr)
{
    struct al_profile_count pc[AL_MIG_MAX_PROFILES];
    struct al_sbuf s;
    int rc = al_migparted_name_check(name, reterr);
    if (rc < 0)
        return rc;
    if (!l || !l->model)
        return al_err_set(reterr, AL_E_INVAL, "layout: no GPU model");
    al_sbuf_init(&s, buf, len);
    int n = al_migparted_counts(l, pc);
    al_sbuf_printf(&s, "version: v1\nmig-configs:\n  %s:\n", name);
    if ((flags & AL_MIGPARTED_DEVICE_FILTER) && l->model->pci_ids[0])
        put_filter(&s, l->model);
    else
        al_sbuf_printf(&s, "    - devices: all\n");
    al_sbuf_printf(&s, "      mig-enabled: true\n");
    if (n == 0)
        al_sbuf_printf(&s, "      mig-devices: {}\n");
    else
        al_sbuf_printf(&s, "      mig-devices:\n");
    for (int i = 0; i < n; i++)
        al_sbuf_printf(&s, "        \"%s\": %u\n", pc[i].name, pc[i].count);
    return s.len > (size_t)0x7fffffff ? AL_E_RANGE : (int)s.len;
}

/* "1c.3g.40gb": a compute-instance split, which mig-parted accepts and allot does not model. */
static bool is_ci_profile(const char *name)
{
    size_t i = 0;
    while (isdigit((unsigned char)name[i]))
        i++;
    return i > 0 && name[i] == 'c' && name[i + 1] == '.';
}

static int find_profile(const struct al_gpu_model *m, const char *name, struct al_err *reterr)
{
    /* A mig-parted key is a profile's name, never "id:N"; by name, so that a config written
     * for an earlier driver's name of the same profile ("1g.24gb" on GB200) still imports. */
    int k = al_catalog_profile_by_name(m, name);
    if (k >= 0)
        return k;
    if (is_ci_profile(name))
        return al_err_set(reterr, AL_E_INVAL,
                          "profile '%s': compute-instance profiles are not supported (allot "
                          "manages GPU instances; use the GPU-instance profile)",
                          name);
    return al_err_set(reterr, AL_E_INVAL, "profile '%s': unknown on %s (see allot mig profiles %s)",
                      name, m->name, m->name);
}

static int add_count(const struct al_gpu_model *m, const struct al_profile_count *c, unsigned *seen,
                     struct al_layout *l, struct al_err *reterr)
{
    int k = find_profile(m, c->name, reterr);
    if (k < 0)
        return k;
    if (seen[k]++)
        return al_err_set(reterr, AL_E_INVAL, "profile '%s': listed twice", c->name);
    const struct al_mig_profile *p = &m->profiles[k];
    if (c->count > p->max_count)
        return al_err_set(reterr, AL_E_RANGE, "profile '%s': count %u over its max %u on %s",
                          p->name, c->count, p->max_count, m->name);
    unsigned limit = m->max_instances ? m->max_instances : AL_LAYOUT_MAX;
    if (limit > AL_LAYOUT_MAX)
        limit = AL_LAYOUT_MAX;
    if (l->n + c->count > limit)
        return al_err_set(reterr, AL_E_RANGE, "profile '%s': %u instances in all, over %u on %s",
                          p->name, l->n + c->count, limit, m->name);
    for (unsigned i = 0; i < c->count; i++)
        l->p[l->n++] = (struct al_placement){.profile = (uint8_t)k, .start = AL_START_ANY};
    return 0;
}

int al_migparted_to_layout(const struct al_gpu_model *m, const struct al_profile_count *pc,
                           size_t n, struct al_layout *ret, struct al_err *reterr)
{
    unsigned seen[AL_MIG_MAX_PROFILES] = {0};
    int rc = 0;
    *ret = (struct al_layout){.model = m};
    if (!m || !m->mig) {
        rc = al_err_set(reterr, AL_E_UNSUPPORTED, "model %s: no MIG support",
                        m ? m->name : "(none)");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (pc[i].count == 0)
            continue;
        rc = add_count(m, &pc[i], seen, ret, reterr);
        if (rc < 0)
            goto out;
    }
out:
    if (rc < 0)
        ret->n = 0;
    return rc;
}

bool al_migparted_filter_matches(const struct al_gpu_model *m, const uint32_t *ids, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < sizeof m->pci_ids / sizeof m->pci_ids[0] && m->pci_ids[j]; j++)
            if (ids[i] == m->pci_ids[j])
                return true;
    return false;
}
