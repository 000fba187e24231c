/* miglayout.c — MIG layouts between the server's JSON documents and core's struct al_layout
 * (see miglayout.h). */
#include "server/miglayout.h"

#include <stdio.h>
#include <string.h>

int al_miglayout_profile_by_id(const struct al_gpu_model *m, json_int_t id)
{
    for (unsigned i = 0; m && m->profiles && i < m->nprofiles && i < AL_MIG_MAX_PROFILES; i++)
        if ((json_int_t)m->profiles[i].nvml_id == id)
            return (int)i;
    return -1;
}

bool al_miglayout_has(const struct al_layout *l, struct al_placement p)
{
    for (unsigned i = 0; i < l->n && i < AL_LAYOUT_MAX; i++)
        if (l->p[i].profile == p.profile && l->p[i].start == p.start)
            return true;
    return false;
}

int al_miglayout_placement(json_t *inst, const struct al_gpu_model *m, struct al_placement *ret,
                           struct al_err *reterr)
{
    const char *name = json_string_value(json_object_get(inst, "profile"));
    json_t *id = json_object_get(inst, "profile_id"), *start = json_object_get(inst, "start");
    int pi = name ? al_catalog_profile_index(m, name) : -1;
    if (pi < 0 && json_is_integer(id))
        pi = al_miglayout_profile_by_id(m, json_integer_value(id));
    if (pi < 0 || pi >= AL_MIG_MAX_PROFILES)
        return al_err_set(reterr, AL_E_INVAL, "instance: %s has no profile %s", m->name,
                          name ? name : "of that profile_id");
    if (!json_is_integer(start) || json_integer_value(start) < 0 ||
        json_integer_value(start) >= (json_int_t)m->units)
        return al_err_set(reterr, AL_E_INVAL, "instance %s: start must be 0..%u",
                          m->profiles[pi].name, m->units - 1);
    *ret = (struct al_placement){(uint8_t)pi, (uint8_t)json_integer_value(start)};
    return 0;
}

int al_miglayout_parse(json_t *doc, const struct al_gpu_model *m, struct al_layout *ret,
                       bool *ret_mig, struct al_err *reterr)
{
    json_t *insts = json_object_get(doc, "instances"), *inst;
    json_t *mig = json_object_get(doc, "mig");
    size_t i;
    struct al_err e = {0};
    memset(ret, 0, sizeof *ret);
    ret->model = m;
    if (!json_is_array(insts) || json_array_size(insts) > AL_LAYOUT_MAX)
        return al_err_set(reterr, AL_E_INVAL, "instances: an array of at most %d", AL_LAYOUT_MAX);
    /* a stored observation writes the mode as {current, pending}; a layout as a boolean */
    if (json_is_object(mig))
        mig = json_object_get(mig, "current");
    if (!json_is_boolean(mig))
        return al_err_set(reterr, AL_E_INVAL, "mig: a boolean required");
    *ret_mig = json_is_true(mig);
    json_array_foreach(insts, i, inst)
    {
        int rc = al_miglayout_placement(inst, m, &ret->p[ret->n], reterr);
        if (rc)
            return rc;
        ret->n++;
    }
    if (!*ret_mig && ret->n)
        return al_err_set(reterr, AL_E_INVAL, "instances: none with MIG off");
    al_layout_sort(ret);
    if (al_layout_validate(ret, &e) != 0)
        return al_err_set(reterr, AL_E_INVAL, "instances: %s", e.msg);
    return 0;
}

int al_miglayout_observed(json_t *gpu, struct al_layout *ret, bool *ret_mig, struct al_err *reterr)
{
    json_t *obs = json_object_get(gpu, "observed");
    const char *model = json_string_value(json_object_get(gpu, "model"));
    const struct al_gpu_model *m = model ? al_catalog_find(model) : NULL;
    if (!json_is_object(obs))
        return 1;
    if (!m)
        return al_err_set(reterr, AL_E_INVAL, "model %s is not in the catalog",
                          model ? model : "(none)");
    return al_miglayout_parse(obs, m, ret, ret_mig, reterr);
}

json_t *al_miglayout_instance(const struct al_gpu_model *m, struct al_placement p)
{
    const struct al_mig_profile *pr = &m->profiles[p.profile];
    return json_pack("{s:s,s:I,s:i}", "profile", pr->name, "profile_id", (json_int_t)pr->nvml_id,
                     "start", (int)p.start);
}

json_t *al_miglayout_json(const struct al_layout *l, bool mig)
{
    json_t *insts = json_array();
    for (unsigned i = 0; insts && i < l->n && i < AL_LAYOUT_MAX; i++)
        if (json_array_append_new(insts, al_miglayout_instance(l->model, l->p[i])) != 0) {
            json_decref(insts);
            insts = NULL;
        }
    return insts ? json_pack("{s:b,s:o}", "mig", mig, "instances", insts) : NULL;
}
