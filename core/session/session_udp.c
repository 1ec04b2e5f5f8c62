/* The session's UDP sockets: one uv_udp_t bound like the first listener,
 * and one more like the first listener of the other address family if
 * there is one, read continuously, their datagrams routed by
 * sw__session_udp_dispatch. */
#include <stdlib.h>
#include <string.h>

#include "session_dht.h"
#include "session_udp.h"
#include "session_utp.h"
#include "tracker/tracker.h"

/* Largest datagram read (BEP 15 replies with many peers, uTP, KRPC). */
#define UDP_BUF_SIZE 65536
/* Datagrams read per system call (recvmmsg): uTP at full rate delivers
 * many per loop iteration. libuv hands each its own 64 KiB slice. */
#define UDP_RECV_BATCH 16

struct sw_session_udp {
    uv_udp_t h;
    sw_session *ses; /* NULL once the socket is being closed */
    int family;      /* AF_INET or AF_INET6 */
    /* The primary socket (ses->udp) may own one more, for the other address
     * family of the listen interfaces: it carries uTP, UDP trackers to that
     * family, and nothing for the DHT, which runs on the first listener's
     * family only. */
    struct sw_session_udp *other;
    bool is_other;
    char buf[UDP_BUF_SIZE * UDP_RECV_BATCH];
};

typedef struct udp_send_req {
    uv_udp_send_t req;
    uv_buf_t buf;
} udp_send_req;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    (void)suggested;
    struct sw_session_udp *u = h->data;
    *out = uv_buf_init(u->buf, sizeof u->buf);
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                    unsigned flags)
{
    struct sw_session_udp *u = h->data;
    if (n <= 0 || !from || !u->ses || (flags & UV_UDP_PARTIAL))
        return;
    /* The DHT node speaks the first listener's family only. */
    if (u->is_other && buf->base[0] == 'd')
        return;
    /* With recvmmsg each datagram has its own slice of u->buf. */
    (void)sw__session_udp_dispatch(u->ses, from, (const uint8_t *)buf->base, (size_t)n);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void sw__session_udp_close(sw_session *ses)
{
    struct sw_session_udp *u = ses->udp;
    if (ses->shutting_down)
        sw__session_utp_close(ses); /* a rebind keeps uTP; shutdown ends it */
    if (!u)
        return;
    ses->udp = NULL;
    if (u->other) {
        u->other->ses = NULL;
        uv_close((uv_handle_t *)&u->other->h, on_closed);
        u->other = NULL;
    }
    u->ses = NULL;
    uv_close((uv_handle_t *)&u->h, on_closed);
}

static int bind_to(struct sw_session_udp *u, const sw_endpoint *ep)
{
    struct sockaddr_storage ss;
    sw__endpoint_to_sockaddr(ep, &ss);
    return uv_udp_bind(&u->h, (const struct sockaddr *)&ss,
                       ep->family == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
}

static int socket_new(sw_session *ses, const sw_endpoint *ep, struct sw_session_udp **out)
{
    struct sw_session_udp *u = calloc(1, sizeof *u);
    if (!u)
        return SW_ERR_NOMEM;
    int rc = uv_udp_init_ex(&ses->loop, &u->h, AF_UNSPEC | UV_UDP_RECVMMSG);
    if (rc < 0) {
        free(u);
        return rc;
    }
    u->h.data = u;
    u->ses = ses;
    u->family = ep->family;
    rc = bind_to(u, ep);
    if (rc < 0 && ep->port != 0) {
        /* The UDP port is someone else's: trackers work from any port. */
        sw_endpoint any = *ep;
        any.port = 0;
        rc = bind_to(u, &any);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&u->h, on_alloc, on_recv);
    if (rc < 0) {
        u->ses = NULL;
        uv_close((uv_handle_t *)&u->h, on_closed);
        return rc;
    }
    *out = u;
    return 0;
}

int sw__session_udp_open(sw_session *ses, const sw_endpoint *ep)
{
    sw__session_udp_close(ses);
    struct sw_session_udp *u;
    int rc = socket_new(ses, ep, &u);
    if (rc < 0)
        return rc;
    ses->udp = u;
    (void)sw__session_utp_attach(ses); /* without it: TCP peers only */
    return 0;
}

int sw__session_udp_open_other(sw_session *ses, const sw_endpoint *ep)
{
    struct sw_session_udp *u = ses->udp;
    if (!u || u->other || ep->family == u->family)
        return SW_ERR_INVALID_ARG;
    struct sw_session_udp *o;
    int rc = socket_new(ses, ep, &o);
    if (rc < 0)
        return rc;
    o->is_other = true;
    u->other = o;
    return 0;
}

static struct sw_session_udp *socket_for(sw_session *ses, int family)
{
    struct sw_session_udp *u = ses->udp;
    if (u && u->family != family)
        u = u->other;
    return u && u->family == family ? u : NULL;
}

uv_udp_t *sw__session_udp_handle(sw_session *ses)
{
    return ses->udp ? &ses->udp->h : NULL;
}

uv_udp_t *sw__session_udp_handle_for(sw_session *ses, int family)
{
    struct sw_session_udp *u = socket_for(ses, family);
    return u ? &u->h : NULL;
}

int sw__session_udp_endpoints(sw_session *ses, sw_endpoint *out, int max)
{
    int n = 0;
    for (struct sw_session_udp *u = ses->udp; u && n < max; u = u->other) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_udp_getsockname(&u->h, (struct sockaddr *)&ss, &len) == 0)
            sw__endpoint_from_sockaddr(&out[n++], (struct sockaddr *)&ss);
    }
    return n;
}

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status; /* a lost datagram is retransmitted by its sender */
    free(req->data);
}

int sw__session_udp_send(void *user, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
    sw_session *ses = user;
    struct sw_session_udp *u = socket_for(ses, to->sa_family);
    if (!u)
        return SW_ERR_NOT_SUPPORTED;
    udp_send_req *r = malloc(sizeof *r + len);
    if (!r)
        return SW_ERR_NOMEM;
    memcpy(r + 1, buf, len);
    r->buf = uv_buf_init((char *)(r + 1), (unsigned)len);
    r->req.data = r;
    int rc = uv_udp_send(&r->req, &u->h, &r->buf, 1, to, on_sent);
    if (rc < 0) {
        free(r);
        return rc;
    }
    return 0;
}

bool sw__session_udp_dispatch(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                              size_t len)
{
    /* uTP first: the bulk of the traffic. Its first byte (type << 4 |
     * version 1, types 0-4) matches neither KRPC's 'd' nor a tracker
     * reply's action (0-3 in a big-endian 32-bit word, so 0). */
    if (len > 0 && (data[0] & 0x0f) == 1 && (data[0] >> 4) <= 4 &&
        sw__session_utp_on_packet(ses, from, data, len))
        return true;
    if (ses->tracker_client &&
        sw__tracker_client_on_udp_packet(ses->tracker_client, from, data, len))
        return true;
    /* KRPC: a bencoded dictionary. */
    if (len > 0 && data[0] == 'd' && sw__session_dht_on_udp(ses, from, data, len))
        return true;
    return false;
}
