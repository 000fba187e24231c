/* router.c — the route table (every resource file's, server/routes.h) and the lookup of a
 * call's method and path in it. */
#include "server/router.h"

#include "server/routes.h"

#include <stdint.h>
#include <string.h>

static const struct al_route *const route_tables[] = {
    al_routes_meta,      al_routes_orgs,       al_routes_nodes,        al_routes_prices,
    al_routes_requests,  al_routes_quotes,     al_routes_reservations, al_routes_availability,
    al_routes_contracts, al_routes_ledger,     al_routes_invoices,     al_routes_offerings,
    al_routes_reserve,   al_routes_migchanges, al_routes_agent,        al_routes_containers,
    al_routes_assign,    al_routes_pool,       al_routes_metrics,      al_routes_webhooks,
};

#define NTABLES (sizeof route_tables / sizeof route_tables[0])

/* Split `path` in place into at most 8 segments. Returns the count, or -1 when malformed. */
static int split(char *path, char **seg)
{
    int n = 0;
    if (path[0] != '/')
        return -1;
    for (char *p = path + 1; *p;) {
        if (n == 8)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

/* Does route pattern `pat` match the `n` segments? '*' segments go to params. Compares in
 * place: this runs for every route on every call. */
static bool pattern_match(const char *pat, char **seg, int n, const char **params)
{
    int np = 0;
    if (*pat++ != '/')
        return false;
    for (int i = 0; i < n; i++) {
        size_t len = strcspn(pat, "/");
        if (len == 0)
            return false;
        if (len == 1 && pat[0] == '*' && seg[i][0] && np < AL_HTTP_MAX_PARAMS)
            params[np++] = seg[i];
        else if (strncmp(pat, seg[i], len) != 0 || seg[i][len] != '\0')
            return false;
        pat += len;
        if (*pat == '/')
            pat++;
    }
    return *pat == '\0';
}

const struct al_route *al_router_find(const char *method, const char *url, char *path,
                                      const char **params, bool *method_mismatch)
{
    char *seg[8];
    size_t ulen = strlen(url);
    *method_mismatch = false;
    if (ulen >= AL_ROUTER_MAX_PATH)
        return NULL;
    memcpy(path, url, ulen + 1);
    int n = split(path, seg);
    for (size_t t = 0; n >= 0 && t < sizeof route_tables / sizeof route_tables[0]; t++) {
        for (const struct al_route *r = route_tables[t]; r->method; r++) {
            if (!pattern_match(r->pattern, seg, n, params))
                continue;
            if (strcmp(r->method, method) == 0)
                return r;
            *method_mismatch = true;
        }
    }
    return NULL;
}

static size_t table_len(const struct al_route *t)
{
    size_t n = 0;
    while (t[n].method)
        n++;
    return n;
}

size_t al_router_count(void)
{
    size_t n = 0;
    for (size_t t = 0; t < NTABLES; t++)
        n += table_len(route_tables[t]);
    return n;
}

const struct al_route *al_router_at(size_t i)
{
    for (size_t t = 0; t < NTABLES; t++) {
        size_t len = table_len(route_tables[t]);
        if (i < len)
            return &route_tables[t][i];
        i -= len;
    }
    return NULL;
}

/* Runs once per call (server/metrics.c): a range check per table, on addresses as integers
 * (comparing pointers into different arrays is undefined). */
size_t al_router_index(const struct al_route *r)
{
    uintptr_t at = (uintptr_t)r;
    size_t base = 0;
    for (size_t t = 0; r && t < NTABLES; t++) {
        size_t len = table_len(route_tables[t]);
        uintptr_t first = (uintptr_t)route_tables[t];
        if (at >= first && at < first + len * sizeof *r)
            return base + (size_t)(at - first) / sizeof *r;
        base += len;
    }
    return r ? base : al_router_count(); /* none matched: base is the count */
}
