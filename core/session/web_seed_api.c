/* The public web seed functions of a torrent handle: each runs on the
 * network thread against the torrent its handle names. */
#include <stdlib.h>

#include "session_int.h"
#include "web_seed.h"

typedef struct web_seed_call {
    uint64_t id;
    int kind; /* 0 add, 1 remove, 2 list */
    const char *url;
    char *list;
    int count;
} web_seed_call;

static int run(sw_session *ses, void *arg)
{
    web_seed_call *c = arg;
    sw_torrent *t = sw__session_find(ses, c->id);
    if (!t || t->removed)
        return SW_ERR_INVALID_HANDLE;
    switch (c->kind) {
    case 0:
        return sw__web_seeds_add(t, c->url);
    case 1:
        return sw__web_seeds_remove(t, c->url);
    default:
        return sw__web_seeds_list(t, &c->list, &c->count);
    }
}

static int call(sw_torrent_handle h, web_seed_call *c)
{
    if (!h.session || h.id == 0)
        return SW_ERR_INVALID_HANDLE;
    c->id = h.id;
    return sw__session_run(h.session, run, c);
}

int sw_torrent_add_url_seed(sw_torrent_handle h, const char *url)
{
    if (!url)
        return SW_ERR_INVALID_ARG;
    web_seed_call c = {.kind = 0, .url = url};
    return call(h, &c);
}

int sw_torrent_remove_url_seed(sw_torrent_handle h, const char *url)
{
    if (!url)
        return SW_ERR_INVALID_ARG;
    web_seed_call c = {.kind = 1, .url = url};
    return call(h, &c);
}

int sw_torrent_url_seeds(sw_torrent_handle h, char **urls_out, int *count_out)
{
    if (!urls_out)
        return SW_ERR_INVALID_ARG;
    web_seed_call c = {.kind = 2};
    int rc = call(h, &c);
    if (rc < 0)
        return rc;
    *urls_out = c.list;
    if (count_out)
        *count_out = c.count;
    return 0;
}
