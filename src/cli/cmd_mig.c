/* cmd_mig.c — `allot mig …` (placeholder until the MIG engine lands in this file). */
#include "cli/cli.h"

int al_cmd_mig(int argc, char **argv)
{
    static const struct al_cmd cmds[] = {{NULL, NULL, NULL}};
    return al_cli_dispatch("allot mig", cmds, argc, argv);
}
