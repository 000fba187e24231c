/* args.h — declarative flag parsing for the server-facing CLI commands: each command lists its
 * flags once (name, type, JSON field, help) and gets parsing, --help text, typed conversion to
 * a JSON body, and the common flags (-o, --server, --token) for free. */
#ifndef AL_CLI_ARGS_H
#define AL_CLI_ARGS_H

#include "cli/cli.h"

#include <jansson.h>
#include <stdbool.h>

#define AL_ARGS_MAX_OPTS 32
#define AL_ARGS_MAX_POS  4
#define AL_ARGS_MAX_LEN  4096 /* longest value accepted on the command line */

enum al_arg_type {
    AL_ARG_STR,   /* a string, sent as is */
    AL_ARG_INT,   /* an integer: optional '-', then digits; at most AL_ARGS_INT_MAX */
    AL_ARG_TIME,  /* RFC 3339, or "now", "+30m", "+2h", "+3d" (relative to now, UTC) */
    AL_ARG_BOOL,  /* a switch without a value: sends true */
    AL_ARG_MONEY, /* a decimal amount of currency ("2.50"), sent as int64 micro-units */
    AL_ARG_PAIRS, /* repeatable "k=v" (or "k", or "k=v,k2=v2"): the values joined with ','; in
                     a body an object {"k": "v", "k2": ""}, in a query string the joined text.
                     At most one such flag per command (they share al_args.pairs) */
};

struct al_opt {
    const char *name; /* "min-memory" for --min-memory */
    enum al_arg_type type;
    const char *field; /* JSON field it fills in a request body; NULL: not sent */
    const char *help;
};

/* What a command says about itself for --help. */
struct al_cmd_spec {
    const char *usage;   /* "allot request show ID" */
    const char *summary; /* one line */
    size_t npos_min, npos_max;
    const struct al_opt *opts; /* NULL-name terminated, may be NULL */
};

struct al_args {
    const struct al_cmd_spec *spec;
    const char *val[AL_ARGS_MAX_OPTS]; /* per spec->opts entry; "1" for a given switch */
    const char *pos[AL_ARGS_MAX_POS];
    size_t npos;
    const char *server, *token, *output;
    char pairs[AL_ARGS_MAX_LEN + 1]; /* the AL_ARG_PAIRS flag's values, joined */
};

/* Parse argv (argv[0] = the command's name). Returns 0; 1 when --help was printed (exit 0);
 * -1 after printing a usage error on stderr (exit 2). */
int al_args_parse(struct al_args *a, const struct al_cmd_spec *spec, int argc, char **argv);

/* Print the --help text of `s` (usage, summary, its flags, the common flags) to `f`. */
void al_args_help(const struct al_cmd_spec *s, FILE *f);

/* The value of flag `name` (pointing into argv, or a static "1" for a switch), or NULL when
 * not given. */
const char *al_args_get(const struct al_args *a, const char *name);

/* Add every given flag that has a JSON field to `obj`, typed. Returns 0, or -1 after printing
 * which flag is wrong on stderr (a usage error). */
int al_args_to_json(const struct al_args *a, json_t *obj);

/* The largest magnitude al_args_int accepts: 18 digits, far beyond any count or time. */
#define AL_ARGS_INT_MAX 999999999999999999LL

/* Parse a whole integer: an optional '-' then decimal digits, nothing else (no spaces, no '+'),
 * with a magnitude of at most AL_ARGS_INT_MAX. Returns 0 or -1. */
int al_args_int(const char *s, long long *ret);

/* Convert a time flag value to RFC 3339 UTC in `out` (cap >= 32). Returns 0 or -1. */
int al_args_time(const char *s, char *out, size_t cap);

/* Print the usage error "allot …: msg" and return AL_EXIT_USAGE. */
int al_args_usage_error(const struct al_args *a, const char *msg, const char *what);

#endif
