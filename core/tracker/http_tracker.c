/* HTTP(S) trackers through libcurl's multi-socket interface, driven by the
 * libuv loop: curl tells us which sockets to watch (one uv_poll_t each) and
 * when to call it back (one uv_timer_t); we tell curl what happened with
 * curl_multi_socket_action and collect finished transfers. curl resolves
 * host names on its own threads, so nothing here blocks the loop. */
#include "tracker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_once_t curl_once = UV_ONCE_INIT;
static CURLcode curl_init_result;

/* curl_global_init is not thread-safe in older libcurl; run it once. It is
 * never undone: other parts of the program may use curl too. */
static void curl_global_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- socket watching ---- */

static void drain_messages(sw_tracker_client *c);

static void on_watch_closed(uv_handle_t *h)
{
    curl_watch *w = h->data;
    sw_tracker_client *c = w->client;
    free(w);
    sw__tracker_client_handle_closed(c);
}

static void watch_close(sw_tracker_client *c, curl_watch *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        c->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    uv_poll_stop(&w->poll);
    uv_close((uv_handle_t *)&w->poll, on_watch_closed);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    curl_watch *w = h->data;
    sw_tracker_client *c = w->client;
    /* On an error (libuv reports POLLERR/POLLHUP as a status) curl is told
     * the socket is ready for what it wanted: its own read or write then
     * meets the real error and it can react as it would with select(), e.g.
     * retry a request on a fresh connection when a reused one was closed
     * by the server. */
    if (status < 0)
        events = w->events;
    int flags = 0;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(c->multi, w->fd, flags, &running);
    /* libuv stops a poll handle after an error; keep watching while curl
     * still wants the socket (a closed watch is only freed later). */
    if (status < 0 && !uv_is_closing((uv_handle_t *)&w->poll))
        uv_poll_start(&w->poll, w->events, on_poll);
    drain_messages(c);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy;
    sw_tracker_client *c = userp;
    curl_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            if (!c->curl_cleanup)
                curl_multi_assign(c->multi, s, NULL);
            watch_close(c, w);
        }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return -1;
        if (uv_poll_init_socket(c->loop, &w->poll, s) != 0) {
            free(w);
            return -1;
        }
        w->poll.data = w;
        w->client = c;
        w->fd = s;
        w->next = c->watches;
        if (c->watches)
            c->watches->prev = w;
        c->watches = w;
        c->open_handles++;
        curl_multi_assign(c->multi, s, w);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    w->events = events;
    uv_poll_start(&w->poll, events, on_poll);
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    sw_tracker_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_messages(c);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    sw_tracker_client *c = userp;
    if (c->closing && c->curl_cleanup)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->curl_timer);
    else
        /* 0 means "call soon": curl may not be re-entered from here. */
        uv_timer_start(&c->curl_timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

int sw__http_tracker_init(sw_tracker_client *c)
{
    uv_once(&curl_once, curl_global_once);
    if (curl_init_result != CURLE_OK)
        return SW_ERR_NOT_SUPPORTED;
    c->multi = curl_multi_init();
    if (!c->multi)
        return SW_ERR_NOMEM;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* Bounded like libtorrent's max_concurrent_http_announces: thousands of
     * torrents announcing at once must not use up the process's file
     * descriptors; curl queues the rest. */
    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)SW_HTTP_MAX_CONNECTIONS);
    uv_timer_init(c->loop, &c->curl_timer);
    c->curl_timer.data = c;
    c->open_handles++;
    return 0;
}

static void on_curl_timer_closed(uv_handle_t *h)
{
    sw__tracker_client_handle_closed(h->data);
}

void sw__http_tracker_shutdown(sw_tracker_client *c)
{
    if (c->multi) {
        c->curl_cleanup = true;
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
    }
    while (c->watches)
        watch_close(c, c->watches);
    uv_timer_stop(&c->curl_timer);
    uv_close((uv_handle_t *)&c->curl_timer, on_curl_timer_closed);
}

/* ---- one request ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    sw_tracker_job *job = userp;
    size_t n = size * nmemb;
    if (job->body.len + n > job->max_body) {
        job->too_large = true;
        return 0; /* curl ends the transfer with CURLE_WRITE_ERROR */
    }
    if (sw__buf_append(&job->body, data, n) != 0)
        return 0;
    return n;
}

static void finish_announce(sw_tracker_job *job, long status)
{
    sw_announce_response resp;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__tracker_parse_announce(job->body.data, job->body.len, &resp, err);
    sw_tracker_result r;
    memset(&r, 0, sizeof r);
    r.http_status = (int)status;
    r.retry_after_s = -1;
    if (rc != 0) {
        char msg[SW_TRACKER_ERRLEN + 32];
        if (status != 200) {
            snprintf(msg, sizeof msg, "HTTP status %ld", status);
            sw__tracker_job_fail(job, SW_ERR_TRACKER_HTTP_STATUS, (int)status, msg);
        } else {
            sw__tracker_job_fail(job, rc, (int)status, err);
        }
        return;
    }
    r.announce = &resp;
    if (resp.failure_reason) {
        r.error = SW_ERR_TRACKER_FAILURE;
        r.message = resp.failure_reason;
        r.retry_after_s = resp.min_interval;
    } else if (status != 200) {
        /* A well-formed body with an error status: believe the status. */
        r.error = SW_ERR_TRACKER_HTTP_STATUS;
        r.message = "HTTP error status with a tracker response";
        r.announce = NULL;
    }
    sw__tracker_job_finish(job, &r);
    sw__announce_response_free(&resp);
}

static void finish_scrape(sw_tracker_job *job, long status)
{
    sw_scrape_response resp;
    char err[SW_TRACKER_ERRLEN];
    int rc =
        sw__tracker_parse_scrape(job->body.data, job->body.len, job->params.info_hash, &resp, err);
    if (status != 200) {
        char msg[64];
        snprintf(msg, sizeof msg, "HTTP status %ld", status);
        const char *why = rc == 0 && resp.failure_reason ? resp.failure_reason : msg;
        sw__tracker_job_fail(job,
                             rc == 0 && resp.failure_reason ? SW_ERR_TRACKER_FAILURE
                                                            : SW_ERR_TRACKER_HTTP_STATUS,
                             (int)status, why);
    } else if (rc != 0) {
        sw__tracker_job_fail(job, rc, (int)status, err);
    } else if (resp.failure_reason) {
        sw__tracker_job_fail(job, SW_ERR_TRACKER_FAILURE, (int)status, resp.failure_reason);
    } else {
        sw_tracker_result r;
        memset(&r, 0, sizeof r);
        r.http_status = (int)status;
        r.scrape = &resp;
        r.retry_after_s = -1;
        sw__tracker_job_finish(job, &r);
    }
    if (rc == 0)
        sw__scrape_response_free(&resp);
}

static void transfer_done(sw_tracker_job *job, CURLcode res)
{
    sw_tracker_client *c = job->client;
    long status = 0, req_size = 0, header_size = 0;
    curl_off_t body_size = 0;
    curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(job->easy, CURLINFO_REQUEST_SIZE, &req_size);
    curl_easy_getinfo(job->easy, CURLINFO_HEADER_SIZE, &header_size);
    curl_easy_getinfo(job->easy, CURLINFO_SIZE_DOWNLOAD_T, &body_size);
    c->bytes_sent += (uint64_t)(req_size > 0 ? req_size : 0);
    c->bytes_received += (uint64_t)(header_size > 0 ? header_size : 0);
    c->bytes_received += (uint64_t)(body_size > 0 ? body_size : 0);

    if (job->kind == SW_TRACKER_REQ_FETCH) {
        sw__http_fetch_done(job, res, status);
        return;
    }
    if (res != CURLE_OK) {
        const char *msg = job->curl_err[0] ? job->curl_err : curl_easy_strerror(res);
        if (job->too_large || res == CURLE_FILESIZE_EXCEEDED)
            sw__tracker_job_fail(job, SW_ERR_TRACKER_RESPONSE_TOO_LARGE, (int)status, NULL);
        else if (res == CURLE_OPERATION_TIMEDOUT)
            sw__tracker_job_fail(job, SW_ERR_TIMEOUT, (int)status, msg);
        else
            sw__tracker_job_fail(job, SW_ERR_TRACKER_CONNECT, (int)status, msg);
        return;
    }
    if (job->kind == SW_TRACKER_REQ_SCRAPE)
        finish_scrape(job, status);
    else
        finish_announce(job, status);
}

static void drain_messages(sw_tracker_client *c)
{
    CURLMsg *msg;
    int left;
    while (c->multi && (msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* Copy out before the handle goes: the message dies with it. */
        CURL *easy = msg->easy_handle;
        CURLcode res = msg->data.result;
        sw_tracker_job *job = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&job);
        if (job)
            transfer_done(job, res);
    }
}

/* Builds a proxy URL from the proxy settings, or "" for none. */
static void proxy_url(const sw_settings *s, char *out, size_t len)
{
    out[0] = '\0';
    if (!sw__settings_bool(s, SW_SET_PROXY_TRACKER_CONNECTIONS))
        return;
    int type = sw__settings_int(s, SW_SET_PROXY_TYPE);
    const char *host = sw__settings_str(s, SW_SET_PROXY_HOSTNAME);
    bool remote_dns = sw__settings_bool(s, SW_SET_PROXY_HOSTNAMES);
    const char *scheme;
    switch (type) {
    case SW_PROXY_SOCKS4:
        scheme = remote_dns ? "socks4a" : "socks4";
        break;
    case SW_PROXY_SOCKS5:
    case SW_PROXY_SOCKS5_PW:
        scheme = remote_dns ? "socks5h" : "socks5";
        break;
    case SW_PROXY_HTTP:
    case SW_PROXY_HTTP_PW:
        scheme = "http";
        break;
    default:
        return;
    }
    if (!host || !*host)
        return;
    bool v6 = strchr(host, ':') != NULL;
    snprintf(out, len, "%s://%s%s%s:%d", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
             sw__settings_int(s, SW_SET_PROXY_PORT));
}

int sw__http_tracker_start(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    const sw_settings *s = c->settings;
    char *url = NULL;
    int rc = 0;
    if (job->kind == SW_TRACKER_REQ_FETCH)
        rc = (url = strdup(job->url)) ? 0 : SW_ERR_NOMEM;
    else if (job->kind == SW_TRACKER_REQ_SCRAPE)
        rc = sw__tracker_scrape_url(job->url, job->params.info_hash, &url);
    else
        rc = sw__tracker_announce_url(job->url, &job->params, &url);
    if (rc != 0)
        return rc;
    CURL *e = curl_easy_init();
    if (!e) {
        free(url);
        return SW_ERR_NOMEM;
    }
    int max_len = sw__settings_int(s, SW_SET_TRACKER_MAXIMUM_RESPONSE_LENGTH);
    if (job->max_body == 0) /* a fetch may have set its own bound */
        job->max_body = max_len > 0 ? (size_t)max_len : 1024 * 1024;
    int receive_s = sw__settings_int(s, SW_SET_TRACKER_RECEIVE_TIMEOUT);
    uint64_t now = uv_now(c->loop);
    long total_ms = job->deadline > now ? (long)(job->deadline - now) : 1;

    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* curl keeps its own copy */
    curl_easy_setopt(e, CURLOPT_PRIVATE, job);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, job);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job->curl_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)SW_FETCH_MAX_REDIRECTS);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (job->range_len > 0)
        sw__http_range_setup(job, e); /* identity encoding: byte offsets must be the file's */
    else
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->max_body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms);
    if (receive_s > 0) {
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, (long)receive_s);
        /* Silence for receive_timeout seconds ends the transfer. */
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)receive_s);
    }
    const char *ua = sw__settings_str(s, SW_SET_USER_AGENT);
    if (!sw__settings_bool(s, SW_SET_ANONYMOUS_MODE) && ua && *ua)
        curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
    bool verify = sw__settings_bool(s, SW_SET_VALIDATE_HTTPS_TRACKERS);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    char proxy[600];
    proxy_url(s, proxy, sizeof proxy);
    /* An empty proxy also stops curl from picking one up from the
     * environment (http_proxy): the settings decide. */
    curl_easy_setopt(e, CURLOPT_PROXY, proxy);
    if (proxy[0]) {
        int type = sw__settings_int(s, SW_SET_PROXY_TYPE);
        if (type == SW_PROXY_SOCKS5_PW || type == SW_PROXY_HTTP_PW) {
            curl_easy_setopt(e, CURLOPT_PROXYUSERNAME, sw__settings_str(s, SW_SET_PROXY_USERNAME));
            curl_easy_setopt(e, CURLOPT_PROXYPASSWORD, sw__settings_str(s, SW_SET_PROXY_PASSWORD));
        }
    }

    job->easy = e;
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        job->easy = NULL;
        curl_easy_cleanup(e);
        return SW_ERR_NOMEM;
    }
    return 0;
}

void sw__http_tracker_cancel(sw_tracker_job *job)
{
    if (!job->easy)
        return;
    sw_tracker_client *c = job->client;
    if (c->multi)
        curl_multi_remove_handle(c->multi, job->easy);
    curl_easy_cleanup(job->easy);
    job->easy = NULL;
}
