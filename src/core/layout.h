/* layout.h — MIG layouts: the set of GPU instances on one GPU as (profile, start) placements.
 *
 * A layout is valid when no two placements overlap in placement units, each start is one the
 * profile allows, the compute slices sum within the model's limit, each profile stays within its
 * max count, at most one +me instance exists, and a +me.all instance shares the GPU only with -me
 * instances. Placement units are bits of a 32-bit mask, so overlap checks are O(1).
 * Pure: no I/O, no allocation unless stated.
 */
#ifndef AL_CORE_LAYOUT_H
#define AL_CORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/catalog.h"
#include "core/err.h"

#define AL_LAYOUT_MAX 16   /* more instances than any GPU supports (7) */
#define AL_START_ANY  0xff /* "any allowed start": a profile written without @ */

struct al_placement {
    uint8_t profile; /* index into model->profiles */
    uint8_t start;   /* placement unit, or AL_START_ANY */
};

struct al_layout {
    const struct al_gpu_model *model;
    unsigned n;
    struct al_placement p[AL_LAYOUT_MAX];
};

/* Mask of the units [start, start+size) of a placed instance (start must not be AL_START_ANY). */
uint32_t al_placement_mask(const struct al_gpu_model *m, struct al_placement p);

/* Union of the masks of all placed instances of `l`. */
uint32_t al_layout_mask(const struct al_layout *l);

/* Parse "3g.40gb@0,2g.20gb@4,1g.10gb@6" for model `m`. A profile without "@" gets AL_START_ANY;
 * "" or "none" is the empty layout. Spaces around items are allowed; names match the model's
 * profile names case-insensitively. A count prefix "2x1g.10gb" stands for "1g.10gb,1g.10gb"
 * (count 1-16, no "@" with it); al_layout_format never writes it. On error returns AL_E_INVAL
 * (unknown profile, bad start, too many instances…) with the offending item named, and leaves
 * *ret empty. Does not validate; see al_layout_validate. */
int al_layout_parse(const struct al_gpu_model *m, const char *text, struct al_layout *ret,
                    struct al_err *reterr);

/* Write `l` as text into buf (snprintf semantics: returns the length it needed). Placements
 * are written in the order they are stored; call al_layout_sort first for canonical text.
 * The empty layout prints as "none". */
int al_layout_format(const struct al_layout *l, char *buf, size_t len);

/* Sort placements by start (AL_START_ANY last), then by profile index. */
void al_layout_sort(struct al_layout *l);

/* Check every rule above. All starts must be fixed. Returns 0, or AL_E_INVAL with a reason that
 * names the offending instance ("3g.40gb@2: start 2 not allowed (allowed: 0,4)",
 * "2g.20gb@4 overlaps 3g.40gb@4", "compute slices 8 exceed 7", "second +me instance …"). */
int al_layout_validate(const struct al_layout *l, struct al_err *reterr);

/* True when instance `p` (fixed start) can be added to valid layout `l` keeping it valid. */
bool al_layout_can_add(const struct al_layout *l, struct al_placement p);

/* What the rules read of a layout: its units and a few counts, so that "may one more instance
 * join?" is O(1). Start from a zeroed summary (the empty layout) and add the instances of a
 * valid layout with al_layout_sum_add. */
struct al_layout_sum {
    uint32_t mask;                      /* placement units in use */
    unsigned n;                         /* instances */
    unsigned slices;                    /* compute slices in use */
    unsigned media;                     /* +me or +me.all instances */
    unsigned me_all;                    /* +me.all instances */
    unsigned no_me;                     /* -me instances */
    uint8_t count[AL_MIG_MAX_PROFILES]; /* instances per profile */
};

/* Add instance p (fixed start) to s. p must be one that al_layout_sum_can_add accepts (or s
 * and p together a valid layout); nothing is checked. */
void al_layout_sum_add(const struct al_gpu_model *m, struct al_layout_sum *s,
                       struct al_placement p);

/* True when instance p (fixed start) may join the layout summed up in s: the rules of
 * al_layout_validate, each in O(1). */
bool al_layout_sum_can_add(const struct al_gpu_model *m, const struct al_layout_sum *s,
                           struct al_placement p);

/* Fold s into worst, so that worst accepts an instance exactly when every summary folded in
 * accepts it: each rule bounds one quantity, and worst keeps each quantity's maximum (the
 * units: their union). An instance that lives through a time window must join the layout alive
 * at every instant of it: it fits iff the join of those layouts accepts it. Start worst
 * zeroed. */
void al_layout_sum_join(struct al_layout_sum *worst, const struct al_layout_sum *s);

/* How many instances of profile `prof` alone could still join s (each one checked with the
 * ones before it). Greedy by start, which reaches the most: a profile's starts are multiples
 * of its size (disjoint slots) in every catalog model, and the other rules count instances
 * wherever they are. 0 for a bad profile or a model without MIG. */
unsigned al_layout_sum_room(const struct al_gpu_model *m, const struct al_layout_sum *s,
                            unsigned prof);

/* Find starts for every AL_START_ANY placement of `in`, keeping its fixed ones, so that the
 * result is valid. Among the solutions it prefers the one that keeps the largest profiles of the
 * model placeable afterwards (fragmentation-aware), then lower starts. Returns 0 with *ret
 * filled (same order as `in`; `ret` may be `in`), or AL_E_NOFIT with a reason when no
 * assignment exists (proved by exhaustive search), or AL_E_INVAL when the fixed part is itself
 * invalid. */
int al_layout_place(const struct al_layout *in, struct al_layout *ret, struct al_err *reterr);

/* Visit every valid non-empty layout of `m` built from the profiles whose bit is set in
 * `profile_set` (bit i = m->profiles[i]; 0 means all profiles). With `maximal_only`, only those
 * to which no profile of the set can be added. Layouts are visited sorted, each once. `fn` may
 * be NULL (count only); a non-zero return from it stops the walk. Returns the number visited. */
typedef int (*al_layout_visit_fn)(const struct al_layout *l, void *ctx);
long al_layout_enumerate(const struct al_gpu_model *m, uint32_t profile_set, bool maximal_only,
                         al_layout_visit_fn fn, void *ctx);

enum al_step_op { AL_STEP_DESTROY, AL_STEP_CREATE };

struct al_mig_step {
    enum al_step_op op;
    struct al_placement p;
};

#define AL_DIFF_MAX (2 * AL_LAYOUT_MAX)

/* Steps that turn valid layout `from` into valid layout `to` (same model, fixed starts): all
 * destroys first, then creates, never touching an instance present in both (same profile and
 * start). Returns the number of steps written to `steps` (at most AL_DIFF_MAX), or AL_E_INVAL. */
int al_layout_diff(const struct al_layout *from, const struct al_layout *to,
                   struct al_mig_step steps[AL_DIFF_MAX], struct al_err *reterr);

#endif
