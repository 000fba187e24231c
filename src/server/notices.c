/* notices.c — reservation.starting and reservation.ending (server/notices.h): the reservations
 * whose notice is due, each noted in the store before its event is appended, in the clock's
 * unit of work. Data: {org, start | end, in_s (seconds to go), nodes (where it runs)}. */
#include "server/notices.h"

#include "server/http.h"

#include <string.h>

/* The nodes of a reservation's allocations, each once. */
static json_t *nodes_of(const json_t *doc)
{
    json_t *nodes = json_array(), *a, *n;
    size_t i, k;
    json_array_foreach(json_object_get(doc, "allocations"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "node"));
        bool seen = !name;
        json_array_foreach(nodes, k, n) seen = seen || strcmp(json_string_value(n), name) == 0;
        if (!seen)
            json_array_append_new(nodes, json_string(name));
    }
    return nodes;
}

/* Give the notice `kind` to every reservation it is due for: `at_start` the scheduled ones
 * starting within `lead` seconds, else the running ones ending within it. */
static int notice_pass(struct al_ctx *c, enum al_event_kind kind, bool at_start, int64_t lead)
{
    const char *name = al_event_kind_name(kind);
    json_t *due = NULL, *r;
    struct al_err e = {0};
    size_t i;
    int rc, n = 0;
    if (lead <= 0)
        return 0;
    if ((rc = al_store_notice_due(c->srv->store, name, at_start, c->now, lead, &due, &e)))
        return al_http_fail_err(c, rc, &e);
    json_array_foreach(due, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "id"));
        int64_t at = json_integer_value(json_object_get(r, at_start ? "start" : "end"));
        if ((rc = al_store_notice_once(c->srv->store, id, name, c->now, &e)) < 0) {
            rc = al_http_fail_err(c, rc, &e);
            break;
        }
        if (rc == 0) /* given already: the query and the record agree unless raced */
            continue;
        json_t *data =
            json_pack("{s:O,s:o,s:I,s:o}", "org", json_object_get(r, "org"),
                      at_start ? "start" : "end", al_time_json(at), "in_s",
                      (json_int_t)(at - c->now), "nodes", nodes_of(json_object_get(r, "doc")));
        if (!data) {
            rc = al_http_fail(c, AL_E_NOMEM, NULL, "out of memory");
            break;
        }
        if ((rc = al_event(c, kind, json_string_value(json_object_get(r, "org")), id, data)) < 0)
            break;
        n++;
    }
    json_decref(due);
    return rc < 0 ? rc : n;
}

int al_notices_pass(struct al_ctx *c)
{
    int a = notice_pass(c, AL_EVENT_RESERVATION_STARTING, true, c->srv->start_notice_s);
    if (a < 0)
        return a;
    int b = notice_pass(c, AL_EVENT_RESERVATION_ENDING, false, c->srv->end_warning_s);
    return b < 0 ? b : a + b;
}
