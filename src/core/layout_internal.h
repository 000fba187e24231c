/* layout_internal.h — what the files of the layout module share (layout.c: the rules, validate,
 * place, enumerate; layout_text.c: parse, format, sort, diff): the model and profile
 * accessors that bound every read of the catalog data, and the text of one instance.
 * Internal to src/core. */
#ifndef AL_CORE_LAYOUT_INTERNAL_H
#define AL_CORE_LAYOUT_INTERNAL_H

#include "core/layout.h"
#include "core/sbuf.h"

#define INST_TEXT_MAX 48

static inline bool model_has_mig(const struct al_gpu_model *m)
{
    return m && m->mig && m->profiles && m->nprofiles > 0 && m->units > 0 && m->units <= 32;
}

static inline unsigned nprofiles(const struct al_gpu_model *m)
{
    if (!model_has_mig(m))
        return 0;
    return m->nprofiles < AL_MIG_MAX_PROFILES ? m->nprofiles : AL_MIG_MAX_PROFILES;
}

static inline const struct al_mig_profile *profile_of(const struct al_gpu_model *m, unsigned i)
{
    return i < nprofiles(m) ? &m->profiles[i] : NULL;
}

/* An instance as layout text writes it: "3g.40gb@4", or "3g.40gb" without a start. */
static inline void inst_text(const struct al_gpu_model *m, struct al_placement p, char *buf,
                             size_t len)
{
    const struct al_mig_profile *pr = profile_of(m, p.profile);
    struct al_sbuf b;
    al_sbuf_init(&b, buf, len);
    if (pr)
        al_sbuf_printf(&b, "%s", pr->name ? pr->name : "?");
    else
        al_sbuf_printf(&b, "profile#%u", (unsigned)p.profile);
    if (p.start != AL_START_ANY)
        al_sbuf_printf(&b, "@%u", (unsigned)p.start);
}

#endif
