/* router.h — which route serves a call: the method and the path looked up in the route
 * tables of the resource files. Internal to src/server. */
#ifndef AL_SERVER_ROUTER_H
#define AL_SERVER_ROUTER_H

#include "server/http.h"

#include <stdbool.h>
#include <stddef.h>

#define AL_ROUTER_MAX_PATH 512 /* longer paths match no route */

/* Find the route for `method` and `url` (the path, without the query string). `path`
 * (AL_ROUTER_MAX_PATH bytes) receives a copy of url split in place, and params[] (up to
 * AL_HTTP_MAX_PARAMS) the route's '*' segments, pointing into `path`. Returns the route, or
 * NULL with *method_mismatch set when a route has the path but not the method. */
const struct al_route *al_router_find(const char *method, const char *url, char *path,
                                      const char **params, bool *method_mismatch);

/* The routes numbered 0..al_router_count()-1, in table order (server/metrics.c keeps counters
 * per route in an array). al_router_index: the number of `r` (a route of the tables), or
 * al_router_count() when it is none of them (NULL: a call no route matched). */
size_t al_router_count(void);
const struct al_route *al_router_at(size_t i);
size_t al_router_index(const struct al_route *r);

#endif
