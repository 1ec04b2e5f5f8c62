/* cswarm run SCRIPT.lua [ARG]...: runs an automation script with the
 * `cswarm` Lua module (scripting/README.md). Lua runs on this thread only;
 * sessions the script creates have their own network threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lua_cswarm.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cswarm run SCRIPT.lua [ARG]...\n"
                 "\n"
                 "Runs SCRIPT.lua with the standard Lua 5.4 libraries and the cswarm module\n"
                 "(require \"cswarm\"): sessions, torrents, alerts, timers. The global table arg\n"
                 "holds the script's path at arg[0] and its arguments at arg[1..], as with\n"
                 "lua5.4; the arguments are also passed to the chunk as `...`.\n"
                 "\n"
                 "The exit status is 0, or the integer the script returns (true: 0, false: 1),\n"
                 "or whatever it passes to os.exit. A Lua error prints \"file:line: message\"\n"
                 "and a traceback, and exits 1. SIGINT or SIGTERM stops the script and shuts\n"
                 "its sessions down (exit status 130 or 143).\n");
}

int sw_cli_run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return 0;
    }
    /* Everything after the script belongs to it, options included. */
    char *err = NULL;
    int status = sw_lua_run_file(argv[1], argc - 1, argv + 1, SW_LUA_RUN_HANDLE_SIGNALS, &err);
    if (err) {
        fflush(stdout);
        fprintf(stderr, "cswarm run: %s\n", err);
        free(err);
        if (status == 0)
            status = 1;
    }
    return status;
}
