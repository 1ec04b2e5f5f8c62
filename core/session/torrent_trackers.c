/* Announcing torrents to their trackers: the session's tracker client, one
 * tracker manager per torrent, the manager's notices turned into alerts and
 * peer-list entries. Network thread only.
 *
 * A torrent's tracking state lives in its own heap object so that the
 * "stopped" announces of a removed torrent (and of every torrent at
 * shutdown) can finish after the torrent itself is freed; the session waits
 * for the last of them (bounded by stop_tracker_timeout) before it closes
 * the client. */
#include <stdlib.h>
#include <string.h>

#include "session_int.h"
#include "session_udp.h"
#include "torrent_trackers.h"
#include "tracker/tracker.h"

struct sw_torrent_tracking {
    sw_session *ses;
    sw_torrent *t; /* NULL once the torrent let go (stopping or closing) */
    sw_tracker_manager *m;
    bool started;
    bool started_as_seed;
    bool completed_sent;
    sw_tracker_stats last; /* what was reported last, for after the torrent left */
};

/* ---- the session's client ---- */

int sw__session_trackers_open(sw_session *ses)
{
    sw_tracker_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.loop = &ses->loop;
    cfg.settings = ses->settings;
    /* UDP trackers go through the session's socket (bound when the
     * session listens); its send refuses a family it is not bound for. */
    cfg.udp_send = sw__session_udp_send;
    cfg.udp_user = ses;
    cfg.udp_families = SW_TRACKER_FAMILY_V4 | SW_TRACKER_FAMILY_V6;
    return sw__tracker_client_new(&cfg, &ses->tracker_client);
}

bool sw__session_trackers_busy(const sw_session *ses)
{
    return ses->live_tracker_managers > 0;
}

void sw__session_trackers_close(sw_session *ses)
{
    if (!ses->tracker_client)
        return;
    sw__tracker_client_close(ses->tracker_client, NULL, NULL);
    ses->tracker_client = NULL;
}

void sw__session_trackers_totals(sw_session *ses, int64_t *sent_out, int64_t *received_out)
{
    uint64_t sent = 0, received = 0;
    if (ses->tracker_client)
        sw__tracker_client_counters(ses->tracker_client, &sent, &received);
    *sent_out = (int64_t)sent;
    *received_out = (int64_t)received;
}

/* ---- notices ---- */

static void add_peers(sw_torrent *t, const sw_tracker_notice *n)
{
    if (!t->swarm_ready || t->removed)
        return;
    for (size_t i = 0; i < n->num_peers; i++) {
        const sw_tracker_peer *p = &n->peers[i];
        sw_endpoint ep;
        memset(&ep, 0, sizeof ep);
        ep.family = p->family;
        memcpy(ep.addr, p->addr, sizeof ep.addr);
        ep.port = p->port;
        /* Our own address comes back from the tracker too; the peer layer
         * recognises its own peer id and drops that connection. */
        if (ep.port == t->ses->env.listen_port && ep.family == AF_INET && ep.addr[0] == 127)
            continue;
        (void)sw__swarm_add_peer(&t->swarm, &ep, SW_PEER_SRC_TRACKER, false);
    }
}

static sw_alert_type alert_type(sw_tracker_notice_type type)
{
    switch (type) {
    case SW_TRACKER_NOTICE_ANNOUNCE:
        return SW_ALERT_TRACKER_ANNOUNCE;
    case SW_TRACKER_NOTICE_REPLY:
        return SW_ALERT_TRACKER_REPLY;
    case SW_TRACKER_NOTICE_WARNING:
        return SW_ALERT_TRACKER_WARNING;
    case SW_TRACKER_NOTICE_ERROR:
        return SW_ALERT_TRACKER_ERROR;
    case SW_TRACKER_NOTICE_SCRAPE_REPLY:
        return SW_ALERT_SCRAPE_REPLY;
    case SW_TRACKER_NOTICE_SCRAPE_FAILED:
        return SW_ALERT_SCRAPE_FAILED;
    }
    return SW_ALERT_TRACKER_ERROR;
}

static const char *event_name(sw_tracker_event ev)
{
    switch (ev) {
    case SW_TRACKER_EVENT_COMPLETED:
        return "completed";
    case SW_TRACKER_EVENT_STARTED:
        return "started";
    case SW_TRACKER_EVENT_STOPPED:
        return "stopped";
    default:
        return "none";
    }
}

static int clamp_count(int64_t v)
{
    if (v < 0)
        return -1;
    return v > INT32_MAX ? INT32_MAX : (int)v;
}

static void post_notice(sw_torrent *t, const sw_tracker_notice *n)
{
    sw_alert *a = sw__session_torrent_alert(t->ses, t, alert_type(n->type), false);
    if (!a)
        return;
    a->payload.tracker.event = (int)n->event;
    a->payload.tracker.complete = -1;
    a->payload.tracker.incomplete = -1;
    a->payload.tracker.downloaded = -1;
    (void)sw__alert_set_str(a, &a->payload.tracker.url, n->url);
    switch (n->type) {
    case SW_TRACKER_NOTICE_ANNOUNCE:
        sw__alert_set_message(a, "%s: announce (%s) to %s", t->name, event_name(n->event), n->url);
        break;
    case SW_TRACKER_NOTICE_REPLY:
        a->payload.tracker.num_peers = n->num_peers > INT32_MAX ? INT32_MAX : (int)n->num_peers;
        a->payload.tracker.complete = clamp_count(n->complete);
        a->payload.tracker.incomplete = clamp_count(n->incomplete);
        a->payload.tracker.downloaded = clamp_count(n->downloaded);
        sw__alert_set_message(a, "%s: %s replied: %zu peers", t->name, n->url, n->num_peers);
        break;
    case SW_TRACKER_NOTICE_WARNING:
        (void)sw__alert_set_str(a, &a->payload.tracker.text, n->message);
        sw__alert_set_message(a, "%s: %s warns: %s", t->name, n->url, n->message ? n->message : "");
        break;
    case SW_TRACKER_NOTICE_ERROR:
        a->error = n->error;
        a->payload.tracker.status_code = n->status_code;
        a->payload.tracker.times_in_row = n->times_in_row;
        (void)sw__alert_set_str(a, &a->payload.tracker.text, n->message);
        sw__alert_set_message(a, "%s: %s failed (%d in a row): %s", t->name, n->url,
                              n->times_in_row, n->message ? n->message : sw_strerror(n->error));
        break;
    case SW_TRACKER_NOTICE_SCRAPE_REPLY:
        a->payload.tracker.complete = clamp_count(n->complete);
        a->payload.tracker.incomplete = clamp_count(n->incomplete);
        a->payload.tracker.downloaded = clamp_count(n->downloaded);
        sw__alert_set_message(a, "%s: scrape of %s: %d seeds, %d downloaders", t->name, n->url,
                              a->payload.tracker.complete, a->payload.tracker.incomplete);
        break;
    case SW_TRACKER_NOTICE_SCRAPE_FAILED:
        a->error = n->error;
        (void)sw__alert_set_str(a, &a->payload.tracker.text, n->message);
        sw__alert_set_message(a, "%s: scrape of %s failed: %s", t->name, n->url,
                              n->message ? n->message : sw_strerror(n->error));
        break;
    }
    sw__session_post_alert(t->ses, a);
}

static void on_notice(void *user, const sw_tracker_notice *n)
{
    struct sw_torrent_tracking *tr = user;
    sw_torrent *t = tr->t;
    if (!t)
        return; /* the torrent is gone: its last announces go unreported */
    if (n->type == SW_TRACKER_NOTICE_REPLY)
        add_peers(t, n);
    post_notice(t, n);
}

/* What we tell trackers; a torrent that is gone reports nothing more. */
static void get_stats(void *user, sw_tracker_stats *out)
{
    struct sw_torrent_tracking *tr = user;
    sw_torrent *t = tr->t;
    if (!t) {
        *out = tr->last;
        return;
    }
    uint16_t last_port = tr->last.port;
    memset(out, 0, sizeof *out);
    out->port = tr->ses->env.listen_port;
    /* At shutdown the listeners close before the torrents go: "stopped"
     * must still name the port the tracker knows us by. */
    if (out->port == 0)
        out->port = last_port;
    sw_torrent_status st;
    sw__torrent_status(t, &st);
    out->uploaded = st.total_payload_upload;
    out->downloaded = st.total_payload_download;
    out->corrupt = st.total_failed_bytes;
    int64_t left = st.total_size - st.total_done;
    /* Without metadata the size is unknown; trackers take a large left as
     * "still downloading". */
    out->left = t->ti ? (left > 0 ? left : 0) : INT64_MAX / 2;
    tr->last = *out;
}

/* ---- per torrent ---- */

static int tracking_new(sw_torrent *t)
{
    sw_session *ses = t->ses;
    if (!ses->tracker_client)
        return SW_ERR_NOT_SUPPORTED;
    struct sw_torrent_tracking *tr = calloc(1, sizeof *tr);
    if (!tr)
        return SW_ERR_NOMEM;
    tr->ses = ses;
    tr->t = t;
    sw_tracker_manager_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.client = ses->tracker_client;
    memcpy(cfg.info_hash, t->info_hash.v, SW_TRACKER_HASH_LEN);
    memcpy(cfg.peer_id, ses->env.peer_id.v, SW_TRACKER_HASH_LEN);
    cfg.key = ses->key;
    cfg.get_stats = get_stats;
    cfg.on_notice = on_notice;
    cfg.user = tr;
    int rc = sw__tracker_manager_new(&cfg, &tr->m);
    if (rc < 0) {
        free(tr);
        return rc;
    }
    int n = t->ti ? sw_torrent_info_num_trackers(t->ti) : 0;
    for (int i = 0; i < n; i++) {
        const sw_announce_entry *e = sw_torrent_info_tracker(t->ti, i);
        /* A URL the manager refuses (a scheme it does not speak) is skipped;
         * the others still work. */
        if (e && e->url)
            (void)sw__tracker_manager_add_tracker(tr->m, e->url, e->tier,
                                                  SW_TRACKER_SOURCE_TORRENT);
    }
    ses->live_tracker_managers++;
    t->tracking = tr;
    return 0;
}

static void on_closed(void *user)
{
    struct sw_torrent_tracking *tr = user;
    sw_session *ses = tr->ses;
    free(tr);
    ses->live_tracker_managers--;
    sw__session_torrent_freed(ses);
}

static void on_stopped_then_close(void *user)
{
    struct sw_torrent_tracking *tr = user;
    sw__tracker_manager_close(tr->m, on_closed, tr);
}

static bool has_trackers(const sw_torrent *t)
{
    return t->ti && sw_torrent_info_num_trackers(t->ti) > 0;
}

void sw__torrent_trackers_update(sw_torrent *t, bool active)
{
    /* A torrent without trackers gets a manager only once one is added. */
    if (active && !t->tracking && (!has_trackers(t) || tracking_new(t) < 0))
        return;
    struct sw_torrent_tracking *tr = t->tracking;
    if (!tr || active == tr->started)
        return;
    tr->started = active;
    if (active) {
        tr->started_as_seed = t->state == SW_TORRENT_SEEDING || t->state == SW_TORRENT_FINISHED;
        sw__tracker_manager_start(tr->m);
    } else {
        (void)sw__tracker_manager_stop(tr->m, NULL, NULL);
    }
}

void sw__torrent_trackers_finished(sw_torrent *t)
{
    struct sw_torrent_tracking *tr = t->tracking;
    if (!tr || !tr->started || tr->started_as_seed || tr->completed_sent)
        return;
    tr->completed_sent = true;
    sw__tracker_manager_completed(tr->m);
}

void sw__torrent_trackers_detach(sw_torrent *t)
{
    struct sw_torrent_tracking *tr = t->tracking;
    if (!tr)
        return;
    t->tracking = NULL;
    /* Stats are read through the torrent, which is about to go: the
     * stopped announce reports the counters as they are now. */
    get_stats(tr, &tr->last);
    tr->t = NULL;
    /* Always through stop: a pause may have sent "stopped" already, and
     * that announce may still be out; a stop with nothing to send finishes
     * on the next loop iteration. */
    tr->started = false;
    if (sw__tracker_manager_stop(tr->m, on_stopped_then_close, tr) == 0)
        return;
    sw__tracker_manager_close(tr->m, on_closed, tr);
}

void sw__torrent_trackers_metadata(sw_torrent *t)
{
    struct sw_torrent_tracking *tr = t->tracking;
    if (!tr || !t->ti)
        return; /* a manager made later reads the .torrent's trackers itself */
    int n = sw_torrent_info_num_trackers(t->ti);
    for (int i = 0; i < n; i++) {
        const sw_announce_entry *e = sw_torrent_info_tracker(t->ti, i);
        /* Those already listed (a magnet's tr= is often the same URL) stay
         * as they are. */
        if (e && e->url)
            (void)sw__tracker_manager_add_tracker(tr->m, e->url, e->tier,
                                                  SW_TRACKER_SOURCE_TORRENT);
    }
}

/* ---- the API's requests ---- */

int sw__torrent_trackers_add(sw_torrent *t, const char *url, int tier)
{
    return sw__torrent_trackers_add_from(t, url, tier, SW_TRACKER_SOURCE_CLIENT);
}

int sw__torrent_trackers_add_from(sw_torrent *t, const char *url, int tier, unsigned source)
{
    /* A torrent still fetched by URL has only a stand-in info-hash: a
     * manager made now would announce under it. */
    if (t->url_fetch)
        return SW_ERR_NOT_READY;
    if (!t->tracking) {
        int rc = tracking_new(t);
        if (rc < 0)
            return rc;
    }
    int rc = sw__tracker_manager_add_tracker(t->tracking->m, url, tier < 0 ? 0 : tier, source);
    if (rc < 0)
        return rc;
    sw__torrent_update_active(t); /* a torrent that runs starts announcing */
    return 0;
}

int sw__torrent_trackers_reannounce(sw_torrent *t, int index)
{
    struct sw_torrent_tracking *tr = t->tracking;
    if (!tr || !tr->started)
        return SW_ERR_NOT_READY;
    if (index >= 0 && (size_t)index >= sw__tracker_manager_list(tr->m)->n)
        return SW_ERR_INVALID_ARG;
    sw__tracker_manager_force_reannounce(tr->m, index);
    return 0;
}

int sw__torrent_trackers_scrape(sw_torrent *t, int index)
{
    if (!t->tracking)
        return SW_ERR_NOT_FOUND;
    return sw__tracker_manager_scrape(t->tracking->m, index);
}

int sw__torrent_trackers_list(sw_torrent *t, sw_tracker_status **out, size_t *count_out)
{
    *out = NULL;
    *count_out = 0;
    if (!t->tracking)
        return 0;
    const sw_announce_list *l = sw__tracker_manager_list(t->tracking->m);
    if (l->n == 0)
        return 0;
    /* One block: the array, then the strings. */
    size_t size = l->n * sizeof(sw_tracker_status);
    for (size_t i = 0; i < l->n; i++) {
        const sw_tracker_entry *e = &l->v[i];
        const char *msg = e->last_message ? e->last_message : e->warning;
        size += strlen(e->url) + 1 + (msg ? strlen(msg) + 1 : 0);
    }
    sw_tracker_status *arr = calloc(1, size);
    if (!arr)
        return SW_ERR_NOMEM;
    char *text = (char *)(arr + l->n);
    int64_t now = (int64_t)uv_now(&t->ses->loop);
    for (size_t i = 0; i < l->n; i++) {
        const sw_tracker_entry *e = &l->v[i];
        sw_tracker_status *st = &arr[i];
        size_t n = strlen(e->url) + 1;
        memcpy(text, e->url, n);
        st->url = text;
        text += n;
        const char *msg = e->last_message ? e->last_message : e->warning;
        if (msg) {
            n = strlen(msg) + 1;
            memcpy(text, msg, n);
            st->message = text;
            text += n;
        }
        st->tier = e->tier;
        st->source = e->source;
        st->verified = e->verified;
        st->updating = e->updating;
        st->fails = e->fails;
        st->last_error = e->last_error;
        if (!t->tracking->started || e->next_announce == INT64_MAX)
            st->next_announce_ms = -1;
        else
            st->next_announce_ms = e->next_announce > now ? e->next_announce - now : 0;
        st->complete = e->complete;
        st->incomplete = e->incomplete;
        st->downloaded = e->downloaded;
        st->last_num_peers = e->last_num_peers;
    }
    *out = arr;
    *count_out = l->n;
    return 0;
}
