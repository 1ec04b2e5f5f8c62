/* cswarm magnet TORRENT_FILE, and cswarm info on a magnet link. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cswarm/magnet.h>
#include <cswarm/torrent_info.h>

#include "cli.h"
#include "json_out.h"

int sw_cli_magnet(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: cswarm magnet TORRENT_FILE\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: cswarm magnet TORRENT_FILE\n");
        return 2;
    }
    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    if (sw_torrent_info_load_file(argv[1], NULL, &ti, &err) < 0) {
        fprintf(stderr, "cswarm magnet: %s\n", err.message);
        return 1;
    }
    sw_magnet *m = NULL;
    char *link = NULL;
    size_t len = 0;
    int rc = sw_magnet_from_torrent_info(ti, &m);
    if (rc == 0)
        rc = sw_magnet_to_string(m, &link, &len);
    if (rc == 0)
        printf("%s\n", link);
    else
        fprintf(stderr, "cswarm magnet: %s: %s\n", argv[1], sw_strerror(rc));
    free(link);
    sw_magnet_free(m);
    sw_torrent_info_unref(ti);
    return rc == 0 ? 0 : 1;
}

static void print_magnet_text(const sw_magnet *m)
{
    const sw_info_hashes *h = sw_magnet_hashes(m);
    char hex[2 * SW_SHA256_LEN + 1];
    printf("Name:         %s\n", sw_magnet_name(m) ? sw_magnet_name(m) : "(not given)");
    if (h->has_v1) {
        sw_hex_encode(h->v1.v, SW_SHA1_LEN, hex);
        printf("Info-hash:    %s\n", hex);
    }
    if (h->has_v2) {
        sw_hex_encode(h->v2.v, SW_SHA256_LEN, hex);
        printf("Info-hash v2: %s\n", hex);
    }
    printf("Metadata:     fetched from peers when downloading (BEP 9)\n");
    for (int i = 0; i < sw_magnet_num_trackers(m); i++)
        printf("%s  %s\n", i ? "             " : "Trackers:    ", sw_magnet_tracker(m, i));
    for (int i = 0; i < sw_magnet_num_web_seeds(m); i++)
        printf("%s  %s\n", i ? "             " : "Web seeds:   ", sw_magnet_web_seed(m, i));
    for (int i = 0; i < sw_magnet_num_peers(m); i++) {
        const sw_magnet_peer *p = sw_magnet_peer_at(m, i);
        int v6 = strchr(p->host, ':') != NULL;
        printf("%s  %s%s%s:%d\n", i ? "             " : "Peers:       ", v6 ? "[" : "", p->host,
               v6 ? "]" : "", p->port);
    }
    for (int i = 0; i < sw_magnet_num_select_ranges(m); i++) {
        const sw_magnet_file_range *r = sw_magnet_select_range(m, i);
        printf("%s  files %d-%d\n", i ? "             " : "Selected:    ", r->first, r->last);
    }
}

static void print_magnet_json(const sw_magnet *m)
{
    const sw_info_hashes *h = sw_magnet_hashes(m);
    char hex[2 * SW_SHA256_LEN + 1];
    printf("{\"name\":");
    sw_json_cstring(stdout, sw_magnet_name(m));
    printf(",\"info_hash\":");
    if (h->has_v1) {
        sw_hex_encode(h->v1.v, SW_SHA1_LEN, hex);
        printf("\"%s\"", hex);
    } else {
        printf("null");
    }
    if (h->has_v2) {
        sw_hex_encode(h->v2.v, SW_SHA256_LEN, hex);
        printf(",\"info_hash_v2\":\"%s\"", hex);
    }
    /* Sizes and files are unknown until the metadata arrives. */
    printf(",\"total_size\":null,\"piece_length\":null,\"num_pieces\":null,\"files\":null");
    printf(",\"trackers\":[");
    for (int i = 0; i < sw_magnet_num_trackers(m); i++) {
        printf("%s{\"url\":", i ? "," : "");
        sw_json_cstring(stdout, sw_magnet_tracker(m, i));
        printf(",\"tier\":%d}", i);
    }
    printf("],\"web_seeds\":[");
    for (int i = 0; i < sw_magnet_num_web_seeds(m); i++) {
        printf("%s", i ? "," : "");
        sw_json_cstring(stdout, sw_magnet_web_seed(m, i));
    }
    printf("],\"peers\":[");
    for (int i = 0; i < sw_magnet_num_peers(m); i++) {
        const sw_magnet_peer *p = sw_magnet_peer_at(m, i);
        printf("%s{\"host\":", i ? "," : "");
        sw_json_cstring(stdout, p->host);
        printf(",\"port\":%d}", p->port);
    }
    printf("],\"select_only\":[");
    for (int i = 0; i < sw_magnet_num_select_ranges(m); i++) {
        const sw_magnet_file_range *r = sw_magnet_select_range(m, i);
        printf("%s[%d,%d]", i ? "," : "", r->first, r->last);
    }
    printf("]}\n");
}

int sw_cli_info_magnet(const char *link, int json)
{
    sw_magnet *m = NULL;
    sw_error_detail err;
    if (sw_magnet_parse(link, strlen(link), &m, &err) < 0) {
        fprintf(stderr, "cswarm info: %s\n", err.message);
        return 1;
    }
    if (json)
        print_magnet_json(m);
    else
        print_magnet_text(m);
    sw_magnet_free(m);
    return 0;
}
