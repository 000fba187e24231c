/* rsvlife.c — a reservation's units and their containers through its window (rsvlife.h). */
#include "server/rsvlife.h"

#include "server/flow.h"

int al_rsvlife_assigned(struct al_ctx *c, json_t *r)
{
    struct al_err e = {0};
    json_t *list = NULL, *a, *x;
    size_t i, j;
    int rc = al_store_assignment_list(c->srv->store, jstr(r, "id"), &list, &e);
    if (rc != 0)
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(json_object_get(r, "allocations"), i, a)
    {
        json_t *who = json_null();
        json_array_foreach(list, j, x)
        {
            if (json_integer_value(json_object_get(x, "unit")) == (json_int_t)i)
                who = json_object_get(x, "user");
        }
        json_object_set(a, "assigned_to", who);
    }
    json_decref(list);
    return 0;
}
