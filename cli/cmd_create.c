/* cswarm create PATH -o OUT.torrent [-t TRACKER_URL]... [--piece-size BYTES]
 *               [--private] [--web-seed URL]... [--comment TEXT]
 *               [--pad-files] [--threads N] [--date] [--name NAME] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cswarm/create.h>

#include "cli.h"

#define MAX_URLS 256

static int usage(FILE *out)
{
    fprintf(out, "usage: cswarm create PATH -o OUT.torrent [options]\n"
                 "  -t, --tracker URL    tracker (repeat for more tiers; URL1,URL2 share a tier)\n"
                 "  --piece-size BYTES   piece size, a power of two >= 16384 (suffixes K, M);\n"
                 "                       default: chosen from the total size\n"
                 "  --private            private torrent (BEP 27)\n"
                 "  --web-seed URL       web seed (BEP 19), repeatable\n"
                 "  --comment TEXT       comment\n"
                 "  --name NAME          torrent name (default: last component of PATH)\n"
                 "  --pad-files          align every file to a piece with pad files (BEP 47)\n"
                 "  --date               record the creation date (off: same input, same file)\n"
                 "  --threads N          hashing threads (default: one per core)\n");
    return out == stdout ? 0 : 2;
}

/* Parses "262144", "256K", "4M". Returns -1 on a malformed value. */
static int64_t parse_size(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v <= 0)
        return -1;
    int64_t mult = 1;
    if (*end == 'k' || *end == 'K')
        mult = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mult = 1024 * 1024, end++;
    if (*end == 'i' && (end[1] == 'B' || end[1] == 'b'))
        end += 2;
    if (*end != '\0' || v > INT64_MAX / mult)
        return -1;
    return (int64_t)v * mult;
}

static int show_progress(void *user, int done, int total)
{
    (void)user;
    fprintf(stderr, "\rhashing: %d/%d pieces (%d%%)", done, total,
            total ? (int)((int64_t)done * 100 / total) : 100);
    if (done == total)
        fputc('\n', stderr);
    return 0;
}

int sw_cli_create(int argc, char **argv)
{
    sw_create_params p;
    sw_create_params_init(&p);
    const char *out = NULL;
    sw_announce_entry trackers[MAX_URLS];
    const char *web_seeds[MAX_URLS];
    char *tier_copies[MAX_URLS];
    int num_copies = 0, tier = 0, rc = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int takes_value = !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "-t") ||
                          !strcmp(a, "--tracker") || !strcmp(a, "--piece-size") ||
                          !strcmp(a, "--web-seed") || !strcmp(a, "--comment") ||
                          !strcmp(a, "--threads") || !strcmp(a, "--name");
        if (takes_value && !val) {
            fprintf(stderr, "cswarm create: %s needs a value\n", a);
            goto out;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            rc = usage(stdout);
            goto out;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            out = val;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--tracker")) {
            /* One -t is one tier; commas put several URLs in it. */
            char *copy = strdup(val);
            if (!copy || num_copies == MAX_URLS) {
                free(copy);
                fprintf(stderr, "cswarm create: too many trackers\n");
                goto out;
            }
            tier_copies[num_copies++] = copy;
            char *save = NULL;
            for (char *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
                if (p.num_trackers == MAX_URLS) {
                    fprintf(stderr, "cswarm create: too many trackers\n");
                    goto out;
                }
                trackers[p.num_trackers++] = (sw_announce_entry){u, tier};
            }
            tier++;
        } else if (!strcmp(a, "--piece-size")) {
            p.piece_size = parse_size(val);
            if (p.piece_size < 0) {
                fprintf(stderr, "cswarm create: bad --piece-size '%s'\n", val);
                goto out;
            }
        } else if (!strcmp(a, "--web-seed")) {
            if (p.num_web_seeds == MAX_URLS) {
                fprintf(stderr, "cswarm create: too many web seeds\n");
                goto out;
            }
            web_seeds[p.num_web_seeds++] = val;
        } else if (!strcmp(a, "--comment")) {
            p.comment = val;
        } else if (!strcmp(a, "--name")) {
            p.name = val;
        } else if (!strcmp(a, "--threads")) {
            p.num_threads = atoi(val);
            if (p.num_threads <= 0) {
                fprintf(stderr, "cswarm create: bad --threads '%s'\n", val);
                goto out;
            }
        } else if (!strcmp(a, "--private")) {
            p.is_private = true;
        } else if (!strcmp(a, "--pad-files")) {
            p.pad_files = true;
        } else if (!strcmp(a, "--date")) {
            p.creation_date = SW_CREATE_DATE_NOW;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cswarm create: unknown option '%s'\n", a);
            goto out;
        } else if (p.path) {
            fprintf(stderr, "cswarm create: more than one PATH ('%s' and '%s')\n", p.path, a);
            goto out;
        } else {
            p.path = a;
        }
        if (takes_value)
            i++;
    }
    if (!p.path || !out) {
        usage(stderr);
        goto out;
    }
    p.trackers = trackers;
    p.web_seeds = web_seeds;
    if (isatty(STDERR_FILENO))
        p.progress = show_progress;

    sw_error_detail err;
    int r = sw_create_torrent_file(&p, out, &err);
    if (r < 0) {
        fprintf(stderr, "cswarm create: %s\n", err.message);
        rc = 1;
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < num_copies; i++)
        free(tier_copies[i]);
    return rc;
}
