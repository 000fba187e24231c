/* routes_availability.c — free capacity of a GPU model over a window (on nodes with the labels
 * asked), whole GPUs and MIG instances per profile, as the planner counts it on the in-memory
 * calendar alone (a snapshot route: no store lock, no commit wait; core/planner.h says what each
 * count means). */
#include "server/http.h"

#include "core/catalog.h"
#include "server/ask.h"
#include "server/cal.h"
#include "server/flow.h"
#include "server/routes.h"

static int get_availability(struct al_ctx *c)
{
    const char *model = al_http_query(c, "model"), *qs = al_http_query(c, "start");
    const char *qe = al_http_query(c, "end"), *qp = al_http_query(c, "profile");
    const char *ql = al_http_query(c, "labels");
    char labels[AL_FLEET_LABELS_MAX] = "";
    const struct al_gpu_model *m;
    int64_t s = c->now, e;
    struct al_avail av;
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
    /* label selectors as an ask takes them: only GPUs of nodes with every label count */
    if (ql && al_ask_labels_query(c, ql, labels, sizeof labels))
        return c->err_code;
    struct al_where where = {NULL, labels[0] ? labels : NULL, -1};
    /* the window was checked above: the count cannot fail */
    if (al_planner_avail(c->srv->cal->planner, m, s, e, &where, &av) < 0)
        return al_http_fail(c, AL_E_INTERNAL, NULL, "availability not counted");
    json_t *profiles = json_array();
    for (unsigned p = 0; m->mig && p < m->nprofiles; p++)
        if (pi < 0 || (int)p == pi)
            json_array_append_new(profiles, json_pack("{s:s,s:i}", "profile", m->profiles[p].name,
                                                      "instances_free", (int)av.inst_free[p]));
    return al_http_reply(c, 200,
                         json_pack("{s:s,s:o,s:o,s:i,s:i,s:o}", "model", m->name, "start",
                                   al_time_json(s), "end", al_time_json(e), "whole_gpus_free",
                                   (int)av.whole_free, "total_gpus", (int)av.gpus, "profiles",
                                   profiles));
}

const struct al_route al_routes_availability[] = {
    {"GET", "/v1/availability", get_availability, AL_ROLE_ANY, false, true},
    {NULL, NULL, NULL, 0, false, false},
};
