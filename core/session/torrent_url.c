/* Torrents added by the URL of their .torrent file (see torrent_url.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "session_index.h"
#include "torrent_url.h"
#include "tracker/tracker.h"

/* Lives from the add until the .torrent is taken, or after a failure until
 * the torrent is removed: while it exists the torrent's info-hash is a
 * stand-in that status and alerts do not show. */
struct sw_torrent_url {
    sw_tracker_job *job; /* NULL once finished or cancelled */
    char *url;
    bool name_from_url; /* the caller gave no name: take the file's */
};

static int fail(sw_error_detail *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        err->offset = -1;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

static bool http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

static void fetch_free(sw_torrent *t)
{
    struct sw_torrent_url *u = t->url_fetch;
    if (!u)
        return;
    t->url_fetch = NULL;
    free(u->url);
    free(u);
}

/* libtorrent's behaviour: a download that cannot become a torrent leaves
 * the torrent in the error state, named after its URL. */
static void fetch_failed(sw_torrent *t, const char *url, int error, const char *why)
{
    char what[512];
    snprintf(what, sizeof what, "downloading %s: %s", url, why && *why ? why : sw_strerror(error));
    sw__torrent_set_error(t, error, what, -1);
}

static void take_metadata(sw_torrent *t, const uint8_t *body, size_t len)
{
    sw_session *ses = t->ses;
    struct sw_torrent_url *u = t->url_fetch;
    sw_torrent_info *ti;
    sw_error_detail e;
    memset(&e, 0, sizeof e);
    int rc = sw_torrent_info_load(body, len, NULL, &ti, &e);
    if (rc < 0) {
        fetch_failed(t, u->url, rc, e.message[0] ? e.message : NULL);
        return;
    }
    const sw_info_hashes *h = sw_torrent_info_hashes(ti);
    if (!h->has_v1) {
        sw_torrent_info_unref(ti);
        fetch_failed(t, u->url, SW_ERR_METAINFO_V2_ONLY, NULL);
        return;
    }
    if (sw__session_find_hash(ses, &h->v1)) {
        sw_torrent_info_unref(ti);
        fetch_failed(t, u->url, SW_ERR_DUPLICATE_TORRENT, NULL);
        return;
    }
    /* The real info-hash replaces the stand-in: peers and the DHT find
     * the torrent under it from now on. */
    sw__session_index_remove(ses, t);
    t->info_hash = h->v1;
    t->swarm.info_hash = h->v1;
    sw__session_index_add(ses, t);
    if (u->name_from_url) {
        char *name = strdup(sw_torrent_info_name(ti));
        if (name) {
            free(t->name);
            t->name = name;
        }
    }
    /* The info-hash is real from here on: alerts carry it. */
    char *url = u->url;
    u->url = NULL;
    fetch_free(t);
    rc = sw__torrent_adopt_metadata(t, ti);
    if (rc < 0)
        fetch_failed(t, url, rc, "cannot use the downloaded .torrent");
    free(url);
}

static void on_fetched(void *user, sw_tracker_job *job, const sw_tracker_result *r)
{
    (void)job;
    sw_torrent *t = user;
    t->url_fetch->job = NULL;
    if (r->error)
        fetch_failed(t, t->url_fetch->url, r->error, r->message);
    else
        take_metadata(t, r->body, r->body_len);
}

int sw__torrent_new_url(sw_session *ses, const sw_add_torrent_params *p, sw_torrent **t_out,
                        sw_error_detail *err)
{
    if (!http_url(p->url))
        return fail(err, SW_ERR_HTTP_BAD_URL, "only http:// and https:// URLs are fetched");
    if (!ses->tracker_client)
        return fail(err, SW_ERR_NOT_SUPPORTED, "no HTTP client");
    struct sw_torrent_url *u = calloc(1, sizeof *u);
    if (!u || !(u->url = strdup(p->url))) {
        free(u);
        return fail(err, SW_ERR_NOMEM, "out of memory");
    }
    u->name_from_url = !p->name || !*p->name;
    sw_add_torrent_params q = *p;
    q.name = u->name_from_url ? p->url : p->name;
    /* A random stand-in: unique in the index, known to no peer. */
    if (RAND_bytes(q.info_hash.v, sizeof q.info_hash.v) != 1) {
        uint64_t x = uv_hrtime() ^ ses->next_torrent_id;
        memset(q.info_hash.v, 0xA5, sizeof q.info_hash.v);
        memcpy(q.info_hash.v, &x, sizeof x);
    }
    sw_torrent *t;
    int rc = sw__torrent_new_placeholder(ses, &q, &t, err);
    if (rc != 0) {
        free(u->url);
        free(u);
        return rc;
    }
    t->url_fetch = u;
    int max = sw__settings_int(ses->settings, SW_SET_MAX_METADATA_SIZE);
    rc = sw__tracker_client_fetch(ses->tracker_client, u->url, max > 0 ? (size_t)max : 0,
                                  SW_TORRENT_URL_TIMEOUT_S, on_fetched, t, &u->job);
    if (rc < 0) {
        /* The handle exists already: report the failure on it, as a
         * failed download would be. */
        u->job = NULL;
        fetch_failed(t, u->url, rc, NULL);
    }
    *t_out = t;
    return 0;
}

void sw__torrent_url_cancel(sw_torrent *t)
{
    struct sw_torrent_url *u = t->url_fetch;
    if (!u)
        return;
    if (u->job)
        sw__tracker_job_cancel(u->job);
    u->job = NULL;
    fetch_free(t);
}
