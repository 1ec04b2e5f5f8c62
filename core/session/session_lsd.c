/* Local service discovery (BEP 14): a UDP socket per address family bound
 * to port 6771 and joined to the LSD group (239.192.152.143, and
 * ff15::efc0:988f where IPv6 multicast works), announces of every active
 * public torrent, and the announces of others turned into peers (source
 * LSD) of our torrents with the same info-hash.
 *
 * Rate limits. A torrent is announced when it is first seen and then every
 * ANNOUNCE_INTERVAL_MS; the session sends at most one message per
 * MIN_GAP_MS (BEP 14: no more than one announce per minute), carrying up to
 * SW_LSD_MAX_HASHES due torrents, so with many torrents they go round-robin.
 * Received messages are taken at most RECV_BURST at once, refilled by
 * RECV_PER_SEC, so a flood on the group costs little.
 *
 * Ownership. ses->lsd lives from the first start to shutdown; its sockets
 * and timer close with it, and the state is freed by the last close
 * callback. A message we sent carries a random cookie, so our own announces
 * coming back over the multicast loop are ignored. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "lsd_msg.h"
#include "session_index.h"
#include "session_lsd.h"

#define SCAN_INTERVAL_MS 1000
#define ANNOUNCE_INTERVAL_MS (5 * 60 * 1000)
#define MIN_GAP_MS (60 * 1000)
#define RECV_BURST 20
#define RECV_PER_SEC 10
/* Announces stay on the local network: a router does not forward them. */
#define MULTICAST_TTL 1

typedef struct lsd_torrent {
    uint64_t id;
    uint64_t next_ms; /* next announce; 0 = at once */
} lsd_torrent;

typedef struct lsd_socket {
    uv_udp_t h;
    struct sw_session_lsd *owner;
    int family;
    bool open;  /* initialised (closing it is due) */
    bool ready; /* bound and joined: sends and receives */
} lsd_socket;

typedef struct lsd_send {
    uv_udp_send_t req;
    uv_buf_t buf;
    char data[SW_LSD_MAX_MESSAGE];
} lsd_send;

struct sw_session_lsd {
    sw_session *ses;
    bool wanted; /* started by hand or as a default feature */
    bool enable_seen;
    uv_timer_t timer;
    lsd_socket sock[2]; /* IPv4, IPv6 */
    int closing;        /* handles whose close callback is pending */
    char cookie[17];
    lsd_torrent *torrents;
    size_t num_torrents, cap_torrents;
    uint64_t last_send_ms;
    bool sent_once;
    uint16_t announced_port;
    double recv_tokens;
    uint64_t recv_refill_ms;
    uint8_t recv_buf[SW_LSD_MAX_MESSAGE + 1];
};

static uint64_t now_ms(sw_session *ses)
{
    return uv_now(&ses->loop);
}

/* ---- sockets ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    lsd_socket *s = h->data;
    buf->base = (char *)s->owner->recv_buf;
    buf->len = sizeof s->owner->recv_buf;
}

static bool take_recv_token(struct sw_session_lsd *l)
{
    uint64_t now = now_ms(l->ses);
    if (now > l->recv_refill_ms) {
        l->recv_tokens += (double)(now - l->recv_refill_ms) * RECV_PER_SEC / 1000.0;
        if (l->recv_tokens > RECV_BURST)
            l->recv_tokens = RECV_BURST;
    }
    l->recv_refill_ms = now;
    if (l->recv_tokens < 1.0)
        return false;
    l->recv_tokens -= 1.0;
    return true;
}

static void add_announced_peer(struct sw_session_lsd *l, const sw_sha1 *ih, const sw_endpoint *ep)
{
    sw_session *ses = l->ses;
    sw_torrent *t = sw__session_index_find(ses, ih);
    if (!t || t->removed || !t->swarm_ready)
        return;
    if (t->ti && sw_torrent_info_is_private(t->ti))
        return;
    if (sw__swarm_add_peer(&t->swarm, ep, SW_PEER_SRC_LSD, false) < 0)
        return;
    sw_alert *a = sw__session_torrent_alert(ses, t, SW_ALERT_LSD_PEER, false);
    if (!a)
        return;
    sw__endpoint_to_alert_peer(ep, &a->payload.peer.peer);
    char text[SW_ENDPOINT_STRLEN];
    sw__endpoint_format(ep, text, sizeof text);
    sw__alert_set_message(a, "%s: local service discovery found peer %s", t->name, text);
    sw__session_post_alert(ses, a);
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    (void)buf;
    lsd_socket *s = h->data;
    struct sw_session_lsd *l = s->owner;
    if (n <= 0 || !from || (flags & UV_UDP_PARTIAL) || !l->wanted || l->ses->shutting_down)
        return;
    if (!take_recv_token(l))
        return;
    sw_lsd_msg msg;
    if (sw__lsd_parse(l->recv_buf, (size_t)n, &msg) < 0)
        return;
    if (msg.has_cookie && strcmp(msg.cookie, l->cookie) == 0)
        return; /* our own announce, looped back */
    sw_endpoint ep;
    if (sw__endpoint_from_sockaddr(&ep, from) < 0)
        return;
    ep.port = msg.port;
    for (size_t i = 0; i < msg.num_hashes; i++)
        add_announced_peer(l, &msg.hashes[i], &ep);
}

static int open_socket(struct sw_session_lsd *l, lsd_socket *s, int family)
{
    sw_session *ses = l->ses;
    s->owner = l;
    s->family = family;
    int rc = uv_udp_init_ex(&ses->loop, &s->h, (unsigned)family);
    if (rc < 0)
        return rc;
    s->h.data = s;
    s->open = true;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const char *group = family == AF_INET ? SW_LSD_GROUP_V4 : SW_LSD_GROUP_V6;
    if (family == AF_INET)
        rc = uv_ip4_addr("0.0.0.0", SW_LSD_PORT, (struct sockaddr_in *)&ss);
    else
        rc = uv_ip6_addr("::", SW_LSD_PORT, (struct sockaddr_in6 *)&ss);
    if (rc == 0)
        rc = uv_udp_bind(&s->h, (const struct sockaddr *)&ss,
                         UV_UDP_REUSEADDR | (family == AF_INET6 ? UV_UDP_IPV6ONLY : 0));
    if (rc == 0)
        rc = uv_udp_set_membership(&s->h, group, NULL, UV_JOIN_GROUP);
    if (rc == 0)
        rc = uv_udp_set_multicast_ttl(&s->h, MULTICAST_TTL);
    /* Other clients on this host hear us only over the multicast loop. */
    if (rc == 0)
        rc = uv_udp_set_multicast_loop(&s->h, 1);
    if (rc == 0)
        rc = uv_udp_recv_start(&s->h, on_alloc, on_recv);
    if (rc == 0)
        s->ready = true;
    return rc;
}

static void free_state(struct sw_session_lsd *l)
{
    free(l->torrents);
    free(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sw_session_lsd *owner;
    if (h->type == UV_TIMER)
        owner = h->data;
    else
        owner = ((lsd_socket *)h->data)->owner;
    if (--owner->closing == 0 && !owner->ses->lsd)
        free_state(owner);
}

static void close_sockets(struct sw_session_lsd *l)
{
    for (int i = 0; i < 2; i++) {
        lsd_socket *s = &l->sock[i];
        if (!s->open)
            continue;
        s->open = false;
        s->ready = false;
        l->closing++;
        uv_close((uv_handle_t *)&s->h, on_handle_closed);
    }
}

static bool any_ready(const struct sw_session_lsd *l)
{
    return l->sock[0].ready || l->sock[1].ready;
}

static bool sockets_closing(const struct sw_session_lsd *l)
{
    return l->closing > 0;
}

static void open_sockets(struct sw_session_lsd *l)
{
    /* A socket still closing from a stop keeps its port until the loop
     * has run its callback; the next scan opens again. */
    if (sockets_closing(l) || l->sock[0].open || l->sock[1].open)
        return;
    (void)open_socket(l, &l->sock[0], AF_INET);
    /* IPv6 multicast is often missing (no route, no interface): LSD then
     * runs on IPv4 alone. */
    if (open_socket(l, &l->sock[1], AF_INET6) < 0 && l->sock[1].open) {
        l->sock[1].open = false;
        l->closing++;
        uv_close((uv_handle_t *)&l->sock[1].h, on_handle_closed);
    }
    if (l->sock[0].open && !l->sock[0].ready) {
        l->sock[0].open = false;
        l->closing++;
        uv_close((uv_handle_t *)&l->sock[0].h, on_handle_closed);
    }
    /* Every torrent announces on the new sockets as soon as allowed. */
    for (size_t i = 0; i < l->num_torrents; i++)
        l->torrents[i].next_ms = 0;
}

/* ---- announcing ---- */

static lsd_torrent *find_entry(struct sw_session_lsd *l, uint64_t id)
{
    for (size_t i = 0; i < l->num_torrents; i++)
        if (l->torrents[i].id == id)
            return &l->torrents[i];
    return NULL;
}

static lsd_torrent *add_entry(struct sw_session_lsd *l, uint64_t id)
{
    if (l->num_torrents == l->cap_torrents) {
        size_t cap = l->cap_torrents ? l->cap_torrents * 2 : 16;
        lsd_torrent *n = realloc(l->torrents, cap * sizeof *n);
        if (!n)
            return NULL;
        l->torrents = n;
        l->cap_torrents = cap;
    }
    lsd_torrent *e = &l->torrents[l->num_torrents++];
    e->id = id;
    e->next_ms = 0;
    return e;
}

static bool lsd_wanted_for(const sw_torrent *t)
{
    if (t->removed || !t->swarm_ready || !t->swarm.active)
        return false;
    return !(t->ti && sw_torrent_info_is_private(t->ti));
}

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req->data);
}

static void send_to_group(lsd_socket *s, const sw_sha1 *hashes, size_t n, uint16_t port)
{
    lsd_send *m = malloc(sizeof *m);
    if (!m)
        return;
    size_t len;
    if (sw__lsd_format(m->data, sizeof m->data, s->family, port, hashes, n, s->owner->cookie,
                       &len) < 0) {
        free(m);
        return;
    }
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    int rc = s->family == AF_INET
                 ? uv_ip4_addr(SW_LSD_GROUP_V4, SW_LSD_PORT, (struct sockaddr_in *)&to)
                 : uv_ip6_addr(SW_LSD_GROUP_V6, SW_LSD_PORT, (struct sockaddr_in6 *)&to);
    m->buf = uv_buf_init(m->data, (unsigned)len);
    m->req.data = m;
    if (rc == 0)
        rc = uv_udp_send(&m->req, &s->h, &m->buf, 1, (const struct sockaddr *)&to, on_sent);
    if (rc < 0)
        free(m);
}

static void announce_torrents(struct sw_session_lsd *l)
{
    sw_session *ses = l->ses;
    uint64_t now = now_ms(ses);
    for (size_t i = 0; i < l->num_torrents;) {
        if (!sw__session_find(ses, l->torrents[i].id))
            l->torrents[i] = l->torrents[--l->num_torrents];
        else
            i++;
    }
    for (sw_torrent *t = ses->torrents; t; t = t->next)
        if (lsd_wanted_for(t) && !find_entry(l, t->id))
            (void)add_entry(l, t->id);
    if (!any_ready(l) || ses->env.listen_port == 0)
        return;
    if (ses->env.listen_port != l->announced_port) {
        l->announced_port = ses->env.listen_port;
        for (size_t i = 0; i < l->num_torrents; i++)
            l->torrents[i].next_ms = 0;
    }
    if (l->sent_once && now - l->last_send_ms < MIN_GAP_MS)
        return;
    sw_sha1 hashes[SW_LSD_MAX_HASHES];
    lsd_torrent *picked[SW_LSD_MAX_HASHES];
    size_t n = 0;
    for (size_t i = 0; i < l->num_torrents && n < SW_LSD_MAX_HASHES; i++) {
        lsd_torrent *e = &l->torrents[i];
        sw_torrent *t = sw__session_find(ses, e->id);
        if (!t || !lsd_wanted_for(t) || e->next_ms > now)
            continue;
        hashes[n] = t->info_hash;
        picked[n++] = e;
    }
    if (n == 0)
        return;
    for (int i = 0; i < 2; i++)
        if (l->sock[i].ready)
            send_to_group(&l->sock[i], hashes, n, ses->env.listen_port);
    for (size_t i = 0; i < n; i++)
        picked[i]->next_ms = now + ANNOUNCE_INTERVAL_MS;
    l->last_send_ms = now;
    l->sent_once = true;
}

/* ---- the periodic scan ---- */

static void scan(struct sw_session_lsd *l)
{
    sw_session *ses = l->ses;
    if (ses->shutting_down)
        return;
    bool enable = sw__settings_bool(ses->settings, SW_SET_ENABLE_LSD);
    if (enable != l->enable_seen) {
        l->enable_seen = enable;
        l->wanted = enable;
    }
    if (!l->wanted) {
        close_sockets(l);
        return;
    }
    open_sockets(l);
    announce_torrents(l);
}

static void on_timer(uv_timer_t *t)
{
    scan(t->data);
}

static struct sw_session_lsd *get_state(sw_session *ses)
{
    if (ses->lsd)
        return ses->lsd;
    if (ses->shutting_down)
        return NULL;
    struct sw_session_lsd *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->ses = ses;
    uint8_t raw[8];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        free(l);
        return NULL;
    }
    sw_hex_encode(raw, sizeof raw, l->cookie);
    l->recv_tokens = RECV_BURST;
    l->recv_refill_ms = now_ms(ses);
    if (uv_timer_init(&ses->loop, &l->timer) < 0) {
        free(l);
        return NULL;
    }
    l->timer.data = l;
    uv_timer_start(&l->timer, on_timer, SCAN_INTERVAL_MS, SCAN_INTERVAL_MS);
    ses->lsd = l;
    return l;
}

void sw__session_lsd_shutdown(sw_session *ses)
{
    struct sw_session_lsd *l = ses->lsd;
    if (!l)
        return;
    ses->lsd = NULL;
    l->wanted = false;
    close_sockets(l);
    uv_timer_stop(&l->timer);
    l->closing++;
    uv_close((uv_handle_t *)&l->timer, on_handle_closed);
}

/* ---- public functions ---- */

static int start_fn(sw_session *ses, void *arg)
{
    (void)arg;
    struct sw_session_lsd *l = get_state(ses);
    if (!l)
        return ses->shutting_down ? SW_ERR_ABORTED : SW_ERR_NOMEM;
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_LSD))
        sw_settings_set_bool(ses->settings, SW_SET_ENABLE_LSD, true);
    l->enable_seen = true;
    l->wanted = true;
    /* The first scan (and announce) need not wait for the timer. */
    scan(l);
    return 0;
}

int sw_session_start_lsd(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, start_fn, NULL);
}

static int stop_fn(sw_session *ses, void *arg)
{
    (void)arg;
    sw_settings_set_bool(ses->settings, SW_SET_ENABLE_LSD, false);
    struct sw_session_lsd *l = ses->lsd;
    if (!l)
        return 0;
    l->wanted = false;
    l->enable_seen = false;
    close_sockets(l);
    return 0;
}

int sw_session_stop_lsd(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, stop_fn, NULL);
}

static int running_fn(sw_session *ses, void *arg)
{
    (void)arg;
    return ses->lsd && ses->lsd->wanted && any_ready(ses->lsd) ? 1 : 0;
}

bool sw_session_is_lsd_running(sw_session *ses)
{
    return ses && sw__session_run(ses, running_fn, NULL) == 1;
}

int sw__session_lsd_start_default(sw_session *ses)
{
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_LSD))
        return 0;
    return sw_session_start_lsd(ses);
}
