/* A torrent's tracker list as plugins see it: the .torrent's announce URLs,
 * then URLs added at run time (by plugins such as lt_tex), each with where
 * it came from and whether it has answered.
 *
 * The session does not announce to trackers yet, so no tracker is marked
 * as having answered: URLs learned from peers stay unverified. */
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"

/* Most URLs added at run time, and the longest accepted. */
#define MAX_ADDED_TRACKERS 64
#define MAX_TRACKER_URL 1024

struct sw_torrent_trackers {
    char **urls;
    unsigned *flags;
    int n;
};

void sw__torrent_trackers_free(sw_torrent *t)
{
    struct sw_torrent_trackers *tr = t->trackers;
    if (!tr)
        return;
    for (int i = 0; i < tr->n; i++)
        free(tr->urls[i]);
    free(tr->urls);
    free(tr->flags);
    free(tr);
    t->trackers = NULL;
}

static int file_count(const sw_torrent *t)
{
    return t->ti ? sw_torrent_info_num_trackers(t->ti) : 0;
}

int sw_plugin_torrent_num_trackers(sw_plugin_torrent *pt)
{
    sw_torrent *t = sw__torrent_of(pt);
    return file_count(t) + (t->trackers ? t->trackers->n : 0);
}

int sw_plugin_torrent_tracker(sw_plugin_torrent *pt, int i, const char **url_out,
                              unsigned *flags_out)
{
    sw_torrent *t = sw__torrent_of(pt);
    int nf = file_count(t);
    if (i < 0)
        return SW_ERR_INVALID_ARG;
    if (i < nf) {
        const sw_announce_entry *e = sw_torrent_info_tracker(t->ti, i);
        if (!e)
            return SW_ERR_INVALID_ARG;
        *url_out = e->url;
        *flags_out = SW_PLUGIN_TRACKER_FROM_TORRENT;
        return 0;
    }
    i -= nf;
    if (!t->trackers || i >= t->trackers->n)
        return SW_ERR_INVALID_ARG;
    *url_out = t->trackers->urls[i];
    *flags_out = t->trackers->flags[i];
    return 0;
}

static bool acceptable_url(const char *url)
{
    size_t n = strnlen(url, MAX_TRACKER_URL + 1);
    if (n == 0 || n > MAX_TRACKER_URL)
        return false;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 &&
        strncmp(url, "udp://", 6) != 0)
        return false;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)url[k] <= 0x20 || url[k] == 0x7f)
            return false;
    return true;
}

int sw_plugin_torrent_add_tracker(sw_plugin_torrent *pt, const char *url, unsigned flags)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!url || !acceptable_url(url))
        return SW_ERR_INVALID_ARG;
    int total = sw_plugin_torrent_num_trackers(pt);
    for (int i = 0; i < total; i++) {
        const char *u;
        unsigned f;
        if (sw_plugin_torrent_tracker(pt, i, &u, &f) == 0 && strcmp(u, url) == 0)
            return SW_ERR_EXISTS;
    }
    if (!t->trackers) {
        t->trackers = calloc(1, sizeof *t->trackers);
        if (!t->trackers)
            return SW_ERR_NOMEM;
    }
    struct sw_torrent_trackers *tr = t->trackers;
    if (tr->n >= MAX_ADDED_TRACKERS)
        return SW_ERR_LIMIT;
    char **urls = realloc(tr->urls, (size_t)(tr->n + 1) * sizeof *urls);
    if (!urls)
        return SW_ERR_NOMEM;
    tr->urls = urls;
    unsigned *fl = realloc(tr->flags, (size_t)(tr->n + 1) * sizeof *fl);
    if (!fl)
        return SW_ERR_NOMEM;
    tr->flags = fl;
    char *copy = strdup(url);
    if (!copy)
        return SW_ERR_NOMEM;
    /* Whether a tracker answered is the engine's to say, not the caller's. */
    tr->urls[tr->n] = copy;
    tr->flags[tr->n] = flags & (SW_PLUGIN_TRACKER_FROM_TORRENT | SW_PLUGIN_TRACKER_FROM_PEER);
    tr->n++;
    return 0;
}

int sw__torrent_tracker_answered(sw_torrent *t, const char *url)
{
    struct sw_torrent_trackers *tr = t->trackers;
    for (int i = 0; tr && i < tr->n; i++) {
        if (strcmp(tr->urls[i], url) == 0) {
            tr->flags[i] |= SW_PLUGIN_TRACKER_ANSWERED;
            return 0;
        }
    }
    return SW_ERR_NOT_FOUND;
}
