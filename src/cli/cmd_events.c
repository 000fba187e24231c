/* cmd_events.c — `allot events`: the append-only event log (who did what, when; operators). */
#include "cli/conn.h"

static const struct al_col evt_cols[] = {
    {"ID", "id"},     {"AT", "at"},         {"ACTOR", "actor"},
    {"KIND", "kind"}, {"OBJECT", "object"}, {"DATA", "data"},
};

static const struct al_opt events_opts[] = {
    {"after", AL_ARG_STR, "after", "only events after this event id"},
    {"limit", AL_ARG_INT, "limit", "at most N events (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

int al_cmd_events(int argc, char **argv)
{
    static const struct al_call_spec s = {{"allot events [--after EVT] [--limit N]",
                                           "List the event log (operator).", 0, 0, events_opts},
                                          "GET",
                                          "/v1/events",
                                          NULL,
                                          NULL,
                                          0,
                                          evt_cols,
                                          sizeof evt_cols / sizeof evt_cols[0]};
    return al_conn_run(&s, argc, argv);
}
