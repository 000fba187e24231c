/* conn.h — how a CLI command reaches the server: the server URL and token from flags, the
 * environment (ALLOT_SERVER, ALLOT_TOKEN) or the login files, one client, and calls whose
 * failures are printed (the server's message and code, and a hint when the fix is on the
 * user's side: no token given, no server at the URL) and turned into exit statuses:
 * 1 when the server said no (4xx), 3 when it could not be reached or failed (5xx). */
#ifndef AL_CLI_CONN_H
#define AL_CLI_CONN_H

#include "cli/args.h"
#include "cli/view.h"
#include "client/client.h"

#include <stdio.h>

#define AL_CONN_DEFAULT_SERVER "http://127.0.0.1:8080"

/* Where a setting came from, for the hints printed with a failure. */
enum al_conn_src {
    AL_CONN_SRC_NONE,  /* not found (the server URL then is the default) */
    AL_CONN_SRC_FLAG,  /* --server / --token */
    AL_CONN_SRC_ENV,   /* ALLOT_SERVER / ALLOT_TOKEN */
    AL_CONN_SRC_LOGIN, /* the files saved by `allot login` */
};

struct al_conn {
    struct al_client *client;
    enum al_out_format fmt;
    enum al_conn_src server_src, token_src;
};

/* Open a connection for the parsed flags. Returns AL_EXIT_OK, or an exit status after
 * printing why. Close with al_conn_close() either way. */
int al_conn_open(struct al_conn *c, const struct al_args *a);
void al_conn_close(struct al_conn *c);

/* Call the server. On success *ret (may be NULL) gets the answer, owned by the caller, and
 * AL_EXIT_OK is returned; on failure the error is printed (and its JSON body on stdout with
 * -o json) and the exit status returned. */
int al_conn_call(struct al_conn *c, const char *method, const char *path, json_t *body,
                 const char *idempotency_key, json_t **ret);

/* GET `path` and write the answer's bytes as they came to `out` (a CSV, an HTML page).
 * Returns AL_EXIT_OK, or the exit status after printing the failure as al_conn_call does. */
int al_conn_get_raw(struct al_conn *c, const char *path, FILE *out);

/* The directory of the login files: $ALLOT_CONFIG_DIR, else $HOME/.config/allot. Returns 0,
 * or -1 when neither is set or it does not fit in `cap`. */
int al_conn_config_dir(char *out, size_t cap);

/* Read a small one-line file (a token, a URL) into `out`, trimmed. Returns 0 or -1. */
int al_conn_read_line(const char *path, char *out, size_t cap);

/* An idempotency key for a creating call: the --idempotency-key flag if given, else random
 * in `buf` (cap >= 33). Returns the key, or NULL after printing why. */
const char *al_conn_idem_key(const struct al_args *a, char *buf, size_t cap);

/* Print an answer and release it: JSON as is with -o json; else a list's items as a table of
 * `cols` (when given and the answer has "items"), one object's short summary when `cols` are
 * given (see al_view_brief), or the whole object as key/value lines when they are not. */
void al_conn_print(const struct al_conn *c, json_t *j, const struct al_col *cols, size_t ncols);

/* A whole command that is one call: parse flags, build the path and the body, call, print. */
struct al_call_spec {
    struct al_cmd_spec cmd;
    const char *method;    /* "GET", "POST" */
    const char *prefix;    /* "/v1/requests" */
    const char *pos_field; /* body field taking the positional argument; NULL: it is a path id */
    const char *action;    /* appended after the id ("quote"), or NULL */
    int idem;              /* send an Idempotency-Key (--idempotency-key or random) */
    /* What a person sees (-o table): a list's columns, or the few fields of a changed
     * object's summary ("id", "state", the quote's total…); NULL: every field (show). */
    const struct al_col *cols;
    size_t ncols;
};

/* Run `s` on argv (argv[0] = the command's name). Flags with a field go into the JSON body
 * (POST/PUT) or the query string (GET). Returns the exit status. */
int al_conn_run(const struct al_call_spec *s, int argc, char **argv);
/* The same with flags already parsed (and possibly given defaults) by the command. */
int al_conn_run_args(const struct al_call_spec *s, const struct al_args *a);

#endif
