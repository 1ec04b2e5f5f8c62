/* cswarm info TORRENT_FILE|MAGNET [--json] */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cswarm/torrent_info.h>

#include "cli.h"
#include "json_out.h"

static void print_size(FILE *out, int64_t bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        fprintf(out, "%" PRId64 " B", bytes);
    else
        fprintf(out, "%.2f %s (%" PRId64 " bytes)", v, units[u], bytes);
}

static void print_torrent_text(const sw_torrent_info *ti)
{
    const sw_info_hashes *h = sw_torrent_info_hashes(ti);
    char hex[2 * SW_SHA256_LEN + 1];
    printf("Name:         %s\n", sw_torrent_info_name(ti));
    sw_hex_encode(h->v1.v, SW_SHA1_LEN, hex);
    printf("Info-hash:    %s\n", hex);
    if (h->has_v2) {
        sw_hex_encode(h->v2.v, SW_SHA256_LEN, hex);
        printf("Info-hash v2: %s (hybrid v1+v2)\n", hex);
    }
    printf("Total size:   ");
    print_size(stdout, sw_torrent_info_total_size(ti));
    printf("\nPieces:       %d x ", sw_torrent_info_num_pieces(ti));
    print_size(stdout, sw_torrent_info_piece_length(ti));
    printf("\nPrivate:      %s\n", sw_torrent_info_is_private(ti) ? "yes" : "no");
    if (sw_torrent_info_created_by(ti))
        printf("Created by:   %s\n", sw_torrent_info_created_by(ti));
    int64_t date = sw_torrent_info_creation_date(ti);
    if (date > 0) {
        time_t t = (time_t)date;
        struct tm tm;
        char buf[64];
        if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
            printf("Created on:   %s\n", buf);
    }
    if (sw_torrent_info_comment(ti))
        printf("Comment:      %s\n", sw_torrent_info_comment(ti));
    int nt = sw_torrent_info_num_trackers(ti);
    if (nt > 0) {
        printf("\nTrackers:\n");
        for (int i = 0; i < nt; i++) {
            const sw_announce_entry *a = sw_torrent_info_tracker(ti, i);
            printf("  tier %d  %s\n", a->tier, a->url);
        }
    }
    int nw = sw_torrent_info_num_web_seeds(ti);
    if (nw > 0) {
        printf("\nWeb seeds:\n");
        for (int i = 0; i < nw; i++)
            printf("  %s\n", sw_torrent_info_web_seed(ti, i));
    }
    printf("\nFiles:\n");
    int nf = sw_torrent_info_num_files(ti);
    for (int i = 0; i < nf; i++) {
        const sw_file_entry *f = sw_torrent_info_file(ti, i);
        if (f->flags & SW_FILE_PAD)
            continue;
        printf("  %s  ", f->path);
        print_size(stdout, f->size);
        printf("\n");
    }
}

static void print_torrent_json(const sw_torrent_info *ti)
{
    const sw_info_hashes *h = sw_torrent_info_hashes(ti);
    char hex[2 * SW_SHA256_LEN + 1];
    printf("{\"name\":");
    sw_json_cstring(stdout, sw_torrent_info_name(ti));
    sw_hex_encode(h->v1.v, SW_SHA1_LEN, hex);
    printf(",\"info_hash\":\"%s\"", hex);
    if (h->has_v2) {
        sw_hex_encode(h->v2.v, SW_SHA256_LEN, hex);
        printf(",\"info_hash_v2\":\"%s\"", hex);
    }
    printf(",\"total_size\":%" PRId64 ",\"piece_length\":%d,\"num_pieces\":%d",
           sw_torrent_info_total_size(ti), sw_torrent_info_piece_length(ti),
           sw_torrent_info_num_pieces(ti));
    printf(",\"private\":%s", sw_torrent_info_is_private(ti) ? "true" : "false");
    printf(",\"created_by\":");
    sw_json_cstring(stdout, sw_torrent_info_created_by(ti));
    printf(",\"creation_date\":%" PRId64, sw_torrent_info_creation_date(ti));
    printf(",\"comment\":");
    sw_json_cstring(stdout, sw_torrent_info_comment(ti));
    printf(",\"files\":[");
    int nf = sw_torrent_info_num_files(ti);
    for (int i = 0; i < nf; i++) {
        const sw_file_entry *f = sw_torrent_info_file(ti, i);
        printf("%s{\"path\":", i ? "," : "");
        sw_json_cstring(stdout, f->path);
        printf(",\"size\":%" PRId64 ",\"offset\":%" PRId64 ",\"pad\":%s}", f->size, f->offset,
               (f->flags & SW_FILE_PAD) ? "true" : "false");
    }
    printf("],\"trackers\":[");
    int nt = sw_torrent_info_num_trackers(ti);
    for (int i = 0; i < nt; i++) {
        const sw_announce_entry *a = sw_torrent_info_tracker(ti, i);
        printf("%s{\"url\":", i ? "," : "");
        sw_json_cstring(stdout, a->url);
        printf(",\"tier\":%d}", a->tier);
    }
    printf("],\"web_seeds\":[");
    int nw = sw_torrent_info_num_web_seeds(ti);
    for (int i = 0; i < nw; i++) {
        printf("%s", i ? "," : "");
        sw_json_cstring(stdout, sw_torrent_info_web_seed(ti, i));
    }
    printf("]}\n");
}

static int usage(void)
{
    fprintf(stderr, "usage: cswarm info TORRENT_FILE|MAGNET [--json]\n");
    return 2;
}

int sw_cli_info(int argc, char **argv)
{
    const char *source = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return usage(), 0;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return fprintf(stderr, "cswarm info: unknown option '%s'\n", argv[i]), 2;
        else if (source)
            return usage();
        else
            source = argv[i];
    }
    if (!source)
        return usage();
    if (!strncasecmp(source, "magnet:", 7))
        return sw_cli_info_magnet(source, json);

    sw_torrent_info *ti = NULL;
    sw_error_detail err;
    int rc = sw_torrent_info_load_file(source, NULL, &ti, &err);
    if (rc < 0) {
        fprintf(stderr, "cswarm info: %s\n", err.message);
        return 1;
    }
    if (json)
        print_torrent_json(ti);
    else
        print_torrent_text(ti);
    sw_torrent_info_unref(ti);
    return 0;
}
