/* draws.h — the clock's draw pass: each period of a reservation under balance or invoiced
 * terms is drawn when it begins (core/billing.h's al_billing_draw: draw k of reservation <id>,
 * key res:<id>:draw:<k>), in order and exactly once, even across restarts and retries: the
 * transfer and the reservation's `drawn` counter are written in the same unit of work, and a
 * key the ledger holds already is a replay, never a second charge.
 *
 * A draw the funds do not cover (balance terms) ends the reservation's access at the start of
 * the unpaid period, p(k) (docs/billing.md, "Balance"): its billing state and document end
 * there, its holds end there (or go, when nothing was paid), an active reservation ends (or,
 * when not even period 0 was paid, is cancelled), and reservation.access_ended is appended.
 * After a reservation's draws under balance terms, balance.low is appended when the org's
 * funds cover fewer than AL_BILLING_LOW_PERIODS of its periods left and not all of them: at
 * most once per period drawn, since it follows a draw written.
 *
 * The pass records the instant it completed up to (the store's clock mark AL_DRAWS_MARK), in
 * the same unit of work: ledger verify checks the draws due by then, so that a draw due since
 * the last pass is never reported missing. Internal to src/server. */
#ifndef AL_SERVER_DRAWS_H
#define AL_SERVER_DRAWS_H

#include "server/http.h"

/* The clock mark (store.h) of the instant the draw pass has completed up to. */
#define AL_DRAWS_MARK "draws"

/* Take every draw due at c->now, inside the caller's unit of work (server/txn.h), then set
 * the mark to c->now. Returns the number of draws written and accesses ended (>= 0), or a
 * negative code with the call failed (c->err_msg): the caller's unit is then undone whole,
 * and the mark stays where it was. */
int al_draws_pass(struct al_ctx *c);

/* Take the draws of reservation `num` (its billing number) due at the mark: for one confirmed
 * between two passes whose first periods began by the last pass's mark, so that after the
 * confirmation's commit, as after every pass, each reservation has exactly the draws due at
 * the mark (what verify checks); the periods that begin after the mark are the next pass's.
 * Inside the caller's unit of work. Returns the number written (>= 0), or a negative code
 * with the call failed. */
int al_draws_catch_up(struct al_ctx *c, uint64_t num);

#endif
