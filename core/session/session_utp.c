/* uTP on the session's UDP socket: the core/utp context, its send path
 * (datagrams of a round queued and written together), accepted connections
 * handed to the peer layer, settings and status. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "session_udp.h"
#include "session_utp.h"
#include "utp/utp.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Datagrams queued per round before they are written anyway. */
#define BATCH_MAX 64
/* Bytes queued per round (room for BATCH_MAX full 1400-byte packets, or a
 * few large ones). */
#define ARENA_SIZE (256u * 1024u)
/* A segmented send carries at most this many bytes (the IP length limit,
 * less headers) and segments. */
#define GSO_MAX_BYTES 65000u
#define GSO_MAX_SEGMENTS 64u
/* Socket buffers wanted for the UDP socket (the kernel caps them). */
#define UDP_SOCKBUF (4 << 20)

typedef struct utp_batch {
    unsigned count;
    size_t used;
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct sockaddr_storage to[BATCH_MAX];
    uint8_t arena[ARENA_SIZE];
} utp_batch;

struct sw_session_utp {
    sw_session *ses;
    sw_utp_ctx *ctx;
    sw_endpoint local; /* the UDP socket's address */
    bool gso;          /* the kernel took a segmented send (or not tried yet) */
    utp_batch q;
};

typedef struct queued_send {
    uv_udp_send_t req;
    uint8_t data[];
} queued_send;

static void on_queued_sent(uv_udp_send_t *req, int status)
{
    (void)status; /* uTP resends what is lost */
    free(req);
}

/* libuv's queue for what the kernel's buffer refused: the datagram goes out
 * when the socket drains, so a full buffer is not a loss. */
static int send_queued(uv_udp_t *h, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    queued_send *qs = malloc(sizeof *qs + len);
    if (!qs)
        return UV_ENOBUFS;
    memcpy(qs->data, data, len);
    uv_buf_t b = uv_buf_init((char *)qs->data, (unsigned)len);
    int rc = uv_udp_send(&qs->req, h, &b, 1, to, on_queued_sent);
    if (rc < 0)
        free(qs);
    return rc;
}

/* How many queued datagrams from i on can go as one segmented send: same
 * destination, each as long as the first except a shorter last one. */
static unsigned gso_run(const utp_batch *q, unsigned i)
{
    size_t seg = q->iov[i].iov_len, total = seg;
    unsigned k = i + 1;
    while (k < q->count && k - i < GSO_MAX_SEGMENTS && q->iov[k].iov_len <= seg &&
           total + q->iov[k].iov_len <= GSO_MAX_BYTES &&
           q->msgs[k].msg_hdr.msg_namelen == q->msgs[i].msg_hdr.msg_namelen &&
           memcmp(&q->to[k], &q->to[i], q->msgs[i].msg_hdr.msg_namelen) == 0) {
        total += q->iov[k].iov_len;
        bool shorter = q->iov[k].iov_len < seg;
        k++;
        if (shorter)
            break;
    }
    return k - i;
}

/* Writes queued datagrams from `done` on with segmentation offload; returns
 * how many went out. Turns GSO off if the kernel does not support it. */
static unsigned send_gso(struct sw_session_utp *su, int fd, unsigned done)
{
    utp_batch *q = &su->q;
    while (done < q->count) {
        unsigned run = gso_run(q, done);
        struct msghdr mh = q->msgs[done].msg_hdr;
        mh.msg_iov = &q->iov[done];
        mh.msg_iovlen = run;
        union {
            char buf[CMSG_SPACE(sizeof(uint16_t))];
            struct cmsghdr align;
        } ctl;
        if (run > 1) {
            memset(&ctl, 0, sizeof ctl);
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof ctl.buf;
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)q->iov[done].iov_len;
            memcpy(CMSG_DATA(cm), &seg, sizeof seg);
        }
        if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0) {
            if (run > 1 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
                errno != EINTR)
                su->gso = false; /* EIO/EINVAL/ENOPROTOOPT: no offload here */
            break;
        }
        done += run;
    }
    return done;
}

static unsigned send_mmsg(struct sw_session_utp *su, int fd, unsigned done)
{
    utp_batch *q = &su->q;
    while (done < q->count) {
        int rc = sendmmsg(fd, q->msgs + done, q->count - done, MSG_DONTWAIT);
        if (rc <= 0)
            break;
        done += (unsigned)rc;
    }
    return done;
}

static void batch_flush(struct sw_session_utp *su)
{
    utp_batch *q = &su->q;
    if (q->count == 0)
        return;
    uv_udp_t *h = sw__session_udp_handle(su->ses);
    unsigned done = 0;
    uv_os_fd_t fd;
    if (h && uv_fileno((uv_handle_t *)h, &fd) == 0) {
        if (su->gso)
            done = send_gso(su, fd, 0);
        if (!su->gso)
            done = send_mmsg(su, fd, done);
        for (unsigned i = done; i < q->count; i++)
            (void)send_queued(h, (struct sockaddr *)&q->to[i], q->iov[i].iov_base,
                              q->iov[i].iov_len);
    }
    q->count = 0;
    q->used = 0;
}

static void on_flush(void *user)
{
    batch_flush(user);
}

/* A datagram for the second UDP socket (the other address family): written
 * at once, without batching (the first socket carries the bulk). */
static int send_other_family(struct sw_session_utp *su, const struct sockaddr *to,
                             const uint8_t *data, size_t len)
{
    uv_udp_t *h = sw__session_udp_handle_for(su->ses, to->sa_family);
    if (!h)
        return SW_ERR_NOT_SUPPORTED;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    int rc = uv_udp_try_send(h, &b, 1, to);
    if (rc >= 0)
        return 0;
    if (rc == UV_EAGAIN || rc == UV_ENOBUFS)
        return send_queued(h, to, data, len);
    return rc;
}

static int on_send(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    struct sw_session_utp *su = user;
    uv_udp_t *h = sw__session_udp_handle(su->ses);
    if (h && to->sa_family != su->local.family)
        return send_other_family(su, to, data, len);
    if (!h)
        return SW_ERR_NOT_SUPPORTED;
    if (len > ARENA_SIZE)
        return SW_ERR_INVALID_ARG;
    utp_batch *q = &su->q;
    if (q->count == BATCH_MAX || q->used + len > ARENA_SIZE)
        batch_flush(su);
    unsigned i = q->count++;
    uint8_t *slot = q->arena + q->used;
    q->used += len;
    memcpy(slot, data, len);
    q->iov[i].iov_base = slot;
    q->iov[i].iov_len = len;
    socklen_t salen = to->sa_family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                                : (socklen_t)sizeof(struct sockaddr_in);
    memcpy(&q->to[i], to, salen);
    q->msgs[i].msg_hdr = (struct msghdr){
        .msg_name = &q->to[i], .msg_namelen = salen, .msg_iov = &q->iov[i], .msg_iovlen = 1};
    q->msgs[i].msg_len = 0;
    return 0;
}

/* Sets the don't-fragment policy of fd for the family; returns the old one
 * in *old_out (-1 if it could not be read). */
static void set_pmtudisc(int fd, int family, int value, int *old_out)
{
    int level = family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
    int name = family == AF_INET6 ? IPV6_MTU_DISCOVER : IP_MTU_DISCOVER;
    if (old_out) {
        socklen_t len = sizeof *old_out;
        if (getsockopt(fd, level, name, old_out, &len) < 0)
            *old_out = -1;
    }
    (void)setsockopt(fd, level, name, &value, sizeof value);
}

/* A path MTU probe goes out on its own with don't-fragment set (and the
 * kernel's path MTU honoured: larger ones fail with EMSGSIZE); datagrams
 * queued before it go first, and the socket's policy is restored after, so
 * ordinary packets may still be fragmented on a path narrower than they. */
static int on_send_probe(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    struct sw_session_utp *su = user;
    uv_udp_t *h = sw__session_udp_handle_for(su->ses, to->sa_family);
    uv_os_fd_t fd;
    if (!h || uv_fileno((uv_handle_t *)h, &fd) < 0)
        return SW_ERR_NOT_SUPPORTED;
    batch_flush(su);
    int family = to->sa_family;
    int old = -1;
    set_pmtudisc(fd, family, family == AF_INET6 ? IPV6_PMTUDISC_DO : IP_PMTUDISC_DO, &old);
    socklen_t salen = family == AF_INET6 ? (socklen_t)sizeof(struct sockaddr_in6)
                                         : (socklen_t)sizeof(struct sockaddr_in);
    ssize_t n = sendto(fd, data, len, MSG_DONTWAIT, to, salen);
    int err = n < 0 ? errno : 0;
    if (old >= 0)
        set_pmtudisc(fd, family, old, NULL);
    if (n >= 0)
        return 0;
    if (err == EMSGSIZE)
        return UV_EMSGSIZE;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS)
        return UV_EAGAIN;
    return uv_translate_sys_error(err);
}

static void on_accept(void *user, sw_utp_socket *sock)
{
    struct sw_session_utp *su = user;
    sw_session *ses = su->ses;
    sw_stream *s;
    /* The local end: the UDP socket of the remote's family. */
    sw_endpoint local = su->local;
    if (sw__utp_socket_remote(sock)->family != local.family) {
        sw_endpoint eps[2];
        int n = sw__session_udp_endpoints(ses, eps, 2);
        for (int i = 0; i < n; i++)
            if (eps[i].family == sw__utp_socket_remote(sock)->family)
                local = eps[i];
    }
    if (sw__stream_utp_wrap(sock, &local, &s) < 0) {
        sw__utp_close(sock, NULL);
        return;
    }
    if (ses->shutting_down) {
        sw__stream_close(s, NULL);
        return;
    }
    ses->env.now_ms = uv_now(&ses->loop);
    sw__peer_env_accept(&ses->env, s);
}

static void make_config(struct sw_session_utp *su, sw_utp_config *cfg)
{
    sw__utp_config_init(cfg);
    sw__utp_config_from_settings(cfg, su->ses->settings);
    cfg->send = on_send;
    cfg->flush = on_flush;
    cfg->send_probe = on_send_probe;
    cfg->user = su;
    cfg->on_accept =
        sw__settings_bool(su->ses->settings, SW_SET_ENABLE_INCOMING_UTP) ? on_accept : NULL;
}

static void fill_local(struct sw_session_utp *su)
{
    uv_udp_t *h = sw__session_udp_handle(su->ses);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (h && uv_udp_getsockname(h, (struct sockaddr *)&ss, &len) == 0)
        sw__endpoint_from_sockaddr(&su->local, (struct sockaddr *)&ss);
    if (h) {
        int size = UDP_SOCKBUF;
        (void)uv_send_buffer_size((uv_handle_t *)h, &size);
        size = UDP_SOCKBUF;
        (void)uv_recv_buffer_size((uv_handle_t *)h, &size);
    }
}

int sw__session_utp_attach(sw_session *ses)
{
    struct sw_session_utp *su = ses->utp;
    if (su) {
        fill_local(su);
        return 0;
    }
    su = calloc(1, sizeof *su);
    if (!su)
        return SW_ERR_NOMEM;
    su->ses = ses;
    su->gso = true;
    fill_local(su);
    sw_utp_config cfg;
    make_config(su, &cfg);
    int rc = sw__utp_ctx_new(&ses->loop, &cfg, &su->ctx);
    if (rc < 0) {
        free(su);
        return rc;
    }
    ses->utp = su;
    ses->env.utp = su->ctx;
    ses->env.utp_local = su->local;
    return 0;
}

bool sw__session_utp_on_packet(sw_session *ses, const struct sockaddr *from, const uint8_t *data,
                               size_t len)
{
    if (!ses->utp)
        return false;
    return sw__utp_on_packet(ses->utp->ctx, data, len, from);
}

void sw__session_utp_settings_changed(sw_session *ses)
{
    struct sw_session_utp *su = ses->utp;
    if (!su)
        return;
    sw_utp_config cfg;
    make_config(su, &cfg);
    sw__utp_ctx_set_config(su->ctx, &cfg);
}

void sw__session_utp_status(sw_session *ses, sw_utp_status *out)
{
    memset(out, 0, sizeof *out);
    if (!ses->utp)
        return;
    sw_utp_stats st;
    sw__utp_ctx_stats(ses->utp->ctx, &st);
    out->num_idle = (int)st.num_idle;
    out->num_syn_sent = (int)st.num_syn_sent;
    out->num_connected = (int)st.num_connected;
    out->num_fin_sent = (int)st.num_fin_sent;
    out->num_close_wait = (int)st.num_close_wait;
    out->packet_loss = st.packet_loss;
    out->timeout = st.timeout;
    out->packets_in = st.packets_in;
    out->packets_out = st.packets_out;
    out->fast_retransmit = st.fast_retransmit;
    out->packet_resend = st.packet_resend;
    out->samples_above_target = st.samples_above_target;
    out->samples_below_target = st.samples_below_target;
    out->payload_pkts_in = st.payload_pkts_in;
    out->payload_pkts_out = st.payload_pkts_out;
    out->invalid_pkts_in = st.invalid_pkts_in;
    out->redundant_pkts_in = st.redundant_pkts_in;
    out->mtu_probes = st.mtu_probes;
    out->mtu_probes_lost = st.mtu_probes_lost;
    out->mtu_probes_toobig = st.mtu_probes_toobig;
}

static void on_ctx_closed(void *user)
{
    free(user);
}

void sw__session_utp_close(sw_session *ses)
{
    struct sw_session_utp *su = ses->utp;
    if (!su)
        return;
    batch_flush(su);
    ses->utp = NULL;
    ses->env.utp = NULL;
    sw__utp_ctx_close(su->ctx, on_ctx_closed, su);
}
