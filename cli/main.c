/* The cswarm command: dispatches to one file per subcommand. */
#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cswarm/version.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"create", sw_cli_create, "make a .torrent from a file or folder"},
    {"info", sw_cli_info, "show what a .torrent or magnet link holds"},
    {"magnet", sw_cli_magnet, "print the magnet link of a .torrent"},
    {"download", sw_cli_download, "download a torrent from peers (and optionally seed it)"},
    {"seed", sw_cli_seed, "seed a torrent's data to peers"},
    {"run", sw_cli_run, "run a Lua automation script (the cswarm module)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cswarm COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\ncswarm COMMAND --help shows a command's options.\n");
}

int main(int argc, char **argv)
{
#ifdef __GLIBC__
    /* Block buffers (a few hundred KiB) are allocated and freed at a high
     * rate, often on different threads. Served from the heap they are
     * reused; above glibc's default mmap threshold every one would be a
     * fresh mapping whose pages fault in and are zeroed. */
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cswarm %s\n", sw_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cswarm: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
