/* test_event.c — unit tests of core/event: every kind has its documented name (docs/api.md,
 * "Events"), byte for byte, no two kinds share one, and each names the object it is about. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/event.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The kinds the log has shown since each was introduced: clients and the integration tests
 * compare these strings. */
static const char *const documented[] = {
    "org.created",
    "user.created",
    "price.set",
    "node.registered",
    "node.online",
    "node.offline",
    "gpu.healthy",
    "gpu.unhealthy",
    "gpu.removed",
    "gpu.returned",
    "gpu.model_changed",
    "request.submitted",
    "request.quoted",
    "request.approved",
    "request.accepted",
    "request.confirmed",
    "request.rejected",
    "request.cancelled",
    "request.expired",
    "reservation.scheduled",
    "reservation.active",
    "reservation.ended",
    "reservation.cancelled",
    "reservation.extended",
    "contract.created",
    "contract.amended",
    "contract.ended",
    "ledger.topup",
    "invoice.created",
    "invoice.issued",
    "invoice.paid",
    "balance.low",
    "reservation.access_ended",
    "pool.started",
    "pool.stopped",
    "reservation.shortened",
    "node.token_issued",
    "node.token_revoked",
    "mig_change.planned",
    "mig_change.approved",
    "mig_change.acknowledged",
    "mig_change.applying",
    "mig_change.applied",
    "mig_change.failed",
    "mig_change.superseded",
    "reservation.provisioning",
    "window.set",
    "window.removed",
    "gpu.catalog_mismatch",
    "container.created",
    "container.running",
    "container.stopping",
    "container.exited",
    "container.stopped",
    "container.failed",
    "container.warning",
    "container.payg",
    "reservation.assigned",
    "reservation.gpu_replaced",
    "reservation.degraded",
    "node.runtime_down",
    "node.runtime_up",
    "reservation.starting",
    "reservation.ending",
    "webhook.created",
    "webhook.deleted",
    "webhook.disabled",
};

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(AL_EVENT_NKINDS, COUNT(documented));
    for (size_t i = 0; i < COUNT(documented); i++) {
        int found = -1;
        for (int k = 0; k < AL_EVENT_NKINDS; k++) {
            const char *name = al_event_kind_name((enum al_event_kind)k);
            assert_non_null(name);
            if (strcmp(name, documented[i]) == 0) {
                assert_int_equal(found, -1); /* no two kinds share a name */
                found = k;
            }
        }
        assert_int_not_equal(found, -1);
    }
    assert_string_equal(al_event_kind_name(AL_EVENT_GPU_MODEL_CHANGED), "gpu.model_changed");
    assert_string_equal(al_event_kind_name(AL_EVENT_RESERVATION_EXTENDED), "reservation.extended");
    assert_string_equal(al_event_kind_name(AL_EVENT_RESERVATION_SHORTENED),
                        "reservation.shortened");
}

/* Each kind is about exactly one object, the one its name begins with (price.set: a model). */
static void test_objects(void **state)
{
    (void)state;
    static const struct {
        const char *prefix;
        enum al_event_object of;
    } objects[] = {
        {"org.", AL_EVENT_OF_ORG},
        {"user.", AL_EVENT_OF_USER},
        {"price.", AL_EVENT_OF_MODEL},
        {"node.", AL_EVENT_OF_NODE},
        {"gpu.", AL_EVENT_OF_GPU},
        {"request.", AL_EVENT_OF_REQUEST},
        {"reservation.", AL_EVENT_OF_RESERVATION},
        {"contract.", AL_EVENT_OF_CONTRACT},
        {"ledger.", AL_EVENT_OF_ORG}, /* an org's money: the object is the org */
        {"invoice.", AL_EVENT_OF_INVOICE},
        {"balance.", AL_EVENT_OF_ORG},
        {"pool.", AL_EVENT_OF_POOL},
        {"mig_change.", AL_EVENT_OF_MIG_CHANGE},
        {"window.", AL_EVENT_OF_SCOPE},
        {"container.", AL_EVENT_OF_CONTAINER},
        {"webhook.", AL_EVENT_OF_WEBHOOK},
    };
    for (int k = 0; k < AL_EVENT_NKINDS; k++) {
        const char *name = al_event_kind_name((enum al_event_kind)k);
        int prefix = -1, about = 0;
        for (size_t o = 0; o < COUNT(objects); o++)
            if (strncmp(name, objects[o].prefix, strlen(objects[o].prefix)) == 0) {
                assert_int_equal(prefix, -1);
                prefix = (int)o;
            }
        assert_int_not_equal(prefix, -1);
        assert_true(al_event_kind_about((enum al_event_kind)k, objects[prefix].of));
        for (int of = AL_EVENT_OF_ORG; of <= AL_EVENT_OF_WEBHOOK; of++)
            about += al_event_kind_about((enum al_event_kind)k, (enum al_event_object)of);
        assert_int_equal(about, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_objects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
