/* test_state.c — unit tests of core/state: the request and reservation transition tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"
#include "core/state.h"

static void walk(enum al_entity e, const char *from, const char *ev, const char *want)
{
    const char *to = NULL;
    assert_int_equal(al_state_next(e, from, ev, &to), 0);
    assert_string_equal(to, want);
}

static void test_request_happy_path(void **state)
{
    (void)state;
    const enum al_entity req = AL_ENTITY_REQUEST;
    assert_string_equal(al_state_initial(req), "submitted");
    walk(req, "submitted", "quote", "quoted");
    walk(req, "quoted", "quote", "quoted");
    walk(req, "quoted", "approve", "approved");
    walk(req, "approved", "accept", "accepted");
    walk(req, "accepted", "confirm", "confirmed");
    assert_true(al_state_final(req, "confirmed"));
    assert_false(al_state_final(req, "quoted"));
}

static void test_request_refusals(void **state)
{
    (void)state;
    const enum al_entity req = AL_ENTITY_REQUEST;
    const char *to = "unchanged";
    /* skipping a step is refused, and leaves *to alone */
    assert_int_equal(al_state_next(req, "submitted", "approve", &to), AL_E_STATE);
    assert_int_equal(al_state_next(req, "quoted", "confirm", &to), AL_E_STATE);
    assert_int_equal(al_state_next(req, "approved", "confirm", &to), AL_E_STATE);
    assert_int_equal(al_state_next(req, "submitted", "expire", &to), AL_E_STATE);
    assert_string_equal(to, "unchanged");
    /* nothing leaves a final state */
    const char *finals[] = {"confirmed", "rejected", "cancelled", "expired"};
    const char *events[] = {"quote", "approve", "accept", "confirm", "reject", "cancel", "expire"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(al_state_final(req, finals[i]));
        for (size_t j = 0; j < 7; j++)
            assert_int_equal(al_state_next(req, finals[i], events[j], &to), AL_E_STATE);
    }
    assert_int_equal(al_state_next(req, "submitted", "fly", &to), AL_E_INVAL);
    assert_int_equal(al_state_next(req, "dreaming", "quote", &to), AL_E_INVAL);
    assert_int_equal(al_state_next(req, NULL, "quote", &to), AL_E_INVAL);
}

static void test_reservation_table(void **state)
{
    (void)state;
    const enum al_entity rsv = AL_ENTITY_RESERVATION;
    const char *to;
    walk(rsv, "scheduled", "start", "active");
    walk(rsv, "active", "end", "ended");
    walk(rsv, "active", "extend", "active");
    walk(rsv, "scheduled", "cancel", "cancelled");
    assert_int_equal(al_state_next(rsv, "ended", "extend", &to), AL_E_STATE);
    assert_int_equal(al_state_next(rsv, "cancelled", "start", &to), AL_E_STATE);
    assert_int_equal(al_state_next(rsv, "scheduled", "end", &to), AL_E_STATE);
    assert_true(al_state_known(rsv, "active"));
    assert_false(al_state_known(rsv, "quoted"));
    assert_false(al_state_known((enum al_entity)42, "active"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_happy_path),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_reservation_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
