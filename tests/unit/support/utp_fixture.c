/* uTP test nodes on 127.0.0.1 with scheduled impairments. */
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "utp_fixture.h"

typedef struct queued_send {
    uv_udp_send_t req;
    uint8_t data[];
} queued_send;

static void on_queued_sent(uv_udp_send_t *req, int status)
{
    (void)status;
    free(req);
}

#define BATCH_MAX 64

typedef struct utp_batch {
    unsigned count;
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX];
    struct sockaddr_storage to[BATCH_MAX];
    uint8_t *data[BATCH_MAX];
} utp_batch;

static int raw_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len);
static int wire_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len);

/* ---- the bottleneck link ---- */

typedef struct link_pkt {
    struct link_pkt *next;
    struct sockaddr_storage to;
    size_t len;
    uint8_t data[];
} link_pkt;

typedef struct utp_link {
    uv_timer_t timer;
    link_pkt *head, *tail;
    uint64_t queued;
    uint64_t last_ns;
    double credit; /* bytes the link may send now */
    bool timer_closed;
} utp_link;

static void link_drain(uv_timer_t *t)
{
    utp_node *n = t->data;
    utp_link *l = n->link;
    uint64_t now = uv_hrtime();
    l->credit += (double)(now - l->last_ns) / 1e9 * n->rate_bps;
    l->last_ns = now;
    while (l->head && l->credit >= (double)l->head->len) {
        link_pkt *p = l->head;
        l->head = p->next;
        if (!l->head)
            l->tail = NULL;
        l->queued -= p->len;
        l->credit -= (double)p->len;
        wire_send(n, (struct sockaddr *)&p->to, p->data, p->len);
        free(p);
    }
    if (!l->head) {
        l->credit = 0; /* an idle link saves up no burst */
        uv_timer_stop(&l->timer);
    }
}

static int link_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    utp_link *l = n->link;
    if (!l) {
        l = n->link = calloc(1, sizeof *l);
        if (!l)
            return UV_ENOBUFS;
        uv_timer_init(n->loop, &l->timer);
        l->timer.data = n;
        n->open_handles++;
    }
    link_pkt *p = malloc(sizeof *p + len);
    if (!p)
        return UV_ENOBUFS;
    p->next = NULL;
    p->len = len;
    memcpy(&p->to, to,
           to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    memcpy(p->data, data, len);
    if (l->tail)
        l->tail->next = p;
    else
        l->head = p;
    l->tail = p;
    l->queued += len;
    if (!uv_is_active((uv_handle_t *)&l->timer)) {
        l->last_ns = uv_hrtime();
        uv_timer_start(&l->timer, link_drain, 1, 1);
    }
    return 0;
}

double utp_node_queue_delay_ms(const utp_node *n)
{
    if (!n->link || !n->rate_bps)
        return 0;
    return (double)n->link->queued * 1000.0 / n->rate_bps;
}

/* How many queued datagrams from i on can go as one segmented send: same
 * destination, all as long as the first (the last may be shorter). */
static unsigned gso_run(const utp_batch *q, unsigned i)
{
    size_t seg = q->iov[i].iov_len, total = seg;
    unsigned k = i + 1;
    while (k < q->count && q->iov[k].iov_len <= seg && total + q->iov[k].iov_len <= 65000 &&
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

static unsigned gso_send(utp_node *n, int fd)
{
    utp_batch *q = n->queue;
    unsigned done = 0;
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
            mh.msg_control = ctl.buf;
            mh.msg_controllen = sizeof ctl.buf;
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)q->iov[done].iov_len;
            memcpy(CMSG_DATA(cm), &seg, sizeof seg);
        }
        if (sendmsg(fd, &mh, MSG_DONTWAIT) < 0)
            break;
        done += run;
    }
    return done;
}

/* Writes the queued datagrams with sendmmsg (or segmentation offload);
 * what the kernel refuses goes through libuv's queue. */
static void batch_flush(utp_node *n)
{
    utp_batch *q = n->queue;
    if (!q || q->count == 0)
        return;
    n->flushes++;
    uv_os_fd_t fd;
    unsigned done = 0;
    if (n->gso && uv_fileno((uv_handle_t *)&n->udp, &fd) == 0) {
        done = gso_send(n, fd);
    } else if (uv_fileno((uv_handle_t *)&n->udp, &fd) == 0) {
        while (done < q->count) {
            int rc = sendmmsg(fd, q->msgs + done, q->count - done, MSG_DONTWAIT);
            if (rc <= 0)
                break;
            done += (unsigned)rc;
        }
    }
    for (unsigned i = 0; i < q->count; i++) {
        if (i >= done)
            raw_send(n, (struct sockaddr *)&q->to[i], q->data[i], q->iov[i].iov_len);
        free(q->data[i]);
    }
    q->count = 0;
}

static int batch_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    if (!n->queue) {
        n->queue = calloc(1, sizeof *n->queue);
        if (!n->queue)
            return UV_ENOBUFS;
    }
    utp_batch *q = n->queue;
    if (q->count == BATCH_MAX)
        batch_flush(n);
    uint8_t *copy = malloc(len);
    if (!copy)
        return UV_ENOBUFS;
    memcpy(copy, data, len);
    unsigned i = q->count++;
    q->data[i] = copy;
    q->iov[i].iov_base = copy;
    q->iov[i].iov_len = len;
    size_t salen =
        to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    memcpy(&q->to[i], to, salen);
    q->msgs[i].msg_hdr = (struct msghdr){.msg_name = &q->to[i],
                                         .msg_namelen = (socklen_t)salen,
                                         .msg_iov = &q->iov[i],
                                         .msg_iovlen = 1};
    n->bytes_out += len;
    return 0;
}

static void node_flush(void *user)
{
    batch_flush(user);
}

static int raw_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    if (n->rate_bps)
        return link_send(n, to, data, len);
    return wire_send(n, to, data, len);
}

/* Sends now, or queues behind the kernel's buffer (like a session that lets
 * libuv queue) so impairments stay the only losses. */
static int wire_send(utp_node *n, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    n->bytes_out += len;
    int rc = uv_udp_try_send(&n->udp, &b, 1, to);
    if (rc >= 0)
        return 0;
    if (rc != UV_EAGAIN)
        return rc;
    queued_send *q = malloc(sizeof *q + len);
    if (!q)
        return UV_ENOBUFS;
    memcpy(q->data, data, len);
    b = uv_buf_init((char *)q->data, (unsigned)len);
    rc = uv_udp_send(&q->req, &n->udp, &b, 1, to, on_queued_sent);
    if (rc < 0)
        free(q);
    return rc;
}

static void send_held(utp_node *n)
{
    if (!n->held)
        return;
    uv_timer_stop(&n->hold_timer);
    uint8_t *held = n->held;
    n->held = NULL;
    raw_send(n, (struct sockaddr *)&n->held_to, held, n->held_len);
    free(held);
}

static void on_hold_timeout(uv_timer_t *t)
{
    send_held(t->data);
}

static int node_send(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    utp_node *n = user;
    uint64_t k = ++n->sends;
    if (n->eagain_every && k % n->eagain_every == 0) {
        n->refused++;
        return UV_EAGAIN;
    }
    if (n->drop_every && k % n->drop_every == 0) {
        n->dropped++;
        return 0;
    }
    if (n->reorder_every && k % n->reorder_every == 0 && !n->held) {
        n->held = malloc(len);
        if (n->held) {
            memcpy(n->held, data, len);
            n->held_len = len;
            memcpy(&n->held_to, to,
                   to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                             : sizeof(struct sockaddr_in));
            n->reordered++;
            uv_timer_start(&n->hold_timer, on_hold_timeout, 5, 0);
            return 0;
        }
    }
    int rc = n->batch ? batch_send(n, to, data, len) : raw_send(n, to, data, len);
    if (n->dup_every && k % n->dup_every == 0) {
        n->duplicated++;
        raw_send(n, to, data, len);
    }
    send_held(n);
    return rc;
}

static void node_accept(void *user, sw_utp_socket *s)
{
    utp_node *n = user;
    n->on_accept(n, s);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    utp_node *n = h->data;
    *buf = uv_buf_init((char *)n->rbuf, sizeof n->rbuf);
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                    unsigned flags)
{
    (void)flags;
    utp_node *n = h->data;
    if (nread <= 0 || !addr)
        return;
    n->datagrams_in++;
    if (!n->feed_utp || !n->ctx)
        return;
    sw__utp_on_packet(n->ctx, (const uint8_t *)buf->base, (size_t)nread, addr);
}

int utp_node_init(utp_node *n, uv_loop_t *loop, const sw_utp_config *cfg,
                  utp_node_accept_fn on_accept)
{
    memset(n, 0, sizeof *n);
    n->loop = loop;
    n->on_accept = on_accept;
    n->feed_utp = true;
    int rc = uv_udp_init(loop, &n->udp);
    if (rc < 0)
        return rc;
    n->udp.data = n;
    uv_timer_init(loop, &n->hold_timer);
    n->hold_timer.data = n;
    n->open_handles = 2;
    struct sockaddr_in sa;
    uv_ip4_addr("127.0.0.1", 0, &sa);
    rc = uv_udp_bind(&n->udp, (struct sockaddr *)&sa, 0);
    if (rc == 0) {
        int size = 4 << 20;
        uv_send_buffer_size((uv_handle_t *)&n->udp, &size);
        size = 4 << 20;
        uv_recv_buffer_size((uv_handle_t *)&n->udp, &size);
        struct sockaddr_storage ss;
        int len = sizeof ss;
        rc = uv_udp_getsockname(&n->udp, (struct sockaddr *)&ss, &len);
        if (rc == 0)
            rc = sw__endpoint_from_sockaddr(&n->ep, (struct sockaddr *)&ss);
    }
    if (rc == 0)
        rc = uv_udp_recv_start(&n->udp, on_alloc, on_recv);
    sw_utp_config c;
    if (cfg)
        c = *cfg;
    else
        sw__utp_config_init(&c);
    c.send = node_send;
    c.flush = node_flush;
    c.on_accept = on_accept ? node_accept : NULL;
    c.user = n;
    if (rc == 0)
        rc = sw__utp_ctx_new(loop, &c, &n->ctx);
    if (rc < 0) {
        n->ctx_closed = true;
        uv_close((uv_handle_t *)&n->udp, NULL);
        uv_close((uv_handle_t *)&n->hold_timer, NULL);
        n->udp_closed = true;
    }
    return rc;
}

static void on_ctx_closed(void *user)
{
    utp_node *n = user;
    n->ctx_closed = true;
    /* The context sends nothing more: drop what was never flushed. */
    if (n->queue) {
        for (unsigned i = 0; i < n->queue->count; i++)
            free(n->queue->data[i]);
        free(n->queue);
        n->queue = NULL;
    }
}

static void on_udp_closed(uv_handle_t *h)
{
    utp_node *n = h->data;
    if (--n->open_handles == 0)
        n->udp_closed = true;
}

static void on_link_closed(uv_handle_t *h)
{
    utp_node *n = h->data;
    utp_link *l = n->link;
    while (l->head) {
        link_pkt *p = l->head;
        l->head = p->next;
        free(p);
    }
    free(l);
    n->link = NULL;
    if (--n->open_handles == 0)
        n->udp_closed = true;
}

void utp_node_close(utp_node *n)
{
    if (n->ctx) {
        sw_utp_ctx *ctx = n->ctx;
        n->ctx = NULL;
        sw__utp_ctx_close(ctx, on_ctx_closed, n);
    }
    if (!uv_is_closing((uv_handle_t *)&n->udp)) {
        uv_close((uv_handle_t *)&n->udp, on_udp_closed);
        uv_close((uv_handle_t *)&n->hold_timer, on_udp_closed);
        if (n->link)
            uv_close((uv_handle_t *)&n->link->timer, on_link_closed);
    }
    free(n->held);
    n->held = NULL;
}

bool utp_node_closed(const utp_node *n)
{
    return n->udp_closed && n->ctx_closed;
}

static void on_wake(uv_timer_t *t)
{
    (void)t;
}

bool utp_run_until(uv_loop_t *loop, bool (*done)(void *arg), void *arg, int timeout_ms)
{
    /* A repeating wake-up keeps the deadline: without it, a loop with only
     * idle sockets left (nothing due) would block in uv_run for good. */
    uv_timer_t wake;
    uv_timer_init(loop, &wake);
    uv_timer_start(&wake, on_wake, 10, 10);
    uint64_t deadline = uv_hrtime() + (uint64_t)timeout_ms * 1000000ull;
    bool ok = true;
    while (!done(arg)) {
        if (uv_hrtime() > deadline) {
            ok = false;
            break;
        }
        uv_run(loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&wake, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

void utp_run_for(uv_loop_t *loop, int ms)
{
    /* A timer guarantees the loop wakes up even when nothing else is due. */
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, on_wake, (uint64_t)ms, 0);
    utp_run_until(loop, never, NULL, ms);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

bool utp_loop_done(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT);
    bool clean = uv_loop_close(loop) == 0;
    if (!clean) {
        uv_walk(loop, close_walk, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        uv_loop_close(loop);
    }
    return clean;
}

void utp_fill_pattern(uint8_t *dst, size_t len, uint64_t offset, uint32_t seed)
{
    /* Each 8-byte word is a hash of its index, so any offset can be
     * regenerated without the bytes before it. */
    size_t i = 0;
    while (i < len) {
        uint64_t pos = offset + i;
        uint64_t z = (pos >> 3) + ((uint64_t)seed << 40) + 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (unsigned b = (unsigned)(pos & 7); b < 8 && i < len; b++, i++)
            dst[i] = (uint8_t)(z >> (b * 8));
    }
}
