/* cswarm seed TORRENT_FILE -d DATA_DIR [--listen PORT] [--peer HOST:PORT]...
 *             [--set NAME=VALUE]... [--json-progress] [--quiet] */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "transfer.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cswarm seed TORRENT_FILE -d DATA_DIR [--listen PORT] [--peer HOST:PORT]...\n"
            "                   [--plugin PATH]... [--no-default-plugins]\n"
            "                   [--ip-filter FILE] [--seed-mode] [--super-seed]\n"
            "                   [--utp|--no-utp|--utp-only] [--set NAME=VALUE]...\n"
            "                   [--json-progress] [--quiet]\n"
            "\n"
            "Checks the data of TORRENT_FILE under DATA_DIR, then uploads it to peers until\n"
            "interrupted (SIGINT/SIGTERM). It never downloads.\n"
            "\n"
            "  -d DATA_DIR        the folder holding the torrent's data\n"
            "  --listen PORT      port to accept peers on (default 6881-6889)\n"
            "  --peer HOST:PORT   a peer to connect to (repeatable)\n"
            "  --plugin PATH      load a plugin (.so or .lua; repeatable)\n"
            "  --no-default-plugins  do not load ut_metadata, ut_pex, smart_ban, lt_tex\n"
            "  --script FILE.lua  run a Lua automation script beside the transfer\n"
            "  --ip-filter FILE   refuse peers in the address ranges of FILE (eMule/DAT or\n"
            "                     P2P blocklist lines)\n"
            "  --utp / --no-utp   peers over uTP and TCP (uTP tried first; the default) /\n"
            "                     over TCP only\n"
            "  --utp-only         peers over uTP only (TCP off both ways)\n"
            "  --seed-mode        trust the data: no check at start, each piece verified\n"
            "                     the first time it is sent (a bad one starts a recheck)\n"
            "  --super-seed       BEP 16 super seeding: each piece to one peer first\n"
            "  --no-dht           no DHT (peers from trackers, --peer and PEX only)\n"
            "  --dht-node HOST:PORT  a DHT node to join through (repeatable)\n"
            "  --set NAME=VALUE   change a setting (repeatable)\n"
            "  --json-progress    one JSON object per second on stdout\n"
            "  --quiet            no progress output\n");
}

int sw_cli_seed(int argc, char **argv)
{
    sw_cli_transfer t;
    sw_cli_transfer_init(&t, "seed");
    t.seed_only = true;
    t.save_dir = NULL;
    const char *source = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        int rc = sw_cli_transfer_option(&t, argc, argv, &i);
        if (rc < 0)
            return 2;
        if (rc > 0)
            continue;
        if (!strcmp(a, "-d")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cswarm seed: -d needs a folder\n");
                return 2;
            }
            t.save_dir = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cswarm seed: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (!source) {
            source = a;
        } else {
            fprintf(stderr, "cswarm seed: more than one TORRENT_FILE\n");
            return 2;
        }
    }
    if (!source || !t.save_dir) {
        usage(stderr);
        return 2;
    }
    t.source = source;
    return sw_cli_transfer_run(&t);
}
