/* mig_util.h — what the `allot mig` subcommands share: option parsing, the GPU model and layout
 * arguments with their error messages, and the JSON shapes of profiles and layouts. */
#ifndef AL_CLI_MIG_UTIL_H
#define AL_CLI_MIG_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "cli/cli.h"
#include "core/catalog.h"
#include "core/err.h"
#include "core/layout.h"

/* Options a subcommand may accept (bits of `allowed`); -o and --help are always accepted. */
enum {
    AL_MIG_OPT_PROFILES = 1 << 0,   /* --profiles P,... */
    AL_MIG_OPT_MAXIMAL = 1 << 1,    /* --maximal */
    AL_MIG_OPT_COUNT = 1 << 2,      /* --count */
    AL_MIG_OPT_MIN_MEMORY = 1 << 3, /* --min-memory SIZE */
    AL_MIG_OPT_PLAIN = 1 << 4,      /* --plain */
    AL_MIG_OPT_NAME = 1 << 5,       /* --name LABEL */
    AL_MIG_OPT_FILTER = 1 << 6,     /* --device-filter */
};

struct al_mig_opts {
    enum al_out_format fmt;
    const char *profiles, *min_memory, *name; /* point into argv */
    bool maximal, count, plain, device_filter;
    int npos;
    char **pos; /* the positional arguments, in order (points into argv) */
};

/* Parse the options of subcommand argv[0]. `usage` is its help text (first line = synopsis).
 * Returns -1 when the command should run, or the exit code to return at once: 0 after
 * printing --help, AL_EXIT_USAGE after a message on stderr. */
int al_mig_opts_parse(int argc, char **argv, unsigned allowed, const char *usage, int npos_min,
                      int npos_max, struct al_mig_opts *o);

/* Print "allot mig <cmd>: <msg>" and the synopsis to stderr; returns AL_EXIT_USAGE. */
int al_mig_usage_error(const char *usage, const char *fmt, ...) AL_PRINTF(2, 3);

/* The model named by a command-line argument; NULL after printing the known names on stderr. */
const struct al_gpu_model *al_mig_model_arg(const char *name);

/* Parse `text` as a layout of `m`, find starts for the items written without "@" and check
 * every rule. Returns AL_EXIT_OK, AL_EXIT_USAGE when the text does not parse (unknown
 * profile, bad syntax), or AL_EXIT_NO when it cannot be placed or is invalid; the reason in *e.
 * Prints nothing. */
int al_mig_layout_arg(const struct al_gpu_model *m, const char *text, struct al_layout *ret,
                      struct al_err *e);

/* "3g.40gb@0,1g.10gb@4" of `l` sorted; "none" when empty. buf is returned. */
const char *al_mig_layout_text(const struct al_layout *l, char *buf, size_t len);

/* "me", "me.all", "gfx", "no-me" joined by '+', or "" — in buf, which is returned. */
const char *al_mig_attr_text(unsigned attrs, char *buf, size_t len);

/* Total compute slices and nominal memory (GB) of a layout with fixed or free starts. */
unsigned al_mig_layout_slices(const struct al_layout *l);
unsigned al_mig_layout_mem_gb(const struct al_layout *l);

/* New JSON objects (caller owns the reference): a profile of `m`, and a layout with its
 * placements (starts null where not yet placed). */
json_t *al_mig_profile_json(const struct al_gpu_model *m, int k);
json_t *al_mig_layout_json(const struct al_layout *layout);

/* A model that cannot take MIG: prints "MODEL has no MIG support" and returns true. */
bool al_mig_no_mig(const struct al_gpu_model *m);

/* Both checks above for a command's MODEL argument: stores the model in *ret and returns -1
 * (run the command, as al_mig_opts_parse does) when it is known and takes MIG; else returns the
 * exit code, AL_EXIT_USAGE (unknown) or AL_EXIT_NO (no MIG), after the message on stderr. */
int al_mig_model_with_mig(const char *name, const struct al_gpu_model **ret);

/* `allot mig export-mig-parted` and `import-mig-parted` (cmd_migparted.c). */
int al_cmd_mig_export(int argc, char **argv);
int al_cmd_mig_import(int argc, char **argv);

#endif
