/* The per-torrent tracker manager (see tracker.h): runs the announce-list
 * state machine on the loop's clock with one timer, sends the announces it
 * picks through the client, feeds the outcomes back and reports them. */
#include "tracker_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

struct sw_tracker_manager {
    sw_tracker_client *client;
    uv_timer_t timer; /* next announce, deferred work, the stop deadline */
    sw_announce_list list;
    uint8_t info_hash[SW_TRACKER_HASH_LEN];
    uint8_t peer_id[SW_TRACKER_HASH_LEN];
    uint32_t key;
    char *default_tracker_id;
    bool support_crypto, require_crypto;
    sw_tracker_stats_cb get_stats;
    sw_tracker_notice_cb on_notice;
    void *user;

    bool started;       /* between start and stop */
    uint32_t forced_id; /* a tracker force_reannounce named, 0 if none */
    bool closing;

    /* Stopping: "stopped" announces in flight, bounded by a deadline. */
    bool stopping;
    bool stop_sent;         /* the stopped announces have gone out */
    bool start_after_stop;  /* start() came while stopping */
    uint32_t *stop_targets; /* ids of the trackers owed a "stopped" */
    size_t num_stop_targets;
    int stops_pending;
    uint64_t stop_deadline;
    void (*stop_done)(void *user);
    void *stop_user;

    void (*close_cb)(void *user);
    void *close_user;
};

static void on_timer(uv_timer_t *t);

static const sw_settings *settings_of(const sw_tracker_manager *m)
{
    return m->client->settings;
}

static void notify(sw_tracker_manager *m, const sw_tracker_notice *n)
{
    if (m->on_notice)
        m->on_notice(m->user, n);
}

/* Runs the deferred work on the next loop iteration: API calls never call
 * back from inside themselves. */
static void kick(sw_tracker_manager *m)
{
    if (!m->closing)
        uv_timer_start(&m->timer, on_timer, 0, 0);
}

int sw__tracker_manager_new(const sw_tracker_manager_config *cfg, sw_tracker_manager **m_out)
{
    if (!cfg || !cfg->client || !cfg->get_stats || !m_out || cfg->client->closing)
        return SW_ERR_INVALID_ARG;
    sw_tracker_manager *m = calloc(1, sizeof *m);
    if (!m)
        return SW_ERR_NOMEM;
    if (cfg->tracker_id && *cfg->tracker_id) {
        m->default_tracker_id = strdup(cfg->tracker_id);
        if (!m->default_tracker_id) {
            free(m);
            return SW_ERR_NOMEM;
        }
    }
    m->client = cfg->client;
    memcpy(m->info_hash, cfg->info_hash, sizeof m->info_hash);
    memcpy(m->peer_id, cfg->peer_id, sizeof m->peer_id);
    m->key = cfg->key;
    while (m->key == 0)
        m->key = sw__tracker_client_random32(m->client);
    m->support_crypto = cfg->support_crypto;
    m->require_crypto = cfg->require_crypto;
    m->get_stats = cfg->get_stats;
    m->on_notice = cfg->on_notice;
    m->user = cfg->user;
    uint64_t seed = cfg->shuffle_seed;
    if (seed == 0 && RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
        seed = uv_hrtime();
    sw__announce_list_init(&m->list, seed);
    uv_timer_init(m->client->loop, &m->timer);
    m->timer.data = m;
    m->client->live_managers++;
    *m_out = m;
    return 0;
}

int sw__tracker_manager_add_tracker(sw_tracker_manager *m, const char *url, int tier,
                                    unsigned source)
{
    if (!m || !url || m->closing)
        return SW_ERR_INVALID_ARG;
    bool prefer_udp = sw__settings_bool(settings_of(m), SW_SET_PREFER_UDP_TRACKERS);
    int rc = sw__announce_list_add(&m->list, url, tier, source, prefer_udp, NULL);
    if (rc == 0 && m->started)
        kick(m);
    return rc;
}

int sw__tracker_manager_remove_tracker(sw_tracker_manager *m, size_t index)
{
    if (!m || m->closing || index >= m->list.n)
        return SW_ERR_INVALID_ARG;
    sw_tracker_entry *e = &m->list.v[index];
    bool was_stopping = e->job && e->sent_event == SW_TRACKER_EVENT_STOPPED;
    sw__tracker_job_cancel(e->job);
    sw__tracker_job_cancel(e->scrape_job);
    sw__announce_list_remove(&m->list, index);
    /* A stopped announce that will never finish no longer holds up stop. */
    if (was_stopping && m->stopping && --m->stops_pending == 0 && m->stop_sent)
        kick(m);
    return 0;
}

const sw_announce_list *sw__tracker_manager_list(const sw_tracker_manager *m)
{
    return &m->list;
}

/* ---- announcing ---- */

static void on_announce_done(void *user, sw_tracker_job *job, const sw_tracker_result *r);

static void fill_params(sw_tracker_manager *m, const sw_tracker_entry *e, sw_tracker_event event,
                        sw_announce_params *p)
{
    const sw_settings *s = settings_of(m);
    sw_tracker_stats st;
    memset(&st, 0, sizeof st);
    m->get_stats(m->user, &st);
    memset(p, 0, sizeof *p);
    memcpy(p->info_hash, m->info_hash, sizeof p->info_hash);
    memcpy(p->peer_id, m->peer_id, sizeof p->peer_id);
    p->port = st.port;
    p->uploaded = st.uploaded;
    p->downloaded = st.downloaded;
    p->left = st.left;
    p->corrupt = st.corrupt;
    p->event = event;
    /* A stopping peer wants no peers back. */
    p->num_want = event == SW_TRACKER_EVENT_STOPPED ? 0 : sw__settings_int(s, SW_SET_NUM_WANT);
    p->key = m->key;
    if (e->tracker_id) {
        p->tracker_id = e->tracker_id;
        p->tracker_id_len = e->tracker_id_len;
    } else if (m->default_tracker_id) {
        p->tracker_id = m->default_tracker_id;
        p->tracker_id_len = strlen(m->default_tracker_id);
    }
    p->support_crypto = m->support_crypto;
    p->require_crypto = m->require_crypto;
    p->ip = sw__settings_str(s, SW_SET_ANNOUNCE_IP);
    p->ipv4 = st.ipv4;
    p->ipv6 = st.ipv6;
}

static void record_failure(sw_tracker_entry *e, int error, int status, const char *message)
{
    e->last_error = error;
    e->last_status = status;
    free(e->last_message);
    e->last_message = message ? sw__tracker_text_copy(message, strlen(message)) : NULL;
}

/* Sends `event` to the entry at index i. Returns false if the request
 * could not even start (the entry is then marked failed and reported). */
static bool send_announce(sw_tracker_manager *m, size_t i, sw_tracker_event event)
{
    sw_tracker_entry *e = &m->list.v[i];
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = SW_TRACKER_REQ_ANNOUNCE;
    req.url = e->url;
    fill_params(m, e, event, &req.params);
    if (event == SW_TRACKER_EVENT_STOPPED)
        req.timeout_s = sw__settings_int(settings_of(m), SW_SET_STOP_TRACKER_TIMEOUT);
    sw_tracker_job *job = NULL;
    int rc = sw__tracker_client_request(m->client, &req, on_announce_done, m, &job);
    sw_tracker_notice n;
    memset(&n, 0, sizeof n);
    n.url = e->url;
    n.entry_id = e->id;
    n.event = event;
    n.complete = n.incomplete = n.downloaded = n.interval = -1;
    if (rc != 0) {
        sw__announce_list_sent(&m->list, i, event);
        size_t k = sw__announce_list_failed(&m->list, i, (int64_t)uv_now(m->client->loop), -1,
                                            SW_TRACKER_DEFAULT_BACKOFF);
        e = &m->list.v[k];
        record_failure(e, rc, 0, sw_strerror(rc));
        n.type = SW_TRACKER_NOTICE_ERROR;
        n.url = e->url;
        n.error = rc;
        n.times_in_row = e->fails;
        n.message = sw_strerror(rc);
        notify(m, &n);
        return false;
    }
    e->job = job;
    sw__announce_list_sent(&m->list, i, event);
    n.type = SW_TRACKER_NOTICE_ANNOUNCE;
    notify(m, &n);
    return true;
}

static sw_announce_policy policy_of(const sw_tracker_manager *m)
{
    sw_announce_policy p;
    p.all_tiers = sw__settings_bool(settings_of(m), SW_SET_ANNOUNCE_TO_ALL_TIERS);
    p.all_trackers = sw__settings_bool(settings_of(m), SW_SET_ANNOUNCE_TO_ALL_TRACKERS);
    return p;
}

/* Announces to whatever the rules pick now and sets the timer for the next
 * time something becomes due. */
static void update(sw_tracker_manager *m)
{
    if (!m->started || m->stopping || m->closing || m->list.n == 0)
        return;
    sw_announce_policy pol = policy_of(m);
    int64_t now = (int64_t)uv_now(m->client->loop);
    size_t *idx = malloc(m->list.n * sizeof *idx);
    uint32_t *ids = malloc(m->list.n * sizeof *ids);
    if (!idx || !ids) {
        free(idx);
        free(ids);
        uv_timer_start(&m->timer, on_timer, 1000, 0); /* try again soon */
        return;
    }
    int64_t wake;
    size_t count = sw__announce_list_plan(&m->list, &pol, now, idx, &wake);
    /* Notices may call back into the manager and move entries: go by id. */
    for (size_t k = 0; k < count; k++)
        ids[k] = m->list.v[idx[k]].id;
    free(idx);
    for (size_t k = 0; k < count && m->started && !m->stopping && !m->closing; k++) {
        ptrdiff_t i = sw__announce_list_find_id(&m->list, ids[k]);
        if (i < 0 || !sw__tracker_entry_can_announce(&m->list.v[i], now))
            continue;
        send_announce(m, (size_t)i, sw__tracker_entry_next_event(&m->list.v[i]));
    }
    free(ids);
    if (m->forced_id && m->started && !m->stopping && !m->closing) {
        ptrdiff_t i = sw__announce_list_find_id(&m->list, m->forced_id);
        m->forced_id = 0;
        if (i >= 0 && sw__tracker_entry_can_announce(&m->list.v[i], now))
            send_announce(m, (size_t)i, sw__tracker_entry_next_event(&m->list.v[i]));
    }
    if (m->closing || m->stopping || !m->started)
        return;
    /* A request that failed at once changed the picture: look again soon. */
    sw_announce_policy again = policy_of(m);
    int64_t wake2;
    size_t *tmp = malloc(m->list.n * sizeof *tmp);
    if (tmp) {
        if (sw__announce_list_plan(&m->list, &again, now, tmp, &wake2) > 0)
            wake2 = now;
        free(tmp);
        if (wake2 < wake)
            wake = wake2;
    }
    if (wake == INT64_MAX)
        uv_timer_stop(&m->timer);
    else
        uv_timer_start(&m->timer, on_timer, wake > now ? (uint64_t)(wake - now) : 0, 0);
}

static ptrdiff_t find_job(const sw_tracker_manager *m, const sw_tracker_job *job, bool scrape)
{
    for (size_t i = 0; i < m->list.n; i++)
        if ((scrape ? m->list.v[i].scrape_job : m->list.v[i].job) == job)
            return (ptrdiff_t)i;
    return -1;
}

static void finish_stop(sw_tracker_manager *m);

static void on_announce_done(void *user, sw_tracker_job *job, const sw_tracker_result *r)
{
    sw_tracker_manager *m = user;
    ptrdiff_t found = find_job(m, job, false);
    if (found < 0)
        return;
    size_t i = (size_t)found;
    sw_tracker_entry *e = &m->list.v[i];
    e->job = NULL;
    sw_tracker_event event = (sw_tracker_event)e->sent_event;
    int64_t now = (int64_t)uv_now(m->client->loop);
    uint32_t id = e->id;

    sw_tracker_notice n;
    memset(&n, 0, sizeof n);
    n.entry_id = id;
    n.event = event;
    n.complete = n.incomplete = n.downloaded = n.interval = -1;

    if (r->error == 0 && r->announce) {
        sw_announce_response *a = r->announce;
        const sw_settings *s = settings_of(m);
        int64_t interval = a->interval > 0 ? a->interval : SW_TRACKER_DEFAULT_INTERVAL;
        int64_t floor = sw__settings_int(s, SW_SET_MIN_ANNOUNCE_INTERVAL);
        if (interval < floor)
            interval = floor;
        int64_t min_interval = a->min_interval >= 0 ? a->min_interval : 0;
        if (min_interval > interval)
            min_interval = interval;
        if (a->tracker_id) {
            free(e->tracker_id);
            e->tracker_id = a->tracker_id; /* taken over from the result */
            e->tracker_id_len = a->tracker_id_len;
            a->tracker_id = NULL;
        }
        free(e->warning);
        e->warning = a->warning_message;
        a->warning_message = NULL;
        e->complete = a->complete;
        e->incomplete = a->incomplete;
        if (a->downloaded >= 0)
            e->downloaded = a->downloaded;
        e->last_num_peers = (int)a->num_peers;
        e->interval = interval;
        e->min_interval = min_interval;
        i = sw__announce_list_succeeded(&m->list, i, now, interval, min_interval);
        e = &m->list.v[i];

        n.url = e->url;
        if (e->warning) {
            n.type = SW_TRACKER_NOTICE_WARNING;
            n.message = e->warning;
            notify(m, &n);
            if (m->closing)
                return;
            n.message = NULL;
            ptrdiff_t again = sw__announce_list_find_id(&m->list, id);
            if (again < 0)
                return;
            e = &m->list.v[again];
            n.url = e->url;
        }
        n.type = SW_TRACKER_NOTICE_REPLY;
        n.peers = a->peers;
        n.num_peers = a->num_peers;
        n.complete = a->complete;
        n.incomplete = a->incomplete;
        n.downloaded = a->downloaded;
        n.interval = interval;
        notify(m, &n);
    } else {
        int error = r->error ? r->error : SW_ERR_TRACKER_BAD_RESPONSE;
        i = sw__announce_list_failed(&m->list, i, now, r->retry_after_s,
                                     SW_TRACKER_DEFAULT_BACKOFF);
        e = &m->list.v[i];
        record_failure(e, error, r->http_status, r->message);
        n.type = SW_TRACKER_NOTICE_ERROR;
        n.url = e->url;
        n.error = error;
        n.status_code = r->http_status;
        n.times_in_row = e->fails;
        n.message = e->last_message ? e->last_message : sw_strerror(error);
        notify(m, &n);
    }
    if (m->closing)
        return;
    if (event == SW_TRACKER_EVENT_STOPPED && m->stopping) {
        if (--m->stops_pending == 0 && m->stop_sent)
            finish_stop(m);
        return;
    }
    update(m);
}

/* ---- start, completion, force ---- */

void sw__tracker_manager_start(sw_tracker_manager *m)
{
    if (!m || m->closing)
        return;
    if (m->stopping) {
        m->start_after_stop = true;
        return;
    }
    if (m->started)
        return;
    m->started = true;
    sw__announce_list_start(&m->list);
    kick(m);
}

void sw__tracker_manager_completed(sw_tracker_manager *m)
{
    if (!m || m->closing)
        return;
    sw__announce_list_completed(&m->list, (int64_t)uv_now(m->client->loop));
    if (m->started && !m->stopping)
        kick(m);
}

void sw__tracker_manager_force_reannounce(sw_tracker_manager *m, ptrdiff_t index)
{
    if (!m || m->closing || !m->started || m->stopping)
        return;
    if (index >= (ptrdiff_t)m->list.n)
        return;
    sw__announce_list_force(&m->list, index, (int64_t)uv_now(m->client->loop));
    /* A forced announce to one tracker goes out even if the rules would pick
     * another one. */
    m->forced_id = index >= 0 ? m->list.v[index].id : 0;
    kick(m);
}

/* ---- stopping ---- */

static void cancel_jobs(sw_tracker_manager *m, bool scrapes_too)
{
    for (size_t i = 0; i < m->list.n; i++) {
        sw_tracker_entry *e = &m->list.v[i];
        if (e->job) {
            sw__tracker_job_cancel(e->job);
            e->job = NULL;
            sw__announce_list_abandoned(&m->list, i);
        }
        if (scrapes_too && e->scrape_job) {
            sw__tracker_job_cancel(e->scrape_job);
            e->scrape_job = NULL;
        }
    }
}

static void finish_stop(sw_tracker_manager *m)
{
    cancel_jobs(m, false); /* stopped announces still out after the deadline */
    /* Whether or not each tracker heard it, we are no longer in their
     * swarms: the next start announces "started" everywhere anyway. */
    for (size_t i = 0; i < m->list.n; i++) {
        m->list.v[i].start_sent = false;
        m->list.v[i].complete_pending = false;
    }
    uv_timer_stop(&m->timer);
    free(m->stop_targets);
    m->stop_targets = NULL;
    m->num_stop_targets = 0;
    m->stopping = false;
    m->stop_sent = false;
    m->stops_pending = 0;
    void (*done)(void *) = m->stop_done;
    void *user = m->stop_user;
    m->stop_done = NULL;
    m->stop_user = NULL;
    if (m->start_after_stop) {
        m->start_after_stop = false;
        sw__tracker_manager_start(m);
    }
    if (done)
        done(user);
}

int sw__tracker_manager_stop(sw_tracker_manager *m, void (*done)(void *user), void *user)
{
    if (!m || m->closing)
        return SW_ERR_INVALID_ARG;
    m->stop_done = done;
    m->stop_user = user;
    m->start_after_stop = false;
    if (m->stopping)
        return 0;
    m->started = false;
    m->stopping = true;
    m->stop_sent = false;
    m->stops_pending = 0;
    free(m->stop_targets);
    m->stop_targets = m->list.n ? malloc(m->list.n * sizeof *m->stop_targets) : NULL;
    m->num_stop_targets = 0;
    for (size_t i = 0; i < m->list.n; i++) {
        /* Decided before the regular request in flight is cancelled: a
         * "started" on its way may have registered us. */
        if (m->stop_targets && sw__tracker_entry_wants_stopped(&m->list.v[i]))
            m->stop_targets[m->num_stop_targets++] = m->list.v[i].id;
    }
    cancel_jobs(m, true);
    int timeout_s = sw__settings_int(settings_of(m), SW_SET_STOP_TRACKER_TIMEOUT);
    m->stop_deadline = uv_now(m->client->loop) + (uint64_t)(timeout_s > 0 ? timeout_s : 0) * 1000;
    kick(m);
    return 0;
}

static void stop_step(sw_tracker_manager *m)
{
    uint64_t now = uv_now(m->client->loop);
    if (!m->stop_sent) {
        m->stop_sent = true;
        if (now < m->stop_deadline) {
            for (size_t k = 0; k < m->num_stop_targets; k++) {
                ptrdiff_t i = sw__announce_list_find_id(&m->list, m->stop_targets[k]);
                if (i < 0 || m->list.v[i].job)
                    continue;
                m->stops_pending++; /* counted first: the notice may stop again */
                if (!send_announce(m, (size_t)i, SW_TRACKER_EVENT_STOPPED))
                    m->stops_pending--;
                if (m->closing || !m->stopping)
                    return;
            }
        }
    }
    if (m->stops_pending <= 0 || now >= m->stop_deadline) {
        finish_stop(m);
        return;
    }
    uv_timer_start(&m->timer, on_timer, m->stop_deadline - now, 0);
}

static void on_timer(uv_timer_t *t)
{
    sw_tracker_manager *m = t->data;
    if (m->closing)
        return;
    if (m->stopping)
        stop_step(m);
    else
        update(m);
}

/* ---- scrape ---- */

static void on_scrape_done(void *user, sw_tracker_job *job, const sw_tracker_result *r)
{
    sw_tracker_manager *m = user;
    ptrdiff_t i = find_job(m, job, true);
    if (i < 0)
        return;
    sw_tracker_entry *e = &m->list.v[i];
    e->scrape_job = NULL;
    sw_tracker_notice n;
    memset(&n, 0, sizeof n);
    n.url = e->url;
    n.entry_id = e->id;
    n.complete = n.incomplete = n.downloaded = n.interval = -1;
    if (r->error == 0 && r->scrape) {
        e->complete = r->scrape->complete;
        e->incomplete = r->scrape->incomplete;
        e->downloaded = r->scrape->downloaded;
        n.type = SW_TRACKER_NOTICE_SCRAPE_REPLY;
        n.complete = r->scrape->complete;
        n.incomplete = r->scrape->incomplete;
        n.downloaded = r->scrape->downloaded;
    } else {
        n.type = SW_TRACKER_NOTICE_SCRAPE_FAILED;
        n.error = r->error ? r->error : SW_ERR_TRACKER_BAD_RESPONSE;
        n.status_code = r->http_status;
        n.message = r->message ? r->message : sw_strerror(n.error);
    }
    notify(m, &n);
}

int sw__tracker_manager_scrape(sw_tracker_manager *m, ptrdiff_t index)
{
    if (!m || m->closing)
        return SW_ERR_INVALID_ARG;
    if (m->list.n == 0)
        return SW_ERR_NOT_FOUND;
    if (index >= (ptrdiff_t)m->list.n)
        return SW_ERR_INVALID_ARG;
    if (index < 0) {
        index = 0;
        for (size_t i = 0; i < m->list.n; i++) {
            if (m->list.v[i].fails == 0) {
                index = (ptrdiff_t)i;
                break;
            }
        }
    }
    sw_tracker_entry *e = &m->list.v[index];
    if (e->scrape_job)
        return 0; /* the scrape in flight answers this one too */
    sw_tracker_request req;
    memset(&req, 0, sizeof req);
    req.kind = SW_TRACKER_REQ_SCRAPE;
    req.url = e->url;
    memcpy(req.params.info_hash, m->info_hash, sizeof m->info_hash);
    sw_tracker_job *job = NULL;
    int rc = sw__tracker_client_request(m->client, &req, on_scrape_done, m, &job);
    if (rc == 0)
        e->scrape_job = job;
    return rc;
}

/* ---- close ---- */

static void on_closed(uv_handle_t *h)
{
    sw_tracker_manager *m = h->data;
    void (*cb)(void *) = m->close_cb;
    void *user = m->close_user;
    sw__announce_list_free(&m->list);
    free(m->stop_targets);
    free(m->default_tracker_id);
    free(m);
    if (cb)
        cb(user);
}

void sw__tracker_manager_close(sw_tracker_manager *m, void (*cb)(void *user), void *user)
{
    if (!m || m->closing)
        return;
    m->closing = true;
    m->close_cb = cb;
    m->close_user = user;
    cancel_jobs(m, true);
    m->client->live_managers--;
    uv_timer_stop(&m->timer);
    uv_close((uv_handle_t *)&m->timer, on_closed);
}
