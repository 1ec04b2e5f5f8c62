/* uTP sockets end to end: two contexts on 127.0.0.1 in one loop. Transfers
 * with data checks (clean, with scheduled loss/reordering/duplication, with a
 * full UDP socket), refusal, timeouts, resets, graceful close from either
 * side, back-pressure, Nagle coalescing, keep-alives, many sockets at once,
 * and shutting a context down with sockets open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/resource.h>

#include "utp_fixture.h"

/* ---- one side of a transfer ---- */

typedef struct peer {
    sw_utp_socket *s;
    struct env *env;
    /* sending */
    const uint8_t *out;
    size_t out_len;
    size_t queued, written;
    size_t max_queue; /* bytes handed to write and not completed */
    size_t chunk;
    bool close_when_sent;
    int write_errors;
    int last_write_status;
    /* receiving */
    const uint8_t *expect;
    size_t expect_len;
    size_t received;
    bool mismatch;
    bool read; /* start reading when connected */
    bool close_on_eof;
    bool eof;
    int read_error;
    /* lifetime */
    bool connected;
    int connect_status;
    int connect_calls;
    bool closed;
    uint64_t done_ns;
    char rbuf[65536];
} peer;

typedef struct env {
    uv_loop_t loop;
    utp_node a, b;
    peer *accept_into; /* accepted sockets fill these in order */
    int accept_slots;
    int accepted;
} env;

static void peer_pump(peer *p);

static void on_closed(sw_utp_socket *s)
{
    peer *p = sw__utp_socket_data(s);
    p->closed = true;
    p->s = NULL;
}

static void peer_close(peer *p)
{
    if (p->s && !p->closed)
        sw__utp_close(p->s, on_closed);
}

static void on_write(sw_utp_socket *s, int status, void *user)
{
    peer *p = sw__utp_socket_data(s);
    size_t n = (size_t)(uintptr_t)user;
    if (status < 0) {
        p->write_errors++;
        p->last_write_status = status;
        return;
    }
    p->written += n;
    if (p->written == p->out_len && p->close_when_sent) {
        peer_close(p);
        return;
    }
    peer_pump(p);
}

static void peer_pump(peer *p)
{
    while (p->s && p->queued < p->out_len && p->queued - p->written < p->max_queue) {
        size_t n = p->out_len - p->queued;
        if (n > p->chunk)
            n = p->chunk;
        uv_buf_t b = uv_buf_init((char *)p->out + p->queued, (unsigned)n);
        int rc = sw__utp_write(p->s, &b, 1, on_write, (void *)(uintptr_t)n);
        if (rc < 0) {
            p->write_errors++;
            p->last_write_status = rc;
            return;
        }
        p->queued += n;
    }
}

static void on_alloc(sw_utp_socket *s, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    peer *p = sw__utp_socket_data(s);
    *buf = uv_buf_init(p->rbuf, sizeof p->rbuf);
}

static void on_read(sw_utp_socket *s, ssize_t nread, const uv_buf_t *buf)
{
    peer *p = sw__utp_socket_data(s);
    if (nread > 0) {
        if (p->received + (size_t)nread > p->expect_len ||
            memcmp(p->expect + p->received, buf->base, (size_t)nread) != 0)
            p->mismatch = true;
        p->received += (size_t)nread;
        if (p->received == p->expect_len)
            p->done_ns = uv_hrtime();
        return;
    }
    if (nread == UV_EOF) {
        p->eof = true;
        if (p->close_on_eof)
            peer_close(p);
        return;
    }
    p->read_error = (int)nread;
    peer_close(p);
}

static void peer_start(peer *p)
{
    sw__utp_socket_set_data(p->s, p);
    if (p->read)
        assert_int_equal(sw__utp_read_start(p->s, on_alloc, on_read), 0);
    peer_pump(p);
}

static void on_connect(sw_utp_socket *s, int status)
{
    peer *p = sw__utp_socket_data(s);
    p->connect_calls++;
    p->connect_status = status;
    if (status < 0) {
        peer_close(p);
        return;
    }
    p->connected = true;
    peer_start(p);
}

static void on_accept(utp_node *n, sw_utp_socket *s)
{
    env *e = n->user;
    if (e->accepted >= e->accept_slots) {
        sw__utp_close(s, NULL);
        return;
    }
    peer *p = &e->accept_into[e->accepted++];
    p->s = s;
    p->connected = true;
    p->env = e;
    peer_start(p);
}

static void peer_init(peer *p, env *e)
{
    memset(p, 0, sizeof *p);
    p->env = e;
    p->max_queue = 1 << 20;
    p->chunk = 64 * 1024;
    p->read = true;
    p->close_on_eof = true;
}

static void env_init(env *e, const sw_utp_config *cfg_a, const sw_utp_config *cfg_b, bool b_accepts)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(uv_loop_init(&e->loop), 0);
    assert_int_equal(utp_node_init(&e->a, &e->loop, cfg_a, NULL), 0);
    assert_int_equal(utp_node_init(&e->b, &e->loop, cfg_b, b_accepts ? on_accept : NULL), 0);
    e->a.user = e;
    e->b.user = e;
}

static bool nodes_closed(void *arg)
{
    env *e = arg;
    return utp_node_closed(&e->a) && utp_node_closed(&e->b);
}

static void env_done(env *e)
{
    utp_node_close(&e->a);
    utp_node_close(&e->b);
    assert_true(utp_run_until(&e->loop, nodes_closed, e, 5000));
    assert_true(utp_loop_done(&e->loop));
}

static void connect_peer(env *e, peer *p)
{
    assert_int_equal(sw__utp_connect(e->a.ctx, &e->b.ep, on_connect, p, &p->s), 0);
}

static uint32_t sockets_left(utp_node *n)
{
    sw_utp_stats st;
    sw__utp_ctx_stats(n->ctx, &st);
    return st.num_sockets;
}

static bool no_sockets(void *arg)
{
    env *e = arg;
    return sockets_left(&e->a) == 0 && sockets_left(&e->b) == 0;
}

static uint8_t *pattern(size_t len, uint32_t seed)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    utp_fill_pattern(d, len, 0, seed);
    return d;
}

/* A transfer in both directions: a sends a_len bytes, b sends b_len. The
 * side that sends more closes once it is sent; the other closes on EOF. */
typedef struct xfer {
    env e;
    peer pa, pb;
    uint8_t *da, *db;
} xfer;

static bool xfer_done(void *arg)
{
    xfer *x = arg;
    return x->pa.closed && x->pb.closed;
}

static void xfer_setup(xfer *x, size_t a_len, size_t b_len, const sw_utp_config *ca,
                       const sw_utp_config *cb)
{
    env_init(&x->e, ca, cb, true);
    peer_init(&x->pa, &x->e);
    peer_init(&x->pb, &x->e);
    x->da = pattern(a_len, 1);
    x->db = pattern(b_len, 2);
    x->pa.out = x->da;
    x->pa.out_len = a_len;
    x->pa.expect = x->db;
    x->pa.expect_len = b_len;
    x->pb.out = x->db;
    x->pb.out_len = b_len;
    x->pb.expect = x->da;
    x->pb.expect_len = a_len;
    /* The side sending more closes when done; the FIN reaches the other
     * after its own data, and it closes on EOF. */
    x->pa.close_when_sent = a_len >= b_len;
    x->pb.close_when_sent = !x->pa.close_when_sent;
    x->e.accept_into = &x->pb;
    x->e.accept_slots = 1;
}

static void xfer_check(xfer *x)
{
    assert_int_equal(x->pa.connect_calls, 1);
    assert_int_equal(x->pa.connect_status, 0);
    assert_int_equal(x->e.accepted, 1);
    assert_false(x->pa.mismatch);
    assert_false(x->pb.mismatch);
    assert_int_equal(x->pb.received, x->pb.expect_len);
    assert_int_equal(x->pa.written, x->pa.out_len);
    assert_int_equal(x->pb.written, x->pb.out_len);
    assert_int_equal(x->pa.write_errors, 0);
    assert_int_equal(x->pb.write_errors, 0);
}

static void xfer_free(xfer *x)
{
    free(x->da);
    free(x->db);
}

/* ---- tests ---- */

static void test_small_exchange_and_close(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 1000, 300, NULL, NULL);
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 10000));
    xfer_check(&x);
    assert_int_equal(x.pa.received, 300);
    assert_true(x.pb.eof);
    /* Both sockets finish the FIN exchange and are freed. */
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 5000));
    env_done(&x.e);
    xfer_free(&x);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* Sends len bytes from a to b and prints the rate and the CPU time both
 * ends took together (they share this thread). */
static void run_bulk(size_t len, const sw_utp_config *cfg, bool batch, bool gso, const char *label)
{
    xfer x;
    xfer_setup(&x, len, 0, cfg, cfg);
    x.e.a.batch = batch;
    x.e.b.batch = batch;
    x.e.a.gso = x.e.b.gso = gso;
    uint64_t t0 = uv_hrtime();
    double cpu0 = cpu_seconds();
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 100000));
    double secs = (double)(x.pb.done_ns - t0) / 1e9;
    double cpu = cpu_seconds() - cpu0;
    xfer_check(&x);
    assert_true(x.pb.eof);
    sw_utp_stats sa, sb;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    sw__utp_ctx_stats(x.e.b.ctx, &sb);
    printf("  %s: %zu MiB in %.3f s = %.1f MiB/s, %.2f CPU s per GiB for both ends "
           "(packets out %llu, resent %llu, timeouts %llu, loss %llu; acks back %llu)\n",
           label, len >> 20, secs, (double)len / (1 << 20) / secs,
           cpu * 1024.0 / (double)(len >> 20), (unsigned long long)sa.packets_out,
           (unsigned long long)sa.packet_resend, (unsigned long long)sa.timeout,
           (unsigned long long)sa.packet_loss, (unsigned long long)sb.packets_out);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 5000));
    env_done(&x.e);
    xfer_free(&x);
}

static void test_bulk_50mib(void **state)
{
    (void)state;
    run_bulk(50u << 20, NULL, false, false, "1400-byte packets");
}

static void test_bulk_batched(void **state)
{
    (void)state;
    run_bulk(50u << 20, NULL, true, false, "1400-byte packets, sendmmsg per flush");
}

static void test_bulk_gso(void **state)
{
    (void)state;
    run_bulk(50u << 20, NULL, true, true, "1400-byte packets, UDP GSO per flush");
}

static void test_bulk_large_packets(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.loopback_packet_size = 16384;
    c.recv_buffer_size = 8u << 20;
    run_bulk(50u << 20, &c, false, false, "16 KiB packets");
}

static void test_impaired_both_ways(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.min_timeout_ms = 100; /* losses at the tail end recover faster */
    xfer x;
    xfer_setup(&x, 4u << 20, 1u << 20, &c, &c);
    x.e.a.drop_every = 19;
    x.e.a.reorder_every = 5;
    x.e.a.dup_every = 11;
    x.e.b.drop_every = 23;
    x.e.b.reorder_every = 4;
    x.e.b.dup_every = 13;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 60000));
    xfer_check(&x);
    assert_int_equal(x.pa.received, 1u << 20);
    printf("  a sent %llu datagrams (%llu dropped, %llu reordered, %llu duplicated), "
           "b %llu (%llu, %llu, %llu)\n",
           (unsigned long long)x.e.a.sends, (unsigned long long)x.e.a.dropped,
           (unsigned long long)x.e.a.reordered, (unsigned long long)x.e.a.duplicated,
           (unsigned long long)x.e.b.sends, (unsigned long long)x.e.b.dropped,
           (unsigned long long)x.e.b.reordered, (unsigned long long)x.e.b.duplicated);
    assert_true(x.e.a.dropped > 100 && x.e.a.reordered > 100 && x.e.a.duplicated > 100);
    assert_true(x.e.b.dropped > 20 && x.e.b.reordered > 20 && x.e.b.duplicated > 20);
    sw_utp_stats sa;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    assert_true(sa.packet_resend > 0);
    assert_true(sa.fast_retransmit > 0);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 10000));
    env_done(&x.e);
    xfer_free(&x);
}

static void test_sequence_wrap(void **state)
{
    (void)state;
    /* 200-byte datagrams: 14 MiB is about 81000 packets, more than the
     * 16-bit sequence space, so both directions' numbers wrap (under loss
     * and reordering, with selective ACKs spanning the wrap). */
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.loopback_packet_size = 200;
    c.mtu_discovery = false; /* the packets stay this small */
    c.recv_buffer_size = 512u << 10;
    c.min_timeout_ms = 100;
    xfer x;
    xfer_setup(&x, 14u << 20, 2u << 20, &c, &c);
    x.e.a.drop_every = 101;
    x.e.a.reorder_every = 13;
    x.e.b.drop_every = 97;
    x.e.b.batch = true; /* b's datagrams go out through the flush callback */
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 100000));
    xfer_check(&x);
    assert_int_equal(x.pa.received, 2u << 20);
    sw_utp_stats sa, sb;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    sw__utp_ctx_stats(x.e.b.ctx, &sb);
    assert_true(sa.payload_pkts_out > 65536);
    assert_true(sb.payload_pkts_out > 10000);
    assert_true(sa.packet_resend > 0);
    assert_true(x.e.b.flushes > 0);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 10000));
    env_done(&x.e);
    xfer_free(&x);
}

typedef struct delay_probe {
    xfer *x;
    uv_timer_t timer;
    double sum_ms;
    int samples;
    double max_ms;
    uint32_t max_cwnd;
} delay_probe;

static void on_delay_sample(uv_timer_t *t)
{
    delay_probe *d = t->data;
    xfer *x = d->x;
    if (!x->pa.s || x->pa.written == x->pa.out_len)
        return;
    double q = utp_node_queue_delay_ms(&x->e.a);
    d->sum_ms += q;
    d->samples++;
    if (q > d->max_ms)
        d->max_ms = q;
    sw_utp_socket_info ia;
    sw__utp_socket_info(x->pa.s, &ia);
    if (ia.cwnd > d->max_cwnd)
        d->max_cwnd = ia.cwnd;
}

static void test_ledbat_holds_target_delay(void **state)
{
    (void)state;
    /* a sends through a 2 MiB/s bottleneck with an unbounded queue. A
     * loss-based sender would fill the queue up to the receive window (2 MiB,
     * a second of delay); LEDBAT keeps the queueing delay near its target
     * while still using the link. */
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.target_delay_ms = 50;
    xfer x;
    xfer_setup(&x, 6u << 20, 0, &c, &c);
    x.e.a.rate_bps = 2u << 20;
    delay_probe d = {.x = &x};
    uv_timer_init(&x.e.loop, &d.timer);
    d.timer.data = &d;
    uv_timer_start(&d.timer, on_delay_sample, 1000, 20); /* after a second of warm-up */
    uint64_t t0 = uv_hrtime();
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 30000));
    double secs = (double)(x.pb.done_ns - t0) / 1e9;
    uv_close((uv_handle_t *)&d.timer, NULL);
    xfer_check(&x);
    double mean = d.samples ? d.sum_ms / d.samples : 0;
    sw_utp_stats sa;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    printf("  2 MiB/s bottleneck, 50 ms target: %.2f MiB/s, queueing delay mean %.1f ms, "
           "max %.1f ms over %d samples, largest cwnd %u, samples above/below target "
           "%llu/%llu\n",
           6.0 / secs, mean, d.max_ms, d.samples, d.max_cwnd,
           (unsigned long long)sa.samples_above_target,
           (unsigned long long)sa.samples_below_target);
    assert_true(d.samples > 20);
    assert_true(mean > 25 && mean < 80);
    assert_true(d.max_ms < 150);
    assert_true(6.0 / secs > 1.5); /* still uses most of the link */
    assert_true(sa.samples_above_target > 0);
    env_done(&x.e);
    xfer_free(&x);
}

static void test_full_udp_socket(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 1u << 20, 64u << 10, NULL, NULL);
    x.e.a.eagain_every = 5;
    x.e.b.eagain_every = 3;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 60000));
    xfer_check(&x);
    sw_utp_stats sa, sb;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    sw__utp_ctx_stats(x.e.b.ctx, &sb);
    printf("  stalls a %llu b %llu, timeouts a %llu b %llu, resent a %llu\n",
           (unsigned long long)sa.send_stalls, (unsigned long long)sb.send_stalls,
           (unsigned long long)sa.timeout, (unsigned long long)sb.timeout,
           (unsigned long long)sa.packet_resend);
    assert_true(sa.send_stalls > 0);
    assert_int_equal(sa.send_stalls, x.e.a.refused);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 10000));
    env_done(&x.e);
    xfer_free(&x);
}

static bool connect_answered(void *arg)
{
    return ((peer *)arg)->connect_calls > 0 && ((peer *)arg)->closed;
}

static void test_refused(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL, NULL, false);
    peer p;
    peer_init(&p, &e);
    uint64_t t0 = uv_hrtime();
    connect_peer(&e, &p);
    assert_true(utp_run_until(&e.loop, connect_answered, &p, 5000));
    assert_int_equal(p.connect_status, UV_ECONNREFUSED);
    assert_true(uv_hrtime() - t0 < 1000000000ull); /* the reset, not a timeout */
    assert_true(utp_run_until(&e.loop, no_sockets, &e, 1000));
    env_done(&e);
}

static void test_connect_timeout(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.connect_timeout_ms = 300;
    env e;
    env_init(&e, &c, NULL, true);
    e.b.feed_utp = false; /* b's socket swallows everything */
    peer p;
    peer_init(&p, &e);
    uint64_t t0 = uv_hrtime();
    connect_peer(&e, &p);
    assert_true(utp_run_until(&e.loop, connect_answered, &p, 5000));
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(p.connect_status, UV_ETIMEDOUT);
    assert_true(ms >= 290 && ms < 1000);
    /* The SYN went out 1 + utp_syn_resends times. */
    assert_int_equal(e.b.datagrams_in, 1 + c.syn_resends);
    env_done(&e);
}

static bool reset_seen(void *arg)
{
    xfer *x = arg;
    return x->pa.closed && x->pb.closed;
}

static void test_reset(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 8u << 20, 0, NULL, NULL);
    x.pa.close_when_sent = false;
    x.pa.max_queue = 8u << 20;
    x.pa.chunk = 8u << 20; /* one big write that cannot finish before the reset */
    x.pb.close_on_eof = false;
    connect_peer(&x.e, &x.pa);
    /* Let some data flow, then b aborts. */
    while (x.pb.received < (256u << 10))
        uv_run(&x.e.loop, UV_RUN_ONCE);
    sw__utp_abort(x.pb.s, on_closed);
    assert_true(utp_run_until(&x.e.loop, reset_seen, &x, 5000));
    assert_int_equal(x.pa.read_error, UV_ECONNRESET);
    assert_int_equal(x.pa.write_errors, 1);
    assert_int_equal(x.pa.last_write_status, UV_ECONNRESET);
    assert_false(x.pb.mismatch);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 5000));
    env_done(&x.e);
    xfer_free(&x);
}

static void test_close_from_acceptor(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 0, 3u << 20, NULL, NULL);
    assert_true(x.pb.close_when_sent);
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 30000));
    xfer_check(&x);
    assert_int_equal(x.pa.received, 3u << 20);
    assert_true(x.pa.eof);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 5000));
    env_done(&x.e);
    xfer_free(&x);
}

static void test_close_both_at_once(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 256u << 10, 256u << 10, NULL, NULL);
    x.pa.close_when_sent = true;
    x.pb.close_when_sent = true;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 30000));
    /* Each closed once its data was in packets; what was in flight still
     * arrives, but neither reads after closing, so only the sockets' end is
     * checked: both FIN exchanges complete and nothing is left. */
    assert_false(x.pa.mismatch);
    assert_false(x.pb.mismatch);
    assert_true(utp_run_until(&x.e.loop, no_sockets, &x.e, 10000));
    env_done(&x.e);
    xfer_free(&x);
}

#define MANY 64

typedef struct many {
    env e;
    peer out[MANY], in[MANY];
    uint8_t *da, *db;
} many;

static bool many_done(void *arg)
{
    many *m = arg;
    for (int i = 0; i < MANY; i++)
        if (!m->out[i].closed || !m->in[i].closed)
            return false;
    return m->e.accepted == MANY;
}

static void test_many_sockets(void **state)
{
    (void)state;
    many *m = calloc(1, sizeof *m);
    assert_non_null(m);
    env_init(&m->e, NULL, NULL, true);
    const size_t len = 48u << 10;
    m->da = pattern(len, 3);
    m->db = pattern(len / 2, 4);
    m->e.accept_into = m->in;
    m->e.accept_slots = MANY;
    for (int i = 0; i < MANY; i++) {
        peer *o = &m->out[i], *in = &m->in[i];
        peer_init(o, &m->e);
        peer_init(in, &m->e);
        o->out = m->da;
        o->out_len = len;
        o->expect = m->db;
        o->expect_len = len / 2;
        o->close_when_sent = true;
        o->chunk = 4096;
        in->out = m->db;
        in->out_len = len / 2;
        in->expect = m->da;
        in->expect_len = len;
        in->chunk = 1000;
    }
    for (int i = 0; i < MANY; i++)
        connect_peer(&m->e, &m->out[i]);
    assert_true(utp_run_until(&m->e.loop, many_done, m, 60000));
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(m->out[i].connect_status, 0);
        assert_false(m->out[i].mismatch);
        assert_false(m->in[i].mismatch);
        assert_int_equal(m->in[i].received, len);
        assert_true(m->in[i].eof);
        assert_int_equal(m->in[i].written, len / 2);
    }
    assert_true(utp_run_until(&m->e.loop, no_sockets, &m->e, 10000));
    env_done(&m->e);
    free(m->da);
    free(m->db);
    free(m);
}

static bool stuck(void *arg)
{
    xfer *x = arg;
    return x->e.accepted == 1 && x->pa.connected && x->pa.written > 0 &&
           sw__utp_write_queue_size(x->pa.s) > 0;
}

static void test_backpressure(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.recv_buffer_size = 64u << 10;
    c.min_timeout_ms = 100;
    xfer x;
    xfer_setup(&x, 2u << 20, 0, &c, &c);
    x.pb.read = false; /* b does not read at first */
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, stuck, &x, 5000));
    /* Nothing moves for a while: the window is closed, probes go out. */
    utp_run_for(&x.e.loop, 600);
    size_t written = x.pa.written;
    sw_utp_socket_info ib, ia;
    sw__utp_socket_info(x.pb.s, &ib);
    sw__utp_socket_info(x.pa.s, &ia);
    assert_true(ib.recv_buffered <= c.recv_buffer_size);
    assert_true(ib.recv_buffered >= c.recv_buffer_size - 2 * 1400);
    assert_true(written < (256u << 10));
    assert_true(ia.remote_window < 1400);
    assert_true(sw__utp_write_queue_size(x.pa.s) > 0);
    assert_int_equal(ia.state, SW_UTP_STATE_CONNECTED);
    /* Reading again opens the window; the rest flows. */
    assert_int_equal(sw__utp_read_start(x.pb.s, on_alloc, on_read), 0);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 30000));
    xfer_check(&x);
    env_done(&x.e);
    xfer_free(&x);
}

static bool all_written(void *arg)
{
    xfer *x = arg;
    return x->pa.written == x->pa.out_len && x->pb.received == x->pb.expect_len;
}

static uint64_t small_writes_packets(bool nagle)
{
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.nagle = nagle;
    xfer x;
    xfer_setup(&x, 7 * 400, 0, &c, &c);
    x.pa.chunk = 7;
    x.pa.max_queue = 7; /* one write at a time: the next from the callback */
    x.pa.close_when_sent = false;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, all_written, &x, 20000));
    assert_false(x.pb.mismatch);
    sw_utp_stats sa;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    env_done(&x.e);
    xfer_free(&x);
    return sa.payload_pkts_out;
}

static void test_nagle(void **state)
{
    (void)state;
    uint64_t with = small_writes_packets(true);
    uint64_t without = small_writes_packets(false);
    printf("  400 writes of 7 bytes: %llu packets with Nagle, %llu without\n",
           (unsigned long long)with, (unsigned long long)without);
    assert_true(with * 4 < without * 3);
}

static bool keepalives(void *arg)
{
    xfer *x = arg;
    return x->e.b.datagrams_in >= 10;
}

static void test_keepalive(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.keepalive_ms = 40;
    xfer x;
    xfer_setup(&x, 10, 10, &c, NULL);
    x.pa.close_when_sent = false;
    x.pb.close_when_sent = false;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, all_written, &x, 5000));
    utp_run_for(&x.e.loop, 50);
    x.e.b.datagrams_in = 0;
    /* Idle now: only keep-alives travel, and the connection stays up. */
    assert_true(utp_run_until(&x.e.loop, keepalives, &x, 2000));
    sw_utp_socket_info ia;
    sw__utp_socket_info(x.pa.s, &ia);
    assert_int_equal(ia.state, SW_UTP_STATE_CONNECTED);
    peer_close(&x.pa);
    peer_close(&x.pb);
    assert_true(utp_run_until(&x.e.loop, xfer_done, &x, 5000));
    env_done(&x.e);
    xfer_free(&x);
}

static bool a_failed(void *arg)
{
    return ((xfer *)arg)->pa.closed;
}

static void test_peer_vanishes(void **state)
{
    (void)state;
    sw_utp_config c;
    sw__utp_config_init(&c);
    c.min_timeout_ms = 50;
    c.num_resends = 2;
    xfer x;
    xfer_setup(&x, 64u << 10, 0, &c, NULL);
    x.pa.close_when_sent = false;
    x.pb.close_on_eof = false;
    x.pb.read = true;
    x.pa.out_len = 1000;
    x.pb.expect_len = 1000;
    connect_peer(&x.e, &x.pa);
    assert_true(utp_run_until(&x.e.loop, all_written, &x, 5000));
    /* b goes silent; a's next data is never acknowledged. */
    x.e.b.feed_utp = false;
    x.pa.out_len = 64u << 10;
    peer_pump(&x.pa);
    uint64_t t0 = uv_hrtime();
    assert_true(utp_run_until(&x.e.loop, a_failed, &x, 10000));
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    assert_int_equal(x.pa.read_error, UV_ETIMEDOUT);
    assert_true(ms < 5000);
    sw_utp_stats sa;
    sw__utp_ctx_stats(x.e.a.ctx, &sa);
    assert_int_equal(sa.timeout, 3); /* num_resends + 1 */
    peer_close(&x.pb);
    env_done(&x.e);
    xfer_free(&x);
}

static int cancelled;

static void on_cancelled_write(sw_utp_socket *s, int status, void *user)
{
    (void)s;
    (void)user;
    if (status == UV_ECANCELED)
        cancelled++;
}

static void test_ctx_close_with_open_sockets(void **state)
{
    (void)state;
    xfer x;
    xfer_setup(&x, 1u << 20, 0, NULL, NULL);
    x.pa.max_queue = 0; /* nothing written by the pump */
    connect_peer(&x.e, &x.pa);
    while (x.e.accepted == 0 || !x.pa.connected)
        uv_run(&x.e.loop, UV_RUN_ONCE);
    /* Queue more than the first window takes, then drop everything. */
    cancelled = 0;
    uv_buf_t b = uv_buf_init((char *)x.da, 1u << 20);
    assert_int_equal(sw__utp_write(x.pa.s, &b, 1, on_cancelled_write, NULL), 0);
    assert_int_equal(sw__utp_write(x.pa.s, &b, 1, on_cancelled_write, NULL), 0);
    env_done(&x.e);
    assert_int_equal(cancelled, 2);
    assert_false(x.pa.closed); /* never closed by its owner: no close callback */
    xfer_free(&x);
}

static void test_write_after_close_and_api_errors(void **state)
{
    (void)state;
    env e;
    env_init(&e, NULL, NULL, true);
    peer p;
    peer_init(&p, &e);
    sw_endpoint bad = {0};
    sw_utp_socket *s;
    assert_int_equal(sw__utp_connect(e.a.ctx, &bad, on_connect, &p, &s), SW_ERR_INVALID_ARG);
    connect_peer(&e, &p);
    assert_int_equal(sw__utp_read_start(p.s, NULL, on_read), SW_ERR_INVALID_ARG);
    sw__utp_close(p.s, on_closed);
    sw__utp_close(p.s, on_closed); /* idempotent */
    uv_buf_t b = uv_buf_init((char *)"x", 1);
    assert_int_equal(sw__utp_write(p.s, &b, 1, on_write, NULL), SW_ERR_ABORTED);
    assert_int_equal(sw__utp_read_start(p.s, on_alloc, on_read), SW_ERR_ABORTED);
    assert_false(p.closed); /* never synchronously */
    while (!p.closed)
        uv_run(&e.loop, UV_RUN_ONCE);
    assert_int_equal(p.connect_calls, 0); /* closing cancels the connect */
    env_done(&e);
}

static void test_config_from_settings(void **state)
{
    (void)state;
    sw_settings *st;
    assert_int_equal(sw_settings_new(&st), 0);
    assert_int_equal(sw_settings_set_int(st, SW_SET_UTP_TARGET_DELAY, 75), 0);
    assert_int_equal(sw_settings_set_int(st, SW_SET_UTP_LOSS_MULTIPLIER, 70), 0);
    sw_utp_config c, d;
    sw__utp_config_init(&c);
    sw__utp_config_init(&d);
    sw__utp_config_from_settings(&c, st);
    assert_int_equal(c.target_delay_ms, 75);
    assert_int_equal(c.loss_multiplier, 70);
    assert_int_equal(c.gain_factor, d.gain_factor);
    assert_int_equal(c.min_timeout_ms, 500);
    assert_int_equal(c.connect_timeout_ms, 3000);
    assert_int_equal(c.syn_resends, 2);
    assert_int_equal(c.packet_size, d.packet_size);
    sw_settings_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_exchange_and_close),
        cmocka_unit_test(test_bulk_50mib),
        cmocka_unit_test(test_bulk_batched),
        cmocka_unit_test(test_bulk_gso),
        cmocka_unit_test(test_bulk_large_packets),
        cmocka_unit_test(test_impaired_both_ways),
        cmocka_unit_test(test_sequence_wrap),
        cmocka_unit_test(test_ledbat_holds_target_delay),
        cmocka_unit_test(test_full_udp_socket),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_close_from_acceptor),
        cmocka_unit_test(test_close_both_at_once),
        cmocka_unit_test(test_many_sockets),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_nagle),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_peer_vanishes),
        cmocka_unit_test(test_ctx_close_with_open_sockets),
        cmocka_unit_test(test_write_after_close_and_api_errors),
        cmocka_unit_test(test_config_from_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
