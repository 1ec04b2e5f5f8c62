/* --ip-filter FILE: reads a blocklist (eMule/DAT or P2P range lines, see
 * <cswarm/ip_filter.h>) and gives it to the session before any torrent is
 * added. Malformed lines are skipped with one warning naming the first. */
#include <stdio.h>
#include <stdlib.h>

#include <cswarm/cswarm.h>

#include "ip_filter_file.h"

/* Larger files are refused rather than read into memory whole. */
#define MAX_FILTER_FILE (512L * 1024 * 1024)

static int read_file(const char *path, char **buf_out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > (size_t)MAX_FILTER_FILE + 1)
                ncap = (size_t)MAX_FILTER_FILE + 1;
            if (ncap <= len)
                break; /* over the limit */
            char *nb = realloc(buf, ncap);
            if (!nb)
                break;
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool ok = !ferror(f) && feof(f) && len <= (size_t)MAX_FILTER_FILE;
    fclose(f);
    if (!ok) {
        free(buf);
        return -1;
    }
    *buf_out = buf;
    *len_out = len;
    return 0;
}

int sw_cli_load_ip_filter(sw_session *ses, const char *path, const char *command, bool quiet)
{
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, &text, &len) < 0) {
        fprintf(stderr,
                "cswarm %s: --ip-filter %s: cannot read the file (missing, unreadable "
                "or over 512 MiB)\n",
                command, path);
        return 2;
    }
    sw_ip_filter *f = NULL;
    sw_ip_filter_load_result res;
    int rc = sw_ip_filter_new(&f);
    if (rc == 0)
        rc = sw_ip_filter_load(f, text, len, &res);
    free(text);
    if (rc == 0)
        rc = sw_session_set_ip_filter(ses, f);
    sw_ip_filter_free(f);
    if (rc < 0) {
        fprintf(stderr, "cswarm %s: --ip-filter %s: %s\n", command, path, sw_strerror(rc));
        return 1;
    }
    if (res.malformed > 0)
        fprintf(stderr,
                "cswarm %s: warning: --ip-filter %s: %zu malformed line(s) skipped (first: "
                "line %zu)\n",
                command, path, res.malformed, res.first_bad_line);
    if (!quiet)
        fprintf(stderr, "cswarm %s: ip filter: %zu rule(s) from %s\n", command, res.rules, path);
    return 0;
}
