/* A torrent's trackers as plugins see them: a snapshot of the engine's
 * tracker list (torrent_trackers.c) with each entry's origin and whether it
 * has answered, and adding URLs learned from peers (lt_tex), which go into
 * a tier after the torrent's own. */
#include <stdlib.h>
#include <string.h>

#include "plugin_int.h"
#include "torrent_trackers.h"
#include "tracker/tracker.h"

struct sw_plugin_trackers {
    sw_tracker_status *v; /* one block (sw__torrent_trackers_list) */
    size_t n;
};

void sw__plugin_trackers_free(sw_torrent *t)
{
    if (!t->plugin_trackers)
        return;
    free(t->plugin_trackers->v);
    free(t->plugin_trackers);
    t->plugin_trackers = NULL;
}

int sw_plugin_torrent_num_trackers(sw_plugin_torrent *pt)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!t->plugin_trackers) {
        t->plugin_trackers = calloc(1, sizeof *t->plugin_trackers);
        if (!t->plugin_trackers)
            return 0;
    }
    struct sw_plugin_trackers *c = t->plugin_trackers;
    free(c->v);
    c->v = NULL;
    c->n = 0;
    if (sw__torrent_trackers_list(t, &c->v, &c->n) < 0)
        return 0;
    return (int)c->n;
}

static unsigned flags_of(const sw_tracker_status *st)
{
    unsigned f = 0;
    if (st->source & (SW_TRACKER_SOURCE_TORRENT | SW_TRACKER_SOURCE_MAGNET))
        f |= SW_PLUGIN_TRACKER_FROM_TORRENT;
    if (st->source & SW_TRACKER_SOURCE_TEX)
        f |= SW_PLUGIN_TRACKER_FROM_PEER;
    if (st->source & SW_TRACKER_SOURCE_CLIENT)
        f |= SW_PLUGIN_TRACKER_FROM_USER;
    if (st->verified)
        f |= SW_PLUGIN_TRACKER_ANSWERED;
    return f;
}

int sw_plugin_torrent_tracker(sw_plugin_torrent *pt, int i, const char **url_out,
                              unsigned *flags_out)
{
    sw_torrent *t = sw__torrent_of(pt);
    struct sw_plugin_trackers *c = t->plugin_trackers;
    if (!c || i < 0 || (size_t)i >= c->n)
        return SW_ERR_INVALID_ARG;
    *url_out = c->v[i].url;
    *flags_out = flags_of(&c->v[i]);
    return 0;
}

int sw_plugin_torrent_add_tracker(sw_plugin_torrent *pt, const char *url, unsigned flags)
{
    sw_torrent *t = sw__torrent_of(pt);
    if (!url || !*url)
        return SW_ERR_INVALID_ARG;
    if (t->removed)
        return SW_ERR_INVALID_HANDLE;
    sw_tracker_status *list = NULL;
    size_t n = 0;
    int rc = sw__torrent_trackers_list(t, &list, &n);
    if (rc < 0)
        return rc;
    int tier = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].url, url) == 0) {
            free(list);
            return SW_ERR_EXISTS;
        }
        if (list[i].tier >= tier)
            tier = list[i].tier + 1;
    }
    free(list);
    unsigned source =
        (flags & SW_PLUGIN_TRACKER_FROM_PEER) ? SW_TRACKER_SOURCE_TEX : SW_TRACKER_SOURCE_CLIENT;
    return sw__torrent_trackers_add_from(t, url, tier, source);
}
