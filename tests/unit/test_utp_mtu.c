/* uTP path MTU discovery: two contexts joined by an in-memory wire whose
 * path takes datagrams up to a set size. A probe the path takes raises the
 * packet size; a probe it drops lowers the ceiling without counting as a
 * congestion loss; a probe the kernel refuses (UV_EMSGSIZE) does the same
 * at once; the peer-id heuristic for loopback only sets the ceiling of a
 * search; with discovery off the size stays. Every transfer checks its
 * bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>

#include "utp_fixture.h"

/* ---- the wire ---- */

typedef struct dgram {
    struct dgram *next;
    int to; /* 0 = a, 1 = b */
    struct sockaddr_storage from;
    size_t len;
    uint8_t data[];
} dgram;

typedef enum path_mode {
    PATH_OPEN,      /* every size gets through */
    PATH_BLACKHOLE, /* don't-fragment datagrams above path_mtu vanish */
    PATH_EMSGSIZE   /* ... are refused by the sender's kernel */
} path_mode;

typedef struct wire {
    uv_loop_t loop;
    uv_idle_t idle;
    sw_utp_ctx *ctx[2];
    sw_endpoint ep[2];
    struct sockaddr_storage sa[2];
    dgram *head, *tail;
    path_mode mode;
    uint32_t path_mtu;
    uint64_t probes_seen, probes_dropped, biggest_delivered;
    bool probe_fn; /* contexts get a send_probe callback */
} wire;

typedef struct side {
    wire *w;
    int idx;
} side;

static side sides[2];

static void deliver(uv_idle_t *h)
{
    wire *w = h->data;
    dgram *d = w->head;
    w->head = w->tail = NULL;
    while (d) {
        dgram *next = d->next;
        sw__utp_on_packet(w->ctx[d->to], d->data, d->len, (struct sockaddr *)&d->from);
        free(d);
        d = next;
    }
}

static int enqueue(side *sd, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    wire *w = sd->w;
    int dst = 1 - sd->idx;
    (void)to;
    dgram *d = malloc(sizeof *d + len);
    if (!d)
        return UV_ENOBUFS;
    d->next = NULL;
    d->to = dst;
    d->from = w->sa[sd->idx];
    d->len = len;
    memcpy(d->data, data, len);
    if (w->tail)
        w->tail->next = d;
    else
        w->head = d;
    w->tail = d;
    if (len > w->biggest_delivered)
        w->biggest_delivered = len;
    return 0;
}

/* Ordinary datagrams may be fragmented: the path takes every size. */
static int wire_send(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    return enqueue(user, to, data, len);
}

static int wire_send_probe(void *user, const struct sockaddr *to, const uint8_t *data, size_t len)
{
    side *sd = user;
    wire *w = sd->w;
    w->probes_seen++;
    if (w->mode != PATH_OPEN && len > w->path_mtu) {
        if (w->mode == PATH_EMSGSIZE)
            return UV_EMSGSIZE;
        w->probes_dropped++;
        return 0;
    }
    return enqueue(sd, to, data, len);
}

typedef struct xfer {
    wire w;
    sw_utp_socket *a, *b;
    uint8_t *src;
    size_t len, sent, received;
    bool mismatch, eof, a_closed, b_closed;
    uint8_t rbuf[65536];
    sw_utp_socket_info info_mid; /* a's socket when half the data arrived */
    bool have_mid;
} xfer;

static xfer *current;

static void on_alloc(sw_utp_socket *s, size_t suggested, uv_buf_t *buf)
{
    (void)s;
    (void)suggested;
    *buf = uv_buf_init((char *)current->rbuf, sizeof current->rbuf);
}

static void on_read(sw_utp_socket *s, ssize_t nread, const uv_buf_t *buf)
{
    xfer *x = current;
    if (nread < 0) {
        x->eof = true;
        return;
    }
    if (x->received + (size_t)nread > x->len ||
        memcmp(buf->base, x->src + x->received, (size_t)nread) != 0)
        x->mismatch = true;
    x->received += (size_t)nread;
    if (!x->have_mid && x->received >= x->len / 2) {
        sw__utp_socket_info(x->a, &x->info_mid);
        x->have_mid = true;
    }
    (void)s;
}

static void on_accept(void *user, sw_utp_socket *s)
{
    (void)user;
    current->b = s;
    sw__utp_read_start(s, on_alloc, on_read);
}

static void on_written(sw_utp_socket *s, int status, void *user)
{
    (void)s;
    (void)user;
    assert_int_equal(status, 0);
}

static void on_connect(sw_utp_socket *s, int status)
{
    assert_int_equal(status, 0);
    uv_buf_t b = uv_buf_init((char *)current->src, (unsigned)current->len);
    assert_int_equal(sw__utp_write(s, &b, 1, on_written, NULL), 0);
}

static void on_a_closed(sw_utp_socket *s)
{
    (void)s;
    current->a_closed = true;
}

static void on_b_closed(sw_utp_socket *s)
{
    (void)s;
    current->b_closed = true;
}

static void make_addr(wire *w, int i, bool loopback)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&w->sa[i];
    memset(sin, 0, sizeof *sin);
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)(6000 + i));
    uint32_t host = loopback ? 0x7f000001u : (0x0a000001u + (uint32_t)i);
    sin->sin_addr.s_addr = htonl(host);
    if (loopback && i == 1)
        sin->sin_port = htons(6001);
    sw__endpoint_from_sockaddr(&w->ep[i], (struct sockaddr *)sin);
}

/* a connects to b and sends len bytes. cfg applies to both. */
static void xfer_setup(xfer *x, size_t len, const sw_utp_config *cfg, bool loopback)
{
    memset(x, 0, sizeof *x);
    current = x;
    wire *w = &x->w;
    assert_int_equal(uv_loop_init(&w->loop), 0);
    uv_idle_init(&w->loop, &w->idle);
    w->idle.data = w;
    uv_idle_start(&w->idle, deliver);
    for (int i = 0; i < 2; i++) {
        make_addr(w, i, loopback);
        sides[i] = (side){.w = w, .idx = i};
        sw_utp_config c = *cfg;
        c.send = wire_send;
        c.send_probe = wire_send_probe;
        c.user = &sides[i];
        c.on_accept = i == 1 ? on_accept : NULL;
        c.rng_seed = 1234u + (uint64_t)i;
        assert_int_equal(sw__utp_ctx_new(&w->loop, &c, &w->ctx[i]), 0);
    }
    x->len = len;
    x->src = malloc(len);
    assert_non_null(x->src);
    utp_fill_pattern(x->src, len, 0, 7);
}

static bool all_received(void *arg)
{
    xfer *x = arg;
    return x->received >= x->len || x->mismatch;
}

static bool both_closed(void *arg)
{
    xfer *x = arg;
    return x->a_closed && x->b_closed;
}

static void xfer_run(xfer *x)
{
    assert_int_equal(sw__utp_connect(x->w.ctx[0], &x->w.ep[1], on_connect, NULL, &x->a), 0);
    assert_true(utp_run_until(&x->w.loop, all_received, x, 30000));
    assert_false(x->mismatch);
    assert_int_equal(x->received, x->len);
}

static void ctx_closed(void *user)
{
    (void)user;
}

static void xfer_done(xfer *x)
{
    sw__utp_close(x->a, on_a_closed);
    if (x->b)
        sw__utp_close(x->b, on_b_closed);
    else
        x->b_closed = true;
    assert_true(utp_run_until(&x->w.loop, both_closed, x, 10000));
    sw__utp_ctx_close(x->w.ctx[0], ctx_closed, NULL);
    sw__utp_ctx_close(x->w.ctx[1], ctx_closed, NULL);
    uv_idle_stop(&x->w.idle);
    uv_close((uv_handle_t *)&x->w.idle, NULL);
    deliver(&x->w.idle); /* frees what is left (the contexts drop it) */
    assert_true(utp_loop_done(&x->w.loop));
    free(x->src);
    current = NULL;
}

static void base_config(sw_utp_config *c)
{
    sw__utp_config_init(c);
    c->packet_size = 1000;
    c->max_packet_size = 1472;
    c->min_timeout_ms = 100;
}

/* ---- tests ---- */

static void test_probe_accepted_raises_size(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    xfer x;
    xfer_setup(&x, 2u << 20, &c, false);
    x.w.mode = PATH_OPEN;
    xfer_run(&x);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    /* The first probe tries the ceiling, and the path takes it. */
    assert_int_equal(info.packet_size, 1472);
    assert_false(info.mtu_searching);
    assert_int_equal(x.w.biggest_delivered, 1472);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    assert_int_equal(st.mtu_probes, 1);
    assert_int_equal(st.mtu_probes_lost, 0);
    assert_int_equal(st.packet_loss, 0);
    xfer_done(&x);
}

static void test_lost_probe_lowers_ceiling_not_window(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    xfer x;
    xfer_setup(&x, 4u << 20, &c, false);
    x.w.mode = PATH_BLACKHOLE;
    x.w.path_mtu = 1200;
    xfer_run(&x);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    /* Binary search between 1000 and 1472 settles within 16 bytes under
     * what the path takes. */
    printf("  packet size %u, ceiling %u, cwnd %u\n", info.packet_size, info.mtu_ceiling,
           info.cwnd);
    assert_true(info.packet_size <= 1200 && info.packet_size > 1200 - 16);
    assert_true(info.mtu_ceiling < 1200 + 16);
    assert_false(info.mtu_searching);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    printf("  probes %llu, lost %llu, dropped by the path %llu\n",
           (unsigned long long)st.mtu_probes, (unsigned long long)st.mtu_probes_lost,
           (unsigned long long)x.w.probes_dropped);
    assert_true(st.mtu_probes_lost >= 2);
    assert_int_equal(st.mtu_probes_lost, x.w.probes_dropped);
    /* No loss counted, no window cut: the only drops were probes. */
    assert_int_equal(st.packet_loss, 0);
    assert_int_equal(st.timeout, 0);
    assert_true(x.have_mid);
    assert_true(info.cwnd >= x.info_mid.cwnd / 2 || info.cwnd >= 64u * 1024u);
    xfer_done(&x);
}

/* A lost probe, seen by the congestion controller: the window after the
 * loss is what it was before it (or larger). */
static void test_lost_probe_keeps_window(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    c.packet_size = 600;
    xfer x;
    xfer_setup(&x, 256u << 10, &c, false);
    x.w.mode = PATH_BLACKHOLE;
    x.w.path_mtu = 700;
    assert_int_equal(sw__utp_connect(x.w.ctx[0], &x.w.ep[1], on_connect, NULL, &x.a), 0);
    /* Run until the first probe has been declared lost, watching the
     * window before and after. */
    uint32_t before = 0;
    sw_utp_stats st = {0};
    uint64_t deadline = uv_now(&x.w.loop) + 30000;
    while (st.mtu_probes_lost == 0 && uv_now(&x.w.loop) < deadline) {
        sw_utp_socket_info info;
        sw__utp_socket_info(x.a, &info);
        before = info.cwnd;
        uv_run(&x.w.loop, UV_RUN_ONCE);
        sw__utp_ctx_stats(x.w.ctx[0], &st);
    }
    assert_int_equal(st.mtu_probes_lost, 1);
    sw_utp_socket_info after;
    sw__utp_socket_info(x.a, &after);
    assert_true(after.cwnd >= before);
    assert_true(after.mtu_ceiling < 1472);
    assert_true(utp_run_until(&x.w.loop, all_received, &x, 30000));
    assert_false(x.mismatch);
    xfer_done(&x);
}

static void test_emsgsize_lowers_ceiling(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    xfer x;
    xfer_setup(&x, 2u << 20, &c, false);
    x.w.mode = PATH_EMSGSIZE;
    x.w.path_mtu = 1300;
    xfer_run(&x);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    assert_true(info.packet_size <= 1300 && info.packet_size > 1300 - 16);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    assert_true(st.mtu_probes_toobig >= 1);
    assert_int_equal(st.mtu_probes_lost, 0);
    assert_int_equal(st.packet_loss, 0);
    assert_int_equal(st.send_failures, 0);
    xfer_done(&x);
}

static void test_discovery_off_keeps_size(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    c.mtu_discovery = false;
    xfer x;
    xfer_setup(&x, 1u << 20, &c, false);
    xfer_run(&x);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    assert_int_equal(info.packet_size, 1000);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    assert_int_equal(st.mtu_probes, 0);
    assert_int_equal(x.w.probes_seen, 0);
    assert_int_equal(x.w.biggest_delivered, 1000);
    xfer_done(&x);
}

/* Loopback: unknown remotes are probed up to the Ethernet size only;
 * raising the limit (another cswarm) starts a search whose first probe is
 * the new ceiling, and a path narrower than that still bounds it. */
static void test_loopback_raise_is_probed(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    c.loopback_packet_size = 1400;
    xfer x;
    xfer_setup(&x, 8u << 20, &c, true);
    x.w.mode = PATH_BLACKHOLE;
    x.w.path_mtu = 9000;
    assert_int_equal(sw__utp_connect(x.w.ctx[0], &x.w.ep[1], on_connect, NULL, &x.a), 0);
    sw__utp_socket_raise_loopback_packet_size(x.a, 16384);
    assert_true(utp_run_until(&x.w.loop, all_received, &x, 30000));
    assert_false(x.mismatch);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    printf("  loopback packet size %u (ceiling %u)\n", info.packet_size, info.mtu_ceiling);
    assert_true(info.packet_size <= 9000 && info.packet_size > 9000 - 16);
    /* b never learned a's size limit: its packets (ACKs only) stay small,
     * and its search stops at the Ethernet size. */
    sw_utp_socket_info binfo;
    sw__utp_socket_info(x.b, &binfo);
    assert_true(binfo.mtu_ceiling <= 1472);
    xfer_done(&x);
}

static void test_loopback_raise_open_path(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    c.loopback_packet_size = 1400;
    xfer x;
    xfer_setup(&x, 4u << 20, &c, true);
    assert_int_equal(sw__utp_connect(x.w.ctx[0], &x.w.ep[1], on_connect, NULL, &x.a), 0);
    sw__utp_socket_raise_loopback_packet_size(x.a, 16384);
    assert_true(utp_run_until(&x.w.loop, all_received, &x, 30000));
    assert_false(x.mismatch);
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    assert_int_equal(info.packet_size, 16384);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    assert_int_equal(st.mtu_probes, 1); /* one probe, one round trip */
    xfer_done(&x);
}

static bool first_probe_sent(void *arg)
{
    xfer *x = arg;
    sw_utp_stats st;
    sw__utp_ctx_stats(x->w.ctx[0], &st);
    return st.mtu_probes >= 1;
}

/* The ceiling rises while the first search's probe is in flight (the
 * handshake naming the remote cswarm arrives after data started): the next
 * probe still tries the new ceiling at once. */
static void test_raise_during_probe(void **state)
{
    (void)state;
    sw_utp_config c;
    base_config(&c);
    c.loopback_packet_size = 1400;
    xfer x;
    xfer_setup(&x, 4u << 20, &c, true);
    assert_int_equal(sw__utp_connect(x.w.ctx[0], &x.w.ep[1], on_connect, NULL, &x.a), 0);
    assert_true(utp_run_until(&x.w.loop, first_probe_sent, &x, 10000));
    sw_utp_socket_info info;
    sw__utp_socket_info(x.a, &info);
    assert_int_equal(info.mtu_ceiling, 1472); /* the Ethernet size, probed now */
    sw__utp_socket_raise_loopback_packet_size(x.a, 16384);
    assert_true(utp_run_until(&x.w.loop, all_received, &x, 30000));
    assert_false(x.mismatch);
    sw__utp_socket_info(x.a, &info);
    assert_int_equal(info.packet_size, 16384);
    sw_utp_stats st;
    sw__utp_ctx_stats(x.w.ctx[0], &st);
    assert_int_equal(st.mtu_probes, 2);
    xfer_done(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_accepted_raises_size),
        cmocka_unit_test(test_lost_probe_lowers_ceiling_not_window),
        cmocka_unit_test(test_lost_probe_keeps_window),
        cmocka_unit_test(test_emsgsize_lowers_ceiling),
        cmocka_unit_test(test_discovery_off_keeps_size),
        cmocka_unit_test(test_loopback_raise_is_probed),
        cmocka_unit_test(test_loopback_raise_open_path),
        cmocka_unit_test(test_raise_during_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
