/* event.h — the kinds of event the audit log records ("request.quoted", "gpu.unhealthy" …):
 * one enum, so that every kind the server appends is a name the compiler knows and a typo
 * cannot invent a new kind, and one table of the names the log stores and GET /v1/events
 * shows (docs/api.md, "Events"). Pure: no I/O. */
#ifndef AL_CORE_EVENT_H
#define AL_CORE_EVENT_H

#include <stdbool.h>

/* What an event's `object` is the id or name of. */
enum al_event_object {
    AL_EVENT_OF_ORG,         /* an org's id */
    AL_EVENT_OF_USER,        /* a user's id */
    AL_EVENT_OF_MODEL,       /* a GPU model's name (its price) */
    AL_EVENT_OF_NODE,        /* a node's name */
    AL_EVENT_OF_GPU,         /* a GPU's id */
    AL_EVENT_OF_REQUEST,     /* a request's id */
    AL_EVENT_OF_RESERVATION, /* a reservation's id */
    AL_EVENT_OF_CONTRACT,    /* a contract's number ("7") */
    AL_EVENT_OF_INVOICE,     /* an invoice's number ("3") */
    AL_EVENT_OF_POOL,        /* a pay-as-you-go pool session's number ("5") */
    AL_EVENT_OF_MIG_CHANGE,  /* a MIG change's id ("mch_…") */
    AL_EVENT_OF_SCOPE,       /* a change-window scope ("default", "zone:z1", "node:n1") */
    AL_EVENT_OF_CONTAINER,   /* a container's id ("ctr_…") */
    AL_EVENT_OF_WEBHOOK,     /* a webhook's id ("whk_…") */
};

enum al_event_kind {
    AL_EVENT_ORG_CREATED,
    AL_EVENT_USER_CREATED,
    AL_EVENT_PRICE_SET,
    AL_EVENT_NODE_REGISTERED,
    AL_EVENT_NODE_ONLINE,
    AL_EVENT_NODE_OFFLINE,
    AL_EVENT_GPU_HEALTHY,
    AL_EVENT_GPU_UNHEALTHY,
    AL_EVENT_GPU_REMOVED,
    AL_EVENT_GPU_RETURNED,
    AL_EVENT_GPU_MODEL_CHANGED,
    /* request.<state>: one per request state (core/state.h) */
    AL_EVENT_REQUEST_SUBMITTED,
    AL_EVENT_REQUEST_QUOTED,
    AL_EVENT_REQUEST_APPROVED,
    AL_EVENT_REQUEST_ACCEPTED,
    AL_EVENT_REQUEST_CONFIRMED,
    AL_EVENT_REQUEST_REJECTED,
    AL_EVENT_REQUEST_CANCELLED,
    AL_EVENT_REQUEST_EXPIRED,
    /* reservation.<state>, and .extended for the renewal that keeps the state */
    AL_EVENT_RESERVATION_SCHEDULED,
    AL_EVENT_RESERVATION_ACTIVE,
    AL_EVENT_RESERVATION_ENDED,
    AL_EVENT_RESERVATION_CANCELLED,
    AL_EVENT_RESERVATION_EXTENDED,
    /* contract.<what>: a contract written (created, a new version, ended) */
    AL_EVENT_CONTRACT_CREATED,
    AL_EVENT_CONTRACT_AMENDED,
    AL_EVENT_CONTRACT_ENDED,
    /* the ledger */
    AL_EVENT_LEDGER_TOPUP,
    /* invoice.<what>: an invoice built, issued, marked paid */
    AL_EVENT_INVOICE_CREATED,
    AL_EVENT_INVOICE_ISSUED,
    AL_EVENT_INVOICE_PAID,
    /* the clock's money passes (server/draws.c, server/pool.c) */
    AL_EVENT_BALANCE_LOW,              /* object: the org; few periods of a reservation left */
    AL_EVENT_RESERVATION_ACCESS_ENDED, /* a refused draw ended the reservation's access */
    AL_EVENT_POOL_STARTED,
    AL_EVENT_POOL_STOPPED,
    /* appended at the end, as every new kind is: a reservation's end moved earlier */
    AL_EVENT_RESERVATION_SHORTENED,
    /* a node's agent token issued (or replaced) and revoked; the data names its id only */
    AL_EVENT_NODE_TOKEN_ISSUED,
    AL_EVENT_NODE_TOKEN_REVOKED,
    /* MIG changes (docs/migchange.md): planned for a GPU, approved to run (by an operator, or
     * by the auto-apply policy), acknowledged by an affected org's admin, taken by the agent,
     * applied, failed (rolled back), superseded (the need changed before it ran) */
    AL_EVENT_MIG_CHANGE_PLANNED,
    AL_EVENT_MIG_CHANGE_APPROVED,
    AL_EVENT_MIG_CHANGE_ACKNOWLEDGED,
    AL_EVENT_MIG_CHANGE_APPLYING,
    AL_EVENT_MIG_CHANGE_APPLIED,
    AL_EVENT_MIG_CHANGE_FAILED,
    AL_EVENT_MIG_CHANGE_SUPERSEDED,
    /* a reservation that started before its MIG layout was in place */
    AL_EVENT_RESERVATION_PROVISIONING,
    /* an operator set or removed a change window (and its auto-apply policy) */
    AL_EVENT_WINDOW_SET,
    AL_EVENT_WINDOW_REMOVED,
    /* the profiles or placements the host's NVML lists differ from the catalog's */
    AL_EVENT_GPU_CATALOG_MISMATCH,
    /* containers (docs/containers.md): created (pending), running on its node, asked to stop
     * (with the reason), ended (exited by itself, stopped, or failed: the runtime's error),
     * warned ahead of its window's end or of a reservation taking its pool GPU, continued
     * pay-as-you-go after its reservation's window */
    AL_EVENT_CONTAINER_CREATED,
    AL_EVENT_CONTAINER_RUNNING,
    AL_EVENT_CONTAINER_STOPPING,
    AL_EVENT_CONTAINER_EXITED,
    AL_EVENT_CONTAINER_STOPPED,
    AL_EVENT_CONTAINER_FAILED,
    AL_EVENT_CONTAINER_WARNING,
    AL_EVENT_CONTAINER_PAYG,
    /* a reservation's GPU or MIG instance assigned to a member (or unassigned) by an org admin;
     * a failed GPU replaced by a spare; no spare fitting: degraded, the affected time credited */
    AL_EVENT_RESERVATION_ASSIGNED,
    AL_EVENT_RESERVATION_GPU_REPLACED,
    AL_EVENT_RESERVATION_DEGRADED,
    /* a node's container runtime became unreachable, or reachable again (object: the node) */
    AL_EVENT_NODE_RUNTIME_DOWN,
    AL_EVENT_NODE_RUNTIME_UP,
    /* notices ahead of a reservation's window (docs/operations.md, notifications): its start
     * is near, its end is near; each appended once per reservation */
    AL_EVENT_RESERVATION_STARTING,
    AL_EVENT_RESERVATION_ENDING,
    /* webhooks (object: the webhook's id): registered, removed, disabled after its endpoint
     * kept failing */
    AL_EVENT_WEBHOOK_CREATED,
    AL_EVENT_WEBHOOK_DELETED,
    AL_EVENT_WEBHOOK_DISABLED,
};
#define AL_EVENT_NKINDS ((int)AL_EVENT_WEBHOOK_DISABLED + 1)

/* The kind's name as the log stores it ("request.quoted"; static). A value outside the enum
 * is a programming error: AL_ASSERT in debug builds, NULL in release ones. */
const char *al_event_kind_name(enum al_event_kind kind);

/* Whether the `object` of events of `kind` is of type `of` (false outside the enum). */
bool al_event_kind_about(enum al_event_kind kind, enum al_event_object of);

#endif
