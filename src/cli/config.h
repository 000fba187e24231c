/* config.h — the configuration file of `allot server` and `allot agent`: /etc/allot/allot.conf
 * (or --config PATH; --config none reads none), an INI file whose [server] and [agent] sections
 * hold `key = value` lines, where a key is one of the command's flags without its "--".
 *
 * $ALLOT_CONFIG_FILE stands for --config when that is not given (the test suites and `make
 * run` set it to none, so that a machine's /etc/allot/allot.conf never changes what they run).
 *
 * The file becomes flags placed before the command line's, so that the command line wins (a
 * command takes the last value of a flag) and every flag is settable without a line of code
 * here: the flags a section may name are read from the command's own usage text (the lines
 * "  --name METAVAR …" a command prints for --help; a flag with no upper-case METAVAR after
 * it is a switch, set with `true` or `false`).
 *
 * The file is untrusted input: at most AL_CONFIG_MAX_BYTES and AL_CONFIG_MAX_LINE bytes a
 * line, no NUL or control characters, known sections and keys only, each key once; any
 * problem is printed as "PATH:LINE: what is wrong" and stops the command (exit 2). A value is
 * never printed: the file may name secrets' files and hold a --token. */
#ifndef AL_CLI_CONFIG_H
#define AL_CLI_CONFIG_H

#include "cli/cli.h"

#include <stdio.h>

#define AL_CONFIG_DEFAULT   "/etc/allot/allot.conf"
#define AL_CONFIG_ENV       "ALLOT_CONFIG_FILE" /* what --config names, when it is not given */
#define AL_CONFIG_MAX_BYTES ((size_t)64 * 1024)
#define AL_CONFIG_MAX_LINE  4096 /* bytes of one line, its newline excluded */
#define AL_CONFIG_MAX_KEYS  64   /* settings of one section */

/* Prints a command's usage text (the flags it takes) to `f`. */
typedef void (*al_config_usage_fn)(FILE *f);

/* Run `fn` (a command's entry point; argv[0] its name) with the flags of section `section`
 * ("server", "agent") of the configuration file placed before argv[1..]. --config PATH or
 * --config=PATH (removed from argv) names the file, else $ALLOT_CONFIG_FILE; "none" reads
 * none; without either AL_CONFIG_DEFAULT is read when it exists (a file named must exist). With
 * --help or -h the file is not read and
 * --config's own line follows the command's help; when argv[1] is a word (a subcommand such
 * as `server init`) argv goes to `fn` as it is. Returns fn's exit status, or AL_EXIT_USAGE
 * after printing what is wrong with the file (AL_EXIT_FAIL when memory runs out). */
int al_config_run(const char *section, al_config_usage_fn usage, al_cmd_fn fn, int argc,
                  char **argv);

#endif
