/* routes.h — the route table of each resource file, each ended by a NULL method; router.c
 * looks a call up in all of them. A new resource gets its routes_<resource>.c, a line here
 * and one in router.c's list. Internal to src/server. */
#ifndef AL_SERVER_ROUTES_H
#define AL_SERVER_ROUTES_H

#include "server/http.h"

extern const struct al_route al_routes_meta[];         /* routes_meta.c */
extern const struct al_route al_routes_orgs[];         /* routes_orgs.c */
extern const struct al_route al_routes_nodes[];        /* routes_nodes.c */
extern const struct al_route al_routes_prices[];       /* routes_prices.c */
extern const struct al_route al_routes_requests[];     /* routes_requests.c */
extern const struct al_route al_routes_quotes[];       /* routes_quotes.c */
extern const struct al_route al_routes_reservations[]; /* routes_reservations.c */
extern const struct al_route al_routes_availability[]; /* routes_availability.c */
extern const struct al_route al_routes_contracts[];    /* routes_contracts.c */
extern const struct al_route al_routes_ledger[];       /* routes_ledger.c */
extern const struct al_route al_routes_invoices[];     /* routes_invoices.c */
extern const struct al_route al_routes_offerings[];    /* routes_offerings.c */
extern const struct al_route al_routes_reserve[];      /* routes_reserve.c */
extern const struct al_route al_routes_agent[];        /* routes_agent.c */
extern const struct al_route al_routes_migchanges[];   /* routes_migchanges.c */
extern const struct al_route al_routes_containers[];   /* routes_containers.c */
extern const struct al_route al_routes_assign[];       /* routes_assign.c */
extern const struct al_route al_routes_pool[];         /* routes_pool.c */
extern const struct al_route al_routes_metrics[];      /* routes_metrics.c */
extern const struct al_route al_routes_webhooks[];     /* routes_webhooks.c */

/* Reservation c->params[0] into *r (the caller's) when the caller may see it: another org's
 * is 404 as one that does not exist. 0, or the call's code (routes_reservations.c). */
int al_routes_rsv_load(struct al_ctx *c, json_t **r);

#endif
