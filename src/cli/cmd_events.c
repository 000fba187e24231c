/* cmd_events.c — `allot events`: the event log (operators: all of it; an org's admins and
 * members: their org's events), as a list or, with --follow, live: the server-sent events of
 * GET /v1/events?follow=1 read with libcurl as they come, one line per event. */
#include "cli/conn.h"

#include <stdlib.h>
#include <string.h>

#define FOLLOW_LINE_MAX (1u << 20) /* the longest line of the stream accepted: an event's data */

static const struct al_col evt_cols[] = {
    {"ID", "id"},         {"AT", "at"},     {"ACTOR", "actor"}, {"KIND", "kind"},
    {"OBJECT", "object"}, {"ORGS", "orgs"}, {"DATA", "data"},
};

static const struct al_opt events_opts[] = {
    {"after", AL_ARG_STR, "after", "only events after this event id (evt_…)"},
    {"limit", AL_ARG_INT, "limit", "at most N events (1..500)"},
    {"cursor", AL_ARG_STR, "cursor", "continue after a previous page"},
    {"kind", AL_ARG_STR, "kind",
     "only events of this kind (reservation.active) or prefix (reservation.*)"},
    {"object", AL_ARG_STR, "object", "only events about this object (an id or a name)"},
    {"follow", AL_ARG_BOOL, NULL, "stream the events live as they are committed (Ctrl-C ends)"},
    {NULL, AL_ARG_STR, NULL, NULL},
};

/* The stream as it is read: its current line, and the last event's id. */
struct follow {
    enum al_out_format fmt;
    char *line; /* FOLLOW_LINE_MAX + 1 bytes */
    size_t len;
    bool skip; /* the current line is too long: dropped up to its end */
    char last[40];
};

static const char *str_or(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "-";
}

/* One event (the JSON of a "data:" line): as it is with -o json, else one row. */
static void print_event(struct follow *f, const char *text)
{
    json_t *ev = json_loads(text, 0, NULL);
    const char *id = json_string_value(json_object_get(ev, "id"));
    if (!ev) {
        fprintf(stderr, "allot events: the server sent an event that is not JSON\n");
        return;
    }
    if (id)
        snprintf(f->last, sizeof f->last, "%s", id);
    if (f->fmt == AL_OUT_JSON) {
        char *s = json_dumps(ev, JSON_COMPACT);
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        char *data = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
        char *orgs = json_dumps(json_object_get(ev, "orgs"), JSON_COMPACT);
        printf("%s  %s  %s  %s  %s  %s\n", id ? id : "-", str_or(ev, "at"), str_or(ev, "kind"),
               str_or(ev, "object"), orgs ? orgs : "[]", data ? data : "{}");
        free(data);
        free(orgs);
    }
    (void)fflush(stdout);
    json_decref(ev);
}

/* A line of the stream: "data: …" is an event (this server sends each on one line); "id:",
 * "event:", "retry:" and comments (": keepalive") say nothing more here. */
static void on_line(struct follow *f)
{
    f->line[f->len] = '\0';
    if (strncmp(f->line, "data: ", 6) == 0)
        print_event(f, f->line + 6);
}

static int on_data(const char *data, size_t len, void *arg)
{
    struct follow *f = arg;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            if (!f->skip)
                on_line(f);
            f->len = 0;
            f->skip = false;
        } else if (f->len == FOLLOW_LINE_MAX) {
            f->skip = true;
        } else if (!f->skip) {
            f->line[f->len++] = data[i];
        }
    }
    return 0;
}

/* --follow: the stream from --after (else from now), until the server ends it. */
static int follow(const struct al_args *a)
{
    struct al_conn c = {0};
    struct follow f = {0};
    struct al_path p;
    struct al_err err = {0};
    const char *path;
    long status = 0;
    int rc;
    al_path_init(&p, "/v1/events");
    al_path_query(&p, "follow", "1");
    al_path_query(&p, "after", al_args_get(a, "after"));
    al_path_query(&p, "kind", al_args_get(a, "kind"));
    al_path_query(&p, "object", al_args_get(a, "object"));
    if (!(path = al_path_str(&p, &err)))
        return al_args_usage_error(a, err.msg, NULL);
    if (al_args_get(a, "limit") || al_args_get(a, "cursor"))
        return al_args_usage_error(a, "--follow takes no --limit or --cursor", NULL);
    if ((rc = al_conn_open(&c, a)) != AL_EXIT_OK)
        goto out;
    f.fmt = c.fmt;
    if (!(f.line = malloc(FOLLOW_LINE_MAX + 1))) {
        rc = AL_EXIT_FAIL;
        goto out;
    }
    rc = al_client_stream(c.client, path, 60, on_data, &f, &status, &err);
    if (rc == 0) {
        fprintf(stderr, "allot events: the server ended the stream%s%s\n",
                f.last[0] ? "; --after " : "", f.last);
        rc = AL_EXIT_FAIL;
    } else {
        fprintf(stderr, "allot events: %s\n", err.msg);
        rc = status >= 400 && status < 500 ? AL_EXIT_NO : AL_EXIT_FAIL;
    }
out:
    free(f.line);
    al_conn_close(&c);
    return rc;
}

int al_cmd_events(int argc, char **argv)
{
    static const struct al_call_spec s = {
        {"allot events [--follow] [--kind K] [--object O] [--after EVT] [--limit N]",
         "List the event log, or follow it live (operators: all; an org's users: their org's).", 0,
         0, events_opts},
        "GET",
        "/v1/events",
        NULL,
        NULL,
        0,
        evt_cols,
        sizeof evt_cols / sizeof evt_cols[0]};
    struct al_args a;
    int rc = al_args_parse(&a, &s.cmd, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    return al_args_get(&a, "follow") ? follow(&a) : al_conn_run_args(&s, &a);
}
