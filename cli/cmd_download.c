/* cswarm download SOURCE [-o DIR] [--peer HOST:PORT]... [--listen PORT]
 *                 [--seed] [--plugin PATH]... [--no-default-plugins]
 *                 [--set NAME=VALUE]... [--json-progress] [--quiet] */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "transfer.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cswarm download SOURCE [-o DIR] [--peer HOST:PORT]... [--listen PORT]\n"
                 "                       [--seed] [--plugin PATH]... [--no-default-plugins]\n"
                 "                       [--ip-filter FILE] [--sequential] [--share-mode]\n"
                 "                       [--super-seed]\n"
                 "                       [--utp|--no-utp|--utp-only] [--set NAME=VALUE]...\n"
                 "                       [--json-progress] [--quiet]\n"
                 "\n"
                 "Downloads the torrent SOURCE (a .torrent file, an http(s) URL of one, which\n"
                 "the session fetches first, or a magnet link, whose metadata comes from peers)\n"
                 "into DIR (default: the current folder) and exits 0 once every piece is on\n"
                 "disk and verified. With --seed it keeps seeding until interrupted.\n"
                 "SIGINT/SIGTERM save resume data, so the next run continues where this one\n"
                 "stopped.\n"
                 "\n"
                 "  -o DIR             where to save the data\n"
                 "  --peer HOST:PORT   a peer to connect to (repeatable)\n"
                 "  --listen PORT      port to accept peers on (default 6881-6889)\n"
                 "  --seed             keep seeding after the download\n"
                 "  --plugin PATH      load a plugin (.so or .lua; repeatable; a bare name is\n"
                 "                     searched in the plugin_search_path setting)\n"
                 "  --no-default-plugins  do not load ut_metadata, ut_pex, smart_ban, lt_tex\n"
                 "  --script FILE.lua  run a Lua automation script beside the transfer\n"
                 "  --ip-filter FILE   refuse peers in the address ranges of FILE (eMule/DAT or\n"
                 "                     P2P blocklist lines)\n"
                 "  --utp / --no-utp   peers over uTP and TCP (uTP tried first; the default) /\n"
                 "                     over TCP only\n"
                 "  --utp-only         peers over uTP only (TCP off both ways)\n"
                 "  --sequential       fetch pieces in order\n"
                 "  --share-mode       fetch only pieces other peers want (share_mode_target)\n"
                 "  --super-seed       with --seed: BEP 16 super seeding once complete\n"
                 "  --no-dht           no DHT (peers from trackers, --peer and PEX only)\n"
                 "  --dht-node HOST:PORT  a DHT node to join through (repeatable)\n"
                 "  --set NAME=VALUE   change a setting (see docs/settings.md; repeatable)\n"
                 "  --json-progress    one JSON object per second on stdout\n"
                 "  --quiet            no progress output\n");
}

int sw_cli_download(int argc, char **argv)
{
    sw_cli_transfer t;
    sw_cli_transfer_init(&t, "download");
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
        if (!strcmp(a, "-o")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cswarm download: -o needs a folder\n");
                return 2;
            }
            t.save_dir = argv[++i];
        } else if (!strcmp(a, "--seed")) {
            t.keep_seeding = true;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cswarm download: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (!source) {
            source = a;
        } else {
            fprintf(stderr, "cswarm download: more than one SOURCE\n");
            return 2;
        }
    }
    if (!source) {
        usage(stderr);
        return 2;
    }
    t.source = source;
    return sw_cli_transfer_run(&t);
}
