/* main.c — the `allot` binary: one entry point for the server, the agent and every client
 * command. Each subcommand is a row of the table below and lives in cmd_<name>.c. */
#include "cli/cli.h"

#include <string.h>

#define AL_VERSION "0.1.0"

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("allot %s\n", AL_VERSION);
    return AL_EXIT_OK;
}

static const struct al_cmd al_commands[] = {
    {"login", "check a token with a server and save both", al_cmd_login},
    {"org", "organizations: create, list, show, balance, topup", al_cmd_org},
    {"user", "users: create (prints a token), list, me", al_cmd_user},
    {"request", "requests: create, list, show, quote, approve, reject, accept, confirm, cancel",
     al_cmd_request},
    {"reservation", "reservations: list, show, cancel, extend", al_cmd_reservation},
    {"availability", "free GPUs and MIG instances of a model over a window", al_cmd_availability},
    {"offerings", "priced windows that fit now, to reserve self-service", al_cmd_offerings},
    {"reserve", "reserve self-service in one call (an offering or an ask)", al_cmd_reserve},
    {"events", "the event log, or follow it live", al_cmd_events},
    {"price", "the price list: list, set (operator), history", al_cmd_price},
    {"contract", "contracts: create, amend, show, list, end", al_cmd_contract},
    {"node", "nodes and their GPUs as agents report them (operator)", al_cmd_node},
    {"agent", "node agent (sim driver: reports a simulated fleet)", al_cmd_agent},
    {"mig", "MIG catalog, layouts, placement, diffs, mig-parted export; MIG changes", al_cmd_mig},
    {"window", "change windows: when MIG layouts may change (operator)", al_cmd_window},
    {"server", "run the HTTP API server (server init: create the first operator)", al_cmd_server},
    {"ledger", "the ledger: list transfers, verify the books", al_cmd_ledger},
    {"invoice", "invoices: list, show, csv, create, issue, pay", al_cmd_invoice},
    {"container",
     "containers on reserved GPUs / MIG instances or the pool: run, list, show, logs, stop",
     al_cmd_container},
    {"pool", "GPUs of the general pool free now for a pool container", al_cmd_pool},
    {"webhook", "webhooks: create, list, show, delete, deliveries, test", al_cmd_webhook},
    {"version", "print the version", cmd_version},
    {NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--version") == 0)
        return cmd_version(argc, argv);
    return al_cli_dispatch("allot", al_commands, argc, argv);
}
