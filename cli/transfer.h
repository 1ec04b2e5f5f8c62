/* What `cswarm download` and `cswarm seed` share: running one torrent in a
 * session until it is done (or a signal arrives), with progress output and
 * resume data. */
#ifndef SW_CLI_TRANSFER_H
#define SW_CLI_TRANSFER_H

#include <stdbool.h>

#define SW_CLI_MAX_LIST 64

typedef struct sw_cli_transfer {
    const char *command; /* "download" or "seed", for messages */
    /* A .torrent path, a magnet link, or an http(s) URL of a .torrent
     * (downloaded by the session: the torrent shows downloading_metadata
     * until it arrives). */
    const char *source;
    const char *save_dir; /* where the data is or goes */
    const char *peers[SW_CLI_MAX_LIST];
    int num_peers;
    const char *sets[SW_CLI_MAX_LIST]; /* NAME=VALUE */
    int num_sets;
    const char *plugins[SW_CLI_MAX_LIST]; /* --plugin PATH */
    int num_plugins;
    bool no_default_plugins;
    const char *script;         /* --script FILE.lua, run alongside; NULL if none */
    const char *ip_filter_file; /* --ip-filter FILE; NULL if none */
    int listen_port;            /* -1: default range */
    bool keep_seeding;          /* stay after the download completes, until a signal */
    bool seed_only;             /* cswarm seed: never download */
    bool json;
    bool quiet;
    bool sequential;                        /* --sequential: pieces in order */
    bool super_seed;                        /* --super-seed: BEP 16 while seeding */
    bool seed_mode;                         /* --seed-mode: trust the data, verify pieces as sent */
    bool share_mode;                        /* --share-mode: fetch only pieces worth passing on */
    bool no_dht;                            /* --no-dht */
    const char *dht_nodes[SW_CLI_MAX_LIST]; /* --dht-node HOST:PORT */
    int num_dht_nodes;
    /* --utp (both, uTP first: the default), --no-utp (TCP only),
     * --utp-only (no TCP); applied before --set. */
    enum { SW_CLI_UTP_DEFAULT, SW_CLI_UTP_ON, SW_CLI_UTP_OFF, SW_CLI_UTP_ONLY } utp_mode;
} sw_cli_transfer;

void sw_cli_transfer_init(sw_cli_transfer *t, const char *command);
/* Parses the options both commands share at argv[*i] (advancing *i past
 * the option's value). Returns 1 if it took the option, 0 if it is not a
 * shared option, -1 after printing an error. */
int sw_cli_transfer_option(sw_cli_transfer *t, int argc, char **argv, int *i);
/* Runs the transfer; returns the process exit status. */
int sw_cli_transfer_run(const sw_cli_transfer *t);

#endif
