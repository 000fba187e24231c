/* calendar.h — every hold on every GPU over time, with the checks that keep them from
 * overbooking, and an index that finds candidate GPUs without scanning the whole fleet.
 *
 * A hold is (gpu, whole | MIG instance (profile, start), [t0, t1), owner). Rules, checked on
 * every add/extend:
 *   - a whole-GPU hold (the GPU in non-MIG mode) excludes every other hold at overlapping times;
 *   - MIG holds on one GPU coexist when, at every instant, the set of MIG holds alive forms a
 *     valid layout (layout.h: no unit overlap, allowed starts, compute slices, max count, +me
 *     rules). All those rules are closed under taking subsets, so checking the instants where
 *     some hold starts inside the new hold's interval (and its own t0) is exact.
 *   - so a GPU changes MIG mode only where it is wholly free.
 *
 * Design, for 80,000 GPUs and 1,000,000 holds over 90 days (≤ 64 bytes per hold in all):
 *   - Times: int64 seconds (Unix time, say) in the API; stored as uint32 seconds since the
 *     calendar's `origin` (136 years of range at second precision). Times before origin, or
 *     more than 2^32-1 s after it, are refused with AL_E_RANGE.
 *   - Hold records: 32-byte records indexed by hold id (uint32), recycled through a free list.
 *     A record keeps t0, t1, expiry, gpu, owner (kind + 56-bit id), profile, start, unit mask,
 *     and the link to the next hold of the same owner.
 *   - Per GPU: an array of (t0, t1, id) sorted by t0 (12 bytes per hold plus growth slack), and
 *     the longest hold length ever placed there, so "holds overlapping [s, e)" is a binary
 *     search for t0 < e followed by a backward scan bounded by t0 > s - maxlen, without reading
 *     the records (a cache miss each at a million holds).
 *   - Per owner: an open-addressing hash table of hold ids (4 bytes a slot, load <= 3/4; the key
 *     is read from the record), heading a chain through the records. Cancel/renew by owner is
 *     O(its holds). Measured: 62 bytes per hold at 1M holds on 80k GPUs (one owner per hold).
 *   - Coarse index: time is cut into buckets (a day by default). Per bucket four fleet-wide
 *     bitsets over GPU ids: ANY (some hold overlaps the bucket), NOROOM (no MIG instance can be
 *     held throughout the bucket: a whole-GPU hold overlaps it, or the units of the MIG holds
 *     overlapping it leave no start free), CROSS (some hold straddles the instant the bucket starts
 * at) and THRU (some hold is alive throughout the bucket). For a window [s, e): a GPU with an ANY
 * bit in a bucket lying entirely inside the window, a THRU bit in any bucket it touches, or a CROSS
 * bit at a bucket boundary strictly inside it, is certainly not wholly free; one with no ANY bit in
 * any bucket the window touches certainly is; only the rest (holds in a partly covered edge bucket,
 * not crossing into the window's inner part) need the exact per-GPU check. NOROOM bits in inner
 * buckets rule a GPU out for MIG. The planner ANDs these with the fleet's per-model bitset, 64 GPUs
 * per word, and reads them word by word so that a scan that stops early pays only for what it read.
 *     4 bits × GPUs × buckets: 80k GPUs × 128 buckets ≈ 5.1 MB, about 5 bytes per hold at 1M.
 *     Records live in fixed chunks, so growth never copies them or doubles the memory.
 *   - Tentative holds (quotes) are also kept in a list for al_calendar_expire.
 *
 * Pure: libc only, no clock (callers pass times), no I/O. The calendar borrows the fleet (it
 * reads GPU models); the fleet must outlive it. GPUs added to the fleet later are picked up
 * automatically. All memory is owned by the struct al_calendar. Not thread-safe: one writer,
 * or external locking.
 */
#ifndef AL_CORE_CALENDAR_H
#define AL_CORE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/fleet.h"
#include "core/layout.h"

#define AL_CAL_WHOLE_MASK     0xffffffffu /* occupied mask contributed by a whole-GPU hold */
#define AL_CAL_PROFILE_WHOLE  0xff        /* al_hold.profile of a whole-GPU hold */
#define AL_OWNER_ID_MAX       ((UINT64_C(1) << 56) - 1)
#define AL_CAL_DEFAULT_BUCKET 86400 /* seconds per index bucket */

enum al_owner_kind {
    AL_OWNER_RESERVATION = 0, /* a confirmed reservation (dedicated or MIG) */
    AL_OWNER_TENTATIVE = 1,   /* a quote's hold; expires at al_hold.expires */
    AL_OWNER_POOL = 2,        /* a general-pool container */
};

struct al_owner {
    uint64_t id; /* 0..AL_OWNER_ID_MAX, the caller's own id (reservation id, quote id …) */
    enum al_owner_kind kind;
};

/* A hold, as the caller writes it and reads it back. */
struct al_hold {
    uint32_t gpu;
    bool whole;      /* true: whole GPU (non-MIG mode); profile/start ignored */
    uint8_t profile; /* MIG: index into the GPU model's profiles */
    uint8_t start;   /* MIG: placement unit */
    int64_t t0, t1;  /* [t0, t1), t0 < t1 */
    int64_t expires; /* tentative holds: expiry time (0 = none); others: ignored, read as 0 */
    struct al_owner owner;
};

struct al_calendar;

/* A new, empty calendar over fleet `f` (borrowed) for times >= origin, with index buckets of
 * `bucket_s` seconds (0 = AL_CAL_DEFAULT_BUCKET). NULL when out of memory or bucket_s < 60.
 * Owned by the caller: al_calendar_free. */
struct al_calendar *al_calendar_new(const struct al_fleet *f, int64_t origin, int64_t bucket_s);
void al_calendar_free(struct al_calendar *c);

int64_t al_calendar_origin(const struct al_calendar *c);
const struct al_fleet *al_calendar_fleet(const struct al_calendar *c);

/* Would `h` fit? 0, or AL_E_CONFLICT naming the blocking hold ("GPU 3: 3g.40gb@4 overlaps hold
 * 17 of reservation 0069a1b2c3d4e5 during [2026-05-01T10:00:00Z, 2026-05-01T12:00:00Z)") or
 * the instant a MIG rule fails ("GPU 3: 1g.10gb+me@3 does not fit at 2026-05-01T10:00:00Z:
 * …"), AL_E_INVAL (bad gpu/profile/start/times, MIG on a non-MIG model; drained or unhealthy
 * GPUs are NOT refused here — that is the planner's policy), AL_E_RANGE (times outside the
 * calendar's range). Changes nothing.
 * Messages name times as RFC 3339 UTC times (core/timefmt.h), GPUs by their fleet id and
 * owners by kind and id in hex, 14 digits (a caller with hex ids finds them at the end of its
 * own: al_cal_owner keeps the low 56 bits). */
int al_calendar_check(const struct al_calendar *c, const struct al_hold *h, struct al_err *reterr);

/* Check and add. Returns the new hold id (>= 0) or the codes of al_calendar_check, AL_E_NOMEM. */
int al_calendar_add(struct al_calendar *c, const struct al_hold *h, struct al_err *reterr);

/* Remove hold `id`. 0 or AL_E_NOTFOUND. */
int al_calendar_release(struct al_calendar *c, uint32_t id);

/* Copy hold `id` into *ret. 0 or AL_E_NOTFOUND. */
int al_calendar_get(const struct al_calendar *c, uint32_t id, struct al_hold *ret);

/* Move the end of hold `id` earlier to new_t1 (t0 < new_t1 <= t1). 0, AL_E_NOTFOUND, AL_E_INVAL. */
int al_calendar_shorten(struct al_calendar *c, uint32_t id, int64_t new_t1, struct al_err *reterr);

/* Renewal: the same hold gets the later end new_t1 (> t1) when [t1, new_t1) is free for it.
 * 0, AL_E_NOTFOUND, AL_E_INVAL, AL_E_RANGE, or AL_E_CONFLICT naming the blocking hold. */
int al_calendar_extend(struct al_calendar *c, uint32_t id, int64_t new_t1, struct al_err *reterr);

/* Renewal of every hold of `owner` to new_t1, all or nothing (holds ending after new_t1 are
 * left alone). Returns the number of holds extended, or an error of al_calendar_extend (then
 * nothing changed), AL_E_NOTFOUND when the owner has no holds. */
int al_calendar_extend_owner(struct al_calendar *c, struct al_owner owner, int64_t new_t1,
                             struct al_err *reterr);

/* Remove every hold of `owner`. Returns how many were removed (0 when none). */
int al_calendar_cancel_owner(struct al_calendar *c, struct al_owner owner);

/* Give every hold of `from` to `to` (a quote's tentative holds become a reservation's on
 * confirmation; the expiry is cleared when `to` is not tentative). Returns how many moved. */
int al_calendar_reown(struct al_calendar *c, struct al_owner from, struct al_owner to);

/* Ids of the holds of `owner`, up to `max` written to ids (may be NULL with max 0). Returns the
 * total number the owner has. */
int al_calendar_owner_holds(const struct al_calendar *c, struct al_owner owner, uint32_t *ids,
                            size_t max);

/* Remove every tentative hold whose expiry is <= now. Returns how many were removed. */
int al_calendar_expire(struct al_calendar *c, int64_t now);

/* OR of the unit masks of the holds on `gpu` overlapping [s, e); a whole-GPU hold contributes
 * AL_CAL_WHOLE_MASK. 0 when nothing overlaps (or gpu unknown). */
uint32_t al_calendar_mask(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e);

/* al_calendar_mask of up to AL_CAL_BATCH GPUs over one window, into ret[i] for gpus[i]: the
 * same values, but the GPUs' hold arrays and then the records of their overlapping holds are
 * requested from memory in stages, so that the cache misses of different GPUs overlap instead
 * of following one another (a fleet-wide scan is bound by these misses). n > AL_CAL_BATCH is
 * done in several batches. */
#define AL_CAL_BATCH 64
void al_calendar_masks(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                       int64_t e, uint32_t *ret);

/* The MIG layouts alive on `gpu` during [s, e), as one summary (layout.h): the join of the
 * layout alive at each instant of the window (mask: the units held at any instant). An instance
 * held throughout the window fits exactly when al_layout_sum_can_add(m, ret, p) says so, and
 * al_layout_sum_room(m, ret, q) is how many of profile q alone still fit. Returns how many holds
 * overlap the window (0: the GPU is wholly free, ret zeroed), or AL_E_NOFIT (ret zeroed) when
 * one of them is a whole-GPU hold: no instance fits. Reads the records of those holds. */
int al_calendar_window_sum(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                           struct al_layout_sum *ret);

/* al_calendar_window_sum of n GPUs over one window, into rc[i] and ret[i] for gpus[i]: the
 * same values, but the records of the GPUs' holds are requested from memory together first,
 * in batches of AL_CAL_BATCH, so that their cache misses overlap (as al_calendar_masks). */
void al_calendar_window_sums(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                             int64_t e, int *rc, struct al_layout_sum *ret);

/* True when no hold on `gpu` overlaps [s, e). */
bool al_calendar_free_during(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e);

/* al_calendar_free_during of n GPUs over one window, into ret[i] for gpus[i]: the same values,
 * with the GPUs' searches run together so that their cache misses overlap (as
 * al_calendar_masks). */
void al_calendar_free_many(const struct al_calendar *c, const uint32_t *gpus, size_t n, int64_t s,
                           int64_t e, bool *ret);

/* Call fn for each hold on `gpu` overlapping [s, e), in order of t0; a non-zero return from fn
 * stops the walk and is returned. Returns 0 otherwise. fn must not change the calendar. */
typedef int (*al_hold_visit_fn)(uint32_t id, const struct al_hold *h, void *ctx);
int al_calendar_each(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                     al_hold_visit_fn fn, void *ctx);

/* The holds on `gpu` overlapping [s, e), in order of t0: up to `max` copied to out (may be NULL
 * with max 0). Returns how many overlap in all. */
size_t al_calendar_holds(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e,
                         struct al_hold *out, size_t max);

/* Number of holds on `gpu` overlapping [s, e) (all GPUs when gpu == UINT32_MAX: total holds;
 * s and e are then ignored). */
size_t al_calendar_count(const struct al_calendar *c, uint32_t gpu, int64_t s, int64_t e);

/* Coarse index for the planner. For window [s, e), fill per GPU-id word w (al_fleet_words()
 * words each, caller-provided; any pointer may be NULL to skip it):
 *   sure_free[w]  — GPUs with no hold anywhere in the buckets the window touches (wholly free);
 *   maybe[w]      — GPUs that may be wholly free: holds only in a partly covered edge bucket,
 *                   none alive throughout it, none straddling a bucket boundary inside the
 *                   window (confirm with
 *                   al_calendar_free_during);
 *   no_whole[w]   — GPUs not ruled out for MIG: no NOROOM bit (whole-GPU hold, or MIG holds
 *                   whose units leave no start free) in a bucket inside the window
 *                   (candidates for MIG; confirm exactly);
 *   used[w]       — GPUs with some hold in a bucket the window touches (partly used: where
 *                   MIG packing looks first).
 * Returns 0, or AL_E_RANGE / AL_E_INVAL for a bad window. */
int al_calendar_index(const struct al_calendar *c, int64_t s, int64_t e, uint64_t *sure_free,
                      uint64_t *maybe, uint64_t *no_whole, uint64_t *used);

/* The same, one GPU word at a time, for scans that stop early: prepare the window once (0,
 * AL_E_INVAL or AL_E_RANGE), then ret[0..3] = sure_free, maybe, no_whole, used of word w. */
struct al_cal_span {
    int64_t b0, b1, i0, i1; /* buckets touched, and the interior ones */
};
int al_calendar_prepare(const struct al_calendar *c, int64_t s, int64_t e, struct al_cal_span *ret);
void al_calendar_index_word(const struct al_calendar *c, const struct al_cal_span *sp, size_t w,
                            uint64_t ret[4]);

/* For each GPU of word w set in `bits`, ret[gpu % 64] = a subset of the units (the low 8) held
 * at some instant of the prepared window: the OR over the 4-bucket blocks wholly inside it (0
 * when none is). A profile with no placement clear of these units surely does not fit. */
void al_calendar_units_word(const struct al_calendar *c, const struct al_cal_span *sp, size_t w,
                            uint64_t bits, uint8_t ret[64]);

/* A hint that `gpu` is about to be queried: starts loading its hold array into the cache, so
 * that a scan can overlap the memory latency of many GPUs. No effect on results. */
void al_calendar_prefetch(const struct al_calendar *c, uint32_t gpu);

/* Bytes used by holds and their indexes (records, per-GPU arrays, owner table, tentative list,
 * bucket bitsets) — the benchmark's bytes per hold. */
size_t al_calendar_bytes(const struct al_calendar *c);

#endif
