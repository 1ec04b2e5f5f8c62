/* The public tracker functions of a torrent handle: each runs on the
 * network thread against the torrent its handle names. */
#include <stdlib.h>
#include <string.h>

#include "session_int.h"
#include "torrent_trackers.h"

typedef struct tracker_call {
    uint64_t id;
    int (*fn)(sw_torrent *t, struct tracker_call *c);
    const char *url;
    int index; /* tier for add */
    sw_tracker_status *list;
    size_t count;
} tracker_call;

static int run(sw_session *ses, void *arg)
{
    tracker_call *c = arg;
    sw_torrent *t = sw__session_find(ses, c->id);
    if (!t)
        return SW_ERR_INVALID_HANDLE;
    return c->fn(t, c);
}

static int call(sw_torrent_handle h, tracker_call *c)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    c->id = h.id;
    return sw__session_run(h.session, run, c);
}

static int do_list(sw_torrent *t, tracker_call *c)
{
    return sw__torrent_trackers_list(t, &c->list, &c->count);
}

int sw_torrent_get_trackers(sw_torrent_handle h, sw_tracker_status **trackers_out,
                            size_t *count_out)
{
    if (!trackers_out || !count_out)
        return SW_ERR_INVALID_ARG;
    tracker_call c = {.fn = do_list};
    int rc = call(h, &c);
    if (rc < 0)
        return rc;
    *trackers_out = c.list;
    *count_out = c.count;
    return 0;
}

static int do_add(sw_torrent *t, tracker_call *c)
{
    return sw__torrent_trackers_add(t, c->url, c->index);
}

int sw_torrent_add_tracker(sw_torrent_handle h, const char *url, int tier)
{
    if (!url)
        return SW_ERR_INVALID_ARG;
    tracker_call c = {.fn = do_add, .url = url, .index = tier};
    return call(h, &c);
}

static int do_reannounce(sw_torrent *t, tracker_call *c)
{
    return sw__torrent_trackers_reannounce(t, c->index);
}

int sw_torrent_force_reannounce(sw_torrent_handle h, int index)
{
    tracker_call c = {.fn = do_reannounce, .index = index};
    return call(h, &c);
}

static int do_scrape(sw_torrent *t, tracker_call *c)
{
    return sw__torrent_trackers_scrape(t, c->index);
}

int sw_torrent_scrape_tracker(sw_torrent_handle h, int index)
{
    tracker_call c = {.fn = do_scrape, .index = index};
    return call(h, &c);
}
