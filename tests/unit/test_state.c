/* test_state.c — unit tests of core/state: every (state, event) pair of the request and
 * reservation tables against the transitions docs/api.md draws (each move, its event kind,
 * and every refusal), final states, and the names of states and events (round trips, the
 * wire names byte for byte, unknown names refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/event.h"
#include "core/state.h"

/* A transition as docs/api.md draws it, in wire names. */
struct move {
    const char *from, *event, *to, *kind;
};

static const struct move req_moves[] = {
    {"submitted", "quote", "quoted", "request.quoted"},
    {"quoted", "quote", "quoted", "request.quoted"},
    {"quoted", "approve", "approved", "request.approved"},
    {"approved", "accept", "accepted", "request.accepted"},
    {"accepted", "confirm", "confirmed", "request.confirmed"},
    {"submitted", "reject", "rejected", "request.rejected"},
    {"quoted", "reject", "rejected", "request.rejected"},
    {"approved", "reject", "rejected", "request.rejected"},
    {"accepted", "reject", "rejected", "request.rejected"},
    {"submitted", "cancel", "cancelled", "request.cancelled"},
    {"quoted", "cancel", "cancelled", "request.cancelled"},
    {"approved", "cancel", "cancelled", "request.cancelled"},
    {"accepted", "cancel", "cancelled", "request.cancelled"},
    {"quoted", "expire", "expired", "request.expired"},
    {"approved", "expire", "expired", "request.expired"},
    {"accepted", "expire", "expired", "request.expired"},
};

static const struct move rsv_moves[] = {
    {"scheduled", "start", "active", "reservation.active"},
    {"scheduled", "provision", "provisioning", "reservation.provisioning"},
    {"provisioning", "ready", "active", "reservation.active"},
    {"active", "end", "ended", "reservation.ended"},
    {"provisioning", "end", "ended", "reservation.ended"},
    {"scheduled", "cancel", "cancelled", "reservation.cancelled"},
    {"provisioning", "cancel", "cancelled", "reservation.cancelled"},
    {"active", "cancel", "cancelled", "reservation.cancelled"},
    {"scheduled", "extend", "scheduled", "reservation.extended"},
    {"provisioning", "extend", "provisioning", "reservation.extended"},
    {"active", "extend", "active", "reservation.extended"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The expected move from `from` by `event`, or NULL: the table must refuse it. */
static const struct move *expected(const struct move *moves, size_t n, const char *from,
                                   const char *event)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(moves[i].from, from) == 0 && strcmp(moves[i].event, event) == 0)
            return &moves[i];
    return NULL;
}

static void test_request_names(void **state)
{
    (void)state;
    static const char *const states[] = {"submitted", "quoted",   "approved",  "accepted",
                                         "confirmed", "rejected", "cancelled", "expired"};
    static const char *const events[] = {"quote",  "approve", "accept", "confirm",
                                         "reject", "cancel",  "expire"};
    assert_int_equal(AL_REQ_NSTATES, COUNT(states));
    assert_int_equal(AL_REQ_NEVENTS, COUNT(events));
    for (int i = 0; i < AL_REQ_NSTATES; i++) {
        enum al_req_state s = (enum al_req_state)i, back = AL_REQ_EXPIRED;
        assert_string_equal(al_state_req_name(s), states[i]);
        assert_int_equal(al_state_req_parse(states[i], &back), 0);
        assert_int_equal(back, s);
        assert_true(al_state_known(AL_ENTITY_REQUEST, states[i]));
    }
    for (int i = 0; i < AL_REQ_NEVENTS; i++)
        assert_string_equal(al_state_req_event_name((enum al_req_event)i), events[i]);
    assert_string_equal(al_state_req_name(AL_REQ_SUBMITTED), "submitted"); /* the initial */
    /* unknown names are refused and leave *ret alone */
    static const char *const bad[] = {"",       "Quoted",    "quoted ", " quoted",  "quote",
                                      "active", "scheduled", "ended",   "submitte", "expiredx"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        enum al_req_state s = AL_REQ_QUOTED;
        assert_int_equal(al_state_req_parse(bad[i], &s), AL_E_INVAL);
        assert_int_equal(s, AL_REQ_QUOTED);
        assert_false(al_state_known(AL_ENTITY_REQUEST, bad[i]));
    }
    enum al_req_state s = AL_REQ_QUOTED;
    assert_int_equal(al_state_req_parse(NULL, &s), AL_E_INVAL);
    assert_false(al_state_known(AL_ENTITY_REQUEST, NULL));
}

static void test_reservation_names(void **state)
{
    (void)state;
    static const char *const states[] = {"scheduled", "provisioning", "active", "ended",
                                         "cancelled"};
    static const char *const events[] = {"start", "end", "cancel", "extend", "provision", "ready"};
    assert_int_equal(AL_RSV_NSTATES, COUNT(states));
    assert_int_equal(AL_RSV_NEVENTS, COUNT(events));
    for (int i = 0; i < AL_RSV_NSTATES; i++) {
        enum al_rsv_state s = (enum al_rsv_state)i, back = AL_RSV_CANCELLED;
        assert_string_equal(al_state_rsv_name(s), states[i]);
        assert_int_equal(al_state_rsv_parse(states[i], &back), 0);
        assert_int_equal(back, s);
        assert_true(al_state_known(AL_ENTITY_RESERVATION, states[i]));
    }
    for (int i = 0; i < AL_RSV_NEVENTS; i++)
        assert_string_equal(al_state_rsv_event_name((enum al_rsv_event)i), events[i]);
    static const char *const bad[] = {"",          "Active",   "activ",        "quoted",
                                      "submitted", "extended", "Provisioning", "provision"};
    for (size_t i = 0; i < COUNT(bad); i++) {
        enum al_rsv_state s = AL_RSV_ENDED;
        assert_int_equal(al_state_rsv_parse(bad[i], &s), AL_E_INVAL);
        assert_int_equal(s, AL_RSV_ENDED);
        assert_false(al_state_known(AL_ENTITY_RESERVATION, bad[i]));
    }
    enum al_rsv_state s = AL_RSV_ENDED;
    assert_int_equal(al_state_rsv_parse(NULL, &s), AL_E_INVAL);
    assert_false(al_state_known((enum al_entity)42, "active"));
}

/* Every (state, event) pair of the request table: the drawn moves, with their event kind, and
 * a refusal for every other pair that leaves *to and *kind alone. */
static void test_request_table(void **state)
{
    (void)state;
    size_t moves = 0;
    for (int f = 0; f < AL_REQ_NSTATES; f++) {
        for (int e = 0; e < AL_REQ_NEVENTS; e++) {
            enum al_req_state from = (enum al_req_state)f, to = AL_REQ_EXPIRED;
            enum al_req_event ev = (enum al_req_event)e;
            enum al_event_kind kind = AL_EVENT_ORG_CREATED;
            const struct move *want = expected(req_moves, COUNT(req_moves), al_state_req_name(from),
                                               al_state_req_event_name(ev));
            int rc = al_state_req_next(from, ev, &to, &kind);
            if (!want) {
                assert_int_equal(rc, AL_E_STATE);
                assert_int_equal(to, AL_REQ_EXPIRED);
                assert_int_equal(kind, AL_EVENT_ORG_CREATED);
                continue;
            }
            moves++;
            assert_int_equal(rc, 0);
            assert_string_equal(al_state_req_name(to), want->to);
            assert_string_equal(al_event_kind_name(kind), want->kind);
            /* kind is optional */
            to = AL_REQ_EXPIRED;
            assert_int_equal(al_state_req_next(from, ev, &to, NULL), 0);
            assert_string_equal(al_state_req_name(to), want->to);
        }
    }
    assert_int_equal(moves, COUNT(req_moves)); /* every drawn move is in the table */
}

static void test_request_finals(void **state)
{
    (void)state;
    static const char *const finals[] = {"confirmed", "rejected", "cancelled", "expired"};
    for (int i = 0; i < AL_REQ_NSTATES; i++) {
        const char *name = al_state_req_name((enum al_req_state)i);
        bool final = false;
        for (size_t j = 0; j < COUNT(finals); j++)
            final = final || strcmp(finals[j], name) == 0;
        assert_int_equal(al_state_req_final((enum al_req_state)i), final);
    }
    /* the happy path, as the routes walk it */
    enum al_req_state s = AL_REQ_SUBMITTED;
    static const enum al_req_event path[] = {AL_REQ_EV_QUOTE, AL_REQ_EV_QUOTE, AL_REQ_EV_APPROVE,
                                             AL_REQ_EV_ACCEPT, AL_REQ_EV_CONFIRM};
    for (size_t i = 0; i < COUNT(path); i++)
        assert_int_equal(al_state_req_next(s, path[i], &s, NULL), 0);
    assert_int_equal(s, AL_REQ_CONFIRMED);
}

static void test_reservation_table(void **state)
{
    (void)state;
    size_t moves = 0;
    for (int f = 0; f < AL_RSV_NSTATES; f++) {
        for (int e = 0; e < AL_RSV_NEVENTS; e++) {
            enum al_rsv_state from = (enum al_rsv_state)f, to = AL_RSV_CANCELLED;
            enum al_rsv_event ev = (enum al_rsv_event)e;
            enum al_event_kind kind = AL_EVENT_ORG_CREATED;
            const struct move *want = expected(rsv_moves, COUNT(rsv_moves), al_state_rsv_name(from),
                                               al_state_rsv_event_name(ev));
            int rc = al_state_rsv_next(from, ev, &to, &kind);
            if (!want) {
                assert_int_equal(rc, AL_E_STATE);
                assert_int_equal(to, AL_RSV_CANCELLED);
                assert_int_equal(kind, AL_EVENT_ORG_CREATED);
                continue;
            }
            moves++;
            assert_int_equal(rc, 0);
            assert_string_equal(al_state_rsv_name(to), want->to);
            assert_string_equal(al_event_kind_name(kind), want->kind);
        }
    }
    assert_int_equal(moves, COUNT(rsv_moves));
    assert_true(al_state_rsv_final(AL_RSV_ENDED));
    assert_true(al_state_rsv_final(AL_RSV_CANCELLED));
    assert_false(al_state_rsv_final(AL_RSV_SCHEDULED));
    assert_false(al_state_rsv_final(AL_RSV_ACTIVE));
    assert_false(al_state_rsv_final(AL_RSV_PROVISIONING));
}

/* Each move's kind is request.<to> / reservation.<to> but for extend: the server appends what
 * the table says, so the table must say what the log has always shown. */
static void test_kinds_follow_states(void **state)
{
    (void)state;
    char want[48];
    for (int f = 0; f < AL_REQ_NSTATES; f++) {
        for (int e = 0; e < AL_REQ_NEVENTS; e++) {
            enum al_req_state to;
            enum al_event_kind kind;
            if (al_state_req_next((enum al_req_state)f, (enum al_req_event)e, &to, &kind) != 0)
                continue;
            snprintf(want, sizeof want, "request.%s", al_state_req_name(to));
            assert_string_equal(al_event_kind_name(kind), want);
            assert_true(al_event_kind_about(kind, AL_EVENT_OF_REQUEST));
        }
    }
    for (int f = 0; f < AL_RSV_NSTATES; f++) {
        for (int e = 0; e < AL_RSV_NEVENTS; e++) {
            enum al_rsv_state to;
            enum al_event_kind kind;
            if (al_state_rsv_next((enum al_rsv_state)f, (enum al_rsv_event)e, &to, &kind) != 0)
                continue;
            snprintf(want, sizeof want, "reservation.%s",
                     e == AL_RSV_EV_EXTEND ? "extended" : al_state_rsv_name(to));
            assert_string_equal(al_event_kind_name(kind), want);
            assert_true(al_event_kind_about(kind, AL_EVENT_OF_RESERVATION));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_names),     cmocka_unit_test(test_reservation_names),
        cmocka_unit_test(test_request_table),     cmocka_unit_test(test_request_finals),
        cmocka_unit_test(test_reservation_table), cmocka_unit_test(test_kinds_follow_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
