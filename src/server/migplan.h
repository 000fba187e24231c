/* migplan.h — the clock's planning pass of MIG changes (docs/migchange.md, "The planner").
 *
 * For each GPU that allot configures (its agent reports MIG state, server/node_report.h: the
 * GPU's `observed` is set; its node online), from the layout observed there and the firm
 * reservation holds within AL_MIGPLAN_HORIZON_S: the earliest time T (now, or a hold's start)
 * whose holds need a layout the observed one does not give; the layout wanted then (the
 * instances held at T, plus every observed instance that still fits beside them: only what must
 * change changes); the change from core's al_migchange_plan, in the node's change windows,
 * stored with its links (server/store: al_store_migchange_put) and appended as
 * mig_change.planned. A GPU's open change is kept while it still turns the observed layout into
 * the one wanted (its window moved on when it passed unapplied); a planned or approved one that
 * no longer does is superseded (mig_change.superseded) and planned anew; one the agent is
 * applying is never touched. Internal to src/server. */
#ifndef AL_SERVER_MIGPLAN_H
#define AL_SERVER_MIGPLAN_H

#include "server/http.h"

#include <jansson.h>
#include <stdint.h>

/* How far ahead the planner looks: the holds that begin within 8 days (a week of windows and
 * a day: every weekly window occurs once before a start in it). */
#define AL_MIGPLAN_HORIZON_S (INT64_C(8) * 86400)

/* The managed GPUs (those whose agent reports MIG state: al_store_gpu_managed, each with its
 * node) into *gpus when it is NULL: the list the clock's passes share within one tick (the
 * caller decrefs it); a GPU not in it is one allot does not configure. 0, or fails the call. */
int al_migplan_gpus(struct al_ctx *c, json_t **gpus);

/* The lines about stuck GPUs the server remembers having said (al_migplan_pass): beyond these,
 * a stuck GPU's line is said at every pass. */
#define AL_MIGPLAN_SAID_MAX 1024

/* Plan at c->now, inside the caller's unit of work (under the server's lock); *gpus as
 * al_migplan_gpus. A GPU that allot does not configure costs nothing beyond the list; one it
 * configures, one indexed read of its own holds (al_store_hold_gpu_firm), whatever the size of
 * the fleet's calendar. A GPU whose facts cannot be planned (an observation or a hold its model
 * does not have, a change window that does not parse, a change the core refuses) is left as it
 * is, said on stderr once: its line is said again only after a pass that did not say it (the
 * GPU planned, its reason changed, it left the managed GPUs). The lines said are remembered in
 * c->srv->migplan_said (allocated here when first needed). Returns the number of changes
 * planned, superseded or moved to a later window (>= 0), or a negative code with the call
 * failed. */
int al_migplan_pass(struct al_ctx *c, json_t **gpus);

/* Free srv->migplan_said (NULL: nothing) and set it NULL; al_srv_close calls it. */
void al_migplan_said_free(struct al_srv *srv);

#endif
