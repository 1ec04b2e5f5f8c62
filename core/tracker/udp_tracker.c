/* UDP trackers (BEP 15): name resolution with uv_getaddrinfo, the connect
 * exchange with a per-address cache of connection ids, announce and scrape,
 * retransmission on the 15 * 2^n schedule (bounded by the request's
 * deadline), and routing of incoming datagrams to the request they answer
 * by transaction id and sender address. */
#include "tracker_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- addresses ---- */

static bool same_addr(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return false;
}

static unsigned family_bit(int family)
{
    return family == AF_INET ? SW_TRACKER_FAMILY_V4 : family == AF_INET6 ? SW_TRACKER_FAMILY_V6 : 0;
}

/* ---- connection id cache ---- */

/* The entry for addr (valid or pending), dropping expired ones. */
static udp_conn_entry *conn_find(sw_tracker_client *c, const struct sockaddr *addr, uint64_t now)
{
    for (size_t i = 0; i < c->num_conns;) {
        udp_conn_entry *e = &c->conns[i];
        if (e->expires <= now) {
            *e = c->conns[--c->num_conns];
            continue;
        }
        if (same_addr((const struct sockaddr *)&e->addr, addr))
            return e;
        i++;
    }
    return NULL;
}

/* A usable connection id for addr, or NULL. */
static udp_conn_entry *conn_lookup(sw_tracker_client *c, const struct sockaddr *addr, uint64_t now)
{
    udp_conn_entry *e = conn_find(c, addr, now);
    return e && !e->pending ? e : NULL;
}

static void conn_drop(sw_tracker_client *c, const struct sockaddr *addr)
{
    for (size_t i = 0; i < c->num_conns; i++) {
        if (same_addr((const struct sockaddr *)&c->conns[i].addr, addr)) {
            c->conns[i] = c->conns[--c->num_conns];
            return;
        }
    }
}

static void conn_put(sw_tracker_client *c, const struct sockaddr_storage *addr, uint64_t id,
                     uint64_t expires, bool pending)
{
    udp_conn_entry *e = conn_find(c, (const struct sockaddr *)addr, 0);
    if (!e) {
        if (c->num_conns == c->cap_conns) {
            size_t cap = c->cap_conns ? c->cap_conns * 2 : 8;
            udp_conn_entry *v = realloc(c->conns, cap * sizeof *v);
            if (!v)
                return; /* not cached: the next request connects again */
            c->conns = v;
            c->cap_conns = cap;
        }
        e = &c->conns[c->num_conns++];
        e->addr = *addr;
    }
    e->conn_id = id;
    e->expires = expires;
    e->pending = pending;
}

/* The job that marked its address as connecting gives up: others may
 * connect again. */
static void conn_pending_clear(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    if (!job->owns_pending)
        return;
    job->owns_pending = false;
    udp_conn_entry *e = conn_find(c, (const struct sockaddr *)&job->addr, 0);
    if (e && e->pending)
        conn_drop(c, (const struct sockaddr *)&job->addr);
}

/* ---- sending ---- */

typedef struct send_req {
    uv_udp_send_t req;
    uint8_t data[];
} send_req;

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
}

static int udp_send(sw_tracker_client *c, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
    if (c->udp_send) {
        int rc = c->udp_send(c->udp_user, to, buf, len);
        if (rc == 0)
            c->bytes_sent += len;
        return rc;
    }
    uv_udp_t *h = c->shared_udp;
    if (!h) {
        if (to->sa_family == AF_INET6)
            h = c->own6_open ? &c->own6 : NULL;
        else
            h = c->own4_open ? &c->own4 : NULL;
    }
    if (!h)
        return SW_ERR_NOT_SUPPORTED;
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int rc = uv_udp_try_send(h, &b, 1, to);
    if (rc >= 0) {
        c->bytes_sent += len;
        return 0;
    }
    if (rc != UV_EAGAIN && rc != UV_ENOSYS)
        return rc;
    /* The socket is busy: queue a copy. */
    send_req *r = malloc(sizeof *r + len);
    if (!r)
        return SW_ERR_NOMEM;
    memcpy(r->data, buf, len);
    r->req.data = r;
    b = uv_buf_init((char *)r->data, (unsigned)len);
    rc = uv_udp_send(&r->req, h, &b, 1, to, on_sent);
    if (rc != 0) {
        free(r);
        return rc;
    }
    c->bytes_sent += len;
    return 0;
}

/* ---- the exchange ---- */

uint64_t sw__udp_tracker_retransmit_ms(unsigned n, int receive_timeout_s)
{
    uint64_t base = SW_UDP_RETRANSMIT_BASE_S;
    if (receive_timeout_s > 0 && (uint64_t)receive_timeout_s < base)
        base = (uint64_t)receive_timeout_s;
    if (n > SW_UDP_RETRANSMIT_MAX_N)
        n = SW_UDP_RETRANSMIT_MAX_N;
    return base * 1000 << n;
}

static void arm_timer(sw_tracker_job *job);
static void on_job_timer(uv_timer_t *t);

/* ---- pacing: at most SW_UDP_MAX_IN_FLIGHT requests out at once ---- */

static void enqueue(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    job->queued = true;
    job->queue_next = NULL;
    if (c->udp_queue_tail)
        c->udp_queue_tail->queue_next = job;
    else
        c->udp_queue_head = job;
    c->udp_queue_tail = job;
}

static void dequeue(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    sw_tracker_job *prev = NULL;
    for (sw_tracker_job *j = c->udp_queue_head; j; prev = j, j = j->queue_next) {
        if (j != job)
            continue;
        if (prev)
            prev->queue_next = j->queue_next;
        else
            c->udp_queue_head = j->queue_next;
        if (c->udp_queue_tail == j)
            c->udp_queue_tail = prev;
        break;
    }
    job->queued = false;
    job->queue_next = NULL;
}

static void on_pump(uv_timer_t *t);

/* A slot came free: start queued jobs on the next loop turn, so that their
 * outcomes never run inside another job's teardown. */
static void release_slot(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    if (job->flight_slot >= 0) {
        c->flight[job->flight_slot] = NULL;
        job->flight_slot = -1;
        c->udp_in_flight--;
        if (c->udp_queue_head && !c->closing)
            uv_timer_start(&c->udp_pump, on_pump, 0, 0);
    }
}

static int transmit(sw_tracker_job *job);

static void on_pump(uv_timer_t *t)
{
    sw_tracker_client *c = t->data;
    while (c->udp_queue_head && c->udp_in_flight < SW_UDP_MAX_IN_FLIGHT) {
        sw_tracker_job *job = c->udp_queue_head;
        dequeue(job);
        int rc = transmit(job);
        if (rc != 0)
            sw__tracker_job_fail(job, rc, 0, "could not send to the UDP tracker");
    }
}

static int transmit(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    const struct sockaddr *to = (const struct sockaddr *)&job->addr;
    if (job->flight_slot < 0) {
        if (c->udp_in_flight >= SW_UDP_MAX_IN_FLIGHT) {
            if (!job->queued)
                enqueue(job);
            arm_timer(job); /* only the deadline while queued */
            return 0;
        }
        int slot = 0;
        while (c->flight[slot])
            slot++;
        c->flight[slot] = job;
        job->flight_slot = slot;
        c->udp_in_flight++;
    }
    int rc;
    if (job->state == UDP_CONNECTING) {
        uint8_t pkt[SW_UDP_TRACKER_CONNECT_LEN];
        sw__udp_tracker_build_connect(pkt, job->tid);
        rc = udp_send(c, to, pkt, sizeof pkt);
    } else if (job->kind == SW_TRACKER_REQ_ANNOUNCE) {
        uint8_t pkt[SW_UDP_TRACKER_ANNOUNCE_LEN];
        sw__udp_tracker_build_announce(pkt, job->conn_id, job->tid, &job->params);
        rc = udp_send(c, to, pkt, sizeof pkt);
    } else {
        uint8_t pkt[16 + SW_TRACKER_HASH_LEN];
        const uint8_t(*hashes)[SW_TRACKER_HASH_LEN] = &job->params.info_hash;
        size_t n = sw__udp_tracker_build_scrape(pkt, job->conn_id, job->tid, hashes, 1);
        rc = udp_send(c, to, pkt, n);
    }
    if (rc == 0)
        arm_timer(job);
    return rc;
}

static int send_connect(sw_tracker_job *job)
{
    job->state = UDP_CONNECTING;
    job->tid = sw__tracker_client_random32(job->client);
    job->attempt = 0;
    return transmit(job);
}

static int send_request(sw_tracker_job *job, uint64_t conn_id)
{
    job->state = UDP_REQUESTING;
    job->conn_id = conn_id;
    job->tid = sw__tracker_client_random32(job->client);
    job->attempt = 0;
    return transmit(job);
}

/* The address is known: use a cached connection id, wait for one being
 * fetched, or fetch one. */
static int begin_exchange(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    udp_conn_entry *e = conn_find(c, (const struct sockaddr *)&job->addr, uv_now(c->loop));
    if (e && !e->pending)
        return send_request(job, e->conn_id);
    if (e) {
        job->state = UDP_WAITING;
        job->attempt = 0;
        arm_timer(job);
        return 0;
    }
    conn_put(c, &job->addr, 0, job->deadline, true);
    job->owns_pending = true;
    return send_connect(job);
}

static void arm_timer(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    uint64_t now = uv_now(c->loop);
    uint64_t left = job->deadline > now ? job->deadline - now : 0;
    uint64_t wait = left;
    if (job->state != UDP_RESOLVING && !job->queued) {
        int receive_s = sw__settings_int(c->settings, SW_SET_TRACKER_RECEIVE_TIMEOUT);
        uint64_t step = sw__udp_tracker_retransmit_ms(job->attempt, receive_s);
        if (step < wait)
            wait = step;
    }
    uv_timer_start(&job->timer, on_job_timer, wait, 0);
}

static void on_job_timer(uv_timer_t *t)
{
    sw_tracker_job *job = t->data;
    sw_tracker_client *c = job->client;
    uint64_t now = uv_now(c->loop);
    if (now >= job->deadline) {
        sw__tracker_job_fail(job, SW_ERR_TIMEOUT, 0,
                             job->state == UDP_RESOLVING ? "tracker host name lookup timed out"
                                                         : "no reply from the UDP tracker");
        return;
    }
    int rc = 0;
    if (job->queued) {
        arm_timer(job);
        return;
    }
    switch (job->state) {
    case UDP_RESOLVING:
        arm_timer(job);
        return;
    case UDP_WAITING:
        /* The other request's connect has not come back; fetch our own. */
        rc = send_connect(job);
        break;
    case UDP_CONNECTING:
        job->attempt++;
        rc = transmit(job);
        break;
    case UDP_REQUESTING:
        job->attempt++;
        if (!conn_lookup(c, (const struct sockaddr *)&job->addr, now)) {
            /* The connection id has expired (BEP 15: ask for a new one),
             * keeping the back-off where it is. */
            job->state = UDP_CONNECTING;
            job->tid = sw__tracker_client_random32(c);
            rc = transmit(job);
        } else {
            rc = transmit(job);
        }
        break;
    }
    if (rc != 0)
        sw__tracker_job_fail(job, rc, 0, "could not send to the UDP tracker");
}

/* A connection id arrived for addr: every request waiting on that address
 * goes on with it. Jobs can finish (and their callbacks cancel other jobs)
 * during the walk, so matching jobs are marked first and then taken one at
 * a time from the head of the live list. */
static void connection_ready(sw_tracker_client *c, const struct sockaddr_storage *addr,
                             uint64_t conn_id)
{
    size_t n = 0;
    for (sw_tracker_job *j = c->jobs; j; j = j->next) {
        j->conn_wake = j->url_kind == SW_TRACKER_URL_UDP &&
                       (j->state == UDP_CONNECTING || j->state == UDP_WAITING) &&
                       same_addr((const struct sockaddr *)&j->addr, (const struct sockaddr *)addr);
        n += j->conn_wake;
    }
    /* Each marked job is held by a reference while the others go on, so a
     * callback that cancels one leaves its memory in place until we are
     * done. Without memory for the list, walk from the head each time. */
    sw_tracker_job **v = n ? malloc(n * sizeof *v) : NULL;
    if (v) {
        size_t k = 0;
        for (sw_tracker_job *j = c->jobs; j && k < n; j = j->next) {
            if (j->conn_wake) {
                j->refs++;
                v[k++] = j;
            }
        }
        for (size_t i = 0; i < k; i++) {
            sw_tracker_job *j = v[i];
            if (!j->finished && j->conn_wake) {
                j->conn_wake = false;
                int rc = send_request(j, conn_id);
                if (rc != 0)
                    sw__tracker_job_fail(j, rc, 0, "could not send to the UDP tracker");
            }
        }
        for (size_t i = 0; i < k; i++)
            sw__tracker_job_unref(v[i]);
        free(v);
        return;
    }
    for (;;) {
        sw_tracker_job *j = c->jobs;
        while (j && !j->conn_wake)
            j = j->next;
        if (!j)
            break;
        j->conn_wake = false;
        int rc = send_request(j, conn_id);
        if (rc != 0)
            sw__tracker_job_fail(j, rc, 0, "could not send to the UDP tracker");
    }
}

static void announce_reply(sw_tracker_job *job, const sw_udp_tracker_reply *rep)
{
    sw_announce_response resp;
    memset(&resp, 0, sizeof resp);
    resp.interval =
        rep->interval > SW_TRACKER_MAX_INTERVAL ? SW_TRACKER_MAX_INTERVAL : (int64_t)rep->interval;
    resp.min_interval = -1;
    resp.complete = rep->seeders > INT32_MAX ? INT32_MAX : (int64_t)rep->seeders;
    resp.incomplete = rep->leechers > INT32_MAX ? INT32_MAX : (int64_t)rep->leechers;
    resp.downloaded = -1;
    size_t stride = rep->peer_family == AF_INET6 ? 18 : 6;
    size_t entries = rep->peers_len / stride;
    if (entries > 0) {
        resp.peers = calloc(entries, sizeof *resp.peers);
        if (!resp.peers) {
            sw__tracker_job_fail(job, SW_ERR_NOMEM, 0, NULL);
            return;
        }
        resp.num_peers =
            sw__tracker_decode_compact(rep->peers, rep->peers_len, rep->peer_family, resp.peers);
    }
    resp.num_ignored = entries - resp.num_peers + (rep->peers_trailing ? 1 : 0);
    sw_tracker_result r;
    memset(&r, 0, sizeof r);
    r.announce = &resp;
    r.retry_after_s = -1;
    sw__tracker_job_finish(job, &r);
    sw__announce_response_free(&resp);
}

static void scrape_reply(sw_tracker_job *job, const sw_udp_tracker_reply *rep)
{
    if (rep->num_scrape < 1) {
        sw__tracker_job_fail(job, SW_ERR_TRACKER_BAD_RESPONSE, 0,
                             "UDP scrape reply without entries");
        return;
    }
    sw_scrape_response s = {
        .complete = sw__load_be32(rep->scrape),
        .downloaded = sw__load_be32(rep->scrape + 4),
        .incomplete = sw__load_be32(rep->scrape + 8),
        .failure_reason = NULL,
    };
    sw_tracker_result r;
    memset(&r, 0, sizeof r);
    r.scrape = &s;
    r.retry_after_s = -1;
    sw__tracker_job_finish(job, &r);
}

static void on_reply(sw_tracker_job *job, const struct sockaddr *from, const uint8_t *data,
                     size_t len)
{
    sw_tracker_client *c = job->client;
    uint32_t expected = job->state == UDP_CONNECTING           ? SW_UDP_ACTION_CONNECT
                        : job->kind == SW_TRACKER_REQ_ANNOUNCE ? SW_UDP_ACTION_ANNOUNCE
                                                               : SW_UDP_ACTION_SCRAPE;
    sw_udp_tracker_reply rep;
    char err[SW_TRACKER_ERRLEN];
    int rc = sw__udp_tracker_parse(data, len, from->sa_family, job->tid, expected, &rep, err);
    if (rc == SW_ERR_TRACKER_FAILURE) {
        /* Often "connection id mismatch": make the next request reconnect. */
        conn_drop(c, from);
        char *text = sw__tracker_text_copy(rep.message, rep.message_len);
        sw__tracker_job_fail(job, rc, 0, text && *text ? text : "the tracker sent an error");
        free(text);
        return;
    }
    if (rc != 0) {
        sw__tracker_job_fail(job, rc, 0, err);
        return;
    }
    if (job->state == UDP_CONNECTING) {
        uint64_t now = uv_now(c->loop);
        struct sockaddr_storage addr = job->addr;
        job->owns_pending = false;
        conn_put(c, &addr, rep.connection_id, now + SW_UDP_CONN_ID_LIFETIME_MS, false);
        connection_ready(c, &addr, rep.connection_id);
        return;
    }
    if (job->kind == SW_TRACKER_REQ_ANNOUNCE)
        announce_reply(job, &rep);
    else
        scrape_reply(job, &rep);
}

bool sw__udp_tracker_on_packet(sw_tracker_client *c, const struct sockaddr *from,
                               const uint8_t *data, size_t len)
{
    uint32_t action, tid;
    if (!sw__udp_tracker_peek(data, len, &action, &tid))
        return false;
    /* Only jobs holding a slot have a packet out. */
    for (int i = 0; i < SW_UDP_MAX_IN_FLIGHT; i++) {
        sw_tracker_job *j = c->flight[i];
        if (!j || j->tid != tid || (j->state != UDP_CONNECTING && j->state != UDP_REQUESTING) ||
            !same_addr((const struct sockaddr *)&j->addr, from))
            continue;
        if (c->shared_udp || c->udp_send)
            c->bytes_received += len;
        on_reply(j, from, data, len);
        return true;
    }
    return false;
}

/* ---- resolution and start ---- */

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    sw_tracker_job *job = req->data;
    sw_tracker_client *c = job->client;
    job->gai_pending = false;
    if (job->finished) {
        uv_freeaddrinfo(res);
        sw__tracker_job_unref(job);
        return;
    }
    if (status < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "could not resolve the tracker's host: %s", uv_strerror(status));
        sw__tracker_job_fail(job, status, 0, msg);
    } else {
        /* One address is used: an IPv4 one if there is one (most trackers
         * listen there; "localhost" often resolves to ::1 first), else the
         * first IPv6 one. */
        const struct addrinfo *pick = NULL;
        for (int pass = 0; pass < 2 && !pick; pass++) {
            int want = pass == 0 ? AF_INET : AF_INET6;
            for (const struct addrinfo *ai = res; ai && !pick; ai = ai->ai_next)
                if (ai->ai_family == want && (family_bit(want) & c->families) &&
                    ai->ai_addrlen <= sizeof job->addr)
                    pick = ai;
        }
        if (!pick) {
            sw__tracker_job_fail(job, SW_ERR_NOT_SUPPORTED, 0,
                                 "the tracker has no address of a family we can reach");
        } else {
            memset(&job->addr, 0, sizeof job->addr);
            memcpy(&job->addr, pick->ai_addr, pick->ai_addrlen);
            int rc = begin_exchange(job);
            if (rc != 0)
                sw__tracker_job_fail(job, rc, 0, "could not send to the UDP tracker");
        }
    }
    uv_freeaddrinfo(res);
    sw__tracker_job_unref(job);
}

static bool tracker_proxy_set(const sw_settings *s)
{
    return sw__settings_bool(s, SW_SET_PROXY_TRACKER_CONNECTIONS) &&
           sw__settings_int(s, SW_SET_PROXY_TYPE) != SW_PROXY_NONE;
}

static void on_job_timer_closed(uv_handle_t *h)
{
    sw__tracker_job_unref(h->data);
}

int sw__udp_tracker_start(sw_tracker_job *job)
{
    sw_tracker_client *c = job->client;
    if (tracker_proxy_set(c->settings))
        return SW_ERR_NOT_SUPPORTED; /* never bypass a proxy the user set */
    char host[256];
    uint16_t port;
    int rc = sw__tracker_url_host_port(job->url, 80, host, sizeof host, &port);
    if (rc != 0)
        return rc;

    uv_timer_init(c->loop, &job->timer);
    job->timer.data = job;
    job->timer_open = true;
    job->refs++; /* released by on_job_timer_closed */

    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    if (uv_ip4_addr(host, port, &v4) == 0 || uv_ip6_addr(host, port, &v6) == 0) {
        const struct sockaddr *sa = uv_ip4_addr(host, port, &v4) == 0
                                        ? (const struct sockaddr *)&v4
                                        : (const struct sockaddr *)&v6;
        if (!(family_bit(sa->sa_family) & c->families))
            return SW_ERR_NOT_SUPPORTED;
        memset(&job->addr, 0, sizeof job->addr);
        memcpy(&job->addr, sa, sa->sa_family == AF_INET ? sizeof v4 : sizeof v6);
        return begin_exchange(job);
    }

    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = c->families == SW_TRACKER_FAMILY_V4   ? AF_INET
                      : c->families == SW_TRACKER_FAMILY_V6 ? AF_INET6
                                                            : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    char port_text[8];
    snprintf(port_text, sizeof port_text, "%u", (unsigned)port);
    job->gai.data = job;
    job->state = UDP_RESOLVING;
    rc = uv_getaddrinfo(c->loop, &job->gai, on_resolved, host, port_text, &hints);
    if (rc != 0)
        return rc;
    job->gai_pending = true;
    job->refs++; /* released by on_resolved */
    arm_timer(job);
    return 0;
}

void sw__udp_tracker_cancel(sw_tracker_job *job)
{
    if (job->queued)
        dequeue(job);
    release_slot(job);
    conn_pending_clear(job);
    if (job->timer_open) {
        job->timer_open = false;
        uv_timer_stop(&job->timer);
        uv_close((uv_handle_t *)&job->timer, on_job_timer_closed);
    }
    if (job->gai_pending)
        uv_cancel((uv_req_t *)&job->gai); /* on_resolved still runs and drops its reference */
}

/* ---- the client's own sockets ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    sw_tracker_client *c = h->data;
    *buf = uv_buf_init((char *)c->recv_buf, SW_TRACKER_UDP_BUFSIZE);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    sw_tracker_client *c = h->data;
    if (nread <= 0 || !addr || (flags & UV_UDP_PARTIAL) || c->closing)
        return;
    c->bytes_received += (uint64_t)nread;
    sw__udp_tracker_on_packet(c, addr, (const uint8_t *)buf->base, (size_t)nread);
}

static void on_own_closed(uv_handle_t *h)
{
    sw__tracker_client_handle_closed(h->data);
}

static int open_own(sw_tracker_client *c, uv_udp_t *h, bool *open_flag, const char *ip,
                    unsigned flags)
{
    int rc = uv_udp_init(c->loop, h);
    if (rc != 0)
        return rc;
    h->data = c;
    *open_flag = true;
    c->open_handles++;
    struct sockaddr_storage ss;
    if (flags & UV_UDP_IPV6ONLY)
        rc = uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss);
    else
        rc = uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss);
    if (rc == 0)
        rc = uv_udp_bind(h, (const struct sockaddr *)&ss, flags);
    if (rc == 0) {
        /* Best effort: a bigger buffer rides out bursts of replies. */
        int size = SW_UDP_RECV_BUFFER;
        uv_recv_buffer_size((uv_handle_t *)h, &size);
        rc = uv_udp_recv_start(h, on_alloc, on_recv);
    }
    if (rc != 0) {
        *open_flag = false;
        uv_close((uv_handle_t *)h, on_own_closed);
    }
    return rc;
}

static void on_pump_closed(uv_handle_t *h)
{
    sw__tracker_client_handle_closed(h->data);
}

int sw__udp_tracker_init(sw_tracker_client *c)
{
    uv_timer_init(c->loop, &c->udp_pump);
    c->udp_pump.data = c;
    c->open_handles++;
    if (c->shared_udp) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_udp_getsockname(c->shared_udp, (struct sockaddr *)&ss, &len) == 0 &&
            ss.ss_family == AF_INET6)
            c->families = SW_TRACKER_FAMILY_V6;
        else
            c->families = SW_TRACKER_FAMILY_V4;
        return 0;
    }
    if (c->udp_send)
        return 0;
    c->recv_buf = malloc(SW_TRACKER_UDP_BUFSIZE);
    if (!c->recv_buf)
        return SW_ERR_NOMEM;
    int rc = open_own(c, &c->own4, &c->own4_open, "0.0.0.0", 0);
    if (rc != 0)
        return rc;
    c->families = SW_TRACKER_FAMILY_V4;
    /* IPv6 is optional: hosts without it still reach IPv4 trackers. */
    if (open_own(c, &c->own6, &c->own6_open, "::", UV_UDP_IPV6ONLY) == 0)
        c->families |= SW_TRACKER_FAMILY_V6;
    return 0;
}

void sw__udp_tracker_shutdown(sw_tracker_client *c)
{
    uv_timer_stop(&c->udp_pump);
    uv_close((uv_handle_t *)&c->udp_pump, on_pump_closed);
    if (c->own4_open) {
        c->own4_open = false;
        uv_close((uv_handle_t *)&c->own4, on_own_closed);
    }
    if (c->own6_open) {
        c->own6_open = false;
        uv_close((uv_handle_t *)&c->own6, on_own_closed);
    }
}
