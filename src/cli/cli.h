/* cli.h — what the `allot` subcommands share: the command table entry, output formats, and a
 * small table printer. Each subcommand lives in its own cmd_<name>.c. */
#ifndef AL_CLI_CLI_H
#define AL_CLI_CLI_H

#include <jansson.h>
#include <stdio.h>

/* Exit codes of the binary: 0 success, 1 "no" (invalid layout, no fit…), 2 usage error,
 * 3 runtime failure (server unreachable, I/O…). */
enum { AL_EXIT_OK = 0, AL_EXIT_NO = 1, AL_EXIT_USAGE = 2, AL_EXIT_FAIL = 3 };

enum al_out_format { AL_OUT_TABLE, AL_OUT_JSON };

/* A subcommand: argv[0] is its own name. Returns an exit code. */
typedef int (*al_cmd_fn)(int argc, char **argv);

struct al_cmd {
    const char *name;
    const char *summary;
    al_cmd_fn fn;
};

/* Parse "-o FORMAT" values ("table", "json"). Returns 0, or -1 with a message on stderr. */
int al_out_parse(const char *s, enum al_out_format *ret);

/* Print `j` as indented JSON with a final newline, and release the reference to `j`. */
void al_out_json(json_t *j);

/* A table printed with aligned columns; cells are copied. */
struct al_table;
struct al_table *al_table_new(size_t ncols, const char *const *headers); /* caller frees */
/* Add a row of `ncols` cells (NULL prints as "-"). */
void al_table_add(struct al_table *t, const char *const *cells);
void al_table_print(const struct al_table *t, FILE *f);
void al_table_free(struct al_table *t);

/* Dispatch `argv[1]` among `cmds` (NULL-name terminated); prints the group's help for
 * "--help"/"-h"/nothing. `group` is "allot mig" etc. */
int al_cli_dispatch(const char *group, const struct al_cmd *cmds, int argc, char **argv);

/* Subcommand entry points (one file each). */
/* Server clients (cmd_login.c, cmd_org.c, …) and the simulated agent (cmd_agent.c). */
int al_cmd_login(int argc, char **argv);
int al_cmd_org(int argc, char **argv);
int al_cmd_user(int argc, char **argv);
int al_cmd_request(int argc, char **argv);
int al_cmd_reservation(int argc, char **argv);
int al_cmd_availability(int argc, char **argv);
int al_cmd_offerings(int argc, char **argv);
int al_cmd_reserve(int argc, char **argv);
int al_cmd_events(int argc, char **argv);
int al_cmd_price(int argc, char **argv);
int al_cmd_contract(int argc, char **argv);
int al_cmd_node(int argc, char **argv);
int al_cmd_agent(int argc, char **argv);
int al_cmd_mig(int argc, char **argv);
/* `allot mig changes|check|ack|apply` (cmd_migchange.c, in cmd_mig.c's table) and `allot
 * window` (cmd_migchange.c). */
int al_cmd_mig_changes(int argc, char **argv);
int al_cmd_mig_check(int argc, char **argv);
int al_cmd_mig_ack(int argc, char **argv);
int al_cmd_mig_apply(int argc, char **argv);
int al_cmd_window(int argc, char **argv);
int al_cmd_server(int argc, char **argv);
int al_cmd_ledger(int argc, char **argv);
int al_cmd_invoice(int argc, char **argv);
int al_cmd_container(int argc, char **argv);
int al_cmd_pool(int argc, char **argv);
int al_cmd_webhook(int argc, char **argv);

#endif
