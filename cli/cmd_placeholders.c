/* Temporary: subcommands not yet written report so plainly. */
#include <stdio.h>

#include "cli.h"

int sw_cli_create(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "cswarm %s: not built yet\n", argv[0]);
    return 1;
}

int sw_cli_info(int argc, char **argv)
{
    return sw_cli_create(argc, argv);
}

int sw_cli_magnet(int argc, char **argv)
{
    return sw_cli_create(argc, argv);
}
