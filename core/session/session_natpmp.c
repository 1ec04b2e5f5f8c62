/* NAT-PMP (RFC 6886): a UDP socket that talks to the default gateway's
 * port 5351. It asks for the external address, maps the listen port for
 * UDP and TCP (lifetime MAP_LIFETIME_S), renews each mapping when half its
 * granted lifetime has passed, and deletes the mappings when stopped.
 * Requests are sent again after 250 ms, doubling, up to MAX_TRIES times
 * (RFC 6886 3.1), then the mapping fails with a portmap_error alert.
 *
 * The gateway is the default route's from /proc/net/route. Tests point it
 * elsewhere with CSWARM_TEST_NATPMP_GATEWAY=IP:PORT (a responder on
 * loopback), so they never talk to a real router.
 *
 * Ownership. ses->natpmp lives from the first start to shutdown; the timer
 * and socket close with it and the last close callback frees it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "natpmp_msg.h"
#include "session_natpmp.h"

#define TICK_MS 50
#define FIRST_RETRY_MS 250
#define MAX_TRIES 9
#define MAP_LIFETIME_S 7200
#define GATEWAY_ENV "CSWARM_TEST_NATPMP_GATEWAY"

enum { REQ_EXTERNAL = 0, REQ_UDP = 1, REQ_TCP = 2, NUM_REQ = 3 };
enum { ST_IDLE, ST_PENDING, ST_DONE, ST_FAILED };

typedef struct natpmp_req {
    int state;
    int tries;
    uint64_t next_ms; /* next send (pending) or renewal (done) */
    uint16_t port;    /* the internal port mapped (the listen port) */
    uint16_t external_port;
    bool reported;
} natpmp_req;

struct sw_session_natpmp {
    sw_session *ses;
    bool wanted;
    bool enable_seen;
    uv_timer_t timer;
    uv_udp_t sock;
    bool sock_open;
    bool sock_closing; /* the socket's close callback is pending */
    int closing;
    struct sockaddr_in gateway;
    natpmp_req req[NUM_REQ];
    uint8_t external_ip[4];
    bool have_external;
    uint8_t recv_buf[64];
};

static uint64_t now_ms(sw_session *ses)
{
    return uv_now(&ses->loop);
}

/* ---- the gateway ---- */

static int default_gateway(struct sockaddr_in *out)
{
    memset(out, 0, sizeof *out);
    const char *env = getenv(GATEWAY_ENV);
    if (env && *env) {
        char ip[64];
        unsigned port;
        if (sscanf(env, "%63[0-9.]:%u", ip, &port) != 2 || port == 0 || port > 65535)
            return SW_ERR_INVALID_ARG;
        return uv_ip4_addr(ip, (int)port, out);
    }
    FILE *f = fopen("/proc/net/route", "r");
    if (!f)
        return SW_ERR_NOT_FOUND;
    char line[256];
    int rc = SW_ERR_NOT_FOUND;
    while (fgets(line, sizeof line, f)) {
        char ifname[64];
        unsigned dest, gw, flags;
        if (sscanf(line, "%63s %x %x %x", ifname, &dest, &gw, &flags) != 4)
            continue;
        /* The default route through a gateway (RTF_UP | RTF_GATEWAY). */
        if (dest == 0 && (flags & 0x3) == 0x3 && gw != 0) {
            out->sin_family = AF_INET;
            out->sin_addr.s_addr = gw; /* the file holds it in network order */
            out->sin_port = htons(SW_NATPMP_PORT);
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* ---- alerts ---- */

static void post_map_alert(struct sw_session_natpmp *n, int which, int error, const char *why)
{
    sw_session *ses = n->ses;
    sw_alert_type type = error ? SW_ALERT_PORTMAP_ERROR : SW_ALERT_PORTMAP;
    sw_alert *a = sw__session_torrent_alert(ses, NULL, type, false);
    if (!a)
        return;
    const char *proto = which == REQ_TCP ? "TCP" : "UDP";
    a->error = error;
    a->payload.portmap.mapping = which == REQ_TCP ? 0 : 1;
    a->payload.portmap.protocol = which == REQ_TCP ? SW_PORTMAP_TCP : SW_PORTMAP_UDP;
    a->payload.portmap.map_type = SW_PORTMAP_NATPMP;
    a->payload.portmap.external_port = n->req[which].external_port;
    if (error)
        sw__alert_set_message(a, "NAT-PMP: mapping %s port %u failed: %s", proto,
                              (unsigned)n->req[which].port, why);
    else
        sw__alert_set_message(a, "NAT-PMP: mapped %s port %u to external port %u", proto,
                              (unsigned)n->req[which].port, (unsigned)n->req[which].external_port);
    sw__session_post_alert(ses, a);
}

static void post_external_ip(struct sw_session_natpmp *n)
{
    sw_alert *a = sw__session_torrent_alert(n->ses, NULL, SW_ALERT_EXTERNAL_IP, false);
    if (!a)
        return;
    snprintf(a->payload.portmap.external_ip, sizeof a->payload.portmap.external_ip, "%u.%u.%u.%u",
             n->external_ip[0], n->external_ip[1], n->external_ip[2], n->external_ip[3]);
    a->payload.portmap.map_type = SW_PORTMAP_NATPMP;
    sw__alert_set_message(a, "NAT-PMP: external IP address %s", a->payload.portmap.external_ip);
    sw__session_post_alert(n->ses, a);
}

/* ---- sending ---- */

static void send_bytes(struct sw_session_natpmp *n, const uint8_t *data, size_t len)
{
    if (!n->sock_open)
        return;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    /* Small and rare: a failed send is retried by the request's timer. */
    (void)uv_udp_try_send(&n->sock, &b, 1, (const struct sockaddr *)&n->gateway);
}

static void send_request(struct sw_session_natpmp *n, int which, uint32_t lifetime)
{
    uint8_t buf[12];
    size_t len;
    if (which == REQ_EXTERNAL)
        len = sw__natpmp_external_request(buf);
    else
        len = sw__natpmp_map_request(
            buf, which == REQ_TCP ? SW_NATPMP_OP_MAP_TCP : SW_NATPMP_OP_MAP_UDP, n->req[which].port,
            lifetime ? n->req[which].port : 0, lifetime);
    send_bytes(n, buf, len);
}

static void start_request(natpmp_req *r)
{
    r->state = ST_PENDING;
    r->tries = 0;
    r->next_ms = 0;
}

/* ---- replies ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct sw_session_natpmp *n = h->data;
    buf->base = (char *)n->recv_buf;
    buf->len = sizeof n->recv_buf;
}

static void on_reply(struct sw_session_natpmp *n, const sw_natpmp_reply *r)
{
    uint64_t now = now_ms(n->ses);
    int which = r->op == SW_NATPMP_OP_EXTERNAL  ? REQ_EXTERNAL
                : r->op == SW_NATPMP_OP_MAP_TCP ? REQ_TCP
                                                : REQ_UDP;
    natpmp_req *q = &n->req[which];
    if (q->state != ST_PENDING)
        return;
    if (which != REQ_EXTERNAL && r->result == 0 && r->internal_port != q->port)
        return; /* about a port we no longer map */
    if (r->result != 0) {
        q->state = ST_FAILED;
        if (which == REQ_EXTERNAL)
            return;
        post_map_alert(n, which, SW_ERR_PORTMAP_REFUSED, sw__natpmp_result_text(r->result));
        return;
    }
    q->state = ST_DONE;
    if (which == REQ_EXTERNAL) {
        bool changed = !n->have_external || memcmp(n->external_ip, r->external_ip, 4) != 0;
        memcpy(n->external_ip, r->external_ip, 4);
        n->have_external = true;
        if (changed)
            post_external_ip(n);
        return;
    }
    uint32_t life = r->lifetime ? r->lifetime : 1;
    /* Renew at half the granted lifetime (RFC 6886 3.3). */
    q->next_ms = now + (uint64_t)life * 500;
    bool changed = !q->reported || q->external_port != r->external_port;
    q->external_port = r->external_port;
    q->reported = true;
    if (changed)
        post_map_alert(n, which, 0, NULL);
}

static void on_recv(uv_udp_t *h, ssize_t len, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    (void)buf;
    struct sw_session_natpmp *n = h->data;
    if (len <= 0 || !from || (flags & UV_UDP_PARTIAL) || !n->wanted)
        return;
    /* Only the gateway's answers count (RFC 6886 3.1). */
    const struct sockaddr_in *sin = (const struct sockaddr_in *)from;
    if (from->sa_family != AF_INET || sin->sin_addr.s_addr != n->gateway.sin_addr.s_addr ||
        sin->sin_port != n->gateway.sin_port)
        return;
    sw_natpmp_reply r;
    if (sw__natpmp_parse_reply(n->recv_buf, (size_t)len, &r) < 0)
        return;
    on_reply(n, &r);
}

/* ---- life ---- */

static void on_closed(uv_handle_t *h)
{
    struct sw_session_natpmp *n = h->data;
    if (h == (uv_handle_t *)&n->sock)
        n->sock_closing = false;
    if (--n->closing == 0 && n->ses->natpmp != n)
        free(n);
}

static void delete_mappings(struct sw_session_natpmp *n)
{
    for (int i = REQ_UDP; i <= REQ_TCP; i++) {
        natpmp_req *q = &n->req[i];
        if (q->reported && q->port)
            send_request(n, i, 0);
        q->state = ST_IDLE;
        q->reported = false;
    }
    n->req[REQ_EXTERNAL].state = ST_IDLE;
}

static void close_socket(struct sw_session_natpmp *n)
{
    if (!n->sock_open)
        return;
    delete_mappings(n);
    n->sock_open = false;
    n->sock_closing = true;
    n->closing++;
    uv_close((uv_handle_t *)&n->sock, on_closed);
}

static int open_socket(struct sw_session_natpmp *n)
{
    /* A socket closed by a stop is reopened once its close completed. */
    if (n->sock_open || n->sock_closing)
        return 0;
    int rc = default_gateway(&n->gateway);
    if (rc < 0)
        return rc;
    rc = uv_udp_init(&n->ses->loop, &n->sock);
    if (rc < 0)
        return rc;
    n->sock.data = n;
    n->sock_open = true;
    rc = uv_udp_recv_start(&n->sock, on_alloc, on_recv);
    if (rc < 0) {
        close_socket(n);
        return rc;
    }
    start_request(&n->req[REQ_EXTERNAL]);
    return 0;
}

static void scan(struct sw_session_natpmp *n)
{
    sw_session *ses = n->ses;
    if (ses->shutting_down)
        return;
    bool enable = sw__settings_bool(ses->settings, SW_SET_ENABLE_NATPMP);
    if (enable != n->enable_seen) {
        n->enable_seen = enable;
        n->wanted = enable;
    }
    if (!n->wanted) {
        close_socket(n);
        return;
    }
    if (!n->sock_open && open_socket(n) < 0)
        return;
    if (!n->sock_open)
        return;
    uint64_t now = now_ms(ses);
    uint16_t port = ses->env.listen_port;
    for (int i = REQ_UDP; i <= REQ_TCP; i++) {
        natpmp_req *q = &n->req[i];
        if (port == 0 || q->port == port)
            continue;
        /* A new listen port: the old mapping goes, the new one is asked. */
        if (q->reported && q->port)
            send_request(n, i, 0);
        q->port = port;
        q->reported = false;
        start_request(q);
    }
    for (int i = 0; i < NUM_REQ; i++) {
        natpmp_req *q = &n->req[i];
        if (q->state == ST_DONE && i != REQ_EXTERNAL && now >= q->next_ms)
            start_request(q);
        if (q->state != ST_PENDING || now < q->next_ms)
            continue;
        if (q->tries == MAX_TRIES) {
            q->state = ST_FAILED;
            if (i != REQ_EXTERNAL)
                post_map_alert(n, i, SW_ERR_TIMEOUT, "the gateway did not answer");
            continue;
        }
        send_request(n, i, MAP_LIFETIME_S);
        q->next_ms = now + ((uint64_t)FIRST_RETRY_MS << q->tries);
        q->tries++;
    }
}

static void on_timer(uv_timer_t *t)
{
    scan(t->data);
}

static struct sw_session_natpmp *get_state(sw_session *ses)
{
    if (ses->natpmp)
        return ses->natpmp;
    if (ses->shutting_down)
        return NULL;
    struct sw_session_natpmp *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->ses = ses;
    if (uv_timer_init(&ses->loop, &n->timer) < 0) {
        free(n);
        return NULL;
    }
    n->timer.data = n;
    uv_timer_start(&n->timer, on_timer, TICK_MS, TICK_MS);
    ses->natpmp = n;
    return n;
}

void sw__session_natpmp_shutdown(sw_session *ses)
{
    struct sw_session_natpmp *n = ses->natpmp;
    if (!n)
        return;
    ses->natpmp = NULL;
    n->wanted = false;
    close_socket(n);
    uv_timer_stop(&n->timer);
    n->closing++;
    uv_close((uv_handle_t *)&n->timer, on_closed);
}

/* ---- public functions ---- */

static int start_fn(sw_session *ses, void *arg)
{
    (void)arg;
    struct sw_session_natpmp *n = get_state(ses);
    if (!n)
        return ses->shutting_down ? SW_ERR_ABORTED : SW_ERR_NOMEM;
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_NATPMP))
        sw_settings_set_bool(ses->settings, SW_SET_ENABLE_NATPMP, true);
    n->enable_seen = true;
    n->wanted = true;
    scan(n);
    return 0;
}

int sw_session_start_natpmp(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, start_fn, NULL);
}

static int stop_fn(sw_session *ses, void *arg)
{
    (void)arg;
    sw_settings_set_bool(ses->settings, SW_SET_ENABLE_NATPMP, false);
    struct sw_session_natpmp *n = ses->natpmp;
    if (!n)
        return 0;
    n->wanted = false;
    n->enable_seen = false;
    close_socket(n);
    return 0;
}

int sw_session_stop_natpmp(sw_session *ses)
{
    if (!ses)
        return SW_ERR_INVALID_ARG;
    return sw__session_run(ses, stop_fn, NULL);
}

int sw__session_natpmp_start_default(sw_session *ses)
{
    if (!sw__settings_bool(ses->settings, SW_SET_ENABLE_NATPMP))
        return 0;
    return sw_session_start_natpmp(ses);
}
