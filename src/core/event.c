/* event.c — the table of event kinds: each kind's name in the log (byte for byte what the
 * API has always shown: clients and tests compare them) and what its object names. */
#include "core/event.h"

#include "core/assert.h"

#include <stddef.h>

struct kind {
    const char *name;
    enum al_event_object of;
};

/* Indexed by the enum, so that a kind's row is found without a search; the size check below
 * and test_event.c (every kind named, no two alike) keep it in step with the enum. */
static const struct kind kinds[] = {
    [AL_EVENT_ORG_CREATED] = {"org.created", AL_EVENT_OF_ORG},
    [AL_EVENT_USER_CREATED] = {"user.created", AL_EVENT_OF_USER},
    [AL_EVENT_PRICE_SET] = {"price.set", AL_EVENT_OF_MODEL},
    [AL_EVENT_NODE_REGISTERED] = {"node.registered", AL_EVENT_OF_NODE},
    [AL_EVENT_NODE_ONLINE] = {"node.online", AL_EVENT_OF_NODE},
    [AL_EVENT_NODE_OFFLINE] = {"node.offline", AL_EVENT_OF_NODE},
    [AL_EVENT_GPU_HEALTHY] = {"gpu.healthy", AL_EVENT_OF_GPU},
    [AL_EVENT_GPU_UNHEALTHY] = {"gpu.unhealthy", AL_EVENT_OF_GPU},
    [AL_EVENT_GPU_REMOVED] = {"gpu.removed", AL_EVENT_OF_GPU},
    [AL_EVENT_GPU_RETURNED] = {"gpu.returned", AL_EVENT_OF_GPU},
    [AL_EVENT_GPU_MODEL_CHANGED] = {"gpu.model_changed", AL_EVENT_OF_GPU},
    [AL_EVENT_REQUEST_SUBMITTED] = {"request.submitted", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_QUOTED] = {"request.quoted", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_APPROVED] = {"request.approved", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_ACCEPTED] = {"request.accepted", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_CONFIRMED] = {"request.confirmed", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_REJECTED] = {"request.rejected", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_CANCELLED] = {"request.cancelled", AL_EVENT_OF_REQUEST},
    [AL_EVENT_REQUEST_EXPIRED] = {"request.expired", AL_EVENT_OF_REQUEST},
    [AL_EVENT_RESERVATION_SCHEDULED] = {"reservation.scheduled", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_ACTIVE] = {"reservation.active", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_ENDED] = {"reservation.ended", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_CANCELLED] = {"reservation.cancelled", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_EXTENDED] = {"reservation.extended", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_CONTRACT_CREATED] = {"contract.created", AL_EVENT_OF_CONTRACT},
    [AL_EVENT_CONTRACT_AMENDED] = {"contract.amended", AL_EVENT_OF_CONTRACT},
    [AL_EVENT_CONTRACT_ENDED] = {"contract.ended", AL_EVENT_OF_CONTRACT},
    [AL_EVENT_LEDGER_TOPUP] = {"ledger.topup", AL_EVENT_OF_ORG},
    [AL_EVENT_INVOICE_CREATED] = {"invoice.created", AL_EVENT_OF_INVOICE},
    [AL_EVENT_INVOICE_ISSUED] = {"invoice.issued", AL_EVENT_OF_INVOICE},
    [AL_EVENT_INVOICE_PAID] = {"invoice.paid", AL_EVENT_OF_INVOICE},
    [AL_EVENT_BALANCE_LOW] = {"balance.low", AL_EVENT_OF_ORG},
    [AL_EVENT_RESERVATION_ACCESS_ENDED] = {"reservation.access_ended", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_POOL_STARTED] = {"pool.started", AL_EVENT_OF_POOL},
    [AL_EVENT_POOL_STOPPED] = {"pool.stopped", AL_EVENT_OF_POOL},
    [AL_EVENT_RESERVATION_SHORTENED] = {"reservation.shortened", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_NODE_TOKEN_ISSUED] = {"node.token_issued", AL_EVENT_OF_NODE},
    [AL_EVENT_NODE_TOKEN_REVOKED] = {"node.token_revoked", AL_EVENT_OF_NODE},
    [AL_EVENT_MIG_CHANGE_PLANNED] = {"mig_change.planned", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_APPROVED] = {"mig_change.approved", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_ACKNOWLEDGED] = {"mig_change.acknowledged", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_APPLYING] = {"mig_change.applying", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_APPLIED] = {"mig_change.applied", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_FAILED] = {"mig_change.failed", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_MIG_CHANGE_SUPERSEDED] = {"mig_change.superseded", AL_EVENT_OF_MIG_CHANGE},
    [AL_EVENT_RESERVATION_PROVISIONING] = {"reservation.provisioning", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_WINDOW_SET] = {"window.set", AL_EVENT_OF_SCOPE},
    [AL_EVENT_WINDOW_REMOVED] = {"window.removed", AL_EVENT_OF_SCOPE},
    [AL_EVENT_GPU_CATALOG_MISMATCH] = {"gpu.catalog_mismatch", AL_EVENT_OF_GPU},
    [AL_EVENT_CONTAINER_CREATED] = {"container.created", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_RUNNING] = {"container.running", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_STOPPING] = {"container.stopping", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_EXITED] = {"container.exited", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_STOPPED] = {"container.stopped", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_FAILED] = {"container.failed", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_WARNING] = {"container.warning", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_CONTAINER_PAYG] = {"container.payg", AL_EVENT_OF_CONTAINER},
    [AL_EVENT_RESERVATION_ASSIGNED] = {"reservation.assigned", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_GPU_REPLACED] = {"reservation.gpu_replaced", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_DEGRADED] = {"reservation.degraded", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_NODE_RUNTIME_DOWN] = {"node.runtime_down", AL_EVENT_OF_NODE},
    [AL_EVENT_NODE_RUNTIME_UP] = {"node.runtime_up", AL_EVENT_OF_NODE},
    [AL_EVENT_RESERVATION_STARTING] = {"reservation.starting", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_RESERVATION_ENDING] = {"reservation.ending", AL_EVENT_OF_RESERVATION},
    [AL_EVENT_WEBHOOK_CREATED] = {"webhook.created", AL_EVENT_OF_WEBHOOK},
    [AL_EVENT_WEBHOOK_DELETED] = {"webhook.deleted", AL_EVENT_OF_WEBHOOK},
    [AL_EVENT_WEBHOOK_DISABLED] = {"webhook.disabled", AL_EVENT_OF_WEBHOOK},
};

_Static_assert(sizeof kinds / sizeof kinds[0] == AL_EVENT_NKINDS, "a row for every event kind");

static const struct kind *kind_row(enum al_event_kind kind)
{
    const struct kind *k = (unsigned)kind < AL_EVENT_NKINDS ? &kinds[kind] : NULL;
    AL_ASSERT(k && k->name);
    return k && k->name ? k : NULL;
}

const char *al_event_kind_name(enum al_event_kind kind)
{
    const struct kind *k = kind_row(kind);
    return k ? k->name : NULL;
}

bool al_event_kind_about(enum al_event_kind kind, enum al_event_object of)
{
    const struct kind *k = kind_row(kind);
    return k && k->of == of;
}
