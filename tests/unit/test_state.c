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
    const enum al_entity R = AL_ENTITY_REQUEST;
    assert_string_equal(al_state_initial(R), "submitted");
    walk(R, "submitted", "quote", "quoted");
    walk(R, "quoted", "quote", "quoted");
    walk(R, "quoted", "approve", "approved");
    walk(R, "approved", "accept", "accepted");
    walk(R, "accepted", "confirm", "confirmed");
    assert_true(al_state_final(R, "confirmed"));
    assert_false(al_state_final(R, "quoted"));
}

static void test_request_refusals(void **state)
{
    (void)state;
    const enum al_entity R = AL_ENTITY_REQUEST;
    const char *to = "unchanged";
    /* skipping a step is refused, and leaves *to alone */
    assert_int_equal(al_state_next(R, "submitted", "approve", &to), AL_E_STATE);
    assert_int_equal(al_state_next(R, "quoted", "confirm", &to), AL_E_STATE);
    assert_int_equal(al_state_next(R, "approved", "confirm", &to), AL_E_STATE);
    assert_int_equal(al_state_next(R, "submitted", "expire", &to), AL_E_STATE);
    assert_string_equal(to, "unchanged");
    /* nothing leaves a final state */
    const char *finals[] = {"confirmed", "rejected", "cancelled", "expired"};
    const char *events[] = {"quote", "approve", "accept", "confirm", "reject", "cancel", "expire"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(al_state_final(R, finals[i]));
        for (size_t j = 0; j < 7; j++)
            assert_int_equal(al_state_next(R, finals[i], events[j], &to), AL_E_STATE);
    }
    assert_int_equal(al_state_next(R, "submitted", "fly", &to), AL_E_INVAL);
    assert_int_equal(al_state_next(R, "dreaming", "quote", &to), AL_E_INVAL);
    assert_int_equal(al_state_next(R, NULL, "quote", &to), AL_E_INVAL);
}

static void test_reservation_table(void **state)
{
    (void)state;
    const enum al_entity V = AL_ENTITY_RESERVATION;
    const char *to;
    walk(V, "scheduled", "start", "active");
    walk(V, "active", "end", "ended");
    walk(V, "active", "extend", "active");
    walk(V, "scheduled", "cancel", "cancelled");
    assert_int_equal(al_state_next(V, "ended", "extend", &to), AL_E_STATE);
    assert_int_equal(al_state_next(V, "cancelled", "start", &to), AL_E_STATE);
    assert_int_equal(al_state_next(V, "scheduled", "end", &to), AL_E_STATE);
    assert_true(al_state_known(V, "active"));
    assert_false(al_state_known(V, "quoted"));
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
