/* routes_availability.c — free capacity of a GPU model over a window, whole GPUs and MIG
 * instances per profile, read from the in-memory calendar alone (a snapshot route: no store
 * lock, no commit wait). */
#include "server/http.h"

#include "core/catalog.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/routes.h"

/* How many instances of profile `p` alone fit in the units not in `taken` (greedy by start,
 * which is optimal for placements of one size). */
static unsigned fit_count(const struct al_gpu_model *m, unsigned p, uint32_t taken)
{
    const struct al_mig_profile *pr = &m->profiles[p];
    unsigned n = 0, slices = 0;
    for (unsigned k = 0; k < pr->nstarts && n < pr->max_count; k++) {
        uint32_t mk = (uint32_t)al_cal_mask(m, (int)p, pr->starts[k]);
        if ((taken & mk) || slices + pr->compute_slices > m->compute_slices)
            continue;
        taken |= mk;
        slices += pr->compute_slices;
        n++;
    }
    return n;
}

/* Free capacity of model m during [s, e), straight from the calendar: a GPU is wholly free
 * when no hold overlaps the window; MIG instances are counted in the units no hold takes at
 * any time of the window (a lower bound when holds come and go inside it). GPUs the calendar's
 * coarse index shows as untouched are counted 64 at a time. */
static void avail_count(struct al_cal *cal, const struct al_gpu_model *m, int64_t s, int64_t e,
                        unsigned *total, unsigned *whole, unsigned *inst)
{
    int slot = al_fleet_model_slot(cal->fleet, m);
    const uint64_t *mb = slot >= 0 ? al_fleet_model_bits(cal->fleet, (unsigned)slot) : NULL;
    const uint64_t *ub = al_fleet_usable_bits(cal->fleet);
    unsigned empty[AL_MIG_MAX_PROFILES] = {0};
    struct al_cal_span sp;
    bool indexed = al_calendar_prepare(cal->cal, s, e, &sp) == 0;
    *total = *whole = 0;
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        empty[p] = fit_count(m, p, 0);
    for (size_t w = 0; mb && ub && w < al_fleet_words(cal->fleet); w++) {
        uint64_t cand = mb[w] & ub[w], idx[4] = {0};
        if (!cand)
            continue;
        if (indexed)
            al_calendar_index_word(cal->cal, &sp, w, idx);
        unsigned nfree = (unsigned)__builtin_popcountll(cand & idx[0]);
        *total += (unsigned)__builtin_popcountll(cand);
        *whole += nfree;
        for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
            inst[p] += nfree * empty[p];
        for (uint64_t bits = cand & ~idx[0]; bits; bits &= bits - 1) {
            uint32_t g = (uint32_t)(w * 64 + (unsigned)__builtin_ctzll(bits));
            uint32_t taken = al_calendar_mask(cal->cal, g, s, e);
            *whole += taken == 0;
            for (unsigned p = 0; m->mig && p < m->nprofiles && taken != AL_CAL_WHOLE_MASK; p++)
                inst[p] += fit_count(m, p, taken);
        }
    }
}

static int get_availability(struct al_ctx *c)
{
    const char *model = al_http_query(c, "model"), *qs = al_http_query(c, "start");
    const char *qe = al_http_query(c, "end"), *qp = al_http_query(c, "profile");
    const struct al_gpu_model *m;
    int64_t s = c->now, e;
    unsigned total, whole, inst[AL_MIG_MAX_PROFILES] = {0};
    int pi = -1;
    if (!model || !(m = al_catalog_find(model)))
        return al_http_fail(c, AL_E_INVAL, "model", "model is required and must be known");
    if (qs && al_time_parse(qs, &s) != 0)
        return al_http_fail(c, AL_E_INVAL, "start", "start must be an RFC 3339 UTC time");
    e = s + 3600;
    if (qe && al_time_parse(qe, &e) != 0)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be an RFC 3339 UTC time");
    if (e <= s || e - s > AL_FLOW_MAX_WINDOW_S)
        return al_http_fail(c, AL_E_INVAL, "end", "end must be after start, within 5 years");
    /* nothing is sold past the horizon: no capacity is counted there either */
    if (al_flow_horizon(c, "start", s) || al_flow_horizon(c, "end", e))
        return c->err_code;
    if (qp && (pi = al_catalog_profile_index(m, qp)) < 0)
        return al_http_fail(c, AL_E_INVAL, "profile", "%s has no MIG profile %s", m->name, qp);
    avail_count(c->srv->cal, m, s, e, &total, &whole, inst);
    json_t *profiles = json_array();
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        if (pi < 0 || (int)p == pi)
            json_array_append_new(profiles, json_pack("{s:s,s:i}", "profile", m->profiles[p].name,
                                                      "instances_free", (int)inst[p]));
    return al_http_reply(c, 200,
                         json_pack("{s:s,s:o,s:o,s:i,s:i,s:o}", "model", m->name, "start",
                                   al_time_json(s), "end", al_time_json(e), "whole_gpus_free",
                                   (int)whole, "total_gpus", (int)total, "profiles", profiles));
}

const struct al_route al_routes_availability[] = {
    {"GET", "/v1/availability", get_availability, AL_ROLE_ANY, false, true},
    {NULL, NULL, NULL, 0, false, false},
};
